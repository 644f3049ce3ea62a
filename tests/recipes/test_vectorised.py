"""Vectorised gradients: linear regression by GD, the hand-derived ReLU network, the Legendre P3 fit."""

from __future__ import annotations

import numpy as np
import pytest

from ember import check
from ember.recipes import vectorised
from tests.optional import skip_reason


def seed_blobs():
    """The seed's exact data: scikit-learn's make_blobs(1000, random_state=170, centers=1), stretched."""
    datasets = pytest.importorskip("sklearn.datasets", reason=skip_reason("sklearn", "the seed's exact data"))
    X, _ = datasets.make_blobs(n_samples=1000, random_state=170, centers=1)
    return X @ np.array([[0.60834549, -0.63667341], [-0.40887718, 0.85253229]])


def test_linear_regression_reproduces_the_seed_numbers():
    result = vectorised.linear_regression(seed_blobs())
    assert result.error_before == pytest.approx(2.059703523518794, rel=1e-12)
    assert result.b == pytest.approx(-3.2643663545390273, rel=1e-10)
    assert result.m == pytest.approx(-1.3386872077957057, rel=1e-10)
    assert result.error_after == pytest.approx(0.11444715957515363, rel=1e-10)


def test_linear_regression_on_ember_blobs_approaches_least_squares():
    points = vectorised.anisotropic_points()
    assert points.shape == (1000, 2)
    result = vectorised.linear_regression(points)
    slope, intercept = np.polyfit(points[:, 0], points[:, 1], 1)
    best = vectorised.mean_squared_error(intercept, slope, points)
    assert result.error_after < result.error_before
    assert result.error_after < 1.5 * best
    assert len(result.errors) == 1000 and result.errors[-1] == pytest.approx(result.error_after)


def test_linear_regression_rejects_bad_points():
    with pytest.raises(ValueError, match=r"expected points of shape \(N, 2\), got \(5, 3\)"):
        vectorised.linear_regression(np.zeros((5, 3)))


def test_hand_derived_relu_gradients_equal_backprop():
    differences = vectorised.relu_network_gradients()
    assert set(differences) == {"U", "b2", "W", "b1", "x"}
    assert max(differences.values()) < 1e-12


def test_hand_gradients_detect_a_wrong_formula():
    """The comparison can fail: drop the ReLU derivative and the W gradient no longer matches."""
    rng = np.random.default_rng(0)
    model = vectorised.relu_network(4, 5, 3, rng=rng)
    X = rng.standard_normal((6, 4))
    labels = rng.integers(0, 3, 6)
    hand = vectorised.hand_gradients(model, X, labels)
    first, last = model.get(0), model.get(2)
    Z = X @ first.weight.T + first.bias
    probs = np.exp(np.maximum(Z, 0) @ last.weight.T + last.bias)
    probs /= probs.sum(axis=1, keepdims=True)
    probs[np.arange(6), labels] -= 1
    wrong_delta2 = (probs / 6) @ last.weight  # without ∘ sgn(h)
    assert np.abs(wrong_delta2.T @ X - hand["W"]).max() > 1e-3


def test_legendre_module_jacobian():
    x = np.linspace(-1.3, 1.7, 7)
    analytic, numeric = check.jacobian(vectorised.LegendreP3(), x)
    np.testing.assert_allclose(analytic, numeric, atol=1e-8)
    np.testing.assert_allclose(vectorised.LegendreP3().forward(x), 0.5 * (5 * x ** 3 - 3 * x))


def test_legendre_fit_reproduces_the_seed():
    result = vectorised.fit_legendre()
    iterations = [t for t, _ in result.losses]
    assert iterations == list(range(99, 2000, 100))
    assert result.losses[0][1] == pytest.approx(209.958, rel=1e-4)  # the seed prints 209.958...
    assert result.final_loss == pytest.approx(8.9436, rel=1e-4)
    k = result.coefficients
    assert k["b"] == pytest.approx(-2.20853, rel=1e-4) and k["d"] == pytest.approx(0.255486, rel=1e-4)
    assert abs(k["a"]) < 1e-8 and abs(k["c"]) < 1e-8
    assert result.formula().startswith("y = ") and "* P3(" in result.formula()


def test_legendre_initial_values_are_checked():
    with pytest.raises(ValueError, match=r"missing \['d'\]"):
        vectorised.fit_legendre(num_iterations=1, initial={"a": 0, "b": 1, "c": 0})
