"""Pictures of embeddings (chapter 09): 2-D points coloured by class, with their scores written in.

:func:`plot_embeddings` draws one embedding (usually :func:`gatkit.embeddings.tsne` of a layer's
output): colour = class, test nodes outlined, training nodes as diamonds, and the scores of
:func:`gatkit.embeddings.embedding_scores` under the title. :func:`plot_embedding_panels` draws
several side by side with one legend.
"""

from __future__ import annotations

from typing import Mapping, Sequence

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.lines import Line2D

from gatkit.embeddings import as_index, as_labels, as_points
from gatkit.viz.style import class_colours, class_legend

__all__ = ["plot_embedding_panels", "plot_embeddings"]

_TEST_EDGE = (0.1, 0.1, 0.1)
_SCORE_NAMES = {"knn_accuracy": "k-NN acc.", "agreement": "agreement", "silhouette": "silhouette"}


def _score_text(scores: Mapping[str, float]) -> str:
    return "   ".join(f"{_SCORE_NAMES.get(name, name)} {value:.2f}" for name, value in scores.items())


def _draw(ax: Axes, xy: np.ndarray, y: np.ndarray, colours: np.ndarray, test: np.ndarray | None,
          train: np.ndarray | None, size: float) -> None:
    """Other nodes small and light, test nodes outlined on top, training nodes as diamonds."""
    marked = np.zeros(len(y), dtype=bool)
    if test is not None:
        marked[test] = True
    if train is not None:
        marked[train] = True
    rest = np.flatnonzero(~marked)
    ax.scatter(xy[rest, 0], xy[rest, 1], s=size, c=colours[y[rest]], linewidths=0, alpha=0.55,
               label="_other nodes", gid="other")
    if test is not None:
        ax.scatter(xy[test, 0], xy[test, 1], s=size * 1.6, c=colours[y[test]], edgecolors=[_TEST_EDGE],
                   linewidths=0.5, label="_test nodes", gid="test")
    if train is not None:
        ax.scatter(xy[train, 0], xy[train, 1], s=size * 4, marker="D", c=colours[y[train]],
                   edgecolors="black", linewidths=0.9, label="_training nodes", gid="train")
    ax.set_xticks([])
    ax.set_yticks([])
    ax.set_aspect("equal", adjustable="datalim")


def _marker_handles(test: bool, train: bool, size: float) -> list:
    grey = (0.6, 0.6, 0.6)
    extra = []
    if test:
        extra.append((Line2D([], [], linestyle="", marker="o", markersize=np.sqrt(size * 1.6) + 1,
                             markerfacecolor=grey, markeredgecolor=_TEST_EDGE, markeredgewidth=0.8),
                      "test node (outlined)"))
    if train:
        extra.append((Line2D([], [], linestyle="", marker="D", markersize=np.sqrt(size * 4),
                             markerfacecolor=grey, markeredgecolor="black", markeredgewidth=0.9),
                      "training node"))
    return extra


def _prepare(points_2d, labels, test_index, train_index):
    xy = as_points(points_2d, "points_2d")
    if xy.shape[1] != 2:
        raise ValueError(f"points_2d must have shape (N, 2), got {xy.shape}; "
                         "run gatkit.embeddings.tsne() first")
    y = as_labels(labels, len(xy))
    test = None if test_index is None else as_index(test_index, len(xy), "test_index")
    train = None if train_index is None else as_index(train_index, len(xy), "train_index")
    return xy, y, test, train


def plot_embeddings(points_2d, labels, *, test_index=None, train_index=None,
                    class_names: Sequence[str] | None = None, title: str | None = None,
                    scores: Mapping[str, float] | None = None, ax: Axes | None = None,
                    legend: bool = True, point_size: float = 9.0) -> Figure:
    """Scatter a 2-D embedding (from :func:`gatkit.embeddings.tsne`) coloured by class.

    Parameters
    ----------
    points_2d : torch.Tensor or numpy.ndarray
        (N, 2) coordinates.
    labels : torch.Tensor or numpy.ndarray
        (N,) class ids, which pick the colours (:func:`gatkit.viz.class_colours`).
    test_index, train_index : array-like, optional
        Nodes to mark: test nodes are drawn on top with a dark outline, training nodes as
        larger black-edged diamonds. Their scatter collections carry ``gid`` ``"test"`` and
        ``"train"`` (the rest ``"other"``), so a test can find them.
    class_names : sequence of str, optional
        Legend labels (default ``"class c"``).
    title : str, optional
        Axes title.
    scores : mapping, optional
        Numbers to write under the title, e.g. ``gatkit.embeddings.embedding_scores(...)``; the keys
        ``knn_accuracy``, ``agreement`` and ``silhouette`` get short names, others print as given.
    ax : matplotlib.axes.Axes, optional
        Draw here instead of in a new figure.
    legend : bool
        Draw the class legend (with the class sizes) and the marker legend to the right.
    point_size : float
        ``scatter``'s ``s`` for the unmarked nodes.

    Returns
    -------
    matplotlib.figure.Figure
    """
    xy, y, test, train = _prepare(points_2d, labels, test_index, train_index)
    num_classes = len(class_names) if class_names is not None else int(y.max()) + 1
    if class_names is not None and y.max() >= num_classes:
        raise ValueError(f"labels go up to {y.max()} but only {num_classes} class names were given")
    colours = np.array(class_colours(num_classes))  # (C, 3)
    if ax is None:
        fig, ax = plt.subplots(figsize=(8.6 if legend else 6, 6), layout="constrained")
    else:
        fig = ax.get_figure()
    _draw(ax, xy, y, colours, test, train, point_size)
    lines = ([title] if title else []) + ([_score_text(scores)] if scores else [])
    if lines:
        ax.set_title("\n".join(lines), fontsize=10.5)
    if legend:
        class_legend(ax, class_names, colours, y, extra=_marker_handles(test is not None, train is not None,
                                                                         point_size),
                      title="class (nodes)", fontsize=9, labelspacing=0.6)
    return fig


def plot_embedding_panels(panels: Mapping[str, object], labels, *, test_index=None, train_index=None,
                          class_names: Sequence[str] | None = None,
                          scores: Mapping[str, Mapping[str, float]] | None = None, ncols: int | None = None,
                          panel_size: float = 4.4, suptitle: str | None = None,
                          point_size: float = 6.0) -> Figure:
    """Several 2-D embeddings of the same nodes side by side, with one shared legend below.

    Parameters
    ----------
    panels : mapping
        Panel title -> (N, 2) coordinates, drawn in order.
    labels, test_index, train_index, class_names, point_size
        As in :func:`plot_embeddings`, shared by every panel.
    scores : mapping, optional
        Panel title -> scores written into that panel (see :func:`plot_embeddings`).
    ncols : int, optional
        Panels per row (default: all in one row, at most 3).
    panel_size : float
        Width and height of one panel in inches.
    suptitle : str, optional
        A title over all panels.

    Returns
    -------
    matplotlib.figure.Figure
    """
    if not panels:
        raise ValueError("panels is empty")
    ncols = ncols or min(3, len(panels))
    nrows = -(-len(panels) // ncols)
    y = as_labels(labels, len(as_points(next(iter(panels.values())), "points_2d")))
    num_classes = len(class_names) if class_names is not None else int(y.max()) + 1
    colours = np.array(class_colours(num_classes))  # (C, 3)
    counts = np.bincount(y, minlength=num_classes)
    handles, texts = [], []
    for c in np.flatnonzero(counts):
        handles.append(Line2D([], [], linestyle="", marker="o", markersize=8, color=colours[c]))
        texts.append(f"{class_names[c] if class_names is not None else f'class {c}'} ({counts[c]})")
    for handle, text in _marker_handles(test_index is not None, train_index is not None, point_size):
        handles.append(handle)
        texts.append(text)
    columns = max(1, min(len(handles), int(panel_size * ncols / 2.7)))  # about 2.7 inches per legend entry
    # square panels, plus two title lines per row, the legend's rows and the suptitle
    height = (panel_size + 0.5) * nrows + 0.3 + 0.25 * -(-len(handles) // columns) + (0.35 if suptitle else 0.0)
    fig, axes = plt.subplots(nrows, ncols, figsize=(panel_size * ncols, height), layout="constrained",
                             squeeze=False)
    for ax, (name, points) in zip(axes.flat, panels.items()):
        plot_embeddings(points, labels, test_index=test_index, train_index=train_index,
                        class_names=class_names, title=name, scores=(scores or {}).get(name), ax=ax,
                        legend=False, point_size=point_size)
    for ax in list(axes.flat)[len(panels):]:
        ax.set_visible(False)
    fig.legend(handles, texts, loc="outside lower center", ncol=columns, frameon=False, fontsize=9)
    if suptitle:
        fig.suptitle(suptitle)
    return fig
