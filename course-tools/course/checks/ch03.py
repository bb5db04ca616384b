"""Checks for chapter 03, The attention math.

The references are the library's own functions (:mod:`gatkit.functional`), the ones the three
layer implementations are built from; exercise 3.1 takes ``z`` and the two halves of ``a``, so
its reference composes :func:`~gatkit.functional.node_scores` and
:func:`~gatkit.functional.edge_scores`.

Notation: ``z`` (N, H, F') projected features; ``a_src``, ``a_dst`` (H, F'); ``edge_index``
(2, E), row 0 the source ``j``, row 1 the target ``i``; ``e`` and ``alpha`` (E, H).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

from course.checks.cases import (TOY_A_DST, TOY_A_SRC, TOY_EDGE_INDEX, TOY_H, after_dropout, random_graph,
                                 seeded_generator, spread_scores)
from course.checks.core import Case, Check, register
from gatkit.functional import aggregate, combine_heads, edge_scores, neighbourhood_softmax, node_scores


def scores_of_edges(z: torch.Tensor, a_src: torch.Tensor, a_dst: torch.Tensor,
                    edge_index: torch.Tensor) -> torch.Tensor:
    """Raw scores ``e`` (E, H): ``LeakyReLU(a_dst·z_i + a_src·z_j)`` for each edge ``j -> i``."""
    return edge_scores(node_scores(z, a_src), node_scores(z, a_dst), edge_index)


# --- cases -----------------------------------------------------------------------------------

def _toy_two_heads():
    """The toy graph with W = I for both heads and a second attention vector."""
    z = TOY_H[:, None, :].repeat(1, 2, 1)  # (N, H=2, F'=2)
    a_src = torch.cat([TOY_A_SRC, torch.tensor([[0.5, 2.0]])])  # (2, 2)
    a_dst = torch.cat([TOY_A_DST, torch.tensor([[-1.0, 0.5]])])  # (2, 2)
    return z, a_src, a_dst


def _random_inputs(seed: int, num_nodes: int, num_edges: int, heads: int, features: int):
    edge_index = random_graph(num_nodes, num_edges, seed)
    generator = seeded_generator(seed + 1000)
    z = torch.randn(num_nodes, heads, features, generator=generator)  # (N, H, F')
    a_src = torch.randn(heads, features, generator=generator)  # (H, F')
    a_dst = torch.randn(heads, features, generator=generator)  # (H, F')
    return z, a_src, a_dst, edge_index


def _score_cases() -> list[Case]:
    z2, a_src2, a_dst2 = _toy_two_heads()
    return [
        Case("toy graph, 1 head", (TOY_H[:, None, :], TOY_A_SRC, TOY_A_DST, TOY_EDGE_INDEX)),
        Case("toy graph, 2 heads", (z2, a_src2, a_dst2, TOY_EDGE_INDEX)),
        Case("random directed graph (12 nodes, 3 heads)", _random_inputs(3, 12, 30, 3, 5)),
        Case("random directed graph (7 nodes, 4 heads of 3 features)", _random_inputs(4, 7, 20, 4, 3)),
    ]


def _random_scores(seed: int, num_nodes: int, num_edges: int, heads: int, *,
                   isolated: bool = False) -> tuple[torch.Tensor, torch.Tensor, int]:
    edge_index = random_graph(num_nodes, num_edges, seed)
    generator = seeded_generator(seed + 1000)
    if isolated:  # the last node keeps only its self-loop
        last = num_nodes - 1
        keep = ((edge_index[0] != last) & (edge_index[1] != last)) | (edge_index[0] == edge_index[1])
        edge_index = edge_index[:, keep]
    e = 2 * torch.randn(edge_index.shape[1], heads, generator=generator)  # (E, H)
    return e, edge_index, num_nodes


def _softmax_cases() -> list[Case]:
    toy_e = scores_of_edges(*_toy_two_heads(), TOY_EDGE_INDEX)  # (E, 2)
    return [
        Case("toy graph, 2 heads (self-loops included)", (toy_e, TOY_EDGE_INDEX, 4)),
        Case("random directed graph (10 nodes, 3 heads, node 9 has only its self-loop)",
             _random_scores(5, 10, 25, 3, isolated=True)),
        Case("random directed graph (40 nodes, 2 heads)", _random_scores(6, 40, 160, 2)),
        Case("neighbourhoods far apart (+120, -120, and +-100 inside one; the heads mirrored)",
             _spread_case(15, 30, seed=9)),
    ]


def _spread_case(num_nodes: int, num_edges: int, seed: int) -> tuple[torch.Tensor, torch.Tensor, int]:
    """Scores whose neighbourhoods lie far apart (see :func:`~course.checks.cases.spread_scores`)."""
    edge_index = random_graph(num_nodes, num_edges, seed)
    return spread_scores(edge_index, num_nodes, 2, seed + 1000), edge_index, num_nodes


def _aggregate_inputs(seed: int, num_nodes: int, num_edges: int, heads: int, features: int):
    z, a_src, a_dst, edge_index = _random_inputs(seed, num_nodes, num_edges, heads, features)
    alpha = neighbourhood_softmax(scores_of_edges(z, a_src, a_dst, edge_index), edge_index, num_nodes)
    return alpha, z, edge_index


def _aggregate_cases() -> list[Case]:
    z, a_src, a_dst = _toy_two_heads()
    alpha = neighbourhood_softmax(scores_of_edges(z, a_src, a_dst, TOY_EDGE_INDEX), TOY_EDGE_INDEX, 4)
    dropped, z_random, edge_index = _aggregate_inputs(8, 12, 30, 3, 4)
    return [
        Case("toy graph, 2 heads", (alpha, z, TOY_EDGE_INDEX)),
        Case("random directed graph (12 nodes, 3 heads)", _aggregate_inputs(7, 12, 30, 3, 4)),
        Case("random directed graph (12 nodes, 3 heads), alpha after dropout (weights into a "
             "node no longer sum to 1)", (after_dropout(dropped, 0.4, seed=10), z_random, edge_index)),
    ]


def _combine_cases() -> list[Case]:
    generator = seeded_generator(8)
    out = torch.randn(5, 3, 4, generator=generator)  # (N, H, F')
    square = torch.randn(3, 2, 2, generator=generator)  # (N, H, F') with H = F'
    return [
        Case("5 nodes, 3 heads of 4 features, concat=True", (out, True)),
        Case("5 nodes, 3 heads of 4 features, concat=False", (out, False)),
        Case("3 nodes, 2 heads of 2 features, concat=True", (square, True)),
        Case("3 nodes, 2 heads of 2 features, concat=False", (square, False)),
    ]


# --- known mistakes ---------------------------------------------------------------------------

def _no_leaky_relu(z, a_src, a_dst, edge_index):
    return (z * a_dst).sum(-1)[edge_index[1]] + (z * a_src).sum(-1)[edge_index[0]]


def _default_slope(z, a_src, a_dst, edge_index):
    return F.leaky_relu(_no_leaky_relu(z, a_src, a_dst, edge_index))  # PyTorch's default slope 0.01


def _relu(z, a_src, a_dst, edge_index):
    return F.relu(_no_leaky_relu(z, a_src, a_dst, edge_index))


def _halves_swapped(z, a_src, a_dst, edge_index):
    return scores_of_edges(z, a_dst, a_src, edge_index)  # the same as taking row 0 as the target


def _summed_over_heads(z, a_src, a_dst, edge_index):
    return scores_of_edges(z, a_src, a_dst, edge_index).sum(dim=1)


def _global_softmax(e, edge_index, num_nodes):
    return torch.softmax(e, dim=0)


def _softmax_over_heads(e, edge_index, num_nodes):
    return torch.softmax(e, dim=1)


def _grouped_by_source(e, edge_index, num_nodes):
    return neighbourhood_softmax(e, edge_index.flip(0), num_nodes)


def _self_loops_left_out(e, edge_index, num_nodes):
    keep = edge_index[0] != edge_index[1]
    alpha = torch.zeros_like(e)
    alpha[keep] = neighbourhood_softmax(e[keep], edge_index[:, keep], num_nodes)
    return alpha


def _global_max_shift(e, edge_index, num_nodes):
    p = torch.exp(e - e.max())
    total = torch.zeros(num_nodes, e.shape[1]).index_add_(0, edge_index[1], p)
    return p / (total[edge_index[1]] + 1e-16)


def _no_normalisation(e, edge_index, num_nodes):
    return torch.exp(e)


def _into_sources(alpha, z, edge_index):
    return aggregate(alpha, z, edge_index.flip(0))


def _target_features(alpha, z, edge_index):
    messages = alpha[:, :, None] * z[edge_index[1]]
    return torch.zeros_like(z).index_add_(0, edge_index[1], messages)


def _renormalised(alpha, z, edge_index):
    total = torch.zeros(z.shape[0], alpha.shape[1]).index_add_(0, edge_index[1], alpha)  # (N, H)
    return aggregate(alpha / total[edge_index[1]].clamp(min=1e-12), z, edge_index)


def _unweighted_sum(alpha, z, edge_index):
    return aggregate(torch.ones_like(alpha), z, edge_index)


def _features_before_heads(out, concat):
    return out.transpose(1, 2).reshape(out.shape[0], -1) if concat else out.mean(dim=1)


def _sum_of_heads(out, concat):
    return out.reshape(out.shape[0], -1) if concat else out.sum(dim=1)


def _mean_over_features(out, concat):
    return out.reshape(out.shape[0], -1) if concat else out.mean(dim=2)


register(Check(
    id="3.1",
    title="the edge scores",
    reference=scores_of_edges,
    cases=_score_cases,
    hint="For each edge j -> i (j = edge_index[0], i = edge_index[1]) and each head h: "
         "e = LeakyReLU(a_dst[h]·z_i[h] + a_src[h]·z_j[h]) with negative slope 0.2. Compute the "
         "two per-node scores with (z * a).sum(-1), shape (N, H), then index them by the edges.",
    mistakes={
        "The LeakyReLU is missing: e = LeakyReLU(a_dst·z_i + a_src·z_j), with "
        "F.leaky_relu(..., negative_slope=0.2).": _no_leaky_relu,
        "Negative scores are scaled by 0.01, PyTorch's default slope: the paper uses 0.2, "
        "so pass negative_slope=0.2 to F.leaky_relu.": _default_slope,
        "Negative scores became 0: that is a ReLU. GAT uses a LeakyReLU with slope 0.2, "
        "which keeps a little of the negative side.": _relu,
        "Source and target are swapped: either a_src and a_dst are exchanged, or you took row 0 "
        "as the target. a_dst multiplies the target z_i, i = edge_index[1]; a_src multiplies the "
        "source z_j, j = edge_index[0].": _halves_swapped,
        "You summed over the heads as well: sum only the feature axis (dim=-1), so each head "
        "keeps its own score and e has shape (E, H).": _summed_over_heads,
    },
))

register(Check(
    id="3.2",
    title="the neighbourhood softmax",
    reference=neighbourhood_softmax,
    cases=_softmax_cases,
    hint="For every target i, take the edges whose edge_index[1] == i (its self-loop among "
         "them) and apply a softmax to their scores, separately for each head. The alphas of "
         "each target's incoming edges then sum to 1 per head.",
    mistakes={
        "Your softmax ran over all edges at once (the whole column of e sums to 1). It must run "
        "over the incoming edges of each target node separately: group the edges by "
        "edge_index[1].": _global_softmax,
        "Your softmax ran over the heads axis (each row of e sums to 1). Heads are independent: "
        "normalise each head's scores over the target's incoming edges.": _softmax_over_heads,
        "You grouped edges by their source (edge_index[0]): the softmax runs over the edges "
        "*into* each target, i.e. group by edge_index[1].": _grouped_by_source,
        "The self-loops got no attention: the neighbourhood N_i includes i itself. edge_index "
        "already holds the self-loops; treat them like any other edge.": _self_loops_left_out,
        "The scores were exponentiated but not normalised: divide each exp(e) by the sum of "
        "exp(e) over the same target's incoming edges.": _no_normalisation,
        "You subtracted one maximum over all the scores: a neighbourhood whose scores all lie far "
        "below it (120 below here) underflows to exp(...) = 0 and gets no attention (or 0 / 0). "
        "Subtract each target's own maximum, per head: scatter_reduce(..., reduce='amax') into "
        "a tensor filled with -inf (one of zeros would clamp the max at 0 unless "
        "include_self=False), then gather it back with edge_index[1].": _global_max_shift,
    },
))

register(Check(
    id="3.3",
    title="aggregation into the targets",
    reference=aggregate,
    cases=_aggregate_cases,
    hint="For each edge j -> i, the message is alpha[edge] * z[j] (shape (H, F')); add every "
         "message into row i of a zero (N, H, F') tensor, e.g. with index_add_(0, edge_index[1], ...).",
    mistakes={
        "You added the messages into the sources: each edge j -> i sends alpha_ij z_j to its "
        "target i = edge_index[1], gathering z at j = edge_index[0].": _into_sources,
        "The messages carry the target's own features z_i: they must carry the source's, "
        "z[edge_index[0]].": _target_features,
        "The messages are not weighted: multiply each z_j by its alpha (alpha[:, :, None] "
        "broadcasts over the features).": _unweighted_sum,
        "You renormalised alpha (or averaged the messages): use the weights as given. After "
        "attention dropout they no longer sum to 1 over a target's edges, and the aggregation "
        "is a plain weighted sum.": _renormalised,
    },
))

register(Check(
    id="3.4",
    title="concatenating or averaging the heads",
    reference=combine_heads,
    cases=_combine_cases,
    hint="concat=True: put the heads side by side, head 0's F' features first, giving (N, H*F'); "
         "concat=False: the mean over the heads axis, giving (N, F').",
    mistakes={
        "The heads are interleaved feature by feature: reshape the (N, H, F') tensor directly "
        "to (N, H*F'), so head h fills columns h*F' .. (h+1)*F' - 1.": _features_before_heads,
        "You summed the heads: the output layer averages them (divide by H, or use "
        ".mean(dim=1)).": _sum_of_heads,
        "You averaged the features of each head: average over the heads axis (dim=1), keeping "
        "F' features.": _mean_over_features,
    },
))
