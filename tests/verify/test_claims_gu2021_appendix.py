"""gu2021 appendix claims (verify/claims/gu2021/appendix.py): quick runs, findings pinned, broken inputs violated,
figures, bit-identical reruns."""

import math

import pytest

from netmarl_verify.verify.claims.gu2021 import appendix  # noqa: F401
from netmarl_verify.verify import run_claim, with_faults

from _figure_checks import assert_drawn_as_spec, claim_specs

# the module's claims, built by its factory (the same objects it registers)
CLAIMS = {c.id: c for c in appendix.make_claims()}
IDS = tuple(CLAIMS)


@pytest.fixture(scope="module")
def quick_rows():
    return {cid: run_claim(CLAIMS[cid], quick=True, seed=0, progress=False) for cid in IDS}


def _verdicts(rows, pred=lambda r: True):
    return {r.verdict for r in rows if pred(r)}


def _check(name):
    return lambda r: r.point.get("check") == name


def test_ids():
    assert IDS == ("gu2021.assump5_1_R", "gu2021.lemmaC2_rf", "gu2021.lemma4_1", "gu2021.assump5_4_additive",
                   "gu2021.lemmaD1", "gu2021.lemmaD3", "gu2021.propD1", "gu2021.lemmaD4")


def test_assump5_1_finding(quick_rows):
    rows = quick_rows["gu2021.assump5_1_R"]
    cert = [r for r in rows if r.point["check"] == "certified lower bound R_cert"]
    lp = [r for r in rows if r.point["check"] == "LP proxy R_min(M')"]
    assert cert and lp and _verdicts(rows) == {"holds", "violated"}
    # finding: at k = 1 nu charges zeta^k_s = 0 where Q-hat_s != 0: no R works (the class has no bias)
    assert any(math.isinf(r.measured) and r.point["kappa"] == 1 for r in cert)
    # finding: even where the certified bound is finite, R = 1 is exceeded (the LP proxy too)
    assert any(math.isfinite(r.measured) and r.measured > 1.0 for r in cert)
    assert any(math.isfinite(r.measured) and r.measured > 1.0 for r in lp)
    # the LP proxy is never below the certified bound (same f_0)
    assert all(r.extra["lp_at_least_cert"] for r in lp)


def test_lemmaC2_finding(quick_rows):
    rows = quick_rows["gu2021.lemmaC2_rf"]
    # k = 1 rows where nu charges zeta = 0 with Q-hat != 0: 5.1 fails (certified), rows are not applicable
    assert "not applicable" in _verdicts(rows, lambda r: r.point["kappa"] == 1)
    # above the LP proxy radius the class contains Q-hat_s from the second width on (error 0): holds
    big = [r for r in rows if r.point["R"] == "above LP proxy" and r.verdict != "not applicable"]
    assert big and _verdicts(big) == {"holds"} and all(r.measured == 0.0 for r in big)
    # finding: at R = 1 with the certified condition met, the error is flat in M (slope > -0.9)
    flat = [r for r in rows if r.point["R"] == "1 (Thm 5.2)" and r.point["check"].startswith("slope")
            and r.verdict != "not applicable"]
    assert flat and _verdicts(flat) == {"violated"}
    # ... and there the LP proxy (a meter) says R = 1 is too small
    assert all(r.extra["R_min_lp"] > 1.0 for r in flat if r.point["kappa"] > 1)


def test_lemma4_1_holds(quick_rows):
    rows = quick_rows["gu2021.lemma4_1"]
    assert _verdicts(rows) == {"holds"}
    assert {r.point["reading"] for r in rows} == {"weighted", "printed"}
    assert min(r.extra["grad_norm"] for r in rows) > 1e-3  # not vacuous


def test_assump5_4_finding(quick_rows):
    rows = quick_rows["gu2021.assump5_4_additive"]
    star = [r for r in rows if r.point["is_theta_star"]]
    other = [r for r in rows if not r.point["is_theta_star"]]
    # at theta~ = theta*, u = sum_s phi_s^T theta~_s is additive (exactly)
    assert star and _verdicts(star) == {"holds"} and all(r.measured == 0.0 for r in star)
    # finding: at the other stationary points the density ratio is not a sum over teams
    assert other and "violated" in _verdicts(other)


def test_lemmaD1_holds(quick_rows):
    rows = quick_rows["gu2021.lemmaD1"]
    assert _verdicts(rows) == {"holds"}
    assert max(r.measured for r in rows) > 1e-4  # a positive gap is checked somewhere


def test_lemmaD3_holds(quick_rows):
    rows = quick_rows["gu2021.lemmaD3"]
    assert _verdicts(rows) == {"holds"}
    assert all(r.measured < -0.5 for r in rows)  # faster than the claimed M^-1/4


def test_propD1_and_D4(quick_rows):
    pd1 = quick_rows["gu2021.propD1"]
    assert "violated" not in _verdicts(pd1) and "holds" in _verdicts(pd1)
    d4 = quick_rows["gu2021.lemmaD4"]
    assert _verdicts(d4) == {"holds"}
    assert all(r.extra["implied_O_constant"] == 0.0 for r in d4 if r.point["check"] == "(77) first term alone")
    assert all(r.extra["first_term_upper"] >= r.extra["first_term_lower"] - 1e-12
               for r in d4 if r.point["check"] == "(77) first term alone")


@pytest.mark.parametrize("cid, fault", [
    ("gu2021.assump5_1_R", {"radius": 1e-3}),
    ("gu2021.lemmaC2_rf", {"box_scale": 0.01}),
    ("gu2021.lemma4_1", {"visitation_scale": 2.0}),
    ("gu2021.assump5_4_additive", {"with_h": False}),
    ("gu2021.lemmaD1", {"d1_rhs_scale": 1e-6}),
    ("gu2021.lemmaD3", {"d3_slope": -2.0}),
    ("gu2021.propD1", {"pd1_rhs_scale": 1e-9}),
    ("gu2021.lemmaD4", {"d4_rhs_scale": 1e-9}),
])
def test_broken_inputs_are_violated(quick_rows, cid, fault):
    honest = quick_rows[cid]
    rows = run_claim(with_faults(CLAIMS[cid], **fault), quick=True, seed=0, progress=False)
    assert len(rows) == len(honest)
    # some row that holds honestly is violated under the fault
    assert any(a.verdict == "holds" and b.verdict == "violated" for a, b in zip(honest, rows)), (cid, fault)


@pytest.mark.parametrize("cid", ["gu2021.assump5_1_R", "gu2021.lemmaC2_rf", "gu2021.lemmaD3", "gu2021.propD1",
                                 "gu2021.lemmaD4"])
def test_figures_are_specs(quick_rows, cid):
    specs, frame = claim_specs(CLAIMS[cid], quick_rows[cid])
    assert specs
    for spec in specs[:1]:
        assert_drawn_as_spec(spec, frame)


@pytest.mark.parametrize("cid", IDS)
def test_rerun_bit_identical(quick_rows, cid):
    again = run_claim(CLAIMS[cid], quick=True, seed=0, progress=False)
    first = quick_rows[cid]
    assert [(r.instance, r.point) for r in again] == [(r.instance, r.point) for r in first]
    assert all(_same(a.measured, b.measured) and _same(a.bound, b.bound) for a, b in zip(again, first))


def _same(x, y):
    return x == y or (x is not None and y is not None and math.isnan(x) and math.isnan(y))
