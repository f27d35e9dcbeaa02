r"""The critic of qu2020's Scalable Actor-Critic: its exact fixed point, and Theorem 3's constants.

Critic (qu2020 Alg. 1, lines 5-6; App. C eq. (15)-(16)). Fix agent :math:`i`, :math:`N = N_i^\kappa`
and a dummy pair :math:`\tilde z_N \in Z_N` with :math:`\hat Q(\tilde z_N) \equiv 0`. With
:math:`e_x` the unit vector of :math:`x \in \hat Z_N = Z_N \setminus \{\tilde z_N\}` (the zero
vector for :math:`x = \tilde z_N`),

.. math::
    \hat\mu^{t+1} = \hat\mu^t + \alpha_t (r_i(z(t)) - \hat\mu^t),                              \qquad (15)

    \hat Q^{t+1} = \hat Q^t + \alpha_t\big[r_i(z(t)) - \hat\mu^t + e_{z_N(t+1)}^\top\hat Q^t
                   - e_{z_N(t)}^\top\hat Q^t\big] e_{z_N(t)}.                                    \qquad (16)

For a frozen policy :math:`\theta` the state-action chain :math:`z = (s, a)` has kernel
:math:`P^\theta(z, z') = P(s'|s,a)\zeta^\theta(a'|s')` and stationary law
:math:`\pi^\theta(s, a) = d(s)\zeta^\theta(a|s)`. Averaging (15)-(16) over :math:`\pi^\theta`
(Konda & Tsitsiklis 2003; qu2020 App. C.2, Lemma 10) gives :math:`\hat\mu = J_i(\theta)` and,
for every :math:`x \in \hat Z_N`,

.. math::
    \sum_{y \in Z_N} M(x, y)\hat Q(y) - \pi_N(x)\hat Q(x) + \pi_N(x)\big(\bar r_i(x) - J_i\big) = 0,
    \qquad \hat Q(\tilde z_N) = 0,                                                              \qquad (\star)

with :math:`\pi_N(x) = \Pr_\pi(z_N(t) = x)`, :math:`M(x, y) = \Pr_\pi(z_N(t) = x, z_N(t+1) = y)`
(so :math:`\sum_y M(x, y) = \pi_N(x)`) and :math:`\bar r_i(x) = E_\pi[r_i(z) \mid z_N = x]`.
In the paper's matrix notation this is :math:`0 = \Phi_i^\top D^\theta[r_i - J_i\mathbf 1 +
P^\theta\Phi_i\hat Q] - \Phi_i^\top D^\theta\Phi_i\hat Q` (qu2020 eq. (24)): the row of
:math:`\Phi_i^\top D^\theta P^\theta \Phi_i` indexed by :math:`x` is :math:`M(x, \cdot)` and
:math:`\Phi_i^\top D^\theta\Phi_i = \operatorname{diag}(\pi_N)`. Dividing :math:`(\star)` by
:math:`\pi_N(x)` gives the fixed-point form :math:`\hat Q = \Pi_i^\theta\,\mathcal T_i^\theta\,
\tilde\Phi_i\hat Q` of eq. (25a) on the rows :math:`x \ne \tilde z_N` — the conditional
expectation given :math:`z_N = x` of the average-reward Bellman operator
:math:`\mathcal T_i^\theta Q = r_i - J_i\mathbf 1 + P^\theta Q`.

How :math:`M` is computed without joint actions. Let :math:`E = \bigcup_{k\in N} N_k` (the
:math:`(\kappa+1)`-hop neighbourhood), grown by the observation sets :math:`O_j`
(``policy.observed(j)``) of its agents outside :math:`N`; with local policies (:math:`O_j = \{j\}`)
nothing is added. The agents of :math:`N` must observe inside :math:`N` (else ``NotImplementedError``:
:math:`\zeta_N` would read states outside :math:`N`, κ-hop policies, issue 11). Because :math:`\zeta^\theta` is a product of local
policies, :math:`a'_{-N}` sums out of :math:`\zeta^\theta(a'|s')`, and because the next states
are independent given :math:`(s, a)`, :math:`s'_{-N}` sums out of :math:`P(s'|s,a)`:

.. math::
    M(x, y) = \sum_{s_E:\, s_N = x_s} d_E(s_E)\,\zeta_N(x_a|x_s)\,
              E_{a_{E\setminus N} \sim \zeta}\Big[\prod_{k \in N}
              P_k(y_{s,k} \mid s_{N_k}, a_k \text{ or } a_{N_k})\Big]\,\zeta_N(y_a \mid y_s),

with :math:`d_E` the stationary marginal of :math:`s_E`. The expectation over outside actions is
one tensor contraction of the local factors (:func:`numpy.einsum`); nothing of size
:math:`|A|` or :math:`|S|^2` is built.

Theorem 3(a) (qu2020 App. C). There is a scalar :math:`c_i^\theta` with

.. math:: \sqrt{E_{z\sim\pi^\theta}|\hat Q_i^\theta(z_N) + c_i^\theta - Q_i^\theta(z)|^2}
          \le \frac{c\rho^{\kappa+1}}{1-\mu_D},                                                  \qquad (13)

:math:`\mu_D = \|P^\theta - \mathbf 1(\pi^\theta)^\top\|_{D^\theta}` and
:math:`\sigma = \min_z\pi^\theta(z)` (Assumption 4). The paper's constant is
:math:`c_i^\theta = \tilde Q_i^\theta(\tilde z_N)` with :math:`\tilde Q_i^\theta` the fixed point of
:math:`g` whose :math:`\pi`-mean is zero; since :math:`E_\pi Q_i^\theta = d^\top h_i = 0` too, it
equals the least-squares constant :math:`c^* = E_\pi[Q_i^\theta(z) - \hat Q_i^\theta(z_N)]`, which
:func:`critic_approximation_error` uses.

References
----------
qu2020 Alg. 1, Assumption 4, Theorem 3, App. C.2 (eq. (15)-(16), (24)-(26), Lemma 10);
Konda & Tsitsiklis (2003); Tsitsiklis & Van Roy (1999) §4.3.
"""

import math
from dataclasses import dataclass, field

import numpy as np
import scipy.linalg as sla

from netmarl_verify.envs import NetworkedMDP
from netmarl_verify.envs._memory import check_memory
from netmarl_verify.envs._policy import observed_rows, product_table

from ._backends import CRITIC_RESIDUAL_TOL, certify_residual
from ._contract import PathCache, labels
from ._errors import SolverAccuracyError, UnidentifiedFixedPointError
from ._evaluation import evaluate_policy
from ._model import NetworkedOperator, _chunks, check_agent
from ._truncation import q_table

__all__ = [
    "critic_fixed_point",
    "CriticEquation",
    "UnidentifiedFixedPointError",
    "ergodicity_constants",
    "ErgodicityConstants",
    "critic_approximation_error",
    "CriticApproximation",
]

#: Max-norm residual of (⋆), relative to max(1, max |right side|), accepted for the direct solve
#: (:data:`._backends.CRITIC_RESIDUAL_TOL`; see :mod:`._backends` for why it differs from the
#: chain systems' 1e-8).
RESIDUAL_TOL = CRITIC_RESIDUAL_TOL


@dataclass
class CriticEquation:
    r"""The averaged critic equation :math:`(\star)` and its solution.

    Attributes
    ----------
    table : ndarray
        :math:`\hat Q_i^\theta` over the full :math:`Z_N`, shape
        ``tuple(S[j] for j in N) + tuple(A[j] for j in N)``, with ``table[dummy] == 0``.
    neighbourhood : tuple of int
        :math:`N = N_i^\kappa`, sorted.
    dummy : int
        Flat index of :math:`\tilde z_N` in the table (C order over its shape).
    M : ndarray, shape (|Z_N|, |Z_N|)
        :math:`M(x, y) = \Pr_\pi(z_N(t) = x, z_N(t+1) = y)`; flat C-order indices of the table.
    pi : ndarray, shape (|Z_N|,)
        :math:`\pi_N(x)`.
    mean_reward : ndarray, shape (|Z_N|,)
        :math:`\bar r_i(x) = E_\pi[r_i(z) \mid z_N = x]`.
    J : float
        :math:`J_i(\theta)`.
    residual : float
        Max-norm residual of :math:`(\star)` at the solution (relative, floored at 1).
    """

    table: np.ndarray = field(repr=False)
    neighbourhood: tuple
    dummy: int
    M: np.ndarray = field(repr=False)
    pi: np.ndarray = field(repr=False)
    mean_reward: np.ndarray = field(repr=False)
    J: float
    residual: float

    def equation_residual(self, table=None):
        r"""Residual vector of :math:`(\star)` at ``table`` (default: the solution), shape (|Z_N|,).

        The dummy row is set to ``table[dummy]`` (the constraint :math:`\hat Q(\tilde z_N) = 0`).
        """
        q = self.table if table is None else np.asarray(table, dtype=np.float64)
        return _equation_residual(q, self.M, self.pi, self.mean_reward, self.J, self.dummy)


def _equation_residual(table, M, pi, mean_reward, J, dummy):
    r"""Residual vector of :math:`(\star)` at ``table``, with the dummy row ``table[dummy]``."""
    q = table.reshape(-1)
    res = M @ q - pi * q + pi * (mean_reward - J)
    res[dummy] = q[dummy]
    return res


def _check_networked(mdp, policy, evaluation):
    if not isinstance(mdp, NetworkedMDP):
        raise TypeError(f"mdp must be a NetworkedMDP, got {type(mdp).__name__}")
    if evaluation is None:
        evaluation = evaluate_policy(mdp, policy, None, periodic="cesaro")
    elif evaluation.gamma is not None:
        raise ValueError(f"evaluation must be average-reward (gamma=None), got gamma={evaluation.gamma}")
    if not isinstance(evaluation.model, NetworkedOperator) or evaluation.model.mdp is not mdp:
        raise ValueError("evaluation was computed for a different model")
    return evaluation


def _dummy_index(dummy, shape):
    size = math.prod(shape)
    if dummy is None:
        return 0
    if isinstance(dummy, (int, np.integer)):
        k = int(dummy)
        if not 0 <= k < size:
            raise ValueError(f"dummy flat index must be in 0..{size - 1}, got {k}")
        return k
    d = tuple(int(x) for x in dummy)
    if len(d) != len(shape) or any(not 0 <= x < m for x, m in zip(d, shape)):
        raise ValueError(
            f"dummy must be a flat index or a tuple of {len(shape)} indices (states then actions of N) "
            f"within {shape}, got {d}"
        )
    return int(np.ravel_multi_index(d, shape))


def _averaged_equation(mdp, ev, agent, kappa, max_bytes):
    r"""Build :math:`M`, :math:`\pi_N`, :math:`\sum_{z: z_N=x}\pi(z) r_i(z)` for agent ``agent``."""
    ev.require_model_rewards("the critic's averaged equation")
    model = ev.model
    zeta = model.zeta
    N = list(mdp.kappa_hop(agent, kappa))
    reads = model.reads  # reads(k): the agents whose states agent k's policy reads
    for k in N:
        if not set(reads(k)) <= set(N):
            raise NotImplementedError(
                f"the critic of agent {agent} at kappa={kappa}: agent {k} of N reads {reads(k)}, outside N = "
                f"{tuple(N)}; zeta_N(a_N | s_N) then depends on states outside N, now and at the next step, and "
                "M would need next-state axes beyond N (kappa-hop policies: issue 11)")
    # E: the states the one-step law of z_N reads: the N_k (k in N) and what their outside agents observe
    E0 = {j for k in N for j in mdp.neighbourhoods[k]}
    E = sorted(E0 | {x for j in E0 if j not in N for x in reads(j)})
    out = [j for j in E if j not in N]
    S, A = mdp.state_sizes, mdp.action_sizes
    S_N = tuple(S[j] for j in N)
    A_N = tuple(A[j] for j in N)
    nS_N, nA_N = math.prod(S_N), math.prod(A_N)
    nZ = nS_N * nA_N
    n_out_states = math.prod(S[j] for j in out)
    check_memory(
        8.0 * (4 * nZ * nZ + 3 * nS_N * nA_N * nS_N),
        f"the averaged critic equation of agent {agent} at kappa={kappa} (|Z_N| = {nZ} pairs, "
        f"a {nZ} x {nZ} system)",
        max_bytes=max_bytes,
        hint="use a smaller kappa",
    )
    # einsum labels: batch; one action label per agent of E; one next-state label per agent of N
    bl, act_E, nxt_N = labels(len(E), len(N), agents=len(E),
                              what=f"the averaged critic equation of agent {agent} at kappa={kappa}")

    # stationary marginal of s_E, axes ordered (N..., out...)
    d_full = ev.stationary.reshape(S)
    drop = tuple(j for j in range(mdp.n) if j not in E)
    d_E = d_full.sum(axis=drop)  # axes: E sorted
    perm = [E.index(j) for j in N] + [E.index(j) for j in out]
    d_E = np.transpose(d_E, perm).reshape(nS_N, n_out_states)

    # joint inside policy zeta_N(a_N | s_N), shape (|S_N|, |A_N|)
    s_N_all = np.stack(np.unravel_index(np.arange(nS_N), S_N), axis=1) if N else np.zeros((1, 0), int)
    zeta_N = product_table([zeta[k][observed_rows([N.index(x) for x in reads(k)], s_N_all, S_N)] for k in N])

    act = dict(zip(E, act_E))
    nxt = dict(zip(N, nxt_N))
    subs_P = []
    for k in N:
        Nk = mdp.neighbourhoods[k]
        if mdp.transition_form == "local":
            subs_P.append(bl + act[k] + nxt[k])
        else:
            subs_P.append(bl + "".join(act[j] for j in Nk) + nxt[k])
    used_out = [j for j in out if any(act[j] in s for s in subs_P)]
    spec_K = ",".join([bl + act[j] for j in used_out] + subs_P) + "->" + bl + "".join(act[k] for k in N) + \
        "".join(nxt[k] for k in N)
    Ni = mdp.neighbourhoods[agent]
    if mdp.reward_form == "local":
        sub_R = bl + act[agent]
    else:
        sub_R = bl + "".join(act[j] for j in Ni)
    used_out_R = [j for j in out if act[j] in sub_R]
    spec_R = ",".join([sub_R] + [bl + act[j] for j in used_out_R]) + "->" + bl + "".join(
        act[k] for k in N if act[k] in sub_R)
    r_shape = tuple(A[k] if act[k] in sub_R else 1 for k in N)

    M_s = np.zeros((nS_N, nA_N, nS_N))  # sum over s with s_N = x_s of weight * K
    rew = np.zeros((nS_N, nA_N))
    pi = np.zeros((nS_N, nA_N))
    paths = PathCache()  # one path for all chunks: the first chunk's (key=spec_K)
    out_all = np.stack(np.unravel_index(np.arange(n_out_states), tuple(S[j] for j in out)), axis=1) \
        if out else np.zeros((1, 0), int)
    per_xs = 8.0 * n_out_states * (nA_N * nS_N * 3 + 8)
    for a0, a1 in _chunks(nS_N, per_xs):
        xs = np.arange(a0, a1)
        m = xs.size * n_out_states
        states = np.zeros((m, mdp.n), dtype=np.int64)  # only the E coordinates are meaningful
        for q, k in enumerate(N):
            states[:, k] = np.repeat(s_N_all[xs, q], n_out_states)
        for q, j in enumerate(out):
            states[:, j] = np.tile(out_all[:, q], xs.size)
        ops = [model.agent_weights(j, states) for j in used_out]  # states: the E coordinates are set
        ops += [model.gather(k, states) for k in N]
        K = paths.einsum(spec_K, *ops, key=spec_K).reshape(m, nA_N, nS_N)
        R = model.gather_reward(agent, states)
        Rv = np.einsum(spec_R, R, *[model.agent_weights(j, states) for j in used_out_R])
        Rv = np.broadcast_to(Rv.reshape((m,) + r_shape), (m,) + A_N).reshape(m, nA_N)
        w = d_E[xs].reshape(m)[:, None] * np.repeat(zeta_N[xs], n_out_states, axis=0)  # (m, |A_N|)
        shape3 = (xs.size, n_out_states)
        M_s[a0:a1] = np.einsum("xoa,xoay->xay", w.reshape(shape3 + (nA_N,)), K.reshape(shape3 + (nA_N, nS_N)))
        rew[a0:a1] = (w * Rv).reshape(shape3 + (nA_N,)).sum(axis=1)
        pi[a0:a1] = w.reshape(shape3 + (nA_N,)).sum(axis=1)
    M = (M_s[:, :, :, None] * zeta_N[None, None, :, :]).reshape(nZ, nZ)
    return tuple(N), S_N + A_N, M, pi.reshape(nZ), rew.reshape(nZ)


def critic_fixed_point(mdp, policy, agent, kappa, dummy=None, *, evaluation=None, full_output=False,
                       max_bytes=None):
    r"""Exact fixed point :math:`\hat Q_i^\theta` of the critic of qu2020 Alg. 1 for a frozen policy.

    Solves the averaged critic equation :math:`(\star)` of the module docstring (qu2020 eq. (24),
    the limit of eq. (16) by Konda & Tsitsiklis 2003, Thm 7) by one dense LU of the
    :math:`(|Z_N|-1)`-dimensional system, with a residual certificate.

    Parameters
    ----------
    mdp : NetworkedMDP
    policy : LocalSoftmaxPolicy (or any product policy with ``probabilities()``)
    agent : int
    kappa : int >= 0
    dummy : int or tuple, optional
        The dummy pair :math:`\tilde z_N`: a flat (C-order) index into the returned table, or a tuple
        of ``2 |N|`` local indices (states of ``N`` then actions of ``N``). Default: the all-zero
        inside pair (flat index 0), as in :func:`netmarl_verify.solvers.sampled.scalable_actor_critic`.
    evaluation : PolicyEvaluation, optional
        Reuse an average-reward :func:`evaluate_policy` of ``(mdp, policy)``.
    full_output : bool
        Also return the :class:`CriticEquation` (``M``, ``pi``, ... and the residual).
    max_bytes : int, optional
        Memory budget override.

    Returns
    -------
    table : ndarray
        Shape ``tuple(S[j] for j in N) + tuple(A[j] for j in N)``, ``N = mdp.kappa_hop(agent, kappa)``
        sorted ascending; ``table[dummy] == 0``.
    equation : CriticEquation
        Only with ``full_output=True``.

    Raises
    ------
    UnidentifiedFixedPointError
        Some pair :math:`x \in Z_N` has :math:`\pi_N(x) = 0` (Assumption 4(a) fails).
    MemoryBudgetError
        The :math:`|Z_N| \times |Z_N|` system would not fit.
    SolverAccuracyError
        The residual certificate fails.

    Notes
    -----
    With :math:`N = ` all agents the solution is :math:`Q_i^\theta(z) - Q_i^\theta(\tilde z)`
    (the z-chain Poisson equation pinned at the dummy); see :func:`critic_approximation_error`.

    Examples
    --------
    >>> import networkx as nx, numpy as np
    >>> from netmarl_verify.envs import LocalSoftmaxPolicy, random_networked_mdp
    >>> from netmarl_verify.solvers.exact import critic_fixed_point
    >>> mdp = random_networked_mdp(nx.path_graph(3), 2, 2, rng=0)
    >>> pol = LocalSoftmaxPolicy.random(mdp, 1)
    >>> Q, eq = critic_fixed_point(mdp, pol, 1, 0, full_output=True)
    >>> Q.shape, float(Q[0, 0]), bool(np.abs(eq.equation_residual()).max() < 1e-12)
    ((2, 2), 0.0, True)
    """
    ev = _check_networked(mdp, policy, evaluation)
    agent = check_agent(mdp, agent)
    N, shape, M, pi, rew = _averaged_equation(mdp, ev, agent, kappa, max_bytes)
    k0 = _dummy_index(dummy, shape)
    nZ = pi.size
    if pi.min() <= 0.0:
        bad = int(np.argmin(pi))
        idx = np.unravel_index(bad, shape)
        raise UnidentifiedFixedPointError(
            f"agent {agent}, kappa={kappa}: the neighbourhood pair (states of N={N}: "
            f"{tuple(int(x) for x in idx[:len(N)])}, actions: {tuple(int(x) for x in idx[len(N):])}) has "
            f"stationary probability {pi[bad]:.3g}; Assumption 4(a) (sigma > 0) fails and the critic's "
            "fixed point is not unique"
        )
    J = float(ev.J_local[agent])
    mean_reward = rew / pi
    keep = np.flatnonzero(np.arange(nZ) != k0)
    G = M[np.ix_(keep, keep)].copy()
    G[np.arange(keep.size), np.arange(keep.size)] -= pi[keep]
    rhs = -(rew[keep] - pi[keep] * J)
    q = np.zeros(nZ)
    if keep.size:
        try:
            q[keep] = sla.solve(G, rhs, check_finite=False)
        except (sla.LinAlgError, ValueError) as exc:  # pragma: no cover - guarded by pi > 0 and ergodicity
            raise SolverAccuracyError(f"agent {agent}, kappa={kappa}: the averaged critic equation is singular ({exc})")
    table = q.reshape(shape)
    res = _equation_residual(table, M, pi, mean_reward, J, k0)
    residual = float(np.abs(res).max()) / max(1.0, float(np.abs(rhs).max(initial=0.0)))
    eq = CriticEquation(table=table, neighbourhood=N, dummy=k0, M=M, pi=pi, mean_reward=mean_reward, J=J,
                        residual=residual)
    certify_residual(f"agent {agent}, kappa={kappa}: averaged critic equation", eq.residual, tol=RESIDUAL_TOL,
                     hint="is the state-action chain nearly decomposable?")
    if full_output:
        return eq.table, eq
    return eq.table


# ---------------------------------------------------------------------------- Assumption 4
@dataclass
class ErgodicityConstants:
    r"""Assumption 4's constants for one policy (qu2020 §3.2).

    Attributes
    ----------
    sigma : float
        :math:`\sigma = \min_z \pi^\theta(z)` over the state-action pairs.
    mu_D : float
        :math:`\mu_D = \|P^\theta - \mathbf 1(\pi^\theta)^\top\|_{D^\theta}`, the spectral norm of
        :math:`D^{1/2}(P - \mathbf 1\pi^\top)D^{-1/2}`. Always :math:`\le 1`; Assumption 4(b) needs
        :math:`< 1`.
    stationary : ndarray, shape (|S|, |A|)
        :math:`\pi^\theta(s, a) = d(s)\zeta(a|s)` on global indices.
    n_pairs : int
        :math:`|Z| = |S||A|`.
    """

    sigma: float
    mu_D: float
    stationary: np.ndarray = field(repr=False)
    n_pairs: int

    @property
    def holds(self):
        """Assumption 4 (a) and (b) at this policy: ``sigma > 0`` and ``mu_D < 1``."""
        return bool(self.sigma > 0 and self.mu_D < 1)


def ergodicity_constants(mdp, policy, *, evaluation=None, max_bytes=None):
    r""":math:`\sigma` and :math:`\mu_D` of qu2020 Assumption 4 on the state-action chain.

    Builds :math:`P^\theta((s,a),(s',a')) = P(s'|s,a)\zeta(a'|s')` densely (small instances only)
    and takes the largest singular value of :math:`D^{1/2}(P^\theta - \mathbf 1\pi^\top)D^{-1/2}`,
    which is the :math:`D`-weighted operator norm (:math:`\|X\|_D = \sup_v \|Xv\|_D/\|v\|_D`,
    :math:`\|v\|_D = \sqrt{v^\top D v}`).

    Parameters
    ----------
    mdp : NetworkedMDP
    policy : LocalSoftmaxPolicy
    evaluation : PolicyEvaluation, optional

    Returns
    -------
    ErgodicityConstants

    Raises
    ------
    MemoryBudgetError
        When the :math:`|Z| \times |Z|` matrix (and its SVD) would not fit.
    """
    check_memory(8.0 * 4 * (mdp.n_states * mdp.n_actions) ** 2,
                 f"the dense state-action chain ({mdp.n_states * mdp.n_actions} pairs squared)",
                 max_bytes=max_bytes, hint="Assumption 4's constants need the full state-action chain")
    ev = _check_networked(mdp, policy, evaluation)
    model = ev.model
    nS, nA = mdp.n_states, mdp.n_actions
    nZ = nS * nA
    pi_sa = model.joint_policy(max_bytes=max_bytes)  # (nS, nA)
    pi_z = (ev.stationary[:, None] * pi_sa).reshape(nZ)
    s_all = np.repeat(np.arange(nS), nA)
    a_all = np.tile(np.arange(nA), nS)
    st, ac = mdp.state_tuples(s_all), mdp.action_tuples(a_all)
    X = np.empty((nZ, nZ))
    for a, b in _chunks(nZ, 8.0 * nZ * 3):
        rows = model.pair_rows(st[a:b], ac[a:b])  # (m, nS) over s'
        X[a:b] = (rows[:, :, None] * pi_sa[None, :, :]).reshape(b - a, nZ)
    X -= pi_z[None, :]
    root = np.sqrt(pi_z)
    with np.errstate(divide="ignore", invalid="ignore"):
        inv = np.where(root > 0, 1.0 / root, 0.0)
    X *= root[:, None]
    X *= inv[None, :]
    mu = float(np.linalg.norm(X, 2)) if pi_z.min() > 0 else np.nan
    return ErgodicityConstants(float(pi_z.min()), mu, pi_z.reshape(nS, nA), nZ)


# ---------------------------------------------------------------------------- Theorem 3(a)
@dataclass
class CriticApproximation:
    r"""Left side of qu2020 Theorem 3, eq. (13), with the best constant.

    Attributes
    ----------
    error : float
        :math:`\min_c \sqrt{E_{z\sim\pi}|\hat Q_i^\theta(z_N) + c - Q_i^\theta(z)|^2}`, the
        :math:`\pi`-standard deviation of :math:`Q_i^\theta(z) - \hat Q_i^\theta(z_N)`.
    c : float
        The minimiser :math:`c^* = E_\pi[Q_i^\theta(z) - \hat Q_i^\theta(z_N)]`; equal to the paper's
        :math:`c_i^\theta = \tilde Q_i^\theta(\tilde z_N)` (module docstring).
    fixed_point : ndarray
        :math:`\hat Q_i^\theta` as returned by :func:`critic_fixed_point`.
    agent, kappa : int
    """

    error: float
    c: float
    fixed_point: np.ndarray = field(repr=False)
    agent: int
    kappa: int


def critic_approximation_error(mdp, policy, agent, kappa, dummy=None, *, evaluation=None, max_bytes=None):
    r"""Left side of qu2020 Thm 3 eq. (13) with the best constant :math:`c`, and :math:`c^*`.

    Needs the full table :math:`Q_i^\theta(s, a)` (:func:`~solvers.exact.q_table`): small instances
    only.

    Returns
    -------
    CriticApproximation

    Examples
    --------
    With :math:`\kappa` covering every agent the critic is exact up to the constant:

    >>> import networkx as nx
    >>> from netmarl_verify.envs import LocalSoftmaxPolicy, random_networked_mdp
    >>> from netmarl_verify.solvers.exact import critic_approximation_error
    >>> mdp = random_networked_mdp(nx.path_graph(3), 2, 2, rng=0)
    >>> res = critic_approximation_error(mdp, LocalSoftmaxPolicy.random(mdp, 1), 0, 2)
    >>> bool(res.error < 1e-10)
    True
    """
    ev = _check_networked(mdp, policy, evaluation)
    agent = check_agent(mdp, agent)
    Qhat = critic_fixed_point(mdp, policy, agent, kappa, dummy, evaluation=ev, max_bytes=max_bytes)
    Q = q_table(mdp, policy, agent, evaluation=ev, max_bytes=max_bytes)  # axes S..., A...
    n = mdp.n
    N = list(mdp.kappa_hop(agent, kappa))
    pi = (ev.stationary[:, None] * ev.model.joint_policy(max_bytes=max_bytes)).reshape(mdp.state_sizes + mdp.action_sizes)
    # broadcast Qhat over the full axes
    shape = [1] * (2 * n)
    for q, k in enumerate(N):
        shape[k] = mdp.state_sizes[k]
        shape[n + k] = mdp.action_sizes[k]
    diff = Q - Qhat.reshape(shape)
    c = float((pi * diff).sum())
    var = float((pi * (diff - c) ** 2).sum())
    return CriticApproximation(math.sqrt(max(var, 0.0)), c, Qhat, agent, int(kappa))
