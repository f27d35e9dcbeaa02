"""qu2020 decay/truncation claims: verdicts in quick mode, and each check failing on broken input."""

import numpy as np
import pytest

from netmarl_verify import envs
from netmarl_verify.solvers.exact import decay_profile, interaction_matrix, row_sums
from netmarl_verify.verify import get_claim, run_claim
from netmarl_verify.verify.claims import qu2020


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
    claim = qu2020.make_claims(c_scale=0.5)[index]
    rows = run_claim(claim, quick=True, seed=0, progress=False)
    assert _verdicts(rows, "r in {0,1}") == {"violated"}


def test_thm1_fails_with_wrong_kernel_constant():
    """rho measured on a wrong (weaker) kernel gives a bound the true chain violates."""
    weak = envs.copy_chain_mdp(4, 0.3)
    claim = qu2020.make_claims(rho_override=weak)[0]
    rows = run_claim(claim, quick=True, seed=0, progress=False)
    assert "violated" in _verdicts(rows, "r in {0,1}")


@pytest.mark.parametrize("index,scale", [(2, 1e-3), (3, 1e-6)])
def test_lemma2_claims_fail_with_wrong_constant(index, scale):
    """Lemma 2(b)'s bound is loose by ~3e-4 on the quick instances, hence the smaller scale."""
    claim = qu2020.make_claims(c_scale=scale)[index]
    rows = run_claim(claim, quick=True, seed=0, progress=False)
    assert "violated" in _verdicts(rows)
