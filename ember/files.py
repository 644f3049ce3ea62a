"""Files a user names: the one check that a path to read names a readable file (data files, model files), and
the one way to write a file (atomically, beside its final name) whose failures are :class:`~ember.errors.SaveError`
naming the path and the cause.
"""

from __future__ import annotations

import errno
import glob
import os
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from ember.errors import InputTypeError, MissingFileError, NotAFileError, SaveError, UnreadableFileError

#: a temporary file of a save not written to for this long (seconds) is a killed save's, and is removed
STALE_SECONDS = 60.0


def as_path(path: Any, what: str = "a file") -> Path:
    """``path`` as a Path; anything but a string or an ``os.PathLike`` is an ``InputTypeError`` naming ``what``."""
    if not isinstance(path, (str, os.PathLike)) or (isinstance(path, str) and not path):
        raise InputTypeError(f"expected the path of {what}, got {path!r} ({type(path).__name__})")
    return Path(path)


def existing_file(path: str | os.PathLike, what: str = "a file") -> Path:
    """``path`` as a Path, after checking that it names a file this process may read: a directory is
    :class:`~ember.errors.NotAFileError` (not "no such file"), a missing path :class:`~ember.errors.MissingFileError`
    and an unreadable one :class:`~ember.errors.UnreadableFileError`; each message names the path.
    """
    path = as_path(path, what)
    if path.is_dir():
        raise NotAFileError(errno.EISDIR, f"{str(path)!r} is a directory, expected {what}", str(path))
    if not path.is_file():
        if path.exists():
            raise NotAFileError(errno.EINVAL, f"{str(path)!r} is not a regular file, expected {what}", str(path))
        raise MissingFileError(errno.ENOENT, f"{path}: no such file", str(path))
    if not os.access(path, os.R_OK):
        raise UnreadableFileError(errno.EACCES, f"{path}: cannot read {what} (permission denied)", str(path))
    return path


def save_error(path: str | os.PathLike, error: OSError, existed: bool | None = None) -> SaveError:
    """The :class:`~ember.errors.SaveError` for ``error`` met while writing ``path``: it names the path, the
    cause and (when ``existed`` is known) whether the file there before is unchanged.
    """
    if isinstance(error, SaveError):
        return error
    cause = error.strerror or str(error) or type(error).__name__
    kept = "" if existed is None else ("; the file there is unchanged" if existed else "; no file was written")
    return SaveError(error.errno, f"{path}: not saved ({cause}){kept}", str(path))


@contextmanager
def saving(path: str | os.PathLike) -> Iterator[None]:
    """Turn an ``OSError`` raised inside the block (a file opened, written, closed) into a SaveError naming ``path``."""
    try:
        yield
    except OSError as error:
        raise save_error(path, error) from error


def atomic_write(path: str | os.PathLike, write: Callable[[Path], object], *, make_parents: bool = False,
                 stale_seconds: float = STALE_SECONDS) -> Path:
    """Write ``path`` atomically: ``write(temporary)`` fills a temporary file beside it, which is flushed to
    disk and renamed over ``path``. A failure (disk full, permission denied, a directory or a missing folder
    in the way, a read-only filesystem) is a :class:`~ember.errors.SaveError` naming the path and the cause;
    the file there before is unchanged and no temporary file remains. The temporary files that killed saves
    to ``path`` left behind (untouched for ``stale_seconds``) are removed first. With ``make_parents``, missing
    folders on the way are made.
    """
    path = as_path(path, "the file to write")
    directory = path.parent if str(path.parent) else Path(".")
    existed = path.exists()
    if path.is_dir():
        raise SaveError(errno.EISDIR, f"{path}: not saved: it is a directory, expected a file path", str(path))
    if make_parents:
        with saving(path):
            directory.mkdir(parents=True, exist_ok=True)
    if not directory.is_dir():
        raise SaveError(errno.ENOENT, f"{path}: not saved: the folder {directory} does not exist", str(path))
    temporary = None
    try:
        _remove_stale_temporaries(directory, path.name, stale_seconds)
        handle, name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=directory)
        os.close(handle)
        temporary = Path(name)
        write(temporary)
        with open(temporary, "rb+") as written:
            os.fsync(written.fileno())
        os.chmod(temporary, 0o666 & ~_umask())  # as open() would make it (mkstemp's file is 0600)
        os.replace(temporary, path)
    except BaseException as error:
        if temporary is not None and temporary.exists():
            temporary.unlink()
        if isinstance(error, OSError):
            raise save_error(path, error, existed) from error
        raise
    return path


def write_text(path: str | os.PathLike, text: str, *, make_parents: bool = True) -> Path:
    """Write ``text`` (UTF-8) to ``path`` with :func:`atomic_write`, making its folder if needed."""
    return atomic_write(path, lambda temporary: temporary.write_text(text, encoding="utf-8"),
                        make_parents=make_parents)


def _remove_stale_temporaries(directory: Path, name: str, stale_seconds: float) -> None:
    """Remove the temporary files that killed saves to ``directory / name`` left behind (a save in progress
    keeps writing its own, so only those untouched for ``stale_seconds`` go).
    """
    now = time.time()
    for stale in directory.glob(f".{glob.escape(name)}.*.tmp"):
        try:
            if now - stale.stat().st_mtime > stale_seconds:
                stale.unlink()
        except FileNotFoundError:  # another save removed it first
            pass


def _umask() -> int:
    """The process's umask (read by setting it and putting it back)."""
    mask = os.umask(0o022)
    os.umask(mask)
    return mask
