"""Every validation and accuracy guard has a test that fails if the guard is removed (issue 9, item 4).

Each test feeds an input that only the guard stops (just outside the valid range: gamma = 1,
an initial distribution summing to 1 + 1e-6, a state index equal to the size, ...) and asserts the
error; the accuracy guards are tripped by an ill-conditioned discounted system (gamma = 1 - 1e-12
on a nearly decomposable chain) or, where no honest input reaches them, by a solve that returns
a wrong vector (monkeypatched), so that a disabled certificate is noticed.
"""

import networkx as nx
import numpy as np
import pytest

from netmarl_verify.envs import LocalSoftmaxPolicy, NetworkedMDP, TabularMDP, random_networked_mdp
from netmarl_verify.envs._validation import ModelValidationError
from netmarl_verify.solvers.exact import (
    SolverAccuracyError,
    discounted_occupancy,
    evaluate_policy,
    interaction_matrix,
    policy_gradient,
    q_function,
    stationary_distribution,
)
from netmarl_verify.solvers.exact import _markov


def _star():
    """Star with centre 1 (N_0 = (0, 1), N_1 = (0, 1, 2)), mixed sizes, two actions at agent 0."""
    g = nx.Graph([(1, 0), (1, 2)])
    mdp = random_networked_mdp(g, (2, 3, 2), (2, 1, 2), np.random.default_rng(0))
    return mdp, LocalSoftmaxPolicy.random(mdp, np.random.default_rng(1))


STAR = _star()


# ---------------------------------------------------------------------------- gamma
@pytest.mark.parametrize("gamma", [1.0, -1e-12, 1.5, float("nan")])
def test_gamma_out_of_range_is_refused(gamma):
    mdp, pol = STAR
    with pytest.raises(ValueError, match="gamma"):
        evaluate_policy(mdp, pol, gamma)
    with pytest.raises(ValueError, match="gamma"):
        policy_gradient(mdp, pol, gamma)


def test_gamma_zero_is_accepted():
    mdp, pol = STAR
    s, a = mdp.state_tuples([0]), mdp.action_tuples([1])
    assert q_function(mdp, pol, s, a, gamma=0.0)[0] == pytest.approx(mdp.local_rewards(s, a).mean(), abs=1e-15)


# ---------------------------------------------------------------------------- initial distributions
@pytest.mark.parametrize("bad, match", [
    (lambda n: np.full(n, 1.0 / n) * (1 + 1e-6), "sums to"),
    (lambda n: np.r_[1.5, -0.5, np.zeros(n - 2)], "not a probability"),
    (lambda n: np.full(n + 1, 1.0 / (n + 1)), "distribution over"),
    (lambda n: np.full(n - 1, 1.0 / (n - 1)), "distribution over"),
])
def test_initial_distribution_is_validated(bad, match):
    mdp, pol = STAR
    mu = bad(mdp.n_states)
    with pytest.raises(ValueError, match=match):
        discounted_occupancy(mdp, pol, 0.5, mu)
    with pytest.raises(ValueError, match=match):
        policy_gradient(mdp, pol, 0.5, mu)


# ---------------------------------------------------------------------------- kernels and policies
def test_networked_kernel_rows_must_sum_to_one():
    mdp, _ = STAR
    P = [np.array(t) for t in mdp.transitions]
    P[1][(0,) * (P[1].ndim - 1)] *= 1 + 1e-9
    with pytest.raises(ModelValidationError, match="sums to"):
        NetworkedMDP(mdp.graph, P, mdp.rewards, transition_form="local", reward_form="local")


def test_networked_kernel_must_be_nonnegative():
    mdp, _ = STAR
    P = [np.array(t) for t in mdp.transitions]
    row = (0,) * (P[0].ndim - 1)
    P[0][row] = [1.25, -0.25]
    with pytest.raises(ModelValidationError, match="negative"):
        NetworkedMDP(mdp.graph, P, mdp.rewards, transition_form="local", reward_form="local")


def test_tabular_kernel_rows_must_sum_to_one():
    P = np.full((2, 2, 2), 0.5)
    P[1, 0] = [0.5, 0.5 + 1e-9]
    with pytest.raises(ModelValidationError, match="sums to"):
        TabularMDP(P, np.zeros((2, 2)))


def test_policy_table_rows_must_sum_to_one():
    mdp = TabularMDP(np.full((2, 2, 2), 0.5), np.zeros((2, 2)))
    with pytest.raises(ModelValidationError, match="sums to"):
        stationary_distribution(mdp, np.array([[0.5, 0.5], [0.5, 0.5 + 1e-8]]))


def test_policy_list_rows_must_sum_to_one():
    mdp, pol = STAR
    tables = [np.array(t) for t in pol.probabilities()]
    tables[2][0] = [0.7, 0.3 + 1e-8]
    with pytest.raises(ModelValidationError, match="sums to"):
        stationary_distribution(mdp, tables)


# ---------------------------------------------------------------------------- states, actions, agents
def test_local_state_index_equal_to_size_is_refused():
    mdp, pol = STAR
    with pytest.raises(ValueError, match="out of range"):
        q_function(mdp, pol, np.array([[0, 3, 0]]), np.array([[0, 0, 0]]))
    with pytest.raises(ValueError, match="out of range"):
        q_function(mdp, pol, np.array([[0, 2, 0]]), np.array([[2, 0, 0]]))


def test_tabular_state_and_action_ranges():
    mdp = TabularMDP(np.full((3, 2, 3), 1 / 3), np.zeros((3, 2)))
    pi = np.full((3, 2), 0.5)
    with pytest.raises(ValueError, match="out of range"):
        q_function(mdp, pi, np.array([3]), np.array([0]))
    with pytest.raises(ValueError, match="out of range"):
        q_function(mdp, pi, np.array([0]), np.array([2]))


def test_agent_index_equal_to_n_is_refused():
    mdp, pol = STAR
    with pytest.raises(ValueError, match="agent"):
        q_function(mdp, pol, mdp.state_tuples([0]), mdp.action_tuples([0]), agent=3)


# ---------------------------------------------------------------------------- graph conventions by hand
def test_neighbourhoods_and_hops_of_a_star_with_a_tail():
    g = nx.Graph([(1, 0), (1, 2), (2, 3)])
    mdp = random_networked_mdp(g, 2, 2, np.random.default_rng(0))
    assert mdp.neighbourhoods == ((0, 1), (0, 1, 2), (1, 2, 3), (2, 3))
    assert mdp.kappa_hop(0, 0) == (0,)
    assert mdp.kappa_hop(0, 1) == (0, 1)
    assert mdp.kappa_hop(0, 2) == (0, 1, 2)
    with pytest.raises(ValueError, match="kappa"):
        mdp.kappa_hop(0, -1)


def test_state_index_is_c_order_agent_0_most_significant():
    mdp, _ = STAR  # sizes (2, 3, 2)
    assert mdp.state_index(np.array([[1, 0, 0]]))[0] == 6
    assert mdp.state_index(np.array([[0, 1, 0]]))[0] == 2
    assert mdp.state_index(np.array([[0, 0, 1]]))[0] == 1


def test_interaction_matrix_by_hand():
    """C_ij is a total-variation distance (1/2 of the l1 norm): 0.4 here, not 0.8."""
    P0 = np.zeros((2, 2, 1, 2))  # agent 0 on the edge (0, 1): P_0(s_0' | s_0, s_1, a_0)
    P0[:, 0, 0] = [0.8, 0.2]
    P0[:, 1, 0] = [0.4, 0.6]
    P1 = np.full((2, 2, 1, 2), 0.5)
    mdp = NetworkedMDP(nx.path_graph(2), [P0, P1], [np.zeros((2, 1))] * 2, transition_form="local",
                       reward_form="local")
    C = interaction_matrix(mdp)
    assert C[0, 1] == pytest.approx(0.4, abs=1e-15)
    assert C[1, 0] == 0.0 and C[0, 0] == 0.0


# ---------------------------------------------------------------------------- accuracy guards
def _nearly_decomposable(eps=1e-13):
    P = np.array([[0.5, 0.5 - eps, eps, 0], [0.5, 0.5, 0, 0], [0, 0, 0.5, 0.5], [eps, 0, 0.5, 0.5 - eps]])
    return TabularMDP(P[:, None, :], np.array([[1.0], [0.0], [2.0], [-1.0]])), np.ones((4, 1))


@pytest.mark.parametrize("backend", ["dense", "sparse"])
def test_discounted_residual_guard_trips_on_an_ill_conditioned_system(backend):
    mdp, pi = _nearly_decomposable()
    with pytest.raises(SolverAccuracyError, match="discounted"):
        evaluate_policy(mdp, pi, 1 - 1e-12, backend=backend)


def _corrupt(monkeypatch, when, how):
    solve = _markov.AverageRewardSolver.solve

    def wrong(self, rhs, trans=False):
        y = solve(self, rhs, trans=trans)
        return how(y) if trans == when else y

    monkeypatch.setattr(_markov.AverageRewardSolver, "solve", wrong)


def test_stationary_residual_guard(monkeypatch):
    mdp, pol = STAR
    _corrupt(monkeypatch, True, lambda y: y + 1e-6 * np.arange(y.size))
    with pytest.raises(SolverAccuracyError, match="stationary"):
        stationary_distribution(mdp, pol)


def test_poisson_residual_guard(monkeypatch):
    mdp, pol = STAR
    _corrupt(monkeypatch, False, lambda y: y + 1e-6 * np.arange(y.shape[0]).reshape(-1, *([1] * (y.ndim - 1))))
    with pytest.raises(SolverAccuracyError, match="poisson"):
        evaluate_policy(mdp, pol)


def test_negative_stationary_guard(monkeypatch):
    """-d solves d^T P = d^T exactly (residual 0): only the sign guard stops it."""
    mdp, pol = STAR
    _corrupt(monkeypatch, True, lambda y: -y)
    with pytest.raises(SolverAccuracyError, match="negative"):
        stationary_distribution(mdp, pol)


def test_sparse_singular_factor_is_a_solver_accuracy_error():
    """Two blocks coupled by 1e-17 (below double precision next to 1): SuperLU finds the bordered
    matrix exactly singular; the error names the system instead of leaking scipy's RuntimeError."""
    import numpy as np
    import pytest

    from netmarl_verify.envs import TabularMDP
    from netmarl_verify.solvers.exact import SolverAccuracyError, stationary_distribution

    eps = 1e-17
    block = np.array([[0.5, 0.5], [0.5, 0.5]])
    P = np.zeros((4, 4))
    P[:2, :2] = block
    P[2:, 2:] = block
    P[1, 2] = P[3, 0] = eps
    P[1, 1] -= eps
    P[3, 3] -= eps
    mdp = TabularMDP(P[:, None, :], np.zeros((4, 1)))
    with pytest.raises(SolverAccuracyError, match="numerically singular"):
        stationary_distribution(mdp, np.ones((4, 1)), backend="sparse")
    # The dense backend used to return [0, 0, 0.5, 0.5] here with a zero residual (the truth is
    # 0.25 everywhere): a residual bounds the backward error only. The forward-error certificate
    # (issue 10, item 2) now refuses it, naming the estimate (an infinite condition number on the
    # sparse side: IllConditionedError too).
    from netmarl_verify.errors import IllConditionedError

    with pytest.raises(IllConditionedError, match="stationary: forward-error estimate"):
        stationary_distribution(mdp, np.ones((4, 1)), backend="dense")
    with pytest.raises(IllConditionedError, match="numerically singular"):
        stationary_distribution(mdp, np.ones((4, 1)), backend="sparse")
