"""Checks for chapter 07, Training on Cora.

The learner writes the pieces of training: 7.1 the model (a class), 7.2 the training step, 7.3
evaluation, 7.4 the official early-stopping rule replayed on a validation curve, 7.5 the loop
that trains with early stopping and restores the best weights. Every reference is built from
the library: :class:`gatkit.layers.GAT`, :func:`gatkit.train.train_step`,
:func:`gatkit.train.evaluate` and :class:`gatkit.train.EarlyStopping`.

None of 7.1, 7.2, 7.3 and 7.5 is a plain function of its inputs, so each has a ``run`` that
builds or drives the answer and returns what is compared (a dict, so a difference is reported
by name):

- 7.1 builds the model, gives its parameters seeded values layer by layer (the layers are found
  by gatkit's parameter names ``linear.weight``, ``a_src``, ``a_dst``, ``bias``, whatever the
  attributes holding them are called), and compares the logits in eval and in train mode with
  dropout recorded instead of applied (:func:`course.checks.modules.recorded_dropout`); the
  recorded calls say which tensors were dropped, matched by value against each layer's input
  and attention coefficients.
- 7.2 and 7.3 hand the answer a small seeded GAT (dropout on) and an optimiser, in a state that
  separates the classic slips: the model in the wrong mode, stale gradients in ``.grad``. A
  forward hook records whether the model ran in train mode and with gradients enabled.
- 7.5 runs the loop on a small graph with class structure, long enough for early stopping to
  stop it, and compares ``(best_epoch, epochs_run)`` and the weights the model ends with.

Every run works on a fork of the global random state (the chapter's own stream is left as it
was) and seeds it, so the answer and the reference draw the same dropout masks.
"""

from __future__ import annotations

import math
from contextlib import contextmanager
from types import SimpleNamespace
from typing import Any, Callable, Iterator

import torch
import torch.nn.functional as F
from torch import nn

from course.checks.cases import load_cora, random_graph, seeded_generator
from course.checks.core import Case, Check, register
from course.checks.modules import recorded_dropout
from gatkit.layers import GAT, GATLayerEdge
from gatkit.ops import dropout as sparse_dropout
from gatkit.train import EarlyStopping, build_model, node_loss, paper_config
from gatkit.train import evaluate as evaluate_splits
from gatkit.train import train_step as library_train_step


@contextmanager
def _seeded(seed: int) -> Iterator[None]:
    """A fork of the global random state, seeded: what a run draws leaves the chapter's stream alone."""
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        yield


def _number(value: Any) -> Any:
    """A Python number for a one-element tensor; anything else as it is (and so reported)."""
    if isinstance(value, torch.Tensor) and value.numel() == 1:
        return value.item()
    return value


def _small_gat(in_features: int, num_classes: int, dropout: float = 0.5) -> GAT:
    """A small GAT (2 heads of 4 features, then 1 head) for driving steps, evaluations and loops."""
    return GAT([in_features, 4, num_classes], [2, 1], dropout=dropout)


class _Passes:
    """Records, for every forward pass of a model, whether it ran in train mode and with gradients."""

    def __init__(self, model: nn.Module):
        self.seen: list[tuple[bool, bool]] = []
        self._handle = model.register_forward_hook(self._record)

    def _record(self, module, inputs, output) -> None:
        self.seen.append((module.training, torch.is_grad_enabled()))

    def close(self) -> list[tuple[bool, bool]]:
        """The distinct (train mode, gradients enabled) pairs seen, in the order first seen."""
        self._handle.remove()
        return list(dict.fromkeys(self.seen))


PASSES = "forward passes seen (train mode, gradients enabled)"


# --- 7.1 the model ------------------------------------------------------------------------------

def gat_model(in_features: int, hidden_features: int, num_classes: int, heads: int = 8, output_heads: int = 1,
              dropout: float = 0.6) -> GAT:
    """The paper's two-layer GAT as exercise 7.1 builds it (the reference of ``GATModel``).

    ``heads`` heads of ``hidden_features`` concatenated, ELU, then ``output_heads`` heads of
    ``num_classes`` averaged into logits; dropout ``dropout`` on both layers' inputs and attention
    coefficients, as the paper's text says. The projected features are not dropped
    (``value_dropout=0``): that third dropout is in the authors' code and gatkit's default.
    """
    return GAT([in_features, hidden_features, num_classes], [heads, output_heads], dropout=dropout,
               attention_dropout=dropout, value_dropout=0.0)


LAYER_PARAMETERS = ("linear.weight", "a_src", "a_dst", "bias")


def _gat_layers(model: nn.Module, in_features: int) -> tuple[list[dict], list[str]]:
    """The model's GAT layers as ``{gatkit parameter name: parameter or None}``, the layer that
    reads the input first, and the names of any parameters outside them.

    A layer is whatever holds an ``a_src``; its other parameters are looked up beside it, so
    the attributes may have any names (``self.layers[0]``, ``self.hidden``, ``self.conv1``...).
    """
    params = dict(model.named_parameters())
    prefixes = [name[:-len("a_src")] for name in params if name == "a_src" or name.endswith(".a_src")]
    layers = [{part: params.get(prefix + part) for part in LAYER_PARAMETERS} for prefix in prefixes]
    layers.sort(key=lambda layer: not _reads(layer, in_features))  # stable: otherwise in order of definition
    inside = {prefix + part for prefix in prefixes for part in LAYER_PARAMETERS}
    return layers, sorted(set(params) - inside)


def _reads(layer: dict, in_features: int) -> bool:
    weight = layer["linear.weight"]
    return weight is not None and weight.dim() == 2 and weight.shape[1] == in_features


def _shapes(layers: list[dict]) -> dict[str, str]:
    return {f"layer {number}": ", ".join(f"{part} {tuple(p.shape) if p is not None else 'missing'}"
                                         for part, p in layer.items())
            for number, layer in enumerate(layers, start=1)}


def _fill(layers: list[dict], seed: int) -> None:
    """Seeded values for every layer's parameters, so answers built any way compute comparable logits."""
    with torch.no_grad():
        for number, layer in enumerate(layers):
            generator = seeded_generator(seed + number)
            for part, param in layer.items():
                scale = 1.5 / math.sqrt(param.shape[1]) if part == "linear.weight" else 0.3 if part == "bias" else 1.0
                param.copy_(scale * torch.randn(param.shape, generator=generator))


def _dense(t: torch.Tensor) -> torch.Tensor:
    return t.to_dense() if t.layout != torch.strided else t


def _dropped(calls, targets: dict[str, torch.Tensor]) -> dict[str, Any]:
    """The ``p`` with which each target was dropped (0.0 if it was not), and what else was."""
    dropped: dict[str, Any] = {name: 0.0 for name in targets}
    others = []
    for call in calls:
        if not call.active:
            continue
        value = _dense(call.input).float()
        name = next((name for name, target in targets.items() if value.numel() == target.numel()
                     and torch.allclose(value.reshape(target.shape), target, rtol=1e-4, atol=1e-5)), None)
        if name is None or dropped[name]:
            others.append(f"{name} a second time" if name else f"a tensor of shape {tuple(call.input.shape)}")
        else:
            dropped[name] = call.p
    dropped["anything else"] = others
    return dropped


def _drive_model(answer: Callable, in_features: int, hidden_features: int, num_classes: int, x: torch.Tensor,
                 edge_index: torch.Tensor, *, heads: int, output_heads: int, dropout: float, seed: int) -> dict:
    """Build the answer's model and compare what it computes and where it drops (see the module docstring)."""
    sizes = dict(heads=heads, output_heads=output_heads, dropout=dropout)
    with _seeded(seed), torch.no_grad():
        model = answer(in_features, hidden_features, num_classes, **sizes)
        probe = gat_model(in_features, hidden_features, num_classes, **sizes)  # the reference's parts, to match
        layers, others = _gat_layers(model, in_features)
        probe_layers, _ = _gat_layers(probe, in_features)
        result: dict[str, Any] = {"parameter shapes": _shapes(layers), "parameters outside the GAT layers": others,
                                  "logits in eval mode": None, "logits in train mode, dropout recorded": None,
                                  "dropout in eval mode": None, "dropout in train mode": None,
                                  "logits shape in train mode, dropout applied": None}
        if result["parameter shapes"] != _shapes(probe_layers):
            return result  # the model's layers are not the paper's: nothing else can be compared
        _fill(layers, seed)
        _fill(probe_layers, seed)
        _, alphas = probe.eval()(x, edge_index, return_attention=True)  # alphas[l]: (E, H_l)
        targets = {"layer 1 input": _dense(x), "layer 1 attention": alphas[0],
                   "layer 2 input": probe.hidden(x, edge_index)[0],  # (N, H * F'), after the ELU
                   "layer 2 attention": alphas[1]}
        for mode, logits in (("eval", "logits in eval mode"), ("train", "logits in train mode, dropout recorded")):
            model.train(mode == "train")
            with recorded_dropout() as calls:
                result[logits] = model(x, edge_index)  # (N, C)
            result[f"dropout in {mode} mode"] = _dropped(calls, targets)
        result["logits shape in train mode, dropout applied"] = tuple(model.train()(x, edge_index).shape)
        return result


def _model_cases() -> list[Case]:
    x_small = torch.randn(7, 5, generator=seeded_generator(700))  # (N, F)
    x_mid = torch.randn(11, 9, generator=seeded_generator(701))  # (N, F)
    x_sparse = torch.relu(torch.randn(12, 20, generator=seeded_generator(702)) - 0.8)  # (N, F), mostly zeros
    return [
        Case("7 nodes, F = 5, 2 hidden heads of 4 features, 3 classes, 1 output head, dropout 0.6",
             (5, 4, 3, x_small, random_graph(7, 14, seed=703)),
             dict(heads=2, output_heads=1, dropout=0.6, seed=710)),
        Case("11 nodes, F = 9, 3 hidden heads of 2 features, 4 classes, 3 output heads (averaged), dropout 0.5",
             (9, 2, 4, x_mid, random_graph(11, 30, seed=704)),
             dict(heads=3, output_heads=3, dropout=0.5, seed=711)),
        Case("sparse CSR features as the chapter feeds Cora's (12 nodes, F = 20, the paper's 8 heads of 8 "
             "features, 7 classes)",
             (20, 8, 7, x_sparse.to_sparse_csr(), random_graph(12, 30, seed=705)),
             dict(heads=8, output_heads=1, dropout=0.6, seed=712)),
    ]


class _Model(nn.Module):
    """The shape of a learner's model, with the parts the mistakes below change as arguments."""

    def __init__(self, in_features, hidden_features, num_classes, heads=8, output_heads=1, dropout=0.6, *,
                 activation=F.elu, final=lambda logits: logits, concat_output=False, concat_hidden=True,
                 second_width=None, second_dropout=None, attention_dropout=None, value_dropout=0.0):
        super().__init__()
        attention = dropout if attention_dropout is None else attention_dropout
        width = heads * hidden_features if concat_hidden else hidden_features
        self.activation, self.final = activation, final
        self.hidden = GATLayerEdge(in_features, hidden_features, heads, concat=concat_hidden, dropout=dropout,
                                   attention_dropout=attention, value_dropout=value_dropout)
        self.output = GATLayerEdge(width if second_width is None else second_width(heads, hidden_features),
                                   num_classes, output_heads, concat=concat_output,
                                   dropout=dropout if second_dropout is None else second_dropout,
                                   attention_dropout=attention, value_dropout=value_dropout)

    def forward(self, x, edge_index):
        return self.final(self.output(self.activation(self.hidden(x, edge_index)), edge_index))


def _model_mistake(**parts) -> Callable:
    def build(in_features, hidden_features, num_classes, heads=8, output_heads=1, dropout=0.6):
        return _Model(in_features, hidden_features, num_classes, heads, output_heads, dropout, **parts)
    return build


class _DropoutAlwaysOn(nn.Module):
    """Input dropout written by hand with F.dropout's default training=True: it drops in eval mode too."""

    def __init__(self, in_features, hidden_features, num_classes, heads=8, output_heads=1, dropout=0.6):
        super().__init__()
        self.p, self.drop = dropout, sparse_dropout
        self.hidden = GATLayerEdge(in_features, hidden_features, heads, attention_dropout=dropout)
        self.output = GATLayerEdge(heads * hidden_features, num_classes, output_heads, concat=False,
                                   attention_dropout=dropout)

    def forward(self, x, edge_index):
        h = F.elu(self.hidden(self.drop(x, self.p, True), edge_index))  # (N, H * F')
        return self.output(F.dropout(h, self.p), edge_index)  # (N, C)


register(Check(
    id="7.1",
    title="the model",
    reference=gat_model,
    cases=_model_cases,
    run=_drive_model,
    hint="Two GATLayerEdge layers: GATLayerEdge(in_features, hidden_features, heads, dropout=dropout, "
         "attention_dropout=dropout) (it concatenates its heads), then GATLayerEdge(heads * hidden_features, "
         "num_classes, output_heads, concat=False, dropout=dropout, attention_dropout=dropout). forward: "
         "F.elu on the first layer's output, the second layer's output returned as it is (logits). The check "
         "finds your layers by gatkit's parameter names (linear.weight, a_src, a_dst, bias) and gives them "
         "its own values; it records where dropout is applied instead of applying it.",
    mistakes={
        "Your hidden activation is not ELU: the paper applies ELU (F.elu) to the first layer's output, which "
        "keeps a smooth negative part where ReLU cuts it to 0.": _model_mistake(activation=F.relu),
        "You applied ELU to the output layer too: the second layer's output goes out as it is, as logits "
        "(F.cross_entropy wants raw logits, any real number).": _model_mistake(final=F.elu),
        "Your output layer concatenates its heads (its bias has num_classes * output_heads entries): the "
        "output layer AVERAGES its heads, GATLayerEdge(..., concat=False), so the logits have num_classes "
        "columns.": _model_mistake(concat_output=True),
        "Your hidden layer averages its heads: the hidden layer CONCATENATES them (GATLayerEdge's default "
        "concat=True), giving heads * hidden_features features per node.":
            _model_mistake(concat_hidden=False, second_width=lambda heads, hidden: hidden),
        "Your second layer reads hidden_features inputs: the hidden layer concatenates its heads, so the "
        "second layer's input width is heads * hidden_features.":
            _model_mistake(second_width=lambda heads, hidden: hidden),
        "Your second layer's input is not dropped: the paper drops BOTH layers' inputs (pass dropout= to "
        "the second GATLayerEdge too).": _model_mistake(second_dropout=0.0),
        "Your attention coefficients are not dropped: pass attention_dropout=dropout to both layers (the "
        "paper drops the normalised coefficients too, so each node aggregates a random part of its "
        "neighbourhood in every step).": _model_mistake(attention_dropout=0.0),
        "Your model ends with log_softmax: return the logits as they are; F.cross_entropy applies "
        "log_softmax itself.": _model_mistake(final=lambda logits: F.log_softmax(logits, dim=1)),
        "Your model ends with softmax: return the raw logits; F.cross_entropy applies log_softmax itself, "
        "and a softmax before it squashes the loss and its gradients.":
            _model_mistake(final=lambda logits: F.softmax(logits, dim=1)),
        "You also drop the projected features z (N, H, F') before aggregating them (value_dropout): the "
        "authors' code and gatkit's GAT do, but this exercise follows the paper's text, which drops the "
        "layers' inputs and the attention coefficients only; leave value_dropout at 0 (GATLayerEdge's "
        "default).": _model_mistake(value_dropout=0.6),
        "Your dropout is also active in eval mode: F.dropout(h, p) drops by default (training=True); pass "
        "training=self.training, or let the layers drop their inputs (dropout=), which follows the mode "
        "for you.": _DropoutAlwaysOn,
    },
))


# --- 7.2 the training step ----------------------------------------------------------------------

def train_step(model: nn.Module, optimizer: torch.optim.Optimizer, x: torch.Tensor, edge_index: torch.Tensor,
               y: torch.Tensor, train_idx: torch.Tensor) -> float:
    """One step of :func:`gatkit.train.train_step`; returns the loss of that step's forward pass."""
    logits = library_train_step(model, optimizer, x, edge_index, y, train_idx)  # (n, C), train mode, detached
    return node_loss(logits, y[train_idx], torch.arange(len(train_idx))).item()


def _drive_step(answer: Callable, x: torch.Tensor, edge_index: torch.Tensor, y: torch.Tensor,
                train_idx: torch.Tensor, *, seed: int, paper_model: bool = False, handed_in: str = "train",
                stale_gradients: bool = False) -> dict:
    """Two steps of the answer on a seeded GAT with Adam; the losses, the weights, gradients and Adam's state."""
    with _seeded(seed):
        num_classes = int(y.max()) + 1
        if paper_model:
            config = paper_config()
            model = build_model(config, x.shape[1], num_classes)
            optimizer = torch.optim.Adam(model.parameters(), lr=config.lr, weight_decay=config.weight_decay)
        else:
            model = _small_gat(x.shape[1], num_classes)
            optimizer = torch.optim.Adam(model.parameters(), lr=0.01, weight_decay=5e-4)
        model.train(handed_in == "train")
        if stale_gradients:  # left over from something else, e.g. a look at the gradients of another loss
            generator = seeded_generator(seed)
            for param in model.parameters():
                param.grad = torch.randn(param.shape, generator=generator)
        passes = _Passes(model)
        losses = [_number(answer(model, optimizer, x, edge_index, y, train_idx)) for _ in range(2)]
        names = dict(model.named_parameters())
        return {PASSES: passes.close(),
                "loss of each step": losses,
                "parameters after two steps": {name: p.detach().clone() for name, p in names.items()},
                "gradients after two steps": {name: None if p.grad is None else p.grad.clone()
                                              for name, p in names.items()},
                "Adam's state after two steps": {f"{name}: {key}": optimizer.state[p][key].clone()
                                                 for name, p in names.items() if p in optimizer.state
                                                 for key in ("exp_avg", "exp_avg_sq")}}


def _step_cases() -> list[Case]:
    cora = load_cora()
    x = torch.randn(15, 6, generator=seeded_generator(720))  # (N, F)
    y = torch.randint(0, 3, (15,), generator=seeded_generator(721))  # (N,)
    train_idx = torch.randperm(15, generator=seeded_generator(722))[:6]
    edge_index = random_graph(15, 40, seed=723)  # (2, E)
    return [Case("15 nodes, 3 classes, 6 training nodes in random order; the model is handed over in eval mode",
                 (x, edge_index, y, train_idx), dict(seed=724, handed_in="eval")),
            Case("the same graph; the model's .grad holds stale gradients from an earlier computation",
                 (x, edge_index, y, train_idx), dict(seed=725, stale_gradients=True)),
            Case("Cora: the paper's model and optimiser, the 140 training nodes",
                 (cora.x_sparse, cora.edge_index_with_self_loops, cora.y, cora.train_idx),
                 dict(seed=726, paper_model=True))]


def _step_mistake(*, mode=True, zero=True, rows="train", order=("backward", "step"), detach=False, no_grad=False,
                  reduction="mean") -> Callable:
    """A training step with one part changed (see the mistakes below)."""
    def step(model, optimizer, x, edge_index, y, train_idx):
        if mode:
            model.train()
        if zero:
            optimizer.zero_grad()
        if no_grad:
            with torch.no_grad():
                logits = model(x, edge_index)  # (N, C), no graph recorded
        else:
            logits = model(x, edge_index)  # (N, C)
        index = train_idx if rows == "train" else slice(None)
        loss = F.cross_entropy(logits[index], y[index], reduction=reduction)
        if detach or no_grad:  # the usual "fix" for "element 0 of tensors does not require grad"
            loss = torch.tensor(loss.item(), requires_grad=True) if detach else loss.requires_grad_()
        for part in order:
            if part == "backward":
                loss.backward()
            else:
                optimizer.step()
        return loss.item()
    return step


register(Check(
    id="7.2",
    title="the training step",
    reference=train_step,
    cases=_step_cases,
    run=_drive_step,
    hint="In this order: model.train(); optimizer.zero_grad(); logits = model(x, edge_index) on ALL nodes; "
         "loss = F.cross_entropy(logits[train_idx], y[train_idx]); loss.backward(); optimizer.step(); "
         "return loss.item(). The check runs two steps on a model with dropout and compares the losses, the "
         "weights, the gradients and Adam's state after them.",
    mistakes={
        "Your forward pass ran in eval mode: the model was handed over in eval mode (as after an "
        "evaluation) and the step must switch dropout on itself, model.train(), first.":
            _step_mistake(mode=False),
        "You did not clear the gradients: backward() ADDS to .grad, so without optimizer.zero_grad() at the "
        "start of the step the gradients of earlier steps (or computations) are mixed into this one.":
            _step_mistake(zero=False),
        "Your loss uses ALL nodes: every node is in the forward pass, but only the training labels may be "
        "learned from: F.cross_entropy(logits[train_idx], y[train_idx]).": _step_mistake(rows="all"),
        "Your loss is the sum over the training nodes: use the mean (F.cross_entropy's default), so the step "
        "size does not grow with the number of labels.": _step_mistake(reduction="sum"),
        "Your weights did not change although gradients were computed: optimizer.step() must come AFTER "
        "loss.backward() (a step before it finds no gradients: zero_grad() just cleared them), and it must "
        "not be left out.": _step_mistake(order=("backward",)),
        "Your loss was cut off from the model before backward(): loss.item() (or .detach()) turned into a "
        "new tensor has no history, so backward() reaches no parameter and nothing is learned. Call "
        "loss.backward() on the tensor F.cross_entropy returned, and .item() only for the return value.":
            _step_mistake(detach=True),
        "Your forward pass ran under torch.no_grad(): no graph was recorded, so backward() reaches no "
        "parameter (requires_grad_() on the loss only hides the error). Run the forward pass with "
        "gradients on; no_grad belongs in the evaluation.": _step_mistake(no_grad=True),
    },
))


# --- 7.3 evaluation -----------------------------------------------------------------------------

def evaluate(model: nn.Module, x: torch.Tensor, edge_index: torch.Tensor, y: torch.Tensor,
             idx: torch.Tensor) -> tuple[float, float]:
    """``(loss, accuracy)`` on the rows ``idx`` in eval mode, without gradients: :func:`gatkit.train.evaluate`."""
    metrics = evaluate_splits(model, SimpleNamespace(y=y, eval_idx=idx), x, edge_index, ("eval",))
    return metrics["eval_loss"], metrics["eval_acc"]


def _drive_evaluation(answer: Callable, x: torch.Tensor, edge_index: torch.Tensor, y: torch.Tensor,
                      idx: torch.Tensor, *, seed: int, paper_model: bool = False, ties: bool = False) -> dict:
    """The answer on a seeded GAT handed over in train mode (dropout on); what it returns and what it did."""
    with _seeded(seed):
        num_classes = int(y.max()) + 1
        model = build_model(paper_config(), x.shape[1], num_classes) if paper_model else _small_gat(
            x.shape[1], num_classes)
        if ties:  # an output layer of zeros, as if untrained: every class ties in every row
            with torch.no_grad():
                for param in model.layers[-1].parameters():
                    param.zero_()
        before = [p.detach().clone() for p in model.parameters()]
        passes = _Passes(model.train())
        result = answer(model, x, edge_index, y, idx)
        loss, accuracy = result if isinstance(result, (tuple, list)) and len(result) == 2 else (result, None)
        return {PASSES: passes.close(), "loss": _number(loss), "accuracy": _number(accuracy),
                "parameters changed": any(not torch.equal(p, b) for p, b in zip(model.parameters(), before)),
                "gradients written to .grad": any(p.grad is not None for p in model.parameters())}


def _evaluation_cases() -> list[Case]:
    cora = load_cora()
    x = torch.randn(20, 6, generator=seeded_generator(730))  # (N, F)
    y = torch.randint(0, 3, (20,), generator=seeded_generator(731))  # (N,)
    idx = torch.randperm(20, generator=seeded_generator(732))[:8]
    y_square = torch.tensor([0, 1, 2, 3, 4, 2])  # (N,): 6 nodes, 5 classes
    return [Case("6 nodes, 5 classes, the 5 nodes 4, 0, 3, 1, 5 (as many nodes as classes, so an argmax over "
                 "the wrong axis still runs)",
                 (torch.randn(6, 4, generator=seeded_generator(733)), random_graph(6, 10, seed=734), y_square,
                  torch.tensor([4, 0, 3, 1, 5])), dict(seed=743)),
            Case("20 nodes, 3 classes, 8 of them in random order", (x, random_graph(20, 50, seed=736), y, idx),
                 dict(seed=737)),
            Case("ties: the output layer is all zeros, so every class ties in every row and the prediction is "
                 "the first class, as argmax returns it (9 nodes: 4, 3 and 2 of classes 0, 1, 2)",
                 (x, random_graph(20, 50, seed=736), y, torch.randperm(20, generator=seeded_generator(745))[:9]),
                 dict(seed=738, ties=True)),
            Case("Cora's 500 validation nodes, the paper's model (untrained)",
                 (cora.x_sparse, cora.edge_index_with_self_loops, cora.y, cora.val_idx),
                 dict(seed=739, paper_model=True))]


def _evaluation_mistake(*, eval_mode=True, no_grad=True, rows="idx", predict=lambda rows: rows.argmax(dim=1),
                        share=lambda right: right.float().mean().item(), backward=False) -> Callable:
    """An evaluation with one part changed (see the mistakes below)."""
    def run(model, x, edge_index, y, idx):
        if eval_mode:
            model.eval()
        with torch.set_grad_enabled(not no_grad):
            logits = model(x, edge_index)  # (N, C)
        index = idx if rows == "idx" else slice(None)
        loss = F.cross_entropy(logits[index], y[index])
        if backward:
            loss.backward()
        return loss.item(), share(predict(logits[index]) == y[index])
    return run


def _tie_counts_as_right(model, x, edge_index, y, idx):
    model.eval()
    with torch.no_grad():
        rows = model(x, edge_index)[idx]  # (n, C)
    label_logit = rows.gather(1, y[idx].unsqueeze(1)).squeeze(1)  # (n,)
    return F.cross_entropy(rows, y[idx]).item(), (label_logit == rows.max(dim=1).values).float().mean().item()


register(Check(
    id="7.3",
    title="evaluation",
    reference=evaluate,
    cases=_evaluation_cases,
    run=_drive_evaluation,
    hint="model.eval(), then under torch.no_grad(): logits = model(x, edge_index) (all nodes); loss = "
         "F.cross_entropy(logits[idx], y[idx]); accuracy = share of rows whose argmax over the classes "
         "(dim=1) equals the label; return (loss.item(), accuracy.item()). The check hands the model over in "
         "train mode with dropout on.",
    mistakes={
        "Your evaluation ran in train mode: the model was handed over in train mode, so dropout was still "
        "dropping features and attention. Call model.eval() first.": _evaluation_mistake(eval_mode=False),
        "Your evaluation recorded gradients: wrap the forward pass in torch.no_grad() (or decorate the "
        "function with @torch.no_grad()); nothing is learned here, and the graph costs memory.":
            _evaluation_mistake(no_grad=False),
        "Your loss and accuracy run over ALL nodes: read only the rows idx, logits[idx] and y[idx].":
            _evaluation_mistake(rows="all"),
        "Your argmax runs over the nodes (dim=0): a node's prediction is the largest of ITS C logits, "
        "argmax(dim=1).": _evaluation_mistake(predict=lambda rows: rows.argmax(dim=0)),
        "Your accuracy is a percentage: return the share between 0 and 1 (multiply by 100 only when "
        "printing).": _evaluation_mistake(share=lambda right: 100 * right.float().mean().item()),
        "Your accuracy is the number of right nodes: return the share, (pred == labels).float().mean().":
            _evaluation_mistake(share=lambda right: int(right.sum())),
        "You count a node as right when its label's logit EQUALS the largest one: where several classes tie "
        "for the largest logit that counts every one of them as predicted. The prediction is one class, "
        "argmax(dim=1) (the first of the tied classes).": _tie_counts_as_right,
        "Your evaluation wrote gradients into the model's .grad (a backward() inside it): evaluation only "
        "reads the model; no backward, no optimiser step.": _evaluation_mistake(no_grad=False, backward=True),
    },
))


# --- 7.4 early stopping -------------------------------------------------------------------------

def early_stopping(val_accs: torch.Tensor, val_losses: torch.Tensor, patience: int) -> torch.Tensor:
    """Replay the official GAT code's early stopping on a validation curve.

    Returns ``torch.tensor([best_epoch, last_epoch])``: the epoch whose weights are kept (the last
    one at least as good as the best so far on accuracy AND loss; -1 if none) and the last epoch
    that runs (the one where ``patience`` epochs have passed without any improvement, or the
    curve's last epoch). The rule itself is the library's :class:`gatkit.train.EarlyStopping`.
    """
    stopper, epoch = EarlyStopping(patience, keep="both"), -1
    for epoch, (acc, loss) in enumerate(zip(val_accs.tolist(), val_losses.tolist())):
        if stopper.step(epoch, acc, loss):
            break
    best = -1 if stopper.best_epoch is None else stopper.best_epoch
    return torch.tensor([best, epoch])


def _replay(val_accs, val_losses, patience, *, reset, snapshot, update_at_snapshot_only=False,
            best_loss=math.inf, late=0):
    """The rule with its parts swapped for the mistakes below."""
    best_acc, best_epoch, counter = -math.inf, -1, 0
    for epoch, (acc, loss) in enumerate(zip(val_accs.tolist(), val_losses.tolist())):
        if reset(acc, loss, best_acc, best_loss):
            if snapshot(acc, loss, best_acc, best_loss):
                best_epoch = epoch
                if update_at_snapshot_only:
                    best_acc, best_loss = acc, loss
            if not update_at_snapshot_only:
                best_acc, best_loss = max(best_acc, acc), min(best_loss, loss)
            counter = 0
        else:
            counter += 1
        if counter == patience + late:
            return torch.tensor([best_epoch, epoch])
    return torch.tensor([best_epoch, len(val_accs) - 1])


def _either(acc, loss, best_acc, best_loss):
    return acc >= best_acc or loss <= best_loss


def _both(acc, loss, best_acc, best_loss):
    return acc >= best_acc and loss <= best_loss


def _only_accuracy_resets(val_accs, val_losses, patience):
    best_acc, best_loss, best_epoch, counter = -math.inf, math.inf, -1, 0
    for epoch, (acc, loss) in enumerate(zip(val_accs.tolist(), val_losses.tolist())):
        if acc >= best_acc:
            if loss <= best_loss:
                best_epoch = epoch
            best_acc, counter = acc, 0
        else:
            counter += 1
        best_loss = min(best_loss, loss)
        if counter == patience:
            return torch.tensor([best_epoch, epoch])
    return torch.tensor([best_epoch, len(val_accs) - 1])


def _loss_starts_at_zero(val_accs, val_losses, patience):
    return _replay(val_accs, val_losses, patience, reset=_either, snapshot=_both, best_loss=0.0)


def _snapshot_on_any_improvement(val_accs, val_losses, patience):
    return _replay(val_accs, val_losses, patience, reset=_either, snapshot=_either)


def _strict_comparisons(val_accs, val_losses, patience):
    return _replay(val_accs, val_losses, patience,
                   reset=lambda a, l, ba, bl: a > ba or l < bl, snapshot=lambda a, l, ba, bl: a > ba and l < bl)


def _bests_updated_at_snapshot_only(val_accs, val_losses, patience):
    return _replay(val_accs, val_losses, patience, reset=_either, snapshot=_both, update_at_snapshot_only=True)


def _one_epoch_late(val_accs, val_losses, patience):
    return _replay(val_accs, val_losses, patience, reset=_either, snapshot=_both, late=1)


def _kept_lowest_loss(val_accs, val_losses, patience):
    return _replay(val_accs, val_losses, patience, reset=_either,
                   snapshot=lambda acc, loss, best_acc, best_loss: loss <= best_loss)


def _compared_with_previous_epoch(val_accs, val_losses, patience):
    previous_acc, previous_loss, best_epoch, counter = -math.inf, math.inf, -1, 0
    for epoch, (acc, loss) in enumerate(zip(val_accs.tolist(), val_losses.tolist())):
        if acc >= previous_acc or loss <= previous_loss:
            if acc >= previous_acc and loss <= previous_loss:
                best_epoch = epoch
            counter = 0
        else:
            counter += 1
        previous_acc, previous_loss = acc, loss
        if counter == patience:
            return torch.tensor([best_epoch, epoch])
    return torch.tensor([best_epoch, len(val_accs) - 1])


# patience 3. Epoch 2 ties the best accuracy (it resets the counter: >=); epoch 3 improves only
# the loss; epoch 4 ties the accuracy AND has the best loss: the snapshot. Three epochs without
# improvement follow, so the last epoch is 4 + 3 = 7. Answer: [4, 7].
SHORT_ACCS = [0.50, 0.60, 0.60, 0.55, 0.60, 0.58, 0.58, 0.58, 0.58]
SHORT_LOSSES = [1.00, 0.90, 0.95, 0.85, 0.80, 0.90, 0.90, 0.90, 0.90]

# patience 2. Epoch 1 is best on both (the snapshot); epoch 2 improves only the loss, epoch 3
# only the accuracy (with a loss worse than epoch 1's); then two epochs without improvement.
# Answer: [1, 5]. Keeping every improvement gives 3, keeping the lowest loss gives 2.
SPLIT_ACCS = [0.50, 0.55, 0.52, 0.56, 0.50, 0.50, 0.50]
SPLIT_LOSSES = [1.00, 0.80, 0.70, 0.85, 0.90, 0.90, 0.90]

# patience 3. The accuracy peaks at epoch 1 (the snapshot); then the loss alone improves at
# epochs 2, 4, 5 and keeps training going; epochs 3, 6, 7 are worse on both than the bests so
# far (though still better than the loss of epoch 1). Answer: [1, 8].
LOSS_ALONE_ACCS = [0.50, 0.70, 0.65, 0.65, 0.66, 0.66, 0.68, 0.60, 0.60, 0.60, 0.60, 0.60, 0.60]
LOSS_ALONE_LOSSES = [1.00, 0.90, 0.80, 0.85, 0.75, 0.70, 0.72, 0.88, 0.95, 0.95, 0.95, 0.95, 0.95]


# patience 2. Epoch 3 ties the best accuracy alone (loss worse), epoch 4 ties the best loss alone
# (accuracy worse): each resets the counter only with >= and <=, and without either reset training
# stops at epoch 3 or 5. Epoch 6 ties both bests: it is the snapshot only with >= and <=. Answer: [6, 8].
TIES_ACCS = [0.50, 0.60, 0.55, 0.60, 0.55, 0.50, 0.60, 0.50, 0.50, 0.50]
TIES_LOSSES = [1.00, 0.80, 0.90, 0.95, 0.80, 0.90, 0.80, 0.90, 0.90, 0.90]


def noisy_curve(epochs: int, seed: int) -> tuple[torch.Tensor, torch.Tensor]:
    """A validation curve that looks like a real run: accuracies in steps of 1/500, noisy losses."""
    generator = seeded_generator(seed)
    t = torch.arange(epochs, dtype=torch.float32)
    accs = 0.82 - 0.5 * torch.exp(-t / 25) + 0.01 * torch.randn(epochs, generator=generator)  # (T,)
    accs = torch.round(accs * 500) / 500  # 500 validation nodes: ties are common
    losses = 0.65 + 1.3 * torch.exp(-t / 40) + 0.0004 * t + 0.01 * torch.randn(epochs, generator=generator)  # (T,)
    return accs, losses


def _early_stopping_cases() -> list[Case]:
    never_accs = torch.linspace(0.3, 0.8, 12)  # (T,) improves every epoch
    never_losses = torch.linspace(1.9, 0.7, 12)  # (T,)
    noisy = noisy_curve(600, seed=77)
    return [Case("short curve, patience 3 (answer [4, 7])",
                 (torch.tensor(SHORT_ACCS), torch.tensor(SHORT_LOSSES), 3)),
            Case("improvements of the loss alone and of the accuracy alone, patience 2 (answer [1, 5])",
                 (torch.tensor(SPLIT_ACCS), torch.tensor(SPLIT_LOSSES), 2)),
            Case("the loss alone keeps improving, patience 3 (answer [1, 8])",
                 (torch.tensor(LOSS_ALONE_ACCS), torch.tensor(LOSS_ALONE_LOSSES), 3)),
            Case("a curve that improves every epoch: it never stops (answer [11, 11])",
                 (never_accs, never_losses, 5)),
            Case("a noisy 600-epoch curve, patience 50", (*noisy, 50)),
            Case("ties on each metric alone and on both, patience 2 (answer [6, 8])",
                 (torch.tensor(TIES_ACCS), torch.tensor(TIES_LOSSES), 2)),
            Case("stopped while the loss is still above 1, patience 2 (answer [1, 3])",
                 (torch.tensor([0.30, 0.50, 0.45, 0.40]), torch.tensor([1.90, 1.60, 1.70, 1.80]), 2))]


register(Check(
    id="7.4",
    title="early stopping",
    reference=early_stopping,
    cases=_early_stopping_cases,
    hint="Start best_acc at -inf and best_loss at +inf. Each epoch: if acc >= best_acc OR loss <= "
         "best_loss, the counter goes back to 0 (and if both hold, that epoch becomes best_epoch); "
         "then best_acc = max(...), best_loss = min(...). Otherwise the counter grows by one. Stop "
         "(return [best_epoch, epoch]) in the epoch where the counter reaches patience; if it never "
         "does, the last epoch is len(val_accs) - 1.",
    mistakes={
        "Only the accuracy resets your counter: in the official rule an epoch that improves the "
        "validation LOSS alone also resets it (acc >= best_acc OR loss <= best_loss).":
            _only_accuracy_resets,
        "Your best loss starts at 0, as in the original PyTorch GAT project: no loss is ever <= 0, "
        "so the loss never resets the counter and no epoch is ever best on both. Start it at "
        "math.inf (and best_acc at -math.inf).": _loss_starts_at_zero,
        "You take the snapshot on ANY improvement: the weights are kept only in an epoch that is at "
        "least as good as the best so far on accuracy AND on loss.": _snapshot_on_any_improvement,
        "You compare strictly (> and <): the official code uses >= and <=, so an epoch that TIES "
        "the best accuracy (common with 500 validation nodes) resets the counter and can be the "
        "snapshot.": _strict_comparisons,
        "You update best_acc and best_loss only when you take the snapshot: each must follow its own "
        "best on every reset (best_acc = max(best_acc, acc), best_loss = min(best_loss, loss)), "
        "even when the other did not improve.": _bests_updated_at_snapshot_only,
        "You stop one epoch late: training stops in the epoch where the counter REACHES patience "
        "(patience epochs in a row without improvement), not when it exceeds it.": _one_epoch_late,
        "You keep the epoch with the lowest validation loss (gatkit's default keep='val_loss'): this "
        "exercise asks for the official choice, the last epoch at least as good as the best on "
        "accuracy AND on loss.": _kept_lowest_loss,
        "You compared each epoch with the PREVIOUS epoch: the rule compares it with the best accuracy "
        "and the lowest loss SO FAR (best_acc = max(best_acc, acc), best_loss = min(best_loss, loss)), "
        "so a small recovery after a bad epoch is not an improvement.": _compared_with_previous_epoch,
    },
))


# --- 7.5 the training loop ----------------------------------------------------------------------

def _copied_state(model: nn.Module) -> dict[str, torch.Tensor]:
    """A copy of the model's weights: ``state_dict()`` alone returns the live tensors."""
    return {name: tensor.clone() for name, tensor in model.state_dict().items()}


def fit(model: nn.Module, optimizer: torch.optim.Optimizer, x: torch.Tensor, edge_index: torch.Tensor,
        y: torch.Tensor, train_idx: torch.Tensor, val_idx: torch.Tensor, *, patience: int,
        max_epochs: int) -> tuple[int, int]:
    """Train with early stopping and restore the weights of the epoch with the lowest validation loss.

    The counter follows the official rule (:class:`gatkit.train.EarlyStopping`: an epoch that
    ties or beats the best validation accuracy or loss resets it) and the weights kept are those
    of ``keep="val_loss"``, gatkit's default. Returns ``(best_epoch, epochs_run)``.
    """
    stopper, best_state, epoch = EarlyStopping(patience), _copied_state(model), -1
    for epoch in range(max_epochs):
        library_train_step(model, optimizer, x, edge_index, y, train_idx)
        val_loss, val_acc = evaluate(model, x, edge_index, y, val_idx)
        stop = stopper.step(epoch, val_acc, val_loss)
        if stopper.best_epoch == epoch:
            best_state = _copied_state(model)
        if stop:
            break
    model.load_state_dict(best_state)
    return stopper.best_epoch, epoch + 1


def class_graph(num_nodes: int, num_classes: int, num_features: int, seed: int, *, degree: int = 3,
                homophily: float = 0.8, signal: float = 0.6) -> tuple[torch.Tensor, ...]:
    """A small seeded graph with class structure, on which a GAT learns and then overfits.

    Features are a class centre times ``signal`` plus unit noise; each node receives ``degree``
    edges (before removing loops), each from a node of its own class with probability
    ``homophily``, and a self-loop. Returns ``x`` (N, F), ``edge_index`` (2, E) with shuffled
    columns, ``y`` (N,) and a random order of the nodes (to split them).
    """
    generator = seeded_generator(seed)
    y = torch.randint(0, num_classes, (num_nodes,), generator=generator)  # (N,)
    centres = torch.randn(num_classes, num_features, generator=generator)  # (C, F)
    x = signal * centres[y] + torch.randn(num_nodes, num_features, generator=generator)  # (N, F)
    targets = torch.arange(num_nodes).repeat_interleave(degree)  # (N * degree,)
    sources = torch.randint(0, num_nodes, (len(targets),), generator=generator)
    same_class = torch.rand(len(targets), generator=generator) < homophily
    for k in torch.nonzero(same_class).flatten().tolist():
        members = torch.nonzero(y == y[targets[k]]).flatten()
        sources[k] = members[torch.randint(0, len(members), (1,), generator=generator)]
    keep = sources != targets
    edge_index = torch.cat([torch.stack([sources[keep], targets[keep]]), torch.arange(num_nodes).repeat(2, 1)],
                           dim=1)  # (2, E)
    edge_index = edge_index[:, torch.randperm(edge_index.shape[1], generator=generator)]
    return x, edge_index, y, torch.randperm(num_nodes, generator=generator)


def _drive_fit(answer: Callable, x: torch.Tensor, edge_index: torch.Tensor, y: torch.Tensor,
               train_idx: torch.Tensor, val_idx: torch.Tensor, *, seed: int, patience: int, max_epochs: int) -> dict:
    """The answer's loop on a seeded small GAT with Adam: what it returns and the weights it leaves."""
    with _seeded(seed):
        model = _small_gat(x.shape[1], int(y.max()) + 1)
        optimizer = torch.optim.Adam(model.parameters(), lr=0.05, weight_decay=5e-4)
        result = answer(model, optimizer, x, edge_index, y, train_idx, val_idx, patience=patience,
                        max_epochs=max_epochs)
        if isinstance(result, (tuple, list)):
            result = tuple(_number(value) for value in result)
        return {"(best_epoch, epochs_run)": result,
                "weights at the end": {name: p.detach().clone() for name, p in model.named_parameters()}}


def _fit_cases() -> list[Case]:
    cases = []
    for seed, patience, max_epochs, what in ((3, 10, 100, "patience runs out: best epoch 16, 27 epochs run"),
                                             (1, 10, 100, "patience runs out: best epoch 31, 59 epochs run"),
                                             (0, 10, 30, "max_epochs = 30 comes first: best epoch 26, 30 run")):
        x, edge_index, y, order = class_graph(40, 3, 8, seed)
        cases.append(Case(f"40 nodes in 3 classes, 6 training and 20 validation nodes, patience {patience}: {what}",
                          (x, edge_index, y, order[:6], order[6:26]),
                          dict(seed=seed, patience=patience, max_epochs=max_epochs)))
    return cases


def _loop_mistake(*, stop_when=lambda stop, counter, patience: stop, keep="val_loss", copy_state=True,
                  restore=True, step_first=True, rule=None) -> Callable:
    """A training loop with one part changed (see the mistakes below)."""
    def loop(model, optimizer, x, edge_index, y, train_idx, val_idx, *, patience, max_epochs):
        stopper = EarlyStopping(patience, keep=keep if keep in ("val_loss", "both") else "val_loss")
        best_loss, best_epoch, best_state, epoch = math.inf, None, _copied_state(model), -1
        for epoch in range(max_epochs):
            if step_first:
                library_train_step(model, optimizer, x, edge_index, y, train_idx)
            val_loss, val_acc = evaluate(model, x, edge_index, y, val_idx)
            if keep == "train_loss":
                val_loss_for_best = evaluate(model, x, edge_index, y, train_idx)[0]
            else:
                val_loss_for_best = val_loss
            if not step_first:
                library_train_step(model, optimizer, x, edge_index, y, train_idx)
            stop = stopper.step(epoch, val_acc, val_loss)
            if keep in ("val_loss", "both"):
                improved = stopper.best_epoch == epoch
            else:
                improved = val_loss_for_best <= best_loss
                best_loss = min(best_loss, val_loss_for_best)
            if improved:
                best_epoch = epoch
                best_state = _copied_state(model) if copy_state else model.state_dict()
            if stop_when(stop, stopper.counter, patience):
                break
        if restore:
            model.load_state_dict(best_state)
        return best_epoch, epoch + 1
    return loop


register(Check(
    id="7.5",
    title="the training loop",
    reference=fit,
    cases=_fit_cases,
    run=_drive_fit,
    hint="stopper = EarlyStopping(patience) (keep='val_loss'); each epoch: train_step(...), then "
         "val_loss, val_acc = evaluate(model, x, edge_index, y, val_idx); stop = stopper.step(epoch, val_acc, "
         "val_loss); if stopper.best_epoch == epoch, keep a COPY of the weights, copy.deepcopy(model."
         "state_dict()); if stop, break. After the loop load the copy back, model.load_state_dict(best), and "
         "return (stopper.best_epoch, epoch + 1).",
    mistakes={
        "Your model ends with the LAST epoch's weights. Either you never load the best weights back "
        "(model.load_state_dict(best_state) after the loop), or what you kept is model.state_dict() itself: "
        "its tensors ARE the live weights, so the optimiser keeps changing your 'best' state. Keep a copy, "
        "copy.deepcopy(model.state_dict()) or {k: v.clone() for k, v in model.state_dict().items()}.":
            _loop_mistake(copy_state=False),
        "You stop one epoch late: stop in the epoch where patience epochs in a row have passed without "
        "improvement (EarlyStopping.step returns True then).":
            _loop_mistake(stop_when=lambda stop, counter, patience: counter > patience),
        "Your loop never stops early: it runs all max_epochs. Break out of the loop when "
        "stopper.step(...) returns True.": _loop_mistake(stop_when=lambda stop, counter, patience: False),
        "You stop at the first epoch without improvement: wait for patience epochs in a row without one.":
            _loop_mistake(stop_when=lambda stop, counter, patience: counter >= 1),
        "You chose the best epoch by the TRAINING loss: it keeps falling as the model fits the training "
        "labels. The best epoch is the one with the lowest VALIDATION loss.": _loop_mistake(keep="train_loss"),
        "You kept the official snapshot (EarlyStopping keep='both', exercise 7.4's rule): this loop keeps "
        "the weights of the lowest validation loss, gatkit's default keep='val_loss'.": _loop_mistake(keep="both"),
        "You evaluate BEFORE the training step: epoch e's validation loss then belongs to the weights before "
        "the step, and the weights you keep are one step later than the ones measured. Step first, then "
        "evaluate.": _loop_mistake(step_first=False),
    },
))
