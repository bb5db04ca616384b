"""Drive JupyterLab in Chromium the way a learner does: start it, open a chapter, run, edit, save.

``LabServer`` starts the course's own ``./course lab`` on a loopback port; ``Notebook`` works one
open notebook through JupyterLab's interface (menus, keyboard, the editor), never through a
private API, so what passes here is what a learner sees.
"""

from __future__ import annotations

import json
import os
import re
import signal
import socket
import subprocess
import time
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Callable

import nbformat

if TYPE_CHECKING:  # the module imports without Playwright; the browser fixture says what is missing
    from playwright.sync_api import Locator, Page


def wait_until(condition: Callable[[], object], timeout: float, what: str, interval: float = 0.25):
    """Poll ``condition`` until it returns something true; raise naming ``what`` after ``timeout`` s."""
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout:.0f} s waiting for {what}")
        time.sleep(interval)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@dataclass
class LabServer:
    """A JupyterLab server started by ``./course lab`` in ``root``, listening on loopback only."""

    root: Path
    port: int
    token: str
    process: subprocess.Popen
    log: Path
    env: dict[str, str]

    @classmethod
    def start(cls, root: Path, venv: Path, scratch: Path, token: str, timeout: float = 90) -> "LabServer":
        env = {key: value for key, value in os.environ.items() if key != "MPLBACKEND"}  # inline figures
        env.update(
            GATKIT_VENV=str(venv),
            # The learner's own JupyterLab state stays out of the test, and the test's out of theirs.
            JUPYTER_CONFIG_DIR=str(scratch / "config"),
            JUPYTER_RUNTIME_DIR=str(scratch / "runtime"),
            JUPYTERLAB_SETTINGS_DIR=str(scratch / "user-settings"),
            JUPYTERLAB_WORKSPACES_DIR=str(scratch / "workspaces"),
        )
        port, log = free_port(), scratch / "jupyterlab.log"
        with open(log, "w") as output:
            process = subprocess.Popen(
                ["./course", "lab", "--no-browser", "--ServerApp.ip=127.0.0.1", f"--ServerApp.port={port}",
                 "--ServerApp.port_retries=0", f"--IdentityProvider.token={token}"],
                cwd=root, env=env, stdout=output, stderr=subprocess.STDOUT, start_new_session=True,
            )
        server = cls(root, port, token, process, log, env)
        try:
            wait_until(server.ready, timeout, f"JupyterLab to answer on port {port}", interval=0.5)
        except AssertionError:
            server.stop()
            raise
        return server

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def ready(self) -> bool:
        if self.process.poll() is not None:
            raise AssertionError(f"./course lab exited with {self.process.returncode}:\n{self.log_tail()}")
        try:
            self.api("status")
        except OSError:
            return False
        return True

    def api(self, path: str, method: str = "GET"):
        request = urllib.request.Request(f"{self.url}/api/{path}", method=method,
                                         headers={"Authorization": f"token {self.token}"})
        with urllib.request.urlopen(request, timeout=10) as response:
            body = response.read()
        return json.loads(body) if body else None

    def page_url(self, path: str = "") -> str:
        """A page of the server; ``reset`` opens it without the tabs of an earlier visit."""
        return f"{self.url}/{path}?reset&token={self.token}"

    def shut_down_kernels(self) -> None:
        for kernel in self.api("kernels"):
            self.api(f"kernels/{kernel['id']}", method="DELETE")

    def run(self, *command: str, timeout: float = 300) -> subprocess.CompletedProcess:
        """Run a command in the course folder, in the environment JupyterLab runs in."""
        return subprocess.run(command, cwd=self.root, env=self.env, capture_output=True, text=True, timeout=timeout)

    def log_tail(self, lines: int = 40) -> str:
        return "\n".join(self.log.read_text(errors="replace").splitlines()[-lines:])

    def stop(self) -> None:
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)  # the server shuts its kernels down
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait()


class Notebook:
    """One notebook open in JupyterLab."""

    def __init__(self, page: Page, lab: LabServer, path: str):
        self.page, self.lab, self.path = page, lab, path
        self.panel = ""  # CSS selector of this notebook's panel, known once its tab is open

    # -- opening and waiting ------------------------------------------------------------------

    def wait_until_open(self, timeout: float = 60) -> "Notebook":
        """Wait until its tab is current, every cell is on the page, and the kernel is connected and idle."""
        tab = self.page.locator(".lm-DockPanel-tabBar .lm-TabBar-tab.jp-mod-current", has_text=Path(self.path).name)
        tab.wait_for(timeout=timeout * 1000)
        self.panel = f"#{tab.get_attribute('data-id')}"
        cells = len(self.read().cells)
        self.page.wait_for_function(
            f"n => document.querySelectorAll('{self.panel} .jp-Cell').length >= n", arg=cells, timeout=timeout * 1000)
        self.wait_for_kernel(timeout)
        return self

    def kernel_state(self) -> str | None:
        """The kernel's state as the server sees it, when JupyterLab is connected to it."""
        for session in self.lab.api("sessions"):
            if session["path"] == self.path and session["kernel"]["connections"] > 0:
                return session["kernel"]["execution_state"]
        return None

    def wait_for_kernel(self, timeout: float = 60) -> None:
        """Connected and idle, both for the server and in JupyterLab's own status bar."""
        wait_until(lambda: self.kernel_state() == "idle"
                   and self.page.locator(".jp-StatusBar-TextItem", has_text="| Idle").count() > 0
                   and self.page.locator(f"{self.panel} .jp-Notebook-ExecutionIndicator[data-status=idle]").count() > 0,
                   timeout, f"the kernel of {self.path} to be connected and idle")

    def prompts(self) -> list[str]:
        return [text.strip() for text in self.page.locator(f"{self.panel} .jp-CodeCell .jp-InputPrompt").all_text_contents()]

    def _wait_for_run(self, before: list[str], timeout: float, what: str) -> None:
        """Wait until a run that started from prompts ``before`` has finished (or stopped at an error)."""
        def finished() -> bool:
            prompts = self.prompts()
            return (prompts != before and not any("*" in prompt for prompt in prompts)
                    and self.kernel_state() == "idle")

        def still_finished() -> bool:  # half a second on, JupyterLab would have marked a queued cell [*]
            return finished() and (time.sleep(0.5) or finished())

        wait_until(still_finished, timeout, what)

    # -- running ------------------------------------------------------------------------------

    def menu(self, menu: str, item: str) -> None:
        self.page.locator(".lm-MenuBar-itemLabel", has_text=menu).first.click()
        self.page.locator(".lm-Menu-itemLabel", has_text=re.compile(f"^{re.escape(item)}$")).first.click()

    def run_all(self, timeout: float = 180) -> None:
        before = self.prompts()
        self.menu("Run", "Run All Cells")
        self._wait_for_run(before, timeout, f"Run All Cells in {self.path} to finish")

    def run_cell(self, index: int, timeout: float = 60) -> None:
        """Run one cell with Ctrl+Enter, as a learner does after an edit."""
        before = self.prompts()
        self.cell(index).locator(".cm-content").click()
        self.page.keyboard.press("Control+Enter")
        self._wait_for_run(before, timeout, f"cell {index} of {self.path} to run")

    # -- cells ----------------------------------------------------------------------------------

    def cell(self, index: int) -> Locator:
        cell = self.page.locator(f"{self.panel} .jp-Cell").nth(index)
        cell.scroll_into_view_if_needed()
        return cell

    def cell_index(self, text: str) -> int:
        """The index of the one cell whose source contains ``text`` (read from the saved notebook)."""
        found = [i for i, cell in enumerate(self.read().cells) if text in cell.source]
        assert len(found) == 1, f"expected one cell of {self.path} containing {text!r}, found {len(found)}"
        return found[0]

    def source(self, index: int) -> str:
        return "\n".join(self.cell(index).locator(".cm-line").all_text_contents())

    def set_source(self, index: int, text: str) -> None:
        """Replace a cell's code in the editor: click in, select all, type."""
        self.cell(index).locator(".cm-content").click()
        self.page.keyboard.press("Control+a")
        self.page.keyboard.insert_text(text)
        assert self.source(index) == text, f"the editor of cell {index} holds {self.source(index)!r}"

    def output_text(self, index: int) -> str:
        return self.cell(index).locator(".jp-OutputArea").text_content()

    # -- saving and reading back ------------------------------------------------------------------

    def save(self, timeout: float = 30) -> None:
        """Ctrl+S, then wait until JupyterLab no longer marks the notebook as changed."""
        self.page.keyboard.press("Control+s")
        tab = self.page.locator(f".lm-TabBar-tab[data-id='{self.panel[1:]}']")
        wait_until(lambda: "jp-mod-dirty" not in (tab.get_attribute("class") or ""), timeout,
                   f"{self.path} to be saved")

    def read(self) -> nbformat.NotebookNode:
        return nbformat.read(self.lab.root / self.path, as_version=4)

    def problems(self) -> list[str]:
        """Cells of the saved notebook that did not run or raised, as readable lines."""
        problems = []
        for index, cell in enumerate(self.read().cells):
            if cell.cell_type != "code":
                continue
            first_line = cell.source.splitlines()[0] if cell.source else ""
            if cell.execution_count is None:
                problems.append(f"cell {index} ({first_line!r}) did not run")
            for output in cell.outputs:
                if output.output_type == "error":
                    problems.append(f"cell {index} ({first_line!r}) raised {output.ename}: {output.evalue}")
        return problems

    def screenshot(self, path: Path, top: Locator | None = None) -> None:
        """A screenshot of the window, scrolled so that ``top`` (when given) starts at the top."""
        if top is not None:
            top.evaluate("element => element.scrollIntoView({block: 'start'})")
        self.page.wait_for_timeout(300)  # let the scrolled-to cells paint
        self.page.screenshot(path=path)

    def images(self) -> int:
        """Figures on the page, in this notebook's outputs."""
        return self.page.locator(f"{self.panel} .jp-OutputArea-output img").count()
