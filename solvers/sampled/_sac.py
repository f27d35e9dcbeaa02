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
* **Observation sets.** The policies are :class:`~envs.LocalSoftmaxPolicy`, and the observation
  sets :math:`O_i` (here :math:`\{i\}`) come from that class, i.e. from envs. The actor
  (:class:`~netmarl_verify.solvers.sampled._actor.SoftmaxActor`) reads its rows through
  :func:`~envs.observed_rows`. Neither this module nor the actor hard-codes which agents a policy
  observes. An ``initial_logits`` policy that observes more than its own state is refused with
  :class:`NotImplementedError` (κ-hop policies, ying2023: issue 11).
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

from dataclasses import dataclass, field

import numpy as np

from netmarl_verify.envs import LocalSoftmaxPolicy

from ._actor import SoftmaxActor, _check_initial_logits, observation_sets
from ._env import _env_structure
from ._runs import (EXACT_METRICS, ExactMetrics, RunResult, Stopwatch, TraceRecorder, _check_checkpoints,
                    _check_initial_states, _check_int, _check_step_output, agent_steps_per_second, seeded_generator,
                    uniform_states)
from ._schedules import DEFAULT_ALPHA, DEFAULT_ETA, _as_schedule, assumption3
from ._tables import TABLE_MODES, TruncatedTables, _Layout, resolve_table_mode

__all__ = ["scalable_actor_critic", "frozen_policy_critic", "SACResult", "SACState"]

TRACE_COLUMNS = ("iteration", "run", "window", "avg_reward", "mu_hat", "alpha", "eta", "gamma_rescale")


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
    _tables: object = field(default=None, repr=False)

    def policy(self, run):
        """The :class:`~envs.LocalSoftmaxPolicy` of run ``run`` at this iteration."""
        from netmarl_verify.envs import LocalSoftmaxPolicy

        return LocalSoftmaxPolicy([t[run] for t in self.logits])

    def table(self, run, agent):
        """:math:`\\hat Q_i^t` of one run as a dense copy (dense or sparse mode)."""
        return self._tables.dense_table(run, agent)


@dataclass
class SACResult(RunResult):
    """Result of :func:`scalable_actor_critic`: a :class:`RunResult` with the learned parameters.

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
    assumption3 : tuple
        ``(holds, reason)`` from :func:`assumption3`.
    seed, settings, elapsed, agent_steps_per_second
        As in :class:`RunResult`: ``seed`` is the :class:`numpy.random.SeedSequence` entropy (int)
        when ``rng`` was a seed or None, the generator's initial ``bit_generator.state`` when a
        Generator was passed; ``settings`` has every argument that determines the run (batch,
        iterations, step sizes, rescale, actor, ...) and ``metrics_seconds`` (time at checkpoints).
    """

    logits: list
    mu: np.ndarray
    tables: list | None
    sparse_table: object
    kappa: int
    neighbourhoods: tuple
    assumption3: tuple
    _layout: object = field(default=None, repr=False)

    def policy(self, run):
        """Final :class:`~envs.LocalSoftmaxPolicy` of run ``run``."""
        from netmarl_verify.envs import LocalSoftmaxPolicy

        return LocalSoftmaxPolicy([t[run] for t in self.logits])

    def table(self, run, agent):
        """Final :math:`\\hat Q_i` of one run as a dense array (dense or sparse mode)."""
        return self._layout.dense_table(self.tables, self.sparse_table, run, agent)


# ---------------------------------------------------------------------------- input validation
@dataclass(frozen=True)
class _SACInputs:
    """The arguments of :func:`scalable_actor_critic`, validated and normalised by :func:`_sac_iv`."""

    n: int
    S: tuple
    A: tuple
    hoods: list
    observed: tuple
    kappa: int
    T: int
    B: int
    theta0: list
    alpha: object
    eta: object
    checkpoints: list
    exact_metrics: tuple
    initial_states: np.ndarray | None


def _sac_iv(env, kappa, n_iterations, batch, initial_logits, alpha, eta, checkpoints, callback, exact_mdp,
            exact_metrics, initial_states, table_mode):
    """Validate and normalise the arguments of :func:`scalable_actor_critic` (errors name the argument)."""
    kappa = _check_int(kappa, "kappa", 0)
    T = _check_int(n_iterations, "n_iterations", 0)
    B = _check_int(batch, "batch", 1)
    n, S, A, hoods = _env_structure(env, kappa)
    observed = _observed_sets(initial_logits, n, S, A)
    if table_mode not in TABLE_MODES:
        raise ValueError(f"`table_mode` must be one of {TABLE_MODES}, got {table_mode!r}")
    alpha = _as_schedule(DEFAULT_ALPHA if alpha is None else alpha, "alpha")
    eta = _as_schedule(DEFAULT_ETA if eta is None else eta, "eta")
    exact_metrics = tuple(exact_metrics)
    for m in exact_metrics:
        if m not in EXACT_METRICS:
            raise ValueError(f"`exact_metrics` entries must be in {EXACT_METRICS}, got {m!r}")
    if exact_mdp is not None:
        if (getattr(exact_mdp, "n", None) != n or tuple(exact_mdp.state_sizes) != S
                or tuple(exact_mdp.action_sizes) != A):
            raise ValueError("`exact_mdp` must have the same agents and local sizes as `env`")
    checkpoints = _check_checkpoints(checkpoints, T)
    if callback is not None and not callable(callback):
        raise TypeError("`callback` must be callable")
    theta0 = _check_initial_logits(initial_logits, B, n, S, A, observed)
    initial_states = _check_initial_states(initial_states, B, n, S)
    return _SACInputs(n, S, A, hoods, observed, kappa, T, B, theta0, alpha, eta, checkpoints, exact_metrics,
                      initial_states)


def _observed_sets(initial_logits, n, S, A):
    """The observation sets of the policies Alg. 1 learns, as envs declares them.

    The learned policies are :class:`~envs.LocalSoftmaxPolicy`, and the sets are that class's
    ``observed(i)``. An ``initial_logits`` policy that declares other sets is refused.

    Raises
    ------
    NotImplementedError
        ``initial_logits`` is a policy whose agent ``i`` observes other agents' states (κ-hop
        policies: issue 11).
    """
    learned = observation_sets(LocalSoftmaxPolicy([np.zeros((S[i], A[i])) for i in range(n)]), n)
    if not callable(getattr(initial_logits, "observed", None)):
        return learned
    given = observation_sets(initial_logits, n)
    for i, (o, want) in enumerate(zip(given, learned)):
        if o != want:
            raise NotImplementedError(
                f"scalable_actor_critic learns LocalSoftmaxPolicy policies, whose agent {i} observes {want}; "
                f"`initial_logits` ({type(initial_logits).__name__}) has agent {i} observe {o}. Policies that "
                "observe other agents' states come with the kappa-hop policies of issue 11")
    return learned


# ---------------------------------------------------------------------------- the algorithm
def scalable_actor_critic(env, kappa, n_iterations, *, batch=1, initial_logits=None, alpha=None, eta=None,
                          rescale=True, actor=True, rng=None, checkpoints=None, callback=None, exact_mdp=None,
                          exact_metrics=EXACT_METRICS, initial_states=None, table_mode="dense", max_bytes=None):
    r"""Run qu2020 Alg. 1 (Scalable Actor-Critic) for ``batch`` independent runs at once.

    Parameters
    ----------
    env : object
        ``n``, ``state_sizes``, ``action_sizes``, ``kappa_hop(i, k)`` (e.g. from
        :class:`~envs.AgentGraph`) and ``step(states, actions, rng) -> (next_states, rewards)``, both
        of shape (B, n), where the rewards are the local :math:`r_i(s(t), a(t))` at the current pair
        (e.g. :class:`~envs.NetworkedMDP`, :class:`~envs.WirelessNetwork`).
    kappa : int >= 0
        Truncation radius :math:`\kappa`.
    n_iterations : int >= 0
        :math:`T`: iterations ``t = 0 .. T-1``.
    batch : int >= 1
        :math:`B` independent runs; every array has a leading run axis.
    initial_logits : LocalSoftmaxPolicy or sequence of ndarray, optional
        :math:`\theta_i(0)`, each of shape (S_i, A_i) (shared by all runs) or (B, S_i, A_i); zeros
        by default. A policy object must observe what :class:`~envs.LocalSoftmaxPolicy` observes.
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
        Invalid arguments (named); an ``env`` without ``kappa_hop`` (TypeError naming it).
    NotImplementedError
        An ``initial_logits`` policy whose agents observe more than their own state (κ-hop
        policies: issue 11).

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
    iv = _sac_iv(env, kappa, n_iterations, batch, initial_logits, alpha, eta, checkpoints, callback, exact_mdp,
                 exact_metrics, initial_states, table_mode)
    n, S, A, hoods, kappa, T, B, alpha, eta = iv.n, iv.S, iv.A, iv.hoods, iv.kappa, iv.T, iv.B, iv.alpha, iv.eta

    # ---------------- seeding: one generator drives the batch; its seed is recorded
    rng, seed = seeded_generator(rng)

    # ---------------- parameters: theta (actor), Q-hat (critic tables), mu-hat (average rewards)
    layout = _Layout(n, S, A, hoods, B)
    mode = resolve_table_mode(layout, table_mode, kappa, max_bytes)  # refuses before allocating
    pi = SoftmaxActor(iv.theta0, S, A, iv.observed)  # observation sets from envs (_observed_sets)
    use_gamma = bool(rescale and actor)
    Q = TruncatedTables(layout, mode, track_max=use_gamma)  # exact max_j ||Q_j||_inf per run, for Gamma
    mu = np.zeros((B, n))
    membership = np.zeros((n, n))
    for i, N in enumerate(hoods):
        membership[i, list(N)] = 1.0
    actor_matrix = membership.T / n  # G = q_cur @ actor_matrix: G[b, i] = (1/n) sum_{j in N_i} q[b, j]

    # ---------------- trace: exact metrics and the callback at checkpoints
    exact = ExactMetrics(exact_mdp, iv.exact_metrics, kappa) if exact_mdp is not None and iv.exact_metrics else None
    trace = TraceRecorder(B, iv.checkpoints, callback, exact_metrics=exact)
    ckpt = dict(trace=trace, pi=pi, Q=Q, mu=mu, hoods=hoods, alpha=alpha, eta=eta, actor=actor, use_gamma=use_gamma)

    # ---------------- start: s(0), a(0) ~ zeta^theta(0)(. | s(0))
    s = uniform_states(rng, B, S) if iv.initial_states is None else iv.initial_states
    a = pi.sample(s, rng)
    iz = layout.keys(s, a)  # flat keys of z_{N_i}(t); == layout.base at the dummy pair

    clock = Stopwatch()
    clock.start()
    for t in range(T):
        if trace.due(t):
            with clock.paused():
                _checkpoint(t, **ckpt)
        # line 3-4: reward at z(t), next state, next action from the current policy theta(t)
        s1, r = env.step(s, a, rng)
        if t == 0:
            s1, r = _check_step_output(s1, r, B, n, S)
        a1 = pi.sample(s1, rng)
        iz1 = layout.keys(s1, a1)
        at = float(alpha(t))
        # critic reads (Q^t at z(t) and z(t+1)) before any write
        q_cur = Q.get(iz)
        q_nxt = Q.get(iz1)
        # line 7-8 (actor) uses Q^t and theta(t): before the critic writes
        if actor:
            beta = float(eta(t)) / (1.0 + Q.qmax) if use_gamma else np.full(B, float(eta(t)))
            G = q_cur @ actor_matrix  # (B, n)
            pi.score_step(s, a, beta[:, None] * G)
        # line 6: TD update with mu^t; the dummy entry (local index 0) stays 0
        is_dummy = iz == layout.base
        new = q_cur + at * (r - mu + q_nxt - q_cur)
        new[is_dummy] = 0.0
        Q.put(iz, new, skip=is_dummy)
        # line 5
        mu += at * (r - mu)
        trace.add_reward(r.mean(axis=1))
        s, a, iz = s1, a1, iz1
    clock.stop()
    if trace.due(T):
        _checkpoint(T, **ckpt)

    # ---------------- result
    settings = dict(kappa=kappa, n_iterations=T, batch=B, alpha=alpha, eta=eta, rescale=bool(rescale),
                    actor=bool(actor), table_mode=mode, checkpoints=list(iv.checkpoints), dummy="all-zero inside pair",
                    metrics_seconds=trace.seconds)
    return SACResult(
        logits=[t.copy() for t in pi.logits()],
        mu=mu,
        tables=[t.copy() for t in Q.views()] if mode == "dense" else None,
        sparse_table=Q.sparse,
        trace=trace.frame(TRACE_COLUMNS),
        kappa=kappa,
        neighbourhoods=tuple(hoods),
        seed=seed,
        settings=settings,
        assumption3=assumption3(alpha, eta) if actor else (None, "actor off"),
        elapsed=clock.elapsed,
        agent_steps_per_second=agent_steps_per_second(B, n, T, clock.elapsed),
        _layout=layout,
    )


def _checkpoint(t, *, trace, pi, Q, mu, hoods, alpha, eta, actor, use_gamma):
    """Record the trace rows of iteration ``t`` (the state after ``t`` iterations)."""
    B = mu.shape[0]
    columns = {
        "mu_hat": mu.mean(axis=1),
        "alpha": np.full(B, float(alpha(t))),
        "eta": np.full(B, float(eta(t)) if actor else 0.0),
        "gamma_rescale": 1.0 / (1.0 + Q.qmax) if use_gamma else np.ones(B),
    }
    if Q.sparse is not None:
        columns["revisit_rate"] = np.full(B, Q.revisit_rate)
    trace.record(t, SACState(t, pi.logits(), mu, Q.views(), tuple(hoods), _tables=Q), columns)


def frozen_policy_critic(env, policy, kappa, n_iterations, **kwargs):
    """The critic of Alg. 1 alone (lines 3-6) under a frozen policy: ``actor=False``.

    ``policy`` is a :class:`~envs.LocalSoftmaxPolicy` or a sequence of logits; every other keyword
    is passed to :func:`scalable_actor_critic`. Its tables converge to
    :func:`netmarl_verify.solvers.exact.critic_fixed_point` (qu2020 Theorem 3(b) with :math:`\\eta = 0`).
    """
    if "actor" in kwargs:
        raise TypeError("frozen_policy_critic always has actor=False")
    return scalable_actor_critic(env, kappa, n_iterations, initial_logits=policy, actor=False, **kwargs)
