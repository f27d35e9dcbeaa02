r"""zhang2025's exact policy-gradient quantities: Adv, the advantage PG (Lemma 4.3), Fisher information, ε_bias, J*.

Everything is on a :class:`~netmarl_verify.envs.ZhangMAMDP` (global state, joint action, product softmax policy
:class:`~netmarl_verify.envs.ProductSoftmaxPolicy`, score :math:`\psi(s,a) = \nabla_\theta\log\pi_\theta(a|s)` with
agent blocks :math:`\psi^i(s,a^i)`).

Kernel convention (guide §2). ``kernel="original"``: the objective :math:`J(\theta) = V_\theta(s_0)`, Q and Adv are
computed on the original kernel :math:`\mathbb P` (eq. (1)-(4) with the visitation of Lemma 4.2, which is defined
with :math:`\mathbb P`); ``kernel="restart"``: on the restart kernel :math:`\tilde P = \gamma\mathbb P + (1-\gamma)e_{s_0}`
with discount γ (the MAMDP tuple of §3.1 names it as the transition kernel). In both modes :math:`\nu` is the
stationary law of the restart chain (Lemma 4.2), the law the actor samples from.

Exact gradient (Sutton & Barto 2018, §13.2, as B.2 cites it):
:math:`\nabla J = \sum_s\eta_K(s)\sum_a\pi(a|s)\psi(s,a)\mathrm{Adv}_K(s,a)`, :math:`\eta_K = e_{s_0}^\top(I-\gamma K_\pi)^{-1}`
on the objective's kernel K. Lemma 4.3 (B.2's constant) reads
:math:`\nabla_{\theta^i}J = \frac1{1-\gamma}E_{s\sim\nu,a\sim\pi}[\psi^i\mathrm{Adv}]`, exact when K = :math:`\mathbb P`
(then :math:`\nu = (1-\gamma)\eta_K`); with K = :math:`\tilde P` it is not (:math:`\eta_{\tilde P} \not\propto \nu`).

Fisher information (Assumption 5.5, the reading :math:`E_{\nu(\theta)}[\psi\psi^\top]`):
:math:`F(\theta) = \sum_s\nu(s)\sum_a\pi(a|s)\psi\psi^\top`. For a product policy the agent blocks are
uncorrelated given s (:math:`E_{a^i}[\psi^i] = 0`), so F is block diagonal. The compatible weights
(Assumption 5.6) :math:`w^* = F^\dagger E_\nu[\psi\,\mathrm{Adv}] = (1-\gamma)F^\dagger\nabla J` minimise
:math:`E_\nu[(\mathrm{Adv} - w^\top\psi)^2]`.

:math:`J^* = V^*(s_0)` by the package's optimal-value solver (:func:`~._optimality.optimal_values`) on the joint
action (a product of deterministic per-agent policies attains it).
"""

from dataclasses import dataclass

import numpy as np

from ._gradient import central_difference_gradient

from ._evaluation import evaluate_policy
from ._model import as_model
from ._operator import RestartOperator
from ._optimality import optimal_values
from ._restart import restart_stationary, visitation_measure

__all__ = ["KERNELS", "advantage", "exact_objective", "AdvantageGradient", "advantage_policy_gradient",
           "fisher_information", "compatible_weights", "EpsilonBias",
           "epsilon_bias", "optimal_objective", "pair_values"]

KERNELS = ("original", "restart")


def _check_kernel(kernel):
    if kernel not in KERNELS:
        raise ValueError(f"`kernel` must be one of {KERNELS}, got {kernel!r}")
    return kernel


def advantage(Q, pi):
    r""":math:`\mathrm{Adv}(s,a) = Q(s,a) - \sum_{a'}\pi(a'|s)Q(s,a')` (eq. (4)); ``Q``, ``pi`` shape (|S|, |A|)."""
    Q = np.asarray(Q, dtype=np.float64)
    return Q - (np.asarray(pi) * Q).sum(axis=1, keepdims=True)


def pair_values(model, pi, kernel="original", rewards=None):
    r"""``(V, Q)`` of the policy table ``pi`` on the kernel of `kernel` (the package's discounted evaluation).

    ``rewards`` (shape (|S|, |A|)) replaces the team reward (e.g. a local reward :math:`r^i`).
    """
    _check_kernel(kernel)
    mdp = model.mdp
    if rewards is not None:
        from netmarl_verify.envs import TabularMDP

        mdp = TabularMDP(mdp.P, rewards)
    op = as_model(mdp, pi)
    if kernel == "restart":
        op = RestartOperator(op, model.gamma, model.s0)
    ev = evaluate_policy(operator=op, gamma=model.gamma)
    nS, nA = mdp.n_states, mdp.n_actions
    Q = ev.q(np.repeat(np.arange(nS), nA), np.tile(np.arange(nA), nS)).reshape(nS, nA)
    return ev.global_values.copy(), Q


def exact_objective(model, policy=None, kernel="original"):
    r""":math:`J(\theta) = V_\theta(s_0)` (eq. (1)) on the kernel of `kernel`."""
    policy = model.policy if policy is None else policy
    V, _ = pair_values(model, policy.joint_table(), kernel)
    return float(V[model.s0])


@dataclass
class AdvantageGradient:
    r"""Exact quantities of Lemma 4.3 at one θ.

    Attributes
    ----------
    kernel : str
    J : float
    Q, adv : ndarray, shape (|S|, |A|)
    pi : ndarray, shape (|S|, |A|)
    nu : ndarray, shape (|S|,)
        Restart-chain stationary law (Lemma 4.2).
    eta : ndarray, shape (|S|,)
        Visitation measure from :math:`s_0` on the objective's kernel.
    scores : ndarray, shape (|S|, |A|, p)
    grad : ndarray, shape (p,)
        Exact :math:`\nabla J` (Sutton & Barto §13.2 on the objective's kernel).
    nu_adv, nu_q : ndarray, shape (p,)
        :math:`E_{\nu,\pi}[\psi\,\mathrm{Adv}]` and :math:`E_{\nu,\pi}[\psi\,Q]`.
    blocks : list of slice
    """

    kernel: str
    J: float
    Q: np.ndarray
    adv: np.ndarray
    pi: np.ndarray
    nu: np.ndarray
    eta: np.ndarray
    scores: np.ndarray
    grad: np.ndarray
    nu_adv: np.ndarray
    nu_q: np.ndarray
    blocks: list


def advantage_policy_gradient(model, policy=None, kernel="original"):
    """Exact :class:`AdvantageGradient` of `policy` (default the model's) on `model`.

    Examples
    --------
    >>> from netmarl_verify.envs._zhang2025 import random_mamdp
    >>> m = random_mamdp(2, 3, 2, seed=0)
    >>> g = advantage_policy_gradient(m)
    >>> bool(np.allclose(g.grad, g.nu_adv / (1 - m.gamma), rtol=1e-10, atol=1e-12))     # Lemma 4.3 (B.2)
    True
    """
    policy = model.policy if policy is None else policy
    _check_kernel(kernel)
    pi = policy.joint_table()
    V, Q = pair_values(model, pi, kernel)
    adv = advantage(Q, pi)
    nu = restart_stationary(model.mdp, pi, model.gamma, s0=model.s0)
    if kernel == "original":
        eta = visitation_measure(model.mdp, pi, model.gamma, s0=model.s0)
    else:
        from ._restart import restart_mdp

        eta = visitation_measure(restart_mdp(model.mdp, model.gamma, s0=model.s0), pi, model.gamma, s0=model.s0)
    psi = policy.joint_scores()
    w = pi[:, :, None] * psi
    grad = np.einsum("s,sap,sa->p", eta, w, adv)
    return AdvantageGradient(kernel=kernel, J=float(V[model.s0]), Q=Q, adv=adv, pi=pi, nu=nu, eta=eta, scores=psi,
                             grad=grad, nu_adv=np.einsum("s,sap,sa->p", nu, w, adv),
                             nu_q=np.einsum("s,sap,sa->p", nu, w, Q), blocks=list(policy.blocks))


def fisher_information(scores, pi, weights):
    r""":math:`F = \sum_s w(s)\sum_a\pi(a|s)\psi(s,a)\psi(s,a)^\top`, shape (p, p) (``weights`` = ν for Assumption 5.5)."""
    w = np.asarray(weights)[:, None] * np.asarray(pi)
    return np.einsum("sa,sap,saq->pq", w, scores, scores)


def compatible_weights(F, g, rcond=1e-10):
    r""":math:`F^\dagger g` (``numpy.linalg.pinv`` with relative cut-off `rcond`)."""
    return np.linalg.pinv(F, rcond=rcond) @ g


def optimal_objective(model):
    r""":math:`J^* = V^*(s_0)` and a deterministic optimal joint policy (:class:`~._optimality.OptimalValues`)."""
    opt = optimal_values(model.mdp, model.gamma)
    return float(opt.V[model.s0]), opt


@dataclass
class EpsilonBias:
    r"""Assumption 5.6 at one θ.

    Attributes
    ----------
    printed : float
        Reading (a): :math:`E_{d^{\pi^*}\times\pi^*}[\mathrm{Adv} - w^{*\top}\psi]` (no square).
    squared : float
        Reading (b): :math:`E_{d^{\pi^*}\times\pi^*}[(\mathrm{Adv} - w^{*\top}\psi)^2]`.
    w : ndarray
        :math:`w^* = (1-\gamma)F^\dagger\nabla J`.
    w_regression : ndarray
        :math:`F^\dagger E_\nu[\psi\,\mathrm{Adv}]` (equal to `w` by Lemma 4.3, B.2's constant).
    d_star : ndarray
        Normalised visitation of :math:`\pi^*` from :math:`s_0`.
    """

    printed: float
    squared: float
    w: np.ndarray
    w_regression: np.ndarray
    d_star: np.ndarray


def epsilon_bias(model, policy=None, rcond=1e-10):
    """Exact :class:`EpsilonBias` (kernel ``"original"``, π* from :func:`optimal_objective`)."""
    policy = model.policy if policy is None else policy
    g = advantage_policy_gradient(model, policy, "original")
    F = fisher_information(g.scores, g.pi, g.nu)
    w = (1 - model.gamma) * compatible_weights(F, g.grad, rcond)
    _, opt = optimal_objective(model)
    pi_star = np.zeros_like(g.pi)
    pi_star[np.arange(model.n_states), opt.policy] = 1.0
    d_star = (1 - model.gamma) * visitation_measure(model.mdp, pi_star, model.gamma, s0=model.s0)
    resid = g.adv - g.scores @ w
    weights = d_star[:, None] * pi_star
    return EpsilonBias(printed=float((weights * resid).sum()), squared=float((weights * resid ** 2).sum()), w=w,
                       w_regression=compatible_weights(F, g.nu_adv, rcond), d_star=d_star)
