"""ying2023 claims (verify/claims/ying2023): quick runs, the findings pinned, broken inputs violated."""

import math

import numpy as np
import pytest

from netmarl_verify.verify import get_claim, list_claims, run_claim, with_faults

from _figure_checks import assert_drawn_as_spec, claim_specs

IDS = ("ying2023.occupancy", "ying2023.lemma1", "ying2023.lemma3", "ying2023.assump1", "ying2023.lemma2",
       "ying2023.eq18", "ying2023.prop1", "ying2023.remark2", "ying2023.remark4")
ALL_IDS = IDS[:7] + ("ying2023.remark3",) + IDS[7:] + ("ying2023.alg1_estimators", "ying2023.prop2a", "ying2023.prop2c", "ying2023.thm1",
                 "ying2023.thm2", "ying2023.td_oracle", "ying2023.prop2b", "ying2023.e1", "ying2023.e2",
                 "ying2023.e5")


@pytest.fixture(scope="module")
def quick_rows():
    return {cid: run_claim(get_claim(cid), quick=True, seed=0, progress=False) for cid in IDS}


def _verdicts(rows, pred=lambda r: True):
    return {r.verdict for r in rows if pred(r)}


def test_listed_in_order():
    assert [c.id for c in list_claims("ying2023")] == list(ALL_IDS)


@pytest.mark.parametrize("cid", ["ying2023.occupancy", "ying2023.lemma1", "ying2023.assump1", "ying2023.eq18"])
def test_identities_hold(quick_rows, cid):
    assert _verdicts(quick_rows[cid]) == {"holds"}


@pytest.mark.parametrize("cid, fault", [
    ("ying2023.occupancy", {"mass_scale": 0.9}),        # lambda normalised / wrong mass
    ("ying2023.lemma1", {"gradient_scale": 3.0}),       # the 1/n of F dropped (n = 3)
    ("ying2023.assump1", {"closed_form_scale": 0.5}),   # a wrong kernel influence
    ("ying2023.eq18", {"directed": True}),              # a one-sided "distance"
    ("ying2023.lemma3", {"c1_scale": 0.5}),
    ("ying2023.remark2", {"grad_scale": -1.0}),       # F minimised: stationary points far from f*
    ("ying2023.remark4", {"c1_scale": 0.01}),
])
def test_broken_inputs_are_violated(cid, fault):
    rows = run_claim(with_faults(cid, **fault), quick=True, progress=False)
    assert "violated" in _verdicts(rows), cid


def _local(rows):
    return [r for r in rows if "local=True" in r.instance or "copy_chain" in r.instance]


def test_lemma2_wrong_constant_is_violated_on_local_policies():
    """On local-state policies (where Lemma 2 holds) a c0 10x too small is violated."""
    rows = run_claim(with_faults("ying2023.lemma2", c0_scale=0.1), quick=True, progress=False)
    assert "violated" in _verdicts(_local(rows))


def test_prop1_wrong_constant_is_violated_on_local_policies(quick_rows):
    """Prop. 1 holds on local policies with ratios below 1e-3 (it is loose there), so the wrong constant that
    breaks it must be smaller than that: c0 x 1e-4."""
    local = _local(quick_rows["ying2023.prop1"])
    assert _verdicts(local) == {"holds"} and max(r.ratio for r in local) < 1e-3
    rows = run_claim(with_faults("ying2023.prop1", c0_scale=1e-4), quick=True, progress=False)
    assert "violated" in _verdicts(_local(rows))


def test_lemma2_holds_for_local_policies_and_fails_on_the_relay(quick_rows):
    rows = quick_rows["ying2023.lemma2"]
    local = [r for r in rows if "local=True" in r.instance or "copy_chain" in r.instance]
    assert local and _verdicts(local) == {"holds"}
    relay = [r for r in rows if r.instance.startswith("relay") and "couple=0.0 " in r.instance and r.point["i"] == 0
             and r.point["kappa"] >= 1]
    assert relay and _verdicts(relay) == {"violated"}
    # beta* = inf: the bound is exactly 0, the measured dependence on s_{kappa+1} is not
    assert all(r.bound == 0.0 and r.measured > 1.0 for r in relay)


def test_lemma3_fails_by_less_than_a_factor_two(quick_rows):
    rows = quick_rows["ying2023.lemma3"]
    absorbing = [r for r in rows if r.instance.startswith("lemma3_absorbing")]
    assert max(r.ratio for r in absorbing) > 1.0  # the printed bound with TV = half l1 fails
    assert all(r.extra["ratio_tv_l1"] <= 1.0 + 1e-12 for r in rows)  # the l1 reading holds
    # known value: gamma = 0.5, eps = 0.01, eta = 0: ||lambda_0^hat - lambda_0||_1 = |2 - (1-e)X| + eX + 2 - X
    X = 1.0 / (1.0 - 0.5 * 0.99 ** 2)
    want = abs(2 - 0.99 * X) + 0.01 * X + 2 - X
    row = next(r for r in absorbing if "eps=0.01 eta=0.0" in r.instance and r.point["i"] == 0)
    assert row.measured == pytest.approx(want, rel=1e-12)


def test_copy_chain_known_answer(quick_rows):
    rows = [r for r in quick_rows["ying2023.assump1"] if r.point.get("check") == "copy chain: beta*(rho) = log rho"]
    assert len(rows) == 4
    for r in rows:
        assert r.extra["beta_star"] == pytest.approx(math.log(r.point["rho"]), abs=1e-12)


def test_figures_are_specs(quick_rows):
    for cid in ("ying2023.lemma2", "ying2023.prop1", "ying2023.lemma3"):
        specs, frame = claim_specs(get_claim(cid), quick_rows[cid])
        assert specs
        for spec in specs:
            assert_drawn_as_spec(spec, frame)


def test_search_replays_a_relay_violation():
    from netmarl_verify.verify._search import replay_instance

    claim = get_claim("ying2023.lemma2")
    inst = replay_instance(claim, {"family": "relay", "kappa": 1, "gamma": 0.9, "eps": 0.05, "couple": 0.0})
    assert inst.params["family"] == "relay"


def test_remark2_holds_where_its_premise_holds_and_finds_a_spurious_point(quick_rows):
    rows = {r.instance.split(" f=")[0]: r for r in quick_rows["ying2023.remark2"]}
    single = rows["single agent S=3 A=2"]
    assert single.verdict == "holds" and single.assumptions_hold
    coord = rows["coordination_pair gamma=0.9"]
    assert coord.verdict == "not applicable"  # [15, Assumption 5.11(iii)] fails: the class's image is not convex
    # ... and the localized class has a stationary point well below f* = 9.5 (an equilibrium of the game)
    stuck = [F for F, g in zip(coord.extra["final_F"], coord.extra["final_grad_norm"]) if g < 1e-8]
    assert coord.extra["f_star"] == pytest.approx(9.5, abs=1e-9) and min(stuck) < 9.0


def test_remark4_ratios_stay_below_one(quick_rows):
    rows = quick_rows["ying2023.remark4"]
    assert rows and _verdicts(rows) == {"holds"}


# ---------------------------------------------------------------------------- Algorithm 1 and Prop. 2
ALG = ("ying2023.alg1_estimators", "ying2023.prop2a", "ying2023.prop2c", "ying2023.thm1", "ying2023.thm2",
       "ying2023.td_oracle", "ying2023.prop2b")


@pytest.fixture(scope="module")
def alg_rows():
    return {cid: run_claim(get_claim(cid), quick=True, seed=0, progress=False) for cid in ALG}


@pytest.mark.parametrize("cid", ALG)
def test_algorithm_claims_hold_on_their_quick_instances(alg_rows, cid):
    assert alg_rows[cid] and _verdicts(alg_rows[cid]) == {"holds"}


@pytest.mark.parametrize("cid, fault", [
    ("ying2023.alg1_estimators", {"horizon_shift": 3}),  # compared with lambda^(H+3): a wrong horizon
    ("ying2023.prop2a", {"eps1_scale": 0.01}),
    ("ying2023.prop2c", {"c3_scale": 0.01}),
    ("ying2023.thm1", {"slack_scale": 0.0}),             # (41) without its error term
    ("ying2023.thm2", {"thm2_slope_tol": -0.5}),         # a claimed rate samples^-1: wrong exponent
    ("ying2023.td_oracle", {"td_reward_scale": 1.1}),    # a wrong target: the error plateaus
    ("ying2023.prop2b", {"prop2b_scale": 0.01}),
])
def test_algorithm_claims_broken_inputs_are_violated(cid, fault):
    rows = run_claim(with_faults(cid, **fault), quick=True, progress=False)
    assert "violated" in _verdicts(rows), cid


def test_algorithm_reruns_are_bit_identical(alg_rows):
    again = run_claim(get_claim("ying2023.alg1_estimators"), quick=True, seed=0, progress=False)
    assert [r.measured for r in again] == [r.measured for r in alg_rows["ying2023.alg1_estimators"]]


def test_thm1_final_inequality_row(alg_rows):
    final = [r for r in alg_rows["ying2023.thm1"] if r.point.get("check") == "(38) final"]
    assert len(final) == 2 and all(r.verdict == "holds" for r in final)
    # Delta(delta0) is huge (vacuous); the telescoped ascent term alone already bounds the left side
    assert all(r.extra["vacuous_delta"] and r.extra["ratio_without_delta"] <= 1.0 for r in final)


def test_prop2c_coverage_rows_and_a_wrong_eps2_is_violated(alg_rows):
    cov = [r for r in alg_rows["ying2023.prop2c"] if r.point.get("check", "").startswith("coverage")]
    # the linear and the apprenticeship instance, two (B, H) each, n = 3 agents + the joint row
    assert len(cov) == 2 * 2 * 4 and all(r.verdict == "holds" for r in cov)
    assert all(0.0 < r.extra["quantile_ratio"] < 1.0 for r in cov if "quantile_ratio" in r.extra)
    # eps2 is ~60x loose at its (1 - 2 delta0)-quantile: a constant 1/200 of it is missed by most batches
    broken = run_claim(with_faults("ying2023.prop2c", eps2_scale=0.005), quick=True, progress=False)
    assert "violated" in _verdicts([r for r in broken if r.point.get("check", "").startswith("coverage")])


def test_thm1_coverage_of_43_both_readings(alg_rows):
    cov = [r for r in alg_rows["ying2023.thm1"] if r.point.get("check", "").startswith("(43)")]
    assert {r.point["oracle"] for r in cov} == {"exact", "adversarial"} and len({r.point["t"] for r in cov}) == 3
    printed = [r for r in cov if "printed" in r.point["check"]]
    other = [r for r in cov if "2 n delta0" in r.point["check"]]
    assert len(printed) == len(other) == len(cov) // 2 and all(r.verdict == "holds" for r in cov)
    assert all(abs(o.bound - 2 * 3 * p.bound) < 1e-15 for p, o in zip(printed, other))  # n = 3
    # Delta(delta0) is 1e4-1e6 loose at the quantile: 1e-7 of it is missed
    broken = run_claim(with_faults("ying2023.thm1", delta_scale=1e-7), quick=True, progress=False)
    assert "violated" in _verdicts([r for r in broken if r.point.get("check", "").startswith("(43)")])


def test_e2_reproduction_holds_and_a_scaled_F_is_violated():
    rows = run_claim(get_claim("ying2023.e2"), quick=True, seed=0, progress=False)
    assert rows and _verdicts(rows) == {"holds"}
    assert {r.point["kappa"] for r in rows} == {0, 1, 2} and {r.point["oracle"] for r in rows} == {"exact", "td"}
    specs, frame = claim_specs(get_claim("ying2023.e2"), rows)
    assert len(specs) == 2
    for spec in specs:
        assert_drawn_as_spec(spec, frame)
    broken = run_claim(with_faults("ying2023.e2", value_scale=1.5), quick=True, progress=False)
    assert "violated" in _verdicts(broken)


def test_remark3_error_shrinks_and_cost_grows_with_kappa():
    rows = run_claim(get_claim("ying2023.remark3"), quick=True, seed=0, progress=False)
    local = [r for r in rows if "local=True" in r.instance]
    assert local and _verdicts(local) == {"holds"}
    sizes = [r.extra["table_size_max"] for r in sorted(local, key=lambda r: r.point["kappa"])]
    assert sizes == sorted(sizes) and sizes[-1] > sizes[0]
    last = max(local, key=lambda r: r.point["kappa"])
    assert last.measured <= 1e-20  # kappa = diameter: no truncation at all
    specs, frame = claim_specs(get_claim("ying2023.remark3"), rows)
    for spec in specs:
        assert_drawn_as_spec(spec, frame)
    # the squared bound is loose by ~1e-7 on local policies (Prop. 1 is loose by ~1e-3 there): c0 x 1e-6 breaks it
    broken = run_claim(with_faults("ying2023.remark3", c0_scale=1e-6), quick=True, progress=False)
    assert "violated" in _verdicts([r for r in broken if "local=True" in r.instance])


# ---------------------------------------------------------------------------- reproductions E1, E3-E5
def test_e1_decay_in_kappa_relay_fails_local_families_hold():
    rows = run_claim(get_claim("ying2023.e1"), quick=True, seed=0, progress=False)
    relay = [r for r in rows if r.instance.startswith("relay") and r.point["check"] == "Lemma 2 (I)"]
    assert {r.verdict for r in relay if r.point["kappa"] >= 1} == {"violated"}  # Lemma 2's finding, redrawn
    local = [r for r in rows if "local=True" in r.instance or "kappa=0 " in r.instance]
    assert local and _verdicts(local) == {"holds"}
    alphas = {r.extra["alpha"] for r in rows if "alpha=" in r.instance}
    assert alphas == {0.5, 2.0}
    # Lemma 2's sup is non-increasing in kappa (a sup over fewer pairs): exact, no tolerance needed
    for name in {r.instance for r in rows}:
        sups = [r.measured for r in sorted(rows, key=lambda r: r.point["kappa"])
                if r.instance == name and r.point["check"] == "Lemma 2 (I)"]
        assert all(b <= a for a, b in zip(sups, sups[1:])), name
    specs, frame = claim_specs(get_claim("ying2023.e1"), rows)
    assert len(specs) == len({r.instance for r in rows if "alpha=" not in r.instance}) + 1
    for spec in specs:
        assert_drawn_as_spec(spec, frame)
    # the local families are loose by >= 10x (ratios <= 0.07): c0 / 1000 is violated there
    broken = run_claim(with_faults("ying2023.e1", c0_scale=1e-3), quick=True, progress=False)
    assert "violated" in _verdicts([r for r in broken if "local=True" in r.instance])


def test_e5_linemsg_violates_assumption1_at_its_own_discount():
    rows = run_claim(get_claim("ying2023.e5"), quick=True, seed=0, progress=False)
    follow_up = [r for r in rows if "gamma=0.99" in r.instance]
    inside = [r for r in rows if "gamma=0.8" in r.instance]
    assert follow_up and _verdicts(follow_up) == {"not applicable"}
    for r in follow_up:  # s_i' depends on (a_i, s_{i+1}): row sums 1 + 0.2 for the middle agents
        failed = [a for a in r.assumptions if not a.holds and "Assumption 1" in a.name]
        assert failed and failed[0].measured == pytest.approx(1.2, abs=1e-12)
    assert inside and _verdicts(inside) == {"holds"}
    broken = run_claim(with_faults("ying2023.e5", c0_scale=1e-3), quick=True, progress=False)
    assert "violated" in _verdicts([r for r in broken if "gamma=0.8" in r.instance])
    specs, frame = claim_specs(get_claim("ying2023.e5"), rows)
    for spec in specs:
        assert_drawn_as_spec(spec, frame)


def test_e4_coverage_curves_and_entropy_rows():
    rows = run_claim(get_claim("ying2023.prop2a"), quick=True, seed=0, progress=False)
    assert _verdicts(rows) == {"holds"}
    ent = [r for r in rows if r.instance.endswith("f=entropy")]
    # the odd agent's entropy has L_lambda = inf on Lambda: only its lambda row; the even (linear) agent has both
    assert {(r.point["i"], r.point["check"].startswith("||r~")) for r in ent} == {(0, False), (0, True), (1, False)}
    for r in rows:
        if "survival_x" in r.extra:
            x, y = np.asarray(r.extra["survival_x"]), np.asarray(r.extra["survival_y"])
            assert np.all(np.diff(x) >= 0) and np.all(np.diff(y) < 0) and y[0] == 1.0
    specs, frame = claim_specs(get_claim("ying2023.prop2a"), rows)
    assert len(specs) == 3
    for spec in specs:
        assert_drawn_as_spec(spec, frame)


@pytest.mark.parametrize("cid, fault", [("ying2023.occupancy", {"mass_scale": 0.9}),
                                        ("ying2023.lemma1", {"gradient_scale": 3.0}),
                                        ("ying2023.eq18", {"directed": True}),
                                        ("ying2023.assump1", {"closed_form_scale": 0.5})])
def test_identity_searches_hold_and_find_a_broken_input(cid, fault):
    from netmarl_verify.verify import search_claim

    honest = search_claim(get_claim(cid), 8, seed=0, progress=False)
    assert honest.verdict == "holds", (cid, honest.params)
    broken = search_claim(with_faults(cid, **fault), 8, seed=0, progress=False)
    assert broken.verdict == "violated", cid
