"""gu2021 critic claims (verify/claims/gu2021/critic.py): quick runs, findings pinned, faults violated, figures."""

import math

import pytest

from netmarl_verify.verify import get_claim, run_claim, with_faults
from netmarl_verify.verify.claims.gu2021 import critic  # noqa: F401  (registers the claims)

from _figure_checks import assert_drawn_as_spec, claim_specs

IDS = ("gu2021.lemmaC1_contraction", "gu2021.critic_fixed_point", "gu2021.thmC1_rate", "gu2021.eq44_localization",
       "gu2021.thm5_1", "gu2021.init_scale", "gu2021.locality_2hop")


@pytest.fixture(scope="module")
def quick_rows():
    return {cid: run_claim(get_claim(cid), quick=True, seed=0, progress=False) for cid in IDS}


def _verdicts(rows, pred=lambda r: True):
    return {r.verdict for r in rows if pred(r)}


@pytest.mark.parametrize("cid", ["gu2021.lemmaC1_contraction", "gu2021.critic_fixed_point",
                                 "gu2021.eq44_localization", "gu2021.locality_2hop"])
def test_holds(quick_rows, cid):
    assert _verdicts(quick_rows[cid]) == {"holds"}


def test_contraction_is_an_equality(quick_rows):
    rows = [r for r in quick_rows["gu2021.lemmaC1_contraction"] if r.point["operator"] == "gamma K"]
    assert rows and all(abs(r.measured - r.bound) <= 1e-12 for r in rows)


def test_fixed_point_certified_and_alg1_within_bound(quick_rows):
    rows = quick_rows["gu2021.critic_fixed_point"]
    vi = [r for r in rows if r.point["check"].startswith("variational")]
    assert vi and all(r.extra["certificate_max"] <= 1e-10 for r in vi)
    alg = [r for r in rows if r.point["check"].startswith("Alg. 1")]
    assert alg and max(r.ratio for r in alg) < 1.0
    # the error decreases with T at every team
    by = {}
    for r in alg:
        by.setdefault(r.point["s"], []).append((r.point["T"], r.measured))
    assert all(v[-1][1] < v[0][1] for v in (sorted(x) for x in by.values()))


def test_eq44_proof_form_and_paper_bound(quick_rows):
    rows = quick_rows["gu2021.eq44_localization"]
    for check in ("paper 2 c rho^{k+1}/(1-gamma)", "(44) squared, (II) = 0", "proof form 2 (I)/(1-gamma), (I) exact"):
        sel = [r for r in rows if r.point["check"] == check]
        assert sel and _verdicts(sel) == {"holds"}, check
    assert {r.point["reading"] for r in rows} == {"weighted", "printed"}


def test_thm5_1_chain_holds(quick_rows):
    rows = quick_rows["gu2021.thm5_1"]
    chain = [r for r in rows if r.point["check"] == "(41)+(44) explicit"]
    assert chain and _verdicts(chain) == {"holds"}
    floor = [r for r in rows if r.point["check"] == "floor exponent of 1/(1-gamma)"]
    assert floor and all(math.isfinite(r.measured) for r in floor)


def test_thmC1_rate_rows(quick_rows):
    rows = quick_rows["gu2021.thmC1_rate"]
    assert {r.point["sweep"] for r in rows} == {"T", "M (T = 4M)", "M (T = 64M)"}
    assert all(math.isfinite(r.measured) for r in rows)
    # the linearised class (37) decays in T at team 0 at about the claimed rate or faster
    lin = [r for r in rows if r.point["sweep"] == "T" and r.point["features"] == "linearised" and r.point["s"] == 0]
    assert lin and lin[0].verdict == "holds"
    # the finding: only the M sweep at T = 4M (the transient of 4M updates) is flatter than -1/4 on quick
    assert {r.point["sweep"] for r in rows if r.verdict == "violated"} <= {"M (T = 4M)"}
    assert _verdicts(rows, lambda r: r.point["sweep"] == "T") == {"holds"}


def test_locality_tight_at_distance_2(quick_rows):
    rows = [r for r in quick_rows["gu2021.locality_2hop"] if r.point["check"].startswith("tightness")]
    relay = [r for r in rows if r.instance.startswith("relay")]
    assert relay and relay[0].extra["tv_at_distance_2"] > 0.5


def test_init_scale_finding(quick_rows):
    rows = quick_rows["gu2021.init_scale"]
    # b_m = +-1 (Alg. 1-2): width-free scale; b_m = 1 (§4.3): E f^2 grows like M and the initial policy sharpens
    assert _verdicts(rows, lambda r: r.point["b"] == "pm1") == {"holds"}
    ones = [r for r in rows if r.point["b"] == "ones"]
    assert ones and _verdicts(ones) == {"violated"} and all(r.measured > 0.8 for r in ones)
    assert all(r.extra["normalised_entropy"][-1] < r.extra["normalised_entropy"][0] for r in ones)


@pytest.mark.parametrize("cid, fault, pred", [
    ("gu2021.lemmaC1_contraction", {"weights": "sigma"}, None),
    ("gu2021.critic_fixed_point", {"td_discount": 0.99}, lambda r: r.point["check"].startswith("Alg. 1")),
    ("gu2021.thmC1_rate", {"td_discount": 0.99}, lambda r: r.point["sweep"] == "T"),
    ("gu2021.eq44_localization", {"c_scale": 0.01}, lambda r: r.point["check"].startswith("paper")),
    ("gu2021.thm5_1", {"chain": "thmC1 only"}, lambda r: r.point["check"] == "(41)+(44) explicit"),
    ("gu2021.thm5_1", {"floor_exponent": -1.0}, lambda r: r.point["check"].startswith("floor")),
    ("gu2021.init_scale", {"init_exponent": 0.25}, lambda r: r.point["b"] == "pm1"),
    ("gu2021.locality_2hop", {"locality_radius": 1}, lambda r: not r.point["check"].startswith("tightness")),
])
def test_broken_inputs_are_violated(cid, fault, pred):
    rows = run_claim(with_faults(cid, **fault), quick=True, progress=False)
    assert "violated" in _verdicts(rows, pred or (lambda r: True)), (cid, fault)


@pytest.mark.parametrize("cid", ["gu2021.lemmaC1_contraction", "gu2021.critic_fixed_point", "gu2021.thmC1_rate",
                                 "gu2021.eq44_localization", "gu2021.thm5_1", "gu2021.init_scale"])
def test_figures_are_specs(quick_rows, cid):
    specs, frame = claim_specs(get_claim(cid), quick_rows[cid])
    for spec in specs:
        assert_drawn_as_spec(spec, frame)


def test_rerun_bit_identical(quick_rows):
    again = run_claim(get_claim("gu2021.critic_fixed_point"), quick=True, seed=0, progress=False)
    first = quick_rows["gu2021.critic_fixed_point"]
    assert [(r.point, r.measured, r.bound) for r in again] == [(r.point, r.measured, r.bound) for r in first]
