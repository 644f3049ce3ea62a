"""ember.data.datasets: the shipped and shared data files, CSV options, and located errors for malformed files."""

from __future__ import annotations

import gzip
import struct
from pathlib import Path

import numpy as np
import pytest

from ember import data

# -- the real files (EMBER_DATA_DIR) ---------------------------------------------------------------------------------

OCR_ROWS = {"tiny": (2, 2), "small": (500, 100), "medium": (5000, 1000), "large": (9000, 1000)}


@pytest.mark.parametrize("split", list(OCR_ROWS))
def test_ocr_letters_splits(data_dir, split):
    (X_train, y_train), (X_test, y_test) = data.ocr_letters(split, data_dir=data_dir)
    n_train, n_test = OCR_ROWS[split]
    width = 5 if split == "tiny" else 128
    assert X_train.shape == (n_train, width) and X_test.shape == (n_test, width)
    assert X_train.dtype == np.float64 and y_train.dtype == np.int64
    assert set(np.unique(X_train)) <= {0.0, 1.0} and set(np.unique(X_test)) <= {0.0, 1.0}
    assert 0 <= y_train.min() and y_train.max() <= 9 and 0 <= y_test.min() and y_test.max() <= 9
    if split != "tiny":  # balanced classes, as the README's table says
        assert (np.bincount(y_train, minlength=10) == n_train // 10).all()
        assert (np.bincount(y_test, minlength=10) == n_test // 10).all()


def test_ocr_letters_tiny_test_has_no_final_newline(data_dir):
    raw = (data_dir / "ocr-letters" / "tiny_test.csv").read_bytes()
    assert not raw.endswith(b"\n")
    _, (X_test, y_test) = data.ocr_letters("tiny", data_dir=data_dir)
    last = [float(v) for v in raw.decode().splitlines()[-1].split(",")]
    assert y_test[-1] == last[0]
    np.testing.assert_array_equal(X_test[-1], last[1:])


def test_ocr_letters_reads_env_var_and_float32(data_dir, monkeypatch):
    monkeypatch.setenv("EMBER_DATA_DIR", str(data_dir))
    (X, y), _ = data.ocr_letters("small", dtype=np.float32)
    assert X.dtype == np.float32 and X.shape == (500, 128)
    assert X.flags.c_contiguous


def test_ocr_letters_accepts_the_dataset_folder_itself(data_dir):
    (X, _), _ = data.ocr_letters("tiny", data_dir=data_dir / "ocr-letters")
    assert X.shape == (2, 5)


def test_iris_from_the_csv(data_dir):
    assert (data_dir / "iris" / "iris.data.csv").read_bytes().endswith(b"\n\n")  # the trailing blank line
    X, y = data.iris(data_dir=data_dir)
    assert X.shape == (150, 4) and X.dtype == np.float64 and y.dtype == np.int64
    np.testing.assert_array_equal(y, np.repeat([0, 1, 2], 50))  # setosa, versicolor, virginica in blocks
    np.testing.assert_array_equal(X[0], [5.1, 3.5, 1.4, 0.2])
    np.testing.assert_array_equal(X[-1], [5.9, 3.0, 5.1, 1.8])


def test_mnist_test_set(data_dir):
    X, y = data.mnist(data_dir=data_dir)
    assert X.shape == (10000, 784) and X.dtype == np.float64 and y.dtype == np.int64
    assert X.min() == 0.0 and X.max() == 1.0
    assert y[0] == 7 and y[:5].tolist() == [7, 2, 1, 0, 4]
    assert np.bincount(y).tolist() == [980, 1135, 1032, 1010, 982, 892, 958, 1028, 974, 1009]
    X32, _ = data.mnist("t10k", data_dir=data_dir, dtype=np.float32)
    assert X32.dtype == np.float32
    np.testing.assert_allclose(X32, X, atol=1e-7)


def test_mnist_train_files_missing_explains(data_dir, tmp_path, monkeypatch):
    monkeypatch.setenv("EMBER_CACHE", str(tmp_path))
    with pytest.raises(FileNotFoundError, match=r"mnist\('train'\): none of train-images-idx3-ubyte.gz.*"
                                                r"`ember data download mnist` or mnist\('train', download=True\)"):
        data.mnist("train", data_dir=data_dir)


# -- the shipped data and the data directory -------------------------------------------------------------------------

def test_shipped_data_is_the_shared_data(data_dir, monkeypatch):
    monkeypatch.delenv("EMBER_DATA_DIR", raising=False)
    assert data.data_directory() == data.SHIPPED
    for split in ("tiny", "large"):
        for shipped, shared in zip(data.ocr_letters(split), data.ocr_letters(split, data_dir=data_dir)):
            np.testing.assert_array_equal(shipped[0], shared[0])
            np.testing.assert_array_equal(shipped[1], shared[1])
    for shipped, shared in zip(data.iris(), data.iris(data_dir=data_dir)):
        np.testing.assert_array_equal(shipped, shared)
    for shipped, shared in zip(data.mnist(dtype=np.float32), data.mnist(data_dir=data_dir, dtype=np.float32)):
        np.testing.assert_array_equal(shipped, shared)


def test_shipped_files_are_small_compressed_and_declared_as_package_data():
    files = sorted(path for path in data.SHIPPED.rglob("*") if path.is_file())
    # 1.9 MB of OCR letters, Iris and MNIST t10k, and 0.43 MB of tiny Shakespeare for the char-LSTM workflow
    assert sum(path.stat().st_size for path in files) < 2_500_000
    assert all(path.suffix == ".gz" for path in files if path.name != "README.md")
    readme = (data.SHIPPED / "README.md").read_text()
    assert all(word in readme for word in ("licence", "CC BY-SA 3.0", "UCI", "Stanford OCR"))
    pyproject = (Path(data.__file__).parents[2] / "pyproject.toml").read_text()
    assert '"ember.data" = ["files/*.md", "files/*/*.gz"]' in pyproject


def test_environment_variable_overrides_the_shipped_data(tmp_path, monkeypatch):
    (tmp_path / "ocr-letters").mkdir()
    (tmp_path / "ocr-letters" / "tiny_train.csv").write_text("1,0,1\n")
    (tmp_path / "ocr-letters" / "tiny_test.csv").write_text("2,1,1\n")
    monkeypatch.setenv("EMBER_DATA_DIR", str(tmp_path))
    (X, y), _ = data.ocr_letters("tiny")
    assert X.tolist() == [[0.0, 1.0]] and y.tolist() == [1]


def test_missing_data_directory(tmp_path, monkeypatch):
    monkeypatch.setenv("EMBER_DATA_DIR", str(tmp_path / "nowhere"))
    with pytest.raises(FileNotFoundError, match=r"data directory '.*nowhere' \(from \$EMBER_DATA_DIR\) does not exist"):
        data.ocr_letters("tiny")
    with pytest.raises(FileNotFoundError, match=r"ocr_letters\('small'\): none of small_train.csv, "
                                                r"small_train.csv.gz in"):
        data.ocr_letters("small", data_dir=tmp_path)


def test_unknown_split_and_kind():
    with pytest.raises(ValueError, match=r"ocr_letters: unknown split 'huge' \(expected one of tiny, small, medium, "):
        data.ocr_letters("huge", data_dir=".")
    with pytest.raises(ValueError, match=r"mnist: unknown kind 'test'"):
        data.mnist("test", data_dir=".")


# -- load_csv and malformed CSV files --------------------------------------------------------------------------------

def write(tmp_path, text, name="f.csv"):
    path = tmp_path / name
    path.write_text(text)
    return path


def test_load_csv_label_columns_blank_lines_and_no_final_newline(tmp_path):
    path = write(tmp_path, "1,0.5,2\n\n0,1.5,3\n   \n2,-1,4")
    X, y = data.load_csv(path)
    np.testing.assert_array_equal(X, [[0.5, 2], [1.5, 3], [-1, 4]])
    np.testing.assert_array_equal(y, [1, 0, 2])
    X, y = data.load_csv(path, label_column=-1, dtype=np.float32)
    assert X.dtype == np.float32 and y.tolist() == [2, 3, 4]
    X, y = data.load_csv(path, label_column=None)
    assert X.shape == (3, 3) and y is None


def test_load_csv_reads_gzip(tmp_path):
    path = tmp_path / "f.csv.gz"
    with gzip.open(path, "wt") as file:
        file.write("1,2\n0,3\n")
    X, y = data.load_csv(path)
    assert X.tolist() == [[2.0], [3.0]] and y.tolist() == [1, 0]


@pytest.mark.parametrize("text, kwargs, message", [
    ("1,2,3\n4,5,6\n7,8\n", {}, r"f.csv, line 3: expected 3 comma-separated values \(as on line 1\), found 2"),
    ("1,2\n\n3,x\n", {}, r"f.csv, line 3, column 2: 'x', not a number"),
    ("1,2\n3,\n", {}, r"f.csv, line 2, column 2: an empty value"),
    ("1,2\n3,nan\n", {}, r"f.csv, line 2, column 2: non-finite value nan"),
    ("0,1\n\n\n5,1\n", {"n_classes": 3}, r"f.csv, line 4, column 1: label 5 out of range \(expected 0..2 for 3 "
                                         r"classes; labels are 0-based\)"),
    ("0,1\n-1,1\n", {}, r"f.csv, line 2, column 1: label -1 out of range \(expected >= 0"),
    ("0,1\n1.5,1\n", {}, r"f.csv, line 2, column 1: label 1.5 is not an integer class index"),
    ("1,2\n3,4\n", {"label_column": 1, "n_classes": 3}, r"f.csv, line 2, column 2: label 4 out of range"),
    ("", {}, r"f.csv: no data rows \(the file is empty\)"),
    ("\n\n", {}, r"f.csv: no data rows"),
    ("1\n2\n", {}, r"f.csv: only one column, so no features besides the label column"),
    ("1,2\n", {"label_column": 2}, r"f.csv: label_column 2 out of range for 2 columns"),
])
def test_malformed_csv_names_file_line_and_problem(tmp_path, text, kwargs, message):
    path = write(tmp_path, text)
    with pytest.raises(ValueError, match=message) as info:
        data.load_csv(path, **kwargs)
    assert str(path) in str(info.value)


def test_binary_file_is_not_text(tmp_path):
    path = tmp_path / "f.csv"
    path.write_bytes(b"1,2\n\xff\xfe\x00\x01\n")
    with pytest.raises(ValueError, match=r"f.csv: not a UTF-8 text file"):
        data.load_csv(path)


def test_load_csv_header_delimiter_and_label_by_name(tmp_path):
    path = write(tmp_path, "\nlabel;x1;x2\n1;0.5;2\n\n0;1.5;-2\n")
    X, y = data.load_csv(path, header=True, delimiter=";")
    assert X.tolist() == [[0.5, 2.0], [1.5, -2.0]] and y.tolist() == [1, 0]
    assert data.csv_header(path, delimiter=";") == ["label", "x1", "x2"]
    X, y = data.load_csv(path, label_column="x2", header=True, delimiter=";", regression=True)
    assert X.tolist() == [[1.0, 0.5], [0.0, 1.5]] and y.dtype == np.float64 and y.tolist() == [2.0, -2.0]
    tabs = write(tmp_path, "a\tb\n1\t2\n3\t4\n")
    X, y = data.load_csv(tabs, header=True, delimiter="\t", label_column=-1, dtype=np.float32)
    assert X.dtype == np.float32 and X.tolist() == [[1.0], [3.0]] and y.tolist() == [2, 4]


@pytest.mark.parametrize("text, kwargs, message", [
    ("y,x\n1,2\n", {}, r"f.csv, line 1, column 1: 'y', not a number \(is it a header\? pass header=True\)"),
    ("y,x\n1,2\n3,nan\n", {"header": True}, r"f.csv, line 3, column 2: non-finite value nan"),
    ("y,x\n1,2\n3,z\n", {"header": True}, r"f.csv, line 3, column 2: 'z', not a number$"),
    ("y,x\n1,2\n0.5,2\n", {"header": True}, r"line 3, column 1: label 0.5 is not an integer .*regression=True"),
    ("y,x\n", {"header": True}, r"f.csv: no data rows \(the file is empty but for its header\)"),
    ("y,x\n1,2\n", {"header": True, "label_column": "z"}, r"f.csv: no column named 'z' in the header \(y, x\)"),
    ("1,2\n", {"label_column": "y"}, r"f.csv: label_column 'y' is a name, which needs header=True"),
    ("1;2\n3\n", {"delimiter": ";"}, r"f.csv, line 2: expected 2 ';'-separated values \(as on line 1\), found 1"),
])
def test_csv_options_errors_name_file_line_and_column(tmp_path, text, kwargs, message):
    with pytest.raises(ValueError, match=message):
        data.load_csv(write(tmp_path, text), **kwargs)


def test_ocr_pixel_out_of_range_and_mismatched_widths(tmp_path):
    folder = tmp_path / "ocr-letters"
    folder.mkdir()
    (folder / "tiny_train.csv").write_text("1,0,1,0\n2,0,2,1\n")
    (folder / "tiny_test.csv").write_text("1,0,1,0\n")
    with pytest.raises(ValueError, match=r"tiny_train.csv, line 2, column 3: pixel value 2.0 outside \[0, 1\]"):
        data.ocr_letters("tiny", data_dir=tmp_path)
    (folder / "tiny_train.csv").write_text("1,0,1,0\n12,0,0,1\n")
    with pytest.raises(ValueError, match=r"tiny_train.csv, line 2, column 1: label 12 out of range \(expected 0..9"):
        data.ocr_letters("tiny", data_dir=tmp_path)
    (folder / "tiny_train.csv").write_text("1,0,1,0\n2,0,0.5,1\n")
    (folder / "tiny_test.csv").write_text("1,0,1\n")
    with pytest.raises(ValueError, match=r"training file has 3 pixels per row, the test file 2"):
        data.ocr_letters("tiny", data_dir=tmp_path)


@pytest.mark.parametrize("text, message", [
    ("5.1,3.5,1.4,0.2,Iris-setosa\n4.9,3.0,1.4,Iris-setosa\n", r"line 2: expected 5 comma-separated values"),
    ("5.1,3.5,1.4,0.2,Iris-setosa\n4.9,3.0,abc,0.2,Iris-setosa\n", r"line 2, column 3: 'abc', not a number"),
    ("5.1,3.5,1.4,0.2,Iris-setosa\n\n4.9,3.0,1.4,0.2,Iris-rosea\n", r"line 3, column 5: unknown class 'Iris-rosea' "
                                                                     r"\(expected one of Iris-setosa, Iris-versicolor"),
    ("5.1,3.5,inf,0.2,Iris-setosa\n", r"line 1, column 3: non-finite value inf"),
    ("\n", r"no data rows"),
])
def test_malformed_iris(tmp_path, text, message):
    path = write(tmp_path, text, "iris.data.csv")
    with pytest.raises(ValueError, match=message) as info:
        data.iris(data_dir=tmp_path)
    assert str(info.value).startswith(str(path))


def test_iris_accepts_short_class_names(tmp_path):
    write(tmp_path, "5.1,3.5,1.4,0.2,setosa\n6,3,5,2,Virginica\n\n", "iris.data.csv")
    X, y = data.iris(data_dir=tmp_path)
    assert y.tolist() == [0, 2] and X.shape == (2, 4)


# -- IDX files -------------------------------------------------------------------------------------------------------

def idx_bytes(array, code=0x08):
    header = bytes([0, 0, code, array.ndim]) + struct.pack(f">{array.ndim}I", *array.shape)
    return header + array.astype(array.dtype.newbyteorder(">")).tobytes()


def write_mnist(folder, kind, images, labels, compress):
    folder.mkdir(exist_ok=True)
    for name, array in ((f"{kind}-images-idx3-ubyte", images), (f"{kind}-labels-idx1-ubyte", labels)):
        raw = idx_bytes(array)
        if compress:
            (folder / (name + ".gz")).write_bytes(gzip.compress(raw))
        else:
            (folder / name).write_bytes(raw)


@pytest.mark.parametrize("compress", [False, True])
def test_mnist_train_kind_reads_user_files(tmp_path, compress):
    rng = np.random.default_rng(0)
    images = rng.integers(0, 256, (3, 28, 28), dtype=np.uint8)
    labels = np.array([3, 0, 9], dtype=np.uint8)
    write_mnist(tmp_path / "mnist", "train", images, labels, compress)
    X, y = data.mnist("train", data_dir=tmp_path)
    assert X.shape == (3, 784) and y.tolist() == [3, 0, 9]
    np.testing.assert_array_equal(X, images.reshape(3, -1) / 255.0)


@pytest.mark.parametrize("code, dtype", [(0x08, np.uint8), (0x09, np.int8), (0x0B, np.int16), (0x0C, np.int32),
                                         (0x0D, np.float32), (0x0E, np.float64)])
def test_read_idx_every_type(tmp_path, code, dtype):
    array = (np.arange(24).reshape(2, 3, 4) - 5).astype(dtype) if code != 0x08 else np.arange(24, dtype=dtype)
    path = tmp_path / "a.idx"
    path.write_bytes(idx_bytes(array, code))
    result = data.read_idx(path)
    assert result.dtype == np.dtype(dtype) and result.dtype.isnative
    np.testing.assert_array_equal(result, array)


def test_read_idx_errors(tmp_path):
    path = tmp_path / "a.idx"
    good = idx_bytes(np.arange(10, dtype=np.uint8).reshape(2, 5))
    cases = [
        (good[:-3], r"a.idx: truncated IDX data: shape \(2, 5\) needs 10 bytes from byte 12, but the data ends at "
                    r"byte 19 after 7 of 10 items"),
        (good[:6], r"truncated IDX header: 2 dimensions need 12 bytes, the file ends at byte 6"),
        (good[:2], r"truncated IDX header: the file has 2 bytes"),
        (b"\x01" + good[1:], r"bad IDX magic number 0x01000802 at byte 0"),
        (good[:2] + b"\x07" + good[3:], r"bad IDX magic number 0x00000702"),
        (good + b"\x00\x00", r"2 unexpected bytes after the IDX data, from byte 22"),
        (gzip.compress(good)[:-10], r"a.idx: corrupt or truncated gzip data"),
        (gzip.compress(good[:-1]), r"truncated IDX data: .* ends at decompressed byte 21"),
    ]
    for raw, message in cases:
        path.write_bytes(raw)
        with pytest.raises(ValueError, match=message):
            data.read_idx(path)


def test_mnist_inconsistent_files(tmp_path):
    images = np.zeros((3, 28, 28), dtype=np.uint8)
    write_mnist(tmp_path, "t10k", images, np.array([1, 2], dtype=np.uint8), compress=False)
    with pytest.raises(ValueError, match=r"mnist\('t10k'\): 3 images in t10k-images-idx3-ubyte but 2 labels"):
        data.mnist(data_dir=tmp_path)
    write_mnist(tmp_path, "t10k", images, np.array([1, 2, 10], dtype=np.uint8), compress=False)
    with pytest.raises(ValueError, match=r"t10k-labels-idx1-ubyte: label 10 at byte 10 of the IDX data \(item 2\) is "
                                         r"not a digit"):
        data.mnist(data_dir=tmp_path)
    write_mnist(tmp_path, "t10k", np.zeros((3, 784), dtype=np.uint8), np.array([1, 2, 3], dtype=np.uint8), False)
    with pytest.raises(ValueError, match=r"expected unsigned-byte images of 3 dimensions \(magic 2051\)"):
        data.mnist(data_dir=tmp_path)


def test_read_idx_refuses_a_declared_size_its_file_cannot_hold_before_allocating(tmp_path):
    path = tmp_path / "liar-idx1-ubyte.gz"
    path.write_bytes(gzip.compress(b"\x00\x00\x08\x01" + (2**31).to_bytes(4, "big") + bytes(100)))
    with pytest.raises(ValueError, match=r"liar-idx1-ubyte.gz: truncated IDX data: shape \(2147483648,\) needs "
                                         r"2147483648 bytes from decompressed byte 8, more than a file of this size "
                                         r"can hold"):
        data.read_idx(path)


def test_read_idx_stops_counting_the_trailing_bytes_of_a_gzip_bomb(tmp_path):
    """Ten declared bytes followed by 128 MB of zeros in ~130 kB: decompressed in bounded chunks, then refused."""
    import tracemalloc
    import zlib

    compressor = zlib.compressobj(9, zlib.DEFLATED, 31)
    chunks = [compressor.compress(b"\x00\x00\x08\x01" + (10).to_bytes(4, "big"))]
    chunks += [compressor.compress(bytes(2**20)) for _ in range(128)]
    path = tmp_path / "bomb-idx1-ubyte.gz"
    path.write_bytes(b"".join(chunks) + compressor.flush())
    tracemalloc.start()
    with pytest.raises(ValueError, match=r"bomb-idx1-ubyte.gz: more than 67108864 unexpected bytes after the IDX "
                                         r"data, from decompressed byte 18"):
        data.read_idx(path)
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    assert peak < 2**23


def test_read_idx_refuses_a_declared_size_beyond_its_limit(tmp_path, monkeypatch):
    monkeypatch.setattr("ember.data.datasets.IDX_MAX_BYTES", 100)
    path = tmp_path / "a.idx"
    path.write_bytes(idx_bytes(np.zeros((11, 10), dtype=np.uint8)))
    with pytest.raises(ValueError, match=r"declares shape \(11, 10\), 110 bytes of data, more than read_idx reads "
                                         r"\(100 bytes, ember.data.datasets.IDX_MAX_BYTES\)"):
        data.read_idx(path)


def test_a_directory_given_as_a_data_file_is_called_a_directory(tmp_path):
    for read in (data.read_idx, data.load_csv):
        with pytest.raises(IsADirectoryError, match=rf"{tmp_path.name}' is a directory, expected a data file"):
            read(tmp_path)


def test_data_file_errors_are_ember_errors(tmp_path):
    """A data file that cannot be read is a DataFileError (an EmberError and a ValueError) naming the file."""
    from ember.errors import DataFileError, EmberError

    csv = tmp_path / "bad.csv"
    csv.write_text("0,1.5\n1,abc\n")
    idx = tmp_path / "bad-idx"
    idx.write_bytes(b"\x00\x00\x08\x01" + struct.pack(">I", 10) + b"\x00" * 3)
    gz = tmp_path / "bad.csv.gz"
    gz.write_bytes(gzip.compress(b"0,1\n1,2\n")[:-6])
    for read, path, message in ((data.load_csv, csv, r"bad\.csv, line 2, column 2: 'abc', not a number"),
                                (data.read_idx, idx, r"bad-idx: truncated IDX data"),
                                (data.load_csv, gz, r"bad\.csv\.gz: corrupt or truncated gzip data")):
        with pytest.raises(DataFileError, match=message) as caught:
            read(path)
        assert isinstance(caught.value, EmberError) and isinstance(caught.value, ValueError)
