"""Fixtures of the verify tests: a fresh registry holding the toy claims of ``_toy_claims``."""

import pytest

import _toy_claims
from netmarl_verify.verify import Registry


@pytest.fixture
def toy_registry():
    """A fresh :class:`verify.Registry` with the geometric toy claims (not the default registry)."""
    registry = Registry()
    _toy_claims.register_toy_claims(registry)
    return registry
