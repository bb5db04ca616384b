"""Mini-batches with sampled neighbourhoods, for graphs too large to train on whole.

An ``L``-layer model's outputs at a batch of target nodes read only the nodes within ``L`` hops
of them (:func:`gatkit.edges.receptive_field`), but on a large graph that field explodes: with
``d`` neighbours per node it holds about ``B * d**L`` nodes. Neighbour sampling (GraphSAGE,
Hamilton et al. 2017) caps it: walking outwards from the targets, each node reached keeps at most
``fanout[h]`` of its incoming edges, drawn uniformly without replacement, so a batch of ``B``
targets reads at most ``B * (1 + k_1 + k_1 k_2 + ...)`` nodes, however large the graph.

:class:`NeighbourSampler` holds the graph's incoming edges grouped by target (CSR), so a batch
costs work in proportion to the edges it looks at, never to the graph's size.
:func:`sample_incoming` is its one random step.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

import torch

from gatkit.edges import validate_edge_index

#: A fanout that keeps every incoming edge (PyG's ``num_neighbors=[-1, ...]``).
ALL = -1


def sample_incoming(indptr: torch.Tensor, nodes: torch.Tensor, fanout: int,
                    generator: torch.Generator | None = None) -> torch.Tensor:
    """Up to ``fanout`` of each node's incoming edges, drawn uniformly without replacement.

    Parameters
    ----------
    indptr
        (N + 1,) int64 CSR pointer of edges sorted by target: node ``i``'s incoming edges are
        the edge ids ``indptr[i] .. indptr[i + 1] - 1``.
    nodes
        (n,) int64 distinct node ids whose incoming edges are drawn.
    fanout
        Edges kept per node: a node with ``d`` incoming edges keeps ``min(d, fanout)`` of them,
        each with probability ``min(1, fanout / d)``; :data:`ALL` (-1) keeps every edge.
    generator
        The random source (for reproducible batches).

    Returns
    -------
    torch.Tensor
        (m,) int64 edge ids, grouped by node in the order of ``nodes``.
    """
    start, degree = indptr[nodes], indptr[nodes + 1] - indptr[nodes]  # (n,), (n,)
    owner = torch.repeat_interleave(torch.arange(len(nodes)), degree)  # (s,) which node each edge enters
    offset = torch.arange(len(owner)) - torch.repeat_interleave(degree.cumsum(0) - degree, degree)  # (s,) 0 .. d-1
    edges = start[owner] + offset  # (s,) every incoming edge of every node
    if fanout == ALL:
        return edges
    # A random key per edge; the fanout smallest keys of each node are a uniform draw without
    # replacement. Sort by key, then stably by node, and keep each node's first fanout.
    order = torch.argsort(torch.rand(len(edges), generator=generator))  # (s,)
    order = order[torch.argsort(owner[order], stable=True)]  # (s,) by node, random within a node
    rank = offset  # the rank within its node of the edge now at each position (positions grouped alike)
    return edges[order[rank < fanout]]


@dataclass(frozen=True)
class Sample:
    """The sampled subgraph that a model of ``L`` layers reads for one batch of targets.

    Nodes are numbered by position in ``nodes``: the batch's targets first, in the order given,
    then the nodes first reached at hop 1, hop 2... ``edge_index[l]`` is what layer ``l`` reads:
    the sampled edges into the nodes within ``L - 1 - l`` hops (the last layer reads only the
    edges into the targets), each node's self-loop included. With every fanout :data:`ALL` the
    targets' outputs are exactly those of the whole graph.
    """

    nodes: torch.Tensor  # (n,) ids in the graph
    edge_index: list[torch.Tensor]  # one (2, e_l) per layer, numbered by position in nodes
    distance: torch.Tensor  # (n,) hop at which each node was first reached (0 for the targets)
    num_targets: int  # the targets are nodes[:num_targets]


class NeighbourSampler:
    """Draws :class:`Sample` s of a graph for batches of target nodes.

    Parameters
    ----------
    edge_index
        (2, E) edges, row 0 source, row 1 target; self-loops are dropped (every node of a sample
        that reads its neighbours gets its own self-loop back, never sampled away).
    num_nodes
        N.
    fanouts
        Incoming edges kept per node at each hop from the targets outwards (one per layer: the
        first for the last layer's edges into the targets); :data:`ALL` keeps every one.
    generator
        The random source; a fresh ``torch.Generator`` seeded with 0 if omitted.
    """

    def __init__(self, edge_index: torch.Tensor, num_nodes: int, fanouts: Sequence[int],
                 generator: torch.Generator | None = None):
        validate_edge_index(edge_index, num_nodes)
        if not len(fanouts) or any(k != ALL and k < 0 for k in fanouts):
            raise ValueError(f"fanouts must be one number >= 0 (or -1 for all) per layer, got {list(fanouts)}")
        edge_index = edge_index[:, edge_index[0] != edge_index[1]].cpu()  # (2, E') without self-loops
        # CSR: the sources grouped by target, and where each target's group starts (the targets
        # themselves are not kept: edge k enters the node whose group holds position k).
        self.sources = edge_index[0, torch.argsort(edge_index[1], stable=True)]  # (E',)
        self.indptr = torch.zeros(num_nodes + 1, dtype=torch.long)  # (N + 1,)
        self.indptr[1:] = torch.bincount(edge_index[1], minlength=num_nodes).cumsum(0)
        self.num_nodes, self.fanouts = num_nodes, [int(k) for k in fanouts]
        self.generator = generator if generator is not None else torch.Generator().manual_seed(0)

    def sample(self, targets: torch.Tensor) -> Sample:
        """The sampled subgraph around ``targets`` ((B,) distinct node ids)."""
        targets = torch.as_tensor(targets, dtype=torch.long).cpu()
        if targets.dim() != 1 or not len(targets) or not (0 <= int(targets.min()) and int(targets.max()) < self.num_nodes):
            raise ValueError(f"targets must be a non-empty 1-D tensor of node ids in 0 .. {self.num_nodes - 1}")
        seen = torch.unique(targets)  # (n,) every node reached so far, sorted
        if len(seen) != len(targets):
            raise ValueError("targets must be distinct (a node listed twice would count twice in the loss)")
        by_hop, drawn = [targets], []  # nodes first reached at each hop; edge ids drawn at each hop
        for fanout in self.fanouts:
            drawn.append(sample_incoming(self.indptr, by_hop[-1], fanout, self.generator))  # (m,)
            reached = torch.unique(self.sources[drawn[-1]])  # (r,) sorted
            by_hop.append(reached[~_contains(seen, reached)])  # (f,) new at this hop
            seen = torch.sort(torch.cat([seen, by_hop[-1]])).values
        nodes = torch.cat(by_hop)  # (n,) targets first, then by hop
        sizes = torch.tensor([len(part) for part in by_hop])  # (L + 1,)
        ordered, position = torch.sort(nodes)

        def local(ids: torch.Tensor) -> torch.Tensor:  # graph ids -> positions in nodes
            return position[torch.searchsorted(ordered, ids)]

        layers, edge_index = len(self.fanouts), []
        for layer in range(layers):  # layer l reads the edges drawn at hops 0 .. L-1-l
            edges = torch.cat(drawn[:layers - layer])  # (e,)
            loops = torch.arange(int(sizes[:layers - layer].sum()))  # every node the layer computes
            receivers = torch.searchsorted(self.indptr, edges, right=True) - 1  # (e,) whose group holds each edge
            edge_index.append(torch.stack([torch.cat([local(self.sources[edges]), loops]),
                                           torch.cat([local(receivers), loops])]))  # (2, e + n_l)
        distance = torch.repeat_interleave(torch.arange(layers + 1), sizes)  # (n,)
        return Sample(nodes=nodes, edge_index=edge_index, distance=distance, num_targets=len(targets))


def _contains(sorted_ids: torch.Tensor, ids: torch.Tensor) -> torch.Tensor:
    """(len(ids),) bool: which of ``ids`` are in the sorted tensor ``sorted_ids``."""
    at = torch.searchsorted(sorted_ids, ids).clamp(max=max(len(sorted_ids) - 1, 0))
    return sorted_ids[at] == ids if len(sorted_ids) else torch.zeros(len(ids), dtype=torch.bool)
