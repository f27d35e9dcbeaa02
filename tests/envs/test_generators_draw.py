"""qu2020 App. B.4's "uniformly randomly": kernel and policy rows uniform on the simplex.

For two next states a row is (p, 1 - p); uniform on the simplex means p ~ U(0, 1), which a
Kolmogorov-Smirnov test checks on ~6,000 rows (false-alarm probability 1e-3 per test). The old
draw (i.i.d. uniform entries, normalised) has p = u1 / (u1 + u2), whose law is not uniform: the
same test rejects it (its power at this sample size is ~1; the KS distance is ~0.06 against a
critical value of ~0.025).
"""

import networkx as nx
import numpy as np
import pytest
from numpy.testing import assert_allclose, assert_array_equal
from scipy import stats

from netmarl_verify import envs

GRAPH = nx.path_graph(6)


def _first_coordinates(draw, seed=0):
    mdp = envs.random_networked_mdp(GRAPH, 2, 3, rng=seed, draw=draw)
    return np.concatenate([t[..., 0].ravel() for t in mdp.transitions])


def test_dirichlet_rows_are_uniform_on_the_simplex():
    p = np.concatenate([_first_coordinates("dirichlet", s) for s in range(60)])
    assert p.size > 5000
    assert stats.kstest(p, "uniform").pvalue > 1e-3
    # mean total variation between two independent rows: 1/3 (CLT tolerance, 5 standard errors)
    tv = np.abs(p[: p.size // 2] - p[p.size // 2: 2 * (p.size // 2)])
    assert abs(tv.mean() - 1 / 3) < 5 * tv.std() / np.sqrt(tv.size)


def test_the_old_draw_is_not_uniform_on_the_simplex():
    p = np.concatenate([_first_coordinates("normalised-uniform", s) for s in range(60)])
    assert stats.kstest(p, "uniform").pvalue < 1e-6


def test_the_old_draw_is_kept_bit_for_bit():
    """draw="normalised-uniform" is the draw of 0.2.0: uniform(0, 1) entries normalised, rewards after."""
    rng = np.random.default_rng(7)
    mdp = envs.random_networked_mdp(nx.path_graph(2), 2, 2, rng=7, draw="normalised-uniform")
    for i in range(2):
        x = rng.uniform(0.0, 1.0, size=(2, 2, 2, 2))
        assert_array_equal(mdp.transitions[i], x / x.sum(axis=-1, keepdims=True))
        assert_array_equal(mdp.rewards[i], rng.uniform(0.0, 1.0, size=(2, 2)))


def test_presets_draw_policies_uniformly_on_the_simplex():
    p = []
    for s in range(300):
        _, pol = envs.qu2020_line(n=3, rng=s, action_size=2)
        p += [q[:, 0] for q in pol.probabilities()]
    assert stats.kstest(np.concatenate(p), "uniform").pvalue > 1e-3
    mdp, pol = envs.qu2020_grid(2, 2, rng=0)
    for t in mdp.transitions:
        assert_allclose(t.sum(axis=-1), 1.0, atol=1e-15)


def test_bad_draw_is_refused():
    with pytest.raises(ValueError, match="`draw`"):
        envs.random_networked_mdp(GRAPH, 2, 2, rng=0, draw="uniform")
    with pytest.raises(ValueError, match="`draw`"):
        envs.qu2020_line(3, rng=0, draw="flat")
