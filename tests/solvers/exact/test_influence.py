"""ying2023 Assumption 1 (solvers/exact/_influence.py): M of eq. (11), beta*(rho) of eq. (12), Lemma 2's bound."""

import itertools
import math

import networkx as nx
import numpy as np
import pytest
from numpy.testing import assert_allclose

from netmarl_verify.envs import MemoryBudgetError, NetworkedMDP
from netmarl_verify.solvers.exact._influence import (
    AssumptionError,
    assumption1,
    beta_frontier,
    influence_matrix,
    lemma2_bound,
)
from netmarl_verify.solvers.exact._interaction import interaction_matrix


# ----------------------------------------------------------------------------- instances
def _rows(rng, shape):
    x = rng.standard_exponential(size=shape)
    return x / x.sum(axis=-1, keepdims=True)


def random_path(form, rng, S=(2, 3, 2), A=(2, 1, 3)):
    """A 3-agent path with random kernels in the given transition form."""
    g = nx.path_graph(len(S))
    P = []
    for i in range(len(S)):
        Ni = tuple(sorted({i} | set(g.neighbors(i))))
        if form == "local":
            shape = tuple(S[j] for j in Ni) + (A[i], S[i])
        else:
            shape = tuple(S[j] for j in Ni) + tuple(A[j] for j in Ni) + (S[i],)
        P.append(_rows(rng, shape))
    R = [np.zeros((S[i], A[i])) for i in range(len(S))]
    return NetworkedMDP(g, P, R, transition_form=form, reward_form="local")


def copy_chain(n, S=2, A=2):
    """Agent i's next state copies s_{i+1} (i < n-1); the last agent keeps its state (local form, path)."""
    g = nx.path_graph(n)
    P = []
    for i in range(n):
        Ni = tuple(sorted({i} | set(g.neighbors(i))))
        T = np.zeros((S,) * len(Ni) + (A, S))
        src = Ni.index(i + 1) if i < n - 1 else Ni.index(i)
        for idx in np.ndindex(*((S,) * len(Ni))):
            T[idx + (slice(None), idx[src])] = 1.0
        P.append(T)
    return NetworkedMDP(g, P, [np.zeros((S, A))] * n, transition_form="local", reward_form="local")


def mixture_complete(rng, n=3, S=2, A=2):
    """P_i(.|s, a) = sum_j w_ij K_ij(.|s_j, a_j) as a neighbourhood-form table on the complete graph."""
    W = rng.dirichlet(np.ones(n), size=n)
    K = [[_rows(rng, (S, A, S)) for _ in range(n)] for _ in range(n)]
    P = []
    for i in range(n):
        T = np.zeros((S,) * n + (A,) * n + (S,))
        for idx in np.ndindex(*((S,) * n + (A,) * n)):
            s, a = idx[:n], idx[n:]
            T[idx] = sum(W[i, j] * K[i][j][s[j], a[j]] for j in range(n))
        P.append(T)
    mdp = NetworkedMDP(nx.complete_graph(n), P, [np.zeros((S, A))] * n, transition_form="neighbourhood",
                       reward_form="local")
    return mdp, W, K


def brute_force_influence(mdp):
    """eq. (11) by explicit loops over every global (s, a) and every replacement (s_j', a_j')."""
    n, S, A = mdp.n, mdp.state_sizes, mdp.action_sizes

    def row(i, s, a):
        Ni = mdp.neighbourhoods[i]
        if mdp.transition_form == "local":
            return mdp.transitions[i][tuple(s[j] for j in Ni) + (a[i],)]
        return mdp.transitions[i][tuple(s[j] for j in Ni) + tuple(a[j] for j in Ni)]

    M = np.zeros((n, n))
    for i, j in itertools.product(range(n), range(n)):
        for s in itertools.product(*map(range, S)):
            for a in itertools.product(*map(range, A)):
                p = row(i, s, a)
                for sj, aj in itertools.product(range(S[j]), range(A[j])):
                    s2, a2 = list(s), list(a)
                    s2[j], a2[j] = sj, aj
                    M[i, j] = max(M[i, j], 0.5 * float(np.abs(p - row(i, s2, a2)).sum()))
    return M


# ----------------------------------------------------------------------------- eq. (11)
@pytest.mark.parametrize("form", ["local", "neighbourhood"])
@pytest.mark.parametrize("seed", [0, 1])
def test_influence_matrix_equals_brute_force(form, seed):
    mdp = random_path(form, np.random.default_rng(seed))
    M = influence_matrix(mdp)
    # the same maxima of the same sums of |differences|: equal up to the order of summation
    assert_allclose(M, brute_force_influence(mdp), rtol=0, atol=1e-15)
    assert M[0, 2] == 0.0 and M[2, 0] == 0.0  # not in N_i
    assert ((M >= 0) & (M <= 1)).all()


@pytest.mark.parametrize("form", ["local", "neighbourhood"])
def test_influence_matrix_coincides_with_qu2020_interaction_matrix_on_a_networked_mdp(form):
    # different definitions (qu2020 perturbs s_j only), same numbers on this model (module docstring)
    mdp = random_path(form, np.random.default_rng(5))
    assert_allclose(influence_matrix(mdp), interaction_matrix(mdp), rtol=0, atol=1e-15)


def test_copy_chain_known_answer():
    n, gamma = 5, 0.8
    mdp = copy_chain(n)
    M = influence_matrix(mdp)
    want = np.zeros((n, n))
    want[np.arange(n - 1), np.arange(1, n)] = 1.0
    want[n - 1, n - 1] = 1.0
    assert_allclose(M, want, rtol=0, atol=0)
    assert_allclose(M, brute_force_influence(mdp), rtol=0, atol=0)
    a = assumption1(M, mdp.distances, gamma)
    assert a.feasible and a.max_row_sum == 1.0 and not a.beta_unbounded
    # beta*(rho) = log rho on [1, 1/gamma): closed form (one distance per row), to rounding of log
    for rho in [1.0, 1.01, 1.1, 1.2, 1.2499999]:
        assert_allclose(beta_frontier(M, mdp.distances, gamma, rho), math.log(rho), rtol=1e-15, atol=1e-16)
    rhos, betas = a.grid(16)
    assert rhos.max() < 1 / gamma and rhos.min() == 1.0
    assert_allclose(betas, np.log(rhos), rtol=1e-14, atol=1e-16)


def test_the_packages_copy_chain_has_the_known_answer():
    from netmarl_verify.envs import copy_chain_mdp

    n = 4
    M = influence_matrix(copy_chain_mdp(n, 1.0, action_size=2))
    want = np.zeros((n, n))
    want[np.arange(n - 1), np.arange(1, n)] = 1.0
    want[n - 1, n - 1] = 1.0
    assert_allclose(M, want, rtol=0, atol=1e-15)


def test_mixture_form_closed_form():
    rng = np.random.default_rng(11)
    mdp, W, K = mixture_complete(rng)
    delta = np.array([[0.5 * np.abs(k.reshape(-1, 2)[:, None] - k.reshape(-1, 2)[None]).sum(-1).max() for k in row]
                      for row in K])
    # only the j-th component changes; the others cancel up to the rounding of the mixture sums (~1e-16)
    assert_allclose(influence_matrix(mdp), W * delta, rtol=1e-13, atol=1e-15)
    assert_allclose(influence_matrix(mdp), brute_force_influence(mdp), rtol=0, atol=1e-15)


def test_influence_matrix_refuses_a_pairwise_array_over_budget():
    mdp = random_path("neighbourhood", np.random.default_rng(0))
    with pytest.raises(MemoryBudgetError, match="pairwise TV array of P_0"):
        influence_matrix(mdp, max_bytes=64)


# ----------------------------------------------------------------------------- eq. (12) and Lemma 2
def own_only(rng, n=3):
    """Kernels that read only (s_i, a_i): M is diagonal."""
    g = nx.path_graph(n)
    P = []
    for i in range(n):
        Ni = tuple(sorted({i} | set(g.neighbors(i))))
        own = _rows(rng, (2, 2, 2))
        T = np.empty((2,) * len(Ni) + (2, 2))
        for idx in np.ndindex(*((2,) * len(Ni))):
            T[idx] = own[idx[Ni.index(i)]]
        P.append(T)
    return NetworkedMDP(g, P, [np.zeros((2, 2))] * n, transition_form="local", reward_form="local")


def test_diagonal_influence_gives_infinite_beta_and_a_zero_bound():
    mdp = own_only(np.random.default_rng(2))
    M = influence_matrix(mdp)
    assert (M[~np.eye(3, dtype=bool)] == 0).all() and (np.diag(M) > 0).all()
    gamma = 0.9
    a = assumption1(M, mdp.distances, gamma)
    assert a.beta_unbounded and a.feasible
    assert beta_frontier(M, mdp.distances, gamma, a.max_row_sum) == math.inf
    for kappa in (1, 2, 5):
        b = lemma2_bound(M, mdp.distances, gamma, 1.0, kappa)
        assert b.value == 0.0 and b.beta == math.inf and b.phi0 == 0.0
    b0 = lemma2_bound(M, mdp.distances, gamma, 1.0, 0)  # kappa = 0: c0 at the smallest rho
    rho = a.max_row_sum
    assert_allclose(b0.value, 2 * gamma * rho / (1 - gamma * rho), rtol=1e-15)


def test_inadmissible_rho_raises_naming_rho_the_row_sum_and_one_over_gamma():
    M = np.array([[0.5, 0.25], [0.0, 0.5]])
    D = np.array([[0, 1], [1, 0]])
    with pytest.raises(AssumptionError, match=r"rho = 2.0 is not admissible.*\[0.75, 2.0\).*agent 0"):
        beta_frontier(M, D, 0.5, 2.0)  # rho = 1/gamma
    with pytest.raises(ValueError, match="rho = 0.5 is not admissible"):
        beta_frontier(M, D, 0.5, 0.5)  # below the row sum
    with pytest.raises(AssumptionError, match="not applicable: agent 1's row sum"):
        lemma2_bound(np.array([[0.5, 0.0], [0.8, 0.5]]), D, 0.9, 1.0, 1)


def test_assumption1_reports_the_culprit_when_infeasible():
    M = np.array([[0.2, 0.3, 0.0], [0.4, 0.4, 0.4], [0.0, 0.1, 0.2]])
    D = np.abs(np.subtract.outer(np.arange(3), np.arange(3)))
    a = assumption1(M, D, 0.85)
    assert not a.feasible and a.culprit == 1
    assert_allclose(a.row_sums, [0.5, 1.2, 0.3], rtol=1e-15)
    assert "agent 1" in a.reason and "not applicable" in a.reason
    assert a.grid()[0].size == 0


def test_beta_frontier_with_several_distances_solves_the_row_equation():
    # row 0 grows through distances 1 and 2: no closed form, Brent to a few ulps
    M = np.array([[0.3, 0.2, 0.1], [0.2, 0.3, 0.2], [0.1, 0.2, 0.3]])
    D = np.abs(np.subtract.outer(np.arange(3), np.arange(3)))
    gamma = 0.8
    for rho in [0.75, 0.9, 1.1, 1.24]:
        beta = beta_frontier(M, D, gamma, rho)
        rows = (np.exp(beta * D) * M).sum(axis=1)
        # the binding row meets rho to the accuracy of exp (a few ulps of rho)
        assert_allclose(rows.max(), rho, rtol=1e-14)
        assert (rows <= rho * (1 + 1e-14)).all()
    betas = [beta_frontier(M, D, gamma, r) for r in np.linspace(0.7, 1.249, 20)]
    assert np.all(np.diff(betas) > 0)  # strictly increasing in rho
    assert beta_frontier(M, D, gamma, 0.7) == 0.0  # rho = the row sum: beta* = 0


def test_disconnected_influence_pins_beta_to_zero():
    M = np.array([[0.2, 0.3], [0.0, 0.5]])
    D = np.array([[0, -1], [-1, 0]])  # AgentGraph.distances: -1 = disconnected
    assert beta_frontier(M, D, 0.5, 1.0) == 0.0


@pytest.mark.parametrize("gamma", [0.5, 0.8, 0.95])
@pytest.mark.parametrize("kappa", [1, 2, 3, 6, 12])
def test_lemma2_bound_on_the_copy_chain_matches_the_closed_form_infimum(gamma, kappa):
    # beta* = log rho, so h(rho) = 2 gamma M_f rho^(1-kappa) / (1 - gamma rho) on [1, 1/gamma);
    # d log h / d rho = 0 at rho = (kappa - 1)/(gamma kappa), else the minimum is at rho = 1.
    n, M_f = 4, 1.5
    mdp = copy_chain(n)
    M = influence_matrix(mdp)
    b = lemma2_bound(M, mdp.distances, gamma, M_f, kappa)
    rho = max(1.0, (kappa - 1) / (gamma * kappa))
    exact = 2 * gamma * M_f * rho ** (1 - kappa) / (1 - gamma * rho)
    assert b.rho < 1 / gamma
    assert b.value >= exact * (1 - 1e-14)  # every returned value is attained at an admissible rho
    assert_allclose(b.value, exact, rtol=1e-12)
    assert_allclose(b.c0 * b.phi0**kappa, b.value, rtol=1e-12)
    assert b.trivial == pytest.approx(2 * gamma * M_f / (1 - gamma), rel=1e-15)
    assert b.vacuous == (b.value >= b.trivial)


def test_lemma2_bound_special_cases():
    D = np.array([[0, 1], [1, 0]])
    M = np.array([[0.1, 0.3], [0.3, 0.1]])
    assert lemma2_bound(M, D, 0.0, 1.0, 2).value == 0.0  # gamma = 0
    assert lemma2_bound(M, D, 0.9, 0.0, 2).value == 0.0  # M_f = 0
    assert lemma2_bound(M, D, 0.9, math.inf, 2).value == math.inf  # unbounded shadow reward
    b = lemma2_bound(M, D, 0.9, 1.0, 0)  # kappa = 0: smallest rho
    assert b.rho == pytest.approx(0.4, rel=1e-15)
