r"""The batched softmax actor: local logits :math:`\theta_i[s_i, a_i]` of ``B`` runs in one array.

Policy: :math:`\zeta_i^{\theta_i}(a_i \mid s_i) \propto \exp\theta_i[s_i, a_i]` (agent ``i`` reads
its own local state; :class:`~netmarl_verify.envs.LocalSoftmaxPolicy` per run).

Layout (action-major). The logits live in ``theta`` of shape ``(Amax, B, n, Smax)``: row ``k``
holds action ``k``'s logit for every (run, agent, state). Reductions over the actions (max, sum,
cumulative sum) are then elementwise operations between ``Amax`` contiguous slices, not
reductions along short rows, which is what makes a batch of 1024 runs fast. Padding: actions
``a >= A_i`` have logit :math:`-\infty` (probability exactly 0); states ``s >= S_i`` have finite
logits that are never read.

Sampling convention: :func:`~netmarl_verify.envs.sample_categorical`, the one batched sampler of
the package, on the cumulative sum taken in action order (axis 0): one uniform :math:`u_{b,i}` per
run and agent, ``a = min(#{k : u >= cdf_k}, l)`` with ``l`` the last action whose mass survives in
the cumulative sum, so a padded (zero-mass) action is never drawn, however the last cdf entry
rounds. (The first release used ``#{k : u > cdf_k}`` clamped to ``A_i - 1``; the two differ only on
an exact tie ``u == cdf_k`` or a trailing mass lost to rounding, and the golden master and
``tests/solvers/sampled/test_sac.py``'s reference are unchanged.) The uniforms are one
``rng.random((B, n))`` call per draw.

Score. :math:`\nabla_{\theta_i[x, b]}\log\zeta_i(a_i \mid s_i) = 1\{s_i = x\}(1\{a_i = b\} -
\zeta_i(b \mid x))`: :meth:`SoftmaxActor.score_step` adds ``weight[b, i]`` times it to the logits,
changing only the row :math:`s_i` of each :math:`\theta_i`.
"""

import numpy as np

from netmarl_verify.envs import sample_categorical
from netmarl_verify.envs._validation import as_float_array

__all__ = ["SoftmaxActor"]


def _check_initial_logits(initial_logits, B, n, S, A):
    """``initial_logits`` (a policy with ``.logits``, or one array per agent of shape (S_i, A_i) or
    (B, S_i, A_i); None: zeros) as ``n`` finite float arrays of shape (B, S_i, A_i), copied."""
    if initial_logits is None:
        return [np.zeros((B, S[i], A[i])) for i in range(n)]
    if hasattr(initial_logits, "logits"):
        initial_logits = initial_logits.logits
    arrs = list(initial_logits)
    if len(arrs) != n:
        raise ValueError(f"`initial_logits` must have one array per agent ({n}), got {len(arrs)}")
    out = []
    for i, t in enumerate(arrs):
        t = as_float_array(t, f"`initial_logits[{i}]` (agent {i})")
        if t.shape == (S[i], A[i]):
            t = np.broadcast_to(t, (B, S[i], A[i]))
        elif t.shape != (B, S[i], A[i]):
            raise ValueError(f"`initial_logits[{i}]` (agent {i}) must have shape {(S[i], A[i])} or "
                             f"{(B, S[i], A[i])}, got {t.shape}")
        if not np.all(np.isfinite(t)):
            raise ValueError(f"`initial_logits[{i}]` (agent {i}) has a non-finite entry")
        out.append(np.array(t))
    return out


class SoftmaxActor:
    """Local softmax policies of ``B`` runs, updated in place.

    Parameters
    ----------
    logits : sequence of ndarray
        ``logits[i]`` of shape ``(B, S_i, A_i)``: :math:`\\theta_i` per run (finite; copied).
    S, A : tuple of int
        Local state and action sizes.

    Attributes
    ----------
    theta : ndarray, shape (Amax, B, n, Smax)
        The action-major logits (module docstring).
    """

    def __init__(self, logits, S, A):
        n = len(S)
        B = logits[0].shape[0]
        self.n, self.B, self.S, self.A = n, B, tuple(S), tuple(A)
        self.Smax, self.Amax = max(S), max(A)
        theta = np.full((self.Amax, B, n, self.Smax), -np.inf)
        for i in range(n):
            theta[: A[i], :, i, : S[i]] = np.moveaxis(logits[i], 2, 0)
            theta[:, :, i, S[i]:] = 0.0  # padded states: finite, never read
        self.theta = theta
        self._rows = theta.reshape(self.Amax, B * n * self.Smax)  # a view: theta[k] flattened per action
        self._flat_bn = np.arange(B * n)
        self._row_base = (np.arange(B, dtype=np.int64)[:, None] * n + np.arange(n)[None, :]) * self.Smax

    def probs(self, states):
        """:math:`\\zeta_i(\\cdot \\mid s_{b,i})` for states of shape (B, n): a new array (Amax, B, n)."""
        L = np.take(self._rows, self._row_base + states, axis=1)  # (Amax, B, n), C order; padded actions: -inf
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
        """:math:`\\theta_i \\mathrel{+}= w_{b,i}\\nabla_{\\theta_i}\\log\\zeta_i(a_{b,i} \\mid s_{b,i})` in every run.

        ``weight`` has shape (B, n); the probabilities are those of the logits before the step.
        """
        B, n = self.B, self.n
        P = self.probs(states)  # zeta^theta(. | s), shape (Amax, B, n)
        P *= -1.0
        P.reshape(-1)[actions.reshape(-1) * (B * n) + self._flat_bn] += 1.0  # score: e_a - zeta(. | s)
        P *= weight
        rows_t = (self._row_base + states).reshape(-1)
        for k in range(self.Amax):  # one contiguous row per action: faster than a 2-D fancy +=
            row = self._rows[k]
            row[rows_t] = row[rows_t] + P[k].reshape(-1)

    def logits(self):
        """``logits[i]`` of shape (B, S_i, A_i): views into :attr:`theta` (copy what you keep)."""
        return [np.moveaxis(self.theta[: self.A[i], :, i, : self.S[i]], 0, 2) for i in range(self.n)]
