"""The set-up files agree with each other and with the README."""

import re
import tomllib
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]
# conda-forge names that differ from the PyPI names
CONDA_TO_PYPI = {"pytorch": "torch", "python-igraph": "igraph", "pytorch_geometric": "torch_geometric"}


def _split(requirement: str) -> tuple[str, str]:
    name, spec = re.match(r"\s*([A-Za-z0-9_.\-]+)\s*(.*)", requirement).groups()
    return name.lower(), spec.replace(" ", "")


def _requirements(pyproject: Path) -> list[str]:
    """Every third-party requirement of a pyproject.toml, extras included (not the project's own)."""
    project = tomllib.loads(pyproject.read_text())["project"]
    listed = project["dependencies"] + [r for extra in project.get("optional-dependencies", {}).values()
                                        for r in extra]
    return [r for r in listed if not r.startswith("gatkit")]


def test_environment_yml_lists_the_same_dependencies_as_the_two_packages():
    pypi = dict(_split(r) for r in _requirements(ROOT / "pyproject.toml")
                + _requirements(ROOT / "course-tools" / "pyproject.toml"))
    conda_list = yaml.safe_load((ROOT / "environment.yml").read_text())["dependencies"]
    conda = dict(_split(r) for r in conda_list if isinstance(r, str))
    conda.pop("python"), conda.pop("pip")
    conda = {CONDA_TO_PYPI.get(name, name): spec for name, spec in conda.items()}
    assert conda == pypi


CORE_ONLY = {"torch", "numpy", "scipy", "tqdm", "pooch", "requests", "urllib3"}


def test_the_core_library_needs_no_notebook_or_plotting_package():
    core = {_split(r)[0] for r in tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["dependencies"]}
    assert core <= CORE_ONLY, f"gatkit's core must stay small: {sorted(core - CORE_ONLY)}"


def test_ci_runs_exactly_the_readme_test_command():
    readme = (ROOT / "README.md").read_text()
    commands = re.findall(r"```(?:bash|sh)?\n(.*?)```", readme, flags=re.S)
    assert any(block.strip() == "./course test" for block in commands), "README must show `./course test`"
    assert any(block.strip() == "./course lab" for block in commands), "README must show `./course lab`"
    ci = [line for line in (ROOT / ".ci" / "run").read_text().splitlines()
          if line.strip() and not line.startswith("#")]
    assert ci[-1] == "exec ./course test"


def test_the_set_up_installs_the_cpu_torch_before_anything_else():
    script = (ROOT / "course").read_text()
    torch_at = script.index("pip\" install -qq torch==2.13.0")
    assert torch_at < script.index("pip\" install -qq -e")
