"""Datasets by name: ``load("ocr-letters:small")`` returns the training and test sets with the class names.

Names: ``iris``, ``xor``, ``spirals`` (generated from ``seed``), ``ocr-letters:SPLIT`` (``tiny``,
``small``, ``medium``, ``large``; with a test set) and ``mnist`` (the 60k training images with the 10k test
images where they have been downloaded, ``ember data download mnist``; else the 10k test images alone).

Example:
    >>> from ember import data
    >>> iris = data.load("iris")
    >>> iris.train[0].shape, iris.test, iris.classes
    ((150, 4), None, ('setosa', 'versicolor', 'virginica'))
    >>> data.load("xor").n_classes
    2

"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ember.data.datasets import (
    IRIS_CLASSES,
    OCR_LETTERS,
    OCR_SPLITS,
    PathLike,
    Split,
    iris,
    mnist,
    ocr_letters,
)
from ember.data.generated import spirals, xor
from ember.errors import InputError, InputTypeError

__all__ = ["DATASETS", "Dataset", "check_spec", "load"]

#: the dataset names :func:`load` takes (``ocr-letters`` with ``:SPLIT``).
DATASETS = ("iris", "xor", "spirals", "ocr-letters", "mnist")


@dataclass(frozen=True)
class Dataset:
    """A dataset loaded by :func:`load`: ``train`` and ``test`` are ``(X, y)`` pairs (``test`` may be ``None``)."""

    name: str
    train: Split
    test: Split | None
    classes: tuple[str, ...] | None = None

    @property
    def n_features(self) -> int:
        """Features per example."""
        return int(self.train[0].shape[1])

    @property
    def n_classes(self) -> int:
        """The number of classes: the class names', else one more than the largest label."""
        if self.classes is not None:
            return len(self.classes)
        labels = [self.train[1]] + ([self.test[1]] if self.test is not None else [])
        return int(max(int(np.max(y)) for y in labels)) + 1


def check_spec(spec: str) -> tuple[str, str]:
    """``(name, split)`` of a dataset name such as ``"ocr-letters:small"``; ``ValueError`` for an unknown one."""
    if not isinstance(spec, str):
        raise InputTypeError(f"a dataset name must be a string such as 'iris', got {type(spec).__name__}")
    name, _, split = spec.partition(":")
    if name in DATASETS and name != "ocr-letters" and not split:
        return name, ""
    if name == "ocr-letters" and split in OCR_SPLITS:
        return name, split
    splits = ",".join(OCR_SPLITS)
    if name == "ocr-letters":
        raise InputError(f"ocr-letters needs a split: ocr-letters:{{{splits}}}, got {spec!r}")
    raise InputError(f"unknown dataset {spec!r}; choose iris, xor, spirals, ocr-letters:{{{splits}}} or mnist")


def load(spec: str, data_dir: PathLike | None = None, *, seed: int = 0) -> Dataset:
    """The dataset named ``spec`` (see the module docstring), read from ``data_dir``, ``$EMBER_DATA_DIR`` or
    the copies shipped with ember.

    Raises:
        ValueError: an unknown name.
        FileNotFoundError: a ``data_dir`` that does not exist, or a missing file in it.

    """
    name, split = check_spec(spec)
    if name == "iris":
        return Dataset(spec, iris(data_dir), None, tuple(c.removeprefix("Iris-") for c in IRIS_CLASSES))
    if name == "xor":
        X, y = xor()
        return Dataset(spec, (X, y[:, 0].astype(np.int64)), None, ("0", "1"))
    if name == "spirals":
        return Dataset(spec, spirals(seed=seed), None)
    if name == "mnist":  # the 60k training set and the test set where downloaded, else the shipped 10k alone
        digits = tuple(str(digit) for digit in range(10))
        try:
            return Dataset(spec, mnist("train", data_dir=data_dir), mnist(data_dir=data_dir), digits)
        except FileNotFoundError:
            return Dataset(spec, mnist(data_dir=data_dir), None, digits)
    train, test = ocr_letters(split, data_dir)
    return Dataset(spec, train, test, OCR_LETTERS)
