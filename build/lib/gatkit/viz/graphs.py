"""The dataset figures (chapter 02): degrees, class balance, homophily, the graph, one neighbourhood.

Each function returns a :class:`matplotlib.figure.Figure` made with ``pyplot``, so a notebook
shows it with ``plt.show()`` and a script saves it with ``fig.savefig(...)`` (then
``plt.close(fig)``). Functions that draw one panel accept ``ax=`` to draw into an existing axes.

Nothing here needs cairo: igraph draws into a matplotlib axes (``ig.plot(g, target=ax)``) when
asked to, and the default drawing path uses matplotlib alone. igraph computes the layouts.

Dataset figures
    :func:`plot_degrees`, :func:`plot_class_balance`, :func:`plot_homophily`,
    :func:`draw_graph` (all of Cora), :func:`draw_neighbourhood` (one node's k-hop neighbourhood).
Layouts
    :func:`graph_layout`, :func:`neighbourhood_layout`.
"""

from __future__ import annotations

import contextlib
import math
import random
from typing import Iterator, Sequence

import matplotlib.pyplot as plt
import numpy as np
import torch
from matplotlib.axes import Axes
from matplotlib.collections import LineCollection
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.ticker import FuncFormatter

from gatkit import edges, graph
from gatkit.extras import require
from gatkit.viz.style import class_colours, class_legend, figure_and_axes

__all__ = [
    "draw_graph",
    "draw_neighbourhood",
    "graph_layout",
    "neighbourhood_layout",
    "plot_class_balance",
    "plot_degrees",
    "plot_homophily",
]

_EDGE_GREY = (0.55, 0.55, 0.55)
_PLAIN = FuncFormatter(lambda value, _: f"{value:g}")  # 1, 10, 100 instead of 10^0, 10^1, 10^2
_LAYOUTS = ("fr", "drl", "kk")


def _igraph(feature: str):
    """The igraph module, or a :class:`gatkit.extras.MissingExtraError` naming ``feature``."""
    return require("igraph", "plot", feature=feature)


# --------------------------------------------------------------------------
# Statistics plots
# --------------------------------------------------------------------------


def plot_degrees(edge_index: torch.Tensor, num_nodes: int, *, name: str = "graph") -> Figure:
    """In-degree and out-degree per node id, and the degree distribution.

    Parameters
    ----------
    edge_index : torch.Tensor
        (2, E) int64, row 0 source, row 1 target.
    num_nodes : int
        ``N``.
    name : str
        Dataset name for the titles.

    Returns
    -------
    matplotlib.figure.Figure
        Three panels: in-degree (row 1 counted) and out-degree (row 0 counted) against node id
        on a log scale with the top node labelled, then the number of nodes of each degree on
        log-log axes, where a heavy tail shows as a long straggling line.
    """
    in_deg = graph.degree(edge_index, num_nodes, direction="in")  # (N,)
    out_deg = graph.degree(edge_index, num_nodes, direction="out")  # (N,)
    fig, axes = plt.subplots(1, 3, figsize=(15, 4.2), layout="constrained")
    ids = np.arange(num_nodes)
    for ax, deg, what in [(axes[0], in_deg, "in-degree (edges j -> i, row 1)"),
                          (axes[1], out_deg, "out-degree (edges i -> j, row 0)")]:
        values = deg.numpy()
        # one dot per node: integer degrees stack into bands, so the crowded low bands show
        # where most nodes are, and the rare hubs stand out above them
        ax.scatter(ids, np.maximum(values, 0.7), s=6, alpha=0.6, linewidths=0,
                   color=class_colours(1)[0])
        ax.set_yscale("log")
        ax.set_ylim(0.6, max(2, values.max()) * 1.8)
        ax.set_xlim(-num_nodes * 0.01, num_nodes * 1.01)
        ax.set(xlabel="node id", ylabel="degree (log scale)", title=f"{name}: {what}")
        ax.yaxis.set_major_formatter(_PLAIN)
        if (values == 0).any():
            ax.axhline(0.7, color=_EDGE_GREY, linewidth=0.5)  # isolated nodes drawn on this line
        top = int(np.argmax(values))
        ax.annotate(f"node {top}: {values[top]}", (top, values[top]), xytext=(6, 2),
                    textcoords="offset points", fontsize=9)
    counts = graph.degree_distribution(in_deg).numpy()  # (max + 1,)
    k = np.nonzero(counts)[0]
    k = k[k > 0]  # isolated nodes (degree 0) cannot sit on a log axis; named in the title
    ax = axes[2]
    ax.plot(k, counts[k], "o", markersize=4, color=class_colours(2)[1])
    ax.set(xscale="log", yscale="log", xlabel="degree k (log scale)",
           ylabel="number of nodes with degree k (log)")
    ax.xaxis.set_major_formatter(_PLAIN)
    ax.yaxis.set_major_formatter(_PLAIN)
    median = int(in_deg.median())
    ax.axvline(median, color=_EDGE_GREY, linestyle="--", linewidth=1)
    ax.annotate(f"median degree {median}", (median, 1), xytext=(4, 0), textcoords="offset points",
                fontsize=9, color="0.3")
    isolated = int(counts[0]) if len(counts) else 0
    ax.set_title(f"{name}: degree distribution" + (f" ({isolated} isolated)" if isolated else ""))
    return fig


def plot_class_balance(y: torch.Tensor, splits: dict[str, torch.Tensor],
                       class_names: Sequence[str] | None = None, *, ax: Axes | None = None) -> Figure:
    """Grouped bars: nodes of each class in each split, as a share of the split.

    Shares rather than counts, so a 140-node training split and a 1000-node test split compare
    directly; the counts are written in the legend.
    """
    num_classes = len(class_names) if class_names is not None else int(y.max()) + 1
    names = list(class_names) if class_names is not None else [f"class {c}" for c in range(num_classes)]
    counts = graph.class_balance(y, splits, num_classes)
    fig, ax = figure_and_axes(ax, figsize=(10, 4.2))
    width = 0.8 / max(1, len(counts))
    colours = class_colours(max(3, len(counts)))
    for s, (split, per_class) in enumerate(counts.items()):
        share = per_class.double() / max(1, int(per_class.sum()))
        ax.bar(np.arange(num_classes) + (s - (len(counts) - 1) / 2) * width, share.numpy(), width,
               label=f"{split} ({int(per_class.sum())} nodes)", color=colours[s])
    ax.set_xticks(np.arange(num_classes), [n.replace("_", "\n") for n in names], fontsize=9)
    ax.set(ylabel="share of the split's nodes", title="Class balance per split")
    ax.legend(frameon=False)
    return fig


def plot_homophily(edge_index: torch.Tensor, y: torch.Tensor,
                   class_names: Sequence[str] | None = None, *, ax: Axes | None = None) -> Figure:
    """Per-class homophily against what random wiring would give.

    For each class ``c`` a bar shows the share of edges into class-``c`` nodes that come from class
    ``c`` (:func:`gatkit.graph.class_homophily`); a dot shows the share of all edge ends that
    are class ``c``, which is what that bar would be if edges ignored classes. A dashed line marks
    the overall edge homophily.
    """
    num_classes = len(class_names) if class_names is not None else int(y.max()) + 1
    names = list(class_names) if class_names is not None else [f"class {c}" for c in range(num_classes)]
    per_class = graph.class_homophily(edge_index, y, num_classes).numpy()  # (C,)
    loops = edge_index[0] == edge_index[1]
    ends = torch.bincount(y[edge_index[0, ~loops]], minlength=num_classes).double()  # (C,)
    random_wiring = (ends / ends.sum()).numpy()
    overall = graph.edge_homophily(edge_index, y)
    fig, ax = figure_and_axes(ax, figsize=(10, 4.2))
    colours = class_colours(num_classes)
    xs = np.arange(num_classes)
    ax.bar(xs, per_class, 0.6, color=colours)
    ax.plot(xs, random_wiring, "D", color="black", markersize=6,
            label="expected if edges ignored classes")
    ax.axhline(overall, color=_EDGE_GREY, linestyle="--", linewidth=1.2,
               label=f"edge homophily of the graph: {overall:.2f}")
    ax.set_xticks(xs, [n.replace("_", "\n") for n in names], fontsize=9)
    ax.set(ylim=(0, 1.05), ylabel="share of edges", title="Homophily per class")
    handles, texts = ax.get_legend_handles_labels()
    bar = plt.Rectangle((0, 0), 1, 1, color="0.6")
    ax.legend([bar] + handles, ["bars: share of the edges into the class that come from the class"]
              + texts, frameon=False, loc="upper center", bbox_to_anchor=(0.5, -0.16), ncol=2,
              fontsize=9)
    return fig


# --------------------------------------------------------------------------
# Layouts
# --------------------------------------------------------------------------


@contextlib.contextmanager
def _seeded_igraph(seed: int) -> Iterator[None]:
    """Run igraph's random layouts from their own ``random.Random(seed)``, then restore its RNG."""
    ig = _igraph("graph layouts")

    ig.set_random_number_generator(random.Random(seed))
    try:
        yield
    finally:
        ig.set_random_number_generator(random)


def _unit_box(xy: np.ndarray) -> np.ndarray:
    """Scale and shift ``xy`` (n, 2) into [0, 1] x [0, 1], keeping the aspect ratio."""
    xy = xy - xy.min(axis=0)
    span = float(xy.max()) if xy.size else 0.0
    return xy / span if span > 0 else xy + 0.5


def graph_layout(edge_index: torch.Tensor, num_nodes: int, *, method: str = "fr",
                 seed: int = 0) -> np.ndarray:
    """Node positions that show a graph's structure, the same on every run for a given seed.

    The largest connected component is laid out with the chosen force-directed method and
    fills the unit square. The other components (Cora has 77, of 2 to 26 nodes) would otherwise
    be pushed far out and shrink the picture, so each gets a small layout of its own, and they
    are packed in rows below the square, largest first.

    Parameters
    ----------
    edge_index : torch.Tensor
        (2, E) int64.
    num_nodes : int
        ``N``.
    method : {"fr", "drl", "kk"}
        Fruchterman-Reingold with 3000 iterations (about 1 s on Cora; clear clusters), DrL
        (about 2.5 s; tight clusters joined by long edges), or Kamada-Kawai with ``maxiter`` =
        the component's size (about 0.3 s; rounder, less separated).
    seed : int
        Seeds igraph's random number generator for the layout only.

    Returns
    -------
    numpy.ndarray
        (N, 2) float64 positions; row ``k`` is node ``k``.
    """
    if method not in _LAYOUTS:
        raise ValueError(f"method must be one of {', '.join(_LAYOUTS)}, got {method!r}")
    _igraph("graph layouts")
    g = graph.to_igraph(edge_index, num_nodes)
    components = sorted(g.connected_components(), key=lambda c: (-len(c), c[0]))
    xy = np.zeros((num_nodes, 2))
    if not components:
        return xy
    with _seeded_igraph(seed):
        giant = g.subgraph(components[0])
        if method == "fr":
            coords = giant.layout_fruchterman_reingold(niter=3000)
        elif method == "drl":
            coords = giant.layout_drl()
        else:
            coords = giant.layout_kamada_kawai(maxiter=max(50, giant.vcount()))
        xy[components[0]] = _unit_box(np.array(coords.coords, dtype=float).reshape(-1, 2))
        _pack_below(g, components[1:], xy)
    return xy


def _pack_below(g, components: list[list[int]], xy: np.ndarray) -> None:
    """Shelf-pack small component layouts in rows under the unit square (in place)."""
    gap, row_width = 0.018, 1.0
    x, row_top, row_height = 0.0, -0.06, 0.0
    for members in components:
        size = 0.02 * math.sqrt(len(members))  # box side grows slowly with the component
        if x > 0 and x + size > row_width:
            x, row_top, row_height = 0.0, row_top - row_height - gap, 0.0
        if len(members) == 1:
            local = np.array([[0.5, 0.5]])
        else:
            local = _unit_box(np.array(g.subgraph(members).layout_kamada_kawai().coords, dtype=float))
        xy[members] = local * size + np.array([x, row_top - size])
        x += size + gap
        row_height = max(row_height, size)


# --------------------------------------------------------------------------
# Drawing the whole graph
# --------------------------------------------------------------------------


def draw_graph(edge_index: torch.Tensor, y: torch.Tensor, *, class_names: Sequence[str] | None = None,
               layout: np.ndarray | None = None, method: str = "fr", seed: int = 0,
               backend: str = "matplotlib", title: str | None = None,
               ax: Axes | None = None) -> Figure:
    """Draw a whole labelled graph: colour = class, node size ~ degree, edge width ~ betweenness.

    Parameters
    ----------
    edge_index : torch.Tensor
        (2, E) int64; drawn as an undirected simple graph.
    y : torch.Tensor
        (N,) int64 class ids; ``N = len(y)``.
    class_names : sequence of str, optional
        Legend labels (default ``"class c"``).
    layout : numpy.ndarray, optional
        (N, 2) positions; computed with :func:`graph_layout` (``method``, ``seed``) when omitted.
    backend : {"matplotlib", "igraph"}
        ``"matplotlib"`` (default) draws the edges as one ``LineCollection`` and the nodes as one
        ``scatter``: about 1 s for Cora, betweenness and rendering included. ``"igraph"`` hands
        the same picture to ``igraph.plot(g, target=ax)``, which makes one artist per vertex and
        per edge: about 12 s for Cora for the same layout, colours and widths (igraph draws the
        vertices a little smaller).
    title : str, optional
        Axes title; a summary (nodes, edges, components) by default.
    ax : matplotlib.axes.Axes, optional
        Draw here instead of in a new figure.

    Returns
    -------
    matplotlib.figure.Figure

    Notes
    -----
    Edge betweenness (igraph, about 1 s on Cora) counts the shortest paths that run through an
    edge; thick edges are the bridges that hold the graph together. An edge between two nodes of
    the same class takes their colour, an edge between classes is grey, so homophily is visible
    as colour.
    """
    if backend not in ("matplotlib", "igraph"):
        raise ValueError(f"backend must be 'matplotlib' or 'igraph', got {backend!r}")
    num_nodes = len(y)
    num_classes = len(class_names) if class_names is not None else int(y.max()) + 1
    packed = layout is None  # graph_layout puts the small components in rows below
    if packed:
        layout = graph_layout(edge_index, num_nodes, method=method, seed=seed)
    layout = np.asarray(layout, dtype=float)
    if layout.shape != (num_nodes, 2):
        raise ValueError(f"layout must have shape ({num_nodes}, 2), got {layout.shape}")
    ig = _igraph("draw_graph")  # edge betweenness, and the igraph backend
    g = graph.to_igraph(edge_index, num_nodes)
    pairs = np.array(g.get_edgelist(), dtype=np.int64).reshape(-1, 2)  # (M, 2)
    betweenness = np.array(g.edge_betweenness(), dtype=float)  # (M,)
    deg = np.array(g.degree(), dtype=float)  # (N,)
    labels = y.numpy()
    colours = np.array(class_colours(num_classes))  # (C, 3)

    edge_width = 0.25 + 2.75 * np.sqrt(betweenness / max(1.0, betweenness.max(initial=0.0)))  # (M,)
    same = labels[pairs[:, 0]] == labels[pairs[:, 1]]  # (M,)
    edge_rgb = np.where(same[:, None], colours[labels[pairs[:, 0]]], _EDGE_GREY)  # (M, 3)
    node_area = 4.0 + 3.0 * deg  # points^2: area, not diameter, grows with degree
    node_rgb = colours[labels]  # (N, 3)

    fig, ax = figure_and_axes(ax, figsize=(12.5, 11))
    if backend == "matplotlib":
        edge_rgba = np.concatenate([edge_rgb, np.full((len(pairs), 1), 0.45)], axis=1)
        ax.add_collection(LineCollection(layout[pairs], linewidths=edge_width, colors=edge_rgba,
                                         zorder=1))
        order = np.argsort(deg, kind="stable")  # hubs last, on top
        ax.scatter(layout[order, 0], layout[order, 1], s=node_area[order], c=node_rgb[order],
                   edgecolors="white", linewidths=0.3, zorder=2)
    else:
        ig.plot(g, target=ax, layout=layout.tolist(),
                vertex_size=list(np.sqrt(node_area)), vertex_color=[tuple(c) for c in node_rgb],
                # one colour per vertex: igraph would read a lone RGB tuple as three colours
                vertex_frame_color=[(1.0, 1.0, 1.0)] * num_nodes, vertex_frame_width=0.3,
                edge_width=list(edge_width), edge_color=[tuple(c) + (0.45,) for c in edge_rgb])
    ax.set_aspect("equal")
    ax.autoscale_view()
    ax.axis("off")
    sizes = graph.component_sizes(graph.connected_components(edge_index, num_nodes))
    if title is None:
        title = (f"{num_nodes} nodes, {len(pairs)} edges, {len(sizes)} connected components "
                 f"(largest: {int(sizes[0])} nodes)")
    ax.set_title(title)
    big = int(deg.max()) if len(deg) else 1
    class_legend(ax, class_names, colours, labels, title="class (nodes)", extra=[
        (Line2D([], [], color=colours[0], linewidth=1.2), "edge within a class: its colour"),
        (Line2D([], [], color=_EDGE_GREY, linewidth=1.2), "edge between two classes: grey"),
        (Line2D([], [], color=_EDGE_GREY, linewidth=3.0), "thick edge: high edge betweenness"),
        (_dot(math.sqrt(4.0 + 3.0 * 2)), "node of degree 2"),
        (_dot(math.sqrt(4.0 + 3.0 * big)), f"node of degree {big}"),
    ])
    if packed and len(sizes) > 1:
        ax.text(0.0, -0.03, f"below: the other {len(sizes) - 1} components "
                f"({int(sizes[-1])} to {int(sizes[1])} nodes)", transform=ax.transData,
                fontsize=10, va="top", color="0.3")
    return fig


def _dot(size: float) -> Line2D:
    """A grey legend marker ``size`` points across (``scatter``'s ``s`` is its square)."""
    return Line2D([], [], linestyle="", marker="o", markersize=size, color=_EDGE_GREY)


# --------------------------------------------------------------------------
# Drawing one node's neighbourhood
# --------------------------------------------------------------------------


def neighbourhood_layout(sub_edge_index: torch.Tensor, distance: torch.Tensor,
                         labels: torch.Tensor) -> np.ndarray:
    """Radial tree positions: the centre at the origin, nodes ``k`` hops away on the circle of radius ``k``.

    Every node beyond the centre hangs from one *parent* one ring further in (its neighbour
    there with the smallest number), which makes a breadth-first tree. Each node gets a slice of
    the circle in proportion to the number of leaves below it in that tree (1 if it is a leaf),
    and its children share that slice, grouped by class. So a node's neighbours further out sit right
    behind it, tree edges stay short, and the first ring reads as the class mix of the centre's
    neighbours.

    Parameters
    ----------
    sub_edge_index : torch.Tensor
        (2, e) edges among the ``n`` nodes, numbered by position, as returned by
        :func:`gatkit.edges.k_hop_subgraph` (centre first, then by distance).
    distance : torch.Tensor
        (n,) hop distance of each node; only position 0 (the centre) has distance 0.
    labels : torch.Tensor
        (n,) class of each node.

    Returns
    -------
    numpy.ndarray
        (n, 2) positions.
    """
    n = len(distance)
    dist = distance.numpy()
    cls = labels.numpy()
    pairs = graph.undirected_pairs(sub_edge_index, max(n, 1)).numpy()  # (2, m)
    both = np.concatenate([pairs, pairs[::-1]], axis=1)  # (2, 2m): (inner, outer) and reverse
    inward = both[:, dist[both[0]] == dist[both[1]] - 1]  # edges from ring k - 1 to ring k
    parent = np.full(n, n, dtype=np.int64)
    np.minimum.at(parent, inward[1], inward[0])  # smallest-numbered inner neighbour
    weight = np.ones(n)
    for ring in range(int(dist.max()) if n else 0, 0, -1):  # outside in: sum leaf counts
        members = np.flatnonzero(dist == ring)
        children_weight = np.bincount(parent[members], weights=weight[members], minlength=n + 1)
        inner = np.flatnonzero(dist == ring - 1)
        weight[inner] = np.maximum(1.0, children_weight[inner])
    start = np.zeros(n + 1)  # each node's slice of the circle: [start, start + width), in turns
    width = np.zeros(n + 1)
    width[0] = 1.0
    xy = np.zeros((n, 2))
    for ring in range(1, int(dist.max()) + 1 if n else 1):
        members = np.flatnonzero(dist == ring)
        members = members[np.lexsort((members, cls[members], parent[members]))]  # by parent, class
        up = parent[members]
        total = np.bincount(up, weights=weight[members], minlength=n + 1)  # per parent
        share = width[up] * weight[members] / total[up]  # (ring size,)
        before = np.cumsum(share) - share  # shares of all earlier members of this ring
        first = np.r_[True, up[1:] != up[:-1]]  # first child of each parent
        group_first = np.maximum.accumulate(np.where(first, np.arange(len(members)), 0))
        start[members] = start[up] + before - before[group_first]
        width[members] = share
        angle = 2 * np.pi * (start[members] + share / 2)
        xy[members] = ring * np.stack([np.cos(angle), np.sin(angle)], axis=1)
    return xy


def draw_neighbourhood(edge_index: torch.Tensor, y: torch.Tensor, node: int, hops: int = 2, *,
                       class_names: Sequence[str] | None = None, backend: str = "matplotlib",
                       ax: Axes | None = None) -> Figure:
    """Draw the nodes within ``hops`` hops of ``node`` on rings, coloured by class.

    The centre is a large star; the nodes one hop away sit on the first dashed ring, those two
    hops away on the second, and so on (:func:`neighbourhood_layout`). Edges into the centre are
    dark, the others light. Node area grows with the node's degree in the whole graph.

    Parameters
    ----------
    edge_index : torch.Tensor
        (2, E) int64.
    y : torch.Tensor
        (N,) class ids.
    node : int
        The centre.
    hops : int
        How many rings (1 to 4 read well; Cora's 3-hop neighbourhoods hold up to ~1300 nodes).
    class_names : sequence of str, optional
        Legend labels.
    backend : {"matplotlib", "igraph"}
        As in :func:`draw_graph`; igraph draws the centre as a large circle instead of a star.
    ax : matplotlib.axes.Axes, optional
        Draw here instead of in a new figure.

    Returns
    -------
    matplotlib.figure.Figure
    """
    if backend not in ("matplotlib", "igraph"):
        raise ValueError(f"backend must be 'matplotlib' or 'igraph', got {backend!r}")
    num_nodes = len(y)
    num_classes = len(class_names) if class_names is not None else int(y.max()) + 1
    nodes, distance, sub = edges.k_hop_subgraph(edge_index, num_nodes, node, hops)
    labels = y[nodes]  # (n,)
    xy = neighbourhood_layout(sub, distance, labels)  # (n, 2)
    full_degree = graph.degree(edge_index, num_nodes)[nodes].numpy().astype(float)  # (n,)
    colours = np.array(class_colours(num_classes))
    pairs = graph.undirected_pairs(sub, len(nodes)).T.numpy()  # (m, 2), centre is 0
    rings = int(distance.max())

    fig, ax = figure_and_axes(ax, figsize=(9.5, 8))
    scale = 1.0 / max(1, rings)  # keep the outer ring the same size on the page
    xy = xy * scale
    for ring in range(1, rings + 1):
        ax.add_patch(plt.Circle((0, 0), ring * scale, fill=False, linestyle="--",
                                linewidth=0.8, color="0.75", zorder=0))
        ax.text(0, ring * scale, f"{ring} hop{'s' if ring > 1 else ''}", ha="center", va="center",
                fontsize=9, color="0.35", zorder=4,
                bbox=dict(boxstyle="round,pad=0.15", facecolor="white", edgecolor="none", alpha=0.8))
    to_centre = (pairs == 0).any(axis=1)
    widths = np.where(to_centre, 1.0, 0.5)
    edge_rgba = np.where(to_centre[:, None], (0.25, 0.25, 0.25, 0.7), (0.6, 0.6, 0.6, 0.25))
    # marker area: a ring's nodes must fit side by side along its circumference
    per_ring = np.bincount(distance.numpy(), minlength=rings + 1)
    points_per_unit = 72 * 7.0 / 2.2  # axes ~7 in wide for a data width of ~2.2
    room = np.array([2 * np.pi * r * scale * points_per_unit / max(1, per_ring[r])
                     for r in range(rings + 1)])  # points of arc per node on each ring
    cap = np.clip(room * 0.8, 3.0, 14.0)[distance.numpy()] ** 2  # (n,) largest area that fits
    area = np.minimum(cap, 8.0 + 4.0 * full_degree)
    node_rgb = colours[labels.numpy()]

    if backend == "matplotlib":
        if len(pairs):
            ax.add_collection(LineCollection(xy[pairs], linewidths=widths, colors=edge_rgba, zorder=1))
        rest = np.arange(1, len(nodes))
        ax.scatter(xy[rest, 0], xy[rest, 1], s=area[rest], c=node_rgb[rest], edgecolors="white",
                   linewidths=0.4, zorder=2)
        ax.scatter([0], [0], s=520, marker="*", c=node_rgb[:1], edgecolors="black", linewidths=1.2,
                   zorder=3)
    else:
        ig = _igraph("the igraph backend")
        g = ig.Graph(n=len(nodes), edges=pairs.tolist())
        sizes = np.sqrt(area)
        sizes[0] = 24.0
        ig.plot(g, target=ax, layout=xy.tolist(), vertex_size=list(sizes),
                vertex_color=[tuple(c) for c in node_rgb],
                vertex_frame_color=[(0.0, 0.0, 0.0)] + [(1.0, 1.0, 1.0)] * (len(nodes) - 1),
                vertex_frame_width=[1.5] + [0.4] * (len(nodes) - 1),
                edge_width=list(widths), edge_color=[tuple(c) for c in edge_rgba])
    ax.set_aspect("equal")
    limit = 1.08
    ax.set_xlim(-limit, limit)
    ax.set_ylim(-limit, limit)
    ax.axis("off")
    name = class_names[int(y[node])] if class_names is not None else f"class {int(y[node])}"
    ax.set_title(f"Node {node} ({name}, degree {int(full_degree[0])}): "
                 f"{len(nodes) - 1} nodes within {hops} hop{'s' if hops != 1 else ''}")
    class_legend(ax, class_names, colours, labels.numpy()[1:], extra=[
        (Line2D([], [], linestyle="", marker="*", markersize=14, markerfacecolor="white",
                markeredgecolor="black"), f"node {node} (centre)")], fontsize=9,
                  title="class (nodes around the centre)", title_fontsize=9, labelspacing=0.5)
    return fig
