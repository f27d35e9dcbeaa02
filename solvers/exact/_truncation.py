r"""Action-resolved Q tables, truncated Q-functions and truncated gradients (qu2020 §2.2, §3.1).

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

The decay profile of eq. (4) itself is :mod:`._decay`; Theorem 1's :math:`C` is :mod:`._interaction`.
"""

import math

import numpy as np

from netmarl_verify.envs._memory import check_memory

from ._contract import labels
from ._evaluation import _check_gamma, evaluate_policy
from ._model import NetworkedOperator, _chunks, check_agent

__all__ = ["q_table", "truncated_q", "truncated_gradient", "score_norm_bound"]


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
    This is the bound :math:`L_i` of qu2020 Assumption 5 and Lemma 2(b), at the current policy (the
    uniform-in-θ bound for the softmax is :math:`\sqrt2`).

    Parameters
    ----------
    policy : LocalSoftmaxPolicy
        A tabular softmax policy; ``policy.probabilities()[agent]`` is agent ``agent``'s table
        :math:`\zeta_i(a_i | \cdot)`, one row per observed local state.
    agent : int
        The agent :math:`i`.

    Returns
    -------
    float
        :math:`L_i`, in :math:`[0, \sqrt2)` (0 with a single action); it approaches
        :math:`\sqrt2` as the policy at some state becomes deterministic.

    Examples
    --------
    >>> import numpy as np
    >>> import networkx as nx
    >>> from netmarl_verify.envs import LocalSoftmaxPolicy, random_networked_mdp
    >>> from netmarl_verify.solvers.exact import score_norm_bound
    >>> mdp = random_networked_mdp(nx.path_graph(2), 2, 2, rng=0)
    >>> L = score_norm_bound(LocalSoftmaxPolicy.uniform(mdp), 0)  # zeta = (1/2, 1/2)
    >>> bool(np.isclose(L, np.sqrt(0.5)))
    True
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
