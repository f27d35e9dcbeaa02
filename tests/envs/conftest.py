"""Shared instances for the envs tests."""

import numpy as np
import pytest

from netmarl_verify.envs import LocalTabularPolicy, WirelessNetwork


@pytest.fixture
def collision_case():
    """1 x 2 strip, p = 0.7, q = 1; each user sends to the shared AP half the time, else to its own.

    Collisions make the users fail together, so their next states are correlated given the state:
    exact J = 0.63234, a product of policy-averaged per-user kernels gives 0.63595.
    """
    net = WirelessNetwork(1, 2, seed=0, p=[0.7, 0.7], q=np.ones(6))
    k = sorted(set(net.access_points(0)) & set(net.access_points(1)))[0]
    probs = []
    for i in range(2):
        own = sorted(set(net.access_points(i)) - set(net.access_points(1 - i)))[0]
        t = np.zeros((net.state_sizes[i], 5))
        t[:, int(np.flatnonzero(net.ap_table[i] == own)[0])] = 0.5
        t[:, int(np.flatnonzero(net.ap_table[i] == k)[0])] = 0.5
        probs.append(t)
    return net, probs, LocalTabularPolicy(probs)
