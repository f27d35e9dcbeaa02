"""chen2024 claims (verify/claims/chen2024): quick runs, findings pinned, broken inputs violated."""

import pytest

from netmarl_verify.verify import get_claim, list_claims, run_claim, with_faults

IDS = ("chen2024.barrier_joint", "chen2024.lemma1", "chen2024.lemma4", "chen2024.def1_nashgap", "chen2024.def2_optgap",
       "chen2024.assump1", "chen2024.lemma2", "chen2024.lemma3", "chen2024.thm1", "chen2024.thm1_ascent",
       "chen2024.thm1_algebra", "chen2024.thm2", "chen2024.thm2_algebra")
CHEAP = [c for c in IDS if c not in ("chen2024.thm1", "chen2024.thm1_ascent", "chen2024.thm2")]


@pytest.fixture(scope="module")
def quick_rows():
    return {cid: run_claim(get_claim(cid), quick=True, seed=0, progress=False) for cid in IDS}


def _verdicts(rows, pred=lambda r: True):
    return {r.verdict for r in rows if pred(r)}


STRUCTURE_IDS = ("chen2024.def3", "chen2024.coord_product_vs_bn", "chen2024.assump2", "chen2024.sampled_gradient",
                 "chen2024.lemma2_threshold", "chen2024.lemma3_threshold", "chen2024.lemma2_steps",
                 "chen2024.lemma3_steps")


def test_listed_in_order():
    assert [c.id for c in list_claims("chen2024")] == list(IDS) + list(STRUCTURE_IDS)


@pytest.mark.parametrize("cid", ["chen2024.thm1", "chen2024.thm2"])
def test_gap_curves_are_drawn(quick_rows, cid):
    """The recorded gap curves (list extras: only in the JSON `extra` column) become figures."""
    from _figure_checks import assert_drawn_as_spec, claim_specs

    specs, frame = claim_specs(get_claim(cid), quick_rows[cid])
    assert specs
    for spec in specs:
        assert_drawn_as_spec(spec, frame)


@pytest.mark.parametrize("cid", ["chen2024.barrier_joint", "chen2024.lemma4", "chen2024.def1_nashgap",
                                 "chen2024.def2_optgap", "chen2024.assump1", "chen2024.lemma2", "chen2024.lemma3",
                                 "chen2024.thm1_ascent"])
def test_holds(quick_rows, cid):
    assert _verdicts(quick_rows[cid]) == {"holds"}


def test_lemma1_holds_normalized_and_fails_unnormalized_for_positive_gamma(quick_rows):
    rows = quick_rows["chen2024.lemma1"]
    assert _verdicts(rows, lambda r: r.point["reading"] == "normalized") == {"holds"}
    un = [r for r in rows if r.point["reading"] == "unnormalized"]
    assert {r.verdict for r in un if r.instance.startswith("coord2")} == {"holds"}  # gamma = 0
    bad = [r for r in un if r.verdict == "violated"]
    # the value term (formula over FD of V) is off by exactly 1/(1-gamma)
    assert bad and all(r.extra["value_ratio_to_fd"] == pytest.approx(r.extra["one_over_1_minus_gamma"], rel=1e-5)
                       for r in bad)


def test_theorems_hold_or_are_censored(quick_rows):
    for cid in ("chen2024.thm1", "chen2024.thm2"):
        assert _verdicts(quick_rows[cid]) <= {"holds", "not applicable"}
        assert "holds" in _verdicts(quick_rows[cid])


def test_algebra_findings(quick_rows):
    a3 = quick_rows["chen2024.thm1_algebra"]
    assert _verdicts(a3, lambda r: r.point["step"].startswith("A.3 display 1")) == {"holds"}
    assert _verdicts(a3, lambda r: r.point["step"].startswith("A.3 display 3")) == {"violated"}
    a5 = quick_rows["chen2024.thm2_algebra"]
    d1 = [r for r in a5 if r.point["step"].startswith("A.5 display 1")]
    assert _verdicts(d1) == {"violated"}
    # printed 2^{N+5} vs derived 2^{2N+5}: ratio 2^-N (N = 2 here)
    assert all(r.extra["printed_over_derived"] == pytest.approx(0.25) for r in d1)


@pytest.mark.parametrize("cid, fault, pred", [
    ("chen2024.barrier_joint", {"drop_log_card": True}, None),
    ("chen2024.lemma1", {"conditional": "intervention"}, lambda r: r.instance.startswith("chain3")
     and r.point["reading"] == "normalized"),
    ("chen2024.lemma1", {"weighting": "state"}, lambda r: r.point["reading"] == "normalized"),
    ("chen2024.lemma4", {"beta_scale": 1e-3}, None),
    ("chen2024.def1_nashgap", {"aggregate": "sum"}, None),
    ("chen2024.def2_optgap", {"gap_sign": -1.0}, None),
    ("chen2024.assump1", {"m_bound_scale": 0.01}, None),
    ("chen2024.lemma2", {"bound_scale": 1e-3}, None),
    ("chen2024.lemma3", {"bound_scale": 1e-3}, None),
    ("chen2024.thm1", {"T_scale": 1e-9}, None),
    ("chen2024.thm1_ascent", {"ascent_factor": 0.4}, None),
    ("chen2024.thm2", {"T_scale": 1e-9}, None),
])
def test_broken_inputs_are_violated(cid, fault, pred):
    rows = run_claim(with_faults(cid, **fault), quick=True, progress=False)
    assert "violated" in _verdicts(rows, pred or (lambda r: True)), (cid, fault)


@pytest.mark.parametrize("cid", CHEAP)
def test_search_spaces_replay(cid):
    claim = get_claim(cid)
    for space in claim.search:
        point = {k: p.decode(p.bounds()[0]) for k, p in space.params.items()}
        inst = space.instance(point)
        assert inst.params["family"] == space.family
