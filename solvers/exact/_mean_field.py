r"""Exact quantities of gu2021's lifted team process on :math:`(\mu, h)`, through the tabular solvers.

Everything goes through :func:`~netmarl_verify.solvers.exact.evaluate_policy` and
:func:`~netmarl_verify.solvers.exact.discounted_occupancy` on the lifted
:class:`~netmarl_verify.envs.TabularMDP` (:meth:`~netmarl_verify.envs.LiftedMDP.tabular`: state μ,
action the joint type h); nothing here solves a linear system of its own.

* :func:`evaluate_lifted` — :math:`\tilde V^\Pi(\mu)`, :math:`Q^\Pi(\mu,h)` (eq. (8), (10)), the team
  parts :math:`V^\Pi_s`, :math:`Q^\Pi_s` (Lemma 3.1: one evaluation per team reward on the same
  kernel), the normalised visitation :math:`\sigma(\mu,h)=(1-\gamma)\sum_t\gamma^t\Pr(\mu_t=\mu,h_t=h)`
  (eq. (12)) from :math:`P_0`, and :math:`J = E_{P_0}\tilde V` (eq. (11)).
* :func:`decay_profile_lifted` — :math:`\Delta_s(k)=\max_{\zeta\sim_k\zeta'}|Q_s(\zeta)-Q_s(\zeta')|` over
  pairs that agree on :math:`(\mu(\mathcal N^k_s),h(\mathcal N^k_s))` (Definition 4.1), with a witness pair.
* :func:`agreement_horizon` — the largest t up to which the laws :math:`\mathfrak P_{t,s}` of
  :math:`(\mu_t(\mathcal N_s),h_t(s))` from two pairs coincide (the assertion of the proof of Lemma 4.2).
* :func:`local_q` — the localized :math:`\widehat Q_s` (LocalQ-function) for σ-conditional, uniform or
  extreme (worst-case point-mass) weights.
* :func:`energy_gradient`, :func:`energy_objective`, :func:`localized_gradient` — (17) and (18)
  for the energy policy (14).

Decay bounds (:func:`lemma42_bounds`). Lemma 4.2 as stated: :math:`\frac{r_{\max}}{1-\gamma}\gamma^{(k+1)/2}`;
its proof (B.2): :math:`\frac{r_{\max}}{1-\gamma}\gamma^{\lfloor k/2\rfloor+1}`; the horizon the dynamics
actually give (:math:`\mu_t(\mathcal N_s)` reads :math:`\mu_0` up to distance :math:`2t+1`, so the laws agree
for :math:`t\le\lfloor(k-1)/2\rfloor`): :math:`\frac{r_{\max}}{1-\gamma}\gamma^{\lceil k/2\rceil}` for non-negative
rewards, twice that for signed ones (:math:`|E_Pr-E_{P'}r|\le(\max r-\min r)\,\mathrm{TV}`).
"""

import math
from dataclasses import dataclass, field

import numpy as np

from ._evaluation import evaluate_policy
from ._occupancy import discounted_occupancy

__all__ = [
    "MeanFieldEvaluation",
    "evaluate_lifted",
    "decay_profile_lifted",
    "agreement_horizon",
    "local_q",
    "energy_objective",
    "energy_gradient",
    "localized_gradient",
    "lemma42_bounds",
    "LOCAL_Q_WEIGHTS",
]

LOCAL_Q_WEIGHTS = ("sigma", "uniform", "worst-low", "worst-high")


@dataclass
class MeanFieldEvaluation:
    r"""Exact values of a team policy on a :class:`~netmarl_verify.envs.LiftedMDP`.

    Attributes
    ----------
    V : ndarray, shape (|P^N|,)
        :math:`\tilde V^\Pi(\mu)` of :math:`\sum_sr_s`.
    Q : ndarray, shape (|Ξ|,)
        :math:`Q^\Pi(\mu,h)`.
    V_teams : ndarray, shape (|S|, |P^N|)
    Q_teams : ndarray, shape (|S|, |Ξ|)
        :math:`V^\Pi_s`, :math:`Q^\Pi_s` (each from its own evaluation).
    sigma : ndarray, shape (|Ξ|,)
        Normalised visitation (12) from ``initial``; sums to 1.
    J : float
        :math:`E_{\mu\sim P_0}\tilde V^\Pi(\mu)`.
    table : ndarray, shape (|P^N|, n_actions)
        The policy table the solvers were given.
    residuals : dict
        Largest residual certificate of the solves.
    """

    V: np.ndarray
    Q: np.ndarray
    V_teams: np.ndarray
    Q_teams: np.ndarray
    sigma: np.ndarray
    J: float
    table: np.ndarray
    residuals: dict = field(default_factory=dict)


def evaluate_lifted(lifted, team_policy, gamma=None, initial=None, *, teams=True):
    r"""Exact V, Q, :math:`V_s`, :math:`Q_s`, σ and J of a team policy (module docstring).

    Parameters
    ----------
    lifted : LiftedMDP
    team_policy : ndarray, shape (|Ξ|,)
        :math:`\Pi(h\mid\mu)` (:meth:`~netmarl_verify.envs.LiftedMDP.multinomial_policy`,
        :meth:`~netmarl_verify.envs.LiftedMDP.energy_policy`).
    gamma : float, optional
        Default the model's.
    initial : ndarray over the mu index, optional
        :math:`P_0` (default the model's).
    teams : bool
        Also evaluate every team reward (|S| more solves).

    Examples
    --------
    >>> from netmarl_verify.envs._mean_field import mf_identity2, lift, uniform_individual_policy
    >>> L = lift(mf_identity2(0.5))
    >>> ev = evaluate_lifted(L, L.multinomial_policy(uniform_individual_policy(L.model)))
    >>> ev.V.round(12).tolist(), round(ev.J, 12), round(float(ev.sigma.sum()), 12)
    ([2.0, 2.0, 2.0], 2.0, 1.0)
    """
    model = lifted.model
    gamma = model.gamma if gamma is None else float(gamma)
    p0 = model.initial if initial is None else np.asarray(initial, dtype=float)
    table = lifted.policy_table(team_policy)
    res = {}
    ev = evaluate_policy(lifted.tabular(), table, gamma)
    res["global"] = max([float(v) for v in ev.residuals.values() if np.isscalar(v)] or [0.0])
    V = ev.global_values.copy()
    Q = ev.q(lifted.xi_mu, lifted.xi_h)
    nS = model.n_states
    V_t = np.zeros((nS, lifted.n_mu))
    Q_t = np.zeros((nS, lifted.n_xi))
    if teams:
        for s in range(nS):
            ev_s = evaluate_policy(lifted.tabular(s), table, gamma)
            V_t[s] = ev_s.global_values
            Q_t[s] = ev_s.q(lifted.xi_mu, lifted.xi_h)
            res[f"team {s}"] = max([float(v) for v in ev_s.residuals.values() if np.isscalar(v)] or [0.0])
    lam = discounted_occupancy(lifted.tabular(), table, gamma, p0)
    sigma = (1.0 - gamma) * lifted.to_pairs(lam)
    return MeanFieldEvaluation(V=V, Q=Q, V_teams=V_t, Q_teams=Q_t, sigma=sigma, J=float(p0 @ V), table=table,
                               residuals=res)


def decay_profile_lifted(lifted, values, s, k):
    r""":math:`\Delta_s(k)` of a function over Ξ: the largest within-group range, grouping by the key :math:`\zeta^k_s`.

    Returns
    -------
    delta : float
    witness : tuple of int
        ``(xi_low, xi_high)`` attaining it.
    """
    values = np.asarray(values, dtype=float)
    labels = lifted.key(s, k)
    n = labels.max() + 1
    hi = np.full(n, -np.inf)
    lo = np.full(n, np.inf)
    np.maximum.at(hi, labels, values)
    np.minimum.at(lo, labels, values)
    g = int(np.argmax(hi - lo))
    members = np.flatnonzero(labels == g)
    return float(hi[g] - lo[g]), (int(members[np.argmin(values[members])]), int(members[np.argmax(values[members])]))


def _law_labels(lifted, s):
    hood = list(lifted.model.neighbourhoods[s])
    mu_c = lifted.mu_counts()[:, hood]
    key = np.column_stack([mu_c, lifted.counts[:, s, :]])
    _, lab = np.unique(key, axis=0, return_inverse=True)
    return lab.reshape(-1)


def agreement_horizon(lifted, team_policy, s, xi_a, xi_b, t_max, tol=1e-12):
    r"""Largest t such that :math:`\mathfrak P_{t',s}=\mathfrak P'_{t',s}` for all :math:`t'\le t` (−1 if they differ at 0).

    The laws of :math:`(\mu_t(\mathcal N_s),h_t(s))` from point masses at the pairs `xi_a`, `xi_b`,
    propagated exactly by :math:`K((\mu,h)\to(\mu',h'))=\mathbf P^N(\mu'\mid\mu,h)\Pi(h'\mid\mu')`; equal
    within `tol` in total variation. Returns ``t_max`` if they agree up to it.
    """
    w = np.asarray(team_policy, dtype=float)
    lab = _law_labels(lifted, s)
    n = lab.max() + 1
    pa = np.zeros(lifted.n_xi)
    pb = np.zeros(lifted.n_xi)
    pa[xi_a] = 1.0
    pb[xi_b] = 1.0
    for t in range(int(t_max) + 1):
        tv = 0.5 * np.abs(np.bincount(lab, pa, n) - np.bincount(lab, pb, n)).sum()
        if tv > tol:
            return t - 1
        pa = (pa @ lifted.T)[lifted.xi_mu] * w
        pb = (pb @ lifted.T)[lifted.xi_mu] * w
    return int(t_max)


def local_q(lifted, values, s, k, weights="sigma", sigma=None):
    r"""Localized :math:`\widehat Q_s(\zeta^k_s)` (LocalQ-function) of a function over Ξ, returned over Ξ.

    weights : {"sigma", "uniform", "worst-low", "worst-high"}
        σ-conditional (needs `sigma`; groups of σ-mass 0 fall back to uniform), uniform over the
        compatible completions, or the point mass on the smallest / largest value of the group
        (the worst cases of (32)).
    """
    if weights not in LOCAL_Q_WEIGHTS:
        raise ValueError(f"weights must be one of {LOCAL_Q_WEIGHTS}, got {weights!r}")
    values = np.asarray(values, dtype=float)
    labels = lifted.key(s, k)
    n = labels.max() + 1
    if weights == "worst-low":
        g = np.full(n, np.inf)
        np.minimum.at(g, labels, values)
        return g[labels]
    if weights == "worst-high":
        g = np.full(n, -np.inf)
        np.maximum.at(g, labels, values)
        return g[labels]
    cnt = np.bincount(labels, minlength=n).astype(float)
    uni = np.bincount(labels, values, n) / cnt
    if weights == "uniform":
        return uni[labels]
    if sigma is None:
        raise ValueError("weights='sigma' needs the visitation `sigma`")
    sig = np.asarray(sigma, dtype=float)
    mass = np.bincount(labels, sig, n)
    num = np.bincount(labels, sig * values, n)
    out = np.where(mass > 0, num / np.where(mass > 0, mass, 1.0), uni)
    return out[labels]


def energy_objective(lifted, theta, b=None, tau=1.0, input_scale=1.0 / math.sqrt(2.0), gamma=None, initial=None):
    r""":math:`J(\theta)=E_{P_0}\tilde V^{\Pi^\theta}` (eq. (11)) of the energy policy (14)."""
    from netmarl_verify.envs._mean_field import energy_tables

    w = energy_tables(lifted, theta, b, tau, input_scale)[0]
    return evaluate_lifted(lifted, w, gamma, initial, teams=False).J


def energy_gradient(lifted, theta, b=None, tau=1.0, input_scale=1.0 / math.sqrt(2.0), gamma=None, initial=None,
                    *, evaluation=None, phi_without_b=False):
    r"""Exact :math:`\nabla_{\theta_s}J` by (17): :math:`\frac{\tau}{1-\gamma}E_{\sigma_\theta}[Q^{\Pi^\theta}\Phi(\theta,s,\mu,h)]`.

    Parameters
    ----------
    phi_without_b : bool
        Use (15) as printed (no :math:`b_m` in φ): the broken reading when :math:`b_m\ne1`.

    Returns
    -------
    grad : ndarray, shape (|S|, M, 1+|A|)
    evaluation : MeanFieldEvaluation
    Phi : ndarray, shape (|S|, |Ξ|, M, 1+|A|)
    """
    from netmarl_verify.envs._mean_field import energy_tables

    model = lifted.model
    gamma = model.gamma if gamma is None else float(gamma)
    w, phi, Phi = energy_tables(lifted, theta, b, tau, input_scale)
    if phi_without_b and b is not None:
        bb = np.broadcast_to(np.asarray(b, dtype=float), (model.n_states, np.shape(theta)[1]))
        Phi = Phi / bb[:, None, :, None]
    ev = evaluate_lifted(lifted, w, gamma, initial) if evaluation is None else evaluation
    weights = ev.sigma * ev.Q
    grad = tau / (1.0 - gamma) * np.einsum("x,sxmd->smd", weights, Phi)
    return grad, ev, Phi


def localized_gradient(lifted, evaluation, Phi, k, tau=1.0, gamma=None, weights="sigma", zero_term=False):
    r"""(18): :math:`g_s=\frac{\tau}{1-\gamma}E_\sigma[(\sum_{y\in\mathcal N^k_s}\widehat Q_y(\zeta^k_y))\Phi_s]`, every s.

    ``zero_term=True`` returns instead the term (33) drops, with :math:`y\notin\mathcal N^k_s`.

    Returns
    -------
    ndarray, shape (|S|, M, 1+|A|)
    """
    model = lifted.model
    gamma = model.gamma if gamma is None else float(gamma)
    nS = model.n_states
    qhat = np.stack([local_q(lifted, evaluation.Q_teams[y], y, k, weights, evaluation.sigma) for y in range(nS)])
    out = np.zeros((nS,) + Phi.shape[2:])
    for s in range(nS):
        inside = set(model.kappa_hop(s, k))
        ys = [y for y in range(nS) if (y not in inside) == zero_term]
        q = qhat[ys].sum(axis=0) if ys else np.zeros(lifted.n_xi)
        out[s] = tau / (1.0 - gamma) * np.einsum("x,xmd->md", evaluation.sigma * q, Phi[s])
    return out


def lemma42_bounds(r_max, gamma, k, signed=False):
    r"""The three decay bounds of the module docstring at radius k: ``(statement, proof, repaired)``.

    Examples
    --------
    >>> [round(v, 6) for v in lemma42_bounds(1.0, 0.25, 2)]
    [0.166667, 0.083333, 0.333333]
    """
    c = r_max / (1.0 - gamma)
    stated = c * gamma ** ((k + 1) / 2.0)
    proof = c * gamma ** (k // 2 + 1)
    repaired = (2.0 if signed else 1.0) * c * gamma ** math.ceil(k / 2.0)
    return stated, proof, repaired
