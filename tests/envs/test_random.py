"""Randomness is taken the same way everywhere: ``envs.as_generator`` (issue 8, item 3).

Every public function that draws random numbers accepts an int seed, a Generator and None, and an
int seed ``s`` gives bit-identically what ``numpy.random.default_rng(s)`` gives.
"""

import networkx as nx
import numpy as np
import pytest
from numpy.testing import assert_array_equal

import netmarl_verify.envs as envs
from netmarl_verify.envs import (
    LocalPolicySampler,
    LocalSoftmaxPolicy,
    WirelessNetwork,
    as_generator,
    coupled_networked_mdp,
    qu2020_grid,
    qu2020_line,
    random_networked_mdp,
    simulate,
    tune_aloha,
)
from netmarl_verify.solvers.exact import decay_profile, finite_difference_gradient, objective
from netmarl_verify.solvers.sampled import frozen_policy_critic, scalable_actor_critic
from netmarl_verify.verify._bench import simulator_throughput  # moved from envs (issue 15)


# ---------------------------------------------------------------------------- the helper
def test_exported_once():
    assert "as_generator" in envs.__all__ and envs.as_generator is as_generator


@pytest.mark.parametrize("seed", [0, 7, np.int64(7), np.uint32(3), 2**70])
def test_int_seed_is_default_rng_of_it(seed):
    assert_array_equal(as_generator(seed).random(5), np.random.default_rng(int(seed)).random(5))


def test_generator_is_returned_itself():
    g = np.random.default_rng(1)
    assert as_generator(g) is g


def test_none_gives_a_fresh_generator():
    a, b = as_generator(None), as_generator(None)
    assert isinstance(a, np.random.Generator) and a is not b


def test_seed_sequence():
    ss = np.random.SeedSequence(5)
    assert_array_equal(as_generator(ss).random(3), np.random.default_rng(np.random.SeedSequence(5)).random(3))


@pytest.mark.parametrize("bad", [True, np.bool_(False), 1.0, 1.5, "3", [1, 2], object()])
def test_refused_types_name_the_argument(bad):
    with pytest.raises(TypeError, match=r"`rng` must be None, a non-negative int seed"):
        as_generator(bad)


def test_negative_seed():
    with pytest.raises(ValueError, match=r"`seed` must be a non-negative int seed, got -1"):
        as_generator(-1, "seed")


def test_random_state_is_refused_with_a_hint():
    with pytest.raises(TypeError, match=r"`rng` is a legacy numpy.random.RandomState.*default_rng"):
        as_generator(np.random.RandomState(0))


# ---------------------------------------------------------------------------- every entry point
def _line():
    return qu2020_line(3, rng=0)


def _net():
    return WirelessNetwork(1, 2, seed=0)


def _sac(rng):
    mdp, pol = _line()
    res = scalable_actor_critic(mdp, 1, 5, batch=2, rng=rng, checkpoints=[0, 5])
    return np.concatenate([t.ravel() for t in res.logits])


def _frozen(rng):
    mdp, pol = _line()
    res = frozen_policy_critic(mdp, pol, 0, 5, batch=2, rng=rng, checkpoints=[5])
    return np.concatenate([t.ravel() for t in res.tables])


def _decay(method):
    def run(rng):
        mdp, pol = _line()
        return decay_profile(mdp, pol, 0, [0, 1], method=method, n_samples=4, rng=rng, restarts=2,
                             sweeps=1).values
    return run


def _fd(rng):
    mdp, pol = _line()
    U, fd = finite_difference_gradient(lambda p: objective(mdp, p), pol, rng=rng, n_directions=2)
    return np.concatenate([U.ravel(), fd])


ENTRY_POINTS = {
    "NetworkedMDP.step": lambda rng: np.concatenate(_line()[0].step([[0, 1, 0], [1, 1, 1]], [[0, 1, 2]] * 2, rng)),
    "LocalSoftmaxPolicy.sample": lambda rng: _line()[1].sample([[0, 1, 0], [1, 1, 1]], rng),
    "LocalSoftmaxPolicy.random": lambda rng: LocalSoftmaxPolicy.random(_line()[0], rng).flat(),
    "LocalPolicySampler.sample": lambda rng: LocalPolicySampler(_line()[1]).sample([[0, 1, 0]] * 4, rng),
    "WirelessNetwork.step": lambda rng: np.concatenate(_net().step([[1, 3], [2, 0]], [[1, 2], [0, 0]], rng)),
    "simulate (wireless)": lambda rng: simulate(_net(), _net().aloha_policy(0.5), 5, rng, batch=4).average_reward,
    "simulate (networked)": lambda rng: simulate(_line()[0], _line()[1], 5, rng, batch=4).average_reward,
    "tune_aloha": lambda rng: np.array([tune_aloha(_net(), [0.2, 0.8], rng, batch=2, steps=4, burn_in=1).seed]),
    "WirelessNetwork.tune_aloha": lambda rng: _net().tune_aloha([0.5], rng, batch=2, steps=3, burn_in=0).table[
        "average_reward"].to_numpy(),
    "random_networked_mdp": lambda rng: random_networked_mdp(nx.path_graph(3), 2, 2, rng).transitions[1],
    "qu2020_line": lambda rng: qu2020_line(3, rng=rng)[1].flat(),
    "qu2020_grid": lambda rng: qu2020_grid(2, 2, rng=rng)[1].flat(),
    "coupled_networked_mdp": lambda rng: coupled_networked_mdp(nx.path_graph(3), 0.5, rng=rng).transitions[0],
    "scalable_actor_critic": _sac,
    "frozen_policy_critic": _frozen,
    "decay_profile(method='sampled')": _decay("sampled"),
    "decay_profile(method='search')": _decay("search"),
    "finite_difference_gradient": _fd,
}


@pytest.mark.parametrize("name", list(ENTRY_POINTS))
def test_entry_point_takes_int_generator_and_none(name):
    fn = ENTRY_POINTS[name]
    by_int = np.asarray(fn(3))
    by_generator = np.asarray(fn(np.random.default_rng(3)))
    assert_array_equal(by_int, by_generator)
    assert np.asarray(fn(None)).shape == by_int.shape
    assert np.asarray(fn(np.int64(3))).shape == by_int.shape


@pytest.mark.parametrize("name", list(ENTRY_POINTS))
def test_entry_point_refuses_a_float_seed(name):
    with pytest.raises(TypeError, match="`rng` must be None, a non-negative int seed"):
        ENTRY_POINTS[name](1.5)


def test_simulator_throughput_takes_every_form():
    for rng in (0, np.random.default_rng(0), None):
        assert simulator_throughput(_net(), batch=2, steps=2, rng=rng, warmup=0) > 0
    with pytest.raises(TypeError, match="`rng`"):
        simulator_throughput(_net(), batch=2, steps=2, rng="0", warmup=0)


def test_readme_example_with_an_int_seed():
    net = WirelessNetwork(2, 2, d=2, seed=0)
    roll = simulate(net, net.aloha_policy(0.5), steps=20, rng=1, batch=8)
    again = simulate(net, net.aloha_policy(0.5), steps=20, rng=np.random.default_rng(1), batch=8)
    assert_array_equal(roll.average_reward, again.average_reward)


def test_a_generator_continues_one_stream():
    mdp, pol = _line()
    g = np.random.default_rng(4)
    first, second = pol.sample([[0, 0, 0]] * 8, g), pol.sample([[0, 0, 0]] * 8, g)
    ref = np.random.default_rng(4)
    assert_array_equal(first, pol.sample([[0, 0, 0]] * 8, ref))
    assert_array_equal(second, pol.sample([[0, 0, 0]] * 8, ref))


def test_sac_records_the_seed_as_before():
    mdp, _ = _line()
    assert scalable_actor_critic(mdp, 0, 1, rng=5, checkpoints=[1]).seed == 5
    ss = np.random.SeedSequence(9)
    assert scalable_actor_critic(mdp, 0, 1, rng=ss, checkpoints=[1]).seed == 9
    g = np.random.default_rng(2)
    state = g.bit_generator.state
    assert scalable_actor_critic(mdp, 0, 1, rng=g, checkpoints=[1]).seed == state


def test_wireless_seed_is_checked_like_rng():
    assert WirelessNetwork(1, 2, seed=np.int64(4)).seed == 4
    assert np.array_equal(WirelessNetwork(1, 2, seed=4).p, np.random.default_rng(4).uniform(0, 1, 2))
    with pytest.raises(TypeError, match="`seed` must be None, a non-negative int seed"):
        WirelessNetwork(1, 2, seed=1.5)
    with pytest.raises(ValueError, match="`seed` must be a non-negative int seed, got -2"):
        WirelessNetwork(1, 2, seed=-2)
