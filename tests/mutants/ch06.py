"""Mutation suites for chapter 06, the edge list: 6.1 edge scores, 6.2 neighbourhood softmax, 6.3 aggregation.

Each family is a kind of slip a learner who gets the exercise almost right could make; the loops
generate its members. Every mutant runs on every case of its check (a crash would not be a
plausible accepted answer) and computes something else on at least one of them.
"""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F

from mutants import add_mutant, alternative, mutant


# --- 6.1 lifting scores to the edges ---------------------------------------------------------------

def _lifted(s_src, s_dst, edge_index):
    return s_src.index_select(0, edge_index[0]) + s_dst.index_select(0, edge_index[1])  # (E, H)


def _slope(value: float):
    def wrong(s_src, s_dst, edge_index):
        return F.leaky_relu(_lifted(s_src, s_dst, edge_index), value)
    return wrong


# slope 0 is a ReLU, 0.01 F.leaky_relu's default, 5 = 1 / 0.2 a misread, -0.2 the sign flipped
for _value in (0.0, 0.01, 0.02, 0.1, 0.15, 0.25, 0.3, 0.5, -0.2, 5.0):
    add_mutant("6.1", "slope", f"negative_slope_{_value:g}", _slope(_value))


_ACTIVATIONS = {
    "elu": F.elu,
    "tanh": torch.tanh,
    "sigmoid": torch.sigmoid,
    "abs": torch.abs,
    "selu": F.selu,
    "clamped_below_at_0.2": lambda x: x.clamp(min=0.2),
}
for _name, _activation in _ACTIVATIONS.items():
    add_mutant("6.1", "activation", f"{_name}_instead_of_leaky_relu",
              (lambda act: lambda s_src, s_dst, edge_index: act(_lifted(s_src, s_dst, edge_index)))(_activation))


@mutant("6.1", "activation")
def leaky_relu_before_the_sum(s_src, s_dst, edge_index):
    return (F.leaky_relu(s_src, 0.2).index_select(0, edge_index[0])
            + F.leaky_relu(s_dst, 0.2).index_select(0, edge_index[1]))


@mutant("6.1", "activation")
def leaky_relu_on_the_source_term_only(s_src, s_dst, edge_index):
    return F.leaky_relu(s_src.index_select(0, edge_index[0]), 0.2) + s_dst.index_select(0, edge_index[1])


@mutant("6.1", "activation")
def leaky_relu_twice(s_src, s_dst, edge_index):
    return F.leaky_relu(F.leaky_relu(_lifted(s_src, s_dst, edge_index), 0.2), 0.2)


_GATHERS = {  # which node's score each term takes: (s_src rows, s_dst rows)
    "both_scores_of_the_source": (0, 0),
    "both_scores_of_the_target": (1, 1),
    "source_and_target_swapped": (1, 0),
}
def _gathered(src_row: int, dst_row: int):
    def wrong(s_src, s_dst, edge_index):
        lifted = s_src.index_select(0, edge_index[src_row]) + s_dst.index_select(0, edge_index[dst_row])
        return F.leaky_relu(lifted, 0.2)
    return wrong


for _name, (_src_row, _dst_row) in _GATHERS.items():
    add_mutant("6.1", "direction", _name, _gathered(_src_row, _dst_row))


@mutant("6.1", "direction")
def s_src_used_for_both_ends(s_src, s_dst, edge_index):
    return F.leaky_relu(s_src.index_select(0, edge_index[0]) + s_src.index_select(0, edge_index[1]), 0.2)


@mutant("6.1", "direction")
def s_dst_used_for_both_ends(s_src, s_dst, edge_index):
    return F.leaky_relu(s_dst.index_select(0, edge_index[0]) + s_dst.index_select(0, edge_index[1]), 0.2)


@mutant("6.1", "combine")
def product_instead_of_sum(s_src, s_dst, edge_index):
    return F.leaky_relu(s_src.index_select(0, edge_index[0]) * s_dst.index_select(0, edge_index[1]), 0.2)


@mutant("6.1", "combine")
def difference_instead_of_sum(s_src, s_dst, edge_index):
    return F.leaky_relu(s_src.index_select(0, edge_index[0]) - s_dst.index_select(0, edge_index[1]), 0.2)


@mutant("6.1", "combine")
def mean_of_the_two_scores(s_src, s_dst, edge_index):
    return F.leaky_relu(_lifted(s_src, s_dst, edge_index) / 2, 0.2)


@mutant("6.1", "combine")
def summed_over_the_heads(s_src, s_dst, edge_index):
    e = F.leaky_relu(_lifted(s_src, s_dst, edge_index), 0.2)
    return e.sum(dim=1, keepdim=True).expand_as(e).clone()


@mutant("6.1", "combine")
def heads_of_the_target_reversed(s_src, s_dst, edge_index):
    return F.leaky_relu(s_src.index_select(0, edge_index[0]) + s_dst.flip(1).index_select(0, edge_index[1]), 0.2)


@mutant("6.1", "self-loops")
def self_loop_scores_left_at_0(s_src, s_dst, edge_index):
    e = F.leaky_relu(_lifted(s_src, s_dst, edge_index), 0.2)
    return e.masked_fill((edge_index[0] == edge_index[1]).unsqueeze(1), 0.0)  # "a node does not score itself"


@mutant("6.1", "self-loops")
def self_loop_scores_counted_twice(s_src, s_dst, edge_index):
    loops = (edge_index[0] == edge_index[1]).unsqueeze(1)
    return F.leaky_relu(_lifted(s_src, s_dst, edge_index) * (1 + loops.to(s_src.dtype)), 0.2)


@mutant("6.1", "off by one")
def node_ids_taken_as_one_based(s_src, s_dst, edge_index):
    n = s_src.shape[0]
    return F.leaky_relu(s_src[(edge_index[0] - 1) % n] + s_dst[(edge_index[1] - 1) % n], 0.2)


@mutant("6.1", "order")
def edges_sorted_by_target_first(s_src, s_dst, edge_index):
    order = edge_index[1].argsort(stable=True)
    return F.leaky_relu(_lifted(s_src, s_dst, edge_index[:, order]), 0.2)  # never put back in column order


@mutant("6.1", "order")
def edges_sorted_by_source_first(s_src, s_dst, edge_index):
    order = edge_index[0].argsort(stable=True)
    return F.leaky_relu(_lifted(s_src, s_dst, edge_index[:, order]), 0.2)


@mutant("6.1", "in place")
def leaky_relu_in_place_on_the_node_scores(s_src, s_dst, edge_index):
    F.leaky_relu_(s_src, 0.2)  # edits the caller's s_src, and applies the LeakyReLU before the sum
    F.leaky_relu_(s_dst, 0.2)
    return _lifted(s_src, s_dst, edge_index)


@mutant("6.1", "dtype")
def computed_in_half_precision(s_src, s_dst, edge_index):
    return F.leaky_relu(_lifted(s_src.half(), s_dst.half(), edge_index).float(), 0.2)


@alternative("6.1")
def advanced_indexing_and_where(s_src, s_dst, edge_index):
    source, target = edge_index
    x = s_src[source] + s_dst[target]
    return torch.where(x > 0, x, 0.2 * x)


@alternative("6.1")
def maximum_of_x_and_a_fifth_of_x(s_src, s_dst, edge_index):
    x = torch.gather(s_src, 0, edge_index[0].unsqueeze(1).expand(-1, s_src.shape[1])) \
        + torch.gather(s_dst, 0, edge_index[1].unsqueeze(1).expand(-1, s_dst.shape[1]))
    return torch.maximum(x, 0.2 * x)


@alternative("6.1")
def numpy_then_back(s_src, s_dst, edge_index):
    source, target = edge_index.numpy()
    x = s_src.numpy()[source] + s_dst.numpy()[target]
    return torch.from_numpy(np.where(x > 0, x, np.float32(0.2) * x))


# --- 6.2 the neighbourhood softmax ------------------------------------------------------------------

def _per_target(values, edge_index, num_nodes, reduce):
    """(N, H) reduction of ``values`` (E, H) over each target's incoming edges."""
    index = edge_index[1].unsqueeze(1).expand_as(values)
    return values.new_zeros(num_nodes, values.shape[1]).scatter_reduce(0, index, values, reduce=reduce,
                                                                       include_self=False)


def _normalised(p, edge_index, num_nodes):
    target = edge_index[1]
    sums = p.new_zeros(num_nodes, p.shape[1]).index_add_(0, target, p)
    return p / sums.index_select(0, target)


def _shifted_by(shift):
    """The softmax with ``shift(scores, edge_index, num_nodes)`` (E, H) subtracted before exp."""
    def wrong(scores, edge_index, num_nodes):
        return _normalised((scores - shift(scores, edge_index, num_nodes)).exp(), edge_index, num_nodes)
    return wrong


_SHIFTS = {
    "one_global_max": lambda s, ei, n: s.max(),
    "one_global_max_per_head": lambda s, ei, n: s.max(dim=0).values,
    "one_global_mean": lambda s, ei, n: s.mean(),
    "no_shift": lambda s, ei, n: torch.zeros_like(s),
    "per_target_mean": lambda s, ei, n: _per_target(s, ei, n, "mean")[ei[1]],
    "per_target_min": lambda s, ei, n: _per_target(s, ei, n, "amin")[ei[1]],
    "per_target_max_clamped_at_0": lambda s, ei, n: _per_target(s, ei, n, "amax").clamp(min=0)[ei[1]],
    "per_target_max_capped_at_0": lambda s, ei, n: _per_target(s, ei, n, "amax").clamp(max=0)[ei[1]],
    "max_over_the_targets_outgoing_edges": lambda s, ei, n: _per_target(s, ei.flip(0), n, "amax")[ei[1]],
    "max_of_the_sources_neighbourhood": lambda s, ei, n: _per_target(s, ei, n, "amax")[ei[0]],
    "per_target_max_over_all_heads": lambda s, ei, n: _per_target(s, ei, n, "amax").amax(1, keepdim=True)[ei[1]],
    "per_target_max_of_head_0_only": lambda s, ei, n: _per_target(s, ei, n, "amax")[:, :1][ei[1]],
    "any_one_score_of_the_target": lambda s, ei, n: s.new_zeros(n, s.shape[1]).scatter(
        0, ei[1].unsqueeze(1).expand_as(s), s)[ei[1]],
    "per_target_max_plus_100": lambda s, ei, n: _per_target(s, ei, n, "amax")[ei[1]] + 100.0,
}
for _name, _shift in _SHIFTS.items():
    add_mutant("6.2", "shift", _name, _shifted_by(_shift))

_SHIFTED_GLOBAL = _shifted_by(_SHIFTS["one_global_max"])


@mutant("6.2", "shift")
def one_global_max_plus_epsilon(scores, edge_index, num_nodes):
    target = edge_index[1]
    p = (scores - scores.max()).exp()
    sums = scores.new_zeros(num_nodes, scores.shape[1]).index_add_(0, target, p)
    return p / (sums.index_select(0, target) + 1e-16)


@mutant("6.2", "shift")
def one_global_max_nan_replaced_by_zero(scores, edge_index, num_nodes):
    return torch.nan_to_num(_SHIFTED_GLOBAL(scores, edge_index, num_nodes), nan=0.0)


@mutant("6.2", "shift")
def one_global_max_sums_clamped(scores, edge_index, num_nodes):
    target = edge_index[1]
    p = (scores - scores.max()).exp()
    sums = scores.new_zeros(num_nodes, scores.shape[1]).index_add_(0, target, p)
    return p / sums.index_select(0, target).clamp(min=torch.finfo(scores.dtype).tiny)


@mutant("6.2", "shift")
def scores_clamped_instead_of_shifted(scores, edge_index, num_nodes):
    return _normalised(scores.clamp(-80.0, 80.0).exp(), edge_index, num_nodes)


@mutant("6.2", "shift")
def global_max_in_float64(scores, edge_index, num_nodes):
    return _SHIFTED_GLOBAL(scores.double(), edge_index, num_nodes).float()


_NORMALISERS = {  # what p = exp(e - max) is divided by
    "sum_per_source": lambda p, ei, n: p.new_zeros(n, p.shape[1]).index_add_(0, ei[0], p)[ei[0]],
    "sum_per_source_gathered_at_target": lambda p, ei, n: p.new_zeros(n, p.shape[1]).index_add_(0, ei[0], p)[ei[1]],
    "sum_over_all_edges": lambda p, ei, n: p.sum(dim=0),
    "in_degree": lambda p, ei, n: torch.bincount(ei[1], minlength=n).to(p.dtype).unsqueeze(1)[ei[1]],
    "sum_plus_one": lambda p, ei, n: p.new_zeros(n, p.shape[1]).index_add_(0, ei[1], p)[ei[1]] + 1,
    "nothing": lambda p, ei, n: torch.ones_like(p),
    "sum_over_all_heads": lambda p, ei, n: (
        p.new_zeros(n, p.shape[1]).index_add_(0, ei[1], p).sum(1, keepdim=True)[ei[1]]),
    "max_per_target": lambda p, ei, n: _per_target(p, ei, n, "amax")[ei[1]],
}
for _name, _normaliser in _NORMALISERS.items():
    add_mutant("6.2", "normalisation", f"divided_by_{_name}",
              (lambda norm: lambda scores, edge_index, num_nodes: (
                  lambda p: p / norm(p, edge_index, num_nodes))(
                  (scores - _per_target(scores, edge_index, num_nodes, "amax")[edge_index[1]]).exp()))(_normaliser))


@mutant("6.2", "normalisation")
def log_softmax_returned(scores, edge_index, num_nodes):
    from gatkit.functional import neighbourhood_softmax
    return neighbourhood_softmax(scores, edge_index, num_nodes).log()


@mutant("6.2", "normalisation")
def softmax_of_the_softmax(scores, edge_index, num_nodes):
    from gatkit.functional import neighbourhood_softmax
    once = neighbourhood_softmax(scores, edge_index, num_nodes)
    return neighbourhood_softmax(once, edge_index, num_nodes)


@mutant("6.2", "axis")
def softmax_over_all_edges(scores, edge_index, num_nodes):
    return F.softmax(scores, dim=0)


@mutant("6.2", "axis")
def softmax_over_the_heads(scores, edge_index, num_nodes):
    return F.softmax(scores, dim=1)


@mutant("6.2", "axis")
def grouped_by_source(scores, edge_index, num_nodes):
    from gatkit.functional import neighbourhood_softmax
    return neighbourhood_softmax(scores, edge_index.flip(0), num_nodes)


@mutant("6.2", "self-loops")
def self_loops_left_out_of_the_sums(scores, edge_index, num_nodes):
    target, loops = edge_index[1], edge_index[0] == edge_index[1]
    p = (scores - _per_target(scores, edge_index, num_nodes, "amax")[target]).exp()
    sums = scores.new_zeros(num_nodes, scores.shape[1]).index_add_(0, target[~loops], p[~loops])
    return p / sums[target].clamp(min=torch.finfo(scores.dtype).tiny)


@mutant("6.2", "self-loops")
def self_loops_counted_twice_in_the_sums(scores, edge_index, num_nodes):
    target, loops = edge_index[1], edge_index[0] == edge_index[1]
    p = (scores - _per_target(scores, edge_index, num_nodes, "amax")[target]).exp()
    sums = scores.new_zeros(num_nodes, scores.shape[1]).index_add_(0, target, p).index_add_(0, target[loops], p[loops])
    return p / sums[target]


@mutant("6.2", "self-loops")
def self_loops_given_weight_1(scores, edge_index, num_nodes):
    from gatkit.functional import neighbourhood_softmax
    loops = (edge_index[0] == edge_index[1]).unsqueeze(1)
    return neighbourhood_softmax(scores, edge_index, num_nodes).masked_fill(loops, 1.0)


def _segments_assuming_sorted(scores, edge_index, num_nodes):
    """Softmax over consecutive blocks whose sizes are the in-degrees: right only if edges are sorted by target."""
    counts = torch.bincount(edge_index[1], minlength=num_nodes).tolist()
    return torch.cat([F.softmax(block, dim=0) for block in torch.split(scores, counts)])


@mutant("6.2", "sorted order")
def blocks_of_in_degree_size(scores, edge_index, num_nodes):
    return _segments_assuming_sorted(scores, edge_index, num_nodes)


@mutant("6.2", "sorted order")
def runs_of_unique_consecutive(scores, edge_index, num_nodes):
    _, counts = torch.unique_consecutive(edge_index[1], return_counts=True)
    return torch.cat([F.softmax(block, dim=0) for block in torch.split(scores, counts.tolist())])


@mutant("6.2", "sorted order")
def segments_from_searchsorted(scores, edge_index, num_nodes):
    target = edge_index[1]
    starts = torch.searchsorted(target, torch.arange(num_nodes))  # meaningless unless target is sorted
    ends = torch.searchsorted(target, torch.arange(num_nodes), right=True)
    out = torch.zeros_like(scores)
    for start, end in zip(starts.tolist(), ends.tolist()):
        if end > start:
            out[start:end] = F.softmax(scores[start:end], dim=0)
    return out


@mutant("6.2", "sorted order")
def sorted_and_not_put_back(scores, edge_index, num_nodes):
    order = edge_index[1].argsort(stable=True)
    return _segments_assuming_sorted(scores[order], edge_index[:, order], num_nodes)


@mutant("6.2", "sorted order")
def put_back_with_the_order_instead_of_its_inverse(scores, edge_index, num_nodes):
    order = edge_index[1].argsort(stable=True)
    return _segments_assuming_sorted(scores[order], edge_index[:, order], num_nodes)[order]


@mutant("6.2", "in place")
def max_subtracted_in_place(scores, edge_index, num_nodes):
    scores -= _per_target(scores, edge_index, num_nodes, "amax")[edge_index[1]]
    return _normalised(scores.exp(), edge_index, num_nodes)


@mutant("6.2", "in place")
def exp_in_place(scores, edge_index, num_nodes):
    p = scores.sub_(_per_target(scores, edge_index, num_nodes, "amax")[edge_index[1]]).exp_()
    return _normalised(p.clone(), edge_index, num_nodes)


@mutant("6.2", "dtype")
def softmax_in_half_precision(scores, edge_index, num_nodes):
    from gatkit.functional import neighbourhood_softmax
    return neighbourhood_softmax(scores.half(), edge_index, num_nodes).float()


@mutant("6.2", "dtype")
def softmax_in_bfloat16(scores, edge_index, num_nodes):
    from gatkit.functional import neighbourhood_softmax
    return neighbourhood_softmax(scores.bfloat16(), edge_index, num_nodes).float()


@alternative("6.2")
def python_loop_over_targets(scores, edge_index, num_nodes):
    out = torch.empty_like(scores)
    for node in range(num_nodes):
        into = edge_index[1] == node
        if into.any():
            out[into] = F.softmax(scores[into], dim=0)
    return out


@alternative("6.2")
def sorted_segments_put_back(scores, edge_index, num_nodes):
    order = edge_index[1].argsort(stable=True)
    alpha_sorted = _segments_assuming_sorted(scores[order], edge_index[:, order], num_nodes)
    return torch.empty_like(alpha_sorted).index_copy_(0, order, alpha_sorted)


@alternative("6.2")
def torch_sparse_softmax(scores, edge_index, num_nodes):
    # rows = targets, columns = sources, one dense dimension for the heads; softmax along the sources
    matrix = torch.sparse_coo_tensor(edge_index.flip(0), scores, (num_nodes, num_nodes, scores.shape[1]),
                                     check_invariants=True)
    values = torch.sparse.softmax(matrix, dim=1).coalesce()  # coalesced: columns sorted by (target, source)
    key = edge_index[1] * num_nodes + edge_index[0]
    position = torch.searchsorted(values.indices()[0] * num_nodes + values.indices()[1], key)
    return values.values()[position]


@alternative("6.2")
def in_float64_with_scatter_amax(scores, edge_index, num_nodes):
    s = scores.double()
    index = edge_index[1].unsqueeze(1).expand_as(s)
    top = torch.full((num_nodes, s.shape[1]), -torch.inf, dtype=s.dtype).scatter_reduce(0, index, s, "amax")
    p = (s - top.gather(0, index)).exp()
    sums = torch.zeros(num_nodes, s.shape[1], dtype=s.dtype).scatter_add(0, index, p)
    return (p / sums.gather(0, index)).float()


@alternative("6.2")
def shift_3_below_each_targets_max(scores, edge_index, num_nodes):
    # any shift within a few units below the target's max is exact in float32 too
    top = _per_target(scores, edge_index, num_nodes, "amax")[edge_index[1]] - 3.0
    return _normalised((scores - top).exp(), edge_index, num_nodes)


# --- 6.3 the scatter aggregation --------------------------------------------------------------------

def _messages(alpha, z, edge_index):
    return alpha.unsqueeze(-1) * z.index_select(0, edge_index[0])  # (E, H, F')


def _scatter(messages, z, edge_index, reduce):
    index = edge_index[1].view(-1, 1, 1).expand_as(messages)
    return torch.zeros_like(z).scatter_reduce(0, index, messages, reduce=reduce, include_self=False)


@mutant("6.3", "reduce")
def mean_of_the_messages(alpha, z, edge_index):
    return _scatter(_messages(alpha, z, edge_index), z, edge_index, "mean")


@mutant("6.3", "reduce")
def largest_message(alpha, z, edge_index):
    return _scatter(_messages(alpha, z, edge_index), z, edge_index, "amax")


@mutant("6.3", "reduce")
def divided_by_the_in_degree(alpha, z, edge_index):
    out = torch.zeros_like(z).index_add_(0, edge_index[1], _messages(alpha, z, edge_index))
    degree = torch.bincount(edge_index[1], minlength=z.shape[0]).clamp(min=1).to(z.dtype)
    return out / degree.view(-1, 1, 1)


@mutant("6.3", "reduce")
def renormalised_by_the_sum_of_alpha(alpha, z, edge_index):
    out = torch.zeros_like(z).index_add_(0, edge_index[1], _messages(alpha, z, edge_index))
    total = torch.zeros(z.shape[0], alpha.shape[1], dtype=alpha.dtype).index_add_(0, edge_index[1], alpha)
    return out / total.clamp(min=1e-12).unsqueeze(-1)


@mutant("6.3", "reduce")
def renormalised_without_guard(alpha, z, edge_index):
    out = torch.zeros_like(z).index_add_(0, edge_index[1], _messages(alpha, z, edge_index))
    total = torch.zeros(z.shape[0], alpha.shape[1], dtype=alpha.dtype).index_add_(0, edge_index[1], alpha)
    return out / total.unsqueeze(-1)


@mutant("6.3", "reduce")
def softmax_of_alpha_again(alpha, z, edge_index):
    from gatkit.functional import aggregate, neighbourhood_softmax
    return aggregate(neighbourhood_softmax(alpha, edge_index, z.shape[0]), z, edge_index)


@mutant("6.3", "heads")
def head_0_weights_for_every_head(alpha, z, edge_index):
    return torch.zeros_like(z).index_add_(0, edge_index[1], _messages(alpha[:, :1].expand_as(alpha), z, edge_index))


@mutant("6.3", "heads")
def weights_averaged_over_the_heads(alpha, z, edge_index):
    return torch.zeros_like(z).index_add_(0, edge_index[1],
                                          _messages(alpha.mean(1, keepdim=True).expand_as(alpha), z, edge_index))


@mutant("6.3", "heads")
def heads_concatenated(alpha, z, edge_index):
    out = torch.zeros_like(z).index_add_(0, edge_index[1], _messages(alpha, z, edge_index))
    return out.reshape(z.shape[0], -1)  # (N, H*F'): the layer's next step, done too early


@mutant("6.3", "heads")
def heads_averaged(alpha, z, edge_index):
    return torch.zeros_like(z).index_add_(0, edge_index[1], _messages(alpha, z, edge_index)).mean(dim=1)


@mutant("6.3", "heads")
def heads_of_alpha_reversed(alpha, z, edge_index):
    return torch.zeros_like(z).index_add_(0, edge_index[1], _messages(alpha.flip(1), z, edge_index))


@mutant("6.3", "direction")
def gathered_and_scattered_at_the_sources(alpha, z, edge_index):
    messages = alpha.unsqueeze(-1) * z.index_select(0, edge_index[0])
    return torch.zeros_like(z).index_add_(0, edge_index[0], messages)


@mutant("6.3", "direction")
def gathered_and_scattered_at_the_targets(alpha, z, edge_index):
    messages = alpha.unsqueeze(-1) * z.index_select(0, edge_index[1])
    return torch.zeros_like(z).index_add_(0, edge_index[1], messages)


@mutant("6.3", "direction")
def gathered_at_targets_scattered_at_sources(alpha, z, edge_index):
    messages = alpha.unsqueeze(-1) * z.index_select(0, edge_index[1])
    return torch.zeros_like(z).index_add_(0, edge_index[0], messages)


@mutant("6.3", "self-loops")
def own_features_added(alpha, z, edge_index):
    return z + torch.zeros_like(z).index_add_(0, edge_index[1], _messages(alpha, z, edge_index))


@mutant("6.3", "self-loops")
def self_loop_messages_left_out(alpha, z, edge_index):
    keep = edge_index[0] != edge_index[1]
    return torch.zeros_like(z).index_add_(0, edge_index[1, keep], _messages(alpha[keep], z, edge_index[:, keep]))


@mutant("6.3", "self-loops")
def self_loop_messages_counted_twice(alpha, z, edge_index):
    loops = edge_index[0] == edge_index[1]
    out = torch.zeros_like(z).index_add_(0, edge_index[1], _messages(alpha, z, edge_index))
    return out.index_add_(0, edge_index[1, loops], _messages(alpha[loops], z, edge_index[:, loops]))


@mutant("6.3", "sorted order")
def sums_over_blocks_of_in_degree_size(alpha, z, edge_index):
    counts = torch.bincount(edge_index[1], minlength=z.shape[0]).tolist()
    blocks = torch.split(_messages(alpha, z, edge_index), counts)
    return torch.stack([block.sum(dim=0) for block in blocks])


@mutant("6.3", "sorted order")
def cumulative_sums_at_block_ends(alpha, z, edge_index):
    messages = _messages(alpha, z, edge_index)
    ends = torch.bincount(edge_index[1], minlength=z.shape[0]).cumsum(0)  # (N,) where each block would end
    running = torch.cat([torch.zeros_like(messages[:1]), messages.cumsum(0)])
    starts = torch.cat([ends.new_zeros(1), ends[:-1]])
    return running[ends] - running[starts]


@mutant("6.3", "in place")
def alpha_unsqueezed_in_place(alpha, z, edge_index):
    alpha.unsqueeze_(-1)
    return torch.zeros_like(z).index_add_(0, edge_index[1], alpha * z.index_select(0, edge_index[0]))


@mutant("6.3", "in place")
def messages_accumulated_into_z_with_index_add(alpha, z, edge_index):
    return z.index_add(0, edge_index[1], _messages(alpha, z, edge_index))  # out of place, but onto z


@mutant("6.3", "off by one")
def one_row_too_many(alpha, z, edge_index):
    out = z.new_zeros(z.shape[0] + 1, *z.shape[1:]).index_add_(0, edge_index[1], _messages(alpha, z, edge_index))
    return out[1:]


@alternative("6.3")
def sparse_matrix_per_head(alpha, z, edge_index):
    n, heads = z.shape[0], z.shape[1]
    outs = []
    for h in range(heads):
        # a[i, j] = alpha_ij: rows are targets, columns sources
        a = torch.sparse_coo_tensor(edge_index.flip(0), alpha[:, h], (n, n), check_invariants=True)
        outs.append(torch.sparse.mm(a, z[:, h]))  # (N, F')
    return torch.stack(outs, dim=1)


@alternative("6.3")
def scatter_add_with_an_expanded_index(alpha, z, edge_index):
    messages = alpha[..., None] * z[edge_index[0]]
    index = edge_index[1][:, None, None].expand_as(messages)
    return torch.zeros_like(z).scatter_add_(0, index, messages)


@alternative("6.3")
def einsum_with_a_one_hot_target_matrix(alpha, z, edge_index):
    if z.shape[0] * edge_index.shape[1] > 4_000_000:  # too big for a dense one-hot: use a sparse one
        onehot = torch.sparse_coo_tensor(torch.stack([edge_index[1], torch.arange(edge_index.shape[1])]),
                                         torch.ones(edge_index.shape[1]), (z.shape[0], edge_index.shape[1]),
                                         check_invariants=True)
        messages = (alpha.unsqueeze(-1) * z[edge_index[0]]).reshape(edge_index.shape[1], -1)
        return torch.sparse.mm(onehot, messages).reshape(z.shape)
    onehot = F.one_hot(edge_index[1], z.shape[0]).to(z.dtype)  # (E, N)
    return torch.einsum("en,eh,ehf->nhf", onehot, alpha, z[edge_index[0]])
