"""zhang2025 models (envs/_zhang2025.py): product softmax policies, the instance families, the grid Simple Spread."""

import itertools
import math

import numpy as np
import pytest
from numpy.testing import assert_allclose

from netmarl_verify.envs import MemoryBudgetError
from netmarl_verify.envs._zhang2025 import (
    MPE2_ACTION,
    SPREAD_ACTIONS,
    ZHANG2025_FAMILIES,
    LinearLogits,
    LoopLogits,
    ProductSoftmaxPolicy,
    SpreadGrid,
    bandit3_loop,
    joint_action_digits,
    make_zhang2025_instance,
    random_mamdp,
    reduced_features,
    spread_grid,
    swap2,
    tabular_features,
)


def _policies():
    rng = np.random.default_rng(3)
    S = 3
    yield "tabular", ProductSoftmaxPolicy([LinearLogits(tabular_features(S, 2)), LinearLogits(tabular_features(S, 3))],
                                          [rng.normal(size=6), rng.normal(size=9)])
    yield "reduced", ProductSoftmaxPolicy([LinearLogits(reduced_features(S, 3))] * 2, rng.normal(size=12))
    yield "loglinear", ProductSoftmaxPolicy([LinearLogits(rng.normal(size=(S, 2, 4)))] * 3, rng.normal(size=12))
    yield "loop", ProductSoftmaxPolicy([LoopLogits(0.7, S), LinearLogits(tabular_features(S, 2))],
                                       [np.array([1.3]), rng.normal(size=6)])


POLICIES = dict(_policies())


def test_joint_action_digits_follow_ravel_multi_index():
    sizes = (2, 3, 2)
    digits = joint_action_digits(sizes)
    for a, local in enumerate(itertools.product(*map(range, sizes))):
        assert tuple(digits[:, a]) == local
        assert np.ravel_multi_index(local, sizes) == a


@pytest.mark.parametrize("kind", sorted(POLICIES))
def test_joint_table_is_the_brute_force_product(kind):
    pol = POLICIES[kind]
    tabs = pol.agent_tables()
    joint = pol.joint_table()
    for s in range(pol.n_states):
        for a, local in enumerate(itertools.product(*map(range, pol.action_sizes))):
            assert joint[s, a] == pytest.approx(math.prod(t[s, b] for t, b in zip(tabs, local)), rel=1e-14)
    assert_allclose(joint.sum(axis=1), 1.0, atol=1e-14)


@pytest.mark.parametrize("kind", sorted(POLICIES))
def test_scores_match_central_differences_of_log_pi(kind):
    # psi(s, a) = grad log pi(a|s): central differences, error O(eps^2) ~ 1e-10
    pol = POLICIES[kind]
    psi = pol.joint_scores()
    eps = 1e-5
    for k in range(pol.size):
        e = np.zeros(pol.size)
        e[k] = eps
        fd = (np.log(pol.with_flat(pol.flat + e).joint_table()) - np.log(pol.with_flat(pol.flat - e).joint_table())) / (2 * eps)
        assert_allclose(psi[:, :, k], fd, atol=1e-8)
    # E_a[psi(s, a)] = 0 in every state
    assert_allclose(np.einsum("sa,sap->sp", pol.joint_table(), psi), 0.0, atol=1e-13)


def test_policy_validates_shapes():
    with pytest.raises(ValueError, match="blocks of sizes"):
        ProductSoftmaxPolicy([LinearLogits(tabular_features(2, 2))], [np.zeros(3)])
    with pytest.raises(ValueError, match="same states"):
        ProductSoftmaxPolicy([LinearLogits(tabular_features(2, 2)), LinearLogits(tabular_features(3, 2))], np.zeros(10))


def test_bandit3_loop_closed_form():
    c, t = 0.5, 2.0
    inst = bandit3_loop(c, t, 0.9)
    z = np.exp(c * np.array([math.cos(t), math.sin(t), 0.0]))
    assert_allclose(inst.policy.joint_table()[0], z / z.sum(), rtol=1e-14)
    assert inst.mdp.R.tolist() == [[0.0, 0.0, 1.0]]


@pytest.mark.parametrize("name, params", [
    ("random_mamdp", dict(N=2, S=3, A_i=2, seed=5, parametrisation="reduced")),
    ("random_mdp", dict(S=4, A=3, seed=1)),
    ("swap2", dict(gamma=0.5, p_stay=0.2, seed=2)),
    ("spread_grid", dict(N=2, length=3, width=2, seed=4)),
])
def test_families_reproducible_from_name_params_seed(name, params):
    a, b = make_zhang2025_instance(name, **params), make_zhang2025_instance(name, **params)
    assert a.name == b.name
    assert np.array_equal(a.mdp.P, b.mdp.P) and np.array_equal(a.local_R, b.local_R)
    assert np.array_equal(a.policy.flat, b.policy.flat)
    assert_allclose(a.mdp.R, a.local_R.mean(axis=0), rtol=1e-15)
    assert set(ZHANG2025_FAMILIES) >= {name}


def test_random_mamdp_seed_changes_the_instance():
    a, b = random_mamdp(2, 3, 2, seed=0), random_mamdp(2, 3, 2, seed=1)
    assert not np.array_equal(a.mdp.P, b.mdp.P)
    with pytest.raises(ValueError, match="unknown zhang2025 family"):
        make_zhang2025_instance("nope")


def test_swap2_is_a_two_cycle():
    m = swap2()
    assert m.mdp.P[0, :, 1].tolist() == [1.0, 1.0] and m.mdp.P[1, :, 0].tolist() == [1.0, 1.0]


# ----------------------------------------------------------------------------- Simple Spread
def _brute_next(g, cells, actions):
    out = []
    for c, a in zip(cells, actions):
        x, y = divmod(int(c), g.width)
        dx, dy = list(SPREAD_ACTIONS.values())[int(a)]
        nx_, ny = x + dx, y + dy
        out.append(c if not (0 <= nx_ < g.length and 0 <= ny < g.width) else nx_ * g.width + ny)
    return out


def test_spread_13x5_sizes_and_dynamics_against_a_python_loop():
    g = SpreadGrid(2, 13, 5)
    assert (g.n_states, g.n_joint, g.n_cells, g.diameter) == (4225, 25, 65, 16)
    rng = np.random.default_rng(0)
    states = rng.integers(g.n_states, size=300)
    actions = rng.integers(5, size=(300, 2))
    nxt, rew = g.step(states, actions)
    for s, a, s2, r in zip(states, actions, nxt, rew):
        cells = g.decode_cells(s)
        assert list(g.decode_cells(s2)) == _brute_next(g, cells, a)
        pos = [divmod(int(c), g.width) for c in cells]
        brute_r = -sum(min(abs(px - lx) + abs(py - ly) for px, py in pos) for lx, ly in g.landmarks)
        assert r == brute_r  # reward at the current state (pinned timing)


def test_spread_walls_post_timing_and_mpe2_map():
    g = SpreadGrid(1, 3, 2, landmarks=[(2, 1)], reward_timing="post")
    corner = g.encode([[0, 0]])
    down_left = [list(SPREAD_ACTIONS).index("Down"), list(SPREAD_ACTIONS).index("Left")]
    assert g.next_state[corner, down_left].tolist() == [corner, corner]   # blocked moves stay
    up = list(SPREAD_ACTIONS).index("Up")
    assert g.reward[corner, up] == -(2 + 0)  # after the move to (0, 1)
    assert sorted(MPE2_ACTION.values()) == [0, 1, 2, 3, 4]


def test_spread_kernel_sparse_equals_dense_and_rho0():
    inst = spread_grid(N=2, length=3, width=2, seed=1)
    g = SpreadGrid(2, 3, 2)
    pi = inst.policy.joint_table()
    dense = np.einsum("sa,sat->st", pi, inst.mdp.P)
    assert_allclose(g.policy_kernel(pi).toarray(), dense, atol=1e-15)
    assert_allclose(dense.sum(axis=1), 1.0, atol=1e-14)
    assert_allclose(g.rho0, 1 / 36)
    no = SpreadGrid(2, 3, 2, start="no_overlap")
    assert np.count_nonzero(no.rho0) == 36 - 6
    starts = no.reset(500, rng=0)
    assert np.all(no.rho0[starts] > 0)


def test_spread_memory_is_checked_first():
    with pytest.raises(MemoryBudgetError):
        SpreadGrid(3, 13, 5, max_bytes=10**6)
    with pytest.raises(MemoryBudgetError):
        SpreadGrid(2, 13, 5).to_tabular(max_bytes=10**6)
