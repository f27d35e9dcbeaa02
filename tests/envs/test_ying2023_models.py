"""ying2023 models: κ-hop softmax policies, the communication graph, mixture kernels, the families."""

import itertools

import networkx as nx
import numpy as np
import pytest
from numpy.testing import assert_allclose, assert_array_equal

from netmarl_verify import envs
from netmarl_verify.envs import (
    KHopSoftmaxPolicy,
    LocalSoftmaxPolicy,
    NetworkedMDP,
    check_policy,
    joint_policy_table,
    mixture_influence,
    mixture_networked_mdp,
    random_networked_mdp,
    simulate,
)
from netmarl_verify.solvers.exact import (
    discounted_occupancy,
    finite_difference_gradient,
    objective,
    policy_gradient,
    q_function,
)


@pytest.fixture
def line4():
    return random_networked_mdp(nx.path_graph(4), 2, 2, rng=3)


# ---------------------------------------------------------------------------- the policy
def test_khop_policy_observes_the_kappa_hop_neighbourhood(line4):
    pol = KHopSoftmaxPolicy.random(line4, 1, rng=0)
    assert [pol.observed(i) for i in range(4)] == [(0, 1), (0, 1, 2), (1, 2, 3), (2, 3)]
    assert pol.logits[1].shape == (2, 2, 2, 2)
    tables = check_policy(line4, pol)
    assert tables.observed == ((0, 1), (0, 1, 2), (1, 2, 3), (2, 3))
    assert [t.shape for t in tables] == [(4, 2), (8, 2), (8, 2), (4, 2)]


def test_khop_policy_validation_names_the_agent(line4):
    with pytest.raises(ValueError, match=r"observed\[1\] = \(0, 2\).*containing 1"):
        KHopSoftmaxPolicy([np.zeros((2, 2)), np.zeros((2, 2, 2))], [(0,), (0, 2)])
    with pytest.raises(envs.ShapeError, match=r"logits\[0\] \(agent 0\) must have 3 axes"):
        KHopSoftmaxPolicy([np.zeros((2, 2)), np.zeros((2, 2))], [(0, 1), (1,)])
    bad = KHopSoftmaxPolicy.uniform(line4, 1)
    with pytest.raises(envs.ShapeError, match="agent"):
        check_policy(random_networked_mdp(nx.path_graph(4), 3, 2, rng=0), bad)


def test_from_local_gives_the_same_exact_answers(line4):
    """A local policy written in the κ-hop class: identical joint table, values and gradient sums."""
    loc = LocalSoftmaxPolicy.random(line4, rng=2)
    kh = KHopSoftmaxPolicy.from_local(loc, line4, 2)
    assert_allclose(joint_policy_table(line4, kh), joint_policy_table(line4, loc), rtol=0, atol=1e-15)
    S = np.array([[0, 1, 0, 1], [1, 1, 0, 0]])
    A = np.array([[1, 0, 0, 1], [0, 0, 1, 1]])
    assert_allclose(q_function(line4, kh, S, A, agent=2, gamma=0.8), q_function(line4, loc, S, A, agent=2, gamma=0.8),
                    rtol=0, atol=1e-12)
    # the gradient w.r.t. the broadcast logits sums (over the extra observed axes) to the local gradient
    g_loc = policy_gradient(line4, loc, gamma=0.8)
    g_kh = policy_gradient(line4, kh, gamma=0.8)
    for i in range(4):
        o = kh.observed(i)
        summed = g_kh[i].sum(axis=tuple(q for q, k in enumerate(o) if k != i))
        assert_allclose(summed, g_loc[i], rtol=0, atol=1e-12)


def test_khop_gradient_matches_central_differences(line4):
    pol = KHopSoftmaxPolicy.random(line4, 1, rng=4)
    xi = np.random.default_rng(0).dirichlet(np.ones(line4.n_states))
    g = np.concatenate([x.ravel() for x in policy_gradient(line4, pol, gamma=0.7, initial=xi)])
    U, fd = finite_difference_gradient(lambda p: objective(line4, p, gamma=0.7, initial=xi), pol, rng=1,
                                       n_directions=6, eps=1e-5)
    # central differences: truncation O(eps^2 |f'''|) ~ 1e-10 for values O(1/(1-gamma)), rounding ~ 1e-16/1e-5
    assert_allclose(U @ g, fd, rtol=0, atol=1e-8)


def test_khop_sampling_frequencies_match_the_policy(line4):
    """Monte-Carlo frequencies of the sampler vs the exact table, within 5 standard errors."""
    pol = KHopSoftmaxPolicy.random(line4, 1, rng=7, scale=1.5)
    S = np.tile(np.array([[1, 0, 1, 1]]), (40000, 1))
    a = pol.sample(S, np.random.default_rng(11))
    probs = pol.probabilities()
    for i in range(4):
        row = np.ravel_multi_index(tuple(S[0, k] for k in pol.observed(i)), (2,) * len(pol.observed(i)))
        p = probs[i][row, 1]
        se = np.sqrt(p * (1 - p) / S.shape[0])
        assert abs(a[:, i].mean() - p) < 5 * se


def test_simulate_runs_a_khop_policy(line4):
    pol = KHopSoftmaxPolicy.random(line4, 1, rng=1)
    roll = simulate(line4, pol, 5, rng=0, batch=8)
    assert roll.final_states.shape == (8, 4)


# ---------------------------------------------------------------------------- communication graph
def test_communication_graph_sets_distances_not_neighbourhoods():
    comm = nx.path_graph(4)
    full = nx.complete_graph(4)
    P = [np.full((2,) * 4 + (1, 2), 0.5) for _ in range(4)]
    R = [np.zeros((2, 1)) for _ in range(4)]
    mdp = NetworkedMDP(full, P, R, transition_form="local", reward_form="local", communication_graph=comm)
    assert mdp.neighbourhoods[0] == (0, 1, 2, 3)
    assert mdp.kappa_hop(0, 1) == (0, 1)
    assert mdp.distances[0, 3] == 3
    assert mdp.with_rewards([np.ones((2, 1))] * 4).distances[0, 3] == 3
    with pytest.raises(ValueError, match="communication_graph has 3 nodes"):
        NetworkedMDP(full, P, R, transition_form="local", reward_form="local", communication_graph=nx.path_graph(3))


# ---------------------------------------------------------------------------- mixture kernels
def test_mixture_kernel_rows_are_the_mixture_and_the_influence_is_the_closed_form():
    rng = np.random.default_rng(0)
    n = 3
    W = rng.dirichlet(np.ones(n), size=n)
    W[0, 2] = 0.0
    W[0] /= W[0].sum()
    K = [[rng.dirichlet(np.ones(2), size=(2, 2)) for _ in range(n)] for _ in range(n)]
    R = [rng.random((2, 2)) for _ in range(n)]
    mdp = mixture_networked_mdp(nx.path_graph(n), W, K, R)
    P = mdp.to_tabular().P
    # brute force: the global kernel is the product of the mixtures, every (s, a, s')
    brute_M = np.zeros((n, n))
    for si, ai in itertools.product(range(mdp.n_states), range(mdp.n_actions)):
        s, a = mdp.state_tuples([si])[0], mdp.action_tuples([ai])[0]
        want = 1.0
        for sp in range(mdp.n_states):
            nxt = mdp.state_tuples([sp])[0]
            want = np.prod([sum(W[i, j] * K[i][j][s[j], a[j], nxt[i]] for j in range(n)) for i in range(n)])
            assert P[si, ai, sp] == pytest.approx(want, abs=1e-14)
    # influence: vary (s_j, a_j) jointly, everything else fixed, TV = half l1 of P_i's row
    for i, j in itertools.product(range(n), range(n)):
        best = 0.0
        for rest in itertools.product(range(2), repeat=2 * n):
            s, a = np.array(rest[:n]), np.array(rest[n:])
            row = sum(W[i, k] * K[i][k][s[k], a[k]] for k in range(n))
            for sj, aj in itertools.product(range(2), range(2)):
                s2, a2 = s.copy(), a.copy()
                s2[j], a2[j] = sj, aj
                row2 = sum(W[i, k] * K[i][k][s2[k], a2[k]] for k in range(n))
                best = max(best, 0.5 * np.abs(row - row2).sum())
        brute_M[i, j] = best
    assert_allclose(mixture_influence(W, K), brute_M, rtol=0, atol=1e-14)
    assert mdp.kappa_hop(0, 1) == (0, 1) and mdp.neighbourhoods[0] == (0, 1, 2)  # w_20 > 0 links 0 and 2


def test_mixture_validation_names_the_kernel():
    W = np.full((2, 2), 0.5)
    K = [[np.full((2, 2, 2), 0.5), np.full((2, 3, 2), 0.5)], [np.full((2, 2, 2), 0.5)] * 2]
    with pytest.raises(envs.ShapeError, match=r"kernels\[0\]\[1\] must have shape"):
        mixture_networked_mdp(nx.path_graph(2), W, K, [np.zeros((2, 2))] * 2)
    with pytest.raises(envs.ModelValidationError, match="weights"):
        mixture_networked_mdp(nx.path_graph(2), np.array([[0.5, 0.6], [0.5, 0.5]]), K, [np.zeros((2, 2))] * 2)


# ---------------------------------------------------------------------------- families
@pytest.mark.parametrize("make", [
    lambda: envs.relay(2, 0.9, 0.05), lambda: envs.relay(1, 0.5, 0.1, couple=0.01), lambda: envs.xor_relay(2),
    lambda: envs.ying_copy_chain(4, signed=True, rng=0), lambda: envs.lemma3_absorbing(0.9, 0.1, 0.0),
    lambda: envs.lemma3_absorbing(sigmoid=(0.2, 3.0)), lambda: envs.mixture_line(4, 1.0, rng=0),
    lambda: envs.random_khop(5, 2, couple=0.2, rng=1), lambda: envs.transient_entropy(0.01, rng=2),
    lambda: envs.coordination_pair(rng=0), lambda: envs.linemsg(4)])
def test_every_family_is_a_valid_reproducible_instance(make):
    a, b = make(), make()
    assert a.initial.shape == (a.mdp.n_states,) and a.initial.sum() == pytest.approx(1.0, abs=1e-14)
    lam = discounted_occupancy(a.mdp, a.policy, a.gamma, a.initial)
    assert lam.sum() == pytest.approx(1.0 / (1.0 - a.gamma), rel=1e-12)
    assert_array_equal(joint_policy_table(a.mdp, a.policy), joint_policy_table(b.mdp, b.policy))


def test_relay_policy_reads_the_far_agent():
    inst = envs.relay(2, eps=0.1)
    pol, mdp = inst.policy, inst.mdp
    assert pol.observed(1) == (0, 1, 2, 3)  # d(1, 3) = 2 = kappa
    tab = joint_policy_table(mdp, pol)
    s = mdp.state_index([[0, 0, 0, 1]])[0]
    # a_1 = s_3 = 1 w.p. 0.9, a_0 = s_1 = 0 w.p. 0.9, agents 2, 3 play 0 w.p. 0.9
    a = mdp.action_index([[0, 1, 0, 0]])[0]
    assert tab[s, a] == pytest.approx(0.9**4, rel=1e-12)


def test_transient_state_visitation_is_policy_free():
    inst = envs.transient_entropy(p=0.1, n=2, gamma=0.9)
    for seed in range(3):
        pol = LocalSoftmaxPolicy.random(inst.mdp, rng=seed)
        lam = discounted_occupancy(inst.mdp, pol, inst.gamma, inst.initial)
        d0 = (1 - inst.gamma) * lam.reshape(3, 3, -1).sum(axis=(1, 2))
        assert d0[1] == pytest.approx((1 - inst.gamma) * 0.1, rel=1e-12)
