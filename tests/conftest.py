"""Shared test configuration.

BLAS is pinned to one thread for the whole session: on 2-core machines multi-threaded
OpenBLAS under pytest oversubscribes and slows down several-fold (DESIGN.md), and results
are then independent of the thread count.
"""

import os
import sys
from pathlib import Path

import pytest
from threadpoolctl import threadpool_limits

# The tests use the installed package, as users do: the repository root (on sys.path under
# `python -m pytest`) would otherwise make its folders importable under their bare names
# (`import envs`), hiding a missing `netmarl_verify.` prefix.
_REPO = Path(__file__).resolve().parents[1]
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != _REPO]

# The command line runs in this process unless a test asks for --jobs (the default is all
# cores); subprocesses inherit the variable.
os.environ.setdefault("NETMARL_VERIFY_JOBS", "1")


@pytest.fixture(autouse=True, scope="session")
def _single_blas_thread():
    # threadpoolctl limits only loaded libraries: load scipy's BLAS (separate from numpy's) first.
    import scipy.linalg  # noqa: F401
    import scipy.sparse.linalg  # noqa: F401

    with threadpool_limits(limits=1):
        yield
