r"""Assertions for regression-testing a user's algorithm against exact answers.

Public through :mod:`netmarl_verify.testing` (this module is its implementation, as
``numpy/testing/_private`` is for :mod:`numpy.testing`).

Closeness (:func:`assert_q_close`, :func:`assert_gradient_close`, :func:`assert_stationary_close`)
    Entry ``k`` of an estimate matches the exact value when
    :math:`|\hat x_k - x_k| \le \text{atol} + \text{rtol}\,|x_k|` (the rule of
    :func:`numpy.testing.assert_allclose`, with the same defaults ``rtol=1e-7, atol=0``). An
    average-reward Q has stationary mean zero, so some of its entries are close to 0: give an
    `atol` on the scale of the accuracy you expect.

Convergence rate (:func:`assert_converges`)
    Ordinary least squares of :math:`\log e_k` on :math:`\log T_k` gives the slope :math:`\hat s`
    (:func:`netmarl_verify.verify.fit_loglog_slope`) and its standard error
    :math:`\widehat{se} = \sqrt{\tfrac{1}{K-2}\sum_k r_k^2 / \sum_k (\log T_k - \overline{\log T})^2}`
    from the residuals :math:`r_k`. The confidence interval is t-based with :math:`K-2` degrees
    of freedom: exact when the log-errors scatter around the line with independent Gaussian
    noise of constant variance, and the right size for the few (5-20) points of a typical
    convergence curve, where a bootstrap of the pairs has too few distinct resamples to be
    trusted. Errors measured along one trajectory are correlated, which makes any interval too
    narrow: average independent runs per iteration count (or use independent runs).

Unbiasedness (:func:`assert_unbiased`)
    For each coordinate a two-sided test of :math:`E\hat x = x`: a z-test with the exact
    variance when it is given (the model gives it), else a t-test with the sample variance
    (``ddof=1``, :math:`N-1` degrees of freedom). The family of :math:`m` coordinates is
    corrected by Bonferroni: reject when the smallest p-value is below :math:`\alpha / m`, so
    the probability of a false alarm on an unbiased estimator is at most :math:`\alpha`
    (exactly :math:`\alpha` for one Gaussian coordinate; asymptotically, by the central limit
    theorem, for others). The tests check this rate by simulation.

Failures raise subclasses of :class:`VerificationAssertionError` (an :class:`AssertionError`)
whose message says where and by how much: the worst entry, its index and what it means
(state, action, agent), the tolerance, the number of mismatched entries and, when given, the
instance and seed. Wrong arguments (shapes, tolerances, ``alpha`` outside (0, 1)) raise
:class:`ValueError` / :class:`TypeError` instead; a NaN or infinite value *produced by the
algorithm under test* is a failed assertion, naming the first such entry.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from scipy import stats

from netmarl_verify.envs import NetworkedMDP, TabularMDP
from netmarl_verify.envs._errors import NetmarlError
from netmarl_verify.solvers.exact import evaluate_policy, policy_gradient

from ._fit import fit_loglog_slope
from ._reference_instances import ReferenceInstance

__all__ = [
    "VerificationAssertionError",
    "MismatchError",
    "ConvergenceRateError",
    "BiasError",
    "ConvergenceFit",
    "UnbiasednessTest",
    "assert_q_close",
    "assert_gradient_close",
    "assert_stationary_close",
    "assert_converges",
    "assert_unbiased",
]


class VerificationAssertionError(NetmarlError, AssertionError):
    """Base class of the failures of :mod:`netmarl_verify.testing`; an :class:`AssertionError`."""


class MismatchError(VerificationAssertionError):
    """An estimate differs from the exact answer beyond the tolerance.

    Attributes
    ----------
    index : int
        Flat index of the worst entry (largest ``|diff|``; the first non-finite entry if any).
    location : str
        What the index means (``"pair 17 (state (0, 1), action (2, 0))"``).
    actual, desired : float
        Estimate and exact value there.
    max_abs_diff : float
    n_mismatched, n_total : int
    """

    def __init__(self, message, *, index, location, actual, desired, max_abs_diff, n_mismatched, n_total):
        super().__init__(message)
        self.index = index
        self.location = location
        self.actual = actual
        self.desired = desired
        self.max_abs_diff = max_abs_diff
        self.n_mismatched = n_mismatched
        self.n_total = n_total


class ConvergenceRateError(VerificationAssertionError):
    """The fitted convergence rate is not the claimed one. Attribute ``fit``: :class:`ConvergenceFit`."""

    def __init__(self, message, fit=None):
        super().__init__(message)
        self.fit = fit


class BiasError(VerificationAssertionError):
    """The sample mean differs significantly from the exact value. Attribute ``test``: :class:`UnbiasednessTest`."""

    def __init__(self, message, test=None):
        super().__init__(message)
        self.test = test


for _cls in (VerificationAssertionError, MismatchError, ConvergenceRateError, BiasError):
    _cls.__module__ = "netmarl_verify.testing"  # tracebacks name the public module, as numpy.testing's do
del _cls


# -- shared helpers ----------------------------------------------------------------------------


def _fmt(x):
    return f"{x:.3g}" if isinstance(x, (float, np.floating)) else str(x)


def _check_tolerances(rtol, atol):
    for name, value in (("rtol", rtol), ("atol", atol)):
        if isinstance(value, bool) or not isinstance(value, (int, float, np.integer, np.floating)):
            raise TypeError(f"`{name}` must be a number, got {type(value).__name__}")
        if not (math.isfinite(value) and value >= 0):
            raise ValueError(f"`{name}` must be finite and >= 0, got {value}")
    return float(rtol), float(atol)


def _context(instance, seed):
    """``"instance 'qu2020-line' n=4 seed 0"`` from a ReferenceInstance / str and a seed."""
    parts = []
    if isinstance(instance, ReferenceInstance):
        label = instance.label()
        if seed is not None:  # the caller's own seed (e.g. of the algorithm) is reported separately
            parts.append(f"instance {label}; algorithm seed {seed}")
        else:
            parts.append(f"instance {label}")
    else:
        if instance is not None:
            parts.append(f"instance {instance}")
        if seed is not None:
            parts.append(f"seed {seed}")
    return "; ".join(parts)


def _join(*parts):
    return "; ".join(p for p in parts if p)


def _float_array(x, what):
    try:
        arr = np.asarray(x, dtype=float)
    except (TypeError, ValueError) as exc:
        raise TypeError(f"`{what}` must be an array of numbers: {exc}") from None
    return arr


def _compare(actual, desired, rtol, atol, *, headline, locate, context, err_msg):
    """Raise :class:`MismatchError` unless ``|actual - desired| <= atol + rtol |desired|``."""
    actual = actual.ravel()
    desired = desired.ravel()
    n = actual.size
    finite = np.isfinite(actual)
    diff = np.abs(actual - desired)
    bad = ~finite | (diff > atol + rtol * np.abs(desired))
    n_bad = int(bad.sum())
    if n_bad == 0:
        return
    if not finite.all():
        k = int(np.flatnonzero(~finite)[0])
        worst = f"entry {_fmt(actual[k])} (non-finite, {int((~finite).sum())} such entries) at {locate(k)}"
        max_abs = math.inf
    else:
        k = int(np.argmax(diff))
        max_abs = float(diff[k])
        worst = f"worst |diff| {max_abs:.2e} at {locate(k)}"
    lines = [_join(f"{headline}: {worst}", f"rtol {rtol:.0e}, atol {atol:.0e}",
                   f"mismatched {n_bad} / {n} entries", context)]
    lines.append(f" estimate: {float(actual[k])!r}")
    lines.append(f" exact:    {float(desired[k])!r}")
    with np.errstate(divide="ignore", invalid="ignore"):
        rel = np.where(finite, diff / np.abs(desired), np.inf)
    rel = np.where(np.isnan(rel), 0.0, rel)
    kr = int(np.argmax(rel))
    lines.append(f" max relative difference: {float(rel[kr]):.2e} at {locate(kr)}")
    if err_msg:
        lines.insert(0, str(err_msg))
    raise MismatchError("\n".join(lines), index=k, location=locate(k), actual=float(actual[k]),
                        desired=float(desired[k]), max_abs_diff=max_abs, n_mismatched=n_bad, n_total=n)


def _unpack_model(mdp, policy, gamma, what):
    """(mdp, policy, gamma, instance) from a model or a ReferenceInstance."""
    if isinstance(mdp, ReferenceInstance):
        ref = mdp
        if gamma is not None and gamma != ref.gamma:
            raise ValueError(f"{what}: the reference instance was built with gamma={ref.gamma}, not {gamma}; "
                             f"build one with reference_instance({ref.name!r}, gamma={gamma})")
        return ref.mdp, (ref.policy if policy is None else policy), ref.gamma, ref
    if not isinstance(mdp, (NetworkedMDP, TabularMDP)):
        raise TypeError(f"{what}: `mdp` must be a NetworkedMDP, a TabularMDP or a ReferenceInstance, "
                        f"got {type(mdp).__name__}")
    if policy is None:
        raise TypeError(f"{what}: `policy` is required unless `mdp` is a ReferenceInstance")
    return mdp, policy, gamma, None


def _objective_name(gamma):
    return "average reward" if gamma is None else f"discounted, gamma={gamma:g}"


# -- closeness -------------------------------------------------------------------------------------


def assert_q_close(q_estimate, mdp, policy=None, states=None, actions=None, *, agent=None, gamma=None,
                   rtol=1e-7, atol=0.0, instance=None, seed=None, err_msg=""):
    r"""Assert that estimated Q-values match the exact Q at state-action pairs.

    Parameters
    ----------
    q_estimate : array_like, shape (m,)
        The estimate at ``(states[k], actions[k])``.
    mdp : NetworkedMDP, TabularMDP or ReferenceInstance
        With a :class:`ReferenceInstance`, `policy`, `states`, `actions` and `gamma` default to
        the instance's, and the message names the instance.
    policy : LocalSoftmaxPolicy, policy table or TabularSoftmaxPolicy
    states, actions : array_like of int
        Networked model: shape (m, n) of local indices; tabular: shape (m,) of global indices.
    agent : int or None
        ``None``: Q of the global reward (the average of the local ones); ``i``: :math:`Q_i`.
    gamma : float or None
        ``None``: the average-reward Q of qu2020 eq. (3) (bias with stationary mean zero);
        otherwise the discounted Q.
    rtol, atol : float
        Entry ``k`` matches when ``|q_estimate[k] - Q[k]| <= atol + rtol * |Q[k]|``.
    instance : ReferenceInstance or str, optional
        Named in the failure message.
    seed : int, optional
        The seed of the algorithm under test, named in the failure message.
    err_msg : str
        Prepended to the failure message.

    Raises
    ------
    MismatchError
        An :class:`AssertionError` naming the worst pair (index, state, action), the
        estimate and the exact value there, the tolerances and the number of mismatches.
    ValueError, TypeError
        Wrong shapes, indices or tolerances.

    Examples
    --------
    >>> import numpy as np
    >>> from netmarl_verify.testing import assert_q_close, reference_instance
    >>> ref = reference_instance("qu2020-line", n=3, seed=0)
    >>> assert_q_close(ref.q + 1e-9, ref, atol=1e-8)          # passes silently
    >>> wrong = ref.q.copy()
    >>> wrong[17] += 0.03
    >>> try:
    ...     assert_q_close(wrong, ref, rtol=1e-3, atol=1e-6)
    ... except AssertionError as e:
    ...     print(str(e).splitlines()[0])
    Q estimate differs from exact Q (global reward, average reward): worst |diff| 3.00e-02 at pair 17 (state (0, 0, 0), action (1, 2, 2)); rtol 1e-03, atol 1e-06; mismatched 1 / 216 entries; instance 'qu2020-line' n=3 seed 0
    """
    rtol, atol = _check_tolerances(rtol, atol)
    mdp, policy, gamma, ref = _unpack_model(mdp, policy, gamma, "assert_q_close")
    if ref is not None:
        states = ref.states if states is None else states
        actions = ref.actions if actions is None else actions
        instance = ref if instance is None else instance
    if states is None or actions is None:
        raise TypeError("assert_q_close: `states` and `actions` are required unless `mdp` is a ReferenceInstance")
    ev = evaluate_policy(mdp, policy, gamma)
    exact = ev.q(states, actions, agent)
    states = np.asarray(states)
    actions = np.asarray(actions)
    est = _float_array(q_estimate, "q_estimate")
    if est.shape != exact.shape:
        raise ValueError(f"`q_estimate` must have shape {exact.shape} (one value per state-action pair), "
                         f"got {est.shape}")

    def locate(k):
        if isinstance(mdp, NetworkedMDP):
            s = tuple(int(x) for x in states[k])
            a = tuple(int(x) for x in actions[k])
        else:
            s, a = int(states[k]), int(actions[k])
        return f"pair {k} (state {s}, action {a})"

    who = "global reward" if agent is None else f"agent {agent}"
    _compare(est, exact, rtol, atol, headline=f"Q estimate differs from exact Q ({who}, {_objective_name(gamma)})",
             locate=locate, context=_context(instance, seed), err_msg=err_msg)


def assert_gradient_close(grad_estimate, mdp, policy=None, *, gamma=None, initial=None, rtol=1e-7, atol=0.0,
                          instance=None, seed=None, err_msg=""):
    r"""Assert that an estimated policy gradient matches the exact one.

    The exact gradient is :func:`netmarl_verify.solvers.exact.policy_gradient`: of :math:`J(\theta)`
    (qu2020 Lemma 1) for ``gamma=None``, else of :math:`V(\mu_0) = \mu_0^\top V`.

    Parameters
    ----------
    grad_estimate : sequence of array_like, or array_like of shape (policy.size,)
        Shaped like ``policy.logits`` (one array ``(S[i], A[i])`` per agent, or one ``(nS, nA)``
        for a tabular policy), or flat in the order of ``policy.flat()``.
    mdp : NetworkedMDP, TabularMDP or ReferenceInstance
    policy : LocalSoftmaxPolicy or TabularSoftmaxPolicy
    gamma : float or None
    initial : ndarray, shape (|S|,), optional
        :math:`\mu_0` of the discounted objective (default uniform).
    rtol, atol : float
        Entry-wise rule ``|diff| <= atol + rtol * |exact|``.
    instance, seed, err_msg
        As in :func:`assert_q_close`.

    Raises
    ------
    MismatchError
        Naming the worst logit (agent, local state, local action, flat index).

    Examples
    --------
    >>> import numpy as np
    >>> from netmarl_verify.testing import assert_gradient_close, reference_instance
    >>> ref = reference_instance("two-state-closed-form", seed=3)
    >>> assert_gradient_close(ref.gradient, ref)
    >>> assert_gradient_close(np.zeros(4), ref, atol=1e-3)
    Traceback (most recent call last):
    ...
    netmarl_verify.testing.MismatchError: policy gradient estimate differs from exact gradient (average reward): worst |diff| ...
    """
    rtol, atol = _check_tolerances(rtol, atol)
    mdp, policy, gamma, ref = _unpack_model(mdp, policy, gamma, "assert_gradient_close")
    instance = ref if instance is None else instance
    if ref is not None and policy is ref.policy and initial is None:
        exact = [np.asarray(g) for g in ref.gradient]
    else:
        exact = policy_gradient(mdp, policy, gamma, initial)
    flat_exact = np.concatenate([g.ravel() for g in exact])
    if isinstance(grad_estimate, (list, tuple)):
        if len(grad_estimate) != len(exact):
            raise ValueError(f"`grad_estimate` must have one array per agent ({len(exact)}), got {len(grad_estimate)}")
        parts = []
        for i, (g, e) in enumerate(zip(grad_estimate, exact)):
            g = _float_array(g, f"grad_estimate[{i}]")
            if g.shape != e.shape:
                raise ValueError(f"`grad_estimate[{i}]` must have the shape of policy.logits[{i}], {e.shape}, "
                                 f"got {g.shape}")
            parts.append(g.ravel())
        est = np.concatenate(parts)
    else:
        est = _float_array(grad_estimate, "grad_estimate")
        if est.shape != flat_exact.shape:
            raise ValueError(f"`grad_estimate` must be a list shaped like policy.logits or a flat vector of "
                             f"shape {flat_exact.shape}, got an array of shape {est.shape}")
    offsets = np.cumsum([0] + [g.size for g in exact])
    tabular = isinstance(mdp, TabularMDP)

    def locate(k):
        i = int(np.searchsorted(offsets, k, side="right") - 1)
        x, b = np.unravel_index(k - offsets[i], exact[i].shape)
        if tabular:
            return f"logit [s={x}, a={b}] (flat index {k})"
        return f"agent {i}, logit [s_{i}={x}, a_{i}={b}] (flat index {k})"

    _compare(est, flat_exact, rtol, atol,
             headline=f"policy gradient estimate differs from exact gradient ({_objective_name(gamma)})",
             locate=locate, context=_context(instance, seed), err_msg=err_msg)


def assert_stationary_close(d_estimate, mdp, policy=None, *, rtol=1e-7, atol=0.0, instance=None, seed=None,
                            err_msg=""):
    """Assert that an estimated stationary distribution matches the exact one.

    Parameters
    ----------
    d_estimate : array_like, shape (|S|,)
        Indexed by global state (``np.ravel_multi_index(s, S)``, agent 0 most significant).
    mdp : NetworkedMDP, TabularMDP or ReferenceInstance
    policy : policy, optional with a ReferenceInstance
    rtol, atol, instance, seed, err_msg
        As in :func:`assert_q_close`.

    Raises
    ------
    MismatchError
        Naming the worst global state (index and local tuple).

    Examples
    --------
    >>> from netmarl_verify.testing import assert_stationary_close, reference_instance
    >>> ref = reference_instance("copy-chain", n=3)
    >>> assert_stationary_close(ref.d, ref)
    """
    rtol, atol = _check_tolerances(rtol, atol)
    mdp, policy, _, ref = _unpack_model(mdp, policy, None, "assert_stationary_close")
    instance = ref if instance is None else instance
    exact = ref.d if (ref is not None and policy is ref.policy) else evaluate_policy(mdp, policy).stationary
    est = _float_array(d_estimate, "d_estimate")
    if est.shape != exact.shape:
        raise ValueError(f"`d_estimate` must have shape {exact.shape} (one entry per global state), got {est.shape}")

    def locate(k):
        if isinstance(mdp, NetworkedMDP):
            return f"state {k} {tuple(int(x) for x in mdp.state_tuples([k])[0])}"
        return f"state {k}"

    _compare(est, np.asarray(exact), rtol, atol,
             headline="stationary distribution estimate differs from exact d",
             locate=locate, context=_context(instance, seed), err_msg=err_msg)


# -- convergence rates --------------------------------------------------------------------------------

CONVERGENCE_MODES = ("two-sided", "at-least")


@dataclass(frozen=True)
class ConvergenceFit:
    r"""The log-log fit of :func:`assert_converges`.

    Attributes
    ----------
    slope, intercept : float
        :math:`\log e \approx \text{intercept} + \text{slope} \log T` (natural logarithms).
    stderr : float
        Standard error of the slope.
    ci : tuple of float
        The confidence interval the verdict used: two-sided ``(lo, hi)``, or ``(lo, inf)`` for
        ``mode="at-least"`` (one-sided), each widened by `slack`.
    confidence : float
    dof : int
        Degrees of freedom, ``n_points - 2``.
    n_points : int
    rate : float
        The claimed slope.
    mode : str
    """

    slope: float
    intercept: float
    stderr: float
    ci: tuple
    confidence: float
    dof: int
    n_points: int
    rate: float
    mode: str


def assert_converges(errors, iterations, rate=-0.5, *, confidence=0.95, mode="two-sided", slack=0.0,
                     instance=None, seed=None, err_msg=""):
    r"""Assert that errors decay like ``iterations ** rate`` (fitted log-log slope with a CI).

    Parameters
    ----------
    errors : array_like, shape (K,)
        Positive errors (e.g. :math:`\|\hat Q_T - Q\|`, averaged over independent runs).
    iterations : array_like, shape (K,)
        Positive iteration counts (or sample sizes), at least 3 distinct values.
    rate : float
        The claimed slope, e.g. ``-0.5`` for :math:`O(T^{-1/2})`, ``-1`` for :math:`O(1/T)`.
    confidence : float in (0, 1)
        Level of the interval (see the module docstring: t-based, ``K - 2`` degrees of freedom).
    mode : {"two-sided", "at-least"}
        ``"two-sided"``: passes iff `rate` lies in the two-sided interval
        :math:`\hat s \pm t_{(1+c)/2, K-2}\,\widehat{se}` — the observed order *is* the claimed
        one. ``"at-least"``: passes iff `rate` is not below the one-sided lower bound
        :math:`\hat s - t_{c, K-2}\,\widehat{se}`, i.e. unless the data show, at this confidence,
        convergence slower (a shallower slope) than claimed; faster convergence passes.
    slack : float
        Widens the interval by this much on each side (for deterministic sequences, whose
        residuals, and so the interval, can be nearly zero, e.g. :math:`1/T + 1/T^2`).
    instance, seed, err_msg
        As in :func:`assert_q_close`.

    Returns
    -------
    ConvergenceFit

    Raises
    ------
    ConvergenceRateError
        The claimed rate is outside the interval (or an error is NaN / infinite: the algorithm
        diverged); the message gives the fitted slope, the interval, which side failed and the
        point farthest from the fitted line.
    ValueError
        Fewer than 3 points, non-positive errors or iterations, `confidence` outside (0, 1).

    Examples
    --------
    >>> import numpy as np
    >>> from netmarl_verify.testing import assert_converges
    >>> T = np.array([10, 30, 100, 300, 1000, 3000])
    >>> noise = np.exp(0.05 * np.array([1, -1, 0.5, 0.2, -0.7, 0.1]))
    >>> fit = assert_converges(2.0 / np.sqrt(T) * noise, T, rate=-0.5)
    >>> round(fit.slope, 3), fit.dof
    (-0.505, 4)
    >>> assert_converges(2.0 / T ** 0.3 * noise, T, rate=-0.5, mode="at-least")
    Traceback (most recent call last):
    ...
    netmarl_verify.testing.ConvergenceRateError: errors do not converge at the claimed rate -0.5 (at least as steep): ...
    """
    if not (isinstance(confidence, (int, float, np.floating)) and 0.0 < confidence < 1.0):
        raise ValueError(f"`confidence` must be in (0, 1), got {confidence!r}")
    if mode not in CONVERGENCE_MODES:
        raise ValueError(f"`mode` must be one of {CONVERGENCE_MODES}, got {mode!r}")
    rate = float(rate)
    if not math.isfinite(rate):
        raise ValueError(f"`rate` must be finite, got {rate}")
    slack = float(slack)
    if not (math.isfinite(slack) and slack >= 0):
        raise ValueError(f"`slack` must be finite and >= 0, got {slack}")
    e = _float_array(errors, "errors").ravel()
    T = _float_array(iterations, "iterations").ravel()
    if e.shape != T.shape:
        raise ValueError(f"`errors` and `iterations` must have the same length, got {e.size} and {T.size}")
    bad_T = ~np.isfinite(T) | (T <= 0)
    if bad_T.any():
        k = int(np.flatnonzero(bad_T)[0])
        raise ValueError(f"`iterations[{k}]` = {float(T[k])!r} must be positive and finite")
    context = _context(instance, seed)
    if not np.isfinite(e).all():
        k = int(np.flatnonzero(~np.isfinite(e))[0])
        raise ConvergenceRateError(_join(f"errors[{k}] = {float(e[k])!r} at iteration {T[k]:g} is not finite "
                                         "(the algorithm diverged?)", context))
    if (e <= 0).any():
        k = int(np.flatnonzero(e <= 0)[0])
        raise ValueError(f"`errors[{k}]` = {float(e[k])!r} is not positive: a log-log fit needs positive errors "
                         "(drop exact zeros, or compare the answer itself with assert_q_close)")
    K = e.size
    if np.unique(T).size < 3:
        raise ValueError(f"need at least 3 distinct iteration counts for a slope with a confidence interval, "
                         f"got {np.unique(T).size}")
    slope, intercept = fit_loglog_slope(T, e, return_intercept=True)
    x, y = np.log(T), np.log(e)
    resid = y - (intercept + slope * x)
    dof = K - 2
    stderr = float(math.sqrt(np.sum(resid**2) / dof / np.sum((x - x.mean()) ** 2)))
    if mode == "two-sided":
        tq = float(stats.t.ppf(0.5 + confidence / 2, dof))
        ci = (slope - tq * stderr - slack, slope + tq * stderr + slack)
        ok = ci[0] <= rate <= ci[1]
        claim = f"{rate:g}"
        side = "" if ok else ("slower than claimed: the whole interval is shallower" if rate < ci[0]
                              else "faster than claimed: the whole interval is steeper")
        ci_txt = f"{confidence:.0%} CI [{ci[0]:.3f}, {ci[1]:.3f}]"
    else:
        tq = float(stats.t.ppf(confidence, dof))
        ci = (slope - tq * stderr - slack, math.inf)
        ok = rate >= ci[0]
        claim = f"{rate:g} (at least as steep)"
        side = "slower than claimed" if not ok else ""
        ci_txt = f"{confidence:.0%} one-sided lower bound {ci[0]:.3f}"
    fit = ConvergenceFit(float(slope), float(intercept), stderr, ci, float(confidence), dof, K, rate, mode)
    if ok:
        return fit
    j = int(np.argmax(np.abs(resid)))
    msg = _join(f"errors do not converge at the claimed rate {claim}: fitted log-log slope {slope:.3f}, "
                f"{ci_txt} (t-based, {K} points, {dof} dof, slack {slack:g}) excludes {rate:g} ({side})",
                f"point farthest from the fit: iteration {T[j]:g}, error {e[j]:.3g} vs fitted "
                f"{math.exp(intercept + slope * x[j]):.3g}", context)
    if err_msg:
        msg = f"{err_msg}\n{msg}"
    raise ConvergenceRateError(msg, fit)


# -- unbiasedness ----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class UnbiasednessTest:
    """The test of :func:`assert_unbiased`.

    Attributes
    ----------
    mean : ndarray
        Sample mean, shaped like `exact`.
    stderr : ndarray
        Standard error of the mean (exact or estimated).
    statistic : ndarray
        z or t statistic per coordinate.
    pvalue : ndarray
        Two-sided p-value per coordinate (uncorrected).
    threshold : float
        ``alpha / m`` (Bonferroni).
    method : str
        ``"z"`` (exact variance) or ``"t"`` (sample variance).
    n_samples : int
    rejected : bool
    """

    mean: np.ndarray
    stderr: np.ndarray
    statistic: np.ndarray
    pvalue: np.ndarray
    threshold: float
    method: str
    n_samples: int
    rejected: bool


def _unbiased_test(samples, exact, alpha, variance):
    x = _float_array(samples, "samples")
    target = _float_array(exact, "exact")
    if x.ndim < 1 or x.shape[1:] != target.shape:
        raise ValueError(f"`samples` must have shape (N,) + exact.shape = (N,) + {target.shape}, got {x.shape}")
    N = x.shape[0]
    if not np.isfinite(target).all():
        raise ValueError("`exact` has non-finite entries")
    if variance is None:
        if N < 2:
            raise ValueError(f"a t-test needs at least 2 samples, got {N}")
        method = "t"
        var = x.var(axis=0, ddof=1)
        # A coordinate whose samples are all equal has variance 0; computed, it is the rounding of the mean
        # (e.g. 1e-34 for 20,000 copies of 0.1), which would make t = +-sqrt(N - 1) and reject a constant
        # that equals the target.
        var = np.where((x == x[:1]).all(axis=0), 0.0, var)
    else:
        if N < 1:
            raise ValueError("need at least 1 sample")
        method = "z"
        var = _float_array(variance, "variance")
        try:
            var = np.broadcast_to(var, target.shape)
        except ValueError:
            raise ValueError(f"`variance` must have the shape of `exact`, {target.shape}, got {var.shape}") from None
        if not (np.isfinite(var).all() and (var >= 0).all()):
            raise ValueError("`variance` must be finite and >= 0 (the variance of one sample)")
    mean = x.mean(axis=0)
    se = np.sqrt(var / N)
    diff = mean - target
    # A zero standard error: equal up to rounding of the mean (1e-12 relative) or certainly biased.
    rounding = 1e-12 * np.maximum(1.0, np.abs(target))
    with np.errstate(divide="ignore", invalid="ignore"):
        stat = np.where(se > 0, diff / np.where(se > 0, se, 1.0), np.where(np.abs(diff) <= rounding, 0.0, np.inf))
    if method == "z":
        p = 2.0 * stats.norm.sf(np.abs(stat))
    else:
        p = 2.0 * stats.t.sf(np.abs(stat), N - 1)
    m = max(1, target.size)
    threshold = alpha / m  # Bonferroni over the m coordinates
    rejected = bool((p < threshold).any())
    return UnbiasednessTest(np.asarray(mean), np.asarray(se), np.asarray(stat), np.asarray(p), threshold, method,
                            N, rejected), x


def assert_unbiased(samples, exact, *, alpha=0.05, variance=None, instance=None, seed=None, err_msg=""):
    r"""Assert that independent samples have the exact value as their mean (two-sided test).

    Parameters
    ----------
    samples : array_like, shape (N,) + exact.shape
        ``N`` independent draws of an estimator (e.g. one gradient estimate per independent run).
    exact : float or array_like
        The exact expectation.
    alpha : float in (0, 1)
        False-alarm probability: an unbiased estimator fails this assertion with probability at
        most `alpha` (Bonferroni over the ``m`` coordinates; exactly `alpha` for one Gaussian
        coordinate with `variance` given, and asymptotically in ``N`` otherwise). The test suite
        measures it by simulation. Pick it for your suite: with a fixed seed the outcome is
        deterministic, but a new seed fails an unbiased estimator with probability `alpha`.
    variance : float or array_like, optional
        The exact variance of one sample, per coordinate, when the model gives it: a z-test.
        Otherwise a t-test with the sample variance (``ddof=1``).
    instance, seed, err_msg
        As in :func:`assert_q_close`.

    Returns
    -------
    UnbiasednessTest

    Raises
    ------
    BiasError
        The smallest p-value is below ``alpha / m``; the message gives the worst coordinate,
        its mean, exact value, difference, standard error, statistic and p-value.
    ValueError
        Wrong shapes, ``alpha`` outside (0, 1), negative variance, fewer than 2 samples for a
        t-test.

    Notes
    -----
    The power grows with ``N``: a bias :math:`b` on a coordinate with standard deviation
    :math:`\sigma` is detected with probability about :math:`\Phi(b\sqrt N/\sigma - z_{1-\alpha/2m})`.
    A NaN or infinite sample fails the assertion (the estimator produced it).

    Examples
    --------
    >>> import numpy as np
    >>> from netmarl_verify.testing import assert_unbiased
    >>> rng = np.random.default_rng(0)
    >>> flips = rng.random((400, 3)) < 0.3          # Bernoulli(0.3): variance 0.21
    >>> res = assert_unbiased(flips, np.full(3, 0.3), variance=0.21)
    >>> res.method, res.rejected
    ('z', False)
    >>> assert_unbiased(flips + 0.1, np.full(3, 0.3), variance=0.21)
    Traceback (most recent call last):
    ...
    netmarl_verify.testing.BiasError: sample mean differs from the exact value (z-test with the exact variance, ...
    """
    if isinstance(alpha, bool) or not isinstance(alpha, (int, float, np.floating)) or not 0.0 < alpha < 1.0:
        raise ValueError(f"`alpha` must be in (0, 1), got {alpha!r}")
    raw = _float_array(samples, "samples")
    if raw.ndim >= 1 and not np.isfinite(raw).all():
        idx = tuple(int(i) for i in np.argwhere(~np.isfinite(raw))[0])
        raise BiasError(_join(f"samples{list(idx)} = {float(raw[idx])!r} is not finite", _context(instance, seed)))
    test, x = _unbiased_test(raw, exact, float(alpha), variance)
    if not test.rejected:
        return test
    p = test.pvalue.reshape(-1)
    k = int(np.argmin(p))
    shape = test.mean.shape
    where = "" if not shape else f" {tuple(int(i) for i in np.unravel_index(k, shape))}"
    m = max(1, int(np.prod(shape)))
    mean = test.mean.reshape(-1)[k]
    target = np.asarray(exact, dtype=float).reshape(-1)[k]
    method = ("z-test with the exact variance" if test.method == "z"
              else f"t-test with the sample variance, {test.n_samples - 1} dof")
    n_rej = int((p < test.threshold).sum())
    msg = _join(f"sample mean differs from the exact value ({method}, two-sided, Bonferroni over {m} "
                f"coordinate{'s' if m > 1 else ''}): worst coordinate{where}: mean {mean:.6g} vs exact {target:.6g} "
                f"(diff {mean - target:.3g}, standard error {test.stderr.reshape(-1)[k]:.3g}, "
                f"{test.method} = {test.statistic.reshape(-1)[k]:.3g}), p = {p[k]:.3g} < alpha/m = {test.threshold:.3g} "
                f"(alpha {alpha:g})", f"rejected {n_rej} / {m} coordinates", f"{test.n_samples} samples",
                _context(instance, seed))
    if err_msg:
        msg = f"{err_msg}\n{msg}"
    raise BiasError(msg, test)
