"""``edge_index``: the edge-list form of a graph that every GAT layer in gatkit consumes.

Convention (used everywhere in the course): ``edge_index`` is an int64 tensor of shape (2, E);
column ``k`` is the edge ``edge_index[0, k] -> edge_index[1, k]``, row 0 the source ``j``, row 1 the
target ``i``. Messages flow ``j -> i`` and attention is normalised over the incoming edges of each
target. The dense form is ``adj[i, j] = 1`` iff ``j -> i``.
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
