r"""Agents on a graph: the structure every networked environment shares.

:class:`AgentGraph` is a mixin for environments whose agents are the nodes ``0..n-1`` of an
undirected :class:`networkx.Graph` (qu2020 §2.1; ying2023 §2). It provides, once for all of
them:

* the closed neighbourhoods :math:`N_i = \{i\} \cup \mathrm{neighbours}(i)`, **sorted
  ascending** (so ``i`` is not necessarily first), and the κ-hop neighbourhoods
  :math:`N_i^\kappa` (:meth:`AgentGraph.kappa_hop`) from the graph distances;
* the mixed-radix enumeration of global states and joint actions: ``s = (s_0, ..., s_{n-1})``
  has index ``np.ravel_multi_index(s, state_sizes)`` (C order, **agent 0 is the most
  significant digit**), joint actions likewise with ``action_sizes``;
* the validation of an agent index (:meth:`AgentGraph.check_agent`) and of arrays of local
  indices (:meth:`AgentGraph.check_pairs`, through :func:`~envs._validation.check_local_indices`),
  with the same messages everywhere.

A subclass calls :meth:`AgentGraph._set_graph` in its ``__init__`` and sets ``state_sizes`` and
``action_sizes``. :func:`closed_neighbourhood` is the same rule for generators that have a graph
but no environment yet.
"""

import math

import networkx as nx
import numpy as np

from ._validation import ShapeError, check_local_indices, fmt_number

__all__ = ["AgentGraph", "check_graph", "closed_neighbourhood"]


def check_graph(graph):
    """Validate an interaction graph: an undirected networkx graph on the nodes ``0..n-1``.

    Used by :class:`~envs.NetworkedMDP` and by every instance generator before it reads the
    graph, so that they all give the same message. Returns ``n``.
    """
    if not isinstance(graph, nx.Graph):
        raise TypeError(f"graph must be a networkx.Graph, got {type(graph).__name__}")
    if graph.is_directed():
        raise ValueError("graph must be undirected (qu2020 §2.1 uses an undirected graph G = (N, E))")
    n = graph.number_of_nodes()
    if n == 0:
        raise ValueError("graph has no nodes; a networked MDP needs at least one agent")
    nodes = list(graph.nodes)
    if (not all(isinstance(v, (int, np.integer)) and not isinstance(v, (bool, np.bool_)) for v in nodes)
            or set(nodes) != set(range(n))):
        raise ValueError(
            f"graph nodes must be exactly the integers 0..{n - 1}; got {sorted(graph.nodes, key=str)[:10]}"
            " (use networkx.convert_node_labels_to_integers)"
        )
    return n


def closed_neighbourhood(graph, i):
    r""":math:`N_i = \{i\} \cup \mathrm{neighbours}(i)` as a sorted tuple of Python ints.

    A self-loop adds nothing (``i`` is in :math:`N_i` anyway).

    >>> import networkx as nx
    >>> closed_neighbourhood(nx.path_graph(4), 2)
    (1, 2, 3)
    """
    return tuple(sorted({int(i)} | {int(j) for j in graph.neighbors(i)}))


class AgentGraph:
    r"""Mixin: agents ``0..n-1`` on an undirected graph, their neighbourhoods and enumeration.

    A subclass calls :meth:`_set_graph` in its ``__init__`` and sets ``state_sizes`` and
    ``action_sizes`` (tuples of ``n`` ints).

    Attributes
    ----------
    graph : networkx.Graph
    n : int
    neighbourhoods : tuple of tuple of int
        :math:`N_i` sorted ascending, including ``i`` (:func:`closed_neighbourhood`).

    Examples
    --------
    >>> import networkx as nx
    >>> from netmarl_verify.envs import AgentGraph
    >>> class Ring(AgentGraph):
    ...     def __init__(self, n):
    ...         self._set_graph(nx.cycle_graph(n))
    ...         self.state_sizes, self.action_sizes = (2,) * n, (1,) * n
    >>> ring = Ring(6)
    >>> ring.neighbourhoods[0], ring.kappa_hop(0, 2)
    ((0, 1, 5), (0, 1, 2, 4, 5))
    >>> ring.state_index([[0, 0, 0, 0, 0, 1], [1, 0, 0, 0, 0, 0]])   # agent 0 most significant
    array([ 1, 32])
    """

    def _set_graph(self, graph, communication_graph=None):
        """Store ``graph`` (not copied) and derive ``n`` and ``neighbourhoods`` from it.

        ``communication_graph`` (ying2023 §2), when given, is the graph whose distances define
        :attr:`distances` and :meth:`kappa_hop`; ``graph`` then only says which agents' states and
        actions each kernel reads (:attr:`neighbourhoods`). Default: one graph for both (qu2020).
        """
        self.graph = graph
        self.n = graph.number_of_nodes()
        self.neighbourhoods = tuple(closed_neighbourhood(graph, i) for i in range(self.n))
        if communication_graph is not None:
            if check_graph(communication_graph) != self.n:
                raise ValueError(f"communication_graph has {communication_graph.number_of_nodes()} nodes but the "
                                 f"interaction graph has {self.n}")
            communication_graph = nx.Graph(communication_graph)
            communication_graph.remove_edges_from(list(nx.selfloop_edges(communication_graph)))
        self.communication_graph = communication_graph if communication_graph is not None else graph
        self._dist = None

    # ------------------------------------------------------------------ agents and hops
    def check_agent(self, agent, name="agent"):
        """Validate an agent index: an integer in ``0..n-1``; returns it as a Python int.

        ``name`` is the argument's name in the message (``"agent must be an integer in 0..4,
        got 5"``).
        """
        if not isinstance(agent, (int, np.integer)) or not 0 <= agent < self.n:
            raise ValueError(f"{name} must be an integer in 0..{self.n - 1}, got {fmt_number(agent)}")
        return int(agent)

    _check_agent = check_agent  # the old private name, still called by the solvers

    @property
    def distances(self):
        """``n x n`` integer array of distances in :attr:`communication_graph` (``-1``: disconnected)."""
        if self._dist is None:
            D = np.full((self.n, self.n), -1, dtype=np.int64)
            for i, lengths in nx.all_pairs_shortest_path_length(self.communication_graph):
                for j, d in lengths.items():
                    D[i, j] = d
            self._dist = D
        return self._dist

    def kappa_hop(self, agent, kappa):
        r"""The κ-hop neighbourhood :math:`N_i^\kappa` (:attr:`distances` <= κ, including ``i``), sorted.

        ``kappa = 0`` gives ``(i,)`` and ``kappa = 1`` gives :attr:`neighbourhoods` ``[i]``
        (qu2020 §2.1).
        """
        agent = self.check_agent(agent)
        kappa = int(kappa)
        if kappa < 0:
            raise ValueError(f"kappa must be >= 0, got {kappa}")
        d = self.distances[agent]
        return tuple(int(j) for j in np.flatnonzero((d >= 0) & (d <= kappa)))

    # ------------------------------------------------------------------ local indices
    def _check_local(self, x, sizes, what):
        """Local indices of shape (m, n) (or (n,)) within ``sizes``, as int64 (:func:`check_local_indices`)."""
        return check_local_indices(x, sizes, what)

    def check_pairs(self, states, actions=None):
        """Validate integer arrays of local indices, shape (m, n); return them as int64."""
        states = self._check_local(states, self.state_sizes, "states")
        if actions is None:
            return states
        actions = self._check_local(actions, self.action_sizes, "actions")
        if actions.shape != states.shape:
            raise ShapeError(f"states and actions must have the same shape, got {states.shape} and {actions.shape}")
        return states, actions

    # ------------------------------------------------------------------ global enumeration
    def state_index(self, states):
        """Global state indices of local state tuples (agent 0 most significant)."""
        states = self.check_pairs(states)
        return np.ravel_multi_index(tuple(states.T), self.state_sizes)

    def action_index(self, actions):
        """Global joint-action indices of local action tuples (agent 0 most significant)."""
        actions = self._check_local(actions, self.action_sizes, "actions")
        return np.ravel_multi_index(tuple(actions.T), self.action_sizes)

    def state_tuples(self, index=None):
        """Local state tuples, shape (m, n), of global indices (all states if ``index`` is None)."""
        if index is None:
            index = np.arange(math.prod(self.state_sizes))
        return np.stack(np.unravel_index(np.asarray(index, dtype=np.int64), self.state_sizes), axis=-1)

    def action_tuples(self, index=None):
        """Local action tuples, shape (m, n), of joint-action indices (all if ``index`` is None)."""
        if index is None:
            index = np.arange(math.prod(self.action_sizes))
        return np.stack(np.unravel_index(np.asarray(index, dtype=np.int64), self.action_sizes), axis=-1)
