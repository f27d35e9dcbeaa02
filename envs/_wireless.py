r"""The wireless access-point network of qu2020 §4 / App. E, and vectorized simulation.

Model (qu2020 App. E, after Zocca 2019)
---------------------------------------
Users sit on an ``H x W`` grid of cells (default 5 x 5), one user per cell; user ``(r, c)`` has
index ``i = r * W + c``. Access points (APs) sit at all ``(H + 1) x (W + 1)`` cell corners; the
corner ``(r', c')`` has AP index ``k = r' * (W + 1) + c'``. User ``(r, c)`` can use the four
corners of its cell, :math:`Y_i = \{(r, c), (r, c+1), (r+1, c), (r+1, c+1)\}`. Two users are
neighbours iff they share an AP (:math:`Y_i \cap Y_j \ne \emptyset`, qu2020 App. E), so the
interaction graph is the 8-neighbourhood (king's graph) of the grid.

Each user keeps a queue of packets with deadlines. The local state is the binary tuple
:math:`s_i = (e_1, \dots, e_d) \in \{0, 1\}^d`, :math:`e_m = 1` iff a packet with remaining
deadline ``m`` is queued. One step from time ``t`` to ``t + 1``:

1. *Transmission.* A user *sends* iff its queue is non-empty and its action is not null; it
   transmits its earliest-deadline packet (smallest ``m`` with :math:`e_m = 1`) to the chosen AP
   :math:`y_k`. If no other *sending* user chose :math:`y_k`, the packet goes through with
   probability :math:`q_k` (independent coin): reward 1 and the packet leaves the queue.
   Otherwise (collision, or the coin fails) nothing is sent and the packet stays.
2. *Ageing.* Every remaining deadline decreases by one; a packet reaching 0 is dropped.
3. *Arrival.* With probability :math:`p_i` a new packet with deadline ``d`` arrives.

A packet arriving at the end of step ``t`` can be sent at steps ``t+1, ..., t+d`` (``d``
attempts). Given the current global state and action, the users' next local states are
independent (each user has its own success and arrival coins; collisions are a deterministic
function of the actions), so the dynamics are exactly a networked MDP with
:math:`P_i(s_i' \mid s_{N_i}, a_{N_i})` (``transition_form="neighbourhood"``, qu2020 App. E;
ying2023 §2).

Choices pinned where App. E is ambiguous
----------------------------------------
* **Order within a step**: transmit, then age, then arrive (above). App. E lists arrival first;
  that is the same process observed at the decision time — our state is the queue just after
  the arrivals, when the user chooses its action.
* **Local state index**: :math:`s_i = \sum_m e_m 2^{m-1}` — :math:`e_1` is the **least**
  significant bit, so ``S_i = 2**d``. Then "earliest packet" is the lowest set bit
  (``s & -s``), ageing is ``s >> 1`` and an arrival sets bit ``d - 1``. At most one packet per
  deadline can be queued (at most one arrival per step), so the tuple describes the queue.
* **Local action index**: ``0`` = null, ``1..4`` = the corners of the user's cell in the order
  top-left ``(r, c)``, top-right ``(r, c+1)``, bottom-left ``(r+1, c)``, bottom-right
  ``(r+1, c+1)``. ``A_i = 5`` for every user, also on the boundary (every user has four
  corners), so policy tables are rectangular.
* **Empty queue**: every action is null; it occupies no AP and cannot cause a collision.
* **Collisions**: only among sending users; two *or more* senders on one AP all fail.
* **Reward**: the simulator returns the realised reward (1 on success, else 0); the exact model
  carries its conditional expectation :math:`r_i(s_{N_i}, a_{N_i}) = P(\text{success})`
  (``reward_form="neighbourhood"``), which has the same average reward.
* **Parameters**: ``rng = numpy.random.default_rng(seed)``; first ``p = rng.uniform(0, 1, n)``
  (arrival probabilities, user order), then ``q = rng.uniform(0, 1, n_ap)`` (success
  probabilities, AP order), as in App. E ("generated uniformly random from [0, 1]"). Either can
  be overridden by passing ``p=`` / ``q=``; the seed is recorded.
* **Localized ALOHA** (qu2020 §4, after Roberts 1975): a user with a non-empty queue sends with
  probability ``p_send``; it picks AP :math:`k \in Y_i` with probability proportional to
  :math:`w_k = q_k / m_k`, :math:`m_k` the number of users whose cell has corner ``k`` (1 at a
  grid corner, 2 on a grid edge, 4 inside). If all :math:`w_k = 0` it picks uniformly. With an
  empty queue it takes the null action.

Exact model and its size
------------------------
:meth:`WirelessNetwork.to_networked_mdp` compiles the network to a
:class:`~envs.NetworkedMDP` with dense kernels of shape
``(2**d,) * |N_i| + (5,) * |N_i| + (2**d,)`` — :math:`20^{|N_i|} \cdot 4` entries for ``d = 2``:

=====================  ============  ================================  ========================
grid                   max |N_i|     largest kernel (d = 2)            whole model (P and r)
=====================  ============  ================================  ========================
1 x n strip            3             32,000 entries                    ~0.3 MiB per user
2 x 2                  4             640,000                           ~24 MiB
2 x 3                  6             256,000,000 (1.9 GiB)             ~4.8 GiB (x2 while built)
3 x 3, 5 x 5           9             2.05e12 (14.9 TiB)                refused
=====================  ============  ================================  ========================

Measured for 2 x 3: 4.8 GiB resident, 11.3 GiB peak (estimate 11.5 GiB), about 45 s — it is
built only if the budget allows (:func:`~envs.memory_budget`, ``NETMARL_MAX_BYTES``).

The dense layout cannot exploit that an empty-queue user's action is irrelevant (only 16 of the
20 ``(s_j, a_j)`` pairs are distinct) nor that a neighbour matters only through which shared AP
it occupies. Note that a policy-averaged *product* of per-user kernels is **not** the exact
chain: two users that pick the same access point fail together, so under a stochastic policy
their next states are correlated given the current state (on a 1 x 2 strip with p = 0.7, q = 1
and both users choosing the shared AP half the time, the product chain gives J = 0.63595 while
the exact model gives 0.63234, simulation 0.63231 +- 0.00011). The exact solvers therefore
contract the action-dependent kernels of :meth:`WirelessNetwork.to_networked_mdp` jointly over
the actions.

References
----------
qu2020 §4 and App. E; Zocca (2019), temporal starvation in multi-channel CSMA networks;
Roberts (1975), ALOHA packet system with and without slots and capture.
"""

import math
import time
from dataclasses import dataclass

import networkx as nx
import numpy as np

from ._instances import LocalTabularPolicy
from ._memory import check_memory, format_bytes
from ._networked import NetworkedMDP
from ._tabular import TabularMDP
from ._random import _check_seed, as_generator
from ._validation import ShapeError, as_float_array, check_local_indices, check_real, fmt_number

__all__ = [
    "WirelessNetwork",
    "LocalPolicySampler",
    "Rollout",
    "simulate",
    "AlohaTuning",
    "tune_aloha",
    "simulator_throughput",
]

#: Corner order of the local actions 1..4: (row offset, column offset) of the cell corner.
CORNERS = ((0, 0), (0, 1), (1, 0), (1, 1))
N_ACTIONS = 1 + len(CORNERS)


def _prob_vector(x, size, what):
    x = as_float_array(x, f"`{what}`")
    if x.ndim == 0:
        x = np.full(size, float(x))
    if x.shape != (size,):
        raise ShapeError(f"`{what}` must have shape ({size},), got {x.shape}")
    bad = ~np.isfinite(x) | (x < 0) | (x > 1)
    if bad.any():
        k = int(np.flatnonzero(bad)[0])
        raise ValueError(f"`{what}[{k}]` = {float(x[k])!r} is not a probability in [0, 1]")
    x.setflags(write=False)
    return x


class WirelessNetwork:
    r"""Users on an ``H x W`` grid sharing the access points at the cell corners (qu2020 App. E).

    The model, the index conventions and every choice made where the paper is ambiguous are in
    the module docstring of :mod:`netmarl_verify.envs._wireless`.

    Parameters
    ----------
    H, W : int
        Grid size (``n = H * W`` users, ``n_ap = (H + 1) * (W + 1)`` access points).
    d : int
        Packet deadline; local states are ``0 .. 2**d - 1``.
    seed : int or None
        Seed of the uniform draws of ``p`` and ``q`` (recorded): a non-negative int, as for
        :func:`~envs.as_generator` (``None``: fresh entropy, recorded as ``None``).
    p : array_like, shape (n,), optional
        Arrival probabilities; overrides the draw.
    q : array_like, shape (n_ap,), optional
        Success probabilities; overrides the draw.

    Attributes
    ----------
    H, W, d, seed : int
    n, n_ap : int
    p : ndarray, shape (n,)
    q : ndarray, shape (n_ap,)
    graph : networkx.Graph
        Conflict graph on users ``0..n-1`` (edge iff the users share an AP).
    state_sizes, action_sizes : tuple of int
        ``(2**d,) * n`` and ``(5,) * n``.
    neighbourhoods : tuple of tuple of int
        Closed neighbourhoods :math:`N_i`, sorted ascending (as in :class:`~envs.NetworkedMDP`).
    ap_table : ndarray, shape (n, 5)
        ``ap_table[i, a]`` is the AP of action ``a`` of user ``i``; ``ap_table[i, 0] = n_ap``
        (the null action, "no AP").
    ap_users : ndarray, shape (n_ap,)
        :math:`m_k`, the number of users that can use AP ``k``.

    Examples
    --------
    >>> import numpy as np
    >>> from netmarl_verify.envs import WirelessNetwork
    >>> net = WirelessNetwork(1, 2, p=[0.0, 0.0], q=np.ones(6))
    >>> net.access_points(0), net.access_points(1)   # they share APs 1 and 4
    ((0, 1, 3, 4), (1, 2, 4, 5))
    >>> s = [[1, 1]]                                  # both hold a packet with deadline 1
    >>> net.step(s, [[2, 1]], np.random.default_rng(0))  # both on AP 1: collision
    (array([[0, 0]]), array([[0., 0.]]))
    >>> net.step(s, [[1, 2]], np.random.default_rng(0))  # APs 0 and 2, q = 1: both succeed
    (array([[0, 0]]), array([[1., 1.]]))
    """

    def __init__(self, H=5, W=5, d=2, seed=0, *, p=None, q=None):
        H, W, d = int(H), int(W), int(d)
        if H < 1 or W < 1:
            raise ValueError(f"the grid must have at least one cell, got H={H}, W={W}")
        if d < 1:
            raise ValueError(f"the deadline `d` must be >= 1, got {d}")
        if d > 20:
            raise ValueError(f"the deadline `d` = {d} gives 2**d local states; use d <= 20")
        self.H, self.W, self.d = H, W, d
        self.seed = None if seed is None else _check_seed(seed, "seed")
        self.n = H * W
        self.n_ap = (H + 1) * (W + 1)
        rng = np.random.default_rng(self.seed)
        p_draw = rng.uniform(0.0, 1.0, self.n)
        q_draw = rng.uniform(0.0, 1.0, self.n_ap)
        self.p = _prob_vector(p_draw if p is None else p, self.n, "p")
        self.q = _prob_vector(q_draw if q is None else q, self.n_ap, "q")

        S = 2**d
        self.n_local_states = S
        self.state_sizes = (S,) * self.n
        self.action_sizes = (N_ACTIONS,) * self.n

        ap = np.empty((self.n, N_ACTIONS), dtype=np.int64)
        ap[:, 0] = self.n_ap
        for r in range(H):
            for c in range(W):
                for a, (dr, dc) in enumerate(CORNERS, start=1):
                    ap[r * W + c, a] = (r + dr) * (W + 1) + (c + dc)
        ap.setflags(write=False)
        self.ap_table = ap
        users_of = [[] for _ in range(self.n_ap)]
        for i in range(self.n):
            for k in ap[i, 1:]:
                users_of[k].append(i)
        self._users_of = tuple(tuple(u) for u in users_of)
        self.ap_users = np.array([len(u) for u in users_of], dtype=np.int64)
        self.ap_users.setflags(write=False)

        g = nx.Graph()
        g.add_nodes_from(range(self.n))
        for users in self._users_of:
            g.add_edges_from((u, v) for u in users for v in users if u < v)
        self.graph = g
        self.neighbourhoods = tuple(tuple(sorted({i} | set(g.neighbors(i)))) for i in range(self.n))
        self._build_tables()

    # ------------------------------------------------------------------ structure
    def __repr__(self):
        return f"WirelessNetwork(H={self.H}, W={self.W}, d={self.d}, seed={self.seed}, n={self.n}, n_ap={self.n_ap})"

    def _check_user(self, user):
        if not isinstance(user, (int, np.integer)) or not 0 <= user < self.n:
            raise ValueError(f"`user` must be an integer in 0..{self.n - 1}, got {fmt_number(user)}")
        return int(user)

    def access_points(self, user):
        """The APs of ``user`` in action order 1..4 (top-left, top-right, bottom-left, bottom-right)."""
        return tuple(int(k) for k in self.ap_table[self._check_user(user), 1:])

    def users_of(self, ap):
        """The users that can use access point ``ap``, ascending."""
        if not isinstance(ap, (int, np.integer)) or not 0 <= ap < self.n_ap:
            raise ValueError(f"`ap` must be an integer in 0..{self.n_ap - 1}, got {fmt_number(ap)}")
        return self._users_of[int(ap)]

    def encode(self, bits):
        r"""Local state index of the tuple :math:`(e_1, \dots, e_d)` (``e_1`` least significant)."""
        bits = np.asarray(bits, dtype=np.int64)
        if bits.shape[-1:] != (self.d,) or np.any((bits != 0) & (bits != 1)):
            raise ValueError(f"`bits` must be 0/1 tuples (e_1, ..., e_{self.d}) along the last axis, got {bits!r}")
        return (bits << np.arange(self.d)).sum(axis=-1)

    def decode(self, states):
        r"""The tuples :math:`(e_1, \dots, e_d)` of local state indices, new last axis of length d."""
        states = np.asarray(states, dtype=np.int64)
        return (states[..., None] >> np.arange(self.d)) & 1

    # ------------------------------------------------------------------ simulation
    def _build_tables(self):
        """Index tables for the vectorized step (all integer gathers, no per-user loop)."""
        n, S, A, d = self.n, self.n_local_states, N_ACTIONS, self.d
        # AP used by (user, state, action): the dummy AP n_ap when not sending.
        used = np.broadcast_to(self.ap_table[:, None, :], (n, S, A)).copy()
        used[:, 0, :] = self.n_ap
        self._ap_sa = used.ravel()
        self._sa_offset = (np.arange(n, dtype=np.int64) * (S * A))[None, :]
        self._q_ext = np.append(self.q, 0.0)  # the dummy AP never succeeds
        # next state from (s, success, arrival): index 4 * s + 2 * success + arrival
        s = np.arange(S)
        after = np.stack([s, s & (s - 1)], axis=1) >> 1  # (S, success)
        nxt = after[:, :, None] | (np.arange(2)[None, None, :] << (d - 1))
        self._next_flat = nxt.reshape(-1).astype(np.int64)

    def _check_batch(self, x, sizes_max, what):
        x = np.asarray(x)
        if x.ndim == 1 and x.shape[0] == self.n:
            x = x[None, :]
        if x.ndim != 2 or x.shape[1] != self.n:
            raise ShapeError(f"`{what}` must have shape (B, n={self.n}), got {x.shape}")
        if not np.issubdtype(x.dtype, np.integer):
            if x.size and not np.all(np.equal(np.mod(x, 1), 0)):
                raise ValueError(f"`{what}` must hold integer local indices")
        x = x.astype(np.int64, copy=False)
        if x.size and (x.min() < 0 or x.max() >= sizes_max):
            row, user = (int(v) for v in np.argwhere((x < 0) | (x >= sizes_max))[0])
            raise ValueError(f"`{what}`[{row}, {user}] = {x[row, user]} is out of range 0..{sizes_max - 1}")
        return x

    def transition(self, states, actions, uniforms):
        """The deterministic part of :meth:`step`, given the uniforms.

        Parameters
        ----------
        states, actions : int array, shape (B, n)
        uniforms : float array, shape (2, B, n)
            ``uniforms[0]``: success coins (success iff ``< q_k``); ``uniforms[1]``: arrival
            coins (arrival iff ``< p_i``).

        Returns
        -------
        next_states : int64 array, shape (B, n)
        success : bool array, shape (B, n)
        """
        states = self._check_batch(states, self.n_local_states, "states")
        actions = self._check_batch(actions, N_ACTIONS, "actions")
        uniforms = np.asarray(uniforms, dtype=np.float64)
        if actions.shape != states.shape or uniforms.shape != (2,) + states.shape:
            raise ShapeError(
                f"`actions` must have the shape of `states` {states.shape} and `uniforms` the shape "
                f"{(2,) + states.shape}, got {actions.shape} and {uniforms.shape}"
            )
        out = np.empty(states.shape, dtype=np.int64)
        nxt, success = self._transition_into(states, actions, uniforms, out, _StepWorkspace(self, states.shape[0]))
        return nxt, success.copy()

    def _transition_into(self, states, actions, u, out, work):
        """Hot path: :meth:`transition` into preallocated buffers, no allocation.

        Integer gathers on precomputed tables only; ``out`` must not alias ``states``. Returns
        ``out`` and the success mask (a buffer of ``work``, overwritten by the next call).
        """
        idx, ap, cnt, qk, ok, tmp = work.idx, work.ap, work.cnt, work.qk, work.ok, work.tmp
        # AP used by each copy and user (n_ap = none): _ap_sa[(i * S + s) * A + a]
        np.multiply(states, N_ACTIONS, out=idx)
        idx += actions
        idx += self._sa_offset
        np.take(self._ap_sa, idx, out=ap, mode="clip")
        # senders per (copy, AP): success needs exactly one, then the coin u < q_k
        np.add(ap, work.batch_offset, out=idx)
        work.counts.fill(0)
        np.add.at(work.counts, idx.ravel(), 1)
        np.take(work.counts, idx, out=cnt, mode="clip")
        np.equal(cnt, 1, out=ok)
        np.take(self._q_ext, ap, out=qk, mode="clip")  # q = 0 on the dummy AP: non-senders fail
        np.less(u[0], qk, out=tmp)
        ok &= tmp
        # next state = _next_flat[4 s + 2 success + arrival]
        np.multiply(states, 4, out=idx)
        idx += ok
        idx += ok
        np.less(u[1], self.p, out=tmp)
        idx += tmp
        np.take(self._next_flat, idx, out=out, mode="clip")
        return out, ok

    def step(self, states, actions, rng):
        """Sample one step for a batch of ``B`` independent copies (vectorized over the batch).

        Parameters
        ----------
        states : int array, shape (B, n)
            Local states ``0 .. 2**d - 1``.
        actions : int array, shape (B, n)
            Local actions ``0 .. 4`` (ignored, i.e. null, where the queue is empty).
        rng : int, numpy.random.Generator or None
            All randomness: ``2 * B * n`` uniforms per step (:func:`~envs.as_generator`).

        Returns
        -------
        next_states : int64 array, shape (B, n)
        rewards : float64 array, shape (B, n)
            Realised local rewards, 1.0 on a successful transmission, else 0.0.
        """
        states = self._check_batch(states, self.n_local_states, "states")
        actions = self._check_batch(actions, N_ACTIONS, "actions")
        if actions.shape != states.shape:
            raise ShapeError(f"`states` and `actions` must have the same shape, got {states.shape} and {actions.shape}")
        u = as_generator(rng).random((2,) + states.shape)
        out = np.empty(states.shape, dtype=np.int64)
        nxt, success = self._transition_into(states, actions, u, out, _StepWorkspace(self, states.shape[0]))
        return nxt, success.astype(np.float64)

    # ------------------------------------------------------------------ exact model
    def kernel_entries(self):
        """Entries of each dense kernel ``P_i`` of :meth:`to_networked_mdp`, a list of Python ints."""
        S = self.n_local_states
        return [(S * N_ACTIONS) ** len(Ni) * S for Ni in self.neighbourhoods]

    def exact_model_bytes(self):
        """Estimated peak bytes of :meth:`to_networked_mdp` (the model copies its arrays when built).

        ``16 * (sum_i (|P_i| + |r_i|)) + 8 * max_i |P_i|`` bytes: our float64 arrays plus the
        model's copies, plus the temporaries of building and validating the largest kernel
        (``sigma_i``, boolean masks, row sums: about one more largest kernel).
        """
        P = self.kernel_entries()
        R = [e // self.n_local_states for e in P]
        return 16.0 * (sum(P) + sum(R)) + 8.0 * max(P)

    def _size_description(self):
        P = self.kernel_entries()
        i = int(np.argmax(P))
        m = len(self.neighbourhoods[i])
        S = self.n_local_states
        return (
            f"the exact wireless model of the {self.H} x {self.W} grid ({self.n} users, d = {self.d}); "
            f"user {i} has |N_i| = {m} and a dense kernel of {S}^{m} * {N_ACTIONS}^{m} * {S} = {P[i]:.3g} "
            f"entries ({format_bytes(8.0 * P[i])}), the model {format_bytes(8.0 * (sum(P) + sum(P) / S))}"
        )

    def _success_factors(self, i):
        """Building blocks of :math:`\\sigma_i(s_{N_i}, a_{N_i})` = P(user i's transmission succeeds)."""
        S, A = self.n_local_states, N_ACTIONS
        Ni = self.neighbourhoods[i]
        sends = np.zeros((S, A), dtype=bool)
        sends[1:, 1:] = True
        terms = []
        for a_i in range(1, A):
            k = self.ap_table[i, a_i]
            own = np.zeros((S, A))
            own[1:, a_i] = self.q[k]
            # free[j][s_j, a_j] = 1 - 1{j sends to k}, only for the other users of AP k
            free = {j: 1.0 - (sends & (self.ap_table[j][None, :] == k)) for j in self._users_of[k] if j != i}
            terms.append((own, free))
        return Ni, terms

    def _sigma_dense(self, i):
        """:math:`\\sigma_i` on the dense layout ``(S,)*m + (A,)*m`` (expected reward of user i)."""
        Ni, terms = self._success_factors(i)
        m = len(Ni)
        S, A = self.n_local_states, N_ACTIONS
        sigma = np.zeros((S,) * m + (A,) * m)

        def place(f, j):
            p = Ni.index(j)
            shape = [1] * (2 * m)
            shape[p], shape[m + p] = S, A
            return f.reshape(shape)

        for own, free in terms:
            t = place(own, i)
            for j, f in free.items():
                t = t * place(f, j)
            sigma += t
        return sigma

    def _next_state_rows(self, i):
        """``fail[s, s']`` and ``succ[s, s']``: next-state laws of user i without / with a success."""
        S, d, p = self.n_local_states, self.d, self.p[i]
        s = np.arange(S)
        fail = np.zeros((S, S))
        succ = np.zeros((S, S))
        for out, kept in ((fail, s), (succ, np.where(s > 0, s & (s - 1), 0))):
            base = kept >> 1
            np.add.at(out, (s, base), 1.0 - p)
            np.add.at(out, (s, base | (1 << (d - 1))), p)
        return fail, succ

    def to_networked_mdp(self, max_bytes=None):
        r"""Compile to an exact :class:`~envs.NetworkedMDP` (dense local kernels).

        ``transitions[i][s_{N_i}, a_{N_i}, s_i']`` (``transition_form="neighbourhood"``) is

        .. math:: (1 - \sigma_i)\, F_i(s_i' \mid s_i) + \sigma_i\, G_i(s_i' \mid s_i),

        with :math:`\sigma_i(s_{N_i}, a_{N_i}) = 1\{s_i \ne 0, a_i \ne 0\}\, q_{k}\,
        \prod_{j \ne i \text{ using } k} (1 - 1\{s_j \ne 0, \text{ap}(j, a_j) = k\})`, ``k`` the AP
        of ``a_i``, and :math:`F_i` / :math:`G_i` the laws of ageing plus arrival without / after
        removing the earliest packet. ``rewards[i] = sigma_i`` (``reward_form="neighbourhood"``, the
        expected reward).

        Parameters
        ----------
        max_bytes : int, optional
            Memory budget (default :func:`~envs.memory_budget`).

        Raises
        ------
        MemoryBudgetError
            Before allocating anything, if :meth:`exact_model_bytes` exceeds the budget; the
            message names the grid and the largest kernel (e.g. the 5 x 5 grid: an interior user
            has 9 neighbours and a kernel of 4^9 * 5^9 * 4 = 2.05e12 entries).
        """
        check_memory(
            self.exact_model_bytes(),
            self._size_description(),
            max_bytes=max_bytes,
            hint="use the vectorized simulator (envs.simulate) for grids this large",
        )
        P, R = [], []
        for i in range(self.n):
            m = len(self.neighbourhoods[i])
            pos = self.neighbourhoods[i].index(i)
            sigma = self._sigma_dense(i)
            fail, succ = self._next_state_rows(i)
            shape = [1] * (2 * m) + [self.n_local_states]
            shape[pos] = self.n_local_states
            T = np.multiply(sigma[..., None], (succ - fail).reshape(shape))
            T += fail.reshape(shape)
            P.append(T)
            R.append(sigma)
        return NetworkedMDP(self.graph, P, R, transition_form="neighbourhood", reward_form="neighbourhood")

    # ------------------------------------------------------------------ exact chain under a policy
    def _collision_factors(self):
        r"""The collision structure as factors over occupied APs ``o_i`` and success flags ``y_i``.

        ``o_i in 0..4`` is the action user ``i`` *effectively* takes (``0`` = occupies no AP:
        the null action or an empty queue). Returns ``V[i]`` of shape ``(2, 5)`` over
        ``(y_i, o_i)`` and ``W[(i, j)]`` of shape ``(2, 5, 5)`` over ``(y_i, o_i, o_j)`` for every
        ordered pair of neighbours:

        * ``V[i][0] = 1``, ``V[i][1, o_i] = q_{k(o_i)} 1{o_i != 0}``;
        * ``W[i, j][0] = 1``, ``W[i, j][1, o_i, o_j] = 1 - 1{o_i != 0} 1{o_j != 0} 1{k(o_i) = k(o_j)}``,

        so that :math:`\sigma_i(o) = V_i(1, o_i) \prod_{j \in N_i \setminus i} W_{ij}(1, o_i, o_j)`
        and ``y_i = 0`` selects the constant 1.
        """
        V, W = [], {}
        for i in range(self.n):
            v = np.ones((2, N_ACTIONS))
            v[1] = self._q_ext[self.ap_table[i]]  # the null action's AP n_ap has q = 0
            V.append(v)
            for j in self.neighbourhoods[i]:
                if j != i:
                    ki, kj = self.ap_table[i][:, None], self.ap_table[j][None, :]
                    w = np.ones((2, N_ACTIONS, N_ACTIONS))
                    w[1] = 1.0 - ((ki == kj) & (ki < self.n_ap))
                    W[i, j] = w
        return V, W

    def _success_moments(self, probs):
        r""":math:`C(s, y) = E_\pi[\prod_{i: y_i = 1} \sigma_i(s, a) \mid s]`, shape ``(2**d,)*n + (2,)*n``.

        Tensor network: :math:`C(s, y) = \sum_o \prod_j \rho_j(o_j | s_j)\, \Phi(o, y)`, with
        :math:`\Phi(o, y) = \prod_i V_i(y_i, o_i) \prod_{(i, j)} W_{ij}(y_i, o_i, o_j)`
        (:meth:`_collision_factors`) and :math:`\rho_j(\cdot | s_j)` the law of the occupied AP:
        ``zeta_j(. | s_j)`` if ``s_j != 0``, the null action if the queue is empty. :math:`\Phi`
        (``5**n * 2**n`` entries) is built by broadcasting the pairwise factors, then the ``o_j``
        are replaced by ``s_j`` one mode at a time (``tensordot``).
        """
        n, S, A = self.n, self.n_local_states, N_ACTIONS
        V, W = self._collision_factors()

        def place(arr, axes):
            order = np.argsort(axes)
            shape = [1] * (2 * n)
            for ax, size in zip(axes, arr.shape):
                shape[ax] = size
            return arr.transpose(order).reshape(shape)

        T = np.ones((A,) * n + (2,) * n)  # Phi(o, y)
        for i in range(n):
            T *= place(V[i], (n + i, i))
        for (i, j), w in W.items():
            T *= place(w, (n + i, i, j))
        for j in range(n):
            rho = np.zeros((S, A))
            rho[0, 0] = 1.0
            rho[1:] = probs[j][1:]
            T = np.moveaxis(np.tensordot(rho, T, axes=([1], [j])), 0, j)
        return np.ascontiguousarray(T)

    def policy_chain_bytes(self):
        """Estimated peak bytes of :meth:`policy_chain`.

        With ``N = (2**d)**n``: ``8 * 2.25 N**2`` (the dense matrix, the copy made by
        :class:`~envs.TabularMDP`, the last input of the next-state expansion and a slice of it),
        ``2 N**2`` (boolean validation masks) and ``8 * 3 * 5**n * 2**n`` (the collision tensor
        and its mode products).
        """
        N = float(self.n_local_states) ** self.n
        return 8.0 * 2.25 * N * N + 2.0 * N * N + 8.0 * 3 * float(N_ACTIONS) ** self.n * 2.0**self.n

    def policy_chain(self, policy, max_bytes=None):
        r"""The exact global chain under a product policy, as a one-action :class:`~envs.TabularMDP`.

        ``P[s, 0, s'] = P_pi(s' | s)`` and ``R[s, 0] = E_pi[(1/n) sum_i r_i(s, a) | s]`` on global
        states ``s = np.ravel_multi_index(s_1..s_n, state_sizes)`` (user 0 most significant) —
        the chain :func:`netmarl_verify.solvers.exact.transition_matrix` contracts from :meth:`to_networked_mdp`,
        built without the dense local kernels (the 2 x 3 grid: about 1 s and 0.3 GiB instead
        of ~45 s and 11 GiB).

        Construction. Given ``(s, a)`` the users' next states are independent and user ``i``'s law
        is :math:`F_i(\cdot|s_i) + \sigma_i(s, a) (G_i - F_i)(\cdot|s_i)` (see
        :meth:`to_networked_mdp`). Expanding the product over users with binary indices
        :math:`y_i` (``U_i[s_i, 0, :] = F_i``, ``U_i[s_i, 1, :] = G_i - F_i``) and averaging over
        the **joint** action — which keeps the collision correlations between users exact (a
        product of per-user policy-averaged kernels would not) —

        .. math:: P_\pi(s'|s) = \sum_{y \in \{0,1\}^n} C(s, y) \prod_i U_i(s_i, y_i, s_i'),\qquad
                  C(s, y) = E_\pi\Big[\prod_{i: y_i = 1} \sigma_i(s, a) \,\Big|\, s\Big],

        and :math:`C` is a tensor network of factors of arity <= 3 (:meth:`_success_moments`).
        The ``y -> s'`` expansion is done one user at a time. ``R[s] = (1/n) sum_i C(s, e_i)``
        (:math:`E_\pi[\sigma_i | s]`, the expected reward). Round-off negatives (``> -1e-12``)
        are set to zero.

        Parameters
        ----------
        policy : LocalTabularPolicy, LocalSoftmaxPolicy or list of arrays ``probs[i][s_i, a_i]``
            A product policy; ``probs[i]`` has shape ``(2**d, 5)``. Actions chosen with an empty
            queue are null whatever their index.
        max_bytes : int, optional
            Memory budget (default :func:`~envs.memory_budget`).

        Returns
        -------
        TabularMDP
            ``n_states = (2**d)**n``, ``n_actions = 1``; feed it to the exact solvers with the
            policy table ``np.ones((n_states, 1))``.

        Raises
        ------
        MemoryBudgetError
            Before allocating anything, if :meth:`policy_chain_bytes` exceeds the budget; the
            message names the grid, ``N`` and the bytes (the 3 x 3 grid has 262,144 states:
            512 GiB for the dense ``P`` alone).
        """
        n, S = self.n, self.n_local_states
        N = S**n
        check_memory(
            self.policy_chain_bytes(),
            f"the exact policy chain of the {self.H} x {self.W} wireless grid ({n} users, d = {self.d}): "
            f"{N} global states, a dense P_pi of {N} x {N} float64 ({format_bytes(8.0 * N * N)})",
            max_bytes=max_bytes,
            hint="use the vectorized simulator (envs.simulate) for grids this large",
        )
        probs = _policy_tables(policy, self)
        C = self._success_moments(probs)  # (S,)*n + (2,)*n
        R = np.zeros((S,) * n)
        for i in range(n):
            R += C[(slice(None),) * n + tuple(int(j == i) for j in range(n))]
        R /= n

        # y -> s' one user at a time: T has axes s_0..s_{n-1}, y_k..y_{n-1}, s'_0..s'_{k-1}
        T = C
        del C
        for k in range(n):
            fail, succ = self._next_state_rows(k)
            new = np.empty(T.shape[:n] + T.shape[n + 1 :] + (S,))
            for v in range(S):
                src = (slice(None),) * k + (v,) + (slice(None),) * (n - k - 1)
                dst = new[src]
                np.multiply(T[src + (0,)][..., None], fail[v], out=dst)
                dst += T[src + (1,)][..., None] * (succ[v] - fail[v])
            T = new
            del new
        P = T.reshape(N, 1, N)
        del T
        low = float(P.min())
        if low < -1e-12:  # pragma: no cover - a bug, not round-off
            raise ArithmeticError(f"policy_chain: negative transition probability {low:.3e}")
        np.maximum(P, 0.0, out=P)
        return TabularMDP(P, R.reshape(N, 1))

    # ------------------------------------------------------------------ ALOHA
    def aloha_weights(self):
        r"""``w[i, a]`` for ``a = 1..4``: :math:`q_k / m_k` normalised over the user's APs, shape (n, 4)."""
        k = self.ap_table[:, 1:]
        w = self.q[k] / self.ap_users[k]
        tot = w.sum(axis=1, keepdims=True)
        return np.where(tot > 0, w / np.where(tot > 0, tot, 1.0), 0.25)

    def aloha_policy(self, p_send):
        r"""The localized ALOHA benchmark (qu2020 §4, App. E) as a :class:`~envs.LocalTabularPolicy`.

        ``probs[i][0] = (1, 0, 0, 0, 0)`` (empty queue: null); for ``s_i != 0``,
        ``probs[i][s_i] = (1 - p_send, p_send * w_i)`` with :meth:`aloha_weights` ``w_i``.

        Parameters
        ----------
        p_send : float or array_like, shape (n,)
            Probability of sending the earliest packet (per user, or one for all).
        """
        p_send = _prob_vector(p_send, self.n, "p_send")
        w = self.aloha_weights()
        probs = []
        for i in range(self.n):
            t = np.zeros((self.n_local_states, N_ACTIONS))
            t[0, 0] = 1.0
            t[1:, 0] = 1.0 - p_send[i]
            t[1:, 1:] = p_send[i] * w[i]
            probs.append(t)
        return LocalTabularPolicy(probs)

    def uniform_policy(self):
        """Every action with probability 1/5 in every state (the initial policy of App. E)."""
        return LocalTabularPolicy([np.full((self.n_local_states, N_ACTIONS), 1.0 / N_ACTIONS)] * self.n)

    def tune_aloha(self, grid, rng, batch=256, steps=400, burn_in=50):
        """Grid search of the ALOHA send probability; see :func:`tune_aloha`."""
        return tune_aloha(self, grid, rng, batch=batch, steps=steps, burn_in=burn_in)


class _StepWorkspace:
    """Preallocated buffers of :meth:`WirelessNetwork._transition_into` for a batch size.

    Reusing them avoids a dozen (B, n) allocations per step, whose page faults (large blocks
    are returned to the OS by the allocator and faulted in again) cost more than the arithmetic.
    """

    def __init__(self, net, B):
        shape = (B, net.n)
        self.idx = np.empty(shape, dtype=np.int64)
        self.ap = np.empty(shape, dtype=np.int64)
        self.cnt = np.empty(shape, dtype=np.int64)
        self.qk = np.empty(shape, dtype=np.float64)
        self.ok = np.empty(shape, dtype=bool)
        self.tmp = np.empty(shape, dtype=bool)
        self.counts = np.empty(B * (net.n_ap + 1), dtype=np.int64)
        self.batch_offset = (np.arange(B, dtype=np.int64) * (net.n_ap + 1))[:, None]


# ---------------------------------------------------------------------------- policies
def _policy_tables(policy, env):
    probs = policy.probabilities() if hasattr(policy, "probabilities") else list(policy)
    if len(probs) != env.n:
        raise ShapeError(f"the policy has {len(probs)} agents but the environment has {env.n}")
    out = []
    for i, t in enumerate(probs):
        t = np.asarray(check_real(t, f"policy table {i} (agent {i})"), dtype=np.float64)
        want = (env.state_sizes[i], env.action_sizes[i])
        if t.shape != want:
            raise ShapeError(f"policy table {i} (agent {i}) has shape {t.shape}, the environment needs {want}")
        out.append(t)
    return out


class LocalPolicySampler:
    r"""Vectorized sampling of a product policy :math:`\zeta_i(a_i \mid s_i)` for a batch.

    The tables are stacked once into cumulative sums ``cdf[i * S_max + s, k]`` (padded), and
    ``a = #{k : u >= cdf_k}`` with one uniform per (copy, agent): no Python loop over copies or
    agents. Zero-probability actions are never returned (their interval is empty; columns from
    the last positive action on are set to 2).

    Parameters
    ----------
    policy : object with ``probabilities()`` (LocalSoftmaxPolicy, LocalTabularPolicy) or a list
        of arrays ``probs[i][s_i, a_i]``.
    """

    def __init__(self, policy):
        probs = policy.probabilities() if hasattr(policy, "probabilities") else list(policy)
        probs = [np.asarray(check_real(t, f"policy table {i} (agent {i})"), dtype=np.float64)
                 for i, t in enumerate(probs)]
        self.n = len(probs)
        S_max = max(t.shape[0] for t in probs)
        A_max = max(t.shape[1] for t in probs)
        cdf = np.full((self.n, S_max, A_max - 1), 2.0)
        for i, t in enumerate(probs):
            S_i, A_i = t.shape
            c = np.cumsum(t, axis=1)[:, : A_i - 1]
            last = A_i - 1 - np.argmax(t[:, ::-1] > 0, axis=1)  # last action with positive mass
            c = np.where(np.arange(A_i - 1)[None, :] >= last[:, None], 2.0, c)
            cdf[i, :S_i, : A_i - 1] = c
        # (A_max - 1, n * S_max): one contiguous gather per threshold
        self._cdf = np.ascontiguousarray(cdf.reshape(self.n * S_max, A_max - 1).T)
        self._row_offset = (np.arange(self.n, dtype=np.int64) * S_max)[None, :]
        self.state_sizes = tuple(t.shape[0] for t in probs)
        self.action_sizes = tuple(t.shape[1] for t in probs)

    def sample_from_uniforms(self, states, u):
        """Actions for states ``(B, n)`` given uniforms ``u`` of the same shape (deterministic)."""
        states = np.asarray(states, dtype=np.int64)
        out = np.empty(states.shape, dtype=np.int64)
        return self._sample_into(states, np.asarray(u, dtype=np.float64), out, _SampleWorkspace(states.shape))

    def _sample_into(self, states, u, out, work):
        """Hot path of :meth:`sample_from_uniforms` into preallocated buffers."""
        np.add(states, self._row_offset, out=work.rows)
        out.fill(0)
        for c in self._cdf:  # A_max - 1 thresholds, each vectorized over (B, n)
            np.take(c, work.rows, out=work.level, mode="clip")
            np.greater_equal(u, work.level, out=work.hit)
            out += work.hit
        return out

    def sample(self, states, rng):
        """Sample actions, int64 array of shape (B, n), for int states of shape (B, n) (or (n,)).

        ``states`` is validated like :meth:`~envs.NetworkedMDP.step` (integer local indices within
        each agent's range); ``rng``: int, Generator or None (:func:`~envs.as_generator`).
        """
        states = check_local_indices(states, self.state_sizes, "states")
        return self.sample_from_uniforms(states, as_generator(rng).random(states.shape))


class _SampleWorkspace:
    def __init__(self, shape):
        self.rows = np.empty(shape, dtype=np.int64)
        self.level = np.empty(shape, dtype=np.float64)
        self.hit = np.empty(shape, dtype=bool)


class _FastLoop:
    """Allocation-free simulation loop of a :class:`WirelessNetwork` under a sampler."""

    def __init__(self, net, sampler, states):
        B, n = states.shape
        self.net, self.sampler = net, sampler
        self.step_work = _StepWorkspace(net, B)
        self.sample_work = _SampleWorkspace((B, n))
        self.buffers = (np.empty((B, n), dtype=np.int64), np.empty((B, n), dtype=np.int64))
        self.actions = np.empty((B, n), dtype=np.int64)
        self.u_policy = np.empty((B, n))
        self.u_step = np.empty((2, B, n))
        self.states = states.copy()
        self.t = 0

    def step(self, rng):
        """Advance all copies one step; returns the success mask (a buffer, valid until the next call)."""
        rng.random(out=self.u_policy)
        self.sampler._sample_into(self.states, self.u_policy, self.actions, self.sample_work)
        rng.random(out=self.u_step)
        out = self.buffers[self.t % 2]  # never the array being read (double buffering)
        self.t += 1
        self.states, ok = self.net._transition_into(self.states, self.actions, self.u_step, out, self.step_work)
        return ok


# ---------------------------------------------------------------------------- simulation
@dataclass
class Rollout:
    """Result of :func:`simulate`.

    Attributes
    ----------
    average_reward : ndarray, shape (B,)
        Per copy, the time average over the recorded steps of the global reward
        :math:`\\frac1n\\sum_i r_i`.
    local_rewards : ndarray, shape (B, n)
        Per copy and agent, the time-averaged local reward.
    final_states : ndarray, shape (B, n)
    states : ndarray, shape (steps + 1, B, n) or None
        The recorded trajectory (from the end of the burn-in) if ``record_states``.
    steps, burn_in : int
    """

    average_reward: np.ndarray
    local_rewards: np.ndarray
    final_states: np.ndarray
    states: np.ndarray | None
    steps: int
    burn_in: int

    @property
    def mean(self):
        """Average reward over copies and time."""
        return float(self.average_reward.mean())

    @property
    def std_error(self):
        """Standard error of :attr:`mean` from the spread of the independent copies."""
        B = self.average_reward.shape[0]
        return float(self.average_reward.std(ddof=1) / math.sqrt(B)) if B > 1 else float("nan")


def simulate(env, policy, steps, rng, *, batch=None, initial_states=None, burn_in=0, record_states=False):
    """Roll out ``B`` independent copies of a networked environment under a product policy.

    Works for any environment with ``n``, ``state_sizes``, ``action_sizes`` and a vectorized
    ``step(states, actions, rng) -> (next_states, local_rewards)``: a :class:`WirelessNetwork`
    (realised rewards) or a :class:`~envs.NetworkedMDP` (its :meth:`~envs.NetworkedMDP.step`,
    expected rewards). The loop runs over time only; policy sampling and steps are vectorized.

    Parameters
    ----------
    env : WirelessNetwork or NetworkedMDP
    policy : LocalTabularPolicy, LocalSoftmaxPolicy or LocalPolicySampler
    steps : int
        Recorded steps (after the burn-in).
    rng : int, numpy.random.Generator or None
        See :func:`~envs.as_generator`.
    batch : int, optional
        Number of copies when ``initial_states`` is not given.
    initial_states : int array, shape (B, n), optional
        Default: all zeros (for the wireless network: empty queues).
    burn_in : int
        Steps simulated before recording.
    record_states : bool

    Returns
    -------
    Rollout
    """
    steps, burn_in = int(steps), int(burn_in)
    if steps < 1 or burn_in < 0:
        raise ValueError(f"need `steps` >= 1 and `burn_in` >= 0, got {steps} and {burn_in}")
    rng = as_generator(rng)
    sampler = policy if isinstance(policy, LocalPolicySampler) else LocalPolicySampler(_policy_tables(policy, env))
    if sampler.n != env.n:
        raise ShapeError(f"the policy has {sampler.n} agents but the environment has {env.n}")
    if initial_states is None:
        if batch is None:
            raise ValueError("pass `batch` or `initial_states`")
        s = np.zeros((int(batch), env.n), dtype=np.int64)
    else:
        s = np.array(initial_states, dtype=np.int64)
        if s.ndim != 2 or s.shape[1] != env.n:
            raise ShapeError(f"`initial_states` must have shape (B, n={env.n}), got {s.shape}")
    fast = isinstance(env, WirelessNetwork)
    if fast:
        loop = _FastLoop(env, sampler, env._check_batch(s, env.n_local_states, "initial_states"))
    else:
        s = env.check_pairs(s)
    B = s.shape[0]
    total = np.zeros((B, env.n))
    traj = np.empty((steps + 1, B, env.n), dtype=np.int64) if record_states else None
    for t in range(burn_in + steps):
        if record_states and t >= burn_in:
            traj[t - burn_in] = loop.states if fast else s
        if fast:
            r = loop.step(rng)
        else:
            s, r = env.step(s, sampler.sample(s, rng), rng)
        if t >= burn_in:
            total += r
    s = loop.states.copy() if fast else s
    if record_states:
        traj[steps] = s
    local = total / steps
    return Rollout(local.mean(axis=1), local, s, traj, steps, burn_in)


# ---------------------------------------------------------------------------- ALOHA tuning
@dataclass
class AlohaTuning:
    """Result of :func:`tune_aloha`.

    Attributes
    ----------
    best_p : float
        The grid value with the largest simulated average reward.
    best_reward : float
    table : pandas.DataFrame
        Columns ``p_send``, ``average_reward``, ``std_error`` (over the independent copies),
        one row per grid value, in grid order.
    seed : int
        The seed of the common random numbers used for every grid value.
    """

    best_p: float
    best_reward: float
    table: object
    seed: int


def tune_aloha(network, grid, rng, *, batch=256, steps=400, burn_in=50):
    """Tune the localized ALOHA send probability by grid search on the simulated average reward.

    Every grid value is simulated with the same seed (common random numbers, drawn once from
    ``rng``), ``batch`` copies started from empty queues, ``burn_in`` discarded steps and
    ``steps`` recorded steps.

    Parameters
    ----------
    network : WirelessNetwork
    grid : sequence of float in [0, 1]
    rng : int, numpy.random.Generator or None
        See :func:`~envs.as_generator`.
    batch, steps, burn_in : int

    Returns
    -------
    AlohaTuning
    """
    import pandas as pd

    grid = np.asarray(grid, dtype=np.float64).ravel()
    if grid.size == 0:
        raise ValueError("`grid` is empty")
    for k, g in enumerate(grid):
        if not 0.0 <= g <= 1.0:
            raise ValueError(f"`grid[{k}]` = {float(g)!r} is not a probability in [0, 1]")
    seed = int(as_generator(rng).integers(2**63))
    rows = []
    for g in grid:
        roll = simulate(network, network.aloha_policy(g), steps, np.random.default_rng(seed),
                        batch=batch, burn_in=burn_in)
        rows.append({"p_send": float(g), "average_reward": roll.mean, "std_error": roll.std_error})
    table = pd.DataFrame(rows)
    best = int(table["average_reward"].to_numpy().argmax())
    return AlohaTuning(float(grid[best]), float(table["average_reward"].iloc[best]), table, seed)


# ---------------------------------------------------------------------------- throughput
def simulator_throughput(network=None, batch=1024, steps=200, rng=None, policy=None, warmup=5):
    """Agent-steps per second of :func:`simulate`'s hot loop (policy sampling + step).

    Parameters
    ----------
    network : WirelessNetwork, optional
        Default: the 5 x 5 grid of qu2020 App. E.
    batch, steps : int
        ``batch * n * steps`` agent-steps are timed.
    rng : int, numpy.random.Generator or None, optional
        See :func:`~envs.as_generator`.
    policy : optional
        Default: the uniform random policy.
    warmup : int
        Untimed steps first.

    Returns
    -------
    float
        Agent-steps per second (``batch * n * steps / seconds``).
    """
    network = WirelessNetwork() if network is None else network
    rng = as_generator(rng)
    sampler = LocalPolicySampler(network.uniform_policy() if policy is None else _policy_tables(policy, network))
    loop = _FastLoop(network, sampler, np.zeros((int(batch), network.n), dtype=np.int64))
    for _ in range(int(warmup)):
        loop.step(rng)
    t0 = time.perf_counter()
    for _ in range(int(steps)):
        loop.step(rng)
    dt = time.perf_counter() - t0
    return batch * network.n * steps / dt
