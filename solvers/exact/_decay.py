r"""Exponential decay, truncated Q-functions and truncated gradients (qu2020 §2.2, §3.1).

Definition 1 (qu2020). The :math:`(c, \rho)` exponential decay property holds if for every
agent :math:`i`, every :math:`\kappa` and all pairs that agree on the κ-hop neighbourhood
:math:`N_i^\kappa`,

.. math:: |Q_i(s_{N_i^\kappa}, s_{N_{-i}^\kappa}, a_{N_i^\kappa}, a_{N_{-i}^\kappa})
          - Q_i(s_{N_i^\kappa}, s'_{N_{-i}^\kappa}, a_{N_i^\kappa}, a'_{N_{-i}^\kappa})| \le c\rho^{\kappa+1}.  \qquad (4)

The truncated Q-function averages :math:`Q_i` over the outside coordinates with weights
:math:`w_i(s_{out}, a_{out}; s_{in}, a_{in})` summing to one (eq. (5)-(6)). Every weight family
offered here factorises as (distribution of the outside *states* given the inside states) x
(independent per-agent distribution of each outside *action* given its state), so the average
over outside actions is a contraction of the local kernel factors, never an enumeration of
joint actions:

* ``"uniform"``: uniform over outside states and actions;
* ``"stationary"``: the stationary conditional :math:`\pi^\theta(s_{out}, a_{out} | s_{in}, a_{in})
  = d(s_{out} | s_{in}) \prod_{k \notin N_i^\kappa} \zeta_k(a_k | s_k)`;
* ``("fixed", s_out, a_out)``: a point mass on one outside configuration (ying2023 eq. (14)).

Theorem 1's interaction matrix :math:`C` and Lemma 3's time-t marginals are here as well.
"""

import math

import numpy as np

from netmarl_verify.envs import as_generator
from netmarl_verify.envs._memory import check_memory

from ._contract import labels
from ._evaluation import _check_gamma, evaluate_policy
from ._model import NetworkedOperator, _chunks, check_agent

__all__ = [
    "interaction_matrix",
    "row_sums",
    "q_table",
    "truncated_q",
    "truncated_gradient",
    "decay_profile",
    "DecayProfile",
    "agent_marginals",
    "score_norm_bound",
]


# ---------------------------------------------------------------------------- Theorem 1
def _max_pairwise_tv(T, axis_count):
    """max over pairs (x, y) of the leading flattened axis of 0.5 * ||T[x] - T[y]||_1 (per rest)."""
    lead = int(np.prod(T.shape[:axis_count]))
    X = T.reshape(lead, -1, T.shape[-1])
    best = 0.0
    for x in range(lead - 1):
        tv = 0.5 * np.abs(X[x][None] - X[x + 1 :]).sum(axis=-1)
        best = max(best, float(tv.max()))
    return best


def interaction_matrix(mdp):
    r"""The interaction matrix :math:`C` of qu2020 Theorem 1.

    .. math::
        C_{ij} = \sup_{s_{N_i \setminus j}, a_i} \sup_{s_j, s_j'}
                 TV\big(P_i(\cdot|s_j, s_{N_i\setminus j}, a_i), P_i(\cdot|s_j', s_{N_i\setminus j}, a_i)\big)
                 \quad (j \in N_i, j \ne i),
        \qquad
        C_{ii} = \sup_{s_{N_i\setminus i}} \sup_{(s_i, a_i), (s_i', a_i')} TV(\dots),

    and :math:`C_{ij} = 0` for :math:`j \notin N_i`. TV is the total-variation distance
    :math:`\frac12\|p - q\|_1`. For ``transition_form="neighbourhood"`` the kernel also depends on
    :math:`a_j`, and :math:`C_{ij}` is Lemma 3's :math:`C^z_{ij}` for :math:`z_j = (s_j, a_j)`: the
    supremum runs over :math:`(s_j, a_j), (s_j', a_j')` jointly.

    Parameters
    ----------
    mdp : NetworkedMDP

    Returns
    -------
    ndarray, shape (n, n)

    References
    ----------
    qu2020 Theorem 1 and Lemma 3 (App. B.1).
    """
    n = mdp.n
    C = np.zeros((n, n))
    for i in range(n):
        Ni = mdp.neighbourhoods[i]
        P = mdp.transitions[i]
        k = len(Ni)
        for pos, j in enumerate(Ni):
            if mdp.transition_form == "local":
                # axes: states of N_i (k), a_i, s_i'
                lead = [pos] + ([k] if j == i else [])
            else:
                # axes: states of N_i (k), actions of N_i (k), s_i'
                lead = [pos, k + pos]
            rest = [ax for ax in range(P.ndim - 1) if ax not in lead]
            T = np.transpose(P, lead + rest + [P.ndim - 1])
            C[i, j] = _max_pairwise_tv(T, len(lead))
    return C


def row_sums(C):
    r""":math:`\max_i \sum_j C_{ij}`, the :math:`\rho` of Theorem 1, and the per-agent sums."""
    s = np.asarray(C).sum(axis=1)
    return float(s.max()), s


# ---------------------------------------------------------------------------- action-resolved Q
def _resolved(model, states, inside, out_weights, values, reward_agent, offset, scale):
    r"""Q of ``reward_agent`` with inside actions free and outside actions averaged.

    Returns ``(B,) + tuple(A[k] for k in inside)``:
    :math:`r_i + \text{offset} + \text{scale}\, E[v(s')]`, with
    :math:`a_k \sim` ``out_weights[k]`` for outside agents.
    """
    mdp = model.mdp
    n = mdp.n
    b, act, nxt = labels(n, n, agents=n, what="the action-resolved Q contraction")
    inside = list(inside)
    ins = set(inside)
    ops, subs = [], []
    for k in range(n):
        if k not in ins:
            ops.append(out_weights[k])
            subs.append(b + act[k])
    for k in range(n):
        Nk = mdp.neighbourhoods[k]
        ops.append(model.gather(k, states))
        if mdp.transition_form == "local":
            subs.append(b + act[k] + nxt[k])
        else:
            subs.append(b + "".join(act[j] for j in Nk) + nxt[k])
    ops.append(values.reshape(mdp.state_sizes))
    subs.append(nxt)
    out = b + "".join(act[k] for k in inside)
    spec = ",".join(subs) + "->" + out
    T = model.paths.einsum(spec, *ops)
    # reward of agent `reward_agent`, averaged over outside actions
    i = reward_agent
    Ni = mdp.neighbourhoods[i]
    R = model.gather_reward(i, states)  # (B, A_i) or (B, A_{N_i}...)
    if mdp.reward_form == "local":
        Rsub = b + act[i]
    else:
        Rsub = b + "".join(act[j] for j in Ni)
    rops = [R] + [out_weights[j] for j in Ni if j not in ins and act[j] in Rsub]
    rsubs = [Rsub] + [b + act[j] for j in Ni if j not in ins and act[j] in Rsub]
    rout = b + "".join(act[k] for k in inside if act[k] in Rsub)
    Rv = np.einsum(",".join(rsubs) + "->" + rout, *rops)
    # broadcast Rv to all inside action axes
    shape = [states.shape[0]] + [mdp.action_sizes[k] if act[k] in Rsub else 1 for k in inside]
    return scale * T + Rv.reshape(shape) + offset


def _prepare(mdp, policy, gamma, backend, evaluation):
    gamma = _check_gamma(gamma)
    if evaluation is None:
        evaluation = evaluate_policy(mdp, policy, gamma, backend=backend, periodic="raise")
    elif evaluation.gamma != gamma:
        raise ValueError(f"evaluation was computed with gamma={evaluation.gamma}, not {gamma}")
    if not isinstance(evaluation.model, NetworkedOperator):
        raise TypeError("truncation needs a NetworkedMDP")
    evaluation.require_aperiodic().require_model_rewards("truncation and the Q table")
    return gamma, evaluation


def _offset_scale(ev, agent):
    if ev.gamma is None:
        return -float(ev.J_local[agent]), 1.0
    return 0.0, ev.gamma


def q_table(mdp, policy, agent, gamma=None, *, backend="auto", evaluation=None, max_bytes=None):
    r"""The full table :math:`Q_i(s, a)` over global states and joint actions (small instances).

    Returns
    -------
    ndarray, shape ``S + A`` (one axis per agent's state, then one per agent's action)

    Raises
    ------
    MemoryBudgetError
        When :math:`|S||A|` does not fit (estimated first).
    """
    gamma, ev = _prepare(mdp, policy, gamma, backend, evaluation)
    agent = check_agent(mdp, agent)
    nS, nA = mdp.n_states, mdp.n_actions
    check_memory(8.0 * nS * nA * 2, f"the Q_{agent} table over {nS} states x {nA} joint actions",
                 max_bytes=max_bytes, hint="use decay_profile(method='sampled') or method='search'")
    off, sc = _offset_scale(ev, agent)
    out = np.empty((nS, nA))
    v = ev.values[:, agent]
    for a, b in _chunks(nS, 8.0 * nA * 4):
        states = mdp.state_tuples(np.arange(a, b))
        out[a:b] = _resolved(ev.model, states, range(mdp.n), None, v, agent, off, sc).reshape(b - a, nA)
    return out.reshape(mdp.state_sizes + mdp.action_sizes)


# ---------------------------------------------------------------------------- truncated Q
def _outside_action_weights(ev, states, outside, weights):
    mdp = ev.model.mdp
    w = [None] * mdp.n
    for k in outside:
        B = states.shape[0]
        if weights == "uniform":
            w[k] = np.full((B, mdp.action_sizes[k]), 1.0 / mdp.action_sizes[k])
        elif weights == "stationary":
            w[k] = ev.model.agent_weights(k, states)  # zeta_k(. | s_{O_k}) at the full states
        else:  # fixed
            w[k] = np.zeros((B, mdp.action_sizes[k]))
            w[k][:, weights[2][k]] = 1.0
    return w


def _check_weights(mdp, weights):
    if isinstance(weights, str):
        if weights not in ("uniform", "stationary"):
            raise ValueError(f"weights must be 'uniform', 'stationary' or ('fixed', s, a), got {weights!r}")
        return weights
    if isinstance(weights, tuple) and len(weights) == 3 and weights[0] == "fixed":
        s = mdp.check_pairs(np.asarray(weights[1]).reshape(1, -1))[0]
        a = mdp._check_local(np.asarray(weights[2]).reshape(1, -1), mdp.action_sizes, "fixed outside actions")[0]
        return ("fixed", s, a)
    raise ValueError(f"weights must be 'uniform', 'stationary' or ('fixed', states, actions), got {weights!r}")


def truncated_q(mdp, policy, agent, kappa, weights="uniform", gamma=None, *, backend="auto", evaluation=None,
                max_bytes=None):
    r"""Truncated Q-function :math:`\tilde Q_i` on the κ-hop neighbourhood (qu2020 eq. (5)-(6)).

    Parameters
    ----------
    mdp : NetworkedMDP
    policy : LocalSoftmaxPolicy
    agent : int
    kappa : int >= 0
    weights : "uniform" | "stationary" | ("fixed", states, actions)
        The weights :math:`w_i` of eq. (5) (module docstring). For ``"fixed"``, ``states`` and
        ``actions`` are full length-n tuples; only their outside coordinates are used.
    gamma : float or None
        ``None``: differential Q (qu2020 eq. (3)); otherwise discounted.
    evaluation : PolicyEvaluation, optional

    Returns
    -------
    ndarray
        Shape ``tuple(S[j] for j in N) + tuple(A[j] for j in N)`` with ``N = mdp.kappa_hop(agent, kappa)``
        (sorted ascending).

    References
    ----------
    qu2020 eq. (5)-(6), Lemma 2(a); ying2023 eq. (14) for the fixed outside configuration.
    """
    gamma, ev = _prepare(mdp, policy, gamma, backend, evaluation)
    agent = check_agent(mdp, agent)
    weights = _check_weights(mdp, weights)
    inside = list(mdp.kappa_hop(agent, kappa))
    outside = [k for k in range(mdp.n) if k not in inside]
    if weights == "stationary":
        for k in inside:
            if not set(ev.model.reads(k)) <= set(inside):
                raise NotImplementedError(
                    f"weights='stationary' with agent {k} of N_{agent}^{kappa} reading states outside it "
                    f"({ev.model.reads(k)}): the outside states' conditional law then depends on the inside "
                    "actions (kappa-hop policies: issue 11)")
    S_in = tuple(mdp.state_sizes[k] for k in inside)
    A_in = tuple(mdp.action_sizes[k] for k in inside)
    n_in_s, n_in_a = math.prod(S_in), math.prod(A_in)
    check_memory(8.0 * (n_in_s * n_in_a + mdp.n_states * n_in_a / max(1, n_in_s) * 4),
                 f"the truncated Q table ({n_in_s} x {n_in_a})", max_bytes=max_bytes)
    off, sc = _offset_scale(ev, agent)
    v = ev.values[:, agent]
    all_states = mdp.state_tuples()
    # outside-state weights w(s_out | s_in) for every global state, shape (|S|,)
    if weights == "uniform":
        sw = np.full(mdp.n_states, n_in_s / mdp.n_states)
    elif weights == "stationary":
        d = ev.stationary if ev.gamma is None else None
        if d is None:
            raise ValueError("weights='stationary' needs the average-reward stationary distribution (gamma=None)")
        d_full = d.reshape(mdp.state_sizes)
        marg = d_full.sum(axis=tuple(outside), keepdims=True)
        with np.errstate(invalid="ignore", divide="ignore"):
            cond = np.where(marg > 0, d_full / marg, 1.0 / max(1, mdp.n_states // n_in_s))
        sw = cond.reshape(-1)
    else:
        fixed_s = weights[1]
        sw = np.all(all_states[:, outside] == fixed_s[outside][None, :], axis=1).astype(float)
    idx = np.flatnonzero(sw > 0)
    in_index = np.ravel_multi_index(tuple(all_states[idx][:, inside].T), S_in) if inside else np.zeros(idx.size, int)
    out = np.zeros((n_in_s, n_in_a))
    for a, b in _chunks(idx.size, 8.0 * n_in_a * 4 + 8.0 * mdp.n_states):
        sel = idx[a:b]
        states = all_states[sel]
        w = _outside_action_weights(ev, states, outside, weights)
        T = _resolved(ev.model, states, inside, w, v, agent, off, sc).reshape(sel.size, n_in_a)
        np.add.at(out, in_index[a:b], sw[sel][:, None] * T)
    return out.reshape(S_in + A_in)


# ---------------------------------------------------------------------------- truncated gradient
def score_norm_bound(policy, agent):
    r"""Exact :math:`L_i = \max_{s_i, a_i} \|\nabla_{\theta_i}\log\zeta_i(a_i|s_i)\|_2` for the softmax.

    For the tabular softmax the score at :math:`(s_i, a_i)` is :math:`e_{a_i} - \zeta_i(\cdot|s_i)`
    in the row :math:`s_i`, whose norm is :math:`\sqrt{(1-\zeta(a|s))^2 + \sum_{b\ne a}\zeta(b|s)^2}`.
    """
    z = policy.probabilities()[agent]
    sq = (z**2).sum(axis=1, keepdims=True)
    norms = np.sqrt(sq - z**2 + (1.0 - z) ** 2)
    return float(norms.max())


def truncated_gradient(mdp, policy, agent, kappa, weights="uniform", *, backend="auto", evaluation=None,
                       max_bytes=None):
    r"""The truncated policy gradient :math:`\hat h_i(\theta)` of qu2020 eq. (7), exactly.

    .. math:: \hat h_i(\theta) = E_{(s,a)\sim\pi^\theta}\Big[\frac1n\sum_{j\in N_i^\kappa}
              \tilde Q_j(s_{N_j^\kappa}, a_{N_j^\kappa})\Big]\nabla_{\theta_i}\log\zeta_i(a_i|s_i)   \qquad (7)

    computed from the stationary marginals of :math:`s_{N_j^\kappa}` and the exact truncated tables.

    Returns
    -------
    ndarray, shape (S[agent], A[agent])
    """
    gamma, ev = _prepare(mdp, policy, None, backend, evaluation)
    agent = check_agent(mdp, agent)
    d_full = ev.stationary.reshape(mdp.state_sizes)
    zeta = ev.model.zeta
    reads = ev.model.reads
    grad = np.zeros(zeta[agent].shape)
    for j in mdp.kappa_hop(agent, kappa):
        Nj = list(mdp.kappa_hop(j, kappa))
        for k in Nj:
            if not set(reads(k)) <= set(Nj):
                raise NotImplementedError(
                    f"truncated_gradient: agent {k} of N_{j}^{kappa} reads {reads(k)}, outside N_{j}^{kappa}; the "
                    "stationary marginal would have to grow with the observation sets (kappa-hop policies: issue 11)")
        Qt = truncated_q(mdp, policy, j, kappa, weights, evaluation=ev, max_bytes=max_bytes)
        outside = tuple(k for k in range(mdp.n) if k not in Nj)
        d_in = d_full.sum(axis=outside)  # axes: states of Nj
        m = len(Nj)
        pos = Nj.index(agent)
        # contract the actions of Nj other than `agent` with their policies
        s_l, a_l = labels(m, m, batch=False, agents=m, what="the truncated gradient contraction")
        ops, subs = [Qt], [s_l + a_l]
        for q, k in enumerate(Nj):
            if k != agent:  # zeta_k(a_k | s_{O_k}), its state axes those of O_k within Nj
                ops.append(zeta[k].reshape(tuple(mdp.state_sizes[x] for x in reads(k)) + (-1,)))
                subs.append("".join(s_l[Nj.index(x)] for x in reads(k)) + a_l[q])
        Qbar = np.einsum(",".join(subs) + "->" + s_l + a_l[pos], *ops)  # (S_Nj..., A_agent)
        Z = zeta[agent]  # (S_{O_i}, A_i)
        # score: for s_{O_i} = x: zeta(b|x) (Qbar(., b) - sum_c zeta(c|x) Qbar(., c))
        obs_pos = [Nj.index(x) for x in reads(agent)]
        shape = [1] * m + [Z.shape[1]]
        for q in obs_pos:
            shape[q] = mdp.state_sizes[Nj[q]]
        Zb = Z.reshape(shape)
        adv = Qbar - (Zb * Qbar).sum(axis=-1, keepdims=True)
        contrib = d_in[..., None] * Zb * adv
        grad += contrib.sum(axis=tuple(q for q in range(m) if q not in obs_pos)).reshape(Z.shape) / mdp.n
    return grad


# ---------------------------------------------------------------------------- decay profile
class DecayProfile:
    """Result of :func:`decay_profile`.

    Attributes
    ----------
    kappas : ndarray of int
    values : ndarray
        ``method="sup"``/``"search"``: one value per κ (the sup, or a certified lower bound on it).
        ``method="sampled"``: shape (n_samples, len(kappas)).
    method : str
    witnesses : list
        For ``sup``/``search``: per κ the pair ``(s, a, s2, a2)`` attaining the value.
    """

    def __init__(self, kappas, values, method, witnesses=None, evaluations=0):
        self.kappas = np.asarray(kappas)
        self.values = np.asarray(values)
        self.method = method
        self.witnesses = witnesses or []
        self.evaluations = evaluations

    def __repr__(self):
        return f"DecayProfile(method={self.method!r}, kappas={self.kappas.tolist()}, values={np.round(self.values, 6).tolist()})"


def decay_profile(mdp, policy, agent, kappas, gamma=None, method="sup", *, n_samples=1, rng=None,
                  restarts=8, sweeps=3, backend="auto", evaluation=None, max_bytes=None):
    r"""Left side of qu2020 eq. (4) as a function of κ.

    Parameters
    ----------
    mdp : NetworkedMDP
    policy : LocalSoftmaxPolicy
    agent : int
    kappas : iterable of int
    gamma : float or None
    method : {"sup", "sampled", "search"}
        ``"sup"``: the exact maximum over all pairs agreeing on :math:`N_i^\kappa` (enumerates the
        :math:`|S||A|` table; refuses with :class:`MemoryBudgetError` when it does not fit).
        ``"sampled"``: the protocol of qu2020 App. B.4 — draw :math:`s, s', a, a'` uniformly; the
        second pair takes the inside coordinates of the first; ``n_samples`` draws.
        ``"search"``: a certified **lower bound** on the sup for instances too large to enumerate:
        random restarts then coordinate ascent over the outside coordinates of both pairs; every
        reported value is an exactly evaluated difference, so it never exceeds the sup.
    rng : int, numpy.random.Generator or None
        For ``sampled`` / ``search`` (:func:`~netmarl_verify.envs.as_generator`; checked for every
        method).

    Returns
    -------
    DecayProfile
    """
    rng = as_generator(rng)
    gamma, ev = _prepare(mdp, policy, gamma, backend, evaluation)
    agent = check_agent(mdp, agent)
    kappas = [int(k) for k in kappas]
    for k in kappas:
        if k < 0:
            raise ValueError(f"kappas must be >= 0, got {k}")
    n = mdp.n
    if method == "sup":
        Q = q_table(mdp, policy, agent, gamma, evaluation=ev, max_bytes=max_bytes)
        vals, wit = [], []
        for k in kappas:
            inside = list(mdp.kappa_hop(agent, k))
            outside = [j for j in range(n) if j not in inside]
            axes_in = inside + [n + j for j in inside]
            axes_out = outside + [n + j for j in outside]
            T = np.transpose(Q, axes_in + axes_out)
            n_in = int(np.prod([Q.shape[a] for a in axes_in]))
            T = T.reshape(n_in, -1)
            spread = T.max(axis=1) - T.min(axis=1)
            best = int(np.argmax(spread))
            vals.append(float(spread[best]))
            hi, lo = int(np.argmax(T[best])), int(np.argmin(T[best]))
            wit.append(_witness(mdp, axes_in, axes_out, Q.shape, best, hi, lo))
        return DecayProfile(kappas, vals, "sup", wit, evaluations=Q.size)
    if method == "sampled":
        m = int(n_samples)
        s = rng.integers(0, mdp.state_sizes, size=(m, n))
        a = rng.integers(0, mdp.action_sizes, size=(m, n))
        s2 = rng.integers(0, mdp.state_sizes, size=(m, n))
        a2 = rng.integers(0, mdp.action_sizes, size=(m, n))
        q1 = ev.q_local(s, a)[:, agent]
        vals = np.empty((m, len(kappas)))
        for c, k in enumerate(kappas):
            inside = list(mdp.kappa_hop(agent, k))
            t2, b2 = s2.copy(), a2.copy()
            t2[:, inside] = s[:, inside]
            b2[:, inside] = a[:, inside]
            vals[:, c] = np.abs(q1 - ev.q_local(t2, b2)[:, agent])
        return DecayProfile(kappas, vals, "sampled", evaluations=m * (len(kappas) + 1))
    if method == "search":
        vals, wit, evals = [], [], 0
        for k in kappas:
            best, bw, e = _search(ev, mdp, agent, k, rng, restarts, sweeps)
            vals.append(best)
            wit.append(bw)
            evals += e
        return DecayProfile(kappas, vals, "search", wit, evaluations=evals)
    raise ValueError(f"method must be 'sup', 'sampled' or 'search', got {method!r}")


def _witness(mdp, axes_in, axes_out, shape, best, hi, lo):
    n = mdp.n
    in_idx = np.unravel_index(best, [shape[a] for a in axes_in])
    pairs = []
    for o in (hi, lo):
        out_idx = np.unravel_index(o, [shape[a] for a in axes_out])
        full = np.empty(2 * n, dtype=int)
        for ax, v in zip(axes_in, in_idx):
            full[ax] = v
        for ax, v in zip(axes_out, out_idx):
            full[ax] = v
        pairs.append((tuple(int(x) for x in full[:n]), tuple(int(x) for x in full[n:])))
    return {"s": pairs[0][0], "a": pairs[0][1], "s2": pairs[1][0], "a2": pairs[1][1]}


def _search(ev, mdp, agent, kappa, rng, restarts, sweeps):
    """Coordinate ascent on |Q_i(z) - Q_i(z')| over the outside coordinates (both pairs)."""
    n = mdp.n
    inside = list(mdp.kappa_hop(agent, kappa))
    outside = [j for j in range(n) if j not in inside]
    best_val, best_w, evals = 0.0, None, 0
    for _ in range(restarts):
        s = rng.integers(0, mdp.state_sizes, size=n)
        a = rng.integers(0, mdp.action_sizes, size=n)
        s2, a2 = rng.integers(0, mdp.state_sizes, size=n), rng.integers(0, mdp.action_sizes, size=n)
        s2[inside], a2[inside] = s[inside], a[inside]
        q = ev.q_local(np.stack([s, s2]), np.stack([a, a2]))[:, agent]
        evals += 2
        cur = [q[0], q[1]]
        for _sweep in range(sweeps):
            improved = False
            for which in (0, 1):
                S_, A_ = (s, a) if which == 0 else (s2, a2)
                for j in outside:
                    for arr, size in ((S_, mdp.state_sizes[j]), (A_, mdp.action_sizes[j])):
                        cand_s = np.repeat(S_[None], size, axis=0)
                        cand_a = np.repeat(A_[None], size, axis=0)
                        (cand_s if arr is S_ else cand_a)[:, j] = np.arange(size)
                        qc = ev.q_local(cand_s, cand_a)[:, agent]
                        evals += size
                        other = cur[1 - which]
                        gaps = np.abs(qc - other)
                        k = int(np.argmax(gaps))
                        if gaps[k] > abs(cur[which] - other) + 1e-15:
                            arr[j] = k
                            cur[which] = qc[k]
                            improved = True
            if not improved:
                break
        val = abs(cur[0] - cur[1])
        if val >= best_val:
            best_val = float(val)
            best_w = {"s": tuple(int(x) for x in s), "a": tuple(int(x) for x in a),
                      "s2": tuple(int(x) for x in s2), "a2": tuple(int(x) for x in a2)}
    return best_val, best_w, evals


# ---------------------------------------------------------------------------- Lemma 3 marginals
def agent_marginals(mdp, policy, agent, states, actions, horizon, *, backend="dense"):
    r"""Exact distribution of :math:`z_i(t) = (s_i(t), a_i(t))` for :math:`t = 0..T` from given pairs.

    Parameters
    ----------
    states, actions : int array, shape (m, n)
        Initial global state-action pairs :math:`z(0)`.
    horizon : int
        Largest t.

    Returns
    -------
    ndarray, shape (m, horizon + 1, S[agent], A[agent])

    References
    ----------
    qu2020 Lemma 3 (App. B.1): :math:`\pi_{t,i}` is this distribution.
    """
    from ._evaluation import transition_matrix
    from ._model import as_model

    model = as_model(mdp, policy)
    agent = check_agent(mdp, agent)
    states, actions = mdp.check_pairs(states, actions)
    if model.reads(agent) != (agent,):
        raise NotImplementedError(
            f"agent_marginals: agent {agent}'s policy reads {model.reads(agent)}; the law of (s_i, a_i) then needs "
            "the joint law of the observed states (kappa-hop policies: issue 11)")
    P = transition_matrix(mdp, policy, backend=backend)
    zeta = model.zeta[agent]
    m = states.shape[0]
    out = np.zeros((m, horizon + 1, mdp.state_sizes[agent], mdp.action_sizes[agent]))
    out[np.arange(m), 0, states[:, agent], actions[:, agent]] = 1.0
    if horizon == 0:
        return out
    mu = model.pair_rows(states, actions)  # distribution of s(1)
    si = mdp.state_tuples()[:, agent]
    for t in range(1, horizon + 1):
        marg = np.zeros((m, mdp.state_sizes[agent]))
        for x in range(mdp.state_sizes[agent]):
            marg[:, x] = mu[:, si == x].sum(axis=1)
        out[:, t] = marg[:, :, None] * zeta[None]
        if t < horizon:
            mu = np.asarray((P.T @ mu.T).T)
    return out
