"""Model files with bad contents: refused on loading with one line naming the file and the fix.

Every damaged file here unpickles safely (``torch.load(weights_only=True)`` reads it), so what
catches it is gatkit's own checking: the digest (a changed byte) and the structure check
(content of the wrong kind), both in :func:`gatkit.checkpoints.load_checkpoint`.
"""

from __future__ import annotations

import contextlib
import io
from dataclasses import replace
from pathlib import Path

import pytest
import torch

import gatkit
from gatkit import cli
from gatkit.checkpoints import (FORMAT, FORMAT_VERSION, CheckpointError, load_checkpoint, payload_digest,
                                save_checkpoint, validate_payload)
from gatkit.data import load_planetoid
from gatkit.train import model_from_checkpoint, paper_config, train

# The CLI's default config (seed 0, the paper's recipe), so `gatkit train --resume` accepts the checkpoint.
CONFIG = paper_config("cora", epochs=3)


@pytest.fixture(scope="module")
def cora():
    return load_planetoid("cora", progress=False)


@pytest.fixture(scope="module")
def files(cora, tmp_path_factory) -> dict[str, Path]:
    """A final model and a checkpoint (of epoch 1) from one short run."""
    out_dir = tmp_path_factory.mktemp("run")
    result = train(CONFIG, dataset=cora, out_dir=out_dir, progress=False, checkpoint_every=2)
    (checkpoint,) = (out_dir / "models" / "checkpoints").glob("*.pt")
    return {"binary": result.binary_path, "checkpoint": checkpoint}


def run(argv: list[str]) -> tuple[int, str, str]:
    stdout, stderr = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(stdout), contextlib.redirect_stderr(stderr):
        code = cli.main(argv)
    return code, stdout.getvalue(), stderr.getvalue()


def rewritten(source: Path, folder: Path, change) -> Path:
    """A copy of ``source`` changed by ``change(payload)`` and saved properly (so its digest is right)."""
    payload = load_checkpoint(source)
    change(payload)
    return save_checkpoint(payload, folder / "bad.pt")


def assert_one_line(message: str, path: Path) -> None:
    assert "\n" not in message.rstrip("\n") and "Traceback" not in message
    assert str(path) in message


# --- the integrity digest -------------------------------------------------------------------

def test_a_flipped_byte_inside_a_weight_is_refused(files, tmp_path):
    known = torch.linspace(-1.0, 1.0, 64).reshape(8, 8) + 0.123456  # (8, 8) like layers.0.a_src
    path = rewritten(files["binary"], tmp_path, lambda p: p["state_dict"].__setitem__("layers.0.a_src", known))
    data = bytearray(path.read_bytes())
    start = data.find(known.numpy().tobytes())
    assert start > 0 and data.count(known.numpy().tobytes()) == 1
    data[start + 4 * 27 + 1] ^= 0x10  # a mantissa bit of element 27
    path.write_bytes(bytes(data))

    changed = torch.load(path, weights_only=True)["state_dict"]["layers.0.a_src"]  # PyTorch does not notice
    assert (changed != known).sum() == 1 and changed.flatten()[27] != known.flatten()[27]
    with pytest.raises(CheckpointError, match="fails its integrity check") as error:
        load_checkpoint(path)
    assert_one_line(str(error.value), path)
    code, stdout, stderr = run(["visualise", "attention", "--model", str(path), "--out-dir", str(tmp_path / "out")])
    assert code == 2 and stdout == "" and stderr.startswith("gatkit: error:")
    assert_one_line(stderr, path)


def test_an_edited_plain_value_is_refused(files, tmp_path):
    payload = torch.load(files["binary"], weights_only=True)
    payload["config"]["layer_type"] = 2  # a valid value, but not the one the file was saved with
    torch.save(payload, tmp_path / "edited.pt")
    with pytest.raises(CheckpointError, match="fails its integrity check"):
        load_checkpoint(tmp_path / "edited.pt")


def test_files_of_the_previous_format_are_refused(files, tmp_path):
    payload = load_checkpoint(files["binary"])
    old = {key: value for key, value in payload.items() if key != "digest"}
    old["format_version"] = 1  # what gatkit wrote before files carried a digest
    torch.save(old, tmp_path / "old.pt")
    with pytest.raises(CheckpointError, match=r"format 1, written before gatkit verified .*train the model again"):
        load_checkpoint(tmp_path / "old.pt")
    torch.save({**old, "format_version": FORMAT_VERSION}, tmp_path / "no_digest.pt")
    with pytest.raises(CheckpointError, match="has no integrity digest"):
        load_checkpoint(tmp_path / "no_digest.pt")
    torch.save({**payload, "format_version": FORMAT_VERSION + 1}, tmp_path / "newer.pt")
    newer = f"format {FORMAT_VERSION + 1}, this gatkit reads format {FORMAT_VERSION}"
    with pytest.raises(CheckpointError, match=newer):
        load_checkpoint(tmp_path / "newer.pt")


def test_the_digest_covers_dtype_shape_bytes_and_values_but_not_key_order():
    base = payload_digest({"w": torch.zeros(2, 3), "lr": 0.005, "name": "cora"})
    assert base.startswith("sha256:") and len(base) == 7 + 64
    assert payload_digest({"name": "cora", "lr": 0.005, "w": torch.zeros(2, 3)}) == base
    assert payload_digest({"w": torch.zeros(2, 3), "lr": 0.005, "name": "cora", "digest": "x"}) == base
    for other in ({"w": torch.zeros(3, 2)}, {"w": torch.zeros(2, 3, dtype=torch.int32)}, {"w": torch.ones(2, 3)},
                  {"lr": 0.0051}, {"lr": 5}, {"name": "citeseer"}):
        assert payload_digest({"w": torch.zeros(2, 3), "lr": 0.005, "name": "cora", **other}) != base


def test_genuine_files_load_with_their_digest(files, cora):
    for path in files.values():
        payload = load_checkpoint(path)
        assert payload["format"] == FORMAT and payload["format_version"] == FORMAT_VERSION
        assert payload["digest"] == payload_digest(payload) and payload["gatkit_version"] == gatkit.__version__
        model, _ = model_from_checkpoint(path, cora)
        assert not model.training


# --- malformed contents ---------------------------------------------------------------------

def _set(*keys_and_value):
    """``change(payload)`` setting ``payload[k1][k2]... = value``."""
    *keys, value = keys_and_value

    def change(payload):
        for key in keys[:-1]:
            payload = payload[key]
        payload[keys[-1]] = value
    return change


def _delete(*keys):
    def change(payload):
        for key in keys[:-1]:
            payload = payload[key]
        del payload[keys[-1]]
    return change


def _both_state_dicts(name, value):
    def change(payload):
        payload["state_dict"][name] = value
        payload["best_state_dict"][name] = value
    return change


def _another_shape(name, shape):
    """A file consistent in itself (weights and Adam's moments) but for another architecture."""
    def change(payload):
        _both_state_dicts(name, torch.zeros(shape))(payload)
        moments = payload["optimizer"]["state"][list(payload["state_dict"]).index(name)]
        moments["exp_avg"], moments["exp_avg_sq"] = torch.zeros(shape), torch.zeros(shape)
    return change


def _cut_history(payload):
    payload["history"]["val_acc"] = payload["history"]["val_acc"][:-1]


#: case -> (change to a genuine checkpoint, a piece of the expected message)
MALFORMED = {
    "layer_type 9": (_set("config", "layer_type", 9), r"config\.layer_type must be one of 1, 2, 3, got 9"),
    "no state_dict": (_delete("state_dict"), "state_dict is missing"),
    "state_dict None": (_set("state_dict", None), "state_dict is None, expected a dict"),
    "state_dict a string": (_set("state_dict", "weights"), "state_dict is str 'weights', expected a dict"),
    "a weight of the wrong shape": (_another_shape("layers.0.linear.weight", (64, 3)), "another architecture"),
    "a weight of another shape than its moments": (_both_state_dicts("layers.0.linear.weight", torch.zeros(3, 3)),
                                                   r"optimizer\.state\[3\]\.exp_avg has shape \(64, 1433\), "
                                                   r"expected \(3, 3\)"),
    "the best weights of another shape": (_set("best_state_dict", "layers.0.a_src", torch.zeros(3)),
                                          "best_state_dict does not have the names and shapes"),
    "a weight that is a list": (_set("state_dict", "layers.0.a_src", [1.0]), r"state_dict\['layers.0.a_src'\] is list"),
    "integer weights": (_both_state_dicts("layers.0.a_src", torch.zeros(8, 8, dtype=torch.int64)),
                        "expected a dense floating-point tensor"),
    "no config": (_delete("config"), "config is missing"),
    "config a string": (_set("config", "cora"), "config is str 'cora', expected a dict"),
    "an unknown config field": (_set("config", "colour", "red"), "config.colour is not a training setting"),
    "hidden_features a string": (_set("config", "hidden_features", "8"),
                                 "config.hidden_features must be a int, got '8'"),
    "residual an int": (_set("config", "residual", 1), "config.residual must be a bool, got 1"),
    "no head count": (_set("config", "heads", []), "config.heads must have at least one value"),
    "zero hidden features": (_set("config", "hidden_features", 0), "config.hidden_features must be at least 1, got 0"),
    "dropout 5": (_set("config", "dropout", 5.0), "config.dropout must be between 0 and 1, got 5.0"),
    "lr nan": (_set("config", "lr", float("nan")), "config.lr must be at least 0, got nan"),
    "an unknown dataset": (_set("config", "dataset", "pubmed"), "config.dataset must be one of"),
    "dataset a string": (_set("dataset", "cora"), "dataset is str 'cora', expected"),
    "epoch a string": (_set("epoch", "1"), "epoch is str '1', expected an int"),
    "metrics None": (_set("metrics", None), "metrics is None, expected a dict of names to numbers"),
    "optimizer a string": (_set("optimizer", "adam"), "optimizer is str 'adam', expected an optimizer state dict"),
    "a moment of the wrong shape": (_set("optimizer", "state", 0, "exp_avg", torch.zeros(2)),
                                    r"optimizer\.state\[0\]\.exp_avg has shape \(2,\), expected \(8, 8\)"),
    "a moment missing": (_delete("optimizer", "state", 0, "exp_avg_sq"), r"optimizer\.state\[0\] is dict"),
    "step zero": (_set("optimizer", "state", 0, "step", torch.tensor(0.0)), r"optimizer\.state\[0\]\.step is 0"),
    "too few optimised parameters": (_set("optimizer", "param_groups", 0, "params", [0, 1]),
                                     r"optimizer\.param_groups lists the parameters"),
    "rng a string": (_set("rng", "seed 0"), "rng is str 'seed 0', expected the uint8 tensor"),
    "rng too short": (_set("rng", torch.zeros(10, dtype=torch.uint8)), "rng is not a random number generator state"),
    "rng random bytes": (_set("rng", torch.randint(0, 256, (5056,), dtype=torch.uint8,
                                                   generator=torch.Generator().manual_seed(1))),
                         "rng is not a random number generator state"),
    "early_stopping a list": (_set("early_stopping", [100, 0]), "early_stopping is list"),
    "early_stopping with another key": (_set("early_stopping", "step", 3), "early_stopping is dict"),
    "counter negative": (_set("early_stopping", "counter", -1), "early_stopping.counter is int -1"),
    "best epoch after the last": (_set("early_stopping", "best_epoch", 50), "early_stopping.best_epoch is int 50"),
    "keep unknown": (_set("early_stopping", "keep", "val_acc"), "early_stopping.keep is str 'val_acc'"),
    "history a string": (_set("history", "none"), "history is str 'none'"),
    "history of strings": (_set("history", "val_acc", ["high", "low"]), "history.val_acc is list"),
    "history too short": (_cut_history, "history.val_acc has 1 values, expected 2"),
    "history without a metric": (_delete("history", "train_acc_dropout"), "history is dict"),
    "run_name with folders": (_set("run_name", "../../elsewhere"), "run_name is str '../../elsewhere'"),
    "a resume entry missing": (_delete("rng"), "a checkpoint to resume from lacks rng"),
}


@pytest.fixture(params=sorted(MALFORMED), scope="module")
def malformed(request, files, tmp_path_factory) -> tuple[Path, str]:
    change, message = MALFORMED[request.param]
    return rewritten(files["checkpoint"], tmp_path_factory.mktemp("bad"), change), message


def test_malformed_contents_are_refused_on_loading(malformed, cora):
    path, message = malformed
    with pytest.raises(CheckpointError, match=message) as error:
        if message == "another architecture":  # only the model shows that a shape is wrong
            model_from_checkpoint(path, cora)
        else:
            load_checkpoint(path)
    assert_one_line(str(error.value), path)
    assert "Traceback" not in str(error.value) and ("Train the model again" in str(error.value)
                                                     or "build the model from that config" in str(error.value))


def test_malformed_contents_stop_a_resumed_run_before_it_starts(malformed, cora, tmp_path):
    path, message = malformed
    with pytest.raises(CheckpointError, match=message) as error:
        train(replace(CONFIG, epochs=4), dataset=cora, out_dir=tmp_path, progress=False, resume=path)
    assert_one_line(str(error.value), path)
    assert not list((tmp_path / "models" / "binaries").glob("*.pt")), "nothing trained"


@pytest.mark.parametrize("command", [["train", "--quiet", "--epochs", "4", "--resume"],
                                     ["visualise", "attention", "--model"]])
def test_every_command_reports_malformed_contents_in_one_line(malformed, command, tmp_path):
    path, message = malformed
    code, stdout, stderr = run([*command, str(path), "--out-dir", str(tmp_path)])
    assert code == 2 and stdout == "", stderr
    assert stderr.startswith("gatkit: error: ") and stderr.count("\n") == 1
    assert_one_line(stderr, path)


@pytest.mark.parametrize("target", ["entropy", "embedding"])
@pytest.mark.parametrize("case", ["layer_type 9", "state_dict None", "a weight of the wrong shape", "rng too short"])
def test_the_other_visualisers_report_malformed_contents_too(files, target, case, tmp_path):
    path = rewritten(files["checkpoint"], tmp_path, MALFORMED[case][0])
    code, stdout, stderr = run(["visualise", target, "--model", str(path), "--out-dir", str(tmp_path / "out")])
    assert code == 2 and stdout == "" and stderr.startswith("gatkit: error: ") and stderr.count("\n") == 1
    assert_one_line(stderr, path)


def test_a_payload_that_is_not_a_dict_is_refused(tmp_path):
    torch.save([FORMAT, FORMAT_VERSION, {"w": torch.ones(2)}], tmp_path / "list.pt")
    with pytest.raises(CheckpointError, match="not a gatkit checkpoint"):
        load_checkpoint(tmp_path / "list.pt")
    code, _, stderr = run(["visualise", "entropy", "--model", str(tmp_path / "list.pt"), "--out-dir", str(tmp_path)])
    assert code == 2 and stderr.count("\n") == 1
    with pytest.raises(CheckpointError, match="the payload is a list, expected a dict"):
        validate_payload([1, 2], tmp_path / "list.pt")


def test_a_final_model_is_not_a_checkpoint_to_resume_from(files, tmp_path):
    code, _, stderr = run(["train", "--quiet", "--epochs", "4", "--resume", str(files["binary"]),
                           "--out-dir", str(tmp_path)])
    assert code == 2 and "is a final model, not a checkpoint to resume from" in stderr


def test_a_genuine_checkpoint_still_resumes(files, tmp_path):
    code, stdout, stderr = run(["train", "--quiet", "--epochs", "4", "--resume", str(files["checkpoint"]),
                                "--out-dir", str(tmp_path)])
    assert code == 0, stderr
    assert "stopped after 4 epochs" in stdout


# --- files written before GATv2 ----------------------------------------------------------------

def _as_before_gatv2(payload):
    del payload["config"]["attention"]  # what gatkit wrote before the setting existed


def test_a_file_written_before_gatv2_loads_and_resumes_as_gat(files, cora, tmp_path):
    from gatkit.layers import GATLayerEdge

    old = {}
    for kind in ("binary", "checkpoint"):
        (tmp_path / kind).mkdir()
        old[kind] = rewritten(files[kind], tmp_path / kind, _as_before_gatv2)
        assert "attention" not in load_checkpoint(old[kind])["config"]
        model, _ = model_from_checkpoint(old[kind], cora)
        assert model.attention == "gat" and all(type(layer) is GATLayerEdge for layer in model.layers)
    result = train(CONFIG, dataset=cora, out_dir=tmp_path / "resumed", progress=False, resume=old["checkpoint"])
    assert result.epochs_run == CONFIG.epochs and result.config.attention == "gat"


def test_a_stored_config_missing_any_other_setting_is_refused(files, tmp_path):
    path = rewritten(files["binary"], tmp_path, _delete("config", "lr"))
    with pytest.raises(CheckpointError, match=r"config\.lr is missing") as error:
        load_checkpoint(path)
    assert_one_line(str(error.value), path)


def test_a_file_whose_config_misstates_its_attention_is_explained(cora, tmp_path):
    result = train(replace(CONFIG, attention="gatv2", epochs=2), dataset=cora, out_dir=tmp_path, progress=False)
    model, _ = model_from_checkpoint(result.binary_path, cora)
    assert model.attention == "gatv2"
    assert all(torch.equal(a, b) for a, b in zip(model.state_dict().values(), result.model.state_dict().values()))
    claims_gat = rewritten(result.binary_path, tmp_path, _as_before_gatv2)  # GATv2 weights, no attention: gat
    with pytest.raises(CheckpointError, match="another architecture.*missing layers.0.a_dst") as error:
        model_from_checkpoint(claims_gat, cora)
    assert_one_line(str(error.value), claims_gat)
    with pytest.raises(CheckpointError, match=r"config\.attention must be one of 'gat', 'gatv2', 'uniform', 'none', got 'gatv3'"):
        load_checkpoint(rewritten(result.binary_path, tmp_path, _set("config", "attention", "gatv3")))
