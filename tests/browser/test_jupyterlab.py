"""The course as a learner meets it: JupyterLab in Chromium, chapters run, widgets used, an exercise done.

Run with the rest (``./course test``) or alone: ``.venv/bin/python -m pytest tests/browser``.
Screenshots go to ``test-artifacts/browser/`` (or ``$GATKIT_TEST_ARTIFACTS/browser``).
"""

from __future__ import annotations

import contextlib
import io
import sys

import nbformat
import pytest
from labdriver import Notebook, wait_until

from course.checks import REGISTRY, exercise

WIDGET_TIMEOUT = 60  # s for one redraw of a widget's figure (a hub's neighbourhood is the slowest)


@pytest.fixture(autouse=True)
def no_page_error_or_dialog(page):
    """After each test: no uncaught JavaScript error in JupyterLab, and no dialog left open."""
    errors = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    yield
    assert not errors, "JavaScript errors in JupyterLab:\n" + "\n".join(errors)
    dialogs = page.locator(".jp-Dialog")
    assert not dialogs.count(), f"JupyterLab left a dialog open: {dialogs.first.inner_text()}"


def run_chapter(page, lab, path: str) -> Notebook:
    """Open a chapter, run all its cells, and check that every cell ran without error and drew."""
    page.goto(lab.page_url(f"lab/tree/{path}"))
    notebook = Notebook(page, lab, path).wait_until_open()
    notebook.run_all()
    notebook.save()
    problems = notebook.problems()
    assert not problems, f"{path} in JupyterLab:\n" + "\n".join(problems)
    figures = sum("image/png" in output.get("data", {}) for cell in notebook.read().cells
                  for output in cell.get("outputs", []))
    assert figures > 0, f"{path} drew no figure"
    assert notebook.images() >= figures, f"{path}: {figures} figures saved, {notebook.images()} on the page"
    return notebook


def widget_output(cell) -> tuple[str, str]:
    """The figure (its image data) and the text a widget panel shows in its output area right now."""
    output = cell.locator(".widget-output")
    image = output.locator("img")
    return (image.get_attribute("src") if image.count() == 1 else "",
            output.text_content())


def wait_for_widget(cell, what: str) -> tuple[str, str]:
    """The panel rendered as a live widget (not its text fallback) with a figure in its output."""
    wait_until(lambda: cell.locator(".widget-vbox").count() > 0
               or "Error displaying widget" in cell.inner_text(), 30, f"the {what} to render as a live widget")
    assert "Error displaying widget" not in cell.inner_text(), cell.inner_text()
    return wait_until(lambda: widget_output(cell)[0] and widget_output(cell), WIDGET_TIMEOUT,
                      f"the {what}'s first figure")


def change_and_wait(cell, before: tuple[str, str], action, what: str, new_text: bool = True) -> tuple[str, str]:
    """Do ``action`` on the widget; wait until its figure (and, if ``new_text``, its text) is new."""
    action()

    def changed():
        now = widget_output(cell)
        return now[0] and now[0] != before[0] and (now[1] != before[1] or not new_text) and now

    return wait_until(changed, WIDGET_TIMEOUT, f"the {what} to redraw after the change")


def test_chapter_02_runs_and_its_explorer_responds(page, lab, artifacts):
    notebook = run_chapter(page, lab, "chapters/02_looking_at_the_graph.ipynb")
    cell = notebook.cell(notebook.cell_index("panel = explorer(cora)"))
    first = wait_for_widget(cell, "neighbourhood explorer")
    assert "node 1358" in first[1] and "within 2 hops:" in first[1]  # the default: highest degree, 2 hops
    notebook.screenshot(artifacts / "02_explorer_highest_degree.png", top=cell.locator(".widget-vbox").first)

    # Pick a node at random: a new node, a new drawing.
    picked = change_and_wait(cell, first, lambda: cell.locator(".widget-toggle-button", has_text="random").click(),
                             "neighbourhood explorer")
    assert "node 1358:" not in picked[1]
    # Move the hops slider from 2 to 1 with the keyboard.
    handle = cell.locator(".noUi-handle").first
    handle.focus()
    handle.press("ArrowLeft")
    one_hop = change_and_wait(cell, picked, lambda: None, "neighbourhood explorer")
    assert cell.locator(".widget-readout").first.inner_text().strip() == "1"
    assert "within 1 hop:" in one_hop[1] and one_hop[1].split(":")[0] == picked[1].split(":")[0]  # same node
    notebook.screenshot(artifacts / "02_explorer_random_1_hop.png", top=cell.locator(".widget-vbox").first)


def test_chapter_08_runs_and_its_attention_explorer_responds(page, lab, artifacts):
    notebook = run_chapter(page, lab, "chapters/08_seeing_attention.ipynb")
    cell = notebook.cell(notebook.cell_index("panel = attention_explorer(cora, alphas)"))
    first = wait_for_widget(cell, "attention explorer")
    notebook.screenshot(artifacts / "08_attention_explorer_layer1.png", top=cell.locator(".widget-vbox").first)

    layer = cell.locator(".widget-dropdown", has_text="layer").locator("select")
    heads = cell.locator(".widget-dropdown", has_text="head").locator("option")
    assert heads.all_text_contents() == [*map(str, range(8)), "mean"]  # layer 1: 8 heads
    second_layer = change_and_wait(cell, first, lambda: layer.select_option("2"), "attention explorer")
    assert heads.all_text_contents() == ["0", "mean"]  # layer 2: the one output head
    # The other layout: the same neighbours and weights, drawn anew.
    kk = change_and_wait(cell, second_layer, lambda: cell.locator(".widget-toggle-button", has_text="kk").click(),
                         "attention explorer", new_text=False)
    assert kk[1] == second_layer[1]
    notebook.screenshot(artifacts / "08_attention_explorer_layer2_kk.png", top=cell.locator(".widget-vbox").first)


# The learner's two tries at exercise 1.3: first a typical mistake, then a right answer.
STUB = "    # YOUR CODE HERE (about 2 lines)\n    raise NotImplementedError('Exercise 1.3: add self-loops')"
WRONG = ("    nodes = torch.unique(edge_index)  # the nodes that appear in an edge\n"
         "    return torch.cat([edge_index, torch.stack([nodes, nodes])], dim=1)")
RIGHT = ("    loops = torch.arange(num_nodes).repeat(2, 1)  # my answer: one (i, i) column per node\n"
         "    return torch.cat([edge_index, loops], dim=1)")


def checked(code: str) -> str:
    """What ``exercise("1.3", ...)`` says about this body of ``add_self_loops``, run here."""
    import torch

    namespace = {"torch": torch}
    exec(f"def add_self_loops(edge_index, num_nodes):\n{code}", namespace)
    output = io.StringIO()
    try:
        with contextlib.redirect_stdout(output):
            exercise("1.3", namespace["add_self_loops"])
    except AssertionError as error:
        return str(error)
    return output.getvalue().strip()


def test_exercise_workflow_from_editor_to_pytest(page, lab, artifacts):
    page.goto(lab.page_url())  # what `./course lab` opens: JupyterLab at chapter 00
    Notebook(page, lab, "chapters/00_big_picture.ipynb").wait_until_open()
    assert "/lab/tree/chapters/00_big_picture.ipynb" in page.url
    path = "chapters/01_loading_cora.ipynb"
    page.goto(lab.page_url(f"lab/tree/{path}"))
    notebook = Notebook(page, lab, path).wait_until_open()
    notebook.run_all()
    index = notebook.cell_index("raise NotImplementedError('Exercise 1.3")
    assert "Exercise 1.3 (add self-loops) not attempted yet" in notebook.output_text(index)

    # A wrong answer: the targeted message, the one the check gives for this mistake.
    stub_source = notebook.source(index)
    notebook.set_source(index, stub_source.replace(STUB, WRONG))
    notebook.run_cell(index)
    message = checked(WRONG)
    assert any(hint in message for hint in REGISTRY["1.3"].mistakes), f"not a targeted hint:\n{message}"
    shown = notebook.output_text(index)
    assert all(line in shown for line in message.splitlines()), f"JupyterLab shows:\n{shown}"
    notebook.screenshot(artifacts / "01_exercise_wrong_answer.png", top=notebook.cell(index))

    # The right answer: the pass line; then save.
    notebook.set_source(index, stub_source.replace(STUB, RIGHT))
    notebook.run_cell(index)
    passed = checked(RIGHT)
    assert passed.startswith("\u2705 Exercise 1.3") and passed in notebook.output_text(index)
    notebook.screenshot(artifacts / "01_exercise_passed.png", top=notebook.cell(index - 1))
    notebook.save()
    assert not page.locator(".jp-toast-message", has_text="news").count()  # no news popup

    # The paired .py holds the answer ...
    paired = lab.root / "chapters" / "01_loading_cora.py"
    saved = paired.read_text()
    assert RIGHT in saved and STUB not in saved

    # ... and nothing that rebuilds notebooks overwrites it: the README's command, then pytest
    # (whose conftest.py builds the notebooks before nbval runs them).
    rebuilt = lab.run("./course", "notebooks")
    assert rebuilt.returncode == 0, rebuilt.stdout + rebuilt.stderr
    assert "01_loading_cora" not in rebuilt.stdout + rebuilt.stderr  # neither rebuilt nor kept aside
    tested = lab.run(sys.executable, "-m", "pytest", "--nbval", path, "-p", "no:cacheprovider")
    assert tested.returncode == 0, tested.stdout[-3000:] + tested.stderr[-3000:]
    summary = next(line for line in tested.stdout.splitlines() if line.startswith(f"{path}:"))
    assert "passed 1.3" in summary, tested.stdout[-2000:]
    assert paired.read_text() == saved
    assert RIGHT in Notebook(page, lab, path).read().cells[index].source


def test_a_cell_that_raises_is_reported(page, lab):
    """The checks above would catch an error: a notebook whose second cell raises."""
    broken = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(code)
                                             for code in ("x = 1", "x / 0", "print('never')")])
    broken.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nbformat.write(broken, lab.root / "broken.ipynb")
    page.goto(lab.page_url("lab/tree/broken.ipynb"))
    notebook = Notebook(page, lab, "broken.ipynb").wait_until_open()
    notebook.run_all()
    notebook.save()
    assert notebook.problems() == ["cell 1 ('x / 0') raised ZeroDivisionError: division by zero",
                                   "cell 2 (\"print('never')\") did not run"]
    assert "ZeroDivisionError" in notebook.output_text(1)

