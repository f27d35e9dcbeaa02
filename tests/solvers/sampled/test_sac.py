"""Scalable Actor-Critic (qu2020 Alg. 1) against a plain reference and the exact solvers.

* ``_reference_sac`` below is Alg. 1 written line by line with Python loops over runs and agents
  and dict tables keyed by tuples: no flat indices, no padding, no vectorization. It consumes the
  random stream in the same order (env.step, then one ``rng.random((B, n))`` for the actions), so
  the vectorized implementation must reproduce it to rounding (1e-12), which checks the
  indexing, the dummy pair, the iterates used in lines 6-7 and the rescaling.
* The critic's limit is checked against :func:`solvers.exact.critic_fixed_point`, the actor's
  progress against the exact J(θ).
"""

import math

import networkx as nx
import numpy as np
import pandas as pd
import pytest
from numpy.testing import assert_allclose

from netmarl_verify import envs
from netmarl_verify.envs import MemoryBudgetError
from netmarl_verify.solvers.exact import critic_fixed_point
from netmarl_verify.solvers.sampled import PowerSchedule, assumption3, frozen_policy_critic, scalable_actor_critic
from _observing_policy import ObservingSoftmax


# ---------------------------------------------------------------------------- reference
def _reference_sac(mdp, kappa, T, B, logits0, alpha, eta, rescale, actor, rng):
    n = mdp.n
    hoods = [list(mdp.kappa_hop(i, kappa)) for i in range(n)]
    theta = [[np.array(logits0[i], dtype=float) for i in range(n)] for _ in range(B)]
    Q = [[{} for _ in range(n)] for _ in range(B)]
    mu = np.zeros((B, n))

    def zeta(b, i, si):
        e = np.exp(theta[b][i][si] - theta[b][i][si].max())
        return e / e.sum()

    def draw(states, u):
        act = np.zeros_like(states)
        for b in range(B):
            for i in range(n):
                cdf = np.cumsum(zeta(b, i, states[b, i]))
                act[b, i] = min(int((u[b, i] > cdf).sum()), mdp.action_sizes[i] - 1)
        return act

    def key(i, s, a):
        k = tuple(int(s[j]) for j in hoods[i]) + tuple(int(a[j]) for j in hoods[i])
        return None if not any(k) else k  # the all-zero pair is the dummy: Q = 0, never stored

    s = np.stack([rng.integers(0, S, size=B) for S in mdp.state_sizes], axis=1)
    a = draw(s, rng.random((B, n)))
    for t in range(T):
        s1, r = mdp.step(s, a, rng)
        a1 = draw(s1, rng.random((B, n)))
        at, et = alpha(t), eta(t)
        for b in range(B):
            qcur = [Q[b][i].get(key(i, s[b], a[b]), 0.0) for i in range(n)]
            qnxt = [Q[b][i].get(key(i, s1[b], a1[b]), 0.0) for i in range(n)]
            if actor:
                qmax = max([abs(v) for i in range(n) for v in Q[b][i].values()], default=0.0)
                beta = et / (1.0 + qmax) if rescale else et
                for i in range(n):
                    g = sum(qcur[j] for j in hoods[i]) / n
                    score = -zeta(b, i, s[b, i])
                    score[a[b, i]] += 1.0
                    theta[b][i][s[b, i]] += beta * g * score
            for i in range(n):
                k = key(i, s[b], a[b])
                if k is not None:
                    Q[b][i][k] = (1 - at) * qcur[i] + at * (r[b, i] - mu[b, i] + qnxt[i])
            mu[b] += at * (r[b] - mu[b])
        s, a = s1, a1
    return theta, Q, mu, hoods


def _dense(Q_run_agent, shape):
    out = np.zeros(shape)
    for k, v in Q_run_agent.items():
        out[k] = v
    return out


@pytest.mark.parametrize("kappa,rescale,actor", [(0, True, True), (1, True, True), (1, False, True),
                                                 (2, True, False)])
def test_matches_line_by_line_reference(kappa, rescale, actor):
    mdp = envs.random_networked_mdp(nx.star_graph(3), [2, 3, 2, 2], [3, 2, 2, 2], rng=4)
    logits0 = [np.random.default_rng(i).standard_normal((S, A)) for i, (S, A) in
               enumerate(zip(mdp.state_sizes, mdp.action_sizes))]
    alpha, eta = PowerSchedule(0.8, 0.6), PowerSchedule(3.0, 0.7)
    T, B = 150, 3
    res = scalable_actor_critic(mdp, kappa, T, batch=B, initial_logits=logits0, alpha=alpha, eta=eta,
                                rescale=rescale, actor=actor, rng=11, checkpoints=[])
    theta, Q, mu, hoods = _reference_sac(mdp, kappa, T, B, logits0, alpha, eta, rescale, actor,
                                         np.random.default_rng(res.seed))
    assert_allclose(res.mu, mu, rtol=0, atol=1e-12)
    for b in range(B):
        for i in range(mdp.n):
            assert_allclose(res.logits[i][b], theta[b][i], rtol=0, atol=1e-12)
            shape = tuple(mdp.state_sizes[j] for j in hoods[i]) + tuple(mdp.action_sizes[j] for j in hoods[i])
            assert res.tables[i][b].shape == shape
            assert_allclose(res.tables[i][b], _dense(Q[b][i], shape), rtol=0, atol=1e-12)
            assert res.tables[i][b].flat[0] == 0.0  # dummy
    if not actor:
        for i in range(mdp.n):
            assert_allclose(res.logits[i], np.broadcast_to(logits0[i], res.logits[i].shape), rtol=0, atol=0)


# ---------------------------------------------------------------------------- critic limit
def test_frozen_policy_critic_converges_to_the_fixed_point():
    # qu2020 Theorem 3(b) with the actor frozen: Q-hat^t -> Q-hat^theta. Coupled 3-agent path,
    # S = A = 2, kappa = 1 (agent 1's table covers every agent: 64 pairs, the rarest with
    # stationary probability ~0.01, so convergence in the max-norm is slow). Over 16 independent
    # runs the mean error must drop between checkpoints by more than 3 standard errors of the
    # difference (the runs are independent, so the SE of a checkpoint mean is std / 4).
    mdp = envs.coupled_networked_mdp(nx.path_graph(3), 0.5, rng=0)
    pol = envs.LocalSoftmaxPolicy.uniform(mdp)
    cps = [200, 2000, 20000]
    res = frozen_policy_critic(mdp, pol, 1, cps[-1], batch=16, rng=0, exact_mdp=mdp, checkpoints=cps)
    err = res.trace.pivot(index="run", columns="iteration", values="critic_error")
    m, se = err.mean(), err.std(ddof=1) / 4.0
    for t0, t1 in zip(cps, cps[1:]):
        assert m[t1] + 3 * np.hypot(se[t0], se[t1]) < m[t0], (m, se)
    assert err[cps[2]].max() < err[cps[0]].min()
    assert m[cps[2]] < 0.5 * m[cps[0]]
    # mu-hat -> J_i, the sampled reward average -> J
    J = res.trace["J"].iloc[0]
    assert np.allclose(res.trace["J"], J)  # frozen policy
    fps = [critic_fixed_point(mdp, pol, i, 1) for i in range(3)]
    mean_err = max(np.abs(res.tables[i].mean(axis=0) - fps[i]).max() for i in range(3))
    assert mean_err < err[cps[2]].mean()  # averaging independent runs helps: the error is mostly noise
    last = res.trace[res.trace.iteration == cps[-1]]
    assert abs(last.avg_reward.mean() - J) < 0.01


# ---------------------------------------------------------------------------- actor
def test_actor_improves_the_exact_average_reward():
    mdp = envs.coupled_networked_mdp(nx.path_graph(4), 0.5, rng=0)
    cps = [0, 2500, 10000]
    res = scalable_actor_critic(mdp, 1, cps[-1], batch=8, rng=3, alpha=(1.0, 0.51), eta=(2.0, 0.7),
                                exact_mdp=mdp, exact_metrics=("J", "grad_norm"), checkpoints=cps)
    assert res.assumption3[0] is True
    J = res.trace.pivot(index="run", columns="iteration", values="J")
    assert (J[cps[0]] == J[cps[0]].iloc[0]).all()  # same initial policy
    assert (J[cps[2]] > J[cps[1]]).all() and (J[cps[1]] > J[cps[0]]).all()
    assert J[cps[2]].mean() - J[cps[0]].mean() > 0.05
    g = res.trace.pivot(index="run", columns="iteration", values="grad_norm")
    assert g[cps[2]].mean() < g[cps[0]].mean()
    assert res.policy(0).logits[0].shape == (2, 2)


# ---------------------------------------------------------------------------- randomness
def test_runs_are_reproducible_and_independent():
    mdp = envs.random_networked_mdp(nx.path_graph(3), 2, 3, rng=1)
    kw = dict(batch=4, rng=123, checkpoints=[0, 300])
    a = scalable_actor_critic(mdp, 1, 300, **kw)
    b = scalable_actor_critic(mdp, 1, 300, **kw)
    for x, y in zip(a.logits + a.tables, b.logits + b.tables):
        assert np.array_equal(x, y)
    assert a.seed == 123 and b.seed == 123
    pd.testing.assert_frame_equal(a.trace, b.trace)
    # runs differ from one another
    assert not np.array_equal(a.tables[1][0], a.tables[1][1])
    # no cross-talk: a different start for run 0 leaves runs 1..3 bitwise unchanged
    logits = [np.zeros((4, S, A)) for S, A in zip(mdp.state_sizes, mdp.action_sizes)]
    logits[0][0] += np.array([3.0, -1.0, 0.0])
    c = scalable_actor_critic(mdp, 1, 300, initial_logits=logits, **kw)
    assert not np.array_equal(c.tables[0][0], a.tables[0][0])
    for x, y in zip(c.logits + c.tables, a.logits + a.tables):
        assert np.array_equal(x[1:], y[1:])
    # a generator is accepted and its starting state recorded
    g = np.random.default_rng(123)
    d = scalable_actor_critic(mdp, 1, 300, batch=4, rng=g, checkpoints=[])
    assert d.seed["bit_generator"] == "PCG64"
    e = scalable_actor_critic(mdp, 1, 300, batch=4, rng=np.random.default_rng(np.random.SeedSequence(123)),
                              checkpoints=[])
    assert np.array_equal(d.tables[2], e.tables[2]) and np.array_equal(d.tables[2], a.tables[2])


# ---------------------------------------------------------------------------- sparse tables
@pytest.mark.parametrize("rescale", [True, False])
def test_sparse_tables_reproduce_dense(rescale):
    mdp = envs.random_networked_mdp(nx.path_graph(4), 2, 2, rng=2)
    kw = dict(batch=3, rng=5, rescale=rescale, checkpoints=[0, 100, 400], eta=(2.0, 0.7))
    d = scalable_actor_critic(mdp, 1, 400, table_mode="dense", **kw)
    s = scalable_actor_critic(mdp, 1, 400, table_mode="sparse", exact_mdp=mdp, **kw)
    assert s.tables is None and s.settings["table_mode"] == "sparse"
    for i in range(mdp.n):
        assert np.array_equal(d.logits[i], s.logits[i])
        for b in range(3):
            assert np.array_equal(d.table(b, i), s.table(b, i))
    rate = s.trace.groupby("iteration").revisit_rate.first()
    assert np.isnan(rate[0]) and 0 < rate[100] < rate[400] < 1
    # the critic error is computed from the sparse table as well
    assert s.trace.critic_error.notna().all()
    assert_allclose(s.trace.gamma_rescale, d.trace.gamma_rescale, rtol=0, atol=0)


# ---------------------------------------------------------------------------- refusals
class _KingGrid:
    """Env-shaped object: a 5x5 king's graph (qu2020 App. E users), |S_i| = 4, |A_i| = 5."""

    def __init__(self):
        g = nx.grid_2d_graph(5, 5)
        g.add_edges_from(((r, c), (r + 1, c + dc)) for r in range(4) for c in range(5) for dc in (-1, 1)
                         if 0 <= c + dc < 5)
        self.graph = nx.convert_node_labels_to_integers(g, ordering="sorted")
        self.n, self.state_sizes, self.action_sizes = 25, (4,) * 25, (5,) * 25

    def kappa_hop(self, i, k):
        return sorted(nx.single_source_shortest_path_length(self.graph, i, cutoff=k))

    def step(self, states, actions, rng):
        return states.copy(), np.zeros(states.shape)


def test_refuses_tables_that_do_not_fit():
    env = _KingGrid()
    with pytest.raises(MemoryBudgetError) as info:
        scalable_actor_critic(env, 1, 10, batch=4)
    msg = str(info.value)
    assert "kappa=1" in msg and "agent 6" in msg and "5.12e+11" in msg and "table_mode='sparse'" in msg
    # kappa = 0 fits (20 entries per agent) and runs on the same env object
    res = scalable_actor_critic(env, 0, 5, batch=4, rng=0, checkpoints=[5])
    assert res.tables[0].shape == (4, 4, 5)
    # the sparse mode runs where dense cannot, reporting how often entries are revisited
    res = scalable_actor_critic(env, 1, 20, batch=2, rng=0, table_mode="sparse", checkpoints=[20])
    assert res.trace.revisit_rate.between(0, 1).all()
    assert scalable_actor_critic(env, 1, 2, batch=2, rng=0, table_mode="auto",
                                 checkpoints=[]).settings["table_mode"] == "sparse"
    # a budget that only the caller imposes
    with pytest.raises(MemoryBudgetError, match="agent"):
        scalable_actor_critic(env, 0, 1, batch=4, max_bytes=1000)


class _BadStep(_KingGrid):
    def step(self, states, actions, rng):
        return states[:, :3], np.zeros(states.shape)


def test_argument_validation():
    mdp = envs.random_networked_mdp(nx.path_graph(3), 2, 2, rng=0)
    with pytest.raises(ValueError, match="kappa"):
        scalable_actor_critic(mdp, -1, 10)
    with pytest.raises(TypeError, match="kappa"):
        scalable_actor_critic(mdp, 1.5, 10)
    with pytest.raises(ValueError, match="batch"):
        scalable_actor_critic(mdp, 0, 10, batch=0)
    with pytest.raises(ValueError, match=r"initial_logits\[1\]"):
        scalable_actor_critic(mdp, 0, 10, initial_logits=[np.zeros((2, 2)), np.zeros((3, 2)), np.zeros((2, 2))])
    with pytest.raises(ValueError, match="one array per agent"):
        scalable_actor_critic(mdp, 0, 10, initial_logits=[np.zeros((2, 2))])
    with pytest.raises(ValueError, match="checkpoints"):
        scalable_actor_critic(mdp, 0, 10, checkpoints=[11])
    with pytest.raises(ValueError, match="table_mode"):
        scalable_actor_critic(mdp, 0, 10, table_mode="hash")
    with pytest.raises(ValueError, match="exact_metrics"):
        scalable_actor_critic(mdp, 0, 10, exact_mdp=mdp, exact_metrics=("regret",))
    with pytest.raises(ValueError, match="exact_mdp"):
        scalable_actor_critic(mdp, 0, 10, exact_mdp=envs.random_networked_mdp(nx.path_graph(3), 3, 2, rng=0))
    with pytest.raises(ValueError, match="initial_states"):
        scalable_actor_critic(mdp, 0, 10, initial_states=[0, 2, 0])
    with pytest.raises(TypeError, match="step"):
        scalable_actor_critic(object(), 0, 10)
    with pytest.raises(ValueError, match="env.step must return"):
        scalable_actor_critic(_BadStep(), 0, 3, batch=2)
    with pytest.raises(TypeError, match="alpha"):
        scalable_actor_critic(mdp, 0, 10, alpha="fast")
    with pytest.raises(ValueError, match="scale"):
        PowerSchedule(-1.0, 0.5)
    with pytest.raises(ValueError, match="callback value"):
        scalable_actor_critic(mdp, 0, 10, checkpoints=[10], batch=2, callback=lambda st: {"x": np.zeros(3)})


def test_observation_sets_come_from_envs_and_others_are_refused():
    mdp = envs.random_networked_mdp(nx.path_graph(3), 2, 2, rng=0)
    pol = envs.LocalSoftmaxPolicy.random(mdp, rng=3)
    # a LocalSoftmaxPolicy and its logits give the same run (observed(i) == (i,): rows s_i)
    a = scalable_actor_critic(mdp, 1, 50, batch=2, rng=0, initial_logits=pol, checkpoints=[50])
    b = scalable_actor_critic(mdp, 1, 50, batch=2, rng=0, initial_logits=list(pol.logits), checkpoints=[50])
    for x, y in zip(a.logits, b.logits):
        assert np.array_equal(x, y)
    # a policy whose agent 1 reads (0, 1): refused at input validation, naming issue 11
    observing = ObservingSoftmax(mdp, [(0,), (0, 1), (2,)])
    with pytest.raises(NotImplementedError, match=r"agent 1 observe \(0, 1\).*issue 11"):
        scalable_actor_critic(mdp, 1, 10, initial_logits=observing)
    with pytest.raises(NotImplementedError, match="issue 11"):
        frozen_policy_critic(mdp, observing, 1, 10)


def test_trace_callback_and_schedules():
    mdp = envs.random_networked_mdp(nx.path_graph(3), 2, 2, rng=0)
    seen = []

    def cb(state):
        seen.append(state.iteration)
        assert state.tables[1].shape == (2, 2, 2, 2, 2, 2, 2)
        assert state.policy(1).logits[0].shape == (2, 2)
        return {"theta_norm": np.sqrt(sum((t**2).sum(axis=(1, 2)) for t in state.logits))}

    res = scalable_actor_critic(mdp, 1, 50, batch=2, rng=0, checkpoints=[0, 10, 50], callback=cb,
                                alpha=0.1, eta=lambda t: 0.01)
    assert seen == [0, 10, 50]
    assert list(res.trace.iteration) == [0, 0, 10, 10, 50, 50]
    assert list(res.trace.window) == [0, 0, 10, 10, 40, 40]
    assert res.trace.theta_norm.iloc[0] == 0.0 and res.trace.theta_norm.iloc[-1] > 0
    assert res.trace.alpha.eq(0.1).all() and res.trace.eta.iloc[-1] == 0.01
    assert res.assumption3[0] is None  # a callable cannot be checked
    assert {"iteration", "run", "avg_reward", "mu_hat", "gamma_rescale"} <= set(res.trace.columns)
    assert res.agent_steps_per_second > 0
    # Assumption 3 for power schedules
    assert assumption3(PowerSchedule(1.0, 0.55), PowerSchedule(1.0, 0.9))[0] is True
    assert assumption3(PowerSchedule(1.0, 0.0), PowerSchedule(1.0, 0.9))[0] is False
    assert assumption3(PowerSchedule(1.0, 0.8), PowerSchedule(1.0, 0.7))[0] is False
    assert assumption3(PowerSchedule(1.0, 0.6), PowerSchedule(1.0, 1.2))[0] is False
    assert PowerSchedule(2.0, 0.5)(3) == pytest.approx(1.0)
    assert math.isclose(scalable_actor_critic(mdp, 0, 0, checkpoints=[0]).trace.shape[0], 1)
