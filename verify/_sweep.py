"""Sweeps: (claim, instance, seed) tasks on local processes or a Dask cluster, with a run folder.

A task is one instance of one claim: ``Task(claim, index, instance, seed, quick)``. Its rows are
a pure function of those fields (:func:`~netmarl_verify.verify._run.instance_rng` gives every
(claim, instance) pair its own random stream), so tasks run anywhere, in any order, and a
resumed sweep gives exactly the rows of an uninterrupted one. A worker re-creates the instance
from ``claim.instances(quick, seed)`` (deterministic in (quick, seed); checked by name) and
returns the rows as plain JSON data; the parent decodes every row from that same JSON data,
fresh or loaded from disk, and orders them like :func:`run_checks` (claim order, then
instance order).

Engines
-------
``jobs=1`` (no scheduler): in this process. ``jobs=N``: a
:class:`concurrent.futures.ProcessPoolExecutor` of N spawned processes, BLAS pinned to
`threads` threads in each (threadpoolctl). ``scheduler="tcp://host:8786"``: the workers of a
``dask.distributed`` scheduler (``dask scheduler`` / ``dask worker``), through
:meth:`distributed.Client.get_executor`; a worker pins BLAS on its first task.

Run folder
----------
With ``run_dir``, every finished task is written to ``<run_dir>/tasks/<key>.json`` by the
parent: written to a temporary file in the same folder, flushed and fsynced, then renamed
over the final name (``os.replace``, atomic on POSIX), so a task file is either absent or
complete. ``kill -9`` loses only the tasks in flight. ``manifest.json`` records target, seed,
quick and versions; ``resume=True`` loads the finished tasks and runs only the others (a
folder with finished tasks and no ``resume`` is refused).

Several processes may work on one run folder at once (all with ``resume=True``): before
submitting a task a process takes an exclusive ``fcntl.flock`` on ``<run_dir>/locks/<key>``,
and re-checks that the task file is still absent; it writes the task file before releasing
the lock. The kernel drops the lock when its holder dies, so a killed process leaves no stale
lock, and a task is never computed and written by two processes. Tasks locked by another
process are waited for (their file appears, or the lock is freed and taken over). flock needs a
local file system (or one with working ``flock``, not every NFS setup).
"""

from __future__ import annotations

import json
import os
import pickle
import re
import socket
import sys
import tempfile
import time
import zlib
from collections import deque
from concurrent.futures import FIRST_COMPLETED, Executor, Future, wait
from dataclasses import dataclass, fields
from pathlib import Path

from netmarl_verify.envs._errors import NetmarlError

from ._claims import Assumption, CheckResult, Instance
from ._json import to_jsonable
from ._provenance import provenance, versions
from ._registry import EXTRA_CLAIMS_ENV, REGISTRY, load_extra_claims
from ._run import _check_seed, _claim_line, _progress_mode, check_instance, run_checks

__all__ = ["Task", "RunFolderError", "plan_tasks", "run_task", "sweep", "default_jobs", "JOBS_ENV"]

#: Environment variable giving the default of ``--jobs`` (else all cores).
JOBS_ENV = "NETMARL_VERIFY_JOBS"
FORMAT = 1


def default_jobs():
    """``$NETMARL_VERIFY_JOBS`` if set, else the number of cores."""
    value = os.environ.get(JOBS_ENV, "").strip()
    if value:
        try:
            jobs = int(value)
        except ValueError:
            raise ValueError(f"{JOBS_ENV} must be a positive integer, got {value!r}") from None
        if jobs < 1:
            raise ValueError(f"{JOBS_ENV} must be a positive integer, got {value!r}")
        return jobs
    return os.cpu_count() or 1


class RunFolderError(NetmarlError, ValueError):
    """A run folder that does not belong to this sweep, or needs ``--resume``."""


@dataclass(frozen=True)
class Task:
    """One instance of one claim at one master seed."""

    claim: str
    index: int
    instance: str
    seed: int
    quick: bool

    @property
    def key(self):
        """File-name-safe, unique key: claim id, instance index, a readable name and its crc32."""
        safe = re.sub(r"[^A-Za-z0-9._=-]+", "_", self.instance)[:60]
        crc = zlib.crc32(self.instance.encode("utf-8"))
        return f"{self.claim}--{self.index:04d}-{safe}-{crc:08x}"


def plan_tasks(claims, quick, seed):
    """``[(claim, [Task, ...]), ...]`` in run order; duplicate instance names raise ValueError."""
    out = []
    for claim in claims:
        tasks, seen = [], set()
        for index, raw in enumerate(claim.instances(quick, seed)):
            name = Instance.coerce(raw).name
            if name in seen:
                raise ValueError(f"claim {claim.id!r}: two instances are named {name!r}")
            seen.add(name)
            tasks.append(Task(claim.id, index, name, seed, bool(quick)))
        out.append((claim, tasks))
    return out


# -- rows as JSON data --------------------------------------------------------------------------

def _row_to_json(result):
    d = {f.name: getattr(result, f.name) for f in fields(CheckResult)}
    d["assumptions"] = [a.to_dict() for a in result.assumptions]
    return to_jsonable(d)


def _row_from_json(data):
    d = dict(data)
    d["assumptions"] = [Assumption(**a) for a in d["assumptions"]]
    return CheckResult(**d)


# -- the worker side ----------------------------------------------------------------------------

_WORKER = {"pinned": None, "claims": None, "instances": {}}


def _pin_blas(threads):
    """Limit every BLAS of this process to `threads` threads (once per process)."""
    if _WORKER["pinned"] == threads:
        return
    import numpy.linalg  # noqa: F401  (threadpoolctl limits only the libraries already loaded)
    import scipy.linalg  # noqa: F401
    import scipy.sparse.linalg  # noqa: F401
    from threadpoolctl import threadpool_limits

    threadpool_limits(limits=threads)  # not as a context: the limit stays for the process
    _WORKER["pinned"] = threads


def _init_worker(threads, claims_blob):
    _pin_blas(threads)
    if claims_blob is not None:
        _WORKER["claims"] = pickle.loads(claims_blob)


def _resolve(claim_id, extra_spec, claims_blob):
    if isinstance(claims_blob, dict):  # in this process: the caller's claims themselves
        if claim_id in claims_blob:
            return claims_blob[claim_id]
        claims_blob = None
    if claims_blob is not None and _WORKER["claims"] is None:
        _WORKER["claims"] = pickle.loads(claims_blob)
    if _WORKER["claims"] is not None and claim_id in _WORKER["claims"]:
        return _WORKER["claims"][claim_id]
    if claim_id not in REGISTRY and extra_spec and extra_spec != os.environ.get(EXTRA_CLAIMS_ENV):
        load_extra_claims(extra_spec, REGISTRY)  # a remote worker started without the variable
    return REGISTRY.get(claim_id)


def run_task(task, threads=1, versions_=None, provenance_=None, extra_spec=None, claims_blob=None, pin=True):
    """Run one task where this function is called; JSON-ready ``{"rows": [...], ...}``.

    With `pin`, BLAS is limited to `threads` threads in this process for good (worker
    processes); in the caller's own process (``jobs=1``) the BLAS setting is left alone.

    The claim is looked up in the pickled claims of `claims_blob` (claims of a registry other
    than the default one), else in the default registry (loading the extra claim modules of
    `extra_spec` if the worker's environment does not name them).
    """
    if pin:
        _pin_blas(threads)
    claim = _resolve(task.claim, extra_spec, claims_blob)
    cache_key = (task.claim, task.quick, task.seed)
    instances = _WORKER["instances"].get(cache_key)
    if instances is None:
        instances = [Instance.coerce(raw) for raw in claim.instances(task.quick, task.seed)]
        _WORKER["instances"].clear()  # one claim at a time: instances may be large
        _WORKER["instances"][cache_key] = instances
    if task.index >= len(instances) or instances[task.index].name != task.instance:
        raise RuntimeError(f"claim {task.claim!r}: instances({task.quick}, {task.seed}) is not deterministic: "
                           f"instance {task.index} is not {task.instance!r} in this process")
    start = time.perf_counter()
    rows = check_instance(claim, instances[task.index], task.seed, task.quick, versions_=versions_,
                          provenance_=provenance_)
    return {"format": FORMAT, "key": task.key, "claim": task.claim, "index": task.index,
            "instance": task.instance, "seed": task.seed, "quick": task.quick,
            "seconds": time.perf_counter() - start, "worker": f"{socket.gethostname()}:{os.getpid()}",
            "rows": [_row_to_json(r) for r in rows]}


# -- the run folder -----------------------------------------------------------------------------

try:
    import fcntl
except ImportError:  # pragma: no cover - not POSIX
    fcntl = None


def _atomic_write(path, text):
    path = Path(path)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write(text)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except FileNotFoundError:
            pass
        raise


class RunFolder:
    """``manifest.json``, ``tasks/<key>.json`` (finished tasks) and ``locks/<key>`` (see module doc)."""

    def __init__(self, path, manifest, resume):
        self.path = Path(path)
        self.tasks = self.path / "tasks"
        self.locks = self.path / "locks"
        self.tasks.mkdir(parents=True, exist_ok=True)
        self.locks.mkdir(exist_ok=True)
        target = self.path / "manifest.json"
        if not target.exists():
            fd, tmp = tempfile.mkstemp(prefix=".manifest.", suffix=".tmp", dir=self.path)
            with os.fdopen(fd, "w", encoding="utf-8") as f:
                json.dump(manifest, f, indent=2, sort_keys=True)
            try:
                os.link(tmp, target)  # fails if another process created it first
            except FileExistsError:
                pass
            finally:
                os.unlink(tmp)
        existing = json.loads(target.read_text(encoding="utf-8"))
        for k in ("format", "target", "seed", "quick"):
            if existing.get(k) != manifest.get(k):
                raise RunFolderError(
                    f"run folder {self.path} holds a sweep with {k}={existing.get(k)!r}, not {manifest.get(k)!r}; "
                    "choose another --run-dir")
        if existing.get("versions") != manifest.get("versions"):
            print(f"netmarl-verify: warning: run folder {self.path} was started with other versions "
                  f"({existing.get('versions')}); its finished tasks are kept", file=sys.stderr)
        if not resume and any(self.tasks.glob("*.json")):
            raise RunFolderError(f"run folder {self.path} already holds finished tasks: pass --resume to "
                                 "continue that sweep, or choose another --run-dir")

    def load(self, task):
        path = self.tasks / f"{task.key}.json"
        try:
            text = path.read_text(encoding="utf-8")
        except FileNotFoundError:
            return None
        data = json.loads(text)
        if (data.get("claim"), data.get("instance"), data.get("seed"), data.get("quick")) != (
                task.claim, task.instance, task.seed, task.quick):
            raise RunFolderError(f"{path} holds another task ({data.get('claim')}, {data.get('instance')})")
        return data

    def lock(self, task):
        """An open, exclusively flock-ed file of `task`, or None if another process holds it."""
        fd = os.open(self.locks / task.key, os.O_RDWR | os.O_CREAT, 0o644)
        if fcntl is None:  # pragma: no cover
            return fd
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            return None
        for tmp in self.tasks.glob(f".{task.key}.json.*.tmp"):  # left by a writer killed mid-write
            tmp.unlink(missing_ok=True)
        return fd

    def write(self, task, data):
        _atomic_write(self.tasks / f"{task.key}.json", json.dumps(data, sort_keys=True))

    @staticmethod
    def release(fd):
        if fd is not None:
            os.close(fd)  # drops the flock


# -- executors ----------------------------------------------------------------------------------

class _InlineExecutor(Executor):
    """Runs each task at once in this process (``jobs=1``)."""

    def submit(self, fn, /, *args, **kwargs):
        future = Future()
        try:
            future.set_result(fn(*args, **kwargs))
        except BaseException as exc:  # noqa: BLE001 - handed to the caller through the future
            future.set_exception(exc)
        return future


def _claims_blob(claims, registry, jobs, scheduler):
    """Pickled claims for the workers: those not in the default registry (the workers look the
    others up by id there). Plain pickle, else cloudpickle (a dependency of dask) for closures."""
    if registry is None or registry is REGISTRY or (jobs == 1 and scheduler is None):
        return None
    own = {c.id: c for c in claims if not (c.id in REGISTRY and REGISTRY.get(c.id) is c)}
    if not own:
        return None
    try:
        return pickle.dumps(own)
    except Exception as exc:
        try:
            import cloudpickle

            return cloudpickle.dumps(own)
        except Exception:
            pass
        raise ValueError(
            "jobs > 1 or a scheduler needs claims the workers can load: these come from a registry other "
            f"than the default one and cannot be pickled ({type(exc).__name__}: {exc}); register them "
            f"through {EXTRA_CLAIMS_ENV} instead, or run with jobs=1") from exc


def _open_executor(jobs, scheduler, threads, claims_blob, n_tasks):
    """``(executor, workers, close)``."""
    if scheduler is not None:
        try:
            from distributed import Client
        except ImportError as exc:
            raise ImportError("a scheduler needs dask.distributed, an optional dependency: "
                              "pip install 'netmarl-verify[cluster]' (or 'dask[distributed]')") from exc
        client = scheduler if hasattr(scheduler, "get_executor") else Client(scheduler)
        workers = max(1, sum(w.get("nthreads", 1) for w in client.scheduler_info()["workers"].values()))

        def close():
            if client is not scheduler:
                client.close()

        return client.get_executor(pure=False), workers, close
    if jobs == 1 or n_tasks <= 1:
        return _InlineExecutor(), 1, lambda: None
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor

    workers = min(jobs, n_tasks)
    pool = ProcessPoolExecutor(max_workers=workers, mp_context=multiprocessing.get_context("spawn"),
                               initializer=_init_worker, initargs=(threads, claims_blob))
    return pool, workers, lambda: pool.shutdown(wait=True, cancel_futures=True)


# -- the sweep ----------------------------------------------------------------------------------

def sweep(target="all", quick=False, seed=0, *, jobs=1, scheduler=None, run_dir=None, resume=False,
          progress=True, registry=None, threads=1, stats=None):
    """Check the claims of `target` as a sweep of tasks; a list of :class:`CheckResult`.

    The rows equal those of :func:`run_checks` (same order; only timings and the provenance
    of the worker differ: versions and provenance are the parent's).

    Parameters
    ----------
    target, quick, seed, progress, registry
        As for :func:`run_checks`.
    jobs : int
        Local processes (1: in this process). Ignored with `scheduler`.
    scheduler : str or distributed.Client, optional
        Address of a ``dask.distributed`` scheduler (``tcp://host:8786``), or a client.
    run_dir : path-like, optional
        Run folder: each finished task is written there at once (atomically).
    resume : bool
        Load the finished tasks of `run_dir` and run only the others.
    threads : int
        BLAS threads per worker process.
    stats : dict, optional
        Filled with ``tasks``, ``resumed``, ``computed`` (task keys this process computed),
        ``waited`` (finished by another process) and ``workers``.

    Raises
    ------
    UnknownClaimError, ClaimError, RunFolderError
    """
    seed = _check_seed(seed)
    if jobs < 1:
        raise ValueError(f"`jobs` must be >= 1, got {jobs!r}")
    if resume and run_dir is None:
        raise ValueError("`resume` needs a `run_dir`")
    if jobs == 1 and scheduler is None and run_dir is None:
        return run_checks(target, quick=quick, seed=seed, progress=progress, registry=registry)
    registry_ = REGISTRY if registry is None else registry
    claims = registry_.claims_for(target)
    planned = plan_tasks(claims, quick, seed)
    tasks = [t for _, ts in planned for t in ts]
    vers, prov = versions(), provenance()
    store = None
    if run_dir is not None:
        manifest = {"format": FORMAT, "target": target, "seed": seed, "quick": bool(quick), "versions": vers,
                    "claims": [c.id for c in claims], "tasks": len(tasks)}
        store = RunFolder(run_dir, manifest, resume)
    extra_spec = os.environ.get(EXTRA_CLAIMS_ENV, "")
    blob = _claims_blob(claims, registry, jobs, scheduler)

    done = {}  # key -> task data
    stats = {} if stats is None else stats
    stats.update(tasks=len(tasks), resumed=0, computed=[], waited=0)
    if store is not None:
        for t in tasks:
            data = store.load(t)
            if data is not None:
                done[t.key] = data
        stats["resumed"] = len(done)

    mode = _progress_mode(progress)
    per_claim_left = {c.id: sum(t.key not in done for t in ts) for c, ts in planned}
    n_claims, finished_claims = len(planned), [0]
    start = time.perf_counter()
    if mode == "lines" and done:
        print(f"resumed: {len(done)} of {len(tasks)} tasks already finished in {run_dir}", file=sys.stderr,
              flush=True)
    bar = None
    if mode == "bar":
        from tqdm import tqdm

        bar = tqdm(total=len(tasks), initial=len(done), desc="tasks", unit="task", file=sys.stderr,
                   dynamic_ncols=True)

    by_claim = {c.id: ts for c, ts in planned}

    def claim_finished(claim_id):
        finished_claims[0] += 1
        if mode != "lines":
            return
        rows = [_row_from_json(r) for t in by_claim[claim_id] for r in done[t.key]["rows"]]
        seconds = sum(done[t.key].get("seconds", 0.0) for t in by_claim[claim_id])
        print(_claim_line(finished_claims[0], n_claims, claim_id, rows, seconds, time.perf_counter() - start),
              file=sys.stderr, flush=True)

    def finish(task, data):
        done[task.key] = data
        per_claim_left[task.claim] -= 1
        if bar is not None:
            bar.update(1)
            bar.set_postfix_str(task.claim)
        if per_claim_left[task.claim] == 0:
            claim_finished(task.claim)

    for claim_id, left in per_claim_left.items():
        if left == 0 and by_claim[claim_id] and mode == "lines":
            finished_claims[0] += 1  # resumed whole: no line

    pending = deque(t for t in tasks if t.key not in done)
    executor, workers, close = _open_executor(jobs, scheduler, threads, blob, len(pending))
    stats["workers"] = workers
    inline = isinstance(executor, _InlineExecutor)
    window = 1 if inline else max(1, 2 * workers)
    in_flight, deferred = {}, []
    try:
        while pending or in_flight or deferred:
            while pending and len(in_flight) < window:
                t = pending.popleft()
                lock = None
                if store is not None:
                    lock = store.lock(t)
                    if lock is None:  # another process runs it
                        deferred.append(t)
                        continue
                    data = store.load(t)
                    if data is not None:  # finished by another process meanwhile
                        store.release(lock)
                        stats["waited"] += 1
                        finish(t, data)
                        continue
                fut = executor.submit(run_task, t, threads, vers, prov, extra_spec,
                                      {c.id: c for c in claims} if inline else blob, not inline)
                in_flight[fut] = (t, lock)
            if not in_flight:
                if deferred:
                    time.sleep(0.2)
                    pending.extend(deferred)
                    deferred.clear()
                continue
            finished, _ = wait(list(in_flight), timeout=0.5 if deferred else None, return_when=FIRST_COMPLETED)
            for fut in finished:
                t, lock = in_flight.pop(fut)
                try:
                    data = fut.result()
                    if store is not None:
                        store.write(t, data)
                finally:
                    if store is not None:
                        store.release(lock)
                stats["computed"].append(t.key)
                finish(t, data)
            if deferred and not pending:
                pending.extend(deferred)
                deferred.clear()
    finally:
        for fut, (t, lock) in in_flight.items():
            fut.cancel()
            if store is not None:
                store.release(lock)
        close()
        if bar is not None:
            bar.close()
    return [_row_from_json(r) for t in tasks for r in done[t.key]["rows"]]
