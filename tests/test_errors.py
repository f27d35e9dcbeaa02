"""The error hierarchy (issue 15): one root, :class:`NetmarlError`, and every standard base kept.

The classes are found by walking the installed package's modules, so a new exception class that
forgets the root, or is missing from :mod:`netmarl_verify.errors`, fails here.
"""

import importlib
import inspect
import pkgutil

import numpy as np
import pytest

import netmarl_verify
from netmarl_verify import errors
from netmarl_verify.errors import NetmarlError

#: The standard base each class must keep (besides NetmarlError), so existing ``except`` clauses work.
STANDARD_BASE = {
    "ModelValidationError": ValueError,
    "ShapeError": ValueError,
    "NonFiniteError": ValueError,
    "NegativeProbabilityError": ValueError,
    "RowSumError": ValueError,
    "MemoryBudgetError": MemoryError,
    "NumericalError": ArithmeticError,
    "SolverAccuracyError": ArithmeticError,
    "IllConditionedError": ArithmeticError,
    "MultipleRecurrentClassesError": ValueError,
    "PeriodicChainError": ValueError,
    "UnidentifiedFixedPointError": ValueError,
    "ContractionLimitError": ValueError,
    "UtilityDomainError": ValueError,
    "AssumptionError": ValueError,
    "UnknownClaimError": LookupError,
    "ClaimError": RuntimeError,
    "ReportFolderError": Exception,
    "MathRenderError": ValueError,
    "SearchError": ValueError,
    "RunFolderError": ValueError,
    "VerificationAssertionError": AssertionError,
    "MismatchError": AssertionError,
    "ConvergenceRateError": AssertionError,
    "BiasError": AssertionError,
}


def _package_exception_classes():
    """Every exception class defined in a module of the installed package (by ``__module__``)."""
    found = {}
    for info in pkgutil.walk_packages(netmarl_verify.__path__, prefix="netmarl_verify."):
        if info.name.endswith("__main__"):
            continue
        module = importlib.import_module(info.name)
        for obj in vars(module).values():
            if (inspect.isclass(obj) and issubclass(obj, BaseException)
                    and obj.__module__.split(".")[0] == "netmarl_verify"
                    and not obj.__name__.startswith("_")):  # private control-flow signals never reach users
                found[f"{obj.__module__}.{obj.__qualname__}"] = obj
    return found


CLASSES = _package_exception_classes()


def test_the_walk_finds_the_known_classes():
    names = {cls.__name__ for cls in CLASSES.values()}
    assert {"NetmarlError", "ModelValidationError", "MemoryBudgetError", "SolverAccuracyError",
            "UnknownClaimError", "ReportFolderError", "MismatchError"} <= names


@pytest.mark.parametrize("qualname", sorted(CLASSES))
def test_every_error_class_derives_from_the_root(qualname):
    assert issubclass(CLASSES[qualname], NetmarlError)


@pytest.mark.parametrize("qualname", sorted(CLASSES))
def test_every_error_class_is_gathered_in_the_errors_module(qualname):
    cls = CLASSES[qualname]
    assert cls.__name__ in errors.__all__
    assert getattr(errors, cls.__name__) is cls


def test_the_errors_module_holds_only_the_package_classes():
    assert sorted(errors.__all__) == sorted(cls.__name__ for cls in CLASSES.values())
    assert len(set(errors.__all__)) == len(errors.__all__)


def test_the_root_is_a_plain_exception():
    assert NetmarlError.__bases__ == (Exception,)


@pytest.mark.parametrize("name", sorted(STANDARD_BASE))
def test_every_error_class_keeps_its_standard_base(name):
    cls = getattr(errors, name)
    assert issubclass(cls, STANDARD_BASE[name])
    assert issubclass(cls, NetmarlError)


def test_every_class_has_a_declared_standard_base():
    assert set(STANDARD_BASE) == set(errors.__all__) - {"NetmarlError"}


def test_the_errors_are_the_subpackages_classes():
    from netmarl_verify import envs, reports, testing, verify
    from netmarl_verify.solvers import exact

    assert errors.ModelValidationError is envs.ModelValidationError
    assert errors.MemoryBudgetError is envs.MemoryBudgetError
    assert errors.SolverAccuracyError is exact.SolverAccuracyError
    assert errors.UnidentifiedFixedPointError is exact.UnidentifiedFixedPointError
    assert errors.UnknownClaimError is verify.UnknownClaimError
    assert errors.ClaimError is verify.ClaimError
    assert errors.ReportFolderError is reports.ReportFolderError
    assert errors.MathRenderError is reports.MathRenderError
    assert errors.MismatchError is testing.MismatchError


# ------------------------------------------------------------- raised errors are still caught
@pytest.mark.parametrize("P, cls", [
    (np.full((2, 1, 2), 0.45), errors.RowSumError),
    (np.full((2, 1, 2), np.nan), errors.NonFiniteError),
    (np.full((2, 1, 3), 0.5), errors.ShapeError),
], ids=["row-sum", "non-finite", "shape"])
def test_except_value_error_still_catches_model_validation_errors(P, cls):
    from netmarl_verify.envs import TabularMDP

    with pytest.raises(ValueError) as caught:
        TabularMDP(P, np.zeros((2, 1)))
    assert type(caught.value) is cls
    assert isinstance(caught.value, errors.ModelValidationError)
    assert isinstance(caught.value, NetmarlError)


def test_except_memory_error_still_catches_the_memory_budget():
    from netmarl_verify.envs import check_memory

    with pytest.raises(MemoryError, match="refusing to build a table") as caught:
        check_memory(2**40, "a table", max_bytes=1)
    assert isinstance(caught.value, NetmarlError)


def test_except_lookup_error_still_catches_an_unknown_claim():
    from netmarl_verify.verify import REGISTRY

    with pytest.raises(LookupError) as caught:
        REGISTRY.get("no-such-paper.no-such-claim")
    assert isinstance(caught.value, errors.UnknownClaimError)
    assert isinstance(caught.value, NetmarlError)


def test_except_assertion_error_still_catches_a_testing_failure():
    from netmarl_verify.testing import assert_q_close, reference_instance

    ref = reference_instance("two-state-closed-form", seed=0)
    with pytest.raises(AssertionError) as caught:
        assert_q_close(ref.q + 0.01, ref, atol=1e-3)
    assert isinstance(caught.value, errors.MismatchError)
    assert isinstance(caught.value, NetmarlError)


def test_except_netmarl_error_does_not_catch_foreign_errors():
    with pytest.raises(ValueError):
        try:
            int("x")
        except NetmarlError:  # pragma: no cover - the point is that this does not run
            pytest.fail("NetmarlError caught a ValueError raised by Python itself")
