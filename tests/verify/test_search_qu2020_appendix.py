"""Counterexample search on the qu2020 appendix claims (verify/claims/qu2020/appendix.py).

For each claim: the unbroken search holds, and a deliberately broken bound is found violated within a
small budget. Where the claim is tight (Lemma 1's identity, Lemma 7(a)'s G~ bound attained with ratio 1,
Lemma 10's identity mu-hat = J_i) the break is the constant made 10% too small. Where the claim is loose
on every instance of its spaces (Lemma 6: the ratio is at most 1/sqrt|Z| <= 1/2 by D^{-1}-norm duality;
Lemma 9: lambda_min / bound >= 2 on what the search reaches; Lemma 11: Q_max is loose by c_inf), a
constant 10% too small is still a true bound: there the break is the bound made 10% smaller than the
tightest row of the claim's *fixed* quick instances, so the search must reach an instance at least
that tight (it finds much tighter ones).
"""

import math

import pytest

from netmarl_verify.solvers.exact import policy_gradient
from netmarl_verify.verify import get_claim, run_claim, search_claim, with_faults
from netmarl_verify.verify._search import row_score

BUDGET = 24  # exact evaluations per search (split over the claim's families)


def _search(claim):
    return search_claim(claim, BUDGET, seed=0, progress=False)


@pytest.mark.parametrize("cid", ["qu2020.lemma1", "qu2020.lemma6", "qu2020.lemma7", "qu2020.lemma9",
                                 "qu2020.lemma10", "qu2020.lemma11", "qu2020.lemma15"])
def test_search_spaces_registered_and_unbroken_search_holds(cid):
    claim = get_claim(cid)
    assert claim.search, cid
    res = _search(claim)
    assert res.evaluations <= BUDGET and res.row is not None
    assert res.verdict == "holds" and res.score <= 1 + 1e-9, (cid, res.params, res.ratio)
    assert res.row.counterexample == {}


def _fixed_tightest(cid, **faults):
    """The largest score (measured/bound; 2 - ratio for a lower bound) of the claim's quick fixed rows."""
    rows = run_claim(get_claim(cid), quick=True, seed=0, progress=False)
    return max(row_score(r) for r in rows if r.verdict == "holds" and math.isfinite(r.ratio))


def _violated(broken):
    res = _search(broken)
    assert res.evaluations <= BUDGET
    assert res.verdict == "violated" and res.score > 1, (broken.id, res.params, res.ratio)
    assert res.row.counterexample["params"] == res.params
    return res


def test_lemma1_gradient_ten_percent_too_small_is_found():
    def short(mdp, pol):
        return [0.9 * g for g in policy_gradient(mdp, pol)]

    _violated(with_faults("qu2020.lemma1", gradient_fn=short, claim_id="qu2020.lemma1_g90"))


def test_lemma7_gmax_ten_percent_too_small_is_found():
    res = _violated(with_faults("qu2020.lemma7", gmax_scale=0.9, claim_id="qu2020.lemma7_g90"))
    assert res.ratio == pytest.approx(1 / 0.9)  # (a)'s G~ bound is attained: ratio 1 before the break


def test_lemma10_J_ten_percent_off_is_found():
    res = _violated(with_faults("qu2020.lemma10", lemma10_J_scale=0.9, claim_id="qu2020.lemma10_J90"))
    assert res.row.point["check"] == "mu-hat = J_i"


def test_lemma6_bound_below_the_tightest_fixed_row_is_found():
    r = _fixed_tightest("qu2020.lemma6")
    assert r < 0.5  # at most 1/sqrt|Z|: a 10% smaller c_inf is still a true bound
    res = _violated(with_faults("qu2020.lemma6", c_inf_scale=0.9 * r, claim_id="qu2020.lemma6_tight"))
    assert res.ratio > 1 / 0.9


def test_lemma9_bound_above_the_tightest_fixed_row_is_found():
    score = _fixed_tightest("qu2020.lemma9")  # 2 - lambda_min / bound
    ratio = 2 - score  # lambda_min / bound on the tightest fixed row, > 1 (here ~7.8)
    assert ratio > 2
    res = _violated(with_faults("qu2020.lemma9", lemma9_bound_scale=ratio / 0.9, claim_id="qu2020.lemma9_tight"))
    assert res.ratio < 0.9 + 1e-9  # lambda_min below the broken lower bound


def test_lemma11_qmax_below_the_tightest_fixed_row_is_found():
    r = _fixed_tightest("qu2020.lemma11")
    assert r < 0.1
    _violated(with_faults("qu2020.lemma11", rbar_scale=0.9 * r, claim_id="qu2020.lemma11_tight"))


def test_lemma15_constants_below_the_tightest_fixed_row_are_found():
    r = _fixed_tightest("qu2020.lemma15")
    assert r < 1e-3  # c_inf/(1-mu_D) twice: a 10% smaller constant is still a true bound
    _violated(with_faults("qu2020.lemma15", lemma15_scale=0.9 * r, claim_id="qu2020.lemma15_tight"))
