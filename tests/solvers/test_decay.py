"""qu2020 §2.2 / §3.1 quantities against brute force on the full Q table.

The full table Q_i(s, a) from ``q_table`` is itself checked against ``q_function`` (one kernel
row per pair, a different contraction), and against the joint tabular model. Truncations,
decay sups and the truncated gradient are then checked against direct numpy reductions of
that table. Tolerance 1e-12: everything is a finite sum of exactly computed terms on <= 24
states, so only rounding (~1e-15 relative) separates the two routes.
"""

import itertools

import networkx as nx
import numpy as np
import pytest
from numpy.testing import assert_allclose

import _reference as ref
from netmarl_verify import envs
from netmarl_verify.solvers.exact import (
    agent_marginals,
    decay_profile,
    evaluate_policy,
    interaction_matrix,
    policy_gradient,
    q_function,
    q_table,
    score_norm_bound,
    truncated_gradient,
    truncated_q,
)

FORMS = list(itertools.product(["local", "neighbourhood"], ["local", "neighbourhood"]))


def _instance(tf, rf, seed=3, graph=None):
    graph = nx.path_graph(4) if graph is None else graph
    mdp = envs.random_networked_mdp(graph, [2, 3, 2, 2][: graph.number_of_nodes()],
                                    [2, 1, 3, 2][: graph.number_of_nodes()], rng=seed,
                                    transition_form=tf, reward_form=rf)
    return mdp, envs.LocalSoftmaxPolicy.random(mdp, seed + 100)


@pytest.mark.parametrize("tf,rf", FORMS)
@pytest.mark.parametrize("gamma", [None, 0.7])
def test_q_table_matches_pairwise_q(tf, rf, gamma):
    mdp, pol = _instance(tf, rf)
    st, ac = ref.all_pairs(mdp)
    for i in range(mdp.n):
        Qt = q_table(mdp, pol, i, gamma).reshape(mdp.n_states, mdp.n_actions)
        Qp = q_function(mdp, pol, st, ac, agent=i, gamma=gamma).reshape(mdp.n_states, mdp.n_actions)
        assert_allclose(Qt, Qp, rtol=0, atol=1e-12)


def _outside_axes(mdp, inside):
    out = [j for j in range(mdp.n) if j not in inside]
    return out, tuple(out) + tuple(mdp.n + j for j in out)


@pytest.mark.parametrize("tf,rf", FORMS)
def test_truncated_q_all_weight_families_by_brute_force(tf, rf):
    mdp, pol = _instance(tf, rf)
    ev = evaluate_policy(mdp, pol)
    z = pol.probabilities()
    d = ev.stationary.reshape(mdp.state_sizes)
    for i in range(mdp.n):
        Q = q_table(mdp, pol, i, evaluation=ev)
        for k in range(mdp.n):
            inside = mdp.kappa_hop(i, k)
            out, axes = _outside_axes(mdp, inside)
            # uniform weights: plain mean over outside states and actions
            assert_allclose(truncated_q(mdp, pol, i, k, "uniform", evaluation=ev), Q.mean(axis=axes), atol=1e-12)
            # stationary conditional weights: d(s) prod_{j out} zeta_j(a_j|s_j), normalised
            W = d.reshape(mdp.state_sizes + (1,) * mdp.n)
            for j in out:
                shp = [1] * (2 * mdp.n)
                shp[j], shp[mdp.n + j] = mdp.state_sizes[j], mdp.action_sizes[j]
                W = W * z[j].reshape(shp)
            W = np.broadcast_to(W, Q.shape)
            expect = (W * Q).sum(axis=axes) / W.sum(axis=axes)
            assert_allclose(truncated_q(mdp, pol, i, k, "stationary", evaluation=ev), expect, atol=1e-12)
            # fixed outside configuration (ying2023 eq. (14))
            fs, fa = np.array([1, 0, 1, 1]), np.array([1, 0, 2, 0])
            idx = tuple(slice(None) if j in inside else fs[j] for j in range(mdp.n)) + tuple(
                slice(None) if j in inside else fa[j] for j in range(mdp.n))
            assert_allclose(truncated_q(mdp, pol, i, k, ("fixed", fs, fa), evaluation=ev), Q[idx], atol=1e-12)


@pytest.mark.parametrize("tf,rf", FORMS)
def test_decay_sup_by_brute_force_and_search_is_a_lower_bound(tf, rf):
    """sup mode = brute-force max over all pairs agreeing on N_i^kappa (4 agents)."""
    mdp, pol = _instance(tf, rf)
    i = 0
    Q = q_table(mdp, pol, i)
    st, ac = ref.all_pairs(mdp)
    flatQ = Q.reshape(-1)
    prof = decay_profile(mdp, pol, i, range(mdp.n), method="sup")
    search = decay_profile(mdp, pol, i, range(mdp.n), method="search", rng=0)
    for c, k in enumerate(range(mdp.n)):
        inside = list(mdp.kappa_hop(i, k))
        key = np.concatenate([st[:, inside], ac[:, inside]], axis=1)
        _, groups = np.unique(key, axis=0, return_inverse=True)
        brute = max(np.ptp(flatQ[groups.ravel() == g]) for g in np.unique(groups))
        assert_allclose(prof.values[c], brute, rtol=0, atol=1e-12)
        assert search.values[c] <= prof.values[c] + 1e-12
        # the witness really attains the value
        w = prof.witnesses[c]
        q2 = q_function(mdp, pol, np.array([w["s"], w["s2"]]), np.array([w["a"], w["a2"]]), agent=i)
        assert_allclose(abs(q2[0] - q2[1]), prof.values[c], atol=1e-12)
    assert prof.values[-1] == pytest.approx(0.0, abs=1e-12)  # kappa covers everything


def test_decay_sampled_follows_b4_protocol():
    mdp, pol = _instance("local", "local")
    prof = decay_profile(mdp, pol, 0, [0, 1, 2, 3], method="sampled", rng=5, n_samples=4)
    sup = decay_profile(mdp, pol, 0, [0, 1, 2, 3], method="sup")
    assert prof.values.shape == (4, 4)
    assert np.all(prof.values <= sup.values[None, :] + 1e-12)
    assert_allclose(prof.values[:, -1], 0.0, atol=1e-12)


@pytest.mark.parametrize("tf,rf", FORMS)
def test_truncated_gradient_full_kappa_is_exact_gradient(tf, rf):
    """With N_i^kappa = all agents, Q~_j = Q_j and eq. (7) is Lemma 1 exactly."""
    mdp, pol = _instance(tf, rf)
    g = policy_gradient(mdp, pol)
    for i in range(mdp.n):
        for w in ("uniform", "stationary"):
            assert_allclose(truncated_gradient(mdp, pol, i, mdp.n, w), g[i], atol=1e-12)


def test_truncated_gradient_by_brute_force_sum():
    """Eq. (7) as an explicit sum over all (s, a) of the joint stationary distribution."""
    mdp, pol = _instance("local", "local")
    ev = evaluate_policy(mdp, pol)
    st, ac = ref.all_pairs(mdp)
    pi_joint = pol.joint_table(mdp).reshape(-1)
    d = np.repeat(ev.stationary, mdp.n_actions)
    z = pol.probabilities()
    kappa = 1
    for i in range(mdp.n):
        tq = {j: truncated_q(mdp, pol, j, kappa, evaluation=ev) for j in mdp.kappa_hop(i, kappa)}
        total = np.zeros_like(z[i])
        for row in range(st.shape[0]):
            s, a = st[row], ac[row]
            val = 0.0
            for j, T in tq.items():
                inside = list(mdp.kappa_hop(j, kappa))
                val += T[tuple(s[inside]) + tuple(a[inside])]
            score = np.zeros_like(z[i])
            score[s[i]] = -z[i][s[i]]
            score[s[i], a[i]] += 1.0
            total += d[row] * pi_joint[row] * val / mdp.n * score
        assert_allclose(truncated_gradient(mdp, pol, i, kappa), total, atol=1e-12)


def test_interaction_matrix_by_hand():
    """Two agents, local form: C from explicit TV distances."""
    g = nx.path_graph(2)
    P0 = np.empty((2, 2, 1, 2))
    P0[0, 0, 0] = [1.0, 0.0]
    P0[0, 1, 0] = [0.8, 0.2]
    P0[1, 0, 0] = [0.5, 0.5]
    P0[1, 1, 0] = [0.4, 0.6]
    P1 = np.full((2, 2, 1, 2), 0.5)
    mdp = envs.NetworkedMDP(g, [P0, P1], [np.zeros((2, 1))] * 2, transition_form="local", reward_form="local")
    C = interaction_matrix(mdp)
    # C_00: sup over s_1 of TV between rows differing in (s_0, a_0): s_1=0: |1-.5| = .5; s_1=1: |.8-.4| = .4
    # C_01: sup over s_0 of TV between rows differing in s_1: s_0=0: .2; s_0=1: .1
    assert_allclose(C, [[0.5, 0.2], [0.0, 0.0]], atol=1e-15)


def test_agent_marginals_lemma3_structure_and_simulation_free_check():
    mdp, pol = _instance("local", "local")
    s = np.array([[1, 0, 1, 1]])
    a = np.array([[1, 0, 2, 0]])
    m = agent_marginals(mdp, pol, 0, s, a, horizon=6)
    assert_allclose(m.sum(axis=(2, 3)), 1.0, atol=1e-14)
    assert m[0, 0, 1, 1] == 1.0
    # t = 1 from the kernel by hand: P_0(.|s_0, s_1, a_0) times zeta_0
    P0 = mdp.transitions[0][1, 0, 1]
    assert_allclose(m[0, 1], P0[:, None] * pol.probabilities()[0], atol=1e-15)
    # Lemma 3's first claim: pairs agreeing on N_0^kappa give identical marginals for t <= kappa
    s2, a2 = s.copy(), a.copy()
    s2[0, 3], a2[0, 3] = 0, 1  # agent 3 is at distance 3: the pairs agree on N_0^2 (kappa = 2)
    m2 = agent_marginals(mdp, pol, 0, s2, a2, horizon=6)
    tv = 0.5 * np.abs(m - m2).sum(axis=(2, 3))[0]
    assert_allclose(tv[:3], 0.0, atol=1e-15)  # t <= kappa
    assert tv[3] > 1e-6  # s_3(0) reaches agent 0 after 3 steps along the path


def test_score_norm_bound_exact():
    pol = envs.LocalSoftmaxPolicy([np.log(np.array([[0.2, 0.3, 0.5], [0.9, 0.05, 0.05]]))])
    # at (s=1, a=1): e_1 - zeta = (-.9, .95, -.05) -> norm sqrt(.81 + .9025 + .0025)
    assert score_norm_bound(pol, 0) == pytest.approx(np.sqrt(0.81 + 0.9025 + 0.0025), rel=1e-14)
