"""ember.data.generated: shapes, values and determinism of the toy datasets."""

from __future__ import annotations

import numpy as np
import pytest

from ember import data


def test_xor_is_the_labs_four_points():
    X, y = data.xor()
    np.testing.assert_array_equal(X, [[-1, -1], [-1, 1], [1, -1], [1, 1]])
    np.testing.assert_array_equal(y, [[0], [1], [1], [0]])
    assert X.dtype == y.dtype == np.float64
    np.testing.assert_array_equal(y[:, 0], (X[:, 0] > 0) ^ (X[:, 1] > 0))
    X32, y32 = data.xor(dtype=np.float32)
    assert X32.dtype == y32.dtype == np.float32


def test_spirals_shape_labels_and_determinism():
    X, y = data.spirals(n=50, classes=4, noise=0.1, seed=3)
    assert X.shape == (200, 2) and y.shape == (200,) and y.dtype == np.int64
    assert np.bincount(y).tolist() == [50] * 4
    np.testing.assert_allclose(np.hypot(X[:, 0], X[:, 1]), np.tile(np.linspace(0, 1, 50), 4))  # radius
    again, _ = data.spirals(n=50, classes=4, noise=0.1, seed=3)
    np.testing.assert_array_equal(X, again)
    other, _ = data.spirals(n=50, classes=4, noise=0.1, seed=4)
    assert not np.allclose(X, other)
    from_rng, _ = data.spirals(n=50, classes=4, noise=0.1, rng=np.random.default_rng(3))
    np.testing.assert_array_equal(X, from_rng)


def test_spirals_without_noise_are_exact_arms():
    X, y = data.spirals(n=5, classes=2, noise=0.0)
    theta = np.linspace(4.0, 8.0, 5)
    r = np.linspace(0, 1, 5)
    np.testing.assert_allclose(X[y == 1], np.column_stack([r * np.sin(theta), r * np.cos(theta)]))


def test_blobs_shapes_counts_and_spread():
    X, y = data.blobs(n=1001, centers=4, n_features=3, std=0.5, seed=1)
    assert X.shape == (1001, 3) and y.dtype == np.int64
    assert np.bincount(y).tolist() == [251, 250, 250, 250]
    for k in range(4):
        assert X[y == k].std(axis=0) == pytest.approx([0.5] * 3, rel=0.2)
    np.testing.assert_array_equal(X, data.blobs(n=1001, centers=4, n_features=3, std=0.5, seed=1)[0])


def test_blobs_with_given_centers():
    centers = np.array([[0.0, 0.0], [10.0, 10.0]])
    X, y = data.blobs(n=400, centers=centers, std=0.1, seed=0)
    np.testing.assert_allclose(X[y == 1].mean(axis=0), [10, 10], atol=0.05)


def test_anisotropic_blobs_for_the_linear_regression_example():
    """Seed 003 fits a line to make_blobs(centers=1) stretched by a fixed 2x2 map: x = X[:, 0], target X[:, 1]."""
    X, y = data.blobs(n=1000, centers=1, anisotropic=True, seed=170)
    assert X.shape == (1000, 2) and (y == 0).all()
    plain, _ = data.blobs(n=1000, centers=1, seed=170)
    np.testing.assert_allclose(X, plain @ data.generated.ANISOTROPIC_TRANSFORM)
    assert abs(np.corrcoef(X[:, 0], X[:, 1])[0, 1]) > 0.5  # correlated: a line fits
    with pytest.raises(ValueError, match=r"blobs: anisotropic=True needs n_features=2, got 3"):
        data.blobs(n_features=3, anisotropic=True)


def test_sine_grid():
    X, y = data.sine()
    assert X.shape == y.shape == (2000, 1)
    assert X[0, 0] == -np.pi and X[-1, 0] == np.pi
    np.testing.assert_allclose(y[:, 0], np.sin(X[:, 0]))
    assert data.sine(11)[0].shape == (11, 1)


@pytest.mark.parametrize("call, message", [
    (lambda: data.spirals(n=0), r"spirals: n must be an integer >= 1, got 0"),
    (lambda: data.spirals(classes=2.5), r"spirals: classes must be an integer >= 1, got 2.5"),
    (lambda: data.spirals(noise=-1), r"spirals: noise must be >= 0"),
    (lambda: data.blobs(centers=0), r"blobs: centers must be an integer >= 1"),
    (lambda: data.blobs(centers=np.ones(3)), r"blobs: centers must be a count or an array of shape"),
    (lambda: data.blobs(std=-1.0), r"blobs: std must be >= 0"),
    (lambda: data.sine(1), r"sine: n must be an integer >= 2, got 1"),
])
def test_bad_arguments(call, message):
    with pytest.raises(ValueError, match=message):
        call()
