r"""The batched softmax actor: logits :math:`\theta_i[x, a_i]` of ``B`` runs in one array.

Policy: :math:`\zeta_i^{\theta_i}(a_i \mid s_{O_i}) \propto \exp\theta_i[s_{O_i}, a_i]`, where
:math:`O_i` is the observation set that the policy class declares in :mod:`netmarl_verify.envs`
(:meth:`~netmarl_verify.envs.Policy.observed`). The actor hard-codes no observation sets. It gets
them from a policy (:func:`observation_sets`), and it gets the row of every (run, agent) from
:func:`~netmarl_verify.envs.observed_rows`. So agent ``i``'s logits have
:math:`\prod_{k \in O_i} S_k` rows, in ``np.ravel_multi_index`` order. For
:class:`~netmarl_verify.envs.LocalSoftmaxPolicy`, which the qu2020 algorithms learn, ``O_i = (i,)``
and row ``x`` is the local state :math:`s_i = x`.

Layout (action-major). The logits live in ``theta`` of shape ``(Amax, B, n, Rmax)``: row ``k``
holds action ``k``'s logit for every (run, agent, observed configuration). Reductions over the
actions (max, sum, cumulative sum) are then elementwise operations between ``Amax`` contiguous
slices rather than reductions along short rows, and this is what makes a batch of 1024 runs fast.
Padding: actions ``a >= A_i`` have logit :math:`-\infty`, so their probability is exactly 0. Rows
``x >= R_i`` have finite logits that are never read.

Sampling convention: :func:`~netmarl_verify.envs.sample_categorical`, the one batched sampler of
the package, on the cumulative sum taken in action order (axis 0). There is one uniform
:math:`u_{b,i}` per run and agent, and ``a = min(#{k : u >= cdf_k}, l)``, where ``l`` is the last
action whose mass survives in the cumulative sum. A padded (zero-mass) action is therefore never
drawn, however the last cdf entry rounds. (The first release used ``#{k : u > cdf_k}`` clamped to
``A_i - 1``. The two differ only on an exact tie ``u == cdf_k`` or on a trailing mass lost to
rounding, and the golden master and ``tests/solvers/sampled/test_sac.py``'s reference are
unchanged.) The uniforms come from one ``rng.random((B, n))`` call per draw.

Score. :math:`\nabla_{\theta_i[x, b]}\log\zeta_i(a_i \mid s_{O_i}) = 1\{s_{O_i} = x\}(1\{a_i = b\} -
\zeta_i(b \mid x))`: :meth:`SoftmaxActor.score_step` adds ``weight[b, i]`` times it to the logits,
so it changes only the observed row :math:`s_{O_i}` of each :math:`\theta_i`.
"""

import math

import numpy as np

from netmarl_verify.envs import observed_rows, sample_categorical
from netmarl_verify.envs._validation import as_float_array

__all__ = ["SoftmaxActor", "observation_sets"]


def observation_sets(policy, n=None):
    """``(O_0, ..., O_{n-1})``: what each agent of ``policy`` observes, in the policy's own words.

    ``policy`` is an :class:`~netmarl_verify.envs.Policy`, i.e. it has ``n`` and ``observed(i)``.
    Each set is returned as a tuple of ints. It is checked to be sorted, to have no repeated
    agent and to lie in ``0..n-1``. When ``n`` is given, ``policy.n`` must equal it.

    Raises
    ------
    TypeError
        ``policy`` has no ``observed`` method.
    ValueError
        A policy for another number of agents, or an observation set that is not valid.
    """
    if not callable(getattr(policy, "observed", None)):
        raise TypeError(f"a policy must declare what its agents observe (observed(i)); {type(policy).__name__} "
                        "does not")
    m = int(policy.n)
    if n is not None and m != n:
        raise ValueError(f"the policy has {m} agents, the environment {n}")
    out = []
    for i in range(m):
        o = tuple(int(k) for k in policy.observed(i))
        if any(not 0 <= k < m for k in o) or any(a >= b for a, b in zip(o, o[1:])):
            raise ValueError(f"policy.observed({i}) = {o} must be sorted distinct agents in 0..{m - 1}")
        out.append(o)
    return tuple(out)


def _row_counts(observed, S):
    """``R_i``: the rows of agent ``i``'s table, one per configuration of the states of ``observed[i]``."""
    return tuple(math.prod(S[k] for k in o) for o in observed)


def _check_initial_logits(initial_logits, B, n, S, A, observed):
    """``initial_logits`` as ``n`` finite float arrays of shape (B, R_i, A_i), copied.

    ``initial_logits`` is a policy with ``.logits`` or one array per agent. Each array has shape
    (R_i, A_i) or (B, R_i, A_i), where ``R_i`` counts the configurations of ``observed[i]`` (for a
    local policy, ``R_i = S_i``). None gives zeros.
    """
    R = _row_counts(observed, S)
    if initial_logits is None:
        return [np.zeros((B, R[i], A[i])) for i in range(n)]
    if hasattr(initial_logits, "logits"):
        initial_logits = initial_logits.logits
    arrs = list(initial_logits)
    if len(arrs) != n:
        raise ValueError(f"`initial_logits` must have one array per agent ({n}), got {len(arrs)}")
    out = []
    for i, t in enumerate(arrs):
        t = as_float_array(t, f"`initial_logits[{i}]` (agent {i})")
        if t.shape == (R[i], A[i]):
            t = np.broadcast_to(t, (B, R[i], A[i]))
        elif t.shape != (B, R[i], A[i]):
            raise ValueError(f"`initial_logits[{i}]` (agent {i}) must have shape {(R[i], A[i])} or "
                             f"{(B, R[i], A[i])}, got {t.shape}")
        if not np.all(np.isfinite(t)):
            raise ValueError(f"`initial_logits[{i}]` (agent {i}) has a non-finite entry")
        out.append(np.array(t))
    return out


class SoftmaxActor:
    """Softmax policies of ``B`` runs, updated in place (observation sets from envs).

    Parameters
    ----------
    logits : sequence of ndarray
        ``logits[i]`` of shape ``(B, R_i, A_i)`` with :math:`R_i = \\prod_{k \\in O_i} S_k`: the
        :math:`\\theta_i` of every run (finite; copied).
    S, A : tuple of int
        Local state and action sizes.
    observed : tuple of tuple of int
        ``observed[i]`` is :math:`O_i`, the agents whose states agent ``i`` reads. Take it from
        the policy class (:func:`observation_sets`); :class:`~netmarl_verify.envs.LocalSoftmaxPolicy`
        gives ``(i,)``.

    Attributes
    ----------
    theta : ndarray, shape (Amax, B, n, Rmax)
        The action-major logits (module docstring).
    observed : tuple of tuple of int
    """

    def __init__(self, logits, S, A, observed):
        n = len(S)
        B = logits[0].shape[0]
        self.n, self.B, self.S, self.A = n, B, tuple(S), tuple(A)
        self.observed = tuple(tuple(o) for o in observed)
        if len(self.observed) != n:
            raise ValueError(f"`observed` must have one set per agent ({n}), got {len(self.observed)}")
        self.R = _row_counts(self.observed, self.S)
        self.Rmax, self.Amax = max(self.R), max(A)
        theta = np.full((self.Amax, B, n, self.Rmax), -np.inf)
        for i in range(n):
            theta[: A[i], :, i, : self.R[i]] = np.moveaxis(logits[i], 2, 0)
            theta[:, :, i, self.R[i]:] = 0.0  # padded rows: finite, never read
        self.theta = theta
        self._rows = theta.reshape(self.Amax, B * n * self.Rmax)  # a view: theta[k] flattened per action
        self._flat_bn = np.arange(B * n)
        self._row_base = (np.arange(B, dtype=np.int64)[:, None] * n + np.arange(n)[None, :]) * self.Rmax
        # every O_i a single agent: the rows are those agents' states, one column gather
        self._single = (np.array([o[0] for o in self.observed], dtype=np.intp)
                        if all(len(o) == 1 for o in self.observed) else None)

    def rows(self, states):
        """The observed row of every (run, agent) for states (B, n), shape (B, n).

        Per agent :func:`~netmarl_verify.envs.observed_rows` ``(O_i, states, S)``.
        """
        if self._single is not None:  # observed_rows(O_i, .) with O_i = (k,) is states[:, k]
            return states[:, self._single]
        return np.stack([observed_rows(o, states, self.S) for o in self.observed], axis=1)

    def probs(self, states):
        """:math:`\\zeta_i(\\cdot \\mid s_{b,O_i})` for states of shape (B, n): a new array (Amax, B, n)."""
        L = np.take(self._rows, self._row_base + self.rows(states), axis=1)  # (Amax, B, n); padded actions: -inf
        L -= L.max(axis=0)
        np.exp(L, out=L)
        L /= L.sum(axis=0)
        return L

    def draw(self, states, u):
        """Actions (B, n) for states (B, n) and uniforms ``u`` (B, n) in [0, 1) (module docstring)."""
        P = self.probs(states)
        np.cumsum(P, axis=0, out=P)
        return sample_categorical(P, u, axis=0)

    def sample(self, states, rng):
        """``draw(states, rng.random((B, n)))``: one uniform per run and agent from ``rng``."""
        return self.draw(states, rng.random((self.B, self.n)))

    def score_step(self, states, actions, weight):
        """:math:`\\theta_i \\mathrel{+}= w_{b,i}\\nabla_{\\theta_i}\\log\\zeta_i(a_{b,i} \\mid s_{b,O_i})`, every run.

        ``weight`` has shape (B, n); the probabilities are those of the logits before the step.
        """
        B, n = self.B, self.n
        P = self.probs(states)  # zeta^theta(. | s), shape (Amax, B, n)
        P *= -1.0
        P.reshape(-1)[actions.reshape(-1) * (B * n) + self._flat_bn] += 1.0  # score: e_a - zeta(. | s)
        P *= weight
        rows_t = (self._row_base + self.rows(states)).reshape(-1)
        for k in range(self.Amax):  # one contiguous row per action: faster than a 2-D fancy +=
            row = self._rows[k]
            row[rows_t] = row[rows_t] + P[k].reshape(-1)

    def logits(self):
        """``logits[i]`` of shape (B, R_i, A_i): views into :attr:`theta` (copy what you keep)."""
        return [np.moveaxis(self.theta[: self.A[i], :, i, : self.R[i]], 0, 2) for i in range(self.n)]
