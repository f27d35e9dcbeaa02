"""chen2024 proof-step claims (verify/claims/chen2024/proof_steps.py): quick runs, findings pinned, faults violated."""

from netmarl_verify.verify.claims.chen2024 import proof_steps  # noqa: F401  (registers the claims)

import json

import pytest

from netmarl_verify.verify import check_instance, get_claim, list_claims, run_claim, to_frame, with_faults

from _figure_checks import assert_drawn_as_spec, claim_specs

IDS = ("chen2024.lemma2_steps", "chen2024.lemma3_steps")
C, R = proof_steps.CHECKS, proof_steps.READINGS


@pytest.fixture(scope="module")
def quick_rows():
    return {cid: run_claim(get_claim(cid), quick=True, seed=0, progress=False) for cid in IDS}


def _sel(rows, check, reading=None, at="stationary point"):
    return [r for r in rows if r.point["check"] == C[check] and (reading is None or r.point["reading"] == R[reading])
            and (at is None or r.point["at"] == at)]


def _verdicts(rows):
    return {r.verdict for r in rows}


def _violated_instances(rows):
    return {r.instance.split()[0] + (" A=4" if "A=4" in r.instance else "") for r in rows if r.verdict == "violated"}


def test_registered_after_the_other_chen2024_claims():
    ids = [c.id for c in list_claims("chen2024")]
    assert ids[-2:] == list(IDS)


def test_every_row_has_a_check_and_a_reading(quick_rows):
    for cid, rows in quick_rows.items():
        assert rows and all(r.point["check"] in C.values() and r.point["reading"] in R.values() for r in rows)
        # the lemma's gradient threshold is a point assumption of every row
        assert all(any("statement" in a.name for a in r.assumptions) for r in rows)


# ----------------------------------------------------------------------------- A.2
def test_lemma2_eq4(quick_rows):
    rows = quick_rows["chen2024.lemma2_steps"]
    pos = _sel(rows, "4", "pos")
    assert _verdicts(pos) == {"holds"} and max(r.ratio for r in pos) <= 0.5 + 1e-6  # pi^i >= 1/|A^i| there (up to the L-BFGS residual)
    assert _verdicts(_sel(rows, "4", "all")) == {"violated"}  # finding: not for negative-advantage actions


def test_lemma2_eq5_needs_normalised_d(quick_rows):
    rows = quick_rows["chen2024.lemma2_steps"]
    assert _verdicts(_sel(rows, "5", "dn", at=None)) <= {"holds", "not applicable"}
    du = _sel(rows, "5", "du")
    assert _violated_instances(du) == {"random"}  # the gamma = 0.9 game; the readings agree at gamma = 0
    bad = [r for r in du if r.verdict == "violated"]
    assert all(2.4 < r.ratio <= 2.5 + 1e-6 for r in bad)  # (1 - 1/(pi |A^i|)) / (2 (1 - gamma)), binary
    for r in du:
        if r.params.get("gamma", 0.0) == 0.0:
            twin = [q for q in _sel(rows, "5", "dn") if q.instance == r.instance and q.point["lam"] == r.point["lam"]
                    and q.point["theta0"] == r.point["theta0"]]
            assert twin and twin[0].ratio == pytest.approx(r.ratio, rel=1e-12)


def test_lemma2_gain_printed_fails_statement_holds(quick_rows):
    rows = quick_rows["chen2024.lemma2_steps"]
    printed = _sel(rows, "gain", "printed")
    assert _violated_instances(printed) == {"parity_star"}
    bad = [r for r in printed if r.verdict == "violated"]
    # the child of the star (|A^P| = 8): gain -> lambda/2 vs 2 lambda/8
    assert all(r.extra["agent"] == 3 and 1.85 < r.ratio < 2.0 for r in bad)
    for key in ("statement", "corrected"):
        assert _verdicts(_sel(rows, "gain", key, at=None)) <= {"holds", "not applicable"}


def test_lemma2_statement_rows_are_lemma2s_gaps(quick_rows):
    """At the same stationary points, the '2 lambda M' row's gain is chen2024.lemma2's measured Nash gap."""
    lemma2 = {(r.instance, r.point["lam"], r.point["theta0"]): r for r in
              run_claim(get_claim("chen2024.lemma2"), quick=True, seed=0, progress=False)}
    steps = _sel(quick_rows["chen2024.lemma2_steps"], "gain", "statement")
    matched = [r for r in steps if (r.instance, r.point["lam"], r.point["theta0"]) in lemma2]
    assert len(matched) == len(lemma2) == 16
    for r in matched:
        ref = lemma2[(r.instance, r.point["lam"], r.point["theta0"])]
        assert r.measured == pytest.approx(ref.measured, rel=1e-9, abs=1e-14) and r.bound == ref.bound


def test_lemma2_ascent_iterates(quick_rows):
    rows = [r for r in quick_rows["chen2024.lemma2_steps"] if r.point["at"] == "ascent iterate"]
    runs = {(r.instance.split()[0], r.point["theta0"]): r.extra for r in rows}
    reached = {k for k, e in runs.items() if e["reached_threshold"]}
    assert reached == {("coord2", "theta0 + 0.01 noise"), ("coord2", "gaussian"), ("climbing", "theta0 + 0.01 noise"),
                       ("and3", "theta0 + 0.01 noise"), ("and3", "gaussian")}
    for r in rows:
        if r.extra["reached_threshold"]:
            assert r.extra["grad_norm"] <= r.extra["threshold_statement"]
            if r.point["reading"] != R["all"]:
                assert r.verdict == "holds"
        else:  # censored by the budget: outside the lemma's hypothesis
            assert r.verdict == "not applicable" and r.extra["t"] == proof_steps.ASCENT_BUDGET_QUICK


# ----------------------------------------------------------------------------- A.4
def test_lemma3_eq6_denominator(quick_rows):
    rows = quick_rows["chen2024.lemma3_steps"]
    assert _verdicts(_sel(rows, "6", "AP_dn")) == {"holds"}  # |A^P| as in (5)
    printed = _sel(rows, "6", "Ai_dn")
    assert _violated_instances(printed) == {"random A=4"}  # the 4-action root: (|A^i| - 1/pi)/2 > 1
    assert all(1.3 < r.ratio < 1.5 and r.extra["agent"] == 0 for r in printed if r.verdict == "violated")
    climb = [r for r in printed if r.instance.startswith("climbing3")]
    assert climb and all(0.8 < r.ratio < 1.0 for r in climb)  # 3-action root: below 1, -> 1 as lambda -> 0
    assert _violated_instances(_sel(rows, "6", "AP_du")) == {"random"}  # gamma = 0.9, unnormalised d


def test_lemma3_by4_and_eq7_fail_chained_holds(quick_rows):
    rows = quick_rows["chen2024.lemma3_steps"]
    by4 = _sel(rows, "by4", "min")
    assert {r.instance.split()[0] for r in by4 if r.verdict == "holds"} == {"coord2"}
    assert max(r.ratio for r in by4) > 100
    assert _verdicts(_sel(rows, "4", "pos")) == {"holds"} and _verdicts(_sel(rows, "4", "all")) == {"violated"}
    seven = _sel(rows, "7", "dn")
    assert {(r.instance.split()[0] + (" A=4" if "A=4" in r.instance else ""), r.point["lam"])
            for r in seven if r.verdict == "violated"} == {("random", 0.01), ("random A=4", 0.01)}
    # the ratio grows like 1/lambda on the gamma = 0.9 game
    g9 = {r.point["lam"]: r.ratio for r in seven if "gamma=0.9" in r.instance and r.point["theta0"] == "gaussian"}
    assert g9[0.01] / g9[0.1] == pytest.approx(10.0, rel=0.01)
    assert _verdicts(_sel(rows, "chain", "dn")) == {"holds"} and _verdicts(_sel(rows, "chain", "du")) == {"holds"}


def test_lemma3_eq8_exact(quick_rows):
    rows = _sel(quick_rows["chen2024.lemma3_steps"], "8", "order")
    assert len(rows) == 16 and _verdicts(rows) == {"holds"} and max(r.measured for r in rows) < 1e-12


# ----------------------------------------------------------------------------- faults
def _one(claim, prefix):
    return next(i for i in claim.instances(True, 0) if i.name.startswith(prefix))


@pytest.mark.parametrize("cid, fault, prefix, check, reading", [
    ("chen2024.lemma2_steps", {"bound_scale": 1e-3}, "coord2", "gain", "statement"),
    ("chen2024.lemma2_steps", {"weighting": "state"}, "climbing", "5", "dn"),
    ("chen2024.lemma3_steps", {"bound_scale": 1e-3}, "coord2", "chain", "dn"),
    ("chen2024.lemma3_steps", {"q_identity": "P"}, "climbing3", "8", "order"),
])
def test_faults_are_violated(quick_rows, cid, fault, prefix, check, reading):
    claim = with_faults(cid, **fault)
    inst = _one(claim, prefix)
    honest = [r for r in quick_rows[cid] if r.instance == inst.name]
    assert "violated" not in _verdicts(_sel(honest, check, reading, at=None))
    rows = check_instance(claim, inst, 0, True)
    assert "violated" in _verdicts(_sel(rows, check, reading, at=None)), (cid, fault)


# ----------------------------------------------------------------------------- figures, reruns
@pytest.mark.parametrize("cid", IDS)
def test_figures_are_specs(quick_rows, cid):
    specs, frame = claim_specs(get_claim(cid), quick_rows[cid])
    assert len(specs) == proof_steps.MAX_FIGURES
    for spec in specs:
        assert spec.log_x and spec.log_y and len(spec.hlines) == 1
        assert all(s.n_points == 2 for s in spec.series)  # two lambdas in quick runs
        assert_drawn_as_spec(spec, frame)


@pytest.mark.parametrize("cid", IDS)
def test_reruns_bit_identical(quick_rows, cid):
    again = run_claim(get_claim(cid), quick=True, seed=0, progress=False)
    a, b = to_frame(quick_rows[cid]), to_frame(again)
    assert a["measured"].equals(b["measured"]) and a["bound"].equals(b["bound"])  # NaN bounds on censored rows
    assert [json.loads(x) for x in a["extra"]] == [json.loads(x) for x in b["extra"]]


def test_search_spaces_replay():
    for cid in IDS:
        for space in get_claim(cid).search:
            point = {k: p.decode(p.bounds()[0]) for k, p in space.params.items()}
            inst = space.instance(point)
            assert inst.params["family"] == space.family and "bn" in inst.payload
