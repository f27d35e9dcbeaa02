"""The exact solvers' seams (issue 15): contraction builder, linear-algebra backends, operator.

Every check compares against a dense object built independently (the joint tables of
``to_tabular`` / :mod:`_reference`), never against the code under test.
"""

import networkx as nx
import numpy as np
import pytest
from numpy.testing import assert_allclose

import _reference as ref
from netmarl_verify.envs import LocalSoftmaxPolicy, TabularMDP, TabularSoftmaxPolicy, random_networked_mdp
from netmarl_verify.solvers.exact import SolverAccuracyError, UnidentifiedFixedPointError
from netmarl_verify.solvers.exact import _backends, _contract, _critic, _errors

FORMS = ["local", "neighbourhood"]


def _networked(tf, rf="local", seed=0, graph=None, S=(2, 3, 2), A=(2, 1, 3)):
    rng = np.random.default_rng([seed, 15])
    mdp = random_networked_mdp(graph if graph is not None else nx.path_graph(3), S, A, rng,
                               transition_form=tf, reward_form=rf)
    return mdp, LocalSoftmaxPolicy.random(mdp, rng)


def _tabular(seed=0, nS=5, nA=3):
    rng = np.random.default_rng([seed, 16])
    P = rng.uniform(size=(nS, nA, nS))
    P /= P.sum(axis=-1, keepdims=True)
    return TabularMDP(P, rng.uniform(size=(nS, nA))), TabularSoftmaxPolicy(rng.normal(size=(nS, nA)))


def _dense_chain(mdp, policy):
    """P_pi and the per-agent r_pi from the joint tables (the brute-force route)."""
    if isinstance(mdp, TabularMDP):
        pi = policy.table()
        return ref.markov_chain(mdp.P, mdp.R, pi)[0], (pi * mdp.R).sum(axis=1)[:, None]
    P, _ = ref.joint_tables(mdp)
    pi = ref.policy_table(mdp, policy)
    P_pi = np.einsum("sa,sat->st", pi, P)
    r = np.stack([(pi * ref.joint_tables(mdp, i)[1]).sum(axis=1) for i in range(mdp.n)], axis=1)
    return P_pi, r


# ---------------------------------------------------------------------------- contraction builder
def test_labels_are_the_former_letters():
    b, act, nxt = _contract.labels(3, 3)
    assert (b, act, nxt) == ("a", "bcd", "efg")
    assert _contract.labels(2, 2, batch=False) == ["ab", "cd"]


def test_contraction_limit_is_one_documented_number():
    assert _contract.MAX_AGENTS == 25
    _contract.labels(25, 25, agents=25)  # fits: 51 labels
    with pytest.raises(_errors.ContractionLimitError, match=r"26 agents.*MAX_AGENTS = 25"):
        _contract.labels(26, 26, what="kernel rows")
    with pytest.raises(ValueError, match="kernel rows involves 26 agents"):  # a ValueError subclass
        _contract.labels(26, 26, what="kernel rows")


def test_neighbourhood_model_beyond_the_limit_is_refused_clearly():
    from netmarl_verify.solvers.exact._model import as_model

    mdp, pol = _networked("neighbourhood", graph=nx.path_graph(26), S=1, A=1)
    model = as_model(mdp, pol)
    states = mdp.state_tuples(np.arange(1))
    with pytest.raises(_errors.ContractionLimitError, match="26 agents"):
        model.rows(states, model.policy_weights(states))


def test_path_cache_reuses_paths():
    cache = _contract.PathCache()
    x, y = np.ones((3, 4)), np.ones((4, 5))
    cache.einsum("ij,jk->ik", x, y)
    cache.einsum("ij,jk->ik", x, y)
    assert len(cache) == 1
    cache.einsum("ij,jk->ik", np.ones((2, 4)), y)
    assert len(cache) == 2
    cache.einsum("ij,jk->ik", np.ones((1, 4)), y, key="first")
    cache.einsum("ij,jk->ik", np.ones((7, 4)), y, key="first")
    assert len(cache) == 3


# ---------------------------------------------------------------------------- backends
@pytest.mark.parametrize("name", ["dense", "sparse"])
@pytest.mark.parametrize("kind", ["bordered", "shifted"])
def test_backend_objects_solve_with_a_small_residual(name, kind):
    mdp, pol = _networked("local")
    P_dense, r = _dense_chain(mdp, pol)
    backend = _backends.get_backend(name)
    assert backend.name == name
    from netmarl_verify.solvers.exact._model import as_model

    P = backend.transition_matrix(as_model(mdp, pol))
    assert_allclose(np.asarray(P.todense() if hasattr(P, "todense") else P), P_dense, atol=1e-14)
    F = backend.factor(P, kind, k=0, gamma=0.9, keep_matrix=True)
    N = P_dense.shape[0]
    rhs = np.random.default_rng(0).normal(size=(N + (kind == "bordered"), 2))
    for trans in (False, True):
        x = F.solve(rhs, trans=trans)
        assert F.residual(x, rhs, trans=trans) < 1e-12
        M = np.eye(N) - 0.9 * P_dense if kind == "shifted" else np.block(
            [[np.eye(N) - P_dense, np.ones((N, 1))], [np.eye(1, N, 0), np.zeros((1, 1))]])
        assert_allclose((M.T if trans else M) @ x, rhs, atol=1e-12)


def test_choose_backend_returns_an_object_chosen_once():
    from netmarl_verify.solvers.exact import evaluate_policy
    from netmarl_verify.solvers.exact._model import as_model

    mdp, pol = _networked("local")
    model = as_model(mdp, pol)
    assert isinstance(_backends.choose_backend(model, "auto"), _backends.DenseLU)
    assert isinstance(_backends.choose_backend(model, "sparse"), _backends.SparseLU)
    with pytest.raises(ValueError, match="backend must be one of"):
        _backends.choose_backend(model, "lu")
    ev = evaluate_policy(mdp, pol, backend=_backends.SparseLU())
    assert ev.backend == "sparse"


def test_matrix_free_backend_refuses_to_build_the_matrix():
    k = _backends.KrylovBackend()
    with pytest.raises(NotImplementedError, match="never builds or factors P_pi"):
        k.factor(np.eye(2), "shifted", gamma=0.5)
    with pytest.raises(NotImplementedError, match="never builds or factors P_pi"):
        k.transition_matrix(None)


def test_one_certificate_two_documented_tolerances():
    assert _backends.RESIDUAL_TOL == 1e-8 and _backends.CRITIC_RESIDUAL_TOL == 1e-9
    assert _critic.RESIDUAL_TOL == _backends.CRITIC_RESIDUAL_TOL
    rec = {}
    _backends.certify_residual("x", 1e-10, rec)
    assert rec == {"x": 1e-10}
    with pytest.raises(SolverAccuracyError, match="x: residual 5.000e-09 exceeds 1e-09"):
        _backends.certify_residual("x", 5e-9, tol=_backends.CRITIC_RESIDUAL_TOL)
    with pytest.raises(SolverAccuracyError):
        _backends.certify_residual("x", float("nan"))


def test_unidentified_fixed_point_error_lives_in_errors():
    assert UnidentifiedFixedPointError is _errors.UnidentifiedFixedPointError
    assert _critic.UnidentifiedFixedPointError is _errors.UnidentifiedFixedPointError


# ---------------------------------------------------------------------------- operator protocol
def _operator_cases():
    cases = []
    for tf in FORMS:
        for graph in ("path", "star"):
            g = nx.path_graph(3) if graph == "path" else nx.star_graph(3)
            S, A = ((2, 3, 2), (2, 1, 3)) if graph == "path" else ((2, 3, 2, 2), (2, 1, 3, 2))
            cases.append(pytest.param(("net", tf, g, S, A), id=f"{tf}-{graph}"))
    cases.append(pytest.param(("tab",), id="tabular"))
    return cases


def _case(case, seed=0):
    if case[0] == "tab":
        return _tabular(seed)
    _, tf, g, S, A = case
    return _networked(tf, graph=g, S=S, A=A, seed=seed)


@pytest.mark.parametrize("case", _operator_cases())
def test_matvec_and_rmatvec_match_the_dense_kernel(case):
    from netmarl_verify.solvers.exact._operator import PolicyOperator, as_operator

    mdp, pol = _case(case)
    op = as_operator(mdp, pol)
    assert isinstance(op, PolicyOperator)
    P, _ = _dense_chain(mdp, pol)
    rng = np.random.default_rng(3)
    v = rng.normal(size=op.n_states)
    V = rng.normal(size=(op.n_states, 3))
    assert_allclose(op.matvec(v), P @ v, rtol=0, atol=1e-13)
    assert_allclose(op.matvec(V), P @ V, rtol=0, atol=1e-13)
    assert_allclose(op.rmatvec(v), P.T @ v, rtol=0, atol=1e-13)
    assert_allclose(op.rmatvec(V), P.T @ V, rtol=0, atol=1e-13)
    d = ref.stationary(P)
    assert_allclose(op.rmatvec(d), d, atol=1e-13)  # the stationary law is a fixed point of d -> d^T P
    assert np.array_equal(op.support().toarray(), P > 0)


@pytest.mark.parametrize("case", _operator_cases())
def test_rows_and_marginal_match_the_joint_tables(case):
    from netmarl_verify.solvers.exact._operator import as_operator

    mdp, pol = _case(case)
    op = as_operator(mdp, pol)
    P, r = _dense_chain(mdp, pol)
    assert_allclose(op.policy_rewards(), r, atol=1e-14)
    assert_allclose(np.vstack([op.dense_rows(0, op.n_states)]), P, atol=1e-14)
    # marginal over all agents, averaged with the policy, is the global one-step value
    v = np.random.default_rng(4).normal(size=op.n_states)
    for i, (table, Qbar) in enumerate(zip(op.probabilities(), op.marginal(v, 0.7, 0.1))):
        Z = table[op.state_of_agent(i)]
        assert_allclose((Z * Qbar).sum(axis=1), r.mean(axis=1) + 0.1 + 0.7 * P @ v, atol=1e-13)


def test_tag_dispatch_and_private_access_are_gone():
    """The review's §1.2/§2.6 findings, as a regression check on the source."""
    import pathlib

    import netmarl_verify.solvers.exact as ex

    root = pathlib.Path(ex.__file__).parent
    for f in sorted(root.glob("*.py")):
        text = f.read_text()
        for bad in ("model.kind ==", "hasattr(model", "model._paths", "._gather", "ev._solver", "._check_agent(agent)"):
            assert bad not in text, f"{f.name} still contains {bad!r}"
        if f.name != "_contract.py":
            assert "ascii_letters" not in text, f"{f.name} builds einsum labels itself"


def test_require_aperiodic_and_visitation():
    from netmarl_verify.solvers.exact import PeriodicChainError, evaluate_policy

    flip = TabularMDP(np.array([[[0.0, 1.0]], [[1.0, 0.0]]]), np.array([[1.0], [0.0]]))
    ev = evaluate_policy(flip, np.ones((2, 1)))
    with pytest.raises(PeriodicChainError, match="period 2"):
        ev.require_aperiodic()
    assert evaluate_policy(flip, np.ones((2, 1)), periodic="cesaro").require_aperiodic() is not None
    with pytest.raises(ValueError, match="discounted"):
        ev.visitation(np.array([0.5, 0.5]))
    mdp, pol = _tabular()
    evd = evaluate_policy(mdp, pol, 0.8)
    mu = np.full(mdp.n_states, 1.0 / mdp.n_states)
    P, _ = _dense_chain(mdp, pol)
    assert_allclose(evd.visitation(mu), np.linalg.solve(np.eye(mdp.n_states) - 0.8 * P.T, mu), atol=1e-12)
    assert "visitation: |(I - gamma P^T) lam - mu0|_inf" in evd.residuals


# ---------------------------------------------------------------------------- rewards= override
@pytest.mark.parametrize("case", _operator_cases())
@pytest.mark.parametrize("gamma", [None, 0.9])
def test_rewards_equal_to_the_models_own_are_bit_identical(case, gamma):
    from netmarl_verify.solvers.exact import evaluate_policy

    mdp, pol = _case(case)
    ev = evaluate_policy(mdp, pol, gamma)
    ev2 = evaluate_policy(mdp, pol, gamma, rewards=ev.rewards.copy())
    ev3 = evaluate_policy(mdp, pol, gamma, rewards=lambda states: ev.rewards.copy())
    for other in (ev2, ev3):
        assert other.custom_rewards
        assert np.array_equal(other.values, ev.values)
        if gamma is None:
            assert np.array_equal(other.stationary, ev.stationary)
            assert np.array_equal(other.J_local, ev.J_local)


@pytest.mark.parametrize("case", _operator_cases())
@pytest.mark.parametrize("gamma", [None, 0.9])
def test_a_different_reward_table_matches_a_dense_solve(case, gamma):
    from netmarl_verify.solvers.exact import evaluate_policy

    mdp, pol = _case(case)
    P, r = _dense_chain(mdp, pol)
    shadow = np.random.default_rng(5).normal(size=r.shape)
    ev = evaluate_policy(mdp, pol, gamma, rewards=shadow)
    N = P.shape[0]
    if gamma is None:
        d = ref.stationary(P)
        J = d @ shadow
        assert_allclose(ev.J_local, J, atol=1e-12)
        # bias: (I - P) h = r - J with d^T h = 0, by a least-squares solve of the stacked system
        A = np.vstack([np.eye(N) - P, d[None, :]])
        h = np.linalg.lstsq(A, np.vstack([shadow - J[None, :], np.zeros((1, r.shape[1]))]), rcond=None)[0]
        assert_allclose(ev.values, h, atol=1e-11)
    else:
        assert_allclose(ev.values, np.linalg.solve(np.eye(N) - gamma * P, shadow), atol=1e-11)
    with pytest.raises(ValueError, match="rewards="):
        ev.q_local(np.zeros((1, getattr(mdp, "n", 1)), int)[:, : 1 if isinstance(mdp, TabularMDP) else None],
                   np.zeros((1, getattr(mdp, "n", 1)), int)[:, : 1 if isinstance(mdp, TabularMDP) else None])


def test_rewards_override_is_validated():
    from netmarl_verify.solvers.exact import evaluate_policy, policy_gradient

    mdp, pol = _networked("local")
    with pytest.raises(ValueError, match=r"rewards must have shape \(\|S\|, n\) = \(12, 3\)"):
        evaluate_policy(mdp, pol, rewards=np.zeros((12, 2)))
    with pytest.raises(ValueError, match="non-finite"):
        evaluate_policy(mdp, pol, rewards=np.full((12, 3), np.nan))
    ev = evaluate_policy(mdp, pol, rewards=np.ones((12, 3)))
    assert_allclose(ev.J_local, 1.0, atol=1e-14)
    with pytest.raises(ValueError, match="policy_gradient needs the reward of every state-action pair"):
        policy_gradient(mdp, pol, evaluation=ev)


# ---------------------------------------------------------------------------- derived kernel
@pytest.mark.parametrize("case", _operator_cases())
def test_restart_operator_matches_the_dense_restart_matrix(case):
    from netmarl_verify.solvers.exact._operator import PolicyOperator, RestartOperator, as_operator

    mdp, pol = _case(case)
    op = as_operator(mdp, pol)
    P, r = _dense_chain(mdp, pol)
    g, s0 = 0.7, 1
    R = g * P
    R[:, s0] += 1 - g
    rop = RestartOperator(op, g, s0)
    assert isinstance(rop, PolicyOperator)
    rng = np.random.default_rng(6)
    v, V = rng.normal(size=op.n_states), rng.normal(size=(op.n_states, 2))
    assert_allclose(rop.matvec(v), R @ v, atol=1e-13)
    assert_allclose(rop.matvec(V), R @ V, atol=1e-13)
    assert_allclose(rop.rmatvec(v), R.T @ v, atol=1e-13)
    assert_allclose(rop.rmatvec(V), R.T @ V, atol=1e-13)
    assert_allclose(rop.dense_rows(0, op.n_states), R, atol=1e-14)
    assert np.array_equal(rop.support().toarray(), R > 0)
    for name in ("dense", "sparse"):
        M = _backends.get_backend(name).transition_matrix(rop)
        assert_allclose(np.asarray(M.todense() if hasattr(M, "todense") else M), R, atol=1e-14)
    for i, (table, Qbar) in enumerate(zip(rop.probabilities(), rop.marginal(v, 0.5, 0.2))):
        Z = table[rop.state_of_agent(i)]
        assert_allclose((Z * Qbar).sum(axis=1), r.mean(axis=1) + 0.2 + 0.5 * R @ v, atol=1e-13)


# ---------------------------------------------------------------------------- evaluate_policy(operator=)
def _stationary_by_hand(R):
    """d with d^T R = d^T, sum d = 1, by a dense least-squares solve of the stacked system."""
    N = R.shape[0]
    A = np.vstack([(np.eye(N) - R).T, np.ones((1, N))])
    b = np.zeros(N + 1)
    b[N] = 1.0
    return np.linalg.lstsq(A, b, rcond=None)[0]


@pytest.mark.parametrize("backend", ["dense", "sparse"])
@pytest.mark.parametrize("case", _operator_cases())
def test_evaluate_policy_on_the_restart_operator_end_to_end(case, backend):
    from netmarl_verify.solvers.exact import RestartOperator, discounted_visitation, evaluate_policy
    from netmarl_verify.solvers.exact._operator import as_operator

    mdp, pol = _case(case)
    P, r = _dense_chain(mdp, pol)  # brute force, from the joint tables
    g, s0 = 0.7, 1
    R = g * P  # zhang2025's restart kernel, by hand
    R[:, s0] += 1 - g
    ev = evaluate_policy(operator=RestartOperator(as_operator(mdp, pol), g, s0), backend=backend)
    assert ev.backend == backend and ev.period == 1
    M = ev.P.toarray() if hasattr(ev.P, "toarray") else ev.P
    assert_allclose(M, R, atol=1e-14)
    # route 1: a dense solve of the hand-built restart matrix
    d = _stationary_by_hand(R)
    assert_allclose(ev.stationary, d, atol=1e-12)
    assert_allclose(ev.J_local, d @ r, atol=1e-12)
    assert_allclose(ev.values - R @ ev.values, r - (d @ r)[None, :], atol=1e-11)  # Poisson equation of R
    assert_allclose(d @ ev.values, 0.0, atol=1e-12)
    # route 2, closed form: stationary of gamma P + (1-gamma) 1 e_s0^T = (1-gamma) x visitation from s0
    e0 = np.zeros(P.shape[0])
    e0[s0] = 1.0
    assert_allclose(ev.stationary, discounted_visitation(mdp, pol, g, e0, backend=backend), atol=1e-12)
    assert_allclose(ev.stationary, (1 - g) * np.linalg.solve(np.eye(P.shape[0]) - g * P.T, e0), atol=1e-12)
    # discounted evaluation of the restart kernel: V = (I - beta R)^{-1} r
    evd = evaluate_policy(operator=RestartOperator(as_operator(mdp, pol), g, s0), gamma=0.6, backend=backend)
    assert_allclose(evd.values, np.linalg.solve(np.eye(P.shape[0]) - 0.6 * R, r), atol=1e-11)


def test_evaluate_policy_operator_gives_q_at_pairs_of_the_restart_kernel():
    from netmarl_verify.solvers.exact import RestartOperator, evaluate_policy
    from netmarl_verify.solvers.exact._operator import as_operator

    mdp, pol = _networked("local", graph=nx.path_graph(3), S=(2, 3, 2), A=(2, 1, 3), seed=2)
    op = as_operator(mdp, pol)
    rop = RestartOperator(op, 0.5, 3)
    ev = evaluate_policy(operator=rop, gamma=0.9)
    st, ac = ref.all_pairs(mdp)
    rows = rop.pair_rows(st, ac)
    assert_allclose(rows, 0.5 * op.pair_rows(st, ac) + 0.5 * (np.arange(op.n_states) == 3)[None, :], atol=1e-15)
    q = ev.q_local(st, ac)
    assert_allclose(q, op.pair_rewards(st, ac) + 0.9 * rows @ ev.values, atol=1e-12)


def test_evaluate_policy_operator_argument_checks():
    from netmarl_verify.solvers.exact import RestartOperator, evaluate_policy, truncated_q
    from netmarl_verify.solvers.exact._operator import as_operator

    mdp, pol = _networked("local", graph=nx.path_graph(3), S=(2, 3, 2), A=(2, 1, 3), seed=2)
    rop = RestartOperator(as_operator(mdp, pol), 0.5, 0)
    with pytest.raises(TypeError, match="not both"):
        evaluate_policy(mdp, pol, operator=rop)
    with pytest.raises(TypeError, match="PolicyOperator"):
        evaluate_policy(operator=np.eye(3))
    ev = evaluate_policy(operator=rop)
    with pytest.raises(TypeError, match="NetworkedMDP"):
        truncated_q(mdp, pol, 0, 1, evaluation=ev)
    # without operator= nothing changes: the same numbers, bit for bit
    a, b = evaluate_policy(mdp, pol), evaluate_policy(mdp, pol, operator=None)
    assert np.array_equal(a.values, b.values) and np.array_equal(a.stationary, b.stationary)
