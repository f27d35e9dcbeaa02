r"""Factored access to a model under a policy: the two :class:`~._operator.PolicyOperator` s.

Everything the exact solvers need from a model goes through an object of the declared
:class:`~._operator.PolicyOperator` protocol (:mod:`._operator`), built by :func:`as_model`.
There are two implementations:

* :class:`NetworkedOperator` for :class:`~envs.NetworkedMDP` with a product policy. With
  ``transition_form="local"`` a row of the kernel under per-agent action distributions
  :math:`w_j` is the Kronecker product of the local factors

  .. math:: P_w(\cdot \mid s) = \bigotimes_i \sum_{a_i} w_i(a_i) P_i(\cdot \mid s_{N_i}, a_i)

  (DESIGN.md, "efficiency trick"), so the joint-action table is never built. With
  ``transition_form="neighbourhood"`` the actions couple the factors and a row is the
  tensor contraction :math:`\sum_a \prod_j w_j(a_j) \prod_i P_i(s_i' \mid s_{N_i}, a_{N_i})`,
  evaluated with :func:`numpy.einsum` along a cached path (:mod:`._contract`; cost depends on
  the graph, never :math:`|A|`).
* :class:`TabularOperator` for :class:`~envs.TabularMDP` with a policy table.

The "agent-marginal" Q of DESIGN.md,
:math:`\bar Q_i(s, b) = E_{a_{-i} \sim \zeta}[Q(s, (b, a_{-i}))]`, is what the policy gradient
needs; :meth:`~._operator.PolicyOperator.marginal` computes it for every agent and local action
from a value vector over next states.

``_NetworkedModel`` and ``_TabularModel`` are the former names of the two classes.
"""

import math

import numpy as np

from netmarl_verify.envs import NetworkedMDP, TabularMDP, TabularSoftmaxPolicy, check_policy
from netmarl_verify.envs._memory import check_memory
from netmarl_verify.envs._policy import PolicyTables, joint_policy_table, observed_rows

from ._contract import LETTERS, PathCache, labels

__all__ = []

#: Target bytes of one batch of dense kernel rows built at a time.
_CHUNK_BYTES = 64 * 2**20


def _chunks(total, per_item_bytes):
    size = max(1, int(_CHUNK_BYTES // max(per_item_bytes, 1)))
    for start in range(0, total, size):
        yield start, min(total, start + size)


def check_agent(mdp, agent):
    """``mdp.check_agent(agent)`` (the one call site of the envs' agent validation in the solvers)."""
    validate = getattr(mdp, "check_agent", None) or mdp._check_agent
    return validate(agent)


def as_model(mdp, policy):
    """Wrap ``(mdp, policy)`` in the factored interface, validating the pair."""
    if isinstance(mdp, NetworkedMDP):
        return NetworkedOperator(mdp, policy)
    if isinstance(mdp, TabularMDP):
        return TabularOperator(mdp, policy)
    raise TypeError(f"mdp must be a NetworkedMDP or a TabularMDP, got {type(mdp).__name__}")


class TabularOperator:
    """Tabular MDP with a stochastic policy table (one 'agent': the global reward)."""

    kind = "tabular"  # informational only: the solvers call protocol methods, never test the tag

    def __init__(self, mdp, policy):
        self.mdp = mdp
        table = check_policy(mdp, policy)[0]
        self.softmax = policy if isinstance(policy, TabularSoftmaxPolicy) else None
        self.pi = table
        self.n_states = mdp.n_states
        self.n_agents = 1
        self.n_actions = mdp.n_actions
        self.state_shape = (mdp.n_states,)

    # ------------------------------------------------------------------ PolicyOperator
    def rows(self, states, weights):
        r""":math:`E_{a\sim w}P(\cdot|s, a)` for global ``states`` (B,) and ``weights[0]`` (B, |A|)."""
        states = np.asarray(states).reshape(-1)
        return np.einsum("ba,bat->bt", weights[0], self.mdp.P[states])

    def matvec(self, v):
        r""":math:`P_\pi v`, ``v`` shape (|S|,) or (|S|, m)."""
        return np.einsum("sa,sat,t...->s...", self.pi, self.mdp.P, np.asarray(v, dtype=np.float64))

    def rmatvec(self, d):
        r""":math:`d^\top P_\pi`, ``d`` shape (|S|,) or (|S|, m) (columns)."""
        return np.einsum("s...,sa,sat->t...", np.asarray(d, dtype=np.float64), self.pi, self.mdp.P)

    def support(self):
        r"""Sparsity pattern of :math:`P_\pi` (CSR, boolean)."""
        import scipy.sparse as sp

        return sp.csr_matrix((self.pi[:, :, None] * self.mdp.P).sum(axis=1) > 0)

    def global_states(self):
        """Global state indices, shape (|S|,)."""
        return np.arange(self.n_states)

    def reads(self, agent):
        """Axes of :attr:`state_shape` the policy reads: the global state."""
        return (0,)

    def check_agent(self, agent):
        if agent != 0:
            raise ValueError("a TabularMDP has a single reward; use agent=None")
        return 0

    def describe_state(self, s):
        return str(s)

    def joint_policy(self, max_bytes=None):
        """The policy table ``pi[s, a]``."""
        return self.pi

    def estimate_nnz(self):
        return int((self.mdp.P.max(axis=1) > 0).sum())

    def dense_rows(self, start, stop):
        return np.einsum("sa,sat->st", self.pi[start:stop], self.mdp.P[start:stop])

    def policy_rewards(self):
        return (self.pi * self.mdp.R).sum(axis=1)[:, None]

    def sparse_rows(self, start, stop):
        """None: no sparse row builder (the sparse backend takes the nonzeros of dense row blocks)."""
        return None

    def check_states(self, states):
        states = np.asarray(states)
        if states.ndim == 2 and states.shape[1] == 1:
            states = states[:, 0]
        if states.ndim != 1:
            raise ValueError(f"for a TabularMDP, states must be a 1-D array of global indices, got shape {states.shape}")
        states = states.astype(np.int64)
        if ((states < 0) | (states >= self.n_states)).any():
            k = int(np.flatnonzero((states < 0) | (states >= self.n_states))[0])
            raise ValueError(f"states[{k}] = {states[k]} out of range 0..{self.n_states - 1}")
        return states

    def check_pairs(self, states, actions):
        states = self.check_states(states)
        actions = np.asarray(actions)
        if actions.ndim == 2 and actions.shape[1] == 1:
            actions = actions[:, 0]
        actions = actions.astype(np.int64)
        if actions.shape != states.shape:
            raise ValueError(f"states and actions must have the same shape, got {states.shape} and {actions.shape}")
        if ((actions < 0) | (actions >= self.mdp.n_actions)).any():
            k = int(np.flatnonzero((actions < 0) | (actions >= self.mdp.n_actions))[0])
            raise ValueError(f"actions[{k}] = {actions[k]} out of range 0..{self.mdp.n_actions - 1}")
        return states, actions

    def pair_rows(self, states, actions):
        return self.mdp.P[states, actions]

    def pair_rewards(self, states, actions):
        return self.mdp.R[states, actions][:, None]

    def marginal(self, values, scale, offset):
        """``[Q(s, b)]`` as a one-element list, shape (|S|, |A|)."""
        v = values.reshape(-1)
        return [self.mdp.R + offset + scale * (self.mdp.P @ v)]

    marginal_q = marginal

    def probabilities(self):
        return [self.pi]

    def state_of_agent(self, agent):
        return np.arange(self.n_states)


class NetworkedOperator:
    """NetworkedMDP with a product of local policies :math:`\\zeta_i(a_i|s_i)`."""

    kind = "networked"  # informational only: the solvers call protocol methods, never test the tag

    def __init__(self, mdp, policy):
        tables = check_policy(mdp, policy)
        probs = list(tables)
        self.mdp = mdp
        self.policy = policy
        self.zeta = probs
        self.observed = tables.observed  # observed[i]: the agents whose states agent i's policy reads
        self.n_states = mdp.n_states
        self.n_agents = mdp.n
        self.n_actions = mdp.n_actions
        self.state_shape = tuple(mdp.state_sizes)
        self.paths = PathCache()

    # ------------------------------------------------------------------ identity
    def global_states(self):
        """Every global state as local indices, shape (|S|, n) (``mdp.state_tuples()``)."""
        return self.mdp.state_tuples()

    def reads(self, agent):
        """Axes of :attr:`state_shape` (agents) whose states agent ``agent``'s policy reads: ``policy.observed(agent)``."""
        return self.observed[agent]

    def check_agent(self, agent):
        return check_agent(self.mdp, agent)

    def describe_state(self, s):
        return f"{s} = {tuple(int(x) for x in self.mdp.state_tuples([s])[0])}"

    def joint_policy(self, max_bytes=None):
        """The joint policy table ``pi[s, a]`` on global indices (small instances only)."""
        return joint_policy_table(self.mdp, PolicyTables(self.zeta, self.observed), max_bytes=max_bytes)

    # ------------------------------------------------------------------ sizes
    def estimate_nnz(self):
        """Upper bound on the nonzeros of P_pi: sum over s of prod_i |support of agent i's row|."""
        mdp = self.mdp
        check_memory(8.0 * mdp.n_states, "a vector over the global states")
        S = mdp.state_tuples()
        counts = np.ones(mdp.n_states)
        for i in range(mdp.n):
            Ni = list(mdp.neighbourhoods[i])
            T = mdp.transitions[i]
            k = len(Ni)
            support = (T.reshape(T.shape[:k] + (-1, T.shape[-1])).max(axis=-2) > 0).sum(axis=-1)
            counts *= support[tuple(S[:, j] for j in Ni)]
        return int(counts.sum())

    # ------------------------------------------------------------------ weights
    def policy_weights(self, states):
        """Per agent, :math:`\\zeta_j(\\cdot \\mid s_{O_j})` at a batch of states (B, n): (B, A_j) arrays."""
        return [self.agent_weights(j, states) for j in range(self.mdp.n)]

    def agent_weights(self, j, states):
        """Agent ``j``'s action distribution at a batch of states (B, n), (B, A_j) (reads ``observed[j]``)."""
        return self.zeta[j][observed_rows(self.observed[j], states, self.mdp.state_sizes)]

    def onehot_weights(self, actions):
        out = []
        for j, A in enumerate(self.mdp.action_sizes):
            w = np.zeros((actions.shape[0], A))
            w[np.arange(actions.shape[0]), actions[:, j]] = 1.0
            out.append(w)
        return out

    # ------------------------------------------------------------------ kernel rows
    def gather(self, i, states):
        """Agent ``i``'s kernel at a batch: ``P_i[s_{N_i}]``, shape (B, A_i, S_i) (local form) or
        (B, A_{N_i}..., S_i) (neighbourhood form)."""
        Ni = self.mdp.neighbourhoods[i]
        return self.mdp.transitions[i][tuple(states[:, j] for j in Ni)]

    def gather_reward(self, i, states):
        """Agent ``i``'s reward at a batch: (B, A_i) (local form) or (B, A_{N_i}...)."""
        mdp = self.mdp
        if mdp.reward_form == "local":
            return mdp.rewards[i][states[:, i]]
        return mdp.rewards[i][tuple(states[:, j] for j in mdp.neighbourhoods[i])]

    def local_factors(self, states, weights):
        """Per-agent next-state factors (B, S_i) for ``transition_form='local'``."""
        return [np.einsum("ba,bas->bs", weights[i], self.gather(i, states)) for i in range(self.mdp.n)]

    def rows(self, states, weights):
        """Dense kernel rows :math:`E_{a \\sim w}[P(\\cdot | s, a)]`, shape (B, |S|)."""
        B = states.shape[0]
        if self.mdp.transition_form == "local":
            out = np.ones((B, 1))
            for f in self.local_factors(states, weights):
                out = (out[:, :, None] * f[:, None, :]).reshape(B, -1)
            return out
        return self._einsum_rows(states, weights, free_agent=None).reshape(B, -1)

    def _einsum_rows(self, states, weights, free_agent=None):
        """einsum for the neighbourhood form; output (B, [A_free,] S_0, ..., S_{n-1})."""
        mdp = self.mdp
        b, act, nxt = labels(mdp.n, mdp.n, agents=mdp.n, what="transition_form='neighbourhood' kernel rows")
        operands, subs = [], []
        for j in range(mdp.n):
            if j == free_agent:
                continue
            operands.append(weights[j])
            subs.append(b + act[j])
        for i in range(mdp.n):
            Ni = mdp.neighbourhoods[i]
            operands.append(self.gather(i, states))
            subs.append(b + "".join(act[j] for j in Ni) + nxt[i])
        out = b + (act[free_agent] if free_agent is not None else "") + nxt
        spec = ",".join(subs) + "->" + out
        return self.paths.einsum(spec, *operands)

    def dense_rows(self, start, stop):
        states = self.mdp.state_tuples(np.arange(start, stop))
        return self.rows(states, self.policy_weights(states))

    def sparse_rows(self, start, stop):
        r"""Nonzeros ``(row, col, value)`` of rows ``start:stop`` of :math:`P_\pi`, or None.

        For ``transition_form="local"`` the Kronecker product is expanded agent by agent on the
        nonzeros only (work proportional to the nonzeros, not to ``|S|`` per row); returns None
        for the neighbourhood form (callers fall back to dense row blocks).
        """
        if self.mdp.transition_form != "local":
            return None
        states = self.mdp.state_tuples(np.arange(start, stop))
        f = self.local_factors(states, self.policy_weights(states))
        row = np.arange(stop - start)
        col = np.zeros(stop - start, dtype=np.int64)
        val = np.ones(stop - start)
        for fi in f:
            Si = fi.shape[1]
            cand = fi[row]  # (nnz, S_i)
            keep = cand > 0
            r_idx, x = np.nonzero(keep)
            col = col[r_idx] * Si + x
            val = val[r_idx] * cand[r_idx, x]
            row = row[r_idx]
        return row + start, col, val

    # ------------------------------------------------------------------ matrix-free products
    def matvec(self, v):
        r""":math:`P_\pi v` without forming :math:`P_\pi`; ``v`` shape (|S|,) or (|S|, m).

        Local form: per row block, the value tensor is contracted with the local factors agent by
        agent (:math:`O(B|S|)` per block). Neighbourhood form: one einsum per row block of the
        weights, the gathered kernels and ``v`` (the path of :mod:`._contract`).
        """
        mdp = self.mdp
        v = np.asarray(v, dtype=np.float64)
        if v.ndim == 2:
            return np.stack([self.matvec(v[:, c]) for c in range(v.shape[1])], axis=1)
        v = v.reshape(self.n_states)
        n, S = mdp.n, mdp.state_sizes
        out = np.empty(self.n_states)
        if mdp.transition_form == "neighbourhood":
            b, act, nxt = labels(n, n, agents=n, what="transition_form='neighbourhood' matvec")
        for start, stop in _chunks(self.n_states, 8.0 * 3 * max(1, self.n_states // S[0])):
            states = mdp.state_tuples(np.arange(start, stop))
            w = self.policy_weights(states)
            B = stop - start
            if mdp.transition_form == "local":
                f = self.local_factors(states, w)
                T = f[0] @ v.reshape(S[0], -1)
                for k in range(1, n):
                    T = np.einsum("bx,bxr->br", f[k], T.reshape(B, S[k], -1))
                out[start:stop] = T.reshape(B)
            else:
                ops = list(w) + [self.gather(i, states) for i in range(n)] + [v.reshape(S)]
                subs = [b + act[j] for j in range(n)]
                subs += [b + "".join(act[j] for j in mdp.neighbourhoods[i]) + nxt[i] for i in range(n)]
                subs.append(nxt)
                out[start:stop] = self.paths.einsum(",".join(subs) + "->" + b, *ops)
        return out

    def rmatvec(self, d):
        r""":math:`d^\top P_\pi` without forming :math:`P_\pi`; ``d`` shape (|S|,) or (|S|, m).

        Local form: one contraction of the tensor :math:`d(s_0, \dots, s_{n-1})` against the local
        factors :math:`F_i(s_{N_i}, s_i') = \sum_{a_i}\zeta_i(a_i|s_i)P_i(s_i'|s_{N_i}, a_i)` over
        every :math:`s`, for all :math:`s'` at once (labels: one current-state and one next-state
        axis per agent). Neighbourhood form: per row block, the contraction of
        :math:`d`, the weights and the gathered kernels over the batch and the actions.
        """
        mdp = self.mdp
        d = np.asarray(d, dtype=np.float64)
        if d.ndim == 2:
            return np.stack([self.rmatvec(d[:, c]) for c in range(d.shape[1])], axis=1)
        d = d.reshape(self.n_states)
        n, S = mdp.n, mdp.state_sizes
        cur, nxt = labels(n, n, batch=False, agents=n, what="rmatvec")
        if mdp.transition_form == "local":
            ops, subs = [d.reshape(S)], [cur]
            for i in range(n):
                Ni = mdp.neighbourhoods[i]
                obs = self.observed[i]
                if set(obs) <= set(Ni):  # F_i(s_{N_i}, s_i') = sum_a zeta_i(a | s_{O_i}) P_i(s_i' | s_{N_i}, a)
                    F = np.einsum("...a,...as->...s", self.zeta[i].reshape(
                        tuple(S[j] if j in obs else 1 for j in Ni) + (-1,)), mdp.transitions[i])
                    subs.append("".join(cur[j] for j in Ni) + nxt[i])
                else:  # the policy reads states outside N_i: F_i over the states of N_i and O_i
                    U = sorted(set(Ni) | set(obs))
                    x = LETTERS[2 * n]  # the action label (labels() used the first 2n letters)
                    zs = "".join(cur[j] for j in obs)
                    F = np.einsum(f"{zs}{x},{''.join(cur[j] for j in Ni)}{x}{nxt[i]}->{''.join(cur[j] for j in U)}{nxt[i]}",
                                  self.zeta[i].reshape(tuple(S[j] for j in obs) + (-1,)), mdp.transitions[i])
                    subs.append("".join(cur[j] for j in U) + nxt[i])
                ops.append(F)
            return self.paths.einsum(",".join(subs) + "->" + nxt, *ops).reshape(self.n_states)
        b, act, nxt = labels(n, n, agents=n, what="transition_form='neighbourhood' rmatvec")
        out = np.zeros(S)
        for start, stop in _chunks(self.n_states, 8.0 * 3 * max(1, self.n_states // S[0])):
            states = mdp.state_tuples(np.arange(start, stop))
            ops = [d[start:stop]] + self.policy_weights(states) + [self.gather(i, states) for i in range(n)]
            subs = [b] + [b + act[j] for j in range(n)]
            subs += [b + "".join(act[j] for j in mdp.neighbourhoods[i]) + nxt[i] for i in range(n)]
            out += self.paths.einsum(",".join(subs) + "->" + nxt, *ops)
        return out.reshape(self.n_states)

    def support(self):
        r"""Sparsity pattern of :math:`P_\pi` (CSR, boolean), built row block by row block."""
        import scipy.sparse as sp

        rows, cols = [], []
        for start, stop in _chunks(self.n_states, 8.0 * self.n_states * 3):
            nz = self.sparse_rows(start, stop)
            if nz is None:
                r, c = np.nonzero(self.dense_rows(start, stop))
                nz = (r + start, c)
            rows.append(nz[0])
            cols.append(nz[1])
        r, c = np.concatenate(rows), np.concatenate(cols)
        return sp.csr_matrix((np.ones(r.size, dtype=bool), (r, c)), shape=(self.n_states, self.n_states))

    # ------------------------------------------------------------------ rewards
    def expected_rewards(self, states, weights):
        """:math:`E_{a\\sim w}[r_i(s, a)]` for every agent, shape (B, n)."""
        mdp = self.mdp
        B = states.shape[0]
        out = np.empty((B, mdp.n))
        for i in range(mdp.n):
            Ni = mdp.neighbourhoods[i]
            if mdp.reward_form == "local":
                out[:, i] = (weights[i] * mdp.rewards[i][states[:, i]]).sum(axis=1)
            else:
                R = mdp.rewards[i][tuple(states[:, j] for j in Ni)]  # (B, A_{N_i}...)
                for j in reversed(Ni):
                    R = np.einsum("b...a,ba->b...", R, weights[j])
                out[:, i] = R
        return out

    def policy_rewards(self):
        states = self.mdp.state_tuples()
        return self.expected_rewards(states, self.policy_weights(states))

    def check_states(self, states):
        return self.mdp.check_pairs(states)

    def check_pairs(self, states, actions):
        return self.mdp.check_pairs(states, actions)

    def pair_rows(self, states, actions):
        return self.rows(states, self.onehot_weights(actions))

    def pair_rewards(self, states, actions):
        return self.mdp.local_rewards(states, actions)

    def probabilities(self):
        return self.zeta

    def state_of_agent(self, agent):
        """For every global state, the row of ``probabilities()[agent]`` it reads."""
        return observed_rows(self.observed[agent], self.mdp.state_tuples(), self.mdp.state_sizes)

    # ------------------------------------------------------------------ agent-marginal Q
    def marginal(self, values, scale, offset):
        r"""Agent-marginal Q of the global reward for every agent and local action.

        .. math:: \bar Q_i(s, b) = E_{a_{-i}\sim\zeta}\Big[r(s, a) + \text{offset}
                  + \text{scale} \sum_{s'} P(s' | s, a) v(s')\Big]_{a_i = b},
                  \qquad r = \tfrac1n\textstyle\sum_k r_k .

        Parameters
        ----------
        values : ndarray, shape (|S|,)
        scale, offset : float

        Returns
        -------
        list of ndarray, ``out[i]`` shape (|S|, A_i)
        """
        mdp = self.mdp
        nS = mdp.n_states
        values = np.asarray(values, dtype=np.float64).reshape(nS)
        out = [np.empty((nS, A)) for A in mdp.action_sizes]
        # memory per state in a chunk: the leave-one-out prefix tensors (<= 2|S|/S_0 each)
        per_state = 8.0 * (3 * nS + sum(mdp.action_sizes) * (1 if mdp.transition_form == "local" else nS))
        for start, stop in _chunks(nS, per_state):
            states = mdp.state_tuples(np.arange(start, stop))
            w = self.policy_weights(states)
            if mdp.transition_form == "local":
                G = self._leave_one_out(states, w, values)
                for i in range(mdp.n):
                    T = self.gather(i, states)  # (B, A_i, S_i)
                    out[i][start:stop] = scale * np.einsum("bas,bs->ba", T, G[i])
            else:
                for i in range(mdp.n):
                    R = self._einsum_rows(states, w, free_agent=i)  # (B, A_i, S...)
                    B, A = R.shape[0], R.shape[1]
                    out[i][start:stop] = scale * (R.reshape(B * A, nS) @ values).reshape(B, A)
            # rewards: the global reward with a_i = b, others ~ zeta
            for i in range(mdp.n):
                for bidx in range(mdp.action_sizes[i]):
                    wi = list(w)
                    e = np.zeros_like(w[i])
                    e[:, bidx] = 1.0
                    wi[i] = e
                    out[i][start:stop, bidx] += self.expected_rewards(states, wi).mean(axis=1) + offset
        return out

    def _leave_one_out(self, states, weights, values):
        r"""``G[i][b, x] = sum_{s': s'_i = x} prod_{j != i} f_j[b, s'_j] v(s')`` for every agent i.

        Prefix contractions :math:`L_k` (agents ``< k`` contracted) are shared between agents;
        each :math:`G_i` then contracts the agents ``> i`` from the right. Cost
        :math:`O(B |S|)` per agent, no :math:`|S| \times |S|` matrix.
        """
        mdp = self.mdp
        n, S = mdp.n, mdp.state_sizes
        B = states.shape[0]
        f = self.local_factors(states, weights)
        # L[k] has shape (B, S_k, S_{k+1}, ..., S_{n-1}) flattened as (B, prod_{j>=k} S_j);
        # L[0] is the (unbatched) value vector itself.
        L = [None] * n
        for k in range(n - 1):
            rest = math.prod(S[k + 1 :])
            if k == 0:
                L[1] = f[0] @ values.reshape(S[0], rest)  # one BLAS product
            else:
                L[k + 1] = np.einsum("bx,bxr->br", f[k], L[k].reshape(B, S[k], rest))
        G = []
        for i in range(n):
            if i == 0:
                if n == 1:
                    G.append(np.broadcast_to(values, (B, S[0])).copy())
                    continue
                # first right contraction of the unbatched value tensor: a BLAS product
                T = f[n - 1] @ values.reshape(-1, S[n - 1]).T  # (B, prod_{j<n-1} S_j)
                last = n - 2
            else:
                T = L[i]
                last = n - 1
            for k in range(last, i, -1):
                T = np.einsum("bpx,bx->bp", T.reshape(B, -1, S[k]), f[k])
            G.append(T.reshape(B, S[i]))
        return G

    marginal_q = marginal


#: Former names.
_NetworkedModel = NetworkedOperator
_TabularModel = TabularOperator
