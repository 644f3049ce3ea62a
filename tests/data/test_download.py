"""ember.data.download against a local HTTP server on 127.0.0.1: verify, cache, resume, fail cleanly."""

from __future__ import annotations

import gzip
import hashlib
import struct
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import numpy as np
import pytest

from ember import data
from ember.data import download


class Server:
    """Serves ``files`` (name -> bytes); honours Range; can cut a response short or ignore ranges."""

    def __init__(self):
        self.files: dict[str, bytes] = {}
        self.cut_short: set[str] = set()  # names whose next response stops halfway
        self.ignore_range = False
        self.requests: list[tuple[str, str | None]] = []
        server = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def do_GET(self):
                name = self.path.rsplit("/", 1)[-1]
                wanted = self.headers.get("Range")
                server.requests.append((name, wanted))
                if name not in server.files:
                    self.send_error(404)
                    return
                body = server.files[name]
                start = int(wanted.removeprefix("bytes=").rstrip("-")) if wanted and not server.ignore_range else 0
                if start >= len(body) and start:
                    self.send_error(416)
                    return
                self.send_response(206 if start else 200)
                self.send_header("Content-Length", str(len(body) - start))
                self.end_headers()
                if name in server.cut_short:
                    server.cut_short.discard(name)
                    self.wfile.write(body[start:start + (len(body) - start) // 2])
                    self.wfile.flush()
                    self.close_connection = True
                    return
                self.wfile.write(body[start:])

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}/data/"
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture
def server():
    with Server() as running:
        yield running


def idx_gz(array: np.ndarray, code: int) -> bytes:
    header = bytes([0, 0, 0x08, array.ndim]) + struct.pack(f">{array.ndim}I", *array.shape)
    return gzip.compress(header + array.astype(np.uint8).tobytes(), mtime=0)


@pytest.fixture
def tiny_mnist(server, monkeypatch, tmp_path):
    """A four-file MNIST of 5 training and 3 test images, served locally, registered in place of the real one."""
    rng = np.random.default_rng(0)
    parts = {"train": (rng.integers(0, 256, (5, 28, 28)), np.array([0, 1, 2, 3, 9])),
             "t10k": (rng.integers(0, 256, (3, 28, 28)), np.array([7, 2, 1]))}
    files = []
    for kind, (images, labels) in parts.items():
        for what, array in (("images-idx3", images), ("labels-idx1", labels)):
            name = f"{kind}-{what}-ubyte.gz"
            server.files[name] = idx_gz(array, 0x08)
            files.append(download.RemoteFile(name, len(server.files[name]),
                                             hashlib.sha256(server.files[name]).hexdigest()))
    real = download.DATASETS["mnist"]
    monkeypatch.setitem(download.DATASETS, "mnist", download.RemoteDataset(
        "mnist", real.description, real.source, real.licence, (server.url,), tuple(files)))
    monkeypatch.setenv("EMBER_CACHE", str(tmp_path / "cache"))
    return parts


def test_cache_directory_from_environment(monkeypatch, tmp_path):
    monkeypatch.setenv("EMBER_CACHE", str(tmp_path))
    assert download.cache_directory() == tmp_path
    monkeypatch.delenv("EMBER_CACHE")
    assert download.cache_directory().parts[-2:] == (".cache", "ember")


def test_download_verifies_caches_and_loads(tiny_mnist, server, tmp_path):
    seen = []
    folder = download.download("mnist", progress=lambda name, done, total: seen.append((name, done, total)))
    assert folder == tmp_path / "cache" / "mnist"
    assert sorted(path.name for path in folder.iterdir()) == sorted(server.files)
    assert seen[-1][1] == seen[-1][2] and {name for name, _, _ in seen} == set(server.files)
    count = len(server.requests)
    download.download("mnist")  # verified copies in the cache are not fetched again
    assert len(server.requests) == count
    X, y = data.mnist("train")
    images, labels = tiny_mnist["train"]
    np.testing.assert_array_equal(X, images.reshape(5, -1) / 255)
    assert y.tolist() == labels.tolist()


def test_loader_downloads_on_request(tiny_mnist, server):
    with pytest.raises(FileNotFoundError, match=r"`ember data download mnist` or mnist\('train', download=True\)"):
        data.mnist("train")
    X, y = data.mnist("train", download=True, dtype=np.float32)
    assert X.shape == (5, 784) and X.dtype == np.float32 and y.tolist() == [0, 1, 2, 3, 9]
    assert {name for name, _ in server.requests} == {"train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz"}


def test_broken_connection_keeps_the_part_and_resumes(tiny_mnist, server, tmp_path):
    name = "train-images-idx3-ubyte.gz"
    server.cut_short.add(name)
    with pytest.raises(download.DownloadError, match=rf"could not download {name}: .*{name}: ConnectionError: the "
                                                     rf"connection closed after \d+ of \d+ bytes; \d+ bytes kept in "
                                                     rf".*{name}.part, the next try resumes"):
        download.download("mnist", kinds=("train",))
    part = tmp_path / "cache" / "mnist" / (name + ".part")
    half = part.stat().st_size
    assert 0 < half < len(server.files[name])
    assert not (tmp_path / "cache" / "mnist" / name).exists()
    download.download("mnist", kinds=("train",))
    assert (name, f"bytes={half}-") in server.requests
    assert (tmp_path / "cache" / "mnist" / name).read_bytes() == server.files[name] and not part.exists()


def test_server_that_ignores_ranges_restarts_cleanly(tiny_mnist, server, tmp_path):
    name = "train-labels-idx1-ubyte.gz"
    folder = tmp_path / "cache" / "mnist"
    folder.mkdir(parents=True)
    (folder / (name + ".part")).write_bytes(b"stale")
    server.ignore_range = True
    download.download("mnist", kinds=("train",))
    assert (folder / name).read_bytes() == server.files[name]


def test_checksum_mismatch_deletes_the_file(tiny_mnist, server, tmp_path):
    name = "t10k-labels-idx1-ubyte.gz"
    server.files[name] = server.files[name][:-1] + bytes([server.files[name][-1] ^ 0xFF])
    with pytest.raises(download.DownloadError, match=rf"{name}: checksum mismatch for {name}: sha256 [0-9a-f]{{64}} "
                                                     r"\(\d+ bytes\), expected [0-9a-f]{64} .*the file was deleted"):
        download.download("mnist", kinds=("t10k",))
    assert not any(path.name.startswith(name) for path in (tmp_path / "cache" / "mnist").iterdir())


def test_mirrors_in_order_and_every_failure_named(tiny_mnist, server, tmp_path):
    missing = server.url.replace("/data/", "/elsewhere/")
    del server.files["t10k-images-idx3-ubyte.gz"]
    with Server() as closed:
        dead = closed.url  # a port nothing listens on once this server is closed
    with pytest.raises(download.DownloadError) as info:
        download.download("mnist", kinds=("t10k",), mirrors=[dead, server.url])
    message = str(info.value)
    assert f"{dead}t10k-images-idx3-ubyte.gz: [Errno 111] Connection refused" in message
    assert f"{server.url}t10k-images-idx3-ubyte.gz: HTTP 404" in message
    tiny = tmp_path / "other"
    download.download("mnist", kinds=("train",), mirrors=[missing, server.url], cache_dir=tiny)
    assert len(list((tiny / "mnist").iterdir())) == 2


def test_unknown_dataset_and_kind():
    with pytest.raises(ValueError, match=r"download: unknown dataset 'cifar' \(expected one of mnist, fashion-mnist\)"):
        download.download("cifar")
    with pytest.raises(ValueError, match=r"download: unknown kind 'test'"):
        download.download("mnist", kinds=("test",))


def test_registry_names_sources_licences_and_real_checksums():
    mnist = download.DATASETS["mnist"]
    shipped = {path.name: hashlib.sha256(path.read_bytes()).hexdigest() for path in (data.SHIPPED / "mnist").iterdir()}
    assert {f.name: f.sha256 for f in mnist.files if f.name in shipped} == shipped
    for dataset in download.DATASETS.values():
        assert dataset.licence and dataset.source and all(url.startswith("http") for url in dataset.mirrors)
        assert len(dataset.files) == 4 and all(len(f.sha256) == 64 for f in dataset.files)
