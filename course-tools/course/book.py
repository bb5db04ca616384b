"""Build the course as a static website (Jupyter Book 1): every chapter with its executed outputs.

``python -m course.book`` (``./course book``) writes the book's sources into ``book/`` and runs
``jupyter-book build book``; the site is ``book/_build/html/index.html``. The sources are made
from ``solutions/`` and the README, never edited by hand (``book/`` is not committed):

- one notebook per chapter, the solution's cells, with each exercise shown as an exercise: a
  "Your turn" cell holding the stub of the student chapter (:func:`course.chapters.make_chapter`),
  then the solution, folded away (the ``hide-input`` tag) and executed, so its check's pass line
  shows; the answers of "Check your understanding" folded into a dropdown; a cell tagged
  ``widget`` (an interactive explorer, which needs a running kernel) is shown but not run, with
  a note saying so;
- ``intro.md``: the README's opening and chapter map, each chapter linked; ``_toc.yml``: the
  chapters in order; ``_config.yml``.

Execution is cached (``jupyter-cache``, in ``book/_build/.jupyter_cache``): a notebook whose code
cells did not change is not executed again, so a prose-only change rebuilds in seconds. Each
chapter runs with the book folder as its working directory, one level below the repository,
as the chapters expect. Equations are rendered by MathJax, from its CDN by default; with
``--local-mathjax`` from a copy fetched once from the npm registry into ``.cache/mathjax``
(for offline builds and the browser test, which allows no request beyond the loopback server).
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import tarfile
import tempfile
from pathlib import Path

import jupytext
import nbformat

from jupyter_book.config import get_default_sphinx_config

from course.chapters import BEGIN, END, make_chapter
from course.notebooks import REPO_ROOT
from gatkit.files import atomic_write

BOOK = REPO_ROOT / "book"
SOLUTIONS = REPO_ROOT / "solutions"
MATHJAX_CACHE = REPO_ROOT / ".cache" / "mathjax"
MATHJAX_PACKAGE = "mathjax@3.2.2"
MATHJAX_FILES = ("tex-chtml.js", "input", "output/chtml", "ui", "a11y")  # of the package's es5/: what pages load
WIDGET_NOTE = ("*In JupyterLab an interactive explorer appears here; it needs a running Python, so the "
               "website shows none. Open the chapter with `./course lab` to use it.*")


class BookError(RuntimeError):
    """The book cannot be built; the message says why and what to do."""


# --------------------------------------------------------------------------
# Sources
# --------------------------------------------------------------------------


def chapter_files(solutions: Path = SOLUTIONS) -> list[Path]:
    """The solution chapters ``NN_slug.py``, in order."""
    return sorted(path for path in solutions.glob("[0-9][0-9]_*.py"))


def book_notebook(solution: Path) -> nbformat.NotebookNode:
    """The book's notebook of one solution chapter (no outputs; the build executes it)."""
    text = solution.read_text(encoding="utf-8")
    solved = jupytext.reads(text, fmt="py:percent")
    stubs = iter(cell for cell in jupytext.reads(make_chapter(text, str(solution)), fmt="py:percent").cells)
    cells = []
    for cell in solved.cells:
        tags = cell.metadata.get("tags", [])
        if cell.cell_type == "markdown" and "solution" in tags:  # an answer: no stub holds it
            cells.append(nbformat.v4.new_markdown_cell(_folded("Answers", cell.source)))
            continue
        stub = next(stubs)
        if cell.cell_type == "code" and BEGIN in cell.source:
            cells.append(nbformat.v4.new_markdown_cell(
                "**Your turn.** Write the exercise in `chapters/` (the check runs when you execute the "
                f"cell); it starts as:\n\n```python\n{stub.source}\n```\n\nOne solution, and what its check "
                "printed (click to show the code):"))
            cells.append(nbformat.v4.new_code_cell(_without_markers(cell.source), metadata={"tags": ["hide-input"]}))
        elif "widget" in tags:
            # not run: displaying a widget waits for a front end that a build has not
            cells.append(nbformat.v4.new_code_cell(cell.source, metadata={"tags": ["skip-execution"]}))
            cells.append(nbformat.v4.new_markdown_cell(WIDGET_NOTE))
        else:
            cells.append(_plain(cell))
    notebook = nbformat.v4.new_notebook(cells=cells, metadata={"kernelspec": solved.metadata.get("kernelspec", {
        "name": "python3", "display_name": "Python 3", "language": "python"})})
    nbformat.validate(notebook)
    return notebook


def _plain(cell: nbformat.NotebookNode) -> nbformat.NotebookNode:
    """The cell as it is, with only its tags (jupytext's other metadata means nothing to the book)."""
    metadata = {"tags": cell.metadata["tags"]} if cell.metadata.get("tags") else {}
    if cell.cell_type == "code":
        return nbformat.v4.new_code_cell(cell.source, metadata=metadata)
    return nbformat.v4.new_markdown_cell(cell.source, metadata=metadata)


def _without_markers(source: str) -> str:
    return "\n".join(line for line in source.splitlines() if line.strip() not in (BEGIN, END))


def _folded(title: str, markdown: str) -> str:
    """``markdown`` in a dropdown, closed until clicked (sphinx-togglebutton's ``dropdown`` class)."""
    fence = ":" * max(4, 1 + max((len(run) for run in re.findall(r"^:+", markdown, re.MULTILINE)), default=0))
    return f"{fence}{{admonition}} {title}\n:class: dropdown\n\n{markdown}\n{fence}"


def intro_page(readme: str, chapters: list[Path]) -> str:
    """The book's first page: the README's opening paragraph and its chapter map, each chapter linked."""
    title, opening = re.search(r"^# (.+?)\n\n(.+?)\n\n", readme, re.DOTALL).groups()
    table = re.search(r"^## Chapters\n\n((?:\|.*\n)+)", readme, re.MULTILINE)
    if table is None:
        raise BookError("README.md has no '## Chapters' table to make the book's chapter map from")
    pages = {path.name[:2]: path.stem for path in chapters}
    rows = []
    for row in table.group(1).splitlines():
        cells = row.split("|")
        number = cells[1].strip()
        if number in pages:
            cells[2] = f" [{cells[2].strip()}]({pages[number]}.ipynb) "
        rows.append("|".join(cells))
    return (f"# {title}\n\n{opening}\n\nThis website shows every chapter with its outputs, run when the site "
            "was built; each exercise shows its stub and, folded away, a solution. To work through the course, "
            "clone the repository and run `./course lab` (see its README).\n\n## Chapters\n\n"
            + "\n".join(rows) + "\n")


def toc(chapters: list[Path]) -> str:
    lines = ["format: jb-book", "root: intro", "parts:", "  - caption: Chapters", "    chapters:"]
    return "\n".join(lines + [f"      - file: {path.stem}" for path in chapters]) + "\n"


def config(*, local_mathjax: bool) -> dict:
    """The book's ``_config.yml`` (written as JSON, which is YAML)."""
    sphinx = {
        "nb_execution_raise_on_error": True,  # a chapter that fails fails the build
        "nb_output_stderr": "remove",  # warnings and progress bars are not part of the lesson
        "nb_merge_streams": True,
        "nb_ipywidgets_js": {},  # no widget scripts from a CDN: widget outputs are removed
        "html_show_sourcelink": False,
        "html_show_copyright": False,
        "html_context": {"default_mode": "auto"},  # light or dark as the reader's system says (unset: a console error)
        "suppress_warnings": ["mystnb.unknown_mime_type"],
        # Jupyter Book's extensions less sphinx-thebe (live code needs a Binder; its script also
        # declares a constant twice, an error in every page's console)
        "extensions": [name for name in get_default_sphinx_config()["extensions"] if name != "sphinx_thebe"],
    }
    if local_mathjax:  # copied to the site's root as it is (Jupyter Book would add every .js in _static
        # to every page); the path is read from _static/
        sphinx.update(html_extra_path=["_mathjax"], mathjax_path="../mathjax/tex-chtml.js")
    return {
        "title": "Graph Attention Networks from scratch",
        "author": "the GAT course",
        "only_build_toc_files": True,
        "exclude_patterns": ["_build", ".ipynb_checkpoints"],
        "execute": {"execute_notebooks": "cache", "timeout": 900, "allow_errors": False},
        "parse": {"myst_enable_extensions": ["colon_fence", "dollarmath", "amsmath"]},
        "html": {"home_page_in_navbar": True, "use_repository_button": False, "use_issues_button": False,
                 "use_edit_page_button": False},
        "launch_buttons": {"notebook_interface": "", "binderhub_url": "", "thebe": False},
        "sphinx": {"config": sphinx},
    }


def write_sources(book: Path = BOOK, solutions: Path = SOLUTIONS, *, local_mathjax: bool = False) -> list[str]:
    """Write the book's sources into ``book``; return the files that changed (unchanged files keep
    their times, so nothing downstream sees a change that is not one)."""
    chapters = chapter_files(solutions)
    if not chapters:
        raise BookError(f"no chapters NN_slug.py in {solutions}")
    book.mkdir(parents=True, exist_ok=True)
    wanted = {"_config.yml": json.dumps(config(local_mathjax=local_mathjax), indent=1) + "\n",
              "_toc.yml": toc(chapters),
              "intro.md": intro_page((REPO_ROOT / "README.md").read_text(encoding="utf-8"), chapters)}
    for path in chapters:
        wanted[f"{path.stem}.ipynb"] = nbformat.writes(book_notebook(path)) + "\n"
    changed = []
    for name, text in wanted.items():
        target = book / name
        if not target.exists() or target.read_text(encoding="utf-8") != text:
            atomic_write(target, text.encode("utf-8"))
            changed.append(name)
    for stale in set(p.name for p in book.glob("[0-9][0-9]_*.ipynb")) - set(wanted):
        (book / stale).unlink()  # a chapter renamed or removed
        changed.append(stale)
    if local_mathjax:
        _install_mathjax(book / "_mathjax" / "mathjax")
    return changed


# --------------------------------------------------------------------------
# MathJax for offline builds
# --------------------------------------------------------------------------


def _install_mathjax(target: Path) -> None:
    """Copy MathJax 3's browser files into ``target``, fetching the npm package once."""
    package = MATHJAX_CACHE / "package" / "es5"
    if not (package / "tex-chtml.js").is_file():
        npm = shutil.which("npm")
        if npm is None:
            raise BookError("--local-mathjax needs npm (Node.js) to fetch MathJax once; install Node.js, "
                            "or build without --local-mathjax to load MathJax from its CDN")
        MATHJAX_CACHE.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryDirectory() as scratch:
            done = subprocess.run([npm, "pack", MATHJAX_PACKAGE, "--pack-destination", scratch],
                                  capture_output=True, text=True)
            archives = list(Path(scratch).glob("mathjax-*.tgz"))
            if done.returncode != 0 or not archives:
                raise BookError(f"npm could not fetch {MATHJAX_PACKAGE}: {(done.stderr or done.stdout).strip()[-300:]}")
            with tarfile.open(archives[0]) as archive:
                archive.extractall(MATHJAX_CACHE, filter="data")
    if (target / "tex-chtml.js").is_file():
        return
    for name in MATHJAX_FILES:
        source, destination = package / name, target / name
        destination.parent.mkdir(parents=True, exist_ok=True)
        if source.is_dir():
            shutil.copytree(source, destination, dirs_exist_ok=True)
        else:
            shutil.copy2(source, destination)


# --------------------------------------------------------------------------
# Build
# --------------------------------------------------------------------------


def build(book: Path = BOOK, solutions: Path = SOLUTIONS, *, local_mathjax: bool = False,
          quiet: bool = False) -> subprocess.CompletedProcess:
    """Write the sources and run ``jupyter-book build``; raise :class:`BookError` if it fails.

    Returns the finished process, whose ``stdout`` is the build's log (it names every notebook
    executed and every one taken from the cache).
    """
    write_sources(book, solutions, local_mathjax=local_mathjax)
    command = [str(Path(sys.executable).with_name("jupyter-book")), "build", str(book)]
    env = {key: value for key, value in os.environ.items() if key != "MPLBACKEND"}  # figures inline, as in a notebook
    done = subprocess.run(command, capture_output=True, text=True, cwd=REPO_ROOT, env=env)
    if not quiet:
        print(done.stdout[-3000:], end="")
    if done.returncode != 0 or "build succeeded" not in done.stdout:
        raise BookError(f"jupyter-book build failed (exit code {done.returncode}):\n"
                        f"{(done.stderr or done.stdout)[-4000:]}")
    return done


def executed_notebooks(log: str) -> list[str]:
    """The notebooks a build's log says it executed (the rest came from the cache)."""
    return re.findall(r"([0-9][0-9]_\w+)\.ipynb: Executing notebook using", log)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="./course book", description=__doc__.split("\n\n")[0])
    parser.add_argument("--local-mathjax", action="store_true",
                        help="serve MathJax from the site itself (fetched once with npm) instead of its CDN")
    args = parser.parse_args(argv)
    try:
        build(local_mathjax=args.local_mathjax)
    except BookError as error:
        print(f"./course book: {error}", file=sys.stderr)
        return 1
    print(f"\nthe website: {BOOK / '_build' / 'html' / 'index.html'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
