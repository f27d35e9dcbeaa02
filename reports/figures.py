r"""Figures of the reports (matplotlib, Agg backend).

Two shapes recur in the papers' claims:

- **decay vs distance** (:func:`decay_plot`): a quantity that should decay like
  :math:`c\rho^{\kappa+1}` drawn on a log axis against :math:`\kappa`, with the bound;
  several random instances become a median line with a 10%-90% band;
- **error vs iterations** (:func:`loglog_error`): an optimisation or estimation error on
  log-log axes, with the fitted slope and the claimed slope (e.g. -1 for :math:`O(1/T)`); the
  caller fits the slope (:func:`netmarl_verify.verify.fit_loglog_slope`), this module only draws.

:func:`draw` turns a claim's figure spec (:class:`netmarl_verify.verify.DecayFigure`,
:class:`~netmarl_verify.verify.LogLogErrorFigure`, :class:`~netmarl_verify.verify.LinesFigure`:
data only, returned by ``claim.figure(rows)``) into a figure with the same conventions.

The helpers build :class:`matplotlib.figure.Figure` objects directly (not through pyplot), so
no global figure list grows during a report; :func:`figure_png` renders one to PNG bytes and
:func:`close` releases a figure whichever way it was made. Non-positive values cannot be drawn
on a log axis: they are masked (an exact computation can give exactly 0 beyond the graph
diameter), never clipped to an invented small value.
"""

import io
import warnings
from collections.abc import Mapping

import matplotlib.pyplot as plt  # only to close figures pyplot made; never to create ours
import numpy as np
from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator

from netmarl_verify.verify import LogLogErrorFigure, is_figure_spec

__all__ = ["draw", "decay_plot", "loglog_error", "figure_png", "close", "new_figure", "open_figures", "close_new",
           "integer_ticks", "is_integral"]

DEFAULT_BAND = (0.1, 0.9)


def new_figure(figsize=(6.0, 4.0)):
    """A new pyplot-free figure with one axes; returns ``(fig, ax)``."""
    fig = Figure(figsize=figsize, layout="constrained")
    return fig, fig.add_subplot()


def is_integral(values):
    """True when every finite value of `values` is a whole number (and there is one).

    Examples
    --------
    >>> is_integral([0, 1.0, 2]), is_integral([0.5, 1])
    (True, False)
    """
    v = np.asarray(values, dtype=float).ravel()
    v = v[np.isfinite(v)]
    return bool(v.size) and bool(np.all(v == np.round(v)))


def integer_ticks(axis):
    """Ticks of `axis` (``ax.xaxis``) at whole numbers only (κ, t, K: no tick at 0.25)."""
    axis.set_major_locator(MaxNLocator(integer=True))


def _positive(y):
    y = np.array(y, dtype=float)
    y[~(y > 0)] = np.nan
    return y


def _median_band(values, band):
    """Median over rows and the quantile band of a (runs, points) array (NaN-aware)."""
    values = np.asarray(values, dtype=float)
    if values.ndim == 1:
        return values, None, None
    if values.ndim != 2:
        raise ValueError(f"curves must be 1-D (points,) or 2-D (runs, points), got shape {values.shape}")
    with warnings.catch_warnings():  # all-NaN columns give NaN, which is what we want
        warnings.simplefilter("ignore", RuntimeWarning)
        median = np.nanmedian(values, axis=0)
        if band is None or values.shape[0] < 2:
            return median, None, None
        lo, hi = np.nanquantile(values, band, axis=0)
    return median, lo, hi


def _series(data, default_label):
    if isinstance(data, Mapping):
        return list(data.items())
    return [(default_label, data)]


def _draw_curves(ax, x, data, default_label, band, lower=None, upper=None):
    for k, (label, values) in enumerate(_series(data, default_label)):
        median, lo, hi = _median_band(values, band)
        if median.shape[-1] != x.shape[0]:
            raise ValueError(f"series {label!r} has {median.shape[-1]} points for {x.shape[0]} x values")
        color = f"C{k}"
        n_runs = np.asarray(values).shape[0] if np.ndim(values) == 2 else 1
        text = f"{label} (median of {n_runs})" if lo is not None else label
        ax.plot(x, _positive(median), marker="o", ms=3, color=color, label=text)
        if k == 0 and lower is not None and upper is not None:
            lo, hi = np.asarray(lower, dtype=float), np.asarray(upper, dtype=float)
        if lo is not None:
            lo_p, hi_p = _positive(lo), _positive(hi)
            ax.fill_between(x, lo_p, hi_p, color=color, alpha=0.2, linewidth=0,
                            label=f"{int(round(100 * band[0]))}%-{int(round(100 * band[1]))}%"
                            if band is not None else "band")


def decay_plot(kappas, measured, bound=None, *, band=DEFAULT_BAND, lower=None, upper=None,
               label="measured", bound_label="bound", xlabel=r"$\kappa$", ylabel="value",
               title=None, ax=None, integer_x=None):
    r"""Measured decay against :math:`\kappa` on a log axis, with the bound.

    Parameters
    ----------
    kappas : array_like, shape (K,)
        Distances / truncation radii (x axis).
    measured : array_like, shape (K,) or (R, K), or mapping of label to such arrays
        One curve, or R curves (random instances or seeds) drawn as their median with a
        quantile band; a mapping draws several series.
    bound : array_like (K,), callable, mapping of label to those, or None
        The bound at each :math:`\kappa` (a callable is called with the kappas array); drawn
        dashed.
    band : (float, float) or None
        Quantiles of the band for 2-D `measured` (default 10%-90%); None for no band.
    lower, upper : array_like, shape (K,), optional
        Precomputed band of the first series (e.g. quantiles computed elsewhere).
    label, bound_label, xlabel, ylabel, title : str
    ax : matplotlib.axes.Axes, optional
        Draw into this axes instead of a new figure.
    integer_x : bool, optional
        Ticks at whole numbers only; by default when every x value is a whole number.

    Returns
    -------
    matplotlib.figure.Figure
    """
    if ax is None:
        fig, ax = new_figure()
    else:
        fig = ax.figure
    x = np.asarray(kappas, dtype=float)
    if is_integral(x) if integer_x is None else integer_x:
        integer_ticks(ax.xaxis)
    _draw_curves(ax, x, measured, label, band, lower, upper)
    if bound is not None:
        for k, (blabel, b) in enumerate(_series(bound, bound_label)):
            y = b(x) if callable(b) else np.broadcast_to(np.asarray(b, dtype=float), x.shape)
            ax.plot(x, _positive(y), linestyle="--", color="black" if k == 0 else f"C{k + 5}", label=blabel)
    ax.set_yscale("log")
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    if title:
        ax.set_title(title)
    ax.grid(True, which="both", alpha=0.3)
    ax.legend(fontsize="small")
    return fig


def loglog_error(iterations, errors, fitted_slope, claimed_slope=None, *, band=DEFAULT_BAND,
                 label="error", xlabel="iteration $t$", ylabel="error", title=None, ax=None):
    r"""Error against iterations on log-log axes, with the fitted and the claimed slopes.

    Both reference lines go through the geometric centre of the (median) data, so they are
    the least-squares line (fitted) and the claimed rate at the same level: the eye compares
    slopes only.

    Parameters
    ----------
    iterations : array_like, shape (T,)
        Positive iteration counts.
    errors : array_like, shape (T,) or (R, T)
        Errors; several runs are drawn as their median with a quantile band.
    fitted_slope : float or None
        The fitted slope, computed by the caller (e.g. with
        :func:`netmarl_verify.verify.fit_loglog_slope` on the median); None draws no fitted line.
    claimed_slope : float, optional
        The paper's rate exponent (e.g. -1 for :math:`O(1/T)`, -0.5 for :math:`O(1/\sqrt T)`).
    band, label, xlabel, ylabel, title, ax
        As in :func:`decay_plot`.

    Returns
    -------
    matplotlib.figure.Figure
    """
    if ax is None:
        fig, ax = new_figure()
    else:
        fig = ax.figure
    t = np.asarray(iterations, dtype=float)
    _draw_curves(ax, t, errors, label, band)
    _draw_slopes(ax, t, _median_band(errors, None)[0], fitted_slope, claimed_slope)
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    if title:
        ax.set_title(title)
    ax.grid(True, which="both", alpha=0.3)
    ax.legend(fontsize="small")
    return fig


def _draw_slopes(ax, t, median, fitted_slope, claimed_slope):
    """The fitted and claimed slope lines through the geometric centre of (t, median)."""
    ok = (t > 0) & (median > 0) & np.isfinite(median)
    if ok.sum() >= 1:
        lx, ly = np.log(t[ok]), np.log(median[ok])
        cx, cy = lx.mean(), ly.mean()
        ts = t[ok]
        for slope, style, name in ((fitted_slope, "-.", "fitted"), (claimed_slope, "--", "claimed")):
            if slope is not None and np.isfinite(slope):
                ax.plot(ts, np.exp(cy + slope * (np.log(ts) - cx)), linestyle=style,
                        color="black" if name == "claimed" else "C3", label=f"{name} slope {slope:.3g}")


def _line_kwargs(style, **defaults):
    """matplotlib keyword arguments of a :class:`~netmarl_verify.verify.Style` over `defaults`."""
    kw = dict(defaults)
    for name, key in (("color", "color"), ("linestyle", "linestyle"), ("marker", "marker"),
                      ("markersize", "ms"), ("linewidth", "linewidth")):
        value = getattr(style, name)
        if value is not None:
            kw[key] = value
    return kw


def _band_text(band):
    return f"{int(round(100 * band[0]))}%-{int(round(100 * band[1]))}%"


def draw(spec, rows=None):
    r"""The matplotlib figure of a figure spec (pyplot-free, as :func:`new_figure`).

    Parameters
    ----------
    spec : netmarl_verify.verify.LinesFigure
        A :class:`~netmarl_verify.verify.DecayFigure`,
        :class:`~netmarl_verify.verify.LogLogErrorFigure` or
        :class:`~netmarl_verify.verify.LinesFigure`.
    rows : pandas.DataFrame, optional
        The claim's tidy rows; needed when a series names a column (the spec is resolved
        against them first).

    Returns
    -------
    matplotlib.figure.Figure
        Series solid with markers (colour ``C<k>`` unless styled; 2-D values as their median
        with the quantile band), bounds dashed (black, then ``C5, C6, ...``), reference lines,
        the slopes of a :class:`~netmarl_verify.verify.LogLogErrorFigure`, log axes with
        non-positive values masked, whole-number x ticks when ``integer_x``. A spec whose row
        selection is empty is drawn as a titled axes that says "no rows match" and the filter.

    Examples
    --------
    >>> from netmarl_verify.verify import DecayFigure, Series
    >>> fig = draw(DecayFigure("t", Series("measured", [1.0, 0.5, 0.25], x=[0, 1, 2])))
    >>> fig.axes[0].get_lines()[0].get_xydata().tolist()
    [[0.0, 1.0], [1.0, 0.5], [2.0, 0.25]]
    >>> close(fig)
    """
    if not is_figure_spec(spec):
        raise TypeError(f"draw() needs a figure spec (netmarl_verify.verify.LinesFigure and kinds), got {spec!r}")
    if rows is not None:
        spec = spec.resolve(rows)
    elif not spec.resolved:
        raise ValueError(f"figure {spec.title!r} reads columns of the rows: draw(spec, rows)")
    fig, ax = new_figure(spec.figsize)
    if spec.integer_x:
        integer_ticks(ax.xaxis)
    ax.set_xlabel(spec.xlabel)
    ax.set_ylabel(spec.ylabel)
    if spec.title:
        ax.set_title(spec.title, **({"fontsize": "small"} if "\n" in spec.title else {}))
    if spec.empty:
        where = spec.where_text()
        ax.text(0.5, 0.5, "no rows match" + (f":\n{where}" if where else ""), transform=ax.transAxes,
                ha="center", va="center", wrap=True)
        return fig
    shown = _positive if spec.log_y else (lambda y: np.asarray(y, dtype=float))
    for k, s in enumerate(spec.series):
        if s.n_points == 0:
            continue
        y = np.array(s.y, dtype=float)
        if s.mask_at_or_below is not None:
            y[~(y > s.mask_at_or_below)] = np.nan
        median, lo, hi = _median_band(y, spec.band if s.band else None)
        color = s.style.color or f"C{k}"
        label = s.label
        if label is not None and lo is not None:
            label = f"{label} (median of {s.n_runs})"
        ax.plot(s.x, shown(median), **_line_kwargs(s.style, marker="o", ms=3, color=color), label=label)
        if lo is not None:
            ax.fill_between(s.x, shown(lo), shown(hi), color=color, alpha=0.2, linewidth=0,
                            label=_band_text(spec.band) if spec.band_legend else None)
        if k == 0 and isinstance(spec, LogLogErrorFigure):  # the slopes go through the first series
            _draw_slopes(ax, s.x, median, spec.fitted_slope, spec.claimed_slope)
    for k, b in enumerate(spec.bounds):
        if b.n_points == 0:
            continue
        y = np.asarray(b.y, dtype=float)
        y = _median_band(y, None)[0] if y.ndim == 2 else y
        ax.plot(b.x, shown(y), **_line_kwargs(b.style, linestyle="--", color="black" if k == 0 else f"C{k + 5}"),
                label=b.label)
    for h in spec.hlines:
        ax.axhline(h.y, **_line_kwargs(h.style, color="0.6", linestyle=":"), label=h.label)
    for v in spec.vlines:
        ax.axvline(v.x, **_line_kwargs(v.style, color="0.7", linewidth=0.8), label=v.label)
    if spec.log_x:
        ax.set_xscale("log")
    if spec.log_y:
        ax.set_yscale("log")
    if spec.log_x or spec.log_y:
        ax.grid(True, which="both", alpha=0.3)
    if spec.note:
        ax.text(0.02, 0.02, spec.note, transform=ax.transAxes, fontsize="small")
    if spec.legend == "none" or not ax.get_legend_handles_labels()[1]:
        pass
    elif spec.legend == "below":
        ax.legend(fontsize="x-small", loc="upper center", bbox_to_anchor=(0.5, -0.13), ncols=2)
    elif spec.legend == "best":
        ax.legend(fontsize="small")
    return fig


def figure_png(fig, dpi=110):
    """PNG bytes of `fig`."""
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=dpi)
    return buf.getvalue()


def close(fig):
    """Release `fig` (also removes it from pyplot's list if pyplot made it); ignores non-figures."""
    if isinstance(fig, Figure):
        plt.close(fig)


def open_figures():
    """Numbers of the figures pyplot currently holds open."""
    return set(plt.get_fignums())


def close_new(before):
    """Close the pyplot figures opened since :func:`open_figures` returned `before`."""
    for num in set(plt.get_fignums()) - set(before):
        plt.close(num)
