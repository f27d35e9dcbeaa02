r"""gu2021 App. A: decentralised neural TD (Alg. 1) and DEC-NEURAL-AC (Alg. 2), batched over runs.

Both algorithms run on the exact lifted team process :math:`(\mu,h)` of a
:class:`~netmarl_verify.envs.LiftedMDP` (tiny N, |S|, |A|), R independent runs at once: every array
carries the runs axis first, then the teams; nothing loops in Python over runs, teams or the
width M (the loops are over iterations, critic steps and rollout steps; the exact metrics at
checkpoints loop over runs, outside the timed training).

Networks (gu2021 eq. (13))
--------------------------
Critic of team s: :math:`Q_s(\zeta;\omega_s)=\frac1{\sqrt M}\sum_mb_m\mathrm{ReLU}(\zeta^\top[\omega_s]_m)` on the
scaled input :math:`\lambda^k_s\zeta^k_s` of :func:`~netmarl_verify.solvers.exact._mean_field_critic.critic_inputs`
(:math:`\|\cdot\|\le1`, raw dimension :math:`d^k_s=|\mathcal N^k_s|(1+|A|)`, zero-padded to the largest team so
the teams stack; padded coordinates have zero features and never move),
:math:`[\omega_s(0)]_m\sim N(0,I_{d^k_s}/d^k_s)`. Actor of team s: the energy policy (14),
:math:`\Pi_s^{\theta_s}(h(s)\mid\mu(s))\propto\exp[\tau f(\zeta_s;\theta_s)]` over the types
:math:`\mathcal P^{N\mu(s)}(\mathcal A)`, :math:`\zeta_s=\lambda(\mu(s),h(s))` with λ = ``input_scale`` (default
:math:`1/\sqrt2`, guide §3; the paper's input is λ = 1), :math:`[\theta_s(0)]_m\sim N(0,I_{1+|A|}/(1+|A|))`
(Alg. 2 l. 2 prints :math:`d_{\zeta^k_s}`; read :math:`d_{\zeta_s}`, guide §9). An empty team has one dummy
type with :math:`\zeta_s=0`, :math:`\Pi_s=1`. Projections (21) and Alg. 2 l. 10 are the coordinatewise
clips onto :math:`\|\cdot-\cdot(0)\|_\infty\le R/\sqrt M` (:meth:`TwoLayerReLU.project`).

Algorithm 1 (App. A.1), per run and team, :math:`\bar\omega=\omega(0)`, for t = 0..T−2
------------------------------------------------------------------------------------------
draw :math:`(\mu_t,h_t)\sim\nu_\theta` (``critic_sampling="iid"``, the exact stationary law, as analysed) or
continue one trajectory (``"markov"``, ablation: :math:`\xi_0\sim\nu_\theta`, :math:`\xi_{t+1}=\xi'_t`), then
:math:`\mu'\sim\mathbf P^N(\cdot\mid\mu_t,h_t)` (the exact kernel (6)), :math:`h'\sim\Pi^\theta(\cdot\mid\mu')`; all
teams share the sample (l. 4). :math:`\delta_{s,t}=Q_s(\zeta^k_{s,t};\omega_s(t))-r_s(\xi_t)-\gamma Q_s(\zeta^{k\prime}_{s,t};\omega_s(t))`
(l. 7), :math:`\omega_s\leftarrow\mathrm{clip}(\omega_s-\eta\delta\nabla_\omega Q_s(\zeta^k_{s,t};\omega_s(t)))` (l. 9-10),
:math:`\bar\omega_s\leftarrow\frac{t+1}{t+2}\bar\omega_s+\frac1{t+2}\omega_s(t+1)` (l. 11, eq. (22)). Output
:math:`Q_s(\cdot;\bar\omega_s)`. ``critic_features="network"`` (default) is Alg. 1 as printed (the gradient of
the ReLU network at :math:`\omega(t)`); ``"linearised"`` uses the gates of :math:`\omega(0)` in both the value and
the gradient, i.e. TD on the class :math:`\mathcal F_{R,M}` of (37), whose limit is exactly Lemma C.1's
:math:`Q_0(\cdot;\omega^*)` (:func:`~netmarl_verify.solvers.exact._mean_field_critic.critic_fixed_point_mf`).
``td_discount`` (default γ) is the discount of the TD target: any other value is a deliberately broken input.

Algorithm 2 (App. A.2), for t = 1..T_actor (θ(1) := θ(0), the box centre)
----------------------------------------------------------------------------
form :math:`\Pi^\theta` (14); run Alg. 1; draw B i.i.d. :math:`(\mu_l,h_l)\sim\sigma_\theta` (eq. (12), normalised):
``actor_sampling="rollout"`` (default) starts at :math:`\mu_0\sim P_0`, :math:`h_0\sim\Pi^\theta(\cdot\mid\mu_0)` and stops
after :math:`\tau\sim\mathrm{Geom}`, :math:`P(\tau=t)=(1-\gamma)\gamma^t`, steps of the exact chain (an exact draw from σ);
``"exact"`` draws from the exact σ (batched solve). Then (23)
:math:`\hat g_s=\frac{\tau}{(1-\gamma)B}\sum_l[\sum_{y\in\mathcal N^k_s}Q_y(\zeta^k_{y,l};\bar\omega_y)]\hat\Phi(\theta,s,\mu_l,h_l)`,
:math:`\hat\Phi=\Phi` of (16) computed by enumerating the types (with :math:`b_m` in φ, the derivative of (13)), and
:math:`\theta_s\leftarrow\mathrm{clip}(\theta_s+\eta_{\rm actor}\hat g_s,\theta_s(0)\pm R/\sqrt M)`.

Pinned choices (every one a keyword; defaults)
----------------------------------------------
* ``b="rademacher"``: :math:`b_m\sim\mathrm{Unif}\{\pm1\}` (Alg. 1-2 l. 2), or ``"ones"`` (§4.3). ``b_teams="shared"``:
  one b per network kind shared by all teams (l. 2 draws :math:`b_m` for m only), or ``"per_team"``. The actor's and
  the critic's b are separate draws (each algorithm's l. 2).
* ``critic_init="redraw"``: every call of Alg. 1 runs its l. 2 (new :math:`b`, :math:`\omega(0)`; the literal
  reading); ``"fixed"``: one :math:`\omega(0)`, b for the whole run, every call restarts at :math:`\omega(0)`;
  ``"warm"``: one :math:`\omega(0)`, b, every call starts at the previous call's last iterate (the box stays centred
  at :math:`\omega(0)`; the average restarts at the starting point).
* ``width=M=64``, ``critic_iterations=4 M`` (guide: :math:`T_{\rm critic}=cM`, c ∈ {1, 4}),
  ``eta_critic=min((1-γ)/8, T_critic^{-1/2})`` (Thm 5.1), ``eta_actor=T_actor^{-1/2}`` (Thm 5.2),
  ``radius=R=1`` for both boxes and ``tau=1`` (Thm 5.2), ``batch=B=64`` (free in the paper), ``k=1``.
* Sampling: ``critic_sampling="iid"``, ``actor_sampling="rollout"`` (above).

Randomness (STYLE 8)
--------------------
One generator (:func:`~._runs.seeded_generator`). At the start: the actor's b (``(R, M)`` shared or ``(R, S, M)``)
then :math:`\theta(0)` ``(R, S, M, 1+|A|)``; for ``critic_init`` "fixed"/"warm" the critic's b then
:math:`\omega(0)` ``(R, S, M, d_max)``. Per actor iteration: (redraw) the critic's b and :math:`\omega(0)`; the
critic uniforms ``random((T_critic-1, R, 3))`` (pair, next μ, next type); the actor draws (``"exact"``:
``random((R, B))``; ``"rollout"``: ``geometric(1-γ, (R, B))``, ``random((R, B, 2))``, ``random((τ_max, R, B, 2))``).
Everything after the draws is deterministic, so reruns with the same seed are bit-identical.
"""

import math
import numbers
from dataclasses import dataclass

import numpy as np

from netmarl_verify.envs._mean_field import LiftedMDP
from netmarl_verify.envs._validation import ShapeError
from netmarl_verify.solvers.exact._errors import MultipleRecurrentClassesError
from netmarl_verify.solvers.exact._mean_field_critic import (
    critic_fixed_point_mf,
    critic_input_table,
    expected_actor_direction,
)

from ._nets import running_average
from ._runs import RunResult, Stopwatch, TraceRecorder, _check_checkpoints, _check_int, seeded_generator

__all__ = [
    "run_dec_neural_td",
    "NeuralTDResult",
    "run_dec_neural_ac",
    "DecNeuralACResult",
    "dec_neural_ac_throughput",
    "batched_energy_policy",
    "CRITIC_FEATURES",
    "CRITIC_SAMPLING",
    "CRITIC_INITS",
    "ACTOR_SAMPLING",
    "TD_METRICS",
    "AC_METRICS",
    "GOAL_SAMPLES_PER_SECOND",
]

CRITIC_FEATURES = ("network", "linearised")
CRITIC_SAMPLING = ("iid", "markov")
CRITIC_INITS = ("redraw", "fixed", "warm")
ACTOR_SAMPLING = ("rollout", "exact")
#: Exact trace columns of :func:`run_dec_neural_td` (max over teams of an :math:`L^2(\nu_\theta)` distance).
TD_METRICS = ("critic_fp_distance", "critic_error", "critic_error_local")
#: Exact trace columns of :func:`run_dec_neural_ac`.
AC_METRICS = ("J", "grad_mapping", "critic_error", "critic_error_local", "critic_fp_distance", "direction_error")
#: Throughput goal of :func:`dec_neural_ac_throughput`, samples/s (its docstring).
GOAL_SAMPLES_PER_SECOND = 100_000.0


# ---------------------------------------------------------------------------- argument checks
def _choice(x, options, name):
    if x not in options:
        raise ValueError(f"`{name}` must be one of {options}, got {x!r}")
    return x


def _positive(x, name, upper=None):
    if isinstance(x, bool) or not isinstance(x, numbers.Real) or not math.isfinite(x) or x <= 0:
        raise ValueError(f"`{name}` must be a finite number > 0, got {x!r}")
    if upper is not None and x >= upper:
        raise ValueError(f"`{name}` must be < {upper}, got {x!r}")
    return float(x)


def _check_lifted(lifted):
    if not isinstance(lifted, LiftedMDP):
        raise TypeError(f"gu2021 Alg. 1-2 run on a LiftedMDP (envs._mean_field.lift(model)), "
                        f"got {type(lifted).__name__}")
    return lifted


def _discount(x, name):
    if isinstance(x, bool) or not isinstance(x, numbers.Real) or not 0.0 <= float(x) < 1.0:
        raise ValueError(f"`{name}` must be in [0, 1), got {x!r}")
    return float(x)


# ---------------------------------------------------------------------------- the problem tables
class _Tables:
    """Everything policy-free the kernels read, from the lifted MDP and k."""

    def __init__(self, lifted, k, input_scale):
        model = lifted.model
        self.lifted, self.model = lifted, model
        self.S, self.A, self.N = model.n_states, model.n_actions, model.n_agents
        self.k = k
        self.n_xi, self.n_mu = lifted.n_xi, lifted.n_mu
        self.Zc, self.dims = critic_input_table(lifted, k)  # (S, Xi, d_max)
        self.d_max = int(self.Zc.shape[2])
        self.Ak = (model.distances <= k).astype(np.float64)  # Ak[s, y] = 1{y in N^k_s}
        self.rewards = np.ascontiguousarray(lifted.team_rewards)  # (Xi, S)
        self.cumT = np.cumsum(lifted.T, axis=1)
        self.xi_mu = lifted.xi_mu
        self.first = np.searchsorted(self.xi_mu, np.arange(self.n_mu), side="left")
        self.last = np.searchsorted(self.xi_mu, np.arange(self.n_mu), side="right") - 1
        self.E = (self.xi_mu[None, :] == np.arange(self.n_mu)[:, None]).astype(np.float64)  # (mu, Xi)
        p0 = model.initial
        self.p0 = p0
        self.cum_p0 = np.cumsum(p0)
        # actor type slots: every (c, type) with c = 0..N agents, grouped by c (contiguous)
        feats, starts, group = [], [], []
        for c in range(self.N + 1):
            z = lifted.type_features(0, c, input_scale)  # features do not depend on the team
            starts.append(sum(len(f) for f in feats))
            group += [c] * len(z)
            feats.append(z)
        self.Zu = np.concatenate(feats, axis=0)  # (U, 1+A)
        self.starts = np.asarray(starts, dtype=np.int64)
        self.group = np.asarray(group, dtype=np.int64)
        ns = lifted.counts.sum(axis=2)  # (Xi, S)
        self.slot = (self.starts[ns] + lifted.type_rank).T.copy()  # (S, Xi)
        self.input_scale = input_scale


def batched_energy_policy(tables, theta, b, tau):
    r"""The energy policy (14) of R runs at once, and its per-type features.

    Parameters
    ----------
    tables : _Tables
    theta : ndarray, shape (R, S, M, 1+|A|)
    b : ndarray, shape (R, S, M)
    tau : float

    Returns
    -------
    policy : ndarray, shape (R, |Ξ|)
        :math:`\Pi^\theta(h\mid\mu)`.
    phi : ndarray, shape (R, S, U, M, 1+|A|)
        :math:`\phi_{\theta_s}` of every type slot (U slots: every type of every team size c = 0..N).
    mean_phi : ndarray, shape (R, S, N+1, M, 1+|A|)
        :math:`E_{h'(s)\sim\Pi_s(\cdot\mid c)}\phi_{\theta_s}` per team size c (the centring of (16)).
    """
    M = theta.shape[2]
    pre = np.einsum("ud,rsmd->rsum", tables.Zu, theta)
    act = pre > 0
    bs = b[:, :, None, :] / math.sqrt(M)
    logits = tau * (np.where(act, pre, 0.0) * bs).sum(axis=-1)  # (R, S, U), eq. (13)-(14)
    top = np.maximum.reduceat(logits, tables.starts, axis=-1)
    e = np.exp(logits - top[..., tables.group])
    tot = np.add.reduceat(e, tables.starts, axis=-1)
    logp = logits - top[..., tables.group] - np.log(tot[..., tables.group])
    S = tables.S
    policy = np.exp(logp[:, np.arange(S)[:, None], tables.slot].sum(axis=1))  # (R, Xi)
    phi = (act * bs)[..., None] * tables.Zu[None, None, :, None, :]  # eq. (15) with b_m
    p = np.exp(logp)
    mean_phi = np.add.reduceat(p[..., None, None] * phi, tables.starts, axis=2)
    return policy, phi, mean_phi


def _mu_chain(tables, policy):
    """P_pi(mu -> mu') per run, shape (R, n_mu, n_mu)."""
    return np.matmul(tables.E, policy[:, :, None] * tables.lifted.T[None])


def _stationary(tables, policy):
    r""":math:`\nu_\theta` per run, shape (R, |Ξ|).

    d solves :math:`d^\top(I-P+\mathbf 1\mathbf 1^\top)=\mathbf 1^\top` (non-singular iff the μ-chain is unichain).
    """
    P = _mu_chain(tables, policy)
    n = tables.n_mu
    A = np.eye(n)[None] - P + 1.0
    try:
        d = np.linalg.solve(np.swapaxes(A, 1, 2), np.ones((len(P), n, 1)))[..., 0]
    except np.linalg.LinAlgError:
        raise MultipleRecurrentClassesError("nu_theta is not unique for some run (singular stationary system): the "
                                            "lifted chain has several recurrent classes") from None
    res = np.abs(np.matmul(d[:, None, :], P)[:, 0] - d).max(axis=1)
    bad = np.flatnonzero((res > 1e-9) | (d.min(axis=1) < -1e-9))
    if bad.size:
        raise MultipleRecurrentClassesError(f"nu_theta is not unique for run {int(bad[0])} (stationary residual "
                                            f"{res[bad[0]]:.3g}, min {d[bad[0]].min():.3g})")
    # transient states come out at the rounding of the solve (seen: 1.05e-13), above the support tolerance of
    # solvers.exact.critic_fixed_point_mf (1e-13): set them to exactly 0, as stationary_pairs' support test expects
    d = np.where(d > 1e-12, d, 0.0)
    nu = d[:, tables.xi_mu] * policy
    return nu / nu.sum(axis=1, keepdims=True)


def _visitation(tables, policy, gamma):
    r""":math:`\sigma_\theta` (eq. (12), normalised) per run, shape (R, |Ξ|)."""
    P = _mu_chain(tables, policy)
    n = tables.n_mu
    rhs = np.broadcast_to((1.0 - gamma) * tables.p0, (len(P), n))[..., None]
    sbar = np.linalg.solve(np.swapaxes(np.eye(n)[None] - gamma * P, 1, 2), rhs)[..., 0]
    sig = np.clip(sbar[:, tables.xi_mu] * policy, 0.0, None)
    return sig / sig.sum(axis=1, keepdims=True)


def _inverse_cdf(cdf, u):
    """Index ``#{i: cdf[r, i] <= u}`` (clipped), cdf shape (R, n), u shape (..., R)."""
    idx = (u[..., None] >= cdf).sum(axis=-1)
    return np.minimum(idx, cdf.shape[-1] - 1)


def _next_pairs(tables, xi, local_cdf, u_mu, u_h):
    r"""One step of the pair chain: :math:`\mu'\sim\mathbf P^N(\cdot\mid\xi)`, :math:`h'\sim\Pi(\cdot\mid\mu')`.

    ``xi``, ``u_mu``, ``u_h`` shape (..., R); ``local_cdf`` (R, |Ξ|) is the cumulative policy within each μ-block.
    """
    mu2 = np.minimum((u_mu[..., None] >= tables.cumT[xi]).sum(axis=-1), tables.n_mu - 1)
    inblock = tables.xi_mu == mu2[..., None]
    pos = (inblock & (local_cdf <= u_h[..., None])).sum(axis=-1)
    return np.minimum(tables.first[mu2] + pos, tables.last[mu2])


def _local_cdf(tables, policy):
    c = np.cumsum(policy, axis=1)
    start = np.where(tables.first > 0, c[:, np.maximum(tables.first - 1, 0)], 0.0)  # (R, n_mu)
    return c - start[:, tables.xi_mu]


def _critic_samples(tables, policy, nu, U, sampling):
    """Pairs (T-1, R) and next pairs (T-1, R) of Alg. 1 l. 4 from the uniforms U (T-1, R, 3)."""
    lc = _local_cdf(tables, policy)
    cdf_nu = np.cumsum(nu, axis=1)
    if sampling == "iid":
        xi = _inverse_cdf(cdf_nu, U[..., 0])
        return xi, _next_pairs(tables, xi, lc, U[..., 1], U[..., 2])
    n = U.shape[0]
    xi = np.empty(U.shape[:2], dtype=np.int64)
    xi2 = np.empty_like(xi)
    if n:
        cur = _inverse_cdf(cdf_nu, U[0, :, 0])
        for t in range(n):  # one trajectory per run (ablation)
            xi[t] = cur
            cur = _next_pairs(tables, cur, lc, U[t, :, 1], U[t, :, 2])
            xi2[t] = cur
    return xi, xi2


def _sigma_samples(tables, policy, gamma, rng, B, sampling):
    """B draws per run from sigma_theta (module docstring), shape (R, B), and the rollout steps taken."""
    R = policy.shape[0]
    if sampling == "exact":
        u = rng.random((R, B))
        return _inverse_cdf(np.cumsum(_visitation(tables, policy, gamma), axis=1), u.T).T.copy(), 0
    stop = rng.geometric(1.0 - gamma, size=(R, B)) - 1  # P(stop = t) = (1 - gamma) gamma^t
    u0 = rng.random((R, B, 2))
    n_steps = int(stop.max())
    us = rng.random((n_steps, R, B, 2))
    lc = _local_cdf(tables, policy)
    mu0 = np.minimum((u0[..., 0][..., None] >= tables.cum_p0).sum(axis=-1), tables.n_mu - 1)
    inblock = tables.xi_mu == mu0[..., None]
    pos = (inblock & (lc[:, None, :] <= u0[..., 1][..., None])).sum(axis=-1)
    xi = np.minimum(tables.first[mu0] + pos, tables.last[mu0])
    lcb = lc[:, None, :]
    for t in range(n_steps):
        nxt = _next_pairs_b(tables, xi, lcb, us[t, ..., 0], us[t, ..., 1])
        xi = np.where(stop > t, nxt, xi)
    return xi, int(np.sum(stop))


def _next_pairs_b(tables, xi, lcb, u_mu, u_h):
    """:func:`_next_pairs` for (R, B) arrays, ``lcb`` (R, 1, |Ξ|)."""
    mu2 = np.minimum((u_mu[..., None] >= tables.cumT[xi]).sum(axis=-1), tables.n_mu - 1)
    inblock = tables.xi_mu == mu2[..., None]
    pos = (inblock & (lcb <= u_h[..., None])).sum(axis=-1)
    return np.minimum(tables.first[mu2] + pos, tables.last[mu2])


# ---------------------------------------------------------------------------- Alg. 1 kernel
def _critic_values(tables, W, W0, b, features):
    """:math:`Q_s(\\zeta^k_s(\\xi);W)` at every pair, shape (R, S, |Ξ|)."""
    M = W.shape[2]
    Zt = np.swapaxes(tables.Zc, 1, 2)[None]  # (1, S, d, Xi)
    z = np.matmul(W, Zt)  # (R, S, M, Xi)
    gate = z > 0 if features == "network" else np.matmul(W0, Zt) > 0
    return (np.where(gate, z, 0.0) * b[..., None]).sum(axis=2) / math.sqrt(M)


def _draw_critic_init(rng, R, tables, M, b_kind, b_teams):
    S, d = tables.S, tables.d_max
    b = _draw_b(rng, R, S, M, b_kind, b_teams)
    W0 = rng.standard_normal((R, S, M, d))
    mask = (np.arange(d)[None, :] < tables.dims[:, None]) / np.sqrt(tables.dims)[:, None]  # N(0, I/d^k_s)
    return W0 * mask[None, :, None, :], b


def _draw_b(rng, R, S, M, b_kind, b_teams):
    if b_kind == "ones":
        return np.ones((R, S, M))
    if b_teams == "shared":
        return np.broadcast_to(rng.choice(np.array([-1.0, 1.0]), size=(R, 1, M)), (R, S, M)).copy()
    return rng.choice(np.array([-1.0, 1.0]), size=(R, S, M))


def _td_kernel(tables, W0, b, start, xi, xi2, eta, radius, td_discount, features, snapshots=()):
    r"""Alg. 1 l. 3-13 for every run and team (deterministic given the samples).

    Returns ``(average, last, snaps)``: :math:`\bar\omega` (R, S, M, d), :math:`\omega(T-1)` and the averages after
    ``t`` updates for each ``t`` in ``snapshots`` (t = 0 is :math:`\bar\omega=` the start).
    """
    R, S, M, d = W0.shape
    h = radius / math.sqrt(M)
    lo, hi = W0 - h, W0 + h
    bs = b / math.sqrt(M)
    W = np.array(start, dtype=np.float64)
    avg = W.copy()
    want = set(int(t) for t in snapshots)
    snaps = {0: avg.copy()} if 0 in want else {}
    s_idx = np.arange(S)[None, :]
    rew = tables.rewards  # (Xi, S)
    for t in range(xi.shape[0]):
        x = tables.Zc[s_idx, xi[t][:, None]]  # (R, S, d)
        x2 = tables.Zc[s_idx, xi2[t][:, None]]
        z = np.matmul(W, x[..., None])[..., 0]  # (R, S, M)
        z2 = np.matmul(W, x2[..., None])[..., 0]
        if features == "network":
            g = (z > 0) * bs
            g2 = (z2 > 0) * bs
        else:  # the class (37): gates of omega(0)
            g = (np.matmul(W0, x[..., None])[..., 0] > 0) * bs
            g2 = (np.matmul(W0, x2[..., None])[..., 0] > 0) * bs
        delta = (g * z).sum(-1) - rew[xi[t]] - td_discount * (g2 * z2).sum(-1)  # l. 7
        W = W - (eta * delta[..., None] * g)[..., None] * x[:, :, None, :]  # l. 9, grad = b/sqrt(M) 1{.} x
        np.clip(W, lo, hi, out=W)  # l. 10, eq. (21)
        avg = running_average(avg, W, t)  # l. 11, eq. (22)
        if t + 1 in want:
            snaps[t + 1] = avg.copy()
    return avg, W, snaps


# ---------------------------------------------------------------------------- exact metrics
def _l2(nu, v):
    return float(np.sqrt(nu @ (v * v)))


def _critic_metrics(tables, policy_r, nu_r, vals_r, W0_r, b_r, radius, gamma, metrics, Q_teams=None):
    """Max over teams of the L2(nu) critic distances of one run (TD_METRICS)."""
    from netmarl_verify.solvers.exact._mean_field import evaluate_lifted, local_q

    lifted, S, k = tables.lifted, tables.S, tables.k
    out = {}
    if ("critic_error" in metrics or "critic_error_local" in metrics) and Q_teams is None:
        Q_teams = evaluate_lifted(lifted, policy_r, gamma).Q_teams
    if "critic_error" in metrics:
        out["critic_error"] = max(_l2(nu_r, vals_r[s] - Q_teams[s]) for s in range(S))
    if "critic_error_local" in metrics:
        out["critic_error_local"] = max(_l2(nu_r, vals_r[s] - local_q(lifted, Q_teams[s], s, k, "sigma", nu_r))
                                        for s in range(S))
    if "critic_fp_distance" in metrics:
        dist = 0.0
        for s in range(S):
            fp = critic_fixed_point_mf(lifted, policy_r, s, k, W0_r[s], b_r[s], radius=radius, gamma=gamma, nu=nu_r)
            dist = max(dist, _l2(nu_r, vals_r[s] - fp.values))
        out["critic_fp_distance"] = dist
    return out


# ---------------------------------------------------------------------------- Alg. 1
@dataclass(kw_only=True)
class NeuralTDResult(RunResult):
    r"""What :func:`run_dec_neural_td` returns (:class:`~._runs.RunResult` plus the critics).

    Attributes
    ----------
    omega_bar : ndarray, shape (R, S, M, d_max)
        :math:`\bar\omega_s` (Alg. 1 l. 14).
    omega0 : ndarray, shape (R, S, M, d_max)
    b : ndarray, shape (R, S, M)
    dims : ndarray, shape (S,)
        :math:`d^k_s` (coordinates beyond are padding).
    values : ndarray, shape (R, S, |Ξ|)
        The output :math:`Q_s(\zeta^k_s(\xi);\bar\omega_s)` (``critic_features`` decides network or (37)).
    nu : ndarray, shape (R, |Ξ|)
        :math:`\nu_\theta` of each run's policy.
    fixed_point_values : ndarray, shape (R, S, |Ξ|) or None
        Lemma C.1's :math:`Q_0(\cdot;\omega^*)` (when ``critic_fp_distance`` was asked for).
    """

    omega_bar: np.ndarray
    omega0: np.ndarray
    b: np.ndarray
    dims: np.ndarray
    values: np.ndarray
    nu: np.ndarray
    fixed_point_values: np.ndarray = None


def run_dec_neural_td(lifted, team_policy, k=1, *, width=64, n_iterations=None, eta=None, radius=1.0, runs=1,
                      rng=None, b="rademacher", b_teams="shared", critic_features="network", critic_sampling="iid",
                      td_discount=None, init=None, checkpoints=None, metrics=TD_METRICS):
    r"""gu2021 App. A.1, Alg. 1 (decentralised neural TD) for every team, R runs (module docstring).

    Parameters
    ----------
    lifted : LiftedMDP
    team_policy : ndarray, shape (|Ξ|,) or (R, |Ξ|)
        :math:`\Pi^\theta` (the same for every run, or one per run).
    k : int
        Localisation radius (critic input :math:`\zeta^k_s`).
    width : int
        M (default 64).
    n_iterations : int, optional
        :math:`T_{\rm critic}` (default 4 M); Alg. 1 makes :math:`T_{\rm critic}-1` updates (l. 3).
    eta : float, optional
        :math:`\eta_{\rm critic}` (default :math:`\min\{(1-\gamma)/8,T_{\rm critic}^{-1/2}\}`, Thm 5.1).
    radius : float
        R (default 1).
    runs : int
        R independent runs (ignored shape-wise when ``team_policy`` has a runs axis, which must match).
    rng : seed or Generator
    b, b_teams : str
        Output weights (module docstring, pinned choices).
    critic_features : {"network", "linearised"}
    critic_sampling : {"iid", "markov"}
    td_discount : float, optional
        Discount of the TD target (default the model's γ; anything else is a broken input).
    init : tuple (omega0, b), optional
        Fixed initialisation, shapes (R, S, M, d_max) and (R, S, M) (then nothing is drawn for it).
    checkpoints : iterable of int, optional
        Numbers of updates at which to record (default 11 evenly spaced in [0, T_critic - 1]).
    metrics : iterable of str
        Subset of :data:`TD_METRICS` (each the max over teams of an :math:`L^2(\nu_\theta)` distance of the
        running average :math:`Q_s(\cdot;\bar\omega_s)`): to Lemma C.1's fixed point, to the exact
        :math:`Q_s`, to the ν-conditional LocalQ :math:`\widehat Q_s`.

    Returns
    -------
    NeuralTDResult
        ``agent_steps_per_second`` counts agent-transitions: :math:`R\cdot N\cdot(T_{\rm critic}-1)` per elapsed
        second.

    Raises
    ------
    TypeError, ValueError, ShapeError
        Bad arguments (named).
    MultipleRecurrentClassesError
        :math:`\nu_\theta` not unique.
    """
    lifted = _check_lifted(lifted)
    model = lifted.model
    gamma = model.gamma
    k = _check_int(k, "k", 0)
    M = _check_int(width, "width", 1)
    T = 4 * M if n_iterations is None else _check_int(n_iterations, "n_iterations", 1)
    eta = min((1.0 - gamma) / 8.0, T ** -0.5) if eta is None else _positive(eta, "eta")
    radius = _positive(radius, "radius")
    _choice(b, ("rademacher", "ones"), "b")
    _choice(b_teams, ("shared", "per_team"), "b_teams")
    _choice(critic_features, CRITIC_FEATURES, "critic_features")
    _choice(critic_sampling, CRITIC_SAMPLING, "critic_sampling")
    td_discount = gamma if td_discount is None else _discount(td_discount, "td_discount")
    metrics = tuple(metrics)
    for m in metrics:
        _choice(m, TD_METRICS, "metrics entries")
    pol = np.asarray(team_policy, dtype=np.float64)
    if pol.ndim == 1:
        R = _check_int(runs, "runs", 1)
        pol = np.broadcast_to(pol, (R, pol.shape[0]))
    elif pol.ndim == 2:
        R = pol.shape[0]
    else:
        raise ShapeError(f"`team_policy` must have shape (|Xi|,) or (R, |Xi|), got {pol.shape}")
    if pol.shape[1] != lifted.n_xi:
        raise ShapeError(f"`team_policy` must have {lifted.n_xi} entries per run (|Xi|), got {pol.shape[1]}")
    for r in range(R):  # rows sum to 1 per mu, non-negative (raises naming the mu)
        lifted.policy_table(pol[r])
    cps = _check_checkpoints(checkpoints, T - 1)
    tables = _Tables(lifted, k, 1.0 / math.sqrt(2.0))
    rng, seed = seeded_generator(rng)
    if init is None:
        W0, bc = _draw_critic_init(rng, R, tables, M, b, b_teams)
    else:
        W0, bc = (np.asarray(a, dtype=np.float64) for a in init)
        if W0.shape != (R, tables.S, M, tables.d_max) or bc.shape != (R, tables.S, M):
            raise ShapeError(f"`init` must be (omega0, b) of shapes {(R, tables.S, M, tables.d_max)} and "
                             f"{(R, tables.S, M)}, got {W0.shape} and {bc.shape}")
    U = rng.random((T - 1, R, 3))
    nu = _stationary(tables, pol)
    clock = Stopwatch()
    clock.start()
    xi, xi2 = _critic_samples(tables, pol, nu, U, critic_sampling)
    avg, _, snaps = _td_kernel(tables, W0, bc, W0, xi, xi2, eta, radius, td_discount, critic_features, cps)
    clock.stop()
    trace = TraceRecorder(R, cps)
    fpv = None
    if metrics:
        from netmarl_verify.solvers.exact._mean_field import evaluate_lifted

        need_fp = "critic_fp_distance" in metrics
        fpv = np.zeros((R, tables.S, lifted.n_xi)) if need_fp else None
        Qt = [evaluate_lifted(lifted, pol[r], gamma).Q_teams if set(metrics) - {"critic_fp_distance"} else None
              for r in range(R)]
        if need_fp:
            for r in range(R):
                for s in range(tables.S):
                    fpv[r, s] = critic_fixed_point_mf(lifted, pol[r], s, k, W0[r, s], bc[r, s], radius=radius,
                                                      gamma=gamma, nu=nu[r]).values
    for t in cps:
        vals = _critic_values(tables, snaps[t], W0, bc, critic_features)
        cols = {m: np.zeros(R) for m in metrics}
        for r in range(R):
            if "critic_fp_distance" in metrics:
                cols["critic_fp_distance"][r] = max(_l2(nu[r], vals[r, s] - fpv[r, s]) for s in range(tables.S))
            rest = tuple(m for m in metrics if m != "critic_fp_distance")
            if rest:
                for name, v in _critic_metrics(tables, pol[r], nu[r], vals[r], W0[r], bc[r], radius, gamma, rest,
                                               Q_teams=Qt[r]).items():
                    cols[name][r] = v
        trace.record(t, None, cols)
    settings = dict(k=k, width=M, n_iterations=T, eta=eta, radius=radius, runs=R, b=b, b_teams=b_teams,
                    critic_features=critic_features, critic_sampling=critic_sampling, td_discount=td_discount,
                    gamma=gamma, checkpoints=list(cps), metrics=metrics)
    steps = R * model.n_agents * (T - 1)
    return NeuralTDResult(trace=trace.frame(), seed=seed, settings=settings, elapsed=clock.elapsed,
                          agent_steps_per_second=steps / clock.elapsed if clock.elapsed > 0 else float("nan"),
                          omega_bar=avg, omega0=W0, b=bc, dims=tables.dims,
                          values=_critic_values(tables, avg, W0, bc, critic_features), nu=nu, fixed_point_values=fpv)


# ---------------------------------------------------------------------------- Alg. 2
@dataclass(kw_only=True)
class DecNeuralACResult(RunResult):
    r"""What :func:`run_dec_neural_ac` returns (:class:`~._runs.RunResult` plus the final parameters).

    Attributes
    ----------
    theta : ndarray, shape (R, S, M, 1+|A|)
        :math:`\theta(T_{\rm actor}+1)`.
    theta0 : ndarray, shape (R, S, M, 1+|A|)
    b : ndarray, shape (R, S, M)
        Actor output weights.
    omega_bar, omega0 : ndarray, shape (R, S, M, d_max)
        The last critic (Alg. 1 output at :math:`\theta(T_{\rm actor})`) and its initialisation.
    critic_b : ndarray, shape (R, S, M)
    last_estimate : ndarray, shape (R, S, M, 1+|A|)
        :math:`\hat g(\theta(T_{\rm actor}))`.
    samples_per_second : float
        Pair transitions drawn per second of training, :math:`R\,T_{\rm actor}\,(T_{\rm critic}-1+B)` plus the
        rollout steps beyond the first state.

    Notes
    -----
    Trace columns (per run, at checkpoint t = number of actor updates made): ``J`` :math:`=J(\theta(t))`
    exact (:func:`~netmarl_verify.solvers.exact.evaluate_lifted`); ``grad_mapping`` :math:`\|G(\theta(t))\|`
    (48) with the exact ∇J and :math:`\eta_{\rm actor}`; the critic run at :math:`\theta(t)`: ``critic_error``,
    ``critic_error_local``, ``critic_fp_distance`` (as in :func:`run_dec_neural_td`); ``direction_error``
    :math:`\|E\hat g-\nabla J\|_2` (all teams) with :math:`E\hat g` exact given the critics
    (:func:`~netmarl_verify.solvers.exact._mean_field_critic.expected_actor_direction`); ``estimate_error``
    :math:`\|\hat g-E\hat g\|_2`. ``avg_reward`` is the mean of :math:`\sum_sr_s` over the actor batches since the
    previous row, an unbiased estimate of :math:`(1-\gamma)J`. The critic columns are NaN at t = T_actor
    (no critic is run there).
    """

    theta: np.ndarray
    theta0: np.ndarray
    b: np.ndarray
    omega_bar: np.ndarray
    omega0: np.ndarray
    critic_b: np.ndarray
    last_estimate: np.ndarray
    samples_per_second: float


def _actor_estimate(tables, phi, mean_phi, vals, xi, tau, gamma):
    r"""(23) for every run and team: :math:`\hat g` (R, S, M, 1+|A|).

    From the critics' values (R, S, |Ξ|) and the σ-pairs (R, B); the sums over the batch are gathered per type
    slot and per team size (bincount), so Φ is never materialised per sample.
    """
    R, S = vals.shape[:2]
    B = xi.shape[1]
    at = np.take_along_axis(vals, np.broadcast_to(xi[:, None, :], (R, S, B)), axis=2)  # Q_y(zeta^k_y,l)
    q = np.einsum("sy,ryl->rsl", tables.Ak, at)  # sum over y in N^k_s
    slots = tables.slot[:, xi].transpose(1, 0, 2)  # (R, S, B)
    U, G = phi.shape[2], mean_phi.shape[2]
    base = (np.arange(R)[:, None, None] * S + np.arange(S)[None, :, None])
    w_slot = np.bincount((base * U + slots).reshape(-1), q.reshape(-1), R * S * U).reshape(R, S, U)
    w_grp = np.bincount((base * G + tables.group[slots]).reshape(-1), q.reshape(-1), R * S * G).reshape(R, S, G)
    g = np.einsum("rsu,rsumd->rsmd", w_slot, phi) - np.einsum("rsg,rsgmd->rsmd", w_grp, mean_phi)
    return tau / ((1.0 - gamma) * B) * g


def run_dec_neural_ac(lifted, k=1, *, n_iterations=50, width=64, critic_iterations=None, batch=64, eta_actor=None,
                      eta_critic=None, radius=1.0, critic_radius=None, tau=1.0, input_scale=1.0 / math.sqrt(2.0),
                      runs=1, rng=None, b="rademacher", b_teams="shared", critic_init="redraw",
                      critic_features="network", critic_sampling="iid", actor_sampling="rollout", td_discount=None,
                      checkpoints=None, metrics=AC_METRICS):
    r"""gu2021 App. A.2, Alg. 2 (DEC-NEURAL-AC), R runs at once (module docstring).

    Parameters
    ----------
    lifted : LiftedMDP
    k : int
        Localisation radius (critic inputs and the sum over :math:`\mathcal N^k_s` in (23)); default 1.
    n_iterations : int
        :math:`T_{\rm actor}` (default 50).
    width : int
        M, for the actor and the critic (default 64).
    critic_iterations : int, optional
        :math:`T_{\rm critic}` (default 4 M).
    batch : int
        B (default 64).
    eta_actor, eta_critic : float, optional
        Defaults :math:`T_{\rm actor}^{-1/2}` and :math:`\min\{(1-\gamma)/8,T_{\rm critic}^{-1/2}\}`.
    radius, critic_radius : float
        R of the actor box and of the critic box (default: the same, 1).
    tau : float
        Temperature of (14) (default 1).
    input_scale : float
        λ of the actor input (default :math:`1/\sqrt2`).
    runs : int
        R.
    rng : seed or Generator
    b, b_teams, critic_init, critic_features, critic_sampling, actor_sampling : str
        Pinned choices (module docstring).
    td_discount : float, optional
        Discount of the TD target (broken input when ≠ γ).
    checkpoints : iterable of int, optional
        Actor iterations to record (default 11 evenly spaced in [0, T_actor]).
    metrics : iterable of str
        Subset of :data:`AC_METRICS` (see :class:`DecNeuralACResult`).

    Returns
    -------
    DecNeuralACResult
    """
    lifted = _check_lifted(lifted)
    model = lifted.model
    gamma = model.gamma
    k = _check_int(k, "k", 0)
    T_a = _check_int(n_iterations, "n_iterations", 1)
    M = _check_int(width, "width", 1)
    T_c = 4 * M if critic_iterations is None else _check_int(critic_iterations, "critic_iterations", 1)
    B = _check_int(batch, "batch", 1)
    R = _check_int(runs, "runs", 1)
    eta_a = T_a ** -0.5 if eta_actor is None else _positive(eta_actor, "eta_actor")
    eta_c = min((1.0 - gamma) / 8.0, T_c ** -0.5) if eta_critic is None else _positive(eta_critic, "eta_critic")
    radius = _positive(radius, "radius")
    critic_radius = radius if critic_radius is None else _positive(critic_radius, "critic_radius")
    tau = _positive(tau, "tau")
    input_scale = _positive(input_scale, "input_scale")
    _choice(b, ("rademacher", "ones"), "b")
    _choice(b_teams, ("shared", "per_team"), "b_teams")
    _choice(critic_init, CRITIC_INITS, "critic_init")
    _choice(critic_features, CRITIC_FEATURES, "critic_features")
    _choice(critic_sampling, CRITIC_SAMPLING, "critic_sampling")
    _choice(actor_sampling, ACTOR_SAMPLING, "actor_sampling")
    td_discount = gamma if td_discount is None else _discount(td_discount, "td_discount")
    metrics = tuple(metrics)
    for m in metrics:
        _choice(m, AC_METRICS + ("estimate_error",), "metrics entries")
    cps = _check_checkpoints(checkpoints, T_a)
    tables = _Tables(lifted, k, input_scale)
    S, da = tables.S, 1 + tables.A
    rng, seed = seeded_generator(rng)
    ba = _draw_b(rng, R, S, M, b, b_teams)
    theta0 = rng.standard_normal((R, S, M, da)) / math.sqrt(da)  # [theta_s(0)]_m ~ N(0, I/d_zeta_s)
    theta = theta0.copy()
    h_a = radius / math.sqrt(M)
    if critic_init != "redraw":
        W0, bc = _draw_critic_init(rng, R, tables, M, b, b_teams)
        start = W0
    trace = TraceRecorder(R, cps)
    clock = Stopwatch()
    n_samples = 0
    g = np.zeros_like(theta)
    avg = None
    clock.start()
    for t in range(T_a + 1):
        policy, phi, mean_phi = batched_energy_policy(tables, theta, ba, tau)  # Alg. 2 l. 4, eq. (14)
        if t == T_a:
            break
        if critic_init == "redraw":  # Alg. 1 l. 2 at every call
            W0, bc = _draw_critic_init(rng, R, tables, M, b, b_teams)
            start = W0
        U = rng.random((T_c - 1, R, 3))
        nu = _stationary(tables, policy)
        xi, xi2 = _critic_samples(tables, policy, nu, U, critic_sampling)
        avg, last, _ = _td_kernel(tables, W0, bc, start, xi, xi2, eta_c, critic_radius, td_discount,
                                  critic_features)  # l. 5: Alg. 1
        if critic_init == "warm":
            start = last
        xs, n_roll = _sigma_samples(tables, policy, gamma, rng, B, actor_sampling)  # l. 6
        vals = _critic_values(tables, avg, W0, bc, critic_features)
        g = _actor_estimate(tables, phi, mean_phi, vals, xs, tau, gamma)  # l. 8, eq. (23)
        n_samples += R * (T_c - 1 + B) + n_roll
        if trace.due(t):
            with clock.paused():
                cols = _ac_metrics(tables, theta, theta0, ba, policy, nu, vals, W0, bc, g, tau, gamma, eta_a, radius,
                                   critic_radius, input_scale, metrics)
                trace.record(t, None, cols)
        trace.add_reward(tables.rewards[xs].sum(axis=-1).mean(axis=1))
        theta = np.clip(theta + eta_a * g, theta0 - h_a, theta0 + h_a)  # l. 9-10
    clock.stop()
    if trace.due(T_a):
        trace.record(T_a, None, _ac_metrics(tables, theta, theta0, ba, policy, None, None, None, None, None, tau, gamma,
                                            eta_a, radius, critic_radius, input_scale, metrics))
    settings = dict(k=k, n_iterations=T_a, width=M, critic_iterations=T_c, batch=B, eta_actor=eta_a,
                    eta_critic=eta_c, radius=radius, critic_radius=critic_radius, tau=tau, input_scale=input_scale,
                    runs=R, b=b, b_teams=b_teams, critic_init=critic_init, critic_features=critic_features,
                    critic_sampling=critic_sampling, actor_sampling=actor_sampling, td_discount=td_discount,
                    gamma=gamma, checkpoints=list(cps), metrics=metrics)
    el = clock.elapsed
    rate = n_samples / el if el > 0 else float("nan")
    return DecNeuralACResult(trace=trace.frame(), seed=seed, settings=settings, elapsed=el,
                             agent_steps_per_second=rate * model.n_agents, theta=theta, theta0=theta0, b=ba,
                             omega_bar=avg, omega0=W0, critic_b=bc, last_estimate=g, samples_per_second=rate)


def _ac_metrics(tables, theta, theta0, ba, policy, nu, vals, W0, bc, g, tau, gamma, eta_a, radius, critic_radius,
                input_scale, metrics):
    """The exact columns of one checkpoint (loops over runs: metrics are not training time)."""
    from netmarl_verify.solvers.exact._mean_field import energy_gradient, evaluate_lifted

    lifted = tables.lifted
    R = theta.shape[0]
    cols = {m: np.full(R, np.nan) for m in metrics}
    h = radius / math.sqrt(theta.shape[2])
    for r in range(R):
        ev = evaluate_lifted(lifted, policy[r], gamma)
        if "J" in cols:
            cols["J"][r] = ev.J
        grad = None
        if "grad_mapping" in cols or "direction_error" in cols:
            grad = energy_gradient(lifted, theta[r], ba[r], tau, input_scale, gamma, evaluation=ev)[0]
        if "grad_mapping" in cols:  # (48): G = (Proj_B(theta + eta grad) - theta) / eta
            proj = np.clip(theta[r] + eta_a * grad, theta0[r] - h, theta0[r] + h)
            cols["grad_mapping"][r] = float(np.sqrt((((proj - theta[r]) / eta_a) ** 2).sum()))
        if vals is None:
            continue
        crit = tuple(m for m in metrics if m in TD_METRICS)
        if crit:
            for name, v in _critic_metrics(tables, policy[r], nu[r], vals[r], W0[r], bc[r], critic_radius, gamma,
                                           crit, Q_teams=ev.Q_teams).items():
                cols[name][r] = v
        if "direction_error" in cols or "estimate_error" in cols:
            ed = expected_actor_direction(lifted, theta[r], ba[r], vals[r], tables.k, tau=tau, gamma=gamma,
                                          input_scale=input_scale, evaluation=ev).mean
            if "direction_error" in cols:
                cols["direction_error"][r] = float(np.sqrt(((ed - grad) ** 2).sum()))
            if "estimate_error" in cols:
                cols["estimate_error"][r] = float(np.sqrt(((g[r] - ed) ** 2).sum()))
    return cols


# ---------------------------------------------------------------------------- throughput
def dec_neural_ac_throughput(model=None, k=1, *, width=64, batch=64, runs=16, n_iterations=5, rng=0):
    r"""Samples per second of :func:`run_dec_neural_ac` (training only, no metrics), for a benchmark row.

    A sample is one pair transition drawn and consumed by the algorithm (a critic TD pair or an actor
    rollout step); multiply by N for agent-steps. Default instance: ``mf_congestion(L=5, path, N=2)``
    (|Ξ| = 55, |P^N| = 15), k = 1, M = 64, T_critic = 4M = 256, B = 64, R = 16 runs, 5 actor iterations after
    a one-iteration warm-up; BLAS threads are the caller's (the bench pins them).

    Goal :data:`GOAL_SAMPLES_PER_SECOND` = 100,000 samples/s at these defaults. Measured (2026-12-01,
    shared 2-core machine, one BLAS thread, load average 2.3): 242,000-247,000 samples/s over three seeds
    (0.37 s wall per call); the goal leaves a 2.4x margin for a busier machine. The cost is the TD
    kernel, O(R S M d) per critic step, so the rate falls about linearly in M (M = 256: 40,000
    samples/s); the goal is for the default row only. At the goal a guide-E5 point with
    T_actor = 256, B = 64, M = 64, 16 seeds (1.3 million samples) trains in about 13 s.
    """
    from netmarl_verify.envs._mean_field import lift, mf_congestion

    lifted = lift(mf_congestion(5, "path", n_agents=2) if model is None else model)
    kw = dict(width=width, batch=batch, runs=runs, rng=rng, checkpoints=[], metrics=())
    run_dec_neural_ac(lifted, k, n_iterations=1, **kw)  # warm-up
    return float(run_dec_neural_ac(lifted, k, n_iterations=n_iterations, **kw).samples_per_second)
