"""Forward-error certificates of the matrix-free backend (issue 10, item 2).

The truth is computed in 50-digit arithmetic (mpmath) from the same float chain. Average reward: the
estimate is heuristic (an Arnoldi estimate of the inverse's 2-norm); discounted: rigorous
(``|(I - gamma P)^-1|_inf <= 1/(1-gamma)``). Each test checks the bound covers the true error and
is not absurdly loose (ratios quoted in the assertion messages).
"""

import warnings

import numpy as np
import pytest

from netmarl_verify import envs
from netmarl_verify.envs import TabularMDP
from netmarl_verify.errors import IllConditionedError
from netmarl_verify.solvers.exact import evaluate_policy, stationary_distribution, transition_matrix
from netmarl_verify.solvers.exact._backends import FORWARD_ERROR_TOL

mp = pytest.importorskip("mpmath")

MF = "matrix-free"
#: Most a certified bound may exceed the true error (the true error is floored at 1e-16, below which
#: double precision cannot resolve it).
LOOSENESS = 1e6


def _two_blocks(eps):
    """Two 2-state blocks coupled by ``eps`` (1 -> 2) and ``3 eps`` (3 -> 0): nearly reducible, d != uniform."""
    P = np.array([[0.5, 0.5, 0, 0], [0.3, 0.7, 0, 0], [0, 0, 0.6, 0.4], [0, 0, 0.5, 0.5]])
    P[1, 2] += eps
    P[1, 1] -= eps
    P[3, 0] += 3 * eps
    P[3, 3] -= 3 * eps
    return P


def _nearly_periodic(delta):
    P = np.zeros((4, 4))
    for s in range(4):
        P[s, (s + 1) % 4] += 1 - delta
        P[s, 0] += delta
    return P


def _mp(P):
    return [[mp.mpf(float(v)) for v in row] for row in P]


def _mp_stationary(P):
    N = len(P)
    A = mp.matrix(N, N)
    for i in range(N - 1):
        for j in range(N):
            A[i, j] = P[j][i] - (1 if i == j else 0)
    for j in range(N):
        A[N - 1, j] = 1
    x = mp.lu_solve(A, mp.matrix([0] * (N - 1) + [1]))
    return [x[i] for i in range(N)]


def _mp_bias(P, r, d):
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


def _rel_inf(computed, truth):
    err = max(abs(mp.mpf(float(c)) - t) for c, t in zip(computed, truth))
    return float(err / max(abs(t) for t in truth))


def _rel_one(computed, truth):
    err = sum(abs(mp.mpf(float(c)) - t) for c, t in zip(computed, truth))
    return float(err / sum(abs(t) for t in truth))


def _check(fe, err, what):
    ratio = fe / max(err, 1e-16)
    assert err <= fe, f"{what}: true error {err:.3e} above the certified {fe:.3e}"
    assert ratio < LOOSENESS, f"{what}: bound {fe:.3e} / true error {err:.3e} = {ratio:.1e}"
    return ratio


def _tabular(P, r):
    return TabularMDP(P[:, None, :], np.asarray(r, float)[:, None]), np.ones((P.shape[0], 1))


@pytest.fixture(autouse=True)
def _digits():
    old = mp.mp.dps
    mp.mp.dps = 50
    yield
    mp.mp.dps = old


@pytest.mark.parametrize("eps", [1e-2, 1e-5, 1e-8, 1e-10])
def test_two_blocks_stationary_and_bias_are_bounded(eps):
    P = _two_blocks(eps)
    r = np.array([1.0, -2.0, 0.5, 3.0])
    mdp, pol = _tabular(P, r)
    with warnings.catch_warnings():  # from eps ~ 1e-10 on the estimate exceeds the tolerance: still a bound
        warnings.simplefilter("ignore", RuntimeWarning)
        ev = evaluate_policy(mdp, pol, backend=MF, on_ill_conditioned="warn")
    assert set(ev.forward_errors) == {"stationary", "poisson"}
    Pm = _mp(P)
    d = _mp_stationary(Pm)
    _check(ev.forward_errors["stationary"], _rel_inf(ev.stationary, d), f"stationary eps={eps}")
    _check(ev.forward_errors["poisson"], _rel_inf(ev.values[:, 0], _mp_bias(Pm, r, d)), f"poisson eps={eps}")


@pytest.mark.parametrize("eps", [1e-13, 1e-15, 1e-17])
def test_nearly_reducible_chain_trips_the_guard(eps):
    mdp, pol = _tabular(_two_blocks(eps), np.zeros(4))
    with pytest.raises(IllConditionedError, match="stationary: forward-error estimate"):
        stationary_distribution(mdp, pol, backend=MF)


def test_warn_mode_returns_the_answer():
    mdp, pol = _tabular(_two_blocks(1e-15), np.zeros(4))
    with pytest.warns(RuntimeWarning, match="forward-error estimate"):
        ev = evaluate_policy(mdp, pol, backend=MF, on_ill_conditioned="warn")
    assert ev.forward_errors["stationary"] > FORWARD_ERROR_TOL


@pytest.mark.parametrize("delta", [1e-1, 1e-3, 1e-6])
def test_nearly_periodic_chain_is_bounded_and_accepted(delta):
    r = np.array([1.0, 0.0, 2.0, -1.0])
    P = _nearly_periodic(delta)
    mdp, pol = _tabular(P, r)
    ev = evaluate_policy(mdp, pol, backend=MF)
    Pm = _mp(P)
    d = _mp_stationary(Pm)
    assert ev.forward_errors["stationary"] < FORWARD_ERROR_TOL
    assert ev.forward_errors["poisson"] < FORWARD_ERROR_TOL
    _check(ev.forward_errors["stationary"], _rel_inf(ev.stationary, d), f"stationary delta={delta}")
    _check(ev.forward_errors["poisson"], _rel_inf(ev.values[:, 0], _mp_bias(Pm, r, d)), f"poisson delta={delta}")


@pytest.mark.parametrize("gap", [1e-1, 1e-4, 1e-7])
def test_discounted_bounds_are_rigorous(gap):
    gamma = 1.0 - gap
    r = np.array([1.0, 0.0, 2.0, -1.0])
    P = _nearly_periodic(1e-3)
    mdp, pol = _tabular(P, r)
    ev = evaluate_policy(mdp, pol, gamma, backend=MF)
    Pm = _mp(P)
    _check(ev.forward_errors["discounted"], _rel_inf(ev.values[:, 0], _mp_discounted(Pm, r, gamma)),
           f"discounted gap={gap}")
    mu0 = np.array([0.0, 1.0, 0.0, 0.0])
    lam = ev.visitation(mu0)
    Pt = [[Pm[j][i] for j in range(4)] for i in range(4)]
    # the visitation's certificate is the relative 1-norm (total-variation) error
    _check(ev.forward_errors["visitation"], _rel_one(lam, _mp_discounted(Pt, mu0, gamma)), f"visitation gap={gap}")


def test_discounted_guard_trips_when_gamma_is_too_close_to_one():
    mdp, pol = _tabular(_nearly_periodic(1e-3), np.array([1.0, 0.0, 2.0, -1.0]))
    with pytest.raises(IllConditionedError, match="discounted: forward-error estimate"):
        evaluate_policy(mdp, pol, 1.0 - 1e-12, backend=MF)


@pytest.mark.parametrize("n", [3, 5])
def test_networked_line_is_bounded_against_extended_precision(n):
    mdp, pol = envs.qu2020_line(n, rng=1)
    ev = evaluate_policy(mdp, pol, backend=MF)
    P = _mp(np.asarray(transition_matrix(mdp, pol, backend="dense")))
    d = _mp_stationary(P)
    _check(ev.forward_errors["stationary"], _rel_inf(ev.stationary, d), f"line n={n} stationary")
    worst = max(_rel_inf(ev.values[:, i], _mp_bias(P, ev.rewards[:, i], d)) for i in range(n))
    _check(ev.forward_errors["poisson"], worst, f"line n={n} poisson")
    evd = evaluate_policy(mdp, pol, 0.9, backend=MF)
    worst = max(_rel_inf(evd.values[:, i], _mp_discounted(P, evd.rewards[:, i], 0.9)) for i in range(n))
    _check(evd.forward_errors["discounted"], worst, f"line n={n} discounted")


def test_matrix_free_records_the_same_names_as_the_direct_backends():
    mdp, pol = envs.qu2020_line(4, rng=0)
    for gamma, names in ((None, {"stationary", "poisson"}), (0.9, {"discounted"})):
        a = evaluate_policy(mdp, pol, gamma, backend=MF).forward_errors
        b = evaluate_policy(mdp, pol, gamma, backend="dense").forward_errors
        assert set(a) == set(b) == names
        assert all(0 <= v < 1e-9 for v in a.values()), a
