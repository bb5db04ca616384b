"""Checks for chapter 11, When attention has to choose.

Exercise 11.1 computes GATv2's raw scores per edge, 11.2 puts many graphs into one batch, 11.3
finds every target's favourite source; their references are
:func:`gatkit.functional.gatv2_scores`, :func:`gatkit.batch.collate` and
:func:`gatkit.attention.top_source`.

11.1 sees the chapter's hand-made example (two sources, two targets that rank them in opposite
orders), a variant with different source and target projections (so swapping them, or using one
projection for both, changes the result) and a seeded random directed graph with shuffled columns,
three heads and scores on both sides of 0 (so the LeakyReLU's slope and where it sits matter).
11.2 sees graphs of different sizes, with more or fewer edges than nodes and one without edges (so
offsetting by the edge count, by the graph's own size or by a fixed size all differ from the right
offset), and DictionaryLookup examples whose labels cover only the query nodes. 11.3 sees scores
with exact ties on a shuffled directed graph with isolated nodes, several heads that disagree, and
a hand-checkable toy.
"""

from __future__ import annotations

import torch

from course.checks.cases import directed_graph, random_graph, seeded_generator
from course.checks.core import Case, Check, register
from gatkit import attention, functional
from gatkit.batch import Graph, GraphBatch, collate
from gatkit.lookup import dictionary_lookup

SLOPE = 0.2


# --- 11.1 GATv2's scores -----------------------------------------------------------------------------

# The chapter's example: sources 0, 1 and targets 2, 3, every source to every target, F' = 2, H = 1,
# W = I, a = (1, 1). Target 2 prefers source 0 (scores 0 and -0.8), target 3 source 1 (-0.8 and 0).
TOY_Z = torch.tensor([[1.0, 0.0], [0.0, 1.0], [0.0, -5.0], [-5.0, 0.0]]).unsqueeze(1)  # (N=4, H=1, F'=2)
TOY_A = torch.tensor([[1.0, 1.0]])  # (H=1, F'=2)
TOY_EDGES = torch.tensor([[0, 1, 0, 1], [2, 2, 3, 3]])  # (2, E=4): 0, 1 -> 2 and 0, 1 -> 3
TOY_SCORES = torch.tensor([[0.0], [-0.8], [-0.8], [0.0]])  # (E, H=1), by hand


def _gatv2_scores(z_src: torch.Tensor, z_dst: torch.Tensor, a: torch.Tensor, edge_index: torch.Tensor) -> torch.Tensor:
    """``a[h] . LeakyReLU(z_dst[i, h] + z_src[j, h])`` for every edge ``j -> i``: (E, H)."""
    return functional.gatv2_scores(z_src, z_dst, a, edge_index)


def _scores_cases() -> list[Case]:
    generator = seeded_generator(110)
    edge_index = random_graph(20, 70, seed=111)  # (2, E) shuffled, self-loops
    z_src = torch.randn(20, 3, 4, generator=generator).requires_grad_()  # (N, H=3, F'=4)
    z_dst = torch.randn(20, 3, 4, generator=generator).requires_grad_()  # (N, H, F')
    a = torch.randn(3, 4, generator=generator).requires_grad_()  # (H, F')
    toy_dst = torch.tensor([[0.5, 1.0], [2.0, 0.0], [2.0, -1.0], [-3.0, 0.5]]).unsqueeze(1)  # (N, 1, 2): W_dst != W_src
    return [Case("the chapter's example: sources 0, 1 -> targets 2, 3, z_src = z_dst, a = (1, 1)",
                 (TOY_Z.clone().requires_grad_(), TOY_Z.clone().requires_grad_(), TOY_A.clone().requires_grad_(),
                  TOY_EDGES)),
            Case("the same graph, targets projected differently from sources (z_dst != z_src)",
                 (TOY_Z.clone().requires_grad_(), toy_dst.requires_grad_(), torch.tensor([[1.0, -2.0]]).requires_grad_(),
                  TOY_EDGES)),
            Case("random directed graph (20 nodes, shuffled columns), 3 heads of 4 features",
                 (z_src, z_dst, a, edge_index))]


def _leaky_after_dot(z_src, z_dst, a, edge_index):
    pairs = z_src[edge_index[0]] + z_dst[edge_index[1]]  # (E, H, F')
    return torch.nn.functional.leaky_relu((pairs * a).sum(-1), SLOPE)


def _swapped(z_src, z_dst, a, edge_index):
    return functional.gatv2_scores(z_src, z_dst, a, edge_index.flip(0))


def _slope_001(z_src, z_dst, a, edge_index):
    return functional.gatv2_scores(z_src, z_dst, a, edge_index, negative_slope=0.01)


def _heads_summed(z_src, z_dst, a, edge_index):
    return functional.gatv2_scores(z_src, z_dst, a, edge_index).sum(dim=1, keepdim=True).expand(-1, a.shape[0])


def _a_per_side(z_src, z_dst, a, edge_index):
    leaky = torch.nn.functional.leaky_relu
    return leaky((z_src * a).sum(-1), SLOPE)[edge_index[0]] + leaky((z_dst * a).sum(-1), SLOPE)[edge_index[1]]


def _no_leaky(z_src, z_dst, a, edge_index):
    return ((z_src[edge_index[0]] + z_dst[edge_index[1]]) * a).sum(-1)


def _source_for_both(z_src, z_dst, a, edge_index):
    return functional.gatv2_scores(z_src, z_src, a, edge_index)


register(Check(
    id="11.1",
    title="GATv2's scores",
    reference=_gatv2_scores,
    cases=_scores_cases,
    needs_gradients=True,
    hint="Per edge j -> i and head h: add the TARGET's z_dst[i, h] (row 1 of edge_index) to the "
         "SOURCE's z_src[j, h] (row 0), apply LeakyReLU (slope 0.2) to that (E, H, F') sum, then "
         "take the dot product with a[h] over the last axis: (E, H).",
    mistakes={
        "You applied LeakyReLU after the dot product with a: that is GAT's score, whose ranking is "
        "static. GATv2 applies a to LeakyReLU(z_dst[i] + z_src[j]), the nonlinearity first.": _leaky_after_dot,
        "Sources and targets are swapped: row 0 of edge_index is the source j (use z_src there), "
        "row 1 the target i (use z_dst).": _swapped,
        "The LeakyReLU's negative slope is 0.2 in GAT and GATv2, not PyTorch's default 0.01.": _slope_001,
        "You summed over the heads: each head has its own attention vector a[h] and its own score; "
        "sum only over the feature axis (the last one).": _heads_summed,
        "You applied a to each side before adding them (LeakyReLU(a . z_j) + LeakyReLU(a . z_i)): "
        "the score must see the pair together, a . LeakyReLU(z_dst[i] + z_src[j]).": _a_per_side,
        "The LeakyReLU is missing: without it the score is linear, a . z_dst[i] + a . z_src[j], "
        "and every target ranks the sources the same way again.": _no_leaky,
        "You used z_src for the target too: the target's half of the pair is z_dst[i].": _source_for_both,
    },
))


# --- 11.2 many graphs in one batch --------------------------------------------------------------------

def _fields(batch: object) -> object:
    """A GraphBatch as a dict of its tensors (what the check compares), anything else as it is."""
    if not isinstance(batch, GraphBatch):
        return f"a {type(batch).__name__}, not a gatkit.batch.GraphBatch"
    return {"x": batch.x, "edge_index": batch.edge_index, "y": batch.y, "label_mask": batch.label_mask,
            "batch": batch.batch, "ptr": batch.ptr}


def _batch_of(x, edge_index, y, label_mask, batch, ptr):
    return GraphBatch(x=x, edge_index=edge_index, y=y, label_mask=label_mask, batch=batch, ptr=ptr)


def _collate_run(answer, graphs: list[dict]) -> object:
    """Build the Graphs from their fields (a fresh copy per run), collate them, compare the fields."""
    return _fields(answer([Graph(**fields) for fields in graphs]))


def _as_fields(graph: Graph) -> dict:
    return {"x": graph.x, "edge_index": graph.edge_index, "y": graph.y, "label_mask": graph.label_mask}


def _toy_graphs() -> list[dict]:
    a = {"x": torch.zeros(2, 3), "edge_index": torch.tensor([[0], [1]]), "y": torch.tensor([0, 1])}
    b = {"x": torch.ones(3, 3), "edge_index": torch.tensor([[0, 2], [1, 1]]), "y": torch.tensor([2, 2, 0])}
    return [a, b]


def _random_graphs(sizes: list[int], seed: int) -> list[dict]:
    generator = seeded_generator(seed)
    graphs = []
    for n, size in enumerate(sizes):
        edge_index = (random_graph(size, 3 * size, seed=seed + n) if size > 1
                      else torch.zeros(2, 0, dtype=torch.long))  # (2, E): more edges than nodes, or none
        graphs.append({"x": torch.randn(size, 4, generator=generator), "edge_index": edge_index,
                       "y": torch.randint(0, 5, (size,), generator=generator)})
    return graphs


def _collate_cases() -> list[Case]:
    lookup = dictionary_lookup(4, seed=11)
    return [Case("two graphs of 2 and 3 nodes (1 and 2 edges)", (_toy_graphs(),)),
            Case("four random directed graphs of 5, 1 (no edges), 8 and 3 nodes", (_random_graphs([5, 1, 8, 3], 112),)),
            Case("three DictionaryLookup examples, k = 4 (labels on the 4 query nodes only)",
                 ([_as_fields(g) for g in lookup.train[:3]],))]


def _no_offset(graphs):
    batch = collate(graphs)
    edge_index = torch.cat([g.edge_index for g in graphs], dim=1)  # (2, E), every graph from node 0
    return _batch_of(batch.x, edge_index, batch.y, batch.label_mask, batch.batch, batch.ptr)


def _offset_by_edges(graphs):
    batch = collate(graphs)
    counts = torch.tensor([0] + [g.num_edges for g in graphs]).cumsum(0)  # (G + 1,)
    edge_index = torch.cat([g.edge_index + counts[n] for n, g in enumerate(graphs)], dim=1)  # (2, E)
    return _batch_of(batch.x, edge_index.clamp(max=batch.num_nodes - 1), batch.y, batch.label_mask,
                      batch.batch, batch.ptr)


def _offset_including_own(graphs):
    batch = collate(graphs)
    edge_index = torch.cat([g.edge_index + batch.ptr[n + 1] for n, g in enumerate(graphs)], dim=1)  # (2, E)
    return _batch_of(batch.x, edge_index % batch.num_nodes, batch.y, batch.label_mask, batch.batch, batch.ptr)


def _offset_by_first_size(graphs):
    batch = collate(graphs)
    edge_index = torch.cat([g.edge_index + n * graphs[0].num_nodes for n, g in enumerate(graphs)], dim=1)  # (2, E)
    return _batch_of(batch.x, edge_index.clamp(max=batch.num_nodes - 1), batch.y, batch.label_mask,
                      batch.batch, batch.ptr)


def _batch_local_ids(graphs):
    batch = collate(graphs)
    local = torch.cat([torch.arange(g.num_nodes) for g in graphs])  # (N,): each node's id inside its graph
    return _batch_of(batch.x, batch.edge_index, batch.y, batch.label_mask, local, batch.ptr)


def _labels_shifted(graphs):
    batch = collate(graphs)
    y = torch.cat([g.y + batch.ptr[n] for n, g in enumerate(graphs)])  # the edges' shift applied to y too
    return _batch_of(batch.x, batch.edge_index, y, batch.label_mask, batch.batch, batch.ptr)


def _ptr_without_zero(graphs):
    batch = collate(graphs)
    return _batch_of(batch.x, batch.edge_index, batch.y, batch.label_mask, batch.batch, batch.ptr[1:])


register(Check(
    id="11.2",
    title="many graphs in one batch",
    reference=collate,
    cases=_collate_cases,
    run=_collate_run,
    hint="Stack x, y and label_mask (when the graphs have one) with torch.cat in graph order; shift "
         "each graph's edge_index by the number of nodes of the graphs BEFORE it (ptr[g], with "
         "ptr = [0, n0, n0 + n1, ...]); batch[n] is the graph node n came from "
         "(torch.arange(G).repeat_interleave(sizes)). Return a GraphBatch with all six fields "
         "given by keyword.",
    mistakes={
        "Your edge_index is not shifted: every graph's edges still point at nodes 0, 1, ..., so they "
        "all land in the first graph. Add ptr[g], the number of nodes before graph g.": _no_offset,
        "You shifted by the number of EDGES before each graph: node ids count nodes, so the shift is "
        "the number of nodes before the graph.": _offset_by_edges,
        "You shifted each graph by the nodes up to and INCLUDING its own (ptr[g + 1]): the first "
        "graph must keep its ids, so graph g starts at ptr[g].": _offset_including_own,
        "You shifted graph g by g times the size of the first graph: the graphs have different "
        "sizes, so use the running total of the sizes before it.": _offset_by_first_size,
        "batch holds each node's id inside its graph: it must hold the graph's number, "
        "torch.arange(G).repeat_interleave(sizes).": _batch_local_ids,
        "You shifted the labels like the edges: only node ids move when graphs are stacked; a label "
        "(a class, a value) stays what it is. Concatenate the y as they are.": _labels_shifted,
        "ptr has no leading 0: it has G + 1 entries, ptr[g] the first node of graph g.": _ptr_without_zero,
    },
))


# --- 11.3 every target's favourite source -------------------------------------------------------------

# Toy: 2, 0, 1 -> 0 and 0, 3 -> 1; nodes 2 and 3 receive nothing. Head 0 ties sources 0 and 1 at
# node 0 (0 comes first in column order); head 1 prefers source 2 at node 0.
TOP_EDGES = torch.tensor([[2, 0, 1, 0, 3], [0, 0, 0, 1, 1]])  # (2, E=5)
TOP_SCORES = torch.tensor([[1.0, 5.0], [3.0, 0.0], [3.0, -1.0], [0.5, -2.0], [0.25, -1.0]])  # (E, H=2)


def _top_source(scores: torch.Tensor, edge_index: torch.Tensor, num_nodes: int) -> torch.Tensor:
    """(N, H) int64: the source of the best-scored edge into each target; ties to the first column, -1 if none."""
    return attention.top_source(scores, edge_index, num_nodes)


def _top_cases() -> list[Case]:
    edge_index, num_nodes = directed_graph(24, 80, seed=113, loops=(0, 3, 5), repeated=4, isolated=2)
    ties = torch.randint(0, 3, (edge_index.shape[1], 3), generator=seeded_generator(114)).float()  # (E, 3)
    big = random_graph(40, 200, seed=115)
    spread = torch.randn(big.shape[1], 4, generator=seeded_generator(116))  # (E, 4): no ties
    return [Case("toy: 2, 0, 1 -> 0 and 0, 3 -> 1, 2 heads, a tie at node 0, nodes 2, 3 receive nothing",
                 (TOP_SCORES, TOP_EDGES, 4)),
            Case(f"random directed graph ({num_nodes} nodes, 2 isolated, shuffled), 3 heads, scores 0, 1, 2 "
                 "(many ties)", (ties, edge_index, num_nodes)),
            Case("random directed graph (40 nodes, shuffled), 4 heads, random scores", (spread, big, 40))]


def _global_argmax(scores, edge_index, num_nodes):
    best = edge_index[0][scores.argmax(dim=0)]  # (H,): the source of the best edge anywhere
    return best.expand(num_nodes, -1).clone()


def _by_source(scores, edge_index, num_nodes):
    return attention.top_source(scores, edge_index.flip(0), num_nodes)


def _edge_number(scores, edge_index, num_nodes):
    columns = torch.arange(edge_index.shape[1])  # (E,)
    with_columns = torch.stack([columns, edge_index[1]])  # (2, E): "sources" replaced by column numbers
    num = max(num_nodes, edge_index.shape[1])
    return attention.top_source(scores, with_columns, num)[:num_nodes]


def _ties_last(scores, edge_index, num_nodes):
    reverse = torch.arange(edge_index.shape[1] - 1, -1, -1)  # (E,)
    return attention.top_source(scores[reverse], edge_index[:, reverse], num_nodes)


def _isolated_zero(scores, edge_index, num_nodes):
    return attention.top_source(scores, edge_index, num_nodes).clamp(min=0)


def _ties_smallest_source(scores, edge_index, num_nodes):
    dense = scores.new_full((scores.shape[1], num_nodes, num_nodes), -torch.inf)  # (H, N, N), [h, i, j]
    dense[:, edge_index[1], edge_index[0]] = scores.T
    best = dense.argmax(dim=2).T  # (N, H): ties to the smallest source id
    return torch.where(torch.isinf(dense.amax(dim=2).T), -1, best)


def _lowest(scores, edge_index, num_nodes):
    return attention.top_source(-scores, edge_index, num_nodes)


register(Check(
    id="11.3",
    title="every target's favourite source",
    reference=_top_source,
    cases=_top_cases,
    hint="Group the edges by TARGET (edge_index[1]): take each target's maximum per head "
         "(scatter_reduce 'amax'), mark the edges that reach it, keep the first such column per "
         "target (scatter_reduce 'amin' over column numbers) and return its SOURCE, "
         "edge_index[0, column]; -1 where nothing arrives. Shape (N, H), int64.",
    mistakes={
        "You took one argmax over all edges: each target needs its own maximum, over its own "
        "incoming edges.": _global_argmax,
        "You grouped the edges by source (row 0): that finds each source's favourite target. A "
        "target's neighbours are the edges with edge_index[1] == i.": _by_source,
        "You returned the column (edge number) of the best edge: return its source node, "
        "edge_index[0, column].": _edge_number,
        "On a tie you kept the LAST best edge: keep the first one in column order.": _ties_last,
        "A node with no incoming edge must get -1 (it has no favourite), not 0, which is a real "
        "node.": _isolated_zero,
        "On a tie you kept the smallest source id (a dense argmax does): keep the edge that comes "
        "first in column order.": _ties_smallest_source,
        "You picked the LOWEST score: the favourite has the largest.": _lowest,
    },
))
