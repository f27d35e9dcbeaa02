"""Fitting decay rates and log-log slopes."""

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from netmarl_verify.verify import fit_exponential_rate, fit_loglog_slope


@settings(max_examples=50, deadline=None)
@given(rho=st.floats(0.05, 0.99), c=st.floats(0.01, 100.0), n=st.integers(2, 12))
def test_exponential_rate_exact_on_geometric_data(rho, c, n):
    k = np.arange(n)
    fitted, constant = fit_exponential_rate(k, c * rho**k, return_constant=True)
    assert fitted == pytest.approx(rho, rel=1e-9)
    assert constant == pytest.approx(c, rel=1e-8)


def test_exponential_rate_ignores_zeros_and_needs_two_points():
    k = np.arange(5)
    assert fit_exponential_rate(k, [1.0, 0.5, 0.25, 0.0, -1.0]) == pytest.approx(0.5)
    assert math.isnan(fit_exponential_rate(k, [1.0, 0, 0, 0, 0]))
    assert math.isnan(fit_exponential_rate([1, 1], [1.0, 0.5]))
    with pytest.raises(ValueError, match="same length"):
        fit_exponential_rate([0, 1], [1.0])


@pytest.mark.parametrize("slope", [-1.0, -0.5, 0.0, 2.0])
def test_loglog_slope_exact_on_power_laws(slope):
    t = np.logspace(0, 4, 9)
    s, b = fit_loglog_slope(t, 3.0 * t**slope, return_intercept=True)
    assert s == pytest.approx(slope, abs=1e-12)
    assert b == pytest.approx(math.log(3.0), abs=1e-12)


def test_loglog_slope_ignores_nonpositive():
    assert fit_loglog_slope([0, 1, 10, 100], [5, 1, 0.1, 0.01]) == pytest.approx(-1.0)
    assert math.isnan(fit_loglog_slope([1, 2], [1, 0]))
