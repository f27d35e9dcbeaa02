"""Every number stays the same: the golden master of ``tests/golden/_golden.py``.

Restructuring (issue 15) moves code, not numbers. These tests recompute the quick qu2020 rows
for three seeds and ~200 unit-level exact quantities and compare them with the recording
**bit for bit** (NaN equal to NaN; timings, versions and provenance left out).

Bit-identity is a property of one floating-point environment: the same numpy/scipy and the same
BLAS kernels (OpenBLAS picks its kernels by CPU). When the BLAS fingerprint or the numpy/scipy
versions differ from ``tests/golden/recorded_on.json``, the comparison falls back to
``rtol = 1e-12`` (backward-stable solves of systems with condition numbers < 1e3, the premise
of ``tests/solvers/_reference.py``, move results by far less) and says so in the test id
reason. A change that is meant to change numbers re-records with
``python tests/golden/_golden.py`` and says so in its commit.
"""

import json
import math

import numpy as np
import pytest
import scipy.linalg  # noqa: F401  (load scipy's BLAS: the fingerprint must see every library)
import scipy.sparse.linalg  # noqa: F401

from golden import _golden

RECORDED = json.loads(_golden.META_FILE.read_text())


def _same_environment():
    from netmarl_verify.verify import versions

    v = versions()
    return (_golden.blas_fingerprint() == RECORDED["blas"]
            and all(v[k] == RECORDED["versions"][k] for k in ("numpy", "scipy")))


EXACT = _same_environment()
RTOL = 0.0 if EXACT else 1e-12


def test_the_comparison_is_bit_for_bit_here():
    """On the recording environment the comparison must be exact, never silently the fallback."""
    if not EXACT:
        pytest.skip(f"BLAS/numpy/scipy differ from the recording ({_golden.blas_fingerprint()} vs "
                    f"{RECORDED['blas']}): comparing with rtol 1e-12")
    assert RTOL == 0.0


def _equal(a, b, path=""):
    """Exact (or rtol-close when the environment differs) equality of nested JSON values."""
    if isinstance(a, dict) and isinstance(b, dict):
        assert a.keys() == b.keys(), f"{path}: keys differ: {sorted(set(a) ^ set(b))}"
        for k in a:
            _equal(a[k], b[k], f"{path}.{k}")
    elif isinstance(a, list) and isinstance(b, list):
        assert len(a) == len(b), f"{path}: lengths {len(a)} != {len(b)}"
        for k, (x, y) in enumerate(zip(a, b)):
            _equal(x, y, f"{path}[{k}]")
    elif isinstance(a, float) or isinstance(b, float):
        assert isinstance(a, (int, float)) and isinstance(b, (int, float)), f"{path}: {a!r} != {b!r}"
        if math.isnan(a) or math.isnan(b):
            assert math.isnan(a) and math.isnan(b), f"{path}: {a!r} != {b!r}"
        elif RTOL == 0.0:
            assert a == b, f"{path}: {a!r} != {b!r} (recorded)"
        else:
            assert math.isclose(a, b, rel_tol=RTOL, abs_tol=1e-300), f"{path}: {a!r} != {b!r} (recorded)"
    else:
        assert a == b, f"{path}: {a!r} != {b!r} (recorded)"


@pytest.fixture(scope="module")
def recorded_rows():
    return _golden.load_rows()


@pytest.mark.slow
@pytest.mark.parametrize("seed", _golden.SEEDS)
def test_qu2020_quick_rows_are_unchanged(seed, recorded_rows):
    from netmarl_verify.verify import run

    was = recorded_rows[str(seed)]
    recorded_claims = list(dict.fromkeys(r["claim"] for r in was))
    # claims added after the recording are not part of it (they have their own tests)
    now = [r for r in _golden.comparable_rows(run("qu2020", quick=True, seed=seed, progress=False))
           if r["claim"] in recorded_claims]
    assert len(now) == len(was)
    for k, (a, b) in enumerate(zip(now, was)):
        # columns that only newer claims fill are NaN in the recorded claims' rows: not part of the recording
        a = {key: v for key, v in a.items()
             if key in b or not (isinstance(v, float) and math.isnan(v))}
        _equal(a, b, f"seed {seed} row {k} ({b.get('claim')}, {b.get('instance')})")


def test_exact_quantities_are_unchanged():
    now = _golden.exact_quantities()
    was = _golden.load_exact()
    assert sorted(now) == sorted(was)
    for name in was:
        a, b = np.asarray(now[name]), was[name]
        assert a.shape == b.shape and a.dtype == b.dtype, f"{name}: {a.shape} {a.dtype} vs {b.shape} {b.dtype}"
        if RTOL == 0.0:
            assert np.array_equal(a, b, equal_nan=True), f"{name}: max |diff| {np.nanmax(np.abs(a - b))}"
        else:
            np.testing.assert_allclose(a, b, rtol=RTOL, atol=0, equal_nan=True, err_msg=name)


def test_the_comparison_can_fail(recorded_rows):
    """The check is not vacuous: one ulp in one measured value is caught."""
    row = json.loads(json.dumps(recorded_rows["0"][0]))
    row["measured"] = float(np.nextafter(row["measured"], np.inf))
    with pytest.raises(AssertionError, match="measured"):
        if RTOL:
            row["measured"] *= 1 + 1e-9
        _equal(row, recorded_rows["0"][0])
