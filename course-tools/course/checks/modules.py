"""Tools for checking answers that are modules or training code rather than plain functions.

Dropout makes a layer's output random, and no two correct layers draw their random numbers in
the same order (one dropout call on (E, H) against one per head, F.dropout against nn.Dropout),
so outputs in train mode cannot be compared with the reference. :func:`recorded_dropout` makes
dropout observable instead: inside it every dropout the course's code can reach returns its
input unchanged and records what it was applied to, with which ``p`` and whether in training.
A check can then compare outputs exactly (train mode now computes the eval-mode function) and
ask separately *where* dropout went.

A learner's GAT layer may name and lay out its parameters its own way (an ``nn.Linear`` or a
matrix used as ``x @ W``, one attention vector per head, the paper's single ``a``).
:class:`GATParameterMap` finds gatkit's ``W``, ``a_src``, ``a_dst`` and ``bias`` in it by name and
shape, so that the same parameters can be loaded into it and its values and gradients read out
in gatkit's layout, or says in one line why it cannot.
"""

from __future__ import annotations

import math
import re
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


# --- reading a learner's GAT layer in gatkit's parameter layout -------------------------------------

#: gatkit's GAT layer parameters, in the order of :class:`GATParameterMap`'s flat layout.
GAT_PARAMETERS = ("linear.weight", "a_src", "a_dst", "bias")

_BIAS_WORDS = {"bias", "b"}
_SOURCE_WORDS = {"src", "source", "sources", "j"}
_TARGET_WORDS = {"dst", "dest", "target", "targets", "tgt", "trg", "i"}


@dataclass(frozen=True)
class _Placed:
    """One of the layer's parameters and where each of its entries lives in gatkit's layout."""

    name: str
    role: str  # "W", "a_src", "a_dst", "a" (both halves) or "bias"
    parameter: torch.nn.Parameter
    index: torch.Tensor  # the parameter's shape: the flat position of each entry in gatkit's layout


class GATParameterMap:
    """Where gatkit's GAT parameters live in another layer's parameters, whatever their names and shapes.

    gatkit's layout is ``linear.weight`` ``W`` (H*F', F), ``a_src`` and ``a_dst`` (H, F') and ``bias``
    (H*F',) or (F',). The layer may hold them otherwise, found by name and shape:

    - ``W`` as an ``nn.Linear`` weight (H*F', F), a parameter (F, H*F') used as ``x @ W``, (H, F, F')
      or (H, F', F), or one (F', F) / (F, F') per head in a ``ParameterList`` or ``ModuleList``;
    - ``a_src`` and ``a_dst`` (names saying src/source/j or dst/target/i) in any shape with H*F'
      entries ((H, F'), (1, H, F'), (H, F', 1), (F', H), ...) or one F'-vector per head; or one
      paper-style ``a`` (H, 2F') whose first half scores the target i and second half the
      source j, ``e_ij = a . [W h_i || W h_j]``, also per head;
    - ``bias`` (a name saying bias) with H*F' entries if ``concat`` else F', or one F'-vector
      per head when the heads are concatenated.

    Raises ``ValueError`` with a one-line message (what was found, what is expected) when the
    parameters cannot be placed, or when there is one too many (e.g. a bias in the projection).
    """

    def __init__(self, layer: torch.nn.Module, in_features: int, out_features: int, heads: int,
                 concat: bool) -> None:
        self.in_features, self.out_features, self.heads, self.concat = in_features, out_features, heads, concat
        bias_size = heads * out_features if concat else out_features
        self.shapes = {"linear.weight": (heads * out_features, in_features), "a_src": (heads, out_features),
                       "a_dst": (heads, out_features), "bias": (bias_size,)}
        flat = torch.arange(sum(math.prod(shape) for shape in self.shapes.values()))
        self._index = dict(zip(GAT_PARAMETERS, (part.view(shape) for part, shape in zip(
            flat.split([math.prod(shape) for shape in self.shapes.values()]), self.shapes.values()))))
        self.placed = self._place(list(layer.named_parameters()))
        covered = torch.cat([p.index.flatten() for p in self.placed]).sort().values
        assert torch.equal(covered, flat), "every entry of gatkit's layout is placed exactly once"

    # -- moving values ------------------------------------------------------------------------------

    def read(self, *, grad: bool = False) -> dict[str, torch.Tensor]:
        """The layer's parameters (or their gradients, zeros where there is none) in gatkit's layout."""
        dtype = self.placed[0].parameter.dtype
        flat = torch.zeros(sum(math.prod(shape) for shape in self.shapes.values()), dtype=dtype)
        for placed in self.placed:
            values = placed.parameter.grad if grad else placed.parameter.detach()
            if values is not None:
                flat[placed.index.flatten()] = values.detach().flatten().to(dtype)
        return {name: flat[index] for name, index in self._index.items()}

    def load(self, state_dict: dict[str, torch.Tensor]) -> None:
        """Copy gatkit's parameters (a :class:`gatkit.layers.GATLayer` state dict) into the layer's."""
        flat = torch.cat([state_dict[name].detach().flatten() for name in GAT_PARAMETERS])
        with torch.no_grad():
            for placed in self.placed:
                placed.parameter.copy_(flat[placed.index].to(placed.parameter.dtype))

    def without_gradient(self) -> list[str]:
        """gatkit's names of the parameters that got no gradient (``.grad`` is None)."""
        roles = {"W": ["W"], "a_src": ["a_src"], "a_dst": ["a_dst"], "a": ["a_src", "a_dst"], "bias": ["bias"]}
        missing = [role for placed in self.placed if placed.parameter.grad is None for role in roles[placed.role]]
        return list(dict.fromkeys(missing))

    # -- placing --------------------------------------------------------------------------------------

    def _place(self, named: list[tuple[str, torch.nn.Parameter]]) -> list[_Placed]:
        units = self._units(named)  # [(label, [(name, parameter)] one per head, or a single one)]
        kinds = [self._kind(label, members) for label, members in units]
        weights = {name for (_, members), kind in zip(units, kinds) if kind == "W" for name, _ in members}
        for (label, members), kind in zip(units, kinds):
            if kind is None:
                raise ValueError(f"cannot place {_shown(label, members)} as W, a_src, a_dst or bias")
            if kind == "bias" and members[0][0].rpartition(".")[0] + ".weight" in weights:
                raise ValueError(f"{_shown(label, members)} is extra: the projection W has no bias (bias=False)")
        for (label, members), kind in zip(units, kinds):
            numel = sum(parameter.numel() for _, parameter in members)
            if kind == "bias" and numel != math.prod(self.shapes["bias"]):
                raise ValueError(f"{_shown(label, members)}: with concat={self.concat} the bias is "
                                 f"{_shape(self.shapes['bias'])}")
        by_kind: dict[str, list] = {kind: [] for kind in ("W", "a_src", "a_dst", "a", "bias", "half")}
        for unit, kind in zip(units, kinds):
            by_kind[kind].append(unit)
        self._assign_halves(by_kind)
        for kind, units_of_kind in by_kind.items():
            if len(units_of_kind) > 1:
                found = " and ".join(_shown(label, members) for label, members in units_of_kind)
                raise ValueError(f"two parameters for {kind}: {found}")
        if by_kind["a"] and (by_kind["a_src"] or by_kind["a_dst"]):
            raise ValueError(f"both a paper-style a ({by_kind['a'][0][0]}) and a_src / a_dst: keep one")
        for kind in ("W", "a_src", "a_dst", "bias"):
            if not by_kind[kind] and not (kind.startswith("a_") and by_kind["a"]):
                shape = _shape(self.shapes["linear.weight" if kind == "W" else kind])
                raise ValueError(f"no {kind} {shape} among the parameters (a plain tensor, not an nn.Parameter?)")
        placed = []
        for kind, units_of_kind in by_kind.items():
            for label, members in units_of_kind:
                for head, (name, parameter) in enumerate(members):
                    index = self._index_of(kind, parameter.shape, head if len(members) > 1 else None)
                    if index is None:
                        raise ValueError(f"cannot read W {_shape(self.shapes['linear.weight'])} from "
                                         f"{_shown(label, members)}: expected (H*F', F), (F, H*F') or per head")
                    placed.append(_Placed(name, kind, parameter, index))
        return placed

    def _units(self, named):
        """Group per-head parameters (one numeric name part, indices 0..H-1): [(label, members)]."""
        groups: dict[str, dict[int, tuple]] = {}
        for name, parameter in named:
            parts = name.split(".")
            numeric = [k for k, part in enumerate(parts) if part.isdigit()]
            if len(numeric) == 1 and self.heads > 1:
                k = numeric[0]
                base = ".".join(parts[:k] + ["*"] + parts[k + 1:])
                groups.setdefault(base, {})[int(parts[k])] = (name, parameter)
        per_head = {base: [members[h] for h in range(self.heads)] for base, members in groups.items()
                    if sorted(members) == list(range(self.heads))
                    and len({p.numel() for _, p in members.values()}) == 1}
        grouped = {name for members in per_head.values() for name, _ in members}
        return [(name, [(name, parameter)]) for name, parameter in named if name not in grouped] + list(per_head.items())

    def _kind(self, label: str, members: list) -> str | None:
        """ "W", "bias", "a" (paper-style), "half" (a_src or a_dst, decided by name later), or None."""
        if set(re.split(r"[._*]", label.lower())) & _BIAS_WORDS:
            return "bias"
        f, fp, h = self.in_features, self.out_features, self.heads
        numel = sum(parameter.numel() for _, parameter in members)
        return {f * h * fp: "W", h * fp: "half", 2 * h * fp: "a"}.get(numel)

    def _assign_halves(self, by_kind: dict[str, list]) -> None:
        """a_src or a_dst for each "half", by the words in its name."""
        unnamed = []
        for label, members in by_kind.pop("half"):
            words = set(re.split(r"[._*]", label.lower()))
            source, target = bool(words & _SOURCE_WORDS), bool(words & _TARGET_WORDS)
            if source != target:
                by_kind["a_src" if source else "a_dst"].append((label, members))
            else:
                unnamed.append((label, members))
        if len(unnamed) == 1 and len(by_kind["a_src"]) + len(by_kind["a_dst"]) == 1:
            by_kind["a_dst" if by_kind["a_src"] else "a_src"].append(unnamed.pop())
        if unnamed:
            found = ", ".join(_shown(label, members) for label, members in unnamed)
            raise ValueError(f"cannot tell a_src from a_dst in {found}: say src or dst in their names")

    def _index_of(self, kind: str, shape: torch.Size, head: int | None) -> torch.Tensor | None:
        """The gatkit positions of a parameter of ``shape`` playing ``kind`` (for one head or all)."""
        f, fp, h = self.in_features, self.out_features, self.heads
        shape = tuple(shape)
        weight = self._index["linear.weight"]  # (H*F', F)
        per_head = weight.view(h, fp, f)  # (H, F', F)
        if kind == "W":
            if head is not None:
                return {(fp, f): per_head[head], (f, fp): per_head[head].T}.get(shape)
            return {(h * fp, f): weight, (f, h * fp): weight.T, (h, fp, f): per_head,
                    (h, f, fp): per_head.transpose(1, 2)}.get(shape)
        if kind == "a":
            index = torch.cat([self._index["a_dst"], self._index["a_src"]], dim=1)  # (H, 2F'): [target i || source j]
        elif kind == "bias":
            index = self._index["bias"].view(h, fp) if head is not None else self._index["bias"]
        else:
            index = self._index[kind]  # (H, F')
        if head is not None:
            return index[head].reshape(shape)
        if index.dim() == 2 and shape == index.shape[::-1] and shape != tuple(index.shape):
            return index.T  # stored transposed: (F', H) or (2F', H)
        return index.reshape(shape)


def _shape(shape: tuple) -> str:
    return str(tuple(shape))


def _shown(label: str, members: list) -> str:
    """``name (shape)``, or ``name (shape) x H`` for one parameter per head."""
    shape = _shape(members[0][1].shape)
    return f"{label} {shape}" if len(members) == 1 else f"{label} {shape} x {len(members)}"
