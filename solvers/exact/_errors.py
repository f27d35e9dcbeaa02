"""Exceptions raised by the exact solvers."""

from netmarl_verify.envs._errors import NetmarlError, NumericalError

__all__ = [
    "MultipleRecurrentClassesError",
    "PeriodicChainError",
    "SolverAccuracyError",
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


class UnidentifiedFixedPointError(NetmarlError, ValueError):
    """Some neighbourhood pair has stationary probability zero (Assumption 4(a) fails).

    Its row of the averaged critic equation is identically zero, so the fixed point is not unique
    (the critic never visits that pair in stationarity); the solver refuses rather than pick one.
    """


class ContractionLimitError(NetmarlError, ValueError):
    """A tensor contraction would involve more agents than :data:`._contract.MAX_AGENTS`.

    :func:`numpy.einsum` has 52 axis labels; see :mod:`._contract` for the one limit.
    """
