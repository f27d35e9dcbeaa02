r"""Numpy ReLU networks of gu2021 and zhang2025, batched over inputs and over independent copies.

Two architectures, each with a fixed part drawn once (:meth:`init`) and a trained weight array
``W`` that the caller holds and updates:

:class:`TwoLayerReLU` -- gu2021 eq. (13), width :math:`M`, input dimension :math:`d`:

.. math::
    f(x; W) = \frac{1}{\sqrt M} \sum_{m=1}^M b_m \, \mathrm{ReLU}(x^\top [W]_m), \qquad
    [W]_m(0) \sim N(0, I_d / d), \quad b_m \text{ fixed}, \quad \text{no bias},

with gradient (gu2021 eq. (15) *with* :math:`b_m`, the derivative of (13))
:math:`\partial f / \partial [W]_m = \frac{b_m}{\sqrt M} \mathbb 1\{x^\top [W]_m > 0\} x`, and the
projection set of eq. (21) / (37), :math:`\{W : \|W - W(0)\|_\infty \le R / \sqrt M\}`, a box.

:class:`DeepReLU` -- zhang2025 eq. (5), depth :math:`D`, width :math:`m`, input dimension :math:`d`:

.. math::
    x^{(0)} = H x, \qquad x^{(h)} = \frac{1}{\sqrt m} \mathrm{ReLU}(W^{(h)} x^{(h-1)}),\ h \in [D],
    \qquad \hat Q(x; W) = b^\top x^{(D)},

:math:`H \in \mathbb R^{m \times d}`, :math:`W^{(h)} \in \mathbb R^{m \times m}` with i.i.d.
:math:`N(0, 2)` entries at init, :math:`b \sim N(0, I_m)`; only
:math:`W = (W^{(1)}, \dots, W^{(D)})` is trained, and the projection set of Alg. 2 l. 2 / l. 8 is
:math:`\mathcal B(B) = \{W : \|W^{(h)} - W^{(h)}(0)\|_F \le B\ \forall h\}`.

Shapes and the copies axis
--------------------------
A network object holds ``copies`` independent networks (``copies`` is a shape: ``()`` for one
network, ``(N,)`` for N agents, ``(B, N)`` for B runs of N agents). Every array carries the copies
axes first: :class:`TwoLayerReLU` weights ``W`` have shape ``copies + (M, d)``; :class:`DeepReLU`
weights have shape ``copies + (D, m, m)`` (``W[..., h - 1, :, :]`` is :math:`W^{(h)}`). Inputs
``x`` have shape ``(n, d)`` (the same ``n`` inputs for every copy) or ``copies + (n, d)``; outputs
have shape ``copies + (n,)``. Nothing loops in Python over copies or inputs.

ReLU is :math:`\mathbb 1\{u > 0\} u` (gu2021 §4.3), and its derivative at the kink is taken as 0
(the indicator :math:`\mathbb 1\{u > 0\}` of eq. (15)); gradients are exact away from the kinks.

:func:`average_parameters` (the ``average`` method of both classes) averages weights across one
copies axis (zhang2025 Fact C.2, :math:`\bar W = \frac1N \sum_i W^i`); :func:`running_average`
is the time average of gu2021 eq. (22) and zhang2025 Alg. 2 l. 9. Flattening is C order (row
major), ``copies + (n_params,)``: for gu2021 it is the stacking :math:`W = ([W]_1^\top, \dots,
[W]_M^\top)^\top`; for zhang2025 the paper's :math:`\mathrm{vec}(W^{(h)})` is column major, so
our flat vector is a fixed permutation of the paper's (the Euclidean geometry, the balls and the
projections are the same).
"""

import math
import numbers

import numpy as np

from netmarl_verify.envs._random import as_generator
from netmarl_verify.envs._validation import ShapeError, fmt_number

__all__ = ["TwoLayerReLU", "DeepReLU", "average_parameters", "running_average"]


def _as_copies(copies):
    if isinstance(copies, numbers.Integral) and not isinstance(copies, bool):
        copies = (int(copies),)
    try:
        copies = tuple(int(c) for c in copies)
    except TypeError:
        raise TypeError(f"`copies` must be an int or a tuple of ints, got {copies!r}") from None
    if any(c < 1 for c in copies):
        raise ValueError(f"`copies` must hold positive sizes, got {copies}")
    return copies


def _positive_int(value, name):
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < 1:
        raise ValueError(f"`{name}` must be a positive int, got {fmt_number(value)}")
    return int(value)


def _frozen(arr):
    arr = np.array(arr, dtype=np.float64)
    arr.setflags(write=False)
    return arr


def _check_weights(W, expected, what="W"):
    W = np.asarray(W, dtype=np.float64)
    if W.shape != expected:
        raise ShapeError(f"`{what}` must have shape {expected} (copies + weight shape), got {W.shape}")
    return W


def _check_inputs(x, copies, dim):
    x = np.asarray(x, dtype=np.float64)
    if x.ndim < 2 or x.shape[-1] != dim or (x.ndim > 2 and x.shape[:-2] != copies):
        raise ShapeError(f"inputs `x` must have shape (n, {dim}) or copies + (n, {dim}) = {copies + ('n', dim)}, "
                         f"got {x.shape}")
    return x


def _check_grad_out(g, copies, n):
    g = np.asarray(g, dtype=np.float64)
    if g.shape == (n,):
        g = np.broadcast_to(g, copies + (n,))
    if g.shape != copies + (n,):
        raise ShapeError(f"`grad_out` must have shape ({n},) or copies + (n,) = {copies + (n,)}, got {g.shape}")
    return g


def _radius(radius, copies, n_trailing):
    r = np.asarray(radius, dtype=np.float64)
    if not (np.all(np.isfinite(r)) and np.all(r >= 0)):
        raise ValueError(f"the projection radius must be finite and >= 0, got {radius!r}")
    try:
        r = np.broadcast_to(r, copies)
    except ValueError:
        raise ShapeError(f"the projection radius must be a scalar or broadcast to copies {copies}, "
                         f"got shape {r.shape}") from None
    return r.reshape(copies + (1,) * n_trailing)


def average_parameters(params, weights=None, axis=0):
    r"""Weighted average of parameter arrays across one copies axis.

    :math:`\bar W = \sum_k w_k W_k / \sum_k w_k`; with ``weights=None`` the plain mean
    :math:`\frac1N \sum_i W^i` of zhang2025 Fact C.2.

    Parameters
    ----------
    params : array_like, shape ``copies + weight_shape``
    weights : array_like, shape ``(copies[axis],)``, optional
        Non-negative, finite, positive sum (normalised here, as :func:`numpy.average` does).
    axis : int
        The copies axis to average over (``0 <= axis < params.ndim``).

    Returns
    -------
    ndarray
        ``params`` with axis ``axis`` removed.
    """
    params = np.asarray(params, dtype=np.float64)
    if not (isinstance(axis, numbers.Integral) and 0 <= axis < params.ndim):
        raise ValueError(f"`axis` must index an axis of `params` (ndim {params.ndim}), got {axis!r}")
    k = params.shape[axis]
    if weights is None:
        return params.mean(axis=axis)
    w = np.asarray(weights, dtype=np.float64)
    if w.shape != (k,):
        raise ShapeError(f"`weights` must have shape ({k},) (copies along axis {axis}), got {w.shape}")
    if not (np.all(np.isfinite(w)) and np.all(w >= 0) and w.sum() > 0):
        raise ValueError(f"`weights` must be finite, non-negative and not all zero, got {w}")
    return np.tensordot(w / w.sum(), params, axes=([0], [axis]))


def running_average(average, new, t):
    r"""gu2021 eq. (22) / zhang2025 Alg. 2 l. 9: :math:`\frac{t+1}{t+2}\bar W + \frac{1}{t+2} W(t+1)`.

    After the updates ``t = 0, ..., T - 2`` starting from ``average = W(0)`` it is the mean of
    ``W(0), ..., W(T-1)``.

    >>> import numpy as np
    >>> avg = np.zeros(2)
    >>> for t, w in enumerate([np.ones(2), 4 * np.ones(2)]):
    ...     avg = running_average(avg, w, t)
    >>> avg.tolist()          # mean of 0, 1, 4
    [1.6666666666666665, 1.6666666666666665]
    """
    if isinstance(t, bool) or not isinstance(t, numbers.Integral) or t < 0:
        raise ValueError(f"`t` must be a non-negative int, got {fmt_number(t)}")
    return (t + 1) / (t + 2) * np.asarray(average, dtype=np.float64) + np.asarray(new, dtype=np.float64) / (t + 2)


def _expand(arr, n, axis):
    return np.repeat(np.expand_dims(arr, axis), n, axis=axis)


class _CopiesMixin:
    """Shared plumbing: ``copies``, flattening, averaging, expanding."""

    _fixed = ()  # names of the fixed arrays (all carry the copies axes first)

    @property
    def weight_shape(self):
        """Shape of one copy's trained weights."""
        return self.W0.shape[len(self.copies):]

    @property
    def n_params(self):
        """Number of trained parameters of one copy."""
        return int(np.prod(self.weight_shape))

    def flatten(self, W):
        """``W`` (``copies + weight_shape``) as ``copies + (n_params,)``, C order."""
        W = _check_weights(W, self.W0.shape)
        return W.reshape(self.copies + (self.n_params,))

    def unflatten(self, v):
        """Inverse of :meth:`flatten`."""
        v = _check_weights(v, self.copies + (self.n_params,), "v")
        return v.reshape(self.W0.shape)

    def average(self, W, weights=None, axis=0, check_common=True):
        """Average the trained weights across copies axis ``axis`` (:func:`average_parameters`).

        With ``check_common`` (default) the copies averaged must share their fixed parts and their
        initial weights (zhang2025 Alg. 2 l. 2: :math:`W^i(0) = W(0)` for every agent); averaging
        networks with different fixed layers has no meaning, so that is a ``ValueError``.
        """
        if not (isinstance(axis, numbers.Integral) and 0 <= axis < len(self.copies)):
            raise ValueError(f"`axis` must be a copies axis (0..{len(self.copies) - 1}), got {axis!r}")
        W = _check_weights(W, self.W0.shape)
        if check_common:
            for name in self._fixed + ("W0",):
                arr = getattr(self, name)
                first = np.take(arr, [0], axis=axis)
                if not np.array_equal(arr, np.broadcast_to(first, arr.shape)):
                    raise ValueError(f"the copies along axis {axis} have different `{name}`; averaging their "
                                     f"weights is meaningless (build them with expand(), or check_common=False)")
        return average_parameters(W, weights, axis)

    def expand(self, n, axis=0):
        """A network object with ``n`` identical copies of this one inserted at copies axis ``axis``.

        E.g. ``DeepReLU.init(rng, d, m, D, copies=B).expand(N, axis=1)``: B runs, each with N agents
        starting from the run's common initialisation (zhang2025 Alg. 2 l. 2).
        """
        n = _positive_int(n, "n")
        if not (isinstance(axis, numbers.Integral) and 0 <= axis <= len(self.copies)):
            raise ValueError(f"`axis` must be in 0..{len(self.copies)}, got {axis!r}")
        new = object.__new__(type(self))
        for name in self._fixed + ("W0",):
            setattr(new, name, _frozen(_expand(getattr(self, name), n, axis)))
        new.copies = self.copies[:axis] + (n,) + self.copies[axis:]
        for name, value in vars(self).items():
            if name not in self._fixed + ("W0", "copies"):
                setattr(new, name, value)
        return new


class TwoLayerReLU(_CopiesMixin):
    r"""gu2021 eq. (13): :math:`f(x; W) = \frac{1}{\sqrt M}\sum_m b_m \mathrm{ReLU}(x^\top [W]_m)`.

    Build with :meth:`init`. The trained weights ``W`` (shape ``copies + (M, d)``, row ``m`` is
    :math:`[W]_m`) are passed to each method; ``W=None`` means the initial weights ``W0``.

    Attributes
    ----------
    W0 : ndarray, shape ``copies + (M, d)``, read-only
        :math:`W(0)`, rows i.i.d. :math:`N(0, I_d / d)`.
    b : ndarray, shape ``copies + (M,)``, read-only
        The fixed output weights.
    copies : tuple of int
    width, dim : int
        :math:`M` and :math:`d`.

    Notes
    -----
    **Output weights (two readings in the paper).** gu2021 §4.3 writes :math:`f(x; W)` for :math:`b_m = 1`
    fixed, while its Alg. 1 l. 2 and Alg. 2 l. 2 draw :math:`b_m \sim \mathrm{Unif}\{-1, 1\}`; both
    are available (``b="rademacher"``, the default, follows the algorithms; ``b="ones"`` §4.3).
    The gradient carries :math:`b_m` (it is the derivative of (13); (15) prints it without).

    **Projection.** :meth:`project` is eq. (21) (Alg. 1 l. 10, Alg. 2 l. 10): the Euclidean
    projection onto :math:`\|W - W(0)\|_\infty \le R/\sqrt M`. The paper does not say which
    :math:`\infty`-norm of a matrix; we read it as the entrywise maximum, a box of half-width
    :math:`R/\sqrt M` per coordinate (the remark after (37) compares this
    radius with the single-agent :math:`R/\sqrt{Md}`, a per-coordinate scale). The Euclidean
    projection onto a box is the coordinatewise clip. (The operator :math:`\infty`-norm, max
    absolute row sum, would be another reading; it is not implemented.)

    **Scale at init.** With :math:`[W]_m \sim N(0, I/d)`, :math:`x^\top[W]_m \sim N(0,
    \|x\|^2/d)`, so for Rademacher ``b``: :math:`\mathbb E f = 0`,
    :math:`\mathbb E f^2 = \|x\|^2 / (2d)` for every M. For ``b="ones"`` the mean grows:
    :math:`\mathbb E f = \sqrt{M}\,\|x\| / \sqrt{2\pi d}`. Measured (``init(0, 4, 64,
    copies=20000)``, one input with :math:`\|x\| = 1`): Rademacher mean square 0.1209 (theory
    1/8 = 0.125), mean -0.0019; ``b="ones"`` mean 1.594 (theory 1.596).

    Examples
    --------
    >>> import numpy as np
    >>> net = TwoLayerReLU.init(0, dim=3, width=8, copies=2)
    >>> x = np.eye(3)[:2]                                   # two inputs, shared by both copies
    >>> net.forward(x).shape, net.features(x).shape, net.backward(x, np.ones(2)).shape
    ((2, 2), (2, 2, 8, 3), (2, 8, 3))
    >>> W = net.project(net.W0 + 1.0, radius=1.0)            # box of half-width 1/sqrt(8)
    >>> bool(np.allclose(np.abs(W - net.W0), 1 / np.sqrt(8)))
    True
    """

    _fixed = ("b",)

    def __init__(self, W0, b):
        W0 = _frozen(W0)
        if W0.ndim < 2:
            raise ShapeError(f"`W0` must have shape copies + (M, d), got {W0.shape}")
        copies = W0.shape[:-2]
        b = _frozen(np.broadcast_to(np.asarray(b, dtype=np.float64), W0.shape[:-1]))
        if not (np.all(np.isfinite(W0)) and np.all(np.isfinite(b))):
            raise ValueError("`W0` and `b` must be finite")
        self.W0, self.b, self.copies = W0, b, copies
        self.width, self.dim = W0.shape[-2], W0.shape[-1]

    @classmethod
    def init(cls, rng, dim, width, copies=(), b="rademacher"):
        r"""Draw ``copies`` independent networks (gu2021 Alg. 1 l. 2 / Alg. 2 l. 2).

        Parameters
        ----------
        rng : int, numpy.random.Generator or None
            Through :func:`~netmarl_verify.envs.as_generator`. ``b`` is drawn first, then ``W0``.
        dim, width : int
            :math:`d` and :math:`M`.
        copies : int or tuple of int
        b : {"rademacher", "ones"} or array_like
            :math:`b_m \sim \mathrm{Unif}\{\pm 1\}` (Alg. 1-2), :math:`b_m = 1` (§4.3), or given
            (broadcast to ``copies + (M,)``).
        """
        rng = as_generator(rng)
        dim, width, copies = _positive_int(dim, "dim"), _positive_int(width, "width"), _as_copies(copies)
        if isinstance(b, str):
            if b == "rademacher":
                b = rng.choice(np.array([-1.0, 1.0]), size=copies + (width,))
            elif b == "ones":
                b = np.ones(copies + (width,))
            else:
                raise ValueError(f"`b` must be 'rademacher', 'ones' or an array, got {b!r}")
        W0 = rng.standard_normal(copies + (width, dim)) / math.sqrt(dim)  # [W]_m(0) ~ N(0, I_d / d)
        return cls(W0, b)

    def _weights(self, W):
        return self.W0 if W is None else _check_weights(W, self.W0.shape)

    def preactivations(self, x, W=None):
        r""":math:`x^\top [W]_m` for every input and unit, shape ``copies + (n, M)``."""
        x = _check_inputs(x, self.copies, self.dim)
        return np.matmul(x, np.swapaxes(self._weights(W), -1, -2))

    def forward(self, x, W=None):
        """:math:`f(x; W)`, eq. (13), shape ``copies + (n,)``."""
        z = self.preactivations(x, W)
        return np.matmul(np.maximum(z, 0.0), self.b[..., :, None])[..., 0] / math.sqrt(self.width)

    def features(self, x, W=None):
        r"""Per-input gradients :math:`\phi_W(x) = \nabla_W f(x; W)`, shape ``copies + (n, M, d)``.

        :math:`[\phi_W]_m(x) = \frac{b_m}{\sqrt M}\mathbb 1\{x^\top[W]_m > 0\}\, x` (eq. (15) with
        :math:`b_m`); :math:`f(x; W) = \langle \phi_W(x), W \rangle` (ReLU is 1-homogeneous).
        """
        x = _check_inputs(x, self.copies, self.dim)
        gate = (self.preactivations(x, W) > 0) * (self.b[..., None, :] / math.sqrt(self.width))
        return gate[..., :, :, None] * x[..., :, None, :]

    def backward(self, x, grad_out, W=None):
        r"""Vector-Jacobian product :math:`\sum_k g_k \nabla_W f(x_k; W)`, shape ``copies + (M, d)``.

        ``grad_out`` has shape ``(n,)`` or ``copies + (n,)`` (e.g. the TD errors of a batch).
        Gradient w.r.t. the trained ``W`` only (``b`` is fixed).
        """
        x = _check_inputs(x, self.copies, self.dim)
        z = self.preactivations(x, W)
        g = _check_grad_out(grad_out, self.copies, z.shape[-2])
        gz = g[..., :, None] * (z > 0)                                  # copies + (n, M)
        return np.matmul(np.swapaxes(gz, -1, -2), x) * (self.b[..., :, None] / math.sqrt(self.width))

    def project(self, W, radius):
        r"""Euclidean projection onto :math:`\{W: \|W - W(0)\|_\infty \le R/\sqrt M\}` (eq. (21)).

        ``radius`` is the paper's :math:`R` (scalar, or one per copy); the box half-width is
        :math:`R/\sqrt M`. The projection onto a box is the coordinatewise clip.
        """
        W = _check_weights(W, self.W0.shape)
        half = _radius(radius, self.copies, 2) / math.sqrt(self.width)
        return np.clip(W, self.W0 - half, self.W0 + half)

    def distance(self, W):
        r""":math:`\sqrt M\,\|W - W(0)\|_\infty` per copy, shape ``copies``: ``W`` is in the set of
        radius :math:`R` iff this is :math:`\le R`."""
        W = _check_weights(W, self.W0.shape)
        return np.abs(W - self.W0).max(axis=(-2, -1)) * math.sqrt(self.width)


class DeepReLU(_CopiesMixin):
    r"""zhang2025 eq. (5): :math:`\hat Q(x; W) = b^\top x^{(D)}`, :math:`x^{(h)} = \frac{1}{\sqrt m}\mathrm{ReLU}(W^{(h)} x^{(h-1)})`, :math:`x^{(0)} = Hx`.

    Build with :meth:`init`. The trained weights ``W`` (shape ``copies + (D, m, m)``) are passed
    to each method; ``W=None`` means the initial weights ``W0``.

    Attributes
    ----------
    H : ndarray, shape ``copies + (m, d)``, read-only
        Fixed input layer, i.i.d. :math:`N(0, 2)`.
    W0 : ndarray, shape ``copies + (D, m, m)``, read-only
        :math:`W(0)`, i.i.d. :math:`N(0, 2)`.
    b : ndarray, shape ``copies + (m,)``, read-only
        Fixed output layer, i.i.d. :math:`N(0, 1)`.
    copies : tuple of int
    width, depth, dim : int
        :math:`m`, :math:`D`, :math:`d`.

    Notes
    -----
    **Literal scaling.** This is (5) as printed: :math:`x^{(0)} = Hx` carries *no*
    :math:`1/\sqrt m` (the hidden layers do). With :math:`N(0, 2)` weights each hidden layer
    preserves the squared norm in expectation, :math:`\mathbb E[\|x^{(h)}\|^2 \mid x^{(h-1)}] =
    \|x^{(h-1)}\|^2` (:math:`\mathbb E\,\mathrm{ReLU}(z)^2 = \mathrm{Var}(z)/2`), while
    :math:`\mathbb E\|x^{(0)}\|^2 = 2m\|x\|^2`; hence, over the initialisation,
    :math:`\mathbb E\,\hat Q(x; W(0)) = 0` and :math:`\mathbb E\,\hat Q(x; W(0))^2 = 2m\|x\|^2`
    exactly: the output at init is of order :math:`\sqrt{2m}`, not :math:`O(1)`, and grows with
    the width. Measured (``init(0, 6, m, D, copies=4000)``, one input with :math:`\|x\| = 1`):
    m = 20, D = 5 (the D.1 experiments' size): mean square 42.3 ± 2.1 (standard error), RMS
    6.50 (theory 40, 6.32); m = 80, D = 2: mean square 160.5 ± 4.3 (theory 160). An extra
    :math:`1/\sqrt m` on :math:`x^{(0)}` would make it :math:`\mathbb E\hat Q^2 = 2\|x\|^2`; we do
    not add it.

    **Projection.** :meth:`project` is Alg. 2 l. 8, the Euclidean projection onto the product of
    per-layer Frobenius balls :math:`\|W^{(h)} - W^{(h)}(0)\|_F \le B`; the set is a product, so
    the projection is the radial projection of each layer separately.

    **Input.** (5) assumes :math:`\|x\|_2 = 1` (:math:`x = \xi(s, a)`); not enforced here.

    Examples
    --------
    >>> import numpy as np
    >>> net = DeepReLU.init(0, dim=4, width=6, depth=3, copies=(2, 5))    # 2 runs x 5 agents
    >>> x = np.full((7, 4), 0.5)                                        # 7 unit-norm inputs
    >>> net.forward(x).shape, net.backward(x, np.ones(7)).shape
    ((2, 5, 7), (2, 5, 3, 6, 6))
    >>> W = net.project(net.W0 + 1.0, radius=0.5)
    >>> bool(np.allclose(net.layer_distances(W), 0.5))
    True
    """

    _fixed = ("H", "b")

    def __init__(self, H, W0, b):
        H, W0, b = _frozen(H), _frozen(W0), _frozen(b)
        if W0.ndim < 3 or W0.shape[-1] != W0.shape[-2]:
            raise ShapeError(f"`W0` must have shape copies + (D, m, m), got {W0.shape}")
        copies, m = W0.shape[:-3], W0.shape[-1]
        if H.ndim != len(copies) + 2 or H.shape[:-1] != copies + (m,):
            raise ShapeError(f"`H` must have shape copies + (m, d) = {copies + (m, 'd')}, got {H.shape}")
        if b.shape != copies + (m,):
            raise ShapeError(f"`b` must have shape copies + (m,) = {copies + (m,)}, got {b.shape}")
        if not all(np.all(np.isfinite(a)) for a in (H, W0, b)):
            raise ValueError("`H`, `W0` and `b` must be finite")
        self.H, self.W0, self.b, self.copies = H, W0, b, copies
        self.width, self.depth, self.dim = m, W0.shape[-3], H.shape[-1]

    @classmethod
    def init(cls, rng, dim, width, depth, copies=()):
        """Draw ``copies`` independent networks (zhang2025 §3.2 after eq. (5)).

        Parameters
        ----------
        rng : int, numpy.random.Generator or None
            Through :func:`~netmarl_verify.envs.as_generator`; ``H``, then ``W0``, then ``b``.
        dim, width, depth : int
            :math:`d`, :math:`m`, :math:`D`.
        copies : int or tuple of int
            Independent initialisations; use :meth:`expand` for agents sharing one
            (zhang2025 Alg. 2 l. 2, :math:`W^i(0) = W(0)`).
        """
        rng = as_generator(rng)
        dim, width = _positive_int(dim, "dim"), _positive_int(width, "width")
        depth, copies = _positive_int(depth, "depth"), _as_copies(copies)
        root2 = math.sqrt(2.0)
        H = root2 * rng.standard_normal(copies + (width, dim))           # N(0, 2)
        W0 = root2 * rng.standard_normal(copies + (depth, width, width))  # N(0, 2)
        b = rng.standard_normal(copies + (width,))                        # N(0, 1)
        return cls(H, W0, b)

    def _weights(self, W):
        return self.W0 if W is None else _check_weights(W, self.W0.shape)

    def _forward_all(self, x, W):
        """Hidden vectors ``xs[0..D]`` and pre-activations ``zs[1..D]`` (``zs[0]`` is None)."""
        x = _check_inputs(x, self.copies, self.dim)
        W = self._weights(W)
        scale = 1.0 / math.sqrt(self.width)
        xs, zs = [np.matmul(x, np.swapaxes(self.H, -1, -2))], [None]    # x^(0) = H x, copies + (n, m)
        for h in range(self.depth):
            z = np.matmul(xs[-1], np.swapaxes(W[..., h, :, :], -1, -2))  # W^(h) x^(h-1)
            zs.append(z)
            xs.append(np.maximum(z, 0.0) * scale)                        # eq. (5)
        return xs, zs

    def preactivations(self, x, W=None):
        r""":math:`W^{(h)} x^{(h-1)}`, shape ``copies + (n, D, m)``."""
        _, zs = self._forward_all(x, W)
        return np.stack(zs[1:], axis=-2)

    def forward(self, x, W=None):
        r""":math:`\hat Q(x; W)`, eq. (5), shape ``copies + (n,)``."""
        xs, _ = self._forward_all(x, W)
        return np.matmul(xs[-1], self.b[..., :, None])[..., 0]

    def _backprop(self, x, W, grad_out, per_sample):
        xs, zs = self._forward_all(x, W)
        W = self._weights(W)
        n = xs[0].shape[-2]
        g = np.ones(self.copies + (n,)) if grad_out is None else _check_grad_out(grad_out, self.copies, n)
        scale = 1.0 / math.sqrt(self.width)
        delta = g[..., :, None] * self.b[..., None, :]                   # dQ/dx^(D), copies + (n, m)
        grads = [None] * self.depth
        for h in range(self.depth - 1, -1, -1):
            gz = delta * (zs[h + 1] > 0) * scale                         # dQ/dz^(h+1)
            if per_sample:
                grads[h] = gz[..., :, :, None] * xs[h][..., :, None, :]  # copies + (n, m, m)
            else:
                grads[h] = np.matmul(np.swapaxes(gz, -1, -2), xs[h])     # copies + (m, m)
            if h:
                delta = np.matmul(gz, W[..., h, :, :])                   # W^T gz, row form
        return np.stack(grads, axis=-3)

    def features(self, x, W=None):
        r"""Per-input gradients :math:`\nabla_W \hat Q(x; W)`, shape ``copies + (n, D, m, m)``.

        At :math:`W = W(0)` these are zhang2025's :math:`\phi(x)` of the linearisation (Fact C.3).
        """
        return self._backprop(x, W, None, per_sample=True)

    def backward(self, x, grad_out, W=None):
        r"""Vector-Jacobian product :math:`\sum_k g_k \nabla_W \hat Q(x_k; W)`, shape ``copies + (D, m, m)``.

        ``grad_out`` has shape ``(n,)`` or ``copies + (n,)``. Gradient w.r.t. the trained ``W``
        only (``H`` and ``b`` are fixed).
        """
        return self._backprop(x, W, grad_out, per_sample=False)

    def layer_distances(self, W):
        r""":math:`\|W^{(h)} - W^{(h)}(0)\|_F`, shape ``copies + (D,)``."""
        W = _check_weights(W, self.W0.shape)
        return np.sqrt(((W - self.W0) ** 2).sum(axis=(-2, -1)))

    def project(self, W, radius):
        r"""Euclidean projection onto :math:`\mathcal B(B) = \{W: \|W^{(h)} - W^{(h)}(0)\|_F \le B\ \forall h\}`.

        zhang2025 Alg. 2 l. 8. ``radius`` is :math:`B` (scalar, or one per copy). Each layer
        outside its ball is moved radially onto the sphere,
        :math:`W^{(h)}(0) + B\,(W^{(h)} - W^{(h)}(0)) / \|W^{(h)} - W^{(h)}(0)\|_F`.
        """
        W = _check_weights(W, self.W0.shape)
        B = _radius(radius, self.copies, 1)
        diff = W - self.W0
        dist = np.sqrt((diff ** 2).sum(axis=(-2, -1)))                  # copies + (D,)
        with np.errstate(divide="ignore", invalid="ignore"):
            factor = np.where(dist > B, B / dist, 1.0)
        return self.W0 + diff * factor[..., None, None]
