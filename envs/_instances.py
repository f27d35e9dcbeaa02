r"""Named instances from qu2020: the k-coloring encoding (App. A.2) and a family with a
tunable interaction strength (so that Theorem 1's condition holds or fails on purpose).
"""

import numpy as np

from ._graph import check_graph, closed_neighbourhood
from ._networked import NetworkedMDP
from ._policy import LocalObservation, check_policy, observed_rows
from ._random import as_generator
from ._validation import ShapeError, as_float_array, check_distribution_rows

__all__ = ["LocalTabularPolicy", "coloring_mdp", "coloring_state", "coupled_networked_mdp"]


class LocalTabularPolicy(LocalObservation):
    r"""Product policy given by probability tables ``probs[i][s_i, a_i]`` (zeros allowed).

    Unlike :class:`~envs.LocalSoftmaxPolicy` it can be deterministic; the exact solvers accept it
    everywhere except :func:`netmarl_verify.solvers.exact.policy_gradient` (which differentiates a softmax).

    With ``observed`` (one sorted tuple :math:`O_i` per agent, containing ``i``), agent ``i``'s
    table has one row per configuration of :math:`s_{O_i}` (``np.ravel_multi_index`` order): a
    κ-hop or global-state policy given by its probabilities (ying2023 §2, Remark 4);
    ``state_sizes`` (``S[k]`` per agent) is then needed by :meth:`action_weights` only.
    """

    def __init__(self, probs, observed=None, state_sizes=None):
        probs = [as_float_array(p, f"probs[{i}]") for i, p in enumerate(probs)]
        for i, p in enumerate(probs):
            if p.ndim != 2:
                raise ShapeError(f"probs[{i}] (agent {i}) must have shape (rows, A[{i}]), got {p.shape}")
            check_distribution_rows(p, f"probs[{i}] (agent {i})", atol=1e-10)
            p.setflags(write=False)
        self._probs = tuple(probs)
        self.n = len(probs)
        self._observed = None
        if observed is not None:
            observed = [tuple(int(k) for k in o) for o in observed]
            if len(observed) != self.n:
                raise ShapeError(f"{self.n} tables but {len(observed)} observation sets")
            for i, o in enumerate(observed):
                if i not in o or any(a >= b for a, b in zip(o, o[1:])) or any(not 0 <= k < self.n for k in o):
                    raise ValueError(f"observed[{i}] = {o} must be distinct agents of 0..{self.n - 1}, sorted "
                                     f"ascending, containing {i}")
            self._observed = tuple(observed)
        self._state_sizes = None if state_sizes is None else tuple(int(x) for x in state_sizes)

    def observed(self, i):
        """:math:`O_i`: ``(i,)`` unless the policy was built with ``observed``."""
        if self._observed is None:
            return LocalObservation.observed(self, i)
        i = int(i)
        if not 0 <= i < self.n:
            raise ValueError(f"agent must be in 0..{self.n - 1}, got {i}")
        return self._observed[i]

    _table_label = "probs"  # check_policy names agent i's table "probs[i]"

    def probabilities(self):
        return list(self._probs)

    # -- the Policy protocol (observed: LocalObservation; not Parametrised: nothing to differentiate)
    def action_weights(self, states):
        """``probs[i][s_{O_i}]`` for states (B, n): a list of (B, A_i) arrays."""
        if self._observed is None:
            return [self._probs[i][states[:, i]] for i in range(self.n)]
        if self._state_sizes is None:
            raise TypeError("a LocalTabularPolicy with observation sets needs state_sizes= for action_weights")
        return [self._probs[i][observed_rows(o, states, self._state_sizes)] for i, o in enumerate(self._observed)]

    def check(self, mdp):
        """:func:`~envs.check_policy` ``(mdp, self)`` (agent count and shapes); return ``self``."""
        check_policy(mdp, self)
        return self


def coloring_state(color, proper):
    """Local state index of ``(u_i, b_i)`` in :func:`coloring_mdp`: ``2 * u + b``."""
    return 2 * int(color) + int(bool(proper))


def coloring_mdp(graph, k):
    r"""The k-coloring encoding of qu2020 App. A.2.

    Local state :math:`s_i = (u_i, b_i) \in U \times \{0, 1\}` with index ``2 * u_i + b_i``
    (``S_i = 2k``); action :math:`a_i \in U` (``A_i = k``). Deterministic transition:
    :math:`u_i(t+1) = a_i(t)`, and :math:`b_i(t+1) = 1` iff :math:`u_i(t) \ne u_j(t)` for every
    neighbour :math:`j`. Reward :math:`r_i(s_i, a_i) = b_i`. Policies that ignore the state
    (identical rows) are the paper's policy class.

    Returns
    -------
    NetworkedMDP
        ``transition_form="local"``, ``reward_form="local"``.
    """
    k = int(k)
    if k < 1:
        raise ValueError(f"k must be >= 1 colours, got {k}")
    n = check_graph(graph)
    P, R = [], []
    for i in range(n):
        Ni = closed_neighbourhood(graph, i)
        m = len(Ni)
        T = np.zeros((2 * k,) * m + (k, 2 * k))
        for idx in np.ndindex(*((2 * k,) * m)):
            colors = [x // 2 for x in idx]
            ui = colors[Ni.index(i)]
            proper = all(colors[q] != ui for q, j in enumerate(Ni) if j != i)
            for a in range(k):
                T[idx + (a, coloring_state(a, proper))] = 1.0
        P.append(T)
        R.append(np.repeat((np.arange(2 * k) % 2).astype(float)[:, None], k, axis=1))
    return NetworkedMDP(graph, P, R, transition_form="local", reward_form="local")


def coupled_networked_mdp(graph, strength, state_size=2, action_size=2, rng=None):
    r"""Random instance with a tunable interaction strength.

    :math:`P_i(\cdot|s_{N_i}, a_i) = (1-\epsilon)\,b_i(\cdot) + \epsilon\,K_i(\cdot|s_{N_i}, a_i)` with
    :math:`b_i` a fixed random distribution and :math:`K_i` a uniform random kernel, so every
    :math:`C_{ij} = \epsilon\,C^K_{ij} \le \epsilon` and Theorem 1's row sums scale linearly in
    ``strength``; rewards uniform in [0, 1].

    Parameters
    ----------
    graph : networkx.Graph
    strength : float in [0, 1]
    rng : int, numpy.random.Generator or None
        See :func:`~envs.as_generator`.
    """
    strength = float(strength)
    if not 0.0 <= strength <= 1.0:
        raise ValueError(f"strength must be in [0, 1], got {strength}")
    n = check_graph(graph)
    rng = as_generator(rng)
    S, A = int(state_size), int(action_size)
    P, R = [], []
    for i in range(n):
        Ni = closed_neighbourhood(graph, i)
        base = rng.uniform(size=S)
        base /= base.sum()
        K = rng.uniform(size=(S,) * len(Ni) + (A, S))
        K /= K.sum(axis=-1, keepdims=True)
        T = (1.0 - strength) * base + strength * K
        T /= T.sum(axis=-1, keepdims=True)
        P.append(T)
        R.append(rng.uniform(size=(S, A)))
    return NetworkedMDP(graph, P, R, transition_form="local", reward_form="local")


def copy_chain_mdp(n, rho, rbar=1.0, signed=False, action_size=1):
    r"""A line on which qu2020 Theorem 1's TV bound is attained exactly.

    Binary local states on the path ``0 - 1 - ... - n-1``. Agent ``i < n-1`` copies the state of
    its right neighbour with probability :math:`\rho` and otherwise draws a uniform state; the
    last agent keeps its own state with probability :math:`\rho`, otherwise uniform. Actions
    have no effect. Then :math:`C_{i,i+1} = \rho` (``i < n-1``), :math:`C_{n-1,n-1} = \rho` and
    every other entry is 0, so :math:`\max_i\sum_j C_{ij} = \rho`; two initial states that differ
    on every agent outside :math:`N_0^\kappa` give :math:`TV(\pi_{t,0}, \tilde\pi_{t,0}) = \rho^t`
    for :math:`t > \kappa` — Lemma 3 with equality.

    Agent 0's reward is :math:`\bar r\, s_0 \in \{0, \bar r\}` (``signed=False``) or
    :math:`\bar r(2 s_0 - 1) \in \{-\bar r, \bar r\}` (``signed=True``); other agents get 0.
    Both satisfy :math:`|r_i| \le \bar r`, Theorem 1's hypothesis.

    Returns
    -------
    NetworkedMDP
    """
    import networkx as nx

    n = int(n)
    if n < 2:
        raise ValueError(f"copy_chain_mdp needs n >= 2 agents, got {n}")
    rho = float(rho)
    if not 0.0 <= rho <= 1.0:
        raise ValueError(f"rho must be in [0, 1], got {rho}")
    A = int(action_size)
    graph = nx.path_graph(n)
    P, R = [], []
    for i in range(n):
        Ni = closed_neighbourhood(graph, i)
        source = i + 1 if i < n - 1 else i
        T = np.empty((2,) * len(Ni) + (A, 2))
        for idx in np.ndindex(*((2,) * len(Ni))):
            x = idx[Ni.index(source)]
            row = np.full(2, (1.0 - rho) / 2)
            row[x] += rho
            T[idx] = row
        P.append(T)
        if i == 0:
            r = rbar * (2.0 * np.arange(2) - 1.0) if signed else rbar * np.arange(2, dtype=float)
            R.append(np.repeat(r[:, None], A, axis=1))
        else:
            R.append(np.zeros((2, A)))
    return NetworkedMDP(graph, P, R, transition_form="local", reward_form="local")
