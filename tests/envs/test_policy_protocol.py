"""The policy protocol (issue 15 item 2): conformance, the one validator, the score contraction,
the one sampler and the one joint-table builder; and the solvers' general route for a policy that
observes a neighbour (compiled to a joint table for the brute-force reference)."""

import itertools

import networkx as nx
import numpy as np
import pytest
from numpy.testing import assert_allclose, assert_array_equal

from netmarl_verify.envs import (
    LocalPolicySampler,
    LocalSoftmaxPolicy,
    LocalTabularPolicy,
    ModelValidationError,
    Parametrised,
    Policy,
    PolicyTables,
    RowSumError,
    ScoreWeights,
    ShapeError,
    TabularMDP,
    TabularSoftmaxPolicy,
    categorical_thresholds,
    check_policy,
    joint_policy_table,
    observed_rows,
    product_table,
    random_networked_mdp,
    sample_categorical,
)
from _observing_policy import ObservingSoftmax


@pytest.fixture
def mdp():
    return random_networked_mdp(nx.path_graph(3), [2, 3, 2], [2, 3, 2], rng=4)


# ---------------------------------------------------------------------------- conformance
def test_every_policy_class_conforms(mdp):
    soft = LocalSoftmaxPolicy.random(mdp, 1)
    tab = LocalTabularPolicy(soft.probabilities())
    glob = TabularSoftmaxPolicy(np.zeros((mdp.n_states, mdp.n_actions)))
    for pol in (soft, tab, glob, ObservingSoftmax(mdp, [(0, 1), (1,), (1, 2)])):
        assert isinstance(pol, Policy)
    assert isinstance(soft, Parametrised) and isinstance(glob, Parametrised)
    assert not isinstance(tab, Parametrised)  # nothing to differentiate
    assert [soft.observed(i) for i in range(3)] == [(0,), (1,), (2,)]
    assert [tab.observed(i) for i in range(3)] == [(0,), (1,), (2,)]
    assert glob.observed(0) == (0,)  # the single agent reads the global state
    with pytest.raises(ValueError, match="agent must be in 0..2, got 3"):
        soft.observed(3)
    states = mdp.state_tuples()[[0, 5, 11]]
    for pol in (soft, tab):
        w = pol.action_weights(states)
        for i in range(3):
            assert_array_equal(w[i], pol.probabilities()[i][states[:, i]])
    assert_array_equal(glob.action_weights(np.array([3, 1]))[0], glob.table()[[3, 1]])


# ---------------------------------------------------------------------------- check_policy
def test_check_policy_returns_the_tables(mdp):
    soft = LocalSoftmaxPolicy.random(mdp, 1)
    tables = check_policy(mdp, soft)
    assert isinstance(tables, PolicyTables) and tables.local
    assert tables.observed == ((0,), (1,), (2,))
    for t, p in zip(tables, soft.probabilities()):
        assert_array_equal(t, p)
    tab = check_policy(mdp.to_tabular(), np.full((mdp.n_states, mdp.n_actions), 1.0 / mdp.n_actions))
    assert tab.observed == ((0,),) and tab[0].shape == (mdp.n_states, mdp.n_actions)
    obs = check_policy(mdp, ObservingSoftmax(mdp, [(0, 1), (1,), (1, 2)]))
    assert [t.shape for t in obs] == [(6, 2), (3, 3), (6, 2)] and not obs.local


def test_local_tabular_policy_checks_the_number_of_agents(mdp):
    # the fix of issue 15: LocalTabularPolicy.check never compared the number of agents
    probs = LocalSoftmaxPolicy.random(mdp, 1).probabilities()
    with pytest.raises(ShapeError, match="the policy has 2 agents but the MDP has 3"):
        LocalTabularPolicy(probs[:2]).check(mdp)
    with pytest.raises(ShapeError, match="the policy has 2 agents but the MDP has 3"):
        from netmarl_verify.solvers.exact import evaluate_policy

        evaluate_policy(mdp, LocalTabularPolicy(probs[:2]))
    with pytest.raises(ShapeError, match=r"probs\[1\] \(agent 1\) has shape \(2, 2\), the MDP needs \(3, 3\)"):
        LocalTabularPolicy([probs[0], np.full((2, 2), 0.5), probs[2]]).check(mdp)


@pytest.mark.parametrize("policy, error, message", [
    (lambda m: LocalSoftmaxPolicy([np.zeros((2, 2)), np.zeros((2, 2)), np.zeros((2, 2))]), ShapeError,
     r"logits\[1\] \(agent 1\) has shape \(2, 2\), the MDP needs \(3, 3\)"),
    (lambda m: [np.full((2, 2), 0.5)], ShapeError, "the policy has 1 agents but the MDP has 3"),
    (lambda m: [np.full((2, 2), 0.5), np.full((3, 3), 0.5), np.full((2, 2), 0.5)], RowSumError,
     r"policy table 1 \(agent 1\)"),
    (lambda m: [np.full((2, 2), 0.5 + 0j)] * 3, ModelValidationError, r"policy table 0 \(agent 0\) must be real"),
    (lambda m: "uniform", TypeError, "policy must be a LocalSoftmaxPolicy"),
    (lambda m: ObservingSoftmax(m, [(1, 0), (1,), (2,)]), ValueError,
     r"policy.observed\(0\) = \(1, 0\) must be sorted"),
])
def test_check_policy_messages_name_the_agent(mdp, policy, error, message):
    with pytest.raises(error, match=message):
        check_policy(mdp, policy(mdp))


def test_check_policy_on_a_tabular_mdp(mdp):
    tab = mdp.to_tabular()
    with pytest.raises(TypeError, match="a LocalSoftmaxPolicy needs a NetworkedMDP"):
        check_policy(tab, LocalSoftmaxPolicy.uniform(mdp))
    with pytest.raises(ShapeError, match=r"policy logits have shape \(2, 2\), the MDP needs"):
        check_policy(tab, TabularSoftmaxPolicy(np.zeros((2, 2))))
    with pytest.raises(RowSumError, match=r"policy\[s, :\]"):
        check_policy(tab, np.full((tab.n_states, tab.n_actions), 0.5))


def test_the_environment_is_named_for_simulation():
    from netmarl_verify.envs import WirelessNetwork

    net = WirelessNetwork(1, 2)
    with pytest.raises(ShapeError, match="the policy has 1 agents but the environment has 2"):
        check_policy(net, [np.full((net.state_sizes[0], net.action_sizes[0]), 1.0 / net.action_sizes[0])])


# ---------------------------------------------------------------------------- score_contract
def _log_pi(policy, mdp, theta):
    """log pi(a|s) on global indices (joint), for any product policy."""
    return np.log(joint_policy_table(mdp, policy.with_flat(theta)))


@pytest.mark.parametrize("kind", ["local", "observing", "tabular"])
def test_score_contract_is_the_derivative_of_the_weighted_log_policy(mdp, kind):
    g = np.random.default_rng(7)
    if kind == "local":
        pol = LocalSoftmaxPolicy.random(mdp, 2)
    elif kind == "observing":
        pol = ObservingSoftmax(mdp, [(0, 1), (1,), (0, 1, 2)], rng=3)
    else:
        tab = TabularMDP(np.full((5, 3, 5), 0.2), np.zeros((5, 3)))
        pol = TabularSoftmaxPolicy(g.normal(size=(5, 3)))
    if kind == "tabular":
        nS, shape = 5, (5,)
        pi0 = pol.table()
        logpi = lambda th: np.log(pol.with_flat(th).table())  # noqa: E731
    else:
        nS, shape = mdp.n_states, tuple(mdp.state_sizes)
        pi0 = joint_policy_table(mdp, pol)
        logpi = lambda th: _log_pi(pol, mdp, th)  # noqa: E731
    d = g.uniform(size=nS)
    Q = g.normal(size=pi0.shape)  # Q(s, a), joint
    if kind == "tabular":
        qbar = [Q]
    else:  # agent-marginal Qbar_i(s, b) = E_{a_-i ~ pi}[Q(s, (b, a_-i))]
        A = mdp.action_sizes
        acts = mdp.action_tuples()
        qbar = []
        for i in range(mdp.n):
            qi = np.zeros((nS, A[i]))
            for b in range(A[i]):
                sel = acts[:, i] == b
                zi = pol.probabilities()[i][observed_rows(pol.observed(i), mdp.state_tuples(), mdp.state_sizes), b]
                qi[:, b] = (pi0[:, sel] * Q[:, sel]).sum(axis=1) / zi
            qbar.append(qi)
    grad = np.concatenate([x.ravel() for x in pol.score_contract(ScoreWeights(d, qbar, shape))])
    f = lambda th: float((d[:, None] * pi0 * Q * logpi(th)).sum())  # noqa: E731
    theta, eps = pol.flat(), 1e-6
    fd = np.array([(f(theta + eps * e) - f(theta - eps * e)) / (2 * eps) for e in np.eye(theta.size)])
    assert_allclose(grad, fd, rtol=1e-6, atol=1e-8)
    assert [x.shape for x in pol.score_contract(ScoreWeights(d, qbar, shape))] == [t.shape for t in pol.logits]


# ---------------------------------------------------------------------------- the sampler
def _interval_reference(p, u):
    """Action k iff cdf_{k-1} <= u < cdf_k on the exact rational cumulative sums (positive mass only)."""
    c = np.cumsum(p)
    for k in range(len(p)):
        lo = c[k - 1] if k else 0.0
        if p[k] > 0 and lo <= u < c[k]:
            return k
    return int(np.flatnonzero(c < c[-1]).size)  # u beyond the rounded total: the last surviving action


def test_a_trailing_zero_mass_action_is_never_drawn():
    p = np.array([1.0 / 7] * 7 + [0.0])
    cdf = np.cumsum(p)
    assert cdf[-1] < np.nextafter(1.0, 0.0)  # the rounding this test is about: room for u above the total
    for u in (cdf[-1], np.nextafter(1.0, 0.0), np.nextafter(cdf[-1], 1.0)):
        assert sample_categorical(cdf, u) == 6
        assert (u >= categorical_thresholds(cdf)).sum() == 6
    # the conventions replaced here: `u > cdf` clamped to A - 1 returns the zero-mass action 7
    assert min(int((np.nextafter(1.0, 0.0) > cdf).sum()), 7) == 7


def test_leading_and_middle_zero_mass_actions_are_never_drawn():
    p = np.array([0.0, 0.5, 0.0, 0.5])
    cdf = np.cumsum(p)
    assert sample_categorical(cdf, 0.0) == 1  # `u > cdf` would return the zero-mass action 0
    assert sample_categorical(cdf, 0.5) == 3  # a tie goes to the next action with mass
    assert sample_categorical(cdf, np.nextafter(0.5, 0.0)) == 1


def test_the_three_samplers_agree_with_the_reference():
    g = np.random.default_rng(11)
    B, S, A = 400, 3, 4
    logits = [g.normal(size=(S, A)) for _ in range(2)]
    logits[1][1, 2:] = -1e4  # exp underflows: two trailing actions of mass exactly 0
    pol = LocalSoftmaxPolicy(logits)
    probs = pol.probabilities()
    assert probs[1][1, 3] == 0.0
    states = g.integers(0, S, size=(B, 2))
    u = g.random((B, 2))
    u[:8] = np.cumsum(probs[0][states[:8, 0]], axis=1)[:, 0][:, None]  # exact ties
    ref = np.array([[_interval_reference(probs[i][states[b, i]], u[b, i]) for i in range(2)] for b in range(B)])
    assert_array_equal(LocalPolicySampler(pol).sample_from_uniforms(states, u), ref)
    from netmarl_verify.solvers.sampled._actor import SoftmaxActor

    actor = SoftmaxActor([np.broadcast_to(t, (B, S, A)) for t in logits], (S, S), (A, A), [(0,), (1,)])
    assert_array_equal(actor.draw(states, u), ref)
    # LocalSoftmaxPolicy.sample draws u = rng.random((B, n)) the same way
    rng_u = np.random.default_rng(5).random((B, 2))
    ref2 = np.array([[_interval_reference(probs[i][states[b, i]], rng_u[b, i]) for i in range(2)] for b in range(B)])
    assert_array_equal(pol.sample(states, np.random.default_rng(5)), ref2)
    assert not np.any(pol.sample(np.tile([0, 1], (B, 1)), 3)[:, 1] >= 2)


def test_padded_actions_of_the_actor_are_never_drawn():
    from netmarl_verify.solvers.sampled._actor import SoftmaxActor

    B = 64
    actor = SoftmaxActor([np.zeros((B, 1, 2)), np.zeros((B, 1, 5))], (1, 1), (2, 5), [(0,), (1,)])
    a = actor.draw(np.zeros((B, 2), dtype=np.int64), np.full((B, 2), np.nextafter(1.0, 0.0)))
    assert_array_equal(a, np.tile([1, 4], (B, 1)))


def test_local_policy_sampler_needs_state_sizes_for_an_observing_policy(mdp):
    with pytest.raises(ValueError, match="observe other agents' states needs state_sizes"):
        LocalPolicySampler(ObservingSoftmax(mdp, [(0, 1), (1,), (2,)]))


def test_local_policy_sampler_reads_the_observed_rows(mdp):
    """Each agent's action is sample_categorical of its observed row, for the same uniforms."""
    pol = ObservingSoftmax(mdp, [(0, 1), (1, 2), (0, 1, 2)])
    sampler = LocalPolicySampler(pol, state_sizes=mdp.state_sizes)
    rng = np.random.default_rng(5)
    S = np.stack([rng.integers(0, k, 400) for k in mdp.state_sizes], axis=1)
    u = rng.random(S.shape)
    got = sampler.sample_from_uniforms(S, u)
    probs = pol.probabilities()
    for i in range(3):
        rows = np.ravel_multi_index(tuple(S[:, k] for k in pol.observed(i)),
                                    tuple(mdp.state_sizes[k] for k in pol.observed(i)))
        assert_array_equal(got[:, i], sample_categorical(np.cumsum(probs[i][rows], axis=1), u[:, i], axis=1))


# ---------------------------------------------------------------------------- the joint table
@pytest.mark.parametrize("observing", [False, True])
def test_joint_table_is_the_brute_force_product(mdp, observing):
    pol = ObservingSoftmax(mdp, [(0, 1), (1, 2), (2,)]) if observing else LocalSoftmaxPolicy.random(mdp, 3)
    table = joint_policy_table(mdp, pol)
    probs = pol.probabilities()
    for s, a in itertools.product(range(mdp.n_states), range(mdp.n_actions)):
        sl, al = mdp.state_tuples([s])[0], mdp.action_tuples([a])[0]
        want = 1.0
        for i in range(mdp.n):
            row = np.ravel_multi_index(tuple(sl[k] for k in pol.observed(i)),
                                       tuple(mdp.state_sizes[k] for k in pol.observed(i)))
            want *= probs[i][row, al[i]]
        assert table[s, a] == pytest.approx(want, rel=1e-14)
    if not observing:
        assert_array_equal(pol.joint_table(mdp), table)
    assert_array_equal(product_table([np.array([[0.5, 0.5]]), np.array([[0.2, 0.8]])]), [[0.1, 0.4, 0.1, 0.4]])
