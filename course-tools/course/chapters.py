"""Generate the student chapters from the solutions.

``solutions/NN_slug.py`` (jupytext percent format) is the one hand-edited source of every
chapter. The student version ``chapters/NN_slug.py`` is derived from it:

- each region between ``### BEGIN SOLUTION`` and ``### END SOLUTION`` inside a code cell becomes
  an indent-preserving ``# YOUR CODE HERE (about N lines)`` plus
  ``raise NotImplementedError("Exercise X.Y: ...")``, where X.Y is the exercise whose
  ``## Exercise X.Y: title`` heading precedes the region;
- cells tagged ``solution`` (prose answers) are dropped;
- nothing else changes, so the two versions never drift apart.

Run ``python -m course.chapters`` to regenerate, ``python -m course.chapters --check`` to fail
when the committed chapters are stale (CI does this). A chapter file with uncommitted edits (a
learner's answers) is never overwritten; ``--force`` overrides that for maintainers.
"""

from __future__ import annotations

import argparse
import re
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

BEGIN = "### BEGIN SOLUTION"
END = "### END SOLUTION"
CELL_MARKER = re.compile(r"^# %%")
SOLUTION_CELL = re.compile(r"^# %%.*tags=\[[^\]]*\"solution\"")
EXERCISE_HEADING = re.compile(r"^#\s+#{2,4}\s+Exercise\s+(\d+\.\d+)\s*:\s*(.+?)\s*$")

REPO_ROOT = Path(__file__).resolve().parents[2]  # the checkout: course-tools/course/ is two below


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


def _has_uncommitted_edits(path: Path) -> bool:
    """True when git says ``path`` differs from the committed version (or git cannot tell)."""
    try:
        result = subprocess.run(
            ["git", "status", "--porcelain", "--", path.name],
            cwd=path.parent, capture_output=True, text=True, check=True,
        )
    except (OSError, subprocess.CalledProcessError):
        return True  # no git: we cannot prove the file is ours to replace
    return bool(result.stdout.strip())


def generate(
    solutions: Path = REPO_ROOT / "solutions",
    chapters: Path = REPO_ROOT / "chapters",
    *,
    check: bool = False,
    force: bool = False,
) -> int:
    """Regenerate (or with ``check`` only compare) every chapter; return a process exit code."""
    stale, kept = [], []
    expected_names = set()
    for solution in sorted(solutions.glob("[0-9][0-9]_*.py")):
        expected_names.add(solution.name)
        target = chapters / solution.name
        new_text = make_chapter(solution.read_text(encoding="utf-8"), source=str(solution))
        old_text = target.read_text(encoding="utf-8") if target.exists() else None
        if old_text == new_text:
            continue
        if check:
            stale.append(target)
        elif old_text is not None and not force and _has_uncommitted_edits(target):
            kept.append(target)
        else:
            target.write_text(new_text, encoding="utf-8")
            print(f"wrote {target.relative_to(chapters.parent)}")
    orphans = [p for p in sorted(chapters.glob("[0-9][0-9]_*.py")) if p.name not in expected_names]

    for path in kept:
        print(f"kept {path}: it has uncommitted edits (a learner's work?). "
              "Commit or stash them, or pass --force to overwrite.", file=sys.stderr)
    if check and (stale or orphans):
        for path in stale:
            print(f"stale: {path} differs from what solutions/ generates", file=sys.stderr)
        for path in orphans:
            print(f"orphan: {path} has no solution file", file=sys.stderr)
        print("Run `python -m course.chapters` and commit the result.", file=sys.stderr)
        return 1
    return 1 if kept else 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--check", action="store_true", help="fail if the chapters are stale; write nothing")
    parser.add_argument("--force", action="store_true", help="overwrite chapters even with uncommitted edits")
    args = parser.parse_args(argv)
    try:
        return generate(check=args.check, force=args.force)
    except MarkerError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
