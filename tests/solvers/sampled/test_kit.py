"""The kit the sampled algorithms are built from: schedules, truncated tables, run kit, actor.

Every piece is checked against a plain brute-force counterpart: C-order indexing against
``numpy.ravel_multi_index``, the hash table and the max-norm tracker against a dict and a dense
array, the actor's draw against a categorical inverse-CDF draw written with a Python loop over
the same uniforms, its score step against the softmax score formula.
"""

import importlib
import pkgutil
import time

import networkx as nx
import numpy as np
import pandas as pd
import pytest
from numpy.testing import assert_allclose

from netmarl_verify import envs
from netmarl_verify.envs import MemoryBudgetError
from netmarl_verify.solvers import sampled
from netmarl_verify.solvers.exact import evaluate_policy
from netmarl_verify.solvers.sampled import PowerSchedule, RunResult, SACResult, assumption3
from netmarl_verify.solvers.sampled import scalable_actor_critic
from netmarl_verify.solvers.sampled._actor import SoftmaxActor, _check_initial_logits, observation_sets
from netmarl_verify.solvers.sampled._env import _env_structure
from netmarl_verify.solvers.sampled._runs import (ExactMetrics, Stopwatch, TraceRecorder, _check_checkpoints,
                                                  _check_int, agent_steps_per_second, seeded_generator)
from netmarl_verify.solvers.sampled._schedules import DEFAULT_ALPHA, DEFAULT_ETA, _as_schedule
from netmarl_verify.solvers.sampled._tables import (TruncatedTables, _HashTable, _Layout, _track_max,
                                                    resolve_table_mode)


# ---------------------------------------------------------------------------- package face
def test_public_names():
    assert set(sampled.__all__) == {"scalable_actor_critic", "frozen_policy_critic", "SACResult", "SACState",
                                    "RunResult", "PowerSchedule", "assumption3",
                                    # networks and gossip (gu2021, zhang2025)
                                    "TwoLayerReLU", "DeepReLU", "average_parameters", "running_average",
                                    "gossip", "gossip_td_errors", "consensus_errors", "disagreement",
                                    # ying2023 Alg. 1
                                    "run_shadow_pg", "ShadowPGResult", "ShadowPGState", "shadow_pg_estimates",
                                    "ShadowPGEstimates", "sample_trajectories", "Trajectories", "td_truncated_q",
                                    "shadow_pg_throughput",
                                    # gu2021 Alg. 1-2, chen2024's sampled gradient
                                    "run_dec_neural_td", "NeuralTDResult", "run_dec_neural_ac", "DecNeuralACResult",
                                    "dec_neural_ac_throughput", "bn_pg_estimate", "BNPGEstimate",
                                    # zhang2025 Alg. 1-3
                                    "run_zhang_ac", "ZhangACResult", "ZhangACState", "deep_neural_td",
                                    "DeepTDResult", "actor_directions", "zhang_ac_throughput"}
    assert all(hasattr(sampled, name) for name in sampled.__all__)
    assert issubclass(SACResult, RunResult)


# ---------------------------------------------------------------------------- schedules
def test_schedules():
    assert DEFAULT_ALPHA == PowerSchedule(1.0, 0.55) and DEFAULT_ETA == PowerSchedule(1.0, 0.9)
    assert PowerSchedule(3.0)(7) == 3.0
    assert PowerSchedule(2.0, 0.5, 4.0)(5) == pytest.approx(2.0 / 3.0)
    assert _as_schedule(0.25, "alpha") == PowerSchedule(0.25, 0.0)
    assert _as_schedule((2.0, 0.6), "alpha") == PowerSchedule(2.0, 0.6)
    assert _as_schedule((2, 0.6, 10), "alpha") == PowerSchedule(2.0, 0.6, 10.0)
    f = lambda t: 1.0 / (t + 2)  # noqa: E731
    assert _as_schedule(f, "eta") is f
    s = PowerSchedule(1.0, 0.7)
    assert _as_schedule(s, "eta") is s
    for bad in (True, "fast", (1.0,), None):
        with pytest.raises(TypeError, match="`eta`"):
            _as_schedule(bad, "eta")
    for kw, word in ((dict(scale=0.0), "scale"), (dict(scale=1.0, power=-0.1), "power"),
                     (dict(scale=1.0, shift=0.0), "shift")):
        with pytest.raises(ValueError, match=word):
            PowerSchedule(**kw)


def test_assumption3_reasons():
    ok, why = assumption3(PowerSchedule(1.0, 0.6), PowerSchedule(5.0, 0.8))
    assert ok is True and why == "holds with d > 5"
    assert assumption3(PowerSchedule(1.0, 0.5), PowerSchedule(1.0, 0.8)) == (
        False, "alpha power 0.5 not in (1/2, 1] (square summable, not summable)")
    assert "eta power 0.4" in assumption3(PowerSchedule(1.0, 0.6), PowerSchedule(1.0, 0.4))[1]
    assert "must exceed" in assumption3(PowerSchedule(1.0, 0.7), PowerSchedule(1.0, 0.7))[1]
    assert assumption3(PowerSchedule(1.0, 0.6), lambda t: 0.1)[0] is None


# ---------------------------------------------------------------------------- tables
def _small_layout(B=3):
    S, A = (2, 3, 2), (3, 2, 2)
    hoods = [(0, 1), (0, 1, 2), (1, 2)]
    return _Layout(3, S, A, hoods, B), S, A, hoods


def test_layout_keys_are_c_order_indices():
    lay, S, A, hoods = _small_layout()
    rng = np.random.default_rng(0)
    s = np.stack([rng.integers(0, S[i], size=3) for i in range(3)], axis=1)
    a = np.stack([rng.integers(0, A[i], size=3) for i in range(3)], axis=1)
    keys = lay.keys(s, a)
    for b in range(3):
        for i, N in enumerate(hoods):
            idx = tuple(s[b, j] for j in N) + tuple(a[b, j] for j in N)
            assert lay.shapes[i] == tuple(S[j] for j in N) + tuple(A[j] for j in N)
            assert keys[b, i] == b * lay.total + sum(lay.sizes[:i]) + np.ravel_multi_index(idx, lay.shapes[i])
    zero = np.zeros((3, 3), dtype=np.int64)
    assert np.array_equal(lay.keys(zero, zero), lay.base)  # the all-zero (dummy) pair
    # kappa = 0: the single-member shortcut gives the same index
    lay0 = _Layout(3, S, A, [(0,), (1,), (2,)], 3)
    assert np.array_equal(lay0.local_index(s, a), s * np.asarray(A) + a)


def test_hash_table_against_a_dict():
    rng = np.random.default_rng(1)
    h = _HashTable(4)  # small: forces several doublings
    ref = {}
    for _ in range(40):
        q = rng.choice(10_000, size=25, replace=False).astype(np.int64)
        slot, existed = h.find_or_insert(q)
        assert np.array_equal(existed, [int(k) in ref for k in q])
        v = rng.standard_normal(q.size)
        h.vals[slot] = v
        ref.update(zip(q.tolist(), v.tolist()))
    assert h.count == len(ref) and 2 * h.count <= h.cap
    probe = np.arange(10_000, dtype=np.int64)
    assert np.array_equal(h.get(probe), [ref.get(k, 0.0) for k in range(10_000)])
    k, v = h.items()
    assert dict(zip(k.tolist(), v.tolist())) == ref


@pytest.mark.parametrize("mode", ["dense", "sparse"])
def test_truncated_tables_and_exact_max_norm(mode):
    lay, S, A, hoods = _small_layout()
    tab = TruncatedTables(lay, mode, track_max=True)
    dense = np.zeros((3, lay.total))
    written = set()
    n_written = n_seen = 0
    rng = np.random.default_rng(2)
    for step in range(300):
        s = np.stack([rng.integers(0, S[i], size=3) for i in range(3)], axis=1)
        a = np.stack([rng.integers(0, A[i], size=3) for i in range(3)], axis=1)
        keys = lay.keys(s, a)
        assert np.array_equal(tab.get(keys), dense.reshape(-1)[keys])
        skip = keys == lay.base
        # values that often shrink the current maximum, so the tracker must recompute it
        new = rng.standard_normal((3, 3)) * (0.1 if step % 3 else 2.0)
        new[skip] = 0.0
        tab.put(keys, new, skip=skip)
        dense.reshape(-1)[keys] = new
        for k in keys[~skip].tolist():
            n_written += 1
            n_seen += k in written
            written.add(k)
        assert np.array_equal(tab.qmax, np.abs(dense).max(axis=1))
    for b in range(3):
        for i in range(3):
            o = sum(lay.sizes[:i])
            assert np.array_equal(tab.dense_table(b, i), dense[b, o:o + lay.sizes[i]].reshape(lay.shapes[i]))
    if mode == "dense":
        assert tab.views()[1].shape == (3,) + lay.shapes[1] and np.isnan(tab.revisit_rate)
    else:
        assert tab.views() is None and 0 < tab.revisit_rate < 1
        assert (tab.n_updates, tab.n_revisits) == (n_written, n_seen)
        assert tab.revisit_rate == n_seen / n_written


def test_track_max_alone():
    lay, *_ = _small_layout(B=2)
    Qflat = np.zeros(2 * lay.total)
    qmax, qarg = np.zeros(2), np.full(2, -1, dtype=np.int64)
    pos = np.array([[0, 5, 20], [1, 6, 21]])
    for vals in ([[1.0, -3.0, 2.0], [0.5, 0.2, -0.1]], [[1.0, 0.1, 2.0], [0.5, 0.2, -0.1]]):
        new = np.array(vals)
        Qflat.reshape(2, lay.total)[np.arange(2)[:, None], pos] = new
        _track_max(qmax, qarg, new, pos, Qflat, None, lay, 2)
        assert np.array_equal(qmax, np.abs(Qflat.reshape(2, lay.total)).max(axis=1))
    assert list(qarg) == [20, 1]


def test_resolve_table_mode():
    lay, *_ = _small_layout()
    assert resolve_table_mode(lay, "dense", 1) == "dense"
    assert resolve_table_mode(lay, "auto", 1) == "dense"
    assert resolve_table_mode(lay, "auto", 1, max_bytes=8) == "sparse"
    assert resolve_table_mode(lay, "sparse", 1, max_bytes=8) == "sparse"
    with pytest.raises(MemoryBudgetError, match="kappa=1.*agent 1"):
        resolve_table_mode(lay, "dense", 1, max_bytes=8)
    huge = _Layout(2, (10**10, 10**10), (10**10, 10**10), [(0, 1), (0, 1)], 4)
    with pytest.raises(MemoryBudgetError, match="2\\*\\*62"):
        resolve_table_mode(huge, "sparse", 1)
    with pytest.raises(ValueError, match="mode"):
        TruncatedTables(lay, "auto")


# ---------------------------------------------------------------------------- run kit
def test_seeded_generator_records_a_replayable_seed():
    g, seed = seeded_generator(7)
    assert seed == 7 and g.random() == np.random.default_rng(7).random()
    g, seed = seeded_generator(np.random.SeedSequence(9))
    assert seed == 9
    g, seed = seeded_generator(None)
    assert isinstance(seed, int) and g.random() == np.random.default_rng(seed).random()
    gen = np.random.default_rng(3)
    gen.random(5)
    g, seed = seeded_generator(gen)
    assert g is gen and seed == gen.bit_generator.state
    replay = np.random.default_rng()
    replay.bit_generator.state = seed
    assert replay.random() == g.random()
    with pytest.raises(TypeError, match="`rng`"):
        seeded_generator(1.5)


def test_argument_checks():
    assert _check_int(np.int64(3), "batch", 1) == 3
    with pytest.raises(TypeError, match="`batch`"):
        _check_int(2.0, "batch", 1)
    with pytest.raises(ValueError, match="`batch` must be >= 1"):
        _check_int(0, "batch", 1)
    assert _check_checkpoints(None, 100) == list(range(0, 101, 10))
    assert _check_checkpoints(None, 0) == [0]
    assert _check_checkpoints([5, 0, 5], 5) == [0, 5]
    with pytest.raises(ValueError, match="checkpoints"):
        _check_checkpoints([-1], 5)
    theta = _check_initial_logits([np.ones((2, 3)), np.zeros((2, 1, 2))], 2, 2, (2, 1), (3, 2), ((0,), (1,)))
    assert [t.shape for t in theta] == [(2, 2, 3), (2, 1, 2)] and theta[0].flags.writeable
    # rows follow the observation sets: agent 1 reading (0, 1) has 2 * 1 rows, agent 0 reading () one
    theta = _check_initial_logits(None, 3, 2, (2, 1), (3, 2), ((), (0, 1)))
    assert [t.shape for t in theta] == [(3, 1, 3), (3, 2, 2)]
    with pytest.raises(ValueError, match=r"initial_logits\[1\].*\(2, 2\)"):
        _check_initial_logits([np.ones((1, 3)), np.zeros((1, 2))], 2, 2, (2, 1), (3, 2), ((), (0, 1)))


def test_trace_recorder_checkpoints_callback_and_exact_columns():
    B = 3
    calls = []

    def exact(state):
        calls.append(("exact", state))
        return {"J": np.full(B, 10.0 * state)}

    def callback(state):
        calls.append(("callback", state))
        return {"x": 1.5, "y": np.arange(B) + state}

    rec = TraceRecorder(B, [4, 0, 2], callback, exact_metrics=exact)
    assert rec.checkpoints == [0, 2, 4]
    for t in range(5):
        if rec.due(t):
            rec.record(t, t, {"mu_hat": np.full(B, -t)})
        rec.add_reward(np.arange(B) * t)
    df = rec.frame()
    assert [k for k, _ in calls] == ["exact", "callback"] * 3  # exact first, then the callback
    assert list(df.columns) == ["iteration", "run", "window", "avg_reward", "mu_hat", "J", "x", "y"]
    assert list(df.iteration) == [0] * 3 + [2] * 3 + [4] * 3 and list(df.run) == [0, 1, 2] * 3
    assert list(df.window) == [0] * 3 + [2] * 3 + [2] * 3
    assert df.avg_reward[:3].isna().all()
    assert_allclose(df.avg_reward[3:6], np.arange(B) * 0.5)  # rewards of t = 0, 1
    assert_allclose(df.avg_reward[6:], np.arange(B) * 2.5)  # t = 2, 3
    assert list(df.J) == [0.0] * 3 + [20.0] * 3 + [40.0] * 3 and (df.x == 1.5).all()
    assert list(df.y[6:]) == [4, 5, 6]
    assert rec.seconds > 0
    empty = TraceRecorder(B, []).frame(("iteration", "run", "z"))
    assert list(empty.columns) == ["iteration", "run", "z"] and len(empty) == 0
    bad = TraceRecorder(B, [0], lambda s: {"x": np.zeros(B + 1)})
    with pytest.raises(ValueError, match="callback value 'x'"):
        bad.record(0, None, {})
    with pytest.raises(TypeError, match="callback"):
        TraceRecorder(B, [0], callback="no")


def test_stopwatch_excludes_paused_sections():
    clock = Stopwatch()
    clock.start()
    with clock.paused():
        time.sleep(0.05)
    clock.stop()
    assert 0 <= clock.elapsed < 0.05
    assert agent_steps_per_second(2, 3, 10, 0.5) == 120.0 and np.isnan(agent_steps_per_second(2, 3, 10, 0.0))
    r = RunResult(trace=pd.DataFrame(), seed=1, settings={}, elapsed=0.5, agent_steps_per_second=120.0)
    assert r.seed == 1 and "trace" not in repr(r)


def test_exact_metrics_hook_matches_the_exact_solver():
    mdp = envs.coupled_networked_mdp(nx.path_graph(3), 0.5, rng=0)
    logits = [np.random.default_rng(i).standard_normal((2, S, A)) for i, (S, A) in
              enumerate(zip(mdp.state_sizes, mdp.action_sizes))]

    class State:
        pass

    st = State()
    st.logits = logits
    hook = ExactMetrics(mdp, ("J",))
    cols = hook(st)
    for b in range(2):
        assert cols["J"][b] == evaluate_policy(mdp, envs.LocalSoftmaxPolicy([t[b] for t in logits]), None,
                                               periodic="cesaro").J
    with pytest.raises(ValueError, match="exact_metrics"):
        ExactMetrics(mdp, ("regret",))
    with pytest.raises(ValueError, match="kappa"):
        ExactMetrics(mdp, ("critic_error",))


def test_env_without_kappa_hop_is_refused_and_hoods_are_env_kappa_hop():
    mdp = envs.random_networked_mdp(nx.path_graph(5), 2, 2, rng=0)

    class OneHop:  # the same env seen through `neighbourhoods` only: nobody derives the kappa-hops
        n, state_sizes, action_sizes, step = mdp.n, mdp.state_sizes, mdp.action_sizes, mdp.step
        neighbourhoods = mdp.neighbourhoods

    for call in (lambda: _env_structure(OneHop(), 1), lambda: scalable_actor_critic(OneHop(), 1, 2)):
        with pytest.raises(TypeError, match=r"missing 'kappa_hop'.*do not derive them from `neighbourhoods`"):
            call()
    with pytest.raises(TypeError, match="missing 'kappa_hop'"):
        _env_structure(type("NoGraph", (), dict(n=1, state_sizes=(2,), action_sizes=(2,), step=None))(), 1)
    # SAC's kappa-hop sets are env.kappa_hop, for both envs
    net = envs.WirelessNetwork(3, 3, seed=0)
    for env in (mdp, net):
        for kappa in range(4):
            want = tuple(tuple(env.kappa_hop(i, kappa)) for i in range(env.n))
            assert tuple(_env_structure(env, kappa)[3]) == want
            res = scalable_actor_critic(env, kappa, 2, batch=2, rng=0, checkpoints=[2], table_mode="auto")
            assert res.neighbourhoods == want
    assert _env_structure(mdp, 2)[3][0] == (0, 1, 2)


# ---------------------------------------------------------------------------- actor
def _brute_force_draw(logits, states, u, A):
    """Categorical inverse-CDF draw, one (run, agent) at a time: the first k with u <= cdf_k."""
    B, n = states.shape
    out = np.zeros((B, n), dtype=np.int64)
    for b in range(B):
        for i in range(n):
            x = logits[i][b, states[b, i]]
            p = np.exp(x - x.max())
            p /= p.sum()
            cdf = np.cumsum(p)
            out[b, i] = next((k for k in range(A[i]) if u[b, i] <= cdf[k]), A[i] - 1)
    return out


def _local(logits):
    """The observation sets of a LocalSoftmaxPolicy with these (B, S_i, A_i) logits (envs says)."""
    return observation_sets(envs.LocalSoftmaxPolicy([t[0] for t in logits]))


def test_observation_sets_come_from_the_policy():
    pol = envs.LocalSoftmaxPolicy([np.zeros((2, 2))] * 3)
    assert observation_sets(pol) == observation_sets(pol, 3) == ((0,), (1,), (2,))

    class Reads:
        n = 2

        def __init__(self, sets):
            self.sets = sets

        def observed(self, i):
            return self.sets[i]

    assert observation_sets(Reads([(0, 1), ()])) == ((0, 1), ())
    with pytest.raises(ValueError, match="2 agents, the environment 3"):
        observation_sets(Reads([(0,), (1,)]), 3)
    with pytest.raises(ValueError, match=r"observed\(1\) = \(1, 0\)"):
        observation_sets(Reads([(0,), (1, 0)]))
    with pytest.raises(ValueError, match=r"observed\(0\) = \(2,\)"):
        observation_sets(Reads([(2,), (1,)]))
    with pytest.raises(TypeError, match="observed"):
        observation_sets([np.zeros((2, 2))])


def test_actor_draw_is_the_categorical_draw_with_the_same_uniforms():
    S, A, B = (3, 1, 2, 4), (2, 4, 1, 3), 5
    rng = np.random.default_rng(4)
    logits = [rng.standard_normal((B, S[i], A[i])) * 2 for i in range(4)]
    pi = SoftmaxActor(logits, S, A, _local(logits))
    for i in range(4):
        assert np.array_equal(pi.logits()[i], logits[i])
    for _ in range(50):
        s = np.stack([rng.integers(0, S[i], size=B) for i in range(4)], axis=1)
        u = rng.random((B, 4))
        assert np.array_equal(pi.draw(s, u), _brute_force_draw(logits, s, u, A))
    # edges: u = 0 gives action 0; u just below 1 never gives a padded action
    s = np.zeros((B, 4), dtype=np.int64)
    assert not pi.draw(s, np.zeros((B, 4))).any()
    top = pi.draw(s, np.full((B, 4), np.nextafter(1.0, 0.0)))
    assert (top <= np.asarray(A) - 1).all()
    # sample() consumes exactly one rng.random((B, n)) call
    g1, g2 = np.random.default_rng(9), np.random.default_rng(9)
    assert np.array_equal(pi.sample(s, g1), pi.draw(s, g2.random((B, 4))))
    assert g1.random() == g2.random()
    # probabilities: zero on padded actions, rows sum to 1
    P = pi.probs(s)
    assert P.shape == (4, B, 4) and (P[1:, :, 2] == 0).all()
    assert_allclose(P.sum(axis=0), 1.0, rtol=0, atol=1e-15)


def test_actor_score_step_is_the_softmax_score():
    S, A, B = (2, 3), (3, 2), 4
    rng = np.random.default_rng(5)
    logits = [rng.standard_normal((B, S[i], A[i])) for i in range(2)]
    pi = SoftmaxActor(logits, S, A, _local(logits))
    s = np.stack([rng.integers(0, S[i], size=B) for i in range(2)], axis=1)
    a = np.stack([rng.integers(0, A[i], size=B) for i in range(2)], axis=1)
    w = rng.standard_normal((B, 2))
    pi.score_step(s, a, w)
    for b in range(B):
        for i in range(2):
            ref = logits[i][b].copy()
            x = ref[s[b, i]]
            p = np.exp(x - x.max()) / np.exp(x - x.max()).sum()
            score = -p
            score[a[b, i]] += 1.0
            ref[s[b, i]] += w[b, i] * score
            assert_allclose(pi.logits()[i][b], ref, rtol=0, atol=1e-14)


def test_actor_reads_the_rows_of_other_observation_sets():
    """Agent 0 reads (1, 2), agent 1 nothing, agent 2 (0,): rows are observed_rows, one per configuration."""
    S, A, B = (2, 3, 2), (3, 2, 2), 6
    observed = ((1, 2), (), (0,))
    R = (6, 1, 2)
    rng = np.random.default_rng(6)
    logits = [rng.standard_normal((B, R[i], A[i])) for i in range(3)]
    pi = SoftmaxActor(logits, S, A, observed)
    s = np.stack([rng.integers(0, S[i], size=B) for i in range(3)], axis=1)
    row = np.stack([s[:, 1] * 2 + s[:, 2], np.zeros(B, dtype=np.int64), s[:, 0]], axis=1)
    assert np.array_equal(pi.rows(s), row)
    u = rng.random((B, 3))
    ref = [[logits[i][b, row[b, i]] for i in range(3)] for b in range(B)]
    expected = _brute_force_draw([np.array([[ref[b][i]] for b in range(B)]) for i in range(3)],
                                 np.zeros((B, 3), dtype=np.int64), u, A)
    assert np.array_equal(pi.draw(s, u), expected)
    a = np.stack([rng.integers(0, A[i], size=B) for i in range(3)], axis=1)
    w = rng.standard_normal((B, 3))
    pi.score_step(s, a, w)
    for b in range(B):
        for i in range(3):
            want = logits[i][b].copy()
            x = want[row[b, i]]
            p = np.exp(x - x.max()) / np.exp(x - x.max()).sum()
            score = -p
            score[a[b, i]] += 1.0
            want[row[b, i]] += w[b, i] * score
            assert_allclose(pi.logits()[i][b], want, rtol=0, atol=1e-14)


# ---------------------------------------------------------------------------- bench constants
def _wireless_claim_module():
    import netmarl_verify.verify.claims as claims

    for info in pkgutil.walk_packages(claims.__path__, claims.__name__ + "."):
        if "qu2020" in info.name and "wireless" in info.name:
            return importlib.import_module(info.name)
    raise AssertionError("no qu2020 wireless claim module found under verify.claims")


def test_bench_step_sizes_equal_the_claims():
    from netmarl_verify.verify import _bench_sac

    claim = _wireless_claim_module()
    assert _bench_sac.ALPHA == claim.ALPHA and _bench_sac.ETA == claim.ETA
