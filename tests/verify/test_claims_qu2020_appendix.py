"""qu2020 App. C-D lemmas (verify/claims/qu2020/appendix.py): quick runs hold, broken inputs are violated."""

import numpy as np
import pytest

from netmarl_verify.solvers.exact import policy_gradient
from netmarl_verify.verify import get_claim, run_claim, with_faults
from netmarl_verify.verify.claims.qu2020 import appendix

from _figure_checks import assert_drawn_as_spec, claim_specs

IDS = ("qu2020.lemma1", "qu2020.lemma6", "qu2020.lemma7", "qu2020.lemma9", "qu2020.lemma10", "qu2020.lemma11")


@pytest.fixture(scope="module")
def quick_rows():
    return {cid: run_claim(get_claim(cid), quick=True, seed=0, progress=False) for cid in IDS}


def _verdicts(rows, check=None):
    return {r.verdict for r in rows if check is None or r.point.get("check") == check}


@pytest.mark.parametrize("cid", IDS)
def test_quick_run_holds(quick_rows, cid):
    rows = quick_rows[cid]
    assert rows and _verdicts(rows) == {"holds"}, cid


def test_registered_last_in_order():
    from netmarl_verify.verify import list_claims

    ids = [c.id for c in list_claims("qu2020")]
    assert ids[-len(IDS):] == list(IDS)


def test_lemma1_broken_gradient_is_violated():
    def discounted(mdp, pol):  # a wrong formula: the discounted gradient, rescaled
        return [0.5 * g for g in policy_gradient(mdp, pol, gamma=0.5)]

    rows = run_claim(with_faults("qu2020.lemma1", gradient_fn=discounted), quick=True, progress=False)
    assert _verdicts(rows) == {"violated"}


def test_lemma6_wrong_constant_is_violated_and_the_proof_norm_exceeds_one(quick_rows):
    rows = run_claim(with_faults("qu2020.lemma6", c_inf_scale=0.01), quick=True, progress=False)
    assert "violated" in _verdicts(rows)
    # t = 0: the worst ratio is exactly 1 (d = (e_x - e_y)/2 with disjoint supports)
    assert all(abs(r.measured - 1) < 1e-12 for r in quick_rows["qu2020.lemma6"] if r.point["t"] == 0)
    # the finding: the norm the printed proof uses exceeds 1 on the n=2 line; the dual bound holds
    assert max(r.extra["mu_D_transpose"] for r in quick_rows["qu2020.lemma6"]) > 1
    assert all(r.extra["ratio_dual"] <= 1 + 1e-9 for r in quick_rows["qu2020.lemma6"])


def test_lemma6_figure(quick_rows):
    specs, frame = claim_specs(get_claim("qu2020.lemma6"), quick_rows["qu2020.lemma6"])
    for spec in specs:
        assert_drawn_as_spec(spec, frame)


def test_lemma7_wrong_constant_is_violated_and_G_tilde_attained(quick_rows):
    rows = run_claim(with_faults("qu2020.lemma7", gmax_scale=0.99), quick=True, progress=False)
    assert "violated" in _verdicts(rows, "(a) max ||G~_i(z,z')||")
    tight = [r.ratio for r in quick_rows["qu2020.lemma7"] if r.point["check"] == "(a) max ||G~_i(z,z')||"
             and "copy chain" not in r.instance]  # |Z_N| >= 3 there; the copy chain's kappa=0 has |Z_N| = 2
    assert np.allclose(tight, 1.0)


def test_lemma9_wrong_c_prime_is_violated():
    rows = run_claim(with_faults("qu2020.lemma9", c_prime_scale=1e-4), quick=True, progress=False)
    assert "violated" in _verdicts(rows)


def test_lemma10_broken_inputs_are_violated():
    rows = run_claim(with_faults("qu2020.lemma10", lemma10_global_J=True), quick=True, progress=False)
    assert "violated" in _verdicts(rows, "mu-hat = J_i")
    rows = run_claim(with_faults("qu2020.lemma10", rbar_scale=1e-3), quick=True, progress=False)
    assert "violated" in _verdicts(rows, "(21)")


def test_lemma11_wrong_constant_is_violated():
    rows = run_claim(with_faults("qu2020.lemma11", rbar_scale=1e-5), quick=True, progress=False)
    assert "violated" in _verdicts(rows, "||Q_i||_inf")


def test_module_constants():
    assert appendix.LEMMA1_TOL > 0
    assert sorted(s.name for s in appendix.LEMMA6_BOUND.free_symbols) == ["Z", "mu_D", "sigma", "t"]
