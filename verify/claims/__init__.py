"""Claims of the papers, one subpackage per paper (``verify/claims/<paper>/``).

A paper's modules build :class:`netmarl_verify.verify.Claim` objects and register them at import
with :func:`netmarl_verify.verify.register`; what they share lives in ``<paper>/_common.py``.
Nothing is imported here eagerly: :func:`load_all` imports every paper module or package of this
package (found with :mod:`pkgutil`, names starting with ``_`` skipped) and, inside a package,
every submodule (sorted, ``_`` names skipped), so a new ``<paper>/`` is picked up without
touching this file. The registry calls it on first use. A single-file ``<paper>.py`` works too.
"""

import importlib
import pkgutil

__all__ = ["load_all", "paper_modules"]


def paper_modules():
    """Names of the paper modules and packages of this package, sorted."""
    return sorted(
        name for _, name, _ in pkgutil.iter_modules(__path__)
        if not name.startswith("_")
    )


def _import(qualname):
    try:
        return importlib.import_module(qualname)
    except Exception as exc:  # name the culprit, keep the traceback
        raise ImportError(f"could not import claim module {qualname!r}: {exc}") from exc


def load_all():
    """Import every paper module and package of this package (and its submodules).

    Returns
    -------
    list of module
        One per :func:`paper_modules` entry (a package, not its submodules).

    Raises
    ------
    ImportError
        Naming the module that failed to import (with the original error chained).
    """
    modules = []
    for name in paper_modules():
        module = _import(f"{__name__}.{name}")
        if hasattr(module, "__path__"):  # a paper package: walk its submodules
            for info in pkgutil.walk_packages(module.__path__, prefix=f"{module.__name__}."):
                if not any(part.startswith("_") for part in info.name.rsplit(".", 1)[1:]):
                    _import(info.name)
        modules.append(module)
    return modules
