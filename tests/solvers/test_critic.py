"""The critic's fixed point (qu2020 Alg. 1 line 6, App. C) and Assumption 4's constants.

Every quantity is compared with a brute-force route on the joint state-action chain built from
``to_tabular`` by ``_reference.state_action_chain`` (numpy only, independent of ``solvers.exact._critic``):
P_z[(s,a),(s',a')] = P(s'|s,a) pi(a'|s'), its stationary law by an eigenvector, the feature
matrix Phi (one-hot of z_N) and M = Phi^T D P_z Phi (qu2020 eq. (24)). Tolerance 1e-10/1e-12:
direct linear algebra on <= 128 pairs.

The simulation test is a second, dynamic route: the critic recursion (lines 5-6) itself, run on
many independent chains with a frozen policy (written out again below, not taken from
``solvers.sampled``).
"""

import itertools

import networkx as nx
import numpy as np
import pytest
import scipy.linalg as sla
from numpy.testing import assert_allclose

import _reference as ref
from netmarl_verify import envs
from netmarl_verify.envs import MemoryBudgetError
from netmarl_verify.solvers.exact import (
    UnidentifiedFixedPointError,
    critic_approximation_error,
    critic_fixed_point,
    ergodicity_constants,
    evaluate_policy,
    q_table,
)

FORMS = list(itertools.product(["local", "neighbourhood"], ["local", "neighbourhood"]))


# ---------------------------------------------------------------------------- brute force
def _z_chain(mdp, policy):
    """P_z and its stationary law (``ref.stationary`` refuses unless eigenvalue 1 is simple)."""
    Pz, _, _ = ref.state_action_chain(mdp, policy)
    return Pz, ref.stationary(Pz)


def _features(mdp, agent, kappa):
    N = list(mdp.kappa_hop(agent, kappa))
    shape = tuple(mdp.state_sizes[j] for j in N) + tuple(mdp.action_sizes[j] for j in N)
    st, ac = ref.all_pairs(mdp)
    zN = np.ravel_multi_index(tuple(st[:, N].T) + tuple(ac[:, N].T), shape)
    Phi = np.zeros((zN.size, int(np.prod(shape))))
    Phi[np.arange(zN.size), zN] = 1.0
    return Phi, shape


def _brute_equation(mdp, policy, agent, kappa):
    Pz, p = _z_chain(mdp, policy)
    Phi, shape = _features(mdp, agent, kappa)
    R = mdp.local_reward_table(agent).reshape(-1)
    J = float(p @ R)
    M = Phi.T @ (p[:, None] * Pz) @ Phi
    return dict(Pz=Pz, p=p, Phi=Phi, shape=shape, R=R, J=J, M=M, pi=Phi.T @ p, rew=Phi.T @ (p * R))


def _instance(tf="local", rf="local", seed=3, graph=None):
    graph = nx.path_graph(4) if graph is None else graph
    n = graph.number_of_nodes()
    mdp = envs.random_networked_mdp(graph, [2, 3, 2, 2][:n], [2, 1, 3, 2][:n], rng=seed,
                                    transition_form=tf, reward_form=rf)
    return mdp, envs.LocalSoftmaxPolicy.random(mdp, seed + 100)


# ---------------------------------------------------------------------------- the equation
@pytest.mark.parametrize("tf,rf", FORMS)
@pytest.mark.parametrize("graph", [nx.path_graph(4), nx.star_graph(3)], ids=["path", "star"])
def test_fixed_point_solves_the_averaged_equation(tf, rf, graph):
    mdp, pol = _instance(tf, rf, graph=graph)
    for agent in range(mdp.n):
        for kappa in range(3):
            Q = critic_fixed_point(mdp, pol, agent, kappa)
            bf = _brute_equation(mdp, pol, agent, kappa)
            assert Q.shape == bf["shape"]
            q = Q.reshape(-1)
            assert q[0] == 0.0  # the dummy pair (all zeros) is pinned
            # (*): M q - pi q + (sum_{z: z_N = x} pi(z) r_i(z)) - pi J = 0 on every x != dummy
            res = bf["M"] @ q - bf["pi"] * q + bf["rew"] - bf["pi"] * bf["J"]
            assert np.abs(res[1:]).max() < 1e-12, (agent, kappa, np.abs(res[1:]).max())


@pytest.mark.parametrize("tf,rf", FORMS)
def test_fixed_point_of_the_projected_bellman_operator(tf, rf):
    # qu2020 eq. (25a): Q = Pi T(Phi~ Q) with Pi the conditional expectation given z_N. Every
    # fixed point is Q~ + c 1 (Claim 2), so the pinned solution satisfies it on the dummy row as
    # well, although that row is never imposed: a genuine consistency check.
    mdp, pol = _instance(tf, rf)
    for agent, kappa in [(0, 0), (1, 1), (3, 1), (2, 2)]:
        bf = _brute_equation(mdp, pol, agent, kappa)
        q = critic_fixed_point(mdp, pol, agent, kappa).reshape(-1)
        Tq = bf["R"] - bf["J"] + bf["Pz"] @ (bf["Phi"] @ q)
        Pi = (bf["Phi"] * bf["p"][:, None]).T / bf["pi"][:, None]
        assert_allclose(Pi @ Tq, q, rtol=0, atol=1e-12)


def test_dummy_choice_shifts_by_a_constant():
    mdp, pol = _instance()
    Q0 = critic_fixed_point(mdp, pol, 1, 1)
    dummy = (1, 2, 0, 0, 0, 1)  # states of N = (0, 1, 2), then actions
    Q1 = critic_fixed_point(mdp, pol, 1, 1, dummy=dummy)
    assert Q1[dummy] == 0.0
    assert_allclose(Q1, Q0 - Q0[dummy], rtol=0, atol=1e-12)
    flat = int(np.ravel_multi_index(dummy, Q0.shape))
    assert_allclose(critic_fixed_point(mdp, pol, 1, 1, dummy=flat), Q1, rtol=0, atol=0)


def test_full_output_exposes_the_equation():
    mdp, pol = _instance()
    Q, eq = critic_fixed_point(mdp, pol, 2, 1, full_output=True)
    bf = _brute_equation(mdp, pol, 2, 1)
    assert_allclose(eq.M, bf["M"], rtol=0, atol=1e-13)
    assert_allclose(eq.pi, bf["pi"], rtol=0, atol=1e-13)
    assert_allclose(eq.M.sum(axis=1), eq.pi, rtol=0, atol=1e-13)  # rows of M sum to pi_N
    assert_allclose(eq.M.sum(axis=0), eq.pi, rtol=0, atol=1e-13)  # stationarity: columns too
    assert eq.J == pytest.approx(bf["J"], abs=1e-13)
    assert eq.residual < 1e-12
    assert eq.neighbourhood == (1, 2, 3)


# ---------------------------------------------------------------------------- Theorem 3(a)
@pytest.mark.parametrize("tf,rf", FORMS)
def test_full_neighbourhood_recovers_q_exactly(tf, rf):
    # kappa >= diameter: z_N = z, (*) is the z-chain Poisson equation pinned at the dummy, so
    # Q-hat = Q_i - Q_i(dummy) and the error of eq. (13) vanishes with c = Q_i(dummy).
    mdp, pol = _instance(tf, rf)
    ev = evaluate_policy(mdp, pol)
    for agent in range(mdp.n):
        Qi = q_table(mdp, pol, agent, evaluation=ev)
        Qhat = critic_fixed_point(mdp, pol, agent, 3, evaluation=ev)
        assert_allclose(Qhat, Qi - Qi.flat[0], rtol=0, atol=1e-11)
        res = critic_approximation_error(mdp, pol, agent, 3, evaluation=ev)
        assert res.error < 1e-10
        assert res.c == pytest.approx(Qi.flat[0], abs=1e-11)


def test_approximation_error_is_the_best_constant():
    mdp, pol = _instance("neighbourhood", "local")
    bf = _brute_equation(mdp, pol, 0, 1)
    res = critic_approximation_error(mdp, pol, 0, 1)
    Qi = q_table(mdp, pol, 0).reshape(-1)  # global (s, a) order: same as the z-chain
    diff = Qi - bf["Phi"] @ res.fixed_point.reshape(-1)
    def err(c):
        return np.sqrt(bf["p"] @ (diff - c) ** 2)
    assert res.error == pytest.approx(err(res.c), abs=1e-13)
    for dc in (-1e-3, 1e-3):
        assert err(res.c + dc) > res.error
    # E_pi Q_i = 0, so c* = -E_pi Q-hat(z_N): the paper's c = Q~(dummy) (module docstring)
    assert res.c == pytest.approx(-(bf["p"] @ bf["Phi"] @ res.fixed_point.reshape(-1)), abs=1e-12)
    assert 0 < res.error < err(0.0)
    # truncation error shrinks as the neighbourhood grows (and vanishes at the diameter)
    errs = [critic_approximation_error(mdp, pol, 0, k).error for k in range(4)]
    assert errs[3] < 1e-10 and errs[0] > errs[2]


# ---------------------------------------------------------------------------- Assumption 4
@pytest.mark.parametrize("tf", ["local", "neighbourhood"])
def test_ergodicity_constants_against_brute_force(tf):
    mdp, pol = _instance(tf, "local", graph=nx.path_graph(3))
    Pz, p = _z_chain(mdp, pol)
    got = ergodicity_constants(mdp, pol)
    assert got.sigma == pytest.approx(p.min(), rel=1e-10)
    assert_allclose(got.stationary.reshape(-1), p, rtol=0, atol=1e-13)
    # D-norm by a different route: mu_D^2 = largest generalized eigenvalue of X^T D X v = lam D v
    X = Pz - np.outer(np.ones(p.size), p)
    lam = sla.eigh(X.T @ np.diag(p) @ X, np.diag(p), eigvals_only=True)
    assert got.mu_D == pytest.approx(np.sqrt(lam.max()), rel=1e-9)
    assert 0 < got.mu_D < 1 and got.holds
    # the defining supremum: no random direction exceeds it
    rng = np.random.default_rng(0)
    V = rng.standard_normal((p.size, 200))
    ratios = np.sqrt((p[:, None] * (X @ V) ** 2).sum(0) / (p[:, None] * V**2).sum(0))
    assert ratios.max() <= got.mu_D + 1e-12


def test_ergodicity_mu_D_one_for_a_periodic_chain():
    # one agent flipping its state deterministically: the z-chain is periodic with an eigenvalue
    # -1, so ||P - 1 pi^T||_D = 1 and Assumption 4(b) fails (the check can fail).
    g = nx.path_graph(1)
    P = [np.array([[[0.0, 1.0]], [[1.0, 0.0]]])]  # s' = 1 - s, one action
    mdp = envs.NetworkedMDP(g, P, [np.array([[0.0], [1.0]])], transition_form="local", reward_form="local")
    pol = envs.LocalSoftmaxPolicy([np.zeros((2, 1))])
    got = ergodicity_constants(mdp, pol)
    assert got.mu_D == pytest.approx(1.0, abs=1e-12)
    assert not got.holds


# ---------------------------------------------------------------------------- simulation
def _simulate_critic(mdp, policy, agent, kappa, T, B, rng, power, record):
    """Lines 5-6 of qu2020 Alg. 1 on B independent chains, frozen policy, dummy = index 0."""
    N = list(mdp.kappa_hop(agent, kappa))
    shape = tuple(mdp.state_sizes[j] for j in N) + tuple(mdp.action_sizes[j] for j in N)
    s = np.stack([rng.integers(0, S, B) for S in mdp.state_sizes], axis=1)
    a = policy.sample(s, rng)
    Q = np.zeros((B, int(np.prod(shape))))
    mu = np.zeros(B)
    rows = np.arange(B)
    snaps = {}
    for t in range(T):
        if t in record:
            snaps[t] = Q.copy()
        s1, r = mdp.step(s, a, rng)
        a1 = policy.sample(s1, rng)
        x = np.ravel_multi_index(tuple(s[:, N].T) + tuple(a[:, N].T), shape)
        y = np.ravel_multi_index(tuple(s1[:, N].T) + tuple(a1[:, N].T), shape)
        alpha = 1.0 / (1.0 + t) ** power
        qx, qy = Q[rows, x], Q[rows, y]
        Q[rows, x] = np.where(x != 0, qx + alpha * (r[:, agent] - mu + qy - qx), 0.0)
        mu += alpha * (r[:, agent] - mu)
        s, a = s1, a1
    snaps[T] = Q
    return snaps


def test_simulated_critic_converges_to_the_fixed_point():
    # One-time-scale linear stochastic approximation with alpha_t = (1+t)^-p,
    # 1/2 < p < 1: the transient decays like exp(-c sum alpha) and the fluctuation like
    # sqrt(alpha_T) (Konda & Tsitsiklis 2003; Benveniste et al. 1990, Ch. 4). So (a) the RMS error
    # over B independent chains must shrink by at least the factor sqrt(alpha_T / alpha_{T/4})
    # per quadrupling of T (we allow 1.2x that: the RMS over B = 128 chains has relative
    # standard error ~ 1/sqrt(2B) = 6%); (b) the across-chain mean at T must be within 5 standard
    # errors plus alpha_T (an allowance for the O(alpha_T) Markov-noise bias, r in [0, 1]) of
    # the fixed point. A wrong fixed point violates both (last block).
    mdp = envs.random_networked_mdp(nx.path_graph(2), 2, 2, rng=7)
    pol = envs.LocalSoftmaxPolicy.random(mdp, 8)
    fp = critic_fixed_point(mdp, pol, 0, 0).reshape(-1)
    T, B, p = 16000, 128, 0.55
    snaps = _simulate_critic(mdp, pol, 0, 0, T, B, np.random.default_rng(1), p, record=(T // 16, T // 4))

    def alpha(t):
        return 1.0 / (1.0 + t) ** p

    def rms(t, ref):
        return float(np.sqrt(((snaps[t] - ref[None, :]) ** 2).mean()))

    times = [T // 16, T // 4, T]
    for t0, t1 in zip(times, times[1:]):
        assert rms(t1, fp) <= 1.2 * np.sqrt(alpha(t1) / alpha(t0)) * rms(t0, fp), (t0, t1)
    mean = snaps[T].mean(axis=0)
    se = snaps[T].std(axis=0, ddof=1) / np.sqrt(B)
    assert np.all(np.abs(mean - fp) <= 5 * se + alpha(T)), (mean - fp, se)

    # a wrong kernel (agent 0's neighbour axes s_0, s_1 transposed: a plausible indexing bug) has
    # another fixed point, and the same simulation fails both checks against it
    P = [np.array(t) for t in mdp.transitions]
    P[0] = np.swapaxes(P[0], 0, 1).copy()
    wrong = envs.NetworkedMDP(mdp.graph, P, mdp.rewards, transition_form="local", reward_form="local")
    fp_wrong = critic_fixed_point(wrong, pol, 0, 0).reshape(-1)
    assert np.abs(fp_wrong - fp).max() > 0.02
    assert not np.all(np.abs(mean - fp_wrong) <= 5 * se + alpha(T))
    assert rms(T, fp_wrong) > 1.2 * np.sqrt(alpha(T) / alpha(T // 4)) * rms(T // 4, fp_wrong)


# ---------------------------------------------------------------------------- refusals
def test_unvisited_pair_is_refused():
    # agent 0 always moves to state 0: z_N with s_0 = 1 has stationary probability 0
    g = nx.path_graph(2)
    P0 = np.zeros((2, 2, 2, 2))
    P0[..., 0] = 1.0
    P1 = np.full((2, 2, 2, 2), 0.5)
    R = [np.ones((2, 2)), np.ones((2, 2))]
    mdp = envs.NetworkedMDP(g, [P0, P1], R, transition_form="local", reward_form="local")
    pol = envs.LocalSoftmaxPolicy.uniform(mdp)
    with pytest.raises(UnidentifiedFixedPointError, match="Assumption 4"):
        critic_fixed_point(mdp, pol, 0, 0)
    assert ergodicity_constants(mdp, pol).sigma == 0.0


def test_memory_and_argument_checks():
    mdp, pol = _instance()
    with pytest.raises(MemoryBudgetError, match="agent 1 at kappa=2"):
        critic_fixed_point(mdp, pol, 1, 2, max_bytes=10_000)
    with pytest.raises(MemoryBudgetError, match="state-action chain"):
        ergodicity_constants(mdp, pol, max_bytes=10_000)
    with pytest.raises(ValueError, match="dummy"):
        critic_fixed_point(mdp, pol, 0, 0, dummy=(5, 0))
    with pytest.raises(ValueError, match="dummy"):
        critic_fixed_point(mdp, pol, 0, 0, dummy=99)
    with pytest.raises(ValueError, match="agent"):
        critic_fixed_point(mdp, pol, 7, 0)
    with pytest.raises(TypeError, match="NetworkedMDP"):
        critic_fixed_point(mdp.to_tabular(), pol, 0, 0)
    with pytest.raises(ValueError, match="gamma"):
        critic_fixed_point(mdp, pol, 0, 0, evaluation=evaluate_policy(mdp, pol, 0.9))
