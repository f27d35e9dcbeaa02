r"""Fitting decay rates and convergence orders.

Exponential decay. The papers bound a quantity by :math:`c\rho^{\kappa+1}` (qu2020) or
:math:`c\phi^{\kappa}` (ying2023). :func:`fit_exponential_rate` fits
:math:`\log v_\kappa \approx \log c + \kappa \log\rho` by least squares and returns
:math:`\hat\rho = e^{\text{slope}}` (and :math:`\hat c` for the :math:`c\rho^\kappa`
convention: for qu2020's convention divide it by :math:`\hat\rho`).

Power laws. :func:`fit_loglog_slope` fits :math:`\log y \approx b + s \log x` (an
:math:`O(1/T)` rate shows :math:`s \approx -1`).

Uncertainty of a fitted rate. :func:`bootstrap_rate_quantile` resamples the rows of a set of
curves (one per random instance) and returns a quantile of the rate fitted to the median curve
of each resample (qu2020 App. B.4; the decay claims of gu2021 and ying2023 need it too).
:func:`bootstrap_slope_ci` is the percentile-bootstrap interval of a log-log slope fitted to a
curve averaged over random runs: resample the runs with replacement, rebuild the curve, refit.

Non-positive and non-finite values are left out (an exact computation can give exactly 0 beyond
the graph diameter); with fewer than two usable points, or a single abscissa, the fit is NaN.
"""

import numpy as np

__all__ = ["fit_exponential_rate", "fit_loglog_slope", "bootstrap_rate_quantile", "bootstrap_slope_ci"]


def _line_fit(x, y):
    """Least-squares slope and intercept of y on x, or (nan, nan)."""
    if x.size < 2 or np.ptp(x) == 0:
        return np.nan, np.nan
    xm, ym = x.mean(), y.mean()
    slope = np.sum((x - xm) * (y - ym)) / np.sum((x - xm) ** 2)
    return float(slope), float(ym - slope * xm)


def _pairs(x, y, name_x, name_y):
    x = np.asarray(x, dtype=float).ravel()
    y = np.asarray(y, dtype=float).ravel()
    if x.shape != y.shape:
        raise ValueError(f"`{name_x}` and `{name_y}` must have the same length, got {x.size} and {y.size}")
    return x, y


def fit_exponential_rate(kappas, values, *, return_constant=False):
    r"""Fitted decay rate :math:`\hat\rho` of :math:`v_\kappa \approx c\,\rho^\kappa`.

    Parameters
    ----------
    kappas : array_like, shape (K,)
        Distances / truncation radii.
    values : array_like, shape (K,)
        Measured quantities; non-positive or non-finite entries are ignored.
    return_constant : bool
        Also return :math:`\hat c`.

    Returns
    -------
    rho : float
        NaN if fewer than two positive values at distinct kappas.
    c : float
        Only if `return_constant`.

    Examples
    --------
    >>> k = np.arange(6)
    >>> rho, c = fit_exponential_rate(k, 3.0 * 0.5 ** k, return_constant=True)
    >>> bool(np.isclose(rho, 0.5)), bool(np.isclose(c, 3.0))
    (True, True)
    """
    k, v = _pairs(kappas, values, "kappas", "values")
    ok = np.isfinite(k) & np.isfinite(v) & (v > 0)
    slope, intercept = _line_fit(k[ok], np.log(v[ok]))
    rho, c = float(np.exp(slope)), float(np.exp(intercept))
    return (rho, c) if return_constant else rho


def fit_loglog_slope(x, y, *, return_intercept=False):
    r"""Least-squares slope of :math:`\log y` against :math:`\log x`.

    Parameters
    ----------
    x, y : array_like, shape (K,)
        Points with ``x > 0`` and ``y > 0`` are used, others ignored.
    return_intercept : bool
        Also return the intercept :math:`b` (natural logarithms).

    Returns
    -------
    slope : float
        NaN if fewer than two usable points.
    intercept : float
        Only if `return_intercept`.

    Examples
    --------
    >>> t = np.array([10.0, 100.0, 1000.0])
    >>> bool(np.isclose(fit_loglog_slope(t, 5.0 / t), -1.0))
    True
    """
    x, y = _pairs(x, y, "x", "y")
    ok = np.isfinite(x) & np.isfinite(y) & (x > 0) & (y > 0)
    slope, intercept = _line_fit(np.log(x[ok]), np.log(y[ok]))
    return (slope, intercept) if return_intercept else slope


def bootstrap_rate_quantile(kappas, curves, q, n_boot, rng):
    r"""Quantile `q` of the fitted rate of the median curve over bootstrap resamples of the rows.

    Each of the `n_boot` resamples draws ``R`` rows of `curves` with replacement (one
    ``rng.integers(0, R, size=(n_boot, R))`` call), takes the median over rows at each kappa and
    fits :func:`fit_exponential_rate` to it; resamples whose fit is NaN are left out.

    Parameters
    ----------
    kappas : ndarray, shape (K,)
    curves : ndarray, shape (R, K)
        One row per random instance.
    q : float
    n_boot : int
    rng : numpy.random.Generator

    Returns
    -------
    float
        NaN if every resample's fit is NaN.

    Examples
    --------
    >>> k = np.arange(5)
    >>> curves = np.exp(np.random.default_rng(0).normal(size=(20, 5))) * 0.5 ** k
    >>> bootstrap_rate_quantile(k, curves, 0.95, 200, np.random.default_rng(1)) < 1
    True
    """
    R = curves.shape[0]
    idx = rng.integers(0, R, size=(n_boot, R))
    medians = np.median(curves[idx], axis=1)  # (n_boot, K)
    rates = np.array([fit_exponential_rate(kappas, m) for m in medians])
    rates = rates[np.isfinite(rates)]
    return float(np.quantile(rates, q)) if rates.size else float("nan")


def bootstrap_slope_ci(x, runs, level=0.9, n_boot=1000, rng=None, curve=None):
    r"""Percentile-bootstrap interval of the log-log slope of a curve built from random runs.

    Each of the `n_boot` resamples draws ``R`` runs (the first axis of `runs`) with replacement
    (one ``rng.integers(0, R, size=(n_boot, R))`` call), builds the curve ``curve(runs[idx])``
    (default: the mean over runs at each abscissa) and fits :func:`fit_loglog_slope` against `x`;
    resamples whose fit is NaN are left out. The interval is the ``(1 - level)/2`` and
    ``(1 + level)/2`` quantiles of the refitted slopes. It reflects the run-to-run spread only
    (not the misfit of a straight line), and with few runs it is coarse: ``R`` runs have at most
    ``C(2R - 1, R)`` distinct resamples (3 for R = 2).

    Parameters
    ----------
    x : array_like, shape (K,)
        Abscissae (> 0).
    runs : ndarray, shape (R, ...)
        One entry per run; with the default `curve`, shape (R, K).
    level : float
        Nominal two-sided coverage, in (0, 1).
    n_boot : int
    rng : numpy.random.Generator
        The resampling stream (use one of its own, not the measurement's, to leave other draws unchanged).
    curve : callable, optional
        ``curve(resampled_runs) -> y`` of shape (K,); default ``resampled_runs.mean(axis=0)``.

    Returns
    -------
    (float, float)
        ``(low, high)``; ``(nan, nan)`` if every resample's fit is NaN.

    Examples
    --------
    >>> x = np.array([16.0, 64.0, 256.0, 1024.0])
    >>> runs = x ** -0.5 * np.exp(0.1 * np.random.default_rng(0).normal(size=(12, 4)))
    >>> lo, hi = bootstrap_slope_ci(x, runs, 0.9, 500, np.random.default_rng(1))
    >>> bool(lo <= fit_loglog_slope(x, runs.mean(axis=0)) <= hi), bool(-0.6 < lo < hi < -0.4)
    (True, True)
    """
    if not 0.0 < level < 1.0:
        raise ValueError(f"`level` must be in (0, 1), got {level!r}")
    if rng is None:
        raise ValueError("bootstrap_slope_ci needs an explicit `rng` (numpy.random.Generator)")
    runs = np.asarray(runs, dtype=float)
    x = np.asarray(x, dtype=float).ravel()
    curve = (lambda r: r.mean(axis=0)) if curve is None else curve
    R = runs.shape[0]
    idx = rng.integers(0, R, size=(int(n_boot), R))
    slopes = np.array([fit_loglog_slope(x, curve(runs[i])) for i in idx])
    slopes = slopes[np.isfinite(slopes)]
    if not slopes.size:
        return float("nan"), float("nan")
    lo, hi = np.quantile(slopes, [(1.0 - level) / 2.0, (1.0 + level) / 2.0])
    return float(lo), float(hi)
