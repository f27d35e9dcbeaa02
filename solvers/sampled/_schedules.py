r"""Step sizes of stochastic-approximation algorithms, and the two-timescale check.

A step size is a callable ``t -> float`` for ``t = 0, 1, ...``. :class:`PowerSchedule` is the
family the papers use, :math:`\text{scale} / (\text{shift} + t)^{\text{power}}`; only for it can
:func:`assumption3` decide the conditions. Algorithms accept anything :func:`_as_schedule` does:
a :class:`PowerSchedule`, a positive float (constant), a tuple ``(scale, power[, shift])`` or a
callable.

qu2020's Assumption 3 is the usual two-timescale condition (Borkar 1997; Konda & Tsitsiklis
2003): both sequences deterministic, non-increasing, square summable and not summable, and the
slow one (the actor's :math:`\eta_t`) negligible against the fast one (the critic's
:math:`\alpha_t`) in the sense :math:`\sum_t(\eta_t/\alpha_t)^d < \infty` for some :math:`d > 0`.
Any fast/slow pair of power schedules can be checked with :func:`assumption3`.
"""

import numbers
from dataclasses import dataclass

import numpy as np

from netmarl_verify.envs._validation import fmt_number

__all__ = ["PowerSchedule", "assumption3", "DEFAULT_ALPHA", "DEFAULT_ETA"]


@dataclass(frozen=True)
class PowerSchedule:
    r"""Step sizes :math:`\text{scale} / (\text{shift} + t)^{\text{power}}`, :math:`t = 0, 1, \dots`

    Attributes
    ----------
    scale : float
        Positive.
    power : float
        ``0`` gives constant step sizes.
    shift : float
        Positive; ``1`` gives :math:`\alpha_0 = \text{scale}`.
    """

    scale: float
    power: float = 0.0
    shift: float = 1.0

    def __post_init__(self):
        if not (np.isfinite(self.scale) and self.scale > 0):
            raise ValueError(f"step-size `scale` must be positive and finite, got {fmt_number(self.scale)}")
        if not (np.isfinite(self.power) and self.power >= 0):
            raise ValueError(f"step-size `power` must be >= 0, got {fmt_number(self.power)}")
        if not (np.isfinite(self.shift) and self.shift > 0):
            raise ValueError(f"step-size `shift` must be positive, got {fmt_number(self.shift)}")

    def __call__(self, t):
        return self.scale / (self.shift + t) ** self.power


#: Default critic step sizes of :func:`~netmarl_verify.solvers.sampled.scalable_actor_critic`.
DEFAULT_ALPHA = PowerSchedule(1.0, 0.55)
#: Default actor step sizes of :func:`~netmarl_verify.solvers.sampled.scalable_actor_critic`.
DEFAULT_ETA = PowerSchedule(1.0, 0.9)


def _as_schedule(x, name):
    """Normalise a step-size argument ``x`` (named ``name`` in errors) to a callable ``t -> float``.

    A :class:`PowerSchedule` or a callable is returned unchanged; a real number becomes a constant
    :class:`PowerSchedule`; a tuple ``(scale, power[, shift])`` becomes ``PowerSchedule(*x)``.
    """
    if isinstance(x, PowerSchedule):
        return x
    if isinstance(x, numbers.Real) and not isinstance(x, bool):
        return PowerSchedule(float(x), 0.0)
    if isinstance(x, tuple) and len(x) in (2, 3):
        return PowerSchedule(*(float(v) for v in x))
    if callable(x):
        return x
    raise TypeError(f"`{name}` must be a PowerSchedule, a positive float (constant), a tuple (scale, power[, shift]) "
                    f"or a callable t -> step size; got {fmt_number(x)}")


def assumption3(alpha, eta):
    r"""Whether step sizes satisfy qu2020 Assumption 3, with the reason.

    ``alpha`` is the fast (critic) and ``eta`` the slow (actor) timescale; the same conditions are
    the two-timescale conditions of any fast/slow pair of stochastic approximations.

    For power schedules :math:`\alpha_t \propto (s+t)^{-p}`, :math:`\eta_t \propto (s'+t)^{-q}`:
    non-increasing iff :math:`p, q \ge 0`; square summable and not summable iff
    :math:`1/2 < p, q \le 1`; :math:`\sum(\eta_t/\alpha_t)^d < \infty` for some :math:`d` iff
    :math:`q > p`. Arbitrary callables cannot be decided: ``(None, reason)``.

    Returns
    -------
    holds : bool or None
    reason : str
    """
    if not (isinstance(alpha, PowerSchedule) and isinstance(eta, PowerSchedule)):
        return None, "step sizes given as callables: Assumption 3 not checked"
    p, q = alpha.power, eta.power
    if not (0.5 < p <= 1):
        return False, f"alpha power {p} not in (1/2, 1] (square summable, not summable)"
    if not (0.5 < q <= 1):
        return False, f"eta power {q} not in (1/2, 1] (square summable, not summable)"
    if not q > p:
        return False, f"eta power {q} must exceed alpha power {p} so that sum (eta/alpha)^d < inf"
    return True, f"holds with d > {1.0 / (q - p):.3g}"
