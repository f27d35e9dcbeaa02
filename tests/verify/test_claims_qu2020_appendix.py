"""qu2020 App. C-D lemmas (verify/claims/qu2020/appendix.py): quick runs hold, broken inputs are violated."""

import numpy as np
import pytest

from netmarl_verify.solvers.exact import policy_gradient
from netmarl_verify.verify import get_claim, run_claim, with_faults
from netmarl_verify.verify.claims.qu2020 import appendix

from _figure_checks import assert_drawn_as_spec, claim_specs

IDS = ("qu2020.lemma1", "qu2020.lemma6", "qu2020.lemma7", "qu2020.lemma9", "qu2020.lemma10", "qu2020.lemma11",
       "qu2020.lemma15")


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


def test_lemma7_mixing_rows_stop_at_the_rounding_floor():
    # a coupled cycle with mu_D ~ 0.03: 2 c_inf mu_D^t falls below the ~1e-15 rounding of the mixing terms
    from netmarl_verify.verify import check_instance, replay_instance

    claim = get_claim("qu2020.lemma7")
    inst = replay_instance(claim, {"family": "coupled", "graph": "cycle", "n": 3, "strength": 0.0702358201896518,
                                   "seed": 120522195})
    rows = check_instance(claim, inst, 0, quick=False)
    mixing = [r for r in rows if r.point["check"].endswith("mixing")]
    assert mixing and {r.verdict for r in rows} == {"holds"}
    assert max(r.point["t"] for r in mixing) < 15  # cut before t = 15
    for r in mixing:
        scale = r.values["G_max"] if r.point["check"] == "(b) G mixing" else r.values["h_max"]
        assert r.bound >= appendix.LEMMA7_FLOOR * scale


def test_lemma15_rows_and_cross_checks(quick_rows):
    rows = quick_rows["qu2020.lemma15"]
    checks = {r.point["check"] for r in rows}
    assert checks == {"sup |F| <= C'_F", "sup |F-hat| <= C_F", "Lip_Q F <= L'_QF", "Lip_Q F-hat <= L_QF"}
    for r in rows:
        assert r.measured > 0
        if "vertex_check_rel_err" in r.extra:  # the exact sup vs a direct least-squares Poisson solve at a vertex
            assert r.extra["vertex_check_rel_err"] < 1e-9
        if "sampled_lipschitz" in r.extra:  # sampled quotients never exceed the exact constant
            assert 0 < r.extra["sampled_lipschitz"] <= r.measured * (1 + 1e-9)
    # the constants as printed: C_F = 2 c_inf/(1-mu_D) C'_F, L_QF = 2 c_inf/(1-mu_D) L'_QF, L'_QF = C'_F (1 + 1/n)
    by = {(r.instance, r.point["i"], r.point["kappa"], r.point["check"]): r for r in rows}
    for (inst, i, k, check), r in by.items():
        if check == "sup |F-hat| <= C_F":
            cfp = by[(inst, i, k, "sup |F| <= C'_F")]
            assert r.bound == pytest.approx(r.extra["poisson_factor"] * cfp.bound)
            assert by[(inst, i, k, "Lip_Q F <= L'_QF")].bound == pytest.approx(cfp.bound * (1 + 1 / r.values["n"]))
            assert cfp.bound == pytest.approx(2 * r.extra["Q_max"])  # L_i^2 = 2
            # |F| <= ||grad_i J|| L_i, the proof's first step
            assert cfp.measured <= cfp.extra["bound_grad_L"] * (1 + 1e-9)


def test_lemma15_lipschitz_closed_form_against_brute_force():
    rng = np.random.default_rng(3)
    for trial in range(20):
        sizes = list(rng.integers(1, 4, size=rng.integers(1, 4)))
        blocks = [rng.normal(size=(1, s)) * (rng.random((1, s)) < 0.8) for s in sizes]
        n_blocks = len(blocks) + int(rng.integers(0, 2))
        exact, norm1 = appendix._lipschitz_of_rescaled_linear(blocks, n_blocks)
        a = np.concatenate([b[0] for b in blocks] + [np.zeros(1)] * (n_blocks - len(blocks)))
        cuts = np.cumsum([len(b[0]) for b in blocks] + [1] * (n_blocks - len(blocks)))[:-1]

        def f(x):
            return a @ x / (1 + np.abs(x).max())

        best = 0.0
        for _ in range(3000):  # random close pairs at random scales
            x = np.exp(rng.uniform(-3, 3)) * rng.uniform(-1, 1, a.size)
            y = x + 1e-6 * rng.uniform(-1, 1, a.size)
            d = sum(np.abs(p).max() for p in np.split(x - y, cuts))
            best = max(best, abs(f(x) - f(y)) / d)
        assert best <= exact[0] * (1 + 1e-6), trial
        assert best >= 0.5 * exact[0], trial  # and the sampled sup comes close to it
        # sup |f| = ||a||_1 (approached at m sign(a), m -> inf)
        m = 1e8
        assert f(m * np.sign(a)) == pytest.approx(norm1[0], rel=1e-7)


def test_lemma15_wrong_constant_is_violated(quick_rows):
    tight = max(r.ratio for r in quick_rows["qu2020.lemma15"])
    assert tight < 1e-3  # very loose: c_inf/(1-mu_D) enters twice
    rows = run_claim(with_faults("qu2020.lemma15", lemma15_scale=0.9 * tight), quick=True, progress=False)
    assert "violated" in _verdicts(rows)
