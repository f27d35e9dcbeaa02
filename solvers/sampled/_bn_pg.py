r"""Sample-based policy-gradient estimate for Bayesian-network policies (an extension: **not in chen2024**).

chen2024 has no sampled algorithm (guide ``shared/claims/chen2024.md`` §3); this module adds the
standard unbiased Monte-Carlo estimate of the gradient of Lemma 1 so that a sampled BN policy gradient
can be checked against the exact one (:func:`~netmarl_verify.solvers.exact.bn_gradient`).

Target
------
chen2024 Lemma 1 (proof A.1, via [7] Lemma 5.1), with the BN softmax policy of eq. (1),
:math:`\pi_\theta(a|s)=\prod_i\pi^i_{\theta^i}(a^i|s,a^{P^i})`:

.. math::
   \frac{\partial L_\lambda}{\partial\theta^i_{s,c,b}}
   = \frac{1}{1-\gamma}\,d(s)\,\pi(a^{P^i}=c|s)\,\pi^i(b|s,c)\,A^i_\theta(s,c,b)
   + \frac{\lambda}{|S||\mathcal A^{P^i}|}\Big(\frac{1}{|\mathcal A^i|}-\pi^i(b|s,c)\Big),

:math:`A^i=Q_\theta(s,a^{P^i_+})-Q_\theta(s,a^{P^i})` with the *Bayesian* conditionals of §3. Because
:math:`\pi(c|s)\pi^i(b|s,c)Q(s,a^{P^i_+}=(c,b))=\sum_{a\supseteq(c,b)}\pi(a|s)Q(s,a)`, the value term is

.. math::
   \frac{1}{1-\gamma}\,\mathbb E_{s\sim\tilde d,\ a\sim\pi(\cdot|s)}
   \Big[Q_\theta(s,a)\,\mathbb 1\{a^{P^i}=c,\ s\text{ row}\}\big(\mathbb 1\{a^i=b\}-\pi^i(b|s,c)\big)\Big]
   = \frac{1}{1-\gamma}\,\mathbb E\big[Q_\theta(s,a)\,\nabla_{\theta^i}\log\pi^i(a^i|s,a^{P^i})\big],

i.e. the joint action drawn from the joint policy (ancestral sampling), the score of agent i's own
factor at the sampled parents — no conditional is ever formed, and the parents are never clamped.

Normalisation (``reading``)
---------------------------
``reading="normalized"`` (default) targets the printed formula with :math:`d=\tilde d=(1-\gamma)d_\mu^\pi`
(the normalised visitation, sums to 1), which **is** the exact gradient of :math:`L_\lambda`: this is
:func:`~netmarl_verify.solvers.exact.bn_gradient`'s default. ``reading="unnormalized"`` targets the formula
with chen2024 §2's unnormalised :math:`d_\mu^\pi` (sums to :math:`1/(1-\gamma)`), i.e. ``bn_gradient(...,
reading="unnormalized")``: the value term :math:`1/(1-\gamma)` times larger (the prefactor becomes
:math:`1/(1-\gamma)^2`; the same at :math:`\gamma=0`).

Estimator (geometric horizons, unbiased)
----------------------------------------
Per estimate ``k`` (all ``B`` estimates advance together; loops run over time steps and agents only):

1. :math:`s_0\sim\mu`; :math:`T\sim\mathrm{Geom}(1-\gamma)` on :math:`\{0,1,\dots\}`
   (:math:`\Pr(T=t)=(1-\gamma)\gamma^t`); roll the game forward :math:`T` steps under :math:`\pi_\theta`;
   :math:`s=s_T` is then distributed as :math:`\tilde d_\mu^\pi` exactly.
2. :math:`a\sim\pi_\theta(\cdot|s)` by ancestral sampling in the DAG's topological order.
3. :math:`\hat Q=\sum_{k=0}^{K}r(s_k,a_k)` from :math:`(s_0,a_0)=(s,a)` along a fresh rollout with an
   independent :math:`K\sim\mathrm{Geom}(1-\gamma)` (:math:`\Pr(K\ge k)=\gamma^k`, so
   :math:`\mathbb E[\hat Q|s,a]=\sum_k\gamma^k\mathbb E[r_k]=Q_\theta(s,a)`): an undiscounted sum over a random
   horizon, no truncation, **no bias**.
4. :math:`\hat g^i=\frac{c}{1-\gamma}\hat Q\,\nabla_{\theta^i}\log\pi^i(a^i|s,a^{P^i})+\text{barrier}^i`, with
   :math:`c=1` (``"normalized"``) or :math:`c=1/(1-\gamma)` (``"unnormalized"``); the barrier term of
   Lemma 1 is deterministic and added **exactly** (the same arithmetic as ``bn_gradient``).

Hence :math:`\mathbb E[\hat g]=` ``bn_gradient(game, policy, lam, reading=reading).flat`` exactly; the variance is
finite (:math:`|\hat Q|\le r_{\max}(K+1)`, :math:`\mathbb E[(K+1)^2]<\infty`). This is the random-horizon
construction of the RPG estimator of Zhang, Koppel, Zhu & Başar (2020), in its plain form
(undiscounted sum over a :math:`\mathrm{Geom}(1-\gamma)` horizon).

Broken variants (for tests that the statistical check has power)
----------------------------------------------------------------
``conditional="intervention"``: for each agent i, the joint action used for :math:`\hat Q` keeps
:math:`a^{P^i_+}` and redraws every other agent from its own factor in topological order (its
non-parent ancestors from their priors: an *intervention* :math:`do(a^{P^i_+})` instead of the Bayes
conditional), with a fresh :math:`\hat Q` rollout per agent. Its mean is ``bn_gradient(...,
conditional="intervention")``, not the gradient, on DAGs where some agent has a non-parent ancestor
(e.g. the chain 0 → 1 → 2). ``horizon_factor=False`` drops the :math:`1/(1-\gamma)` of Lemma 1 (mean
:math:`(1-\gamma)` times the value term).

Randomness
----------
Only through one :class:`numpy.random.Generator` (``rng``: an int seed, a Generator, a SeedSequence or
None, see :func:`~netmarl_verify.envs.as_generator`); the same seed gives bit-identical estimates.
Draw order: ``T = geometric(1-γ, B) - 1``; ``K = geometric(1-γ, B) - 1``; ``random(B)`` for
:math:`s_0`; then per step of the state rollout ``random((m, N))`` (actions) and ``random(m)`` (next
state) for the ``m`` estimates still moving; ``random((B, N))`` for :math:`a`; then the :math:`\hat Q`
rollout: per step ``random(m)`` (next state) and ``random((m, N))`` (next actions). The intervention
variant replaces that single rollout by, per agent i in order: ``random((B, N))`` (the redrawn agents), for
i >= 1 a fresh ``geometric(1-γ, B)`` (agent 0 uses ``K``), and its own rollout.

References
----------
chen2024: D. Chen et al., "Convergence Rates of Bayesian Network Policy Gradient for Cooperative MARL",
§2 (:math:`d_\mu^\pi`, unnormalised), §3 (eq. (1), Bayes conditionals), §4 Lemma 1 and eqs. (2)-(3), App. A.1.
K. Zhang, A. Koppel, H. Zhu, T. Başar, "Global convergence of policy gradient methods to (almost) locally
optimal policies", SIAM J. Control Optim. 58(6), 2020 (random-horizon policy gradient).
"""

from dataclasses import dataclass, field

import numpy as np

from netmarl_verify.envs import as_generator, check_memory, sample_categorical
from netmarl_verify.envs._bn_games import BNSoftmaxPolicy, CooperativeMarkovGame

__all__ = ["BNPGEstimate", "bn_pg_estimate"]


@dataclass
class BNPGEstimate:
    r"""``B`` independent sample-based estimates of chen2024 Lemma 1's gradient (:func:`bn_pg_estimate`).

    Attributes
    ----------
    samples : ndarray, shape (B, n_params)
        One flat gradient estimate per row, in :attr:`BNSoftmaxPolicy.flat` order (agent by agent, each in
        C order of ``(s, config, a^i)``); value part + the exact barrier part.
    barrier : ndarray, shape (n_params,)
        Lemma 1's log-barrier term (deterministic, exact), included in every row of `samples`.
    q_hat : ndarray, shape (B,) or (N, B)
        The :math:`\hat Q` of each estimate (one row per agent for ``conditional="intervention"``).
    states : ndarray of int, shape (B,)
        :math:`s\sim\tilde d_\mu^\pi`.
    actions : ndarray of int, shape (B, N)
        :math:`a\sim\pi(\cdot|s)`, local actions.
    horizons : ndarray of int, shape (B,)
        :math:`T`, the number of steps taken to draw `states`.
    reading, conditional : str
    horizon_factor : bool
    policy : BNSoftmaxPolicy
        The policy estimated at (its :meth:`~BNSoftmaxPolicy.split` turns a flat vector into blocks).

    Examples
    --------
    >>> from netmarl_verify.envs._bn_games import bn_game
    >>> from netmarl_verify.solvers.sampled._bn_pg import bn_pg_estimate
    >>> inst = bn_game("coord2", dag="chain")
    >>> est = bn_pg_estimate(inst.game, inst.policy(), 0.0, 8, rng=0)
    >>> est.samples.shape, est.mean.shape, len(est.per_agent_mean())
    ((8, 6), (6,), 2)
    """

    samples: np.ndarray = field(repr=False)
    barrier: np.ndarray = field(repr=False)
    q_hat: np.ndarray = field(repr=False)
    states: np.ndarray = field(repr=False)
    actions: np.ndarray = field(repr=False)
    horizons: np.ndarray = field(repr=False)
    reading: str
    conditional: str
    horizon_factor: bool
    policy: BNSoftmaxPolicy = field(repr=False)

    @property
    def n_samples(self):
        """``B``."""
        return int(self.samples.shape[0])

    @property
    def mean(self):
        """The average of the ``B`` estimates, shape (n_params,)."""
        return self.samples.mean(axis=0)

    @property
    def std(self):
        """Per-coordinate sample standard deviation of one estimate (``ddof=1``; NaN for ``B = 1``)."""
        if self.n_samples < 2:
            return np.full(self.samples.shape[1], np.nan)
        return self.samples.std(axis=0, ddof=1)

    @property
    def stderr(self):
        """Standard error of :attr:`mean`, ``std / sqrt(B)``."""
        return self.std / np.sqrt(self.n_samples)

    def per_agent_mean(self):
        """:attr:`mean` as per-agent arrays of shape ``(nS, |A^{P^i}|, |A^i|)`` (like ``BNGradient.per_agent``)."""
        return self.policy.split(self.mean)


# ----------------------------------------------------------------------------- sampling helpers
class _Sampler:
    """Batched ancestral sampling of joint actions and of next states for one (game, policy)."""

    def __init__(self, game, policy):
        self.game, self.dag = game, policy.dag
        self.sizes = game.action_sizes
        self.tables = policy.local_tables()
        self.cdfs = [np.cumsum(t, axis=-1) for t in self.tables]
        self.psizes = [tuple(self.sizes[j] for j in p) for p in self.dag.parents]
        check_memory(8.0 * game.P.size, "the cumulative transition kernel")
        self.cumP = np.cumsum(game.P, axis=2)
        self.mu_cdf = np.cumsum(game.mu)

    def config(self, i, actions):
        p = self.dag.parents[i]
        if not p:
            return np.zeros(actions.shape[0], dtype=np.int64)
        return np.ravel_multi_index(tuple(actions[:, j] for j in p), self.psizes[i])

    def actions(self, states, u, out=None, keep=()):
        """Ancestral sampling at `states` with uniforms ``u`` (m, N); agents in `keep` keep ``out``'s values."""
        m = states.shape[0]
        out = np.zeros((m, len(self.sizes)), dtype=np.int64) if out is None else out.copy()
        for i in self.dag.order:
            if i in keep:
                continue
            cdf = self.cdfs[i][states, self.config(i, out)]
            out[:, i] = sample_categorical(cdf, u[:, i])
        return out

    def joint_index(self, actions):
        return np.ravel_multi_index(tuple(actions.T), self.sizes)

    def next_states(self, states, joint, u):
        return sample_categorical(self.cumP[states, joint], u)

    def initial_states(self, u):
        return sample_categorical(np.broadcast_to(self.mu_cdf, (u.shape[0], self.mu_cdf.shape[0])), u)


def _visitation_states(sampler, T, rng):
    """:math:`s_T` with :math:`s_0\\sim\\mu`, T steps under the policy (``s ~ d_tilde`` for geometric T)."""
    B, N = T.shape[0], len(sampler.sizes)
    s = sampler.initial_states(rng.random(B))
    for t in range(int(T.max(initial=0))):
        move = np.flatnonzero(T > t)
        a = sampler.actions(s[move], rng.random((move.size, N)))
        s[move] = sampler.next_states(s[move], sampler.joint_index(a), rng.random(move.size))
    return s


def _q_rollout(sampler, s, a, K, rng):
    r""":math:`\hat Q=\sum_{k\le K}r(s_k,a_k)` from ``(s, a)`` (local actions), ``K`` extra steps each."""
    R, N = sampler.game.R, len(sampler.sizes)
    s, a = s.copy(), a.copy()
    joint = sampler.joint_index(a)
    q = R[s, joint].astype(float)
    for t in range(int(K.max(initial=0))):
        move = np.flatnonzero(K > t)
        sm = sampler.next_states(s[move], joint[move], rng.random(move.size))
        am = sampler.actions(sm, rng.random((move.size, N)))
        jm = sampler.joint_index(am)
        s[move], joint[move] = sm, jm
        q[move] += R[sm, jm]
    return q


def _check_int(x, name, lo):
    if isinstance(x, (bool, np.bool_)) or not isinstance(x, (int, np.integer)) or int(x) < lo:
        raise ValueError(f"`{name}` must be an int >= {lo}, got {x!r}")
    return int(x)


# ----------------------------------------------------------------------------- the estimator
def bn_pg_estimate(game, policy, lam, n_samples, *, rng=None, reading="normalized", conditional="bayes",
                   horizon_factor=True):
    r"""``B`` independent unbiased estimates of chen2024 Lemma 1's gradient of :math:`L_\lambda` (module docstring).

    Not in chen2024 (the paper has exact gradients only): the score-function estimate
    :math:`\frac{1}{1-\gamma}\hat Q(s,a)\nabla_{\theta^i}\log\pi^i(a^i|s,a^{P^i})` with :math:`s\sim\tilde d_\mu^\pi`
    drawn at a geometric time, :math:`a\sim\pi_\theta(\cdot|s)` by ancestral sampling and :math:`\hat Q` the reward sum
    over an independent geometric horizon, plus Lemma 1's log-barrier term computed exactly.

    Parameters
    ----------
    game : CooperativeMarkovGame
    policy : BNSoftmaxPolicy
        On a game with the same states and action sizes as `game`.
    lam : float
        :math:`\lambda\ge0` of the log barrier (chen2024 §4.1).
    n_samples : int
        ``B >= 1`` independent estimates (rows of :attr:`BNPGEstimate.samples`).
    rng : int, numpy.random.Generator, numpy.random.SeedSequence or None
        The only source of randomness (:func:`~netmarl_verify.envs.as_generator`).
    reading : {"normalized", "unnormalized"}
        Which :math:`d` Lemma 1's :math:`\frac1{1-\gamma}d(s,a^{P^i})` uses, as in
        :func:`~netmarl_verify.solvers.exact.bn_gradient`: :math:`\tilde d` (the exact gradient; default) or §2's
        unnormalised :math:`d` (value term :math:`1/(1-\gamma)` times larger).
    conditional : {"bayes", "intervention"}
        ``"intervention"`` is a deliberately wrong estimate (clamped :math:`a^{P^i_+}`, the other agents redrawn
        from their own factors); its mean is ``bn_gradient(..., conditional="intervention")``.
    horizon_factor : bool
        False drops Lemma 1's :math:`1/(1-\gamma)` (a deliberately wrong estimate).

    Returns
    -------
    BNPGEstimate
        Its mean over the ``B`` rows has expectation ``bn_gradient(game, policy, lam, reading=reading,
        conditional=conditional).flat`` (times :math:`1-\gamma` on the value part if not `horizon_factor`).

    Raises
    ------
    TypeError
        `game` or `policy` of the wrong type.
    ValueError
        A policy built on a different game, ``lam`` negative or not finite, ``n_samples`` not an int >= 1,
        an unknown `reading` or `conditional`.
    netmarl_verify.envs.MemoryBudgetError
        When the ``(B, n_params)`` sample array or the cumulative kernel would not fit the memory budget.

    References
    ----------
    chen2024 Lemma 1 (App. A.1), §2 (:math:`d_\mu^\pi`), §3 (eq. (1)); Zhang, Koppel, Zhu & Başar (2020), random-horizon PG.

    Examples
    --------
    >>> import numpy as np
    >>> from netmarl_verify.envs._bn_games import bn_game
    >>> from netmarl_verify.solvers.exact import bn_gradient
    >>> from netmarl_verify.solvers.sampled._bn_pg import bn_pg_estimate
    >>> inst = bn_game("random", seed=0, S=2, N=2, gamma=0.5, dag="chain")
    >>> pol = inst.policy()
    >>> est = bn_pg_estimate(inst.game, pol, 0.1, 20_000, rng=0)
    >>> exact = bn_gradient(inst.game, pol, 0.1).flat
    >>> bool(np.all(np.abs(est.mean - exact) <= 5 * est.stderr))
    True
    """
    if not isinstance(game, CooperativeMarkovGame):
        raise TypeError(f"`game` must be a CooperativeMarkovGame, got {type(game).__name__}")
    if not isinstance(policy, BNSoftmaxPolicy):
        raise TypeError(f"`policy` must be a BNSoftmaxPolicy, got {type(policy).__name__}")
    if policy.game is not game and (policy.game.n_states != game.n_states
                                    or policy.game.action_sizes != game.action_sizes):
        raise ValueError(f"`policy` was built for a game with {policy.game.n_states} states and action sizes "
                         f"{policy.game.action_sizes}, `game` has {game.n_states} and {game.action_sizes}")
    if isinstance(lam, (bool, np.bool_)) or not isinstance(lam, (int, float, np.integer, np.floating)) \
            or not np.isfinite(lam) or lam < 0:
        raise ValueError(f"`lam` must be a finite float >= 0, got {lam!r}")
    B = _check_int(n_samples, "n_samples", 1)
    if reading not in ("normalized", "unnormalized"):
        raise ValueError(f"`reading` must be 'normalized' or 'unnormalized', got {reading!r}")
    if conditional not in ("bayes", "intervention"):
        raise ValueError(f"`conditional` must be 'bayes' or 'intervention', got {conditional!r}")
    lam = float(lam)
    rng = as_generator(rng)
    n_params = policy.size
    check_memory(8.0 * B * n_params, f"{B} per-sample gradient estimates of {n_params} parameters")

    g, N, nS = game.gamma, game.n_agents, game.n_states
    sampler = _Sampler(game, policy)
    T = rng.geometric(1.0 - g, size=B) - 1  # Pr(T = t) = (1 - g) g^t: s_T ~ d_tilde
    K = rng.geometric(1.0 - g, size=B) - 1  # Pr(K >= k) = g^k: E[Q_hat | s, a] = Q(s, a)
    s = _visitation_states(sampler, T, rng)
    a = sampler.actions(s, rng.random((B, N)))
    if conditional == "bayes":
        q = _q_rollout(sampler, s, a, K, rng)
        qs = [q] * N
    else:
        qs = []
        for i in range(N):
            keep = set(policy.dag.parents[i]) | {i}
            a_do = sampler.actions(s, rng.random((B, N)), out=a, keep=keep)
            Ki = K if i == 0 else rng.geometric(1.0 - g, size=B) - 1
            qs.append(_q_rollout(sampler, s, a_do, Ki, rng))
        q = np.stack(qs)

    coef = (1.0 / (1.0 - g) if horizon_factor else 1.0) * (1.0 / (1.0 - g) if reading == "unnormalized" else 1.0)
    samples = np.empty((B, n_params))
    barrier = np.empty(n_params)
    rows = np.arange(B)[:, None]
    offset = 0
    for i, (pi_i, shape) in enumerate(zip(sampler.tables, policy.shapes)):
        _, nP, Ai = shape
        size = nS * nP * Ai
        bpart = lam / (nS * nP) * (1.0 / Ai - pi_i)  # chen2024 Lemma 1, second term (as bn_gradient)
        barrier[offset:offset + size] = bpart.reshape(-1)
        block = samples[:, offset:offset + size]
        block[:] = bpart.reshape(1, -1)
        c = sampler.config(i, a)
        base = (s * nP + c) * Ai
        w = coef * qs[i]
        cols = base[:, None] + np.arange(Ai)[None, :]
        # score of pi^i at (s, c): e_{a^i} - pi^i(.|s, c); one (s, c) row per sample, no duplicates
        block[rows, cols] += -w[:, None] * pi_i[s, c]
        block[np.arange(B), base + a[:, i]] += w
        offset += size
    return BNPGEstimate(samples=samples, barrier=barrier, q_hat=q, states=s, actions=a, horizons=T,
                        reading=reading, conditional=conditional, horizon_factor=bool(horizon_factor), policy=policy)
