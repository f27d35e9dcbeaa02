r"""The wireless access-point network of qu2020 §4 / App. E: the model and its vectorized step.

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

Where the rest lives
--------------------
This module is the model: grid, access points, bit encoding, the vectorized :meth:`~WirelessNetwork.step`
and :meth:`~WirelessNetwork.transition`, and the allocation-free loop behind
:meth:`~WirelessNetwork.fast_loop`. The exact compilation is in
:mod:`netmarl_verify.envs._wireless_exact`, the ALOHA baseline and its tuning in
:mod:`netmarl_verify.envs._aloha`, the generic batch simulator in
:mod:`netmarl_verify.envs._simulate`; the methods of :class:`WirelessNetwork` of the same names
call them.

References
----------
qu2020 §4 and App. E; Zocca (2019), temporal starvation in multi-channel CSMA networks;
Roberts (1975), ALOHA packet system with and without slots and capture.
"""

import networkx as nx
import numpy as np

from . import _aloha, _wireless_exact
from ._graph import AgentGraph
from ._instances import LocalTabularPolicy
from ._random import _check_seed, as_generator
from ._simulate import _SampleWorkspace
from ._validation import ShapeError, check_probabilities, fmt_number

__all__ = ["WirelessNetwork"]

#: Corner order of the local actions 1..4: (row offset, column offset) of the cell corner.
CORNERS = ((0, 0), (0, 1), (1, 0), (1, 1))
N_ACTIONS = 1 + len(CORNERS)


class WirelessNetwork(AgentGraph):
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
    n_local_states, n_local_actions : int
        ``2**d`` and ``5``.
    neighbourhoods : tuple of tuple of int
        Closed neighbourhoods :math:`N_i`, sorted ascending (as in :class:`~envs.NetworkedMDP`).
        With :meth:`kappa_hop`, :attr:`distances`, :meth:`check_agent`, :meth:`check_pairs` and
        the global enumeration (:meth:`state_index`, :meth:`state_tuples`) from
        :class:`~envs.AgentGraph`.
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
        self.p = check_probabilities(p_draw if p is None else p, self.n, "p")
        self.q = check_probabilities(q_draw if q is None else q, self.n_ap, "q")

        S = 2**d
        self.n_local_states = S
        self.n_local_actions = N_ACTIONS
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
        self._set_graph(g)  # graph, n, neighbourhoods, kappa_hop, distances (envs._graph.AgentGraph)
        self._build_tables()

    # ------------------------------------------------------------------ structure
    def __repr__(self):
        return f"WirelessNetwork(H={self.H}, W={self.W}, d={self.d}, seed={self.seed}, n={self.n}, n_ap={self.n_ap})"

    def access_points(self, user):
        """The APs of ``user`` in action order 1..4 (top-left, top-right, bottom-left, bottom-right)."""
        return tuple(int(k) for k in self.ap_table[self.check_agent(user, "`user`"), 1:])

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
        states = self._check_local(states, self.state_sizes, "`states`")
        actions = self._check_local(actions, self.action_sizes, "`actions`")
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
        states = self._check_local(states, self.state_sizes, "`states`")
        actions = self._check_local(actions, self.action_sizes, "`actions`")
        if actions.shape != states.shape:
            raise ShapeError(f"`states` and `actions` must have the same shape, got {states.shape} and {actions.shape}")
        u = as_generator(rng).random((2,) + states.shape)
        out = np.empty(states.shape, dtype=np.int64)
        nxt, success = self._transition_into(states, actions, u, out, _StepWorkspace(self, states.shape[0]))
        return nxt, success.astype(np.float64)

    def fast_loop(self, sampler, states):
        """An allocation-free loop of :meth:`step` under ``sampler``, for :func:`~envs.simulate`.

        Parameters
        ----------
        sampler : LocalPolicySampler
            Its tables must have this network's shapes ``(2**d, 5)``.
        states : int array, shape (B, n)
            Initial local states (copied).

        Returns
        -------
        loop
            ``loop.states`` is the current ``(B, n)`` states; ``loop.step(rng)`` advances every
            copy one step and returns the success mask ``(B, n)`` (the realised rewards; a
            buffer, valid until the next call). Per step it draws ``B * n`` uniforms for the
            actions, then ``2 * B * n`` for :meth:`step`, exactly as
            ``step(states, sampler.sample(states, rng), rng)`` does.
        """
        if (tuple(sampler.state_sizes), tuple(sampler.action_sizes)) != (self.state_sizes, self.action_sizes):
            raise ShapeError(
                f"the sampler's tables have state sizes {tuple(sampler.state_sizes)} and action sizes "
                f"{tuple(sampler.action_sizes)}, the network needs {self.state_sizes} and {self.action_sizes}"
            )
        return _FastLoop(self, sampler, self._check_local(states, self.state_sizes, "`states`"))

    # ------------------------------------------------------------------ exact model (envs._wireless_exact)
    def kernel_entries(self):
        """Entries of each dense kernel ``P_i`` of :meth:`to_networked_mdp`, a list of Python ints."""
        return _wireless_exact.kernel_entries(self)

    def exact_model_bytes(self):
        """Estimated peak bytes of :meth:`to_networked_mdp`; see :func:`envs._wireless_exact.exact_model_bytes`."""
        return _wireless_exact.exact_model_bytes(self)

    def to_networked_mdp(self, max_bytes=None):
        """Compile to an exact :class:`~envs.NetworkedMDP` (dense local kernels).

        See :func:`envs._wireless_exact.to_networked_mdp` (the kernels, and the
        :class:`~envs.MemoryBudgetError` raised before allocating when they do not fit).
        """
        return _wireless_exact.to_networked_mdp(self, max_bytes)

    def policy_chain_bytes(self):
        """Estimated peak bytes of :meth:`policy_chain`; see :func:`envs._wireless_exact.policy_chain_bytes`."""
        return _wireless_exact.policy_chain_bytes(self)

    def policy_chain(self, policy, max_bytes=None):
        """The exact global chain under a product policy, as a one-action :class:`~envs.TabularMDP`.

        See :func:`envs._wireless_exact.policy_chain` (the construction, which keeps the
        collision correlations between users exact, and the memory budget).
        """
        return _wireless_exact.policy_chain(self, policy, max_bytes)

    # ------------------------------------------------------------------ policies (ALOHA: envs._aloha)
    def aloha_weights(self):
        r"""``w[i, a]`` for ``a = 1..4``: :math:`q_k / m_k` normalised over the user's APs, shape (n, 4)."""
        return _aloha.aloha_weights(self)

    def aloha_policy(self, p_send):
        """The localized ALOHA benchmark (qu2020 §4, App. E); see :func:`envs._aloha.aloha_policy`."""
        return _aloha.aloha_policy(self, p_send)

    def uniform_policy(self):
        """Every action with probability 1/5 in every state (the initial policy of App. E)."""
        return LocalTabularPolicy([np.full((self.n_local_states, N_ACTIONS), 1.0 / N_ACTIONS)] * self.n)

    def tune_aloha(self, grid, rng, batch=256, steps=400, burn_in=50):
        """Grid search of the ALOHA send probability; see :func:`~envs.tune_aloha`."""
        return _aloha.tune_aloha(self, grid, rng, batch=batch, steps=steps, burn_in=burn_in)


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

