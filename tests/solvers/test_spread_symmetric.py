"""The orbit (multiset) model of zhang2025's grid Simple Spread (solvers/exact/_spread_symmetric.py) against the full
ordered-state tables of envs.SpreadGrid: the optimal and the uniform-policy episode returns agree to rounding on
every small grid, both reward timings and both reset laws."""

import math

import numpy as np
import pytest
from numpy.testing import assert_allclose

from netmarl_verify.envs import MemoryBudgetError
from netmarl_verify.envs._zhang2025 import SpreadGrid
from netmarl_verify.solvers.exact import spread_episode_return, spread_optimal_episode_return, symmetric_spread, \
    symmetric_spread_returns


def _full_returns(grid, horizon):
    """The same two returns on the ordered-state tables (the route the orbit model is checked against)."""
    uniform = np.full((grid.n_states, grid.n_joint), 1.0 / grid.n_joint)
    return spread_optimal_episode_return(grid, horizon), spread_episode_return(grid, uniform, horizon)


@pytest.mark.parametrize("N, L, W", [(1, 4, 3), (2, 3, 2), (3, 4, 3), (4, 3, 2), (2, 13, 5)])
@pytest.mark.parametrize("timing", ["current", "post"])
@pytest.mark.parametrize("start", ["uniform", "no_overlap"])
def test_orbit_model_equals_the_full_tables(N, L, W, timing, start):
    full = _full_returns(SpreadGrid(N, L, W, reward_timing=timing, start=start), 10)
    sym = symmetric_spread_returns(symmetric_spread(N, L, W, reward_timing=timing), 10, start)
    # sums of <= 10 rewards of size <= N (L + W): rounding ~1e-14
    assert_allclose(sym, full, rtol=0, atol=1e-12)


def test_orbits_rank_and_count():
    m = symmetric_spread(3, 4, 3)
    n = 12
    assert m.n_classes == math.comb(n + 2, 3)
    assert int(m.orbit_size.sum()) == n ** 3                     # every ordered state in exactly one orbit
    assert (np.diff(m.cells, axis=1) >= 0).all()
    assert len({tuple(c) for c in m.cells.tolist()}) == m.n_classes
    # the successor orbit of a representative is the sorted moved cells, for a random sample of (orbit, action)
    g = SpreadGrid(3, 4, 3)
    rng = np.random.default_rng(0)
    index = {tuple(c): k for k, c in enumerate(m.cells.tolist())}
    for k, a in zip(rng.integers(m.n_classes, size=50), rng.integers(125, size=50)):
        s = int(np.ravel_multi_index(tuple(m.cells[k]), (n,) * 3))
        moved = tuple(sorted(g.decode_cells(g.next_state[s, a]).tolist()))
        assert m.next_class[k, a] == index[moved]
        assert m.reward[k] == g.state_reward(np.array([s]))[0]


def test_memory_is_checked_first():
    with pytest.raises(MemoryBudgetError, match="symmetric Simple Spread tables"):
        symmetric_spread(6, 13, 5)                               # C(70, 6) = 131M orbits x 15625 joint actions
    with pytest.raises(MemoryBudgetError, match="orbits"):
        symmetric_spread(4, 13, 5, max_bytes=10 ** 8)
    with pytest.raises(ValueError, match="reward_timing"):
        symmetric_spread(2, 3, 2, reward_timing="later")


def test_more_than_four_agents_use_the_row_sort():
    """N = 5 (no sorting network: np.sort of the rows) on a 2 x 2 grid: 56 orbits for 1,024 ordered states."""
    full = _full_returns(SpreadGrid(5, 2, 2), 6)
    m = symmetric_spread(5, 2, 2)
    assert m.n_classes == math.comb(8, 5)
    assert_allclose(symmetric_spread_returns(m, 6), full, rtol=0, atol=1e-12)
