r"""Linear-algebra backends for the exact solvers, as strategy objects.

A backend is chosen **once** per evaluation (:func:`choose_backend` returns an object) and then
builds the transition matrix and factors the two systems of :mod:`._markov`:

* ``"bordered"``: :math:`M = \begin{pmatrix} I - P_\pi & \mathbf 1 \\ e_k^\top & 0 \end{pmatrix}`
  (average reward);
* ``"shifted"``: :math:`I - \gamma P_\pi` (discounted).

``backend.factor(P, kind, k=..., gamma=...)`` returns a :class:`Factorization` with
``solve(rhs, trans=False)`` (``trans=True`` solves with :math:`M^\top`) and
``residual(x, rhs, trans=False)``, the relative max-norm residual :math:`\|Mx - b\|_\infty /
\max(1, \|b\|_\infty)` of a solve.

Backends
--------
:class:`DenseLU`
    LAPACK LU (:func:`scipy.linalg.lu_factor`) of the dense matrix.
:class:`SparseLU`
    SuperLU (:func:`scipy.sparse.linalg.splu`) of the CSC matrix.
:class:`KrylovBackend`
    The matrix-free backend (``backend="matrix-free"``, :mod:`._krylov`): GMRES on
    :meth:`~._operator.PolicyOperator.matvec` / ``rmatvec``, never building :math:`P_\pi`.
    Its matrix methods (``transition_matrix``, ``factor``) refuse with
    :class:`NotImplementedError`; the single-recurrent-class guard uses the positivity of the
    local factors, else the support graph when it fits (see :mod:`._krylov`). It records the
    forward-error certificates under the same names (rigorous for the discounted systems,
    heuristic for the average-reward ones: :mod:`._krylov`, "Forward-error certificates").

Residual certificate
--------------------
:func:`certify_residual` is the one check: a residual that is not finite or exceeds its tolerance
raises :class:`~._errors.SolverAccuracyError`. Two tolerances exist, on purpose, and each call
site keeps its value (unifying them would change which inputs are refused):

* :data:`RESIDUAL_TOL` ``= 1e-8`` for the chain systems of :mod:`._markov` (stationary
  distribution, Poisson equation, discounted values and visitation). These are
  :math:`|S|`-dimensional and, for slowly mixing chains, less well conditioned; LU gives ~1e-14
  on well-posed instances.
* :data:`CRITIC_RESIDUAL_TOL` ``= 1e-9`` for the averaged critic equation of :mod:`._critic`,
  a small (:math:`|Z_N|-1`)-dimensional dense system whose diagonal is bounded below by
  :math:`\sigma > 0` (Assumption 4(a)), so a tighter bound is affordable.

Forward-error certificate
-------------------------
A residual bounds the backward error only: on a chain of two blocks coupled by :math:`\varepsilon`
the dense LU returns a stationary distribution that is wrong in the first digit at
:math:`\varepsilon = 10^{-15}` with residual :math:`10^{-17}`. Every solve of a chain system
therefore also records (:func:`certify_forward_error`) the forward-error estimate

.. math:: \mathrm{fe} = \|A^{-1}\|_\infty\,
   \frac{\|r\|_\infty + \epsilon_{\mathrm{mach}}\|A\|_\infty\|\hat x\|_\infty}{\max(\|\hat x\|_\infty,\ s/\|A\|_\infty)}
   \;\le\; \kappa_\infty(A)\,(\rho + \epsilon_{\mathrm{mach}}),
   \qquad \kappa_\infty(A) = \|A\|_\infty \|A^{-1}\|_\infty,

where :math:`A` is the system actually solved (:math:`M`, or :math:`M^\top` for
``trans=True``), :math:`r` the certified residual of the computed solution :math:`\hat x`
(the max-norms are over all entries of the returned :math:`d`, :math:`h` or :math:`V`),
:math:`s = \max(1, \|b\|_\infty)` the floor of the residual certificate,
:math:`\rho = \|r\|/s` the certified relative residual and
:math:`\epsilon_{\mathrm{mach}} = 2^{-52}`. It estimates :math:`\|\hat x - x\|_\infty /
\max(\|\hat x\|_\infty, s/\|A\|_\infty)` — the relative error, except that a (near-)zero
solution (constant rewards: :math:`h = 0`) is measured on the scale :math:`s/\|A\| \le \|x\|`
of the data (:math:`\|b\| \le \|A\|\|x\|`) instead of dividing rounding noise by itself: with :math:`r = b - A\hat x`, exactly :math:`\hat x - x = -A^{-1} r`, so
:math:`\|\hat x - x\| \le \|A^{-1}\|\,\|r\|` (the first term; this is LAPACK's ``FERR``
estimate of ``gerfs``). Dividing by :math:`\|\hat x\|` when it is the larger keeps the estimate
sharp for large solutions (biases of slowly mixing chains). The :math:`\epsilon_{\mathrm{mach}}\|A\|\|\hat x\|` term covers, to first order, what the computed
residual cannot see: its own rounding (:math:`O(\epsilon_{\mathrm{mach}}\|A\|\|\hat x\|)`,
which is why a residual can come out exactly zero on a wrong answer) and the rounding of the data
:math:`P_\pi` itself (a relative perturbation :math:`\epsilon_{\mathrm{mach}}` of :math:`A` moves
:math:`x` by up to :math:`\kappa\,\epsilon_{\mathrm{mach}}` relative). Dimension factors of the
rounding analysis are dropped (first order, as LAPACK's error bounds do).

:math:`\|A^{-1}\|` is estimated from the factors: LAPACK ``gecon`` (Hager-Higham, :math:`O(N^2)`)
for :class:`DenseLU`, :func:`scipy.sparse.linalg.onenormest` through the SuperLU solves for
:class:`SparseLU` (a few solves); :math:`\|A\|` is computed exactly before factoring. Both
estimators give lower bounds of :math:`\|A^{-1}\|` that are almost always within a factor of
3 (exact on small matrices).

Above :data:`FORWARD_ERROR_TOL` ``= 1e-6`` :class:`~._errors.IllConditionedError` (a
:class:`~._errors.SolverAccuracyError`) is raised, naming the estimate, or a
:class:`RuntimeWarning` is issued with ``on_ill_conditioned="warn"``. The largest estimate on the
existing instances (``tests/solvers``, the golden test, ``netmarl-verify run qu2020 --quick``) is
recorded next to the constant.
"""

import warnings

import numpy as np
import scipy.linalg as sla
import scipy.sparse as sp
import scipy.sparse.linalg as spla

from netmarl_verify.envs._memory import check_memory, format_bytes

from ._errors import IllConditionedError, SolverAccuracyError

__all__ = [
    "BACKENDS",
    "RESIDUAL_TOL",
    "CRITIC_RESIDUAL_TOL",
    "FORWARD_ERROR_TOL",
    "ILL_CONDITIONED_MODES",
    "relative_residual",
    "certify_residual",
    "forward_error_estimate",
    "certify_forward_error",
    "record_forward_error",
    "LinearBackend",
    "Factorization",
    "DenseLU",
    "SparseLU",
    "KrylovBackend",
    "get_backend",
    "choose_backend",
]

#: Max-norm residual accepted for a direct solve of a chain system (relative to the max-norm of
#: the right side, floored at 1). Direct LU on a well-posed chain system gives ~1e-14; 1e-8 leaves
#: room for conditioning of slowly mixing chains while still catching a wrong answer.
RESIDUAL_TOL = 1e-8

#: Max-norm residual of the averaged critic equation (⋆) of :mod:`._critic`, relative to
#: ``max(1, max |right side|)`` (see the module docstring for why it differs from RESIDUAL_TOL).
CRITIC_RESIDUAL_TOL = 1e-9

#: Relative forward-error estimate (module docstring) above which a chain solve raises
#: :class:`IllConditionedError`. Measured maxima on the existing instances (issue 10, item 2):
#: 3.8e-9 over the whole test suite (wireless 2x3, condition number 1.7e7), 7.2e-10 on
#: ``netmarl-verify run qu2020 --quick`` and 2.7e-8 on the full ``run qu2020`` (appA2's
#: deterministic colourings, condition number 1.2e8). 1e-6 leaves a factor 38 over the worst of
#: them while refusing the two-block chain from coupling 1e-9 (estimate ~1e-6) on: an answer whose
#: sixth digit may be wrong is not "exact ground truth".
FORWARD_ERROR_TOL = 1e-6

#: Values accepted by ``on_ill_conditioned=``.
ILL_CONDITIONED_MODES = ("raise", "warn")

_EPS = float(np.finfo(float).eps)

#: Names accepted by ``backend=``.
BACKENDS = ("auto", "dense", "sparse", "matrix-free")

#: Row chunks are sized for this many float64 arrays of |S| entries per row.
_ROW_BYTES_PER_STATE = 3


def relative_residual(resid, rhs):
    """``max |resid| / max(1, max |rhs|)`` (an empty ``rhs`` counts as 1)."""
    return float(np.max(np.abs(resid))) / max(1.0, float(np.max(np.abs(rhs))) if np.size(rhs) else 1.0)


def certify_residual(name, res, residuals=None, *, tol=RESIDUAL_TOL, hint=None):
    """Record residual ``res`` under ``name`` and raise :class:`SolverAccuracyError` above ``tol``.

    Parameters
    ----------
    name : str
        What was solved; the key in ``residuals`` and the start of the message.
    res : float
        A relative residual (:func:`relative_residual`).
    residuals : dict, optional
        Certificate record to update.
    tol : float
        :data:`RESIDUAL_TOL` (chain systems) or :data:`CRITIC_RESIDUAL_TOL` (critic).
    hint : str, optional
        Replaces the default explanation in the message.
    """
    if residuals is not None:
        residuals[name] = res
    if not np.isfinite(res) or res > tol:
        hint = hint or ("the linear system is too ill-conditioned for a trustworthy answer "
                        "(nearly decomposable chain?)")
        raise SolverAccuracyError(f"{name}: residual {res:.3e} exceeds {tol:g}; {hint}")


def forward_error_estimate(inv_norm, a_norm, resid, x_norm, scale=1.0):
    """``inv_norm * (resid + eps * a_norm * x_norm) / max(x_norm, scale / a_norm)``: the relative
    forward-error estimate of the module docstring (``inf`` if singular)."""
    resid, x_norm, a_norm = float(resid), float(x_norm), float(a_norm)
    with np.errstate(all="ignore"):
        denom = max(x_norm, float(scale) / a_norm) if a_norm > 0 else x_norm
        if denom == 0.0:
            return 0.0 if resid == 0.0 else float("inf")
        fe = float(inv_norm) * (resid + _EPS * a_norm * x_norm) / denom
    return fe if np.isfinite(fe) else float("inf")


def certify_forward_error(name, factorization, trans, resid, x_norm, forward_errors=None, *, scale=1.0,
                          tol=FORWARD_ERROR_TOL, on_ill_conditioned="raise"):
    r"""Record the forward-error estimate of a solve under ``name``; raise (or warn) above ``tol``.

    Parameters
    ----------
    name : str
        What was solved; the key in ``forward_errors`` and the start of the message.
    factorization : Factorization
        The factored system (its :meth:`~Factorization.inverse_norm` and
        :meth:`~Factorization.matrix_norm`).
    trans : bool
        The solve was with :math:`M^\top`.
    resid : float
        Max-norm of the certified residual (absolute, not relative).
    x_norm : float
        Max-norm of the computed solution.
    forward_errors : dict, optional
        Record to update.
    scale : float
        ``max(1, |right side|_inf)``, the floor of the residual certificate: errors are relative
        to ``max(x_norm, scale / |A|)`` (a zero solution is measured on the data's scale).
    on_ill_conditioned : {"raise", "warn"}
        ``"raise"``: :class:`IllConditionedError`; ``"warn"``: :class:`RuntimeWarning`.

    Returns
    -------
    float
        The estimate (:func:`forward_error_estimate`).
    """
    if on_ill_conditioned not in ILL_CONDITIONED_MODES:
        raise ValueError(f"on_ill_conditioned must be one of {ILL_CONDITIONED_MODES}, got {on_ill_conditioned!r}")
    inv_norm, a_norm = factorization.inverse_norm(trans), factorization.matrix_norm(trans)
    fe = forward_error_estimate(inv_norm, a_norm, resid, x_norm, scale)
    with np.errstate(all="ignore"):
        detail = f"condition number {a_norm * inv_norm:.3e}, residual {float(resid):.1e}"
    return record_forward_error(name, fe, forward_errors, detail=detail, tol=tol,
                                on_ill_conditioned=on_ill_conditioned, stacklevel=4)


def record_forward_error(name, fe, forward_errors=None, *, detail, tol=FORWARD_ERROR_TOL,
                         on_ill_conditioned="raise", stacklevel=3):
    """Record a forward-error estimate ``fe`` under ``name``; above ``tol`` raise
    :class:`IllConditionedError` (or warn with ``on_ill_conditioned="warn"``). ``detail`` (the
    condition number and residual behind the estimate) goes into the message. Shared by the direct
    backends (:func:`certify_forward_error`) and the matrix-free backend (:mod:`._krylov`)."""
    if on_ill_conditioned not in ILL_CONDITIONED_MODES:
        raise ValueError(f"on_ill_conditioned must be one of {ILL_CONDITIONED_MODES}, got {on_ill_conditioned!r}")
    fe = float(fe) if np.isfinite(fe) else float("inf")
    if forward_errors is not None:
        forward_errors[name] = fe
    if fe > tol:
        msg = (f"{name}: forward-error estimate {fe:.3e} exceeds {tol:g} ({detail}); the residual is small "
               "but the system is too ill-conditioned for the answer to be trusted (nearly reducible chain, "
               "or a discount too close to 1?)")
        if on_ill_conditioned == "raise":
            raise IllConditionedError(msg)
        warnings.warn(msg, RuntimeWarning, stacklevel=stacklevel)
    return fe


class Factorization:
    """A factored system :math:`M`: ``solve(rhs, trans=False)``, ``residual(x, rhs, trans=False)``
    and ``condition(trans=False)``."""

    def __init__(self, backend, kind, matrix, lu, norms=None):
        self.backend = backend
        self.kind = kind
        self.matrix = matrix  # M itself, for residuals (None when the factorisation overwrote it)
        self.lu = lu
        self.norms = norms  # (|M|_1, |M|_inf), computed before factoring
        self._inv = {}

    def matrix_norm(self, trans=False):
        r""":math:`\|A\|_\infty` of the system solved, :math:`A = M` or (``trans``) :math:`M^\top`
        (:math:`\|M^\top\|_\infty = \|M\|_1`)."""
        return self.norms[0] if trans else self.norms[1]

    def inverse_norm(self, trans=False):
        r"""Estimated :math:`\|A^{-1}\|_\infty` (``gecon`` or ``onenormest``); cached, ``inf`` if singular."""
        key = bool(trans)
        if key not in self._inv:
            self._inv[key] = self.backend._inverse_norm(self.lu, key)
        return self._inv[key]

    def condition(self, trans=False):
        r"""Estimated :math:`\kappa_\infty(A) = \|A\|_\infty \|A^{-1}\|_\infty` of the system solved."""
        with np.errstate(all="ignore"):
            k = self.matrix_norm(trans) * self.inverse_norm(trans)
        return float(k) if np.isfinite(k) else float("inf")

    def solve(self, rhs, trans=False):
        """:math:`M^{-1} b`, or :math:`M^{-\\top} b` with ``trans=True``."""
        return self.backend._solve(self.lu, rhs, trans)

    def residual(self, x, rhs, trans=False):
        """Relative max-norm residual of ``M x = rhs`` (``M^T x = rhs`` with ``trans``)."""
        if self.matrix is None:
            raise ValueError("this factorisation overwrote its matrix; residuals are certified by the solvers")
        M = self.matrix.T if trans else self.matrix
        return relative_residual(M @ x - rhs, rhs)


class LinearBackend:
    """Base class of a backend: a name, a transition-matrix builder and :meth:`factor`.

    Subclasses implement :meth:`transition_matrix`, :meth:`_bordered`, :meth:`_shifted` and
    :meth:`_solve`.
    """

    name = None

    def __repr__(self):
        return f"{type(self).__name__}()"

    def transition_matrix(self, model):  # pragma: no cover - abstract
        raise NotImplementedError

    def factor(self, P, kind, *, k=0, gamma=None, keep_matrix=False):
        """Factor the ``"bordered"`` (pinned at state ``k``) or ``"shifted"`` (``gamma``) system of ``P``.

        ``keep_matrix=True`` keeps a copy of the matrix for :meth:`Factorization.residual`.
        """
        if kind == "bordered":
            M, lu, norms = self._bordered(P, int(k), keep_matrix)
        elif kind == "shifted":
            if gamma is None:
                raise ValueError("the shifted system I - gamma P needs gamma")
            M, lu, norms = self._shifted(P, float(gamma), keep_matrix)
        else:
            raise ValueError(f"kind must be 'bordered' or 'shifted', got {kind!r}")
        return Factorization(self, kind, M, lu, norms)


class DenseLU(LinearBackend):
    """LAPACK LU of the dense matrix (``scipy.linalg.lu_factor`` / ``lu_solve``)."""

    name = "dense"

    def transition_matrix(self, model):
        from ._model import _chunks

        N = model.n_states
        P = np.empty((N, N))
        for a, b in _chunks(N, 8.0 * N * _ROW_BYTES_PER_STATE):
            P[a:b] = model.dense_rows(a, b)
        return P

    def _bordered(self, P, k, keep):
        N = P.shape[0]
        M = np.empty((N + 1, N + 1))
        np.negative(P, out=M[:N, :N])
        M.reshape(-1)[: N * (N + 2) : N + 2] += 1.0  # the diagonal of the I - P block
        M[:N, N] = 1.0
        M[N, :] = 0.0
        M[N, k] = 1.0
        kept = M.copy() if keep else None
        norms = _dense_norms(M)
        return kept, sla.lu_factor(M, overwrite_a=True, check_finite=False), norms

    def _shifted(self, P, gamma, keep):
        N = P.shape[0]
        M = -gamma * P
        M[np.arange(N), np.arange(N)] += 1.0
        kept = M.copy() if keep else None
        norms = _dense_norms(M)
        return kept, sla.lu_factor(M, overwrite_a=True, check_finite=False), norms

    def _solve(self, lu, rhs, trans):
        return sla.lu_solve(lu, rhs, trans=1 if trans else 0, check_finite=False)

    def _inverse_norm(self, lu, one):
        r""":math:`\|M^{-1}\|_1` (``one``) or :math:`\|M^{-1}\|_\infty` from LAPACK ``gecon`` on the LU
        factors (gecon returns 1 / (|M| |M^-1|); fed |M| = 1 it returns 1 / |M^-1|)."""
        factors = lu[0]
        if not np.all(np.isfinite(np.diag(factors))) or np.any(np.diag(factors) == 0):
            return float("inf")
        gecon = sla.lapack.get_lapack_funcs("gecon", (factors,))
        rcond, info = gecon(factors, 1.0, norm="1" if one else "I")
        return float("inf") if info != 0 or rcond <= 0 else 1.0 / float(rcond)


def _dense_norms(M):
    a = np.abs(M)
    return float(a.sum(axis=0).max()), float(a.sum(axis=1).max())

def _splu(M, what):
    """SuperLU of `M`; a numerically singular factor is an IllConditionedError naming the system
    (SuperLU's own "RuntimeError: Factor is exactly singular" says neither what nor why)."""
    try:
        return spla.splu(M)
    except RuntimeError as exc:
        # an exactly singular factor is an infinite condition number: the IllConditionedError
        # (a SolverAccuracyError) of the forward-error certificate, raised whatever on_ill_conditioned
        raise IllConditionedError(
            f"{what} is numerically singular ({exc}; forward-error estimate inf); the chain is nearly "
            "reducible or the discount is too close to 1 for double precision") from exc


class SparseLU(LinearBackend):
    """SuperLU of the CSC matrix (``scipy.sparse.linalg.splu``)."""

    name = "sparse"

    def transition_matrix(self, model):
        from ._model import _chunks

        N = model.n_states
        rows, cols, vals = [], [], []
        for a, b in _chunks(N, 8.0 * N * _ROW_BYTES_PER_STATE):
            nz = model.sparse_rows(a, b)
            if nz is None:  # no sparse row builder for this operator: nonzeros of dense row blocks
                block = model.dense_rows(a, b)
                r, c = np.nonzero(block)
                nz = (r + a, c, block[r, c])
            rows.append(nz[0])
            cols.append(nz[1])
            vals.append(nz[2])
        return sp.csr_matrix((np.concatenate(vals), (np.concatenate(rows), np.concatenate(cols))), shape=(N, N))

    def _bordered(self, P, k, keep):
        N = P.shape[0]
        I = sp.identity(N, format="csr")
        ones = sp.csr_matrix(np.ones((N, 1)))
        ek = sp.csr_matrix(([1.0], ([0], [k])), shape=(1, N))
        M = sp.bmat([[I - P, ones], [ek, None]], format="csc")
        return ((M if keep else None), _splu(M, "the bordered system of the stationary distribution and biases"),
                _sparse_norms(M))

    def _shifted(self, P, gamma, keep):
        N = P.shape[0]
        M = (sp.identity(N, format="csc") - gamma * P).tocsc()
        return (M if keep else None), _splu(M, f"the discounted system I - {gamma:g} P"), _sparse_norms(M)

    def _solve(self, lu, rhs, trans):
        return lu.solve(rhs, trans="T" if trans else "N")

    def _inverse_norm(self, lu, one):
        r""":math:`\|M^{-1}\|_1` (``one``) or :math:`\|M^{-1}\|_\infty = \|M^{-\top}\|_1` by
        :func:`scipy.sparse.linalg.onenormest` through SuperLU solves."""
        fwd, bwd = ("N", "T") if one else ("T", "N")
        n = lu.shape[0]
        op = spla.LinearOperator((n, n), dtype=float, matvec=lambda v: lu.solve(np.asarray(v, float), trans=fwd),
                                 rmatvec=lambda v: lu.solve(np.asarray(v, float), trans=bwd))
        with np.errstate(all="ignore"):
            est = float(spla.onenormest(op))
        return est if np.isfinite(est) else float("inf")


def _sparse_norms(M):
    a = abs(M)
    return float(a.sum(axis=0).max()), float(a.sum(axis=1).max())

class KrylovBackend(LinearBackend):
    """The matrix-free backend (``backend="matrix-free"``): GMRES on contractions of the local factors.

    Factors nothing and never builds :math:`P_\\pi` (see :mod:`._krylov` for the products, the
    deflated systems, the unichain certificate and Q at pairs). The evaluation's ``P`` is a
    :class:`scipy.sparse.linalg.LinearOperator`; :meth:`transition_matrix` and :meth:`factor`
    refuse (:class:`NotImplementedError`): use ``backend="dense"`` or ``"sparse"`` to materialise
    the matrix.
    """

    name = "matrix-free"
    matrix_free = True

    def _refuse(self, *args, **kwargs):
        raise NotImplementedError(
            "the matrix-free backend never builds or factors P_pi: it solves by GMRES on "
            "products with the local factors; use backend='dense' or 'sparse' for the matrix itself"
        )

    transition_matrix = factor = _bordered = _shifted = _solve = _refuse

    def products(self, model):
        from ._krylov import Products

        return Products(model)


_MATRIX_FREE_ALIASES = ("matrix-free", "krylov")

_BY_NAME = {"dense": DenseLU, "sparse": SparseLU, "matrix-free": KrylovBackend, "krylov": KrylovBackend}


def get_backend(backend):
    """A backend object from a name (``"dense"``, ``"sparse"``) or a :class:`LinearBackend`."""
    if isinstance(backend, LinearBackend):
        return backend
    if backend in _BY_NAME:
        return _BY_NAME[backend]()
    raise ValueError(f"backend must be one of {BACKENDS}, got {backend!r}")


#: ``backend="auto"`` picks the matrix-free backend above this many global states (when the
#: sparse rule does not apply). Measured on the qu2020 line pipeline of ``netmarl-verify bench``
#: (|S_i| = 2, |A_i| = 3; evaluate + Q_i at 1,000 pairs + gradient; 2 cores, shared machine,
#: best of 3 below n = 10), dense vs matrix-free seconds:
#: n = 6 (64 states) 0.010 vs 0.005, n = 7 (128) 0.019 vs 0.021, n = 8 (256) 0.12 vs 0.024,
#: n = 9 (512) 0.19 vs 0.025, n = 10 (1,024) 0.43 vs 0.091, n = 11 (2,048) 1.21 vs 0.049,
#: n = 12 (4,096) 4.74 vs 0.18, n = 13 (8,192) 18.1 vs 0.16.
#: Matrix-free is faster from about 256 states on, but the threshold stays at 4,096 (n = 12
#: dense, n = 13 matrix-free): below it the direct backends keep every existing default-backend
#: number bit for bit (the golden master changes at 512: ``qu2020.appA2`` rows) and their
#: forward-error certificates are the sharper ones (max-norm condition estimates of the factored
#: system; the matrix-free backend's average-reward estimates go through 2-norms, see
#: :mod:`._krylov`). (Before issue 10's
#: speed work the threshold was 8,192, so n = 13 ran dense in 18 s.)
MATRIX_FREE_MIN_STATES = 4096


def choose_backend(model, backend="auto"):
    """Pick :class:`DenseLU` or :class:`SparseLU` and check the memory budget before anything is built.

    ``"auto"``: sparse when the kernel under the policy has fewer than 5% nonzeros and more
    than 2,048 states (or when dense would not fit), dense otherwise. A :class:`LinearBackend`
    instance is returned as it is.
    """
    if isinstance(backend, LinearBackend):
        return backend
    if backend not in BACKENDS and backend not in _MATRIX_FREE_ALIASES:
        raise ValueError(f"backend must be one of {BACKENDS}, got {backend!r}")
    N = model.n_states
    if backend in _MATRIX_FREE_ALIASES:
        return _matrix_free(model)
    dense_bytes = 8.0 * (2 * (N + 1) ** 2 + 4 * N * max(model.n_agents, 1))
    what = f"the dense transition matrix and its LU factors ({N} x {N} float64, x2)"
    if backend == "dense":
        check_memory(dense_bytes, what, hint="try backend='sparse'")
        return DenseLU()
    check_memory(8.0 * N * 8, f"vectors over {N} global states")
    nnz = model.estimate_nnz()
    sparse_bytes = 8.0 * 3 * nnz * 6 + 8.0 * N * (4 + 2 * model.n_agents)  # CSR + LU fill allowance
    sparse_what = f"the sparse transition matrix ({nnz} nonzeros) and its LU factors"
    if backend == "sparse":
        check_memory(sparse_bytes, sparse_what)
        return SparseLU()
    if nnz < 0.05 * N * N and N > 2048:
        check_memory(sparse_bytes, sparse_what)
        return SparseLU()
    if N > MATRIX_FREE_MIN_STATES:
        return _matrix_free(model)
    try:
        check_memory(dense_bytes, what)
        return DenseLU()
    except MemoryError:
        try:
            check_memory(sparse_bytes, sparse_what, hint=f"dense would need {format_bytes(dense_bytes)}")
            return SparseLU()
        except MemoryError:
            return _matrix_free(model)


def _matrix_free(model):
    from ._krylov import check_working_memory

    backend = KrylovBackend()
    check_working_memory(backend.products(model), max(model.n_agents, 1))
    return backend
