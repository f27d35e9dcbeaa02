r"""Cooperative Markov games with a product joint action, and Bayesian-network (DAG) joint policies.

chen2024 §2-§3. A cooperative Markov game :math:`(\mathcal N, \mathcal S, \mathcal A, P, r, \mu)` with
discount :math:`\gamma` has :math:`N` agents, a finite global state, a joint action
:math:`\mathcal A = \mathcal A^1\times\dots\times\mathcal A^N` and one shared reward. It is stored on the
:class:`~netmarl_verify.envs.TabularMDP` currency (``P[s, a, s']``, ``R[s, a]``) with the joint index
``a = np.ravel_multi_index((a^1, ..., a^N), action_sizes)`` (C order: **agent 0 the most significant
digit**, as :func:`~netmarl_verify.envs.product_table` and :func:`~netmarl_verify.solvers.exact.best_response`).
Agents are numbered ``0..N-1`` here (the paper's ``1..N``).

A DAG :math:`\mathcal G = (\mathcal N, \mathcal E)` gives each agent its parents :math:`P^i` (stored sorted);
a Bayesian-network policy is (chen2024 §3, eq. (1))

.. math:: \pi(a|s) = \prod_i \pi^i(a^i\mid s, a^{P^i}),\qquad
          \pi^i_{\theta^i}(a^i\mid s, a^{P^i}) = \frac{\exp\theta^i_{s, a^{P^i}, a^i}}{\sum_b \exp\theta^i_{s, a^{P^i}, b}},

with ``theta[i]`` of shape ``(nS, |A^{P^i}|, |A^i|)`` and the parent configuration indexed
``np.ravel_multi_index(a^{P^i}, [|A^j| for j in P^i])`` (sorted parents, the smallest one most
significant; one configuration when there is no parent). The empty DAG is a product policy; the
fully correlated DAG of chen2024 Def. 3 has :math:`|\mathcal E| = N(N-1)/2` edges, i.e. is a transitive
tournament (:attr:`BayesianNetwork.is_fully_correlated`).

Everything per agent works through two index arrays over the joint actions (built once, never a
Python loop over joint actions): ``own[i][a] = a^i`` and ``config[i][a]`` = the index of
:math:`a^{P^i}` inside ``a``. The joint table is then
``prod_i pi_i[s, config[i], own[i]]`` (:meth:`BNSoftmaxPolicy.joint_table`).

The instance families of the chen2024 guide (§7) are built by :func:`bn_game` from a name,
parameters and a seed (:data:`BN_GAME_FAMILIES`); each returns a :class:`BNGameInstance`
(game, DAG, initial logits and the paper's ε / λ where the guide fixes them).
"""

import itertools
import math
from dataclasses import dataclass, field

import numpy as np

from ._memory import check_memory
from ._policy import softmax
from ._random import as_generator
from ._tabular import TabularMDP
from ._validation import ModelValidationError, as_float_array, check_probabilities

__all__ = [
    "CooperativeMarkovGame",
    "BayesianNetwork",
    "BNSoftmaxPolicy",
    "BNGameInstance",
    "bn_game",
    "BN_GAME_FAMILIES",
    "CLIMBING_PAYOFF",
]

#: Claus & Boutilier (1998) climbing game payoff (chen2024 guide §7), rows agent 0, columns agent 1.
CLIMBING_PAYOFF = np.array([[11.0, -30.0, 0.0], [-30.0, 7.0, 6.0], [0.0, 0.0, 5.0]])


# ----------------------------------------------------------------------------- the game
class CooperativeMarkovGame:
    r"""A cooperative Markov game on the tabular currency (module docstring).

    Parameters
    ----------
    P : ndarray, shape (nS, prod(action_sizes), nS)
        ``P[s, a, s_next]``, joint index in C order over `action_sizes`.
    R : ndarray, shape (nS, prod(action_sizes))
        Shared reward ``R[s, a]``.
    action_sizes : sequence of int
        :math:`|\mathcal A^i|`, each >= 1.
    gamma : float in [0, 1)
    mu : ndarray, shape (nS,), optional
        Initial law (default uniform).

    Attributes
    ----------
    mdp : TabularMDP
    action_sizes : tuple of int
    n_agents, n_states, n_actions : int
    gamma : float
    mu : ndarray
    actions : ndarray of int, shape (n_actions, N)
        ``actions[a] = (a^1, ..., a^N)``.

    Raises
    ------
    ModelValidationError
        Naming the inconsistent argument.

    Examples
    --------
    >>> import numpy as np
    >>> from netmarl_verify.envs._bn_games import CooperativeMarkovGame
    >>> g = CooperativeMarkovGame(np.ones((1, 4, 1)), [[1.0, 0.0, 0.0, 1.0]], (2, 2), 0.0)
    >>> g.n_agents, g.n_actions, g.actions[2].tolist()
    (2, 4, [1, 0])
    """

    def __init__(self, P, R, action_sizes, gamma, mu=None):
        sizes = tuple(int(a) for a in action_sizes)
        if not sizes or any(a < 1 for a in sizes):
            raise ModelValidationError(f"`action_sizes` must be a non-empty sequence of positive ints, got {action_sizes!r}")
        self.mdp = P if isinstance(P, TabularMDP) and R is None else TabularMDP(P, R)
        if math.prod(sizes) != self.mdp.n_actions:
            raise ModelValidationError(f"the product of `action_sizes` {sizes} is {math.prod(sizes)}, but P and R have "
                                       f"{self.mdp.n_actions} joint actions")
        gamma = float(gamma)
        if not 0.0 <= gamma < 1.0:
            raise ModelValidationError(f"`gamma` must be in [0, 1), got {gamma}")
        nS = self.mdp.n_states
        self.mu = (np.full(nS, 1.0 / nS) if mu is None
                   else check_probabilities(as_float_array(mu, "mu").reshape(-1), nS, "mu"))
        if abs(float(self.mu.sum()) - 1.0) > 1e-10:
            raise ModelValidationError(f"`mu` sums to {float(self.mu.sum())!r}, not 1")
        self.action_sizes = sizes
        self.n_agents = len(sizes)
        self.n_states = nS
        self.n_actions = self.mdp.n_actions
        self.gamma = gamma
        self.actions = np.stack(np.unravel_index(np.arange(self.n_actions), sizes), axis=1) if sizes else None

    def __repr__(self):
        return (f"CooperativeMarkovGame(n_states={self.n_states}, action_sizes={self.action_sizes}, "
                f"gamma={self.gamma})")

    @property
    def P(self):
        """``P[s, a, s_next]``."""
        return self.mdp.P

    @property
    def R(self):
        """``R[s, a]``."""
        return self.mdp.R

    @property
    def reward_range(self):
        r"""``(r_min, r_max)`` of chen2024 Assumption 2 (over every state and joint action)."""
        return float(self.R.min()), float(self.R.max())

    @property
    def delta_r(self):
        r""":math:`\Delta r = r_{\max} - r_{\min}`."""
        lo, hi = self.reward_range
        return hi - lo


# ----------------------------------------------------------------------------- the DAG
class BayesianNetwork:
    r"""A DAG over the agents: ``parents[i]`` the parents :math:`P^i` of agent ``i`` (chen2024 §3).

    Parameters
    ----------
    parents : sequence of sequence of int
        One entry per agent; stored sorted, duplicates refused.

    Attributes
    ----------
    parents : tuple of tuple of int
    n_agents : int
    order : tuple of int
        A topological order (Kahn's algorithm, smallest ready agent first).
    edges : tuple of (int, int)
        ``(j, i)`` for ``j`` in ``parents[i]``.

    Raises
    ------
    ModelValidationError
        A parent out of range, an agent its own parent, a repeated parent, or a cycle (named).

    Examples
    --------
    >>> from netmarl_verify.envs._bn_games import BayesianNetwork
    >>> g = BayesianNetwork.full(3)
    >>> g.parents, g.is_fully_correlated, BayesianNetwork.chain(3).is_fully_correlated
    (((), (0,), (0, 1)), True, False)
    """

    def __init__(self, parents):
        parents = [tuple(int(j) for j in p) for p in parents]
        N = len(parents)
        for i, p in enumerate(parents):
            for j in p:
                if not 0 <= j < N:
                    raise ModelValidationError(f"parents[{i}] names agent {j}, outside 0..{N - 1}")
                if j == i:
                    raise ModelValidationError(f"agent {i} is listed as its own parent")
            if len(set(p)) != len(p):
                raise ModelValidationError(f"parents[{i}] = {p} repeats a parent")
        self.parents = tuple(tuple(sorted(p)) for p in parents)
        self.n_agents = N
        self.edges = tuple((j, i) for i, p in enumerate(self.parents) for j in p)
        indeg = [len(p) for p in self.parents]
        children = [[i for i in range(N) if j in self.parents[i]] for j in range(N)]
        ready = sorted(i for i in range(N) if indeg[i] == 0)
        order = []
        while ready:
            j = ready.pop(0)
            order.append(j)
            for c in children[j]:
                indeg[c] -= 1
                if indeg[c] == 0:
                    ready.append(c)
            ready.sort()
        if len(order) != N:
            cyc = sorted(set(range(N)) - set(order))
            raise ModelValidationError(f"the parent graph has a cycle through agents {cyc}: a Bayesian network "
                                       "needs a DAG")
        self.order = tuple(order)

    def __repr__(self):
        return f"BayesianNetwork(parents={self.parents})"

    def __eq__(self, other):
        return isinstance(other, BayesianNetwork) and other.parents == self.parents

    def __hash__(self):
        return hash(self.parents)

    @property
    def is_fully_correlated(self):
        r"""chen2024 Def. 3: :math:`|\mathcal E| = N(N-1)/2` (a DAG with that many edges is a transitive tournament)."""
        N = self.n_agents
        return len(self.edges) == N * (N - 1) // 2

    def ancestors(self, i):
        """The ancestors of agent `i` (sorted tuple)."""
        seen, stack = set(), list(self.parents[i])
        while stack:
            j = stack.pop()
            if j not in seen:
                seen.add(j)
                stack.extend(self.parents[j])
        return tuple(sorted(seen))

    # named shapes ----------------------------------------------------------
    @classmethod
    def product(cls, N):
        """The empty DAG (a product policy)."""
        return cls([()] * int(N))

    @classmethod
    def chain(cls, N):
        """``0 -> 1 -> ... -> N-1``."""
        return cls([()] + [(i - 1,) for i in range(1, int(N))])

    @classmethod
    def star(cls, N):
        """Agent 0 the parent of every other agent."""
        return cls([()] + [(0,)] * (int(N) - 1))

    @classmethod
    def inward_star(cls, N):
        """Agents ``0..N-2`` roots, agent ``N-1`` with parents ``0..N-2`` (the guide's parity star)."""
        N = int(N)
        return cls([()] * (N - 1) + [tuple(range(N - 1))])

    @classmethod
    def full(cls, N):
        """The fully correlated DAG of chen2024 Def. 3 in the order ``0..N-1``: ``P^i = {0..i-1}``."""
        return cls([tuple(range(i)) for i in range(int(N))])

    @classmethod
    def named(cls, name, N):
        """One of ``"product"``, ``"chain"``, ``"star"``, ``"inward_star"``, ``"full"``."""
        shapes = {"product": cls.product, "chain": cls.chain, "star": cls.star, "inward_star": cls.inward_star,
                  "full": cls.full}
        if name not in shapes:
            raise ModelValidationError(f"unknown DAG shape {name!r}; known: {sorted(shapes)}")
        return shapes[name](N)


# ----------------------------------------------------------------------------- the policy
class BNSoftmaxPolicy:
    r"""Tabular softmax Bayesian-network policy (chen2024 eq. (1); module docstring).

    Parameters
    ----------
    game : CooperativeMarkovGame
    dag : BayesianNetwork
        With ``dag.n_agents == game.n_agents``.
    theta : sequence of ndarray, optional
        ``theta[i]`` of shape ``(nS, |A^{P^i}|, |A^i|)``; default zeros (uniform).

    Attributes
    ----------
    theta : list of ndarray
    parent_sizes : tuple of int
        :math:`|\mathcal A^{P^i}|` (1 without parents).
    own, config : list of ndarray of int, shape (n_actions,)
        ``own[i][a] = a^i``; ``config[i][a]`` the parent-configuration index of ``a``.

    Examples
    --------
    >>> import numpy as np
    >>> from netmarl_verify.envs._bn_games import BayesianNetwork, BNSoftmaxPolicy, bn_game
    >>> inst = bn_game("coord2", dag="chain")
    >>> pol = BNSoftmaxPolicy(inst.game, inst.dag)
    >>> bool(np.allclose(pol.joint_table(), 0.25)), pol.size
    (True, 6)
    """

    def __init__(self, game, dag, theta=None):
        if not isinstance(game, CooperativeMarkovGame):
            raise TypeError(f"`game` must be a CooperativeMarkovGame, got {type(game).__name__}")
        if not isinstance(dag, BayesianNetwork):
            dag = BayesianNetwork(dag)
        if dag.n_agents != game.n_agents:
            raise ModelValidationError(f"the DAG has {dag.n_agents} agents, the game {game.n_agents}")
        self.game, self.dag = game, dag
        sizes = game.action_sizes
        self.parent_sizes = tuple(math.prod(sizes[j] for j in p) for p in dag.parents)
        self.shapes = tuple((game.n_states, self.parent_sizes[i], sizes[i]) for i in range(game.n_agents))
        acts = game.actions
        self.own = [acts[:, i] for i in range(game.n_agents)]
        self.config = [np.ravel_multi_index(tuple(acts[:, j] for j in p), tuple(sizes[j] for j in p))
                       if p else np.zeros(game.n_actions, dtype=np.int64) for p in dag.parents]
        if theta is None:
            theta = [np.zeros(s) for s in self.shapes]
        if len(theta) != game.n_agents:
            raise ModelValidationError(f"`theta` needs one array per agent ({game.n_agents}), got {len(theta)}")
        out = []
        for i, (t, s) in enumerate(zip(theta, self.shapes)):
            t = as_float_array(t, f"theta[{i}]")
            if t.shape != s:
                raise ModelValidationError(f"theta[{i}] must have shape (nS, |A^P|, |A^i|) = {s}, got {t.shape}")
            if not np.isfinite(t).all():
                raise ModelValidationError(f"theta[{i}] holds a non-finite logit")
            out.append(np.array(t, dtype=float))
        self.theta = out

    def __repr__(self):
        return f"BNSoftmaxPolicy(parents={self.dag.parents}, size={self.size})"

    # parameters --------------------------------------------------------------
    @property
    def size(self):
        r"""Number of parameters :math:`\sum_i|S||\mathcal A^{P^i}||\mathcal A^i|`."""
        return int(sum(math.prod(s) for s in self.shapes))

    @property
    def flat(self):
        """All logits, agent by agent, each in C order of ``(s, config, a^i)``."""
        return np.concatenate([t.reshape(-1) for t in self.theta])

    def split(self, flat):
        """Per-agent arrays of a flat parameter vector."""
        flat = np.asarray(flat, dtype=float).reshape(-1)
        if flat.size != self.size:
            raise ModelValidationError(f"a flat parameter vector needs {self.size} entries, got {flat.size}")
        out, k = [], 0
        for s in self.shapes:
            n = math.prod(s)
            out.append(flat[k:k + n].reshape(s))
            k += n
        return out

    def with_flat(self, flat):
        """A copy with the parameters of `flat`."""
        return BNSoftmaxPolicy(self.game, self.dag, self.split(flat))

    def with_theta(self, theta):
        """A copy with per-agent logits `theta`."""
        return BNSoftmaxPolicy(self.game, self.dag, theta)

    # tables ------------------------------------------------------------------
    def local_tables(self):
        r"""``[pi_i]`` with ``pi_i[s, c, b]`` :math:`=\pi^i(b\mid s, c)` (stable softmax)."""
        return [softmax(t, axis=-1) for t in self.theta]

    def log_local_tables(self):
        r"""``[log pi_i]`` by log-softmax (finite even where ``pi_i`` underflows to 0)."""
        out = []
        for t in self.theta:
            m = t.max(axis=-1, keepdims=True)
            out.append(t - m - np.log(np.exp(t - m).sum(axis=-1, keepdims=True)))
        return out

    def factor_tables(self, tables=None):
        """``f_i[s, a] = pi_i[s, config_i(a), a^i]`` for every agent, shape (N, nS, n_actions)."""
        tables = self.local_tables() if tables is None else tables
        check_memory(8.0 * self.game.n_agents * self.game.n_states * self.game.n_actions,
                     "the per-agent factor tables of a BN policy")
        return np.stack([t[:, c, o] for t, c, o in zip(tables, self.config, self.own)])

    def joint_table(self, tables=None):
        r"""The joint policy :math:`\pi(a|s) = \prod_i\pi^i(a^i|s, a^{P^i})`, shape (nS, n_actions)."""
        tables = self.local_tables() if tables is None else tables
        joint = np.ones((self.game.n_states, self.game.n_actions))
        for t, c, o in zip(tables, self.config, self.own):
            joint *= t[:, c, o]
        return joint

    def sample(self, states, rng=None):
        r"""Ancestral sampling of joint actions at `states` (topological order).

        Parameters
        ----------
        states : array_like of int, shape (m,)
        rng : seed or Generator
            One uniform per agent and sample is drawn first (shape ``(m, N)``), then a deterministic
            inverse-CDF pass.

        Returns
        -------
        ndarray of int, shape (m, N)
            Local actions; ``np.ravel_multi_index(out.T, action_sizes)`` gives joint indices.
        """
        rng = as_generator(rng)
        states = np.asarray(states)
        if states.ndim != 1 or not np.issubdtype(states.dtype, np.integer) or (states < 0).any() \
                or (states >= self.game.n_states).any():
            raise ModelValidationError(f"`states` must be a 1-D array of state indices in 0..{self.game.n_states - 1}")
        u = rng.random((states.size, self.game.n_agents))
        tables = self.local_tables()
        sizes = self.game.action_sizes
        out = np.zeros((states.size, self.game.n_agents), dtype=np.int64)
        for i in self.dag.order:
            p = self.dag.parents[i]
            cfg = (np.ravel_multi_index(tuple(out[:, j] for j in p), tuple(sizes[j] for j in p)) if p
                   else np.zeros(states.size, dtype=np.int64))
            cdf = np.cumsum(tables[i][states, cfg], axis=1)
            out[:, i] = np.minimum((u[:, i, None] > cdf).sum(axis=1), sizes[i] - 1)
        return out

    def score(self, state, action):
        r""":math:`\nabla_\theta\log\pi_\theta(a|s)` as a flat vector.

        Agent i's block is :math:`1\{s'=s, c=a^{P^i}\}(1\{b=a^i\} - \pi^i(b|s, c))` (softmax score).
        `action` is a joint index or a tuple of local actions.
        """
        a = int(np.ravel_multi_index(tuple(action), self.game.action_sizes)) if np.ndim(action) else int(action)
        s = int(state)
        blocks = []
        for t, c, o, shape in zip(self.local_tables(), self.config, self.own, self.shapes):
            g = np.zeros(shape)
            g[s, c[a]] = -t[s, c[a]]
            g[s, c[a], o[a]] += 1.0
            blocks.append(g.reshape(-1))
        return np.concatenate(blocks)


# ----------------------------------------------------------------------------- instance families
@dataclass
class BNGameInstance:
    r"""A game of a chen2024 guide §7 family with its DAG and initial logits.

    Attributes
    ----------
    name : str
    params : dict
        What :func:`bn_game` was called with (reproducible).
    game : CooperativeMarkovGame
    dag : BayesianNetwork
    theta0 : list of ndarray
        Initial logits (zeros unless the family fixes them).
    epsilon, lam : float or None
        The guide's ε and λ where the family fixes them.
    """

    name: str
    params: dict
    game: CooperativeMarkovGame
    dag: BayesianNetwork
    theta0: list = field(repr=False)
    epsilon: float | None = None
    lam: float | None = None

    def policy(self, theta=None):
        """The :class:`BNSoftmaxPolicy` at `theta` (default :attr:`theta0`)."""
        return BNSoftmaxPolicy(self.game, self.dag, self.theta0 if theta is None else theta)


def _one_state(R, sizes, gamma=0.0):
    R = np.asarray(R, dtype=float).reshape(1, -1)
    return CooperativeMarkovGame(np.ones((1, R.shape[1], 1)), R, sizes, gamma)


def _zeros(game, dag):
    return [np.zeros(s) for s in BNSoftmaxPolicy(game, dag).shapes]


def _random_game(S, N, A, gamma, rng):
    sizes = (int(A),) * int(N)
    nA = math.prod(sizes)
    P = rng.dirichlet(np.ones(S), size=(S, nA))
    R = rng.random((S, nA))
    return CooperativeMarkovGame(P, R, sizes, gamma)


def bn_game(name, *, seed=0, **params):
    r"""An instance of a chen2024 guide §7 family, reproducible from (name, params, seed).

    Families (:data:`BN_GAME_FAMILIES`; parameters with defaults):

    - ``coord2(gamma=0.0, dag="product")`` — |S| = 1, N = 2 binary, r = 1{a¹ = a²}.
    - ``climbing(dag="product", gamma=0.0)`` — the climbing game, rescaled (C + 30)/41.
    - ``climbing3(gamma=0.0)`` — |A| = 3×3×2, r = C̃(a¹, a²)(0.5 + 0.5·1{a³ = 0}); full DAG.
    - ``and3(dag="inward_star", c=0.0)`` — N = 3 binary, r = 1{a = (1,1,1)}, ε = 0.1; ``c`` > 0 puts
      θ³ = (c, 0) at parent configuration (1, 1) (``dag="product"``: at its only configuration).
    - ``mod3(lam=1e-2)`` — agents 0, 1 → 2, |A³| = 3, r = 1{a³ = (a¹ + 2a²) mod 3}.
    - ``parity_star(N=6)`` — roots 0..N-2, agent N-1 with all of them as parents,
      r = 1{a^{N-1} = Σ_{j<N-1} a^j mod 2}; ε = 0.1, λ = 0.05.
    - ``single_state(N=3, kind="additive")`` — kind ∈ {"additive", "and", "climbing"}; full DAG.
    - ``chain3(seed)`` — a random 2-state, 3-agent binary game with the chain 0 → 1 → 2.
    - ``random(S=2, N=2, A=2, gamma=0.9, dag="full")`` — Dirichlet(1) kernels, U[0, 1) rewards.
    - ``miscoordinated_full(c=8.0)`` — coord2 with the full DAG, π¹(a¹ = 1) ≈ e^{-c} and agent 2
      answering a¹ = 1 with 0 (probability ≈ 1 - e^{-c}): its Nash gap and optimality gap differ.

    Randomness (random kernels and rewards) only from ``numpy.random.default_rng(seed)``.
    """
    p = dict(params)
    rng = as_generator(int(seed))
    if name == "coord2":
        game = _one_state([1.0, 0.0, 0.0, 1.0], (2, 2), p.get("gamma", 0.0))
        dag = BayesianNetwork.named(p.get("dag", "product"), 2)
        return BNGameInstance(name, {"seed": seed, **p}, game, dag, _zeros(game, dag))
    if name == "climbing":
        game = _one_state((CLIMBING_PAYOFF + 30.0) / 41.0, (3, 3), p.get("gamma", 0.0))
        dag = BayesianNetwork.named(p.get("dag", "product"), 2)
        return BNGameInstance(name, {"seed": seed, **p}, game, dag, _zeros(game, dag))
    if name == "climbing3":
        C = (CLIMBING_PAYOFF + 30.0) / 41.0
        R = C[:, :, None] * np.array([1.0, 0.5])[None, None, :]
        game = _one_state(R, (3, 3, 2), p.get("gamma", 0.0))
        dag = BayesianNetwork.full(3)
        return BNGameInstance(name, {"seed": seed, **p}, game, dag, _zeros(game, dag))
    if name == "and3":
        R = np.zeros((2, 2, 2))
        R[1, 1, 1] = 1.0
        game = _one_state(R, (2, 2, 2))
        dag = BayesianNetwork.named(p.get("dag", "inward_star"), 3)
        theta0 = _zeros(game, dag)
        c = float(p.get("c", 0.0))
        if c:
            cfg = 3 if dag.parents[2] == (0, 1) else 0
            theta0[2][0, cfg] = [c, 0.0]
        return BNGameInstance(name, {"seed": seed, **p}, game, dag, theta0, epsilon=0.1, lam=p.get("lam"))
    if name == "mod3":
        R = np.zeros((2, 2, 3))
        for a1, a2 in itertools.product(range(2), range(2)):
            R[a1, a2, (a1 + 2 * a2) % 3] = 1.0
        game = _one_state(R, (2, 2, 3))
        dag = BayesianNetwork.inward_star(3)
        return BNGameInstance(name, {"seed": seed, **p}, game, dag, _zeros(game, dag), lam=p.get("lam", 1e-2))
    if name == "parity_star":
        N = int(p.get("N", 6))
        if N < 2:
            raise ModelValidationError(f"parity_star needs N >= 2 agents, got {N}")
        acts = np.stack(np.unravel_index(np.arange(2**N), (2,) * N), axis=1)
        R = (acts[:, -1] == acts[:, :-1].sum(axis=1) % 2).astype(float)
        game = _one_state(R, (2,) * N)
        dag = BayesianNetwork.inward_star(N)
        return BNGameInstance(name, {"seed": seed, **p}, game, dag, _zeros(game, dag), epsilon=0.1, lam=0.05)
    if name == "single_state":
        N, kind = int(p.get("N", 3)), p.get("kind", "additive")
        acts = np.stack(np.unravel_index(np.arange(2**N), (2,) * N), axis=1)
        if kind == "additive":
            R = acts.mean(axis=1)
        elif kind == "and":
            R = acts.all(axis=1).astype(float)
        elif kind == "climbing":  # a coordination trap: all-ones best, a lone 1 penalised
            k = acts.sum(axis=1)
            R = np.where(k == N, 1.0, np.where(k == 0, 0.6, 0.6 * (1 - k / N)))
        else:
            raise ModelValidationError(f"single_state kind must be 'additive', 'and' or 'climbing', got {kind!r}")
        game = _one_state(R, (2,) * N)
        dag = BayesianNetwork.full(N)
        return BNGameInstance(name, {"seed": seed, **p}, game, dag, _zeros(game, dag))
    if name == "chain3":
        game = _random_game(2, 3, 2, p.get("gamma", 0.9), rng)
        dag = BayesianNetwork.chain(3)
        return BNGameInstance(name, {"seed": seed, **p}, game, dag, _zeros(game, dag))
    if name == "random":
        S, N, A = int(p.get("S", 2)), int(p.get("N", 2)), int(p.get("A", 2))
        game = _random_game(S, N, A, float(p.get("gamma", 0.9)), rng)
        dag = BayesianNetwork.named(p.get("dag", "full"), N)
        return BNGameInstance(name, {"seed": seed, **p}, game, dag, _zeros(game, dag))
    if name == "miscoordinated_full":
        c = float(p.get("c", 8.0))
        game = _one_state([1.0, 0.0, 0.0, 1.0], (2, 2))
        dag = BayesianNetwork.full(2)
        theta0 = _zeros(game, dag)
        theta0[0][0, 0] = [c, 0.0]  # pi^1(a^1 = 1) ~ e^-c
        theta0[1][0, 0] = [c, 0.0]  # a^1 = 0 -> copy
        theta0[1][0, 1] = [c, 0.0]  # a^1 = 1 -> answer 0 (poor)
        return BNGameInstance(name, {"seed": seed, **p}, game, dag, theta0)
    raise ModelValidationError(f"unknown chen2024 game family {name!r}; known: {BN_GAME_FAMILIES}")


#: The family names :func:`bn_game` knows.
BN_GAME_FAMILIES = ("coord2", "climbing", "climbing3", "and3", "mod3", "parity_star", "single_state", "chain3",
                    "random", "miscoordinated_full")
