"""The distribution: one import package, the one-way data flow, and a user's own ``envs/``.

These tests read the installed package (``import netmarl_verify``), as users do, and the
repository's source files only to check import structure.
"""

import ast
import configparser
import importlib.metadata
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

import netmarl_verify

REPO = Path(__file__).resolve().parents[1]
SUBPACKAGES = ("envs", "solvers", "verify", "reports")


def _declared_packages():
    cfg = configparser.ConfigParser()
    cfg.read(REPO / "setup.cfg")
    return {p.strip() for p in cfg["options"]["packages"].split() if p.strip()}


def _source_files(folder):
    return sorted((REPO / folder).rglob("*.py"))


def _imports(path):
    """Absolute module names imported anywhere in `path` (top level and inside functions)."""
    tree = ast.parse(path.read_text(), filename=str(path))
    names = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names += [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names.append(node.module)
            if node.module == "netmarl_verify":  # from netmarl_verify import envs
                names += [f"netmarl_verify.{a.name}" for a in node.names]
    return names


def test_version_comes_from_the_distribution_metadata():
    assert netmarl_verify.__version__ == importlib.metadata.version("netmarl-verify")


def test_every_package_folder_is_declared_in_setup_cfg():
    found = {"netmarl_verify"}
    for folder in SUBPACKAGES:
        for init in (REPO / folder).rglob("__init__.py"):
            rel = init.parent.relative_to(REPO).parts
            found.add(".".join(("netmarl_verify",) + rel))
    assert found == _declared_packages()


def test_the_distribution_adds_exactly_one_top_level_import_package():
    dist = importlib.metadata.distribution("netmarl-verify")
    top = (dist.read_text("top_level.txt") or "").split()
    assert top == ["netmarl_verify"]
    assert {p.split(".")[0] for p in _declared_packages()} == {"netmarl_verify"}


@pytest.mark.parametrize("folder", SUBPACKAGES + ("tests",))
def test_no_module_imports_a_bare_top_level_name(folder):
    bad = []
    for path in _source_files(folder):
        for name in _imports(path):
            if name.split(".")[0] in SUBPACKAGES:
                bad.append(f"{path.relative_to(REPO)}: import {name}")
    assert bad == []


# The one-way flow envs -> solvers -> verify -> reports; the command line (netmarl_verify._cli)
# sits on top and is the only module that uses both verify and reports.
FORBIDDEN = {
    "envs": ("netmarl_verify.solvers", "netmarl_verify.verify", "netmarl_verify.reports", "netmarl_verify._cli"),
    "solvers": ("netmarl_verify.verify", "netmarl_verify.reports", "netmarl_verify._cli"),
    "verify": ("netmarl_verify.reports", "netmarl_verify._cli"),
    "reports": ("netmarl_verify._cli",),
}


@pytest.mark.parametrize("folder", SUBPACKAGES)
def test_data_flows_one_way(folder):
    bad = []
    for path in _source_files(folder):
        for name in _imports(path):
            if any(name == f or name.startswith(f + ".") for f in FORBIDDEN[folder]):
                bad.append(f"{path.relative_to(REPO)}: import {name}")
    assert bad == []


def test_a_user_project_with_its_own_envs_verify_reports_still_works(tmp_path):
    """A research project's own ``envs/``, ``solvers/``, ``verify/``, ``reports/`` packages on
    ``sys.path`` (its root is the working directory) must not shadow ours."""
    for name in SUBPACKAGES:
        (tmp_path / name).mkdir()
        (tmp_path / name / "__init__.py").write_text(f"raise ImportError('the user project {name} was imported')\n")
    env = dict(os.environ, PYTHONPATH=str(tmp_path))
    script = (  # the user's packages raise on import: reaching one through netmarl_verify fails the test
        "from netmarl_verify.envs import qu2020_line\n"
        "from netmarl_verify.solvers.exact import average_reward\n"
        "mdp, policy = qu2020_line(n=3, rng=0)\n"
        "print(average_reward(mdp, policy))\n"
    )
    proc = subprocess.run([sys.executable, "-c", script], cwd=tmp_path, env=env, capture_output=True, text=True,
                          timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert 0.0 <= float(proc.stdout) <= 1.0
    proc = subprocess.run([sys.executable, "-m", "netmarl_verify", "run", "qu2020.thm1", "--quick", "--json",
                           "--no-progress"], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr
    rows = [json.loads(line) for line in proc.stdout.splitlines()]
    assert rows and {r["claim"] for r in rows} == {"qu2020.thm1"}


def test_console_script_and_module_entry_point_are_the_same_cli():
    exe = Path(sys.executable).with_name("netmarl-verify")
    if not exe.exists():
        pytest.fail(f"console script not installed next to {sys.executable}")
    a = subprocess.run([str(exe), "--help"], capture_output=True, text=True, timeout=60)
    b = subprocess.run([sys.executable, "-m", "netmarl_verify", "--help"], capture_output=True, text=True, timeout=60)
    assert a.returncode == b.returncode == 0
    assert a.stdout == b.stdout
    assert "usage: netmarl-verify" in a.stdout


@pytest.mark.parametrize("folder", SUBPACKAGES)
def test_docstring_examples_import_the_package_by_its_name(folder):
    import re

    bare = re.compile(r">>>\s*(from|import)\s+(envs|solvers|verify|reports)\b")
    bad = [f"{p.relative_to(REPO)}:{k}" for p in _source_files(folder)
           for k, line in enumerate(p.read_text().splitlines(), 1) if bare.search(line)]
    assert bad == []
