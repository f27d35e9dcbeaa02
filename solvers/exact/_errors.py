"""Exceptions raised by the exact solvers."""

__all__ = ["MultipleRecurrentClassesError", "PeriodicChainError", "SolverAccuracyError"]


class MultipleRecurrentClassesError(ValueError):
    """The Markov chain under the policy has more than one recurrent class.

    Its stationary distribution is not unique, so neither J(θ) nor the differential
    Q-function of qu2020 eq. (3) is well defined; the solver refuses rather than pick one.
    """


class PeriodicChainError(ValueError):
    """The recurrent class is periodic, so the sum in qu2020 eq. (3) does not converge.

    The stationary distribution is still unique; pass ``periodic="cesaro"`` to get the
    Cesàro limit of the partial sums instead.
    """


class SolverAccuracyError(ArithmeticError):
    """A linear solve's residual certificate exceeds its tolerance."""
