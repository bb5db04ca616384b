"""Training GAT on a Planetoid dataset: the paper's recipe, early stopping, checkpoints, metrics.

The recipe (Veličković et al., 2018, section 3.3) for Cora and Citeseer: two GAT layers, the
first with 8 heads of 8 features (concatenated, ELU), the second with one head giving the class
logits; dropout 0.6 on both layers' inputs and on the attention coefficients; Adam with learning
rate 0.005 and L2 weight decay 5e-4; early stopping with a patience of 100 epochs on the
validation accuracy and loss, as the official code does it, keeping the weights of the epoch
with the lowest validation loss (see :class:`EarlyStopping` for the official code's choice).

The recipe lives in one place: the defaults of :class:`TrainConfig` (what :func:`paper_config`
returns), with the paper's published test accuracies in :data:`PAPER_RESULTS`; ``gatkit train``
derives its options from both.
"""

from __future__ import annotations

import dataclasses
import math
import os
import time
import typing
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import Any, Callable

import torch
import torch.nn.functional as F
from tqdm.auto import tqdm

from gatkit.checkpoints import CheckpointError, load_checkpoint, load_into, load_optimizer_state, save_checkpoint
from gatkit.data import DATASET_NAMES, Planetoid, Split, load_dataset
from gatkit.distributed import rank_and_world
from gatkit.edges import receptive_field
from gatkit.layers import ATTENTION_TYPES, GAT, LAYER_TYPES
from gatkit.metrics import roc_auc
from gatkit.sampling import ALL, NeighbourSampler

#: What a run records every epoch (its ``history``); a dataset scored by ROC AUC adds :data:`AUC_METRICS`.
METRICS = ("train_loss", "train_acc", "train_acc_dropout", "val_loss", "val_acc")
AUC_METRICS = ("train_auc", "val_auc")

#: The datasets gatkit's loader knows.
DATASETS: tuple[str, ...] = DATASET_NAMES

#: The GAT paper's test accuracy in percent on each dataset that :func:`paper_config` has the
#: recipe for: ``(mean, standard deviation)`` over 100 runs (Veličković et al., 2018, Table 2).
PAPER_RESULTS: dict[str, tuple[float, float]] = {"cora": (83.0, 0.7), "citeseer": (72.5, 0.7)}

#: Which epoch's weights early stopping can keep; see :class:`EarlyStopping`.
KEEP_RULES = ("val_loss", "both", "val_score")

#: Settings added after the first model files were written, with the value such a file implies:
#: :meth:`TrainConfig.from_dict` fills in these, and only these, when a stored config lacks them.
LATER_SETTINGS: dict[str, Any] = {"attention": "gat", "value_dropout": True, "norm": False, "split": 0,
                                  "batch_size": 0, "fanout": [ALL]}


class ConfigError(ValueError):
    """A :class:`TrainConfig` value no run can use: ``field`` names it, ``problem`` says why."""

    def __init__(self, field: str, problem: str):
        super().__init__(f"{field} {problem}")
        self.field, self.problem = field, problem


def _setting(default: Any, help: str, *, choices: tuple | None = None, bounds: tuple | None = None) -> Any:
    """A :class:`TrainConfig` field: its default, what it means (the help of its ``gatkit train``
    flag) and the values it allows (``choices``; ``bounds`` lowest and highest, ``None`` for no
    limit)."""
    return field(default=default, metadata={"help": help, "choices": choices, "bounds": bounds})


@dataclass(frozen=True)
class TrainConfig:
    """Everything that defines a training run (and so the model it produces).

    The defaults are the paper's recipe. Each field's metadata says what it means and which
    values it allows; a config with any other value raises :class:`ConfigError`, so ``gatkit
    train``'s options and a checkpoint's stored config are checked by the same rules.
    """

    dataset: str = _setting("cora", "dataset (gatkit.data.DATASET_NAMES)", choices=DATASETS)
    split: int = _setting(0, "which of the dataset's splits to train, stop and test on (the Planetoid datasets "
                             "have one, the heterophilous graphs ten)", bounds=(0, None))
    layer_type: int = _setting(3, "GAT implementation: 1 dense per head, 2 dense with a connectivity mask, "
                                  "3 edge list", choices=tuple(LAYER_TYPES))
    attention: str = _setting("gat", "attention mechanism: gat (the GAT paper's: every node ranks its neighbours "
                                     "in the same order), gatv2 (Brody et al. 2022: the ranking can depend on the "
                                     "node), uniform (fixed weights 1/|N(i)|, a mean over the neighbourhood) or none "
                                     "(no graph: an MLP of the same shape); all but gat need layer type 3",
                              choices=ATTENTION_TYPES)
    hidden_features: int = _setting(8, "features per head of each hidden layer", bounds=(1, None))
    heads: tuple[int, ...] = _setting((8, 1), "attention heads of each layer, one number per layer: the hidden "
                                              "layers' heads are concatenated, the output layer's averaged",
                                      bounds=(1, None))
    dropout: float = _setting(0.6, "dropout probability on both layers' inputs and on the attention "
                                   "coefficients", bounds=(0, 1))
    value_dropout: bool = _setting(True, "also drop out, with the same probability, the projected features each node "
                                         "aggregates, as the authors' code does (the paper does not mention it)")
    lr: float = _setting(0.005, "Adam's learning rate", bounds=(0, None))
    weight_decay: float = _setting(5e-4, "Adam's L2 weight decay", bounds=(0, None))
    epochs: int = _setting(10_000, "upper bound on epochs (early stopping usually ends sooner; 0 keeps the "
                                   "initial weights)", bounds=(0, None))
    patience: int = _setting(100, "epochs without improvement before stopping", bounds=(1, None))
    seed: int = _setting(0, "random seed (of the first run with --seeds)")
    residual: bool = _setting(False, "add a learned linear projection of each layer's input to its output")
    norm: bool = _setting(False, "layer normalisation of every hidden layer's output, before its ELU")
    keep: str = _setting("val_loss", "whose weights early stopping keeps: the lowest validation loss, (as the "
                                     "official code) the last epoch best on both validation accuracy and loss, or "
                                     "the best validation score (accuracy, or ROC AUC where the dataset is scored by it)",
                         choices=KEEP_RULES)  # see EarlyStopping
    batch_size: int = _setting(0, "training nodes per mini-batch, each trained on its sampled neighbourhood (see "
                                  "fanout); 0 trains every training node in one full-graph step", bounds=(0, None))
    fanout: tuple[int, ...] = _setting((ALL,), "incoming edges sampled per node at each hop out from a mini-batch "
                                               "(one number per layer, the first for the edges into the batch, or "
                                               "one for all; -1 keeps every edge)", bounds=(ALL, None))

    def __post_init__(self) -> None:
        types = typing.get_type_hints(TrainConfig)
        for setting in fields(self):
            value = _checked(setting, types[setting.name], getattr(self, setting.name))
            object.__setattr__(self, setting.name, value)  # a list of heads becomes a tuple
        if self.attention != "gat" and self.layer_type != 3:
            raise ConfigError("attention", f"{self.attention!r} needs layer_type 3 (only GAT's attention has the "
                                           f"dense implementations), got layer_type {self.layer_type}")
        if len(self.fanout) not in (1, len(self.heads)):
            raise ConfigError("fanout", f"needs one number per layer ({len(self.heads)}) or one for all, "
                                        f"got {len(self.fanout)}")
        if not self.batch_size and self.fanout != (ALL,) * len(self.fanout):
            raise ConfigError("fanout", "samples the neighbourhoods of mini-batches; set batch_size too "
                                        "(a full-graph step reads every edge)")

    @property
    def fanouts(self) -> tuple[int, ...]:
        """The fanout of each hop out from a mini-batch, one per layer."""
        return self.fanout * len(self.heads) if len(self.fanout) == 1 else self.fanout

    def to_dict(self) -> dict[str, Any]:
        """Plain types only, so a checkpoint stays loadable with ``weights_only=True``."""
        values = asdict(self)
        values["heads"], values["fanout"] = list(self.heads), list(self.fanout)
        return values

    @classmethod
    def from_dict(cls, values: dict[str, Any]) -> "TrainConfig":
        """The config a :meth:`to_dict` (e.g. a checkpoint's) describes; :class:`ConfigError` if none.

        Every setting must be there, except those of :data:`LATER_SETTINGS`, which files written
        before they existed lack: such a file gets the value it was trained with (e.g. GAT's
        attention).
        """
        known = [f.name for f in fields(cls)]
        for name in values:
            if name not in known:
                raise ConfigError(str(name), f"is not a training setting (the settings are {', '.join(known)})")
        for name in known:
            if name not in values and name not in LATER_SETTINGS:
                raise ConfigError(name, "is missing")
        return cls(**{**LATER_SETTINGS, **values})


def _checked(setting, kind: Any, value: Any) -> Any:
    """``value`` if it has the type and lies in the choices and bounds of ``setting``; else ConfigError."""
    name, rules = setting.name, setting.metadata
    if typing.get_origin(kind) is tuple:  # tuple[int, ...], a list once stored
        if not isinstance(value, (list, tuple)) or not all(_is_a(item, typing.get_args(kind)[0]) for item in value):
            raise ConfigError(name, f"must be a list of {typing.get_args(kind)[0].__name__}s, got {value!r}")
        if not value:
            raise ConfigError(name, "must have at least one value")
        numbers, value = list(value), tuple(value)
    elif not _is_a(value, kind):
        raise ConfigError(name, f"must be a {kind.__name__}, got {value!r}")
    else:
        numbers = [value]
    if rules["choices"] is not None and value not in rules["choices"]:
        raise ConfigError(name, f"must be one of {', '.join(map(repr, rules['choices']))}, got {value!r}")
    low, high = rules["bounds"] or (None, None)
    for number in numbers if rules["bounds"] else []:
        if not math.isfinite(number) or (low is not None and number < low) or (high is not None and number > high):
            limits = f"at least {low}" if high is None else f"between {low} and {high}"
            raise ConfigError(name, f"must be {limits}, got {number}")
    return value


def _is_a(value: Any, kind: type) -> bool:
    if kind is float:  # an int is a fine float; a bool is neither
        return isinstance(value, (int, float)) and not isinstance(value, bool)
    return isinstance(value, kind) and (kind is bool or not isinstance(value, bool))


def paper_config(dataset: str = "cora", **overrides: Any) -> TrainConfig:
    """The GAT paper's hyperparameters for ``dataset`` (Cora and Citeseer share them: the
    defaults of :class:`TrainConfig`), with ``overrides``; :data:`PAPER_RESULTS` has its results."""
    if dataset not in PAPER_RESULTS:
        raise ValueError(f"no paper recipe for {dataset!r}; gatkit has {' and '.join(map(repr, PAPER_RESULTS))}")
    return TrainConfig(dataset=dataset, **overrides)


#: The recipe for the heterophilous graphs (gatkit.data.load_heterophilous), chosen on validation
#: scores (split 0, one seed; see benchmarks/bench_heterophily.py): four layers of 8 heads x 8
#: features with residual connections, so that a node's own features survive aggregation over
#: neighbours that mostly disagree with it (on minesweeper four layers reached a validation ROC AUC
#: of 0.918 where three reached 0.899); light dropout; Adam at 0.01 (0.919 in 400 epochs, against
#: 0.918 in 600 at 0.005 and 0.913 at 0.02); up to 500 epochs with a patience of 100 (the small
#: graphs peak within a few dozen), keeping the weights of the best validation score (accuracy, or
#: ROC AUC on minesweeper and tolokers). Layer normalisation (``norm``) is left off: with it
#: minesweeper reached 0.905 in 400 epochs, and chameleon_filtered's mean validation accuracy over
#: its ten splits moved only from 43.6% to 43.9%.
HETEROPHILY_RECIPE: dict[str, Any] = {
    "heads": (8, 8, 8, 1), "hidden_features": 8, "residual": True, "norm": False, "dropout": 0.2,
    "value_dropout": False, "lr": 0.01, "weight_decay": 0.0, "epochs": 500, "patience": 100, "keep": "val_score"}

#: Published results on the heterophilous graphs, in percent, mean and standard deviation over the
#: ten splits (Platonov et al., ICLR 2023; their code's results notebook): model -> (mean, std).
#: Their models use residual connections and layer normalisation, and are tuned per dataset.
HETEROPHILY_RESULTS: dict[str, dict[str, tuple[float, float]]] = {
    "minesweeper": {"MLP (ResNet)": (50.89, 1.39), "GCN": (89.75, 0.52), "GAT": (92.01, 0.68),
                    "GAT-sep": (93.91, 0.35)},
    "tolokers": {"MLP (ResNet)": (72.95, 1.06), "GCN": (83.64, 0.67), "GAT": (83.70, 0.47),
                 "GAT-sep": (83.78, 0.43)},
}


def heterophily_config(dataset: str, attention: str = "gat", **overrides: Any) -> TrainConfig:
    """:data:`HETEROPHILY_RECIPE` for ``dataset`` with the given ``attention`` (``"gat"``,
    ``"gatv2"``, ``"uniform"`` or ``"none"``, the MLP), with ``overrides``."""
    return TrainConfig(dataset=dataset, **{**HETEROPHILY_RECIPE, "attention": attention, **overrides})


def recipe_config(dataset: str, **overrides: Any) -> TrainConfig:
    """The recipe gatkit trains ``dataset`` with, with ``overrides``: the GAT paper's on Cora and
    Citeseer (:func:`paper_config`), :data:`HETEROPHILY_RECIPE` on the heterophilous graphs."""
    recipe = paper_config if dataset in PAPER_RESULTS else heterophily_config
    return recipe(dataset, **overrides)


def build_model(config: TrainConfig, num_features: int, num_classes: int) -> GAT:
    """The GAT that ``config`` describes, for inputs of ``num_features`` and ``num_classes`` outputs."""
    return GAT(
        [num_features] + [config.hidden_features] * (len(config.heads) - 1) + [num_classes],
        list(config.heads),
        layer_type=config.layer_type,
        attention=config.attention,
        dropout=config.dropout,
        value_dropout=None if config.value_dropout else 0.0,  # None: the same as dropout
        residual=config.residual,
        norm=config.norm,
    )


class EarlyStopping:
    """The official GAT code's stopping rule, with the best weights kept.

    Every epoch that improves the best validation accuracy *or* the best validation loss so far
    (ties count, as in the official code) resets the patience counter; after ``patience`` epochs
    without any improvement, training stops and the snapshot is what gets tested.

    Which epoch's weights are kept is ``keep``:

    - ``"val_loss"`` (default): the epoch with the lowest validation loss;
    - ``"both"``: the last epoch at least as good as the best on accuracy *and* loss, which is
      when the official code saves its model;
    - ``"val_score"``: the last epoch with the best validation score, as Platonov et al. choose
      their models on the heterophilous graphs.

    The score is the validation accuracy, or the ROC AUC on a dataset scored by it (the
    ``val_acc`` that :meth:`step` is given is then the AUC). Validation accuracy on 500 nodes moves in steps of
      0.2% and peaks early and noisily, so this tends to freeze an early snapshot (on Cora often
      before epoch 150 of 500-800), which tests lower on average; compare the two with
      ``benchmarks/bench_accuracy.py --keep both``. Both rules use validation data only.
    """

    def __init__(self, patience: int, keep: str = "val_loss"):
        if patience < 1:
            raise ValueError(f"patience must be at least 1, got {patience}")
        if keep not in KEEP_RULES:
            raise ValueError(f"keep must be one of {KEEP_RULES}, got {keep!r}")
        self.keep = keep
        self.patience = patience
        self.best_acc = -math.inf
        self.best_loss = math.inf
        self.counter = 0
        self.best_epoch: int | None = None

    def step(self, epoch: int, val_acc: float, val_loss: float) -> bool:
        """Record one epoch (``val_acc``: its validation score); return True when training should stop."""
        if val_acc >= self.best_acc or val_loss <= self.best_loss:
            if self.keep == "val_score":
                if val_acc >= self.best_acc:
                    self.best_epoch = epoch
            elif val_loss <= self.best_loss and (self.keep == "val_loss" or val_acc >= self.best_acc):
                self.best_epoch = epoch
            self.best_acc = max(self.best_acc, val_acc)
            self.best_loss = min(self.best_loss, val_loss)
            self.counter = 0
        else:
            self.counter += 1
        return self.counter >= self.patience

    def state_dict(self) -> dict[str, Any]:
        return {"patience": self.patience, "keep": self.keep, "best_acc": self.best_acc, "best_loss": self.best_loss,
                "counter": self.counter, "best_epoch": self.best_epoch}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        for key, value in state.items():
            setattr(self, key, value)


def accuracy(logits: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
    """Share of the rows of ``logits`` (n, C) whose largest entry is at the label ``labels`` (n,).

    A 0-dim float tensor on the logits' device (no synchronisation with a GPU); call ``.item()``
    for a Python float.
    """
    return (logits.argmax(dim=1) == labels).float().mean()


def node_loss(logits: torch.Tensor, labels: torch.Tensor, index: torch.Tensor) -> torch.Tensor:
    """Mean cross-entropy of the rows ``index`` of ``logits`` (N, C) against ``labels[index]``: 0-dim.

    In the transductive setting every node is in the forward pass, but only these rows' labels
    (the training nodes', for the loss that is minimised) may be used.
    """
    return F.cross_entropy(logits[index], labels[index])


def train_step(model: torch.nn.Module, optimizer: torch.optim.Optimizer, features: torch.Tensor,
               edge_index: torch.Tensor | list[torch.Tensor], labels: torch.Tensor,
               index: torch.Tensor) -> torch.Tensor:
    """One gradient step on the rows ``index``: the training step of :func:`train`.

    Train mode (dropout on), gradients cleared (``set_to_none``), a forward pass on all of
    ``features`` (N, F) and ``edge_index`` (one (2, E) edge list, or one per layer as in
    :class:`Subgraph`), the mean cross-entropy of the logits of the rows ``index`` against
    ``labels[index]`` (``labels`` is (N,)), the backward pass and one ``optimizer.step()``. Only
    the labels of the rows ``index`` reach the gradients.

    Returns the logits of the rows ``index`` (len(index), C) from this step's forward pass, in
    train mode and before the update, detached: ``accuracy(logits, labels[index])`` is the
    train-mode accuracy that :func:`train` records as ``train_acc_dropout``. A caller that only
    times the step ignores them; returning them costs nothing.
    """
    model.train()
    optimizer.zero_grad(set_to_none=True)
    logits = model(features, edge_index)  # (N, C), with dropout
    node_loss(logits, labels, index).backward()  # these rows' labels only
    optimizer.step()
    return logits[index].detach()


def train_epoch(model: torch.nn.Module, optimizer: torch.optim.Optimizer, sampler: NeighbourSampler,
                features: torch.Tensor, labels: torch.Tensor, targets: torch.Tensor, batch_size: int,
                generator: torch.Generator, *, rank: int = 0, world: int = 1) -> tuple[torch.Tensor, torch.Tensor]:
    """One epoch of mini-batch training: ``targets`` shuffled, cut into batches of ``batch_size``,
    and one :func:`train_step` per batch on its neighbourhood drawn by ``sampler``.

    ``features`` (N, F) dense and ``labels`` (N,) are the whole graph's; a step reads only the
    rows of its sample's nodes, so the work and memory of a step depend on the batch and the
    fanouts, not on N. In data-parallel training (``world`` processes, this one ``rank``) every
    process draws the same permutation from ``generator`` (seeded alike everywhere) and takes every
    ``world``-th node of it, after dropping the last ``len(targets) % world``: all processes then
    run the same number of steps on batches of the same sizes, so averaging their gradients (what
    DDP does) gives the gradient of the mean loss over the union of their batches.

    Returns the train-mode logits of this process's targets (n, C) and their labels (n,).
    """
    device = features.device
    order = targets[torch.randperm(len(targets), generator=generator).to(targets.device)]  # (T,)
    share = order[:len(order) - len(order) % world][rank::world]  # (T // world,)
    logits = []
    for batch in share.split(batch_size):
        sample = sampler.sample(batch)
        nodes = sample.nodes.to(device)  # (n,) the batch first
        edge_index = [edges.to(device) for edges in sample.edge_index]
        logits.append(train_step(model, optimizer, features[nodes], edge_index, labels[nodes],
                                 torch.arange(len(batch), device=device)))  # (B, C)
    return torch.cat(logits), labels[share]


def positive_score(logits: torch.Tensor) -> torch.Tensor:
    """A binary task's score for class 1, ``logits[:, 1] - logits[:, 0]`` (n,): ROC AUC ranks by it
    (the log-odds, so the same order as the softmax probability)."""
    return logits[..., 1] - logits[..., 0]


def score_key(metric: str, part: str) -> str:
    """The metrics' key of ``part``'s score (``"val"``, ``"test"``...) on a dataset scored by
    ``metric``: ``"<part>_auc"`` for ROC AUC, ``"<part>_acc"`` for accuracy."""
    return f"{part}_auc" if metric == "roc_auc" else f"{part}_acc"


def history_keys(metric: str) -> tuple[str, ...]:
    """What a run records every epoch on a dataset scored by ``metric`` (``dataset.metric``)."""
    return METRICS + (AUC_METRICS if metric == "roc_auc" else ())


def model_input(dataset: Planetoid) -> torch.Tensor:
    """The features a model reads: sparse CSR where most entries are zero (dropout and the
    projection then skip them: Cora's are 98.7% zeros), else dense."""
    return dataset.x_sparse if dataset.x.count_nonzero() < dataset.x.numel() / 4 else dataset.x


@torch.no_grad()
def evaluate(model: GAT, dataset: Planetoid | Subgraph, features: torch.Tensor,
             edge_index: torch.Tensor | list[torch.Tensor],
             splits: tuple[str, ...] = ("train", "val")) -> dict[str, float]:
    """Loss and accuracy of ``model`` in eval mode (no dropout) on each named split, and the ROC
    AUC (``<split>_auc``) where ``dataset.metric`` is ``"roc_auc"``. ``dataset`` needs only ``y``
    and the splits' ``<split>_idx`` (and ``metric``, if it is not scored by accuracy)."""
    model.eval()
    logits = model(features, edge_index)  # (N, C)
    metrics = {}
    for split in splits:
        index = getattr(dataset, f"{split}_idx")
        metrics[f"{split}_loss"] = node_loss(logits, dataset.y, index).item()
        metrics[f"{split}_acc"] = accuracy(logits[index], dataset.y[index]).item()
        if getattr(dataset, "metric", "accuracy") == "roc_auc":
            metrics[f"{split}_auc"] = roc_auc(positive_score(logits[index]), dataset.y[index])
    return metrics


@dataclass(frozen=True)
class Subgraph:
    """The part of a dataset that a model reads to compute some splits' outputs.

    It has the dataset's fields that training uses (``x``, ``edge_index``, ``y`` and the split
    indices, which count positions in the subgraph), so it can stand in for the dataset. Its
    nodes are those within ``L`` hops of the splits' nodes, for a model of ``L`` layers
    (:func:`gatkit.edges.receptive_field`), and ``edge_index`` holds one edge list per layer:
    for layer ``l`` only the edges into the nodes within ``L - 1 - l`` hops, all that the next
    layer reads. The splits' outputs, and so a loss on them and its gradients, are exactly
    those of the whole graph, for less work: on Cora the loss on the 140 training nodes reads
    1664 of the 2708 nodes, and its two layers 4478 and 778 of the 13264 edges.
    """

    x: torch.Tensor  # (n, F), sparse CSR if the dataset's features were
    edge_index: list[torch.Tensor]  # one (2, e_l) per layer, numbered by position in nodes
    y: torch.Tensor  # (n,)
    nodes: torch.Tensor  # (n,) the nodes' ids in the dataset, sorted (nearest first after nearest_first)
    train_idx: torch.Tensor  # positions of the splits' nodes; empty for a split not asked for
    val_idx: torch.Tensor
    test_idx: torch.Tensor
    distance: torch.Tensor  # (n,) hops from each node to the nearest of the splits' nodes
    metric: str = "accuracy"  # the dataset's (see evaluate)

    @classmethod
    def around(cls, dataset: Planetoid, features: torch.Tensor, edge_index: torch.Tensor,
               splits: tuple[str, ...], layers: int) -> "Subgraph":
        """The part of ``dataset`` (with these ``features`` and ``edge_index``) that a model of
        ``layers`` layers reads to compute the outputs of the named ``splits``' nodes."""
        device = features.device
        targets = [getattr(dataset, f"{split}_idx") for split in splits]
        nodes, sub_edges, positions, hops = receptive_field(edge_index.cpu(), dataset.num_nodes,
                                                            torch.cat(targets).cpu(), layers)
        target_hops = hops[sub_edges[1]]  # (e,) distance of each edge's target from the splits' nodes
        per_layer = [sub_edges[:, target_hops <= layers - 1 - l].to(device) for l in range(layers)]
        rows = features.to_dense()[nodes.to(device)]  # (n, F)
        index = dict(zip(splits, positions.to(device).split([len(t) for t in targets])))
        empty = torch.zeros(0, dtype=torch.long, device=device)
        return cls(x=rows.to_sparse_csr() if features.layout == torch.sparse_csr else rows,
                   edge_index=per_layer, y=dataset.y[nodes.to(dataset.y.device)], nodes=nodes,
                   **{f"{split}_idx": index.get(split, empty) for split in ("train", "val", "test")},
                   distance=hops.to(device), metric=dataset.metric)

    def nearest_first(self) -> tuple["Subgraph", list[int]]:
        """The same subgraph with its nodes reordered by distance to the splits' nodes, and
        ``rows``: layer ``l`` (of ``L``) need only compute its outputs for the first ``rows[l]``
        nodes, those within ``L - 1 - l`` hops, which are all its edges' targets and all the next
        layer's edges' sources (for :class:`gatkit.runs.GATRuns`, which then skips the rest)."""
        layers = len(self.edge_index)
        order = torch.argsort(self.distance, stable=True)  # (n,) nearest first, by id within a distance
        position = torch.empty_like(order)
        position[order] = torch.arange(len(order), device=order.device)  # (n,) old position -> new
        x = self.x.to_dense()[order]  # (n, F)
        moved = dataclasses.replace(
            self, x=x.to_sparse_csr() if self.x.layout == torch.sparse_csr else x,
            edge_index=[position[edges] for edges in self.edge_index], y=self.y[order], nodes=self.nodes[order],
            **{f"{split}_idx": position[getattr(self, f"{split}_idx")] for split in ("train", "val", "test")},
            distance=self.distance[order])
        rows = [int((self.distance <= layers - 1 - l).sum()) for l in range(layers)]
        return moved, rows


@dataclass
class TrainResult:
    """What a training run leaves behind: the restored best model and its record."""

    model: GAT
    config: TrainConfig
    best_epoch: int
    epochs_run: int
    metrics: dict[str, float]
    history: dict[str, list[float]]
    seconds: float
    binary_path: Path | None = None
    run_name: str = ""
    split: int | None = None  # with train_runs(splits=...), the split's position


def unique_run_name(base: str, folder: Path) -> str:
    """``base``, or ``base_2``, ``base_3``... whichever has no file in ``folder`` yet."""
    name, counter = base, 1
    while (folder / f"{name}.pt").exists():
        counter += 1
        name = f"{base}_{counter}"
    return name


def train(
    config: TrainConfig,
    *,
    dataset: Planetoid | None = None,
    out_dir: str | os.PathLike | None = ".",
    tensorboard: bool = False,
    progress: bool = True,
    checkpoint_every: int = 100,
    resume: str | os.PathLike | None = None,
    device: str | torch.device = "cpu",
    test: bool = False,
    on_epoch: Callable[[int, dict[str, float]], None] | None = None,
) -> TrainResult:
    """Train a GAT as ``config`` says and return it with its best weights restored.

    Each epoch is one full-graph step on the part of the graph the loss reads (:class:`Subgraph`)
    or, with ``config.batch_size``, one pass of mini-batch steps on sampled neighbourhoods
    (:func:`train_epoch`); evaluation always reads the full neighbourhoods. Inside a
    ``torch.distributed`` process group (``torchrun``, :func:`gatkit.distributed.spawn`) every
    process trains its share of each epoch's batches in a ``DistributedDataParallel`` model, and
    only the first process writes files and shows progress.

    Parameters
    ----------
    dataset
        A loaded dataset; loaded from ``config.dataset`` when omitted.
    out_dir
        Root folder of ``models/checkpoints/``, ``models/binaries/`` and ``runs/``; ``None``
        writes no files at all (for quick runs inside a chapter).
    tensorboard
        Write train/val loss and accuracy scalars per epoch under ``out_dir/runs/<run>``.
    checkpoint_every
        Replace the run's checkpoint ``models/checkpoints/<run>.pt`` every this many epochs
        (0 disables). Each write is atomic.
    resume
        A checkpoint to continue from; the config must describe the same model and dataset.
    test
        Also report loss and accuracy on the test split (after restoring the best weights).
    on_epoch
        Called with ``(epoch, metrics)`` after every epoch (for live plots or tests).
    """
    started = time.perf_counter()
    dataset = _dataset_for(config, dataset, progress)
    device = torch.device(device)
    dataset = _to_device(dataset, device)
    features, edge_index = model_input(dataset), dataset.edge_index_with_self_loops
    layers = len(config.heads)
    train_part = Subgraph.around(dataset, features, edge_index, ("train",), layers)  # all the loss reads
    eval_part = Subgraph.around(dataset, features, edge_index, ("train", "val"), layers)
    rank, world = rank_and_world()
    if world > 1 and not config.batch_size:
        raise ValueError("data-parallel training shares out mini-batches: set config.batch_size")
    if rank != 0:  # the first process writes the files and shows the progress
        out_dir, progress, tensorboard = None, False, False

    torch.manual_seed(config.seed)
    model = build_model(config, dataset.num_features, dataset.num_classes).to(device)
    net = model if world == 1 else torch.nn.parallel.DistributedDataParallel(model)  # averages gradients
    if config.batch_size:  # one permutation of the training nodes per epoch, the same in every process
        order_generator = torch.Generator().manual_seed(config.seed)
        sampler = NeighbourSampler(dataset.edge_index, dataset.num_nodes, config.fanouts,
                                   torch.Generator().manual_seed(config.seed + 7919 * rank))  # own draws per process
    # fused: one kernel for all parameters instead of a dozen small ones each (same update).
    optimizer = torch.optim.Adam(model.parameters(), lr=config.lr, weight_decay=config.weight_decay,
                                 fused=device.type in ("cpu", "cuda"))
    stopper = EarlyStopping(config.patience, config.keep)
    history: dict[str, list[float]] = {key: [] for key in history_keys(dataset.metric)}
    score = score_key(dataset.metric, "val")  # what early stopping watches
    best_state = _clone_state(model)
    first_epoch = 0

    folders = _output_folders(out_dir)
    run_name = (f"{config.attention}_{config.dataset}_imp{config.layer_type}_seed{config.seed}_"
                f"{time.strftime('%Y%m%d-%H%M%S')}")
    if resume is not None:
        first_epoch, best_state, history, run_name = _resume(
            resume, config, dataset, model, optimizer, stopper, run_name)
    if folders:
        run_name = unique_run_name(run_name, folders["binaries"])  # nothing is ever overwritten

    writer = _summary_writer(folders, run_name) if tensorboard else None
    bar = tqdm(range(first_epoch, config.epochs), desc=f"train {config.dataset}", disable=not progress,
               initial=first_epoch, total=config.epochs, leave=False)
    epoch = first_epoch - 1
    try:
        for epoch in bar:
            if config.batch_size:
                train_logits, train_labels = train_epoch(net, optimizer, sampler, dataset.x, dataset.y,
                                                         dataset.train_idx, config.batch_size, order_generator,
                                                         rank=rank, world=world)  # (T, C), train mode
            else:
                train_logits = train_step(model, optimizer, train_part.x, train_part.edge_index, train_part.y,
                                          train_part.train_idx)  # (140, C), train mode
                train_labels = train_part.y[train_part.train_idx]
            # Evaluation reads the full neighbourhoods; every process computes the same numbers (their
            # weights are equal), so early stopping decides alike everywhere without a message.
            metrics = evaluate(model, eval_part, eval_part.x, eval_part.edge_index)
            metrics["train_acc_dropout"] = accuracy(train_logits, train_labels).item()
            for key in history:
                history[key].append(metrics[key])
            stop = stopper.step(epoch, metrics[score], metrics["val_loss"])
            if stopper.best_epoch == epoch:
                best_state = _clone_state(model)
            if writer is not None:
                _write_scalars(writer, epoch, metrics, history)
            bar.set_postfix(loss=f"{metrics['train_loss']:.3f}", val_loss=f"{metrics['val_loss']:.3f}",
                            **{score: f"{metrics[score]:.3f}"}, patience=stopper.patience - stopper.counter)
            if on_epoch is not None:
                on_epoch(epoch, metrics)
            if folders and checkpoint_every and (epoch + 1) % checkpoint_every == 0:
                save_checkpoint(_resume_payload(config, dataset, epoch, metrics, model, optimizer,
                                                stopper, best_state, history, run_name),
                                folders["checkpoints"] / f"{run_name}.pt")
            if stop:
                break
    except KeyboardInterrupt:
        if folders:
            # Labelled with the last epoch whose metrics were recorded; if the interrupt came
            # between an optimiser step and its record, the resumed run is one step ahead.
            completed = len(history["val_acc"]) - 1
            path = save_checkpoint(_resume_payload(config, dataset, completed, history_last(history), model,
                                                   optimizer, stopper, best_state, history, run_name),
                                   folders["checkpoints"] / f"{run_name}.pt")
            print(f"\ninterrupted: saved {path}; continue with `gatkit train --resume {path}`")
        raise
    finally:
        bar.close()
        if writer is not None:
            writer.close()

    model.load_state_dict(best_state)  # test the best weights, not the last ones
    metrics = evaluate(model, dataset, features, edge_index, ("train", "val", "test") if test else ("train", "val"))
    result = TrainResult(model=model, config=config, best_epoch=stopper.best_epoch, epochs_run=epoch + 1,
                         metrics=metrics, history=history, seconds=time.perf_counter() - started,
                         run_name=run_name)
    if folders:
        result.binary_path = _save_model(folders, result, dataset)
    return result


def train_runs(
    config: TrainConfig,
    seeds: typing.Sequence[int],
    *,
    splits: typing.Sequence[Split] | None = None,
    dataset: Planetoid | None = None,
    out_dir: str | os.PathLike | None = ".",
    progress: bool = True,
    device: str | torch.device = "cpu",
    test: bool = False,
    batch_size: int = 50,
) -> list[TrainResult]:
    """Train one run per seed (and per split) as ``config`` says, as batched models.

    Every run is the run :func:`train` would train with ``config.seed`` set to its seed: its own
    initial weights (drawn from its seed), dropout masks, Adam state, early stopping (patience
    counted per run) and best weights; only the random dropout masks differ from a lone run's,
    being drawn from one generator for all. Up to ``batch_size`` runs are computed together by
    :class:`gatkit.runs.GATRuns`; a run that has stopped keeps its best weights and leaves the
    batch, which ends when every run has stopped (or after ``config.epochs``).

    Parameters
    ----------
    seeds
        One run per seed (``config.seed`` is ignored).
    splits
        Train a run for every seed on every split (split-major order), e.g. ``dataset.splits``;
        default: the dataset's split ``config.split``.
    dataset, out_dir, progress, device, test
        As for :func:`train` (one model file per run under ``out_dir/models/binaries/``).
    batch_size
        The most runs trained as one model; more runs are trained in consecutive batches. On
        Cora with 2 CPU cores a run-epoch costs about the same from 10 to 50 runs per batch and
        half as much again at 100, whose tensors outgrow the caches.

    Returns
    -------
    list of TrainResult
        One per run, in the order ``[(split, seed) for split in splits for seed in seeds]``; each
        with its best weights restored, its ``config`` (its seed), ``split`` (the split's
        position in ``splits``; None without ``splits``) and ``seconds``, the wall time of the
        whole call.
    """
    started = time.perf_counter()
    seeds = [int(seed) for seed in seeds]
    if not seeds:
        raise ValueError("seeds is empty: pass at least one seed, e.g. range(10)")
    if batch_size < 1:
        raise ValueError(f"batch_size must be at least 1, got {batch_size}")
    if config.batch_size:
        raise ValueError("train_runs trains full-graph steps; train one run at a time for mini-batches "
                         f"(config.batch_size = {config.batch_size})")
    dataset = _dataset_for(config, dataset, progress)
    device = torch.device(device)
    dataset = _to_device(dataset, device)
    run_splits = [_to_device_split(split, device) for split in splits] if splits else [dataset]
    runs = [(k, seed) for k in range(len(run_splits)) for seed in seeds]  # (split, seed) of each run
    # The parts of the graph that any run's training loss, and its metrics, read.
    features, edge_index = model_input(dataset), dataset.edge_index_with_self_loops
    union = {name: torch.unique(torch.cat([getattr(s, f"{name}_idx") for s in run_splits]))
             for name in ("train", "val", "test")}
    everyone = dataclasses.replace(dataset, **{f"{name}_idx": ids for name, ids in union.items()})
    parts = {name: Subgraph.around(everyone, features, edge_index, splits_read, len(config.heads)).nearest_first()
             for name, splits_read in (("train", ("train",)), ("eval", ("train", "val")))}

    trained = []
    for first in range(0, len(runs), batch_size):
        batch = [run_splits[k] for k, _ in runs[first:first + batch_size]]
        trained += _train_batch(config, dataset, batch, [seed for _, seed in runs[first:first + batch_size]],
                                features, parts, progress, test)
    seconds = time.perf_counter() - started
    folders = _output_folders(out_dir)
    results = []
    for (k, seed), (model, best_epoch, epochs_run, history, metrics) in zip(runs, trained):
        run_name = (f"{config.attention}_{config.dataset}_imp{config.layer_type}_seed{seed}"
                    f"{f'_split{k}' if splits else ''}_{time.strftime('%Y%m%d-%H%M%S')}")
        result = TrainResult(model=model, config=dataclasses.replace(config, seed=seed), best_epoch=best_epoch,
                             epochs_run=epochs_run, metrics=metrics, history=history, seconds=seconds,
                             run_name=run_name, split=k if splits else None)
        if folders:
            result.run_name = unique_run_name(run_name, folders["binaries"])
            result.binary_path = _save_model(folders, result, dataset)
        results.append(result)
    return results


def _train_batch(config: TrainConfig, dataset: Planetoid, splits: list, seeds: list[int], features: torch.Tensor,
                 parts: dict[str, tuple[Subgraph, list[int]]], progress: bool, test: bool) -> list[tuple]:
    """Run ``r`` trains with ``seeds[r]`` on ``splits[r]``, all as one model; per run (model, best
    epoch, epochs run, history, metrics)."""
    from gatkit.runs import GATRuns  # gatkit.runs builds on gatkit.layers, as this module does

    (train_part, train_rows), (eval_part, eval_rows) = parts["train"], parts["eval"]
    device = train_part.y.device
    train_nodes = _RunNodes.of([split.train_idx for split in splits], train_part.nodes)
    eval_nodes = {name: _RunNodes.of([getattr(split, f"{name}_idx") for split in splits], eval_part.nodes)
                  for name in ("train", "val")}
    models = []
    for seed in seeds:
        torch.manual_seed(seed)  # each run's initial weights are those of a lone run with its seed
        models.append(build_model(config, dataset.num_features, dataset.num_classes))
    model = GATRuns(models).to(device)
    optimizer = torch.optim.Adam(model.parameters(), lr=config.lr, weight_decay=config.weight_decay,
                                 fused=device.type in ("cpu", "cuda"))  # elementwise: each run as alone
    stoppers = [EarlyStopping(config.patience, config.keep) for _ in seeds]
    keys = history_keys(dataset.metric)
    score = keys.index(score_key(dataset.metric, "val"))  # what early stopping watches
    histories: list[dict[str, list[float]]] = [{key: [] for key in keys} for _ in seeds]
    epochs_run = [config.epochs] * len(seeds)
    running = list(range(len(seeds)))  # the runs still in the batch, in its order
    best_state = _clone_state(model)  # every run's kept weights, (R, ...) each

    bar = tqdm(range(config.epochs), desc=f"train {len(seeds)} runs on {config.dataset}", disable=not progress,
               leave=False)
    for epoch in bar:
        model.train()
        optimizer.zero_grad(set_to_none=True)
        logits = model(train_part.x, train_part.edge_index, train_rows)  # (n, R', C), each run's own dropout
        train_loss = train_nodes.losses(logits, train_part.y)  # (R',)
        train_loss.sum().backward()  # a sum of per-run losses: each run gets its own gradient
        optimizer.step()
        with torch.no_grad():
            model.eval()
            eval_logits = model(eval_part.x, eval_part.edge_index, eval_rows)  # (n', R', C)
            table = {"train_loss": eval_nodes["train"].losses(eval_logits, eval_part.y),
                     "train_acc": eval_nodes["train"].accuracies(eval_logits, eval_part.y),
                     "train_acc_dropout": train_nodes.accuracies(logits.detach(), train_part.y),
                     "val_loss": eval_nodes["val"].losses(eval_logits, eval_part.y),
                     "val_acc": eval_nodes["val"].accuracies(eval_logits, eval_part.y)}
            if dataset.metric == "roc_auc":
                table.update(train_auc=eval_nodes["train"].aucs(eval_logits, eval_part.y),
                             val_auc=eval_nodes["val"].aucs(eval_logits, eval_part.y))
            rows = torch.stack([table[key] for key in keys]).T.tolist()  # R' x keys
        improved, finished = [], []
        for position, (r, row) in enumerate(zip(running, rows)):
            for key, value in zip(keys, row):
                histories[r][key].append(value)
            stop = stoppers[r].step(epoch, row[score], row[keys.index("val_loss")])
            if stoppers[r].best_epoch == epoch:
                improved.append((r, position))
            if stop:
                finished.append(position)
                epochs_run[r] = epoch + 1
        if improved:
            runs, positions = (torch.tensor(column, device=device) for column in zip(*improved))
            for name, value in model.state_dict().items():
                best_state[name][runs] = value[positions]  # a finished run's snapshot is never touched again
        if finished:  # out of the batch: finished runs cost nothing from now on
            kept = [position for position in range(len(running)) if position not in finished]
            running = [running[position] for position in kept]
            if not running:
                break
            model.keep_runs(kept, optimizer)
            train_nodes, eval_nodes = train_nodes.keep(kept), {k: v.keep(kept) for k, v in eval_nodes.items()}
        bar.set_postfix(running=len(running))
    bar.close()

    model = GATRuns(models).to(device)  # the full batch again, to hold every run's kept weights
    model.load_state_dict(best_state)
    final = {}
    with torch.no_grad():
        logits = model.eval()(features, dataset.edge_index_with_self_loops)  # (N, R, C), the whole graph
        for name in ("train", "val", "test") if test else ("train", "val"):
            nodes = _RunNodes.of([getattr(split, f"{name}_idx") for split in splits])
            final[f"{name}_loss"] = nodes.losses(logits, dataset.y).tolist()
            final[f"{name}_acc"] = nodes.accuracies(logits, dataset.y).tolist()
            if dataset.metric == "roc_auc":
                final[f"{name}_auc"] = nodes.aucs(logits, dataset.y).tolist()
    return [(model.model(r), stoppers[r].best_epoch, epochs_run[r], histories[r],
             {key: values[r] for key, values in final.items()}) for r in range(len(seeds))]


@dataclass(frozen=True)
class _RunNodes:
    """Each run's own node set in a batch of runs, as (node, run) pairs: the rows its loss reads."""

    node: torch.Tensor  # (M,) positions in the graph the logits cover
    run: torch.Tensor  # (M,) which run each pair belongs to
    count: torch.Tensor  # (R,) float, pairs per run

    @classmethod
    def of(cls, index: list[torch.Tensor], nodes: torch.Tensor | None = None) -> "_RunNodes":
        """Run ``r`` reads the node ids ``index[r]``; ``nodes`` (the ids of the logits' rows, in any
        order) maps them to positions."""
        ids = torch.cat(index)
        if nodes is None:
            positions = ids
        else:  # nodes: the ids of the rows the logits will have, in any order
            position_of = torch.full((int(nodes.max()) + 1,), -1, dtype=torch.long, device=ids.device)
            position_of[nodes.to(ids.device)] = torch.arange(len(nodes), device=ids.device)
            positions = position_of[ids]
        counts = torch.tensor([len(i) for i in index], device=ids.device)
        return cls(positions, torch.repeat_interleave(torch.arange(len(index), device=ids.device), counts),
                   counts.float())

    def keep(self, runs: list[int]) -> "_RunNodes":
        """The pairs of ``runs`` only, renumbered ``0 .. len(runs) - 1`` in that order."""
        new_number = torch.full((len(self.count),), -1, dtype=torch.long, device=self.run.device)
        new_number[torch.tensor(runs, device=self.run.device)] = torch.arange(len(runs), device=self.run.device)
        pairs = new_number[self.run] >= 0
        return _RunNodes(self.node[pairs], new_number[self.run[pairs]], self.count[runs])

    def _per_run(self, values: torch.Tensor) -> torch.Tensor:
        return values.new_zeros(len(self.count)).index_add(0, self.run, values) / self.count  # (R,)

    def losses(self, logits: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
        """Each run's mean cross-entropy on its nodes: (R,), from logits (n, R, C) and labels (n,)."""
        return self._per_run(F.cross_entropy(logits[self.node, self.run], labels[self.node], reduction="none"))

    def accuracies(self, logits: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
        """Each run's accuracy on its nodes: (R,)."""
        hits = logits[self.node, self.run].argmax(dim=1) == labels[self.node]  # (M,)
        return self._per_run(hits.float())

    def aucs(self, logits: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
        """Each run's ROC AUC on its nodes (a binary task): (R,)."""
        scores, truth = positive_score(logits[self.node, self.run]), labels[self.node]  # (M,), (M,)
        return torch.tensor([roc_auc(scores[self.run == r], truth[self.run == r]) for r in range(len(self.count))],
                            device=logits.device)


def history_last(history: dict[str, list[float]]) -> dict[str, float]:
    """The metrics of the last recorded epoch (empty before the first)."""
    return {key: values[-1] for key, values in history.items() if values}


def checkpoint_config(payload: dict, path: str | os.PathLike) -> TrainConfig:
    """The training config stored in a loaded checkpoint ``payload`` (read from ``path``)."""
    try:
        return TrainConfig.from_dict(payload["config"])
    except (KeyError, TypeError, ValueError) as error:
        raise CheckpointError(f"{path} has no usable training config ({error}).") from error


def model_from_checkpoint(path: str | os.PathLike, dataset: Planetoid | None = None) -> tuple[GAT, dict]:
    """Rebuild the model a checkpoint was trained as and load its weights (eval mode)."""
    payload = load_checkpoint(path)
    config = checkpoint_config(payload, path)
    dataset = dataset if dataset is not None else load_dataset(config.dataset, progress=False)
    _check_dataset(payload, dataset, path)
    model = build_model(config, dataset.num_features, dataset.num_classes)
    load_into(model, payload, source=str(path))
    return model.eval(), payload


# --- the pieces of the loop ----------------------------------------------------------------

def _clone_state(model: torch.nn.Module, device: str | None = None) -> dict[str, torch.Tensor]:
    return {name: t.detach().to(device or t.device, copy=True) for name, t in model.state_dict().items()}


def _save_model(folders: dict[str, Path], result: TrainResult, dataset: Planetoid) -> Path:
    """The final model file ``models/binaries/<run>.pt``: config, data identity, best weights, metrics."""
    return save_checkpoint(
        {"config": result.config.to_dict(), "dataset": {"name": dataset.name, "checksum": dataset.checksum},
         "epoch": result.best_epoch, "metrics": result.metrics, "state_dict": _clone_state(result.model, "cpu")},
        folders["binaries"] / f"{result.run_name}.pt")


def _to_device_split(split: Split, device: torch.device) -> Split:
    return Split(*(getattr(split, f"{name}_idx").to(device) for name in ("train", "val", "test")))


def _dataset_for(config: TrainConfig, dataset: Planetoid | None, progress: bool) -> Planetoid:
    """``dataset`` (or ``config.dataset`` loaded) on the split ``config.split``; a ValueError if it
    is another dataset than the config's. A dataset already on that split is used as it is."""
    dataset = dataset if dataset is not None else load_dataset(config.dataset, split=config.split, progress=progress)
    if dataset.name != config.dataset:
        raise ValueError(f"config is for {config.dataset!r} but the dataset given is {dataset.name!r}")
    return dataset if dataset.split == config.split else dataset.with_split(config.split)


def _to_device(dataset: Planetoid, device: torch.device) -> Planetoid:
    if device.type == "cpu":
        return dataset
    moved = {f.name: getattr(dataset, f.name) for f in fields(dataset)}
    for name, value in moved.items():
        if isinstance(value, torch.Tensor):
            moved[name] = value.to(device)
        elif isinstance(value, (list, tuple)) and value and isinstance(value[0], Split):
            moved[name] = type(value)(_to_device_split(split, device) for split in value)
    return type(dataset)(**moved)


def _output_folders(out_dir) -> dict[str, Path] | None:
    if out_dir is None:
        return None
    root = Path(out_dir)
    folders = {"checkpoints": root / "models" / "checkpoints", "binaries": root / "models" / "binaries",
               "runs": root / "runs"}
    for key in ("checkpoints", "binaries"):
        try:
            folders[key].mkdir(parents=True, exist_ok=True)
        except OSError as error:
            raise CheckpointError(f"cannot create {folders[key]}: {error}. Pass a writable --out-dir.") from error
        if not os.access(folders[key], os.W_OK):
            raise CheckpointError(f"{folders[key]} is not writable. Pass a writable --out-dir.")
    return folders


def _summary_writer(folders, run_name):
    if not folders:
        raise ValueError("TensorBoard needs an output folder: pass out_dir")
    from torch.utils.tensorboard import SummaryWriter  # imported only when asked for

    return SummaryWriter(log_dir=str(folders["runs"] / run_name))


def _write_scalars(writer, epoch: int, metrics: dict[str, float], history: dict) -> None:
    for key in history:
        writer.add_scalar(key.replace("_", "/", 1), metrics[key], epoch)


def _resume_payload(config, dataset, epoch, metrics, model, optimizer, stopper, best_state, history, run_name):
    return {"config": config.to_dict(), "dataset": {"name": dataset.name, "checksum": dataset.checksum},
            "epoch": epoch, "metrics": metrics, "state_dict": _clone_state(model, "cpu"),
            "best_state_dict": {k: v.cpu() for k, v in best_state.items()},
            "optimizer": optimizer.state_dict(), "early_stopping": stopper.state_dict(),
            "history": history, "rng": torch.get_rng_state(), "run_name": run_name}


def _check_dataset(payload, dataset, path) -> None:
    saved = payload.get("dataset", {})
    if saved.get("name") != dataset.name or saved.get("checksum") != dataset.checksum:
        raise CheckpointError(f"{path} was trained on {saved.get('name')!r} "
                              f"(checksum {str(saved.get('checksum'))[:12]}...), not on this "
                              f"{dataset.name!r} data (checksum {dataset.checksum[:12]}...).")


def _resume(path, config, dataset, model, optimizer, stopper, run_name):
    payload = load_checkpoint(path)  # verified and validated: every entry has the type and shape it should
    if "optimizer" not in payload:
        raise CheckpointError(f"{path} is a final model, not a checkpoint to resume from "
                              "(resume from a file in models/checkpoints/).")
    stored = checkpoint_config(payload, path).to_dict()  # a file older than a setting gets its default
    saved = {k: v for k, v in stored.items() if k not in ("epochs", "patience")}
    wanted = {k: v for k, v in config.to_dict().items() if k not in ("epochs", "patience")}
    if saved != wanted:
        differing = sorted(k for k in wanted if saved.get(k) != wanted[k])
        raise CheckpointError(f"cannot resume from {path}: it was trained with a different config "
                              f"({', '.join(f'{k}={saved.get(k)!r}' for k in differing)}).")
    _check_dataset(payload, dataset, path)
    load_into(model, payload, source=str(path))
    load_optimizer_state(optimizer, payload["optimizer"], source=str(path))
    stopper.load_state_dict(payload["early_stopping"])
    torch.set_rng_state(payload["rng"])
    device = next(model.parameters()).device
    best_state = {k: v.to(device) for k, v in payload["best_state_dict"].items()}
    return payload["epoch"] + 1, best_state, payload["history"], payload.get("run_name") or run_name
