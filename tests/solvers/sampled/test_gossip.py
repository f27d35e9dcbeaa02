"""Gossip steps (solvers/sampled/_gossip.py): zhang2025 Alg. 1 l. 12-15, Alg. 2 l. 12, Fact C.2."""

import math

import networkx as nx
import numpy as np
import pytest

from netmarl_verify.envs import (
    ShapeError,
    consensus_eta,
    consensus_rate_bound,
    consensus_sigma2,
    metropolis_hastings_weights,
    random_consensus_matrix,
)
from netmarl_verify.solvers.sampled import DeepReLU, consensus_errors, disagreement, gossip, gossip_td_errors

U = 2.0 ** -53
GRAPH = nx.connected_watts_strogatz_graph(8, 4, 0.4, seed=2)


def gamma(k):
    return k * U / (1 - k * U)


def _matrices():
    return {
        "mh": metropolis_hastings_weights(GRAPH),
        "random_sym": random_consensus_matrix(GRAPH, 0.05, rng=0),
        "random_nonsym": random_consensus_matrix(GRAPH, 0.05, rng=1, symmetric=False),
        "path_mh": metropolis_hastings_weights(nx.path_graph(8)),
    }


MATRICES = _matrices()


def test_t0_is_the_identity_and_returns_a_copy():
    A = MATRICES["mh"]
    X = np.random.default_rng(0).standard_normal((8, 5))
    for method in ("rounds", "power"):
        Y = gossip(A, X, 0, method=method)
        assert np.array_equal(Y, X) and Y is not X
    np.testing.assert_allclose(consensus_errors(A, 0), np.full(8, math.sqrt(7 / 8)), rtol=1e-15)  # rows of I - J


@pytest.mark.parametrize("name", MATRICES)
def test_rounds_power_and_explicit_agree(name):
    A = MATRICES[name]
    X = np.random.default_rng(1).standard_normal((8, 6))
    ref = np.linalg.matrix_power(A, 7) @ X
    Y = X
    for _ in range(7):
        Y = A @ Y
    np.testing.assert_array_equal(gossip(A, X, 7), Y)                 # "rounds" is literally t products
    np.testing.assert_allclose(gossip(A, X, 7, method="power"), ref, rtol=0, atol=1e-13)
    np.testing.assert_allclose(gossip(A, X, 1), A @ X, rtol=0, atol=0)


def test_agent_axis_and_trailing_shape_of_deep_weights():
    """B runs of N agents' DeepReLU weights, shape (B, N, D, m, m), gossiped along axis 1."""
    A = MATRICES["random_nonsym"]
    net = DeepReLU.init(0, dim=3, width=4, depth=2, copies=3).expand(8, axis=1)
    W = net.W0 + np.random.default_rng(2).standard_normal(net.W0.shape)
    G = gossip(A, W, 4, axis=1)
    assert G.shape == W.shape
    for b in range(3):
        flat = net.flatten(W)[b]                                      # (N, n_params): W-hat of Alg. 2 l. 12
        np.testing.assert_allclose(net.flatten(G)[b], np.linalg.matrix_power(A, 4) @ flat, atol=1e-13)
    # Fact C.2: the agents' mean is what parameter averaging gives, before and after gossip
    np.testing.assert_allclose(net.average(G, axis=1), net.average(W, axis=1), rtol=0, atol=1e-14)


@pytest.mark.parametrize("name", MATRICES)
def test_doubly_stochastic_gossip_preserves_the_mean(name):
    """Tolerance, per round: the mean of A X differs from the mean of X by (1/N) sum_j e_j X_j with
    e_j the column-sum error (|e_j| <= delta, measured), plus the rounding of the product,
    |fl(AX) - AX| <= gamma_N |A||X| <= gamma_N max|X| (rows of |A| sum to ~1), plus the rounding of
    the mean itself, gamma_N max|X|; max|X| does not grow (convex combinations). Over t rounds and
    the final mean: (t (delta + 2 gamma_N) + gamma_N) max|X0|."""
    A = MATRICES[name]
    n, t = 8, 60
    X = np.random.default_rng(3).standard_normal((n, 50)) * 10
    Y = gossip(A, X, t)
    delta = np.abs(A.sum(axis=0) - 1).max() + gamma(n)
    tol = (t * (delta + 2 * gamma(n)) + gamma(n)) * np.abs(X).max()
    err = np.abs(Y.mean(axis=0) - X.mean(axis=0)).max()
    assert err <= tol, (err, tol)


@pytest.mark.parametrize("name", MATRICES)
def test_consensus_error_decays_at_least_like_sigma2_power(name):
    """||A^t_{i,:} - 1/N|| <= ||(A - J)^t||_2 <= sigma_2^t exactly; the computed rows of (A - J)^t
    carry a relative rounding error of at most about t N u (t products of N x N matrices)."""
    A = MATRICES[name]
    s2 = consensus_sigma2(A)
    ts = list(range(0, 201, 5))
    errs = consensus_errors(A, ts)
    assert errs.shape == (len(ts), 8)
    for t, e in zip(ts, errs):
        bound = s2 ** t if t else 1.0
        assert e.max() <= bound * (1 + 4 * (t + 1) * 8 * U), (t, e.max(), bound)
    assert errs[-1].max() < 1e-6 or name == "path_mh"                  # and it does go to 0
    # the paper's bound (26)(d) also holds (it is much looser)
    eta = consensus_eta(A, GRAPH if name != "path_mh" else nx.path_graph(8))
    assert np.all(errs <= consensus_rate_bound(eta, 8, np.array(ts), constant=True)[:, None])


@pytest.mark.parametrize("name", MATRICES)
def test_centred_errors_match_the_literal_rows_while_above_rounding(name):
    A = MATRICES[name]
    for t in (1, 3, 10):
        literal = np.linalg.norm(np.linalg.matrix_power(A, t) - 1 / 8, axis=1)
        np.testing.assert_allclose(consensus_errors(A, t), literal, rtol=1e-10, atol=1e-14)


def test_row_disagreement_is_bounded_by_the_consensus_error():
    """X^(t)_i - xbar = (A^t_{i,:} - 1/N)(X - 1 xbar^T), so |X^(t)_i - xbar| <= err_i ||X - 1 xbar^T||_2."""
    A = MATRICES["random_nonsym"]
    X = np.random.default_rng(4).standard_normal((8, 3))
    xbar = X.mean(axis=0)
    op = np.linalg.norm(X - xbar, ord=2)
    for t in (1, 4, 16):
        dev = np.linalg.norm(gossip(A, X, t) - xbar, axis=1)
        assert np.all(dev <= consensus_errors(A, t) * op * (1 + 1e-12) + 1e-14)
    assert disagreement(gossip(A, X, 100)) < 1e-6 * disagreement(X)


def test_actor_td_error_gossip_is_alg1_lines_12_to_15():
    A = MATRICES["random_nonsym"]
    M, N, t = 5, 8, 10
    delta0 = np.random.default_rng(5).standard_normal((M, N))          # row l = sample, column i = agent
    D = gossip_td_errors(A, delta0, t)
    assert D.shape == (N, M)
    np.testing.assert_allclose(D, np.linalg.matrix_power(A, t) @ delta0.T, atol=1e-14)
    # every sample's mean TD error over agents is preserved; with many rounds each agent holds it
    np.testing.assert_allclose(D.mean(axis=0), delta0.mean(axis=1), atol=1e-14)
    far = gossip_td_errors(A, delta0, 400)
    np.testing.assert_allclose(far, np.broadcast_to(delta0.mean(axis=1), (N, M)), atol=1e-12)
    # batched over runs: (B, M, N) -> (B, N, M)
    batch = np.random.default_rng(6).standard_normal((3, M, N))
    out = gossip_td_errors(A, batch, t)
    assert out.shape == (3, N, M)
    for b in range(3):
        np.testing.assert_allclose(out[b], gossip_td_errors(A, batch[b], t), atol=0)
    np.testing.assert_array_equal(gossip_td_errors(A, delta0, 0), delta0.T)


def test_errors_name_the_argument():
    A = MATRICES["mh"]
    with pytest.raises(ValueError, match="non-negative int"):
        gossip(A, np.zeros((8, 2)), -1)
    with pytest.raises(ValueError, match="non-negative int"):
        gossip(A, np.zeros((8, 2)), 2.0)
    with pytest.raises(ShapeError, match="agent axis 0"):
        gossip(A, np.zeros((7, 2)), 1)
    with pytest.raises(ShapeError, match="square"):
        gossip(A[:3], np.zeros((3, 2)), 1)
    with pytest.raises(ValueError, match="`method`"):
        gossip(A, np.zeros((8, 2)), 1, method="fast")
    with pytest.raises(ShapeError, match="delta0"):
        gossip_td_errors(A, np.zeros(8), 1)
