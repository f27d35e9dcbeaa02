r"""Exact companions of ying2023's Algorithm 1: H-truncated expectations and the TD fixed point.

The sampled Algorithm 1 (:mod:`netmarl_verify.solvers.sampled._shadow_pg`) estimates, from ``B``
trajectories of length ``H`` started from :math:`\xi` (ying2023 §3.4),

.. math:: \tilde\lambda_i = \frac1B\sum_\tau\sum_{k<H}\gamma^k e_i(s_i^k, a_i^k)            \qquad (20)

   \tilde g_i = \frac1B\sum_\tau\sum_{k<H}\gamma^k\psi_{\theta_i}(a_i^k|s^k_{O_i})
                \frac1n\sum_{j\in N_i^\kappa}\tilde Q_j(s^k_{N_j^\kappa}, a^k_{N_j^\kappa}).  \qquad (21)

Their exact expectations are the same sums truncated at ``H`` (:func:`horizon_expectations`):

* :math:`E[\tilde\lambda_i] = \lambda_i^{(H)} = \sum_{k<H}\gamma^k\Pr(s_i^k, a_i^k)`, the marginal of
  :math:`\lambda^{(H)}(s, a) = \sum_{k<H}\gamma^k(\xi^\top P_\pi^k)(s)\,\pi(a|s)`
  (:func:`horizon_occupancy`, by powers of :math:`P_\pi`). Every term is non-negative, so
  :math:`\|\lambda - \lambda^{(H)}\|_1 = \sum_{k\ge H}\gamma^k = \gamma^H/(1-\gamma)` exactly, for
  the global table and for every local marginal.
* With the exact truncated shadow Q :math:`\hat Q_j` (eq. (14)) of the **true** shadow reward
  :math:`r_j = \nabla f_j(\lambda_j)` in place of :math:`\tilde Q_j` — the :math:`\hat g^t` of
  eq. (30) — :math:`E[\tilde g_i] = \hat g_i^{(H)}`, eq. (15) with the state weights
  :math:`\lambda^{(H)}(s)` in place of :math:`\lambda(s)`; :math:`\hat g_i - \hat g_i^{(H)}` is the
  H-truncation bias of eq. (36). (With an oracle under the *empirical* reward :math:`\tilde r`,
  :math:`E[\tilde g]` differs from :math:`\hat g^{(H)}` by the plug-in bias of :math:`\tilde r`,
  except for linear utilities, where :math:`\tilde r = r`.)

The TD oracle (23) and its fixed point (:func:`td_fixed_point`)
---------------------------------------------------------------
TD (23) is SARSA(0) on the aggregated pairs :math:`x = z_N = (s_N, a_N)`, :math:`N = N_i^\kappa`,
along one trajectory :math:`(s^k, a^k)_{k\ge0}` under :math:`\pi_\theta`:
:math:`\tilde Q(x^{k-1}) \leftarrow \tilde Q(x^{k-1}) + \eta^{k-1}[\tilde r_i(s_i^{k-1}, a_i^{k-1})
+ \gamma\tilde Q(x^k) - \tilde Q(x^{k-1})]`. The pairs :math:`(s^k, a^k)` form a Markov chain with
kernel :math:`P(s'|s,a)\pi(a'|s')`. If the state chain has a single recurrent class, the
empirical law of :math:`(z^{k-1}, z^k)` converges almost surely (Cesàro, so periodic chains are
included) to :math:`\mu(s,a)P(s'|s,a)\pi(a'|s')` with the stationary law
:math:`\mu(s,a) = d(s)\pi(a|s)`, :math:`d^\top P_\pi = d^\top`, **whatever** :math:`\xi`. With a
diminishing step (:math:`\sum\eta^k = \infty`, :math:`\sum(\eta^k)^2 < \infty`, e.g.
:math:`h/(k+t_0)`) the ODE method for stochastic approximation with Markov noise (Benveniste,
Métivier & Priouret 1990; Borkar 2008 §6; Tsitsiklis 1994 for the asynchronous form) says the
iterates track :math:`\dot Q = h(Q)`, the update averaged over that limit law,

.. math:: h(Q)(x) = \pi_N(x)\bar r(x) + \gamma\sum_y M(x,y)Q(y) - \pi_N(x)Q(x),

:math:`\pi_N(x) = \mu(z_N = x)`, :math:`M(x,y) = \Pr_\mu(z_N = x, z'_N = y)` (so
:math:`\sum_yM(x,y) = \pi_N(x)`), :math:`\bar r(x) = E_\mu[r_i(s_i,a_i)\mid z_N = x]` (:math:`= r_i(x_i)`
since :math:`i\in N`). The early transient (the law of :math:`z^k` for small :math:`k`, where
:math:`\xi` matters) has weight :math:`\sum_{k<K}\eta^k/\sum_k\eta^k \to 0`. On the support
:math:`\{\pi_N > 0\}` (closed under :math:`M`: :math:`M(x, y) > 0` implies :math:`\pi_N(y) > 0`)
the map :math:`Q \mapsto \bar r + \gamma\,\mathrm{diag}(\pi_N)^{-1}MQ` is a :math:`\gamma`-contraction
in the max-norm (its matrix is row-stochastic), so :math:`h` has one zero, globally asymptotically
stable, and the iterates converge to the **aggregated fixed point**

.. math:: \tilde Q^*(x) = \bar r(x) + \gamma\,E_\mu[\tilde Q^*(z'_N) \mid z_N = x], \qquad
          (\mathrm{diag}(\pi_N) - \gamma M)\,\tilde Q^* = \pi_N\odot\bar r,

solved directly (one LU). Pairs off the support are visited finitely often (transient) or never;
TD leaves them at whatever the early steps wrote (0 if never visited), and the fixed point is
reported as 0 there with the ``support`` mask. :math:`\tilde Q^*` is not :math:`\hat Q_i` of
eq. (14) in general (the aggregation weights are :math:`\mu(\cdot|z_N)`, not a fixed reference);
with :math:`N` = all agents it is :math:`Q_i^\pi` itself on the support.

``law="discounted"`` solves the same equation under the discounted pair law
:math:`\mu = (1-\gamma)\lambda^\pi_\xi` — the law TD would see if it restarted from :math:`\xi`
with geometric episode lengths; it is *not* the limit of (23) along one trajectory.

Sizes: the pair chain is built from the joint tabular model (:meth:`~envs.NetworkedMDP.to_tabular`,
:math:`|S|^2|A|` entries, memory checked first): enumerable instances only.

References
----------
ying2023 §3.4 eq. (20)-(23), Prop. 2 (30)-(36); guide ``shared/claims/ying2023.md`` §7.
"""

import dataclasses
from dataclasses import dataclass, field

import numpy as np
import scipy.linalg as sla

from netmarl_verify.envs import NetworkedMDP, joint_policy_table
from netmarl_verify.envs._memory import check_memory

from ._backends import certify_residual
from ._errors import SolverAccuracyError
from ._evaluation import _check_gamma, stationary_distribution, transition_matrix
from ._gradient import check_initial
from ._occupancy import discounted_visitation
from ._shadow import truncated_shadow_gradient
from ._utilities import local_occupancies

__all__ = ["horizon_occupancy", "horizon_expectations", "HorizonExpectations", "td_fixed_point", "TDFixedPoint",
           "TD_LAWS"]

#: The pair laws :func:`td_fixed_point` accepts (module docstring).
TD_LAWS = ("stationary", "discounted")

#: Relative max-norm residual accepted for the direct solve of the aggregated TD equation.
TD_RESIDUAL_TOL = 1e-9

#: Pairs with law below this (absolute; the law sums to 1) are off the support.
SUPPORT_TOL = 1e-14


def _check_horizon(horizon):
    if isinstance(horizon, bool) or not isinstance(horizon, (int, np.integer)):
        raise TypeError(f"`horizon` must be an integer, got {horizon!r}")
    if int(horizon) < 1:
        raise ValueError(f"`horizon` must be >= 1, got {int(horizon)}")
    return int(horizon)


def _discount(gamma):
    gamma = _check_gamma(gamma)
    if gamma is None:
        raise ValueError("ying2023's occupancy is discounted: gamma must be in [0, 1)")
    return gamma


def horizon_occupancy(mdp, policy, gamma, horizon, initial=None, *, max_bytes=None):
    r""":math:`\lambda^{(H)}(s,a) = \sum_{k<H}\gamma^k\Pr(s^k = s, a^k = a)`, the expectation of eq. (20)'s sum.

    Parameters
    ----------
    mdp : NetworkedMDP
    policy : a product policy (LocalSoftmaxPolicy, KHopSoftmaxPolicy, ...)
    gamma : float in [0, 1)
    horizon : int >= 1
        :math:`H`.
    initial : ndarray, shape (|S|,), optional
        :math:`\xi` (default uniform).

    Returns
    -------
    ndarray, shape (|S|, |A|)
        Global state, joint action (mixed radix, agent 0 most significant); total mass
        :math:`(1-\gamma^H)/(1-\gamma)`. :func:`~.local_occupancies` gives :math:`\lambda_i^{(H)}`.

    Examples
    --------
    >>> import networkx as nx, numpy as np
    >>> from netmarl_verify.envs import LocalSoftmaxPolicy, random_networked_mdp
    >>> from netmarl_verify.solvers.exact import discounted_occupancy
    >>> mdp = random_networked_mdp(nx.path_graph(2), 2, 2, rng=0)
    >>> pol = LocalSoftmaxPolicy.random(mdp, 1)
    >>> lam, lam5 = discounted_occupancy(mdp, pol, 0.8), horizon_occupancy(mdp, pol, 0.8, 5)
    >>> bool(abs(np.abs(lam - lam5).sum() - 0.8**5 / 0.2) < 1e-12)
    True
    """
    if not isinstance(mdp, NetworkedMDP):
        raise TypeError(f"horizon_occupancy needs a NetworkedMDP, got {type(mdp).__name__}")
    gamma = _discount(gamma)
    H = _check_horizon(horizon)
    xi = check_initial(initial, mdp.n_states)
    check_memory(8.0 * mdp.n_states * mdp.n_actions * 2, "the joint state-action occupancy table", max_bytes=max_bytes)
    P = transition_matrix(mdp, policy)
    p = xi.copy()
    lam_s = np.zeros(mdp.n_states)
    w = 1.0
    for k in range(H):
        lam_s += w * p
        if k + 1 < H:
            p = P.T @ p
            w *= gamma
    return lam_s[:, None] * joint_policy_table(mdp, policy, max_bytes=max_bytes)


@dataclass
class HorizonExpectations:
    r"""Exact expectations of Algorithm 1's estimators at one policy (:func:`horizon_expectations`).

    Attributes
    ----------
    horizon : int
        :math:`H`.
    occupancy : ndarray, shape (|S|, |A|)
        :math:`\lambda^{(H)}` (mass :math:`(1-\gamma^H)/(1-\gamma)`).
    local : list of ndarray
        :math:`\lambda_i^{(H)} = E[\tilde\lambda_i]`, shape (S_i, A_i).
    gradient : list of ndarray
        :math:`\hat g_i^{(H)} = E[\hat g_i^t]` of eq. (30) (exact :math:`\hat Q_j` of the true shadow
        reward at the reference), shaped like the logits.
    tail_mass : float
        :math:`\gamma^H/(1-\gamma) = \|\lambda - \lambda^{(H)}\|_1 = \|\lambda_i - \lambda_i^{(H)}\|_1`.
    kappa : int
    reference : tuple
    """

    horizon: int
    occupancy: np.ndarray = field(repr=False)
    local: list = field(repr=False)
    gradient: list = field(repr=False)
    tail_mass: float
    kappa: int
    reference: tuple


def horizon_expectations(problem, kappa, horizon, reference=None):
    r""":math:`E[\tilde\lambda_i] = \lambda_i^{(H)}` and :math:`E[\hat g_i^t] = \hat g_i^{(H)}` (module docstring).

    Parameters
    ----------
    problem : ShadowProblem
        From :func:`~.shadow_problem` (model, policy, γ, ξ, true shadow rewards).
    kappa : int >= 0
        Truncation radius of :math:`\hat Q_j` and of the sum over :math:`j\in N_i^\kappa`.
    horizon : int >= 1
    reference : (s_bar, a_bar), optional
        Reference of eq. (14) (default all zeros).

    Returns
    -------
    HorizonExpectations
    """
    H = _check_horizon(horizon)
    mdp = problem.mdp
    lam_h = horizon_occupancy(mdp, problem.policy, problem.gamma, H, problem.initial)
    local_h = local_occupancies(lam_h, mdp.state_sizes, mdp.action_sizes)
    if reference is None:
        reference = (np.zeros(mdp.n, dtype=np.int64), np.zeros(mdp.n, dtype=np.int64))
    # eq. (15) with lambda^(H)(s) as the state weights; Q-hat from the problem's true shadow rewards
    truncated = dataclasses.replace(problem, occupancy=lam_h, local=local_h)
    grad = truncated_shadow_gradient(truncated, kappa, reference)
    return HorizonExpectations(H, lam_h, local_h, grad, problem.gamma ** H / (1.0 - problem.gamma), int(kappa),
                               reference)


# ---------------------------------------------------------------------------- the TD fixed point
@dataclass
class TDFixedPoint:
    r"""The aggregated TD equation of (23) and its solution (:func:`td_fixed_point`).

    Attributes
    ----------
    table : ndarray
        :math:`\tilde Q^*` over :math:`Z_N`, shape ``tuple(S[j] for j in N) + tuple(A[j] for j in N)``
        (C order, states first, as the sampled TD tables); 0 off the support.
    neighbourhood : tuple of int
        :math:`N = N_i^\kappa`, sorted.
    law : str
        ``"stationary"`` or ``"discounted"``.
    pair_law : ndarray, shape (|Z_N|,)
        :math:`\pi_N(x)`.
    M : ndarray, shape (|Z_N|, |Z_N|)
        :math:`M(x, y) = \Pr_\mu(z_N = x, z'_N = y)`.
    mean_reward : ndarray, shape (|Z_N|,)
        :math:`\bar r(x)` (0 off the support).
    support : ndarray of bool, shape (|Z_N|,)
        :math:`\pi_N(x) > 10^{-14}`.
    residual : float
        Relative max-norm residual of the solve.
    """

    table: np.ndarray = field(repr=False)
    neighbourhood: tuple
    law: str
    pair_law: np.ndarray = field(repr=False)
    M: np.ndarray = field(repr=False)
    mean_reward: np.ndarray = field(repr=False)
    support: np.ndarray = field(repr=False)
    residual: float


def td_fixed_point(mdp, policy, gamma, reward, agent, kappa, *, law="stationary", initial=None, full_output=False,
                   max_bytes=None):
    r"""Exact limit :math:`\tilde Q^*` of the TD oracle (23) for agent ``agent`` (module docstring).

    Parameters
    ----------
    mdp : NetworkedMDP
    policy : a product policy (KHopSoftmaxPolicy, LocalSoftmaxPolicy, ...)
    gamma : float in [0, 1)
    reward : array_like, shape (S_i, A_i)
        The local reward TD is run with (Algorithm 1: the empirical shadow reward :math:`\tilde r_i`).
    agent : int
    kappa : int >= 0
        :math:`N = ` ``mdp.kappa_hop(agent, kappa)``.
    law : {"stationary", "discounted"}
        The pair law :math:`\mu`: ``"stationary"`` (the limit of (23) along one trajectory, default)
        or ``"discounted"`` (:math:`(1-\gamma)\lambda^\pi_\xi`, needs ``initial``; default ξ uniform).
    initial : ndarray, shape (|S|,), optional
        ξ, for ``law="discounted"`` only.
    full_output : bool
        Also return the :class:`TDFixedPoint`.

    Returns
    -------
    table : ndarray
        Shape ``tuple(S[j] for j in N) + tuple(A[j] for j in N)``.
    equation : TDFixedPoint
        Only with ``full_output=True``.

    Raises
    ------
    MultipleRecurrentClassesError
        ``law="stationary"`` and the state chain has several recurrent classes: the limit of (23)
        then depends on the class the trajectory enters, there is no single answer.
    MemoryBudgetError
        The joint tabular model does not fit.
    SolverAccuracyError
        The residual certificate fails.

    Examples
    --------
    >>> import networkx as nx, numpy as np
    >>> from netmarl_verify.envs import KHopSoftmaxPolicy, random_networked_mdp
    >>> mdp = random_networked_mdp(nx.path_graph(3), 2, 2, rng=0)
    >>> pol = KHopSoftmaxPolicy.random(mdp, 1, rng=1)
    >>> Q, eq = td_fixed_point(mdp, pol, 0.7, np.eye(2), 0, 0, full_output=True)
    >>> Q.shape, bool(eq.support.all()), eq.residual < 1e-12
    ((2, 2), True, True)
    """
    if not isinstance(mdp, NetworkedMDP):
        raise TypeError(f"td_fixed_point needs a NetworkedMDP, got {type(mdp).__name__}")
    gamma = _discount(gamma)
    if law not in TD_LAWS:
        raise ValueError(f"`law` must be one of {TD_LAWS}, got {law!r}")
    agent = int(agent)
    if not 0 <= agent < mdp.n:
        raise ValueError(f"`agent` must be in 0..{mdp.n - 1}, got {agent}")
    reward = np.asarray(reward, dtype=np.float64)
    want = (mdp.state_sizes[agent], mdp.action_sizes[agent])
    if reward.shape != want or not np.isfinite(reward).all():
        raise ValueError(f"`reward` must be a finite array of shape {want} (s_{agent}, a_{agent}), got shape "
                         f"{reward.shape}" + ("" if reward.shape != want else " with a non-finite entry"))
    N = tuple(sorted(int(k) for k in mdp.kappa_hop(agent, kappa)))
    S_N = tuple(mdp.state_sizes[j] for j in N)
    A_N = tuple(mdp.action_sizes[j] for j in N)
    nS, nA = mdp.n_states, mdp.n_actions
    nZs, nZa = int(np.prod(S_N)), int(np.prod(A_N))
    nZ = nZs * nZa
    check_memory(8.0 * (nS * nA * (nS + nZ) + nZ * nZ + nS * nZ), "the aggregated TD system (pair chain)",
                 max_bytes=max_bytes, hint="the exact TD fixed point enumerates global state-action pairs")
    pi_sa = joint_policy_table(mdp, policy, max_bytes=max_bytes)  # (|S|, |A|)
    if law == "stationary":
        d = stationary_distribution(mdp, policy)
    else:
        d = discounted_visitation(mdp, policy, gamma, check_initial(initial, nS))
    w = (np.maximum(d, 0.0)[:, None] * pi_sa).reshape(-1)  # mu(s, a)
    st, at = mdp.state_tuples(), mdp.action_tuples(np.arange(nA))
    xs = np.ravel_multi_index(tuple(st[:, j] for j in N), S_N)
    xa = np.ravel_multi_index(tuple(at[:, j] for j in N), A_N)
    x = (xs[:, None] * nZa + xa[None, :]).reshape(-1)  # z_N index of every (s, a), C order states first
    # Y[s', y] = sum_{a'} pi(a'|s') 1[z_N(s', a') = y];  M = X^T diag(mu) P Y
    Y = np.zeros((nS, nZ))
    np.add.at(Y, (np.repeat(np.arange(nS), nA), x), pi_sa.reshape(-1))
    P = mdp.to_tabular(max_bytes=max_bytes).P.reshape(nS * nA, nS)
    V = P @ Y
    M = np.zeros((nZ, nZ))
    np.add.at(M, x, w[:, None] * V)
    pi_N = np.bincount(x, weights=w, minlength=nZ)
    r_sa = reward[st[:, agent]][:, at[:, agent]].reshape(-1)
    rew = np.bincount(x, weights=w * r_sa, minlength=nZ)  # pi_N(x) * r_bar(x)
    support = pi_N > SUPPORT_TOL
    keep = np.flatnonzero(support)
    G = np.diag(pi_N[keep]) - gamma * M[np.ix_(keep, keep)]
    q = np.zeros(nZ)
    if keep.size:
        try:
            q[keep] = sla.solve(G, rew[keep], check_finite=False)
        except (sla.LinAlgError, ValueError) as exc:  # pragma: no cover - diagonally dominant on the support
            raise SolverAccuracyError(f"agent {agent}, kappa={kappa}: the aggregated TD equation is singular ({exc})")
    scale = max(1.0, float(np.abs(rew[keep]).max(initial=0.0)))
    residual = float(np.abs(G @ q[keep] - rew[keep]).max(initial=0.0)) / scale
    certify_residual(f"agent {agent}, kappa={kappa}: aggregated TD equation", residual, tol=TD_RESIDUAL_TOL)
    mean_reward = np.where(support, rew / np.where(support, pi_N, 1.0), 0.0)
    table = q.reshape(S_N + A_N)
    if full_output:
        return table, TDFixedPoint(table, N, law, pi_N, M, mean_reward, support, residual)
    return table
