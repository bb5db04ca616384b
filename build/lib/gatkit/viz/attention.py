"""Pictures of a trained GAT's attention (chapter 08): one node's coefficients, entropy and ratio histograms.

The numbers come from :mod:`gatkit.attention`; this module draws them:

- :func:`draw_attention` draws the coefficients one node gives its incoming neighbours
  (:func:`gatkit.attention.node_attention`), edge widths on an absolute scale.
- :func:`plot_entropy_histograms` draws the distributions of
  :func:`gatkit.attention.attention_entropy` against uniform attention
  (:func:`gatkit.attention.uniform_entropy`), with the :func:`gatkit.attention.entropy_gap`.
- :func:`plot_attention_ratios` draws :func:`gatkit.attention.attention_ratio`.

Layers are numbered from 1 in titles, as in the paper (layer 1 is ``alphas[0]``); heads are
numbered from 0, as the columns of ``alpha``.
"""

from __future__ import annotations

import math
from typing import Sequence

import matplotlib.pyplot as plt
import numpy as np
import torch
from matplotlib.axes import Axes
from matplotlib.collections import LineCollection
from matplotlib.figure import Figure
from matplotlib.legend import Legend
from matplotlib.lines import Line2D

from gatkit.attention import (attention_entropy, attention_ratio, check_alpha, check_node, entropy_gap,
                              head_weights, node_attention, uniform_entropy)
from gatkit.edges import validate_edge_index
from gatkit.extras import require
from gatkit.viz.style import class_colours, class_legend, figure_and_axes

__all__ = [
    "LAYOUTS",
    "WIDTH_PER_UNIT",
    "draw_attention",
    "plot_attention_ratios",
    "plot_entropy_histograms",
]

#: The layouts :func:`draw_attention` accepts: a circular Reingold-Tilford tree rooted at the
#: node, or Kamada-Kawai (which places linked neighbours near each other).
LAYOUTS = ("tree", "kk")

#: Default line width, in points, of an edge with attention 1.0. Every picture uses the same
#: scale, so widths compare across nodes, layers and heads.
WIDTH_PER_UNIT = 16.0

_EDGE_DARK = (0.13, 0.15, 0.22)
_CONTEXT_GREY = (0.6, 0.6, 0.6)
_LEGEND_WEIGHTS = (0.05, 0.25, 1.0)


def _head_label(alpha: torch.Tensor, head: int | str) -> str:
    return f"mean of {alpha.shape[1]} heads" if head == "mean" else f"head {head}"


# --------------------------------------------------------------------------
# One node's attention, drawn
# --------------------------------------------------------------------------


def _neighbour_positions(layout: str, count: int, pairs: np.ndarray) -> np.ndarray:
    """(1 + count, 2) positions: the node at index 0, its neighbours 1 .. count, scaled to the unit disc."""
    ig = require("igraph", "plot", feature="draw_attention")
    edges = [(0, m) for m in range(1, count + 1)] + [tuple(p) for p in pairs.tolist()]
    g = ig.Graph(n=count + 1, edges=edges)
    if layout == "tree":
        # A spanning tree from the root: every neighbour is a child of the node, so all sit on
        # one circle, in vertex order (the caller orders them by class and weight).
        xy = np.array(g.layout_reingold_tilford_circular(root=[0]).coords, dtype=float)
    else:
        xy = np.array(g.layout_kamada_kawai().coords, dtype=float)  # starts from a circle: deterministic
    xy -= xy[0]  # the node in the middle
    reach = np.abs(xy).max()
    return xy / reach if reach > 0 else xy


def draw_attention(edge_index: torch.Tensor, alpha: torch.Tensor, y: torch.Tensor, node: int, *,
                   head: int | str = 0, layout: str = "tree", class_names: Sequence[str] | None = None,
                   layer: int | None = None, ax: Axes | None = None,
                   max_width: float = WIDTH_PER_UNIT, label_limit: int = 12,
                   context: bool | None = None, legend: bool = True) -> Figure:
    """Draw ``node`` and its incoming neighbours, each edge as wide as its attention weight.

    Widths are on an **absolute** scale: an edge of weight ``w`` is ``w * max_width`` points wide,
    whatever the node, so pictures of different nodes, layers and heads compare directly. Since a
    node's weights sum to 1, every picture holds the same total width; a hub's edges are hairlines
    because it shares that total among many neighbours. The self-loop's weight is drawn as a ring
    around the node, on the same scale. Edges between two neighbours (which carry no attention to
    ``node``) are thin and grey in the Kamada-Kawai layout; neighbours are coloured by class.

    Parameters
    ----------
    edge_index : torch.Tensor
        (2, E) int64, the edges ``alpha`` belongs to (with self-loops, as the model saw them).
    alpha : torch.Tensor
        (E, H) or (E,) one layer's coefficients in ``edge_index`` column order.
    y : torch.Tensor
        (N,) class ids; ``len(y)`` is N.
    node : int
        The target whose attention is drawn.
    head : int or "mean", default 0
        Which column of ``alpha`` to draw, or the mean over the heads.
    layout : {"tree", "kk"}
        ``"tree"``: igraph's circular Reingold-Tilford layout rooted at ``node`` (the neighbours
        on a circle, grouped by class, heaviest first within a class). ``"kk"``: Kamada-Kawai,
        which pulls neighbours that cite each other together.
    class_names : sequence of str, optional
        Legend labels.
    layer : int, optional
        The layer's number (from 1) for the title.
    ax : matplotlib.axes.Axes, optional
        Draw here instead of in a new figure.
    max_width : float
        Width in points of an edge of weight 1.
    label_limit : int
        Write each neighbour's id and weight when there are at most this many.
    context : bool, optional
        Draw the edges between neighbours (thin, grey). Default: for ``"kk"``, whose layout they
        shape, not for ``"tree"``, where they would cross the circle.
    legend : bool, default True
        Draw the class and width legends right of the axes (turn off in a grid of pictures).

    Returns
    -------
    matplotlib.figure.Figure
        The attention edges are the ``LineCollection`` with gid ``"attention"`` (one segment per
        neighbour, in the order of :func:`~gatkit.attention.node_attention`, self-loop left
        out), the ring the collection with gid ``"self-attention"``.

    Raises
    ------
    ValueError
        For bad inputs (see :func:`~gatkit.attention.node_attention`), an unknown ``layout`` or
        ``head``, or a ``max_width`` that is not positive.
    """
    if layout not in LAYOUTS:
        raise ValueError(f"layout must be one of {LAYOUTS}, got {layout!r}")
    if not max_width > 0:
        raise ValueError(f"max_width must be positive, got {max_width!r}")
    num_nodes = len(y)
    validate_edge_index(edge_index, num_nodes)
    alpha = check_alpha(alpha, edge_index)
    node = check_node(node, num_nodes)
    weights_all = head_weights(alpha, head)  # (E,)
    sources, weights = node_attention(edge_index, weights_all, node, num_nodes=num_nodes)  # (k,), (k, 1)
    weights = weights[:, 0].detach().double().numpy()  # (k,)
    sources = sources.numpy()
    if len(sources) == 0:
        raise ValueError(f"node {node} has no incoming edges, so it has no attention to draw "
                         "(did you pass edge_index without self-loops?)")
    is_self = sources == node
    self_weight = float(weights[is_self].sum())
    others, other_weights = sources[~is_self], weights[~is_self]
    labels_all = y.numpy()
    num_classes = len(class_names) if class_names is not None else int(labels_all.max()) + 1
    colours = np.array(class_colours(num_classes))

    # Neighbours around the circle: grouped by class, heaviest first, then by id.
    order = np.lexsort((others, -other_weights, labels_all[others]))
    rank = np.empty(len(others), dtype=np.int64)
    rank[order] = np.arange(len(others))
    position_of = {int(s): 1 + int(r) for s, r in zip(others, rank)}  # node id -> layout index
    ends = edge_index.numpy()
    among = np.isin(ends[0], others) & np.isin(ends[1], others) & (ends[0] != ends[1])
    linked = np.unique(np.sort(ends[:, among].T, axis=1), axis=0) if among.any() else np.zeros((0, 2), int)
    context_pairs = np.vectorize(position_of.get, otypes=[np.int64])(linked) if len(linked) else linked
    xy = _neighbour_positions(layout, len(others), np.asarray(context_pairs).reshape(-1, 2))

    fig, ax = figure_and_axes(ax, figsize=(10.5, 7.6))
    if (layout == "kk" if context is None else context) and len(context_pairs):
        ax.add_collection(LineCollection(xy[context_pairs], linewidths=0.6, colors=[(*_CONTEXT_GREY, 0.45)],
                                         zorder=1, gid="context"))
    first = 1 + rank  # layout index of each neighbour, in node_attention order (self-loop left out)
    segments = np.stack([xy[first], np.zeros_like(xy[first])], axis=1) if len(others) else np.zeros((0, 2, 2))
    ax.add_collection(LineCollection(segments, linewidths=other_weights * max_width,
                                     colors=[(*_EDGE_DARK, 0.85)], capstyle="round", zorder=2,
                                     gid="attention"))
    area = float(np.clip(9000.0 / max(len(others), 1), 18.0, 260.0))
    ax.scatter(xy[first, 0], xy[first, 1], s=area, c=colours[labels_all[others]], edgecolors="white",
               linewidths=0.6, zorder=3)
    ring = ax.scatter([0.0], [0.0], s=1500, facecolors="none", edgecolors=[(*_EDGE_DARK, 0.85)],
                      linewidths=self_weight * max_width, zorder=4)
    ring.set_gid("self-attention")
    ax.scatter([0.0], [0.0], s=520, marker="*", c=colours[labels_all[node:node + 1]], edgecolors="black",
               linewidths=1.2, zorder=5)
    if len(others) <= label_limit:
        for source, weight, index in zip(others, other_weights, first):
            direction = xy[index] / max(np.linalg.norm(xy[index]), 1e-9)
            ax.annotate(f"{source}\n{weight:.3f}", xy[index], xytext=direction * 26, textcoords="offset points",
                        ha="center", va="center", fontsize=8.5, color="0.2", zorder=6)
        ax.annotate(f"self {self_weight:.3f}", (0.0, 0.0), xytext=(0, -30), textcoords="offset points",
                    ha="center", va="top", fontsize=8.5, color="0.2", zorder=6,
                    bbox=dict(boxstyle="round,pad=0.15", facecolor="white", edgecolor="none", alpha=0.8))
    ax.set_aspect("equal")
    ax.set_xlim(-1.3, 1.3)
    ax.set_ylim(-1.3, 1.3)
    ax.axis("off")

    name = class_names[int(labels_all[node])] if class_names is not None else f"class {int(labels_all[node])}"
    where = (f"layer {layer}, " if layer is not None else "") + _head_label(alpha, head)
    if legend:
        ax.set_title(f"Node {node} ({name}), {len(others)} neighbours + self-loop: {where}\n"
                     "edge width = attention weight, same scale in every picture", fontsize=11)
    else:  # short lines: pictures side by side
        ax.set_title(f"Node {node} ({name})\n{len(others)} neighbours + self-loop: {where}", fontsize=10)
    if legend:
        ax.set_anchor("W")  # any room the equal aspect leaves goes to the legends on the right
        _attention_legends(ax, node, class_names, colours, labels_all[others], len(sources), max_width)
    return fig


def _attention_legends(ax: Axes, node: int, class_names, colours: np.ndarray, neighbour_labels: np.ndarray,
                       incoming: int, max_width: float) -> None:
    """The class legend (upper right, outside) and the width key (lower right) of :func:`draw_attention`."""
    uniform = 1.0 / incoming
    class_legend(ax, class_names, colours, neighbour_labels, extra=[
        (Line2D([], [], linestyle="", marker="*", markersize=14, markerfacecolor="white",
                markeredgecolor="black"), f"node {node} (ring = self-loop)"),
    ], fontsize=9, title="neighbours by class (count)", title_fontsize=9, labelspacing=0.7)
    widths = [*_LEGEND_WEIGHTS, uniform]
    texts = [f"weight {w:g}" for w in _LEGEND_WEIGHTS] + [f"uniform 1/{incoming} = {uniform:.3f}"]
    key = Legend(ax, [Line2D([], [], color=_EDGE_DARK, linewidth=w * max_width, solid_capstyle="butt")
                      for w in widths], texts, loc="lower left", bbox_to_anchor=(1.0, 0.0), frameon=False,
                 fontsize=9, title="edge width = attention weight", title_fontsize=9,
                 handlelength=3.0, handleheight=max(1.2, max_width / 9.0), labelspacing=0.6)
    ax.add_artist(key)
    key.set_clip_on(False)  # add_artist clips to the axes, which would hide it from constrained layout


# --------------------------------------------------------------------------
# Entropy and ratio histograms
# --------------------------------------------------------------------------


def _as_layers(alphas: torch.Tensor | Sequence[torch.Tensor], edge_index: torch.Tensor,
               name: str) -> list[torch.Tensor]:
    layers = [alphas] if isinstance(alphas, torch.Tensor) else list(alphas)
    if not layers:
        raise ValueError(f"{name} must hold at least one layer's coefficients")
    return [check_alpha(alpha, edge_index).detach() for alpha in layers]


def _matching_baseline(baseline_alphas, layers, edge_index) -> list[torch.Tensor] | None:
    if baseline_alphas is None:
        return None
    baseline = _as_layers(baseline_alphas, edge_index, "baseline_alphas")
    if [b.shape[1] for b in baseline] != [a.shape[1] for a in layers]:
        raise ValueError(f"baseline_alphas must have the same layers and heads as alphas: heads "
                         f"{[b.shape[1] for b in baseline]} against {[a.shape[1] for a in layers]}")
    return baseline


def _grid(panels: int, ncols: int | None, panel_size: tuple[float, float]) -> tuple[Figure, np.ndarray]:
    ncols = ncols or max(1, math.ceil(math.sqrt(panels)))
    nrows = math.ceil(panels / ncols)
    fig, axes = plt.subplots(nrows, ncols, figsize=(panel_size[0] * ncols, panel_size[1] * nrows + 0.8),
                             sharex=True, sharey=True, layout="constrained", squeeze=False)
    for ax in axes.flat[panels:]:
        ax.set_visible(False)
    return fig, axes


def _nats(value: float) -> str:
    return f"{value:.2g}"


def _percent(share: float) -> str:
    return f"{100 * share:.2g}%"


def plot_entropy_histograms(alphas: torch.Tensor | Sequence[torch.Tensor], edge_index: torch.Tensor,
                            num_nodes: int, *, baseline_alphas: torch.Tensor | Sequence[torch.Tensor] | None = None,
                            labels: tuple[str, str] = ("trained", "untrained"), bins: int = 40,
                            ncols: int | None = None, title: str | None = None) -> Figure:
    """Histograms of attention entropy, one panel per layer and head, against uniform attention.

    Every panel shows, on the same bins, the entropy of each node's attention
    (:func:`~gatkit.attention.attention_entropy`), the uniform baseline ``ln |N(i)|``
    (:func:`~gatkit.attention.uniform_entropy`, grey bars) and, if given, the entropy of a second
    model (e.g. the untrained one), and prints the :func:`~gatkit.attention.entropy_gap` of each
    model in nats and, in brackets, as a share of the mean uniform entropy.

    Parameters
    ----------
    alphas : tensor or sequence of tensors
        One (E, H_l) tensor per layer, as ``GAT(..., return_attention=True)`` returns them.
    edge_index : torch.Tensor
        (2, E) int64, the edges ``alphas`` belong to.
    num_nodes : int
        N.
    baseline_alphas : tensor or sequence of tensors, optional
        A second model's coefficients with the same layers and heads.
    labels : (str, str)
        Names of ``alphas`` and ``baseline_alphas`` in the legend.
    bins : int
        Number of bins between 0 and the largest uniform entropy.
    ncols : int, optional
        Panels per row (default: a near-square grid).
    title : str, optional
        Figure title.

    Returns
    -------
    matplotlib.figure.Figure
        ``sum(H_l)`` panels; nodes with no incoming edge are left out.
    """
    layers = _as_layers(alphas, edge_index, "alphas")
    baseline = _matching_baseline(baseline_alphas, layers, edge_index)
    uniform = uniform_entropy(edge_index, num_nodes).double()  # (N,)
    has_edges = ~torch.isnan(uniform)
    top = float(uniform[has_edges].max()) if bool(has_edges.any()) else 1.0
    edges = np.linspace(0.0, max(top, 1e-6) * 1.02, bins + 1)
    panels = [(l, h) for l, alpha in enumerate(layers) for h in range(alpha.shape[1])]
    fig, axes = _grid(len(panels), ncols, (3.6, 2.7))
    model_colour, baseline_colour = class_colours(2)
    for ax, (l, h) in zip(axes.flat, panels):
        ax.hist(uniform[has_edges].numpy(), bins=edges, color="0.82", label="uniform: ln |N(i)|")
        entropy = attention_entropy(layers[l][:, h].double(), edge_index, num_nodes)[has_edges]  # (n,)
        ax.hist(entropy.numpy(), bins=edges, histtype="step", linewidth=1.6, color=model_colour,
                label=labels[0])
        gap = float(entropy_gap(layers[l][:, h], edge_index, num_nodes))
        share = float(entropy_gap(layers[l][:, h], edge_index, num_nodes, relative=True))
        text = ["gap to uniform:", f"{labels[0]} {_nats(gap)} nats ({_percent(share)})"]
        if baseline is not None:
            base = attention_entropy(baseline[l][:, h].double(), edge_index, num_nodes)[has_edges]
            ax.hist(base.numpy(), bins=edges, histtype="step", linewidth=1.3, linestyle="--",
                    color=baseline_colour, label=labels[1])
            base_gap = float(entropy_gap(baseline[l][:, h], edge_index, num_nodes))
            base_share = float(entropy_gap(baseline[l][:, h], edge_index, num_nodes, relative=True))
            text.append(f"{labels[1]} {_nats(base_gap)} nats ({_percent(base_share)})")
        ax.text(0.97, 0.95, "\n".join(text), transform=ax.transAxes, ha="right", va="top", fontsize=7.5,
                bbox=dict(boxstyle="round,pad=0.25", facecolor="white", edgecolor="0.8", alpha=0.9))
        ax.set_title(f"layer {l + 1}, head {h}", fontsize=10)
        ax.grid(alpha=0.3)
    for ax in axes[-1]:
        ax.set_xlabel("entropy of a node's attention (nats)")
    for ax in axes[:, 0]:
        ax.set_ylabel("nodes")
    axes.flat[0].set_ylim(0, axes.flat[0].get_ylim()[1] * 1.12)  # shared: room above the tallest bar
    handles, texts = axes.flat[0].get_legend_handles_labels()
    fig.legend(handles, texts, loc="outside lower center", ncols=len(texts), frameon=False, fontsize=9)
    if title:
        fig.suptitle(title)
    return fig


def plot_attention_ratios(alphas: torch.Tensor | Sequence[torch.Tensor], edge_index: torch.Tensor,
                          num_nodes: int, *, baseline_alphas: torch.Tensor | Sequence[torch.Tensor] | None = None,
                          labels: tuple[str, str] = ("trained", "untrained"), bins: int = 60,
                          tolerance: float = 0.05) -> Figure:
    """Histograms of ``alpha_ij * |N(i)|`` (:func:`~gatkit.attention.attention_ratio`), one panel per layer.

    The heads of a layer are pooled; 1 is uniform attention. Edges into nodes with a single
    incoming edge (ratio 1 by force) are left out. The y axis is logarithmic so the rare large
    deviations stay visible; each panel prints the share of coefficients within ``1 ± tolerance``
    of uniform and the extremes.

    Returns
    -------
    matplotlib.figure.Figure
    """
    layers = _as_layers(alphas, edge_index, "alphas")
    baseline = _matching_baseline(baseline_alphas, layers, edge_index)
    in_degree = torch.bincount(edge_index[1], minlength=num_nodes)  # (N,)
    shared = in_degree[edge_index[1]] > 1  # (E,) edges whose target has a choice to make
    ratios = [attention_ratio(a.double(), edge_index, num_nodes)[shared].flatten().numpy() for a in layers]
    base_ratios = ([attention_ratio(b.double(), edge_index, num_nodes)[shared].flatten().numpy() for b in baseline]
                   if baseline is not None else [])
    everything = np.concatenate(ratios + base_ratios) if shared.any() else np.ones(1)
    edges = np.linspace(min(everything.min(), 1.0) - 1e-9, max(everything.max(), 1.0) + 1e-9, bins + 1)
    fig, axes = plt.subplots(1, len(layers), figsize=(5.6 * len(layers), 3.8), sharex=True, sharey=True,
                             layout="constrained", squeeze=False)
    model_colour, baseline_colour = class_colours(2)
    for l, ax in enumerate(axes.flat):
        lines = []
        for values, colour, label, style in [(ratios[l], model_colour, labels[0], "-")] + (
                [(base_ratios[l], baseline_colour, labels[1], "--")] if baseline is not None else []):
            ax.hist(values, bins=edges, histtype="step", linewidth=1.5, linestyle=style, color=colour, label=label)
            within = float(np.mean(np.abs(values - 1.0) <= tolerance)) if len(values) else math.nan
            lines.append(f"{label}: {within:.1%} within ±{tolerance:.0%}, range {values.min():.2f} to "
                         f"{values.max():.2f}" if len(values) else f"{label}: no shared neighbourhoods")
        ax.axvline(1.0, color="0.3", linestyle=":", linewidth=1, label="uniform (1)")
        ax.set_yscale("log")
        ax.text(0.03, 0.97, "\n".join(lines), transform=ax.transAxes, ha="left", va="top", fontsize=8,
                bbox=dict(boxstyle="round,pad=0.25", facecolor="white", edgecolor="0.8", alpha=0.9))
        ax.set(title=f"layer {l + 1} ({layers[l].shape[1]} head{'s' if layers[l].shape[1] > 1 else ''})",
               xlabel="alpha_ij × |N(i)|   (1 = uniform share)")
        ax.grid(alpha=0.3)
    axes[0, 0].set_ylabel("coefficients (log scale)")
    axes[0, -1].legend(frameon=False, fontsize=9, loc="upper right")
    return fig
