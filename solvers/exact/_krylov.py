r"""The matrix-free backend (``backend="matrix-free"``): contractions of local factors and Krylov solves.

No :math:`|S|\times|S|` object is ever built. What replaces the matrix:

Products
    For a :class:`~._model.NetworkedOperator` the kernel is a tensor network of local factors.
    ``transition_form="local"``: :math:`P_\pi(s'|s) = \prod_i F_i(s_{U_i}, s'_i)` with
    :math:`F_i = \sum_{a_i}\zeta_i(a_i|s_{O_i})P_i(s'_i|s_{N_i}, a_i)` and :math:`U_i = N_i\cup O_i`;
    ``"neighbourhood"``: the factors :math:`P_i(s'_i|s_{N_i}, a_{N_i})` and :math:`\zeta_j` share the
    action labels (each :math:`\zeta_j` is folded into the first :math:`P_i` that reads
    :math:`a_j`). :class:`FactorNetwork` contracts a vector (or a block of columns) with the
    factors one agent at a time, in agent order, summing every label as soon as no later factor
    needs it. For an ordering of bandwidth :math:`w` (a line: 1) every intermediate has at most
    :math:`|S| \cdot \max_i|S_i|^{w}` entries (times :math:`|A|^{w}` in the neighbourhood form), so a
    product costs :math:`O(n |S| \cdot \text{local size})`. Any other :class:`~._operator.PolicyOperator`
    (a :class:`~._model.TabularOperator`, a :class:`~._operator.RestartOperator`) uses its own
    ``matvec`` / ``rmatvec``.

Systems (GMRES of :func:`scipy.sparse.linalg.gmres`, relative tolerance :data:`KRYLOV_RTOL`)
    * stationary distribution: :math:`(I - P_\pi^\top + u\mathbf 1^\top)d = u` with
      :math:`u = \mathbf 1/|S|`. The matrix is non-singular for every unichain :math:`P_\pi`
      (if :math:`Bx = 0` then :math:`\mathbf 1^\top x = 0` by summing, so :math:`x^\top P = x^\top`,
      so :math:`x \propto d` with zero sum: :math:`x = 0`), its solution sums to one, and it is
      the deflation of the eigenvalue 1 of :math:`P^\top` — the remaining spectrum is
      :math:`1 - \lambda_k` of :math:`I - P^\top`, as well conditioned as the chain mixes.
    * Poisson equations: :math:`(I - P_\pi + \mathbf 1 d^\top)h_i = r_i - J_i\mathbf 1` with
      :math:`J_i = d^\top r_i`, one GMRES per agent. Non-singular for a unichain by the same
      argument; multiplying by :math:`d^\top` shows :math:`d^\top h_i = 0`, so :math:`h_i` is the
      bias of :mod:`._markov` directly (the Cesàro-limit bias on a periodic chain).
    * discounted: :math:`(I - \gamma P_\pi)V_i = r_i` and :math:`(I - \gamma P_\pi^\top)\lambda = \mu_0`.

    No preconditioner: on the instance families of the package the chains mix in a few steps and
    GMRES reaches the tolerance in about 20 iterations; the diagonal of :math:`I - P_\pi` is nearly
    constant, so Jacobi would not pay. Every solve is certified exactly as on the direct backends
    (same residual names, same :data:`~._backends.RESIDUAL_TOL`, same
    :class:`~._errors.SolverAccuracyError`).

Unichain certificate
    :func:`~._markov.chain_structure` needs the support graph. The matrix-free backend first
    checks the factor supports: when every local factor is strictly positive, :math:`P_\pi > 0`,
    so the chain is irreducible and aperiodic (one pass over the local tables). Otherwise the
    support graph is built (:meth:`~._operator.PolicyOperator.support`) when its estimated
    nonzeros fit the memory budget, and :func:`~._markov.chain_structure` runs on it as on the
    other backends; when it does not fit, the evaluation is refused with
    :class:`~netmarl_verify.envs.MemoryBudgetError` (the multiple-recurrent-classes guard is never
    skipped: on a reducible chain the deflated system is singular but consistent, and a residual
    would not notice).

Q at pairs
    A kernel row at a fixed pair :math:`(s, a)` of a networked model is a Kronecker product of
    local rows; :func:`pair_values` contracts the value table with it in slabs (one GEMM per
    slab), never forming the :math:`m \times |S|` rows.
"""

import math

import numpy as np
import scipy.sparse.linalg as spla

from netmarl_verify.envs._memory import check_memory

from ._backends import certify_residual, relative_residual
from ._errors import SolverAccuracyError
from ._model import NetworkedOperator

__all__ = ["FactorNetwork", "KrylovAverageReward", "KrylovDiscounted", "KRYLOV_RTOL", "KRYLOV_RESTART"]

#: Relative (2-norm) tolerance of every GMRES solve.
KRYLOV_RTOL = 1e-13

#: GMRES restart length.
KRYLOV_RESTART = 40

#: Most GMRES restart cycles.
KRYLOV_MAXITER = 50


# ---------------------------------------------------------------------------------------------- contraction
class FactorNetwork:
    r"""The kernel of a :class:`~._model.NetworkedOperator` as a list of labelled local factors.

    Labels: ``("c", j)`` current state of agent ``j``, ``("n", j)`` next state, ``("a", j)``
    action, ``("col",)`` a column axis of a block of vectors.
    """

    def __init__(self, op):
        self.op = op
        mdp = op.mdp
        self.n = n = mdp.n
        self.S = tuple(mdp.state_sizes)
        self.A = tuple(mdp.action_sizes)
        self.local = mdp.transition_form == "local"
        self._plans = {}
        self._factors = {}
        self.cur = tuple(("c", j) for j in range(n))
        self.nxt = tuple(("n", j) for j in range(n))

    # -------------------------------------------------------------- the factors
    def _zeta(self, j):
        obs = tuple(self.op.observed[j])
        table = self.op.zeta[j].reshape(tuple(self.S[k] for k in obs) + (self.A[j],))
        return table, tuple(("c", k) for k in obs) + (("a", j),)

    def factors(self, free=None):
        """Factors in agent order; ``free``: an agent whose action stays a free label (no :math:`\\zeta`)."""
        key = free
        if key in self._factors:
            return self._factors[key]
        mdp, out = self.op.mdp, []
        if self.local:
            for i in range(self.n):
                Ni = tuple(mdp.neighbourhoods[i])
                P = mdp.transitions[i]
                pl = tuple(("c", k) for k in Ni) + (("a", i), ("n", i))
                if i == free:
                    out.append((np.ascontiguousarray(P), pl))
                    continue
                z, zl = self._zeta(i)
                out.append(_pair(P, pl, z, zl, keep_extra=False))
        else:
            folded = set() if free is None else {free}
            for i in range(self.n):
                Ni = tuple(mdp.neighbourhoods[i])
                F = np.ascontiguousarray(mdp.transitions[i])
                fl = tuple(("c", k) for k in Ni) + tuple(("a", k) for k in Ni) + (("n", i),)
                for j in Ni:
                    if j not in folded:
                        folded.add(j)
                        z, zl = self._zeta(j)
                        F, fl = _pair(F, fl, z, zl, keep_extra=True)
                out.append((F, fl))
        self._factors[key] = out
        return out

    def positive(self):
        """True when every factor is strictly positive (then :math:`P_\\pi > 0` entrywise)."""
        if self.local:
            return all(bool((F > 0).all()) for F, _ in self.factors())
        # neighbourhood form: every P_i > 0 for every action combination suffices
        return all(bool((T > 0).all()) for T in self.op.mdp.transitions)

    # -------------------------------------------------------------- plans
    def _dim(self, label):
        kind = label[0]
        if kind in ("c", "n"):
            return self.S[label[1]]
        if kind == "a":
            return self.A[label[1]]
        raise KeyError(label)

    def plan(self, xlabels, out, free=None):
        """Label bookkeeping of one contraction: per factor the labels before, summed, after."""
        key = (xlabels, out, free)
        p = self._plans.get(key)
        if p is not None:
            return p
        facs = self.factors(free)
        out_set = set(out)
        later = [set() for _ in range(len(facs) + 1)]
        for k in range(len(facs) - 1, -1, -1):
            later[k] = later[k + 1] | set(facs[k][1])
        tl = tuple(xlabels)
        pre = tuple(l for l in tl if l not in later[0] and l not in out_set)  # summed before any factor
        tl = tuple(l for l in tl if l not in pre)
        steps = []
        biggest = 1
        for k, (_F, fl) in enumerate(facs):
            alive = later[k + 1] | out_set
            kept = [l for l in tl if l in alive]
            new = [l for l in fl if l not in tl and l in alive]
            # keep the column axis last (contiguous inner loop of the contraction)
            res = [l for l in kept + new if l != ("col",)] + ([("col",)] if ("col",) in kept else [])
            universe = sorted(set(tl) | set(fl), key=repr)
            idx = {l: q for q, l in enumerate(universe)}
            steps.append(([idx[l] for l in tl], [idx[l] for l in fl], [idx[l] for l in res]))
            tl = tuple(res)
            biggest = max(biggest, math.prod(self._dim(l) for l in tl if l != ("col",)))
        p = self._plans[key] = (pre, steps, tl, biggest)
        return p

    def intermediate_entries(self):
        """Largest intermediate (entries per column) of a product with :math:`P_\\pi` or :math:`P_\\pi^\\top`."""
        a = self.plan(self.nxt, self.cur)[3]
        b = self.plan(self.cur, self.nxt)[3]
        return max(a, b, self.op.n_states)

    def contract(self, X, xlabels, out, free=None):
        """Contract ``X`` (axes ``xlabels``, optional trailing column axis) with the factors."""
        X = np.asarray(X, dtype=np.float64)
        ncol = X.shape[1] if X.ndim == 2 else None
        xl = tuple(xlabels) + ((("col",),) if ncol is not None else ())
        outl = tuple(out) + ((("col",),) if ncol is not None else ())
        pre, steps, final, _ = self.plan(xl, outl, free)
        T = X.reshape(tuple(self._dim(l) for l in xlabels) + ((ncol,) if ncol is not None else ()))
        if pre:
            T = T.sum(axis=tuple(xl.index(l) for l in pre))
        for (F, _fl), (ti, fi, ri) in zip(self.factors(free), steps):
            T = np.einsum(T, ti, F, fi, ri)
        # final axes -> the requested order (a missing label broadcasts: no factor reads it)
        for l in outl:
            if l not in final:
                T = T[..., None]
                final = final + (l,)
        T = np.transpose(T, [final.index(l) for l in outl])
        shape = tuple(self._dim(l) if l != ("col",) else ncol for l in outl)
        return np.ascontiguousarray(np.broadcast_to(T, shape))

    def matvec(self, v):
        r""":math:`P_\pi v`, ``v`` (|S|,) or (|S|, m)."""
        v = np.asarray(v, dtype=np.float64)
        out = self.contract(v, self.nxt, self.cur)
        return out.reshape(v.shape)

    def rmatvec(self, d):
        r""":math:`P_\pi^\top d` (i.e. :math:`d^\top P_\pi`), ``d`` (|S|,) or (|S|, m)."""
        d = np.asarray(d, dtype=np.float64)
        out = self.contract(d, self.cur, self.nxt)
        return out.reshape(d.shape)

    def next_values(self, agent, v):
        r""":math:`E_{a_{-i}\sim\zeta}\sum_{s'}P(s'|s, (b, a_{-i}))v(s')` for agent ``i``, shape (|S|, A_i)."""
        out = self.contract(np.asarray(v, dtype=np.float64), self.nxt, self.cur + (("a", agent),), free=agent)
        return out.reshape(self.op.n_states, self.A[agent])


def _pair(P, pl, z, zl, keep_extra):
    """Contract a kernel factor ``P`` (labels ``pl``) with a policy table ``z`` (labels ``zl``).

    The action label of ``z`` is summed unless ``keep_extra`` (neighbourhood form: other kernels read
    it, so it is kept; ``z`` is then only multiplied in).
    """
    labels_ = list(dict.fromkeys(pl + zl))
    act = zl[-1]
    out = [l for l in labels_ if keep_extra or l != act]
    idx = {l: q for q, l in enumerate(labels_)}
    F = np.einsum(P, [idx[l] for l in pl], z, [idx[l] for l in zl], [idx[l] for l in out])
    return np.ascontiguousarray(F), tuple(out)


# ---------------------------------------------------------------------------------------------- products
class Products:
    r"""Products with :math:`P_\pi` and :math:`P_\pi^\top` for any operator (factor network when networked)."""

    def __init__(self, op):
        self.op = op
        self.N = op.n_states
        self.net = FactorNetwork(op) if isinstance(op, NetworkedOperator) else None
        self.n_products = 0

    def matvec(self, v):
        self.n_products += 1
        return self.net.matvec(v) if self.net is not None else np.asarray(self.op.matvec(v), dtype=np.float64)

    def rmatvec(self, d):
        self.n_products += 1
        return self.net.rmatvec(d) if self.net is not None else np.asarray(self.op.rmatvec(d), dtype=np.float64)

    def linear_operator(self):
        """:math:`P_\\pi` as a :class:`scipy.sparse.linalg.LinearOperator` (what ``ev.P`` holds)."""
        return spla.LinearOperator((self.N, self.N), matvec=self.matvec, rmatvec=self.rmatvec,
                                   matmat=self.matvec, rmatmat=self.rmatvec, dtype=np.float64)

    def working_bytes(self, n_columns):
        """Bytes of the vectors a solve holds (GMRES basis, value table, contraction intermediates)."""
        inter = self.net.intermediate_entries() if self.net is not None else self.N
        return 8.0 * (self.N * (KRYLOV_RESTART + 8 + 2 * n_columns) + 3 * inter)

    def positive(self):
        return self.net is not None and self.net.positive()


def _blas_single_thread():
    """Level-1 BLAS in GMRES is memory bound: one thread avoids oversubscription on shared cores."""
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:  # pragma: no cover
        import contextlib

        return contextlib.nullcontext()
    return threadpool_limits(limits=1, user_api="blas")


def _gmres(matvec, b, x0, name):
    with _blas_single_thread():
        return _gmres_raw(matvec, b, x0, name)


def _gmres_raw(matvec, b, x0, name):
    N = b.shape[0]
    A = spla.LinearOperator((N, N), matvec=matvec, dtype=np.float64)
    if not np.any(b):
        return np.zeros(N)
    x, info = spla.gmres(A, b, x0=x0, rtol=KRYLOV_RTOL, atol=0.0, restart=KRYLOV_RESTART, maxiter=KRYLOV_MAXITER)
    if info < 0:  # pragma: no cover - illegal input
        raise SolverAccuracyError(f"{name}: GMRES breakdown (info={info})")
    return x  # info > 0 (not converged to rtol) is judged by the residual certificate


class KrylovAverageReward:
    """Stationary distribution and biases by GMRES on the deflated systems (module docstring)."""

    def __init__(self, products):
        self.prod = products
        self.N = products.N
        self.P = products.linear_operator()
        self.d = None

    def stationary(self, residuals):
        N = self.N
        u = np.full(N, 1.0 / N)
        pt = self.prod.rmatvec
        d = _gmres(lambda x: x - pt(x) + u * x.sum(), u, u, "stationary")
        certify_residual("stationary: |d P - d|_inf", relative_residual(pt(d) - d, d), residuals)
        if d.min() < -1e-12:
            raise SolverAccuracyError(f"stationary distribution has a negative entry {d.min():.3e}")
        d = np.clip(d, 0.0, None)
        self.d = d / d.sum()
        return self.d

    def bias(self, r, d, residuals):
        """Biases ``h`` (N, m) with ``d^T h = 0`` and gains ``J`` (m,) for reward columns ``r``."""
        N, m = r.shape
        J = d @ r
        h = np.empty((N, m))
        pv = self.prod.matvec
        worst = 0.0
        for c in range(m):
            rhs = r[:, c] - J[c]
            x = _gmres(lambda x: x - pv(x) + d @ x, rhs, None, "poisson")
            x -= d @ x  # exact zero stationary mean (the solve gives it to the tolerance)
            h[:, c] = x
            worst = max(worst, relative_residual(x - pv(x) - rhs, r[:, c]) if N else 0.0)
        # certificate: (I - P) h = r - J, relative to the reward scale (per column, the worst kept)
        certify_residual("poisson: |(I-P)h - (r-J)|_inf", worst, residuals)
        return J, h


class KrylovDiscounted:
    """Discounted values and visitations by GMRES on :math:`I - \\gamma P_\\pi` and its transpose."""

    def __init__(self, products, gamma):
        self.prod = products
        self.gamma = gamma
        self.P = products.linear_operator()

    def values(self, r, residuals):
        g, pv = self.gamma, self.prod.matvec
        V = np.empty_like(r)
        worst = 0.0
        for c in range(r.shape[1]):
            x = _gmres(lambda x: x - g * pv(x), r[:, c], r[:, c], "discounted")
            V[:, c] = x
            worst = max(worst, relative_residual(x - g * pv(x) - r[:, c], r[:, c]))
        certify_residual("discounted: |(I - gamma P)V - r|_inf", worst, residuals)
        return V

    def visitation(self, mu0, residuals):
        g, pt = self.gamma, self.prod.rmatvec
        lam = _gmres(lambda x: x - g * pt(x), mu0, mu0, "visitation")
        certify_residual("visitation: |(I - gamma P^T) lam - mu0|_inf",
                         relative_residual(lam - g * pt(lam) - mu0, mu0), residuals)
        return lam


# ---------------------------------------------------------------------------------------------- Q, marginals
def _pair_factors(op, states, actions):
    """Per agent, the local next-state rows :math:`P_j(\\cdot|s_{N_j}, a)` at pairs, (m, S_j)."""
    mdp = op.mdp
    out = []
    m = states.shape[0]
    for j in range(mdp.n):
        T = op.gather(j, states)  # (m, A_j, S_j) or (m, A_{N_j}..., S_j)
        acts = (actions[:, j],) if mdp.transition_form == "local" else tuple(actions[:, k] for k in mdp.neighbourhoods[j])
        out.append(T[(np.arange(m),) + acts])
    return out


def pair_values(op, states, actions, values):
    r""":math:`\sum_{s'}P(s'|s, a)\,\text{values}(s', :)` at validated pairs, shape (m, k).

    Networked: the Kronecker row is split into a prefix (leading agents) and a trailing block;
    one GEMM per prefix index against the value slab. Otherwise: the operator's rows in chunks.
    """
    from ._model import _chunks

    values = np.asarray(values, dtype=np.float64)
    m, k = states.shape[0], values.shape[1]
    N = op.n_states
    out = np.empty((m, k))
    if not isinstance(op, NetworkedOperator):
        for a, b in _chunks(m, 8.0 * N * 2):
            out[a:b] = op.pair_rows(states[a:b], actions[a:b]) @ values
        return out
    S = op.mdp.state_sizes
    n = len(S)
    # trailing block: as many trailing agents as keep a (pairs x trailing) batch near 32 MiB
    split, t = n, 1
    while split > 0 and t * S[split - 1] * min(m, 256) * 8 <= 32 * 2**20:
        split -= 1
        t *= S[split]
    P_pre = N // t
    H = values.reshape(P_pre, t, k)
    for a, b in _chunks(m, 8.0 * max(t, P_pre)):
        f = _pair_factors(op, states[a:b], actions[a:b])
        B = b - a
        K = np.ones((B, 1))
        for j in range(split, n):
            K = (K[:, :, None] * f[j][:, None, :]).reshape(B, -1)
        pre = np.ones((B, 1))
        for j in range(split):
            pre = (pre[:, :, None] * f[j][:, None, :]).reshape(B, -1)
        acc = np.zeros((B, k))
        for p in range(P_pre):
            acc += pre[:, p, None] * (K @ H[p])
        out[a:b] = acc
    return out


def marginal(op, products, values, scale, offset):
    r"""Agent-marginal Q of the global reward (as :meth:`~._operator.PolicyOperator.marginal`), matrix-free.

    Networked: the next-state part is one contraction per agent with that agent's action left free
    (:meth:`FactorNetwork.next_values`); the reward part changes only the rewards that read
    :math:`a_i`. Other operators: their own ``marginal``.
    """
    if products.net is None:
        return op.marginal(values, scale, offset)
    mdp = op.mdp
    nS, n = op.n_states, mdp.n
    values = np.asarray(values, dtype=np.float64).reshape(nS)
    rpi = op.policy_rewards()  # (|S|, n)
    total = rpi.sum(axis=1)
    S = tuple(mdp.state_sizes)
    states = w = None
    if mdp.reward_form != "local":
        states = mdp.state_tuples()
        w = op.policy_weights(states)
    out = []
    for i in range(n):
        Qi = scale * products.net.next_values(i, values)
        readers = [i] if mdp.reward_form == "local" else [k for k in range(n) if i in mdp.neighbourhoods[k]]
        base = total - rpi[:, readers].sum(axis=1)
        for bidx in range(mdp.action_sizes[i]):
            if mdp.reward_form == "local":  # r_i(s_i, b): broadcast over the other agents' states
                shape = tuple(S[j] if j == i else 1 for j in range(n))
                er = np.broadcast_to(mdp.rewards[i][:, bidx].reshape(shape), S).reshape(nS)
            else:
                wi = list(w)
                e = np.zeros_like(w[i])
                e[:, bidx] = 1.0
                wi[i] = e
                er = sum(_reader_reward(op, k, states, wi) for k in readers)
            Qi[:, bidx] += (base + er) / n + offset
        out.append(Qi)
    return out


def _reader_reward(op, k, states, weights):
    """Agent ``k``'s expected reward (neighbourhood reward form) under per-agent weights, (|S|,)."""
    mdp = op.mdp
    Nk = mdp.neighbourhoods[k]
    R = mdp.rewards[k][tuple(states[:, j] for j in Nk)]
    for j in reversed(Nk):
        R = np.einsum("b...a,ba->b...", R, weights[j])
    return R


def check_working_memory(products, n_columns, max_bytes=None):
    """Memory estimate of a matrix-free evaluation, checked before anything is allocated."""
    check_memory(products.working_bytes(n_columns),
                 f"the matrix-free solves ({products.N} global states: GMRES basis of {KRYLOV_RESTART} vectors, "
                 f"{n_columns} value columns, contraction intermediates)", max_bytes=max_bytes)


def certified_structure(op, products):
    """The chain structure without :math:`P_\\pi` (module docstring, "Unichain certificate")."""
    from ._markov import ChainStructure, chain_structure

    N = op.n_states
    if products.positive():
        everything = np.arange(N)
        return ChainStructure(1, everything, 1, 0, [everything])
    nnz = op.estimate_nnz()
    check_memory(8.0 * 4 * nnz + 8.0 * 4 * N,
                 f"the support graph of P_pi ({nnz} nonzeros), needed to certify a single recurrent class "
                 "(the local factors are not all positive)",
                 hint="the matrix-free backend certifies unichain from strictly positive local factors or from "
                      "the support graph; neither is available here")
    support = op.support()
    if support is None:  # pragma: no cover - every operator of the package has a support
        raise SolverAccuracyError("cannot certify a single recurrent class: the operator has no support graph")
    return chain_structure(support)
