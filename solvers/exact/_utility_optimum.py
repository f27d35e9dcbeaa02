r"""The global optimum of a concave ying2023 utility over the occupancy polytope, with a certificate (Remark 2).

Problem (ying2023 eq. (3), (5); guide §1.1, §6 Remark 2). On a :class:`~netmarl_verify.envs.TabularMDP`
with discount :math:`\gamma` and initial law :math:`\xi`,

.. math:: F^* = \max_{\lambda\in\Lambda} F(\lambda), \qquad F(\lambda) = \frac1n\sum_i f_i(\mathrm{marg}_i\lambda),
          \qquad \Lambda = \Big\{\lambda \ge 0 : \sum_a\lambda(s',a) = \xi(s') + \gamma\sum_{s,a}P(s'|s,a)\lambda(s,a)\Big\},

the marginals taken over global indices in mixed radix (:func:`~._utilities.local_occupancies`).

Method: **Frank–Wolfe** (conditional gradient). The linear maximisation oracle over :math:`\Lambda`
with weights :math:`\nabla F(\lambda)` (the global shadow reward, :func:`~._utilities.global_shadow_reward`)
is an MDP with reward :math:`\nabla F(\lambda)`: :math:`\max_{\lambda'\in\Lambda}\langle\nabla F(\lambda), \lambda'\rangle
= \sum_s\xi(s)V^*(s)`, attained by the occupancy of an optimal deterministic policy — a vertex of
:math:`\Lambda`, solved exactly by :func:`~._optimality.policy_iteration`. For **concave** :math:`F`,

.. math:: F^* - F(\lambda) \le \max_{\lambda'\in\Lambda}\langle\nabla F(\lambda), \lambda' - \lambda\rangle =: g(\lambda)

(the tangent plane lies above a concave function), so every iterate carries a **certified**
optimality gap. The oracle's value is taken from the dual side, :math:`\langle\xi, V\rangle +
\|TV - V\|_\infty/(1-\gamma) \ge \langle\xi, V^*\rangle` (the policy-iteration values plus their
Bellman-residual certificate), so the gap stays an upper bound even if the solve is inexact. This is
why Frank–Wolfe beats a generic solver such as SLSQP here: the answer comes with
:math:`F(\lambda) \le F^* \le F(\lambda) + g(\lambda)`.

Steps: ``method="away"`` (default) is the away-step variant (Guélat & Marcotte 1986; Lacoste-Julien &
Jaggi 2015), which keeps the iterate as a convex combination of atoms (the start and the vertices
found) and may move away from the worst one, giving linear convergence for the strongly concave
utilities of :mod:`._utilities` instead of vanilla FW's :math:`O(1/t)`; ``"vanilla"`` takes the
plain FW direction; both use an exact line search on the segment, as the root of the directional
derivative (:func:`scipy.optimize.brentq`; the far end when the derivative stays positive, so a
linear utility reaches its vertex in one step). ``"open_loop"`` is vanilla FW with step :math:`2/(k+2)` at step :math:`k \ge 1` (so the first step does not jump to a vertex, where a log-utility has no gradient).
"""

import math
from dataclasses import dataclass, field

import numpy as np

from netmarl_verify.envs import NetworkedMDP, TabularMDP
from netmarl_verify.envs._memory import check_memory
from netmarl_verify.envs._validation import ShapeError

from ._optimality import policy_iteration
from ._utilities import UtilityDomainError, global_shadow_reward, local_occupancies, utility_value

__all__ = ["utility_optimum", "UtilityOptimum", "policy_occupancy"]

METHODS = ("away", "vanilla", "open_loop")


@dataclass(eq=False)
class UtilityOptimum:
    r"""Result of :func:`utility_optimum`.

    Attributes
    ----------
    value : float
        :math:`F(\lambda)` at the returned iterate (a lower bound on :math:`F^*`).
    gap : float
        The certified Frank–Wolfe gap :math:`g(\lambda) \ge F^* - F(\lambda)` (valid when
        ``certified``).
    lam : ndarray, shape (|S|, |A|)
        The iterate, a point of :math:`\Lambda`.
    local_lams : list of ndarray
        Its marginals :math:`\lambda_i`.
    iterations : int
    converged : bool
        ``gap <= gap_tol``.
    certified : bool
        Every utility is concave, so ``value + gap`` bounds :math:`F^*`.
    method : str
    gaps : ndarray
        The gap at every iteration (the last entry is ``gap``).
    flow_residual : float
        :math:`\max_{s'}|\sum_a\lambda(s',a) - \xi(s') - \gamma\sum_{s,a}P(s'|s,a)\lambda(s,a)|` of the iterate.
    """

    value: float
    gap: float
    lam: np.ndarray = field(repr=False)
    local_lams: list = field(repr=False)
    iterations: int
    converged: bool
    certified: bool
    method: str
    gaps: np.ndarray = field(repr=False)
    flow_residual: float

    @property
    def upper_bound(self):
        r""":math:`F(\lambda) + g(\lambda) \ge F^*`."""
        return self.value + self.gap

    @property
    def policy(self):
        r"""The stationary policy :math:`\pi(a|s) = \lambda(s,a)/\sum_{a'}\lambda(s,a')` whose occupancy is ``lam``.

        Uniform where :math:`\sum_a\lambda(s,a) = 0` (states the iterate never visits).
        """
        tot = self.lam.sum(axis=1, keepdims=True)
        uniform = np.full_like(self.lam, 1.0 / self.lam.shape[1])
        with np.errstate(invalid="ignore", divide="ignore"):
            return np.where(tot > 0, self.lam / np.where(tot > 0, tot, 1.0), uniform)


def _check_mdp(mdp, state_sizes, action_sizes):
    if isinstance(mdp, NetworkedMDP):
        S, A = mdp.state_sizes, mdp.action_sizes
        mdp = mdp.to_tabular()
    elif isinstance(mdp, TabularMDP):
        S, A = (mdp.n_states,), (mdp.n_actions,)
    else:
        raise TypeError(f"expected a TabularMDP or a NetworkedMDP, got {type(mdp).__name__}")
    S = S if state_sizes is None else tuple(int(x) for x in state_sizes)
    A = A if action_sizes is None else tuple(int(x) for x in action_sizes)
    if math.prod(S) != mdp.n_states or math.prod(A) != mdp.n_actions or len(S) != len(A):
        raise ShapeError(f"state_sizes {S} and action_sizes {A} do not factor the {mdp.n_states} states and "
                         f"{mdp.n_actions} actions of the model")
    return mdp, S, A


def _check_initial(initial, nS):
    if initial is None:
        return np.full(nS, 1.0 / nS)
    xi = np.asarray(initial, dtype=float)
    if xi.shape != (nS,) or not np.isfinite(xi).all() or (xi < 0).any() or abs(float(xi.sum()) - 1.0) > 1e-10:
        raise ValueError(f"initial must be a probability vector over the {nS} global states")
    return xi


def policy_occupancy(mdp, pi, gamma, initial=None):
    r"""Unnormalised occupancy :math:`\lambda(s,a) = x(s)\pi(a|s)`, :math:`(I - \gamma P_\pi^\top)x = \xi` (ying2023 eq. (2)).

    A dense direct solve on a :class:`~netmarl_verify.envs.TabularMDP`, for a deterministic policy
    (int array, shape (|S|,)) or a table ``pi[s, a]``.

    Returns
    -------
    ndarray, shape (|S|, |A|)
    """
    P = mdp.P
    nS, nA = mdp.n_states, mdp.n_actions
    xi = _check_initial(initial, nS)
    pi = np.asarray(pi)
    if pi.ndim == 1:
        table = np.zeros((nS, nA))
        table[np.arange(nS), pi.astype(np.int64)] = 1.0
    else:
        table = np.asarray(pi, dtype=float)
    check_memory(8.0 * nS * nS * 3, f"the dense occupancy system ({nS} x {nS})")
    P_pi = np.einsum("sa,sat->st", table, P)
    x = np.linalg.solve(np.eye(nS) - gamma * P_pi.T, xi)
    return np.maximum(x, 0.0)[:, None] * table


def _flow_residual(mdp, lam, xi, gamma):
    inflow = np.einsum("sa,sat->t", lam, mdp.P)
    return float(np.abs(lam.sum(axis=1) - xi - gamma * inflow).max())


def _objective(utilities, S, A):
    def F(lam):
        return utility_value(utilities, local_occupancies(lam, S, A))

    def grad(lam):
        return global_shadow_reward(utilities, local_occupancies(lam, S, A))

    return F, grad


def _oracle(mdp, G, gamma, xi):
    """Vertex of Λ maximising <G, λ> and a certified upper bound on that maximum."""
    if not np.isfinite(G).all():
        idx = tuple(int(k) for k in np.argwhere(~np.isfinite(G))[0])
        raise UtilityDomainError(
            f"the shadow reward is not finite at (s, a) = {idx} (value {float(G[idx])!r}): the utility is not "
            "differentiable at the iterate (a log of a zero occupancy); start from an interior point "
            "(lam0) or use an initial distribution with full support")
    opt = policy_iteration(TabularMDP(mdp.P, G), gamma)
    vertex = policy_occupancy(mdp, opt.policy, gamma, xi)
    upper = float(xi @ opt.V) + opt.error_bound
    return vertex, upper, tuple(int(a) for a in opt.policy)


def _line_search(grad, lam, direction, t_max):
    """argmax of the concave φ(t) = F(lam + t·direction) on [0, t_max], as the root of φ'(t).

    φ'(t) = <∇F(lam + t·direction), direction> is nonincreasing (F concave), so the maximiser is
    t_max if φ'(t_max) >= 0, 0 if φ'(0) <= 0, else the root (Brent, to a few ulps of t). Working on
    φ' rather than φ matters near the optimum: a step's gain is ~gap², below the rounding of F once
    the gap is ~1e-8, while φ' keeps the full relative accuracy of the gradient. Outside a
    log-utility's domain, or where its gradient is infinite (a zero occupancy approached along the
    segment), φ' counts as negative.
    """
    from scipy.optimize import brentq

    def dphi(t):
        try:
            G = grad(lam + t * direction)
        except UtilityDomainError:
            return -math.inf
        with np.errstate(invalid="ignore"):
            terms = np.where(direction != 0.0, G * direction, 0.0)
        v = float(terms.sum())
        return v if not math.isnan(v) else -math.inf

    if dphi(0.0) <= 0.0:
        return 0.0
    if dphi(t_max) >= 0.0:
        return t_max
    return float(brentq(dphi, 0.0, t_max, xtol=4.0 * np.finfo(float).eps * t_max,
                        rtol=4.0 * np.finfo(float).eps, maxiter=200))


def utility_optimum(mdp, gamma, utilities, initial=None, *, state_sizes=None, action_sizes=None,
                    gap_tol=1e-9, max_iter=2000, method="away", lam0=None):
    r"""Maximise a concave :math:`F(\lambda) = \frac1n\sum_i f_i(\lambda_i)` over :math:`\Lambda` by Frank–Wolfe, with a certified gap.

    Parameters
    ----------
    mdp : TabularMDP or NetworkedMDP
        A :class:`~netmarl_verify.envs.NetworkedMDP` is compiled with ``to_tabular()`` (small
        instances) and its ``state_sizes`` / ``action_sizes`` are used for the marginals.
    gamma : float in [0, 1)
    utilities : utility or sequence of utilities
        One per agent (module :mod:`._utilities`); a single utility is the single-agent case
        (the marginal is :math:`\lambda` itself).
    initial : ndarray, shape (|S|,), optional
        :math:`\xi` on global states (default uniform).
    state_sizes, action_sizes : sequence of int, optional
        The factorisation of the global indices (mixed radix, agent 0 most significant); default
        the NetworkedMDP's, or one agent for a TabularMDP.
    gap_tol : float
        Stop when the certified gap is at most this.
    max_iter : int
    method : {"away", "vanilla", "open_loop"}
        Module docstring.
    lam0 : ndarray, shape (|S|, |A|), optional
        A starting point of :math:`\Lambda` (default: the occupancy of the uniform policy, interior
        when :math:`\xi` reaches every state).

    Returns
    -------
    UtilityOptimum
        ``value <= F* <= value + gap`` when ``certified`` (all utilities concave).

    Raises
    ------
    UtilityDomainError
        When the gradient is not finite at an iterate (a log-utility at a zero occupancy).

    References
    ----------
    ying2023 eq. (3), (5) and Remark 2; Frank & Wolfe (1956); Lacoste-Julien & Jaggi (2015).

    Examples
    --------
    >>> import numpy as np
    >>> from netmarl_verify.envs import TabularMDP
    >>> from netmarl_verify.solvers.exact._utilities import LinearUtility
    >>> mdp = TabularMDP(np.full((2, 2, 2), 0.5), np.zeros((2, 2)))
    >>> res = utility_optimum(mdp, 0.5, LinearUtility(np.array([[0.0, 1.0], [0.0, 2.0]])))
    >>> round(res.value, 12), res.gap <= 1e-9   # best action always: (0.5*1 + 0.5*2)/(1 - 0.5)
    (3.0, True)
    """
    if method not in METHODS:
        raise ValueError(f"method must be one of {METHODS}, got {method!r}")
    gamma = float(gamma)
    if not 0.0 <= gamma < 1.0:
        raise ValueError(f"gamma must be in [0, 1), got {gamma}")
    mdp, S, A = _check_mdp(mdp, state_sizes, action_sizes)
    utilities = [utilities] if hasattr(utilities, "gradient") else list(utilities)
    if len(utilities) != len(S):
        raise ShapeError(f"need one utility per agent ({len(S)}), got {len(utilities)}")
    xi = _check_initial(initial, mdp.n_states)
    F, grad = _objective(utilities, S, A)
    certified = all(bool(getattr(u, "concave", False)) for u in utilities)

    if lam0 is None:
        lam = policy_occupancy(mdp, np.full((mdp.n_states, mdp.n_actions), 1.0 / mdp.n_actions), gamma, xi)
    else:
        lam = np.array(lam0, dtype=float)
        if lam.shape != (mdp.n_states, mdp.n_actions):
            raise ShapeError(f"lam0 must have shape {(mdp.n_states, mdp.n_actions)}, got {lam.shape}")
        res0 = _flow_residual(mdp, lam, xi, gamma)
        if (lam < 0).any() or res0 > 1e-9 / (1.0 - gamma):
            raise UtilityDomainError(f"lam0 is not a point of the occupancy polytope (min {float(lam.min())!r}, "
                                     f"flow residual {res0:.3g})")
    atoms = [lam.copy()]
    keys = ["start"]
    weights = [1.0]
    gaps = []
    max_iter = int(max_iter)
    for t in range(max_iter + 1):  # t = steps taken so far; the gap is always that of the current λ
        G = grad(lam)
        vertex, upper, key = _oracle(mdp, G, gamma, xi)
        gap = upper - float((G * lam).sum())
        gaps.append(gap)
        if gap <= gap_tol or t == max_iter:
            break
        if method == "open_loop":
            lam = lam + 2.0 / (t + 3.0) * (vertex - lam)  # 2/(k+2) at step k = t+1: never the bare vertex
            continue
        fw_dir = vertex - lam
        use_away = False
        if method == "away" and len(atoms) > 1:
            scores = [float((G * a).sum()) for a in atoms]
            j = int(np.argmin(scores))
            away_dir = lam - atoms[j]
            if float((G * away_dir).sum()) > float((G * fw_dir).sum()):
                use_away = True
        if use_away:
            wj = weights[j]
            t_max = wj / (1.0 - wj) if wj < 1.0 else 1.0
            step = _line_search(grad, lam, away_dir, t_max)
            lam = lam + step * away_dir
            weights = [w * (1.0 + step) for w in weights]
            weights[j] -= step
            if step >= t_max * (1.0 - 1e-12):  # drop step: the atom leaves the active set
                del atoms[j], keys[j], weights[j]
        else:
            step = _line_search(grad, lam, fw_dir, 1.0)
            lam = lam + step * fw_dir
            weights = [w * (1.0 - step) for w in weights]
            if key in keys:
                weights[keys.index(key)] += step
            else:
                atoms.append(vertex)
                keys.append(key)
                weights.append(step)
            if step >= 1.0:
                atoms, keys, weights = [vertex], [key], [1.0]
        if method == "away":  # prune zero weights and rebuild λ from the atoms (no drift)
            keep = [k for k, w in enumerate(weights) if w > 0.0]
            atoms = [atoms[k] for k in keep]
            keys = [keys[k] for k in keep]
            weights = [weights[k] for k in keep]
            total = sum(weights)
            weights = [w / total for w in weights]
            lam = sum(w * a for w, a in zip(weights, atoms))
    gap = gaps[-1]
    return UtilityOptimum(value=F(lam), gap=float(gap), lam=lam, local_lams=local_occupancies(lam, S, A),
                          iterations=t, converged=bool(gap <= gap_tol), certified=certified, method=method,
                          gaps=np.asarray(gaps), flow_residual=_flow_residual(mdp, lam, xi, gamma))
