"""Consensus matrices (envs/_consensus.py): zhang2025 Def. 4.1 and Assumption 5.1."""

import math

import networkx as nx
import numpy as np
import pytest

from netmarl_verify.envs import (
    ModelValidationError,
    NegativeProbabilityError,
    NonFiniteError,
    RowSumError,
    ShapeError,
    check_connected,
    check_consensus_matrix,
    consensus_eta,
    consensus_rate_bound,
    consensus_sigma2,
    consensus_spectral_radius,
    max_degree_weights,
    measure_consensus,
    metropolis_hastings_weights,
    random_consensus_matrix,
)

GRAPHS = {
    "single": nx.empty_graph(1),
    "path5": nx.path_graph(5),
    "cycle6": nx.cycle_graph(6),
    "star5": nx.star_graph(4),
    "complete4": nx.complete_graph(4),
    "grid3x3": nx.convert_node_labels_to_integers(nx.grid_2d_graph(3, 3)),
    "er10": nx.connected_watts_strogatz_graph(10, 4, 0.5, seed=1),
}


def _generated(graph):
    d = max((deg for _, deg in graph.degree), default=0)
    yield "mh", metropolis_hastings_weights(graph)
    yield "maxdeg", max_degree_weights(graph)
    yield "lazy", max_degree_weights(graph, laziness=0.5)
    yield "random", random_consensus_matrix(graph, 0.5 / (1 + d), rng=0)
    yield "random_nonsym", random_consensus_matrix(graph, 0.25 / (1 + d), rng=0, symmetric=False)


# ---------------------------------------------------------------------------- generators
@pytest.mark.parametrize("name", GRAPHS)
def test_every_generator_gives_a_valid_consensus_matrix(name):
    g = GRAPHS[name]
    n = g.number_of_nodes()
    for kind, A in _generated(g):
        A = check_consensus_matrix(A, g)
        assert A.shape == (n, n)
        assert np.abs(A.sum(axis=0) - 1).max() <= 1e-12 and np.abs(A.sum(axis=1) - 1).max() <= 1e-12, kind
        assert consensus_eta(A, g) > 0, kind
        if kind != "random_nonsym":
            assert np.array_equal(A, A.T), kind


def test_metropolis_hastings_closed_form_on_a_star():
    """Star K_{1,3}: every edge has max degree 3, weight 1/4; the centre keeps 1/4, leaves 3/4."""
    A = metropolis_hastings_weights(nx.star_graph(3))
    expected = np.array([[0.25, 0.25, 0.25, 0.25]] + [[0.25] + [0.75 if j == i else 0.0 for j in range(1, 4)]
                                                      for i in range(1, 4)])
    np.testing.assert_allclose(A, expected, rtol=0, atol=1e-16)


def test_max_degree_is_identity_minus_scaled_laplacian():
    g = GRAPHS["grid3x3"]
    L = nx.laplacian_matrix(g).toarray()
    np.testing.assert_allclose(max_degree_weights(g), np.eye(9) - L / 5, atol=1e-16)       # d_max = 4
    np.testing.assert_allclose(max_degree_weights(g, 0.5), 0.5 * np.eye(9) + 0.5 * (np.eye(9) - L / 5), atol=1e-16)
    assert np.linalg.eigvalsh(max_degree_weights(g, 0.5)).min() >= -1e-15                  # lazy: spectrum >= 0


def test_self_loops_are_ignored():
    g = nx.path_graph(3)
    g.add_edge(1, 1)
    np.testing.assert_array_equal(metropolis_hastings_weights(g), metropolis_hastings_weights(nx.path_graph(3)))


@pytest.mark.parametrize("symmetric", [True, False])
def test_random_matrix_meets_eta_and_is_reproducible(symmetric):
    g = GRAPHS["er10"]
    d = max(deg for _, deg in g.degree)
    eta = (1.0 if symmetric else 0.5) / (1 + d)                     # the largest feasible eta
    A = random_consensus_matrix(g, eta, rng=3, symmetric=symmetric)
    assert consensus_eta(A, g) >= eta * (1 - 1e-14)
    if symmetric:
        # fill=1: the tightest agent's self-weight is exactly eta (up to rounding)
        assert abs(consensus_eta(A, g) - eta) <= 1e-15
        edge_w = A[np.nonzero(np.triu(A, 1))]
        assert np.all(edge_w >= eta) and np.ptp(edge_w) > 0.01         # random, not all minimal
        A_half = random_consensus_matrix(g, eta / 2, rng=3)
        assert abs(consensus_eta(A_half, g) - eta / 2) <= 1e-15
    else:
        assert not np.allclose(A, A.T)
    np.testing.assert_array_equal(A, random_consensus_matrix(g, eta, rng=np.random.default_rng(3), symmetric=symmetric))
    with pytest.raises(ValueError, match=r"`eta` must be in \(0, "):
        random_consensus_matrix(g, eta * 1.01, rng=0, symmetric=symmetric)


# ---------------------------------------------------------------------------- validation
def test_disconnected_graph_is_refused_naming_the_components():
    g = nx.Graph([(0, 1), (2, 3), (3, 4)])
    msg = r"disconnected, with 2 components \[0, 1\] \| \[2, 3, 4\]"
    with pytest.raises(ModelValidationError, match=msg):
        check_connected(g)
    with pytest.raises(ModelValidationError, match=msg):
        metropolis_hastings_weights(g)
    with pytest.raises(ModelValidationError, match=msg):
        random_consensus_matrix(g, 0.1, rng=0)
    # block-diagonal matrix, doubly stochastic on each component: still refused
    A = np.zeros((5, 5))
    A[:2, :2] = 0.5
    A[2:, 2:] = metropolis_hastings_weights(nx.path_graph(3))
    with pytest.raises(ModelValidationError, match=msg):
        check_consensus_matrix(A, g)
    g.add_node(5)
    with pytest.raises(ModelValidationError, match=r"3 components .*\[5\]"):
        check_connected(g)


def test_graph_must_be_undirected_with_integer_nodes():
    with pytest.raises(ValueError, match="undirected"):
        check_connected(nx.DiGraph([(0, 1), (1, 0)]))
    with pytest.raises(ValueError, match="integers 0..1"):
        check_connected(nx.Graph([("a", "b")]))


def test_each_violation_names_its_culprit():
    g = nx.path_graph(3)
    A = metropolis_hastings_weights(g)
    with pytest.raises(ShapeError, match=r"shape \(3, 3\)"):
        check_consensus_matrix(A[:2, :2], g)
    bad = A.copy()
    bad[0, 0] = np.nan
    with pytest.raises(NonFiniteError):
        check_consensus_matrix(bad, g)
    bad = np.array([[1.2, -0.2, 0.0], [-0.2, 0.8, 0.4], [0.0, 0.4, 0.6]])
    with pytest.raises(NegativeProbabilityError, match=r"`A\[0, 1\]` = -0.2"):
        check_consensus_matrix(bad, g)
    # row stochastic, not column stochastic
    rows_only = np.array([[0.5, 0.5, 0.0], [0.1, 0.8, 0.1], [0.0, 0.5, 0.5]])
    with pytest.raises(RowSumError, match=r"column 0 of `A` sums to 0.6"):
        check_consensus_matrix(rows_only, g)
    with pytest.raises(RowSumError, match=r"row 0 of `A` sums to"):
        check_consensus_matrix(rows_only.T * 1.0 + np.diag([0.1, 0.0, 0.0]), g)
    off = np.full((3, 3), 1 / 3)
    with pytest.raises(ModelValidationError, match=r"`A\[0, 2\]` = .* agents 0 and 2 are not neighbours"):
        check_consensus_matrix(off, g)
    with pytest.raises(ModelValidationError, match="must be real-valued"):
        check_consensus_matrix(A + 0j, g)


def test_zero_on_the_support_fails_assumption_5_1_unless_metered():
    """A doubly stochastic matrix on the 4-cycle that never uses edge (3, 0), and one with a zero diagonal."""
    g = nx.cycle_graph(4)
    A = metropolis_hastings_weights(nx.path_graph(4))                  # on the cycle's support, A[3, 0] = 0
    with pytest.raises(ModelValidationError, match=r"`A\[0, 3\]` = 0 is the weight of edge \(0, 3\)"):
        check_consensus_matrix(A, g)
    check_consensus_matrix(A, g, require_eta=False)
    assert consensus_eta(A, g) == 0.0                                   # the smallest positive entry would be 1/3
    assert math.isnan(measure_consensus(A, g).paper_rate)
    swap = np.array([[0.0, 1.0], [1.0, 0.0]])
    with pytest.raises(ModelValidationError, match="self-weight of agent 0"):
        check_consensus_matrix(swap, nx.path_graph(2))


def test_sum_tolerance_is_1e_12():
    g = nx.complete_graph(3)
    A = np.full((3, 3), 1 / 3)
    ok = A.copy()
    ok[0, 0] += 5e-13                                                   # row 0 and column 0 off by 5e-13
    check_consensus_matrix(ok, g)
    bad = A.copy()
    bad[0, 0] += 5e-12
    with pytest.raises(RowSumError, match="tolerance 1e-12"):
        check_consensus_matrix(bad, g)


def test_validated_copy_is_read_only_and_independent():
    g = nx.path_graph(3)
    A = metropolis_hastings_weights(g)
    out = check_consensus_matrix(A, g)
    A[0, 0] = 7.0
    assert not out.flags.writeable and out[0, 0] != 7.0


# ---------------------------------------------------------------------------- measurements
@pytest.mark.parametrize("n", [3, 5, 8])
def test_sigma2_on_the_cycle_closed_form(n):
    """MH on C_n: every weight 1/3, eigenvalues (1 + 2 cos(2 pi k / n)) / 3 (circulant)."""
    A = metropolis_hastings_weights(nx.cycle_graph(n))
    lam = [(1 + 2 * math.cos(2 * math.pi * k / n)) / 3 for k in range(1, n)]
    expected = max(abs(v) for v in lam)
    assert abs(consensus_sigma2(A) - expected) <= 1e-14
    assert abs(consensus_spectral_radius(A) - expected) <= 1e-14


@pytest.mark.parametrize("name", GRAPHS)
def test_sigma2_is_the_second_singular_value(name):
    g = GRAPHS[name]
    for kind, A in _generated(g):
        s = np.linalg.svd(A, compute_uv=False)
        second = s[1] if len(s) > 1 else 0.0
        assert abs(consensus_sigma2(A) - second) <= 1e-13, kind
        assert abs(s[0] - 1.0) <= 1e-13                                 # doubly stochastic: ||A||_2 = 1
        assert consensus_spectral_radius(A) <= consensus_sigma2(A) + 1e-13
        if np.array_equal(A, A.T):
            lam = np.sort(np.linalg.eigvalsh(A))
            ref = max(abs(lam[0]), abs(lam[-2])) if len(lam) > 1 else 0.0
            assert abs(consensus_spectral_radius(A) - ref) <= 1e-13


def test_complete_graph_averaging_matrix_has_sigma2_zero():
    g = nx.complete_graph(5)
    A = np.full((5, 5), 0.2)
    m = measure_consensus(A, g)
    assert m.sigma2 <= 1e-15 and m.spectral_gap >= 1 - 1e-15 and m.eta == 0.2
    assert m.paper_rate == pytest.approx(1 - 0.2 ** 4, rel=1e-15)


def test_measure_consensus_fields():
    g = GRAPHS["er10"]
    A = random_consensus_matrix(g, 0.05, rng=1, symmetric=False)
    m = measure_consensus(A, g)
    assert m.n == 10 and not m.symmetric
    assert m.eta == consensus_eta(A, g) and m.sigma2 == consensus_sigma2(A)
    assert m.paper_rate == pytest.approx(1 - m.eta ** 9, rel=1e-15)
    assert max(m.max_row_error, m.max_column_error) <= 1e-12
    assert m.spectral_radius <= m.sigma2 < 1.0                        # connected, positive diagonal


def test_rate_bound_values():
    assert consensus_rate_bound(0.5, 3, 0) == 1.0
    assert consensus_rate_bound(0.5, 3, 3) == pytest.approx(0.75 ** 3, rel=1e-15)
    np.testing.assert_allclose(consensus_rate_bound(0.5, 3, [0, 1, 2]), [1.0, 0.75, 0.5625])
    # (26) step (d) per-row constant: 2 sqrt(N) (1 + eta^(1-N))
    assert consensus_rate_bound(0.5, 3, 1, constant=True) == pytest.approx(2 * math.sqrt(3) * 5 * 0.75, rel=1e-15)
    for bad in (0.0, 1.5, -0.1):
        with pytest.raises(ValueError, match="`eta`"):
            consensus_rate_bound(bad, 3, 1)
    with pytest.raises(ValueError, match="`t`"):
        consensus_rate_bound(0.5, 3, -1)


def test_paper_rate_is_far_slower_than_sigma2_on_a_path():
    """Measured beside each other (guide §3, Assumption 5.1 meter): the paper's 1 - eta^(N-1) is much
    closer to 1 than sigma_2 even on a path, and the gap grows with N."""
    for n, expected_sigma2 in ((4, 0.8047), (8, 0.9493)):
        g = nx.path_graph(n)
        m = measure_consensus(metropolis_hastings_weights(g), g)
        assert abs(m.sigma2 - expected_sigma2) < 1e-4
        assert m.paper_rate > m.sigma2
