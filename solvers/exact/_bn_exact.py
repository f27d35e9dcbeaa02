r"""Exact quantities of Bayesian-network policies in cooperative Markov games (chen2024 §2-§4, App. A).

On a :class:`~netmarl_verify.envs.CooperativeMarkovGame` with a
:class:`~netmarl_verify.envs.BNSoftmaxPolicy` :math:`\pi_\theta(a|s)=\prod_i\pi^i(a^i|s,a^{P^i})`:

* **Evaluation** (:func:`bn_evaluate`): :math:`V_\pi` and :math:`d_\mu^\pi` by one LU of
  :math:`I-\gamma P_\pi` (residual-certified), :math:`Q_\pi(s,a)=R+\gamma PV`. The visitation is given in
  both normalisations of chen2024 §2: ``d`` the paper's "unnormalized" measure
  :math:`d_\mu^\pi(s)=\sum_t\gamma^t\Pr(s_t=s)` (sums to :math:`1/(1-\gamma)`) and ``d_tilde`` :math:`=(1-\gamma)d`.
* **Log-barrier objective** (§4.1): :math:`L_\lambda(\theta)=V_\theta(\mu)+\lambda\,b(\theta)` with
  :math:`b(\theta)=\sum_i\big(\frac{1}{|S||\mathcal A^{P^i}||\mathcal A^i|}\sum_{s,a^{P^i},a^i}\log\pi^i+\log|\mathcal A^i|\big)`
  (:func:`log_barrier`, by log-softmax). It equals the joint barrier
  :math:`E_{s\sim\mathrm{Unif}}[\frac1{|\mathcal A|}\sum_a\log\pi(a|s)+\log|\mathcal A|]` (:func:`joint_log_barrier`)
  because the uniform law on joint actions is uniform on every :math:`(a^{P^i},a^i)`.
* **Lemma 1's gradient** (:func:`bn_gradient`). Conditionals are Bayesian (chen2024 §3):
  :math:`\pi(a^{P^i}|s)\pi^i(a^i|\cdot)Q(s,a^{P_+^i})=\sum_{a\supseteq(a^{P^i},a^i)}\pi(a|s)Q(s,a)` — grouped sums over the
  joint actions (``np.bincount``), no explicit conditional is formed. **Reading taken**: the printed
  formula :math:`\frac1{1-\gamma}d(s,a^{P^i})\pi^iA^i+\frac{\lambda}{|S||\mathcal A^{P^i}|}(\frac1{|\mathcal A^i|}-\pi^i)` is the
  exact gradient when :math:`d` is the *normalised* :math:`\tilde d` (``reading="normalized"``, the default);
  with §2's unnormalised :math:`d` (``reading="unnormalized"``) the first term is :math:`1/(1-\gamma)` times
  too large (they agree at :math:`\gamma=0`). Broken variants for the tests: ``conditional="intervention"``
  (clamp :math:`a^{P_+^i}`, the other agents from their own factors only) and ``weighting="state"``
  (the parent marginal :math:`\pi(a^{P^i}|s)` dropped).
* **Smoothness** (Lemma 4): :func:`beta_lambda`; :func:`bn_hessian` gives the exact regulariser
  Hessian (block diagonal, :math:`-\frac{\lambda}{|S||\mathcal A^{P^i}|}(\mathrm{diag}\,p-pp^\top)` per
  :math:`(i,s,a^{P^i})`) and the value Hessian by central differences of the exact gradient.
* **Best responses and gaps** (Def. 1-2). Agent i deviates within its class
  :math:`\bar\pi^i(a^i|s,a^{P^i})` (same parents). Its problem is an MDP on the augmented states
  :math:`(s,c)`, :math:`c=a^{P^i}`: the others' factors give the context law :math:`m(c|s)=\pi(a^{P^i}=c|s)`
  and the conditional :math:`w(a)/m(c|s)` of the remaining actions, :math:`w=\prod_{j\ne i}\pi^j`, both
  independent of :math:`\bar\pi^i` (the parents are non-descendants of i). Because the next context is
  drawn afresh from :math:`m(\cdot|s')`, policy evaluation only needs :math:`U(s)=\sum_c m(c|s)V(s,c)`: an
  :math:`|S|\times|S|` solve per policy-iteration step (:func:`bn_best_response`); :func:`augmented_mdp` builds the
  full augmented :class:`~netmarl_verify.envs.TabularMDP` for a second route. The augmented reward and kernel
  are tensor reductions over the joint-action axes outside :math:`P_+^i` (memory :math:`O(|S|^2|\mathcal A|)`, no
  per-agent indicator matrix); :func:`bn_nash_gap` gathers each factor once and forms every
  :math:`w_i=\prod_{j\ne i}\pi^j` by prefix/suffix products (one state with N = 16 binary agents, or 10 states
  with N = 10: well under a second). :func:`bn_nash_gap` is the
  **maximum** over agents (chen2024 Def. 1; OpenSpiel's NashConv sums). :func:`bn_optimality_gap` uses
  :math:`V^*` by policy iteration on the joint action (:func:`~netmarl_verify.solvers.exact.policy_iteration`).
* **Mismatch coefficient** (Lemmas 2-3): :math:`M=\max_s\max_\pi d^\pi(s)/\min_{\pi'}d^{\pi'}(s)`, each extremum an
  MDP with reward :math:`e_s` solved by policy iteration over deterministic joint policies (:func:`mismatch_coefficient`).
* **Gradient ascent** (eqs. (2)-(3)): :func:`bn_gradient_ascent` with a trace of :math:`L_\lambda`, :math:`V`,
  :math:`\|\nabla\|`, the gap and :math:`\min\pi`; its loop works on the logits directly (index arrays built once, no
  policy object per iterate) with the same arithmetic as :func:`bn_gradient` and :func:`log_barrier`.

All values are unnormalised (scale :math:`1/(1-\gamma)`), weighted by the game's :math:`\mu`. Agents are
numbered from 0.
"""

import itertools
import math
from dataclasses import dataclass, field

import numpy as np

from ._gradient import central_difference_gradient
import scipy.linalg

from netmarl_verify.envs import TabularMDP, check_memory
from netmarl_verify.envs._bn_games import BNSoftmaxPolicy, CooperativeMarkovGame

from ._errors import SolverAccuracyError
from ._optimality import IMPROVEMENT_TOL, RESIDUAL_TOL, lp_values, policy_iteration, value_iteration

__all__ = [
    "BNEvaluation",
    "BNGradient",
    "BNBestResponse",
    "MismatchCoefficient",
    "BNAscentTrace",
    "bn_evaluate",
    "log_barrier",
    "joint_log_barrier",
    "bn_objective",
    "bn_gradient",
    "beta_lambda",
    "bn_hessian",
    "augmented_mdp",
    "bn_best_response",
    "bn_nash_gap",
    "bn_optimal_value",
    "bn_optimality_gap",
    "deviation_joint_table",
    "mismatch_coefficient",
    "visitation_ratio",
    "bn_gradient_ascent",
]


# ----------------------------------------------------------------------------- evaluation
@dataclass
class BNEvaluation:
    r"""Exact evaluation of a joint policy table on a game (:func:`bn_evaluate`).

    Attributes
    ----------
    joint : ndarray (nS, nA)
    V : ndarray (nS,)
    Q : ndarray (nS, nA)
    d : ndarray (nS,)
        Unnormalised :math:`d_\mu^\pi` (chen2024 §2; sums to :math:`1/(1-\gamma)`).
    d_tilde : ndarray (nS,)
        :math:`(1-\gamma)d` (sums to 1).
    value : float
        :math:`V_\pi(\mu)`.
    residual : float
        Max of the two solves' residuals.
    """

    joint: np.ndarray = field(repr=False)
    V: np.ndarray = field(repr=False)
    Q: np.ndarray = field(repr=False)
    d: np.ndarray = field(repr=False)
    d_tilde: np.ndarray = field(repr=False)
    value: float
    residual: float


def _check(game, policy):
    if not isinstance(game, CooperativeMarkovGame):
        raise TypeError(f"expected a CooperativeMarkovGame, got {type(game).__name__}")
    if policy is not None and not isinstance(policy, BNSoftmaxPolicy):
        raise TypeError(f"expected a BNSoftmaxPolicy, got {type(policy).__name__}")


_GETRF, _GETRS = scipy.linalg.get_lapack_funcs(("getrf", "getrs"), dtype=np.float64)


def _evaluate_table(game, joint):
    nS, g = game.n_states, game.gamma
    P_pi = np.einsum("sa,sat->st", joint, game.P)
    R_pi = (joint * game.R).sum(axis=1)
    A = np.eye(nS) - g * P_pi
    # scipy.linalg.lu_factor / lu_solve(check_finite=False) call exactly these LAPACK routines (same
    # numbers); called directly to save their Python wrappers' overhead in bn_gradient_ascent's loop
    lu, piv, info = _GETRF(A, overwrite_a=False)
    if info != 0:
        raise SolverAccuracyError(f"I - gamma P_pi is singular (LAPACK getrf info = {info})")
    V, info_v = _GETRS(lu, piv, R_pi, trans=0)
    d, info_d = _GETRS(lu, piv, np.asarray(game.mu, dtype=float), trans=1)
    if info_v != 0 or info_d != 0:
        raise SolverAccuracyError(f"LAPACK getrs failed (info = {info_v}, {info_d})")
    scale = max(1.0, float(np.abs(game.R).max(initial=0.0)) / (1.0 - g))
    res = max(float(np.abs(A @ V - R_pi).max()), float(np.abs(A.T @ d - game.mu).max()) * (1 - g))
    if not res <= RESIDUAL_TOL * scale:
        raise SolverAccuracyError(f"BN policy evaluation residual {res:.3g} exceeds {RESIDUAL_TOL:g} x scale")
    Q = game.R + g * (game.P @ V)
    return BNEvaluation(joint=joint, V=V, Q=Q, d=d, d_tilde=(1 - g) * d, value=float(game.mu @ V), residual=res)


def bn_evaluate(game, policy):
    """Exact :class:`BNEvaluation` of a :class:`~netmarl_verify.envs.BNSoftmaxPolicy` (or a joint table)."""
    if isinstance(policy, np.ndarray):
        _check(game, None)
        return _evaluate_table(game, policy)
    _check(game, policy)
    return _evaluate_table(game, policy.joint_table())


def log_barrier(policy, *, drop_log_card=False):
    r"""chen2024 §4.1's regulariser :math:`b(\theta)=-\sum_i E_{(s,a^{P^i})\sim\mathrm{Unif}}\mathrm{KL}(\mathrm{Unif}\|\pi^i)\le0`.

    `drop_log_card` (a broken input for the tests) omits the :math:`\log|\mathcal A^i|` terms.
    """
    total = 0.0
    for lt, A in zip(policy.log_local_tables(), policy.game.action_sizes):
        total += float(lt.mean()) + (0.0 if drop_log_card else math.log(A))
    return total


def joint_log_barrier(policy):
    r""":math:`-E_{s\sim\mathrm{Unif}}\mathrm{KL}(\mathrm{Unif}_{\mathcal A}\|\pi_\theta(\cdot|s))`, the joint form (log-softmax factors)."""
    logs = policy.factor_tables(policy.log_local_tables())
    return float(logs.sum(axis=0).mean()) + math.log(policy.game.n_actions)


def bn_objective(game, policy, lam, *, evaluation=None):
    r""":math:`L_\lambda(\theta)=V_\theta(\mu)+\lambda\,b(\theta)` (chen2024 §4.1)."""
    ev = evaluation if evaluation is not None else bn_evaluate(game, policy)
    return ev.value + float(lam) * log_barrier(policy)


# ----------------------------------------------------------------------------- Lemma 1
@dataclass
class BNGradient:
    r"""Lemma 1's gradient, per agent and flat (:func:`bn_gradient`).

    Attributes
    ----------
    per_agent : list of ndarray, shape (nS, |A^{P^i}|, |A^i|)
    value_part, barrier_part : list of ndarray
        The two terms of Lemma 1.
    advantage : list of ndarray
        :math:`A^i_\theta(s,a^{P^i},a^i)` (Bayes conditionals; nan where the context has probability 0).
    parent_marginal : list of ndarray, shape (nS, |A^{P^i}|)
        :math:`\pi(a^{P^i}|s)`.
    evaluation : BNEvaluation
    """

    per_agent: list = field(repr=False)
    value_part: list = field(repr=False)
    barrier_part: list = field(repr=False)
    advantage: list = field(repr=False)
    parent_marginal: list = field(repr=False)
    evaluation: BNEvaluation = field(repr=False)

    @property
    def flat(self):
        return np.concatenate([g.reshape(-1) for g in self.per_agent])

    @property
    def norm(self):
        return float(np.linalg.norm(self.flat))


def _grouped(values, keys, K):
    """``out[s, k] = sum_{a: keys[a] = k} values[s, a]``."""
    nS, nA = values.shape
    idx = (np.arange(nS)[:, None] * K + keys[None, :]).reshape(-1)
    return np.bincount(idx, weights=values.reshape(-1), minlength=nS * K).reshape(nS, K)


def bn_gradient(game, policy, lam, *, reading="normalized", conditional="bayes", weighting="joint",
                evaluation=None):
    r"""chen2024 Lemma 1: :math:`\partial L_\lambda/\partial\theta^i_{s,a^{P^i},a^i}` for every agent (module docstring).

    Parameters
    ----------
    game : CooperativeMarkovGame
    policy : BNSoftmaxPolicy
    lam : float
        :math:`\lambda \ge 0`.
    reading : {"normalized", "unnormalized"}
        Which :math:`d` the printed :math:`\frac1{1-\gamma}d(s,a^{P^i})` uses: :math:`\tilde d` (the exact gradient)
        or §2's unnormalised :math:`d` (:math:`1/(1-\gamma)` times the value term).
    conditional : {"bayes", "intervention"}
        ``"intervention"`` is a deliberately wrong conditional Q (clamps :math:`a^{P_+^i}` and weights the
        other agents by their own factors only).
    weighting : {"joint", "state"}
        ``"state"`` drops the parent marginal from :math:`d(s,a^{P^i})` (a broken input).

    Returns
    -------
    BNGradient
    """
    _check(game, policy)
    if reading not in ("normalized", "unnormalized"):
        raise ValueError(f"`reading` must be 'normalized' or 'unnormalized', got {reading!r}")
    if conditional not in ("bayes", "intervention"):
        raise ValueError(f"`conditional` must be 'bayes' or 'intervention', got {conditional!r}")
    if weighting not in ("joint", "state"):
        raise ValueError(f"`weighting` must be 'joint' or 'state', got {weighting!r}")
    tables = policy.local_tables()
    ev = evaluation if evaluation is not None else _evaluate_table(game, policy.joint_table(tables))
    d = ev.d_tilde if reading == "normalized" else ev.d
    coef = 1.0 / (1.0 - game.gamma)
    nS = game.n_states
    piQ = ev.joint * ev.Q
    factors = policy.factor_tables(tables) if conditional == "intervention" else None
    grads, vparts, bparts, advs, margs = [], [], [], [], []
    for i, (pi_i, cfg, own) in enumerate(zip(tables, policy.config, policy.own)):
        nP, Ai = pi_i.shape[1], pi_i.shape[2]
        keys = cfg * Ai + own
        m = _grouped(ev.joint, cfg, nP)  # pi(a^P | s)
        if conditional == "bayes":
            G = _grouped(piQ, keys, nP * Ai).reshape(nS, nP, Ai)  # pi(a^P) pi^i Q(s, a^{P+})
            qpp = np.divide(G, m[:, :, None] * pi_i, out=np.full_like(G, np.nan), where=m[:, :, None] * pi_i > 0)
            vterm = G - pi_i * G.sum(axis=2, keepdims=True)
            adv = qpp - (pi_i * np.nan_to_num(qpp)).sum(axis=2, keepdims=True)
        else:
            plus = set(policy.dag.parents[i]) | {i}
            w = np.prod([factors[j] for j in range(game.n_agents) if j not in plus], axis=0) \
                if len(plus) < game.n_agents else np.ones_like(ev.joint)
            qdo = _grouped(w * ev.Q, keys, nP * Ai).reshape(nS, nP, Ai)  # Q(s, do(a^{P+}))
            adv = qdo - (pi_i * qdo).sum(axis=2, keepdims=True)
            vterm = m[:, :, None] * pi_i * adv
        if weighting == "state":
            vterm = np.divide(vterm, m[:, :, None], out=np.zeros_like(vterm), where=m[:, :, None] > 0)
        vpart = coef * d[:, None, None] * vterm  # chen2024 Lemma 1, first term
        bpart = lam / (nS * nP) * (1.0 / Ai - pi_i)  # Lemma 1, second term
        grads.append(vpart + bpart)
        vparts.append(vpart)
        bparts.append(bpart)
        advs.append(adv)
        margs.append(m)
    return BNGradient(grads, vparts, bparts, advs, margs, ev)


# ----------------------------------------------------------------------------- Lemma 4
def beta_lambda(game, dag, lam):
    r"""chen2024 Lemma 4: :math:`\beta_\lambda=\frac{8N\Delta r}{(1-\gamma)^3}+\sum_i\frac{2\lambda}{|S||\mathcal A^{P^i}|}`.

    Returns ``(beta, value_part, barrier_part)``.
    """
    N, nS = game.n_agents, game.n_states
    psizes = [math.prod(game.action_sizes[j] for j in p) for p in dag.parents]
    vpart = 8.0 * N * game.delta_r / (1.0 - game.gamma) ** 3
    bpart = sum(2.0 * lam / (nS * nP) for nP in psizes)
    return vpart + bpart, vpart, bpart


def bn_hessian(game, policy, lam, eps=1e-5):
    r"""``(H_value, H_barrier)``: the value Hessian by central differences of the exact gradient (symmetrised),
    and the exact regulariser Hessian (module docstring), both (size, size)."""
    _check(game, policy)
    n = policy.size
    check_memory(8.0 * n * n * 3, "the Hessian of L_lambda")
    x0 = policy.flat
    H = np.empty((n, n))
    for k in range(n):
        e = np.zeros(n)
        e[k] = eps
        gp = bn_gradient(game, policy.with_flat(x0 + e), 0.0).flat
        gm = bn_gradient(game, policy.with_flat(x0 - e), 0.0).flat
        H[:, k] = (gp - gm) / (2 * eps)
    H = 0.5 * (H + H.T)
    blocks = []
    nS = game.n_states
    for pi_i in policy.local_tables():
        nP, Ai = pi_i.shape[1:]
        for s in range(nS):
            for c in range(nP):
                p = pi_i[s, c]
                blocks.append(-lam / (nS * nP) * (np.diag(p) - np.outer(p, p)))
    return H, scipy.linalg.block_diag(*blocks)


# ----------------------------------------------------------------------------- best responses
@dataclass
class BNBestResponse:
    r"""Best response of one agent within its BN class :math:`\bar\pi^i(a^i|s,a^{P^i})` (:func:`bn_best_response`).

    Attributes
    ----------
    agent : int
    rule : ndarray of int, shape (nS, |A^{P^i}|)
        The deterministic deviation :math:`a^i(s, c)`.
    value, current, gain : float
        :math:`\max_{\bar\pi^i}V_{\bar\pi^i,\pi^{-i}}(\mu)`, :math:`V_\pi(\mu)` and their difference (>= 0 up to rounding).
    V : ndarray, shape (nS, |A^{P^i}|)
        Optimal values of the augmented MDP.
    context : ndarray, shape (nS, |A^{P^i}|)
        :math:`m(c|s)=\pi(a^{P^i}=c|s)`.
    iterations : int
    """

    agent: int
    rule: np.ndarray = field(repr=False)
    value: float
    current: float
    gain: float
    V: np.ndarray = field(repr=False)
    context: np.ndarray = field(repr=False)
    iterations: int = 0


def _group_by_agent(values, policy, agent):
    r"""``out[s, c, b, ...] = sum_{a: a^{P^i} = c, a^i = b} values[s, a, ...]`` for ``i = agent``.

    A tensor reduction over the joint-action axes of the agents outside :math:`P_+^i` (C order: the
    kept axes stay in increasing agent order, which is the parent-configuration order of
    :class:`~netmarl_verify.envs.BNSoftmaxPolicy`; agent i's axis is then moved last). Memory: the
    input and the (smaller) output only, never an ``(n_actions, |A^{P^i}||A^i|)`` indicator.
    """
    sizes = policy.game.action_sizes
    nS, trail = values.shape[0], values.shape[2:]
    keep = sorted(set(policy.dag.parents[agent]) | {agent})
    drop = tuple(1 + j for j in range(len(sizes)) if j not in keep)
    x = values.reshape((nS,) + sizes + trail)
    if drop:
        x = x.sum(axis=drop)
    x = np.moveaxis(x, 1 + keep.index(agent), len(keep))
    return x.reshape((nS, policy.parent_sizes[agent], sizes[agent]) + trail)


def _others_products(factors):
    """``w[i] = prod_{j != i} factors[j]`` for every i (prefix and suffix products), shape like `factors`."""
    N = factors.shape[0]
    prefix = np.cumprod(factors, axis=0)
    suffix = np.cumprod(factors[::-1], axis=0)[::-1]
    out = np.empty_like(factors)
    for i in range(N):
        if i == 0:
            out[i] = suffix[1] if N > 1 else 1.0
        elif i == N - 1:
            out[i] = prefix[N - 2]
        else:
            out[i] = prefix[i - 1] * suffix[i + 1]
    return out


def _augmented_parts(game, policy, agent, tables=None, others=None):
    r"""``(m, Rbar, Pbar)``: context law m[s, c], Rbar[s, c, b], Pbar[s, c, b, s'] for `agent`.

    `others` (optional) is :math:`w=\prod_{j\ne i}\pi^j` on the joint actions, shape (nS, nA), when the
    caller has it (:func:`bn_nash_gap` builds all of them from one pass of prefix/suffix products).
    """
    tables = policy.local_tables() if tables is None else tables
    nS, nA = game.n_states, game.n_actions
    nP, Ai = tables[agent].shape[1:]
    check_memory(8.0 * nS * nA * (2 * nS + 3), f"the augmented kernel of agent {agent}")
    if others is None:
        w = np.ones((nS, nA))
        for j, (t, c, o) in enumerate(zip(tables, policy.config, policy.own)):
            if j != agent:
                w *= t[:, c, o]
    else:
        w = others
    m = _group_by_agent(w * (1.0 / Ai), policy, agent).sum(axis=2)  # = pi(a^P|s): any pi^i
    # the conditional of the remaining actions given (s, c, b): w / m (uniform where m = 0)
    wsum = _group_by_agent(w, policy, agent)
    Rbar = _group_by_agent(w * game.R, policy, agent)
    Pbar = _group_by_agent(w[:, :, None] * game.P, policy, agent)
    zero = wsum <= 0
    if zero.any():  # unreachable contexts: any well-defined conditional will do
        count = nA // (nP * Ai)  # joint actions per (c, b)
        Ru = _group_by_agent(np.broadcast_to(game.R, (nS, nA)).copy(), policy, agent) / count
        Pu = _group_by_agent(game.P, policy, agent) / count
        wsum = np.where(zero, 1.0, wsum)
        Rbar = np.where(zero, Ru * 1.0, Rbar)
        Pbar = np.where(zero[..., None], Pu, Pbar)
    return m, Rbar / wsum, Pbar / wsum[..., None]


def augmented_mdp(game, policy, agent):
    r"""The augmented MDP of `agent` on states :math:`(s, c)` (index ``s * |A^{P^i}| + c``) and its initial law.

    :math:`P((s',c')|(s,c),b)=\bar P(s'|s,c,b)\,m(c'|s')`. Returns ``(TabularMDP, mu_aug)``.
    """
    m, Rbar, Pbar = _augmented_parts(game, policy, int(agent))
    nS, nP, Ai = Rbar.shape
    P = np.einsum("scbt,tk->scbtk", Pbar, m).reshape(nS * nP, Ai, nS * nP)
    return TabularMDP(P, Rbar.reshape(nS * nP, Ai), row_atol=1e-9), (game.mu[:, None] * m).reshape(-1)


def bn_best_response(game, policy, agent, *, max_iter=10_000, current=None):
    r"""Exact best response of `agent` within its BN deviation class (module docstring; chen2024 Def. 1).

    Howard's policy iteration on the augmented MDP, each evaluation an :math:`|S|\times|S|` solve for
    :math:`U(s)=\sum_c m(c|s)V(s,c)`; deterministic optimum.
    """
    _check(game, policy)
    agent = int(agent)
    if not 0 <= agent < game.n_agents:
        raise ValueError(f"`agent` must be in [0, {game.n_agents}), got {agent}")
    return _best_response(game, policy, agent, policy.local_tables(), max_iter=max_iter, current=current)


def _best_response(game, policy, agent, tables, *, max_iter=10_000, current=None, others=None):
    """:func:`bn_best_response` on precomputed local tables (and optionally the others' product ``w``)."""
    m, Rbar, Pbar = _augmented_parts(game, policy, agent, tables, others)
    nS, nP, Ai = Rbar.shape
    g = game.gamma
    scale = max(1.0, float(np.abs(game.R).max(initial=0.0)) / (1.0 - g))
    margin = IMPROVEMENT_TOL * scale
    rule = Rbar.argmax(axis=2)
    S_idx, C_idx = np.meshgrid(np.arange(nS), np.arange(nP), indexing="ij")
    for k in range(1, max_iter + 1):
        Rr = Rbar[S_idx, C_idx, rule]  # (nS, nP)
        Pr = Pbar[S_idx, C_idx, rule]  # (nS, nP, nS)
        Rm = (m * Rr).sum(axis=1)
        Pm = np.einsum("sc,sct->st", m, Pr)
        A = np.eye(nS) - g * Pm
        U = np.linalg.solve(A, Rm)
        res = float(np.abs(A @ U - Rm).max())
        if not res <= RESIDUAL_TOL * scale:
            raise SolverAccuracyError(f"best-response evaluation residual {res:.3g} exceeds {RESIDUAL_TOL:g} x scale")
        Qa = Rbar + g * (Pbar @ U)  # (nS, nP, Ai)
        best = Qa.argmax(axis=2)
        better = np.take_along_axis(Qa, best[..., None], 2)[..., 0] > \
            np.take_along_axis(Qa, rule[..., None], 2)[..., 0] + margin
        if not better.any():
            break
        rule = np.where(better, best, rule)
    else:
        raise SolverAccuracyError(f"best-response policy iteration did not stabilise in {max_iter} improvements")
    V = np.take_along_axis(Qa, rule[..., None], 2)[..., 0]
    value = float(game.mu @ U)
    cur = current if current is not None else _evaluate_table(game, policy.joint_table(tables)).value
    return BNBestResponse(agent=agent, rule=rule, value=value, current=cur, gain=value - cur, V=V, context=m,
                          iterations=k)


def bn_nash_gap(game, policy, *, aggregate="max"):
    r"""chen2024 Def. 1 for a BN policy: :math:`\max_i(\max_{\bar\pi^i}V_{\bar\pi^i,\pi^{-i}}(\mu)-V_\pi(\mu))`.

    ``aggregate="sum"`` gives OpenSpiel's NashConv-style sum instead (a different quantity: do not mix).
    Returns ``(gap, [BNBestResponse per agent])``.
    """
    _check(game, policy)
    if aggregate not in ("max", "sum"):
        raise ValueError(f"`aggregate` must be 'max' or 'sum', got {aggregate!r}")
    tables = policy.local_tables()
    factors = policy.factor_tables(tables)  # one gather per agent over the joint actions
    check_memory(8.0 * factors.size * 3, "the prefix/suffix products of a BN policy")
    joint = np.ones((game.n_states, game.n_actions))
    for f in factors:  # the same product order as BNSoftmaxPolicy.joint_table
        joint *= f
    cur = _evaluate_table(game, joint).value
    others = _others_products(factors)
    del factors
    brs = [_best_response(game, policy, i, tables, current=cur, others=others[i]) for i in range(game.n_agents)]
    gains = [b.gain for b in brs]
    if aggregate == "max":
        return max(gains), brs
    if aggregate == "sum":
        return sum(gains), brs
    raise ValueError(f"`aggregate` must be 'max' or 'sum', got {aggregate!r}")


def bn_optimal_value(game, method="policy_iteration"):
    r""":math:`V^*(\mu)` over all joint policies (``"policy_iteration"``, ``"value_iteration"`` or ``"lp"``) and the
    :class:`~netmarl_verify.solvers.exact.OptimalValues` it came from."""
    routes = {"policy_iteration": policy_iteration, "value_iteration": value_iteration, "lp": lp_values}
    res = routes[method](game.mdp, game.gamma)
    return float(game.mu @ res.V), res


def bn_optimality_gap(game, policy, *, vstar=None):
    r"""chen2024 Def. 2: :math:`V^*(\mu)-V_\pi(\mu)` (V* by policy iteration unless given)."""
    vstar = bn_optimal_value(game)[0] if vstar is None else vstar
    return vstar - bn_evaluate(game, policy).value


def deviation_joint_table(policy, agent, rule):
    """The joint table with agent `agent`'s factor replaced by the deterministic rule ``rule[s, c]``."""
    tables = [t.copy() for t in policy.local_tables()]
    nS, nP, Ai = tables[agent].shape
    t = np.zeros((nS, nP, Ai))
    np.put_along_axis(t, np.asarray(rule)[..., None], 1.0, axis=2)
    tables[agent] = t
    return policy.joint_table(tables)


# ----------------------------------------------------------------------------- M
@dataclass
class MismatchCoefficient:
    r""":math:`M=\max_{\pi,\pi'}\|d^\pi_\mu/d^{\pi'}_\mu\|_\infty` (chen2024 Lemma 2) and its ingredients.

    Attributes
    ----------
    M : float
        ``inf`` when some state can be avoided (Assumption 1 fails).
    d_max, d_min : ndarray (nS,)
        :math:`\max_\pi\tilde d^\pi(s)` and :math:`\min_\pi\tilde d^\pi(s)` (normalised; the ratio is the same).
    argmax_state : int
    """

    M: float
    d_max: np.ndarray = field(repr=False)
    d_min: np.ndarray = field(repr=False)
    argmax_state: int


def mismatch_coefficient(game):
    """:class:`MismatchCoefficient` by 2|S| policy iterations (rewards :math:`\\pm e_s`) over deterministic joint policies."""
    _check(game, None)
    nS, nA, g = game.n_states, game.n_actions, game.gamma
    dmax, dmin = np.empty(nS), np.empty(nS)
    for s in range(nS):
        R = np.zeros((nS, nA))
        R[s] = 1.0
        dmax[s] = (1 - g) * float(game.mu @ policy_iteration(TabularMDP(game.P, R), g).V)
        dmin[s] = -(1 - g) * float(game.mu @ policy_iteration(TabularMDP(game.P, -R), g).V)
    with np.errstate(divide="ignore"):
        ratio = np.where(dmin > 0, dmax / np.where(dmin > 0, dmin, 1.0), np.inf)
    k = int(np.argmax(ratio))
    return MismatchCoefficient(M=float(ratio[k]), d_max=dmax, d_min=dmin, argmax_state=k)


def visitation_ratio(game, joint_num, joint_den):
    r""":math:`\max_s\tilde d^{\pi_{num}}(s)/\tilde d^{\pi_{den}}(s)` (the :math:`M_{\rm eff}` the proofs use)."""
    a = _evaluate_table(game, joint_num).d_tilde
    b = _evaluate_table(game, joint_den).d_tilde
    return float(np.max(a / b))


# ----------------------------------------------------------------------------- gradient ascent
@dataclass
class BNAscentTrace:
    r"""A run of chen2024 (2)-(3) (:func:`bn_gradient_ascent`).

    Attributes
    ----------
    L : ndarray (n + 1,)
        :math:`L_\lambda(\theta_t)` for :math:`t=0,\dots,n` (n = updates made).
    V, grad_norm, min_pi : ndarray (n,)
        At the iterates :math:`\theta_0,\dots,\theta_{n-1}` (the gradient taken at each).
    gap_t, gap : ndarray
        Iterations at which the gap was computed, and its values.
    first_passage : int or None
        First computed t with gap <= `epsilon` (an upper bound on the true first passage when
        ``gap_every > 1``), None if not reached.
    theta : list of ndarray
        The last iterate.
    eta, lam : float
    """

    L: np.ndarray = field(repr=False)
    V: np.ndarray = field(repr=False)
    grad_norm: np.ndarray = field(repr=False)
    min_pi: np.ndarray = field(repr=False)
    gap_t: np.ndarray = field(repr=False)
    gap: np.ndarray = field(repr=False)
    first_passage: int | None
    theta: list = field(repr=False)
    eta: float
    lam: float

    @property
    def iterations(self):
        return len(self.grad_norm)

    def to_frame(self):
        """pandas DataFrame: t, L, V, grad_norm, min_pi, gap (NaN where not computed)."""
        import pandas as pd

        gap = np.full(self.iterations, np.nan)
        inside = self.gap_t < self.iterations
        gap[self.gap_t[inside]] = self.gap[inside]
        return pd.DataFrame({"t": np.arange(self.iterations), "L": self.L[:-1], "V": self.V,
                             "grad_norm": self.grad_norm, "min_pi": self.min_pi, "gap": gap})


def bn_gradient_ascent(game, policy0, lam, eta, n_iter, *, gap=None, epsilon=None, gap_every=1, vstar=None,
                       stop_at_first_passage=True):
    r"""Exact-gradient ascent on :math:`L_\lambda` (chen2024 eqs. (2)-(3)), every agent at once.

    Parameters
    ----------
    game, policy0 : CooperativeMarkovGame, BNSoftmaxPolicy
    lam, eta : float
        Fixed :math:`\lambda` and step :math:`\eta` (the theorems: :math:`\eta\le1/\beta_\lambda`).
    n_iter : int
        Maximum number of updates.
    gap : {None, "nash", "optimality"}
        The gap recorded every `gap_every` iterations (Def. 1 / Def. 2).
    epsilon : float, optional
        Target of the first passage (stops there when `stop_at_first_passage`).
    vstar : float, optional
        :math:`V^*(\mu)` for the optimality gap (computed once otherwise).

    Returns
    -------
    BNAscentTrace
    """
    _check(game, policy0)
    if gap not in (None, "nash", "optimality"):
        raise ValueError(f"`gap` must be None, 'nash' or 'optimality', got {gap!r}")
    if gap == "optimality" and vstar is None:
        vstar = bn_optimal_value(game)[0]
    lam, eta = float(lam), float(eta)
    step = _AscentStep(game, policy0, lam)
    theta = [t.copy() for t in policy0.theta]
    Ls, Vs, norms, mins, gts, gaps = [], [], [], [], [], []
    fp = None
    for t in range(int(n_iter)):
        L, value, norm, min_pi, grads = step(theta)
        Ls.append(L)
        Vs.append(value)
        norms.append(norm)
        mins.append(min_pi)
        hit = False
        if gap is not None and t % gap_every == 0:
            gv = (bn_nash_gap(game, policy0.with_theta(theta))[0] if gap == "nash" else vstar - value)
            gts.append(t)
            gaps.append(gv)
            if epsilon is not None and fp is None and gv <= epsilon:
                fp, hit = t, stop_at_first_passage
        theta = [a + eta * b for a, b in zip(theta, grads)]  # chen2024 eq. (3)
        if hit:
            break
    Ls.append(step(theta, value_only=True))
    return BNAscentTrace(L=np.array(Ls), V=np.array(Vs), grad_norm=np.array(norms), min_pi=np.array(mins),
                         gap_t=np.array(gts, dtype=np.int64), gap=np.array(gaps), first_passage=fp, theta=theta,
                         eta=eta, lam=lam)


class _AscentStep:
    r"""One iterate of :func:`bn_gradient_ascent` without rebuilding a policy object.

    The same arithmetic, in the same order, as :meth:`BNSoftmaxPolicy.local_tables` /
    :meth:`~BNSoftmaxPolicy.log_local_tables` / :meth:`~BNSoftmaxPolicy.joint_table`,
    :func:`_evaluate_table` (residual-certified), :func:`bn_gradient` (``reading="normalized"``, Bayes
    conditionals) and :func:`log_barrier`; only the index arrays are built once, and the advantage and
    parent marginal (not needed by the update) are skipped.
    """

    def __init__(self, game, policy, lam):
        self.game, self.lam = game, lam
        nS = game.n_states
        self.coef = 1.0 / (1.0 - game.gamma)
        self.log_cards = [math.log(A) for A in game.action_sizes]
        self.agents = []
        for cfg, own, shape in zip(policy.config, policy.own, policy.shapes):
            _, nP, Ai = shape
            K = nP * Ai
            idx = (np.arange(nS)[:, None] * K + (cfg * Ai + own)[None, :]).reshape(-1)
            self.agents.append((cfg, own, shape, idx, nS * K, lam / (nS * nP), 1.0 / Ai))

    def __call__(self, theta, value_only=False):
        game, nS = self.game, self.game.n_states
        tables, barrier = [], 0.0
        for t, lc in zip(theta, self.log_cards):
            z = t - np.max(t, axis=-1, keepdims=True)
            e = np.exp(z)
            ssum = e.sum(axis=-1, keepdims=True)
            tables.append(e / ssum)
            barrier += float((z - np.log(ssum)).mean()) + lc  # log_barrier, by log-softmax
        joint = np.ones((nS, game.n_actions))
        for pi_i, (cfg, own, *_rest) in zip(tables, self.agents):
            joint *= pi_i[:, cfg, own]
        ev = _evaluate_table(game, joint)
        L = ev.value + self.lam * barrier
        if value_only:
            return L
        piQ = (joint * ev.Q).reshape(-1)
        grads = []
        for pi_i, (cfg, own, shape, idx, size, bscale, inv_card) in zip(tables, self.agents):
            G = np.bincount(idx, weights=piQ, minlength=size).reshape(shape)
            vterm = G - pi_i * G.sum(axis=2, keepdims=True)
            grads.append(self.coef * ev.d_tilde[:, None, None] * vterm + bscale * (inv_card - pi_i))
        norm = float(np.linalg.norm(np.concatenate([g.reshape(-1) for g in grads])))
        return L, ev.value, norm, min(float(x.min()) for x in tables), grads


def brute_force_best_gain(game, policy, agent):
    """Best gain of `agent` by enumerating every deterministic rule ``a^i(s, c)`` (tests only: tiny games)."""
    tables = policy.local_tables()
    nS, nP, Ai = tables[agent].shape
    if Ai ** (nS * nP) > 100_000:
        raise ValueError("too many deterministic rules to enumerate")
    cur = _evaluate_table(game, policy.joint_table(tables)).value
    best = -np.inf
    for combo in itertools.product(range(Ai), repeat=nS * nP):
        rule = np.array(combo).reshape(nS, nP)
        best = max(best, _evaluate_table(game, deviation_joint_table(policy, agent, rule)).value)
    return best - cur
