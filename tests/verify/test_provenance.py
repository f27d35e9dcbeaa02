"""Provenance: versions, BLAS, command line, and the source commit only from a checkout."""

import importlib.metadata
import json
import shutil
import subprocess
import sys

import pytest

import netmarl_verify
from netmarl_verify.verify import blas_info, command_line, provenance, source_commit, versions


def test_versions_name_the_package_and_the_core_libraries():
    v = versions()
    assert v["netmarl-verify"] == importlib.metadata.version("netmarl-verify") == netmarl_verify.__version__
    for name in ("python", "numpy", "scipy", "networkx", "sympy", "pandas"):
        assert v[name] and v[name] != "not installed"


def test_blas_thread_count_is_the_current_one():
    from threadpoolctl import threadpool_limits

    with threadpool_limits(limits=1):
        info = blas_info()
    assert info.count("1 thread") == len(info.split(";")) and "threads" not in info


def test_command_line_is_this_process():
    assert "pytest" in command_line()
    assert provenance()["command"] == command_line()


def test_a_folder_that_is_not_a_checkout_gives_no_commit(tmp_path):
    assert source_commit(tmp_path) is None


@pytest.mark.skipif(shutil.which("git") is None, reason="git is not installed")
def test_the_commit_of_another_project_is_never_recorded(tmp_path):
    """Installed into a venv inside another git project, the package folder is inside that
    project's work tree but is not its top: no commit is recorded."""
    subprocess.run(["git", "init", "-q", str(tmp_path)], check=True)
    pkg = tmp_path / ".venv" / "lib" / "site-packages" / "netmarl_verify"
    pkg.mkdir(parents=True)
    (pkg / ".git").mkdir()  # even a stray .git folder there is not a checkout of ours
    assert source_commit(pkg) is None


@pytest.mark.skipif(shutil.which("git") is None, reason="git is not installed")
def test_a_checkout_records_its_head(tmp_path):
    env = {"GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@t", "GIT_COMMITTER_NAME": "t",
           "GIT_COMMITTER_EMAIL": "t@t", "PATH": "/usr/bin:/bin"}
    subprocess.run(["git", "init", "-q", str(tmp_path)], check=True)
    (tmp_path / "a.txt").write_text("1")
    subprocess.run(["git", "add", "a.txt"], cwd=tmp_path, check=True)
    subprocess.run(["git", "commit", "-qm", "x"], cwd=tmp_path, check=True, env=env)
    head = subprocess.run(["git", "rev-parse", "HEAD"], cwd=tmp_path, capture_output=True, text=True).stdout.strip()
    assert source_commit(tmp_path) == head
    (tmp_path / "a.txt").write_text("2")
    sub = tmp_path / "sub"
    sub.mkdir()
    assert source_commit(sub) is None  # inside the work tree but not its top


def test_rows_record_versions_and_provenance(toy_registry):
    from netmarl_verify.verify import run

    df = run("toy", quick=True, seed=0, progress=False, registry=toy_registry)
    for col in ("version.netmarl-verify", "version.numpy", "provenance.platform", "provenance.blas",
                "provenance.command"):
        assert col in df.columns and df[col].notna().all(), col
    assert ("provenance.git commit" in df.columns) == (source_commit() is not None)


@pytest.mark.slow
def test_json_rows_carry_provenance():
    proc = subprocess.run([sys.executable, "-m", "netmarl_verify", "run", "qu2020.appA2", "--quick", "--json",
                           "--no-progress"], capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr
    row = json.loads(proc.stdout.splitlines()[0])
    assert row["versions"]["netmarl-verify"] == netmarl_verify.__version__
    assert row["provenance"]["command"].split()[1:4] == ["-m", "netmarl_verify", "run"]
    # the CLI pins every BLAS (numpy's and scipy's) to --threads (default 1)
    assert row["provenance"]["blas"].count("1 thread") == len(row["provenance"]["blas"].split(";"))
    assert "threads" not in row["provenance"]["blas"]
