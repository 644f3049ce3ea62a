"""Verified downloads of the datasets too large to ship: full MNIST and Fashion-MNIST.

Files go to the cache (:func:`cache_directory`: ``$EMBER_CACHE``, else
``~/.cache/ember``), one folder per dataset, under their original names, so
:func:`ember.data.mnist` finds them. Each file is checked against its sha256
before it is put in place. A broken connection leaves ``<name>.part`` behind,
and the next call resumes it with an HTTP range request; a file whose checksum
does not match is deleted and reported. Mirrors are tried in order.

Example::

    from ember.data import download
    download.download("mnist")              # ~11 MB into ~/.cache/ember/mnist
    X, y = ember.data.mnist("train")        # now found in the cache
"""

from __future__ import annotations

import hashlib
import os
import urllib.error
import urllib.request
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from http.client import HTTPException
from pathlib import Path

from ember.errors import InputError

#: The environment variable naming the download cache.
CACHE_VAR = "EMBER_CACHE"

_CHUNK = 1 << 16


class DownloadError(OSError):
    """A download that failed: no mirror reachable, a server error, or a checksum that does not match."""


@dataclass(frozen=True)
class RemoteFile:
    """One file of a dataset: its name, size in bytes and sha256."""

    name: str
    size: int
    sha256: str


@dataclass(frozen=True)
class RemoteDataset:
    """A downloadable dataset: where it comes from, under what licence, and its files."""

    name: str
    description: str
    source: str
    licence: str
    mirrors: tuple[str, ...]
    files: tuple[RemoteFile, ...]


def _idx_files(train_images, train_labels, test_images, test_labels) -> tuple[RemoteFile, ...]:
    return tuple(RemoteFile(name, size, sha) for name, (size, sha) in zip(
        ("train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz", "t10k-images-idx3-ubyte.gz",
         "t10k-labels-idx1-ubyte.gz"), (train_images, train_labels, test_images, test_labels)))


#: The datasets :func:`download` knows, by name.
DATASETS: dict[str, RemoteDataset] = {
    "mnist": RemoteDataset(
        "mnist", "MNIST handwritten digits, 60k training and 10k test images of 28x28",
        "Yann LeCun, Corinna Cortes and Christopher Burges, http://yann.lecun.com/exdb/mnist/", "CC BY-SA 3.0",
        ("https://ossci-datasets.s3.amazonaws.com/mnist/", "https://storage.googleapis.com/cvdf-datasets/mnist/",
         "http://yann.lecun.com/exdb/mnist/"),
        _idx_files((9912422, "440fcabf73cc546fa21475e81ea370265605f56be210a4024d2ca8f203523609"),
                   (28881, "3552534a0a558bbed6aed32b30c495cca23d567ec52cac8be1a0730e8010255c"),
                   (1648877, "8d422c7b0a1c1c79245a5bcf07fe86e33eeafee792b84584aec276f5a2dbc4e6"),
                   (4542, "f7ae60f92e00ec6debd23a6088c31dbd2371eca3ffa0defaefb259924204aec6"))),
    "fashion-mnist": RemoteDataset(
        "fashion-mnist", "Fashion-MNIST clothing images (Zalando), 60k training and 10k test images of 28x28",
        "Han Xiao, Kashif Rasul and Roland Vollgraf, https://github.com/zalandoresearch/fashion-mnist", "MIT",
        ("https://fashion-mnist.s3.eu-central-1.amazonaws.com/",
         "http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/"),
        _idx_files((26421880, "3aede38d61863908ad78613f6a32ed271626dd12800ba2636569512369268a84"),
                   (29515, "a04f17134ac03560a47e3764e11b92fc97de4d1bfaf8ba1a3aa29af54cc90845"),
                   (4422102, "346e55b948d973a97e58d2351dde16a484bd415d4595297633bb08f03db6a073"),
                   (5148, "67da17c76eaffca5446c3361aaab5c3cd6d1c2608764d35dfb1850b086bf8dd5"))),
}

#: The datasets shipped inside the package (:data:`ember.data.SHIPPED`): name -> (what, source, licence).
SHIPPED_DATASETS: dict[str, tuple[str, str, str]] = {
    "ocr-letters": ("handwritten letters a e g i l n o r t u, 16x8 binary images; tiny 2/2, small 500/100, "
                    "medium 5000/1000, large 9000/1000 train/test rows",
                    "the Stanford OCR dataset (Rob Kassel, prepared by Ben Taskar), the subset of the CMU "
                    "one-hidden-layer homework", "research and teaching use, as distributed with the course"),
    "iris": ("Fisher's Iris, 150 flowers, 4 measurements, 3 classes",
             "the UCI Machine Learning Repository file (R. A. Fisher, 1936)", "CC BY 4.0"),
    "mnist": ("the MNIST test set (t10k), 10,000 digits of 28x28",
              "Yann LeCun, Corinna Cortes and Christopher Burges", "CC BY-SA 3.0"),
}


def is_downloaded(name: str, cache_dir: str | os.PathLike | None = None) -> bool:
    """Whether every file of dataset ``name`` is in the cache (by name; :func:`download` verifies them)."""
    folder = (Path(cache_dir).expanduser() if cache_dir is not None else cache_directory()) / name
    return all((folder / remote.name).is_file() for remote in DATASETS[name].files)


#: ``progress(file name, bytes so far, total bytes)``, called as a download proceeds.
Progress = Callable[[str, int, int], None]


def cache_directory() -> Path:
    """The download cache: ``$EMBER_CACHE`` if set, else ``~/.cache/ember`` (not created here)."""
    value = os.environ.get(CACHE_VAR)
    return Path(value).expanduser() if value else Path.home() / ".cache" / "ember"


def sha256_of(path: Path) -> str:
    """The sha256 of a file, read in chunks."""
    digest = hashlib.sha256()
    with open(path, "rb") as file:
        for chunk in iter(lambda: file.read(_CHUNK), b""):
            digest.update(chunk)
    return digest.hexdigest()


def _receive(url: str, part: Path, total: int, timeout: float, progress: Progress | None) -> None:
    """Append ``url``'s bytes to ``part``, asking for the rest only when ``part`` holds a prefix."""
    have = part.stat().st_size if part.exists() else 0
    if have >= total:  # as long as the file or longer: the checksum decides, a fresh start if it fails
        part.unlink()
        have = 0
    request = urllib.request.Request(url, headers={"Range": f"bytes={have}-"} if have else {})
    with urllib.request.urlopen(request, timeout=timeout) as response:
        if have and response.status != 206:  # the server ignored the range: start over
            have = 0
        with open(part, "ab" if have else "wb") as file:
            for chunk in iter(lambda: response.read(_CHUNK), b""):
                file.write(chunk)
                have += len(chunk)
                if progress is not None:
                    progress(part.name.removesuffix(".part"), have, total)
    if have < total:
        raise ConnectionError(f"the connection closed after {have} of {total} bytes")


def fetch(remote: RemoteFile, folder: Path, mirrors: Sequence[str], *, timeout: float = 60.0,
          progress: Progress | None = None) -> Path:
    """``folder/remote.name``, downloaded from the first mirror that works unless already present and verified.

    Raises:
        DownloadError: every mirror failed (each failure is named; a partial file is kept
            for the next call to resume), or the downloaded file's sha256 does not match
            (the file is deleted).

    """
    target = folder / remote.name
    if target.is_file() and sha256_of(target) == remote.sha256:
        return target
    folder.mkdir(parents=True, exist_ok=True)
    part = folder / (remote.name + ".part")
    failures = []
    for mirror in mirrors:
        url = mirror.rstrip("/") + "/" + remote.name
        try:
            _receive(url, part, remote.size, timeout, progress)
        except urllib.error.HTTPError as error:
            if error.code == 416 and part.exists():  # our partial file does not fit the server's: start afresh
                part.unlink()
            failures.append(f"{url}: HTTP {error.code} {error.reason}")
            continue
        except urllib.error.URLError as error:
            failures.append(f"{url}: {error.reason}")
            continue
        except (HTTPException, OSError) as error:  # a broken connection, a timeout, a full disk
            failures.append(f"{url}: {type(error).__name__}: {error}")
            continue
        digest = sha256_of(part)
        if digest != remote.sha256:
            size = part.stat().st_size
            part.unlink()
            raise DownloadError(f"{url}: checksum mismatch for {remote.name}: sha256 {digest} ({size} bytes), "
                                f"expected {remote.sha256} ({remote.size} bytes); the file was deleted")
        os.replace(part, target)
        return target
    kept = f"; {part.stat().st_size} bytes kept in {part}, the next try resumes" if part.exists() else ""
    raise DownloadError(f"could not download {remote.name}: " + "; ".join(failures) + kept)


def download(name: str, kinds: Sequence[str] = ("train", "t10k"), cache_dir: str | os.PathLike | None = None,
             mirrors: Sequence[str] | None = None, *, timeout: float = 60.0,
             progress: Progress | None = None) -> Path:
    """Download dataset ``name`` (a key of :data:`DATASETS`) into the cache, verified; returns its folder.

    Files already in the cache with the right checksum are not fetched again.

    Args:
        name: ``'mnist'`` or ``'fashion-mnist'``.
        kinds: which parts: ``'train'`` and/or ``'t10k'`` (images and labels of each).
        cache_dir: the cache (default :func:`cache_directory`); the files go to ``cache_dir/name``.
        mirrors: base URLs to try in order instead of the dataset's own.
        timeout: seconds to wait for a server before trying the next mirror.
        progress: called with (file name, bytes so far, total bytes) as data arrive.

    Raises:
        ValueError: an unknown dataset or kind.
        DownloadError: as :func:`fetch`.

    """
    if name not in DATASETS:
        raise InputError(f"download: unknown dataset {name!r} (expected one of {', '.join(DATASETS)})")
    unknown = [kind for kind in kinds if kind not in ("train", "t10k")]
    if unknown:
        raise InputError(f"download: unknown kind {unknown[0]!r} (expected 'train' or 't10k')")
    dataset = DATASETS[name]
    folder = (Path(cache_dir).expanduser() if cache_dir is not None else cache_directory()) / name
    for remote in dataset.files:
        if remote.name.split("-")[0] in kinds:
            fetch(remote, folder, dataset.mirrors if mirrors is None else mirrors, timeout=timeout,
                  progress=progress)
    return folder
