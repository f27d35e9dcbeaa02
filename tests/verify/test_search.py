"""Counterexample search (verify/_search.py, `netmarl-verify search`, `run --params`, `report --search-budget`)."""

import json

import pytest

from netmarl_verify._cli import main
from netmarl_verify.verify import (
    Assumption,
    Choice,
    Claim,
    Instance,
    Integer,
    Measurement,
    Real,
    SearchError,
    SearchSpace,
    get_claim,
    replay_instance,
    search_claim,
    with_faults,
)


def _key(result):
    r = result.row
    return (result.evaluations, result.calls, json.dumps(result.params, sort_keys=True), r.instance,
            json.dumps(r.point, sort_keys=True), r.measured, r.bound, r.ratio, r.verdict)


def test_bound_ten_percent_too_small_is_found():
    honest = search_claim(get_claim("qu2020.lemma2a"), 100, seed=0, progress=False)
    assert honest.verdict == "holds" and honest.ratio <= 1 + 1e-9
    broken = with_faults("qu2020.lemma2a", c_scale=0.9, claim_id="qu2020.lemma2a_c90")
    found = search_claim(broken, 100, seed=0, progress=False)
    assert found.evaluations <= 100
    assert found.verdict == "violated" and found.ratio > 1.1
    assert found.row.counterexample["params"] == found.params


def test_thm1_copy_chain_signed_ratio_two():
    res = search_claim(get_claim("qu2020.thm1"), 30, seed=0, progress=False, families=["copy-chain"])
    assert res.params["family"] == "copy-chain" and res.params["signed"] is True
    assert res.ratio == pytest.approx(2.0, abs=1e-9)
    assert res.verdict == "violated"
    assert set(res.families) == {"copy-chain"} and res.evaluations <= 30


def test_same_seed_same_best_row():
    claim = get_claim("qu2020.cor1")
    a, b = (search_claim(claim, 24, seed=5, progress=False) for _ in range(2))
    assert _key(a) == _key(b)
    c = search_claim(claim, 24, seed=6, progress=False)
    assert c.params != a.params


def test_replay_from_params_alone(capsys):
    res = search_claim(get_claim("qu2020.thm3a"), 16, seed=3, progress=False)
    assert res.row is not None
    assert main(["run", "qu2020.thm3a", "--params", json.dumps(res.params), "--seed", "3", "--json",
                 "--no-progress"]) == 0
    rows = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    match = [r for r in rows if r["point"] == res.row.point]
    assert len(match) == 1
    assert match[0]["measured"] == res.row.measured and match[0]["bound"] == res.row.bound
    assert match[0]["ratio"] == res.row.ratio and match[0]["params"] == res.params
    assert "--seed 3" in res.replay_command()
    inst = replay_instance(get_claim("qu2020.thm3a"), res.params)
    assert inst.params == res.params


def _toy_claim():
    """Ratio x/0.5 where x <= 0.5 (hypothesis holds); 100 x outside it: the search must not report those."""

    def build(p):
        return Instance(name="", payload={"x": p["x"], "k": p["k"], "sign": p["sign"]})

    def measure(inst, rng, quick):
        x = inst.payload["x"]
        return Measurement(measured=(100 * x if x > 0.5 else x) * inst.payload["sign"], bound=0.5)

    def assumptions(inst):
        return [Assumption("x <= 0.5", holds=inst.payload["x"] <= 0.5, measured=inst.payload["x"])]

    space = SearchSpace("toy", {"x": Real(0.0, 1.0), "k": Integer(0, 3), "sign": Choice((1, -1))}, build)
    return Claim(id="toy.search", source="test", statement="x <= 0.5", measure=measure, instances=lambda q, s: [],
                 assumptions=assumptions, search=space)


def test_rows_outside_hypotheses_score_nothing():
    res = search_claim(_toy_claim(), 60, seed=0, progress=False)
    assert res.params["x"] <= 0.5 and res.params["sign"] == 1
    assert 0.8 < res.ratio <= 1.0 and res.verdict == "holds"


def test_bad_spaces_and_budgets():
    with pytest.raises(SearchError):
        Real(1.0, 0.0)
    with pytest.raises(SearchError):
        Real(0.0, 1.0, log=True)
    with pytest.raises(SearchError):
        Integer(0.5, 2)
    with pytest.raises(SearchError):
        Choice(())
    with pytest.raises(SearchError):
        SearchSpace("f", {"family": Real(0, 1)}, lambda p: None)
    with pytest.raises(SearchError):
        SearchSpace("f", {"x": (0, 1)}, lambda p: None)
    with pytest.raises(TypeError):
        Claim(id="toy.bad", source="", statement="", measure=lambda *a: [], instances=lambda *a: [],
              search=[object()])
    claim = _toy_claim()
    for budget in (0, -3, 1.5, True):
        with pytest.raises(SearchError):
            search_claim(claim, budget, progress=False)
    with pytest.raises(SearchError, match="outside"):
        replay_instance(claim, {"x": 2.0, "k": 0, "sign": 1})
    with pytest.raises(SearchError, match="missing"):
        replay_instance(claim, {"x": 0.2})
    with pytest.raises(SearchError, match="no family"):
        replay_instance(claim, {"family": "other", "x": 0.2, "k": 0, "sign": 1})


@pytest.mark.parametrize("argv", [
    ["search", "qu2020.thm1", "--budget", "0"],
    ["search", "qu2020.thm1", "--budget", "1"],  # fewer than its two families
    ["search", "qu2020.critic", "--budget", "5"],  # no search space
    ["search", "nosuch.claim"],
    ["run", "qu2020.thm1", "--params", "{not json"],
    ["run", "qu2020.thm1", "--params", '{"family": "copy-chain", "n": 99, "rho": 0.5, "signed": false}'],
    ["run", "qu2020", "--params", "{}"],
])
def test_cli_usage_errors_exit_2(argv, capsys):
    try:
        status = main(argv + ["--no-progress"])
    except SystemExit as exc:  # argparse's parser.error
        status = exc.code
    assert status == 2
    assert "error" in capsys.readouterr().err


def test_cli_search_and_report(tmp_path, capsys):
    assert main(["search", "qu2020.thm1", "--budget", "12", "--json", "--no-progress", "--out", str(tmp_path)]) == 0
    (line,) = capsys.readouterr().out.splitlines()
    row = json.loads(line)
    assert row["claim"] == "qu2020.thm1" and row["search"]["evaluations"] <= 12
    assert row["params"] == row["search"]["params"]
    assert (tmp_path / "search.csv").exists()
    out = tmp_path / "report"
    assert main(["report", "qu2020.thm1", "--quick", "--out", str(out), "--search-budget", "12",
                 "--no-progress", "--jobs", "1"]) == 0
    md = (out / "qu2020" / "report.md").read_text()
    assert "largest ratio by search" in md and "largest ratio on the fixed instances" in md
    assert "netmarl-verify run qu2020.thm1 --params" in md


def _atol_claim(atol):
    """Two rows per instance: a rounding-level one (bound 1e-15 < atol, ratio 1.5, holds within atol) and a
    real one (ratio x): only the real one may score."""

    def measure(inst, rng, quick):
        yield Measurement(measured=1.5e-15, bound=1e-15, point={"row": "rounding"})
        yield Measurement(measured=inst.payload["x"], bound=1.0, point={"row": "real"})

    space = SearchSpace("toy", {"x": Real(0.1, 0.9)}, lambda p: Instance(name="", payload={"x": p["x"]}))
    return Claim(id="toy.atol", source="test", statement="", measure=measure, instances=lambda q, s: [],
                 atol=atol, search=space)


def test_rows_with_bound_below_atol_do_not_score():
    from netmarl_verify.verify import check_instance
    from netmarl_verify.verify._search import informative, instance_score

    claim = _atol_claim(1e-12)
    rows = check_instance(claim, claim.search[0].instance({"x": 0.5}), 0, quick=False)
    low = next(r for r in rows if r.point["row"] == "rounding")
    assert low.verdict == "holds" and low.ratio == pytest.approx(1.5)
    assert not informative(low, claim.atol) and informative(low, 0.0)
    score, row = instance_score(rows, claim.atol)
    assert score == pytest.approx(0.5) and row.point["row"] == "real"
    assert instance_score(rows)[0] == pytest.approx(1.5)  # what the search used to see
    res = search_claim(claim, 20, seed=0, progress=False)
    assert res.row.point["row"] == "real" and 0.8 < res.ratio <= 0.9
    # without an atol the same row is a plain measurement: it scores (and here, with no allowance, is violated)
    res0 = search_claim(_atol_claim(0.0), 20, seed=0, progress=False)
    assert res0.row.point["row"] == "rounding" and res0.verdict == "violated"


def test_violated_row_below_atol_still_scores():
    from netmarl_verify.verify import check_instance
    from netmarl_verify.verify._search import instance_score

    claim = _atol_claim(1e-16)  # 1.5e-15 > 1e-15 + 1e-16: a violation beyond the allowance
    rows = check_instance(claim, claim.search[0].instance({"x": 0.5}), 0, quick=False)
    score, row = instance_score(rows, 1e-14)  # bound 1e-15 < 1e-14, but the verdict says violated
    assert row.verdict == "violated" and score == pytest.approx(1.5)


#: The instance on which `search qu2020 --budget 300 --seed 0` reported Lemma 3's ratio 1.59: a
#: '[C^t a0]_i' row with measured 5.6e-16 and bound 3.5e-16, both below the claim's atol 1e-12.
LEMMA3_ROUNDING = {"family": "coupled", "graph": "cycle", "horizon": 10, "n": 4, "seed": 1490312642,
                   "strength": 0.018452945142939547}


def test_lemma3_search_ignores_rounding_level_rows():
    import dataclasses

    from netmarl_verify.verify import check_instance
    from netmarl_verify.verify._search import instance_score

    claim = get_claim("qu2020.lemma3")
    assert claim.atol > 0
    rows = check_instance(claim, replay_instance(claim, LEMMA3_ROUNDING), 0, quick=False)
    old, old_row = instance_score(rows)
    assert old > 1.5 and abs(old_row.bound) < claim.atol and old_row.verdict == "holds"
    # a search pinned to that one instance (every parameter fixed: one evaluation)
    space = claim.search[[s.family for s in claim.search].index("coupled")]
    fixed = {k: (Choice((v,)) if isinstance(p, Choice) else Integer(v, v) if isinstance(p, Integer) else Real(v, v))
             for (k, p), v in zip(space.params.items(), (LEMMA3_ROUNDING[k] for k in space.params))}
    pinned = dataclasses.replace(claim, id="qu2020.lemma3_pinned",
                                 search=(SearchSpace("coupled", fixed, space.build),))
    res = search_claim(pinned, 1, seed=0, progress=False)
    assert res.evaluations == 1 and res.params == LEMMA3_ROUNDING
    assert res.ratio <= 1 + 1e-9 and abs(res.row.bound) >= claim.atol
    # and a small search over both families stays at ratio 1 up to rounding, from rows above atol
    res = search_claim(claim, 40, seed=0, progress=False)
    assert res.verdict == "holds" and res.ratio <= 1 + 1e-6 and abs(res.row.bound) >= claim.atol


def test_negative_bounds_are_searched_towards_violation():
    """A lower bound x >= 0.5 checked as -x <= -0.5: the ratio x/0.5 is large when it is loose, so the search
    scores 2 - ratio (row_score) and finds the x closest to (here: below) 0.5."""
    from netmarl_verify.verify._search import row_score

    def measure(inst, rng, quick):
        return Measurement(measured=-inst.payload["x"], bound=-0.5)

    space = SearchSpace("toy", {"x": Real(0.4, 5.0)}, lambda p: Instance(name="", payload={"x": p["x"]}))
    claim = Claim(id="toy.lower", source="test", statement="x >= 0.5", measure=measure, instances=lambda q, s: [],
                  search=space)
    res = search_claim(claim, 30, seed=0, progress=False)
    assert res.params["x"] < 0.5 and res.verdict == "violated"
    assert res.ratio < 1 and res.score == pytest.approx(2 - res.ratio) and res.score > 1
    assert row_score(res.row) == res.score


def test_search_jobs_gives_the_rows_of_jobs_1():
    """Claims searched in two spawned processes: bit-identical to the sequential search, same order."""
    from netmarl_verify.verify._search import search_checks

    seq = search_checks("ying2023", 12, seed=3, progress=False, jobs=1)
    par = search_checks("ying2023", 12, seed=3, progress=False, jobs=2)
    assert [r.claim for r in par] == [r.claim for r in seq] and len(seq) >= 2
    for a, b in zip(seq, par):
        assert a.params == b.params and a.evaluations == b.evaluations
        assert a.row.to_json_dict()["measured"] == b.row.to_json_dict()["measured"]
        assert json.dumps(a.families, sort_keys=True) == json.dumps(b.families, sort_keys=True)  # NaN-safe


def test_search_jobs_must_be_positive():
    from netmarl_verify.verify._search import search_checks

    with pytest.raises(SearchError, match="jobs must be >= 1"):
        search_checks("ying2023", 12, jobs=0)
