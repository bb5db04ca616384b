# ---
# jupyter:
#   jupytext:
#     cell_metadata_filter: tags,-all
#     notebook_metadata_filter: kernelspec,-jupytext.text_representation.jupytext_version
#     text_representation:
#       extension: .py
#       format_name: percent
#       format_version: '1.3'
#   kernelspec:
#     display_name: Python 3 (ipykernel)
#     language: python
#     name: python3
# ---

# %% [markdown]
# # Chapter 07 · Training on Cora
#
# Chapters 03 to 06 built the GAT layer three times. This chapter trains the whole network on
# Cora with the paper's recipe and checks its accuracy against the paper's. The recipe
# (Veličković et al., 2018, section 3.3):
#
# > We apply L2 regularization with λ = 0.0005 during training. Furthermore, dropout with p = 0.6
# > is applied to both layers' inputs, as well as to the normalized attention coefficients.
#
# | setting | value |
# |---|---|
# | layers | 2: 8 heads × 8 features (concatenated, ELU), then 1 head × 7 classes |
# | dropout | 0.6 on both layers' inputs and on the attention coefficients |
# | optimiser | Adam, learning rate 0.005, weight decay (L2) 5·10⁻⁴ |
# | stopping | patience 100 on the validation accuracy *and* loss |
#
# You will write the loss on the training nodes, the accuracy and the early-stopping rule of the
# official code, then a training loop around them. With it we look at what early stopping keeps,
# why the training accuracy looks low while training, and what the learning curves say. Then
# `gatkit.train` does the same in one call, over several seeds, with checkpoints and TensorBoard.
# Last, two baselines trained with the same recipe show how much the graph adds (an MLP that
# never sees an edge) and how much the *attention* adds (the same GAT with every neighbour
# weighted equally).

# %%
import copy
import math
import tempfile
import time
from pathlib import Path
from types import SimpleNamespace

import matplotlib.pyplot as plt
import torch
import torch.nn.functional as F
from torch import nn

from gatkit import load_planetoid
from course.checks import exercise
from gatkit.graph import edge_homophily
from gatkit.layers import GAT
from gatkit.train import (PAPER_RESULTS, EarlyStopping, Subgraph, build_model, model_from_checkpoint, paper_config,
                          train, train_step)

torch.manual_seed(0)
chapter_started = time.perf_counter()

cora = load_planetoid("cora", progress=False)
x = cora.x_sparse  # (N, F): cora.x stored as sparse CSR, the same values without the zeros
edge_index = cora.edge_index_with_self_loops  # (2, E), row 0 source j, row 1 target i
y = cora.y  # (N,)
N, F_in, C = cora.num_nodes, cora.num_features, cora.num_classes
print(f"N = {N}, F = {F_in}, C = {C}, E = {edge_index.shape[1]} (with self-loops)")
print(f"labelled nodes: train {len(cora.train_idx)}, val {len(cora.val_idx)}, test {len(cora.test_idx)}")
print(f"x: {x.layout}, {x.values().numel():,d} stored values of {N * F_in:,d} ({x.values().numel() / (N * F_in):.1%})")
assert N == 2708 and (len(cora.train_idx), len(cora.val_idx), len(cora.test_idx)) == (140, 500, 1000)
assert x.values().numel() / (N * F_in) < 0.02  # under 2% of the entries are stored

# %% [markdown]
# The GAT layers accept the features as a sparse CSR tensor: their input dropout and the
# projection `x W^T` then touch only the stored values, under 2% of the entries of the dense
# `cora.x` (printed above). The function is the same (checked below in eval mode); only the
# random dropout masks are drawn differently.
#
# ## 1. Every node in, 140 labels out
#
# Cora is a *transductive* task (chapter 01): the whole graph, all 2708 nodes with their
# features and edges, is known while training. Every forward pass runs on all nodes, so the
# validation and test nodes send messages to the training nodes like any others. What is held
# back is their **labels**: the loss may only look at the 140 training nodes. The model outputs
# one row of C logits per node:

# %%
model = build_model(paper_config(), F_in, C)  # GAT([1433, 8, 7], heads [8, 1]), untrained
with torch.no_grad():
    torch.testing.assert_close(model.eval()(x, edge_index), model(cora.x, edge_index))  # sparse = dense
logits = model.train()(x, edge_index)  # (N, C), train mode: dropout active
print("logits", tuple(logits.shape), "| training rows", tuple(logits[cora.train_idx].shape))
assert logits.shape == (N, C)

# %% [markdown]
# ## Exercise 7.1: the loss on the training nodes
#
# Write `training_loss(logits, labels, train_idx)`: `logits` (N, C) for all nodes, `labels` (N,)
# class ids, `train_idx` the rows we may learn from. Return the mean cross-entropy over those
# rows only, a 0-dim tensor that `backward()` can differentiate (about 1 line).
# `F.cross_entropy` takes raw logits: it applies `log_softmax` over the classes itself.


# %%
def training_loss(logits: torch.Tensor, labels: torch.Tensor, train_idx: torch.Tensor) -> torch.Tensor:
    """Mean cross-entropy over the rows ``train_idx`` of ``logits`` (N, C)."""
    # YOUR CODE HERE (1 line)
    raise NotImplementedError('Exercise 7.1: the loss on the training nodes')


training_loss = exercise("7.1", training_loss)

# %% [markdown]
# A check by hand: two training nodes that each give their label probability 1/2 have loss
# `−ln(1/2) = ln 2`. An untrained model guesses roughly uniformly over the C = 7 classes, so its
# loss starts near `ln 7`:

# %%
toy_logits = torch.log(torch.tensor([[0.50, 0.25, 0.25], [0.9, 0.05, 0.05], [0.25, 0.25, 0.50]]))  # (3, C=3)
toy_loss = training_loss(toy_logits, torch.tensor([0, 2, 2]), torch.tensor([0, 2]))  # node 1 is not trained on
print(f"toy loss {toy_loss.item():.4f}, ln 2 = {math.log(2):.4f}")
assert math.isclose(toy_loss.item(), math.log(2), rel_tol=1e-6)

untrained_loss = training_loss(logits, y, cora.train_idx)
print(f"untrained GAT: loss on the training nodes {untrained_loss.item():.3f}, ln 7 = {math.log(C):.3f}")
assert abs(untrained_loss.item() - math.log(C)) < 0.1

# %% [markdown]
# ## Exercise 7.2: accuracy
#
# Write `accuracy(logits, labels)`: `logits` (n, C) and `labels` (n,) for the nodes of one split.
# A node's prediction is the class with the largest logit; return the share of nodes predicted
# right as a 0-dim float tensor between 0 and 1 (about 1 line; call `.item()` when you print it).


# %%
def accuracy(logits: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
    """Share of rows of ``logits`` (n, C) whose largest entry is at the label."""
    # YOUR CODE HERE (1 line)
    raise NotImplementedError('Exercise 7.2: accuracy')


accuracy = exercise("7.2", accuracy)

# %%
chance = torch.bincount(y[cora.val_idx], minlength=C).max().item() / len(cora.val_idx)
untrained_acc = accuracy(logits[cora.val_idx], y[cora.val_idx]).item()
print(f"untrained GAT on the validation nodes: {untrained_acc:.1%}; "
      f"always predicting the largest class would give {chance:.1%}")
assert 0.0 <= untrained_acc <= 1.0

# %% [markdown]
# ## 2. One training step, one evaluation
#
# A **training step** puts the model in train mode (dropout on), clears the old gradients, runs
# the forward pass on the whole graph, takes the loss on the training nodes, backpropagates and
# lets the optimiser update the weights. Those five lines are the library's
# `gatkit.train.train_step(model, optimizer, features, edge_index, labels, index)`:
#
# ```python
# model.train()
# optimizer.zero_grad(set_to_none=True)
# logits = model(features, edge_index)[index]        # (n, C), with dropout: the rows `index` only
# F.cross_entropy(logits, labels[index]).backward()  # your training_loss: gradients from those labels
# optimizer.step()
# ```
#
# It returns `logits.detach()`, this step's logits of the rows `index` (train mode, before the
# update), so the caller can read a train-mode accuracy off them. We use it from here on, as
# `gatkit.train.train` does. An **evaluation** puts the model in eval mode (dropout off: every
# feature and every neighbour counts) and runs without recording gradients. Both see all nodes;
# they differ in what they read off the logits.


# %%
@torch.no_grad()
def evaluate(model, features, edge_index, data, splits=("train", "val")):
    """Loss and accuracy per split in eval mode (no dropout, no gradients)."""
    model.eval()
    logits = model(features, edge_index)  # (N, C)
    metrics = {}
    for split in splits:
        index = getattr(data, f"{split}_idx")
        metrics[f"{split}_loss"] = training_loss(logits, data.y, index).item()  # the same masked loss, this split's rows
        metrics[f"{split}_acc"] = accuracy(logits[index], data.y[index]).item()
    return metrics


# %% [markdown]
# Twenty steps with the paper's optimiser (its learning rate and weight decay are fields of
# `paper_config()`, the recipe's one home) already lower the training loss:

# %%
recipe = paper_config()
torch.manual_seed(0)
model = build_model(recipe, F_in, C)
optimizer = torch.optim.Adam(model.parameters(), lr=recipe.lr, weight_decay=recipe.weight_decay)
losses = []
for step in range(20):
    train_logits = train_step(model, optimizer, x, edge_index, y, cora.train_idx)  # (140, C), train mode
    losses.append(evaluate(model, x, edge_index, cora)["train_loss"])
print("eval-mode training loss every 5 steps:", [round(loss, 3) for loss in losses[::5]], "...", round(losses[-1], 3))
print(f"the last step's logits {tuple(train_logits.shape)}: train-mode accuracy "
      f"{accuracy(train_logits, y[cora.train_idx]).item():.1%} on the training nodes")
assert losses[-1] < losses[0] < math.log(C) + 0.5
assert train_logits.shape == (len(cora.train_idx), C) and not train_logits.requires_grad

# %% [markdown]
# ## 3. When to stop: the official early-stopping rule
#
# Training longer keeps lowering the training loss, but past some point the model fits the 140
# training labels at the expense of everything else. The validation nodes tell us when: we keep
# training while validation improves and keep the weights of the best epoch. The official GAT code
# (Veličković's TensorFlow repository) does it with two running bests and one counter:
#
# - an epoch whose validation accuracy is **at least** the best so far, **or** whose validation
#   loss is **at most** the lowest so far, resets the counter to 0; every other epoch adds 1;
# - the weights are saved only in an epoch that is at least as good as the bests on **both**;
# - training stops when the counter reaches the patience, 100: a hundred epochs in a row without
#   any improvement.
#
# Both comparisons include equality. With 500 validation nodes the accuracy moves in steps of
# 0.2%, so an epoch can *tie* the best accuracy, and such an epoch keeps training alive.
#
# ## Exercise 7.3: early stopping
#
# Write `early_stopping(val_accs, val_losses, patience)`: the validation accuracy and loss of
# every epoch, two (T,) tensors. Replay the rule above epoch by epoch (starting from a best
# accuracy of −∞ and a best loss of +∞) and return `torch.tensor([best_epoch, last_epoch])`:
# `best_epoch` is the last epoch whose weights were saved, `last_epoch` the epoch in which the
# counter reaches `patience` (training stops there), or `T − 1` if it never does (about 13 lines).


# %%
def early_stopping(val_accs: torch.Tensor, val_losses: torch.Tensor, patience: int) -> torch.Tensor:
    """``torch.tensor([best_epoch, last_epoch])`` under the official GAT early-stopping rule."""
    # YOUR CODE HERE (about 13 lines)
    raise NotImplementedError('Exercise 7.3: early stopping')


early_stopping = exercise("7.3", early_stopping)

# %% [markdown]
# On a short curve with patience 3: epoch 2 ties the best accuracy, epoch 3 improves only the
# loss, epoch 4 ties the accuracy *and* has the best loss. Then nothing improves for three epochs.

# %%
short_accs = torch.tensor([0.50, 0.60, 0.60, 0.55, 0.60, 0.58, 0.58, 0.58, 0.58])  # (T,)
short_losses = torch.tensor([1.00, 0.90, 0.95, 0.85, 0.80, 0.90, 0.90, 0.90, 0.90])  # (T,)
best_epoch, last_epoch = early_stopping(short_accs, short_losses, 3).tolist()
print(f"weights kept from epoch {best_epoch}, training stops after epoch {last_epoch}")
assert (best_epoch, last_epoch) == (4, 7)

# %% [markdown]
# `gatkit.train.EarlyStopping` is the same rule as a class that takes one epoch at a time, which
# is the form a training loop needs: `stopper.step(epoch, val_acc, val_loss)` returns `True` when
# it is time to stop, and `stopper.best_epoch` says which weights to keep. Its `keep` argument
# chooses that epoch: `keep="both"` is the official choice you just wrote; we meet the other one,
# gatkit's default, in section 5.

# %%
stopper = EarlyStopping(patience=3, keep="both")
for epoch, (acc, loss) in enumerate(zip(short_accs.tolist(), short_losses.tolist())):
    if stopper.step(epoch, acc, loss):
        break
print(f"EarlyStopping(keep='both'): best epoch {stopper.best_epoch}, stopped after epoch {epoch}")
assert (stopper.best_epoch, epoch) == (best_epoch, last_epoch)

# %% [markdown]
# ## 4. The training loop
#
# `fit` trains any model that maps `(features, edge_index)` to logits with the paper's optimiser
# and the early-stopping rule. Every epoch it takes one step and evaluates. It runs two
# `EarlyStopping` objects side by side: they reset and stop in the same epochs (the counter does
# not depend on `keep`), but each copies the weights of its own kind of best epoch, the official
# one (`"both"`) and the one with the lowest validation loss (`"val_loss"`). When training stops,
# `fit` measures the **last** weights, then loads and measures each snapshot, and leaves the
# model with the lowest-loss weights, as `gatkit.train` does. It records the same history as
# `gatkit.train`: the training loss and accuracy in eval mode, the training accuracy in train
# mode (with dropout), and the validation loss and accuracy.


# %%
def fit(model, features, edge_index, data, *, patience=recipe.patience, max_epochs=recipe.epochs, lr=recipe.lr,
        weight_decay=recipe.weight_decay):
    """Train with Adam and early stopping; test the last weights and both snapshots; keep the lowest-loss one."""
    started = time.perf_counter()
    trainable = [p for p in model.parameters() if p.requires_grad]
    optimizer = torch.optim.Adam(trainable, lr=lr, weight_decay=weight_decay)
    stoppers = {keep: EarlyStopping(patience, keep=keep) for keep in ("both", "val_loss")}
    snapshots = {}
    history = {key: [] for key in ("train_loss", "train_acc", "train_acc_dropout", "val_loss", "val_acc")}
    for epoch in range(max_epochs):
        train_logits = train_step(model, optimizer, features, edge_index, data.y, data.train_idx)  # (140, C)
        metrics = evaluate(model, features, edge_index, data)
        metrics["train_acc_dropout"] = accuracy(train_logits, data.y[data.train_idx]).item()  # train mode
        for key in history:
            history[key].append(metrics[key])
        for keep, stopper in stoppers.items():
            stop = stopper.step(epoch, metrics["val_acc"], metrics["val_loss"])  # the same for both
            if stopper.best_epoch == epoch:
                snapshots[keep] = copy.deepcopy(model.state_dict())
        if stop:
            break
    tested = {"last": evaluate(model, features, edge_index, data, ("val", "test"))}
    for keep in ("both", "val_loss"):  # "val_loss" last: the model keeps those weights
        model.load_state_dict(snapshots[keep])
        tested[keep] = evaluate(model, features, edge_index, data, ("val", "test"))
    return SimpleNamespace(history=history, last_epoch=epoch, best_epoch=stoppers["val_loss"].best_epoch,
                           best_epoch_both=stoppers["both"].best_epoch, tested=tested,
                           test_acc=tested["val_loss"]["test_acc"], seconds=time.perf_counter() - started)


# %% [markdown]
# The paper's GAT, seed 0 (the seed is set right before the model is built, as `gatkit.train`
# does, so the two can be compared below):

# %%
torch.manual_seed(0)
gat = build_model(paper_config(seed=0), F_in, C)
run = fit(gat, x, edge_index, cora)
print(f"GAT seed 0: {run.last_epoch + 1} epochs in {run.seconds:.1f} s; lowest validation loss in epoch "
      f"{run.best_epoch}, test accuracy of its weights {run.test_acc:.1%}")
assert run.test_acc > 0.75

# %% [markdown]
# Your `early_stopping`, replayed on the recorded validation curve, must find the same two epochs
# as the official-rule `EarlyStopping` did while training. The lowest-loss epoch is simply the
# last epoch at the minimum of the validation loss:

# %%
val_accs, val_losses = torch.tensor(run.history["val_acc"]), torch.tensor(run.history["val_loss"])  # (T,)
replayed = early_stopping(val_accs, val_losses, 100).tolist()
print(f"replayed on the history: best epoch {replayed[0]}, last epoch {replayed[1]}")
assert replayed == [run.best_epoch_both, run.last_epoch]
assert run.best_epoch == int(torch.nonzero(val_losses == val_losses.min()).max())
assert run.last_epoch - max(run.best_epoch, run.best_epoch_both) >= 100  # stopped 100 epochs after a reset

# %% [markdown]
# ## 5. Which weights to test
#
# When training stops, the last weights are 100 epochs past the last improvement. Three
# candidates, each measured once on the test nodes:

# %%
candidates = {"last": (run.last_epoch, "the last epoch"),
              "both": (run.best_epoch_both, "best on val accuracy AND loss (official)"),
              "val_loss": (run.best_epoch, "lowest val loss (gatkit's default)")}
print(f"{'weights':42s} {'epoch':>5s} {'val acc':>8s} {'val loss':>9s} {'test acc':>9s}")
for keep, (epoch, name) in candidates.items():
    metrics = run.tested[keep]
    print(f"{name:42s} {epoch:5d} {metrics['val_acc']:8.1%} {metrics['val_loss']:9.4f} {metrics['test_acc']:9.1%}")
assert run.tested["val_loss"]["val_loss"] <= min(run.tested["both"]["val_loss"], run.tested["last"]["val_loss"])
print(f"the official snapshot is {run.best_epoch - run.best_epoch_both} epochs older than the lowest validation loss")
assert run.best_epoch - run.best_epoch_both >= 200  # the loss kept falling for hundreds of epochs after the snapshot

# %% [markdown]
# - **The last weights** were not chosen at all: training simply ran out of patience with them.
#   The original PyTorch GAT project tested exactly these. Its early stopping had a second bug:
#   the best validation loss started at 0 instead of +∞, so `val_loss < best_loss` never held and
#   only the accuracy (compared with a strict `>`) ever reset its counter.
# - **The official snapshot** is saved only in an epoch that ties or beats the best accuracy
#   *and* the best loss. Validation accuracy on 500 nodes moves in steps of 0.2% and can peak
#   on a lucky step; after that, an epoch that lowers the loss is saved only if it also ties
#   that accuracy, so the snapshot can stay frozen while the loss keeps falling: in this run
#   for hundreds of epochs (printed above).
# - **The lowest validation loss** follows the finer of the two signals: the loss changes
#   continuously, the accuracy in steps of 0.2%. `gatkit.train` keeps it by default
#   (`TrainConfig.keep = "val_loss"`); `keep="both"`, or `gatkit train --keep both`, gives the
#   official choice. `benchmarks/bench_accuracy.py`, run with and without `--keep both`,
#   compares the two over ten seeds.
#
# Both snapshots are chosen on validation data alone, so either is an honest choice; the last
# weights are no choice at all. Which one tests higher on a single run is partly luck. Here is
# where the original project's accuracy-only rule would have stopped the same curve:

# %%
def stop_epoch_accuracy_only(val_accs, patience):
    """Where training stops if only a strictly better validation accuracy resets the counter."""
    best_acc, counter = -math.inf, 0
    for epoch, acc in enumerate(val_accs.tolist()):
        best_acc, counter = (acc, 0) if acc > best_acc else (best_acc, counter + 1)
        if counter == patience:
            return epoch
    return len(val_accs) - 1


accuracy_only = stop_epoch_accuracy_only(val_accs, 100)
print(f"accuracy-only rule: stops after epoch {accuracy_only}; the official rule ran to epoch {run.last_epoch}")
assert accuracy_only <= run.last_epoch  # each strict accuracy gain also resets the official counter
assert run.best_epoch - accuracy_only >= 200  # the lowest validation loss came hundreds of epochs later

# %% [markdown]
# The accuracy-only rule gives up as soon as the accuracy plateaus, even while the validation
# loss is still falling: here it stops hundreds of epochs before the lowest validation loss
# (the last row of the table above). The official rule lets either signal keep training alive.
#
# ## 6. Learning curves
#
# The history has everything needed to see the run. The dashed line marks the epoch with the
# lowest validation loss, the dotted one the official snapshot.

# %%
epochs = range(len(run.history["val_acc"]))
fig, (ax_loss, ax_acc) = plt.subplots(1, 2, figsize=(11, 3.8))
ax_loss.plot(epochs, run.history["train_loss"], label="train (eval mode)")
ax_loss.plot(epochs, run.history["val_loss"], label="validation")
ax_loss.set(xlabel="epoch", ylabel="cross-entropy", title="loss")
ax_acc.plot(epochs, run.history["train_acc_dropout"], label="train (train mode, dropout 0.6)", alpha=0.6)
ax_acc.plot(epochs, run.history["train_acc"], label="train (eval mode)")
ax_acc.plot(epochs, run.history["val_acc"], label="validation")
ax_acc.set(xlabel="epoch", ylabel="accuracy", title="accuracy", ylim=(0, 1.02))
for ax in (ax_loss, ax_acc):
    ax.axvline(run.best_epoch, color="grey", linestyle="--", label=f"lowest val loss, epoch {run.best_epoch}")
    ax.axvline(run.best_epoch_both, color="grey", linestyle=":", label=f"official snapshot, epoch {run.best_epoch_both}")
    ax.legend(fontsize=8)
fig.tight_layout()
plt.show()

# %% [markdown]
# ### Why the training accuracy looks low while training
#
# The accuracy that `fit` computes from `train_step`'s logits comes from a forward pass in
# **train mode**: 60% of every node's input features and of its attention coefficients are
# dropped at random, and the second layer sees a dropped-out hidden layer too. The same weights
# in **eval mode** see everything. Over the epochs after the best one:

# %%
after = slice(run.best_epoch, None)
train_mode = torch.tensor(run.history["train_acc_dropout"][after]).mean().item()
eval_mode = torch.tensor(run.history["train_acc"][after]).mean().item()
print(f"training accuracy after epoch {run.best_epoch}: {train_mode:.1%} in train mode, {eval_mode:.1%} in eval mode")
assert eval_mode > train_mode + 0.05 and train_mode < 0.9

# %% [markdown]
# A model that scores well below 100% on its own training nodes in train mode is not
# underfitting: with dropout 0.6 it is solving a much harder, noisier problem on every step. Judge
# the fit in eval mode, as the evaluation does. (The original PyTorch GAT project logged the
# train-mode number and reported it as the training accuracy.)
#
# ## 7. `gatkit.train`, and several seeds
#
# `gatkit.train.train` is the same loop with the paper's recipe built in, plus checkpoints,
# TensorBoard and resuming. It seeds, builds the model, trains and restores the kept weights in
# one call (those of the lowest validation loss, unless the config says `keep="both"`);
# `out_dir=None` writes no files.
#
# It also skips work that cannot change the result. The loss reads the logits of the 140
# training nodes; a two-layer GAT computes those from the training nodes' incoming edges (layer
# 2) and from the incoming edges of their neighbours (layer 1), nothing else. `gatkit.train.Subgraph`
# cuts out exactly that part of Cora, with one edge list per layer, and the training step runs
# on it; the evaluation runs on the part that the training and validation metrics read:

# %%
train_part = Subgraph.around(cora, x, edge_index, ("train",), layers=2)
eval_part = Subgraph.around(cora, x, edge_index, ("train", "val"), layers=2)
for name, part in (("loss", train_part), ("metrics", eval_part)):
    print(f"the {name} read {part.x.shape[0]:4d} of {N} nodes and "
          f"{' and '.join(str(e.shape[1]) for e in part.edge_index)} of {edge_index.shape[1]} edges (layer 1 and 2)")
assert train_part.x.shape[0] < 0.7 * N and train_part.edge_index[1].shape[1] < 0.1 * edge_index.shape[1]

# %% [markdown]
# The loss and its gradients are exactly those of the whole graph, so with dropout switched off
# (which makes both runs deterministic) `fit` on the whole graph and `gatkit.train` on the parts
# take the same steps. With dropout on they draw their random masks for tensors of different
# sizes and so follow different paths.

# %%
assert paper_config().keep == "val_loss"  # gatkit's default, as fit restores
no_dropout = paper_config(seed=0, epochs=20, dropout=0.0)
quick = train(no_dropout, dataset=cora, out_dir=None, progress=False)
torch.manual_seed(0)
ours = fit(build_model(no_dropout, F_in, C), x, edge_index, cora, max_epochs=20)
for key in ("train_loss", "val_loss", "val_acc"):
    torch.testing.assert_close(torch.tensor(ours.history[key]), torch.tensor(quick.history[key]), atol=1e-4, rtol=0)
print(f"20 epochs without dropout: val loss {ours.history['val_loss'][-1]:.5f} (fit, whole graph) and "
      f"{quick.history['val_loss'][-1]:.5f} (gatkit.train, parts)")

# %% [markdown]
# One run is one draw: the initial weights and every dropout mask depend on the seed, and so
# does the test accuracy of a single run. The paper reports the mean and standard deviation over
# 100 runs, 83.0 ± 0.7%. We add seed 1 to our seed 0 (two runs keep this chapter quick; the
# standard deviation below is the sample one, over n − 1, and with two runs only a rough hint).
# If our runs spread like the paper's, the mean of n of them lies within two standard errors,
# 2 · 0.7 / √n points, of the paper's mean about 95% of the time: 1.0 point for n = 2. That is
# how near we require it to be:

# %%
seed_runs = [run]
for seed in (1,):
    result = train(paper_config(seed=seed), dataset=cora, out_dir=None, progress=False, test=True)
    seed_runs.append(SimpleNamespace(test_acc=result.metrics["test_acc"], best_epoch=result.best_epoch,
                                     last_epoch=result.epochs_run - 1, seconds=result.seconds))
for seed, seed_run in enumerate(seed_runs):
    print(f"seed {seed}: best epoch {seed_run.best_epoch:4d} of {seed_run.last_epoch + 1:4d}, "
          f"test {seed_run.test_acc:.1%} ({seed_run.seconds:.1f} s)")
gat_accs = torch.tensor([seed_run.test_acc for seed_run in seed_runs])  # (2,)
paper_mean, paper_std = PAPER_RESULTS["cora"]  # gatkit.train keeps the paper's numbers
mean_acc = 100 * gat_accs.mean().item()
allowed = 2 * paper_std / math.sqrt(len(gat_accs))  # two standard errors of a mean of n runs spread like the paper's
print(f"GAT test accuracy over {len(gat_accs)} seeds: {mean_acc:.1f} ± {100 * gat_accs.std():.1f}% "
      f"(paper: {paper_mean} ± {paper_std}% over 100 runs); {abs(mean_acc - paper_mean):.1f} points from the "
      f"paper's mean, {allowed:.1f} allowed")
assert gat_accs.min() > 0.75 and abs(mean_acc - paper_mean) <= allowed
assert gat_accs[0] != gat_accs[1]  # the two seeds give different test accuracies

# %% [markdown]
# For the full table run the command line tool, which trains one model per seed, one after
# another, and prints the mean and spread:
#
# ```bash
# gatkit train --should-test --seeds 10
# gatkit train --help          # every option: dataset, layer type, patience, device, output folder...
# ```
#
# ## 8. Checkpoints and TensorBoard
#
# With an output folder, `train` writes the final model (the restored best weights, with the
# config and metrics) to `models/binaries/<run>.pt`, a resumable checkpoint every 100 epochs to
# `models/checkpoints/<run>.pt`, and with `tensorboard=True` the loss and accuracy of every epoch
# under `runs/<run>`. A file never overwrites an earlier run's. We use a temporary folder, so the
# chapter leaves nothing behind, and a short run:

# %%
with tempfile.TemporaryDirectory() as folder:
    short = train(paper_config(seed=0, epochs=30), dataset=cora, out_dir=folder, progress=False, tensorboard=True)
    written = sorted(str(path.relative_to(folder)) for path in Path(folder).rglob("*") if path.is_file())
    print("\n".join(written))
    loaded, payload = model_from_checkpoint(short.binary_path, cora)  # torch.load(weights_only=True) inside
    print("saved with the file:", sorted(payload))
    with torch.no_grad():
        torch.testing.assert_close(loaded(x, edge_index), short.model.eval()(x, edge_index))
assert any(name.startswith("models/binaries/") for name in written) and any(name.startswith("runs/") for name in written)

# %% [markdown]
# The files hold only tensors and plain Python values, so `model_from_checkpoint` reads them with
# `torch.load(..., weights_only=True)`, which refuses to run code stored in a file. It rebuilds
# the model from the saved config, checks that the file was trained on this dataset, loads the
# weights and returns the model in eval mode. To watch a run live, train with
# `tensorboard=True` (or `gatkit train --enable-tensorboard`) and start
# `tensorboard --logdir runs` in the output folder.
#
# ## 9. Baselines: what do the graph and the attention add?
#
# Two models trained with exactly the recipe above (same optimiser, dropout, early stopping)
# answer two questions.
#
# **Without the graph.** An MLP with 64 hidden units, ELU and dropout 0.6 sees each paper's
# words and nothing else. It is exactly what our GAT computes when every node's only neighbour is
# itself: attention over a single edge is 1, so each layer reduces to `x W^T + b`. We build it that
# way (self-loops only, no attention dropout, which would otherwise drop a node's whole message)
# and confirm it equals a plain `nn.Sequential` MLP with the same weights:

# %%
self_loops_only = torch.arange(N).repeat(2, 1)  # (2, N): j -> j for every node, no other edge


def make_mlp():
    """A 2-layer MLP (64 hidden units, ELU, dropout 0.6) written as a GAT on a graph with no edges."""
    return GAT([F_in, 8, C], [8, 1], dropout=0.6, attention_dropout=0.0)


mlp = make_mlp()
plain = nn.Sequential(nn.Dropout(0.6), nn.Linear(F_in, 64), nn.ELU(), nn.Dropout(0.6), nn.Linear(64, C))
with torch.no_grad():
    for linear, layer in zip((plain[1], plain[4]), mlp.layers):
        linear.weight.copy_(layer.linear.weight)  # (out, in)
        linear.bias.copy_(layer.bias)
    torch.testing.assert_close(mlp.eval()(x, self_loops_only), plain.eval()(cora.x), rtol=1e-4, atol=1e-5)
print("a GAT whose only edges are self-loops computes the same logits as the MLP")

# %% [markdown]
# **Without attention.** Zero `a_src` and `a_dst` and freeze them (`requires_grad_(False)`). Then
# every raw score is `e_ij = LeakyReLU(0 + 0) = 0`, and the neighbourhood softmax gives
# `alpha_ij = exp(0) / Σ_{k ∈ N(i)} exp(0) = 1 / |N(i)|`: each node takes the plain **mean** of its
# neighbours' projected features, itself included. That is GCN's aggregation up to the
# normalisation: GCN weights neighbour `j` of `i` by `1 / sqrt(d_i d_j)` instead of `1 / d_i`. The
# layers, heads, dropout and recipe stay those of GAT; only the learned attention is gone.

# %%
def make_uniform_gat(seed):
    """The paper's GAT with a_src = a_dst = 0, frozen: every neighbour weighted 1 / |N(i)|."""
    torch.manual_seed(seed)
    model = build_model(paper_config(seed=seed), F_in, C)
    for layer in model.layers:
        with torch.no_grad():
            layer.a_src.zero_()
            layer.a_dst.zero_()
        layer.a_src.requires_grad_(False)
        layer.a_dst.requires_grad_(False)
    return model


uniform = make_uniform_gat(0)
with torch.no_grad():
    _, alphas = uniform.eval()(x, edge_index, return_attention=True)  # alphas[l]: (E, H_l)
in_degree = torch.bincount(edge_index[1], minlength=N).float()  # (N,), self-loop included
torch.testing.assert_close(alphas[0], (1 / in_degree[edge_index[1]]).unsqueeze(1).expand(-1, 8))
print("uniform GAT: alpha_ij = 1 / |N(i)| on every edge and head")

# %% [markdown]
# Now the two training runs, one each (seed 0) to keep the chapter quick; the two GAT seeds
# above show that a single run varies:

# %%
torch.manual_seed(0)
mlp_run = fit(make_mlp(), x, self_loops_only, cora)
uniform_run = fit(uniform, x, edge_index, cora)
assert all((layer.a_src == 0).all() and (layer.a_dst == 0).all() for layer in uniform.layers)  # stayed frozen

rows = [("MLP (no graph)", [mlp_run]), ("GAT, uniform attention", [uniform_run]), ("GAT", seed_runs)]
print(f"{'model':24s} {'runs':>4s} {'epochs':>7s} {'test accuracy':>14s} {'time':>7s}")
for name, runs in rows:
    accs = torch.tensor([r.test_acc for r in runs])  # (runs,)
    spread = f" ± {100 * accs.std():.1f}" if len(runs) > 1 else ""
    epochs_run = sum(r.last_epoch + 1 for r in runs)
    test = f"{100 * accs.mean():.1f}{spread}%"
    print(f"{name:24s} {len(runs):4d} {epochs_run:7d} {test:>14s} {sum(r.seconds for r in runs):6.1f}s")
graph_gain, attention_gain = gat_accs.mean() - mlp_run.test_acc, gat_accs.mean() - uniform_run.test_acc
print(f"the graph adds {100 * graph_gain:.1f} points; learned attention adds {100 * attention_gain:+.1f}")
assert graph_gain > 0.15  # the graph adds a lot
assert abs(attention_gain) < 0.04  # learned attention adds little on Cora

# %% [markdown]
# The graph is worth more than fifteen points: a paper's words alone are a weak clue to its
# field, while the papers it cites and is cited by mostly share it. Chapter 02 measured how much:

# %%
homophily = edge_homophily(cora.edge_index, y)
print(f"edge homophily of Cora: {homophily:.1%} of the edges join two papers of the same class")
assert 0.78 < homophily < 0.84

# %% [markdown]
# Learned attention, in contrast, adds little here. With four out of five neighbours in the
# node's own class, a plain average of the neighbourhood is already a good summary, and there
# is little to gain from weighting some neighbours more than others. Attention pays off where
# neighbourhoods are mixed or where different neighbours carry different information, as in the
# inductive PPI task of the paper; chapter 08 looks at how far GAT's learned coefficients on
# Cora actually stray from the uniform 1 / |N(i)|.

# %%
print(f"chapter run time: {time.perf_counter() - chapter_started:.0f} s")

# %% [markdown]
# ## Summary
#
# - Transductive training runs the forward pass on all 2708 nodes and takes the loss on the 140
#   training nodes only; validation picks the epoch, and the test split is read once, at the end.
# - The official early stopping resets its patience counter when the validation accuracy **or**
#   loss improves (ties included) and saves the weights of the epochs that are best on **both**;
#   gatkit keeps the lowest validation loss instead by default. Either way the weights tested are
#   chosen on validation data, never the last ones by default.
# - Training accuracy measured in train mode is depressed by dropout 0.6; measure in eval mode.
# - Over two seeds the paper's recipe lands within 1.0 point (two standard errors of a two-run
#   mean) of its reported 83.0 ± 0.7%; `gatkit train --should-test --seeds 10` gives the fuller
#   picture, with checkpoints and TensorBoard logs.
# - On Cora the graph adds more than fifteen points over an MLP, while learned attention is
#   within a few points of uniform (GCN-like) averaging: the graph is strongly homophilous.
#
# ## Check your understanding
#
# 1. Why may the forward pass use the features of the test nodes, but the loss not use their
#    labels? Would it be cheating to compute the loss over the validation nodes too?
# 2. The loss is averaged over the training nodes. What would change if it were summed?
# 3. In the official rule, what happens if the validation loss keeps falling by a tiny amount
#    every epoch while the accuracy has not moved for 500 epochs? Is that a problem?
# 4. Why can the restored weights have a *lower* validation accuracy than the best one seen?
# 5. With `a_src` and `a_dst` frozen at zero, is the attention dropout still doing anything?
# 6. Give a kind of graph on which you would expect learned attention to beat the uniform mean.

# %% [markdown]
# ## Going further
#
# - This chapter's solutions are in the library as `gatkit.train.node_loss` (7.1), `accuracy`
#   (7.2) and `EarlyStopping(patience, keep="both")` (7.3); `gatkit.train.train` runs the loop
#   of section 4 with them.
# - The official GAT code (PetarV-/GAT on GitHub, `execute_cora.py`) has the early-stopping rule
#   used here; PyTorch Geometric's `examples/gat.py` trains the same model in a few lines.
# - Shchur et al., *Pitfalls of Graph Neural Network Evaluation* (2018): with random splits and
#   the same tuning budget, simple baselines come much closer to GAT than on the fixed split.
# - Kipf and Welling, *Semi-Supervised Classification with Graph Convolutional Networks* (ICLR
#   2017), the GCN whose normalisation the uniform baseline approximates (81.5% on Cora).
# - Brody, Alon and Yahav, *How Attentive are Graph Attention Networks?* (ICLR 2022): GATv2, and
#   why GAT's attention ranks neighbours the same way for every target.
# - `gatkit.viz.plot_learning_curves(result.history, result.best_epoch)` draws the figure of
#   section 6 for any `TrainResult`; `gatkit train --should-visualise` saves it per run.
