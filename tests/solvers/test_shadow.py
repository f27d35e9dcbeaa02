"""ying2023's exact quantities (solvers.exact._shadow) against brute force on the joint tables."""

import itertools

import numpy as np
import pytest
from numpy.testing import assert_allclose

from netmarl_verify import envs
from netmarl_verify.solvers.exact import (
    LinearUtility,
    StateEntropyUtility,
    finite_difference_gradient,
    score_zero_term,
    shadow_problem,
    truncated_shadow_gradient,
    utility_objective,
)
from netmarl_verify.solvers.exact._shadow import _fixed_reference


def _setup(seed=0, n=3, kappa=1):
    inst = envs.random_khop(n, kappa, 1.0, 0.3, np.random.default_rng(seed))
    U = [StateEntropyUtility(inst.gamma) if i % 2 else LinearUtility(inst.local_rewards[i]) for i in range(n)]
    return inst, U, shadow_problem(inst.mdp, inst.policy, inst.gamma, U, inst.initial)


def _brute_q(mdp, rewards, pi, gamma, agent):
    """Q_i(s, a) of reward r_i by a direct solve on the state-action chain of the compiled kernel."""
    P = mdp.to_tabular().P
    nS, nA = pi.shape
    S, A = mdp.state_tuples(), mdp.action_tuples()
    r = np.array([[rewards[agent][S[s, agent], A[a, agent]] for a in range(nA)] for s in range(nS)])
    Pz = (P[:, :, :, None] * pi[None, None]).reshape(nS * nA, nS * nA)
    return np.linalg.solve(np.eye(nS * nA) - gamma * Pz, r.ravel()).reshape(nS, nA)


def test_shadow_q_tables_match_a_direct_solve():
    inst, U, prob = _setup()
    pi = envs.joint_policy_table(inst.mdp, inst.policy)
    for i in range(inst.mdp.n):
        Q = prob.q_table(i).reshape(inst.mdp.n_states, inst.mdp.n_actions)
        # direct LU solve of a 64 x 64 system: errors ~ cond * eps ~ 1e-14 for gamma = 0.7
        assert_allclose(Q, _brute_q(inst.mdp, prob.shadow_rewards, pi, inst.gamma, i), rtol=0, atol=1e-11)


def test_shadow_rewards_are_the_utility_gradients_at_the_marginals():
    inst, U, prob = _setup(1)
    for f, lam, r in zip(U, prob.local, prob.shadow_rewards):
        assert_allclose(r, f.gradient(lam), rtol=0, atol=0)
    assert prob.value == pytest.approx(np.mean([f.value(x) for f, x in zip(U, prob.local)]), abs=1e-15)


def test_lemma1_gradient_matches_finite_differences_of_F():
    inst, U, prob = _setup(2)
    g = np.concatenate([x.ravel() for x in prob.gradient()])
    D, fd = finite_difference_gradient(lambda p: utility_objective(inst.mdp, p, inst.gamma, U, inst.initial),
                                       inst.policy, rng=3, n_directions=6, eps=1e-5)
    # central differences, step 1e-5: truncation ~ h^2 |F'''| ~ 1e-10, rounding ~ 1e-16 |F| / h ~ 1e-11
    assert_allclose(D @ g, fd, rtol=0, atol=1e-8)


def test_truncated_shadow_q_is_the_full_table_at_the_reference():
    inst, U, prob = _setup(3)
    n = inst.mdp.n
    ref = (np.array([1, 0, 1]), np.array([0, 1, 1]))
    for j, kappa in itertools.product(range(n), range(2)):
        inside = inst.mdp.kappa_hop(j, kappa)
        want = _fixed_reference(prob.q_table(j), inside, ref, n)
        got = prob.truncated_q(j, kappa, ref)
        assert_allclose(np.squeeze(want), got.reshape(np.squeeze(want).shape), rtol=0, atol=1e-12)


def _brute_ghat(prob, kappa, ref):
    """eq. (15) term by term: sum_{s,a} lambda(s) pi(a|s) psi_i(a|s) (1/n) sum_{j in N_i} Q-hat_j, softmax score."""
    mdp, pol = prob.mdp, prob.policy
    n = mdp.n
    S, A = mdp.state_tuples(), mdp.action_tuples()
    lam_s = prob.state_occupancy
    pi = envs.joint_policy_table(mdp, pol)
    Qhat = [np.broadcast_to(_fixed_reference(prob.q_table(j), mdp.kappa_hop(j, kappa), ref, n),
                            mdp.state_sizes + mdp.action_sizes).reshape(mdp.n_states, mdp.n_actions)
            for j in range(n)]
    probs = pol.probabilities()
    out = []
    for i in range(n):
        H = sum(Qhat[j] for j in mdp.kappa_hop(i, kappa)) / n
        g = np.zeros(probs[i].shape)
        O = pol.observed(i)
        for s, a in itertools.product(range(mdp.n_states), range(mdp.n_actions)):
            x = np.ravel_multi_index(tuple(S[s, k] for k in O), tuple(mdp.state_sizes[k] for k in O))
            psi = np.zeros(probs[i].shape)
            psi[x] = -probs[i][x]
            psi[x, A[a, i]] += 1.0
            g += lam_s[s] * pi[s, a] * H[s, a] * psi
        out.append(g.reshape(pol.logits[i].shape))
    return out


@pytest.mark.parametrize("kappa", [0, 1, 2])
def test_truncated_gradient_matches_the_term_by_term_sum(kappa):
    inst, U, prob = _setup(4)
    ref = (np.array([0, 1, 0]), np.array([1, 1, 0]))
    got = truncated_shadow_gradient(prob, kappa, ref)
    for a, b in zip(got, _brute_ghat(prob, kappa, ref)):
        assert_allclose(a, b, rtol=0, atol=1e-12)


def test_truncated_gradient_is_exact_at_the_diameter():
    inst, U, prob = _setup(5, n=4)
    grad = prob.gradient()
    for a, b in zip(truncated_shadow_gradient(prob, 3), grad):
        assert_allclose(a, b, rtol=0, atol=1e-12)


def test_identity_18_holds_and_fails_for_a_one_sided_relation():
    inst, U, prob = _setup(6, n=4)
    term, scale = score_zero_term(prob, 1)
    assert term.max() <= 1e-13 * max(1.0, scale)
    one_sided = [tuple(j for j in range(4) if 0 <= j - i <= 1) for i in range(4)]
    broken, _ = score_zero_term(prob, 1, neighbourhoods=one_sided)
    assert broken.max() > 1e-6


def test_shadow_problem_validates_its_inputs():
    inst, U, _ = _setup()
    with pytest.raises(ValueError, match="one utility per agent"):
        shadow_problem(inst.mdp, inst.policy, inst.gamma, U[:2], inst.initial)
    with pytest.raises(TypeError, match=r"utilities\[1\] \(agent 1\)"):
        shadow_problem(inst.mdp, inst.policy, inst.gamma, [U[0], object(), U[2]], inst.initial)
    with pytest.raises(ValueError, match="discounted"):
        shadow_problem(inst.mdp, inst.policy, None, U, inst.initial)
