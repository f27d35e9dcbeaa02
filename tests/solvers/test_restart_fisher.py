"""zhang2025 exact quantities (solvers/exact/_restart.py, _fisher.py), each against a second, independent route."""

import itertools
import math

import numpy as np
import pytest
from numpy.testing import assert_allclose

from netmarl_verify.envs._zhang2025 import bandit3, bandit3_loop, random_mamdp, random_mdp, spread_grid, swap2
from netmarl_verify.solvers.exact._fisher import (
    advantage,
    advantage_policy_gradient,
    central_difference_gradient,
    compatible_weights,
    epsilon_bias,
    exact_objective,
    fisher_information,
    optimal_objective,
    pair_values,
)
from netmarl_verify.solvers.exact._restart import (
    mixing_curve,
    reset_law,
    restart_kernel,
    restart_laws,
    restart_stationary,
    visitation_measure,
)

MODELS = {
    "mamdp": lambda: random_mamdp(2, 3, 2, seed=3),
    "mamdp_reduced_099": lambda: random_mamdp(2, 3, 2, gamma=0.99, seed=4, parametrisation="reduced"),
    "mdp": lambda: random_mdp(4, 3, seed=0),
    "swap2": lambda: swap2(0.8, p_stay=0.3),
    "loop": lambda: bandit3_loop(0.5, 2.0),
    "spread": lambda: spread_grid(2, 2, 2, seed=0),
}


def _Ppi(m, pi):
    return np.einsum("sa,sat->st", pi, m.mdp.P)


# ----------------------------------------------------------------------------- Lemma 4.2 and the restart laws
@pytest.mark.parametrize("key", sorted(MODELS))
def test_restart_stationary_against_power_iteration(key):
    # brute force: nu = lim rho P_tilde^t; P_tilde contracts centred vectors by gamma (module docstring),
    # so 3000 steps at gamma <= 0.99 leave < 0.99^3000 ~ 1e-13
    m = MODELS[key]()
    pi = m.policy.joint_table()
    for kw in ({"s0": m.s0}, {"rho0": np.full(m.n_states, 1 / m.n_states)}):
        Pt = restart_kernel(m.mdp, pi, m.gamma, **kw)
        x = np.full(m.n_states, 1 / m.n_states)
        for _ in range(3000):
            x = x @ Pt
        nu = restart_stationary(m.mdp, pi, m.gamma, **kw)
        assert_allclose(nu, x, atol=1e-12)
        # Lemma 4.2: nu = (1 - gamma) eta, eta from the truncated series sum_t gamma^t rho P^t
        rho = np.eye(m.n_states)[m.s0] if "s0" in kw else kw["rho0"]
        eta, y = np.zeros(m.n_states), rho.copy()
        for t in range(4000):
            eta += m.gamma ** t * y
            y = y @ _Ppi(m, pi)
        assert_allclose(visitation_measure(m.mdp, pi, m.gamma, **kw), eta, rtol=1e-10, atol=1e-12)
        assert_allclose(nu, (1 - m.gamma) * eta, atol=1e-11)
        assert visitation_measure(m.mdp, pi, m.gamma, **kw).sum() == pytest.approx(1 / (1 - m.gamma), rel=1e-12)


def test_restart_laws_flags_unreachable_states():
    # state 2 is never entered from s0 = 0 (columns 2 of P zero except its own row): nu(2) = 0
    m = random_mdp(3, 2, seed=2)
    P = m.mdp.P.copy()
    P[:, :, 2] = 0.0
    P[:, :, 0] += m.mdp.P[:, :, 2]
    from netmarl_verify.envs import TabularMDP

    L = restart_laws(TabularMDP(P, m.mdp.R), m.policy.joint_table(), m.gamma, s0=0)
    assert L.unreachable.tolist() == [2] and L.gap < 1e-12


def test_swap2_closed_form():
    # P_pi = swap: eta = (1, gamma, gamma^2, ...) alternating -> eta = (1/(1-g^2), g/(1-g^2))
    g = 0.6
    m = swap2(g)
    nu = restart_stationary(m.mdp, m.policy.joint_table(), g, s0=0)
    assert_allclose(nu, (1 - g) * np.array([1, g]) / (1 - g ** 2), rtol=1e-13)


@pytest.mark.parametrize("key", ["mamdp", "swap2", "spread"])
def test_mixing_curve_identity_and_gamma_rate(key):
    m = MODELS[key]()
    pi = m.policy.joint_table()
    L = restart_laws(m.mdp, pi, m.gamma, s0=m.s0)
    tv = mixing_curve(L.P_tilde, L.nu, 25)
    P = _Ppi(m, pi)
    for t in (0, 1, 7, 25):
        D = (np.eye(m.n_states) - L.nu) @ np.linalg.matrix_power(P, t) * m.gamma ** t
        assert tv[t] == pytest.approx(0.5 * np.abs(D).sum(axis=1).max(), rel=1e-9, abs=1e-15)
        assert tv[t] <= m.gamma ** t * (1 - L.nu.min()) + 1e-15


def test_reset_law_against_matrix_powers():
    m = MODELS["spread"]()
    pi = m.policy.joint_table()
    P = _Ppi(m, pi)
    law = reset_law(m.mdp, pi, m.rho0, 10)
    assert_allclose(law, sum(m.rho0 @ np.linalg.matrix_power(P, t) for t in range(10)) / 10, atol=1e-15)


# ----------------------------------------------------------------------------- J, Q, Adv, Lemma 4.3
def _brute_values(m, pi, kernel):
    P = m.mdp.P if kernel == "original" else m.gamma * m.mdp.P + (1 - m.gamma) * np.eye(m.n_states)[m.s0]
    Ppi = np.einsum("sa,sat->st", pi, P)
    V = np.linalg.solve(np.eye(m.n_states) - m.gamma * Ppi, (pi * m.mdp.R).sum(axis=1))
    return V, m.mdp.R + m.gamma * P @ V


@pytest.mark.parametrize("kernel", ["original", "restart"])
@pytest.mark.parametrize("key", sorted(MODELS))
def test_values_and_exact_gradient_against_brute_force_and_fd(key, kernel):
    m = MODELS[key]()
    pi = m.policy.joint_table()
    V, Q = pair_values(m, pi, kernel)
    Vb, Qb = _brute_values(m, pi, kernel)
    assert_allclose(V, Vb, rtol=1e-11)
    assert_allclose(Q, Qb, rtol=1e-11)
    g = advantage_policy_gradient(m, kernel=kernel)
    assert_allclose((g.pi * g.adv).sum(axis=1), 0.0, atol=1e-11)
    fd = central_difference_gradient(lambda x: exact_objective(m, m.policy.with_flat(x), kernel), m.policy.flat)
    # FD error O(eps^2 J''') + O(1e-16 |J| / eps) <= 1e-8 (|J| <= 100 here)
    assert_allclose(g.grad, fd, atol=1e-7 * max(1.0, abs(g.J)))
    if kernel == "original":  # Lemma 4.3 with B.2's constant, and Remark 1
        assert_allclose(g.nu_adv / (1 - m.gamma), fd, atol=1e-7 * max(1.0, abs(g.J)))
        assert_allclose(g.nu_q, g.nu_adv, atol=1e-10 * max(1.0, abs(g.J)))


def test_restart_kernel_objective_breaks_lemma4_3():
    # the finding of zhang2025.lemma4_3: J on the restart kernel is not differentiated by E_nu[psi Adv]
    m = MODELS["mdp"]()
    g = advantage_policy_gradient(m, kernel="restart")
    cos = g.grad @ g.nu_adv / np.linalg.norm(g.grad) / np.linalg.norm(g.nu_adv)
    assert cos < 0.999


def test_loop_gradient_closed_form():
    # J = pi_3 / (1 - gamma); dJ/dtheta = pi_3 * psi_3 / (1 - gamma), psi_3 = -E_pi[dl], dl = c(-sin, cos, 0)
    c, t, gam = 0.7, 1.1, 0.9
    m = bandit3_loop(c, t, gam)
    pi = m.policy.joint_table()[0]
    dl = c * np.array([-math.sin(t), math.cos(t), 0.0])
    g = advantage_policy_gradient(m)
    assert g.J == pytest.approx(pi[2] / (1 - gam), rel=1e-13)
    assert g.grad[0] == pytest.approx(pi[2] * (dl[2] - pi @ dl) / (1 - gam), rel=1e-12)


# ----------------------------------------------------------------------------- Fisher information, epsilon_bias, J*
def test_fisher_against_loops_and_block_structure():
    m = MODELS["mamdp_reduced_099"]()
    g = advantage_policy_gradient(m)
    F = fisher_information(g.scores, g.pi, g.nu)
    brute = np.zeros_like(F)
    for s, a in itertools.product(range(m.n_states), range(m.n_actions)):
        brute += g.nu[s] * g.pi[s, a] * np.outer(g.scores[s, a], g.scores[s, a])
    assert_allclose(F, brute, atol=1e-15)
    b0, b1 = g.blocks
    assert_allclose(F[b0, b1], 0.0, atol=1e-15)  # product policy: agents' scores uncorrelated given s
    assert np.linalg.eigvalsh(F).min() > 0       # reduced softmax, nu > 0: non-degenerate


def test_fisher_monte_carlo():
    # (s, a) ~ nu x pi, n draws; entrywise tolerance 5 sample standard deviations / sqrt(n) (fixed seed)
    m = MODELS["mamdp"]()
    g = advantage_policy_gradient(m)
    F = fisher_information(g.scores, g.pi, g.nu)
    rng = np.random.default_rng(0)
    n = 40_000
    flat = (g.nu[:, None] * g.pi).ravel()
    idx = rng.choice(flat.size, size=n, p=flat / flat.sum())
    psi = g.scores.reshape(-1, g.scores.shape[2])[idx]
    outer = psi[:, :, None] * psi[:, None, :]
    est, sd = outer.mean(axis=0), outer.std(axis=0)
    assert np.all(np.abs(est - F) <= 5 * sd / math.sqrt(n) + 1e-12)


def test_tabular_fisher_is_singular():
    m = MODELS["mamdp"]()  # tabular: logits of every action, softmax invariant to a per-state shift
    g = advantage_policy_gradient(m)
    lam = np.linalg.eigvalsh(fisher_information(g.scores, g.pi, g.nu))
    assert int((lam > 1e-10).sum()) == m.n_agents * m.n_states * (2 - 1)


def test_compatible_weights_are_the_least_squares_fit():
    m = MODELS["mamdp_reduced_099"]()
    g = advantage_policy_gradient(m)
    F = fisher_information(g.scores, g.pi, g.nu)
    wts = np.sqrt(g.nu[:, None] * g.pi).ravel()
    X = g.scores.reshape(-1, g.scores.shape[2]) * wts[:, None]
    w_ls = np.linalg.lstsq(X, g.adv.ravel() * wts, rcond=None)[0]
    assert_allclose(compatible_weights(F, g.nu_adv), w_ls, rtol=1e-7, atol=1e-9)
    eb = epsilon_bias(m)
    assert_allclose(eb.w, eb.w_regression, rtol=1e-8, atol=1e-10)


def test_epsilon_bias_loop_closed_form():
    # one state: d* = delta, pi* = arm 3, eps_bias (b) = (Adv(3) - w psi(3))^2
    m = bandit3_loop(0.5, 2.0, 0.9)
    g = advantage_policy_gradient(m)
    F = float((g.pi[0] * g.scores[0, :, 0] ** 2).sum())
    w = (1 - m.gamma) * g.grad[0] / F
    eb = epsilon_bias(m)
    assert eb.w[0] == pytest.approx(w, rel=1e-12)
    assert eb.squared == pytest.approx((g.adv[0, 2] - w * g.scores[0, 2, 0]) ** 2, rel=1e-12)
    assert eb.printed == pytest.approx(g.adv[0, 2] - w * g.scores[0, 2, 0], rel=1e-12)


def test_optimal_objective_against_enumeration():
    m = random_mamdp(2, 3, 2, seed=7)
    J_star, opt = optimal_objective(m)
    best = -np.inf
    for choice in itertools.product(range(m.n_actions), repeat=m.n_states):
        pi = np.eye(m.n_actions)[list(choice)]
        V, _ = _brute_values(m, pi, "original")
        best = max(best, V[m.s0])
    assert J_star == pytest.approx(best, rel=1e-10)
    assert optimal_objective(bandit3(gamma=0.9))[0] == pytest.approx(-1 / (1 - 0.9), rel=1e-10)


def test_advantage_and_validation():
    Q = np.array([[1.0, 3.0]])
    assert advantage(Q, np.array([[0.5, 0.5]])).tolist() == [[-1.0, 1.0]]
    with pytest.raises(ValueError, match="kernel"):
        pair_values(MODELS["mdp"](), MODELS["mdp"]().policy.joint_table(), "bogus")
    with pytest.raises(ValueError, match="exactly one"):
        restart_stationary(MODELS["mdp"]().mdp, MODELS["mdp"]().policy.joint_table(), 0.9)


# ----------------------------------------------------------------------------- the grid Simple Spread at full size
def test_spread_sparse_routes_against_dense_small_grid():
    from netmarl_verify.envs._zhang2025 import SpreadGrid
    from netmarl_verify.solvers.exact._spread_exact import (
        sparse_restart_stationary,
        sparse_visitation,
        spread_optimal_values,
        spread_policy_values,
    )

    inst = spread_grid(2, 3, 2, gamma=0.9, seed=5)
    grid = SpreadGrid(2, 3, 2)
    pi = inst.policy.joint_table()
    P = grid.policy_kernel(pi)
    nu, res = sparse_restart_stationary(P, 0.9, grid.rho0)
    assert res < 1e-13
    assert_allclose(nu, restart_stationary(inst.mdp, pi, 0.9, rho0=grid.rho0), atol=1e-13)
    assert_allclose(sparse_visitation(P, 0.9, grid.rho0), visitation_measure(inst.mdp, pi, 0.9, rho0=grid.rho0),
                    rtol=1e-12)
    V, _ = pair_values(inst, pi)
    assert_allclose(spread_policy_values(grid, pi, 0.9), V, rtol=1e-12)
    opt = spread_optimal_values(grid, 0.9)
    assert opt.V[inst.s0] == pytest.approx(optimal_objective(inst)[0], abs=1e-9)


def test_spread_episode_return_against_monte_carlo():
    # 10-step episodes from rho0 under a random policy; tolerance 5 standard errors (fixed seed)
    from netmarl_verify.envs._zhang2025 import SpreadGrid
    from netmarl_verify.solvers.exact._spread_exact import spread_episode_return

    grid = SpreadGrid(2, 13, 5)
    rng = np.random.default_rng(1)
    pi = rng.dirichlet(np.ones(grid.n_joint), size=grid.n_states)
    exact = spread_episode_return(grid, pi, 10)
    n = 20_000
    s = grid.reset(n, rng=rng)
    total = np.zeros(n)
    cdf = np.cumsum(pi, axis=1)
    for _ in range(10):
        a = np.minimum((cdf[s] < rng.random((n, 1))).sum(axis=1), grid.n_joint - 1)
        total += grid.reward[s, a]
        s = grid.next_state[s, a]
    assert abs(total.mean() - exact) <= 5 * total.std() / math.sqrt(n)


def test_spread_13x5_lemma4_2_sparse():
    from netmarl_verify.envs._zhang2025 import SpreadGrid
    from netmarl_verify.solvers.exact._spread_exact import sparse_restart_stationary, sparse_visitation

    grid = SpreadGrid(2, 13, 5)
    pi = np.random.default_rng(0).dirichlet(np.ones(grid.n_joint), size=grid.n_states)
    P = grid.policy_kernel(pi)
    nu, _ = sparse_restart_stationary(P, 0.99, grid.rho0)
    eta = sparse_visitation(P, 0.99, grid.rho0)
    assert eta.sum() == pytest.approx(100.0, rel=1e-12)
    assert_allclose(nu, 0.01 * eta, atol=1e-14)
