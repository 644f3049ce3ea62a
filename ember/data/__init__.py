"""Datasets and batching: real data from a directory, generated toy sets, and utilities.

Real data (:mod:`ember.data.datasets`) comes from the ``data_dir`` argument or
the ``EMBER_DATA_DIR`` environment variable: :func:`ocr_letters`,
:func:`iris` (falls back to scikit-learn's copy), :func:`mnist`, and any
numeric CSV with :func:`load_csv`. Generated sets
(:mod:`ember.data.generated`): :func:`xor`, :func:`spirals`, :func:`blobs`,
:func:`sine`. Utilities (:mod:`ember.data.utils`): :func:`batches`,
:func:`train_test_split`, :func:`one_hot`, :class:`Standardizer`,
:func:`standardize`.
"""

from ember.data.datasets import (
    ENV_VAR,
    IRIS_CLASSES,
    OCR_LETTERS,
    data_directory,
    iris,
    load_csv,
    mnist,
    ocr_letters,
    read_idx,
)
from ember.data.generated import blobs, sine, spirals, xor
from ember.data.utils import Standardizer, batches, one_hot, standardize, train_test_split

__all__ = ["ENV_VAR", "IRIS_CLASSES", "OCR_LETTERS", "Standardizer", "batches", "blobs", "data_directory", "iris",
           "load_csv", "mnist", "ocr_letters", "one_hot", "read_idx", "sine", "spirals", "standardize",
           "train_test_split", "xor"]
