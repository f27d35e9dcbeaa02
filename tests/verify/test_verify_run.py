"""Running claims: verdicts on the toy claims, seeding, tidy frames, counterexamples, errors."""

import json
import sys

import numpy as np
import pandas as pd
import pytest

import _toy_claims
from netmarl_verify.verify import (
    CORE_COLUMNS,
    ClaimError,
    Instance,
    check_instance,
    instance_rng,
    run,
    run_claim,
    smallest_counterexample,
    summarize,
)


def test_toy_claim_holds_and_not_applicable(toy_registry):
    results = run_claim(toy_registry.get("toy.geometric"), quick=True, seed=0, progress=False)
    verdicts = {(r.instance, r.point["K"]): r.verdict for r in results}
    assert {v for (inst, _), v in verdicts.items() if inst != "r=1.5"} == {"holds"}
    assert {v for (inst, _), v in verdicts.items() if inst == "r=1.5"} == {"not applicable"}
    for r in results:
        assert r.counterexample == {}
        if r.verdict == "not applicable":
            # r = 1.5: a/(1-r) < 0 bounds nothing; no number is shown, the reason is.
            assert np.isnan(r.bound) and np.isnan(r.ratio)
            assert r.bound_note.startswith("not defined: outside the hypotheses (0 <= r < 1")
            continue
        # The bound is a/(1-r) with a drawn by the claim: check the evaluated number.
        assert r.bound == pytest.approx(r.values["a"] / (1 - r.params["r"]), rel=1e-15)
        assert r.ratio == pytest.approx(r.measured / r.bound, rel=1e-15)
        assert r.bound_note == ""


def test_wrong_constant_is_violated_with_counterexample(toy_registry):
    claim = toy_registry.get("toy.geometric_wrong_constant")
    results = run_claim(claim, quick=True, seed=0, progress=False)
    violated = [r for r in results if r.verdict == "violated"]
    # violated exactly where r^{K+1} < 0.1 (and 0 <= r < 1)
    expected = {(r.instance, r.point["K"]) for r in results
                if r.params["r"] < 1 and r.params["r"] ** (r.point["K"] + 1) < 0.1}
    assert {(r.instance, r.point["K"]) for r in violated} == expected and expected
    cx = violated[0].counterexample
    assert set(cx) >= {"instance", "params", "seed", "point", "measured", "bound", "values"}
    assert cx["measured"] > cx["bound"]


def test_run_frame_is_tidy(toy_registry):
    df = run("toy", quick=True, seed=3, progress=False, registry=toy_registry)
    assert list(df.columns[: len(CORE_COLUMNS)]) == CORE_COLUMNS
    assert len(df) == 2 * 3 * 3
    assert set(df["verdict"]) == {"holds", "violated", "not applicable"}
    assert (df["seed"] == 3).all()
    assert {"param.r", "point.K", "value.a", "extra.tail", "version.numpy", "version.python"} <= set(df.columns)
    assert json.loads(df["params"].iloc[0]) == {"r": 0.3}
    assert (df["wall_time"] >= 0).all()
    assert not df.loc[df["verdict"] == "not applicable", "assumptions_hold"].any()


def test_runs_are_reproducible_and_seed_dependent(toy_registry):
    df0 = run("toy.geometric", quick=True, seed=0, progress=False, registry=toy_registry)
    df0b = run("toy.geometric", quick=True, seed=0, progress=False, registry=toy_registry)
    df1 = run("toy.geometric", quick=True, seed=1, progress=False, registry=toy_registry)
    np.testing.assert_array_equal(df0["measured"], df0b["measured"])
    assert not np.array_equal(df0["measured"], df1["measured"])


def test_instance_rng_independent_of_run_order(toy_registry):
    claim = toy_registry.get("toy.geometric")
    alone = check_instance(claim, Instance("r=0.9", {"r": 0.9}), seed=5, quick=True)
    in_run = [r for r in run_claim(claim, quick=True, seed=5, progress=False) if r.instance == "r=0.9"]
    assert [r.measured for r in alone] == [r.measured for r in in_run]
    u = instance_rng("toy.geometric", "r=0.9", 5).uniform(0.5, 2.0)
    assert alone[0].values["a"] == u


def test_summary_and_smallest_counterexample(toy_registry):
    df = run("toy", quick=True, seed=0, progress=False, registry=toy_registry)
    s = summarize(df).set_index("claim")
    assert s.loc["toy.geometric", "verdict"] == "holds"
    assert s.loc["toy.geometric_wrong_constant", "verdict"] == "violated"
    assert s.loc["toy.geometric_wrong_constant", "violated"] == 3
    assert s.loc["toy.geometric", "max_ratio"] <= 1
    cx = smallest_counterexample(df[df["claim"] == "toy.geometric_wrong_constant"])
    assert cx["instance"] == "r=0.3" and cx["instance_size"] == 1.0
    assert smallest_counterexample(df[df["claim"] == "toy.geometric"]) is None


def test_summary_scores_lower_bounds_like_the_search(toy_registry):
    """A lower bound x >= b is checked as -x <= -b: its ratio x/b is large when the bound is loose, so the summary
    takes 2 - ratio (1 at equality, > 1 iff violated), as verify._search.row_score does."""
    df = run("toy", quick=True, seed=0, progress=False, registry=toy_registry)
    g = df[(df["claim"] == "toy.geometric") & (df["verdict"] == "holds")].head(2).copy()
    # x = 0.8 >= b = 0.5 holds (ratio 1.6, score 0.4); x = 0.55 holds more tightly (ratio 1.1, score 0.9)
    g["measured"], g["bound"], g["ratio"] = [-0.8, -0.55], [-0.5, -0.5], [1.6, 1.1]
    s = summarize(g).set_index("claim")
    assert s.loc["toy.geometric", "max_ratio"] == pytest.approx(0.9)


def test_claim_errors_name_claim_instance_and_seed():
    claim = _toy_claims.make_broken_claim()
    with pytest.raises(ClaimError, match=r"toy.broken.*'bad'.*seed 7.*ZeroDivisionError"):
        run_claim(claim, seed=7, progress=False)


def test_nan_measurement_is_an_error_not_a_verdict():
    from netmarl_verify.verify import Claim

    claim = Claim(id="toy.nan", paper_file="toy.txt", source="-", statement="-",
                  instances=lambda quick, seed: [{"name": "i"}],
                  measure=lambda inst, rng, quick: {"measured": float("nan"), "bound": 1.0})
    with pytest.raises(ClaimError, match="NaN"):
        run_claim(claim, progress=False)


def test_duplicate_instance_names_and_bad_seed_rejected():
    from netmarl_verify.verify import Claim

    claim = Claim(id="toy.dup", paper_file="toy.txt", source="-", statement="-",
                  instances=lambda quick, seed: [{"name": "i"}, {"name": "i"}],
                  measure=lambda inst, rng, quick: {"measured": 0.0, "bound": 1.0})
    with pytest.raises(ValueError, match="two instances"):
        run_claim(claim, progress=False)
    with pytest.raises(ValueError, match="seed"):
        run_claim(claim, seed=-1, progress=False)


def test_empty_run_has_core_columns():
    from netmarl_verify.verify import Registry, to_frame

    df = to_frame([])
    assert list(df.columns) == CORE_COLUMNS and df.empty
    with pytest.raises(LookupError):
        run("all_but_not", registry=Registry())
    assert run("all", registry=Registry(), progress=False).empty
    assert isinstance(df, pd.DataFrame)


def test_progress_lines_when_stderr_is_not_a_terminal(toy_registry, capsys):
    """A log file gets one line per finished claim, with counts and elapsed time."""
    from netmarl_verify.verify import run_checks

    results = run_checks("toy", quick=True, seed=0, progress=True, registry=toy_registry)
    lines = capsys.readouterr().err.strip().splitlines()
    n = len(toy_registry.claims_for("toy"))
    assert len(lines) == n
    for k, line in enumerate(lines, start=1):
        assert line.startswith(f"[{k}/{n}] toy.") and " rows (" in line and line.endswith(" s")
    assert sum(int(line.split(": ")[1].split()[0]) for line in lines) == len(results)


def test_progress_bars_on_a_terminal_show_totals(toy_registry, monkeypatch):
    import io

    from netmarl_verify.verify import run_checks

    class Terminal(io.StringIO):
        def isatty(self):
            return True

    term = Terminal()
    monkeypatch.setattr(sys, "stderr", term)
    run_checks("toy", quick=True, seed=0, progress=True, registry=toy_registry)
    n = len(toy_registry.claims_for("toy"))
    out = term.getvalue()
    assert f"{n}/{n}" in out and "claims" in out  # the outer bar has a total (hence an ETA)
    assert "[1/" not in out  # no log lines on a terminal


def test_no_progress_is_silent(toy_registry, capsys):
    from netmarl_verify.verify import run_checks

    run_checks("toy", quick=True, seed=0, progress=False, registry=toy_registry)
    assert capsys.readouterr().err == ""


def test_summary_skips_rows_below_the_claims_atol():
    """A holding row whose bound is below the claim's atol compares roundings (lemma5_4 at t = 80: 6.4e-17 against
    8.3e-25, ratio 7.7e7); like the search, the summary does not score it. A violated row always scores."""
    from netmarl_verify.verify import get_claim, load_all

    load_all()
    atol = get_claim("zhang2025.lemma5_4").atol
    assert atol >= 1e-13
    base = {"claim": "zhang2025.lemma5_4", "paper": "zhang2025", "source": "Lemma 5.4", "instance": "i",
            "counterexample": "{}",
            "instance_size": 1.0, "seed": 0, "params": "{}", "point": "{}", "values": "{}"}
    rows = pd.DataFrame([{**base, "measured": 0.5, "bound": 1.0, "ratio": 0.5, "verdict": "holds"},
                         {**base, "measured": 6.4e-17, "bound": 8.3e-25, "ratio": 7.7e7, "verdict": "holds"}])
    assert summarize(rows)["max_ratio"].iloc[0] == pytest.approx(0.5)
    rows.loc[1, "verdict"] = "violated"
    assert summarize(rows)["max_ratio"].iloc[0] == pytest.approx(7.7e7)
