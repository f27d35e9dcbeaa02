r"""Reusable invariant checks of exact results (in the spirit of QuantEcon's ``test_classes``).

Every exact quantity the solvers return satisfies identities that need no second solver:

* a kernel under a policy has non-negative rows summing to 1 (:func:`assert_stochastic_rows`);
* a stationary distribution is a non-negative vector of mass 1 with :math:`d^T P_\pi = d^T`
  (:func:`assert_stationary`);
* the average-reward bias is centred, :math:`d^T h = 0`, and solves the Poisson equation
  :math:`h - P_\pi h = r_\pi - J 1` (:func:`assert_poisson`);
* the unnormalised discounted occupancy (ying2023 eq. (2)) is non-negative with total mass
  :math:`1/(1-\gamma)` and satisfies the flow constraint
  :math:`\sum_a \lambda(s', a) = \xi(s') + \gamma \sum_{s,a} P(s'|s,a)\lambda(s,a)`
  (:func:`assert_occupancy`);
* gaps (optimality, Nash) are non-negative (:func:`assert_nonnegative_gap`).

Tolerances: the checks take ``atol`` explicitly; the default ``1e-12`` is ~4500 ulps of
quantities of order one, the scale of the residual certificates of the direct solves
(relative residuals ~1e-13 on condition numbers < 1e3, ``tests/solvers/_reference.py``).
"""

import numpy as np

__all__ = [
    "assert_stochastic_rows",
    "assert_stationary",
    "assert_poisson",
    "assert_occupancy",
    "assert_nonnegative_gap",
]

ATOL = 1e-12


def _fail(what, worst, where, atol):
    raise AssertionError(f"{what}: worst violation {worst:.3e} at {where} (atol {atol:.0e})")


def assert_stochastic_rows(P, atol=ATOL):
    """Rows of `P` (``(..., |S'|)``) are non-negative and sum to 1 within `atol`."""
    P = np.asarray(P, dtype=float)
    if P.min() < -atol:
        _fail("negative transition probability", -P.min(), np.unravel_index(P.argmin(), P.shape), atol)
    err = np.abs(P.sum(axis=-1) - 1.0)
    if err.max() > atol:
        _fail("row sum differs from 1", err.max(), np.unravel_index(err.argmax(), err.shape), atol)


def assert_stationary(d, P, atol=ATOL):
    """`d` is a distribution with ``d^T P = d^T`` (`P` the ``|S| x |S|`` chain under the policy)."""
    d = np.asarray(d, dtype=float)
    if d.min() < -atol:
        _fail("negative stationary mass", -d.min(), int(d.argmin()), atol)
    if abs(d.sum() - 1.0) > atol:
        _fail("stationary mass differs from 1", abs(d.sum() - 1.0), "sum", atol)
    err = np.abs(d @ P - d)
    if err.max() > atol:
        _fail("d^T P != d^T", err.max(), int(err.argmax()), atol)


def assert_poisson(h, J, r, P, d, atol=ATOL):
    """The bias `h` is centred (``d^T h = 0``) and ``h - P h = r - J 1`` (qu2020 eq. (3))."""
    h = np.asarray(h, dtype=float)
    if abs(d @ h) > atol:
        _fail("bias not centred (d^T h)", abs(d @ h), "d^T h", atol)
    err = np.abs(h - P @ h - (np.asarray(r, dtype=float) - J))
    if err.max() > atol:
        _fail("Poisson equation residual", err.max(), int(err.argmax()), atol)


def assert_occupancy(lam, P, gamma, xi, atol=ATOL):
    r"""`lam` (``(|S|, |A|)``) is a discounted occupancy of the kernel `P` (``(|S|, |A|, |S|)``)
    from the initial distribution `xi`: non-negative, mass :math:`1/(1-\gamma)`, flow constraints."""
    lam = np.asarray(lam, dtype=float)
    if lam.min() < -atol:
        _fail("negative occupancy", -lam.min(), np.unravel_index(lam.argmin(), lam.shape), atol)
    mass = 1.0 / (1.0 - gamma)
    if abs(lam.sum() - mass) > atol * mass:
        _fail("occupancy mass differs from 1/(1-gamma)", abs(lam.sum() - mass), "sum", atol * mass)
    flow = lam.sum(axis=1) - np.asarray(xi, dtype=float) - gamma * np.einsum("sa,sat->t", lam, P)
    if np.abs(flow).max() > atol * mass:
        _fail("flow constraint", np.abs(flow).max(), int(np.abs(flow).argmax()), atol * mass)


def assert_nonnegative_gap(gap, atol=ATOL, what="gap"):
    """An optimality or Nash gap is ``>= -atol`` (it is a max over deviations of a difference)."""
    gap = np.asarray(gap, dtype=float)
    if gap.min() < -atol:
        _fail(f"negative {what}", -gap.min(), np.unravel_index(gap.argmin(), gap.shape), atol)
