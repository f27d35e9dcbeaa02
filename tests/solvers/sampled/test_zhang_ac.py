"""zhang2025 Algorithms 1-3 (solvers/sampled/_zhang_ac.py): neural TD, decentralised critic with gossip, the actor.

Reference quantities come from the exact solvers (solvers/exact/_fisher.py: ``advantage_policy_gradient``,
``pair_values``; solvers/exact/_restart.py: ``restart_stationary``) and from the batched network of
solvers/sampled/_nets.py (``DeepReLU``), which has its own finite-difference tests.
"""

import dataclasses
import math

import numpy as np
import pandas as pd
import pytest

from netmarl_verify.envs import ShapeError, SpreadGrid
from netmarl_verify.envs._zhang2025 import random_mamdp, spread_grid
from netmarl_verify.solvers.exact._fisher import advantage_policy_gradient, exact_objective, pair_values
from netmarl_verify.solvers.sampled import DeepReLU, PowerSchedule
from netmarl_verify.solvers.sampled._zhang_ac import (
    _Critic,
    _Env,
    _Exact,
    _Actor,
    actor_directions,
    deep_neural_td,
    run_zhang_ac,
    sample_tuples,
    spread_features,
    zhang_ac_throughput,
)
from netmarl_verify.testing import BiasError, assert_unbiased

U = 2.0 ** -53


def _tiny(gamma=0.5, seed=0):
    return random_mamdp(2, 2, 2, gamma=gamma, seed=seed)


def _nu_pi(model, policy=None):
    g = advantage_policy_gradient(model, policy)
    return g, (g.nu[:, None] * g.pi).reshape(-1)


def _l2_error(q_values, Q, w):
    """max over copies of the L2(nu x pi) distance of (R, C, S, A) tables to Q: shape (R,)."""
    d = q_values.reshape(q_values.shape[0], q_values.shape[1], -1) - Q.reshape(1, 1, -1)
    return np.sqrt((w * d ** 2).sum(axis=-1)).max(axis=1)


# ---------------------------------------------------------------------------- the network kernel vs DeepReLU
def test_critic_forward_and_td_step_match_deeprelu():
    """The pair-table forward and the fused TD step equal DeepReLU.forward / backward / project (per copy)."""
    model = _tiny()
    envw = _Env(model, None)
    R, N = 3, 2
    crit = _Critic(np.random.default_rng(5), envw, 6, 3, None).init(R)
    net = DeepReLU(crit.H, crit.W0, crit.b)                         # the same R networks
    X = np.eye(envw.P)                                              # one-hot xi
    rng = np.random.default_rng(1)
    W = crit.W0[:, None] + 0.3 * rng.standard_normal((R, N) + crit.W0.shape[1:])
    agents = [DeepReLU(net.H[r], net.W0[r], net.b[r]).expand(N) for r in range(R)]   # run r's N agents
    ref = np.stack([agents[r].forward(X, W[r]) for r in range(R)])                    # (R, N, P)
    # the hidden layers are the same products in the same order; the first layer is a gather instead of
    # H @ e_p (exact: one non-zero product), and the output a dot product of m terms: rounding only
    np.testing.assert_allclose(crit.all_values(W), ref, rtol=1e-13, atol=1e-13)
    pair, target = np.array([0, 3, 7]), np.array([5, 5, 1])
    reward = rng.random((R, N))
    beta, gam, B = 0.05, 0.5, 0.4
    newW, delta = crit.td_step(W, pair, target, reward, beta, gam, B)
    for r in range(R):
        one = agents[r]
        q0 = one.forward(X[[pair[r]]], W[r])[:, 0]
        q1 = one.forward(X[[target[r]]], W[r])[:, 0]
        d = q0 - reward[r] - gam * q1                                # Alg. 2 l. 6
        np.testing.assert_allclose(delta[r], d, rtol=1e-12, atol=1e-12)
        step = W[r] - beta * d[:, None, None, None] * one.backward(X[[pair[r]]], np.ones(1), W[r])
        np.testing.assert_allclose(newW[r], one.project(step, B), rtol=1e-12, atol=1e-12)


def test_given_features_match_one_hot_network():
    """ξ given as an (S, A, d) array: the same network values as DeepReLU on those inputs."""
    grid = SpreadGrid(2, 3, 2)
    X = spread_features(grid)
    np.testing.assert_allclose(np.linalg.norm(X, axis=-1), 1.0, rtol=0, atol=1e-15)
    assert len({tuple(np.round(r, 12)) for r in X.reshape(-1, X.shape[-1])}) == X.shape[0] * X.shape[1]  # one-to-one
    envw = _Env(grid, None)
    crit = _Critic(np.random.default_rng(2), envw, 5, 2, X).init(2)
    net = DeepReLU(crit.H, crit.W0, crit.b)
    np.testing.assert_allclose(crit.all_values(crit.W0[:, None])[:, 0], net.forward(X.reshape(-1, X.shape[-1])),
                               rtol=1e-12, atol=1e-12)


# ---------------------------------------------------------------------------- Alg. 3 converges to Q_theta
def test_alg3_critic_converges_to_exact_q():
    """Alg. 3 (r̄, running average) on a 2-state, 4-joint-action MDP: the L2(ν⊗π) error to Q_θ falls.

    Target: the one-hot features make the linearised network's gradient features φ(x) (D m² = 512 of them)
    span all 8 pairs, so the linearised TD fixed point (Fact C.3 without an active ball) *is* Q_θ on
    supp ν; what remains is the linearisation error and the step-size noise of the averaged iterate.
    Measured (R = 4, seed 0): mean error 2.88 at k = 0, 0.90 at k = 100, 0.10 at k = 2000 (ratio 0.035;
    seeds 1-5: 0.021-0.043); the bound asserted, 0.2 x the initial error, leaves a factor 5 for other seeds
    and BLAS rounding.
    """
    model = _tiny()
    res = deep_neural_td(model, K=2001, beta=0.02, width=16, depth=2, runs=4, rng=0, checkpoints=[0, 100, 2000])
    e = res.trace.groupby("iteration").critic_error.mean()
    assert e[2000] < e[100] < e[0]
    assert e[2000] < 0.2 * e[0]
    # the trace's error is the one of the returned tables against the exact Q of the model
    g, w = _nu_pi(model)
    np.testing.assert_allclose(res.q_exact, pair_values(model, g.pi)[1], rtol=1e-12)
    np.testing.assert_allclose(_l2_error(res.q_values, g.Q, w), res.trace[res.trace.iteration == 2000].critic_error,
                               rtol=1e-10)
    assert res.settings["algorithm"] == 3 and res.weights.shape[:2] == (4, 1)


def test_wrong_discount_is_detected():
    """Broken input: the critic trained on a copy of the model with γ = 0.9 stays far from the true Q_θ (γ = 0.5).

    Same seed, hence the same initial network: the correct run ends at 0.10 (initial error 2.88), the broken
    one at 2.04 against the true Q_θ, far above the 0.2 x initial-error bound of the previous test (0.58).
    """
    model = _tiny()
    broken = dataclasses.replace(model, gamma=0.9)
    g, w = _nu_pi(model)
    kw = dict(K=2001, beta=0.02, width=16, depth=2, runs=4, rng=0, checkpoints=[0, 2000])
    good = deep_neural_td(model, **kw)
    res = deep_neural_td(broken, **kw)
    e0 = good.trace.groupby("iteration").critic_error.mean()[0]
    err = _l2_error(res.q_values, g.Q, w).mean()
    assert _l2_error(good.q_values, g.Q, w).mean() < 0.2 * e0 < err


def test_alg2_with_averaging_matrix_is_the_mean():
    """Gossip with A = J/N (one round) replaces every agent's parameters by the agents' mean (Alg. 2 l. 12)."""
    model = random_mamdp(3, 2, 2, gamma=0.5, seed=1)
    J = np.full((3, 3), 1 / 3)
    res = deep_neural_td(model, K=40, beta=0.05, algorithm=2, A=J, t_gossip=1, width=6, depth=2, runs=2, rng=3)
    mean = res.averaged.mean(axis=1, keepdims=True)
    # each output entry is a 3-term dot product with weights 1/3: a few ulps of the largest magnitude
    np.testing.assert_allclose(res.weights, np.broadcast_to(mean, res.weights.shape), rtol=0,
                               atol=8 * U * np.abs(res.averaged).max())
    assert res.trace.consensus_error.iloc[-1] > 0                   # the agents did disagree before gossip
    res0 = deep_neural_td(model, K=40, beta=0.05, algorithm=2, A=J, t_gossip=0, width=6, depth=2, runs=2, rng=3)
    np.testing.assert_array_equal(res0.weights, res.averaged)       # t = 0: A^0 = I


def test_actor_gossip_with_averaging_matrix_is_the_team_td_error():
    """Alg. 1 l. 12-15, A = J/N: every agent's weight is the mean TD error (the team TD error of the mean critic)."""
    model = random_mamdp(2, 3, 2, gamma=0.8, seed=2)
    pol = model.policy
    rng = np.random.default_rng(0)
    batch = sample_tuples(model, pol, rng.integers(0, 3, size=50), 4, rng=1)
    Q = rng.standard_normal((2, 3, 4))
    J = np.full((2, 2), 0.5)
    team = dataclasses.replace(model, local_R=np.broadcast_to(model.local_R.mean(axis=0), model.local_R.shape))
    team_batch = dataclasses.replace(batch, rewards=np.broadcast_to(batch.rewards.mean(axis=2, keepdims=True),
                                                                    batch.rewards.shape))
    for direction in ("td_q", "td_v"):
        d = actor_directions(model, pol, batch, Q, direction=direction, A=J, t_gossip=1)
        ref = actor_directions(team, pol, team_batch, np.broadcast_to(Q.mean(axis=0), Q.shape), direction=direction,
                               A=np.eye(2), t_gossip=0)
        np.testing.assert_allclose(d, ref, rtol=1e-12, atol=1e-13)


def test_consensus_error_vanishes_with_averaging_matrix():
    model = random_mamdp(2, 2, 2, gamma=0.5, seed=0)
    res = run_zhang_ac(model, T=4, K=3, M=2, alpha=0.1, beta=0.05, width=6, depth=2, A=np.full((2, 2), 0.5),
                       t_gossip=1, runs=2, rng=0, checkpoints=[0, 2])
    rows = res.trace[res.trace.iteration < 4]
    assert (rows.spread_before_gossip > 0).all()
    assert (rows.consensus_error < 1e-13).all() and (rows.td_consensus < 1e-13).all()


# ---------------------------------------------------------------------------- the actor's expected direction
def _iid_batch(model, n, seed):
    """n i.i.d. tuples (s ~ ν, a ~ π, s'' ~ P, a'' ~ π): the law the proofs take expectations under."""
    g = advantage_policy_gradient(model)
    rng = np.random.default_rng(seed)
    states = rng.choice(model.n_states, size=n, p=g.nu)
    return g, sample_tuples(model, model.policy, states, 1, rng=rng)


def _mixed_expectation(model, g, B, adv_local):
    """Exact E_ν[ψ^i Σ_j B_ij Adv^j] per agent block, stacked (p,)."""
    w = g.pi[:, :, None] * g.scores                                              # (S, A, p)
    out = np.zeros(g.grad.shape)
    for i, blk in enumerate(g.blocks):
        mix = np.tensordot(B[i], adv_local, axes=1)                              # (S, A)
        out[blk] = np.einsum("s,sap,sa->p", g.nu, w, mix)[blk]
    return out


@pytest.fixture(scope="module")
def exact_setup():
    model = random_mamdp(2, 3, 2, gamma=0.8, seed=3)
    g, batch = _iid_batch(model, 20000, seed=7)
    Ql = np.stack([pair_values(model, g.pi, rewards=model.local_R[i])[1] for i in range(2)])
    adv_l = Ql - (g.pi * Ql).sum(axis=2, keepdims=True)
    return model, g, batch, Ql, adv_l


def test_expected_direction_with_exact_critic_is_the_advantage_gradient(exact_setup):
    r"""With the exact local critics Q^i_θ and s ~ ν: E[d] for each variant, against the exact expectation.

    * ``td_v`` with A = J/N (exact consensus), ``adv_oracle``:
      :math:`E_\nu[\psi\,\mathrm{Adv}_\theta] = (1-\gamma)\nabla J`
      (Lemma 4.3, B.2's constant; ``advantage_policy_gradient(...).nu_adv``);
    * ``td_v`` with a general A: :math:`E_\nu[\psi^i\sum_j(A^t)_{ij}\mathrm{Adv}^j]` (the actor-gossip bias);
    * ``q_value``: :math:`E_\nu[\psi^i Q^i] = E_\nu[\psi^i\mathrm{Adv}^i]` (local rewards, no gossip);
    * ``td_q`` (as printed): zero, since :math:`E[Q - r - \gamma Q'|s,a] = 0` for the exact Q.

    α = 1e-3 (Bonferroni over the 12 coordinates, t-test on 20,000 i.i.d. samples): fixed seed, deterministic.
    """
    model, g, batch, Ql, adv_l = exact_setup
    np.testing.assert_allclose(g.nu_adv, (1 - model.gamma) * g.grad, rtol=1e-10, atol=1e-12)
    J2 = np.full((2, 2), 0.5)
    A = np.array([[0.7, 0.3], [0.3, 0.7]])
    cases = [("td_v", J2, 1, g.nu_adv), ("adv_oracle", J2, 0, g.nu_adv),
             ("td_v", A, 2, _mixed_expectation(model, g, np.linalg.matrix_power(A, 2), adv_l)),
             ("q_value", A, 3, _mixed_expectation(model, g, np.eye(2), adv_l)),
             ("td_q", A, 2, np.zeros_like(g.grad)), ("td_error", J2, 1, np.zeros_like(g.grad))]
    for direction, AA, t, exact in cases:
        d = actor_directions(model, model.policy, batch, Ql, direction=direction, A=AA, t_gossip=t)
        assert_unbiased(d, exact, alpha=1e-3, err_msg=f"{direction}, t_gossip={t}")
    assert np.linalg.norm(g.nu_adv) > 0.02                           # not trivially zero (0.032)


def test_expected_direction_detects_broken_inputs(exact_setup):
    """Broken inputs make the batch mean differ from (1-γ)∇J (z-scores measured on seed 3: 11 to 54, threshold 4.1).

    * critic tables of the wrong discount (0.5 for 0.8), through ``adv_oracle`` (exact Adv of those tables);
    * states drawn uniformly instead of from the restart law ν (Lemma 4.2), ``td_v``;
    * no actor gossip (t_gossip = 0) with local rewards: agent i follows its own advantage, ``td_v``.
    (``td_v`` itself is insensitive to the wrong discount: its V baseline cancels most of it, z = 0.8.)
    """
    model, g, batch, Ql, _ = exact_setup
    J2 = np.full((2, 2), 0.5)
    wrong = dataclasses.replace(model, gamma=0.5)
    Qw = np.stack([pair_values(wrong, g.pi, rewards=model.local_R[i])[1] for i in range(2)])
    uniform = sample_tuples(model, model.policy, np.random.default_rng(8).integers(0, 3, size=20000), 1, rng=9)
    broken = [actor_directions(model, model.policy, batch, Qw, direction="adv_oracle"),
              actor_directions(model, model.policy, uniform, Ql, direction="td_v", A=J2, t_gossip=1),
              actor_directions(model, model.policy, batch, Ql, direction="td_v", A=J2, t_gossip=0)]
    for d in broken:
        with pytest.raises(BiasError):
            assert_unbiased(d, g.nu_adv, alpha=1e-3)


# ---------------------------------------------------------------------------- Alg. 1 end to end
def test_normalisation_modes_step_lengths():
    """Alg. 1 l. 17: per agent ||θ^i_{t+1} - θ^i_t|| = α_t; proof (8): ||θ_{t+1} - θ_t|| = α_t; none: α_t d."""
    model = random_mamdp(2, 3, 2, gamma=0.8, seed=1)
    blocks = model.policy.blocks
    kw = dict(T=1, K=2, M=3, alpha=0.05, beta=0.05, width=6, depth=2, runs=3, rng=4, direction="td_v",
              checkpoints=[0], exact_metrics=False, J_star=None)
    for mode in ("per_agent", "global", "none"):
        seen = {}
        res = run_zhang_ac(model, normalisation=mode, callback=lambda st: seen.update(d=st.direction), **kw)
        step = res.theta - model.policy.flat
        per = np.stack([np.linalg.norm(step[:, b], axis=1) for b in blocks], axis=1)
        if mode == "per_agent":
            np.testing.assert_allclose(per, 0.05, rtol=1e-12)
        elif mode == "global":
            np.testing.assert_allclose(np.linalg.norm(step, axis=1), 0.05, rtol=1e-12)
        else:
            np.testing.assert_allclose(step, 0.05 * seen["d"], rtol=1e-12, atol=1e-15)


def test_oracle_ascent_and_trace_columns():
    """grad_oracle with α/t steps raises the exact J and lowers the regret; the trace carries the exact columns."""
    model = random_mamdp(2, 3, 2, seed=1)
    res = run_zhang_ac(model, T=40, alpha=PowerSchedule(0.5, 1.0), direction="grad_oracle", runs=2, rng=0,
                       checkpoints=[0, 40])
    tr = res.trace
    for col in ("J", "regret", "grad_norm", "direction_cosine", "alpha", "critic_error", "consensus_error"):
        assert col in tr
    first, last = tr[tr.iteration == 0], tr[tr.iteration == 40]
    assert (last.J.values > first.J.values).all() and (last.regret.values >= -1e-12).all()
    np.testing.assert_allclose(first.direction_cosine, 1.0, rtol=1e-12)
    assert tr.alpha.iloc[0] == 0.5 and math.isclose(float(last.alpha.iloc[0]), 0.5 / 41)
    np.testing.assert_allclose(first.regret + first.J, res.J_star, rtol=1e-12)
    # J is the claims' exact objective (solvers/exact/_fisher.py exact_objective) of the final policies
    for r in range(2):
        assert math.isclose(float(last.J.iloc[r]), exact_objective(model, res.policy(r)), rel_tol=1e-12)


def test_neural_run_traces_critic_error_against_exact_q():
    """The trace's critic_error is max_i ||Q̂(W^i_t) - Q_θt||_{L2(ν⊗π)} of the critic the actor used."""
    model = random_mamdp(2, 2, 2, gamma=0.6, seed=4)
    seen = {}
    res = run_zhang_ac(model, T=3, K=4, M=2, alpha=0.05, beta=0.05, width=6, depth=2, runs=2, rng=1,
                       checkpoints=[2], callback=lambda st: seen.update(W=st.critic_weights, th=st.theta))
    envw = _Env(model, None)
    crit = _Critic(np.random.default_rng(1), envw, 6, 2, None).init(2)      # the same first draws of rng=1
    Qh = crit.all_values(seen["W"]).reshape(2, 2, model.n_states, model.n_actions)
    for r in range(2):
        g, w = _nu_pi(model, model.policy.with_flat(seen["th"][r]))
        err = _l2_error(Qh[r:r + 1], g.Q, w)[0]
        assert math.isclose(err, float(res.trace.critic_error.iloc[r]), rel_tol=1e-10)


def test_spread_grid_instances():
    """spread_grid N = 2 as a ZhangMAMDP, and the full-size SpreadGrid's exact columns against the dense solvers."""
    inst = spread_grid(N=2, length=3, width=2, gamma=0.9)
    res = run_zhang_ac(inst, T=5, K=2, M=2, alpha=0.05, beta=0.01, width=6, depth=2, runs=2, rng=0,
                       checkpoints=[0, 5], direction="td_v")
    assert res.trace.J.notna().all() and res.trace.regret.notna().all()
    # the sparse SpreadGrid path (successor table, sparse solves) against the dense ZhangMAMDP path
    grid = SpreadGrid(2, 3, 2)
    dense = dataclasses.replace(inst, policy=inst.policy.with_flat(np.zeros(inst.policy.size)))
    g = advantage_policy_gradient(dense)
    ex = _Exact(_Env(grid, 0.9), "original").at(_Actor(_Env(grid, 0.9), None, 1), 0)
    assert math.isclose(ex["J"], g.J, rel_tol=1e-10)
    np.testing.assert_allclose(ex["grad"], g.grad, rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(ex["nu"], g.nu, rtol=1e-9, atol=1e-13)
    full = run_zhang_ac(SpreadGrid(2, 13, 5), T=2, alpha=0.005, beta=0.001, runs=1, rng=0, checkpoints=[0],
                        J_star=None)
    assert full.trace[["J", "episode_return", "critic_error", "direction_cosine"]].notna().all().all()


def test_throughput_is_positive():
    rate = zhang_ac_throughput(runs=4, T=5)
    assert rate > 0 and math.isfinite(rate)


# ---------------------------------------------------------------------------- inputs and reproducibility
def test_bad_inputs_raise_clear_errors():
    model = _tiny()
    kw = dict(T=1, alpha=0.1, width=4, depth=1, exact_metrics=False, J_star=None)
    with pytest.raises(ValueError, match="doubly stochastic"):
        run_zhang_ac(model, A=np.array([[1.0, 0.0], [1.0, 0.0]]), **kw)      # row-stochastic only
    with pytest.raises(ShapeError, match="shape"):
        run_zhang_ac(model, A=np.eye(3), **kw)
    with pytest.raises(ValueError, match="direction"):
        run_zhang_ac(model, direction="advantage", **kw)
    with pytest.raises(ValueError, match="normalisation"):
        run_zhang_ac(model, normalisation="l1", **kw)
    with pytest.raises(ValueError, match="`K`"):
        run_zhang_ac(model, K=0, **kw)
    with pytest.raises(ValueError, match="`beta`"):
        run_zhang_ac(model, beta=-1.0, **kw)
    with pytest.raises(ValueError, match="`gamma`"):
        run_zhang_ac(model, gamma=0.7, **kw)
    with pytest.raises(ValueError, match="unit Euclidean norm"):
        run_zhang_ac(model, features=np.ones((2, 4, 3)), **kw)
    with pytest.raises(TypeError, match="ZhangMAMDP or a SpreadGrid"):
        run_zhang_ac("spread", **kw)
    with pytest.raises(NotImplementedError, match="original kernel"):
        run_zhang_ac(SpreadGrid(2, 3, 2), kernel="restart", T=1, alpha=0.1, width=4, depth=1)
    with pytest.raises(ValueError, match="`t_gossip`"):
        deep_neural_td(model, K=3, t_gossip=-1)


def test_seeded_reruns_are_bit_identical():
    model = random_mamdp(2, 3, 2, seed=5)
    kw = dict(T=6, K=2, M=2, alpha=0.05, beta=0.05, width=6, depth=2, runs=3, checkpoints=[0, 3, 6],
              restart=True, reset_every=4)
    a = run_zhang_ac(model, rng=11, **kw)
    b = run_zhang_ac(model, rng=11, **kw)
    np.testing.assert_array_equal(a.theta, b.theta)
    np.testing.assert_array_equal(a.critic_weights, b.critic_weights)
    pd.testing.assert_frame_equal(a.trace, b.trace)
    assert a.seed == 11
    c = run_zhang_ac(model, rng=12, **kw)
    assert not np.array_equal(a.theta, c.theta)


# ---------------------------------------------------------------------------- brute-force reference, other modes
@pytest.mark.parametrize("parametrisation", ["tabular", "reduced", "loglinear", "loop"])
def test_actor_directions_against_a_brute_force_reference(parametrisation):
    """d^i = (1/M) Σ_l w^i_l ψ^i(s_l, a^i_l) by a Python loop over samples and ProductSoftmaxPolicy.joint_scores()."""
    A_i = 3 if parametrisation == "loop" else 2
    model = random_mamdp(2, 3, A_i, gamma=0.7, seed=6, parametrisation=parametrisation)
    pol = model.policy
    rng = np.random.default_rng(3)
    R, M = 5, 4
    batch = sample_tuples(model, pol, rng.integers(0, 3, size=R), M, rng=4)
    Q = rng.standard_normal((2, model.n_states, model.n_actions))
    psi = pol.joint_scores()                                              # (S, |A|, p)
    pi = pol.joint_table()
    V = (pi[None] * Q).sum(axis=2)                                        # (N, S)
    for direction in ("q_value", "td_v", "td_q"):
        ref = np.zeros((R, pol.size))
        for r in range(R):
            for l in range(M):
                s, p, s2, p2 = (int(x[r, l]) for x in (batch.states, batch.pairs, batch.target_states, batch.targets))
                a, a2 = p - s * model.n_actions, p2 - s2 * model.n_actions
                for i, blk in enumerate(pol.blocks):
                    ri = model.local_R[i, s, a]
                    w = {"q_value": Q[i, s, a], "td_v": ri + model.gamma * V[i, s2] - V[i, s],
                         "td_q": Q[i, s, a] - ri - model.gamma * Q[i, s2, a2]}[direction]
                    ref[r, blk] += w * psi[s, a, blk] / M
        d = actor_directions(model, pol, batch, Q, direction=direction, A=np.eye(2), t_gossip=0)
        np.testing.assert_allclose(d, ref, rtol=1e-12, atol=1e-14, err_msg=direction)


def test_other_modes_run_and_restart_kernel_critic_converges():
    """warm critic start, continued actor start, restart kernel, resets, centralised critic, N = 1 loop policy."""
    from netmarl_verify.envs._zhang2025 import bandit3_loop

    model = _tiny()
    res = deep_neural_td(model, K=2001, beta=0.02, width=16, depth=2, runs=4, rng=0, checkpoints=[0, 2000],
                    kernel="restart")
    g = advantage_policy_gradient(model, kernel="restart")
    np.testing.assert_allclose(res.q_exact, g.Q, rtol=1e-12)
    e = res.trace.groupby("iteration").critic_error.mean()
    assert e[2000] < 0.2 * e[0]                                           # as for the original kernel
    for kw in (dict(critic_start="warm", actor_start="continue"), dict(kernel="restart", reset_every=3),
               dict(critic="centralised", normalisation="global", restart=False)):
        out = run_zhang_ac(model, T=4, K=3, M=2, alpha=0.05, beta=0.05, width=6, depth=2, runs=2, rng=0,
                           checkpoints=[0, 4], **kw)
        assert out.trace.J.notna().all() and np.isfinite(out.theta).all()
        assert out.settings["kernel"] == kw.get("kernel", "original")
    loop = bandit3_loop(1.0, 2.0, gamma=0.9)
    out = run_zhang_ac(loop, T=30, alpha=0.1, direction="td_v", critic="exact", runs=2, rng=0, checkpoints=[0, 30])
    J = out.trace.groupby("iteration").J.mean()
    assert J[30] > J[0]
    np.testing.assert_array_equal(out.policy(1).flat, out.theta[1])


def test_diverging_critic_fails_loudly():
    """β far too large for m = 20, D = 5 (TD diverges): a NonFiniteError naming the iteration, not NaN parameters."""
    from netmarl_verify.envs import NonFiniteError

    model = random_mamdp(2, 3, 2, seed=1)
    with pytest.raises(NonFiniteError, match="critic diverged"):
        run_zhang_ac(model, T=300, K=20, M=5, alpha=0.02, beta=0.02, runs=2, rng=0, checkpoints=[], J_star=None)
    with pytest.raises(NonFiniteError, match="TD error is not finite"):
        deep_neural_td(model, K=400, beta=0.05, runs=2, rng=0, checkpoints=[])
