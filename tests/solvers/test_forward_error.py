"""Forward-error certificates (issue 10, item 2): a residual bounds the backward error only.

Every direct solve records ``kappa-style`` estimates in ``ev.forward_errors`` (see
:mod:`netmarl_verify.solvers.exact._backends`). Here the truth is computed in 50-digit arithmetic
(mpmath) from the *intended* chain, so the estimate must also cover the rounding of the data.
"""

import warnings

import numpy as np
import pytest

from netmarl_verify.envs import TabularMDP
from netmarl_verify.errors import IllConditionedError, SolverAccuracyError
from netmarl_verify.solvers.exact import evaluate_policy, stationary_distribution
from netmarl_verify.solvers.exact._backends import FORWARD_ERROR_TOL

mp = pytest.importorskip("mpmath")
mp.mp.dps = 50

BACKENDS = ["dense", "sparse"]


def _two_blocks(eps, num):
    """Two 2-state blocks (all entries 1/2) coupled by ``eps`` (1 -> 2, 3 -> 0): nearly reducible."""
    half = num(1) / 2
    P = [[num(0)] * 4 for _ in range(4)]
    for i in (0, 1):
        for j in (0, 1):
            P[i][j] = half
            P[2 + i][2 + j] = half
    e = num(eps)
    P[1][2] = P[3][0] = e
    P[1][1] -= e
    P[3][3] -= e
    return P


def _nearly_periodic(delta, num):
    """The 4-cycle 0 -> 1 -> 2 -> 3 -> 0, leaving it for state 0 with probability ``delta``."""
    P = [[num(0)] * 4 for _ in range(4)]
    d = num(delta)
    for s in range(4):
        P[s][(s + 1) % 4] += 1 - d
        P[s][0] += d
    return P


def _floats(P):
    return np.array([[float(v) for v in row] for row in P])


def _mp_stationary(P):
    N = len(P)
    A = mp.matrix(N, N)
    for i in range(N - 1):
        for j in range(N):
            A[i, j] = P[j][i] - (1 if i == j else 0)
    for j in range(N):
        A[N - 1, j] = 1
    b = mp.matrix([0] * (N - 1) + [1])
    return [mp.mpf(v) for v in mp.lu_solve(A, b)]


def _mp_bias(P, r, d):
    """h with (I - P) h = r - J, d^T h = 0, by the bordered system in mpmath."""
    N = len(P)
    A = mp.matrix(N + 1, N + 1)
    for i in range(N):
        for j in range(N):
            A[i, j] = (1 if i == j else 0) - P[i][j]
        A[i, N] = 1
        A[N, i] = d[i]
    x = mp.lu_solve(A, mp.matrix([mp.mpf(float(v)) for v in r] + [0]))
    return [x[i] for i in range(N)]


def _mp_discounted(P, r, gamma):
    N = len(P)
    g = mp.mpf(gamma)
    A = mp.matrix(N, N)
    for i in range(N):
        for j in range(N):
            A[i, j] = (1 if i == j else 0) - g * P[i][j]
    x = mp.lu_solve(A, mp.matrix([mp.mpf(float(v)) for v in r]))
    return [x[i] for i in range(N)]


def _rel_error(computed, truth):
    err = max(abs(mp.mpf(float(c)) - t) for c, t in zip(computed, truth))
    return float(err / max(abs(t) for t in truth))


def _evaluate(P, r=None, gamma=None, backend="dense"):
    r = np.zeros(P.shape[0]) if r is None else np.asarray(r, float)
    mdp = TabularMDP(P[:, None, :], r[:, None])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        return evaluate_policy(mdp, np.ones((P.shape[0], 1)), gamma, backend=backend, on_ill_conditioned="warn")


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("eps", [1e-6, 1e-9, 1e-12, 1e-15])
def test_estimate_bounds_the_stationary_error_of_two_blocks(eps, backend):
    ev = _evaluate(_floats(_two_blocks(eps, float)), backend=backend)
    err = _rel_error(ev.stationary, _mp_stationary(_two_blocks(eps, mp.mpf)))
    fe = ev.forward_errors["stationary"]
    assert err <= fe, (err, fe)
    # and it is an estimate, not a blanket: within a few orders of magnitude of the truth
    assert fe < 1e5 * max(err, 1e-16)


@pytest.mark.parametrize("backend", BACKENDS)
def test_estimate_bounds_the_bias_error_of_two_blocks(backend):
    eps = 1e-6
    r = np.arange(4.0)
    ev = _evaluate(_floats(_two_blocks(eps, float)), r, backend=backend)
    P = _two_blocks(eps, mp.mpf)
    err = _rel_error(ev.values[:, 0], _mp_bias(P, r, _mp_stationary(P)))
    assert err <= ev.forward_errors["poisson"]


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("eps", [1e-15, 1e-17])
def test_two_blocks_beyond_double_precision_raise_naming_the_estimate(eps, backend):
    P = _floats(_two_blocks(eps, float))
    mdp = TabularMDP(P[:, None, :], np.zeros((4, 1)))
    with pytest.raises(IllConditionedError, match="forward-error estimate"):
        stationary_distribution(mdp, np.ones((4, 1)), backend=backend)


@pytest.mark.parametrize("backend", BACKENDS)
def test_warn_mode_returns_the_answer_with_a_warning(backend):
    P = _floats(_two_blocks(1e-15, float))
    mdp = TabularMDP(P[:, None, :], np.zeros((4, 1)))
    with pytest.warns(RuntimeWarning, match="stationary: forward-error estimate"):
        ev = evaluate_policy(mdp, np.ones((4, 1)), backend=backend, on_ill_conditioned="warn")
    assert ev.forward_errors["stationary"] > FORWARD_ERROR_TOL


def test_on_ill_conditioned_is_validated():
    P = _floats(_nearly_periodic(0.5, float))
    mdp = TabularMDP(P[:, None, :], np.zeros((4, 1)))
    with pytest.raises(ValueError, match="on_ill_conditioned"):
        evaluate_policy(mdp, np.ones((4, 1)), on_ill_conditioned="ignore")


def test_the_new_error_is_a_solver_accuracy_error():
    assert issubclass(IllConditionedError, SolverAccuracyError)


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("delta", [1e-3, 1e-6, 1e-9, 1e-12])
def test_nearly_periodic_chain_is_well_conditioned_and_bounded(delta, backend):
    """Near-periodicity slows mixing but leaves the bordered system well conditioned (the periodic
    limit is non-singular): the estimate stays small, bounds the true error, and nothing raises."""
    r = np.array([1.0, 0.0, 2.0, -1.0])
    Pf = _floats(_nearly_periodic(delta, float))
    ev = evaluate_policy(TabularMDP(Pf[:, None, :], r[:, None]), np.ones((4, 1)), backend=backend)
    P = _nearly_periodic(delta, mp.mpf)
    d = _mp_stationary(P)
    err_d = _rel_error(ev.stationary, d)
    err_h = _rel_error(ev.values[:, 0], _mp_bias(P, r, d))
    assert err_d <= ev.forward_errors["stationary"] < FORWARD_ERROR_TOL
    assert err_h <= ev.forward_errors["poisson"] < FORWARD_ERROR_TOL


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("gap", [1e-1, 1e-4, 1e-7])
def test_discounted_estimate_bounds_the_error(gap, backend):
    """I - gamma P with gamma -> 1 on the nearly periodic chain: values and visitation."""
    gamma = 1.0 - gap
    r = np.array([1.0, 0.0, 2.0, -1.0])
    ev = _evaluate(_floats(_nearly_periodic(1e-3, float)), r, gamma, backend)
    P = _nearly_periodic(1e-3, mp.mpf)
    err = _rel_error(ev.values[:, 0], _mp_discounted(P, r, gamma))
    assert err <= ev.forward_errors["discounted"]
    mu0 = np.array([0.0, 1.0, 0.0, 0.0])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        lam = ev.visitation(mu0)
    Pt = [[P[j][i] for j in range(4)] for i in range(4)]
    assert _rel_error(lam, _mp_discounted(Pt, mu0, gamma)) <= ev.forward_errors["visitation"]


def test_forward_errors_are_recorded_for_every_solve():
    Pf = _floats(_nearly_periodic(0.3, float))
    mdp = TabularMDP(Pf[:, None, :], np.arange(4.0)[:, None])
    ev = evaluate_policy(mdp, np.ones((4, 1)))
    assert set(ev.forward_errors) == {"stationary", "poisson"}
    assert all(0 <= v < 1e-12 for v in ev.forward_errors.values())
    evd = evaluate_policy(mdp, np.ones((4, 1)), 0.9)
    evd.visitation(np.full(4, 0.25))
    assert set(evd.forward_errors) == {"discounted", "visitation"}
