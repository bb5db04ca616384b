"""An interactive neighbourhood explorer: pick a node and a hop count, see its surroundings.

The work happens in plain functions that tests and scripts call directly; the statistics need
no optional extra, the drawings the ``gatkit[plot]`` extra and the panels the ``gatkit[widgets]``
extra (without them they raise :class:`gatkit.extras.MissingExtraError`, which says how to
install it):

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
from typing import TYPE_CHECKING, Any, Protocol

import torch

from gatkit import edges, graph
from gatkit.attention import check_alpha, check_node, head_weights, node_attention
from gatkit.extras import require

if TYPE_CHECKING:  # drawn by gatkit.viz, imported when a drawing is asked for
    from matplotlib.figure import Figure

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
    return check_node(choice, num_nodes)


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
    distance = edges.hop_distances(edge_index, num_nodes, node, hops)  # (N,)
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
    from gatkit import viz

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


def _widget_modules(feature: str):
    """ipywidgets, IPython's ``display`` and pyplot, or a MissingExtraError that says how to get them."""
    widgets = require("ipywidgets", "widgets", feature=feature)
    display = require("IPython.display", "widgets", feature=feature).display
    plt = require("matplotlib.pyplot", "plot", feature=feature)
    return widgets, display, plt


def explorer(dataset: GraphDataset):
    """An ipywidgets panel: choose a node and a hop count, see :func:`explore`'s drawing and stats.

    Controls: how to choose (``"node id"``, ``"highest degree"``, ``"random"``), the node id, the
    random seed, and the hop count (1 to 3). Every change redraws.

    Returns
    -------
    ipywidgets.VBox
        Display it in a notebook (the last expression of a cell, or ``display(panel)``).
    """
    widgets, display, plt = _widget_modules("explorer")

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


# --------------------------------------------------------------------------
# The attention explorer (chapter 08): whom does a node listen to?
# --------------------------------------------------------------------------


def _attention_inputs(dataset, alphas, layer: int, edge_index):
    """The edge list and the one layer's ``alpha`` (E, H) that the attention explorer reads."""
    if edge_index is None:
        edge_index = dataset.edge_index_with_self_loops  # what the model saw
    layers = [alphas] if isinstance(alphas, torch.Tensor) else list(alphas)
    if isinstance(layer, bool) or not isinstance(layer, numbers.Integral) or not 1 <= layer <= len(layers):
        raise ValueError(f"layer must be a layer number in 1 .. {len(layers)} (layer 1 is alphas[0]), "
                         f"got {layer!r}")
    return edge_index, layers[int(layer) - 1]


def attention_table(dataset: GraphDataset, alphas, node: int | str, layer: int = 1, head: int | str = 0, *,
                    seed: int = 0, edge_index: torch.Tensor | None = None) -> list[dict[str, Any]]:
    """The attention ``node`` gives each of its incoming neighbours, heaviest first.

    Parameters
    ----------
    dataset : GraphDataset
        Needs ``y``, ``class_names``, ``num_nodes`` and, unless ``edge_index`` is given,
        ``edge_index_with_self_loops``.
    alphas : sequence of torch.Tensor
        One (E, H_l) tensor per layer, as ``GAT(..., return_attention=True)`` returns them.
    node : int or str
        A node id, ``"highest degree"`` or ``"random"`` (see :func:`pick_node`).
    layer : int
        Counted from 1 as in the paper: layer 1 is ``alphas[0]``.
    head : int or "mean"
        A head of that layer (from 0), or the mean over its heads.
    seed : int
        For ``node="random"``.
    edge_index : torch.Tensor, optional
        (2, E) the edges ``alphas`` belong to; default ``dataset.edge_index_with_self_loops``.

    Returns
    -------
    list of dict
        One row per incoming edge (the self-loop included), sorted by weight, largest first
        (ties by source id): ``source`` (int), ``class`` (its class name), ``weight`` (float),
        ``ratio`` (weight times the number of incoming edges: 1 is the uniform share) and
        ``self_loop`` (bool).
    """
    node = pick_node(dataset, node, seed=seed)
    edge_index, alpha = _attention_inputs(dataset, alphas, layer, edge_index)
    alpha = check_alpha(alpha, edge_index)
    weights_all = head_weights(alpha, head)  # (E,)
    sources, weights = node_attention(edge_index, weights_all, node, num_nodes=dataset.num_nodes)
    weights = weights[:, 0].detach().double()  # (k,)
    order = sorted(range(len(sources)), key=lambda m: (-float(weights[m]), int(sources[m])))
    names = dataset.class_names
    return [{"source": int(sources[m]), "class": names[int(dataset.y[sources[m]])],
             "weight": float(weights[m]), "ratio": float(weights[m]) * len(sources),
             "self_loop": int(sources[m]) == node} for m in order]


def explore_attention(dataset: GraphDataset, alphas, node: int | str, layer: int = 1, head: int | str = 0,
                      layout: str = "tree", *, seed: int = 0,
                      edge_index: torch.Tensor | None = None) -> tuple[Figure, list[dict[str, Any]]]:
    """Draw the attention ``node`` gives its neighbours in one layer and head, and list it.

    The plain callback behind :func:`attention_explorer`; see :func:`attention_table` for the
    parameters. ``layout`` is ``"tree"`` or ``"kk"`` (:func:`gatkit.viz.draw_attention`).

    Returns
    -------
    figure : matplotlib.figure.Figure
        :func:`gatkit.viz.draw_attention` of the node (absolute width scale).
    table : list of dict
        :func:`attention_table` of the node.
    """
    from gatkit import viz

    node = pick_node(dataset, node, seed=seed)
    table = attention_table(dataset, alphas, node, layer, head, edge_index=edge_index)
    edge_index, alpha = _attention_inputs(dataset, alphas, layer, edge_index)
    figure = viz.draw_attention(edge_index, alpha, dataset.y, node, head=head, layout=layout,
                                class_names=dataset.class_names, layer=layer)
    return figure, table


def format_attention_table(table: list[dict[str, Any]], max_rows: int = 12) -> str:
    """:func:`attention_table`'s rows as plain text, the first ``max_rows`` of them."""
    lines = [f"{'source':>7s}  {'class':24s} {'weight':>7s} {'x uniform':>9s}"]
    for row in table[:max_rows]:
        source = f"{row['source']}{'*' if row['self_loop'] else ''}"
        lines.append(f"{source:>7s}  {row['class']:24s} {row['weight']:7.4f} {row['ratio']:9.3f}")
    if len(table) > max_rows:
        lines.append(f"... and {len(table) - max_rows} more (of {len(table)} incoming edges)")
    lines.append("(* the self-loop; 'x uniform' = weight times the number of incoming edges)")
    return "\n".join(lines)


def attention_explorer(dataset: GraphDataset, alphas, *, edge_index: torch.Tensor | None = None):
    """An ipywidgets panel over :func:`explore_attention`: node, layer, head and layout.

    Controls: how to choose the node (``"node id"``, ``"highest degree"``, ``"random"``), the node
    id, the random seed, the layer (from 1), the head (the layer's heads and ``"mean"``) and the
    layout (``"tree"`` or ``"kk"``). Every change redraws.

    Returns
    -------
    ipywidgets.VBox
    """
    widgets, display, plt = _widget_modules("attention_explorer")

    layers = [alphas] if isinstance(alphas, torch.Tensor) else list(alphas)

    def head_options(layer: int) -> list:
        return [*range(layers[layer - 1].shape[1]), "mean"]

    how = widgets.ToggleButtons(options=["node id", *CHOICES], value="highest degree", description="choose")
    node_id = widgets.BoundedIntText(value=0, min=0, max=dataset.num_nodes - 1, description="node id")
    seed = widgets.IntText(value=0, description="seed")
    layer = widgets.Dropdown(options=list(range(1, len(layers) + 1)), value=1, description="layer")
    head = widgets.Dropdown(options=head_options(1), value=0, description="head")
    layout = widgets.ToggleButtons(options=["tree", "kk"], value="tree", description="layout")

    def new_layer(change) -> None:
        head.options = head_options(change["new"])
        head.value = 0

    layer.observe(new_layer, names="value")

    def show(how: str, node_id: int, seed: int, layer: int, head, layout: str) -> None:
        if head not in head_options(layer):  # the layer changed and the head list not yet
            return
        choice = node_id if how == "node id" else how
        figure, table = explore_attention(dataset, alphas, choice, layer, head, layout, seed=seed,
                                          edge_index=edge_index)
        print(format_attention_table(table))
        display(figure)
        plt.close(figure)

    output = widgets.interactive_output(show, {"how": how, "node_id": node_id, "seed": seed, "layer": layer,
                                               "head": head, "layout": layout})
    controls = widgets.HBox([widgets.VBox([how, layout]), widgets.VBox([node_id, seed]),
                             widgets.VBox([layer, head])])
    return widgets.VBox([controls, output])


__all__ += ["attention_explorer", "attention_table", "explore_attention", "format_attention_table"]
