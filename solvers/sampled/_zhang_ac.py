r"""zhang2025 Algorithms 1-3: decentralised deep actor-critic with gossip, batched over independent runs.

Model (zhang2025 §3.1; :mod:`netmarl_verify.envs._zhang2025`). N agents observe a global state s, act
:math:`a = (a^1, \dots, a^N)` (joint index ``ravel_multi_index``, agent 0 most significant), receive local
rewards :math:`r^i(s, a)` and the team reward :math:`\bar r = \frac1N\sum_i r^i`; the policy is a product
softmax :math:`\pi_\theta(a|s) = \prod_i\pi^i_{\theta^i}(a^i|s)`. The environment is a
:class:`~netmarl_verify.envs.ZhangMAMDP` (sampled with its own kernel :math:`\mathbb P`) or a full-size
:class:`~netmarl_verify.envs.SpreadGrid` (App. D.1, 13 x 5, sampled with its successor table).

Critic network (eq. (5), :class:`~._nets.DeepReLU`): :math:`x^{(0)} = H\xi(s,a)`,
:math:`x^{(h)} = \frac1{\sqrt m}\mathrm{ReLU}(W^{(h)}x^{(h-1)})`, :math:`\hat Q = b^\top x^{(D)}`; only
:math:`W = (W^{(1)}, \dots, W^{(D)})` is trained; projection set
:math:`\mathcal B(B) = \{W: \|W^{(h)} - W^{(h)}(0)\|_F \le B\ \forall h\}` (radial projection per layer).
For the one-hot ξ the first layer :math:`H\xi(s,a)` is a column gather of H (the input dimension
|S||A| never enters the inner loop); given features are multiplied by H on the fly.

Algorithm 3 (centralised critic, App. C): :math:`\bar V = V(0) = W(0)`; for k = 0..K-2 (K-1 iterations,
as printed): :math:`\delta_k = \hat Q(s_k,a_k;V(k)) - \bar r_{k+1} - \gamma\hat Q(s_{k+1},a_{k+1};V(k))`,
:math:`V(k+1) = \mathrm{Proj}_{\mathcal B(B)}(V(k) - \beta\delta_k\nabla_W\hat Q(s_k,a_k;V(k)))`,
:math:`\bar V \leftarrow \frac{k+1}{k+2}\bar V + \frac1{k+2}V(k+1)`; output :math:`\bar V` (:func:`deep_neural_td`).

Algorithm 2 (decentralised critic): the same for every agent i with its own reward :math:`r^i_{k+1}` and
k = 0..K-1 (K iterations), every agent fed the *global* joint action (Remark 2) along one shared
trajectory, then the gossip :math:`W_K = A^{t_{\rm gossip}}\hat W`, :math:`\hat W = (W^1, \dots, W^N)^\top`
(l. 12, :func:`~._gossip.gossip` on the averaged iterates).

Algorithm 1 (actor): a Markov batch of M tuples from :math:`s_{t,0}`, per agent
:math:`\psi^i_{t,l} = \nabla_{\theta^i}\log\pi^i(a^i_{t,l}|s_{t,l})` and a weight :math:`w^i_{t,l}`
(``direction``, below), :math:`d^i_t = \frac1M\sum_l w^i_{t,l}\psi^i_{t,l}` (l. 16) and
:math:`\theta^i_{t+1} = \theta^i_t + \alpha_t d^i_t/\|d^i_t\|` (l. 17; ``normalisation``).

Actor directions (guide §4 table)
---------------------------------
=============== ===================================================================================== ======
``direction``   weight :math:`w^i_{t,l}`                                                              gossip
=============== ===================================================================================== ======
``td_q``        :math:`\hat Q(s,a;W^i) - r^i - \gamma\hat Q(s',a';W^i)` (Alg. 1 l. 9, as printed,      yes
                sign included); ``"td_error"`` is an alias (the paper's "TD-error", Fig. 2/10)
``td_v``        :math:`r^i + \gamma\hat V^i(s') - \hat V^i(s)`, :math:`\hat V^i(s) = \sum_a\pi(a|s)\hat   yes
                Q(s,a;W^i)` (comparator)
``q_value``     :math:`\hat Q(s,a;W^i)` (Remark 1, Fig. 2/10)                                          no
``adv_oracle``  exact :math:`\mathrm{Adv}_\theta(s,a)` (team reward)                                   no
``grad_oracle`` :math:`d_t = \nabla J(\theta_t)` exact (isolates term (1) of Thm 5.10)                 --
=============== ===================================================================================== ======

Gossip of the TD errors is Alg. 1 l. 12-15, :math:`\tilde\Delta = A^{t_{\rm gossip}}\tilde\Delta_0^\top`
(:func:`~._gossip.gossip_td_errors`). **Expected directions with the exact critic** (tested):
conditionally on (s, a) the printed TD error has mean :math:`Q_\theta - \mathcal T^\pi Q_\theta = 0`, so
``td_q`` with :math:`\hat Q = Q_\theta` has expected direction **zero**; ``td_v``, ``q_value`` and
``adv_oracle`` all have :math:`E_\nu[\psi\,\mathrm{Adv}_\theta] = (1-\gamma)\nabla J` (Lemma 4.3, B.2's constant;
kernel ``"original"``). For an inexact critic ``td_q`` has :math:`E_\nu[\psi(\hat Q - \mathcal T^\pi\hat Q)]`,
which is what the proof's (30) replaces by :math:`E_\nu[\psi\widehat{\mathrm{Adv}}]`.

Normalisation modes: ``per_agent`` (:math:`d^i/\|d^i\|`, Alg. 1 l. 17), ``global`` (:math:`d/\|d\|`,
proof (8)), ``none``. A zero :math:`d^i` (resp. d) gives no step (pinned).

Sampling, kernels and restarts (guide §2)
-----------------------------------------
One chain per run, shared by the critic and the actor phases. A transition from (s, a) draws
:math:`s'' \sim \mathbb P(\cdot|s,a)` and :math:`a'' \sim \pi(\cdot|s'')`; with ``restart=True`` the chain then
restarts to :math:`s_0` with probability :math:`1-\gamma` (the restart kernel
:math:`\tilde P = \gamma\mathbb P + (1-\gamma)e_{s_0}`, §3.1, implemented as a reset after the observed transition,
with a fresh action drawn at :math:`s_0`); with ``reset_every=L`` every L-th transition of the run resets to
a draw from :math:`\rho_0` (App. D.1's episodes of 10 steps). ``kernel`` selects the TD tuple's successor:

* ``"original"`` (default): :math:`(s'', a'')`, the observed :math:`\mathbb P`-successor, so TD targets, the critic's
  fixed point and the objective :math:`J(\theta) = V_\theta(s_0)` are on :math:`\mathbb P` while the visited states
  follow the restart chain (ν of Lemma 4.2);
* ``"restart"``: the chain's next pair (after a restart, if any): every sample from :math:`\tilde P`, TD with
  discount γ; the exact columns are then on :math:`\tilde P` (:func:`~..exact._fisher.pair_values`).

The full-size :class:`~netmarl_verify.envs.SpreadGrid` supports ``kernel="original"`` only.

Pinned choices (the paper leaves these open; all are keyword arguments)
------------------------------------------------------------------------
* ``critic_start="cold"``: every outer iteration starts Alg. 2 at :math:`W(0)` (Alg. 2 l. 2 as written);
  ``"warm"`` starts at the previous iteration's post-gossip :math:`W^i_{t-1}` (the ball stays centred at
  :math:`W(0)`; the running average restarts at the start point).
* ``actor_start="printed"``: :math:`s_{t,0} = s_{K-1}` (Alg. 2 l. 13, sic), with a fresh
  :math:`a_{t,0} \sim \pi(\cdot|s_{t,0})` (undefined in Alg. 1); ``"continue"``: :math:`(s_K, a_K)`.
  The next outer iteration's Alg. 2 starts where the actor batch ended (:math:`s_{t,M}`).
* Initial chain state :math:`s_0` (the model's restart state; SpreadGrid: cell 0 for every agent).
* ``beta=None``: :math:`\beta = K^{-1/2}` (Thm 5.10); the experiments' ":math:`\beta \le 0.001`" is not exact.
* ``alpha``: a float is a constant step (App. D.1, ":math:`\alpha \le 0.005`"); the theory's
  :math:`\alpha_t = \alpha/t` from t = 1 is ``PowerSchedule(alpha, 1.0)`` (our t counts from 0, shift 1), which
  also avoids Alg. 1's :math:`\alpha_0 = \alpha/0`.
* ``radius=None``: no projection (App. D.1 reports neither B nor a projection); the theorem's
  :math:`B = m^{1/32}D^{-6}` with unit constant is :func:`theorem_radius` (7.0e-5 at m = 20, D = 5: the critic
  barely moves).
* ``A=None``: ``random_consensus_matrix(path_graph(N), eta=0.1, rng=0)`` (App. D.1: "a randomly generated
  doubly stochastic matrix", graph and generator not given; for N = 2 it is
  ``[[0.1, 0.9], [0.9, 0.1]]``, :math:`\sigma_2 = 0.8`).
* ``features=None``: ξ(s, a) the one-hot of the pair (s, joint a) (d = |S||A|, unit norm); SpreadGrid:
  :func:`spread_features` (a constant 1, every agent's normalised (x, y), every agent's action one-hot,
  normalised to unit norm; one-to-one thanks to the constant).
* ``width=20, depth=5, K=1, M=1, t_gossip=10``: App. D.1's defaults; T has no default.
* ``td_v`` and ``td_q`` both use the actor gossip; ``q_value``, ``adv_oracle`` do not need it.
* SpreadGrid: initial policy uniform (θ = 0, tabular softmax per agent), :math:`\gamma = 0.99`.

Randomness
----------
One Generator (:func:`~netmarl_verify.envs.as_generator`): the critic networks first
(``DeepReLU.init(rng, d, m, D, copies=R)``: H, W(0), b; one independent initialisation per run, shared by the
run's agents, Alg. 2 l. 2), then at t = 0 the first actions ``(R, N)``, then per outer iteration three arrays
of uniforms, in this order: the critic transitions ``(R, K, 2N + 3)``, the fresh actions ``(R, N)`` and the actor transitions ``(R, M, 2N + 3)``
(per transition: successor, N actions at the successor, restart, reset draw, N actions after a restart or
reset). Everything after the draws is deterministic and vectorised over runs, agents and samples (Python
loops run over iterations, transitions within an iteration, layers, and, at checkpoints and for the
exact oracles, over runs). Seeded reruns are bit-identical.

References
----------
zhang2025 Alg. 1-3, eq. (5), Lemma 4.2-4.3, Remark 1-2, Thm 5.10, App. D.1; guide ``shared/claims/zhang2025.md``
§2, §4, §5.1.
"""

import math
import numbers
from dataclasses import dataclass, field

import numpy as np

from netmarl_verify.envs._random import as_generator
from netmarl_verify.envs._validation import NonFiniteError, ShapeError, fmt_number
from netmarl_verify.envs._zhang2025 import LinearLogits, LoopLogits, ProductSoftmaxPolicy, SpreadGrid, ZhangMAMDP

from ._gossip import gossip, gossip_td_errors
from ._nets import DeepReLU
from ._runs import RunResult, Stopwatch, TraceRecorder, _check_checkpoints, _check_int, seeded_generator
from ._schedules import _as_schedule

__all__ = [
    "DIRECTIONS",
    "NORMALISATIONS",
    "CRITICS",
    "deep_neural_td",
    "DeepTDResult",
    "run_zhang_ac",
    "ZhangACResult",
    "ZhangACState",
    "sample_tuples",
    "TupleBatch",
    "actor_directions",
    "spread_features",
    "theorem_radius",
    "zhang_ac_throughput",
    "GOAL_ZHANG_AC",
]

#: Actor weights (module docstring table); ``"td_error"`` is accepted as an alias of ``"td_q"``.
DIRECTIONS = ("td_q", "td_v", "q_value", "adv_oracle", "grad_oracle")
_ALIASES = {"td_error": "td_q"}
#: Step normalisations of Alg. 1 l. 17 / proof (8).
NORMALISATIONS = ("per_agent", "global", "none")
#: Critics of :func:`run_zhang_ac`: Alg. 2, Alg. 3 (its output given to every agent), exact local Q tables.
CRITICS = ("decentralised", "centralised", "exact")
_KERNELS = ("original", "restart")
_CRITIC_STARTS = ("cold", "warm")
_ACTOR_STARTS = ("printed", "continue")


# ============================================================================ small helpers
def theorem_radius(width, depth, constant=1.0):
    r"""The projection radius of Thm 5.10, :math:`B = c\,m^{1/32}D^{-6}`.

    >>> round(theorem_radius(20, 5), 8)
    7.028e-05
    """
    return float(constant) * float(width) ** (1.0 / 32.0) * float(depth) ** -6.0


def _check_pos_float(x, name, allow_none=False):
    if x is None and allow_none:
        return None
    if isinstance(x, bool) or not isinstance(x, numbers.Real) or not math.isfinite(float(x)) or float(x) <= 0:
        raise ValueError(f"`{name}` must be a positive finite number, got {fmt_number(x)}")
    return float(x)


def _choice(value, name, options):
    if value not in options:
        raise ValueError(f"`{name}` must be one of {options}, got {value!r}")
    return value


def _check_direction(direction):
    direction = _ALIASES.get(direction, direction)
    return _choice(direction, "direction", DIRECTIONS)


def _check_consensus(A, N):
    r"""A doubly stochastic, non-negative (N, N) matrix (Assumption 5.1's sums; the graph is not checked here)."""
    if A is None:
        import networkx as nx

        from netmarl_verify.envs import random_consensus_matrix

        return random_consensus_matrix(nx.path_graph(N), 0.1, rng=0) if N > 1 else np.ones((1, 1))
    A = np.asarray(A, dtype=np.float64)
    if A.shape != (N, N):
        raise ShapeError(f"the consensus matrix `A` must have shape ({N}, {N}) (one row per agent), got {A.shape}")
    if not np.all(np.isfinite(A)) or (A < 0).any():
        raise ValueError("the consensus matrix `A` must be finite and non-negative (zhang2025 Assumption 5.1)")
    for axis, what in ((1, "row"), (0, "column")):
        s = A.sum(axis=axis)
        bad = np.abs(s - 1.0) > 1e-12
        if bad.any():
            k = int(np.flatnonzero(bad)[0])
            raise ValueError(f"{what} {k} of the consensus matrix `A` sums to {float(s[k])!r}, not 1: zhang2025 "
                             f"Assumption 5.1 needs a doubly stochastic A (Fact C.2's mean preservation)")
    return A


def spread_features(grid):
    r"""ξ(s, a) for the Simple Spread grid: shape (|S|, 5^N, d), unit rows, d = 1 + 2N + 5N.

    Components: a constant 1, every agent's :math:`x/(L-1)` and :math:`y/(W-1)` (0 for a side of length 1),
    every agent's action one-hot; the row is then normalised. One-to-one: two rows with the same
    direction share the constant component, hence are equal.
    """
    if not isinstance(grid, SpreadGrid):
        raise TypeError(f"`grid` must be a SpreadGrid, got {type(grid).__name__}")
    N = grid.N
    pos = grid.positions(np.arange(grid.n_states)).astype(np.float64)          # (S, N, 2)
    pos[..., 0] /= max(grid.length - 1, 1)
    pos[..., 1] /= max(grid.width - 1, 1)
    digits = np.array(np.unravel_index(np.arange(grid.n_joint), (5,) * N))      # (N, 5^N)
    act = np.zeros((grid.n_joint, N, 5))
    act[np.arange(grid.n_joint)[:, None], np.arange(N)[None, :], digits.T] = 1.0
    S, J = grid.n_states, grid.n_joint
    X = np.concatenate([np.ones((S, J, 1)), np.broadcast_to(pos.reshape(S, 1, 2 * N), (S, J, 2 * N)),
                        np.broadcast_to(act.reshape(1, J, 5 * N), (S, J, 5 * N))], axis=-1)
    return X / np.linalg.norm(X, axis=-1, keepdims=True)


# ============================================================================ the environment
class _Env:
    """A ZhangMAMDP or a SpreadGrid as flat tables over pairs ``p = s * |A| + a`` (joint a)."""

    def __init__(self, env, gamma):
        if isinstance(env, ZhangMAMDP):
            sizes = tuple(int(a) for a in env.action_sizes)
            if len(set(sizes)) != 1:
                raise ValueError(f"zhang2025 §3.1 has |A^i| equal for all agents; got action sizes {sizes}")
            if gamma is not None and float(gamma) != env.gamma:
                raise ValueError(f"`gamma` is the model's ({env.gamma!r}) for a ZhangMAMDP; got {gamma!r} "
                                 "(build the model with another gamma instead)")
            self.model, self.grid = env, None
            self.N, self.A = len(sizes), sizes[0]
            self.S, self.nA = env.n_states, env.n_actions
            self.gamma, self.s0 = float(env.gamma), int(env.s0)
            self.rho0 = np.asarray(env.rho0, dtype=np.float64)
            P = np.asarray(env.mdp.P, dtype=np.float64).reshape(self.S * self.nA, self.S)
            self.cdf = np.ascontiguousarray(np.cumsum(P, axis=1)[:, :-1])            # (pairs, S - 1)
            self.next_state = None
            self.local_R = np.ascontiguousarray(np.asarray(env.local_R, dtype=np.float64).reshape(self.N, -1))
        elif isinstance(env, SpreadGrid):
            self.model, self.grid = None, env
            self.N, self.A = env.N, 5
            self.S, self.nA = env.n_states, env.n_joint
            self.gamma = 0.99 if gamma is None else float(gamma)
            self.s0 = int(env.s0)
            self.rho0 = env.rho0
            self.cdf = None
            self.next_state = np.ascontiguousarray(env.next_state.reshape(-1))
            self.local_R = np.broadcast_to(env.reward.reshape(1, -1), (self.N, self.S * self.nA))
        else:
            raise TypeError(f"the environment must be a ZhangMAMDP or a SpreadGrid, got {type(env).__name__}")
        if not 0.0 < self.gamma < 1.0:
            raise ValueError(f"`gamma` must be in (0, 1), got {fmt_number(self.gamma)}")
        self.P = self.S * self.nA
        self.weights = self.A ** np.arange(self.N - 1, -1, -1)                       # joint index digits
        self.rho_cdf = np.cumsum(self.rho0)[:-1]

    def successor(self, pairs, u):
        """:math:`s'' \\sim \\mathbb P(\\cdot|s, a)` by the inverse CDF (uniforms ``u``, same shape as ``pairs``)."""
        if self.next_state is not None:
            return self.next_state[pairs]
        return (u[..., None] >= self.cdf[pairs]).sum(axis=-1)

    def reset_draw(self, u):
        return np.searchsorted(self.rho_cdf, u, side="right")


# ============================================================================ the actor (batched product softmax)
class _Actor:
    r"""R copies of a product softmax policy: ``kind`` "tabular" (θ (R, N, S, A)), "linear" (θ (R, N, p), features
    (N, S, A, p), zero-padded), "loop" (θ (R, N, 1), scales (N,))."""

    def __init__(self, envw, policy, R):
        self.R, self.N, self.S, self.A = R, envw.N, envw.S, envw.A
        self.template = policy
        if policy is None:                                   # SpreadGrid: tabular, uniform start
            self.kind, self.sizes = "tabular", [self.S * self.A] * self.N
            self.theta = np.zeros((R, self.N, self.S, self.A))
            return
        if not isinstance(policy, ProductSoftmaxPolicy):
            raise TypeError(f"`policy` must be a ProductSoftmaxPolicy, got {type(policy).__name__}")
        if policy.n_agents != self.N or policy.n_states != self.S or set(policy.action_sizes) != {self.A}:
            raise ShapeError(f"the policy ({policy.n_agents} agents, {policy.n_states} states, actions "
                             f"{policy.action_sizes}) does not fit the model ({self.N}, {self.S}, {self.A})")
        self.sizes = [int(m.size) for m in policy.maps]
        flat = np.broadcast_to(policy.flat, (R, policy.size))
        if all(isinstance(m, LoopLogits) for m in policy.maps):
            self.kind = "loop"
            self.c = np.array([m.c for m in policy.maps])
            self.theta = flat.reshape(R, self.N, 1).copy()
        elif all(isinstance(m, LinearLogits) for m in policy.maps):
            tab = all(m.size == self.S * self.A and np.array_equal(
                m.features.reshape(self.S * self.A, -1), np.eye(self.S * self.A)) for m in policy.maps)
            if tab:
                self.kind = "tabular"
                self.theta = flat.reshape(R, self.N, self.S, self.A).copy()
            else:
                self.kind = "linear"
                p = max(self.sizes)
                self.F = np.zeros((self.N, self.S, self.A, p))
                self.theta = np.zeros((R, self.N, p))
                for i, m in enumerate(policy.maps):                                  # setup only
                    self.F[i, :, :, : m.size] = m.features
                    self.theta[:, i, : m.size] = flat[:, policy.blocks[i]]
        else:
            raise TypeError("every agent's logit map must be LinearLogits, or every one LoopLogits; got "
                            f"{sorted({type(m).__name__ for m in policy.maps})}")

    # -- policy tables
    def logits(self):
        if self.kind == "tabular":
            return self.theta
        if self.kind == "linear":
            return np.einsum("nsap,rnp->rnsa", self.F, self.theta)
        t = self.theta[..., 0]                                                       # (R, N)
        row = np.stack([np.cos(t), np.sin(t), np.zeros_like(t)], axis=-1) * self.c[None, :, None]
        return np.broadcast_to(row[:, :, None, :], (self.R, self.N, self.S, 3))

    def probs_at(self, s):
        """:math:`\\pi^i(\\cdot|s_l)` at states ``s`` (R, n) only: (R, n, N, A) (no full tables in the inner loop)."""
        R, N = self.R, self.N
        if self.kind == "tabular":
            z = self.theta[np.arange(R)[:, None, None], np.arange(N)[None, None, :], s[:, :, None]]
        elif self.kind == "linear":
            Fg = self.F[np.arange(N)[None, None, :], s[:, :, None]]                   # (R, n, N, A, p)
            z = np.einsum("rlnap,rnp->rlna", Fg, self.theta)
        else:
            t = self.theta[..., 0]
            row = np.stack([np.cos(t), np.sin(t), np.zeros_like(t)], axis=-1) * self.c[None, :, None]
            z = np.broadcast_to(row[:, None], (R, s.shape[1], N, 3))
        e = np.exp(z - z.max(axis=-1, keepdims=True))
        return e / e.sum(axis=-1, keepdims=True)

    def tables(self):
        """:math:`\\pi^i(b|s)` per run, shape (R, N, S, A)."""
        z = self.logits()
        e = np.exp(z - z.max(axis=-1, keepdims=True))
        return e / e.sum(axis=-1, keepdims=True)

    def flat(self):
        """The stacked θ of every run, (R, sum p_i), in :class:`ProductSoftmaxPolicy`'s order."""
        if self.kind == "linear":
            return np.concatenate([self.theta[:, i, :p] for i, p in enumerate(self.sizes)], axis=1)
        return self.theta.reshape(self.R, -1).copy()

    def policy(self, run):
        if self.template is None:
            raise TypeError("the SpreadGrid actor has no ProductSoftmaxPolicy; use the tables")
        return self.template.with_flat(self.flat()[run])

    # -- the direction d = (1/M) sum_l w_l psi_l
    def direction(self, vals, s):
        r"""``vals`` (R, M, N, A) = :math:`w^i_l(e_{a^i_l} - \pi^i(\cdot|s_l))/M`, states ``s`` (R, M).

        Returns ``("rows", s, vals)`` (tabular: d is supported on the rows :math:`s_l`) or ``("dense", d)``,
        d of shape (R, N, p).
        """
        if self.kind == "tabular":
            return ("rows", s, vals)
        if self.kind == "linear":
            Fg = self.F[np.arange(self.N)[None, None, :], s[:, :, None]]              # (R, M, N, A, p)
            return ("dense", np.einsum("rlna,rlnap->rnp", vals, Fg))
        t = self.theta[..., 0]
        g = np.stack([-np.sin(t), np.cos(t), np.zeros_like(t)], axis=-1) * self.c[None, :, None]   # (R, N, 3)
        return ("dense", np.einsum("rlna,rna->rn", vals, g)[..., None])

    def sq_norms(self, d):
        """:math:`\\|d^i\\|^2` per run and agent, (R, N)."""
        if d[0] == "dense":
            return (d[1] ** 2).sum(axis=-1)
        _, s, vals = d
        same = (s[:, :, None] == s[:, None, :])                                       # (R, M, M)
        dots = np.einsum("rlna,rkna->rnlk", vals, vals)
        return (dots * same[:, None]).sum(axis=(-1, -2))

    def dense(self, d):
        """d as (R, N, p_max) (tabular p = S A)."""
        if d[0] == "dense":
            return d[1]
        _, s, vals = d
        out = np.zeros((self.R, self.N, self.S, self.A))
        r = np.arange(self.R)[:, None, None]
        n = np.arange(self.N)[None, None, :]
        np.add.at(out, (r, n, s[:, :, None]), vals)
        return out.reshape(self.R, self.N, -1)

    def flat_direction(self, d):
        dd = self.dense(d)
        if self.kind == "linear":
            return np.concatenate([dd[:, i, :p] for i, p in enumerate(self.sizes)], axis=1)
        return dd.reshape(self.R, -1)

    def from_flat(self, g):
        """A flat (R, sum p_i) array as a dense direction."""
        if self.kind == "linear":
            out = np.zeros_like(self.theta)
            ends = np.cumsum([0] + self.sizes)
            for i, p in enumerate(self.sizes):
                out[:, i, :p] = g[:, ends[i]:ends[i + 1]]
            return ("dense", out)
        return ("dense", g.reshape(self.R, self.N, -1))

    def step(self, d, scale):
        """θ^i += scale[r, i] d^i."""
        if d[0] == "dense":
            self.theta += (scale[:, :, None] * d[1]).reshape(self.theta.shape)
            return
        _, s, vals = d
        r = np.arange(self.R)[:, None, None]
        n = np.arange(self.N)[None, None, :]
        if s.shape[1] == 1:                                  # M = 1: the (run, agent, row) indices are distinct
            self.theta[r, n, s[:, :, None]] += vals * scale[:, None, :, None]
        else:                                                # rows may repeat within a batch
            np.add.at(self.theta, (r, n, s[:, :, None]), vals * scale[:, None, :, None])


def _step_scale(sq, alpha, normalisation):
    """Alg. 1 l. 17 (``per_agent``), proof (8) (``global``) or ``none``: the factor of d per (run, agent)."""
    if normalisation == "none":
        return np.full(sq.shape, alpha)
    norm = np.sqrt(sq if normalisation == "per_agent" else np.broadcast_to(sq.sum(axis=1, keepdims=True), sq.shape))
    with np.errstate(divide="ignore"):
        return np.where(norm > 0, alpha / norm, 0.0)                                 # zero direction: no step


# ============================================================================ the critic network
class _Critic:
    r"""R independent eq. (5) networks (``DeepReLU.init(copies=R)``) with the first layer as a pair table.

    ``x0[r, p, :]`` = :math:`H_r\xi(p)` for every pair p; weights ``W`` have shape (R, C, D, m, m) for C
    copies per run (C = N agents in Alg. 2, 1 in Alg. 3), all starting at the run's :math:`W(0)`.
    """

    def __init__(self, rng, envw, width, depth, features):
        self.m, self.D = width, depth
        if features is None:
            self._features, self.dim = None, envw.P
        else:
            X = np.asarray(features, dtype=np.float64)
            if X.ndim != 3 or X.shape[:2] != (envw.S, envw.nA):
                raise ShapeError(f"`features` must have shape (|S|, |A|, d) = ({envw.S}, {envw.nA}, d), got {X.shape}")
            if not np.all(np.isfinite(X)) or np.abs(np.linalg.norm(X, axis=-1) - 1).max() > 1e-12:
                raise ValueError("every feature row xi(s, a) must be finite with unit Euclidean norm "
                                 "(zhang2025 eq. (5))")
            self._features = np.ascontiguousarray(X.reshape(envw.P, -1))
            self.dim = self._features.shape[1]
        self._rng = rng

    def init(self, R):
        """Draw the R networks (``DeepReLU.init(rng, d, m, D, copies=R)``: H, W(0), b)."""
        net = DeepReLU.init(self._rng, dim=self.dim, width=self.m, depth=self.D, copies=R)
        self.R = R
        self.H = np.asarray(net.H)
        # one-hot xi: x^(0) = H e_p is column p of H, kept as a (R, |S||A|, m) table; given features are
        # multiplied on the fly (a table would be R |S||A| m floats: 1 GB for the 13 x 5 grid and R = 64)
        self.x0 = np.ascontiguousarray(np.swapaxes(self.H, 1, 2)) if self._features is None else None
        self.W0, self.b = np.asarray(net.W0), np.asarray(net.b)
        self._ridx = np.arange(R)[:, None]
        return self

    def inputs(self, pairs):
        """:math:`x^{(0)} = H\\xi(p)` of pairs (R, n): (R, n, m)."""
        if self.x0 is not None:
            return self.x0[self._ridx, pairs]
        return np.matmul(self._features[pairs], np.swapaxes(self.H, 1, 2))

    def forward(self, W, x0):
        """Hidden vectors and pre-activations for copies (R, C): ``xs[0]`` (R, 1, n, m), ``xs[h]`` (R, C, n, m)."""
        scale = 1.0 / math.sqrt(self.m)
        xs, zs = [x0[:, None]], []
        for h in range(self.D):
            z = np.matmul(xs[-1], np.swapaxes(W[:, :, h], -1, -2))                   # W^(h) x^(h-1)
            zs.append(z)
            xs.append(np.maximum(z, 0.0) * scale)                                    # eq. (5)
        return xs, zs

    def values(self, W, pairs):
        r""":math:`\hat Q(p; W)` for pairs (R, n) and weights (R, C, D, m, m): (R, C, n)."""
        xs, _ = self.forward(W, self.inputs(pairs))
        return np.einsum("rcnm,rm->rcn", xs[-1], self.b)

    def all_values(self, W):
        """:math:`\\hat Q` on every pair, (R, C, |S||A|)."""
        n_pairs = self.H.shape[-1] if self._features is None else self._features.shape[0]
        x0 = self.x0 if self.x0 is not None else self.inputs(np.broadcast_to(np.arange(n_pairs), (self.R, n_pairs)))
        xs, _ = self.forward(W, x0)
        return np.einsum("rcnm,rm->rcn", xs[-1], self.b)

    def td_step(self, W, pair, target, reward, beta, gamma, radius):
        r"""One projected TD step for all copies (Alg. 2 l. 6-8 / Alg. 3 l. 5-7).

        ``pair``, ``target`` (R,): the tuple's :math:`(s_k, a_k)` and :math:`(s_{k+1}, a_{k+1})`; ``reward``
        (R, C). Returns the new W and the TD errors (R, C).
        """
        x0 = self.inputs(np.stack([pair, target], axis=1))                            # (R, 2, m)
        xs, zs = self.forward(W, x0)
        q = np.einsum("rcnm,rm->rcn", xs[-1], self.b)
        delta = q[..., 0] - reward - gamma * q[..., 1]                                # Alg. 2 l. 6
        scale = 1.0 / math.sqrt(self.m)
        coef = (-beta * delta)[:, :, None]
        new = np.empty(W.shape)
        back = np.broadcast_to(self.b[:, None, :], W.shape[:2] + (self.m,))           # dQ/dx^(D) at input 0
        for h in range(self.D - 1, -1, -1):
            gz = back * (zs[h][:, :, 0] > 0) * scale                                  # dQ/dz^(h) at input 0
            # Alg. 2 l. 7, layer h: W~ = W - beta delta grad, grad = gz x^(h-1)^T (written in place)
            np.multiply((coef * gz)[..., :, None], xs[h][:, :, 0][..., None, :], out=new[:, :, h])
            new[:, :, h] += W[:, :, h]
            if h:
                back = np.einsum("rcm,rcmk->rck", gz, W[:, :, h])
        W = new
        if radius is not None:                                                        # Alg. 2 l. 8
            diff = W - self.W0[:, None]
            dist = np.sqrt((diff ** 2).sum(axis=(-2, -1)))
            with np.errstate(divide="ignore", invalid="ignore"):
                factor = np.where(dist > radius, radius / dist, 1.0)
            W = self.W0[:, None] + diff * factor[..., None, None]
        return W, delta


# ============================================================================ sampling
@dataclass
class TupleBatch:
    r"""Transitions of R chains (one per run), index l along axis 1.

    Attributes
    ----------
    pairs : ndarray of int, shape (R, n)
        :math:`(s_l, a_l)` as ``s * |A| + a`` (joint a).
    states : ndarray of int, shape (R, n)
    actions : ndarray of int, shape (R, n, N)
        Per-agent actions :math:`a^i_l`.
    rewards : ndarray, shape (R, n, N)
        :math:`r^i(s_l, a_l)`.
    targets : ndarray of int, shape (R, n)
        The TD successor pair :math:`(s_{l+1}, a_{l+1})` per the kernel mode.
    target_states : ndarray of int, shape (R, n)
    """

    pairs: np.ndarray
    states: np.ndarray
    actions: np.ndarray
    rewards: np.ndarray
    targets: np.ndarray
    target_states: np.ndarray


def _draw_actions(actor, s, u):
    """Per-agent actions at states ``s`` (R,): inverse CDF of :math:`\\pi^i(\\cdot|s)`, uniforms ``u`` (R, N)."""
    th = np.cumsum(actor.probs_at(s[:, None])[:, 0], axis=-1)[..., :-1]                # (R, N, A - 1)
    return (u[..., None] >= th).sum(axis=-1)


def _transitions(envw, actor, s, a, U, step0, restart, reset_every, kernel):
    """The chain kernel: ``U`` (R, n, 2N + 3) uniforms -> (TupleBatch, s, a, steps)."""
    R, n = U.shape[:2]
    N = envw.N
    out = {k: np.empty((R, n), dtype=np.int64) for k in ("pairs", "states", "targets", "target_states")}
    actions = np.empty((R, n, N), dtype=np.int64)
    rewards = np.empty((R, n, N))
    thr = 1.0 - envw.gamma
    for j in range(n):
        u = U[:, j]
        pair = s * envw.nA + a @ envw.weights
        s2 = envw.successor(pair, u[:, 0])
        a2 = _draw_actions(actor, s2, u[:, 1:N + 1])
        moved = (u[:, N + 1] < thr) if restart else np.zeros(R, dtype=bool)
        s_new = np.where(moved, envw.s0, s2)
        if reset_every is not None and (step0 + j + 1) % reset_every == 0:
            s_new = envw.reset_draw(u[:, N + 2])
            moved = np.ones(R, dtype=bool)
        a_new = np.where(moved[:, None], _draw_actions(actor, s_new, u[:, N + 3:2 * N + 3]), a2)
        out["pairs"][:, j], out["states"][:, j] = pair, s
        actions[:, j] = a
        rewards[:, j] = envw.local_R[:, pair].T
        if kernel == "original":
            out["targets"][:, j], out["target_states"][:, j] = s2 * envw.nA + a2 @ envw.weights, s2
        else:
            out["targets"][:, j], out["target_states"][:, j] = s_new * envw.nA + a_new @ envw.weights, s_new
        s, a = s_new, a_new
    return TupleBatch(actions=actions, rewards=rewards, **out), s, a


def sample_tuples(model, policy, states, n, *, rng=None, kernel="original", restart=True):
    r"""n transitions of R independent chains started at ``states`` (R,), with fresh actions (the actor's batch).

    Parameters
    ----------
    model : ZhangMAMDP
    policy : ProductSoftmaxPolicy
        Shared by every chain.
    states : array_like of int, shape (R,)
    n : int >= 1
    rng : seed or Generator
        Draws ``random((R, N))`` (the first actions) then ``random((R, n, 2N + 3))``.
    kernel, restart
        As in :func:`run_zhang_ac`.

    Returns
    -------
    TupleBatch
    """
    envw = _Env(model, None)
    rng = as_generator(rng)
    _choice(kernel, "kernel", _KERNELS)
    n = _check_int(n, "n", 1)
    s = np.asarray(states)
    if s.ndim != 1 or not np.issubdtype(s.dtype, np.integer) or (s < 0).any() or (s >= envw.S).any():
        raise ValueError(f"`states` must be a 1-d integer array of states in 0..{envw.S - 1}")
    R = s.size
    actor = _Actor(envw, policy, R)
    a = _draw_actions(actor, s.astype(np.int64), rng.random((R, envw.N)))
    batch, _, _ = _transitions(envw, actor, s.astype(np.int64), a, rng.random((R, n, 2 * envw.N + 3)), 0,
                               bool(restart), None, kernel)
    return batch


# ============================================================================ actor weights
def _weights(direction, envw, batch, q_sa, q_tgt, v_s, v_tgt, A, t_gossip, adv=None, method="rounds"):
    """w (R, N, M) of the actor variants from critic values (R, C, M) (C = 1 broadcasts to N)."""
    r = np.swapaxes(batch.rewards, 1, 2)                                             # (R, N, M)
    if direction == "td_q":
        delta0 = q_sa - r - envw.gamma * q_tgt                                       # Alg. 1 l. 9, as printed
        return gossip_td_errors(A, np.swapaxes(delta0, 1, 2), t_gossip, method)      # Alg. 1 l. 12-15
    if direction == "td_v":
        delta0 = r + envw.gamma * v_tgt - v_s
        return gossip_td_errors(A, np.swapaxes(delta0, 1, 2), t_gossip, method)
    if direction == "q_value":
        return np.broadcast_to(q_sa, r.shape)
    if direction == "adv_oracle":
        return np.broadcast_to(adv[:, None, :], r.shape)
    raise AssertionError(direction)


def _vals(w, batch, actor):
    """(R, M, N, A): :math:`w^i_l(e_{a^i_l} - \\pi^i(\\cdot|s_l))/M` (the score of a softmax, Alg. 1 l. 8)."""
    R, M = batch.states.shape
    N = actor.N
    c = -actor.probs_at(batch.states)                                                  # (R, M, N, A)
    c[np.arange(R)[:, None, None], np.arange(M)[None, :, None], np.arange(N)[None, None, :], batch.actions] += 1.0
    return c * (np.swapaxes(w, 1, 2)[..., None] / M)


def actor_directions(model, policy, batch, q_tables, *, direction="td_q", A=None, t_gossip=0):
    r"""Alg. 1 l. 8-16: the raw directions :math:`d^i = \frac1M\sum_l w^i_l\psi^i_l` (before normalisation).

    The deterministic kernel of the actor step, for given tuples and critic tables; with exact tables it
    gives the expected directions of the module docstring (tested with
    :func:`~netmarl_verify.testing.assert_unbiased` against :func:`~..exact._fisher.advantage_policy_gradient`).

    Parameters
    ----------
    model : ZhangMAMDP
    policy : ProductSoftmaxPolicy
        The policy the tuples were drawn with (shared by the R batches).
    batch : TupleBatch
        R batches of M tuples (:func:`sample_tuples`).
    q_tables : array_like, shape (|S|, |A|), (N, |S|, |A|) or (R, N, |S|, |A|)
        Critic values :math:`\hat Q(s, a; W^i)`: one shared table, one per agent (e.g. the exact local
        :math:`Q^i_\theta`) or one per batch and agent. ``adv_oracle`` uses the agents' mean as the team Q.
    direction : {"td_q", "td_v", "q_value", "adv_oracle"}
        ``"td_error"`` = ``"td_q"``.
    A : array_like, shape (N, N), optional
        Consensus matrix (default as in :func:`run_zhang_ac`).
    t_gossip : int >= 0

    Returns
    -------
    ndarray, shape (R, p)
        The stacked :math:`d = (d^1, \dots, d^N)` per batch, in ``policy.flat``'s order.
    """
    envw = _Env(model, None)
    direction = _check_direction(direction)
    if direction == "grad_oracle":
        raise ValueError("`grad_oracle` uses no tuples; it is the exact gradient")
    A = _check_consensus(A, envw.N)
    t_gossip = _check_int(t_gossip, "t_gossip", 0)
    R = batch.pairs.shape[0]
    Q = np.asarray(q_tables, dtype=np.float64)
    if Q.shape == (envw.S, envw.nA):
        Q = Q[None, None]
    elif Q.shape == (envw.N, envw.S, envw.nA):
        Q = Q[None]
    if Q.ndim != 4 or Q.shape[1:] != (envw.N, envw.S, envw.nA) or Q.shape[0] not in (1, R):
        raise ShapeError("`q_tables` must have shape (|S|, |A|), (N, |S|, |A|) or (R, N, |S|, |A|), "
                         f"got {np.shape(q_tables)}")
    Q = np.broadcast_to(Q, (R, envw.N, envw.S, envw.nA)).reshape(R, envw.N, envw.P)
    actor = _Actor(envw, policy, R)
    out = _actor_step_direction(envw, actor, batch, lambda pairs: np.take_along_axis(Q, pairs[:, None, :], 2),
                                direction, A, t_gossip, None)
    return actor.flat_direction(out)


def _joint_pi(actor, envw, states):
    """:math:`\\pi(a|s)` over joint actions at states (R, n): (R, n, |A|)."""
    digits = np.array(np.unravel_index(np.arange(envw.nA), (envw.A,) * envw.N))      # (N, |A|)
    p = actor.probs_at(states)                                                        # (R, n, N, A)
    return np.take_along_axis(p, np.broadcast_to(digits[None, None], p.shape[:3] + (envw.nA,)), 3).prod(axis=2)


def _actor_step_direction(envw, actor, batch, qfun, direction, A, t_gossip, adv_fun, method="rounds"):
    """The direction object of one actor step; ``qfun(pairs (R, n)) -> (R, C, n)``."""
    R, M = batch.pairs.shape
    q_sa = q_tgt = v_s = v_tgt = adv = None
    if direction in ("td_q", "q_value"):
        q = qfun(np.concatenate([batch.pairs, batch.targets], axis=1))
        q_sa, q_tgt = q[..., :M], q[..., M:]
    elif direction == "td_v":
        st = np.concatenate([batch.states, batch.target_states], axis=1)             # (R, 2M)
        pairs = st[:, :, None] * envw.nA + np.arange(envw.nA)                         # (R, 2M, |A|)
        q = qfun(pairs.reshape(R, -1)).reshape(R, -1, 2 * M, envw.nA)
        v = (q * _joint_pi(actor, envw, st)[:, None]).sum(axis=-1)                    # V^i(s) = sum_a pi Q^i
        v_s, v_tgt = v[..., :M], v[..., M:]
    elif direction == "adv_oracle":
        adv = adv_fun(batch) if adv_fun is not None else _adv_from_q(envw, actor, batch, qfun)
    w = _weights(direction, envw, batch, q_sa, q_tgt, v_s, v_tgt, A, t_gossip, adv, method)
    return actor.direction(_vals(w, batch, actor), batch.states)


def _adv_from_q(envw, actor, batch, qfun):
    """Team Adv(s_l, a_l) from the agents' mean critic (exact tables: the exact advantage)."""
    R, M = batch.pairs.shape
    pairs = batch.states[:, :, None] * envw.nA + np.arange(envw.nA)
    q = qfun(pairs.reshape(R, -1)).mean(axis=1).reshape(R, M, envw.nA)
    v = (q * _joint_pi(actor, envw, batch.states)).sum(axis=-1)
    a = batch.pairs - batch.states * envw.nA
    return np.take_along_axis(q, a[:, :, None], 2)[..., 0] - v


# ============================================================================ exact quantities
class _Exact:
    """Exact J, Q (team and local), ν, ∇J of one run's policy (solvers.exact), on the kernel mode."""

    def __init__(self, envw, kernel):
        self.envw, self.kernel = envw, kernel
        if envw.grid is not None and kernel != "original":
            raise NotImplementedError("the SpreadGrid exact metrics are on the original kernel only")

    def at(self, actor, run, local=False):
        envw = self.envw
        if envw.model is not None:
            from netmarl_verify.solvers.exact._fisher import advantage_policy_gradient, pair_values

            pol = actor.policy(run)
            g = advantage_policy_gradient(envw.model, pol, self.kernel)
            out = {"J": g.J, "Q": g.Q, "adv": g.adv, "nu": g.nu, "pi": g.pi, "grad": g.grad}
            if local:
                out["Q_local"] = np.stack([pair_values(envw.model, g.pi, self.kernel, rewards=envw.model.local_R[i])[1]
                                           for i in range(envw.N)])
            return out
        return self._spread(actor, run, local)

    def _spread(self, actor, run, local):
        from netmarl_verify.solvers.exact._spread_exact import sparse_restart_stationary, sparse_visitation, \
            spread_policy_values

        envw, grid = self.envw, self.envw.grid
        pis = actor.tables()[run]                                                     # (N, S, 5)
        digits = np.array(np.unravel_index(np.arange(envw.nA), (5,) * envw.N))
        pi = np.prod(pis[np.arange(envw.N)[:, None, None], np.arange(envw.S)[None, :, None], digits[:, None, :]],
                     axis=0)                                                          # (S, |A|)
        V = spread_policy_values(grid, pi, envw.gamma)
        Q = grid.reward + envw.gamma * V[grid.next_state]
        adv = Q - (pi * Q).sum(axis=1, keepdims=True)
        e0 = np.zeros(envw.S)
        e0[envw.s0] = 1.0
        Ppi = grid.policy_kernel(pi)
        nu, _ = sparse_restart_stationary(Ppi, envw.gamma, e0)
        eta = sparse_visitation(Ppi, envw.gamma, e0)
        grad = np.zeros((envw.N, envw.S, 5))              # tabular: eta(s) sum_{a: a^i = b} pi(a|s) Adv(s, a)
        wa = eta[:, None] * pi * adv
        for i in range(envw.N):
            np.add.at(grad[i].T, digits[i], wa.T)
        out = {"J": float(V[envw.s0]), "Q": Q, "adv": adv, "nu": nu, "pi": pi, "grad": grad.reshape(-1)}
        if local:
            out["Q_local"] = np.broadcast_to(Q, (envw.N,) + Q.shape)
        return out

    def optimum(self):
        envw = self.envw
        if envw.model is not None:
            from netmarl_verify.solvers.exact._fisher import optimal_objective

            if self.kernel == "original":
                return optimal_objective(envw.model)[0]
            from netmarl_verify.solvers.exact._optimality import optimal_values
            from netmarl_verify.solvers.exact._restart import restart_mdp

            return float(optimal_values(restart_mdp(envw.model.mdp, envw.gamma, s0=envw.s0), envw.gamma).V[envw.s0])
        from netmarl_verify.solvers.exact._spread_exact import spread_optimal_values

        return float(spread_optimal_values(envw.grid, envw.gamma).V[envw.s0])


def _critic_errors(Qhat, ex):
    """max over copies of the L2(ν⊗π) and sup-on-support errors of Qhat (C, P) vs the team Q."""
    w = (ex["nu"][:, None] * ex["pi"]).reshape(-1)
    diff = Qhat - ex["Q"].reshape(1, -1)
    l2 = np.sqrt((w[None] * diff ** 2).sum(axis=1)).max()
    supp = w > 1e-15
    sup = np.abs(diff[:, supp]).max()
    return float(l2), float(sup)


def _spread(W):
    """max_i ||W^i - mean_j W^j|| per run for W (R, C, ...)."""
    Wf = W.reshape(W.shape[0], W.shape[1], -1)
    return np.sqrt(((Wf - Wf.mean(axis=1, keepdims=True)) ** 2).sum(axis=-1)).max(axis=1)


# ============================================================================ Alg. 3 / Alg. 2 alone
@dataclass(kw_only=True)
class DeepTDResult(RunResult):
    r"""Result of :func:`deep_neural_td`.

    Attributes
    ----------
    weights : ndarray, shape (R, C, D, m, m)
        Output parameters: Alg. 3's :math:`\bar V` (C = 1) or Alg. 2's post-gossip :math:`W_K` (C = N).
    averaged : ndarray, shape (R, C, D, m, m)
        The running averages before gossip (Alg. 3: the same as ``weights``).
    W0 : ndarray, shape (R, D, m, m)
        :math:`W(0)` per run.
    q_values : ndarray, shape (R, C, |S|, |A|)
        :math:`\hat Q` of ``weights`` on every pair.
    q_exact : ndarray, shape (|S|, |A|)
        The exact team :math:`Q_\theta` on the kernel mode.
    last_state : ndarray of int, shape (R,)
        The state the chain ended in (:math:`s_K`).
    trace : pandas.DataFrame
        ``iteration`` (k: TD updates done), ``run``, ``window``, ``avg_reward`` (sampled team reward),
        ``critic_error`` (:math:`\max_c\|\hat Q(\cdot;\bar V_c) - Q_\theta\|_{L^2(\nu\otimes\pi)}` of the running
        average), ``critic_error_sup`` (max on supp ν⊗π), ``consensus_error`` (Alg. 2: max_i distance of the
        running averages to their mean; 0 for Alg. 3).
    """

    weights: np.ndarray = field(repr=False)
    averaged: np.ndarray = field(repr=False)
    W0: np.ndarray = field(repr=False)
    q_values: np.ndarray = field(repr=False)
    q_exact: np.ndarray = field(repr=False)
    last_state: np.ndarray


def deep_neural_td(model, *, K, beta=None, algorithm=3, width=20, depth=5, radius=None, A=None, t_gossip=10,
              policy=None, features=None, kernel="original", restart=True, runs=1, rng=None, checkpoints=None):
    r"""zhang2025 Alg. 3 (centralised neural TD, :math:`\bar r`) or Alg. 2 (decentralised, :math:`r^i`, gossip).

    For the fixed policy ``policy``, along one restart chain per run from :math:`s_0` (the critic phase of one
    outer iteration of Alg. 1, cold start), batched over R runs; the trace follows the running average.

    Parameters
    ----------
    model : ZhangMAMDP
    K : int >= 1
        Alg. 2's K (K updates); Alg. 3 runs K - 1 updates (k = 0..K-2, as printed: K = 1 returns W(0)).
    beta : float, optional
        TD step β (default :math:`K^{-1/2}`, Thm 5.10).
    algorithm : {3, 2}
    width, depth : int
        m and D of eq. (5) (App. D.1: 20, 5).
    radius : float, optional
        B of :math:`\mathcal B(B)` (default: no projection; module docstring).
    A : array_like (N, N), optional; t_gossip : int
        Alg. 2 l. 12 (ignored by Alg. 3).
    policy : ProductSoftmaxPolicy, optional
        Default the model's.
    features : array_like (|S|, |A|, d), optional
        ξ (default one-hot of the pair).
    kernel : {"original", "restart"}; restart : bool
        Module docstring (sampling).
    runs : int
        R independent runs (independent inits and chains), one vectorised batch.
    rng : seed or Generator
    checkpoints : iterable of int, optional
        Update counts k in [0, K_alg] with a trace row (default 11 evenly spaced).

    Returns
    -------
    DeepTDResult

    Raises
    ------
    NonFiniteError
        A non-finite TD error (the critic diverged), naming the update and run.

    Examples
    --------
    >>> from netmarl_verify.envs._zhang2025 import random_mamdp
    >>> res = deep_neural_td(random_mamdp(2, 2, 2, gamma=0.5, seed=0), K=201, beta=0.02, width=16, depth=2,
    ...                 runs=2, rng=0, checkpoints=[0, 200])
    >>> e = res.trace.groupby("iteration").critic_error.mean(); bool(e[200] < 0.5 * e[0])
    True
    """
    envw = _Env(model, None)
    if envw.model is None:
        raise TypeError("deep_neural_td needs a ZhangMAMDP (exact Q for the trace)")
    K = _check_int(K, "K", 1)
    beta = K ** -0.5 if beta is None else _check_pos_float(beta, "beta")
    if algorithm not in (2, 3):
        raise ValueError(f"`algorithm` must be 2 (decentralised) or 3 (centralised), got {algorithm!r}")
    width, depth = _check_int(width, "width", 1), _check_int(depth, "depth", 1)
    radius = _check_pos_float(radius, "radius", allow_none=True)
    A = _check_consensus(A, envw.N)
    t_gossip = _check_int(t_gossip, "t_gossip", 0)
    _choice(kernel, "kernel", _KERNELS)
    R = _check_int(runs, "runs", 1)
    n_upd = K - 1 if algorithm == 3 else K
    checkpoints = _check_checkpoints(checkpoints, n_upd)
    policy = model.policy if policy is None else policy
    rng, seed = seeded_generator(rng)
    critic = _Critic(rng, envw, width, depth, features).init(R)
    actor = _Actor(envw, policy, R)
    ex = _Exact(envw, kernel).at(actor, 0)
    C = 1 if algorithm == 3 else envw.N
    W = np.broadcast_to(critic.W0[:, None], (R, C) + critic.W0.shape[1:]).copy()
    Wbar = W.copy()
    N = envw.N
    s = np.full(R, envw.s0, dtype=np.int64)
    a = _draw_actions(actor, s, rng.random((R, N)))
    U = rng.random((R, max(n_upd, 1), 2 * N + 3))
    batch, s_end, _ = _transitions(envw, actor, s, a, U, 0, bool(restart), None, kernel)

    def columns():
        Qh = critic.all_values(Wbar)
        errs = [_critic_errors(Qh[r], ex) for r in range(R)]
        return {"critic_error": np.array([e[0] for e in errs]), "critic_error_sup": np.array([e[1] for e in errs]),
                "consensus_error": _spread(Wbar)}

    trace = TraceRecorder(R, checkpoints)
    clock = Stopwatch()
    clock.start()
    for k in range(n_upd):
        if trace.due(k):
            with clock.paused():
                trace.record(k, None, columns())
        r = batch.rewards[:, k].mean(axis=1, keepdims=True) if algorithm == 3 else batch.rewards[:, k]
        with np.errstate(over="ignore", invalid="ignore"):
            W, delta = critic.td_step(W, batch.pairs[:, k], batch.targets[:, k], r, beta, envw.gamma, radius)
        if not np.isfinite(delta).all():
            run = int(np.argwhere(~np.isfinite(delta))[0][0])
            raise NonFiniteError(f"update {k}, run {run}: the TD error is not finite (the critic diverged: lower "
                                 f"`beta`={beta:g}, or project with a finite `radius`)")
        Wbar = (k + 1) / (k + 2) * Wbar + W / (k + 2)                                 # Alg. 2 l. 9 / Alg. 3 l. 8
        trace.add_reward(batch.rewards[:, k].mean(axis=1))
    clock.stop()
    if trace.due(n_upd):
        trace.record(n_upd, None, columns())
    out = Wbar if algorithm == 3 else gossip(A, Wbar, t_gossip, axis=1)              # Alg. 2 l. 12
    settings = dict(K=K, beta=beta, algorithm=algorithm, width=width, depth=depth, radius=radius, A=A.tolist(),
                    t_gossip=t_gossip, kernel=kernel, restart=bool(restart), runs=R, checkpoints=list(checkpoints),
                    features="one-hot" if features is None else "given")
    return DeepTDResult(trace=trace.frame(), seed=seed, settings=settings, elapsed=clock.elapsed,
                          agent_steps_per_second=(R * N * n_upd / clock.elapsed) if clock.elapsed > 0 else float("nan"),
                          weights=out, averaged=Wbar, W0=critic.W0,
                          q_values=critic.all_values(out).reshape(R, C, envw.S, envw.nA),
                          q_exact=ex["Q"], last_state=s_end if n_upd else s)


# ============================================================================ Alg. 1
@dataclass
class ZhangACState:
    r"""What the callback sees at a checkpoint.

    Attributes
    ----------
    iteration : int
    theta : ndarray, shape (R, p)
        Stacked :math:`\theta_t` per run (``policy.flat`` order; SpreadGrid: ``(N, |S|, 5)`` logits flattened).
    critic_weights : ndarray or None, shape (R, C, D, m, m)
        The critic the actor used at iteration t (None at t = T and for the exact critic).
    direction : ndarray or None, shape (R, p)
        The raw direction :math:`d_t` (before normalisation).
    """

    iteration: int
    theta: np.ndarray
    critic_weights: np.ndarray | None
    direction: np.ndarray | None


@dataclass(kw_only=True)
class ZhangACResult(RunResult):
    r"""Result of :func:`run_zhang_ac`: a :class:`RunResult` with the learned parameters.

    Attributes
    ----------
    theta : ndarray, shape (R, p)
        Final :math:`\theta_T` per run (stacked).
    critic_weights : ndarray, shape (R, C, D, m, m) or None
        The last critic (post-gossip :math:`W_{T-1}`; C = 1 for the centralised critic).
    W0 : ndarray, shape (R, D, m, m) or None
        :math:`W(0)` per run.
    J_star : float or None
        The optimum used for ``regret``.
    trace : pandas.DataFrame
        One row per (checkpoint t, run): ``iteration``, ``run``, ``window``, ``avg_reward`` (sampled team
        reward :math:`\bar r` averaged over the actor batches since the last checkpoint), ``alpha``, the
        exact columns ``J`` (:math:`J(\theta_t)` on the kernel mode, :func:`~..exact._fisher.exact_objective`'s
        value), ``regret`` (:math:`J^* - J(\theta_t)`, NaN without :math:`J^*`), ``grad_norm``
        (:math:`\|\nabla J(\theta_t)\|`), ``direction_cosine`` (cosine of :math:`d_t` with :math:`\nabla J(\theta_t)`),
        ``critic_error`` / ``critic_error_sup`` (max over agents of :math:`\|\hat Q(\cdot;W^i_t) - Q_{\theta_t}\|` in
        :math:`L^2(\nu\otimes\pi)` / on its support; team reward), ``consensus_error`` (max_i
        :math:`\|W^i_t - \bar W_t\|_F` after gossip), ``spread_before_gossip`` (the same before),
        ``td_consensus`` (max over agents and samples of :math:`|\tilde\delta^i_l - \frac1N\sum_j\delta^j_l|`,
        ``td_q``/``td_v`` only); SpreadGrid adds ``episode_return`` (App. D.1's metric: expected sum of the
        rewards of a 10-step episode from :math:`\rho_0`). Columns of iteration T that need :math:`d_T` or
        :math:`W_T` are NaN.
    """

    theta: np.ndarray = field(repr=False)
    critic_weights: np.ndarray | None = field(repr=False)
    W0: np.ndarray | None = field(repr=False)
    J_star: float | None
    _actor: object = field(repr=False, default=None)

    def policy(self, run):
        """Final :class:`~netmarl_verify.envs.ProductSoftmaxPolicy` of run ``run`` (ZhangMAMDP only)."""
        return self._actor.policy(run)


def _check_alpha(alpha):
    if isinstance(alpha, numbers.Real) and not isinstance(alpha, bool):
        _check_pos_float(alpha, "alpha")
    return _as_schedule(alpha, "alpha")


def run_zhang_ac(env, *, T, K=1, M=1, alpha, beta=None, t_gossip=10, A=None, width=20, depth=5, radius=None,
                 direction="td_q", normalisation="per_agent", critic="decentralised", critic_start="cold",
                 actor_start="printed", kernel="original", restart=True, reset_every=None, gamma=None,
                 policy=None, features=None, gossip_method="rounds", runs=1, rng=None, checkpoints=None,
                 callback=None, J_star="auto", exact_metrics=True):
    r"""zhang2025 Algorithm 1 (actor) with Algorithm 2 (or 3) as critic, for ``runs`` independent runs at once.

    Parameters
    ----------
    env : ZhangMAMDP or SpreadGrid
        The model (sampled with its kernel) or the full-size grid Simple Spread (App. D.1).
    T : int >= 0
        Outer iterations (Alg. 1 l. 2).
    K : int >= 1
        Critic iterations per outer iteration (Alg. 2 l. 3; App. D.1: 1).
    M : int >= 1
        Markov batch of the actor (Alg. 1 l. 4; App. D.1: 1).
    alpha : float, PowerSchedule, tuple or callable
        :math:`\alpha_t` (float: constant, App. D.1; ``PowerSchedule(alpha, 1.0)``: :math:`\alpha/t` from t = 1,
        Thm 5.10; module docstring).
    beta : float, optional
        Critic step (default :math:`K^{-1/2}`, Thm 5.10).
    t_gossip : int >= 0
        Gossip rounds of Alg. 2 l. 12 and Alg. 1 l. 13 (App. D.1: 10).
    A : array_like (N, N), optional
        Doubly stochastic consensus matrix (default: module docstring).
    width, depth : int
        m, D of eq. (5) (App. D.1: 20, 5).
    radius : float, optional
        B (default: no projection).
    direction : {"td_q", "td_v", "q_value", "adv_oracle", "grad_oracle"}
        Module docstring table (``"td_error"`` = ``"td_q"``, the paper's).
    normalisation : {"per_agent", "global", "none"}
        Alg. 1 l. 17 (default), proof (8), none.
    critic : {"decentralised", "centralised", "exact"}
        Alg. 2 (the paper's), Alg. 3's :math:`\bar V` given to every agent (the proof's centralised reference,
        App. C; Alg. 1 l. 9 still uses each agent's :math:`r^i`), or the exact local :math:`Q^i_\theta` tables
        (isolates the actor; loops over runs). The oracle directions ignore it (they need no network) and use
        the exact quantities. Without a network the critic and consensus columns are NaN.
    critic_start : {"cold", "warm"}
    actor_start : {"printed", "continue"}
    kernel : {"original", "restart"}
    restart : bool
        Chain restarts to :math:`s_0` w.p. 1 - γ (§3.1 restart kernel).
    reset_every : int, optional
        Reset to :math:`\rho_0` every this many transitions (App. D.1: 10).
    gamma : float, optional
        SpreadGrid only (default 0.99, App. D.1); a ZhangMAMDP carries its own.
    policy : ProductSoftmaxPolicy, optional
        :math:`\theta_0` (default the model's; SpreadGrid: tabular, uniform).
    features : array_like (|S|, |A|, d), optional
        ξ (default: one-hot; SpreadGrid :func:`spread_features`).
    gossip_method : {"rounds", "power"}
        :func:`~._gossip.gossip`'s: ``"rounds"`` (default) the literal t products :math:`X \leftarrow AX`,
        ``"power"`` one product with :math:`A^t` (equal up to rounding; faster for large t).
    runs : int >= 1
    rng : seed or Generator
    checkpoints : iterable of int, optional
        Outer iterations in [0, T] with trace rows (default 11 evenly spaced).
    callback : callable, optional
        ``callback(ZhangACState) -> None or dict``.
    J_star : "auto", float or None
        Optimum for ``regret``: "auto" computes :math:`V^*(s_0)` on the kernel mode (value iteration).
    exact_metrics : bool
        Whether to add the exact columns (off for timing and large models).

    Returns
    -------
    ZhangACResult

    Raises
    ------
    ValueError, TypeError, ShapeError
        Named invalid arguments (non doubly stochastic A, unknown direction, K < 1, ...).
    NonFiniteError
        A non-finite actor direction (typically a diverging critic: β too large for m, D), naming the
        iteration, run and agent.

    Examples
    --------
    >>> from netmarl_verify.envs._zhang2025 import random_mamdp
    >>> res = run_zhang_ac(random_mamdp(2, 3, 2, seed=1), T=30, K=5, M=5, alpha=0.05, beta=0.05, width=8,
    ...                    depth=2, direction="adv_oracle", runs=3, rng=0, checkpoints=[0, 30])
    >>> J = res.trace.groupby("iteration").J.mean(); bool(J[30] > J[0])
    True
    """
    envw = _Env(env, gamma)
    T = _check_int(T, "T", 0)
    K, M = _check_int(K, "K", 1), _check_int(M, "M", 1)
    alpha_s = _check_alpha(alpha)
    beta = K ** -0.5 if beta is None else _check_pos_float(beta, "beta")
    t_gossip = _check_int(t_gossip, "t_gossip", 0)
    A = _check_consensus(A, envw.N)
    width, depth = _check_int(width, "width", 1), _check_int(depth, "depth", 1)
    radius = _check_pos_float(radius, "radius", allow_none=True)
    direction = _check_direction(direction)
    _choice(normalisation, "normalisation", NORMALISATIONS)
    _choice(critic, "critic", CRITICS)
    _choice(critic_start, "critic_start", _CRITIC_STARTS)
    _choice(actor_start, "actor_start", _ACTOR_STARTS)
    _choice(kernel, "kernel", _KERNELS)
    _choice(gossip_method, "gossip_method", ("rounds", "power"))
    if reset_every is not None:
        reset_every = _check_int(reset_every, "reset_every", 1)
    R = _check_int(runs, "runs", 1)
    checkpoints = _check_checkpoints(checkpoints, T)
    if envw.grid is not None:
        if policy is not None:
            raise ValueError("a SpreadGrid run starts from the uniform tabular policy; `policy` is for ZhangMAMDP")
        if features is None:
            features = spread_features(envw.grid)
    else:
        policy = env.policy if policy is None else policy
    exact = _Exact(envw, kernel) if (exact_metrics or direction in ("adv_oracle", "grad_oracle")
                                     or critic == "exact") else None
    if J_star == "auto":
        J_star = exact.optimum() if exact_metrics else None
    elif J_star is not None:
        J_star = float(J_star)

    rng, seed = seeded_generator(rng)
    N, gam = envw.N, envw.gamma
    uses_net = critic != "exact" and direction not in ("adv_oracle", "grad_oracle")
    net = _Critic(rng, envw, width, depth, features).init(R) if uses_net else None
    actor = _Actor(envw, policy, R)
    C = 1 if critic == "centralised" else N
    W_prev = None
    s = np.full(R, envw.s0, dtype=np.int64)
    step = 0                                                                          # transitions so far
    a = None

    def exact_columns(t, W, d, td_dev):
        cols = {k: np.full(R, np.nan) for k in ("J", "regret", "grad_norm", "direction_cosine", "critic_error",
                                                 "critic_error_sup")}
        if envw.grid is not None:
            cols["episode_return"] = np.full(R, np.nan)
        if exact is None or not exact_metrics:
            return cols
        Qh = net.all_values(W) if W is not None else None
        dflat = actor.flat_direction(d) if d is not None else None
        for r in range(R):
            ex = exact.at(actor, r)
            cols["J"][r] = ex["J"]
            g = ex["grad"]
            cols["grad_norm"][r] = float(np.linalg.norm(g))
            if dflat is not None:
                den = np.linalg.norm(dflat[r]) * np.linalg.norm(g)
                cols["direction_cosine"][r] = float(dflat[r] @ g / den) if den > 0 else np.nan
            if Qh is not None:
                cols["critic_error"][r], cols["critic_error_sup"][r] = _critic_errors(Qh[r], ex)
            if envw.grid is not None:
                from netmarl_verify.solvers.exact._spread_exact import spread_episode_return

                cols["episode_return"][r] = spread_episode_return(envw.grid, ex["pi"], 10)
        if J_star is not None:
            cols["regret"] = J_star - cols["J"]
        return cols

    def state_columns(t, W_pre, W, d, td_dev):
        cols = {"alpha": np.full(R, float(alpha_s(t)))}
        cols["consensus_error"] = _spread(W) if W is not None else np.full(R, np.nan)
        cols["spread_before_gossip"] = _spread(W_pre) if W_pre is not None else np.full(R, np.nan)
        cols["td_consensus"] = td_dev if td_dev is not None else np.full(R, np.nan)
        cols.update(exact_columns(t, W, d, td_dev))
        return cols

    trace = TraceRecorder(R, checkpoints, callback)
    clock = Stopwatch()
    clock.start()
    # overflow in a diverging critic is reported below (NonFiniteError), not as a numpy warning
    with np.errstate(over="ignore", invalid="ignore"):
        for t in range(T):
            if a is None:
                a = _draw_actions(actor, s, rng.random((R, N)))                             # a_0 (t = 0 only)
            Uc = rng.random((R, K, 2 * N + 3))
            Ua0 = rng.random((R, N))
            Um = rng.random((R, M, 2 * N + 3))
            # ---- critic (Alg. 2 / Alg. 3) on K transitions from (s, a)
            cb, sK, aK = _transitions(envw, actor, s, a, Uc, step, bool(restart), reset_every, kernel)
            step += K
            W = W_pre = None
            if uses_net:
                if critic_start == "warm" and W_prev is not None:
                    Wk = W_prev
                else:
                    Wk = np.broadcast_to(net.W0[:, None], (R, C) + net.W0.shape[1:])      # Alg. 2 l. 2 (a view)
                Wbar = Wk
                n_upd = K if critic == "decentralised" else K - 1                           # Alg. 3: k = 0..K-2
                for k in range(n_upd):
                    r = cb.rewards[:, k]                                                # Alg. 2: r^i
                    if critic == "centralised":
                        r = r.mean(axis=1, keepdims=True)                               # Alg. 3: r-bar
                    Wk, _ = net.td_step(Wk, cb.pairs[:, k], cb.targets[:, k], r, beta, gam, radius)
                    Wbar = Wbar * ((k + 1) / (k + 2))                                         # Alg. 2 l. 9
                    Wbar += Wk / (k + 2)
                W_pre = Wbar
                W = Wbar
                if critic == "decentralised":
                    W = gossip(A, Wbar, t_gossip, axis=1, method=gossip_method)                # Alg. 2 l. 12
                W_prev = W

                def qfun(pairs, W=W):
                    return net.values(W, pairs)
            elif critic == "exact" and direction not in ("adv_oracle", "grad_oracle"):
                Qloc = np.stack([exact.at(actor, r, local=True)["Q_local"].reshape(N, -1) for r in range(R)])

                def qfun(pairs, Qloc=Qloc):
                    return np.take_along_axis(Qloc, pairs[:, None, :], 2)
            else:
                qfun = None
            # ---- actor start s_{t,0}
            if actor_start == "printed":
                s_t0 = cb.states[:, K - 1]                                                 # Alg. 2 l. 13: s_{K-1} (sic)
                a_t0 = _draw_actions(actor, s_t0, Ua0)                                       # a_{t,0} ~ pi (undefined)
            else:
                s_t0, a_t0 = sK, aK
            ab, s, a = _transitions(envw, actor, s_t0, a_t0, Um, step, bool(restart), reset_every, kernel)
            step += M
            # ---- direction (Alg. 1 l. 8-16)
            td_dev = None
            if direction == "grad_oracle":
                g = np.stack([exact.at(actor, r)["grad"] for r in range(R)])
                d = actor.from_flat(g)
            else:
                adv_fun = None
                if direction == "adv_oracle":
                    exs = [exact.at(actor, r) for r in range(R)]
                    advt = np.stack([e["adv"].reshape(-1) for e in exs])

                    def adv_fun(b, advt=advt):
                        return np.take_along_axis(advt, b.pairs, 1)
                d = _actor_step_direction(envw, actor, ab, qfun, direction, A, t_gossip, adv_fun, gossip_method)
            sq = actor.sq_norms(d)
            if not np.isfinite(sq).all():
                raise NonFiniteError(_divergence_message(t, sq, W))
            if trace.due(t):
                with clock.paused():
                    if direction in ("td_q", "td_v"):
                        td_dev = _td_deviation(envw, ab, qfun, actor, direction, A, t_gossip)
                    trace.record(t, ZhangACState(t, actor.flat(), W, actor.flat_direction(d)),
                                 state_columns(t, W_pre, W, d, td_dev))
            actor.step(d, _step_scale(sq, float(alpha_s(t)), normalisation))             # Alg. 1 l. 17
            trace.add_reward(ab.rewards.mean(axis=(1, 2)))
    clock.stop()
    if trace.due(T):
        trace.record(T, ZhangACState(T, actor.flat(), None, None), state_columns(T, None, None, None, None))
    settings = dict(T=T, K=K, M=M, alpha=alpha_s, beta=beta, t_gossip=t_gossip, A=A.tolist(), width=width,
                    depth=depth, radius=radius, direction=direction, normalisation=normalisation, critic=critic,
                    critic_start=critic_start, actor_start=actor_start, kernel=kernel, restart=bool(restart),
                    reset_every=reset_every, gamma=gam, runs=R, checkpoints=list(checkpoints),
                    features="one-hot" if features is None else "given", gossip_method=gossip_method,
                    metrics_seconds=trace.seconds)
    return ZhangACResult(trace=trace.frame(), seed=seed, settings=settings, elapsed=clock.elapsed,
                         agent_steps_per_second=(R * N * (K + M) * T / clock.elapsed) if clock.elapsed > 0
                         else float("nan"),
                         theta=actor.flat(), critic_weights=W_prev, W0=None if net is None else net.W0,
                         J_star=J_star, _actor=actor)


def _divergence_message(t, sq, W):
    r, i = (int(x) for x in np.argwhere(~np.isfinite(sq))[0])
    critic = ""
    if W is not None and not np.isfinite(W[r]).all():
        critic = (" after the critic diverged (non-finite weights out of Alg. 2/3: lower `beta`, or project with a "
                  "finite `radius`)")
    return f"iteration {t}, run {r}: agent {i}'s actor direction d^{i} is not finite{critic}"


def _td_deviation(envw, batch, qfun, actor, direction, A, t_gossip):
    """max_{i,l} |δ~^i_l - mean_j δ^j_l| per run (the actor-gossip consensus error of (26))."""
    R, M = batch.pairs.shape
    r = np.swapaxes(batch.rewards, 1, 2)
    if direction == "td_q":
        q = qfun(np.concatenate([batch.pairs, batch.targets], axis=1))
        delta0 = np.broadcast_to(q[..., :M] - r - envw.gamma * q[..., M:], r.shape)
    else:
        st = np.concatenate([batch.states, batch.target_states], axis=1)
        pairs = st[:, :, None] * envw.nA + np.arange(envw.nA)
        q = qfun(pairs.reshape(R, -1)).reshape(R, -1, 2 * M, envw.nA)
        v = (q * _joint_pi(actor, envw, st)[:, None]).sum(axis=-1)
        delta0 = np.broadcast_to(r + envw.gamma * v[..., M:] - v[..., :M], r.shape)
    mixed = gossip_td_errors(A, np.swapaxes(delta0, 1, 2), t_gossip)
    return np.abs(mixed - delta0.mean(axis=1, keepdims=True)).max(axis=(1, 2))


# ============================================================================ throughput
#: Goal of :func:`zhang_ac_throughput`, agent-steps/s (its docstring gives the measurement behind it).
GOAL_ZHANG_AC = 30_000.0


def zhang_ac_throughput(N=2, runs=64, T=200, K=1, M=1, width=20, depth=5, t_gossip=10, rng=0):
    r"""Agent-steps per second of :func:`run_zhang_ac` on the full-size Simple Spread (13 x 5, App. D.1 settings).

    Counts ``runs * N * (K + M) * T`` simulated agent-steps (critic and actor transitions) over the training
    time (no exact metrics, no checkpoints), after a one-iteration warm-up: ``td_q`` direction, Alg. 2 critic,
    m = 20, D = 5, :math:`t_{\rm gossip}` = 10 literal rounds, :func:`spread_features`, γ = 0.99, α = 0.005,
    β = 0.001, K = M = 1, N = 2, 64 runs.

    Goal :data:`GOAL_ZHANG_AC` = 30,000 agent-steps/s. Measured with the defaults on the shared 2-core machine
    (load average 1.1-2.7 from other jobs), 1 or 2 BLAS threads, 18 calls: 76,000-111,000 (median ~103,000);
    before the M = 1 fast path of the actor step 63,000-74,000. The goal is below half the lowest. The rate
    is bounded by memory traffic over the critic parameters, not by the simulator: every agent-step touches
    the :math:`Dm^2` = 2,000 trained weights of its network about ten times (TD gradient and update, running
    average, ten gossip rounds), ~160 kB, i.e. ~10 µs per agent-step at ~16 GB/s; gossip (``"rounds"``) is
    ~35 % of the time, the TD step ~25 %. For comparison the ying2023 row (tabular, no network) has a goal
    of 1 million.
    """
    grid = SpreadGrid(int(N), 13, 5)
    kw = dict(K=K, M=M, alpha=0.005, beta=0.001, t_gossip=t_gossip, width=width, depth=depth, runs=runs, rng=rng,
              checkpoints=[], exact_metrics=False, J_star=None)
    run_zhang_ac(grid, T=1, **kw)                                                     # warm-up
    res = run_zhang_ac(grid, T=T, **kw)
    return float(res.agent_steps_per_second)
