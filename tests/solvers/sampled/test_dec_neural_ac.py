"""gu2021 Alg. 1-2 (solvers.sampled._dec_neural_ac) against the exact targets of solvers.exact._mean_field_critic.

Tolerances:

* batched tables (policy (14), ν, σ, centred features (16)) against the per-run exact routes: 1e-12,
  sums of at most |Ξ| ≤ 60 products of O(1) numbers.
* the projected fixed point (Lemma C.1) against two independent routes: a brute-force enumeration
  of the KKT active sets of the variational inequality (tiny p = M d = 6), and, with the box
  inactive, the unconstrained projected (LSTD) equation by a linear least-squares solve. Both are
  direct linear algebra on systems of size ≤ 48 with condition numbers ≤ 1e6: 1e-8 on the values.
* Alg. 1 on the linearised class (37) against the fixed point: the expected squared
  :math:`L^2(\\nu)` distance of the averaged iterate obeys the projected-TD bound (Bhandari, Russo
  & Singal 2018, Thm 2, i.i.d. sampling, derived in :func:`_td_bound`)
  :math:`E\\|Q_0(\\bar\\omega)-Q_0(\\omega^*)\\|^2_\\nu\\le\\frac{\\|\\omega(0)-\\omega^*\\|^2/(\\eta T)+\\eta G^2}{2(1-\\gamma)}`,
  with G² computed exactly on the instance; the mean over R runs is compared with the mean bound
  (Markov: an algorithm meeting it fails with probability ≤ measured/bound).
* the actor estimate (23): :func:`netmarl_verify.testing.assert_unbiased` (z-test with the exact
  single-sample variance / B, Bonferroni over the coordinates, false alarm ≤ ALPHA).
"""

import itertools
import math

import numpy as np
import pytest
from numpy.testing import assert_allclose, assert_array_equal

from netmarl_verify.envs._mean_field import energy_tables, lift, mf_identity2, mf_lazy_walk, mf_random
from netmarl_verify.envs._validation import ShapeError
from netmarl_verify.solvers.exact._errors import MultipleRecurrentClassesError
from netmarl_verify.solvers.exact._mean_field import energy_gradient, energy_objective, evaluate_lifted
from netmarl_verify.solvers.exact._mean_field_critic import (
    critic_fixed_point_mf,
    critic_inputs,
    expected_actor_direction,
    linearisation_bound,
    pair_kernel,
    random_feature_matrix,
    stationary_pairs,
)
from netmarl_verify.solvers.sampled import TwoLayerReLU, running_average
from netmarl_verify.solvers.sampled._dec_neural_ac import (
    _actor_estimate,
    _critic_values,
    _sigma_samples,
    _stationary,
    _Tables,
    _td_kernel,
    _visitation,
    batched_energy_policy,
    dec_neural_ac_throughput,
    run_dec_neural_ac,
    run_dec_neural_td,
)
from netmarl_verify.testing import BiasError, ConvergenceRateError, assert_converges, assert_unbiased

ALPHA = 1e-3
SCALE = 1.0 / math.sqrt(2.0)


@pytest.fixture(scope="module")
def lifted():
    """random path, |S| = 3, N = 2, |A| = 2 (|Ξ| = 21, |P^N| = 6), γ = 0.5."""
    return lift(mf_random("path", 3, 2, 2, gamma=0.5, seed=1))


def _theta(rng, R, S, M, d=3):
    return rng.normal(size=(R, S, M, d)) / math.sqrt(d), rng.choice([-1.0, 1.0], size=(R, S, M))


# ---------------------------------------------------------------------------- batched tables
def test_batched_tables_match_the_exact_routes(lifted):
    tb = _Tables(lifted, 1, SCALE)
    theta, b = _theta(np.random.default_rng(0), 3, 3, 8)
    pol, phi, mean_phi = batched_energy_policy(tb, theta, b, 0.7)
    nu, sig = _stationary(tb, pol), _visitation(tb, pol, lifted.model.gamma)
    for r in range(3):
        w, _, Phi = energy_tables(lifted, theta[r], b[r], 0.7, SCALE)
        assert_allclose(pol[r], w, rtol=0, atol=1e-12)
        assert_allclose(nu[r], stationary_pairs(lifted, w), rtol=0, atol=1e-12)
        assert_allclose(sig[r], evaluate_lifted(lifted, w).sigma, rtol=0, atol=1e-12)
        slots = tb.slot  # (S, Xi): Phi = phi[slot] - mean_phi[team size]
        mine = phi[r, np.arange(3)[:, None], slots] - mean_phi[r, np.arange(3)[:, None], tb.group[slots]]
        assert_allclose(mine, Phi, rtol=0, atol=1e-12)


def test_td_step_matches_the_network_class(lifted):
    """One Alg. 1 update of the kernel = TwoLayerReLU's forward, backward, project and running_average."""
    tb = _Tables(lifted, 1, SCALE)
    rng = np.random.default_rng(3)
    R, S, M, d = 2, 3, 8, tb.d_max
    net = TwoLayerReLU.init(rng, d, M, copies=(R, S))
    W = net.project(net.W0 + rng.normal(size=net.W0.shape) * 0.05, radius=1.0)
    xi, xi2 = rng.integers(0, lifted.n_xi, (1, R)), rng.integers(0, lifted.n_xi, (1, R))
    avg, last, _ = _td_kernel(tb, net.W0, net.b, W, xi, xi2, 0.1, 1.0, 0.5, "network")
    x = np.stack([tb.Zc[:, xi[0, r]] for r in range(R)])[:, :, None, :]  # (R, S, 1, d)
    x2 = np.stack([tb.Zc[:, xi2[0, r]] for r in range(R)])[:, :, None, :]
    delta = net.forward(x, W)[..., 0] - tb.rewards[xi[0]] - 0.5 * net.forward(x2, W)[..., 0]
    ref = net.project(W - 0.1 * net.backward(x, delta[..., None], W), 1.0)
    assert_allclose(last, ref, rtol=0, atol=1e-14)
    assert_allclose(avg, running_average(W, ref, 0), rtol=0, atol=1e-14)
    vals = _critic_values(tb, W, net.W0, net.b, "network")
    full = net.forward(np.broadcast_to(tb.Zc, (R,) + tb.Zc.shape), W)
    assert_allclose(vals, full, rtol=0, atol=1e-14)


# ---------------------------------------------------------------------------- the fixed point
def _vi_brute_force(Phi, nu, K, r, base, h, gamma):
    """Reference: enumerate every active set of the box VI, return the KKT solution's values on supp nu."""
    D = nu
    A = Phi.T @ (D[:, None] * (Phi - gamma * K @ Phi))
    c0 = Phi.T @ (D * (r - (base - gamma * K @ base)))
    p = Phi.shape[1]
    found = []
    for pattern in itertools.product((-1, 0, 1), repeat=p):
        pat = np.array(pattern)
        free = pat == 0
        u = pat * h
        if free.any():
            rhs = c0[free] - A[np.ix_(free, ~free)] @ u[~free]
            uf = np.linalg.lstsq(A[np.ix_(free, free)], rhs, rcond=None)[0]
            if np.abs(A[np.ix_(free, free)] @ uf - rhs).max() > 1e-10 or np.abs(uf).max() > h * (1 + 1e-12):
                continue
            u = u.astype(float)
            u[free] = uf
        g = c0 - A @ u
        if (g[pat == 1] >= -1e-10).all() and (g[pat == -1] <= 1e-10).all():
            found.append(base + Phi @ u)
    assert found, "the VI has a solution; the enumeration must find one"
    return found


def test_fixed_point_equals_brute_force_vi_on_a_tiny_instance():
    L = lift(mf_lazy_walk(3, 2, 2, gamma=0.8))
    w = L.multinomial_policy(np.full((3, 3, 2), 0.5))
    rng = np.random.default_rng(5)
    s, k, M, radius = 1, 0, 2, 0.3
    Z = critic_inputs(L, s, k)  # d = 1 + |A| = 3, p = M d = 6: 3^6 active sets
    W0, b = rng.normal(size=(M, 3)) / math.sqrt(3), np.array([1.0, -1.0])
    fp = critic_fixed_point_mf(L, w, s, k, W0, b, radius=radius)
    nu = fp.nu
    supp = nu > 1e-13
    Phi = random_feature_matrix(Z, W0, b)[supp]
    K = pair_kernel(L, w)[np.ix_(supp, supp)]
    h = radius / math.sqrt(M)
    sols = _vi_brute_force(Phi, nu[supp], K, L.team_rewards[supp, s], Phi @ W0.reshape(-1), h, 0.8)
    at_bound = np.isclose(np.abs(fp.omega - W0), h, rtol=0, atol=1e-12)
    assert at_bound.any() and not at_bound.all()  # the box is active, not everywhere
    for q in sols:  # every KKT point has the same values on the support (Lemma C.1: unique)
        assert_allclose(fp.values[supp], q, rtol=0, atol=1e-8)
    assert fp.certificate <= 1e-10 and fp.kkt_residual <= 1e-12


def test_fixed_point_with_an_inactive_box_is_the_lstd_solution(lifted):
    w = lifted.energy_policy(*(_theta(np.random.default_rng(1), 1, 3, 8)[i][0] for i in (0, 1)))
    rng = np.random.default_rng(2)
    s, k, M = 0, 1, 16
    Z = critic_inputs(lifted, s, k)
    W0, b = rng.normal(size=(M, Z.shape[1])) / math.sqrt(Z.shape[1]), rng.choice([-1.0, 1.0], M)
    fp = critic_fixed_point_mf(lifted, w, s, k, W0, b, radius=1e6)
    nu = stationary_pairs(lifted, w)
    Phi = random_feature_matrix(Z, W0, b)
    D = np.diag(nu)
    K = pair_kernel(lifted, w)
    # Phi^T D (I - gamma K) Phi omega = Phi^T D r_s (least-squares solve; any solution has the same values)
    omega = np.linalg.lstsq(Phi.T @ D @ (Phi - 0.5 * K @ Phi), Phi.T @ D @ lifted.team_rewards[:, s], rcond=None)[0]
    supp = nu > 1e-13
    assert_allclose(fp.values[supp], (Phi @ omega)[supp], rtol=0, atol=1e-8)


# ---------------------------------------------------------------------------- Alg. 1 -> the fixed point
def _td_bound(lifted, policy, k, W0, b, fps, radius, eta, T, gamma):
    r"""Projected TD bound (module docstring), summed over teams: bounds E[max_s ||Q_0(w_bar_s) - Q_0(w*_s)||^2].

    Derivation (linear features, i.i.d. pairs from the stationary nu, omega* any solution of the box VI):
    ||w_{t+1} - w*||^2 <= ||w_t - w*||^2 + 2 eta g_t.(w_t - w*) + eta^2 ||g_t||^2 (the clip is non-expansive),
    E[g_t | w_t] . (w_t - w*) <= -(1-gamma) ||q_t - q*||_nu^2 (VI at w*, ||K||_{L2(nu)} <= 1); sum over t < T
    (one virtual extra step), Jensen for the average.  G^2 = E sup_box ||g||^2 is computed exactly.
    """
    K = pair_kernel(lifted, policy)
    nu = stationary_pairs(lifted, policy)
    M = W0.shape[1]
    h = radius / math.sqrt(M)
    total = 0.0
    for s, fp in enumerate(fps):
        Phi = random_feature_matrix(fp.inputs, W0[s], b[s])
        qmax = np.abs(Phi @ W0[s].reshape(-1)) + h * np.abs(Phi).sum(axis=1)
        dmax = np.abs(lifted.team_rewards[:, s])[:, None] + qmax[:, None] + gamma * qmax[None, :]
        G2 = float(nu @ ((K * dmax**2).sum(axis=1) * (Phi**2).sum(axis=1)))
        dist2 = float(((fp.omega - W0[s]) ** 2).sum())
        total += (dist2 / (eta * T) + eta * G2) / (2.0 * (1.0 - gamma))
    return total


def _linear_td_errors(lifted, policy, Ts, runs, td_discount=None, seed=7):
    out, bounds = [], []
    for T in Ts:
        res = run_dec_neural_td(lifted, policy, 1, width=16, n_iterations=T, runs=runs, rng=seed,
                                critic_features="linearised", td_discount=td_discount, checkpoints=[T - 1],
                                metrics=("critic_fp_distance",))
        out.append(float((res.trace.critic_fp_distance.to_numpy() ** 2).mean()))
        fps = [[critic_fixed_point_mf(lifted, policy, s, 1, res.omega0[r, s], res.b[r, s], radius=1.0)
                for s in range(3)] for r in range(runs)]
        bounds.append(np.mean([_td_bound(lifted, policy, 1, res.omega0[r], res.b[r], fps[r], 1.0,
                                         res.settings["eta"], T, 0.5) for r in range(runs)]))
    return np.array(out), np.array(bounds)


@pytest.fixture(scope="module")
def policy(lifted):
    theta, b = _theta(np.random.default_rng(11), 1, 3, 16)
    return lifted.energy_policy(theta[0], b[0])


def test_linearised_alg1_converges_to_the_fixed_point(lifted, policy):
    Ts = np.array([256, 1024, 4096, 16384])
    err, bound = _linear_td_errors(lifted, policy, Ts, runs=8)
    assert (np.diff(err) < 0).all(), err
    assert (err <= bound).all(), (err, bound)  # the provable bound holds at every T
    # the bound decays like T^{-1/2} (eta = T^{-1/2}); the measured error is at least that fast
    assert_converges(err, Ts, rate=-0.5, mode="at-least")


def test_wrong_td_discount_is_detected(lifted, policy):
    """TD target with discount 0 instead of gamma: the distance to the fixed point plateaus (a floor of
    about 0.05 against 0.008 for the correct algorithm at T = 16384), so the rate check fails."""
    Ts = np.array([1024, 4096, 16384])
    err, bound = _linear_td_errors(lifted, policy, Ts, runs=8, td_discount=0.0)
    with pytest.raises(ConvergenceRateError):
        assert_converges(err, Ts, rate=-0.5, mode="at-least")
    # ... and the floor is explained: the broken run converges to the fixed point of the discount it used
    res = run_dec_neural_td(lifted, policy, 1, width=16, n_iterations=16384, runs=8, rng=7,
                            critic_features="linearised", td_discount=0.0, metrics=())
    d2 = [max(float(res.nu[r] @ (res.values[r, s] - critic_fixed_point_mf(
        lifted, policy, s, 1, res.omega0[r, s], res.b[r, s], gamma=0.0).values) ** 2) for s in range(3))
        for r in range(8)]
    assert np.mean(d2) < 0.2 * err[-1]


def test_network_alg1_approaches_the_fixed_point(lifted, policy):
    """Alg. 1 as printed (network gradient at w(t)): the distance falls with T towards the linearisation floor."""
    d = []
    for T in (256, 4096):
        res = run_dec_neural_td(lifted, policy, 1, width=16, n_iterations=T, runs=8, rng=7, checkpoints=[T - 1],
                                metrics=("critic_fp_distance",))
        d.append(float((res.trace.critic_fp_distance.to_numpy() ** 2).mean()))
    assert d[1] < 0.5 * d[0], d


def test_network_and_linearised_critics_differ_by_at_most_the_certified_bound(lifted, policy):
    res = run_dec_neural_td(lifted, policy, 1, width=16, n_iterations=2000, runs=4, rng=9, metrics=(),
                            radius=3.0)
    tb = _Tables(lifted, 1, SCALE)
    net = _critic_values(tb, res.omega_bar, res.omega0, res.b, "network")
    lin = _critic_values(tb, res.omega_bar, res.omega0, res.b, "linearised")
    gap = 0.0
    for r in range(4):
        for s in range(3):
            bound = linearisation_bound(tb.Zc[s], res.omega0[r, s], res.b[r, s], 3.0)
            assert (np.abs(net[r, s] - lin[r, s]) <= bound + 1e-12).all()
            gap = max(gap, float(np.abs(net[r, s] - lin[r, s]).max()))
    assert gap > 0  # with R = 3 some gate does flip: the bound is not checked vacuously


# ---------------------------------------------------------------------------- the actor estimate (23)
def test_expected_direction_with_exact_q_is_the_policy_gradient(lifted):
    theta, b = _theta(np.random.default_rng(4), 1, 3, 8)
    grad, ev, _ = energy_gradient(lifted, theta[0], b[0], 1.3, SCALE)
    k = lifted.model.diameter  # N^k_s = S: (18) with the full Q_y is (17)
    ed = expected_actor_direction(lifted, theta[0], b[0], ev.Q_teams, k, tau=1.3, evaluation=ev)
    assert_allclose(ed.mean, grad, rtol=0, atol=1e-12)


@pytest.mark.parametrize("sampling", ["rollout", "exact"])
def test_actor_estimate_is_unbiased_given_the_critics(lifted, sampling):
    tb = _Tables(lifted, 1, SCALE)
    rng = np.random.default_rng(8)
    theta, b = _theta(rng, 1, 3, 8)
    vals = rng.normal(size=(3, lifted.n_xi))  # any critic values: (23) is linear in them
    R, B = 3000, 4
    th, bb = np.broadcast_to(theta, (R,) + theta.shape[1:]), np.broadcast_to(b, (R,) + b.shape[1:])
    pol, phi, mean_phi = batched_energy_policy(tb, th, bb, 1.0)
    xs, _ = _sigma_samples(tb, pol, 0.5, rng, B, sampling)
    g = _actor_estimate(tb, phi, mean_phi, np.broadcast_to(vals, (R,) + vals.shape), xs, 1.0, 0.5)
    ed = expected_actor_direction(lifted, theta[0], b[0], vals, 1)
    # Coordinates with no spread are 0 up to rounding in every sample: dead neurons, and the mu(s)-coordinate
    # of a neuron active on every type of a team size (phi - E phi = (c/N)(1 - sum p) = O(1e-16)).
    keep = ed.variance > 1e-20 * ed.variance.max()
    assert np.abs(g[:, ~keep]).max(initial=0.0) <= 1e-12 and np.abs(ed.mean[~keep]).max(initial=0.0) <= 1e-12
    assert_unbiased(g[:, keep], ed.mean[keep], variance=ed.variance[keep] / B, alpha=ALPHA)
    # broken input: pairs from nu (the critic's law) instead of sigma is detected
    nu = _stationary(tb, pol[:1])[0]
    wrong = np.minimum((rng.random((R, B))[..., None] >= np.cumsum(nu)).sum(-1), lifted.n_xi - 1)
    gw = _actor_estimate(tb, phi, mean_phi, np.broadcast_to(vals, (R,) + vals.shape), wrong, 1.0, 0.5)
    with pytest.raises(BiasError):
        assert_unbiased(gw[:, keep], ed.mean[keep], variance=ed.variance[keep] / B, alpha=ALPHA)


# ---------------------------------------------------------------------------- Alg. 2
def test_alg2_trace_and_exact_columns(lifted):
    res = run_dec_neural_ac(lifted, 1, n_iterations=6, width=8, batch=16, runs=2, rng=3, checkpoints=[0, 3, 6])
    tr = res.trace
    assert list(tr.iteration.unique()) == [0, 3, 6]
    last = tr[tr.iteration == 6]
    for r in range(2):
        J = energy_objective(lifted, res.theta[r], res.b[r], 1.0, SCALE)
        assert last.J.to_numpy()[r] == pytest.approx(J, abs=1e-12)
    assert last.critic_error.isna().all() and tr[tr.iteration < 6].critic_fp_distance.notna().all()
    assert (np.abs(res.theta - res.theta0) <= 1.0 / math.sqrt(8) + 1e-15).all()  # Alg. 2 l. 10
    assert res.samples_per_second > 0


def test_seeded_reruns_are_bit_identical(lifted):
    kw = dict(n_iterations=3, width=8, batch=8, runs=2, checkpoints=[0, 3], critic_sampling="markov",
              critic_init="warm", metrics=("J", "critic_error"))
    a, b = run_dec_neural_ac(lifted, 1, rng=12, **kw), run_dec_neural_ac(lifted, 1, rng=12, **kw)
    assert_array_equal(a.theta, b.theta)
    assert_array_equal(a.omega_bar, b.omega_bar)
    assert a.trace.equals(b.trace)
    c = run_dec_neural_ac(lifted, 1, rng=13, **kw)
    assert not np.array_equal(a.theta, c.theta)
    p = lifted.energy_policy(*(x[0] for x in _theta(np.random.default_rng(0), 1, 3, 8)))
    t1 = run_dec_neural_td(lifted, p, 1, width=8, n_iterations=50, runs=2, rng=4, metrics=())
    t2 = run_dec_neural_td(lifted, p, 1, width=8, n_iterations=50, runs=2, rng=4, metrics=())
    assert_array_equal(t1.omega_bar, t2.omega_bar)


def test_bad_inputs_raise_clear_errors(lifted, policy):
    with pytest.raises(TypeError, match="LiftedMDP"):
        run_dec_neural_ac(lifted.model)
    with pytest.raises(ValueError, match="critic_init"):
        run_dec_neural_ac(lifted, critic_init="reuse")
    with pytest.raises(ValueError, match="td_discount"):
        run_dec_neural_td(lifted, policy, td_discount=1.0)
    with pytest.raises(ValueError, match="batch"):
        run_dec_neural_ac(lifted, batch=0)
    with pytest.raises(TypeError, match="width"):
        run_dec_neural_ac(lifted, width=8.5)
    with pytest.raises(ValueError, match="metrics"):
        run_dec_neural_td(lifted, policy, metrics=("J",))
    with pytest.raises(ShapeError, match="team_policy"):
        run_dec_neural_td(lifted, policy[:-1])
    L2 = lift(mf_identity2())  # identity kernel: every mu is absorbing, nu is not unique
    w2 = L2.multinomial_policy(np.ones((2, 3, 1)))
    with pytest.raises(MultipleRecurrentClassesError):
        run_dec_neural_td(L2, w2, 0, width=4, n_iterations=5)
    with pytest.raises(MultipleRecurrentClassesError):
        critic_fixed_point_mf(L2, w2, 0, 0, np.ones((4, 2)), np.ones(4))


def test_throughput_is_positive():
    assert dec_neural_ac_throughput(width=8, batch=8, runs=2, n_iterations=1) > 0


def test_transient_pairs_get_exactly_zero_stationary_mass():
    """Regression: the batched stationary solve left ~1e-13 on transient pairs (congestion path), above the fixed
    point's support tolerance, and critic_fixed_point_mf refused nu ("support not closed under K")."""
    from netmarl_verify.envs._mean_field import lift, mf_congestion, random_individual_policy
    from netmarl_verify.solvers.exact import stationary_pairs
    from netmarl_verify.solvers.sampled import run_dec_neural_td

    model = mf_congestion(4, "path", n_agents=2, gamma=0.5)
    lifted = lift(model)
    w = lifted.multinomial_policy(random_individual_policy(model, np.random.default_rng(0)))
    res = run_dec_neural_td(lifted, w, 1, width=16, rng=0, metrics=("critic_fp_distance",), checkpoints=[0, 63])
    assert np.isfinite(res.trace["critic_fp_distance"]).all()
    nu = stationary_pairs(lifted, w)
    assert (nu == 0).any()  # the congestion path has transient pairs
