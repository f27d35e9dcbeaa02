r"""Exact quantities on zhang2025's grid Simple Spread at full size (App. D.1), from the deterministic successor table.

:class:`~netmarl_verify.envs._zhang2025.SpreadGrid` stores ``next_state[s, a]`` (transitions are deterministic given
the joint action), so every exact quantity is a sparse or gather computation, never a dense
:math:`|S|\times|A|\times|S|` kernel (13 x 5, N = 2: 4,225 states, 25 joint actions; N = 3: 274,625 and 125):

* :func:`spread_optimal_values` — value iteration :math:`V \leftarrow \max_a r(s,a) + \gamma V(\text{next}(s,a))`, stopped
  when the residual certificate :math:`\|TV - V\|_\infty(1-\gamma)^{-1}\gamma` is below ``tol``;
* :func:`spread_policy_values` — :math:`(I-\gamma P_\pi)V = r_\pi` by a sparse direct solve;
* :func:`spread_episode_return` — the experiments' metric: the expected sum of rewards over an episode of
  ``horizon`` steps from :math:`\rho_0` (backward recursion, undiscounted unless ``gamma`` is given);
* :func:`spread_optimal_episode_return` — the optimal expected episode return (backward recursion with the
  maximum over joint actions);
* :func:`sparse_restart_stationary` and :func:`sparse_visitation` — Lemma 4.2's two sides on a sparse
  :math:`P_\pi`: the stationary law of :math:`\tilde P_\pi` by the fixed-point iteration
  :math:`x \leftarrow \gamma x^\top P_\pi + (1-\gamma)\rho_0` (a γ-contraction in ℓ1, stopped at ``tol``), and
  :math:`\eta^\top = \rho_0^\top(I-\gamma P_\pi)^{-1}` by a sparse direct solve.
"""

from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp
import scipy.sparse.linalg as spla

__all__ = ["SpreadOptimum", "spread_optimal_values", "spread_policy_values", "spread_episode_return",
           "spread_optimal_episode_return",
           "sparse_restart_stationary", "sparse_visitation"]


@dataclass
class SpreadOptimum:
    """Optimal values of the grid Simple Spread.

    Attributes
    ----------
    V : ndarray, shape (|S|,)
    policy : ndarray of int, shape (|S|,)
        A greedy optimal joint action per state.
    residual : float
        :math:`\\|TV - V\\|_\\infty` at the returned V.
    error_bound : float
        :math:`\\gamma\\,\\text{residual}/(1-\\gamma)`, a bound on :math:`\\|V - V^*\\|_\\infty`.
    iterations : int
    """

    V: np.ndarray
    policy: np.ndarray
    residual: float
    error_bound: float
    iterations: int


def spread_optimal_values(grid, gamma, tol=1e-10, max_iter=100_000):
    """Value iteration on ``grid.next_state`` / ``grid.reward`` (:class:`SpreadOptimum`).

    Raises
    ------
    RuntimeError
        If the certificate is not reached within `max_iter` sweeps.
    """
    gamma = float(gamma)
    if not 0.0 < gamma < 1.0:
        raise ValueError(f"`gamma` must be in (0, 1), got {gamma}")
    nxt, R = grid.next_state, grid.reward
    V = np.zeros(grid.n_states)
    for it in range(1, int(max_iter) + 1):
        Q = R + gamma * V[nxt]
        V_new = Q.max(axis=1)
        res = float(np.abs(V_new - V).max())
        V = V_new
        if gamma * res / (1 - gamma) <= tol:
            Q = R + gamma * V[nxt]
            res = float(np.abs(Q.max(axis=1) - V).max())
            return SpreadOptimum(V=V, policy=Q.argmax(axis=1), residual=res, error_bound=gamma * res / (1 - gamma),
                                 iterations=it)
    raise RuntimeError(f"value iteration did not reach the certificate {tol} in {max_iter} sweeps "
                       f"(last residual {res:.3g})")


def _kernel(grid, joint_table):
    return grid.policy_kernel(joint_table)


def spread_policy_values(grid, joint_table, gamma):
    r""":math:`V_\pi` by a sparse direct solve of :math:`(I - \gamma P_\pi)V = r_\pi`."""
    P = _kernel(grid, joint_table)
    r = (np.asarray(joint_table) * grid.reward).sum(axis=1)
    return spla.spsolve((sp.identity(grid.n_states, format="csc") - gamma * P).tocsc(), r)


def spread_episode_return(grid, joint_table, horizon=10, rho0=None, gamma=1.0):
    r""":math:`E_{s_0\sim\rho_0}\sum_{t<H}\gamma^t r(s_t,a_t)` by backward recursion (the D.1 "reward signal" per episode).

    With ``joint_table`` of shape (|S|, |A|) for a stationary policy.
    """
    pi = np.asarray(joint_table, dtype=np.float64)
    rho0 = grid.rho0 if rho0 is None else np.asarray(rho0, dtype=np.float64)
    V = np.zeros(grid.n_states)
    for _ in range(int(horizon)):
        V = (pi * (grid.reward + gamma * V[grid.next_state])).sum(axis=1)
    return float(rho0 @ V)


def spread_optimal_episode_return(grid, horizon=10, rho0=None):
    r"""Exact optimal :math:`\max_\pi E_{s_0\sim\rho_0}\sum_{t<H}r(s_t,a_t)` by backward recursion with the maximum
    over joint actions (undiscounted; the ablations' regret, zhang2025 App. D.1 Fig. 8).

    Examples
    --------
    >>> from netmarl_verify.envs._zhang2025 import SpreadGrid
    >>> g = SpreadGrid(2, 3, 2)
    >>> bool(spread_optimal_episode_return(g, 1) == g.rho0 @ g.reward.max(axis=1))
    True
    """
    rho0 = grid.rho0 if rho0 is None else np.asarray(rho0, dtype=np.float64)
    V = np.zeros(grid.n_states)
    for _ in range(int(horizon)):
        V = (grid.reward + V[grid.next_state]).max(axis=1)
    return float(rho0 @ V)


def sparse_restart_stationary(P, gamma, rho0, tol=1e-14, max_iter=1_000_000):
    r"""Stationary law of :math:`\gamma P + (1-\gamma)\mathbb 1\rho_0^\top` by its γ-contraction fixed-point iteration.

    Returns ``(nu, residual)`` with residual :math:`\|\nu^\top\tilde P - \nu^\top\|_1`.
    """
    PT = sp.csr_matrix(P).T.tocsr()
    rho0 = np.asarray(rho0, dtype=np.float64)
    x = rho0.copy()
    for _ in range(int(max_iter)):
        x_new = gamma * (PT @ x) + (1 - gamma) * rho0
        res = float(np.abs(x_new - x).sum())
        x = x_new
        if res <= tol:
            break
    else:
        raise RuntimeError(f"the restart fixed point did not converge to {tol} (last step {res:.3g})")
    return x, float(np.abs(gamma * (PT @ x) + (1 - gamma) * rho0 - x).sum())


def sparse_visitation(P, gamma, rho0):
    r""":math:`\eta = (I - \gamma P^\top)^{-1}\rho_0` (unnormalised, sums to :math:`1/(1-\gamma)`), sparse direct solve."""
    n = P.shape[0]
    A = (sp.identity(n, format="csc") - gamma * sp.csr_matrix(P).T).tocsc()
    return spla.spsolve(A, np.asarray(rho0, dtype=np.float64))
