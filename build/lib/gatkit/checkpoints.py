"""Model files: written atomically, loaded safely, checked against the model they are meant for.

A checkpoint is a plain dict (so ``torch.load(weights_only=True)`` can read it without running
any code from the file)::

    {"format": "gatkit-checkpoint", "format_version": 1, "gatkit_version": "0.1.0",
     "config": {...}, "dataset": {"name": "cora", "checksum": "..."}, "epoch": 212,
     "metrics": {...}, "state_dict": {...}, and for resuming: "optimizer", "early_stopping",
     "history", "rng"}
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import torch

import gatkit
from gatkit.files import FileWriteError, atomic_write

FORMAT = "gatkit-checkpoint"
FORMAT_VERSION = 1


class CheckpointError(RuntimeError):
    """A model file that cannot be used: missing, corrupt, or made for another model."""


def save_checkpoint(payload: dict[str, Any], path: str | os.PathLike) -> Path:
    """Write ``payload`` (plus format fields) to ``path`` atomically and return the path.

    :func:`gatkit.files.atomic_write` does the writing: a run interrupted at any moment leaves
    either the previous file or the new one, never half a file.
    """
    contents = {"format": FORMAT, "format_version": FORMAT_VERSION,
                "gatkit_version": gatkit.__version__, **payload}
    try:
        return atomic_write(path, lambda file: torch.save(contents, file))
    except FileWriteError as error:
        raise CheckpointError(f"{error}. Choose a writable folder (gatkit train --out-dir DIR).") from error


def load_checkpoint(path: str | os.PathLike) -> dict[str, Any]:
    """Read a checkpoint with ``torch.load(weights_only=True)``; raise ``CheckpointError`` if unusable."""
    path = Path(path)
    if not path.is_file():
        raise CheckpointError(f"no model file at {path}. Train one with `gatkit train` "
                              "(models are written under models/binaries/).")
    try:
        payload = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as error:  # damaged bytes surface as many different exception types
        raise CheckpointError(f"{path} is not a readable model file ({type(error).__name__}: "
                              f"{str(error).splitlines()[0] if str(error) else ''}). It may be "
                              "truncated, corrupt or not a safe model file: train again or pick another file.") from error
    if not isinstance(payload, dict) or payload.get("format") != FORMAT:
        raise CheckpointError(f"{path} is a PyTorch file but not a gatkit checkpoint "
                              "(no 'format': 'gatkit-checkpoint' entry).")
    if payload.get("format_version") != FORMAT_VERSION:
        raise CheckpointError(f"{path} has checkpoint format {payload.get('format_version')}, "
                              f"this gatkit reads format {FORMAT_VERSION}.")
    return payload


def load_into(model: torch.nn.Module, payload: dict[str, Any], *, source: str = "checkpoint") -> None:
    """Load ``payload['state_dict']`` into ``model``, explaining any mismatch in words."""
    expected = {name: tuple(t.shape) for name, t in model.state_dict().items()}
    found = {name: tuple(t.shape) for name, t in payload["state_dict"].items()}
    if expected != found:
        missing = sorted(set(expected) - set(found))
        unexpected = sorted(set(found) - set(expected))
        resized = sorted(n for n in set(expected) & set(found) if expected[n] != found[n])
        details = []
        if missing:
            details.append(f"missing {', '.join(missing[:4])}")
        if unexpected:
            details.append(f"unexpected {', '.join(unexpected[:4])}")
        if resized:
            details.append(", ".join(f"{n} is {found[n]} in the file but {expected[n]} in the model"
                                     for n in resized[:3]))
        raise CheckpointError(
            f"{source} was saved from another architecture ({'; '.join(details)}). "
            f"It was trained with config {payload.get('config')}; build the model from that "
            "config (gatkit.train.model_from_checkpoint does this).")
    model.load_state_dict(payload["state_dict"])
