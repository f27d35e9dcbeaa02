r"""Gossip steps of zhang2025 (Alg. 1 l. 12-15, Alg. 2 l. 12) and their consensus error.

With a consensus matrix :math:`A` (:mod:`netmarl_verify.envs` ``check_consensus_matrix``) and
the agents' rows stacked, one gossip round replaces every row by the weighted average of its
neighbours' rows, :math:`X \leftarrow AX`; :math:`t` rounds give :math:`A^t X`:

* critic (Alg. 2 l. 12): :math:`\hat W = (W^1, \dots, W^N)^\top` (row i = agent i's flattened
  parameters), :math:`W_K = A^{t_{\rm gossip}} \hat W` -- :func:`gossip`;
* actor (Alg. 1 l. 12-15): the TD errors :math:`\delta^i_{t,l}` stacked as
  :math:`\tilde\Delta_0 \in \mathbb R^{M \times N}` (row l = sample, column i = agent),
  :math:`\tilde\Delta = A^{t_{\rm gossip}} \tilde\Delta_0^\top \in \mathbb R^{N \times M}`,
  agent i's consensual TD errors :math:`\tilde\delta^i_{t,:} = \tilde\Delta(i, :)` --
  :func:`gossip_td_errors`.

For doubly stochastic A the mean row is preserved exactly in exact arithmetic,
:math:`\frac1N\mathbb 1^\top A^t X = \frac1N \mathbb 1^\top X` (zhang2025 Fact C.2), and each row's
distance to it is :math:`X^{(t)}_i - \bar x = (A^t_{i,:} - \mathbb 1^\top/N)(X - \mathbb 1 c^\top)`
for any common vector c (the centred form of (20)); :func:`consensus_errors` measures
:math:`\|A^t_{i,:} - \mathbb 1^\top/N\|_2`, which is :math:`\le \sigma_2(A)^t`
(:func:`~netmarl_verify.envs.consensus_sigma2`) and, in the paper, :math:`\le 2\sqrt N (1 +
\eta^{1-N})(1 - \eta^{N-1})^t` ((26) step (d);
:func:`~netmarl_verify.envs.consensus_rate_bound`).
"""

import numbers

import numpy as np

from netmarl_verify.envs._validation import ShapeError, as_float_array, check_finite, fmt_number

__all__ = ["gossip", "gossip_td_errors", "consensus_errors", "disagreement", "GOSSIP_METHODS"]

GOSSIP_METHODS = ("rounds", "power")


def _check_A(A):
    A = as_float_array(A, "`A`")
    if A.ndim != 2 or A.shape[0] != A.shape[1]:
        raise ShapeError(f"`A` must be a square (N, N) consensus matrix, got shape {A.shape}")
    check_finite(A, "`A`")
    return A


def _check_t(t, name="t"):
    if isinstance(t, (bool, np.bool_)) or not isinstance(t, numbers.Integral) or t < 0:
        raise ValueError(f"`{name}` (gossip rounds) must be a non-negative int, got {fmt_number(t)}")
    return int(t)


def gossip(A, X, t, axis=0, method="rounds"):
    r""":math:`A^t X` along the agent axis of stacked rows (zhang2025 Alg. 2 l. 12, :math:`W_K = A^{t_{\rm gossip}}\hat W`).

    Parameters
    ----------
    A : array_like, shape (N, N)
        The consensus matrix (not re-validated here: this is an inner-loop step; validate once
        with :func:`~netmarl_verify.envs.check_consensus_matrix`).
    X : array_like
        Stacked rows; axis ``axis`` has length N (agents), the other axes are anything (e.g.
        ``(N, n_params)``, or ``(B, N, D, m, m)`` with ``axis=1`` for B runs of
        :class:`~netmarl_verify.solvers.sampled.DeepReLU` weights).
    t : int
        Gossip rounds, :math:`t \ge 0`; ``t = 0`` returns a copy of ``X`` (:math:`A^0 = I`).
    axis : int
        The agent axis of ``X``.
    method : {"rounds", "power"}
        ``"rounds"`` (default): t products :math:`X \leftarrow AX`, the literal algorithm, one
        product per communication round; cost :math:`t N^2 p` for p columns and rounding error
        growing like :math:`t N u`. ``"power"``: ``numpy.linalg.matrix_power(A, t) @ X``, i.e.
        :math:`\approx \log_2 t` products of N x N matrices then one with X; cheaper when
        :math:`t p \gg N \log t` and equal to ``"rounds"`` up to rounding. The default is the
        literal one because the algorithms' :math:`t_{\rm gossip}` is small (10 in zhang2025 D.1)
        and p (parameters) is large relative to N, where both cost about the same.

    Returns
    -------
    ndarray
        Same shape as ``X``.

    Examples
    --------
    >>> import numpy as np
    >>> A = np.array([[0.5, 0.5, 0.0], [0.5, 0.0, 0.5], [0.0, 0.5, 0.5]])
    >>> gossip(A, np.array([[3.0], [0.0], [0.0]]), 1).ravel().tolist()
    [1.5, 1.5, 0.0]
    >>> bool(np.allclose(gossip(A, np.array([[3.0], [0.0], [0.0]]), 200), 1.0))   # consensus on the mean
    True
    """
    A = _check_A(A)
    t = _check_t(t)
    if method not in GOSSIP_METHODS:
        raise ValueError(f"`method` must be one of {GOSSIP_METHODS}, got {method!r}")
    X = np.asarray(X, dtype=np.float64)
    if not (isinstance(axis, numbers.Integral) and -X.ndim <= axis < X.ndim):
        raise ValueError(f"`axis` must index an axis of `X` (ndim {X.ndim}), got {axis!r}")
    n = A.shape[0]
    if X.shape[axis] != n:
        raise ShapeError(f"`X` has length {X.shape[axis]} along the agent axis {axis}, but `A` is {n} x {n}")
    Y = np.moveaxis(X, axis, 0)
    shape = Y.shape
    Y = Y.reshape(n, -1)
    if method == "power":
        Y = np.linalg.matrix_power(A, t) @ Y
    else:
        Y = Y.copy()
        for _ in range(t):
            Y = A @ Y  # one gossip round: every agent averages its neighbours' rows
    return np.moveaxis(Y.reshape(shape), 0, axis)


def gossip_td_errors(A, delta0, t, method="rounds"):
    r"""The actor's consensual TD errors, zhang2025 Alg. 1 l. 12-15: :math:`\tilde\Delta = A^{t}\tilde\Delta_0^\top`.

    Parameters
    ----------
    A : array_like, shape (N, N)
    delta0 : array_like, shape ``(..., M, N)``
        :math:`\tilde\Delta_0(l, i) = \delta^i_{t,l}` (Alg. 1 l. 12: row l = sample, column i =
        agent); leading axes (runs) are batch axes.
    t : int
        :math:`t_{\rm gossip}`.
    method : {"rounds", "power"}
        As in :func:`gossip`.

    Returns
    -------
    ndarray, shape ``(..., N, M)``
        :math:`\tilde\Delta`; row i is agent i's :math:`\tilde\delta^i_{t,:}` (l. 15).

    Examples
    --------
    >>> import numpy as np
    >>> A = np.full((2, 2), 0.5)
    >>> gossip_td_errors(A, np.array([[1.0, 3.0], [0.0, 2.0], [4.0, 4.0]]), 1).tolist()
    [[2.0, 1.0, 4.0], [2.0, 1.0, 4.0]]
    """
    d = np.asarray(delta0, dtype=np.float64)
    if d.ndim < 2:
        raise ShapeError(f"`delta0` must have shape (..., M, N) (samples x agents), got {d.shape}")
    return gossip(A, np.swapaxes(d, -1, -2), t, axis=d.ndim - 2, method=method)


def consensus_errors(A, t):
    r"""Each agent's consensus error :math:`\|A^t_{i,:} - \mathbb 1^\top/N\|_2` after t rounds.

    Computed as the rows of :math:`(A - J)^t`, :math:`J = \mathbb 1\mathbb 1^\top/N`, which equals
    :math:`A^t - J` for doubly stochastic A (:math:`AJ = JA = J`) but keeps its relative accuracy
    as it decays: forming :math:`A^t` and subtracting :math:`1/N` would floor at about
    :math:`10^{-16}`. (For a matrix whose sums are off by :math:`\epsilon` the two differ by
    about :math:`t\epsilon`.)

    Parameters
    ----------
    A : array_like, shape (N, N)
    t : int or sequence of int
        Rounds.

    Returns
    -------
    ndarray
        Shape ``(N,)`` for an int ``t``, ``(len(t), N)`` for a sequence.

    Examples
    --------
    >>> import numpy as np
    >>> A = np.array([[0.75, 0.25], [0.25, 0.75]])          # sigma_2 = 1/2
    >>> consensus_errors(A, [0, 1, 3]).round(6).tolist()
    [[0.707107, 0.707107], [0.353553, 0.353553], [0.088388, 0.088388]]
    """
    A = _check_A(A)
    scalar = isinstance(t, numbers.Integral) and not isinstance(t, (bool, np.bool_))
    ts = [_check_t(t)] if scalar else [_check_t(s, "t[k]") for s in t]
    n = A.shape[0]
    C = A - 1.0 / n
    out = np.empty((len(ts), n))
    if not ts:
        return out
    order = np.argsort(ts, kind="stable")
    P, done = np.eye(n) - 1.0 / n, 0  # (A - J)^0 restricted to the centred space is I - J
    for k in order:
        for _ in range(ts[k] - done):
            P = P @ C
        done = ts[k]
        out[k] = np.linalg.norm(P, axis=1)
    return out[0] if scalar else out


def disagreement(X, axis=0):
    r""":math:`\max_i \|X_i - \bar X\|_2` over the agent axis: how far the stacked rows are from consensus.

    ``X`` has the agents along ``axis``; every other axis is flattened into one row per agent.
    Returns a float.

    >>> disagreement([[1.0, 0.0], [-1.0, 0.0]])
    1.0
    """
    X = np.asarray(X, dtype=np.float64)
    Y = np.moveaxis(X, axis, 0).reshape(X.shape[axis], -1)
    return float(np.linalg.norm(Y - Y.mean(axis=0), axis=1).max())
