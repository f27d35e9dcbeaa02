"""Fixtures of the reports tests: the toy claims of ``tests/verify/_toy_claims.py`` and their rows."""

import importlib.util
from pathlib import Path

import pytest

from netmarl_verify.verify import Registry, run

_TOY_PATH = Path(__file__).resolve().parents[1] / "verify" / "_toy_claims.py"


def _load_toy_module():
    spec = importlib.util.spec_from_file_location("_toy_claims_for_reports", _TOY_PATH)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="session")
def toy_module():
    return _load_toy_module()


@pytest.fixture
def toy_registry(toy_module):
    registry = Registry()
    toy_module.register_toy_claims(registry)
    return registry


@pytest.fixture
def toy_rows(toy_registry):
    """Tidy rows of the toy claims (quick, seed 0): all three verdicts occur."""
    return run("toy", quick=True, seed=0, progress=False, registry=toy_registry)
