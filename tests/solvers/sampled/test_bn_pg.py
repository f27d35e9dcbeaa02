"""The sample-based BN policy-gradient estimate (solvers/sampled/_bn_pg.py) against chen2024 Lemma 1's exact gradient.

Statistics. Every unbiasedness check is ``netmarl_verify.testing.assert_unbiased`` (two-sided t-test per
coordinate, Bonferroni over the coordinates) at ``ALPHA``. Seeds are fixed, so outcomes are deterministic;
with a fresh seed an unbiased estimator fails with probability at most about ``ALPHA`` (measured while
writing this file: 0-1 rejections in 40 seeds per instance at alpha = 0.01, B = 20,000).

Coordinates that are constant over the samples (e.g. a context whose reward is identically 0, so the value
part is exactly 0 and only the deterministic barrier remains) are compared exactly instead: for constant
samples the t statistic of ``assert_unbiased`` is +-sqrt(B - 1) whatever the rounding of the mean (the mean of
B equal floats is not always that float, and the sample variance is then the square of that rounding), so
such coordinates are split off by :func:`check_unbiased` below.
"""

import numpy as np
import pytest
from numpy.testing import assert_allclose, assert_array_equal

from netmarl_verify.envs._bn_games import BayesianNetwork, BNSoftmaxPolicy, CooperativeMarkovGame, bn_game
from netmarl_verify.solvers.exact._bn_exact import bn_evaluate, bn_gradient
from netmarl_verify.solvers.sampled._bn_pg import BNPGEstimate, bn_pg_estimate
from netmarl_verify.testing import BiasError, assert_unbiased

#: False-alarm probability of each unbiasedness assertion (see the module docstring).
ALPHA = 0.01
#: Estimates per check: 20,000 keeps every check well under a second on the instances below, and gives
#: the broken estimators z-scores of 10-50 (far beyond the Bonferroni threshold ~3.5).
B = 20_000
LAM = 0.05


def check_unbiased(samples, exact, alpha=ALPHA):
    """``assert_unbiased`` on the non-constant coordinates; constant ones must equal `exact` to rounding."""
    samples, exact = np.asarray(samples), np.asarray(exact)
    const = (samples == samples[0]).all(axis=0)
    # A constant coordinate is deterministic (the barrier term, same arithmetic as bn_gradient, plus an
    # exact 0 value part); 1e-15 absolute covers the one rounding of the exact value term (d * 0 + barrier).
    assert_allclose(samples[0, const], exact[const], rtol=0, atol=1e-15)
    return assert_unbiased(samples[:, ~const], exact[~const], alpha=alpha)


def random_policy(inst, scale, seed):
    """Moderate random logits (|theta| ~ scale): no context so rare that the t-test's normality fails."""
    rng = np.random.default_rng(seed)
    return inst.policy([scale * rng.normal(size=t.shape) for t in inst.theta0])


def confounded_chain(gamma=0.0):
    """One state, chain 0 -> 1 -> 2, r = 1{a^0 = a^2}; agent 1 copies agent 0 with probability ~0.95.

    For agent 2 (parent 1, non-parent ancestor 0) the Bayes conditional Q(s, a^1, a^2) uses the posterior of
    a^0 given a^1 (~ a^0 = a^1), the intervention the prior of a^0: their advantages differ by ~0.1-0.2.
    """
    acts = np.stack(np.unravel_index(np.arange(8), (2, 2, 2)), axis=1)
    R = (acts[:, 0] == acts[:, 2]).astype(float)[None]
    game = CooperativeMarkovGame(np.ones((1, 8, 1)), R, (2, 2, 2), gamma)
    theta = [np.array([[[1.0, 0.0]]]), np.array([[[1.5, -1.5], [-1.5, 1.5]]]), np.array([[[0.3, 0.0], [0.0, 0.2]]])]
    return game, BNSoftmaxPolicy(game, BayesianNetwork.chain(3), theta)


# ----------------------------------------------------------------------------- unbiasedness
@pytest.mark.parametrize("name, params, scale, seed", [
    ("climbing3", {}, 1.0, 0),                                                    # one state, gamma = 0, full DAG
    ("climbing", {"dag": "chain", "gamma": 0.9}, 1.0, 1),                         # one state, gamma = 0.9
    ("random", {"S": 3, "N": 3, "gamma": 0.9, "dag": "chain"}, 0.7, 2),           # multi-state, chain DAG
    ("random", {"S": 3, "N": 3, "A": 2, "gamma": 0.8, "dag": "product"}, 0.7, 3),  # product policy (empty DAG)
    ("random", {"S": 2, "N": 3, "A": 2, "gamma": 0.5, "dag": "star"}, 0.7, 4),
])
def test_unbiased_against_exact_lemma1_gradient(name, params, scale, seed):
    inst = bn_game(name, seed=seed, **params)
    pol = random_policy(inst, scale, 10 + seed)
    est = bn_pg_estimate(inst.game, pol, LAM, B, rng=seed)
    exact = bn_gradient(inst.game, pol, LAM)
    assert est.samples.shape == (B, pol.size)
    check_unbiased(est.samples, exact.flat)
    # the barrier is added exactly: the same numbers as bn_gradient's barrier part (same arithmetic)
    assert_array_equal(est.barrier, np.concatenate([b.reshape(-1) for b in exact.barrier_part]))
    # per_agent_mean has bn_gradient's block shapes
    assert [m.shape for m in est.per_agent_mean()] == [g.shape for g in exact.per_agent]


def test_unnormalized_reading_matches_bn_gradient_reading():
    inst = bn_game("random", seed=5, S=3, N=3, gamma=0.9, dag="chain")
    pol = random_policy(inst, 0.7, 5)
    est = bn_pg_estimate(inst.game, pol, LAM, B, rng=5, reading="unnormalized")
    check_unbiased(est.samples, bn_gradient(inst.game, pol, LAM, reading="unnormalized").flat)
    # the same draws under the two readings: value parts in the ratio 1/(1 - gamma) exactly (up to rounding)
    norm = bn_pg_estimate(inst.game, pol, LAM, B, rng=5)
    assert_allclose(est.samples - est.barrier, (norm.samples - norm.barrier) / (1 - inst.game.gamma),
                    rtol=1e-12, atol=1e-12)  # one extra multiplication's rounding on values of size <= 1e2


def test_state_draws_follow_normalised_visitation_and_q_hat_is_unbiased():
    inst = bn_game("random", seed=6, S=3, N=2, gamma=0.9, dag="chain")
    pol = random_policy(inst, 0.7, 6)
    est = bn_pg_estimate(inst.game, pol, 0.0, B, rng=6)
    ev = bn_evaluate(inst.game, pol)
    nS, nA = inst.game.n_states, inst.game.n_actions
    assert_unbiased(np.eye(nS)[est.states], ev.d_tilde, alpha=ALPHA)  # s ~ d_tilde = (1 - gamma) d
    joint = np.ravel_multi_index(tuple(est.actions.T), inst.game.action_sizes)
    pair = est.states * nA + joint
    hits = np.zeros((B, nS * nA))
    hits[np.arange(B), pair] = est.q_hat  # E = d_tilde(s) pi(a|s) Q(s, a)
    assert_unbiased(hits, (ev.d_tilde[:, None] * ev.joint * ev.Q).reshape(-1), alpha=ALPHA)
    assert est.horizons.min() >= 0 and est.horizons.max() > 0


def test_gamma_zero_draws_states_from_mu_and_q_hat_is_the_reward():
    inst = bn_game("climbing3")
    pol = random_policy(inst, 1.0, 7)
    est = bn_pg_estimate(inst.game, pol, 0.0, 64, rng=7)
    joint = np.ravel_multi_index(tuple(est.actions.T), inst.game.action_sizes)
    assert_array_equal(est.horizons, 0)
    assert_array_equal(est.q_hat, inst.game.R[0, joint])


# ----------------------------------------------------------------------------- broken estimators are rejected
def test_intervention_estimator_is_rejected_but_unbiased_for_its_own_target():
    game, pol = confounded_chain(gamma=0.5)
    est = bn_pg_estimate(game, pol, LAM, B, rng=8, conditional="intervention")
    with pytest.raises(BiasError, match="sample mean differs"):
        check_unbiased(est.samples, bn_gradient(game, pol, LAM).flat)
    # it estimates the intervention formula exactly, so the rejection is about the conditional, not noise
    check_unbiased(est.samples, bn_gradient(game, pol, LAM, conditional="intervention").flat)
    assert est.q_hat.shape == (3, B)


def test_correct_estimator_passes_on_the_confounded_chain():
    game, pol = confounded_chain(gamma=0.5)
    check_unbiased(bn_pg_estimate(game, pol, LAM, B, rng=8).samples, bn_gradient(game, pol, LAM).flat)


def test_missing_horizon_factor_is_rejected():
    inst = bn_game("random", seed=2, S=3, N=3, gamma=0.9, dag="chain")
    pol = random_policy(inst, 0.7, 12)
    est = bn_pg_estimate(inst.game, pol, LAM, B, rng=9, horizon_factor=False)
    with pytest.raises(BiasError, match="sample mean differs"):
        check_unbiased(est.samples, bn_gradient(inst.game, pol, LAM).flat)


# ----------------------------------------------------------------------------- inputs and seeding
def test_bad_inputs_raise_clear_errors():
    inst = bn_game("coord2", dag="chain")
    pol = inst.policy()
    other = bn_game("climbing", dag="chain")
    with pytest.raises(TypeError, match="CooperativeMarkovGame"):
        bn_pg_estimate(inst.game.mdp, pol, 0.0, 10)
    with pytest.raises(TypeError, match="BNSoftmaxPolicy"):
        bn_pg_estimate(inst.game, pol.theta, 0.0, 10)
    with pytest.raises(ValueError, match="built for a game"):
        bn_pg_estimate(other.game, pol, 0.0, 10)
    for lam in (-1.0, float("nan"), "0.1", True):
        with pytest.raises(ValueError, match="`lam`"):
            bn_pg_estimate(inst.game, pol, lam, 10)
    for n in (0, 2.0, True, -3):
        with pytest.raises(ValueError, match="`n_samples`"):
            bn_pg_estimate(inst.game, pol, 0.0, n)
    with pytest.raises(ValueError, match="`reading`"):
        bn_pg_estimate(inst.game, pol, 0.0, 10, reading="normalised")
    with pytest.raises(ValueError, match="`conditional`"):
        bn_pg_estimate(inst.game, pol, 0.0, 10, conditional="do")
    with pytest.raises(TypeError):
        bn_pg_estimate(inst.game, pol, 0.0, 10, rng=1.5)


@pytest.mark.parametrize("conditional", ["bayes", "intervention"])
def test_seeded_reruns_are_bit_identical(conditional):
    inst = bn_game("random", seed=1, S=3, N=3, gamma=0.9, dag="chain")
    pol = random_policy(inst, 0.7, 1)
    a = bn_pg_estimate(inst.game, pol, LAM, 500, rng=123, conditional=conditional)
    b = bn_pg_estimate(inst.game, pol, LAM, 500, rng=np.random.default_rng(123), conditional=conditional)
    for f in ("samples", "q_hat", "states", "actions", "horizons"):
        assert_array_equal(getattr(a, f), getattr(b, f))
    c = bn_pg_estimate(inst.game, pol, LAM, 500, rng=124, conditional=conditional)
    assert not np.array_equal(a.samples, c.samples)


def test_result_summary_statistics():
    inst = bn_game("coord2", dag="chain", gamma=0.5)
    est = bn_pg_estimate(inst.game, inst.policy(), 0.1, 50, rng=0)
    assert isinstance(est, BNPGEstimate) and est.n_samples == 50
    assert_allclose(est.mean, est.samples.mean(axis=0), rtol=0, atol=0)
    assert_allclose(est.stderr, est.samples.std(axis=0, ddof=1) / np.sqrt(50), rtol=0, atol=0)
    assert np.isnan(bn_pg_estimate(inst.game, inst.policy(), 0.1, 1, rng=0).std).all()


def test_false_alarm_rate_over_seeds_is_consistent_with_alpha():
    # 20 independent seeds at alpha = 0.05: an unbiased estimator is rejected Bin(20, <= 0.05) times;
    # P(X >= 5) < 0.003 for p = 0.05, so more than 4 rejections would indicate a bias or a miscalibrated test.
    inst = bn_game("random", seed=3, S=3, N=3, A=2, gamma=0.8, dag="product")
    pol = random_policy(inst, 0.7, 13)
    exact = bn_gradient(inst.game, pol, LAM).flat
    rejected = 0
    for seed in range(20):
        try:
            check_unbiased(bn_pg_estimate(inst.game, pol, LAM, 5_000, rng=1000 + seed).samples, exact, alpha=0.05)
        except BiasError:
            rejected += 1
    assert rejected <= 4
