r"""Markov-chain linear algebra behind every exact quantity.

Average reward (qu2020 eq. (2)-(3)). For the state chain :math:`P_\pi` with a single recurrent
class, the stationary distribution :math:`d` and the per-agent bias :math:`h_i` (the
differential value with :math:`d^\top h_i = 0`) come from one factorisation of the bordered
matrix

.. math:: M = \begin{pmatrix} I - P_\pi & \mathbf 1 \\ e_k^\top & 0 \end{pmatrix},

which is non-singular for every unichain :math:`P_\pi` and every state :math:`k` (if
:math:`M(x, g) = 0` then :math:`g = d^\top M(x,g)_{1:N} = 0`, so :math:`x` is constant and
:math:`x_k = 0`). Then

* :math:`M^\top (d, c) = (0, 1)` gives :math:`d` (and :math:`c = 0`);
* :math:`M (x_i, g_i) = (r_i, 0)` gives :math:`g_i = J_i` and a solution :math:`x_i` of the
  Poisson equation :math:`(I - P_\pi) x = r_i - J_i \mathbf 1`, and
  :math:`h_i = x_i - (d^\top x_i)\mathbf 1` is the bias of qu2020 eq. (3) (its stationary mean is
  zero). For an aperiodic chain :math:`h_i = \sum_t (P_\pi^t r_i - J_i \mathbf 1)`; for a periodic one
  the series does not converge and :math:`h_i` is its Cesàro limit.

Discounted: :math:`(I - \gamma P_\pi) V_i = r_i` and the visitation
:math:`(I - \gamma P_\pi^\top)\lambda = \mu_0` share one factorisation.

Backends are strategy objects of :mod:`._backends` (:class:`~._backends.DenseLU`, LAPACK LU;
:class:`~._backends.SparseLU`, SuperLU on CSC), chosen once; the solvers below never branch on
the backend. Every solve records a residual certificate
(:func:`~._backends.certify_residual`); a residual above :data:`RESIDUAL_TOL` raises
:class:`SolverAccuracyError`. Every solve also records a forward-error estimate
:math:`\|A^{-1}\|(\|r\| + \epsilon_{\mathrm{mach}}\|A\|\|\hat x\|)/\max(\|\hat x\|, s/\|A\|)`
(:math:`s = \max(1, \|b\|)`, the residual's floor) of the system :math:`A` it solved
(:func:`~._backends.certify_forward_error`, in ``forward_errors`` under the keys
``"stationary"``, ``"poisson"``, ``"discounted"``, ``"visitation"``); above
:data:`~._backends.FORWARD_ERROR_TOL` it raises :class:`~._errors.IllConditionedError`
(``on_ill_conditioned="raise"``, the default) or warns (``"warn"``).
"""

from dataclasses import dataclass, field
from math import gcd

import numpy as np
import scipy.sparse as sp
import scipy.sparse.csgraph as csgraph

from ._backends import (
    BACKENDS,
    ILL_CONDITIONED_MODES,
    RESIDUAL_TOL,
    certify_forward_error,
    certify_residual,
    get_backend,
    relative_residual,
)
from ._errors import MultipleRecurrentClassesError, SolverAccuracyError

__all__ = ["ChainStructure", "chain_structure", "build_transition_matrix", "RESIDUAL_TOL", "BACKENDS"]


@dataclass
class ChainStructure:
    """Communicating-class structure of a finite Markov chain.

    Attributes
    ----------
    n_recurrent : int
        Number of closed communicating classes.
    recurrent_states : ndarray
        States of the first recurrent class (all of them if unique).
    period : int
        Period of the (first) recurrent class; 1 means aperiodic.
    n_transient : int
    """

    n_recurrent: int
    recurrent_states: np.ndarray
    period: int
    n_transient: int
    classes: list = field(default_factory=list)


def chain_structure(P):
    """Recurrent classes and period of the chain with transition matrix ``P``.

    A strictly positive matrix is decided in one pass (one class, aperiodic); otherwise the
    strongly connected components of the support graph are computed
    (:func:`scipy.sparse.csgraph.connected_components`), the closed ones are the recurrent
    classes, and the period is the gcd of ``level(u) + 1 - level(v)`` over the edges of the class,
    with BFS levels from one of its states.
    """
    N = P.shape[0]
    if not sp.issparse(P) and P.min() > 0:
        return ChainStructure(1, np.arange(N), 1, 0, [np.arange(N)])
    A = sp.csr_matrix(P) if not sp.issparse(P) else P.tocsr()
    A = A.copy()
    A.data = (A.data > 0).astype(np.int8)
    A.eliminate_zeros()
    ncomp, labels = csgraph.connected_components(A, directed=True, connection="strong")
    coo = A.tocoo()
    leaving = labels[coo.row] != labels[coo.col]
    open_comp = np.zeros(ncomp, dtype=bool)
    open_comp[labels[coo.row[leaving]]] = True
    closed = np.flatnonzero(~open_comp)
    classes = [np.flatnonzero(labels == c) for c in closed]
    classes.sort(key=lambda c: c[0])
    first = classes[0]
    # period of the first closed class
    sub = A[first][:, first]
    levels = csgraph.shortest_path(sub, method="D", unweighted=True, indices=0)
    sc = sub.tocoo()
    diffs = (levels[sc.row] + 1 - levels[sc.col]).astype(np.int64)
    period = 0
    for dv in np.unique(np.abs(diffs)):
        period = gcd(period, int(dv))
    n_rec = sum(len(c) for c in classes)
    return ChainStructure(len(classes), first, max(period, 1), N - n_rec, classes)


def build_transition_matrix(model, backend):
    """:math:`P_\\pi` as a dense array or a CSR matrix, built in row chunks.

    ``backend`` is a :class:`~._backends.LinearBackend` or its name.
    """
    return get_backend(backend).transition_matrix(model)


class AverageRewardSolver:
    """One factorisation of the bordered matrix, then stationary distribution and biases."""

    def __init__(self, P, backend, k=0, *, on_ill_conditioned="raise"):
        _check_mode(on_ill_conditioned)
        self.P = P
        self.backend = get_backend(backend)
        self.N = P.shape[0]
        self.on_ill_conditioned = on_ill_conditioned
        self.factorization = self.backend.factor(P, "bordered", k=k)

    def solve(self, rhs, trans=False):
        return self.factorization.solve(rhs, trans=trans)

    def _forward(self, name, resid, x, rhs, trans, forward_errors):
        """Forward-error certificate of a solve: residual array, solution and right side."""
        certify_forward_error(name, self.factorization, trans, _maxabs(resid), _maxabs(x), forward_errors,
                              scale=max(1.0, _maxabs(rhs)), on_ill_conditioned=self.on_ill_conditioned)

    def stationary(self, residuals, forward_errors=None):
        N = self.N
        rhs = np.zeros(N + 1)
        rhs[N] = 1.0
        y = self.solve(rhs, trans=True)
        d = y[:N].copy()
        # certificate: d^T P = d and sum d = 1
        resid = self.P.T @ d - d
        certify_residual("stationary: |d P - d|_inf", relative_residual(resid, d), residuals)
        self._forward("stationary", resid, d, d, True, forward_errors)
        # round-off can leave -1e-17 entries; anything more negative is a failed solve
        if d.min() < -1e-12:
            raise SolverAccuracyError(f"stationary distribution has a negative entry {d.min():.3e}")
        d = np.clip(d, 0.0, None)
        return d / d.sum()

    def bias(self, r, d, residuals, forward_errors=None):
        """Biases ``h`` (N, m) with ``d^T h = 0`` and gains ``J`` (m,) for reward columns ``r``."""
        N = self.N
        rhs = np.vstack([r, np.zeros((1, r.shape[1]))])
        y = self.solve(rhs)
        x = y[:N]
        J = d @ r
        h = x - (d @ x)[None, :]
        # certificate: (I - P) h = r - J, relative to the reward scale
        res = h - self.P @ h - (r - J[None, :])
        certify_residual("poisson: |(I-P)h - (r-J)|_inf", relative_residual(res, r), residuals)
        self._forward("poisson", res, h, r, False, forward_errors)
        return J, h


class DiscountedSolver:
    """One factorisation of :math:`I - \\gamma P_\\pi` for values and visitations."""

    def __init__(self, P, gamma, backend, *, on_ill_conditioned="raise"):
        _check_mode(on_ill_conditioned)
        self.P = P
        self.gamma = gamma
        self.backend = get_backend(backend)
        self.on_ill_conditioned = on_ill_conditioned
        self.factorization = self.backend.factor(P, "shifted", gamma=gamma)

    def solve(self, rhs, trans=False):
        return self.factorization.solve(rhs, trans=trans)

    _forward = AverageRewardSolver._forward

    def values(self, r, residuals, forward_errors=None):
        V = self.solve(r)
        resid = V - self.gamma * (self.P @ V) - r
        certify_residual("discounted: |(I - gamma P)V - r|_inf", relative_residual(resid, r), residuals)
        self._forward("discounted", resid, V, r, False, forward_errors)
        return V

    def visitation(self, mu0, residuals, forward_errors=None):
        lam = self.solve(mu0, trans=True)
        resid = lam - self.gamma * (self.P.T @ lam) - mu0
        certify_residual("visitation: |(I - gamma P^T) lam - mu0|_inf", relative_residual(resid, mu0), residuals)
        self._forward("visitation", resid, lam, mu0, True, forward_errors)
        return lam


def _maxabs(a):
    return float(np.max(np.abs(a))) if np.size(a) else 0.0


def _check_mode(on_ill_conditioned):
    if on_ill_conditioned not in ILL_CONDITIONED_MODES:
        raise ValueError(f"on_ill_conditioned must be one of {ILL_CONDITIONED_MODES}, got {on_ill_conditioned!r}")


def raise_if_not_unichain(structure, describe_state):
    if structure.n_recurrent > 1:
        reps = ", ".join(
            f"class {k} ({len(c)} states, e.g. state {describe_state(int(c[0]))})"
            for k, c in enumerate(structure.classes[:5])
        )
        raise MultipleRecurrentClassesError(
            f"the chain under this policy has {structure.n_recurrent} recurrent classes: {reps}; "
            "the stationary distribution is not unique, so J and the average-reward Q are not defined"
        )
