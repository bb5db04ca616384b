"""Tools for checking answers that are modules or training code rather than plain functions.

Dropout makes a layer's output random, and no two correct layers draw their random numbers in
the same order (one dropout call on (E, H) against one per head, F.dropout against nn.Dropout),
so outputs in train mode cannot be compared with the reference. :func:`recorded_dropout` makes
dropout observable instead: inside it every dropout the course's code can reach returns its
input unchanged and records what it was applied to, with which ``p`` and whether in training.
A check can then compare outputs exactly (train mode now computes the eval-mode function) and
ask separately *where* dropout went.
"""

from __future__ import annotations

from contextlib import contextmanager
from dataclasses import dataclass
from typing import Iterator

import torch
import torch.nn.functional as F

import gatkit.layers
import gatkit.ops


@dataclass(frozen=True)
class DropoutCall:
    """One dropout call: a detached copy of its input, its probability and its training flag."""

    input: torch.Tensor
    p: float
    training: bool

    @property
    def active(self) -> bool:
        """Whether this call would have dropped anything."""
        return self.training and self.p > 0


# Every name under which course code reaches a dropout: F.dropout (nn.Dropout calls it too),
# torch.dropout, and gatkit's fast path, imported by name into gatkit.layers.
_PATCHED = ((F, "dropout"), (torch, "dropout"), (gatkit.ops, "dropout"), (gatkit.layers, "dropout"))


@contextmanager
def recorded_dropout() -> Iterator[list[DropoutCall]]:
    """Within the block, dropout is the identity and each call is appended to the yielded list."""
    calls: list[DropoutCall] = []

    def record(input, p=0.5, training=True, inplace=False):  # F.dropout's signature covers the others'
        calls.append(DropoutCall(input.detach().clone(), float(p), bool(training)))
        return input

    saved = [(owner, name, getattr(owner, name)) for owner, name in _PATCHED]
    for owner, name, _ in saved:
        setattr(owner, name, record)
    try:
        yield calls
    finally:
        for owner, name, original in saved:
            setattr(owner, name, original)
