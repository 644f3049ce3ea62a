"""Classes named on the command line: ``path/to/file.py:ClassName`` or a module of ``ember.nn``."""

from __future__ import annotations

import difflib
import importlib.util
import re
import sys
from pathlib import Path
from typing import Any

from ember.cli.common import UsageError


def load_module_class(spec: str) -> tuple[type, str]:
    """The class named by ``path/to/file.py:ClassName`` or by a name from ``ember.nn``, and its name."""
    from ember import nn
    from ember.nn.module import Module

    path, colon, name = spec.rpartition(":")
    if colon and path and not re.fullmatch(r"[A-Za-z]", path):  # not a bare Windows drive letter
        file = Path(path)
        if not file.is_file():
            raise UsageError(f"no such file: {path}")
        namespace = import_file(file)
        cls = getattr(namespace, name, None)
        if cls is None:
            choices = [k for k, v in vars(namespace).items() if isinstance(v, type) and issubclass(v, Module)]
            raise UsageError(f"{path} defines no {name!r}{_suggest(name, choices)}")
    else:
        name = spec
        if name.endswith(".py"):
            raise UsageError(f"name the class to check: {name}:ClassName")
        cls = getattr(nn, name, None)
        if not (isinstance(cls, type) and issubclass(cls, Module)):
            choices = [k for k, v in vars(nn).items() if isinstance(v, type) and issubclass(v, Module)]
            raise UsageError(f"ember.nn has no module {name!r}{_suggest(name, choices)}; "
                             "to check your own, give path/to/file.py:ClassName")
    if not (isinstance(cls, type) and issubclass(cls, Module)):
        raise UsageError(f"{name} is not a subclass of ember.nn.Module")
    return cls, name


def _suggest(name: str, choices: list[str]) -> str:
    close = difflib.get_close_matches(name, choices, n=3)
    if close:
        return " (did you mean " + " or ".join(close) + "?)"
    if choices:
        return " (it has " + ", ".join(sorted(choices)[:8]) + (", ..." if len(choices) > 8 else "") + ")"
    return ""


def import_file(file: Path) -> Any:
    """Import a Python file by its path; its directory is on ``sys.path`` while it loads."""
    name = "_ember_user_" + re.sub(r"\W", "_", file.stem)
    spec = importlib.util.spec_from_file_location(name, file)
    if spec is None or spec.loader is None:
        raise UsageError(f"cannot import {file}: not a Python file")
    namespace = importlib.util.module_from_spec(spec)
    sys.modules[name] = namespace
    directory = str(file.resolve().parent)
    sys.path.insert(0, directory)
    try:
        spec.loader.exec_module(namespace)
    except Exception as error:
        del sys.modules[name]
        raise UsageError(f"cannot import {file}: {type(error).__name__}: {error}") from error
    finally:
        sys.path.remove(directory)
    return namespace
