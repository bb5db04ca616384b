"""Build the ``.ipynb`` notebooks from the ``.py`` files and keep each pair in step, never losing an edit.

The ``.py`` files (jupytext percent format) are what git holds; the notebooks are built on demand
for JupyterLab and for nbval. Each ``NN_slug.py`` and its ``NN_slug.ipynb`` form a *pair*. Saving
in JupyterLab writes both files (``jupytext.toml`` pairs them), but other tools (VS Code, nbformat,
an editor opened on the ``.py``) write one only, so the two can disagree. The rule:

- A cell is *yours* when it is in one file and neither in the other file, nor among the cells
  this builder last wrote into the notebook (recorded in its metadata), nor, for a chapter, text
  the course generated (see :func:`course.chapters.known_cells`). Empty cells do not count.
- When only one file holds cells of yours, the other is behind and is brought up to date: the
  notebook is rebuilt from the ``.py`` (``updated``, keeping outputs and cell ids), or the ``.py``
  is rewritten from the notebook (``synced``), exactly as a save in JupyterLab would write it.
- When both hold cells of yours, nothing is written (``kept``) and the message says how to
  resolve it: ``./course chapters`` when the notebook's own cells are exercise answers the
  chapter generator can carry over, else ``--keep-notebook`` or ``--keep-py``, which first copy
  the file they replace to ``NAME.bak``. Meanwhile the notebook's time is set after the ``.py``'s:
  jupytext (JupyterLab) then refuses to open it, rather than open the ``.py``'s cells and lose
  the notebook's on the next save.
- Everything is written atomically, and a notebook this builder writes gets its ``.py``'s time,
  so jupytext opens the pair (a notebook more recent than its ``.py`` is refused).

Run ``python -m course.notebooks [FOLDER ...]`` (default: ``chapters`` and ``solutions``), or
``python -m course.notebooks --keep-notebook FILE`` / ``--keep-py FILE`` to settle one pair.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import re
import sys
from dataclasses import dataclass
from pathlib import Path

import jupytext
import nbformat
from jupytext.combine import combine_inputs_with_outputs
from jupytext.config import load_jupytext_configuration_file

from gatkit.files import atomic_write

FORMAT = "py:percent"
REPO_ROOT = Path(__file__).resolve().parents[2]  # the checkout: course-tools/course/ is two below
DEFAULT_FOLDERS = ("chapters", "solutions")
METADATA = "gatkit"  # notebook metadata: {"built": [digest of each cell this builder wrote]}; the name
# earlier versions of the course wrote, so notebooks they built are recognised
# How far after its .py a notebook is dated while the two disagree. jupytext refuses to open a
# notebook more recent than its .py by more than `outdated_text_notebook_margin` (1 s by default).
GUARD_SECONDS = 60.0
MERGE_CONFLICT = re.compile(r"^(<<<<<<<|>>>>>>>)( |$)", re.MULTILINE)


# --------------------------------------------------------------------------
# Cells
# --------------------------------------------------------------------------

def cell_key(cell: nbformat.NotebookNode) -> tuple[str, str, tuple[str, ...]]:
    """What makes two cells the same: kind, source (trailing blanks aside) and tags; not outputs or ids."""
    return cell.cell_type, cell.source.strip(), tuple(sorted(cell.metadata.get("tags", [])))


def cell_digest(cell: nbformat.NotebookNode) -> str:
    return hashlib.sha256(json.dumps(cell_key(cell)).encode()).hexdigest()[:24]


def cell_digests(cells) -> set[str]:
    return {cell_digest(cell) for cell in cells}


def is_blank(cell: nbformat.NotebookNode) -> bool:
    return not cell.source.strip()


def same_cells(a, b) -> bool:
    return [cell_key(c) for c in a if not is_blank(c)] == [cell_key(c) for c in b if not is_blank(c)]


def _whole_digest(notebook: nbformat.NotebookNode) -> str:
    """The one digest earlier versions of this builder recorded (``built_cells``)."""
    cells = [(c.cell_type, c.source.strip(), sorted(c.metadata.get("tags", []))) for c in notebook.cells]
    return hashlib.sha256(json.dumps(cells).encode()).hexdigest()


def built_digests(notebook: nbformat.NotebookNode) -> set[str]:
    """Digests of the cells this builder last wrote into ``notebook`` (empty when unknown)."""
    record = notebook.metadata.get(METADATA, {})
    if isinstance(record.get("built"), list):
        return set(record["built"])
    if record.get("built_cells") == _whole_digest(notebook):  # an untouched notebook of an older build
        return cell_digests(notebook.cells)
    return set()


def has_merge_conflict(text: str) -> bool:
    """True when ``text`` holds git's conflict markers (an unfinished merge)."""
    return bool(MERGE_CONFLICT.search(text))


def describe(cells, limit: int = 3) -> str:
    """A short list of cells for a message: exercise answers by id, other cells by their start."""
    from course.chapters import exercise_id  # the generator knows exercises; it imports this module

    parts = []
    for cell in cells:
        found = exercise_id(cell)
        if found:
            parts.append(f"an answer to exercise {found}")
        else:
            first = cell.source.strip().splitlines()[0]
            parts.append(f"the {cell.cell_type} cell {first[:40] + '...' if len(first) > 40 else first!r}")
    more = f" and {len(parts) - limit} more" if len(parts) > limit else ""
    return ", ".join(parts[:limit]) + more


# --------------------------------------------------------------------------
# Files
# --------------------------------------------------------------------------

def shown(path: Path) -> str:
    """``path`` as the learner would type it: relative to the current folder when inside it."""
    try:
        return str(path.resolve().relative_to(Path.cwd().resolve()))
    except ValueError:
        return str(path)


def jupytext_config(folder: Path):
    """The ``jupytext.toml`` of ``folder`` (how JupyterLab writes the ``.py`` there), or None."""
    path = folder / "jupytext.toml"
    return load_jupytext_configuration_file(str(path)) if path.exists() else None


def py_text(notebook: nbformat.NotebookNode, folder: Path) -> str:
    """The ``.py`` text JupyterLab would save for ``notebook`` in ``folder``."""
    return jupytext.writes(notebook, fmt=FORMAT, config=jupytext_config(folder))


def write_py(notebook: nbformat.NotebookNode, source: Path) -> bool:
    """Write ``source`` from ``notebook``'s cells, atomically; False (nothing written) when the
    percent format cannot hold them exactly."""
    text = py_text(notebook, source.parent)
    if not same_cells(jupytext.reads(text, fmt=FORMAT).cells, notebook.cells):
        return False
    atomic_write(source, text.encode("utf-8"))
    return True


def write_notebook(notebook: nbformat.NotebookNode, target: Path, source: Path) -> None:
    """Write ``target`` atomically, record its cells as built, and give it ``source``'s time."""
    notebook.metadata.setdefault(METADATA, {})["built"] = sorted(cell_digests(notebook.cells))
    notebook.metadata[METADATA].pop("built_cells", None)
    text = nbformat.writes(notebook)
    # atomic: JupyterLab never sees half a notebook, and a failed write keeps the old one
    atomic_write(target, (text if text.endswith("\n") else text + "\n").encode("utf-8"))
    # The pair is in step: jupytext opens a notebook no more recent than its .py without question.
    py_time = source.stat().st_mtime
    os.utime(target, (py_time, py_time))


def guard(target: Path, source: Path) -> None:
    """Date ``target`` after ``source`` so that jupytext refuses to open the disagreeing pair."""
    config = jupytext_config(source.parent)
    margin = float(getattr(config, "outdated_text_notebook_margin", 1.0) or 1.0)
    wanted = source.stat().st_mtime + margin + GUARD_SECONDS
    if target.stat().st_mtime < wanted:
        os.utime(target, (wanted, wanted))


def backup(path: Path) -> Path:
    """Copy ``path`` to ``NAME.bak`` (``NAME.1.bak``, ... when taken), atomically; return the copy."""
    copy, number = path.with_name(path.name + ".bak"), 0
    while copy.exists():
        number += 1
        copy = path.with_name(f"{path.name}.{number}.bak")
    atomic_write(copy, path.read_bytes())
    return copy


# --------------------------------------------------------------------------
# One pair
# --------------------------------------------------------------------------

@dataclass
class Result:
    """What happened to one pair: ``built``, ``current``, ``updated``, ``synced`` or ``kept``."""

    source: Path
    kind: str
    message: str = ""


def _solution(source: Path) -> Path | None:
    """The solution a chapter is generated from (``../solutions/NAME``); None for other files."""
    solution = source.parent.parent / "solutions" / source.name
    return solution if solution.exists() and solution.resolve() != source.resolve() else None


def _course_cells(source: Path, wanted: nbformat.NotebookNode) -> set[str]:
    """For a chapter: every cell the course generated, and the answers its .py keeps as text."""
    solution = _solution(source)
    if solution is None:
        return set()
    from course.chapters import kept_answers, known_cells

    return known_cells(source, solution) | cell_digests(kept_answers(wanted.cells))


def _diverged(source: Path, target: Path, notebook_only: list, py_only: list) -> Result:
    guard(target, source)
    nb, py = shown(target), shown(source)
    lines = [
        f"kept {nb} and {py}: each holds edits the other lacks, so neither was overwritten.",
        f"  only in the notebook: {describe(notebook_only)}",
        f"  only in the .py: {describe(py_only)}",
        "  Until this is settled JupyterLab refuses to open the notebook (\"more recent than\"), "
        "rather than show the .py's cells and lose the notebook's when you save.",
    ]
    advice = None
    solution = _solution(source)
    if solution is not None:
        from course.chapters import MarkerError, exercise_id, plan_chapter

        try:
            plan = plan_chapter(solution, source)
        except MarkerError:  # a solution being edited: no advice from the generator
            plan = None
        if plan is not None and plan.problem is None and plan.text is not None \
                and all(exercise_id(cell) for cell in notebook_only):
            advice = (f"  To settle it, run `./course chapters`: it writes {py} with the notebook's "
                      "answers carried over, and then rebuilds the notebook.")
    lines.append(advice or (
        "  To settle it, keep one of the two (the file replaced is first copied to NAME.bak, so you "
        "can copy anything back from it):\n"
        f"    ./course notebooks --keep-notebook {nb}    (rewrites the .py from the notebook)\n"
        f"    ./course notebooks --keep-py {nb}    (rebuilds the notebook from the .py)"))
    return Result(source, "kept", "\n".join(lines))


def sync_pair(source: Path) -> Result:
    """Bring ``source`` (a ``.py``) and its notebook into step if that loses nothing; see the module docs."""
    target = source.with_suffix(".ipynb")
    text = source.read_text(encoding="utf-8")
    if has_merge_conflict(text):
        return Result(source, "kept", f"kept {shown(target)}: {shown(source)} holds git's conflict markers "
                      "(<<<<<<<): finish the merge in it first (`git status` says how).")
    wanted = jupytext.reads(text, fmt=FORMAT)
    if not target.exists():
        write_notebook(wanted, target, source)
        return Result(source, "built")
    try:
        existing = nbformat.read(str(target), as_version=4)
    except Exception as error:  # noqa: BLE001 - any unreadable notebook is left as it is
        return Result(source, "kept", f"kept {shown(target)}: it cannot be read ({error}). Repair it, or "
                      f"move it away to get a fresh copy built from {shown(source)}.")
    if same_cells(existing.cells, wanted.cells):
        return Result(source, "current")

    built = built_digests(existing)
    py_digests = cell_digests(wanted.cells)
    notebook_only = [c for c in existing.cells if not is_blank(c) and cell_digest(c) not in py_digests | built]
    if notebook_only:
        course = _course_cells(source, wanted)
        notebook_only = [c for c in notebook_only if cell_digest(c) not in course]
    if not notebook_only:  # the notebook is behind: everything in it is in the .py or was ours
        write_notebook(combine_inputs_with_outputs(wanted, existing, fmt=FORMAT), target, source)
        return Result(source, "updated")

    notebook_digests = cell_digests(existing.cells)
    py_only = [c for c in wanted.cells if not is_blank(c) and cell_digest(c) not in notebook_digests | built]
    if not py_only:  # the .py is behind: the notebook was saved by a tool that does not write it
        if write_py(existing, source):
            return Result(source, "synced", f"synced {shown(source)} from {shown(target)}: the notebook "
                          f"had edits the .py lacked ({describe(notebook_only)}), saved by a tool other than "
                          "JupyterLab.")
        guard(target, source)
        return Result(source, "kept", f"kept {shown(target)}: it has edits {shown(source)} lacks "
                      f"({describe(notebook_only)}), and the .py format cannot hold them exactly. Open the "
                      "notebook in a tool other than JupyterLab and copy them out.")
    return _diverged(source, target, notebook_only, py_only)


def build_notebook(source: Path) -> str:
    """Build or update ``source``'s notebook; return what happened (``built``, ``current``, ...)."""
    return sync_pair(source).kind


def _pair(path: Path) -> tuple[Path, Path]:
    path = Path(path)
    return path.with_suffix(".py"), path.with_suffix(".ipynb")


def keep_notebook(path: Path) -> str:
    """Settle a pair for the notebook: rewrite the ``.py`` from it (the old ``.py`` copied to ``.bak``)."""
    source, target = _pair(path)
    notebook = nbformat.read(str(target), as_version=4)
    note = ""
    if source.exists():
        old = jupytext.read(source, fmt=FORMAT)
        notebook_digests = cell_digests(notebook.cells)
        if any(not is_blank(c) and cell_digest(c) not in notebook_digests for c in old.cells):
            note = f" (the old one is in {shown(backup(source))})"
    if not write_py(notebook, source):
        raise ValueError(f"{shown(target)} cannot be written as a percent-format .py exactly")
    return f"wrote {shown(source)} from {shown(target)}{note}"


def keep_py(path: Path) -> str:
    """Settle a pair for the ``.py``: rebuild the notebook from it (the old notebook copied to ``.bak``)."""
    source, target = _pair(path)
    wanted = jupytext.read(source, fmt=FORMAT)
    note, notebook = "", None
    if target.exists():
        try:
            notebook = nbformat.read(str(target), as_version=4)
        except Exception:  # noqa: BLE001 - unreadable: keep a copy and build afresh
            notebook = None
        py_digests = cell_digests(wanted.cells)
        if notebook is None or any(not is_blank(c) and cell_digest(c) not in py_digests for c in notebook.cells):
            note = f" (the old one is in {shown(backup(target))})"
    rebuilt = combine_inputs_with_outputs(wanted, notebook, fmt=FORMAT) if notebook is not None else wanted
    write_notebook(rebuilt, target, source)
    return f"rebuilt {shown(target)} from {shown(source)}{note}"


# --------------------------------------------------------------------------
# Folders and the command line
# --------------------------------------------------------------------------

def build_all(folders: list[Path]) -> dict[Path, Result]:
    """Build or update the notebooks of every ``NN_slug.py`` in ``folders``; report what happened."""
    results = {}
    for folder in folders:
        for source in sorted(Path(folder).glob("[0-9][0-9]_*.py")):
            results[source] = sync_pair(source)
    return results


def report(results: dict[Path, Result]) -> None:
    for source, result in results.items():
        if result.kind == "kept":
            print(result.message, file=sys.stderr)
        elif result.kind != "current":
            print(result.message or f"{result.kind} {shown(source.with_suffix('.ipynb'))}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("folders", nargs="*", type=Path,
                        help="folders of NN_slug.py files (default: chapters solutions)")
    choice = parser.add_mutually_exclusive_group()
    choice.add_argument("--keep-notebook", nargs="+", type=Path, metavar="FILE",
                        help="settle a pair for its notebook: rewrite the .py from it (old .py kept as .bak)")
    choice.add_argument("--keep-py", nargs="+", type=Path, metavar="FILE",
                        help="settle a pair for its .py: rebuild the notebook (old notebook kept as .bak)")
    args = parser.parse_args(argv)
    if args.keep_notebook or args.keep_py:
        keep, paths = (keep_notebook, args.keep_notebook) if args.keep_notebook else (keep_py, args.keep_py)
        status = 0
        for path in paths:
            try:
                print(keep(path))
            except (OSError, ValueError) as error:
                print(f"error: {error}", file=sys.stderr)
                status = 1
        return status
    folders = args.folders or [REPO_ROOT / name for name in DEFAULT_FOLDERS]
    report(build_all(folders))
    return 0  # a kept pair is reported, not an error: `./course lab` still opens JupyterLab


if __name__ == "__main__":
    sys.exit(main())
