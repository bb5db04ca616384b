"""A graph split between processes, each holding its own nodes' features and incoming edges.

What DistDGL does at scale, small: :func:`partition_nodes` gives every node an owner, one of
``P`` parts (the *partition book*, ``(N,)`` ints, which every process knows). Process ``k`` holds
only part ``k``: its nodes' features and the edges into its nodes (:func:`local_graph`). A GAT
layer's output at node ``i`` reads ``i``'s incoming edges and the inputs of their sources, so
before every layer process ``k`` fetches the current rows of its *halo* (:func:`halo`: sources of
edges into part ``k`` that other parts own) from their owners, then computes the layer for its
own nodes only (:func:`partitioned_forward`).

The exchange is planned once, as a real system plans it (:func:`plan_exchange`): each process
sends every owner the ids it wants from it (two ``all_to_all_single`` calls: counts, then ids),
so each learns which of its own rows to send to whom. Every layer then costs one
``all_to_all_single`` (:func:`exchange`): part ``k`` receives ``h_k`` rows of the layer's input
width, ``h_k * D_l * 4`` bytes in float32 (:meth:`LocalGraph.bytes_received`). The partition
decides ``h_k``: a random one cuts an edge with probability ``1 - 1 / P``, a locality one
(here reverse Cuthill-McKee, METIS in DistDGL) keeps most edges inside the parts.

:func:`forward_worker` runs the whole thing in one process of a group started by
:func:`gatkit.distributed.spawn` (or ``torchrun``); :func:`assemble_logits` puts the parts'
logits back in node order. Forward only, in eval mode: training would also send the gradients
of the halo rows back to their owners (``torch.distributed.nn.functional.all_to_all_single``
does that). Notation: ``n`` own nodes, ``h`` halo nodes, local ids ``0 .. n-1`` own, ``n ..
n+h-1`` halo.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import scipy.sparse
import torch
import torch.distributed as dist
from scipy.sparse.csgraph import reverse_cuthill_mckee
from torch import Tensor

from gatkit.layers import GAT

#: How :func:`partition_nodes` can split a graph.
PARTITION_METHODS = ("random", "locality")


def partition_nodes(edge_index: torch.Tensor, num_nodes: int, num_parts: int, method: str = "locality",
                    seed: int = 0) -> torch.Tensor:
    """(N,) int64: the part (0 .. num_parts - 1) of each node, parts of equal size (within one).

    ``"random"`` deals the nodes out at random; every edge then crosses between parts with
    probability ``1 - 1 / num_parts``. ``"locality"`` orders the nodes by reverse Cuthill-McKee (a
    breadth-first order that keeps neighbours close together) and cuts that order into
    consecutive runs, so most edges stay inside a part: a simple stand-in for METIS, which
    minimises the edges cut directly and is what DistDGL and PyG's ``ClusterData`` use.
    """
    if method not in PARTITION_METHODS:
        raise ValueError(f"method must be one of {', '.join(map(repr, PARTITION_METHODS))}, got {method!r}")
    if not 1 <= num_parts <= max(num_nodes, 1):
        raise ValueError(f"num_parts must be between 1 and the number of nodes ({num_nodes}), got {num_parts}")
    if method == "random":
        order = torch.randperm(num_nodes, generator=torch.Generator().manual_seed(seed))  # (N,)
    else:
        source, target = edge_index.cpu().numpy()
        adjacency = scipy.sparse.coo_matrix((np.ones(len(source)), (source, target)), shape=(num_nodes, num_nodes))
        symmetric = (adjacency + adjacency.T).tocsr()
        order = torch.from_numpy(reverse_cuthill_mckee(symmetric, symmetric_mode=True).astype(np.int64))  # (N,)
    parts = torch.empty(num_nodes, dtype=torch.long)
    parts[order] = torch.arange(num_nodes) * num_parts // num_nodes  # consecutive runs of the order
    return parts


def halo(edge_index: torch.Tensor, parts: torch.Tensor, part: int) -> torch.Tensor:
    """The nodes that part ``part`` must fetch from other parts before each layer.

    Parameters
    ----------
    edge_index
        (2, E) edges, row 0 source j, row 1 target i.
    parts
        (N,) int64: the part each node belongs to.
    part
        Which part.

    Returns
    -------
    torch.Tensor
        (h,) int64 sorted distinct ids of the nodes outside ``part`` that are the source of an
        edge into a node of ``part``: a layer's outputs at ``part``'s nodes read their features.
    """
    into_part = parts[edge_index[1]] == part  # (E,) edges whose target this part computes
    sources = edge_index[0, into_part]  # (e,)
    return torch.unique(sources[parts[sources] != part])  # (h,) sorted


@dataclass(frozen=True, eq=False)
class LocalGraph:
    """What one process holds of a partitioned graph: its nodes, its halo, the edges into its nodes.

    Local ids: own nodes ``0 .. n-1`` in the order of ``nodes``, halo nodes ``n .. n+h-1`` in the
    order of ``halo``; ``global_ids`` maps them back. Made by :func:`local_graph`.
    """

    part: int                 # which part this is
    num_parts: int            # P
    nodes: Tensor             # (n,) int64 sorted global ids of the part's own nodes
    halo: Tensor              # (h,) int64 sorted global ids of the nodes it fetches (halo(...))
    halo_owners: Tensor       # (h,) int64 the part that owns each halo node
    edge_index: Tensor        # (2, e) int64 local ids of the edges into own nodes; every target < n

    @property
    def num_own(self) -> int:
        """``n``, the nodes this part computes."""
        return int(self.nodes.numel())

    @property
    def global_ids(self) -> Tensor:
        """(n + h,) int64 the global id of every local id: own nodes, then halo."""
        return torch.cat([self.nodes, self.halo])  # (n + h,)

    @property
    def receive_counts(self) -> Tensor:
        """(P,) int64 halo rows fetched from each part per layer (zero from itself)."""
        return torch.bincount(self.halo_owners, minlength=self.num_parts)  # (P,)

    def bytes_received(self, model: GAT, bytes_per_value: int = 4) -> list[int]:
        """Bytes this part fetches before each layer of ``model``: ``h`` rows of that layer's input width."""
        return [int(self.halo.numel()) * layer.in_features * bytes_per_value for layer in model.layers]


def local_graph(edge_index: Tensor, parts: Tensor, part: int) -> LocalGraph:
    """Part ``part`` of a graph: its own nodes, its halo and the edges into its nodes, renumbered.

    Parameters
    ----------
    edge_index
        (2, E) int64 edges of the whole graph, row 0 source j, row 1 target i, with whatever
        self-loops the model wants (they are kept, as are the edges' order and any repeats).
    parts
        (N,) int64 the partition book: the part each node belongs to.
    part
        Which part.

    Returns
    -------
    LocalGraph
        ``edge_index`` holds the edges whose target is in ``part``, in their original order,
        with local ids: ``global_ids[local.edge_index]`` are the original edges.
    """
    num_parts = int(parts.max()) + 1
    if not 0 <= part < num_parts:
        raise ValueError(f"part must be between 0 and {num_parts - 1} (the parts in the book), got {part}")
    nodes = torch.nonzero(parts == part).flatten()  # (n,) sorted
    fetched = halo(edge_index, parts, part)  # (h,) sorted
    local_id = torch.full((len(parts),), -1, dtype=torch.long)  # (N,) -1: neither own nor halo
    local_id[nodes] = torch.arange(len(nodes))
    local_id[fetched] = len(nodes) + torch.arange(len(fetched))
    incoming = edge_index[:, parts[edge_index[1]] == part]  # (2, e) edges into own nodes
    return LocalGraph(part=part, num_parts=num_parts, nodes=nodes, halo=fetched, halo_owners=parts[fetched],
                      edge_index=local_id[incoming])  # (2, e) local ids


@dataclass(frozen=True, eq=False)
class ExchangePlan:
    """Who sends which rows to whom before each layer: made once by :func:`plan_exchange`.

    ``all_to_all_single`` sends and receives in blocks by rank, so the rows are kept grouped by
    part: ``send_rows`` by destination, the received rows by owner (``receive_order`` puts them
    back in halo order).
    """

    send_rows: Tensor               # (s,) int64 local ids of own rows to send, grouped by destination part
    send_counts: tuple[int, ...]    # (P,) rows sent to each part
    receive_counts: tuple[int, ...]  # (P,) rows received from each part
    receive_order: Tensor           # (h,) int64 the halo position of each received row, in arrival order

    @property
    def rows_sent(self) -> int:
        """Rows this process sends to the others per layer."""
        return sum(self.send_counts)


def plan_exchange(local: LocalGraph) -> ExchangePlan:
    """Tell every owner which of its rows this process wants, and learn which rows to send.

    A collective call: every process of the group (rank ``k`` holding part ``k``, as many
    processes as parts) calls it with its own part. Each knows only the partition book, so each
    asks: one ``all_to_all_single`` of counts (how many rows it wants from each part) and one of
    the wanted global ids, grouped by owner.
    """
    rank, world = dist.get_rank(), dist.get_world_size()
    if (rank, world) != (local.part, local.num_parts):
        raise ValueError(f"rank {rank} of {world} processes holds part {local.part} of {local.num_parts}: "
                         "run one process per part, rank k holding part k")
    receive_order = torch.argsort(local.halo_owners, stable=True)  # (h,) halo positions grouped by owner
    wanted = local.halo[receive_order]  # (h,) global ids, grouped by owner
    receive_counts = local.receive_counts  # (P,)
    send_counts = torch.empty_like(receive_counts)  # (P,)
    dist.all_to_all_single(send_counts, receive_counts)  # each part's count of my rows it wants
    requested = torch.empty(int(send_counts.sum()), dtype=torch.long)  # (s,) global ids, grouped by part
    dist.all_to_all_single(requested, wanted, output_split_sizes=send_counts.tolist(),
                           input_split_sizes=receive_counts.tolist())
    send_rows = torch.searchsorted(local.nodes, requested)  # (s,) local ids: nodes is sorted
    return ExchangePlan(send_rows=send_rows, send_counts=tuple(send_counts.tolist()),
                        receive_counts=tuple(receive_counts.tolist()), receive_order=receive_order)


def exchange(h_own: Tensor, plan: ExchangePlan) -> Tensor:
    """Send the rows others want and fetch the halo's: ``h_own`` (n, D) -> own rows then halo rows (n + h, D).

    A collective call (one ``all_to_all_single``): every process calls it with its own rows.
    """
    send = h_own[plan.send_rows]  # (s, D) grouped by destination
    received = h_own.new_empty(sum(plan.receive_counts), h_own.shape[1])  # (h, D) grouped by owner
    dist.all_to_all_single(received, send, output_split_sizes=list(plan.receive_counts),
                           input_split_sizes=list(plan.send_counts))
    h_halo = torch.empty_like(received)  # (h, D)
    h_halo[plan.receive_order] = received  # back in halo order
    return torch.cat([h_own, h_halo])  # (n + h, D)


def partitioned_forward(model: GAT, local: LocalGraph, x_own: Tensor, plan: ExchangePlan | None = None) -> Tensor:
    """(n, C) logits of this part's nodes, equal to ``model(x, edge_index)`` at them (in eval mode).

    Before each layer, :func:`exchange` fetches the halo's rows of that layer's input; the layer
    (with what follows it, :meth:`GAT.apply_layer`) then runs on the local graph, and only the own
    rows are kept: the halo rows' outputs lack their incoming edges, and their owners compute them.
    A collective call: every process of the group calls it. Runs without gradients in eval mode
    and restores the model's mode.

    Parameters
    ----------
    model
        The same GAT in every process.
    local
        This process's part (:func:`local_graph`).
    x_own
        (n, F) float input features of the own nodes, in the order of ``local.nodes``.
    plan
        From :func:`plan_exchange`; made here (two more collective calls) when None.
    """
    if x_own.shape[0] != local.num_own:
        raise ValueError(f"x_own must have one row per own node ({local.num_own}), got {x_own.shape[0]}")
    plan = plan_exchange(local) if plan is None else plan
    was_training = model.training
    model.eval()
    try:
        with torch.no_grad():
            h = x_own  # (n, F)
            for l in range(len(model.layers)):
                h, _ = model.apply_layer(l, exchange(h, plan), local.edge_index)  # (n + h, D_l+1)
                h = h[:local.num_own]  # (n, D_l+1) the halo's outputs are their owners' to compute
    finally:
        model.train(was_training)
    return h  # (n, C)


@dataclass(frozen=True, eq=False)
class PartResult:
    """What :func:`forward_worker` returns from one process."""

    nodes: Tensor                    # (n,) int64 global ids of the part's nodes
    logits: Tensor                   # (n, C) their logits
    rows_received: int               # h, halo rows fetched per layer
    rows_sent: int                   # rows sent to the other parts per layer
    bytes_received: tuple[int, ...]  # (L,) bytes fetched before each layer (float32)


def forward_worker(rank: int, world: int, graph: str | tuple[Tensor, Tensor], model: GAT,
                   method: str = "locality", seed: int = 0) -> PartResult:
    """One process of a partitioned forward pass: pass it to :func:`gatkit.distributed.spawn`.

    Every process partitions the graph the same way (``world`` parts, ``method``, ``seed``),
    keeps part ``rank`` and computes its nodes' logits with :func:`partitioned_forward`.

    Parameters
    ----------
    rank, world
        This process's rank and the number of processes (= parts), as ``spawn`` passes them.
    graph
        A dataset name for :func:`gatkit.data.load_dataset` (every process loads it and uses
        ``edge_index_with_self_loops``), or ``(x (N, F), edge_index (2, E))`` given directly.
    model
        The GAT, the same in every process (pickled to each).
    method, seed
        How to partition (:func:`partition_nodes`).
    """
    if isinstance(graph, str):
        from gatkit.data import load_dataset

        dataset = load_dataset(graph, progress=False)
        x, edge_index = dataset.x, dataset.edge_index_with_self_loops  # (N, F), (2, E + N)
    else:
        x, edge_index = graph  # (N, F), (2, E)
    parts = partition_nodes(edge_index, x.shape[0], world, method, seed)  # (N,) the book, alike everywhere
    local = local_graph(edge_index, parts, rank)
    plan = plan_exchange(local)
    logits = partitioned_forward(model, local, x[local.nodes], plan)  # (n, C): this part's features only
    return PartResult(nodes=local.nodes, logits=logits, rows_received=int(local.halo.numel()),
                      rows_sent=plan.rows_sent, bytes_received=tuple(local.bytes_received(model)))


def assemble_logits(results: list[PartResult]) -> Tensor:
    """(N, C) every part's logits at its nodes' ids: the whole graph's output, from the parts'."""
    num_nodes = sum(len(result.nodes) for result in results)
    logits = results[0].logits.new_empty(num_nodes, results[0].logits.shape[1])  # (N, C)
    for result in results:
        logits[result.nodes] = result.logits  # (n, C)
    return logits
