"""Exceptions and validation helpers for model construction.

Every error names the agent (or the global table) and the offending index, so that a
user who built a kernel by hand can find the wrong entry without re-deriving it.
"""

import numpy as np

from ._errors import NetmarlError

__all__ = [
    "ModelValidationError",
    "ShapeError",
    "NonFiniteError",
    "NegativeProbabilityError",
    "RowSumError",
    "ROW_SUM_ATOL",
]

#: Absolute tolerance on ``|sum(row) - 1|`` for a transition row (DESIGN.md: 1e-12).
#: Rows are normalised in double precision, so a correctly normalised row is within a
#: few ulps of one; anything further away is a modelling error, not rounding.
ROW_SUM_ATOL = 1e-12


class ModelValidationError(NetmarlError, ValueError):
    """Base class: a model's input arrays are inconsistent with its definition."""


class ShapeError(ModelValidationError):
    """An array has the wrong number of axes or the wrong length along an axis."""


class NonFiniteError(ModelValidationError):
    """An array holds NaN or infinity."""


class NegativeProbabilityError(ModelValidationError):
    """A probability is negative."""


class RowSumError(ModelValidationError):
    """A conditional distribution does not sum to one within :data:`ROW_SUM_ATOL`."""


def fmt_number(x):
    """Plain text of a number for messages: ``8.0`` and ``3``, never ``np.float64(8.0)``.

    >>> import numpy as np
    >>> fmt_number(np.float64(8.0)), fmt_number(np.int64(3)), fmt_number(True), fmt_number("a")
    ('8.0', '3', 'True', "'a'")
    """
    if isinstance(x, (bool, np.bool_)):
        return str(bool(x))
    if isinstance(x, (int, np.integer)):
        return str(int(x))
    if isinstance(x, (float, np.floating)):
        return repr(float(x))
    if isinstance(x, (complex, np.complexfloating)):
        return repr(complex(x))
    return repr(x)


def check_real(x, what):
    """Raise :class:`ModelValidationError` if ``x`` holds complex numbers (never a ComplexWarning).

    Returns ``x`` as an array (no copy where possible) when it is real.
    """
    if isinstance(x, np.ndarray):
        arr = x
    else:
        try:
            arr = np.asarray(x)
        except (TypeError, ValueError):  # ragged: the float conversion will say so
            return x
    if np.iscomplexobj(arr) or (arr.dtype == object and any(isinstance(v, (complex, np.complexfloating))
                                                            for v in arr.ravel())):
        raise ModelValidationError(
            f"{what} must be real-valued, got a complex array (dtype {arr.dtype}); probabilities and "
            f"rewards are real (take .real explicitly if the imaginary parts are rounding noise)"
        )
    return arr


def as_float_array(x, what):
    """Convert ``x`` to a float64 array, naming ``what`` if that is impossible.

    Complex input is refused (:class:`ModelValidationError`), never silently truncated.
    """
    x = check_real(x, what)
    try:
        arr = np.array(x, dtype=np.float64)  # a copy: models freeze their arrays, not the caller's
    except (TypeError, ValueError) as exc:
        raise ModelValidationError(f"{what} cannot be converted to a float array: {exc}") from None
    return arr


def consistent_size(observations, what):
    """The common value of one size (e.g. agent 1's number of actions) seen along several axes.

    ``observations`` is a list of ``(array_name, axis, axis_name, length)``. When they disagree,
    the majority value is returned (the arrays that disagree with it are then reported by
    :func:`check_shape`); when there is no majority, :class:`ShapeError` names every array, since
    the arrays alone cannot tell which one is wrong.
    """
    counts = {}
    for obs in observations:
        counts.setdefault(int(obs[3]), []).append(obs)
    if len(counts) == 1:
        return next(iter(counts))
    ranked = sorted(counts.items(), key=lambda kv: -len(kv[1]))
    if len(ranked[0][1]) > len(ranked[1][1]):
        return ranked[0][0]
    parts = [f"{name} has length {length} along axis {axis} ({axis_name})"
             for name, axis, axis_name, length in (group[0] for _value, group in ranked)]
    raise ShapeError(f"inconsistent {what}: {' but '.join(parts)}; fix whichever array is wrong")


def check_local_indices(x, sizes, what):
    """Validate local indices, shape ``(B, n)`` or ``(n,)`` (one copy), for ``n = len(sizes)``.

    Integer dtype (or integral floats), ``0 <= x[:, i] < sizes[i]``; the error names the entry,
    the agent and its valid range. Returns an int64 array of shape ``(B, n)``.
    """
    n = len(sizes)
    x = np.asarray(x)
    if x.ndim == 1 and x.shape[0] == n:
        x = x[None, :]
    if x.ndim != 2 or x.shape[1] != n:
        raise ShapeError(f"{what} must have shape (m, n={n}) of local indices, got {x.shape}")
    if x.size and not np.issubdtype(x.dtype, np.integer):
        if np.iscomplexobj(x) or x.dtype == object or not np.all(np.equal(np.mod(x, 1), 0)):
            raise ValueError(f"{what} must hold integer local indices, got dtype {x.dtype}")
    x = x.astype(np.int64)
    sizes = np.asarray(sizes)
    bad = (x < 0) | (x >= sizes[None, :])
    if bad.any():
        row, agent = (int(k) for k in np.argwhere(bad)[0])
        raise ValueError(
            f"{what}[{row}, {agent}] = {x[row, agent]} is out of range for agent {agent} "
            f"(valid 0..{sizes[agent] - 1})"
        )
    return x


def check_shape(arr, expected, what, axis_names=None):
    """Raise :class:`ShapeError` unless ``arr.shape == expected``."""
    expected = tuple(int(e) for e in expected)
    if arr.ndim != len(expected):
        names = "" if axis_names is None else f" (axes: {', '.join(axis_names)})"
        raise ShapeError(
            f"{what} must have {len(expected)} axes with shape {expected}{names}, "
            f"got {arr.ndim} axes with shape {arr.shape}"
        )
    for ax, (got, want) in enumerate(zip(arr.shape, expected)):
        if got != want:
            name = f" ({axis_names[ax]})" if axis_names is not None else ""
            raise ShapeError(
                f"{what} has length {got} along axis {ax}{name}, expected {want}; "
                f"full shape {arr.shape}, expected {expected}"
            )


def check_finite(arr, what):
    """Raise :class:`NonFiniteError` naming the first non-finite entry."""
    bad = ~np.isfinite(arr)
    if bad.any():
        idx = tuple(int(k) for k in np.argwhere(bad)[0])
        raise NonFiniteError(f"{what} has a non-finite entry {float(arr[idx])!r} at index {idx}")


def check_distribution_rows(arr, what, atol=ROW_SUM_ATOL):
    """Check that ``arr`` is a conditional distribution over its last axis.

    Raises :class:`NonFiniteError`, :class:`NegativeProbabilityError` or
    :class:`RowSumError` naming the first offending index.
    """
    check_finite(arr, what)
    neg = arr < 0
    if neg.any():
        idx = tuple(int(k) for k in np.argwhere(neg)[0])
        raise NegativeProbabilityError(f"{what} has a negative probability {float(arr[idx])!r} at index {idx}")
    sums = arr.sum(axis=-1)
    off = np.abs(sums - 1.0) > atol
    if off.any():
        idx = tuple(int(k) for k in np.argwhere(off)[0])
        raise RowSumError(
            f"{what} row {idx} sums to {float(sums[idx])!r}, not 1 (tolerance {atol:g}); "
            f"the last axis must be a probability distribution"
        )


def check_probabilities(x, size, what):
    """A vector of ``size`` probabilities in [0, 1] (a scalar is broadcast), read-only float64.

    ``what`` is the argument's name; messages put it in backticks (``"`p` must have shape (2,)"``,
    ``"`q[3]` = 1.5 is not a probability in [0, 1]"``).
    """
    x = as_float_array(x, f"`{what}`")
    if x.ndim == 0:
        x = np.full(size, float(x))
    if x.shape != (size,):
        raise ShapeError(f"`{what}` must have shape ({size},), got {x.shape}")
    bad = ~np.isfinite(x) | (x < 0) | (x > 1)
    if bad.any():
        k = int(np.flatnonzero(bad)[0])
        raise ValueError(f"`{what}[{k}]` = {float(x[k])!r} is not a probability in [0, 1]")
    x.setflags(write=False)
    return x
