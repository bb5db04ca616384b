"""Checks for chapter 00, The big picture.

The references are the library's :func:`gatkit.functional.mean_aggregate`,
:func:`~gatkit.functional.gcn_coefficients` and :func:`~gatkit.functional.gcn_layer`.

The toy graphs can be checked by hand; the directed ones (in-degree and out-degree differ, many
edges have no reverse, columns shuffled) separate source from target and in- from out-degree;
every case holds a node that receives nothing (0.1) or only its own self-loop (0.2, 0.3). The GCN
cases hold their self-loops already, as the exercise says.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

from course.checks.cases import (TOY_DIRECTED, TOY_DIRECTED_LOOPED, TOY_EDGE_INDEX, TOY_H, directed_graph,
                                 load_cora, random_graph, seeded_generator)
from course.checks.core import Case, Check, register
from gatkit.functional import gcn_coefficients, gcn_layer, mean_aggregate

# Features for the directed toy graph (0->1, 0->2, 1->2, 3->2, 2->0, loops on 0, 1, 2): node 0
# receives from {0, 2}, node 1 from {0, 1}, node 2 from {0, 1, 2, 3}, node 3 from nobody, so the
# means are [2, 1.5], [0.5, 1], [2, 1] and [0, 0].
TOY_DIRECTED_H = torch.tensor([[1.0, 0.0], [0.0, 2.0], [3.0, 3.0], [4.0, -1.0]])  # (N, F)


def looped_graph(num_nodes: int, num_edges: int, seed: int) -> torch.Tensor:
    """A random directed graph on ``num_nodes`` nodes whose last node has only its self-loop.

    ``num_edges`` one-way edges among the other nodes, one self-loop per node (as a GCN needs),
    columns shuffled. Returns a (2, E) int64 ``edge_index``.
    """
    edges = random_graph(num_nodes - 1, num_edges, seed, self_loops=False)  # (2, E0), last node left out
    loops = torch.arange(num_nodes).repeat(2, 1)  # (2, N)
    edge_index = torch.cat([edges, loops], dim=1)  # (2, E0 + N)
    return edge_index[:, torch.randperm(edge_index.shape[1], generator=seeded_generator(seed + 1))]


# --- cases -----------------------------------------------------------------------------------

def _mean_cases() -> list[Case]:
    cora = load_cora()
    sparse_edges, num_nodes = directed_graph(12, 30, seed=1, isolated=1)  # node 12 has no edge at all
    return [
        Case("directed toy graph (4 nodes; node 2 hears 4 sources, node 3 none)", (TOY_DIRECTED_H, TOY_DIRECTED)),
        Case("random directed graph (13 nodes, 30 edges, no self-loops, node 12 isolated)",
             (torch.randn(num_nodes, 4, generator=seeded_generator(2)), sparse_edges)),
        Case("random directed graph with self-loops (15 nodes, 40 edges)",
             (torch.randn(15, 3, generator=seeded_generator(3)), random_graph(15, 40, seed=4))),
        Case("Cora (features x, edges without self-loops)", (cora.x, cora.edge_index)),
    ]


def _coefficient_cases() -> list[Case]:
    cora = load_cora()
    return [
        Case("toy graph with self-loops (in-degrees 2, 4, 3, 3)", (TOY_EDGE_INDEX, 4)),
        Case("directed toy graph with self-loops (in-degrees 2, 2, 4, 1; out-degrees 3, 2, 2, 2)",
             (TOY_DIRECTED_LOOPED, 4)),
        Case("random directed graph (12 nodes, 30 edges, self-loops; node 11 has only its loop)",
             (looped_graph(12, 30, seed=5), 12)),
        Case("Cora with self-loops", (cora.edge_index_with_self_loops, cora.num_nodes)),
    ]


def _layer_cases() -> list[Case]:
    cora = load_cora()
    generator = seeded_generator(6)
    return [
        Case("toy graph with self-loops, W = I (2 x 2)", (TOY_H, TOY_EDGE_INDEX, torch.eye(2))),
        Case("directed toy graph with self-loops, W = [[1, 2], [0, -1]] (not symmetric)",
             (TOY_DIRECTED_H, TOY_DIRECTED_LOOPED, torch.tensor([[1.0, 2.0], [0.0, -1.0]]))),
        Case("random directed graph (12 nodes, F = 5, F' = 3; node 11 has only its loop)",
             (torch.randn(12, 5, generator=generator), looped_graph(12, 30, seed=7),
              torch.randn(5, 3, generator=generator))),
        Case("Cora with self-loops (F = 1433, F' = 16)",
             (cora.x, cora.edge_index_with_self_loops, 0.1 * torch.randn(1433, 16, generator=generator))),
    ]


# --- known mistakes, each fed to its check by the tests --------------------------------------

def _in_degree(edge_index: torch.Tensor, num_nodes: int) -> torch.Tensor:
    return torch.bincount(edge_index[1], minlength=num_nodes).float()  # (N,)


def _out_degree(edge_index: torch.Tensor, num_nodes: int) -> torch.Tensor:
    return torch.bincount(edge_index[0], minlength=num_nodes).float()  # (N,)


def _summed(h, edge_index):
    return torch.zeros_like(h).index_add_(0, edge_index[1], h[edge_index[0]])  # (N, F)


def _sum_not_mean(h, edge_index):
    return _summed(h, edge_index)


def _mean_into_sources(h, edge_index):
    return mean_aggregate(h, edge_index.flip(0))


def _divided_by_out_degree(h, edge_index):
    return _summed(h, edge_index) / _out_degree(edge_index, h.shape[0]).clamp(min=1).unsqueeze(1)


def _nan_without_incoming_edges(h, edge_index):
    return _summed(h, edge_index) / _in_degree(edge_index, h.shape[0]).unsqueeze(1)


def _global_mean(h, edge_index):
    return h.mean(dim=0, keepdim=True).expand_as(h).clone()


def _scatter_mean_includes_the_zeros(h, edge_index):
    index = edge_index[1].unsqueeze(1).expand(-1, h.shape[1])  # (E, F)
    return torch.zeros_like(h).scatter_reduce(0, index, h[edge_index[0]], reduce="mean")  # include_self=True


def _own_row_added(h, edge_index):
    count = _in_degree(edge_index, h.shape[0]) + 1  # (N,)
    return (_summed(h, edge_index) + h) / count.unsqueeze(1)


def _row_normalised(edge_index, num_nodes):
    return 1 / _in_degree(edge_index, num_nodes)[edge_index[1]]


def _column_normalised(edge_index, num_nodes):
    return 1 / _in_degree(edge_index, num_nodes)[edge_index[0]]


def _no_square_root(edge_index, num_nodes):
    degree = _in_degree(edge_index, num_nodes)
    return 1 / (degree[edge_index[1]] * degree[edge_index[0]])


def _out_degrees(edge_index, num_nodes):
    degree = _out_degree(edge_index, num_nodes)
    return (degree[edge_index[1]] * degree[edge_index[0]]).rsqrt()


def _loops_counted_again(edge_index, num_nodes):
    degree = _in_degree(edge_index, num_nodes) + 1  # the self-loop is already in edge_index
    return (degree[edge_index[1]] * degree[edge_index[0]]).rsqrt()


def _loops_not_counted(edge_index, num_nodes):
    without_loops = edge_index[:, edge_index[0] != edge_index[1]]
    degree = _in_degree(without_loops, num_nodes)
    return (degree[edge_index[1]] * degree[edge_index[0]]).rsqrt()


def _not_inverted(edge_index, num_nodes):
    degree = _in_degree(edge_index, num_nodes)
    return (degree[edge_index[1]] * degree[edge_index[0]]).sqrt()


def _weight_transposed(x, edge_index, weight):
    z = x @ weight.T  # (N, F'), only when F' = F; nn.Linear's layout
    return _weighted_sum(z, edge_index, gcn_coefficients(edge_index, x.shape[0]))


def _weighted_sum(z, edge_index, coefficients):
    messages = coefficients.unsqueeze(1) * z[edge_index[0]]  # (E, F')
    return torch.zeros_like(z).index_add_(0, edge_index[1], messages)  # (N, F')


def _reversed_edge_coefficients(x, edge_index, weight):
    return _weighted_sum(x @ weight, edge_index, gcn_coefficients(edge_index.flip(0), x.shape[0]))


def _relu_added(x, edge_index, weight):
    return F.relu(gcn_layer(x, edge_index, weight))


def _mean_instead(x, edge_index, weight):
    return mean_aggregate(x @ weight, edge_index)


def _into_sources(x, edge_index, weight):
    z = x @ weight  # (N, F')
    messages = gcn_coefficients(edge_index, x.shape[0]).unsqueeze(1) * z[edge_index[1]]  # (E, F')
    return torch.zeros_like(z).index_add_(0, edge_index[0], messages)


def _coefficients_left_out(x, edge_index, weight):
    return _summed(x @ weight, edge_index)


register(Check(
    id="0.1",
    title="the mean of the incoming messages",
    reference=mean_aggregate,
    cases=_mean_cases,
    hint="Gather the sources' rows h[edge_index[0]] (E, F), add them into a new zero tensor at the "
         "targets with index_add_(0, edge_index[1], ...), and divide each row by its in-degree "
         "torch.bincount(edge_index[1], minlength=N), clamped to at least 1.",
    mistakes={
        "You returned the sum of the messages: divide each target's sum by the number of edges "
        "that arrive at it (its in-degree).": _sum_not_mean,
        "You aggregated into the SOURCES: messages flow j -> i, so take the rows of edge_index[0] "
        "and add them at edge_index[1]. The random graphs are directed, so the two differ.":
            _mean_into_sources,
        "You divided by the OUT-degree (edges leaving the node, bincount of edge_index[0]): a mean "
        "over what arrives divides by the IN-degree, bincount(edge_index[1]).": _divided_by_out_degree,
        "A node that receives nothing got nan (0 / 0): its mean must be zeros. Divide by the "
        "in-degree clamped to at least 1.": _nan_without_incoming_edges,
        "That is one mean over all nodes: each target averages only the sources of its own "
        "incoming edges.": _global_mean,
        "scatter_reduce(..., reduce='mean') also averages in the zero you start from (include_self "
        "is True by default), so each target divides by its in-degree + 1. Pass include_self=False, "
        "or divide a sum by the in-degree yourself.": _scatter_mean_includes_the_zeros,
        "You added each node's own row to its mean: a node counts itself only when edge_index holds "
        "its self-loop. Average exactly the sources of the incoming edges.": _own_row_added,
    },
))

register(Check(
    id="0.2",
    title="the GCN edge weights",
    reference=gcn_coefficients,
    cases=_coefficient_cases,
    hint="Count each node's in-degree d = torch.bincount(edge_index[1], minlength=num_nodes) (the "
         "self-loops are already in edge_index), then for every column (j, i) return "
         "1 / sqrt(d[i] * d[j]) as float32, shape (E,).",
    mistakes={
        "You return 1 / d_i (each target's mean, the row normalisation D^-1 A): the GCN weight is "
        "symmetric, 1 / sqrt(d_i * d_j), so a source with many edges counts less.": _row_normalised,
        "You return 1 / d_j, the source's degree only: the GCN weight is 1 / sqrt(d_i * d_j), with "
        "the target i = edge_index[1] and the source j = edge_index[0].": _column_normalised,
        "The square root is missing: the weight is 1 / sqrt(d_i * d_j), not 1 / (d_i * d_j).":
            _no_square_root,
        "You counted OUT-degrees (bincount of edge_index[0]): d is the in-degree, the number of "
        "edges arriving at a node, bincount(edge_index[1]). On the directed graphs they differ.":
            _out_degrees,
        "Your degrees are one too high: edge_index already holds every node's self-loop, so "
        "bincount(edge_index[1]) counts it. Do not add 1 for it again.": _loops_counted_again,
        "Your degrees leave the self-loops out (a node whose only edge is its loop gets d = 0 and "
        "an infinite weight): count every column of edge_index, loops included.": _loops_not_counted,
        "You return sqrt(d_i * d_j): the weight is its inverse, 1 / sqrt(d_i * d_j) "
        "(torch.rsqrt).": _not_inverted,
    },
))

register(Check(
    id="0.3",
    title="a GCN layer",
    reference=gcn_layer,
    cases=_layer_cases,
    hint="Transform z = x @ weight (N, F'); weight each source's row by its edge's GCN weight, "
         "gcn_coefficients(edge_index, N).unsqueeze(1) * z[edge_index[0]] (E, F'); add the "
         "messages into a new zero tensor at edge_index[1]. No activation.",
    mistakes={
        "Your weight is transposed: it is (F, F') and the layer computes x @ weight (Kipf and "
        "Welling's H W); torch.nn.Linear stores (F', F) and computes x @ W.T. With a non-square "
        "weight, x @ weight.T does not even run.": _weight_transposed,
        "Your coefficients were computed on the reversed edges (edge_index.flip(0)), so they count "
        "out-degrees: use gcn_coefficients(edge_index, N) as they are, for the edges j -> i.":
            _reversed_edge_coefficients,
        "You applied a ReLU: this function stops at the weighted sum; the model applies the "
        "activation between layers.": _relu_added,
        "You took each target's mean (weights 1 / d_i): a GCN weighs each edge by "
        "1 / sqrt(d_i * d_j), the coefficients of exercise 0.2.": _mean_instead,
        "You aggregated into the SOURCES: take the messages from z[edge_index[0]] and add them at "
        "edge_index[1] (messages flow j -> i).": _into_sources,
        "The messages are not weighted: multiply each source's row by its edge's GCN coefficient "
        "before summing.": _coefficients_left_out,
    },
))
