"""The solvers' one policy route (issue 15 item 2) for a policy whose agents observe neighbours.

A policy with ``observed(i) != (i,)`` is compiled to a :class:`TabularSoftmaxPolicy` joint table
on ``mdp.to_tabular()`` for the reference; where the general path is not implemented yet the
solvers raise NotImplementedError naming issue 11 (κ-hop policies)."""

import networkx as nx
import numpy as np
import pytest
from numpy.testing import assert_allclose

from netmarl_verify.envs import TabularSoftmaxPolicy, joint_policy_table, random_networked_mdp
from netmarl_verify.solvers.exact import (
    agent_marginals,
    critic_fixed_point,
    evaluate_policy,
    finite_difference_gradient,
    objective,
    policy_gradient,
    transition_matrix,
    truncated_gradient,
)
from netmarl_verify.solvers.exact._operator import as_operator
from _observing_policy import ObservingSoftmax


def _case(form="local", n=3, obs=None, rng=2):
    mdp = random_networked_mdp(nx.path_graph(n), 2, 2, rng=rng, transition_form=form, reward_form=form)
    obs = obs or [(0, 1), (1, 2), (2,)]
    return mdp, ObservingSoftmax(mdp, obs, rng=rng + 1)


def _compiled(mdp, pol):
    return mdp.to_tabular(), TabularSoftmaxPolicy(np.log(joint_policy_table(mdp, pol)))


@pytest.mark.parametrize("form", ["local", "neighbourhood"])
@pytest.mark.parametrize("obs", [[(0, 1), (1, 2), (2,)], [(0, 2), (1,), (0, 1, 2)]], ids=["neighbours", "beyond N_i"])
def test_evaluation_and_kernel_match_the_compiled_policy(form, obs):
    mdp, pol = _case(form, obs=obs)
    tab, tpol = _compiled(mdp, pol)
    ev, ref = evaluate_policy(mdp, pol), evaluate_policy(tab, tpol)
    assert ev.J == pytest.approx(ref.J, abs=1e-12)
    assert_allclose(ev.global_values, ref.global_values, atol=1e-11)
    P = np.asarray(transition_matrix(tab, tpol).todense()) if hasattr(transition_matrix(tab, tpol), "todense") \
        else np.asarray(transition_matrix(tab, tpol))
    op = as_operator(mdp, pol)
    d = np.random.default_rng(0).random(mdp.n_states)
    assert_allclose(op.rmatvec(d), d @ P, atol=1e-13)  # the rmatvec factor grows to N_i and O_i
    assert_allclose(op.matvec(d), P @ d, atol=1e-13)
    assert_allclose(op.joint_policy(), tpol.table(), atol=1e-14)


@pytest.mark.parametrize("gamma", [None, 0.9])
def test_policy_gradient_goes_through_score_contract(gamma):
    mdp, pol = _case("neighbourhood")
    g = np.concatenate([x.ravel() for x in policy_gradient(mdp, pol, gamma)])
    U, fd = finite_difference_gradient(lambda p: objective(mdp, p, gamma), pol, rng=1, n_directions=6)
    assert_allclose(U @ g, fd, rtol=1e-6, atol=1e-9)


def test_truncated_gradient_with_every_agent_inside_is_the_gradient():
    mdp, pol = _case("local")
    full = policy_gradient(mdp, pol)
    for i in range(mdp.n):
        assert_allclose(truncated_gradient(mdp, pol, i, mdp.n), full[i], atol=1e-11)


def _brute_force_M(mdp, pol, N):
    """Pr(z_N(t) = x, z_N(t+1) = y) from the compiled joint chain."""
    tab, tpol = _compiled(mdp, pol)
    P, pi = np.asarray(tab.P), tpol.table()
    d = evaluate_policy(tab, tpol).stationary
    S, A = mdp.state_tuples(), mdp.action_tuples()
    shape = tuple(mdp.state_sizes[k] for k in N) + tuple(mdp.action_sizes[k] for k in N)
    zx = np.array([[np.ravel_multi_index(tuple(S[s, N]) + tuple(A[a, N]), shape) for a in range(tab.n_actions)]
                   for s in range(tab.n_states)])
    nZ = int(np.prod(shape))
    W = d[:, None] * pi  # (s, a)
    M = np.zeros((nZ, nZ))
    for s in range(tab.n_states):
        for a in range(tab.n_actions):
            T = P[s, a][:, None] * pi  # (s', a')
            np.add.at(M[zx[s, a]], zx.ravel(), (W[s, a] * T).ravel())
    return M


def test_the_critic_neighbourhood_grows_with_the_outside_observations():
    # agent 0, kappa = 0: N = {0}, E = N_0 = {0, 1}; agent 1 (outside N, its action moves s_0) reads s_2
    mdp, pol = _case("neighbourhood", obs=[(0,), (1, 2), (2,)])
    _, eq = critic_fixed_point(mdp, pol, 0, 0, full_output=True)
    assert_allclose(eq.M, _brute_force_M(mdp, pol, [0]), atol=1e-14)
    _, eq = critic_fixed_point(mdp, pol, 1, 1, full_output=True)  # every agent inside
    assert_allclose(eq.M, _brute_force_M(mdp, pol, [0, 1, 2]), atol=1e-14)


def test_the_unimplemented_general_paths_say_so():
    mdp, pol = _case("local", obs=[(0, 1), (1, 2), (2,)])
    with pytest.raises(NotImplementedError, match="agent 0 of N reads \\(0, 1\\).*issue 11"):
        critic_fixed_point(mdp, pol, 0, 0)
    with pytest.raises(NotImplementedError, match="agent_marginals.*issue 11"):
        agent_marginals(mdp, pol, 0, [[0, 0, 0]], [[0, 0, 0]], 2)
    with pytest.raises(NotImplementedError, match="truncated_gradient.*issue 11"):
        truncated_gradient(mdp, pol, 0, 0)
