r"""zhang2025's restart kernel: its stationary law (Lemma 4.2), the experiments' reset law, mixing (Lemma 5.4).

Notation (zhang2025 §3.1, Lemma 4.2, App. B.1). :math:`\mathbb P_\pi(s'|s) = \sum_a\pi(a|s)\mathbb P(s'|s,a)` is the
original state kernel under the policy, and the restart kernel is

.. math:: \tilde P_\pi = \gamma\,\mathbb P_\pi + (1-\gamma)\,\mathbb 1\rho_0^\top,

with :math:`\rho_0 = e_{s_0}` in the paper (the general :math:`\rho_0` is the guide's variant, §1.3). The visitation
*measure* (unnormalised, :math:`\sum_s\eta(s) = 1/(1-\gamma)`) is

.. math:: \eta^\top = \rho_0^\top (I - \gamma\mathbb P_\pi)^{-1}, \qquad
          \eta(s') = \rho_0(s') + \gamma\sum_s\eta(s)\mathbb P_\pi(s\to s'),

and Lemma 4.2 states :math:`\nu = (1-\gamma)\eta` for the stationary law :math:`\nu^\top\tilde P_\pi = \nu^\top`. Here
:math:`\nu` is computed by the package's stationary solver on :class:`~._operator.RestartOperator` (for
:math:`\rho_0 = e_{s_0}`) or on the restart :class:`~netmarl_verify.envs.TabularMDP` of :func:`restart_mdp`, and
:math:`\eta` by the discounted visitation solve (:func:`~._occupancy.discounted_visitation`): two different linear
systems, so the identity is a real check.

The experiments (App. D.1) do not restart with probability :math:`1-\gamma` but reset to :math:`\rho_0` every
L = 10 steps; their long-run state law is :math:`\frac1L\sum_{t<L}\rho_0^\top\mathbb P_\pi^t` (:func:`reset_law`).

Mixing (Lemma 5.4). For a signed :math:`x` with :math:`x^\top\mathbb 1 = 0`, :math:`x^\top\tilde P_\pi = \gamma x^\top\mathbb P_\pi`,
so :math:`e_s^\top\tilde P_\pi^t - \nu^\top = \gamma^t(e_s - \nu)^\top\mathbb P_\pi^t` and

.. math:: \sup_s\|P(s_t\in\cdot|s_0=s) - \nu\|_{TV} \le \gamma^t\max_s(1-\nu(s)) \le \gamma^t,

i.e. Lemma 5.4 holds with :math:`\kappa = 1, \rho = \gamma` (TV = ½‖·‖₁); the law of :math:`(s_t, a_t)` has the same
TV distance to :math:`\nu(s)\pi(a|s)` because both share the conditional :math:`\pi(a|s)`. :func:`mixing_curve`
computes the exact curve.
"""

from dataclasses import dataclass

import numpy as np

from netmarl_verify.envs import TabularMDP, check_policy_table
from netmarl_verify.envs._validation import fmt_number

from ._evaluation import evaluate_policy, stationary_distribution
from ._model import as_model
from ._occupancy import discounted_visitation
from ._operator import RestartOperator

__all__ = ["restart_law", "restart_kernel", "restart_mdp", "restart_stationary", "visitation_measure",
           "reset_law", "mixing_curve", "RestartLaws", "restart_laws"]


def _check_gamma01(gamma):
    gamma = float(gamma)
    if not 0.0 < gamma < 1.0:
        raise ValueError(f"`gamma` must be in (0, 1), got {fmt_number(gamma)}")
    return gamma


def restart_law(n_states, s0=None, rho0=None):
    r"""The restart law :math:`\rho_0`: :math:`e_{s_0}` (``s0``) or a given distribution (``rho0``); exactly one."""
    if (s0 is None) == (rho0 is None):
        raise ValueError("give exactly one of `s0` (restart state) and `rho0` (restart distribution)")
    if s0 is not None:
        s0 = int(s0)
        if not 0 <= s0 < n_states:
            raise ValueError(f"`s0` must be a state index in 0..{n_states - 1}, got {s0}")
        out = np.zeros(n_states)
        out[s0] = 1.0
        return out
    rho = np.asarray(rho0, dtype=np.float64).reshape(-1)
    if rho.shape != (n_states,) or (rho < 0).any() or abs(rho.sum() - 1) > 1e-10:
        raise ValueError(f"`rho0` must be a distribution over the {n_states} states")
    return rho


def restart_mdp(mdp, gamma, s0=None, rho0=None):
    r"""The MAMDP of §3.1 whose kernel is the restart kernel, :math:`\gamma\mathbb P(s'|s,a) + (1-\gamma)\rho_0(s')`.

    Returns a :class:`~netmarl_verify.envs.TabularMDP` with the same rewards.
    """
    gamma = _check_gamma01(gamma)
    rho = restart_law(mdp.n_states, s0, rho0)
    return TabularMDP(gamma * mdp.P + (1.0 - gamma) * rho[None, None, :], mdp.R)


def restart_kernel(mdp, pi, gamma, s0=None, rho0=None):
    r"""Dense :math:`\tilde P_\pi = \gamma\mathbb P_\pi + (1-\gamma)\mathbb 1\rho_0^\top`, shape (|S|, |S|)."""
    gamma = _check_gamma01(gamma)
    pi = check_policy_table(pi, mdp.n_states, mdp.n_actions)
    rho = restart_law(mdp.n_states, s0, rho0)
    return gamma * np.einsum("sa,sat->st", pi, mdp.P) + (1.0 - gamma) * rho[None, :]


def restart_stationary(mdp, pi, gamma, s0=None, rho0=None):
    r"""Stationary law :math:`\nu` of the restart chain (the package's stationary solver).

    ``s0``: on :class:`~._operator.RestartOperator` (the paper's kernel); ``rho0``: on :func:`restart_mdp`.

    Examples
    --------
    >>> import numpy as np
    >>> from netmarl_verify.envs import TabularMDP
    >>> mdp = TabularMDP(np.array([[[0.0, 1.0]], [[1.0, 0.0]]]), np.zeros((2, 1)))   # the swap
    >>> restart_stationary(mdp, np.ones((2, 1)), 0.5, s0=0).round(6).tolist()
    [0.666667, 0.333333]
    """
    gamma = _check_gamma01(gamma)
    pi = check_policy_table(pi, mdp.n_states, mdp.n_actions)
    if s0 is not None and rho0 is None:
        return evaluate_policy(operator=RestartOperator(as_model(mdp, pi), gamma, int(s0)), periodic="cesaro").stationary
    return stationary_distribution(restart_mdp(mdp, gamma, s0, rho0), pi)


def visitation_measure(mdp, pi, gamma, s0=None, rho0=None):
    r"""The visitation measure :math:`\eta^\top = \rho_0^\top(I-\gamma\mathbb P_\pi)^{-1}` (unnormalised: sums to :math:`1/(1-\gamma)`)."""
    gamma = _check_gamma01(gamma)
    rho = restart_law(mdp.n_states, s0, rho0)
    return discounted_visitation(mdp, pi, gamma, rho) / (1.0 - gamma)


def reset_law(mdp, pi, rho0, period=10):
    r"""Long-run state law of the experiments' periodic resets: :math:`\frac1L\sum_{t=0}^{L-1}\rho_0^\top\mathbb P_\pi^t`."""
    pi = check_policy_table(pi, mdp.n_states, mdp.n_actions)
    Ppi = np.einsum("sa,sat->st", pi, mdp.P)
    x = restart_law(mdp.n_states, None, rho0)
    acc = np.zeros_like(x)
    for _ in range(int(period)):
        acc += x
        x = x @ Ppi
    return acc / int(period)


def mixing_curve(P_tilde, nu, t_max):
    r""":math:`\sup_s\|e_s^\top\tilde P^t - \nu^\top\|_{TV}` for t = 0..t_max (TV = ½‖·‖₁), shape (t_max + 1,)."""
    P_tilde = np.asarray(P_tilde, dtype=np.float64)
    D = np.eye(P_tilde.shape[0]) - np.asarray(nu)[None, :]
    out = np.empty(int(t_max) + 1)
    for t in range(int(t_max) + 1):
        out[t] = 0.5 * np.abs(D).sum(axis=1).max()
        D = D @ P_tilde
    return out


@dataclass
class RestartLaws:
    r"""The laws of Lemma 4.2 on one (model, policy).

    Attributes
    ----------
    nu : ndarray
        Stationary law of :math:`\tilde P_\pi` (:func:`restart_stationary`).
    eta : ndarray
        Visitation measure (:func:`visitation_measure`).
    P_tilde : ndarray
        :math:`\tilde P_\pi` (dense).
    stationarity_residual : float
        :math:`\|\nu^\top\tilde P_\pi - \nu^\top\|_\infty`.
    gap : float
        :math:`\max_s|\nu(s) - (1-\gamma)\eta(s)|`.
    unreachable : ndarray of int
        States with :math:`\nu = 0` (not reachable from the restart law).
    """

    nu: np.ndarray
    eta: np.ndarray
    P_tilde: np.ndarray
    stationarity_residual: float
    gap: float
    unreachable: np.ndarray


def restart_laws(mdp, pi, gamma, s0=None, rho0=None):
    """Everything of Lemma 4.2 at once (:class:`RestartLaws`)."""
    nu = restart_stationary(mdp, pi, gamma, s0, rho0)
    eta = visitation_measure(mdp, pi, gamma, s0, rho0)
    Pt = restart_kernel(mdp, pi, gamma, s0, rho0)
    return RestartLaws(nu=nu, eta=eta, P_tilde=Pt, stationarity_residual=float(np.abs(nu @ Pt - nu).max()),
                       gap=float(np.abs(nu - (1 - gamma) * eta).max()), unreachable=np.flatnonzero(nu <= 1e-15))
