"""Exceptions and validation helpers for model construction.

Every error names the agent (or the global table) and the offending index, so that a
user who built a kernel by hand can find the wrong entry without re-deriving it.
"""

import numpy as np

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


class ModelValidationError(ValueError):
    """Base class: a model's input arrays are inconsistent with its definition."""


class ShapeError(ModelValidationError):
    """An array has the wrong number of axes or the wrong length along an axis."""


class NonFiniteError(ModelValidationError):
    """An array holds NaN or infinity."""


class NegativeProbabilityError(ModelValidationError):
    """A probability is negative."""


class RowSumError(ModelValidationError):
    """A conditional distribution does not sum to one within :data:`ROW_SUM_ATOL`."""


def as_float_array(x, what):
    """Convert ``x`` to a float64 array, naming ``what`` if that is impossible."""
    try:
        arr = np.array(x, dtype=np.float64)  # a copy: models freeze their arrays, not the caller's
    except (TypeError, ValueError) as exc:
        raise ModelValidationError(f"{what} cannot be converted to a float array: {exc}") from None
    return arr


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
