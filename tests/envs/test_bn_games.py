"""chen2024 models (envs/_bn_games.py): DAG validation, BN joint tables, sampling, score, families."""

import itertools
import math

import numpy as np
import pytest

from netmarl_verify.envs import ModelValidationError
from netmarl_verify.envs._bn_games import BN_GAME_FAMILIES, BayesianNetwork, BNSoftmaxPolicy, bn_game


def _random_policy(inst, seed=0, scale=1.0):
    rng = np.random.default_rng(seed)
    return inst.policy([scale * rng.standard_normal(s) for s in BNSoftmaxPolicy(inst.game, inst.dag).shapes])


def _brute_joint(pol):
    """pi(a|s) by a loop over joint actions (the obviously correct reference)."""
    g, dag = pol.game, pol.dag
    tables = pol.local_tables()
    out = np.zeros((g.n_states, g.n_actions))
    for s in range(g.n_states):
        for a, acts in enumerate(itertools.product(*[range(A) for A in g.action_sizes])):
            p = 1.0
            for i, par in enumerate(dag.parents):
                c = int(np.ravel_multi_index([acts[j] for j in par], [g.action_sizes[j] for j in par])) if par else 0
                p *= tables[i][s, c, acts[i]]
            out[s, a] = p
    return out


@pytest.mark.parametrize("parents, match", [([(1,), (0,)], "cycle"), ([(0,)], "own parent"), ([(3,), ()], "outside"),
                                            ([(), (0, 0)], "repeats")])
def test_dag_validation_names_the_culprit(parents, match):
    with pytest.raises(ModelValidationError, match=match):
        BayesianNetwork(parents)


def test_named_dags_and_def3():
    for N in (1, 2, 3, 5):
        assert BayesianNetwork.full(N).is_fully_correlated
        assert len(BayesianNetwork.full(N).edges) == N * (N - 1) // 2
    assert not BayesianNetwork.chain(3).is_fully_correlated
    assert BayesianNetwork([(2,), (), ()]).order == (1, 2, 0)
    assert BayesianNetwork.chain(3).ancestors(2) == (0, 1)
    # a transitive tournament in another order is fully correlated too
    assert BayesianNetwork([(1, 2), (2,), ()]).is_fully_correlated


@pytest.mark.parametrize("dag", ["product", "chain", "star", "inward_star", "full"])
def test_joint_table_matches_brute_force(dag):
    inst = bn_game("random", S=2, N=3, A=2, dag=dag, seed=4)
    pol = _random_policy(inst, 1, 2.0)
    J = pol.joint_table()
    np.testing.assert_allclose(J, _brute_joint(pol), rtol=1e-13, atol=0)
    np.testing.assert_allclose(J.sum(axis=1), 1.0, atol=1e-13)


def test_flat_roundtrip_and_score_against_finite_differences():
    inst = bn_game("random", S=2, N=3, A=2, dag="chain", seed=2)
    pol = _random_policy(inst, 3)
    assert pol.size == 2 * (2 + 4 + 4) and np.array_equal(pol.with_flat(pol.flat).flat, pol.flat)
    eps = 1e-6
    for s, a in ((0, 5), (1, 2)):
        fd = np.array([(math.log(pol.with_flat(pol.flat + eps * e).joint_table()[s, a])
                        - math.log(pol.with_flat(pol.flat - eps * e).joint_table()[s, a])) / (2 * eps)
                       for e in np.eye(pol.size)])
        np.testing.assert_allclose(pol.score(s, a), fd, atol=1e-8)


def test_sampling_frequencies_within_a_clt_tolerance():
    # each joint-action frequency p_hat has sd sqrt(p(1-p)/n); 5 sd over 8 cells: false alarm < 5e-6
    inst = bn_game("random", S=1, N=3, A=2, dag="chain", seed=0)
    pol = _random_policy(inst, 5)
    n = 200_000
    acts = pol.sample(np.zeros(n, dtype=np.int64), rng=7)
    freq = np.bincount(np.ravel_multi_index(acts.T, (2, 2, 2)), minlength=8) / n
    p = pol.joint_table()[0]
    assert np.all(np.abs(freq - p) <= 5 * np.sqrt(p * (1 - p) / n))


def test_near_deterministic_logits_do_not_break_log_tables():
    inst = bn_game("and3", dag="inward_star", c=800.0)
    logs = inst.policy().log_local_tables()
    assert np.isfinite(logs[2]).all() and logs[2][0, 3, 1] == pytest.approx(-800.0)


@pytest.mark.parametrize("family", BN_GAME_FAMILIES)
def test_families_are_reproducible(family):
    a, b = bn_game(family, seed=3), bn_game(family, seed=3)
    assert np.array_equal(a.game.P, b.game.P) and np.array_equal(a.game.R, b.game.R) and a.dag == b.dag
    assert 0.0 <= a.game.reward_range[0] <= a.game.reward_range[1] <= 1.0


def test_family_specifics():
    assert bn_game("parity_star", N=5).game.n_actions == 32
    assert bn_game("random", seed=1).game.P.tolist() != bn_game("random", seed=2).game.P.tolist()
    clim = bn_game("climbing")
    assert clim.game.R.max() == pytest.approx(1.0) and clim.game.R.min() == pytest.approx(0.0)
    with pytest.raises(ModelValidationError, match="unknown chen2024 game family"):
        bn_game("nope")
