"""``gatkit train``: the original project's flags, files where asked, clear errors otherwise."""

import argparse
import contextlib
import dataclasses
import functools
import inspect
import io
import re
from pathlib import Path

import pytest
import torch

from gatkit import cli
from gatkit.checkpoints import load_checkpoint
from gatkit.layers import LAYER_TYPES
from gatkit.train import (DATASETS, KEEP_RULES, PAPER_RESULTS, TrainConfig, heterophily_config, paper_config,
                          recipe_config, train)


def run(*argv):
    stdout, stderr = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(stdout), contextlib.redirect_stderr(stderr):
        code = cli.main(["train", "--quiet", "--epochs", "4", *argv])
    return code, stdout.getvalue(), stderr.getvalue()


def test_train_writes_a_model_and_reports_test_accuracy(tmp_path):
    code, out, _ = run("--out-dir", str(tmp_path), "--should-test", "--seed", "5")
    assert code == 0
    assert re.search(r"seed 5: stopped after 4 epochs .* test acc \d+\.\d%", out)
    (binary,) = (tmp_path / "models" / "binaries").glob("*.pt")
    payload = load_checkpoint(binary)
    assert payload["config"]["seed"] == 5 and payload["config"]["layer_type"] == 3
    assert "test_acc" in payload["metrics"]
    assert not (tmp_path / "runs").exists() and not (tmp_path / "figures").exists()


def test_the_original_underscore_spellings_are_accepted(tmp_path):
    code, out, _ = run("--out_dir", str(tmp_path), "--should_test", "--enable_tensorboard",
                       "--should_visualize", "--layer_type", "2")
    assert code == 0 and "test acc" in out
    assert any((tmp_path / "runs").iterdir()), "TensorBoard events written"
    (png,) = (tmp_path / "figures").glob("*_learning_curves.png")
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    (binary,) = (tmp_path / "models" / "binaries").glob("*.pt")
    assert load_checkpoint(binary)["config"]["layer_type"] == 2


def test_several_seeds_print_mean_and_spread(tmp_path):
    code, out, _ = run("--out-dir", str(tmp_path), "--seeds", "3", "--should-test")
    assert code == 0
    assert len(re.findall(r"^seed \d", out, flags=re.M)) == 3
    assert re.search(r"test accuracy over 3 seeds: \d+\.\d \+/- \d+\.\d", out)
    assert "the paper reports 83.0 +/- 0.7 (test)" in out
    assert len(list((tmp_path / "models" / "binaries").glob("*.pt"))) == 3


def test_several_seeds_are_trained_as_one_batch(tmp_path, monkeypatch):
    import gatkit.train

    batches = []
    real_train_runs = gatkit.train.train_runs

    def spy(config, seeds, **kwargs):
        batches.append(list(seeds))
        return real_train_runs(config, seeds, **kwargs)

    @functools.wraps(gatkit.train.train)  # the parser reads train's signature for its defaults
    def no_lone_runs(*args, **kwargs):
        raise AssertionError("--seeds 2 trained a run with train(), not in the batch")

    monkeypatch.setattr(gatkit.train, "train_runs", spy)
    monkeypatch.setattr(gatkit.train, "train", no_lone_runs)
    code, out, err = run("--out-dir", str(tmp_path), "--seeds", "2", "--seed", "7", "--should-visualise")
    assert code == 0, err
    assert batches == [[7, 8]], "one batch with both seeds"
    lines = re.findall(r"^seed (\d+): stopped after 4 epochs, weights of epoch \d+: val acc [\d.]+% -> (.+)$",
                       out, flags=re.M)
    assert [seed for seed, _ in lines] == ["7", "8"]
    paths = {Path(path) for _, path in lines}
    assert len(paths) == 2 and all(path.is_file() for path in paths)
    assert {load_checkpoint(path)["config"]["seed"] for path in paths} == {7, 8}
    assert set((tmp_path / "models" / "binaries").glob("*.pt")) == paths
    assert re.search(r"^val accuracy over 2 seeds: .*; 2 runs trained as one batch in \d+\.\d s$", out, flags=re.M)
    assert len(list((tmp_path / "figures").glob("*_learning_curves.png"))) == 2, "one figure per run"
    assert not list((tmp_path / "models").glob("checkpoints/*")), "a batch writes no checkpoints"


def test_several_splits_train_every_seed_on_each(tmp_path, monkeypatch):
    from gatkit.data import Planetoid, Split

    def two_splits(dataset):  # until datasets with several splits arrive: the public one and another
        return [Split(dataset.train_idx, dataset.val_idx, dataset.test_idx),
                Split(dataset.val_idx[:140], dataset.val_idx[140:], dataset.test_idx)]

    monkeypatch.setattr(Planetoid, "splits", property(two_splits))
    code, out, err = run("--out-dir", str(tmp_path), "--seeds", "2", "--splits", "2", "--epochs", "2", "--should-test")
    assert code == 0, err
    runs = re.findall(r"^split (\d), seed (\d): stopped after 2 epochs, .* test acc [\d.]+% -> .*_split\1_", out,
                      flags=re.M)
    assert runs == [("0", "0"), ("0", "1"), ("1", "0"), ("1", "1")]
    assert re.search(r"^test accuracy over 4 runs \(2 seeds x 2 splits\): .*; 4 runs trained as one batch", out,
                     flags=re.M)
    assert len(list((tmp_path / "models" / "binaries").glob("*.pt"))) == 4
    code, _, err = run("--out-dir", str(tmp_path), "--splits", "3")
    assert code == 2 and err == "gatkit: error: --splits 3: cora comes with 2 splits; use --splits 2 or fewer.\n"


def test_one_run_is_trained_alone(tmp_path, monkeypatch):
    import gatkit.train

    def no_batch(*args, **kwargs):
        raise AssertionError("a single run went through train_runs")

    monkeypatch.setattr(gatkit.train, "train_runs", no_batch)
    code, out, err = run("--out-dir", str(tmp_path), "--splits", "1", "--checkpoint-every", "2")
    assert code == 0, err
    assert re.search(r"^seed 0: stopped after 4 epochs \(\d+\.\d s\)", out, flags=re.M)
    assert "accuracy over" not in out
    assert len(list((tmp_path / "models" / "checkpoints").glob("*.pt"))) == 1


@pytest.mark.parametrize("argv, message", [
    (["--seeds", "2", "--resume", "x.pt"], "--resume continues one run; do not combine it with --seeds 2."),
    (["--seeds", "2", "--enable-tensorboard"],
     "--enable-tensorboard logs a single run; --seeds 2 trains its runs as one batch, which writes no "
     "TensorBoard logs. Drop --enable-tensorboard, or train one run (without --seeds 2)."),
    (["--seeds", "3", "--checkpoint_every", "100"],
     "--checkpoint-every checkpoints a single run; --seeds 3 trains its runs as one batch, which writes no "
     "checkpoints. Drop --checkpoint-every, or train one run (without --seeds 3)."),
    (["--splits", "2", "--enable-tensorboard"],
     "--enable-tensorboard logs a single run; --splits 2 trains its runs as one batch, which writes no "
     "TensorBoard logs. Drop --enable-tensorboard, or train one run (without --splits 2)."),
    (["--splits", "0"], "--splits must be at least 1."),
    (["--splits", "2"], "--splits 2: cora comes with 1 split (the public Planetoid split); use --splits 1 or fewer."),
    (["--seeds", "3", "--splits", "10", "--dataset", "citeseer"],
     "--splits 10: citeseer comes with 1 split (the public Planetoid split); use --splits 1 or fewer."),
])
def test_options_a_batch_cannot_honour_are_refused(argv, message, tmp_path, monkeypatch):
    import gatkit.train

    monkeypatch.setattr(gatkit.train, "train_runs", lambda *a, **k: pytest.fail("trained despite the refusal"))
    code, out, err = run("--out-dir", str(tmp_path), *argv)
    assert (code, out, err) == (2, "", f"gatkit: error: {message}\n")


def test_checkpoint_every_0_agrees_with_a_batch(tmp_path):
    code, out, err = run("--out-dir", str(tmp_path), "--seeds", "2", "--epochs", "2", "--checkpoint-every", "0")
    assert code == 0, err
    assert "2 runs trained as one batch" in out


@pytest.mark.parametrize("argv, message", [
    (["--layer-type", "4"], "invalid choice"),
    (["--dataset", "pubmed"], "invalid choice"),
])
def test_bad_choices_are_usage_errors(argv, message, capsys):
    with pytest.raises(SystemExit) as info:
        cli.main(["train", *argv])
    assert info.value.code == 2 and message in capsys.readouterr().err


def test_an_unusable_device_is_explained(tmp_path):
    code, _, err = run("--out-dir", str(tmp_path), "--device", "nonsense")
    assert code == 2 and "--device nonsense is not usable" in err


def test_resuming_from_a_corrupt_checkpoint_is_explained(tmp_path):
    bad = tmp_path / "bad.pt"
    bad.write_bytes(b"not a checkpoint")
    code, _, err = run("--out-dir", str(tmp_path), "--resume", str(bad))
    assert code == 2 and "not a readable model file" in err and "Traceback" not in err


def test_resume_continues_a_checkpointed_run(tmp_path):
    code, _, _ = run("--out-dir", str(tmp_path), "--checkpoint-every", "2")
    (checkpoint,) = (tmp_path / "models" / "checkpoints").glob("*.pt")
    assert load_checkpoint(checkpoint)["epoch"] == 3
    stdout = io.StringIO()
    with contextlib.redirect_stdout(stdout):
        assert cli.main(["train", "--quiet", "--epochs", "6", "--out-dir", str(tmp_path),
                         "--resume", str(checkpoint)]) == 0
    assert "stopped after 6 epochs" in stdout.getvalue()
    assert len(list((tmp_path / "models" / "binaries").glob("*.pt"))) == 2, "nothing overwritten"


# --- the options come from TrainConfig, the dataset registry and the paper's results ---------

def train_parser() -> argparse.ArgumentParser:
    """The ``gatkit train`` subparser."""
    verbs = next(a for a in cli.build_parser()._actions if isinstance(a, argparse._SubParsersAction))
    return verbs.choices["train"]


def train_options():
    """The ``gatkit train`` subparser's actions by destination."""
    return {action.dest: action for action in train_parser()._actions}


def test_every_config_field_is_an_option_whose_default_the_recipe_gives():
    parsed = cli.build_parser().parse_args(["train"])
    options = train_options()
    for field in dataclasses.fields(TrainConfig):
        assert not hasattr(parsed, field.name), f"{field.name}: an option not given is left to the recipe"
        default = getattr(TrainConfig(), field.name)
        shown = " ".join(map(str, default)) if isinstance(default, tuple) else str(default)
        assert options[field.name].help.endswith(f"(default: {shown})"), field.name
        spelled = field.name.replace("_", "-")
        assert f"--{spelled}" in options[field.name].option_strings, field.name
        if "_" in field.name:  # the original project's spelling keeps working
            assert f"--{field.name}" in options[field.name].option_strings
    assert options["dataset"].choices == DATASETS and set(PAPER_RESULTS) <= set(DATASETS)
    assert options["layer_type"].choices == tuple(LAYER_TYPES)
    assert options["keep"].choices == KEEP_RULES
    assert options["checkpoint_every"].default == inspect.signature(train).parameters["checkpoint_every"].default
    assert recipe_config("cora") == TrainConfig() and recipe_config("texas") == heterophily_config("texas")


def test_the_options_given_replace_the_recipes_values(monkeypatch):
    seen = []
    monkeypatch.setattr(cli, "_train_one", lambda args, config, *rest: seen.append(config) or 1 / 0)
    for argv, expected in ((["--dataset", "texas", "--lr", "0.01"], heterophily_config("texas", lr=0.01)),
                           (["--heads", "4", "2", "1", "--no-residual"], paper_config("cora", heads=(4, 2, 1))),
                           (["--dataset", "citeseer", "--split", "0"], paper_config("citeseer"))):
        with pytest.raises(ZeroDivisionError):
            cli.main(["train", "--quiet", *argv])
        assert seen.pop() == expected, argv


def test_the_help_shows_the_defaults_of_trainconfig_when_it_changes(monkeypatch):
    rules = {field.name: field.metadata for field in dataclasses.fields(TrainConfig)}

    @dataclasses.dataclass(frozen=True)
    class Changed(TrainConfig):
        patience: int = dataclasses.field(default=7, metadata=rules["patience"])
        heads: tuple[int, ...] = dataclasses.field(default=(4, 2), metadata=rules["heads"])

    monkeypatch.setattr(cli, "TrainConfig", Changed)
    options = train_options()
    assert options["patience"].help.endswith("(default: 7)") and options["heads"].help.endswith("(default: 4 2)")
    assert "patience 7" in train_parser().description  # the help's recipe too


def test_the_help_states_the_recipe_and_every_option(capsys):
    with pytest.raises(SystemExit):
        cli.main(["train", "--help"])
    text = " ".join(capsys.readouterr().out.split())
    recipe = TrainConfig()
    assert f"dropout {recipe.dropout:g}, Adam lr {recipe.lr:g}" in text and f"patience {recipe.patience}" in text
    for field in dataclasses.fields(TrainConfig):
        assert f"--{field.name.replace('_', '-')}" in text


def test_every_config_option_reaches_the_saved_config(tmp_path):
    code, _, err = run("--out-dir", str(tmp_path), "--hidden_features", "4", "--heads", "2", "1", "--dropout", "0.5",
                       "--lr", "0.01", "--weight-decay", "0.001", "--patience", "50", "--residual", "--keep", "both",
                       "--dataset", "citeseer", "--layer-type", "2", "--seed", "3")
    assert code == 0, err
    (binary,) = (tmp_path / "models" / "binaries").glob("*.pt")
    assert load_checkpoint(binary)["config"] == TrainConfig(
        dataset="citeseer", layer_type=2, hidden_features=4, heads=(2, 1), dropout=0.5, lr=0.01, weight_decay=0.001,
        epochs=4, patience=50, seed=3, residual=True, keep="both").to_dict()


@pytest.mark.parametrize("argv, message", [
    (["--patience", "0"], "--patience must be at least 1, got 0."),
    (["--dropout", "1.5"], "--dropout must be between 0 and 1, got 1.5."),
    (["--heads", "8", "0"], "--heads must be at least 1, got 0."),
    (["--seeds", "0"], "--seeds must be at least 1."),
])
def test_an_out_of_range_value_is_a_one_line_usage_error(argv, message, tmp_path):
    code, out, err = run("--out-dir", str(tmp_path), *argv)
    assert code == 2 and err == f"gatkit: error: {message}\n" and out == ""


def test_the_summary_quotes_the_papers_result_for_the_dataset(tmp_path):
    code, out, _ = run("--out-dir", str(tmp_path), "--seeds", "2", "--dataset", "citeseer", "--epochs", "2")
    mean, std = PAPER_RESULTS["citeseer"]
    assert code == 0 and f"the paper reports {mean:.1f} +/- {std:.1f} (test)" in out


# --- GATv2 ------------------------------------------------------------------------------------

def test_gatv2_trains_from_the_command_line(tmp_path):
    from gatkit.layers import GATv2LayerEdge
    from gatkit.train import model_from_checkpoint

    code, out, err = run("--out-dir", str(tmp_path), "--attention", "gatv2", "--epochs", "5")
    assert code == 0, err
    assert "stopped after 5 epochs" in out
    (binary,) = (tmp_path / "models" / "binaries").glob("gatv2_cora_imp3_*.pt")
    assert load_checkpoint(binary)["config"]["attention"] == "gatv2"
    model, _ = model_from_checkpoint(binary)
    assert all(type(layer) is GATv2LayerEdge for layer in model.layers)


def test_the_attention_option_offers_every_attention_type(capsys):
    from gatkit.layers import ATTENTION_TYPES

    option = train_options()["attention"]
    assert option.choices == ATTENTION_TYPES == ("gat", "gatv2", "uniform", "none")
    assert option.help.endswith("(default: gat)")
    with pytest.raises(SystemExit) as info:
        cli.main(["train", "--attention", "gatv3"])
    assert info.value.code == 2 and "invalid choice" in capsys.readouterr().err


def test_gatv2_with_a_dense_layer_type_is_a_one_line_usage_error(tmp_path):
    code, out, err = run("--out-dir", str(tmp_path), "--attention", "gatv2", "--layer-type", "2")
    assert code == 2 and out == ""
    assert err == ("gatkit: error: --attention 'gatv2' needs layer_type 3 (only GAT's attention has the dense "
                   "implementations), got layer_type 2.\n")


# --- the heterophilous graphs: ten splits, their own recipe, ROC AUC where binary ---------------

@pytest.mark.parametrize("layer_type", sorted(LAYER_TYPES))
def test_a_heterophilous_graph_trains_on_the_split_asked_for_with_every_layer_type(tmp_path, layer_type):
    code, out, _ = run("--out-dir", str(tmp_path), "--dataset", "texas", "--split", "3",
                       "--layer-type", str(layer_type), "--should-test")
    assert code == 0 and re.search(r"seed 0: stopped after 4 epochs .* test acc \d+\.\d%", out), out
    (binary,) = (tmp_path / "models" / "binaries").glob("*.pt")
    config = load_checkpoint(binary)["config"]
    assert (config["split"], config["layer_type"], config["heads"], config["residual"]) == (3, layer_type, [8, 8, 8, 1], True)


def test_a_binary_task_is_scored_by_roc_auc(tmp_path):
    code, out, _ = run("--out-dir", str(tmp_path), "--dataset", "minesweeper", "--epochs", "2", "--should-test")
    assert code == 0 and re.search(r"val ROC AUC \d+\.\d%, test ROC AUC \d+\.\d%", out), out


def test_splits_of_a_heterophilous_graph_train_as_one_batch(tmp_path):
    code, out, _ = run("--out-dir", str(tmp_path), "--dataset", "texas", "--splits", "3", "--should-test")
    assert code == 0 and [int(k) for k in re.findall(r"^split (\d), seed 0", out, re.M)] == [0, 1, 2], out
    assert re.search(r"test accuracy over 3 runs \(1 seed x 3 splits\): \d+\.\d \+/- \d+\.\d", out), out


@pytest.mark.parametrize("argv, message", [
    (["--dataset", "texas", "--split", "10"], "--split 10: texas has 10 splits (0 to 9)."),
    (["--dataset", "cora", "--split", "1"], "--split 1: cora has 1 split (0 to 0)."),
    (["--dataset", "texas", "--split", "2", "--splits", "3"],
     "--split 2 trains on one split, --splits 3 on the first 3; give one of them."),
])
def test_a_split_the_dataset_lacks_is_one_line(tmp_path, argv, message):
    code, out, err = run("--out-dir", str(tmp_path), *argv)
    assert (code, out, err) == (2, "", f"gatkit: error: {message}\n")
