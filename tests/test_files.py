"""gatkit.files.atomic_write and its users: a failed or interrupted write never leaves half a file."""

from __future__ import annotations

import os
import stat

import nbformat
import pytest
import torch

from gatkit.checkpoints import CheckpointError, load_checkpoint, save_checkpoint
from gatkit.files import FileWriteError, atomic_write


def _names(folder) -> list[str]:
    return sorted(p.name for p in folder.iterdir())


def test_writes_bytes_and_creates_missing_folders(tmp_path):
    path = tmp_path / "a" / "b" / "out.bin"
    assert atomic_write(path, b"\x00\x01 data") == path
    assert path.read_bytes() == b"\x00\x01 data"
    assert _names(path.parent) == ["out.bin"]


def test_a_callable_gets_a_binary_file_and_the_bytes_reach_the_disk(tmp_path, monkeypatch):
    synced = []
    real_fsync = os.fsync
    monkeypatch.setattr(os, "fsync", lambda fd: (synced.append(fd), real_fsync(fd)))
    path = atomic_write(tmp_path / "weights.pt", lambda file: torch.save({"w": torch.ones(3)}, file))
    assert torch.equal(torch.load(path, weights_only=True)["w"], torch.ones(3))
    assert synced, "the temporary file was not fsynced before the rename"


def test_permissions_are_those_of_an_ordinary_write(tmp_path):
    fresh = atomic_write(tmp_path / "fresh.txt", b"new")
    (tmp_path / "plain.txt").write_bytes(b"new")  # what open() would give
    assert stat.S_IMODE(fresh.stat().st_mode) == stat.S_IMODE((tmp_path / "plain.txt").stat().st_mode)
    private = tmp_path / "private.txt"
    private.write_bytes(b"old")
    private.chmod(0o600)
    atomic_write(private, b"new")
    assert stat.S_IMODE(private.stat().st_mode) == 0o600, "replacing a file must keep its permissions"


@pytest.mark.parametrize("error", [ValueError("no space left"), KeyboardInterrupt()])
def test_a_failure_mid_write_keeps_the_old_file_and_no_temporary_file(tmp_path, error):
    path = tmp_path / "results.json"
    path.write_bytes(b'{"old": true}')

    def dies_halfway(file):
        file.write(b'{"new": ')
        file.flush()
        raise error

    with pytest.raises(type(error)):  # passed on unchanged
        atomic_write(path, dies_halfway)
    assert path.read_bytes() == b'{"old": true}'
    assert _names(tmp_path) == ["results.json"], "a temporary file was left behind"


def test_an_interrupted_fsync_leaves_no_file(tmp_path, monkeypatch):
    def interrupted(fd):
        raise KeyboardInterrupt

    monkeypatch.setattr(os, "fsync", interrupted)
    with pytest.raises(KeyboardInterrupt):
        atomic_write(tmp_path / "new.bin", b"data")
    assert _names(tmp_path) == []


def test_an_unusable_folder_gives_a_clear_error(tmp_path):
    blocker = tmp_path / "not_a_folder"
    blocker.write_text("a file where a folder should be")
    with pytest.raises(FileWriteError, match=r"cannot write .*not_a_folder.*out\.bin.*folder") as err:
        atomic_write(blocker / "out.bin", b"data")
    assert isinstance(err.value, OSError) and "\n" not in str(err.value)


@pytest.mark.skipif(os.name != "posix" or os.geteuid() == 0,
                    reason="needs POSIX permissions, which root ignores")
def test_a_read_only_folder_gives_a_clear_error(tmp_path):
    folder = tmp_path / "read_only"
    folder.mkdir()
    folder.chmod(0o500)
    try:
        with pytest.raises(FileWriteError, match=r"cannot write .*Permission denied.*writable"):
            atomic_write(folder / "out.bin", b"data")
    finally:
        folder.chmod(0o700)
    assert _names(folder) == []


def test_a_rename_that_fails_leaves_no_temporary_file(tmp_path):
    (tmp_path / "taken").mkdir()  # a folder cannot be replaced by a file
    with pytest.raises(FileWriteError, match="cannot replace"):
        atomic_write(tmp_path / "taken", b"data")
    assert _names(tmp_path) == ["taken"]


# --- the users of atomic_write -----------------------------------------------------------------

def test_save_checkpoint_reports_an_unwritable_folder_as_a_checkpoint_error(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("not a folder")
    with pytest.raises(CheckpointError, match=r"cannot write .*--out-dir"):
        save_checkpoint({"state_dict": {}}, blocker / "model.pt")


def test_save_checkpoint_writes_the_payload_and_nothing_else(tmp_path):
    path = save_checkpoint({"state_dict": {"w": torch.arange(4.0)}}, tmp_path / "models" / "m.pt")
    assert torch.equal(torch.load(path, weights_only=True)["state_dict"]["w"], torch.arange(4.0))
    assert _names(path.parent) == ["m.pt"]
    with pytest.raises(CheckpointError, match="config is missing"):  # not a model file gatkit can use
        load_checkpoint(path)


def test_a_failed_notebook_write_keeps_the_old_notebook(tmp_path, monkeypatch):
    from course import notebooks

    source = tmp_path / "01_demo.py"
    source.write_text("# %%\nx = 1\n", encoding="utf-8")
    assert notebooks.build_notebook(source) == "built"
    target = source.with_suffix(".ipynb")
    before = target.read_bytes()
    assert nbformat.reads(before.decode(), as_version=4).cells[0].source == "x = 1"

    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt

    source.write_text("# %%\nx = 2\n", encoding="utf-8")
    monkeypatch.setattr(os, "fsync", interrupted)
    with pytest.raises(KeyboardInterrupt):
        notebooks.build_notebook(source)
    assert target.read_bytes() == before
    assert _names(tmp_path) == ["01_demo.ipynb", "01_demo.py"]
    monkeypatch.undo()
    assert notebooks.build_notebook(source) == "updated"
    assert nbformat.read(str(target), as_version=4).cells[0].source == "x = 2"
