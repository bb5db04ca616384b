"""Mutation suites for chapter 03, The attention math: 3.1 edge scores, 3.2 neighbourhood softmax,
3.3 aggregation, 3.4 combining the heads.

Shapes: ``z`` (N, H, F'), ``a_src`` / ``a_dst`` (H, F'), ``edge_index`` (2, E) with row 0 the
source ``j`` and row 1 the target ``i``, ``e`` / ``alpha`` (E, H).

Each family is a kind of slip a learner who gets the exercise almost right could make; the loops
generate its members. Every mutant runs on every case of its check (a crash would not be a
plausible accepted answer) and computes something else on at least one of them.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F

from mutants import add_mutant, alternative, mutant


# --- 3.1 the edge scores ---------------------------------------------------------------------------

def _halves(z, a_src, a_dst):
    return (z * a_src).sum(-1), (z * a_dst).sum(-1)  # (N, H) each


def _raw(z, a_src, a_dst, edge_index):
    s_src, s_dst = _halves(z, a_src, a_dst)
    return s_dst[edge_index[1]] + s_src[edge_index[0]]  # (E, H)


for _slope in (0.0, 0.01, 0.02, 0.1, 0.3, 0.5, 1.0 / 0.2, -0.2):
    add_mutant("3.1", "slope", f"negative_slope_{_slope:g}",
              (lambda v: lambda z, a_src, a_dst, edge_index:
               F.leaky_relu(_raw(z, a_src, a_dst, edge_index), v))(_slope))

_ACTIVATIONS = {"elu": F.elu, "tanh": torch.tanh, "sigmoid": torch.sigmoid, "abs": torch.abs,
                "gelu": F.gelu, "none": lambda x: x}
for _name, _act in _ACTIVATIONS.items():
    add_mutant("3.1", "activation", f"{_name}_instead_of_leaky_relu",
              (lambda f: lambda z, a_src, a_dst, edge_index: f(_raw(z, a_src, a_dst, edge_index)))(_act))


@mutant("3.1", "activation")
def leaky_relu_on_each_half(z, a_src, a_dst, edge_index):
    s_src, s_dst = _halves(z, a_src, a_dst)
    return F.leaky_relu(s_dst, 0.2)[edge_index[1]] + F.leaky_relu(s_src, 0.2)[edge_index[0]]


@mutant("3.1", "activation")
def leaky_relu_on_z_before_the_dot_products(z, a_src, a_dst, edge_index):
    return _raw(F.leaky_relu(z, 0.2), a_src, a_dst, edge_index)


_GATHERS = {"both_halves_at_the_source": (0, 0), "both_halves_at_the_target": (1, 1),
            "source_and_target_swapped": (0, 1)}
for _name, (_dst_row, _src_row) in _GATHERS.items():
    add_mutant("3.1", "direction", _name,
              (lambda d, s: lambda z, a_src, a_dst, edge_index: F.leaky_relu(
                  _halves(z, a_src, a_dst)[1][edge_index[d]] + _halves(z, a_src, a_dst)[0][edge_index[s]], 0.2))(
                  _dst_row, _src_row))


@mutant("3.1", "direction")
def a_dst_used_for_both_ends(z, a_src, a_dst, edge_index):
    return F.leaky_relu(_raw(z, a_dst, a_dst, edge_index), 0.2)


@mutant("3.1", "direction")
def a_src_used_for_both_ends(z, a_src, a_dst, edge_index):
    return F.leaky_relu(_raw(z, a_src, a_src, edge_index), 0.2)


@mutant("3.1", "combine")
def product_of_the_halves(z, a_src, a_dst, edge_index):
    s_src, s_dst = _halves(z, a_src, a_dst)
    return F.leaky_relu(s_dst[edge_index[1]] * s_src[edge_index[0]], 0.2)


@mutant("3.1", "combine")
def mean_over_the_features(z, a_src, a_dst, edge_index):
    s_src, s_dst = (z * a_src).mean(-1), (z * a_dst).mean(-1)
    return F.leaky_relu(s_dst[edge_index[1]] + s_src[edge_index[0]], 0.2)


@mutant("3.1", "combine")
def a_vectors_of_the_heads_summed(z, a_src, a_dst, edge_index):
    s_src = torch.einsum("nhf,kf->nh", z, a_src)
    s_dst = torch.einsum("nhf,kf->nh", z, a_dst)
    return F.leaky_relu(s_dst[edge_index[1]] + s_src[edge_index[0]], 0.2)


@mutant("3.1", "combine")
def head_0_vectors_for_every_head(z, a_src, a_dst, edge_index):
    return F.leaky_relu(_raw(z, a_src[:1].expand_as(a_src), a_dst[:1].expand_as(a_dst), edge_index), 0.2)


@mutant("3.1", "combine")
def heads_of_a_reversed(z, a_src, a_dst, edge_index):
    return F.leaky_relu(_raw(z, a_src.flip(0), a_dst.flip(0), edge_index), 0.2)


@mutant("3.1", "combine")
def scaled_by_sqrt_of_the_features(z, a_src, a_dst, edge_index):
    return F.leaky_relu(_raw(z, a_src, a_dst, edge_index) / math.sqrt(z.shape[-1]), 0.2)


@mutant("3.1", "sorted")
def targets_assumed_grouped_and_sorted(z, a_src, a_dst, edge_index):
    s_src, s_dst = _halves(z, a_src, a_dst)
    counts = torch.bincount(edge_index[1], minlength=z.shape[0])
    return F.leaky_relu(s_dst.repeat_interleave(counts, dim=0) + s_src[edge_index[0]], 0.2)


@mutant("3.1", "off by one")
def node_ids_taken_as_one_based(z, a_src, a_dst, edge_index):
    n = z.shape[0]
    s_src, s_dst = _halves(z, a_src, a_dst)
    return F.leaky_relu(s_dst[(edge_index[1] - 1) % n] + s_src[(edge_index[0] - 1) % n], 0.2)


@alternative("3.1")
def concatenation_as_in_the_paper(z, a_src, a_dst, edge_index):
    pairs = torch.cat([z[edge_index[1]], z[edge_index[0]]], dim=-1)  # (E, H, 2F'): [z_i || z_j]
    a = torch.cat([a_dst, a_src], dim=-1)  # (H, 2F')
    return F.leaky_relu((pairs * a).sum(-1), negative_slope=0.2)


@alternative("3.1")
def einsum_and_torch_where(z, a_src, a_dst, edge_index):
    s_src = torch.einsum("nhf,hf->nh", z, a_src)
    s_dst = torch.einsum("nhf,hf->nh", z, a_dst)
    raw = s_dst.index_select(0, edge_index[1]) + s_src.index_select(0, edge_index[0])
    return torch.where(raw > 0, raw, 0.2 * raw)


@alternative("3.1")
def python_loop_over_edges(z, a_src, a_dst, edge_index):
    rows = []
    for j, i in edge_index.T.tolist():
        raw = (a_dst * z[i]).sum(-1) + (a_src * z[j]).sum(-1)  # (H,)
        rows.append(torch.maximum(raw, 0.2 * raw))
    return torch.stack(rows)


# --- 3.2 the neighbourhood softmax ---------------------------------------------------------------

def _sum_per_target(p, edge_index, num_nodes):
    return torch.zeros(num_nodes, p.shape[1], dtype=p.dtype).index_add_(0, edge_index[1], p)[edge_index[1]]


def _target_max(e, edge_index, num_nodes, *, start=float("-inf"), include_self=True):
    index = edge_index[1].unsqueeze(1).expand_as(e)
    return torch.full((num_nodes, e.shape[1]), start).scatter_reduce(
        0, index, e, reduce="amax", include_self=include_self)  # (N, H)


def _shifted_softmax(shift, *, epsilon=0.0):
    """exp(e - shift(e, edge_index, N)) normalised over each target's edges."""
    def wrong(e, edge_index, num_nodes):
        p = torch.exp(e - shift(e, edge_index, num_nodes))
        return p / (_sum_per_target(p, edge_index, num_nodes) + epsilon)
    return wrong


_SHIFTS = {
    # the original PyTorch GAT project: one global max, a tiny epsilon against 0 / 0
    "global_max_plus_epsilon": (lambda e, ei, n: e.max(), 1e-16),
    "global_max": (lambda e, ei, n: e.max(), 0.0),
    "global_max_per_head": (lambda e, ei, n: e.amax(dim=0, keepdim=True), 0.0),
    "global_max_per_head_plus_epsilon": (lambda e, ei, n: e.amax(dim=0, keepdim=True), 1e-16),
    "global_mean": (lambda e, ei, n: e.mean(), 0.0),
    "global_min": (lambda e, ei, n: e.min(), 0.0),
    "no_shift": (lambda e, ei, n: 0.0, 0.0),
    "no_shift_plus_epsilon": (lambda e, ei, n: 0.0, 1e-16),
    "global_max_clamped_at_0": (lambda e, ei, n: e.max().clamp(min=0), 0.0),
    # scatter_reduce into zeros with include_self=True (the default): the max is clamped at 0
    "target_max_clamped_at_0": (lambda e, ei, n: _target_max(e, ei, n, start=0.0)[ei[1]], 0.0),
    "target_max_over_all_heads": (lambda e, ei, n: _target_max(e, ei, n).amax(dim=1, keepdim=True)[ei[1]], 0.0),
    "target_max_of_head_0_for_every_head": (lambda e, ei, n: _target_max(e, ei, n)[ei[1], :1], 0.0),
    "source_max": (lambda e, ei, n: _target_max(e, ei.flip(0), n)[ei[1]], 0.0),
    "target_mean": (lambda e, ei, n: (torch.zeros(n, e.shape[1]).index_add_(0, ei[1], e)
                                      / torch.bincount(ei[1], minlength=n).clamp(min=1)[:, None])[ei[1]], 0.0),
    "target_min": (lambda e, ei, n: -_target_max(-e, ei, n)[ei[1]], 0.0),
    "max_over_the_heads_of_each_edge": (lambda e, ei, n: e.amax(dim=1, keepdim=True), 0.0),
    "each_edge_by_itself": (lambda e, ei, n: e, 0.0),
}
for _name, (_shift, _epsilon) in _SHIFTS.items():
    add_mutant("3.2", "shift", f"shift_by_{_name}", _shifted_softmax(_shift, epsilon=_epsilon))


@mutant("3.2", "grouping")
def normalised_over_the_sources(e, edge_index, num_nodes):
    p = torch.exp(e - _target_max(e, edge_index.flip(0), num_nodes)[edge_index[0]])
    return p / _sum_per_target(p, edge_index.flip(0), num_nodes)


@mutant("3.2", "grouping")
def max_by_target_sum_by_source(e, edge_index, num_nodes):
    p = torch.exp(e - _target_max(e, edge_index, num_nodes)[edge_index[1]])
    return p / _sum_per_target(p, edge_index.flip(0), num_nodes)


@mutant("3.2", "grouping")
def one_sum_per_head(e, edge_index, num_nodes):
    p = torch.exp(e - _target_max(e, edge_index, num_nodes)[edge_index[1]])
    return p / p.sum(dim=0, keepdim=True)


@mutant("3.2", "grouping")
def normalised_by_the_degree(e, edge_index, num_nodes):
    p = torch.exp(e - _target_max(e, edge_index, num_nodes)[edge_index[1]])
    return p / torch.bincount(edge_index[1], minlength=num_nodes)[edge_index[1]].unsqueeze(1)


@mutant("3.2", "grouping")
def log_softmax_per_target(e, edge_index, num_nodes):
    shifted = e - _target_max(e, edge_index, num_nodes)[edge_index[1]]
    return shifted - torch.log(_sum_per_target(torch.exp(shifted), edge_index, num_nodes))


@mutant("3.2", "grouping")
def logsumexp_without_a_shift(e, edge_index, num_nodes):
    return torch.exp(e - torch.log(_sum_per_target(torch.exp(e), edge_index, num_nodes)))


@mutant("3.2", "sorted")
def split_by_degree_assumes_sorted_targets(e, edge_index, num_nodes):
    counts = torch.bincount(edge_index[1], minlength=num_nodes).tolist()
    return torch.cat([torch.softmax(chunk, dim=0) for chunk in torch.split(e, counts)])


@mutant("3.2", "sorted")
def sorted_by_target_but_not_put_back(e, edge_index, num_nodes):
    order = torch.argsort(edge_index[1], stable=True)
    e_sorted, target = e[order], edge_index[1, order]
    p = torch.exp(e_sorted - _target_max(e_sorted, torch.stack([target, target]), num_nodes)[target])
    return p / _sum_per_target(p, torch.stack([target, target]), num_nodes)


@mutant("3.2", "loop")
def python_loop_skips_the_last_node(e, edge_index, num_nodes):
    alpha = torch.zeros_like(e)
    for i in range(num_nodes - 1):
        incoming = edge_index[1] == i
        alpha[incoming] = torch.softmax(e[incoming], dim=0)
    return alpha


@mutant("3.2", "loop")
def python_loop_softmax_over_the_heads(e, edge_index, num_nodes):
    alpha = torch.zeros_like(e)
    for i in range(num_nodes):
        incoming = edge_index[1] == i
        alpha[incoming] = torch.softmax(e[incoming], dim=1)
    return alpha


@mutant("3.2", "self-loops")
def self_loops_weighted_twice(e, edge_index, num_nodes):
    loops = (edge_index[0] == edge_index[1]).unsqueeze(1)
    p = torch.exp(e - _target_max(e, edge_index, num_nodes)[edge_index[1]]) * (1 + loops.float())
    return p / _sum_per_target(p, edge_index, num_nodes)


@mutant("3.2", "in place")
def exp_taken_in_place(e, edge_index, num_nodes):
    e -= _target_max(e, edge_index, num_nodes)[edge_index[1]]
    e.exp_()
    return e / _sum_per_target(e, edge_index, num_nodes)


@mutant("3.2", "in place")
def edges_sorted_in_place(e, edge_index, num_nodes):
    order = torch.argsort(edge_index[1], stable=True)
    edge_index.copy_(edge_index[:, order])  # the caller's edge_index is now reordered
    e_sorted = e[order]
    p = torch.exp(e_sorted - _target_max(e_sorted, edge_index, num_nodes)[edge_index[1]])
    alpha = p / _sum_per_target(p, edge_index, num_nodes)
    return torch.empty_like(alpha).index_copy_(0, order, alpha)


@alternative("3.2")
def python_loop_over_nodes(e, edge_index, num_nodes):
    alpha = torch.zeros_like(e)
    for i in range(num_nodes):
        incoming = edge_index[1] == i
        alpha[incoming] = torch.softmax(e[incoming], dim=0)
    return alpha


@alternative("3.2")
def max_found_by_sorting_and_epsilon(e, edge_index, num_nodes):
    # the per-target max from a sort by (target, score); an epsilon is harmless once the max is per target
    alpha = torch.empty_like(e)
    for h in range(e.shape[1]):
        order = torch.argsort(edge_index[1].double() * 1e6 + e[:, h].double().clamp(-1e5, 1e5), stable=True)
        target = edge_index[1, order]
        last = torch.ones_like(target, dtype=torch.bool)
        last[:-1] = target[1:] != target[:-1]  # the last of each group holds the group's max
        group_max = torch.zeros(num_nodes).index_copy_(0, target[last], e[order[last], h])
        p = torch.exp(e[:, h] - group_max[edge_index[1]])
        total = torch.zeros(num_nodes).index_add_(0, edge_index[1], p)
        alpha[:, h] = p / (total[edge_index[1]] + 1e-16)
    return alpha


@alternative("3.2")
def logsumexp_per_target(e, edge_index, num_nodes):
    index = edge_index[1].unsqueeze(1).expand_as(e)
    top = torch.full((num_nodes, e.shape[1]), float("-inf")).scatter_reduce(
        0, index, e, reduce="amax", include_self=False)
    total = torch.zeros(num_nodes, e.shape[1]).scatter_add_(0, index, torch.exp(e - top.gather(0, index)))
    return torch.exp(e - (top + torch.log(total)).gather(0, index))


@alternative("3.2")
def max_scattered_into_zeros_without_them(e, edge_index, num_nodes):
    # include_self=False: the zeros the max starts from take no part, so it is each target's own max
    index = edge_index[1].unsqueeze(1).expand_as(e)
    top = torch.zeros(num_nodes, e.shape[1]).scatter_reduce(0, index, e, reduce="amax", include_self=False)
    p = torch.exp(e - top[edge_index[1]])
    return p / torch.zeros(num_nodes, e.shape[1]).index_add_(0, edge_index[1], p)[edge_index[1]]


@alternative("3.2")
def torch_sparse_softmax(e, edge_index, num_nodes):
    heads = e.shape[1]
    head = torch.arange(heads).repeat(e.shape[0])  # (E*H,)
    indices = torch.stack([edge_index[1].repeat_interleave(heads), edge_index[0].repeat_interleave(heads), head])
    scores = torch.sparse_coo_tensor(indices, e.reshape(-1), (num_nodes, num_nodes, heads),
                                     check_invariants=True)
    alpha = torch.sparse.softmax(scores, dim=1).to_dense()  # unlisted entries count as -inf
    return alpha[edge_index[1], edge_index[0]]


@alternative("3.2")
def dense_masked_softmax_then_gather(e, edge_index, num_nodes):
    dense = torch.full((e.shape[1], num_nodes, num_nodes), float("-inf"))
    dense[:, edge_index[1], edge_index[0]] = e.T  # no edge is listed twice in the cases
    alpha = torch.softmax(dense, dim=-1).nan_to_num(0.0)
    return alpha[:, edge_index[1], edge_index[0]].T


# --- 3.3 aggregation into the targets ----------------------------------------------------------------

def _messages(alpha, z, edge_index):
    return alpha.unsqueeze(-1) * z[edge_index[0]]  # (E, H, F')


def _summed(messages, edge_index, num_nodes):
    return torch.zeros(num_nodes, *messages.shape[1:]).index_add_(0, edge_index[1], messages)


@mutant("3.3", "weights")
def weighted_mean_instead_of_sum(alpha, z, edge_index):
    total = torch.zeros(z.shape[0], alpha.shape[1]).index_add_(0, edge_index[1], alpha)
    return _summed(_messages(alpha, z, edge_index), edge_index, z.shape[0]) / total.clamp(min=1e-12).unsqueeze(-1)


@mutant("3.3", "weights")
def divided_by_the_degree(alpha, z, edge_index):
    degree = torch.bincount(edge_index[1], minlength=z.shape[0]).clamp(min=1)
    return _summed(_messages(alpha, z, edge_index), edge_index, z.shape[0]) / degree[:, None, None]


@mutant("3.3", "weights")
def alpha_squared(alpha, z, edge_index):
    return _summed(_messages(alpha * alpha, z, edge_index), edge_index, z.shape[0])


@mutant("3.3", "weights")
def alpha_of_head_0_for_every_head(alpha, z, edge_index):
    return _summed(_messages(alpha[:, :1].expand_as(alpha), z, edge_index), edge_index, z.shape[0])


@mutant("3.3", "weights")
def alpha_averaged_over_heads(alpha, z, edge_index):
    return _summed(_messages(alpha.mean(1, keepdim=True).expand_as(alpha), z, edge_index), edge_index, z.shape[0])


@mutant("3.3", "scatter")
def scatter_overwrites_instead_of_adding(alpha, z, edge_index):
    messages = _messages(alpha, z, edge_index)
    index = edge_index[1].view(-1, 1, 1).expand_as(messages)
    return torch.zeros_like(z).scatter_(0, index, messages)


@mutant("3.3", "scatter")
def scatter_max_instead_of_sum(alpha, z, edge_index):
    messages = _messages(alpha, z, edge_index)
    index = edge_index[1].view(-1, 1, 1).expand_as(messages)
    return torch.zeros_like(z).scatter_reduce(0, index, messages, reduce="amax", include_self=False)


@mutant("3.3", "scatter")
def started_from_z_instead_of_zeros(alpha, z, edge_index):
    return z.clone().index_add_(0, edge_index[1], _messages(alpha, z, edge_index))


@mutant("3.3", "scatter")
def residual_added(alpha, z, edge_index):
    return _summed(_messages(alpha, z, edge_index), edge_index, z.shape[0]) + z


@mutant("3.3", "self-loops")
def self_loops_skipped(alpha, z, edge_index):
    keep = edge_index[0] != edge_index[1]
    return _summed(_messages(alpha[keep], z, edge_index[:, keep]), edge_index[:, keep], z.shape[0])


@mutant("3.3", "direction")
def gathered_at_targets_added_into_sources(alpha, z, edge_index):
    return _summed(alpha.unsqueeze(-1) * z[edge_index[1]], edge_index.flip(0), z.shape[0])


@mutant("3.3", "sorted")
def segment_sums_assume_sorted_targets(alpha, z, edge_index):
    counts = torch.bincount(edge_index[1], minlength=z.shape[0]).tolist()
    return torch.stack([chunk.sum(0) for chunk in torch.split(_messages(alpha, z, edge_index), counts)])


@mutant("3.3", "loop")
def python_loop_over_targets_skips_the_last(alpha, z, edge_index):
    out = torch.zeros_like(z)
    messages = _messages(alpha, z, edge_index)
    for i in range(z.shape[0] - 1):
        out[i] = messages[edge_index[1] == i].sum(0)
    return out


@mutant("3.3", "in place")
def added_into_z_itself(alpha, z, edge_index):
    messages = _messages(alpha, z, edge_index)
    return z.zero_().index_add_(0, edge_index[1], messages)


@alternative("3.3")
def sparse_matrix_per_head(alpha, z, edge_index):
    num_nodes = z.shape[0]
    heads = []
    for h in range(alpha.shape[1]):
        a = torch.sparse_coo_tensor(edge_index.flip(0), alpha[:, h], (num_nodes, num_nodes),
                                    check_invariants=True)  # A[i, j] = alpha_ij
        heads.append(torch.sparse.mm(a, z[:, h]))
    return torch.stack(heads, dim=1)


@alternative("3.3")
def scatter_add_with_expanded_index(alpha, z, edge_index):
    messages = alpha[:, :, None] * z.index_select(0, edge_index[0])
    index = edge_index[1][:, None, None].expand_as(messages)
    return torch.zeros_like(z).scatter_add(0, index, messages)


@alternative("3.3")
def python_loop_over_targets(alpha, z, edge_index):
    out = torch.zeros_like(z)
    for i in range(z.shape[0]):
        incoming = edge_index[1] == i
        out[i] = torch.einsum("eh,ehf->hf", alpha[incoming], z[edge_index[0, incoming]])
    return out


# --- 3.4 concatenating or averaging the heads ---------------------------------------------------------

def _either(concat_fn, mean_fn):
    def wrong(out, concat):
        return concat_fn(out) if concat else mean_fn(out)
    return wrong


def _concat(out):
    return out.reshape(out.shape[0], -1)


def _mean(out):
    return out.mean(dim=1)


_CONCATS = {
    "features_before_heads": lambda o: o.transpose(1, 2).reshape(o.shape[0], -1),
    "heads_reversed": lambda o: o.flip(1).reshape(o.shape[0], -1),
    "nodes_and_heads_mixed": lambda o: o.transpose(0, 1).reshape(o.shape[0], -1),
    "first_head_repeated": lambda o: o[:, :1].expand_as(o).reshape(o.shape[0], -1),
    "features_of_each_head_reversed": lambda o: o.flip(2).reshape(o.shape[0], -1),
    "reshape_without_the_node_axis_first": lambda o: o.reshape(-1, o.shape[0]).T.contiguous(),
    "averaged_even_when_concat": _mean,
    "last_head_left_out": lambda o: torch.cat([o[:, :-1].reshape(o.shape[0], -1),
                                                torch.zeros(o.shape[0], o.shape[2])], 1),
}
for _name, _wrong in _CONCATS.items():
    add_mutant("3.4", "concat", f"concat_{_name}", _either(_wrong, _mean))

_MEANS = {
    "sum_over_heads": lambda o: o.sum(dim=1),
    "sum_divided_by_features": lambda o: o.sum(dim=1) / o.shape[2],
    "max_over_heads": lambda o: o.amax(dim=1),
    "first_head_only": lambda o: o[:, 0],
    "last_head_left_out": lambda o: o[:, :-1].mean(dim=1),
    "sum_divided_by_heads_minus_1": lambda o: o.sum(dim=1) / (o.shape[1] - 1),
    "median_over_heads": lambda o: o.median(dim=1).values,
    "mean_keeping_the_heads_axis": lambda o: o.mean(dim=1, keepdim=True),
    "concatenated_even_when_not": _concat,
    "mean_over_features": lambda o: o.mean(dim=2),
    "mean_over_nodes": lambda o: o.mean(dim=0),
}
for _name, _wrong in _MEANS.items():
    add_mutant("3.4", "average", f"average_{_name}", _either(_concat, _wrong))


@mutant("3.4", "in place")
def divided_in_place(out, concat):
    if concat:
        return _concat(out)
    out /= out.shape[1]
    return out.sum(dim=1)


@alternative("3.4")
def cat_of_the_heads_and_sum_over_heads(out, concat):
    if concat:
        return torch.cat([out[:, h] for h in range(out.shape[1])], dim=1)
    return out.sum(dim=1) / out.shape[1]


@alternative("3.4")
def flatten_and_einsum(out, concat):
    if concat:
        return out.flatten(start_dim=1)
    return torch.einsum("nhf->nf", out) / out.shape[1]


@alternative("3.4")
def view_and_mean_over_minus_2(out, concat):
    return out.view(out.shape[0], -1) if concat else out.mean(dim=-2)
