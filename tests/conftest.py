"""Fixtures shared by the unit tests, and their reports."""

import sys
import urllib.parse

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
