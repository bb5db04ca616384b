"""What every figure of :mod:`gatkit.viz` shares: class colours, the class legend, a figure to draw in.

Colours are RGB tuples of floats, never names like ``"tab:blue"``: igraph parses colours itself
and only understands tuples and X11 names, and tuples stack into NumPy arrays for ``scatter``.
"""

from __future__ import annotations

from typing import Sequence

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.lines import Line2D

__all__ = ["class_colours", "class_legend", "figure_and_axes"]


def class_colours(num_classes: int) -> list[tuple[float, float, float]]:
    """One distinct RGB tuple per class (matplotlib's *tab10*, *tab20* beyond 10 classes).

    Class ``c`` gets the same colour in every figure of the course, so a class can be followed
    from the dataset pictures (chapter 02) to the attention (08) and embedding (09) ones.

    Raises
    ------
    ValueError
        For ``num_classes < 1``.
    """
    if num_classes < 1:
        raise ValueError(f"num_classes must be at least 1, got {num_classes}")
    palette = plt.get_cmap("tab10" if num_classes <= 10 else "tab20").colors
    return [tuple(float(v) for v in palette[c % len(palette)]) for c in range(num_classes)]


def class_legend(ax: Axes, class_names: Sequence[str] | None, colours: np.ndarray,
                 labels: np.ndarray, extra: list | None = None, **kwargs) -> None:
    """A legend with one dot per class present in ``labels``, its node count in brackets.

    Parameters
    ----------
    ax : matplotlib.axes.Axes
        Gets the legend, by default outside its upper right corner.
    class_names : sequence of str, optional
        Names of the classes (default ``"class c"``).
    colours : numpy.ndarray
        (C, 3), as from :func:`class_colours`; C is the number of classes.
    labels : numpy.ndarray
        (n,) int class ids of the nodes drawn; classes absent from it are left out.
    extra : list of (handle, text), optional
        More entries after the classes (marker or line explanations).
    **kwargs
        Passed to :meth:`matplotlib.axes.Axes.legend`, overriding the defaults.
    """
    counts = np.bincount(labels, minlength=len(colours))
    handles, texts = [], []
    for c in range(len(colours)):
        if counts[c] == 0:
            continue
        name = class_names[c] if class_names is not None else f"class {c}"
        handles.append(Line2D([], [], linestyle="", marker="o", markersize=9, color=colours[c]))
        texts.append(f"{name} ({counts[c]})")
    for handle, text in extra or []:
        handles.append(handle)
        texts.append(text)
    options = dict(loc="upper left", bbox_to_anchor=(1.0, 1.0), frameon=False, fontsize=10,
                   title_fontsize=10, labelspacing=0.9)
    options.update(kwargs)
    ax.legend(handles, texts, **options)


def figure_and_axes(ax: Axes | None, figsize: tuple[float, float]) -> tuple[Figure, Axes]:
    """``ax`` and its figure, or a new figure of ``figsize`` inches (constrained layout) and its axes.

    The ``ax=`` convention of every one-panel function: draw into the caller's axes when given.
    """
    if ax is not None:
        return ax.get_figure(), ax
    fig, ax = plt.subplots(figsize=figsize, layout="constrained")
    return fig, ax
