r"""zhang2025's grid Simple Spread reduced exactly by the agents' permutation symmetry (App. D.1, Fig. 8 at N = 4).

The N agents of :class:`~netmarl_verify.envs._zhang2025.SpreadGrid` are interchangeable: they move independently
by the same rule (walls block, overlaps allowed), the shared reward
:math:`r(s)=-\sum_\ell\min_j\|p_j-\ell\|_1` is symmetric in the agents, and the uniform reset law
:math:`\rho_0` is invariant under permutations. A permutation σ of the agents therefore maps the successor of
(s, a) to the successor of (σs, σa) with the same reward, so

* the optimal finite-horizon value :math:`V^*_H` is constant on orbits (by induction on H: the Bellman maximum
  over joint actions at σs is the maximum at s, permuted), and
* so is the value of any *symmetric* policy (one with :math:`\pi(\sigma a\mid\sigma s)=\pi(a\mid s)`), e.g. the
  uniform one, the start of App. D.1's training.

The orbits are the multisets of N cells: :math:`\binom{n+N-1}{N}` of them for n cells instead of :math:`n^N`
ordered states (13 × 5, N = 4: 814,385 instead of 17,850,625, which the full tables refuse at 249 GiB). Each
orbit is represented by its sorted cell tuple :math:`c_1\le\dots\le c_N`, ranked by the combinatorial number
system applied to the strictly increasing :math:`d_k=c_k+k-1`: :math:`\mathrm{rank}=\sum_{k=1}^N\binom{d_k}{k}` (a
bijection onto :math:`[0,\binom{n+N-1}{N})`, checked). The successor of a representative under each of the
:math:`5^N` joint actions is moved, sorted and ranked once (``next_class``, int32); the backward recursions of
:func:`~netmarl_verify.solvers.exact.spread_episode_return` and :func:`~netmarl_verify.solvers.exact.spread_optimal_episode_return` then run on the
orbits (in blocks of rows, so the gather ``V[next]`` never holds all :math:`|\text{orbits}|\times5^N` values).
:math:`\rho_0` on orbits: uniform over ordered states gives an orbit the weight (number of its orderings)/:math:`n^N`
(the multinomial coefficient); ``"no_overlap"`` is uniform over the orbits of N distinct cells.

This reduces the optimum and symmetric policies only: a trained per-agent policy is not symmetric, and its exact
value needs the ordered states.

References
----------
zhang2025, App. D.1 (Simple Spread, Fig. 8: N in {2, 3, 4}); guide ``shared/claims/zhang2025.md`` §5.1.
"""

import math
from dataclasses import dataclass
from itertools import combinations_with_replacement

import numpy as np

from netmarl_verify.envs._memory import check_memory
from netmarl_verify.envs._zhang2025 import joint_action_digits, spread_landmarks, spread_move_cells

__all__ = ["SymmetricSpread", "symmetric_spread", "symmetric_spread_returns"]

#: Rows of the successor table processed at once by the recursions (a block gathers rows x 5^N floats).
_BLOCK = 1 << 15


@dataclass
class SymmetricSpread:
    """The orbit (multiset) model of a grid Simple Spread (module docstring).

    Attributes
    ----------
    N, length, width : int
    landmarks : ndarray, shape (N, 2)
    reward_timing : {"current", "post"}
    shift : float
    cells : ndarray of int, shape (n_classes, N)
        Sorted representative cells of every orbit, row = rank.
    next_class : ndarray of int32, shape (n_classes, 5^N)
        The orbit of the successor of the representative under every joint action.
    reward : ndarray, shape (n_classes,)
        :math:`r` at the representative (the same on the whole orbit).
    orbit_size : ndarray of int, shape (n_classes,)
        Number of ordered states in the orbit (N! / prod of multiplicities!).
    """

    N: int
    length: int
    width: int
    landmarks: np.ndarray
    reward_timing: str
    shift: float
    cells: np.ndarray
    next_class: np.ndarray
    reward: np.ndarray
    orbit_size: np.ndarray

    @property
    def n_classes(self):
        return int(self.cells.shape[0])

    @property
    def n_cells(self):
        return self.length * self.width

    def rho0(self, start="uniform"):
        r""":math:`\rho_0` pushed to the orbits (``"uniform"`` over ordered states or ``"no_overlap"``)."""
        if start == "uniform":
            return self.orbit_size / float(self.n_cells) ** self.N
        if start == "no_overlap":
            ok = (np.diff(self.cells, axis=1) > 0).all(axis=1) if self.N > 1 else np.ones(self.n_classes, bool)
            return ok / ok.sum()
        raise ValueError(f"start must be 'uniform' or 'no_overlap', got {start!r}")


def _binomial_table(n, N):
    """``T[k, v] = C(v, k + 1)`` for k < N, v < n + N (int64)."""
    T = np.zeros((N, n + N), dtype=np.int64)
    for k in range(N):
        for v in range(n + N):
            T[k, v] = math.comb(v, k + 1)
    return T


def _sorted_columns(cols):
    """Sort N columns elementwise (a list of 1-D arrays): compare-exchange sorting networks for N <= 4 (no row sort
    of an (n, N) array), np.sort otherwise."""
    cols = list(cols)
    nets = {1: (), 2: ((0, 1),), 3: ((0, 1), (1, 2), (0, 1)), 4: ((0, 1), (2, 3), (0, 2), (1, 3), (1, 2))}
    if len(cols) not in nets:
        srt = np.sort(np.stack(cols, axis=1), axis=1)
        return [srt[:, k] for k in range(srt.shape[1])]
    for i, j in nets[len(cols)]:
        lo, hi = np.minimum(cols[i], cols[j]), np.maximum(cols[i], cols[j])
        cols[i], cols[j] = lo, hi
    return cols


def _rank(sorted_cells, table):
    d = sorted_cells + np.arange(sorted_cells.shape[-1])
    return sum(table[k, d[..., k]] for k in range(sorted_cells.shape[-1]))


def symmetric_spread(N, length=13, width=5, landmarks=None, reward_timing="current", shift=0.0, max_bytes=None):
    """Build the orbit model of the grid Simple Spread (:class:`SymmetricSpread`; module docstring).

    Parameters
    ----------
    N, length, width : int
        Agents and grid (App. D.1: 13 x 5).
    landmarks : sequence of (x, y), optional
        Default :func:`~netmarl_verify.envs._zhang2025.spread_landmarks` (those of ``SpreadGrid``).
    reward_timing : {"current", "post"}; shift : float
        As :class:`~netmarl_verify.envs._zhang2025.SpreadGrid`.
    max_bytes : int, optional
        Memory budget (default :func:`~netmarl_verify.envs.memory_budget`).

    Returns
    -------
    SymmetricSpread

    Raises
    ------
    MemoryBudgetError
        If the successor table (4 bytes per orbit and joint action, plus one block of the recursion) does not fit,
        naming its size.

    Examples
    --------
    >>> m = symmetric_spread(4, 3, 2)
    >>> m.n_classes, m.next_class.shape, int(m.orbit_size.sum())
    (126, (126, 625), 1296)
    """
    N, length, width = int(N), int(length), int(width)
    if N < 1 or length < 1 or width < 1:
        raise ValueError(f"N, length, width must be positive, got {N}, {length}, {width}")
    if reward_timing not in ("current", "post"):
        raise ValueError(f"reward_timing must be 'current' or 'post', got {reward_timing!r}")
    n = length * width
    n_classes = math.comb(n + N - 1, N)
    n_joint = 5 ** N
    check_memory(4.0 * n_classes * n_joint + 8.0 * min(n_classes, _BLOCK) * n_joint + 8.0 * n_classes * (N + 4),
                 f"the symmetric Simple Spread tables (N = {N}, {n_classes} orbits x {n_joint} joint actions)",
                 max_bytes=max_bytes)
    if n_classes >= 2 ** 31:
        raise ValueError(f"{n_classes} orbits do not fit the int32 successor table")
    landmarks = np.array(spread_landmarks(N, length, width) if landmarks is None else landmarks,
                         dtype=np.int64).reshape(-1, 2)
    if ((landmarks < 0) | (landmarks >= [length, width])).any():
        raise ValueError(f"landmarks {landmarks.tolist()} must lie on the {length} x {width} grid")
    table = _binomial_table(n, N)
    reps = np.array(list(combinations_with_replacement(range(n), N)), dtype=np.int64).reshape(-1, N)
    ranks = _rank(reps, table)
    order = np.empty(n_classes, dtype=np.int64)
    order[ranks] = np.arange(n_classes)
    if not np.array_equal(np.sort(ranks), np.arange(n_classes)):      # the number system is a bijection
        raise AssertionError("multiset ranks are not a bijection")     # pragma: no cover
    cells = reps[order]
    digits = joint_action_digits((5,) * N)
    move = spread_move_cells(np.arange(n)[:, None], np.arange(5)[None, :], length, width).astype(np.int32)
    table32 = table.astype(np.int64)
    offsets = np.arange(N, dtype=np.int32)
    nxt = np.empty((n_classes, n_joint), dtype=np.int32)
    cols = [np.ascontiguousarray(cells[:, j], dtype=np.int32) for j in range(N)]
    for a in range(n_joint):
        moved = [move[cols[j], digits[j, a]] for j in range(N)]
        moved = _sorted_columns(moved)
        r = np.zeros(n_classes, dtype=np.int64)
        for k in range(N):
            r += table32[k, moved[k] + offsets[k]]
        nxt[:, a] = r
    pos = np.stack([cells // width, cells % width], axis=-1)
    dist = np.abs(pos[:, :, None, :] - landmarks).sum(axis=-1)                  # (orbits, agents, landmarks)
    reward = -dist.min(axis=1).sum(axis=-1).astype(np.float64) + float(shift)
    mult = np.ones(n_classes, dtype=np.int64)
    run = np.ones(n_classes, dtype=np.int64)
    for k in range(1, N):                                                         # N! / prod(multiplicity!)
        same = cells[:, k] == cells[:, k - 1]
        run = np.where(same, run + 1, 1)
        mult = mult * run
    orbit = math.factorial(N) // mult
    return SymmetricSpread(N, length, width, landmarks, reward_timing, float(shift), cells, nxt, reward, orbit)


def _recursion(model, horizon, reduce):
    V = np.zeros(model.n_classes)
    post = model.reward_timing == "post"
    for _ in range(int(horizon)):
        W = model.reward + V if post else V                                      # value read at the successor
        out = np.empty_like(V)
        for lo in range(0, model.n_classes, _BLOCK):
            g = W[model.next_class[lo:lo + _BLOCK]]
            out[lo:lo + _BLOCK] = g.max(axis=1) if reduce == "max" else g.mean(axis=1)
        V = out if post else model.reward + out
    return V


def symmetric_spread_returns(model, horizon=10, start="uniform", weights=None):
    r"""Exact optimal and uniform-policy episode returns of the orbit model (module docstring).

    :math:`\max_\pi E_{\rho_0}\sum_{t<H}r` (backward recursion with the maximum over joint actions, as the
    :func:`~netmarl_verify.solvers.exact.spread_optimal_episode_return`) and :math:`E_{\rho_0}\sum_{t<H}r` under the uniform policy (as
    ``spread_episode_return`` with the uniform table), undiscounted.

    Parameters
    ----------
    model : SymmetricSpread
    horizon : int
        Episode length H (App. D.1: 10).
    start : {"uniform", "no_overlap"}
    weights : array_like, shape (n_classes,), optional
        A start law on the orbits in place of ``model.rho0(start)`` (e.g. to test that the orbit weights matter).

    Returns
    -------
    optimum, uniform : float

    Examples
    --------
    >>> m = symmetric_spread(2, 3, 2)
    >>> opt, uni = symmetric_spread_returns(m, 4)
    >>> bool(opt >= uni)
    True
    """
    w = model.rho0(start) if weights is None else np.asarray(weights, dtype=np.float64)
    if w.shape != (model.n_classes,):
        raise ValueError(f"weights must have shape ({model.n_classes},), got {w.shape}")
    return float(w @ _recursion(model, horizon, "max")), float(w @ _recursion(model, horizon, "mean"))
