r"""Figure specs: what a claim's figure shows, as data (no matplotlib here).

A claim's ``figure(rows)`` returns one spec or a list of them; the report renderer
(:func:`netmarl_verify.reports.figures.draw`) turns each into a matplotlib figure. A spec
names its data in one of two ways, mixed freely:

- **by column**: ``Series(label, "measured", where={"point.i": 0})`` takes the rows that pass
  the filter (the figure's `where` and the series' own), sorted by the x column, and draws
  that column against the x column (default ``"point.kappa"`` for :class:`DecayFigure`);
- **by value**: ``Series(label, y=[...], x=[...])`` carries the numbers the claim computed from
  the rows (curves recorded in ``extra`` columns, a fitted slope, ``rho**t``).

Filters are data (:class:`Where`: ``column == value`` or ``column in values``), never
callables, so a spec can be printed, compared and tested. Everything that depends on the
rows beyond a filter (which instances to draw, a fitted slope, the agent with the smallest
index) is computed by the claim and put into the spec as numbers.

The three figure kinds share one set of fields (:class:`LinesFigure`):

- :class:`LinesFigure`: lines against x on linear or log axes (training curves, ...);
- :class:`DecayFigure`: a quantity against :math:`\kappa` on a log y axis with the bound(s)
  dashed, integer x ticks;
- :class:`LogLogErrorFigure`: error against iterations on log-log axes, with the fitted slope
  and the claimed slope drawn through the centre of the first series.

A series whose `y` is 2-D (runs, points) is drawn as its median with the figure's quantile
band. On a log axis non-positive values are not drawn (an exact computation can give exactly
0 beyond the graph diameter); they are never clipped to an invented small value.

Examples
--------
>>> import pandas as pd
>>> rows = pd.DataFrame({"instance": ["a", "a", "b"], "point.kappa": [1, 0, 0],
...                      "measured": [0.1, 0.5, 0.7], "bound": [0.2, 0.6, 0.8]})
>>> spec = DecayFigure("Theorem 1: a", [Series("measured", "measured")],
...                    bounds=[Series("bound", "bound")], where={"instance": "a"})
>>> data = spec.resolve(rows)
>>> data.series[0].x.tolist(), data.series[0].y.tolist()
([0.0, 1.0], [0.5, 0.1])
>>> data.series[0].where_text()
"instance == 'a'"
"""

from collections.abc import Mapping
from dataclasses import dataclass, field, fields, replace
from typing import Any, ClassVar

import numpy as np

__all__ = ["Where", "Style", "Series", "HLine", "VLine", "LinesFigure", "DecayFigure", "LogLogErrorFigure",
           "is_figure_spec", "row_extra"]

DEFAULT_BAND = (0.1, 0.9)


@dataclass(frozen=True)
class Where:
    """A row filter: ``column == value``, or ``column in value`` when `value` is a list, tuple or set.

    Parameters
    ----------
    column : str
        A column of the tidy rows (``"instance"``, ``"point.i"``, ``"assumptions_hold"``, ...).
    value : scalar or list, tuple, set
        The value to match; a collection matches any of its members (stored as a tuple).

    Examples
    --------
    >>> import pandas as pd
    >>> rows = pd.DataFrame({"point.i": [0, 1, 2]})
    >>> Where("point.i", 0).mask(rows).tolist(), Where("point.i", [1, 2]).mask(rows).tolist()
    ([True, False, False], [False, True, True])
    >>> str(Where("point.i", {2, 1}))
    'point.i in (1, 2)'
    """

    column: str
    value: Any

    def __post_init__(self):
        if not isinstance(self.column, str):
            raise TypeError(f"Where: column must be a str, got {self.column!r}")
        if isinstance(self.value, (set, frozenset)):
            object.__setattr__(self, "value", tuple(sorted(self.value, key=repr)))
        elif isinstance(self.value, (list, np.ndarray)):
            object.__setattr__(self, "value", tuple(np.asarray(self.value).tolist()))

    @property
    def is_membership(self):
        """True for ``column in values``, False for ``column == value``."""
        return isinstance(self.value, tuple)

    def mask(self, rows):
        """Boolean Series: which of `rows` (a DataFrame) pass this filter."""
        if self.column not in rows.columns:
            raise KeyError(f"figure filter {self}: the rows have no column {self.column!r}")
        col = rows[self.column]
        return col.isin(self.value) if self.is_membership else col == self.value

    def __str__(self):
        return f"{self.column} {'in' if self.is_membership else '=='} {self.value!r}"


def _wheres(where):
    """`where` (None, a :class:`Where`, a mapping column -> value, or an iterable of those) as a tuple."""
    if where is None:
        return ()
    if isinstance(where, Where):
        return (where,)
    if isinstance(where, Mapping):
        return tuple(Where(c, v) for c, v in where.items())
    out = []
    for w in where:
        if isinstance(w, Where):
            out.append(w)
        elif isinstance(w, Mapping):
            out.extend(_wheres(w))
        else:
            out.append(Where(*w))
    return tuple(out)


def _select(rows, wheres):
    keep = np.ones(len(rows), dtype=bool)
    for w in wheres:
        keep &= w.mask(rows).to_numpy(dtype=bool)
    return rows[keep]


def _data(value, name):
    """`value` as a read-only float array, or the column name it is."""
    if value is None or isinstance(value, str):
        return value
    arr = np.array(value, dtype=float)
    if arr.ndim not in (1, 2):
        raise ValueError(f"{name} must be 1-D (points,) or 2-D (runs, points), got shape {arr.shape}")
    arr.flags.writeable = False
    return arr


def _tuple_of(value, kind):
    if value is None:
        return ()
    if isinstance(value, kind):
        return (value,)
    out = tuple(value)
    for v in out:
        if not isinstance(v, kind):
            raise TypeError(f"expected {kind.__name__} objects, got {v!r}")
    return out


@dataclass(frozen=True)
class Style:
    """How a line is drawn; None leaves the figure's default (colour ``C<k>``, solid, marker ``o``).

    Parameters
    ----------
    color : str, optional
        A matplotlib colour (``"C2"``, ``"black"``, ``"0.5"`` for grey).
    linestyle : str, optional
        ``"-"``, ``"--"``, ``":"``, ``"-."`` or ``"none"`` (markers only).
    marker : str, optional
        ``"o"``, ``"_"``, ... or ``""`` for none.
    markersize, linewidth : float, optional
    """

    color: str | None = None
    linestyle: str | None = None
    marker: str | None = None
    markersize: float | None = None
    linewidth: float | None = None


@dataclass(frozen=True, eq=False)
class Series:
    """One curve of a figure: a column of the selected rows, or numbers.

    Parameters
    ----------
    label : str or None
        Legend text (None: not in the legend). A 2-D `y` drawn with a band gets
        ``" (median of R)"`` appended.
    y : str or array_like, shape (K,) or (R, K)
        A column name (taken from the rows that pass the figure's and this series' `where`,
        sorted by x), or values: R runs are drawn as their median with the figure's band.
    x : str or array_like (K,), optional
        A column name or values; default the figure's `x`. Values need values of `y`.
    where : Where, mapping column -> value, or iterable of Where, optional
        This series' row filter, ANDed with the figure's.
    style : Style, optional
    band : bool
        Draw the quantile band of a 2-D `y` (default True); False draws the median only.
    mask_at_or_below : float, optional
        Values ``<= mask_at_or_below`` are not drawn (e.g. exact zeros at the rounding level).

    Examples
    --------
    >>> Series("bound", [1.0, 0.5], x=[0, 1]).n_points
    2
    """

    label: str | None
    y: Any
    x: Any = None
    where: Any = ()
    style: Style = field(default_factory=Style)
    band: bool = True
    mask_at_or_below: float | None = None

    def __post_init__(self):
        object.__setattr__(self, "y", _data(self.y, "Series.y"))
        object.__setattr__(self, "x", _data(self.x, "Series.x"))
        object.__setattr__(self, "where", _wheres(self.where))
        if self.style is None:
            object.__setattr__(self, "style", Style())
        if isinstance(self.x, np.ndarray) and self.x.ndim != 1:
            raise ValueError(f"Series {self.label!r}: x must be 1-D, got shape {self.x.shape}")
        if isinstance(self.y, str) and isinstance(self.x, np.ndarray):
            raise ValueError(f"Series {self.label!r}: y is the column {self.y!r} but x is given as values")

    @property
    def resolved(self):
        """True when x and y are numbers (no column to read from rows)."""
        return isinstance(self.y, np.ndarray) and isinstance(self.x, np.ndarray)

    @property
    def n_points(self):
        """Number of x values (of a resolved series, or one given by values)."""
        if not isinstance(self.y, np.ndarray):
            raise ValueError(f"Series {self.label!r} reads column {self.y!r}: resolve it against rows first")
        return int(self.y.shape[-1])

    @property
    def n_runs(self):
        """R of a 2-D `y` (1 for a single curve)."""
        return int(self.y.shape[0]) if isinstance(self.y, np.ndarray) and self.y.ndim == 2 else 1

    def where_text(self):
        """The filter as text (``"instance == 'a' and point.i == 0"``; empty without one)."""
        return " and ".join(str(w) for w in self.where)

    def resolve(self, rows, x=None, where=()):
        """This series with numbers: columns read from `rows` (a DataFrame).

        `x` and `where` are the figure's defaults; the returned series' `where` records the
        whole filter used.
        """
        x = self.x if self.x is not None else x
        wheres = _wheres(where) + self.where
        if isinstance(self.y, str):
            if not isinstance(x, str):
                raise ValueError(f"Series {self.label!r}: y is the column {self.y!r}, so x must be a column too")
            sub = _select(rows, wheres)
            for col in (x, self.y):
                if col not in sub.columns:
                    raise KeyError(f"figure series {self.label!r}: the rows have no column {col!r}")
            sub = sub.sort_values(x, kind="stable")
            return replace(self, x=sub[x].to_numpy(dtype=float), y=sub[self.y].to_numpy(dtype=float),
                           where=wheres)
        if isinstance(x, str) or x is None:
            raise ValueError(f"Series {self.label!r}: y is given as values, so x must be values too")
        if x.shape[0] != self.y.shape[-1]:
            raise ValueError(f"Series {self.label!r} has {self.y.shape[-1]} points for {x.shape[0]} x values")
        return replace(self, x=x, where=wheres)


@dataclass(frozen=True)
class HLine:
    """A horizontal reference line at `y` (default dotted grey).

    Parameters
    ----------
    y : float
    label : str, optional
    style : Style, optional
    """

    y: float
    label: str | None = None
    style: Style = field(default_factory=Style)


@dataclass(frozen=True)
class VLine:
    """A vertical reference line at `x` (default thin grey).

    Parameters
    ----------
    x : float
    label : str, optional
    style : Style, optional
    """

    x: float
    label: str | None = None
    style: Style = field(default_factory=Style)


@dataclass(frozen=True, eq=False)
class LinesFigure:
    r"""A figure of lines against x: the fields every figure spec has.

    Parameters
    ----------
    title : str
        The axes title, also the report's caption; a title with a line break is drawn small.
    series : Series or sequence of Series
        The measured curves, solid with markers, coloured ``C0, C1, ...`` in order.
    x : str or array_like, optional
        Default x of the series (a column name or values).
    where : Where, mapping column -> value, or iterable of Where, optional
        Row filter applied to every series read from columns.
    bounds : Series or sequence of Series, optional
        Bounds, dashed: the first black, the others ``C5, C6, ...``.
    hlines, vlines : HLine / VLine or sequences of them, optional
        Reference lines.
    xlabel, ylabel : str
    log_x, log_y : bool
        Log scales (non-positive values are then not drawn).
    integer_x : bool
        Ticks at whole numbers only (kappa, t, K).
    band : (float, float) or None
        Quantiles of the band of 2-D series (default 10%-90%).
    band_legend : bool
        Name the bands in the legend (``"10%-90%"``).
    note : str
        Small text in the lower left corner of the axes.
    legend : {"best", "below", "none"}
        Legend placement ("below": under the axes, two columns).
    figsize : (float, float)
        Inches.
    """

    kind: ClassVar[str] = "lines"

    title: str
    series: Any
    x: Any = None
    where: Any = ()
    bounds: Any = ()
    hlines: Any = ()
    vlines: Any = ()
    xlabel: str = ""
    ylabel: str = ""
    log_x: bool = False
    log_y: bool = False
    integer_x: bool = False
    band: tuple | None = DEFAULT_BAND
    band_legend: bool = True
    note: str = ""
    legend: str = "best"
    figsize: tuple = (6.0, 4.0)

    def __post_init__(self):
        object.__setattr__(self, "series", _tuple_of(self.series, Series))
        object.__setattr__(self, "bounds", _tuple_of(self.bounds, Series))
        object.__setattr__(self, "hlines", _tuple_of(self.hlines, HLine))
        object.__setattr__(self, "vlines", _tuple_of(self.vlines, VLine))
        object.__setattr__(self, "x", _data(self.x, "x"))
        object.__setattr__(self, "where", _wheres(self.where))
        if self.legend not in ("best", "below", "none"):
            raise ValueError(f"legend must be 'best', 'below' or 'none', got {self.legend!r}")
        if self.band is not None:
            object.__setattr__(self, "band", tuple(float(q) for q in self.band))
        if not self.series:
            raise ValueError(f"figure {self.title!r} has no series")

    @property
    def resolved(self):
        """True when every series and bound holds numbers."""
        return all(s.resolved for s in self.series + self.bounds)

    @property
    def empty(self):
        """True when no series has a point (e.g. the row filter matched nothing); needs a resolved spec."""
        return all(s.n_points == 0 for s in self.series)

    def resolve(self, rows):
        """This spec with numbers: every column reference read from `rows` (the claim's tidy rows)."""
        return replace(self, series=tuple(s.resolve(rows, self.x, self.where) for s in self.series),
                       bounds=tuple(b.resolve(rows, self.x, self.where) for b in self.bounds))

    def where_text(self):
        """The filters of the series as text (for a figure whose selection is empty)."""
        texts = [s.where_text() for s in self.series]
        texts = [t for t in dict.fromkeys(texts) if t]
        return "; ".join(texts)

    def describe(self):
        """``{field: value}`` of the spec with the kind (for printing and tests)."""
        return {"kind": self.kind, **{f.name: getattr(self, f.name) for f in fields(self)}}


@dataclass(frozen=True, eq=False)
class DecayFigure(LinesFigure):
    r"""A quantity against :math:`\kappa` on a log y axis with its bound(s) dashed.

    The fields of :class:`LinesFigure`, with defaults ``x="point.kappa"``,
    ``xlabel=r"$\kappa$"``, ``ylabel="value"``, ``log_y=True`` and ``integer_x=True``.

    Examples
    --------
    >>> spec = DecayFigure("Lemma 2(a): path", [Series("uniform", "measured", where={"point.weights": "uniform"})],
    ...                    bounds=Series("bound", "bound"), where={"assumptions_hold": True})
    >>> spec.kind, spec.x, spec.log_y, spec.resolved
    ('decay', 'point.kappa', True, False)
    """

    kind: ClassVar[str] = "decay"

    x: Any = "point.kappa"
    xlabel: str = r"$\kappa$"
    ylabel: str = "value"
    log_y: bool = True
    integer_x: bool = True


@dataclass(frozen=True, eq=False)
class LogLogErrorFigure(LinesFigure):
    r"""Error against iterations on log-log axes with the fitted and the claimed slopes.

    The fields of :class:`LinesFigure` (defaults ``log_x=log_y=True``,
    ``xlabel="iteration $t$"``, ``ylabel="error"``) and:

    Parameters
    ----------
    fitted_slope : float or None
        The slope the claim fitted (e.g. with :func:`netmarl_verify.verify.fit_loglog_slope`);
        drawn dash-dotted. None: not drawn.
    claimed_slope : float or None
        The paper's rate exponent (-1 for :math:`O(1/T)`); drawn dashed black.

    Both slope lines go through the geometric centre of the first series' (median) points, so
    the eye compares slopes only.
    """

    kind: ClassVar[str] = "loglog_error"

    xlabel: str = "iteration $t$"
    ylabel: str = "error"
    log_x: bool = True
    log_y: bool = True
    fitted_slope: float | None = None
    claimed_slope: float | None = None

    def __post_init__(self):
        super().__post_init__()
        for name in ("fitted_slope", "claimed_slope"):
            v = getattr(self, name)
            if v is not None:
                object.__setattr__(self, name, float(v))


def row_extra(row, key, default=None):
    """``extra[key]`` of one tidy row (a mapping or a DataFrame row), lists included.

    Scalar extras are also expanded into ``extra.<key>`` columns; lists and dicts live only in the
    row's ``extra`` JSON column (:meth:`~netmarl_verify.verify.CheckResult.to_dict`). A figure that
    draws a recorded curve reads it here.

    Examples
    --------
    >>> row_extra({"extra": '{"curve": [1.0, 0.5]}', "extra.T": 3}, "curve"), row_extra({"extra.T": 3}, "T")
    ([1.0, 0.5], 3)
    """
    import json

    col = f"extra.{key}"
    value = row.get(col, None) if hasattr(row, "get") else None
    if value is not None and not (isinstance(value, float) and value != value):
        return value
    extra = row.get("extra", None) if hasattr(row, "get") else None
    if isinstance(extra, str):
        try:
            extra = json.loads(extra)
        except ValueError:
            return default
    return extra.get(key, default) if isinstance(extra, dict) else default


def is_figure_spec(obj):
    """True when `obj` is a figure spec (a :class:`LinesFigure` or one of its kinds)."""
    return isinstance(obj, LinesFigure)
