"""gu2021 claims (verify/claims/gu2021): quick runs, the findings pinned, broken inputs violated, figures drawn."""

import pytest

from netmarl_verify.verify import get_claim, list_claims, run_claim, with_faults

from _figure_checks import assert_drawn_as_spec, claim_specs

IDS = ("gu2021.lift_kernel", "gu2021.lift_exchangeable", "gu2021.lemma3_1", "gu2021.lemma4_2", "gu2021.decay_V",
       "gu2021.localq_sup", "gu2021.lemma4_3_phi", "gu2021.lemma4_3_pg", "gu2021.lemma4_3_local",
       "gu2021.lemma4_3_zero")


@pytest.fixture(scope="module")
def quick_rows():
    return {cid: run_claim(get_claim(cid), quick=True, seed=0, progress=False) for cid in IDS}


def _verdicts(rows, pred=lambda r: True):
    return {r.verdict for r in rows if pred(r)}


def _weighted(r):
    return r.point.get("reading", "weighted") == "weighted"


ACTOR_IDS = ("gu2021.pdl", "gu2021.thm5_2", "gu2021.assump_R2_D", "gu2021.assump5_2_sigma", "gu2021.assump5_3_L",
             "gu2021.eq75", "gu2021.assump_R1_c0", "gu2021.policy_class_optima", "gu2021.thmD1", "gu2021.lemmaD4_eq84")


CRITIC_IDS = ("gu2021.lemmaC1_contraction", "gu2021.critic_fixed_point", "gu2021.thmC1_rate",
              "gu2021.eq44_localization", "gu2021.thm5_1", "gu2021.init_scale", "gu2021.locality_2hop")


APPENDIX_IDS = ("gu2021.assump5_1_R", "gu2021.lemmaC2_rf", "gu2021.lemma4_1", "gu2021.assump5_4_additive",
                "gu2021.lemmaD1", "gu2021.lemmaD3", "gu2021.propD1", "gu2021.lemmaD4")


def test_listed_in_order():
    assert [c.id for c in list_claims("gu2021")] == list(IDS) + list(CRITIC_IDS) + list(ACTOR_IDS) + list(APPENDIX_IDS)


@pytest.mark.parametrize("cid", ["gu2021.lift_kernel", "gu2021.lift_exchangeable", "gu2021.lemma4_3_phi",
                                 "gu2021.lemma4_3_pg", "gu2021.lemma4_3_local", "gu2021.lemma4_3_zero"])
def test_holds(quick_rows, cid):
    assert _verdicts(quick_rows[cid]) == {"holds"}


def test_lemma3_1_holds_weighted_and_fails_printed(quick_rows):
    rows = quick_rows["gu2021.lemma3_1"]
    assert _verdicts(rows, _weighted) == {"holds"}
    printed_v = [r for r in rows if r.point["reading"] == "printed" and r.point["check"].startswith("(9) V^pi")]
    # (9) fails by O(1) under (7) as printed: the team rewards are not weighted by mu(s)
    assert printed_v and "violated" in _verdicts(printed_v)
    assert max(r.measured for r in printed_v) > 0.5
    # (10) is linearity: it holds under both readings
    assert _verdicts(rows, lambda r: r.point["check"] == "(10) Q = sum_s Q_s") == {"holds"}


def test_lemma4_2_repaired_holds_and_proof_fails_on_the_relay(quick_rows):
    rows = quick_rows["gu2021.lemma4_2"]
    assert _verdicts(rows, lambda r: r.point["check"] == "repaired") == {"holds"}
    relay = [r for r in rows if r.instance.startswith("relay") and r.point["check"] == "proof"
             and r.point["s"] == 0 and r.point["kappa"] == 2 and r.point["reading"] == "printed"]
    assert relay and _verdicts(relay) == {"violated"}
    assert all(r.extra["agreement_t"] == 0 and r.extra["proof_t"] == 1 for r in relay)
    # random instances hold under the statement
    rnd = [r for r in rows if r.instance.startswith("random") and r.point["check"] == "statement"]
    assert rnd and _verdicts(rnd) == {"holds"}


@pytest.mark.parametrize("cid, fault, pred", [
    ("gu2021.lift_kernel", {"nonexchangeable": 0.2}, None),
    ("gu2021.lift_exchangeable", {"nonexchangeable": 0.2}, None),
    ("gu2021.lemma3_1", {"drop_coefficient": True}, _weighted),
    ("gu2021.lemma3_1", {"nonexchangeable": 0.2}, _weighted),
    ("gu2021.lemma4_2", {"c_scale": 0.01}, lambda r: r.point["check"] == "repaired"),
    ("gu2021.decay_V", {"c_scale": 0.01}, lambda r: r.point["check"] == "repaired"),
    ("gu2021.localq_sup", {"c_scale": 0.01}, lambda r: r.instance.startswith("random")),
    ("gu2021.lemma4_3_phi", {"input_factor": 3.0}, None),
    ("gu2021.lemma4_3_pg", {"phi_without_b": True}, None),
    ("gu2021.lemma4_3_local", {"c_scale": 1e-5}, None),
    ("gu2021.lemma4_3_zero", {"radius_offset": 1}, None),
])
def test_broken_inputs_are_violated(cid, fault, pred):
    rows = run_claim(with_faults(cid, **fault), quick=True, progress=False)
    assert "violated" in _verdicts(rows, pred or (lambda r: True)), (cid, fault)


@pytest.mark.parametrize("cid", ["gu2021.lemma4_2", "gu2021.decay_V", "gu2021.localq_sup", "gu2021.lemma4_3_local",
                                 "gu2021.lemma3_1"])
def test_figures_draw(quick_rows, cid):
    specs, frame = claim_specs(get_claim(cid), quick_rows[cid])
    for spec in specs[:1]:
        assert_drawn_as_spec(spec, frame)


def test_search_spaces_replay():
    from netmarl_verify.verify import check_instance

    claim = get_claim("gu2021.lemma4_2")
    space = claim.search[0]
    inst = space.instance({"N": 3, "gamma": 0.3, "reward": "indicator"})
    rows = check_instance(claim, inst, seed=0, quick=True)
    assert rows and inst.params["family"] == "relay"


def test_lemma3_1_rows_record_the_table_sizes(quick_rows):
    """The sizes drawn by the scaling figure: the lifted chain has C(N + |S| - 1, |S| - 1) states (compositions of N),
    the product |S|^N, on every row of the (9) check."""
    import math

    rows = [r for r in quick_rows["gu2021.lemma3_1"] if r.point["check"] == "(9) V^pi(s) = V~(mu(s))"]
    assert rows
    for r in rows:
        N, S = r.extra["N"], r.extra["S"]
        assert r.extra["lifted_states"] == math.comb(N + S - 1, S - 1)
        assert r.extra["product_states"] == S ** N
