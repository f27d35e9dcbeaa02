"""API hygiene (issue 8, item 7): every misuse is a clear error naming the culprit, never a raw
numpy/networkx traceback, a ComplexWarning or a silently wrong answer."""

import warnings

import networkx as nx
import numpy as np
import pytest

from netmarl_verify.envs import (
    LocalPolicySampler,
    LocalSoftmaxPolicy,
    LocalTabularPolicy,
    ModelValidationError,
    NetworkedMDP,
    ShapeError,
    TabularMDP,
    WirelessNetwork,
    check_policy_table,
    coloring_mdp,
    coupled_networked_mdp,
    qu2020_line,
    random_networked_mdp,
    simulate,
)
from netmarl_verify.envs._validation import fmt_number
from netmarl_verify.solvers.exact import evaluate_policy, objective
from netmarl_verify.solvers.sampled import PowerSchedule, scalable_actor_critic


def _uniform_rows(shape):
    return np.full(shape, 1.0 / shape[-1])


# ---------------------------------------------------------------------------- policy.sample
@pytest.fixture
def line4():
    return qu2020_line(4, rng=0)  # S_i = 2, A_i = 3


@pytest.mark.parametrize("make", [lambda pol: pol, LocalPolicySampler],
                         ids=["LocalSoftmaxPolicy", "LocalPolicySampler"])
class TestSampleValidatesStates:
    def test_negative_state_names_entry_and_agent(self, line4, make):
        sampler = make(line4[1])
        with pytest.raises(ValueError, match=r"states\[0, 0\] = -1 is out of range for agent 0 \(valid 0..1\)"):
            sampler.sample(np.full((2, 4), -1), 0)

    def test_too_large_state(self, line4, make):
        sampler = make(line4[1])
        with pytest.raises(ValueError, match=r"states\[1, 2\] = 7 is out of range for agent 2 \(valid 0..1\)"):
            sampler.sample([[0, 0, 0, 0], [1, 1, 7, 1]], 0)

    def test_wrong_shape(self, line4, make):
        with pytest.raises(ShapeError, match=r"states must have shape \(m, n=4\) of local indices, got \(2, 3\)"):
            make(line4[1]).sample(np.zeros((2, 3), dtype=int), 0)

    def test_non_integer_states(self, line4, make):
        with pytest.raises(ValueError, match="states must hold integer local indices"):
            make(line4[1]).sample(np.full((1, 4), 0.5), 0)

    def test_one_copy_of_shape_n(self, line4, make):
        out = make(line4[1]).sample([0, 1, 0, 1], 3)
        assert out.shape == (1, 4) and out.dtype == np.int64 and ((out >= 0) & (out < 3)).all()


def test_policy_sample_matches_mdp_step_messages(line4):
    mdp, pol = line4
    bad = [[0, 0, 2, 0]]
    with pytest.raises(ValueError) as from_step:
        mdp.step(bad, [[0, 0, 0, 0]], 0)
    with pytest.raises(ValueError) as from_sample:
        pol.sample(bad, 0)
    assert str(from_step.value) == str(from_sample.value)


# ---------------------------------------------------------------------------- complex arrays
def _path2():
    P = [_uniform_rows((2, 2, 2, 2)), _uniform_rows((2, 2, 2, 2))]
    R = [np.zeros((2, 2)), np.zeros((2, 2))]
    return P, R


@pytest.mark.parametrize("which", ["transitions", "rewards"])
def test_complex_kernels_are_refused(which):
    P, R = _path2()
    arrays = {"transitions": P, "rewards": R}[which]
    arrays[1] = arrays[1].astype(complex)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # never a ComplexWarning on the way
        with pytest.raises(ModelValidationError, match=rf"{which}\[1\] must be real-valued, got a complex array"):
            NetworkedMDP(nx.path_graph(2), P, R, transition_form="local", reward_form="local")


def test_complex_python_lists_are_refused():
    P, R = _path2()
    R[0] = [[0.0, 1j], [0.0, 0.0]]
    with pytest.raises(ModelValidationError, match=r"rewards\[0\] must be real-valued"):
        NetworkedMDP(nx.path_graph(2), P, R, transition_form="local", reward_form="local")


@pytest.mark.parametrize("build, what", [
    (lambda: TabularMDP(np.full((2, 1, 2), 0.5 + 0j), np.zeros((2, 1))), "P"),
    (lambda: TabularMDP(np.full((2, 1, 2), 0.5), np.zeros((2, 1), dtype=complex)), "R"),
    (lambda: LocalSoftmaxPolicy([np.zeros((2, 2), dtype=complex)]), r"logits\[0\]"),
    (lambda: LocalSoftmaxPolicy([np.zeros((2, 2))]).with_flat(np.zeros(4, dtype=complex)), "theta"),
    (lambda: LocalTabularPolicy([np.full((2, 2), 0.5 + 0j)]), r"probs\[0\]"),
    (lambda: check_policy_table(np.full((2, 2), 0.5 + 0j), 2, 2), "policy"),
    (lambda: WirelessNetwork(1, 2, p=np.array([0.5, 0.5 + 0j])), "`p`"),
    (lambda: LocalPolicySampler([np.full((2, 2), 0.5 + 0j)]), r"policy table 0 \(agent 0\)"),
])
def test_complex_everywhere_else_is_refused(build, what):
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        with pytest.raises(ModelValidationError, match=rf"{what} must be real-valued"):
            build()


# ---------------------------------------------------------------------------- plain numbers
def test_fmt_number():
    assert [fmt_number(x) for x in (np.float64(8.0), np.int64(3), 2.5, np.float32(0.5))] == ["8.0", "3", "2.5", "0.5"]


@pytest.mark.parametrize("call, text", [
    (lambda mdp: scalable_actor_critic(mdp, 0, 1, batch=np.float64(8.0)), "`batch` must be an integer, got 8.0"),
    (lambda mdp: mdp.kappa_hop(np.float64(1.0), 1), "agent must be an integer in 0..3, got 1.0"),
    (lambda mdp: PowerSchedule(np.float64(-1.0)), "step-size `scale` must be positive and finite, got -1.0"),
    (lambda mdp: objective(mdp, qu2020_line(4, rng=0)[1], 0.9, initial=np.full(16, 0.1)), "initial sums to 1.6"),
    (lambda mdp: WirelessNetwork(1, 2).access_points(np.float64(0.0)), "`user` must be an integer in 0..1, got 0.0"),
])
def test_messages_print_plain_numbers(line4, call, text):
    with pytest.raises((TypeError, ValueError)) as exc:
        call(line4[0])
    assert text in str(exc.value)
    assert "np." not in str(exc.value)


# ---------------------------------------------------------------------------- graph labels
def test_generators_check_node_labels_like_networked_mdp():
    g = nx.grid_2d_graph(3, 3)
    with pytest.raises(ValueError) as direct:
        NetworkedMDP(g, [], [], transition_form="local", reward_form="local")
    assert "graph nodes must be exactly the integers 0..8" in str(direct.value)
    assert "convert_node_labels_to_integers" in str(direct.value)
    for build in (lambda: random_networked_mdp(g, 2, 2, 0),
                  lambda: coupled_networked_mdp(g, 0.5, rng=0),
                  lambda: coloring_mdp(g, 2)):
        with pytest.raises(ValueError) as exc:
            build()
        assert str(exc.value) == str(direct.value)


def test_generator_refuses_directed_and_non_graphs():
    with pytest.raises(ValueError, match="graph must be undirected"):
        random_networked_mdp(nx.DiGraph([(0, 1)]), 2, 2, 0)
    with pytest.raises(TypeError, match="graph must be a networkx.Graph, got list"):
        random_networked_mdp([(0, 1)], 2, 2, 0)


def test_string_labels_refused():
    with pytest.raises(ValueError, match="graph nodes must be exactly the integers 0..1"):
        random_networked_mdp(nx.Graph([("a", "b")]), 2, 2, 0)


# ---------------------------------------------------------------------------- which argument's shape
def test_wrong_action_axis_in_transitions_names_transitions():
    P, R = _path2()  # A = (2, 2)
    P[0] = _uniform_rows((2, 2, 3, 2))  # agent 0's action axis says 3, its rewards say 2
    with pytest.raises(ShapeError) as exc:
        NetworkedMDP(nx.path_graph(2), P, R, transition_form="local", reward_form="local")
    msg = str(exc.value)
    assert "inconsistent number of actions of agent 0" in msg
    assert "transitions[0] (agent 0) has length 3 along axis 2 (a_0)" in msg
    assert "rewards[0] (agent 0) has length 2 along axis 1 (a_0)" in msg


def test_wrong_action_axis_with_a_majority_blames_only_transitions():
    # neighbourhood rewards: a_0 appears in rewards[0] and rewards[1], so the odd one out is P[0]
    P, _ = _path2()
    P[0] = _uniform_rows((2, 2, 3, 2))
    R = [np.zeros((2, 2, 2, 2)), np.zeros((2, 2, 2, 2))]
    with pytest.raises(ShapeError,
                       match=r"^transitions\[0\] \(agent 0\) has length 3 along axis 2 \(a_0\), expected 2"):
        NetworkedMDP(nx.path_graph(2), P, R, transition_form="local", reward_form="neighbourhood")


def test_wrong_state_axis_in_transitions_with_a_majority():
    P, R = _path2()
    P[1] = _uniform_rows((2, 2, 2, 3))  # s_1' axis says 3; P[0], P[1] and R[1] say S_1 = 2
    with pytest.raises(ShapeError, match=r"^transitions\[1\] \(agent 1\) has length 3 along axis 3 \(s_1'\)"):
        NetworkedMDP(nx.path_graph(2), P, R, transition_form="local", reward_form="local")


def test_tabular_wrong_action_axis_names_P():
    with pytest.raises(ShapeError) as exc:
        TabularMDP(np.full((2, 3, 2), 0.5), np.zeros((2, 2)))
    assert "P has length 3 along axis 1 (a)" in str(exc.value)
    assert "R has length 2 along axis 1 (a)" in str(exc.value)


# ---------------------------------------------------------------------------- short reprs
def test_policy_evaluation_repr_is_a_summary(line4):
    mdp, pol = line4
    ev = evaluate_policy(mdp, pol)
    text = repr(ev)
    assert text.startswith("PolicyEvaluation(n_states=16, agents=4, backend='dense', J=")
    assert f"J={ev.J:.6g}" in text and "max residual" in text
    assert "array" not in text and "\n" not in text and len(text) < 120
    disc = repr(evaluate_policy(mdp, pol, gamma=0.9))
    assert "gamma=0.9" in disc and "J=" not in disc


def test_simulate_with_int_seed_and_policy_tables(line4):
    mdp, pol = line4
    roll = simulate(mdp, pol, 3, 0, batch=2)
    assert roll.average_reward.shape == (2,)
