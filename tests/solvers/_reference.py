r"""Brute-force reference for the exact solvers, on the joint tables only.

Deliberately simple and independent of :mod:`solvers.exact`: numpy only, explicit loops where
they make the formula readable, and a *different numerical route* from the fast solvers for
every quantity, so that agreement between the two is evidence and not a tautology.

Notation (qu2020 §2.1, ying2023 §2). ``P[s, a, s']``, ``R[s, a]`` are the joint tables of a
:class:`~envs.TabularMDP` (a :class:`~envs.NetworkedMDP` is compiled with ``to_tabular``;
the reward of agent ``i`` is ``local_reward_table(i)``), ``pi[s, a]`` the joint policy table,

.. math:: P_\pi(s, s') = \sum_a \pi(a|s) P(s'|s, a), \qquad r_\pi(s) = \sum_a \pi(a|s) R(s, a).

Quantity by quantity (definition; route taken here):

* stationary ``d``: :math:`d^T P_\pi = d^T`, :math:`\sum_s d(s) = 1`; the eigenvector of
  :math:`P_\pi^T` for eigenvalue 1 (``numpy.linalg.eig``), refused unless that eigenvalue is simple.
* gain: :math:`J = d^T r_\pi`.
* bias: :math:`h = \sum_{t \ge 0} (P_\pi^t r_\pi - J 1)` (deviation-matrix series, so
  :math:`d^T h = 0` and :math:`h - P_\pi h = r_\pi - J1`); the series summed until its terms
  vanish, or the Cesàro mean of its partial sums for a periodic chain.
* average-reward Q (qu2020 eq. (3)): :math:`Q(s,a) = R(s,a) - J + \sum_{s'} P(s'|s,a) h(s')`.
* discounted: :math:`V = r_\pi + \gamma P_\pi V` by value iteration, :math:`Q = R + \gamma P V`.
* occupancy (ying2023 eq. (2)): :math:`\lambda(s,a) = \sum_t \gamma^t \Pr(s_t=s, a_t=a)`, the
  series summed until :math:`\gamma^t < 10^{-16}`.
* average-reward gradient (qu2020 Lemma 1): :math:`\sum_{s,a} d(s)\pi(a|s) Q(s,a)
  \nabla\log\pi(a|s)`, an explicit double loop.
* discounted gradient (policy gradient theorem): :math:`\frac{1}{1-\gamma}\sum_{s,a}
  d_\mu(s)\pi(a|s) Q_\gamma(s,a) \nabla\log\pi(a|s)`, :math:`d_\mu` the normalised visitation.

The softmax score is :math:`\partial\log\zeta_i(a_i|s_i)/\partial\theta_i[x, b] = 1\{s_i = x\}
(1\{a_i = b\} - \zeta_i(b|x))` for :class:`~envs.LocalSoftmaxPolicy` (the joint log-probability
is the sum of the local ones), and the same with the global state for
:class:`~envs.TabularSoftmaxPolicy`.
"""

import numpy as np

from netmarl_verify.envs import LocalSoftmaxPolicy, NetworkedMDP, TabularSoftmaxPolicy

__all__ = [
    "joint_tables",
    "policy_table",
    "markov_chain",
    "all_pairs",
    "state_action_chain",
    "stationary",
    "bias",
    "average_reward",
    "average_q",
    "discounted_v",
    "discounted_q",
    "occupancy",
    "visitation",
    "score",
    "average_gradient",
    "discounted_gradient",
    "flat",
]


# ---------------------------------------------------------------------------- tables
def joint_tables(mdp, agent=None):
    """``(P[s, a, s'], R[s, a])`` with the global reward (``agent=None``) or ``r_i``."""
    if isinstance(mdp, NetworkedMDP):
        tab = mdp.to_tabular()
        R = tab.R if agent is None else mdp.local_reward_table(agent)
        return np.array(tab.P), np.array(R)
    if agent is not None:
        raise ValueError("a TabularMDP has a single reward; agent must be None")
    return np.array(mdp.P), np.array(mdp.R)


def policy_table(mdp, policy):
    """Joint policy table ``pi[s, a]`` from any policy representation."""
    if isinstance(policy, LocalSoftmaxPolicy):
        return policy.joint_table(mdp)
    if isinstance(policy, TabularSoftmaxPolicy):
        return policy.table()
    return np.asarray(policy, dtype=np.float64)


def markov_chain(P, R, pi):
    """``P_pi[s, s']`` and ``r_pi[s]`` by explicit sums over actions."""
    nS, nA, _ = P.shape
    P_pi = np.zeros((nS, nS))
    r_pi = np.zeros(nS)
    for s in range(nS):
        for a in range(nA):
            P_pi[s] += pi[s, a] * P[s, a]
            r_pi[s] += pi[s, a] * R[s, a]
    return P_pi, r_pi


def all_pairs(mdp):
    """Every (state, action) pair in the solver's input format, row-major in (s, a).

    Local tuples ``(states (m, n), actions (m, n))`` for a :class:`~envs.NetworkedMDP`, flat
    indices for a :class:`~envs.TabularMDP`; ``m = n_states * n_actions``.
    """
    if isinstance(mdp, NetworkedMDP):
        S, A = mdp.state_tuples(), mdp.action_tuples()
        return np.repeat(S, len(A), axis=0), np.tile(A, (len(S), 1))
    return np.repeat(np.arange(mdp.n_states), mdp.n_actions), np.tile(np.arange(mdp.n_actions), mdp.n_states)


def state_action_chain(mdp, policy):
    """The joint state-action chain of a :class:`~envs.NetworkedMDP` under a product policy.

    Returns ``(P_z, r_z, pi)``: ``P_z[(s, a), (s', a')] = P(s'|s, a) pi(a'|s')`` (pairs row-major
    in (s, a), as :func:`all_pairs`), the global reward ``r_z[(s, a)] = R(s, a)`` and the joint
    policy table ``pi[s, a]``. Its stationary law (:func:`stationary`) is ``d(s) pi(a|s)``.
    """
    T = mdp.to_tabular()
    pi = policy.joint_table(mdp)
    nS, nA = pi.shape
    Pz = (T.P[:, :, :, None] * pi[None, None, :, :]).reshape(nS * nA, nS * nA)
    return Pz, T.R.reshape(-1), pi


# ---------------------------------------------------------------------------- average reward
def stationary(P_pi):
    """Stationary distribution as the eigenvector of ``P_pi.T`` for eigenvalue 1.

    Raises ``ValueError`` if eigenvalue 1 is not simple (more than one recurrent class): the
    reference never picks one of several stationary distributions.
    """
    w, V = np.linalg.eig(P_pi.T)
    ones = np.flatnonzero(np.abs(w - 1.0) < 1e-8)
    if len(ones) != 1:
        raise ValueError(f"eigenvalue 1 has multiplicity {len(ones)}; the chain is not unichain")
    v = np.real(V[:, ones[0]])
    d = v / v.sum()
    if d.min() < -1e-12:
        raise ValueError(f"Perron eigenvector has a negative entry {d.min()}")
    return np.clip(d, 0.0, None) / np.clip(d, 0.0, None).sum()


def bias(P_pi, r_pi, d, cesaro=False, tol=1e-15, max_terms=1_000_000):
    r"""Bias :math:`h = \sum_{t\ge0} (P_\pi^t r_\pi - J1)` by summing the deviation-matrix series.

    The terms decay like :math:`|\lambda_2|^t` for an aperiodic unichain; the sum stops once a
    term is below ``tol * max(1, |r|)`` (the tail is then below that times
    :math:`|\lambda_2| / (1 - |\lambda_2|)`). With ``cesaro=True`` the partial sums
    :math:`S_T` do not converge (periodic chain) and their running mean
    :math:`\frac1T \sum_{k=1}^T S_k` is returned instead, for ``max_terms`` terms: its error is
    :math:`O(1/T)`, which is why the tests use closed forms for the periodic case.
    """
    J = d @ r_pi
    scale = max(1.0, np.abs(r_pi).max())
    term = r_pi - J
    S = np.zeros_like(r_pi)
    mean = np.zeros_like(r_pi)
    for t in range(max_terms):
        S = S + term
        if cesaro:
            mean += (S - mean) / (t + 1)
        elif np.abs(term).max() < tol * scale:
            return S
        term = P_pi @ term  # P^t r - J1 = P^t (r - J1) since P 1 = 1
    if cesaro:
        return mean
    raise RuntimeError(f"deviation series did not converge in {max_terms} terms")


def average_reward(mdp, policy, agent=None):
    """Gain ``J`` (or ``J_i``) = d^T r_pi."""
    P, R = joint_tables(mdp, agent)
    P_pi, r_pi = markov_chain(P, R, policy_table(mdp, policy))
    return float(stationary(P_pi) @ r_pi)


def average_q(mdp, policy, agent=None, cesaro=False):
    r"""Differential Q table, shape (nS, nA): :math:`Q = R - J + P h` (qu2020 eq. (3))."""
    P, R = joint_tables(mdp, agent)
    pi = policy_table(mdp, policy)
    P_pi, r_pi = markov_chain(P, R, pi)
    d = stationary(P_pi)
    J = d @ r_pi
    h = bias(P_pi, r_pi, d, cesaro=cesaro)
    nS, nA = R.shape
    Q = np.empty((nS, nA))
    for s in range(nS):
        for a in range(nA):
            Q[s, a] = R[s, a] - J + P[s, a] @ h
    return Q


# ---------------------------------------------------------------------------- discounted
def discounted_v(P_pi, r_pi, gamma, tol=1e-14):
    r"""Value iteration :math:`V \leftarrow r_\pi + \gamma P_\pi V` until the update is below ``tol``.

    The error of the returned ``V`` is at most ``tol * gamma / (1 - gamma)``.
    """
    V = np.zeros_like(r_pi)
    while True:
        V_new = r_pi + gamma * (P_pi @ V)
        if np.abs(V_new - V).max() < tol:
            return V_new
        V = V_new


def discounted_q(mdp, policy, gamma, agent=None):
    r""":math:`Q_\gamma = R + \gamma P V`, shape (nS, nA)."""
    P, R = joint_tables(mdp, agent)
    P_pi, r_pi = markov_chain(P, R, policy_table(mdp, policy))
    V = discounted_v(P_pi, r_pi, gamma)
    return R + gamma * np.einsum("sat,t->sa", P, V)


def occupancy(mdp, policy, gamma, initial):
    r"""Unnormalised :math:`\lambda(s,a) = \sum_t \gamma^t \Pr(s_t = s, a_t = a)` (ying2023 eq. (2)).

    Summed term by term until :math:`\gamma^t < 10^{-16}`; sums to :math:`1/(1-\gamma)`.
    """
    P, _ = joint_tables(mdp)
    pi = policy_table(mdp, policy)
    P_pi, _ = markov_chain(P, np.zeros(pi.shape), pi)
    rho = np.asarray(initial, dtype=np.float64).copy()  # Pr(s_t = .)
    lam = np.zeros(pi.shape)
    g = 1.0
    while g >= 1e-16:
        lam += g * rho[:, None] * pi
        rho = rho @ P_pi
        g *= gamma
    return lam


def visitation(mdp, policy, gamma, initial):
    r"""Normalised state visitation :math:`(1-\gamma)\sum_t \gamma^t \Pr(s_t = s)`."""
    return (1.0 - gamma) * occupancy(mdp, policy, gamma, initial).sum(axis=1)


# ---------------------------------------------------------------------------- gradients
def score(mdp, policy, s, a):
    r"""Flat :math:`\nabla_\theta \log\pi(a|s)` at global indices ``(s, a)`` (softmax score)."""
    if isinstance(policy, TabularSoftmaxPolicy):
        pi = policy.table()
        g = np.zeros(pi.shape)
        g[s, :] = -pi[s]
        g[s, a] += 1.0
        return g.ravel()
    probs = policy.probabilities()
    s_loc = np.unravel_index(s, mdp.state_sizes)
    a_loc = np.unravel_index(a, mdp.action_sizes)
    blocks = []
    for i in range(policy.n):
        g = np.zeros(probs[i].shape)
        g[s_loc[i], :] = -probs[i][s_loc[i]]
        g[s_loc[i], a_loc[i]] += 1.0
        blocks.append(g.ravel())
    return np.concatenate(blocks)


def average_gradient(mdp, policy):
    r"""Flat :math:`\nabla J = \sum_{s,a} d(s)\pi(a|s) Q(s,a) \nabla\log\pi(a|s)` (qu2020 Lemma 1)."""
    P, R = joint_tables(mdp)
    pi = policy_table(mdp, policy)
    P_pi, r_pi = markov_chain(P, R, pi)
    d = stationary(P_pi)
    Q = average_q(mdp, policy)
    grad = np.zeros(policy.size)
    for s in range(pi.shape[0]):
        for a in range(pi.shape[1]):
            grad += d[s] * pi[s, a] * Q[s, a] * score(mdp, policy, s, a)
    return grad


def discounted_gradient(mdp, policy, gamma, initial):
    r"""Flat gradient of :math:`V(\mu) = \sum_s \mu(s) V(s)` (policy gradient theorem).

    :math:`\nabla V(\mu) = \frac{1}{1-\gamma} \sum_s d_\mu(s) \sum_a \pi(a|s) Q_\gamma(s,a)
    \nabla\log\pi(a|s)` with the normalised visitation :math:`d_\mu`; equivalently the sum
    with the unnormalised occupancy :math:`\lambda(s,a) = d_\mu(s)\pi(a|s)/(1-\gamma)`.
    """
    pi = policy_table(mdp, policy)
    d_mu = visitation(mdp, policy, gamma, initial)
    Q = discounted_q(mdp, policy, gamma)
    grad = np.zeros(policy.size)
    for s in range(pi.shape[0]):
        for a in range(pi.shape[1]):
            grad += d_mu[s] * pi[s, a] * Q[s, a] * score(mdp, policy, s, a)
    return grad / (1.0 - gamma)


def flat(blocks):
    """Concatenate a list of gradient blocks (shaped like ``policy.logits``) into one vector."""
    return np.concatenate([np.asarray(b).ravel() for b in blocks])
