"""qu2020 Lemma 3, App. A.2 and App. B.4 claims: quick verdicts, brute-force references, broken inputs."""

import itertools
import math

import networkx as nx
import numpy as np
import pytest

from netmarl_verify import envs
from netmarl_verify.solvers.exact import agent_marginals, interaction_matrix, marginal_tv_sup, row_sums
from netmarl_verify.verify import bootstrap_rate_quantile, check_instance, get_claim, run_claim, with_faults
from netmarl_verify.verify.claims.qu2020 import experiments as qx

from _figure_checks import assert_drawn_as_spec, claim_specs, shape


def _instance(claim, name, quick=True, seed=0):
    return next(i for i in claim.instances(quick, seed) if i.name == name)


@pytest.fixture(scope="module")
def quick_rows():
    return {cid: run_claim(get_claim(cid), quick=True, seed=0, progress=False)
            for cid in ("qu2020.lemma3", "qu2020.appA2", "qu2020.figB4")}


# ----------------------------------------------------------------------------- Lemma 3
def _brute_force_sup_tv(mdp, policy, agent, kappa, horizon):
    """Max TV over every pair of initial (s, a) agreeing on N_i^kappa, pair by pair."""
    S = mdp.state_tuples()
    A = mdp.action_tuples()
    Z = [(s, a) for s in S for a in A]
    M = agent_marginals(mdp, policy, agent, np.array([z[0] for z in Z]), np.array([z[1] for z in Z]), horizon)
    inside = list(mdp.kappa_hop(agent, kappa))
    best = np.zeros(horizon + 1)
    for x, y in itertools.combinations(range(len(Z)), 2):
        if (Z[x][0][inside] == Z[y][0][inside]).all() and (Z[x][1][inside] == Z[y][1][inside]).all():
            tv = 0.5 * np.abs(M[x] - M[y]).sum(axis=(1, 2))
            best = np.maximum(best, tv)
    return best


@pytest.mark.parametrize("graph", [nx.path_graph(3), nx.cycle_graph(3)], ids=["path3", "cycle3"])
def test_lemma3_tv_exhaustive_matches_pairwise_brute_force(graph):
    mdp = envs.coupled_networked_mdp(graph, 0.5, 2, 2, rng=1)
    policy = envs.LocalSoftmaxPolicy.random(mdp, 2)
    for agent in range(mdp.n):
        got = marginal_tv_sup(mdp, policy, agent, [0, 1], 5)
        for c, k in enumerate([0, 1]):
            np.testing.assert_allclose(got[c], _brute_force_sup_tv(mdp, policy, agent, k, 5), rtol=0, atol=1e-15)


def test_lemma3_random_pairs_never_exceed_the_sup():
    mdp = envs.coupled_networked_mdp(nx.path_graph(4), 0.4, 2, 2, rng=3)
    policy = envs.LocalSoftmaxPolicy.random(mdp, 4)
    exact = marginal_tv_sup(mdp, policy, 0, [0, 1, 2], 6)
    sampled = marginal_tv_sup(mdp, policy, 0, [0, 1, 2], 6, n_pairs=32, rng=np.random.default_rng(0))
    assert (sampled <= exact + 1e-15).all()
    assert (sampled[:, 1:] > 0).any()


def test_lemma4_bound_known_values():
    # path 0 - 1 - 2 with C_01 = 0.5, C_12 = 0.25, agent 0, kappa = 0: a0 = (0, 1, 1)
    C = np.array([[0.0, 0.5, 0.0], [0.5, 0.0, 0.25], [0.0, 0.25, 0.0]])
    D = nx.floyd_warshall_numpy(nx.path_graph(3)).astype(int)
    got = qx.lemma4_bound(C, D, 0, 0, 3)
    # t=1: C_01 = 0.5; t=2: C_01 (C_10 a0_0 + C_12 a0_2) = 0.5 * 0.25; t=3: 0.5 * (0.5*0.5 + 0.25*0.25) * ...
    a = np.array([0.0, 1.0, 1.0])
    expected = [a[0], (C @ a)[0], (C @ C @ a)[0], (C @ C @ C @ a)[0]]
    np.testing.assert_allclose(got, expected, rtol=1e-15)
    assert got[0] == 0 and got[1] == 0.5 and got[2] == 0.125
    assert (qx.lemma4_bound(C, D, 0, 1, 3)[:2] == 0).all()  # zero for t <= kappa


def test_lemma3_quick_verdicts(quick_rows):
    rows = quick_rows["qu2020.lemma3"]
    strong = [r for r in rows if "rho >= 1" in r.instance]
    assert {r.verdict for r in rows if "rho >= 1" not in r.instance} == {"holds"}
    assert {r.verdict for r in strong if r.point["form"] == "rho^t"} == {"not applicable"}
    assert {r.verdict for r in strong if r.point["form"] != "rho^t"} == {"holds"}  # Lemma 4 needs no rho < 1
    assert min(r.values["rho"] for r in strong if r.point["form"] == "rho^t") >= 1
    # t <= kappa: exactly equal laws up to rounding
    zeros = [r.measured for r in rows if r.point["t"] <= r.point["kappa"]]
    assert zeros and max(zeros) < qx.LEMMA3_ATOL


def test_lemma3_copy_chain_attains_rho_t(quick_rows):
    """Known answer (envs.copy_chain_mdp docstring): TV(pi_t0, pi~_t0) = rho^t for t > kappa."""
    rows = [r for r in quick_rows["qu2020.lemma3"] if r.instance.startswith("copy chain")
            and r.point["form"] == "rho^t" and r.point["t"] > r.point["kappa"]]
    assert rows
    for r in rows:
        assert r.measured == pytest.approx(0.6 ** r.point["t"], rel=1e-12)


def test_lemma3_wrong_rho_is_violated():
    claim = with_faults("qu2020.lemma3", rho_scale=0.5, claim_id="qu2020.lemma3_broken")
    # the copy chain attains rho^t, so both forms break; on the coupled path rho^t is loose by more than 2
    # (max ratio 0.42) but the proof's [C^t a0]_i is attained at t = kappa + 1, so halving C breaks it
    for name, forms in (("copy chain n=4 rho=0.6", {"rho^t", "[C^t a0]_i"}),
                        ("coupled path n=5 strength=0.3", {"[C^t a0]_i"})):
        rows = check_instance(claim, _instance(claim, name), seed=0, quick=True)
        bad = [r for r in rows if r.verdict == "violated"]
        assert {r.point["form"] for r in bad} == forms
        assert all(r.counterexample["measured"] > r.counterexample["bound"] for r in bad)


def test_lemma3_figure(quick_rows):
    specs, frame = claim_specs(get_claim("qu2020.lemma3"), quick_rows["qu2020.lemma3"])
    assert [shape(s) for s in specs] == [("decay", [(1, 9)] * 3, [9], 0, 0)] * 2 + [
        ("decay", [(1, 9)] * 2, [9], 0, 0), ("decay", [(1, 9)] * 3, [9], 0, 0)]
    spec = specs[0]
    assert [s.label for s in spec.series] == [r"$\kappa=0$", r"$\kappa=1$", r"$\kappa=2$"]
    rho = float(frame["value.rho"][frame["instance"] == "copy chain n=4 rho=0.6"].iloc[0])
    np.testing.assert_allclose(spec.bounds[0].y, rho ** spec.bounds[0].x)
    assert all(s.mask_at_or_below == qx.LEMMA3_ATOL for s in spec.series)
    for s in get_claim("qu2020.lemma3").figures(frame):
        assert s.x == "point.t" and s.log_y
        assert_drawn_as_spec(s, frame)


# ----------------------------------------------------------------------------- App. A.2
def _stirling2(n, k):
    return sum((-1) ** j * math.comb(k, j) * (k - j) ** n for j in range(k + 1)) // math.factorial(k)


@pytest.mark.parametrize("n,k", [(3, 2), (4, 3), (5, 3), (4, 4)])
def test_canonical_colourings_one_per_colour_renaming(n, k):
    canon = qx.canonical_colourings(n, k)
    assert len(canon) == sum(_stirling2(n, j) for j in range(1, k + 1))
    # every colouring is a renaming of exactly one canonical one
    def canonical_form(c):
        names = {}
        return tuple(names.setdefault(x, len(names)) for x in c)
    assert {canonical_form(c) for c in itertools.product(range(k), repeat=n)} == set(canon)


@pytest.mark.parametrize("graph,k,colourable", [
    (nx.complete_graph(3), 2, False), (nx.complete_graph(3), 3, True), (nx.cycle_graph(4), 2, True),
    (nx.complete_graph(4), 3, False), (nx.complete_graph(4), 4, True), (nx.cycle_graph(5), 2, False),
    (nx.cycle_graph(5), 3, True), (nx.petersen_graph(), 2, False),
])
def test_is_colourable_known_chromatic_numbers(graph, k, colourable):
    # chromatic numbers: K3 = 3, C4 = 2, K4 = 4, C5 = 3, Petersen = 3
    assert qx.is_colourable(graph, k) is colourable


def test_pi_b_closed_form_against_joint_action_enumeration():
    rng = np.random.default_rng(0)
    g = nx.cycle_graph(4)
    g.add_edge(0, 2)
    zeta = rng.dirichlet(np.ones(3), size=4)
    expected = np.zeros(4)
    for a in itertools.product(range(3), repeat=4):
        p = np.prod([zeta[i, a[i]] for i in range(4)])
        for i in range(4):
            expected[i] += p * all(a[i] != a[j] for j in g.neighbors(i))
    np.testing.assert_allclose(qx.pi_b_closed_form(g, zeta), expected, rtol=1e-14)


def test_appA2_quick_verdicts(quick_rows):
    rows = quick_rows["qu2020.appA2"]
    assert {r.verdict for r in rows} == {"holds"}
    max_J = {r.instance: r.extra["max_J"] for r in rows if r.point["check"].startswith("max J")}
    # best colourings: triangle k=2 -> one proper node (1/3); K4 k=3 -> two (1/2); C5 k=2 -> three (3/5)
    expected = {"triangle k=2": 1 / 3, "triangle k=3": 1.0, "4-cycle k=2": 1.0, "K4 k=3": 0.5, "5-cycle k=2": 0.6}
    assert max_J == pytest.approx(expected, rel=1e-12)


def test_appA2_canonical_max_equals_full_max():
    g, k = nx.complete_graph(3), 3
    mdp = envs.coloring_mdp(g, k)
    from netmarl_verify.solvers.exact import average_reward

    def J(col):
        return average_reward(mdp, qx._state_independent(np.eye(k)[list(col)], k))
    all_J = {c: J(c) for c in itertools.product(range(k), repeat=3)}
    assert max(J(c) for c in qx.canonical_colourings(3, k)) == max(all_J.values()) == 1.0
    # equivariance under colour renaming
    for c, v in all_J.items():
        assert v == pytest.approx(all_J[tuple((x + 1) % k for x in c)], abs=1e-15)


def _drop_edge_builder(graph, k):
    """A kernel whose b-update ignores the edge (0, 1) at both ends (coloring_mdp of G minus that edge)."""
    g = graph.copy()
    g.remove_edge(0, 1)
    return envs.coloring_mdp(g, k)


def _ignore_one_neighbour_builder(graph, k):
    """Agent 0's b-update ignores neighbour 1; the graph and everything else stay intact."""
    good = envs.coloring_mdp(graph, k)
    g = graph.copy()
    g.remove_edge(0, 1)
    bad0 = envs.coloring_mdp(g, k).transitions[0]  # axes: states of N_0 \ {1}, a_0, s_0'
    pos = good.neighbourhoods[0].index(1)
    P0 = np.broadcast_to(np.expand_dims(bad0, pos), good.transitions[0].shape)
    P = [P0] + list(good.transitions[1:])
    return envs.NetworkedMDP(graph, P, list(good.rewards), transition_form="local", reward_form="local")


def test_appA2_edge_ignored_is_violated():
    claim = with_faults("qu2020.appA2", mdp_builder=_drop_edge_builder, claim_id="qu2020.appA2_broken")
    rows = check_instance(claim, _instance(claim, "triangle k=2"), seed=0, quick=True)
    bad = {r.point["check"] for r in rows if r.verdict == "violated"}
    # the triangle minus an edge is 2-colourable, so max J = 1 although K3 is not
    assert "max J = 1 iff a proper colouring exists" in bad
    assert any(c.startswith("pi_b(1)") for c in bad)


def test_appA2_one_neighbour_ignored_is_violated():
    claim = with_faults("qu2020.appA2", mdp_builder=_ignore_one_neighbour_builder, claim_id="qu2020.appA2_broken")
    rows = check_instance(claim, _instance(claim, "triangle k=3"), seed=0, quick=True)
    bad = {r.point["check"] for r in rows if r.verdict == "violated"}
    assert any(c.startswith("pi_b(1)") for c in bad) and "J = mean_i pi_b(1)" in bad
    assert "stationary u_i ~ zeta_i" not in bad  # the colour dynamics are untouched


# ----------------------------------------------------------------------------- App. B.4
def test_figB4_quick_verdicts(quick_rows):
    rows = quick_rows["qu2020.figB4"]
    assert len(rows) == 6 and {r.verdict for r in rows} == {"holds"}
    fit = [r for r in rows if r.point["check"] == "fitted rate of the median curve"]
    for r in fit:
        curve = r.extra["curve"]
        assert np.asarray(curve["curves"]).shape == (qx.FIGB4_INSTANCES_QUICK, len(curve["kappas"]))
        assert 0 <= r.extra["thm1_share_rho_lt_1"] <= 1 and r.extra["thm1_rho_max"] > 0
    # kappa = 0 .. ecc - 1: line n=6 from an end -> 0..4; 2x4 grid from a corner -> 0..3
    assert [len(r.extra["curve"]["kappas"]) for r in fit] == [5, 4]


def test_figB4_reversed_profile_is_violated():
    """A profile that grows with kappa (the true values read backwards) must fail every check."""
    def reversed_profile(*args):
        return qx.b4_profile(*args)[:, ::-1]

    claim = with_faults("qu2020.figB4", profile=reversed_profile, claim_id="qu2020.figB4_broken")
    rows = run_claim(claim, quick=True, seed=0, progress=False)
    assert {r.verdict for r in rows} == {"violated"}
    assert all(r.measured > 1 for r in rows if "rate" in r.point["check"] and "share" not in r.point["check"])


def test_bootstrap_rate_of_flat_curves_is_not_below_one():
    rng = np.random.default_rng(0)
    k = np.arange(6)
    flat = np.exp(rng.normal(size=(30, 6)))  # no dependence on kappa
    assert bootstrap_rate_quantile(k, flat, 0.95, 500, rng) > 1
    decaying = flat * 0.3**k
    assert bootstrap_rate_quantile(k, decaying, 0.95, 500, rng) < 0.5


def test_figB4_figure(quick_rows):
    specs, frame = claim_specs(get_claim("qu2020.figB4"), quick_rows["qu2020.figB4"])
    assert [shape(s) for s in specs] == [("decay", [(8, 5)], [5], 0, 0), ("decay", [(8, 4)], [4], 0, 0)]
    for spec in specs:
        assert spec.note.startswith("Theorem 1 rho over instances: median")
        assert spec.series[0].label == "LHS of (4)" and spec.band == (0.1, 0.9)
        assert_drawn_as_spec(spec)


def test_figB4_thm1_row_sums_are_those_of_the_drawn_instances():
    """The recorded Theorem 1 rho is max_i sum_j C_ij of each random instance the profile was computed on."""
    seen = []

    def recording_profile(mdp, *args):
        seen.append(row_sums(interaction_matrix(mdp))[0])
        return qx.b4_profile(mdp, *args)

    claim = with_faults("qu2020.figB4", profile=recording_profile, claim_id="qu2020.figB4_recorded")
    inst = _instance(claim, "line n=6 (quick)")
    rows = check_instance(claim, inst, seed=0, quick=True)
    assert len(seen) == qx.FIGB4_INSTANCES_QUICK
    np.testing.assert_array_equal(rows[0].extra["curve"]["thm1_rho"], seen)
    assert rows[0].extra["thm1_rho_max"] == max(seen)
