"""Checks for chapter 05, Implementation 2: dense with a connectivity mask.

The references are the library's :func:`gatkit.functional.connectivity_mask` and
:func:`gatkit.functional.masked_softmax`, which implementation 2 is built from.
"""

from __future__ import annotations


import torch
import torch.nn.functional as F

from course.checks.cases import (TOY_DIRECTED, TOY_DIRECTED_LOOPED, directed_graph, load_cora, random_graph,
                                 seeded_generator, spread_dense_scores)
from course.checks.core import Case, Check, register
from gatkit import edges
from gatkit.functional import NEGATIVE_SLOPE, connectivity_mask, dense_scores, masked_softmax, node_scores


def attention_logits(z: torch.Tensor, a_src: torch.Tensor, a_dst: torch.Tensor) -> torch.Tensor:
    """``logits[h, i, j] = LeakyReLU(a_dst[h]·z_i^h + a_src[h]·z_j^h)`` for every pair, shape (H, N, N).

    ``z`` is (N, H*F'), all heads from one matmul as in the TensorFlow layout; the scores come
    from the library's :func:`~gatkit.functional.node_scores` and :func:`~gatkit.functional.dense_scores`.
    """
    z_heads = z.view(z.shape[0], *a_src.shape)  # (N, H, F')
    return dense_scores(node_scores(z_heads, a_src), node_scores(z_heads, a_dst))  # (H, N, N)


# --- cases --------------------------------------------------------------------------------

def _logit_inputs(num_nodes: int, heads: int, out_features: int, seed: int) -> tuple:
    generator = seeded_generator(seed)
    z = torch.randn(num_nodes, heads * out_features, generator=generator)  # (N, H*F')
    a_src = torch.randn(heads, out_features, generator=generator)  # (H, F')
    a_dst = torch.randn(heads, out_features, generator=generator)  # (H, F')
    return z, a_src, a_dst


def _logit_cases() -> list[Case]:
    return [Case("toy graph (N=4, H=2 heads, F'=3)", _logit_inputs(4, 2, 3, seed=0)),
            Case("random (N=9, H=3 heads, F'=2)", _logit_inputs(9, 3, 2, seed=1))]


def _mask_cases() -> list[Case]:
    cora = load_cora()
    return [Case("directed toy graph (4 nodes, node 3 has no self-loop and no incoming edge)",
                 (TOY_DIRECTED, 4)),
            Case("random directed graph (12 nodes, 30 edges, no self-loops)",
                 (random_graph(12, 30, seed=2, self_loops=False), 12)),
            Case("directed graph (11 nodes: one edge listed twice, self-loops on nodes 0 and 3 only, "
                 "node 10 isolated)", directed_graph(10, 24, seed=51, loops=(0, 3), repeated=1, isolated=1)),
            Case("Cora with self-loops", (cora.edge_index_with_self_loops, cora.num_nodes))]


def _softmax_inputs(edge_index: torch.Tensor, num_nodes: int, heads: int, seed: int, scale: float = 2.0) -> tuple:
    logits = scale * torch.randn(heads, num_nodes, num_nodes, generator=seeded_generator(seed))  # (H, N, N)
    return logits, connectivity_mask(edge_index, num_nodes)


def _spread_inputs(seed: int, num_nodes: int, num_edges: int) -> tuple:
    edge_index = random_graph(num_nodes, num_edges, seed)
    adj = edges.to_dense_adjacency(edge_index, num_nodes)  # (N, N)
    return spread_dense_scores(adj, 2, seed + 1000), connectivity_mask(edge_index, num_nodes)


def _softmax_cases() -> list[Case]:
    cora = load_cora()
    return [Case("toy graph with self-loops (N=4, H=2)", _softmax_inputs(TOY_DIRECTED_LOOPED, 4, 2, seed=3)),
            Case("random directed graph with self-loops (N=10, H=3)",
                 _softmax_inputs(random_graph(10, 25, seed=4), 10, 3, seed=5)),
            Case("random directed graph with self-loops (N=12, H=2), rows far apart (+120, -120, and "
                 "+-100 inside one), every non-neighbour 150 above its row's neighbours", _spread_inputs(52, 12, 30)),
            Case("Cora with self-loops (H=1)",
                 _softmax_inputs(cora.edge_index_with_self_loops, cora.num_nodes, 1, seed=6))]


# --- known mistakes, each fed to its check by the tests --------------------------------------

def _swapped_halves(z, a_src, a_dst):
    return attention_logits(z, a_dst, a_src)  # a_src scores the target: the transpose of the right answer


def _no_leaky_relu(z, a_src, a_dst):
    heads, out_features = a_src.shape
    z_heads = z.view(z.shape[0], heads, out_features)
    f_src, f_dst = (z_heads * a_src).sum(-1), (z_heads * a_dst).sum(-1)
    return f_dst.T.unsqueeze(2) + f_src.T.unsqueeze(1)


def _default_slope(z, a_src, a_dst):
    return F.leaky_relu(_no_leaky_relu(z, a_src, a_dst))  # F.leaky_relu's default slope is 0.01


def _leaky_relu_on_each_half(z, a_src, a_dst):
    heads, out_features = a_src.shape
    z_heads = z.view(z.shape[0], heads, out_features)
    f_src = F.leaky_relu((z_heads * a_src).sum(-1), NEGATIVE_SLOPE)
    f_dst = F.leaky_relu((z_heads * a_dst).sum(-1), NEGATIVE_SLOPE)
    return f_dst.T.unsqueeze(2) + f_src.T.unsqueeze(1)


def _heads_interleaved(z, a_src, a_dst):
    heads, out_features = a_src.shape
    z_heads = z.view(z.shape[0], out_features, heads).transpose(1, 2)  # wrong: features are head-major
    return attention_logits(z_heads.reshape(z.shape[0], -1), a_src, a_dst)


def _transposed_mask(edge_index, num_nodes):
    return connectivity_mask(edge_index, num_nodes).T


def _zero_one_adjacency(edge_index, num_nodes):
    return edges.to_dense_adjacency(edge_index, num_nodes)


def _one_off_edges(edge_index, num_nodes):
    return 1.0 - edges.to_dense_adjacency(edge_index, num_nodes)


def _minus_1e9(edge_index, num_nodes):
    return -1e9 * (1.0 - edges.to_dense_adjacency(edge_index, num_nodes))


def _times_minus_inf(edge_index, num_nodes):
    return float("-inf") * (1.0 - edges.to_dense_adjacency(edge_index, num_nodes))  # 0 * -inf = nan


def _adds_self_loops(edge_index, num_nodes):
    mask = connectivity_mask(edge_index, num_nodes)
    mask.fill_diagonal_(0.0)
    return mask


def _shift_by_whole_row_max(logits, mask):
    p = torch.exp(logits - logits.amax(dim=-1, keepdim=True)) * (mask == 0)
    return p / p.sum(dim=-1, keepdim=True)


def _softmax_over_targets(logits, mask):
    return F.softmax(logits + mask, dim=-2)


def _softmax_over_heads(logits, mask):
    return F.softmax(logits + mask, dim=0)


def _mask_after_softmax(logits, mask):
    return F.softmax(logits, dim=-1).masked_fill(mask == float("-inf"), 0.0)


def _mask_multiplied(logits, mask):
    return F.softmax(logits * mask, dim=-1)


register(Check(
    id="5.1",
    title="the attention logits",
    reference=attention_logits,
    cases=_logit_cases,
    hint="View z as (N, H, F'), score every node with each half of a (f_dst with a_dst, f_src with "
         "a_src, both (N, H)), then broadcast: logits[h, i, j] = f_dst[i, h] + f_src[j, h], built as "
         "(H, N, 1) + (H, 1, N); finish with F.leaky_relu(..., negative_slope=0.2).",
    mistakes={
        "Your logits are transposed: row i must be the TARGET, scored with a_dst, and column j the "
        "SOURCE, scored with a_src. Build f_dst.T.unsqueeze(2) + f_src.T.unsqueeze(1) "
        "(swapping a_src and a_dst gives the same wrong result).": _swapped_halves,
        "The LeakyReLU is missing: the GAT score is LeakyReLU(a^T [W h_i || W h_j]), slope 0.2.": _no_leaky_relu,
        "LeakyReLU has the wrong slope: F.leaky_relu defaults to 0.01, GAT uses "
        "negative_slope=0.2.": _default_slope,
        "LeakyReLU must act on the SUM f_dst + f_src, not on each half separately: it is not "
        "linear, so LeakyReLU(u) + LeakyReLU(v) differs from LeakyReLU(u + v).": _leaky_relu_on_each_half,
        "The heads are mixed up: z's columns are head-major (head h owns columns h*F' .. "
        "(h+1)*F' - 1), so view it as (N, H, F'), not (N, F', H).": _heads_interleaved,
    },
))

register(Check(
    id="5.2",
    title="the connectivity mask",
    reference=connectivity_mask,
    cases=_mask_cases,
    hint="Start from torch.full((N, N), float('-inf')) and set mask[target, source] = 0 for every "
         "column (source, target) of edge_index. Add nothing else: self-loops are the caller's job.",
    mistakes={
        "Your mask is transposed: row i is the target, so zero the entries "
        "mask[edge_index[1], edge_index[0]]. On an undirected graph both agree; on a directed one "
        "they do not.": _transposed_mask,
        "This is the 0/1 adjacency matrix, not an additive mask: the mask is ADDED to the logits "
        "before the softmax, so edges need 0 (no change) and non-edges -inf (exp(-inf) = 0).":
            _zero_one_adjacency,
        "Non-edges hold 1 instead of -inf: adding 1 to a logit barely changes its weight. Put "
        "float('-inf') where there is no edge, so exp(-inf) = 0 removes it.": _one_off_edges,
        "You used -1e9 (the TensorFlow code's value) instead of -inf. It gives the same attention "
        "wherever a row has a neighbour, but a row with no neighbour silently becomes uniform "
        "attention over ALL nodes; with -inf it becomes NaN, which you notice. Use float('-inf').":
            _minus_1e9,
        "Your mask holds NaN on the edges: (1 - adj) * -inf computes 0 * -inf = nan there. Build "
        "it with torch.full(..., float('-inf')) and then set the edges to 0 (or torch.where).":
            _times_minus_inf,
        "You added self-loops that edge_index does not have (node 3 of the toy graph has none). "
        "The mask must reflect edge_index exactly; adding self-loops is the caller's job.": _adds_self_loops,
    },
))

register(Check(
    id="5.3",
    title="the masked softmax",
    reference=masked_softmax,
    cases=_softmax_cases,
    hint="Add the mask to the logits (it broadcasts from (N, N) to (H, N, N)) and take "
         "F.softmax(..., dim=-1): each row i is normalised over its sources j.",
    mistakes={
        "The softmax runs over the wrong axis: dim=-2 normalises each COLUMN (over targets). Row i "
        "holds the sources j of target i, so use dim=-1.": _softmax_over_targets,
        "The softmax runs over the heads (dim=0): every head normalises on its own, over the "
        "sources j of each target i, which is dim=-1.": _softmax_over_heads,
        "The mask must be applied BEFORE the softmax: zeroing non-neighbours afterwards leaves "
        "rows that no longer sum to 1, because the softmax normalised over all N nodes.":
            _mask_after_softmax,
        "The mask is additive: logits + mask, not logits * mask (0 * logit erases the edges' "
        "scores and -inf * logit gives +-inf or nan).": _mask_multiplied,
        "Rows became nan where a non-neighbour scores far above the neighbours (150 here): the "
        "max you subtracted ran over the raw logits, so the neighbours fell to exp(-150) = 0 and "
        "0 / 0 = nan. Add the mask FIRST, then let F.softmax(logits + mask, dim=-1) take the max "
        "over what is left.": _shift_by_whole_row_max,
    },
))
