"""netmarl_verify.testing: assertions, reference instances, the README guides, the example claim.

Every assertion passes on exact input and fails, with a message that says where and by how
much, on a perturbed one. The reference instances' answers are recomputed here a second way:
closed forms (two-state chain, copy chain), a brute-force dense solve on the global table
(every instance) and central finite differences of the brute-force objective (the gradient).
Statistical checks use fixed seeds; each states its false-alarm probability.
"""

import os
import re
import subprocess
import sys
import json
import zlib
from pathlib import Path

import numpy as np
import pytest
import sympy
from scipy import stats

from netmarl_verify import testing as nt
from netmarl_verify.envs import LocalSoftmaxPolicy, NetworkedMDP, TabularMDP, qu2020_line
from netmarl_verify.testing import (
    BiasError,
    ConvergenceRateError,
    MismatchError,
    assert_converges,
    assert_gradient_close,
    assert_q_close,
    assert_stationary_close,
    assert_unbiased,
    list_reference_instances,
    reference_instance,
)
from netmarl_verify.verify import Claim, Registry, example_claim, load_extra_claims, run

REPO = Path(__file__).resolve().parents[1]
NAMES = ("qu2020-line", "two-state-closed-form", "copy-chain")


# -- brute force: global tables and dense numpy, independent of solvers.exact ---------------------------


def _tables(ref):
    """Global P[s, a, s'], R[s, a], pi[s, a] and the global indices of ref's pairs."""
    mdp = ref.mdp
    if isinstance(mdp, TabularMDP):
        return mdp.P, mdp.R, ref.policy.table(), np.asarray(ref.states), np.asarray(ref.actions)
    tab = mdp.to_tabular()
    s = np.ravel_multi_index(np.asarray(ref.states).T, mdp.state_sizes)
    a = np.ravel_multi_index(np.asarray(ref.actions).T, mdp.action_sizes)
    return tab.P, tab.R, ref.policy.joint_table(mdp), s, a


def _brute_force(P, R, pi, gamma=None):
    """(d, J, v, Q) by dense linear algebra: least squares for d, the fundamental matrix for h."""
    nS = R.shape[0]
    P_pi = np.einsum("sa,sat->st", pi, P)
    r_pi = (pi * R).sum(axis=1)
    A = np.vstack([P_pi.T - np.eye(nS), np.ones((1, nS))])
    d = np.linalg.lstsq(A, np.r_[np.zeros(nS), 1.0], rcond=None)[0]
    J = float(d @ r_pi)
    if gamma is None:
        Z = np.linalg.inv(np.eye(nS) - P_pi + np.outer(np.ones(nS), d))  # fundamental matrix
        v = Z @ (r_pi - J)                                               # d^T v = 0
        Q = R - J + P @ v
    else:
        v = np.linalg.solve(np.eye(nS) - gamma * P_pi, r_pi)
        Q = R + gamma * P @ v
    return d, J, v, Q


def _brute_objective(ref, policy):
    P, R, _, _, _ = _tables(ref)
    pi = policy.table() if isinstance(ref.mdp, TabularMDP) else policy.joint_table(ref.mdp)
    d, J, v, _ = _brute_force(P, R, pi, ref.gamma)
    return J if ref.gamma is None else float(v.mean())  # V(mu_0), mu_0 uniform


def _fd_gradient(ref, eps=1e-5):
    theta = ref.policy.flat()
    out = np.empty_like(theta)
    for k in range(theta.size):
        e = np.zeros_like(theta)
        e[k] = eps
        out[k] = (_brute_objective(ref, ref.policy.with_flat(theta + e))
                  - _brute_objective(ref, ref.policy.with_flat(theta - e))) / (2 * eps)
    return out


CASES = [(name, gamma) for name in NAMES for gamma in (None, 0.8)]


@pytest.mark.parametrize("name,gamma", CASES)
def test_reference_answers_match_a_brute_force_dense_solve(name, gamma):
    ref = reference_instance(name, gamma=gamma, n=3) if name != "two-state-closed-form" else \
        reference_instance(name, gamma=gamma)
    P, R, pi, s, a = _tables(ref)
    d, J, v, Q = _brute_force(P, R, pi, gamma)
    # direct linear algebra on both sides: agreement to rounding (1e-10 absolute on O(1) values)
    np.testing.assert_allclose(ref.d, d, atol=1e-12)
    assert ref.J == pytest.approx(J, abs=1e-12)
    np.testing.assert_allclose(ref.v, v, atol=1e-10)
    np.testing.assert_allclose(ref.q, Q[s, a], atol=1e-10)
    np.testing.assert_allclose(ref.q_local.mean(axis=1), ref.q, atol=1e-13)
    assert ref.objective == pytest.approx(_brute_objective(ref, ref.policy), abs=1e-12)
    # central differences, eps 1e-5: truncation O(eps^2) ~ 1e-10, rounding O(1e-16 / eps) ~ 1e-11
    g = np.concatenate([x.ravel() for x in ref.gradient])
    np.testing.assert_allclose(g, _fd_gradient(ref), atol=1e-8)


@pytest.mark.parametrize("seed", [0, 1, 7])
def test_two_state_answers_match_the_closed_form(seed):
    ref = reference_instance("two-state-closed-form", seed=seed)
    P, R, theta = ref.mdp.P, ref.mdp.R, np.asarray(ref.policy.logits[0])
    c = np.array([P[0, :, 1], P[1, :, 0]])  # switching probabilities c[s, a]
    # closed form of the module docstring, with sympy so that the gradient is differentiated symbolically
    th = sympy.Matrix(2, 2, sympy.symbols("t00 t01 t10 t11"))
    pi = [[sympy.exp(th[s, b]) / (sympy.exp(th[s, 0]) + sympy.exp(th[s, 1])) for b in range(2)] for s in range(2)]
    p = sum(pi[0][b] * c[0, b] for b in range(2))
    q = sum(pi[1][b] * c[1, b] for b in range(2))
    rbar = [sum(pi[s][b] * R[s, b] for b in range(2)) for s in range(2)]
    J = (q * rbar[0] + p * rbar[1]) / (p + q)
    at = dict(zip(th, theta.ravel()))
    pv, qv = float(p.subs(at)), float(q.subs(at))
    d = np.array([qv, pv]) / (pv + qv)
    Delta = float((rbar[0] - rbar[1]).subs(at)) / (pv + qv)
    h = Delta * np.array([d[1], -d[0]])
    Jv = float(J.subs(at))
    Q = np.array([[R[s, b] - Jv + h[s] + c[s, b] * (h[1 - s] - h[s]) for b in range(2)] for s in range(2)])
    grad = np.array([[float(sympy.diff(J, th[s, b]).subs(at)) for b in range(2)] for s in range(2)])
    np.testing.assert_allclose(ref.d, d, rtol=1e-12)
    assert ref.J == pytest.approx(Jv, rel=1e-12)
    np.testing.assert_allclose(ref.v, h, atol=1e-12)
    np.testing.assert_allclose(ref.q, Q.ravel(), atol=1e-12)
    np.testing.assert_allclose(ref.gradient[0], grad, atol=1e-12)


@pytest.mark.parametrize("signed", [False, True])
@pytest.mark.parametrize("gamma", [None, 0.7])
def test_copy_chain_answers_match_the_closed_form(signed, gamma):
    n, rho, rbar = 4, 0.6, 2.0
    ref = reference_instance("copy-chain", n=n, rho=rho, rbar=rbar, signed=signed, gamma=gamma, seed=3)
    s = np.asarray(ref.states).astype(float)
    scale = 2 * rbar if signed else rbar          # r_0 = scale * (s_0 - 1/2) + (0 or rbar / 2)
    g = 1.0 if gamma is None else gamma
    w = np.array([(g * rho) ** t for t in range(n - 1)] + [(g * rho) ** (n - 1) / (1 - g * rho)])
    J0 = 0.0 if signed else rbar / 2
    Q0 = scale * (s - 0.5) @ w + (0.0 if gamma is None else J0 / (1 - gamma))
    assert ref.J == pytest.approx(J0 / n, abs=1e-13)
    np.testing.assert_allclose(ref.q, Q0 / n, atol=1e-12)
    for grad in ref.gradient:                       # actions have no effect
        np.testing.assert_allclose(grad, 0.0, atol=1e-13)
    marginal0 = ref.d.reshape((2,) * n).sum(axis=tuple(range(1, n)))
    np.testing.assert_allclose(marginal0, [0.5, 0.5], atol=1e-13)


def test_reference_instances_are_reproducible_from_name_params_seed():
    for name in NAMES:
        a = reference_instance(name, seed=5)
        b = reference_instance(name, seed=np.random.default_rng(5))  # not cached: built again
        assert a is not b and b.seed is None
        for field in ("states", "actions", "d", "v", "q", "q_local", "J_local"):
            np.testing.assert_array_equal(getattr(a, field), getattr(b, field))
        for x, y in zip(a.gradient, b.gradient):
            np.testing.assert_array_equal(x, y)
        assert a.J == b.J
    c, d = reference_instance("qu2020-line", seed=5), reference_instance("qu2020-line", seed=6)
    assert not np.array_equal(c.q, d.q)
    fresh = reference_instance("two-state-closed-form", seed=None)      # entropy recorded
    again = reference_instance("two-state-closed-form", seed=fresh.seed)
    np.testing.assert_array_equal(fresh.q, again.q)


def test_qu2020_line_is_exactly_the_envs_preset():
    ref = reference_instance("qu2020-line", n=4, seed=2)
    mdp, policy = qu2020_line(4, rng=2)
    for x, y in zip(ref.policy.logits, policy.logits):
        np.testing.assert_array_equal(x, y)
    for x, y in zip(ref.mdp.transitions, mdp.transitions):
        np.testing.assert_array_equal(x, y)
    assert ref.states.shape == (16 * 81, 4) and ref.label() == "'qu2020-line' n=4 seed 2"


def test_large_instances_give_sampled_pairs():
    ref = reference_instance("qu2020-line", n=6, seed=0)   # 64 x 729 pairs > MAX_ALL_PAIRS
    assert ref.states.shape == (512, 6) and ref.q.shape == (512,)


def test_reference_instances_are_read_only_and_validated():
    ref = reference_instance("copy-chain")
    with pytest.raises(ValueError):
        ref.q[0] = 1.0
    with pytest.raises(Exception):
        ref.J = 0.0
    assert set(list_reference_instances()) == set(NAMES)
    with pytest.raises(ValueError, match="known: qu2020-line"):
        reference_instance("nope")
    with pytest.raises(ValueError, match="no parameter"):
        reference_instance("copy-chain", kappa=1)
    with pytest.raises(ValueError, match="gamma"):
        reference_instance("copy-chain", gamma=1.0)
    with pytest.raises(ValueError, match="rho"):
        reference_instance("copy-chain", rho=1.0)
    with pytest.raises(TypeError, match="seed"):
        reference_instance("copy-chain", seed=1.5)


# -- closeness assertions --------------------------------------------------------------------------------


def test_assert_q_close_passes_on_exact_and_names_the_worst_pair():
    ref = reference_instance("qu2020-line")
    assert_q_close(ref.q, ref)
    assert_q_close(np.array(ref.q), ref.mdp, ref.policy, ref.states, ref.actions, rtol=1e-10, atol=1e-12)
    wrong = ref.q.copy()
    wrong[17] += 0.031
    wrong[40] += 0.002
    with pytest.raises(MismatchError) as info:
        assert_q_close(wrong, ref, rtol=1e-3, atol=1e-6)
    msg = str(info.value)
    assert msg.startswith("Q estimate differs from exact Q (global reward, average reward): worst |diff| 3.10e-02 "
                          "at pair 17 (state (0, 0, 0, 0), action (0, 1, 2, 2)); rtol 1e-03, atol 1e-06; "
                          "mismatched 2 / 1296 entries; instance 'qu2020-line' n=4 seed 0")
    assert f"exact:    {float(ref.q[17])!r}" in msg
    err = info.value
    assert isinstance(err, AssertionError)
    assert (err.index, err.n_mismatched, err.n_total) == (17, 2, 1296)
    assert err.max_abs_diff == pytest.approx(0.031)


def test_assert_q_close_per_agent_discounted_and_user_context():
    ref = reference_instance("qu2020-line", n=3, gamma=0.9, seed=1)
    q2 = ref.q_local[:, 2].copy()
    assert_q_close(q2, ref, agent=2, rtol=1e-10)
    q2[5] = np.nan
    with pytest.raises(MismatchError, match=r"\(agent 2, discounted, gamma=0.9\): entry nan \(non-finite, 1 such "
                                            r"entries\) at pair 5 .*; algorithm seed 11"):
        assert_q_close(q2, ref, agent=2, seed=11)
    with pytest.raises(ValueError, match="gamma=0.9, not 0.5"):
        assert_q_close(ref.q, ref, gamma=0.5)


def test_assert_q_close_on_a_users_own_tabular_model():
    P = np.array([[[0.9, 0.1]], [[0.2, 0.8]]])
    mdp, pi = TabularMDP(P, np.array([[1.0], [0.0]])), np.ones((2, 1))
    # closed form: d = (2/3, 1/3), J = 2/3, h = Delta (d_1, -d_0) = (10/9, -20/9), Delta = (1 - 0) / (p + q)
    exact = np.array([1 - 2 / 3 + 0.9 * 10 / 9 + 0.1 * -20 / 9, 0 - 2 / 3 + 0.2 * 10 / 9 + 0.8 * -20 / 9])
    assert_q_close(exact, mdp, pi, [0, 1], [0, 0], rtol=1e-12)
    with pytest.raises(AssertionError, match=r"at pair 1 \(state 1, action 0\).*instance my-chain; seed 3"):
        assert_q_close(exact + [0, 1e-3], mdp, pi, [0, 1], [0, 0], rtol=1e-6, instance="my-chain", seed=3)
    with pytest.raises(ValueError, match="shape"):
        assert_q_close(exact[:1], mdp, pi, [0, 1], [0, 0])
    with pytest.raises(ValueError, match="rtol"):
        assert_q_close(exact, mdp, pi, [0, 1], [0, 0], rtol=-1)
    with pytest.raises(TypeError, match="states"):
        assert_q_close(exact, mdp, pi)


def test_assert_gradient_close_list_flat_and_message():
    ref = reference_instance("qu2020-line")
    assert_gradient_close(ref.gradient, ref)
    assert_gradient_close(np.concatenate([g.ravel() for g in ref.gradient]), ref.mdp, ref.policy)
    wrong = [g.copy() for g in ref.gradient]
    wrong[1][0, 2] += 0.01
    with pytest.raises(MismatchError, match=r"^policy gradient estimate differs from exact gradient \(average "
                                            r"reward\): worst \|diff\| 1.00e-02 at agent 1, logit \[s_1=0, a_1=2\] "
                                            r"\(flat index 8\); rtol 1e-03, atol 1e-06; mismatched 1 / 24 entries"):
        assert_gradient_close(wrong, ref, rtol=1e-3, atol=1e-6)
    with pytest.raises(ValueError, match="one array per agent"):
        assert_gradient_close(wrong[:2], ref)
    with pytest.raises(ValueError, match=r"shape of policy.logits\[1\]"):
        assert_gradient_close([wrong[0], wrong[1].T, wrong[2], wrong[3]], ref)
    with pytest.raises(ValueError, match="flat vector"):
        assert_gradient_close(np.zeros(23), ref)
    two = reference_instance("two-state-closed-form", gamma=0.5)
    with pytest.raises(MismatchError, match=r"discounted, gamma=0.5\): .* at logit \[s=1, a=0\] \(flat index 2\)"):
        g = np.array(two.gradient[0])
        g[1, 0] += 1.0
        assert_gradient_close([g], two)


def test_assert_stationary_close_names_the_state():
    ref = reference_instance("copy-chain")
    assert_stationary_close(ref.d, ref, rtol=1e-12)
    wrong = ref.d.copy()
    wrong[5] += 1e-3
    with pytest.raises(MismatchError, match=r"worst \|diff\| 1.00e-03 at state 5 \(0, 1, 0, 1\)"):
        assert_stationary_close(wrong, ref, atol=1e-6)


# -- convergence rates ---------------------------------------------------------------------------------------


T = np.array([10, 30, 100, 300, 1000, 3000, 10000])


def test_assert_converges_passes_on_the_claimed_rate():
    noise = np.exp(0.05 * np.random.default_rng(0).standard_normal(T.size))
    fit = assert_converges(3.0 * T ** -0.5 * noise, T, rate=-0.5)
    assert fit.ci[0] < fit.slope < fit.ci[1] and fit.dof == T.size - 2
    assert_converges(1 / T + 1 / T**2, T, rate=-1.0, slack=0.02)  # deterministic: slack, not noise
    assert_converges(T ** -1.0 * noise, T, rate=-0.5, mode="at-least")  # faster than claimed passes


def test_assert_converges_fails_with_the_side_and_the_interval():
    noise = np.exp(0.05 * np.random.default_rng(0).standard_normal(T.size))
    with pytest.raises(ConvergenceRateError, match=r"claimed rate -0.5: fitted log-log slope -0.[23].., 95% CI "
                                                   r"\[-0.[23].., -0.[23]..\] \(t-based, 7 points, 5 dof, slack 0\) "
                                                   r"excludes -0.5 \(slower than claimed"):
        assert_converges(T ** -0.3 * noise, T, rate=-0.5)
    with pytest.raises(ConvergenceRateError, match="faster than claimed") as info:
        assert_converges(T ** -1.0 * noise, T, rate=-0.5)
    assert info.value.fit.slope == pytest.approx(-1.0, abs=0.05)
    with pytest.raises(ConvergenceRateError, match=r"at least as steep\).*one-sided lower bound"):
        assert_converges(T ** -0.3 * noise, T, rate=-0.5, mode="at-least")
    with pytest.raises(ConvergenceRateError, match=r"errors\[2\] = nan at iteration 100"):
        assert_converges(np.r_[1.0, 0.5, np.nan, 0.1, 0.05, 0.01, 0.001], T)
    with pytest.raises(ValueError, match="not positive"):
        assert_converges(np.r_[1.0, 0.0, 0.5, 0.1, 0.05, 0.01, 0.001], T)
    with pytest.raises(ValueError, match="3 distinct"):
        assert_converges([1.0, 0.5], [1, 2])
    with pytest.raises(ValueError, match="confidence"):
        assert_converges(1 / T, T, confidence=1.0)


def test_assert_converges_interval_has_its_nominal_coverage():
    # Gaussian log-errors around a true slope of -0.5: the t-interval is exact, so an unbiased
    # series fails with probability 1 - confidence = 0.05. 1000 replications: the failure count
    # is Binomial(1000, 0.05); the 99.9% interval [31, 71] is exceeded with probability 1e-3.
    rng = np.random.default_rng(2024)
    fails = 0
    for _ in range(1000):
        try:
            assert_converges(2.0 * T ** -0.5 * np.exp(0.1 * rng.standard_normal(T.size)), T, rate=-0.5)
        except ConvergenceRateError:
            fails += 1
    lo, hi = stats.binom.ppf([0.0005, 0.9995], 1000, 0.05)
    assert lo <= fails <= hi, (fails, lo, hi)


# -- unbiasedness ------------------------------------------------------------------------------------------


def _rejections(draw, exact, alpha, reps, **kwargs):
    count = 0
    for k in range(reps):
        try:
            assert_unbiased(draw(k), exact, alpha=alpha, **kwargs)
        except BiasError:
            count += 1
    return count


@pytest.mark.parametrize("kind", ["z gaussian", "t gaussian 4 coordinates", "z bernoulli"])
def test_assert_unbiased_false_alarm_rate_is_alpha(kind):
    # 2000 repetitions at alpha = 0.05 from a distribution with the exact mean. Under the null
    # the rejection count is Binomial(2000, rate); we require it inside the 99.9% binomial interval
    # around alpha (false alarm of this test: 1e-3). For 4 coordinates Bonferroni gives a rate of
    # 1 - (1 - alpha/4)^4 = 0.0491 (independent coordinates), whose interval is essentially the same;
    # for Bernoulli(0.3), N = 200, the CLT makes the z-test's rate close to alpha.
    reps, alpha = 2000, 0.05
    rng = np.random.default_rng(zlib.crc32(kind.encode()))
    if kind == "z gaussian":
        x = rng.normal(1.5, 2.0, size=(reps, 20))
        rate = alpha
        count = _rejections(lambda k: x[k], 1.5, alpha, reps, variance=4.0)
    elif kind == "t gaussian 4 coordinates":
        x = rng.normal(0.0, 1.0, size=(reps, 10, 4))
        rate = 1 - (1 - alpha / 4) ** 4
        count = _rejections(lambda k: x[k], np.zeros(4), alpha, reps)
    else:
        x = (rng.random((reps, 200)) < 0.3).astype(float)
        rate = alpha
        count = _rejections(lambda k: x[k], 0.3, alpha, reps, variance=0.21)
    lo, hi = stats.binom.ppf([0.0005, 0.9995], reps, rate)
    assert lo <= count <= hi, (kind, count / reps, lo / reps, hi / reps)


def test_assert_unbiased_has_power_and_says_where():
    rng = np.random.default_rng(3)
    exact = np.zeros((2, 2))
    x = rng.normal(0.0, 1.0, size=(400, 2, 2))
    assert_unbiased(x, exact)                          # p > 0.0125 at this seed
    x[:, 1, 0] += 0.5                                  # bias of 0.5 sd: z ~ 10, power ~ 1
    with pytest.raises(BiasError, match=r"t-test with the sample variance, 399 dof, two-sided, Bonferroni over 4 "
                                        r"coordinates\): worst coordinate \(1, 0\): mean 0\.5.* < alpha/m = 0\.0125 "
                                        r"\(alpha 0\.05\); rejected 1 / 4 coordinates; 400 samples; seed 9") as info:
        assert_unbiased(x, exact, seed=9)
    assert info.value.test.pvalue[1, 0] < 1e-10
    # exact variance: z-test
    with pytest.raises(BiasError, match=r"z-test with the exact variance.*z = "):
        assert_unbiased(x, exact, variance=np.ones((2, 2)))
    # zero variance: equal is fine, any offset is a bias
    assert_unbiased(np.full(5, 0.25), 0.25, variance=0.0)
    with pytest.raises(BiasError):
        assert_unbiased(np.full(5, 0.26), 0.25, variance=0.0)


def test_assert_unbiased_power_matches_the_normal_theory():
    # z-test, bias 0.2 sd, N = 100: power = P(|Z + 2| > 1.96) = 0.516. 500 repetitions: the count is
    # Binomial(500, 0.516) and the 99.9% interval [221, 295] fails with probability 1e-3.
    rng = np.random.default_rng(5)
    power = stats.norm.sf(stats.norm.ppf(0.975) - 2.0) + stats.norm.cdf(-stats.norm.ppf(0.975) - 2.0)
    x = rng.normal(0.2, 1.0, size=(500, 100))
    count = _rejections(lambda k: x[k], 0.0, 0.05, 500, variance=1.0)
    lo, hi = stats.binom.ppf([0.0005, 0.9995], 500, power)
    assert lo <= count <= hi, (count / 500, power)


def test_assert_unbiased_validates_its_input():
    x = np.zeros((10, 3))
    for alpha in (0.0, 1.0, 1.5, -0.1):
        with pytest.raises(ValueError, match="alpha"):
            assert_unbiased(x, np.zeros(3), alpha=alpha)
    with pytest.raises(ValueError, match="shape"):
        assert_unbiased(x, np.zeros(2))
    with pytest.raises(ValueError, match="variance"):
        assert_unbiased(x, np.zeros(3), variance=-1.0)
    with pytest.raises(ValueError, match="2 samples"):
        assert_unbiased(np.zeros((1, 3)), np.zeros(3))
    x[4, 1] = np.inf
    with pytest.raises(BiasError, match=r"samples\[4, 1\] = inf is not finite"):
        assert_unbiased(x, np.zeros(3))


def test_public_module_is_a_facade_with_all():
    assert set(nt.__all__) <= set(dir(nt))
    assert nt.__doc__ and "numpy.testing" in nt.__doc__
    assert MismatchError.__module__ == "netmarl_verify.testing"
    assert issubclass(BiasError, AssertionError) and issubclass(ConvergenceRateError, AssertionError)


# -- the README guides -------------------------------------------------------------------------------------


def _readme_blocks(section):
    text = (REPO / "README.md").read_text()
    body = text.split(f"## {section}\n", 1)[1].split("\n## ", 1)[0]
    return re.findall(r"```python\n(.*?)```", body, re.S)


def test_readme_regression_test_examples_pass_and_catch_the_wrong_variants():
    blocks = _readme_blocks("Regression-test your algorithm")
    assert len(blocks) == 2
    td0 = {"__name__": "__main__"}
    exec(compile(blocks[0], "README:td0", "exec"), td0)  # runs both tests of the block
    # and directly: the correct TD(0) passes, the off-by-one variant fails with a located message
    nt.assert_q_close(td0["user_estimate"](), td0["REF"], atol=0.05)
    with pytest.raises(MismatchError, match=r"at pair \d \(state \d, action \d\).*'two-state-closed-form' "
                                            r"gamma=0.5 seed 1"):
        nt.assert_q_close(td0["user_estimate"](off_by_one=True), td0["REF"], atol=0.05)
    pg = {"__name__": "__main__"}
    exec(compile(blocks[1], "README:pg", "exec"), pg)
    with pytest.raises(BiasError):
        assert_unbiased(pg["score_function_samples"](4000, np.random.default_rng(0), centred=False), pg["EXACT"],
                        alpha=0.01)


def test_readme_write_your_own_claim_example_runs():
    block = _readme_blocks("Write your own claim")[0]  # the claim; the second block is a figure spec
    ns = {"__name__": "__main__"}
    exec(compile(block, "README:claim", "exec"), ns)
    assert list(ns["rows"]["verdict"]) == ["holds", "holds", "violated"]


# -- the example claim module and the paper-file relaxation ---------------------------------------------------


def test_example_claim_loads_through_the_extra_claims_spec_and_holds():
    registry = Registry()
    load_extra_claims("netmarl_verify.verify.example_claim", registry)  # a bare module: its register() is called
    assert [c.id for c in registry] == ["example.bias_span"]
    rows = run("example", quick=False, registry=registry, progress=False)
    ok = rows[rows["assumptions_hold"]]
    assert set(ok["verdict"]) == {"holds"}
    tight = ok[ok["instance"].str.contains(r"p\+q=0\.[259]")]
    np.testing.assert_allclose(tight["ratio"], 1.0, rtol=1e-12)   # equality for p + q <= 1
    assert set(rows.loc[~rows["assumptions_hold"], "instance"]) == {"periodic swap"}


def test_example_claim_reports_violated_on_a_wrong_constant():
    rows = run("example", quick=True, registry=Registry([example_claim.make_claim(constant=0.9)]), progress=False)
    bad = rows[rows["verdict"] == "violated"]
    assert len(bad) >= 1 and (bad["ratio"] > 1.1).all()
    assert json.loads(bad["counterexample"].iloc[0])["instance"].startswith("two-state")


def test_example_claim_through_the_command_line():
    env = dict(os.environ, NETMARL_VERIFY_EXTRA_CLAIMS="netmarl_verify.verify.example_claim")
    proc = subprocess.run([sys.executable, "-m", "netmarl_verify", "run", "example", "--quick", "--json",
                           "--no-progress"], env=env, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    rows = [json.loads(line) for line in proc.stdout.splitlines()]
    assert {r["claim"] for r in rows} == {"example.bias_span"}
    assert {r["verdict"] for r in rows} == {"holds", "not applicable"}


def test_a_bare_module_importing_verify_register_is_not_called_with_the_registry():
    # qu2020 imports netmarl_verify.verify.register: it must not be mistaken for register(registry)
    load_extra_claims("netmarl_verify.verify.claims.qu2020", Registry())


def test_claims_need_no_paper_file_and_cite_registered_papers():
    claim = Claim(id="mine.c", source="-", statement="-", measure=lambda i, r, q: {"measured": 0.0, "bound": 1.0},
                  instances=lambda quick, seed: [{"name": "a"}])
    assert claim.paper_file == "" and claim.reference is None
    assert claim.citation == "mine (no bibliographic reference registered)"
    assert set(run("mine", registry=Registry([claim]), progress=False)["verdict"]) == {"holds"}
    from netmarl_verify.verify import get_claim
    real = get_claim("qu2020.thm1")
    assert real.reference.arxiv == "2006.06626" and "Qu" in real.citation


def test_assert_unbiased_constant_coordinates_are_exact():
    """All-equal samples: variance 0, not the rounding of the mean (which once gave t = -141 for 0.1)."""
    samples = np.full((20000, 2), 0.1)
    samples[:, 1] = np.random.default_rng(0).normal(size=20000)
    assert_unbiased(samples, [0.1, 0.0], alpha=0.01)  # no BiasError
    with pytest.raises(BiasError):
        assert_unbiased(samples, [0.1 + 1e-9, 0.0], alpha=0.01)  # a constant off its target is biased
