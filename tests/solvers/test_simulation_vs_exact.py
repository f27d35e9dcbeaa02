"""Exact stationary quantities vs long simulations of the factored model.

The tolerance is derived from the chain, not tuned: for a time average of f over T steps of a
stationary ergodic chain, Var ~ sigma^2 / T with the asymptotic variance

    sigma^2 = 2 <f~, Z f~>_pi - <f~, f~>_pi,   Z = (I - P + 1 pi^T)^{-1},   f~ = f - pi(f)

(Kemeny & Snell; the CLT for Markov chains). We average B independent chains, so the standard
error is sigma / sqrt(B T); we accept 5 standard errors (two-sided false-alarm probability
~6e-7 per check, Bonferroni over the handful of checks below). sigma^2 is computed here by a
brute-force route on the joint state-action chain, independent of the solver under test.
"""

import networkx as nx
import numpy as np
import pytest

import _reference as ref
from netmarl_verify import envs
from netmarl_verify.solvers.exact import average_reward, stationary_distribution


def _asymptotic_variance(P, f):
    N = P.shape[0]
    w, v = np.linalg.eig(P.T)
    pi = np.real(v[:, np.argmin(np.abs(w - 1))])
    pi /= pi.sum()
    ft = f - pi @ f
    Z = np.linalg.inv(np.eye(N) - P + np.outer(np.ones(N), pi))
    return float(2 * pi @ (ft * (Z @ ft)) - pi @ (ft * ft)), w


def _simulate(mdp, policy, rng, B, T, burn):
    s = np.stack([rng.integers(0, S, B) for S in mdp.state_sizes], axis=1)
    total = 0.0
    counts = np.zeros(mdp.n_states)
    for t in range(burn + T):
        a = policy.sample(s, rng)
        s_next, r = mdp.step(s, a, rng)
        if t >= burn:
            total += r.mean(axis=1).sum()
            counts += np.bincount(mdp.state_index(s), minlength=mdp.n_states)
        s = s_next
    return total / (B * T), counts / (B * T)


@pytest.mark.parametrize("transition_form", ["local", "neighbourhood"])
def test_stationary_average_matches_simulation(transition_form):
    rng = np.random.default_rng(20261122)
    mdp = envs.random_networked_mdp(nx.path_graph(3), 2, 2, rng, transition_form=transition_form)
    policy = envs.LocalSoftmaxPolicy.random(mdp, rng)
    Pz, rz, pi = ref.state_action_chain(mdp, policy)
    B, T, burn = 256, 400, 60
    sigma2, eig = _asymptotic_variance(Pz, rz)
    lam2 = np.sort(np.abs(eig))[-2]
    assert lam2**burn < 1e-6  # burn-in bias is negligible against the tolerance below

    J_sim, freq = _simulate(mdp, policy, rng, B, T, burn)
    J = average_reward(mdp, policy)
    se = np.sqrt(sigma2 / (B * T))
    assert abs(J_sim - J) < 5 * se, (J_sim, J, se)

    # state occupation frequencies: indicator of each global state, on the state-action chain
    d = stationary_distribution(mdp, policy)
    nA = pi.shape[1]
    for s in range(mdp.n_states):
        ind = np.zeros(Pz.shape[0])
        ind[s * nA : (s + 1) * nA] = 1.0
        sig_s, _ = _asymptotic_variance(Pz, ind)
        assert abs(freq[s] - d[s]) < 5 * np.sqrt(sig_s / (B * T)), (s, freq[s], d[s])


def test_simulation_detects_wrong_kernel():
    """The same statistical check rejects the answer of a model with one perturbed row."""
    rng = np.random.default_rng(7)
    mdp = envs.random_networked_mdp(nx.path_graph(3), 2, 2, rng)
    policy = envs.LocalSoftmaxPolicy.random(mdp, rng)
    P = [np.array(t) for t in mdp.transitions]
    P[1] = P[1].copy()
    P[1][..., :] = P[1][..., ::-1]  # swap next-state probabilities of agent 1: a wrong kernel
    wrong = envs.NetworkedMDP(mdp.graph, P, mdp.rewards, transition_form="local", reward_form="local")
    Pz, rz, _ = ref.state_action_chain(mdp, policy)
    B, T, burn = 256, 400, 60
    sigma2, _ = _asymptotic_variance(Pz, rz)
    J_sim, _ = _simulate(mdp, policy, rng, B, T, burn)
    se = np.sqrt(sigma2 / (B * T))
    d_wrong = stationary_distribution(wrong, policy)
    d_true = stationary_distribution(mdp, policy)
    assert np.abs(d_wrong - d_true).max() > 1e-2
    assert abs(J_sim - average_reward(wrong, policy)) > 5 * se
