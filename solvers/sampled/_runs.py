"""The run kit shared by sampled algorithms: seeding, checkpoints and trace, timing, results.

Every sampled algorithm of :mod:`netmarl_verify.solvers.sampled` (DESIGN: "each returns a trace
and accepts a callback") is written with these pieces, in this order::

    rng, seed = seeded_generator(rng)                     # seeding: the seed is recorded
    trace = TraceRecorder(B, checkpoints, callback, exact_metrics=ExactMetrics(mdp, metrics, kappa))
    clock = Stopwatch()
    clock.start()
    for t in range(T):
        if trace.due(t):
            with clock.paused():                          # checkpoints are not training time
                trace.record(t, state, {"mu_hat": ..., ...})
        ...                                               # one iteration of the algorithm
        trace.add_reward(r.mean(axis=1))                  # avg_reward of the next checkpoint row
    clock.stop()
    if trace.due(T):
        trace.record(T, state, {...})
    return MyResult(trace=trace.frame(), seed=seed, elapsed=clock.elapsed, ...)

* :func:`seeded_generator` — :func:`~netmarl_verify.envs.as_generator`, plus what to record as the
  seed: the :class:`~numpy.random.SeedSequence` entropy (an int seed comes back as itself) or,
  for a Generator passed in, its ``bit_generator.state`` before the run.
* :class:`TraceRecorder` — one trace row per run at each checkpoint: ``iteration``, ``run``,
  ``window``, ``avg_reward`` (the sampled reward averaged over the iterations since the last
  checkpoint), the algorithm's own columns, the exact metrics and whatever the callback returns.
* :class:`ExactMetrics` — exact ``J``, ``grad_norm`` and ``critic_error`` of each run's current
  policy (and truncated critic) from :mod:`netmarl_verify.solvers.exact`, cached by policy.
* :class:`Stopwatch`, :func:`agent_steps_per_second` and :class:`RunResult` (``trace``, ``seed``,
  ``settings``, ``elapsed``, ``agent_steps_per_second``), the base of every result.
* :func:`uniform_states` — the default :math:`s(0)`.
* :func:`_check_int`, :func:`_check_checkpoints`, :func:`_check_initial_states`,
  :func:`_check_step_output` — argument checks.
"""

import numbers
import time
from contextlib import contextmanager
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from netmarl_verify.envs import as_generator
from netmarl_verify.envs._validation import fmt_number

__all__ = ["seeded_generator", "uniform_states", "TraceRecorder", "ExactMetrics", "EXACT_METRICS", "Stopwatch",
           "agent_steps_per_second", "RunResult"]

#: The exact columns :class:`ExactMetrics` can add to a trace.
EXACT_METRICS = ("J", "grad_norm", "critic_error")


# ---------------------------------------------------------------------------- arguments
def _check_int(x, name, lo):
    """``int(x)`` for an integer ``x >= lo`` (not a bool); TypeError / ValueError naming ``name``."""
    if isinstance(x, bool) or not isinstance(x, (numbers.Integral,)):
        raise TypeError(f"`{name}` must be an integer, got {fmt_number(x)}")
    x = int(x)
    if x < lo:
        raise ValueError(f"`{name}` must be >= {lo}, got {x}")
    return x


def _check_checkpoints(checkpoints, T):
    """Sorted distinct checkpoints in ``[0, T]``; default 11 evenly spaced including 0 and ``T``."""
    if checkpoints is None:
        checkpoints = np.unique(np.linspace(0, T, 11).round().astype(np.int64)) if T > 0 else np.array([0])
    checkpoints = sorted({int(c) for c in checkpoints})
    if checkpoints and (checkpoints[0] < 0 or checkpoints[-1] > T):
        raise ValueError(f"`checkpoints` must lie in [0, n_iterations={T}], got {checkpoints[0]}..{checkpoints[-1]}")
    return checkpoints


def _check_initial_states(initial_states, B, n, S):
    """``initial_states`` (int, shape (n,) or (B, n)) as a (B, n) int64 copy in range; None stays None."""
    if initial_states is None:
        return None
    s = np.asarray(initial_states)
    if s.ndim == 1:
        s = np.broadcast_to(s, (B, n))
    if s.shape != (B, n) or not np.issubdtype(s.dtype, np.integer):
        raise ValueError(f"`initial_states` must be integer local states of shape (n,) or ({B}, {n}), "
                         f"got {s.shape}")
    s = s.astype(np.int64)
    bad = (s < 0) | (s >= np.asarray(S)[None, :])
    if bad.any():
        b, i = (int(x) for x in np.argwhere(bad)[0])
        raise ValueError(f"`initial_states[{b}, {i}]` = {s[b, i]} out of range for agent {i} (0..{S[i] - 1})")
    return s.copy()


def uniform_states(rng, B, S):
    """:math:`s(0)` uniform over the local states, shape (B, n): one ``rng.integers`` call per agent."""
    return np.stack([rng.integers(0, S[i], size=B) for i in range(len(S))], axis=1).astype(np.int64)


def _check_step_output(s1, r, B, n, S):
    """``env.step``'s ``(next_states, rewards)`` checked: shapes (B, n), integer states in range."""
    s1 = np.asarray(s1)
    r = np.asarray(r, dtype=np.float64)
    if s1.shape != (B, n) or r.shape != (B, n):
        raise ValueError(f"env.step must return next_states and rewards of shape ({B}, {n}), "
                         f"got {s1.shape} and {r.shape}")
    if not np.issubdtype(s1.dtype, np.integer):
        raise ValueError(f"env.step must return integer next states, got dtype {s1.dtype}")
    bad = (s1 < 0) | (s1 >= np.asarray(S)[None, :])
    if bad.any():
        b, i = (int(x) for x in np.argwhere(bad)[0])
        raise ValueError(f"env.step returned next state {s1[b, i]} for agent {i} (valid 0..{S[i] - 1})")
    return s1.astype(np.int64), r


# ---------------------------------------------------------------------------- seeding
def seeded_generator(rng, name="rng"):
    """``(generator, seed)``: :func:`~netmarl_verify.envs.as_generator` and the seed to record.

    The recorded seed is the :class:`~numpy.random.SeedSequence`'s entropy when ``rng`` is an
    int, a SeedSequence or None (so an int seed is recorded as itself, and
    ``numpy.random.default_rng(seed)`` replays the run), and the generator's
    ``bit_generator.state`` (a dict, taken now, before any draw) when ``rng`` is a Generator.
    """
    given_generator = isinstance(rng, np.random.Generator)
    rng = as_generator(rng, name)
    seed = rng.bit_generator.state if given_generator else rng.bit_generator.seed_seq.entropy
    return rng, seed


# ---------------------------------------------------------------------------- timing
class Stopwatch:
    """Seconds of training: accumulated between :meth:`start` and :meth:`stop`, except while :meth:`paused`."""

    def __init__(self):
        self.elapsed = 0.0
        self._t0 = None

    def start(self):
        self._t0 = time.perf_counter()

    def stop(self):
        self.elapsed += time.perf_counter() - self._t0
        self._t0 = None

    @contextmanager
    def paused(self):
        self.stop()
        try:
            yield
        finally:
            self.start()


def agent_steps_per_second(B, n, T, elapsed):
    """``B * n * T / elapsed`` (NaN when nothing was timed)."""
    return (B * n * T / elapsed) if elapsed > 0 else float("nan")


# ---------------------------------------------------------------------------- trace
class TraceRecorder:
    """Trace rows at checkpoints: one row per run, with the callback's and the exact columns.

    Parameters
    ----------
    batch : int
        ``B``, the runs; every column has length ``B``.
    checkpoints : iterable of int
        Iterations at which :meth:`due` is True (see :func:`_check_checkpoints`).
    callback : callable, optional
        ``callback(state) -> None or dict``; a dict of scalars or length-``B`` arrays becomes extra
        columns.
    exact_metrics : callable, optional
        ``exact_metrics(state) -> dict`` of length-``B`` columns (e.g. :class:`ExactMetrics`),
        called before the callback.

    Attributes
    ----------
    seconds : float
        Time spent in :meth:`record`.
    """

    def __init__(self, batch, checkpoints, callback=None, exact_metrics=None):
        if callback is not None and not callable(callback):
            raise TypeError("`callback` must be callable")
        self.B = int(batch)
        self.checkpoints = sorted({int(c) for c in checkpoints})
        self._due = set(self.checkpoints)
        self.callback = callback
        self.exact_metrics = exact_metrics
        self.rows = []
        self.seconds = 0.0
        self._reward_sum = np.zeros(self.B)
        self._window = 0

    def due(self, t):
        """Whether iteration ``t`` is a checkpoint."""
        return t in self._due

    def add_reward(self, reward):
        """Add one iteration's per-run reward (shape (B,)) to the window of the next row."""
        self._reward_sum += reward
        self._window += 1

    def record(self, t, state, columns):
        """Append the rows of checkpoint ``t``, then start a new reward window.

        Columns, in order: ``iteration``, ``run``, ``window`` (iterations in the reward window),
        ``avg_reward`` (NaN for an empty window), ``columns`` (the algorithm's), the exact metrics
        of ``state``, the callback's.
        """
        tm = time.perf_counter()
        B = self.B
        window = self._window
        row = {
            "iteration": np.full(B, t),
            "run": np.arange(B),
            "window": np.full(B, window),
            "avg_reward": self._reward_sum / window if window else np.full(B, np.nan),
        }
        row.update(columns)
        if self.exact_metrics is not None:
            row.update(self.exact_metrics(state))
        if self.callback is not None:
            extra = self.callback(state)
            if extra:
                for k, v in extra.items():
                    v = np.asarray(v)
                    if v.ndim == 0:
                        v = np.full(B, v.item())
                    if v.shape != (B,):
                        raise ValueError(f"callback value {k!r} must be a scalar or have shape ({B},), got {v.shape}")
                    row[k] = v
        self.rows.append(pd.DataFrame(row))
        self._reward_sum = np.zeros(B)
        self._window = 0
        self.seconds += time.perf_counter() - tm

    def frame(self, columns=("iteration", "run", "window", "avg_reward")):
        """The trace as one DataFrame; with no checkpoint, an empty one with ``columns``."""
        if self.rows:
            return pd.concat(self.rows, ignore_index=True)
        return pd.DataFrame(columns=list(columns))


class ExactMetrics:
    """Exact ``J``, ``||grad J||`` and ``max_i ||Q-hat_i - Q-hat_i^theta||_inf`` per run at a checkpoint.

    Parameters
    ----------
    mdp : NetworkedMDP
        The model the runs sample (small enough for :mod:`netmarl_verify.solvers.exact`).
    metrics : iterable of str
        Subset of :data:`EXACT_METRICS`.
    kappa : int, optional
        The truncation of the critic tables, for ``critic_error``
        (:func:`~netmarl_verify.solvers.exact.critic_fixed_point`).

    Calling it with a checkpoint ``state`` (``state.logits[i]`` of shape (B, S_i, A_i) and, for
    ``critic_error``, ``state.table(run, agent)`` a dense table) returns the columns. Policies are
    evaluated once and cached by their logits; a critic fixed point that does not fit in memory
    gives NaN.
    """

    def __init__(self, mdp, metrics=EXACT_METRICS, kappa=None):
        self.mdp = mdp
        self.metrics = tuple(metrics)
        for m in self.metrics:
            if m not in EXACT_METRICS:
                raise ValueError(f"`exact_metrics` entries must be in {EXACT_METRICS}, got {m!r}")
        if "critic_error" in self.metrics and kappa is None:
            raise ValueError("`critic_error` needs the critic's `kappa`")
        self.kappa = kappa
        self._cache = {}

    def __call__(self, state):
        return _exact_row(self.mdp, state.logits, getattr(state, "table", None), self.kappa, self.metrics,
                          self._cache)


def _exact_row(mdp, logits, table, kappa, metrics, cache):
    """Exact J, ||grad J|| and max_i ||Q-hat_i - Q-hat_i^theta||_inf per run (solvers.exact).

    ``table(b, i)`` is the dense estimate of run ``b`` and agent ``i`` (only for ``critic_error``).
    """
    from netmarl_verify.envs import LocalSoftmaxPolicy
    from netmarl_verify.solvers.exact import critic_fixed_point, evaluate_policy, policy_gradient

    B = logits[0].shape[0]
    out = {m: np.full(B, np.nan) for m in metrics}
    for b in range(B):
        pol = LocalSoftmaxPolicy([t[b] for t in logits])
        key = b"".join(np.ascontiguousarray(t).tobytes() for t in pol.logits)
        if key not in cache:
            if len(cache) > 4 * B:
                cache.clear()
            ev = evaluate_policy(mdp, pol, None, periodic="cesaro")
            entry = {"J": ev.J}
            if "grad_norm" in metrics:
                g = policy_gradient(mdp, pol, evaluation=ev)
                entry["grad_norm"] = float(np.sqrt(sum(float((x**2).sum()) for x in g)))
            if "critic_error" in metrics:
                try:
                    entry["fp"] = [critic_fixed_point(mdp, pol, i, kappa, evaluation=ev) for i in range(mdp.n)]
                except MemoryError:
                    entry["fp"] = None
            cache[key] = entry
        entry = cache[key]
        if "J" in metrics:
            out["J"][b] = entry["J"]
        if "grad_norm" in metrics:
            out["grad_norm"][b] = entry["grad_norm"]
        if "critic_error" in metrics and entry.get("fp") is not None:
            err = 0.0
            for i in range(mdp.n):
                est = table(b, i)
                err = max(err, float(np.abs(est - entry["fp"][i]).max()))
            out["critic_error"][b] = err
    return out


# ---------------------------------------------------------------------------- results
@dataclass(kw_only=True)
class RunResult:
    """What every sampled algorithm returns (algorithms extend it with their parameters).

    Attributes
    ----------
    trace : pandas.DataFrame
        One row per (checkpoint, run), see :class:`TraceRecorder`.
    seed : object
        As recorded by :func:`seeded_generator`: ``numpy.random.default_rng(seed)`` (or a Generator
        given that ``bit_generator.state``) replays the run.
    settings : dict
        Every argument that determines the run.
    elapsed : float
        Seconds in the training loop, checkpoints excluded.
    agent_steps_per_second : float
        ``B * n * n_iterations / elapsed``.
    """

    trace: pd.DataFrame = field(repr=False)
    seed: object
    settings: dict
    elapsed: float
    agent_steps_per_second: float
