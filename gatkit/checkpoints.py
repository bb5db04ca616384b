"""Model files: written atomically, loaded safely, verified, checked against the model they are meant for.

A checkpoint is a plain dict (so ``torch.load(weights_only=True)`` can read it without running
any code from the file)::

    {"format": "gatkit-checkpoint", "format_version": 2, "gatkit_version": "0.1.0",
     "digest": "sha256:...", "config": {...}, "dataset": {"name": "cora", "checksum": "..."},
     "epoch": 212, "metrics": {...}, "state_dict": {...},
     and for resuming: "best_state_dict", "optimizer", "early_stopping", "history", "rng", "run_name"}

``digest`` is :func:`payload_digest` of everything else in the file: every tensor's dtype, shape
and bytes and every plain value, so a changed byte anywhere (a damaged disk or copy, an edit)
is caught on loading. :func:`load_checkpoint` then checks the structure of every entry, in one
place (:func:`validate_payload`), so that the code using a loaded payload can trust it.
"""

from __future__ import annotations

import hashlib
import math
import os
import re
from pathlib import Path
from typing import Any

import torch

import gatkit
from gatkit.files import FileWriteError, atomic_write

__all__ = ["FORMAT", "FORMAT_VERSION", "RESUME_KEYS", "CheckpointError", "load_checkpoint", "load_into",
           "load_optimizer_state", "payload_digest", "save_checkpoint", "validate_payload"]

FORMAT = "gatkit-checkpoint"
#: 2 added the digest; files of format 1 are refused (their weights cannot be verified).
FORMAT_VERSION = 2

#: The entries a checkpoint to resume from has on top of a final model's (all or none of them).
RESUME_KEYS = ("best_state_dict", "optimizer", "early_stopping", "history", "rng", "run_name")

_MANAGED = ("format", "format_version", "gatkit_version", "digest")  # written by save_checkpoint itself
_FIX = "Train the model again (gatkit train) or pick another file."


class CheckpointError(RuntimeError):
    """A model file that cannot be used: missing, corrupt, malformed, or made for another model."""


def save_checkpoint(payload: dict[str, Any], path: str | os.PathLike) -> Path:
    """Write ``payload`` (plus format fields and its digest) to ``path`` atomically; return the path.

    :func:`gatkit.files.atomic_write` does the writing: a run interrupted at any moment leaves
    either the previous file or the new one, never half a file. Format fields and a digest
    already in ``payload`` (from a loaded file) are replaced.
    """
    contents = {key: value for key, value in payload.items() if key not in _MANAGED}
    contents.update(format=FORMAT, format_version=FORMAT_VERSION, gatkit_version=gatkit.__version__)
    contents["digest"] = payload_digest(contents)
    try:
        return atomic_write(path, lambda file: torch.save(contents, file))
    except FileWriteError as error:
        raise CheckpointError(f"{error}. Choose a writable folder (gatkit train --out-dir DIR).") from error


def load_checkpoint(path: str | os.PathLike) -> dict[str, Any]:
    """Read, verify and validate a checkpoint; raise a one-line ``CheckpointError`` if unusable.

    The file is read with ``torch.load(weights_only=True)``, its digest recomputed and compared,
    and its structure checked by :func:`validate_payload`.
    """
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
    version = payload.get("format_version")
    if version != FORMAT_VERSION:
        if isinstance(version, int) and not isinstance(version, bool) and version < FORMAT_VERSION:
            raise CheckpointError(f"{path} has checkpoint format {version}, written before gatkit verified model "
                                  f"files (this gatkit reads format {FORMAT_VERSION}), so its contents cannot be "
                                  "checked for damage: train the model again with `gatkit train`.")
        raise CheckpointError(f"{path} has checkpoint format {version!r}, this gatkit reads format "
                              f"{FORMAT_VERSION}: use the gatkit that wrote it, or train again.")
    _verify_digest(payload, path)
    validate_payload(payload, path)
    return payload


def payload_digest(payload: dict[str, Any]) -> str:
    """``"sha256:<hex>"`` of everything in ``payload`` except a ``"digest"`` entry.

    Dict entries are taken in order of their keys, so the digest does not depend on the order
    they were inserted in; each tensor contributes its dtype, shape and bytes, each plain value
    its type and ``repr``.
    """
    hasher = hashlib.sha256()
    _feed(hasher, {key: value for key, value in payload.items() if key != "digest"})
    return f"sha256:{hasher.hexdigest()}"


_MAX_DEPTH = 16  # gatkit's payloads nest 4 deep (optimizer -> state -> 0 -> exp_avg)


def _feed(hasher, value: Any, depth: int = 0) -> None:
    if depth > _MAX_DEPTH:
        raise ValueError(f"it nests more than {_MAX_DEPTH} levels deep")
    if isinstance(value, torch.Tensor):
        tensor = value.detach().cpu()
        tensor = (tensor.to_dense() if tensor.layout != torch.strided else tensor).contiguous()
        hasher.update(f"tensor {tensor.dtype} {tuple(tensor.shape)}\n".encode())
        hasher.update(tensor.reshape(-1).view(torch.uint8).numpy().tobytes())
    elif isinstance(value, dict):
        hasher.update(f"dict {len(value)}\n".encode())
        for key in sorted(value, key=lambda k: (type(k).__name__, repr(k))):
            _feed(hasher, key, depth + 1)
            _feed(hasher, value[key], depth + 1)
    elif isinstance(value, (list, tuple)):
        hasher.update(f"list {len(value)}\n".encode())
        for item in value:
            _feed(hasher, item, depth + 1)
    else:  # str, int, float, bool, None (repr of a float gives back the same float)
        text = repr(value).encode("utf-8", "surrogatepass")
        hasher.update(f"{type(value).__name__} {len(text)}\n".encode() + text)


def _verify_digest(payload: dict[str, Any], path: Path) -> None:
    stored = payload.get("digest")
    if not isinstance(stored, str):
        raise CheckpointError(f"{path} has no integrity digest, so its contents cannot be checked for damage. {_FIX}")
    try:
        actual = payload_digest(payload)
    except Exception as error:  # an exotic object that torch.load let through
        raise CheckpointError(f"{path} holds something gatkit cannot check ({type(error).__name__}: "
                              f"{str(error).splitlines()[0] if str(error) else ''}). {_FIX}") from error
    if actual != stored:
        raise CheckpointError(f"{path} fails its integrity check: its contents have changed since it was saved "
                              "(a damaged disk or copy, or an edit), so its weights cannot be trusted. "
                              "Train the model again or restore the file from a backup.")


# --------------------------------------------------------------------------
# The structure of a payload
# --------------------------------------------------------------------------


class _Invalid(Exception):
    """What is wrong with one entry of a payload, e.g. ``config.layer_type is 9, expected ...``."""


def _require(ok: bool, where: str, problem: str) -> None:
    if not ok:
        raise _Invalid(f"{where} {problem}")


def _shown(value: Any) -> str:
    if isinstance(value, torch.Tensor):
        return f"a {value.dtype} tensor of shape {tuple(value.shape)}"
    if value is None:
        return "None"
    text = repr(value)
    return f"{type(value).__name__} {text if len(text) <= 40 else text[:37] + '...'}"


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def validate_payload(payload: Any, path: str | os.PathLike = "checkpoint") -> None:
    """Check that a loaded checkpoint has every entry gatkit needs, of the right type and shape.

    Entries outside the format are ignored. A final model needs ``config``, ``dataset``,
    ``epoch``, ``metrics`` and ``state_dict``; a checkpoint to resume from also every one of
    :data:`RESUME_KEYS`. What can only be checked against a model (the shapes in ``state_dict``)
    is checked by :func:`load_into` and :func:`load_optimizer_state`.

    Raises
    ------
    CheckpointError
        One line naming ``path``, the entry and what is wrong with it.
    """
    try:
        _check_payload(payload)
    except _Invalid as problem:
        raise CheckpointError(f"{path} is not a usable gatkit model file: {problem}. {_FIX}") from None


def _check_payload(payload: Any) -> None:
    _require(isinstance(payload, dict), "the payload", f"is a {type(payload).__name__}, expected a dict")
    for key in ("config", "dataset", "epoch", "metrics", "state_dict"):
        _require(key in payload, key, "is missing")
    config = _check_config(payload["config"])
    dataset = payload["dataset"]
    _require(isinstance(dataset, dict) and set(dataset) == {"name", "checksum"}
             and all(isinstance(v, str) for v in dataset.values()),
             "dataset", f"is {_shown(dataset)}, expected {{'name': str, 'checksum': str}}")
    _require(dataset["name"] == config.get("dataset", dataset["name"]), "dataset.name",
             f"is {dataset['name']!r} but config.dataset is {config.get('dataset')!r}")
    epoch = payload["epoch"]
    _require(epoch is None or (_is_int(epoch) and epoch >= -1), "epoch", f"is {_shown(epoch)}, expected an int")
    _check_numbers(payload["metrics"], "metrics")
    state_dict = _check_tensors(payload["state_dict"], "state_dict")

    present = [key for key in RESUME_KEYS if key in payload]
    if not present:
        return  # a final model
    missing = [key for key in RESUME_KEYS if key not in payload]
    _require(not missing, "a checkpoint to resume from", f"lacks {', '.join(missing)}")
    _require(_is_int(epoch), "epoch", f"is {_shown(epoch)}, expected an int")
    best = _check_tensors(payload["best_state_dict"], "best_state_dict")
    _require({k: v.shape for k, v in best.items()} == {k: v.shape for k, v in state_dict.items()},
             "best_state_dict", "does not have the names and shapes of state_dict")
    _check_optimizer(payload["optimizer"], state_dict)
    _check_early_stopping(payload["early_stopping"], epoch)
    _check_history(payload["history"], epoch)
    _check_rng(payload["rng"])
    name = payload["run_name"]
    _require(isinstance(name, str) and re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9_.+-]{0,199}", name) is not None,
             "run_name", f"is {_shown(name)}, expected a file name without folders")


def _check_tensors(value: Any, where: str) -> dict[str, torch.Tensor]:
    _require(isinstance(value, dict) and len(value) > 0, where,
             f"is {_shown(value)}, expected a dict of parameter names to tensors")
    for name, tensor in value.items():
        _require(isinstance(name, str), where, f"has the key {_shown(name)}, expected parameter names")
        _require(isinstance(tensor, torch.Tensor) and tensor.layout == torch.strided and tensor.is_floating_point(),
                 f"{where}[{name!r}]", f"is {_shown(tensor)}, expected a dense floating-point tensor")
    return value


def _check_numbers(value: Any, where: str) -> None:
    _require(isinstance(value, dict) and all(isinstance(k, str) and _is_number(v) for k, v in value.items()),
             where, f"is {_shown(value)}, expected a dict of names to numbers")


def _check_config(config: Any) -> dict[str, Any]:
    from gatkit.train import ConfigError, TrainConfig  # here: gatkit.train imports this module

    _require(isinstance(config, dict), "config", f"is {_shown(config)}, expected a dict")
    try:
        TrainConfig.from_dict(config)  # the rules gatkit train's options are held to
    except ConfigError as error:
        raise _Invalid(f"config.{error.field} {error.problem}") from None
    return config


def _check_optimizer(optimizer: Any, state_dict: dict[str, torch.Tensor]) -> None:
    """An Adam ``state_dict()`` for the parameters of ``state_dict``, in their order.

    gatkit's GAT has parameters and no buffers, so the optimiser's parameter ``i`` is entry ``i``
    of the model's state dict.
    """
    _require(isinstance(optimizer, dict) and set(optimizer) == {"state", "param_groups"}, "optimizer",
             f"is {_shown(optimizer)}, expected an optimizer state dict ('state' and 'param_groups')")
    groups = optimizer["param_groups"]
    _require(isinstance(groups, list) and len(groups) > 0
             and all(isinstance(g, dict) and isinstance(g.get("params"), list) for g in groups),
             "optimizer.param_groups", f"is {_shown(groups)}, expected a list of dicts with 'params'")
    ids = [i for group in groups for i in group["params"]]
    _require(ids == list(range(len(state_dict))), "optimizer.param_groups",
             f"lists the parameters {_shown(ids)}, expected 0 .. {len(state_dict) - 1} (those of state_dict)")
    shapes = [tensor.shape for tensor in state_dict.values()]
    state = optimizer["state"]
    _require(isinstance(state, dict) and set(state) <= set(ids), "optimizer.state",
             f"is {_shown(state)}, expected a dict of parameter numbers to Adam's moments")
    for i, moments in state.items():
        where = f"optimizer.state[{i}]"
        _require(isinstance(moments, dict) and set(moments) == {"step", "exp_avg", "exp_avg_sq"}, where,
                 f"is {_shown(moments)}, expected Adam's 'step', 'exp_avg' and 'exp_avg_sq'")
        for key, tensor in moments.items():
            _require(isinstance(tensor, torch.Tensor) and tensor.is_floating_point(), f"{where}.{key}",
                     f"is {_shown(tensor)}, expected a floating-point tensor")
            expected = torch.Size([]) if key == "step" else shapes[i]
            _require(tensor.shape == expected, f"{where}.{key}",
                     f"has shape {tuple(tensor.shape)}, expected {tuple(expected)}")
        step = moments["step"].item()
        _require(math.isfinite(step) and step >= 1, f"{where}.step", f"is {step}, expected a count of steps")


def _check_early_stopping(state: Any, epoch: int) -> None:
    """What :meth:`gatkit.train.EarlyStopping.state_dict` returns."""
    from gatkit.train import KEEP_RULES, EarlyStopping

    keys = set(EarlyStopping(patience=1).state_dict())
    _require(isinstance(state, dict) and set(state) == keys, "early_stopping",
             f"is {_shown(state)}, expected a dict with {', '.join(sorted(keys))}")
    _require(_is_int(state["patience"]) and state["patience"] >= 1, "early_stopping.patience",
             f"is {_shown(state['patience'])}, expected an int of at least 1")
    _require(state["keep"] in KEEP_RULES, "early_stopping.keep",
             f"is {_shown(state['keep'])}, expected one of {', '.join(map(repr, KEEP_RULES))}")
    for key in ("best_acc", "best_loss"):
        _require(_is_number(state[key]), f"early_stopping.{key}", f"is {_shown(state[key])}, expected a number")
    _require(_is_int(state["counter"]) and state["counter"] >= 0, "early_stopping.counter",
             f"is {_shown(state['counter'])}, expected an int of at least 0")
    best = state["best_epoch"]
    _require(best is None or (_is_int(best) and 0 <= best <= epoch), "early_stopping.best_epoch",
             f"is {_shown(best)}, expected None or an epoch from 0 to {epoch}")


def _check_history(history: Any, epoch: int) -> None:
    """One list of ``epoch + 1`` numbers per metric a run records (:func:`gatkit.train.history_keys`)."""
    from gatkit.train import METRICS, history_keys

    _require(isinstance(history, dict) and set(history) in ({*history_keys("accuracy")}, {*history_keys("roc_auc")}),
             "history", f"is {_shown(history)}, expected a dict with {', '.join(METRICS)} (and train_auc, val_auc "
             "on a dataset scored by ROC AUC)")
    for key, values in history.items():
        _require(isinstance(values, list) and all(_is_number(v) for v in values), f"history.{key}",
                 f"is {_shown(values)}, expected a list of numbers")
        _require(len(values) == epoch + 1, f"history.{key}",
                 f"has {len(values)} values, expected {epoch + 1} (epochs 0 to {epoch})")


def _check_rng(rng: Any) -> None:
    """A state of PyTorch's CPU generator: tried on a generator of its own, so the global one is untouched."""
    _require(isinstance(rng, torch.Tensor) and rng.dtype == torch.uint8 and rng.dim() == 1, "rng",
             f"is {_shown(rng)}, expected the uint8 tensor of torch.get_rng_state()")
    try:
        torch.Generator().set_state(rng)
    except (RuntimeError, TypeError, ValueError) as error:
        raise _Invalid(f"rng is not a random number generator state ({str(error).splitlines()[0]})") from None


# --------------------------------------------------------------------------
# Loading into a model and an optimiser
# --------------------------------------------------------------------------


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


def load_optimizer_state(optimizer: torch.optim.Optimizer, state: dict[str, Any], *,
                         source: str = "checkpoint") -> None:
    """Load the moments of a checked optimizer ``state`` (see :func:`validate_payload`) into ``optimizer``.

    The hyperparameters stay ``optimizer``'s own: a run resumes only with the config it was
    trained with, so they are the same, and a file cannot change them.
    """
    fresh = optimizer.state_dict()
    layout = [group["params"] for group in fresh["param_groups"]]
    if [group["params"] for group in state["param_groups"]] != layout:
        raise CheckpointError(f"{source} holds the optimizer state of another model "
                              f"({sum(map(len, layout))} parameters here). {_FIX}")
    parameters = [p for group in optimizer.param_groups for p in group["params"]]
    for i, moments in state["state"].items():
        for key, tensor in moments.items():
            if key != "step" and tensor.shape != parameters[i].shape:
                raise CheckpointError(f"{source}: optimizer.state[{i}].{key} has shape {tuple(tensor.shape)} but "
                                      f"parameter {i} of the model has {tuple(parameters[i].shape)}. {_FIX}")
    optimizer.load_state_dict({"state": state["state"], "param_groups": fresh["param_groups"]})
