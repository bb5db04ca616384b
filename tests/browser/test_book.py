"""The course's website (``./course book``): built, served from 127.0.0.1 and read in Chromium.

The whole book is built once per session (executions are cached in ``book/_build``: a cold
build runs every chapter, a warm one only those whose code changed) with MathJax served by the
site itself; the browser may fetch nothing beyond the loopback server. Every chapter page must
load without a console error, with its equations typeset and every figure loaded; the
navigation must reach every chapter and the search must find a term. Screenshots go to
``test-artifacts/browser/book/``.
"""

from __future__ import annotations

import functools
import http.server
import re
import secrets
import shutil
import threading
from pathlib import Path
from urllib.parse import urlparse

import pytest

from course import book

SITE = book.BOOK / "_build" / "html"
CHAPTERS = [path.stem for path in book.chapter_files()]


@pytest.fixture(scope="session")
def built():
    """The book built from the solutions, with the build's log."""
    try:
        done = book.build(local_mathjax=True, quiet=True)
    except book.BookError as error:
        pytest.fail(str(error), pytrace=False)
    return done.stdout


def serve(folder: Path):
    """An HTTP server for ``folder`` on 127.0.0.1 (a free port), in a thread; stop with ``shutdown``."""
    handler = functools.partial(_QuietHandler, directory=str(folder))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args):
        pass


@pytest.fixture(scope="session")
def site(built):
    server = serve(SITE)
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()


@pytest.fixture
def tab(browser, artifacts, request):
    """A browser tab that may load nothing but the loopback server; it records what went wrong."""
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    page.set_default_timeout(30_000)
    page.problems = []
    context.route("**/*", functools.partial(_loopback_only, page.problems))
    page.on("console", lambda message: message.type == "error" and page.problems.append(
        f"console error: {message.text}"))
    page.on("pageerror", lambda error: page.problems.append(f"page error: {error}"))
    page.on("requestfailed", lambda req: page.problems.append(f"request failed: {req.url} ({req.failure})"))
    yield page
    report = getattr(request.node, "report_call", None)
    if report is not None and report.failed:
        (artifacts / "book").mkdir(exist_ok=True)
        page.screenshot(path=artifacts / "book" / f"FAILED_{request.node.name}.png")
    context.close()


def _loopback_only(problems: list[str], route) -> None:
    if urlparse(route.request.url).hostname == "127.0.0.1":
        route.continue_()
    else:
        problems.append(f"request beyond the loopback server: {route.request.url}")
        route.abort()


def read_page(tab, url: str) -> list[str]:
    """Open ``url`` and return everything wrong with it: errors, untypeset math, broken images."""
    tab.goto(url, wait_until="load")
    tab.wait_for_function("() => !window.MathJax || (window.MathJax.startup && window.MathJax.startup.promise)")
    tab.evaluate("() => window.MathJax ? window.MathJax.startup.promise : null")  # typesetting done
    problems = list(tab.problems)
    untypeset = tab.evaluate("() => [...document.querySelectorAll('.math')]"
                             ".filter(m => !m.querySelector('mjx-container')).map(m => m.textContent.slice(0, 60))")
    problems += [f"equation not typeset: {text}" for text in untypeset]
    prose = tab.evaluate("() => [...document.querySelectorAll('article p, article li')]"
                         ".filter(e => !e.closest('pre, code, .math')).map(e => e.innerText).join('\\n')")
    problems += [f"raw TeX in the text: ...{prose[max(m.start() - 30, 0):m.end() + 30]}..."
                 for m in re.finditer(r"\$\$|\\\(|\\\[|\$[^$\s][^$\n]*[^$\s]\$", prose)]
    broken = tab.evaluate("() => [...document.images].filter(i => !(i.complete && i.naturalWidth > 0))"
                          ".map(i => i.getAttribute('src'))")
    problems += [f"image did not load: {src}" for src in broken]
    return problems


def test_every_chapter_page_loads_with_its_equations_and_figures(tab, site, artifacts):
    assert not read_page(tab, f"{site}/intro.html")
    linked = tab.evaluate("() => [...document.querySelectorAll('nav.bd-docs-nav a')].map(a => a.getAttribute('href'))")
    assert [link for link in linked if link != "#"] == [f"{chapter}.html" for chapter in CHAPTERS]  # "#": home
    shots = artifacts / "book"
    shots.mkdir(exist_ok=True)
    figures = equations = 0
    for chapter in CHAPTERS:
        tab.problems.clear()
        problems = read_page(tab, f"{site}/{chapter}.html")
        assert not problems, f"{chapter}: " + "; ".join(problems[:5])
        title = tab.locator("article h1").first.inner_text()
        assert re.match(rf"Chapter {chapter[:2]} · ", title), title
        figures += tab.locator("article img").count()
        equations += tab.locator("article mjx-container").count()
        tab.screenshot(path=shots / f"{chapter}.png")
        if tab.locator("article img").count():  # and its first figure
            tab.locator("article img").first.scroll_into_view_if_needed()
            tab.screenshot(path=shots / f"{chapter}_figure.png")
    assert figures >= 30 and equations >= 60  # the course's figures and equations, not a few


def test_an_exercise_shows_its_stub_then_a_folded_solution_and_its_check(tab, site, artifacts):
    tab.goto(f"{site}/06_edge_list.html")
    assert "raise NotImplementedError('Exercise 6.1:" in tab.locator("article").inner_text()
    solution = tab.locator(".tag_hide-input details").first
    assert not solution.evaluate("d => d.open")  # folded until clicked
    assert "passed" in tab.locator(".tag_hide-input").first.inner_text()  # its check's output shows anyway
    solution.locator("summary").click()
    assert solution.evaluate("d => d.open") and "def " in solution.inner_text()
    answers = tab.locator(".admonition.dropdown").last
    assert "Answers" in answers.inner_text()
    solution.scroll_into_view_if_needed()
    tab.screenshot(path=artifacts / "book" / "06_exercise_opened.png")


def test_search_finds_a_term(tab, site):
    tab.goto(f"{site}/search.html?q=softmax")
    results = tab.locator("#search-results ul.search li")
    results.first.wait_for()
    pages = {href.split("#")[0] for href in results.locator("a").evaluate_all("l => l.map(a => a.getAttribute('href'))")}
    assert {"03_attention_math.html", "06_edge_list.html"} <= pages
    assert not tab.problems


def test_a_missing_figure_is_reported(tab, built, tmp_path):
    broken = tmp_path / "site"
    shutil.copytree(SITE, broken)
    tab.goto("about:blank")
    page = (broken / "02_looking_at_the_graph.html").read_text(encoding="utf-8")
    figure = re.search(r'<img [^>]*src="(_images/[^"]+\.png)"', page).group(1)
    (broken / figure).unlink()
    server = serve(broken)
    try:
        problems = read_page(tab, f"http://127.0.0.1:{server.server_port}/02_looking_at_the_graph.html")
    finally:
        server.shutdown()
    assert f"image did not load: {figure}" in problems


def test_a_prose_change_executes_nothing_and_a_code_change_one_chapter(built, tmp_path):
    edited = tmp_path / "solutions"
    shutil.copytree(book.SOLUTIONS, edited)
    prose = edited / "00_big_picture.py"
    prose.write_text(prose.read_text(encoding="utf-8").replace("# # Chapter 00 · The big picture\n",
                                                               "# # Chapter 00 · The big picture\n#\n# Edited.\n", 1))
    try:
        assert book.executed_notebooks(book.build(solutions=edited, local_mathjax=True, quiet=True).stdout) == []
        code = edited / "03_attention_math.py"
        code.write_text(code.read_text(encoding="utf-8") + f'\n# %%\nprint("{secrets.token_hex(8)}")\n')  # new code
        log = book.build(solutions=edited, local_mathjax=True, quiet=True).stdout
        assert book.executed_notebooks(log) == ["03_attention_math"]
    finally:  # the site as the solutions make it, from the cache
        log = book.build(local_mathjax=True, quiet=True).stdout
    assert book.executed_notebooks(log) == []
