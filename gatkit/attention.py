"""Reading a trained GAT's attention: one node's coefficients, their entropy, and pictures of both.

A GAT layer gives every edge ``j -> i`` of ``edge_index`` (2, E) one coefficient per head,
``alpha`` (E, H), normalised over the incoming edges of each target ``i``: for every ``i`` and
head, the coefficients of the edges into ``i`` sum to 1. ``GAT(..., return_attention=True)``
returns one such tensor per layer, in ``edge_index`` column order.

The functions here answer three questions:

- *Whom does a node listen to?* :func:`node_attention` gathers one node's coefficients,
  :func:`draw_attention` draws them, with edge widths on an absolute scale.
- *How spread out is a node's attention?* :func:`attention_entropy` (in nats) against the
  baseline of uniform attention, :func:`uniform_entropy` = ``log(in-degree)``.
  :func:`entropy_gap` summarises the difference per head; per node it is the KL divergence of the
  attention from the uniform distribution, so it is never negative. :func:`plot_entropy_histograms`
  draws the distributions.
- *How far is each coefficient from uniform?* :func:`attention_ratio` = ``alpha_ij * |N(i)|``
  (1 for uniform attention), drawn by :func:`plot_attention_ratios`.

Layers are numbered from 1 in titles, as in the paper (layer 1 is ``alphas[0]``); heads are
numbered from 0, as the columns of ``alpha``.

Examples
--------
>>> import torch
>>> edge_index = torch.tensor([[0, 1, 2, 1], [0, 0, 0, 1]])  # 0, 1, 2 -> 0 and 1 -> 1
>>> alpha = torch.tensor([[0.5], [0.25], [0.25], [1.0]])      # (E, H=1)
>>> attention_entropy(alpha, edge_index, 3)[:, 0]             # 1.5 ln 2, 0, no incoming edge
tensor([1.0397, 0.0000,    nan])
"""

from __future__ import annotations

import math
import numbers
from typing import Sequence

import matplotlib.pyplot as plt
import numpy as np
import torch
from matplotlib.axes import Axes
from matplotlib.collections import LineCollection
from matplotlib.figure import Figure
from matplotlib.legend import Legend
from matplotlib.lines import Line2D

from gatkit import viz
from gatkit.edges import validate_edge_index

__all__ = [
    "LAYOUTS",
    "WIDTH_PER_UNIT",
    "attention_entropy",
    "attention_ratio",
    "draw_attention",
    "entropy_gap",
    "node_attention",
    "plot_attention_ratios",
    "plot_entropy_histograms",
    "uniform_entropy",
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


# --------------------------------------------------------------------------
# Input checks
# --------------------------------------------------------------------------


def _check_alpha(alpha: object, edge_index: torch.Tensor) -> torch.Tensor:
    """``alpha`` as an (E, H) floating tensor with one row per column of ``edge_index``."""
    if not isinstance(alpha, torch.Tensor):
        raise ValueError(f"alpha must be a torch.Tensor, got {type(alpha).__name__}")
    if not alpha.is_floating_point():
        raise ValueError(f"alpha must hold floating-point coefficients, got dtype {alpha.dtype}")
    if alpha.dim() == 1:
        alpha = alpha.unsqueeze(1)  # (E, 1)
    if alpha.dim() != 2:
        raise ValueError(f"alpha must have shape (E, H) or (E,), got {tuple(alpha.shape)}")
    if alpha.shape[0] != edge_index.shape[1]:
        hint = " (it looks transposed: use alpha.T)" if alpha.shape[1] == edge_index.shape[1] else ""
        raise ValueError(f"alpha has {alpha.shape[0]} rows but edge_index has {edge_index.shape[1]} "
                         f"columns: alpha must hold one row per edge, in edge_index column order{hint}")
    return alpha


def _check_node(node: object, num_nodes: int) -> int:
    if isinstance(node, torch.Tensor) and node.numel() == 1 and not node.is_floating_point():
        node = int(node)
    if isinstance(node, bool) or not isinstance(node, numbers.Integral):
        raise ValueError(f"node must be an integer node id, got {node!r}")
    node = int(node)
    if not 0 <= node < num_nodes:
        raise ValueError(f"node id must be in 0 .. {num_nodes - 1}, got {node}")
    return node


def _check_num_nodes(num_nodes: object) -> int:
    if isinstance(num_nodes, bool) or not isinstance(num_nodes, numbers.Integral) or num_nodes < 0:
        raise ValueError(f"num_nodes must be a non-negative integer, got {num_nodes!r}")
    return int(num_nodes)


def _head_weights(alpha: torch.Tensor, head: int | str) -> torch.Tensor:
    """One head's column of ``alpha`` (E, H), or the mean over the heads: (E,)."""
    heads = alpha.shape[1]
    if head == "mean":
        return alpha.mean(dim=1)  # (E,): still sums to 1 over each neighbourhood
    if isinstance(head, bool) or not isinstance(head, numbers.Integral) or not 0 <= head < heads:
        raise ValueError(f"head must be 'mean' or a head number in 0 .. {heads - 1}, got {head!r}")
    return alpha[:, int(head)]  # (E,)


def _head_label(alpha: torch.Tensor, head: int | str) -> str:
    return f"mean of {alpha.shape[1]} heads" if head == "mean" else f"head {head}"


# --------------------------------------------------------------------------
# Numbers
# --------------------------------------------------------------------------


def node_attention(edge_index: torch.Tensor, alpha: torch.Tensor, node: int, *,
                   num_nodes: int | None = None) -> tuple[torch.Tensor, torch.Tensor]:
    """The attention ``node`` gives to each of its incoming neighbours.

    Parameters
    ----------
    edge_index : torch.Tensor
        (2, E) int64, row 0 source ``j``, row 1 target ``i``.
    alpha : torch.Tensor
        (E, H) (or (E,)) coefficients in ``edge_index`` column order.
    node : int
        The target ``i`` whose attention is read.
    num_nodes : int, optional
        N; defaults to the largest id in ``edge_index`` plus one.

    Returns
    -------
    sources : torch.Tensor
        (k,) int64, the source ``j`` of every edge into ``node`` (its self-loop included), in
        column order.
    weights : torch.Tensor
        (k, H), the rows of ``alpha`` for those edges: ``weights[m, h]`` is what ``node`` gives
        ``sources[m]`` in head ``h``. Each column sums to 1 when ``alpha`` is normalised.

    Raises
    ------
    ValueError
        For a malformed ``edge_index``, an ``alpha`` without one row per edge, or a node id
        outside ``0 .. N - 1``.
    """
    if num_nodes is None:
        num_nodes = int(edge_index.max()) + 1 if isinstance(edge_index, torch.Tensor) and edge_index.numel() else 0
    num_nodes = _check_num_nodes(num_nodes)
    validate_edge_index(edge_index, num_nodes)
    alpha = _check_alpha(alpha, edge_index)
    node = _check_node(node, num_nodes)
    incoming = edge_index[1] == node  # (E,) the columns whose target is node
    return edge_index[0, incoming], alpha[incoming]  # (k,), (k, H)


def attention_entropy(alpha: torch.Tensor, edge_index: torch.Tensor, num_nodes: int) -> torch.Tensor:
    """Entropy, in nats, of every node's attention over its incoming edges, per head.

    ``H_i = - sum_{j in N(i)} alpha_ij ln alpha_ij``, with ``0 ln 0 = 0`` (``torch.xlogy``), summed
    per target with ``index_add_``. It is 0 when a node gives all its attention to one neighbour
    and ``ln |N(i)|`` (:func:`uniform_entropy`) when it spreads it evenly; nothing in between is
    higher. The formula assumes each target's coefficients sum to 1 (as a GAT's do).

    Parameters
    ----------
    alpha : torch.Tensor
        (E, H) coefficients in ``edge_index`` column order; (E,) gives an (N,) result.
    edge_index : torch.Tensor
        (2, E) int64.
    num_nodes : int
        N.

    Returns
    -------
    torch.Tensor
        (N, H) (or (N,)) in ``alpha``'s dtype. A node with **no incoming edge** has no attention
        distribution at all: its entropy is NaN (not 0, which would claim a one-hot distribution).
        With self-loops added, as a GAT does, every node has at least one incoming edge.

    Raises
    ------
    ValueError
        For a malformed ``edge_index``, an ``alpha`` without one row per edge, or negative
        coefficients.
    """
    num_nodes = _check_num_nodes(num_nodes)
    validate_edge_index(edge_index, num_nodes)
    one_dim = isinstance(alpha, torch.Tensor) and alpha.dim() == 1
    alpha = _check_alpha(alpha, edge_index)  # (E, H)
    if alpha.numel() and bool((alpha < 0).any()):
        raise ValueError("alpha holds negative coefficients: attention weights come out of a softmax "
                         "and are never negative")
    terms = -torch.xlogy(alpha, alpha)  # (E, H), 0 where alpha == 0
    entropy = torch.zeros(num_nodes, alpha.shape[1], dtype=alpha.dtype, device=alpha.device)  # (N, H)
    entropy.index_add_(0, edge_index[1], terms)
    in_degree = torch.bincount(edge_index[1], minlength=num_nodes)  # (N,)
    entropy[in_degree == 0] = math.nan
    return entropy[:, 0] if one_dim else entropy


def uniform_entropy(edge_index: torch.Tensor, num_nodes: int) -> torch.Tensor:
    """The entropy of uniform attention, ``ln |N(i)|`` (the log of the in-degree), in nats.

    The largest entropy a distribution over ``|N(i)|`` incoming edges can have: the baseline that
    :func:`attention_entropy` is compared with.

    Returns
    -------
    torch.Tensor
        (N,) float32; NaN for a node with no incoming edge (as in :func:`attention_entropy`).
    """
    num_nodes = _check_num_nodes(num_nodes)
    validate_edge_index(edge_index, num_nodes)
    in_degree = torch.bincount(edge_index[1], minlength=num_nodes).float()  # (N,) row 1: targets
    return torch.where(in_degree > 0, in_degree.log(), torch.full_like(in_degree, math.nan))  # (N,)


def entropy_gap(alpha: torch.Tensor, edge_index: torch.Tensor, num_nodes: int, *,
                relative: bool = False) -> torch.Tensor:
    """How far below uniform a layer's attention entropy lies, per head, in nats.

    For one node, ``ln |N(i)| - H_i`` is the KL divergence of its attention from the uniform
    distribution over its neighbourhood (``sum_j alpha_ij ln(alpha_ij |N(i)|)``), so it is never
    negative and is 0 only for exactly uniform attention. The gap is its mean over the nodes that
    have incoming edges, computed in float64 (the gaps can be far below float32's resolution of
    the entropies themselves).

    Parameters
    ----------
    alpha : torch.Tensor
        (E, H) or (E,).
    edge_index : torch.Tensor
        (2, E) int64.
    num_nodes : int
        N.
    relative : bool, default False
        Divide by the mean uniform entropy over the same nodes: the share of the available
        entropy that attention gives up (0 = uniform, 1 = every node one-hot).

    Returns
    -------
    torch.Tensor
        (H,) float64 (a 0-dim tensor for a 1-D ``alpha``).
    """
    one_dim = isinstance(alpha, torch.Tensor) and alpha.dim() == 1
    alpha = _check_alpha(alpha, edge_index)
    entropy = attention_entropy(alpha.double(), edge_index, num_nodes)  # (N, H)
    uniform = uniform_entropy(edge_index, num_nodes).double()  # (N,)
    has_edges = ~torch.isnan(uniform)  # (N,)
    gap = (uniform[has_edges, None] - entropy[has_edges]).mean(dim=0)  # (H,)
    if relative:
        gap = gap / uniform[has_edges].mean()
    return gap[0] if one_dim else gap


def attention_ratio(alpha: torch.Tensor, edge_index: torch.Tensor, num_nodes: int) -> torch.Tensor:
    """Every coefficient divided by its uniform value: ``alpha_ij * |N(i)|``.

    1 means the neighbour gets exactly its uniform share ``1 / |N(i)|``; 2 twice that; 0.5 half.
    Unlike the entropy gap, which grows with the *square* of small deviations, this shows them
    at first order.

    Returns
    -------
    torch.Tensor
        Same shape as ``alpha``, (E, H) or (E,).
    """
    num_nodes = _check_num_nodes(num_nodes)
    validate_edge_index(edge_index, num_nodes)
    one_dim = isinstance(alpha, torch.Tensor) and alpha.dim() == 1
    alpha = _check_alpha(alpha, edge_index)
    in_degree = torch.bincount(edge_index[1], minlength=num_nodes).to(alpha.dtype)  # (N,)
    ratio = alpha * in_degree[edge_index[1]].unsqueeze(1)  # (E, H)
    return ratio[:, 0] if one_dim else ratio


# --------------------------------------------------------------------------
# One node's attention, drawn
# --------------------------------------------------------------------------


def _neighbour_positions(layout: str, count: int, pairs: np.ndarray) -> np.ndarray:
    """(1 + count, 2) positions: the node at index 0, its neighbours 1 .. count, scaled to the unit disc."""
    import igraph as ig

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
        neighbour, in the order of :func:`node_attention`, self-loop left out), the ring the
        collection with gid ``"self-attention"``.

    Raises
    ------
    ValueError
        For bad inputs (see :func:`node_attention`), an unknown ``layout`` or ``head``, or a
        ``max_width`` that is not positive.
    """
    if layout not in LAYOUTS:
        raise ValueError(f"layout must be one of {LAYOUTS}, got {layout!r}")
    if not max_width > 0:
        raise ValueError(f"max_width must be positive, got {max_width!r}")
    num_nodes = len(y)
    validate_edge_index(edge_index, num_nodes)
    alpha = _check_alpha(alpha, edge_index)
    node = _check_node(node, num_nodes)
    weights_all = _head_weights(alpha, head)  # (E,)
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
    colours = np.array(viz.class_colors(num_classes))

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

    fig, ax = viz._figure_and_axes(ax, figsize=(10.5, 7.6))
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
    viz._class_legend(ax, class_names, colours, neighbour_labels, extra=[
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
    return [_check_alpha(alpha, edge_index).detach() for alpha in layers]


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
    (:func:`attention_entropy`), the uniform baseline ``ln |N(i)|`` (:func:`uniform_entropy`,
    grey bars) and, if given, the entropy of a second model (e.g. the untrained one), and prints
    the :func:`entropy_gap` of each model in nats and, in brackets, as a share of the mean uniform
    entropy.

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
    model_colour, baseline_colour = viz.class_colors(2)
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
    """Histograms of ``alpha_ij * |N(i)|`` (:func:`attention_ratio`), one panel per layer, heads pooled.

    1 is uniform attention. Edges into nodes with a single incoming edge (ratio 1 by force) are
    left out. The y axis is logarithmic so the rare large deviations stay visible; each panel
    prints the share of coefficients within ``1 ± tolerance`` of uniform and the extremes.

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
    model_colour, baseline_colour = viz.class_colors(2)
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
