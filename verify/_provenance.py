"""Where a result came from: package versions, platform, BLAS, command line and source commit.

Every result row (:class:`netmarl_verify.verify.CheckResult`) and every report records

* the versions of netmarl-verify, Python, numpy, scipy, networkx, sympy and pandas
  (:func:`versions`, the row columns ``version.<name>``);
* the platform, the BLAS library with its thread count at the time of the run, the exact
  command line of the process, and the git commit of netmarl-verify's own source — only when
  the package runs from a git checkout of this project (:func:`provenance`, the row columns
  ``provenance.<key>``).

The commit is read from the folder that holds the imported package: installed from a wheel
into ``site-packages`` that folder is not a checkout, and nothing is recorded (reading "the
repository that contains site-packages" would record some other project's commit). Run from a
checkout (an editable install, or the source tree), the package folder is the repository root
and its ``HEAD`` is recorded, with ``+dirty`` when tracked files are modified.
"""

from __future__ import annotations

import functools
import importlib.metadata
import platform
import shlex
import subprocess
import sys
from pathlib import Path

__all__ = ["versions", "provenance", "source_commit", "blas_info", "command_line"]

_VERSION_PACKAGES = ("numpy", "scipy", "networkx", "sympy", "pandas")
_DISTRIBUTION = "netmarl-verify"


def _version(name):
    try:
        return importlib.metadata.version(name)
    except importlib.metadata.PackageNotFoundError:
        return "not installed"


def versions():
    """netmarl-verify, Python and core package versions.

    Returns
    -------
    dict of str to str
        ``{"netmarl-verify": "0.1.0", "python": "3.11.7", "numpy": "2.4.6", ...}``.

    Examples
    --------
    >>> from netmarl_verify.verify import versions
    >>> list(versions())[:3]
    ['netmarl-verify', 'python', 'numpy']
    """
    out = {_DISTRIBUTION: _version(_DISTRIBUTION), "python": platform.python_version()}
    for name in _VERSION_PACKAGES:
        out[name] = _version(name)
    return out


def _package_folder():
    import netmarl_verify

    return Path(netmarl_verify.__file__).resolve().parent


@functools.lru_cache(maxsize=None)
def _commit_of(folder):
    folder = Path(folder)
    if not (folder / ".git").exists():  # a wheel install: the package folder is no checkout
        return None
    try:
        top = subprocess.run(["git", "rev-parse", "--show-toplevel"], cwd=folder, capture_output=True,
                             text=True, timeout=10, check=True).stdout.strip()
        if not top or Path(top).resolve() != folder.resolve():
            return None
        head = subprocess.run(["git", "rev-parse", "HEAD"], cwd=folder, capture_output=True, text=True,
                              timeout=10, check=True).stdout.strip()
        status = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"], cwd=folder,
                                capture_output=True, text=True, timeout=10, check=True).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return None
    return head + ("+dirty" if status else "") if head else None


def source_commit(folder=None):
    """The git commit of netmarl-verify's own source, or None when not run from a checkout.

    Parameters
    ----------
    folder : path-like, optional
        The package folder (default: the folder of the imported ``netmarl_verify``). It counts
        as a checkout only when it is itself the top of a git work tree.

    Returns
    -------
    str or None
        ``HEAD`` (40 hex digits), with ``+dirty`` when tracked files differ from it.
    """
    return _commit_of(str(Path(_package_folder() if folder is None else folder).resolve()))


def blas_info():
    """The BLAS libraries numpy/scipy loaded and their current thread counts.

    Returns
    -------
    str
        e.g. ``"openblas 0.3.27 (libscipy_openblas64_.so), 1 thread"``; libraries joined by
        ``"; "``; ``"unknown"`` when threadpoolctl sees none.
    """
    from threadpoolctl import threadpool_info

    parts = []
    for lib in threadpool_info():
        if lib.get("user_api") != "blas":
            continue
        threads = lib.get("num_threads")
        parts.append(f"{lib.get('internal_api', '?')} {lib.get('version') or '?'} "
                     f"({Path(lib.get('filepath', '?')).name}), {threads} thread{'s' if threads != 1 else ''}")
    return "; ".join(dict.fromkeys(parts)) or "unknown"


def command_line():
    """The exact command line of this process (``sys.orig_argv``, shell-quoted)."""
    return shlex.join(getattr(sys, "orig_argv", None) or [sys.executable, *sys.argv])


def provenance():
    """Platform, BLAS, command line and (from a checkout) the source commit of this run.

    Returns
    -------
    dict of str to str
        Keys ``platform``, ``blas``, ``command`` and, only when running from a git checkout of
        netmarl-verify, ``git commit``.
    """
    out = {"platform": platform.platform(), "blas": blas_info(), "command": command_line()}
    commit = source_commit()
    if commit is not None:
        out["git commit"] = commit
    return out
