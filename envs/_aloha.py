r"""The localized ALOHA baseline of qu2020 §4 (after Roberts 1975) and its tuning.

A user with a non-empty queue sends with probability ``p_send``; it picks AP :math:`k \in Y_i`
with probability proportional to :math:`w_k = q_k / m_k`, :math:`m_k` the number of users whose
cell has corner ``k`` (uniformly if every :math:`w_k = 0`). With an empty queue it takes the null
action. :func:`tune_aloha` picks ``p_send`` on a grid by simulation with common random numbers
(the benchmark of qu2020 Fig. 5). The methods :meth:`~envs.WirelessNetwork.aloha_weights`,
:meth:`~envs.WirelessNetwork.aloha_policy` and :meth:`~envs.WirelessNetwork.tune_aloha` call
these functions.
"""

from dataclasses import dataclass

import numpy as np

from ._instances import LocalTabularPolicy
from ._random import as_generator
from ._simulate import simulate
from ._validation import check_probabilities

__all__ = ["aloha_weights", "aloha_policy", "AlohaTuning", "tune_aloha"]


def aloha_weights(net):
    r"""``w[i, a]`` for ``a = 1..4``: :math:`q_k / m_k` normalised over the user's APs, shape (n, 4)."""
    k = net.ap_table[:, 1:]
    w = net.q[k] / net.ap_users[k]
    tot = w.sum(axis=1, keepdims=True)
    return np.where(tot > 0, w / np.where(tot > 0, tot, 1.0), 0.25)


def aloha_policy(net, p_send):
    r"""The localized ALOHA benchmark (qu2020 §4, App. E) as a :class:`~envs.LocalTabularPolicy`.

    ``probs[i][0] = (1, 0, 0, 0, 0)`` (empty queue: null); for ``s_i != 0``,
    ``probs[i][s_i] = (1 - p_send, p_send * w_i)`` with :func:`aloha_weights` ``w_i``.

    Parameters
    ----------
    net : WirelessNetwork
    p_send : float or array_like, shape (n,)
        Probability of sending the earliest packet (per user, or one for all).
    """
    p_send = check_probabilities(p_send, net.n, "p_send")
    w = aloha_weights(net)
    probs = []
    for i in range(net.n):
        t = np.zeros((net.n_local_states, net.n_local_actions))
        t[0, 0] = 1.0
        t[1:, 0] = 1.0 - p_send[i]
        t[1:, 1:] = p_send[i] * w[i]
        probs.append(t)
    return LocalTabularPolicy(probs)


# ---------------------------------------------------------------------------- tuning
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
