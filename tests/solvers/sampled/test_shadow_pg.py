"""ying2023 Algorithm 1 (solvers.sampled._shadow_pg) against a plain reference and the exact companions.

* ``_reference_estimates`` below is lines 3-6 written with Python loops over runs, trajectories,
  steps and agents and dict tables keyed by tuples (no flat indices, no padding). It consumes each
  run's stream in the documented order, so the vectorised kernel must reproduce it to rounding.
* Monte-Carlo means are compared with the exact H-truncated expectations
  (solvers.exact.horizon_expectations) within a CLT tolerance: the ``R`` runs of one call are
  i.i.d. given the policy, so for every entry the mean over runs is within ``Z * sd / sqrt(R)`` of
  its expectation with probability about ``1 - ALPHA / d`` (two-sided normal quantile), and a
  Bonferroni union over the ``d`` entries gives ``1 - ALPHA`` overall; ``sd`` is the sample standard
  deviation over runs (an entry with zero spread must match to 1e-12). Fixed seeds: deterministic.
* The TD oracle is checked against solvers.exact.td_fixed_point (the stationary pair law).
"""

import math

import networkx as nx
import numpy as np
import pandas as pd
import pytest
from numpy.testing import assert_allclose, assert_array_equal
from scipy.stats import norm

from netmarl_verify import envs
from netmarl_verify.envs import KHopSoftmaxPolicy, LocalSoftmaxPolicy, NonFiniteError, ShapeError, sample_categorical
from netmarl_verify.solvers.exact import (
    LinearUtility,
    StateEntropyUtility,
    discounted_occupancy,
    local_occupancies,
    shadow_problem,
)
from netmarl_verify.solvers.exact._shadow_horizon import horizon_expectations, horizon_occupancy, td_fixed_point
from netmarl_verify.solvers.sampled import _shadow_pg
from netmarl_verify.solvers.sampled._shadow_pg import (
    run_shadow_pg,
    sample_trajectories,
    shadow_pg_estimates,
    shadow_pg_throughput,
    td_truncated_q,
)

ALPHA = 1e-4  # family-wise failure probability of a CLT check (at a fixed seed: deterministic)


def _clt_close(samples, expected, what):
    """Mean over axis 0 of i.i.d. ``samples`` within the Bonferroni CLT band of ``expected``."""
    samples = np.asarray(samples, dtype=float).reshape(samples.shape[0], -1)
    expected = np.asarray(expected, dtype=float).reshape(-1)
    R, d = samples.shape
    z = norm.ppf(1 - ALPHA / (2 * d))
    sd = samples.std(axis=0, ddof=1)
    err = np.abs(samples.mean(axis=0) - expected)
    tol = z * sd / math.sqrt(R) + 1e-12
    assert (err <= tol).all(), f"{what}: worst |mean - exact| / tol = {float((err / tol).max()):.3g} (z = {z:.2f})"
    return float((err / tol).max())


@pytest.fixture(scope="module")
def inst():
    return envs.random_khop(3, kappa=1, scale=0.7, couple=0.3, rng=3, gamma=0.7)


def _run_seed(seed, r):
    return np.random.default_rng(np.random.SeedSequence(seed, spawn_key=(r,)))


# ---------------------------------------------------------------------------- reference
def _reference_estimates(mdp, policy, gamma, utilities, kappa, B, H, td_steps, td_step, xi, R, seed):
    """Lines 3-6 with TD, run by run, loop by loop (consumes the streams as documented)."""
    n, S, A = mdp.n, mdp.state_sizes, mdp.action_sizes
    obs = [policy.observed(i) for i in range(n)]
    probs = policy.probabilities()
    hoods = [tuple(mdp.kappa_hop(i, kappa)) for i in range(n)]

    def pi_row(i, s):
        return probs[i][np.ravel_multi_index(tuple(s[j] for j in obs[i]), tuple(S[j] for j in obs[i]))]

    def act(s, u):
        return np.array([int(sample_categorical(np.cumsum(pi_row(i, s)), u[i])) for i in range(n)])

    def nxt(s, a, u):
        out = []
        for i in range(n):
            row = mdp.transitions[i][tuple(s[j] for j in mdp.neighbourhoods[i]) + (a[i],)]
            out.append(int((u[i] > np.cumsum(row)[:-1]).sum()))
        return np.array(out)

    def start(u):
        idx = int(sample_categorical(np.cumsum(xi), u))
        return np.array(np.unravel_index(idx, S))

    def z(i, s, a):
        return tuple(int(s[j]) for j in hoods[i]) + tuple(int(a[j]) for j in hoods[i])

    out = []
    for r in range(R):
        g = _run_seed(seed, r)
        u0 = g.random(B)
        U = g.random((H, B, 2 * n))
        trajs = []
        lam = [np.zeros((S[i], A[i])) for i in range(n)]
        for b in range(B):
            s, tr = start(u0[b]), []
            for k in range(H):
                a = act(s, U[k, b, :n])
                tr.append((s, a))
                for i in range(n):
                    lam[i][s[i], a[i]] += gamma ** k / B
                s = nxt(s, a, U[k, b, n:])
            trajs.append(tr)
        rew = [np.asarray(f.gradient(lam[i])) for i, f in enumerate(utilities)]
        # TD (23) on one fresh trajectory of td_steps + 1 pairs
        u0 = g.random(1)
        U = g.random((td_steps + 1, 1, 2 * n))[:, 0]
        Q = [dict() for _ in range(n)]
        s = start(u0[0])
        prev = None
        for k in range(td_steps + 1):
            a = act(s, U[k, :n])
            if prev is not None:
                ps, pa = prev
                for i in range(n):
                    zp, zc = z(i, ps, pa), z(i, s, a)
                    qp, qc = Q[i].get(zp, 0.0), Q[i].get(zc, 0.0)
                    Q[i][zp] = qp + td_step(k - 1) * (rew[i][ps[i], pa[i]] + gamma * qc - qp)
            prev = (s, a)
            s = nxt(s, a, U[k, n:])
        # eq. (21)
        grad = [np.zeros((probs[i].shape[0], A[i])) for i in range(n)]
        for tr in trajs:
            for k, (s, a) in enumerate(tr):
                qs = [Q[j].get(z(j, s, a), 0.0) for j in range(n)]
                for i in range(n):
                    w = gamma ** k * sum(qs[j] for j in hoods[i]) / n
                    x = np.ravel_multi_index(tuple(s[j] for j in obs[i]), tuple(S[j] for j in obs[i]))
                    score = -pi_row(i, s)
                    score[a[i]] += 1.0
                    grad[i][x] += w * score / B
        out.append((lam, rew, Q, grad))
    return out


def test_kernels_match_a_plain_reference(inst):
    mdp, pol, gamma = inst.mdp, inst.policy, inst.gamma
    utils = [StateEntropyUtility(gamma)] * mdp.n
    step = _shadow_pg.PowerSchedule(3.0, 1.0, 2.0)
    kw = dict(batch=3, horizon=5, initial=inst.initial, td_steps=7, td_step=step, runs=2, rng=11)
    est = shadow_pg_estimates(mdp, pol, gamma, utils, 1, oracle="td", **kw)
    ref = _reference_estimates(mdp, pol, gamma, utils, 1, 3, 5, 7, step, inst.initial, 2, 11)
    for r, (lam, rew, Q, grad) in enumerate(ref):
        for i in range(mdp.n):
            assert_allclose(est.lambda_tilde[i][r], lam[i], rtol=0, atol=1e-12)
            assert_allclose(est.reward_tilde[i][r], rew[i], rtol=0, atol=1e-12)
            assert_allclose(est.gradient[i][r], grad[i], rtol=0, atol=1e-12)
            table = est.q_tables[i][r]
            for key in np.ndindex(*table.shape):
                assert abs(table[key] - Q[i].get(key, 0.0)) <= 1e-12


def test_transition_kernel_is_networked_step(inst):
    mdp = inst.mdp
    eng = _shadow_pg._Engine(mdp, tuple(inst.policy.observed(i) for i in range(mdp.n)), 1, 1, 0.5)
    rng = np.random.default_rng(0)
    s = rng.integers(0, 2, size=(500, mdp.n))
    a = rng.integers(0, 2, size=(500, mdp.n))
    want, _ = mdp.step(s, a, np.random.default_rng(9))
    assert_array_equal(eng.transition(s, a, np.random.default_rng(9).random(s.shape)), want)


def test_streams_do_not_depend_on_the_chunk_size(inst, monkeypatch):
    kw = dict(batch=4, horizon=9, initial=inst.initial, runs=2, rng=5)
    a = sample_trajectories(inst.mdp, inst.policy, **kw)
    monkeypatch.setattr(_shadow_pg, "_CHUNK_DOUBLES", 2 * 4 * 2 * 3 * 2)  # chunks of 2 steps
    b = sample_trajectories(inst.mdp, inst.policy, **kw)
    assert_array_equal(a.states, b.states)
    assert_array_equal(a.actions, b.actions)
    assert (a.states[:, :, 0] != a.states[:, :, 1]).any()


# ---------------------------------------------------------------------------- eq. (20)
def test_horizon_occupancy_tail_is_exact(inst):
    mdp, pol, gamma = inst.mdp, inst.policy, inst.gamma
    lam = discounted_occupancy(mdp, pol, gamma, inst.initial)
    for H in (1, 4, 12):
        lam_h = horizon_occupancy(mdp, pol, gamma, H, inst.initial)
        assert (lam_h <= lam + 1e-15).all()
        assert abs(np.abs(lam - lam_h).sum() - gamma ** H / (1 - gamma)) < 1e-12
        for li, lhi in zip(local_occupancies(lam, mdp.state_sizes, mdp.action_sizes),
                           local_occupancies(lam_h, mdp.state_sizes, mdp.action_sizes)):
            assert abs(np.abs(li - lhi).sum() - gamma ** H / (1 - gamma)) < 1e-12


def test_empirical_occupancy_mean_is_lambda_H(inst):
    mdp, pol, gamma, H = inst.mdp, inst.policy, inst.gamma, 6
    utils = [StateEntropyUtility(gamma)] * mdp.n
    est = shadow_pg_estimates(mdp, pol, gamma, utils, 1, batch=8, horizon=H, initial=inst.initial, oracle=None,
                              runs=3000, rng=1)
    exact = horizon_expectations(shadow_problem(mdp, pol, gamma, utils, inst.initial), 1, H)
    for i in range(mdp.n):
        assert_allclose(est.lambda_tilde[i].sum(axis=(1, 2)), (1 - gamma ** H) / (1 - gamma), rtol=1e-13)
        _clt_close(est.lambda_tilde[i], exact.local[i], f"lambda~_{i}")
    assert est.q_tables is None and est.gradient is None and est.finite.all()


# ---------------------------------------------------------------------------- eq. (21)
def test_gradient_mean_is_g_hat_H_with_true_shadow_q(inst):
    """E[g~] = g-hat^(H) (eq. (30)/(36)) with the exact Q-hat of the true shadow reward, entropy utility."""
    mdp, pol, gamma, H, kappa = inst.mdp, inst.policy, inst.gamma, 5, 1
    utils = [StateEntropyUtility(gamma)] * mdp.n
    prob = shadow_problem(mdp, pol, gamma, utils, inst.initial)
    ref = (np.zeros(3, int), np.ones(3, int))
    exact = horizon_expectations(prob, kappa, H, ref)
    qhat = [prob.truncated_q(j, kappa, ref) for j in range(mdp.n)]
    est = shadow_pg_estimates(mdp, pol, gamma, utils, kappa, batch=4, horizon=H, initial=inst.initial,
                              q_tables=qhat, runs=3000, rng=2)
    for i in range(mdp.n):
        _clt_close(est.gradient[i].reshape(3000, -1), exact.gradient[i], f"g~_{i}")


def test_gradient_mean_with_exact_oracle_linear_utility(inst):
    """Linear utility: r~ = r, so the exact oracle's E[g~] is g-hat^(H) too."""
    mdp, pol, gamma, H, kappa = inst.mdp, inst.policy, inst.gamma, 4, 1
    utils = [LinearUtility(r) for r in inst.local_rewards]
    exact = horizon_expectations(shadow_problem(mdp, pol, gamma, utils, inst.initial), kappa, H)
    est = shadow_pg_estimates(mdp, pol, gamma, utils, kappa, batch=40, horizon=H, initial=inst.initial,
                              oracle="exact", runs=60, rng=3)
    for i in range(mdp.n):
        _clt_close(est.gradient[i].reshape(60, -1), exact.gradient[i], f"g~_{i}")


def test_adversarial_oracle_error_is_eps0_times_reward_norm(inst):
    mdp, pol, gamma = inst.mdp, inst.policy, inst.gamma
    utils = [StateEntropyUtility(gamma)] * mdp.n
    kw = dict(batch=20, horizon=6, initial=inst.initial, runs=2, rng=4)
    ex = shadow_pg_estimates(mdp, pol, gamma, utils, 1, oracle="exact", **kw)
    adv = shadow_pg_estimates(mdp, pol, gamma, utils, 1, oracle="adversarial", eps0=0.3, **kw)
    for i in range(mdp.n):
        for r in range(2):
            err = np.abs(adv.q_tables[i][r] - ex.q_tables[i][r])
            assert_allclose(err, 0.3 * np.abs(ex.reward_tilde[i][r]).max(), rtol=1e-12)


def test_exact_oracle_shared_policy_matches_per_run_solves(inst):
    """The one-policy path (Q-hat linear in r~: one solve per unit reward) equals a direct solve per run."""
    from netmarl_verify.solvers.exact import truncated_q

    mdp, pol, gamma = inst.mdp, inst.policy, inst.gamma
    utils = [StateEntropyUtility(gamma)] * mdp.n
    est = shadow_pg_estimates(mdp, pol, gamma, utils, 1, batch=20, horizon=6, initial=inst.initial, oracle="exact",
                              runs=4, rng=5)
    zero = (np.zeros(mdp.n, dtype=np.int64),) * 2
    for r in range(4):
        assert est.finite[r].all()
        shadow = mdp.with_rewards([est.reward_tilde[j][r] for j in range(mdp.n)], reward_form="local")
        for j in range(mdp.n):
            direct = truncated_q(shadow, pol, j, 1, ("fixed",) + zero, gamma)
            # the linear combination of S_j A_j unit solves vs one solve: rounding of LU solves, |Q| <= 1e2
            assert_allclose(est.q_tables[j][r], direct, rtol=0, atol=1e-12)


# ---------------------------------------------------------------------------- TD (23)
def test_td_fixed_point_with_full_neighbourhood_is_q():
    """N = all agents: no aggregation, the fixed point is Q_i of the shadow model, under either law."""
    inst = envs.random_khop(2, kappa=1, couple=0.4, rng=0, gamma=0.8)
    utils = [LinearUtility(r) for r in inst.local_rewards]
    prob = shadow_problem(inst.mdp, inst.policy, inst.gamma, utils, inst.initial)
    for law in ("stationary", "discounted"):
        for i in range(2):
            Q, eq = td_fixed_point(inst.mdp, inst.policy, inst.gamma, inst.local_rewards[i], i, 1, law=law,
                                   initial=inst.initial, full_output=True)
            assert eq.support.all() and eq.residual < 1e-12
            assert_allclose(Q, prob.q_table(i), rtol=0, atol=1e-10)


def test_td_converges_to_the_aggregated_fixed_point():
    inst = envs.random_khop(2, kappa=0, couple=0.5, rng=1, gamma=0.6)
    mdp, pol, gamma = inst.mdp, inst.policy, inst.gamma
    rewards = inst.local_rewards
    fps = [td_fixed_point(mdp, pol, gamma, rewards[i], i, 0) for i in range(2)]
    stepsize = (20.0, 1.0, 20.0)
    errors = []
    for steps in (100, 1000, 10000, 40000):
        tabs = td_truncated_q(mdp, pol, gamma, rewards, 0, steps=steps, step_size=stepsize, initial=inst.initial,
                              runs=8, rng=7)
        errors.append(np.mean([max(float(np.abs(tabs[i][r] - fps[i]).max()) for i in range(2)) for r in range(8)]))
    assert all(b < a for a, b in zip(errors, errors[1:])), errors
    scale = max(float(np.abs(f).max()) for f in fps)
    assert errors[-1] < 0.03 * scale, (errors, scale)
    # the fixed point is not the exact Q-hat of (14) in general (aggregation weights differ)
    prob = shadow_problem(mdp, pol, gamma, [LinearUtility(r) for r in rewards], inst.initial)
    assert max(float(np.abs(fps[i] - prob.truncated_q(i, 0, (np.zeros(2, int),) * 2)).max()) for i in range(2)) > 1e-3


# ---------------------------------------------------------------------------- the algorithm
def test_exact_oracle_ascent_increases_F(inst):
    utils = [LinearUtility(r) for r in inst.local_rewards]
    res = run_shadow_pg(inst, utils, 1, T=12, B=300, H=25, eta_theta=0.5, oracle="exact", runs=2, rng=0,
                        checkpoints=range(0, 13, 3), exact_metrics=("F", "grad_norm2"))
    for r in range(2):
        F = res.trace[res.trace.run == r].sort_values("iteration").F.to_numpy()
        assert (np.diff(F) > 0).all(), F


def _small_run(inst, **kw):
    utils = [StateEntropyUtility(inst.gamma)] * inst.mdp.n
    base = dict(T=4, B=5, H=6, eta_theta=(0.5, 0.6), oracle="td", td_steps=20, checkpoints=[0, 2, 4],
                exact_metrics=("F", "grad_error", "occupancy_error", "reward_error", "q_error"))
    base.update(kw)
    return run_shadow_pg(inst, utils, 1, **base)


def test_reruns_are_bit_identical(inst):
    a, b = _small_run(inst, runs=2, rng=123), _small_run(inst, runs=2, rng=123)
    pd.testing.assert_frame_equal(a.trace, b.trace)
    for x, y in zip(a.logits, b.logits):
        assert_array_equal(x, y)
    c = _small_run(inst, runs=2, rng=124)
    assert not np.array_equal(a.logits[0], c.logits[0])


@pytest.mark.parametrize("oracle", ["td", "adversarial"])
def test_batch_equals_separate_runs(inst, oracle):
    kw = dict(oracle=oracle, eps0=0.2, adversary="random")
    batch = _small_run(inst, runs=3, rng=42, **kw)
    for r in range(3):
        alone = _small_run(inst, runs=1, rng=[batch.run_seeds[r]], **kw)
        rows = batch.trace[batch.trace.run == r].drop(columns="run").reset_index(drop=True)
        pd.testing.assert_frame_equal(rows, alone.trace.drop(columns="run"))
        for x, y in zip(batch.logits, alone.logits):
            assert_array_equal(x[r], y[0])
    assert batch.policy(2).logits[0].shape == inst.policy.logits[0].shape


def test_trace_columns_and_final_row(inst):
    res = _small_run(inst, runs=2, rng=0)
    assert list(res.trace.columns[:6]) == ["iteration", "run", "window", "plugin_F", "eta_theta", "skipped"]
    last = res.trace[res.trace.iteration == 4]
    assert last.F.notna().all() and last.grad_error.isna().all()
    assert res.trace[res.trace.iteration == 2].q_error.notna().all()
    assert res.settings["td_steps"] == 20 and len(res.run_seeds) == 2


def test_nonfinite_shadow_reward_raises_or_skips():
    inst = envs.transient_entropy(p=0.01, n=2, gamma=0.9, rng=0)
    utils = [StateEntropyUtility(inst.gamma)] * 2
    kw = dict(T=3, B=2, H=3, eta_theta=0.1, oracle="td", runs=2, rng=0, checkpoints=[3], exact_metrics=())
    with pytest.raises(NonFiniteError, match=r"r~_\d = grad f_\d\(lambda~_\d\) has the non-finite entry inf"):
        run_shadow_pg(inst, utils, 0, **kw)
    res = run_shadow_pg(inst, utils, 0, on_nonfinite="skip", **kw)
    assert (res.trace.skipped == 3).all()
    assert_array_equal(res.logits[0][0], inst.policy.logits[0])


def test_bad_inputs_are_named(inst):
    utils = [LinearUtility(r) for r in inst.local_rewards]
    kw = dict(T=1, B=2, H=2, eta_theta=0.1)
    with pytest.raises(ValueError, match="`B` must be >= 1"):
        run_shadow_pg(inst, utils, 1, **{**kw, "B": 0})
    with pytest.raises(ValueError, match="`H` must be >= 1"):
        run_shadow_pg(inst, utils, 1, **{**kw, "H": 0})
    with pytest.raises(ValueError, match="one utility per agent"):
        run_shadow_pg(inst, utils[:2], 1, **kw)
    wrong = LocalSoftmaxPolicy([np.zeros((3, 2))] * 3)
    with pytest.raises(ShapeError, match=r"policy.logits\[0\] \(agent 0\) has shape \(3, 2\)"):
        run_shadow_pg((inst.mdp, wrong, inst.gamma, inst.initial), utils, 1, **kw)
    other = envs.random_networked_mdp(nx.path_graph(3), 3, 2, rng=0)
    with pytest.raises(ShapeError, match="needs"):
        run_shadow_pg((inst.mdp, KHopSoftmaxPolicy.uniform(other, 1), inst.gamma, None), utils, 1, **kw)
    with pytest.raises(ValueError, match="`oracle`"):
        run_shadow_pg(inst, utils, 1, oracle="mc", **kw)
    with pytest.raises(TypeError, match="NetworkedMDP"):
        run_shadow_pg((inst.mdp.to_tabular(), inst.policy, inst.gamma, None), utils, 1, **kw)
    with pytest.raises(ValueError, match="one seed or generator per run"):
        run_shadow_pg(inst, utils, 1, runs=2, rng=[1], **kw)


def test_local_policy_and_uniform_initial_work():
    inst = envs.random_khop(3, kappa=0, rng=2)
    pol = LocalSoftmaxPolicy([t for t in inst.policy.logits])
    utils = [LinearUtility(r) for r in inst.local_rewards]
    res = run_shadow_pg((inst.mdp, pol, inst.gamma, None), utils, 1, T=2, B=3, H=3, eta_theta=0.1, rng=0,
                        checkpoints=[2], exact_metrics=("F",))
    assert res.logits[0].shape == (1, 2, 2) and np.isfinite(res.trace.F).all()


def test_throughput_is_positive():
    assert shadow_pg_throughput(n=4, B=4, H=5, T=2) > 0


def test_memory_is_flat_in_T(inst):
    import tracemalloc

    utils = [LinearUtility(r) for r in inst.local_rewards]

    def peak(T):
        tracemalloc.start()
        run_shadow_pg(inst, utils, 1, T=T, B=16, H=10, eta_theta=0.1, rng=0, checkpoints=[], exact_metrics=())
        out = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
        return out

    small, large = peak(5), peak(60)
    assert large < 1.2 * small + 50_000, (small, large)
