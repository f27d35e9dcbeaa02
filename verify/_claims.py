r"""Claims, assumptions, measurements and verdicts.

A *claim* is a statement of a paper (theorem, lemma, equation) turned into a numerical check:

- ``instances(quick, seed)`` yields the problem instances it is checked on;
- ``assumptions(instance)`` says which hypotheses of the statement hold on an instance, each
  with its measured value (e.g. :math:`\max_i \sum_j C_{ij} = 0.83 < 1`);
- ``measure(instance, rng, quick)`` computes the exact quantity the statement bounds, one
  :class:`Measurement` per point (a pair :math:`(i, j)`, a truncation radius :math:`\kappa`,
  an iteration count, ...), together with the bound evaluated with the paper's own constants.

Every claim is an upper bound, ``measured <= bound``; a lower bound :math:`x \ge b` is checked
as :math:`-x \le -b` and an identity :math:`x = y` as :math:`|x - y| \le \text{tol}`.

Verdicts
--------
For each measurement,

- ``"not applicable"`` if an assumption fails (the row still records measured and bound: how
  the bound behaves outside its hypotheses is information too), or if there is no bound;
- ``"holds"`` if :math:`\text{measured} \le \text{bound} + \text{rtol}\,|\text{bound}| +
  \text{atol}`;
- ``"violated"`` otherwise.

The default ``rtol = 1e-9`` is a floating-point rounding allowance only: measured values come
from direct linear algebra (residuals around 1e-12 relative) and bounds from a few floating
point operations, so a relative excess above 1e-9 is a real violation, not rounding. A claim
whose measured value is the result of an iteration sets its own ``rtol``/``atol`` and says why.
A check must be able to fail: the tests show each verdict on deliberately broken inputs.
"""

import functools
import inspect
import math
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Callable

import numpy as np
import sympy

from ._json import dumps, is_scalar, to_jsonable
from ._papers import paper_reference

__all__ = [
    "Claim",
    "Assumption",
    "Instance",
    "Measurement",
    "CheckResult",
    "VERDICTS",
    "HOLDS",
    "VIOLATED",
    "NOT_APPLICABLE",
    "DEFAULT_RTOL",
    "verdict",
    "tightness_ratio",
    "evaluate_bound",
    "bound_latex",
]

HOLDS = "holds"
VIOLATED = "violated"
NOT_APPLICABLE = "not applicable"
VERDICTS = (HOLDS, VIOLATED, NOT_APPLICABLE)

#: Relative allowance for floating-point rounding in :func:`verdict` (see module docstring).
DEFAULT_RTOL = 1e-9

_ID_RE = re.compile(r"^[a-z][a-z0-9_]*\.[A-Za-z0-9_][A-Za-z0-9_.\-]*$")


@dataclass
class Assumption:
    """One hypothesis of a claim, evaluated on an instance.

    Attributes
    ----------
    name : str
        Short name, e.g. ``"exponential decay (Assumption 1)"`` or ``"max_i sum_j C_ij < 1"``.
    holds : bool
        Whether the hypothesis holds on the instance.
    measured : float or None
        The measured quantity the hypothesis is about (``None`` for qualitative hypotheses
        such as "the chain is irreducible").
    required : str
        The requirement in words or symbols, e.g. ``"< 1"``.
    detail : str
        Anything that helps the reader (where the maximum is attained, the residual, ...).
    """

    name: str
    holds: bool
    measured: float | None = None
    required: str = ""
    detail: str = ""

    def __post_init__(self):
        self.holds = bool(self.holds)
        if self.measured is not None:
            self.measured = float(self.measured)

    def to_dict(self):
        """Plain dict (JSON-serialisable)."""
        return {
            "name": self.name,
            "holds": self.holds,
            "measured": self.measured,
            "required": self.required,
            "detail": self.detail,
        }


@dataclass
class Instance:
    """A problem instance a claim is checked on.

    Attributes
    ----------
    name : str
        Unique within a claim; together with the claim id and the seed it determines the
        random stream of the measurement (:func:`netmarl_verify.verify.instance_rng`).
    params : dict
        The parameters the instance is reproducible from (recorded in every row). Keys are
        strings, values scalars preferably (they become table columns ``param.<key>``).
    payload : object
        Whatever the claim's ``assumptions`` and ``measure`` need (a model, a policy, ...).
    size : float or None
        A size used to pick the *smallest* counterexample (e.g. the number of global states).
    family : str
        The instance family (e.g. ``"copy-chain"``, ``"coupled"``, ``"random"``), for claims and
        figures to select instances by a structured field rather than by substrings of `name`.
        Not written into the rows (a family a report needs goes into `params` as well).
    """

    name: str
    params: dict = field(default_factory=dict)
    payload: Any = None
    size: float | None = None
    family: str = ""

    @classmethod
    def coerce(cls, obj):
        """An :class:`Instance` from an instance or a mapping.

        A mapping needs ``"name"``; ``"params"``, ``"payload"``, ``"size"`` and ``"family"`` are
        optional and any other keys are gathered into a dict payload (when ``"payload"`` is absent).
        """
        if isinstance(obj, cls):
            return obj
        if isinstance(obj, Mapping):
            d = dict(obj)
            if "name" not in d:
                raise ValueError(f"an instance mapping needs a 'name' key, got keys {sorted(d)}")
            name = d.pop("name")
            params = dict(d.pop("params", None) or {})
            size = d.pop("size", None)
            family = str(d.pop("family", ""))
            payload = d.pop("payload") if "payload" in d else (d or None)
            return cls(name=str(name), params=params, payload=payload, size=size, family=family)
        raise TypeError(f"an instance must be an Instance or a mapping, got {type(obj).__name__}")


@dataclass
class Measurement:
    """One measured value of a claim on an instance, at one point.

    Attributes
    ----------
    measured : float
        The exactly computed quantity the claim bounds.
    bound : float or None
        The bound at this point. If None, the claim's sympy ``bound`` is evaluated with the
        instance parameters updated by `values`.
    values : dict
        Values of the bound's symbols (constants measured on the instance, e.g. ``c``,
        ``rho``, ``kappa``); recorded in the row.
    point : dict
        Where on the instance: ``{"i": 0, "j": 3}``, ``{"kappa": 2}``, ``{"T": 1000}``.
    extra : dict
        Diagnostics recorded with the row (residuals, curves for figures, ...).
    assumptions : list of Assumption
        Point-specific hypotheses, added to the instance-level ones.
    """

    measured: float
    bound: float | None = None
    values: dict = field(default_factory=dict)
    point: dict = field(default_factory=dict)
    extra: dict = field(default_factory=dict)
    assumptions: list = field(default_factory=list)

    @classmethod
    def coerce(cls, obj):
        """A :class:`Measurement` from a measurement or a mapping with the same keys."""
        if isinstance(obj, cls):
            return obj
        if isinstance(obj, Mapping):
            unknown = set(obj) - {"measured", "bound", "values", "point", "extra", "assumptions"}
            if unknown:
                raise ValueError(f"unknown measurement keys {sorted(unknown)}")
            return cls(**obj)
        raise TypeError(f"a measurement must be a Measurement or a mapping, got {type(obj).__name__}")


def _takes_plots(fn):
    """True when `fn` has two or more required positional parameters: ``figure(rows, plots)``."""
    try:
        params = inspect.signature(fn).parameters.values()
    except (TypeError, ValueError):  # a builtin without a signature: the one-argument form
        return False
    required = [p for p in params if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)
                and p.default is p.empty]
    return len(required) >= 2


@dataclass(kw_only=True, eq=False)
class Claim:
    r"""A paper's statement as a numerical check (see the module docstring).

    Attributes
    ----------
    id : str
        ``"<paper>.<name>"``, e.g. ``"qu2020.thm1"``.
    paper : str
        Short paper id, e.g. ``"qu2020"``; defaults to the prefix of `id` and must equal it.
    paper_file : str
        Optional (default ``""``): a file name of the paper's text, kept for the authors of
        the package's own claims. Readers are given the citation instead
        (:attr:`reference`, :attr:`citation`), so a user's claim needs neither a file nor a
        registered paper.
    source : str
        Where the statement is, e.g. ``"Theorem 1"``, ``"Lemma 2, eq. (9)"``.
    statement : str
        The statement in words.
    latex : str
        The statement in LaTeX (no surrounding ``$``).
    bound : sympy.Expr or None
        The bound as a formula of named symbols; evaluated by :func:`evaluate_bound` when a
        measurement gives no numeric bound.
    assumptions : callable or None
        ``assumptions(instance) -> list[Assumption]``.
    measure : callable
        ``measure(instance, rng, quick) -> Measurement | mapping | iterable of them``.
    instances : callable
        ``instances(quick, seed) -> iterable of Instance | mapping``.
    figure : callable or None
        What the report draws for this claim, `rows` being its tidy rows
        (:func:`netmarl_verify.verify.run`). Two forms, told apart by the signature
        (:meth:`figures` calls it):

        - ``figure(rows) -> spec | list[spec]`` (one required positional parameter; the
          recommended form): figure specs (:class:`~netmarl_verify.verify.DecayFigure`,
          :class:`~netmarl_verify.verify.LogLogErrorFigure`,
          :class:`~netmarl_verify.verify.LinesFigure`), data only; the renderer draws them
          with :func:`netmarl_verify.reports.figures.draw`, so the claim needs no matplotlib;
        - ``figure(rows, plots) -> Figure | list[Figure]`` (two or more required positional
          parameters): matplotlib figures drawn by the claim with the plotting kit the
          renderer passes as `plots` (:mod:`netmarl_verify.reports.figures`:
          ``new_figure``, ``decay_plot``, ``loglog_error``, ...).

        Either form may return specs and Figures mixed, or None for no figure.
    notes : str
        Remarks shown in the report (errata, normalisation traps, what the figure shows).
    rtol, atol : float
        Tolerances of :func:`verdict`.
    search : sequence of SearchSpace
        Optional (default ``()``, no search): the instance families with a parameter space
        that ``netmarl-verify search`` explores to maximise measured/bound
        (:class:`netmarl_verify.verify.SearchSpace`, :mod:`netmarl_verify.verify._search`).
        Stored as a tuple; the fixed instances and ``run`` do not use it, except
        ``run --params`` which replays one instance of a family from its parameters.
    """

    id: str
    source: str
    statement: str
    measure: Callable
    instances: Callable
    paper: str = ""
    paper_file: str = ""
    latex: str = ""
    bound: Any = None
    assumptions: Callable | None = None
    figure: Callable | None = None
    notes: str = ""
    rtol: float = DEFAULT_RTOL
    atol: float = 0.0
    search: Any = ()

    def __post_init__(self):
        if not isinstance(self.id, str) or not _ID_RE.match(self.id):
            raise ValueError(
                f"claim id must look like '<paper>.<name>' (lower-case paper id), got {self.id!r}"
            )
        prefix = self.id.split(".", 1)[0]
        if not self.paper:
            self.paper = prefix
        if self.paper != prefix:
            raise ValueError(f"claim {self.id!r}: paper {self.paper!r} differs from the id prefix {prefix!r}")
        for name in ("measure", "instances"):
            if not callable(getattr(self, name)):
                raise TypeError(f"claim {self.id!r}: `{name}` must be callable")
        for name in ("assumptions", "figure"):
            value = getattr(self, name)
            if value is not None and not callable(value):
                raise TypeError(f"claim {self.id!r}: `{name}` must be callable or None")
        if self.bound is not None and not isinstance(self.bound, sympy.Basic):
            self.bound = sympy.sympify(self.bound)
        if not (self.rtol >= 0 and self.atol >= 0):
            raise ValueError(f"claim {self.id!r}: rtol and atol must be >= 0, got {self.rtol}, {self.atol}")
        from ._search import SearchSpace  # late: _search imports this module

        if isinstance(self.search, SearchSpace):
            self.search = (self.search,)
        self.search = tuple(self.search or ())
        for s in self.search:
            if not isinstance(s, SearchSpace):
                raise TypeError(f"claim {self.id!r}: `search` must hold SearchSpace objects, got {s!r}")
        families = [s.family for s in self.search]
        if len(set(families)) != len(families):
            raise ValueError(f"claim {self.id!r}: two search spaces share a family name: {families}")

    def check_assumptions(self, instance):
        """The instance-level assumptions (an empty list when the claim has none)."""
        if self.assumptions is None:
            return []
        result = self.assumptions(instance)
        result = list(result or [])
        for a in result:
            if not isinstance(a, Assumption):
                raise TypeError(f"claim {self.id!r}: assumptions() must return Assumption objects, got {a!r}")
        return result

    @property
    def bound_latex(self):
        """``sympy.latex`` of the bound (empty string when there is none)."""
        return bound_latex(self.bound)

    def figures(self, rows, plots=None):
        """The claim's figures for `rows`: a list of figure specs and/or matplotlib Figures.

        Calls ``figure(rows)``, or ``figure(rows, plots)`` when `figure` takes two required
        positional parameters (the plotting-kit form; `plots` must then be given). An empty
        list when the claim has no figure or `figure` returns None.
        """
        if self.figure is None:
            return []
        if _takes_plots(self.figure):
            if plots is None:
                raise TypeError(f"claim {self.id!r}: figure(rows, plots) needs the plotting kit "
                                "(netmarl_verify.reports.figures) as `plots`")
            result = self.figure(rows, plots)
        else:
            result = self.figure(rows)
        if result is None:
            return []
        if isinstance(result, (list, tuple)):
            return list(result)
        return [result]

    @property
    def reference(self):
        """The :class:`~netmarl_verify.verify.Paper` registered under :attr:`paper`, or None.

        Looked up when asked (:func:`netmarl_verify.verify.paper_reference`), so a paper
        registered after the claim is found too.
        """
        return paper_reference(self.paper)

    @property
    def citation(self):
        """One-line citation of the paper: the registered reference, else the paper id.

        (`paper_file` is never shown to users: it names a text the package does not ship.)
        """
        ref = self.reference
        if ref is not None:
            return ref.citation()
        return f"{self.paper} (no bibliographic reference registered)"


@dataclass
class CheckResult:
    """One row of a verification run: a claim, an instance, a point, a verdict.

    Attributes
    ----------
    claim, paper, source : str
        Claim id, paper id and location in the paper.
    instance : str
        Instance name.
    params : dict
        Instance parameters.
    seed : int
        Master seed of the run (the measurement stream is :func:`netmarl_verify.verify.instance_rng`).
    point : dict
        Where on the instance (see :class:`Measurement`).
    measured, bound : float
        The measured quantity and the bound (NaN when there is no bound).
    ratio : float
        Tightness ``measured / bound`` (NaN if the bound is 0, missing or infinite).
    bound_note : str
        Why `bound` is NaN although the claim has one: on rows outside the claim's hypotheses
        (verdict "not applicable") the formula bounds nothing — with rho >= 1, rbar/(1-rho) is
        negative — so neither the bound nor the ratio is shown, and this says which hypotheses
        failed. Empty otherwise.
    verdict : {"holds", "violated", "not applicable"}
    assumptions : list of Assumption
    counterexample : dict
        For violated rows: instance, params, seed, point, measured, bound, values; else ``{}``.
    values : dict
        Values of the bound's symbols.
    extra : dict
        Diagnostics.
    versions : dict
        netmarl-verify, Python and core package versions (:func:`netmarl_verify.verify.versions`).
    provenance : dict
        Platform, BLAS library and threads, command line, and the source commit when run from
        a checkout (:func:`netmarl_verify.verify.provenance`).
    wall_time : float
        Seconds spent on this instance (assumptions + measure), shared by its rows.
    instance_size : float or None
        :attr:`Instance.size`.
    """

    claim: str
    paper: str
    source: str
    instance: str
    params: dict
    seed: int
    point: dict
    measured: float
    bound: float
    ratio: float
    verdict: str
    bound_note: str = ""
    assumptions: list = field(default_factory=list)
    counterexample: dict = field(default_factory=dict)
    values: dict = field(default_factory=dict)
    extra: dict = field(default_factory=dict)
    versions: dict = field(default_factory=dict)
    provenance: dict = field(default_factory=dict)
    wall_time: float = float("nan")
    instance_size: float | None = None

    @property
    def assumptions_hold(self):
        """True when every assumption holds."""
        return all(a.holds for a in self.assumptions)

    def to_dict(self):
        """Flat dict for pandas and CSV.

        Dictionaries are stored as JSON strings (``params``, ``point``, ``values``, ``extra``,
        ``assumptions``, ``failed_assumptions``, ``counterexample``) and their scalar entries are
        also expanded into columns ``param.<k>``, ``point.<k>``, ``value.<k>``, ``extra.<k>``;
        versions become ``version.<package>`` and provenance ``provenance.<key>``.
        """
        d = {
            "claim": self.claim,
            "paper": self.paper,
            "source": self.source,
            "instance": self.instance,
            "seed": int(self.seed),
            "point": dumps(self.point),
            "measured": float(self.measured),
            "bound": float(self.bound),
            "ratio": float(self.ratio),
            "bound_note": self.bound_note,
            "verdict": self.verdict,
            "assumptions_hold": self.assumptions_hold,
            "failed_assumptions": dumps([a.name for a in self.assumptions if not a.holds]),
            "assumptions": dumps([a.to_dict() for a in self.assumptions]),
            "params": dumps(self.params),
            "values": dumps(self.values),
            "extra": dumps(self.extra),
            "counterexample": dumps(self.counterexample),
            "instance_size": float("nan") if self.instance_size is None else float(self.instance_size),
            "wall_time": float(self.wall_time),
        }
        for prefix, mapping, scalars_only in (
            ("param.", self.params, False),
            ("point.", self.point, False),
            ("value.", self.values, False),
            ("extra.", self.extra, True),
        ):
            for k, v in mapping.items():
                if is_scalar(v):
                    d[prefix + str(k)] = to_jsonable(v)
                elif not scalars_only:
                    d[prefix + str(k)] = dumps(v)
        for k, v in self.versions.items():
            d["version." + k] = v
        for k, v in self.provenance.items():
            d["provenance." + k] = v
        return d

    def to_json_dict(self):
        """Nested JSON-ready dict (standard JSON: NaN as null); used by ``run --json``."""
        return to_jsonable(
            {
                "claim": self.claim,
                "paper": self.paper,
                "source": self.source,
                "instance": self.instance,
                "params": self.params,
                "seed": self.seed,
                "point": self.point,
                "measured": self.measured,
                "bound": self.bound,
                "ratio": self.ratio,
                "bound_note": self.bound_note,
                "verdict": self.verdict,
                "assumptions": [a.to_dict() for a in self.assumptions],
                "counterexample": self.counterexample,
                "values": self.values,
                "extra": self.extra,
                "versions": self.versions,
                "provenance": self.provenance,
                "wall_time": self.wall_time,
            },
            strict=True,
        )


def tightness_ratio(measured, bound):
    """``measured / bound``, or NaN when the bound is missing, zero or not finite."""
    if bound is None:
        return float("nan")
    bound = float(bound)
    if bound == 0 or not math.isfinite(bound):
        return float("nan")
    return float(measured) / bound


def verdict(measured, bound, assumptions=(), rtol=DEFAULT_RTOL, atol=0.0):
    """The verdict of one measurement.

    Parameters
    ----------
    measured : float
        The measured quantity.
    bound : float or None
        The claimed upper bound (None: no bound, the row is "not applicable").
    assumptions : iterable of Assumption
        If any fails, the verdict is "not applicable" whatever the numbers.
    rtol : float
        Relative rounding allowance, default 1e-9 (see the module docstring).
    atol : float
        Absolute allowance, default 0.

    Returns
    -------
    {"holds", "violated", "not applicable"}
        "holds" iff ``measured <= bound + rtol * |bound| + atol``.

    Raises
    ------
    ValueError
        If the assumptions hold and `measured` or `bound` is NaN: a NaN is a failed
        computation, not a verdict.

    Examples
    --------
    >>> verdict(0.5, 1.0), verdict(1.0 + 1e-12, 1.0), verdict(1.01, 1.0)
    ('holds', 'holds', 'violated')
    >>> verdict(5.0, 1.0, [Assumption("rho < 1", holds=False, measured=1.2)])
    'not applicable'
    """
    if not all(a.holds for a in assumptions):
        return NOT_APPLICABLE
    if bound is None:
        return NOT_APPLICABLE
    measured = float(measured)
    bound = float(bound)
    if math.isnan(measured):
        raise ValueError("`measured` is NaN: the measurement failed")
    if math.isnan(bound):
        raise ValueError("`bound` is NaN although its assumptions hold")
    if bound == math.inf:
        return HOLDS
    return HOLDS if measured <= bound + rtol * abs(bound) + atol else VIOLATED


@functools.lru_cache(maxsize=512)
def _lambdified(expr):
    symbols = tuple(sorted(expr.free_symbols, key=lambda s: s.name))
    return symbols, sympy.lambdify(symbols, expr, modules="numpy")


def evaluate_bound(expr, **values):
    r"""Evaluate a sympy bound numerically.

    The expression is lambdified once (cached per expression) with its free symbols as
    arguments, matched to `values` by symbol name; extra values are ignored, so an instance's
    whole parameter dict can be passed.

    Parameters
    ----------
    expr : sympy.Expr
        The bound.
    **values : float or ndarray
        A value for each free symbol (arrays broadcast).

    Returns
    -------
    float or ndarray
        NaN/inf where the formula is undefined (e.g. :math:`1/(1-\rho)` at :math:`\rho = 1`);
        the verdict treats that as a failure only when the assumptions hold.

    Raises
    ------
    ValueError
        If a free symbol has no value.

    Examples
    --------
    >>> a, r = sympy.symbols("a r")
    >>> evaluate_bound(a / (1 - r), a=2.0, r=0.5, unused=3)
    4.0
    """
    if not isinstance(expr, sympy.Basic):
        expr = sympy.sympify(expr)
    symbols, fn = _lambdified(expr)
    missing = [s.name for s in symbols if s.name not in values]
    if missing:
        raise ValueError(f"no value for symbol(s) {missing} of the bound {expr}; got {sorted(values)}")
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        # numpy float64 arguments: IEEE semantics (1/0 = inf) instead of Python's ZeroDivisionError
        out = fn(*(np.asarray(values[s.name], dtype=float) for s in symbols))
        out = np.asarray(out)
        if np.iscomplexobj(out):
            out = np.where(np.abs(out.imag) <= 1e-12 * np.maximum(1, np.abs(out.real)), out.real, np.nan)
        out = out.astype(float)
    return float(out) if out.ndim == 0 else out


def bound_latex(expr):
    """``sympy.latex(expr)``, or ``""`` for None."""
    if expr is None:
        return ""
    return sympy.latex(expr)
