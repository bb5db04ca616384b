"""Generate the student chapters from the solutions, carrying a learner's answers into each new version.

``solutions/NN_slug.py`` (jupytext percent format) is the one hand-edited source of every
chapter. The student version ``chapters/NN_slug.py`` is derived from it (:func:`make_chapter`):

- each region between ``### BEGIN SOLUTION`` and ``### END SOLUTION`` inside a code cell becomes
  an indent-preserving ``# YOUR CODE HERE (about N lines)`` plus
  ``raise NotImplementedError("Exercise X.Y: ...")``, where X.Y is the exercise whose
  ``## Exercise X.Y: title`` heading precedes the region;
- cells tagged ``solution`` (prose answers) are dropped;
- nothing else changes, so the two versions never drift apart.

A chapter may hold a learner's work, in the ``.py`` or in its notebook ``NN_slug.ipynb`` beside
it, committed or not. *Course text* is every cell the generator produced for the chapter from
any version of its solution it can know (the current file, every version in git's history, and
the version it last wrote here, recorded under ``.git/course-chapters/``). Any other non-empty cell
is the learner's:

- an *answer* when it is an exercise's code cell (found by the ``exercise("X.Y", ...)`` call or
  the stub's ``NotImplementedError("Exercise X.Y: ...")``, else by the ``## Exercise X.Y`` heading
  just before it): regenerating puts it in place of that exercise's stub, so the rest of the
  chapter is the new version. An answer to an exercise the new version lacks (removed, renumbered,
  or its id now given to another exercise: the answer defines none of the functions or classes
  the new stub defines) is kept as a raw (text) cell at the end;
- a *note* otherwise (prose or code edited or added outside the exercises).

A chapter is not written when that would drop a note from it, when the ``.py`` and the notebook
hold different answers to one exercise, or when it holds git's conflict markers: the message
says what to do. ``--force`` writes over notes (the file is first copied to ``NN_slug.py.bak``);
answers are carried over even then. After writing a chapter whose notebook exists, the notebook
is brought in step (:mod:`course.notebooks`).

Run ``python -m course.chapters`` to regenerate, ``python -m course.chapters --check`` to fail
when the committed chapters differ from what the solutions generate (CI does this; a chapter
holding answers differs).
"""

from __future__ import annotations

import argparse
import copy
import hashlib
import re
import subprocess
import sys
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path

import jupytext
import nbformat

from course import notebooks
from course.exercise_ids import exercise_order
from course.notebooks import FORMAT, cell_digest, cell_digests, has_merge_conflict, is_blank, shown
from gatkit.files import atomic_write

BEGIN = "### BEGIN SOLUTION"
END = "### END SOLUTION"
CELL_MARKER = re.compile(r"^# %%")
SOLUTION_CELL = re.compile(r"^# %%.*tags=\[[^\]]*\"solution\"")
EXERCISE_HEADING = re.compile(r"^#\s+#{2,4}\s+Exercise\s+(\d+\.\d+)\s*:\s*(.+?)\s*$")
# An exercise's code cell, as the stub writes it and as a learner keeps it.
STUB_RAISE = re.compile(r"""NotImplementedError\(\s*["']Exercise (\d+\.\d+):""")
EXERCISE_CALL = re.compile(r"""\bexercise\(\s*["'](\d+\.\d+)["']""")
MARKDOWN_HEADING = re.compile(r"^#{2,4}\s+Exercise\s+(\d+\.\d+)\s*:", re.MULTILINE)
DEFINITION = re.compile(r"^\s*(?:def|class) (\w+)\b", re.MULTILINE)
STUB_LINE = re.compile(r"^\s*(# YOUR CODE HERE\b|raise NotImplementedError\()")
# The first words of a raw cell holding an answer to an exercise the chapter no longer has.
KEPT = "Kept by ./course chapters:"
HISTORY_LIMIT = 500  # versions of a solution read from git


class MarkerError(ValueError):
    """A solution file whose solution markers cannot be turned into a chapter."""


@dataclass(frozen=True)
class Exercise:
    """An exercise heading found in a solution file."""

    id: str
    title: str
    line: int


def find_exercises(text: str) -> list[Exercise]:
    """Return the ``## Exercise X.Y: title`` headings of a percent-format file, in order."""
    found = []
    for number, line in enumerate(text.splitlines(), start=1):
        match = EXERCISE_HEADING.match(line)
        if match:
            found.append(Exercise(match.group(1), match.group(2), number))
    return found


def _stub(indent: str, exercise: Exercise, n_lines: int) -> list[str]:
    size = "1 line" if n_lines == 1 else f"about {n_lines} lines"
    message = f"Exercise {exercise.id}: {exercise.title}"
    return [
        f"{indent}# YOUR CODE HERE ({size})\n",
        f"{indent}raise NotImplementedError({message!r})\n",
    ]


def make_chapter(text: str, source: str = "<solution>") -> str:
    """Turn the text of a solution file into the text of its student chapter.

    Raises
    ------
    MarkerError
        For a nested, unterminated or stray marker, or a region with no exercise heading
        before it. The message names ``source`` and the line.
    """
    out: list[str] = []
    exercise: Exercise | None = None
    region_start: int | None = None
    region_lines = 0
    indent = ""
    dropping_cell = False

    for number, line in enumerate(text.splitlines(keepends=True), start=1):
        stripped = line.strip()
        where = f"{source}:{number}"

        if CELL_MARKER.match(line):
            if region_start is not None:
                raise MarkerError(f"{where}: new cell before {END} (region opened at line {region_start})")
            dropping_cell = bool(SOLUTION_CELL.match(line))
        if dropping_cell:
            continue

        heading = EXERCISE_HEADING.match(line)
        if heading:
            exercise = Exercise(heading.group(1), heading.group(2), number)

        if stripped == BEGIN:
            if region_start is not None:
                raise MarkerError(f"{where}: nested {BEGIN} (region opened at line {region_start})")
            if exercise is None:
                raise MarkerError(f"{where}: {BEGIN} with no '## Exercise X.Y: title' heading before it")
            region_start, region_lines = number, 0
            indent = line[: len(line) - len(line.lstrip())]
        elif stripped == END:
            if region_start is None:
                raise MarkerError(f"{where}: {END} without a matching {BEGIN}")
            out.extend(_stub(indent, exercise, max(region_lines, 1)))
            region_start = None
        elif region_start is not None:
            region_lines += bool(stripped)
        else:
            out.append(line)

    if region_start is not None:
        raise MarkerError(f"{source}:{region_start}: {BEGIN} is never closed by {END}")
    return "".join(out)


# --------------------------------------------------------------------------
# Cells: exercises and course text
# --------------------------------------------------------------------------

def exercise_id(cell: nbformat.NotebookNode) -> str | None:
    """The exercise a code cell belongs to, from its stub's ``NotImplementedError("Exercise X.Y: ...")``
    or its ``exercise("X.Y", ...)`` call; None for other cells (and for a cell naming two)."""
    if cell.cell_type != "code":
        return None
    found = set(STUB_RAISE.findall(cell.source)) or set(EXERCISE_CALL.findall(cell.source))
    return found.pop() if len(found) == 1 else None


def _stub_id(cell: nbformat.NotebookNode) -> str | None:
    """The exercise of a stub cell: only cells holding a stub are an exercise's place in the chapter."""
    found = set(STUB_RAISE.findall(cell.source)) if cell.cell_type == "code" else set()
    return found.pop() if len(found) == 1 else None


_STUB_DIGESTS: dict[str, set[str]] = {}


def _stub_digests(solution_text: str) -> set[str]:
    key = hashlib.sha256(solution_text.encode()).hexdigest()
    if key not in _STUB_DIGESTS:
        try:
            _STUB_DIGESTS[key] = cell_digests(jupytext.reads(make_chapter(solution_text), fmt=FORMAT).cells)
        except MarkerError:  # a broken version in history generated no chapter
            _STUB_DIGESTS[key] = set()
    return _STUB_DIGESTS[key]


def solution_history(solution: Path) -> list[str]:
    """Every version of ``solution`` that git's history holds (any branch), newest first; [] without git."""
    def git(*args: str, cwd: Path, stdin: bytes | None = None) -> bytes:
        return subprocess.run(["git", *args], cwd=cwd, input=stdin, capture_output=True, check=True).stdout

    try:
        top = Path(git("rev-parse", "--show-toplevel", cwd=solution.parent).decode().strip())
        path = solution.resolve().relative_to(top.resolve()).as_posix()
        commits = git("log", "--all", f"--max-count={HISTORY_LIMIT}", "--format=%H", "--", path, cwd=top).split()
        if not commits:
            return []
        out = git("cat-file", "--batch", cwd=top, stdin=b"".join(c + b":" + path.encode() + b"\n" for c in commits))
    except (OSError, ValueError, subprocess.CalledProcessError):
        return []
    texts, position = [], 0
    while position < len(out):
        end = out.index(b"\n", position)
        header, position = out[position:end].split(), end + 1
        if len(header) == 3 and header[1] == b"blob":  # "<sha> blob <size>", else "<name> missing"
            size = int(header[2])
            texts.append(out[position:position + size].decode("utf-8", "replace"))
            position += size + 1
    return list(dict.fromkeys(texts))


def _record_path(chapter: Path) -> Path | None:
    """Where the stub last generated for ``chapter`` is kept: inside the git folder, never committed."""
    try:
        out = subprocess.run(["git", "rev-parse", "--git-path", f"course-chapters/{chapter.name}"],
                             cwd=chapter.parent, capture_output=True, text=True, check=True).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return None
    return chapter.parent / out if out else None


def record_stub(chapter: Path, stub_text: str) -> None:
    """Remember the stub just written for ``chapter``, so that its cells count as course text later."""
    record = _record_path(chapter)
    if record is not None:
        try:
            atomic_write(record, stub_text.encode("utf-8"))
        except OSError:
            pass  # only a convenience: without it, git's history still knows the committed versions


def known_cells(chapter: Path, solution: Path) -> set[str]:
    """Digests of every cell the course generated for ``chapter``: from the current ``solution``, from
    every version of it in git's history, and the stub this checkout last wrote."""
    digests = set()
    for text in [solution.read_text(encoding="utf-8"), *solution_history(solution)]:
        digests |= _stub_digests(text)
    record = _record_path(chapter)
    if record is not None and record.exists():
        digests |= cell_digests(jupytext.reads(record.read_text(encoding="utf-8"), fmt=FORMAT).cells)
    return digests


@dataclass
class Work:
    """A learner's cells in one file: answers by exercise id, answers kept as text, and notes."""

    answers: dict[str, list] = field(default_factory=dict)
    kept: list = field(default_factory=list)
    notes: list = field(default_factory=list)


def find_work(cells, known: set[str]) -> Work:
    """Sort the cells of a chapter that are not course text (``known`` digests) and not empty."""
    work, previous = Work(), None
    for cell in cells:
        if not is_blank(cell) and cell_digest(cell) not in known:
            if cell.cell_type == "raw" and cell.source.startswith(KEPT):
                work.kept.append(cell)
            else:
                found = exercise_id(cell)
                if found is None and cell.cell_type == "code" and DEFINITION.search(cell.source) \
                        and previous is not None and previous.cell_type == "markdown":
                    # an exercise's function right after its heading cell, its exercise() line deleted
                    headings = MARKDOWN_HEADING.findall(previous.source)
                    found = headings[-1] if headings else None
                if found:
                    work.answers.setdefault(found, []).append(cell)
                else:
                    work.notes.append(cell)
        previous = cell
    return work


# --------------------------------------------------------------------------
# Planning one chapter
# --------------------------------------------------------------------------

@dataclass
class Plan:
    """What regenerating one chapter does: the text to write (None: nothing), or why it cannot."""

    chapter: Path
    stub: str = ""  # the new version with no answers
    text: str | None = None
    carried: list[str] = field(default_factory=list)
    orphans: dict[str, str] = field(default_factory=dict)  # exercise id -> what it may have become
    changed: dict[str, list[str]] = field(default_factory=dict)  # exercise id -> new lines it lacks
    notes_in_py: list = field(default_factory=list)
    notes_in_notebook: list = field(default_factory=list)
    backup: bool = False
    problem: str | None = None


def _read_notebook(path: Path) -> nbformat.NotebookNode | None:
    try:
        return nbformat.read(str(path), as_version=4) if path.exists() else None
    except Exception:  # noqa: BLE001 - an unreadable notebook is the notebook builder's to report
        return None


def _missing_frame(stub_cell, answer) -> list[str]:
    """Lines of the new stub's cell, other than the stub itself, that the learner's cell lacks."""
    have = {line.strip() for line in answer.source.splitlines()}
    frame = [line.strip() for line in stub_cell.source.splitlines() if line.strip() and not STUB_LINE.match(line)]
    return [line for line in frame if line not in have]


def _successor(cells, exercise: str, stub_cells) -> str:
    """`` (it may have become exercise 1.5)`` when the new version's 1.5 defines a function of ``cells``."""
    names = {name for cell in cells for name in DEFINITION.findall(cell.source)}
    for cell in stub_cells:
        found = _stub_id(cell)
        if found and found != exercise and names & set(DEFINITION.findall(cell.source)):
            return f" (it may have become exercise {found})"
    return ""


def _replaced(answer_cells, stub_cells, exercise: str) -> bool:
    """Whether the new version's exercise ``exercise`` is another exercise than the one answered:
    both define functions or classes, and none of the answer's names."""
    answered = {name for cell in answer_cells for name in DEFINITION.findall(cell.source)}
    wanted = {name for cell in stub_cells if _stub_id(cell) == exercise for name in DEFINITION.findall(cell.source)}
    return bool(answered and wanted and not answered & wanted)


def kept_answers(cells) -> list[nbformat.NotebookNode]:
    """The answers that raw cells written by :func:`_kept_cell` hold, as the code cells they were."""
    return [nbformat.v4.new_code_cell(cell.source.split("\n\n", 1)[1]) for cell in cells
            if cell.cell_type == "raw" and cell.source.startswith(KEPT) and "\n\n" in cell.source]


def _kept_cell(exercise: str, hint: str, answer) -> nbformat.NotebookNode:
    return nbformat.v4.new_raw_cell(
        f"{KEPT} your answer to exercise {exercise}, which this version of the chapter does not have{hint}.\n"
        "It is kept here as text so that the chapter still runs: copy what you need into its exercises.\n\n"
        + answer.source.strip())


def plan_chapter(solution: Path, chapter: Path, *, force: bool = False) -> Plan:
    """Plan the regeneration of ``chapter`` from ``solution``, carrying the learner's answers over.

    Reads the chapter and its notebook; writes nothing. See the module docs for the rule.
    """
    stub_text = make_chapter(solution.read_text(encoding="utf-8"), source=str(solution))
    plan = Plan(chapter, stub=stub_text)
    old_text = chapter.read_text(encoding="utf-8") if chapter.exists() else None
    if old_text is not None and has_merge_conflict(old_text):
        plan.problem = (f"kept {shown(chapter)}: it holds git's conflict markers (<<<<<<<). Finish the "
                        "merge in it first (`git status` says how), then run this again.")
        return plan
    notebook = _read_notebook(chapter.with_suffix(".ipynb"))
    py_cells = jupytext.reads(old_text, fmt=FORMAT).cells if old_text is not None else []
    if old_text == stub_text and (notebook is None or notebooks.same_cells(notebook.cells, py_cells)):
        return plan  # up to date, and no answers anywhere

    known = known_cells(chapter, solution)
    in_py = find_work(py_cells, known)
    # A notebook's cell is not the learner's when the .py has it, or when the notebook builder copied
    # it from an earlier .py (the .py is then the authority; never use that record for the .py: it
    # holds the answers the builder copied).
    in_notebook = Work()
    if notebook is not None:
        in_notebook = find_work(notebook.cells, known | cell_digests(py_cells) | notebooks.built_digests(notebook))
    clash = sorted(set(in_py.answers) & set(in_notebook.answers), key=exercise_order)
    if clash:
        py, nb = shown(chapter), shown(chapter.with_suffix(".ipynb"))
        plan.problem = (
            f"kept {py}: it and {nb} hold different answers to exercise {', '.join(clash)}, so nothing was "
            "written. Keep one file's version (the file replaced is first copied to NAME.bak):\n"
            f"    ./course notebooks --keep-notebook {nb}    (rewrites the .py from the notebook)\n"
            f"    ./course notebooks --keep-py {nb}    (rebuilds the notebook from the .py)\n"
            "  then run `./course chapters` again.")
        return plan

    stub_cells = jupytext.reads(stub_text, fmt=FORMAT).cells
    places: dict[str, int] = {}  # exercise id -> how many stub cells it has in the new version
    for cell in stub_cells:
        if _stub_id(cell):
            places[_stub_id(cell)] = places.get(_stub_id(cell), 0) + 1
    notes_py, notes_nb = list(in_py.notes), list(in_notebook.notes)
    answers = {}
    for work, notes in ((in_notebook, notes_nb), (in_py, notes_py)):
        for exercise, cells in work.answers.items():
            if places.get(exercise, 0) and len(cells) > places[exercise]:  # more cells than it has
                notes.extend(cells[places[exercise]:])
                cells = cells[:places[exercise]]
            answers[exercise] = cells

    for exercise in [e for e in answers if _replaced(answers[e], stub_cells, e)]:
        places.pop(exercise, None)  # the id now names another exercise: keep the answer aside

    cells, used = [], defaultdict(int)
    for cell in stub_cells:
        exercise = _stub_id(cell)
        if exercise in places and used[exercise] < len(answers.get(exercise, [])):
            answer = answers[exercise][used[exercise]]
            used[exercise] += 1
            cells.append(copy.deepcopy(answer))
            if exercise not in plan.carried:
                plan.carried.append(exercise)
            missing = _missing_frame(cell, answer)
            if missing:
                plan.changed[exercise] = missing
        else:
            cells.append(cell)
    kept = {cell_digest(cell): cell for cell in in_py.kept + in_notebook.kept}
    cells.extend(copy.deepcopy(cell) for cell in kept.values())
    for exercise in sorted(set(answers) - set(places), key=exercise_order):
        plan.orphans[exercise] = _successor(answers[exercise], exercise, stub_cells)
        cells.extend(_kept_cell(exercise, plan.orphans[exercise], answer) for answer in answers[exercise])

    plan.notes_in_py, plan.notes_in_notebook = notes_py, notes_nb
    if notes_py and not force:
        plan.problem = (
            f"kept {shown(chapter)}: it has edits of yours outside the exercises ({notebooks.describe(notes_py)}), "
            "which the new version of the chapter would drop, so nothing was written. To write the new "
            "version anyway, run `./course chapters --force`: your answers are carried over, and your "
            f"current file is first copied to {chapter.name}.bak, to copy your edits back from.")
        return plan
    if plan.carried or plan.orphans or kept:
        new = nbformat.v4.new_notebook(cells=cells, metadata=jupytext.reads(stub_text, fmt=FORMAT).metadata)
        text = notebooks.py_text(new, chapter.parent)
        if not notebooks.same_cells(jupytext.reads(text, fmt=FORMAT).cells, cells):
            plan.problem = (f"kept {shown(chapter)}: your answers cannot be carried into the new version "
                            "exactly (the .py format cannot hold them), so nothing was written.")
            return plan
    else:
        text = stub_text
    if text != old_text:
        plan.text = text
        plan.backup = bool(notes_py) and old_text is not None
    return plan


def _changes(plan: Plan) -> list[str]:
    return [f"exercise {exercise} changed in this version; your cell is kept as it was. The new "
            f"version's cell has: {' | '.join(missing[:3])}" for exercise, missing in plan.changed.items()]


def _written(plan: Plan, copy_path: Path | None) -> str:
    lines = [f"wrote {shown(plan.chapter)}"]
    if plan.carried:
        lines[0] += f", with your answers to exercise {', '.join(plan.carried)} carried over"
    for exercise, hint in plan.orphans.items():
        lines.append(f"  your answer to exercise {exercise}, which this version does not have{hint}, is kept "
                     "as a raw (text) cell at the end of the chapter")
    lines.extend(f"  {line}" for line in _changes(plan))
    if copy_path is not None:
        lines.append(f"  your edits outside the exercises were not carried over: your previous file is in "
                     f"{shown(copy_path)}")
    return "\n".join(lines)


def generate(
    solutions: Path = notebooks.REPO_ROOT / "solutions",
    chapters: Path = notebooks.REPO_ROOT / "chapters",
    *,
    check: bool = False,
    force: bool = False,
) -> int:
    """Regenerate (or with ``check`` only compare) every chapter; return a process exit code."""
    stale, kept = [], 0
    expected_names = set()
    for solution in sorted(solutions.glob("[0-9][0-9]_*.py")):
        expected_names.add(solution.name)
        target = chapters / solution.name
        if check:
            new_text = make_chapter(solution.read_text(encoding="utf-8"), source=str(solution))
            old_text = target.read_text(encoding="utf-8") if target.exists() else None
            if old_text != new_text:
                stale.append(target)
            continue
        plan = plan_chapter(solution, target, force=force)
        if plan.problem:
            print(plan.problem, file=sys.stderr)
            kept += 1
            continue
        if plan.text is None:
            for line in _changes(plan):  # the new version differs only inside answered exercises
                print(f"{shown(target)}: {line}")
            continue
        copy_path = notebooks.backup(target) if plan.backup else None
        atomic_write(target, plan.text.encode("utf-8"))
        record_stub(target, plan.stub)
        print(_written(plan, copy_path))
        if target.with_suffix(".ipynb").exists():  # keep the pair in step (or guard it and say why not)
            result = notebooks.sync_pair(target)
            notebooks.report({target: result})
            kept += result.kind == "kept"
    orphans = [p for p in sorted(chapters.glob("[0-9][0-9]_*.py")) if p.name not in expected_names]

    if check and (stale or orphans):
        for path in stale:
            print(f"stale: {path} differs from what solutions/ generates", file=sys.stderr)
        for path in orphans:
            print(f"orphan: {path} has no solution file", file=sys.stderr)
        print("Run `python -m course.chapters` and commit the result.", file=sys.stderr)
        return 1
    if not check:
        for path in orphans:
            print(f"left {shown(path)} as it is: the course has no solution for it (renamed or removed)",
                  file=sys.stderr)
    return 1 if kept else 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--check", action="store_true", help="fail if the chapters are stale; write nothing")
    parser.add_argument("--force", action="store_true",
                        help="write the new version even over edits outside the exercises (the file is "
                             "first copied to NN_slug.py.bak); answers are carried over even then")
    args = parser.parse_args(argv)
    try:
        return generate(check=args.check, force=args.force)
    except MarkerError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
