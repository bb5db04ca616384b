"""The shape of the code: two packages, one direction of dependency, no borrowed private helpers.

``gatkit`` is the library; ``course`` (in ``course-tools/``) is the course tooling built on it.
The library must work without the course and without its optional extras.
"""

import ast
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
LIBRARY = ROOT / "gatkit"
COURSE = ROOT / "course-tools" / "course"
PROJECT_PACKAGES = ("gatkit", "course")


def _modules(folder: Path) -> list[Path]:
    return sorted(folder.rglob("*.py"))


def _imports(path: Path) -> list[tuple[str, list[str], int]]:
    """``(module, names, line)`` for every import in ``path`` (names empty for ``import x``)."""
    found = []
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            found += [(alias.name, [], node.lineno) for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.append((node.module, [alias.name for alias in node.names], node.lineno))
    return found


def test_the_library_never_imports_the_course():
    offending = [f"{path.relative_to(ROOT)}:{line} imports {module}"
                 for path in _modules(LIBRARY) for module, _, line in _imports(path)
                 if module.split(".")[0] == "course"]
    assert not offending, "gatkit must not depend on the course tooling:\n" + "\n".join(offending)


def test_importing_every_library_module_loads_no_course_module():
    code = textwrap.dedent(f"""
        import importlib, pkgutil, sys
        import gatkit
        for module in pkgutil.walk_packages(gatkit.__path__, "gatkit."):
            importlib.import_module(module.name)
        loaded = sorted(name for name in sys.modules if name.split(".")[0] in ("course", "jupytext", "nbval"))
        assert not loaded, loaded
    """)
    subprocess.run([sys.executable, "-c", code], check=True, cwd=ROOT / "tests", timeout=300)


def _module_aliases(tree: ast.AST) -> dict[str, str]:
    """Local names bound to project modules: ``{"viz": "gatkit.viz", "ch03": "course.checks.ch03"}``."""
    aliases = {}
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name.split(".")[0] in PROJECT_PACKAGES:
                    aliases[alias.asname or alias.name] = alias.name
        elif isinstance(node, ast.ImportFrom) and node.module and node.module.split(".")[0] in PROJECT_PACKAGES:
            for alias in node.names:
                aliases[alias.asname or alias.name] = f"{node.module}.{alias.name}"
    return aliases


@pytest.mark.parametrize("path", _modules(LIBRARY) + _modules(COURSE), ids=lambda p: str(p.relative_to(ROOT)))
def test_no_module_uses_another_modules_private_helpers(path):
    tree = ast.parse(path.read_text(), str(path))
    borrowed = []
    for module, names, line in _imports(path):
        if module.split(".")[0] in PROJECT_PACKAGES:
            borrowed += [f"line {line}: from {module} import {name}" for name in names
                         if name.startswith("_") and name != "__version__"]
    aliases = _module_aliases(tree)
    for node in ast.walk(tree):
        if (isinstance(node, ast.Attribute) and node.attr.startswith("_") and not node.attr.startswith("__")
                and isinstance(node.value, ast.Name) and node.value.id in aliases):
            borrowed.append(f"line {node.lineno}: {node.value.id}.{node.attr}")
    assert not borrowed, "private helpers belong to their module; make them public or move them:\n" + "\n".join(borrowed)


# What a core install (`pip install gatkit`, no extras) lacks: imports of these must fail.
EXTRAS_ONLY = ("matplotlib", "sklearn", "igraph", "ipywidgets", "IPython", "tensorboard",
               "jupyterlab", "jupytext", "nbformat", "nbval", "torch_geometric", "course")

CORE_INSTALL = textwrap.dedent("""
    import sys
    for name in {blocked!r}:
        sys.modules[name] = None  # import fails, importlib.util.find_spec says "not installed"
""")


def test_the_core_library_works_without_any_extra(tmp_path):
    """Load Cora, build every layer type, train a few epochs, analyse attention: no extra needed."""
    code = CORE_INSTALL.format(blocked=EXTRAS_ONLY) + textwrap.dedent("""
        import torch
        import gatkit
        from gatkit import attention, checkpoints, data, edges, graph, layers, train
        from gatkit.cli import main
        cora = gatkit.load_planetoid("cora", progress=False)
        for layer_type in layers.LAYER_TYPES:
            model = gatkit.GAT([cora.num_features, 8, cora.num_classes], [8, 1], layer_type=layer_type)
            logits, alphas = model(cora.x, cora.edge_index_with_self_loops, return_attention=True)
            assert logits.shape == (cora.num_nodes, cora.num_classes)
        entropy = attention.attention_entropy(alphas[0], cora.edge_index_with_self_loops, cora.num_nodes)
        assert entropy.shape == (cora.num_nodes, 8)
        assert graph.edge_homophily(cora.edge_index, cora.y) > 0.8
        assert main(["train", "--epochs", "3", "--quiet", "--should-test", "--out-dir", {out!r}]) == 0
    """).format(out=str(tmp_path))
    result = subprocess.run([sys.executable, "-c", code], cwd=tmp_path, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr[-3000:]
    assert "test acc" in result.stdout


@pytest.mark.parametrize("command", [["visualise", "dataset"],
                                     ["train", "--epochs", "2", "--quiet", "--should-visualise"]])
def test_a_figure_without_the_plot_extra_says_how_to_install_it(tmp_path, command):
    code = CORE_INSTALL.format(blocked=EXTRAS_ONLY) + textwrap.dedent("""
        from gatkit.cli import main
        raise SystemExit(main({argv!r}))
    """).format(argv=command + ["--out-dir", str(tmp_path)])
    result = subprocess.run([sys.executable, "-c", code], cwd=tmp_path, capture_output=True, text=True, timeout=300)
    assert result.returncode == 2, result.stderr[-3000:]
    assert "pip install 'gatkit[plot]'" in result.stderr and "Traceback" not in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1, result.stderr
