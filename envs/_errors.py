"""The root of the package's exceptions, defined in the bottom layer so every layer can derive from it.

Users import these from :mod:`netmarl_verify.errors`, which lists the whole hierarchy.
"""

__all__ = ["NetmarlError", "NumericalError"]


class NetmarlError(Exception):
    """Base class of every exception netmarl-verify defines.

    Each subclass also keeps its standard base (:class:`ValueError`, :class:`MemoryError`,
    :class:`ArithmeticError`, ...), so ``except ValueError`` and the like still catch them;
    ``except NetmarlError`` catches exactly the package's own errors.
    """


class NumericalError(NetmarlError, ArithmeticError):
    """A computed result violates an invariant it must satisfy (lost precision or a bug, not bad input).

    :class:`~netmarl_verify.solvers.exact.SolverAccuracyError` (a residual certificate fails) is
    one; :meth:`~netmarl_verify.envs.WirelessNetwork.policy_chain` raises it directly if a compiled
    transition probability is negative beyond round-off.
    """
