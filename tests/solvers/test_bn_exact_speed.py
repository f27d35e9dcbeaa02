"""Issue 13 §3: the fast paths of solvers/exact/_bn_exact.py give the numbers of the plain routes, and scale.

* ``bn_nash_gap`` (prefix/suffix products, tensor reductions) against per-agent ``bn_best_response`` (its
  own product loop) and against the grouped sums by ``np.bincount`` of ``bn_gradient``;
* ``bn_gradient_ascent``'s loop (``_AscentStep``) against a reference loop through the public
  ``bn_gradient`` / ``bn_objective`` / ``BNSoftmaxPolicy`` (bit-identical: same arithmetic);
* the issue-13 sizes run (one state with N = 16 binary agents, 10 states with N = 10) — the time goal
  (< 2 s) is measured by ``verify/_bench_chen2024.py``; here only a generous bound, since the test
  machine is shared.
"""

import time

import numpy as np
import pytest
from numpy.testing import assert_allclose, assert_array_equal

from netmarl_verify.envs._bn_games import bn_game
from netmarl_verify.solvers.exact._bn_exact import (
    _augmented_parts,
    _group_by_agent,
    _grouped,
    beta_lambda,
    bn_best_response,
    bn_gradient,
    bn_gradient_ascent,
    bn_nash_gap,
    bn_objective,
    log_barrier,
)


def random_policy(inst, scale, seed):
    rng = np.random.default_rng(seed)
    return inst.policy([t + scale * rng.normal(size=t.shape) for t in inst.theta0])


@pytest.mark.parametrize("name, params", [("chain3", {}), ("random", {"S": 3, "N": 4, "dag": "inward_star"}),
                                          ("random", {"S": 2, "N": 3, "A": 3, "dag": "full"}), ("mod3", {})])
def test_group_by_agent_equals_bincount_grouping(name, params):
    inst = bn_game(name, seed=1, **params)
    pol = random_policy(inst, 1.0, 1)
    vals = np.random.default_rng(2).random((inst.game.n_states, inst.game.n_actions))
    for i in range(inst.game.n_agents):
        nP, Ai = pol.parent_sizes[i], inst.game.action_sizes[i]
        ref = _grouped(vals, pol.config[i] * Ai + pol.own[i], nP * Ai).reshape(-1, nP, Ai)
        # two summation orders of the same <= n_actions terms in [0, 1): rounding ~1e-16 x n_actions
        assert_allclose(_group_by_agent(vals, pol, i), ref, rtol=1e-13, atol=1e-14)


@pytest.mark.parametrize("name, params, scale", [("chain3", {}, 1.0), ("and3", {"c": 200.0}, 0.0),
                                                 ("miscoordinated_full", {"c": 800.0}, 0.0),
                                                 ("random", {"S": 3, "N": 4, "dag": "star"}, 2.0)])
def test_nash_gap_fast_path_matches_per_agent_best_responses(name, params, scale):
    inst = bn_game(name, seed=3, **params)
    pol = random_policy(inst, scale, 3)
    gap, brs = bn_nash_gap(inst.game, pol)
    for i, b in enumerate(brs):
        ref = bn_best_response(inst.game, pol, i)
        assert_array_equal(b.rule, ref.rule)
        # values of size <= 1/(1 - gamma) = 10; products formed in another order: rounding only
        assert_allclose(b.gain, ref.gain, rtol=0, atol=1e-12)
        assert_allclose(b.V, ref.V, rtol=0, atol=1e-12)
        m_fast = _augmented_parts(inst.game, pol, i)[0]
        assert_allclose(b.context, m_fast, rtol=0, atol=1e-15)
    assert gap == max(b.gain for b in brs) and gap >= -1e-12


def test_ascent_loop_is_bit_identical_to_the_public_route():
    inst = bn_game("random", seed=4, S=3, N=3, dag="chain")
    pol = random_policy(inst, 1.0, 4)
    lam = 0.01
    eta = 1.0 / beta_lambda(inst.game, inst.dag, lam)[0]
    trace = bn_gradient_ascent(inst.game, pol, lam, eta, 60)
    L, norms, p = [], [], pol
    for _ in range(60):
        g = bn_gradient(inst.game, p, lam)
        L.append(g.evaluation.value + lam * log_barrier(p))
        norms.append(g.norm)
        p = p.with_theta([a + eta * b for a, b in zip(p.theta, g.per_agent)])
    L.append(bn_objective(inst.game, p, lam))
    assert_array_equal(trace.L, L)
    assert_array_equal(trace.grad_norm, norms)
    for a, b in zip(trace.theta, p.theta):
        assert_array_equal(a, b)


@pytest.mark.parametrize("name, params", [("parity_star", {"N": 16}), ("single_state", {"N": 16, "kind": "climbing"}),
                                          ("random", {"S": 10, "N": 10, "dag": "full"})])
def test_issue13_sizes_run(name, params):
    inst = bn_game(name, seed=0, **params)
    pol = random_policy(inst, 1.0, 0)
    t0 = time.perf_counter()
    gap, brs = bn_nash_gap(inst.game, pol)
    wall = time.perf_counter() - t0
    assert np.isfinite(gap) and gap >= -1e-12 and len(brs) == inst.game.n_agents
    assert wall < 20.0  # goal 2 s (measured ~0.05-0.1 s); 10x slack for a loaded shared machine
