"""Models: validation messages, index conventions, compilation to tables, simulator, softmax."""

import networkx as nx
import numpy as np
import pytest
from numpy.testing import assert_allclose, assert_array_equal

from netmarl_verify.envs import (
    LocalSoftmaxPolicy,
    MemoryBudgetError,
    NegativeProbabilityError,
    NetworkedMDP,
    NonFiniteError,
    RowSumError,
    ShapeError,
    TabularMDP,
    TabularSoftmaxPolicy,
    check_policy_table,
    random_networked_mdp,
    softmax,
)


def _uniform_rows(shape):
    return np.full(shape, 1.0 / shape[-1])


def _path2_local():
    """Valid 2-agent path instance, S = (2, 3), A = (2, 1), local forms (arrays to corrupt)."""
    P = [_uniform_rows((2, 3, 2, 2)), _uniform_rows((2, 3, 1, 3))]
    R = [np.zeros((2, 2)), np.zeros((3, 1))]
    return P, R


def _build(P, R, graph=None, **kw):
    kw.setdefault("transition_form", "local")
    kw.setdefault("reward_form", "local")
    return NetworkedMDP(nx.path_graph(2) if graph is None else graph, P, R, **kw)


# ---------------------------------------------------------------------------- NetworkedMDP validation
def test_valid_instance_sizes():
    mdp = _build(*_path2_local())
    assert mdp.state_sizes == (2, 3)
    assert mdp.action_sizes == (2, 1)
    assert (mdp.n_states, mdp.n_actions) == (6, 2)
    assert mdp.neighbourhoods == ((0, 1), (0, 1))


def test_wrong_shape_names_agent_and_axis():
    P, R = _path2_local()
    P[1] = _uniform_rows((2, 2, 1, 3))  # axis 1 is s_1, which has 3 states
    with pytest.raises(ShapeError, match=r"transitions\[1\] \(agent 1\) has length 2 along axis 1 \(s_1\)"):
        _build(P, R)


def test_wrong_number_of_axes_names_agent():
    P, R = _path2_local()
    P[0] = _uniform_rows((2, 2, 2))  # N_0 = (0, 1) needs 4 axes
    with pytest.raises(ShapeError, match=r"transitions\[0\] \(agent 0, transition_form='local'\) must have 4 axes"):
        _build(P, R)


def test_neighbourhood_form_wrong_axes_names_agent():
    P, R = _path2_local()
    with pytest.raises(ShapeError, match=r"transitions\[0\] \(agent 0, transition_form='neighbourhood'\) must have 5"):
        _build(P, R, transition_form="neighbourhood")


def test_neighbourhood_form_wrong_action_axis_names_it():
    # N_0 = (0, 1): axes s_0, s_1, a_0, a_1, s_0'. a_1 must have A_1 = 1 entry; A_1 is read from
    # P_1's own action axis.
    P = [_uniform_rows((2, 3, 2, 2, 2)), _uniform_rows((2, 3, 2, 1, 3))]
    R = [np.zeros((2, 2)), np.zeros((3, 1))]
    with pytest.raises(ShapeError, match=r"transitions\[0\] \(agent 0\) has length 2 along axis 3 \(a_1\)"):
        _build(P, R, transition_form="neighbourhood")


def test_reward_wrong_shape_names_agent():
    P, R = _path2_local()
    R[1] = np.zeros((3, 2))
    with pytest.raises(ShapeError, match=r"rewards\[1\] \(agent 1\) has length 2 along axis 1 \(a_1\)"):
        _build(P, R)


def test_neighbourhood_reward_shape():
    P, R = _path2_local()
    R[0] = np.zeros((2, 3, 2))  # needs s_0, s_1, a_0, a_1
    with pytest.raises(ShapeError, match=r"rewards\[0\] \(agent 0\) must have 4 axes"):
        _build(P, R, reward_form="neighbourhood")


def test_nan_transition_names_agent_and_index():
    P, R = _path2_local()
    P[1] = P[1].copy()
    P[1][1, 2, 0, 1] = np.nan
    with pytest.raises(NonFiniteError, match=r"transitions\[1\] \(agent 1.*non-finite entry \S*nan\S* at index \(1, 2, 0, 1\)"):
        _build(P, R)


def test_nan_reward_names_agent_and_index():
    P, R = _path2_local()
    R[0] = R[0].copy()
    R[0][1, 0] = np.inf
    with pytest.raises(NonFiniteError, match=r"rewards\[0\] \(agent 0\) has a non-finite entry \S*inf\S* at index \(1, 0\)"):
        _build(P, R)


def test_negative_probability_names_agent_and_index():
    P, R = _path2_local()
    P[0] = P[0].copy()
    P[0][0, 1, 1] = [1.5, -0.5]  # row still sums to one
    with pytest.raises(NegativeProbabilityError, match=r"transitions\[0\] \(agent 0.*-0\.5\S* at index \(0, 1, 1, 1\)"):
        _build(P, R)


def test_row_sum_names_agent_and_row():
    P, R = _path2_local()
    P[1] = P[1].copy()
    P[1][0, 2, 0] = [0.25, 0.25, 0.25]
    with pytest.raises(RowSumError, match=r"transitions\[1\] \(agent 1.*row \(0, 2, 0\) sums to \S*0\.75\b"):
        _build(P, R)


def test_row_sum_tolerance_is_1e_12():
    P, R = _path2_local()
    P[0] = P[0].copy()
    P[0][1, 0, 0] = [0.5 + 1e-13, 0.5]
    _build(P, R)  # within 1e-12: accepted
    P[0] = P[0].copy()
    P[0][1, 0, 0] = [0.5 + 1e-11, 0.5]
    with pytest.raises(RowSumError, match=r"row \(1, 0, 0\)"):
        _build(P, R)


def test_wrong_number_of_arrays():
    P, R = _path2_local()
    with pytest.raises(ShapeError, match=r"one array per agent \(2\), got 1"):
        _build(P[:1], R)
    with pytest.raises(ShapeError, match=r"rewards must have one array per agent \(2\), got 3"):
        _build(P, R + [R[0]])


def test_zero_states_rejected():
    with pytest.raises(ShapeError, match=r"agent 0 has 0 states"):
        NetworkedMDP(nx.empty_graph(1), [np.zeros((0, 1, 0))], [np.zeros((0, 1))],
                     transition_form="local", reward_form="local")


@pytest.mark.parametrize(
    "graph",
    [nx.path_graph(["a", "b"]), nx.relabel_nodes(nx.path_graph(2), {0: 1, 1: 2}),
     nx.relabel_nodes(nx.path_graph(2), {0: 0.0, 1: 1.0})],
    ids=["strings", "shifted", "floats"],
)
def test_non_integer_nodes_rejected(graph):
    P, R = _path2_local()
    with pytest.raises(ValueError, match=r"graph nodes must be exactly the integers 0\.\.1"):
        _build(P, R, graph=graph)


def test_directed_graph_rejected():
    P, R = _path2_local()
    with pytest.raises(ValueError, match="undirected"):
        _build(P, R, graph=nx.DiGraph([(0, 1)]))


def test_not_a_graph_and_empty_graph_rejected():
    P, R = _path2_local()
    with pytest.raises(TypeError, match="networkx.Graph"):
        _build(P, R, graph=[(0, 1)])
    with pytest.raises(ValueError, match="no nodes"):
        _build([], [], graph=nx.Graph())


def test_transition_form_missing_or_invalid():
    P, R = _path2_local()
    with pytest.raises(TypeError, match="transition_form"):
        NetworkedMDP(nx.path_graph(2), P, R, reward_form="local")
    with pytest.raises(TypeError, match="reward_form"):
        NetworkedMDP(nx.path_graph(2), P, R, transition_form="local")
    with pytest.raises(ValueError, match=r"transition_form must be one of \('local', 'neighbourhood'\), got 'global'"):
        _build(P, R, transition_form="global")
    with pytest.raises(ValueError, match=r"reward_form must be one of"):
        _build(P, R, reward_form="neighborhood")


def test_arrays_are_read_only():
    mdp = _build(*_path2_local())
    with pytest.raises(ValueError):
        mdp.transitions[0][0, 0, 0, 0] = 1.0


def test_constructor_leaves_caller_arrays_writable():
    """Regression: the constructor used to freeze the caller's own float64 arrays."""
    P, R = _path2_local()
    _build(P, R)
    assert P[0].flags.writeable and R[0].flags.writeable


def test_self_loops_ignored():
    g = nx.path_graph(2)
    g.add_edge(0, 0)
    mdp = _build(*_path2_local(), graph=g)
    assert mdp.neighbourhoods == ((0, 1), (0, 1))
    assert mdp.graph.number_of_edges() == 1


def test_neighbourhoods_sorted_ascending():
    # Node 2 of a star centred at 0: N_2 = (0, 2), so agent 2 is *not* first.
    mdp = random_networked_mdp(nx.star_graph(3), 2, 2, rng=0)
    assert mdp.neighbourhoods == ((0, 1, 2, 3), (0, 1), (0, 2), (0, 3))
    assert mdp.transitions[2].shape == (2, 2, 2, 2)


# ---------------------------------------------------------------------------- structure and indices
def test_kappa_hop_on_path():
    mdp = random_networked_mdp(nx.path_graph(5), 2, 1, rng=0)
    assert mdp.kappa_hop(2, 0) == (2,)
    assert mdp.kappa_hop(2, 1) == (1, 2, 3) == mdp.neighbourhoods[2]
    assert mdp.kappa_hop(2, 2) == (0, 1, 2, 3, 4)
    assert mdp.kappa_hop(0, 3) == (0, 1, 2, 3)
    assert mdp.kappa_hop(4, 100) == (0, 1, 2, 3, 4)
    with pytest.raises(ValueError, match="kappa must be >= 0"):
        mdp.kappa_hop(0, -1)
    with pytest.raises(ValueError, match=r"agent must be an integer in 0\.\.4, got 5"):
        mdp.kappa_hop(5, 1)


def test_kappa_hop_disconnected():
    g = nx.Graph([(0, 1), (2, 3)])
    mdp = random_networked_mdp(g, 2, 1, rng=0)
    assert mdp.kappa_hop(1, 10) == (0, 1)
    assert mdp.distances[0, 3] == -1


def test_enumeration_agent0_most_significant():
    mdp = random_networked_mdp(nx.path_graph(3), 2, 2, rng=0)
    assert mdp.state_index([1, 0, 0])[0] == 4
    assert mdp.state_index([0, 0, 1])[0] == 1
    assert mdp.action_index([[0, 1, 1], [1, 1, 0]]).tolist() == [3, 6]
    assert_array_equal(mdp.state_tuples([4, 1]), [[1, 0, 0], [0, 0, 1]])
    assert_array_equal(mdp.state_index(mdp.state_tuples()), np.arange(8))
    assert_array_equal(mdp.action_index(mdp.action_tuples()), np.arange(8))


def test_enumeration_mixed_sizes():
    mdp = random_networked_mdp(nx.path_graph(3), [3, 2, 2], [1, 3, 2], rng=0)
    # (s0, s1, s2) -> s0 * 4 + s1 * 2 + s2
    assert mdp.state_index([2, 1, 0])[0] == 10
    assert mdp.action_index([0, 2, 1])[0] == 5


def test_check_pairs_out_of_range_names_agent():
    mdp = random_networked_mdp(nx.path_graph(3), 2, 2, rng=0)
    with pytest.raises(ValueError, match=r"states\[1, 2\] = 2 is out of range for agent 2"):
        mdp.state_index([[0, 0, 0], [0, 0, 2]])
    with pytest.raises(ShapeError, match=r"shape \(m, n=3\)"):
        mdp.state_index([[0, 0]])
    with pytest.raises(ValueError, match="integer local indices"):
        mdp.state_index([[0.5, 0, 0]])


# ---------------------------------------------------------------------------- compilation to tables
@pytest.mark.parametrize("transition_form", ["local", "neighbourhood"])
@pytest.mark.parametrize("reward_form", ["local", "neighbourhood"])
def test_to_tabular_matches_product_formula(transition_form, reward_form):
    """Every entry of the joint P and R, from the definition (qu2020 eq. (1)) entry by entry."""
    g = nx.path_graph(3)
    mdp = random_networked_mdp(g, [2, 3, 2], [2, 1, 2], rng=1, transition_form=transition_form,
                               reward_form=reward_form)
    tab = mdp.to_tabular()
    assert tab.P.shape == (12, 4, 12)
    for s in range(mdp.n_states):
        sl = np.unravel_index(s, mdp.state_sizes)
        for a in range(mdp.n_actions):
            al = np.unravel_index(a, mdp.action_sizes)
            rewards = []
            for i in range(3):
                Ni = mdp.neighbourhoods[i]
                acts = (al[i],) if reward_form == "local" else tuple(al[j] for j in Ni)
                sts = (sl[i],) if reward_form == "local" else tuple(sl[j] for j in Ni)
                rewards.append(mdp.rewards[i][sts + acts])
            assert tab.R[s, a] == pytest.approx(np.mean(rewards), abs=1e-15)
            for t in range(mdp.n_states):
                tl = np.unravel_index(t, mdp.state_sizes)
                p = 1.0
                for i in range(3):
                    Ni = mdp.neighbourhoods[i]
                    acts = (al[i],) if transition_form == "local" else tuple(al[j] for j in Ni)
                    p *= mdp.transitions[i][tuple(sl[j] for j in Ni) + acts + (tl[i],)]
                assert tab.P[s, a, t] == pytest.approx(p, abs=1e-15)
    assert_allclose(np.mean([mdp.local_reward_table(i) for i in range(3)], axis=0), tab.R, atol=1e-15)


def test_to_tabular_refuses_over_budget():
    mdp = random_networked_mdp(nx.path_graph(3), 2, 2, rng=0)
    with pytest.raises(MemoryBudgetError, match="refusing to build the joint tabular model"):
        mdp.to_tabular(max_bytes=1000)


def test_joint_policy_table_is_product():
    mdp = random_networked_mdp(nx.path_graph(3), [2, 3, 2], [2, 1, 3], rng=2)
    pol = LocalSoftmaxPolicy.random(mdp, 3)
    table = pol.joint_table(mdp)
    probs = pol.probabilities()
    assert_allclose(table.sum(axis=1), 1.0, atol=1e-14)
    for s in range(mdp.n_states):
        sl = np.unravel_index(s, mdp.state_sizes)
        for a in range(mdp.n_actions):
            al = np.unravel_index(a, mdp.action_sizes)
            want = np.prod([probs[i][sl[i], al[i]] for i in range(3)])
            assert table[s, a] == pytest.approx(want, abs=1e-15)


# ---------------------------------------------------------------------------- TabularMDP validation
def _tab():
    P = np.array([[[0.9, 0.1], [0.5, 0.5]], [[0.2, 0.8], [1.0, 0.0]]])
    R = np.array([[1.0, 0.0], [0.0, 2.0]])
    return P, R


def test_tabular_valid():
    mdp = TabularMDP(*_tab())
    assert (mdp.n_states, mdp.n_actions) == (2, 2)
    assert mdp.reward_bound == 2.0


def test_tabular_validation_errors():
    P, R = _tab()
    with pytest.raises(ValueError, match=r"P must have shape \(nS, nA, nS\)"):
        TabularMDP(P[0], R)
    with pytest.raises(ShapeError, match=r"P has length 3 along axis 2 \(s_next\)"):
        TabularMDP(np.full((2, 2, 3), 1 / 3), R)
    bad = P.copy()
    bad[1, 0, 1] = np.nan
    with pytest.raises(NonFiniteError, match=r"P\[s, a, :\] has a non-finite entry \S*nan\S* at index \(1, 0, 1\)"):
        TabularMDP(bad, R)
    bad = P.copy()
    bad[0, 1] = [1.25, -0.25]
    with pytest.raises(NegativeProbabilityError, match=r"negative probability \S*-0\.25\S* at index \(0, 1, 1\)"):
        TabularMDP(bad, R)
    bad = P.copy()
    bad[1, 1] = [0.5, 0.6]
    with pytest.raises(RowSumError, match=r"row \(1, 1\) sums to \S*1\.1"):
        TabularMDP(bad, R)
    with pytest.raises(ShapeError, match=r"R has length 3 along axis 1 \(a\)"):
        TabularMDP(P, np.zeros((2, 3)))
    badR = R.copy()
    badR[1, 0] = -np.inf
    with pytest.raises(NonFiniteError, match=r"R has a non-finite entry \S*-inf\S* at index \(1, 0\)"):
        TabularMDP(P, badR)
    with pytest.raises(ValueError, match="cannot be converted"):
        TabularMDP([[["a"]]], R)


def test_check_policy_table():
    assert_allclose(check_policy_table([[0.5, 0.5], [1.0, 0.0]], 2, 2), [[0.5, 0.5], [1.0, 0.0]])
    with pytest.raises(RowSumError, match=r"policy\[s, :\] row \(1,\) sums to \S*0\.9"):
        check_policy_table([[0.5, 0.5], [0.9, 0.0]], 2, 2)
    with pytest.raises(ShapeError):
        check_policy_table([[0.5, 0.5]], 2, 2)
    with pytest.raises(NegativeProbabilityError, match=r"index \(0, 0\)"):
        check_policy_table([[-0.5, 1.5], [1.0, 0.0]], 2, 2)


# ---------------------------------------------------------------------------- policies
def test_local_softmax_validation_errors():
    with pytest.raises(ShapeError, match=r"logits\[1\] \(agent 1\) must have shape \(S\[1\], A\[1\]\)"):
        LocalSoftmaxPolicy([np.zeros((2, 2)), np.zeros(3)])
    with pytest.raises(NonFiniteError, match=r"logits\[0\] \(agent 0\) has a non-finite entry \S*nan\S* at index \(1, 0\)"):
        LocalSoftmaxPolicy([np.array([[0.0, 0.0], [np.nan, 0.0]])])
    mdp = random_networked_mdp(nx.path_graph(2), [2, 3], [2, 2], rng=0)
    with pytest.raises(ShapeError, match=r"logits\[1\] \(agent 1\) has shape \(2, 2\), the MDP needs \(3, 2\)"):
        LocalSoftmaxPolicy([np.zeros((2, 2)), np.zeros((2, 2))]).check(mdp)
    with pytest.raises(ShapeError, match="policy has 1 agents but the MDP has 2"):
        LocalSoftmaxPolicy([np.zeros((2, 2))]).check(mdp)
    pol = LocalSoftmaxPolicy.uniform(mdp)
    with pytest.raises(ShapeError, match=r"flat parameter vector must have shape \(10,\)"):
        pol.with_flat(np.zeros(9))


def test_tabular_softmax_validation_errors():
    with pytest.raises(ShapeError, match=r"logits must have shape \(nS, nA\)"):
        TabularSoftmaxPolicy(np.zeros(3))
    with pytest.raises(NonFiniteError, match=r"index \(0, 1\)"):
        TabularSoftmaxPolicy([[0.0, np.inf]])


def test_flat_round_trip():
    mdp = random_networked_mdp(nx.path_graph(3), [2, 3, 2], [2, 1, 3], rng=0)
    pol = LocalSoftmaxPolicy.random(mdp, 1)
    theta = pol.flat()
    assert theta.shape == (pol.size,) == (4 + 3 + 6,)
    again = pol.with_flat(theta)
    for a, b in zip(again.logits, pol.logits):
        assert_array_equal(a, b)
    for a, b in zip(pol.split(theta), pol.logits):
        assert_array_equal(a, b)
    tab = TabularSoftmaxPolicy(np.arange(6.0).reshape(3, 2))
    assert_array_equal(tab.with_flat(tab.flat()).logits[0], tab.logits[0])


def test_softmax_stable_for_huge_logits():
    # exp(1e4) overflows; with filterwarnings=error any overflow warning would fail this test.
    pol = LocalSoftmaxPolicy([np.array([[1e4, 0.0, -1e4], [1e4, 1e4 + np.log(3.0), 1e4]])])
    p = pol.probabilities()[0]
    assert np.isfinite(p).all()
    assert_allclose(p[0], [1.0, 0.0, 0.0], atol=0)
    assert_allclose(p[1], [0.2, 0.6, 0.2], rtol=1e-12)
    assert_allclose(softmax(np.array([-1e4, -1e4])), [0.5, 0.5], rtol=0)
    assert_allclose(TabularSoftmaxPolicy([[1e4, 1e4 - np.log(4.0)]]).table(), [[0.8, 0.2]], rtol=1e-12)


def test_softmax_matches_definition():
    x = np.array([[0.3, -1.2, 2.0], [0.0, 0.0, 0.0]])
    e = np.exp(x)
    assert_allclose(softmax(x, axis=1), e / e.sum(axis=1, keepdims=True), rtol=1e-15)


# ---------------------------------------------------------------------------- simulator
def _five_sigma(p, B):
    """5 binomial standard deviations of an empirical frequency from B draws, p the truth."""
    return 5.0 * np.sqrt(p * (1.0 - p) / B)


@pytest.mark.parametrize("transition_form", ["local", "neighbourhood"])
def test_step_frequencies_match_kernel(transition_form):
    """Empirical next-state frequencies of `step` vs the joint kernel row, fixed seed.

    Each of the |S| = 6 frequencies is within 5 binomial sigmas of ``P[s, a, :]`` (a false
    alarm has probability < 6 * 6e-7 per pair; the seed is fixed, so the test is deterministic).
    """
    mdp = random_networked_mdp(nx.path_graph(2), [2, 3], [2, 3], rng=4, transition_form=transition_form)
    P = mdp.to_tabular().P
    rng = np.random.default_rng(12345)
    B = 100_000
    for s_loc, a_loc in [((0, 0), (0, 0)), ((1, 2), (1, 2)), ((0, 1), (1, 0))]:
        states = np.tile(s_loc, (B, 1))
        actions = np.tile(a_loc, (B, 1))
        nxt, rew = mdp.step(states, actions, rng)
        assert nxt.shape == (B, 2) and nxt.dtype == np.int64
        freq = np.bincount(mdp.state_index(nxt), minlength=mdp.n_states) / B
        p = P[mdp.state_index(s_loc)[0], mdp.action_index(a_loc)[0]]
        assert np.all(np.abs(freq - p) <= _five_sigma(p, B)), (freq, p)
        assert_allclose(rew, mdp.local_rewards(states[:1], actions[:1]).repeat(B, axis=0), rtol=0)


def test_step_never_returns_impossible_state():
    # Deterministic local kernels: every draw must land on the single supported next state.
    P = [np.zeros((2, 2, 1, 2)), np.zeros((2, 2, 1, 2))]
    P[0][..., 0, 1] = 1.0  # agent 0 always goes to 1
    P[1][..., 0, 0] = 1.0  # agent 1 always goes to 0
    mdp = NetworkedMDP(nx.path_graph(2), P, [np.zeros((2, 1))] * 2, transition_form="local", reward_form="local")
    nxt, _ = mdp.step(np.zeros((1000, 2), dtype=int), np.zeros((1000, 2), dtype=int), np.random.default_rng(0))
    assert_array_equal(nxt, np.tile([1, 0], (1000, 1)))


@pytest.mark.parametrize("reward_form", ["local", "neighbourhood"])
def test_local_rewards_index_the_arrays(reward_form):
    """`local_rewards` (stacked-table gather) against direct indexing of each agent's array."""
    mdp = random_networked_mdp(nx.star_graph(3), [3, 1, 2, 4], [2, 3, 1, 2], rng=8, reward_form=reward_form)
    rng = np.random.default_rng(9)
    states = rng.integers(0, mdp.state_sizes, size=(200, 4))
    actions = rng.integers(0, mdp.action_sizes, size=(200, 4))
    got = mdp.local_rewards(states, actions)
    for i in range(4):
        Ni = list(mdp.neighbourhoods[i])
        if reward_form == "local":
            want = mdp.rewards[i][states[:, i], actions[:, i]]
        else:
            want = mdp.rewards[i][tuple(states[:, Ni].T) + tuple(actions[:, Ni].T)]
        assert_array_equal(got[:, i], want)


def test_step_with_single_state_agents_and_empty_batch():
    # Agents with |S_i| = 1 have no inverse-CDF column; an empty batch returns empty arrays.
    mdp = random_networked_mdp(nx.path_graph(3), [1, 3, 1], [2, 2, 2], rng=10, transition_form="neighbourhood")
    nxt, rew = mdp.step(np.zeros((500, 3), dtype=int), np.ones((500, 3), dtype=int), np.random.default_rng(0))
    assert_array_equal(nxt[:, [0, 2]], 0)
    assert set(np.unique(nxt[:, 1])) <= {0, 1, 2}
    nxt, rew = mdp.step(np.zeros((0, 3), dtype=int), np.zeros((0, 3), dtype=int), np.random.default_rng(0))
    assert nxt.shape == (0, 3) and rew.shape == (0, 3)


def test_policy_sample_frequencies():
    mdp = random_networked_mdp(nx.path_graph(2), [2, 2], [3, 2], rng=5)
    pol = LocalSoftmaxPolicy.random(mdp, 6)
    B = 100_000
    acts = pol.sample(np.tile([1, 0], (B, 1)), np.random.default_rng(7))
    freq = np.bincount(mdp.action_index(acts), minlength=mdp.n_actions) / B
    p = pol.joint_table(mdp)[mdp.state_index([1, 0])[0]]
    assert np.all(np.abs(freq - p) <= _five_sigma(p, B)), (freq, p)

