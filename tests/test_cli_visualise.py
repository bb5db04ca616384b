"""`gatkit visualise attention | entropy | embedding`: figures of a trained model, clear errors."""

import contextlib
import io
from pathlib import Path

import pytest

from gatkit import cli
from test_cli import png_size


def run(argv: list[str]) -> tuple[int, str, str]:
    stdout, stderr = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(stdout), contextlib.redirect_stderr(stderr):
        code = cli.main(argv)
    return code, stdout.getvalue(), stderr.getvalue()


@pytest.fixture(scope="module")
def model_file(tmp_path_factory) -> Path:
    """A short `gatkit train` run's model file (a few epochs: the pictures need weights, not accuracy)."""
    out_dir = tmp_path_factory.mktemp("run")
    code, _, stderr = run(["train", "--epochs", "5", "--quiet", "--out-dir", str(out_dir)])
    assert code == 0, stderr
    (path,) = (out_dir / "models" / "binaries").glob("*.pt")
    return path


def written_pngs(stdout: str) -> list[Path]:
    paths = [Path(line) for line in stdout.splitlines() if line.endswith(".png")]
    for path in paths:
        width, height = png_size(path)
        assert width > 100 and height > 100, path.name  # a real picture, even at --dpi 40
    return paths


def test_attention_draws_each_chosen_node_in_each_layer(model_file, tmp_path):
    code, stdout, stderr = run(["visualise", "attention", "--model", str(model_file), "--out-dir", str(tmp_path),
                                "--nodes", "1358", "random", "--dpi", "40"])
    assert code == 0, stderr
    names = sorted(path.name.replace(model_file.stem + "_", "") for path in written_pngs(stdout))
    random_nodes = {name.split("_")[0] for name in names} - {"node1358"}
    assert len(random_nodes) == 3, "three seeded random picks"
    assert "node1358_layer1_head0.png" in names and "node1358_layer2_head0.png" in names
    assert len(names) == 8 and all((tmp_path / f"{model_file.stem}_{name}").is_file() for name in names)


def test_attention_head_mean_and_one_layer(model_file, tmp_path):
    code, stdout, stderr = run(["visualise", "attention", "--model", str(model_file), "--out-dir", str(tmp_path),
                                "--nodes", "0", "--layer", "1", "--head", "mean", "--layout", "kk", "--dpi", "40"])
    assert code == 0, stderr
    assert [path.name for path in written_pngs(stdout)] == [f"{model_file.stem}_node0_layer1_headmean.png"]


def test_entropy_writes_the_histograms_and_the_ratios(model_file, tmp_path):
    code, stdout, stderr = run(["visualise", "entropy", "--model", str(model_file), "--out-dir", str(tmp_path),
                                "--dpi", "40"])
    assert code == 0, stderr
    assert [path.name for path in written_pngs(stdout)] == [f"{model_file.stem}_attention_entropy.png",
                                                            f"{model_file.stem}_attention_ratios.png"]


def test_embedding_writes_the_tsne_panels(model_file, tmp_path):
    code, stdout, stderr = run(["visualise", "embedding", "--model", str(model_file), "--out-dir", str(tmp_path),
                                "--dpi", "40"])
    assert code == 0, stderr
    assert [path.name for path in written_pngs(stdout)] == [f"{model_file.stem}_embeddings_tsne.png"]


def test_without_a_model_one_is_trained_first(tmp_path):
    code, stdout, stderr = run(["visualise", "entropy", "--epochs", "3", "--out-dir", str(tmp_path), "--dpi", "40"])
    assert code == 0, stderr
    assert "no --model given: training" in stderr
    assert [path.name for path in written_pngs(stdout)] == ["cora_seed0_attention_entropy.png",
                                                            "cora_seed0_attention_ratios.png"]


@pytest.mark.parametrize("damage", ["missing", "garbage"])
def test_an_unusable_model_file_is_a_clear_usage_error(tmp_path, damage):
    path = tmp_path / "model.pt"
    if damage == "garbage":
        path.write_bytes(b"not a model at all")
    code, stdout, stderr = run(["visualise", "attention", "--model", str(path), "--out-dir", str(tmp_path / "out")])
    assert code == 2 and stdout == ""
    assert stderr.startswith("gatkit: error:") and str(path) in stderr and "Traceback" not in stderr


@pytest.mark.parametrize("extra, message", [(["--layer", "3"], "--layer"), (["--head", "x"], "--head"),
                                            (["--nodes", "99999"], "--nodes")])
def test_bad_choices_are_usage_errors(model_file, tmp_path, extra, message):
    code, _, stderr = run(["visualise", "attention", "--model", str(model_file), "--out-dir", str(tmp_path)] + extra)
    assert code == 2 and message in stderr


@pytest.mark.parametrize("target", ["dataset", "attention", "entropy", "embedding"])
def test_a_missing_plot_extra_is_one_line_with_the_install_command(monkeypatch, tmp_path, target):
    """Without gatkit[plot] (simulated: the target's drawing fails to import) the user learns what to install."""
    from gatkit.extras import require

    def run_without_matplotlib(args, out_dir):
        require("matplotlib_is_not_installed", "plot", feature="gatkit.viz (figures)")

    visualiser = cli.VISUALISERS[target]
    monkeypatch.setitem(cli.VISUALISERS, target, cli.Visualiser(visualiser.name, visualiser.help,
                                                                visualiser.add_arguments, run_without_matplotlib))
    code, stdout, stderr = run(["visualise", target, "--out-dir", str(tmp_path)])
    assert code == 2 and stdout == ""
    assert stderr.count("\n") == 1 and stderr.startswith("gatkit: error: gatkit.viz (figures) needs")
    assert "pip install 'gatkit[plot]'" in stderr
