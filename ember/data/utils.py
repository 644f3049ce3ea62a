"""Data utilities: mini-batches, train/test split, one-hot targets, standardisation."""

from __future__ import annotations

import math
from collections.abc import Iterator

import numpy as np

from ember.errors import InputError, InputTypeError, NotFittedError
from ember.random import get_rng


def _as_array(name: str, function: str, value: object) -> np.ndarray:
    array = np.asarray(value)
    if array.ndim == 0:
        raise InputError(f"{function}: {name} must have a leading examples dimension, got a scalar")
    return array


def batches(X: np.ndarray, y: np.ndarray | None, batch_size: int | None, shuffle: bool = False,
            rng: np.random.Generator | None = None) -> Iterator[tuple[np.ndarray, np.ndarray | None]]:
    """Iterate over ``(X_batch, y_batch)`` mini-batches along the first dimension.

    Every batch keeps the leading batch dimension (``batch_size=1`` yields
    ``X[i:i+1]``); the last batch is smaller when ``batch_size`` does not
    divide ``n``. Without shuffling the batches are *views* of ``X`` and ``y``
    (in order, no copy); with shuffling they are copies in a random order.

    Args:
        X: the inputs, shape ``(n, ...)``.
        y: the targets, shape ``(n, ...)``, or ``None`` (then every ``y_batch`` is ``None``).
        batch_size: examples per batch, or ``None`` for one batch of all ``n``.
        shuffle: draw a new random order (a permutation) for this pass.
        rng: the NumPy ``Generator`` for the permutation; default the library-wide
            one (:func:`ember.manual_seed` makes it reproducible).

    Raises:
        ValueError: ``X`` and ``y`` differ in length, or ``batch_size`` is not a positive integer.

    """
    X = _as_array("X", "batches", X)
    n = X.shape[0]
    if y is not None:
        y = _as_array("y", "batches", y)
        if y.shape[0] != n:
            raise InputError(f"batches: X has {n} examples but y has {y.shape[0]}")
    if batch_size is None:
        batch_size = max(n, 1)
    if isinstance(batch_size, bool) or not isinstance(batch_size, (int, np.integer)) or batch_size < 1:
        raise InputError(f"batches: batch_size must be a positive integer or None, got {batch_size!r}")
    order = get_rng(rng).permutation(n) if shuffle else None
    return _batches(X, y, int(batch_size), order)


def _batches(X: np.ndarray, y: np.ndarray | None, batch_size: int,
             order: np.ndarray | None) -> Iterator[tuple[np.ndarray, np.ndarray | None]]:
    for start in range(0, X.shape[0], batch_size):
        if order is None:
            index: slice | np.ndarray = slice(start, start + batch_size)
        else:
            index = order[start:start + batch_size]
        yield X[index], (None if y is None else y[index])


def train_test_split(X: np.ndarray, y: np.ndarray, test_size: float | int = 0.2, shuffle: bool = True,
                     seed: int | None = 0) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Split examples into a training and a test part (scikit-learn's order of results).

    Args:
        X: the examples, shape ``(n, ...)``.
        y: their targets, shape ``(n, ...)``.
        test_size: a fraction in (0, 1) (the test part gets ``ceil(test_size · n)``
            examples) or a number of examples.
        shuffle: shuffle before splitting (with ``seed``); otherwise the test part
            is the last examples.
        seed: the seed of the shuffle (``None``: a fresh random one).

    Returns:
        ``(X_train, X_test, y_train, y_test)``, copies.

    """
    X = _as_array("X", "train_test_split", X)
    y = _as_array("y", "train_test_split", y)
    n = X.shape[0]
    if y.shape[0] != n:
        raise InputError(f"train_test_split: X has {n} examples but y has {y.shape[0]}")
    if isinstance(test_size, (float, np.floating)):
        if not 0 < test_size < 1:
            raise InputError(f"train_test_split: a fractional test_size must be in (0, 1), got {test_size!r}")
        n_test = math.ceil(test_size * n)
    elif isinstance(test_size, (int, np.integer)) and not isinstance(test_size, bool):
        n_test = int(test_size)
    else:
        raise InputError(f"train_test_split: test_size must be a fraction or a count, got {test_size!r}")
    if not 0 < n_test < n:
        raise InputError(f"train_test_split: test_size={test_size!r} leaves {n_test} of {n} examples for testing; "
                         f"both parts need at least one")
    train, test = split_indices(n, n_test, shuffle, seed)
    return X[train], X[test], y[train], y[test]


def split_indices(n: int, n_test: int, shuffle: bool = True, seed: int | None = 0) -> tuple[np.ndarray, np.ndarray]:
    """The rows :func:`train_test_split` puts in each part: ``(train rows, test rows)`` of ``n``."""
    for name, value in (("n", n), ("n_test", n_test)):
        if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 0:
            raise InputError(f"split_indices: {name} must be an integer >= 0, got {value!r}")
    if n_test > n:
        raise InputError(f"split_indices: n_test ({n_test}) is more than the {n} rows")
    order = np.random.default_rng(seed).permutation(n) if shuffle else np.arange(n)
    return order[: n - n_test], order[n - n_test:]


def one_hot(y: np.ndarray, n_classes: int | None = None, dtype: np.dtype | type = np.float64) -> np.ndarray:
    """One-hot encode 0-based class labels: row ``i`` has a 1 in column ``y[i]``.

    Args:
        y: integer labels of shape ``(n,)`` (integral floats are accepted).
        n_classes: the number of columns; default ``max(y) + 1``.
        dtype: the dtype of the result.

    Returns:
        An array of shape ``(n, n_classes)``.

    Raises:
        ValueError: ``y`` is not 1-D, holds a non-integer or negative label, or a
            label ``>= n_classes``.

    """
    y = np.asarray(y)
    if y.ndim != 1:
        raise InputError(f"one_hot: labels must be 1-D, got shape {y.shape}")
    if y.dtype.kind not in "iub":
        if y.dtype.kind != "f":
            raise InputError(f"one_hot: labels must be integers, got dtype {y.dtype}")
        bad = np.flatnonzero(~np.isfinite(y) | (y != np.round(y)))
        if bad.size:
            raise InputError(f"one_hot: label {y[bad[0]]} at index {bad[0]} is not an integer")
    labels = y.astype(np.int64)
    if labels.size and labels.min() < 0:
        raise InputError(f"one_hot: label {labels.min()} is negative (labels are 0-based class indices)")
    if n_classes is None:
        n_classes = int(labels.max()) + 1 if labels.size else 0
    elif labels.size and labels.max() >= n_classes:
        raise InputError(f"one_hot: label {labels.max()} out of range for {n_classes} classes (labels are 0-based)")
    encoded = np.zeros((labels.size, n_classes), dtype=dtype)
    encoded[np.arange(labels.size), labels] = 1
    return encoded


class Standardizer:
    """Scale each feature (column) to zero mean and unit variance, as learned on training data.

    ``fit`` stores the column means ``mean_`` and standard deviations ``scale_``
    (population, ``ddof=0``); a constant column gets ``scale_ = 1`` (it becomes
    0, not NaN). ``transform`` computes ``(X − mean_) / scale_`` in ``X``'s
    floating dtype; ``inverse_transform`` undoes it.

    Example::

        scaler = Standardizer().fit(X_train)
        X_train, X_test = scaler.transform(X_train), scaler.transform(X_test)

    """

    def __init__(self) -> None:
        self.mean_: np.ndarray | None = None
        self.scale_: np.ndarray | None = None

    def fit(self, X: np.ndarray) -> Standardizer:
        """Learn the column means and standard deviations of ``X`` (shape ``(n, features)``); returns self."""
        X = self._check(X, "fit", fitted=False)
        if X.shape[0] == 0:
            raise InputError("Standardizer.fit: X has no examples")
        finite = np.isfinite(X)
        if not finite.all():
            row, column = np.argwhere(~finite)[0]
            raise InputError(f"Standardizer.fit: X holds {X[row, column]} at row {row}, column {column}: the data "
                             f"must be finite")
        self.mean_ = X.mean(axis=0, dtype=np.float64)
        std = X.std(axis=0, dtype=np.float64)
        std[np.ptp(X, axis=0) == 0] = 1.0
        self.scale_ = std
        return self

    def transform(self, X: np.ndarray) -> np.ndarray:
        """``(X − mean_) / scale_``, a new array."""
        X = self._check(X, "transform")
        dtype = X.dtype if X.dtype.kind == "f" else np.float64
        return (X - self.mean_.astype(dtype)) / self.scale_.astype(dtype)

    def fit_transform(self, X: np.ndarray) -> np.ndarray:
        """``fit(X)`` then ``transform(X)``."""
        return self.fit(X).transform(X)

    def inverse_transform(self, Z: np.ndarray) -> np.ndarray:
        """``Z · scale_ + mean_``: back to the original units."""
        Z = self._check(Z, "inverse_transform")
        dtype = Z.dtype if Z.dtype.kind == "f" else np.float64
        return Z * self.scale_.astype(dtype) + self.mean_.astype(dtype)

    def _check(self, X: np.ndarray, method: str, fitted: bool = True) -> np.ndarray:
        X = np.asarray(X)
        if X.dtype.kind not in "fiub":
            raise InputTypeError(f"Standardizer.{method}: X must be numeric, got dtype {X.dtype}")
        if X.ndim != 2:
            raise InputError(f"Standardizer.{method}: expected a 2-D array (examples, features), got shape {X.shape}")
        if fitted:
            if self.mean_ is None:
                raise NotFittedError(f"Standardizer.{method}: call fit first")
            if X.shape[1] != self.mean_.size:
                raise InputError(f"Standardizer.{method}: fitted on {self.mean_.size} features, got {X.shape[1]}")
        return X

    def __repr__(self) -> str:
        return "Standardizer()" if self.mean_ is None else f"Standardizer(features={self.mean_.size})"


def standardize(X: np.ndarray) -> np.ndarray:
    """Standardise the columns of ``X`` with its own statistics: ``Standardizer().fit_transform(X)``."""
    return Standardizer().fit_transform(X)
