"""Checks for chapter 05, Implementation 2: dense with a connectivity mask.

Exercise 5.1 is the masked softmax, 5.2 the whole attention step of implementation 2 in the
authors' TensorFlow layout (one projection matmul, every pair's score by broadcasting, the
additive mask, a softmax per row, a matmul per head), 5.3 the dense (H, N, N) coefficients read
at the edges, in ``edge_index`` order. The references are the library's
:func:`gatkit.functional.masked_softmax`, :func:`~gatkit.functional.masked_attention` (which
:class:`gatkit.layers.GATLayerMasked` calls) and :func:`~gatkit.functional.edge_coefficients`
(which both dense layers call).

Shapes: ``x`` (N, F); ``weight`` (H*F', F), head ``h`` in rows ``h*F' .. (h+1)*F' - 1``;
``a_src``, ``a_dst`` (H, F'); ``mask`` (N, N), 0 on the edges and -inf elsewhere;
``logits`` / ``alpha`` (H, N, N) with ``[h, i, j]`` for the edge ``j -> i``.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

from course.checks.cases import (TOY_A_DST, TOY_A_SRC, TOY_DIRECTED_LOOPED, TOY_EDGE_INDEX, TOY_H,
                                 directed_graph, load_cora, random_graph, seeded_generator, spread_dense_scores)
from course.checks.core import Case, Check, register
from gatkit import edges
from gatkit.functional import (NEGATIVE_SLOPE, connectivity_mask, dense_scores, edge_coefficients,
                               masked_attention, masked_softmax, node_scores)


# --- 5.1 the masked softmax ------------------------------------------------------------------

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


# --- 5.2 the masked attention, all heads at once -------------------------------------------------

def _attention_inputs(edge_index: torch.Tensor, num_nodes: int, in_features: int, heads: int,
                      out_features: int, seed: int) -> tuple:
    generator = seeded_generator(seed)
    x = torch.randn(num_nodes, in_features, generator=generator)  # (N, F)
    weight = torch.randn(heads * out_features, in_features, generator=generator)  # (H*F', F)
    a_src = torch.randn(heads, out_features, generator=generator)  # (H, F')
    a_dst = torch.randn(heads, out_features, generator=generator)  # (H, F')
    return x, weight, a_src, a_dst, connectivity_mask(edge_index, num_nodes)


def _cora_part(num_nodes: int, heads: int, out_features: int, seed: int) -> tuple:
    cora = load_cora()
    edge_index = cora.edge_index_with_self_loops  # (2, E)
    edge_index = edge_index[:, (edge_index < num_nodes).all(dim=0)]  # the edges among the first nodes
    _, weight, a_src, a_dst, mask = _attention_inputs(edge_index, num_nodes, cora.num_features, heads,
                                                      out_features, seed)
    return cora.x[:num_nodes], weight, a_src, a_dst, mask


def _attention_cases() -> list[Case]:
    toy = (TOY_H, torch.eye(2), TOY_A_SRC, TOY_A_DST, connectivity_mask(TOY_EDGE_INDEX, 4))
    return [Case("chapter 03's toy graph: W = I, one head, so out[0] = [0.8808, 0.1192]", toy),
            Case("directed toy graph with every self-loop, F = H*F' = 6 (H=2 heads of F'=3)",
                 _attention_inputs(TOY_DIRECTED_LOOPED, 4, 6, 2, 3, seed=53)),
            Case("random directed graph with self-loops (N=10, F=5, H=3 heads of F'=4)",
                 _attention_inputs(random_graph(10, 25, seed=54), 10, 5, 3, 4, seed=55)),
            Case("Cora's first 500 nodes and the edges among them, self-loops included (F=1433, H=8, F'=8)",
                 _cora_part(500, 8, 8, seed=56))]


def _out_and_alpha(answer, x, weight, a_src, a_dst, mask):
    """Run an answer with its parameters requiring grad, as a layer's do, and name its pair:
    {"out": (N, H, F'), "alpha": (H, N, N), "out keeps its gradient": bool}."""
    parameters = [t.requires_grad_() for t in (weight, a_src, a_dst)]
    result = answer(x, *parameters, mask)
    if not (isinstance(result, (tuple, list)) and len(result) == 2
            and all(isinstance(t, torch.Tensor) for t in result)):
        return result
    out, alpha = result
    return {"out": out.detach(), "alpha": alpha.detach(), "out keeps its gradient": out.requires_grad}


def _slip(x, weight, a_src, a_dst, mask, *, project=None, halves_swapped=False, slope=NEGATIVE_SLOPE,
          masking="add", softmax_dim=-1, into_sources=False):
    """The forward pass with one thing changed: each mistake below sets one keyword."""
    heads, out_features = a_src.shape
    if project is None:
        z = (x @ weight.T).view(x.shape[0], heads, out_features)  # (N, H, F')
    else:
        z = project(x, weight, heads, out_features)  # (N, H, F'), wrongly
    if halves_swapped:
        a_src, a_dst = a_dst, a_src
    scores = dense_scores(node_scores(z, a_src), node_scores(z, a_dst), negative_slope=slope)  # (H, N, N)
    masked = {"add": scores + mask, "multiply": scores * mask, "ignore": scores}[masking]
    alpha = F.softmax(masked, dim=softmax_dim)  # (H, N, N)
    weights = alpha.transpose(1, 2) if into_sources else alpha
    return (weights @ z.transpose(0, 1)).transpose(0, 1), alpha  # (N, H, F'), (H, N, N)


def _heads_interleaved(x, weight, a_src, a_dst, mask):
    def project(x, weight, heads, out_features):
        return (x @ weight.T).view(x.shape[0], out_features, heads).transpose(1, 2)
    return _slip(x, weight, a_src, a_dst, mask, project=project)


def _heads_viewed_first(x, weight, a_src, a_dst, mask):
    def project(x, weight, heads, out_features):
        return (x @ weight.T).view(heads, x.shape[0], out_features).transpose(0, 1)  # rows misread
    return _slip(x, weight, a_src, a_dst, mask, project=project)


def _nodes_as_columns(x, weight, a_src, a_dst, mask):
    def project(x, weight, heads, out_features):
        return (weight @ x.T).view(x.shape[0], heads, out_features)  # (H*F', N) read as (N, H, F')
    return _slip(x, weight, a_src, a_dst, mask, project=project)


def _weight_not_transposed(x, weight, a_src, a_dst, mask):
    def project(x, weight, heads, out_features):
        return (x @ weight).view(x.shape[0], heads, out_features)  # runs only where F = H*F'
    return _slip(x, weight, a_src, a_dst, mask, project=project)


def _halves_swapped(x, weight, a_src, a_dst, mask):
    return _slip(x, weight, a_src, a_dst, mask, halves_swapped=True)


def _no_leaky_relu(x, weight, a_src, a_dst, mask):
    return _slip(x, weight, a_src, a_dst, mask, slope=1.0)


def _default_slope(x, weight, a_src, a_dst, mask):
    return _slip(x, weight, a_src, a_dst, mask, slope=0.01)


def _mask_ignored(x, weight, a_src, a_dst, mask):
    return _slip(x, weight, a_src, a_dst, mask, masking="ignore")


def _mask_times_scores(x, weight, a_src, a_dst, mask):
    return _slip(x, weight, a_src, a_dst, mask, masking="multiply")


def _softmax_over_columns(x, weight, a_src, a_dst, mask):
    return _slip(x, weight, a_src, a_dst, mask, softmax_dim=-2)


def _into_sources(x, weight, a_src, a_dst, mask):
    return _slip(x, weight, a_src, a_dst, mask, into_sources=True)


def _heads_left_in_front(x, weight, a_src, a_dst, mask):
    out, alpha = masked_attention(x, weight, a_src, a_dst, mask)
    return out.transpose(0, 1), alpha  # (H, N, F')


def _heads_concatenated(x, weight, a_src, a_dst, mask):
    out, alpha = masked_attention(x, weight, a_src, a_dst, mask)
    return out.reshape(out.shape[0], -1), alpha  # (N, H*F')


def _out_only(x, weight, a_src, a_dst, mask):
    return masked_attention(x, weight, a_src, a_dst, mask)[0]


def _detached(x, weight, a_src, a_dst, mask):
    with torch.no_grad():
        return masked_attention(x, weight, a_src, a_dst, mask)


register(Check(
    id="5.2",
    title="the masked attention, all heads at once",
    reference=masked_attention,
    cases=_attention_cases,
    run=_out_and_alpha,
    hint="z = (x @ weight.T).view(N, H, F'); f_src = (z * a_src).sum(-1) and f_dst likewise, (N, H); "
         "logits = F.leaky_relu(f_dst.T.unsqueeze(2) + f_src.T.unsqueeze(1), 0.2), (H, N, N); "
         "alpha = masked_softmax(logits, mask); out = (alpha @ z.transpose(0, 1)).transpose(0, 1), "
         "(N, H, F'). Return (out, alpha).",
    mistakes={
        "The heads are mixed up: x @ weight.T is (N, H*F') with head h in the columns "
        "h*F' .. (h+1)*F' - 1, so view it as (N, H, F'), not (N, F', H).": _heads_interleaved,
        "z.view(H, N, F') misreads the (N, H*F') projection: its rows are nodes, so view it as "
        "(N, H, F') and, where the heads must come first, transpose(0, 1) afterwards.": _heads_viewed_first,
        "You projected as weight @ x.T, which is (H*F', N): one COLUMN per node. Viewing it as "
        "(N, H, F') scrambles nodes and features; project with x @ weight.T, one row per node.":
            _nodes_as_columns,
        "You multiplied by weight instead of weight.T: weight is (H*F', F) like linear.weight, one "
        "ROW per output feature, so z = x @ weight.T (it only ran because here F = H*F').":
            _weight_not_transposed,
        "a_src and a_dst are swapped: a_dst scores the target i (the rows of the logits), a_src "
        "the source j (the columns): logits[h, i, j] = LeakyReLU(a_dst[h]·z_i + a_src[h]·z_j).":
            _halves_swapped,
        "The LeakyReLU is missing: the score is LeakyReLU(a_dst·z_i + a_src·z_j), slope 0.2. "
        "Without it the target's half cancels in the softmax (chapter 03).": _no_leaky_relu,
        "Negative scores are scaled by 0.01, PyTorch's default: GAT's slope is 0.2, "
        "F.leaky_relu(..., negative_slope=0.2).": _default_slope,
        "Every node attends to every other node: the mask never reached the softmax. Add it to "
        "the logits first, masked_softmax(logits, mask) from exercise 5.1.": _mask_ignored,
        "The mask is additive: logits + mask, not logits * mask (0 * logit erases the edges' "
        "scores and -inf * logit gives +-inf or nan).": _mask_times_scores,
        "The softmax ran over the targets (dim=-2): row i of the logits holds target i's sources, "
        "so normalise over the last axis, dim=-1.": _softmax_over_columns,
        "You aggregated with alpha transposed: row i of alpha holds target i's weights over its "
        "sources j, so out_i = sum_j alpha[h, i, j] z_j is alpha @ z, per head.": _into_sources,
        "out has the heads in front, (H, N, F'): the matmul gives (H, N, F'), so transpose(0, 1) "
        "it to (N, H, F').": _heads_left_in_front,
        "Return every head's output separately, (N, H, F'): the layer concatenates or averages the "
        "heads afterwards (chapter 03's combine_heads).": _heads_concatenated,
        "Return the pair (out, alpha): the layer reports alpha, and the chapter reads it per edge "
        "in exercise 5.3.": _out_only,
        "Your out is cut off from autograd (torch.no_grad(), .detach() or a NumPy round trip): a "
        "layer built on it would get no gradients for W, a_src and a_dst.": _detached,
    },
))


# --- 5.3 the coefficients per edge ---------------------------------------------------------------

def _named_entries(heads: int, num_nodes: int) -> torch.Tensor:
    """(H, N, N) float32 with entry [h, i, j] = 100 h + 10 i + j: each value says where it was read."""
    h, i, j = torch.meshgrid(torch.arange(heads), torch.arange(num_nodes), torch.arange(num_nodes), indexing="ij")
    return (100 * h + 10 * i + j).float()


def _coefficient_cases() -> list[Case]:
    attention_graph = random_graph(10, 25, seed=57)
    attention = masked_softmax(2 * torch.randn(3, 10, 10, generator=seeded_generator(58)),
                               connectivity_mask(attention_graph, 10))  # (H, N, N)
    quirky, num_nodes = directed_graph(10, 24, seed=59, loops=(0, 3), isolated=1)
    values = torch.rand(4, num_nodes, num_nodes, generator=seeded_generator(60))  # (H, N, N)
    return [Case("directed toy graph with every self-loop, H=2; entry [h, i, j] holds 100h + 10i + j, "
                 "so each value says where it was read", (_named_entries(2, 4), TOY_DIRECTED_LOOPED)),
            Case("attention on a random directed graph (N=10, 35 edges with self-loops, columns shuffled, H=3)",
                 (attention, attention_graph)),
            Case("random values (H=4) on a directed graph of 11 nodes: self-loops on nodes 0 and 3 only, "
                 "node 10 isolated, columns shuffled", (values, quirky))]


def _source_and_target_swapped(alpha_dense, edge_index):
    return alpha_dense[:, edge_index[0], edge_index[1]].T


def _heads_first(alpha_dense, edge_index):
    return alpha_dense[:, edge_index[1], edge_index[0]]  # (H, E)


def _reshaped(alpha_dense, edge_index):
    return alpha_dense[:, edge_index[1], edge_index[0]].reshape(edge_index.shape[1], -1)


def _every_pair(alpha_dense, edge_index):
    return alpha_dense[:, edge_index[1]][:, :, edge_index[0]]  # (H, E, E)


def _sorted_by_target(alpha_dense, edge_index):
    adj = edges.to_dense_adjacency(edge_index, alpha_dense.shape[1]).bool()  # (N, N)
    return alpha_dense.permute(1, 2, 0)[adj]  # (E, H), row-major order of (i, j)


register(Check(
    id="5.3",
    title="the coefficients per edge",
    reference=edge_coefficients,
    cases=_coefficient_cases,
    hint="Index the two node axes with one tensor each, in one bracket, so they pair up: "
         "alpha_dense[:, edge_index[1], edge_index[0]] is (H, E), [h, k] = alpha_dense[h, i_k, j_k]; "
         "then .T for (E, H).",
    mistakes={
        "You read alpha_dense[h, j, i]: row i is the TARGET (edge_index[1]) and column j the SOURCE "
        "(edge_index[0]), so index alpha_dense[:, edge_index[1], edge_index[0]].": _source_and_target_swapped,
        "The result is (H, E): the heads' slice stays in front of the indexed axes. Transpose it "
        "with .T to get one row per edge, (E, H).": _heads_first,
        "reshape(E, H) refills the (H, E) values row by row, which scrambles edges and heads; "
        "swap the two axes with .T (or .transpose(0, 1)) instead.": _reshaped,
        "Indexing one axis and then the other takes every pair of a target and a source, (H, E, E). "
        "Index both node axes in ONE bracket, alpha_dense[:, targets, sources], so the k-th target "
        "meets the k-th source.": _every_pair,
        "Your rows come in sorted (target, source) order, as a boolean mask or nonzero() returns "
        "them; the check's edges are shuffled. Row k must belong to column k of edge_index: index "
        "with edge_index itself.": _sorted_by_target,
    },
))
