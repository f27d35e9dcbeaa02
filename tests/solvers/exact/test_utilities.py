"""ying2023 local utilities (solvers/exact/_utilities.py): gradients, M_f and L_lambda on Lambda, eq. (4)-(5).

Occupancies of the polytope Lambda are built here directly with numpy, independently of the
package's solvers: lambda(s, a) = x(s) pi(a|s) with (I - gamma P_pi^T) x = xi (ying2023 eq. (2)).
"""

import math

import numpy as np
import pytest
from numpy.testing import assert_allclose

from netmarl_verify.envs import NonFiniteError, ShapeError
from netmarl_verify.solvers.exact._utilities import (
    ApprenticeshipUtility,
    KLUtility,
    LinearUtility,
    LogFairnessUtility,
    StateActionEntropyUtility,
    StateEntropyUtility,
    UtilityDomainError,
    global_shadow_reward,
    local_occupancies,
    shadow_rewards,
    state_action_entropy,
    utility_value,
)

EPS = np.finfo(float).eps


# ----------------------------------------------------------------------------- helpers
def occupancy(P, pi, gamma, xi):
    """lambda(s, a) = x(s) pi(a|s), (I - gamma P_pi^T) x = xi, by a dense numpy solve."""
    P_pi = np.einsum("sa,sat->st", pi, P)
    x = np.linalg.solve(np.eye(len(xi)) - gamma * P_pi.T, xi)
    return x[:, None] * pi


def random_kernel(rng, nS, nA):
    return rng.dirichlet(np.ones(nS), size=(nS, nA))


def random_policies(rng, nS, nA, count):
    """Policies from nearly deterministic (Dirichlet 0.05) to spread out (Dirichlet 5), plus deterministic ones."""
    out = []
    for k in range(count):
        if k % 4 == 3:
            pi = np.zeros((nS, nA))
            pi[np.arange(nS), rng.integers(nA, size=nS)] = 1.0
        else:
            pi = rng.dirichlet(np.full(nA, [0.05, 0.5, 5.0][k % 4]), size=nS)
        out.append(pi)
    return out


def sampled_occupancies(rng, gamma, xi, nA, n_mdps=6, n_policies=40):
    """Occupancies of random policies on random MDPs with initial law xi: points of Lambda."""
    nS = len(xi)
    lams = []
    for _ in range(n_mdps):
        P = random_kernel(rng, nS, nA)
        lams.extend(occupancy(P, pi, gamma, xi) for pi in random_policies(rng, nS, nA, n_policies))
    return lams


def deterministic_occupancy(next_state, action, gamma, xi, nA):
    """Occupancy of the deterministic MDP s -> next_state[s] (every action) under pi(s) = action[s]."""
    nS = len(xi)
    P = np.zeros((nS, nA, nS))
    P[np.arange(nS), :, np.asarray(next_state)] = 1.0
    pi = np.zeros((nS, nA))
    pi[np.arange(nS), np.asarray(action)] = 1.0
    return occupancy(P, pi, gamma, xi)


def grad_sup(util, lams):
    return max(float(np.abs(util.gradient(x)).max()) for x in lams)


def lipschitz_sup(util, lams):
    """max over consecutive pairs of ||grad(x) - grad(y)||_inf / ||x - y||_2."""
    best = 0.0
    for x, y in zip(lams[:-1], lams[1:]):
        den = float(np.linalg.norm(x - y))
        if den > 1e-9:
            best = max(best, float(np.abs(util.gradient(x) - util.gradient(y)).max()) / den)
    return best


def near_pairs(rng, gamma, xi, nA, count=60, step=1e-4):
    """Pairs (lambda, lambda') of two nearby policies on one MDP, flattened as [x0, y0, x1, y1, ...]."""
    nS = len(xi)
    P = random_kernel(rng, nS, nA)
    out = []
    for pi in random_policies(rng, nS, nA, count):
        pi = 0.9 * pi + 0.1 / nA  # interior, so a small move stays a policy
        other = pi + step * rng.normal(size=pi.shape)
        other = np.maximum(other, 1e-12)
        other /= other.sum(axis=1, keepdims=True)
        out.extend([occupancy(P, pi, gamma, xi), occupancy(P, other, gamma, xi)])
    return out


def pair_ratios(util, pairs):
    best = 0.0
    for x, y in zip(pairs[0::2], pairs[1::2]):
        best = max(best, float(np.abs(util.gradient(x) - util.gradient(y)).max()) / float(np.linalg.norm(x - y)))
    return best


def central_difference(util, lam, h):
    g = np.empty_like(lam)
    for idx in np.ndindex(*lam.shape):
        e = np.zeros_like(lam)
        e[idx] = h
        g[idx] = (util.value(lam + e) - util.value(lam - e)) / (2 * h)
    return g


# ----------------------------------------------------------------------------- gradients
GAMMA = 0.7


def _all_utilities(rng, nS, nA):
    return [
        LinearUtility(rng.normal(size=(nS, nA))),
        StateEntropyUtility(GAMMA),
        StateActionEntropyUtility(),
        ApprenticeshipUtility(rng.uniform(0, 1, size=(nS, nA))),
        KLUtility(rng.dirichlet(np.ones(nS)), GAMMA),
        LogFairnessUtility(rng.uniform(0.0, 1.0, size=(nS, nA)), 0.5),
    ]


@pytest.mark.parametrize("k", range(6))
def test_gradient_matches_central_differences(k):
    # Central differences with h = 1e-6 at entries lambda in [0.05, 1.5] (gamma = 0.7, 3 x 2 tables).
    # Truncation error h^2 |f^(3)| / 6, with |f^(3)| <= 1/lambda^2 = 400 (state-action entropy),
    # (1-gamma)^3 / d^2 <= 0.027 / 0.03^2 = 30 (state entropy, KL: d >= (1-gamma) * 2 * 0.05),
    # 2 ||r||^3 / x^3 <= 16 (log-fairness, x = <r, lambda> + c >= c = 0.5), 0 (linear, quadratic):
    # at most 1e-12 * 400 / 6 = 7e-11. Rounding of the difference quotient ~ eps |f| / h with
    # |f| <= 10: 2.2e-9. Tolerance 2e-8, ten times their sum.
    rng = np.random.default_rng(100 + k)
    nS, nA = 3, 2
    lam = rng.uniform(0.05, 1.5, size=(nS, nA))
    util = _all_utilities(rng, nS, nA)[k]
    assert_allclose(util.gradient(lam), central_difference(util, lam, 1e-6), rtol=0, atol=2e-8)


def test_state_utilities_have_gradients_constant_in_the_action():
    rng = np.random.default_rng(1)
    lam = rng.uniform(0.1, 1.0, size=(4, 3))
    for util in (StateEntropyUtility(0.5), KLUtility(np.full(4, 0.25), 0.5)):
        g = util.gradient(lam)
        assert_allclose(g, np.repeat(g[:, :1], 3, axis=1), rtol=0, atol=0)


def test_entropy_gradient_sign_changes_at_one_over_e():
    gamma = 0.5
    lam = np.array([[math.exp(-1) / (1 - gamma)], [0.3]])
    assert abs(StateEntropyUtility(gamma).gradient(lam)[0, 0]) < 1e-15


def test_entropy_gradient_is_plus_infinity_at_an_unvisited_state():
    g = StateEntropyUtility(0.5).gradient(np.array([[0.0, 0.0], [1.0, 1.0]]))
    assert np.isposinf(g[0]).all() and np.isfinite(g[1]).all()
    assert np.isposinf(state_action_entropy().gradient(np.array([[0.0, 1.0]]))[0, 0])


# ----------------------------------------------------------------------------- M_f and L on Lambda
@pytest.mark.parametrize("gamma", [0.5, 0.9])
def test_grad_bounds_hold_on_sampled_occupancies(gamma):
    rng = np.random.default_rng(7)
    nS, nA = 4, 3
    xi = rng.dirichlet(np.ones(nS))
    lams = sampled_occupancies(rng, gamma, xi, nA)
    utils = [
        LinearUtility(rng.normal(size=(nS, nA))),
        StateEntropyUtility(gamma),
        ApprenticeshipUtility(rng.uniform(0, 2, size=(nS, nA))),
        KLUtility(rng.dirichlet(np.ones(nS)), gamma),
        LogFairnessUtility(rng.uniform(0.1, 1.0, size=(nS, nA)), 0.05),
    ]
    for util in utils:
        bound = util.grad_bound(gamma, xi)
        assert math.isfinite(bound)
        # the sup is over Lambda; rounding of the solve is ~1e-15 relative
        assert grad_sup(util, lams) <= bound * (1 + 1e-12), util.name
    # the guide's closed forms are valid too, and never below the sharp ones
    for util in (utils[1], utils[2]):
        assert util.grad_bound(gamma, xi, sharp=False) >= util.grad_bound(gamma, xi)
        assert grad_sup(util, lams) <= util.grad_bound(gamma, xi, sharp=False)


@pytest.mark.parametrize("gamma", [0.5, 0.9])
def test_lipschitz_bounds_hold_on_sampled_pairs(gamma):
    rng = np.random.default_rng(8)
    nS, nA = 4, 3
    xi = rng.dirichlet(np.ones(nS)) * 0.8 + 0.2 / nS
    far = sampled_occupancies(rng, gamma, xi, nA, n_mdps=3, n_policies=30)
    near = near_pairs(rng, gamma, xi, nA)
    utils = [
        LinearUtility(rng.normal(size=(nS, nA))),
        StateEntropyUtility(gamma),
        ApprenticeshipUtility(rng.uniform(0, 2, size=(nS, nA))),
        KLUtility(rng.dirichlet(np.ones(nS)), gamma),
        LogFairnessUtility(rng.uniform(0.1, 1.0, size=(nS, nA)), 0.05),
    ]
    for util in utils:
        L = util.lipschitz(gamma, xi, n_actions=nA)
        # the ratio of two O(1e-4) differences carries ~1e-12 relative rounding
        assert lipschitz_sup(util, far) <= L * (1 + 1e-9) + 1e-12, util.name
        assert pair_ratios(util, near) <= L * (1 + 1e-9) + 1e-12, util.name


def test_bounds_hold_for_the_local_marginals_of_a_two_agent_instance():
    # A random MDP on 2 x 2 global states and 2 x 3 joint actions: the marginals lambda_i are the
    # local occupancies of eq. (4) and the bounds use agent i's marginal xi_i of xi.
    rng = np.random.default_rng(9)
    gamma, S, A = 0.8, (2, 2), (2, 3)
    xi = rng.dirichlet(np.ones(4))
    xi_m = [xi.reshape(S).sum(axis=1), xi.reshape(S).sum(axis=0)]
    lams = sampled_occupancies(rng, gamma, xi, 6, n_mdps=4, n_policies=30)
    locs = [local_occupancies(x, S, A) for x in lams]
    for i in range(2):
        for util in (StateEntropyUtility(gamma), ApprenticeshipUtility(rng.uniform(0, 1, size=(2, A[i])))):
            assert grad_sup(util, [loc[i] for loc in locs]) <= util.grad_bound(gamma, xi_m[i]) * (1 + 1e-12)
        ent = StateEntropyUtility(gamma)
        assert lipschitz_sup(ent, [loc[i] for loc in locs]) <= ent.lipschitz(gamma, xi_m[i], n_actions=A[i])


def test_entropy_grad_bound_is_attained_at_a_transient_state_and_the_broken_one_is_exceeded():
    # state 0 is never re-entered (every transition goes to state 1), so d(0) = (1-gamma) xi(0):
    # the lower end of the range, which dominates when (1-gamma) xi_min <= e^-2.
    gamma, nA = 0.9, 2
    xi = np.array([0.01, 0.49, 0.5])
    lam = deterministic_occupancy([1, 2, 1], [0, 0, 0], gamma, xi, nA)
    assert_allclose(lam.sum(axis=1)[0], xi[0], rtol=1e-14)
    util = StateEntropyUtility(gamma)
    measured = float(np.abs(util.gradient(lam)).max())
    assert_allclose(measured / util.grad_bound(gamma, xi), 1.0, rtol=1e-12)
    assert_allclose(measured / util.grad_bound(gamma, xi, sharp=False), 1.0, rtol=1e-12)  # the guide's, too
    # broken: d >= xi instead of (1-gamma) xi (normalisation forgotten inside the log)
    broken = (1 - gamma) * max(abs(math.log(xi.min()) + 1), 1.0)
    assert measured > 1.5 * broken


def test_entropy_grad_bound_upper_end_is_attained_by_an_absorbing_state():
    # gamma = 0.5, xi uniform on 2 states: the upper end d(1) = (1-gamma)/2 + gamma = 0.75 dominates;
    # the guide's max(..., 1) is then loose by the factor 0.712 = 1 + log 0.75.
    gamma, xi = 0.5, np.array([0.5, 0.5])
    lam = deterministic_occupancy([1, 1], [0, 0], gamma, xi, 2)
    util = StateEntropyUtility(gamma)
    measured = float(np.abs(util.gradient(lam)).max())
    assert_allclose(measured / util.grad_bound(gamma, xi), 1.0, rtol=1e-12)
    assert_allclose(measured / util.grad_bound(gamma, xi, sharp=False), 1 + math.log(0.75), rtol=1e-12)


def test_entropy_lipschitz_is_approached_on_the_fan_instance_and_the_broken_one_is_exceeded():
    # The fan: state 0 (the target) sends every action uniformly to m "spokes"; spoke u stays (action 0)
    # or jumps to 0 (action 1). With the spokes jumping w.p. 1e-6, d(0) is close to its lower end and
    # a flow direction that raises d(0) uniformly in a_0 while spreading the rest over the spokes has
    # ||grad diff||_inf / ||Delta||_2 -> (1-gamma) sqrt|A| / xi_min as m grows. The direction is the
    # projection of 1{s = 0} on the null space of the flow equations; a step of 1e-6 along it stays in Lambda.
    m, gamma, nA = 30, 0.9, 2
    nS = m + 1
    P = np.zeros((nS, nA, nS))
    P[0, :, 1:] = 1.0 / m
    for u in range(1, nS):
        P[u, 0, u] = 1.0
        P[u, 1, 0] = 1.0
    xi = np.full(nS, 1.0 / nS)
    pi = np.zeros((nS, nA))
    pi[0] = 0.5
    pi[1:] = [1 - 1e-6, 1e-6]
    lam = occupancy(P, pi, gamma, xi)
    F = np.zeros((nS, nS * nA))  # flow equations: sum_a lam(s', a) - gamma sum P(s'|s,a) lam(s,a) = xi(s')
    for s in range(nS):
        for a in range(nA):
            F[:, s * nA + a] = -gamma * P[s, a]
            F[s, s * nA + a] += 1.0
    Q, _ = np.linalg.qr(F.T)
    c = np.zeros(nS * nA)
    c[:nA] = 1.0
    direction = (c - Q @ (Q.T @ c)).reshape(nS, nA)
    other = lam + 1e-6 * direction / np.linalg.norm(direction)
    assert (other >= 0).all()
    assert_allclose(F @ other.ravel(), xi, rtol=0, atol=1e-14)  # still a point of Lambda
    util = StateEntropyUtility(gamma)
    ratio = float(np.abs(util.gradient(other) - util.gradient(lam)).max()) / float(np.linalg.norm(other - lam))
    L = util.lipschitz(gamma, xi, n_actions=nA)
    assert 0.8 < ratio / L <= 1.0  # measured 0.85 at m = 30 (0.95 at m = 100)
    assert ratio > (1 - gamma) / xi.min()  # broken: the sqrt|A_i| dropped


def test_apprenticeship_grad_bound_is_attained_and_the_guides_is_looser():
    gamma, xi = 0.8, np.array([0.3, 0.7])
    # everything flows to state 1 (the larger xi) and action 0 is always taken there:
    # lam(1, 0) = xi(1) + gamma/(1-gamma), the upper end of the entry range
    lam = deterministic_occupancy([1, 1], [0, 0], gamma, xi, 2)
    util = ApprenticeshipUtility(np.zeros((2, 2)))
    measured = float(np.abs(util.gradient(lam)).max())
    assert_allclose(measured, util.grad_bound(gamma, xi), rtol=1e-13)
    assert_allclose(measured / util.grad_bound(gamma, xi, sharp=False), gamma + (1 - gamma) * xi[1], rtol=1e-13)
    assert measured > 2.0 * np.abs(util.target).max() + 1.0  # broken: 2 ||lambda_e||_inf alone
    assert measured > 2.0  # broken: lambda normalised twice (||lambda||_inf <= 1)


def test_log_fairness_grad_bound_is_attained_at_the_worst_pair():
    gamma, xi = 0.6, np.array([0.5, 0.5])
    r = np.array([[0.2, 0.5], [1.0, 0.4]])
    util = LogFairnessUtility(r, 0.1)
    # the row minima are at actions 0 and 1; everything flows to state 0, where the worst entry 0.2 is
    lam = deterministic_occupancy([0, 0], [0, 1], gamma, xi, 2)
    assert_allclose(float(np.abs(util.gradient(lam)).max()), util.grad_bound(gamma, xi), rtol=1e-13)


def test_kl_grad_bound_is_attained_at_its_dominating_end():
    gamma, nA = 0.9, 2
    xi = np.array([0.02, 0.48, 0.5])
    q = np.array([0.6, 0.2, 0.2])
    util = KLUtility(q, gamma)
    lam = deterministic_occupancy([1, 2, 1], [0, 0, 0], gamma, xi, nA)  # state 0 transient
    assert_allclose(float(np.abs(util.gradient(lam)).max()), util.grad_bound(gamma, xi), rtol=1e-12)


def test_linear_bounds_are_exact():
    r = np.array([[1.0, -3.0], [2.0, 0.5]])
    u = LinearUtility(r)
    assert u.grad_bound(0.9) == 3.0 and u.lipschitz(0.9) == 0.0


def test_unbounded_gradients_are_infinite_never_capped():
    xi = np.array([0.5, 0.5])
    assert StateActionEntropyUtility().grad_bound(0.9, xi, n_actions=2) == math.inf
    assert StateActionEntropyUtility().lipschitz(0.9, xi, n_actions=2) == math.inf
    assert StateEntropyUtility(0.9).grad_bound(0.9) == math.inf  # no xi: d can approach 0
    assert StateEntropyUtility(0.9).grad_bound(0.9, [1.0, 0.0]) == math.inf
    assert StateEntropyUtility(0.9).lipschitz(0.9, [1.0, 0.0], n_actions=2) == math.inf
    assert KLUtility([0.5, 0.5], 0.9).grad_bound(0.9, [1.0, 0.0]) == math.inf
    assert LogFairnessUtility(np.array([[1.0, -1.0]]), 0.5).grad_bound(0.5) == math.inf  # the log reaches 0


def test_state_action_entropy_with_one_action_is_bounded():
    gamma, xi = 0.5, np.array([0.3, 0.7])
    util = StateActionEntropyUtility()
    lams = [deterministic_occupancy(nxt, [0, 0], gamma, xi, 1) for nxt in ([1, 1], [0, 0], [1, 0], [0, 1])]
    assert grad_sup(util, lams) <= util.grad_bound(gamma, xi, n_actions=1) * (1 + 1e-13)
    assert_allclose(grad_sup(util, lams), util.grad_bound(gamma, xi, n_actions=1), rtol=1e-13)


# ----------------------------------------------------------------------------- eq. (4), (5), shadow rewards
def test_local_occupancies_are_marginals_by_explicit_loops():
    rng = np.random.default_rng(3)
    S, A = (2, 3, 2), (2, 1, 3)
    lam = rng.uniform(size=(12, 6))
    locs = local_occupancies(lam, S, A)
    for i in range(3):
        want = np.zeros((S[i], A[i]))
        for g, s in enumerate(np.ndindex(*S)):
            for k, a in enumerate(np.ndindex(*A)):
                want[s[i], a[i]] += lam[g, k]
        assert_allclose(locs[i], want, rtol=1e-14)


def test_utility_value_and_global_shadow_reward():
    rng = np.random.default_rng(4)
    S, A = (2, 3), (2, 2)
    lam = rng.uniform(0.1, 1.0, size=(6, 4))
    utils = [StateEntropyUtility(0.5), ApprenticeshipUtility(rng.uniform(size=(3, 2)))]
    locs = local_occupancies(lam, S, A)
    assert utility_value(utils, locs) == pytest.approx(0.5 * (utils[0].value(locs[0]) + utils[1].value(locs[1])),
                                                       rel=1e-15)
    rs = shadow_rewards(utils, locs)
    R = global_shadow_reward(utils, locs)
    for g, s in enumerate(np.ndindex(*S)):
        for k, a in enumerate(np.ndindex(*A)):
            assert_allclose(R[g, k], 0.5 * (rs[0][s[0], a[0]] + rs[1][s[1], a[1]]), rtol=1e-14)
    # R is the gradient of the global utility lam -> (1/n) sum_i f_i(marg_i lam): central differences
    h = 1e-6

    def F(x):
        return utility_value(utils, local_occupancies(x, S, A))

    fd = np.empty_like(lam)
    for idx in np.ndindex(*lam.shape):
        e = np.zeros_like(lam)
        e[idx] = h
        fd[idx] = (F(lam + e) - F(lam - e)) / (2 * h)
    # truncation h^2 |F'''|/6 <= 1e-12 * 4 / 6, rounding eps |F| / h ~ 1e-9: tolerance 1e-8
    assert_allclose(R, fd, rtol=0, atol=1e-8)


# ----------------------------------------------------------------------------- validation
def test_validation_names_the_utility_and_the_entry():
    u = ApprenticeshipUtility(np.zeros((2, 2)))
    with pytest.raises(ShapeError, match="ApprenticeshipUtility.*shape \\(2, 3\\)"):
        u.value(np.zeros((2, 3)))
    with pytest.raises(ShapeError, match="StateEntropyUtility.*2 axes"):
        StateEntropyUtility(0.5).value(np.zeros(3))
    with pytest.raises(UtilityDomainError, match=r"ApprenticeshipUtility.*negative entry -0.5.*\(1, 0\)"):
        u.gradient(np.array([[0.0, 0.0], [-0.5, 0.0]]))
    with pytest.raises(NonFiniteError, match=r"LinearUtility.*nan.*\(0, 1\)"):
        LinearUtility(np.zeros((2, 2))).value(np.array([[0.0, np.nan], [0.0, 0.0]]))
    with pytest.raises(UtilityDomainError, match="LogFairnessUtility.*not positive"):
        LogFairnessUtility(np.ones((1, 1)), -5.0).value(np.ones((1, 1)))
    with pytest.raises(UtilityDomainError, match="KLUtility.*positive entries"):
        KLUtility([1.0, 0.0], 0.5)
    with pytest.raises(UtilityDomainError, match="built with gamma=0.5"):
        StateEntropyUtility(0.5).grad_bound(0.9, [0.5, 0.5])
    with pytest.raises(UtilityDomainError, match="xi_marginal must be a probability vector"):
        StateEntropyUtility(0.5).grad_bound(0.5, [0.5, 0.6])
    with pytest.raises(TypeError, match="n_actions"):
        StateEntropyUtility(0.5).lipschitz(0.5, [0.5, 0.5])
    with pytest.raises(ShapeError, match="shape \\(\\|S\\|, \\|A\\|\\) = \\(4, 2\\)"):
        local_occupancies(np.zeros((4, 3)), (2, 2), (2, 1))


def test_rounding_negatives_are_read_as_zero():
    lam = np.array([[-1e-15, 1.0]])
    assert StateActionEntropyUtility().value(lam) == 0.0
    assert_allclose(LinearUtility(np.ones((1, 2))).value(lam), 1.0, rtol=0, atol=0)


def test_every_utility_is_marked_concave():
    rng = np.random.default_rng(0)
    assert all(u.concave for u in _all_utilities(rng, 2, 2))
