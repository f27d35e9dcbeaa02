"""Claims of the papers, one module per paper (``verify/claims/<paper>.py``).

A paper module builds :class:`netmarl_verify.verify.Claim` objects and registers them at import with
:func:`netmarl_verify.verify.register`. Nothing is imported here eagerly: :func:`load_all` imports every
module of this package (found with :mod:`pkgutil`, names starting with ``_`` skipped), so a new
``qu2020.py`` is picked up without touching this file. The registry calls it on first use.
"""

import importlib
import pkgutil

__all__ = ["load_all", "paper_modules"]


def paper_modules():
    """Names of the claim modules in this package, sorted."""
    return sorted(
        name for _, name, _ in pkgutil.iter_modules(__path__) if not name.startswith("_")
    )


def load_all():
    """Import every claim module of this package; returns the imported module objects.

    Raises
    ------
    ImportError
        Naming the module that failed to import (with the original error chained).
    """
    modules = []
    for name in paper_modules():
        qualname = f"{__name__}.{name}"
        try:
            modules.append(importlib.import_module(qualname))
        except Exception as exc:  # name the culprit, keep the traceback
            raise ImportError(f"could not import claim module {qualname!r}: {exc}") from exc
    return modules
