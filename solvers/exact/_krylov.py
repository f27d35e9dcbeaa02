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

Products, fast path
    :class:`SegmentPlan` merges runs of consecutive agents into one small factor and applies each
    run as a batched matrix product on the vector's natural axis order (a line needs no
    transposition), on rows of a block of vectors (shape (m, |S|)). On the qu2020 line
    (|S_i| = 2) one product at :math:`2^{20}` states takes ~16 ms, at :math:`2^{22}` ~0.11 s
    (one BLAS thread), 5-10x faster than the agent-by-agent einsum it replaces, which remains
    the fallback when the labels do not allow a plan.

Systems (:func:`block_gmres`: GMRES for a block of right sides in lock step, relative tolerance :data:`KRYLOV_RTOL`)
    The right sides of one question (every agent's Poisson equation, every reward column of the
    discounted values) go through each operator product together, in groups bounded by
    :data:`KRYLOV_BATCH_ENTRIES` and by the memory budget (:func:`_column_groups`); each column
    keeps its own Krylov basis, so the answers are those of one GMRES per column. Restart
    :data:`KRYLOV_RESTART` up to :data:`KRYLOV_LARGE_STATES` states, :data:`KRYLOV_RESTART_LARGE`
    above (the Gram-Schmidt passes over a long basis cost more than the few extra iterations).
    * stationary distribution: :math:`(I - P_\pi^\top + u\mathbf 1^\top)d = u` with
      :math:`u = \mathbf 1/|S|`. The matrix is non-singular for every unichain :math:`P_\pi`
      (if :math:`Bx = 0` then :math:`\mathbf 1^\top x = 0` by summing, so :math:`x^\top P = x^\top`,
      so :math:`x \propto d` with zero sum: :math:`x = 0`), its solution sums to one, and it is
      the deflation of the eigenvalue 1 of :math:`P^\top` — the remaining spectrum is
      :math:`1 - \lambda_k` of :math:`I - P^\top`, as well conditioned as the chain mixes.
    * Poisson equations: :math:`(I - P_\pi + \mathbf 1 d^\top)h_i = r_i - J_i\mathbf 1` with
      :math:`J_i = d^\top r_i`, one GMRES per agent (batched). Non-singular for a unichain by the same
      argument; multiplying by :math:`d^\top` shows :math:`d^\top h_i = 0`, so :math:`h_i` is the
      bias of :mod:`._markov` directly (the Cesàro-limit bias on a periodic chain).
    * discounted: :math:`(I - \gamma P_\pi)V_i = r_i` and :math:`(I - \gamma P_\pi^\top)\lambda = \mu_0`.

    No preconditioner: on the instance families of the package the chains mix in a few steps and
    GMRES reaches the tolerance in about 20 iterations; the diagonal of :math:`I - P_\pi` is nearly
    constant, so Jacobi would not pay. (Measured on the qu2020 line at n = 12: GMRES needs 20
    products per Poisson equation, Richardson iteration on the same deflated system 41 (the second
    eigenvalue of :math:`P_\pi` is 0.48, the rest below 0.26), GMRES(5) 27, GMRES(10) 23.) Every solve is certified exactly as on the direct backends
    (same residual names, same :data:`~._backends.RESIDUAL_TOL`, same
    :class:`~._errors.SolverAccuracyError`), and records a forward-error estimate (below).

    The column groups of one question are independent solves and run in up to :func:`_workers`
    threads at once (the caller's BLAS thread limit, e.g. ``bench --threads 2``), each on one BLAS
    thread; so do the agents of :func:`marginal`. Each column's arithmetic does not depend on the
    thread that runs it, so the answers do not depend on the number of workers.

Forward-error certificates (``PolicyEvaluation.forward_errors``, the names of the direct backends)
    A residual bounds the backward error only; each solve also records a forward-error estimate
    and, above :data:`~._backends.FORWARD_ERROR_TOL`, raises :class:`~._errors.IllConditionedError`
    (or warns with ``on_ill_conditioned="warn"``), exactly as :mod:`._backends` does.

    * ``"discounted"`` — **rigorous** (to first order in :math:`\epsilon_{\mathrm{mach}}`, as every
      estimate here): :math:`\|(I-\gamma P)^{-1}\|_\infty \le \sum_t \gamma^t \|P^t\|_\infty = 1/(1-\gamma)`
      for a stochastic :math:`P`, so :func:`~._backends.forward_error_estimate` with
      :math:`\|A^{-1}\|_\infty = 1/(1-\gamma)` and :math:`\|A\|_\infty \le 1+\gamma` is a bound of the
      relative max-norm error (the direct backends' estimate uses ``gecon`` where this uses the
      exact upper bound; costs nothing).
    * ``"visitation"`` — **rigorous**, in the 1-norm: :math:`\|(I-\gamma P^\top)^{-1}\|_1 =
      \|(I-\gamma P)^{-1}\|_\infty \le 1/(1-\gamma)`, so the estimate bounds the *relative 1-norm
      (total-variation) error* :math:`\|\hat\lambda-\lambda\|_1/\|\hat\lambda\|_1` (the max-norm version
      would need :math:`\|(I-\gamma P)^{-1}\|_1`, up to :math:`|S|` times larger).
    * ``"stationary"`` and ``"poisson"`` — **heuristic**, like the direct backends' (``gecon`` and
      ``onenormest`` give lower bounds of the inverse's norm too):
      :math:`\|A^{-1}\|_2(\|r\|_2 + c\,\epsilon_{\mathrm{mach}}\|A\|_2\|\hat x\|_2)/\max(\|\hat x\|_\infty, s/\|A\|_\infty)`
      (:func:`krylov_forward_error`), a bound of the relative max-norm error *given*
      :math:`\|A^{-1}\|_2` (:math:`\|e\|_\infty \le \|e\|_2 = \|A^{-1}r\|_2`), for the deflated systems
      actually solved (:math:`B = I - P^\top + u\mathbf 1^\top`, :math:`C = I - P + \mathbf 1 d^\top`; on
      zero-sum vectors :math:`B^{-1}` is the group inverse of :math:`I - P^\top`, Meyer's condition
      number of the chain). :math:`\|A^{-1}\|_2` is estimated for free from the GMRES cycles
      (:func:`inverse_norm_estimate`: the smallest singular value of each cycle's Hessenberg is an
      upper bound of :math:`\sigma_{\min}(A)`, so the estimate is a lower bound of the norm, exact
      when a Krylov space fills :math:`\mathbb R^N`); one extra Arnoldi cycle from a fixed random
      vector when the solves ran short cycles. :math:`\|A\|_2, \|A\|_\infty` are rigorous upper bounds
      (one product :math:`P^\top\mathbf 1` for the column sums); :math:`c` counts the roundings of a
      kernel entry (:func:`operator_rounding`). The 2-norm residual makes the estimate looser than
      the direct backends' by up to :math:`\sqrt{|S|}`: measured on the test chains the ratio
      estimate / true error (50-digit truth) is 2-900 (2 on the 5-agent line) (``tests/solvers/exact/test_matrix_free_certificates.py``),
      and on the bench line at :math:`2^{22}` states the estimates stay below 1e-9. A rigorous bound
      would need a mixing bound of the chain (e.g. a Dobrushin coefficient), not available matrix-free
      in general.

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
import scipy.linalg as sla
import scipy.sparse.linalg as spla

from netmarl_verify.envs._memory import check_memory

from ._backends import certify_residual, forward_error_estimate, record_forward_error, relative_residual
from ._errors import SolverAccuracyError
from ._model import NetworkedOperator

__all__ = ["FactorNetwork", "KrylovAverageReward", "KrylovDiscounted", "KRYLOV_RTOL", "KRYLOV_RESTART"]

#: Relative (2-norm) tolerance of every GMRES solve.
KRYLOV_RTOL = 1e-13

#: GMRES restart length (up to :data:`KRYLOV_LARGE_STATES` states).
KRYLOV_RESTART = 40

#: GMRES restart length above :data:`KRYLOV_LARGE_STATES` states (see :func:`krylov_restart`).
KRYLOV_RESTART_LARGE = 10

#: Above this many states the short restart :data:`KRYLOV_RESTART_LARGE` is used.
KRYLOV_LARGE_STATES = 2**17

#: Most GMRES restart cycles (of :data:`KRYLOV_RESTART`): at most ``KRYLOV_MAXITER *
#: KRYLOV_RESTART`` operator products per column.
KRYLOV_MAXITER = 50

#: Share of the memory budget the GMRES bases of one batch of right sides may take, and an
#: absolute cap (bytes); the right sides are solved in groups that fit.
KRYLOV_MEMORY_SHARE = 0.25
KRYLOV_MAX_BASIS_BYTES = 3 * 2**30

#: Most entries (right sides x states) of one batch of right sides: batching saves the Python
#: overhead of small products, but a batch that outgrows the caches makes each product slower per
#: right side than one at a time (measured on the qu2020 line: 2 right sides at 2^20 states take
#: 2.8x the time of one each; 16 at 2^16 states 0.85x).
KRYLOV_BATCH_ENTRIES = 2**20

#: Vectors of |S| entries held per right side besides the basis (solution, right side, residual,
#: product intermediates).
KRYLOV_VECTORS_PER_COLUMN = 6


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
        seg = self.segments()
        if seg is not None:
            return max(seg.biggest, self.op.n_states)
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

    # -------------------------------------------------------------- segmented products
    def segments(self, free=None):
        """The :class:`SegmentPlan` of :math:`P_\\pi` (``free``: agent whose action stays free), or None."""
        key = ("segments", free)
        if key not in self._plans:
            self._plans[key] = SegmentPlan.build(self, free)
        return self._plans[key]

    def apply(self, X, adjoint=False):
        r"""Rows of ``X`` (m, |S|) times :math:`P_\pi^\top` (``P v`` for each row ``v``), or times
        :math:`P_\pi` with ``adjoint=True`` (:math:`d^\top P` for each row ``d``); result (m, |S|)."""
        plan = self.segments()
        if plan is not None:
            return plan.apply(X, adjoint)
        X = np.asarray(X, dtype=np.float64)
        out = self.contract(X.T, self.cur if adjoint else self.nxt, self.nxt if adjoint else self.cur)
        return np.ascontiguousarray(out.reshape(self.op.n_states, -1).T)

    def matvec(self, v):
        r""":math:`P_\pi v`, ``v`` (|S|,) or (|S|, m)."""
        v = np.asarray(v, dtype=np.float64)
        return self.apply(v.reshape(self.op.n_states, -1).T).T.reshape(v.shape)

    def rmatvec(self, d):
        r""":math:`P_\pi^\top d` (i.e. :math:`d^\top P_\pi`), ``d`` (|S|,) or (|S|, m)."""
        d = np.asarray(d, dtype=np.float64)
        return self.apply(d.reshape(self.op.n_states, -1).T, adjoint=True).T.reshape(d.shape)

    def next_values(self, agent, v):
        r""":math:`E_{a_{-i}\sim\zeta}\sum_{s'}P(s'|s, (b, a_{-i}))v(s')` for agent ``i``, shape (|S|, A_i)."""
        v = np.asarray(v, dtype=np.float64)
        plan = self.segments(free=agent)
        if plan is not None:
            return plan.apply(v.reshape(1, -1)).reshape(self.op.n_states, self.A[agent])
        out = self.contract(v, self.nxt, self.cur + (("a", agent),), free=agent)
        return out.reshape(self.op.n_states, self.A[agent])


#: Most entries of the contracted labels of one merged segment of :class:`SegmentPlan`.
SEGMENT_MAX_IN = 32

#: Most entries of the merged factor of one segment.
SEGMENT_MAX_ENTRIES = 2**14


class SegmentPlan:
    r"""A product with the factor network as a short sequence of batched matrix products.

    The factors (:meth:`FactorNetwork.factors`, agent order) are grouped into *segments* of
    consecutive agents; the factors of a segment are multiplied together once (a small tensor
    :math:`G`, at most :data:`SEGMENT_MAX_ENTRIES` entries, summing at most
    :data:`SEGMENT_MAX_IN` entries of the vector per output entry). The vector (a block of rows,
    shape (m, |S|), the rows contiguous) is kept as a tensor whose axes are ordered
    ``pre + shared + contracted + post``: the labels the segment sums (*contracted*), the labels
    it reads and keeps (*shared*, a batch of small matrices), and labels it does not touch
    (*pre*, *post*, batch and trailing axes). A segment is then one batched matrix product
    ``(pre, shared, contracted, post) -> (pre, shared, new, post)`` with ``G[shared]`` of shape
    (new, contracted) — on a line in agent order the axes stay in their natural order and no
    transposition is needed. Where a segment's labels are not adjacent a transposition step
    is recorded instead.

    The plan computes :math:`P_\pi v` (vector over next states in, over current states out);
    :math:`P_\pi^\top d` is its adjoint: the same steps in reverse order with each ``G``
    transposed and each transposition inverted. Compared with :meth:`FactorNetwork.contract`
    (one :func:`numpy.einsum` per agent) this touches the vector once per segment instead of once
    per agent and runs on BLAS; the numbers agree to rounding.
    """

    def __init__(self, steps, n_in, n_out, biggest):
        self.steps = steps
        self.n_in = n_in
        self.n_out = n_out
        self.biggest = biggest  # largest intermediate, entries per row

    @classmethod
    def build(cls, net, free=None):
        """The plan of ``net`` (with ``free``), or None when the labels do not allow one (the
        einsum contraction of :meth:`FactorNetwork.contract` is used then)."""
        facs = net.factors(free)
        out = list(net.cur) + ([("a", free)] if free is not None else [])
        out_set = set(out)
        later = [set() for _ in range(len(facs) + 1)]
        for k in range(len(facs) - 1, -1, -1):
            later[k] = later[k + 1] | set(facs[k][1])
        dim = net._dim
        size = lambda labels: math.prod(dim(l) for l in labels)  # noqa: E731
        tl = list(net.nxt)
        steps, biggest = [], size(tl)

        def classify(tl, k, e):
            seg = list(dict.fromkeys(l for _F, fl in facs[k:e] for l in fl))
            seg_set, tl_set = set(seg), set(tl)
            alive = later[e] | out_set
            C = [l for l in tl if l in seg_set and l not in alive]
            H = [l for l in tl if l in seg_set and l in alive]
            new = [l for l in seg if l not in tl_set and l in alive]
            dead = [l for l in tl if l not in seg_set and l not in alive]
            return seg, C, H, new, dead

        def fits(tl, k, e):
            seg, C, H, new, dead = classify(tl, k, e)
            return not dead and size(C) <= SEGMENT_MAX_IN and size(C) * size(H) * size(new) <= SEGMENT_MAX_ENTRIES

        def after(tl, k, e):
            seg, C, H, new, dead = classify(tl, k, e)
            return [l for l in tl if l not in C] + new  # the label set only (order irrelevant here)

        def split(even):
            """Segment ends: greedy (longest segment that fits), or aiming at ``even`` segments."""
            t, ends, k = list(tl), [], 0
            while k < len(facs):
                if even:
                    e = min(len(facs), k + max(1, -(-(len(facs) - k) // (even - len(ends)))))
                    while e > k + 1 and not fits(t, k, e):
                        e -= 1
                else:
                    e = k + 1
                    while e < len(facs) and fits(t, k, e + 1):
                        e += 1
                t = after(t, k, e)
                ends.append(e)
                k = e
                if even and len(ends) >= even and k < len(facs):
                    return None
            return ends

        greedy = split(None)
        # as even a split as fits with as many segments as the greedy one: no tiny trailing segment
        ends = split(len(greedy)) or greedy
        k = 0
        for e in ends:
            seg, C, H, new, dead = classify(tl, k, e)
            if dead:
                return None
            first = min(tl.index(l) for l in C + H) if C + H else len(tl)
            pre = [l for l in tl[:first] if l not in C and l not in H]
            post = [l for l in tl[first:] if l not in C and l not in H]
            target = pre + H + C + post
            if target != tl:
                steps.append(("perm", tuple(dim(l) for l in tl), tuple(tl.index(l) for l in target)))
            # the merged factor G[shared, new, contracted] (labels internal to the segment summed)
            idx = {l: q for q, l in enumerate(seg)}
            if len(seg) > 52:
                return None
            operands = []
            for F, fl in facs[k:e]:
                operands += [F, [idx[l] for l in fl]]
            G = np.einsum(*operands, [idx[l] for l in H + new + C])
            G = np.ascontiguousarray(G.reshape(size(H), size(new), size(C)))
            steps.append(("seg", G, np.ascontiguousarray(G.transpose(0, 2, 1)), size(pre), size(post)))
            tl = pre + H + new + post
            biggest = max(biggest, size(tl))
            k = e
        if set(tl) != out_set or len(tl) != len(out):
            return None
        if tl != out:
            steps.append(("perm", tuple(dim(l) for l in tl), tuple(tl.index(l) for l in out)))
        return cls(steps, size(net.nxt), size(out), biggest)

    def apply(self, X, adjoint=False):
        """Forward: rows over next states in, rows over current states out; ``adjoint``: the reverse."""
        X = np.asarray(X, dtype=np.float64)
        m = X.shape[0]
        T = np.ascontiguousarray(X)
        for step in (reversed(self.steps) if adjoint else self.steps):
            if step[0] == "perm":
                _, shape, perm = step
                if adjoint:
                    inv = np.argsort(perm)
                    T = T.reshape((m,) + tuple(shape[p] for p in perm)).transpose((0,) + tuple(1 + int(q) for q in inv))
                else:
                    T = T.reshape((m,) + shape).transpose((0,) + tuple(1 + q for q in perm))
                T = np.ascontiguousarray(T).reshape(m, -1)
                continue
            _, G, GT, pre, post = step
            W = GT if adjoint else G
            Hs, No, Ni = W.shape
            T = _segment_product(W, T.reshape(m * pre, Hs, Ni, post)).reshape(m, -1)
        return T


def _segment_product(G, T):
    """``Y[q, h, :, t] = G[h] @ T[q, h, :, t]``: ``G`` (H, O, I), ``T`` (Q, H, I, post) -> (Q, H, O, post)."""
    Q, Hs, Ni, post = T.shape
    No = G.shape[1]
    if post == 1:
        if Hs == 1:
            return (T.reshape(Q, Ni) @ G[0].T).reshape(Q, 1, No, 1)
        Y = np.empty((Q, Hs, No, 1))
        for h in range(Hs):
            Y[:, h, :, 0] = T[:, h, :, 0] @ G[h].T
        return Y
    # broadcast over Q: one GEMM per (q, h), each (O x I) @ (I x post). Measured at 2^23 entries
    # (one BLAS thread): as fast as or faster than folding the trailing axis into the rows of one
    # GEMM per shared index (which needs two transpositions) for every trailing size >= 2, e.g.
    # (Q, H, O, I, post) = (8192, 4, 16, 16, 16): 15 ms vs 40 ms, (65536, 4, 16, 16, 2): 39 vs 65 ms.
    return np.matmul(G, T)


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

    def apply(self, X):
        r"""Rows ``X`` (m, |S|) -> rows of :math:`(P_\pi X^\top)^\top` (each row ``v`` to :math:`P_\pi v`)."""
        X = np.asarray(X, dtype=np.float64)
        self.n_products += X.shape[0]
        if self.net is not None:
            return self.net.apply(X)
        return np.ascontiguousarray(np.asarray(self.op.matvec(X.T), dtype=np.float64).reshape(self.N, -1).T)

    def apply_t(self, X):
        r"""Rows ``X`` (m, |S|) -> rows :math:`x^\top P_\pi` (each row ``d`` to :math:`P_\pi^\top d`)."""
        X = np.asarray(X, dtype=np.float64)
        self.n_products += X.shape[0]
        if self.net is not None:
            return self.net.apply(X, adjoint=True)
        return np.ascontiguousarray(np.asarray(self.op.rmatvec(X.T), dtype=np.float64).reshape(self.N, -1).T)

    def matvec(self, v):
        v = np.asarray(v, dtype=np.float64)
        with _blas_single_thread():
            return self.apply(v.reshape(self.N, -1).T).T.reshape(v.shape)

    def rmatvec(self, d):
        d = np.asarray(d, dtype=np.float64)
        with _blas_single_thread():
            return self.apply_t(d.reshape(self.N, -1).T).T.reshape(d.shape)

    def linear_operator(self):
        """:math:`P_\\pi` as a :class:`scipy.sparse.linalg.LinearOperator` (what ``ev.P`` holds)."""
        return spla.LinearOperator((self.N, self.N), matvec=self.matvec, rmatvec=self.rmatvec,
                                   matmat=self.matvec, rmatmat=self.rmatvec, dtype=np.float64)

    def working_bytes(self, n_columns):
        """Bytes of the vectors a solve holds (GMRES basis, value table, contraction intermediates)."""
        inter = self.net.intermediate_entries() if self.net is not None else self.N
        restart = krylov_restart(self.N)
        groups = _column_groups(max(1, n_columns), self.N, restart)
        width = max(len(g) for g in groups)  # right sides solved together
        return 8.0 * (self.N * ((restart + 1 + KRYLOV_VECTORS_PER_COLUMN) * width + 3 * n_columns)
                      + 3 * inter * width)

    def positive(self):
        return self.net is not None and self.net.positive()


_CONTROLLER = []


def _blas_single_thread():
    """One BLAS thread for the products and the Krylov solves (measured on 2 cores: the small
    GEMMs of :class:`SegmentPlan` and the level-2 BLAS of the orthogonalisation run 3-8x faster on
    one thread than on two; the fork-join of a second thread costs more than it brings)."""
    try:
        from threadpoolctl import ThreadpoolController
    except ImportError:  # pragma: no cover
        import contextlib

        return contextlib.nullcontext()
    if not _CONTROLLER:
        _CONTROLLER.append(ThreadpoolController())
    return _SingleThread()


class _SingleThread:
    """One BLAS thread inside; records the caller's :func:`_workers` first (for :func:`_parallel_map`)."""

    def __enter__(self):
        _THREADS_SEEN.append(_THREADS_SEEN[-1] if _THREADS_SEEN else _workers())
        self._limit = _CONTROLLER[0].limit(limits=1, user_api="blas")
        self._limit.__enter__()
        return self

    def __exit__(self, *exc):
        try:
            return self._limit.__exit__(*exc)
        finally:
            _THREADS_SEEN.pop()


def block_gmres(apply, B, X0=None, *, rtol=KRYLOV_RTOL, restart=KRYLOV_RESTART, max_products=None, stats=None):
    r"""GMRES(``restart``) for every row of ``B`` at once (independent solves in lock step).

    Solves :math:`A x_c = b_c` for each row ``c`` of ``B`` (shape (m, N)); ``apply(X)`` returns the
    rows of ``X`` (m', N) times :math:`A^\top` (i.e. :math:`A x` for each row :math:`x`), so one call
    per iteration serves every unconverged column (one batched operator product instead of m).
    Each column has its own Arnoldi basis and Hessenberg matrix (classical Gram-Schmidt, repeated
    once when it cancels (DGKS), Givens rotations); a column stops at relative 2-norm residual ``rtol``
    (the stopping rule of :func:`scipy.sparse.linalg.gmres`), checked on the true residual at
    every restart. A zero right side gives zero.

    ``stats`` (a dict, optional) receives the Arnoldi information of the cycles: ``"smin"``, the
    smallest singular value of any cycle's Hessenberg matrix :math:`H_j` (an upper bound of
    :math:`\sigma_{\min}(A)`: :math:`\|H_j y\| = \|A V_j y\|` with :math:`V_j` orthonormal), and
    ``"steps"``, the longest cycle (its Krylov dimension). Used by the forward-error estimate of
    :mod:`._krylov` (:func:`inverse_norm_estimate`).

    Returns
    -------
    X : ndarray, shape (m, N)
    products : int
        Operator products, counted per column.
    """
    B = np.asarray(B, dtype=np.float64)
    m, N = B.shape
    X = np.zeros((m, N)) if X0 is None else np.array(X0, dtype=np.float64).reshape(m, N)
    bnorm = np.linalg.norm(B, axis=1)
    X[bnorm == 0] = 0.0
    active = np.flatnonzero(bnorm > 0)
    k = max(1, int(restart))
    budget = (KRYLOV_MAXITER * KRYLOV_RESTART if max_products is None else int(max_products))
    products = 0
    while active.size:
        R = B[active] - apply(X[active])
        products += active.size
        beta = np.linalg.norm(R, axis=1)
        keep = beta > rtol * bnorm[active]
        active, R, beta = active[keep], R[keep], beta[keep]
        if not active.size or products >= budget * m:
            break
        ma = active.size
        tol = rtol * bnorm[active]
        V = np.empty((ma, k + 1, N))
        V[:, 0] = R / beta[:, None]
        del R
        Hm = np.zeros((ma, k + 1, k))
        g = np.zeros((ma, k + 1))
        g[:, 0] = beta
        cs, sn = np.zeros((ma, k)), np.zeros((ma, k))
        steps = np.full(ma, k)  # Arnoldi steps that count, per column
        done = np.zeros(ma, dtype=bool)
        for j in range(k):
            W = apply(V[:, j])
            products += ma
            Vj = V[:, : j + 1]
            w0 = np.linalg.norm(W, axis=1)
            h = np.matmul(Vj, W[:, :, None])[:, :, 0]
            W -= np.matmul(h[:, None, :], Vj)[:, 0]
            hn = np.linalg.norm(W, axis=1)
            if np.any(hn < _REORTH * w0):  # cancellation: reorthogonalise once (DGKS criterion)
                h2 = np.matmul(Vj, W[:, :, None])[:, :, 0]
                W -= np.matmul(h2[:, None, :], Vj)[:, 0]
                h += h2
                hn = np.linalg.norm(W, axis=1)
            with np.errstate(divide="ignore", invalid="ignore"):
                scale = np.where(hn > 0, 1.0 / hn, 0.0)
            V[:, j + 1] = W * scale[:, None]
            del W
            col = np.concatenate([h, hn[:, None]], axis=1)  # (ma, j + 2)
            for i in range(j):
                t = cs[:, i] * col[:, i] + sn[:, i] * col[:, i + 1]
                col[:, i + 1] = -sn[:, i] * col[:, i] + cs[:, i] * col[:, i + 1]
                col[:, i] = t
            rho = np.hypot(col[:, j], col[:, j + 1])
            with np.errstate(divide="ignore", invalid="ignore"):
                cs[:, j] = np.where(rho > 0, col[:, j] / rho, 1.0)
                sn[:, j] = np.where(rho > 0, col[:, j + 1] / rho, 0.0)
            col[:, j], col[:, j + 1] = rho, 0.0
            Hm[:, : j + 2, j] = col
            g[:, j + 1] = -sn[:, j] * g[:, j]
            g[:, j] = cs[:, j] * g[:, j]
            # a column is finished at its first step with a small residual (or a breakdown)
            fin = ~done & ((np.abs(g[:, j + 1]) <= tol) | (rho == 0) | (hn == 0))
            steps[fin] = j + 1
            done |= fin
            if done.all():
                break
        for c in range(ma):
            jj = int(steps[c])
            Rm = Hm[c, :jj, :jj]
            diag = np.abs(np.diag(Rm))
            if jj == 0 or not np.all(diag > 0):
                jj = int(np.argmax(diag == 0)) if np.any(diag == 0) else jj
                Rm = Hm[c, :jj, :jj]
            if stats is not None:
                full = int(steps[c])
                if full and not np.all(diag[:full] > 0):
                    stats["smin"] = 0.0  # an exact breakdown on a singular projection: A is singular
                elif full:
                    sv = np.linalg.svd(Hm[c, :full, :full], compute_uv=False)
                    stats["smin"] = min(stats.get("smin", np.inf), float(sv[-1]))
                stats["steps"] = max(stats.get("steps", 0), full)
            if jj == 0:
                continue
            y = sla.solve_triangular(Rm, g[c, :jj], check_finite=False)
            X[active[c]] += y @ V[c, :jj]
        del V
    return X, products


#: Classical Gram-Schmidt is repeated when it cancels more than this (Daniel-Gragg-Kaufman-Stewart).
_REORTH = 1.0 / np.sqrt(2.0)


def _column_groups(m, N, restart, max_bytes=None):
    """Split ``m`` right sides into groups whose GMRES bases fit the working-memory share."""
    from netmarl_verify.envs._memory import memory_budget

    budget = (memory_budget() if max_bytes is None else int(max_bytes)) * KRYLOV_MEMORY_SHARE
    budget = min(budget, KRYLOV_MAX_BASIS_BYTES)
    per_column = 8.0 * N * (restart + 1 + KRYLOV_VECTORS_PER_COLUMN)
    g = int(max(1, min(m, budget // per_column, KRYLOV_BATCH_ENTRIES // max(N, 1))))
    n_groups = -(-m // g)
    g = -(-m // n_groups)  # balanced groups
    return [np.arange(a, min(m, a + g)) for a in range(0, m, g)]


def krylov_restart(N):
    """GMRES restart length used for ``N`` states (:data:`KRYLOV_RESTART` up to
    :data:`KRYLOV_LARGE_STATES`, :data:`KRYLOV_RESTART_LARGE` above: the Gram-Schmidt passes over
    the basis cost more than the extra iterations of a short restart there)."""
    return KRYLOV_RESTART if N <= KRYLOV_LARGE_STATES else KRYLOV_RESTART_LARGE


def _solve_rows(apply, B, X0, name, stats=None):
    """:func:`block_gmres` in memory-bounded column groups; ``B`` (m, N). Returns (X, products).

    The groups are independent solves; up to :func:`_workers` of them run at once in threads
    (each on one BLAS thread: the products and the Gram-Schmidt passes release the GIL), so a
    question with several right sides uses every core it was given. Each column's arithmetic is
    the same whichever thread runs it: the answers do not depend on the number of workers.
    ``stats``: dict collecting the Arnoldi information of :func:`block_gmres` (``"smin"``,
    ``"steps"``), merged over the groups.
    """
    m, N = B.shape
    restart = krylov_restart(N)
    X = np.empty((m, N))
    groups = _column_groups(m, N, restart)
    per_group = 8.0 * N * (restart + 1 + KRYLOV_VECTORS_PER_COLUMN) * max(len(g) for g in groups)

    def one(cols):
        st = {}
        x0 = None if X0 is None else X0[cols]
        X[cols], p = block_gmres(apply, B[cols], x0, restart=restart, stats=st)
        return p, st

    with _blas_single_thread():
        results = _parallel_map(one, groups, per_item_bytes=per_group)
    if stats is not None:
        for _p, st in results:
            _merge_stats(stats, st)
    return X, sum(p for p, _st in results)


def _merge_stats(into, st):
    """Merge the Arnoldi statistics of :func:`block_gmres` (smallest singular value, longest cycle)."""
    if "smin" in st:
        into["smin"] = min(into.get("smin", np.inf), st["smin"])
    into["steps"] = max(into.get("steps", 0), st.get("steps", 0))


#: Most threads the column groups of one solve (and the agents of a marginal) run in.
KRYLOV_MAX_WORKERS = 8


def _workers():
    """Threads available to the matrix-free backend: the BLAS thread limit in effect for the caller
    (``threadpoolctl.threadpool_limits`` / ``OMP_NUM_THREADS`` / the BLAS default) and the CPUs
    this process may run on, at most :data:`KRYLOV_MAX_WORKERS`."""
    import os

    try:
        cpus = len(os.sched_getaffinity(0))
    except AttributeError:  # pragma: no cover - not Linux
        cpus = os.cpu_count() or 1
    blas = cpus
    try:
        if not _CONTROLLER:
            from threadpoolctl import ThreadpoolController

            _CONTROLLER.append(ThreadpoolController())
        info = [lib["num_threads"] for lib in _CONTROLLER[0].info() if lib.get("user_api") == "blas"]
        if info:
            blas = min(info)
    except Exception:  # pragma: no cover - threadpoolctl missing or failing: use the CPUs
        pass
    return int(max(1, min(cpus, blas, KRYLOV_MAX_WORKERS)))


def _parallel_map(fn, items, per_item_bytes=0.0, workers=None):
    """``[fn(x) for x in items]``, in up to :func:`_workers` threads (as many as the working-memory
    share :data:`KRYLOV_MEMORY_SHARE` holds ``per_item_bytes`` for); results in item order.

    Call it with the BLAS thread limit already in place (the workers are counted before it applies
    here: :func:`_workers` is read by the caller's thread)."""
    from netmarl_verify.envs._memory import memory_budget

    items = list(items)
    w = _THREADS_SEEN[-1] if (workers is None and _THREADS_SEEN) else (workers or 1)
    if per_item_bytes > 0:
        share = min(memory_budget() * KRYLOV_MEMORY_SHARE, KRYLOV_MAX_BASIS_BYTES)
        w = min(w, max(1, int(share // per_item_bytes)))
    w = max(1, min(w, len(items)))
    if w == 1:
        return [fn(x) for x in items]
    from concurrent.futures import ThreadPoolExecutor

    with ThreadPoolExecutor(max_workers=w) as pool:
        return list(pool.map(fn, items))


#: The worker count read when the outermost :func:`_blas_single_thread` was entered (a stack).
_THREADS_SEEN = []


class KrylovAverageReward:
    """Stationary distribution and biases by GMRES on the deflated systems (module docstring)."""

    def __init__(self, products, on_ill_conditioned="raise"):
        self.prod = products
        self.N = products.N
        self.P = products.linear_operator()
        self.d = None
        self.on_ill_conditioned = on_ill_conditioned
        self._colmax = None

    def column_sum_max(self):
        r""":math:`\|P_\pi\|_1`, the largest column sum (one product with :math:`P_\pi^\top`)."""
        if self._colmax is None:
            with _blas_single_thread():
                self._colmax = float(np.max(self.prod.apply_t(np.ones((1, self.N)))[0]))
        return self._colmax

    def stationary(self, residuals, forward_errors=None):
        N = self.N
        u = np.full((1, N), 1.0 / N)
        pt = self.prod.apply_t

        def apply(X):
            return X - pt(X) + X.sum(axis=1, keepdims=True) * (1.0 / N)

        stats = {}
        d = _solve_rows(apply, u, u, "stationary", stats)[0][0]
        with _blas_single_thread():
            ptd = pt(d[None])[0]
        res = relative_residual(ptd - d, d)
        certify_residual("stationary: |d P - d|_inf", res, residuals)
        # forward error of B d = u, B = I - P^T + u 1^T (heuristic ||B^-1||_2: module docstring)
        full = d - ptd + (d.sum() - 1.0) / N
        c = self.column_sum_max()
        inv = inverse_norm_estimate(apply, N, stats)
        fe = krylov_forward_error(inv, np.linalg.norm(full), d, a2=2.0 + math.sqrt(c), a_inf=2.0 + c, scale=1.0,
                                  rounding=operator_rounding(self.prod))
        record_forward_error("stationary", fe, forward_errors, on_ill_conditioned=self.on_ill_conditioned,
                             detail=f"estimated |B^-1|_2 {inv:.3e} from the Arnoldi Hessenbergs, residual "
                                    f"{float(np.max(np.abs(full))):.1e}")
        if d.min() < -1e-12:
            raise SolverAccuracyError(f"stationary distribution has a negative entry {d.min():.3e}")
        d = np.clip(d, 0.0, None)
        self.d = d / d.sum()
        return self.d

    def bias(self, r, d, residuals, forward_errors=None):
        """Biases ``h`` (N, m) with ``d^T h = 0`` and gains ``J`` (m,) for reward columns ``r``."""
        N, m = r.shape
        J = d @ r
        pv = self.prod.apply

        def apply(X):
            return X - pv(X) + (X @ d)[:, None]

        rhs = np.ascontiguousarray((r - J[None, :]).T)
        stats = {}
        X = _solve_rows(apply, rhs, None, "poisson", stats)[0]
        X -= (X @ d)[:, None]  # exact zero stationary mean (the solve gives it to the tolerance)
        mean = X @ d  # rounding of the shift: the 1 d^T h term of the deflated system

        def check(cols):
            resid = X[cols] - pv(X[cols]) - rhs[cols]
            worst = max((relative_residual(resid[q], r[:, c]) for q, c in enumerate(cols)), default=0.0)
            resid += mean[cols][:, None]
            return worst, np.linalg.norm(resid, axis=1)

        with _blas_single_thread():
            groups = _column_groups(m, N, 0)
            out = _parallel_map(check, groups, per_item_bytes=8.0 * N * 3 * max(len(g) for g in groups))
        worst = max((w for w, _ in out), default=0.0) if N else 0.0
        # certificate: (I - P) h = r - J, relative to the reward scale (per column, the worst kept)
        certify_residual("poisson: |(I-P)h - (r-J)|_inf", worst, residuals)
        # forward error of C h = r - J, C = I - P + 1 d^T (heuristic ||C^-1||_2: module docstring)
        if N and m:
            rnorm = np.concatenate([nr for _, nr in out])
            inv = inverse_norm_estimate(apply, N, stats)
            c = self.column_sum_max()
            a2 = 1.0 + math.sqrt(c) + math.sqrt(N) * float(np.linalg.norm(d))
            scale = max(1.0, float(np.max(np.abs(r))))
            rnd = operator_rounding(self.prod)
            fe = max(krylov_forward_error(inv, rnorm[q], X[q], a2=a2, a_inf=3.0, scale=scale, rounding=rnd)
                     for q in range(m))
            record_forward_error("poisson", fe, forward_errors, on_ill_conditioned=self.on_ill_conditioned,
                                 detail=f"estimated |C^-1|_2 {inv:.3e} from the Arnoldi Hessenbergs, residual "
                                        f"{float(np.max(rnorm)):.1e} (2-norm)")
        return J, np.ascontiguousarray(X.T)


class KrylovDiscounted:
    r"""Discounted values and visitations by GMRES on :math:`I - \gamma P_\pi` and its transpose."""

    def __init__(self, products, gamma, on_ill_conditioned="raise"):
        self.prod = products
        self.gamma = gamma
        self.P = products.linear_operator()
        self.on_ill_conditioned = on_ill_conditioned

    def values(self, r, residuals, forward_errors=None):
        g, pv = self.gamma, self.prod.apply
        N, m = r.shape

        def apply(X):
            return X - g * pv(X)

        rhs = np.ascontiguousarray(r.T)
        X = _solve_rows(apply, rhs, rhs, "discounted")[0]

        def check(cols):
            resid = apply(X[cols]) - rhs[cols]
            return (max((relative_residual(resid[q], r[:, c]) for q, c in enumerate(cols)), default=0.0),
                    float(np.max(np.abs(resid))) if resid.size else 0.0)

        with _blas_single_thread():
            groups = _column_groups(m, N, 0)
            out = _parallel_map(check, groups, per_item_bytes=8.0 * N * 3 * max(len(g) for g in groups))
        worst = max((w for w, _ in out), default=0.0)
        certify_residual("discounted: |(I - gamma P)V - r|_inf", worst, residuals)
        # rigorous: |(I - gamma P)^-1|_inf <= 1 / (1 - gamma) for a stochastic P (module docstring)
        if N and m:
            resid = max(a for _, a in out)
            fe = forward_error_estimate(1.0 / (1.0 - g), 1.0 + g, resid, float(np.max(np.abs(X))),
                                        max(1.0, float(np.max(np.abs(r)))))
            record_forward_error("discounted", fe, forward_errors, on_ill_conditioned=self.on_ill_conditioned,
                                 detail=f"|(I - gamma P)^-1|_inf <= 1/(1-gamma) = {1.0 / (1.0 - g):.3e}, "
                                        f"residual {resid:.1e}")
        return np.ascontiguousarray(X.T)

    def visitation(self, mu0, residuals, forward_errors=None):
        g, pt = self.gamma, self.prod.apply_t

        def apply(X):
            return X - g * pt(X)

        mu = np.asarray(mu0, dtype=np.float64).reshape(1, -1)
        lam = _solve_rows(apply, mu, mu, "visitation")[0][0]
        with _blas_single_thread():
            resid = apply(lam[None])[0] - mu[0]
        res = relative_residual(resid, mu[0])
        certify_residual("visitation: |(I - gamma P^T) lam - mu0|_inf", res, residuals)
        # rigorous, in the 1-norm: |(I - gamma P^T)^-1|_1 = |(I - gamma P)^-1|_inf <= 1 / (1 - gamma)
        r1 = float(np.sum(np.abs(resid)))
        fe = forward_error_estimate(1.0 / (1.0 - g), 1.0 + g, r1, float(np.sum(np.abs(lam))),
                                    float(np.sum(np.abs(mu[0]))))
        record_forward_error("visitation", fe, forward_errors, on_ill_conditioned=self.on_ill_conditioned,
                             detail=f"|(I - gamma P^T)^-1|_1 <= 1/(1-gamma) = {1.0 / (1.0 - g):.3e}, "
                                    f"residual {r1:.1e} (1-norm)")
        return lam


def inverse_norm_estimate(apply, N, stats):
    r"""Estimate of :math:`\|A^{-1}\|_2 = 1/\sigma_{\min}(A)` for the system ``apply`` (heuristic).

    The smallest singular value of every GMRES cycle's Hessenberg matrix (``stats`` of
    :func:`block_gmres`) is an upper bound of :math:`\sigma_{\min}(A)`, so its inverse is a *lower*
    bound of :math:`\|A^{-1}\|_2` — exact once a Krylov space is all of :math:`\mathbb R^N`, and
    in practice close once the slow modes of the chain enter it (they do, by the time GMRES has
    converged, for every right side that excites them). When the solves ran shorter cycles than
    :func:`krylov_restart` allows (an exact starting guess, zero right sides), one more cycle is
    run from a fixed pseudo-random vector. ``inf`` for a singular projection.
    """
    want = min(krylov_restart(N), N)
    if stats.get("steps", 0) < want:
        b = np.random.default_rng(20261201).standard_normal((1, N))
        st = {}
        with _blas_single_thread():
            block_gmres(apply, b, None, restart=want, max_products=2, stats=st)
        _merge_stats(stats, st)
    smin = stats.get("smin", np.inf)
    if smin == np.inf:  # no Arnoldi step at all (N = 0)
        return 1.0
    return float("inf") if smin <= 0 else 1.0 / smin


def krylov_forward_error(inv2, resid2, x, *, a2, a_inf, scale, rounding=1.0):
    r"""Relative max-norm forward-error estimate of a matrix-free solve from 2-norm quantities:
    :math:`\|A^{-1}\|_2(\|r\|_2 + \epsilon_{\mathrm{mach}} a_2\|\hat x\|_2)/\max(\|\hat x\|_\infty, s/a_\infty)`
    (:math:`\|e\|_\infty \le \|e\|_2 = \|A^{-1}r\|_2`; ``a2``, ``a_inf``: upper bounds of
    :math:`\|A\|_2`, :math:`\|A\|_\infty`; ``rounding``: the first-order relative rounding of the
    operator's entries in units of :math:`\epsilon_{\mathrm{mach}}`, :func:`operator_rounding`)."""
    x = np.asarray(x)
    resid2, x2, xinf = float(resid2), float(np.linalg.norm(x)), float(np.max(np.abs(x))) if x.size else 0.0
    with np.errstate(all="ignore"):
        denom = max(xinf, float(scale) / a_inf)
        if denom == 0.0:
            return 0.0 if resid2 == 0.0 else float("inf")
        fe = float(inv2) * (resid2 + rounding * _EPS * a2 * x2) / denom
    return fe if np.isfinite(fe) else float("inf")


_EPS = float(np.finfo(float).eps)


def operator_rounding(products):
    r"""First-order worst-case relative rounding of the entries of :math:`P_\pi` as the products
    apply it, in units of :math:`\epsilon_{\mathrm{mach}}`: a networked kernel entry is a product
    of ``n`` local factors, each a policy-weighted sum over :math:`|A_i|` actions
    (:math:`|A_i| + 1` roundings), and a product adds a sum over the next states: :math:`\sum_i
    (|A_i| + 2) + 2`; an explicit matrix 2. (A different route to the same kernel, e.g. the dense
    rows, rounds differently by up to as much: the estimate covers the rounding of the data, as
    the direct backends' :math:`\epsilon_{\mathrm{mach}}\|A\|\|\hat x\|` term does.)"""
    net = products.net
    if net is None:
        return 2.0
    return float(sum(a + 2 for a in net.A) + 2)


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

    Networked: the Kronecker row is split into a prefix (leading agents, ``P`` configurations) and
    a trailing block (``t`` configurations, :math:`t \approx \sqrt{|S|}`), so neither is long: one
    GEMM of the prefix rows (B, P) against the value slab viewed as (P, t k) contracts the leading
    agents, then a batched contraction with the trailing rows (B, t) the others. The full
    Kronecker row (B, |S|) is never formed. Measured side by side (1,000 pairs, qu2020 line, 2
    threads): n = 12 0.126 -> 0.019 s, n = 16 0.84 -> 0.13 s, n = 20 3.1 -> 2.1 s, n = 22 17.6 ->
    8.3 s (numbers equal to 7e-16). Otherwise: the operator's rows in chunks.
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
    # trailing block: trailing agents up to about sqrt(|S|) configurations
    split, t = n, 1
    target = max(1, math.isqrt(N))
    while split > 0 and t * S[split - 1] <= target:
        split -= 1
        t *= S[split]
    P_pre = N // t
    V = values.reshape(P_pre, t * k)  # a view: no copy of the value slab
    # per pair: its prefix and trailing rows and the (t, k) partial products
    for a, b in _chunks(m, 8.0 * (P_pre + t * (k + 1))):
        f = _pair_factors(op, states[a:b], actions[a:b])
        B = b - a
        K = np.ones((B, 1))
        for j in range(split, n):
            K = (K[:, :, None] * f[j][:, None, :]).reshape(B, -1)
        pre = np.ones((B, 1))
        for j in range(split):
            pre = (pre[:, :, None] * f[j][:, None, :]).reshape(B, -1)
        Y = (pre @ V).reshape(B, t, k)  # one GEMM (B, P) x (P, t k): contracts the prefix agents
        out[a:b] = np.einsum("bt,btk->bk", K, Y)  # then the trailing ones
    return out


def marginal(op, products, values, scale, offset, rewards=None):
    r"""Agent-marginal Q of the global reward (as :meth:`~._operator.PolicyOperator.marginal`), matrix-free.

    Networked: the next-state part is one contraction per agent with that agent's action left free
    (:meth:`FactorNetwork.next_values`); the reward part changes only the rewards that read
    :math:`a_i`. Other operators: their own ``marginal``. ``rewards``: the model's expected rewards
    (|S|, n) when already computed (an evaluation's ``rewards``).
    """
    if products.net is None:
        return op.marginal(values, scale, offset)
    with _blas_single_thread():
        return _networked_marginal(op, products, values, scale, offset, rewards)


def _networked_marginal(op, products, values, scale, offset, rewards):
    mdp = op.mdp
    nS, n = op.n_states, mdp.n
    values = np.asarray(values, dtype=np.float64).reshape(nS)
    rpi = policy_rewards(op) if rewards is None else rewards  # (|S|, n)
    total = rpi.sum(axis=1)
    S = tuple(mdp.state_sizes)
    states = w = None
    if mdp.reward_form != "local":
        states = mdp.state_tuples()
        w = op.policy_weights(states)

    def agent(i):
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
        return Qi

    # the agents are independent: up to _workers() at once (same arithmetic per agent in any thread)
    width = max(mdp.action_sizes)
    return _parallel_map(agent, range(n), per_item_bytes=8.0 * nS * (4 * width + 2))


def _reader_reward(op, k, states, weights):
    """Agent ``k``'s expected reward (neighbourhood reward form) under per-agent weights, (|S|,)."""
    mdp = op.mdp
    Nk = mdp.neighbourhoods[k]
    R = mdp.rewards[k][tuple(states[:, j] for j in Nk)]
    for j in reversed(Nk):
        R = np.einsum("b...a,ba->b...", R, weights[j])
    return R


def policy_rewards(op):
    r"""The expected rewards :math:`r_{\pi,i}(s)` (|S|, n) of :meth:`~._operator.PolicyOperator.policy_rewards`.

    For a networked model with ``reward_form="local"``, :math:`r_{\pi,i}` depends on
    :math:`s_{O_i \cup \{i\}}` only: the small table is computed once per agent and broadcast over
    the other agents' states (no table of every global state's local indices). Otherwise the
    operator's own method.
    """
    if not isinstance(op, NetworkedOperator) or op.mdp.reward_form != "local":
        return op.policy_rewards()
    mdp = op.mdp
    n, S = mdp.n, tuple(mdp.state_sizes)
    out = np.empty((op.n_states, n))
    for i in range(n):
        obs = tuple(op.observed[i])
        U = sorted(set(obs) | {i})
        Z = op.zeta[i].reshape(tuple(S[j] for j in obs) + (-1,))
        table = np.einsum(Z, list(obs) + [n], mdp.rewards[i], [i, n], U)
        shape = tuple(S[j] if j in U else 1 for j in range(n))
        out[:, i] = np.broadcast_to(table.reshape(shape), S).reshape(-1)
    return out


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
