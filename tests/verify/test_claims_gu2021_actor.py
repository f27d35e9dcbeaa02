"""gu2021 actor claims (verify/claims/gu2021/actor.py): quick runs, findings pinned, broken inputs violated, figures."""

import math

import numpy as np
import pytest

from netmarl_verify.verify.claims.gu2021 import actor  # noqa: F401
from netmarl_verify.verify import run_claim, with_faults

from _figure_checks import assert_drawn_as_spec, claim_specs

# the module's claims, built by its factory (the same objects it registers; no load of the other paper modules)
CLAIMS = {c.id: c for c in actor.make_claims()}
IDS = tuple(CLAIMS)


@pytest.fixture(scope="module")
def quick_rows():
    return {cid: run_claim(CLAIMS[cid], quick=True, seed=0, progress=False) for cid in IDS}


def _verdicts(rows, pred=lambda r: True):
    return {r.verdict for r in rows if pred(r)}


def _check(name):
    return lambda r: r.point.get("check") == name


def test_ids():
    assert IDS == ("gu2021.pdl", "gu2021.thm5_2", "gu2021.assump_R2_D", "gu2021.assump5_2_sigma",
                   "gu2021.assump5_3_L", "gu2021.eq75", "gu2021.assump_R1_c0", "gu2021.policy_class_optima",
                   "gu2021.thmD1", "gu2021.lemmaD4_eq84")


def test_pdl_holds_exactly(quick_rows):
    rows = quick_rows["gu2021.pdl"]
    assert _verdicts(rows) == {"holds"}
    assert {r.point["reading"] for r in rows} == {"weighted", "printed"}
    # the identity is not vacuous: both sides are O(1e-2 .. 1)
    assert max(abs(r.extra["lhs"]) for r in rows if r.point["check"] == "(66)") > 1e-3
    assert all(r.extra["support_ok"] for r in rows if r.point["check"] == "(67) equality")


def test_thm5_2_finding(quick_rows):
    rows = quick_rows["gu2021.thm5_2"]
    slope = [r for r in rows if r.point["check"] == actor.SLOPE_CHECK]
    ref = [r for r in rows if r.point["check"] == actor.REF_CHECK]
    # finding: Alg. 2's min-so-far gap is flat in T (slope > -0.15) on every instance ...
    assert slope and _verdicts(slope) == {"violated"}
    assert all(r.measured > -0.15 for r in slope)
    # ... while exact-gradient projected ascent with the same eta reaches the T^-1/4 rate at gamma = 0.9
    g09 = [r for r in ref if "gamma=0.9" in r.instance]
    assert g09 and _verdicts(g09) == {"holds"}
    # J* is a valid lower bound: gaps non-negative; the theorem's gamma condition holds by the choice of k
    for r in slope:
        assert min(r.extra["gap"]) >= 0.0
        assert all(a.holds for a in r.assumptions)
        assert r.extra["J_star_spread"] >= 0.0 and r.extra["lifted_optimum"] >= max(r.extra["J_star_runs"]) - 1e-12
    # (76) without its O term holds
    assert _verdicts(rows, _check("(76) explicit term")) == {"holds"}


def _lazy(r):
    return r.params["family"] == "lazy_walk"


def test_R2_finding(quick_rows):
    rows = quick_rows["gu2021.assump_R2_D"]
    assert _verdicts(rows, lambda r: _lazy(r) and r.point["check"] == "D^2 <= sup dsigma/dnu") == {"holds"}
    growth = {r.params["initial"]: r for r in rows
              if _lazy(r) and r.point["check"] == "growth of log sup_theta D^2 per agent"}
    assert growth["uniform"].verdict == "holds"
    # finding: with all agents starting at state 0, D^2 grows exponentially in N (about e^0.5 per agent)
    assert growth["at0"].verdict == "violated" and growth["at0"].measured > 0.3
    assert all(r.measured >= 1.0 - 1e-12 for r in rows if r.point["check"] == "D^2 <= sup dsigma/dnu")  # C-S
    # finding: on the congestion path nu misses states sigma charges: D = infinity
    cong = [r for r in rows if not _lazy(r)]
    assert cong and _verdicts(cong) == {"violated"} and all(math.isinf(r.measured) for r in cong)
    assert all(r.extra["sigma_mass_off_supp_nu"] > 0 for r in cong if "sigma_mass_off_supp_nu" in r.extra)


def test_thmD1_holds(quick_rows):
    rows = quick_rows["gu2021.thmD1"]
    assert _verdicts(rows) == {"holds"}
    full = [r for r in rows if r.point["check"].startswith("(49) with")]
    assert full and all(r.extra["eps_Q_first"] > 10 * r.extra["term_variance"] for r in full)  # eps_Q dominates


def test_sigma_holds(quick_rows):
    rows = quick_rows["gu2021.assump5_2_sigma"]
    assert _verdicts(rows) == {"holds"}
    assert {r.point["critic"] for r in rows} == {"Alg. 1 critic", "exact Q_y"}


def test_lipschitz_finding(quick_rows):
    rows = quick_rows["gu2021.assump5_3_L"]
    smooth = [r for r in rows if r.point["pair"] == "random direction"]
    gate = [r for r in rows if r.point["pair"].startswith("gate")]
    assert _verdicts(smooth) == {"holds"}
    # finding: across an activation boundary the quotient grows like 1/eps (no finite L)
    assert "violated" in _verdicts(gate)
    for name in {r.instance for r in gate}:
        q = sorted((r.point["eps"], r.measured) for r in gate if r.instance == name)
        assert q[0][1] > 1e3 * q[-1][1]  # eps 1e-7 vs 1e-3: x1e4 up to the curvature part


def test_eq75_finding(quick_rows):
    rows = quick_rows["gu2021.eq75"]
    assert _verdicts(rows, lambda r: r.point["box"].startswith("l2")) == {"holds"}
    anti = [r for r in rows if r.point["theta"].startswith("anti-gradient")]
    # finding: (75) fails in the printed l_inf box at the anti-gradient corner
    assert "violated" in _verdicts(anti)
    assert max(r.ratio for r in anti) > 1.1


def test_R1_finding(quick_rows):
    rows = quick_rows["gu2021.assump_R1_c0"]
    fub = [r for r in rows if r.point["form"].startswith("Fubini")]
    stated = [r for r in rows if r.point["form"] == "stated"]
    assert fub and _verdicts(fub) == {"holds"}
    # finding: on a finite support no finite c_0 exists (tau = 0 has positive mass; P/tau grows like 1/tau)
    assert _verdicts(stated) == {"violated"}
    assert all(r.measured > 0 for r in stated if r.point["tau"] == 0.0)


def test_policy_class_finding(quick_rows):
    rows = quick_rows["gu2021.policy_class_optima"]
    assert _verdicts(rows, _check("<= lifted optimum")) == {"holds"}
    eq = {r.params["family"]: r for r in rows if r.point["check"] == "sup over U equals the lifted optimum"}
    # split: independent agents split w.p. <= 1/2, so sup over U = half the lifted optimum gamma/(1-gamma) = 9
    assert eq["split"].verdict == "violated"
    assert math.isclose(eq["split"].extra["J_lifted"], 9.0, rel_tol=1e-9)
    assert math.isclose(eq["split"].extra["J_individual"], 4.5, rel_tol=1e-6)
    assert eq["random"].verdict == "holds"


def test_eq84_finding(quick_rows):
    rows = quick_rows["gu2021.lemmaD4_eq84"]
    cond = [r for r in rows if r.point["centring"].startswith("sigma") or r.point["feature"].startswith("Phi")]
    assert cond and _verdicts(cond) == {"holds"}
    # finding: the unconditionally centred A-hat_s breaks (84) with phi_y as printed
    unc = [r for r in rows if r.point["centring"].startswith("uniform") and r.point["feature"].startswith("phi")]
    assert unc and _verdicts(unc) == {"violated"} and min(r.measured for r in unc) > 1e-7


@pytest.mark.parametrize("cid, fault, pred", [
    ("gu2021.pdl", {"unnormalised": True}, None),
    ("gu2021.thm5_2", {"rhs_scale": 1e-3}, _check("(76) explicit term")),
    ("gu2021.thm5_2", {"claimed_slope": -1.0},
     lambda r: r.point["check"] == actor.REF_CHECK and "gamma=0.9" in r.instance),
    ("gu2021.assump_R2_D", {"visitation_scale": 10.0}, lambda r: _lazy(r) and r.point["check"].startswith("D^2")),
    ("gu2021.thmD1", {"rhs_scale": 1e-9}, None),
    ("gu2021.assump5_2_sigma", {"sigma_bound_scale": 1e-3}, None),
    ("gu2021.assump5_3_L", {"requirement_scale": 1e-6}, lambda r: r.point["pair"] == "random direction"),
    ("gu2021.eq75", {"rhs_scale": 0.01}, lambda r: r.point["box"].startswith("l2")),
    ("gu2021.assump_R1_c0", {"fubini_scale": 0.5}, lambda r: r.point["form"].startswith("Fubini")),
    ("gu2021.policy_class_optima", {"class_scale": 1.5}, _check("<= lifted optimum")),
    ("gu2021.lemmaD4_eq84", {"radius_offset": 1}, lambda r: r.point["centring"].startswith("sigma")),
])
def test_broken_inputs_are_violated(quick_rows, cid, fault, pred):
    pred = pred or (lambda r: True)
    assert "violated" not in _verdicts(quick_rows[cid], pred)  # the honest rows the fault targets hold
    rows = run_claim(with_faults(CLAIMS[cid], **fault), quick=True, progress=False)
    assert "violated" in _verdicts(rows, pred), (cid, fault)


def test_broken_pdl_is_violated_everywhere():
    rows = run_claim(with_faults(CLAIMS["gu2021.pdl"], unnormalised=True), quick=True, progress=False)
    assert _verdicts(rows) == {"violated"}


@pytest.mark.parametrize("cid", ["gu2021.thm5_2", "gu2021.assump_R2_D", "gu2021.assump5_2_sigma",
                                 "gu2021.assump5_3_L"])
def test_figures_are_specs(quick_rows, cid):
    specs, frame = claim_specs(CLAIMS[cid], quick_rows[cid])
    for spec in specs[:1]:
        assert_drawn_as_spec(spec, frame)


def test_rerun_bit_identical(quick_rows):
    again = run_claim(CLAIMS["gu2021.thm5_2"], quick=True, seed=0, progress=False)
    first = quick_rows["gu2021.thm5_2"]
    assert [r.measured for r in again] == [r.measured for r in first]
    assert [r.extra["gap"] for r in again if "gap" in r.extra] == [r.extra["gap"] for r in first if "gap" in r.extra]


def test_exact_gradient_matches_energy_gradient():
    from netmarl_verify.solvers.exact._mean_field import energy_gradient
    from netmarl_verify.verify.claims.gu2021._common import energy_params, lifted_of, make_instance

    inst = make_instance("random", 0, graph="path", S=3, N=2, A=2, gamma=0.7, seed=0)
    theta, b = energy_params(inst, 8)
    L = lifted_of(inst)
    J, g, _ = actor.exact_gradient(L, theta, b)
    g2, ev, _ = energy_gradient(L, theta, b, 1.0, actor.TOOLKIT_SCALE)
    np.testing.assert_allclose(g, g2, rtol=1e-12, atol=1e-15)
    assert math.isclose(J, ev.J, rel_tol=1e-12)


def test_box_optimum_is_stationary_and_in_box():
    from netmarl_verify.verify.claims.gu2021._common import energy_params, lifted_of, make_instance

    inst = make_instance("congestion", 0, L=3, topology="path", N=2, gamma=0.9, seed=0)
    theta0, b = energy_params(inst, 8)
    L = lifted_of(inst)
    J, th, finals, stat = actor.box_optimum(L, theta0, b, 1.0, 1.0, np.random.default_rng(0), 2, 60)
    h = 1.0 / math.sqrt(8)
    assert np.all(np.abs(th - theta0) <= h + 1e-15)
    assert J == max(finals) and J >= actor.exact_gradient(L, theta0, b)[0]
    assert stat < 1e-2


def test_alg2_prefixes_are_the_same_run():
    """assump5_2_sigma and thmD1 read theta(t) from the t-iteration run and the critic at theta(t) from the
    (t+1)-iteration run of the same seed and eta: the runs must agree on their common prefix."""
    from netmarl_verify.envs import _mean_field as mf
    from netmarl_verify.solvers.sampled import run_dec_neural_ac
    from netmarl_verify.verify.claims.gu2021._common import lifted_of, make_instance

    inst = make_instance("congestion", 0, L=3, topology="path", N=2, gamma=0.9, seed=0)
    L = lifted_of(inst)
    kw = dict(width=8, batch=8, runs=2, rng=11, eta_actor=0.25)
    long = run_dec_neural_ac(L, 1, n_iterations=4, checkpoints=range(5), metrics=("J",), **kw)
    for t in (1, 2, 3):
        short = run_dec_neural_ac(L, 1, n_iterations=t, checkpoints=[], metrics=(), **kw)
        for r in range(2):
            w = mf.energy_tables(L, short.theta[r], short.b[r], 1.0, actor.TOOLKIT_SCALE)[0]
            J = actor.evaluate_lifted(L, w, teams=False).J
            tr = long.trace
            # the trace evaluates the batched policy table (same theta; rounding of the table only)
            assert math.isclose(J, float(tr[(tr["iteration"] == t) & (tr["run"] == r)]["J"].iloc[0]), rel_tol=1e-12)
