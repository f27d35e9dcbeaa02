r"""Regression-test your own algorithm against exact answers, in the spirit of :mod:`numpy.testing`.

Call these from your own pytest suite; each passes silently or raises an
:class:`AssertionError` subclass whose message says where and by how much (the worst entry,
its index and meaning, the tolerance, the instance and seed).

Assertions
----------
assert_q_close(q_estimate, mdp, policy, states, actions, ...)
    Q estimates against the exact Q (average-reward, qu2020 eq. (3), or discounted).
assert_gradient_close(grad_estimate, mdp, policy, ...)
    A policy-gradient estimate against the exact gradient (qu2020 Lemma 1).
assert_stationary_close(d_estimate, mdp, policy, ...)
    A stationary distribution against the exact one.
assert_converges(errors, iterations, rate=-0.5, ...)
    Fitted log-log slope with a t-based confidence interval against a claimed rate.
assert_unbiased(samples, exact, alpha=0.05, variance=None)
    Two-sided z-test (exact variance) or t-test per coordinate, Bonferroni-corrected; false-alarm
    probability at most `alpha`.

Reference instances
-------------------
reference_instance(name, *, seed=0, **params)
    A small model, a policy and their exact d, J, state values, Q (at documented pairs) and
    gradient, reproducible from (name, parameters, seed).
list_reference_instances()
    The names (``"qu2020-line"``, ``"two-state-closed-form"``, ``"copy-chain"``) and defaults.

The tolerance rule, the statistics and the instances are documented in
:mod:`netmarl_verify.verify._testing` and :mod:`netmarl_verify.verify._reference_instances`.

Examples
--------
>>> import numpy as np
>>> from netmarl_verify.testing import assert_q_close, reference_instance
>>> ref = reference_instance("two-state-closed-form", seed=0)
>>> assert_q_close(ref.q, ref)              # the exact answer passes
>>> assert_q_close(ref.q + 0.01, ref, atol=1e-3)
Traceback (most recent call last):
...
netmarl_verify.testing.MismatchError: Q estimate differs from exact Q (global reward, average reward): worst |diff| 1.00e-02 at pair ...
"""

from netmarl_verify.verify._reference_instances import (
    ReferenceInstance,
    list_reference_instances,
    reference_instance,
)
from netmarl_verify.verify._testing import (
    BiasError,
    ConvergenceFit,
    ConvergenceRateError,
    MismatchError,
    UnbiasednessTest,
    VerificationAssertionError,
    assert_converges,
    assert_gradient_close,
    assert_q_close,
    assert_stationary_close,
    assert_unbiased,
)

__all__ = [
    # assertions
    "assert_q_close",
    "assert_gradient_close",
    "assert_stationary_close",
    "assert_converges",
    "assert_unbiased",
    # failures and results
    "VerificationAssertionError",
    "MismatchError",
    "ConvergenceRateError",
    "BiasError",
    "ConvergenceFit",
    "UnbiasednessTest",
    # reference instances
    "ReferenceInstance",
    "reference_instance",
    "list_reference_instances",
]
