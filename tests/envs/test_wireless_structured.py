"""The structured exact chain of the wireless network, :meth:`WirelessNetwork.policy_chain`.

It must equal the chain the exact solvers contract from the dense model
(:meth:`WirelessNetwork.to_networked_mdp`) to round-off, keep the collision correlations, agree
with simulation where the dense model is too large (2 x 3), and refuse grids whose dense
``N x N`` matrix cannot fit. Statistical checks use a fixed seed and 5 standard errors of the
spread of independent copies.
"""

import numpy as np
import pytest
from numpy.testing import assert_allclose

from netmarl_verify.envs import LocalSoftmaxPolicy, LocalTabularPolicy, MemoryBudgetError, TabularMDP, WirelessNetwork, simulate
from netmarl_verify.solvers.exact import average_reward, state_values, transition_matrix


def _policies(net, mdp):
    """ALOHA and a random softmax policy (which also puts mass on actions with an empty queue)."""
    return {
        "aloha": net.aloha_policy(0.6),
        "softmax": LocalSoftmaxPolicy.random(mdp, np.random.default_rng(11)),
    }


def _chain_policy(tab):
    return np.ones((tab.n_states, 1))


@pytest.mark.parametrize("H, W, d", [(1, 2, 2), (1, 3, 2), (2, 2, 2), (1, 2, 3), (1, 2, 1)])
@pytest.mark.parametrize("kind", ["aloha", "softmax"])
def test_equals_the_dense_exact_model(H, W, d, kind):
    net = WirelessNetwork(H, W, d=d, seed=3)
    mdp = net.to_networked_mdp()
    pol = _policies(net, mdp)[kind]
    tab = net.policy_chain(pol)
    N = (2**d) ** (H * W)
    assert isinstance(tab, TabularMDP) and (tab.n_states, tab.n_actions) == (N, 1)
    assert_allclose(tab.P[:, 0, :], transition_matrix(mdp, pol, backend="dense"), rtol=0, atol=1e-12)
    assert abs(average_reward(tab, _chain_policy(tab)) - average_reward(mdp, pol)) <= 1e-12
    # discounted values pin the per-state reward R[s] = E_pi[(1/n) sum_i r_i | s] as well
    assert_allclose(state_values(tab, _chain_policy(tab), gamma=0.5), state_values(mdp, pol, gamma=0.5),
                    rtol=0, atol=1e-12)


def test_list_of_tables_and_tabular_policy_are_accepted():
    net = WirelessNetwork(1, 2, seed=1)
    probs = net.uniform_policy().probabilities()
    a = net.policy_chain(probs)
    b = net.policy_chain(LocalTabularPolicy(probs))
    assert np.array_equal(a.P, b.P) and np.array_equal(a.R, b.R)


def test_collisions_keep_next_states_correlated(collision_case):
    """The regression case of test_wireless.py: 1 x 2, p = 0.7, q = 1, shared AP half the time."""
    net, probs, pol = collision_case
    tab = net.policy_chain(pol)
    J = average_reward(tab, _chain_policy(tab))
    assert abs(J - average_reward(net.to_networked_mdp(), pol)) <= 1e-12
    assert abs(J - 0.63234) < 5e-6, J  # the product-of-marginals chain gives 0.63595
    # both users hold a deadline-2 packet (s = 2): each fails iff both pick AP k (probability
    # 1/4), so they fail together; failing leaves s' in {1, 3}, succeeding s' in {0, 2}
    s = np.ravel_multi_index((2, 2), net.state_sizes)
    law = tab.P[s, 0].reshape(4, 4)  # [s_0', s_1']
    fail, ok = [1, 3], [0, 2]
    assert_allclose(law[np.ix_(fail, fail)].sum(), 0.25, rtol=0, atol=1e-15)
    assert_allclose(law[np.ix_(ok, ok)].sum(), 0.75, rtol=0, atol=1e-15)
    assert law[np.ix_(fail, ok)].sum() == 0.0 and law[np.ix_(ok, fail)].sum() == 0.0  # a product would give 3/16 each


@pytest.mark.slow
def test_two_by_three_matches_simulation():
    net = WirelessNetwork(2, 3, seed=0)
    pol = net.aloha_policy(0.5)
    tab = net.policy_chain(pol)
    assert tab.n_states == 4096
    J = average_reward(tab, _chain_policy(tab))
    roll = simulate(net, pol, 2000, np.random.default_rng(7), batch=1000, burn_in=100)
    assert abs(roll.mean - J) <= 5 * roll.std_error, (roll.mean, J, roll.std_error)


def test_refuses_three_by_three_before_allocating():
    net = WirelessNetwork(3, 3, seed=0)
    with pytest.raises(MemoryBudgetError, match=r"3 x 3 wireless grid .*262144 global states.*512\.00 GiB"):
        net.policy_chain(net.aloha_policy(0.5))
    small = WirelessNetwork(2, 2, seed=0)
    with pytest.raises(MemoryBudgetError, match=r"2 x 2 wireless grid .*256 global states"):
        small.policy_chain(small.aloha_policy(0.5), max_bytes=1000)
