r"""zhang2025's models: decentralized MAMDPs with a global state, product softmax policies, the grid Simple Spread.

zhang2025 §3.1: N agents observe a **global** state :math:`s \in \mathcal S`, take a joint action
:math:`a = (a^1, \dots, a^N) \in \mathcal A = \prod_i \mathcal A^i`, receive local rewards :math:`r^i` and
maximise the discounted team return :math:`J(\theta) = E[\sum_t \gamma^t \bar r_{t+1}]`, :math:`\bar r = \frac1N\sum_i r^i`,
from a fixed start :math:`s_0` (eq. (1)). The policy is a product :math:`\pi_\theta(a|s) = \prod_i \pi^i_{\theta^i}(a^i|s)`
(§3.1), :math:`\theta = (\theta^1, \dots, \theta^N)` stacked agent by agent.

Currency
--------
:class:`ZhangMAMDP` holds a :class:`~netmarl_verify.envs.TabularMDP` on global states and **joint** actions
(``mdp.P[s, a, s']`` the original kernel :math:`\mathbb P`, ``mdp.R[s, a]`` the team reward :math:`\bar r`),
the local rewards ``local_R[i, s, a]``, the per-agent action sizes, :math:`\gamma`, the restart state
:math:`s_0` and the reset law :math:`\rho_0`. Joint actions are enumerated with
``np.ravel_multi_index(local, action_sizes)``: **agent 0 is the most significant digit** (the package's
convention). The restart kernel :math:`\gamma\mathbb P + (1-\gamma)\mathbb 1\{s'=s_0\}` is not stored: the
exact solvers build it (:class:`~netmarl_verify.solvers.exact.RestartOperator`).

Policies
--------
:class:`ProductSoftmaxPolicy`: agent i's logits are a differentiable map :math:`\theta^i \mapsto
\ell^i(s, b)`, :math:`\pi^i(b|s) = \mathrm{softmax}_b\,\ell^i(s, \cdot)`, score :math:`\psi^i(s, b) =
\partial_{\theta^i}\ell^i(s, b) - \sum_c \pi^i(c|s)\partial_{\theta^i}\ell^i(s, c)`. The maps (guide §1.4):

* :class:`LinearLogits` — :math:`\ell^i(s,b) = \Phi^i[s,b,:]\theta^i`: the tabular softmax
  (:func:`tabular_features`, one-hot of (s, b)), the reduced softmax (:func:`reduced_features`,
  :math:`|\mathcal A^i| - 1` logits per state, the last one fixed at 0) and log-linear policies with
  any features;
* :class:`LoopLogits` — the one-parameter periodic "loop" policy of guide §7,
  :math:`\ell(s, \cdot) = c(\cos\theta, \sin\theta, 0)` on three actions.

The paper's DNN actor is not built here (issue 14 §3).

Instance families (guide §7)
----------------------------
:func:`bandit3_loop`, :func:`bandit3`, :func:`random_mdp`, :func:`random_mamdp`, :func:`swap2`,
:func:`spread_grid` (the modified Simple Spread of App. D.1, :class:`SpreadGrid`), all reproducible
from (name, parameters, seed) through :func:`make_zhang2025_instance` and :data:`ZHANG2025_FAMILIES`.

Readings pinned for the Simple Spread (App. D.1 leaves them open)
------------------------------------------------------------------
Cells ``c = x * width + y``, :math:`x \in [0, \text{length})`, :math:`y \in [0, \text{width})`; the global state
is ``ravel_multi_index((c_0, ..., c_{N-1}), (C,)*N)``, agent 0 most significant. Actions in the paper's order
{Up (+y), Down (−y), Left (−x), Right (+x), Stay} (:data:`SPREAD_ACTIONS`; :data:`MPE2_ACTION` maps them to
mpe2's Discrete(5) codes); a move off the grid leaves the agent in place; agents may share a cell (no
collision penalty). Reward :math:`-\sum_\ell \min_j \|p_j - \ell\|_1` (ℓ1, as the grid suggests; mpe2 uses
Euclidean), one global number for every agent (:math:`r^i \equiv r`), read at the current state
(``reward_timing="current"``) or after the move (``"post"``, as mpe2); an optional ``shift`` adds a constant
(Assumption 5.3 asks :math:`r \ge 0`: the unshifted reward violates it, the meter says so). Landmarks
default to :data:`DEFAULT_LANDMARKS`. Resets: :math:`\rho_0` uniform over all configurations
(``start="uniform"``) or over non-overlapping ones (``"no_overlap"``); the restart state :math:`s_0` of
§3.1 is pinned to every agent in cell 0 (x = y = 0).
"""

import math
from dataclasses import dataclass, field

import numpy as np

from ._memory import check_memory
from ._random import as_generator
from ._tabular import TabularMDP
from ._validation import ShapeError, as_float_array, fmt_number

__all__ = [
    "ZhangMAMDP",
    "ProductSoftmaxPolicy",
    "LinearLogits",
    "LoopLogits",
    "tabular_features",
    "reduced_features",
    "joint_action_digits",
    "SpreadGrid",
    "SPREAD_ACTIONS",
    "MPE2_ACTION",
    "DEFAULT_LANDMARKS",
    "spread_landmarks",
    "spread_move_cells",
    "bandit3_loop",
    "bandit3",
    "random_mdp",
    "random_mamdp",
    "swap2",
    "spread_grid",
    "ZHANG2025_FAMILIES",
    "make_zhang2025_instance",
]


def joint_action_digits(action_sizes):
    """Agent actions of every joint action: int array ``(N, |A|)``, agent 0 the most significant digit.

    >>> joint_action_digits((2, 3)).tolist()
    [[0, 0, 0, 1, 1, 1], [0, 1, 2, 0, 1, 2]]
    """
    sizes = tuple(int(a) for a in action_sizes)
    return np.array(np.unravel_index(np.arange(int(np.prod(sizes))), sizes), dtype=np.int64).reshape(len(sizes), -1)


# ----------------------------------------------------------------------------- policies
class LinearLogits:
    r"""Logits linear in the parameters, :math:`\ell(s, b) = \Phi[s, b, :]\,\theta` (tabular, reduced, log-linear).

    Parameters
    ----------
    features : ndarray, shape (|S|, A_i, p_i)
    """

    def __init__(self, features):
        F = as_float_array(features, "features")
        if F.ndim != 3:
            raise ShapeError(f"features must have shape (|S|, A_i, p_i), got {F.shape}")
        self.features = F
        self.n_states, self.n_actions, self.size = F.shape

    def logits(self, theta):
        return self.features @ theta

    def jacobian(self, theta):
        return self.features


class LoopLogits:
    r"""The one-parameter "loop" logits :math:`c(\cos\theta, \sin\theta, 0)` on three actions, the same in every state.

    Parameters
    ----------
    c : float
        Logit scale (guide §7: 1, 0.5, 0.1).
    n_states : int
    """

    def __init__(self, c, n_states=1):
        self.c, self.n_states, self.n_actions, self.size = float(c), int(n_states), 3, 1

    def logits(self, theta):
        t = float(np.asarray(theta).reshape(-1)[0])
        row = self.c * np.array([math.cos(t), math.sin(t), 0.0])
        return np.broadcast_to(row, (self.n_states, 3)).copy()

    def jacobian(self, theta):
        t = float(np.asarray(theta).reshape(-1)[0])
        row = self.c * np.array([-math.sin(t), math.cos(t), 0.0])
        return np.broadcast_to(row[None, :, None], (self.n_states, 3, 1)).copy()


def tabular_features(n_states, n_actions):
    """One-hot features of (s, b): the tabular softmax, ``p_i = |S| A_i`` (``theta[s * A_i + b]``)."""
    F = np.eye(n_states * n_actions).reshape(n_states, n_actions, n_states * n_actions)
    return F


def reduced_features(n_states, n_actions):
    """Reduced softmax: logits ``theta[s, b]`` for b < A_i - 1, the last action's logit fixed at 0 (``p_i = |S|(A_i-1)``)."""
    k = n_actions - 1
    F = np.zeros((n_states, n_actions, n_states * k))
    for s in range(n_states):
        F[s, np.arange(k), s * k + np.arange(k)] = 1.0
    return F


def _softmax(x):
    z = np.exp(x - x.max(axis=-1, keepdims=True))
    return z / z.sum(axis=-1, keepdims=True)


class ProductSoftmaxPolicy:
    r"""A product policy :math:`\pi_\theta(a|s) = \prod_i \mathrm{softmax}(\ell^i_{\theta^i}(s,\cdot))(a^i)` (module docstring).

    Parameters
    ----------
    maps : sequence of LinearLogits or LoopLogits
        One per agent, on the same states.
    theta : sequence of ndarray, or ndarray
        Per-agent parameters (``theta[i]`` of shape ``(maps[i].size,)``) or the stacked vector.

    Attributes
    ----------
    n_agents, n_states : int
    action_sizes : tuple of int
    blocks : list of slice
        Agent i's coordinates in the stacked :math:`\theta`.
    size : int
        :math:`\dim\theta`.
    flat : ndarray
        The stacked :math:`\theta`.

    Examples
    --------
    >>> import numpy as np
    >>> pol = ProductSoftmaxPolicy([LinearLogits(tabular_features(1, 2))] * 2, np.zeros(4))
    >>> pol.joint_table().round(3).tolist(), pol.joint_scores().shape
    ([[0.25, 0.25, 0.25, 0.25]], (1, 4, 4))
    """

    def __init__(self, maps, theta):
        self.maps = list(maps)
        if not self.maps:
            raise ValueError("a product policy needs at least one agent")
        states = {m.n_states for m in self.maps}
        if len(states) != 1:
            raise ShapeError(f"every agent's logit map must be on the same states, got {sorted(states)}")
        self.n_agents, self.n_states = len(self.maps), states.pop()
        self.action_sizes = tuple(int(m.n_actions) for m in self.maps)
        sizes = [int(m.size) for m in self.maps]
        ends = np.cumsum([0] + sizes)
        self.blocks = [slice(int(a), int(b)) for a, b in zip(ends[:-1], ends[1:])]
        self.size = int(ends[-1])
        if isinstance(theta, np.ndarray) and theta.ndim == 1 and theta.size == self.size:
            flat = np.asarray(theta, dtype=np.float64).copy()
        else:
            parts = [np.asarray(t, dtype=np.float64).reshape(-1) for t in theta]
            if len(parts) != self.n_agents or any(p.size != s for p, s in zip(parts, sizes)):
                raise ShapeError(f"theta must be {self.n_agents} blocks of sizes {sizes} (or one vector of {self.size})")
            flat = np.concatenate(parts)
        if not np.all(np.isfinite(flat)):
            raise ValueError("theta must be finite")
        self.flat = flat

    def theta(self, i):
        """Agent i's parameters :math:`\\theta^i`."""
        return self.flat[self.blocks[i]]

    def with_flat(self, flat):
        """The same parametrisation at another stacked :math:`\\theta`."""
        flat = np.asarray(flat, dtype=np.float64).reshape(-1)
        if flat.size != self.size:
            raise ShapeError(f"flat must have {self.size} entries, got {flat.size}")
        return ProductSoftmaxPolicy(self.maps, flat)

    def agent_tables(self):
        """``[pi_i[s, b]]``, one (|S|, A_i) table per agent."""
        return [_softmax(m.logits(self.theta(i))) for i, m in enumerate(self.maps)]

    def joint_table(self):
        """``pi[s, a]`` over joint actions (agent 0 most significant), shape (|S|, |A|)."""
        tabs = self.agent_tables()
        out = tabs[0]
        for t in tabs[1:]:
            out = (out[:, :, None] * t[:, None, :]).reshape(self.n_states, -1)
        return out

    def agent_scores(self):
        r"""``[psi_i[s, b, :]]``: :math:`\nabla_{\theta^i}\log\pi^i(b|s)`, one (|S|, A_i, p_i) array per agent."""
        out = []
        for i, (m, pi) in enumerate(zip(self.maps, self.agent_tables())):
            Jm = m.jacobian(self.theta(i))
            out.append(Jm - np.einsum("sb,sbp->sp", pi, Jm)[:, None, :])
        return out

    def joint_scores(self):
        r""":math:`\psi(s, a) = \nabla_\theta\log\pi_\theta(a|s)`, shape (|S|, |A|, p), block ``blocks[i]`` = :math:`\psi^i(s, a^i)`."""
        digits = joint_action_digits(self.action_sizes)
        out = np.zeros((self.n_states, digits.shape[1], self.size))
        for i, psi in enumerate(self.agent_scores()):
            out[:, :, self.blocks[i]] = psi[:, digits[i], :]
        return out


# ----------------------------------------------------------------------------- the model
@dataclass
class ZhangMAMDP:
    r"""A zhang2025 MAMDP on the tabular currency (module docstring).

    Attributes
    ----------
    mdp : TabularMDP
        Original kernel ``P[s, a, s']`` on joint actions, team reward ``R[s, a]`` (:math:`\bar r`).
    local_R : ndarray, shape (N, |S|, |A|)
        Local rewards :math:`r^i(s, a)` (the paper's :math:`r^i(s, a^i)` broadcast over the joint action).
    action_sizes : tuple of int
    gamma : float
    s0 : int
        Restart / start state (§3.1).
    rho0 : ndarray, shape (|S|,)
        Reset law of the experiments (default :math:`\delta_{s_0}`).
    policy : ProductSoftmaxPolicy
        The instance's policy at its parameters.
    name : str
    params : dict
    """

    mdp: TabularMDP
    local_R: np.ndarray
    action_sizes: tuple
    gamma: float
    s0: int
    rho0: np.ndarray
    policy: ProductSoftmaxPolicy
    name: str = ""
    params: dict = field(default_factory=dict)

    @property
    def n_agents(self):
        return len(self.action_sizes)

    @property
    def n_states(self):
        return self.mdp.n_states

    @property
    def n_actions(self):
        return self.mdp.n_actions

    def with_policy(self, policy):
        """The same model with another policy (same parametrisation shapes)."""
        return ZhangMAMDP(self.mdp, self.local_R, self.action_sizes, self.gamma, self.s0, self.rho0, policy,
                          self.name, dict(self.params))


def _model(P, local_R, action_sizes, gamma, s0, policy, name, params, rho0=None):
    local_R = np.asarray(local_R, dtype=np.float64)
    mdp = TabularMDP(P, local_R.mean(axis=0))
    if rho0 is None:
        rho0 = np.zeros(mdp.n_states)
        rho0[s0] = 1.0
    if not 0.0 < gamma < 1.0:
        raise ValueError(f"`gamma` must be in (0, 1), got {fmt_number(gamma)}")
    return ZhangMAMDP(mdp, local_R, tuple(action_sizes), float(gamma), int(s0), np.asarray(rho0, float), policy,
                      name, dict(params))


def bandit3_loop(c=1.0, theta=0.0, gamma=0.9):
    r"""guide §7 ``bandit3_loop``: one state, arms r = (0, 0, 1), the loop policy :math:`c(\cos\theta, \sin\theta, 0)`.

    :math:`J(\theta) = \pi(3)/(1-\gamma)`; the optimum :math:`1/(1-\gamma)` (arm 3) is approached only as
    :math:`c\to\infty`: on the loop it is :math:`\max_\theta\pi_\theta(3)/(1-\gamma) < 1/(1-\gamma)`.

    >>> inst = bandit3_loop(1.0, math.pi)
    >>> inst.policy.joint_table().round(4).tolist()
    [[0.1554, 0.4223, 0.4223]]
    """
    P = np.ones((1, 3, 1))
    pol = ProductSoftmaxPolicy([LoopLogits(c, 1)], np.array([float(theta)]))
    return _model(P, np.array([[[0.0, 0.0, 1.0]]]), (3,), gamma, 0, pol, f"bandit3_loop c={c:g} theta={theta:g}",
                  {"family": "bandit3_loop", "c": float(c), "theta": float(theta), "gamma": float(gamma)})


def bandit3(r=(-1.0, -2.0, -3.0), gamma=0.99, init_logits=(0.0, 0.0, 0.0), shift=0.0):
    """guide §7 ``bandit3``: one state, three arms with rewards `r` (+ `shift`), a tabular softmax at `init_logits`."""
    r = np.asarray(r, dtype=np.float64) + float(shift)
    pol = ProductSoftmaxPolicy([LinearLogits(tabular_features(1, 3))], np.asarray(init_logits, dtype=np.float64))
    return _model(np.ones((1, 3, 1)), r[None, None, :], (3,), gamma, 0, pol,
                  f"bandit3 r={tuple(r.tolist())} logits={tuple(init_logits)}",
                  {"family": "bandit3", "gamma": float(gamma), "shift": float(shift)})


def _parametrisation(kind, n_states, n_actions, rng, scale, n_features=2):
    if kind == "tabular":
        F = tabular_features(n_states, n_actions)
    elif kind == "reduced":
        F = reduced_features(n_states, n_actions)
    elif kind == "loglinear":
        F = rng.standard_normal((n_states, n_actions, n_features)) / math.sqrt(n_features)
    elif kind == "loop":
        if n_actions != 3:
            raise ValueError(f"the loop policy needs 3 actions per agent, got {n_actions}")
        return LoopLogits(scale, n_states), np.array([rng.uniform(0, 2 * math.pi)])
    else:
        raise ValueError(f"unknown parametrisation {kind!r}; known: tabular, reduced, loglinear, loop")
    m = LinearLogits(F)
    return m, scale * rng.standard_normal(m.size)


def random_mamdp(N=2, S=3, A_i=2, gamma=0.9, seed=0, scale=1.0, power=2.0, parametrisation="tabular",
                 local_rewards=True):
    r"""guide §7 ``random_mamdp``: random kernel rows :math:`U^{p}` normalised, rewards in [0, 1], product policy.

    Parameters
    ----------
    N, S, A_i : int
        Agents, global states, actions per agent.
    gamma : float in (0, 1)
    seed : int
    scale : float
        Logit scale (parameters ~ scale * N(0, 1)); the loop scale c for ``parametrisation="loop"``.
    power : float
        Rows are ``U**power`` normalised (p large: near-deterministic rows).
    parametrisation : {"tabular", "reduced", "loglinear", "loop"}
    local_rewards : bool
        Distinct local rewards :math:`r^i(s, a^i)` (True) or one shared reward.

    Examples
    --------
    >>> inst = random_mamdp(2, 3, 2, seed=0)
    >>> inst.mdp.P.shape, inst.local_R.shape, inst.policy.size
    ((3, 4, 3), (2, 3, 4), 12)
    """
    rng = as_generator(np.random.SeedSequence([int(seed), 2025]))
    nA = int(A_i) ** int(N)
    U = rng.random((S, nA, S)) ** float(power) + 1e-300
    P = U / U.sum(axis=2, keepdims=True)
    digits = joint_action_digits((A_i,) * N)
    loc = rng.random((N, S, A_i))
    if not local_rewards:
        loc[:] = loc[:1]
    local_R = np.stack([loc[i][:, digits[i]] for i in range(N)])
    maps, thetas = zip(*[_parametrisation(parametrisation, S, A_i, rng, scale) for _ in range(N)])
    pol = ProductSoftmaxPolicy(maps, list(thetas))
    name = f"random_mamdp N={N} S={S} A={A_i} gamma={gamma:g} seed={seed} scale={scale:g} {parametrisation}"
    return _model(P, local_R, (A_i,) * N, gamma, 0, pol, name,
                  {"family": "random_mamdp", "N": N, "S": S, "A_i": A_i, "gamma": float(gamma), "seed": int(seed),
                   "scale": float(scale), "power": float(power), "parametrisation": parametrisation})


def random_mdp(S=4, A=3, gamma=0.9, seed=0, scale=1.0, power=2.0, parametrisation="tabular"):
    """guide §7 ``random_mdp``: :func:`random_mamdp` with one agent (default identity-check instance S=4, A=3, γ=0.9)."""
    inst = random_mamdp(1, S, A, gamma, seed, scale, power, parametrisation)
    inst.name = f"random_mdp S={S} A={A} gamma={gamma:g} seed={seed} scale={scale:g} {parametrisation}"
    inst.params.update(family="random_mdp", A=A)
    inst.params.pop("N"), inst.params.pop("A_i")
    return inst


def swap2(gamma=0.9, p_stay=0.0, scale=1.0, seed=0):
    r"""guide §7 ``swap2``: two states, :math:`\mathbb P_\pi` the deterministic swap (a 2-cycle through :math:`s_0=0`).

    One agent with two actions that both swap (``p_stay`` > 0 makes action 1 stay with that probability); reward 1 in
    state 1. The original chain is periodic (period 2); the restart chain is aperiodic for :math:`\gamma < 1`.
    """
    P = np.zeros((2, 2, 2))
    P[0, :, 1] = P[1, :, 0] = 1.0
    P[:, 1] *= 1.0 - p_stay
    P[0, 1, 0] += p_stay
    P[1, 1, 1] += p_stay
    rng = as_generator(np.random.SeedSequence([int(seed), 2]))
    m = LinearLogits(tabular_features(2, 2))
    pol = ProductSoftmaxPolicy([m], scale * rng.standard_normal(m.size))
    R = np.array([[[0.0, 0.0], [1.0, 1.0]]])
    return _model(P, R, (2,), gamma, 0, pol, f"swap2 gamma={gamma:g} p_stay={p_stay:g}",
                  {"family": "swap2", "gamma": float(gamma), "p_stay": float(p_stay)})


# ----------------------------------------------------------------------------- Simple Spread on a grid
#: The paper's action list (App. D.1) in the pinned order: (dx, dy) per action.
SPREAD_ACTIONS = {"Up": (0, 1), "Down": (0, -1), "Left": (-1, 0), "Right": (1, 0), "Stay": (0, 0)}
#: The pinned action order mapped to mpe2's Discrete(5) codes (0 no_action, 1 left, 2 right, 3 down, 4 up).
MPE2_ACTION = {"Up": 4, "Down": 3, "Left": 1, "Right": 2, "Stay": 0}
#: Pinned landmarks (x, y) (App. D.1 does not give them): guide §5.1.
DEFAULT_LANDMARKS = {2: ((3, 2), (9, 2)), 3: ((2, 1), (6, 3), (10, 2))}
_MOVES = np.array(list(SPREAD_ACTIONS.values()), dtype=np.int64)


def spread_landmarks(N, length, width):
    """The pinned landmarks of :class:`SpreadGrid`: :data:`DEFAULT_LANDMARKS` on 13 x 5 (N = 2, 3), else N evenly
    spaced cells of the middle row, ``((k + 1) * length // (N + 1), width // 2)``.

    >>> spread_landmarks(4, 13, 5)
    ((2, 2), (5, 2), (7, 2), (10, 2))
    """
    N, length, width = int(N), int(length), int(width)
    if (length, width) == (13, 5) and N in DEFAULT_LANDMARKS:
        return DEFAULT_LANDMARKS[N]
    return tuple(((k + 1) * length // (N + 1), width // 2) for k in range(N))


def spread_move_cells(cells, actions, length, width):
    """Cells ``x * width + y`` after moving by ``actions`` (indices into :data:`SPREAD_ACTIONS`); a move off the
    grid stays (pinned: walls block)."""
    cells = np.asarray(cells)
    x, y = cells // width, cells % width
    d = _MOVES[np.asarray(actions)]
    nx_, ny = x + d[..., 0], y + d[..., 1]
    off = (nx_ < 0) | (nx_ >= length) | (ny < 0) | (ny >= width)
    return np.where(off, cells, nx_ * width + ny)


class SpreadGrid:
    r"""The modified Simple Spread of zhang2025 App. D.1 on a ``length x width`` grid (readings: module docstring).

    Parameters
    ----------
    N : int
        Agents (= landmarks).
    length, width : int
        Grid size (the paper: 13 x 5).
    landmarks : sequence of (x, y), optional
        Default :data:`DEFAULT_LANDMARKS` on 13 x 5, else evenly spaced on the middle row.
    reward_timing : {"current", "post"}
    shift : float
        Added to every reward.
    start : {"uniform", "no_overlap"}
        The reset law :math:`\rho_0`.

    Attributes
    ----------
    n_cells, n_states, n_joint : int
    next_state : ndarray of int, shape (|S|, 5^N)
        Deterministic successor of every (state, joint action).
    reward : ndarray, shape (|S|, 5^N)

    Examples
    --------
    >>> g = SpreadGrid(2, 13, 5)
    >>> g.n_states, g.n_joint, g.diameter
    (4225, 25, 16)
    >>> s = g.encode([[3, 2], [9, 2]]); float(g.reward[s, 0])
    0.0
    """

    def __init__(self, N=2, length=13, width=5, landmarks=None, reward_timing="current", shift=0.0, start="uniform",
                 max_bytes=None):
        self.N, self.length, self.width = int(N), int(length), int(width)
        if self.N < 1 or self.length < 1 or self.width < 1:
            raise ValueError(f"N, length, width must be positive, got {N}, {length}, {width}")
        if reward_timing not in ("current", "post"):
            raise ValueError(f"reward_timing must be 'current' or 'post', got {reward_timing!r}")
        if start not in ("uniform", "no_overlap"):
            raise ValueError(f"start must be 'uniform' or 'no_overlap', got {start!r}")
        if landmarks is None:
            landmarks = spread_landmarks(self.N, self.length, self.width)
        self.landmarks = np.array(landmarks, dtype=np.int64).reshape(-1, 2)
        if ((self.landmarks < 0) | (self.landmarks >= [self.length, self.width])).any():
            raise ValueError(f"landmarks {self.landmarks.tolist()} must lie on the {self.length} x {self.width} grid")
        self.reward_timing, self.shift, self.start = reward_timing, float(shift), start
        self.n_cells = self.length * self.width
        self.n_states = self.n_cells ** self.N
        self.n_joint = 5 ** self.N
        self.diameter = (self.length - 1) + (self.width - 1)
        check_memory(8.0 * 3 * self.n_states * self.n_joint, f"the Simple Spread tables (N = {self.N}, "
                     f"{self.n_states} states x {self.n_joint} joint actions)", max_bytes=max_bytes)
        states = np.arange(self.n_states)
        cells = self.decode_cells(states)                                  # (|S|, N)
        digits = joint_action_digits((5,) * self.N)                        # (N, 5^N)
        nxt = np.empty((self.n_states, self.n_joint), dtype=np.int64)
        for a in range(self.n_joint):
            nxt[:, a] = self._encode_cells(self._move_cells(cells, digits[:, a]))
        self.next_state = nxt
        r_state = self.state_reward(states)
        self.reward = (r_state[:, None] if reward_timing == "current" else r_state[nxt]) * np.ones((1, self.n_joint))
        self.s0 = 0

    # -- encodings
    def decode_cells(self, states):
        """Cells ``(..., N)`` of global states (agent 0 most significant)."""
        return np.stack(np.unravel_index(np.asarray(states), (self.n_cells,) * self.N), axis=-1)

    def _encode_cells(self, cells):
        return np.ravel_multi_index(tuple(np.moveaxis(np.asarray(cells), -1, 0)), (self.n_cells,) * self.N)

    def encode(self, positions):
        """Global state of agents at ``positions[j] = (x, y)``."""
        p = np.asarray(positions, dtype=np.int64)
        return int(self._encode_cells(p[..., 0] * self.width + p[..., 1]))

    def positions(self, states):
        """``(..., N, 2)`` positions (x, y) of global states."""
        c = self.decode_cells(states)
        return np.stack([c // self.width, c % self.width], axis=-1)

    def _move_cells(self, cells, actions):
        return spread_move_cells(cells, actions, self.length, self.width)           # pinned: blocked moves stay

    def state_reward(self, states):
        r""":math:`-\sum_\ell\min_j\|p_j-\ell\|_1` + shift at global states."""
        p = self.positions(states)                                          # (..., N, 2)
        dist = np.abs(p[..., :, None, :] - self.landmarks).sum(axis=-1)     # (..., N agents, L)
        return -dist.min(axis=-2).sum(axis=-1).astype(np.float64) + self.shift

    # -- simulator
    def reset(self, batch, rng=None):
        """``batch`` states drawn from :math:`\\rho_0` (vectorised)."""
        rng = as_generator(rng)
        cells = rng.integers(self.n_cells, size=(int(batch), self.N))
        if self.start == "no_overlap":
            for _ in range(1000):
                bad = np.array([len(set(c)) < self.N for c in cells.tolist()]) if self.N > 1 else np.zeros(len(cells), bool)
                if not bad.any():
                    break
                cells[bad] = rng.integers(self.n_cells, size=(int(bad.sum()), self.N))
        return self._encode_cells(cells)

    def step(self, states, actions):
        """Vectorised step: ``states`` (B,), ``actions`` (B, N) agent actions → (next states (B,), rewards (B,))."""
        states = np.asarray(states, dtype=np.int64)
        actions = np.asarray(actions, dtype=np.int64)
        joint = np.ravel_multi_index(tuple(actions.T), (5,) * self.N)
        return self.next_state[states, joint], self.reward[states, joint]

    # -- exact models
    @property
    def rho0(self):
        """The reset law :math:`\\rho_0` over global states."""
        if self.start == "uniform":
            return np.full(self.n_states, 1.0 / self.n_states)
        cells = self.decode_cells(np.arange(self.n_states))
        ok = np.array([len(set(c)) == self.N for c in cells.tolist()], dtype=np.float64)
        return ok / ok.sum()

    def policy_kernel(self, joint_table):
        r"""Sparse :math:`P_\pi(s'|s) = \sum_a \pi(a|s)1\{s' = \text{next}(s,a)\}` (CSR, duplicates summed)."""
        import scipy.sparse as sp

        pi = np.asarray(joint_table, dtype=np.float64)
        if pi.shape != (self.n_states, self.n_joint):
            raise ShapeError(f"joint_table must have shape {(self.n_states, self.n_joint)}, got {pi.shape}")
        rows = np.repeat(np.arange(self.n_states), self.n_joint)
        return sp.csr_matrix((pi.ravel(), (rows, self.next_state.ravel())), shape=(self.n_states,) * 2)

    def to_tabular(self, max_bytes=None):
        """Dense :class:`TabularMDP` (checked against the memory budget first; small grids only)."""
        check_memory(8.0 * self.n_states * self.n_joint * self.n_states, "the dense Simple Spread kernel "
                     "P[s, a, s']", max_bytes=max_bytes, hint="use SpreadGrid.policy_kernel (sparse) instead")
        P = np.zeros((self.n_states, self.n_joint, self.n_states))
        s, a = np.meshgrid(np.arange(self.n_states), np.arange(self.n_joint), indexing="ij")
        P[s, a, self.next_state] = 1.0
        return TabularMDP(P, self.reward)


def spread_grid(N=2, length=3, width=2, gamma=0.9, scale=1.0, seed=0, reward_timing="current", shift=0.0,
                start="uniform", landmarks=None, parametrisation="tabular"):
    r"""The grid Simple Spread (:class:`SpreadGrid`) as a :class:`ZhangMAMDP` with a random product softmax policy.

    ``r^i = r`` for every agent (the pinned shared reward); ``rho0`` the reset law; ``s0 = 0``. Dense: small grids
    only (``length x width = 13 x 5`` with N = 2 needs the sparse :meth:`SpreadGrid.policy_kernel`).
    """
    g = SpreadGrid(N, length, width, landmarks, reward_timing, shift, start)
    mdp = g.to_tabular()
    rng = as_generator(np.random.SeedSequence([int(seed), 13 * 5]))
    maps, thetas = zip(*[_parametrisation(parametrisation, g.n_states, 5, rng, scale) for _ in range(N)])
    pol = ProductSoftmaxPolicy(maps, list(thetas))
    local = np.broadcast_to(mdp.R, (N,) + mdp.R.shape).copy()
    name = f"spread {length}x{width} N={N} gamma={gamma:g} seed={seed} {reward_timing}"
    return _model(mdp.P, local, (5,) * N, gamma, g.s0, pol, name,
                  {"family": "spread_grid", "N": N, "length": length, "width": width, "gamma": float(gamma),
                   "seed": int(seed), "scale": float(scale), "reward_timing": reward_timing, "shift": float(shift),
                   "start": start, "parametrisation": parametrisation}, rho0=g.rho0)


#: name -> builder of the guide §7 families.
ZHANG2025_FAMILIES = {"bandit3_loop": bandit3_loop, "bandit3": bandit3, "random_mdp": random_mdp,
                      "random_mamdp": random_mamdp, "swap2": swap2, "spread_grid": spread_grid}


def make_zhang2025_instance(name, **params):
    """Build a guide §7 family member from its name and parameters (:data:`ZHANG2025_FAMILIES`).

    >>> make_zhang2025_instance("swap2", gamma=0.5).name
    'swap2 gamma=0.5 p_stay=0'
    """
    try:
        builder = ZHANG2025_FAMILIES[name]
    except KeyError:
        raise ValueError(f"unknown zhang2025 family {name!r}; known: {sorted(ZHANG2025_FAMILIES)}") from None
    return builder(**params)
