r"""Theorem 1's interaction matrix and Lemma 3's time-t agent marginals (qu2020 §2.2, App. B.1).

The interaction matrix :math:`C` measures how strongly the next local state of agent :math:`i`
reacts to the state (and, for ``transition_form="neighbourhood"``, the action) of each
neighbour :math:`j`; its largest row sum :math:`\rho = \max_i \sum_j C_{ij}` is the decay rate of
qu2020 Theorem 1 (exponential decay with :math:`c = \bar r/(1-\rho)` when :math:`\rho < 1`).
Lemma 3 bounds the total-variation distance between the laws of :math:`z_i(t) = (s_i(t), a_i(t))`
started from two pairs; :func:`agent_marginals` computes those laws exactly.
"""

from dataclasses import dataclass

import numpy as np

from ._evaluation import transition_matrix
from ._model import as_model, check_agent

__all__ = ["interaction_matrix", "row_sums", "interaction_rho", "InteractionRho", "agent_marginals"]


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



def _sums(C):
    """Row sums of ``C`` and their maximum (the one computation behind both public faces)."""
    s = np.asarray(C).sum(axis=1)
    return float(s.max()), s


def row_sums(C):
    r"""The :math:`\rho` of qu2020 Theorem 1 and the per-agent row sums of :math:`C`.

    .. math:: \rho = \max_i \sum_j C_{ij}.

    Kept as a tuple for its many callers (``rho, sums = row_sums(C)``); new code can use
    :func:`interaction_rho`, which returns the same two numbers as named attributes.

    Parameters
    ----------
    C : array_like, shape (n, n)
        An interaction matrix, e.g. from :func:`interaction_matrix`.

    Returns
    -------
    rho : float
        The largest row sum :math:`\max_i \sum_j C_{ij}`.
    sums : ndarray, shape (n,)
        :math:`\sum_j C_{ij}` for each agent :math:`i`.

    Examples
    --------
    >>> import numpy as np
    >>> from netmarl_verify.solvers.exact import row_sums
    >>> rho, sums = row_sums(np.array([[0.25, 0.5], [0.125, 0.0]]))
    >>> rho, sums.tolist()
    (0.75, [0.75, 0.125])
    """
    return _sums(C)


@dataclass(frozen=True, eq=False)
class InteractionRho:
    r"""Result of :func:`interaction_rho`.

    Attributes
    ----------
    rho : float
        :math:`\rho = \max_i \sum_j C_{ij}` (qu2020 Theorem 1).
    sums : ndarray, shape (n,)
        The row sums :math:`\sum_j C_{ij}`, one per agent.
    agent : int
        An agent attaining the maximum (the first one).
    """

    rho: float
    sums: np.ndarray

    @property
    def agent(self):
        """The first agent :math:`i` whose row sum equals :attr:`rho`."""
        return int(np.argmax(self.sums))

    @property
    def decays(self):
        r"""Whether :math:`\rho < 1`, the hypothesis of qu2020 Theorem 1."""
        return self.rho < 1.0

    def __eq__(self, other):
        if not isinstance(other, InteractionRho):
            return NotImplemented
        return self.rho == other.rho and np.array_equal(self.sums, other.sums)

    __hash__ = None


def interaction_rho(C):
    r"""The decay rate :math:`\rho = \max_i \sum_j C_{ij}` of qu2020 Theorem 1, with the row sums.

    Parameters
    ----------
    C : array_like, shape (n, n)
        An interaction matrix, e.g. from :func:`interaction_matrix`.

    Returns
    -------
    InteractionRho
        ``rho`` (the largest row sum, a float) and ``sums`` (ndarray, shape (n,)); the same numbers
        as :func:`row_sums`, bit for bit.

    Raises
    ------
    ValueError
        If ``C`` is not a non-empty square two-dimensional array.

    References
    ----------
    qu2020 Theorem 1: :math:`(c, \rho)` exponential decay with :math:`c = \bar r/(1-\rho)` when
    :math:`\rho < 1`.

    Examples
    --------
    >>> import numpy as np
    >>> from netmarl_verify.solvers.exact import interaction_rho
    >>> res = interaction_rho(np.array([[0.25, 0.5], [0.125, 0.0]]))
    >>> res.rho, res.sums.tolist(), res.agent, res.decays
    (0.75, [0.75, 0.125], 0, True)
    """
    C = np.asarray(C)
    if C.ndim != 2 or C.shape[0] != C.shape[1] or C.shape[0] == 0:
        raise ValueError(f"C must be a non-empty square (n, n) interaction matrix, got shape {C.shape}")
    rho, sums = _sums(C)
    return InteractionRho(rho, sums)


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
