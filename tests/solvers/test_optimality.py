r"""Optimal values (VI / PI / LP), average-reward optimal gain, best responses and gaps.

Tolerances. Values are compared relative to the scale :math:`s = \max(1, \max|R|/(1-\gamma))`.

* Policy iteration's :math:`V` is a backward-stable dense solve of :math:`(I - \gamma P_\pi)V =
  R_\pi` with :math:`\operatorname{cond}_\infty \le (1+\gamma)/(1-\gamma) \le 39` here, so its
  error is :math:`\lesssim 39 \cdot |S| u \, s \approx 10^{-13} s` (:math:`u = 1.1\cdot10^{-16}`);
  it is the reference.
* Value iteration stops when its a-posteriori bound :math:`\frac{\gamma}{1-\gamma}\|V_{k+1}-V_k\|`
  is at most ``1e-12 * s``: agreement with PI to ``1e-11 * s`` leaves room for the rounding of
  both.
* The LP (HiGHS dual simplex, feasibility tolerances 1e-10) ends at a basis whose solve is a
  policy evaluation too; its error is bounded by its own certificate ``error_bound`` (the
  Bellman residual over :math:`1-\gamma`), asserted below ``1e-9 * s``, and it must agree with PI
  within that certificate.

A wrong kernel (mixed with 1e-3 of another one) moves :math:`V^*` by :math:`\gtrsim 10^{-5} s`,
four orders of magnitude above these tolerances, and its Bellman residual on the true model is
flagged (``test_wrong_kernel_is_detected``).
"""

import itertools

import networkx as nx
import numpy as np
import pytest

from netmarl_verify import envs
from netmarl_verify.envs import TabularMDP
from netmarl_verify.solvers.exact import (
    bellman_residual,
    best_deterministic_policy,
    best_response,
    evaluate_policy,
    lp_values,
    nash_gap,
    optimal_gain,
    optimal_values,
    optimality_gap,
    policy_iteration,
    policy_values,
    value_iteration,
)

GAMMAS = (0.0, 0.5, 0.9, 0.95)


def _random_mdp(rng, nS, nA, sparse=False):
    P = rng.random((nS, nA, nS))
    if sparse:  # many structural zeros: transient states, near-deterministic moves
        P *= rng.random((nS, nA, nS)) < 0.3
        P[np.arange(nS), :, rng.integers(0, nS, nS)] += 1e-3
    P /= P.sum(axis=-1, keepdims=True)
    return TabularMDP(P, rng.normal(size=(nS, nA)))


def _scale(mdp, gamma):
    return max(1.0, np.abs(mdp.R).max() / (1 - gamma))


@pytest.mark.parametrize("seed", range(6))
@pytest.mark.parametrize("gamma", GAMMAS)
def test_vi_pi_lp_agree_on_random_mdps(seed, gamma):
    rng = np.random.default_rng(seed)
    mdp = _random_mdp(rng, int(rng.integers(2, 9)), int(rng.integers(1, 5)), sparse=seed % 2 == 1)
    s = _scale(mdp, gamma)
    pi, vi, lp = policy_iteration(mdp, gamma), value_iteration(mdp, gamma), lp_values(mdp, gamma)
    assert pi.error_bound <= 1e-12 * s
    assert vi.error_bound <= 1e-11 * s and lp.error_bound <= 1e-9 * s
    np.testing.assert_allclose(vi.V, pi.V, rtol=0, atol=1e-11 * s)
    np.testing.assert_allclose(lp.V, pi.V, rtol=0, atol=max(lp.error_bound, 1e-12 * s))
    # the greedy policies are optimal: their exact values are V*
    for res in (pi, vi, lp):
        np.testing.assert_allclose(policy_values(mdp, res.policy, gamma), pi.V, rtol=0, atol=1e-10 * s)
    # V* dominates every deterministic policy (exhaustive on the small ones)
    if mdp.n_actions ** mdp.n_states <= 4096:
        for pol in itertools.product(range(mdp.n_actions), repeat=mdp.n_states):
            assert (policy_values(mdp, np.array(pol), gamma) <= pi.V + 1e-12 * s).all()


def test_textbook_two_state_discounted():
    r"""Hand-derived: state 0 "stay" (r = 0) or "go" (r = -1, to state 1); state 1 "stay" (r = 2) or "go" (r = 0, to 0).

    With :math:`\gamma = 0.9`: staying in 1 forever is worth :math:`2/(1-\gamma) = 20`; from 0,
    going costs 1 and gives :math:`-1 + 0.9 \cdot 20 = 17 > 0` (staying forever earns 0), so
    :math:`V^* = (17, 20)`, :math:`Q^*(0, \cdot) = (0.9 \cdot 17, 17) = (15.3, 17)`,
    :math:`Q^*(1, \cdot) = (20, 0.9 \cdot 17) = (20, 15.3)`, optimal policy (go, stay).
    """
    P = np.zeros((2, 2, 2))
    P[0, 0, 0] = P[0, 1, 1] = P[1, 0, 1] = P[1, 1, 0] = 1.0
    R = np.array([[0.0, -1.0], [2.0, 0.0]])
    mdp = TabularMDP(P, R)
    for method in ("policy_iteration", "value_iteration", "lp"):
        res = optimal_values(mdp, 0.9, method=method)
        np.testing.assert_allclose(res.V, [17.0, 20.0], rtol=0, atol=1e-10)
        np.testing.assert_allclose(res.Q, [[15.3, 17.0], [20.0, 15.3]], rtol=0, atol=1e-10)
        assert res.policy.tolist() == [1, 0]
        assert res.value([1.0, 0.0]) == pytest.approx(17.0, abs=1e-10)


def test_textbook_two_state_average_reward():
    r"""Hand-derived unichain case for the optimal gain.

    State 0: action 0 earns 1 and stays w.p. 1/2 (else to 1); action 1 earns 0 and goes to 1.
    State 1 (both actions alike): earns 4, stays w.p. 1/2 (else to 0).
    Action 0 at state 0: stationary (1/2, 1/2), gain (1 + 4)/2 = 5/2.
    Action 1: :math:`\pi_0 = \pi_1/2`, so :math:`\pi = (1/3, 2/3)`, gain 8/3 > 5/2: optimal.
    """
    P = np.zeros((2, 2, 2))
    P[0, 0] = [0.5, 0.5]
    P[0, 1] = [0.0, 1.0]
    P[1, :] = [0.5, 0.5]
    R = np.array([[1.0, 0.0], [4.0, 4.0]])
    mdp = TabularMDP(P, R)
    pi = optimal_gain(mdp)
    assert pi.gain == pytest.approx(8 / 3, rel=1e-14) and pi.policy[0] == 1 and pi.residual < 1e-13
    assert optimal_gain(mdp, "lp").gain == pytest.approx(8 / 3, rel=1e-9)


@pytest.mark.parametrize("seed", range(4))
def test_optimal_gain_pi_lp_and_vanishing_discount_agree(seed):
    """Dense random kernels are unichain; (1 - gamma) V*_gamma -> g* as gamma -> 1 (Blackwell)."""
    rng = np.random.default_rng(100 + seed)
    mdp = _random_mdp(rng, 5, 3)
    pi, lp = optimal_gain(mdp), optimal_gain(mdp, "lp")
    assert lp.gain == pytest.approx(pi.gain, abs=1e-9)
    assert lp.residual <= 1e-9
    gamma = 1 - 1e-6
    V = policy_iteration(mdp, gamma).V
    np.testing.assert_allclose((1 - gamma) * V, pi.gain, atol=1e-5)


def test_wrong_kernel_is_detected():
    """V* of a perturbed kernel fails the Bellman certificate of the true model by far more than rounding."""
    rng = np.random.default_rng(7)
    mdp = _random_mdp(rng, 6, 3)
    K = rng.random(mdp.P.shape)
    K /= K.sum(axis=-1, keepdims=True)
    wrong = TabularMDP((1 - 1e-3) * mdp.P + 1e-3 * K, mdp.R)
    gamma = 0.9
    s = _scale(mdp, gamma)
    good, bad = policy_iteration(mdp, gamma), policy_iteration(wrong, gamma)
    assert bellman_residual(mdp, good.V, gamma) <= 1e-13 * s
    assert bellman_residual(mdp, bad.V, gamma) > 1e-5 * s
    assert np.abs(bad.V - good.V).max() > 1e-5 * s


# ----------------------------------------------------------------------------- games
def _random_game(rng, nS, sizes):
    return _random_mdp(rng, nS, int(np.prod(sizes)))


def _product_value(mdp, sizes, tables, gamma, mu):
    joint = np.ones((mdp.n_states, 1))
    for t in tables:
        joint = (joint[:, :, None] * t[:, None, :]).reshape(mdp.n_states, -1)
    return float(mu @ policy_values(mdp, joint, gamma))


@pytest.mark.parametrize("seed", range(4))
def test_best_response_matches_brute_force_and_gaps_are_nonnegative(seed):
    rng = np.random.default_rng(200 + seed)
    sizes, nS, gamma = (2, 3), 3, 0.8
    mdp = _random_game(rng, nS, sizes)
    mu = rng.dirichlet(np.ones(nS))
    tables = [rng.dirichlet(np.ones(A), size=nS) for A in sizes]
    gap, brs = nash_gap(mdp, sizes, tables, gamma, mu)
    for i, br in enumerate(brs):
        # brute force over the agent's deterministic rules a_i(s)
        best = -np.inf
        for rule in itertools.product(range(sizes[i]), repeat=nS):
            dev = list(tables)
            dev[i] = np.eye(sizes[i])[list(rule)]
            best = max(best, _product_value(mdp, sizes, dev, gamma, mu))
        assert br.value == pytest.approx(best, abs=1e-12 * _scale(mdp, gamma))
        assert br.current == pytest.approx(_product_value(mdp, sizes, tables, gamma, mu), abs=1e-12)
        assert br.gain >= -1e-12
    assert gap == max(b.gain for b in brs) >= 0
    opt = optimality_gap(mdp, tables, gamma, mu, action_sizes=sizes)
    assert opt >= gap - 1e-12  # Nash gap <= optimality gap


def test_gaps_vanish_at_an_optimal_joint_policy():
    rng = np.random.default_rng(5)
    sizes, gamma = (2, 2, 3), 0.9
    mdp = _random_game(rng, 4, sizes)
    star = policy_iteration(mdp, gamma).policy  # deterministic joint optimum
    local = np.array(np.unravel_index(star, sizes)).T  # (nS, agents): C order, agent 0 slowest
    tables = [np.eye(A)[local[:, i]] for i, A in enumerate(sizes)]
    gap, _ = nash_gap(mdp, sizes, tables, gamma)
    s = _scale(mdp, gamma)
    assert abs(gap) <= 1e-12 * s
    assert abs(optimality_gap(mdp, tables, gamma, action_sizes=sizes)) <= 1e-12 * s
    assert abs(optimality_gap(mdp, star, gamma)) <= 1e-12 * s
    # a uniform product policy is not optimal on a random game
    uniform = [np.full((4, A), 1.0 / A) for A in sizes]
    assert nash_gap(mdp, sizes, uniform, gamma)[0] > 1e-3


def test_best_response_refuses_inconsistent_games():
    mdp = _random_game(np.random.default_rng(0), 2, (2, 2))
    with pytest.raises(ValueError, match="product of action_sizes"):
        best_response(mdp, (2, 3), [np.full((2, 2), 0.5), np.full((2, 3), 1 / 3)], 0, 0.5)
    with pytest.raises(ValueError, match="agent must be"):
        best_response(mdp, (2, 2), [np.full((2, 2), 0.5)] * 2, 2, 0.5)


# ----------------------------------------------------------------------------- networked enumeration
def test_best_deterministic_policy_is_below_the_joint_optimum():
    """Localized deterministic policies are joint policies: their best gain is at most g* of the joint MDP."""
    mdp = envs.coupled_networked_mdp(nx.path_graph(2), 0.3, 2, 2, rng=3)
    res = best_deterministic_policy(mdp)
    assert res.evaluated == (2**2) ** 2
    g_star = optimal_gain(mdp.to_tabular()).gain
    assert res.value <= g_star + 1e-12
    # the reported argmax reproduces the value
    logits = []
    for acts in res.actions:
        t = np.full((2, 2), -60.0)
        t[np.arange(2), list(acts)] = 0.0
        logits.append(t)
    assert evaluate_policy(mdp, envs.LocalSoftmaxPolicy(logits)).J == res.value
