r"""ying2023 Algorithm 1: distributed policy gradient with shadow reward and localized policies.

Algorithm (ying2023 §3.4, Alg. 1; guide ``shared/claims/ying2023.md`` §7). Agent :math:`i` holds a
tabular softmax :math:`\pi^i_{\theta_i}(a_i \mid s_{O_i})` (:class:`~envs.KHopSoftmaxPolicy`,
:math:`O_i = N_i^{\kappa_\pi}`; any product softmax whose ``observed(i)`` contains ``i`` works, a
:class:`~envs.LocalSoftmaxPolicy` included) and a local utility :math:`f_i(\lambda_i)`.
:math:`N_i^\kappa` below uses the truncation/communication radius ``kappa`` of
:func:`run_shadow_pg` (the paper's single κ; pass the policy's radius for reading R1 of guide §3).
For :math:`t = 0, 1, \dots`:

3. sample ``B`` trajectories :math:`(s^k, a^k)_{k<H}` under :math:`\pi_{\theta^t}`, :math:`s^0\sim\xi`;
4. :math:`\tilde\lambda_i = \frac1B\sum_\tau\sum_{k<H}\gamma^k e_i(s_i^k, a_i^k)` (eq. (20),
   unnormalised, mass :math:`(1-\gamma^H)/(1-\gamma)`) and :math:`\tilde r_i = \nabla f_i(\tilde\lambda_i)`;
5. :math:`\tilde Q_i` on :math:`z_i = (s_{N_i^\kappa}, a_{N_i^\kappa})` under the reward :math:`\tilde r_i`,
   by one of the oracles below;
6. :math:`\tilde g_i = \frac1B\sum_\tau\sum_{k<H}\gamma^k\psi_{\theta_i}(a_i^k|s^k_{O_i})\frac1n
   \sum_{j\in N_i^\kappa}\tilde Q_j(z_j^k)` (eq. (21); the print has :math:`\tilde Q_i` inside the sum
   over :math:`j`: read :math:`\tilde Q_j`, guide §11; prefactor :math:`1/n`, not :math:`1/|N_i^\kappa|`),
   with the tabular score :math:`\psi_{\theta_i}(a|x) = e_a - \pi^i(\cdot|x)` in row :math:`x`;
7. :math:`\theta_i \leftarrow \theta_i + \eta_\theta^t\tilde g_i` (eq. (22), ascent).

Oracles (line 5, Assumption 4)
------------------------------
``"td"``
    TD (23), SARSA(0) on the aggregated pairs, along **one fresh trajectory** per run of
    ``td_steps + 1`` pairs from :math:`\xi` under :math:`\pi_{\theta^t}` (independent of the batch),
    :math:`\tilde Q^0 = 0`, step :math:`\eta_Q^k = h/(k + t_0)` for the update of pair :math:`k`
    (``td_step``; default :math:`h = t_0 = \max_i|Z_{N_i^\kappa}|/(1-\gamma)`, a heuristic:
    :math:`1/(\sigma(1-\gamma))` with the uniform visiting probability :math:`\sigma = 1/|Z_N|`, and
    :math:`\eta^0 = 1`; the :math:`O(1/\sqrt k)` max-norm rate needs :math:`h\sigma(1-\gamma) \gtrsim 1`
    with the *smallest* pair probability :math:`\sigma = \min_x\pi_N(x)`, e.g.
    ``td_fixed_point(..., full_output=True)[1].pair_law.min()``; below it the rarest entries converge
    like :math:`k^{-h\sigma(1-\gamma)}`), reward :math:`\tilde r_i(s_i^{k-1}, a_i^{k-1})`. Both
    :math:`\tilde Q(z^{k-1})` and :math:`\tilde Q(z^k)` are read before the write. Its limit is
    :func:`~netmarl_verify.solvers.exact.td_fixed_point` (the stationary pair law; derivation there).
``"exact"``
    :math:`\hat Q_{\tilde r_i}` of eq. (14) at the reference :math:`(\bar s, \bar a)` (default all
    zeros): :func:`~netmarl_verify.solvers.exact.truncated_q` on ``mdp.with_rewards(r~)``
    (:math:`\epsilon_0 = 0`).
``"adversarial"``
    :math:`\hat Q_{\tilde r_i} + \epsilon_0\|\tilde r_i\|_\infty\,p_i` with a :math:`\pm1` pattern
    :math:`p_i`, so :math:`\|\tilde Q_i - \hat Q_{\tilde r_i}\|_\infty = \epsilon_0\|\tilde r_i\|_\infty`
    exactly (Assumption 4 tight; Prop. 2(II)). ``adversary="flatten"``: :math:`p = -1` where
    :math:`\hat Q_{\tilde r}` exceeds its mean over the table, :math:`+1` elsewhere (shrinks every
    contrast, deterministic); ``"random"``: i.i.d. signs from the run's stream.

Non-finite shadow rewards (e.g. the state entropy at a state the batch never visits:
:math:`\partial f/\partial\lambda = +\infty`) are reported, not hidden: ``on_nonfinite="raise"``
(default) raises :class:`~envs.NonFiniteError` naming run, iteration, agent and entry;
``"skip"`` leaves that run's :math:`\theta` unchanged for the iteration and counts it in the trace
(``skipped``). :func:`shadow_pg_estimates` returns them with ``finite`` False and NaN
:math:`\tilde Q`, :math:`\tilde g`.

Randomness (STYLE 8, per run)
-----------------------------
Run ``r`` draws from its own generator (``rng`` an int / SeedSequence / None: the children
``SeedSequence(entropy, spawn_key=spawn_key + (r,))``, recorded in ``run_seeds``; a Generator:
``rng.spawn(R)``; a sequence of ``R`` seeds or generators: one per run, as given). Per iteration run
``r`` draws, in this order: the initial states (``random(B)``: one uniform per trajectory through
the cumulative :math:`\xi`, or ``random((B, n))``, one per agent, ``s_i = floor(u S_i)``, when
:math:`\xi` is ``None`` = uniform); the trajectory uniforms ``random((H, B, 2n))`` (time-major; at
step ``k`` the first ``n`` columns draw the actions by :func:`~envs.sample_categorical`'s convention,
the last ``n`` the next local states by the inverse CDF of :meth:`~envs.NetworkedMDP.step`; drawn
in time chunks, which leaves the stream unchanged); then for ``"td"`` the same for one trajectory
of ``td_steps + 1`` pairs; for ``adversary="random"`` one ``random(|Z_{N_i}|)`` per agent. Hence a
batch of ``R`` runs gives, row for row, the runs made separately with ``rng=[run_seeds[r]]``, and
reruns are bit-identical. Everything after the draws is a deterministic kernel vectorised over
runs, trajectories and agents (loops over time steps, actions and, for the exact oracles, runs).

Memory: the batch is stored compactly (``(R, B, H, n)`` states and actions in the smallest integer
type, reused every iteration) for the second pass of eq. (21), which needs :math:`\tilde Q` and so
:math:`\tilde r`, i.e. the whole batch; the TD tables are ``R x sum_i |Z_{N_i}|`` floats. Nothing
grows with ``T``: the trace keeps only its checkpoint rows.

References
----------
ying2023 §3.4 Alg. 1, eq. (20)-(23), Assumption 4, Prop. 2, Theorem 1.
"""

import math
from dataclasses import dataclass, field

import numpy as np

from netmarl_verify.envs import KHopSoftmaxPolicy, NetworkedMDP, categorical_thresholds, sample_categorical
from netmarl_verify.envs._validation import NonFiniteError, ShapeError

from ._actor import observation_sets
from ._runs import RunResult, Stopwatch, TraceRecorder, _check_checkpoints, _check_int
from ._schedules import PowerSchedule, _as_schedule
from ._tables import _Layout, resolve_table_mode

__all__ = [
    "run_shadow_pg",
    "ShadowPGResult",
    "ShadowPGState",
    "shadow_pg_estimates",
    "ShadowPGEstimates",
    "sample_trajectories",
    "Trajectories",
    "td_truncated_q",
    "shadow_pg_throughput",
    "ORACLES",
    "SHADOW_PG_METRICS",
]

#: Line-5 oracles (module docstring).
ORACLES = ("td", "exact", "adversarial")
#: Exact trace columns :func:`run_shadow_pg` can add (default: all but the last two, which cost
#: ``n`` extra truncated-Q solves, resp. one truncated gradient, per run and checkpoint).
SHADOW_PG_METRICS = ("F", "grad_norm2", "grad_error", "occupancy_error", "reward_error", "q_error",
                     "truncation_error")
DEFAULT_METRICS = SHADOW_PG_METRICS[:5]
_ADVERSARIES = ("flatten", "random")
_CHUNK_DOUBLES = 1 << 20  # uniforms drawn per chunk, over all runs (8 MB)


# ---------------------------------------------------------------------------- seeding
def _run_generators(rng, R):
    """``(generators, seeds)``: one Generator per run (module docstring, Randomness)."""
    if isinstance(rng, (list, tuple)):
        if len(rng) != R:
            raise ValueError(f"`rng` as a sequence needs one seed or generator per run ({R}), got {len(rng)}")
        gens, seeds = [], []
        for r, x in enumerate(rng):
            if isinstance(x, np.random.Generator):
                gens.append(x)
                seeds.append(x.bit_generator.state)
            else:
                ss = x if isinstance(x, np.random.SeedSequence) else np.random.SeedSequence(_seed_int(x, f"rng[{r}]"))
                gens.append(np.random.default_rng(ss))
                seeds.append(ss)
        return gens, seeds
    if isinstance(rng, np.random.Generator):
        gens = rng.spawn(R)
        return gens, [g.bit_generator.state for g in gens]
    if isinstance(rng, np.random.SeedSequence):
        ss = rng
    else:
        ss = np.random.SeedSequence(None if rng is None else _seed_int(rng, "rng"))
    seeds = [np.random.SeedSequence(ss.entropy, spawn_key=tuple(ss.spawn_key) + (r,), pool_size=ss.pool_size)
             for r in range(R)]
    return [np.random.default_rng(s) for s in seeds], seeds


def _seed_int(x, name):
    """A non-negative int seed (:func:`~envs.as_generator`'s checks and messages)."""
    from netmarl_verify.envs._random import _check_seed

    return _check_seed(x, name)


# ---------------------------------------------------------------------------- validation
def _check_model(mdp):
    if not isinstance(mdp, NetworkedMDP):
        raise TypeError(f"Algorithm 1 samples a NetworkedMDP, got {type(mdp).__name__}")
    return mdp


def _check_gamma(gamma):
    gamma = float(gamma)
    if not 0.0 <= gamma < 1.0:
        raise ValueError(f"`gamma` must be in [0, 1), got {gamma}")
    return gamma


def _check_policy(mdp, policy):
    """The observation sets and per-agent logits (rows_i, A_i) of a product softmax policy, validated."""
    if not (hasattr(policy, "logits") and callable(getattr(policy, "observed", None))):
        raise TypeError(f"the policy must be a product softmax policy with `logits` and `observed(i)` "
                        f"(KHopSoftmaxPolicy, LocalSoftmaxPolicy), got {type(policy).__name__}")
    if int(policy.n) != mdp.n:
        raise ShapeError(f"the policy has {policy.n} agents but the MDP has {mdp.n}")
    observed = observation_sets(policy, mdp.n)
    S, A = mdp.state_sizes, mdp.action_sizes
    logits = []
    for i, o in enumerate(observed):
        want = tuple(S[j] for j in o) + (A[i],)
        got = np.shape(policy.logits[i])
        if i not in o:
            raise ValueError(f"policy.observed({i}) = {o} must contain agent {i}")
        if got != want:
            raise ShapeError(f"policy.logits[{i}] (agent {i}) has shape {got}; a softmax policy of agent {i} "
                             f"observing O_{i}={o} on this MDP (S={S}, A={A}) needs {want}")
        logits.append(np.asarray(policy.logits[i], dtype=np.float64).reshape(-1, A[i]))
    return observed, logits


def _check_utilities(utilities, mdp):
    utilities = list(utilities)
    if len(utilities) != mdp.n:
        raise ValueError(f"need one utility per agent ({mdp.n}), got {len(utilities)}")
    for i, f in enumerate(utilities):
        if not (callable(getattr(f, "value", None)) and callable(getattr(f, "gradient", None))):
            raise TypeError(f"utilities[{i}] (agent {i}) must have value(lam) and gradient(lam), "
                            f"got {type(f).__name__}")
    return utilities


def _check_initial(initial, mdp):
    """ξ as a float vector over global states, or None (uniform, drawn agent by agent)."""
    if initial is None:
        return None
    from netmarl_verify.solvers.exact._gradient import check_initial

    return check_initial(initial, mdp.n_states)


def _check_reference(reference, mdp):
    if reference is None:
        return (np.zeros(mdp.n, dtype=np.int64), np.zeros(mdp.n, dtype=np.int64))
    s, a = (np.asarray(x, dtype=np.int64).reshape(-1) for x in reference)
    if s.shape != (mdp.n,) or a.shape != (mdp.n,):
        raise ValueError(f"`reference` must be (s_bar, a_bar), two length-{mdp.n} integer tuples")
    mdp.check_pairs(s[None, :], a[None, :])
    return (s, a)


def _int_dtype(S, A):
    m = max(max(S), max(A))
    for dt in (np.uint8, np.uint16, np.int32):
        if m <= np.iinfo(dt).max:
            return dt
    return np.int64


# ---------------------------------------------------------------------------- the kernel
class _Engine:
    """Deterministic kernels of Alg. 1 for ``R`` runs: sampling, eq. (20), TD (23), eq. (21).

    Flat layouts (padded to ``Smax``, ``Amax``, ``Rmax`` = most rows of a policy table):
    probabilities ``P[r, i, x, a]`` (zero on padding), λ~ ``[r, i, s_i, a_i]``, truncated tables
    via :class:`~._tables._Layout` (runs as its batch axis).
    """

    def __init__(self, mdp, observed, kappa, R, gamma):
        self.mdp, self.R, self.gamma, self.kappa = mdp, R, gamma, kappa
        self.n = n = mdp.n
        self.S, self.A = tuple(mdp.state_sizes), tuple(mdp.action_sizes)
        self.Smax, self.Amax = max(self.S), max(self.A)
        self.observed = observed
        self.rows = [math.prod(self.S[j] for j in o) for o in observed]
        self.Rmax = max(self.rows)
        m = max(len(o) for o in observed)
        self.members = np.zeros((n, m), dtype=np.int64)
        self.mult = np.zeros((n, m), dtype=np.int64)
        for i, o in enumerate(observed):
            for q, j in enumerate(o):
                self.members[i, q] = j
                self.mult[i, q] = math.prod(self.S[k] for k in o[q + 1:])
        self.hoods = [tuple(sorted(int(j) for j in mdp.kappa_hop(i, kappa))) for i in range(n)]
        self.layout = _Layout(n, self.S, self.A, self.hoods, R)
        resolve_table_mode(self.layout, "dense", kappa)  # refuses before allocating
        memb = np.zeros((n, n))
        for i, N in enumerate(self.hoods):
            memb[i, list(N)] = 1.0
        self.actor_matrix = memb.T / n  # G = q @ actor_matrix: G[., i] = (1/n) sum_{j in N_i} q[., j]
        self.kernels = mdp._stacked("transitions")  # the tables NetworkedMDP.step inverts (cross-checked in tests)
        self.arange_n = np.arange(n, dtype=np.int64)
        self.P = None

    # -- policy
    def set_policy(self, logits):
        """Per-run logits ``logits[i]`` (R, rows_i, A_i) -> probabilities and sampling thresholds."""
        R, n = self.R, self.n
        P = np.zeros((R, n, self.Rmax, self.Amax))
        for i, t in enumerate(logits):
            z = t - t.max(axis=-1, keepdims=True)
            e = np.exp(z)
            P[:, i, : self.rows[i], : self.A[i]] = e / e.sum(axis=-1, keepdims=True)
        P[:, :, :, 0] += (P.sum(axis=-1) == 0)  # padded rows: a valid (never read) distribution
        self.P = P
        thr = categorical_thresholds(np.cumsum(P, axis=-1))  # (R, n, Rmax, Amax - 1)
        self.thr = np.ascontiguousarray(thr.reshape(-1, self.Amax - 1).T)  # (Amax - 1, R n Rmax)

    def policy_rows(self, s):
        """Row of every agent's table for states ``s`` (m, n) int64: shape (m, n)."""
        return (s[:, self.members] * self.mult).sum(axis=2)

    def draw(self, s, u, run_base):
        """Actions (m, n) for states (m, n), uniforms (m, n); ``run_base`` (m, 1) = run index * n."""
        flat = (run_base + self.arange_n) * self.Rmax + self.policy_rows(s)
        a = np.zeros(s.shape, dtype=np.int64)
        for c in self.thr:
            a += u >= c[flat]
        return a

    def transition(self, s, a, u):
        """Next states (m, n): the inverse CDF of :meth:`~envs.NetworkedMDP.step` with uniforms ``u``."""
        saT = np.concatenate((s.T, a.T))
        rows = self.kernels.rows(saT)
        nxt = np.zeros(rows.shape, dtype=np.int64)
        uT = u.T
        for cdf_k in self.kernels.table:
            nxt += uT > cdf_k[rows]
        return np.ascontiguousarray(nxt.T)

    def initial_states(self, u, xi):
        """Global initial states (m, n) from uniforms: (m,) through ``cumsum(xi)`` or (m, n) per agent."""
        if xi is None:
            return np.minimum((u * np.asarray(self.S)).astype(np.int64), np.asarray(self.S) - 1)
        idx = sample_categorical(self._xi_cdf[None, :], u, axis=1)
        return np.stack(np.unravel_index(idx, self.S), axis=-1).astype(np.int64)

    def set_initial(self, xi):
        self.xi = xi
        if xi is not None:
            self._xi_cdf = np.cumsum(xi)

    # -- randomness (per run) then the kernels
    def _uniform_init(self, gens, m):
        shape = (m,) if self.xi is not None else (m, self.n)
        return np.stack([g.random(shape) for g in gens])  # (R, m) or (R, m, n)

    def rollout(self, gens, B, H, states_out=None, actions_out=None, lam=None):
        """Sample ``B`` trajectories of ``H`` pairs per run; yield nothing, fill the buffers.

        ``states_out``, ``actions_out``: (R, B, H, n) buffers (or None); ``lam``: (R * n * Smax * Amax,)
        accumulator of eq. (20)'s sum (weights gamma^k, before the 1/B).
        """
        R, n = self.R, self.n
        m = R * B
        run_base = np.repeat(np.arange(R, dtype=np.int64) * n, B)[:, None]
        u0 = self._uniform_init(gens, B)
        s = self.initial_states(u0.reshape((m,) + u0.shape[2:]), self.xi)
        chunk = max(1, min(H, _CHUNK_DOUBLES // (m * 2 * n)))
        lam_base = (run_base + self.arange_n) * (self.Smax * self.Amax)
        w = 1.0
        for k0 in range(0, H, chunk):
            c = min(chunk, H - k0)
            U = np.empty((c, R, B, 2 * n))
            for r, g in enumerate(gens):
                U[:, r] = g.random((c, B, 2 * n))
            U = U.reshape(c, m, 2 * n)
            for kk in range(c):
                k = k0 + kk
                a = self.draw(s, U[kk, :, :n], run_base)
                if states_out is not None:
                    states_out[:, :, k] = s.reshape(R, B, n)
                    actions_out[:, :, k] = a.reshape(R, B, n)
                if lam is not None:
                    lam += np.bincount((lam_base + s * self.Amax + a).reshape(-1), minlength=lam.size) * w
                w *= self.gamma
                if k + 1 < H:
                    s = self.transition(s, a, U[kk, :, n:])
        return s

    def td(self, gens, rewards, steps, step_size):
        """TD (23) along one trajectory of ``steps + 1`` pairs per run: the flat tables (R * total,).

        ``rewards``: (R, n, Smax * Amax) flat local rewards :math:`\\tilde r_i[s_i A_{max} + a_i]`.
        """
        R, n, lay = self.R, self.n, self.layout
        Q = np.zeros(R * lay.total)
        run_base = (np.arange(R, dtype=np.int64) * n)[:, None]
        rflat = rewards.reshape(-1)
        rbase = (run_base + self.arange_n) * (self.Smax * self.Amax)
        u0 = self._uniform_init(gens, 1)
        s = self.initial_states(u0.reshape((R,) + u0.shape[2:]), self.xi)
        K = steps + 1
        chunk = max(1, min(K, _CHUNK_DOUBLES // (R * 2 * n)))
        key_prev = r_prev = None
        k = 0
        for k0 in range(0, K, chunk):
            c = min(chunk, K - k0)
            U = np.empty((c, R, 2 * n))
            for r, g in enumerate(gens):
                U[:, r] = g.random((c, 1, 2 * n))[:, 0]
            for kk in range(c):
                a = self.draw(s, U[kk, :, :n], run_base)
                key = lay.keys(s, a)
                if key_prev is not None:
                    q_prev, q_now = Q[key_prev], Q[key]  # both read before the write
                    eta = float(step_size(k - 1))
                    Q[key_prev] = q_prev + eta * (r_prev + self.gamma * q_now - q_prev)  # eq. (23)
                r_prev = rflat[rbase + s * self.Amax + a]
                key_prev = key
                if k + 1 < K:
                    s = self.transition(s, a, U[kk, :, n:])
                k += 1
        return Q

    def gradient(self, Qflat, states, actions, B, H):
        """Eq. (21) from the stored batch: per agent (R, rows_i, A_i)."""
        R, n, lay = self.R, self.n, self.layout
        Rm, Am = self.Rmax, self.Amax
        W1 = np.zeros(R * n * Rm * Am)
        W0 = np.zeros(R * n * Rm)
        disc = self.gamma ** np.arange(H)
        chunk = max(1, min(H, _CHUNK_DOUBLES // max(1, R * B * n * 4)))
        for k0 in range(0, H, chunk):
            c = min(chunk, H - k0)
            m = R * B * c
            s = states[:, :, k0:k0 + c].reshape(m, n).astype(np.int64)
            a = actions[:, :, k0:k0 + c].reshape(m, n).astype(np.int64)
            run = np.repeat(np.arange(R, dtype=np.int64), B * c)[:, None]
            keys = run * lay.total + lay.offsets[None, :] + lay.local_index(s, a)
            G = (Qflat[keys] @ self.actor_matrix) * np.tile(disc[k0:k0 + c], R * B)[:, None]
            f = (run * n + self.arange_n) * Rm + self.policy_rows(s)
            W0 += np.bincount(f.reshape(-1), weights=G.reshape(-1), minlength=W0.size)
            W1 += np.bincount((f * Am + a).reshape(-1), weights=G.reshape(-1), minlength=W1.size)
        g = (W1.reshape(R, n, Rm, Am) - W0.reshape(R, n, Rm, 1) * self.P) / B  # score e_a - pi(.|x)
        return [g[:, i, : self.rows[i], : self.A[i]].copy() for i in range(n)]

    def split_tables(self, Qflat):
        lay = self.layout
        Q2 = Qflat.reshape(self.R, lay.total)
        return [Q2[:, int(lay.offsets[i]): int(lay.offsets[i]) + lay.sizes[i]].reshape((self.R,) + lay.shapes[i]).copy()
                for i in range(self.n)]

    def join_tables(self, tables):
        return np.concatenate([t.reshape(self.R, -1) for t in tables], axis=1).reshape(-1)


# ---------------------------------------------------------------------------- one iteration
@dataclass
class ShadowPGEstimates:
    r"""Algorithm 1's estimates at one policy, for ``R`` independent runs (:func:`shadow_pg_estimates`).

    Attributes
    ----------
    lambda_tilde : list of ndarray
        :math:`\tilde\lambda_i` (eq. (20)), ``[i]`` of shape (R, S_i, A_i), mass :math:`(1-\gamma^H)/(1-\gamma)`.
    reward_tilde : list of ndarray
        :math:`\tilde r_i = \nabla f_i(\tilde\lambda_i)`, (R, S_i, A_i); may hold ``inf``/``nan``.
    finite : ndarray of bool, shape (R, n)
        Whether :math:`\tilde r_i` is finite.
    q_tables : list of ndarray or None
        :math:`\tilde Q_i`, ``(R,) + tuple(S[j] for j in N_i) + tuple(A[j] for j in N_i)`` (NaN for a
        run with a non-finite reward); None without an oracle.
    gradient : list of ndarray or None
        :math:`\tilde g_i` (eq. (21)), ``(R,) + logits[i].shape``; None without an oracle.
    neighbourhoods : tuple of tuple of int
        :math:`N_i^\kappa`.
    """

    lambda_tilde: list = field(repr=False)
    reward_tilde: list = field(repr=False)
    finite: np.ndarray
    q_tables: list | None = field(repr=False)
    gradient: list | None = field(repr=False)
    neighbourhoods: tuple


def _default_td_step(engine):
    h = max(engine.layout.sizes) / (1.0 - engine.gamma)
    return PowerSchedule(h, 1.0, h)


def _estimate(engine, gens, utilities, B, H, oracle, eps0, adversary, td_steps, td_step, reference, policies,
              buffers, q_tables=None):
    """One pass of lines 3-6 for every run; ``policies[r]`` for the exact oracles."""
    R, n, S, A = engine.R, engine.n, engine.S, engine.A
    lam = np.zeros(R * n * engine.Smax * engine.Amax)
    states, actions = buffers
    engine.rollout(gens, B, H, states, actions, lam)
    lam = lam.reshape(R, n, engine.Smax, engine.Amax) / B
    lam_t = [lam[:, i, : S[i], : A[i]].copy() for i in range(n)]
    rew = np.zeros((R, n, engine.Smax, engine.Amax))
    rew_t = []
    with np.errstate(divide="ignore", invalid="ignore"):
        for i, f in enumerate(utilities):
            ri = np.stack([np.asarray(f.gradient(lam_t[i][r]), dtype=np.float64) for r in range(R)])
            rew_t.append(ri)
    finite = np.stack([np.isfinite(r.reshape(R, -1)).all(axis=1) for r in rew_t], axis=1)  # (R, n)
    for i, ri in enumerate(rew_t):
        rew[:, i, : S[i], : A[i]] = np.where(finite[:, i, None, None], ri, 0.0)
    if oracle is None and q_tables is None:
        return ShadowPGEstimates(lam_t, rew_t, finite, None, None, tuple(engine.hoods))
    if q_tables is not None:
        Qflat = engine.join_tables([np.broadcast_to(np.asarray(t, dtype=np.float64), (R,) + engine.layout.shapes[i])
                                    for i, t in enumerate(q_tables)])
    elif oracle == "td":
        Qflat = engine.td(gens, rew.reshape(R, n, -1), td_steps, td_step)
    else:
        Qflat = _exact_oracle(engine, gens, rew, finite, policies, reference, oracle, eps0, adversary)
    grad = engine.gradient(Qflat, states, actions, B, H)
    tables = engine.split_tables(Qflat)
    bad = ~finite.all(axis=1)
    if bad.any() and q_tables is None:
        for t in tables:
            t[bad] = np.nan
        for g in grad:
            g[bad] = np.nan
    return ShadowPGEstimates(lam_t, rew_t, finite, tables, grad, tuple(engine.hoods))


def _exact_oracle(engine, gens, rew, finite, policies, reference, oracle, eps0, adversary):
    """:math:`\\hat Q_{\\tilde r_j}` of eq. (14) per run (solvers.exact), optionally perturbed by ε0‖r~‖∞."""
    from netmarl_verify.solvers.exact import truncated_q

    R, n, S, A, mdp = engine.R, engine.n, engine.S, engine.A, engine.mdp
    weights = ("fixed", reference[0], reference[1])
    tables = [np.zeros((R,) + engine.layout.shapes[j]) for j in range(n)]
    ok = finite.all(axis=1)
    if R > 1 and all(p is policies[0] for p in policies):
        # One policy for every run (shadow_pg_estimates): Q-hat_j is linear in r_j, so solve once per unit
        # reward e_(s_j, a_j) and combine, instead of R solves per agent (same numbers up to rounding).
        for j in range(n):
            basis = np.empty((S[j] * A[j],) + engine.layout.shapes[j])
            for e in range(S[j] * A[j]):
                unit = [np.zeros((S[k], A[k])) for k in range(n)]
                unit[j].flat[e] = 1.0
                basis[e] = truncated_q(mdp.with_rewards(unit, reward_form="local"), policies[0], j, engine.kappa,
                                       weights, engine.gamma)
            coef = rew[:, j, : S[j], : A[j]].reshape(R, -1) * ok[:, None]
            tables[j][...] = np.tensordot(coef, basis, axes=(1, 0))
    else:
        for r in range(R):
            if ok[r]:
                shadow = mdp.with_rewards([rew[r, j, : S[j], : A[j]] for j in range(n)], reward_form="local")
                for j in range(n):
                    tables[j][r] = truncated_q(shadow, policies[r], j, engine.kappa, weights, engine.gamma)
    for r in range(R):
        rr = [rew[r, j, : S[j], : A[j]] for j in range(n)]
        if oracle == "adversarial":
            for j in range(n):
                scale = eps0 * float(np.abs(rr[j]).max())
                if adversary == "random":
                    p = np.where(gens[r].random(tables[j][r].size) < 0.5, -1.0, 1.0).reshape(tables[j][r].shape)
                else:
                    p = np.where(tables[j][r] > tables[j][r].mean(), -1.0, 1.0)
                tables[j][r] = tables[j][r] + scale * p
    return engine.join_tables(tables)


def _buffers(engine, B, H):
    dt = _int_dtype(engine.S, engine.A)
    shape = (engine.R, B, H, engine.n)
    from netmarl_verify.envs._memory import check_memory

    check_memory(2.0 * np.dtype(dt).itemsize * math.prod(shape), f"the stored batch ({shape} states and actions)",
                 hint="fewer trajectories B, a shorter horizon H or fewer runs")
    return np.empty(shape, dtype=dt), np.empty(shape, dtype=dt)


def _check_oracle(oracle, eps0, adversary, allow_none=False):
    if oracle is None and allow_none:
        return None, 0.0
    if oracle not in ORACLES:
        extra = " or None" if allow_none else ""
        raise ValueError(f"`oracle` must be one of {ORACLES}{extra}, got {oracle!r}")
    eps0 = float(eps0)
    if not (np.isfinite(eps0) and eps0 >= 0):
        raise ValueError(f"`eps0` must be a finite number >= 0, got {eps0}")
    if adversary not in _ADVERSARIES:
        raise ValueError(f"`adversary` must be one of {_ADVERSARIES}, got {adversary!r}")
    return oracle, eps0


def _td_settings(engine, td_steps, td_step, H):
    td_steps = H if td_steps is None else _check_int(td_steps, "td_steps", 1)
    td_step = _default_td_step(engine) if td_step is None else _as_schedule(td_step, "td_step")
    return td_steps, td_step


def _unpack_problem(problem):
    """``(mdp, policy, gamma, initial)`` of a UtilityInstance or a 4-tuple."""
    if isinstance(problem, tuple):
        if len(problem) != 4:
            raise TypeError("`problem` as a tuple must be (mdp, policy, gamma, initial)")
        return problem
    for attr in ("mdp", "policy", "gamma", "initial"):
        if not hasattr(problem, attr):
            raise TypeError(f"`problem` must be a UtilityInstance or a tuple (mdp, policy, gamma, initial); "
                            f"{type(problem).__name__} has no {attr!r}")
    return problem.mdp, problem.policy, problem.gamma, problem.initial


def shadow_pg_estimates(mdp, policy, gamma, utilities, kappa, *, batch, horizon, initial=None, oracle="exact",
                        q_tables=None, eps0=0.0, adversary="flatten", td_steps=None, td_step=None, reference=None,
                        runs=1, rng=None):
    r"""Lines 3-6 of Algorithm 1 at a fixed policy, for ``runs`` independent runs (module docstring).

    Parameters
    ----------
    mdp : NetworkedMDP
    policy : KHopSoftmaxPolicy or LocalSoftmaxPolicy
        :math:`\pi_\theta`, shared by the runs.
    gamma : float in [0, 1)
    utilities : sequence of utility objects (``value``, ``gradient``), one per agent
    kappa : int >= 0
        Truncation radius of the tables and of the sum in eq. (21).
    batch, horizon : int >= 1
        ``B`` trajectories of ``H`` pairs.
    initial : ndarray, shape (|S|,), optional
        ξ (None: uniform, drawn agent by agent).
    oracle : {"td", "exact", "adversarial"} or None
        Line 5; None stops after eq. (20) (no :math:`\tilde Q`, no :math:`\tilde g`).
    q_tables : sequence of ndarray, optional
        Use these tables (``[j]`` of shape ``tuple(S[k] for k in N_j) + tuple(A[k] for k in N_j)``)
        as :math:`\tilde Q_j` for every run instead of an oracle — e.g. the exact :math:`\hat Q_j` of
        the **true** shadow reward, for eq. (30)'s :math:`\hat g^t` (whose mean is
        :func:`~netmarl_verify.solvers.exact.horizon_expectations`).
    eps0, adversary, td_steps, td_step, reference
        As in :func:`run_shadow_pg`.
    runs : int >= 1
    rng : see :func:`run_shadow_pg`

    Returns
    -------
    ShadowPGEstimates
    """
    mdp = _check_model(mdp)
    gamma = _check_gamma(gamma)
    kappa = _check_int(kappa, "kappa", 0)
    B = _check_int(batch, "batch", 1)
    H = _check_int(horizon, "horizon", 1)
    R = _check_int(runs, "runs", 1)
    utilities = _check_utilities(utilities, mdp)
    observed, logits = _check_policy(mdp, policy)
    oracle, eps0 = _check_oracle(oracle, eps0, adversary, allow_none=True)
    reference = _check_reference(reference, mdp)
    engine = _Engine(mdp, observed, kappa, R, gamma)
    engine.set_initial(_check_initial(initial, mdp))
    engine.set_policy([np.broadcast_to(t, (R,) + t.shape) for t in logits])
    td_steps, td_step = _td_settings(engine, td_steps, td_step, H)
    gens, _ = _run_generators(rng, R)
    return _estimate(engine, gens, utilities, B, H, oracle, eps0, adversary, td_steps, td_step, reference,
                     [policy] * R, _buffers(engine, B, H), q_tables=q_tables)


# ---------------------------------------------------------------------------- building blocks
@dataclass
class Trajectories:
    """``R`` runs x ``B`` trajectories of ``H`` pairs (:func:`sample_trajectories`).

    Attributes
    ----------
    states, actions : ndarray of int64, shape (R, B, H, n)
        :math:`s^k`, :math:`a^k` (local indices).
    """

    states: np.ndarray = field(repr=False)
    actions: np.ndarray = field(repr=False)


def sample_trajectories(mdp, policy, batch, horizon, *, initial=None, runs=1, rng=None):
    r"""Line 3 of Algorithm 1: ``batch`` trajectories of ``horizon`` pairs per run, :math:`s^0\sim\xi`.

    Same random stream as :func:`run_shadow_pg`'s first iteration (module docstring). Returns
    :class:`Trajectories` with arrays of shape (R, B, H, n).
    """
    mdp = _check_model(mdp)
    B, H, R = _check_int(batch, "batch", 1), _check_int(horizon, "horizon", 1), _check_int(runs, "runs", 1)
    observed, logits = _check_policy(mdp, policy)
    engine = _Engine(mdp, observed, 0, R, 0.0)
    engine.set_initial(_check_initial(initial, mdp))
    engine.set_policy([np.broadcast_to(t, (R,) + t.shape) for t in logits])
    gens, _ = _run_generators(rng, R)
    st = np.empty((R, B, H, mdp.n), dtype=np.int64)
    ac = np.empty_like(st)
    engine.rollout(gens, B, H, st, ac)
    return Trajectories(st, ac)


def td_truncated_q(mdp, policy, gamma, rewards, kappa, *, steps, step_size=None, initial=None, runs=1, rng=None):
    r"""The TD oracle (23) alone: every agent's :math:`\tilde Q_i` after ``steps`` updates, ``runs`` runs.

    Parameters
    ----------
    rewards : sequence of ndarray
        ``rewards[i]`` of shape (S_i, A_i), finite (Algorithm 1: :math:`\tilde r_i`).
    steps : int >= 1
        Updates (one trajectory of ``steps + 1`` pairs from ξ per run).
    step_size : PowerSchedule, float, tuple or callable, optional
        :math:`\eta_Q^k` (default in the module docstring).

    Returns
    -------
    list of ndarray
        ``[i]`` of shape ``(R,) + tuple(S[j] for j in N_i) + tuple(A[j] for j in N_i)``; the limit
        as ``steps`` grows is :func:`~netmarl_verify.solvers.exact.td_fixed_point`.
    """
    mdp = _check_model(mdp)
    gamma = _check_gamma(gamma)
    kappa, R = _check_int(kappa, "kappa", 0), _check_int(runs, "runs", 1)
    steps = _check_int(steps, "steps", 1)
    observed, logits = _check_policy(mdp, policy)
    rewards = list(rewards)
    if len(rewards) != mdp.n:
        raise ValueError(f"need one reward table per agent ({mdp.n}), got {len(rewards)}")
    engine = _Engine(mdp, observed, kappa, R, gamma)
    engine.set_initial(_check_initial(initial, mdp))
    engine.set_policy([np.broadcast_to(t, (R,) + t.shape) for t in logits])
    rew = np.zeros((R, mdp.n, engine.Smax, engine.Amax))
    for i, r in enumerate(rewards):
        r = np.asarray(r, dtype=np.float64)
        want = (engine.S[i], engine.A[i])
        if r.shape != want or not np.isfinite(r).all():
            raise ValueError(f"`rewards[{i}]` must be a finite array of shape {want}, got shape {r.shape}")
        rew[:, i, : want[0], : want[1]] = r
    step_size = _default_td_step(engine) if step_size is None else _as_schedule(step_size, "step_size")
    gens, _ = _run_generators(rng, R)
    return engine.split_tables(engine.td(gens, rew.reshape(R, mdp.n, -1), steps, step_size))


# ---------------------------------------------------------------------------- the algorithm
@dataclass
class ShadowPGState:
    """What a checkpoint callback sees (read-only; copy what you keep).

    Attributes
    ----------
    iteration : int
        ``t``: the parameters are :math:`\\theta^t`.
    logits : list of ndarray
        ``logits[i]`` of shape ``(R,) + policy.logits[i].shape``.
    estimates : ShadowPGEstimates or None
        Iteration ``t``'s :math:`\\tilde\\lambda, \\tilde r, \\tilde Q, \\tilde g` (None at ``t = T``).
    observed : tuple of tuple of int
    """

    iteration: int
    logits: list
    estimates: ShadowPGEstimates | None
    observed: tuple
    kappa_policy: int | None = None

    def policy(self, run):
        """The :class:`~envs.KHopSoftmaxPolicy` of run ``run`` at this iteration."""
        return KHopSoftmaxPolicy([t[run] for t in self.logits], self.observed, kappa=self.kappa_policy)


@dataclass(kw_only=True)
class ShadowPGResult(RunResult):
    """Result of :func:`run_shadow_pg`: a :class:`RunResult` with the learned parameters.

    Attributes
    ----------
    logits : list of ndarray
        Final :math:`\\theta^T`, ``logits[i]`` of shape ``(R,) + policy.logits[i].shape``.
    observed : tuple of tuple of int
        The policies' observation sets.
    kappa : int
    neighbourhoods : tuple of tuple of int
        :math:`N_i^\\kappa`.
    run_seeds : list
        Per run, the SeedSequence (or the Generator state) its stream came from: ``rng=[run_seeds[r]]``
        replays run ``r`` alone.
    trace : pandas.DataFrame
        One row per (checkpoint, run): ``iteration``, ``run``, ``window`` (iterations since the last
        checkpoint), ``plugin_F`` (the plug-in :math:`\\frac1n\\sum_i f_i(\\tilde\\lambda_i)` averaged
        over the window; NaN if empty), ``eta_theta``, ``skipped`` (iterations skipped so far for a
        non-finite :math:`\\tilde r`), the exact columns (:data:`SHADOW_PG_METRICS`, from
        :mod:`netmarl_verify.solvers.exact`): ``F`` = :math:`F(\\theta^t)`, ``grad_norm2`` =
        :math:`\\|\\nabla F(\\theta^t)\\|^2`, ``grad_error`` = :math:`\\|\\tilde g^t - \\nabla F(\\theta^t)\\|_2`
        (all agents), ``occupancy_error`` = :math:`\\max_i\\|\\tilde\\lambda_i^t - \\lambda_i\\|_2`,
        ``reward_error`` = :math:`\\max_i\\|\\tilde r_i^t - r_i\\|_\\infty`, ``q_error`` =
        :math:`\\max_i\\|\\tilde Q_i^t - \\hat Q_i\\|_\\infty` (eq. (14), true reward, the reference),
        ``truncation_error`` = :math:`\\|\\hat g - \\nabla F\\|_2` (Prop. 1); the estimate columns are
        NaN at ``t = T`` (no estimate is made there); and the callback's columns.
    """

    logits: list
    observed: tuple
    kappa: int
    neighbourhoods: tuple
    run_seeds: list
    kappa_policy: int | None = None

    def policy(self, run):
        """Final :class:`~envs.KHopSoftmaxPolicy` of run ``run``."""
        return KHopSoftmaxPolicy([t[run] for t in self.logits], self.observed, kappa=self.kappa_policy)


def _exact_columns(mdp, gamma, initial, utilities, kappa, reference, state, metrics, R, shapes):
    """The exact trace columns of one checkpoint (solvers.exact), per run."""
    from netmarl_verify.solvers.exact import shadow_problem, truncated_shadow_gradient

    out = {m: np.full(R, np.nan) for m in metrics}
    est = state.estimates
    for r in range(R):
        pol = state.policy(r)
        prob = shadow_problem(mdp, pol, gamma, utilities, initial)
        grad = [np.asarray(g).reshape(s) for g, s in zip(prob.gradient(), shapes)]
        if "F" in metrics:
            out["F"][r] = prob.value
        if "grad_norm2" in metrics:
            out["grad_norm2"][r] = sum(float((g ** 2).sum()) for g in grad)
        if "truncation_error" in metrics:
            gh = truncated_shadow_gradient(prob, kappa, reference)
            out["truncation_error"][r] = math.sqrt(sum(float(((np.asarray(a).reshape(s) - b) ** 2).sum())
                                                       for a, b, s in zip(gh, grad, shapes)))
        if est is None:
            continue
        if "grad_error" in metrics:
            out["grad_error"][r] = math.sqrt(sum(float(((est.gradient[i][r].reshape(s) - g) ** 2).sum())
                                                 for i, (g, s) in enumerate(zip(grad, shapes))))
        if "occupancy_error" in metrics:
            out["occupancy_error"][r] = max(float(np.linalg.norm(est.lambda_tilde[i][r] - prob.local[i]))
                                            for i in range(mdp.n))
        if "reward_error" in metrics:
            with np.errstate(invalid="ignore"):
                errs = [np.abs(est.reward_tilde[i][r] - prob.shadow_rewards[i]) for i in range(mdp.n)]
            out["reward_error"][r] = max(float(np.nan_to_num(e, nan=np.inf).max()) for e in errs)
        if "q_error" in metrics:
            out["q_error"][r] = max(float(np.abs(est.q_tables[i][r] - prob.truncated_q(i, kappa, reference)).max())
                                    for i in range(mdp.n))
    return out


def _nonfinite_message(est, r, t):
    i = int(np.flatnonzero(~est.finite[r])[0])
    ri = est.reward_tilde[i][r]
    idx = tuple(int(x) for x in np.argwhere(~np.isfinite(ri))[0])
    return (f"iteration {t}, run {r}: the empirical shadow reward r~_{i} = grad f_{i}(lambda~_{i}) has the "
            f"non-finite entry {float(ri[idx])!r} at (s_{i}, a_{i}) = {idx} (lambda~_{i}{idx} = "
            f"{float(est.lambda_tilde[i][r][idx]):.3g}); pass on_nonfinite='skip' to leave such iterations out, "
            "or use more trajectories B / a longer horizon H")


def run_shadow_pg(problem, utilities, kappa, *, T, B, H, eta_theta, oracle="td", eps0=0.0, adversary="flatten",
                  td_steps=None, td_step=None, reference=None, runs=1, rng=None, checkpoints=None, callback=None,
                  exact_metrics=DEFAULT_METRICS, on_nonfinite="raise"):
    r"""Run ying2023 Algorithm 1 for ``runs`` independent runs at once (module docstring).

    Parameters
    ----------
    problem : UtilityInstance or tuple (mdp, policy, gamma, initial)
        The model (a :class:`~envs.NetworkedMDP`), :math:`\theta^0` (a product softmax policy:
        :class:`~envs.KHopSoftmaxPolicy` or :class:`~envs.LocalSoftmaxPolicy`), :math:`\gamma` and
        :math:`\xi` (None: uniform).
    utilities : sequence of utility objects, one per agent
        :math:`f_i` with ``value(lam)`` and ``gradient(lam)`` (:mod:`netmarl_verify.solvers.exact._utilities`).
    kappa : int >= 0
        Truncation/communication radius of :math:`\tilde Q_j` and of the sum over :math:`N_i^\kappa`.
    T : int >= 0
        Iterations.
    B, H : int >= 1
        Trajectories per iteration and their length.
    eta_theta : PowerSchedule, float, tuple or callable
        :math:`\eta_\theta^t` (a float is constant).
    oracle : {"td", "exact", "adversarial"}
        Line 5 (module docstring).
    eps0 : float >= 0
        Accuracy of the adversarial oracle:
        :math:`\|\tilde Q - \hat Q_{\tilde r}\|_\infty = \epsilon_0\|\tilde r\|_\infty`.
    adversary : {"flatten", "random"}
        Sign pattern of the adversarial oracle.
    td_steps : int >= 1, optional
        TD updates per iteration (default ``H``).
    td_step : PowerSchedule, float, tuple or callable, optional
        :math:`\eta_Q^k` (default :math:`h/(k + t_0)`, module docstring).
    reference : (s_bar, a_bar), optional
        Reference of eq. (14) for the exact oracles and ``q_error`` (default all zeros).
    runs : int >= 1
        ``R`` independent runs; every parameter array has a leading run axis.
    rng : int, SeedSequence, Generator, None, or a sequence of ``R`` of them
        Module docstring (Randomness).
    checkpoints : iterable of int, optional
        Iterations in ``[0, T]`` with a trace row per run (default 11 evenly spaced).
    callback : callable, optional
        ``callback(state: ShadowPGState) -> None or dict`` at every checkpoint (after the exact columns).
    exact_metrics : iterable of str
        Subset of :data:`SHADOW_PG_METRICS` (``()``: none, for large models or timing).
    on_nonfinite : {"raise", "skip"}
        What a non-finite :math:`\tilde r` does (module docstring).

    Returns
    -------
    ShadowPGResult

    Raises
    ------
    ValueError, TypeError, ShapeError
        Invalid arguments, named (``B < 1``, a wrong number of utilities, a policy whose tables do not
        fit the model, ...).
    NonFiniteError
        A non-finite empirical shadow reward with ``on_nonfinite="raise"``.

    Examples
    --------
    >>> from netmarl_verify.envs import random_khop
    >>> from netmarl_verify.solvers.exact import LinearUtility
    >>> inst = random_khop(3, kappa=1, rng=0)
    >>> utils = [LinearUtility(r) for r in inst.local_rewards]
    >>> res = run_shadow_pg(inst, utils, 1, T=3, B=4, H=5, eta_theta=0.5, runs=2, rng=0, checkpoints=[0, 3])
    >>> res.trace.shape[0], res.logits[1].shape, bool(res.trace.F.notna().all())
    (4, (2, 2, 2, 2, 2), True)
    """
    mdp, policy0, gamma, initial = _unpack_problem(problem)
    mdp = _check_model(mdp)
    gamma = _check_gamma(gamma)
    kappa = _check_int(kappa, "kappa", 0)
    T = _check_int(T, "T", 0)
    B, H, R = _check_int(B, "B", 1), _check_int(H, "H", 1), _check_int(runs, "runs", 1)
    utilities = _check_utilities(utilities, mdp)
    observed, logits0 = _check_policy(mdp, policy0)
    oracle, eps0 = _check_oracle(oracle, eps0, adversary)
    eta = _as_schedule(eta_theta, "eta_theta")
    reference = _check_reference(reference, mdp)
    xi = _check_initial(initial, mdp)
    metrics = tuple(exact_metrics)
    for m in metrics:
        if m not in SHADOW_PG_METRICS:
            raise ValueError(f"`exact_metrics` entries must be in {SHADOW_PG_METRICS}, got {m!r}")
    if on_nonfinite not in ("raise", "skip"):
        raise ValueError(f"`on_nonfinite` must be 'raise' or 'skip', got {on_nonfinite!r}")
    checkpoints = _check_checkpoints(checkpoints, T)
    kappa_policy = getattr(policy0, "kappa", None)
    shapes = [tuple(mdp.state_sizes[j] for j in o) + (mdp.action_sizes[i],) for i, o in enumerate(observed)]

    # ---------------- seeding: one stream per run, recorded
    gens, run_seeds = _run_generators(rng, R)

    # ---------------- state: theta (R copies), the kernels, the stored batch
    engine = _Engine(mdp, observed, kappa, R, gamma)
    engine.set_initial(xi)
    td_steps, td_step = _td_settings(engine, td_steps, td_step, H)
    theta = [np.array(np.broadcast_to(t, (R,) + t.shape)) for t in logits0]
    buffers = _buffers(engine, B, H)
    skipped = np.zeros(R, dtype=np.int64)

    exact = None
    if metrics:
        def exact(state):
            return _exact_columns(mdp, gamma, xi, utilities, kappa, reference, state, metrics, R, shapes)
    trace = TraceRecorder(R, checkpoints, callback, exact_metrics=exact)

    def state_at(t, est):
        return ShadowPGState(t, [th.reshape((R,) + s) for th, s in zip(theta, shapes)], est, observed, kappa_policy)

    def policies():
        return [KHopSoftmaxPolicy([th[r].reshape(s) for th, s in zip(theta, shapes)], observed, kappa=kappa_policy)
                for r in range(R)] if oracle != "td" else None

    clock = Stopwatch()
    clock.start()
    for t in range(T):
        engine.set_policy(theta)
        est = _estimate(engine, gens, utilities, B, H, oracle, eps0, adversary, td_steps, td_step, reference,
                        policies(), buffers)
        ok = est.finite.all(axis=1)
        if not ok.all():
            if on_nonfinite == "raise":
                raise NonFiniteError(_nonfinite_message(est, int(np.flatnonzero(~ok)[0]), t))
            skipped += ~ok
        plug = np.array([np.mean([f.value(est.lambda_tilde[i][r]) for i, f in enumerate(utilities)])
                         for r in range(R)])
        trace.add_reward(plug)
        if trace.due(t):
            with clock.paused():
                trace.record(t, state_at(t, est), {"eta_theta": np.full(R, float(eta(t))), "skipped": skipped.copy()})
        step = float(eta(t))
        for i in range(mdp.n):  # eq. (22), ascent; skipped runs unchanged
            theta[i] += step * np.where(ok[:, None, None], np.nan_to_num(est.gradient[i]), 0.0)
    clock.stop()
    if trace.due(T):
        trace.record(T, state_at(T, None), {"eta_theta": np.full(R, float(eta(T))), "skipped": skipped.copy()})

    frame = trace.frame(("iteration", "run", "window", "avg_reward")).rename(columns={"avg_reward": "plugin_F"})
    settings = dict(kappa=kappa, T=T, B=B, H=H, runs=R, eta_theta=eta, oracle=oracle, eps0=eps0, adversary=adversary,
                    td_steps=td_steps if oracle == "td" else None, td_step=td_step if oracle == "td" else None,
                    reference=tuple(tuple(int(x) for x in v) for v in reference), on_nonfinite=on_nonfinite,
                    checkpoints=list(checkpoints), metrics_seconds=trace.seconds)
    steps = B * H + (td_steps + 1 if oracle == "td" else 0)
    return ShadowPGResult(
        trace=frame,
        seed=run_seeds,
        settings=settings,
        elapsed=clock.elapsed,
        agent_steps_per_second=(R * steps * mdp.n * T / clock.elapsed) if clock.elapsed > 0 else float("nan"),
        logits=[th.reshape((R,) + s).copy() for th, s in zip(theta, shapes)],
        observed=observed,
        kappa=kappa,
        neighbourhoods=tuple(engine.hoods),
        run_seeds=run_seeds,
        kappa_policy=kappa_policy,
    )


# ---------------------------------------------------------------------------- throughput
def shadow_pg_throughput(n=10, kappa=1, B=256, H=50, T=10, rng=0, *, runs=1, td_steps=None):
    """Agent-steps per second of :func:`run_shadow_pg` on a ``random_khop(n, kappa)`` line, TD oracle.

    Counts every simulated agent-step, batch and TD trajectory: ``runs * (B * H + td_steps + 1) * n * T``
    over the training time (no exact metrics, no checkpoints; the linear utility of the instance's
    rewards), after a one-iteration warm-up run. ``td_steps`` defaults to ``H``.
    """
    from netmarl_verify.envs import random_khop
    from netmarl_verify.solvers.exact import LinearUtility

    inst = random_khop(int(n), kappa=int(kappa), rng=rng)
    utils = [LinearUtility(r) for r in inst.local_rewards]
    kw = dict(B=B, H=H, eta_theta=0.1, oracle="td", td_steps=td_steps, runs=runs, rng=rng, checkpoints=[],
              exact_metrics=())
    run_shadow_pg(inst, utils, int(kappa), T=1, **kw)  # warm-up (first allocations, caches)
    res = run_shadow_pg(inst, utils, int(kappa), T=T, **kw)
    return float(res.agent_steps_per_second)
