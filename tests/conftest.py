"""Fixtures shared by the unit tests, and their reports."""

import http.server
import sys
import threading
import urllib.parse
from pathlib import Path

import pytest
import requests


def pytest_terminal_summary(terminalreporter):
    module = sys.modules.get("test_mutations")
    if module is None or not module.KILLS:
        return
    terminalreporter.write_sep("=", "mutation suites")
    by_chapter: dict[int, list[int]] = {}
    for exercise, (killed, total) in module.KILLS.items():
        tally = by_chapter.setdefault(int(exercise.split(".")[0]), [0, 0])
        tally[0] += killed
        tally[1] += total
    for chapter, (killed, total) in sorted(by_chapter.items()):
        terminalreporter.write_line(f"chapter {chapter:02d}: {killed} of {total} mutants rejected")
    killed = sum(k for k, _ in by_chapter.values())
    total = sum(t for _, t in by_chapter.values())
    terminalreporter.write_line(f"in all: {killed} of {total} mutants rejected ({killed / total:.1%})")


@pytest.fixture
def blocked_urls(monkeypatch):
    """Clear gatkit's env vars and refuse every URL that is not on localhost.

    Returns the list of refused URLs, so a test can see what was asked for.
    """
    for var in ("GATKIT_DATA_MIRROR", "GATKIT_DATA_DIR"):
        monkeypatch.delenv(var, raising=False)
    # A CI proxy must not intercept requests to our local test server.
    monkeypatch.setenv("no_proxy", "127.0.0.1,localhost")
    monkeypatch.setenv("NO_PROXY", "127.0.0.1,localhost")
    refused: list[str] = []
    real_send = requests.adapters.HTTPAdapter.send

    def guarded(adapter, request, *args, **kwargs):
        if urllib.parse.urlsplit(request.url).hostname not in ("127.0.0.1", "localhost"):
            refused.append(request.url)
            raise requests.ConnectionError("network disabled in tests")
        return real_send(adapter, request, *args, **kwargs)

    monkeypatch.setattr(requests.adapters.HTTPAdapter, "send", guarded)
    return refused


class _MirrorHandler(http.server.BaseHTTPRequestHandler):
    """Serves ``server.folder``; misbehaves on ``server.target`` according to ``server.mode``."""

    def do_GET(self):  # noqa: N802 (http.server naming)
        self.server.requests.append(self.path)
        name = self.path.lstrip("/")
        path = self.server.folder / name
        bad = name == self.server.target
        if not path.is_file() or (bad and self.server.mode == "404"):
            self.send_error(404)
            return
        body = path.read_bytes()
        length = len(body)
        if bad:
            body, length = _misbehave(self.server.mode, body)
        self.send_response(200)
        self.send_header("Content-Length", str(length))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


def _misbehave(mode: str, body: bytes) -> tuple[bytes, int]:
    """(bytes to send, Content-Length to announce) for a misbehaving server."""
    half = body[: len(body) // 2]
    if mode == "truncate":  # honest about sending half
        return half, len(half)
    if mode == "die":  # promises everything, hangs up halfway
        return half, len(body)
    if mode == "tamper":  # same length, one byte flipped
        i = len(body) // 2
        tampered = body[:i] + bytes([body[i] ^ 0xFF]) + body[i + 1:]
        return tampered, len(tampered)
    if mode == "long":
        return body + b"extra", len(body) + 5
    return body, len(body)


@pytest.fixture
def serve(monkeypatch):
    """Start an HTTP mirror of a folder; ``serve(folder, mode, target)`` returns the server.

    Sets GATKIT_DATA_MIRROR to it; ``server.requests`` lists the paths asked for. ``mode``
    ("404", "truncate", "die", "tamper", "long") is how it misbehaves on the file ``target``.
    """
    servers = []

    def start(folder: Path, mode: str = "ok", target: str | None = None):
        server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _MirrorHandler)
        server.folder, server.mode, server.target, server.requests = folder, mode, target, []
        server.daemon_threads = True
        threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05},
                         daemon=True).start()
        servers.append(server)
        monkeypatch.setenv("GATKIT_DATA_MIRROR", f"http://127.0.0.1:{server.server_port}/")
        return server

    yield start
    for server in servers:
        server.shutdown()
        server.server_close()
