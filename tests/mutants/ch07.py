"""Mutation suites for chapter 07, training: 7.1 the model, 7.2 the training step, 7.3 evaluation,
7.4 early stopping, 7.5 the training loop.

7.1's answers are model classes: the mutants change one part of the paper's model each (the
activation, how heads combine, where dropout goes, what comes out). 7.2, 7.3 and 7.5 are driven
by their checks' ``run`` on a seeded model; their mutants slip in the places a first training
loop goes wrong (mode, gradients, the rows of the loss, the order of the calls, the copy of the
best weights). 7.4's rule has four comparisons (reset on accuracy / on loss, snapshot on accuracy
/ on loss), each of which can be strict or not; the "comparisons" family tries every wrong
combination.
"""

from __future__ import annotations

import copy
import itertools
import math
import operator

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from course.checks.ch07 import evaluate as reference_evaluate
from gatkit import functional, ops
from gatkit.layers import GATLayerEdge
from gatkit.train import EarlyStopping
from gatkit.train import train_step as reference_train_step
from mutants import add_mutant, alternative, mutant


# --- 7.1 the model ------------------------------------------------------------------------------------

class PaperModel(nn.Module):
    """The paper's model with each part replaceable: every mutant of 7.1 changes one."""

    def __init__(self, in_features, hidden_features, num_classes, heads=8, output_heads=1, dropout=0.6, *,
                 activation=F.elu, final=lambda logits: logits, concat=(True, False), width=None,
                 input_dropout=None, attention_dropout=None, value_dropout=0.0, hidden_heads=None,
                 out_heads=None, **layer_options):
        super().__init__()
        p_in = input_dropout or (dropout, dropout)
        p_att = attention_dropout or (dropout, dropout)
        heads = heads if hidden_heads is None else hidden_heads(heads, output_heads)
        output_heads = output_heads if out_heads is None else out_heads(output_heads)
        width = (heads * hidden_features if concat[0] else hidden_features) if width is None else width(
            heads, hidden_features)
        self.activation, self.final = activation, final
        self.hidden = GATLayerEdge(in_features, hidden_features, heads, concat=concat[0], dropout=p_in[0],
                                   attention_dropout=p_att[0], value_dropout=value_dropout, **layer_options)
        self.output = GATLayerEdge(width, num_classes, output_heads, concat=concat[1], dropout=p_in[1],
                                   attention_dropout=p_att[1], value_dropout=value_dropout, **layer_options)

    def forward(self, x, edge_index):
        return self.final(self.output(self.activation(self.hidden(x, edge_index)), edge_index))


def _model(family: str, name: str, **parts) -> None:
    def build(in_features, hidden_features, num_classes, heads=8, output_heads=1, dropout=0.6):
        return PaperModel(in_features, hidden_features, num_classes, heads, output_heads, dropout, **parts)
    add_mutant("7.1", family, name, build)


_model("activation", "relu_between_the_layers", activation=F.relu)
_model("activation", "leaky_relu_between_the_layers", activation=F.leaky_relu)
_model("activation", "no_activation_between_the_layers", activation=lambda h: h)
_model("activation", "elu_after_the_output_layer_too", final=F.elu)
_model("output", "log_softmax_at_the_end", final=lambda logits: F.log_softmax(logits, dim=1))
_model("output", "softmax_at_the_end", final=lambda logits: F.softmax(logits, dim=1))
_model("output", "softmax_over_the_nodes_at_the_end", final=lambda logits: F.softmax(logits, dim=0))
_model("heads", "output_heads_concatenated", concat=(True, True))
_model("heads", "hidden_heads_averaged", concat=(False, False))
_model("heads", "output_heads_ignored", out_heads=lambda output_heads: 1)
_model("heads", "hidden_layer_given_the_output_heads", hidden_heads=lambda heads, output_heads: output_heads)
_model("width", "second_layer_reads_hidden_features", width=lambda heads, hidden: hidden)
_model("dropout", "second_layer_input_not_dropped", input_dropout=(0.6, 0.0))
_model("dropout", "no_input_dropout", input_dropout=(0.0, 0.0))
_model("dropout", "no_attention_dropout", attention_dropout=(0.0, 0.0))
_model("dropout", "attention_dropped_in_the_first_layer_only", attention_dropout=(0.6, 0.0))
_model("dropout", "values_dropped_too", value_dropout=0.6)
_model("layers", "residual_connections", residual=True)
_model("layers", "no_bias", bias=False)


@mutant("7.1", "dropout")
def dropout_probability_hard_coded(in_features, hidden_features, num_classes, heads=8, output_heads=1, dropout=0.6):
    return PaperModel(in_features, hidden_features, num_classes, heads, output_heads, 0.6)


@mutant("7.1", "dropout")
def keep_probability_passed_as_dropout(in_features, hidden_features, num_classes, heads=8, output_heads=1,
                                       dropout=0.6):
    return PaperModel(in_features, hidden_features, num_classes, heads, output_heads, 1 - dropout)


class _DroppedBeforeElu(PaperModel):
    """Layer 2's input dropout written by hand, but before the ELU instead of after it."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, input_dropout=(args[5], 0.0), **kwargs)
        self.p = args[5]

    def forward(self, x, edge_index):
        h = F.dropout(self.hidden(x, edge_index), self.p, self.training)  # (N, H * F')
        return self.output(F.elu(h), edge_index)


@mutant("7.1", "dropout")
def second_input_dropped_before_the_elu(in_features, hidden_features, num_classes, heads=8, output_heads=1,
                                        dropout=0.6):
    return _DroppedBeforeElu(in_features, hidden_features, num_classes, heads, output_heads, dropout)


class _DroppedTwice(PaperModel):
    """Input dropout by hand on top of the layers' own: the features are dropped twice."""

    def forward(self, x, edge_index):
        x = ops.dropout(x, self.hidden.dropout, self.training)  # (N, F), sparse or dense
        return super().forward(x, edge_index)


@mutant("7.1", "dropout")
def input_dropped_twice(in_features, hidden_features, num_classes, heads=8, output_heads=1, dropout=0.6):
    return _DroppedTwice(in_features, hidden_features, num_classes, heads, output_heads, dropout)


class _AlwaysDropping(PaperModel):
    """Hidden-layer dropout by hand with F.dropout's default training=True: it drops in eval mode too."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, input_dropout=(args[5], 0.0), **kwargs)
        self.p = args[5]

    def forward(self, x, edge_index):
        return self.output(F.dropout(F.elu(self.hidden(x, edge_index)), self.p), edge_index)


@mutant("7.1", "mode")
def hidden_dropout_active_in_eval_mode(in_features, hidden_features, num_classes, heads=8, output_heads=1,
                                       dropout=0.6):
    return _AlwaysDropping(in_features, hidden_features, num_classes, heads, output_heads, dropout)


class OwnLayer(nn.Module):
    """A GAT layer written from gatkit's functions, with gatkit's parameter names."""

    def __init__(self, in_features, out_features, heads, *, concat, dropout):
        super().__init__()
        self.heads, self.out_features, self.concat, self.p = heads, out_features, concat, dropout
        self.linear = nn.Linear(in_features, heads * out_features, bias=False)  # W: (H*F', F)
        self.a_src = nn.Parameter(torch.randn(heads, out_features) * 0.1)  # (H, F')
        self.a_dst = nn.Parameter(torch.randn(heads, out_features) * 0.1)  # (H, F')
        self.bias = nn.Parameter(torch.zeros(heads * out_features if concat else out_features))

    def forward(self, x, edge_index):
        n = x.shape[0]
        x = ops.dropout(x, self.p, self.training)  # (N, F): F.dropout cannot take a sparse x
        z = ops.linear(x, self.linear.weight).view(n, self.heads, self.out_features)  # (N, H, F')
        e = functional.edge_scores(functional.node_scores(z, self.a_src), functional.node_scores(z, self.a_dst),
                                   edge_index)  # (E, H)
        alpha = F.dropout(functional.neighbourhood_softmax(e, edge_index, n), self.p, self.training)  # (E, H)
        out = functional.aggregate(alpha, z, edge_index)  # (N, H, F')
        return functional.combine_heads(out, self.concat) + self.bias  # (N, H*F') or (N, F')


@alternative("7.1")
class OwnLayers(nn.Module):
    def __init__(self, in_features, hidden_features, num_classes, heads=8, output_heads=1, dropout=0.6):
        super().__init__()
        self.first = OwnLayer(in_features, hidden_features, heads, concat=True, dropout=dropout)
        self.second = OwnLayer(heads * hidden_features, num_classes, output_heads, concat=False, dropout=dropout)

    def forward(self, x, edge_index):
        return self.second(F.elu(self.first(x, edge_index)), edge_index)


@alternative("7.1")
class LayersInAModuleList(nn.Module):
    def __init__(self, in_features, hidden_features, num_classes, heads=8, output_heads=1, dropout=0.6):
        super().__init__()
        self.layers = nn.ModuleList([
            GATLayerEdge(in_features, hidden_features, heads, dropout=dropout, attention_dropout=dropout),
            GATLayerEdge(heads * hidden_features, num_classes, output_heads, concat=False, dropout=dropout,
                         attention_dropout=dropout)])

    def forward(self, x, edge_index):
        for number, layer in enumerate(self.layers):
            x = layer(x, edge_index)
            if number == 0:
                x = F.elu(x)
        return x


@alternative("7.1")
class OutputLayerDefinedFirstInputDroppedByHand(nn.Module):
    def __init__(self, in_features, hidden_features, num_classes, heads=8, output_heads=1, dropout=0.6):
        super().__init__()
        self.p = dropout
        self.out = GATLayerEdge(heads * hidden_features, num_classes, output_heads, concat=False,
                                attention_dropout=dropout)
        self.hid = GATLayerEdge(in_features, hidden_features, heads, attention_dropout=dropout)

    def forward(self, x, edge_index):
        h = F.elu(self.hid(ops.dropout(x, self.p, self.training), edge_index))  # (N, H * F')
        return self.out(F.dropout(h, self.p, self.training), edge_index)  # (N, C)


# --- 7.2 the training step ----------------------------------------------------------------------------

def _step(*, train_mode=True, zero="start", rows="train", order=("backward", "step"), loss_fn=None,
          returned="loss", detach=False, no_grad=False):
    """A training step with one part replaceable."""
    def step(model, optimizer, x, edge_index, y, train_idx):
        if train_mode:
            model.train()
        if zero == "start":
            optimizer.zero_grad()
        with torch.set_grad_enabled(not no_grad):
            logits = model(x, edge_index)  # (N, C)
        index = train_idx if rows == "train" else (slice(None) if rows == "all" else slice(0, len(train_idx)))
        loss = (loss_fn or F.cross_entropy)(logits[index], y[index])
        if detach:
            loss = torch.tensor(loss.item(), requires_grad=True)
        if no_grad:
            loss.requires_grad_()
        for part in order:
            if part == "backward":
                loss.backward()
            elif part == "step":
                optimizer.step()
            else:
                optimizer.zero_grad()
        if returned == "after the step":
            return F.cross_entropy(model(x, edge_index)[train_idx], y[train_idx]).item()
        return loss.item() if returned == "loss" else loss.item() * len(train_idx)
    return step


for (_family, _name), _changes in {
    ("mode", "eval_mode_kept"): dict(train_mode=False),
    ("gradients", "gradients_never_cleared"): dict(zero="never"),
    ("gradients", "gradients_cleared_after_backward"): dict(zero="never", order=("backward", "zero", "step")),
    ("gradients", "gradients_cleared_only_at_the_end"): dict(zero="never", order=("backward", "step", "zero")),
    ("rows", "loss_on_all_nodes"): dict(rows="all"),
    ("rows", "loss_on_the_first_rows"): dict(rows="first"),
    ("loss", "summed_loss"): dict(loss_fn=lambda logits, labels: F.cross_entropy(logits, labels, reduction="sum")),
    ("loss", "softmax_before_cross_entropy"):
        dict(loss_fn=lambda logits, labels: F.cross_entropy(logits.softmax(1), labels)),
    ("loss", "nll_loss_on_raw_logits"): dict(loss_fn=F.nll_loss),
    ("order", "step_before_backward"): dict(order=("step", "backward")),
    ("order", "backward_without_step"): dict(order=("backward",)),
    ("order", "step_twice"): dict(order=("backward", "step", "step")),
    ("autograd", "loss_item_before_backward"): dict(detach=True),
    ("autograd", "forward_under_no_grad"): dict(no_grad=True),
    ("returned", "the_loss_after_the_step"): dict(returned="after the step"),
    ("returned", "the_summed_loss"): dict(returned="sum"),
}.items():
    add_mutant("7.2", _family, _name, _step(**_changes))


@alternative("7.2")
def zero_grad_keeping_zeros(model, optimizer, x, edge_index, y, train_idx):
    model.train()
    optimizer.zero_grad(set_to_none=False)
    logits = model(x, edge_index)  # (N, C)
    loss = F.nll_loss(F.log_softmax(logits, dim=1)[train_idx], y[train_idx])
    loss.backward()
    optimizer.step()
    return loss


@alternative("7.2")
def model_zero_grad_and_a_boolean_mask(model, optimizer, x, edge_index, y, train_idx):
    mask = torch.zeros(len(y), dtype=torch.bool)
    mask[train_idx] = True
    model.train()
    model.zero_grad()
    rows = model(x, edge_index)[mask]  # (n, C) in node order, not train_idx order: the mean is the same
    loss = F.cross_entropy(rows, y[mask])
    loss.backward()
    optimizer.step()
    return loss.item()


# --- 7.3 evaluation -----------------------------------------------------------------------------------

def _evaluation(*, eval_mode=True, no_grad=True, rows="idx", predict=lambda rows: rows.argmax(dim=1),
                share=lambda right: right.float().mean().item(), loss_fn=None, backward=False):
    """An evaluation with one part replaceable."""
    def run(model, x, edge_index, y, idx):
        if eval_mode:
            model.eval()
        with torch.set_grad_enabled(not no_grad):
            logits = model(x, edge_index)  # (N, C)
        index = idx if rows == "idx" else (slice(None) if rows == "all" else slice(0, len(idx)))
        loss = (loss_fn or F.cross_entropy)(logits[index], y[index])
        if backward:
            loss.backward()
        return loss.item(), share(predict(logits[index]) == y[index])
    return run


for (_family, _name), _changes in {
    ("mode", "train_mode_kept"): dict(eval_mode=False),
    ("gradients", "gradients_recorded"): dict(no_grad=False),
    ("gradients", "backward_inside_the_evaluation"): dict(no_grad=False, backward=True),
    ("rows", "metrics_on_all_nodes"): dict(rows="all"),
    ("rows", "metrics_on_the_first_rows"): dict(rows="first"),
    ("accuracy", "as_a_percentage"): dict(share=lambda right: 100 * right.float().mean().item()),
    ("accuracy", "as_a_count"): dict(share=lambda right: int(right.sum())),
    ("accuracy", "error_rate"): dict(share=lambda right: 1 - right.float().mean().item()),
    ("accuracy", "argmin"): dict(predict=lambda rows: rows.argmin(dim=1)),
    ("ties", "last_of_the_tied_classes"): dict(predict=lambda rows: rows.shape[1] - 1 - rows.flip(1).argmax(dim=1)),
    ("loss", "summed_loss"): dict(loss_fn=lambda logits, labels: F.cross_entropy(logits, labels, reduction="sum")),
    ("loss", "nll_loss_on_raw_logits"): dict(loss_fn=F.nll_loss),
}.items():
    add_mutant("7.3", _family, _name, _evaluation(**_changes))


@mutant("7.3", "ties")
def a_tie_at_the_top_counts_as_right(model, x, edge_index, y, idx):
    model.eval()
    with torch.no_grad():
        rows = model(x, edge_index)[idx]  # (n, C)
    label_logit = rows.gather(1, y[idx].unsqueeze(1)).squeeze(1)  # (n,)
    return F.cross_entropy(rows, y[idx]).item(), (label_logit == rows.max(dim=1).values).float().mean().item()


@mutant("7.3", "parameters")
def an_sgd_step_inside_the_evaluation(model, x, edge_index, y, idx):
    model.eval()
    loss = F.cross_entropy(model(x, edge_index)[idx], y[idx])
    loss.backward()
    with torch.no_grad():
        for param in model.parameters():
            param -= 0.01 * param.grad
            param.grad = None
    return reference_evaluate(model, x, edge_index, y, idx)


@alternative("7.3")
@torch.no_grad()
def decorated_and_mode_restored(model, x, edge_index, y, idx):
    was_training = model.training
    model.eval()
    logits = model(x, edge_index)[idx]  # (n, C)
    result = (F.cross_entropy(logits, y[idx]).item(), (logits.argmax(dim=1) == y[idx]).float().mean().item())
    model.train(was_training)
    return result


@alternative("7.3")
def inference_mode_and_tensors(model, x, edge_index, y, idx):
    model.eval()
    with torch.inference_mode():
        log_probs = F.log_softmax(model(x, edge_index), dim=1)[idx]  # (n, C)
        loss = F.nll_loss(log_probs, y[idx])
        accuracy = (log_probs.max(dim=1).indices == y[idx]).double().mean()
    return loss, accuracy


# --- 7.4 early stopping -------------------------------------------------------------------------------

GE, GT, LE, LT = operator.ge, operator.gt, operator.le, operator.lt


def _rule(val_accs, val_losses, patience, *, reset_acc=GE, reset_loss=LE, snap_acc=GE, snap_loss=LE,
          reset="or", snapshot="and", update="running", start_acc=-math.inf, start_loss=math.inf,
          stop_at=None, last_if_never=None, compare_with="best", start_counter=0, count_resets=False,
          returned_last=lambda epoch: epoch, best_if_none=-1):
    """The official rule, with each of its parts replaceable by a wrong one."""
    best_acc, best_loss, best_epoch, counter = start_acc, start_loss, best_if_none, start_counter
    previous_acc, previous_loss = start_acc, start_loss
    stop_at = patience if stop_at is None else stop_at(patience)
    join = {"or": operator.or_, "and": operator.and_, "acc": lambda a, b: a, "loss": lambda a, b: b}
    accs, losses = val_accs.tolist(), val_losses.tolist()
    for epoch, (acc, loss) in enumerate(zip(accs, losses)):
        ref_acc, ref_loss = (best_acc, best_loss) if compare_with == "best" else (previous_acc, previous_loss)
        if join[reset](reset_acc(acc, ref_acc), reset_loss(loss, ref_loss)):
            if join[snapshot](snap_acc(acc, ref_acc), snap_loss(loss, ref_loss)):
                best_epoch = epoch
                if update == "at snapshot":
                    best_acc, best_loss = acc, loss
            if update == "running":
                best_acc, best_loss = max(best_acc, acc), min(best_loss, loss)
            elif update == "replaced":
                best_acc, best_loss = acc, loss
            counter = counter + 1 if count_resets else 0
        else:
            counter += 1
        previous_acc, previous_loss = acc, loss
        if counter == stop_at:
            return torch.tensor([best_epoch, returned_last(epoch)])
    last = len(accs) - 1 if last_if_never is None else last_if_never(len(accs))
    return torch.tensor([best_epoch, last])


def _variant(**changes):
    return lambda val_accs, val_losses, patience: _rule(val_accs, val_losses, patience, **changes)


# Every combination of strict and non-strict comparisons but the right one (>=, <=, >=, <=).
for _ops in itertools.product((GE, GT), (LE, LT), (GE, GT), (LE, LT)):
    if _ops == (GE, LE, GE, LE):
        continue
    _name = "_".join(f"{part}{'strict' if op in (GT, LT) else 'non_strict'}" for part, op in
                     zip(("reset_acc_", "reset_loss_", "snapshot_acc_", "snapshot_loss_"), _ops))
    add_mutant("7.4", "comparisons", _name, _variant(reset_acc=_ops[0], reset_loss=_ops[1], snap_acc=_ops[2],
                                                     snap_loss=_ops[3]))

_LOGIC = {  # (what resets the counter, what takes the snapshot)
    "reset_on_both_improving": ("and", "and"),
    "reset_on_accuracy_alone": ("acc", "and"),
    "reset_on_loss_alone": ("loss", "and"),
    "snapshot_on_either_improving": ("or", "or"),
    "snapshot_on_accuracy_alone": ("or", "acc"),
    "snapshot_on_loss_alone": ("or", "loss"),
}
for _name, (_reset, _snapshot) in _LOGIC.items():
    add_mutant("7.4", "logic", _name, _variant(reset=_reset, snapshot=_snapshot))

_PATIENCE = {
    "stops_one_epoch_early": dict(stop_at=lambda p: p - 1),
    "stops_one_epoch_late": dict(stop_at=lambda p: p + 1),
    "counter_never_reset": dict(count_resets=True),
    "last_epoch_reported_one_based": dict(returned_last=lambda epoch: epoch + 1),
    "last_epoch_reported_as_the_one_before_stopping": dict(returned_last=lambda epoch: epoch - 1),
    "never_stopping_reports_T": dict(last_if_never=lambda t: t),
    "never_stopping_reports_minus_1": dict(last_if_never=lambda t: -1),
}
for _name, _changes in _PATIENCE.items():
    add_mutant("7.4", "patience", _name, _variant(**_changes))

_BESTS = {
    "bests_replaced_on_any_reset": dict(update="replaced"),
    "bests_updated_at_snapshot_only": dict(update="at snapshot"),
    "compared_with_the_previous_epoch": dict(compare_with="previous", update="running"),
    "best_loss_starts_at_0": dict(start_loss=0.0),
    "best_acc_starts_at_0_and_loss_at_1": dict(start_acc=0.0, start_loss=1.0),
}
for _name, _changes in _BESTS.items():
    add_mutant("7.4", "bests", _name, _variant(**_changes))


@mutant("7.4", "bests")
def best_epoch_is_the_highest_accuracy(val_accs, val_losses, patience):
    stop = _rule(val_accs, val_losses, patience)[1].item()
    return torch.tensor([int(val_accs[:stop + 1].argmax()), stop])


@mutant("7.4", "bests")
def best_epoch_is_the_lowest_loss(val_accs, val_losses, patience):
    stop = _rule(val_accs, val_losses, patience)[1].item()
    return torch.tensor([int(val_losses[:stop + 1].argmin()), stop])


@mutant("7.4", "bests")
def best_epoch_is_the_last_reset(val_accs, val_losses, patience):
    return _rule(val_accs, val_losses, patience, snapshot="or")


@mutant("7.4", "bests")
def keras_style_on_the_loss_alone(val_accs, val_losses, patience):
    best, best_epoch, counter = math.inf, -1, 0
    for epoch, loss in enumerate(val_losses.tolist()):
        if loss < best:
            best, best_epoch, counter = loss, epoch, 0
        else:
            counter += 1
        if counter == patience:
            return torch.tensor([best_epoch, epoch])
    return torch.tensor([best_epoch, len(val_losses) - 1])


@mutant("7.4", "type")
def returned_as_a_list(val_accs, val_losses, patience):
    return _rule(val_accs, val_losses, patience).tolist()


@mutant("7.4", "type")
def returned_as_floats(val_accs, val_losses, patience):
    return _rule(val_accs, val_losses, patience).float()


@mutant("7.4", "precision")
def accuracies_rounded_to_two_decimals(val_accs, val_losses, patience):
    return _rule(torch.round(val_accs * 100) / 100, val_losses, patience)


@alternative("7.4")
def library_early_stopping(val_accs, val_losses, patience):
    stopper = EarlyStopping(patience, keep="both")
    last = len(val_accs) - 1
    for epoch in range(len(val_accs)):
        if stopper.step(epoch, float(val_accs[epoch]), float(val_losses[epoch])):
            last = epoch
            break
    return torch.tensor([stopper.best_epoch, last])


@alternative("7.4")
def tensors_compared_and_bests_updated_first(val_accs, val_losses, patience):
    best_acc = torch.tensor(-math.inf)
    best_loss = torch.tensor(math.inf)
    best_epoch, counter, epoch = -1, 0, 0
    for epoch in range(len(val_accs)):
        acc, loss = val_accs[epoch], val_losses[epoch]
        improved_acc, improved_loss = bool(acc >= best_acc), bool(loss <= best_loss)
        best_acc, best_loss = torch.maximum(best_acc, acc), torch.minimum(best_loss, loss)
        if improved_acc and improved_loss:
            best_epoch = epoch
        counter = 0 if improved_acc or improved_loss else counter + 1
        if counter >= patience:
            break
    return torch.tensor([best_epoch, epoch])


@alternative("7.4")
def while_loop_with_numpy(val_accs, val_losses, patience):
    accs, losses = val_accs.numpy(), val_losses.numpy()
    best_acc, best_loss, best_epoch, waited, epoch = -np.inf, np.inf, -1, 0, -1
    while waited < patience and epoch + 1 < len(accs):
        epoch += 1
        better_acc, better_loss = accs[epoch] >= best_acc, losses[epoch] <= best_loss
        if better_acc and better_loss:
            best_epoch = epoch
        if better_acc or better_loss:
            best_acc, best_loss, waited = max(best_acc, accs[epoch]), min(best_loss, losses[epoch]), 0
        else:
            waited += 1
    return torch.tensor([best_epoch, epoch])


# --- 7.5 the training loop ----------------------------------------------------------------------------

def _state(model):
    return {name: tensor.clone() for name, tensor in model.state_dict().items()}


def _loop(*, stop=lambda stopper, patience: stopper.counter >= patience, best_by="val_loss", keep=_state,
          restore=True, step_first=True, returned=lambda best_epoch, epoch: (best_epoch, epoch + 1), reset_on="either"):
    """A training loop with one part replaceable. It tracks its own counter and best so that each part
    can be changed; with the defaults it is the official counter and the lowest validation loss."""
    def loop(model, optimizer, x, edge_index, y, train_idx, val_idx, *, patience, max_epochs):
        stopper = EarlyStopping(patience, keep="both" if best_by == "both" else "val_loss")
        best, best_epoch, best_state, epoch = math.inf, None, keep(model), -1
        for epoch in range(max_epochs):
            if step_first:
                reference_train_step(model, optimizer, x, edge_index, y, train_idx)
            val_loss, val_acc = reference_evaluate(model, x, edge_index, y, val_idx)
            if not step_first:
                reference_train_step(model, optimizer, x, edge_index, y, train_idx)
            # A plain patience on the validation loss: an accuracy that never improves resets nothing.
            stopper.step(epoch, -float(epoch) if reset_on == "loss" else val_acc, val_loss)
            if best_by in ("val_loss", "both"):
                improved = stopper.best_epoch == epoch
            else:
                score = (reference_evaluate(model, x, edge_index, y, train_idx)[0] if best_by == "train_loss"
                         else -val_acc)
                improved, best = score < best, min(best, score)
            if improved:
                best_epoch, best_state = epoch, keep(model)
            if stop(stopper, patience):
                break
        if restore:
            model.load_state_dict(best_state)
        return returned(best_epoch, epoch)
    return loop


for _name, _changes in {
    "best_weights_never_restored": dict(restore=False),
    "state_dict_kept_without_a_copy": dict(keep=lambda model: model.state_dict()),
    "only_the_parameters_copied_by_reference": dict(keep=lambda model: dict(model.named_parameters())),
    "shallow_copy_of_the_state_dict": dict(keep=lambda model: copy.copy(model.state_dict())),
}.items():
    add_mutant("7.5", "restore", _name, _loop(**_changes))

for _name, _changes in {
    "stops_one_epoch_late": dict(stop=lambda stopper, patience: stopper.counter > patience),
    "stops_one_epoch_early": dict(stop=lambda stopper, patience: stopper.counter >= patience - 1),
    "never_stops": dict(stop=lambda stopper, patience: False),
    "stops_at_the_first_epoch_without_improvement": dict(stop=lambda stopper, patience: stopper.counter >= 1),
    "patience_on_the_validation_loss_alone": dict(reset_on="loss"),
}.items():
    add_mutant("7.5", "patience", _name, _loop(**_changes))

for _name, _changes in {
    "best_by_training_loss": dict(best_by="train_loss"),
    "best_by_validation_accuracy": dict(best_by="val_acc"),
    "official_snapshot_kept": dict(best_by="both"),
}.items():
    add_mutant("7.5", "best", _name, _loop(**_changes))

for _name, _changes in {
    "evaluates_before_the_step": dict(step_first=False),
    "epochs_run_off_by_one": dict(returned=lambda best_epoch, epoch: (best_epoch, epoch)),
    "best_epoch_one_based": dict(returned=lambda best_epoch, epoch: (best_epoch + 1, epoch + 1)),
}.items():
    add_mutant("7.5", "epochs", _name, _loop(**_changes))


@alternative("7.5")
def deep_copied_state_and_a_while_loop(model, optimizer, x, edge_index, y, train_idx, val_idx, *, patience,
                                       max_epochs):
    best_loss, best_acc, best_epoch, waited, epoch = math.inf, -math.inf, 0, 0, 0
    best_state = copy.deepcopy(model.state_dict())
    while epoch < max_epochs and waited < patience:
        reference_train_step(model, optimizer, x, edge_index, y, train_idx)
        val_loss, val_acc = reference_evaluate(model, x, edge_index, y, val_idx)
        if val_loss <= best_loss:
            best_epoch, best_state = epoch, copy.deepcopy(model.state_dict())
        waited = 0 if val_loss <= best_loss or val_acc >= best_acc else waited + 1
        best_loss, best_acc = min(best_loss, val_loss), max(best_acc, val_acc)
        epoch += 1
    model.load_state_dict(best_state)
    return best_epoch, epoch


@alternative("7.5")
def library_stopper_with_cloned_tensors(model, optimizer, x, edge_index, y, train_idx, val_idx, *, patience,
                                        max_epochs):
    stopper = EarlyStopping(patience)
    best = None
    for epoch in range(max_epochs):
        reference_train_step(model, optimizer, x, edge_index, y, train_idx)
        loss, acc = reference_evaluate(model, x, edge_index, y, val_idx)
        stop = stopper.step(epoch, acc, loss)
        if stopper.best_epoch == epoch:
            best = {name: tensor.detach().clone() for name, tensor in model.state_dict().items()}
        if stop:
            break
    with torch.no_grad():
        for name, param in model.named_parameters():
            param.copy_(best[name])
    return torch.tensor(stopper.best_epoch), torch.tensor(epoch + 1)
