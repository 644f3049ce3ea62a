"""The finite-difference engine: exact values, exact restore, one-sided differences, steps below a dtype's spacing."""

from __future__ import annotations

import numpy as np
import pytest

from ember.finite_differences import StepTooSmallError, differences, gradient, relative_error


def test_gradient_of_a_cubic_over_several_arrays():
    a, b = np.array([1.0, -2.0]), np.array([[0.5], [3.0]])

    def f():
        return float(np.sum(a ** 3) + np.sum(b ** 3))

    numeric = gradient(f, [a, b])
    np.testing.assert_allclose(numeric, 3 * np.concatenate([a, b.ravel()]) ** 2, rtol=1e-9)


def test_arrays_are_restored_exactly_even_when_evaluate_raises():
    x = np.array([0.1, 0.2, 0.3])
    before = x.copy()
    gradient(lambda: float(np.sin(x).sum()), x)
    np.testing.assert_array_equal(x, before)

    def boom():
        raise RuntimeError("boom")

    with pytest.raises(RuntimeError):
        gradient(boom, x)
    np.testing.assert_array_equal(x, before)


def test_vector_outputs_columns_and_one_sided_differences():
    x = np.array([1.0, 2.0, 3.0])

    def f():
        return np.array([x[0] * x[1], x[2] ** 2])

    central, forward, backward = differences(f, x, 1e-6, columns=[1, 2], base=f())
    np.testing.assert_allclose(central, [[1.0, 0.0], [0.0, 6.0]], atol=1e-8)
    np.testing.assert_allclose(forward, central, atol=1e-5)
    np.testing.assert_allclose(backward, central, atol=1e-5)


def test_a_step_below_the_spacing_of_the_dtype_is_refused():
    x = np.array([1000.0], dtype=np.float32)
    with pytest.raises(StepTooSmallError, match="below the spacing of float32"):
        gradient(lambda: float(x[0]), x, eps=1e-6)
    assert isinstance(StepTooSmallError("x"), ValueError)


def test_relative_error():
    assert relative_error(np.zeros(3), np.zeros(3)) == 0.0
    assert relative_error(np.ones(2), -np.ones(2)) == float("inf")
    assert relative_error(np.array([1.0, 0.0]), np.array([1.0, 1e-9])) == pytest.approx(5e-10)
