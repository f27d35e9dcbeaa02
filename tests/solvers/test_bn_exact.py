"""chen2024 exact quantities (solvers/exact/_bn_exact.py), each against a second route."""

import numpy as np
import pytest

from netmarl_verify.envs._bn_games import BNSoftmaxPolicy, bn_game
from netmarl_verify.solvers.exact import best_response, discounted_visitation, policy_iteration, policy_values
from netmarl_verify.solvers.exact._bn_exact import (
    augmented_mdp,
    beta_lambda,
    bn_evaluate,
    bn_gradient,
    bn_gradient_ascent,
    bn_hessian,
    bn_nash_gap,
    bn_objective,
    bn_optimal_value,
    brute_force_best_gain,
    central_difference_gradient,
    joint_log_barrier,
    log_barrier,
    mismatch_coefficient,
)


def _pol(inst, seed=0, scale=1.0):
    rng = np.random.default_rng(seed)
    return inst.policy([scale * rng.standard_normal(s) for s in BNSoftmaxPolicy(inst.game, inst.dag).shapes])


def test_evaluation_matches_the_core():
    inst = bn_game("random", S=3, N=2, dag="chain", gamma=0.9, seed=1)
    pol = _pol(inst)
    ev = bn_evaluate(inst.game, pol)
    np.testing.assert_allclose(ev.V, policy_values(inst.game.mdp, ev.joint, 0.9), rtol=1e-12)
    np.testing.assert_allclose(ev.d_tilde, discounted_visitation(inst.game.mdp, ev.joint, 0.9, inst.game.mu),
                               rtol=1e-10)
    assert ev.d.sum() == pytest.approx(1 / (1 - 0.9), rel=1e-12)


@pytest.mark.parametrize("dag", ["product", "chain", "star", "full"])
def test_lemma1_normalized_matches_finite_differences(dag):
    inst = bn_game("random", S=2, N=3, dag=dag, gamma=0.9, seed=3)
    pol, lam = _pol(inst, 1), 0.05
    fd = central_difference_gradient(lambda x: bn_objective(inst.game, pol.with_flat(x), lam), pol.flat)
    np.testing.assert_allclose(bn_gradient(inst.game, pol, lam).flat, fd, atol=1e-7)
    # the unnormalised reading multiplies the value term by 1/(1-gamma)
    g = bn_gradient(inst.game, pol, lam)
    gu = bn_gradient(inst.game, pol, lam, reading="unnormalized")
    for a, b in zip(gu.value_part, g.value_part):
        np.testing.assert_allclose(a, 10 * b, rtol=1e-12, atol=1e-15)


def test_intervention_and_state_weighting_fail_on_the_chain():
    inst = bn_game("chain3", seed=0)
    pol, lam = _pol(inst, 2), 0.01
    fd = central_difference_gradient(lambda x: bn_objective(inst.game, pol.with_flat(x), lam), pol.flat)
    assert np.abs(bn_gradient(inst.game, pol, lam, conditional="intervention").flat - fd).max() > 1e-4
    assert np.abs(bn_gradient(inst.game, pol, lam, weighting="state").flat - fd).max() > 1e-4


def test_barrier_identity_and_log_softmax_stability():
    inst = bn_game("random", S=2, N=3, dag="chain", seed=0)
    pol = _pol(inst, 0, 300.0)  # pi underflows to 0 somewhere
    assert np.isfinite(log_barrier(pol))
    assert log_barrier(pol) == pytest.approx(joint_log_barrier(pol), rel=1e-12)
    assert log_barrier(inst.policy()) == pytest.approx(0.0, abs=1e-14)


def test_best_response_three_routes_and_product_case():
    inst = bn_game("chain3", seed=1)
    pol = _pol(inst, 4)
    gap, brs = bn_nash_gap(inst.game, pol)
    for i, b in enumerate(brs):
        assert b.gain == pytest.approx(brute_force_best_gain(inst.game, pol, i), abs=1e-10)
        mdp, mu = augmented_mdp(inst.game, pol, i)
        assert float(mu @ policy_iteration(mdp, inst.game.gamma).V) == pytest.approx(b.value, abs=1e-10)
    assert gap == max(b.gain for b in brs) and bn_nash_gap(inst.game, pol, aggregate="sum")[0] >= gap
    prod = bn_game("random", S=2, N=3, dag="product", seed=2)
    ppol = _pol(prod, 5)
    tables = [t[:, 0, :] for t in ppol.local_tables()]
    for i, b in enumerate(bn_nash_gap(prod.game, ppol)[1]):
        assert b.gain == pytest.approx(best_response(prod.game.mdp, (2, 2, 2), tables, i, 0.9, prod.game.mu).gain,
                                       abs=1e-10)


def test_gaps_differ_on_the_miscoordinated_full_policy():
    inst = bn_game("miscoordinated_full", c=8.0)
    gap, _ = bn_nash_gap(inst.game, inst.policy())
    opt = bn_optimal_value(inst.game)[0] - bn_evaluate(inst.game, inst.policy()).value
    assert 0 <= gap <= opt + 1e-12
    assert gap < 1e-2 and opt < 1e-2  # both small: pi^1(a^1 = 1) ~ e^-8, the poor answer is rarely used
    # agent 2's rule at the rare context is what a BN deviation fixes
    assert bn_nash_gap(inst.game, inst.policy())[1][1].rule[0].tolist() == [0, 1]


def test_optimal_value_routes_and_mismatch_known_answers():
    inst = bn_game("random", S=3, N=2, gamma=0.8, seed=7)
    vals = [bn_optimal_value(inst.game, m)[0] for m in ("policy_iteration", "value_iteration", "lp")]
    assert max(vals) - min(vals) < 1e-7
    Mc = mismatch_coefficient(inst.game)
    assert 1.0 <= Mc.M <= 1 / ((1 - 0.8) * inst.game.mu.min())
    assert mismatch_coefficient(bn_game("coord2").game).M == 1.0


def test_hessian_regulariser_part_is_the_exact_block_and_beta_bounds_it():
    inst = bn_game("random", S=2, N=2, dag="chain", gamma=0.5, seed=0)
    pol, lam = _pol(inst, 1), 0.1
    Hv, Hb = bn_hessian(inst.game, pol, lam)
    fd = np.array([(bn_gradient(inst.game, pol.with_flat(pol.flat + 1e-5 * e), lam).flat
                    - bn_gradient(inst.game, pol.with_flat(pol.flat - 1e-5 * e), lam).flat) / 2e-5
                   for e in np.eye(pol.size)])
    np.testing.assert_allclose(0.5 * (fd + fd.T), Hv + Hb, atol=1e-6)
    beta, vb, bb = beta_lambda(inst.game, inst.dag, lam)
    assert np.abs(np.linalg.eigvalsh(Hv + Hb)).max() <= beta and np.abs(np.linalg.eigvalsh(Hb)).max() <= bb


def test_gradient_ascent_monotone_with_the_ascent_inequality():
    inst = bn_game("coord2", dag="full")
    lam = 0.05
    beta = beta_lambda(inst.game, inst.dag, lam)[0]
    tr = bn_gradient_ascent(inst.game, _pol(inst, 0, 0.01), lam, 1 / beta, 300, gap="nash", epsilon=1e-9,
                            stop_at_first_passage=False)
    assert np.all(np.diff(tr.L) >= -1e-14)
    assert (tr.grad_norm ** 2).sum() <= 2 * (tr.L[-1] - tr.L[0]) * beta
    assert len(tr.to_frame()) == 300 and tr.gap[-1] < tr.gap[0]
