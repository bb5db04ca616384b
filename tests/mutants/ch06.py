"""Mutation suites for chapter 06, the edge list: 6.1 edge scores, 6.2 neighbourhood max, 6.3 the layer.

Each family is a kind of slip a learner who gets the exercise almost right could make; the loops
generate its members. Every mutant runs on every case of its check (a crash would not be a
plausible accepted answer) and computes something else on at least one of them.

6.3's answers are layer classes: each mutant is a correct layer (``StepwiseLayer``) with one step
changed, and the alternatives are correct layers laid out otherwise (a parameter used as
``x @ W``, a loop over heads, the paper's single ``a``, nn.Dropout modules, dense matrices).
"""

from __future__ import annotations

import math
import warnings

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from course.checks.ch06 import StepwiseLayer
from gatkit import functional as fn
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


# --- 6.2 the maximum of each neighbourhood ---------------------------------------------------------

def _per_node(scores, node, num_nodes, reduce="amax", include_self=False):
    """(N, H): ``reduce`` of ``scores`` (E, H) over the edges whose ``node`` (E,) is each node, from zeros."""
    index = node.unsqueeze(1).expand_as(scores)  # (E, H)
    return scores.new_zeros(num_nodes, scores.shape[1]).scatter_reduce(0, index, scores, reduce=reduce,
                                                                       include_self=include_self)


def _reference_max(scores, edge_index, num_nodes):
    from gatkit.functional import neighbourhood_max
    return neighbourhood_max(scores, edge_index, num_nodes)


def _started_from(value: float, include_self: bool):
    """The max per target from a table filled with ``value`` (what a node without incoming edges keeps)."""
    def wrong(scores, edge_index, num_nodes):
        index = edge_index[1].unsqueeze(1).expand_as(scores)  # (E, H)
        start = torch.full((num_nodes, scores.shape[1]), value, dtype=scores.dtype)  # (N, H)
        return start.scatter_reduce(0, index, scores, reduce="amax", include_self=include_self)
    return wrong


# global: the original PyTorch GAT project's one max over all edges, and its relatives
@mutant("6.2", "global")
def one_global_max(scores, edge_index, num_nodes):
    return scores.max().expand(num_nodes, scores.shape[1]).clone()


@mutant("6.2", "global")
def one_max_per_head_over_all_edges(scores, edge_index, num_nodes):
    return scores.amax(dim=0, keepdim=True).repeat(num_nodes, 1)


@mutant("6.2", "global")
def global_max_only_where_an_edge_arrives(scores, edge_index, num_nodes):
    arrives = torch.bincount(edge_index[1], minlength=num_nodes) > 0  # (N,)
    return torch.where(arrives.unsqueeze(1), scores.max(), 0.0).expand(-1, scores.shape[1]).clone()


# the start value: include_self, and what a node without incoming edges gets
add_mutant("6.2", "start value", "zeros_take_part_in_the_max", _started_from(0.0, include_self=True))
add_mutant("6.2", "start value", "minus_inf_for_nodes_without_incoming_edges", _started_from(-math.inf, True))
add_mutant("6.2", "start value", "minus_inf_kept_with_include_self_false", _started_from(-math.inf, False))
add_mutant("6.2", "start value", "nan_for_nodes_without_incoming_edges", _started_from(math.nan, False))
add_mutant("6.2", "start value", "minus_1e9_for_nodes_without_incoming_edges", _started_from(-1e9, True))


@mutant("6.2", "start value")
def started_from_the_smallest_score(scores, edge_index, num_nodes):
    return _started_from(scores.min().item(), include_self=True)(scores, edge_index, num_nodes)


@mutant("6.2", "start value")
def segment_reduce_leaves_minus_inf(scores, edge_index, num_nodes):
    order = edge_index[1].argsort(stable=True)
    counts = torch.bincount(edge_index[1], minlength=num_nodes)
    return torch.segment_reduce(scores[order], "max", lengths=counts, axis=0)  # empty segments: -inf


@mutant("6.2", "start value")
def max_clamped_at_0(scores, edge_index, num_nodes):
    return _per_node(scores, edge_index[1], num_nodes).clamp(min=0)  # the max "at least 0"


# direction: grouped by the wrong end of the edges
@mutant("6.2", "direction")
def max_over_the_outgoing_edges(scores, edge_index, num_nodes):
    return _per_node(scores, edge_index[0], num_nodes)


@mutant("6.2", "direction")
def max_over_the_edges_at_either_end(scores, edge_index, num_nodes):
    both = torch.cat([edge_index[0], edge_index[1]])  # (2E,): as if the graph were undirected
    return _per_node(torch.cat([scores, scores]), both, num_nodes)


@mutant("6.2", "off by one")
def targets_taken_as_one_based(scores, edge_index, num_nodes):
    return _per_node(scores, (edge_index[1] - 1) % num_nodes, num_nodes)


# heads: one max per node instead of one per head, or only some heads
@mutant("6.2", "heads")
def max_over_the_heads_too(scores, edge_index, num_nodes):
    return _per_node(scores, edge_index[1], num_nodes).amax(dim=1, keepdim=True).expand(-1, scores.shape[1]).clone()


@mutant("6.2", "heads")
def index_not_expanded_so_only_head_0(scores, edge_index, num_nodes):
    index = edge_index[1].unsqueeze(1)  # (E, 1)
    return scores.new_zeros(num_nodes, scores.shape[1]).scatter_reduce(0, index, scores, "amax", include_self=False)


@mutant("6.2", "heads")
def head_0s_max_for_every_head(scores, edge_index, num_nodes):
    return _per_node(scores, edge_index[1], num_nodes)[:, :1].repeat(1, scores.shape[1])


# reduction: another statistic than the max
def _reduced_by(reduce: str):
    def wrong(scores, edge_index, num_nodes):
        return _per_node(scores, edge_index[1], num_nodes, reduce)
    return wrong


for _reduce in ("amin", "mean", "sum", "prod"):
    add_mutant("6.2", "reduction", f"per_target_{_reduce}", _reduced_by(_reduce))


@mutant("6.2", "reduction")
def any_one_score_of_the_target(scores, edge_index, num_nodes):
    index = edge_index[1].unsqueeze(1).expand_as(scores)
    return scores.new_zeros(num_nodes, scores.shape[1]).scatter(0, index, scores)  # plain scatter: one write wins


@mutant("6.2", "reduction")
def max_of_the_absolute_values(scores, edge_index, num_nodes):
    return _per_node(scores.abs(), edge_index[1], num_nodes)


# shape: not the (N, H) table
@mutant("6.2", "shape")
def gathered_back_to_the_edges(scores, edge_index, num_nodes):
    return _reference_max(scores, edge_index, num_nodes).index_select(0, edge_index[1])  # (E, H)


@mutant("6.2", "shape")
def transposed(scores, edge_index, num_nodes):
    return _reference_max(scores, edge_index, num_nodes).T.contiguous()  # (H, N)


@mutant("6.2", "shape")
def values_and_the_edges_holding_them(scores, edge_index, num_nodes):
    top = _reference_max(scores, edge_index, num_nodes)  # (N, H)
    holds = scores == top[edge_index[1]]  # (E, H): as torch.max(dim=...) returns (values, indices)
    return top, holds.nonzero()


@mutant("6.2", "shape")
def one_max_per_node_over_all_heads(scores, edge_index, num_nodes):
    return _reference_max(scores, edge_index, num_nodes).amax(dim=1)  # (N,)


# sorted order: columns assumed grouped by target
@mutant("6.2", "sorted order")
def blocks_of_in_degree_size(scores, edge_index, num_nodes):
    counts = torch.bincount(edge_index[1], minlength=num_nodes).tolist()
    zeros = scores.new_zeros(scores.shape[1])
    return torch.stack([block.amax(dim=0) if len(block) else zeros for block in torch.split(scores, counts)])


@mutant("6.2", "sorted order")
def runs_of_unique_consecutive(scores, edge_index, num_nodes):
    nodes, counts = torch.unique_consecutive(edge_index[1], return_counts=True)
    top = scores.new_zeros(num_nodes, scores.shape[1])
    for node, block in zip(nodes.tolist(), torch.split(scores, counts.tolist())):
        top[node] = block.amax(dim=0)  # a later run of the same node overwrites an earlier one
    return top


@mutant("6.2", "sorted order")
def targets_sorted_but_not_the_scores(scores, edge_index, num_nodes):
    counts = torch.bincount(edge_index[1], minlength=num_nodes)
    top = torch.segment_reduce(scores, "max", lengths=counts, axis=0)  # scores still in column order
    return torch.where(counts.unsqueeze(1) > 0, top, 0.0)


@mutant("6.2", "sorted order")
def segments_from_searchsorted(scores, edge_index, num_nodes):
    nodes = torch.arange(num_nodes)
    starts = torch.searchsorted(edge_index[1], nodes)  # meaningless unless the targets are sorted
    ends = torch.searchsorted(edge_index[1], nodes, right=True)
    top = scores.new_zeros(num_nodes, scores.shape[1])
    for node, (start, end) in enumerate(zip(starts.tolist(), ends.tolist())):
        if end > start:
            top[node] = scores[start:end].amax(dim=0)
    return top


# in place: right values, but the caller's tensors changed
@mutant("6.2", "in place")
def shifted_in_place_so_that_zeros_can_take_part(scores, edge_index, num_nodes):
    low = scores.min()
    scores -= low  # every score >= 0 now, so the zeros may join the max, but the caller's scores changed
    arrives = torch.bincount(edge_index[1], minlength=num_nodes).unsqueeze(1) > 0  # (N, 1)
    return torch.where(arrives, _per_node(scores, edge_index[1], num_nodes, include_self=True) + low, 0.0)


@mutant("6.2", "in place")
def columns_sorted_in_place(scores, edge_index, num_nodes):
    order = edge_index[1].argsort(stable=True)
    edge_index.copy_(edge_index[:, order])
    scores.copy_(scores[order])
    return _per_node(scores, edge_index[1], num_nodes)


# dtype
@mutant("6.2", "dtype")
def loop_into_float32_zeros(scores, edge_index, num_nodes):
    top = torch.zeros(num_nodes, scores.shape[1])  # float32, whatever the scores' dtype
    for node in edge_index[1].unique().tolist():
        top[node] = scores[edge_index[1] == node].amax(dim=0)
    return top


@mutant("6.2", "dtype")
def max_in_half_precision(scores, edge_index, num_nodes):
    return _per_node(scores.half(), edge_index[1], num_nodes).to(scores.dtype)


@mutant("6.2", "dtype")
def max_in_bfloat16(scores, edge_index, num_nodes):
    return _per_node(scores.bfloat16(), edge_index[1], num_nodes).to(scores.dtype)


# --- 6.2 correct answers written another way

@alternative("6.2")
def python_loop_over_targets(scores, edge_index, num_nodes):
    # correct, if slow: one amax per node
    top = scores.new_zeros(num_nodes, scores.shape[1])
    for node in range(num_nodes):
        into = edge_index[1] == node
        if into.any():
            top[node] = scores[into].amax(dim=0)
    return top


@alternative("6.2")
def scatter_reduce_from_minus_inf_then_zeros_where_nothing_arrives(scores, edge_index, num_nodes):
    index = edge_index[1].unsqueeze(1).expand_as(scores)  # (E, H)
    top = torch.full((num_nodes, scores.shape[1]), -math.inf, dtype=scores.dtype)  # (N, H)
    top = top.scatter_reduce(0, index, scores, "amax")
    arrives = torch.bincount(edge_index[1], minlength=num_nodes) > 0
    return torch.where(arrives.unsqueeze(1), top, 0.0)


@alternative("6.2")
def index_reduce(scores, edge_index, num_nodes):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # "index_reduce() is in beta"
        return scores.new_zeros(num_nodes, scores.shape[1]).index_reduce_(0, edge_index[1], scores, "amax",
                                                                          include_self=False)


@alternative("6.2")
def sorted_segment_reduce(scores, edge_index, num_nodes):
    order = edge_index[1].argsort(stable=True)  # group the edges by target
    counts = torch.bincount(edge_index[1], minlength=num_nodes)  # (N,): segment lengths, in node order
    top = torch.segment_reduce(scores[order], "max", lengths=counts, axis=0)  # (N, H), -inf for empty segments
    return torch.where(counts.unsqueeze(1) > 0, top, 0.0)


@alternative("6.2")
def sorted_by_target_then_score_last_of_each_run_put_back(scores, edge_index, num_nodes):
    num_edges, heads = scores.shape
    rank = scores.argsort(dim=0).argsort(dim=0)  # (E, H): each score's rank within its head
    order = (edge_index[1].unsqueeze(1) * num_edges + rank).argsort(dim=0)  # (E, H): by target, then score
    target = edge_index[1][order]  # (E, H)
    last = torch.ones_like(target, dtype=torch.bool)
    last[:-1] = target[1:] != target[:-1]  # (E, H): the last, largest, edge of each target's run
    head = torch.arange(heads).expand_as(target)
    top = scores.new_zeros(num_nodes, heads)
    top[target[last], head[last]] = scores.gather(0, order)[last]
    return top


@alternative("6.2")
def flat_scatter_over_node_and_head(scores, edge_index, num_nodes):
    heads = scores.shape[1]
    flat = (edge_index[1].unsqueeze(1) * heads + torch.arange(heads)).flatten()  # (E*H,): row-major (i, h)
    return scores.new_zeros(num_nodes * heads).scatter_reduce(0, flat, scores.flatten(), "amax",
                                                              include_self=False).view(num_nodes, heads)


# --- 6.3 the layer as an nn.Module -------------------------------------------------------------------

def _layer_mutant(family: str, name: str, **steps) -> type:
    """Register, as a mutant named ``name``, a StepwiseLayer with the given steps (methods, class attributes) replaced."""
    return add_mutant("6.3", family, name, type(name, (StepwiseLayer,), steps))


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
              finish=lambda self, out: self.drop(StepwiseLayer.finish(self, out), self.attention_dropout))


def _dropped_before_division(layer, e, edge_index, n):
    target = edge_index[1]
    top = e.new_zeros(n, e.shape[1]).scatter_reduce(0, target[:, None].expand_as(e), e, "amax", include_self=False)
    p = layer.drop((e - top[target]).exp(), layer.attention_dropout)  # (E, H)
    return p / e.new_zeros(n, e.shape[1]).index_add_(0, target, p).clamp(min=1e-30)[target]


def _dropped_messages(layer, alpha, z, edge_index):
    messages = layer.drop(alpha[..., None] * z[edge_index[0]], layer.attention_dropout)  # (E, H, F')
    return torch.zeros_like(z).index_add_(0, edge_index[1], messages)


@mutant("6.3", "dropout")
class NnDropoutForXButFDropoutWithoutTrainingForAlpha(StepwiseLayer):
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
              project=lambda self, x: StepwiseLayer.project(self, x) + self.bias.view(-1, self.out_features),
              finish=lambda self, out: _combined(self, out))


def _combined(layer, out):
    """The heads concatenated or averaged, without a bias."""
    return out.reshape(out.shape[0], -1) if layer.concat else out.mean(dim=1)


_layer_mutant("bias", "bias_initialised_to_ones",
              initialise=lambda self: (StepwiseLayer.initialise(self), nn.init.ones_(self.bias)))


@mutant("6.3", "bias")
class NoBiasAtAll(StepwiseLayer):
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
              scores=lambda self, z, ei: StepwiseLayer.scores(self, z, ei.flip(0)))
_layer_mutant("attention vectors", "softmax_over_the_sources_edges",
              softmax=lambda self, e, ei, n: StepwiseLayer.softmax(self, e, ei.flip(0), n))
_layer_mutant("attention vectors", "aggregated_into_the_sources",
              aggregate=lambda self, a, z, ei: StepwiseLayer.aggregate(self, a, z, ei.flip(0)))

# initialisation
_layer_mutant("initialisation", "W_left_at_nn_linear_default",
              initialise=lambda self: [nn.init.xavier_uniform_(w) for w in (self.a_src, self.a_dst)])
_layer_mutant("initialisation", "a_left_at_zero",
              initialise=lambda self: (nn.init.xavier_uniform_(self.linear.weight), nn.init.zeros_(self.a_src),
                                       nn.init.zeros_(self.a_dst)))
_layer_mutant("initialisation", "W_xavier_normal",
              initialise=lambda self: (StepwiseLayer.initialise(self), nn.init.xavier_normal_(self.linear.weight)))
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
              finish=lambda self, out: F.elu(StepwiseLayer.finish(self, out)))


# autograd: parameters that are not trained
@mutant("6.3", "autograd")
class ASrcAPlainTensorAttribute(StepwiseLayer):
    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        a_src = self.a_src.detach().clone()
        del self.a_src
        self.a_src = a_src  # a plain tensor attribute


@mutant("6.3", "autograd")
class ADstABuffer(StepwiseLayer):
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
