"""Test-session set-up shared by the unit tests and the notebook suite (nbval)."""

import os
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent
SHARED_MIRROR = ROOT.parent / "shared" / "data"

# Tests never touch the internet: use the local mirror beside the checkout when there is one (CI
# and development here; its planetoid/ and heterophilous/ subfolders serve both collections). Set
# before any notebook kernel starts, so kernels inherit it.
if "GATKIT_DATA_MIRROR" not in os.environ and SHARED_MIRROR.is_dir():
    os.environ["GATKIT_DATA_MIRROR"] = str(SHARED_MIRROR)
os.environ.setdefault("MPLBACKEND", "Agg")  # no windows from notebook kernels under test


def pytest_configure(config):
    # Build (never overwrite edited) notebooks from the .py chapters before nbval collects them.
    if getattr(config.option, "nbval", False) or getattr(config.option, "nbval_lax", False):
        from course.notebooks import DEFAULT_FOLDERS, build_all, report

        report(build_all([ROOT / name for name in DEFAULT_FOLDERS]))


def pytest_collectstart(collector):
    # The notebooks carry no reference outputs: a learner's saved outputs are their own runs
    # (timings, random draws), so nbval only checks that every cell runs. Correctness is
    # asserted inside the notebooks (shape asserts and exercise checks).
    if type(collector).__name__ == "IPyNbFile":
        collector.compare_outputs = False


# --------------------------------------------------------------------------
# The exercise summary: what each notebook's exercise checks reported under nbval
# --------------------------------------------------------------------------

EXERCISES: dict[str, dict[str, str]] = {}  # notebook -> {exercise id -> outcome}
ANSI_ESCAPE = re.compile(r"\x1b\[[0-9;]*m")


def _output_text(output: dict) -> str:
    if output.get("output_type") == "stream":
        return output.get("text", "")
    if output.get("output_type") == "error":
        return "\n".join(output.get("traceback", []))
    return output.get("data", {}).get("text/plain", "")


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    report = (yield).get_result()
    if report.when != "call" or getattr(item, "test_outputs", None) is None:
        return  # not a notebook cell
    from course.checks.core import outcomes_in

    text = "\n".join(_output_text(output) for output in item.test_outputs)
    if report.failed:
        text += "\n" + report.longreprtext
    found = outcomes_in(ANSI_ESCAPE.sub("", text))
    if found:
        EXERCISES.setdefault(item.nodeid.split("::")[0], {}).update(found)


def pytest_terminal_summary(terminalreporter):
    if not EXERCISES:
        return
    from course.checks.core import OUTCOMES
    from course.exercise_ids import exercise_order

    terminalreporter.write_sep("=", "exercises")
    totals = dict.fromkeys(OUTCOMES.values(), 0)
    for notebook, found in sorted(EXERCISES.items()):
        ids = sorted(found, key=exercise_order)
        parts = []
        for outcome in totals:
            these = [exercise_id for exercise_id in ids if found[exercise_id] == outcome]
            totals[outcome] += len(these)
            if these:
                parts.append(f"{outcome} {', '.join(these)}")
        terminalreporter.write_line(f"{notebook}: {'; '.join(parts)}")
    terminalreporter.write_line("in all: " + ", ".join(f"{outcome} {count}" for outcome, count in totals.items()))
