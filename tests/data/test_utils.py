"""ember.data.utils: batches, train_test_split, one_hot, Standardizer."""

from __future__ import annotations

import numpy as np
import pytest

import ember
from ember import data, manual_seed


def arrays(n=10):
    return np.arange(n * 2, dtype=float).reshape(n, 2), np.arange(n)


def test_batches_in_order_are_views_and_keep_the_last_partial_batch():
    X, y = arrays(10)
    out = list(data.batches(X, y, 4))
    assert [len(yb) for _, yb in out] == [4, 4, 2]
    np.testing.assert_array_equal(np.concatenate([xb for xb, _ in out]), X)
    assert all(np.shares_memory(xb, X) for xb, _ in out)
    assert out[0][0].shape == (4, 2)


def test_batch_size_one_keeps_the_batch_dimension_and_none_is_full_batch():
    X, y = arrays(3)
    assert [xb.shape for xb, _ in data.batches(X, y, 1)] == [(1, 2)] * 3
    ((xb, yb),) = list(data.batches(X, y, None))
    assert xb.shape == (3, 2) and yb.shape == (3,)
    assert [len(xb) for xb, _ in data.batches(X, y, 100)] == [3]


def test_shuffled_batches_cover_every_example_once_and_follow_the_seed():
    X, y = arrays(10)
    out = list(data.batches(X, y, 3, shuffle=True, rng=np.random.default_rng(0)))
    order = np.concatenate([yb for _, yb in out])
    assert sorted(order.tolist()) == list(range(10)) and order.tolist() != list(range(10))
    np.testing.assert_array_equal(np.concatenate([xb for xb, _ in out]), X[order])  # pairs stay together
    again = np.concatenate([yb for _, yb in data.batches(X, y, 3, shuffle=True, rng=np.random.default_rng(0))])
    np.testing.assert_array_equal(order, again)
    manual_seed(5)
    first = np.concatenate([yb for _, yb in data.batches(X, y, 3, shuffle=True)])
    manual_seed(5)
    second = np.concatenate([yb for _, yb in data.batches(X, y, 3, shuffle=True)])
    np.testing.assert_array_equal(first, second)


def test_batches_without_targets_and_errors():
    X, _ = arrays(5)
    assert [yb for _, yb in data.batches(X, None, 2)] == [None] * 3
    with pytest.raises(ember.InputError, match=r"batches: X has 5 examples but y has 4"):
        data.batches(X, np.arange(4), 2)  # raised at the call, not at the first next()
    with pytest.raises(ember.InputError, match=r"batches: batch_size must be a positive integer or None, got 0"):
        data.batches(X, None, 0)
    with pytest.raises(ember.InputError, match=r"got 2.5"):
        data.batches(X, None, 2.5)


def test_train_test_split_fraction_count_and_determinism():
    X, y = arrays(10)
    X_train, X_test, y_train, y_test = data.train_test_split(X, y, test_size=0.25)
    assert len(X_test) == 3 and len(X_train) == 7  # ceil(0.25 * 10)
    assert sorted(np.concatenate([y_train, y_test]).tolist()) == list(range(10))
    np.testing.assert_array_equal(X_test, X[y_test])
    again = data.train_test_split(X, y, test_size=0.25)
    np.testing.assert_array_equal(again[3], y_test)
    assert data.train_test_split(X, y, test_size=0.25, seed=1)[3].tolist() != y_test.tolist()
    _, X_test, _, y_test = data.train_test_split(X, y, test_size=2, shuffle=False)
    assert y_test.tolist() == [8, 9]


@pytest.mark.parametrize("test_size, message", [
    (1.0, r"a fractional test_size must be in \(0, 1\), got 1.0"),
    (10, r"test_size=10 leaves 10 of 10 examples for testing; both parts need at least one"),
    ("half", r"test_size must be a fraction or a count"),
])
def test_train_test_split_errors(test_size, message):
    X, y = arrays(10)
    with pytest.raises(ember.InputError, match=message):
        data.train_test_split(X, y, test_size=test_size)
    with pytest.raises(ember.InputError, match=r"X has 10 examples but y has 9"):
        data.train_test_split(X, y[:9])


def test_one_hot():
    np.testing.assert_array_equal(data.one_hot([2, 0, 1]), [[0, 0, 1], [1, 0, 0], [0, 1, 0]])
    encoded = data.one_hot(np.array([1.0, 0.0]), n_classes=4, dtype=np.float32)
    assert encoded.dtype == np.float32 and encoded.shape == (2, 4)
    assert data.one_hot(np.array([], dtype=int), n_classes=3).shape == (0, 3)
    with pytest.raises(ember.InputError, match=r"one_hot: label 3 out of range for 3 classes"):
        data.one_hot([0, 3], n_classes=3)
    with pytest.raises(ember.InputError, match=r"one_hot: label -1 is negative"):
        data.one_hot([0, -1])
    with pytest.raises(ember.InputError, match=r"one_hot: label 0.5 at index 1 is not an integer"):
        data.one_hot([1.0, 0.5])
    with pytest.raises(ember.InputError, match=r"one_hot: labels must be 1-D, got shape \(2, 1\)"):
        data.one_hot([[1], [0]])


def test_standardizer_round_trip_and_constant_columns():
    rng = np.random.default_rng(0)
    X = np.column_stack([rng.normal(5, 3, 100), np.full(100, 0.1), rng.normal(-2, 0.01, 100)])
    scaler = data.Standardizer().fit(X)
    Z = scaler.transform(X)
    np.testing.assert_allclose(Z.mean(axis=0), 0, atol=1e-12)
    np.testing.assert_allclose(Z.std(axis=0), [1, 0, 1])  # the constant column becomes 0, not NaN
    assert np.isfinite(Z).all() and scaler.scale_[1] == 1.0
    np.testing.assert_allclose(scaler.inverse_transform(Z), X)
    np.testing.assert_array_equal(data.standardize(X), data.Standardizer().fit_transform(X))
    assert repr(scaler) == "Standardizer(features=3)"


def test_standardizer_uses_training_statistics_and_keeps_float32():
    train = np.array([[0.0], [2.0]], dtype=np.float32)
    scaler = data.Standardizer().fit(train)
    out = scaler.transform(np.array([[4.0]], dtype=np.float32))
    assert out.dtype == np.float32 and out[0, 0] == 3.0


def test_standardizer_errors():
    with pytest.raises(ember.NotFittedError, match=r"Standardizer.transform: call fit first"):
        data.Standardizer().transform(np.ones((2, 2)))
    scaler = data.Standardizer().fit(np.ones((3, 2)))
    with pytest.raises(ember.InputError, match=r"Standardizer.transform: fitted on 2 features, got 3"):
        scaler.transform(np.ones((3, 3)))
    with pytest.raises(ember.InputError, match=r"expected a 2-D array \(examples, features\), got shape \(3,\)"):
        scaler.transform(np.ones(3))
