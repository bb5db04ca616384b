"""A learner's work is never lost, whatever tool edited it (issue 14).

Each test plays one scenario on a throwaway course in ``tmp_path`` (a git repository holding a
copy of chapter 01's solution, its generated chapter and the two ``jupytext.toml`` files):
answers written in JupyterLab (simulated by jupytext's own contents manager, which writes both
files of a pair on save and applies jupytext's "more recent than" rule on open), with nbformat
(as VS Code and other notebook tools do: the ``.py`` is not updated), or with an editor on the
``.py``; committed or not; then upstream changes (a solution edited, committed, pulled) and every
command that rebuilds: ``./course notebooks`` (:func:`course.notebooks.main`) and
``./course chapters`` (:func:`course.chapters.main`).
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path

import jupytext
import nbformat
import pytest
from jupytext import TextFileContentsManager
from tornado.web import HTTPError

from course import chapters as chapters_module
from course import notebooks as notebooks_module
from course.chapters import KEPT, find_exercises, generate, make_chapter
from course.notebooks import keep_notebook, keep_py, sync_pair

ROOT = Path(__file__).resolve().parents[1]
NAME = "01_loading_cora"
SOLUTION_TEXT = (ROOT / "solutions" / f"{NAME}.py").read_text(encoding="utf-8")
EXERCISES = [exercise.id for exercise in find_exercises(SOLUTION_TEXT)]
FIRST, SECOND, LAST = EXERCISES[0], EXERCISES[1], EXERCISES[-1]
NOTEBOOK = f"chapters/{NAME}.ipynb"
REVISION = "Upstream revised this chapter."


# --------------------------------------------------------------------------
# The course, git, and the tools a learner uses
# --------------------------------------------------------------------------

def git(folder: Path, *args: str) -> str:
    return subprocess.run(["git", *args], cwd=folder, check=True, capture_output=True, text=True).stdout


@pytest.fixture(autouse=True)
def git_identity(monkeypatch):
    for key, value in {"GIT_AUTHOR_NAME": "Learner", "GIT_AUTHOR_EMAIL": "l@example.org",
                       "GIT_COMMITTER_NAME": "Learner", "GIT_COMMITTER_EMAIL": "l@example.org",
                       "GIT_CONFIG_GLOBAL": os.devnull, "GIT_CONFIG_NOSYSTEM": "1"}.items():
        monkeypatch.setenv(key, value)


def make_course(root: Path, *, with_git: bool = True) -> Path:
    """A course as a fresh clone has it: solution, generated chapter (committed), no notebooks."""
    for folder in ("solutions", "chapters"):
        (root / folder).mkdir(parents=True)
        shutil.copy(ROOT / folder / "jupytext.toml", root / folder / "jupytext.toml")
    (root / "solutions" / f"{NAME}.py").write_text(SOLUTION_TEXT, encoding="utf-8")
    (root / "chapters" / f"{NAME}.py").write_text(make_chapter(SOLUTION_TEXT), encoding="utf-8")
    (root / ".gitignore").write_text("chapters/*.ipynb\nsolutions/*.ipynb\n.ipynb_checkpoints/\n")
    if with_git:
        git(root, "init", "-q", "-b", "main")
        commit(root, "the course")
    return root


@pytest.fixture
def course(tmp_path, monkeypatch) -> Path:
    root = make_course(tmp_path / "course")
    monkeypatch.chdir(root)  # messages name files as the learner types them, as ./course does
    return root


def commit(root: Path, message: str) -> None:
    git(root, "add", "-A")
    git(root, "commit", "-q", "--allow-empty", "-m", message)


def chapter(root: Path) -> Path:
    return root / "chapters" / f"{NAME}.py"


def notebook_path(root: Path) -> Path:
    return root / NOTEBOOK


def answer_for(exercise: str, tag: str = "") -> str:
    return f"return 'answer to {exercise}{tag}'"


def answered(source: str, exercise: str, tag: str = "") -> str:
    """``source`` with exercise ``exercise``'s stub line replaced by an answer."""
    pattern = rf"""raise NotImplementedError\((['"])Exercise {re.escape(exercise)}: .*?\1\)"""
    new, count = re.subn(pattern, answer_for(exercise, tag), source)
    assert count == 1, f"no stub for exercise {exercise}"
    return new


def build(root: Path, capsys=None) -> str:
    """``./course notebooks`` (build every pair); returns what it printed."""
    if capsys is not None:
        capsys.readouterr()  # only what this run prints
    assert notebooks_module.main([str(root / "chapters"), str(root / "solutions")]) == 0
    if capsys is None:
        return ""
    out = capsys.readouterr()
    return out.out + out.err


def regenerate(root: Path, *args: str, capsys=None) -> int:
    """``./course chapters`` in the course ``root``."""
    if capsys is not None:
        capsys.readouterr()
    return generate(root / "solutions", root / "chapters", force="--force" in args)


def edit_with_nbformat(root: Path, exercise: str, tag: str = "") -> None:
    """Answer in the notebook as VS Code would: the notebook is rewritten, its .py is not."""
    path = notebook_path(root)
    notebook = nbformat.read(str(path), as_version=4)
    cell = next(c for c in notebook.cells if f"Exercise {exercise}:" in c.source and c.cell_type == "code")
    cell.source = answered(cell.source, exercise, tag)
    nbformat.write(notebook, str(path))


def edit_py(root: Path, exercise: str, tag: str = "") -> None:
    """Answer in the .py with a text editor."""
    chapter(root).write_text(answered(chapter(root).read_text(), exercise, tag))


def lab(root: Path) -> TextFileContentsManager:
    return TextFileContentsManager(root_dir=str(root))


def lab_open(root: Path) -> nbformat.NotebookNode:
    """Open the notebook as JupyterLab does (jupytext pairs it with its .py and checks their times)."""
    return lab(root).get(NOTEBOOK)["content"]


def lab_save(root: Path, edit) -> None:
    """Open, edit and save in JupyterLab: jupytext writes the notebook and its .py."""
    manager = lab(root)
    model = manager.get(NOTEBOOK)
    edit(model["content"])
    manager.save(model, NOTEBOOK)


def lab_answer(root: Path, exercise: str, tag: str = "") -> None:
    def edit(notebook):
        cell = next(c for c in notebook.cells if f"Exercise {exercise}:" in c.source and c.cell_type == "code")
        cell.source = answered(cell.source, exercise, tag)
    lab_save(root, edit)


def sources(notebook: nbformat.NotebookNode) -> str:
    return "\n".join(cell.source for cell in notebook.cells)


def revise_upstream(root: Path, revision: str = REVISION) -> None:
    """An upstream change to the chapter's prose: a sentence at the top of its first markdown cell."""
    path = root / "solutions" / f"{NAME}.py"
    path.write_text(path.read_text().replace("# %% [markdown]\n", f"# %% [markdown]\n# {revision}\n#\n", 1))


def assert_opens_with(root: Path, *texts: str) -> None:
    """JupyterLab opens the notebook, and what it shows (and would save) holds every text."""
    shown = sources(lab_open(root))
    for text in texts:
        assert text in shown, text


def assert_refused(root: Path) -> None:
    with pytest.raises(HTTPError, match="more recent than"):
        lab_open(root)


# --------------------------------------------------------------------------
# The notebook builder: one file edited, then rebuilt
# --------------------------------------------------------------------------

def test_answer_saved_in_jupyterlab_leaves_the_pair_alone(course, capsys):
    """The browser test relies on it: after a save, ./course notebooks touches and says nothing."""
    build(course)
    lab_answer(course, FIRST)
    before = (chapter(course).read_bytes(), notebook_path(course).read_bytes())
    assert build(course, capsys) == ""
    assert (chapter(course).read_bytes(), notebook_path(course).read_bytes()) == before
    assert answer_for(FIRST) in chapter(course).read_text()


def test_answer_in_the_notebook_only_is_written_into_the_py(course, capsys):
    """nbformat (VS Code) saves the notebook only: the builder brings the .py up to date, as a
    JupyterLab save would, and JupyterLab then opens the notebook with the answer."""
    build(course)
    edit_with_nbformat(course, FIRST)
    printed = build(course, capsys)
    assert f"synced chapters/{NAME}.py" in printed and f"an answer to exercise {FIRST}" in printed
    assert answer_for(FIRST) in chapter(course).read_text()
    assert answer_for(FIRST) in git(course, "diff")  # git now sees the learner's work
    assert_opens_with(course, answer_for(FIRST))
    assert build(course, capsys) == ""


def test_answer_in_the_py_only_reaches_the_notebook_keeping_outputs(course, capsys):
    build(course)
    notebook = nbformat.read(str(notebook_path(course)), as_version=4)
    ran = next(i for i, c in enumerate(notebook.cells) if c.cell_type == "code")
    notebook.cells[ran].outputs = [nbformat.v4.new_output("stream", text="ran\n")]
    nbformat.write(notebook, str(notebook_path(course)))  # the learner ran a cell (outputs only)
    ids = [c.id for c in notebook.cells]

    edit_py(course, FIRST)
    assert "updated" in build(course, capsys)
    rebuilt = nbformat.read(str(notebook_path(course)), as_version=4)
    assert answer_for(FIRST) in sources(rebuilt)
    assert [c.id for c in rebuilt.cells] == ids and rebuilt.cells[ran].outputs[0]["text"] == "ran\n"
    assert_opens_with(course, answer_for(FIRST))


def test_every_notebook_the_builder_writes_is_no_newer_than_its_py(course):
    """jupytext refuses a notebook more recent than its .py (by its margin): never leave one."""
    build(course)
    assert notebook_path(course).stat().st_mtime <= chapter(course).stat().st_mtime
    edit_py(course, FIRST)
    os.utime(chapter(course), (1_000_000_000, 1_000_000_000))  # an old .py (a checkout long ago)
    assert sync_pair(chapter(course)).kind == "updated"
    assert notebook_path(course).stat().st_mtime <= chapter(course).stat().st_mtime
    assert_opens_with(course, answer_for(FIRST))


def test_answers_in_both_files_that_differ_are_kept_guarded_and_either_choice_works(course, capsys):
    build(course)
    edit_with_nbformat(course, FIRST, " (notebook)")
    edit_py(course, FIRST, " (py)")
    os.utime(notebook_path(course), (1_000_000_000, 1_000_000_000))  # whatever the times say
    before = (chapter(course).read_bytes(), notebook_path(course).read_bytes())

    printed = build(course, capsys)
    assert (chapter(course).read_bytes(), notebook_path(course).read_bytes()) == before
    assert f"kept {NOTEBOOK} and chapters/{NAME}.py" in printed
    assert f"--keep-notebook {NOTEBOOK}" in printed and f"--keep-py {NOTEBOOK}" in printed
    assert_refused(course)  # JupyterLab refuses, rather than show the .py and drop the notebook's answer

    assert regenerate(course) == 1  # the chapter generator will not pick one either
    assert f"hold different answers to exercise {FIRST}" in capsys.readouterr().err
    assert chapter(course).read_bytes() == before[0]

    copy = course.parent / "copy"
    shutil.copytree(course, copy, symlinks=True)
    os.chdir(copy)
    # Either choice leaves the other version in a .bak file and a pair JupyterLab opens.
    assert notebooks_module.main(["--keep-py", NOTEBOOK]) == 0
    assert_opens_with(copy, answer_for(FIRST, " (py)"))
    assert answer_for(FIRST, " (notebook)") in (copy / f"{NOTEBOOK}.bak").read_text()
    os.chdir(course)
    assert notebooks_module.main(["--keep-notebook", NOTEBOOK]) == 0
    assert_opens_with(course, answer_for(FIRST, " (notebook)"))
    assert answer_for(FIRST, " (py)") in (course / "chapters" / f"{NAME}.py.bak").read_text()
    assert build(course, capsys) == "" and regenerate(course) == 0


def test_a_prose_edit_in_the_notebook_with_an_upstream_change_keeps_the_notebook(course, capsys):
    build(course)
    notebook = nbformat.read(str(notebook_path(course)), as_version=4)
    prose = next(c for c in notebook.cells if c.cell_type == "markdown")
    prose.source += "\n\nMy own note."
    nbformat.write(notebook, str(notebook_path(course)))
    revise_upstream(course)
    commit(course, "upstream")
    assert regenerate(course) == 1  # the chapter is written; its notebook is kept, and we are told
    printed = capsys.readouterr()
    assert REVISION in chapter(course).read_text()
    assert "My own note." in notebook_path(course).read_text()
    assert f"kept {NOTEBOOK}" in printed.err
    assert f"only in the notebook: the markdown cell '{prose.source.splitlines()[0]}" in printed.err
    assert_refused(course)

    assert notebooks_module.main(["--keep-py", NOTEBOOK]) == 0
    assert_opens_with(course, REVISION)
    assert "My own note." in (course / f"{NOTEBOOK}.bak").read_text()


def test_a_py_with_merge_conflict_markers_is_not_built_from(course, capsys):
    build(course)
    lab_answer(course, FIRST)
    text = chapter(course).read_text()
    chapter(course).write_text(text.replace(answer_for(FIRST), f"<<<<<<< HEAD\n    {answer_for(FIRST)}\n"
                                            "=======\n    pass\n>>>>>>> upstream", 1))
    before = notebook_path(course).read_bytes()
    assert "conflict markers" in build(course, capsys)
    assert notebook_path(course).read_bytes() == before
    assert regenerate(course) == 1 and "conflict markers" in capsys.readouterr().err


def test_an_unreadable_notebook_is_left_alone(course, capsys):
    build(course)
    notebook_path(course).write_text("{ not json")
    assert "cannot be read" in build(course, capsys)
    assert notebook_path(course).read_text() == "{ not json"


def test_a_notebook_built_by_the_previous_builder_is_understood(course):
    """Notebooks built before this change record one digest (``built_cells``), not one per cell."""
    build(course)
    notebook = nbformat.read(str(notebook_path(course)), as_version=4)
    notebook.metadata["gatkit"] = {"built_cells": notebooks_module._whole_digest(notebook)}
    nbformat.write(notebook, str(notebook_path(course)))
    edit_py(course, FIRST)
    assert sync_pair(chapter(course)).kind == "updated"
    edit_with_nbformat(course, SECOND)
    assert sync_pair(chapter(course)).kind == "synced"
    assert answer_for(SECOND) in chapter(course).read_text()


# --------------------------------------------------------------------------
# The chapter generator: upstream changes, committed or not
# --------------------------------------------------------------------------

@pytest.mark.parametrize("committed", [False, True], ids=["uncommitted", "committed"])
def test_answers_saved_in_jupyterlab_survive_an_upstream_change_and_regeneration(course, capsys, committed):
    """The tester's case: regenerating used to write the stub over committed answers, exit 0."""
    build(course)
    lab_answer(course, FIRST)
    if committed:
        commit(course, "my answer")
    revise_upstream(course)
    commit(course, "upstream change")

    assert regenerate(course) == 0
    printed = capsys.readouterr().out
    assert f"with your answers to exercise {FIRST} carried over" in printed
    assert f"updated {NOTEBOOK}" in printed
    text = chapter(course).read_text()
    assert answer_for(FIRST) in text and REVISION in text
    assert_opens_with(course, answer_for(FIRST), REVISION)
    assert regenerate(course, capsys=capsys) == 0 and capsys.readouterr().out == ""  # nothing more to do
    assert NOTEBOOK not in build(course, capsys)


def test_an_answer_in_the_notebook_only_survives_an_upstream_change(course, capsys):
    """The issue's silent loss: nbformat answer, upstream change, regeneration, JupyterLab."""
    build(course)
    edit_with_nbformat(course, FIRST)
    revise_upstream(course)
    commit(course, "upstream change")
    assert regenerate(course) == 0
    assert answer_for(FIRST) in chapter(course).read_text()
    assert_opens_with(course, answer_for(FIRST), REVISION)


def test_answers_in_both_files_to_different_exercises_are_both_carried(course):
    build(course)
    edit_with_nbformat(course, FIRST)
    edit_py(course, SECOND)
    revise_upstream(course)
    assert regenerate(course) == 0
    assert_opens_with(course, answer_for(FIRST), answer_for(SECOND), REVISION)


def test_git_pull_of_an_upstream_change(tmp_path, monkeypatch, capsys):
    """Learners get new versions by git pull: committed answers merge, notebook answers are carried."""
    upstream = make_course(tmp_path / "upstream")
    learner = tmp_path / "learner"
    git(tmp_path, "clone", "-q", str(upstream), str(learner))
    monkeypatch.chdir(learner)
    build(learner)
    lab_answer(learner, FIRST)
    commit(learner, "my answer")
    edit_with_nbformat(learner, SECOND)  # and one answer in the notebook only (never committed)

    revise_upstream(upstream)
    assert regenerate(upstream) == 0
    commit(upstream, "upstream change")
    git(learner, "pull", "-q", "--no-rebase", "--no-edit")
    assert REVISION in chapter(learner).read_text() and answer_for(FIRST) in chapter(learner).read_text()

    # The notebook holds an answer the pulled .py lacks, and the .py changed: neither is written.
    printed = build(learner, capsys)
    assert f"kept {NOTEBOOK}" in printed and "run `./course chapters`" in printed
    assert_refused(learner)
    assert regenerate(learner) == 0  # ... and the advice works
    assert_opens_with(learner, answer_for(FIRST), answer_for(SECOND), REVISION)
    assert NOTEBOOK not in build(learner, capsys)


def test_an_exercise_added_upstream_arrives_as_a_stub(course):
    build(course)
    lab_answer(course, FIRST)
    path = course / "solutions" / f"{NAME}.py"
    path.write_text(path.read_text() + (
        "\n# %% [markdown]\n# ## Exercise 1.9: a new one\n\n\n# %%\ndef new_one():\n"
        "    ### BEGIN SOLUTION\n    return 1\n    ### END SOLUTION\n\n\nnew_one = exercise(\"1.9\", new_one)\n"))
    assert regenerate(course) == 0
    text = chapter(course).read_text()
    assert answer_for(FIRST) in text and "Exercise 1.9: a new one" in text


def _remove_exercise(text: str, exercise: str) -> str:
    """The solution without exercise ``exercise``: its heading and its cell."""
    cells = re.split(r"(?m)^(?=# %%)", text)
    heading = next(i for i, c in enumerate(cells) if f"## Exercise {exercise}:" in c)
    cells[heading] = cells[heading].replace(f"## Exercise {exercise}:", "## No longer an exercise:")
    del cells[heading + 1]
    return "".join(cells)


def test_an_answer_to_an_exercise_removed_upstream_is_kept_as_text(course, capsys):
    build(course)
    lab_answer(course, LAST)
    path = course / "solutions" / f"{NAME}.py"
    path.write_text(_remove_exercise(path.read_text(), LAST))
    commit(course, "exercise removed")
    assert regenerate(course) == 0
    assert f"your answer to exercise {LAST}, which this version does not have" in capsys.readouterr().out
    notebook = jupytext.read(chapter(course))
    kept = [c for c in notebook.cells if c.cell_type == "raw" and c.source.startswith(KEPT)]
    assert len(kept) == 1 and answer_for(LAST) in kept[0].source
    assert not any(f"Exercise {LAST}:" in c.source for c in notebook.cells if c.cell_type == "code")
    assert_opens_with(course, answer_for(LAST))
    revise_upstream(course)  # a later version: the kept answer stays, once
    assert regenerate(course) == 0
    assert chapter(course).read_text().count(answer_for(LAST)) == 1


def test_an_answer_to_a_renumbered_exercise_is_kept_with_a_hint(course, capsys):
    build(course)
    lab_answer(course, LAST)
    path = course / "solutions" / f"{NAME}.py"
    path.write_text(path.read_text().replace(f"Exercise {LAST}:", "Exercise 1.7:")
                    .replace(f'exercise("{LAST}"', 'exercise("1.7"'))
    assert regenerate(course) == 0
    printed = capsys.readouterr().out
    assert f"exercise {LAST}, which this version does not have (it may have become exercise 1.7)" in printed
    assert answer_for(LAST) in chapter(course).read_text() and "Exercise 1.7:" in chapter(course).read_text()


def test_an_answer_whose_id_now_names_another_exercise_is_kept_with_a_hint(course, capsys):
    """Upstream replaced exercise LAST by a new one under the same id and moved the old one to
    1.7: the answer is not put in the new exercise's place (its check would fail on another
    function) but kept as text, pointing at 1.7."""
    build(course)
    lab_answer(course, LAST)
    path = course / "solutions" / f"{NAME}.py"
    text = path.read_text().replace(f"Exercise {LAST}:", "Exercise 1.7:").replace(f'exercise("{LAST}"', 'exercise("1.7"')
    path.write_text(text + (
        f"\n# %% [markdown]\n# ## Exercise {LAST}: a new exercise\n\n\n# %%\ndef brand_new():\n"
        f"    ### BEGIN SOLUTION\n    return 1\n    ### END SOLUTION\n\n\nbrand_new = exercise(\"{LAST}\", brand_new)\n"))
    assert regenerate(course) == 0
    printed = capsys.readouterr().out
    assert f"exercise {LAST}, which this version does not have (it may have become exercise 1.7)" in printed
    notebook = jupytext.read(chapter(course))
    new_stub = next(c for c in notebook.cells if c.cell_type == "code" and "def brand_new" in c.source)
    assert f"Exercise {LAST}: a new exercise" in new_stub.source and answer_for(LAST) not in new_stub.source
    kept = [c for c in notebook.cells if c.cell_type == "raw" and c.source.startswith(KEPT)]
    assert len(kept) == 1 and answer_for(LAST) in kept[0].source


def test_an_answered_exercise_whose_cell_changed_upstream_is_kept_and_flagged(course, capsys):
    build(course)
    lab_answer(course, FIRST)
    path = course / "solutions" / f"{NAME}.py"
    text = path.read_text()
    heading = text.index(f"## Exercise {FIRST}:")
    docstring = text.index('"""', text.index("\ndef ", heading))
    path.write_text(text[:docstring] + '"""New first words. ' + text[docstring + 3:])
    assert regenerate(course) == 0
    printed = capsys.readouterr().out
    assert f"exercise {FIRST} changed in this version" in printed and "New first words." in printed
    assert answer_for(FIRST) in chapter(course).read_text()


def test_notes_outside_the_exercises_stop_regeneration_and_force_keeps_a_copy(course, capsys):
    build(course)
    lab_answer(course, FIRST)

    def add_note(notebook):
        notebook.cells.insert(3, nbformat.v4.new_markdown_cell("My own note."))
    lab_save(course, add_note)
    commit(course, "my work")
    revise_upstream(course)
    before = chapter(course).read_bytes()

    assert regenerate(course) == 1
    assert "edits of yours outside the exercises" in capsys.readouterr().err
    assert chapter(course).read_bytes() == before

    assert regenerate(course, "--force") == 1  # written; the notebook keeps the note and says so
    printed = capsys.readouterr()
    assert f"with your answers to exercise {FIRST} carried over" in printed.out
    text = chapter(course).read_text()
    assert answer_for(FIRST) in text and REVISION in text and "My own note." not in text
    assert "My own note." in (course / "chapters" / f"{NAME}.py.bak").read_bytes().decode()
    assert f"kept {NOTEBOOK}" in printed.err and "My own note." in notebook_path(course).read_text()


def test_an_answer_is_found_by_its_heading_when_the_exercise_line_was_deleted(course):
    build(course)

    def answer_without_check(notebook):
        cell = next(c for c in notebook.cells if f"Exercise {FIRST}:" in c.source and c.cell_type == "code")
        cell.source = re.sub(r"(?m)^.*= exercise\(.*$", "", answered(cell.source, FIRST))
    lab_save(course, answer_without_check)
    revise_upstream(course)
    assert regenerate(course) == 0
    assert answer_for(FIRST) in chapter(course).read_text()


def test_a_maintainer_regenerating_twice_before_committing_needs_no_force(course):
    revise_upstream(course, "First draft.")
    assert regenerate(course) == 0
    revise_upstream(course, "Second draft.")
    assert regenerate(course) == 0
    solution = (course / "solutions" / f"{NAME}.py").read_text()
    assert chapter(course).read_text() == make_chapter(solution)
    assert generate(course / "solutions", course / "chapters", check=True) == 0
    assert git(course, "status", "--porcelain", "--ignored").count("course-chapters") == 0  # kept in .git


def test_without_git_answers_are_still_recognised(tmp_path, monkeypatch, capsys):
    """A course copied without .git (the browser test's copy): the stub last written is the only
    base, so a changed prose cell cannot be told from a learner's note: the chapter is kept."""
    root = make_course(tmp_path / "plain", with_git=False)
    monkeypatch.chdir(root)
    build(root)
    lab_answer(root, FIRST)
    assert regenerate(root) == 0
    assert answer_for(FIRST) in chapter(root).read_text()
    revise_upstream(root)
    assert regenerate(root, capsys=capsys) == 1
    assert "edits of yours outside the exercises" in capsys.readouterr().err
    assert REVISION not in chapter(root).read_text()
    assert regenerate(root, "--force") == 0
    assert answer_for(FIRST) in chapter(root).read_text() and REVISION in chapter(root).read_text()
    assert_opens_with(root, answer_for(FIRST), REVISION)


def test_nothing_is_written_non_atomically(course, monkeypatch):
    """Every file the two tools write goes through gatkit.files.atomic_write."""
    def refuse(*args, **kwargs):
        raise AssertionError("a non-atomic write")
    for target, name in [(Path, "write_text"), (Path, "write_bytes"), (nbformat, "write"), (jupytext, "write"),
                         (shutil, "copy"), (shutil, "copy2"), (shutil, "copyfile")]:
        monkeypatch.setattr(target, name, refuse)
    build(course)
    edit_py_text = answered(chapter(course).read_text(), FIRST)
    from gatkit.files import atomic_write
    atomic_write(chapter(course), edit_py_text.encode())
    build(course)  # updated
    notebook = nbformat.read(str(notebook_path(course)), as_version=4)
    notebook.cells.append(nbformat.v4.new_markdown_cell("note"))
    atomic_write(notebook_path(course), nbformat.writes(notebook).encode())
    build(course)  # synced
    revise_upstream_text = (course / "solutions" / f"{NAME}.py").read_text().replace(
        "# %% [markdown]\n", f"# %% [markdown]\n# {REVISION}\n#\n", 1)
    atomic_write(course / "solutions" / f"{NAME}.py", revise_upstream_text.encode())
    regenerate(course, "--force")  # writes the chapter, a .bak and the notebook
    assert (course / "chapters" / f"{NAME}.py.bak").exists()
    keep_notebook(notebook_path(course))
    keep_py(notebook_path(course))


def test_every_exercise_cell_of_every_chapter_is_found_by_its_id_and_by_its_heading():
    """The generator matches a learner's cells to exercises by the exercise() call and the heading."""
    for solution in sorted((ROOT / "solutions").glob("[0-9][0-9]_*.py")):
        text = solution.read_text()
        cells = jupytext.reads(make_chapter(text), fmt="py:percent").cells
        found = []
        for previous, cell in zip(cells, cells[1:]):
            if chapters_module.exercise_id(cell):
                found.append(chapters_module.exercise_id(cell))
                headings = chapters_module.MARKDOWN_HEADING.findall(previous.source)
                assert headings and headings[-1] == found[-1], f"{solution.name}: {found[-1]} after its heading"
        assert found == [e.id for e in find_exercises(text)], solution.name
