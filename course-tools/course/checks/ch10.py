"""Checks for chapter 10, Profiling and scaling.

Exercise 10.1 predicts the bytes of one dense ``(H, N, N)`` tensor for several graph sizes at
once, 10.2 fits a power law ``y = a * N**b`` to measurements by least squares on log-log axes,
10.3 inverts 10.1: the largest N whose dense tensors fit into a memory budget.

Byte counts and node counts are int64 and compared exactly. The power-law fit works in float64,
where every correct way of solving the least-squares problem (the closed form, ``torch.linalg.lstsq``,
``numpy.polyfit``) agrees to about 1e-12, so its tolerance is relative only (1e-6): a prefactor
near 1e-4 must not pass on an absolute tolerance.
"""

from __future__ import annotations

import torch

from course.checks.cases import seeded_generator
from course.checks.core import Case, Check, register
from gatkit.profiling import dense_bytes

# --- 10.1 the bytes of a dense score tensor -------------------------------------------------------


def dense_score_bytes(num_nodes: torch.Tensor, heads: int, dtype: torch.dtype) -> torch.Tensor:
    """Bytes (k,) int64 of one ``(H, N, N)`` tensor of ``dtype`` for each N in ``num_nodes`` (k,) int64."""
    return dense_bytes(num_nodes, heads, dtype.itemsize)  # the library's formula, elementwise


def _bytes_cases() -> list[Case]:
    return [Case("toy: N = 1, 2, 3, one head, float32 (answer 4, 16, 36)",
                 (torch.tensor([1, 2, 3]), 1, torch.float32)),
            Case("the chapter's sweep, N = 250, 500, 1000, 2000, 8 heads, float32",
                 (torch.tensor([250, 500, 1000, 2000]), 8, torch.float32)),
            Case("Cora, N = 2708, 8 heads, float32 (chapter 04: 234 664 448 bytes)",
                 (torch.tensor([2708]), 8, torch.float32)),
            Case("half precision, N = 1000, 19 717 (PubMed), 8 heads, float16",
                 (torch.tensor([1000, 19_717]), 8, torch.float16)),
            Case("double precision, N = 10, 100 000, 200 000, one head, float64",
                 (torch.tensor([10, 100_000, 200_000]), 1, torch.float64))]


def _bytes_without_heads(num_nodes, heads, dtype):
    return num_nodes * num_nodes * dtype.itemsize


def _bytes_in_bits(num_nodes, heads, dtype):
    return num_nodes * num_nodes * heads * torch.finfo(dtype).bits


def _bytes_linear_in_n(num_nodes, heads, dtype):
    return num_nodes * heads * dtype.itemsize


def _bytes_always_four(num_nodes, heads, dtype):
    return num_nodes * num_nodes * heads * 4


def _bytes_without_diagonal(num_nodes, heads, dtype):
    return num_nodes * (num_nodes - 1) * heads * dtype.itemsize


def _bytes_in_int32(num_nodes, heads, dtype):
    n = num_nodes.int()
    return (n * n * heads * dtype.itemsize).long()  # wraps around above 2**31 - 1


def _bytes_via_float32(num_nodes, heads, dtype):
    return (num_nodes.float() ** 2 * heads * dtype.itemsize).long()


register(Check(
    id="10.1",
    title="the bytes of a dense score tensor",
    reference=dense_score_bytes,
    cases=_bytes_cases,
    rtol=0.0,
    atol=0.0,
    hint="An (H, N, N) tensor holds H * N * N numbers, each dtype.itemsize bytes (4 for float32, 2 for "
         "float16): num_nodes * num_nodes * heads * dtype.itemsize, computed on the int64 tensor so "
         "every size is done at once.",
    mistakes={
        "You forgot the heads: there is one N x N matrix per head, so multiply by heads.": _bytes_without_heads,
        "That counts bits, not bytes: torch.finfo(dtype).bits is 8 times dtype.itemsize. Use "
        "dtype.itemsize (or torch.empty((), dtype=dtype).element_size()).": _bytes_in_bits,
        "Your count grows like N, not N**2: a dense score tensor has an entry for every PAIR (i, j), "
        "N * N of them per head.": _bytes_linear_in_n,
        "You assumed 4 bytes per number: that holds for float32 only. Use dtype.itemsize (2 for "
        "float16, 8 for float64).": _bytes_always_four,
        "You left out the diagonal: the dense tensor stores every pair (i, j), i = j included (the "
        "self-loops' scores live there), N * N entries per head, not N * (N - 1).": _bytes_without_diagonal,
        "Your count went through int32, which wraps around above 2**31 - 1 (about 2.1 GB): 200 000 "
        "nodes need 3.2e11 bytes. Compute on the int64 tensor you were given.": _bytes_in_int32,
        "Your count went through float32, which holds only 24 bits of mantissa: a byte count above "
        "16 777 216 is rounded (PubMed's comes out 112 bytes too large). Compute on the int64 tensor you "
        "were given, or in float64 (exact up to 2**53) before .long().": _bytes_via_float32,
    },
))


# --- 10.2 a power law fitted on log-log axes -----------------------------------------------------


def fit_power_law(sizes: torch.Tensor, values: torch.Tensor) -> torch.Tensor:
    """``tensor([b, a])`` (2,) float64 of the least-squares fit ``log y = log a + b log N``, so ``y ~ a * N**b``."""
    slope, intercept = _line(sizes.log(), values.log())
    return torch.stack([slope, intercept.exp()])


def _line(x: torch.Tensor, y: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Least-squares slope and intercept of y against x."""
    slope = ((x - x.mean()) * (y - y.mean())).sum() / ((x - x.mean()) ** 2).sum()
    return slope, y.mean() - slope * x.mean()


# Step times (ms) of implementation 1 measured on one machine with 1 thread (N = 250 .. 2000).
MEASURED_SIZES = [250.0, 500.0, 1000.0, 2000.0]
MEASURED_MS = [22.6, 79.4, 275.6, 1724.3]


def _noisy_power_law() -> tuple[torch.Tensor, torch.Tensor]:
    sizes = torch.logspace(2, 5, 8, dtype=torch.float64)  # (8,) 100 .. 100 000
    noise = torch.exp(0.2 * torch.randn(8, generator=seeded_generator(100), dtype=torch.float64))  # (8,)
    return sizes, 0.003 * sizes ** 1.1 * noise


def _fit_cases() -> list[Case]:
    n = torch.tensor([1.0, 2.0, 4.0, 8.0], dtype=torch.float64)
    m = torch.tensor([10.0, 100.0, 1000.0], dtype=torch.float64)
    return [Case("toy: y = 3 N**2 exactly at N = 1, 2, 4, 8 (answer [2, 3])", (n, 3 * n ** 2)),
            Case("y = 0.5 N exactly at N = 10, 100, 1000 (answer [1, 0.5])", (m, 0.5 * m)),
            Case("step times of implementation 1 measured at N = 250 .. 2000",
                 (torch.tensor(MEASURED_SIZES, dtype=torch.float64), torch.tensor(MEASURED_MS, dtype=torch.float64))),
            Case("y = 0.003 N**1.1 with seeded noise, 8 sizes from 100 to 100 000", _noisy_power_law())]


def _fit_raw_values(sizes, values):
    slope, intercept = _line(sizes, values)
    return torch.stack([slope, intercept])


def _fit_swapped_axes(sizes, values):
    slope, intercept = _line(values.log(), sizes.log())
    return torch.stack([slope, intercept.exp()])


def _fit_semilog(sizes, values):
    slope, intercept = _line(sizes, values.log())
    return torch.stack([slope, intercept.exp()])


def _fit_log10_then_exp(sizes, values):
    slope, intercept = _line(sizes.log10(), values.log10())
    return torch.stack([slope, intercept.exp()])


def _fit_log_prefactor(sizes, values):
    slope, intercept = _line(sizes.log(), values.log())
    return torch.stack([slope, intercept])


def _fit_end_points(sizes, values):
    x, y = sizes.log(), values.log()
    slope = (y[-1] - y[0]) / (x[-1] - x[0])
    return torch.stack([slope, (y[0] - slope * x[0]).exp()])


register(Check(
    id="10.2",
    title="a power law fitted on log-log axes",
    reference=fit_power_law,
    cases=_fit_cases,
    rtol=1e-6,
    atol=0.0,
    hint="Take x = log N and y = log values (natural logs), fit the straight line y = c + b x by least "
         "squares (b = sum((x - mean x)(y - mean y)) / sum((x - mean x)**2), c = mean y - b mean x), and "
         "return torch.stack([b, exp(c)]).",
    mistakes={
        "You fitted a straight line to the raw values: a power law is a straight line only on log-log "
        "axes. Take the logs of both N and the values first.": _fit_raw_values,
        "Your axes are swapped: you regressed log N on log y. The measured quantity, log y, goes on the "
        "vertical axis (it is the one with the noise); log N is the horizontal one.": _fit_swapped_axes,
        "You took the log of the values only (semi-log axes): that fits an exponential, y = a * exp(b N). "
        "Take the log of N too.": _fit_semilog,
        "You fitted in log10 but undid the intercept with exp: the prefactor is then 10**c. Use the same "
        "base both ways (natural logs and exp is simplest).": _fit_log10_then_exp,
        "The second entry is the intercept c = log a of the fitted line: return the prefactor a = exp(c).":
            _fit_log_prefactor,
        "Your slope comes from the first and last points only: least squares uses every measurement, so "
        "one noisy end point cannot tilt the line by itself.": _fit_end_points,
    },
))


# --- 10.3 the largest dense graph that fits ------------------------------------------------------


def largest_dense_graph(memory_bytes: torch.Tensor, copies: float, heads: int, itemsize: int) -> torch.Tensor:
    """Largest N (k,) int64 with ``copies * heads * N**2 * itemsize <= memory`` for each budget (k,) float64."""
    return torch.floor(torch.sqrt(memory_bytes / (copies * heads * itemsize))).long()


GIB = 2.0 ** 30


def _largest_cases() -> list[Case]:
    return [Case("toy: 1 copy of 1 head of 1 byte, memory 1, 2, 4, 8, 9, 10 bytes (answer 1, 1, 2, 2, 3, 3)",
                 (torch.tensor([1.0, 2.0, 4.0, 8.0, 9.0, 10.0], dtype=torch.float64), 1.0, 1, 1)),
            Case("laptops and servers of 8, 16, 32, 64 GiB, 9.4 copies of 8 heads, float32",
                 (torch.tensor([8, 16, 32, 64], dtype=torch.float64) * GIB, 9.4, 8, 4)),
            Case("GPUs of 80 and 40 GiB, 6.5 copies of 8 heads, float16",
                 (torch.tensor([80.0, 40.0], dtype=torch.float64) * GIB, 6.5, 8, 2)),
            Case("seeded random budgets from 1 MB to 1 TB, 3 copies of 4 heads, float64",
                 (10 ** (6 + 6 * torch.rand(6, generator=seeded_generator(103), dtype=torch.float64)), 3.0, 4, 8)),
            Case("exact fits: budgets of exactly 2 copies x 8 heads x N**2 x 4 bytes for N = 4097, 46 341, "
                 "100 003, then one byte less (answer N, then N - 1)", _exact_fits())]


def _exact_fits() -> tuple[torch.Tensor, float, int, int]:
    """Budgets (6,) float64 that hold exactly N**2 entries, and one byte less.

    Every number here is exact in float64, so floor(sqrt(...)) is exactly N and N - 1; float32
    cannot hold these budgets (nor the ratio) to the byte, so an answer computed in float32 rounds
    the one-byte-short budgets up to the exact ones.
    """
    n = torch.tensor([4097, 46_341, 100_003], dtype=torch.float64)
    exact = 2 * 8 * 4 * n ** 2
    return torch.cat([exact, exact - 1]), 2.0, 8, 4


def _largest_without_copies(memory_bytes, copies, heads, itemsize):
    return torch.floor(torch.sqrt(memory_bytes / (heads * itemsize))).long()


def _largest_without_heads(memory_bytes, copies, heads, itemsize):
    return torch.floor(torch.sqrt(memory_bytes / (copies * itemsize))).long()


def _largest_without_sqrt(memory_bytes, copies, heads, itemsize):
    return torch.floor(memory_bytes / (copies * heads * itemsize)).long()


def _largest_rounded(memory_bytes, copies, heads, itemsize):
    return torch.round(torch.sqrt(memory_bytes / (copies * heads * itemsize))).long()


def _largest_rounded_up(memory_bytes, copies, heads, itemsize):
    return torch.ceil(torch.sqrt(memory_bytes / (copies * heads * itemsize))).long()


def _largest_in_float32(memory_bytes, copies, heads, itemsize):
    return torch.floor(torch.sqrt(memory_bytes.float() / (copies * heads * itemsize))).long()


def _largest_strictly_below(memory_bytes, copies, heads, itemsize):
    return (torch.ceil(torch.sqrt(memory_bytes / (copies * heads * itemsize))) - 1).long()


register(Check(
    id="10.3",
    title="the largest dense graph that fits",
    reference=largest_dense_graph,
    cases=_largest_cases,
    rtol=0.0,
    atol=0.0,
    hint="copies dense tensors of heads * N**2 * itemsize bytes each must fit: N**2 <= memory / (copies * "
         "heads * itemsize). Take the square root and round DOWN (torch.floor), then .long().",
    mistakes={
        "You left out the copies: a training step holds several (H, N, N) tensors at its peak, and all of "
        "them must fit at once.": _largest_without_copies,
        "You left out the heads: each copy is H matrices of N x N.": _largest_without_heads,
        "You forgot the square root: memory grows like N**2, so N grows like the square root of the "
        "memory.": _largest_without_sqrt,
        # before the rounding mistakes: on the exact fits they give the same answer as float32
        "Your budgets went through float32, which holds only 24 bits of mantissa: a budget one byte "
        "short of an exact fit rounds up to it, and N comes out one too large. Stay in float64.":
            _largest_in_float32,
        "You rounded to the nearest integer: when the square root is 2.8, a graph of 3 nodes does NOT fit. "
        "Round down with torch.floor.": _largest_rounded,
        "You rounded up: the next integer above the square root is already too big. Round down with "
        "torch.floor.": _largest_rounded_up,
        "You found the largest N whose tensors take strictly LESS than the budget: a graph that fills "
        "the memory exactly also fits (<=), so floor(sqrt(...)), not ceil(sqrt(...)) - 1.":
            _largest_strictly_below,
    },
))
