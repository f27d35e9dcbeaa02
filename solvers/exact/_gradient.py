r"""Exact policy gradients of softmax policies, and the finite-difference cross-check.

Average reward (qu2020 Lemma 1, Sutton et al. 2000):

.. math:: \nabla_\theta J(\theta) = E_{(s,a)\sim\pi^\theta}\big[Q^\theta(s,a)\,\nabla_\theta\log\zeta^\theta(a|s)\big].

With the localized softmax, :math:`\nabla_{\theta_i[x,b]}\log\zeta(a|s) = 1\{s_i=x\}(1\{a_i=b\}-\zeta_i(b|x))`,
so only the agent-marginal :math:`\bar Q_i(s,b)=E_{a_{-i}}[Q(s,(b,a_{-i}))]` is needed:

.. math:: \frac{\partial J}{\partial\theta_i[x,b]} = \sum_{s:\,s_i=x} d(s)\,\zeta_i(b|x)
          \Big(\bar Q_i(s,b) - \sum_c \zeta_i(c|x)\bar Q_i(s,c)\Big).

Discounted: the same with :math:`d` replaced by the unnormalised visitation
:math:`\lambda_{\mu_0}(s)=\sum_t\gamma^t\Pr(s_t=s)` and :math:`Q` the discounted Q; this is the
gradient of :math:`V(\mu_0)=\sum_s\mu_0(s)V(s)`.
"""

import numpy as np

from netmarl_verify.envs import Parametrised, ScoreWeights, as_generator
from netmarl_verify.envs._validation import as_float_array, fmt_number

from ._evaluation import _check_gamma, _shared_evaluation

__all__ = ["policy_gradient", "objective", "finite_difference_gradient", "central_difference_gradient", "check_initial"]


def check_initial(initial, n_states):
    """Validate an initial distribution over global states (default: uniform)."""
    if initial is None:
        return np.full(n_states, 1.0 / n_states)
    mu = as_float_array(initial, "initial").reshape(-1)
    if mu.shape != (n_states,):
        raise ValueError(f"initial must be a distribution over the {n_states} global states, got shape {mu.shape}")
    if not np.all(np.isfinite(mu)) or (mu < 0).any():
        k = int(np.flatnonzero(~np.isfinite(mu) | (mu < 0))[0])
        raise ValueError(f"initial[{k}] = {fmt_number(mu[k])} is not a probability")
    if abs(mu.sum() - 1.0) > 1e-10:
        raise ValueError(f"initial sums to {fmt_number(mu.sum())}, not 1")
    return mu


def objective(mdp, policy, gamma=None, initial=None, *, backend="auto"):
    """The exact objective whose gradient :func:`policy_gradient` returns.

    ``gamma=None``: :math:`J(\\theta)`; otherwise :math:`V(\\mu_0)=\\mu_0^\\top V` of the global reward.
    """
    gamma = _check_gamma(gamma)
    ev = _shared_evaluation(mdp, policy, gamma, backend=backend, periodic="cesaro")
    if gamma is None:
        return ev.J
    mu = check_initial(initial, ev.model.n_states)
    return float(mu @ ev.global_values)


def policy_gradient(mdp, policy, gamma=None, initial=None, *, backend="auto", evaluation=None):
    """Exact gradient of the average reward (qu2020 Lemma 1) or of the discounted value.

    Parameters
    ----------
    mdp : NetworkedMDP or TabularMDP
    policy : LocalSoftmaxPolicy (networked) or TabularSoftmaxPolicy (tabular)
    gamma : float in [0, 1) or None
        ``None``: :math:`\\nabla_\\theta J(\\theta)`; otherwise :math:`\\nabla_\\theta V(\\mu_0)`.
    initial : ndarray, shape (|S|,), optional
        :math:`\\mu_0` for the discounted objective (default uniform). Ignored for average reward.
    backend : {"auto", "dense", "sparse"}
    evaluation : PolicyEvaluation, optional
        Reuse a previous :func:`evaluate_policy` with the same ``gamma``.

    Returns
    -------
    list of ndarray
        Shaped like ``policy.logits``.

    Notes
    -----
    Valid on periodic unichains too: :math:`\\nabla J = d^\\top(\\nabla r_\\pi + \\nabla P_\\pi h)` holds
    for any solution :math:`h` of the Poisson equation. The joint-action table is never built: the
    agent-marginal Q is one contraction per agent (:meth:`~._operator.PolicyOperator.marginal`).

    Examples
    --------
    >>> import numpy as np
    >>> from netmarl_verify.envs import qu2020_line
    >>> from netmarl_verify.solvers.exact import policy_gradient, finite_difference_gradient, objective
    >>> mdp, pol = qu2020_line(3, rng=0)
    >>> g = np.concatenate([x.ravel() for x in policy_gradient(mdp, pol)])
    >>> U, fd = finite_difference_gradient(lambda p: objective(mdp, p), pol, rng=1)
    >>> bool(np.allclose(U @ g, fd, rtol=1e-6, atol=1e-10))
    True
    """
    if not isinstance(policy, Parametrised):
        raise TypeError(
            "policy_gradient differentiates a softmax parametrisation: pass a LocalSoftmaxPolicy "
            f"or a TabularSoftmaxPolicy (any Parametrised policy), got {type(policy).__name__}"
        )
    gamma = _check_gamma(gamma)
    ev = evaluation
    if ev is None:
        ev = _shared_evaluation(mdp, policy, gamma, backend=backend, periodic="cesaro")
    elif ev.gamma != gamma:
        raise ValueError(f"evaluation was computed with gamma={ev.gamma}, not {gamma}")
    ev.require_model_rewards("policy_gradient")
    op = ev.model
    if gamma is None:
        weights = ev.stationary
        qbar = ev.marginal(ev.global_values, 1.0, -ev.J)
    else:
        weights = ev.visitation(check_initial(initial, op.n_states))
        qbar = ev.marginal(ev.global_values, gamma, 0.0)

    # one route for every policy class: sum_{s,a} d(s) pi(a|s) Q(s,a) grad log pi(a|s), handed to the
    # policy in agent-marginal form (d and Qbar_i); the policy sums over the states it does not read
    return policy.score_contract(ScoreWeights(weights, qbar, op.state_shape))


def finite_difference_gradient(objective_fn, policy, rng=None, n_directions=4, eps=1e-5):
    """Central differences of an exact objective along random unit directions.

    Parameters
    ----------
    objective_fn : callable
        ``objective_fn(policy) -> float``, e.g. ``lambda p: objective(mdp, p)``.
    policy : LocalSoftmaxPolicy or TabularSoftmaxPolicy
    rng : int, numpy.random.Generator or None
        See :func:`~netmarl_verify.envs.as_generator`.
    n_directions : int
    eps : float
        Step. The error is :math:`O(\\varepsilon^2 \\|f'''\\|) + O(\\delta/\\varepsilon)` with
        :math:`\\delta \\approx 10^{-16}|f|` the rounding of the exact objective, i.e. about 1e-10
        relative at the default step.

    Returns
    -------
    directions : ndarray, shape (n_directions, p)
    derivatives : ndarray, shape (n_directions,)
        Compare with ``directions @ flat_gradient``.
    """
    rng = as_generator(rng)
    theta = policy.flat()
    U = rng.standard_normal((int(n_directions), theta.size))
    U /= np.linalg.norm(U, axis=1, keepdims=True)
    fd = np.empty(U.shape[0])
    for k, u in enumerate(U):
        fp = objective_fn(policy.with_flat(theta + eps * u))
        fm = objective_fn(policy.with_flat(theta - eps * u))
        fd[k] = (fp - fm) / (2.0 * eps)
    return U, fd


def central_difference_gradient(fn, x, eps=1e-6):
    r"""Coordinate-wise central differences :math:`(f(x+\epsilon e_k) - f(x-\epsilon e_k))/(2\epsilon)`: a second route.

    Error :math:`O(\epsilon^2\|f^{(3)}\|) + O(10^{-16}|f|/\epsilon)`. Every coordinate (``2 x.size``
    evaluations of ``fn``); :func:`finite_difference_gradient` samples random directions instead.
    One home for chen2024's and zhang2025's coordinate-wise checks.

    >>> import numpy as np
    >>> central_difference_gradient(lambda v: float(v @ v), np.array([1.0, -2.0])).round(8).tolist()
    [2.0, -4.0]
    """
    x = np.asarray(x, dtype=np.float64)
    out = np.empty_like(x)
    for k in range(x.size):
        e = np.zeros_like(x)
        e[k] = eps
        out[k] = (fn(x + e) - fn(x - e)) / (2 * eps)
    return out
