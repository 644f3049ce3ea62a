"""The install command of each optional dependency: every skip message names it, and so does the README."""

from __future__ import annotations

#: the command that installs each optional dependency: skip messages name it, and so does the README.
INSTALL = {
    "torch": "pip install torch==2.13.0",
    "mpi4py": "pip install -e '.[mpi]'",
    "sklearn": "pip install -e '.[sklearn]'",
    "matplotlib": "pip install -e .",
}


def skip_reason(module: str, what: str) -> str:
    """``"MODULE is not installed: INSTALL to run WHAT"``, the one form of every optional-dependency skip."""
    return f"{module} is not installed: {INSTALL[module]} to run {what}"
