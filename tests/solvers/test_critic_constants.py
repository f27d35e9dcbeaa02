"""solvers/exact/_critic_constants.py: a second route for every quantity (dense, by definition)."""

import math

import numpy as np
import pytest

from netmarl_verify.envs import qu2020_line
from netmarl_verify.solvers.exact import (
    critic_averaged_system,
    critic_fixed_point,
    critic_mixing_constants,
    ergodicity_constants,
    evaluate_policy,
    l1_contraction,
    state_action_chain,
)


@pytest.fixture(scope="module")
def inst():
    mdp, pol = qu2020_line(2, rng=3, state_size=2, action_size=2)
    ev = evaluate_policy(mdp, pol)
    return mdp, pol, ev, state_action_chain(mdp, pol, evaluation=ev)


def test_chain_matches_ergodicity_constants(inst):
    mdp, pol, ev, ch = inst
    erg = ergodicity_constants(mdp, pol, evaluation=ev)
    assert np.allclose(ch.P.sum(axis=1), 1) and np.allclose(ch.pi @ ch.P, ch.pi)
    assert math.isclose(ch.mu_D, erg.mu_D, rel_tol=1e-12) and ch.sigma == erg.sigma
    X = ch.P - ch.pi[None, :]
    D, Di = np.diag(np.sqrt(ch.pi)), np.diag(1 / np.sqrt(ch.pi))
    assert math.isclose(ch.mu_D_transpose, np.linalg.norm(D @ X.T @ Di, 2), rel_tol=1e-10)


def test_l1_contraction_is_the_sup_over_directions(inst):
    *_, ch = inst
    rng = np.random.default_rng(0)
    ts = [0, 1, 2, 5]
    ratios, pairs = l1_contraction(ch.P, ts)
    m = ch.n_pairs
    for t, r, (x, y) in zip(ts, ratios, pairs):
        A = np.linalg.matrix_power(ch.P.T, t)
        d = np.zeros(m)
        d[x], d[y] = 0.5, -0.5
        assert math.isclose(np.abs(A @ d).sum(), r, rel_tol=1e-12)  # attained
        D = rng.standard_normal((2000, m))
        D -= D.mean(axis=1, keepdims=True)
        sampled = (np.abs(D @ A.T).sum(axis=1) / np.abs(D).sum(axis=1)).max()
        assert sampled <= r + 1e-12  # never exceeded
    assert ratios[0] == 1.0


def _dense_G_bar(mdp, ch, agent, kappa, cp, dummy=0):
    N = list(mdp.kappa_hop(agent, kappa))
    shape = tuple(mdp.state_sizes[j] for j in N) + tuple(mdp.action_sizes[j] for j in N)
    zN = np.ravel_multi_index(tuple([ch.states[:, j] for j in N] + [ch.actions[:, j] for j in N]), shape)
    nZN = math.prod(shape)
    Phi = np.zeros((ch.n_pairs, nZN))
    Phi[np.arange(ch.n_pairs), zN] = 1
    Phi = np.delete(Phi, dummy, axis=1)
    D = np.diag(ch.pi)
    m = Phi.shape[1]
    G = np.zeros((m + 1, m + 1))
    G[0, 0] = 1
    G[1:, 0] = Phi.T @ ch.pi / cp
    G[1:, 1:] = Phi.T @ D @ (Phi - ch.P @ Phi)
    r = ch.rewards[:, agent]
    h = np.concatenate([[cp * ch.pi @ r], Phi.T @ D @ r])
    return G, h, Phi, zN


@pytest.mark.parametrize("agent,kappa", [(0, 0), (1, 0), (0, 1)])
def test_averaged_system_by_definition(inst, agent, kappa):
    mdp, pol, ev, ch = inst
    cp = 1 / (ch.sigma * math.sqrt(1 - ch.mu_D))
    s = critic_averaged_system(mdp, pol, agent, kappa, cp, evaluation=ev)
    G, h, _, _ = _dense_G_bar(mdp, ch, agent, kappa, cp)
    assert np.allclose(s.G_bar, G, atol=1e-14) and np.allclose(s.h_bar, h, atol=1e-14)
    assert math.isclose(s.mu_hat, ev.J_local[agent], rel_tol=1e-12)
    assert np.allclose(s.table, critic_fixed_point(mdp, pol, agent, kappa, evaluation=ev), atol=1e-9)
    rng = np.random.default_rng(1)
    X = rng.standard_normal((500, G.shape[0]))
    assert (np.einsum("ki,ij,kj->k", X, G, X) / (X ** 2).sum(axis=1)).min() >= s.symmetric_part_min_eig - 1e-12


def test_mixing_constants_by_definition(inst):
    mdp, pol, ev, ch = inst
    agent, kappa = 0, 0
    cp = 1 / (ch.sigma * math.sqrt(1 - ch.mu_D))
    ts = [0, 1, 3]
    mix = critic_mixing_constants(mdp, pol, agent, kappa, cp, ts, evaluation=ev, chain=ch)
    Gbar, hbar, Phi, zN = _dense_G_bar(mdp, ch, agent, kappa, cp)
    m = Phi.shape[1]
    r = ch.rewards[:, agent]
    nZN = m + 1

    def e(x):  # e_x over Z-hat_N (zero for the dummy 0)
        v = np.zeros(m)
        if x > 0:
            v[x - 1] = 1
        return v

    def G_tilde(x, y):
        G = np.zeros((m + 1, m + 1))
        G[0, 0] = 1
        G[1:, 0] = e(x) / cp
        G[1:, 1:] = np.outer(e(x), e(x) - e(y))
        return G

    def h(z):
        return np.concatenate([[cp * r[z]], e(zN[z]) * r[z]])

    norm = lambda A: np.abs(A).sum(axis=1).max()  # noqa: E731
    assert math.isclose(mix.G_tilde_max, max(norm(G_tilde(x, y)) for x in range(nZN) for y in range(nZN)))
    assert math.isclose(mix.h_max, max(np.abs(h(z)).max() for z in range(ch.n_pairs)))
    Gz = [sum(ch.P[z, w] * G_tilde(zN[z], zN[w]) for w in range(ch.n_pairs)) for z in range(ch.n_pairs)]
    assert math.isclose(mix.G_theta_max, max(norm(g) for g in Gz), rel_tol=1e-12)
    assert np.allclose(sum(ch.pi[z] * Gz[z] for z in range(ch.n_pairs)), Gbar, atol=1e-14)
    assert math.isclose(mix.G_bar_norm, norm(Gbar)) and math.isclose(mix.h_bar_norm, np.abs(hbar).max())
    H = np.array([h(z) for z in range(ch.n_pairs)])
    for k, t in enumerate(ts):
        Pt = np.linalg.matrix_power(ch.P, t)
        gm = max(norm(sum(Pt[z0, z] * Gz[z] for z in range(ch.n_pairs)) - Gbar) for z0 in range(ch.n_pairs))
        hm = max(np.abs(Pt[z0] @ H - hbar).max() for z0 in range(ch.n_pairs))
        assert math.isclose(mix.G_mixing[k], gm, rel_tol=1e-10, abs_tol=1e-14)
        assert math.isclose(mix.h_mixing[k], hm, rel_tol=1e-10, abs_tol=1e-12)
    # Poisson solutions: the truncated series sum_t (P^t - 1 pi^T) converges to the fundamental matrix
    W = sum(np.linalg.matrix_power(ch.P, t) - ch.pi[None, :] for t in range(200))
    ghat = max(norm(sum(W[z0, z] * Gz[z] for z in range(ch.n_pairs))) for z0 in range(ch.n_pairs))
    assert math.isclose(mix.G_hat_max, ghat, rel_tol=1e-8)
    assert math.isclose(mix.h_hat_max, np.abs(W @ H).max(), rel_tol=1e-8)
