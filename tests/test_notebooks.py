"""Building notebooks from the .py chapters without ever losing a learner's edits."""

from pathlib import Path

import jupytext
import nbformat
import pytest

from course.notebooks import build_notebook

ROOT = Path(__file__).resolve().parents[1]
SOURCES = sorted((ROOT / "chapters").glob("[0-9][0-9]_*.py")) + sorted((ROOT / "solutions").glob("[0-9][0-9]_*.py"))

TEXT = '''# %% [markdown]
# # A chapter

# %%
x = 1

# %%
y = x + 1
'''


@pytest.fixture
def chapter(tmp_path):
    source = tmp_path / "01_demo.py"
    source.write_text(TEXT)
    return source


def test_built_then_current(chapter):
    assert build_notebook(chapter) == "built"
    notebook = nbformat.read(chapter.with_suffix(".ipynb"), as_version=4)
    assert [c.source for c in notebook.cells] == ["# A chapter", "x = 1", "y = x + 1"]
    assert build_notebook(chapter) == "current"


def test_new_chapter_version_updates_an_untouched_notebook_keeping_ids_and_outputs(chapter):
    build_notebook(chapter)
    path = chapter.with_suffix(".ipynb")
    notebook = nbformat.read(path, as_version=4)
    notebook.cells[1].outputs = [nbformat.v4.new_output("stream", text="ran\n")]
    nbformat.write(notebook, path)  # a learner ran the cell: outputs only, no edits
    ids = [c.id for c in notebook.cells]

    chapter.write_text(TEXT.replace("y = x + 1", "y = x + 2"))
    assert build_notebook(chapter) == "updated"
    rebuilt = nbformat.read(path, as_version=4)
    assert rebuilt.cells[2].source == "y = x + 2"
    assert [c.id for c in rebuilt.cells] == ids
    assert rebuilt.cells[1].outputs[0]["text"] == "ran\n"


def test_a_notebook_with_edits_the_py_lacks_is_kept(chapter, capsys):
    build_notebook(chapter)
    path = chapter.with_suffix(".ipynb")
    notebook = nbformat.read(path, as_version=4)
    notebook.cells[2].source = "y = 'my answer'"
    nbformat.write(notebook, path)
    before = path.read_text()

    chapter.write_text(TEXT.replace("y = x + 1", "y = x + 2"))  # e.g. a new course version
    assert build_notebook(chapter) == "kept"
    assert path.read_text() == before
    assert "y = x + 2" in chapter.read_text()  # and neither is the .py overwritten
    # jupytext (JupyterLab) now refuses the notebook rather than open it with the .py's cells
    assert path.stat().st_mtime > chapter.stat().st_mtime + 1


def test_a_notebook_edited_outside_jupyterlab_is_saved_into_its_unchanged_py(chapter):
    """What a JupyterLab save would have done: the .py, as built, takes the notebook's cells."""
    build_notebook(chapter)
    path = chapter.with_suffix(".ipynb")
    notebook = nbformat.read(path, as_version=4)
    notebook.cells[2].source = "y = 'my answer'"
    notebook.cells.append(nbformat.v4.new_markdown_cell("My note."))
    nbformat.write(notebook, path)
    assert build_notebook(chapter) == "synced"
    assert [c.source for c in jupytext.read(chapter).cells][1:] == ["x = 1", "y = 'my answer'", "My note."]
    assert build_notebook(chapter) == "current"


def test_saved_pair_counts_as_current(chapter):
    """JupyterLab saves both files; the builder must then leave them alone."""
    build_notebook(chapter)
    path = chapter.with_suffix(".ipynb")
    notebook = nbformat.read(path, as_version=4)
    notebook.cells[2].source = "y = 'my answer'"
    nbformat.write(notebook, path)
    jupytext.write(notebook, chapter, fmt="py:percent")
    assert build_notebook(chapter) == "current"
    assert "my answer" in nbformat.read(path, as_version=4).cells[2].source


@pytest.mark.parametrize("source", SOURCES, ids=lambda p: f"{p.parent.name}/{p.name}")
def test_saving_in_jupyterlab_rewrites_the_py_identically(source):
    """The committed .py is exactly what jupytext writes back, so a save changes only real edits."""
    config = jupytext.config.load_jupytext_configuration_file(str(source.parent / "jupytext.toml"))
    notebook = jupytext.read(source)
    assert jupytext.writes(notebook, fmt="py:percent", config=config) == source.read_text()
