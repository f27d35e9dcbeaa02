r"""The declared operator protocol of the exact solvers: a kernel under a policy.

A :class:`PolicyOperator` is what every exact solver needs from ``(mdp, policy)``: the state
kernel :math:`P_\pi` as rows, as products with vectors (:meth:`~PolicyOperator.matvec`,
:meth:`~PolicyOperator.rmatvec`) and as agent-marginal values, plus the policy-side facts the
gradient and the occupancy need. :func:`as_operator` builds one of the two implementations:

* :class:`NetworkedOperator` (:class:`~envs.NetworkedMDP` with a product policy), matrix-free:
  ``matvec`` contracts the value tensor agent by agent, ``rmatvec`` contracts :math:`d` against
  the local factors (never an :math:`|S|\times|S|` matrix);
* :class:`TabularOperator` (:class:`~envs.TabularMDP` with a policy table).

The solvers call protocol members only; they never test a ``kind`` tag or probe with
``hasattr``. The linear-algebra backend (:mod:`._backends`) is a separate strategy, and so are the
rewards (:func:`~._evaluation.evaluate_policy` ``rewards=``).

Derived kernels
---------------
A derived kernel wraps an operator and forwards what it does not change.
:class:`RestartOperator` is zhang2025's restart kernel
:math:`P^{\gamma}_\pi(s'|s) = \gamma P_\pi(s'|s) + (1-\gamma)1\{s' = s_0\}`: its rows, products and
agent-marginal values are the wrapped operator's, rescaled, plus the restart column; rewards,
pairs' validation and the policy side are forwarded. The backends of :mod:`._backends` factor it
unchanged (``DenseLU().transition_matrix(RestartOperator(op, gamma, s0))``).
"""

from typing import Protocol, runtime_checkable

import numpy as np

from ._model import NetworkedOperator, TabularOperator, as_model

__all__ = ["PolicyOperator", "NetworkedOperator", "TabularOperator", "RestartOperator", "as_operator"]


@runtime_checkable
class PolicyOperator(Protocol):
    r"""The kernel :math:`P_\pi` of a model under a policy, as the exact solvers use it.

    Attributes
    ----------
    n_states : int
        :math:`|S|`.
    n_agents : int
        Number of reward columns (``n`` for a networked model, 1 for a tabular one).
    n_actions : int
        :math:`|A|` (joint).
    state_shape : tuple of int
        Axes of a global state index (``S`` per agent; ``(|S|,)`` for a tabular model).
    """

    n_states: int
    n_agents: int
    n_actions: int
    state_shape: tuple

    # -- the kernel
    def rows(self, states, weights):
        r""":math:`E_{a\sim w}P(\cdot|s, a)` for a batch of states, shape (B, |S|).

        ``weights`` are per-agent action distributions (one (B, A_i) array per agent; one (B, |A|)
        array for a tabular model).
        """

    def matvec(self, v):
        r""":math:`P_\pi v`, ``v`` of shape (|S|,) or (|S|, m)."""

    def rmatvec(self, d):
        r""":math:`d^\top P_\pi`, ``d`` of shape (|S|,) or (|S|, m)."""

    def marginal(self, values, scale, offset):
        r"""Agent-marginal values :math:`\bar Q_i(s, b) = E_{a_{-i}\sim\zeta}[r(s,a) + \text{offset}
        + \text{scale}\,E_{s'}v(s')]_{a_i=b}` for every agent: a list of (|S|, A_i) arrays."""

    def support(self):
        """Sparsity pattern of :math:`P_\\pi` as a boolean CSR matrix, or None when matrix-free."""

    # -- row blocks for the backends
    def dense_rows(self, start, stop):
        """Rows ``start:stop`` of :math:`P_\\pi`, dense (stop - start, |S|)."""

    def sparse_rows(self, start, stop):
        """Nonzeros ``(row, col, value)`` of rows ``start:stop``, or None (no sparse builder)."""

    def estimate_nnz(self):
        """Upper bound on the nonzeros of :math:`P_\\pi` (for the backend choice)."""

    # -- rewards and state-action pairs
    def policy_rewards(self):
        r""":math:`r_{\pi,i}(s)`, shape (|S|, n_agents)."""

    def check_pairs(self, states, actions):
        """Validated global state-action pairs in the operator's index convention."""

    def pair_rows(self, states, actions):
        """Kernel rows :math:`P(\\cdot|s, a)` at pairs, shape (m, |S|)."""

    def pair_rewards(self, states, actions):
        """Rewards at pairs, shape (m, n_agents)."""

    # -- the policy side
    def probabilities(self):
        """Per-agent policy tables (one table ``pi[s, a]`` for a tabular model)."""

    def state_of_agent(self, agent):
        """For every global state, the index into ``probabilities()[agent]``'s rows."""

    def reads(self, agent):
        """Axes of :attr:`state_shape` that agent ``agent``'s policy reads."""

    def joint_policy(self, max_bytes=None):
        """The joint policy table ``pi[s, a]`` (small instances)."""

    def check_agent(self, agent):
        """Validate an agent (reward column) index."""

    def describe_state(self, s):
        """A readable name of global state ``s`` for messages."""


def as_operator(mdp, policy):
    """The :class:`PolicyOperator` of ``(mdp, policy)`` (validated)."""
    return as_model(mdp, policy)


class RestartOperator:
    r"""zhang2025's restart kernel :math:`\gamma P_\pi + (1-\gamma)\mathbf 1 e_{s_0}^\top` around an operator.

    Parameters
    ----------
    op : PolicyOperator
    gamma : float in [0, 1]
        Probability of following :math:`P_\pi` (restart with probability :math:`1-\gamma`).
    s0 : int
        Global index of the restart state.
    """

    def __init__(self, op, gamma, s0):
        gamma = float(gamma)
        if not 0.0 <= gamma <= 1.0:
            raise ValueError(f"gamma must be in [0, 1], got {gamma}")
        s0 = int(s0)
        if not 0 <= s0 < op.n_states:
            raise ValueError(f"s0 must be a global state index in 0..{op.n_states - 1}, got {s0}")
        self.op, self.gamma, self.s0 = op, gamma, s0
        self.n_states, self.n_agents = op.n_states, op.n_agents
        self.n_actions, self.state_shape = op.n_actions, op.state_shape

    def __getattr__(self, name):
        # rewards, pairs' validation, the policy side: unchanged by the restart
        if name in ("policy_rewards", "check_pairs", "check_states", "pair_rewards", "probabilities",
                    "state_of_agent", "reads", "joint_policy", "check_agent", "describe_state",
                    "global_states", "policy_weights"):
            return getattr(self.op, name)
        raise AttributeError(name)

    def _restart(self, out):
        out = self.gamma * out
        out[:, self.s0] += 1.0 - self.gamma
        return out

    def rows(self, states, weights):
        return self._restart(self.op.rows(states, weights))

    def pair_rows(self, states, actions):
        return self._restart(self.op.pair_rows(states, actions))

    def dense_rows(self, start, stop):
        return self._restart(self.op.dense_rows(start, stop))

    def sparse_rows(self, start, stop):
        return None  # the sparse backend takes the nonzeros of dense_rows

    def estimate_nnz(self):
        return min(self.op.estimate_nnz() + self.n_states, self.n_states * self.n_states)

    def matvec(self, v):
        v = np.asarray(v, dtype=np.float64)
        return self.gamma * self.op.matvec(v) + (1.0 - self.gamma) * v[self.s0]

    def rmatvec(self, d):
        d = np.asarray(d, dtype=np.float64)
        out = self.gamma * self.op.rmatvec(d)
        out[self.s0] += (1.0 - self.gamma) * d.sum(axis=0)
        return out

    def marginal(self, values, scale, offset):
        values = np.asarray(values, dtype=np.float64).reshape(self.n_states)
        return self.op.marginal(values, self.gamma * scale, offset + (1.0 - self.gamma) * scale * values[self.s0])

    def support(self):
        import scipy.sparse as sp

        inner = self.op.support()
        if inner is None:
            return None
        col = sp.csr_matrix((np.ones(self.n_states, dtype=bool),
                             (np.arange(self.n_states), np.full(self.n_states, self.s0))), shape=inner.shape)
        out = inner if self.gamma > 0 else sp.csr_matrix(inner.shape, dtype=bool)
        return (out + col).astype(bool).tocsr()
