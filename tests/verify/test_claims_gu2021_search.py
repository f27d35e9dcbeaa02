"""gu2021 critic / actor / appendix claims: search spaces (exact claims) or none (sampled ones), and the bootstrap
interval of the slopes fitted to several runs (verify/_fit.py:bootstrap_slope_ci)."""

import math

import numpy as np
import pytest

from netmarl_verify.verify import check_instance, get_claim, replay_instance, run_claim, search_claim, with_faults
from netmarl_verify.verify._fit import bootstrap_slope_ci, fit_loglog_slope
from netmarl_verify.verify.claims.gu2021 import actor, appendix, critic

IDS = tuple(c.id for module in (critic, actor, appendix) for c in module.make_claims())

#: Sampled / statistical / fitted-rate claims: a search maximising measured/bound would select false alarms.
SAMPLED = ("gu2021.critic_fixed_point", "gu2021.thmC1_rate", "gu2021.thm5_1", "gu2021.init_scale", "gu2021.thm5_2",
           "gu2021.assump5_2_sigma", "gu2021.thmD1", "gu2021.lemmaC2_rf", "gu2021.lemmaD3")

#: Exact claims whose honest search holds, and a fault (declared by the module's factory) the search must find.
EXACT = (("gu2021.pdl", {"unnormalised": True}),
         ("gu2021.lemma4_1", {"visitation_scale": 2.0}),
         ("gu2021.eq44_localization", {"c_scale": 0.01}),
         ("gu2021.lemmaC1_contraction", {"weights": "sigma"}))


def test_every_claim_has_a_search_space_or_says_why():
    assert len(IDS) == 25
    for cid in IDS:
        claim = get_claim(cid)
        if cid in SAMPLED:
            assert not claim.search, cid
            assert "no search space: sampled" in claim.notes.lower(), cid
        else:
            assert claim.search, cid
            assert "no search space" not in claim.notes.lower(), cid


@pytest.fixture(scope="module")
def honest():
    return {cid: search_claim(get_claim(cid), 6, seed=0, progress=False) for cid, _ in EXACT}


@pytest.mark.parametrize("cid, fault", EXACT)
def test_search_holds_and_finds_the_fault(honest, cid, fault):
    assert honest[cid].verdict == "holds", (cid, honest[cid].params)
    assert honest[cid].evaluations <= 6
    broken = search_claim(with_faults(cid, **fault), 6, seed=0, progress=False)
    assert broken.verdict == "violated", (cid, fault)


@pytest.mark.parametrize("cid", [cid for cid, _ in EXACT])
def test_search_row_replays_from_its_params(honest, cid):
    res = honest[cid]
    claim = get_claim(cid)
    inst = replay_instance(claim, res.params)
    assert inst.params == res.params
    rows = check_instance(claim, inst, seed=res.seed, quick=False)
    same = [r for r in rows if r.point == res.row.point]
    assert same and same[0].measured == res.row.measured and same[0].bound == res.row.bound


def test_r2_space_builds_the_N_grid():
    claim = get_claim("gu2021.assump_R2_D")
    space = [s for s in claim.search if s.family == "lazy_walk"][0]
    inst = space.instance({"L": 3, "A": 2, "gamma": 0.9, "initial": "at0", "N_max": 4, "seed": 0})
    rows = check_instance(claim, inst, seed=0, quick=True)
    assert {r.point["N"] for r in rows if "N" in r.point} == {2, 3, 4}
    growth = [r for r in rows if r.point["check"].startswith("growth")]
    # the finding of the claim's own instances, on a searched one: D^2 grows with N when all agents start at 0
    assert len(growth) == 1 and growth[0].verdict == "violated" and growth[0].extra["N"] == [2.0, 3.0, 4.0]


def test_locality_search_finds_the_congestion_tightness_gap():
    res = search_claim(get_claim("gu2021.locality_2hop"), 6, seed=0, progress=False)
    # congestion reads mu only at the move's target, inside N_s: distance 1 fixes the law (documented finding)
    assert res.verdict == "violated" and res.params["family"] == "congestion"
    assert res.row.point["check"].startswith("tightness") and res.row.extra["tv_at_distance_2"] < 1e-12
    # the law itself is local on every searched family
    assert all(f["best_ratio"] is not None for f in res.families.values())


# ----------------------------------------------------------------------------- slope intervals
def test_bootstrap_slope_ci_unit():
    x = np.array([8.0, 16.0, 32.0, 64.0])
    exact = np.tile(3.0 * x ** -0.5, (5, 1))  # identical runs: every resample refits the same curve
    lo, hi = bootstrap_slope_ci(x, exact, 0.9, 50, np.random.default_rng(0))
    assert lo == pytest.approx(-0.5, abs=1e-12) and hi == pytest.approx(-0.5, abs=1e-12)
    noisy = x ** -1.0 * np.exp(0.3 * np.random.default_rng(1).normal(size=(20, 4)))
    lo, hi = bootstrap_slope_ci(x, noisy, 0.9, 400, np.random.default_rng(2))
    assert lo < fit_loglog_slope(x, noisy.mean(axis=0)) < hi and -1.4 < lo < hi < -0.6
    wide = bootstrap_slope_ci(x, noisy, 0.99, 400, np.random.default_rng(2))
    assert wide[0] <= lo and wide[1] >= hi
    # a custom curve (min over a last axis, as thm5_2's min-so-far gap), NaN padding ignored
    g = np.stack([exact, np.full_like(exact, np.nan)], axis=-1)
    lo, hi = bootstrap_slope_ci(x, g, 0.9, 20, np.random.default_rng(0),
                                curve=lambda r: np.nanmin(r.mean(axis=0), axis=-1))
    assert lo == pytest.approx(-0.5, abs=1e-12)
    assert all(math.isnan(v) for v in bootstrap_slope_ci(x, np.zeros((3, 4)), 0.9, 10, np.random.default_rng(0)))
    with pytest.raises(ValueError, match="level"):
        bootstrap_slope_ci(x, exact, 1.0, 10, np.random.default_rng(0))


def test_lemmaD3_quick_rows_carry_a_slope_interval():
    rows = run_claim(get_claim("gu2021.lemmaD3"), quick=True, seed=0, progress=False)
    assert rows
    for r in rows:
        ex = r.extra
        assert ex["slope_ci_low"] <= r.measured <= ex["slope_ci_high"], (r.point, ex)
        assert ex["slope_ci_level"] == 0.9 and ex["slope_ci_method"].startswith("percentile bootstrap")
        # the verdict stays on the point slope (here: far below the claimed -1/4 + allowance)
        assert r.verdict == "holds" and ex["slope_ci_high"] < r.bound
