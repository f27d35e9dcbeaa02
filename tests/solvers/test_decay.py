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


# ---------------------------------------------------------------------------- result objects (issue 15)
def test_interaction_rho_is_row_sums_bit_for_bit_with_names():
    from netmarl_verify.solvers.exact import InteractionRho, interaction_rho, row_sums

    for tf in ("local", "neighbourhood"):
        mdp, _ = _instance(tf, "local", seed=7)
        C = interaction_matrix(mdp)
        rho, sums = row_sums(C)
        res = interaction_rho(C)
        assert isinstance(res, InteractionRho) and isinstance(res.rho, float)
        assert res.rho == rho and np.array_equal(res.sums, sums)  # the same numbers, not approximately
        assert res.sums.shape == (mdp.n,) and res.rho == res.sums[res.agent] == res.sums.max()
        assert res.decays == (rho < 1)
        assert res == interaction_rho(C.copy()) and res != interaction_rho(2 * C)


def test_interaction_rho_by_hand_and_refuses_non_square():
    from netmarl_verify.solvers.exact import interaction_rho

    res = interaction_rho([[0.0, 0.5, 0.0], [0.25, 0.5, 0.5], [0.0, 0.125, 0.0]])
    assert res.rho == 1.25 and res.sums.tolist() == [0.5, 1.25, 0.125] and res.agent == 1 and not res.decays
    for bad in (np.zeros((2, 3)), np.zeros(3), np.zeros((0, 0))):
        with pytest.raises(ValueError, match="square"):
            interaction_rho(bad)
    with pytest.raises(Exception):  # frozen result
        res.rho = 0.0


def test_decay_profile_is_a_dataclass_with_equality_and_the_same_repr():
    import dataclasses

    from netmarl_verify.solvers.exact import DecayProfile

    mdp, pol = _instance("local", "local")
    a = decay_profile(mdp, pol, 1, [0, 1], method="sup")
    b = decay_profile(mdp, pol, 1, [0, 1], method="sup")
    assert dataclasses.is_dataclass(a)
    assert [f.name for f in dataclasses.fields(a)] == ["kappas", "values", "method", "witnesses", "evaluations"]
    assert a == b and a is not b
    assert a != decay_profile(mdp, pol, 1, [0], method="sup") and a != "DecayProfile"
    assert a.evaluations == mdp.n_states * mdp.n_actions and len(a.witnesses) == 2
    # the repr text of the hand-written class it replaces
    assert repr(a) == (f"DecayProfile(method='sup', kappas=[0, 1], "
                       f"values={np.round(np.asarray(a.values), 6).tolist()})")
    c = DecayProfile([0, 2], [0.5, 0.25], "search")
    assert repr(c) == "DecayProfile(method='search', kappas=[0, 2], values=[0.5, 0.25])"
    assert isinstance(c.kappas, np.ndarray) and isinstance(c.values, np.ndarray)
    assert c.witnesses == [] and c.evaluations == 0
    assert DecayProfile([0, 2], [0.5, 0.25], "search", None) == c  # witnesses=None means none, as before
    s = decay_profile(mdp, pol, 1, [0, 1], method="sampled", n_samples=3, rng=0)
    assert s == decay_profile(mdp, pol, 1, [0, 1], method="sampled", n_samples=3, rng=0)
    assert s.values.shape == (3, 2) and s.witnesses == []


def test_policy_evaluation_is_built_with_keywords_only():
    from netmarl_verify.solvers.exact import PolicyEvaluation

    mdp, pol = _instance("local", "local")
    ev = evaluate_policy(mdp, pol)
    with pytest.raises(TypeError):
        PolicyEvaluation(ev.model, None, "dense", ev.P, ev.rewards, ev.stationary, ev.J_local, ev.values, 1,
                         "raise")
    fields = {f: getattr(ev, f) for f in ("model", "gamma", "backend", "P", "rewards", "stationary", "J_local",
                                          "values", "period", "periodic", "residuals", "custom_rewards")}
    again = PolicyEvaluation(**fields, _solver=ev._solver)
    st, ac = ref.all_pairs(mdp)
    assert np.array_equal(again.q(st[:5], ac[:5]), ev.q(st[:5], ac[:5]))
    assert "_solver" not in repr(ev) and repr(again) == repr(ev)


def test_critic_equation_is_built_with_its_residual():
    from netmarl_verify.solvers.exact import critic_fixed_point

    mdp, pol = _instance("local", "local")
    _, eq = critic_fixed_point(mdp, pol, 0, 1, full_output=True)
    res = eq.equation_residual()
    assert np.isfinite(eq.residual) and eq.residual < 1e-10
    keep = np.arange(eq.pi.size) != eq.dummy
    scale = max(1.0, float(np.abs(eq.pi * (eq.mean_reward - eq.J))[keep].max(initial=0.0)))
    assert eq.residual == pytest.approx(float(np.abs(res).max()) / scale, rel=1e-9, abs=1e-300)
