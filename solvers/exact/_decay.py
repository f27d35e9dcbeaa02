r"""The decay profile of qu2020 eq. (4): how fast :math:`Q_i` forgets the far coordinates.

Definition 1 (qu2020). The :math:`(c, \rho)` exponential decay property holds if for every
agent :math:`i`, every :math:`\kappa` and all pairs that agree on the κ-hop neighbourhood
:math:`N_i^\kappa`,

.. math:: |Q_i(s_{N_i^\kappa}, s_{N_{-i}^\kappa}, a_{N_i^\kappa}, a_{N_{-i}^\kappa})
          - Q_i(s_{N_i^\kappa}, s'_{N_{-i}^\kappa}, a_{N_i^\kappa}, a'_{N_{-i}^\kappa})| \le c\rho^{\kappa+1}.  \qquad (4)

:func:`decay_profile` measures the left side per κ in one of three ways: the exact supremum
over the full Q table, the sampled protocol of qu2020 App. B.4, or a certified lower bound by
coordinate ascent for instances too large to enumerate. Theorem 1's :math:`\rho` is
:func:`~._interaction.interaction_rho`; the truncated Q-functions are :mod:`._truncation`.
"""

from dataclasses import dataclass, field

import numpy as np

from netmarl_verify.envs import as_generator

from ._model import check_agent
from ._truncation import _prepare, q_table

__all__ = ["decay_profile", "DecayProfile"]


@dataclass(eq=False)
class DecayProfile:
    """Result of :func:`decay_profile`.

    Attributes
    ----------
    kappas : ndarray of int
        The radii κ, in the order asked.
    values : ndarray
        ``method="sup"``/``"search"``: one value per κ (the sup, or a certified lower bound on it).
        ``method="sampled"``: shape (n_samples, len(kappas)).
    method : str
        ``"sup"``, ``"sampled"`` or ``"search"``.
    witnesses : list
        For ``sup``/``search``: per κ the pair ``(s, a, s2, a2)`` attaining the value (a dict with
        those keys); empty for ``sampled``.
    evaluations : int
        Number of exact Q values the method computed.

    Notes
    -----
    Two profiles are equal when all five attributes are (arrays compared element by element).
    """

    kappas: np.ndarray
    values: np.ndarray
    method: str
    witnesses: list = field(default_factory=list)
    evaluations: int = 0

    def __post_init__(self):
        self.kappas = np.asarray(self.kappas)
        self.values = np.asarray(self.values)
        self.witnesses = self.witnesses or []

    def __eq__(self, other):
        if not isinstance(other, DecayProfile):
            return NotImplemented
        return (self.method == other.method and self.evaluations == other.evaluations
                and np.array_equal(self.kappas, other.kappas) and np.array_equal(self.values, other.values)
                and self.witnesses == other.witnesses)

    __hash__ = None

    def __repr__(self):
        return f"DecayProfile(method={self.method!r}, kappas={self.kappas.tolist()}, values={np.round(self.values, 6).tolist()})"


def decay_profile(mdp, policy, agent, kappas, gamma=None, method="sup", *, n_samples=1, rng=None,
                  restarts=8, sweeps=3, backend="auto", evaluation=None, max_bytes=None):
    r"""Left side of qu2020 eq. (4) as a function of κ.

    Parameters
    ----------
    mdp : NetworkedMDP
    policy : LocalSoftmaxPolicy
    agent : int
    kappas : iterable of int
    gamma : float or None
    method : {"sup", "sampled", "search"}
        ``"sup"``: the exact maximum over all pairs agreeing on :math:`N_i^\kappa` (enumerates the
        :math:`|S||A|` table; refuses with :class:`MemoryBudgetError` when it does not fit).
        ``"sampled"``: the protocol of qu2020 App. B.4 — draw :math:`s, s', a, a'` uniformly; the
        second pair takes the inside coordinates of the first; ``n_samples`` draws.
        ``"search"``: a certified **lower bound** on the sup for instances too large to enumerate:
        random restarts then coordinate ascent over the outside coordinates of both pairs; every
        reported value is an exactly evaluated difference, so it never exceeds the sup.
    rng : int, numpy.random.Generator or None
        For ``sampled`` / ``search`` (:func:`~netmarl_verify.envs.as_generator`; checked for every
        method).

    Returns
    -------
    DecayProfile
    """
    rng = as_generator(rng)
    gamma, ev = _prepare(mdp, policy, gamma, backend, evaluation)
    agent = check_agent(mdp, agent)
    kappas = [int(k) for k in kappas]
    for k in kappas:
        if k < 0:
            raise ValueError(f"kappas must be >= 0, got {k}")
    n = mdp.n
    if method == "sup":
        Q = q_table(mdp, policy, agent, gamma, evaluation=ev, max_bytes=max_bytes)
        vals, wit = [], []
        for k in kappas:
            inside = list(mdp.kappa_hop(agent, k))
            outside = [j for j in range(n) if j not in inside]
            axes_in = inside + [n + j for j in inside]
            axes_out = outside + [n + j for j in outside]
            T = np.transpose(Q, axes_in + axes_out)
            n_in = int(np.prod([Q.shape[a] for a in axes_in]))
            T = T.reshape(n_in, -1)
            spread = T.max(axis=1) - T.min(axis=1)
            best = int(np.argmax(spread))
            vals.append(float(spread[best]))
            hi, lo = int(np.argmax(T[best])), int(np.argmin(T[best]))
            wit.append(_witness(mdp, axes_in, axes_out, Q.shape, best, hi, lo))
        return DecayProfile(kappas, vals, "sup", wit, evaluations=Q.size)
    if method == "sampled":
        m = int(n_samples)
        s = rng.integers(0, mdp.state_sizes, size=(m, n))
        a = rng.integers(0, mdp.action_sizes, size=(m, n))
        s2 = rng.integers(0, mdp.state_sizes, size=(m, n))
        a2 = rng.integers(0, mdp.action_sizes, size=(m, n))
        q1 = ev.q_local(s, a)[:, agent]
        vals = np.empty((m, len(kappas)))
        for c, k in enumerate(kappas):
            inside = list(mdp.kappa_hop(agent, k))
            t2, b2 = s2.copy(), a2.copy()
            t2[:, inside] = s[:, inside]
            b2[:, inside] = a[:, inside]
            vals[:, c] = np.abs(q1 - ev.q_local(t2, b2)[:, agent])
        return DecayProfile(kappas, vals, "sampled", evaluations=m * (len(kappas) + 1))
    if method == "search":
        vals, wit, evals = [], [], 0
        for k in kappas:
            best, bw, e = _search(ev, mdp, agent, k, rng, restarts, sweeps)
            vals.append(best)
            wit.append(bw)
            evals += e
        return DecayProfile(kappas, vals, "search", wit, evaluations=evals)
    raise ValueError(f"method must be 'sup', 'sampled' or 'search', got {method!r}")


def _witness(mdp, axes_in, axes_out, shape, best, hi, lo):
    n = mdp.n
    in_idx = np.unravel_index(best, [shape[a] for a in axes_in])
    pairs = []
    for o in (hi, lo):
        out_idx = np.unravel_index(o, [shape[a] for a in axes_out])
        full = np.empty(2 * n, dtype=int)
        for ax, v in zip(axes_in, in_idx):
            full[ax] = v
        for ax, v in zip(axes_out, out_idx):
            full[ax] = v
        pairs.append((tuple(int(x) for x in full[:n]), tuple(int(x) for x in full[n:])))
    return {"s": pairs[0][0], "a": pairs[0][1], "s2": pairs[1][0], "a2": pairs[1][1]}


def _search(ev, mdp, agent, kappa, rng, restarts, sweeps):
    """Coordinate ascent on |Q_i(z) - Q_i(z')| over the outside coordinates (both pairs)."""
    n = mdp.n
    inside = list(mdp.kappa_hop(agent, kappa))
    outside = [j for j in range(n) if j not in inside]
    best_val, best_w, evals = 0.0, None, 0
    for _ in range(restarts):
        s = rng.integers(0, mdp.state_sizes, size=n)
        a = rng.integers(0, mdp.action_sizes, size=n)
        s2, a2 = rng.integers(0, mdp.state_sizes, size=n), rng.integers(0, mdp.action_sizes, size=n)
        s2[inside], a2[inside] = s[inside], a[inside]
        q = ev.q_local(np.stack([s, s2]), np.stack([a, a2]))[:, agent]
        evals += 2
        cur = [q[0], q[1]]
        for _sweep in range(sweeps):
            improved = False
            for which in (0, 1):
                S_, A_ = (s, a) if which == 0 else (s2, a2)
                for j in outside:
                    for arr, size in ((S_, mdp.state_sizes[j]), (A_, mdp.action_sizes[j])):
                        cand_s = np.repeat(S_[None], size, axis=0)
                        cand_a = np.repeat(A_[None], size, axis=0)
                        (cand_s if arr is S_ else cand_a)[:, j] = np.arange(size)
                        qc = ev.q_local(cand_s, cand_a)[:, agent]
                        evals += size
                        other = cur[1 - which]
                        gaps = np.abs(qc - other)
                        k = int(np.argmax(gaps))
                        if gaps[k] > abs(cur[which] - other) + 1e-15:
                            arr[j] = k
                            cur[which] = qc[k]
                            improved = True
            if not improved:
                break
        val = abs(cur[0] - cur[1])
        if val >= best_val:
            best_val = float(val)
            best_w = {"s": tuple(int(x) for x in s), "a": tuple(int(x) for x in a),
                      "s2": tuple(int(x) for x in s2), "a2": tuple(int(x) for x in a2)}
    return best_val, best_w, evals
