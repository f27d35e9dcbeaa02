"""Claims, assumptions, verdicts and symbolic bounds."""

import json
import math

import numpy as np
import pytest
import sympy

from netmarl_verify.verify import (
    DEFAULT_RTOL,
    Assumption,
    CheckResult,
    Claim,
    Instance,
    Measurement,
    bound_latex,
    evaluate_bound,
    tightness_ratio,
    verdict,
)
from netmarl_verify.verify._claims import _lambdified

a, r = sympy.symbols("a r")


def _claim(**kw):
    base = dict(id="toy.c", paper_file="toy.txt", source="Eq. (1)", statement="s",
                measure=lambda inst, rng, quick: [], instances=lambda quick, seed: [])
    base.update(kw)
    return Claim(**base)


# -- verdict ----------------------------------------------------------------------------------

def test_verdict_holds_violated():
    assert verdict(0.5, 1.0) == "holds"
    assert verdict(1.0, 1.0) == "holds"
    assert verdict(1.5, 1.0) == "violated"
    assert verdict(-3.0, -2.0) == "holds"
    assert verdict(-1.0, -2.0) == "violated"


def test_verdict_rounding_allowance_is_small():
    # 1e-12 relative excess is rounding; 1e-6 is a violation.
    assert verdict(1.0 + 1e-12, 1.0) == "holds"
    assert verdict(1.0 + 1e-6, 1.0) == "violated"
    assert verdict(1.0 + 2 * DEFAULT_RTOL, 1.0) == "violated"
    assert verdict(1e-17, 0.0) == "violated"
    assert verdict(1e-17, 0.0, atol=1e-15) == "holds"


def test_verdict_not_applicable_when_an_assumption_fails():
    ok = Assumption("c < 1", holds=True, measured=0.5)
    bad = Assumption("rho < 1", holds=False, measured=1.2, required="< 1")
    assert verdict(5.0, 1.0, [ok]) == "violated"
    assert verdict(5.0, 1.0, [ok, bad]) == "not applicable"
    assert verdict(0.5, 1.0, [bad]) == "not applicable"
    # Outside the hypotheses a NaN bound is not an error.
    assert verdict(0.5, float("nan"), [bad]) == "not applicable"
    assert verdict(0.5, None) == "not applicable"


def test_verdict_infinite_bound_holds_and_nan_raises():
    assert verdict(1e300, math.inf) == "holds"
    assert verdict(math.inf, 1.0) == "violated"
    with pytest.raises(ValueError, match="measured"):
        verdict(float("nan"), 1.0)
    with pytest.raises(ValueError, match="bound"):
        verdict(1.0, float("nan"))


def test_tightness_ratio():
    assert tightness_ratio(1.0, 4.0) == 0.25
    assert math.isnan(tightness_ratio(1.0, 0.0))
    assert math.isnan(tightness_ratio(1.0, None))
    assert math.isnan(tightness_ratio(1.0, math.inf))


# -- bounds -----------------------------------------------------------------------------------

def test_evaluate_bound_matches_closed_form_and_ignores_extra_values():
    assert evaluate_bound(a / (1 - r), a=2.0, r=0.5, kappa=3, name="x") == 4.0
    assert evaluate_bound(sympy.Integer(3)) == 3.0
    out = evaluate_bound(a * r**2, a=np.array([1.0, 2.0]), r=3.0)
    np.testing.assert_array_equal(out, [9.0, 18.0])


def test_evaluate_bound_is_cached():
    expr = a / (1 - r) + 7
    evaluate_bound(expr, a=1, r=0)
    assert _lambdified(expr) is _lambdified(expr)
    hits = _lambdified.cache_info().hits
    evaluate_bound(expr, a=2, r=0.1)
    assert _lambdified.cache_info().hits > hits


def test_evaluate_bound_missing_symbol_names_it():
    with pytest.raises(ValueError, match=r"\['r'\]"):
        evaluate_bound(a / (1 - r), a=1.0)


def test_evaluate_bound_outside_domain_is_nan_or_inf_without_warnings():
    assert math.isinf(evaluate_bound(a / (1 - r), a=1.0, r=1.0))
    assert math.isnan(evaluate_bound(sympy.sqrt(r), r=-1.0))


def test_bound_latex():
    assert bound_latex(a / (1 - r)) == r"\frac{a}{1 - r}"
    assert bound_latex(None) == ""


# -- data classes -----------------------------------------------------------------------------

def test_claim_validation():
    c = _claim(bound="a/(1-r)")
    assert c.paper == "toy" and isinstance(c.bound, sympy.Expr)
    assert c.bound_latex == r"\frac{a}{1 - r}"
    with pytest.raises(ValueError, match="<paper>.<name>"):
        _claim(id="noprefix")
    with pytest.raises(ValueError, match="differs"):
        _claim(paper="other")
    with pytest.raises(TypeError, match="measure"):
        _claim(measure=3)
    with pytest.raises(ValueError, match="rtol"):
        _claim(rtol=-1.0)


def test_claim_assumptions_must_be_assumption_objects():
    c = _claim(assumptions=lambda inst: [("x", True)])
    with pytest.raises(TypeError, match="Assumption"):
        c.check_assumptions(Instance("i"))
    assert _claim().check_assumptions(Instance("i")) == []


def test_instance_and_measurement_coercion():
    inst = Instance.coerce({"name": "line", "params": {"n": 3}, "mdp": "M", "size": 8})
    assert (inst.name, inst.params, inst.payload, inst.size) == ("line", {"n": 3}, {"mdp": "M"}, 8)
    assert Instance.coerce({"name": "x", "payload": 5}).payload == 5
    with pytest.raises(ValueError, match="name"):
        Instance.coerce({"params": {}})
    with pytest.raises(TypeError):
        Instance.coerce(3)
    m = Measurement.coerce({"measured": 1.0, "point": {"kappa": 2}})
    assert m.point == {"kappa": 2} and m.bound is None
    with pytest.raises(ValueError, match="unknown"):
        Measurement.coerce({"measured": 1.0, "oops": 2})


def test_assumption_coerces_numpy_types():
    a_ = Assumption("x", holds=np.bool_(True), measured=np.float64(0.5))
    assert type(a_.holds) is bool and type(a_.measured) is float


def test_check_result_to_dict_flattens():
    res = CheckResult(
        claim="toy.c", paper="toy", source="Eq. (1)", instance="i", params={"n": np.int64(3), "g": [1, 2]},
        seed=0, point={"i": 0, "j": 2}, measured=2.0, bound=1.0, ratio=2.0, verdict="violated",
        assumptions=[Assumption("x", True, 0.5), Assumption("y", False)], counterexample={"instance": "i"},
        values={"c": 1.5}, extra={"residual": 1e-14, "curve": np.arange(3)}, versions={"numpy": "2"},
    )
    d = res.to_dict()
    assert d["param.n"] == 3 and json.loads(d["param.g"]) == [1, 2]
    assert d["point.j"] == 2 and d["value.c"] == 1.5 and d["extra.residual"] == 1e-14
    assert "extra.curve" not in d and json.loads(d["extra"])["curve"] == [0, 1, 2]
    assert d["assumptions_hold"] is False and json.loads(d["failed_assumptions"]) == ["y"]
    assert json.loads(d["params"]) == {"g": [1, 2], "n": 3}
    assert d["version.numpy"] == "2"
    j = res.to_json_dict()
    json.dumps(j, allow_nan=False)
    assert j["params"]["n"] == 3 and j["verdict"] == "violated"
