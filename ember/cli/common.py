"""What every ``ember`` command shares: the parser class, option types and options, and the error guard.

A handler is ``handler(args) -> int``: it parses nothing itself, calls the library, prints and returns
the exit status. :func:`guard` runs it and turns what can go wrong into one line on stderr and a status:

* 0 success; 1 the command ran and found a failure (a failed check), or the library refused its
  input (ember's exceptions: ``ValueError`` and its ``ember.InputError`` family, ``TypeError``,
  ``OSError``, ``FloatingPointError``, and ``MemoryError``, whose message names the size asked for);
* 2 bad arguments: argparse's own errors and :class:`UsageError` (a combination argparse cannot see);
* 70 anything else (a bug in ember, or in a user's module class): one line naming the exception's type and
  message, never a traceback (``EMBER_DEBUG=1`` lets the exception through, with its traceback);
* 130 interrupted (Ctrl-C): one line, and the work that finished is kept by the library call;
* 141 the reader of stdout went away (``ember … | head``): stop quietly, as the shell's tools do.
"""

from __future__ import annotations

import argparse
import errno
import math
import os
import sys
from collections.abc import Callable
from typing import Any

from ember.distributed import EXECUTORS, RankError
from ember.errors import SaveError

#: the exceptions with which the library refuses input or fails cleanly: one line, exit status 1.
#: (``ember.InputError`` subclasses ``ValueError``, so it is among them; ``RankError`` is a rank of an MPI
#: job that failed, reported by every rank.)
LIBRARY_ERRORS = (ValueError, TypeError, OSError, FloatingPointError, MemoryError, RankError)


class UsageError(Exception):
    """Bad command-line arguments that argparse cannot see: one line on stderr, exit status 2."""


class HelpFormatter(argparse.RawDescriptionHelpFormatter):
    """Descriptions kept as written; every option's default shown by argparse itself (never in a help string)."""

    def _get_help_string(self, action: argparse.Action) -> str:
        text = action.help or ""
        default = action.default
        if ("%(default)" in text or default in (None, False, argparse.SUPPRESS)
                or not (action.option_strings or action.nargs in (argparse.OPTIONAL, argparse.ZERO_OR_MORE))):
            return text
        shown = " ".join(str(item) for item in default) if isinstance(default, (list, tuple)) else "%(default)s"
        return f"{text} (default: {shown})"


class Parser(argparse.ArgumentParser):
    """An argument parser that reports a bad argument as one line (and exit status 2) under its own name."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("formatter_class", HelpFormatter)
        super().__init__(*args, **kwargs)

    def error(self, message: str) -> None:  # type: ignore[override]
        """Print ``PROG: error: MESSAGE (see 'PROG --help')`` and exit with 2."""
        self.exit(2, f"{self.prog}: error: {message} (see '{self.prog} --help')\n")


def command(subparsers: Any, name: str, handler: Callable[[argparse.Namespace], int], help: str,
            description: str = "", epilog: str = "", **kwargs: Any) -> Parser:
    """Declare subcommand ``name`` that runs ``handler``; its parser is returned to take the options."""
    parser = subparsers.add_parser(name, help=help, description=description or help[:1].upper() + help[1:] + ".",
                                   epilog=epilog, formatter_class=HelpFormatter, **kwargs)
    parser.set_defaults(handler=handler, parser=parser)
    return parser


# -- option types ---------------------------------------------------------------------------------

def _number_type(convert: Callable[[str], Any], accept: Callable[[Any], bool], what: str) -> Callable[[str], Any]:
    """An argparse type: ``convert(text)``, refused with "expected WHAT" unless ``accept(value)``."""

    def parse(text: str) -> Any:
        try:
            value = convert(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected {what}, got {text!r}") from None
        if not accept(value):
            raise argparse.ArgumentTypeError(f"expected {what}, got {text!r}")
        return value

    return parse


positive_int = _number_type(int, lambda value: value >= 1, "a positive integer")
nonnegative_int = _number_type(int, lambda value: value >= 0, "a non-negative integer")
positive_float = _number_type(float, lambda value: math.isfinite(value) and value > 0, "a positive number")
unit_fraction = _number_type(float, lambda value: 0 <= value < 1, "a fraction in [0, 1)")


# -- shared options -------------------------------------------------------------------------------

def add_out(parser: argparse.ArgumentParser, what: str = "the figures") -> None:
    """``--out DIR``: the folder for what the command writes."""
    parser.add_argument("--out", metavar="DIR", default=".", help=f"folder for {what}")


def add_seed(parser: argparse.ArgumentParser, what: str = "the initialisation", default: int = 0) -> None:
    """``--seed N``: the seed of the command's random draws."""
    parser.add_argument("--seed", type=int, default=default, metavar="N", help=f"seed of {what}")


def add_data_dir(parser: argparse.ArgumentParser) -> None:
    """``--data-dir DIR``: where the shipped datasets are read (else ``$EMBER_DATA_DIR``)."""
    parser.add_argument("--data-dir", metavar="DIR", default=None,
                        help="directory holding iris/, ocr-letters/ and mnist/ (if not given: $EMBER_DATA_DIR, else "
                             "the data shipped with ember)")


def add_quiet(parser: argparse.ArgumentParser, what: str = "no progress bar") -> None:
    """``--quiet``."""
    parser.add_argument("--quiet", action="store_true", help=what)


def add_executor(parser: argparse.ArgumentParser, what: str = "the runs") -> None:
    """``--executor {processes,mpi,none}`` and ``--workers N``: where independent runs go."""
    parser.add_argument("--executor", choices=EXECUTORS, default=EXECUTORS[0],
                        help=f"where {what} go: processes (one worker per core), mpi (mpi4py.futures: spawned "
                             f"workers, or the ranks of 'mpiexec -n N python -m mpi4py.futures -m ember ...'), "
                             f"none (here, one after another); the results are the same")
    parser.add_argument("--workers", type=positive_int, default=None, metavar="N",
                        help="number of workers for processes or mpi (if not given: one per core, or MPI's "
                             "universe size)")


def wrote(path: Any, what: str = "figure") -> None:
    """Announce a file a command wrote: ``wrote figure: PATH``."""
    print(f"wrote {what}: {path}")


# -- files a command writes ------------------------------------------------------------------------

def check_outputs(inputs: dict[str, Any], outputs: dict[str, Any]) -> None:
    """Before any work, refuse outputs that would destroy an input or one another, or that cannot be written.

    ``inputs`` and ``outputs`` map a name the user knows (``TRAIN_CSV``, ``--save``) to a path (``None``:
    not given). An output naming the same file as an input or as another output is a :class:`UsageError`;
    an output that is a directory, or whose folder exists but cannot be written, is a ``SaveError`` naming
    it, so that nothing is trained or computed only to be lost at the end.
    """
    seen: dict[str, str] = {}
    for name, path in inputs.items():
        if path is not None:
            seen.setdefault(os.path.realpath(path), name)
    for name, path in outputs.items():
        if path is None:
            continue
        real = os.path.realpath(path)
        if real in seen:
            raise UsageError(f"{name} {str(path)!r} is the same file as {seen[real]}: it would be overwritten")
        seen[real] = name
        if os.path.isdir(real):
            raise SaveError(errno.EISDIR, f"{name} {str(path)!r} is a directory, expected a file path", str(path))
        folder = os.path.dirname(real)
        while not os.path.exists(folder):  # the nearest existing folder is where new ones would be made
            folder = os.path.dirname(folder)
        if not os.access(folder, os.W_OK | os.X_OK):
            raise SaveError(errno.EACCES, f"{name} {str(path)!r}: cannot write in {folder!r} (permission denied)",
                            str(path))


# -- the guard ------------------------------------------------------------------------------------

def one_line(error: BaseException) -> str:
    """The message of ``error`` on one line (its type's name when it has none)."""
    return " ".join(str(error).split()) or type(error).__name__


def guard(prog: str, handler: Callable[[argparse.Namespace], int], args: argparse.Namespace) -> int:
    """Run ``handler(args)`` and return its exit status; failures become one line on stderr (see above)."""
    try:
        status = handler(args)
        sys.stdout.flush()  # a closed pipe shows here, inside the guard, not at interpreter exit
        return status
    except UsageError as error:
        print(f"{prog}: error: {one_line(error)}", file=sys.stderr)
        return 2
    except LIBRARY_ERRORS as error:
        if isinstance(error, BrokenPipeError):
            return _pipe_closed()
        print(f"{prog}: error: {one_line(error)}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print(f"{prog}: interrupted", file=sys.stderr)
        return 130
    except Exception as error:
        if os.environ.get("EMBER_DEBUG"):
            raise
        print(f"{prog}: internal error: {type(error).__name__}: {one_line(error)} (run with EMBER_DEBUG=1 for the "
              f"traceback)", file=sys.stderr)
        return 70


def _pipe_closed() -> int:
    """Send what is left for stdout to /dev/null (so Python's exit flush cannot fail) and return 141."""
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, sys.stdout.fileno())
    return 141
