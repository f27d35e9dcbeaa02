r"""Counterexample search: maximise measured/bound over a claim's parameterised instance families.

Random instances rarely expose a loose or wrong bound; extremal ones do. A claim may declare
*search spaces* (``Claim(search=[SearchSpace(...), ...])``): each is one instance family with
named parameters

- :class:`Real` ``(lo, hi, log=False)`` — a continuous parameter (``log=True`` searches
  :math:`\log x`, for scales spanning decades);
- :class:`Integer` ``(lo, hi)`` — an integer in ``[lo, hi]`` (chain length, the seed of the random
  part of an instance);
- :class:`Choice` ``(values)`` — one of a few JSON scalars (reward sign pattern, graph shape);

and a builder ``build(params) -> Instance`` that makes the instance from the parameters alone.
:meth:`SearchSpace.instance` validates the parameters and names the instance after them, and the
instance's ``params`` are exactly ``{"family": ..., **params}``: a row found by the search is
replayed by ``netmarl-verify run <claim> --params '<that JSON>' --seed S``
(:func:`replay_instance`), with ``S`` the search seed (the measurement stream,
:func:`netmarl_verify.verify.instance_rng`, depends on it and on the instance name).

Objective
---------
One evaluation checks the claim on one instance exactly (:func:`~netmarl_verify.verify.check_instance`,
``quick=False``: every agent, every point) and scores it by the **largest ratio measured/bound
over its informative rows** (for a negative bound — a lower bound checked as ``-x <= -b`` — by
``2 - ratio`` instead, which like the ratio of a positive bound grows towards violation and passes 1
there: :func:`row_score`): verdict not "not applicable", a finite ratio (zero or infinite bounds
are skipped), and a bound at least the claim's ``atol`` — below it the verdict allows
``measured <= bound + atol`` and the ratio of two rounding-level numbers means nothing
(:func:`informative`; a "violated" row always counts). An instance with no such row — every row
outside the statement's hypotheses, or at the rounding level — scores *nothing*: it is never reported as the worst instance, and the optimiser sees a penalty
(:data:`NO_SCORE_PENALTY`, far worse than any ratio) rather than a ratio of 0 that would look like
a valid, very loose instance. Violations are rows with ratio > 1 (up to the claim's tolerances).

Optimiser (why differential evolution)
--------------------------------------
The objective is exact but non-smooth (a maximum over agents, points and witnesses; kinks where
the argmax changes; flat regions where the hypotheses fail) and mixes continuous and discrete
parameters. :func:`scipy.optimize.differential_evolution` is a derivative-free, population-based
global optimiser that handles integer dimensions natively (``integrality=``, scipy >= 1.9) and is
reproducible from a seed. Gradient polishing is off (``polish=False``: L-BFGS on a max of kinks
wastes evaluations and ignores integrality). Choices are integer indices. dual_annealing was the
alternative: it has no integrality support (rounding makes its local search stall on plateaus)
and its evaluation count per iteration is not fixed, so a budget is harder to keep.

Budget. ``budget`` counts *exact evaluations* (distinct instances checked; a repeated parameter
point — frequent on integer dimensions — is answered from a cache and costs nothing). It is split
evenly over the families. Per family the population ``M = max(5, min(10 d, budget/6))`` (``d``
searched dimensions) is seeded by a Latin hypercube drawn from the seed, and DE runs
``budget // M - 1`` generations, so it can never call the objective more than the budget. When DE
stops early (converged, or its calls hit the cache) and at least ``M`` evaluations remain, it is
restarted from a fresh Latin hypercube with a derived seed (random restarts), until the budget is
spent or a restart brings no new point. Everything is derived from ``seed``: the same seed gives
the same evaluations in the same order and the same best row.
"""

import dataclasses
import functools
import json
import math
import sys
import time
import zlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Callable

from netmarl_verify.envs._errors import NetmarlError

import numpy as np

from ._claims import NOT_APPLICABLE, VIOLATED, CheckResult, Instance
from ._json import to_jsonable

__all__ = [
    "Real",
    "Integer",
    "Choice",
    "SearchSpace",
    "SearchError",
    "SearchResult",
    "NO_SCORE_PENALTY",
    "search_claim",
    "search_checks",
    "instance_score",
    "informative",
    "row_score",
    "replay_instance",
]

#: What the optimiser sees for an instance with no applicable row (it minimises -ratio).
NO_SCORE_PENALTY = 1e12


class SearchError(NetmarlError, ValueError):
    """A bad search space, parameter point or budget (the CLI exits with status 2)."""


# ----------------------------------------------------------------------------- parameters
@dataclass(frozen=True)
class Real:
    """A continuous parameter in ``[lo, hi]``; ``log=True`` searches ``log(x)`` (needs ``lo > 0``)."""

    lo: float
    hi: float
    log: bool = False

    def __post_init__(self):
        lo, hi = float(self.lo), float(self.hi)
        if not (math.isfinite(lo) and math.isfinite(hi) and lo <= hi):
            raise SearchError(f"Real needs finite lo <= hi, got ({self.lo}, {self.hi})")
        if self.log and lo <= 0:
            raise SearchError(f"Real(log=True) needs lo > 0, got {self.lo}")
        object.__setattr__(self, "lo", lo)
        object.__setattr__(self, "hi", hi)

    @property
    def fixed(self):
        return self.lo == self.hi

    def bounds(self):
        return (math.log(self.lo), math.log(self.hi)) if self.log else (self.lo, self.hi)

    integral = False

    def decode(self, x):
        v = math.exp(x) if self.log else float(x)
        return min(max(v, self.lo), self.hi)

    def coerce(self, name, v):
        if isinstance(v, bool) or not isinstance(v, (int, float, np.integer, np.floating)):
            raise SearchError(f"parameter {name!r} must be a number in [{self.lo}, {self.hi}], got {v!r}")
        v = float(v)
        if not self.lo <= v <= self.hi:
            raise SearchError(f"parameter {name!r} = {v} is outside [{self.lo}, {self.hi}]")
        return v

    def describe(self):
        return f"Real({self.lo:g}, {self.hi:g}{', log' if self.log else ''})"


@dataclass(frozen=True)
class Integer:
    """An integer parameter in ``[lo, hi]`` (both included)."""

    lo: int
    hi: int

    def __post_init__(self):
        for v in (self.lo, self.hi):
            if isinstance(v, bool) or not isinstance(v, (int, np.integer)):
                raise SearchError(f"Integer needs integer bounds, got ({self.lo!r}, {self.hi!r})")
        if self.lo > self.hi:
            raise SearchError(f"Integer needs lo <= hi, got ({self.lo}, {self.hi})")
        object.__setattr__(self, "lo", int(self.lo))
        object.__setattr__(self, "hi", int(self.hi))

    @property
    def fixed(self):
        return self.lo == self.hi

    integral = True

    def bounds(self):
        return (self.lo, self.hi)

    def decode(self, x):
        return int(min(max(round(float(x)), self.lo), self.hi))

    def coerce(self, name, v):
        if isinstance(v, (float, np.floating)) and float(v).is_integer():
            v = int(v)
        if isinstance(v, bool) or not isinstance(v, (int, np.integer)):
            raise SearchError(f"parameter {name!r} must be an integer in [{self.lo}, {self.hi}], got {v!r}")
        if not self.lo <= int(v) <= self.hi:
            raise SearchError(f"parameter {name!r} = {v} is outside [{self.lo}, {self.hi}]")
        return int(v)

    def describe(self):
        return f"Integer({self.lo}, {self.hi})"


@dataclass(frozen=True)
class Choice:
    """One of `values` (JSON scalars: str, bool, int, float, None); searched as an integer index."""

    values: tuple

    def __post_init__(self):
        values = tuple(self.values) if not isinstance(self.values, (str, bytes)) else None
        if not values:
            raise SearchError(f"Choice needs a non-empty sequence of values, got {self.values!r}")
        for v in values:
            if not (v is None or isinstance(v, (str, bool, int, float))):
                raise SearchError(f"Choice values must be JSON scalars, got {v!r}")
        if len(set(map(repr, values))) != len(values):
            raise SearchError(f"Choice values must be distinct, got {values!r}")
        object.__setattr__(self, "values", values)

    @property
    def fixed(self):
        return len(self.values) == 1

    integral = True

    def bounds(self):
        return (0, len(self.values) - 1)

    def decode(self, x):
        return self.values[int(min(max(round(float(x)), 0), len(self.values) - 1))]

    def coerce(self, name, v):
        for c in self.values:  # exact type match: True is not 1
            if type(c) is type(v) and c == v:
                return c
        raise SearchError(f"parameter {name!r} must be one of {list(self.values)}, got {v!r}")

    def describe(self):
        return f"Choice({list(self.values)})"


_PARAM_TYPES = (Real, Integer, Choice)


@dataclass(frozen=True, eq=False)
class SearchSpace:
    """One parameterised instance family of a claim (module docstring).

    Attributes
    ----------
    family : str
        The family's name (``"copy-chain"``); recorded as ``params["family"]`` of its instances.
    params : mapping of str to Real, Integer or Choice
        The parameters, in order (``"family"`` is reserved).
    build : callable
        ``build(params) -> Instance`` (or a mapping, :meth:`Instance.coerce`) from validated
        parameters alone, deterministic (the random part of an instance is drawn from a seed
        parameter). The name and params of what it returns are replaced by :meth:`instance`.
    doc : str
        What the family is for (shown by ``search``).
    """

    family: str
    params: Mapping
    build: Callable
    doc: str = ""

    def __post_init__(self):
        if not isinstance(self.family, str) or not self.family:
            raise SearchError(f"a search space needs a non-empty family name, got {self.family!r}")
        if not isinstance(self.params, Mapping):
            raise SearchError(f"search space {self.family!r}: params must be a mapping name -> parameter")
        params = dict(self.params)
        for k, p in params.items():
            if not isinstance(k, str) or not k or k == "family":
                raise SearchError(f"search space {self.family!r}: bad parameter name {k!r} ('family' is reserved)")
            if not isinstance(p, _PARAM_TYPES):
                raise SearchError(f"search space {self.family!r}: parameter {k!r} must be Real, Integer or "
                                  f"Choice, got {p!r}")
        if not callable(self.build):
            raise SearchError(f"search space {self.family!r}: build must be callable")
        object.__setattr__(self, "params", params)

    # the searched (non-fixed) dimensions
    @property
    def dimensions(self):
        return [k for k, p in self.params.items() if not p.fixed]

    def decode(self, x):
        """The parameter point of a vector over :attr:`dimensions`."""
        out, dims = {}, iter(x)
        for k, p in self.params.items():
            out[k] = p.decode(p.bounds()[0]) if p.fixed else p.decode(next(dims))
        return out

    def validate(self, params):
        """`params` checked and coerced (every parameter present, in range; "family" allowed if it matches)."""
        if not isinstance(params, Mapping):
            raise SearchError(f"parameters must be a JSON object, got {type(params).__name__}")
        params = dict(params)
        fam = params.pop("family", self.family)
        if fam != self.family:
            raise SearchError(f"parameters are of family {fam!r}, not {self.family!r}")
        unknown = sorted(set(params) - set(self.params))
        missing = [k for k in self.params if k not in params]
        if unknown or missing:
            raise SearchError(f"family {self.family!r} has parameters {list(self.params)}; "
                              f"unknown {unknown}, missing {missing}")
        return {k: p.coerce(k, params[k]) for k, p in self.params.items()}

    def instance_params(self, params):
        """``{"family": family, **params}`` (validated): what the instance records and ``run --params`` takes."""
        return {"family": self.family, **self.validate(params)}

    def instance(self, params):
        """The instance of `params` (validated), named after them, params ``{"family": ..., **params}``."""
        p = self.validate(params)
        built = Instance.coerce(self.build(dict(p)))
        name = f"search {self.family} " + " ".join(f"{k}={_fmt_value(v)}" for k, v in p.items())
        return dataclasses.replace(built, name=name, params={"family": self.family, **p},
                                   family=built.family or self.family)

    def describe(self):
        return f"{self.family}: " + ", ".join(f"{k}={p.describe()}" for k, p in self.params.items())


def _fmt_value(v):
    return repr(v) if isinstance(v, float) else json.dumps(v)


def check_spaces(claim):
    """The claim's search spaces, checked (a list; raises :class:`SearchError` when it has none)."""
    spaces = list(getattr(claim, "search", ()) or ())
    if not spaces:
        raise SearchError(f"claim {claim.id!r} declares no search space")
    families = [s.family for s in spaces]
    if len(set(families)) != len(families):
        raise SearchError(f"claim {claim.id!r}: two search spaces share a family name: {families}")
    return spaces


def replay_instance(claim, params):
    """The instance of `claim` that ``params`` (``{"family": ..., ...}``, the row's params) describe.

    ``"family"`` may be omitted when the claim has a single search space.
    """
    spaces = check_spaces(claim)
    if not isinstance(params, Mapping):
        raise SearchError(f"--params must be a JSON object, got {params!r}")
    fam = params.get("family")
    if fam is None:
        if len(spaces) > 1:
            raise SearchError(f"claim {claim.id!r} has several families {[s.family for s in spaces]}: "
                              "give \"family\" in the parameters")
        space = spaces[0]
    else:
        match = [s for s in spaces if s.family == fam]
        if not match:
            raise SearchError(f"claim {claim.id!r} has no family {fam!r}; families: {[s.family for s in spaces]}")
        space = match[0]
    return space.instance(params)


# ----------------------------------------------------------------------------- objective
def informative(row, atol=0.0):
    """Whether `row` can score: applicable, a finite ratio, and a bound not at the rounding level.

    A row whose bound is below the claim's absolute tolerance (``|bound| < atol``) holds whenever
    ``measured <= bound + atol``, so its ratio measured/bound says nothing about the bound (two
    rounding-level numbers: 5.6e-16 / 3.5e-16 = 1.59 on a Lemma 3 row with atol 1e-12) and is not
    scored. Such a row still counts when its verdict is "violated" (then the measured value exceeds
    even the allowance: a real violation).
    """
    if row.verdict == NOT_APPLICABLE:
        return False
    if row.verdict == VIOLATED:  # counts whatever its ratio (a bound of 0 exceeded has no finite ratio)
        return True
    if math.isnan(float(row.ratio)):
        return False
    if abs(float(row.bound)) < atol and row.verdict != VIOLATED:
        return False
    return True


def row_score(row):
    """How close `row` comes to violating its bound: ``measured/bound`` for a positive bound and
    ``2 - measured/bound`` for a negative one (a lower bound ``x >= b`` checked as ``-x <= -b``).

    Both equal ``1 + (measured - bound)/|bound|``: increasing in `measured`, 1 at equality, above 1
    exactly when the row exceeds its bound. For a positive bound it is the row's ratio; for a
    negative bound the ratio itself *decreases* towards violation (``-x/-b = x/b`` is large when the
    lower bound is loose), so maximising the ratio would search for the loosest instance.
    """
    ratio = float(row.ratio)
    if not math.isfinite(ratio) and row.verdict == VIOLATED:
        return math.inf  # a zero bound exceeded: worse than any finite ratio
    return ratio if float(row.bound) > 0 else 2.0 - ratio


def instance_score(rows, atol=0.0):
    """``(score, row)``: the largest :func:`row_score` among informative rows (:func:`informative`) and
    its row, or ``(None, None)``. `atol` is the claim's absolute tolerance (:attr:`Claim.atol`)."""
    best, best_row = None, None
    for r in rows:
        if not informative(r, atol):
            continue
        ratio = row_score(r)
        if best is None or ratio > best:
            best, best_row = ratio, r
    return best, best_row


@dataclass
class SearchResult:
    """The outcome of searching one claim.

    Attributes
    ----------
    claim : str
    row : CheckResult or None
        The row with the largest score found (:func:`row_score`: its ratio when the bound is positive;
        None when no evaluated instance had an informative row).
    params : dict or None
        Its instance's parameters (``{"family": ..., ...}``), enough for ``run --params``.
    evaluations : int
        Exact evaluations spent (distinct instances checked), at most `budget`.
    budget, seed : int
    calls : int
        Objective calls by the optimiser (cached repeats included).
    families : dict
        Per family: evaluations, best score and the ratio of its row (None: nothing applicable), restarts.
    wall_time : float
    """

    claim: str
    row: CheckResult | None
    params: dict | None
    evaluations: int
    budget: int
    seed: int
    calls: int = 0
    families: dict = field(default_factory=dict)
    wall_time: float = float("nan")

    @property
    def ratio(self):
        return float("nan") if self.row is None else float(self.row.ratio)

    @property
    def score(self):
        """:func:`row_score` of :attr:`row` (its ratio for a positive bound; > 1 exactly when violated)."""
        return float("nan") if self.row is None else row_score(self.row)

    @property
    def verdict(self):
        return NOT_APPLICABLE if self.row is None else self.row.verdict

    def replay_command(self):
        """The ``netmarl-verify run`` command that recomputes :attr:`row` from its parameters alone."""
        if self.params is None:
            return ""
        import shlex

        return (f"netmarl-verify run {self.claim} --params {shlex.quote(json.dumps(self.params, sort_keys=True))}"
                f" --seed {self.seed}")

    def search_fields(self):
        return {
            "search.evaluations": int(self.evaluations),
            "search.score": float(self.score),
            "search.budget": int(self.budget),
            "search.seed": int(self.seed),
            "search.calls": int(self.calls),
            "search.params": json.dumps(to_jsonable(self.params), sort_keys=True),
            "search.families": json.dumps(to_jsonable(self.families), sort_keys=True),
            "search.replay": self.replay_command(),
        }

    def to_dict(self):
        """The row's flat dict (:meth:`CheckResult.to_dict`) plus the ``search.*`` fields."""
        base = self.row.to_dict() if self.row is not None else {"claim": self.claim, "verdict": NOT_APPLICABLE,
                                                                "ratio": float("nan")}
        return {**base, **self.search_fields()}

    def to_json_dict(self):
        """The row's JSON dict plus ``"search"`` (evaluations, budget, seed, params, families, replay)."""
        base = self.row.to_json_dict() if self.row is not None else {"claim": self.claim, "verdict": NOT_APPLICABLE}
        base["search"] = to_jsonable({"evaluations": self.evaluations, "score": self.score,
                                      "budget": self.budget, "seed": self.seed,
                                      "calls": self.calls, "params": self.params, "families": self.families,
                                      "replay": self.replay_command()}, strict=True)
        return base


def _check_budget(budget, n_families):
    if isinstance(budget, bool) or not isinstance(budget, (int, np.integer)) or budget < 1:
        raise SearchError(f"--budget must be a positive integer, got {budget!r}")
    if budget < n_families:
        raise SearchError(f"--budget {budget} is smaller than the number of families ({n_families}): "
                          "each family needs at least one evaluation")
    return int(budget)


def _population(d, budget):
    return max(5, min(10 * d, budget // 6))


def _lhs(rng, m, bounds, integral):
    """A Latin hypercube of `m` points in `bounds` (integer dimensions rounded)."""
    d = len(bounds)
    u = (rng.permuted(np.tile(np.arange(m), (d, 1)), axis=1).T + rng.random((m, d))) / m
    lo = np.array([b[0] for b in bounds], float)
    hi = np.array([b[1] for b in bounds], float)
    x = lo + u * (hi - lo)
    for j, isint in enumerate(integral):
        if isint:
            x[:, j] = np.clip(np.round(x[:, j]), lo[j], hi[j])
    return x


class _Budget(Exception):
    """Control flow, never raised to users: the optimiser's objective stops it when the budget is spent."""


@functools.lru_cache(maxsize=None)
def _de_rng_keyword():
    import inspect

    from scipy.optimize import differential_evolution

    return "rng" if "rng" in inspect.signature(differential_evolution).parameters else "seed"



def _search_family(claim, space, budget, seed, state, report):
    """Spend at most `budget` exact evaluations on one family; updates `state` (best, counts)."""
    from scipy.optimize import differential_evolution

    from ._provenance import provenance, versions
    from ._run import check_instance

    vers, prov = state.setdefault("versions", versions()), state.setdefault("provenance", provenance())
    cache = {}
    stats = {"evaluations": 0, "best_score": None, "best_ratio": None, "restarts": 0, "calls": 0}
    dims = space.dimensions
    bounds = [space.params[k].bounds() for k in dims]
    integral = [space.params[k].integral for k in dims]

    def evaluate(params):
        key = json.dumps(params, sort_keys=True)
        if key in cache:
            return cache[key]
        if stats["evaluations"] >= budget:
            raise _Budget
        inst = space.instance(params)
        rows = check_instance(claim, inst, seed, quick=False, versions_=vers, provenance_=prov)
        score, row = instance_score(rows, claim.atol)
        stats["evaluations"] += 1
        state["evaluations"] += 1
        if score is not None:
            if stats["best_score"] is None or score > stats["best_score"]:
                stats["best_score"], stats["best_ratio"] = score, float(row.ratio)
            if state["best"] is None or score > state["best"][0]:
                state["best"] = (score, row, dict(inst.params))
        cache[key] = score
        report()
        return score

    def objective(x):
        stats["calls"] += 1
        state["calls"] += 1
        score = evaluate(space.decode(x))
        return NO_SCORE_PENALTY if score is None else -score

    fam_seed = [int(seed), zlib.crc32(claim.id.encode()), zlib.crc32(space.family.encode())]
    if not dims:  # nothing to search: the one point
        try:
            objective([])
        except _Budget:
            pass
        return stats
    restart = 0
    while True:
        remaining = budget - stats["evaluations"]
        rng = np.random.default_rng(np.random.SeedSequence(fam_seed + [restart]))
        m = _population(len(dims), budget)
        if remaining <= 0 or (restart > 0 and remaining < m):
            break
        before = stats["evaluations"]
        try:
            if remaining < 5:  # too few for a DE population: a Latin hypercube sample
                for x in _lhs(rng, remaining, bounds, integral):
                    objective(x)
            else:
                m = min(m, remaining)
                init = _lhs(rng, m, bounds, integral)
                # generations so that calls <= remaining (init counts as one generation)
                maxiter = remaining // m - 1
                if maxiter < 1:
                    for x in init:
                        objective(x)
                else:
                    differential_evolution(objective, bounds, maxiter=maxiter, init=init, polish=False,
                                           integrality=integral, updating="immediate", tol=0.01,
                                           **{_de_rng_keyword(): rng})
        except _Budget:
            break
        if stats["evaluations"] == before:  # a restart found nothing new: the space is exhausted here
            break
        restart += 1
        stats["restarts"] = restart - 1  # runs after the first
    return stats


def _progress_mode(progress):
    from ._run import _progress_mode as mode

    return mode(progress)


def search_claim(claim, budget, seed=0, progress=True, families=None):
    """Maximise measured/bound over `claim`'s search spaces (module docstring).

    Parameters
    ----------
    claim : Claim
        With at least one :class:`SearchSpace` in ``claim.search``.
    budget : int
        Exact evaluations to spend, split evenly over the families.
    seed : int
        Seeds the optimiser and is the master seed of the measurements (the rows' ``seed``).
    progress : bool
        On a terminal a bar over the budget (best ratio so far); otherwise one line per family and
        one at the end.
    families : sequence of str, optional
        Search only these families.

    Returns
    -------
    SearchResult

    Raises
    ------
    SearchError
        No search space, an unknown family, a bad budget or seed.
    ClaimError
        If the claim's code fails on an instance.
    """
    from tqdm import tqdm

    from ._run import _check_seed

    try:
        seed = _check_seed(seed)
    except ValueError as exc:
        raise SearchError(str(exc)) from None
    spaces = check_spaces(claim)
    if families is not None:
        unknown = sorted(set(families) - {s.family for s in spaces})
        if unknown:
            raise SearchError(f"claim {claim.id!r} has no family {unknown}; families: {[s.family for s in spaces]}")
        spaces = [s for s in spaces if s.family in set(families)]
    budget = _check_budget(budget, len(spaces))
    mode = _progress_mode(progress)
    start = time.perf_counter()
    state = {"best": None, "evaluations": 0, "calls": 0}
    bar = tqdm(total=budget, desc=f"{claim.id} search", unit="eval", file=sys.stderr, leave=False,
               disable=mode != "bar", dynamic_ncols=True)

    def report():
        if mode == "bar":
            bar.update(1)
            if state["best"] is not None:
                bar.set_postfix_str(f"best ratio {float(state['best'][1].ratio):.6g}")

    shares = [budget // len(spaces) + (1 if k < budget % len(spaces) else 0) for k in range(len(spaces))]
    per_family = {}
    try:
        for space, share in zip(spaces, shares):
            t0 = time.perf_counter()
            stats = _search_family(claim, space, share, seed, state, report)
            per_family[space.family] = {"evaluations": stats["evaluations"], "best_ratio": stats["best_ratio"],
                                        "best_score": stats["best_score"],
                                        "restarts": stats["restarts"]}
            if mode == "lines":
                best = stats["best_ratio"]
                print(f"[search] {claim.id} / {space.family}: {stats['evaluations']}/{share} evaluations, best ratio "
                      f"{'none applicable' if best is None else f'{best:.6g}'} in {time.perf_counter() - t0:.1f} s",
                      file=sys.stderr, flush=True)
    finally:
        bar.close()
    best = state["best"]
    result = SearchResult(claim=claim.id, row=None if best is None else best[1],
                          params=None if best is None else best[2], evaluations=state["evaluations"],
                          budget=budget, seed=seed, calls=state["calls"], families=per_family,
                          wall_time=time.perf_counter() - start)
    if mode == "lines":
        print(f"[search] {claim.id}: {result.evaluations} evaluations, largest ratio "
              f"{result.ratio:.6g} ({result.verdict}) in {result.wall_time:.1f} s", file=sys.stderr, flush=True)
    return result


def _search_one(claim_id, budget, seed, threads):
    """Worker of :func:`search_checks` with ``jobs > 1``: one registered claim's search, BLAS pinned."""
    from threadpoolctl import threadpool_limits

    from ._registry import REGISTRY

    with threadpool_limits(limits=threads):
        return search_claim(REGISTRY.get(claim_id), budget, seed, progress=False)


def search_checks(target, budget, seed=0, progress=True, registry=None, *, jobs=1, threads=1):
    """:func:`search_claim` for every claim selected by `target` that declares a search space.

    A claim id without a search space raises :class:`SearchError`; a paper id or ``"all"``
    skips the claims without one (an empty list when none has one).

    With ``jobs > 1`` (registered claims only) the claims' searches run in ``jobs`` spawned
    processes, each with ``threads`` BLAS threads. A claim's search is a pure function of its id,
    the budget and the seed (every random number comes from ``SeedSequence([seed, crc32(claim),
    crc32(family), restart])``), so the results are bit-identical to ``jobs=1`` and come back in
    the same order; only the progress display differs (one line per finished claim).
    """
    from ._registry import REGISTRY

    registry = REGISTRY if registry is None else registry
    claims = registry.claims_for(target)
    if len(claims) == 1 and claims[0].id == target:
        check_spaces(claims[0])
    claims = [c for c in claims if getattr(c, "search", ())]
    jobs = int(jobs)
    if jobs < 1:
        raise SearchError(f"jobs must be >= 1, got {jobs}")
    if jobs == 1 or len(claims) <= 1 or registry is not REGISTRY:
        return [search_claim(c, budget, seed, progress) for c in claims]
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor

    from ._run import _check_seed

    try:
        seed = _check_seed(seed)
    except ValueError as exc:
        raise SearchError(str(exc)) from None
    for c in claims:  # the errors a worker would raise, here and named
        _check_budget(budget, len(check_spaces(c)))
    results = [None] * len(claims)
    with ProcessPoolExecutor(max_workers=min(jobs, len(claims)),
                             mp_context=multiprocessing.get_context("spawn")) as pool:
        futures = {pool.submit(_search_one, c.id, budget, seed, threads): k for k, c in enumerate(claims)}
        from concurrent.futures import as_completed

        for fut in as_completed(futures):
            k = futures[fut]
            results[k] = fut.result()
            if _progress_mode(progress) != "off":
                r = results[k]
                print(f"[search] {r.claim}: {r.evaluations} evaluations, largest ratio {r.ratio:.6g} "
                      f"({r.verdict}) in {r.wall_time:.1f} s", file=sys.stderr, flush=True)
    return results


def search_frame(results):
    """A DataFrame of search results, one row each (:meth:`SearchResult.to_dict`)."""
    import pandas as pd

    from ._run import _column_key

    rows = [r.to_dict() for r in results]
    if not rows:
        return pd.DataFrame({"claim": pd.Series(dtype=object)})
    df = pd.DataFrame(rows)
    return df[sorted(df.columns, key=_column_key)]


__all__ += ["search_frame", "check_spaces"]
