"""``edge_index``: the edge-list form of a graph that every GAT layer in gatkit consumes.

Convention (used everywhere in the course): ``edge_index`` is an int64 tensor of shape (2, E);
column ``k`` is the edge ``edge_index[0, k] -> edge_index[1, k]``, row 0 the source ``j``, row 1 the
target ``i``. Messages flow ``j -> i`` and attention is normalised over the incoming edges of each
target. The dense form is ``adj[i, j] = 1`` iff ``j -> i``.

Building: :func:`edge_index_from_adjacency`, :func:`sort_edges`, :func:`add_self_loops`,
:func:`to_dense_adjacency`; checking: :func:`validate_edge_index`; neighbourhoods along the
edges: :func:`hop_distances`, :func:`k_hop_subgraph`, :func:`receptive_field` (the part of a
graph that some nodes' outputs depend on).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

import torch


def edge_index_from_adjacency(adjacency: Mapping[int, Iterable[int]], num_nodes: int) -> torch.Tensor:
    """Undirected ``edge_index`` from an adjacency dict, as the Planetoid ``graph`` files hold it.

    Every listed pair becomes both directions; duplicates and self-loops are dropped; columns are
    sorted by (target, source).

    Returns
    -------
    torch.Tensor
        int64, shape (2, E).
    """
    pairs = [(int(node), int(neighbour)) for node, neighbours in adjacency.items() for neighbour in neighbours]
    one_way = torch.tensor(pairs, dtype=torch.long).reshape(-1, 2).T  # (2, E0)
    both_ways = torch.cat([one_way, one_way.flip(0)], dim=1)  # (2, 2 * E0)
    both_ways = both_ways[:, both_ways[0] != both_ways[1]]  # self-loops are added back explicitly later
    validate_edge_index(both_ways, num_nodes)
    return sort_edges(torch.unique(both_ways, dim=1), num_nodes)


def sort_edges(edge_index: torch.Tensor, num_nodes: int) -> torch.Tensor:
    """Sort the columns of ``edge_index`` by (target, source), so each neighbourhood is contiguous."""
    key = edge_index[1] * num_nodes + edge_index[0]  # (E,)
    return edge_index[:, torch.argsort(key)]


def add_self_loops(edge_index: torch.Tensor, num_nodes: int) -> torch.Tensor:
    """Append one self-loop ``i -> i`` for every node ``0 .. num_nodes - 1``, then sort.

    GAT attends over each node's neighbourhood *including the node itself*; nodes that have no
    edges get their self-loop too. ``edge_index`` must not already hold self-loops.
    """
    if bool((edge_index[0] == edge_index[1]).any()):
        raise ValueError("edge_index already has self-loops; remove them first "
                         "(edge_index[:, edge_index[0] != edge_index[1]])")
    loops = torch.arange(num_nodes, dtype=edge_index.dtype).repeat(2, 1)  # (2, N)
    return sort_edges(torch.cat([edge_index, loops], dim=1), num_nodes)


def to_dense_adjacency(edge_index: torch.Tensor, num_nodes: int, *,
                       dtype: torch.dtype = torch.float32, device: torch.device | str | None = None) -> torch.Tensor:
    """Dense (N, N) adjacency with ``adj[i, j] = 1`` iff there is an edge ``j -> i`` (float32 by default)."""
    adj = torch.zeros(num_nodes, num_nodes, dtype=dtype, device=device)  # (N, N)
    adj[edge_index[1], edge_index[0]] = 1.0
    return adj


def validate_edge_index(edge_index: object, num_nodes: int) -> None:
    """Raise ``ValueError`` (saying how to fix it) unless ``edge_index`` is a valid (2, E) edge list."""
    if not isinstance(edge_index, torch.Tensor):
        raise ValueError(f"edge_index must be a torch.Tensor, got {type(edge_index).__name__}")
    if edge_index.dtype != torch.long:
        raise ValueError(f"edge_index must have dtype torch.long (int64), got {edge_index.dtype}; "
                         "use edge_index.long()")
    if edge_index.dim() != 2 or edge_index.shape[0] != 2:
        hint = " (it looks transposed: use edge_index.T)" if edge_index.dim() == 2 and edge_index.shape[1] == 2 else ""
        raise ValueError(f"edge_index must have shape (2, E), got {tuple(edge_index.shape)}{hint}")
    if edge_index.numel() and (int(edge_index.min()) < 0 or int(edge_index.max()) >= num_nodes):
        raise ValueError(f"edge_index holds node ids from {int(edge_index.min())} to "
                         f"{int(edge_index.max())}, but valid ids are 0 .. {num_nodes - 1}")


# --- neighbourhoods and subgraphs -------------------------------------------------------------

def hop_distances(edge_index: torch.Tensor, num_nodes: int, node: int, hops: int) -> torch.Tensor:
    """Hop distance from every node to ``node`` along the edges, up to ``hops``; -1 beyond.

    Distances follow the edges *backwards*, from target to source: node ``j`` is at distance 1
    if there is an edge ``j -> node``. These are exactly the nodes whose features can reach
    ``node`` through ``hops`` GAT layers (its receptive field). On an undirected ``edge_index``
    the direction makes no difference.

    Returns
    -------
    torch.Tensor
        (N,) int64: 0 for ``node``, ``k`` for nodes ``k`` hops away, -1 for all others.
    """
    validate_edge_index(edge_index, num_nodes)
    if not 0 <= node < num_nodes:
        raise ValueError(f"node must be in 0 .. {num_nodes - 1}, got {node}")
    return _backward_distances(edge_index, num_nodes, torch.tensor([node]), hops)


def _backward_distances(edge_index: torch.Tensor, num_nodes: int, seeds: torch.Tensor, hops: int) -> torch.Tensor:
    """(N,) hops from each node to the nearest of ``seeds`` along edges taken backwards; -1 beyond."""
    if hops < 0:
        raise ValueError(f"hops must be >= 0, got {hops}")
    distance = torch.full((num_nodes,), -1, dtype=torch.long)  # (N,)
    distance[seeds] = 0
    frontier = distance == 0  # (N,)
    for hop in range(1, hops + 1):
        reached = torch.zeros(num_nodes, dtype=torch.bool)  # (N,)
        reached[edge_index[0, frontier[edge_index[1]]]] = True  # sources of edges into the frontier
        frontier = reached & (distance < 0)
        if not frontier.any():
            break
        distance[frontier] = hop
    return distance


def k_hop_subgraph(edge_index: torch.Tensor, num_nodes: int, node: int,
                   hops: int) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """The nodes within ``hops`` of ``node`` and the edges among them, relabelled ``0 .. n - 1``.

    Returns
    -------
    nodes : torch.Tensor
        (n,) int64 original ids, ``node`` first, then by hop distance and id.
    distance : torch.Tensor
        (n,) int64 hop distance of each of ``nodes``.
    sub_edge_index : torch.Tensor
        (2, e) int64 edges of ``edge_index`` with both ends in ``nodes``, in the new numbering
        (position in ``nodes``).
    """
    distance = hop_distances(edge_index, num_nodes, node, hops)  # (N,)
    inside = torch.nonzero(distance >= 0).flatten()  # (n,) sorted by id
    order = torch.argsort(distance[inside], stable=True)  # by hop, then id
    nodes = inside[order]  # (n,)
    return nodes, distance[nodes], _induced_edges(edge_index, num_nodes, nodes)


def _induced_edges(edge_index: torch.Tensor, num_nodes: int, nodes: torch.Tensor) -> torch.Tensor:
    """The edges with both ends in ``nodes``, in their order, renumbered by position in ``nodes``."""
    new_id = torch.full((num_nodes,), -1, dtype=torch.long)  # (N,)
    new_id[nodes] = torch.arange(len(nodes))
    keep = (new_id[edge_index[0]] >= 0) & (new_id[edge_index[1]] >= 0)  # (E,)
    return new_id[edge_index[:, keep]]


def receptive_field(edge_index: torch.Tensor, num_nodes: int, targets: torch.Tensor,
                    hops: int) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
    """The subgraph that ``hops`` message-passing layers read to compute the ``targets``' outputs.

    A layer's output at node ``i`` depends only on ``i``'s incoming edges and their sources, so
    ``hops`` layers' outputs at ``targets`` depend only on the nodes within ``hops`` of them
    (edges followed backwards) and the edges among those nodes. Running a model on this subgraph
    gives the targets exactly the outputs (and a loss on them exactly the gradients) that the
    whole graph would; nodes near the border get other outputs, but no target reads them.

    Returns
    -------
    nodes : torch.Tensor
        (n,) int64 original ids, sorted (so an edge list sorted by target stays sorted).
    sub_edge_index : torch.Tensor
        (2, e) int64 edges of ``edge_index`` with both ends in ``nodes``, in their original
        order, renumbered by position in ``nodes``.
    positions : torch.Tensor
        (len(targets),) int64 where each target sits in ``nodes``.
    distance : torch.Tensor
        (n,) int64 hops from each of ``nodes`` to the nearest target (0 for the targets).
    """
    validate_edge_index(edge_index, num_nodes)
    targets = torch.as_tensor(targets, dtype=torch.long)
    if targets.dim() != 1 or (targets.numel() and not (0 <= int(targets.min()) and int(targets.max()) < num_nodes)):
        raise ValueError(f"targets must be a 1-D tensor of node ids in 0 .. {num_nodes - 1}")
    distance = _backward_distances(edge_index, num_nodes, targets, hops)  # (N,)
    nodes = torch.nonzero(distance >= 0).flatten()  # (n,) sorted
    positions = torch.searchsorted(nodes, targets)  # (len(targets),) each target's place in nodes
    return nodes, _induced_edges(edge_index, num_nodes, nodes), positions, distance[nodes]


def receptive_field_sizes(edge_index: torch.Tensor, num_nodes: int, targets: torch.Tensor,
                          hops: int) -> torch.Tensor:
    """(hops + 1,) int64: how many distinct nodes lie within ``0, 1, ..., hops`` hops of ``targets``
    (edges followed backwards), so entry ``l`` is the number of nodes an ``l``-layer model reads to
    compute the targets' outputs (:func:`receptive_field` gives the nodes themselves)."""
    distance = receptive_field(edge_index, num_nodes, targets, hops)[3]  # (n,) 0 .. hops
    return torch.bincount(distance, minlength=hops + 1).cumsum(0)
