"""Fixtures for the browser tests: a copy of the course, JupyterLab on it, and Chromium.

The tests work on a copy (the course's files, not its notebooks or data), so a learner's own
notebooks are never touched; the copy uses the environment ``./course`` set up for this checkout.
"""

from __future__ import annotations

import os
import secrets
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from labdriver import LabServer

ROOT = Path(__file__).resolve().parents[2]
VENV = Path(sys.prefix)
ARTIFACTS = Path(os.environ.get("GATKIT_TEST_ARTIFACTS", ROOT / "test-artifacts")) / "browser"
BROWSER_NAMES = ("chromium", "chromium-browser")  # Debian's package, and its name elsewhere
COURSE_FILES = ("course", "pyproject.toml", "course-tools/pyproject.toml", "conftest.py", "README.md")


def chromium_path() -> str | None:
    explicit = os.environ.get("GATKIT_CHROMIUM")
    if explicit:
        return explicit
    return next(filter(None, map(shutil.which, BROWSER_NAMES)), None)


def missing(reason: str):
    """No browser here: CI must have one (fail); a learner's machine may not (skip, saying how)."""
    if os.environ.get("CI"):
        pytest.fail(f"{reason} (CI must run the browser test)", pytrace=False)
    pytest.skip(reason)


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    report = (yield).get_result()
    setattr(item, f"report_{report.when}", report)  # lets the page fixture see a failure


@pytest.fixture(scope="session")
def artifacts() -> Path:
    try:
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        pytest.fail(f"cannot write the browser test's screenshots to {ARTIFACTS} ({error}); "
                    "set GATKIT_TEST_ARTIFACTS to a writable folder", pytrace=False)
    return ARTIFACTS


@pytest.fixture(scope="session")
def course_copy(tmp_path_factory) -> Path:
    """The course as a fresh clone has it (its files, no notebooks), in a scratch folder."""
    if not (VENV / ".gatkit-installed").exists():
        pytest.fail(f"{VENV} was not set up by ./course; run the tests with ./course test", pytrace=False)
    # Make sure the environment is current for this checkout, so ./course lab in the copy (same
    # course and pyproject.toml) finds nothing to install: an install from the copy would point
    # the environment's gatkit at the scratch folder.
    subprocess.run([str(ROOT / "course"), "setup"], check=True, env={**os.environ, "GATKIT_VENV": str(VENV)})
    copy = tmp_path_factory.mktemp("course")
    for name in COURSE_FILES:
        (copy / name).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(ROOT / name, copy / name)
    for folder in ("chapters", "solutions"):
        (copy / folder).mkdir()
        for source in [*(ROOT / folder).glob("[0-9][0-9]_*.py"), ROOT / folder / "jupytext.toml"]:
            shutil.copy2(source, copy / folder / source.name)
    return copy


@pytest.fixture(scope="session")
def lab(course_copy, tmp_path_factory):
    server = LabServer.start(course_copy, VENV, tmp_path_factory.mktemp("jupyter"), secrets.token_hex(16))
    yield server
    server.stop()


@pytest.fixture(scope="session")
def browser():
    executable = chromium_path()
    if executable is None:
        missing("no Chromium found: install Debian's chromium package (./course test does so when "
                "run as root) or set GATKIT_CHROMIUM to a Chromium executable")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        missing("the Playwright client is not installed: pip install -e '.[dev]' (./course test does)")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=executable, headless=True)
        yield browser
        browser.close()


@pytest.fixture
def page(browser, lab, artifacts, request):
    """A fresh browser tab; a screenshot of it is kept when the test fails. Kernels stop after."""
    context = browser.new_context(viewport={"width": 1280, "height": 800})
    page = context.new_page()
    page.set_default_timeout(30_000)
    yield page
    report = getattr(request.node, "report_call", None)
    if report is not None and report.failed:
        page.screenshot(path=artifacts / f"FAILED_{request.node.name}.png")
    context.close()
    lab.shut_down_kernels()  # two PyTorch kernels on two cores slow each other down badly
