"""Random instance generators, reproducible from (name, parameters, seed).

``qu2020_line`` and ``qu2020_grid`` are the presets of qu2020 App. B.4: local kernels, local
policies and rewards drawn "uniformly randomly", rewards uniform in [0, 1] ("maximum reward
set to be 1"), ``|S_i| = 2``, ``|A_i| = 3``, on a line of 10 nodes or the 2 x 6 grid.

Reading taken: a probability row drawn uniformly at random is uniform on the simplex, i.e.
Dirichlet(1) (``draw="dirichlet"``, the default: i.i.d. standard exponentials, normalised).
The earlier draw, i.i.d. uniform(0, 1) entries normalised, is *not* uniform on the simplex (it
concentrates rows toward the centre: for two states the mean total variation between two rows
is 0.27 instead of 1/3, and this compounds per hop); it stays available as
``draw="normalised-uniform"``.
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


DRAWS = ("dirichlet", "normalised-uniform")


def _check_draw(draw):
    if draw not in DRAWS:
        raise ValueError(f"`draw` must be one of {DRAWS}, got {draw!r}")
    return draw


def _random_rows(rng, shape, draw="dirichlet"):
    """Probability rows along the last axis: Dirichlet(1) (uniform on the simplex), or the
    normalised i.i.d. uniform(0, 1) entries of earlier versions."""
    if _check_draw(draw) == "dirichlet":
        x = rng.standard_exponential(size=shape)
    else:
        x = rng.uniform(0.0, 1.0, size=shape)
    x /= x.sum(axis=-1, keepdims=True)
    return x


def random_networked_mdp(graph, state_size=2, action_size=3, rng=None, *, transition_form="local",
                         reward_form="local", reward_max=1.0, draw="dirichlet"):
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
    draw : {"dirichlet", "normalised-uniform"}
        How kernel rows are drawn: uniform on the simplex (Dirichlet(1), default) or i.i.d.
        uniform(0, 1) entries normalised (the draw of netmarl-verify <= 0.2.0; see the module
        docstring).

    Returns
    -------
    NetworkedMDP
    """
    n = check_graph(graph)
    _check_draw(draw)
    rng = as_generator(rng)
    S = _sizes(state_size, n, "state_size")
    A = _sizes(action_size, n, "action_size")
    P, R = [], []
    for i in range(n):
        Ni = closed_neighbourhood(graph, i)
        s_axes = tuple(S[j] for j in Ni)
        if transition_form == "local":
            P.append(_random_rows(rng, s_axes + (A[i], S[i]), draw))
        else:
            P.append(_random_rows(rng, s_axes + tuple(A[j] for j in Ni) + (S[i],), draw))
        if reward_form == "local":
            R.append(rng.uniform(0.0, reward_max, size=(S[i], A[i])))
        else:
            R.append(rng.uniform(0.0, reward_max, size=s_axes + tuple(A[j] for j in Ni)))
    return NetworkedMDP(graph, P, R, transition_form=transition_form, reward_form=reward_form)


def grid_graph(rows, cols):
    """``rows x cols`` grid graph with integer nodes ``r * cols + c`` (node 0 a corner)."""
    g = nx.grid_2d_graph(rows, cols)
    return nx.relabel_nodes(g, {(r, c): r * cols + c for r, c in g.nodes})


def qu2020_line(n=10, rng=None, state_size=2, action_size=3, *, draw="dirichlet"):
    """qu2020 App. B.4 line instance: path of ``n`` nodes, random kernels/policy/rewards.

    ``rng`` (int, Generator or None, :func:`~envs.as_generator`) draws the model, then the policy;
    ``draw`` is how kernel and policy rows are drawn (module docstring).

    Returns
    -------
    mdp : NetworkedMDP
    policy : LocalSoftmaxPolicy
    """
    rng = as_generator(rng)
    mdp = random_networked_mdp(nx.path_graph(n), state_size, action_size, rng, draw=draw)
    return mdp, LocalSoftmaxPolicy.random(mdp, rng, draw=draw)


def qu2020_grid(rows=2, cols=6, rng=None, state_size=2, action_size=3, *, draw="dirichlet"):
    """qu2020 App. B.4 grid instance (2 x 6 by default; node 0 is the corner); see :func:`qu2020_line`."""
    rng = as_generator(rng)
    mdp = random_networked_mdp(grid_graph(rows, cols), state_size, action_size, rng, draw=draw)
    return mdp, LocalSoftmaxPolicy.random(mdp, rng, draw=draw)
