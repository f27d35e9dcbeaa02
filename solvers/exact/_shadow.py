r"""ying2023's exact quantities: the utility of the occupancy, shadow rewards, shadow Q, truncated gradients.

For a networked model, a product policy :math:`\pi_\theta` (local-state, κ-hop or global-state),
a discount :math:`\gamma` and an initial distribution :math:`\xi` on global states
(ying2023 §2-3):

* the unnormalised occupancy :math:`\lambda^\pi(s,a) = \sum_k\gamma^k\Pr(s^k=s, a^k=a)` (eq. (2),
  mass :math:`1/(1-\gamma)`) and its local marginals :math:`\lambda_i(s_i, a_i)` (eq. (4));
* :math:`F(\theta) = \frac1n\sum_i f_i(\lambda_i)` (eq. (5)) for local utilities :math:`f_i`
  (:mod:`._utilities`);
* the local shadow rewards :math:`r_i = \nabla_{\lambda_i}f_i(\lambda_i^{\pi})` (no :math:`1/n`), the
  global one :math:`r = \frac1n\sum_i r_i(s_i, a_i)`, and the *shadow model*: the same kernels with
  the local rewards :math:`r_i` (:meth:`~envs.NetworkedMDP.with_rewards`), on which every exact
  solver of this package computes :math:`Q_i^\pi = Q^\pi(r_i)` (eq. (7)) and Lemma 1's gradient
  :math:`\nabla F = \nabla_\theta V^{\pi_\theta}(r)|_{r\text{ frozen}}` (eq. (8)-(10));
* the truncated shadow Q (eq. (14)) at a reference :math:`(\bar s, \bar a)` and the truncated
  gradient (eq. (15), prefactor :math:`1/n`):

  .. math:: \hat g_i(\theta) = \frac1{1-\gamma}E_{s\sim d^{\pi_\theta}, a\sim\pi_\theta}
            \Big[\psi_{\theta_i}(a_i|s_{N_i^\kappa})\,\frac1n\sum_{j\in N_i^\kappa}
            \hat Q_j(s_{N_j^\kappa}, a_{N_j^\kappa})\Big]
            = \sum_{s,a}\lambda(s)\pi(a|s)\,\psi_{\theta_i}\,\frac1n\sum_{j\in N_i^\kappa}\hat Q_j,

  with :math:`d = (1-\gamma)\lambda` normalised (so :math:`\frac1{1-\gamma}E_d = \sum_s\lambda(s)`).

Readings taken (the guide ``shared/claims/ying2023.md`` §11): (4)'s conditioning is garbled and
:math:`\lambda_i` is the marginal of the global occupancy; (15), (21), (30) print
:math:`\hat Q_i` inside the sum over :math:`j` where :math:`\hat Q_j` is meant. The κ of (14)-(15)
(the truncation radius κ_Q) is a parameter here, independent of the policy's radius.

Sizes. The truncated gradient and Lemma 2's decay use tables over global states and joint
actions (:math:`|S||A|` entries, memory checked first): enumerable instances only.
"""

from dataclasses import dataclass

import numpy as np

from netmarl_verify.envs import NetworkedMDP, ScoreWeights, check_policy, observed_rows
from netmarl_verify.envs._memory import check_memory

from ._evaluation import _check_gamma
from ._gradient import check_initial, policy_gradient
from ._occupancy import discounted_occupancy
from ._truncation import q_table, truncated_q
from ._utilities import local_occupancies

__all__ = [
    "ShadowProblem",
    "shadow_problem",
    "utility_objective",
    "truncated_shadow_gradient",
    "score_zero_term",
]


def _check_utilities(utilities, n):
    utilities = list(utilities)
    if len(utilities) != n:
        raise ValueError(f"need one utility per agent ({n}), got {len(utilities)}")
    for i, f in enumerate(utilities):
        if not (callable(getattr(f, "value", None)) and callable(getattr(f, "gradient", None))):
            raise TypeError(f"utilities[{i}] (agent {i}) must have value(lam) and gradient(lam), "
                            f"got {type(f).__name__}")
    return utilities


@dataclass
class ShadowProblem:
    r"""Everything exact about :math:`F(\theta)` at one policy (:func:`shadow_problem`).

    Attributes
    ----------
    mdp : NetworkedMDP
        The model (its own rewards are not used).
    policy : the policy
    gamma : float
    initial : ndarray, shape (|S|,)
        :math:`\xi`.
    occupancy : ndarray, shape (|S|, |A|)
        :math:`\lambda^\pi` (eq. (2), unnormalised).
    local : list of ndarray
        :math:`\lambda_i` (eq. (4)).
    value : float
        :math:`F(\theta) = \frac1n\sum_i f_i(\lambda_i)`.
    shadow_rewards : list of ndarray
        :math:`r_i = \nabla_{\lambda_i}f_i(\lambda_i)`, shape (S_i, A_i), without the :math:`1/n`.
    shadow_mdp : NetworkedMDP
        The model with local rewards :math:`r_i` (``reward_form="local"``).
    """

    mdp: object
    policy: object
    gamma: float
    initial: np.ndarray
    occupancy: np.ndarray
    local: list
    value: float
    shadow_rewards: list
    shadow_mdp: object

    @property
    def n(self):
        return self.mdp.n

    @property
    def state_occupancy(self):
        r""":math:`\lambda(s) = \sum_a\lambda(s, a)`, shape (|S|,)."""
        return self.occupancy.sum(axis=1)

    def gradient(self):
        r"""Exact :math:`\nabla_\theta F` by Lemma 1 (shaped like the logits): the policy gradient of
        :math:`V^\pi(\xi)` under the frozen global shadow reward :math:`\frac1n\sum_i r_i`."""
        return policy_gradient(self.shadow_mdp, self.policy, self.gamma, self.initial)

    def q_table(self, agent):
        r""":math:`Q_i^\pi(s, a) = Q^\pi(r_i; s, a)` (eq. (7)) over global states and joint actions, shape S + A."""
        return q_table(self.shadow_mdp, self.policy, agent, self.gamma)

    def truncated_q(self, agent, kappa, reference):
        r""":math:`\hat Q_i` of eq. (14) at the reference ``(s_bar, a_bar)`` (full length-n tuples).

        Shape ``tuple(S[j] for j in N) + tuple(A[j] for j in N)``, ``N = mdp.kappa_hop(agent, kappa)``.
        """
        s, a = reference
        return truncated_q(self.shadow_mdp, self.policy, agent, kappa, ("fixed", s, a), self.gamma)


def shadow_problem(mdp, policy, gamma, utilities, initial=None, *, max_bytes=None):
    r"""The utility problem at one policy: λ, λ_i, F and the shadow rewards (ying2023 eq. (2)-(6)).

    Parameters
    ----------
    mdp : NetworkedMDP
    policy : a product policy (LocalSoftmaxPolicy, KHopSoftmaxPolicy, LocalTabularPolicy, ...)
    gamma : float in [0, 1)
    utilities : sequence of utility objects
        ``utilities[i]`` has ``value(lam_i)`` and ``gradient(lam_i)`` on (S_i, A_i) arrays
        (:mod:`._utilities`).
    initial : ndarray, shape (|S|,), optional
        ξ on global states (default uniform).

    Returns
    -------
    ShadowProblem

    Raises
    ------
    TypeError
        Not a NetworkedMDP, or a utility without ``value``/``gradient`` (named by agent).
    MemoryBudgetError
        The (|S|, |A|) occupancy table does not fit.
    """
    if not isinstance(mdp, NetworkedMDP):
        raise TypeError(f"shadow_problem needs a NetworkedMDP, got {type(mdp).__name__}")
    gamma = _check_gamma(gamma)
    if gamma is None:
        raise ValueError("ying2023's occupancy is discounted: gamma must be in [0, 1)")
    utilities = _check_utilities(utilities, mdp.n)
    xi = check_initial(initial, mdp.n_states)
    lam = discounted_occupancy(mdp, policy, gamma, xi, max_bytes=max_bytes)
    local = local_occupancies(lam, mdp.state_sizes, mdp.action_sizes)
    value = float(np.mean([f.value(li) for f, li in zip(utilities, local)]))
    rewards = [np.asarray(f.gradient(li), dtype=np.float64) for f, li in zip(utilities, local)]
    for i, r in enumerate(rewards):
        if r.shape != local[i].shape or not np.all(np.isfinite(r)):
            raise ValueError(f"the shadow reward of agent {i} (gradient of utilities[{i}] at lambda_{i}) is not a "
                             f"finite array of shape {local[i].shape}")
    return ShadowProblem(mdp, policy, gamma, xi, lam, local, value, rewards,
                         mdp.with_rewards(rewards, reward_form="local"))


def utility_objective(mdp, policy, gamma, utilities, initial=None):
    r""":math:`F(\theta) = \frac1n\sum_i f_i(\lambda_i^{\pi_\theta})` (ying2023 eq. (5)), for finite differences."""
    return shadow_problem(mdp, policy, gamma, utilities, initial).value


def _broadcast_local(table, inside, n):
    """A table over (s_N, a_N) as an array broadcastable to S + A (axes of agents outside N have size 1)."""
    m = len(inside)
    shape = [1] * (2 * n)
    for q, k in enumerate(inside):
        shape[k] = table.shape[q]
        shape[n + k] = table.shape[m + q]
    return table.reshape(shape)


def _agent_marginal(mdp, tables, H, i):
    r""":math:`\bar H_i(s, b) = \sum_{a_{-i}}\prod_{k\ne i}\pi_k(a_k|s_{O_k})H(s, (b, a_{-i}))`, shape (|S|, A_i)."""
    n = mdp.n
    S = mdp.state_tuples()
    out = np.broadcast_to(H, tuple(mdp.state_sizes) + tuple(mdp.action_sizes)).reshape((mdp.n_states,) +
                                                                                        tuple(mdp.action_sizes))
    # contract the other agents' actions one at a time (last axis first keeps the axis bookkeeping simple)
    for k in reversed(range(n)):
        if k == i:
            continue
        w = tables[k][observed_rows(tables.observed[k], S, mdp.state_sizes)]  # (|S|, A_k)
        out = np.moveaxis(out, 1 + k, -1)  # agents before k are untouched: k's axis is 1 + k
        out = (out * w.reshape((mdp.n_states,) + (1,) * (out.ndim - 2) + (w.shape[1],))).sum(axis=-1)
    return out.reshape(mdp.n_states, mdp.action_sizes[i])


def truncated_shadow_gradient(problem, kappa, reference=None, *, neighbourhoods=None, max_bytes=None):
    r"""Exact truncated gradients :math:`\hat g_i(\theta)` of ying2023 eq. (15), every agent.

    Parameters
    ----------
    problem : ShadowProblem
    kappa : int >= 0
        The truncation radius κ_Q of :math:`\hat Q_j` and of the sum over :math:`j \in N_i^\kappa`.
    reference : (s_bar, a_bar), optional
        The reference of eq. (14) (default all zeros).
    neighbourhoods : sequence of sequence of int, optional
        Override :math:`N_i^\kappa` (for the broken-input tests: a non-symmetric "distance").

    Returns
    -------
    list of ndarray
        ``out[i]`` shaped like agent ``i``'s logits.

    Raises
    ------
    TypeError
        A policy that is not :class:`~envs.Parametrised`.
    MemoryBudgetError
        The (|S|, |A|) tables do not fit.
    """
    mdp, pol = problem.mdp, problem.policy
    n = mdp.n
    check_memory(8.0 * mdp.n_states * mdp.n_actions * 4, "the truncated-gradient tables over (|S|, |A|)",
                 max_bytes=max_bytes)
    if reference is None:
        reference = (np.zeros(n, dtype=np.int64), np.zeros(n, dtype=np.int64))
    hoods = ([tuple(mdp.kappa_hop(i, kappa)) for i in range(n)] if neighbourhoods is None
             else [tuple(sorted(int(k) for k in h)) for h in neighbourhoods])
    Qhat = [_broadcast_local(problem.truncated_q(j, kappa, reference), list(hoods[j]), n) for j in range(n)]
    tables = check_policy(mdp, pol)
    qbar = []
    for i in range(n):
        H = sum(Qhat[j] for j in hoods[i]) / n
        qbar.append(_agent_marginal(mdp, tables, H, i))
    return pol.score_contract(ScoreWeights(problem.state_occupancy, qbar, tuple(mdp.state_sizes)))


def _fixed_reference(Q, inside, reference, n):
    """:math:`Q(s_N, \bar s_{-N}, a_N, \bar a_{-N})` from a full S + A table, broadcastable to S + A."""
    s_bar, a_bar = reference
    idx = [slice(None)] * (2 * n)
    for k in range(n):
        if k not in inside:
            idx[k] = slice(int(s_bar[k]), int(s_bar[k]) + 1)
            idx[n + k] = slice(int(a_bar[k]), int(a_bar[k]) + 1)
    return Q[tuple(idx)]


def score_zero_term(problem, kappa, reference=None, *, neighbourhoods=None):
    r"""The term (18) that the proof of Prop. 1 drops, per agent: its largest entry over states.

    .. math:: E_{a\sim\pi_\theta(\cdot|s)}\Big[\psi_{\theta_i}(a_i|s_{N_i^\kappa})
              \sum_{j\in N_{-i}^\kappa}\hat Q_j(s_{N_j^\kappa}, a_{N_j^\kappa})\Big] = 0 \quad\forall s.

    For the tabular softmax, the score of agent ``i`` in row :math:`x = s_{O_i}` is
    :math:`e_{a_i} - \pi_i(\cdot|x)`, so the expectation at :math:`s` is
    :math:`\pi_i(b|x)(\bar H(s,b) - \sum_c\pi_i(c|x)\bar H(s,c))` in column ``b`` of row ``x``,
    with :math:`\bar H` the agent-marginal of :math:`H = \sum_{j\notin N_i^\kappa}\hat Q_j`. The
    :math:`\hat Q_j` are read off the full tables :math:`Q_j(s, a)` at the reference (eq. (14)),
    so any neighbourhood sets can be passed (``neighbourhoods``: the broken-input test uses a
    non-symmetric relation, under which the identity fails).

    Returns
    -------
    term : ndarray, shape (n,)
        Per agent ``i``, :math:`\max_{s, b}` of that expression in absolute value (0 up to rounding
        when the identity holds).
    scale : float
        :math:`\max_j\max|\hat Q_j|`, to compare ``term`` with.
    """
    mdp = problem.mdp
    n = mdp.n
    if reference is None:
        reference = (np.zeros(n, dtype=np.int64), np.zeros(n, dtype=np.int64))
    hoods = ([tuple(mdp.kappa_hop(i, kappa)) for i in range(n)] if neighbourhoods is None
             else [tuple(sorted(int(k) for k in h)) for h in neighbourhoods])
    Qhat = [_fixed_reference(problem.q_table(j), hoods[j], reference, n) for j in range(n)]
    scale = max(float(np.abs(t).max()) for t in Qhat)
    tables = check_policy(mdp, problem.policy)
    S = mdp.state_tuples()
    out = np.zeros(n)
    for i in range(n):
        outside = [j for j in range(n) if j not in hoods[i]]
        if not outside:
            continue
        H = sum(Qhat[j] for j in outside)
        Hbar = _agent_marginal(mdp, tables, H, i)
        Z = tables[i][observed_rows(tables.observed[i], S, mdp.state_sizes)]
        term = Z * (Hbar - (Z * Hbar).sum(axis=1, keepdims=True))
        out[i] = float(np.abs(term).max())
    return out, scale
