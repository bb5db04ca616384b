"""The heterophily figure (chapter 12): where attention beats uniform weights, across graphs."""

from __future__ import annotations

import statistics
from typing import Any

import matplotlib as mpl
import matplotlib.pyplot as plt
from matplotlib.figure import Figure

__all__ = ["attention_gain", "plot_attention_gain"]


def attention_gain(models: dict[str, Any], model: str = "GAT") -> list[float]:
    """``model``'s test score minus the uniform-weights model's, run by run (the runs are paired:
    the same split, or the same seed), from one graph's ``models`` entry of
    ``benchmarks/bench_heterophily.py``'s table."""
    return [a - u for a, u in zip(models[model]["scores"], models["uniform"]["scores"])]


def plot_attention_gain(table: dict[str, dict[str, Any]]) -> Figure:
    """Adjusted homophily on x, the gain of attention over uniform weights on y, one point per graph.

    ``table`` maps a graph's name to its row of the heterophily benchmark: ``adjusted_homophily``
    and ``models``, each model (``"GAT"``, ``"GATv2"``, ``"uniform"``, ``"MLP"``) with its
    ``scores`` per run and ``mean``, GAT's also with ``entropy_gap`` (the relative entropy gap of
    its learned attention), which colours the points. Error bars: the standard error of the gain
    over the runs. A star marks the graphs where the MLP beats every graph model. Graphs whose
    homophily is close to another's get their names in a column beside them, with leader lines.
    """
    fig, ax = plt.subplots(figsize=(10, 6), constrained_layout=True)
    ax.axhline(0, color="0.6", lw=1)
    norm = mpl.colors.Normalize(0, max(row["models"]["GAT"]["entropy_gap"] for row in table.values()))
    anchors = {}  # name -> (x, GAT's mean gain): where the label points
    for name, row in table.items():
        models, x = row["models"], row["adjusted_homophily"]
        colour = plt.cm.viridis(norm(models["GAT"]["entropy_gap"]))
        for model, marker, shift in (("GAT", "o", -0.007), ("GATv2", "s", 0.007)):
            if model in models:
                gain = attention_gain(models, model)
                ax.errorbar(x + shift, statistics.mean(gain), yerr=statistics.stdev(gain) / len(gain) ** 0.5,
                            fmt=marker, ms=8, color=colour, mec="black", mew=0.6, ecolor="0.4", capsize=2, zorder=3)
        anchors[name] = (x - 0.007, statistics.mean(attention_gain(models)))
    for name, (x, y), (label_x, label_y) in _label_places(anchors):
        models = table[name]["models"]
        mlp_wins = models["MLP"]["mean"] > max(entry["mean"] for model, entry in models.items() if model != "MLP")
        ax.annotate(name.replace("_filtered", " (filtered)") + (" *" if mlp_wins else ""), (x, y),
                    xytext=(label_x, label_y), fontsize=8.5, va="center",
                    arrowprops={"arrowstyle": "-", "color": "0.55", "lw": 0.6, "shrinkA": 0, "shrinkB": 5})
    xs = [x for x, _ in anchors.values()]
    ax.set_xlim(min(xs) - 0.05, max(xs) + 0.15)
    bar = fig.colorbar(plt.cm.ScalarMappable(norm=norm, cmap="viridis"), ax=ax)
    bar.set_label("learned GAT attention: entropy gap\n(share of the uniform entropy given up)")
    ax.set_xlabel("adjusted homophily (0: edges ignore the classes; 1: every edge within a class)")
    ax.set_ylabel("gain of attention over uniform weights\n(test score points, mean ± s.e. over runs)")
    ax.set_title("Where attention matters: ○ GAT, □ GATv2, each against the same network with uniform "
                 "weights\n* an MLP that never sees the graph beats every graph model there", fontsize=10)
    ax.grid(alpha=0.3)
    return fig


def _label_places(anchors: dict[str, tuple[float, float]], near: float = 0.06,
                  gap: float = 0.7) -> list[tuple[str, tuple[float, float], tuple[float, float]]]:
    """(name, anchor, label position) per graph: just right of a lone point; for a group of points
    within ``near`` of each other on x, a column right of the group, ``gap`` apart on y, in the
    order of the points' y."""
    places, group = [], []
    for name in sorted(anchors, key=lambda n: anchors[n][0]) + [None]:  # None closes the last group
        if name is not None and (not group or anchors[name][0] - anchors[group[-1]][0] <= near):
            group.append(name)
            continue
        column_x = max(anchors[n][0] for n in group) + (0.03 if len(group) == 1 else 0.09)
        ordered = sorted(group, key=lambda n: anchors[n][1])
        middle = sum(anchors[n][1] for n in group) / len(group)
        for rank, member in enumerate(ordered):
            label_y = anchors[member][1] if len(group) == 1 else middle + (rank - (len(group) - 1) / 2) * gap
            places.append((member, anchors[member], (column_x, label_y)))
        group = [name]
    return places
