"""Checks for chapter 07, Training on Cora.

Exercise 7.1 is the loss on the training nodes, 7.2 the accuracy, 7.3 the early-stopping rule of
the official GAT code replayed on a whole validation curve. The early-stopping cases are synthetic
curves built so that each typical mistake changes the answer on the first case it gets wrong.
The references are the library's :func:`gatkit.train.node_loss`, :func:`gatkit.train.accuracy`
and :class:`gatkit.train.EarlyStopping` (with ``keep="both"``, the official code's snapshot).

The loss's logits require grad in every case, and a loss that autograd cannot differentiate is
rejected (``Check.needs_gradients``); one case has logits in the hundreds, where the log of a softmax
underflows. Accuracy sees rows whose largest logit is tied, where the prediction is the first
tied class, as ``argmax`` returns it.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F

from course.checks.cases import load_cora, seeded_generator
from course.checks.core import Case, Check, as_float64, register
from gatkit.train import EarlyStopping, accuracy, node_loss


# --- 7.1 the loss on the training nodes --------------------------------------------------------

# Toy: 5 nodes, 3 classes, training nodes 0 and 3. The logits are log-probabilities, so the loss
# can be read off: node 0 gives its label 0 probability 1/2, node 3 its label 2 probability 1/2,
# and the loss is ln 2. The other nodes are confidently wrong, so any loss over them differs.
TOY_LOGITS = torch.log(torch.tensor([[0.50, 0.25, 0.25],
                                     [0.10, 0.80, 0.10],
                                     [0.70, 0.20, 0.10],
                                     [0.25, 0.25, 0.50],
                                     [0.05, 0.05, 0.90]]))  # (N, C)
TOY_LABELS = torch.tensor([0, 0, 1, 2, 0])  # (N,)
TOY_TRAIN_IDX = torch.tensor([0, 3])


def _loss_cases() -> list[Case]:
    """The cases of 7.1; every case's logits require grad, as a model's output does."""
    cora = load_cora()
    random_logits = 2 * torch.randn(30, 7, generator=seeded_generator(70))  # (N, C)
    random_labels = torch.randint(0, 7, (30,), generator=seeded_generator(71))  # (N,)
    random_idx = torch.randperm(30, generator=seeded_generator(72))[:10]
    cora_logits = 3 * torch.randn(cora.num_nodes, cora.num_classes, generator=seeded_generator(73))  # (N, C)
    cases = [Case("toy: 5 nodes, 3 classes, training nodes 0 and 3 (loss ln 2)",
                  (TOY_LOGITS.clone(), TOY_LABELS, TOY_TRAIN_IDX)),
             Case("random logits (30 nodes, 7 classes, 10 training nodes in random order)",
                  (random_logits, random_labels, random_idx)),
             Case("random logits on Cora (2708 nodes, the 140 training nodes)",
                  (cora_logits, cora.y, cora.train_idx)),
             Case("confident logits (20 nodes, 5 classes, spread in the hundreds: some labels have "
                  "probability below 1e-45)", _confident_logits())]
    for case in cases:
        case.args[0].requires_grad_()
    return cases


def _confident_logits() -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Logits of a very confident model: exp overflows and softmax probabilities underflow in float32.

    F.cross_entropy (log_softmax inside) stays finite; the log of a softmax gives ln 0 = -inf for
    a confidently wrong node, and exp without a shift gives inf / inf.
    """
    logits = 60 * torch.randn(20, 5, generator=seeded_generator(78))  # (N, C)
    labels = torch.randint(0, 5, (20,), generator=seeded_generator(79))  # (N,)
    return logits, labels, torch.randperm(20, generator=seeded_generator(80))[:12]


def _loss_over_all_nodes(logits, labels, train_idx):
    return F.cross_entropy(logits, labels)


def _double_softmax(logits, labels, train_idx):
    return F.cross_entropy(logits[train_idx].softmax(dim=1), labels[train_idx])


def _softmax_over_nodes(logits, labels, train_idx):
    return F.nll_loss(logits[train_idx].log_softmax(dim=0), labels[train_idx])


def _nll_on_raw_logits(logits, labels, train_idx):
    return F.nll_loss(logits[train_idx], labels[train_idx])


def _summed_loss(logits, labels, train_idx):
    return F.cross_entropy(logits[train_idx], labels[train_idx], reduction="sum")


def _log_of_softmax(logits, labels, train_idx):
    probs = F.softmax(logits[train_idx], dim=1)  # (n, C)
    return -probs[torch.arange(len(train_idx)), labels[train_idx]].log().mean()


def _softmax_by_hand_without_shift(logits, labels, train_idx):
    exp = logits[train_idx].exp()  # (n, C): inf above about 88
    probs = exp / exp.sum(dim=1, keepdim=True)
    return -probs[torch.arange(len(train_idx)), labels[train_idx]].log().mean()


def _detached(logits, labels, train_idx):
    return torch.tensor(F.cross_entropy(logits[train_idx], labels[train_idx]).item())


register(Check(
    id="7.1",
    title="the loss on the training nodes",
    reference=node_loss,
    cases=_loss_cases,
    needs_gradients=True,
    hint="Select the training rows first, logits[train_idx] (n, C) and labels[train_idx] (n,), then "
         "F.cross_entropy(logits, labels): it applies log_softmax over the classes itself and "
         "averages over the rows.",
    mistakes={
        "Your loss runs over ALL nodes: in the transductive setting every node is in the forward "
        "pass, but only the training labels may be used. Select logits[train_idx] and "
        "labels[train_idx].": _loss_over_all_nodes,
        "You applied softmax before F.cross_entropy: cross_entropy takes raw logits and applies "
        "log_softmax itself, so a second softmax squashes the loss towards ln C and the gradients "
        "towards 0.": _double_softmax,
        "Your softmax runs over the nodes (dim=0): the probabilities of one node over the C "
        "classes must sum to 1, so normalise over dim=1 (F.cross_entropy does that for you).":
            _softmax_over_nodes,
        "F.nll_loss expects log-probabilities, not raw logits: use F.cross_entropy (log_softmax "
        "plus nll_loss in one call).": _nll_on_raw_logits,
        "Your loss is the sum over the training nodes: use the mean (F.cross_entropy's default "
        "reduction), so the learning rate does not depend on how many labels there are.":
            _summed_loss,
        "You took the log of softmax probabilities: for a confidently wrong node the probability of "
        "its label underflows to 0 in float32 and ln 0 = -inf, so the loss is inf. F.cross_entropy "
        "(or F.log_softmax then F.nll_loss) computes the log-probabilities directly, without that "
        "underflow.": _log_of_softmax,
        "You computed the softmax by hand without subtracting each row's max: exp of a logit above "
        "about 88 overflows to inf in float32, and inf / inf = nan. F.cross_entropy (log_softmax "
        "inside) shifts each row by its max for you.": _softmax_by_hand_without_shift,
        "Your loss is cut off from autograd: torch.tensor(loss.item()), "
        ".detach() or a NumPy round trip gives a tensor that backward() cannot differentiate, so "
        "training would get no gradients. Return the tensor F.cross_entropy gives.": _detached,
    },
))


# --- 7.2 accuracy ------------------------------------------------------------------------------


# Toy: 4 nodes and 4 classes (square on purpose, so that an argmax over the wrong axis still runs
# and can be recognised); the predictions are 0, 1, 3, 3 against labels 0, 1, 2, 3: 3 of 4 right.
ACC_TOY_LOGITS = torch.tensor([[3.0, 1.0, 0.0, 0.5],
                               [0.0, 2.0, 1.2, 1.5],
                               [0.5, 0.0, 1.0, 2.0],
                               [-1.0, 0.0, 0.8, 1.5]])  # (N, C), no ties along either axis
ACC_TOY_LABELS = torch.tensor([0, 1, 2, 3])  # (N,)


def _accuracy_cases() -> list[Case]:
    cora = load_cora()
    random_logits = torch.randn(25, 7, generator=seeded_generator(74))  # (n, C)
    random_labels = torch.randint(0, 7, (25,), generator=seeded_generator(75))  # (n,)
    cora_logits = torch.randn(cora.num_nodes, cora.num_classes, generator=seeded_generator(76))  # (N, C)
    cora_logits[torch.arange(cora.num_nodes), cora.y] += 1.0  # better than chance, far from perfect
    return [Case("toy: 4 nodes, 4 classes, 3 of 4 predicted right", (ACC_TOY_LOGITS, ACC_TOY_LABELS)),
            Case("random logits (25 nodes, 7 classes)", (random_logits, random_labels)),
            Case("Cora's 1000 test nodes, logits nudged towards the labels",
                 (cora_logits[cora.test_idx], cora.y[cora.test_idx])),
            Case("ties: whole-number logits (30 nodes, 4 classes), the first 5 rows all zeros as from an "
                 "untrained output layer; argmax takes the first of the tied classes", _tied_logits())]


def _tied_logits() -> tuple[torch.Tensor, torch.Tensor]:
    """Logits (30, 4) with ties for the largest entry in many rows, and labels (30,)."""
    logits = torch.randint(0, 3, (30, 4), generator=seeded_generator(81)).float()  # (n, C)
    logits[:5] = 0.0  # all four classes tie
    labels = torch.randint(0, 4, (30,), generator=seeded_generator(82))  # (n,)
    return logits, labels


def _argmax_over_nodes(logits, labels):
    return (logits.argmax(dim=0) == labels).float().mean()


def _count_not_share(logits, labels):
    return (logits.argmax(dim=1) == labels).sum()


def _percent(logits, labels):
    return (logits.argmax(dim=1) == labels).float().mean() * 100


def _one_hot_compared(logits, labels):
    classes = logits.shape[1]
    return (F.one_hot(logits.argmax(dim=1), classes) == F.one_hot(labels, classes)).float().mean()


def _max_values(logits, labels):
    return (logits.max(dim=1).values == labels).float().mean()


def _tie_counts_as_right(logits, labels):
    label_logit = logits.gather(1, labels.unsqueeze(1)).squeeze(1)  # (n,)
    return (label_logit == logits.max(dim=1).values).float().mean()


register(Check(
    id="7.2",
    title="accuracy",
    reference=accuracy,
    cases=_accuracy_cases,
    normalise=as_float64,
    hint="The prediction of a node is the class with the largest logit, logits.argmax(dim=1) (n,); "
         "compare it with labels and average the booleans as floats: a 0-dim tensor between 0 and 1. "
         "Where several classes tie for the largest logit, the prediction is the FIRST of them, as "
         "argmax returns it (topk and sort may return another of the tied classes).",
    mistakes={
        "Your argmax runs over the nodes (dim=0): a node's prediction is the largest of ITS C logits, "
        "logits.argmax(dim=1).": _argmax_over_nodes,
        "That is the number of correct nodes: accuracy is the share, so average, "
        "(pred == labels).float().mean().": _count_not_share,
        "That is a percentage: return the share between 0 and 1 (multiply by 100 only when "
        "printing).": _percent,
        "You compared one-hot vectors entry by entry: a wrong prediction still agrees on C - 2 of "
        "the C zeros, which inflates the score. Compare the class indices, logits.argmax(dim=1) == "
        "labels.": _one_hot_compared,
        "logits.max(dim=1) returns (values, indices): the prediction is the INDEX of the largest "
        "logit, logits.argmax(dim=1), not its value.": _max_values,
        "You count a node as right when its label's logit EQUALS the largest one: where several classes "
        "tie for the largest logit that counts every one of them as predicted. The prediction is one "
        "class, logits.argmax(dim=1) (the first of the tied classes).": _tie_counts_as_right,
    },
))


# --- 7.3 early stopping ------------------------------------------------------------------------

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
    id="7.3",
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
