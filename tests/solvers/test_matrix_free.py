"""backend="matrix-free" (solvers/exact/_krylov.py) agrees with the dense backend to 1e-10."""

import networkx as nx
import numpy as np
import pytest

from netmarl_verify import envs
from netmarl_verify.solvers.exact import (
    MultipleRecurrentClassesError,
    PeriodicChainError,
    discounted_occupancy,
    discounted_visitation,
    evaluate_policy,
    policy_gradient,
    transition_matrix,
)
from netmarl_verify.solvers.exact import _backends

TOL = 1e-10


def _networked(graph, transition_form="local", reward_form="local", seed=0, S=2, A=2):
    rng = np.random.default_rng(seed)
    mdp = envs.random_networked_mdp(graph, S, A, rng, transition_form=transition_form, reward_form=reward_form)
    return mdp, envs.LocalSoftmaxPolicy.random(mdp, rng)


def _copy_chain(n=4, seed=0):
    # agent i copies agent i-1's state with probability 0.8 (a "copy chain"), agent 0 flips at random
    rng = np.random.default_rng(seed)
    g = nx.path_graph(n)
    P, R = [], []
    for i in range(n):
        Ni = sorted([i] + list(g.neighbors(i)))
        shape = tuple(2 for _ in Ni) + (2, 2)
        T = np.full(shape, 0.1)
        it = np.ndindex(*shape[:-1])
        for idx in it:
            src = idx[Ni.index(i - 1)] if i > 0 else idx[-1]
            T[idx] = 0.1
            T[idx + (src,)] = 0.9
        P.append(T)
        R.append(rng.uniform(size=(2, 2)))
    mdp = envs.NetworkedMDP(g, P, R, transition_form="local", reward_form="local")
    return mdp, envs.LocalSoftmaxPolicy.random(mdp, rng)


FAMILIES = {
    "line": lambda: _networked(nx.path_graph(5)),
    "grid": lambda: _networked(envs.grid_graph(2, 3), S=2, A=3),
    "cycle-local": lambda: _networked(nx.cycle_graph(5)),
    "cycle-neighbourhood": lambda: _networked(nx.cycle_graph(4), "neighbourhood", "neighbourhood"),
    "cycle-mixed": lambda: _networked(nx.cycle_graph(4), "local", "neighbourhood"),
    "copy-chain": _copy_chain,
}


def _pairs(mdp, m=40, seed=3):
    rng = np.random.default_rng(seed)
    return (rng.integers(0, np.asarray(mdp.state_sizes), (m, mdp.n)),
            rng.integers(0, np.asarray(mdp.action_sizes), (m, mdp.n)))


def _close(a, b):
    assert np.max(np.abs(np.asarray(a) - np.asarray(b))) < TOL


@pytest.mark.parametrize("family", sorted(FAMILIES))
@pytest.mark.parametrize("gamma", [None, 0.9])
def test_matrix_free_agrees_with_dense(family, gamma):
    mdp, pol = FAMILIES[family]()
    dense = evaluate_policy(mdp, pol, gamma, backend="dense")
    mf = evaluate_policy(mdp, pol, gamma, backend="matrix-free")
    assert mf.backend == "matrix-free" and dense.backend == "dense"
    assert set(mf.residuals) == set(dense.residuals)
    assert max(mf.residuals.values()) < 1e-11
    _close(mf.values, dense.values)
    S, A = _pairs(mdp)
    _close(mf.q_local(S, A), dense.q_local(S, A))
    if gamma is None:
        _close(mf.stationary, dense.stationary)
        _close(mf.J_local, dense.J_local)
        assert mf.period == dense.period
    else:
        mu = np.random.default_rng(1).dirichlet(np.ones(mdp.n_states))
        _close(mf.visitation(mu), dense.visitation(mu))
        _close(discounted_visitation(mdp, pol, gamma, mu, backend="matrix-free"),
               discounted_visitation(mdp, pol, gamma, mu, backend="dense"))
        _close(discounted_occupancy(mdp, pol, gamma, mu, backend="matrix-free"),
               discounted_occupancy(mdp, pol, gamma, mu, backend="dense"))
    for x, y in zip(policy_gradient(mdp, pol, gamma, evaluation=mf), policy_gradient(mdp, pol, gamma, evaluation=dense)):
        _close(x, y)
    # the evaluation holds no matrix: P is a LinearOperator
    assert not isinstance(mf.P, np.ndarray)
    v = np.random.default_rng(2).standard_normal(mdp.n_states)
    Pd = dense.P
    _close(mf.P @ v, Pd @ v)
    _close(mf.P.T @ v, Pd.T @ v)


def test_tabular_sparse_matrix_free():
    rng = np.random.default_rng(0)
    nS, nA = 30, 2
    P = np.zeros((nS, nA, nS))
    for s in range(nS):
        for a in range(nA):
            cols = rng.choice(nS, 3, replace=False)
            P[s, a, cols] = rng.dirichlet(np.ones(3))
        P[s, :, (s + 1) % nS] += 0.5  # a ring keeps the chain irreducible
    P /= P.sum(axis=2, keepdims=True)
    mdp = envs.TabularMDP(P, rng.uniform(size=(nS, nA)))
    pol = envs.TabularSoftmaxPolicy(rng.standard_normal((nS, nA)))
    for gamma in (None, 0.8):
        a = evaluate_policy(mdp, pol, gamma, backend="sparse")
        b = evaluate_policy(mdp, pol, gamma, backend="matrix-free")
        _close(a.values, b.values)
        st = np.arange(nS)
        ac = rng.integers(0, nA, nS)
        _close(a.q(st, ac), b.q(st, ac))
        for x, y in zip(policy_gradient(mdp, pol, gamma, evaluation=a), policy_gradient(mdp, pol, gamma, evaluation=b)):
            _close(x, y)
        if gamma is None:
            _close(a.stationary, b.stationary)


def test_reducible_and_periodic_chains_refused_like_dense():
    # two absorbing states: two recurrent classes
    P = np.zeros((3, 1, 3))
    P[0, 0, 0] = P[1, 0, 1] = 1.0
    P[2, 0] = [0.5, 0.5, 0.0]
    mdp = envs.TabularMDP(P, np.zeros((3, 1)))
    for backend in ("dense", "matrix-free"):
        with pytest.raises(MultipleRecurrentClassesError):
            evaluate_policy(mdp, np.ones((3, 1)), backend=backend)
    # a 2-cycle: periodic; J defined, Q at pairs refused unless periodic="cesaro"
    P = np.zeros((2, 1, 2))
    P[0, 0, 1] = P[1, 0, 0] = 1.0
    mdp = envs.TabularMDP(P, np.array([[1.0], [0.0]]))
    d = evaluate_policy(mdp, np.ones((2, 1)), backend="dense")
    m = evaluate_policy(mdp, np.ones((2, 1)), backend="matrix-free")
    assert m.period == d.period == 2
    _close(m.stationary, d.stationary)
    _close(m.values, d.values)
    with pytest.raises(PeriodicChainError):
        m.q([0], [0])


def test_matrix_free_refuses_to_build_P():
    mdp, pol = FAMILIES["line"]()
    with pytest.raises(NotImplementedError, match="never builds"):
        transition_matrix(mdp, pol, backend="matrix-free")
    from netmarl_verify.solvers.exact._model import as_model

    assert isinstance(_backends.choose_backend(as_model(mdp, pol), "matrix-free"), _backends.KrylovBackend)
    # the default for small instances stays dense
    assert isinstance(_backends.choose_backend(as_model(mdp, pol), "auto"), _backends.DenseLU)
