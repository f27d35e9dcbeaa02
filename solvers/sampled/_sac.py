r"""Scalable Actor-Critic (qu2020 Alg. 1), vectorized over a batch of independent runs.

Algorithm (qu2020 §3.2, Alg. 1; notation :math:`z_i = (s_i, a_i)`, :math:`N = N_i^\kappa`). Each
agent :math:`i` keeps :math:`\hat\mu_i`, a table :math:`\hat Q_i` on :math:`Z_{N_i^\kappa}` with the
dummy pair :math:`\tilde z_{N_i^\kappa}` pinned at 0, and softmax logits :math:`\theta_i[s_i, a_i]`.
For :math:`t = 0, 1, \dots`:

3. receive :math:`r_i(t) = r_i(z(t))`;
4. observe :math:`s(t+1)` and draw :math:`a_i(t+1) \sim \zeta_i^{\theta_i(t)}(\cdot \mid s_i(t+1))`
   (the **current** policy :math:`\theta(t)`);
5. :math:`\hat\mu_i^{t+1} = (1-\alpha_t)\hat\mu_i^t + \alpha_t r_i(t)`;
6. if :math:`z_N(t) \ne \tilde z_N`: :math:`\hat Q_i^{t+1}(z_N(t)) = (1-\alpha_t)\hat Q_i^t(z_N(t)) +
   \alpha_t\big(r_i(t) - \hat\mu_i^t + \hat Q_i^t(z_N(t+1))\big)`, every other entry unchanged;
7. :math:`\hat g_i(t) = \nabla_{\theta_i}\log\zeta_i^{\theta_i(t)}(a_i(t) \mid s_i(t))\,
   \frac1n\sum_{j \in N_i^\kappa}\hat Q_j^t(z_{N_j^\kappa}(t))`;
8. :math:`\theta_i(t+1) = \theta_i(t) + \beta_t\hat g_i(t)`, :math:`\beta_t = \eta_t\Gamma(\hat Q^t)`,
   :math:`\Gamma(\hat Q^t) = 1/(1 + \max_j\|\hat Q_j^t\|_\infty)` (``rescale=True``) or 1.

Choices pinned where Alg. 1 leaves room
---------------------------------------
* **Which iterate in lines 6-7.** Line 6 uses :math:`\hat\mu^t` (not :math:`\hat\mu^{t+1}`) and
  :math:`\hat Q^t` on both sides; line 7 uses :math:`\hat Q^t` (before the line-6 update), as the
  superscripts say. Both :math:`\hat Q^t(z_N(t))` and :math:`\hat Q^t(z_N(t+1))` are read before
  anything is written, so :math:`z_N(t+1) = z_N(t)` is handled exactly.
* **Dummy pair.** The all-zero inside pair (flat index 0 of the C-order table over
  ``tuple(S[j] for j in N) + tuple(A[j] for j in N)``, ``N`` sorted), the default of
  :func:`netmarl_verify.solvers.exact.critic_fixed_point`. Its entry is stored and stays exactly 0.
* **Start.** :math:`s(0)` uniform over local states (or ``initial_states``), :math:`a(0) \sim
  \zeta^{\theta(0)}(\cdot \mid s(0))`; :math:`\hat\mu^0 = 0`, :math:`\hat Q^0 = 0`.
* **Score of the softmax.** :math:`\nabla_{\theta_i[x, b]}\log\zeta_i(a|s) = 1\{s_i = x\}(1\{a_i = b\}
  - \zeta_i(b|x))`: line 8 changes the row :math:`s_i(t)` of :math:`\theta_i` only.
* **Rescaling** :math:`\Gamma` is on by default (it is part of Alg. 1 and of Theorem 2's proof);
  the paper's own experiments switch it off ("In numerical experiments, we do not use this
  rescaling factor"), ``rescale=False``. :math:`\max_j\|\hat Q_j^t\|_\infty` is tracked exactly
  (recomputed for a run only when its maximal entry is overwritten by a smaller one).

Step sizes (Assumption 3): deterministic, non-increasing, square summable, not summable, and
:math:`\sum_t(\eta_t/\alpha_t)^d < \infty` for some :math:`d > 0`. For
:math:`\alpha_t = a/(1+t)^{p}`, :math:`\eta_t = b/(1+t)^{q}` this is :math:`1/2 < p < q \le 1`
(then any :math:`d > 1/(q-p)` works). Defaults: :math:`\alpha_t = 1/(1+t)^{0.55}`,
:math:`\eta_t = 1/(1+t)^{0.9}`. Constant step sizes (``power=0``) are allowed and reported as
outside Assumption 3.

Randomness. One :class:`numpy.random.Generator` drives the batch: per iteration the environment
draws its uniforms (``env.step``), then the actions are drawn from ``rng.random((B, n))``. Draws
are positional in the run axis, so with :class:`~envs.NetworkedMDP` run ``b`` depends only on
``(seed, B, b)`` and its own inputs — changing another run's initial logits leaves it bitwise
unchanged (tested). The seed is recorded in the result.

References
----------
qu2020 §3.2 Alg. 1, Assumptions 1-5, Theorem 2, App. C (critic), App. D (actor);
Konda & Tsitsiklis (2000, 2003).
"""

import math
import numbers
import time
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from netmarl_verify.envs import as_generator
from netmarl_verify.envs._memory import MemoryBudgetError, check_memory, memory_budget
from netmarl_verify.envs._validation import as_float_array, fmt_number

__all__ = [
    "scalable_actor_critic",
    "frozen_policy_critic",
    "SACResult",
    "SACState",
    "PowerSchedule",
    "assumption3",
]

TABLE_MODES = ("dense", "sparse", "auto")
EXACT_METRICS = ("J", "grad_norm", "critic_error")


# ---------------------------------------------------------------------------- step sizes
@dataclass(frozen=True)
class PowerSchedule:
    r"""Step sizes :math:`\text{scale} / (\text{shift} + t)^{\text{power}}`, :math:`t = 0, 1, \dots`

    Attributes
    ----------
    scale : float
        Positive.
    power : float
        ``0`` gives constant step sizes.
    shift : float
        Positive; ``1`` gives :math:`\alpha_0 = \text{scale}`.
    """

    scale: float
    power: float = 0.0
    shift: float = 1.0

    def __post_init__(self):
        if not (np.isfinite(self.scale) and self.scale > 0):
            raise ValueError(f"step-size `scale` must be positive and finite, got {fmt_number(self.scale)}")
        if not (np.isfinite(self.power) and self.power >= 0):
            raise ValueError(f"step-size `power` must be >= 0, got {fmt_number(self.power)}")
        if not (np.isfinite(self.shift) and self.shift > 0):
            raise ValueError(f"step-size `shift` must be positive, got {fmt_number(self.shift)}")

    def __call__(self, t):
        return self.scale / (self.shift + t) ** self.power


def _as_schedule(x, name):
    if isinstance(x, PowerSchedule):
        return x
    if isinstance(x, numbers.Real) and not isinstance(x, bool):
        return PowerSchedule(float(x), 0.0)
    if isinstance(x, tuple) and len(x) in (2, 3):
        return PowerSchedule(*(float(v) for v in x))
    if callable(x):
        return x
    raise TypeError(f"`{name}` must be a PowerSchedule, a positive float (constant), a tuple (scale, power[, shift]) "
                    f"or a callable t -> step size; got {fmt_number(x)}")


def assumption3(alpha, eta):
    r"""Whether step sizes satisfy qu2020 Assumption 3, with the reason.

    For power schedules :math:`\alpha_t \propto (s+t)^{-p}`, :math:`\eta_t \propto (s'+t)^{-q}`:
    non-increasing iff :math:`p, q \ge 0`; square summable and not summable iff
    :math:`1/2 < p, q \le 1`; :math:`\sum(\eta_t/\alpha_t)^d < \infty` for some :math:`d` iff
    :math:`q > p`. Arbitrary callables cannot be decided: ``(None, reason)``.

    Returns
    -------
    holds : bool or None
    reason : str
    """
    if not (isinstance(alpha, PowerSchedule) and isinstance(eta, PowerSchedule)):
        return None, "step sizes given as callables: Assumption 3 not checked"
    p, q = alpha.power, eta.power
    if not (0.5 < p <= 1):
        return False, f"alpha power {p} not in (1/2, 1] (square summable, not summable)"
    if not (0.5 < q <= 1):
        return False, f"eta power {q} not in (1/2, 1] (square summable, not summable)"
    if not q > p:
        return False, f"eta power {q} must exceed alpha power {p} so that sum (eta/alpha)^d < inf"
    return True, f"holds with d > {1.0 / (q - p):.3g}"


# ---------------------------------------------------------------------------- environment
def _env_structure(env, kappa):
    for attr in ("n", "state_sizes", "action_sizes", "step"):
        if not hasattr(env, attr):
            raise TypeError(f"`env` must have attributes n, state_sizes, action_sizes and step(); missing {attr!r}")
    n = int(env.n)
    S = tuple(int(x) for x in env.state_sizes)
    A = tuple(int(x) for x in env.action_sizes)
    if n < 1 or len(S) != n or len(A) != n or min(S) < 1 or min(A) < 1:
        raise ValueError(f"`env` has n={n}, state_sizes={S}, action_sizes={A}: need n >= 1 positive sizes per agent")
    if hasattr(env, "kappa_hop"):
        hoods = [tuple(sorted(int(j) for j in env.kappa_hop(i, kappa))) for i in range(n)]
    elif hasattr(env, "neighbourhoods"):
        one = [set(int(j) for j in env.neighbourhoods[i]) | {i} for i in range(n)]
        hoods = []
        for i in range(n):
            seen, frontier = {i}, {i}
            for _ in range(kappa):
                frontier = {j for k in frontier for j in one[k]} - seen
                seen |= frontier
            hoods.append(tuple(sorted(seen)))
    else:
        raise TypeError("`env` must provide kappa_hop(i, k) or neighbourhoods")
    for i, Ni in enumerate(hoods):
        if i not in Ni or any(not 0 <= j < n for j in Ni):
            raise ValueError(f"env.kappa_hop({i}, {kappa}) = {Ni} must contain {i} and only agents 0..{n - 1}")
    return n, S, A, hoods


def _check_int(x, name, lo):
    if isinstance(x, bool) or not isinstance(x, (numbers.Integral,)):
        raise TypeError(f"`{name}` must be an integer, got {fmt_number(x)}")
    x = int(x)
    if x < lo:
        raise ValueError(f"`{name}` must be >= {lo}, got {x}")
    return x


def _initial_logits(initial_logits, B, n, S, A):
    if initial_logits is None:
        return [np.zeros((B, S[i], A[i])) for i in range(n)]
    if hasattr(initial_logits, "logits"):
        initial_logits = initial_logits.logits
    arrs = list(initial_logits)
    if len(arrs) != n:
        raise ValueError(f"`initial_logits` must have one array per agent ({n}), got {len(arrs)}")
    out = []
    for i, t in enumerate(arrs):
        t = as_float_array(t, f"`initial_logits[{i}]` (agent {i})")
        if t.shape == (S[i], A[i]):
            t = np.broadcast_to(t, (B, S[i], A[i]))
        elif t.shape != (B, S[i], A[i]):
            raise ValueError(f"`initial_logits[{i}]` (agent {i}) must have shape {(S[i], A[i])} or "
                             f"{(B, S[i], A[i])}, got {t.shape}")
        if not np.all(np.isfinite(t)):
            raise ValueError(f"`initial_logits[{i}]` (agent {i}) has a non-finite entry")
        out.append(np.array(t))
    return out


# ---------------------------------------------------------------------------- sparse tables
class _HashTable:
    """Open-addressing hash map int64 key -> float64, vectorized (linear probing, load <= 1/2).

    Keys passed to one :meth:`find_or_insert` call must be distinct (they are: one per run and
    agent). Missing keys read as 0, the critic's initial value.
    """

    _MULT = np.uint64(0x9E3779B97F4A7C15)

    def __init__(self, capacity=1 << 16):
        cap = 1 << max(4, int(capacity - 1).bit_length())
        self._alloc(cap)
        self.count = 0

    def _alloc(self, cap):
        self.cap = cap
        self.bits = cap.bit_length() - 1
        self.keys = np.full(cap, -1, dtype=np.int64)
        self.vals = np.zeros(cap)

    def _hash(self, q):
        h = (q.astype(np.uint64) * self._MULT) >> np.uint64(64 - self.bits)
        return h.astype(np.int64)

    def nbytes(self):
        return self.keys.nbytes + self.vals.nbytes

    def _probe(self, q, insert):
        pos = self._hash(q)
        slot = np.full(q.size, -1, dtype=np.int64)
        existed = np.zeros(q.size, dtype=bool)
        active = np.arange(q.size)
        mask = self.cap - 1
        while active.size:
            p = pos[active]
            k = self.keys[p]
            hit = k == q[active]
            empty = k == -1
            slot[active[hit]] = p[hit]
            existed[active[hit]] = True
            if insert and empty.any():
                e = active[empty]
                self.keys[pos[e]] = q[e]  # duplicates in a slot: last write wins, losers keep probing
                won = self.keys[pos[e]] == q[e]
                slot[e[won]] = pos[e[won]]
                self.count += int(won.sum())
                done = hit.copy()
                done[np.flatnonzero(empty)[won]] = True
            else:
                done = hit | empty
            active = active[~done]
            pos[active] = (pos[active] + 1) & mask
        return slot, existed

    def get(self, q):
        slot, found = self._probe(q, insert=False)
        out = np.zeros(q.size)
        out[found] = self.vals[slot[found]]
        return out

    def find_or_insert(self, q):
        if 2 * (self.count + q.size) > self.cap:
            self._grow(2 * (self.count + q.size))
        return self._probe(q, insert=True)

    def _grow(self, need):
        occ = self.keys >= 0
        k, v = self.keys[occ], self.vals[occ]
        cap = self.cap
        while cap < 2 * need:
            cap *= 2
        check_memory(16.0 * cap, f"a sparse critic hash table of {cap} slots",
                     hint="fewer runs, fewer iterations or a smaller kappa")
        self._alloc(cap)
        self.count = 0
        slot, _ = self._probe(k, insert=True)
        self.vals[slot] = v

    def items(self):
        occ = self.keys >= 0
        return self.keys[occ], self.vals[occ]


# ---------------------------------------------------------------------------- results
@dataclass
class SACState:
    """What a checkpoint callback sees (read-only views; copy what you keep).

    Attributes
    ----------
    iteration : int
        ``t``: the parameters are :math:`\\theta(t)`, :math:`\\hat Q^t`, :math:`\\hat\\mu^t`.
    logits : list of ndarray
        ``logits[i]`` shape (B, S_i, A_i).
    mu : ndarray, shape (B, n)
    tables : list of ndarray or None
        Dense mode: ``tables[i]`` shape ``(B,) + tuple(S[j] for j in N_i) + tuple(A[j] for j in N_i)``.
    neighbourhoods : tuple of tuple
    """

    iteration: int
    logits: list
    mu: np.ndarray
    tables: list | None
    neighbourhoods: tuple

    def policy(self, run):
        """The :class:`~envs.LocalSoftmaxPolicy` of run ``run`` at this iteration."""
        from netmarl_verify.envs import LocalSoftmaxPolicy

        return LocalSoftmaxPolicy([t[run] for t in self.logits])


@dataclass
class SACResult:
    """Result of :func:`scalable_actor_critic`.

    Attributes
    ----------
    logits : list of ndarray
        Final :math:`\\theta_i(T)`, ``logits[i]`` shape (B, S_i, A_i).
    mu : ndarray, shape (B, n)
        Final :math:`\\hat\\mu_i^T`.
    tables : list of ndarray or None
        Final :math:`\\hat Q_i^T` (dense mode), ``tables[i]`` shape ``(B,) + S_{N_i} + A_{N_i}``;
        the dummy entry (all-zero index) is 0.
    sparse_table : object or None
        Sparse mode: the hash table (use :meth:`table` to densify one agent when it fits).
    trace : pandas.DataFrame
        One row per (checkpoint, run): ``iteration``, ``run``, ``window`` (iterations averaged),
        ``avg_reward`` (sampled global reward averaged over the window before the checkpoint),
        ``mu_hat`` (mean over agents of :math:`\\hat\\mu_i`), ``alpha``, ``eta``, ``gamma_rescale``;
        with ``exact_mdp``: ``J``, ``grad_norm`` (:math:`\\|\\nabla J(\\theta_t)\\|_2`),
        ``critic_error`` (:math:`\\max_i\\|\\hat Q_i^t - \\hat Q_i^{\\theta_t}\\|_\\infty`); sparse mode:
        ``revisit_rate`` (cumulative fraction of line-6 updates hitting an already-visited entry);
        and whatever the callback returns.
    kappa : int
    neighbourhoods : tuple of tuple
    seed : object
        Entropy of the :class:`numpy.random.SeedSequence` (int) when ``rng`` was a seed or None;
        the generator's initial ``bit_generator.state`` when a Generator was passed.
    settings : dict
        Every argument that determines the run (batch, iterations, step sizes, rescale, actor, ...).
    assumption3 : tuple
        ``(holds, reason)`` from :func:`assumption3`.
    elapsed : float
        Seconds in the training loop, checkpoints excluded.
    agent_steps_per_second : float
        ``B * n * n_iterations / elapsed``.
    """

    logits: list
    mu: np.ndarray
    tables: list | None
    sparse_table: object
    trace: pd.DataFrame = field(repr=False)
    kappa: int
    neighbourhoods: tuple
    seed: object
    settings: dict
    assumption3: tuple
    elapsed: float
    agent_steps_per_second: float
    _layout: object = field(default=None, repr=False)

    def policy(self, run):
        """Final :class:`~envs.LocalSoftmaxPolicy` of run ``run``."""
        from netmarl_verify.envs import LocalSoftmaxPolicy

        return LocalSoftmaxPolicy([t[run] for t in self.logits])

    def table(self, run, agent):
        """Final :math:`\\hat Q_i` of one run as a dense array (dense or sparse mode)."""
        return self._layout.dense_table(self.tables, self.sparse_table, run, agent)


class _Layout:
    """Flat indexing of all critic tables: key = run * total + offset[i] + C-order index."""

    def __init__(self, n, S, A, hoods, B):
        self.n, self.S, self.A, self.hoods, self.B = n, S, A, hoods, B
        self.shapes = [tuple(S[j] for j in N) + tuple(A[j] for j in N) for N in hoods]
        self.sizes = [math.prod(s) for s in self.shapes]  # Python ints: may exceed 2**63
        self.total = sum(self.sizes)
        m = max(len(N) for N in hoods)
        self.members = np.zeros((n, m), dtype=np.int64)
        self.mult_s = np.zeros((n, m), dtype=np.int64)
        self.mult_a = np.zeros((n, m), dtype=np.int64)
        self.fits_int64 = self.total * B < 2**62
        for i, N in enumerate(hoods):
            SN = [S[j] for j in N]
            AN = [A[j] for j in N]
            nA = math.prod(AN)
            for q, j in enumerate(N):
                self.members[i, q] = j
                if self.fits_int64:
                    self.mult_s[i, q] = math.prod(SN[q + 1:]) * nA
                    self.mult_a[i, q] = math.prod(AN[q + 1:])
        if self.fits_int64:
            self.offsets = np.cumsum([0] + self.sizes[:-1]).astype(np.int64)
            self.base = (np.arange(B, dtype=np.int64)[:, None] * self.total + self.offsets[None, :])
        self.single = m == 1

    def local_index(self, s, a):
        """C-order index of z_{N_i}(t) in agent i's table, shape (B, n)."""
        if self.single:  # kappa = 0 (or isolated agents): the index is s_i * A_i + a_i
            return s * self.mult_s[:, 0] + a * self.mult_a[:, 0]
        ms = s[:, self.members]
        ma = a[:, self.members]
        ms *= self.mult_s
        ma *= self.mult_a
        return ms.sum(axis=2) + ma.sum(axis=2)

    def dense_table(self, tables, sparse, run, agent):
        if tables is not None:
            return tables[agent][run].copy()
        size = self.sizes[agent]
        check_memory(8.0 * size * 2, f"a dense copy of agent {agent}'s critic table ({size} entries)")
        keys = run * self.total + int(self.offsets[agent]) + np.arange(size, dtype=np.int64)
        return sparse.get(keys).reshape(self.shapes[agent])


def _describe_sizes(layout, kappa, B):
    i = int(np.argmax([float(s) for s in layout.sizes]))
    size = layout.sizes[i]
    base = "x".join(str(x) for x in layout.shapes[i])
    return (
        f"the dense critic tables at kappa={kappa}: the largest is agent {i}'s Q-hat over Z_(N_{i}^kappa) "
        f"(|N_{i}^kappa| = {len(layout.hoods[i])} agents, shape {base} = {size:.4g} entries per run), "
        f"{layout.total:.4g} entries per run over all agents, x {B} runs"
    )


# ---------------------------------------------------------------------------- the algorithm
def scalable_actor_critic(env, kappa, n_iterations, *, batch=1, initial_logits=None, alpha=None, eta=None,
                          rescale=True, actor=True, rng=None, checkpoints=None, callback=None, exact_mdp=None,
                          exact_metrics=EXACT_METRICS, initial_states=None, table_mode="dense", max_bytes=None):
    r"""Run qu2020 Alg. 1 (Scalable Actor-Critic) for ``batch`` independent runs at once.

    Parameters
    ----------
    env : object
        ``n``, ``state_sizes``, ``action_sizes``, ``kappa_hop(i, k)`` (or ``neighbourhoods``) and
        ``step(states, actions, rng) -> (next_states, rewards)``, both shape (B, n), the rewards
        being the local :math:`r_i(s(t), a(t))` at the current pair (e.g. :class:`~envs.NetworkedMDP`).
    kappa : int >= 0
        Truncation radius :math:`\kappa`.
    n_iterations : int >= 0
        :math:`T`: iterations ``t = 0 .. T-1``.
    batch : int >= 1
        :math:`B` independent runs; every array has a leading run axis.
    initial_logits : LocalSoftmaxPolicy or sequence of ndarray, optional
        :math:`\theta_i(0)`, each shape (S_i, A_i) (shared) or (B, S_i, A_i); default zeros.
    alpha, eta : PowerSchedule, float, tuple or callable, optional
        Critic and actor step sizes (module docstring). A float means constant; a tuple is
        ``(scale, power[, shift])``. Defaults ``PowerSchedule(1.0, 0.55)`` and ``PowerSchedule(1.0, 0.9)``.
    rescale : bool
        Use :math:`\Gamma(\hat Q^t)` of line 8 (default True) or not (the paper's experiments).
    actor : bool
        ``False`` freezes the policy at ``initial_logits`` (critic only, lines 3-6).
    rng : int, numpy.random.Generator, SeedSequence or None
        See :func:`~netmarl_verify.envs.as_generator`.
    checkpoints : iterable of int, optional
        Iterations ``t`` in ``[0, T]`` at which a trace row is recorded for every run (state after
        ``t`` iterations). Default: 11 evenly spaced, including 0 and ``T``.
    callback : callable, optional
        ``callback(state: SACState) -> None or dict``; a dict of scalars or length-B arrays becomes
        extra trace columns. Called at every checkpoint.
    exact_mdp : NetworkedMDP, optional
        The same model as ``env`` (small). Adds exact ``J``, ``grad_norm`` and ``critic_error``
        columns at checkpoints (:mod:`netmarl_verify.solvers.exact`).
    exact_metrics : iterable of str
        Subset of ``("J", "grad_norm", "critic_error")``.
    initial_states : int array, shape (n,) or (B, n), optional
        :math:`s(0)`; default uniform.
    table_mode : {"dense", "sparse", "auto"}
        ``"dense"``: arrays (B, |Z_{N_i^κ}|), refused with :class:`~envs.MemoryBudgetError` when they
        do not fit. ``"sparse"``: a hash map over visited entries only (slower; reports the revisit
        rate; memory grows with the number of distinct visited entries). ``"auto"``: dense if it fits.
    max_bytes : int, optional
        Memory budget override for the tables.

    Returns
    -------
    SACResult

    Raises
    ------
    MemoryBudgetError
        Dense tables that do not fit (the message names the largest agent, κ and the size).
    TypeError, ValueError
        Invalid arguments (named).

    Examples
    --------
    >>> import networkx as nx
    >>> from netmarl_verify.envs import coupled_networked_mdp
    >>> from netmarl_verify.solvers.sampled import scalable_actor_critic
    >>> mdp = coupled_networked_mdp(nx.path_graph(3), 0.5, rng=0)
    >>> res = scalable_actor_critic(mdp, 1, 200, batch=4, rng=1, checkpoints=[0, 200])
    >>> res.trace.shape[0], res.tables[1].shape, float(res.tables[1][0].flat[0])
    (8, (4, 2, 2, 2, 2, 2, 2), 0.0)
    """
    kappa = _check_int(kappa, "kappa", 0)
    T = _check_int(n_iterations, "n_iterations", 0)
    B = _check_int(batch, "batch", 1)
    n, S, A, hoods = _env_structure(env, kappa)
    if table_mode not in TABLE_MODES:
        raise ValueError(f"`table_mode` must be one of {TABLE_MODES}, got {table_mode!r}")
    alpha = _as_schedule(PowerSchedule(1.0, 0.55) if alpha is None else alpha, "alpha")
    eta = _as_schedule(PowerSchedule(1.0, 0.9) if eta is None else eta, "eta")
    exact_metrics = tuple(exact_metrics)
    for m in exact_metrics:
        if m not in EXACT_METRICS:
            raise ValueError(f"`exact_metrics` entries must be in {EXACT_METRICS}, got {m!r}")
    if exact_mdp is not None:
        if (getattr(exact_mdp, "n", None) != n or tuple(exact_mdp.state_sizes) != S
                or tuple(exact_mdp.action_sizes) != A):
            raise ValueError("`exact_mdp` must have the same agents and local sizes as `env`")
    if checkpoints is None:
        checkpoints = np.unique(np.linspace(0, T, 11).round().astype(np.int64)) if T > 0 else np.array([0])
    checkpoints = sorted({int(c) for c in checkpoints})
    if checkpoints and (checkpoints[0] < 0 or checkpoints[-1] > T):
        raise ValueError(f"`checkpoints` must lie in [0, n_iterations={T}], got {checkpoints[0]}..{checkpoints[-1]}")
    if callback is not None and not callable(callback):
        raise TypeError("`callback` must be callable")

    given_generator = isinstance(rng, np.random.Generator)
    rng = as_generator(rng)
    # a Generator: its initial state; a seed, SeedSequence or None: the SeedSequence's entropy
    seed = rng.bit_generator.state if given_generator else rng.bit_generator.seed_seq.entropy

    # ---------------- tables
    layout = _Layout(n, S, A, hoods, B)
    dense_bytes = 8.0 * B * layout.total
    budget = memory_budget() if max_bytes is None else int(max_bytes)
    mode = table_mode
    if mode == "auto":
        mode = "dense" if dense_bytes <= budget else "sparse"
    if mode == "dense":
        check_memory(dense_bytes, _describe_sizes(layout, kappa, B), max_bytes=max_bytes,
                     hint="use table_mode='sparse' (visited entries only) or a smaller kappa")
    if not layout.fits_int64:
        raise MemoryBudgetError(
            f"{_describe_sizes(layout, kappa, B)}: the flat keys exceed 2**62, not even a sparse table can index them"
        )

    theta0 = _initial_logits(initial_logits, B, n, S, A)
    Smax, Amax = max(S), max(A)
    # action-major layout: thetaT[b', (run, agent, state)] so that reductions over the actions are
    # elementwise operations between Amax contiguous slices (fast), not reductions of length-A rows
    thetaT = np.full((Amax, B, n, Smax), -np.inf)
    for i in range(n):
        thetaT[: A[i], :, i, : S[i]] = np.moveaxis(theta0[i], 2, 0)
        thetaT[:, :, i, S[i]:] = 0.0  # padded states: finite, never read
    thetaT2 = thetaT.reshape(Amax, B * n * Smax)
    a_last = np.asarray(A, dtype=np.int64) - 1
    flat_bn = np.arange(B * n)
    row_base = (np.arange(B, dtype=np.int64)[:, None] * n + np.arange(n)[None, :]) * Smax

    mu = np.zeros((B, n))
    if mode == "dense":
        Qflat = np.zeros(B * layout.total)
        sparse = None
    else:
        Qflat = None
        sparse = _HashTable(min(1 << 20, 4 * B * n))
    n_updates = 0
    n_revisits = 0

    membership = np.zeros((n, n))
    for i, N in enumerate(hoods):
        membership[i, list(N)] = 1.0
    actor_matrix = membership.T / n  # G = q_cur @ actor_matrix: G[b, i] = (1/n) sum_{j in N_i} q[b, j]

    # ---------------- initial state and action
    if initial_states is None:
        s = np.stack([rng.integers(0, S[i], size=B) for i in range(n)], axis=1).astype(np.int64)
    else:
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
        s = s.copy()

    def probs_at(states):
        L = np.take(thetaT2, row_base + states, axis=1)  # (Amax, B, n), C order; padded actions: -inf
        L -= L.max(axis=0)
        np.exp(L, out=L)
        L /= L.sum(axis=0)
        return L

    def sample(states):
        P = probs_at(states)
        np.cumsum(P, axis=0, out=P)
        u = rng.random((B, n))
        act = (u > P).sum(axis=0)
        np.minimum(act, a_last, out=act)
        return act

    a = sample(s)
    iz = layout.base + layout.local_index(s, a)

    # exact max-norm of the tables per run, for Gamma (lazy: recomputed when the argmax shrinks)
    use_gamma = bool(rescale and actor)
    qmax = np.zeros(B)
    qarg = np.full(B, -1, dtype=np.int64)
    runs = np.arange(B)

    # ---------------- checkpoint bookkeeping
    rows = []
    reward_sum = np.zeros(B)
    window = 0
    fp_cache = {}
    t_metrics = 0.0

    def tables_view():
        if Qflat is None:
            return None
        Q2 = Qflat.reshape(B, layout.total)
        out = []
        for i in range(n):
            o = int(layout.offsets[i])
            out.append(Q2[:, o : o + layout.sizes[i]].reshape((B,) + layout.shapes[i]))
        return out

    def logits_view():
        return [np.moveaxis(thetaT[: A[i], :, i, : S[i]], 0, 2) for i in range(n)]

    def record(t):
        nonlocal reward_sum, window
        row = {
            "iteration": np.full(B, t),
            "run": runs.copy(),
            "window": np.full(B, window),
            "avg_reward": reward_sum / window if window else np.full(B, np.nan),
            "mu_hat": mu.mean(axis=1),
            "alpha": np.full(B, float(alpha(t))),
            "eta": np.full(B, float(eta(t)) if actor else 0.0),
            "gamma_rescale": 1.0 / (1.0 + qmax) if use_gamma else np.ones(B),
        }
        if sparse is not None:
            row["revisit_rate"] = np.full(B, n_revisits / n_updates if n_updates else np.nan)
        if exact_mdp is not None and exact_metrics:
            row.update(_exact_row(exact_mdp, logits_view(), tables_view(), sparse, layout, hoods, kappa,
                                  exact_metrics, fp_cache))
        state = SACState(t, logits_view(), mu, tables_view(), tuple(hoods))
        if callback is not None:
            extra = callback(state)
            if extra:
                for k, v in extra.items():
                    v = np.asarray(v)
                    if v.ndim == 0:
                        v = np.full(B, v.item())
                    if v.shape != (B,):
                        raise ValueError(f"callback value {k!r} must be a scalar or have shape ({B},), got {v.shape}")
                    row[k] = v
        rows.append(pd.DataFrame(row))
        reward_sum = np.zeros(B)
        window = 0

    cp = set(checkpoints)
    elapsed = 0.0
    t0 = time.perf_counter()
    for t in range(T):
        if t in cp:
            elapsed += time.perf_counter() - t0
            tm = time.perf_counter()
            record(t)
            t_metrics += time.perf_counter() - tm
            t0 = time.perf_counter()
        # line 3-4: reward at z(t), next state, next action from the current policy theta(t)
        s1, r = env.step(s, a, rng)
        if t == 0:
            s1, r = _check_step_output(s1, r, B, n, S)
        a1 = sample(s1)
        iz1 = layout.base + layout.local_index(s1, a1)
        at = float(alpha(t))
        # critic reads (Q^t at z(t) and z(t+1)) before any write
        if Qflat is not None:
            q_cur = Qflat[iz]
            q_nxt = Qflat[iz1]
        else:
            q_cur = sparse.get(iz.reshape(-1)).reshape(B, n)
            q_nxt = sparse.get(iz1.reshape(-1)).reshape(B, n)
        # line 7-8 (actor) uses Q^t and theta(t): compute before the critic writes
        if actor:
            if use_gamma:
                beta = float(eta(t)) / (1.0 + qmax)
            else:
                beta = np.full(B, float(eta(t)))
            G = q_cur @ actor_matrix  # (B, n)
            P = probs_at(s)  # zeta^{theta(t)}(. | s(t)), shape (Amax, B, n)
            P *= -1.0
            P.reshape(-1)[a.reshape(-1) * (B * n) + flat_bn] += 1.0  # score: e_{a(t)} - zeta(. | s(t))
            P *= beta[:, None] * G
            rows_t = (row_base + s).reshape(-1)
            for k in range(Amax):  # one contiguous row per action: faster than a 2-D fancy +=
                row = thetaT2[k]
                row[rows_t] = row[rows_t] + P[k].reshape(-1)
        # line 6: TD update with mu^t; the dummy entry (local index 0) stays 0
        is_dummy = iz == layout.base
        new = q_cur + at * (r - mu + q_nxt - q_cur)
        new[is_dummy] = 0.0
        if Qflat is not None:
            Qflat[iz] = new
        else:
            keep = ~is_dummy.reshape(-1)
            slot, existed = sparse.find_or_insert(iz.reshape(-1)[keep])
            sparse.vals[slot] = new.reshape(-1)[keep]
            n_updates += int(keep.sum())
            n_revisits += int(existed.sum())
        if use_gamma:
            _track_max(qmax, qarg, new, iz - layout.base[:, :1], Qflat, sparse, layout, B)
        # line 5
        mu += at * (r - mu)
        reward_sum += r.mean(axis=1)
        window += 1
        s, a, iz = s1, a1, iz1
    elapsed += time.perf_counter() - t0
    if T in cp:
        record(T)

    trace = pd.concat(rows, ignore_index=True) if rows else pd.DataFrame(
        columns=["iteration", "run", "window", "avg_reward", "mu_hat", "alpha", "eta", "gamma_rescale"])
    settings = dict(kappa=kappa, n_iterations=T, batch=B, alpha=alpha, eta=eta, rescale=bool(rescale),
                    actor=bool(actor), table_mode=mode, checkpoints=list(checkpoints), dummy="all-zero inside pair",
                    metrics_seconds=t_metrics)
    return SACResult(
        logits=[t.copy() for t in logits_view()],
        mu=mu,
        tables=[t.copy() for t in tables_view()] if Qflat is not None else None,
        sparse_table=sparse,
        trace=trace,
        kappa=kappa,
        neighbourhoods=tuple(hoods),
        seed=seed,
        settings=settings,
        assumption3=assumption3(alpha, eta) if actor else (None, "actor off"),
        elapsed=elapsed,
        agent_steps_per_second=(B * n * T / elapsed) if elapsed > 0 else float("nan"),
        _layout=layout,
    )


def _check_step_output(s1, r, B, n, S):
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


def _track_max(qmax, qarg, new, pos, Qflat, sparse, layout, B):
    """Keep ``qmax[b] = max |Q_b|`` exact after writing ``new`` at within-run positions ``pos``."""
    absnew = np.abs(new)
    k = absnew.argmax(axis=1)
    cand = absnew[np.arange(B), k]
    candpos = pos[np.arange(B), k]
    hit = (pos == qarg[:, None]).any(axis=1)
    grow = cand >= qmax
    qmax[grow] = cand[grow]
    qarg[grow] = candpos[grow]
    need = np.flatnonzero(hit & ~grow)
    if need.size:
        if Qflat is not None:
            sub = np.abs(Qflat.reshape(B, layout.total)[need])
            qarg[need] = sub.argmax(axis=1)
            qmax[need] = sub[np.arange(need.size), qarg[need]]
        else:
            keys, vals = sparse.items()
            run = keys // layout.total
            sel = np.isin(run, need)
            k2, v2, r2 = keys[sel], np.abs(vals[sel]), run[sel]
            qmax[need] = 0.0
            qarg[need] = -1
            if k2.size:
                order = np.lexsort((-v2, r2))  # by run, largest |Q| first
                first = order[np.r_[True, r2[order][1:] != r2[order][:-1]]]
                qmax[r2[first]] = v2[first]
                qarg[r2[first]] = k2[first] - r2[first] * layout.total


def _exact_row(mdp, logits, tables, sparse, layout, hoods, kappa, metrics, cache):
    """Exact J, ||grad J|| and max_i ||Q-hat_i - Q-hat_i^theta||_inf per run (solvers.exact)."""
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
                est = layout.dense_table(tables, sparse, b, i)
                err = max(err, float(np.abs(est - entry["fp"][i]).max()))
            out["critic_error"][b] = err
    return out


def frozen_policy_critic(env, policy, kappa, n_iterations, **kwargs):
    """The critic of Alg. 1 alone (lines 3-6) under a frozen policy: ``actor=False``.

    ``policy`` is a :class:`~envs.LocalSoftmaxPolicy` or a sequence of logits; every other keyword
    is passed to :func:`scalable_actor_critic`. Its tables converge to
    :func:`netmarl_verify.solvers.exact.critic_fixed_point` (qu2020 Theorem 3(b) with :math:`\\eta = 0`).
    """
    if "actor" in kwargs:
        raise TypeError("frozen_policy_critic always has actor=False")
    return scalable_actor_critic(env, kappa, n_iterations, initial_logits=policy, actor=False, **kwargs)

