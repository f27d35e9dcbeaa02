"""Exceptions raised by the exact solvers."""

from netmarl_verify.envs._errors import NetmarlError, NumericalError

__all__ = [
    "MultipleRecurrentClassesError",
    "PeriodicChainError",
    "SolverAccuracyError",
    "IllConditionedError",
    "UnidentifiedFixedPointError",
    "ContractionLimitError",
]


class MultipleRecurrentClassesError(NetmarlError, ValueError):
    """The Markov chain under the policy has more than one recurrent class.

    Its stationary distribution is not unique, so neither J(θ) nor the differential
    Q-function of qu2020 eq. (3) is well defined; the solver refuses rather than pick one.
    """


class PeriodicChainError(NetmarlError, ValueError):
    """The recurrent class is periodic, so the sum in qu2020 eq. (3) does not converge.

    The stationary distribution is still unique; pass ``periodic="cesaro"`` to get the
    Cesàro limit of the partial sums instead.
    """


class SolverAccuracyError(NumericalError):
    """A linear solve's residual certificate exceeds its tolerance."""


class IllConditionedError(SolverAccuracyError):
    """A solve's forward-error estimate exceeds :data:`~._backends.FORWARD_ERROR_TOL`.

    The residual is small (the answer solves a nearby system) but the system is so ill-conditioned
    (nearly reducible chain, discount too close to 1) that the answer itself may be wrong; the
    message names the estimate, the condition number and the residual. Pass
    ``on_ill_conditioned="warn"`` to :func:`~._evaluation.evaluate_policy` to get the answer with a
    :class:`RuntimeWarning` instead.
    """


class UnidentifiedFixedPointError(NetmarlError, ValueError):
    """Some neighbourhood pair has stationary probability zero (Assumption 4(a) fails).

    Its row of the averaged critic equation is identically zero, so the fixed point is not unique
    (the critic never visits that pair in stationarity); the solver refuses rather than pick one.
    """


class ContractionLimitError(NetmarlError, ValueError):
    """A tensor contraction would involve more agents than :data:`._contract.MAX_AGENTS`.

    :func:`numpy.einsum` has 52 axis labels; see :mod:`._contract` for the one limit.
    """
