"""The training figure (chapter 07): learning curves from a ``gatkit.train`` history."""

from __future__ import annotations

from typing import Sequence

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.figure import Figure

__all__ = ["plot_learning_curves"]


def plot_learning_curves(history: dict[str, Sequence[float]], best_epoch: int | None = None, *,
                         title: str = "") -> Figure:
    """Loss and accuracy per epoch from a training ``history`` (see ``gatkit.train``).

    Left: train and validation loss. Right: validation accuracy and the training accuracy
    measured twice, in eval mode and in train mode (with dropout, hence lower). The epoch whose
    weights were kept is marked.
    """
    fig, (loss_ax, acc_ax) = plt.subplots(1, 2, figsize=(12, 4.2))
    epochs = np.arange(len(history["val_loss"]))
    loss_ax.plot(epochs, history["train_loss"], label="train (eval mode)", color="tab:blue")
    loss_ax.plot(epochs, history["val_loss"], label="validation", color="tab:orange")
    loss_ax.set(xlabel="epoch", ylabel="cross-entropy loss", title="loss")
    acc_ax.plot(epochs, history["train_acc"], label="train (eval mode)", color="tab:blue")
    if "train_acc_dropout" in history:
        acc_ax.plot(epochs, history["train_acc_dropout"], label="train (train mode, dropout)",
                    color="tab:blue", alpha=0.35, linewidth=0.8)
    acc_ax.plot(epochs, history["val_acc"], label="validation", color="tab:orange")
    acc_ax.set(xlabel="epoch", ylabel="accuracy", title="accuracy", ylim=(0, 1.02))
    for ax in (loss_ax, acc_ax):
        if best_epoch is not None:
            ax.axvline(best_epoch, color="grey", linestyle="--", linewidth=1,
                       label=f"weights kept (epoch {best_epoch})")
        ax.grid(alpha=0.3)
        ax.legend(frameon=False, fontsize=9)
    if title:
        fig.suptitle(title)
    fig.tight_layout()
    return fig
