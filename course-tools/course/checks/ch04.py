"""Checks for chapter 04, Implementation 1: dense, per head.

Shapes: ``x`` (N, F); ``weight`` (H*F', F) as ``linear.weight`` of :class:`gatkit.layers.GATLayer`
(head ``h`` uses rows ``h*F' .. (h+1)*F' - 1``); ``z`` (H, N, F'); ``a_src``, ``a_dst`` (H, F');
``scores`` and ``alpha`` (H, N, N) with entry ``[h, i, j]`` for the edge ``j -> i``;
``adj`` (N, N) with ``adj[i, j] = 1`` iff ``j -> i``.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

from course.checks.cases import (TOY_A_DST, TOY_A_SRC, TOY_EDGE_INDEX, TOY_H, after_dropout, random_graph,
                                 seeded_generator, spread_dense_scores)
from course.checks.core import Case, Check, register
from gatkit import edges
from gatkit.functional import combine_heads, dense_scores, dense_softmax, node_scores, project_heads


# --- references: the library's functions, in this exercise's layout -------------------------------

def dense_scores_of_heads(z: torch.Tensor, a_src: torch.Tensor, a_dst: torch.Tensor) -> torch.Tensor:
    """``scores`` (H, N, N): ``scores[h, i, j] = LeakyReLU(a_dst[h]·z[h, i] + a_src[h]·z[h, j])``."""
    s_src = node_scores(z, a_src.unsqueeze(1)).transpose(0, 1)  # (N, H)
    s_dst = node_scores(z, a_dst.unsqueeze(1)).transpose(0, 1)  # (N, H)
    return dense_scores(s_src, s_dst)  # (H, N, N)


def aggregate_heads(alpha: torch.Tensor, z: torch.Tensor, concat: bool) -> torch.Tensor:
    """``alpha @ z`` per head, then (N, H*F') with the heads side by side, or (N, F') averaged."""
    return combine_heads(torch.bmm(alpha, z).transpose(0, 1), concat)  # (N, H*F') or (N, F')


# --- cases -----------------------------------------------------------------------------------

def _toy_weight(heads: int) -> torch.Tensor:
    return torch.eye(2).repeat(heads, 1)  # (H*F', F): W = I for every head


def _projection_cases() -> list[Case]:
    generator = seeded_generator(40)
    return [
        Case("toy graph, W = I for 2 heads", (TOY_H, _toy_weight(2), 2)),
        Case("6 nodes, F = 5, 3 heads of F' = 4",
             (torch.randn(6, 5, generator=generator), torch.randn(12, 5, generator=generator), 3)),
        Case("9 nodes, F = 7, 2 heads of F' = 3",
             (torch.randn(9, 7, generator=generator), torch.randn(6, 7, generator=generator), 2)),
    ]


def _score_cases() -> list[Case]:
    generator = seeded_generator(41)
    return [
        Case("toy graph, 1 head", (TOY_H[None], TOY_A_SRC, TOY_A_DST)),
        Case("7 nodes, 3 heads of F' = 4", (torch.randn(3, 7, 4, generator=generator),
                                              torch.randn(3, 4, generator=generator),
                                              torch.randn(3, 4, generator=generator))),
        Case("5 nodes, 2 heads of F' = 6", (torch.randn(2, 5, 6, generator=generator),
                                             torch.randn(2, 6, generator=generator),
                                             torch.randn(2, 6, generator=generator))),
    ]


def _random_dense(seed: int, num_nodes: int, num_edges: int, heads: int, *, scale: float = 2.0):
    adj = edges.to_dense_adjacency(random_graph(num_nodes, num_edges, seed), num_nodes)  # (N, N)
    generator = seeded_generator(seed + 1000)
    scores = scale * torch.randn(heads, num_nodes, num_nodes, generator=generator)  # (H, N, N)
    return scores, adj


def _toy_scores() -> torch.Tensor:
    return dense_scores_of_heads(TOY_H[None], TOY_A_SRC, TOY_A_DST)  # (1, 4, 4)


def _far_apart_scores() -> tuple[torch.Tensor, torch.Tensor]:
    scores, adj = _random_dense(43, 8, 20, 2)
    scores[:, 3] += 120.0  # row 3 sits far above the rest: exp(120) overflows float32
    return scores, adj


def _softmax_cases() -> list[Case]:
    toy_adj = edges.to_dense_adjacency(TOY_EDGE_INDEX, 4)
    return [
        Case("toy graph, 1 head (undirected)", (_toy_scores(), toy_adj)),
        Case("random directed graph (10 nodes, 3 heads)", _random_dense(42, 10, 30, 3)),
        Case("random directed graph (8 nodes, 2 heads), row 3's scores 120 above the rest",
             _far_apart_scores()),
        Case("random directed graph (12 nodes, 2 heads), rows far apart (+120, -120, and +-100 "
             "inside one), every non-neighbour 150 above its row's neighbours", _spread_dense(46, 12, 30)),
    ]


def _spread_dense(seed: int, num_nodes: int, num_edges: int) -> tuple[torch.Tensor, torch.Tensor]:
    adj = edges.to_dense_adjacency(random_graph(num_nodes, num_edges, seed), num_nodes)  # (N, N)
    return spread_dense_scores(adj, 2, seed + 1000), adj


def _aggregate_inputs(seed: int, num_nodes: int, num_edges: int, heads: int, features: int):
    adj = edges.to_dense_adjacency(random_graph(num_nodes, num_edges, seed), num_nodes)  # (N, N)
    generator = seeded_generator(seed + 1000)
    z = torch.randn(heads, num_nodes, features, generator=generator)  # (H, N, F')
    a_src, a_dst = torch.randn(2, heads, features, generator=generator)  # (H, F') each
    return dense_softmax(dense_scores_of_heads(z, a_src, a_dst), adj), z


def _aggregate_cases() -> list[Case]:
    dropped, z_dropped = _aggregate_inputs(47, 9, 25, 3, 4)
    toy_z = TOY_H[None].repeat(2, 1, 1)  # (H=2, N, F')
    toy_alpha = dense_softmax(dense_scores_of_heads(toy_z, torch.tensor([[1.0, -1.0], [0.5, 2.0]]),
                                           torch.tensor([[1.0, 1.0], [-1.0, 0.5]])),
                              edges.to_dense_adjacency(TOY_EDGE_INDEX, 4))  # (2, 4, 4)
    return [
        Case("toy graph, 2 heads, concat=True", (toy_alpha, toy_z, True)),
        Case("random directed graph (9 nodes, 3 heads of 4), concat=True",
             (*_aggregate_inputs(44, 9, 25, 3, 4), True)),
        Case("random directed graph (9 nodes, 3 heads of 4), concat=False",
             (*_aggregate_inputs(45, 9, 25, 3, 4), False)),
        Case("toy graph, 2 heads, concat=False", (toy_alpha, toy_z, False)),
        Case("random directed graph (9 nodes, 3 heads of 4), alpha after dropout (rows no longer "
             "sum to 1), concat=True", (after_dropout(dropped, 0.4, seed=48), z_dropped, True)),
    ]


# --- known mistakes ---------------------------------------------------------------------------

def _heads_interleaved(x, weight, heads):
    num_nodes, in_features = x.shape
    weight = weight.view(-1, heads, in_features).transpose(0, 1)  # head h = rows h, h + H, ...
    return torch.bmm(x.expand(heads, num_nodes, in_features), weight.transpose(1, 2))


def _weight_viewed_as_f_by_f_out(x, weight, heads):
    num_nodes, in_features = x.shape
    return torch.bmm(x.expand(heads, num_nodes, in_features), weight.reshape(heads, in_features, -1))


def _rows_and_columns_swapped(z, a_src, a_dst):
    return dense_scores_of_heads(z, a_dst, a_src)  # = the transpose of the right matrix in the last two axes


def _no_leaky_relu(z, a_src, a_dst):
    s_dst = (z * a_dst[:, None, :]).sum(dim=-1)
    s_src = (z * a_src[:, None, :]).sum(dim=-1)
    return s_dst[:, :, None] + s_src[:, None, :]


def _default_slope(z, a_src, a_dst):
    return F.leaky_relu(_no_leaky_relu(z, a_src, a_dst))  # PyTorch's default slope 0.01


def _over_columns(scores, adj):
    col_max = scores.masked_fill(adj == 0, float("-inf")).amax(dim=1, keepdim=True)
    exp = torch.exp((scores - col_max).clamp(max=0.0)) * adj
    return exp / exp.sum(dim=1, keepdim=True)


def _adjacency_transposed(scores, adj):
    return dense_softmax(scores, adj.T)


def _non_neighbours_kept(scores, adj):
    return torch.softmax(scores, dim=-1)


def _zeroed_after_softmax(scores, adj):
    return torch.softmax(scores, dim=-1) * adj


def _global_max(scores, adj):
    exp = torch.exp(scores - scores.max()) * adj
    return exp / exp.sum(dim=-1, keepdim=True)


def _no_max(scores, adj):
    exp = torch.exp(scores) * adj
    return exp / exp.sum(dim=-1, keepdim=True)


def _whole_row_max(scores, adj):
    exp = torch.exp(scores - scores.amax(dim=-1, keepdim=True)) * adj
    return exp / exp.sum(dim=-1, keepdim=True)


def _renormalised(alpha, z, concat):
    return aggregate_heads(alpha / alpha.sum(dim=-1, keepdim=True).clamp(min=1e-12), z, concat)


def _into_sources(alpha, z, concat):
    return aggregate_heads(alpha.transpose(1, 2), z, concat)


def _nodes_and_heads_mixed(alpha, z, concat):
    out = torch.bmm(alpha, z)  # (H, N, F')
    return out.reshape(out.shape[1], -1) if concat else out.mean(dim=0)


def _sum_of_heads(alpha, z, concat):
    out = torch.bmm(alpha, z)
    return out.transpose(0, 1).reshape(out.shape[1], -1) if concat else out.sum(dim=0)


def _mean_over_nodes(alpha, z, concat):
    out = torch.bmm(alpha, z)
    return out.transpose(0, 1).reshape(out.shape[1], -1) if concat else out.mean(dim=1)


register(Check(
    id="4.1",
    title="all heads' projections in one batched matmul",
    reference=project_heads,
    cases=_projection_cases,
    hint="View the (H*F', F) weight as (H, F', F) (head h = rows h*F' .. (h+1)*F' - 1), expand x "
         "to (H, N, F) and call torch.bmm(x_expanded, weight_view.transpose(1, 2)): (H, N, F').",
    mistakes={
        "The heads got interleaved rows of the weight: head h owns the F' consecutive rows "
        "h*F' .. (h+1)*F' - 1, so view the weight as (H, F', F), not (F', H, F).": _heads_interleaved,
        "The weight was reshaped to (H, F, F'), which scrambles it: view it as (H, F', F) and "
        "transpose the last two axes with .transpose(1, 2).": _weight_viewed_as_f_by_f_out,
    },
))

register(Check(
    id="4.2",
    title="the (H, N, N) score matrix",
    reference=dense_scores_of_heads,
    cases=_score_cases,
    hint="s_dst = (z * a_dst[:, None, :]).sum(-1) and s_src likewise, both (H, N); then "
         "scores = LeakyReLU(s_dst[:, :, None] + s_src[:, None, :]) with slope 0.2, so row i "
         "(target) and column j (source) hold the score of j -> i.",
    mistakes={
        "Your matrix is transposed: row i must be the target and column j the source, so "
        "s_dst goes down the rows (s_dst[:, :, None]) and s_src along the columns "
        "(s_src[:, None, :]). Check also that a_dst meets the target.": _rows_and_columns_swapped,
        "The LeakyReLU is missing: apply F.leaky_relu(..., negative_slope=0.2) to the sum.": _no_leaky_relu,
        "Negative scores are scaled by 0.01, PyTorch's default: GAT's slope is 0.2, "
        "F.leaky_relu(..., negative_slope=0.2).": _default_slope,
    },
))

register(Check(
    id="4.3",
    title="the softmax over each row's neighbours",
    reference=dense_softmax,
    cases=_softmax_cases,
    hint="Per row i: subtract the max of the scores over i's neighbours (adj[i, j] == 1), "
         "exponentiate, multiply by adj, divide by the row's sum (dim=-1, keepdim=True).",
    mistakes={
        "You normalised the columns (dim=1): row i holds i's incoming edges, so the max and the "
        "sum run over the last axis, dim=-1.": _over_columns,
        "The adjacency is transposed: adj[i, j] = 1 means j -> i, and row i of scores belongs "
        "to target i, so multiply by adj itself, not adj.T.": _adjacency_transposed,
        "Non-neighbours still get attention: multiply the exponentials by adj (or mask them) "
        "*before* summing each row.": _non_neighbours_kept,
        "You zeroed the non-neighbours after the softmax, so the rows no longer sum to 1: "
        "zero them before normalising (exp * adj, then divide by the row sum).": _zeroed_after_softmax,
        "Rows became nan where a non-neighbour scores far above the neighbours (150 here). Either "
        "your max ran over the whole row, so the neighbours all fell to exp(-150) = 0 and 0 / 0 = "
        "nan, or exp overflowed on that non-neighbour, and inf * 0 = nan. Take the max over the "
        "neighbours only (masked_fill(adj == 0, float('-inf')) before amax) and .clamp(max=0) "
        "the shifted scores before exp.": _whole_row_max,
        "You subtracted one max over all entries: a row whose scores all lie far below that max "
        "underflows to 0 / 0. Take the max per row, over the row's neighbours "
        "(masked_fill(adj == 0, -inf).amax(dim=-1, keepdim=True)).": _global_max,
        "exp overflows on large scores (exp(120) = inf in float32, and inf / inf = nan): subtract "
        "each row's max over its neighbours before exponentiating.": _no_max,
    },
))

register(Check(
    id="4.4",
    title="aggregation and heads",
    reference=aggregate_heads,
    cases=_aggregate_cases,
    hint="out = torch.bmm(alpha, z) is (H, N, F'); concat: out.transpose(0, 1).reshape(N, H*F'); "
         "otherwise out.mean(dim=0).",
    mistakes={
        "You aggregated into the sources: row i of alpha holds the weights of i's incoming "
        "edges, so torch.bmm(alpha, z), not alpha.transpose(1, 2).": _into_sources,
        "Reshaping (H, N, F') straight to (N, H*F') mixes nodes and heads: move the node axis "
        "first, out.transpose(0, 1).reshape(N, -1).": _nodes_and_heads_mixed,
        "You summed the heads: concat=False averages them, out.mean(dim=0).": _sum_of_heads,
        "You averaged over the nodes: with concat=False average over the heads axis, dim=0 of "
        "(H, N, F').": _mean_over_nodes,
        "You renormalised the rows of alpha: use the weights as given. After attention dropout a "
        "row no longer sums to 1, and the aggregation is the plain product alpha @ z.": _renormalised,
    },
))
