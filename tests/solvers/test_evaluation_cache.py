"""The evaluation cache of the one-shot exact functions (issue 10, item 3): count the solves."""

import numpy as np
import pytest

from netmarl_verify.envs import LocalSoftmaxPolicy, TabularMDP, TabularSoftmaxPolicy, qu2020_line
from netmarl_verify.solvers.exact import (
    average_reward,
    clear_evaluation_cache,
    discounted_visitation,
    evaluate_policy,
    evaluation_cache_info,
    no_evaluation_cache,
    objective,
    policy_gradient,
    q_function,
    state_values,
    stationary_distribution,
)
from netmarl_verify.solvers.exact import _backends


@pytest.fixture(autouse=True)
def _fresh_cache(monkeypatch):
    for var in ("NETMARL_EVALUATION_CACHE", "NETMARL_EVALUATION_CACHE_ENTRIES", "NETMARL_EVALUATION_CACHE_BYTES"):
        monkeypatch.delenv(var, raising=False)
    clear_evaluation_cache()
    yield
    clear_evaluation_cache()


@pytest.fixture
def solves(monkeypatch):
    """Count every backend factorisation, by kind ("bordered": average reward, "shifted": discounted)."""
    counts = {"bordered": 0, "shifted": 0}
    original = _backends.LinearBackend.factor

    def counting(self, P, kind, **kwargs):
        counts[kind] += 1
        return original(self, P, kind, **kwargs)

    monkeypatch.setattr(_backends.LinearBackend, "factor", counting)
    return counts


def _pairs(mdp, m, seed):
    rng = np.random.default_rng(seed)
    states = np.stack([rng.integers(0, S, m) for S in mdp.state_sizes], axis=1)
    actions = np.stack([rng.integers(0, A, m) for A in mdp.action_sizes], axis=1)
    return states, actions


def _obvious_loop(mdp, pol, states, actions):
    qs = [q_function(mdp, pol, states, actions, agent=i) for i in range(mdp.n)]
    return qs, policy_gradient(mdp, pol)


def _expert(mdp, pol, states, actions):
    ev = evaluate_policy(mdp, pol)
    qs = [q_function(mdp, pol, states, actions, agent=i, evaluation=ev) for i in range(mdp.n)]
    return qs, policy_gradient(mdp, pol, evaluation=ev)


def _assert_bit_identical(a, b):
    qa, ga = a
    qb, gb = b
    for x, y in zip(qa, qb):
        assert x.tobytes() == y.tobytes()
    for x, y in zip(ga, gb):
        assert x.shape == y.shape and x.tobytes() == y.tobytes()


def test_obvious_loop_solves_once(solves):
    mdp, pol = qu2020_line(5, rng=0)
    states, actions = _pairs(mdp, 50, 1)
    cached = _obvious_loop(mdp, pol, states, actions)
    assert solves == {"bordered": 1, "shifted": 0}
    info = evaluation_cache_info()
    assert info["misses"] == 1 and info["hits"] == mdp.n and info["entries"] == 1 and info["bytes"] > 0
    # and the answers are exactly the expert's and the uncached ones
    _assert_bit_identical(cached, _expert(mdp, pol, states, actions))
    with no_evaluation_cache():
        _assert_bit_identical(cached, _obvious_loop(mdp, pol, states, actions))
    assert solves["bordered"] == 1 + 1 + (mdp.n + 1)


def test_all_one_shots_share_one_solve(solves):
    mdp, pol = qu2020_line(4, rng=3)
    d = stationary_distribution(mdp, pol)
    J = average_reward(mdp, pol)
    J1 = average_reward(mdp, pol, agent=1)
    h = state_values(mdp, pol)
    obj = objective(mdp, pol)
    assert solves["bordered"] == 1
    ev = evaluate_policy(mdp, pol)  # evaluate_policy itself always solves
    assert solves["bordered"] == 2
    assert d.tobytes() == ev.stationary.tobytes() and J == ev.J == obj and J1 == float(ev.J_local[1])
    assert h.tobytes() == ev.global_values.tobytes()
    d[:] = -1.0  # a returned array is the caller's: the cache is not corrupted
    assert stationary_distribution(mdp, pol).tobytes() == ev.stationary.tobytes()


def test_discounted_is_keyed_on_gamma(solves):
    mdp, pol = qu2020_line(4, rng=2)
    states, actions = _pairs(mdp, 20, 0)
    q = q_function(mdp, pol, states, actions, gamma=0.9)
    g = policy_gradient(mdp, pol, gamma=0.9)
    v = discounted_visitation(mdp, pol, 0.9)
    assert solves == {"bordered": 0, "shifted": 1}
    q_function(mdp, pol, states, actions, gamma=0.8)
    q_function(mdp, pol, states, actions)
    assert solves == {"bordered": 1, "shifted": 2}
    ev = evaluate_policy(mdp, pol, 0.9)
    assert q.tobytes() == ev.q(states, actions).tobytes()
    assert all(a.tobytes() == b.tobytes() for a, b in zip(g, policy_gradient(mdp, pol, 0.9, evaluation=ev)))
    assert v.tobytes() == ((1.0 - 0.9) * ev.visitation(np.full(ev.model.n_states, 1.0 / ev.model.n_states))).tobytes()


def test_changed_logit_is_a_new_solve_same_values_hit(solves):
    mdp, pol = qu2020_line(4, rng=0)
    average_reward(mdp, pol)
    same = LocalSoftmaxPolicy([t.copy() for t in pol.logits])  # a new object, equal values: a hit
    average_reward(mdp, same)
    assert solves["bordered"] == 1
    logits = [t.copy() for t in pol.logits]
    logits[2][1, 0] += 1e-9
    changed = LocalSoftmaxPolicy(logits)
    J = average_reward(mdp, changed)
    assert solves["bordered"] == 2
    with no_evaluation_cache():
        assert J == average_reward(mdp, changed)


def test_model_identity_is_part_of_the_key(solves):
    mdp, pol = qu2020_line(4, rng=0)
    twin, _ = qu2020_line(4, rng=0)  # an equal but distinct model object
    average_reward(mdp, pol)
    average_reward(twin, pol)
    assert solves["bordered"] == 2


def test_tabular_policy_table_by_value(solves):
    P = np.array([[[0.9, 0.1], [0.2, 0.8]], [[0.3, 0.7], [0.6, 0.4]]])
    mdp = TabularMDP(P, np.array([[1.0, 0.0], [0.0, 2.0]]))
    pi = np.array([[0.5, 0.5], [0.25, 0.75]])
    J0 = average_reward(mdp, pi)
    pi[1] = [0.75, 0.25]  # an in-place change of the user's table is a miss
    J1 = average_reward(mdp, pi)
    assert solves["bordered"] == 2 and J0 != J1
    average_reward(mdp, pi.copy())
    assert solves["bordered"] == 2
    soft = TabularSoftmaxPolicy(np.zeros((2, 2)))
    g = policy_gradient(mdp, soft)
    assert average_reward(mdp, soft) == objective(mdp, soft)
    assert solves["bordered"] == 3
    with no_evaluation_cache():
        assert all(a.tobytes() == b.tobytes() for a, b in zip(g, policy_gradient(mdp, soft)))


def test_bound_by_entries_evicts_lru(solves, monkeypatch):
    monkeypatch.setenv("NETMARL_EVALUATION_CACHE_ENTRIES", "2")
    mdp, _ = qu2020_line(3, rng=0)
    pols = [LocalSoftmaxPolicy.random(mdp, rng=k) for k in range(3)]
    for p in pols:
        average_reward(mdp, p)
    info = evaluation_cache_info()
    assert info["entries"] == 2 and info["evictions"] == 1 and solves["bordered"] == 3
    average_reward(mdp, pols[2])  # still held
    assert solves["bordered"] == 3
    average_reward(mdp, pols[0])  # evicted: solved again
    assert solves["bordered"] == 4


def test_bound_by_bytes(solves, monkeypatch):
    mdp, pol = qu2020_line(3, rng=0)
    average_reward(mdp, pol)
    one = evaluation_cache_info()["bytes"]
    assert one >= 8 * 8**2  # at least the dense P
    clear_evaluation_cache()
    monkeypatch.setenv("NETMARL_EVALUATION_CACHE_BYTES", str(int(1.5 * one)))
    other = LocalSoftmaxPolicy.random(mdp, rng=5)
    average_reward(mdp, pol)
    average_reward(mdp, other)
    info = evaluation_cache_info()
    assert info["entries"] == 1 and info["evictions"] == 1 and info["bytes"] <= info["max_bytes"]
    monkeypatch.setenv("NETMARL_EVALUATION_CACHE_BYTES", str(one // 2))  # too big to store at all
    clear_evaluation_cache()
    average_reward(mdp, pol)
    assert evaluation_cache_info()["entries"] == 0


def test_disable_by_environment_and_context(solves, monkeypatch):
    mdp, pol = qu2020_line(3, rng=0)
    monkeypatch.setenv("NETMARL_EVALUATION_CACHE", "0")
    average_reward(mdp, pol)
    average_reward(mdp, pol)
    assert solves["bordered"] == 2 and evaluation_cache_info()["entries"] == 0
    monkeypatch.delenv("NETMARL_EVALUATION_CACHE")
    with no_evaluation_cache():
        average_reward(mdp, pol)
    assert solves["bordered"] == 3 and evaluation_cache_info()["entries"] == 0
    average_reward(mdp, pol)
    average_reward(mdp, pol)
    assert solves["bordered"] == 4
    clear_evaluation_cache()
    average_reward(mdp, pol)
    assert solves["bordered"] == 5


def test_backend_is_part_of_the_key(solves):
    mdp, pol = qu2020_line(3, rng=0)
    Jd = average_reward(mdp, pol, backend="dense")
    Js = average_reward(mdp, pol, backend="sparse")
    average_reward(mdp, pol, backend="dense")
    average_reward(mdp, pol)  # auto resolves to dense here: a hit
    assert solves["bordered"] == 2
    assert Jd == pytest.approx(Js, abs=1e-12)


def test_periodic_mode_shares_the_solve():
    # a deterministic 2-cycle: J is defined, Q at pairs is not unless periodic="cesaro"
    from netmarl_verify.solvers.exact import PeriodicChainError

    P = np.array([[[0.0, 1.0]], [[1.0, 0.0]]])
    mdp = TabularMDP(P, np.array([[1.0], [0.0]]))
    pi = np.ones((2, 1))
    assert average_reward(mdp, pi) == 0.5
    with pytest.raises(PeriodicChainError):
        q_function(mdp, pi, np.array([0]), np.array([0]))
    q = q_function(mdp, pi, np.array([0, 1]), np.array([0, 0]), periodic="cesaro")
    assert evaluation_cache_info()["misses"] == 1
    with no_evaluation_cache():
        assert q.tobytes() == q_function(mdp, pi, np.array([0, 1]), np.array([0, 0]), periodic="cesaro").tobytes()
