"""Mutation suites for chapter 07, training: 7.1 the loss, 7.2 accuracy, 7.3 early stopping.

7.3's rule has four comparisons (reset on accuracy / on loss, snapshot on accuracy / on loss),
each of which can be strict or not; the "comparisons" family tries every wrong combination.
"""

from __future__ import annotations

import itertools
import math
import operator

import numpy as np
import torch
import torch.nn.functional as F

from mutants import add_mutant, alternative, mutant


# --- 7.1 the loss on the training nodes ---------------------------------------------------------------

@mutant("7.1", "rows")
def first_rows_instead_of_train_idx(logits, labels, train_idx):
    n = len(train_idx)
    return F.cross_entropy(logits[:n], labels[:n])


@mutant("7.1", "rows")
def logits_selected_labels_not(logits, labels, train_idx):
    return F.cross_entropy(logits[train_idx], labels[:len(train_idx)])


@mutant("7.1", "rows")
def every_node_but_the_training_ones(logits, labels, train_idx):
    rest = torch.ones(len(labels), dtype=torch.bool)
    rest[train_idx] = False
    return F.cross_entropy(logits[rest], labels[rest])


@mutant("7.1", "rows")
def masked_sum_divided_by_all_nodes(logits, labels, train_idx):
    mask = torch.zeros(len(labels))
    mask[train_idx] = 1.0
    return (F.cross_entropy(logits, labels, reduction="none") * mask).mean()


@mutant("7.1", "rows")
def loss_over_all_nodes(logits, labels, train_idx):
    return F.cross_entropy(logits, labels)


@mutant("7.1", "rows")
def training_rows_counted_twice(logits, labels, train_idx):
    rows = torch.cat([torch.arange(len(labels)), train_idx])
    return F.cross_entropy(logits[rows], labels[rows])


@mutant("7.1", "reduction")
def summed_over_the_training_nodes(logits, labels, train_idx):
    return F.cross_entropy(logits[train_idx], labels[train_idx], reduction="sum")


@mutant("7.1", "reduction")
def mean_over_nodes_and_classes(logits, labels, train_idx):
    return -(F.log_softmax(logits[train_idx], dim=1) * F.one_hot(labels[train_idx], logits.shape[1])).mean()


@mutant("7.1", "reduction")
def median_instead_of_mean(logits, labels, train_idx):
    return F.cross_entropy(logits[train_idx], labels[train_idx], reduction="none").median()


@mutant("7.1", "reduction")
def class_balanced_weights(logits, labels, train_idx):
    counts = torch.bincount(labels[train_idx], minlength=logits.shape[1]).float()
    weight = torch.where(counts > 0, 1.0 / counts.clamp(min=1), torch.zeros_like(counts))
    return F.cross_entropy(logits[train_idx], labels[train_idx], weight=weight)


@mutant("7.1", "softmax")
def log_of_the_softmax(logits, labels, train_idx):
    probs = F.softmax(logits[train_idx], dim=1)
    return -probs[torch.arange(len(train_idx)), labels[train_idx]].log().mean()


@mutant("7.1", "softmax")
def softmax_without_max_shift(logits, labels, train_idx):
    exp = logits[train_idx].exp()
    probs = exp / exp.sum(dim=1, keepdim=True)
    return -probs[torch.arange(len(train_idx)), labels[train_idx]].log().mean()


@mutant("7.1", "softmax")
def softmax_then_cross_entropy(logits, labels, train_idx):
    return F.cross_entropy(F.softmax(logits[train_idx], dim=1), labels[train_idx])


@mutant("7.1", "softmax")
def log_softmax_over_the_nodes(logits, labels, train_idx):
    return F.nll_loss(F.log_softmax(logits[train_idx], dim=0), labels[train_idx])


@mutant("7.1", "softmax")
def nll_loss_on_raw_logits(logits, labels, train_idx):
    return F.nll_loss(logits[train_idx], labels[train_idx])


@mutant("7.1", "softmax")
def log_base_2(logits, labels, train_idx):
    return F.cross_entropy(logits[train_idx], labels[train_idx]) / math.log(2)


@mutant("7.1", "softmax")
def label_smoothing(logits, labels, train_idx):
    return F.cross_entropy(logits[train_idx], labels[train_idx], label_smoothing=0.1)


@mutant("7.1", "loss")
def binary_cross_entropy_on_one_hot(logits, labels, train_idx):
    target = F.one_hot(labels[train_idx], logits.shape[1]).float()
    return F.binary_cross_entropy_with_logits(logits[train_idx], target)


@mutant("7.1", "loss")
def squared_error_of_the_probabilities(logits, labels, train_idx):
    target = F.one_hot(labels[train_idx], logits.shape[1]).float()
    return F.mse_loss(F.softmax(logits[train_idx], dim=1), target)


@mutant("7.1", "loss")
def negative_logit_of_the_label(logits, labels, train_idx):
    return -logits[train_idx, labels[train_idx]].mean()


@mutant("7.1", "off by one")
def labels_shifted_by_one(logits, labels, train_idx):
    return F.cross_entropy(logits[train_idx], (labels[train_idx] + 1) % logits.shape[1])


@mutant("7.1", "autograd")
def returned_as_a_python_float(logits, labels, train_idx):
    return F.cross_entropy(logits[train_idx], labels[train_idx]).item()


@mutant("7.1", "autograd")
def rewrapped_with_torch_tensor(logits, labels, train_idx):
    return torch.tensor(F.cross_entropy(logits[train_idx], labels[train_idx]).item())


@mutant("7.1", "autograd")
def detached(logits, labels, train_idx):
    return F.cross_entropy(logits[train_idx], labels[train_idx]).detach()


@mutant("7.1", "autograd")
def computed_under_no_grad(logits, labels, train_idx):
    with torch.no_grad():
        return F.cross_entropy(logits[train_idx], labels[train_idx])


@mutant("7.1", "autograd")
def numpy_round_trip(logits, labels, train_idx):
    rows = logits[train_idx].detach().numpy()
    rows = rows - rows.max(axis=1, keepdims=True)
    log_probs = rows - np.log(np.exp(rows).sum(axis=1, keepdims=True))
    return torch.tensor(-log_probs[np.arange(len(rows)), labels[train_idx].numpy()].mean())


@alternative("7.1")
def nll_loss_of_log_softmax(logits, labels, train_idx):
    return F.nll_loss(F.log_softmax(logits, dim=1)[train_idx], labels[train_idx])


@alternative("7.1")
def logsumexp_by_hand(logits, labels, train_idx):
    rows = logits[train_idx]
    picked = rows.gather(1, labels[train_idx].unsqueeze(1)).squeeze(1)
    return (torch.logsumexp(rows, dim=1) - picked).mean()


@alternative("7.1")
def kipf_style_mask_rescaled_by_its_mean(logits, labels, train_idx):
    mask = torch.zeros(len(labels))
    mask[train_idx] = 1.0
    per_node = F.cross_entropy(logits, labels, reduction="none")
    return (per_node * mask / mask.mean()).mean()


@alternative("7.1")
def boolean_mask_from_train_idx(logits, labels, train_idx):
    mask = torch.zeros(len(labels), dtype=torch.bool)
    mask[train_idx] = True
    return F.cross_entropy(logits[mask], labels[mask])


# --- 7.2 accuracy -------------------------------------------------------------------------------------

@mutant("7.2", "ties")
def a_tie_at_the_top_counts_as_right(logits, labels):
    return (logits.gather(1, labels.unsqueeze(1)).squeeze(1) == logits.max(dim=1).values).float().mean()


@mutant("7.2", "ties")
def last_of_the_tied_classes(logits, labels):
    last = logits.shape[1] - 1 - logits.flip(1).argmax(dim=1)
    return (last == labels).float().mean()


@mutant("7.2", "ties")
def label_in_the_top_2(logits, labels):
    return (logits.topk(2, dim=1).indices == labels.unsqueeze(1)).any(dim=1).float().mean()


@mutant("7.2", "ties")
def fraction_of_the_tied_classes(logits, labels):
    top = logits == logits.max(dim=1, keepdim=True).values  # (n, C) the tied classes
    right = top.gather(1, labels.unsqueeze(1)).squeeze(1).float()
    return (right / top.sum(dim=1)).mean()


@mutant("7.2", "axis")
def argmax_of_the_flattened_logits(logits, labels):
    return (logits.argmax() == labels).float().mean()


@mutant("7.2", "axis")
def keepdim_broadcast_to_a_matrix(logits, labels):
    return (logits.argmax(dim=1, keepdim=True) == labels).float().mean()  # (n, 1) == (n,) -> (n, n)


@mutant("7.2", "axis")
def argmin(logits, labels):
    return (logits.argmin(dim=1) == labels).float().mean()


@mutant("7.2", "share")
def count_of_right_nodes(logits, labels):
    return (logits.argmax(dim=1) == labels).sum()


@mutant("7.2", "share")
def percentage(logits, labels):
    return (logits.argmax(dim=1) == labels).float().mean() * 100


@mutant("7.2", "share")
def integer_division(logits, labels):
    return (logits.argmax(dim=1) == labels).sum() // len(labels)


@mutant("7.2", "share")
def divided_by_the_number_of_logits(logits, labels):
    return (logits.argmax(dim=1) == labels).sum() / logits.numel()


@mutant("7.2", "share")
def error_rate(logits, labels):
    return (logits.argmax(dim=1) != labels).float().mean()


@mutant("7.2", "share")
def mean_over_the_classes(logits, labels):
    pred = logits.argmax(dim=1)
    per_class = [(pred[labels == c] == c).float().mean() for c in labels.unique()]
    return torch.stack(per_class).mean()


@mutant("7.2", "share")
def one_node_left_out(logits, labels):
    return (logits.argmax(dim=1)[:-1] == labels[:-1]).float().mean()


@mutant("7.2", "prediction")
def one_hot_vectors_compared(logits, labels):
    c = logits.shape[1]
    return (F.one_hot(logits.argmax(dim=1), c) == F.one_hot(labels, c)).float().mean()


@mutant("7.2", "prediction")
def largest_value_instead_of_its_index(logits, labels):
    return (logits.max(dim=1).values == labels).float().mean()


@mutant("7.2", "prediction")
def mean_probability_of_the_label(logits, labels):
    return F.softmax(logits, dim=1).gather(1, labels.unsqueeze(1)).mean()


@mutant("7.2", "prediction")
def mean_top_probability(logits, labels):
    return F.softmax(logits, dim=1).max(dim=1).values.mean()


@mutant("7.2", "prediction")
def classes_taken_as_one_based(logits, labels):
    return (logits.argmax(dim=1) + 1 == labels).float().mean()


@mutant("7.2", "prediction")
def positive_logit_at_the_label(logits, labels):
    return (logits.gather(1, labels.unsqueeze(1)) > 0).float().mean()


@alternative("7.2")
def max_indices_as_a_python_float(logits, labels):
    return (logits.max(dim=1).indices == labels).sum().item() / len(labels)


@alternative("7.2")
def numpy_argmax(logits, labels):
    return float(np.mean(np.argmax(logits.numpy(), axis=1) == labels.numpy()))


@alternative("7.2")
def stable_descending_sort(logits, labels):
    # a stable sort keeps tied classes in their order, so the first of them comes first, as with argmax
    return (logits.sort(dim=1, descending=True, stable=True).indices[:, 0] == labels).float().mean()


@alternative("7.2")
def softmax_argmax_in_float64(logits, labels):
    return (F.softmax(logits.double(), dim=1).argmax(dim=1) == labels).double().mean()


# --- 7.3 early stopping -------------------------------------------------------------------------------

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
    add_mutant("7.3", "comparisons", _name, _variant(reset_acc=_ops[0], reset_loss=_ops[1], snap_acc=_ops[2],
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
    add_mutant("7.3", "logic", _name, _variant(reset=_reset, snapshot=_snapshot))

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
    add_mutant("7.3", "patience", _name, _variant(**_changes))

_BESTS = {
    "bests_replaced_on_any_reset": dict(update="replaced"),
    "bests_updated_at_snapshot_only": dict(update="at snapshot"),
    "compared_with_the_previous_epoch": dict(compare_with="previous", update="running"),
    "best_loss_starts_at_0": dict(start_loss=0.0),
    "best_acc_starts_at_0_and_loss_at_1": dict(start_acc=0.0, start_loss=1.0),
}
for _name, _changes in _BESTS.items():
    add_mutant("7.3", "bests", _name, _variant(**_changes))


@mutant("7.3", "bests")
def best_epoch_is_the_highest_accuracy(val_accs, val_losses, patience):
    stop = _rule(val_accs, val_losses, patience)[1].item()
    return torch.tensor([int(val_accs[:stop + 1].argmax()), stop])


@mutant("7.3", "bests")
def best_epoch_is_the_lowest_loss(val_accs, val_losses, patience):
    stop = _rule(val_accs, val_losses, patience)[1].item()
    return torch.tensor([int(val_losses[:stop + 1].argmin()), stop])


@mutant("7.3", "bests")
def best_epoch_is_the_last_reset(val_accs, val_losses, patience):
    return _rule(val_accs, val_losses, patience, snapshot="or")


@mutant("7.3", "bests")
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


@mutant("7.3", "type")
def returned_as_a_list(val_accs, val_losses, patience):
    return _rule(val_accs, val_losses, patience).tolist()


@mutant("7.3", "type")
def returned_as_floats(val_accs, val_losses, patience):
    return _rule(val_accs, val_losses, patience).float()


@mutant("7.3", "precision")
def accuracies_rounded_to_two_decimals(val_accs, val_losses, patience):
    return _rule(torch.round(val_accs * 100) / 100, val_losses, patience)


@alternative("7.3")
def library_early_stopping(val_accs, val_losses, patience):
    from gatkit.train import EarlyStopping
    stopper = EarlyStopping(patience, keep="both")
    last = len(val_accs) - 1
    for epoch in range(len(val_accs)):
        if stopper.step(epoch, float(val_accs[epoch]), float(val_losses[epoch])):
            last = epoch
            break
    return torch.tensor([stopper.best_epoch, last])


@alternative("7.3")
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


@alternative("7.3")
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
