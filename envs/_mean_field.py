r"""Mean-field agents on a network of states (gu2021 §2-3) and their exact lifting to teams.

The model (gu2021 §2)
---------------------
:math:`N` homogeneous agents move on the nodes of an undirected graph :math:`(\mathcal S,\mathcal E)`
of *states* (networkx, nodes ``0..|S|-1``); :math:`\mathcal N_s` is the closed 1-hop
neighbourhood (sorted, contains ``s``), :math:`\mathcal N_s^k` the states within distance ``k``.
With :math:`\mu_t` the empirical distribution of the agents (an element of :math:`\mathcal P^N(\mathcal S)`),
agent ``i`` at state ``s`` receives :math:`r(s,\mu_t(\mathcal N_s),a)` (eq. (1)) and moves to
:math:`s'\sim\mathbf P(\cdot\mid s,\mu_t(\mathcal N_s),a)` supported on :math:`\mathcal N_s` (eq. (2)),
independently of the others given :math:`\mu_t`; it acts by :math:`a\sim\pi(s,\mu_t(s))` (eq. (3)).

The model reads the kernel and the reward through callables of the **local counts**
``kernel(s, counts, a)`` / ``reward(s, counts, a)``, ``counts`` the tuple
:math:`(N\mu(y))_{y\in\mathcal N_s}` in the sorted order of :attr:`MeanFieldNetwork.neighbourhoods`,
so locality (eq. (1)-(2)) holds by construction; ``kernel`` returns the law of the next state
over :math:`\mathcal N_s` (same order). Both are tabulated once over every reachable
``(mu, s, a)`` (:meth:`MeanFieldNetwork.kernel_table`, :meth:`MeanFieldNetwork.reward_table`) and
validated there (non-negative, rows sum to 1 within 1e-12, finite), naming the culprit.

Enumeration (one order, used everywhere)
----------------------------------------
* :func:`compositions` ``(total, parts)``: the vectors of ``parts`` non-negative integers summing
  to ``total`` in **lexicographic order** (``(0, .., 0, total)`` first, ``(total, 0, .., 0)`` last);
  :func:`composition_rank` is the position of a vector in that list, computed in the
  combinatorial number system (:math:`\binom{m+k-1}{k-1}` compositions of ``m`` into ``k`` parts),
  so rank/unrank never search.
* :math:`\mathcal P^N(\mathcal S)`: ``mu`` index = ``composition_rank(N mu, N)`` (counts per state).
* :math:`\mathcal H^N(\mu)` (joint types): the type of team ``s`` is a composition of
  :math:`N\mu(s)` into :math:`|\mathcal A|` parts (its own lexicographic rank; an empty team has the
  single dummy type ``0``); the joint type index is the mixed-radix number of the per-team ranks,
  **state 0 the most significant digit**.
* :math:`\Xi` (pairs :math:`\xi=(\mu,h)`): sorted by ``(mu index, joint type index)``; every pair is
  also the count matrix :math:`n_{s,a}=N\mu(s)h(s)(a)` (:attr:`LiftedMDP.counts`), whose
  lexicographic rank as a composition of :math:`N` into :math:`|\mathcal S||\mathcal A|` parts is
  :meth:`LiftedMDP.count_rank` (a second, independent order; :meth:`LiftedMDP.xi_of_counts` maps back).

The lifted MDP (gu2021 eq. (5)-(8)) as a TabularMDP
---------------------------------------------------
:class:`LiftedMDP` is the team process on :math:`(\mu, h)` compiled to the package's currency
:class:`~netmarl_verify.envs.TabularMDP`: **state = μ, action = the joint type h** (its index in
:math:`\mathcal H^N(\mu)`). The action set is padded to :math:`\max_\mu|\mathcal H^N(\mu)|`; a padded
action duplicates action 0 of its state (same row, same reward), so optimal values are unchanged,
and team policies give it probability 0. The kernel (6) is exact: the next-μ law of ``xi`` is the
convolution over the pairs ``(s, a)`` with :math:`n_{s,a}>0` of
:math:`\mathrm{Mult}(n_{s,a},\mathbf P(\cdot\mid s,\mu(\mathcal N_s),a))` (each on :math:`\mathcal N_s`),
stored once as ``T[xi, mu']`` (policy free).

Team rewards (eq. (7), guide §3). ``team_reward="weighted"`` (the **default**, the reading the
proof of Lemma 3.1 needs from (28) on): :math:`r_s=\mu(s)\sum_ar(s,\mu(\mathcal N_s),a)h(s)(a)=\frac1N\sum_an_{s,a}r(s,\cdot,a)`,
so :math:`\sum_sr_s` is the agent average of (4). ``"printed"``: (7) as printed,
:math:`r_s=\sum_ar(s,\mu(\mathcal N_s),a)h(s)(a)` (0 for an empty team).

Team policies. :meth:`LiftedMDP.multinomial_policy` is (5) from an individual policy
``pi[s, c, a]`` :math:`=\pi(s, c/N)(a)`; :meth:`LiftedMDP.energy_policy` is (14) (the softmax over
the types of each team of :math:`\tau f(\zeta_s;\theta_s)`, :math:`f` the two-layer ReLU of (13) with
output weights ``b``, input :math:`\zeta_s=\lambda(\mu(s),h(s))`, ``input_scale`` λ, default
:math:`1/\sqrt2` (guide §3); an empty team has one dummy type with :math:`\zeta_s = 0`). Both return
:math:`\Pi(h\mid\mu)` over Ξ; :meth:`LiftedMDP.policy_table` turns it into ``pi[mu, action]``.

The N-agent system
------------------
:func:`product_mdp` is the original system with every agent explicit (joint state
:math:`\mathbf s\in\mathcal S^N`, agent 0 the most significant digit; joint action likewise), its
reward the agent average (4); :func:`product_policy_table` the independent execution of π and
:func:`correlated_policy_table` that of a general team policy Π (guide §1.4: draw
:math:`h(s)\sim\Pi_s`, assign the actions to the agents at ``s`` by a uniformly random permutation,
i.e. :math:`\Pr(\mathbf a\mid\mathbf s)=\Pi(h(\mathbf s,\mathbf a)\mid\mu)/\prod_s\binom{n_s}{n_{s,\cdot}}`).
:func:`simulate_agents` runs it vectorised over a batch of runs and the agents for Monte-Carlo
cross-checks.

Memory. Every table is estimated first and refused with
:class:`~netmarl_verify.envs.MemoryBudgetError` naming it (:func:`lift_sizes` gives the sizes
without building anything).
"""

import itertools
import math
from dataclasses import dataclass, field

import networkx as nx
import numpy as np

from ._graph import check_graph
from ._memory import check_memory
from ._random import as_generator
from ._tabular import TabularMDP
from ._validation import ModelValidationError, as_float_array, check_shape, fmt_number

__all__ = [
    "MeanFieldNetwork",
    "LiftedMDP",
    "LiftSizes",
    "TEAM_REWARDS",
    "compositions",
    "n_compositions",
    "composition_rank",
    "lift",
    "lift_sizes",
    "energy_tables",
    "product_mdp",
    "product_states",
    "product_policy_table",
    "correlated_policy_table",
    "simulate_agents",
    "uniform_individual_policy",
    "random_individual_policy",
    "mf_relay",
    "mf_split",
    "mf_lazy_walk",
    "mf_identity2",
    "mf_congestion",
    "mf_random",
    "state_graph",
]

TEAM_REWARDS = ("weighted", "printed")
ROW_ATOL = 1e-12


# ============================================================================ compositions
def n_compositions(total, parts):
    r"""Number of compositions of `total` into `parts` non-negative parts, :math:`\binom{total+parts-1}{parts-1}`."""
    total, parts = int(total), int(parts)
    if parts == 0:
        return 1 if total == 0 else 0
    if total < 0:
        return 0
    return math.comb(total + parts - 1, parts - 1)


def compositions(total, parts):
    """All compositions of `total` into `parts` parts, lexicographic order, shape (C, parts), int64.

    Examples
    --------
    >>> compositions(2, 2).tolist()
    [[0, 2], [1, 1], [2, 0]]
    >>> len(compositions(3, 3)) == n_compositions(3, 3) == 10
    True
    """
    total, parts = int(total), int(parts)
    if parts == 0:
        return np.zeros((1 if total == 0 else 0, 0), dtype=np.int64)
    if parts == 1:
        return np.array([[total]], dtype=np.int64)
    rows = []
    for first in range(total + 1):
        rest = compositions(total - first, parts - 1)
        rows.append(np.column_stack([np.full(len(rest), first, dtype=np.int64), rest]))
    return np.concatenate(rows, axis=0)


def composition_rank(counts, total=None):
    """Lexicographic rank of compositions (rows of `counts`) among those of the same total and length.

    Parameters
    ----------
    counts : int array, shape (..., parts)
    total : int, optional
        Checked against the row sums when given.

    Returns
    -------
    int64 array, shape (...)

    Examples
    --------
    >>> C = compositions(3, 3)
    >>> bool((composition_rank(C) == np.arange(len(C))).all())
    True
    """
    c = np.asarray(counts, dtype=np.int64)
    parts = c.shape[-1]
    sums = c.sum(axis=-1)
    if total is not None and np.any(sums != int(total)):
        raise ValueError(f"compositions must sum to {total}, got row sums {np.unique(sums).tolist()}")
    if (c < 0).any():
        raise ValueError("compositions must be non-negative")
    rank = np.zeros(c.shape[:-1], dtype=np.int64)
    rem = sums.copy()
    for i in range(parts - 1):
        k = parts - i - 1  # parts left after position i
        # sum_{v < c_i} C(rem - v + k - 1, k - 1) = C(rem + k, k) - C(rem - c_i + k, k)  (hockey stick)
        rank += _comb(rem + k, k) - _comb(rem - c[..., i] + k, k)
        rem = rem - c[..., i]
    return rank


_BINOM = {}


def _comb(n, k):
    """C(n, k) elementwise (0 when n < k), from a cached Pascal table."""
    n = np.asarray(n, dtype=np.int64)
    top = int(n.max()) if n.size else 0
    table = _BINOM.get(k)
    if table is None or len(table) <= top:
        table = np.array([math.comb(v, k) for v in range(max(top + 1, 64))], dtype=np.int64)
        _BINOM[k] = table
    return np.where(n >= 0, table[np.clip(n, 0, None)], 0)


# ============================================================================ the model
def state_graph(kind, n):
    """The graph on states: ``"path"`` (0-1-...-n-1), ``"cycle"``, ``"star"`` (centre 0) or ``"grid"`` (2 x n/2,
    row-major: state ``r * n/2 + c`` at row r, column c; n even).

    Raises
    ------
    ValueError
        An unknown kind, or a grid with an odd number of states.

    Examples
    --------
    >>> sorted(state_graph("grid", 6).neighbors(1))
    [0, 2, 4]
    """
    if kind == "path":
        return nx.path_graph(n)
    if kind == "cycle":
        return nx.cycle_graph(n)
    if kind == "star":
        return nx.star_graph(n - 1)
    if kind == "grid":
        if n < 4 or n % 2:
            raise ValueError(f"a 2 x n/2 grid of states needs an even number of states >= 4, got {n}")
        cols = n // 2
        out = nx.Graph()
        out.add_nodes_from(range(n))                        # nodes in order 0..n-1
        out.add_edges_from((r * cols + c, r2 * cols + c2) for (r, c), (r2, c2) in nx.grid_2d_graph(2, cols).edges)
        return out
    raise ValueError(f"graph kind must be 'path', 'cycle', 'star' or 'grid', got {kind!r}")


class MeanFieldNetwork:
    r"""N homogeneous agents on a network of states (module docstring; gu2021 eq. (1)-(4)).

    Parameters
    ----------
    graph : networkx.Graph
        Undirected, nodes ``0..|S|-1``.
    n_agents : int
        :math:`N \ge 1`.
    n_actions : int
        :math:`|\mathcal A| \ge 1`.
    kernel : callable
        ``kernel(s, counts, a) -> array over N_s`` (sorted), ``counts`` the agent counts on
        :math:`\mathcal N_s` (tuple of ints, same order).
    reward : callable
        ``reward(s, counts, a) -> float``.
    gamma : float
        Discount factor in (0, 1).
    initial : None, "uniform" or array over the mu index
        :math:`P_0` (default uniform over :math:`\mathcal P^N(\mathcal S)`).
    name : str
    params : dict
        What the instance is reproducible from.

    Attributes
    ----------
    n_states, n_agents, n_actions : int
    neighbourhoods : list of tuple
        :math:`\mathcal N_s`, sorted.
    distances : ndarray, shape (|S|, |S|)
        Graph distances (``inf`` between components).
    mus : ndarray, shape (|P^N(S)|, |S|)
        The agent counts :math:`N\mu` in the documented order.
    """

    def __init__(self, graph, n_agents, n_actions, kernel, reward, gamma, *, initial=None, name="mean-field",
                 params=None):
        nS = check_graph(graph)
        self.graph = graph
        self.n_states = int(nS)
        self.n_agents = int(n_agents)
        self.n_actions = int(n_actions)
        if self.n_agents < 1 or self.n_actions < 1:
            raise ValueError(f"need n_agents >= 1 and n_actions >= 1, got {n_agents}, {n_actions}")
        if not 0.0 < float(gamma) < 1.0:
            raise ValueError(f"gamma must be in (0, 1), got {gamma}")
        self.gamma = float(gamma)
        self.kernel = kernel
        self.reward = reward
        self.name = name
        self.params = dict(params or {})
        self.neighbourhoods = [tuple(sorted(set(graph.neighbors(s)) | {s})) for s in range(nS)]
        lengths = dict(nx.all_pairs_shortest_path_length(graph))
        D = np.full((nS, nS), np.inf)
        for s, row in lengths.items():
            for y, d in row.items():
                D[s, y] = d
        self.distances = D
        self.mus = compositions(self.n_agents, nS)
        self._initial = initial
        self._tables = None

    def __repr__(self):
        return (f"MeanFieldNetwork({self.name!r}, N={self.n_agents}, |S|={self.n_states}, |A|={self.n_actions}, "
                f"gamma={self.gamma:g})")

    @property
    def n_mu(self):
        """:math:`|\\mathcal P^N(\\mathcal S)|`."""
        return len(self.mus)

    @property
    def diameter(self):
        """Largest finite graph distance."""
        D = self.distances[np.isfinite(self.distances)]
        return int(D.max())

    def kappa_hop(self, s, k):
        """:math:`\\mathcal N_s^k`, sorted tuple."""
        return tuple(int(y) for y in np.flatnonzero(self.distances[s] <= k))

    def mu_index(self, counts):
        """Index of count vectors (shape (..., |S|)) in :attr:`mus`."""
        return composition_rank(counts, self.n_agents)

    @property
    def initial(self):
        """:math:`P_0` over the mu index, shape (|P^N(S)|,)."""
        init = self._initial
        if init is None or (isinstance(init, str) and init == "uniform"):
            return np.full(self.n_mu, 1.0 / self.n_mu)
        p = as_float_array(init, "initial").reshape(-1)
        if p.shape != (self.n_mu,) or (p < 0).any() or abs(p.sum() - 1) > 1e-10:
            raise ValueError(f"initial must be a distribution over the {self.n_mu} empirical distributions")
        return p

    def point_initial(self, counts):
        """:math:`P_0 = \\delta_\\mu` for the count vector `counts`, over the mu index."""
        p = np.zeros(self.n_mu)
        p[int(self.mu_index(np.asarray(counts)))] = 1.0
        return p

    # ---------------------------------------------------------------- tables
    def _build_tables(self):
        nM, nS, nA = self.n_mu, self.n_states, self.n_actions
        check_memory(8.0 * nM * nS * nA * (nS + 1), f"the local kernel and reward tables ({nM} x {nS} x {nA} x {nS})")
        K = np.zeros((nM, nS, nA, nS))
        R = np.zeros((nM, nS, nA))
        cache_k, cache_r = {}, {}
        for m, mu in enumerate(self.mus):
            for s in range(nS):
                hood = self.neighbourhoods[s]
                local = tuple(int(mu[y]) for y in hood)
                for a in range(nA):
                    key = (s, local, a)
                    if key not in cache_k:
                        p = np.asarray(self.kernel(s, local, a), dtype=float).reshape(-1)
                        if p.shape != (len(hood),):
                            raise ModelValidationError(
                                f"kernel(s={s}, counts={local}, a={a}) must return a law over N_{s} = {hood} "
                                f"(length {len(hood)}), got shape {p.shape}")
                        if not np.all(np.isfinite(p)) or (p < 0).any() or abs(p.sum() - 1) > ROW_ATOL:
                            raise ModelValidationError(
                                f"kernel(s={s}, counts={local}, a={a}) = {np.round(p, 12).tolist()} is not a "
                                f"probability vector (tolerance {ROW_ATOL})")
                        r = float(self.reward(s, local, a))
                        if not math.isfinite(r):
                            raise ModelValidationError(f"reward(s={s}, counts={local}, a={a}) = {r} is not finite")
                        cache_k[key], cache_r[key] = p, r
                    K[m, s, a, list(hood)] = cache_k[key]
                    R[m, s, a] = cache_r[key]
        K.setflags(write=False)
        R.setflags(write=False)
        self._tables = (K, R)

    def kernel_table(self):
        """``K[mu, s, a, s']`` = :math:`\\mathbf P(s'\\mid s,\\mu(\\mathcal N_s),a)`, shape (|P^N|, |S|, |A|, |S|)."""
        if self._tables is None:
            self._build_tables()
        return self._tables[0]

    def reward_table(self):
        """``R[mu, s, a]`` = :math:`r(s,\\mu(\\mathcal N_s),a)`, shape (|P^N|, |S|, |A|)."""
        if self._tables is None:
            self._build_tables()
        return self._tables[1]

    @property
    def r_max(self):
        """:math:`\\max|r|` over every ``(mu, s, a)`` (the paper's :math:`r_{\\max}`, guide §3)."""
        return float(np.abs(self.reward_table()).max())

    def kernel_reads_mu(self):
        """Whether :math:`\\mathbf P(\\cdot\\mid s,\\mu(\\mathcal N_s),a)` depends on μ at all (a meter)."""
        K = self.kernel_table()
        return bool(np.abs(K - K[:1]).max() > 0)


# ============================================================================ individual policies
def uniform_individual_policy(model):
    """``pi[s, c, a] = 1/|A|``, shape (|S|, N+1, |A|): the individual policy (3), :math:`\\pi(s, c/N)`."""
    return np.full((model.n_states, model.n_agents + 1, model.n_actions), 1.0 / model.n_actions)


def random_individual_policy(model, rng=None, concentration=1.0):
    """A Dirichlet-random individual policy ``pi[s, c, a]`` (module docstring)."""
    rng = as_generator(rng)
    return rng.dirichlet(np.full(model.n_actions, float(concentration)), size=(model.n_states, model.n_agents + 1))


def _check_individual(model, pi):
    pi = as_float_array(pi, "pi")
    check_shape(pi, (model.n_states, model.n_agents + 1, model.n_actions), "pi", ["s", "count", "a"])
    if (pi < 0).any() or np.abs(pi.sum(-1) - 1).max() > 1e-10:
        s, c = np.unravel_index(np.argmax(np.abs(pi.sum(-1) - 1) + (pi < 0).any(-1)), pi.shape[:2])
        raise ModelValidationError(f"pi[{s}, {c}, :] = {pi[s, c].tolist()} is not a probability vector")
    return pi


# ============================================================================ the lifted MDP
@dataclass(frozen=True)
class LiftSizes:
    """Sizes of the lifted process (no table built).

    Attributes
    ----------
    n_mu : int
        :math:`|\\mathcal P^N(\\mathcal S)|`.
    n_xi : int
        :math:`|\\Xi| = \\binom{N+|S||A|-1}{|S||A|-1}`.
    n_actions : int
        :math:`\\max_\\mu|\\mathcal H^N(\\mu)|` (the padded action set).
    bytes : float
        Estimated bytes of ``T[xi, mu']`` plus the TabularMDP ``P[mu, h, mu']`` (and per-team rewards).
    product_states, product_actions : int
        :math:`|S|^N` and :math:`|A|^N` of the N-agent system.
    """

    n_mu: int
    n_xi: int
    n_actions: int
    bytes: float
    product_states: int
    product_actions: int


def _max_types(N, nS, nA):
    best = 0
    for mu in compositions(N, nS):
        best = max(best, math.prod(n_compositions(int(c), nA) for c in mu))
    return best


def lift_sizes(n_agents, n_states, n_actions):
    """:class:`LiftSizes` of an instance with these sizes (guide §1.3 table)."""
    N, nS, nA = int(n_agents), int(n_states), int(n_actions)
    n_mu = n_compositions(N, nS)
    n_xi = n_compositions(N, nS * nA)
    na = _max_types(N, nS, nA) if n_mu <= 200_000 else n_xi
    nbytes = 8.0 * (n_xi * n_mu + n_mu * na * n_mu + n_xi * (nS + 2) + 2 * n_mu * na * (nS + 1))
    return LiftSizes(n_mu, n_xi, na, nbytes, nS ** N, nA ** N)


def _multinomial_pmf(n, p):
    """All outcomes of Mult(n, p) with positive probability: (outcomes (k, len p), probs (k,))."""
    outs = compositions(n, len(p))
    keep = np.all((outs == 0) | (p[None, :] > 0), axis=1)
    outs = outs[keep]
    logc = math.lgamma(n + 1) - np.array([sum(math.lgamma(int(x) + 1) for x in row) for row in outs])
    with np.errstate(divide="ignore"):
        logp = (outs * np.where(p > 0, np.log(np.where(p > 0, p, 1.0)), 0.0)[None, :]).sum(axis=1)
    return outs, np.exp(logc + logp)


class LiftedMDP:
    r"""The exact team process on :math:`(\mu, h)` (module docstring; gu2021 eq. (5)-(8)).

    Build with :func:`lift`. Attributes
    ----------
    model : MeanFieldNetwork
    team_reward : {"weighted", "printed"}
    n_mu, n_xi, n_actions : int
        :math:`|\mathcal P^N|`, :math:`|\Xi|`, padded :math:`\max_\mu|\mathcal H^N(\mu)|`.
    xi_mu, xi_h : ndarray, shape (|Ξ|,)
        The mu index and the joint type index (= TabularMDP action) of each pair.
    counts : ndarray, shape (|Ξ|, |S|, |A|)
        :math:`n_{s,a}` of each pair.
    type_rank : ndarray, shape (|Ξ|, |S|)
        Per-team type rank (composition rank of :math:`n_{s,\cdot}`).
    n_types : ndarray, shape (|P^N|, |S|)
        Number of types of each team at each μ.
    xi_of : ndarray, shape (|P^N|, n_actions)
        Pair index of ``(mu, action)``; padded actions point to action 0's pair.
    valid : ndarray of bool, shape (|P^N|, n_actions)
    T : ndarray, shape (|Ξ|, |P^N|)
        Next-μ law (6), ``T[xi, mu']``.
    team_rewards : ndarray, shape (|Ξ|, |S|)
        :math:`r_s(\xi)` under `team_reward`.
    """

    def __init__(self, model, team_reward="weighted", max_bytes=None):
        if team_reward not in TEAM_REWARDS:
            raise ValueError(f"team_reward must be one of {TEAM_REWARDS}, got {team_reward!r}")
        self.model = model
        self.team_reward = team_reward
        N, nS, nA = model.n_agents, model.n_states, model.n_actions
        sizes = lift_sizes(N, nS, nA)
        check_memory(sizes.bytes, f"the lifted MDP of {model.name!r} (|P^N(S)| = {sizes.n_mu}, |Xi| = {sizes.n_xi}, "
                                  f"{sizes.n_actions} padded joint types)", max_bytes=max_bytes,
                     hint="use fewer agents, states or actions, or the N-agent simulator (simulate_agents)")
        self.sizes = sizes
        self.n_mu, self.n_xi, self.n_actions = sizes.n_mu, sizes.n_xi, sizes.n_actions
        self._types = {c: compositions(c, nA) for c in range(N + 1)}
        xi_mu, xi_h, counts, type_rank = [], [], [], []
        n_types = np.zeros((self.n_mu, nS), dtype=np.int64)
        xi_of = np.zeros((self.n_mu, self.n_actions), dtype=np.int64)
        valid = np.zeros((self.n_mu, self.n_actions), dtype=bool)
        for m, mu in enumerate(model.mus):
            radices = [len(self._types[int(c)]) for c in mu]
            n_types[m] = radices
            first = len(xi_mu)
            for h, ranks in enumerate(itertools.product(*[range(r) for r in radices])):
                xi_mu.append(m)
                xi_h.append(h)
                type_rank.append(ranks)
                counts.append(np.stack([self._types[int(mu[s])][ranks[s]] for s in range(nS)]))
                xi_of[m, h] = len(xi_mu) - 1
                valid[m, h] = True
            n_h = len(xi_mu) - first
            xi_of[m, n_h:] = first
        self.xi_mu = np.asarray(xi_mu, dtype=np.int64)
        self.xi_h = np.asarray(xi_h, dtype=np.int64)
        self.counts = np.asarray(counts, dtype=np.int64).reshape(-1, nS, nA)
        self.type_rank = np.asarray(type_rank, dtype=np.int64).reshape(-1, nS)
        self.n_types = n_types
        self.xi_of = xi_of
        self.valid = valid
        if len(self.xi_mu) != self.n_xi:  # pragma: no cover - the combinatorics
            raise RuntimeError(f"enumerated {len(self.xi_mu)} pairs, expected {self.n_xi}")
        self._count_lookup = np.full(self.n_xi, -1, dtype=np.int64)
        self._count_lookup[composition_rank(self.counts.reshape(self.n_xi, -1), N)] = np.arange(self.n_xi)
        self.T = self._next_mu_law()
        self.team_rewards = self._team_rewards()
        self._tabular = {}

    def __repr__(self):
        return (f"LiftedMDP({self.model.name!r}, |P^N| = {self.n_mu}, |Xi| = {self.n_xi}, "
                f"team_reward={self.team_reward!r})")

    # ---------------------------------------------------------------- kernel (6)
    def _next_mu_law(self, kernel_table=None):
        model = self.model
        K = model.kernel_table() if kernel_table is None else kernel_table
        N, nS = model.n_agents, model.n_states
        T = np.zeros((self.n_xi, self.n_mu))
        mult = {}
        for x in range(self.n_xi):
            m = int(self.xi_mu[x])
            dist = {(0,) * nS: 1.0}
            for s, a in zip(*np.nonzero(self.counts[x])):
                n = int(self.counts[x, s, a])
                hood = model.neighbourhoods[s]
                p = K[m, s, a, list(hood)]
                key = (n, hood, p.tobytes())
                if key not in mult:
                    outs, probs = _multinomial_pmf(n, p)
                    full = np.zeros((len(outs), nS), dtype=np.int64)
                    full[:, list(hood)] = outs
                    mult[key] = ([tuple(r) for r in full], probs)
                outs, probs = mult[key]
                new = {}
                for c, q in dist.items():
                    for o, po in zip(outs, probs):
                        k2 = tuple(ci + oi for ci, oi in zip(c, o))
                        new[k2] = new.get(k2, 0.0) + q * po
                dist = new
            keys = np.array(list(dist.keys()), dtype=np.int64).reshape(-1, nS)
            T[x, composition_rank(keys, N)] = list(dist.values())
        T.setflags(write=False)
        return T

    def _team_rewards(self):
        R = self.model.reward_table()[self.xi_mu]  # (xi, S, A)
        n = self.counts.astype(float)
        if self.team_reward == "weighted":
            return (n * R).sum(axis=2) / self.model.n_agents
        ns = n.sum(axis=2, keepdims=True)
        h = np.divide(n, ns, out=np.zeros_like(n), where=ns > 0)
        return (h * R).sum(axis=2)

    # ---------------------------------------------------------------- maps
    def xi_of_counts(self, counts):
        """Pair index of count matrices (shape (..., |S|, |A|))."""
        c = np.asarray(counts, dtype=np.int64)
        return self._count_lookup[composition_rank(c.reshape(c.shape[:-2] + (-1,)), self.model.n_agents)]

    def count_rank(self):
        """Lexicographic rank of each pair's count matrix among the compositions of N into |S||A| parts."""
        return composition_rank(self.counts.reshape(self.n_xi, -1), self.model.n_agents)

    def mu_counts(self):
        """:math:`N\\mu` of each pair, shape (|Ξ|, |S|)."""
        return self.counts.sum(axis=2)

    def key(self, s, k):
        r"""Labels of the pairs by :math:`\zeta^k_s=(\mu(\mathcal N^k_s),h(\mathcal N^k_s))` (the counts on
        :math:`\mathcal N^k_s`), shape (|Ξ|,), ints from 0."""
        hood = list(self.model.kappa_hop(s, k))
        sub = self.counts[:, hood, :].reshape(self.n_xi, -1)
        _, labels = np.unique(sub, axis=0, return_inverse=True)
        return labels.reshape(-1)

    # ---------------------------------------------------------------- policies
    def multinomial_policy(self, pi, *, drop_coefficient=False):
        r"""Team policy (5) over Ξ from an individual policy ``pi[s, c, a]`` (:math:`\pi(s,c/N)`).

        ``drop_coefficient=True`` (a deliberately broken input, guide §4 Lemma 3.1) omits the
        multinomial coefficient and renormalises per team.
        """
        pi = _check_individual(self.model, pi)
        nS = self.model.n_states
        ns = self.counts.sum(axis=2)  # (xi, S)
        out = np.ones(self.n_xi)
        for s in range(nS):
            p = pi[s, ns[:, s]]  # (xi, A)
            with np.errstate(divide="ignore"):
                logp = np.where(self.counts[:, s] > 0, self.counts[:, s] * np.log(np.where(p > 0, p, 1.0)), 0.0)
            zero = ((p == 0) & (self.counts[:, s] > 0)).any(axis=1)
            logc = _lgamma(ns[:, s] + 1) - _lgamma(self.counts[:, s] + 1).sum(axis=1)
            w = np.exp(logp.sum(axis=1) + (0.0 if drop_coefficient else logc))
            w[zero] = 0.0
            if drop_coefficient:
                w = w / self._team_sums(w, s)
            out *= w
        return out

    def _team_sums(self, w, s):
        """Sum of `w` (over Ξ) over the types of team s with the rest of ξ fixed."""
        others = np.delete(self.type_rank, s, axis=1)
        key = np.column_stack([self.xi_mu, others])
        _, inv = np.unique(key, axis=0, return_inverse=True)
        inv = inv.reshape(-1)
        sums = np.bincount(inv, weights=w)
        return sums[inv]

    def team_zeta(self, s, input_scale=1.0 / math.sqrt(2.0)):
        r""":math:`\zeta_s=\lambda(\mu(s),h(s))` of each pair, shape (|Ξ|, 1+|A|) (0 for an empty team)."""
        N = self.model.n_agents
        n = self.counts[:, s, :].astype(float)
        ns = n.sum(axis=1, keepdims=True)
        h = np.divide(n, ns, out=np.zeros_like(n), where=ns > 0)
        return input_scale * np.column_stack([ns[:, 0] / N, h])

    def type_features(self, s, c, input_scale=1.0 / math.sqrt(2.0)):
        r""":math:`\zeta_s` of every type of team s with c agents, shape (#types, 1+|A|)."""
        types = self._types[int(c)].astype(float)
        h = types / c if c > 0 else types
        return input_scale * np.column_stack([np.full(len(types), c / self.model.n_agents), h])

    def energy_policy(self, theta, b=None, tau=1.0, input_scale=1.0 / math.sqrt(2.0)):
        r"""Team policy (14) over Ξ: per team a softmax over its types of :math:`\tau f(\zeta_s;\theta_s)`.

        Parameters
        ----------
        theta : ndarray, shape (|S|, M, 1+|A|)
            :math:`\theta_s = ([\theta_s]_1, \dots, [\theta_s]_M)`.
        b : ndarray, shape (M,) or (|S|, M), optional
            Output weights (default all ones, gu2021 §4.3).
        tau : float
        input_scale : float
            λ in :math:`\zeta_s = \lambda(\mu(s),h(s))`.

        Returns
        -------
        ndarray, shape (|Ξ|,)
        """
        return energy_tables(self, theta, b, tau, input_scale)[0]

    def policy_table(self, team_policy):
        """``pi[mu, action]`` of a team policy over Ξ (0 on padded actions); rows sum to 1 (checked)."""
        w = as_float_array(team_policy, "team_policy").reshape(-1)
        if w.shape != (self.n_xi,):
            raise ValueError(f"team_policy must have shape (|Xi|,) = ({self.n_xi},), got {w.shape}")
        table = np.zeros((self.n_mu, self.n_actions))
        table[self.xi_mu, self.xi_h] = w
        err = np.abs(table.sum(axis=1) - 1.0)
        if (w < 0).any() or err.max() > 1e-10:
            m = int(np.argmax(err))
            raise ModelValidationError(f"team policy rows must sum to 1: mu index {m} sums to "
                                       f"{fmt_number(table[m].sum())}")
        return table

    # ---------------------------------------------------------------- TabularMDP
    def tabular(self, team=None):
        """The lifted MDP as a :class:`TabularMDP` (state = μ, action = joint type), reward of
        team `team` (``None``: :math:`\\sum_s r_s`). Cached; every team shares the same ``P``."""
        if team not in self._tabular:
            if "P" not in self._tabular:
                P = np.ascontiguousarray(self.T[self.xi_of])  # (mu, action, mu')
                self._tabular["P"] = P
            r = self.team_rewards.sum(axis=1) if team is None else self.team_rewards[:, int(team)]
            R = r[self.xi_of]
            self._tabular[team] = TabularMDP(self._tabular["P"], R)
        return self._tabular[team]

    def to_pairs(self, table):
        """Values over ``(mu, action)`` (shape (|P^N|, n_actions)) restricted to Ξ, shape (|Ξ|,)."""
        return np.asarray(table)[self.xi_mu, self.xi_h]


def _lgamma(x):
    x = np.asarray(x, dtype=float)
    return np.vectorize(math.lgamma, otypes=[float])(x) if x.size else x


def energy_tables(lifted, theta, b=None, tau=1.0, input_scale=1.0 / math.sqrt(2.0)):
    r"""The energy policy (14) and its per-team centred features (16).

    Returns
    -------
    policy : ndarray, shape (|Ξ|,)
        :math:`\Pi^\theta(h\mid\mu)`.
    phi : ndarray, shape (|S|, |Ξ|, M, 1+|A|)
        :math:`\phi_{\theta_s}(\zeta_s)` with :math:`b_m` (the derivative of (13)).
    Phi : ndarray, shape (|S|, |Ξ|, M, 1+|A|)
        :math:`\Phi(\theta,s,\mu,h)=\phi_{\theta_s}(\zeta_s)-E_{h'(s)\sim\Pi_s}\phi_{\theta_s}(\mu(s),h'(s))`.
    """
    model = lifted.model
    nS, nA, N = model.n_states, model.n_actions, model.n_agents
    theta = as_float_array(theta, "theta")
    if theta.ndim != 3 or theta.shape[0] != nS or theta.shape[2] != 1 + nA:
        raise ValueError(f"theta must have shape (|S|, M, 1+|A|) = ({nS}, M, {1 + nA}), got {theta.shape}")
    M = theta.shape[1]
    b = np.ones((nS, M)) if b is None else np.broadcast_to(as_float_array(b, "b"), (nS, M))
    ns = lifted.counts.sum(axis=2)
    policy = np.ones(lifted.n_xi)
    phi = np.zeros((nS, lifted.n_xi, M, 1 + nA))
    Phi = np.zeros_like(phi)
    for s in range(nS):
        for c in range(N + 1):
            rows = np.flatnonzero(ns[:, s] == c)
            if rows.size == 0:
                continue
            if c == 0:  # the dummy type of an empty team: Pi_s = 1, zeta_s = 0, phi = 0
                continue
            z = lifted.type_features(s, c, input_scale)  # (types, d)
            act = (z @ theta[s].T > 0).astype(float)  # (types, M)
            f = (act * (z @ theta[s].T)) @ b[s] / math.sqrt(M)
            logits = tau * f
            p = np.exp(logits - logits.max())
            p /= p.sum()
            feats = (b[s][None, :, None] * act[:, :, None] * z[:, None, :]) / math.sqrt(M)  # (types, M, d)
            mean = np.tensordot(p, feats, axes=1)
            t = lifted.type_rank[rows, s]
            policy[rows] *= p[t]
            phi[s, rows] = feats[t]
            Phi[s, rows] = feats[t] - mean[None]
    return policy, phi, Phi


def lift(model, team_reward="weighted", *, max_bytes=None):
    """The exact lifted MDP of `model` (:class:`LiftedMDP`); refuses sizes over the memory budget.

    Examples
    --------
    >>> m = mf_lazy_walk(3, 2)
    >>> L = lift(m)
    >>> L.n_mu, L.n_xi, bool(np.allclose(L.T.sum(axis=1), 1.0))
    (6, 6, True)
    """
    return LiftedMDP(model, team_reward, max_bytes=max_bytes)


# ============================================================================ the N-agent system
def _joint_states(nS, N):
    return np.array(list(itertools.product(range(nS), repeat=N)), dtype=np.int64).reshape(-1, N)


def product_mdp(model, *, nonexchangeable=0.0, max_bytes=None):
    r"""The N-agent product MDP (guide §1.4) as a :class:`TabularMDP`.

    Joint state :math:`\mathbf s=(s^0,\dots,s^{N-1})` with index ``np.ravel_multi_index`` (agent 0
    most significant), joint action likewise;
    :math:`P(\mathbf s'\mid\mathbf s,\mathbf a)=\prod_i\mathbf P(s'^i\mid s^i,\mu_{\mathbf s}(\mathcal N_{s^i}),a^i)`,
    :math:`r(\mathbf s,\mathbf a)=\frac1N\sum_ir(s^i,\mu_{\mathbf s}(\mathcal N_{s^i}),a^i)`.

    ``nonexchangeable=eps`` (a deliberately broken input) makes agent 0 stay put with extra
    probability eps: the kernel is no longer exchangeable, so the lifting fails.
    """
    N, nS, nA = model.n_agents, model.n_states, model.n_actions
    nJ, nB = nS ** N, nA ** N
    check_memory(8.0 * nJ * nB * (nJ + 1), f"the N-agent product MDP ({nJ} joint states x {nB} joint actions x "
                                          f"{nJ})", max_bytes=max_bytes)
    K, R = model.kernel_table(), model.reward_table()
    S = _joint_states(nS, N)
    A = _joint_states(nA, N)
    mu_idx = model.mu_index(np.stack([np.bincount(row, minlength=nS) for row in S]))
    P = np.zeros((nJ, nB, nJ))
    Rj = np.zeros((nJ, nB))
    for j in range(nJ):
        m = mu_idx[j]
        for b_, acts in enumerate(A):
            law = np.ones(1)
            for i in range(N):
                p = K[m, S[j, i], acts[i]].copy()
                if i == 0 and nonexchangeable:
                    p = (1 - nonexchangeable) * p
                    p[S[j, i]] += nonexchangeable
                law = np.multiply.outer(law, p).reshape(-1)
            P[j, b_] = law
            Rj[j, b_] = R[m, S[j], acts].mean()
    return TabularMDP(P, Rj)


def product_states(model):
    """Joint states of the N-agent system, shape (|S|^N, N), in :func:`product_mdp` order."""
    return _joint_states(model.n_states, model.n_agents)


def product_policy_table(model, pi):
    r"""Independent execution of an individual policy: :math:`\prod_i\pi(a^i\mid s^i,\mu_{\mathbf s}(s^i))`, shape (|S|^N, |A|^N)."""
    pi = _check_individual(model, pi)
    N, nS, nA = model.n_agents, model.n_states, model.n_actions
    S = _joint_states(nS, N)
    A = _joint_states(nA, N)
    out = np.ones((len(S), len(A)))
    for j, row in enumerate(S):
        cnt = np.bincount(row, minlength=nS)
        for i in range(N):
            out[j] *= pi[row[i], cnt[row[i]], A[:, i]]
    return out


def correlated_policy_table(lifted, team_policy):
    r"""The exchangeable N-agent execution of a team policy Π over Ξ (module docstring), shape (|S|^N, |A|^N)."""
    model = lifted.model
    N, nS, nA = model.n_agents, model.n_states, model.n_actions
    S = _joint_states(nS, N)
    A = _joint_states(nA, N)
    w = as_float_array(team_policy, "team_policy").reshape(-1)
    out = np.zeros((len(S), len(A)))
    for j, row in enumerate(S):
        n = np.zeros((len(A), nS, nA), dtype=np.int64)
        np.add.at(n, (np.arange(len(A))[:, None], row[None, :], A), 1)
        xi = lifted.xi_of_counts(n)
        ns = n.sum(axis=2)
        logc = _lgamma(ns + 1).sum(axis=1) - _lgamma(n + 1).sum(axis=(1, 2))
        out[j] = w[xi] / np.exp(logc)
    return out


def simulate_agents(model, pi, initial_states, horizon, rng=None):
    r"""Monte Carlo of the original N-agent system under an individual policy, vectorised.

    Parameters
    ----------
    model : MeanFieldNetwork
    pi : ndarray, shape (|S|, N+1, |A|)
        :math:`\pi(s, c/N)(a)`.
    initial_states : int array, shape (B, N)
        The agents' states at t = 0, one row per independent run.
    horizon : int
        Number of steps T.
    rng : seed or Generator
        All uniforms are drawn first (STYLE 8), shape (T, 2, B, N).

    Returns
    -------
    ndarray, shape (B,)
        :math:`\sum_{t<T}\gamma^t\frac1N\sum_ir(s^i_t,\mu_t(\mathcal N_{s^i_t}),a^i_t)` per run (truncation
        error at most :math:`\gamma^Tr_{\max}/(1-\gamma)`).
    """
    pi = _check_individual(model, pi)
    rng = as_generator(rng)
    s = np.array(initial_states, dtype=np.int64)
    if s.ndim != 2 or s.shape[1] != model.n_agents:
        raise ValueError(f"initial_states must have shape (B, N={model.n_agents}), got {s.shape}")
    if (s < 0).any() or (s >= model.n_states).any():
        raise ValueError(f"initial_states must hold states in 0..{model.n_states - 1}")
    B, N = s.shape
    nS = model.n_states
    U = rng.random((int(horizon), 2, B, N))
    K = np.cumsum(model.kernel_table(), axis=-1)
    Rt = model.reward_table()
    cpi = np.cumsum(pi, axis=-1)
    ret = np.zeros(B)
    disc = 1.0
    rows = np.arange(B)[:, None]
    for t in range(int(horizon)):
        cnt = np.zeros((B, nS), dtype=np.int64)
        np.add.at(cnt, (np.repeat(np.arange(B), N), s.reshape(-1)), 1)
        m = model.mu_index(cnt)[:, None]  # (B, 1)
        a = (U[t, 0][..., None] > cpi[s, cnt[rows, s]]).sum(axis=-1)
        a = np.minimum(a, model.n_actions - 1)
        ret += disc * Rt[m, s, a].mean(axis=1)
        nxt = (U[t, 1][..., None] > K[m, s, a]).sum(axis=-1)
        s = np.minimum(nxt, nS - 1)
        disc *= model.gamma
    return ret


# ============================================================================ instance families (guide §8)
def _stay(hood, s):
    p = np.zeros(len(hood))
    p[hood.index(s)] = 1.0
    return p


def mf_relay(n_agents=2, gamma=0.9, reward="indicator"):
    r"""``relay`` (guide §8): path 0-1-2-3-4, one action; an agent at 2 moves to 1 iff μ(3) > 0,
    every other agent stays. Reward :math:`\mathbb 1\{s=0,\mu(1)>0\}`; ``"signed"``: +1 / −1 at
    s = 0 as μ(1) > 0 or = 0, 0 elsewhere. ``n_agents`` = 2 + the guide's ``extra_at_0``.

    The signal travels from state 3 to the reward at state 0 in one step: the law of
    :math:`\mu_1(\mathcal N_0)` reads :math:`\mu_0(3)`, at distance 3 (the extremal instance of Lemma 4.2).
    """
    if reward not in ("indicator", "signed"):
        raise ValueError(f"reward must be 'indicator' or 'signed', got {reward!r}")
    g = nx.path_graph(5)
    hoods = [tuple(sorted(set(g.neighbors(s)) | {s})) for s in range(5)]

    def kernel(s, counts, a):
        hood = hoods[s]
        if s == 2 and counts[hood.index(3)] > 0:
            return _stay(hood, 1)
        return _stay(hood, s)

    def rew(s, counts, a):
        if s != 0:
            return 0.0
        up = counts[hoods[0].index(1)] > 0
        return 1.0 if up else (-1.0 if reward == "signed" else 0.0)

    return MeanFieldNetwork(g, n_agents, 1, kernel, rew, gamma, name="relay",
                            params={"N": n_agents, "gamma": gamma, "reward": reward})


def mf_split(gamma=0.9):
    r"""``split`` (guide §8): path s1 - s0 - s2 (nodes 1 - 0 - 2), N = 2 starting at s0; at s0 action a
    moves deterministically to s_{a+1}; s1, s2 absorbing; :math:`r=\mathbb 1\{\mu(s)=1/2\}` at s1, s2."""
    g = nx.Graph([(0, 1), (0, 2)])
    hoods = [tuple(sorted(set(g.neighbors(s)) | {s})) for s in range(3)]

    def kernel(s, counts, a):
        return _stay(hoods[s], a + 1 if s == 0 else s)

    def rew(s, counts, a):
        return float(s != 0 and counts[hoods[s].index(s)] == 1)

    m = MeanFieldNetwork(g, 2, 2, kernel, rew, gamma, name="split", params={"gamma": gamma})
    m._initial = m.point_initial([2, 0, 0])
    return m


def mf_lazy_walk(L=3, n_agents=2, n_actions=1, gamma=0.9, initial="uniform"):
    r"""``lazy_walk`` (guide §8): path :math:`P_L`; |A| = 1: stay w.p. 1/2, else a uniform neighbour;
    |A| = 2: action 0 stays, action 1 moves to a uniform neighbour. Reward :math:`\mathbb 1\{s=0\}`.
    ``initial``: ``"uniform"`` over :math:`\mathcal P^N` or ``"at0"`` (all agents at state 0)."""
    g = nx.path_graph(L)
    hoods = [tuple(sorted(set(g.neighbors(s)) | {s})) for s in range(L)]

    def kernel(s, counts, a):
        hood = hoods[s]
        nb = np.array([y != s for y in hood], dtype=float)
        move = nb / nb.sum() if nb.sum() else _stay(hood, s)
        if n_actions == 1:
            return 0.5 * _stay(hood, s) + 0.5 * move
        return _stay(hood, s) if a == 0 else move

    m = MeanFieldNetwork(g, n_agents, n_actions, kernel, lambda s, c, a: float(s == 0), gamma, name="lazy_walk",
                         params={"L": L, "N": n_agents, "A": n_actions, "gamma": gamma, "initial": initial})
    if initial == "at0":
        m._initial = m.point_initial([n_agents] + [0] * (L - 1))
    elif initial != "uniform":
        raise ValueError(f"initial must be 'uniform' or 'at0', got {initial!r}")
    return m


def mf_identity2(gamma=0.9):
    """``identity2`` (guide §8): 2 states, identity kernel, r = 1, N = 2; :math:`V^\\pi \\equiv 1/(1-\\gamma)` for (4)."""
    g = nx.path_graph(2)
    hoods = [(0, 1), (0, 1)]
    return MeanFieldNetwork(g, 2, 1, lambda s, c, a: _stay(hoods[s], s), lambda s, c, a: 1.0, gamma,
                            name="identity2", params={"gamma": gamma})


def mf_congestion(L=4, topology="path", alpha=0.5, cost=0.1, n_agents=2, gamma=0.9, demand=None, seed=0):
    r"""``congestion`` (guide §8): zones on a path or cycle; action 0 stays, action 1 moves to the
    next zone (``s+1``; on a path the last zone's move is to ``s-1``). A move succeeds w.p.
    :math:`1-\alpha\mu(\text{target})`, else the agent stays. Reward
    :math:`\min\{1, d_s/(N\mu(s)+1)\}-c\,\mathbb 1\{a\ne\text{stay}\}` clipped to [0, 1]; demands
    :math:`d_s\sim U[0, 2]` from `seed` unless given."""
    g = state_graph(topology, L)
    hoods = [tuple(sorted(set(g.neighbors(s)) | {s})) for s in range(L)]
    d = np.random.default_rng(seed).uniform(0, 2, L) if demand is None else np.asarray(demand, float)

    def target(s):
        return (s + 1) % L if topology == "cycle" or s + 1 < L else s - 1

    def kernel(s, counts, a):
        hood = hoods[s]
        if a == 0:
            return _stay(hood, s)
        y = target(s)
        ok = 1.0 - alpha * counts[hood.index(y)] / n_agents
        return ok * _stay(hood, y) + (1 - ok) * _stay(hood, s)

    def rew(s, counts, a):
        v = min(1.0, d[s] / (counts[hoods[s].index(s)] + 1)) - cost * (a != 0)
        return float(min(1.0, max(0.0, v)))

    return MeanFieldNetwork(g, n_agents, 2, kernel, rew, gamma, name="congestion",
                            params={"L": L, "topology": topology, "alpha": alpha, "cost": cost, "N": n_agents,
                                    "gamma": gamma, "seed": seed})


def mf_random(graph="path", n_states=4, n_agents=2, n_actions=2, gamma=0.9, seed=0, signed=False, mu_weight=1.0):
    r"""``random_lifted`` (guide §8): random neighbour-supported kernels and rewards depending on
    :math:`\mu(\mathcal N_s)`, all drawn from `seed`.

    ``kernel(s, c, a) ∝ exp(G[s, a] + mu_weight * H[s] c/N)`` over :math:`\mathcal N_s`,
    ``reward(s, c, a) = U[s, a] + mu_weight * V[s] . c/N`` (scaled to [0, 1], or [−1, 1] if `signed`).
    """
    g = state_graph(graph, n_states)
    hoods = [tuple(sorted(set(g.neighbors(s)) | {s})) for s in range(n_states)]
    rng = np.random.default_rng(seed)
    G = [rng.normal(size=(n_actions, len(h))) for h in hoods]
    H = [rng.normal(size=(len(h), len(h))) for h in hoods]
    U = rng.random((n_states, n_actions))
    V = [rng.random(len(h)) for h in hoods]

    def kernel(s, counts, a):
        z = G[s][a] + mu_weight * H[s] @ (np.asarray(counts) / n_agents)
        p = np.exp(z - z.max())
        return p / p.sum()

    def rew(s, counts, a):
        v = (U[s, a] + mu_weight * V[s] @ (np.asarray(counts) / n_agents)) / (1.0 + mu_weight)
        return float(2 * v - 1) if signed else float(v)

    return MeanFieldNetwork(g, n_agents, n_actions, kernel, rew, gamma, name="random",
                            params={"graph": graph, "S": n_states, "N": n_agents, "A": n_actions, "gamma": gamma,
                                    "seed": seed, "signed": signed, "mu_weight": mu_weight})
