"""Mutation suites for chapter 06, the edge list: 6.1 edge scores, 6.2 neighbourhood softmax, 6.3 the layer.

Each family is a kind of slip a learner who gets the exercise almost right could make; the loops
generate its members. Every mutant runs on every case of its check (a crash would not be a
plausible accepted answer) and computes something else on at least one of them.

6.3's answers are layer classes: each mutant is a correct layer (``_Layer``) with one step
changed, and the alternatives are correct layers laid out otherwise (a parameter used as
``x @ W``, a loop over heads, the paper's single ``a``, nn.Dropout modules, dense matrices).
"""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

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


# --- 6.3 the layer as an nn.Module -------------------------------------------------------------------

def _functional():
    from gatkit import functional
    return functional


class _Layer(nn.Module):
    """A correct layer in small steps; every 6.3 mutant changes one of them."""

    projection_bias = False

    def __init__(self, in_features, out_features, heads=1, *, concat=True, dropout=0.0, attention_dropout=0.0):
        super().__init__()
        self.heads, self.out_features, self.concat = heads, out_features, concat
        self.dropout, self.attention_dropout = dropout, attention_dropout
        self.linear = nn.Linear(in_features, heads * out_features, bias=self.projection_bias)  # (H*F', F)
        self.a_src = nn.Parameter(torch.empty(heads, out_features))  # (H, F')
        self.a_dst = nn.Parameter(torch.empty(heads, out_features))  # (H, F')
        self.bias = nn.Parameter(torch.zeros(self.bias_size()))
        self.initialise()

    def bias_size(self):
        return self.heads * self.out_features if self.concat else self.out_features

    def initialise(self):
        for weight in (self.linear.weight, self.a_src, self.a_dst):
            nn.init.xavier_uniform_(weight)

    def drop(self, t, p):
        return F.dropout(t, p, self.training)

    def drop_input(self, x):
        return self.drop(x, self.dropout)

    def drop_projected(self, z):
        return z

    def drop_scores(self, e):
        return e

    def drop_attention(self, alpha):
        return self.drop(alpha, self.attention_dropout)

    def project(self, x):
        return self.linear(x).view(x.shape[0], self.heads, self.out_features)  # (N, H, F')

    def scores(self, z, edge_index):
        s_src, s_dst = (z * self.a_src).sum(-1), (z * self.a_dst).sum(-1)  # (N, H) each
        return F.leaky_relu(s_src[edge_index[0]] + s_dst[edge_index[1]], 0.2)  # (E, H)

    def softmax(self, e, edge_index, n):
        return _functional().neighbourhood_softmax(e, edge_index, n)  # (E, H)

    def aggregate(self, alpha, z, edge_index):
        return _functional().aggregate(alpha, z, edge_index)  # (N, H, F')

    def finish(self, out):
        combined = out.reshape(out.shape[0], -1) if self.concat else out.mean(dim=1)  # (N, H*F') or (N, F')
        return combined + self.bias

    def forward(self, x, edge_index):
        n = x.shape[0]
        z = self.drop_projected(self.project(self.drop_input(x)))  # (N, H, F')
        alpha = self.softmax(self.drop_scores(self.scores(z, edge_index)), edge_index, n)  # (E, H)
        return self.finish(self.aggregate(self.drop_attention(alpha), z, edge_index))


def _layer_mutant(family: str, name: str, **steps) -> type:
    """Register, as a mutant named ``name``, a _Layer with the given steps (methods, class attributes) replaced."""
    return add_mutant("6.3", family, name, type(name, (_Layer,), steps))


# dropout: where it goes, with which p, and in which mode
_layer_mutant("dropout", "dropout_in_eval_mode_too", drop=lambda self, t, p: F.dropout(t, p))
_layer_mutant("dropout", "attention_dropout_on_the_raw_scores",
              drop_scores=lambda self, e: self.drop(e, self.attention_dropout), drop_attention=lambda self, a: a)
_layer_mutant("dropout", "attention_dropout_on_exp_before_the_division",
              softmax=lambda self, e, ei, n: _dropped_before_division(self, e, ei, n), drop_attention=lambda self, a: a)
_layer_mutant("dropout", "input_dropout_on_z_after_the_projection",
              drop_input=lambda self, x: x, drop_projected=lambda self, z: self.drop(z, self.dropout))
_layer_mutant("dropout", "input_dropout_on_x_and_again_on_z",
              drop_projected=lambda self, z: self.drop(z, self.dropout))
_layer_mutant("dropout", "no_attention_dropout", drop_attention=lambda self, a: a)
_layer_mutant("dropout", "no_input_dropout", drop_input=lambda self, x: x)
_layer_mutant("dropout", "probabilities_swapped",
              drop_input=lambda self, x: self.drop(x, self.attention_dropout),
              drop_attention=lambda self, a: self.drop(a, self.dropout))
_layer_mutant("dropout", "attention_dropout_with_p_0.5",
              drop_attention=lambda self, a: F.dropout(a, training=self.training))
_layer_mutant("dropout", "attention_dropout_with_the_input_p", drop_attention=lambda self, a: self.drop(a, self.dropout))
_layer_mutant("dropout", "dropout_on_the_messages_instead_of_alpha",
              drop_attention=lambda self, a: a, aggregate=lambda self, a, z, ei: _dropped_messages(self, a, z, ei))
_layer_mutant("dropout", "dropout_on_the_output_instead_of_alpha", drop_attention=lambda self, a: a,
              finish=lambda self, out: self.drop(_Layer.finish(self, out), self.attention_dropout))


def _dropped_before_division(layer, e, edge_index, n):
    target = edge_index[1]
    top = e.new_zeros(n, e.shape[1]).scatter_reduce(0, target[:, None].expand_as(e), e, "amax", include_self=False)
    p = layer.drop((e - top[target]).exp(), layer.attention_dropout)  # (E, H)
    return p / e.new_zeros(n, e.shape[1]).index_add_(0, target, p).clamp(min=1e-30)[target]


def _dropped_messages(layer, alpha, z, edge_index):
    messages = layer.drop(alpha[..., None] * z[edge_index[0]], layer.attention_dropout)  # (E, H, F')
    return torch.zeros_like(z).index_add_(0, edge_index[1], messages)


@mutant("6.3", "dropout")
class NnDropoutForXButFDropoutWithoutTrainingForAlpha(_Layer):
    """nn.Dropout for x, but alpha dropped by F.dropout without the training flag."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.input_dropout = nn.Dropout(self.dropout)

    def drop_input(self, x):
        return self.input_dropout(x)

    def drop_attention(self, alpha):
        return F.dropout(alpha, self.attention_dropout)  # the module's mode forgotten


# heads: concatenated or averaged, and in which order
_layer_mutant("heads", "heads_averaged_when_concat_and_concatenated_when_not",
              bias_size=lambda self: self.out_features if self.concat else self.heads * self.out_features,
              finish=lambda self, out: (out.mean(1) if self.concat else out.reshape(out.shape[0], -1)) + self.bias)
_layer_mutant("heads", "heads_concatenated_feature_by_feature",
              finish=lambda self, out: (out.transpose(1, 2).reshape(out.shape[0], -1) if self.concat
                                        else out.mean(1)) + self.bias)
_layer_mutant("heads", "heads_summed_instead_of_averaged",
              finish=lambda self, out: (out.reshape(out.shape[0], -1) if self.concat else out.sum(1)) + self.bias)
_layer_mutant("heads", "projection_split_feature_major",
              project=lambda self, x: self.linear(x).view(x.shape[0], self.out_features, self.heads).transpose(1, 2))

# bias: where it is and how big
_layer_mutant("bias", "bias_in_the_projection", projection_bias=True)
_layer_mutant("bias", "bias_per_head_before_combining", bias_size=lambda self: self.heads * self.out_features,
              finish=lambda self, out: _combined(self, out + self.bias.view(self.heads, self.out_features)))
_layer_mutant("bias", "bias_added_to_z_before_the_aggregation",
              project=lambda self, x: _Layer.project(self, x) + self.bias.view(-1, self.out_features),
              finish=lambda self, out: _combined(self, out))


def _combined(layer, out):
    """The heads concatenated or averaged, without a bias."""
    return out.reshape(out.shape[0], -1) if layer.concat else out.mean(dim=1)


_layer_mutant("bias", "bias_initialised_to_ones",
              initialise=lambda self: (_Layer.initialise(self), nn.init.ones_(self.bias)))


@mutant("6.3", "bias")
class NoBiasAtAll(_Layer):
    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        del self.bias
        self.bias = 0.0


# attention vectors: which one scores which end of the edge
_layer_mutant("attention vectors", "a_src_and_a_dst_swapped",
              scores=lambda self, z, ei: F.leaky_relu((z * self.a_dst).sum(-1)[ei[0]] + (z * self.a_src).sum(-1)[ei[1]], 0.2))
_layer_mutant("attention vectors", "a_src_scores_both_ends",
              scores=lambda self, z, ei: F.leaky_relu((z * self.a_src).sum(-1)[ei[0]] + (z * self.a_src).sum(-1)[ei[1]], 0.2))
_layer_mutant("attention vectors", "edges_read_target_to_source_in_the_scores",
              scores=lambda self, z, ei: _Layer.scores(self, z, ei.flip(0)))
_layer_mutant("attention vectors", "softmax_over_the_sources_edges",
              softmax=lambda self, e, ei, n: _functional().neighbourhood_softmax(e, ei.flip(0), n))
_layer_mutant("attention vectors", "aggregated_into_the_sources",
              aggregate=lambda self, a, z, ei: _functional().aggregate(a, z, ei.flip(0)))

# initialisation
_layer_mutant("initialisation", "W_left_at_nn_linear_default",
              initialise=lambda self: [nn.init.xavier_uniform_(w) for w in (self.a_src, self.a_dst)])
_layer_mutant("initialisation", "a_left_at_zero",
              initialise=lambda self: (nn.init.xavier_uniform_(self.linear.weight), nn.init.zeros_(self.a_src),
                                       nn.init.zeros_(self.a_dst)))
_layer_mutant("initialisation", "W_xavier_normal",
              initialise=lambda self: (_Layer.initialise(self), nn.init.xavier_normal_(self.linear.weight)))
_layer_mutant("initialisation", "W_xavier_with_gain_1.414_as_pyGAT",
              initialise=lambda self: [nn.init.xavier_uniform_(w, gain=1.414) for w in
                                       (self.linear.weight, self.a_src, self.a_dst)])
_layer_mutant("initialisation", "a_standard_normal",
              initialise=lambda self: (nn.init.xavier_uniform_(self.linear.weight), nn.init.normal_(self.a_src),
                                       nn.init.normal_(self.a_dst)))
_layer_mutant("initialisation", "a_with_nn_linear_default_rule",
              initialise=lambda self: (nn.init.xavier_uniform_(self.linear.weight),
                                       nn.init.kaiming_uniform_(self.a_src, a=5 ** 0.5),
                                       nn.init.kaiming_uniform_(self.a_dst, a=5 ** 0.5)))
_layer_mutant("initialisation", "a_uniform_between_0_and_1",
              initialise=lambda self: (nn.init.xavier_uniform_(self.linear.weight), nn.init.uniform_(self.a_src),
                                       nn.init.uniform_(self.a_dst)))
_layer_mutant("initialisation", "nothing_initialised",
              initialise=lambda self: (nn.init.zeros_(self.a_src), nn.init.zeros_(self.a_dst)))

# scores: the nonlinearity
for _slope in (0.0, 0.01, 0.1, 0.5):
    _layer_mutant("scores", f"leaky_relu_slope_{_slope:g}",
                  scores=(lambda slope: lambda self, z, ei: F.leaky_relu(
                      (z * self.a_src).sum(-1)[ei[0]] + (z * self.a_dst).sum(-1)[ei[1]], slope))(_slope))
_layer_mutant("scores", "no_leaky_relu",
              scores=lambda self, z, ei: (z * self.a_src).sum(-1)[ei[0]] + (z * self.a_dst).sum(-1)[ei[1]])
_layer_mutant("scores", "leaky_relu_on_the_node_scores",
              scores=lambda self, z, ei: F.leaky_relu((z * self.a_src).sum(-1), 0.2)[ei[0]]
              + F.leaky_relu((z * self.a_dst).sum(-1), 0.2)[ei[1]])
_layer_mutant("scores", "elu_after_the_layer",
              finish=lambda self, out: F.elu(_Layer.finish(self, out)))


# autograd: parameters that are not trained
@mutant("6.3", "autograd")
class ASrcAPlainTensorAttribute(_Layer):
    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        a_src = self.a_src.detach().clone()
        del self.a_src
        self.a_src = a_src  # a plain tensor attribute


@mutant("6.3", "autograd")
class ADstABuffer(_Layer):
    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        a_dst = self.a_dst.detach().clone()
        del self.a_dst
        self.register_buffer("a_dst", a_dst)  # saved, but not a parameter

_layer_mutant("autograd", "W_detached_in_forward",
              project=lambda self, x: (x @ self.linear.weight.detach().T).view(x.shape[0], self.heads, -1))
_layer_mutant("autograd", "alpha_detached",
              drop_attention=lambda self, a: self.drop(a.detach(), self.attention_dropout))
_layer_mutant("autograd", "bias_added_through_data", finish=lambda self, out: _combined(self, out) + self.bias.data)
_layer_mutant("autograd", "x_detached", drop_input=lambda self, x: self.drop(x.detach(), self.dropout))


# --- 6.3 correct layers written another way ---------------------------------------------------------

@alternative("6.3")
class WAsAParameterUsedAsXAtW(nn.Module):
    """W as an nn.Parameter (F, H*F') used as x @ W."""

    def __init__(self, in_features, out_features, heads=1, *, concat=True, dropout=0.0, attention_dropout=0.0):
        super().__init__()
        self.heads, self.out_features, self.concat = heads, out_features, concat
        self.dropout, self.attention_dropout = dropout, attention_dropout
        self.W = nn.Parameter(nn.init.xavier_uniform_(torch.empty(in_features, heads * out_features)))
        self.a_src = nn.Parameter(nn.init.xavier_uniform_(torch.empty(heads, out_features)))
        self.a_dst = nn.Parameter(nn.init.xavier_uniform_(torch.empty(heads, out_features)))
        self.bias = nn.Parameter(torch.zeros(heads * out_features if concat else out_features))

    def forward(self, x, edge_index):
        fn = _functional()
        n = x.shape[0]
        z = (F.dropout(x, self.dropout, self.training) @ self.W).view(n, self.heads, -1)  # (N, H, F')
        e = fn.edge_scores((z * self.a_src).sum(-1), (z * self.a_dst).sum(-1), edge_index)  # (E, H)
        alpha = F.dropout(fn.neighbourhood_softmax(e, edge_index, n), self.attention_dropout, self.training)
        out = fn.aggregate(alpha, z, edge_index)  # (N, H, F')
        return (out.flatten(1) if self.concat else out.mean(1)) + self.bias



@alternative("6.3")
class ALoopOverHeadsWithPerHeadParameters(nn.Module):
    """A loop over heads, each with its own (F, F') W and (F', 1) attention vectors, Glorot per head."""

    def __init__(self, in_features, out_features, heads=1, *, concat=True, dropout=0.0, attention_dropout=0.0):
        super().__init__()
        self.concat, self.dropout, self.attention_dropout = concat, dropout, attention_dropout

        def glorot(*shape):
            return nn.Parameter(nn.init.xavier_uniform_(torch.empty(*shape)))

        self.W = nn.ParameterList([glorot(in_features, out_features) for _ in range(heads)])
        self.att_src = nn.ParameterList([glorot(out_features, 1) for _ in range(heads)])
        self.att_dst = nn.ParameterList([glorot(out_features, 1) for _ in range(heads)])
        self.bias = nn.ParameterList([nn.Parameter(torch.zeros(out_features)) for _ in range(heads if concat else 1)])

    def forward(self, x, edge_index):
        fn = _functional()
        n = x.shape[0]
        x = F.dropout(x, self.dropout, self.training)
        outs = []
        for W, a_src, a_dst in zip(self.W, self.att_src, self.att_dst):
            z = x @ W  # (N, F')
            e = F.leaky_relu((z @ a_src)[edge_index[0]] + (z @ a_dst)[edge_index[1]], 0.2)  # (E, 1)
            alpha = F.dropout(fn.neighbourhood_softmax(e, edge_index, n), self.attention_dropout, self.training)
            outs.append(torch.zeros_like(z).index_add_(0, edge_index[1], alpha * z[edge_index[0]]))  # (N, F')
        if self.concat:
            return torch.cat(outs, dim=1) + torch.cat(list(self.bias))  # (N, H*F')
        return torch.stack(outs).mean(0) + self.bias[0]  # (N, F')



@alternative("6.3")
class ThePapersSingleAWithNnDropoutModules(nn.Module):
    """The paper's single a (H, 2F'): e_ij = LeakyReLU(a . [W h_i || W h_j]), first half the target."""

    def __init__(self, in_features, out_features, heads=1, *, concat=True, dropout=0.0, attention_dropout=0.0):
        super().__init__()
        self.heads, self.out_features, self.concat = heads, out_features, concat
        self.proj = nn.Linear(in_features, heads * out_features, bias=False)
        self.a = nn.Parameter(torch.empty(heads, 2 * out_features))  # (H, 2F')
        self.bias = nn.Parameter(torch.zeros(heads * out_features if concat else out_features))
        nn.init.xavier_uniform_(self.proj.weight)
        nn.init.xavier_uniform_(self.a)
        self.input_dropout, self.attention_dropout = nn.Dropout(dropout), nn.Dropout(attention_dropout)

    def forward(self, x, edge_index):
        fn = _functional()
        n = x.shape[0]
        z = self.proj(self.input_dropout(x)).view(n, self.heads, self.out_features)  # (N, H, F')
        pairs = torch.cat([z[edge_index[1]], z[edge_index[0]]], dim=-1)  # (E, H, 2F'): [z_i || z_j]
        e = F.leaky_relu((pairs * self.a).sum(-1), 0.2)  # (E, H)
        alpha = self.attention_dropout(fn.neighbourhood_softmax(e, edge_index, n))  # (E, H)
        out = fn.aggregate(alpha, z, edge_index)  # (N, H, F')
        return (out.reshape(n, -1) if self.concat else out.mean(1)) + self.bias



@alternative("6.3")
class DenseMaskedScoresWithPygNames(nn.Module):
    """PyG's names and (1, H, F') attention vectors, computed densely: (H, N, N) masked scores."""

    def __init__(self, in_features, out_features, heads=1, *, concat=True, dropout=0.0, attention_dropout=0.0):
        super().__init__()
        self.heads, self.out_features, self.concat = heads, out_features, concat
        self.lin = nn.Linear(in_features, heads * out_features, bias=False)
        self.att_src = nn.Parameter(torch.empty(1, heads, out_features))
        self.att_dst = nn.Parameter(torch.empty(1, heads, out_features))
        self.bias = nn.Parameter(torch.zeros(heads * out_features if concat else out_features))
        for weight in (self.lin.weight, self.att_src, self.att_dst):
            nn.init.xavier_uniform_(weight)
        self.drop_x, self.drop_alpha = nn.Dropout(dropout), nn.Dropout(attention_dropout)

    def forward(self, x, edge_index):
        n = x.shape[0]
        z = self.lin(self.drop_x(x)).view(n, self.heads, self.out_features).transpose(0, 1)  # (H, N, F')
        s_src = (z * self.att_src.transpose(0, 1)).sum(-1)  # (H, N)
        s_dst = (z * self.att_dst.transpose(0, 1)).sum(-1)  # (H, N)
        scores = F.leaky_relu(s_dst[:, :, None] + s_src[:, None, :], 0.2)  # (H, N, N): [h, i, j]
        adj = torch.zeros(n, n, dtype=torch.bool)
        adj[edge_index[1], edge_index[0]] = True
        alpha = torch.softmax(scores.masked_fill(~adj, float("-inf")), dim=-1).nan_to_num(0.0)  # (H, N, N)
        out = torch.bmm(self.drop_alpha(alpha), z).transpose(0, 1)  # (N, H, F')
        return (out.reshape(n, -1) if self.concat else out.mean(1)) + self.bias
