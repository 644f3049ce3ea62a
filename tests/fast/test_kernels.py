"""The kernel's own ``exp`` (vectorisable without fastmath) against NumPy's, special values included."""

from __future__ import annotations

import numpy as np
import pytest

pytest.importorskip("numba", reason="the compiled path needs numba: pip install 'ember[fast]'")

from ember.fast.kernels import exp_into  # noqa: E402 - after the skip

SPECIAL = [np.nan, np.inf, -np.inf, 0.0, -0.0, 1e-300, -1e-300, 708.5, -708.2, 709.7, 710.0, -745.0, -746.0,
           -707.99, 708.99, np.log(2.0) / 2, -np.log(2.0) / 2]


@pytest.mark.parametrize("negate", [False, True])
def test_exp_into_is_within_one_rounding_of_numpy(negate):
    x = np.concatenate([np.random.default_rng(0).standard_normal(4000) * 20, np.linspace(-760.0, 760.0, 3001),
                        SPECIAL])
    out = np.full(x.size + 3, 7.0)
    exp_into(x, out, x.size, negate)
    with np.errstate(over="ignore"):
        expected = np.exp(-x if negate else x)
    np.testing.assert_allclose(out[:x.size], expected, rtol=3e-16, atol=0)  # NaN where NaN, inf where inf
    assert np.all(out[x.size:] == 7.0)  # nothing past n


def test_exp_into_float32_stays_float32_to_one_rounding():
    x = np.linspace(-20, 20, 101, dtype=np.float32)
    out = np.empty_like(x)
    exp_into(x, out, x.size, True)
    np.testing.assert_allclose(out, np.exp(-x.astype(np.float64)), rtol=1.2e-7, atol=0)
