"""``gatkit train``: the original project's flags, files where asked, clear errors otherwise."""

import contextlib
import io
import re

import pytest
import torch

from gatkit import cli
from gatkit.checkpoints import load_checkpoint


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
    assert len(list((tmp_path / "models" / "binaries").glob("*.pt"))) == 3


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
