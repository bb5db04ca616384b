"""Training: early stopping, restored best weights, checkpoints, resume, TensorBoard."""

import os
import random
from dataclasses import replace
from pathlib import Path
from types import SimpleNamespace

import pytest
import torch

from gatkit.checkpoints import CheckpointError, load_checkpoint, save_checkpoint
from gatkit.data import load_planetoid
from gatkit.data import CHECKSUMS
from gatkit.layers import GAT
from gatkit.train import (DATASETS, PAPER_RESULTS, ConfigError, EarlyStopping, Subgraph, TrainConfig, accuracy, build_model,
                          evaluate, model_from_checkpoint, paper_config, train, train_step)

QUICK = paper_config("cora", epochs=12, patience=100, seed=3)


@pytest.fixture(scope="module")
def cora():
    return load_planetoid("cora", progress=False)


# --- early stopping on synthetic curves ---------------------------------------------------

def run_curve(stopper, accs, losses):
    for epoch, (acc, loss) in enumerate(zip(accs, losses)):
        if stopper.step(epoch, acc, loss):
            return epoch
    return None


def test_stops_patience_epochs_after_the_last_improvement():
    accs = [0.5, 0.6, 0.7, 0.7, 0.69] + [0.6] * 20
    losses = [1.0, 0.9, 0.8, 0.85, 0.9] + [1.0] * 20
    stopper = EarlyStopping(patience=5, keep="both")
    # epoch 3 ties the best accuracy (>=), so it resets the counter; the last improvement is epoch 3
    assert run_curve(stopper, accs, losses) == 3 + 5
    assert stopper.best_epoch == 2, "snapshot only when accuracy and loss are both at their best"


def test_by_default_the_weights_with_the_lowest_validation_loss_are_kept():
    accs = [0.5, 0.8, 0.7, 0.7, 0.6] + [0.6] * 10
    losses = [1.0, 0.9, 0.7, 0.8, 0.9] + [1.0] * 10
    stopper = EarlyStopping(patience=4)
    assert run_curve(stopper, accs, losses) == 2 + 4
    assert stopper.best_epoch == 2, "epoch 2 has the lowest loss although epoch 1 has the best accuracy"
    both = EarlyStopping(patience=4, keep="both")
    run_curve(both, accs, losses)
    assert both.best_epoch == 1


def test_an_improvement_of_the_loss_alone_resets_the_counter():
    accs = [0.8] + [0.7] * 10
    losses = [1.0, 0.99, 0.98, 0.97, 0.96, 0.95, 2, 2, 2, 2, 2]
    stopper = EarlyStopping(patience=3, keep="both")
    assert run_curve(stopper, accs, losses) == 5 + 3
    assert stopper.best_epoch == 0


def test_an_improvement_of_the_accuracy_alone_resets_the_counter():
    accs = [0.5, 0.6, 0.7, 0.8, 0.8, 0.8, 0.8]
    losses = [1.0, 1.1, 1.2, 1.3, 1.4, 1.5, 1.6]
    stopper = EarlyStopping(patience=2)
    for epoch, (acc, loss) in enumerate(zip(accs[:4], losses[:4])):
        assert not stopper.step(epoch, acc, loss)
    assert stopper.counter == 0


def test_patience_and_keep_are_checked():
    with pytest.raises(ValueError, match="patience"):
        EarlyStopping(0)
    with pytest.raises(ValueError, match="keep"):
        EarlyStopping(10, keep="val_acc")


# --- accuracy and the training step ---------------------------------------------------------

def test_accuracy_by_hand_is_a_0_dim_float_tensor():
    logits = torch.tensor([[2.0, 1.0, 0.0], [0.0, 1.0, 2.0], [1.0, 0.0, 0.0], [0.0, 3.0, 1.0]])  # (4, 3)
    share = accuracy(logits, torch.tensor([0, 2, 1, 1]))  # rows 0, 1 and 3 right
    assert share.shape == () and share.dtype == torch.float32 and share.item() == 0.75
    assert accuracy(logits, logits.argmax(dim=1)).item() == 1.0


def toy_problem(dropout: float = 0.6):
    """A GAT on 12 nodes in a ring (self-loops included), 5 features, 3 classes, 4 training rows."""
    generator = torch.Generator().manual_seed(0)
    nodes = torch.arange(12)
    edge_index = torch.cat([torch.stack([nodes, nodes]), torch.stack([nodes, (nodes + 1) % 12]),
                            torch.stack([(nodes + 1) % 12, nodes])], dim=1)  # (2, 36)
    x = torch.randn(12, 5, generator=generator)  # (N, F)
    labels = torch.randint(3, (12,), generator=generator)  # (N,)
    torch.manual_seed(0)
    model = GAT([5, 4, 3], [2, 1], dropout=dropout)
    return model, x, edge_index, labels, torch.tensor([0, 3, 6, 9])


def step_once(model, x, edge_index, labels, index, seed=1):
    optimizer = torch.optim.Adam(model.parameters(), lr=0.01)
    torch.manual_seed(seed)  # the same dropout masks for every call
    return train_step(model, optimizer, x, edge_index, labels, index)


def test_train_step_updates_the_parameters_and_returns_the_training_rows_logits():
    model, x, edge_index, labels, index = toy_problem(dropout=0.0)  # no dropout: a deterministic forward
    before = [p.detach().clone() for p in model.parameters()]
    with torch.no_grad():
        expected = model(x, edge_index)[index]  # (4, C) with the weights before the step
    logits = step_once(model.eval(), x, edge_index, labels, index)
    assert model.training, "the step runs in train mode"
    assert logits.shape == (4, 3) and not logits.requires_grad
    torch.testing.assert_close(logits, expected)
    assert all(not torch.equal(b, p) for b, p in zip(before, model.parameters())), "every parameter moved"


def test_only_the_labels_of_the_rows_in_index_drive_the_step():
    runs = {}
    for name, change in (("same", None), ("outside", 1), ("inside", 3)):  # node 1 is not in index, node 3 is
        model, x, edge_index, labels, index = toy_problem()
        if change is not None:
            labels = labels.clone()
            labels[change] = (labels[change] + 1) % 3
        step_once(model, x, edge_index, labels, index)
        runs[name] = [p.detach() for p in model.parameters()]
    assert all(torch.equal(a, b) for a, b in zip(runs["same"], runs["outside"])), "a label outside index counted"
    assert not all(torch.equal(a, b) for a, b in zip(runs["same"], runs["inside"]))


def test_evaluate_reports_python_floats(cora):
    torch.manual_seed(0)
    model = build_model(QUICK, cora.num_features, cora.num_classes)
    metrics = evaluate(model, cora, cora.x_sparse, cora.edge_index_with_self_loops)
    assert all(type(value) is float for value in metrics.values())


# --- the recipe, its results and the datasets ----------------------------------------------

def test_the_paper_results_and_the_recipe_cover_datasets_the_loader_knows():
    assert DATASETS == tuple(CHECKSUMS) and set(PAPER_RESULTS) <= set(DATASETS)
    assert PAPER_RESULTS == {"cora": (83.0, 0.7), "citeseer": (72.5, 0.7)}  # Table 2 of the paper
    for name in PAPER_RESULTS:
        assert paper_config(name) == TrainConfig(dataset=name)
    with pytest.raises(ValueError, match="no paper recipe for 'pubmed'; gatkit has 'cora' and 'citeseer'"):
        paper_config("pubmed")


# --- training -----------------------------------------------------------------------------

def test_training_restores_the_best_weights_before_testing(cora, tmp_path):
    seen = []
    result = train(replace(QUICK, epochs=30, patience=5), dataset=cora, out_dir=None, progress=False,
                   test=True, on_epoch=lambda epoch, metrics: seen.append(metrics))
    best = result.best_epoch
    assert best is not None and best < result.epochs_run
    again = evaluate(result.model, cora, cora.x, cora.edge_index_with_self_loops)
    # the returned model is the snapshot of the best epoch, not the last epoch's weights
    assert again["val_acc"] == pytest.approx(seen[best]["val_acc"])
    assert again["val_loss"] == pytest.approx(seen[best]["val_loss"], abs=1e-6)
    assert "test_acc" in result.metrics and 0 < result.metrics["test_acc"] <= 1


def test_the_loss_subgraph_gives_the_whole_graphs_loss_and_gradients(cora):
    edge_index = cora.edge_index_with_self_loops
    part = Subgraph.around(cora, cora.x_sparse, edge_index, ("train",), layers=2)
    # the numbers the Subgraph docstring quotes
    assert part.x.shape[0] == 1664 and [e.shape[1] for e in part.edge_index] == [4478, 778]
    assert part.nodes[part.train_idx].tolist() == cora.train_idx.tolist() and len(part.val_idx) == 0
    assert torch.equal(part.y, cora.y[part.nodes])
    for layer_type in (2, 3):
        torch.manual_seed(0)
        model = build_model(replace(QUICK, layer_type=layer_type), cora.num_features, cora.num_classes).eval()
        losses, grads = [], []
        for data, features, edges in ((cora, cora.x_sparse, edge_index), (part, part.x, part.edge_index)):
            model.zero_grad()
            logits = model(features, edges)[data.train_idx]
            loss = torch.nn.functional.cross_entropy(logits, data.y[data.train_idx])
            loss.backward()
            losses.append(loss.item())
            grads.append([p.grad.clone() for p in model.parameters()])
        assert losses[0] == pytest.approx(losses[1], rel=1e-6)
        for whole_grad, part_grad in zip(*grads):
            torch.testing.assert_close(part_grad, whole_grad, rtol=1e-4, atol=1e-7)


def test_the_metrics_subgraph_gives_the_whole_graphs_metrics(cora):
    edge_index = cora.edge_index_with_self_loops
    torch.manual_seed(0)
    model = build_model(QUICK, cora.num_features, cora.num_classes)
    splits = ("train", "val", "test")
    part = Subgraph.around(cora, cora.x_sparse, edge_index, splits, layers=2)
    whole = evaluate(model, cora, cora.x, edge_index, splits)
    for key, value in evaluate(model, part, part.x, part.edge_index, splits).items():
        assert value == pytest.approx(whole[key], rel=1e-5), key


def test_train_accuracy_is_recorded_in_eval_and_in_train_mode(cora):
    result = train(QUICK, dataset=cora, out_dir=None, progress=False)
    assert len(result.history["train_acc"]) == len(result.history["train_acc_dropout"]) == 12
    # dropout 0.6 makes the train-mode accuracy lower than the eval-mode one
    assert sum(result.history["train_acc"]) > sum(result.history["train_acc_dropout"])


def test_a_seed_makes_a_run_repeatable(cora):
    first = train(QUICK, dataset=cora, out_dir=None, progress=False)
    second = train(QUICK, dataset=cora, out_dir=None, progress=False)
    other = train(replace(QUICK, seed=4), dataset=cora, out_dir=None, progress=False)
    assert first.history == second.history
    assert first.history != other.history


def test_final_model_file_is_complete_and_never_overwritten(cora, tmp_path):
    first = train(QUICK, dataset=cora, out_dir=tmp_path, progress=False)
    second = train(QUICK, dataset=cora, out_dir=tmp_path, progress=False)
    assert first.binary_path != second.binary_path
    assert first.binary_path.exists() and second.binary_path.exists()
    payload = load_checkpoint(first.binary_path)
    assert payload["config"] == QUICK.to_dict()
    assert payload["dataset"] == {"name": "cora", "checksum": cora.checksum}
    assert payload["epoch"] == first.best_epoch and payload["gatkit_version"]
    assert payload["metrics"]["val_acc"] == pytest.approx(first.metrics["val_acc"])
    model, _ = model_from_checkpoint(first.binary_path, cora)
    for name, tensor in model.state_dict().items():
        assert torch.equal(tensor, first.model.state_dict()[name])
    assert not (tmp_path / "runs").exists(), "no TensorBoard files unless asked for"


def test_resuming_from_a_checkpoint_continues_the_same_run(cora, tmp_path):
    straight = train(replace(QUICK, epochs=10), dataset=cora, out_dir=tmp_path / "a", progress=False)
    half = train(replace(QUICK, epochs=5), dataset=cora, out_dir=tmp_path / "b", progress=False,
                 checkpoint_every=5)
    checkpoint = tmp_path / "b" / "models" / "checkpoints" / f"{half.run_name}.pt"
    resumed = train(replace(QUICK, epochs=10), dataset=cora, out_dir=tmp_path / "b", progress=False,
                    resume=checkpoint)
    assert resumed.history == straight.history
    for name, tensor in straight.model.state_dict().items():
        torch.testing.assert_close(resumed.model.state_dict()[name], tensor)
    assert resumed.binary_path != half.binary_path, "the resumed run gets its own final file"


def test_resume_refuses_a_checkpoint_of_another_config(cora, tmp_path):
    half = train(replace(QUICK, epochs=5), dataset=cora, out_dir=tmp_path, progress=False, checkpoint_every=5)
    checkpoint = tmp_path / "models" / "checkpoints" / f"{half.run_name}.pt"
    with pytest.raises(CheckpointError, match="hidden_features"):
        train(replace(QUICK, hidden_features=16), dataset=cora, out_dir=tmp_path, progress=False, resume=checkpoint)


def test_an_interrupted_run_saves_a_checkpoint_to_resume_from(cora, tmp_path):
    def interrupt(epoch, metrics):
        if epoch == 3:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        train(QUICK, dataset=cora, out_dir=tmp_path, progress=False, on_epoch=interrupt)
    (checkpoint,) = (tmp_path / "models" / "checkpoints").glob("*.pt")
    payload = load_checkpoint(checkpoint)
    assert payload["epoch"] == 3 and len(payload["history"]["val_acc"]) == 4


# --- checkpoint files -----------------------------------------------------------------------

def test_an_interrupted_write_leaves_the_previous_file_intact(tmp_path, monkeypatch):
    path = tmp_path / "model.pt"
    save_checkpoint({"state_dict": {"w": torch.ones(3)}}, path)
    before = path.read_bytes()

    def dying_save(obj, file):
        file.write(b"PK\x03\x04 half a zip")
        raise KeyboardInterrupt  # the process is stopped in the middle of writing

    monkeypatch.setattr(torch, "save", dying_save)
    with pytest.raises(KeyboardInterrupt):
        save_checkpoint({"state_dict": {"w": torch.zeros(3)}}, path)
    assert path.read_bytes() == before
    assert [p.name for p in tmp_path.iterdir()] == ["model.pt"], "no temporary file left behind"


@pytest.mark.parametrize("damage", ["truncate", "garbage", "empty"])
def test_a_corrupt_file_gives_a_clear_error(tmp_path, damage):
    path = save_checkpoint({"state_dict": {"w": torch.ones(1000)}}, tmp_path / "model.pt")
    data = path.read_bytes()
    garbage = bytes(random.Random(damage).randrange(256) for _ in range(len(data)))
    path.write_bytes({"truncate": data[: len(data) // 2], "garbage": garbage, "empty": b""}[damage])
    with pytest.raises(CheckpointError, match="not a readable model file"):
        load_checkpoint(path)


def test_a_file_that_would_run_code_is_refused(tmp_path):
    class Evil:
        def __reduce__(self):
            return (os.system, ("touch " + str(tmp_path / "pwned"),))

    path = tmp_path / "evil.pt"
    torch.save({"format": "gatkit-checkpoint", "evil": Evil()}, path)
    with pytest.raises(CheckpointError):
        load_checkpoint(path)
    assert not (tmp_path / "pwned").exists()


def test_a_plain_torch_file_is_not_mistaken_for_a_checkpoint(tmp_path):
    torch.save({"w": torch.ones(2)}, tmp_path / "plain.pt")
    with pytest.raises(CheckpointError, match="not a gatkit checkpoint"):
        load_checkpoint(tmp_path / "plain.pt")


def test_a_checkpoint_of_another_architecture_is_explained(cora, tmp_path):
    result = train(replace(QUICK, epochs=2, hidden_features=4), dataset=cora, out_dir=tmp_path, progress=False)
    payload = load_checkpoint(result.binary_path)
    payload["config"]["hidden_features"] = 8  # the file now claims another architecture
    save_checkpoint({k: v for k, v in payload.items() if k not in ("format", "format_version")}, result.binary_path)
    with pytest.raises(CheckpointError, match="another architecture"):
        model_from_checkpoint(result.binary_path, cora)


def test_a_checkpoint_for_other_data_is_refused(cora, tmp_path):
    result = train(replace(QUICK, epochs=2), dataset=cora, out_dir=tmp_path, progress=False)
    payload = load_checkpoint(result.binary_path)
    payload["dataset"]["checksum"] = "0" * 64
    save_checkpoint({k: v for k, v in payload.items() if k not in ("format", "format_version")}, result.binary_path)
    with pytest.raises(CheckpointError, match="trained on"):
        model_from_checkpoint(result.binary_path, cora)


def test_an_unwritable_output_folder_is_reported_before_training(cora, tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("not a folder")
    with pytest.raises(CheckpointError, match="out-dir"):
        train(QUICK, dataset=cora, out_dir=blocker, progress=False)


# --- TensorBoard ----------------------------------------------------------------------------

def test_tensorboard_scalars_can_be_read_back(cora, tmp_path):
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    result = train(replace(QUICK, epochs=6), dataset=cora, out_dir=tmp_path, progress=False, tensorboard=True)
    (run,) = (tmp_path / "runs").iterdir()
    events = EventAccumulator(str(run))
    events.Reload()
    for key, tag in [("train_loss", "train/loss"), ("val_loss", "val/loss"), ("train_acc", "train/acc"),
                     ("val_acc", "val/acc")]:
        scalars = events.Scalars(tag)
        assert [s.step for s in scalars] == list(range(6))
        assert [s.value for s in scalars] == pytest.approx(result.history[key], rel=1e-6)


def test_config_round_trips_through_plain_types():
    config = TrainConfig(heads=(4, 2), seed=9)
    assert TrainConfig.from_dict(config.to_dict()) == config
    with pytest.raises(ConfigError, match="hidden is not a training setting"):
        TrainConfig.from_dict({"hidden": 3})


@pytest.mark.parametrize("change, message", [
    ({"epochs": -1}, "epochs must be at least 0, got -1"),
    ({"dropout": 1.5}, "dropout must be between 0 and 1, got 1.5"),
    ({"heads": ()}, "heads must have at least one value"),
    ({"layer_type": 9}, "layer_type must be one of 1, 2, 3, got 9"),
    ({"residual": 1}, "residual must be a bool, got 1"),
    ({"lr": float("nan")}, "lr must be at least 0, got nan"),
])
def test_a_config_no_run_can_use_is_refused_by_its_own_rules(change, message):
    with pytest.raises(ConfigError, match=message):
        TrainConfig(**change)
    assert TrainConfig(heads=[4, 2]).heads == (4, 2)  # a stored list of heads is a tuple again


# --- GATv2 ------------------------------------------------------------------------------------

def test_a_gatv2_model_trains_one_step_lowers_the_loss():
    _, x, edge_index, labels, index = toy_problem(dropout=0.0)  # the graph and labels; a GATv2 model instead
    torch.manual_seed(0)
    model = GAT([5, 4, 3], [2, 1], attention="gatv2", dropout=0.0)
    optimizer = torch.optim.Adam(model.parameters(), lr=0.01)
    losses = []
    for _ in range(2):
        before = [p.detach().clone() for p in model.parameters()]
        logits = train_step(model, optimizer, x, edge_index, labels, index)  # (4, C) before the step
        losses.append(torch.nn.functional.cross_entropy(logits, labels[index]).item())
        assert all(not torch.equal(b, p) for b, p in zip(before, model.parameters())), "every parameter moved"
    assert losses[1] < losses[0]


def test_attention_is_a_training_setting_that_build_model_passes_on():
    from gatkit.layers import GATLayerEdge, GATv2LayerEdge

    assert TrainConfig().attention == "gat"
    assert all(type(l) is GATLayerEdge for l in build_model(TrainConfig(), 5, 3).layers)
    model = build_model(TrainConfig(attention="gatv2", hidden_features=4, heads=(2, 1)), 5, 3)
    assert model.attention == "gatv2" and all(type(l) is GATv2LayerEdge for l in model.layers)
    assert [l.heads for l in model.layers] == [2, 1]


@pytest.mark.parametrize("change, message", [
    ({"attention": "gatv3"}, "attention must be one of 'gat', 'gatv2', 'uniform', 'none', got 'gatv3'"),
    ({"attention": 2}, "attention must be a str, got 2"),
    ({"attention": "gatv2", "layer_type": 1}, r"attention 'gatv2' needs layer_type 3 \(.*\), got layer_type 1"),
])
def test_a_config_with_unusable_attention_is_refused_in_one_line(change, message):
    with pytest.raises(ConfigError, match=message) as error:
        TrainConfig(**change)
    assert error.value.field == "attention" and "\n" not in str(error.value)


def test_a_stored_config_without_attention_is_gat_but_other_settings_must_be_there():
    stored = TrainConfig(seed=4).to_dict()
    del stored["attention"]  # as gatkit wrote it before GATv2
    assert TrainConfig.from_dict(stored) == TrainConfig(seed=4, attention="gat")
    del stored["lr"]
    with pytest.raises(ConfigError, match="lr is missing"):
        TrainConfig.from_dict(stored)
    assert TrainConfig.from_dict(TrainConfig(attention="gatv2").to_dict()).attention == "gatv2"


def test_value_dropout_is_a_setting_older_files_had_on():
    stored = TrainConfig(seed=4).to_dict()
    del stored["value_dropout"]  # as gatkit wrote it before the setting existed: always on
    assert TrainConfig.from_dict(stored).value_dropout is True
    for on in (True, False):
        model = build_model(TrainConfig(value_dropout=on), 12, 3)
        assert [layer.value_dropout for layer in model.layers] == [0.6 if on else 0.0] * 2
        assert [layer.attention_dropout for layer in model.layers] == [0.6] * 2
    with pytest.raises(ConfigError, match="value_dropout must be a bool"):
        TrainConfig(value_dropout=0.5)


# --- the heterophilous graphs: their recipe, a chosen split, ROC AUC ------------------------------

@pytest.fixture(scope="module")
def minesweeper():
    from gatkit.data import load_dataset

    return load_dataset("minesweeper", progress=False)


def test_the_keep_rule_val_score_keeps_the_best_validation_score():
    scores = [0.5, 0.8, 0.7, 0.8, 0.6] + [0.6] * 10
    losses = [1.0, 0.9, 0.7, 0.8, 0.9] + [1.0] * 10
    stopper = EarlyStopping(patience=4, keep="val_score")
    assert run_curve(stopper, scores, losses) == 3 + 4
    assert stopper.best_epoch == 3, "the last epoch with the best score (epoch 3 ties epoch 1), whatever the loss"


def test_the_heterophily_recipe_builds_deeper_residual_models_and_the_baselines():
    from gatkit.layers import GATLayerEdge, NoGraphLayer, UniformLayerEdge
    from gatkit.train import HETEROPHILY_RECIPE, heterophily_config

    for attention, kind in (("gat", GATLayerEdge), ("uniform", UniformLayerEdge), ("none", NoGraphLayer)):
        config = heterophily_config("minesweeper", attention, norm=True)
        model = build_model(config, 7, 2)
        assert len(model.layers) == len(HETEROPHILY_RECIPE["heads"]) == 4
        assert all(type(layer) is kind and layer.residual is not None for layer in model.layers)
        assert [layer.heads for layer in model.layers] == [8, 8, 8, 1] and len(model.norms) == 3
    assert heterophily_config("texas").keep == "val_score"


def test_a_config_trains_on_its_own_split(minesweeper):
    from gatkit.train import heterophily_config, model_input

    config = heterophily_config("minesweeper", epochs=2, split=2)
    dense = torch.randn(5, 3)  # (N, F) no zeros: the sparse form would only add index arrays
    assert model_input(SimpleNamespace(x=dense, x_sparse=dense.to_sparse_csr())) is dense
    cora = load_planetoid("cora", progress=False)
    assert model_input(cora) is cora.x_sparse, "98.7% zeros: dropout and the projection skip them"
    chosen = train(config, dataset=minesweeper, out_dir=None, progress=False, test=True)
    again = train(config, dataset=minesweeper.with_split(2), out_dir=None, progress=False, test=True)
    other = train(replace(config, split=0), dataset=minesweeper, out_dir=None, progress=False, test=True)
    assert chosen.metrics == again.metrics and chosen.metrics["test_auc"] != other.metrics["test_auc"]


def test_a_binary_task_records_and_stops_on_roc_auc(minesweeper):
    from gatkit.metrics import roc_auc
    from gatkit.train import AUC_METRICS, METRICS, heterophily_config, train_runs

    config = heterophily_config("minesweeper", epochs=6, patience=2, lr=0.05)
    single = train(config, dataset=minesweeper, out_dir=None, progress=False, test=True)
    assert set(single.history) == set(METRICS + AUC_METRICS)
    assert single.best_epoch == max(range(single.epochs_run), key=lambda e: (single.history["val_auc"][e], e))
    logits = single.model.eval()(minesweeper.x, minesweeper.edge_index_with_self_loops).detach()  # (N, 2)
    test = minesweeper.test_idx
    expected = roc_auc(logits[test, 1] - logits[test, 0], minesweeper.y[test])
    assert single.metrics["test_auc"] == pytest.approx(expected) and 0.5 < expected < 1
    batched = train_runs(config, [0], splits=minesweeper.splits[:2], dataset=minesweeper, out_dir=None,
                         progress=False, test=True)
    for run in batched:
        assert set(run.history) == set(METRICS + AUC_METRICS)
        assert run.best_epoch == max(range(run.epochs_run), key=lambda e: (run.history["val_auc"][e], e))
        assert 0.5 < run.metrics["test_auc"] < 1


def test_a_run_scored_by_roc_auc_resumes_from_its_checkpoint(minesweeper, tmp_path):
    from gatkit.train import heterophily_config

    config = heterophily_config("minesweeper", epochs=4, dropout=0.0)
    straight = train(config, dataset=minesweeper, out_dir=tmp_path / "a", progress=False)
    half = train(replace(config, epochs=2), dataset=minesweeper, out_dir=tmp_path / "b", progress=False,
                 checkpoint_every=2)
    resumed = train(config, dataset=minesweeper, out_dir=tmp_path / "b", progress=False,
                    resume=tmp_path / "b" / "models" / "checkpoints" / f"{half.run_name}.pt")
    assert resumed.history.keys() == straight.history.keys()
    for key, values in straight.history.items():
        assert resumed.history[key] == pytest.approx(values, rel=1e-5), key
