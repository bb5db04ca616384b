"""Checks for chapter 08, Seeing attention.

Exercise 8.1 gathers the attention one node gives its incoming neighbours, 8.2 computes the
entropy of every node's attention distribution per head, 8.3 the entropy of uniform attention,
``ln(in-degree)``; their references are :func:`gatkit.attention.node_attention`,
:func:`~gatkit.attention.attention_entropy` and :func:`~gatkit.attention.uniform_entropy`. Every
case gives each node a self-loop, as a GAT does, so every node has at least one incoming edge.
The random graphs list their edges in shuffled order, so an answer that assumes edges sorted by
target (a contiguous block, ``unique_consecutive``, ``searchsorted``) fails; 8.1 also sees
attention after dropout, whose weights do not sum to 1, so it must return them as they are.

The toy graph is directed (in- and out-degrees differ, so gathering or counting by source gives
a different answer), has a head whose attention includes exact zeros (so ``0 ln 0`` must be 0),
and has numbers that can be checked by hand.
"""

from __future__ import annotations

import math

import torch

from course.checks.cases import after_dropout, load_cora, random_attention, random_graph
from course.checks.core import Case, Check, register
from gatkit import attention

# Toy: 4 nodes, 10 edges (self-loops included), sorted by target then source:
#   node 0 <- 0, 1, 2, 3    node 1 <- 1, 2    node 2 <- 0, 2, 3    node 3 <- 3
# in-degrees 4, 2, 3, 1; out-degrees 2, 2, 3, 3.
TOY_EDGE_INDEX = torch.tensor([[0, 1, 2, 3, 1, 2, 0, 2, 3, 3],
                               [0, 0, 0, 0, 1, 1, 2, 2, 2, 3]])  # (2, E=10)
# Two heads. Head 0: node 0 uniform (entropy ln 4), node 1 one-hot on its self-loop (0, with a
# 0 ln 0 term), node 2 [1/2, 1/4, 1/4] (1.5 ln 2), node 3 its self-loop only (0). Head 1: node 0
# [1/2, 1/2, 0, 0] (ln 2), node 1 uniform (ln 2), node 2 uniform (ln 3), node 3 (0).
TOY_ALPHA = torch.tensor([[0.25, 0.5], [0.25, 0.5], [0.25, 0.0], [0.25, 0.0],
                          [1.0, 0.5], [0.0, 0.5],
                          [0.5, 1 / 3], [0.25, 1 / 3], [0.25, 1 / 3],
                          [1.0, 1.0]])  # (E, H=2)
TOY_NUM_NODES = 4
TOY_ENTROPY = torch.tensor([[math.log(4), math.log(2)],
                            [0.0, math.log(2)],
                            [1.5 * math.log(2), math.log(3)],
                            [0.0, 0.0]])  # (N, H), by hand


def _cora_with_attention(heads: int, seed: int) -> tuple[torch.Tensor, torch.Tensor, int]:
    cora = load_cora()
    edge_index = cora.edge_index_with_self_loops  # (2, E)
    return edge_index, random_attention(edge_index, cora.num_nodes, heads, seed), cora.num_nodes


# --- 8.1 one node's attention ------------------------------------------------------------------

def incoming_attention(edge_index: torch.Tensor, alpha: torch.Tensor, node: int) -> torch.Tensor:
    """The rows of ``alpha`` (E, H) of the edges whose target is ``node``, in column order: (k, H)."""
    return attention.node_attention(edge_index, alpha, node)[1]  # (k, H); [0] are the sources


def _gathered_by_source(edge_index, alpha, node):
    return alpha[edge_index[0] == node]


def _self_loop_dropped(edge_index, alpha, node):
    return alpha[(edge_index[1] == node) & (edge_index[0] != node)]


def _both_directions(edge_index, alpha, node):
    return alpha[(edge_index[0] == node) | (edge_index[1] == node)]


def _row_of_node(edge_index, alpha, node):
    return alpha[node]


def _transposed(edge_index, alpha, node):
    return alpha[edge_index[1] == node].T


def _contiguous_block(edge_index, alpha, node):
    start = int((edge_index[1] < node).sum())  # where the node's block would start if sorted by target
    return alpha[start:start + int((edge_index[1] == node).sum())]


def _incoming_cases() -> list[Case]:
    edge_index = random_graph(30, 120, seed=80)
    alpha = random_attention(edge_index, 30, 3, seed=81)
    hub = int(torch.bincount(edge_index[1]).argmax())
    cora_edges, cora_alpha, _ = _cora_with_attention(8, seed=82)
    return [Case("toy: node 2, whose incoming edges come from 0, 2, 3", (TOY_EDGE_INDEX, TOY_ALPHA, 2)),
            Case("toy: node 3, whose only incoming edge is its self-loop", (TOY_EDGE_INDEX, TOY_ALPHA, 3)),
            Case(f"random directed graph (30 nodes, 3 heads), node {hub}", (edge_index, alpha, hub)),
            Case("Cora with random attention (8 heads), node 1358 (168 neighbours)",
                 (cora_edges, cora_alpha, 1358)),
            Case(f"random directed graph, attention after dropout p = 0.6 (weights 0 or scaled by 2.5, "
                 f"not summing to 1), node {hub}", (edge_index, after_dropout(alpha, 0.6, seed=87), hub))]


register(Check(
    id="8.1",
    title="one node's attention",
    reference=incoming_attention,
    cases=_incoming_cases,
    hint="Node i's attention sits on the edges INTO i: the columns with edge_index[1] == node. A "
         "boolean mask over the E columns selects those rows of alpha, alpha[mask], shape (k, H), "
         "in column order.",
    mistakes={
        "You gathered the edges whose SOURCE is the node (row 0): those are the weights other nodes "
        "give to it. The node's own attention is on its incoming edges, edge_index[1] == node.":
            _gathered_by_source,
        "The self-loop is missing: GAT attends over the node itself too, and its weight is part of "
        "the distribution (the k weights sum to 1 only with it). Keep every column with "
        "edge_index[1] == node.": _self_loop_dropped,
        "You kept the edges in both directions: only the edges INTO the node (edge_index[1] == node) "
        "carry its attention.": _both_directions,
        "alpha[node] is the row of edge number `node`, not of the node: alpha has one row per EDGE. "
        "Select the rows of the edges into the node with a mask, alpha[edge_index[1] == node].":
            _row_of_node,
        "Your result is transposed: keep one row per incoming edge and one column per head, (k, H).":
            _transposed,
        "You sliced one contiguous block of alpha, as if the edges were sorted by target: the columns "
        "of edge_index come in any order (here shuffled), so the edges into a node can be anywhere. "
        "Select them with the mask edge_index[1] == node.": _contiguous_block,
    },
))


# --- 8.2 the entropy of each neighbourhood -------------------------------------------------------

def _in_bits(alpha, edge_index, num_nodes):
    return attention.attention_entropy(alpha, edge_index, num_nodes) / math.log(2)


def _nan_from_zero_weights(alpha, edge_index, num_nodes):
    terms = -(alpha * alpha.log())  # (E, H): 0 * -inf = nan
    return torch.zeros(num_nodes, alpha.shape[1]).index_add_(0, edge_index[1], terms)


def _summed_by_source(alpha, edge_index, num_nodes):
    return torch.zeros(num_nodes, alpha.shape[1]).index_add_(0, edge_index[0], -torch.xlogy(alpha, alpha))


def _unweighted_logs(alpha, edge_index, num_nodes):
    return torch.zeros(num_nodes, alpha.shape[1]).index_add_(0, edge_index[1], -alpha.log())


def _sign_flipped(alpha, edge_index, num_nodes):
    return -attention.attention_entropy(alpha, edge_index, num_nodes)


def _over_all_edges(alpha, edge_index, num_nodes):
    return -torch.xlogy(alpha, alpha).sum(dim=0)  # (H,)


def _mean_per_target(alpha, edge_index, num_nodes):
    index = edge_index[1].unsqueeze(1).expand_as(alpha)
    return torch.zeros(num_nodes, alpha.shape[1]).scatter_reduce(
        0, index, -torch.xlogy(alpha, alpha), reduce="mean", include_self=False)


def _entropy_cases() -> list[Case]:
    edge_index = random_graph(40, 160, seed=83)
    alpha = random_attention(edge_index, 40, 4, seed=84, zeros=0.2)
    cora_edges, cora_alpha, num_nodes = _cora_with_attention(8, seed=85)
    return [Case("toy: 4 nodes, 2 heads (entropies ln 4, 0, 1.5 ln 2, 0 and ln 2, ln 2, ln 3, 0)",
                 (TOY_ALPHA, TOY_EDGE_INDEX, TOY_NUM_NODES)),
            Case("random directed graph (40 nodes, 4 heads, some weights exactly 0)",
                 (alpha, edge_index, 40)),
            Case("Cora with random attention (8 heads)", (cora_alpha, cora_edges, num_nodes))]


register(Check(
    id="8.2",
    title="the entropy of each neighbourhood",
    reference=attention.attention_entropy,
    cases=_entropy_cases,
    hint="Per edge, the term -alpha * ln(alpha) (E, H), with 0 where alpha is 0: torch.xlogy(alpha, "
         "alpha) computes alpha * ln(alpha) that way. Then add the terms of each target's incoming "
         "edges: torch.zeros(num_nodes, H).index_add_(0, edge_index[1], terms).",
    mistakes={
        "Your entropies are in bits (log base 2): use the natural logarithm, so they are in nats and "
        "compare with ln(in-degree).": _in_bits,
        "Some of your entropies are NaN: a weight of exactly 0 gives 0 * ln 0 = 0 * (-inf) = nan. By "
        "convention 0 ln 0 = 0 (the limit of p ln p): use torch.xlogy(alpha, alpha), or zero those "
        "terms.": _nan_from_zero_weights,
        "You summed the terms per SOURCE (edge_index[0]): a node's attention distribution is over "
        "its INCOMING edges, so add them up per target, edge_index[1].": _summed_by_source,
        "You summed -ln(alpha) without weighting by alpha: the entropy is the EXPECTED surprise, "
        "-sum alpha ln alpha.": _unweighted_logs,
        "Your entropies are negative: the entropy is MINUS sum alpha ln alpha (every ln alpha <= 0, so "
        "the entropy is >= 0).": _sign_flipped,
        "That is one entropy per head over ALL edges: each target node has its own distribution over "
        "its incoming edges, so the result has one row per node, (N, H).": _over_all_edges,
        "You averaged the terms of each neighbourhood: the entropy is their SUM (uniform attention over "
        "4 neighbours has entropy ln 4, not ln 4 / 4).": _mean_per_target,
    },
))


# --- 8.3 the uniform baseline --------------------------------------------------------------------

def _out_degree(edge_index, num_nodes):
    return torch.bincount(edge_index[0], minlength=num_nodes).float().log()


def _uniform_in_bits(edge_index, num_nodes):
    return torch.bincount(edge_index[1], minlength=num_nodes).float().log2()


def _uniform_weight(edge_index, num_nodes):
    return 1.0 / torch.bincount(edge_index[1], minlength=num_nodes).float()


def _self_loop_not_counted(edge_index, num_nodes):
    return (torch.bincount(edge_index[1], minlength=num_nodes) - 1).float().log()


def _uniform_over_all_edges(edge_index, num_nodes):
    return torch.full((num_nodes,), math.log(edge_index.shape[1]))


def _uniform_cases() -> list[Case]:
    cora = load_cora()
    return [Case("toy: in-degrees 4, 2, 3, 1 (out-degrees 2, 2, 3, 3)", (TOY_EDGE_INDEX, TOY_NUM_NODES)),
            Case("random directed graph (40 nodes)", (random_graph(40, 160, seed=86), 40)),
            Case("Cora with self-loops", (cora.edge_index_with_self_loops, cora.num_nodes))]


register(Check(
    id="8.3",
    title="the uniform baseline",
    reference=attention.uniform_entropy,
    cases=_uniform_cases,
    hint="Uniform attention over d incoming edges gives each 1/d, and -sum_{d terms} (1/d) ln(1/d) = "
         "ln d. Count each node's incoming edges, torch.bincount(edge_index[1], minlength=num_nodes), "
         "and take .float().log().",
    mistakes={
        "You counted OUT-degrees (row 0): the attention of node i runs over its incoming edges, "
        "the columns with i in row 1.": _out_degree,
        "That is log base 2: use ln, so the baseline is in nats like the attention entropy.":
            _uniform_in_bits,
        "That is the uniform WEIGHT 1/d of each neighbour; the exercise asks for the entropy of that "
        "distribution, ln d.": _uniform_weight,
        "You left out the self-loop: GAT's softmax includes it, so it counts in the in-degree (a node "
        "whose only edge is its self-loop has entropy ln 1 = 0).": _self_loop_not_counted,
        "That is the entropy of one uniform distribution over ALL E edges: every node has its own "
        "distribution over its own incoming edges, ln(in-degree of i).": _uniform_over_all_edges,
    },
))
