r"""ying2023 Assumption 1: the influence matrix :math:`M` (eq. (11)), the frontier :math:`\beta^*(\rho)` (eq. (12)) and Lemma 2's bound.

Influence matrix (ying2023 eq. (11)). With TV the total-variation distance
:math:`\mathrm{TV}(p, q) = \sup_E|p(E) - q(E)| = \frac12\|p - q\|_1` (ying2023 §1.1),

.. math:: M_{ij} = \sup_{s_j,a_j,s_j',a_j',s_{-j},a_{-j}}
          \mathrm{TV}\big(P_i(\cdot|s_j,s_{-j},a_j,a_{-j}),\ P_i(\cdot|s_j',s_{-j},a_j',a_{-j})\big):

agent :math:`j`'s state **and** action change jointly, everything else fixed; the diagonal
:math:`M_{ii}` is included. Assumption 1 (eq. (12)) asks for :math:`\beta \ge 0` with
:math:`\max_i\sum_j e^{\beta d(i,j)}M_{ij} \le \rho < 1/\gamma`. The pair :math:`(\beta, \rho)` is
not fixed: every admissible :math:`\rho \in [\max_i\sum_jM_{ij}, 1/\gamma)` with
:math:`\beta \le \beta^*(\rho) = \sup\{\beta\ge0 : \max_i\sum_je^{\beta d(i,j)}M_{ij}\le\rho\}`
gives a valid Lemma 2, with :math:`(c_0, \phi_0) = (2\gamma\rho M_f/(1-\gamma\rho), e^{-\beta})`
(guide §2, §3.2), so :func:`lemma2_bound` reports the infimum over :math:`\rho` of
:math:`c_0(\rho)e^{-\beta^*(\rho)\kappa}`.

Not qu2020's interaction matrix. qu2020 Theorem 1's :math:`C_{ij}`
(:func:`~._interaction.interaction_matrix`) perturbs the **state** :math:`s_j` of a neighbour only
(in qu2020's model :math:`P_i(s_i'|s_{N_i}, a_i)` does not read :math:`a_j`), with the joint
:math:`(s_i, a_i)` only on the diagonal; :math:`M_{ij}` perturbs :math:`(s_j, a_j)` jointly for
every :math:`j`. On a :class:`~netmarl_verify.envs.NetworkedMDP` the two numbers coincide — in the
local form :math:`a_j` (:math:`j\ne i`) does not enter :math:`P_i`, and for the neighbourhood form
:func:`~._interaction.interaction_matrix` already takes Lemma 3's joint :math:`C^z_{ij}` — but they
are different definitions, and :func:`influence_matrix` is computed independently of it.
"""

import math
from dataclasses import dataclass, field

import numpy as np

from netmarl_verify.envs._errors import NetmarlError
from netmarl_verify.envs._memory import check_memory
from netmarl_verify.envs._validation import NonFiniteError, ShapeError, as_float_array

__all__ = [
    "AssumptionError",
    "influence_matrix",
    "beta_frontier",
    "assumption1",
    "Assumption1",
    "lemma2_bound",
    "Lemma2Bound",
]


class AssumptionError(NetmarlError, ValueError):
    """A paper's assumption fails on the instance, or a parameter is outside the range it admits.

    Raised by :func:`beta_frontier` for a :math:`\\rho` outside :math:`[\\max_i\\sum_jM_{ij}, 1/\\gamma)`
    and by :func:`lemma2_bound` when that range is empty (ying2023 Assumption 1 fails); the message
    names :math:`\\rho`, the largest row sum, the agent attaining it and :math:`1/\\gamma`. Use
    :func:`assumption1` to meter the assumption without raising.
    """


# ----------------------------------------------------------------------------- eq. (11)
def _pairwise_max_tv(T, lead, what, max_bytes):
    """max over pairs of the flattened ``lead`` axes of ½||T[x] - T[y]||_1, max over the other axes."""
    rest = [ax for ax in range(T.ndim - 1) if ax not in lead]
    X = np.transpose(T, list(lead) + rest + [T.ndim - 1])
    L = math.prod(T.shape[ax] for ax in lead)
    X = X.reshape(L, -1, T.shape[-1])
    check_memory(8.0 * L * L * X.shape[1] * X.shape[2] * 2, what, max_bytes=max_bytes,
                 hint="the pairwise array of one (i, j) pair is L x L x (rest) x S_i with L = S_j A_j")
    tv = 0.5 * np.abs(X[:, None] - X[None, :]).sum(axis=-1)  # (L, L, rest)
    return float(tv.max(initial=0.0))


def influence_matrix(mdp, *, max_bytes=None):
    r"""The influence matrix :math:`M` of ying2023 Assumption 1, eq. (11), TV = ½ℓ1.

    .. math:: M_{ij} = \sup_{(s_j,a_j),(s_j',a_j'),\,s_{-j},a_{-j}}
              \tfrac12\big\|P_i(\cdot|s_j,s_{-j},a_j,a_{-j}) - P_i(\cdot|s_j',s_{-j},a_j',a_{-j})\big\|_1 .

    For ``transition_form="local"``, ``transitions[i]`` has shape
    ``(S_{N_i}..., A_i, S_i)`` — :math:`P_i(s_i'|s_{N_i}, a_i)` — so an agent :math:`j \ne i` enters
    only through :math:`s_j` (the sup over :math:`a_j, a_j'` is trivial) while :math:`j = i` enters
    through :math:`(s_i, a_i)`; for ``"neighbourhood"`` (shape ``(S_{N_i}..., A_{N_i}..., S_i)``)
    every :math:`j \in N_i` enters through :math:`(s_j, a_j)`. :math:`M_{ij} = 0` for
    :math:`j \notin N_i` (``mdp.neighbourhoods[i]``, sorted, including :math:`i`). This is not
    qu2020's :math:`C_{ij}` (module docstring).

    Vectorised: the axes of :math:`(s_j, a_j)` move to the front and are flattened into
    :math:`L = S_jA_j` rows (:math:`S_j` in the local form for :math:`j\ne i`); the ½ℓ1 distance of
    every pair of rows is taken at once for every value of the other coordinates, then maximised.

    Parameters
    ----------
    mdp : NetworkedMDP
    max_bytes : int, optional
        Memory budget of one pairwise array (default :func:`~netmarl_verify.envs.memory_budget`).

    Returns
    -------
    ndarray, shape (n, n)
        Entries in [0, 1].

    Raises
    ------
    MemoryBudgetError
        When the pairwise array of some :math:`(i, j)` would not fit (nothing is allocated).

    References
    ----------
    ying2023 eq. (11); guide §2 and §4.

    Examples
    --------
    >>> import networkx as nx, numpy as np
    >>> from netmarl_verify.envs import NetworkedMDP
    >>> P0 = np.zeros((2, 2, 1, 2)); P0[:, 0, 0, 0] = 1; P0[:, 1, 0, 1] = 1  # s_0' = s_1
    >>> P1 = np.zeros((2, 2, 1, 2)); P1[:, 0, 0, 0] = 1; P1[:, 1, 0, 1] = 1  # s_1' = s_1
    >>> mdp = NetworkedMDP(nx.path_graph(2), [P0, P1], [np.zeros((2, 1))] * 2,
    ...                    transition_form="local", reward_form="local")
    >>> influence_matrix(mdp).tolist()
    [[0.0, 1.0], [0.0, 1.0]]
    """
    n = mdp.n
    M = np.zeros((n, n))
    for i in range(n):
        Ni = tuple(mdp.neighbourhoods[i])
        P = np.asarray(mdp.transitions[i])
        k = len(Ni)
        for q, j in enumerate(Ni):
            if mdp.transition_form == "local":
                lead = [q, k] if j == i else [q]  # axes: s_{N_i} (k), a_i, s_i'
            else:
                lead = [q, k + q]  # axes: s_{N_i} (k), a_{N_i} (k), s_i'
            M[i, j] = _pairwise_max_tv(P, lead, f"the pairwise TV array of P_{i} over (s_{j}, a_{j})", max_bytes)
    return M


# ----------------------------------------------------------------------------- eq. (12)
def _check_inputs(M, distances, gamma):
    M = as_float_array(M, "M")
    if M.ndim != 2 or M.shape[0] != M.shape[1]:
        raise ShapeError(f"M must be a square (n, n) matrix, got shape {M.shape}")
    if not np.isfinite(M).all():
        raise NonFiniteError("M has a non-finite entry")
    if (M < 0).any():
        idx = tuple(int(x) for x in np.argwhere(M < 0)[0])
        raise ValueError(f"M must be nonnegative (a matrix of TV distances), got M{idx} = {float(M[idx])!r}")
    D = as_float_array(distances, "distances")
    if D.shape != M.shape:
        raise ShapeError(f"distances must have the shape of M {M.shape}, got {D.shape}")
    if np.isnan(D).any():
        raise NonFiniteError("distances has a NaN entry")
    # AgentGraph.distances uses -1 for "disconnected": an infinite distance
    D = np.where(D < 0, np.inf, D)
    gamma = float(gamma)
    if not 0.0 <= gamma < 1.0:
        raise ValueError(f"gamma must be in [0, 1), got {gamma}")
    return M, D, gamma


def _rho_max(gamma):
    return math.inf if gamma == 0.0 else 1.0 / gamma


def _row_beta(c, m, d, rho):
    r"""sup{β ≥ 0 : c + Σ_k m_k e^{β d_k} ≤ ρ} for one row (m_k > 0, 0 < d_k ≤ ∞, c + Σm ≤ ρ)."""
    if m.size == 0:
        return math.inf
    if np.isinf(d).any():
        return 0.0  # an influence at infinite distance: any β > 0 makes the row sum infinite
    slack = rho - c
    total = float(m.sum())
    if slack <= total:
        return 0.0  # the row is tight at β = 0 (slack = total up to rounding)
    dist = np.unique(d)
    if dist.size == 1:  # closed form: e^{β d} Σ m = ρ - c
        return math.log(slack / total) / float(dist[0])
    from scipy.optimize import brentq

    # g(β) = Σ m e^{β d} - slack is increasing and convex, g(0) < 0; each single term bounds the
    # root from above (m_k e^{β d_k} ≤ slack), the smallest such bound brackets it.
    hi = float(np.min(np.log(slack / m) / d))

    def g(beta):
        return float((m * np.exp(beta * d)).sum()) - slack

    if g(hi) <= 0.0:  # rounding: the bracket end is itself feasible
        return hi
    # xtol/rtol at the floor brentq allows: the root to a few ulps (a one-dimensional bracket
    # costs ~60 halvings at most, nothing compared with computing M).
    return float(brentq(g, 0.0, hi, xtol=1e-300, rtol=4.0 * np.finfo(float).eps, maxiter=500))


def _frontier_rows(M, D):
    """Per row: the constant part c_i (d = 0 terms) and the (m, d) of the growing terms."""
    rows = []
    for i in range(M.shape[0]):
        zero = (D[i] == 0) | (M[i] == 0)
        c = float(M[i][D[i] == 0].sum())
        grow = ~zero
        rows.append((c, M[i][grow], D[i][grow]))
    return rows


def _admissibility_message(rho, sums, gamma):
    culprit = int(np.argmax(sums))
    return (f"rho = {rho!r} is not admissible for ying2023 Assumption 1: it must lie in "
            f"[max_i sum_j M_ij, 1/gamma) = [{float(sums[culprit])!r}, {_rho_max(gamma)!r}) "
            f"(the largest row sum is agent {culprit}'s; gamma = {gamma!r})")


def beta_frontier(M, distances, gamma, rho):
    r"""The frontier :math:`\beta^*(\rho) = \sup\{\beta \ge 0 : \max_i\sum_j e^{\beta d(i,j)}M_{ij} \le \rho\}` (ying2023 eq. (12)).

    Each row :math:`g_i(\beta) = \sum_j e^{\beta d(i,j)}M_{ij}` is continuous, nondecreasing and
    convex; its constant part is the diagonal (:math:`d(i,i) = 0`) and it grows only through entries
    :math:`M_{ij} > 0` at positive distance. So :math:`\beta^* = \min_i\beta_i` with
    :math:`\beta_i` the root of :math:`g_i(\beta) = \rho`: in **closed form**
    :math:`\beta_i = \log\big((\rho - M_{ii})/\sum_{j\ne i}M_{ij}\big)/d` when row :math:`i`'s
    growing entries share one distance :math:`d` (e.g. nearest-neighbour kernels), otherwise by
    Brent's method bracketed by :math:`[0, \min_j\log((\rho - M_{ii})/M_{ij})/d(i,j)]` to a few ulps
    (``rtol = 4 eps``, brentq's floor), so no tolerance is traded for speed. A row without growing
    entries imposes nothing: :math:`\beta^* = \infty` when no row has one (the influence is purely
    diagonal), kept as ``math.inf``, never capped. A positive entry at infinite distance (negative
    entries of ``distances``: disconnected, as in :attr:`~netmarl_verify.envs.NetworkedMDP.distances`)
    gives :math:`\beta^* = 0`.

    Parameters
    ----------
    M : array_like, shape (n, n)
        Influence matrix (:func:`influence_matrix`), nonnegative.
    distances : array_like, shape (n, n)
        :math:`d(i, j)` in the communication graph (``mdp.distances``; negative = disconnected).
    gamma : float in [0, 1)
    rho : float
        In :math:`[\max_i\sum_jM_{ij}, 1/\gamma)`.

    Returns
    -------
    float
        :math:`\beta^*(\rho) \in [0, \infty]`.

    Raises
    ------
    AssumptionError
        When ``rho`` is not admissible (naming ρ, the largest row sum and its agent, and 1/γ); in
        particular whenever :math:`\max_i\sum_jM_{ij} \ge 1/\gamma` (Assumption 1 fails: use
        :func:`assumption1` to report it).

    Examples
    --------
    >>> import numpy as np
    >>> M = np.array([[0.0, 1.0], [0.0, 1.0]])  # the two-agent copy chain
    >>> D = np.array([[0, 1], [1, 0]])
    >>> round(beta_frontier(M, D, 0.5, 1.5), 15) == round(float(np.log(1.5)), 15)
    True
    >>> beta_frontier(np.eye(2), D, 0.5, 1.0)
    inf
    """
    M, D, gamma = _check_inputs(M, distances, gamma)
    rho = float(rho)
    sums = M.sum(axis=1)
    if not (math.isfinite(rho) and float(sums.max()) <= rho < _rho_max(gamma)):
        raise AssumptionError(_admissibility_message(rho, sums, gamma))
    return min((_row_beta(c, m, d, rho) for c, m, d in _frontier_rows(M, D)), default=math.inf)


@dataclass(frozen=True, eq=False)
class Assumption1:
    r"""The meter of ying2023 Assumption 1 (result of :func:`assumption1`).

    Attributes
    ----------
    M, distances : ndarray, shape (n, n)
        The influence matrix and the distances (disconnected pairs as ``inf``).
    gamma : float
    row_sums : ndarray, shape (n,)
        :math:`\sum_jM_{ij}` (the :math:`\beta = 0` row sums).
    max_row_sum : float
        :math:`\max_i\sum_jM_{ij}`, the smallest admissible :math:`\rho`.
    culprit : int
        The agent attaining it.
    feasible : bool
        :math:`\max_i\sum_jM_{ij} < 1/\gamma`: the admissible range is non-empty.
    rho_range : tuple of float
        ``(max_row_sum, 1/gamma)``, the half-open range :math:`[\cdot, \cdot)` of admissible ρ
        (empty when not feasible).
    beta_unbounded : bool
        No positive entry at positive distance: :math:`\beta^* = \infty` for every admissible ρ.
    reason : str
        One line: feasible, or "not applicable" naming the culprit agent and its row sum.
    """

    M: np.ndarray = field(repr=False)
    distances: np.ndarray = field(repr=False)
    gamma: float
    row_sums: np.ndarray = field(repr=False)
    max_row_sum: float
    culprit: int
    feasible: bool
    rho_range: tuple
    beta_unbounded: bool
    reason: str

    def beta(self, rho):
        r""":math:`\beta^*(\rho)` (:func:`beta_frontier`)."""
        return beta_frontier(self.M, self.distances, self.gamma, rho)

    def grid(self, n_points=32):
        r"""``(rhos, betas)``: :math:`\beta^*` on ``n_points`` admissible ρ, never reaching :math:`1/\gamma`.

        The points are :math:`\rho_{\min} + (1/\gamma - \rho_{\min})(1 - 2^{-k\,t})`, dense towards
        :math:`1/\gamma` (where :math:`c_0` blows up) and reaching :math:`1 - 2^{-24}` of the way
        (:func:`_rho_grid`). Empty arrays when not feasible.
        """
        if not self.feasible:
            return np.empty(0), np.empty(0)
        rhos = _rho_grid(self.max_row_sum, self.gamma, n_points)
        return rhos, np.array([self.beta(r) for r in rhos])


def assumption1(M, distances, gamma):
    r"""Meter ying2023 Assumption 1 (eq. (12)) without raising: row sums, feasibility, ρ range, β*.

    Parameters
    ----------
    M : array_like, shape (n, n)
    distances : array_like, shape (n, n)
    gamma : float in [0, 1)

    Returns
    -------
    Assumption1

    Examples
    --------
    >>> import numpy as np
    >>> a = assumption1(np.array([[0.5, 0.75], [0.0, 1.0]]), np.array([[0, 1], [1, 0]]), 0.9)
    >>> a.feasible, a.culprit, a.max_row_sum
    (False, 0, 1.25)
    >>> a.reason
    "not applicable: agent 0's row sum sum_j M_0j = 1.25 >= 1/gamma = 1.1111111111111112 (Assumption 1, eq. (12))"
    """
    M, D, gamma = _check_inputs(M, distances, gamma)
    sums = M.sum(axis=1)
    culprit = int(np.argmax(sums))
    top = float(sums[culprit])
    feasible = top < _rho_max(gamma)
    unbounded = not bool(((M > 0) & (D > 0)).any())
    if feasible:
        reason = (f"feasible: max_i sum_j M_ij = {top!r} (agent {culprit}) < 1/gamma = {_rho_max(gamma)!r}; "
                  f"admissible rho in [{top!r}, {_rho_max(gamma)!r})")
    else:
        reason = (f"not applicable: agent {culprit}'s row sum sum_j M_{culprit}j = {top!r} >= 1/gamma = "
                  f"{_rho_max(gamma)!r} (Assumption 1, eq. (12))")
    M.setflags(write=False)
    D.setflags(write=False)
    return Assumption1(M=M, distances=D, gamma=gamma, row_sums=sums, max_row_sum=top, culprit=culprit,
                       feasible=bool(feasible), rho_range=(top, _rho_max(gamma)), beta_unbounded=unbounded,
                       reason=reason)


# ----------------------------------------------------------------------------- Lemma 2
def _rho_grid(rho_min, gamma, n_points):
    """Admissible ρ from ρ_min towards 1/γ, never reaching it (geometric in the distance to 1/γ)."""
    n_points = max(int(n_points), 2)
    top = 1.0 / gamma
    t = 1.0 - np.exp2(-24.0 * np.linspace(0.0, 1.0, n_points))  # 0 ... 1 - 2^-24
    rhos = rho_min + (top - rho_min) * t
    return np.minimum(rhos, np.nextafter(top, 0.0))


@dataclass(frozen=True)
class Lemma2Bound:
    r"""Result of :func:`lemma2_bound`: :math:`\inf_\rho c_0(\rho)e^{-\beta^*(\rho)\kappa}` and where it is attained.

    Attributes
    ----------
    value : float
        The bound (a value the bound takes at the admissible ``rho``, so always a valid bound; at
        most rounding above the true infimum, see :func:`lemma2_bound`).
    rho : float
        The arg-min ρ (admissible, strictly below :math:`1/\gamma`).
    beta : float
        :math:`\beta^*(\rho)` there (may be ``inf``).
    c0 : float
        :math:`2\gamma\rho M_f/(1-\gamma\rho)` there.
    phi0 : float
        :math:`e^{-\beta}`.
    kappa : int
    trivial : float
        The trivial bound :math:`2\gamma M_f/(1-\gamma)` on the shadow-Q difference (guide §6).
    vacuous : bool
        ``value >= trivial``.
    """

    value: float
    rho: float
    beta: float
    c0: float
    phi0: float
    kappa: int
    trivial: float
    vacuous: bool


def lemma2_bound(M, distances, gamma, M_f, kappa, n_grid=64):
    r"""ying2023 Lemma 2's bound :math:`\inf_\rho c_0(\rho)\,\phi_0^\kappa` with :math:`c_0 = \frac{2\gamma\rho M_f}{1-\gamma\rho}`, :math:`\phi_0 = e^{-\beta^*(\rho)}`.

    The infimum runs over the admissible :math:`\rho \in [\max_i\sum_jM_{ij}, 1/\gamma)` (guide §3.2).
    :math:`h(\rho) = c_0(\rho)e^{-\kappa\beta^*(\rho)}` is continuous there (:math:`\beta^*` is
    concave in ρ, as the inverse of convex increasing row sums, hence continuous on the interval's
    interior; :math:`c_0` is continuous below :math:`1/\gamma`) and :math:`h \to \infty` at
    :math:`1/\gamma`, but not necessarily unimodal (a product of an increasing and a decreasing
    convex function). It is minimised on ``n_grid`` points geometric in the distance to
    :math:`1/\gamma` (never reaching it: the last is :math:`1 - 2^{-24}` of the way), then refined by
    a bounded Brent search (:func:`scipy.optimize.minimize_scalar`, ``xatol`` a few ulps of ρ)
    between the best point's neighbours. Every candidate is an admissible ρ, so the returned value
    is a **valid** bound whatever the grid; it can only exceed the true infimum, by what a
    non-unimodal :math:`h` with a minimum between grid points could hide (for the copy chain,
    :math:`h = 2\gamma M_f\rho^{1-\kappa}/(1-\gamma\rho)`, the tests find the closed-form minimum to
    1e-12 relative).

    Special cases, exactly: :math:`\beta^* = \infty` (diagonal :math:`M`) and :math:`\kappa \ge 1`
    give 0 (at the smallest admissible ρ); :math:`\gamma = 0` or :math:`M_f = 0` give 0;
    :math:`M_f = \infty` (an unbounded shadow reward) gives ``inf``. ``kappa = 0`` is minimised at
    the smallest admissible ρ (h is then increasing).

    Parameters
    ----------
    M, distances : array_like, shape (n, n)
    gamma : float in [0, 1)
    M_f : float >= 0
        The shadow-reward bound (Lemma 2's premise).
    kappa : int >= 0
    n_grid : int

    Returns
    -------
    Lemma2Bound

    Raises
    ------
    AssumptionError
        When :math:`\max_i\sum_jM_{ij} \ge 1/\gamma` (no admissible ρ), naming the agent.

    Examples
    --------
    >>> import numpy as np
    >>> b = lemma2_bound(np.eye(3) * 0.5, np.ones((3, 3)) - np.eye(3), 0.9, 1.0, 2)
    >>> b.value, b.beta
    (0.0, inf)
    """
    from scipy.optimize import minimize_scalar

    a = assumption1(M, distances, gamma)
    gamma = a.gamma
    M_f = float(M_f)
    if not M_f >= 0:
        raise ValueError(f"M_f must be >= 0, got {M_f}")
    kappa = int(kappa)
    if kappa < 0:
        raise ValueError(f"kappa must be >= 0, got {kappa}")
    if not a.feasible:
        raise AssumptionError(f"Lemma 2 does not apply: {a.reason}")
    rho0 = a.max_row_sum
    trivial = 2.0 * gamma * M_f / (1.0 - gamma) if math.isfinite(M_f) else math.inf

    def c0(rho):
        return 0.0 if (gamma == 0.0 or M_f == 0.0) else 2.0 * gamma * rho * M_f / (1.0 - gamma * rho)

    def result(rho, beta, value):
        return Lemma2Bound(value=float(value), rho=float(rho), beta=float(beta), c0=float(c0(rho)),
                           phi0=math.exp(-beta) if math.isfinite(beta) else 0.0, kappa=kappa, trivial=trivial,
                           vacuous=bool(value >= trivial))

    beta0 = a.beta(rho0)
    if not math.isfinite(M_f):
        return result(rho0, beta0, math.inf)
    if gamma == 0.0 or M_f == 0.0:
        return result(rho0, beta0, 0.0)  # c0 = 0 at every admissible rho
    if math.isinf(beta0):  # purely diagonal influence: beta* = inf at every admissible rho
        return result(rho0, beta0, 0.0 if kappa >= 1 else c0(rho0))
    if kappa == 0:  # h = c0, increasing in rho
        return result(rho0, beta0, c0(rho0))

    def h(rho):
        return c0(rho) * math.exp(-kappa * a.beta(rho))

    rhos = _rho_grid(rho0, gamma, n_grid)
    vals = np.array([h(r) for r in rhos])
    k = int(np.argmin(vals))
    best_rho, best_val = float(rhos[k]), float(vals[k])
    lo, hi = float(rhos[max(k - 1, 0)]), float(rhos[min(k + 1, rhos.size - 1)])
    if hi > lo:
        res = minimize_scalar(h, bounds=(lo, hi), method="bounded",
                              options={"xatol": 8.0 * np.finfo(float).eps * max(1.0, hi)})
        if res.fun < best_val:
            best_rho, best_val = float(res.x), float(res.fun)
    return result(best_rho, a.beta(best_rho), best_val)
