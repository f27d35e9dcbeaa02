"""zhang2025 claims (verify/claims/zhang2025): quick runs, the findings pinned, broken inputs violated, figures drawn."""

import pytest

from netmarl_verify.verify import check_instance, get_claim, list_claims, run_claim, with_faults

from _figure_checks import assert_drawn_as_spec, claim_specs

IDS = ("zhang2025.lemma4_2", "zhang2025.lemma5_4", "zhang2025.lemma4_3", "zhang2025.remark1_q", "zhang2025.assump5_5",
       "zhang2025.assump5_6", "zhang2025.lemma5_7", "zhang2025.assump5_8", "zhang2025.eq8_descent",
       "zhang2025.assump5_1", "zhang2025.gossip_rate", "zhang2025.factC2",
       "zhang2025.eq8_normalized", "zhang2025.eq11_recursion")


@pytest.fixture(scope="module")
def quick_rows():
    return {cid: run_claim(get_claim(cid), quick=True, seed=0, progress=False) for cid in IDS}


def _verdicts(rows, pred=lambda r: True):
    return {r.verdict for r in rows if pred(r)}


def _point(**kv):
    return lambda r: all(r.point.get(k) == v for k, v in kv.items())


ALGORITHM_IDS = ("zhang2025.eq30_td_direction", "zhang2025.eq23_neural_td", "zhang2025.critic_init",
                 "zhang2025.critic_spread", "zhang2025.eq26_actor_gossip", "zhang2025.thm5_10_rate",
                 "zhang2025.thm5_10_alg", "zhang2025.figD1_td_vs_q", "zhang2025.figD1_gossip", "zhang2025.factC3",
                 "zhang2025.eq38_41", "zhang2025.cor5_11", "zhang2025.figD1_width", "zhang2025.figD1_depth",
                 "zhang2025.figD1_KM", "zhang2025.figD1_agents", "zhang2025.eq34")
TERM_IDS = ("zhang2025.assump5_9", "zhang2025.eq22_pseudo_central", "zhang2025.thm5_10_regime",
            "zhang2025.eq33_batch", "zhang2025.eq25_square", "zhang2025.eq36_terms", "zhang2025.figD2_rlhf")


def test_listed_in_order():
    assert [c.id for c in list_claims("zhang2025")] == list(IDS) + list(ALGORITHM_IDS) + list(TERM_IDS)


def test_every_claim_has_a_search_space_or_says_why_not():
    for c in list_claims("zhang2025"):
        assert c.search or c.notes.lower().startswith(("no search space", "not applicable")), c.id


def test_figD2_rlhf_is_not_applicable_with_its_reason():
    rows = run_claim(get_claim("zhang2025.figD2_rlhf"), quick=True, seed=0, progress=False)
    assert [r.verdict for r in rows] == ["not applicable"]
    (a,) = rows[0].assumptions
    assert not a.holds and "torch" in a.detail and "TinyLlama" in a.detail
    assert rows[0].extra["t_gossip"] == 20 and rows[0].extra["gamma"] == 0.5


@pytest.mark.parametrize("cid", ["zhang2025.lemma4_2", "zhang2025.lemma5_4", "zhang2025.assump5_6",
                                 "zhang2025.eq8_descent", "zhang2025.assump5_1", "zhang2025.factC2"])
def test_holds(quick_rows, cid):
    assert _verdicts(quick_rows[cid]) == {"holds"}


def test_assump5_8_reference_applies_to_tabular_only(quick_rows):
    rows = quick_rows["zhang2025.assump5_8"]
    assert _verdicts(rows, lambda r: "tabular" in r.instance) == {"holds"}
    assert _verdicts(rows, lambda r: r.instance.startswith("bandit3_loop")) == {"not applicable"}
    assert all(r.extra["L_J"] > 0 and r.extra["beta"] > 0 for r in rows)


@pytest.mark.parametrize("cid", ["zhang2025.lemma4_3", "zhang2025.remark1_q"])
def test_pg_holds_on_the_original_kernel_with_b2_constant(quick_rows, cid):
    rows = quick_rows[cid]
    for reading in ("B.2: 1/(1-gamma)", "proportional"):
        assert _verdicts(rows, _point(kernel="original", reading=reading)) == {"holds"}
    # finding: (34)'s constant 1 is wrong by 1/(1-gamma) wherever grad J != 0
    assert "violated" in _verdicts(rows, _point(kernel="original", reading="(34): 1"))
    const = [r.extra["c_measured"] for r in rows if r.point == {"kernel": "original", "reading": "B.2: 1/(1-gamma)",
                                                                 "agent": 0} and r.extra["grad_norm"] > 1e-6]
    assert const and all(c == pytest.approx(10.0, rel=1e-6) for c in const)  # gamma = 0.9


def test_pg_fails_on_the_restart_objective(quick_rows):
    rows = quick_rows["zhang2025.lemma4_3"]
    # the exact gradient is right on both kernels: the failure is the lemma's
    assert _verdicts(rows, _point(reading="Sutton 13.2")) == {"holds"}
    multi = lambda r: r.point.get("kernel") == "restart" and not r.instance.startswith("bandit")  # noqa: E731
    assert "violated" in _verdicts(rows, lambda r: multi(r) and r.point["reading"] == "proportional")
    # one state: both kernels coincide
    assert _verdicts(rows, lambda r: r.instance.startswith("bandit") and r.point["reading"] == "B.2: 1/(1-gamma)") \
        == {"holds"}


def test_assump5_5_tabular_fails_reduced_and_loop_hold(quick_rows):
    rows = quick_rows["zhang2025.assump5_5"]
    par = lambda r: r.extra.get("parametrisation")  # noqa: E731
    tab = [r for r in rows if "tabular" in r.instance and r.point["check"] == "lambda_min F > 0"]
    assert tab and _verdicts(tab) == {"violated"}
    red = [r for r in rows if "reduced" in r.instance and r.point["check"] == "lambda_min F > 0"]
    assert red and _verdicts(red) == {"holds"}
    loop = [r for r in rows if r.instance.startswith("bandit3_loop c=0.5")]
    assert _verdicts(loop) == {"holds"} and par(loop[0]) == "-"


def test_lemma5_7_printed_constant_fails_derived_holds(quick_rows):
    rows = quick_rows["zhang2025.lemma5_7"]
    printed = [r for r in rows if r.point["reading"].startswith("printed")]
    derived = [r for r in rows if r.point["reading"].startswith("derived")]
    assert "violated" in _verdicts(printed)
    assert _verdicts(derived) == {"holds"}
    assert max(r.measured / r.bound for r in derived) == pytest.approx(1.0, rel=1e-6)  # tight


def test_gossip_rate_needs_connectivity(quick_rows):
    rows = quick_rows["zhang2025.gossip_rate"]
    assert _verdicts(rows, _point(reading="5.1 + connected")) <= {"holds", "not applicable"}
    ident = [r for r in rows if r.instance.startswith("identity") and r.point["reading"] == "5.1 as printed"]
    assert ident and _verdicts(ident) == {"violated"}
    assert _verdicts(rows, lambda r: r.instance.startswith("identity") and r.point["reading"] == "5.1 + connected") \
        == {"not applicable"}


def test_eq8_sharp_constant_and_printed_sign(quick_rows):
    rows = quick_rows["zhang2025.eq8_normalized"]
    l3 = [r for r in rows if r.point["reading"] == "(8) l. 3"]
    assert _verdicts(l3) == {"holds"}
    assert max(r.measured / r.bound for r in l3 if r.bound > 0) == pytest.approx(0.5, abs=1e-3)
    assert "violated" in _verdicts(rows, _point(reading="sentence after (8), as printed"))


def test_eq11_recursion_findings(quick_rows):
    rows = quick_rows["zhang2025.eq11_recursion"]
    by = lambda name, check: [r for r in rows if r.instance == f"recursion {name}" and r.point["check"] == check]  # noqa
    assert _verdicts(by("Delta_2 only", "(11)")) == {"holds"}
    assert _verdicts(by("Delta_2 only", "t prod_{k=2}^t (1 - 7/(6k)) <= 1")) == {"holds"}
    eps = by("eps' only", "(11)")
    assert _verdicts(eps) == {"violated"}
    # the eps' floor of (9) is eps'/sqrt(mu): ratio 1/sqrt(mu) = sqrt(2)/mu_f = 2.83 at mu_f = 1/2 (t = 300: 2.825)
    assert eps[-1].measured / eps[-1].bound == pytest.approx(2 * 2 ** 0.5, rel=3e-3)
    assert _verdicts(by("e only", "(11)")) == {"violated"}
    assert "violated" in _verdicts(by("L_J only", "(11)"))


@pytest.mark.parametrize("cid, fault, pred", [
    ("zhang2025.lemma4_2", {"original_kernel": True}, None),
    ("zhang2025.lemma4_2", {"drop_factor": True}, None),
    ("zhang2025.lemma5_4", {"original_kernel": True}, None),
    ("zhang2025.lemma4_3", {"nu_from_original": True}, _point(kernel="original", reading="B.2: 1/(1-gamma)")),
    ("zhang2025.remark1_q", {"uncentred_score": True}, _point(kernel="original", reading="B.2: 1/(1-gamma)")),
    ("zhang2025.assump5_5", {"score_scale": 3.0}, lambda r: r.instance.startswith("bandit3_loop c=0.5")),
    ("zhang2025.assump5_6", {"wrong_constant": True}, None),
    ("zhang2025.lemma5_7", {"eps_scale": 0.01}, lambda r: r.point["reading"].startswith("derived")),
    ("zhang2025.assump5_8", {"ref_scale": 1e-5}, lambda r: "tabular" in r.instance),
    ("zhang2025.eq8_descent", {"L_scale": 0.0}, None),
    ("zhang2025.assump5_1", {"row_stochastic_only": True}, None),
    ("zhang2025.gossip_rate", {"rate_factor": 20.0}, _point(reading="5.1 + connected")),
    ("zhang2025.factC2", {"row_stochastic_only": True}, None),
    ("zhang2025.eq8_normalized", {"constant": 1 / 3}, _point(reading="(8) l. 3")),
    ("zhang2025.eq11_recursion", {"delta2_power": 2}, lambda r: r.instance == "recursion Delta_2 only"),
])
def test_broken_inputs_are_violated(cid, fault, pred):
    rows = run_claim(with_faults(cid, **fault), quick=True, progress=False)
    assert "violated" in _verdicts(rows, pred or (lambda r: True)), (cid, fault)


@pytest.mark.parametrize("cid", ["zhang2025.lemma5_4", "zhang2025.lemma5_7", "zhang2025.gossip_rate",
                                 "zhang2025.eq8_normalized", "zhang2025.eq11_recursion"])
def test_figures_draw(quick_rows, cid):
    specs, frame = claim_specs(get_claim(cid), quick_rows[cid])
    for spec in specs[:1]:
        assert_drawn_as_spec(spec, frame)


@pytest.mark.parametrize("cid, params", [
    ("zhang2025.lemma4_3", {"N": 2, "S": 2, "A_i": 2, "gamma": 0.7, "scale": 1.0, "power": 2.0,
                            "parametrisation": "loglinear", "seed": 3}),
    ("zhang2025.gossip_rate", {"N": 4, "p": 0.5, "symmetric": False, "eta_fraction": 0.5, "seed": 1}),
    ("zhang2025.lemma5_7", {"c": 0.3, "gamma": 0.8}),
    ("zhang2025.eq8_normalized", {"dim": 3, "scale": 0.1, "seed": 2}),
])
def test_search_spaces_replay(cid, params):
    claim = get_claim(cid)
    inst = claim.search[0].instance(params)
    rows = check_instance(claim, inst, seed=0, quick=True)
    assert rows and inst.params["family"] == claim.search[0].family
