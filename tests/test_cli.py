"""The gatkit command: PNGs written where asked, clear errors otherwise."""

import argparse
import contextlib
import io
import os
import struct
import subprocess
import sys
from pathlib import Path

import pytest

from gatkit import cli

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
EXPECTED = ["cora_degrees.png", "cora_class_balance.png", "cora_homophily.png", "cora_graph.png",
            "cora_node1358_2hop.png"]


def png_size(path: Path) -> tuple[int, int]:
    """Width and height from a PNG's IHDR chunk, after checking the signature."""
    data = path.read_bytes()
    assert data[:8] == PNG_SIGNATURE, f"{path.name} is not a PNG"
    assert data[12:16] == b"IHDR"
    return struct.unpack(">II", data[16:24])


@pytest.fixture(scope="module")
def written(tmp_path_factory):
    """Run ``gatkit visualise dataset`` once (into a folder that does not exist yet)."""
    out_dir = tmp_path_factory.mktemp("figures") / "new" / "folder"
    stdout, stderr = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(stdout), contextlib.redirect_stderr(stderr):
        code = cli.main(["visualise", "dataset", "--out-dir", str(out_dir), "--dpi", "40",
                        "--layout", "kk"])  # kk: the fastest layout
    return code, out_dir, stdout.getvalue(), stderr.getvalue()


def test_visualise_dataset_writes_valid_pngs(written):
    code, out_dir, stdout, _ = written
    assert code == 0
    assert sorted(p.name for p in out_dir.iterdir()) == sorted(EXPECTED)
    for name in EXPECTED:
        width, height = png_size(out_dir / name)
        assert width > 100 and height > 100, name
        assert (out_dir / name).stat().st_size > 5_000, f"{name} looks empty"


def test_visualise_dataset_prints_the_paths_it_wrote(written):
    _, out_dir, stdout, stderr = written
    assert stdout.split() == [str(out_dir / name) for name in EXPECTED]
    assert f"wrote 5 files to {out_dir}" in stderr


def test_visualise_dataset_draws_a_heterophilous_graph(tmp_path):
    with contextlib.redirect_stdout(io.StringIO()) as stdout, contextlib.redirect_stderr(io.StringIO()):
        code = cli.main(["visualise", "dataset", "--dataset", "texas", "--out-dir", str(tmp_path), "--dpi", "40"])
    assert code == 0
    names = [Path(line).name for line in stdout.getvalue().split()]
    assert names[:4] == ["texas_degrees.png", "texas_class_balance.png", "texas_homophily.png", "texas_graph.png"]
    assert all((tmp_path / name).stat().st_size > 5_000 for name in names)


@pytest.mark.parametrize("make_blocked", ["a file in the way", "a folder under a file"])
def test_an_unusable_out_dir_is_a_clear_usage_error(tmp_path, capsys, make_blocked):
    blocker = tmp_path / "not_a_folder"
    blocker.write_text("x")
    target = blocker if make_blocked == "a file in the way" else blocker / "sub"
    assert cli.main(["visualise", "dataset", "--out-dir", str(target)]) == 2
    err = capsys.readouterr().err
    assert err.startswith("gatkit: error:") and str(target) in err and "Traceback" not in err


@pytest.mark.skipif(os.name != "posix" or os.geteuid() == 0, reason="root may write anywhere")
def test_a_read_only_out_dir_is_a_clear_usage_error(tmp_path, capsys):
    locked = tmp_path / "locked"
    locked.mkdir(mode=0o500)
    try:
        assert cli.main(["visualise", "dataset", "--out-dir", str(locked)]) == 2
        assert "cannot write into the output folder" in capsys.readouterr().err
    finally:
        locked.chmod(0o700)


def test_prepare_out_dir_tries_a_real_write(tmp_path, monkeypatch):
    def refuse(*args, **kwargs):
        raise PermissionError(13, "Permission denied")

    monkeypatch.setattr(cli.tempfile, "TemporaryFile", refuse)
    with pytest.raises(cli.CliError) as info:
        cli.prepare_out_dir(tmp_path / "x")
    assert info.value.exit_code == 2 and "Permission denied" in str(info.value)


def test_the_installed_command_fails_cleanly_in_a_real_process(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("x")
    result = subprocess.run([sys.executable, "-m", "gatkit.cli", "visualise", "dataset", "--out-dir",
                             str(blocker / "sub")], capture_output=True, text=True, timeout=60)
    assert result.returncode == 2
    assert "gatkit: error: cannot create the output folder" in result.stderr
    assert "Traceback" not in result.stderr and result.stdout == ""


def test_the_american_spelling_of_the_verb_still_works(tmp_path, capsys):
    assert cli.main(["visualize", "dataset", "--out-dir", str(tmp_path), "--node", "99999"]) == 2
    assert "--node" in capsys.readouterr().err  # parsed as `visualise dataset`, got as far as the node


def test_a_bad_node_is_a_usage_error(tmp_path, capsys):
    assert cli.main(["visualise", "dataset", "--out-dir", str(tmp_path), "--node", "99999"]) == 2
    assert "--node" in capsys.readouterr().err
    assert list(tmp_path.iterdir()) == []


def test_usage_errors_exit_with_code_2(capsys):
    for argv in (["visualise", "dataset"], ["visualise"], [], ["visualise", "nonsense", "--out-dir", "x"]):
        with pytest.raises(SystemExit) as info:
            cli.main(argv)
        assert info.value.code == 2
    assert "usage: gatkit" in capsys.readouterr().err


def test_a_new_visualise_target_plugs_in(monkeypatch, tmp_path, capsys):
    monkeypatch.setattr(cli, "VISUALISERS", dict(cli.VISUALISERS))
    seen = {}

    def run(args: argparse.Namespace, out_dir: Path) -> list[Path]:
        seen["args"] = args
        path = out_dir / "demo.png"
        path.write_bytes(PNG_SIGNATURE)
        return [path]

    cli.add_visualiser(cli.Visualiser("demo", "a test target",
                                      lambda p: p.add_argument("--level", type=int, default=1), run))
    assert cli.main(["visualise", "demo", "--out-dir", str(tmp_path), "--level", "3"]) == 0
    assert seen["args"].level == 3 and (tmp_path / "demo.png").exists()
    with pytest.raises(ValueError, match="twice"):
        cli.add_visualiser(cli.Visualiser("demo", "again", lambda p: None, run))
    capsys.readouterr()
    with pytest.raises(SystemExit) as info:
        cli.main(["visualise", "--help"])
    assert info.value.code == 0 and "demo" in capsys.readouterr().out


def test_dataset_choices_come_from_the_loaders_registry():
    from gatkit.train import DATASETS

    parser = cli.build_parser()
    for name in DATASETS:
        assert parser.parse_args(["visualise", "dataset", "--out-dir", "x", "--dataset", name]).dataset == name
        assert parser.parse_args(["train", "--dataset", name]).dataset == name
