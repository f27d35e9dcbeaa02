r"""The largest total variation between the agent marginals of two chains started from pairs that agree near the agent.

For the chain :math:`z = (s, a)` of a networked MDP under a localized policy, with
:math:`\pi^z_{t,i}` the law of :math:`z_i(t)` started at :math:`z`,

.. math:: \sup\{TV(\pi^z_{t,i}, \pi^{\tilde z}_{t,i}) : z_{N_i^\kappa} = \tilde z_{N_i^\kappa}\}

(qu2020 Lemma 3 bounds it by :math:`\rho^t`). :func:`marginal_tv_sup` computes it exactly on small
instances without enumerating pairs: :math:`TV(p, q) = \max_{E \subseteq Z_i}(p(E) - q(E))`, so
the largest TV between two initial pairs with the same inside coordinates is
:math:`\max_E(\max_z \pi^z_{t,i}(E) - \min_z \pi^z_{t,i}(E))` over each group of initial pairs
sharing :math:`z_{N_i^\kappa}`: one marginal per initial pair and :math:`2^{|Z_i|}` events. The
marginals are propagated exactly (:func:`~netmarl_verify.solvers.exact.agent_marginals`).
"""

import numpy as np

from netmarl_verify import envs

from ._interaction import agent_marginals

__all__ = ["marginal_tv_sup"]


def _all_pairs(mdp):
    """Every global (s, a) as local index arrays, shape (|S||A|, n) each."""
    S = mdp.state_tuples()
    A = mdp.action_tuples()
    return np.repeat(S, A.shape[0], axis=0), np.tile(A, (S.shape[0], 1))


def _events(m):
    """Indicator matrix (m, 2^m - 2) of the non-trivial subsets of a set of size m."""
    cols = [[(e >> k) & 1 for k in range(m)] for e in range(1, 2**m - 1)]
    return np.array(cols, dtype=float).T


def _group_spread(values, keys):
    """max over groups of (max - min) of `values` (N, ...) within each group of equal `keys`."""
    order = np.argsort(keys, kind="stable")
    k = keys[order]
    v = values[order]
    starts = np.flatnonzero(np.r_[True, k[1:] != k[:-1]])
    spread = np.maximum.reduceat(v, starts, axis=0) - np.minimum.reduceat(v, starts, axis=0)
    return spread.max(axis=0)


def marginal_tv_sup(mdp, policy, agent, kappas, horizon, *, n_pairs=None, rng=None):
    r"""Largest :math:`TV(\pi_{t,i}, \tilde\pi_{t,i})` over initial pairs agreeing on :math:`N_i^\kappa`.

    Parameters
    ----------
    mdp : NetworkedMDP
    policy : LocalSoftmaxPolicy or LocalTabularPolicy
    agent : int
        :math:`i`.
    kappas : sequence of int
    horizon : int
        Largest :math:`t`.
    n_pairs : int or None
        ``None``: the exact supremum over *all* pairs :math:`(z, \tilde z)` with
        :math:`z_{N_i^\kappa} = \tilde z_{N_i^\kappa}` (module docstring; enumerates the
        :math:`|S||A|` initial pairs). Otherwise the maximum over `n_pairs` random pairs:
        :math:`z` uniform, :math:`\tilde z` equal to :math:`z` on :math:`N_i^\kappa` and different
        from :math:`z_j = (s_j, a_j)` at every outside agent :math:`j` (uniform among the others).
    rng : numpy.random.Generator, for random pairs.

    Returns
    -------
    ndarray, shape (len(kappas), horizon + 1)
        Indexed ``[kappa index, t]``; a lower bound on the supremum with random pairs.
    """
    n = mdp.n
    kappas = [int(k) for k in kappas]
    if n_pairs is None:
        S, A = _all_pairs(mdp)
        M = agent_marginals(mdp, policy, agent, S, A, horizon)
        M = M.reshape(M.shape[0], horizon + 1, -1)  # (pairs, t, Z_i)
        pE = M @ _events(M.shape[-1])  # (pairs, t, events): probability of each event
        out = np.empty((len(kappas), horizon + 1))
        for c, k in enumerate(kappas):
            inside = list(mdp.kappa_hop(agent, k))
            sizes = [mdp.state_sizes[j] for j in inside] + [mdp.action_sizes[j] for j in inside]
            keys = np.ravel_multi_index(tuple(S[:, inside].T) + tuple(A[:, inside].T), sizes)
            out[c] = _group_spread(pE, keys).max(axis=-1)
        return out
    rng = envs.as_generator(rng)
    m = int(n_pairs)
    S_sz, A_sz = np.array(mdp.state_sizes), np.array(mdp.action_sizes)
    out = np.empty((len(kappas), horizon + 1))
    for c, k in enumerate(kappas):
        inside = np.zeros(n, dtype=bool)
        inside[list(mdp.kappa_hop(agent, k))] = True
        s = rng.integers(0, S_sz, size=(m, n))
        a = rng.integers(0, A_sz, size=(m, n))
        z = s * A_sz + a  # local pair index z_j = (s_j, a_j)
        shift = rng.integers(1, S_sz * A_sz, size=(m, n))  # != 0: a different pair outside
        z2 = np.where(inside, z, (z + shift) % (S_sz * A_sz))
        s2, a2 = z2 // A_sz, z2 % A_sz
        M = agent_marginals(mdp, policy, agent, np.vstack([s, s2]), np.vstack([a, a2]), horizon)
        M = M.reshape(2, m, horizon + 1, -1)
        out[c] = 0.5 * np.abs(M[0] - M[1]).sum(axis=-1).max(axis=0)
    return out
