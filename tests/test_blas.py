"""The fused BLAS updates equal their NumPy definitions, in place, whatever the layout, with NumPy's BLAS
and without it (the plain NumPy route every function falls back to).
"""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest

from ember import blas
from ember.blas import add_outer, add_product, add_scaled

DTYPES = [np.float64, np.float32]


def tolerance(dtype) -> dict:
    return {"rtol": 1e-12, "atol": 1e-12} if dtype == np.float64 else {"rtol": 1e-5, "atol": 1e-5}


@pytest.fixture(params=["numpy's BLAS", "plain NumPy"])
def backend(request, monkeypatch):
    if request.param == "numpy's BLAS":
        assert blas._CBLAS is not None, "NumPy's BLAS exports no ILP64 CBLAS here: only the fallback is tested"
        monkeypatch.setattr(blas, "BLAS_MIN_SIZE", 0)  # small arrays through BLAS too
        monkeypatch.setattr(blas, "GER_ONE_THREAD_SIZE", 0)  # small outer products through NumPy's ger
    else:
        monkeypatch.setattr(blas, "_CBLAS", None)
    return request.param


def test_numpy_wheel_blas_is_found():
    """CI installs NumPy's wheel, whose OpenBLAS exports ``scipy_cblas_*64_``: the fast path must be live."""
    assert blas._CBLAS is not None
    assert set(blas._CBLAS) == {np.dtype(np.float32), np.dtype(np.float64)}


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("layout", ["contiguous", "view of a flat vector", "transposed (NumPy fallback)"])
def test_add_outer_updates_in_place(backend, dtype, layout):
    rng = np.random.default_rng(0)
    flat = rng.standard_normal(60).astype(dtype)
    if layout == "contiguous":
        target = flat[:35].reshape(5, 7).copy()
    elif layout == "view of a flat vector":
        target = flat[10:45].reshape(5, 7)
    else:
        target = flat[:35].reshape(7, 5).T
    column, row = rng.standard_normal(5).astype(dtype), rng.standard_normal(7).astype(dtype)
    expected = target + 0.5 * np.outer(column, row)
    add_outer(target, column, row, 0.5)
    np.testing.assert_allclose(target, expected, **tolerance(dtype))
    assert target.dtype == dtype  # and, being a view, the caller's flat vector was updated in place


def test_add_outer_with_strided_vectors_equals_numpy(backend):
    rng = np.random.default_rng(6)
    target = rng.standard_normal((4, 6))
    column, row = rng.standard_normal(8)[::2], rng.standard_normal(12)[::2]
    expected = target + 2.0 * np.outer(column, row)
    add_outer(target, column, row, 2.0)
    np.testing.assert_allclose(target, expected, rtol=1e-12)


def test_import_ember_leaves_scipy_unimported():
    """SciPy costs ~200 ms to import: ``import ember`` must not pay it (Sigmoid and ``add_outer`` import it
    where they use it).
    """
    code = "import sys, ember; print(any(m.split('.')[0] == 'scipy' for m in sys.modules))"
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert result.stdout.strip() == "False"


def _factor(rng, shape, dtype, order):
    """A ``shape`` matrix: C-contiguous, the transpose of a C-contiguous one, or a strided slice."""
    if order == "C":
        return rng.standard_normal(shape).astype(dtype)
    if order == "transposed":
        return rng.standard_normal(shape[::-1]).astype(dtype).T
    return rng.standard_normal((shape[0], 2 * shape[1])).astype(dtype)[:, ::2]  # neither: NumPy route


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("order_a", ["C", "transposed", "strided"])
@pytest.mark.parametrize("order_b", ["C", "transposed", "strided"])
def test_add_product_equals_numpy(backend, dtype, order_a, order_b):
    rng = np.random.default_rng(1)
    a, b = _factor(rng, (6, 4), dtype, order_a), _factor(rng, (4, 9), dtype, order_b)
    flat = rng.standard_normal(70).astype(dtype)
    target = flat[5:59].reshape(6, 9)  # a view: the update must land in ``flat``
    expected = flat.copy()
    expected[5:59] += (-0.25 * (a.astype(np.float64) @ b)).ravel().astype(dtype)
    add_product(target, a, b, -0.25)
    np.testing.assert_allclose(flat, expected, **tolerance(dtype))
    assert target.dtype == dtype


@pytest.mark.parametrize("dtype", DTYPES)
def test_add_product_updates_a_weight_of_any_shape_as_its_matrix(backend, dtype):
    """A convolution's (O, C, kH, kW) gradient is the (O, C·kH·kW) product, row-major."""
    rng = np.random.default_rng(2)
    target = rng.standard_normal((3, 2, 2, 2)).astype(dtype)
    a, b = rng.standard_normal((3, 5)).astype(dtype), rng.standard_normal((5, 8)).astype(dtype)
    expected = target + (a @ b).reshape(target.shape)
    add_product(target, a, b)
    np.testing.assert_allclose(target, expected, **tolerance(dtype))


def test_add_product_into_a_non_contiguous_target_takes_the_numpy_route(backend):
    rng = np.random.default_rng(3)
    storage = rng.standard_normal((4, 6))
    target = storage[:, ::2]
    a, b = rng.standard_normal((4, 2)), rng.standard_normal((2, 3))
    expected = storage.copy()
    expected[:, ::2] += a @ b
    add_product(target, a, b)
    np.testing.assert_allclose(storage, expected, rtol=1e-12)


def test_add_product_with_an_operand_overlapping_the_target_reads_it_before_writing(backend):
    """BLAS must not see an operand that the update overwrites: the result is NumPy's ``t += t @ b``."""
    rng = np.random.default_rng(4)
    target, b = rng.standard_normal((5, 5)), rng.standard_normal((5, 5))
    expected = target + target @ b
    add_product(target, target, b)
    np.testing.assert_allclose(target, expected, rtol=1e-12)


@pytest.mark.parametrize("shapes", [((0, 3), (3, 4)), ((3, 0), (0, 4)), ((3, 2), (2, 0))])
def test_add_product_with_an_empty_dimension(backend, shapes):
    (m, k), (_, n) = shapes
    target = np.ones((m, n))
    add_product(target, np.ones((m, k)), np.ones((k, n)))
    np.testing.assert_array_equal(target, np.ones((m, n)))


def test_add_product_with_mismatched_shapes_raises_numpys_error(backend):
    with pytest.raises(ValueError):
        add_product(np.zeros((3, 4)), np.zeros((3, 2)), np.zeros((5, 4)))


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("size", [10, blas.BLAS_MIN_SIZE + 7])
def test_add_scaled_equals_numpy(backend, dtype, size):
    rng = np.random.default_rng(5)
    target, source = rng.standard_normal(size).astype(dtype), rng.standard_normal(size).astype(dtype)
    expected = target - 0.1 * source
    before = target
    add_scaled(target, source, -0.1)
    assert target is before and target.dtype == dtype
    np.testing.assert_allclose(target, expected, **tolerance(dtype))


def test_add_scaled_with_mixed_dtypes_or_broadcasting_takes_the_numpy_route(backend):
    size = blas.BLAS_MIN_SIZE + 1
    target = np.ones((2, size), dtype=np.float32)
    add_scaled(target, np.full(size, 2.0), 0.5)  # float64 row broadcast over a float32 target
    np.testing.assert_array_equal(target, np.full((2, size), 2.0, dtype=np.float32))


@pytest.mark.parametrize("dtype", DTYPES)
def test_add_product_over_a_long_inner_dimension_sums_slices_to_the_same_result(dtype):
    """A small target over k ≥ LONG_INNER (a first convolution's weight gradient) is summed slice by slice."""
    rng = np.random.default_rng(4)
    k = blas.LONG_INNER + blas.INNER_CHUNK // 3  # a short last slice
    a, b = rng.standard_normal((3, k)).astype(dtype), rng.standard_normal((5, k)).astype(dtype).T
    target = rng.standard_normal((3, 5)).astype(dtype)
    expected = target.astype(np.float64) + 0.5 * (a.astype(np.float64) @ b)
    add_product(target, a, b, 0.5)
    np.testing.assert_allclose(target, expected, rtol=1e-4 if dtype == np.float32 else 1e-12, atol=1e-3)
