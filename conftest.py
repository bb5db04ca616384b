"""Test-session set-up shared by the unit tests and the notebook suite (nbval)."""

import os
from pathlib import Path

ROOT = Path(__file__).resolve().parent
SHARED_MIRROR = ROOT.parent / "shared" / "data" / "planetoid"

# Tests never touch the internet: use the local Planetoid mirror beside the checkout when there
# is one (CI and development here). Set before any notebook kernel starts, so kernels inherit it.
if "GATKIT_DATA_MIRROR" not in os.environ and SHARED_MIRROR.is_dir():
    os.environ["GATKIT_DATA_MIRROR"] = str(SHARED_MIRROR)
os.environ.setdefault("MPLBACKEND", "Agg")  # no windows from notebook kernels under test


def pytest_configure(config):
    # Build (never overwrite edited) notebooks from the .py chapters before nbval collects them.
    if getattr(config.option, "nbval", False) or getattr(config.option, "nbval_lax", False):
        from gatkit.notebooks import DEFAULT_FOLDERS, build_all, report

        report(build_all([ROOT / name for name in DEFAULT_FOLDERS]))


def pytest_collectstart(collector):
    # The notebooks carry no reference outputs: a learner's saved outputs are their own runs
    # (timings, random draws), so nbval only checks that every cell runs. Correctness is
    # asserted inside the notebooks (shape asserts and exercise checks).
    if type(collector).__name__ == "IPyNbFile":
        collector.compare_outputs = False
