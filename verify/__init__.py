"""Verification of the papers' claims against exact ground truth.

A claim (:class:`Claim`) is a statement of a paper turned into a check: instances, measured
assumptions, an exactly measured quantity and the paper's bound, a verdict per row ("holds",
"violated", "not applicable"). Claims live in ``verify/claims/<paper>/`` and register at
import; :func:`run` checks a claim, a paper or all of them and returns a tidy DataFrame; the
command line is ``netmarl-verify {list,run,report,bench}``. A claim's figure is data: figure
specs (:class:`DecayFigure`, :class:`LogLogErrorFigure`, :class:`LinesFigure`, built from
:class:`Series` and :class:`Where` filters) that the reports draw.

Extra claim modules can be added with the environment variable ``NETMARL_VERIFY_EXTRA_CLAIMS``
(see :mod:`netmarl_verify.verify._registry`); :mod:`netmarl_verify.verify.example_claim` is a
complete one to copy. The assertions and reference instances for users' own regression tests
are public as :mod:`netmarl_verify.testing` (implemented in ``_testing`` and
``_reference_instances`` here).
"""

from ._claims import (
    DEFAULT_RTOL,
    HOLDS,
    NOT_APPLICABLE,
    VERDICTS,
    VIOLATED,
    Assumption,
    CheckResult,
    Claim,
    Instance,
    Measurement,
    bound_latex,
    evaluate_bound,
    tightness_ratio,
    verdict,
)
from ._figures import (
    DecayFigure,
    HLine,
    LinesFigure,
    LogLogErrorFigure,
    Series,
    Style,
    VLine,
    Where,
    is_figure_spec,
    row_extra,
)
from ._fit import bootstrap_rate_quantile, bootstrap_slope_ci, fit_exponential_rate, fit_loglog_slope
from ._kit import (
    Fault,
    assume_at_least,
    assume_at_most,
    assume_greater,
    assume_in,
    assume_less,
    claim_factory,
    claim_faults,
    instance_seed,
    with_faults,
)
from ._papers import PAPERS, Paper, paper_reference, register_paper
from ._json import dumps as json_dumps
from ._json import loads as json_loads
from ._registry import (
    EXTRA_CLAIMS_ENV,
    REGISTRY,
    Registry,
    UnknownClaimError,
    claims_for,
    get_claim,
    list_claims,
    load_all,
    load_extra_claims,
    register,
    unregister,
)
from ._run import (
    CORE_COLUMNS,
    ClaimError,
    check_instance,
    instance_rng,
    run,
    run_checks,
    overall_verdict,
    run_claim,
    smallest_counterexample,
    summarize,
    to_frame,
)
from ._provenance import blas_info, command_line, provenance, source_commit, versions
from ._sweep import JOBS_ENV, RunFolderError, Task, default_jobs, plan_tasks, run_task, sweep
from ._search import (
    Choice,
    Integer,
    Real,
    SearchError,
    SearchResult,
    SearchSpace,
    replay_instance,
    search_checks,
    search_claim,
    search_frame,
)

__all__ = [
    # claims and verdicts
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
    # registry
    "Registry",
    "REGISTRY",
    "EXTRA_CLAIMS_ENV",
    "UnknownClaimError",
    "register",
    "unregister",
    "get_claim",
    "claims_for",
    "list_claims",
    "load_all",
    "load_extra_claims",
    # running
    "ClaimError",
    "CORE_COLUMNS",
    "instance_rng",
    "check_instance",
    "run_claim",
    "run_checks",
    "run",
    "to_frame",
    "versions",
    "provenance",
    "source_commit",
    "blas_info",
    "command_line",
    "summarize",
    "smallest_counterexample",
    "overall_verdict",
    # sweeps (local processes, a dask cluster, run folders)
    "sweep",
    "Task",
    "plan_tasks",
    "run_task",
    "default_jobs",
    "JOBS_ENV",
    "RunFolderError",
    # references
    "Paper",
    "PAPERS",
    "paper_reference",
    "register_paper",
    # figure specs (drawn by netmarl_verify.reports.figures.draw)
    "DecayFigure",
    "LogLogErrorFigure",
    "LinesFigure",
    "Series",
    "Where",
    "Style",
    "HLine",
    "VLine",
    "is_figure_spec",
    "row_extra",
    # fitting
    "fit_exponential_rate",
    "fit_loglog_slope",
    "bootstrap_rate_quantile",
    "bootstrap_slope_ci",
    # the claim kit: instance seeds, assumption builders, fault injection
    "instance_seed",
    "assume_less",
    "assume_at_most",
    "assume_greater",
    "assume_at_least",
    "assume_in",
    "Fault",
    "claim_factory",
    "with_faults",
    "claim_faults",
    # counterexample search
    "SearchSpace",
    "Real",
    "Integer",
    "Choice",
    "SearchError",
    "SearchResult",
    "search_claim",
    "search_checks",
    "search_frame",
    "replay_instance",
    # JSON cells
    "json_dumps",
    "json_loads",
]
