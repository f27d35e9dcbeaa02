"""gu2021's network of states (envs/_mean_field.py): enumeration, team policies, lifted kernel, N-agent system."""

import itertools
import math

import numpy as np
import pytest

from netmarl_verify.envs import MemoryBudgetError
from netmarl_verify.envs._mean_field import (
    MeanFieldNetwork,
    composition_rank,
    compositions,
    correlated_policy_table,
    lift,
    lift_sizes,
    mf_congestion,
    mf_identity2,
    mf_lazy_walk,
    mf_random,
    mf_relay,
    mf_split,
    n_compositions,
    product_mdp,
    product_policy_table,
    product_states,
    random_individual_policy,
    simulate_agents,
)
from netmarl_verify.envs._validation import ModelValidationError


@pytest.mark.parametrize("total, parts", [(0, 3), (3, 1), (3, 3), (4, 4), (2, 6)])
def test_compositions_order_and_rank_round_trip(total, parts):
    C = compositions(total, parts)
    brute = sorted(c for c in itertools.product(range(total + 1), repeat=parts) if sum(c) == total)
    assert C.tolist() == [list(c) for c in brute]  # lexicographic, as documented
    assert len(C) == n_compositions(total, parts) == math.comb(total + parts - 1, parts - 1)
    assert (composition_rank(C, total) == np.arange(len(C))).all()
    assert (C[composition_rank(C[::-1])] == C[::-1]).all()  # unrank(rank(c)) = c


def test_rank_rejects_wrong_total():
    with pytest.raises(ValueError, match="sum to 3"):
        composition_rank([[1, 1]], 3)


@pytest.mark.parametrize("N, S, A", [(2, 5, 1), (3, 3, 2), (4, 4, 2), (6, 5, 2), (3, 15, 2), (10, 3, 2)])
def test_lift_sizes_table_of_the_guide(N, S, A):
    want = {(2, 5, 1): (15, 15, 25, 1), (3, 3, 2): (10, 56, 27, 8), (4, 4, 2): (35, 330, 256, 16),
            (6, 5, 2): (210, 5005, 15625, 64), (3, 15, 2): (680, 4960, 3375, 8),
            (10, 3, 2): (66, 3003, 59049, 1024)}[(N, S, A)]
    z = lift_sizes(N, S, A)
    assert (z.n_mu, z.n_xi, z.product_states, z.product_actions) == want


def _models():
    return [mf_random("path", 3, 2, 2, seed=3), mf_random("star", 4, 2, 2, seed=1, signed=True),
            mf_lazy_walk(3, 3, 2), mf_congestion(3, "cycle", n_agents=2), mf_relay(3), mf_split(), mf_identity2()]


@pytest.mark.parametrize("model", _models(), ids=lambda m: m.name)
def test_lifted_tables_are_distributions_and_consistent(model):
    L = lift(model)
    assert np.allclose(L.T.sum(axis=1), 1.0, atol=1e-12) and (L.T >= 0).all()
    assert (L.counts.sum(axis=(1, 2)) == model.n_agents).all()
    assert (L.xi_of_counts(L.counts) == np.arange(L.n_xi)).all()  # count-matrix rank round trip
    assert (np.sort(L.count_rank()) == np.arange(L.n_xi)).all()
    assert (L.mu_counts() == model.mus[L.xi_mu]).all()
    pi = random_individual_policy(model, 0)
    w = L.multinomial_policy(pi)
    table = L.policy_table(w)  # validates rows sum to 1
    assert np.allclose(table.sum(axis=1), 1.0, atol=1e-12)
    assert (table[~L.valid] == 0).all()
    # padded actions duplicate action 0
    P = L.tabular().P
    for m in range(L.n_mu):
        for a in np.flatnonzero(~L.valid[m]):
            assert (P[m, a] == P[m, 0]).all()


def test_multinomial_policy_is_the_multinomial_pmf():
    model = mf_random("path", 2, 3, 3, seed=2)
    L = lift(model)
    pi = random_individual_policy(model, 1)
    w = L.multinomial_policy(pi)
    for x in range(L.n_xi):
        want = 1.0
        for s in range(model.n_states):
            n = L.counts[x, s]
            c = int(n.sum())
            want *= math.factorial(c) / math.prod(math.factorial(int(k)) for k in n) * np.prod(pi[s, c] ** n)
        assert w[x] == pytest.approx(want, rel=1e-12)


def test_team_rewards_readings():
    model = mf_random("path", 3, 2, 2, seed=0)
    Lw, Lp = lift(model, "weighted"), lift(model, "printed")
    ns = Lw.counts.sum(axis=2)
    # weighted = mu(s) * printed
    assert np.allclose(Lw.team_rewards, Lp.team_rewards * ns / model.n_agents, atol=1e-15)
    with pytest.raises(ValueError, match="team_reward"):
        lift(model, "neither")


def _brute_next_law(model, L, x):
    """The next-mu law of pair x by enumerating the N-agent moves (independent agents)."""
    K = model.kernel_table()
    m = L.xi_mu[x]
    agents = [(s, a) for s in range(model.n_states) for a in range(model.n_actions) for _ in range(L.counts[x, s, a])]
    law = np.zeros(L.n_mu)
    for nxt in itertools.product(range(model.n_states), repeat=len(agents)):
        p = np.prod([K[m, s, a, y] for (s, a), y in zip(agents, nxt)])
        if p:
            law[model.mu_index(np.bincount(nxt, minlength=model.n_states))] += p
    return law


@pytest.mark.parametrize("model", [mf_random("cycle", 4, 3, 2, seed=5), mf_lazy_walk(3, 3, 2), mf_relay(3)],
                         ids=lambda m: m.name)
def test_next_mu_law_equals_brute_force(model):
    L = lift(model)
    for x in range(0, L.n_xi, max(1, L.n_xi // 25)):
        assert np.abs(L.T[x] - _brute_next_law(model, L, x)).max() < 1e-13


def test_correlated_policy_rows_sum_to_one_and_reduce_to_independent():
    model = mf_random("path", 3, 2, 2, seed=4)
    L = lift(model)
    pi = random_individual_policy(model, 2)
    C = correlated_policy_table(L, L.multinomial_policy(pi))
    assert np.allclose(C.sum(axis=1), 1.0, atol=1e-12)
    # the exchangeable execution of the multinomial team policy is independent execution
    assert np.abs(C - product_policy_table(model, pi)).max() < 1e-14


def test_product_mdp_rows_and_nonexchangeable_fault():
    model = mf_random("path", 3, 2, 2, seed=4)
    P = product_mdp(model)
    assert P.n_states == 9 and P.n_actions == 4
    assert np.allclose(P.P.sum(axis=2), 1.0)
    Pb = product_mdp(model, nonexchangeable=0.3)
    assert np.abs(Pb.P - P.P).max() > 0.01


def test_memory_refusal_names_the_table():
    model = mf_random("path", 5, 6, 2, seed=0)
    with pytest.raises(MemoryBudgetError, match="lifted MDP of 'random'"):
        lift(model, max_bytes=1000)


def test_kernel_validation_names_the_culprit():
    import networkx as nx

    bad = MeanFieldNetwork(nx.path_graph(2), 2, 1, lambda s, c, a: [0.7, 0.7], lambda s, c, a: 0.0, 0.9)
    with pytest.raises(ModelValidationError, match=r"kernel\(s=0, counts=\(0, 2\), a=0\)"):
        bad.kernel_table()


def test_simulator_matches_exact_values_within_clt():
    """Monte Carlo of the N-agent system vs the exact lifted V at one mu (tolerance: 4.5 standard errors plus the
    truncation gamma^T r_max / (1 - gamma))."""
    from netmarl_verify.solvers.exact._mean_field import evaluate_lifted

    model = mf_random("path", 3, 2, 2, seed=7, gamma=0.6)
    L = lift(model)
    pi = random_individual_policy(model, 3)
    V = evaluate_lifted(L, L.multinomial_policy(pi), teams=False).V
    start = np.array([[0, 2]] * 20000)
    T = 60
    ret = simulate_agents(model, pi, start, T, rng=11)
    se = ret.std(ddof=1) / math.sqrt(len(ret))
    exact = V[model.mu_index(np.array([1, 0, 1]))]
    assert abs(ret.mean() - exact) < 4.5 * se + model.gamma ** T * model.r_max / (1 - model.gamma)


def test_product_states_order_agent0_most_significant():
    model = mf_identity2()
    assert product_states(model).tolist() == [[0, 0], [0, 1], [1, 0], [1, 1]]


def test_state_graph_grid_is_the_2_by_n_lattice():
    import networkx as nx

    from netmarl_verify.envs import state_graph

    g = state_graph("grid", 8)                       # 2 x 4, row-major
    assert list(g.nodes) == list(range(8))
    assert nx.is_isomorphic(g, nx.grid_2d_graph(2, 4))
    assert sorted(g.neighbors(5)) == [1, 4, 6] and nx.diameter(g) == 4
    for bad in (5, 2):
        with pytest.raises(ValueError, match="even number of states"):
            state_graph("grid", bad)
    with pytest.raises(ValueError, match="'grid'"):
        state_graph("torus", 6)
