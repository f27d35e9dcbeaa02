"""Shared test configuration.

BLAS is pinned to one thread for the whole session: on 2-core machines multi-threaded
OpenBLAS under pytest oversubscribes and slows down several-fold (DESIGN.md), and results
are then independent of the thread count.
"""

import pytest
from threadpoolctl import threadpool_limits


@pytest.fixture(autouse=True, scope="session")
def _single_blas_thread():
    with threadpool_limits(limits=1):
        yield
