"""Build the ``.ipynb`` notebooks from the committed ``.py`` chapters, never losing a learner's work.

The ``.py`` files (jupytext percent format) are what git holds; the notebooks are built on demand
for JupyterLab and for nbval. For each ``NN_slug.py`` the builder

- writes ``NN_slug.ipynb`` when it is missing;
- does nothing when the notebook already holds the same cells (the usual case: JupyterLab saves
  both files of the pair together);
- updates the notebook's cells in place (keeping cell ids and outputs) when the notebook is
  exactly as this builder last wrote it, so a new version of the chapter reaches the learner;
- otherwise leaves the notebook alone and says so: its cells were edited and the ``.py`` lacks
  those edits (for example a notebook edited without jupytext), and only the learner may decide.

Run ``python -m course.notebooks [FOLDER ...]`` (default: ``chapters`` and ``solutions``).
"""

from __future__ import annotations

import hashlib
import json
import sys
from pathlib import Path

import jupytext
import nbformat
from jupytext.combine import combine_inputs_with_outputs

from gatkit.files import atomic_write

FORMAT = "py:percent"
REPO_ROOT = Path(__file__).resolve().parents[2]  # the checkout: course-tools/course/ is two below
DEFAULT_FOLDERS = ("chapters", "solutions")


def cell_digest(notebook: nbformat.NotebookNode) -> str:
    """Fingerprint of a notebook's cells: their kinds, sources and tags (not outputs or ids)."""
    cells = [
        (cell.cell_type, cell.source.strip(), sorted(cell.metadata.get("tags", [])))
        for cell in notebook.cells
    ]
    return hashlib.sha256(json.dumps(cells).encode()).hexdigest()


def _write(notebook: nbformat.NotebookNode, path: Path) -> None:
    notebook.metadata.setdefault("gatkit", {})["built_cells"] = cell_digest(notebook)
    text = nbformat.writes(notebook)
    # atomic: JupyterLab never sees half a notebook, and a failed write keeps the old one
    atomic_write(path, (text if text.endswith("\n") else text + "\n").encode("utf-8"))


def build_notebook(source: Path) -> str:
    """Build ``source.with_suffix('.ipynb')``; return ``built``, ``updated``, ``current`` or ``kept``."""
    target = source.with_suffix(".ipynb")
    wanted = jupytext.read(source, fmt=FORMAT)
    if not target.exists():
        _write(wanted, target)
        return "built"

    existing = nbformat.read(str(target), as_version=4)
    if cell_digest(existing) == cell_digest(wanted):
        return "current"
    if existing.metadata.get("gatkit", {}).get("built_cells") != cell_digest(existing):
        return "kept"  # edited since we built it, and the .py does not hold those edits
    _write(combine_inputs_with_outputs(wanted, existing, fmt=FORMAT), target)
    return "updated"


def build_all(folders: list[Path]) -> dict[Path, str]:
    """Build the notebooks of every ``NN_slug.py`` in ``folders``; report what happened to each."""
    results = {}
    for folder in folders:
        for source in sorted(folder.glob("[0-9][0-9]_*.py")):
            results[source] = build_notebook(source)
    return results


def report(results: dict[Path, str]) -> None:
    for source, outcome in results.items():
        if outcome == "kept":
            print(
                f"kept {source.with_suffix('.ipynb')}: it has edits that {source.name} lacks, so it "
                f"was not rebuilt. Save it in JupyterLab (which updates {source.name}) or delete it "
                "to get a fresh copy.",
                file=sys.stderr,
            )
        elif outcome != "current":
            print(f"{outcome} {source.with_suffix('.ipynb')}")


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    folders = [Path(a) for a in args] or [REPO_ROOT / name for name in DEFAULT_FOLDERS]
    report(build_all(folders))
    return 0


if __name__ == "__main__":
    sys.exit(main())
