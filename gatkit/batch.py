"""Many graphs in one batch: the collate step of inductive learning.

In the inductive setting (PPI in the GAT paper, DictionaryLookup in GATv2's) a data set is many
small graphs, and a model trained on some of them is applied to others it has never seen. A GAT
layer works on *one* edge list, so a mini-batch of graphs is turned into one large graph with
several connected components: the node features are stacked, each graph's ``edge_index`` is
shifted by the number of nodes that come before it, and a ``batch`` vector remembers which graph
every node came from. No edge joins two graphs, so attention never mixes them: the layer computes
on the batch exactly what it computes on each graph alone.

:class:`Graph`
    One graph: ``x``, ``edge_index`` and optional labels ``y`` (with ``label_mask`` when only
    some nodes carry a label). :mod:`gatkit.lookup` builds its examples as ``Graph`` s.
:class:`GraphBatch`
    A ``Graph`` made by :func:`collate`, with ``batch`` (N,) and ``ptr`` (G + 1,) added.
:func:`collate`
    A list of ``Graph`` s to one ``GraphBatch``.

Examples
--------
>>> import torch
>>> a = Graph(torch.zeros(2, 3), torch.tensor([[0], [1]]))           # 0 -> 1
>>> b = Graph(torch.ones(3, 3), torch.tensor([[0, 2], [1, 1]]))      # 0 -> 1, 2 -> 1
>>> batch = collate([a, b])
>>> batch.edge_index.tolist()                                         # b's nodes are now 2, 3, 4
[[0, 2, 4], [1, 3, 3]]
>>> batch.batch.tolist(), batch.ptr.tolist()
([0, 0, 1, 1, 1], [0, 2, 5])
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence

import torch
from torch import Tensor

from gatkit.edges import validate_edge_index

__all__ = ["Graph", "GraphBatch", "collate"]


@dataclasses.dataclass(frozen=True, eq=False)
class Graph:
    """One graph: node features, edges and (optionally) labels, checked when built.

    Parameters
    ----------
    x : torch.Tensor
        ``(N, ...)`` node features, one row per node, any dtype: float features, or integer
        tokens that a model embeds (as in :mod:`gatkit.lookup`). At least one node.
    edge_index : torch.Tensor
        ``(2, E)`` int64, row 0 the source ``j``, row 1 the target ``i`` (messages flow
        ``j -> i``), ids in ``0 .. N - 1``. ``E`` may be 0.
    y : torch.Tensor or None, default None
        Labels, first dimension either ``N`` (one per node, ``label_mask`` None) or the number
        of ``True`` entries of ``label_mask`` (one per labelled node, in node order).
    label_mask : torch.Tensor or None, default None
        ``(N,)`` bool: the nodes that ``y`` labels (for DictionaryLookup, the query nodes).
        None means every node is labelled.

    Notes
    -----
    The tensors are not copied: many graphs may share one ``edge_index`` or ``label_mask``
    (the examples of :func:`gatkit.lookup.dictionary_lookup` do), so never edit them in place.
    """

    x: Tensor
    edge_index: Tensor
    y: Tensor | None = None
    label_mask: Tensor | None = None

    def __post_init__(self) -> None:
        if not isinstance(self.x, Tensor) or self.x.dim() == 0:
            raise ValueError(f"x must be a tensor with one row per node, got {_describe(self.x)}")
        num_nodes = self.x.shape[0]
        if num_nodes == 0:
            raise ValueError("x has no rows: a graph needs at least one node")
        validate_edge_index(self.edge_index, num_nodes)
        if self.edge_index.device != self.x.device:
            raise ValueError(f"edge_index is on {self.edge_index.device} but x is on {self.x.device}; "
                             "move both with graph.to(device)")
        num_labels = num_nodes
        if self.label_mask is not None:
            mask = self.label_mask
            if not isinstance(mask, Tensor) or mask.dtype != torch.bool or mask.shape != (num_nodes,):
                raise ValueError(f"label_mask must be a bool tensor of shape ({num_nodes},), one entry per node, "
                                 f"got {_describe(mask)}")
            num_labels = int(mask.sum())
        if self.y is not None:
            if not isinstance(self.y, Tensor) or self.y.dim() == 0 or self.y.shape[0] != num_labels:
                where = "labelled node (True in label_mask)" if self.label_mask is not None else "node"
                raise ValueError(f"y must have one row per {where}, {num_labels} rows, got {_describe(self.y)}")

    @property
    def num_nodes(self) -> int:
        """N, the number of nodes."""
        return self.x.shape[0]

    @property
    def num_edges(self) -> int:
        """E, the number of edges (columns of ``edge_index``)."""
        return self.edge_index.shape[1]

    def to(self, device: torch.device | str) -> Graph:
        """The same graph with every tensor on ``device`` (``self`` if they are there already)."""
        tensors = {field.name: getattr(self, field.name) for field in dataclasses.fields(self)}
        moved = {name: value.to(device) for name, value in tensors.items() if value is not None}
        if all(moved[name] is tensors[name] for name in moved):
            return self
        return dataclasses.replace(self, **moved)


@dataclasses.dataclass(frozen=True, eq=False, kw_only=True)
class GraphBatch(Graph):
    """Several graphs as one disconnected graph, as :func:`collate` makes it.

    It is a :class:`Graph` (``x``, ``edge_index``, ``y``, ``label_mask`` are the concatenations),
    so a model takes it like any graph, plus two ways of telling the graphs apart.

    Attributes
    ----------
    batch : torch.Tensor
        ``(N,)`` int64: ``batch[n]`` is the graph that node ``n`` came from, ``0 .. G - 1``.
        For the graph of each label, use ``batch[label_mask]`` (or ``batch`` when every node is
        labelled), e.g. to count the graphs whose labels are all right.
    ptr : torch.Tensor
        ``(G + 1,)`` int64: graph ``g`` owns the nodes ``ptr[g] .. ptr[g + 1] - 1``; ``ptr[-1]``
        is N.
    """

    batch: Tensor
    ptr: Tensor

    def __post_init__(self) -> None:
        super().__post_init__()
        if self.batch.shape != (self.num_nodes,) or self.ptr.dim() != 1 or int(self.ptr[-1]) != self.num_nodes:
            raise ValueError(f"batch must be ({self.num_nodes},) and ptr end at {self.num_nodes}; "
                             "build a GraphBatch with collate(graphs)")

    @property
    def num_graphs(self) -> int:
        """G, the number of graphs in the batch."""
        return self.ptr.numel() - 1

    @property
    def graph_sizes(self) -> Tensor:
        """``(G,)`` int64: the number of nodes of each graph, e.g. for ``out.split(sizes.tolist())``."""
        return self.ptr.diff()


def collate(graphs: Sequence[Graph]) -> GraphBatch:
    """Put a list of graphs into one batch: a single graph whose components are the given graphs.

    Parameters
    ----------
    graphs : sequence of Graph
        At least one. Their ``x`` must agree in dtype and in every dimension after the first;
        either all or none have ``y`` (of one dtype and trailing shape). A graph without a
        ``label_mask`` counts as having every node labelled.

    Returns
    -------
    GraphBatch
        ``x`` ``(N, ...)``, all the ``x`` stacked in order; ``edge_index`` ``(2, E)``, each graph's
        edges shifted by the number of nodes before it (so they stay inside the graph);
        ``y`` the labels concatenated (None if no graph has labels); ``label_mask`` ``(N,)``
        concatenated (None if no graph has one); ``batch`` ``(N,)`` and ``ptr`` ``(G + 1,)``.

    Raises
    ------
    ValueError
        On an empty list, a non-``Graph`` entry, or graphs that cannot be stacked.

    Examples
    --------
    >>> import torch
    >>> g = Graph(torch.randn(3, 4), torch.tensor([[0, 1], [1, 2]]), y=torch.tensor([0, 1, 1]))
    >>> batch = collate([g, g])
    >>> batch.x.shape, batch.edge_index.tolist(), batch.y.tolist()
    (torch.Size([6, 4]), [[0, 1, 3, 4], [1, 2, 4, 5]], [0, 1, 1, 0, 1, 1])
    >>> batch.num_graphs, batch.graph_sizes.tolist()
    (2, [3, 3])
    """
    graphs = list(graphs)
    if not graphs:
        raise ValueError("collate needs at least one graph, got an empty list")
    for index, graph in enumerate(graphs):
        if not isinstance(graph, Graph):
            raise ValueError(f"graphs[{index}] is a {type(graph).__name__}, not a gatkit.batch.Graph")
    _require_same("x", [graph.x for graph in graphs])
    with_labels = [graph.y is not None for graph in graphs]
    if any(with_labels) and not all(with_labels):
        raise ValueError(f"graph {with_labels.index(False)} has no y but graph {with_labels.index(True)} has: "
                         "give every graph labels or none")
    if all(with_labels):
        _require_same("y", [graph.y for graph in graphs])

    device = graphs[0].x.device
    sizes = torch.tensor([graph.num_nodes for graph in graphs], device=device)  # (G,)
    ptr = torch.cat([sizes.new_zeros(1), sizes.cumsum(0)])  # (G + 1,)
    num_edges = torch.tensor([graph.num_edges for graph in graphs], device=device)  # (G,)
    shift = ptr[:-1].repeat_interleave(num_edges)  # (E,): the first node id of each edge's graph
    edge_index = torch.cat([graph.edge_index for graph in graphs], dim=1) + shift  # (2, E)
    batch = torch.arange(len(graphs), device=device).repeat_interleave(sizes)  # (N,)

    label_mask = None
    if any(graph.label_mask is not None for graph in graphs):
        label_mask = torch.cat([graph.label_mask if graph.label_mask is not None
                                else torch.ones(graph.num_nodes, dtype=torch.bool, device=device)
                                for graph in graphs])  # (N,)
    y = torch.cat([graph.y for graph in graphs]) if all(with_labels) else None
    return GraphBatch(x=torch.cat([graph.x for graph in graphs]), edge_index=edge_index, y=y,
                      label_mask=label_mask, batch=batch, ptr=ptr)


def _require_same(name: str, tensors: list[Tensor]) -> None:
    """Refuse, in one line, tensors that cannot be stacked along their first dimension."""
    first = tensors[0]
    for index, tensor in enumerate(tensors[1:], start=1):
        if tensor.shape[1:] != first.shape[1:] or tensor.dtype != first.dtype or tensor.device != first.device:
            raise ValueError(f"graph {index} has {name} of shape {tuple(tensor.shape)}, {tensor.dtype} on "
                             f"{tensor.device}, but graph 0 has {tuple(first.shape)}, {first.dtype} on "
                             f"{first.device}: only the first dimension may differ")


def _describe(value: object) -> str:
    if isinstance(value, Tensor):
        return f"a {value.dtype} tensor of shape {tuple(value.shape)}"
    return f"a {type(value).__name__}"
