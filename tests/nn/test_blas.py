"""The fused BLAS updates equal their NumPy definitions, in place, whatever the layout."""

from __future__ import annotations

import numpy as np
import pytest

from ember.nn.blas import add_outer


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("layout", ["contiguous", "view of a flat vector", "transposed (NumPy fallback)"])
def test_add_outer_updates_in_place(dtype, layout):
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
    tolerance = 1e-12 if dtype == np.float64 else 1e-5
    np.testing.assert_allclose(target, expected, rtol=tolerance, atol=tolerance)
    assert target.dtype == dtype  # and, being a view, the caller's flat vector was updated in place
