"""Downloads that go wrong: a server too slow to finish, Ctrl-C and SIGTERM mid-file, a cache folder
that cannot be written. Each ends with one clear line, and the cache never keeps a partial file.

Servers run on 127.0.0.1 only, in a thread of the test process; every loop here is bounded.
"""

from __future__ import annotations

import contextlib
import errno
import http.server
import io
import os
import shutil
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from gatkit import cli, data
from gatkit.data import CHECKSUMS, DataCacheError, DataError, load_planetoid

ROOT = Path(__file__).resolve().parents[1]
MIRROR = ROOT.parent / "shared" / "data" / "planetoid"
SLOW_FILE = next(iter(CHECKSUMS["cora"]))  # ind.cora.x: the first file a Cora download asks for
MAX_DRIP = 100  # bytes a slow download may get: at most MAX_DRIP * interval seconds of serving

pytestmark = [
    pytest.mark.skipif(not (MIRROR / "SHA256SUMS").is_file(), reason=f"Planetoid mirror not found at {MIRROR}"),
    pytest.mark.filterwarnings("ignore:Sparse CSR tensor support is in beta"),
]


@pytest.fixture(autouse=True)
def environment(monkeypatch):
    """No gatkit variables from outside; requests to 127.0.0.1 bypass any proxy."""
    for var in ("GATKIT_DATA_MIRROR", "GATKIT_DATA_DIR"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("no_proxy", "127.0.0.1,localhost")
    monkeypatch.setenv("NO_PROXY", "127.0.0.1,localhost")


class _SlowMirror(http.server.BaseHTTPRequestHandler):
    """Serves MIRROR, but sends ``server.slow`` one byte every ``server.interval`` seconds."""

    def do_GET(self):  # noqa: N802 (http.server naming)
        name = self.path.lstrip("/")
        if not (MIRROR / name).is_file():
            self.send_error(404)
            return
        body = (MIRROR / name).read_bytes()
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if name != self.server.slow:
            self.wfile.write(body)
            return
        try:
            for i in range(min(len(body), MAX_DRIP)):
                self.wfile.write(body[i:i + 1])
                self.server.dripped += 1
                time.sleep(self.server.interval)
        except (BrokenPipeError, ConnectionResetError):
            pass  # the client gave up, as it should

    def log_message(self, *args):
        pass


@pytest.fixture
def slow_mirror():
    """A mirror on 127.0.0.1 that drips ind.cora.x one byte every 0.2 s (change ``interval`` to taste)."""
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _SlowMirror)
    server.slow, server.interval, server.dripped = SLOW_FILE, 0.2, 0
    server.daemon_threads = True
    server.url = f"http://127.0.0.1:{server.server_port}/"
    threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()
    yield server
    server.shutdown()
    server.server_close()


def wait_for(condition, seconds: float) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.05)
    return condition()


def contents(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir()) if folder.exists() else []


# --- a server that never finishes ----------------------------------------------------------

def test_a_server_that_drips_bytes_is_abandoned_at_the_deadline(slow_mirror, monkeypatch, tmp_path):
    monkeypatch.setenv("GATKIT_DATA_MIRROR", slow_mirror.url)
    monkeypatch.setattr(data, "DOWNLOAD_DEADLINE", 2.0)
    start = time.monotonic()
    with pytest.raises(DataError, match=rf"download of {SLOW_FILE} from .* took longer than 2 s") as error:
        load_planetoid("cora", tmp_path, progress=False)
    elapsed = time.monotonic() - start
    assert 2.0 <= elapsed < 4.0, f"gave up after {elapsed:.1f} s"
    assert slow_mirror.dripped >= 5, "bytes kept coming, so no per-read timeout could have fired"
    assert "\n" not in str(error.value) and "GATKIT_DATA_MIRROR" in str(error.value)
    assert contents(tmp_path / "planetoid") == [], "a partial file was left in the cache"


def test_a_server_that_sends_nothing_still_times_out_per_read(slow_mirror, monkeypatch, tmp_path):
    monkeypatch.setenv("GATKIT_DATA_MIRROR", slow_mirror.url)
    monkeypatch.setattr(data, "DOWNLOAD_TIMEOUT", 0.5)
    slow_mirror.interval = 3.0
    start = time.monotonic()
    with pytest.raises(DataError, match=rf"cannot download {SLOW_FILE} from .*timed out"):
        load_planetoid("cora", tmp_path, progress=False)
    assert time.monotonic() - start < 2.5
    assert contents(tmp_path / "planetoid") == []


# --- interrupted downloads -----------------------------------------------------------------

DOWNLOAD = "from gatkit.data import load_planetoid; load_planetoid('cora', progress=False); print('finished')"


def interrupt_a_download(slow_mirror, cache: Path, signum: int, check_partial=lambda partial: None):
    """Start a download into ``cache`` in a fresh process, send it ``signum`` once a few bytes have
    come (``check_partial`` sees the cache's files first), and return (process, stdout, stderr,
    seconds from the signal to the end)."""
    env = {**os.environ, "GATKIT_DATA_MIRROR": slow_mirror.url, "GATKIT_DATA_DIR": str(cache),
           "OMP_NUM_THREADS": "1"}
    process = subprocess.Popen([sys.executable, "-c", DOWNLOAD], cwd=ROOT, env=env,
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        assert wait_for(lambda: slow_mirror.dripped >= 3 or process.poll() is not None, 120)
        assert process.poll() is None, process.communicate()
        check_partial(contents(cache / "planetoid"))
        start = time.monotonic()
        process.send_signal(signum)
        stdout, stderr = process.communicate(timeout=15)
        return process, stdout, stderr, time.monotonic() - start
    finally:
        if process.poll() is None:
            process.kill()
            process.communicate()


@pytest.mark.skipif(not hasattr(signal, "pthread_kill"), reason="needs POSIX signals")
def test_sigterm_during_a_download_leaves_nothing_and_ends_the_process(slow_mirror, tmp_path):
    cache = tmp_path / "cache"

    def one_temporary_file(partial):
        assert len(partial) == 1 and partial[0] not in CHECKSUMS["cora"], f"expected pooch's temporary file: {partial}"

    process, stdout, stderr, seconds = interrupt_a_download(slow_mirror, cache, signal.SIGTERM, one_temporary_file)
    assert seconds < 5, "the process did not end promptly"
    assert process.returncode == -signal.SIGTERM, (process.returncode, stderr)
    assert stdout == "" and "Traceback" not in stderr
    assert contents(cache / "planetoid") == [], "a partial file survived SIGTERM"


@pytest.mark.skipif(not hasattr(signal, "pthread_kill"), reason="needs POSIX signals")
def test_ctrl_c_during_a_download_leaves_nothing(slow_mirror, tmp_path):
    # In a fresh process, as a learner's: in the full test session an in-process SIGINT was three
    # times not delivered as KeyboardInterrupt after other tests had run (never alone; cause not found).
    cache = tmp_path / "cache"
    process, stdout, stderr, _ = interrupt_a_download(slow_mirror, cache, signal.SIGINT)  # Ctrl-C
    assert process.returncode == -signal.SIGINT and "KeyboardInterrupt" in stderr, (process.returncode, stderr)
    assert stdout == ""
    assert contents(cache / "planetoid") == [], "a partial file survived Ctrl-C"


def test_the_sigterm_handler_is_there_only_during_a_download(monkeypatch, tmp_path):
    monkeypatch.setenv("GATKIT_DATA_MIRROR", str(MIRROR))
    during = []
    real_retrieve = data._retrieve

    def watched(*args, **kwargs):
        during.append(signal.getsignal(signal.SIGTERM))
        return real_retrieve(*args, **kwargs)

    monkeypatch.setattr(data, "_retrieve", watched)
    before = signal.getsignal(signal.SIGTERM)
    if before != signal.SIG_DFL:
        pytest.skip("the test runner handles SIGTERM itself")
    load_planetoid("cora", tmp_path / "a", progress=False)
    assert len(during) == 8 and all(callable(handler) for handler in during)
    assert signal.getsignal(signal.SIGTERM) == before

    def own_handler(signum, frame):  # a program that handles SIGTERM itself keeps its handler
        pass

    signal.signal(signal.SIGTERM, own_handler)
    try:
        during.clear()
        load_planetoid("cora", tmp_path / "b", progress=False)
        assert during == [own_handler] * 8 and signal.getsignal(signal.SIGTERM) is own_handler
    finally:
        signal.signal(signal.SIGTERM, before)


# --- a cache folder that cannot be written -------------------------------------------------

@pytest.fixture
def read_only(monkeypatch):
    """``read_only(folder)``: writing anything inside ``folder`` fails with EROFS, as on a read-only mount.

    Permission bits cannot show this as root (root ignores them), so the error is injected where
    files and folders are created: ``os.open`` with a write flag, and ``os.mkdir``.
    """
    real_open, real_mkdir = os.open, os.mkdir

    def make(folder: Path) -> None:
        folder = folder.resolve()

        def inside(path) -> bool:
            resolved = Path(os.fsdecode(path)).resolve()
            return resolved == folder or folder in resolved.parents

        def refuse(path):
            raise OSError(errno.EROFS, os.strerror(errno.EROFS), os.fsdecode(path))

        def open_(path, flags, mode=0o777, **kwargs):
            if flags & (os.O_WRONLY | os.O_RDWR | os.O_CREAT) and inside(path):
                refuse(path)
            return real_open(path, flags, mode, **kwargs)

        def mkdir_(path, *args, **kwargs):
            if inside(path):
                refuse(path)
            return real_mkdir(path, *args, **kwargs)

        monkeypatch.setattr(os, "open", open_)
        monkeypatch.setattr(os, "mkdir", mkdir_)
    return make


def assert_cache_error(message: str, folder: Path, reason: str) -> None:
    assert "\n" not in message.rstrip("\n") and "Traceback" not in message
    assert f"cannot write to the dataset cache folder {folder} ({reason})" in message
    assert "Set GATKIT_DATA_DIR to a writable folder" in message


@pytest.mark.parametrize("planetoid_folder_exists", [True, False])
def test_a_read_only_cache_folder_is_one_clear_error(read_only, monkeypatch, tmp_path, planetoid_folder_exists):
    monkeypatch.setenv("GATKIT_DATA_MIRROR", str(MIRROR))
    if planetoid_folder_exists:
        (tmp_path / "planetoid").mkdir()
    read_only(tmp_path)
    with pytest.raises(DataCacheError) as error:
        load_planetoid("cora", tmp_path, progress=False)
    assert isinstance(error.value, DataError)  # code that catches DataError keeps working
    assert_cache_error(str(error.value), tmp_path / "planetoid", "Read-only file system")
    assert contents(tmp_path / "planetoid") == []


def test_a_read_only_cache_that_holds_the_files_is_only_read(read_only, monkeypatch, tmp_path):
    monkeypatch.setenv("GATKIT_DATA_MIRROR", str(MIRROR))
    expected = load_planetoid("cora", tmp_path, progress=False)
    read_only(tmp_path)
    assert load_planetoid("cora", tmp_path, progress=False).checksum == expected.checksum


@pytest.mark.parametrize("blocked", ["root", "planetoid"])
def test_a_file_where_the_cache_folder_should_be(monkeypatch, tmp_path, blocked):
    monkeypatch.setenv("GATKIT_DATA_MIRROR", str(MIRROR))
    root = tmp_path / "root"
    if blocked == "root":
        root.write_text("a file, not a folder")
        blocker = root
    else:
        root.mkdir()
        blocker = root / "planetoid"
        blocker.write_text("a file, not a folder")
    monkeypatch.setenv("GATKIT_DATA_DIR", str(root))
    with pytest.raises(DataCacheError) as error:
        load_planetoid("cora", progress=False)
    assert_cache_error(str(error.value), root / "planetoid", f"{blocker} is a file, not a folder")
    assert blocker.read_text() == "a file, not a folder"


COMMANDS = {
    "train": ["train", "--quiet", "--epochs", "1"],
    "visualise dataset": ["visualise", "dataset"],
    "visualise entropy": ["visualise", "entropy", "--epochs", "1"],  # without --model: loads data to train
}


@pytest.mark.parametrize("command", sorted(COMMANDS))
def test_every_command_that_loads_data_reports_a_read_only_cache_in_one_line(read_only, monkeypatch, tmp_path,
                                                                            command):
    cache = tmp_path / "cache"
    cache.mkdir()
    monkeypatch.setenv("GATKIT_DATA_DIR", str(cache))
    monkeypatch.setenv("GATKIT_DATA_MIRROR", str(MIRROR))
    read_only(cache)
    stdout, stderr = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(stdout), contextlib.redirect_stderr(stderr):
        code = cli.main([*COMMANDS[command], "--out-dir", str(tmp_path / "out")])
    assert code == 2 and stdout.getvalue() == ""
    assert stderr.getvalue().startswith("gatkit: error: ") and stderr.getvalue().endswith("\n")
    assert_cache_error(stderr.getvalue(), cache / "planetoid", "Read-only file system")


# --- a real read-only mount ----------------------------------------------------------------

MOUNT_READ_ONLY = 'mount --bind -o ro "$1" "$1" && shift && exec "$@"'


def in_read_only_mount(folder: Path, argv: list[str], **kwargs) -> subprocess.CompletedProcess:
    """Run ``argv`` in a private mount namespace where ``folder`` is bind-mounted read-only onto itself."""
    return subprocess.run(["unshare", "--mount", "--propagation", "private", "sh", "-c", MOUNT_READ_ONLY, "sh",
                           str(folder), *argv], capture_output=True, text=True, timeout=300, **kwargs)


@pytest.fixture(scope="module")
def read_only_mounts(tmp_path_factory) -> None:
    """Skip unless this machine lets us make a read-only bind mount (root, or CAP_SYS_ADMIN)."""
    if not shutil.which("unshare") or not shutil.which("mount"):
        pytest.skip("needs unshare and mount (util-linux)")
    folder = tmp_path_factory.mktemp("probe")
    try:
        probe = in_read_only_mount(folder, ["sh", "-c", f'touch "{folder}/x"'])
    except (OSError, subprocess.SubprocessError) as error:
        pytest.skip(f"cannot run unshare: {error}")
    if probe.returncode == 0 or "Read-only file system" not in probe.stderr or (folder / "x").exists():
        pytest.skip(f"no read-only bind mount here (unshare/mount: {probe.stderr.strip()[:200]})")


@pytest.mark.parametrize("command, planetoid_folder_exists", [("train", False), ("visualise dataset", True)])
def test_a_real_read_only_mount_is_one_line_and_exit_code_2(read_only_mounts, tmp_path, command,
                                                             planetoid_folder_exists):
    cache = tmp_path / "cache"
    (cache / "planetoid" if planetoid_folder_exists else cache).mkdir(parents=True)
    env = {**os.environ, "GATKIT_DATA_DIR": str(cache), "GATKIT_DATA_MIRROR": str(MIRROR), "OMP_NUM_THREADS": "1"}
    done = in_read_only_mount(cache, [sys.executable, "-m", "gatkit.cli", *COMMANDS[command],
                                      "--out-dir", str(tmp_path / "out")], cwd=ROOT, env=env)
    assert done.returncode == 2, done.stderr
    assert done.stdout == "" and done.stderr.startswith("gatkit: error: ") and done.stderr.count("\n") == 1
    assert_cache_error(done.stderr, cache / "planetoid", "Read-only file system")
    assert contents(cache / "planetoid") == []
