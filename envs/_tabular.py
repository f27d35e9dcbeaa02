r"""Tabular MDP with one global state and a (joint) action: ``P[s, a, s']``, ``R[s, a]``.

The common currency of the exact solvers (chen2024 and zhang2025 work in this form); a
:class:`~envs.NetworkedMDP` compiles to one with :meth:`~envs.NetworkedMDP.to_tabular` when it
fits. Policies on a tabular MDP are either a stochastic table ``pi[s, a]`` (rows sum to one) or a
:class:`~envs.TabularSoftmaxPolicy`.
"""

import numpy as np

from ._validation import as_float_array, check_distribution_rows, check_finite, check_shape, consistent_size

__all__ = ["TabularMDP", "check_policy_table"]


class TabularMDP:
    """Finite MDP ``(P, R)`` on global states and actions.

    Parameters
    ----------
    P : ndarray, shape (nS, nA, nS)
        ``P[s, a, s_next]``; each ``P[s, a]`` a probability distribution (tolerance 1e-12).
    R : ndarray, shape (nS, nA)
        Expected reward ``R[s, a]``; finite.

    Attributes
    ----------
    n_states, n_actions : int

    Raises
    ------
    ShapeError, NonFiniteError, NegativeProbabilityError, RowSumError

    Examples
    --------
    >>> import numpy as np
    >>> from netmarl_verify.envs import TabularMDP
    >>> P = np.array([[[0.9, 0.1]], [[0.2, 0.8]]])
    >>> mdp = TabularMDP(P, np.array([[1.0], [0.0]]))
    >>> mdp.n_states, mdp.n_actions
    (2, 1)
    """

    def __init__(self, P, R, row_atol=1e-12):
        P = as_float_array(P, "P")
        R = as_float_array(R, "R")
        if P.ndim != 3:
            raise ValueError(f"P must have shape (nS, nA, nS) = P[s, a, s_next], got shape {P.shape}")
        obs_S = [("P", 0, "s", P.shape[0]), ("P", 2, "s_next", P.shape[2])]
        obs_A = [("P", 1, "a", P.shape[1])]
        if R.ndim == 2:
            obs_S.append(("R", 0, "s", R.shape[0]))
            obs_A.append(("R", 1, "a", R.shape[1]))
        nS = consistent_size(obs_S, "number of states")
        nA = consistent_size(obs_A, "number of actions")
        check_shape(P, (nS, nA, nS), "P", ["s", "a", "s_next"])
        check_distribution_rows(P, "P[s, a, :]", atol=row_atol)
        check_shape(R, (nS, nA), "R", ["s", "a"])
        check_finite(R, "R")
        P.setflags(write=False)
        R.setflags(write=False)
        self.P = P
        self.R = R
        self.n_states = int(nS)
        self.n_actions = int(nA)

    def __repr__(self):
        return f"TabularMDP(n_states={self.n_states}, n_actions={self.n_actions})"

    @property
    def reward_bound(self):
        """``max |R|``."""
        return float(np.abs(self.R).max())


def check_policy_table(pi, n_states, n_actions, what="policy"):
    """Validate a stochastic policy table ``pi[s, a]`` and return it as float64."""
    pi = as_float_array(pi, what)
    check_shape(pi, (n_states, n_actions), what, ["s", "a"])
    check_distribution_rows(pi, f"{what}[s, :]", atol=1e-10)
    return pi
