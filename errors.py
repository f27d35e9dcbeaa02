"""Every exception netmarl-verify defines, in one place, under one root :class:`NetmarlError`.

Each class also keeps its standard base, so ``except ValueError`` (or ``MemoryError``,
``LookupError``, ``AssertionError``...) still catches it, while ``except NetmarlError`` catches
exactly the package's own errors and nothing raised by numpy, SciPy or Python itself.

Hierarchy (standard bases in parentheses; where each is defined)::

    NetmarlError (Exception)                  envs
    ├── ModelValidationError (ValueError)     envs: a model's input arrays are inconsistent
    │   ├── ShapeError
    │   ├── NonFiniteError
    │   ├── NegativeProbabilityError
    │   └── RowSumError
    ├── MemoryBudgetError (MemoryError)       envs: a table would not fit; nothing was allocated
    ├── NumericalError (ArithmeticError)      envs: a result violates an invariant (precision or bug)
    │   └── SolverAccuracyError               solvers.exact: a residual certificate fails
    │       └── IllConditionedError           solvers.exact: a forward-error estimate is too large
    ├── MultipleRecurrentClassesError (ValueError)   solvers.exact
    ├── PeriodicChainError (ValueError)              solvers.exact
    ├── UnidentifiedFixedPointError (ValueError)     solvers.exact
    ├── ContractionLimitError (ValueError)           solvers.exact: too many agents for einsum
    ├── UtilityDomainError (ValueError)              solvers.exact: an occupancy outside a utility's domain
    ├── AssumptionError (ValueError)                 solvers.exact: an assumption fails / a parameter it excludes
    ├── UnknownClaimError (LookupError)       verify: no claim or paper with that id
    ├── ClaimError (RuntimeError)             verify: a claim's code failed on an instance
    ├── SearchError (ValueError)              verify: a bad search space, point or budget
    ├── RunFolderError (ValueError)           verify: a sweep's run folder does not fit the run
    ├── ReportFolderError                     reports: the folder is not a report's
    ├── MathRenderError (ValueError)          reports: a formula cannot be typeset
    └── VerificationAssertionError (AssertionError)  testing
        ├── MismatchError
        ├── ConvergenceRateError
        └── BiasError

The classes are defined in their layer (the root in :mod:`netmarl_verify.envs`, the bottom one, so
that every layer can derive from it) and importable from there too; this module only gathers them.

Examples
--------
>>> from netmarl_verify.errors import NetmarlError, RowSumError
>>> issubclass(RowSumError, NetmarlError), issubclass(RowSumError, ValueError)
(True, True)
"""

from netmarl_verify.envs._errors import NetmarlError, NumericalError
from netmarl_verify.envs._memory import MemoryBudgetError
from netmarl_verify.envs._validation import (
    ModelValidationError,
    NegativeProbabilityError,
    NonFiniteError,
    RowSumError,
    ShapeError,
)
from netmarl_verify.reports._folder import ReportFolderError
from netmarl_verify.reports._math import MathRenderError
from netmarl_verify.solvers.exact._errors import (
    ContractionLimitError,
    IllConditionedError,
    MultipleRecurrentClassesError,
    PeriodicChainError,
    SolverAccuracyError,
    UnidentifiedFixedPointError,
)
from netmarl_verify.solvers.exact._influence import AssumptionError
from netmarl_verify.solvers.exact._utilities import UtilityDomainError
from netmarl_verify.testing import BiasError, ConvergenceRateError, MismatchError, VerificationAssertionError
from netmarl_verify.verify._registry import UnknownClaimError
from netmarl_verify.verify._run import ClaimError
from netmarl_verify.verify._search import SearchError
from netmarl_verify.verify._sweep import RunFolderError

__all__ = [
    "NetmarlError",
    # envs
    "ModelValidationError",
    "ShapeError",
    "NonFiniteError",
    "NegativeProbabilityError",
    "RowSumError",
    "MemoryBudgetError",
    "NumericalError",
    # solvers.exact
    "SolverAccuracyError",
    "IllConditionedError",
    "MultipleRecurrentClassesError",
    "PeriodicChainError",
    "UnidentifiedFixedPointError",
    "ContractionLimitError",
    "UtilityDomainError",
    "AssumptionError",
    # verify
    "UnknownClaimError",
    "ClaimError",
    "SearchError",
    "RunFolderError",
    # reports
    "ReportFolderError",
    "MathRenderError",
    # testing
    "VerificationAssertionError",
    "MismatchError",
    "ConvergenceRateError",
    "BiasError",
]
