"""Random instance generators, reproducible from (name, parameters, seed).

``qu2020_line`` and ``qu2020_grid`` are the presets of qu2020 App. B.4: local kernels, local
policies and rewards drawn uniformly at random (each probability row: i.i.d. uniform(0, 1)
entries, normalised), rewards uniform in [0, 1] ("maximum reward set to be 1"),
``|S_i| = 2``, ``|A_i| = 3``, on a line of 10 nodes or the 2 x 6 grid.
"""

import networkx as nx
import numpy as np

from ._graph import check_graph, closed_neighbourhood
from ._networked import NetworkedMDP
from ._policy import LocalSoftmaxPolicy
from ._random import as_generator

__all__ = ["random_networked_mdp", "qu2020_line", "qu2020_grid", "grid_graph"]


def _sizes(value, n, what):
    if np.isscalar(value):
        value = [int(value)] * n
    value = [int(v) for v in value]
    if len(value) != n:
        raise ValueError(f"{what} must be an int or a sequence of {n} ints, got {len(value)}")
    for i, v in enumerate(value):
        if v < 1:
            raise ValueError(f"{what}[{i}] (agent {i}) must be >= 1, got {v}")
    return value


def _random_rows(rng, shape):
    x = rng.uniform(0.0, 1.0, size=shape)
    x /= x.sum(axis=-1, keepdims=True)
    return x


def random_networked_mdp(graph, state_size=2, action_size=3, rng=None, *, transition_form="local",
                         reward_form="local", reward_max=1.0):
    """A random networked MDP on ``graph`` with uniform random kernels and rewards.

    Parameters
    ----------
    graph : networkx.Graph
        Nodes ``0..n-1`` (checked first, with :class:`~envs.NetworkedMDP`'s message).
    state_size, action_size : int or sequence of int
        ``S[i]``, ``A[i]``.
    rng : int, numpy.random.Generator or None
        See :func:`~envs.as_generator`.
    transition_form, reward_form : str
        See :class:`~envs.NetworkedMDP`.
    reward_max : float
        Rewards are uniform in ``[0, reward_max]``.

    Returns
    -------
    NetworkedMDP
    """
    n = check_graph(graph)
    rng = as_generator(rng)
    S = _sizes(state_size, n, "state_size")
    A = _sizes(action_size, n, "action_size")
    P, R = [], []
    for i in range(n):
        Ni = closed_neighbourhood(graph, i)
        s_axes = tuple(S[j] for j in Ni)
        if transition_form == "local":
            P.append(_random_rows(rng, s_axes + (A[i], S[i])))
        else:
            P.append(_random_rows(rng, s_axes + tuple(A[j] for j in Ni) + (S[i],)))
        if reward_form == "local":
            R.append(rng.uniform(0.0, reward_max, size=(S[i], A[i])))
        else:
            R.append(rng.uniform(0.0, reward_max, size=s_axes + tuple(A[j] for j in Ni)))
    return NetworkedMDP(graph, P, R, transition_form=transition_form, reward_form=reward_form)


def grid_graph(rows, cols):
    """``rows x cols`` grid graph with integer nodes ``r * cols + c`` (node 0 a corner)."""
    g = nx.grid_2d_graph(rows, cols)
    return nx.relabel_nodes(g, {(r, c): r * cols + c for r, c in g.nodes})


def qu2020_line(n=10, rng=None, state_size=2, action_size=3):
    """qu2020 App. B.4 line instance: path of ``n`` nodes, random kernels/policy/rewards.

    ``rng`` (int, Generator or None, :func:`~envs.as_generator`) draws the model, then the policy.

    Returns
    -------
    mdp : NetworkedMDP
    policy : LocalSoftmaxPolicy
    """
    rng = as_generator(rng)
    mdp = random_networked_mdp(nx.path_graph(n), state_size, action_size, rng)
    return mdp, LocalSoftmaxPolicy.random(mdp, rng)


def qu2020_grid(rows=2, cols=6, rng=None, state_size=2, action_size=3):
    """qu2020 App. B.4 grid instance (2 x 6 by default; node 0 is the corner)."""
    rng = as_generator(rng)
    mdp = random_networked_mdp(grid_graph(rows, cols), state_size, action_size, rng)
    return mdp, LocalSoftmaxPolicy.random(mdp, rng)
