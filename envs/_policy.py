r"""Softmax policies.

Localized tabular softmax (qu2020 §2.1):

.. math:: \zeta_i^{\theta_i}(a_i \mid s_i) = \frac{\exp \theta_i[s_i, a_i]}{\sum_b \exp \theta_i[s_i, b]},
          \qquad \zeta^\theta(a \mid s) = \prod_i \zeta_i^{\theta_i}(a_i \mid s_i).

Its score is :math:`\partial \log\zeta_i(a_i|s_i) / \partial\theta_i[x, b] = 1\{s_i = x\}(1\{a_i = b\} -
\zeta_i(b|x))`. Probabilities are computed after subtracting the row maximum, so logits of any
magnitude give finite probabilities.
"""

import numpy as np

from ._random import as_generator
from ._validation import ShapeError, as_float_array, check_finite, check_local_indices

__all__ = ["LocalSoftmaxPolicy", "TabularSoftmaxPolicy", "softmax"]


def softmax(logits, axis=-1):
    """Numerically stable softmax along ``axis``."""
    z = logits - np.max(logits, axis=axis, keepdims=True)
    e = np.exp(z)
    return e / e.sum(axis=axis, keepdims=True)


class LocalSoftmaxPolicy:
    r"""Product of local softmax policies :math:`\zeta_i(a_i | s_i)` (qu2020 §2.1).

    Parameters
    ----------
    logits : sequence of ndarray
        ``logits[i]`` has shape ``(S[i], A[i])``; finite.

    Attributes
    ----------
    logits : tuple of ndarray
    n : int

    Examples
    --------
    >>> import numpy as np
    >>> from netmarl_verify.envs import LocalSoftmaxPolicy
    >>> pol = LocalSoftmaxPolicy([np.array([[0.0, np.log(3.0)]])])
    >>> pol.probabilities()[0]
    array([[0.25, 0.75]])
    """

    def __init__(self, logits):
        logits = [as_float_array(t, f"logits[{i}]") for i, t in enumerate(logits)]
        for i, t in enumerate(logits):
            if t.ndim != 2:
                raise ShapeError(f"logits[{i}] (agent {i}) must have shape (S[{i}], A[{i}]), got {t.shape}")
            check_finite(t, f"logits[{i}] (agent {i})")
            t.setflags(write=False)
        self.logits = tuple(logits)
        self.n = len(logits)
        self._probs = None

    def __repr__(self):
        return f"LocalSoftmaxPolicy(n={self.n}, shapes={[t.shape for t in self.logits]})"

    @classmethod
    def uniform(cls, mdp):
        """The uniform policy (all logits zero) for ``mdp``."""
        return cls([np.zeros((S, A)) for S, A in zip(mdp.state_sizes, mdp.action_sizes)])

    @classmethod
    def random(cls, mdp, rng=None):
        """Random policy as in qu2020 App. B.4: i.i.d. uniform weights, normalised per state.

        The weights are drawn on [1e-3, 1] rather than [0, 1] so that every logit
        ``log(weight)`` is finite (a weight of exactly 0 has probability zero anyway).
        """
        rng = as_generator(rng)
        return cls([np.log(rng.uniform(1e-3, 1.0, size=(S, A))) for S, A in zip(mdp.state_sizes, mdp.action_sizes)])

    def probabilities(self):
        """List of arrays ``zeta[i][s_i, a_i]``, each shape ``(S[i], A[i])``."""
        if self._probs is None:
            self._probs = tuple(softmax(t, axis=1) for t in self.logits)
        return list(self._probs)

    def check(self, mdp):
        """Raise :class:`ShapeError` unless the logits match ``mdp``'s local sizes; return ``self``."""
        if self.n != mdp.n:
            raise ShapeError(f"policy has {self.n} agents but the MDP has {mdp.n}")
        for i, t in enumerate(self.logits):
            want = (mdp.state_sizes[i], mdp.action_sizes[i])
            if t.shape != want:
                raise ShapeError(f"logits[{i}] (agent {i}) has shape {t.shape}, the MDP needs {want}")
        return self

    def sample(self, states, rng):
        """Sample local actions for a batch of global states, shape (B, n) -> (B, n).

        ``states`` is validated like :meth:`~envs.NetworkedMDP.step` (shape ``(B, n)`` or ``(n,)``,
        integer local indices within ``0..S[i]-1``, ``S[i] = logits[i].shape[0]``); ``rng`` is an
        int, a Generator or None (:func:`~envs.as_generator`).
        """
        states = check_local_indices(states, [t.shape[0] for t in self.logits], "states")
        probs = self.probabilities()
        u = as_generator(rng).random(states.shape)
        out = np.empty_like(states)
        for i in range(self.n):
            cdf = np.cumsum(probs[i][states[:, i]], axis=1)
            out[:, i] = np.minimum((u[:, i : i + 1] > cdf).sum(axis=1), cdf.shape[1] - 1)
        return out

    # -- flat parameter vector, for finite differences and optimisers
    @property
    def size(self):
        return int(sum(t.size for t in self.logits))

    def flat(self):
        """All logits as one vector (agent 0 first, each in C order)."""
        return np.concatenate([t.ravel() for t in self.logits])

    def with_flat(self, theta):
        """A new policy with logits taken from the flat vector ``theta``."""
        theta = as_float_array(theta, "theta")
        if theta.shape != (self.size,):
            raise ShapeError(f"flat parameter vector must have shape ({self.size},), got {theta.shape}")
        out, k = [], 0
        for t in self.logits:
            out.append(theta[k : k + t.size].reshape(t.shape))
            k += t.size
        return type(self)(out)

    def split(self, flat):
        """Split a flat vector into arrays shaped like :attr:`logits`."""
        out, k = [], 0
        for t in self.logits:
            out.append(np.asarray(flat[k : k + t.size]).reshape(t.shape))
            k += t.size
        return out

    def joint_table(self, mdp, max_bytes=None):
        """The joint policy table ``pi[s, a]`` on global indices (small instances only)."""
        from ._memory import check_memory

        self.check(mdp)
        check_memory(8.0 * mdp.n_states * mdp.n_actions * 2, "the joint policy table", max_bytes=max_bytes)
        probs = self.probabilities()
        S = mdp.state_tuples()
        table = np.ones((mdp.n_states, 1))
        for i in range(self.n):
            table = (table[:, :, None] * probs[i][S[:, i]][:, None, :]).reshape(mdp.n_states, -1)
        return table


class TabularSoftmaxPolicy:
    """Softmax policy on a tabular MDP's global states: ``pi[s, a] ∝ exp(logits[s, a])``.

    Parameters
    ----------
    logits : ndarray, shape (nS, nA)
    """

    def __init__(self, logits):
        t = as_float_array(logits, "logits")
        if t.ndim != 2:
            raise ShapeError(f"logits must have shape (nS, nA), got {t.shape}")
        check_finite(t, "logits")
        t.setflags(write=False)
        self.logits = (t,)
        self.n = 1

    def table(self):
        return softmax(self.logits[0], axis=1)

    def probabilities(self):
        return [self.table()]

    @property
    def size(self):
        return int(self.logits[0].size)

    def flat(self):
        return self.logits[0].ravel().copy()

    def with_flat(self, theta):
        theta = as_float_array(theta, "theta")
        if theta.shape != (self.size,):
            raise ShapeError(f"flat parameter vector must have shape ({self.size},), got {theta.shape}")
        return type(self)(theta.reshape(self.logits[0].shape))

    def split(self, flat):
        return [np.asarray(flat).reshape(self.logits[0].shape)]
