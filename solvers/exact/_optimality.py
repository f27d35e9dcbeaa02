r"""Optimal values, best responses and Nash / optimality gaps.

On a :class:`~netmarl_verify.envs.TabularMDP` ``(P[s, a, s'], R[s, a])``:

* **discounted** (:math:`\gamma \in [0, 1)`), the optimal values :math:`V^*(s) = \max_a Q^*(s, a)`,
  :math:`Q^*(s, a) = R(s, a) + \gamma\sum_{s'}P(s'|s, a)V^*(s')`, by three routes:

  - :func:`value_iteration` — iterate the Bellman operator :math:`T` until the a-posteriori
    bound :math:`\|V_{k+1} - V^*\|_\infty \le \frac{\gamma}{1-\gamma}\|V_{k+1} - V_k\|_\infty`
    (Puterman 1994, Thm. 6.3.1) is below `tol`;
  - :func:`policy_iteration` — Howard's algorithm, each policy evaluated exactly by a dense
    solve of :math:`(I - \gamma P_\pi)V = R_\pi`; the improvement keeps the current action unless
    another is better by more than a rounding margin, so it terminates (in at most
    :math:`|A|^{|S|}` steps, in practice a handful);
  - :func:`lp_values` — the linear program :math:`\min \sum_s V(s)` subject to
    :math:`V(s) \ge R(s, a) + \gamma P(\cdot|s, a)V` (Puterman §6.9), solved by HiGHS
    (:func:`scipy.optimize.linprog`), an independent numerical route.

  Every result carries its **residual certificate**: ``residual`` :math:`= \|TV - V\|_\infty` at
  the returned :math:`V`, computed after the solve, and ``error_bound`` :math:`=`
  ``residual / (1 - gamma)``, which bounds :math:`\|V - V^*\|_\infty` (contraction of :math:`T`).
* **average reward**, the optimal gain of a **unichain** MDP (every deterministic policy has one
  recurrent class): :func:`optimal_gain` by policy iteration on
  :math:`g + h(s) = \max_a[R(s, a) + P(\cdot|s, a)h]` (Puterman §8.6) with :math:`h(s_0) = 0`, or by
  the linear program :math:`\min g` s.t. :math:`g + h(s) \ge R(s, a) + P(\cdot|s, a)h` (Puterman §8.8).
* for a **cooperative game** whose joint action is the product of local action sets
  (:math:`\mathcal A = \mathcal A^1\times\dots\times\mathcal A^N`, joint index in C order over
  ``action_sizes``, agent 0 the slowest axis, as :meth:`NetworkedMDP.to_tabular`) and a *product*
  policy :math:`\pi(a|s) = \prod_i\pi^i(a^i|s)` (chen2024 §2 with the empty DAG):
  :func:`best_response` of agent :math:`i` (the MDP on :math:`\mathcal A^i` with the others'
  actions averaged out, solved exactly; the deviation class :math:`\bar\pi^i(a^i|s)` of chen2024
  Def. 1 for product policies), :func:`nash_gap` (chen2024 Def. 1: the **maximum** over agents
  of the improvement, not OpenSpiel's NashConv sum) and :func:`optimality_gap` (Def. 2). All
  values are unnormalised (scale :math:`1/(1-\gamma)`) and weighted by the initial law
  :math:`\mu`.

On a :class:`~netmarl_verify.envs.NetworkedMDP`, :func:`best_deterministic_policy` enumerates the
deterministic *localized* policies (:math:`a_i` a function of :math:`s_i`) and returns the best
average reward among them (qu2020 Theorem 2's claim records it).

Memory is estimated with :func:`netmarl_verify.envs.check_memory` before each dense table.
"""

import itertools
import math
from dataclasses import dataclass, field

import numpy as np

from netmarl_verify.envs import LocalSoftmaxPolicy, TabularMDP, check_memory, product_table

from ._errors import SolverAccuracyError

__all__ = [
    "OptimalValues",
    "OptimalGain",
    "BestResponse",
    "DeterministicOptimum",
    "bellman_residual",
    "policy_values",
    "value_iteration",
    "policy_iteration",
    "lp_values",
    "optimal_values",
    "optimal_gain",
    "best_response",
    "nash_gap",
    "optimality_gap",
    "best_deterministic_policy",
]

#: Relative accuracy every direct solve must certify: ``residual <= RESIDUAL_TOL * scale``,
#: with ``scale = max(1, max|R| / (1 - gamma))`` (backward-stable dense solves of systems with
#: ``cond(I - gamma P_pi) <= (1 + gamma)/(1 - gamma)`` leave ~1e-16 * cond; 1e-9 is generous).
RESIDUAL_TOL = 1e-9
#: Policy iteration changes an action only if it improves Q by more than this times the scale:
#: rounding of Q (~1e-15 relative) must not make it switch between equally good actions forever.
IMPROVEMENT_TOL = 1e-12
#: Deterministic local policies :func:`best_deterministic_policy` is willing to enumerate.
MAX_DETERMINISTIC_POLICIES = 1_000_000


# ----------------------------------------------------------------------------- results
@dataclass
class OptimalValues:
    r"""Discounted optimal values of a tabular MDP.

    Attributes
    ----------
    V : ndarray, shape (nS,)
    Q : ndarray, shape (nS, nA)
        :math:`R + \gamma P V` at the returned `V`.
    policy : ndarray of int, shape (nS,)
        A greedy (deterministic) action per state; optimal up to `error_bound` ties.
    gamma : float
    method : str
        ``"value_iteration"``, ``"policy_iteration"`` or ``"lp"``.
    iterations : int
        Bellman steps (VI), improvement steps (PI), simplex iterations (LP).
    residual : float
        :math:`\|TV - V\|_\infty`, the certificate.
    """

    V: np.ndarray = field(repr=False)
    Q: np.ndarray = field(repr=False)
    policy: np.ndarray = field(repr=False)
    gamma: float
    method: str
    iterations: int
    residual: float

    @property
    def error_bound(self):
        r"""Bound on :math:`\|V - V^*\|_\infty`: ``residual / (1 - gamma)``."""
        return self.residual / (1.0 - self.gamma)

    def value(self, mu=None):
        r""":math:`V(\mu) = \sum_s \mu(s) V(s)` (`mu` default uniform)."""
        return float(_initial(mu, self.V.size) @ self.V)


@dataclass
class OptimalGain:
    r"""Optimal average reward of a unichain tabular MDP.

    Attributes
    ----------
    gain : float
        :math:`g^* = \max_\pi J(\pi)`.
    bias : ndarray, shape (nS,)
        A solution :math:`h` of the optimality equation with ``h[0] = 0`` (policy iteration), or
        the LP's feasible :math:`h` (``method="lp"``, then only :math:`g + h \ge Th` is certain).
    policy : ndarray of int, shape (nS,) or None
        A gain-optimal deterministic policy (policy iteration only).
    method : str
    iterations : int
    residual : float
        :math:`\max_s|g + h(s) - \max_a[R + Ph](s)|` (policy iteration), or the LP's largest
        constraint violation.
    """

    gain: float
    bias: np.ndarray = field(repr=False)
    policy: np.ndarray | None = field(repr=False)
    method: str
    iterations: int
    residual: float


@dataclass
class BestResponse:
    r"""Best response of one agent to the others' product policy.

    Attributes
    ----------
    agent : int
    policy : ndarray of int, shape (nS,)
        The deviating agent's deterministic best response :math:`a^i(s)`.
    value : float
        :math:`\max_{\bar\pi^i} V_{\bar\pi^i, \pi^{-i}}(\mu)`.
    current : float
        :math:`V_\pi(\mu)`.
    gain : float
        ``value - current`` (>= 0 up to rounding, clipped at 0 only when within rounding).
    V : ndarray, shape (nS,)
        Optimal values of the agent's induced MDP.
    """

    agent: int
    policy: np.ndarray = field(repr=False)
    value: float
    current: float
    gain: float
    V: np.ndarray = field(repr=False)


@dataclass
class DeterministicOptimum:
    """Best deterministic localized policy of a networked MDP (:func:`best_deterministic_policy`).

    Attributes
    ----------
    value : float
        The best average reward found.
    actions : tuple of tuple of int
        Per agent, the action at each local state, of the (first) best policy.
    evaluated : int
        Policies enumerated.
    """

    value: float
    actions: tuple
    evaluated: int


# ----------------------------------------------------------------------------- helpers
def _check_mdp(mdp):
    if not isinstance(mdp, TabularMDP):
        raise TypeError(f"expected a TabularMDP, got {type(mdp).__name__} (NetworkedMDP.to_tabular() compiles one)")
    return mdp


def _check_discount(gamma):
    gamma = float(gamma)
    if not 0.0 <= gamma < 1.0:
        raise ValueError(f"gamma must be in [0, 1), got {gamma}")
    return gamma


def _scale(mdp, gamma):
    return max(1.0, float(np.abs(mdp.R).max(initial=0.0)) / (1.0 - gamma))


def _initial(mu, n):
    if mu is None:
        return np.full(n, 1.0 / n)
    mu = np.asarray(mu, dtype=float)
    if mu.shape != (n,) or (mu < 0).any() or not math.isclose(float(mu.sum()), 1.0, abs_tol=1e-10):
        raise ValueError(f"mu must be a probability vector of length {n}")
    return mu


def _q(mdp, V, gamma):
    return mdp.R + gamma * (mdp.P @ V)


def bellman_residual(mdp, V, gamma):
    r""":math:`\|TV - V\|_\infty` for the discounted Bellman optimality operator :math:`T`."""
    mdp = _check_mdp(mdp)
    V = np.asarray(V, dtype=float)
    return float(np.abs(_q(mdp, V, _check_discount(gamma)).max(axis=1) - V).max(initial=0.0))


def _policy_table(pi, nS, nA):
    """A deterministic policy (int array (nS,)) or a stochastic table (nS, nA) as a table."""
    pi = np.asarray(pi)
    if pi.ndim == 1:
        if pi.shape != (nS,) or not np.issubdtype(pi.dtype, np.integer) or (pi < 0).any() or (pi >= nA).any():
            raise ValueError(f"a deterministic policy must be {nS} action indices in [0, {nA})")
        table = np.zeros((nS, nA))
        table[np.arange(nS), pi] = 1.0
        return table
    pi = np.asarray(pi, dtype=float)
    if pi.shape != (nS, nA) or (pi < -1e-12).any() or not np.allclose(pi.sum(axis=1), 1.0, atol=1e-10):
        raise ValueError(f"a policy table must have shape ({nS}, {nA}) with rows summing to 1")
    return pi


def policy_values(mdp, pi, gamma):
    r"""Exact :math:`V_\pi` of a deterministic policy (ints, shape (nS,)) or a table ``pi[s, a]``.

    Solves :math:`(I - \gamma P_\pi)V = R_\pi` densely, with a residual certificate.

    Raises
    ------
    SolverAccuracyError
        If the residual exceeds ``RESIDUAL_TOL`` times the value scale.
    """
    mdp = _check_mdp(mdp)
    gamma = _check_discount(gamma)
    nS, nA = mdp.n_states, mdp.n_actions
    table = _policy_table(pi, nS, nA)
    check_memory(8.0 * nS * nS * 2, f"dense policy evaluation system ({nS} x {nS} float64, and its LU)")
    P_pi = np.einsum("sa,sat->st", table, mdp.P)
    R_pi = (table * mdp.R).sum(axis=1)
    A = np.eye(nS) - gamma * P_pi
    V = np.linalg.solve(A, R_pi)
    res = float(np.abs(A @ V - R_pi).max(initial=0.0))
    if not res <= RESIDUAL_TOL * _scale(mdp, gamma):
        raise SolverAccuracyError(f"policy evaluation residual {res:.3g} exceeds {RESIDUAL_TOL:g} x scale")
    return V


# ----------------------------------------------------------------------------- discounted optimum
def value_iteration(mdp, gamma, *, tol=None, max_iter=None, V0=None):
    r"""Discounted optimal values by value iteration.

    Parameters
    ----------
    mdp : TabularMDP
    gamma : float in [0, 1)
    tol : float, optional
        Stop when the a-posteriori bound :math:`\frac{\gamma}{1-\gamma}\|V_{k+1} - V_k\|_\infty`
        on :math:`\|V_{k+1} - V^*\|_\infty` is at most `tol`; default ``1e-12 * scale``,
        ``scale = max(1, max|R|/(1-gamma))`` (a few hundred ulps of the values: the floor that
        rounding of the Bellman step allows).
    max_iter : int, optional
        Default: enough for the a-priori bound :math:`\gamma^k\|V_1 - V_0\|/(1-\gamma)` to reach
        `tol`, plus 100.
    V0 : array_like, optional
        Start (default 0).

    Returns
    -------
    OptimalValues

    Raises
    ------
    SolverAccuracyError
        If `max_iter` is reached first.

    Examples
    --------
    >>> import numpy as np
    >>> from netmarl_verify.envs import TabularMDP
    >>> mdp = TabularMDP(np.ones((1, 2, 1)), np.array([[0.0, 1.0]]))  # one state, two actions
    >>> res = value_iteration(mdp, 0.5)
    >>> round(float(res.V[0]), 9), int(res.policy[0]), res.error_bound <= 1e-11
    (2.0, 1, True)
    """
    mdp = _check_mdp(mdp)
    gamma = _check_discount(gamma)
    scale = _scale(mdp, gamma)
    tol = 1e-12 * scale if tol is None else float(tol)
    if not tol > 0:
        raise ValueError(f"tol must be > 0, got {tol}")
    V = np.zeros(mdp.n_states) if V0 is None else np.array(V0, dtype=float)
    if max_iter is None:
        max_iter = 100 if gamma == 0 else 100 + math.ceil(math.log(tol * (1 - gamma) / (2 * scale)) / math.log(gamma))
    for k in range(1, int(max_iter) + 1):
        V_new = _q(mdp, V, gamma).max(axis=1)
        step = float(np.abs(V_new - V).max(initial=0.0))
        V = V_new
        if gamma * step <= tol * (1 - gamma):
            break
    else:
        raise SolverAccuracyError(f"value iteration did not reach tol {tol:.3g} in {max_iter} iterations")
    Q = _q(mdp, V, gamma)
    return OptimalValues(V=V, Q=Q, policy=Q.argmax(axis=1), gamma=gamma, method="value_iteration",
                         iterations=k, residual=float(np.abs(Q.max(axis=1) - V).max(initial=0.0)))


def policy_iteration(mdp, gamma, *, policy0=None, max_iter=10_000):
    r"""Discounted optimal values by Howard's policy iteration with exact evaluation.

    Parameters
    ----------
    mdp : TabularMDP
    gamma : float in [0, 1)
    policy0 : array_like of int, shape (nS,), optional
        Initial deterministic policy (default: greedy for the immediate reward).
    max_iter : int

    Returns
    -------
    OptimalValues
        ``V`` the exact value of the final policy (a solve), ``policy`` that policy.
    """
    mdp = _check_mdp(mdp)
    gamma = _check_discount(gamma)
    margin = IMPROVEMENT_TOL * _scale(mdp, gamma)
    states = np.arange(mdp.n_states)
    pol = mdp.R.argmax(axis=1) if policy0 is None else np.asarray(policy0, dtype=np.int64)
    for k in range(1, int(max_iter) + 1):
        V = policy_values(mdp, pol, gamma)
        Q = _q(mdp, V, gamma)
        best = Q.argmax(axis=1)
        better = Q[states, best] > Q[states, pol] + margin
        if not better.any():
            break
        pol = np.where(better, best, pol)
    else:
        raise SolverAccuracyError(f"policy iteration did not stabilise in {max_iter} improvements")
    return OptimalValues(V=V, Q=Q, policy=pol, gamma=gamma, method="policy_iteration", iterations=k,
                         residual=float(np.abs(Q.max(axis=1) - V).max(initial=0.0)))


def lp_values(mdp, gamma):
    r"""Discounted optimal values by the primal linear program (HiGHS dual simplex).

    :math:`\min_V \sum_s V(s)` s.t. :math:`(\gamma P(\cdot|s, a) - e_s)^\top V \le -R(s, a)` for all
    :math:`(s, a)`; its unique solution is :math:`V^*`. Feasibility and optimality tolerances
    are set to 1e-10 (HiGHS' default 1e-7 is too loose for a reference value); the result is
    certified by its Bellman residual, not trusted.
    """
    from scipy.optimize import linprog

    mdp = _check_mdp(mdp)
    gamma = _check_discount(gamma)
    nS, nA = mdp.n_states, mdp.n_actions
    check_memory(8.0 * nS * nA * nS * 2, f"dense LP constraint matrix ({nS * nA} x {nS} float64)")
    A_ub = gamma * mdp.P.reshape(nS * nA, nS)
    A_ub[np.arange(nS * nA), np.repeat(np.arange(nS), nA)] -= 1.0
    res = linprog(np.ones(nS), A_ub=A_ub, b_ub=-mdp.R.reshape(-1), bounds=[(None, None)] * nS,
                  method="highs-ds", options={"primal_feasibility_tolerance": 1e-10,
                                              "dual_feasibility_tolerance": 1e-10})
    if res.status != 0:
        raise SolverAccuracyError(f"the LP solver failed: {res.message}")
    V = np.asarray(res.x, dtype=float)
    Q = _q(mdp, V, gamma)
    return OptimalValues(V=V, Q=Q, policy=Q.argmax(axis=1), gamma=gamma, method="lp", iterations=int(res.nit),
                         residual=float(np.abs(Q.max(axis=1) - V).max(initial=0.0)))


def optimal_values(mdp, gamma, method="policy_iteration", **kwargs):
    """Discounted optimal values by `method`: ``"policy_iteration"`` (default), ``"value_iteration"`` or ``"lp"``."""
    routes = {"policy_iteration": policy_iteration, "value_iteration": value_iteration, "lp": lp_values}
    if method not in routes:
        raise ValueError(f"method must be one of {sorted(routes)}, got {method!r}")
    return routes[method](mdp, gamma, **kwargs)


# ----------------------------------------------------------------------------- average reward
def _gain_bias(mdp, pol):
    """(g, h) of a deterministic policy on a unichain MDP: g + h - P_pi h = R_pi, h[0] = 0."""
    nS = mdp.n_states
    check_memory(8.0 * (nS + 1) ** 2 * 2, f"dense gain/bias system ({nS + 1} x {nS + 1} float64)")
    P_pi = mdp.P[np.arange(nS), pol]
    R_pi = mdp.R[np.arange(nS), pol]
    A = np.zeros((nS + 1, nS + 1))
    A[:nS, 0] = 1.0  # g
    A[:nS, 1:] = np.eye(nS) - P_pi  # h
    A[nS, 1] = 1.0  # h[0] = 0
    b = np.concatenate([R_pi, [0.0]])
    try:
        x = np.linalg.solve(A, b)
    except np.linalg.LinAlgError:
        raise SolverAccuracyError("the gain/bias system is singular: the policy's chain is not unichain") from None
    scale = max(1.0, float(np.abs(mdp.R).max(initial=0.0)))
    res = float(np.abs(A @ x - b).max(initial=0.0))
    if not res <= 1e-6 * scale:  # a nearly singular (nearly multichain) system: refuse
        raise SolverAccuracyError(f"gain/bias residual {res:.3g}: the policy's chain is (nearly) not unichain")
    return float(x[0]), x[1:]


def optimal_gain(mdp, method="policy_iteration", *, max_iter=10_000):
    r"""Optimal average reward of a **unichain** tabular MDP (module docstring).

    Parameters
    ----------
    mdp : TabularMDP
    method : {"policy_iteration", "lp"}
    max_iter : int

    Returns
    -------
    OptimalGain

    Raises
    ------
    SolverAccuracyError
        A policy met by policy iteration is not unichain, or the LP failed.
    """
    mdp = _check_mdp(mdp)
    nS, nA = mdp.n_states, mdp.n_actions
    states = np.arange(nS)
    if method == "lp":
        from scipy.optimize import linprog

        check_memory(8.0 * nS * nA * (nS + 1) * 2, f"dense LP constraint matrix ({nS * nA} x {nS + 1} float64)")
        # variables (g, h); -(g + h(s) - P h) <= -R(s, a); h[0] = 0 pins the free shift
        A_ub = np.zeros((nS * nA, nS + 1))
        A_ub[:, 0] = -1.0
        A_ub[:, 1:] = mdp.P.reshape(nS * nA, nS)
        A_ub[np.arange(nS * nA), 1 + np.repeat(states, nA)] -= 1.0
        c = np.zeros(nS + 1)
        c[0] = 1.0
        bounds = [(None, None), (0.0, 0.0)] + [(None, None)] * (nS - 1)
        res = linprog(c, A_ub=A_ub, b_ub=-mdp.R.reshape(-1), bounds=bounds, method="highs-ds",
                      options={"primal_feasibility_tolerance": 1e-10, "dual_feasibility_tolerance": 1e-10})
        if res.status != 0:
            raise SolverAccuracyError(f"the LP solver failed: {res.message}")
        x = np.asarray(res.x, dtype=float)
        violation = float(np.maximum(A_ub @ x + mdp.R.reshape(-1), 0.0).max(initial=0.0))
        return OptimalGain(gain=float(x[0]), bias=x[1:], policy=None, method="lp", iterations=int(res.nit),
                           residual=violation)
    if method != "policy_iteration":
        raise ValueError(f"method must be 'policy_iteration' or 'lp', got {method!r}")
    margin = IMPROVEMENT_TOL * max(1.0, float(np.abs(mdp.R).max(initial=0.0))) * max(1, nS)
    pol = mdp.R.argmax(axis=1)
    for k in range(1, int(max_iter) + 1):
        g, h = _gain_bias(mdp, pol)
        Q = mdp.R + mdp.P @ h
        best = Q.argmax(axis=1)
        better = Q[states, best] > Q[states, pol] + margin
        if not better.any():
            break
        pol = np.where(better, best, pol)
    else:
        raise SolverAccuracyError(f"policy iteration did not stabilise in {max_iter} improvements")
    return OptimalGain(gain=g, bias=h, policy=pol, method="policy_iteration", iterations=k,
                       residual=float(np.abs(g + h - Q.max(axis=1)).max(initial=0.0)))


# ----------------------------------------------------------------------------- games
def _check_game(mdp, action_sizes, policies):
    action_sizes = tuple(int(a) for a in action_sizes)
    if math.prod(action_sizes) != mdp.n_actions:
        raise ValueError(f"the product of action_sizes {action_sizes} must be the number of joint actions "
                         f"{mdp.n_actions}")
    if len(policies) != len(action_sizes):
        raise ValueError(f"one policy per agent: {len(action_sizes)} agents, {len(policies)} policies")
    tables = []
    for i, (p, A) in enumerate(zip(policies, action_sizes)):
        tables.append(_policy_table(p, mdp.n_states, A))
    return action_sizes, tables


def _joint_table(tables):
    """pi[s, a] = prod_i pi_i[s, a_i], joint index in C order over the agents (:func:`~envs.product_table`)."""
    return product_table(tables)


def _induced_mdp(mdp, action_sizes, tables, agent):
    """The MDP of `agent` with the others' actions averaged out under their policies."""
    nS = mdp.n_states
    check_memory(8.0 * nS * mdp.n_actions * nS, f"the joint kernel of the induced MDP of agent {agent}")
    shape = (nS,) + action_sizes
    weights = np.ones(shape)
    for j, t in enumerate(tables):
        if j != agent:
            idx = [1] * (len(action_sizes) + 1)
            idx[0], idx[1 + j] = nS, action_sizes[j]
            weights = weights * t.reshape(idx)
    others = tuple(1 + j for j in range(len(action_sizes)) if j != agent)
    P = mdp.P.reshape(shape + (nS,))
    R = mdp.R.reshape(shape)
    P_i = (weights[..., None] * P).sum(axis=others)
    R_i = (weights * R).sum(axis=others)
    return TabularMDP(P_i, R_i, row_atol=1e-10)


def best_response(mdp, action_sizes, policies, agent, gamma, mu=None):
    r"""Exact best response of `agent` to the others' product policy (chen2024 Def. 1, empty DAG).

    Parameters
    ----------
    mdp : TabularMDP
        Joint actions indexed in C order over `action_sizes` (agent 0 slowest).
    action_sizes : sequence of int
        :math:`|\mathcal A^i|`, with product ``mdp.n_actions``.
    policies : sequence of ndarray
        Per agent a table ``pi_i[s, a_i]`` or a deterministic policy (ints, shape (nS,)).
    agent : int
    gamma : float in [0, 1)
    mu : ndarray, shape (nS,), optional
        Initial law (default uniform).

    Returns
    -------
    BestResponse
        Solved by policy iteration on the induced MDP; deterministic.
    """
    mdp = _check_mdp(mdp)
    action_sizes, tables = _check_game(mdp, action_sizes, policies)
    if not 0 <= int(agent) < len(action_sizes):
        raise ValueError(f"agent must be in [0, {len(action_sizes)}), got {agent}")
    agent = int(agent)
    mu = _initial(mu, mdp.n_states)
    current = float(mu @ policy_values(mdp, _joint_table(tables), gamma))
    opt = policy_iteration(_induced_mdp(mdp, action_sizes, tables, agent), gamma)
    value = float(mu @ opt.V)
    return BestResponse(agent=agent, policy=opt.policy, value=value, current=current, gain=value - current, V=opt.V)


def nash_gap(mdp, action_sizes, policies, gamma, mu=None):
    r"""chen2024 Def. 1: :math:`\max_i(\max_{\bar\pi^i}V_{\bar\pi^i, \pi^{-i}}(\mu) - V_\pi(\mu))`.

    The **maximum** over agents (not a sum); >= 0 up to rounding (a deviation to :math:`\pi^i`
    itself is allowed). Returns ``(gap, [BestResponse per agent])``.
    """
    brs = [best_response(mdp, action_sizes, policies, i, gamma, mu) for i in range(len(tuple(action_sizes)))]
    return max(b.gain for b in brs), brs


def optimality_gap(mdp, policy, gamma, mu=None, *, action_sizes=None):
    r"""chen2024 Def. 2: :math:`V^*(\mu) - V_\pi(\mu)`.

    `policy` is a joint table ``pi[s, a]``, a deterministic joint policy, or (with
    `action_sizes`) a list of local tables of a product policy. :math:`V^*` by policy iteration.
    """
    mdp = _check_mdp(mdp)
    if action_sizes is not None:
        _, tables = _check_game(mdp, action_sizes, policy)
        policy = _joint_table(tables)
    mu = _initial(mu, mdp.n_states)
    return float(mu @ policy_iteration(mdp, gamma).V) - float(mu @ policy_values(mdp, policy, gamma))


# ----------------------------------------------------------------------------- networked enumeration
#: Logit of the actions a "deterministic" local policy does not take. Kept at -60 (today's
#: qu2020.thm2 numbers): such a softmax policy puts e^-60 ~ 9e-27 on them, below every rounding
#: the average reward shows, and stays inside LocalSoftmaxPolicy's ergodic class.
DETERMINISTIC_LOGIT = -60.0


def best_deterministic_policy(mdp):
    r"""Best average reward over deterministic localized policies :math:`a_i = f_i(s_i)`, by enumeration.

    Every :math:`f = (f_1, \dots, f_n)` is evaluated exactly (:func:`evaluate_policy`, average
    reward) as the softmax policy with logit 0 on :math:`f_i(s_i)` and
    :data:`DETERMINISTIC_LOGIT` elsewhere; agents and local states enumerate in
    :func:`itertools.product` order. Small instances only: :math:`\prod_i |A_i|^{|S_i|}` policies.

    Parameters
    ----------
    mdp : NetworkedMDP

    Returns
    -------
    DeterministicOptimum

    Raises
    ------
    ValueError
        More than :data:`MAX_DETERMINISTIC_POLICIES` policies.
    """
    from ._evaluation import evaluate_policy

    shapes = [(mdp.state_sizes[i], mdp.action_sizes[i]) for i in range(mdp.n)]
    count = math.prod(A**S for S, A in shapes)
    if count > MAX_DETERMINISTIC_POLICIES:
        raise ValueError(f"{count} deterministic local policies exceed the enumeration limit "
                         f"{MAX_DETERMINISTIC_POLICIES}")
    choices = [list(itertools.product(range(A), repeat=S)) for S, A in shapes]
    best, arg = -np.inf, None
    for combo in itertools.product(*choices):
        logits = []
        for (S, A), acts in zip(shapes, combo):
            t = np.full((S, A), DETERMINISTIC_LOGIT)
            t[np.arange(S), list(acts)] = 0.0
            logits.append(t)
        J = evaluate_policy(mdp, LocalSoftmaxPolicy(logits)).J
        if J > best:
            best, arg = J, combo
    return DeterministicOptimum(value=float(best), actions=tuple(arg), evaluated=count)
