"""The generator that turns solutions/ into the student chapters/."""

import subprocess
import textwrap
from pathlib import Path

import pytest

from course.chapters import MarkerError, find_exercises, generate, make_chapter

ROOT = Path(__file__).resolve().parents[1]

SOLUTION = textwrap.dedent('''\
    # %% [markdown]
    # ## Exercise 3.2: the neighbourhood softmax

    # %%
    def softmax_per_target(scores, index):
        """Docstring stays."""
        ### BEGIN SOLUTION
        top = scores.max()

        return top
        ### END SOLUTION


    softmax_per_target = exercise("3.2", softmax_per_target)

    # %% [markdown] tags=["solution"]
    # The answer is 42.

    # %%
    print("after")
    ''')


def test_solution_region_becomes_an_indented_stub_naming_the_exercise():
    chapter = make_chapter(SOLUTION)
    assert "top = scores.max()" not in chapter and "### BEGIN" not in chapter
    assert '    # YOUR CODE HERE (about 2 lines)\n' in chapter  # blank lines are not counted
    assert "    raise NotImplementedError('Exercise 3.2: the neighbourhood softmax')\n" in chapter
    assert '"""Docstring stays."""' in chapter


def test_solution_cells_are_dropped_and_everything_else_is_kept():
    chapter = make_chapter(SOLUTION)
    assert "The answer is 42" not in chapter
    kept = [line for line in SOLUTION.splitlines() if "SOLUTION" not in line]
    removed = {"    top = scores.max()", "    return top", "# The answer is 42.",
               '# %% [markdown] tags=["solution"]', ""}
    for line in kept:
        if line not in removed:
            assert line in chapter.splitlines(), line
    assert chapter.endswith('print("after")\n')


def test_generated_stub_raises_not_implemented_with_the_exercise_id():
    namespace = {"exercise": lambda _id, fn: fn}
    exec(compile(make_chapter(SOLUTION), "chapter", "exec"), namespace)
    with pytest.raises(NotImplementedError, match="Exercise 3.2"):
        namespace["softmax_per_target"]([1.0], [0])


def test_generation_is_deterministic():
    assert make_chapter(SOLUTION) == make_chapter(SOLUTION)


@pytest.mark.parametrize("broken, message", [
    (SOLUTION.replace("    top = scores.max()", "    ### BEGIN SOLUTION"), "nested"),
    (SOLUTION.replace("    ### END SOLUTION\n", ""), "never closed|new cell before"),
    (SOLUTION.replace("    ### BEGIN SOLUTION\n", ""), "without a matching"),
    (SOLUTION.replace("# ## Exercise 3.2: the neighbourhood softmax", "# ## Some heading"), "no '## Exercise"),
    (SOLUTION.replace("    return top\n", "    return top\n# %%\n"), "new cell before"),
])
def test_broken_markers_are_refused_with_the_line(broken, message):
    with pytest.raises(MarkerError, match=message) as info:
        make_chapter(broken, source="solutions/03_x.py")
    assert "solutions/03_x.py:" in str(info.value)


def test_find_exercises_reads_the_headings():
    assert [(e.id, e.title) for e in find_exercises(SOLUTION)] == [("3.2", "the neighbourhood softmax")]


def test_committed_chapters_are_up_to_date():
    assert generate(check=True) == 0, "run `python -m course.chapters` and commit chapters/"


def _git(folder, *args):
    subprocess.run(["git", *args], cwd=folder, check=True, capture_output=True)


@pytest.fixture
def course(tmp_path):
    solutions, chapters = tmp_path / "solutions", tmp_path / "chapters"
    solutions.mkdir(), chapters.mkdir()
    (solutions / "03_attention.py").write_text(SOLUTION)
    _git(tmp_path, "init", "-q")
    _git(tmp_path, "-c", "user.email=t@t", "-c", "user.name=t", "commit", "-q", "--allow-empty", "-m", "init")
    return solutions, chapters


def test_check_mode_reports_missing_stale_and_orphan_chapters(course, capsys):
    solutions, chapters = course
    assert generate(solutions, chapters, check=True) == 1  # missing
    assert not (chapters / "03_attention.py").exists(), "--check writes nothing"
    assert generate(solutions, chapters) == 0
    assert generate(solutions, chapters, check=True) == 0
    (solutions / "03_attention.py").write_text(SOLUTION.replace("after", "later"))
    assert generate(solutions, chapters, check=True) == 1
    (chapters / "99_orphan.py").write_text("")
    generate(solutions, chapters, check=True)
    assert "orphan" in capsys.readouterr().err


@pytest.mark.parametrize("committed", [False, True], ids=["uncommitted", "committed"])
def test_a_learners_answers_are_carried_into_the_new_version(course, capsys, committed):
    """Committed or not, with --force or not: the new version arrives, the answer stays (issue 14)."""
    solutions, chapters = course
    generate(solutions, chapters)
    _git(solutions.parent, "add", "-A")
    _git(solutions.parent, "-c", "user.email=t@t", "-c", "user.name=t", "commit", "-q", "-m", "chapters")
    chapter = chapters / "03_attention.py"
    chapter.write_text(chapter.read_text().replace("raise NotImplementedError", "return 42  #"))
    if committed:
        _git(solutions.parent, "-c", "user.email=t@t", "-c", "user.name=t", "commit", "-q", "-am", "mine")
    (solutions / "03_attention.py").write_text(SOLUTION.replace("after", "later"))

    assert generate(solutions, chapters) == 0
    assert "answers to exercise 3.2 carried over" in capsys.readouterr().out
    text = chapter.read_text()
    assert "return 42" in text and 'print("later")' in text and 'print("after")' not in text
    assert generate(solutions, chapters, check=True) == 1  # CI: a chapter holding answers is not the stub
    (solutions / "03_attention.py").write_text(SOLUTION.replace("after", "at last"))
    assert generate(solutions, chapters, force=True) == 0
    assert "return 42" in chapter.read_text() and "at last" in chapter.read_text()
