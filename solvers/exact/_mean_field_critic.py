r"""Exact targets of gu2021's DEC-NEURAL-AC: the critic's projected fixed point and the expected actor step.

The critic class (gu2021 App. C.1, eq. (37))
--------------------------------------------
Team ``s`` reads :math:`\zeta^k_s=(\mu(\mathcal N^k_s),h(\mathcal N^k_s))`: for each state
:math:`y\in\mathcal N^k_s` in sorted order, :math:`(\mu(y),h(y)(a_1),\dots,h(y)(a_{|A|}))` (an empty
state has :math:`h(y)=0`, the dummy type of guide §3), so the raw input has
:math:`d^k_s=|\mathcal N^k_s|(1+|\mathcal A|)` entries (the *raw* dimension of guide §3, not the
intrinsic :math:`f(k)|\mathcal A|`). C.1 assumes :math:`\|\zeta^k_s\|\le1` "without loss of generality";
the raw :math:`\|\zeta^k_s\|^2\le\sum_y\mu(y)^2+\#\{y:\mu(y)>0\}\le1+\min(N,|\mathcal N^k_s|)`, so we scale
by the fixed constant :math:`\lambda^k_s=(1+\min(N,|\mathcal N^k_s|))^{-1/2}` (:func:`critic_input_scale`).
With an initialisation :math:`\omega(0)\in\mathbb R^{M\times d}` and output weights :math:`b`, the
random-feature (linearised) class of (37) is

.. math::
    \mathcal F_{R,M}=\Big\{Q_0(\zeta;\omega)=\phi_{\omega(0)}(\zeta)^\top\omega:\ \|\omega-\omega(0)\|_\infty\le R/\sqrt M\Big\},
    \qquad [\phi_{\omega(0)}]_m(\zeta)=\tfrac{b_m}{\sqrt M}\mathbb 1\{[\omega(0)]_m^\top\zeta>0\}\,\zeta,

the box read entrywise (as :class:`~netmarl_verify.solvers.sampled.TwoLayerReLU` does).

The fixed point (Lemma C.1) — the reading we take
-------------------------------------------------
Alg. 1 l. 4 samples :math:`(\mu_t,h_t)\sim\nu_\theta` i.i.d., the stationary law on Ξ of
:math:`K_\theta((\mu,h)\to(\mu',h'))=\mathbf P^N(\mu'\mid\mu,h)\Pi^\theta(h'\mid\mu')` (guide §1.2), then
:math:`\mu'\sim\mathbf P^N(\cdot\mid\mu_t,h_t)`, :math:`h'\sim\Pi^\theta(\cdot\mid\mu')` ((19) prints
:math:`\mid\mu`; read :math:`\mid\mu'`, guide §9). With that law, the Bellman operator (19)
:math:`\mathcal T_sQ=r_s+\gamma KQ` is a γ-contraction in :math:`L^2(\nu_\theta)` (Lemma C.1's proof), and
:math:`\mathrm{Proj}_{\mathcal F_{R,M}}` (the :math:`L^2(\nu_\theta)`-projection onto the convex set
:math:`\mathcal F_{R,M}`, functions of :math:`\zeta^k_s` only) is non-expansive, so
:math:`\mathrm{Proj}_{\mathcal F_{R,M}}\mathcal T_s` has a unique fixed point :math:`Q_0(\cdot;\omega^*)` on
:math:`\mathrm{supp}\,\nu_\theta` (the last line of the proof says "Proj admits"; read
:math:`\mathrm{Proj}\,\mathcal T`, guide §9). We compute it as the **box-bounded least-squares fixed
point** (guide §4 Lemma C.1):

.. math:: \omega_{n+1}\in\arg\min_{\|\omega-\omega(0)\|_\infty\le R/\sqrt M}\big\|\Phi\omega-(r_s+\gamma K\Phi\omega_n)\big\|_{L^2(\nu)},

each step an exact bounded-variable least squares (:func:`scipy.optimize.lsq_linear`, ``method="bvls"``),
stopped by the contraction certificate :math:`\|q_{n+1}-q^*\|_\nu\le\frac{\gamma}{1-\gamma}\|q_{n+1}-q_n\|_\nu`
(:math:`q=\Phi\omega`), and polished by an active-set solve: with the coordinates at their bounds fixed,
the free ones solve the projected (LSTD) equation :math:`\Phi_F^\top D_\nu[(I-\gamma K)\Phi\omega-r_s]=0` in the
row space of :math:`D_\nu^{1/2}\Phi_F`; the candidate is accepted when it is in the box and the KKT signs of
the expected TD direction :math:`\bar g(\omega)=\Phi^\top D_\nu(r_s+\gamma K\Phi\omega-\Phi\omega)` hold
(:math:`\bar g_i\ge0` at an upper bound, :math:`\le0` at a lower bound). The returned
:attr:`CriticFixedPoint.certificate` is always :math:`\|q-\mathrm{Proj}\,\mathcal T q\|_\nu/(1-\gamma)`, a
rigorous bound on :math:`\|q-q^*\|_\nu` (one more exact projection).

The same :math:`\omega^*` solves the variational inequality
:math:`\langle\bar g(\omega^*),\omega-\omega^*\rangle\le0` for every ω in the box (the first-order condition of
the least-squares step at its own fixed point), which is the stationarity condition of the projected,
averaged semi-gradient TD of Alg. 1 run on the linearised class; that is why long runs of Alg. 1
(:func:`~netmarl_verify.solvers.sampled._dec_neural_ac.run_dec_neural_td`) converge to it. ω* itself is
not unique when :math:`M d>|\mathrm{supp}\,\nu|` (it usually is not): only the function
:math:`Q_0(\cdot;\omega^*)` on :math:`\mathrm{supp}\,\nu` is, so every distance is measured in :math:`L^2(\nu)`.

The expected actor direction (eq. (23))
---------------------------------------
Given critics :math:`Q_y(\cdot;\bar\omega_y)` and B i.i.d. draws :math:`(\mu_l,h_l)\sim\sigma_\theta`
(normalised, eq. (12)), :math:`\hat g_s=\frac{\tau}{(1-\gamma)B}\sum_l[\sum_{y\in\mathcal N^k_s}Q_y(\zeta^k_{y,l};\bar\omega_y)]\hat\Phi(\theta,s,\mu_l,h_l)`
has the exact mean :math:`E\hat g_s=\frac{\tau}{1-\gamma}E_{\sigma_\theta}[q_s\Phi_s]`,
:math:`q_s=\sum_{y\in\mathcal N^k_s}Q_y(\zeta^k_y;\bar\omega_y)`, and per coordinate the variance
:math:`\mathrm{Var}_{\sigma_\theta}[\frac{\tau}{1-\gamma}q_s\Phi_s]/B` (:func:`expected_actor_direction`).
With the exact :math:`Q_y` and :math:`k\ge` the diameter it is (17), :math:`\nabla_{\theta_s}J`.
"""

import math
from dataclasses import dataclass

import numpy as np
from scipy.optimize import lsq_linear

from netmarl_verify.envs._validation import ModelValidationError, ShapeError

from ._errors import MultipleRecurrentClassesError, SolverAccuracyError
from ._evaluation import stationary_distribution

__all__ = [
    "critic_input_scale",
    "critic_inputs",
    "critic_input_table",
    "pair_kernel",
    "stationary_pairs",
    "random_feature_matrix",
    "linearisation_bound",
    "CriticFixedPoint",
    "critic_fixed_point_mf",
    "ActorDirection",
    "expected_actor_direction",
    "SUPPORT_TOL",
]

#: Pairs with stationary probability at most this are off the support (transient: exactly 0 up to the
#: rounding of the stationary solve, ~1e-16).
SUPPORT_TOL = 1e-13


# ---------------------------------------------------------------------------- inputs
def critic_input_scale(model, s, k):
    r""":math:`\lambda^k_s=(1+\min(N,|\mathcal N^k_s|))^{-1/2}`, so that :math:`\|\lambda^k_s\zeta^k_s\|\le1` (module docstring)."""
    return 1.0 / math.sqrt(1.0 + min(model.n_agents, len(model.kappa_hop(s, k))))


def critic_inputs(lifted, s, k, input_scale=None):
    r"""The critic input :math:`\lambda^k_s\zeta^k_s` of every pair, shape (|Ξ|, |N^k_s| (1+|A|)).

    Blocks :math:`(\mu(y),h(y))` for :math:`y\in\mathcal N^k_s` in sorted order (module docstring);
    ``input_scale`` defaults to :func:`critic_input_scale`.

    Examples
    --------
    >>> from netmarl_verify.envs._mean_field import mf_lazy_walk, lift
    >>> L = lift(mf_lazy_walk(3, 2, 2))
    >>> Z = critic_inputs(L, 0, 1)
    >>> Z.shape, bool((np.linalg.norm(Z, axis=1) <= 1 + 1e-12).all())
    ((21, 6), True)
    """
    model = lifted.model
    s, k = int(s), int(k)
    if not 0 <= s < model.n_states:
        raise ValueError(f"`s` must be a state in 0..{model.n_states - 1}, got {s}")
    if k < 0:
        raise ValueError(f"`k` must be >= 0, got {k}")
    lam = critic_input_scale(model, s, k) if input_scale is None else float(input_scale)
    return np.concatenate([lifted.team_zeta(y, lam) for y in model.kappa_hop(s, k)], axis=1)


def critic_input_table(lifted, k):
    """Every team's critic input, zero-padded: ``(inputs (|S|, |Ξ|, d_max), dims (|S|,))``.

    ``dims[s]`` = :math:`d^k_s`; coordinates ``dims[s]:`` of team ``s`` are 0 (they carry no feature
    and never move under Alg. 1).
    """
    nS = lifted.model.n_states
    blocks = [critic_inputs(lifted, s, k) for s in range(nS)]
    dims = np.array([b.shape[1] for b in blocks], dtype=np.int64)
    out = np.zeros((nS, lifted.n_xi, int(dims.max())))
    for s, blk in enumerate(blocks):
        out[s, :, : blk.shape[1]] = blk
    return out, dims


# ---------------------------------------------------------------------------- the pair chain
def _check_policy(lifted, team_policy):
    w = np.asarray(team_policy, dtype=np.float64).reshape(-1)
    if w.shape != (lifted.n_xi,):
        raise ShapeError(f"`team_policy` must have shape (|Xi|,) = ({lifted.n_xi},), got {np.shape(team_policy)}")
    lifted.policy_table(w)  # rows sum to 1, non-negative (raises naming the mu)
    return w


def pair_kernel(lifted, team_policy):
    r""":math:`K((\mu,h)\to(\mu',h'))=\mathbf P^N(\mu'\mid\mu,h)\,\Pi(h'\mid\mu')`, shape (|Ξ|, |Ξ|) (guide §1.2)."""
    w = _check_policy(lifted, team_policy)
    return lifted.T[:, lifted.xi_mu] * w[None, :]


def stationary_pairs(lifted, team_policy):
    r""":math:`\nu_\theta` over Ξ: :math:`\nu(\mu,h)=d(\mu)\Pi(h\mid\mu)`, d the stationary law of the μ-chain.

    d comes from :func:`~netmarl_verify.solvers.exact.stationary_distribution` on the lifted
    TabularMDP (state μ, action the joint type), which refuses a chain with several recurrent
    classes (:class:`~netmarl_verify.solvers.exact.MultipleRecurrentClassesError`): ν would not be
    unique and neither would the critic's target (guide §3). Pairs of :math:`\mu'` inherit
    :math:`\Pi(h'\mid\mu')` because :math:`\nu(\mu',h')=\Pi(h'\mid\mu')\sum_\xi\nu(\xi)\mathbf P^N(\mu'\mid\xi)`.
    """
    w = _check_policy(lifted, team_policy)
    table = lifted.policy_table(w)
    try:
        d = stationary_distribution(lifted.tabular(), table)
    except MultipleRecurrentClassesError as exc:
        raise MultipleRecurrentClassesError(f"nu_theta is not unique on the lifted chain of {lifted.model.name!r}: "
                                            f"{exc}") from None
    nu = np.clip(d[lifted.xi_mu] * w, 0.0, None)
    return nu / nu.sum()


# ---------------------------------------------------------------------------- random features
def random_feature_matrix(inputs, W0, b):
    r""":math:`\phi_{\omega(0)}(\zeta)` of (37) flattened C-order, shape (n, M d).

    Parameters
    ----------
    inputs : ndarray, shape (n, d)
    W0 : ndarray, shape (M, d)
        :math:`\omega(0)`.
    b : ndarray, shape (M,)
    """
    Z = np.asarray(inputs, dtype=np.float64)
    W0 = np.asarray(W0, dtype=np.float64)
    b = np.asarray(b, dtype=np.float64).reshape(-1)
    if W0.ndim != 2 or Z.ndim != 2 or Z.shape[1] != W0.shape[1]:
        raise ShapeError(f"`W0` must have shape (M, d) and `inputs` (n, d); got {W0.shape} and {Z.shape}")
    M = W0.shape[0]
    if b.shape != (M,):
        raise ShapeError(f"`b` must have shape (M,) = ({M},), got {b.shape}")
    gate = (Z @ W0.T > 0) * (b[None, :] / math.sqrt(M))  # (n, M)
    return (gate[:, :, None] * Z[:, None, :]).reshape(len(Z), -1)


def linearisation_bound(inputs, W0, b, radius):
    r"""Certified :math:`\sup_{\|\omega-\omega(0)\|_\infty\le R/\sqrt M}|Q(\zeta;\omega)-Q_0(\zeta;\omega)|` per input.

    The network (13) and its linearisation (37) differ only in the neurons whose gate flips:
    :math:`Q-Q_0=\frac1{\sqrt M}\sum_mb_m[\mathrm{ReLU}(\omega_m^\top\zeta)-\mathbb 1\{\omega_m(0)^\top\zeta>0\}\omega_m^\top\zeta]`,
    and a term is non-zero only if :math:`\omega_m^\top\zeta` and :math:`\omega_m(0)^\top\zeta` have opposite signs,
    which needs :math:`|\omega_m(0)^\top\zeta|\le|(\omega_m-\omega_m(0))^\top\zeta|\le\frac R{\sqrt M}\|\zeta\|_1`, and then
    the term is at most :math:`|\omega_m^\top\zeta|\le\frac R{\sqrt M}\|\zeta\|_1`. Hence the bound
    :math:`\frac1{\sqrt M}\sum_m\mathbb 1\{|\omega_m(0)^\top\zeta|\le\frac R{\sqrt M}\|\zeta\|_1\}\frac R{\sqrt M}\|\zeta\|_1`
    (the gap between Alg. 1 as printed and the class of Lemma C.1 / Thm C.1).

    Returns
    -------
    ndarray, shape (n,)
    """
    Z = np.asarray(inputs, dtype=np.float64)
    W0 = np.asarray(W0, dtype=np.float64)
    M = W0.shape[0]
    reach = float(radius) / math.sqrt(M) * np.abs(Z).sum(axis=1)  # (n,)
    flips = (np.abs(Z @ W0.T) <= reach[:, None]).sum(axis=1)
    return flips * reach / math.sqrt(M)


# ---------------------------------------------------------------------------- the fixed point
@dataclass
class CriticFixedPoint:
    r"""The projected fixed point :math:`Q_0(\cdot;\omega^*)` of Lemma C.1 for one team.

    Attributes
    ----------
    omega : ndarray, shape (M, d)
        One :math:`\omega^*` (not unique; module docstring).
    values : ndarray, shape (|Ξ|,)
        :math:`Q_0(\zeta^k_s(\xi);\omega^*)` at every pair (unique on the support of ν).
    nu : ndarray, shape (|Ξ|,)
        The weights :math:`\nu_\theta`.
    certificate : float
        :math:`\|q-\mathrm{Proj}\,\mathcal T_sq\|_{L^2(\nu)}/(1-\gamma)\ge\|q-q^*\|_{L^2(\nu)}`.
    iterations : int
        Projected Bellman steps taken.
    method : str
        ``"active-set"`` (the polish was accepted) or ``"iteration"``.
    kkt_residual : float
        Natural residual :math:`\|\omega-\Pi_{\rm box}(\omega+\bar g(\omega))\|_\infty`.
    inputs : ndarray, shape (|Ξ|, d)
        The critic inputs used (padded with zeros when ``W0`` is wider than :math:`d^k_s`).
    """

    omega: np.ndarray
    values: np.ndarray
    nu: np.ndarray
    certificate: float
    iterations: int
    method: str
    kkt_residual: float
    inputs: np.ndarray


def _projector(G, sq, base, h):
    """Exact L2(nu) projection of targets y (on the support) onto the box class: returns u (free coords)."""

    def project(y):
        res = lsq_linear(G, sq * (y - base), bounds=(-h, h), method="bvls", tol=1e-14, lsq_solver="exact")
        if res.status < 0:  # pragma: no cover - scipy failure
            raise SolverAccuracyError(f"bounded least squares failed: {res.message}")
        return np.clip(res.x, -h, h)

    return project


def critic_fixed_point_mf(lifted, team_policy, s, k, W0, b, *, radius=1.0, gamma=None, nu=None, tol=1e-10,
                          max_iter=2000):
    r"""Lemma C.1's :math:`Q_0(\cdot;\omega^*)` for team ``s`` (module docstring; guide §4 Lemma C.1).

    Parameters
    ----------
    lifted : LiftedMDP
    team_policy : ndarray, shape (|Ξ|,)
        :math:`\Pi^\theta(h\mid\mu)`.
    s, k : int
        Team and localisation radius.
    W0 : ndarray, shape (M, d)
        :math:`\omega_s(0)`, ``d`` = :math:`d^k_s` or wider (extra coordinates zero-padded).
    b : ndarray, shape (M,)
        Output weights.
    radius : float
        R: box half-width :math:`R/\sqrt M` per coordinate.
    gamma : float, optional
        Default the model's.
    nu : ndarray, shape (|Ξ|,), optional
        :math:`\nu_\theta` if already computed (:func:`stationary_pairs`).
    tol : float
        Target bound on :math:`\|q-q^*\|_{L^2(\nu)}`, absolute.
    max_iter : int

    Returns
    -------
    CriticFixedPoint

    Raises
    ------
    MultipleRecurrentClassesError
        ν is not unique.
    SolverAccuracyError
        The certificate is not below ``tol`` after ``max_iter`` steps.

    Examples
    --------
    The fixed point is a fixed point of the projected Bellman operator, certified to 1e-10:

    >>> from netmarl_verify.envs._mean_field import mf_lazy_walk, lift
    >>> L = lift(mf_lazy_walk(3, 2, 2, gamma=0.8))
    >>> w = L.multinomial_policy(np.full((3, 3, 2), 0.5))
    >>> rng = np.random.default_rng(0)
    >>> W0, b = rng.normal(size=(8, 6)) / np.sqrt(6), rng.choice([-1.0, 1.0], 8)
    >>> fp = critic_fixed_point_mf(L, w, 0, 1, W0, b, radius=1.0)
    >>> bool(fp.certificate <= 1e-10), bool(np.abs(fp.omega - W0).max() <= 1 / np.sqrt(8) + 1e-15)
    (True, True)
    """
    model = lifted.model
    gamma = model.gamma if gamma is None else float(gamma)
    if not 0.0 <= gamma < 1.0:
        raise ValueError(f"`gamma` must be in [0, 1), got {gamma}")
    if not (np.isfinite(radius) and radius > 0):
        raise ValueError(f"`radius` must be finite and > 0, got {radius}")
    w = _check_policy(lifted, team_policy)
    W0 = np.asarray(W0, dtype=np.float64)
    if W0.ndim != 2:
        raise ShapeError(f"`W0` must have shape (M, d), got {W0.shape}")
    M, d = W0.shape
    Z = critic_inputs(lifted, s, k)
    if d < Z.shape[1]:
        raise ShapeError(f"`W0` has {d} input columns, team {s} at k = {k} needs at least {Z.shape[1]}")
    Z = np.pad(Z, ((0, 0), (0, d - Z.shape[1])))
    nu = stationary_pairs(lifted, w) if nu is None else np.asarray(nu, dtype=np.float64)
    supp = np.flatnonzero(nu > SUPPORT_TOL)
    Phi_all = random_feature_matrix(Z, W0, b)
    Phi = Phi_all[supp]
    cols = np.flatnonzero(np.abs(Phi).max(axis=0) > 0)
    Pf = Phi[:, cols]
    w0 = W0.reshape(-1)
    base = Phi @ w0
    h = radius / math.sqrt(M)
    K = pair_kernel(lifted, w)[np.ix_(supp, supp)]
    leak = 1.0 - K.sum(axis=1)
    if np.abs(leak).max() > 1e-9:  # pragma: no cover - the support of a stationary law is closed
        raise ModelValidationError("the support of nu is not closed under K (stationary solve inaccurate)")
    r = lifted.team_rewards[supp, int(s)]
    D = nu[supp]
    sq = np.sqrt(D)
    G = sq[:, None] * Pf
    project = _projector(G, sq, base, h)

    def norm(v):
        return float(np.sqrt(D @ v**2))

    def T(q):
        return r + gamma * (K @ q)

    def gbar(u):
        q = base + Pf @ u
        return Pf.T @ (D * (T(q) - q))

    def certificate(u):
        q = base + Pf @ u
        return norm(q - (base + Pf @ project(T(q)))) / (1.0 - gamma)

    # active-set polish (module docstring): reduced LSTD system in the row space of D^1/2 Phi_F
    Msym = sq[:, None] * (np.eye(len(supp)) - gamma * K) / sq[None, :]

    def polish(u):
        at_up = u >= h * (1 - 1e-9)
        at_lo = u <= -h * (1 - 1e-9)
        free = ~(at_up | at_lo)
        ub = np.where(at_up, h, np.where(at_lo, -h, 0.0))
        c = r - (base + Pf @ ub - gamma * (K @ (base + Pf @ ub)))
        if free.any():
            U, S, Vt = np.linalg.svd(G[:, free], full_matrices=False)
            keep = S > 1e-12 * S.max()
            U, S, Vt = U[:, keep], S[keep], Vt[keep]
            alpha = np.linalg.solve(U.T @ Msym @ U, U.T @ (sq * c))
            uf = Vt.T @ (alpha / S)
            if np.abs(uf).max(initial=0.0) > h * (1 + 1e-9):
                return None
            ub = ub.copy()
            ub[free] = np.clip(uf, -h, h)
        g = gbar(ub)
        scale = max(1.0, float(np.abs(g).max()))
        if (g[at_up] < -1e-9 * scale).any() or (g[at_lo] > 1e-9 * scale).any():
            return None
        return ub

    u = np.zeros(len(cols))
    q = base.copy()
    method, n_it = "iteration", 0
    for n_it in range(1, int(max_iter) + 1):
        u = project(T(q))
        q_new = base + Pf @ u
        step = norm(q_new - q)
        q = q_new
        if n_it >= 2:
            cand = polish(u)
            if cand is not None and certificate(cand) <= tol:
                u, method = cand, "active-set"
                q = base + Pf @ u
                break
        if gamma / (1.0 - gamma) * step <= 0.1 * tol:
            break
    cert = certificate(u)
    if not cert <= tol:
        raise SolverAccuracyError(f"critic fixed point of team {s}: certificate {cert:.3g} > tol {tol:.3g} after "
                                  f"{n_it} projected Bellman steps")
    omega = w0.copy()
    omega[cols] += u
    g = gbar(u)
    kkt = float(np.abs(u - np.clip(u + g, -h, h)).max(initial=0.0))
    return CriticFixedPoint(omega=omega.reshape(M, d), values=Phi_all @ omega, nu=nu, certificate=float(cert),
                            iterations=n_it, method=method, kkt_residual=kkt, inputs=Z)


# ---------------------------------------------------------------------------- the actor direction
@dataclass
class ActorDirection:
    r""":math:`E\hat g_s` of eq. (23) given the critics, for every team.

    Attributes
    ----------
    mean : ndarray, shape (|S|, M, 1+|A|)
        :math:`\frac{\tau}{1-\gamma}E_{\sigma_\theta}[q_s\Phi_s]`.
    variance : ndarray, shape (|S|, M, 1+|A|)
        Per coordinate, the variance of one summand :math:`\frac{\tau}{1-\gamma}q_s\Phi_s` under σ
        (divide by B for the batch mean).
    sigma : ndarray, shape (|Ξ|,)
        :math:`\sigma_\theta` (eq. (12), normalised).
    q : ndarray, shape (|S|, |Ξ|)
        :math:`q_s=\sum_{y\in\mathcal N^k_s}Q_y(\zeta^k_y;\bar\omega_y)` at every pair.
    """

    mean: np.ndarray
    variance: np.ndarray
    sigma: np.ndarray
    q: np.ndarray


def expected_actor_direction(lifted, theta, b, critic_values, k, *, tau=1.0, gamma=None, initial=None,
                             input_scale=1.0 / math.sqrt(2.0), evaluation=None):
    r"""Exact mean and single-sample variance of the actor estimate (23) given critic values.

    Parameters
    ----------
    lifted : LiftedMDP
    theta : ndarray, shape (|S|, M, 1+|A|)
    b : ndarray, shape (M,) or (|S|, M)
        Actor output weights.
    critic_values : ndarray, shape (|S|, |Ξ|)
        ``critic_values[y, xi]`` = :math:`Q_y(\zeta^k_y(\xi);\bar\omega_y)` (or any function of the pair,
        e.g. the exact :math:`Q_y`, which gives (18) with the full Q and, for k ≥ the diameter, (17)).
    k : int
        Localisation radius of the sum over :math:`y\in\mathcal N^k_s`.
    tau, gamma, initial, input_scale
        As in :func:`~netmarl_verify.solvers.exact.energy_gradient`.
    evaluation : MeanFieldEvaluation, optional
        Reused for σ.

    Returns
    -------
    ActorDirection
    """
    from netmarl_verify.envs._mean_field import energy_tables

    from ._mean_field import evaluate_lifted

    model = lifted.model
    gamma = model.gamma if gamma is None else float(gamma)
    nS = model.n_states
    qv = np.asarray(critic_values, dtype=np.float64)
    if qv.shape != (nS, lifted.n_xi):
        raise ShapeError(f"`critic_values` must have shape (|S|, |Xi|) = ({nS}, {lifted.n_xi}), got {qv.shape}")
    w, _, Phi = energy_tables(lifted, theta, b, tau, input_scale)
    ev = evaluate_lifted(lifted, w, gamma, initial, teams=False) if evaluation is None else evaluation
    sig = ev.sigma
    A = (model.distances <= int(k)).astype(np.float64)  # A[s, y] = 1{y in N^k_s}
    q = A @ qv
    term = tau / (1.0 - gamma) * q[:, :, None, None] * Phi  # (S, Xi, M, d)
    mean = np.einsum("x,sxmd->smd", sig, term)
    var = np.einsum("x,sxmd->smd", sig, (term - mean[:, None]) ** 2)
    return ActorDirection(mean=mean, variance=var, sigma=sig, q=q)
