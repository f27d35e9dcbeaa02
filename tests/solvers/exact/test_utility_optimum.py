"""The global optimum of a concave ying2023 utility over Lambda by Frank-Wolfe (solvers/exact/_utility_optimum.py).

Cross-checks: scipy.optimize.linprog for linear utilities (the exact LP optimum) and SLSQP on the
flow constraints for the entropy and apprenticeship utilities; the Frank-Wolfe gap must certify
F* - F(lambda) at every iterate.
"""

import networkx as nx
import numpy as np
import pytest
from numpy.testing import assert_allclose
from scipy.optimize import linprog, minimize

from netmarl_verify.envs import NetworkedMDP, TabularMDP
from netmarl_verify.solvers.exact._utilities import (
    ApprenticeshipUtility,
    KLUtility,
    LinearUtility,
    LogFairnessUtility,
    StateActionEntropyUtility,
    StateEntropyUtility,
    UtilityDomainError,
    local_occupancies,
    utility_value,
)
from netmarl_verify.solvers.exact._utility_optimum import policy_occupancy, utility_optimum


def random_mdp(rng, nS, nA):
    P = rng.dirichlet(np.ones(nS) * 0.5, size=(nS, nA))
    return TabularMDP(P, np.zeros((nS, nA)))


def flow_matrix(mdp, gamma):
    """E lam.ravel() = xi: sum_a lam(s', a) - gamma sum_{s,a} P(s'|s,a) lam(s,a)."""
    nS, nA = mdp.n_states, mdp.n_actions
    E = -gamma * mdp.P.reshape(nS * nA, nS).T
    E[np.repeat(np.arange(nS), nA), np.arange(nS * nA)] += 1.0
    return E


def lp_optimum(mdp, gamma, xi, R):
    E = flow_matrix(mdp, gamma)
    res = linprog(-R.ravel(), A_eq=E, b_eq=xi, bounds=(0, None), method="highs",
                  options={"primal_feasibility_tolerance": 1e-10, "dual_feasibility_tolerance": 1e-10})
    assert res.status == 0
    return -res.fun


def slsqp_optimum(mdp, gamma, xi, utils, S, A):
    """max F over Lambda by SLSQP from the uniform-policy occupancy; returns (F, max constraint violation)."""
    nS, nA = mdp.n_states, mdp.n_actions
    E = flow_matrix(mdp, gamma)

    def F(x):
        return utility_value(utils, local_occupancies(np.maximum(x, 0).reshape(nS, nA), S, A))

    x0 = policy_occupancy(mdp, np.full((nS, nA), 1.0 / nA), gamma, xi).ravel()
    res = minimize(lambda x: -F(x), x0, method="SLSQP", bounds=[(0, None)] * x0.size,
                   constraints=[{"type": "eq", "fun": lambda x: E @ x - xi, "jac": lambda x: E}],
                   options={"ftol": 1e-13, "maxiter": 1000})
    return F(res.x), float(np.abs(E @ res.x - xi).max())


# ----------------------------------------------------------------------------- LP cross-checks
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_linear_utility_matches_linprog(seed):
    rng = np.random.default_rng(seed)
    mdp = random_mdp(rng, 5, 3)
    gamma = 0.85
    xi = rng.dirichlet(np.ones(5))
    r = rng.normal(size=(5, 3))
    res = utility_optimum(mdp, gamma, LinearUtility(r), xi)
    assert res.converged and res.certified
    # a linear F reaches its vertex in one step; the LP is solved to 1e-10 feasibility
    assert res.iterations <= 2
    assert_allclose(res.value, lp_optimum(mdp, gamma, xi, r), rtol=0, atol=res.gap + 1e-9)
    assert res.flow_residual < 1e-13


def test_two_agent_linear_utilities_match_linprog_on_the_global_reward():
    rng = np.random.default_rng(3)
    g = nx.path_graph(2)
    P = [rng.dirichlet(np.ones(2), size=(2, 2, 2)) for _ in range(2)]  # (s_0, s_1, a_i, s_i')
    rs = [rng.normal(size=(2, 2)) for _ in range(2)]
    net = NetworkedMDP(g, P, rs, transition_form="local", reward_form="local")
    gamma = 0.9
    xi = rng.dirichlet(np.ones(4))
    res = utility_optimum(net, gamma, [LinearUtility(r) for r in rs], xi)
    tab = net.to_tabular()  # R = (1/n) sum_i r_i(s_i, a_i)
    assert_allclose(res.value, lp_optimum(tab, gamma, xi, tab.R), rtol=0, atol=res.gap + 1e-9)


# ----------------------------------------------------------------------------- SLSQP cross-checks
def _single(rng, kind, nS, nA, gamma, mdp, xi):
    if kind == "entropy":
        return StateEntropyUtility(gamma)
    if kind == "apprenticeship":
        return ApprenticeshipUtility(rng.uniform(0, 1.5, size=(nS, nA)))
    if kind == "kl":
        return KLUtility(rng.dirichlet(np.ones(nS)), gamma)
    return LogFairnessUtility(rng.uniform(0, 1, size=(nS, nA)), 0.1)


@pytest.mark.parametrize("kind", ["entropy", "apprenticeship", "kl", "log_fairness"])
@pytest.mark.parametrize("seed", [0, 1])
def test_concave_utilities_match_slsqp_within_the_gap(kind, seed):
    rng = np.random.default_rng(10 + seed)
    nS, nA, gamma = 6, 2, 0.8
    mdp = random_mdp(rng, nS, nA)
    xi = rng.dirichlet(np.ones(nS))
    util = _single(rng, kind, nS, nA, gamma, mdp, xi)
    res = utility_optimum(mdp, gamma, util, xi, gap_tol=1e-10)
    assert res.converged and res.gap <= 1e-10
    f_slsqp, violation = slsqp_optimum(mdp, gamma, xi, [util], (nS,), (nA,))
    assert violation < 1e-9
    # SLSQP's point is feasible to `violation`, so its value can exceed F* by ~|grad F| * violation
    # (|grad F| <= 2 / (1 - gamma) + 3 < 20 here): the upper side; below, SLSQP stops at ftol 1e-13
    # relative, and on these instances lands within 3e-14 of the FW value (measured)
    slack = 20 * violation + 1e-10
    assert f_slsqp <= res.value + res.gap + slack
    assert abs(f_slsqp - res.value) <= res.gap + slack


def test_networked_entropy_optimum_matches_slsqp_on_the_marginals():
    rng = np.random.default_rng(4)
    g = nx.path_graph(2)
    S, A = (2, 3), (2, 1)
    P = [rng.dirichlet(np.ones(S[0]) * 0.3, size=(S[0], S[1], A[0])),
         rng.dirichlet(np.ones(S[1]) * 0.3, size=(S[0], S[1], A[1]))]
    net = NetworkedMDP(g, P, [np.zeros((S[i], A[i])) for i in range(2)], transition_form="local",
                       reward_form="local")
    gamma = 0.75
    xi = rng.dirichlet(np.ones(6))
    utils = [StateEntropyUtility(gamma), StateEntropyUtility(gamma)]
    res = utility_optimum(net, gamma, utils, xi, gap_tol=1e-10)
    assert res.converged
    assert [x.shape for x in res.local_lams] == [(2, 2), (3, 1)]
    f_slsqp, violation = slsqp_optimum(net.to_tabular(), gamma, xi, utils, S, A)
    assert abs(f_slsqp - res.value) <= res.gap + 20 * violation + 1e-10


# ----------------------------------------------------------------------------- the certificate
@pytest.mark.parametrize("method", ["away", "vanilla", "open_loop"])
def test_the_gap_certifies_every_iterate(method):
    rng = np.random.default_rng(5)
    nS, nA, gamma = 5, 3, 0.8
    mdp = random_mdp(rng, nS, nA)
    xi = rng.dirichlet(np.ones(nS))
    util = StateEntropyUtility(gamma)
    f_star = utility_optimum(mdp, gamma, util, xi, gap_tol=1e-12, max_iter=5000).value
    for k in range(6):
        res = utility_optimum(mdp, gamma, util, xi, max_iter=k, method=method)
        assert res.iterations == k
        assert res.value <= f_star + 1e-12
        assert f_star - res.value <= res.gap + 1e-12  # F* - F(lambda_k) <= g(lambda_k)
    # every point of Lambda is below the upper bound
    best = utility_optimum(mdp, gamma, util, xi, gap_tol=1e-6, method=method, max_iter=3000)
    for _ in range(50):
        pi = rng.dirichlet(np.full(nA, 0.3), size=nS)
        assert util.value(policy_occupancy(mdp, pi, gamma, xi)) <= best.upper_bound + 1e-12


def test_apprenticeship_to_an_occupancy_recovers_it():
    rng = np.random.default_rng(6)
    nS, nA, gamma = 4, 2, 0.7
    mdp = random_mdp(rng, nS, nA)
    xi = rng.dirichlet(np.ones(nS))
    pi = rng.dirichlet(np.ones(nA), size=nS)
    target = policy_occupancy(mdp, pi, gamma, xi)
    res = utility_optimum(mdp, gamma, ApprenticeshipUtility(target), xi, gap_tol=1e-12, max_iter=5000)
    assert -res.gap <= res.value <= 0.0
    # F = -||lam - target||^2 >= -gap, so ||lam - target||_2 <= sqrt(gap)
    assert np.linalg.norm(res.lam - target) <= np.sqrt(res.gap) + 1e-12
    # the policy of the returned occupancy reproduces it
    assert_allclose(policy_occupancy(mdp, res.policy, gamma, xi), res.lam, rtol=0, atol=1e-12)


def test_an_infinite_shadow_reward_is_refused_with_a_clear_error():
    rng = np.random.default_rng(7)
    mdp = random_mdp(rng, 3, 2)
    xi = np.full(3, 1 / 3)
    vertex = policy_occupancy(mdp, np.zeros(3, dtype=np.int64), 0.5, xi)  # lambda(s, 1) = 0
    with pytest.raises(UtilityDomainError, match="shadow reward is not finite"):
        utility_optimum(mdp, 0.5, StateActionEntropyUtility(), xi, lam0=vertex)
    with pytest.raises(UtilityDomainError, match="not a point of the occupancy polytope"):
        utility_optimum(mdp, 0.5, StateActionEntropyUtility(), xi, lam0=vertex * 2)
    # from the interior it converges
    res = utility_optimum(mdp, 0.5, StateActionEntropyUtility(), xi, gap_tol=1e-8)
    assert res.converged


def test_input_errors():
    mdp = random_mdp(np.random.default_rng(8), 3, 2)
    with pytest.raises(ValueError, match="method must be one of"):
        utility_optimum(mdp, 0.5, StateEntropyUtility(0.5), method="sgd")
    with pytest.raises(ValueError, match="one utility per agent"):
        utility_optimum(mdp, 0.5, [StateEntropyUtility(0.5)] * 2)
    with pytest.raises(TypeError, match="TabularMDP or a NetworkedMDP"):
        utility_optimum("mdp", 0.5, StateEntropyUtility(0.5))
