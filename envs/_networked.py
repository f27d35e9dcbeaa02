r"""Networked MDP: agents on a graph with local, neighbour-dependent kernels.

Model (qu2020 §2.1, eq. (1); ying2023 §2). Agents are the nodes ``0..n-1`` of an undirected
:class:`networkx.Graph`. Agent ``i`` has a finite local state space of size ``S[i]`` and action
space of size ``A[i]``. Its closed neighbourhood is :math:`N_i = \{i\} \cup
\mathrm{neighbours}(i)`, **sorted ascending** (so ``i`` is not necessarily first). Given the global
state :math:`s` and action :math:`a`, the next local states are drawn independently,

.. math:: P(s' \mid s, a) = \prod_{i=1}^n P_i(s_i' \mid s_{N_i}, a_i)              \qquad (1)

(``transition_form="local"``), or, with ``transition_form="neighbourhood"``,
:math:`P_i(s_i' \mid s_{N_i}, a_{N_i})` (ying2023 §2; the wireless network of qu2020 App. E).

Rewards are :math:`r_i(s_i, a_i)` (``reward_form="local"``) or the expected reward
:math:`r_i(s_{N_i}, a_{N_i})` (``reward_form="neighbourhood"``); the global reward is their average
:math:`r(s,a) = \frac1n \sum_i r_i`.

Array layouts
-------------
``transitions[i]``
    ``"local"``: shape ``tuple(S[j] for j in N_i) + (A[i], S[i])``.
    ``"neighbourhood"``: shape ``tuple(S[j] for j in N_i) + tuple(A[j] for j in N_i) + (S[i],)``.
    The last axis is :math:`s_i'` and must be a probability distribution.
``rewards[i]``
    ``"local"``: shape ``(S[i], A[i])``.
    ``"neighbourhood"``: shape ``tuple(S[j] for j in N_i) + tuple(A[j] for j in N_i)``.

Global enumeration
------------------
A global state ``s = (s_0, ..., s_{n-1})`` has index ``np.ravel_multi_index(s, S)`` (C order:
**agent 0 is the most significant digit**); joint actions likewise with ``A``. Every function in
this package uses this convention.
"""

import math

import networkx as nx
import numpy as np

from ._graph import AgentGraph, check_graph
from ._memory import check_memory, format_bytes
from ._random import as_generator
from ._validation import (
    ShapeError,
    as_float_array,
    check_distribution_rows,
    check_finite,
    check_shape,
    consistent_size,
)

__all__ = ["NetworkedMDP", "TRANSITION_FORMS", "REWARD_FORMS", "check_graph"]

TRANSITION_FORMS = ("local", "neighbourhood")
REWARD_FORMS = ("local", "neighbourhood")


class NetworkedMDP(AgentGraph):
    r"""A networked MDP with factored local kernels (qu2020 eq. (1)).

    Parameters
    ----------
    graph : networkx.Graph
        Undirected interaction graph whose nodes are exactly the integers ``0..n-1``.
        Self-loops are ignored.
    transitions : sequence of ndarray
        ``transitions[i]`` is :math:`P_i`; layout depends on ``transition_form`` (module docstring).
    rewards : sequence of ndarray
        ``rewards[i]`` is :math:`r_i`; layout depends on ``reward_form``.
    transition_form : {"local", "neighbourhood"}
        Keyword-only and explicit: ``"local"`` means :math:`P_i(s_i'|s_{N_i}, a_i)`,
        ``"neighbourhood"`` means :math:`P_i(s_i'|s_{N_i}, a_{N_i})`. Never guessed from shapes.
    reward_form : {"local", "neighbourhood"}
        ``"local"``: :math:`r_i(s_i, a_i)`; ``"neighbourhood"``: :math:`r_i(s_{N_i}, a_{N_i})`.
    row_atol : float
        Tolerance on rows of :math:`P_i` summing to one (default 1e-12).
    communication_graph : networkx.Graph, optional
        ying2023 §2 separates the graph :math:`G` whose distances :math:`d(i, j)` define the
        κ-hop neighbourhoods (of the policies, the truncation and the decay) from the agents a
        kernel reads: there :math:`P_i` may depend on the global :math:`(s, a)`, limited only by
        Assumption 1. Pass :math:`G` here and the kernels' dependency graph as ``graph`` (e.g.
        the complete graph for :func:`~envs.mixture_networked_mdp`); :attr:`distances` and
        :meth:`kappa_hop` then come from :math:`G`. Default: ``graph`` itself (qu2020).

    Attributes
    ----------
    n : int
        Number of agents.
    graph : networkx.Graph
        A copy of the interaction graph.
    state_sizes, action_sizes : tuple of int
        ``S[i]``, ``A[i]``.
    neighbourhoods : tuple of tuple of int
        ``N_i`` sorted ascending, including ``i``.
    n_states, n_actions : int
        :math:`|S| = \prod_i S_i` and :math:`|A| = \prod_i A_i` (Python ints, may be huge).

    The graph structure (:meth:`kappa_hop`, :attr:`distances`, :meth:`check_agent`,
    :meth:`check_pairs`, :meth:`state_index`, :meth:`state_tuples`, ...) comes from
    :class:`~envs.AgentGraph`, shared with :class:`~envs.WirelessNetwork`.

    Raises
    ------
    ShapeError, NonFiniteError, NegativeProbabilityError, RowSumError
        With the agent and the offending index in the message.

    References
    ----------
    qu2020 §2.1, eq. (1)-(3); ying2023 §2.

    Examples
    --------
    >>> import networkx as nx, numpy as np
    >>> from netmarl_verify.envs import NetworkedMDP
    >>> g = nx.path_graph(2)
    >>> P = [np.full((2, 2, 1, 2), 0.5), np.full((2, 2, 1, 2), 0.5)]
    >>> r = [np.zeros((2, 1)), np.ones((2, 1))]
    >>> mdp = NetworkedMDP(g, P, r, transition_form="local", reward_form="local")
    >>> mdp.n, mdp.n_states, mdp.neighbourhoods
    (2, 4, ((0, 1), (0, 1)))
    """

    def __init__(self, graph, transitions, rewards, *, transition_form, reward_form, row_atol=1e-12,
                 communication_graph=None):
        if transition_form not in TRANSITION_FORMS:
            raise ValueError(f"transition_form must be one of {TRANSITION_FORMS}, got {transition_form!r}")
        if reward_form not in REWARD_FORMS:
            raise ValueError(f"reward_form must be one of {REWARD_FORMS}, got {reward_form!r}")
        n = check_graph(graph)
        transitions = list(transitions)
        rewards = list(rewards)
        if len(transitions) != n:
            raise ShapeError(f"transitions must have one array per agent ({n}), got {len(transitions)}")
        if len(rewards) != n:
            raise ShapeError(f"rewards must have one array per agent ({n}), got {len(rewards)}")

        own = nx.Graph(graph)
        own.remove_edges_from(list(nx.selfloop_edges(own)))
        self._set_graph(own, communication_graph)  # n, graph, neighbourhoods, distances (envs._graph.AgentGraph)
        self.transition_form = transition_form
        self.reward_form = reward_form

        P = [as_float_array(t, f"transitions[{i}]") for i, t in enumerate(transitions)]
        R = [as_float_array(r, f"rewards[{i}]") for i, r in enumerate(rewards)]

        # Sizes: every axis that carries s_j or a_j is an observation of S[j] or A[j]. They must
        # agree; a minority is reported below by check_shape, a tie names every array involved.
        obs_S = [[] for _ in range(n)]
        obs_A = [[] for _ in range(n)]
        for i in range(n):
            Ni = self.neighbourhoods[i]
            name = f"transitions[{i}] (agent {i})"
            if P[i].ndim == 0:
                raise ShapeError(f"transitions[{i}] (agent {i}) is a scalar")
            if transition_form == "local":
                expected_ndim = len(Ni) + 2
                if P[i].ndim != expected_ndim:
                    raise ShapeError(
                        f"transitions[{i}] (agent {i}, transition_form='local') must have "
                        f"{expected_ndim} axes (states of N_{i}={Ni}, then a_{i}, then s_{i}'), "
                        f"got shape {P[i].shape}"
                    )
                obs_A[i].append((name, len(Ni), f"a_{i}", P[i].shape[len(Ni)]))
            else:
                expected_ndim = 2 * len(Ni) + 1
                if P[i].ndim != expected_ndim:
                    raise ShapeError(
                        f"transitions[{i}] (agent {i}, transition_form='neighbourhood') must have "
                        f"{expected_ndim} axes (states of N_{i}={Ni}, actions of N_{i}, then s_{i}'), "
                        f"got shape {P[i].shape}"
                    )
                for q, j in enumerate(Ni):
                    obs_A[j].append((name, len(Ni) + q, f"a_{j}", P[i].shape[len(Ni) + q]))
            for q, j in enumerate(Ni):
                obs_S[j].append((name, q, f"s_{j}", P[i].shape[q]))
            obs_S[i].append((name, P[i].ndim - 1, f"s_{i}'", P[i].shape[-1]))
            rname = f"rewards[{i}] (agent {i})"
            if reward_form == "local":
                if R[i].ndim == 2:
                    obs_S[i].append((rname, 0, f"s_{i}", R[i].shape[0]))
                    obs_A[i].append((rname, 1, f"a_{i}", R[i].shape[1]))
            elif R[i].ndim == 2 * len(Ni):
                for q, j in enumerate(Ni):
                    obs_S[j].append((rname, q, f"s_{j}", R[i].shape[q]))
                    obs_A[j].append((rname, len(Ni) + q, f"a_{j}", R[i].shape[len(Ni) + q]))
        S = [consistent_size(obs_S[i], f"number of states of agent {i}") for i in range(n)]
        A = [consistent_size(obs_A[i], f"number of actions of agent {i}") for i in range(n)]
        for i in range(n):
            if S[i] < 1 or A[i] < 1:
                raise ShapeError(f"agent {i} has {S[i]} states and {A[i]} actions; both must be >= 1")
        self.state_sizes = tuple(int(x) for x in S)
        self.action_sizes = tuple(int(x) for x in A)

        for i in range(n):
            Ni = self.neighbourhoods[i]
            s_axes = tuple(self.state_sizes[j] for j in Ni)
            s_names = [f"s_{j}" for j in Ni]
            if transition_form == "local":
                shape = s_axes + (self.action_sizes[i], self.state_sizes[i])
                names = s_names + [f"a_{i}", f"s_{i}'"]
            else:
                shape = s_axes + tuple(self.action_sizes[j] for j in Ni) + (self.state_sizes[i],)
                names = s_names + [f"a_{j}" for j in Ni] + [f"s_{i}'"]
            check_shape(P[i], shape, f"transitions[{i}] (agent {i})", names)
            check_distribution_rows(P[i], f"transitions[{i}] (agent {i}, axes {names})", atol=row_atol)

            if reward_form == "local":
                rshape = (self.state_sizes[i], self.action_sizes[i])
                rnames = [f"s_{i}", f"a_{i}"]
            else:
                rshape = s_axes + tuple(self.action_sizes[j] for j in Ni)
                rnames = s_names + [f"a_{j}" for j in Ni]
            check_shape(R[i], rshape, f"rewards[{i}] (agent {i})", rnames)
            check_finite(R[i], f"rewards[{i}] (agent {i})")

        for arr in P + R:
            arr.setflags(write=False)
        self.transitions = tuple(P)
        self.rewards = tuple(R)
        self.n_states = math.prod(self.state_sizes)
        self.n_actions = math.prod(self.action_sizes)
        self._stacked_cache = {}

    # ------------------------------------------------------------------ structure
    def __repr__(self):
        return (
            f"NetworkedMDP(n={self.n}, edges={self.graph.number_of_edges()}, S={self.state_sizes}, "
            f"A={self.action_sizes}, transition_form={self.transition_form!r}, "
            f"reward_form={self.reward_form!r})"
        )

    # ------------------------------------------------------------------ rewards
    def with_rewards(self, rewards, *, reward_form="local"):
        r"""The same kernels and graphs with other local rewards (e.g. ying2023's shadow rewards).

        Parameters
        ----------
        rewards : sequence of ndarray
            ``rewards[i]`` in the layout of ``reward_form`` (class docstring).
        reward_form : {"local", "neighbourhood"}

        Returns
        -------
        NetworkedMDP
            A new model (validated); the kernels are shared, not copied.
        """
        return NetworkedMDP(self.graph, self.transitions, rewards, transition_form=self.transition_form,
                            reward_form=reward_form,
                            communication_graph=None if self.communication_graph is self.graph
                            else self.communication_graph)

    @property
    def reward_bound(self):
        r""":math:`\bar r = \max_i \max |r_i|` (the reward bound of qu2020 Thm 1)."""
        return float(max(np.abs(r).max() for r in self.rewards))

    def local_rewards(self, states, actions):
        """Local rewards :math:`r_i` at a batch of global state-action pairs.

        Parameters
        ----------
        states, actions : int array, shape (m, n)
            Local indices.

        Returns
        -------
        ndarray, shape (m, n)
        """
        states, actions = self.check_pairs(states, actions)
        return self._local_rewards(np.concatenate((states.T, actions.T)))

    def _local_rewards(self, saT):
        rewards = self._stacked("rewards")
        return np.ascontiguousarray(rewards.table[rewards.rows(saT)].T)

    # ------------------------------------------------------------------ simulation
    def step(self, states, actions, rng):
        """Sample next global states for a batch, vectorized over the batch.

        Parameters
        ----------
        states, actions : int array, shape (B, n) (or (n,) for one copy)
        rng : int, numpy.random.Generator or None
            See :func:`~envs.as_generator`.

        Returns
        -------
        next_states : int64 array, shape (B, n)
        rewards : float array, shape (B, n)
            Local rewards :math:`r_i(z)` at the *current* pair.
        """
        states, actions = self.check_pairs(states, actions)
        u = as_generator(rng).random(states.shape)
        saT = np.concatenate((states.T, actions.T))  # (2n, B): row gathers are contiguous copies
        kernels = self._stacked("transitions")
        rows = kernels.rows(saT)  # (n, B)
        # inverse CDF: s_i' = #{k < S_i - 1 : u > F_i(k)} (the columns k >= S_i - 1 are +inf, so
        # a last cumulative entry of 1 - 1e-16 can never push s_i' out of range)
        nxt = np.zeros(rows.shape, dtype=np.int64)
        for cdf_k in kernels.table:
            nxt += u.T > cdf_k[rows]
        return np.ascontiguousarray(nxt.T), self._local_rewards(saT)

    def _stacked(self, which):
        """All agents' kernels (cumulative) or rewards stacked in one table, built once, lazily.

        Lets :meth:`step` and :meth:`local_rewards` gather every agent's row with one fancy
        index instead of a Python loop over agents.
        """
        if which not in self._stacked_cache:
            if which == "transitions":
                form, arrays = self.transition_form, self.transitions
            else:
                form, arrays = self.reward_form, self.rewards
            cols = []
            for i in range(self.n):
                Ni = list(self.neighbourhoods[i])
                if form == "local":
                    cols.append(([i] if which == "rewards" else Ni) + [self.n + i])
                else:
                    cols.append(Ni + [self.n + j for j in Ni])
            self._stacked_cache[which] = _StackedTables(arrays, cols, cumulative=which == "transitions")
        return self._stacked_cache[which]

    # ------------------------------------------------------------------ compilation
    def to_tabular(self, max_bytes=None):
        """Compile to a :class:`~envs.TabularMDP` with the **joint** action table.

        ``P[s, a, s']`` has ``|S| * |A| * |S|`` entries, ``R[s, a] = (1/n) sum_i r_i``. The memory
        is estimated first and a :class:`~envs.MemoryBudgetError` raised if it won't fit; use the
        factored solvers in :mod:`netmarl_verify.solvers.exact` instead for anything but small instances.
        """
        from ._tabular import TabularMDP

        nS, nA = self.n_states, self.n_actions
        check_memory(
            8.0 * nS * nA * (nS + 1) * 2,
            f"the joint tabular model ({nS} states x {nA} joint actions x {nS} next states)",
            max_bytes=max_bytes,
            hint="the exact solvers work from the local factors and never need this table",
        )
        S = self.state_tuples()
        Acts = self.action_tuples()
        P = np.empty((nS, nA, nS))
        R = np.empty((nS, nA))
        for k in range(nA):
            acts = np.broadcast_to(Acts[k], S.shape)
            rows = np.ones((nS, 1))
            for i in range(self.n):
                Ni = list(self.neighbourhoods[i])
                if self.transition_form == "local":
                    idx = tuple(S[:, j] for j in Ni) + (acts[:, i],)
                else:
                    idx = tuple(S[:, j] for j in Ni) + tuple(acts[:, j] for j in Ni)
                f = self.transitions[i][idx]
                rows = (rows[:, :, None] * f[:, None, :]).reshape(nS, -1)
            P[:, k, :] = rows
            R[:, k] = self.local_rewards(S, acts).mean(axis=1)
        return TabularMDP(P, R)

    def local_reward_table(self, agent):
        """Agent ``agent``'s reward on the joint tabular space, ``R_i[s, a]`` (small instances only)."""
        agent = self.check_agent(agent)
        nS, nA = self.n_states, self.n_actions
        check_memory(8.0 * nS * nA * 3, f"a {nS} x {nA} reward table")
        S = self.state_tuples()
        Acts = self.action_tuples()
        out = np.empty((nS, nA))
        for k in range(nA):
            out[:, k] = self.local_rewards(S, np.broadcast_to(Acts[k], S.shape))[:, agent]
        return out

    def describe_size(self):
        """One-line summary of the global sizes, e.g. for error messages."""
        return (
            f"{self.n} agents, {self.n_states} global states, {self.n_actions} joint actions "
            f"(dense P_pi would take {format_bytes(8.0 * self.n_states**2)})"
        )


class _StackedTables:
    """Per-agent arrays indexed by entries of ``[states | actions]``, stacked in one flat table.

    Agent ``i``'s array has one axis per index in ``cols[i]`` (columns of the global pair:
    ``j`` is agent j's state, ``n + j`` its action), plus the next-state axis when
    ``cumulative`` (transition kernels). ``rows(saT)`` gives for a batch ``saT`` of shape
    (2n, B) the (n, B) row of every agent with a loop over the (at most 2 max-degree + 2)
    index slots, never over agents or the batch.

    ``table`` is the stacked flat rewards, or for kernels the cumulative sums without their
    last column, stored one column per row ``table[k][row] = F_i(k)`` (+inf for ``k >= S_i - 1``).
    """

    def __init__(self, arrays, cols, cumulative):
        n = len(arrays)
        trailing = 1 if cumulative else 0
        width = max(len(c) for c in cols)
        self.cols = np.zeros((width, n), dtype=np.int64)
        self.strides = np.zeros((width, n, 1), dtype=np.int64)
        counts = [math.prod(a.shape[: a.ndim - trailing]) for a in arrays]
        self.offsets = np.cumsum([0] + counts[:-1]).astype(np.int64)[:, None]
        depth = max(a.shape[-1] for a in arrays) - 1 if cumulative else 1
        check_memory(8.0 * sum(counts) * max(depth, 1) * 2,
                     "the stacked simulation tables (one row per agent and neighbourhood configuration)")
        for i, (a, c) in enumerate(zip(arrays, cols)):
            shape = a.shape[: a.ndim - trailing]
            self.cols[: len(c), i] = c
            self.strides[: len(c), i, 0] = [math.prod(shape[k + 1:]) for k in range(len(shape))]
        if cumulative:
            self.table = np.full((depth, sum(counts)), np.inf)
            for i, a in enumerate(arrays):
                cdf = np.cumsum(a.reshape(counts[i], a.shape[-1])[:, :-1], axis=1)
                self.table[: cdf.shape[1], self.offsets[i, 0] : self.offsets[i, 0] + counts[i]] = cdf.T
        else:
            self.table = np.concatenate([a.reshape(-1) for a in arrays]).astype(np.float64)
        self.table.setflags(write=False)

    def rows(self, saT):
        rows = np.repeat(self.offsets, saT.shape[1], axis=1)
        for cols, strides in zip(self.cols, self.strides):
            rows += saT[cols] * strides
        return rows
