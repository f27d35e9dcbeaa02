r"""The constants of qu2020 App. C-D (Lemmas 6, 7, 9, 10) on the dense state-action chain.

Everything here works on the state-action chain :math:`z = (s, a)`, kernel
:math:`P^\theta(z, z') = P(s'|s,a)\zeta^\theta(a'|s')`, stationary law :math:`\pi^\theta`,
:math:`D^\theta = \operatorname{diag}(\pi^\theta)`, built densely (small instances only), with
global indices ``z = s * |A| + a``.

state_action_chain        -- :math:`P^\theta`, :math:`\pi^\theta`, :math:`\sigma`, :math:`\mu_D`, and
                             :math:`\|(P^\theta - \mathbf 1\pi^\top)^\top\|_{D}` (:class:`StateActionChain`)
l1_contraction            -- Lemma 6's worst direction: :math:`\sup_{\mathbf 1^\top d = 0}
                             \|((P^\theta)^\top)^t d\|_1 / \|d\|_1` for each t, exactly
critic_averaged_system    -- Ḡ_i(θ), h̄_i(θ) of App. C.2 for a given c', and the solution x_i^θ
critic_mixing_constants   -- Lemma 7 (a)-(b): the sup-norms of G̃_i, h_i, G_i^θ, Ḡ_i, h̄_i, of the
                             mixing terms and of the Poisson solutions Ĝ_i^θ, ĥ_i^θ

Lemma 6's worst direction (why enumeration is exact). For :math:`A = ((P^\theta)^\top)^t`,
:math:`d \mapsto \|Ad\|_1` is convex and positively homogeneous, so the supremum of
:math:`\|Ad\|_1/\|d\|_1` over :math:`\mathbf 1^\top d = 0` is its maximum over the polytope
:math:`\{\mathbf 1^\top d = 0, \|d\|_1 \le 1\}`, attained at a vertex. The vertices are
:math:`(e_x - e_y)/2`, :math:`x \ne y` (a point with three or more non-zero coordinates, or two
of the same sign, is a proper convex combination of such points). At that vertex the ratio is
:math:`\tfrac12\|P^t(x,\cdot) - P^t(y,\cdot)\|_1`, the total-variation distance of two rows of
:math:`P^t`: the supremum is Dobrushin's coefficient :math:`\delta(P^t)`.

The averaged critic system (qu2020 App. C.2). With :math:`x_i = [c'\hat\mu_i; \hat Q_i]`,
:math:`\Phi_i \in \{0,1\}^{Z \times \hat Z_N}` the indicator of :math:`z_N` (dummy column dropped),

.. math:: \bar G_i(\theta) = \begin{bmatrix} 1 & 0 \\ \frac1{c'}\Phi_i^\top\pi^\theta &
          \Phi_i^\top D^\theta(\Phi_i - P^\theta\Phi_i)\end{bmatrix}, \qquad
          \bar h_i(\theta) = \begin{bmatrix} c'(\pi^\theta)^\top r_i \\ \Phi_i^\top D^\theta r_i\end{bmatrix}.

:math:`\Phi_i^\top D\Phi_i = \operatorname{diag}(\pi_N)` and :math:`\Phi_i^\top D P\Phi_i = M`
(restricted to :math:`\hat Z_N`) are read from
:func:`~netmarl_verify.solvers.exact.critic_fixed_point`'s :class:`CriticEquation`;
:math:`(\pi^\theta)^\top r_i` is the sum of :math:`\Phi^\top D r_i` over *all* of :math:`Z_N`
(including the dummy), not the evaluation's :math:`J_i` — so that Lemma 10's
:math:`\hat\mu = J_i` compares two computations.
"""

import math
from dataclasses import dataclass, field

import numpy as np
import scipy.linalg as sla
from scipy.spatial.distance import pdist, squareform

from netmarl_verify.envs._memory import check_memory

from ._critic import _check_networked, critic_fixed_point
from ._model import _chunks, check_agent

__all__ = [
    "StateActionChain",
    "state_action_chain",
    "l1_contraction",
    "CriticSystem",
    "critic_averaged_system",
    "CriticMixing",
    "critic_mixing_constants",
]


@dataclass
class StateActionChain:
    r"""The dense state-action chain of a policy.

    Attributes
    ----------
    P : ndarray, shape (|Z|, |Z|)
        :math:`P^\theta(z, z')`, ``z = s * |A| + a``.
    pi : ndarray, shape (|Z|,)
        :math:`\pi^\theta(z) = d(s)\zeta(a|s)`.
    sigma : float
        :math:`\min_z \pi^\theta(z)`.
    mu_D : float
        :math:`\|P - \mathbf 1\pi^\top\|_D = \|D^{1/2}(P - \mathbf 1\pi^\top)D^{-1/2}\|_2` (Assumption 4(b)).
    mu_D_transpose : float
        :math:`\|(P - \mathbf 1\pi^\top)^\top\|_D = \|D^{-1/2}(P - \mathbf 1\pi^\top)D^{1/2}\|_2`, the norm
        the printed proof of Lemma 6 uses (equal to ``mu_D`` for reversible chains only).
    states, actions : ndarray, shape (|Z|, n)
        Local indices of every pair.
    rewards : ndarray, shape (|Z|, n)
        :math:`r_i(z)` of every agent.
    """

    P: np.ndarray = field(repr=False)
    pi: np.ndarray = field(repr=False)
    sigma: float
    mu_D: float
    mu_D_transpose: float
    states: np.ndarray = field(repr=False)
    actions: np.ndarray = field(repr=False)
    rewards: np.ndarray = field(repr=False)

    @property
    def n_pairs(self):
        """:math:`|Z|`."""
        return int(self.pi.size)

    @property
    def c_inf(self):
        r"""Lemma 6's constant :math:`c_\infty = \sqrt{|Z|/\sigma}`."""
        return math.sqrt(self.n_pairs / self.sigma) if self.sigma > 0 else math.inf


def state_action_chain(mdp, policy, *, evaluation=None, max_bytes=None):
    r"""The dense state-action chain :math:`P^\theta`, :math:`\pi^\theta` and Assumption 4's constants.

    Same construction as :func:`~netmarl_verify.solvers.exact.ergodicity_constants` (whose
    ``mu_D`` it reproduces), keeping the matrix.

    Returns
    -------
    StateActionChain
    """
    nZ = mdp.n_states * mdp.n_actions
    check_memory(8.0 * 5 * nZ * nZ, f"the dense state-action chain ({nZ} pairs squared)", max_bytes=max_bytes,
                 hint="App. C's constants need the full state-action chain")
    ev = _check_networked(mdp, policy, evaluation)
    model = ev.model
    nS, nA = mdp.n_states, mdp.n_actions
    pi_sa = model.joint_policy(max_bytes=max_bytes)
    pi_z = (ev.stationary[:, None] * pi_sa).reshape(nZ)
    s_all, a_all = np.repeat(np.arange(nS), nA), np.tile(np.arange(nA), nS)
    st, ac = mdp.state_tuples(s_all), mdp.action_tuples(a_all)
    P = np.empty((nZ, nZ))
    for a, b in _chunks(nZ, 8.0 * nZ * 3):
        rows = model.pair_rows(st[a:b], ac[a:b])
        P[a:b] = (rows[:, :, None] * pi_sa[None, :, :]).reshape(b - a, nZ)
    X = P - pi_z[None, :]
    sigma = float(pi_z.min())
    if sigma > 0:
        root = np.sqrt(pi_z)
        mu = float(np.linalg.norm(root[:, None] * X / root[None, :], 2))
        mu_t = float(np.linalg.norm(X * root[None, :] / root[:, None], 2))
    else:
        mu = mu_t = math.nan
    rewards = np.asarray(mdp.local_rewards(st, ac), dtype=float)
    return StateActionChain(P, pi_z, sigma, mu, mu_t, st, ac, rewards)


def l1_contraction(P, ts):
    r"""Lemma 6's left side in the worst direction: :math:`\max_{\mathbf 1^\top d = 0}\|((P)^\top)^t d\|_1/\|d\|_1`.

    Exact, by the vertex argument of the module docstring: the largest total-variation distance
    between two rows of :math:`P^t`.

    Parameters
    ----------
    P : ndarray, shape (m, m)
        A stochastic matrix.
    ts : iterable of int >= 0

    Returns
    -------
    ratios : ndarray, shape (len(ts),)
    pairs : list of (int, int)
        A worst pair :math:`(x, y)` per t: :math:`d = (e_x - e_y)/2` attains the ratio.
    """
    P = np.asarray(P, dtype=float)
    m = P.shape[0]
    ts = [int(t) for t in ts]
    if any(t < 0 for t in ts):
        raise ValueError(f"ts must be >= 0, got {ts}")
    ratios, pairs = [], []
    Pt, cur = np.eye(m), 0
    for t in sorted(set(ts)):
        while cur < t:
            Pt = Pt @ P
            cur += 1
        dist = squareform(pdist(Pt, "cityblock")) / 2.0 if m > 1 else np.zeros((1, 1))
        k = int(np.argmax(dist))
        ratios.append((t, float(dist.flat[k]), divmod(k, m)))
    by_t = {t: (r, p) for t, r, p in ratios}
    return np.array([by_t[t][0] for t in ts]), [tuple(int(v) for v in by_t[t][1]) for t in ts]


# ---------------------------------------------------------------------------- Ḡ_i, h̄_i
@dataclass
class CriticSystem:
    r"""The averaged critic system :math:`\bar h_i(\theta) - \bar G_i(\theta)x = 0` of App. C.2.

    Attributes
    ----------
    G_bar : ndarray, shape (1 + |Ẑ_N|, 1 + |Ẑ_N|)
    h_bar : ndarray, shape (1 + |Ẑ_N|,)
    x : ndarray
        The solution :math:`x_i^\theta = [c'\hat\mu_i^\theta; \hat Q_i^\theta]`.
    mu_hat : float
        :math:`\hat\mu_i^\theta = x_0/c'`.
    table : ndarray
        :math:`\hat Q_i^\theta` on all of :math:`Z_N` (dummy entry 0), shaped like
        :func:`critic_fixed_point`'s table.
    c_prime : float
    keep : ndarray
        Flat indices of :math:`\hat Z_N` in the table.
    equation : CriticEquation
    residual : float
        :math:`\|\bar h - \bar G x\|_\infty`.
    """

    G_bar: np.ndarray = field(repr=False)
    h_bar: np.ndarray = field(repr=False)
    x: np.ndarray = field(repr=False)
    mu_hat: float
    table: np.ndarray = field(repr=False)
    c_prime: float
    keep: np.ndarray = field(repr=False)
    equation: object = field(repr=False)
    residual: float

    @property
    def symmetric_part_min_eig(self):
        r""":math:`\lambda_{\min}((\bar G + \bar G^\top)/2) = \min_{x \ne 0} x^\top\bar G x/\|x\|^2` (Lemma 9's left side)."""
        S = 0.5 * (self.G_bar + self.G_bar.T)
        return float(np.linalg.eigvalsh(S)[0])


def critic_averaged_system(mdp, policy, agent, kappa, c_prime, *, evaluation=None, dummy=None):
    r""":math:`\bar G_i(\theta)`, :math:`\bar h_i(\theta)` with the given :math:`c'` and their solution (module docstring).

    Returns
    -------
    CriticSystem
    """
    if not c_prime > 0:
        raise ValueError(f"c_prime must be > 0, got {c_prime}")
    ev = _check_networked(mdp, policy, evaluation)
    agent = check_agent(mdp, agent)
    _, eq = critic_fixed_point(mdp, policy, agent, kappa, dummy, evaluation=ev, full_output=True)
    nZ = eq.pi.size
    keep = np.flatnonzero(np.arange(nZ) != eq.dummy)
    m = keep.size
    rew = eq.pi * eq.mean_reward  # Phi~^T D r_i over all of Z_N
    G = np.zeros((m + 1, m + 1))
    G[0, 0] = 1.0
    G[1:, 0] = eq.pi[keep] / c_prime
    G[1:, 1:] = np.diag(eq.pi[keep]) - eq.M[np.ix_(keep, keep)]
    h = np.concatenate([[c_prime * float(rew.sum())], rew[keep]])
    x = sla.solve(G, h, check_finite=False)
    table = np.zeros(nZ)
    table[keep] = x[1:]
    residual = float(np.abs(h - G @ x).max())
    return CriticSystem(G, h, x, float(x[0] / c_prime), table.reshape(eq.table.shape), float(c_prime), keep, eq,
                        residual)


# ---------------------------------------------------------------------------- Lemma 7
@dataclass
class CriticMixing:
    r"""Lemma 7's quantities for one agent, :math:`\kappa` and :math:`c'` (matrix norms: max row sums).

    Attributes
    ----------
    G_tilde_max : float
        :math:`\max_{z, z'}\|\tilde G_i(z, z')\|_\infty` over all pairs of :math:`Z_N`.
    h_max : float
        :math:`\max_z\|h_i(z)\|_\infty`.
    G_theta_max : float
        :math:`\max_z\|G_i^\theta(z)\|_\infty`.
    G_bar_norm, h_bar_norm : float
        :math:`\|\bar G_i(\theta)\|_\infty`, :math:`\|\bar h_i(\theta)\|_\infty`.
    ts : ndarray
    G_mixing, h_mixing : ndarray, shape (len(ts),)
        :math:`\max_z\|E[G_i^\theta(z(t)) - \bar G_i \mid z(0) = z]\|_\infty` and the same for :math:`h_i`.
    G_hat_max, h_hat_max : float
        :math:`\max_z\|\hat G_i^\theta(z)\|_\infty`, :math:`\max_z\|\hat h_i^\theta(z)\|_\infty` (Poisson
        solutions, by the fundamental matrix :math:`(I - P + \mathbf 1\pi^\top)^{-1} - \mathbf 1\pi^\top`).
    """

    G_tilde_max: float
    h_max: float
    G_theta_max: float
    G_bar_norm: float
    h_bar_norm: float
    ts: np.ndarray
    G_mixing: np.ndarray
    h_mixing: np.ndarray
    G_hat_max: float
    h_hat_max: float


def _neighbourhood_index(mdp, chain, agent, kappa):
    N = list(mdp.kappa_hop(agent, kappa))
    shape = tuple(mdp.state_sizes[j] for j in N) + tuple(mdp.action_sizes[j] for j in N)
    cols = [chain.states[:, j] for j in N] + [chain.actions[:, j] for j in N]
    return np.ravel_multi_index(tuple(cols), shape), math.prod(shape)


def _weighted_norms(W, onehot, PPhi, r, c_prime):
    r"""Row-sum norms of :math:`\sum_z w(z)G^\theta(z)` and :math:`\sum_z w(z)h(z)` for each row w of W (Σw = 0)."""
    a = W @ onehot  # (k, m): Phi^T w
    T = np.einsum("kz,zx,zy->kxy", W, onehot, PPhi, optimize=True)  # Phi^T diag(w) P Phi
    B = -T
    idx = np.arange(onehot.shape[1])
    B[:, idx, idx] += a
    top = np.abs(W.sum(axis=1))  # row 0: (sum w) * 1, 0
    G_norm = np.maximum(top, (np.abs(a) / c_prime + np.abs(B).sum(axis=2)).max(axis=1, initial=0.0))
    wr = W * r[None, :]
    h_norm = np.maximum(c_prime * np.abs(wr.sum(axis=1)), np.abs(wr @ onehot).max(axis=1, initial=0.0))
    return G_norm, h_norm


def critic_mixing_constants(mdp, policy, agent, kappa, c_prime, ts, *, evaluation=None, chain=None, dummy=None):
    r"""Lemma 7's exact quantities (:class:`CriticMixing`) on the dense state-action chain.

    :math:`\tilde G_i(z,z')`, :math:`h_i(z)` as in App. C.2 (their row :math:`z_N` is
    :math:`[\frac1{c'}, e_{z_N}^\top - e_{z'_N}^\top]`, the zero row for the dummy),
    :math:`G_i^\theta(z) = E_{z'\sim P(\cdot|z)}\tilde G_i(z, z')`.
    """
    ev = _check_networked(mdp, policy, evaluation)
    agent = check_agent(mdp, agent)
    if chain is None:
        chain = state_action_chain(mdp, policy, evaluation=ev)
    zN, nZN = _neighbourhood_index(mdp, chain, agent, kappa)
    sysm = critic_averaged_system(mdp, policy, agent, kappa, c_prime, evaluation=ev, dummy=dummy)
    d0 = sysm.equation.dummy
    keep = sysm.keep
    col = np.full(nZN, -1)
    col[keep] = np.arange(keep.size)
    nZ = chain.n_pairs
    onehot = np.zeros((nZ, keep.size))
    ok = col[zN] >= 0
    onehot[np.flatnonzero(ok), col[zN[ok]]] = 1.0
    r = chain.rewards[:, agent]
    # (a) G~ over all pairs (x, y) of Z_N: row x (non-dummy) has norm 1/c' + ||e_x - e_y||_1
    ex = np.arange(nZN) != d0
    l1 = ex[:, None].astype(float) + ex[None, :] - 2.0 * np.eye(nZN) * ex[:, None]
    G_tilde_max = max(1.0, float((1.0 / c_prime + l1[ex]).max(initial=0.0)))
    zN_nd = ok
    h_max = float(max(np.abs(c_prime * r).max(), np.abs(r[zN_nd]).max(initial=0.0)))
    PPhi = chain.P @ onehot  # (Z, m): law of z'_N (non-dummy part)
    row = np.where(zN_nd, 1.0 / c_prime + np.abs(onehot - PPhi).sum(axis=1), 0.0)
    G_theta_max = float(max(1.0, row.max()))
    G_bar_norm = float(np.abs(sysm.G_bar).sum(axis=1).max())
    h_bar_norm = float(np.abs(sysm.h_bar).max())
    # (b) mixing terms: w = P^t(z0, .) - pi, every z0 at once
    ts = np.array(sorted({int(t) for t in ts}))
    Gm, hm = np.empty(ts.size), np.empty(ts.size)
    Pt, cur = np.eye(nZ), 0
    for k, t in enumerate(ts):
        while cur < t:
            Pt = Pt @ chain.P
            cur += 1
        g, hh = _weighted_norms(Pt - chain.pi[None, :], onehot, PPhi, r, c_prime)
        Gm[k], hm[k] = g.max(), hh.max()
    fund = np.linalg.inv(np.eye(nZ) - chain.P + np.outer(np.ones(nZ), chain.pi)) - np.outer(np.ones(nZ), chain.pi)
    g, hh = _weighted_norms(fund, onehot, PPhi, r, c_prime)
    return CriticMixing(G_tilde_max, h_max, G_theta_max, G_bar_norm, h_bar_norm, ts, Gm, hm, float(g.max()),
                        float(hh.max()))
