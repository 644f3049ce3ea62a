"""Real datasets: OCR letters, Iris, MNIST (and Fashion-MNIST), and any numeric CSV.

The data directory is the ``data_dir`` argument, else the ``EMBER_DATA_DIR``
environment variable, else the compressed copies shipped inside the package
(:data:`SHIPPED`: the OCR letters, Iris and the MNIST test set). It holds one
folder per dataset (``ocr-letters/``, ``iris/``, ``mnist/``); a ``data_dir``
that is itself such a folder works too. Sets too large to ship (MNIST's 60k
training images, Fashion-MNIST) are read from the data directory or from the
download cache (:mod:`ember.data.download`).

Every loader checks what it reads: a malformed file (ragged rows, a cell that
is not a number, a label that is not a class index, a truncated or corrupt IDX
file) raises ``ValueError`` naming the file, the line (1-based, as editors
number them) and column, or the byte offset, and what was wrong.
"""

from __future__ import annotations

import errno
import gzip
import math
import os
import struct
import warnings
import zlib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np

from ember.errors import DataFileError, InputError, InputTypeError, MissingFileError
from ember.files import existing_file

#: The environment variable naming the data directory.
ENV_VAR = "EMBER_DATA_DIR"

#: The data shipped with ember (gzip-compressed; sources and licences in its README.md).
SHIPPED = Path(__file__).resolve().parent / "files"

#: OCR letters: label i stands for OCR_LETTERS[i].
OCR_LETTERS = ("a", "e", "g", "i", "l", "n", "o", "r", "t", "u")
OCR_SPLITS = ("tiny", "small", "medium", "large")

#: Iris class names, in label order 0, 1, 2.
IRIS_CLASSES = ("Iris-setosa", "Iris-versicolor", "Iris-virginica")

MNIST_KINDS = ("t10k", "train")

#: Fashion-MNIST class names, in label order.
FASHION_CLASSES = ("T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt", "Sneaker", "Bag",
                   "Ankle boot")

PathLike = str | os.PathLike
#: One part of a dataset: (X, y).
Split = tuple[np.ndarray, np.ndarray]


# -- the data directory ----------------------------------------------------------------------------------------------

def data_directory(data_dir: PathLike | None = None) -> Path:
    """The data directory: ``data_dir`` if given, else ``$EMBER_DATA_DIR``, else the shipped data (:data:`SHIPPED`).

    Raises:
        FileNotFoundError: the directory given or named by the variable does not exist.

    """
    source = "data_dir"
    if data_dir is None:
        value = os.environ.get(ENV_VAR)
        if not value:
            return SHIPPED
        data_dir, source = value, f"${ENV_VAR}"
    path = Path(data_dir).expanduser()
    if not path.is_dir():
        raise MissingFileError(errno.ENOENT, f"data directory {str(path)!r} (from {source}) does not exist or is not "
                               f"a directory", str(path))
    return path


def _dataset_folder(name: str, data_dir: PathLike | None) -> Path:
    """``<data dir>/<name>`` when it exists, else the data directory itself."""
    root = data_directory(data_dir)
    folder = root / name
    return folder if folder.is_dir() else root


def _find_file(folder: Path, candidates: list[str], what: str, hint: str = "") -> Path:
    for name in candidates:
        if (folder / name).is_file():
            return folder / name
    raise MissingFileError(errno.ENOENT, f"{what}: none of {', '.join(candidates)} in {str(folder)!r}{hint}",
                           str(folder))


# -- CSV -------------------------------------------------------------------------------------------------------------

def _open_text(path: Path):
    if path.suffix == ".gz":
        return gzip.open(path, "rt", encoding="utf-8")
    return open(path, encoding="utf-8")


def _data_lines(path: Path, header: bool = False) -> Iterator[tuple[int, str]]:
    """(1-based line number, stripped text) of each non-blank line, after the header line if ``header``.

    I/O and decoding errors become ValueError.
    """
    try:
        with _open_text(path) as file:
            for number, line in enumerate(file, start=1):
                text = line.strip()
                if text and header:
                    header = False
                elif text:
                    yield number, text
    except UnicodeDecodeError as error:
        raise DataFileError(f"{path}: not a UTF-8 text file ({error.reason} at byte {error.start})") from None
    except (EOFError, gzip.BadGzipFile, zlib.error) as error:
        raise DataFileError(f"{path}: corrupt or truncated gzip data ({error})") from None


def _line_of_row(path: Path, row: int, header: bool = False) -> int:
    """The line number of data row ``row`` (0-based, blank lines and the header skipped)."""
    for index, (number, _) in enumerate(_data_lines(path, header)):
        if index == row:
            return number
    raise AssertionError(f"{path} has no data row {row}")


def _parse_numeric_slowly(path: Path, delimiter: str = ",", header: bool = False) -> np.ndarray:
    """Parse line by line, raising ValueError at the first ragged row or non-number."""
    rows: list[list[float]] = []
    width = first = 0
    for number, text in _data_lines(path, header):
        fields = text.split(delimiter)
        if not rows:
            width, first = len(fields), number
        elif len(fields) != width:
            separated = "comma-separated" if delimiter == "," else f"{delimiter!r}-separated"
            raise DataFileError(f"{path}, line {number}: expected {width} {separated} values (as on line {first}), "
                             f"found {len(fields)}")
        try:
            rows.append([float(field) for field in fields])
        except ValueError:
            for column, field in enumerate(fields, start=1):
                try:
                    float(field)
                except ValueError:
                    what = "an empty value" if not field.strip() else f"{field.strip()!r}, not a number"
                    hint = " (is it a header? pass header=True)" if header is False and number == first else ""
                    raise DataFileError(f"{path}, line {number}, column {column}: {what}{hint}") from None
    return np.array(rows, dtype=np.float64).reshape(len(rows), width)


def _parse_numeric(path: Path, delimiter: str = ",", header: bool = False) -> np.ndarray:
    """All values of a delimited numeric file as a 2-D float64 array, checked."""
    existing_file(path, "a data file")
    skip = next(_data_lines(path), (0, ""))[0] if header else 0  # the header's line number
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", UserWarning)  # "input contained no data": reported below
            data = np.loadtxt(path, delimiter=delimiter, comments=None, ndmin=2, dtype=np.float64, encoding="utf-8",
                              skiprows=skip)
    except (ValueError, UnicodeDecodeError, EOFError, OSError, zlib.error):
        data = _parse_numeric_slowly(path, delimiter, header)  # finds and reports the problem precisely
    if data.shape[0] == 0:
        raise DataFileError(f"{path}: no data rows (the file is empty{' but for its header' if header else ''})")
    finite = np.isfinite(data)
    if not finite.all():
        row, column = np.argwhere(~finite)[0]
        raise DataFileError(f"{path}, line {_line_of_row(path, row, header)}, column {column + 1}: "
                         f"non-finite value {data[row, column]}")
    return data


def _check_labels(path: Path, labels: np.ndarray, column: int, n_classes: int | None,
                  header: bool = False) -> np.ndarray:
    """``labels`` as int64 class indices, after checking they are integers in [0, n_classes)."""
    bad = np.flatnonzero((labels != np.round(labels)) | (labels < 0)
                         | (labels >= n_classes if n_classes is not None else False))
    if bad.size:
        row = bad[0]
        value = labels[row]
        where = f"{path}, line {_line_of_row(path, row, header)}, column {column + 1}"
        shown = int(value) if value == round(value) else value
        if value != round(value):
            raise DataFileError(f"{where}: label {shown} is not an integer class index (for real-valued targets, "
                             f"read with regression=True)")
        expected = f"0..{n_classes - 1} for {n_classes} classes" if n_classes is not None else ">= 0"
        raise DataFileError(f"{where}: label {shown} out of range (expected {expected}; labels are 0-based)")
    return labels.astype(np.int64)


def csv_header(path: PathLike, delimiter: str = ",") -> list[str]:
    """The column names on the first non-blank line of a delimited file."""
    path = Path(path)
    existing_file(path, "a data file")
    first = next(_data_lines(path), None)
    if first is None:
        raise DataFileError(f"{path}: no header (the file is empty)")
    return [name.strip() for name in first[1].split(delimiter)]


def load_csv(path: PathLike, label_column: int | str | None = 0, dtype: np.dtype | type = np.float64,
             n_classes: int | None = None, *, header: bool = False, delimiter: str = ",",
             regression: bool = False) -> tuple[np.ndarray, np.ndarray | None]:
    """Read a delimited numeric file, one example per line, optionally after a header line.

    Blank lines are skipped (so a final newline, or none, or a trailing empty
    line are all fine); a ``.gz`` file is decompressed.

    Args:
        path: the file.
        label_column: the column holding the target (0-based; negative counts
            from the end; with ``header``, also its name), or ``None`` when every
            column is a feature.
        dtype: the floating dtype of ``X``.
        n_classes: if given, labels must be in ``0 .. n_classes - 1``.
        header: the first non-blank line holds column names and is skipped.
        delimiter: the field separator (``','``; ``';'``, or a tab for TSV).
        regression: the target is a real value (``y`` of dtype ``dtype``), not
            a class index.

    Returns:
        ``(X, y)``: ``X`` of shape ``(n, columns - 1)`` and dtype ``dtype``, ``y``
        the labels as int64 (the values as ``dtype`` with ``regression``) of
        shape ``(n,)``; ``y`` is ``None`` when ``label_column`` is ``None``.

    Raises:
        FileNotFoundError: the file does not exist.
        ValueError: the file is empty, ragged, holds a non-number or a non-finite
            value, or a label that is not an integer in range; the message names
            the file, the line and the column.

    """
    path = existing_file(path, "a data file")
    try:
        dtype = np.dtype(dtype)
    except TypeError:
        raise InputTypeError(f"load_csv: dtype must be a floating type, got {dtype!r}") from None
    if dtype.kind != "f":
        raise InputTypeError(f"load_csv: dtype must be a floating type, got {dtype}")
    if label_column is not None and (isinstance(label_column, bool)
                                     or not isinstance(label_column, (int, np.integer, str))):
        raise InputTypeError(f"load_csv: label_column must be a column index, a header name or None, "
                             f"got {label_column!r}")
    if isinstance(label_column, str):
        if not header:
            raise DataFileError(f"{path}: label_column {label_column!r} is a name, which needs header=True")
        names = csv_header(path, delimiter)
        if label_column not in names:
            raise DataFileError(f"{path}: no column named {label_column!r} in the header ({', '.join(names)})")
        label_column = names.index(label_column)
    data = _parse_numeric(path, delimiter, header)
    if label_column is None:
        return data.astype(dtype, copy=False), None
    columns = data.shape[1]
    if not -columns <= label_column < columns:
        raise DataFileError(f"{path}: label_column {label_column} out of range for {columns} columns")
    label_column %= columns
    if columns < 2:
        raise DataFileError(f"{path}: only one column, so no features besides the label column")
    if regression:
        y = data[:, label_column].astype(dtype)
    else:
        y = _check_labels(path, data[:, label_column], label_column, n_classes, header)
    X = np.ascontiguousarray(np.delete(data, label_column, axis=1), dtype=dtype)
    return X, y


# -- OCR letters -----------------------------------------------------------------------------------------------------

def ocr_letters(split: str = "small", data_dir: PathLike | None = None,
                dtype: np.dtype | type = np.float64) -> tuple[Split, Split]:
    """The OCR letters (a e g i l n o r t u as labels 0..9; 16x8 binary images as 128 pixels).

    Files ``ocr-letters/{split}_train.csv`` and ``{split}_test.csv``: label, then
    the pixels in row-major order, each in [0, 1].

    Args:
        split: ``'tiny'`` (2/2 rows, 5 pixels: a debugging example), ``'small'``
            (500/100), ``'medium'`` (5000/1000) or ``'large'`` (9000/1000).
        data_dir: the data directory (default ``$EMBER_DATA_DIR``).
        dtype: the floating dtype of the images.

    Returns:
        ``((X_train, y_train), (X_test, y_test))``, ``X`` of shape ``(n, 128)``
        (``(n, 5)`` for tiny), ``y`` int64 in 0..9.

    """
    if split not in OCR_SPLITS:
        raise InputError(f"ocr_letters: unknown split {split!r} (expected one of {', '.join(OCR_SPLITS)})")
    folder = _dataset_folder("ocr-letters", data_dir)
    result = []
    for part in ("train", "test"):
        path = _find_file(folder, [f"{split}_{part}.csv", f"{split}_{part}.csv.gz"], f"ocr_letters({split!r})")
        X, y = load_csv(path, label_column=0, dtype=dtype, n_classes=len(OCR_LETTERS))
        outside = (X < 0) | (X > 1)
        if outside.any():
            row, column = np.argwhere(outside)[0]
            raise DataFileError(f"{path}, line {_line_of_row(path, row)}, column {column + 2}: pixel value "
                             f"{X[row, column]} outside [0, 1]")
        result.append((X, y))
    (X_train, _), (X_test, _) = result
    if X_train.shape[1] != X_test.shape[1]:
        raise InputError(f"ocr_letters({split!r}): the training file has {X_train.shape[1]} pixels per row, the "
                         f"test file {X_test.shape[1]}")
    return result[0], result[1]


# -- Iris ------------------------------------------------------------------------------------------------------------

def _iris_label(name: str) -> int | None:
    key = name.strip().lower().removeprefix("iris-")
    for label, known in enumerate(IRIS_CLASSES):
        if key == known.lower().removeprefix("iris-"):
            return label
    return None


def iris(data_dir: PathLike | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Fisher's Iris: 150 flowers, 4 measurements (cm), 3 classes.

    Reads ``iris/iris.data.csv`` (sepal length, sepal width, petal length,
    petal width, class name; no header), the UCI Machine Learning Repository
    file, shipped with ember.

    Returns:
        ``(X, y)``: ``X`` float64 of shape ``(150, 4)``, ``y`` int64 with
        0 = setosa, 1 = versicolor, 2 = virginica (:data:`IRIS_CLASSES`).

    """
    folder = _dataset_folder("iris", data_dir)
    path = _find_file(folder, ["iris.data.csv", "iris.data", "iris.csv", "iris.data.csv.gz"], "iris")
    features, labels = [], []
    for number, text in _data_lines(path):
        fields = text.split(",")
        if len(fields) != 5:
            raise DataFileError(f"{path}, line {number}: expected 5 comma-separated values (4 measurements and the "
                             f"class name), found {len(fields)}")
        row = []
        for column, field in enumerate(fields[:4], start=1):
            try:
                value = float(field)
            except ValueError:
                raise DataFileError(f"{path}, line {number}, column {column}: {field.strip()!r}, "
                                    f"not a number") from None
            if not math.isfinite(value):
                raise DataFileError(f"{path}, line {number}, column {column}: non-finite value {value}")
            row.append(value)
        label = _iris_label(fields[4])
        if label is None:
            raise DataFileError(f"{path}, line {number}, column 5: unknown class {fields[4].strip()!r} "
                             f"(expected one of {', '.join(IRIS_CLASSES)})")
        features.append(row)
        labels.append(label)
    if not features:
        raise DataFileError(f"{path}: no data rows (the file is empty)")
    return np.array(features, dtype=np.float64), np.array(labels, dtype=np.int64)


# -- MNIST and IDX files ---------------------------------------------------------------------------------------------

_IDX_TYPES = {0x08: np.dtype(np.uint8), 0x09: np.dtype(np.int8), 0x0B: np.dtype(">i2"), 0x0C: np.dtype(">i4"),
              0x0D: np.dtype(">f4"), 0x0E: np.dtype(">f8")}


#: The largest IDX payload ``read_idx`` allocates (full MNIST's images take 47 MB).
IDX_MAX_BYTES = 4 * 2**30
#: deflate cannot expand data by more than about 1032:1, so a gzip file declaring more is lying.
_GZIP_MAX_RATIO = 1032


def _read_exactly(file: Any, size: int) -> np.ndarray:
    """Up to ``size`` bytes of ``file`` in one preallocated buffer (fewer at the end of the file)."""
    buffer = np.empty(size, dtype=np.uint8)
    view, filled = memoryview(buffer), 0
    while filled < size:
        count = file.readinto(view[filled:])
        if not count:
            break
        filled += count
    return buffer[:filled]


def _trailing(file: Any, cap: int = 2**26) -> str:
    """How many bytes remain in ``file`` (read in chunks, counting up to ``cap``), as text."""
    rest = 0
    while rest <= cap and (chunk := file.read(2**20)):
        rest += len(chunk)
    return f"{rest}" if rest <= cap else f"more than {cap}"


def read_idx(path: PathLike) -> np.ndarray:
    """Read an IDX file (the MNIST format), gzip-compressed or not (detected from its first bytes).

    The header: two zero bytes, a type code (0x08 unsigned byte, 0x09 signed
    byte, 0x0B int16, 0x0C int32, 0x0D float32, 0x0E float64), the number of
    dimensions, then each dimension as a big-endian uint32; then the data,
    big-endian, row-major. The file is read as a stream into one buffer of the
    size the header declares, after checking that size against the file's
    (a gzip file cannot hold more than about 1032 times its size) and against
    :data:`IDX_MAX_BYTES`, so a corrupt header or a gzip bomb is refused before
    anything large is allocated.

    Returns:
        The array, shaped by the header, in native byte order.

    Raises:
        FileNotFoundError: no such file (or a directory).
        ValueError: bad magic number, unknown type code, truncated header or
            data, trailing bytes, a declared size the file cannot hold, or
            corrupt gzip data; the message names the file and the byte offset
            (in the decompressed data for a ``.gz`` file).

    """
    path = existing_file(path, "a data file")
    size = path.stat().st_size
    with open(path, "rb") as plain:
        compressed = plain.read(2) == b"\x1f\x8b"
    where = "decompressed byte" if compressed else "byte"
    try:
        with (gzip.open(path, "rb") if compressed else open(path, "rb")) as file:
            return _parse_idx(path, file, where, size * _GZIP_MAX_RATIO if compressed else size, compressed)
    except (EOFError, gzip.BadGzipFile, zlib.error) as error:
        raise DataFileError(f"{path}: corrupt or truncated gzip data ({error})") from None


def _parse_idx(path: Path, file: Any, where: str, most: int, compressed: bool) -> np.ndarray:
    """The IDX array in ``file``, an open binary stream that holds at most ``most`` bytes (exactly ``most``
    when not ``compressed``).
    """
    magic = file.read(4)
    if len(magic) < 4:
        raise DataFileError(f"{path}: truncated IDX header: the file has {len(magic)} bytes, the magic number needs 4")
    if magic[0] != 0 or magic[1] != 0 or magic[2] not in _IDX_TYPES:
        raise DataFileError(f"{path}: bad IDX magic number 0x{magic.hex()} at {where} 0 (expected 0x0000, a type code "
                         f"08/09/0b/0c/0d/0e and the number of dimensions, e.g. 0x00000803 = 2051 for images)")
    dtype, ndim = _IDX_TYPES[magic[2]], magic[3]
    header = 4 + 4 * ndim
    dims = file.read(4 * ndim)
    if len(dims) < 4 * ndim:
        raise DataFileError(f"{path}: truncated IDX header: {ndim} dimensions need {header} bytes, the file ends at "
                         f"{where} {4 + len(dims)}")
    shape = struct.unpack(f">{ndim}I", dims)
    count = math.prod(shape)
    expected = count * dtype.itemsize
    if expected > IDX_MAX_BYTES:
        raise DataFileError(f"{path}: the IDX header declares shape {shape}, {expected} bytes of data, more than "
                         f"read_idx reads ({IDX_MAX_BYTES} bytes, ember.data.datasets.IDX_MAX_BYTES)")
    if header + expected > most and compressed:
        raise DataFileError(f"{path}: truncated IDX data: shape {shape} needs {expected} bytes from {where} {header}, "
                         f"more than a file of this size can hold")
    raw = _read_exactly(file, expected) if header + expected <= most else _read_exactly(file, most - header)
    if raw.size < expected:
        raise DataFileError(f"{path}: truncated IDX data: shape {shape} needs {expected} bytes from {where} {header}, "
                         f"but the data ends at {where} {header + raw.size} after {raw.size // dtype.itemsize} of "
                         f"{count} items")
    if (trailing := _trailing(file)) != "0":
        raise DataFileError(f"{path}: {trailing} unexpected bytes after the IDX data, from {where} {header + expected}")
    return raw.view(dtype).reshape(shape).astype(dtype.newbyteorder("="))


def _idx_file(folders: list[Path], kind: str, what: str, dataset: str) -> Path:
    idx = "idx3" if what == "images" else "idx1"
    names = [f"{kind}-{what}-{idx}-ubyte", f"{kind}-{what}.{idx}-ubyte"]
    candidates = [name + suffix for name in names for suffix in (".gz", "")]
    for folder in folders:
        for name in candidates:
            if (folder / name).is_file():
                return folder / name
    where = " or ".join(repr(str(folder)) for folder in folders)
    raise MissingFileError(errno.ENOENT, f"{dataset}({kind!r}): none of {', '.join(candidates)} in {where}; download "
                           f"them with `ember data download {dataset}` or {dataset}({kind!r}, download=True)")


def _read_digits(dataset: str, kind: str, data_dir: PathLike | None, dtype: np.dtype | type,
                 download: bool) -> tuple[np.ndarray, np.ndarray]:
    """Images and labels of an MNIST-format ``dataset`` from the data directory, the shipped data or the cache."""
    from ember.data import download as remote  # the download module imports this one

    if kind not in MNIST_KINDS:
        raise InputError(f"{dataset}: unknown kind {kind!r} (expected one of {', '.join(MNIST_KINDS)})")
    dtype = np.dtype(dtype)
    if dtype.kind != "f":
        raise InputTypeError(f"{dataset}: dtype must be a floating type, got {dtype}")
    cache = remote.cache_directory() / dataset
    folders = [_dataset_folder(dataset, data_dir)] if data_dir is not None or os.environ.get(ENV_VAR) else []
    folders += [SHIPPED / dataset] if (SHIPPED / dataset).is_dir() else []
    folders.append(cache)
    if download:
        try:
            _idx_file(folders, kind, "images", dataset), _idx_file(folders, kind, "labels", dataset)
        except FileNotFoundError:
            remote.download(dataset, kinds=(kind,))
    images_path = _idx_file(folders, kind, "images", dataset)
    labels_path = _idx_file(folders, kind, "labels", dataset)
    images, labels = read_idx(images_path), read_idx(labels_path)
    if images.dtype != np.uint8 or images.ndim != 3:
        raise DataFileError(f"{images_path}: expected unsigned-byte images of 3 dimensions (magic 2051), got "
                         f"{images.dtype} of shape {images.shape}")
    if labels.dtype != np.uint8 or labels.ndim != 1:
        raise DataFileError(f"{labels_path}: expected unsigned-byte labels of 1 dimension (magic 2049), got "
                         f"{labels.dtype} of shape {labels.shape}")
    if images.shape[0] != labels.shape[0]:
        raise InputError(f"{dataset}({kind!r}): {images.shape[0]} images in {images_path.name} but "
                         f"{labels.shape[0]} labels in {labels_path.name}")
    bad = np.flatnonzero(labels > 9)
    if bad.size:
        what = "a digit" if dataset == "mnist" else "a class"
        raise DataFileError(f"{labels_path}: label {labels[bad[0]]} at byte {8 + bad[0]} of the IDX data (item "
                         f"{bad[0]}) is not {what} 0..9")
    X = images.reshape(images.shape[0], -1).astype(dtype)
    X /= 255
    return X, labels.astype(np.int64)


def mnist(kind: str = "t10k", data_dir: PathLike | None = None, dtype: np.dtype | type = np.float64,
          download: bool = False) -> tuple[np.ndarray, np.ndarray]:
    """MNIST handwritten digits from the original IDX files, gzip-compressed or not.

    Args:
        kind: ``'t10k'`` (the 10,000 test images, shipped with ember) or
            ``'train'`` (the 60,000 training images: ``train-images-idx3-ubyte[.gz]``
            and ``train-labels-idx1-ubyte[.gz]`` in the data directory or the
            download cache).
        data_dir: the data directory (default ``$EMBER_DATA_DIR``, else the
            shipped data); its ``mnist/`` folder, or the directory itself,
            holds the files.
        dtype: the floating dtype of ``X``.
        download: fetch missing files into the cache first
            (:func:`ember.data.download.download`, checked by sha256).

    Returns:
        ``(X, y)``: ``X`` of shape ``(n, 784)`` scaled to [0, 1] (pixel / 255,
        rows of the 28x28 images in order), ``y`` int64 digits 0..9.

    """
    return _read_digits("mnist", kind, data_dir, dtype, download)


def fashion_mnist(kind: str = "train", data_dir: PathLike | None = None, dtype: np.dtype | type = np.float64,
                  download: bool = False) -> tuple[np.ndarray, np.ndarray]:
    """Fashion-MNIST (Zalando's 28x28 clothing images, classes :data:`FASHION_CLASSES`), as :func:`mnist`.

    Nothing of it ships with ember: the files come from the data directory's
    ``fashion-mnist/`` folder or the download cache (``download=True`` fetches them).

    Returns:
        ``(X, y)``: ``X`` of shape ``(n, 784)`` in [0, 1], ``y`` int64 classes 0..9.

    """
    return _read_digits("fashion-mnist", kind, data_dir, dtype, download)


# -- text ------------------------------------------------------------------------------------------------------------

def text(name: str = "tinyshakespeare", data_dir: PathLike | None = None) -> str:
    """A text corpus for character-level language models: ``tinyshakespeare`` (Shakespeare's plays, public
    domain, 1,115,394 characters; shipped gzip-compressed), read from ``<data dir>/text/<name>.txt[.gz]``.
    """
    path = _find_file(_dataset_folder("text", data_dir), [f"{name}.txt", f"{name}.txt.gz"], f"text {name!r}")
    with _open_text(path) as file:
        return file.read()
