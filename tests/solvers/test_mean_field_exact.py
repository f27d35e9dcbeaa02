"""Exact quantities of gu2021's lifted MDP (solvers/exact/_mean_field.py), each against a second route."""

import itertools
import math

import numpy as np
import pytest

from netmarl_verify.envs._mean_field import (
    correlated_policy_table,
    lift,
    mf_identity2,
    mf_relay,
    mf_random,
    product_mdp,
    product_policy_table,
    product_states,
    random_individual_policy,
)
from netmarl_verify.solvers.exact import state_values
from netmarl_verify.solvers.exact._mean_field import (
    agreement_horizon,
    decay_profile_lifted,
    energy_gradient,
    energy_objective,
    evaluate_lifted,
    lemma42_bounds,
    local_q,
    localized_gradient,
)


def _mu_of_joint(model):
    S = product_states(model)
    return model.mu_index(np.stack([np.bincount(r, minlength=model.n_states) for r in S]))


# From the guide §8: identity kernel, r = 1 => V = 1/(1-gamma) for (4), N agents on 2 states.
@pytest.mark.parametrize("gamma", [0.3, 0.9])
def test_identity2_known_answer(gamma):
    L = lift(mf_identity2(gamma))
    w = L.multinomial_policy(np.ones((2, 3, 1)))
    ev = evaluate_lifted(L, w)
    assert np.allclose(ev.V, 1 / (1 - gamma), rtol=1e-12)
    assert np.allclose(ev.V_teams.sum(axis=0), ev.V, rtol=1e-12)


@pytest.mark.parametrize("graph, S, N", [("path", 3, 2), ("star", 3, 3), ("cycle", 4, 2)])
def test_lifted_values_equal_the_n_agent_product_mdp(graph, S, N):
    """Lemma 3.1 (weighted reading) by brute force over the N-agent joint system, N <= 3."""
    model = mf_random(graph, S, N, 2, seed=N + S, gamma=0.8)
    L = lift(model)
    pi = random_individual_policy(model, 5)
    ev = evaluate_lifted(L, L.multinomial_policy(pi))
    VN = state_values(product_mdp(model), product_policy_table(model, pi), model.gamma)
    assert np.abs(VN - ev.V[_mu_of_joint(model)]).max() < 1e-12
    assert np.abs(ev.Q - ev.Q_teams.sum(axis=0)).max() < 1e-12


def test_energy_policy_lifting_through_the_correlated_execution():
    model = mf_random("path", 3, 2, 2, seed=9, gamma=0.8)
    L = lift(model)
    rng = np.random.default_rng(0)
    theta, b = rng.normal(size=(3, 8, 3)), rng.choice([-1.0, 1.0], 8)
    w = L.energy_policy(theta, b)
    ev = evaluate_lifted(L, w, teams=False)
    VN = state_values(product_mdp(model), correlated_policy_table(L, w), model.gamma)
    assert np.abs(VN - ev.V[_mu_of_joint(model)]).max() < 1e-12


def test_sigma_sums_to_one_and_equals_the_power_series():
    model = mf_random("path", 3, 2, 2, seed=1, gamma=0.7)
    L = lift(model)
    w = L.multinomial_policy(random_individual_policy(model, 0))
    ev = evaluate_lifted(L, w, teams=False)
    assert abs(ev.sigma.sum() - 1) < 1e-12 and (ev.sigma >= -1e-15).all()
    p = model.initial[L.xi_mu] * w  # p_0(mu, h) = P_0(mu) Pi(h|mu)
    acc = np.zeros(L.n_xi)
    for t in range(200):
        acc += (1 - model.gamma) * model.gamma ** t * p
        p = (p @ L.T)[L.xi_mu] * w
    assert np.abs(acc - ev.sigma).max() < 1e-12
    assert ev.J == pytest.approx(float((ev.sigma * L.team_rewards.sum(axis=1)).sum() / (1 - model.gamma)), rel=1e-12)


def test_decay_profile_against_all_pairs():
    model = mf_random("path", 4, 2, 2, seed=2, gamma=0.6)
    L = lift(model)
    ev = evaluate_lifted(L, L.multinomial_policy(random_individual_policy(model, 1)))
    for s, k in [(0, 0), (0, 1), (1, 1), (0, 2), (3, 2)]:
        hood = list(model.kappa_hop(s, k))
        sub = L.counts[:, hood, :].reshape(L.n_xi, -1)
        brute = max(abs(ev.Q_teams[s, i] - ev.Q_teams[s, j]) for i, j in itertools.combinations(range(L.n_xi), 2)
                    if (sub[i] == sub[j]).all())
        delta, (lo, hi) = decay_profile_lifted(L, ev.Q_teams[s], s, k)
        assert delta == pytest.approx(brute, abs=1e-14)
        assert ev.Q_teams[s, hi] - ev.Q_teams[s, lo] == pytest.approx(delta, abs=1e-14)
    # at the diameter every pair agrees
    assert decay_profile_lifted(L, ev.Q_teams[0], 0, model.diameter)[0] == 0.0


def test_relay_agreement_horizon_is_one_short_of_the_proof():
    """relay, s = 0, k = 2: pairs differing only in mu(3) (distance 3) differ at t = 1 (the proof says t <= 1 agree)."""
    model = mf_relay(3, 0.5)
    L = lift(model)
    w = L.multinomial_policy(np.ones((5, 4, 1)))
    a = L.xi_of_counts(np.array([1, 0, 1, 0, 1]).reshape(5, 1))
    b = L.xi_of_counts(np.array([1, 0, 1, 1, 0]).reshape(5, 1))
    assert agreement_horizon(L, w, 0, a, b, 5) == 0
    ev = evaluate_lifted(L, w)
    delta = decay_profile_lifted(L, ev.Q_teams[0], 0, 2)[0]
    assert delta == pytest.approx((1 / 3) * 0.5 / (1 - 0.5), rel=1e-12)  # weighted: one agent of three at 0
    # printed (7): Delta = gamma/(1-gamma) > proof gamma^2/(1-gamma) and > statement gamma^1.5/(1-gamma)
    Lp = lift(model, "printed")
    ev = evaluate_lifted(Lp, w)
    delta = decay_profile_lifted(Lp, ev.Q_teams[0], 0, 2)[0]
    stated, proof, repaired = lemma42_bounds(1.0, 0.5, 2)
    assert delta == pytest.approx(1.0, rel=1e-12) and stated < delta and proof < delta <= repaired
    # weighted with three of five agents at 0 and gamma = 0.1: 0.6 gamma/(1-gamma) > gamma^1.5/(1-gamma)
    m5 = mf_relay(5, 0.1)
    L5 = lift(m5)
    ev = evaluate_lifted(L5, L5.multinomial_policy(np.ones((5, 6, 1))))
    delta = decay_profile_lifted(L5, ev.Q_teams[0], 0, 2)[0]
    stated, proof, repaired = lemma42_bounds(1.0, 0.1, 2)
    assert delta == pytest.approx(0.6 * 0.1 / 0.9, rel=1e-12) and stated < delta <= repaired


def test_local_q_weights():
    model = mf_random("path", 4, 2, 2, seed=3)
    L = lift(model)
    ev = evaluate_lifted(L, L.multinomial_policy(random_individual_policy(model, 2)))
    q = ev.Q_teams[1]
    lo, hi = local_q(L, q, 1, 1, "worst-low"), local_q(L, q, 1, 1, "worst-high")
    for wt in ("sigma", "uniform"):
        qh = local_q(L, q, 1, 1, wt, ev.sigma)
        assert (qh >= lo - 1e-12).all() and (qh <= hi + 1e-12).all()
    lab = L.key(1, 1)
    qs = local_q(L, q, 1, 1, "sigma", ev.sigma)
    g = lab[0]
    m = lab == g
    assert qs[0] == pytest.approx((ev.sigma[m] * q[m]).sum() / ev.sigma[m].sum(), rel=1e-12)
    with pytest.raises(ValueError, match="needs the visitation"):
        local_q(L, q, 1, 1, "sigma")


@pytest.mark.parametrize("b_kind", ["pm1", "ones"])
def test_energy_gradient_against_finite_differences(b_kind):
    model = mf_random("path", 3, 2, 2, seed=6, gamma=0.8)
    L = lift(model)
    rng = np.random.default_rng(1)
    theta = rng.normal(size=(3, 8, 3)) / math.sqrt(3)
    b = rng.choice([-1.0, 1.0], 8) if b_kind == "pm1" else np.ones(8)
    g, ev, Phi = energy_gradient(L, theta, b, tau=2.0)
    for _ in range(3):
        u = rng.normal(size=theta.shape)
        u /= np.linalg.norm(u)
        eps = 1e-6
        fd = (energy_objective(L, theta + eps * u, b, 2.0) - energy_objective(L, theta - eps * u, b, 2.0)) / (2 * eps)
        assert abs(fd - (g * u).sum()) < 1e-7 * max(1.0, abs(ev.J))
    # Lemma 4.3's first claim, and (33): the localized gradient at the diameter is the exact one
    assert np.linalg.norm(Phi.reshape(3, L.n_xi, -1), axis=2).max() <= 2.0
    assert np.abs(localized_gradient(L, ev, Phi, model.diameter, tau=2.0) - g).max() < 1e-12
    assert np.abs(localized_gradient(L, ev, Phi, 0, tau=2.0, zero_term=True)).max() < 1e-13


def test_lemma42_bounds_exponents():
    stated, proof, repaired = lemma42_bounds(2.0, 0.5, 3)
    assert stated == pytest.approx(4 * 0.5 ** 2) and proof == pytest.approx(4 * 0.5 ** 2)
    assert repaired == pytest.approx(4 * 0.5 ** 2)
    assert lemma42_bounds(1.0, 0.5, 3, signed=True)[2] == pytest.approx(2 * 2 * 0.25)
