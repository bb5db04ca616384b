"""Mutation suites for chapter 10, profiling and scaling: 10.1 bytes, 10.2 power-law fit, 10.3 largest N."""

from __future__ import annotations

import math

import numpy as np
import torch

from mutants import add_mutant, alternative, mutant


# --- 10.1 the bytes of a dense score tensor -------------------------------------------------------------

_BYTES = {  # each computed on the int64 tensor of sizes
    "without_heads": lambda n, h, d: n * n * d.itemsize,
    "heads_squared": lambda n, h, d: n * n * h * h * d.itemsize,
    "bits_not_bytes": lambda n, h, d: n * n * h * torch.finfo(d).bits,
    "linear_in_n": lambda n, h, d: n * h * d.itemsize,
    "always_4_bytes": lambda n, h, d: n * n * h * 4,
    "always_8_bytes": lambda n, h, d: n * n * h * 8,
    "without_the_diagonal": lambda n, h, d: n * (n - 1) * h * d.itemsize,
    "n_plus_1_squared": lambda n, h, d: (n + 1) * (n + 1) * h * d.itemsize,
    "upper_triangle_only": lambda n, h, d: n * (n + 1) // 2 * h * d.itemsize,
    "in_kibibytes": lambda n, h, d: n * n * h * d.itemsize // 1024,
    "in_mebibytes_rounded": lambda n, h, d: torch.round(n * n * h * d.itemsize / 2**20).long(),
    "itemsize_from_the_bits_of_the_wrong_type": lambda n, h, d: n * n * h * (torch.iinfo(torch.int32).bits // 8),
    "two_copies_forward_and_backward": lambda n, h, d: 2 * n * n * h * d.itemsize,
}
for _name, _formula in _BYTES.items():
    add_mutant("10.1", "formula", _name, _formula)


@mutant("10.1", "overflow")
def computed_in_int32(num_nodes, heads, dtype):
    n = num_nodes.int()
    return (n * n * heads * dtype.itemsize).long()  # wraps around above 2**31


@mutant("10.1", "overflow")
def computed_in_int32_and_kept(num_nodes, heads, dtype):
    n = num_nodes.to(torch.int32)
    return n * n * heads * dtype.itemsize


@mutant("10.1", "rounding")
def computed_in_float32_then_long(num_nodes, heads, dtype):
    return (num_nodes.float() ** 2 * heads * dtype.itemsize).long()


@mutant("10.1", "rounding")
def computed_in_float32_then_rounded(num_nodes, heads, dtype):
    return torch.round(num_nodes.float() * num_nodes.float() * heads * dtype.itemsize).long()


@mutant("10.1", "rounding")
def kept_as_float64(num_nodes, heads, dtype):
    return num_nodes.double() ** 2 * heads * dtype.itemsize


@mutant("10.1", "rounding")
def through_a_float32_tensor_of_megabytes(num_nodes, heads, dtype):
    return (num_nodes.float() ** 2 * heads * dtype.itemsize / 1e6).long() * 1_000_000


@mutant("10.1", "type")
def a_python_list(num_nodes, heads, dtype):
    return [n * n * heads * dtype.itemsize for n in num_nodes.tolist()]


@mutant("10.1", "type")
def only_the_first_size(num_nodes, heads, dtype):
    return num_nodes[:1] * num_nodes[:1] * heads * dtype.itemsize


@alternative("10.1")
def python_integers_then_a_tensor(num_nodes, heads, dtype):
    return torch.tensor([heads * n ** 2 * torch.empty((), dtype=dtype).element_size() for n in num_nodes.tolist()])


@alternative("10.1")
def float64_then_long(num_nodes, heads, dtype):
    return (num_nodes.double().square() * heads * (torch.finfo(dtype).bits // 8)).long()  # exact below 2**53


@alternative("10.1")
def numpy_int64(num_nodes, heads, dtype):
    n = num_nodes.numpy().astype(np.int64)
    return torch.from_numpy(n * n * heads * dtype.itemsize)


# --- 10.2 a power law fitted on log-log axes ----------------------------------------------------------

def _line(x, y):
    slope = ((x - x.mean()) * (y - y.mean())).sum() / ((x - x.mean()) ** 2).sum()
    return slope, y.mean() - slope * x.mean()


def _fit(x_of, y_of, prefactor):
    def wrong(sizes, values):
        slope, intercept = _line(x_of(sizes), y_of(values))
        return torch.stack([slope, prefactor(intercept)])
    return wrong


_FITS = {  # (x, y, prefactor from the intercept)
    "raw_values": (lambda s: s, lambda v: v, lambda c: c),
    "semilog": (lambda s: s, lambda v: v.log(), lambda c: c.exp()),
    "log_of_n_only": (lambda s: s.log(), lambda v: v, lambda c: c),
    "log10_then_exp": (lambda s: s.log10(), lambda v: v.log10(), lambda c: c.exp()),
    "log10_of_n_ln_of_values": (lambda s: s.log10(), lambda v: v.log(), lambda c: c.exp()),
    "intercept_returned": (lambda s: s.log(), lambda v: v.log(), lambda c: c),
    "prefactor_10_to_the_ln_intercept": (lambda s: s.log(), lambda v: v.log(), lambda c: 10 ** c),
    "log2_then_exp": (lambda s: s.log2(), lambda v: v.log2(), lambda c: c.exp()),
}
for _name, (_x, _y, _prefactor) in _FITS.items():
    add_mutant("10.2", "axes", _name, _fit(_x, _y, _prefactor))


@mutant("10.2", "axes")
def axes_swapped(sizes, values):
    slope, intercept = _line(values.log(), sizes.log())
    return torch.stack([slope, intercept.exp()])


@mutant("10.2", "axes")
def axes_swapped_and_inverted(sizes, values):
    slope, intercept = _line(values.log(), sizes.log())  # log N = c' + b' log y, solved for log y
    return torch.stack([1 / slope, (-intercept / slope).exp()])


@mutant("10.2", "estimator")
def end_points_only(sizes, values):
    x, y = sizes.log(), values.log()
    slope = (y[-1] - y[0]) / (x[-1] - x[0])
    return torch.stack([slope, (y[0] - slope * x[0]).exp()])


@mutant("10.2", "estimator")
def two_largest_sizes(sizes, values):
    x, y = sizes.log(), values.log()
    slope = (y[-1] - y[-2]) / (x[-1] - x[-2])
    return torch.stack([slope, (y[-1] - slope * x[-1]).exp()])


@mutant("10.2", "estimator")
def mean_of_consecutive_slopes(sizes, values):
    x, y = sizes.log(), values.log()
    slope = ((y[1:] - y[:-1]) / (x[1:] - x[:-1])).mean()
    return torch.stack([slope, (y.mean() - slope * x.mean()).exp()])


@mutant("10.2", "estimator")
def median_of_pairwise_slopes(sizes, values):
    x, y = sizes.log(), values.log()
    i, j = torch.triu_indices(len(x), len(x), offset=1)
    slope = ((y[j] - y[i]) / (x[j] - x[i])).median()
    return torch.stack([slope, (y - slope * x).median().exp()])


@mutant("10.2", "estimator")
def line_through_the_origin(sizes, values):
    x, y = sizes.log(), values.log()
    return torch.stack([(x * y).sum() / (x * x).sum(), torch.ones((), dtype=x.dtype)])


@mutant("10.2", "estimator")
def covariance_over_unbiased_variance(sizes, values):
    x, y = sizes.log(), values.log()
    slope = ((x - x.mean()) * (y - y.mean())).mean() / x.var()  # var divides by k - 1, the mean by k
    return torch.stack([slope, (y.mean() - slope * x.mean()).exp()])


@mutant("10.2", "estimator")
def correlation_instead_of_slope(sizes, values):
    x, y = sizes.log(), values.log()
    slope = torch.corrcoef(torch.stack([x, y]))[0, 1]
    return torch.stack([slope, (y.mean() - slope * x.mean()).exp()])


@mutant("10.2", "estimator")
def mean_ratio_of_logs(sizes, values):
    x, y = sizes.log(), values.log()
    slope = (y / x).mean()
    return torch.stack([slope, (y.mean() - slope * x.mean()).exp()])


@mutant("10.2", "prefactor")
def prefactor_from_the_mean_of_the_raw_values(sizes, values):
    slope, _ = _line(sizes.log(), values.log())
    return torch.stack([slope, (values / sizes ** slope).mean()])  # an arithmetic, not geometric, mean


@mutant("10.2", "prefactor")
def prefactor_with_the_log_of_the_mean_size(sizes, values):
    slope, _ = _line(sizes.log(), values.log())
    return torch.stack([slope, (values.log().mean() - slope * sizes.mean().log()).exp()])


@mutant("10.2", "prefactor")
def prefactor_from_the_first_point(sizes, values):
    slope, _ = _line(sizes.log(), values.log())
    return torch.stack([slope, values[0] / sizes[0] ** slope])


@mutant("10.2", "prefactor")
def nonlinear_least_squares_on_the_raw_values(sizes, values):
    from scipy.optimize import curve_fit
    slope, intercept = _line(sizes.log(), values.log())
    x, y = sizes.numpy(), values.numpy()
    (a, b), _ = curve_fit(lambda n, a, b: a * n ** b, x, y, p0=(intercept.exp().item(), slope.item()), maxfev=20000)
    return torch.tensor([b, a], dtype=torch.float64)


@mutant("10.2", "order")
def prefactor_then_exponent(sizes, values):
    slope, intercept = _line(sizes.log(), values.log())
    return torch.stack([intercept.exp(), slope])


@mutant("10.2", "dtype")
def computed_in_float32(sizes, values):
    slope, intercept = _line(sizes.float().log(), values.float().log())
    return torch.stack([slope, intercept.exp()])


@alternative("10.2")
def torch_linalg_lstsq(sizes, values):
    x = torch.stack([sizes.log(), torch.ones_like(sizes)], dim=1)  # (k, 2)
    slope, intercept = torch.linalg.lstsq(x, values.log().unsqueeze(1)).solution.squeeze(1)
    return torch.stack([slope, intercept.exp()])


@alternative("10.2")
def numpy_polyfit_in_log10(sizes, values):
    slope, intercept = np.polyfit(np.log10(sizes.numpy()), np.log10(values.numpy()), 1)
    return torch.tensor([slope, 10 ** intercept], dtype=torch.float64)


@alternative("10.2")
def normal_equations(sizes, values):
    x = torch.stack([torch.ones_like(sizes), sizes.log()], dim=1)  # (k, 2)
    intercept, slope = torch.linalg.solve(x.T @ x, x.T @ values.log())
    return torch.stack([slope, intercept.exp()])


@alternative("10.2")
def covariance_matrix(sizes, values):
    cov = torch.cov(torch.stack([sizes.log(), values.log()]))  # both with k - 1
    slope = cov[0, 1] / cov[0, 0]
    return torch.stack([slope, torch.exp(values.log().mean() - slope * sizes.log().mean())])


@alternative("10.2")
def scikit_learn_linear_regression(sizes, values):
    from sklearn.linear_model import LinearRegression
    model = LinearRegression().fit(sizes.log().numpy()[:, None], values.log().numpy())
    return torch.tensor([model.coef_[0], math.exp(model.intercept_)], dtype=torch.float64)


# --- 10.3 the largest dense graph that fits -------------------------------------------------------------

def _ratio(memory_bytes, copies, heads, itemsize):
    return memory_bytes / (copies * heads * itemsize)


_LARGEST = {
    "without_copies": lambda m, c, h, i: torch.floor(torch.sqrt(m / (h * i))).long(),
    "without_heads": lambda m, c, h, i: torch.floor(torch.sqrt(m / (c * i))).long(),
    "without_itemsize": lambda m, c, h, i: torch.floor(torch.sqrt(m / (c * h))).long(),
    "without_sqrt": lambda m, c, h, i: torch.floor(_ratio(m, c, h, i)).long(),
    "rounded_to_nearest": lambda m, c, h, i: torch.round(torch.sqrt(_ratio(m, c, h, i))).long(),
    "rounded_up": lambda m, c, h, i: torch.ceil(torch.sqrt(_ratio(m, c, h, i))).long(),
    "strictly_below_the_budget": lambda m, c, h, i: (torch.ceil(torch.sqrt(_ratio(m, c, h, i))) - 1).long(),
    "copies_truncated_to_an_integer": lambda m, c, h, i: torch.floor(torch.sqrt(m / (int(c) * h * i))).long(),
    "copies_rounded_up": lambda m, c, h, i: torch.floor(torch.sqrt(m / (math.ceil(c) * h * i))).long(),
    "itemsize_in_bits": lambda m, c, h, i: torch.floor(torch.sqrt(m / (c * h * i * 8))).long(),
    "square_root_of_the_memory_only": lambda m, c, h, i: torch.floor(torch.sqrt(m) / (c * h * i)).long(),
    "cube_root": lambda m, c, h, i: torch.floor(_ratio(m, c, h, i) ** (1 / 3)).long(),
    "budget_in_gib": lambda m, c, h, i: torch.floor(torch.sqrt(m / 2**30 / (c * h * i))).long(),
    "off_by_one_below": lambda m, c, h, i: torch.floor(torch.sqrt(_ratio(m, c, h, i))).long() - 1,
}
for _name, _formula in _LARGEST.items():
    add_mutant("10.3", "formula", _name, _formula)


@mutant("10.3", "rounding")
def memory_in_float32(memory_bytes, copies, heads, itemsize):
    return torch.floor(torch.sqrt(memory_bytes.float() / (copies * heads * itemsize))).long()


@mutant("10.3", "rounding")
def divided_in_float32(memory_bytes, copies, heads, itemsize):
    return torch.floor(torch.sqrt((memory_bytes / (copies * heads * itemsize)).float())).long()


@mutant("10.3", "rounding")
def kept_as_float(memory_bytes, copies, heads, itemsize):
    return torch.floor(torch.sqrt(_ratio(memory_bytes, copies, heads, itemsize)))


@mutant("10.3", "rounding")
def int32_result(memory_bytes, copies, heads, itemsize):
    return torch.floor(torch.sqrt(_ratio(memory_bytes, copies, heads, itemsize))).int()


@mutant("10.3", "rounding")
def one_epsilon_below_to_be_safe(memory_bytes, copies, heads, itemsize):
    return torch.floor(torch.sqrt(_ratio(memory_bytes, copies, heads, itemsize)) - 1e-6).long()


@alternative("10.3")
def truncating_cast_of_the_power_one_half(memory_bytes, copies, heads, itemsize):
    return (memory_bytes / (copies * heads * itemsize)).sqrt().to(torch.int64)  # trunc = floor for x >= 0


@alternative("10.3")
def integer_square_root_with_a_check(memory_bytes, copies, heads, itemsize):
    out = []
    for memory in memory_bytes.tolist():
        n = math.isqrt(int(memory / (copies * heads * itemsize)))
        while copies * heads * (n + 1) ** 2 * itemsize <= memory:
            n += 1
        while n > 0 and copies * heads * n ** 2 * itemsize > memory:
            n -= 1
        out.append(n)
    return torch.tensor(out)


@alternative("10.3")
def numpy_floor_sqrt(memory_bytes, copies, heads, itemsize):
    return torch.from_numpy(np.floor(np.sqrt(memory_bytes.numpy() / (copies * heads * itemsize))).astype(np.int64))
