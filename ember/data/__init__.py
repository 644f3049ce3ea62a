"""Datasets and batching: real data shipped or downloaded, generated toy sets, and utilities.

Any of them by name (:mod:`ember.data.specs`): ``load("ocr-letters:small")`` returns a
:class:`Dataset` with the training and test sets and the class names. Real data
(:mod:`ember.data.datasets`) comes from the ``data_dir`` argument, the
``EMBER_DATA_DIR`` environment variable, or the copies shipped with ember:
:func:`ocr_letters`, :func:`iris`, :func:`mnist` (the test set ships; the
training set downloads), :func:`fashion_mnist`, and any numeric CSV with
:func:`load_csv`. Verified downloads into a cache: :mod:`ember.data.download`. Generated sets
(:mod:`ember.data.generated`): :func:`xor`, :func:`spirals`, :func:`blobs`,
:func:`sine`. Utilities (:mod:`ember.data.utils`): :func:`batches`,
:func:`train_test_split`, :func:`one_hot`, :class:`Standardizer`,
:func:`standardize`.
"""

from ember.data.datasets import (
    ENV_VAR,
    FASHION_CLASSES,
    IRIS_CLASSES,
    OCR_LETTERS,
    SHIPPED,
    csv_header,
    data_directory,
    fashion_mnist,
    iris,
    load_csv,
    mnist,
    ocr_letters,
    read_idx,
    text,
)
from ember.data.download import DownloadError, cache_directory
from ember.data.generated import blobs, sine, spirals, xor
from ember.data.specs import DATASETS, Dataset, check_spec, load
from ember.data.utils import Standardizer, batches, one_hot, split_indices, standardize, train_test_split

__all__ = ["DATASETS", "ENV_VAR", "FASHION_CLASSES", "IRIS_CLASSES", "OCR_LETTERS", "SHIPPED", "Dataset",
           "DownloadError", "Standardizer", "batches", "blobs", "cache_directory", "check_spec", "csv_header",
           "data_directory", "fashion_mnist", "iris", "load", "load_csv", "mnist", "ocr_letters", "one_hot", "read_idx",
           "sine", "spirals", "split_indices", "standardize", "text", "train_test_split", "xor"]
