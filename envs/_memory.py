"""Memory budget: estimate the bytes of a table before building it, refuse if it won't fit.

The budget is the smaller of

* ``NETMARL_MAX_BYTES`` (environment variable, bytes) if set, and
* 80% of the memory the operating system reports as available
  (``MemAvailable`` in ``/proc/meminfo``; 8 GiB if that file cannot be read).
"""

import os

from ._errors import NetmarlError

__all__ = ["MemoryBudgetError", "memory_budget", "check_memory", "format_bytes"]


class MemoryBudgetError(NetmarlError, MemoryError):
    """A table would not fit in the memory budget; nothing was allocated."""


def format_bytes(n):
    """Human-readable byte count (``format_bytes(3 * 2**30) == '3.00 GiB'``)."""
    n = float(n)
    for unit in ("B", "KiB", "MiB", "GiB", "TiB", "PiB"):
        if abs(n) < 1024 or unit == "PiB":
            return f"{n:.2f} {unit}" if unit != "B" else f"{int(n)} B"
        n /= 1024
    return f"{n:.2f} PiB"  # pragma: no cover


def _available_bytes():
    try:
        with open("/proc/meminfo") as fh:
            for line in fh:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    return 8 * 2**30


def memory_budget():
    """Bytes a single table may use (see module docstring)."""
    budget = int(0.8 * _available_bytes())
    env = os.environ.get("NETMARL_MAX_BYTES")
    if env:
        try:
            budget = min(budget, int(float(env)))
        except ValueError:
            raise ValueError(f"NETMARL_MAX_BYTES must be a number of bytes, got {env!r}") from None
    return budget


def check_memory(nbytes, what, max_bytes=None, hint=""):
    """Raise :class:`MemoryBudgetError` if ``nbytes`` exceeds the budget.

    Parameters
    ----------
    nbytes : int or float
        Estimated size of what is about to be allocated (may exceed 2**63).
    what : str
        What the table is, e.g. ``"dense transition matrix P_pi (4096 x 4096 float64)"``.
    max_bytes : int, optional
        Overrides :func:`memory_budget`.
    hint : str
        What the user can do instead.
    """
    budget = memory_budget() if max_bytes is None else int(max_bytes)
    if nbytes > budget:
        msg = (
            f"refusing to build {what}: it needs about {format_bytes(nbytes)} but the memory "
            f"budget is {format_bytes(budget)} (set NETMARL_MAX_BYTES or pass max_bytes to change it)"
        )
        if hint:
            msg += f"; {hint}"
        raise MemoryBudgetError(msg)
    return int(nbytes)
