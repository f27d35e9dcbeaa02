r"""A small, bounded cache of :class:`~._evaluation.PolicyEvaluation` objects (issue 10, item 3).

The public one-shot functions (:func:`~._evaluation.q_function`, :func:`~._evaluation.average_reward`,
:func:`~._evaluation.state_values`, :func:`~._evaluation.stationary_distribution`,
:func:`~._gradient.policy_gradient`, :func:`~._gradient.objective`,
:func:`~._occupancy.discounted_visitation`, :func:`~._occupancy.discounted_occupancy`) each need a
full policy evaluation. Called in the obvious loop ::

    for i in range(n):
        q_function(mdp, policy, states, actions, agent=i)
    policy_gradient(mdp, policy)

they used to solve ``n + 1`` times. With ``evaluation=None`` they now look the evaluation up here
first, so the loop solves once, exactly as passing ``evaluation=evaluate_policy(...)`` does.
:func:`~._evaluation.evaluate_policy` itself never uses the cache (it always solves and returns a
fresh object).

Key
---
* the model **object** (``id(mdp)``; the entry holds a reference to the model, so its ``id`` can
  never be reused by another object while the entry lives). Models are immutable: their arrays
  are frozen (``setflags(write=False)``) at construction;
* the policy **by value**: the probability tables the solvers read (``check_policy``) and, for a
  product policy, the agents each table observes. A mutated or new policy with the same values
  hits; different values miss. The lookup is a BLAKE2b digest of dtypes, shapes and bytes, and a
  hit is then confirmed by exact array comparison (no collision can return a wrong answer);
* ``gamma`` (bit pattern; ``None`` for average reward) and the backend class that
  ``choose_backend`` resolves for this call (so the memory budget is honoured as without the
  cache). Backend *objects* of other classes than the three built-in ones are not cached.

* the solver **code**: the function objects a solve runs through (the evaluation and Markov
  solvers, the backend's methods). Patching any of them (instrumentation, a test injecting a
  fault) makes every earlier entry unreachable, so a patched solver always solves. The key holds
  the objects themselves, so a freed function's ``id`` cannot alias a new one.

Not cached: ``rewards=`` and ``operator=`` evaluations (the one-shots never pass them), and any
call with a user :class:`~._backends.LinearBackend` subclass. ``periodic`` is not part of the
key: it changes only what :meth:`~._evaluation.PolicyEvaluation.q` does on a periodic chain, so a
hit with another ``periodic`` returns a shallow copy sharing every array.

Identical answers: a hit returns the very arrays a miss computed, through the same code path as
:func:`~._evaluation.evaluate_policy`; nothing is recomputed or reordered. Results handed to the
user are copies (e.g. :func:`~._evaluation.stationary_distribution`), so the cache cannot be
mutated from outside.

Memory
------
Least recently used entries are evicted beyond ``NETMARL_EVALUATION_CACHE_ENTRIES`` entries
(default 8) or beyond ``NETMARL_EVALUATION_CACHE_BYTES`` bytes (default 1 GiB) held in total, as
estimated from the arrays, sparse matrices and LU factors of each evaluation (a dense evaluation
at ``|S| = 4096`` holds about 270 MB: ``P`` and its LU). An evaluation larger than the byte bound
is never stored. Entries keep their model alive until evicted.

Control
-------
* ``NETMARL_EVALUATION_CACHE=0`` (environment, read at each call) disables the cache;
* ``with no_evaluation_cache(): ...`` disables it in a block (per thread / context);
* :func:`clear_evaluation_cache` drops every entry (and frees its memory);
* :func:`evaluation_cache_info` reports hits, misses, evictions, entries and bytes.
"""

import contextlib
import contextvars
import hashlib
import os
import threading
from collections import OrderedDict

import numpy as np

__all__ = ["clear_evaluation_cache", "evaluation_cache_info", "no_evaluation_cache"]

DEFAULT_MAX_ENTRIES = 8
DEFAULT_MAX_BYTES = 2**30

_lock = threading.RLock()
_entries = OrderedDict()  # key -> _Entry, least recently used first
_stats = {"hits": 0, "misses": 0, "evictions": 0}
_disabled = contextvars.ContextVar("netmarl_evaluation_cache_disabled", default=False)


class _Entry:
    __slots__ = ("mdp", "tables", "evaluation", "nbytes")

    def __init__(self, mdp, tables, evaluation, nbytes):
        self.mdp = mdp
        self.tables = tables
        self.evaluation = evaluation
        self.nbytes = nbytes


def _env_int(name, default):
    raw = os.environ.get(name)
    if raw is None or raw.strip() == "":
        return default
    try:
        return int(float(raw))
    except ValueError:
        raise ValueError(f"{name} must be a number, got {raw!r}") from None


def cache_enabled():
    """Whether the one-shot functions use the cache now (environment and :func:`no_evaluation_cache`)."""
    if _disabled.get():
        return False
    flag = os.environ.get("NETMARL_EVALUATION_CACHE", "1").strip().lower()
    return flag not in ("0", "false", "no", "off")


def limits():
    """``(max_entries, max_bytes)`` from the environment (defaults 8 and 1 GiB)."""
    return (_env_int("NETMARL_EVALUATION_CACHE_ENTRIES", DEFAULT_MAX_ENTRIES),
            _env_int("NETMARL_EVALUATION_CACHE_BYTES", DEFAULT_MAX_BYTES))


@contextlib.contextmanager
def no_evaluation_cache():
    """Disable the evaluation cache inside a ``with`` block (this thread / context only)."""
    token = _disabled.set(True)
    try:
        yield
    finally:
        _disabled.reset(token)


def clear_evaluation_cache():
    """Drop every cached policy evaluation (freeing its memory) and reset the counters."""
    with _lock:
        _entries.clear()
        for k in _stats:
            _stats[k] = 0


def evaluation_cache_info():
    """Counters and size of the evaluation cache.

    Returns
    -------
    dict
        ``hits``, ``misses``, ``evictions``, ``entries``, ``bytes`` (estimated, held now),
        ``max_entries``, ``max_bytes``, ``enabled``.
    """
    max_entries, max_bytes = limits()
    with _lock:
        return dict(_stats, entries=len(_entries), bytes=sum(e.nbytes for e in _entries.values()),
                    max_entries=max_entries, max_bytes=max_bytes, enabled=cache_enabled())


# ---------------------------------------------------------------------------- keys
def policy_tables(model):
    """The policy side of a model operator, as a tuple of arrays and the observed sets; None if unknown."""
    zeta = getattr(model, "zeta", None)
    if zeta is not None:
        return tuple(np.asarray(t) for t in zeta), tuple(tuple(int(k) for k in o) for o in model.observed)
    pi = getattr(model, "pi", None)
    if pi is not None:
        return (np.asarray(pi),), ((0,),)
    return None


def _digest(tables, observed):
    h = hashlib.blake2b(digest_size=20)
    h.update(repr(observed).encode())
    for t in tables:
        h.update(f"{t.dtype.str}{t.shape}".encode())
        h.update(np.ascontiguousarray(t).tobytes())
    return h.digest()


def make_key(model, gamma, linalg, code=()):
    """``(key, tables)`` for a model operator, or ``(None, None)`` when it must not be cached."""
    from ._backends import DenseLU, KrylovBackend, SparseLU

    if type(linalg) not in (DenseLU, SparseLU, KrylovBackend):
        return None, None
    mdp = getattr(model, "mdp", None)
    side = policy_tables(model)
    if mdp is None or side is None:
        return None, None
    tables, observed = side
    g = None if gamma is None else float(gamma).hex()
    key = (id(mdp), type(mdp).__qualname__, g, type(linalg).__name__, _digest(tables, observed), tuple(code))
    return key, (tuple(t.copy() for t in tables), observed)


def _same(stored, tables):
    s_tables, s_obs = stored
    c_tables, c_obs = tables
    return s_obs == c_obs and len(s_tables) == len(c_tables) and all(
        a.shape == b.shape and a.dtype == b.dtype and np.array_equal(a, b) for a, b in zip(s_tables, c_tables))


# ---------------------------------------------------------------------------- size estimate
def estimate_bytes(evaluation):
    """Bytes held by an evaluation beyond its model: arrays, sparse matrices, LU factors."""
    seen = {id(evaluation.model)}
    mdp = getattr(evaluation.model, "mdp", None)
    if mdp is not None:
        seen.add(id(mdp))
    return int(_nbytes(vars(evaluation), seen, 0))


def _nbytes(obj, seen, depth):
    if obj is None or isinstance(obj, (int, float, str, bool, bytes, complex)) or depth > 8:
        return 0
    if id(obj) in seen:
        return 0
    seen.add(id(obj))
    if isinstance(obj, np.ndarray):
        return obj.nbytes
    if all(hasattr(obj, a) for a in ("data", "indices", "indptr")):  # CSR / CSC
        return sum(_nbytes(getattr(obj, a), seen, depth + 1) for a in ("data", "indices", "indptr"))
    if type(obj).__name__ == "SuperLU":
        n = int(obj.shape[0])
        return 12 * int(obj.nnz) + 16 * n
    if isinstance(obj, dict):
        return sum(_nbytes(v, seen, depth + 1) for v in obj.values())
    if isinstance(obj, (list, tuple, set, frozenset)):
        return sum(_nbytes(v, seen, depth + 1) for v in obj)
    d = getattr(obj, "__dict__", None)
    if isinstance(d, dict):
        return _nbytes(d, seen, depth + 1)
    slots = getattr(type(obj), "__slots__", ())
    return sum(_nbytes(getattr(obj, s, None), seen, depth + 1) for s in slots if isinstance(s, str))


# ---------------------------------------------------------------------------- get / put
def get(key, tables, mdp):
    """The cached evaluation for ``key`` (confirmed exactly against ``tables`` and ``mdp``), or None."""
    with _lock:
        entry = _entries.get(key)
        if entry is not None:
            current = policy_tables(entry.evaluation.model)
            if entry.mdp is mdp and _same(entry.tables, tables) and current is not None and _same(entry.tables, current):
                _entries.move_to_end(key)
                _stats["hits"] += 1
                return entry.evaluation
            del _entries[key]  # stale (the operator's tables changed) or a digest collision
        _stats["misses"] += 1
        return None


def put(key, tables, mdp, evaluation):
    """Store an evaluation, then evict least recently used entries beyond the bounds."""
    max_entries, max_bytes = limits()
    nbytes = estimate_bytes(evaluation)
    if max_entries <= 0 or nbytes > max_bytes:
        return
    with _lock:
        _entries[key] = _Entry(mdp, tables, evaluation, nbytes)
        _entries.move_to_end(key)
        total = sum(e.nbytes for e in _entries.values())
        while _entries and (len(_entries) > max_entries or total > max_bytes):
            _, old = _entries.popitem(last=False)
            total -= old.nbytes
            _stats["evictions"] += 1
