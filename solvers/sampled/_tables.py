r"""Truncated-table storage: one table per run and agent over a κ-hop neighbourhood's pairs.

A *truncated table* of agent :math:`i` is an array over :math:`Z_{N_i} = \prod_{j \in N_i} S_j
\times \prod_{j \in N_i} A_j` (``N_i`` sorted, states first, C order), e.g. qu2020's critic
:math:`\hat Q_i` on :math:`Z_{N_i^\kappa}` or ying2023's truncated shadow Q. A batch of ``B`` runs
keeps ``B x n`` of them. The pieces:

* :class:`_Layout` — the flat indexing: a pair :math:`z_{N_i}` of run ``b`` has the int64 key
  ``b * total + offsets[i] + (C-order index in agent i's table)``; :meth:`_Layout.keys` computes
  all ``(B, n)`` keys of a joint pair ``(s, a)`` at once.
* :class:`TruncatedTables` — the values behind the keys, either dense (one float64 array of
  ``B * total`` entries) or sparse (a :class:`_HashTable` of the visited entries; missing entries
  read as 0), with the same ``get`` / ``put`` interface, and optionally the exact
  :math:`\max_{i}\|Q_i\|_\infty` per run (:func:`_track_max`).
* :func:`resolve_table_mode` — ``"dense" | "sparse" | "auto"`` against the memory budget, refusing
  with :class:`~netmarl_verify.envs.MemoryBudgetError` (message from :func:`_describe_sizes`)
  before anything is allocated.
"""

import math

import numpy as np

from netmarl_verify.envs._memory import MemoryBudgetError, check_memory, memory_budget

__all__ = ["TABLE_MODES", "TruncatedTables", "resolve_table_mode"]

TABLE_MODES = ("dense", "sparse", "auto")


class _HashTable:
    """Open-addressing hash map int64 key -> float64, vectorized (linear probing, load <= 1/2).

    Keys are non-negative (``-1`` marks an empty slot). Keys passed to one :meth:`find_or_insert`
    call must be distinct (they are: one per run and agent). Missing keys read as 0, the initial
    value of every table. The capacity doubles (through :func:`~envs.check_memory`) before the
    load would exceed 1/2.

    Attributes
    ----------
    keys, vals : ndarray
        The slots (``keys == -1``: empty). ``vals[slot]`` may be written with the slots returned by
        :meth:`find_or_insert`.
    count : int
        Occupied slots.
    """

    _MULT = np.uint64(0x9E3779B97F4A7C15)

    def __init__(self, capacity=1 << 16):
        cap = 1 << max(4, int(capacity - 1).bit_length())
        self._alloc(cap)
        self.count = 0

    def _alloc(self, cap):
        self.cap = cap
        self.bits = cap.bit_length() - 1
        self.keys = np.full(cap, -1, dtype=np.int64)
        self.vals = np.zeros(cap)

    def _hash(self, q):
        h = (q.astype(np.uint64) * self._MULT) >> np.uint64(64 - self.bits)
        return h.astype(np.int64)

    def nbytes(self):
        """Bytes held by the slots."""
        return self.keys.nbytes + self.vals.nbytes

    def _probe(self, q, insert):
        pos = self._hash(q)
        slot = np.full(q.size, -1, dtype=np.int64)
        existed = np.zeros(q.size, dtype=bool)
        active = np.arange(q.size)
        mask = self.cap - 1
        while active.size:
            p = pos[active]
            k = self.keys[p]
            hit = k == q[active]
            empty = k == -1
            slot[active[hit]] = p[hit]
            existed[active[hit]] = True
            if insert and empty.any():
                e = active[empty]
                self.keys[pos[e]] = q[e]  # duplicates in a slot: last write wins, losers keep probing
                won = self.keys[pos[e]] == q[e]
                slot[e[won]] = pos[e[won]]
                self.count += int(won.sum())
                done = hit.copy()
                done[np.flatnonzero(empty)[won]] = True
            else:
                done = hit | empty
            active = active[~done]
            pos[active] = (pos[active] + 1) & mask
        return slot, existed

    def get(self, q):
        """Values at the int64 keys ``q`` (1-D); 0 where a key is absent."""
        slot, found = self._probe(q, insert=False)
        out = np.zeros(q.size)
        out[found] = self.vals[slot[found]]
        return out

    def find_or_insert(self, q):
        """Slots of the distinct keys ``q`` (inserted with value 0 when absent), and whether each existed."""
        if 2 * (self.count + q.size) > self.cap:
            self._grow(2 * (self.count + q.size))
        return self._probe(q, insert=True)

    def _grow(self, need):
        occ = self.keys >= 0
        k, v = self.keys[occ], self.vals[occ]
        cap = self.cap
        while cap < 2 * need:
            cap *= 2
        check_memory(16.0 * cap, f"a sparse critic hash table of {cap} slots",
                     hint="fewer runs, fewer iterations or a smaller kappa")
        self._alloc(cap)
        self.count = 0
        slot, _ = self._probe(k, insert=True)
        self.vals[slot] = v

    def items(self):
        """``(keys, values)`` of the occupied slots, in slot order."""
        occ = self.keys >= 0
        return self.keys[occ], self.vals[occ]


class _Layout:
    """Flat indexing of all truncated tables: key = run * total + offsets[i] + C-order index.

    Parameters
    ----------
    n : int
        Agents.
    S, A : tuple of int
        Local state and action sizes.
    hoods : sequence of tuple of int
        ``hoods[i]`` = :math:`N_i`, sorted, containing ``i``.
    B : int
        Runs.

    Attributes
    ----------
    shapes : list of tuple
        ``shapes[i] = tuple(S[j] for j in N_i) + tuple(A[j] for j in N_i)``.
    sizes : list of int
        Entries of each agent's table (Python ints: may exceed 2**63).
    total : int
        Entries per run over all agents.
    fits_int64 : bool
        Whether every key of the ``B`` runs fits in int64 (below 2**62). Only then are
        ``offsets`` (shape (n,)) and ``base`` (shape (B, n): the key of each run's and agent's
        entry 0, the all-zero pair) defined.
    """

    def __init__(self, n, S, A, hoods, B):
        self.n, self.S, self.A, self.hoods, self.B = n, S, A, hoods, B
        self.shapes = [tuple(S[j] for j in N) + tuple(A[j] for j in N) for N in hoods]
        self.sizes = [math.prod(s) for s in self.shapes]  # Python ints: may exceed 2**63
        self.total = sum(self.sizes)
        m = max(len(N) for N in hoods)
        self.members = np.zeros((n, m), dtype=np.int64)
        self.mult_s = np.zeros((n, m), dtype=np.int64)
        self.mult_a = np.zeros((n, m), dtype=np.int64)
        self.fits_int64 = self.total * B < 2**62
        for i, N in enumerate(hoods):
            SN = [S[j] for j in N]
            AN = [A[j] for j in N]
            nA = math.prod(AN)
            for q, j in enumerate(N):
                self.members[i, q] = j
                if self.fits_int64:
                    self.mult_s[i, q] = math.prod(SN[q + 1:]) * nA
                    self.mult_a[i, q] = math.prod(AN[q + 1:])
        if self.fits_int64:
            self.offsets = np.cumsum([0] + self.sizes[:-1]).astype(np.int64)
            self.base = (np.arange(B, dtype=np.int64)[:, None] * self.total + self.offsets[None, :])
        self.single = m == 1

    def local_index(self, s, a):
        """C-order index of :math:`z_{N_i}` in agent i's table, for states and actions of shape (B, n)."""
        if self.single:  # kappa = 0 (or isolated agents): the index is s_i * A_i + a_i
            return s * self.mult_s[:, 0] + a * self.mult_a[:, 0]
        ms = s[:, self.members]
        ma = a[:, self.members]
        ms *= self.mult_s
        ma *= self.mult_a
        return ms.sum(axis=2) + ma.sum(axis=2)

    def keys(self, s, a):
        """Flat keys of :math:`z_{N_i}` for every run and agent, shape (B, n); ``== base`` at the all-zero pair."""
        return self.base + self.local_index(s, a)

    def dense_table(self, tables, sparse, run, agent):
        """A dense copy of one run's and agent's table, from dense ``tables`` or else from ``sparse``."""
        if tables is not None:
            return tables[agent][run].copy()
        size = self.sizes[agent]
        check_memory(8.0 * size * 2, f"a dense copy of agent {agent}'s critic table ({size} entries)")
        keys = run * self.total + int(self.offsets[agent]) + np.arange(size, dtype=np.int64)
        return sparse.get(keys).reshape(self.shapes[agent])


def _describe_sizes(layout, kappa, B):
    """The sentence naming the largest table, κ and the totals, for memory refusals."""
    i = int(np.argmax([float(s) for s in layout.sizes]))
    size = layout.sizes[i]
    base = "x".join(str(x) for x in layout.shapes[i])
    return (
        f"the dense critic tables at kappa={kappa}: the largest is agent {i}'s Q-hat over Z_(N_{i}^kappa) "
        f"(|N_{i}^kappa| = {len(layout.hoods[i])} agents, shape {base} = {size:.4g} entries per run), "
        f"{layout.total:.4g} entries per run over all agents, x {B} runs"
    )


def resolve_table_mode(layout, table_mode, kappa, max_bytes=None):
    """``"dense"`` or ``"sparse"`` for ``table_mode`` in :data:`TABLE_MODES`, checked against the budget.

    ``"auto"`` is dense when the dense tables fit ``max_bytes`` (default the memory budget).

    Raises
    ------
    MemoryBudgetError
        Dense tables that do not fit, or keys beyond int64 (in either mode).
    """
    B = layout.B
    dense_bytes = 8.0 * B * layout.total
    budget = memory_budget() if max_bytes is None else int(max_bytes)
    mode = table_mode
    if mode == "auto":
        mode = "dense" if dense_bytes <= budget else "sparse"
    if mode == "dense":
        check_memory(dense_bytes, _describe_sizes(layout, kappa, B), max_bytes=max_bytes,
                     hint="use table_mode='sparse' (visited entries only) or a smaller kappa")
    if not layout.fits_int64:
        raise MemoryBudgetError(
            f"{_describe_sizes(layout, kappa, B)}: the flat keys exceed 2**62, not even a sparse table can index them"
        )
    return mode


class TruncatedTables:
    """The values of ``B x n`` truncated tables, all 0 at the start, dense or sparse.

    Parameters
    ----------
    layout : _Layout
        With ``fits_int64`` (see :func:`resolve_table_mode`).
    mode : {"dense", "sparse"}
    track_max : bool
        Keep ``qmax[b]`` = :math:`\\max_i\\|Q_{b,i}\\|_\\infty` exact after every :meth:`put`.

    Attributes
    ----------
    flat : ndarray or None
        Dense mode: the ``B * total`` values, indexed by the keys.
    sparse : _HashTable or None
        Sparse mode: the visited entries.
    qmax : ndarray, shape (B,)
        With ``track_max``: the exact max-norm per run (else zeros).
    n_updates, n_revisits : int
        Sparse mode: entries written, and those of them already present.
    """

    def __init__(self, layout, mode, track_max=False):
        if mode not in ("dense", "sparse"):
            raise ValueError(f"`mode` must be 'dense' or 'sparse', got {mode!r}")
        self.layout = layout
        self.mode = mode
        B = layout.B
        if mode == "dense":
            self.flat = np.zeros(B * layout.total)
            self.sparse = None
        else:
            self.flat = None
            self.sparse = _HashTable(min(1 << 20, 4 * B * layout.n))
        self.track_max = bool(track_max)
        self.qmax = np.zeros(B)
        self.qarg = np.full(B, -1, dtype=np.int64)  # within-run position of the entry attaining qmax
        self.n_updates = 0
        self.n_revisits = 0

    def get(self, keys):
        """Values at ``keys`` (any shape); absent sparse entries read as 0."""
        if self.flat is not None:
            return self.flat[keys]
        return self.sparse.get(keys.reshape(-1)).reshape(keys.shape)

    def put(self, keys, values, skip):
        """Write ``values`` at the ``(B, n)`` keys ``keys`` (distinct within each run).

        In sparse mode the entries where ``skip`` is True are not inserted (they must keep reading
        0, e.g. a pinned dummy pair, and ``values`` must be 0 there); dense mode writes every entry.
        """
        if self.flat is not None:
            self.flat[keys] = values
        else:
            keep = ~skip.reshape(-1)
            slot, existed = self.sparse.find_or_insert(keys.reshape(-1)[keep])
            self.sparse.vals[slot] = values.reshape(-1)[keep]
            self.n_updates += int(keep.sum())
            self.n_revisits += int(existed.sum())
        if self.track_max:
            _track_max(self.qmax, self.qarg, values, keys - self.layout.base[:, :1], self.flat, self.sparse,
                       self.layout, self.layout.B)

    @property
    def revisit_rate(self):
        """Sparse mode: the fraction of written entries already present (NaN before any write)."""
        return self.n_revisits / self.n_updates if self.n_updates else np.nan

    def views(self):
        """Dense mode: ``views[i]`` of shape ``(B,) + layout.shapes[i]`` (views, not copies); sparse: None."""
        if self.flat is None:
            return None
        lay = self.layout
        Q2 = self.flat.reshape(lay.B, lay.total)
        out = []
        for i in range(lay.n):
            o = int(lay.offsets[i])
            out.append(Q2[:, o : o + lay.sizes[i]].reshape((lay.B,) + lay.shapes[i]))
        return out

    def dense_table(self, run, agent):
        """A dense copy of the table of ``agent`` in run ``run`` (either mode)."""
        return self.layout.dense_table(self.views(), self.sparse, run, agent)


def _track_max(qmax, qarg, new, pos, Qflat, sparse, layout, B):
    """Keep ``qmax[b] = max |Q_b|`` exact after writing ``new`` at within-run positions ``pos``.

    ``qarg[b]`` is the within-run position attaining ``qmax[b]`` (-1: none). When a write shrinks
    that entry, the run's maximum is recomputed from ``Qflat`` (dense) or ``sparse``.
    """
    absnew = np.abs(new)
    k = absnew.argmax(axis=1)
    cand = absnew[np.arange(B), k]
    candpos = pos[np.arange(B), k]
    hit = (pos == qarg[:, None]).any(axis=1)
    grow = cand >= qmax
    qmax[grow] = cand[grow]
    qarg[grow] = candpos[grow]
    need = np.flatnonzero(hit & ~grow)
    if need.size:
        if Qflat is not None:
            sub = np.abs(Qflat.reshape(B, layout.total)[need])
            qarg[need] = sub.argmax(axis=1)
            qmax[need] = sub[np.arange(need.size), qarg[need]]
        else:
            keys, vals = sparse.items()
            run = keys // layout.total
            sel = np.isin(run, need)
            k2, v2, r2 = keys[sel], np.abs(vals[sel]), run[sel]
            qmax[need] = 0.0
            qarg[need] = -1
            if k2.size:
                order = np.lexsort((-v2, r2))  # by run, largest |Q| first
                first = order[np.r_[True, r2[order][1:] != r2[order][:-1]]]
                qmax[r2[first]] = v2[first]
                qarg[r2[first]] = k2[first] - r2[first] * layout.total
