"""qu2020 decay/truncation claims: verdicts in quick mode, and each check failing on broken input."""

import numpy as np
import pytest

from netmarl_verify import envs
from netmarl_verify.solvers.exact import decay_profile, interaction_matrix, row_sums
from netmarl_verify.verify import claim_faults, get_claim, run_claim, with_faults

from _figure_checks import assert_drawn_as_spec, claim_specs, shape


def _verdicts(rows, contains=None):
    return {r.verdict for r in rows if contains is None or contains in r.instance}


@pytest.fixture(scope="module")
def quick_rows():
    return {cid: run_claim(get_claim(cid), quick=True, seed=0, progress=False)
            for cid in ("qu2020.thm1", "qu2020.cor1", "qu2020.lemma2a", "qu2020.lemma2b")}


def test_thm1_quick_verdicts(quick_rows):
    rows = quick_rows["qu2020.thm1"]
    assert _verdicts(rows, "r in {0,1}") == {"holds"}
    assert _verdicts(rows, "coupled") == {"holds"}
    # the finding: signed rewards with |r| <= rbar break the stated constant by exactly 2
    signed = [r for r in rows if "{-1,1}" in r.instance]
    assert {r.verdict for r in signed} == {"violated"}
    np.testing.assert_allclose([r.ratio for r in signed], 2.0, rtol=1e-12)
    assert _verdicts(rows, "random") == {"not applicable"}


def test_thm1_tight_instance_has_ratio_one(quick_rows):
    """Lemma 3's TV bound is attained on the copy chain, so the bound is attained too."""
    tight = [r for r in quick_rows["qu2020.thm1"] if "r in {0,1}" in r.instance]
    np.testing.assert_allclose([r.ratio for r in tight], 1.0, rtol=1e-12)


def test_copy_chain_closed_form():
    """Independent route: sup of eq. (4) on the copy chain is rbar * sum_{t > kappa} rho^t."""
    for rho, signed in [(0.6, False), (0.3, True)]:
        mdp = envs.copy_chain_mdp(5, rho, signed=signed)
        assert row_sums(interaction_matrix(mdp))[0] == pytest.approx(rho, rel=1e-14)
        prof = decay_profile(mdp, envs.LocalSoftmaxPolicy.uniform(mdp), 0, range(4))
        span = 2.0 if signed else 1.0
        np.testing.assert_allclose(prof.values, [span * rho ** (k + 1) / (1 - rho) for k in range(4)], rtol=1e-10)


def test_cor1_quick_verdicts(quick_rows):
    rows = quick_rows["qu2020.cor1"]
    assert _verdicts(rows, "r in {0,1}") == {"holds"}
    assert _verdicts(rows, "coupled") == {"holds"}
    assert _verdicts(rows, "{-1,1}") == {"violated"}
    assert _verdicts(rows, "random") == {"not applicable"}


def test_lemma2_quick_verdicts(quick_rows):
    for cid in ("qu2020.lemma2a", "qu2020.lemma2b"):
        rows = quick_rows[cid]
        assert "violated" not in _verdicts(rows)
        assert "holds" in _verdicts(rows)
    # the signed copy chain does not have Theorem 1's decay, so Lemma 2(a) does not apply there
    assert _verdicts(quick_rows["qu2020.lemma2a"], "{-1,1}") == {"not applicable"}


@pytest.mark.parametrize("index", [0, 1])
def test_decay_claims_fail_with_wrong_constant(index):
    """Halving rbar makes the tight instance violate Theorem 1 / Corollary 1."""
    claim = with_faults(("qu2020.thm1", "qu2020.cor1")[index], c_scale=0.5)
    rows = run_claim(claim, quick=True, seed=0, progress=False)
    assert _verdicts(rows, "r in {0,1}") == {"violated"}


def test_thm1_fails_with_wrong_kernel_constant():
    """rho measured on a wrong (weaker) kernel gives a bound the true chain violates."""
    weak = envs.copy_chain_mdp(4, 0.3)
    claim = with_faults("qu2020.thm1", rho_override=weak)
    rows = run_claim(claim, quick=True, seed=0, progress=False)
    assert "violated" in _verdicts(rows, "r in {0,1}")


@pytest.mark.parametrize("claim_id,scale", [("qu2020.lemma2a", 1e-3), ("qu2020.lemma2b", 1e-6)])
def test_lemma2_claims_fail_with_wrong_constant(claim_id, scale):
    """Lemma 2(b)'s bound is loose by ~3e-4 on the quick instances, hence the smaller scale."""
    claim = with_faults(claim_id, c_scale=scale)
    rows = run_claim(claim, quick=True, seed=0, progress=False)
    assert "violated" in _verdicts(rows)


def test_decay_instances_carry_their_family():
    """Claims select instances by Instance.family, not by substrings of the display name."""
    from netmarl_verify.verify.claims.qu2020 import _common

    fams = {i.name: i.family for i in get_claim("qu2020.thm1").instances(True, 0)}
    assert fams == {"copy-chain n=4 rho=0.6 r in {0,1}": _common.COPY_CHAIN,
                    "copy-chain n=4 rho=0.6 r in {-1,1}": _common.SIGNED_COPY_CHAIN,
                    "coupled path n=4 strength=0.3": _common.COUPLED,
                    "random line n=4 (App. B.4 kernels)": _common.RANDOM}
    assert {i.family for i in get_claim("qu2020.lemma2b").instances(True, 0)} == {
        _common.COPY_CHAIN, _common.COUPLED, _common.RANDOM}


def test_with_faults_declares_and_refuses_unknown_faults():
    assert set(claim_faults("qu2020.thm1")) == {"c_scale", "rho_override"}
    with pytest.raises(ValueError, match="declared: \\['c_scale', 'rho_override'\\]"):
        with_faults("qu2020.thm1", rho_scale=0.5)
    broken = with_faults("qu2020.cor1", c_scale=0.5, claim_id="qu2020.cor1_broken")
    assert broken.id == "qu2020.cor1_broken" and get_claim("qu2020.cor1") is not broken


def test_instance_seed_is_the_historic_entropy():
    """One route for instance seeds, bit-identical to the two it replaced: SeedSequence([seed, crc32(name)])."""
    import zlib

    from netmarl_verify.verify import instance_seed

    for seed, name in [(0, "coupled path n=3 strength=0.3"), (7, "copy chain n=4 rho=0.6")]:
        old = np.random.SeedSequence([seed, zlib.crc32(name.encode("utf-8"))])
        assert instance_seed(seed, name).entropy == old.entropy
        assert np.random.default_rng(instance_seed(seed, name)).random() == np.random.default_rng(old).random()


def test_assumption_builders_build_the_historic_assumptions():
    from netmarl_verify.verify import Assumption, assume_at_least, assume_at_most, assume_greater, assume_in, assume_less

    assert assume_less("rho < 1", 0.7, 1, "d").to_dict() == Assumption(
        "rho < 1", holds=True, measured=0.7, required="< 1", detail="d").to_dict()
    assert not assume_less("rho < 1", 1.0, 1).holds
    assert assume_greater("sigma > 0", 0.0, 0).to_dict() == Assumption(
        "sigma > 0", holds=False, measured=0.0, required="> 0").to_dict()
    assert assume_at_least("rate", 0.5, 0.5).required == ">= 0.5" and assume_at_least("rate", 0.5, 0.5).holds
    assert assume_at_most("decay", 1 + 1e-10, 1, slack=1e-9).holds and not assume_at_most("decay", 1.01, 1).holds
    a = assume_in("power", 1.0, 0.5, 1, required="power in (1/2, 1]")
    assert a.holds and a.required == "power in (1/2, 1]" and not assume_in("power", 0.5, 0.5, 1).holds
    assert assume_in("p", 0.5, 0.5, 1, closed="both").required == "in [0.5, 1]"


# ----------------------------------------------------------------------------- figures
#: (kind, [(runs, points) per series], [points per bound], hlines, vlines) of every spec on quick rows
#: (the figures of the report before figures became specs: same curves and counts).
DECAY_FIGURES = {
    "qu2020.thm1": [("decay", [(1, 3)], [3], 0, 0)] * 3,
    "qu2020.cor1": [("decay", [(1, 3)], [3], 0, 0)] * 3,
    "qu2020.lemma2a": [("decay", [(1, 3)] * 3, [3], 0, 0)] * 2,
    "qu2020.lemma2b": [("decay", [(1, 3)] * 2, [3], 0, 0)] * 2,
}


@pytest.mark.parametrize("claim_id", sorted(DECAY_FIGURES))
def test_decay_figure_specs(quick_rows, claim_id):
    specs, frame = claim_specs(get_claim(claim_id), quick_rows[claim_id])
    assert [shape(s) for s in specs] == DECAY_FIGURES[claim_id]
    for spec in get_claim(claim_id).figures(frame):
        assert spec.x == "point.kappa" and spec.integer_x and spec.log_y
        assert_drawn_as_spec(spec, frame)


def test_thm1_figure_reads_agent_0_policy_0_sorted_by_kappa(quick_rows):
    specs, frame = claim_specs(get_claim("qu2020.thm1"), quick_rows["qu2020.thm1"])
    name = "coupled path n=4 strength=0.3"
    spec = next(s for s in specs if name in s.title)
    sub = frame[(frame["instance"] == name) & (frame["point.i"] == 0) & (frame["point.policy"] == 0)]
    sub = sub.sort_values("point.kappa")
    np.testing.assert_array_equal(spec.series[0].x, sub["point.kappa"])
    np.testing.assert_array_equal(spec.series[0].y, sub["measured"])
    np.testing.assert_array_equal(spec.bounds[0].y, sub["bound"])
    assert spec.series[0].label == "exact sup of eq. (4)" and spec.bounds[0].label == "paper's bound"


def test_cor1_figure_draws_the_largest_gamma(quick_rows):
    specs, frame = claim_specs(get_claim("qu2020.cor1"), quick_rows["qu2020.cor1"])
    assert all("point.gamma == 0.9" in s.series[0].where_text() for s in specs)


def test_lemma2a_figure_has_one_series_per_weight_choice(quick_rows):
    specs, _ = claim_specs(get_claim("qu2020.lemma2a"), quick_rows["qu2020.lemma2a"])
    assert [s.label for s in specs[0].series] == ["uniform", "stationary", "fixed"]
    assert "assumptions_hold == True" in specs[0].series[0].where_text()
