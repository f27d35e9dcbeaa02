r"""Consensus matrices on a communication graph (zhang2025 Def. 4.1, Assumption 5.1).

A *consensus matrix* for an undirected communication graph :math:`\mathcal G = (\mathcal N,
\mathcal E)` on the agents ``0..N-1`` is an :math:`A \in \mathbb R^{N \times N}` with
:math:`A_{ij} = 0` for :math:`i \ne j`, :math:`(i, j) \notin \mathcal E` (Def. 4.1 (i)) and
:math:`A_{ij} > 0` on the edges (Def. 4.1 (ii)). zhang2025 Assumption 5.1 asks moreover

.. math::
    A \mathbb 1 = \mathbb 1, \quad \mathbb 1^\top A = \mathbb 1^\top, \quad A \ge 0, \qquad
    A_{ii} \ge \eta\ \forall i, \quad A_{ij} \ge \eta\ \forall (i, j) \in \mathcal E,

for some :math:`\eta > 0`. Gossip (Alg. 1 l. 13, Alg. 2 l. 12) applies :math:`A^{t}` to
stacked rows; with :math:`J = \mathbb 1\mathbb 1^\top / N` and :math:`AJ = JA = J`,
:math:`A^t - J = (A - J)^t`, so each row's consensus error obeys
:math:`\|A^t_{i,:} - \mathbb 1^\top/N\|_2 \le \|A - J\|_2^t = \sigma_2(A)^t`. The paper instead
uses the rate :math:`1 - \eta^{N-1}` of Nedić & Ozdaglar (2009) (proof of Thm 5.10, (26) step
(d) and (27)).

Contents
--------
Generators: :func:`metropolis_hastings_weights`, :func:`max_degree_weights` (with optional
laziness), :func:`random_consensus_matrix` (random, on the graph's support, entries
:math:`\ge \eta`). Validation: :func:`check_consensus_matrix`. Measurements:
:func:`consensus_eta`, :func:`consensus_sigma2`, :func:`consensus_spectral_radius`,
:func:`consensus_rate_bound`, and all of them at once, :func:`measure_consensus`
(:class:`ConsensusMeasures`).

The symbol :math:`\eta` here is Assumption 5.1's weight bound, not the visitation measure of
zhang2025 Lemma 4.2. The communication graph must be connected: a disconnected one is
refused (the components never mix, so no consensus matrix on it reaches consensus).
"""

import math
from dataclasses import dataclass

import networkx as nx
import numpy as np

from ._graph import check_graph
from ._random import as_generator
from ._validation import (
    ROW_SUM_ATOL,
    ModelValidationError,
    NegativeProbabilityError,
    RowSumError,
    ShapeError,
    as_float_array,
    check_finite,
    fmt_number,
)

__all__ = [
    "metropolis_hastings_weights",
    "max_degree_weights",
    "random_consensus_matrix",
    "check_consensus_matrix",
    "check_connected",
    "consensus_eta",
    "consensus_sigma2",
    "consensus_spectral_radius",
    "consensus_rate_bound",
    "measure_consensus",
    "ConsensusMeasures",
]


def check_connected(graph):
    """Validate a communication graph (:func:`~netmarl_verify.envs.check_graph`) and refuse a disconnected one.

    Returns ``N``. A disconnected graph raises :class:`~netmarl_verify.envs.ModelValidationError`
    naming its components.

    >>> import networkx as nx
    >>> try:
    ...     check_connected(nx.Graph([(0, 1), (2, 3)]))
    ... except ModelValidationError as exc:
    ...     print(str(exc).split(";")[0])
    the communication graph is disconnected, with 2 components [0, 1] | [2, 3]
    """
    n = check_graph(graph)
    if n > 1 and not nx.is_connected(graph):
        comps = sorted((sorted(int(v) for v in c) for c in nx.connected_components(graph)), key=lambda c: c[0])
        shown = " | ".join(str(c) for c in comps[:10]) + (" | ..." if len(comps) > 10 else "")
        raise ModelValidationError(
            f"the communication graph is disconnected, with {len(comps)} components {shown}; agents in "
            f"different components never exchange information, so no consensus matrix on it reaches consensus "
            f"(zhang2025 Assumption 5.1 and the rate 1 - eta^(N-1) need a connected graph)"
        )
    return n


def _edges(graph):
    """Undirected edges ``(i, j)``, ``i < j``, without self-loops, as an int array ``(E, 2)``."""
    e = [(min(int(i), int(j)), max(int(i), int(j))) for i, j in graph.edges if i != j]
    return np.array(sorted(set(e)), dtype=np.int64).reshape(-1, 2)


def _degrees(graph, n):
    e = _edges(graph)
    return np.bincount(e.ravel(), minlength=n), e


def _from_edge_weights(n, edges, w):
    """Symmetric :math:`A = I - \\sum_e w_e (e_i - e_j)(e_i - e_j)^\\top`: off-diagonal ``w``, rows sum to 1."""
    A = np.zeros((n, n))
    A[edges[:, 0], edges[:, 1]] = w
    A[edges[:, 1], edges[:, 0]] = w
    A[np.arange(n), np.arange(n)] = 1.0 - A.sum(axis=1)
    return A


def metropolis_hastings_weights(graph):
    r"""Metropolis-Hastings weights: :math:`A_{ij} = 1/(1 + \max(d_i, d_j))` on edges, :math:`A_{ii} = 1 - \sum_{j \ne i} A_{ij}`.

    Symmetric and doubly stochastic (Xiao & Boyd 2004); :math:`A_{ii} \ge 1/(1 + d_i) > 0`.
    :math:`d_i` is the degree without self-loops.

    Parameters
    ----------
    graph : networkx.Graph
        Undirected, connected, nodes ``0..N-1``.

    Returns
    -------
    ndarray, shape (N, N)

    Examples
    --------
    >>> import networkx as nx
    >>> metropolis_hastings_weights(nx.path_graph(3)).round(4).tolist()
    [[0.6667, 0.3333, 0.0], [0.3333, 0.3333, 0.3333], [0.0, 0.3333, 0.6667]]
    """
    n = check_connected(graph)
    deg, e = _degrees(graph, n)
    w = 1.0 / (1.0 + np.maximum(deg[e[:, 0]], deg[e[:, 1]]))
    return _from_edge_weights(n, e, w)


def max_degree_weights(graph, laziness=0.0):
    r"""Max-degree weights :math:`A = I - L / (1 + d_{\max})`, optionally lazy: :math:`\ell I + (1 - \ell) A`.

    :math:`L` is the graph Laplacian (no self-loops), :math:`d_{\max}` the largest degree; every
    edge gets :math:`(1 - \ell)/(1 + d_{\max})`. Symmetric, doubly stochastic. ``laziness``
    :math:`\ell = 1/2` makes every eigenvalue non-negative, so :math:`\sigma_2` is
    :math:`\lambda_2` (no oscillating :math:`\lambda_N` near :math:`-1`).

    Parameters
    ----------
    graph : networkx.Graph
        Undirected, connected, nodes ``0..N-1``.
    laziness : float
        :math:`\ell \in [0, 1)`.

    Returns
    -------
    ndarray, shape (N, N)

    Examples
    --------
    >>> import networkx as nx
    >>> max_degree_weights(nx.cycle_graph(4), laziness=0.5)[0].tolist()
    [0.6666666666666667, 0.16666666666666666, 0.0, 0.16666666666666666]
    """
    n = check_connected(graph)
    if not (isinstance(laziness, (int, float, np.floating)) and 0.0 <= laziness < 1.0):
        raise ValueError(f"`laziness` must be in [0, 1), got {fmt_number(laziness)}")
    deg, e = _degrees(graph, n)
    dmax = int(deg.max()) if n > 1 else 0
    w = np.full(len(e), (1.0 - laziness) / (1.0 + dmax))
    return _from_edge_weights(n, e, w)


def _sinkhorn(M, tol=1e-15, max_iter=100_000):
    """Alternate row and column normalisation of a positive-on-support matrix to doubly stochastic."""
    for _ in range(max_iter):
        M = M / M.sum(axis=1, keepdims=True)
        M = M / M.sum(axis=0, keepdims=True)
        if np.abs(M.sum(axis=1) - 1.0).max() <= tol:
            return M
    raise RuntimeError(f"Sinkhorn balancing did not reach row sums within {tol:g} in {max_iter} iterations")


def random_consensus_matrix(graph, eta, rng=None, symmetric=True, fill=1.0):
    r"""A random doubly stochastic matrix on the graph's support with every diagonal and edge entry :math:`\ge \eta`.

    Construction (``symmetric=True``): draw :math:`u_e \sim U(0, 1)` per edge; give agent i the
    scale :math:`c_i = \texttt{fill}\cdot(1 - (1 + d_i)\eta) / \sum_{j \sim i} u_{ij}` (its slack
    above the minimal weights, shared in proportion to its u's) and set
    :math:`w_{ij} = \eta + \min(c_i, c_j)\,u_{ij}`, :math:`A = I - \sum_e w_e (e_i - e_j)(e_i -
    e_j)^\top`, i.e. :math:`A_{ij} = w_{ij}` on edges and :math:`A_{ii} = 1 - \sum_{j \sim i}
    w_{ij} \ge 1 - d_i\eta - c_i\sum_j u_{ij} \ge \eta`. A is symmetric, with row (hence column)
    sums 1 up to rounding; with ``fill=1`` (default) the agent with the smallest :math:`c_i` has
    self-weight exactly :math:`\eta`, so :func:`consensus_eta` returns ``eta`` (up to rounding).
    Feasible iff :math:`\eta \le 1/(1 + d_{\max})` (a row with :math:`d_i` edges needs
    :math:`(1 + d_i)\eta \le 1`); at that limit the max-degree agents' edges all get exactly
    :math:`\eta`.

    ``symmetric=False``: :math:`A = \frac12 A_{\rm sym}(2\eta) + \frac12 S`, where :math:`S` is a
    Sinkhorn-balanced (row and column sums within 1e-15) matrix with i.i.d. :math:`U(0, 1)` entries
    on the diagonal and on both directions of every edge, independently, so :math:`S` is in
    general not symmetric; entries on the support are :math:`\ge \eta`. Feasible iff
    :math:`\eta \le 1/(2(1 + d_{\max}))`. (Assumption 5.1 does not require symmetry.)

    Parameters
    ----------
    graph : networkx.Graph
        Undirected, connected, nodes ``0..N-1``.
    eta : float
        The lower bound, :math:`0 < \eta`, feasible as above.
    rng : int, numpy.random.Generator or None
        Through :func:`~netmarl_verify.envs.as_generator`.
    symmetric : bool
    fill : float
        In (0, 1]: the fraction of the slack above :math:`\eta` given to the edges.

    Returns
    -------
    ndarray, shape (N, N)

    Examples
    --------
    >>> import networkx as nx
    >>> A = random_consensus_matrix(nx.cycle_graph(5), 0.1, rng=0, symmetric=False)
    >>> round(consensus_eta(A, nx.cycle_graph(5)), 12) >= 0.1, bool(np.allclose(A, A.T))
    (True, False)
    """
    n = check_connected(graph)
    rng = as_generator(rng)
    if not (isinstance(fill, (int, float, np.floating)) and 0.0 < fill <= 1.0):
        raise ValueError(f"`fill` must be in (0, 1], got {fmt_number(fill)}")
    deg, e = _degrees(graph, n)
    dmax = int(deg.max()) if n > 1 else 0
    eta_sym = float(eta) if symmetric else 2.0 * float(eta)
    limit = 1.0 / (1 + dmax) if symmetric else 1.0 / (2 * (1 + dmax))
    if not (math.isfinite(float(eta)) and 0.0 < eta <= limit):
        raise ValueError(f"`eta` must be in (0, {limit!r}] for this graph (max degree {dmax}"
                         f"{'' if symmetric else ', non-symmetric construction'}), got {fmt_number(eta)}")
    u = rng.random(len(e))
    if len(e):
        usum = np.bincount(e.ravel(), weights=np.repeat(u, 2), minlength=n)
        has = deg > 0
        c = np.full(n, np.inf)
        c[has] = fill * (1.0 - (1.0 + deg[has]) * eta_sym) / usum[has]
        A = _from_edge_weights(n, e, eta_sym + np.minimum(c[e[:, 0]], c[e[:, 1]]) * u)
    else:
        A = np.ones((1, 1))
    if symmetric:
        return A
    M = np.zeros((n, n))
    M[np.arange(n), np.arange(n)] = rng.random(n) + 1e-3
    if len(e):
        M[e[:, 0], e[:, 1]] = rng.random(len(e)) + 1e-3
        M[e[:, 1], e[:, 0]] = rng.random(len(e)) + 1e-3
    return 0.5 * A + 0.5 * _sinkhorn(M)


def _check_square(A, n=None, what="A"):
    A = as_float_array(A, f"`{what}`")
    if A.ndim != 2 or A.shape[0] != A.shape[1] or (n is not None and A.shape[0] != n):
        want = "square" if n is None else f"of shape ({n}, {n}) (one row and column per agent of the graph)"
        raise ShapeError(f"`{what}` must be {want}, got shape {A.shape}")
    check_finite(A, f"`{what}`")
    return A


def check_consensus_matrix(A, graph, atol=ROW_SUM_ATOL, require_eta=True):
    r"""Validate a consensus matrix against zhang2025 Def. 4.1 and Assumption 5.1.

    Checks, in order: the graph (undirected, nodes ``0..N-1``, **connected**:
    :func:`check_connected`); ``A`` real, finite, shape ``(N, N)``; :math:`A \ge 0`; every row
    **and** column sum within ``atol`` (1e-12) of 1; support within the edges plus the diagonal
    (Def. 4.1 (i)); and, with ``require_eta`` (default), every diagonal and edge entry positive
    (:math:`\eta > 0`, Def. 4.1 (ii) and Assumption 5.1).

    Parameters
    ----------
    A : array_like, shape (N, N)
    graph : networkx.Graph
    atol : float
        Tolerance on row and column sums.
    require_eta : bool
        Refuse a zero on the diagonal or on an edge.

    Returns
    -------
    ndarray, shape (N, N)
        A read-only float64 copy of ``A``.

    Raises
    ------
    ShapeError, NonFiniteError, NegativeProbabilityError, RowSumError, ModelValidationError
        Naming the offending entry, row, column or graph components.

    Examples
    --------
    >>> import networkx as nx, numpy as np
    >>> try:
    ...     check_consensus_matrix(np.full((3, 3), 1 / 3), nx.path_graph(3))
    ... except ModelValidationError as exc:
    ...     print(exc)
    `A[0, 2]` = 0.3333333333333333 is non-zero but agents 0 and 2 are not neighbours in the communication graph (zhang2025 Def. 4.1 (i))
    """
    n = check_connected(graph)
    A = _check_square(A, n)
    neg = A < 0
    if neg.any():
        i, j = (int(k) for k in np.argwhere(neg)[0])
        raise NegativeProbabilityError(f"`A[{i}, {j}]` = {float(A[i, j])!r} is negative; a consensus matrix is "
                                       f"non-negative (zhang2025 Assumption 5.1)")
    for axis, name in ((1, "row"), (0, "column")):
        sums = A.sum(axis=axis)
        off = np.abs(sums - 1.0) > atol
        if off.any():
            k = int(np.flatnonzero(off)[0])
            raise RowSumError(f"{name} {k} of `A` sums to {float(sums[k])!r}, not 1 (tolerance {atol:g}); a consensus "
                              f"matrix is doubly stochastic (zhang2025 Assumption 5.1)")
    allowed = np.eye(n, dtype=bool)
    e = _edges(graph)
    allowed[e[:, 0], e[:, 1]] = allowed[e[:, 1], e[:, 0]] = True
    bad = (A != 0) & ~allowed
    if bad.any():
        i, j = (int(k) for k in np.argwhere(bad)[0])
        raise ModelValidationError(f"`A[{i}, {j}]` = {float(A[i, j])!r} is non-zero but agents {i} and {j} are not "
                                   f"neighbours in the communication graph (zhang2025 Def. 4.1 (i))")
    if require_eta:
        zero = allowed & (A <= 0)
        if zero.any():
            i, j = (int(k) for k in np.argwhere(zero)[0])
            where = f"the self-weight of agent {i}" if i == j else f"the weight of edge ({i}, {j})"
            raise ModelValidationError(f"`A[{i}, {j}]` = 0 is {where}; Assumption 5.1 of zhang2025 needs every "
                                       f"diagonal and edge entry >= eta > 0 (pass require_eta=False to meter it)")
    A = A.copy()
    A.setflags(write=False)
    return A


def consensus_eta(A, graph):
    r"""The largest :math:`\eta` of zhang2025 Assumption 5.1: :math:`\min(\min_i A_{ii}, \min_{(i,j) \in \mathcal E} A_{ij})`.

    Both directions :math:`A_{ij}` and :math:`A_{ji}` of every undirected edge count; entries off
    the support do not. This is the minimum over the diagonal and the edges, **not** the smallest
    positive entry: a zero weight on an edge or the diagonal gives :math:`\eta = 0` (the
    assumption fails), where the smallest positive entry would hide it. ``A`` is not validated
    here (see :func:`check_consensus_matrix`).

    Returns
    -------
    float

    Examples
    --------
    >>> import networkx as nx
    >>> round(consensus_eta(metropolis_hastings_weights(nx.path_graph(3)), nx.path_graph(3)), 12)
    0.333333333333
    """
    n = check_graph(graph)
    A = _check_square(A, n)
    e = _edges(graph)
    vals = np.concatenate([np.diag(A), A[e[:, 0], e[:, 1]], A[e[:, 1], e[:, 0]]])
    return float(vals.min())


def consensus_sigma2(A):
    r""":math:`\sigma_2(A) = \|A - \mathbb 1\mathbb 1^\top/N\|_2`, the largest singular value of :math:`A - J`.

    For doubly stochastic A this is the second largest singular value of A (A and J share the
    singular pair :math:`(1, \mathbb 1/\sqrt N)`; :math:`A - J` replaces that 1 by 0), and it bounds
    every round: :math:`\|A^t - J\|_2 = \|(A - J)^t\|_2 \le \sigma_2^t`. We read the notation
    ":math:`\sigma_2(A - \frac1N\mathbb 1\mathbb 1^\top)`" in this sense (the top singular value of
    :math:`A - J`; its literal second one would not bound the consensus error). ``1 - sigma2`` is
    the spectral gap. 0 for N = 1.
    """
    A = _check_square(A)
    n = A.shape[0]
    return float(np.linalg.norm(A - 1.0 / n, ord=2))


def consensus_spectral_radius(A):
    r"""Spectral radius of :math:`A - J`: for doubly stochastic A, the largest eigenvalue modulus other than the eigenvalue 1.

    For symmetric A it equals :func:`consensus_sigma2` (:math:`\max(|\lambda_2|, |\lambda_N|)`);
    in general it is :math:`\le \sigma_2` and is the asymptotic per-round rate
    (:math:`\|A^t - J\|^{1/t} \to` it), not a bound at every t.
    """
    A = _check_square(A)
    C = A - 1.0 / A.shape[0]
    if np.array_equal(A, A.T):
        return float(np.abs(np.linalg.eigvalsh(C)).max())
    return float(np.abs(np.linalg.eigvals(C)).max())


def consensus_rate_bound(eta, n, t, constant=False):
    r"""zhang2025's gossip bound :math:`(1 - \eta^{N-1})^t` (proof of Thm 5.10, (26) step (d), (27)).

    With ``constant=True`` the per-row bound of (26) step (d) (from Nedić & Ozdaglar 2009),
    :math:`\|A^t_{i,:} - \mathbb 1^\top/N\| \le 2\sqrt N\,(1 + \eta^{1-N})\,(1 - \eta^{N-1})^t`
    (the square root of the printed :math:`4N(1 + \eta^{1-N})^2(1 - \eta^{N-1})^{2t}`).

    Parameters
    ----------
    eta : float
        In (0, 1].
    n : int
        Number of agents N.
    t : int or array_like of int
        Gossip rounds.

    Examples
    --------
    >>> consensus_rate_bound(0.5, 3, 2)
    0.5625
    """
    eta = float(eta)
    if not (0.0 < eta <= 1.0):
        raise ValueError(f"`eta` must be in (0, 1], got {fmt_number(eta)}")
    if isinstance(n, bool) or int(n) != n or n < 1:
        raise ValueError(f"`n` must be a positive int, got {fmt_number(n)}")
    t = np.asarray(t)
    if t.dtype.kind not in "iu" or np.any(t < 0):
        raise ValueError(f"`t` must be non-negative integers, got {t!r}")
    base = (1.0 - eta ** (n - 1)) ** t
    out = 2.0 * math.sqrt(n) * (1.0 + eta ** (1 - n)) * base if constant else base
    return float(out) if out.ndim == 0 else out


@dataclass(frozen=True)
class ConsensusMeasures:
    """What :func:`measure_consensus` measures on a consensus matrix.

    Attributes
    ----------
    n : int
        Number of agents.
    eta : float
        :func:`consensus_eta` (Assumption 5.1's weight bound; 0 if it fails).
    sigma2 : float
        :func:`consensus_sigma2`, :math:`\\|A - J\\|_2`.
    spectral_radius : float
        :func:`consensus_spectral_radius`.
    spectral_gap : float
        ``1 - sigma2``.
    paper_rate : float
        :math:`1 - \\eta^{N-1}` (nan if eta = 0).
    symmetric : bool
        ``A == A.T`` exactly.
    max_row_error, max_column_error : float
        :math:`\\max_i |\\sum_j A_{ij} - 1|` and the same for columns.
    """

    n: int
    eta: float
    sigma2: float
    spectral_radius: float
    spectral_gap: float
    paper_rate: float
    symmetric: bool
    max_row_error: float
    max_column_error: float


def measure_consensus(A, graph):
    """Validate ``A`` (:func:`check_consensus_matrix` with ``require_eta=False``) and measure it.

    Returns
    -------
    ConsensusMeasures

    Examples
    --------
    >>> import networkx as nx
    >>> g = nx.cycle_graph(6)
    >>> m = measure_consensus(metropolis_hastings_weights(g), g)
    >>> round(m.eta, 4), round(m.sigma2, 4), round(m.paper_rate, 4), m.symmetric
    (0.3333, 0.6667, 0.9959, True)
    """
    A = check_consensus_matrix(A, graph, require_eta=False)
    n = A.shape[0]
    eta = consensus_eta(A, graph)
    s2 = consensus_sigma2(A)
    return ConsensusMeasures(
        n=n, eta=eta, sigma2=s2, spectral_radius=consensus_spectral_radius(A), spectral_gap=1.0 - s2,
        paper_rate=(1.0 - eta ** (n - 1)) if eta > 0 else float("nan"), symmetric=bool(np.array_equal(A, A.T)),
        max_row_error=float(np.abs(A.sum(axis=1) - 1).max()), max_column_error=float(np.abs(A.sum(axis=0) - 1).max()),
    )
