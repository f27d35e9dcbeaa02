"""chen2024 structure claims (verify/claims/chen2024/structure.py): quick runs, findings pinned, faults violated."""

from netmarl_verify.verify.claims.chen2024 import structure  # noqa: F401

import json
import math

import pytest

from netmarl_verify.envs._bn_games import BayesianNetwork
from netmarl_verify.verify import get_claim, run_claim, to_frame, with_faults

from _figure_checks import assert_drawn_as_spec, claim_specs

IDS = ("chen2024.def3", "chen2024.coord_product_vs_bn", "chen2024.assump2", "chen2024.sampled_gradient",
       "chen2024.lemma2_threshold", "chen2024.lemma3_threshold")


@pytest.fixture(scope="module")
def quick_rows():
    return {cid: run_claim(get_claim(cid), quick=True, seed=0, progress=False) for cid in IDS}


def _verdicts(rows, pred=lambda r: True):
    return {r.verdict for r in rows if pred(r)}


def _check(r):
    return r.point.get("check", "")


# ----------------------------------------------------------------------------- honest runs
@pytest.mark.parametrize("cid", ["chen2024.def3", "chen2024.coord_product_vs_bn", "chen2024.sampled_gradient",
                                 "chen2024.lemma2_threshold", "chen2024.lemma3_threshold"])
def test_holds(quick_rows, cid):
    assert _verdicts(quick_rows[cid]) == {"holds"}


def test_def3_enumeration_and_refusal(quick_rows):
    rows = quick_rows["chen2024.def3"]
    counts = {r.params["N"]: r.extra for r in rows if r.params.get("family") == "all_dags"}
    assert {N: e["n_dags"] for N, e in counts.items()} == {1: 1, 2: 3, 3: 25, 4: 543}
    assert {N: e["n_fully_correlated"] for N, e in counts.items()} == {N: math.factorial(N) for N in counts}
    refusal = {(r.point["N"], r.point["dag"]): r.extra["lemma3_accepts"] for r in rows if "dag" in r.point}
    assert refusal[(3, "full")] and refusal[(4, "full relabelled")]
    assert not any(refusal[(N, d)] for N in (3, 4) for d in ("product", "chain", "star", "inward_star",
                                                              "full minus one edge"))
    # helpers agree on a relabelled tournament and disagree with the label-order fault
    dag = BayesianNetwork([(1, 2), (2,), ()])
    assert structure.is_transitive_tournament(dag) and structure.has_prefix_parents(dag) and dag.is_fully_correlated
    assert not structure.label_order_validator(dag)
    assert not structure.is_transitive_tournament(BayesianNetwork.chain(3))


def test_coord_separation(quick_rows):
    rows = quick_rows["chen2024.coord_product_vs_bn"]
    by = {(r.instance.split()[0], r.point["theta0"], _check(r)[:3]): r for r in rows}
    # climbing: the product policy stalls at the (2, 2) Nash point (payoff 5 of 11), the full DAG reaches 11
    for th in ("theta0 = 0", "theta0 = 0 + noise"):
        a = by[("climbing", th, "(a)")]
        assert a.extra["product_opt_gap"] > 0.1 and a.extra["product_nash_gap"] < 0.05 and a.measured < 0.02
        assert a.extra["product_V"] == pytest.approx(35 / 41, abs=0.01)
    # coord2 from the exact theta0 = 0: the uniform product policy never moves (exact Nash point, gap 1/2)
    d = by[("coord2", "theta0 = 0", "(d)")]
    assert d.measured == -0.5 and by[("coord2", "theta0 = 0", "(b)")].measured == 0.0
    # from a perturbed theta0 it escapes: no trap declared, both reach the optimum
    assert ("coord2", "theta0 = 0 + noise", "(d)") not in by
    assert by[("coord2", "theta0 = 0 + noise", "(a)")].extra["product_stalls"] is False


def test_coord_figures_are_specs(quick_rows):
    claim = get_claim("chen2024.coord_product_vs_bn")
    specs, frame = claim_specs(claim, quick_rows["chen2024.coord_product_vs_bn"])
    assert len(specs) == 8  # 2 games x 2 theta0 x (optimality, Nash)
    for spec in specs:
        assert spec.log_y and [s.label for s in spec.series] == ["product policy", "full DAG"]
        assert_drawn_as_spec(spec, frame)


def test_assump2_finding(quick_rows):
    rows = quick_rows["chen2024.assump2"]
    assert _verdicts(rows, lambda r: _check(r).startswith("V_")) == {"holds"}
    a3 = [r for r in rows if _check(r).startswith("A.3")]
    assert _verdicts(a3, lambda r: r.point["theta0"] == "theta0 = 0") == {"holds"}
    bad = [r for r in a3 if r.verdict == "violated"]
    # the violations are exactly the near-deterministic and3 starts: lambda |b(theta0)| breaks the proof's bound
    assert bad and all(r.point["theta0"].startswith("family theta0") for r in bad)
    assert all(r.extra["lam_barrier_theta0"] < -0.2 for r in bad)
    # single-state games attain V_max - V_min = Dr/(1-gamma)
    tight = [r for r in rows if _check(r).startswith("V_max - V_min") and r.instance.startswith("climbing")]
    assert tight and tight[0].ratio == pytest.approx(1.0)


def test_sampled_gradient_statistics(quick_rows):
    for r in quick_rows["chen2024.sampled_gradient"]:
        assert r.extra["m"] > 0 and r.extra["quantile"] > 3.0 and r.extra["constant_rel_err"] <= 1e-12


def test_thresholds_reported_in_order(quick_rows):
    for cid in ("chen2024.lemma2_threshold", "chen2024.lemma3_threshold"):
        rows = quick_rows[cid]
        assert {r.point["threshold"] for r in rows} == {"statement", "A.2 per-coordinate", "A.3"}
        for r in rows:
            t = r.extra["thresholds_in_text_order"]
            assert t["statement"] <= t["A.3"]
            assert r.extra["grad_norm_at_worst"] <= r.extra["tau"] * (1 + 1e-12)


# ----------------------------------------------------------------------------- faults
@pytest.mark.parametrize("cid, fault, pred", [
    ("chen2024.def3", {"validator": "label_order"}, lambda r: _check(r) == "validator <=> transitive tournament"),
    ("chen2024.coord_product_vs_bn", {"full_dag": "product"}, lambda r: _check(r).startswith("(a)")),
    ("chen2024.coord_product_vs_bn", {"product_dag": "full"}, lambda r: _check(r).startswith("(d)")),
    ("chen2024.assump2", {"horizon": False}, lambda r: _check(r).startswith("V_max - V_min")),
    ("chen2024.sampled_gradient", {"conditional": "intervention"}, lambda r: r.instance.startswith("confounded")),
    ("chen2024.lemma3_threshold", {"threshold_bound_scale": 1e-3}, None),
])
def test_faults_are_violated(cid, fault, pred):
    rows = run_claim(with_faults(cid, **fault), quick=True, progress=False)
    assert "violated" in _verdicts(rows, pred or (lambda r: True)), (cid, fault)


def test_lemma2_threshold_fault_on_one_instance():
    claim = with_faults("chen2024.lemma2_threshold", threshold_bound_scale=1e-3)
    from netmarl_verify.verify import check_instance

    inst = next(iter(claim.instances(True, 0)))
    rows = check_instance(claim, inst, 0, True)
    assert "violated" in _verdicts(rows)


# ----------------------------------------------------------------------------- reruns
@pytest.mark.parametrize("cid", ["chen2024.coord_product_vs_bn", "chen2024.sampled_gradient", "chen2024.def3"])
def test_reruns_bit_identical(quick_rows, cid):
    again = run_claim(get_claim(cid), quick=True, seed=0, progress=False)
    a, b = to_frame(quick_rows[cid]), to_frame(again)
    assert a["measured"].tolist() == b["measured"].tolist()
    assert a["bound"].tolist() == b["bound"].tolist()
    assert [json.loads(x) for x in a["extra"]] == [json.loads(x) for x in b["extra"]]


# ----------------------------------------------------------------------------- search spaces
def test_search_spaces_replay():
    spaces = [s for cid in IDS for s in get_claim(cid).search]
    spaces += [s for group in structure.extra_search_spaces().values() for s in group]
    assert spaces
    for space in spaces:
        point = {k: p.decode(p.bounds()[0]) for k, p in space.params.items()}
        inst = space.instance(point)
        assert inst.params["family"] == space.family and "bn" in inst.payload


@pytest.mark.parametrize("cid", ["chen2024.lemma2_threshold", "chen2024.lemma3_threshold"])
def test_threshold_figures_are_specs(quick_rows, cid):
    specs, frame = claim_specs(get_claim(cid), quick_rows[cid])
    assert len(specs) == 2
    for spec in specs:
        assert [b.n_points for b in spec.bounds] == [2] and all(s.n_points == 2 for s in spec.series)
        assert_drawn_as_spec(spec, frame)
