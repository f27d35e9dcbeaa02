"""Figure helpers: decay vs kappa and log-log error."""

import matplotlib
import matplotlib.pyplot as plt
import numpy as np
import pytest

from netmarl_verify.reports.figures import close, decay_plot, figure_png, loglog_error
from netmarl_verify.verify import fit_loglog_slope


def _lines(fig):
    return {line.get_label(): line for line in fig.axes[0].get_lines()}


def test_backend_is_agg():
    assert matplotlib.get_backend().lower() == "agg"


def test_decay_plot_single_curve_with_bound():
    k = np.arange(6)
    fig = decay_plot(k, 0.5**k, 2 * 0.6 ** (k + 1), title="t")
    lines = _lines(fig)
    assert set(lines) == {"measured", "bound"}
    assert fig.axes[0].get_yscale() == "log"
    np.testing.assert_allclose(lines["bound"].get_ydata(), 2 * 0.6 ** (k + 1))
    assert figure_png(fig)[:4] == b"\x89PNG"
    close(fig)
    assert plt.get_fignums() == []


def test_decay_plot_median_and_band_mask_zeros():
    rng = np.random.default_rng(0)
    k = np.arange(5)
    curves = rng.uniform(0.5, 1.5, size=(20, 5)) * 0.5**k
    curves[:, -1] = 0.0  # exact zeros beyond the diameter: masked, not drawn
    fig = decay_plot(k, curves, bound=lambda x: 2.0 * 0.5**x)
    ax = fig.axes[0]
    median = _lines(fig)["measured (median of 20)"].get_ydata()
    np.testing.assert_allclose(median[:-1], np.median(curves, axis=0)[:-1])
    assert np.isnan(median[-1])
    assert len(ax.collections) == 1  # the 10%-90% band
    labels = [t.get_text() for t in ax.get_legend().get_texts()]
    assert "10%-90%" in labels
    close(fig)


def test_decay_plot_series_mapping_and_shape_check():
    k = np.arange(4)
    fig = decay_plot(k, {"line": 0.5**k, "grid": 0.7**k}, bound={"c rho^(k+1)": 0.8 ** (k + 1)})
    assert set(_lines(fig)) == {"line", "grid", "c rho^(k+1)"}
    close(fig)
    with pytest.raises(ValueError, match="points"):
        decay_plot(k, np.ones(3))


def test_loglog_error_slopes():
    t = np.logspace(1, 4, 10)
    errors = 3.0 / t * np.exp(np.random.default_rng(1).normal(0, 0.05, size=(8, 10)))
    fitted = fit_loglog_slope(t, np.median(errors, axis=0))  # the caller fits; loglog_error only draws
    fig = loglog_error(t, errors, fitted, claimed_slope=-1.0)
    lines = _lines(fig)
    fitted = next(v for k, v in lines.items() if k.startswith("fitted slope"))
    claimed = lines["claimed slope -1"]
    x, y = claimed.get_xdata(), claimed.get_ydata()
    assert np.polyfit(np.log(x), np.log(y), 1)[0] == pytest.approx(-1.0)
    assert float(fitted.get_label().split()[-1]) == pytest.approx(-1.0, abs=0.05)
    with pytest.raises(TypeError):
        loglog_error(t, errors)  # the fitted slope is the caller's: no default fit here
    ax = fig.axes[0]
    assert ax.get_xscale() == ax.get_yscale() == "log"
    close(fig)


def test_draw_into_existing_axes():
    fig, ax = plt.subplots()
    assert decay_plot([0, 1], [1.0, 0.5], ax=ax) is fig
    assert loglog_error([1, 10], [1.0, 0.1], fitted_slope=-1.0, ax=ax) is fig
    close(fig)
    assert plt.get_fignums() == []


def test_importing_reports_leaves_the_users_backend_alone():
    """No global matplotlib state is set at import (a user's interactive backend stays)."""
    import subprocess
    import sys

    code = ("import matplotlib; matplotlib.use('svg'); import netmarl_verify.reports as r; "
            "from netmarl_verify.reports.figures import new_figure, figure_png; "
            "fig, ax = new_figure(); ax.plot([0, 1]); png = figure_png(fig); "
            "print(matplotlib.get_backend(), png[:4] == b'\\x89PNG')")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    assert out.stdout.split() == ["svg", "True"]
