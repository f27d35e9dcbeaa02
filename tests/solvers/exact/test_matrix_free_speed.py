"""Correctness of the fast paths of the matrix-free backend (solvers/exact/_krylov.py, issue 10):
the segmented products (SegmentPlan), the lock-step batched GMRES (block_gmres), the column
groups and the broadcast reward table. Speed itself is measured by ``netmarl-verify bench``."""

import networkx as nx
import numpy as np
import pytest
import scipy.sparse.linalg as spla

from netmarl_verify import envs
from netmarl_verify.solvers.exact import evaluate_policy, policy_gradient
from netmarl_verify.solvers.exact import _krylov
from netmarl_verify.solvers.exact._model import as_model


def _family(name, seed=0):
    rng = np.random.default_rng(seed)
    graphs = {
        "line": (nx.path_graph(7), "local", "local", 2, 3),
        "line-S3": (nx.path_graph(5), "local", "local", 3, 2),
        "grid": (envs.grid_graph(2, 3), "local", "local", 2, 3),
        "cycle": (nx.cycle_graph(5), "local", "neighbourhood", 2, 2),
        "cycle-neighbourhood": (nx.cycle_graph(4), "neighbourhood", "neighbourhood", 2, 2),
        "star-neighbourhood": (nx.star_graph(4), "neighbourhood", "local", 2, 2),
    }
    g, tf, rf, S, A = graphs[name.replace("-khop", "")]
    mdp = envs.random_networked_mdp(g, S, A, rng, transition_form=tf, reward_form=rf)
    if name.endswith("-khop"):
        return mdp, envs.KHopSoftmaxPolicy.random(mdp, 1, rng)
    return mdp, envs.LocalSoftmaxPolicy.random(mdp, rng)


FAMILIES = ["line", "line-S3", "grid", "cycle", "cycle-neighbourhood", "star-neighbourhood", "line-khop"]


@pytest.mark.parametrize("name", FAMILIES)
def test_segmented_products_equal_the_einsum_contraction(name):
    mdp, pol = _family(name)
    op = as_model(mdp, pol)
    net = _krylov.FactorNetwork(op)
    assert net.segments() is not None
    N = op.n_states
    V = np.random.default_rng(1).standard_normal((N, 3))
    ref_p = net.contract(V, net.nxt, net.cur).reshape(N, 3)
    ref_pt = net.contract(V, net.cur, net.nxt).reshape(N, 3)
    np.testing.assert_allclose(net.matvec(V), ref_p, rtol=0, atol=1e-13)
    np.testing.assert_allclose(net.rmatvec(V), ref_pt, rtol=0, atol=1e-13)
    np.testing.assert_allclose(net.matvec(V[:, 0]), ref_p[:, 0], rtol=0, atol=1e-13)
    # rows layout (m, |S|) of the solvers
    np.testing.assert_allclose(net.apply(V.T).T, ref_p, rtol=0, atol=1e-13)
    np.testing.assert_allclose(net.apply(V.T, adjoint=True).T, ref_pt, rtol=0, atol=1e-13)
    for i in range(mdp.n):
        ref = net.contract(V[:, 0], net.nxt, net.cur + (("a", i),), free=i).reshape(N, -1)
        np.testing.assert_allclose(net.next_values(i, V[:, 0]), ref, rtol=0, atol=1e-13)


def test_segment_plan_merges_agents_and_is_exact_against_the_dense_kernel():
    mdp, pol = envs.qu2020_line(12, rng=0)
    op = as_model(mdp, pol)
    net = _krylov.FactorNetwork(op)
    plan = net.segments()
    n_seg = sum(1 for s in plan.steps if s[0] == "seg")
    assert n_seg < mdp.n // 2  # several agents per batched product
    assert all(s[0] == "seg" for s in plan.steps)  # natural order on a line: no transposition
    from netmarl_verify.solvers.exact import transition_matrix

    P = transition_matrix(mdp, pol, backend="dense")
    v = np.random.default_rng(0).standard_normal(op.n_states)
    np.testing.assert_allclose(net.matvec(v), P @ v, rtol=0, atol=1e-12)
    np.testing.assert_allclose(net.rmatvec(v), P.T @ v, rtol=0, atol=1e-12)


def _random_system(N=60, seed=0):
    rng = np.random.default_rng(seed)
    A = np.eye(N) + 0.3 * rng.standard_normal((N, N)) / np.sqrt(N)
    return A, rng.standard_normal((5, N))


@pytest.mark.parametrize("restart", [3, 10, 80])
def test_block_gmres_solves_each_column_like_scipy(restart):
    A, B = _random_system()
    B[2] = 0.0  # a zero right side gives zero
    X, products = _krylov.block_gmres(lambda Y: Y @ A.T, B, restart=restart)
    for c in range(B.shape[0]):
        ref = np.linalg.solve(A, B[c])
        np.testing.assert_allclose(X[c], ref, rtol=0, atol=1e-11)
        if c != 2:
            x, info = spla.gmres(A, B[c], rtol=1e-13, atol=0.0, restart=restart, maxiter=200)
            assert info == 0
            np.testing.assert_allclose(X[c], x, rtol=0, atol=1e-11)
    assert not X[2].any()
    assert products > 0


def test_block_gmres_handles_a_happy_breakdown_in_one_column_only():
    # column 0 lies in a 1-dimensional invariant subspace (exact solution after one step)
    N = 30
    rng = np.random.default_rng(3)
    A = np.eye(N) + np.triu(rng.uniform(0, 0.2, (N, N)), 1)
    B = np.zeros((2, N))
    B[0, 0] = 1.0  # A e_0 = e_0
    B[1] = rng.standard_normal(N)
    X, _ = _krylov.block_gmres(lambda Y: Y @ A.T, B, restart=20)
    np.testing.assert_allclose(X[0], np.linalg.solve(A, B[0]), atol=1e-13)
    np.testing.assert_allclose(X[1], np.linalg.solve(A, B[1]), atol=1e-11)


def test_column_groups_respect_the_memory_budget():
    N = 2**20
    groups = _krylov._column_groups(22, N, 10, max_bytes=4 * 8 * N * 20)
    assert sorted(np.concatenate(groups).tolist()) == list(range(22))
    per_column = 8.0 * N * (10 + 1 + _krylov.KRYLOV_VECTORS_PER_COLUMN)
    assert max(len(g) for g in groups) * per_column <= 4 * 8 * N * 20 * _krylov.KRYLOV_MEMORY_SHARE + per_column
    # small instances: every right side in one batch
    assert len(_krylov._column_groups(12, 4096, 40)) == 1


@pytest.mark.parametrize("name", ["line", "grid", "cycle", "line-khop"])
def test_broadcast_reward_table_equals_the_operator_table(name):
    mdp, pol = _family(name)
    op = as_model(mdp, pol)
    np.testing.assert_allclose(_krylov.policy_rewards(op), op.policy_rewards(), rtol=0, atol=1e-15)


@pytest.mark.parametrize("gamma", [None, 0.9])
@pytest.mark.parametrize("name", ["line-khop", "line-S3", "star-neighbourhood"])
def test_batched_solves_agree_with_dense(name, gamma):
    mdp, pol = _family(name, seed=5)
    dense = evaluate_policy(mdp, pol, gamma, backend="dense")
    mf = evaluate_policy(mdp, pol, gamma, backend="matrix-free")
    assert max(mf.residuals.values()) < 1e-11
    assert np.max(np.abs(mf.values - dense.values)) < 1e-10
    if gamma is None:
        assert np.max(np.abs(mf.stationary - dense.stationary)) < 1e-10
    for x, y in zip(policy_gradient(mdp, pol, gamma, evaluation=mf),
                    policy_gradient(mdp, pol, gamma, evaluation=dense)):
        assert np.max(np.abs(x - y)) < 1e-10


def test_batched_poisson_in_several_column_groups_is_the_same_answer(monkeypatch):
    mdp, pol = envs.qu2020_line(8, rng=2)
    whole = evaluate_policy(mdp, pol, backend="matrix-free")
    monkeypatch.setattr(_krylov, "KRYLOV_BATCH_ENTRIES", mdp.n_states * 3)  # groups of 3 columns
    assert len(_krylov._column_groups(mdp.n, mdp.n_states, 40)) == 3
    grouped = evaluate_policy(mdp, pol, backend="matrix-free")
    assert np.max(np.abs(whole.values - grouped.values)) < 1e-12
    dense = evaluate_policy(mdp, pol, backend="dense")
    assert np.max(np.abs(grouped.values - dense.values)) < 1e-10
