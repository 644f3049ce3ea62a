"""The one check that a path a user gave names a file, for every reader (data files, model files)."""

from __future__ import annotations

import os
from pathlib import Path


def existing_file(path: str | os.PathLike, what: str = "a file") -> Path:
    """``path`` as a Path, after checking that it names a file: a directory is called a directory (not
    "no such file"), and a missing path is ``FileNotFoundError``; both messages name the path.
    """
    path = Path(path)
    if path.is_dir():
        raise IsADirectoryError(f"{str(path)!r} is a directory, expected {what}")
    if not path.is_file():
        raise FileNotFoundError(f"{path}: no such file")
    return path
