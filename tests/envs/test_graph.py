"""The graph mixin ``envs.AgentGraph`` and the simulator's fast-path protocol (issue 15, items 2 and 4).

Both :class:`NetworkedMDP` and :class:`WirelessNetwork` inherit one implementation of the
neighbourhoods, κ-hops, distances, agent and local-index validation and the mixed-radix global
enumeration; :func:`simulate` takes the fast path only through ``env.fast_loop`` and knows no
environment class.
"""

import ast
import itertools
import warnings
from pathlib import Path

import networkx as nx
import numpy as np
import pytest
from numpy.testing import assert_allclose, assert_array_equal

import netmarl_verify.envs as envs
from netmarl_verify.envs import (
    AgentGraph,
    LocalPolicySampler,
    LocalTabularPolicy,
    NetworkedMDP,
    ShapeError,
    WirelessNetwork,
    closed_neighbourhood,
    grid_graph,
    random_networked_mdp,
    simulate,
)
from netmarl_verify.envs._validation import check_local_indices


def _networked():
    """Mixed sizes on a graph with a cycle, a pendant and a second component (distance -1)."""
    g = nx.Graph([(0, 1), (1, 2), (2, 0), (2, 3), (4, 5)])
    return random_networked_mdp(g, state_size=[2, 3, 2, 2, 3, 2], action_size=2, rng=0)


ENVS = {
    "networked_mdp": _networked,
    "grid_mdp": lambda: random_networked_mdp(grid_graph(3, 3), 2, 2, rng=1),
    "wireless_2x3": lambda: WirelessNetwork(2, 3, seed=0),
    "wireless_1x4": lambda: WirelessNetwork(1, 4, seed=0),
}


@pytest.fixture(params=list(ENVS))
def env(request):
    return ENVS[request.param]()


# ---------------------------------------------------------------------------- structure
def test_both_models_inherit_the_mixin(env):
    assert isinstance(env, AgentGraph)
    assert type(env).kappa_hop is AgentGraph.kappa_hop and type(env).check_agent is AgentGraph.check_agent


def test_neighbourhoods_are_the_sorted_closed_neighbourhoods(env):
    for i in range(env.n):
        want = tuple(sorted({i} | set(env.graph.neighbors(i))))
        assert env.neighbourhoods[i] == want == closed_neighbourhood(env.graph, i)
        assert all(type(j) is int for j in env.neighbourhoods[i])


def test_kappa_hops_and_distances_match_networkx_shortest_paths(env):
    lengths = dict(nx.all_pairs_shortest_path_length(env.graph))
    for i in range(env.n):
        for j in range(env.n):
            assert env.distances[i, j] == lengths[i].get(j, -1)
        for kappa in range(env.n + 1):
            want = tuple(sorted(j for j, d in lengths[i].items() if d <= kappa))
            assert env.kappa_hop(i, kappa) == want
            assert env.kappa_hop(np.int64(i), np.int64(kappa)) == want
        assert env.kappa_hop(i, 0) == (i,) and env.kappa_hop(i, 1) == env.neighbourhoods[i]


def test_wireless_kappa_hops_are_the_king_graph_balls():
    net = WirelessNetwork(4, 5, seed=0)
    for i in range(net.n):
        r, c = divmod(i, net.W)
        for kappa in range(4):
            want = tuple(rr * net.W + cc for rr in range(net.H) for cc in range(net.W)
                         if max(abs(rr - r), abs(cc - c)) <= kappa)
            assert net.kappa_hop(i, kappa) == want


def test_closed_neighbourhood_ignores_self_loops_and_numpy_node_labels():
    g = nx.Graph([(np.int64(0), np.int64(1)), (1, 1), (1, 2)])
    assert closed_neighbourhood(g, 1) == (0, 1, 2) and closed_neighbourhood(g, np.int64(0)) == (0, 1)
    assert all(type(j) is int for j in closed_neighbourhood(g, 1))


# ---------------------------------------------------------------------------- enumeration
def test_enumeration_round_trip_agent_0_most_significant(env):
    rng = np.random.default_rng(3)
    states = np.stack([rng.integers(0, S, 50) for S in env.state_sizes], axis=1)
    idx = env.state_index(states)
    assert_array_equal(idx, np.ravel_multi_index(tuple(states.T), env.state_sizes))
    assert_array_equal(env.state_tuples(idx), states)
    actions = np.stack([rng.integers(0, A, 50) for A in env.action_sizes], axis=1)
    assert_array_equal(env.action_tuples(env.action_index(actions)), actions)
    e0 = np.zeros((1, env.n), dtype=np.int64)
    e0[0, 0] = 1
    assert env.state_index(e0)[0] == int(np.prod(env.state_sizes[1:]))  # agent 0: the highest digit


def test_full_enumeration_is_the_identity():
    mdp = _networked()
    all_states = mdp.state_tuples()
    assert all_states.shape == (mdp.n_states, mdp.n)
    assert_array_equal(mdp.state_index(all_states), np.arange(mdp.n_states))
    assert_array_equal(mdp.state_tuples(np.arange(mdp.n_states)), all_states)
    net = WirelessNetwork(1, 2, seed=0)
    assert_array_equal(net.state_index(net.state_tuples()), np.arange(16))
    assert_array_equal(net.action_index(net.action_tuples()), np.arange(25))


def test_wireless_enumeration_is_the_order_of_policy_chain():
    """policy_chain's state s is net.state_tuples()[s]: its R is E_pi[(1/n) sum_i sigma_i | s]."""
    net = WirelessNetwork(1, 2, seed=4)
    rng = np.random.default_rng(0)
    probs = [rng.dirichlet(np.ones(5), size=4) for _ in range(2)]
    chain = net.policy_chain(LocalTabularPolicy(probs))
    mdp = net.to_networked_mdp()
    S = net.state_tuples()
    want = np.zeros(len(S))
    for a in itertools.product(range(5), repeat=2):
        A = np.broadcast_to(np.array(a), S.shape)
        weight = probs[0][S[:, 0], a[0]] * probs[1][S[:, 1], a[1]]
        want += weight * mdp.local_rewards(S, A).mean(axis=1)
    assert_allclose(chain.R[:, 0], want, rtol=0, atol=1e-14)


# ---------------------------------------------------------------------------- validation
@pytest.mark.parametrize("bad", [-1, 6, 1.0, np.float64(2.0), "0", None])
def test_check_agent_errors(bad):
    mdp = _networked()
    with pytest.raises(ValueError, match=r"^agent must be an integer in 0\.\.5, got "):
        mdp.check_agent(bad)
    with pytest.raises(ValueError, match=r"^agent must be an integer in 0\.\.5, got "):
        mdp.kappa_hop(bad, 1)
    with pytest.raises(ValueError, match=r"^agent must be an integer in 0\.\.5, got "):
        mdp._check_agent(bad)  # the old private name: same function, same message


def test_check_agent_returns_a_python_int_and_the_alias_is_the_same_function():
    mdp, net = _networked(), WirelessNetwork(1, 3, seed=0)
    for env in (mdp, net):
        assert env.check_agent(np.int64(2)) == 2 and type(env.check_agent(np.int64(2))) is int
        assert env._check_agent(1) == env.check_agent(1) == 1
    assert NetworkedMDP._check_agent is NetworkedMDP.check_agent is AgentGraph.check_agent
    with pytest.raises(ValueError, match=r"^agent must be an integer in 0\.\.2, got 3$"):
        net.check_agent(3)
    with pytest.raises(ValueError, match=r"^`user` must be an integer in 0\.\.2, got 3$"):
        net.access_points(3)
    with pytest.raises(ValueError, match=r"kappa must be >= 0, got -1"):
        net.kappa_hop(0, -1)


def test_one_local_index_validator_for_both_models():
    mdp, net = _networked(), WirelessNetwork(1, 2, seed=0)
    for env, bad_state, hi in ((mdp, [[0, 3, 0, 0, 0, 0]], 2), (net, [[0, 4]], 3)):
        with pytest.raises(ValueError) as got:
            env.check_pairs(bad_state)
        with pytest.raises(ValueError) as want:
            check_local_indices(bad_state, env.state_sizes, "states")
        text = f"states[0, 1] = {bad_state[0][1]} is out of range for agent 1 (valid 0..{hi})"
        assert str(got.value) == str(want.value) == text
        with pytest.raises(ShapeError, match=r"states and actions must have the same shape"):
            env.check_pairs(np.zeros((2, env.n), int), np.zeros((1, env.n), int))
    with pytest.raises(ValueError, match=r"^`states`\[0, 1\] = 4 is out of range for agent 1 \(valid 0\.\.3\)$"):
        net.transition([[0, 4]], [[0, 0]], np.zeros((2, 1, 2)))
    s, a = net.check_pairs([0, 3], [[4, 0]])
    assert s.dtype == a.dtype == np.int64 and s.shape == a.shape == (1, 2)


# ---------------------------------------------------------------------------- simulate's fast path
class _StepOnly:
    """A wireless network seen only through the generic protocol: n, sizes and step (no fast_loop)."""

    def __init__(self, net):
        self._net = net
        self.n, self.state_sizes, self.action_sizes = net.n, net.state_sizes, net.action_sizes
        self.steps = 0

    def step(self, states, actions, rng):
        self.steps += 1
        return self._net.step(states, actions, rng)


class _WithFastLoop(_StepOnly):
    """Not a WirelessNetwork, but offers the fast path: simulate must take it."""

    def __init__(self, net):
        super().__init__(net)
        self.loops = 0

    def fast_loop(self, sampler, states):
        self.loops += 1
        return self._net.fast_loop(sampler, states)


def _rollouts_equal(a, b):
    assert_array_equal(a.average_reward, b.average_reward)
    assert_array_equal(a.local_rewards, b.local_rewards)
    assert_array_equal(a.final_states, b.final_states)
    assert_array_equal(a.states, b.states)


@pytest.mark.parametrize("policy", ["aloha", "uniform"])
def test_generic_path_gives_the_fast_path_rollout_on_the_same_seed(policy):
    net = WirelessNetwork(2, 3, seed=2)
    pol = net.aloha_policy(0.4) if policy == "aloha" else net.uniform_policy()
    kw = dict(steps=30, batch=16, burn_in=5, record_states=True)
    fast = simulate(net, pol, rng=7, **kw)
    plain = _StepOnly(net)
    slow = simulate(plain, pol, rng=7, **kw)
    assert plain.steps == 35  # the generic path, one env.step per time step
    _rollouts_equal(fast, slow)
    assert fast.mean > 0


def test_simulate_uses_fast_loop_through_the_method_only():
    net = WirelessNetwork(1, 3, seed=1)
    pol = net.aloha_policy(0.7)
    init = np.random.default_rng(0).integers(0, 4, (8, 3))
    duck = _WithFastLoop(net)
    got = simulate(duck, pol, 12, 3, initial_states=init, record_states=True)
    assert (duck.loops, duck.steps) == (1, 0)  # fast path, and never env.step
    _rollouts_equal(got, simulate(net, pol, 12, 3, initial_states=init, record_states=True))


def test_simulate_module_knows_no_environment_class():
    import netmarl_verify.envs._simulate as sim

    tree = ast.parse(Path(sim.__file__).read_text())
    imported = {n.module for n in ast.walk(tree) if isinstance(n, ast.ImportFrom)}
    imported |= {a.name for n in ast.walk(tree) if isinstance(n, ast.Import) for a in n.names}
    assert not any("_wireless" in (m or "") or "_networked" in (m or "") for m in imported), imported
    assert "isinstance(env" not in Path(sim.__file__).read_text()


def test_fast_loop_refuses_a_sampler_of_another_shape():
    net = WirelessNetwork(1, 2, seed=0)
    sampler = LocalPolicySampler([np.full((4, 3), 1 / 3)] * 2)  # 3 actions, the network has 5
    with pytest.raises(ShapeError, match=r"the sampler's tables have state sizes \(4, 4\) and action sizes \(3, 3\)"):
        net.fast_loop(sampler, np.zeros((2, 2), dtype=np.int64))
    with pytest.raises(ValueError, match=r"`initial_states`\[0, 1\] = 4 is out of range for agent 1"):
        simulate(net, net.uniform_policy(), 2, 0, initial_states=[[0, 4]])


# ---------------------------------------------------------------------------- the moved benchmark
def test_the_benchmark_left_the_model_layer():
    """simulator_throughput is a benchmark: it lives in verify._bench, not in envs (one-way flow)."""
    from netmarl_verify.verify._bench import simulator_throughput  # noqa: F401

    assert not hasattr(envs, "simulator_throughput")
