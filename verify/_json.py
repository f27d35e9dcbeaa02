"""JSON encoding of result fields (numpy scalars and arrays, tuples, sets, non-finite floats).

Rows carry small dictionaries (instance parameters, the point of a measurement, symbol values,
extra diagnostics). They are stored as JSON strings in the tidy tables so that a CSV file holds
every row losslessly, and printed as JSON lines by ``netmarl-verify run --json``.
"""

import json
import math

import numpy as np

__all__ = ["to_jsonable", "dumps", "loads", "is_scalar"]


def is_scalar(value):
    """True for values that fit in one table cell: None, bool, int, float, str, numpy scalars."""
    return value is None or isinstance(value, (bool, int, float, str, np.generic))


def to_jsonable(obj, *, strict=False):
    """Convert `obj` to plain Python containers and scalars.

    Parameters
    ----------
    obj : object
        Dicts (keys become strings), lists, tuples, sets (sorted), numpy scalars and arrays,
        dataclass-like objects with ``to_dict``; anything else becomes ``str(obj)``.
    strict : bool
        If True, non-finite floats are replaced (NaN by ``None``, infinities by the strings
        ``"inf"``/``"-inf"``) so that the output is standard JSON (RFC 8259).

    Returns
    -------
    object
    """
    if isinstance(obj, dict):
        return {str(k): to_jsonable(v, strict=strict) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [to_jsonable(v, strict=strict) for v in obj]
    if isinstance(obj, (set, frozenset)):
        return [to_jsonable(v, strict=strict) for v in sorted(obj, key=repr)]
    if isinstance(obj, np.ndarray):
        return to_jsonable(obj.tolist(), strict=strict)
    if isinstance(obj, np.generic):
        return to_jsonable(obj.item(), strict=strict)
    if isinstance(obj, bool) or obj is None or isinstance(obj, (int, str)):
        return obj
    if isinstance(obj, float):
        if strict and not math.isfinite(obj):
            return None if math.isnan(obj) else ("inf" if obj > 0 else "-inf")
        return obj
    if hasattr(obj, "to_dict"):
        return to_jsonable(obj.to_dict(), strict=strict)
    return str(obj)


def dumps(obj, *, strict=False):
    """``json.dumps`` of :func:`to_jsonable` with sorted keys (stable output)."""
    return json.dumps(to_jsonable(obj, strict=strict), sort_keys=True, allow_nan=not strict)


def loads(text):
    """Inverse of :func:`dumps`; empty or missing cells (``None``, NaN) give ``None``."""
    if text is None or (isinstance(text, float) and math.isnan(text)):
        return None
    return json.loads(text)
