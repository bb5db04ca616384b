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
    over the runs. A star marks the graphs where the MLP beats every graph model.
    """
    fig, ax = plt.subplots(figsize=(9, 5.6), constrained_layout=True)
    ax.axhline(0, color="0.6", lw=1)
    norm = mpl.colors.Normalize(0, max(row["models"]["GAT"]["entropy_gap"] for row in table.values()))
    for name, row in table.items():
        models, x = row["models"], row["adjusted_homophily"]
        colour = plt.cm.viridis(norm(models["GAT"]["entropy_gap"]))
        for model, marker, shift in (("GAT", "o", -0.007), ("GATv2", "s", 0.007)):
            if model in models:
                gain = attention_gain(models, model)
                ax.errorbar(x + shift, statistics.mean(gain), yerr=statistics.stdev(gain) / len(gain) ** 0.5,
                            fmt=marker, ms=8, color=colour, mec="black", mew=0.6, ecolor="0.4", capsize=2, zorder=3)
        mlp_wins = models["MLP"]["mean"] > max(entry["mean"] for model, entry in models.items() if model != "MLP")
        ax.annotate(name.replace("_filtered", " (filtered)") + (" *" if mlp_wins else ""),
                    (x, statistics.mean(attention_gain(models))), xytext=(8, 5), textcoords="offset points",
                    fontsize=8.5)
    bar = fig.colorbar(plt.cm.ScalarMappable(norm=norm, cmap="viridis"), ax=ax)
    bar.set_label("learned GAT attention: entropy gap\n(share of the uniform entropy given up)")
    ax.set_xlabel("adjusted homophily (0: edges ignore the classes; 1: every edge within a class)")
    ax.set_ylabel("gain of attention over uniform weights\n(test score points, mean ± s.e. over runs)")
    ax.set_title("Where attention matters: ○ GAT, □ GATv2, each against the same network with uniform "
                 "weights\n* an MLP that never sees the graph beats every graph model there", fontsize=10)
    ax.grid(alpha=0.3)
    return fig
