"""An interactive neighbourhood explorer: pick a node and a hop count, see its surroundings.

The work happens in plain functions that tests and scripts call directly:

- :func:`pick_node` turns a choice (a node id, ``"highest degree"``, ``"random"``) into a node id;
- :func:`neighbourhood_stats` computes what the explorer reports about a node;
- :func:`explore` returns the drawing (a matplotlib Figure) and those statistics.

:func:`explorer` only wires ipywidgets controls to :func:`explore`; nothing depends on it, so a
notebook without a widget frontend loses the controls, not the results.

Examples
--------
>>> from gatkit import load_planetoid
>>> from gatkit.explorer import explore
>>> cora = load_planetoid("cora")                       # doctest: +SKIP
>>> fig, stats = explore(cora, "highest degree", hops=1)  # doctest: +SKIP
>>> stats["node"], stats["degree"], stats["class"]        # doctest: +SKIP
(1358, 168, 'Genetic_Algorithms')
"""

from __future__ import annotations

import math
import numbers
from typing import Any, Protocol

import torch
from matplotlib.figure import Figure

from gatkit import graph, viz

__all__ = ["CHOICES", "explore", "explorer", "format_stats", "neighbourhood_stats", "pick_node"]

#: The named choices :func:`pick_node` accepts besides a node id.
CHOICES = ("highest degree", "random")

_MAX_HOPS = 4


class GraphDataset(Protocol):
    """What the explorer needs of a dataset (a :class:`gatkit.data.Planetoid` has it all)."""

    edge_index: torch.Tensor
    y: torch.Tensor
    class_names: tuple[str, ...]
    train_idx: torch.Tensor
    val_idx: torch.Tensor
    test_idx: torch.Tensor

    @property
    def num_nodes(self) -> int: ...


def pick_node(dataset: GraphDataset, choice: int | str, *, seed: int = 0) -> int:
    """The node id a choice stands for.

    Parameters
    ----------
    dataset : GraphDataset
        Needs ``edge_index`` and ``num_nodes``.
    choice : int or str
        A node id, ``"highest degree"`` (the smallest id among the nodes of highest degree), or
        ``"random"`` (drawn uniformly with its own ``torch.Generator`` seeded with ``seed``, so
        the global random state is untouched and the same seed gives the same node).
    seed : int
        Used by ``"random"`` only.

    Raises
    ------
    ValueError
        For an id outside ``0 .. N - 1`` or an unknown choice.
    """
    num_nodes = dataset.num_nodes
    if isinstance(choice, str):
        if choice == "highest degree":
            nodes, _ = graph.top_degree_nodes(graph.degree(dataset.edge_index, num_nodes), k=1)
            return int(nodes[0])
        if choice == "random":
            generator = torch.Generator().manual_seed(int(seed))
            return int(torch.randint(num_nodes, (1,), generator=generator))
        raise ValueError(f"choice must be a node id or one of {CHOICES}, got {choice!r}")
    if isinstance(choice, torch.Tensor) and choice.numel() == 1 and not choice.is_floating_point():
        choice = int(choice)
    if isinstance(choice, bool) or not isinstance(choice, numbers.Integral):
        raise ValueError(f"choice must be a node id or one of {CHOICES}, got {choice!r}")
    node = int(choice)
    if not 0 <= node < num_nodes:
        raise ValueError(f"node id must be in 0 .. {num_nodes - 1}, got {node}")
    return node


def neighbourhood_stats(dataset: GraphDataset, node: int, hops: int = 2) -> dict[str, Any]:
    """What the explorer reports about ``node`` and the nodes within ``hops`` hops.

    Returns
    -------
    dict
        ``node`` (int), ``class`` (its class name), ``split`` (``"train"``, ``"val"``,
        ``"test"`` or ``"none"``), ``degree`` (number of neighbours), ``hops``,
        ``nodes_per_hop`` (``{k: number of nodes exactly k hops away}``, ``k = 1 .. hops``),
        ``neighbour_classes`` (``{class name: count}`` over the direct neighbours, largest
        first), ``local_homophily`` (share of direct neighbours in the node's class; ``nan``
        without neighbours), ``same_class_within_hops`` (the same share over every node within
        ``hops`` hops, the centre excluded), ``component_size`` (nodes in its connected
        component).
    """
    num_nodes = dataset.num_nodes
    node = pick_node(dataset, node)
    if not 1 <= hops <= _MAX_HOPS:
        raise ValueError(f"hops must be between 1 and {_MAX_HOPS}, got {hops}")
    edge_index, y, names = dataset.edge_index, dataset.y, dataset.class_names
    distance = graph.hop_distances(edge_index, num_nodes, node, hops)  # (N,)
    neighbours = torch.nonzero(distance == 1).flatten()
    around = torch.nonzero(distance >= 1).flatten()
    per_class = torch.bincount(y[neighbours], minlength=len(names))  # (C,)
    order = torch.argsort(per_class, descending=True, stable=True)
    components = graph.connected_components(edge_index, num_nodes)
    return {
        "node": node,
        "class": names[int(y[node])],
        "split": _split_of(dataset, node),
        "degree": int(graph.degree(edge_index, num_nodes)[node]),
        "hops": hops,
        "nodes_per_hop": {k: int((distance == k).sum()) for k in range(1, hops + 1)},
        "neighbour_classes": {names[int(c)]: int(per_class[c]) for c in order if per_class[c] > 0},
        "local_homophily": _share(y[neighbours] == y[node]),
        "same_class_within_hops": _share(y[around] == y[node]),
        "component_size": int((components == components[node]).sum()),
    }


def _share(flags: torch.Tensor) -> float:
    return float(flags.double().mean()) if len(flags) else math.nan


def _split_of(dataset: GraphDataset, node: int) -> str:
    for name in ("train", "val", "test"):
        if bool((getattr(dataset, f"{name}_idx") == node).any()):
            return name
    return "none"


def explore(dataset: GraphDataset, node: int | str, hops: int = 2, *,
            seed: int = 0) -> tuple[Figure, dict[str, Any]]:
    """Draw ``node``'s ``hops``-hop neighbourhood and compute its statistics.

    Parameters
    ----------
    dataset : GraphDataset
        E.g. ``load_planetoid("cora")``.
    node : int or str
        A node id, ``"highest degree"`` or ``"random"`` (see :func:`pick_node`).
    hops : int
        1 to 4.
    seed : int
        For ``node="random"``.

    Returns
    -------
    figure : matplotlib.figure.Figure
        :func:`gatkit.viz.draw_neighbourhood` of the node.
    stats : dict
        :func:`neighbourhood_stats` of the node.
    """
    node = pick_node(dataset, node, seed=seed)
    stats = neighbourhood_stats(dataset, node, hops)
    figure = viz.draw_neighbourhood(dataset.edge_index, dataset.y, node, hops,
                                    class_names=dataset.class_names)
    return figure, stats


def format_stats(stats: dict[str, Any]) -> str:
    """The statistics of :func:`neighbourhood_stats` as a few lines of plain text."""
    per_hop = ", ".join(f"{n} at {k} hop{'s' if k > 1 else ''}" for k, n in stats["nodes_per_hop"].items())
    mix = ", ".join(f"{name} {count}" for name, count in stats["neighbour_classes"].items()) or "none"
    within = f"within {stats['hops']} hop{'s' if stats['hops'] > 1 else ''}"
    return "\n".join([
        f"node {stats['node']}: {stats['class']} (split: {stats['split']}), "
        f"degree {stats['degree']}, component of {stats['component_size']} nodes",
        f"{within}: {per_hop}",
        f"neighbours' classes: {mix}",
        f"local homophily (neighbours in its class): {stats['local_homophily']:.2f}; "
        f"{within}: {stats['same_class_within_hops']:.2f}",
    ])


def explorer(dataset: GraphDataset):
    """An ipywidgets panel: choose a node and a hop count, see :func:`explore`'s drawing and stats.

    Controls: how to choose (``"node id"``, ``"highest degree"``, ``"random"``), the node id, the
    random seed, and the hop count (1 to 3). Every change redraws.

    Returns
    -------
    ipywidgets.VBox
        Display it in a notebook (the last expression of a cell, or ``display(panel)``).
    """
    import ipywidgets as widgets
    import matplotlib.pyplot as plt
    from IPython.display import display

    how = widgets.ToggleButtons(options=["node id", *CHOICES], value="highest degree",
                                description="choose")
    node_id = widgets.BoundedIntText(value=0, min=0, max=dataset.num_nodes - 1, description="node id")
    seed = widgets.IntText(value=0, description="seed")
    hops = widgets.IntSlider(value=2, min=1, max=3, description="hops")

    def show(how: str, node_id: int, seed: int, hops: int) -> None:
        choice = node_id if how == "node id" else how
        figure, stats = explore(dataset, choice, hops, seed=seed)
        print(format_stats(stats))
        display(figure)
        plt.close(figure)  # shown once, here; not again at the end of the cell

    output = widgets.interactive_output(show, {"how": how, "node_id": node_id, "seed": seed,
                                               "hops": hops})
    controls = widgets.HBox([widgets.VBox([how, hops]), widgets.VBox([node_id, seed])])
    return widgets.VBox([controls, output])
