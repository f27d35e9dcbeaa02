"""The invariants of ``tests/_invariants.py`` on every model family, and on random chains.

Each family (both transition forms, both reward forms, a tabular MDP, the copy chain, a wireless
policy chain) is checked for: stochastic kernel rows, stationarity, the centred Poisson
equation of every agent, the occupancy's mass and flow constraints. hypothesis draws random
tabular MDPs for the same checks. The invariants are necessary conditions (no second solver):
the brute-force comparisons live in ``test_exact_reference.py``.
"""

import networkx as nx
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import _invariants as inv
from netmarl_verify import envs
from netmarl_verify.solvers.exact import (
    average_reward,
    discounted_occupancy,
    evaluate_policy,
    stationary_distribution,
    transition_matrix,
)


def _families():
    out = {}
    out["line-local"] = envs.qu2020_line(n=4, rng=0)
    for form in ("local", "neighbourhood"):
        mdp = envs.random_networked_mdp(nx.cycle_graph(3), 2, 2, rng=1, transition_form=form, reward_form=form)
        out[f"cycle-{form}"] = (mdp, envs.LocalSoftmaxPolicy.random(mdp, rng=2))
    cc = envs.copy_chain_mdp(4, 0.6)
    out["copy-chain"] = (cc, envs.LocalSoftmaxPolicy([np.zeros((2, 1))] * 4))
    rng = np.random.default_rng(3)
    P = rng.dirichlet(np.ones(5), size=(5, 3))
    tab = envs.TabularMDP(P, rng.uniform(size=(5, 3)))
    out["tabular"] = (tab, np.full((5, 3), 1 / 3))
    return out


FAMILIES = _families()


def _dense(P):
    return P.toarray() if hasattr(P, "toarray") else np.asarray(P)


@pytest.mark.parametrize("name", sorted(FAMILIES))
def test_kernel_rows_are_stochastic(name):
    mdp, pol = FAMILIES[name]
    inv.assert_stochastic_rows(_dense(transition_matrix(mdp, pol)))


@pytest.mark.parametrize("name", sorted(FAMILIES))
def test_stationary_distribution(name):
    mdp, pol = FAMILIES[name]
    inv.assert_stationary(stationary_distribution(mdp, pol), _dense(transition_matrix(mdp, pol)))


@pytest.mark.parametrize("name", sorted(FAMILIES))
def test_poisson_equation_of_every_agent(name):
    mdp, pol = FAMILIES[name]
    ev = evaluate_policy(mdp, pol)
    P = _dense(ev.P)
    for i in range(ev.values.shape[1]):
        inv.assert_poisson(ev.values[:, i], ev.J_local[i], ev.rewards[:, i], P, ev.stationary)
    assert average_reward(mdp, pol) == pytest.approx(ev.J_local.mean(), abs=1e-14)


@pytest.mark.parametrize("name", sorted(FAMILIES))
@pytest.mark.parametrize("gamma", [0.0, 0.5, 0.95])
def test_occupancy_mass_and_flow(name, gamma):
    mdp, pol = FAMILIES[name]
    tab = mdp if isinstance(mdp, envs.TabularMDP) else mdp.to_tabular()
    n_states = tab.P.shape[0]
    xi = np.full(n_states, 1.0 / n_states)  # the default initial distribution (uniform)
    lam = discounted_occupancy(mdp, pol, gamma)
    # mass 1/(1-gamma) up to 20: the flow residual scales with it (atol relative to the mass)
    inv.assert_occupancy(lam, tab.P, gamma, xi)


def test_wireless_policy_chain_is_stochastic():
    net = envs.WirelessNetwork(1, 3, d=2, seed=0)
    chain = net.policy_chain(net.aloha_policy(0.4))
    inv.assert_stochastic_rows(np.asarray(chain.P)[:, 0, :])


def test_the_invariants_can_fail():
    mdp, pol = FAMILIES["line-local"]
    P = _dense(transition_matrix(mdp, pol))
    d = stationary_distribution(mdp, pol)
    with pytest.raises(AssertionError, match="row sum"):
        inv.assert_stochastic_rows(P * (1 + 1e-9))
    with pytest.raises(AssertionError, match="d\\^T P"):
        inv.assert_stationary(np.roll(d, 1), P)
    ev = evaluate_policy(mdp, pol)
    with pytest.raises(AssertionError, match="not centred"):
        inv.assert_poisson(ev.values[:, 0] + 1e-6, ev.J_local[0], ev.rewards[:, 0], P, d)
    lam = discounted_occupancy(mdp, pol, 0.9)
    tab = mdp.to_tabular()
    with pytest.raises(AssertionError, match="flow"):
        inv.assert_occupancy(lam, np.roll(tab.P, 1, axis=2), 0.9, np.full(P.shape[0], 1 / P.shape[0]))
    with pytest.raises(AssertionError, match="negative gap"):
        inv.assert_nonnegative_gap([0.0, -1e-9])


@st.composite
def tabular_mdps(draw):
    n_states = draw(st.integers(2, 6))
    n_actions = draw(st.integers(1, 3))
    seed = draw(st.integers(0, 2**32 - 1))
    rng = np.random.default_rng(seed)
    # concentration >= 0.2 keeps rows strictly positive, hence one recurrent aperiodic class
    alpha = draw(st.floats(0.2, 5.0))
    P = rng.dirichlet(np.full(n_states, alpha), size=(n_states, n_actions))
    P = np.maximum(P, 1e-6)
    P /= P.sum(axis=2, keepdims=True)
    pi = rng.dirichlet(np.ones(n_actions), size=n_states)
    return envs.TabularMDP(P, rng.uniform(-1, 1, size=(n_states, n_actions))), pi


@settings(max_examples=40, deadline=None)
@given(tabular_mdps(), st.sampled_from([0.3, 0.9]))
def test_random_tabular_mdps_satisfy_the_invariants(case, gamma):
    mdp, pi = case
    ev = evaluate_policy(mdp, pi)
    P = _dense(ev.P)
    inv.assert_stochastic_rows(P)
    inv.assert_stationary(ev.stationary, P)
    inv.assert_poisson(ev.values[:, 0], ev.J_local[0], ev.rewards[:, 0], P, ev.stationary, atol=1e-10)
    inv.assert_occupancy(discounted_occupancy(mdp, pi, gamma), mdp.P, gamma,
                         np.full(mdp.P.shape[0], 1 / mdp.P.shape[0]), atol=1e-11)
