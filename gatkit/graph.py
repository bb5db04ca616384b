"""Reading a graph before modelling it: conversions and the statistics of chapter 02.

Every function takes the course's ``edge_index`` (see :mod:`gatkit.edges`: a (2, E) int64 tensor,
row 0 the source ``j``, row 1 the target ``i``) and the number of nodes ``N``, so isolated nodes,
which never appear in ``edge_index``, are still counted.

Conversions
    :func:`undirected_pairs`, :func:`to_networkx`, :func:`to_igraph`: by default an undirected
    *simple* graph (each edge once, no self-loops), with all ``N`` nodes.
Degrees
    :func:`degree`, :func:`degree_distribution`, :func:`top_degree_nodes`.
Connectivity
    :func:`connected_components`, :func:`component_sizes`, :func:`largest_component`
    (hop distances and subgraphs are in :mod:`gatkit.edges`).
Clustering
    :func:`local_clustering`, :func:`average_clustering`.
Labels on the graph
    :func:`edge_homophily`, :func:`class_homophily`, :func:`local_homophily`,
    :func:`class_balance`, :func:`class_compatibility`, :func:`adjusted_homophily`.

Examples
--------
>>> import torch
>>> edge_index = torch.tensor([[0, 1, 1, 2], [1, 0, 2, 1]])   # the path 0 - 1 - 2, both ways
>>> degree(edge_index, 4).tolist()                              # node 3 is isolated
[1, 2, 1, 0]
>>> connected_components(edge_index, 4).tolist()               # labelled by smallest member
[0, 0, 0, 3]
>>> edge_homophily(edge_index, torch.tensor([0, 0, 1, 1]))
0.5
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
import scipy.sparse as sp
import torch
from scipy.sparse import csgraph

from gatkit.edges import validate_edge_index

if TYPE_CHECKING:  # imported lazily: networkx and igraph take time to import
    import igraph
    import networkx

__all__ = [
    "adjusted_homophily",
    "average_clustering",
    "class_balance",
    "class_compatibility",
    "class_homophily",
    "component_sizes",
    "connected_components",
    "degree",
    "degree_distribution",
    "edge_homophily",
    "largest_component",
    "local_clustering",
    "local_homophily",
    "to_igraph",
    "to_networkx",
    "top_degree_nodes",
    "undirected_pairs",
]


# --------------------------------------------------------------------------
# Conversions
# --------------------------------------------------------------------------


def undirected_pairs(edge_index: torch.Tensor, num_nodes: int, *, self_loops: bool = False) -> torch.Tensor:
    """Each undirected edge of ``edge_index`` once, as a (2, M) tensor with ``row 0 <= row 1``.

    ``a -> b`` and ``b -> a`` (and repeated columns) become the one pair ``(min, max)``;
    self-loops are dropped unless ``self_loops=True``. Columns are sorted.

    Parameters
    ----------
    edge_index : torch.Tensor
        (2, E) int64, any direction(s).
    num_nodes : int
        ``N``; ids must lie in ``0 .. N - 1``.
    self_loops : bool, default False
        Keep columns ``(i, i)`` (once each).

    Returns
    -------
    torch.Tensor
        (2, M) int64.
    """
    validate_edge_index(edge_index, num_nodes)
    low = torch.minimum(edge_index[0], edge_index[1])  # (E,)
    high = torch.maximum(edge_index[0], edge_index[1])  # (E,)
    keep = torch.ones_like(low, dtype=torch.bool) if self_loops else low != high
    key = torch.unique(low[keep] * num_nodes + high[keep])  # (M,) sorted
    return torch.stack([key // num_nodes, key % num_nodes])  # (2, M)


def _simple_edges(edge_index: torch.Tensor, num_nodes: int, directed: bool, self_loops: bool) -> list:
    """The edge list of the simple graph the converters build, as Python pairs."""
    if not directed:
        return undirected_pairs(edge_index, num_nodes, self_loops=self_loops).T.tolist()
    validate_edge_index(edge_index, num_nodes)
    keep = edge_index if self_loops else edge_index[:, edge_index[0] != edge_index[1]]
    return torch.unique(keep, dim=1).T.tolist()  # repeated columns collapse


def to_networkx(edge_index: torch.Tensor, num_nodes: int, *, directed: bool = False,
                self_loops: bool = False) -> "networkx.Graph":
    """A networkx graph with nodes ``0 .. num_nodes - 1`` and the edges of ``edge_index``.

    Parameters
    ----------
    edge_index : torch.Tensor
        (2, E) int64, row 0 source, row 1 target.
    num_nodes : int
        ``N``: every node is added, isolated ones too.
    directed : bool, default False
        ``False``: a ``networkx.Graph``, each undirected edge once however many columns name it.
        ``True``: a ``networkx.DiGraph`` with one edge ``j -> i`` per distinct column.
    self_loops : bool, default False
        Keep self-loop columns (``edge_index_with_self_loops`` has one per node).

    Returns
    -------
    networkx.Graph or networkx.DiGraph
    """
    import networkx as nx

    graph = nx.DiGraph() if directed else nx.Graph()
    graph.add_nodes_from(range(num_nodes))
    graph.add_edges_from(_simple_edges(edge_index, num_nodes, directed, self_loops))
    return graph


def to_igraph(edge_index: torch.Tensor, num_nodes: int, *, directed: bool = False,
              self_loops: bool = False) -> "igraph.Graph":
    """An igraph graph with vertices ``0 .. num_nodes - 1``; flags as in :func:`to_networkx`.

    Vertex ``k`` of the result is node ``k``, so per-vertex results (degrees, layouts, components)
    index like ``dataset.y``.
    """
    import igraph as ig

    return ig.Graph(n=num_nodes, edges=_simple_edges(edge_index, num_nodes, directed, self_loops),
                    directed=directed)


# --------------------------------------------------------------------------
# Degrees
# --------------------------------------------------------------------------


def degree(edge_index: torch.Tensor, num_nodes: int, *, direction: str = "in") -> torch.Tensor:
    """Number of edges into (``"in"``) or out of (``"out"``) each node, as an (N,) int64 tensor.

    The in-degree of ``i`` counts the columns whose target (row 1) is ``i``: the size of the
    neighbourhood a GAT layer's softmax runs over. ``minlength=num_nodes`` keeps trailing isolated
    nodes, which never appear in ``edge_index``. For an undirected ``edge_index`` (both directions
    stored) in- and out-degree are equal. Self-loop columns count once.
    """
    if direction not in ("in", "out"):
        raise ValueError(f"direction must be 'in' or 'out', got {direction!r}")
    validate_edge_index(edge_index, num_nodes)
    row = edge_index[1] if direction == "in" else edge_index[0]
    return torch.bincount(row, minlength=num_nodes)  # (N,)


def degree_distribution(degrees: torch.Tensor) -> torch.Tensor:
    """``counts[k]`` = how many nodes have degree ``k``, for ``k = 0 .. max degree``.

    Parameters
    ----------
    degrees : torch.Tensor
        (N,) non-negative integers, e.g. from :func:`degree`.

    Returns
    -------
    torch.Tensor
        (max + 1,) int64; sums to ``N``.
    """
    return torch.bincount(degrees.long())  # (max + 1,)


def top_degree_nodes(degrees: torch.Tensor, k: int = 10) -> tuple[torch.Tensor, torch.Tensor]:
    """The ``k`` nodes of highest degree, highest first; ties go to the smaller node id.

    Returns
    -------
    nodes, values : torch.Tensor
        (k,) int64 node ids and their degrees (fewer if there are fewer than ``k`` nodes).
    """
    values, nodes = torch.sort(degrees, descending=True, stable=True)  # stable: ties by id
    return nodes[:k], values[:k]


# --------------------------------------------------------------------------
# Connectivity
# --------------------------------------------------------------------------


def _scipy_adjacency(edge_index: torch.Tensor, num_nodes: int) -> sp.csr_matrix:
    """Symmetric 0/1 (N, N) CSR matrix of the undirected simple graph (no self-loops)."""
    pairs = undirected_pairs(edge_index, num_nodes).numpy()  # (2, M)
    both = np.concatenate([pairs, pairs[::-1]], axis=1)  # (2, 2M)
    ones = np.ones(both.shape[1], dtype=np.float64)
    return sp.csr_matrix((ones, (both[0], both[1])), shape=(num_nodes, num_nodes))


def connected_components(edge_index: torch.Tensor, num_nodes: int) -> torch.Tensor:
    """Component label of every node: the smallest node id in its connected component.

    Edges count in both directions (weak connectivity), so a one-way edge list gives the same
    labels as its symmetric version. Labelling each component by its smallest member makes the
    labels unique and independent of the algorithm that found them.

    Returns
    -------
    torch.Tensor
        (N,) int64; ``labels[i] == i`` exactly for the smallest node of each component, and an
        isolated node is its own component.
    """
    _, found = csgraph.connected_components(_scipy_adjacency(edge_index, num_nodes), directed=False)
    found = torch.from_numpy(found.astype(np.int64))  # (N,) arbitrary component numbers
    nodes = torch.arange(num_nodes)  # (N,)
    smallest = torch.full((int(found.max()) + 1 if num_nodes else 0,), num_nodes, dtype=torch.long)
    smallest = smallest.scatter_reduce(0, found, nodes, reduce="amin")  # (components,)
    return smallest[found]  # (N,)


def component_sizes(labels: torch.Tensor) -> torch.Tensor:
    """Sizes of the components given by ``labels`` (any integer labelling), largest first."""
    _, counts = torch.unique(labels, return_counts=True)
    return torch.sort(counts, descending=True).values  # (components,)


def largest_component(edge_index: torch.Tensor, num_nodes: int) -> torch.Tensor:
    """Sorted node ids of the largest connected component (the one with the smallest id on a tie)."""
    labels = connected_components(edge_index, num_nodes)  # (N,)
    counts = torch.bincount(labels, minlength=num_nodes)  # (N,) size, indexed by label
    biggest = int(torch.argmax(counts))  # argmax returns the first maximum: smallest label
    return torch.nonzero(labels == biggest).flatten()


# --------------------------------------------------------------------------
# Clustering
# --------------------------------------------------------------------------


def local_clustering(edge_index: torch.Tensor, num_nodes: int) -> torch.Tensor:
    """Local clustering coefficient of every node, as an (N,) float64 tensor.

    ``c_i = T_i / (d_i (d_i - 1) / 2)``: the share of pairs of ``i``'s neighbours that are
    themselves linked (``T_i`` triangles through ``i``, ``d_i`` neighbours in the undirected simple
    graph). Nodes with fewer than two neighbours get 0, as in networkx.
    """
    adj = _scipy_adjacency(edge_index, num_nodes)  # (N, N)
    triangles = np.asarray((adj @ adj).multiply(adj).sum(axis=1)).ravel() / 2  # (N,)
    deg = np.asarray(adj.sum(axis=1)).ravel()  # (N,)
    pairs = deg * (deg - 1) / 2
    coeff = np.divide(triangles, pairs, out=np.zeros_like(triangles), where=pairs > 0)
    return torch.from_numpy(coeff)  # (N,)


def average_clustering(edge_index: torch.Tensor, num_nodes: int) -> float:
    """Mean local clustering coefficient over all ``N`` nodes (networkx's ``average_clustering``)."""
    return float(local_clustering(edge_index, num_nodes).mean()) if num_nodes else 0.0


# --------------------------------------------------------------------------
# Labels on the graph
# --------------------------------------------------------------------------


def _check_labels(y: torch.Tensor, edge_index: torch.Tensor) -> None:
    if not isinstance(y, torch.Tensor) or y.dim() != 1:
        raise ValueError(f"y must be a 1-D tensor of class ids, got {getattr(y, 'shape', type(y))}")
    validate_edge_index(edge_index, len(y))


def _without_self_loops(edge_index: torch.Tensor) -> torch.Tensor:
    return edge_index[:, edge_index[0] != edge_index[1]]


def edge_homophily(edge_index: torch.Tensor, y: torch.Tensor) -> float:
    """Share of edges ``j -> i`` that join two nodes of the same class.

    Counted over the columns of ``edge_index`` with self-loops removed (a node always shares its
    own class, so self-loops would only inflate the value). For an undirected ``edge_index`` that
    stores both directions this equals the share over undirected edges. ``nan`` if no edges remain.
    """
    _check_labels(y, edge_index)
    edge_index = _without_self_loops(edge_index)
    if edge_index.shape[1] == 0:
        return float("nan")
    return float((y[edge_index[0]] == y[edge_index[1]]).double().mean())


def class_homophily(edge_index: torch.Tensor, y: torch.Tensor, num_classes: int | None = None) -> torch.Tensor:
    """Per class ``c``: the share of edges into class-``c`` nodes that come from class ``c``.

    Self-loops are ignored. A class with no incoming edges gets ``nan``.

    Returns
    -------
    torch.Tensor
        (C,) float64.
    """
    _check_labels(y, edge_index)
    num_classes = int(y.max()) + 1 if num_classes is None else num_classes
    edge_index = _without_self_loops(edge_index)
    target_class = y[edge_index[1]]  # (E,)
    same = (y[edge_index[0]] == target_class).double()  # (E,)
    total = torch.bincount(target_class, minlength=num_classes).double()  # (C,)
    hits = torch.bincount(target_class, weights=same, minlength=num_classes)  # (C,)
    return hits / total  # 0 / 0 = nan for a class without edges


def local_homophily(edge_index: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """Per node ``i``: the share of its in-neighbours ``j`` (edges ``j -> i``) with ``y[j] == y[i]``.

    Self-loops are ignored; nodes without neighbours get ``nan``. Its mean over nodes is the
    *node homophily* of Pei et al. (2020), which weighs every node equally, where
    :func:`edge_homophily` weighs every edge equally.

    Returns
    -------
    torch.Tensor
        (N,) float64.
    """
    _check_labels(y, edge_index)
    edge_index = _without_self_loops(edge_index)
    same = (y[edge_index[0]] == y[edge_index[1]]).double()  # (E,)
    total = torch.bincount(edge_index[1], minlength=len(y)).double()  # (N,)
    hits = torch.bincount(edge_index[1], weights=same, minlength=len(y))  # (N,)
    return hits / total


def class_balance(y: torch.Tensor, splits: dict[str, torch.Tensor],
                  num_classes: int | None = None) -> dict[str, torch.Tensor]:
    """How many nodes of each class every split holds.

    Parameters
    ----------
    y : torch.Tensor
        (N,) int64 class ids.
    splits : dict of str to torch.Tensor
        Split name to node ids, e.g. ``{"train": d.train_idx, "val": d.val_idx, "test": d.test_idx}``.
    num_classes : int, optional
        ``C``; defaults to ``y.max() + 1``.

    Returns
    -------
    dict of str to torch.Tensor
        Same keys, each a (C,) int64 tensor of counts.
    """
    num_classes = int(y.max()) + 1 if num_classes is None else num_classes
    return {name: torch.bincount(y[idx], minlength=num_classes) for name, idx in splits.items()}


def _num_classes(y: torch.Tensor, num_classes: int | None) -> int:
    """``C``: ``num_classes`` if given (it must cover every label), else ``y.max() + 1``."""
    found = int(y.max()) + 1 if len(y) else 0
    if num_classes is None:
        return found
    if num_classes < found:
        raise ValueError(f"num_classes={num_classes} but y holds class {found - 1}")
    return num_classes


def class_compatibility(edge_index: torch.Tensor, y: torch.Tensor, num_classes: int | None = None) -> torch.Tensor:
    """Where the messages into each class come from: a (C, C) matrix whose rows sum to 1.

    Entry ``[k, l]`` is the share of the edges ``j -> i`` into class-``k`` targets (``y[i] == k``)
    whose source is of class ``l`` (``y[j] == l``). Row ``k`` is what a class-``k`` node receives
    from its neighbours, by class; the diagonal is :func:`class_homophily`. On a homophilous graph
    the weight sits on the diagonal; a heterophilous graph may still be *structured* (each row
    concentrated on some other class), or not (every row close to the class mix of the graph).

    Self-loops are ignored (as in :func:`edge_homophily`). Every column counts, so an edge stored
    in both directions counts once for each end, and a one-way edge only for its target. A class
    that receives no edge gets a row of ``nan`` (0 / 0: there is nothing to describe).

    Parameters
    ----------
    edge_index : torch.Tensor
        (2, E) int64, row 0 source ``j``, row 1 target ``i``.
    y : torch.Tensor
        (N,) int64 class ids.
    num_classes : int, optional
        ``C``; defaults to ``y.max() + 1``. Give it when a class may have no node.

    Returns
    -------
    torch.Tensor
        (C, C) float64; rows of classes that receive edges sum to 1, the others are ``nan``.

    Examples
    --------
    >>> edge_index = torch.tensor([[0, 1, 2, 1], [1, 0, 1, 2]])   # the path 0 - 1 - 2, both ways
    >>> class_compatibility(edge_index, torch.tensor([0, 1, 0])).tolist()
    [[0.0, 1.0], [1.0, 0.0]]
    """
    _check_labels(y, edge_index)
    num_classes = _num_classes(y, num_classes)
    edge_index = _without_self_loops(edge_index)
    pair = y[edge_index[1]] * num_classes + y[edge_index[0]]  # (E,) target class k, source class l
    counts = torch.bincount(pair, minlength=num_classes * num_classes).view(num_classes, num_classes)  # (C, C)
    counts = counts.double()
    return counts / counts.sum(dim=1, keepdim=True)  # (C, C); 0 / 0 = nan for a class without edges


def adjusted_homophily(edge_index: torch.Tensor, y: torch.Tensor, num_classes: int | None = None) -> float:
    """Edge homophily corrected for what the class sizes alone would give (Platonov et al., 2023).

    ``h_adj = (h_edge - sum_k p_k^2) / (1 - sum_k p_k^2)`` with ``h_edge`` the
    :func:`edge_homophily` and ``p_k = D_k / (2|E|)``, ``D_k`` the sum of the degrees of the
    class-``k`` nodes: the share of edge *ends* in class ``k``. ``sum_k p_k^2`` is the edge
    homophily expected if edges were wired at random with every node keeping its degree, so
    ``h_adj`` is 0 for such a graph, 1 when every edge joins one class, and negative when
    edges join different classes more often than chance. A graph with one big class can have a
    high edge homophily by chance alone: minesweeper's 0.68 is ``h_adj`` 0.01.

    Self-loops are ignored. Degrees are those of the undirected graph: each column contributes
    both its ends (for an ``edge_index`` stored in both directions, ``D_k`` is the sum of the
    in-degrees of class ``k``; for a one-way list it is the degree in the undirected graph), so
    the value does not depend on the direction of the edges.

    Parameters
    ----------
    edge_index : torch.Tensor
        (2, E) int64.
    y : torch.Tensor
        (N,) int64 class ids.
    num_classes : int, optional
        ``C``, checked against ``y``; the value does not depend on it (an absent class has
        ``p_k = 0``). Accepted so that calls can mirror :func:`class_compatibility`.

    Returns
    -------
    float
        In ``[-1, 1]`` (it is Newman's assortativity coefficient of the class labels on the
        undirected graph); ``nan`` without edges or when every edge end is in one class (the
        chance level is then 1 and the ratio 0 / 0).

    References
    ----------
    Platonov, Kuznedelev, Babenko, Prokhorenkova, *Characterizing Graph Datasets for Node
    Classification: Homophily-Heterophily Dichotomy and Beyond* (NeurIPS 2023), and *A critical
    look at the evaluation of GNNs under heterophily* (ICLR 2023), which reports it per dataset.
    """
    _check_labels(y, edge_index)
    num_classes = _num_classes(y, num_classes)
    edge_index = _without_self_loops(edge_index)
    if edge_index.shape[1] == 0:
        return float("nan")
    h_edge = (y[edge_index[0]] == y[edge_index[1]]).double().mean()
    ends = torch.bincount(y[edge_index.flatten()], minlength=num_classes).double()  # (C,) D_k: ends in class k
    chance = ((ends / ends.sum()) ** 2).sum()  # sum_k p_k^2
    return float((h_edge - chance) / (1 - chance))  # 0 / 0 = nan if every end is in one class
