"""Sweeps (verify/_sweep.py): local processes and a Dask LocalCluster give the in-process rows;
a sweep killed with SIGKILL and resumed gives the rows of an uninterrupted one; two processes on
one run folder never compute a task twice."""

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

import _sleepy_claims
import _toy_claims
from golden._golden import comparable_rows
from netmarl_verify.verify import (
    EXTRA_CLAIMS_ENV,
    REGISTRY,
    Registry,
    RunFolderError,
    run_checks,
    sweep,
    to_frame,
)

HERE = Path(__file__).resolve().parent
CHEAP_QU2020 = ("qu2020.thm1", "qu2020.cor1", "qu2020.lemma2a", "qu2020.lemma2b", "qu2020.lemma3",
                "qu2020.appA2", "qu2020.figB4", "qu2020.thm3a")


@pytest.fixture(scope="module")
def mixed_registry():
    """The cheap qu2020 claims (objects of the default registry, looked up by id in the workers)
    and the toy claims (pickled to the workers)."""
    registry = Registry()
    for cid in CHEAP_QU2020:
        registry.register(REGISTRY.get(cid))
    _toy_claims.register_toy_claims(registry)
    return registry


def _rows(results):
    """Comparable rows as JSON text: exact floats, and NaN equal to NaN."""
    return [json.dumps(r, sort_keys=True) for r in comparable_rows(to_frame(results))]


@pytest.fixture(scope="module")
def in_process_rows(mixed_registry):
    return {target: _rows(run_checks(target, quick=True, seed=1, progress=False, registry=mixed_registry))
            for target in ("qu2020", "toy")}


def test_local_processes_give_the_in_process_rows(mixed_registry, in_process_rows, tmp_path):
    for target in ("qu2020", "toy"):
        stats = {}
        got = sweep(target, quick=True, seed=1, jobs=2, run_dir=tmp_path / target, progress=False,
                    registry=mixed_registry, stats=stats)
        assert stats["workers"] == 2 and len(stats["computed"]) == stats["tasks"]
        assert _rows(got) == in_process_rows[target]
        # every task file is complete JSON, no temporary file is left
        files = sorted((tmp_path / target / "tasks").iterdir())
        assert len(files) == stats["tasks"] and all(f.suffix == ".json" for f in files)
        # resumed from the folder alone: the same rows, nothing recomputed
        again = {}
        resumed = sweep(target, quick=True, seed=1, jobs=2, run_dir=tmp_path / target, resume=True,
                        progress=False, registry=mixed_registry, stats=again)
        assert again["computed"] == [] and again["resumed"] == stats["tasks"]
        assert _rows(resumed) == in_process_rows[target]


def test_run_folder_guards(mixed_registry, tmp_path):
    sweep("toy.geometric", quick=True, run_dir=tmp_path, progress=False, registry=mixed_registry)
    with pytest.raises(RunFolderError, match="--resume"):
        sweep("toy.geometric", quick=True, run_dir=tmp_path, progress=False, registry=mixed_registry)
    with pytest.raises(RunFolderError, match="seed"):
        sweep("toy.geometric", quick=True, seed=5, run_dir=tmp_path, resume=True, progress=False,
              registry=mixed_registry)
    with pytest.raises(ValueError, match="run_dir"):
        sweep("toy", resume=True, registry=mixed_registry)


@pytest.mark.slow
def test_dask_local_cluster_gives_the_in_process_rows(mixed_registry, in_process_rows):
    distributed = pytest.importorskip("distributed")
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True, host="127.0.0.1",
                                  dashboard_address=None) as cluster:
        for target in ("qu2020", "toy"):
            stats = {}
            got = sweep(target, quick=True, seed=1, scheduler=cluster.scheduler_address, progress=False,
                        registry=mixed_registry, stats=stats)
            assert stats["workers"] == 2
            assert _rows(got) == in_process_rows[target]


# -- subprocesses: kill -9 and concurrent resumes ------------------------------------------------

def _env(log=None):
    env = dict(os.environ)
    env[EXTRA_CLAIMS_ENV] = "_sleepy_claims:register"
    env["PYTHONPATH"] = os.pathsep.join([str(HERE), env.get("PYTHONPATH", "")]).rstrip(os.pathsep)
    env.pop(_sleepy_claims.LOG_ENV, None)
    if log is not None:
        env[_sleepy_claims.LOG_ENV] = str(log)
    return env


def _cli(run_dir, *extra):
    return [sys.executable, "-m", "netmarl_verify", "run", "toy.sleepy", "--jobs", "1", "--run-dir",
            str(run_dir), "--no-progress", "--json", *extra]


@pytest.fixture(scope="module")
def sleepy_rows():
    registry = Registry()
    _sleepy_claims.register(registry)
    return _rows(run_checks("toy.sleepy", registry=registry, progress=False))


def _json_rows(stdout):
    rows = [json.loads(line) for line in stdout.splitlines() if line.strip()]
    return [(r["instance"], r["measured"], r["verdict"]) for r in rows]


def _expected(sleepy_rows):
    return [(r["instance"], r["measured"], r["verdict"]) for r in map(json.loads, sleepy_rows)]


def test_sigkill_then_resume_gives_the_uninterrupted_rows(tmp_path, sleepy_rows):
    run_dir = tmp_path / "run"
    proc = subprocess.Popen(_cli(run_dir), env=_env(), stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    tasks = run_dir / "tasks"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and proc.poll() is None:
        if tasks.is_dir() and len(list(tasks.glob("*.json"))) >= 3:
            break
        time.sleep(0.02)
    assert proc.poll() is None, proc.stderr.read().decode()
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    proc.stderr.close()
    written = sorted(tasks.glob("*.json"))
    assert 3 <= len(written) < _sleepy_claims.N_INSTANCES  # killed part-way
    for f in written:  # nothing partial: every task file parses and holds its row
        assert len(json.loads(f.read_text())["rows"]) == 1

    # an interrupted folder needs --resume; with it, only the missing tasks run
    refused = subprocess.run(_cli(run_dir), env=_env(), capture_output=True, text=True)
    assert refused.returncode == 2 and "--resume" in refused.stderr
    log = tmp_path / "log"
    done = subprocess.run(_cli(run_dir, "--resume"), env=_env(log), capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert _json_rows(done.stdout) == _expected(sleepy_rows)
    recomputed = log.read_text().split("\n")[:-1]
    assert len(recomputed) == _sleepy_claims.N_INSTANCES - len(written)
    assert not list(tasks.glob(".*"))  # no temporary file is left


def test_two_processes_never_compute_a_task_twice(tmp_path, sleepy_rows):
    run_dir, log = tmp_path / "run", tmp_path / "log"
    procs = [subprocess.Popen(_cli(run_dir, "--resume"), env=_env(log), stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, text=True) for _ in range(2)]
    outs = [p.communicate(timeout=120) for p in procs]
    for p, (out, err) in zip(procs, outs):
        assert p.returncode == 0, err
        assert _json_rows(out) == _expected(sleepy_rows)  # both end with all the rows
    computed = [line.split()[0] for line in log.read_text().splitlines()]
    assert sorted(computed) == sorted(f"k={k}" for k in range(_sleepy_claims.N_INSTANCES))
    pids = {line.split()[1] for line in log.read_text().splitlines()}
    assert len(pids) == 2  # the work was shared
