r"""Factored access to a model under a policy: kernel rows, rewards, agent-marginal Q.

Everything the exact solvers need from a model goes through :class:`_Factored`, which has two
implementations:

* :class:`_NetworkedModel` for :class:`~envs.NetworkedMDP` with a product policy. With
  ``transition_form="local"`` a row of the kernel under per-agent action distributions
  :math:`w_j` is the Kronecker product of the local factors

  .. math:: P_w(\cdot \mid s) = \bigotimes_i \sum_{a_i} w_i(a_i) P_i(\cdot \mid s_{N_i}, a_i)

  (DESIGN.md, "efficiency trick"), so the joint-action table is never built. With
  ``transition_form="neighbourhood"`` the actions couple the factors and a row is the
  tensor contraction :math:`\sum_a \prod_j w_j(a_j) \prod_i P_i(s_i' \mid s_{N_i}, a_{N_i})`,
  evaluated with :func:`numpy.einsum` along an optimised path (cost depends on the graph,
  never :math:`|A|`).
* :class:`_TabularModel` for :class:`~envs.TabularMDP` with a policy table.

The "agent-marginal" Q of DESIGN.md,
:math:`\bar Q_i(s, b) = E_{a_{-i} \sim \zeta}[Q(s, (b, a_{-i}))]`, is what the policy gradient
needs; :meth:`_Factored.marginal_q` computes it for every agent and local action from a value
vector over next states.
"""

import math
import string

import numpy as np

from netmarl_verify.envs import LocalSoftmaxPolicy, NetworkedMDP, TabularMDP, TabularSoftmaxPolicy, check_policy_table
from netmarl_verify.envs._memory import check_memory

__all__ = []

#: Target bytes of one batch of dense kernel rows built at a time.
_CHUNK_BYTES = 64 * 2**20


def _chunks(total, per_item_bytes):
    size = max(1, int(_CHUNK_BYTES // max(per_item_bytes, 1)))
    for start in range(0, total, size):
        yield start, min(total, start + size)


def as_model(mdp, policy):
    """Wrap ``(mdp, policy)`` in the factored interface, validating the pair."""
    if isinstance(mdp, NetworkedMDP):
        return _NetworkedModel(mdp, policy)
    if isinstance(mdp, TabularMDP):
        return _TabularModel(mdp, policy)
    raise TypeError(f"mdp must be a NetworkedMDP or a TabularMDP, got {type(mdp).__name__}")


class _TabularModel:
    """Tabular MDP with a stochastic policy table (one 'agent': the global reward)."""

    kind = "tabular"

    def __init__(self, mdp, policy):
        self.mdp = mdp
        if isinstance(policy, TabularSoftmaxPolicy):
            table = policy.table()
            if table.shape != (mdp.n_states, mdp.n_actions):
                raise ValueError(
                    f"policy logits have shape {table.shape}, the MDP needs {(mdp.n_states, mdp.n_actions)}"
                )
            self.softmax = policy
        elif isinstance(policy, LocalSoftmaxPolicy):
            raise TypeError("a LocalSoftmaxPolicy needs a NetworkedMDP; for a TabularMDP pass a table pi[s, a]")
        else:
            table = check_policy_table(policy, mdp.n_states, mdp.n_actions)
            self.softmax = None
        self.pi = table
        self.n_states = mdp.n_states
        self.n_agents = 1

    def estimate_nnz(self):
        return int((self.mdp.P.max(axis=1) > 0).sum())

    def dense_rows(self, start, stop):
        return np.einsum("sa,sat->st", self.pi[start:stop], self.mdp.P[start:stop])

    def policy_rewards(self):
        return (self.pi * self.mdp.R).sum(axis=1)[:, None]

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

    def marginal_q(self, values, scale, offset):
        """``[Q(s, b)]`` as a one-element list, shape (|S|, |A|)."""
        v = values.reshape(-1)
        return [self.mdp.R + offset + scale * (self.mdp.P @ v)]

    def probabilities(self):
        return [self.pi]

    def state_of_agent(self, agent):
        return np.arange(self.n_states)


class _NetworkedModel:
    """NetworkedMDP with a product of local policies :math:`\\zeta_i(a_i|s_i)`."""

    kind = "networked"

    def __init__(self, mdp, policy):
        if not hasattr(policy, "probabilities"):
            raise TypeError(
                f"policy must be a LocalSoftmaxPolicy (or provide probabilities()), got {type(policy).__name__}"
            )
        if isinstance(policy, LocalSoftmaxPolicy):
            policy.check(mdp)
        probs = [np.asarray(p, dtype=np.float64) for p in policy.probabilities()]
        if len(probs) != mdp.n:
            raise ValueError(f"policy has {len(probs)} agents, the MDP has {mdp.n}")
        for i, p in enumerate(probs):
            if p.shape != (mdp.state_sizes[i], mdp.action_sizes[i]):
                raise ValueError(f"policy table of agent {i} has shape {p.shape}, expected "
                                 f"{(mdp.state_sizes[i], mdp.action_sizes[i])}")
        self.mdp = mdp
        self.policy = policy
        self.zeta = probs
        self.n_states = mdp.n_states
        self.n_agents = mdp.n
        self._paths = {}

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
        return [self.zeta[j][states[:, j]] for j in range(self.mdp.n)]

    def onehot_weights(self, actions):
        out = []
        for j, A in enumerate(self.mdp.action_sizes):
            w = np.zeros((actions.shape[0], A))
            w[np.arange(actions.shape[0]), actions[:, j]] = 1.0
            out.append(w)
        return out

    # ------------------------------------------------------------------ kernel rows
    def _gather(self, i, states):
        Ni = self.mdp.neighbourhoods[i]
        return self.mdp.transitions[i][tuple(states[:, j] for j in Ni)]

    def local_factors(self, states, weights):
        """Per-agent next-state factors (B, S_i) for ``transition_form='local'``."""
        return [np.einsum("ba,bas->bs", weights[i], self._gather(i, states)) for i in range(self.mdp.n)]

    def rows(self, states, weights):
        """Dense kernel rows :math:`E_{a \\sim w}[P(\\cdot | s, a)]`, shape (B, |S|)."""
        B = states.shape[0]
        if self.mdp.transition_form == "local":
            out = np.ones((B, 1))
            for f in self.local_factors(states, weights):
                out = (out[:, :, None] * f[:, None, :]).reshape(B, -1)
            return out
        return self._einsum_rows(states, weights, free_agent=None).reshape(B, -1)

    def _letters(self):
        n = self.mdp.n
        if 2 * n + 2 > len(string.ascii_letters):
            raise ValueError(f"transition_form='neighbourhood' supports at most 25 agents in the exact solvers, got {n}")
        letters = string.ascii_letters
        return letters[0], letters[1 : n + 1], letters[n + 1 : 2 * n + 1], letters[2 * n + 1]

    def _einsum_rows(self, states, weights, free_agent=None):
        """einsum for the neighbourhood form; output (B, [A_free,] S_0, ..., S_{n-1})."""
        mdp = self.mdp
        b, act, nxt, _ = self._letters()
        operands, subs = [], []
        for j in range(mdp.n):
            if j == free_agent:
                continue
            operands.append(weights[j])
            subs.append(b + act[j])
        for i in range(mdp.n):
            Ni = mdp.neighbourhoods[i]
            operands.append(self._gather(i, states))
            subs.append(b + "".join(act[j] for j in Ni) + nxt[i])
        out = b + (act[free_agent] if free_agent is not None else "") + nxt
        spec = ",".join(subs) + "->" + out
        key = (spec, states.shape[0])
        if key not in self._paths:
            self._paths[key] = np.einsum_path(spec, *operands, optimize="greedy")[0]
        return np.einsum(spec, *operands, optimize=self._paths[key])

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
        return self.mdp.state_tuples()[:, agent]

    # ------------------------------------------------------------------ agent-marginal Q
    def marginal_q(self, values, scale, offset):
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
                    T = self._gather(i, states)  # (B, A_i, S_i)
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
