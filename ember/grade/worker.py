"""The process that runs one student's checks: ``python -m ember.grade.worker REQUEST.json``.

Started by :mod:`ember.grade.runner` in the student's temporary working copy. It caps its own address
space (``memory_limit``), imports the submission and the reference, then runs the requested checks in
order, writing one JSON line per event to the results file (never to stdout, which the student's
code may use): ``{"event": "import"}`` before importing, ``{"event": "start", "check": i}`` before a
check and ``{"event": "result", "check": i, "fraction", "output", "diagnosis"}`` after it. The runner
enforces the wall-clock limits by watching these lines; an exception, ``sys.exit`` or a ``MemoryError``
in the student's code fails that check only.
"""

from __future__ import annotations

import importlib.util
import json
import os
import resource
import sys
import traceback
from pathlib import Path
from types import ModuleType
from typing import Any, TextIO

from ember.grade.checks import KINDS, Outcome, RefusalError
from ember.grade.spec import load_spec


def _emit(channel: TextIO, **event: Any) -> None:
    channel.write(json.dumps(event) + "\n")
    channel.flush()


def _import(path: Path, name: str) -> ModuleType:
    spec = importlib.util.spec_from_file_location(name, path)
    if spec is None or spec.loader is None:
        raise ImportError(f"cannot import {path.name}: not a Python file")
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


def _where(error: BaseException, file: Path) -> str:
    """The last line of the traceback inside the student's file, if any: ``(requ.py, line 12)``."""
    frames = [frame for frame in traceback.extract_tb(error.__traceback__) if Path(frame.filename) == file]
    return f" ({file.name}, line {frames[-1].lineno})" if frames else ""


def describe_error(error: BaseException, file: Path, memory_limit: int) -> str:
    """A student-facing sentence for what their code raised."""
    if isinstance(error, SystemExit):
        return f"your code called sys.exit({error.code!r}){_where(error, file)}: never exit from a graded function"
    if isinstance(error, MemoryError):
        return (f"your code ran out of memory (the limit is {memory_limit} MiB){_where(error, file)}: "
                f"MemoryError {error}".rstrip())
    where = _where(error, file)
    if not where and not isinstance(error, SyntaxError):
        return (f"the check raised {type(error).__name__}: {error} (outside {file.name}: a problem of the "
                f"grader or the reference, or of what your code returned)")
    return f"your code raised {type(error).__name__}: {error}{where}"


def run(request: dict[str, Any]) -> None:
    """Run the checks of ``request`` (spec, submission, checks, results, memory_limit)."""
    spec = load_spec(request["spec"])
    file = Path(request["submission"]).resolve()
    limit = int(request["memory_limit"]) * 2 ** 20
    resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
    with open(request["results"], "a", buffering=1) as channel:
        _emit(channel, event="import")
        try:
            sys.path.insert(0, str(file.parent))
            student = _import(file, "submission")
        except BaseException as error:  # noqa: B036 -- a student's sys.exit or crash at import time
            _emit(channel, event="import_failed", output=f"importing {file.name} failed: "
                  + describe_error(error, file, request["memory_limit"]))
            return
        reference = _import(spec.reference, "reference")
        for i in request["checks"]:
            check = spec.checks[i]
            _emit(channel, event="start", check=i)
            try:
                outcome = KINDS[check.kind](check, student, reference, spec)
            except RefusalError as refusal:
                outcome = Outcome(0.0, str(refusal))
            except BaseException as error:  # noqa: B036 -- sys.exit and MemoryError cost this check only
                outcome = Outcome(0.0, describe_error(error, file, request["memory_limit"]))
            _emit(channel, event="result", check=i, fraction=outcome.fraction, output=outcome.output,
                  diagnosis=outcome.diagnosis)


def main() -> None:
    """Read the request file named on the command line and run it."""
    request = json.loads(Path(sys.argv[1]).read_text())
    os.chdir(Path(request["submission"]).parent)
    run(request)


if __name__ == "__main__":
    main()
