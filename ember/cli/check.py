"""``ember check MODULE``: gradient-check one module (Jacobians and the module protocol)."""

from __future__ import annotations

import argparse
import ast
import re
from pathlib import Path
from typing import Any

from ember.check.built import default_input_shape  # noqa: F401 (where callers of the command line found it)
from ember.cli.classes import load_module_class
from ember.cli.common import UsageError, add_seed, command, positive_float, wrote
from ember.errors import CheckSetupError

CHECK_DESCRIPTION = """\
Gradient-check one module: its Jacobians with respect to the input and each parameter
(backprop against two-sided finite differences), and the module protocol (batch versus
one example at a time, gradient accumulation and scale, determinism and linearity of
backward, input left unchanged, float32 stays float32). Prints one line per check and
exits with 0 when every check passes, 1 when one fails, 2 on bad arguments.

MODULE is either path/to/file.py:ClassName (the file is imported from its path, with
its directory on sys.path while it loads) or the name of a module of ember.nn
(Linear, ReQU, Tanh, ...) or, with --fast, of a builder of ember.models (lenet, mlp).

--fast checks MODULE as a whole model instead: with the criterion that suits its output
(ember.models.criterion_for) on random targets, by random directional derivatives within
--budget seconds (check_model(mode="fast")), for models too big to perturb entry by entry;
when it fails, the localiser names the wrong module.
"""

CHECK_EPILOG = """\
--args values are Python literals (ast.literal_eval): numbers, True/False/None, quoted
strings, tuples and lists; separate them with commas or spaces, and give keyword
arguments as name=value without spaces around '='. Quote the whole list for the shell
when it contains brackets, spaces inside values, or quoted strings:
  --args 10 5        --args 10,5        --args "n_in=10, n_out=5"        --args "(2, 3)"
--args takes every value up to the next option: give MODULE before it.

The input is float64 standard normal (seeded by --seed) of --input-shape; by default
(n_in,) for a module with an integer n_in attribute (such as Linear), else (4, 5).
The batch check treats that input as one example and stacks it with two permutations
of its elements; if the module rejects that, the input itself is taken as a batch.

examples:
  ember check Linear --args 10 5
  ember check ReQU --input-shape 3,5
  ember check my_layers.py:MyLayer --args 4 --input-shape 2,4
  ember check lenet --fast --input-shape 2,784 --budget 10
"""

def add_parsers(subparsers: Any) -> None:
    """Declare ``ember check``."""
    parser = command(subparsers, "check", cmd_check, help="gradient-check a module (Jacobians and protocol)",
                     description=CHECK_DESCRIPTION, epilog=CHECK_EPILOG)
    parser.add_argument("module", metavar="MODULE", help="path/to/file.py:ClassName, or a name from ember.nn")
    parser.add_argument("--args", nargs="*", default=[], metavar="ARG",
                        help="constructor arguments as Python literals (see below)")
    parser.add_argument("--input-shape", metavar="SHAPE",
                        help="comma-separated sizes of the input, e.g. 4,10 (if not given: (n_in,) or 4,5)")
    add_seed(parser, "the input and the random gradOutputs")
    parser.add_argument("--eps", type=positive_float, default=1e-6, help="finite-difference step")
    parser.add_argument("--tol", type=positive_float, default=1e-6,
                        help="tolerance, relative to the scale of each Jacobian")
    parser.add_argument("--no-batch", action="store_true",
                        help="skip the batch check (modules with no batch mode, or not per-example)")
    parser.add_argument("--fast", action="store_true",
                        help="check MODULE as a whole model by random directional derivatives (see below)")
    parser.add_argument("--budget", type=positive_float, default=10.0, help="seconds for --fast")
    parser.add_argument("--plot", metavar="DIR", nargs="?", const=".",
                        help="also write a heatmap of the input Jacobian (backprop, finite differences, "
                             "difference) to DIR/jacobian-NAME.png (DIR defaults to .)")


def cmd_check(args: argparse.Namespace) -> int:
    """``ember check``: print the report of ``check.check_built`` (``check_built_model`` with --fast); 0 if ok."""
    from ember import check, models, plot

    positional, keywords = parse_literals(args.args)
    shape = parse_shape(args.input_shape) if args.input_shape is not None else None
    try:
        if args.fast:
            builder, name = _model_builder(args.module)
            report = check.check_built_model(builder, positional, keywords, criterion_for=models.criterion_for,
                                             name=name, input_shape=shape, seed=args.seed, eps=args.eps,
                                             tol=args.tol, budget=args.budget)
        else:
            cls, name = load_module_class(args.module)
            checked = check.check_built(cls, positional, keywords, name=name, input_shape=shape, seed=args.seed,
                                        eps=args.eps, tol=args.tol, batch=False if args.no_batch else None)
            report = checked.report
    except CheckSetupError as error:
        raise UsageError(f"{error} (give --input-shape)" if error.input_shape else str(error)) from error
    print(report)
    if args.plot is not None and not args.fast:
        wrote(plot.module_jacobian(Path(args.plot) / f"jacobian-{name}.png", checked.module, checked.input,
                                   eps=args.eps))
    return 0 if report.ok else 1


def _model_builder(spec: str) -> tuple[Any, str]:
    """A builder of ``ember.models`` named by ``spec``, else the class ``load_module_class`` finds."""
    from ember import models

    if spec in models.__all__ and callable(getattr(models, spec)) and spec != "criterion_for":
        return getattr(models, spec), spec
    return load_module_class(spec)


def parse_shape(text: str) -> tuple[int, ...]:
    """``'4,10'`` (or ``'4 10'``, ``'(4, 10)'``) → ``(4, 10)``; positive sizes only."""
    pieces = [p for p in re.split(r"[,\s]+", text.strip().strip("()[]")) if p]
    try:
        shape = tuple(int(p) for p in pieces)
    except ValueError:
        shape = ()
    if not shape or any(size <= 0 for size in shape):
        raise UsageError(f"bad --input-shape {text!r}: expected positive integers separated by commas, e.g. 4,10")
    return shape


def split_arguments(text: str) -> list[str]:
    """Split at commas and whitespace outside brackets and quotes."""
    pieces, current, depth, quote = [], [], 0, ""
    for i, char in enumerate(text):
        if quote:
            if char == quote and text[i - 1] != "\\":
                quote = ""
        elif char in "'\"":
            quote = char
        elif char in "([{":
            depth += 1
        elif char in ")]}":
            depth -= 1
        elif depth == 0 and (char == "," or char.isspace()):
            if current:
                pieces.append("".join(current))
            current = []
            continue
        current.append(char)
    if current:
        pieces.append("".join(current))
    return pieces


def parse_literals(tokens: list[str]) -> tuple[list[Any], dict[str, Any]]:
    """Constructor arguments from ``--args`` tokens: Python literals, ``name=value`` for keywords."""
    positional: list[Any] = []
    keywords: dict[str, Any] = {}
    for piece in split_arguments(" ".join(tokens)):
        match = re.fullmatch(r"([A-Za-z_]\w*)=(.+)", piece, re.DOTALL)
        if match:
            keywords[match.group(1)] = _literal(match.group(2))
        elif piece.endswith("="):
            raise UsageError(f"--args: no value after {piece!r} (write name=value without spaces)")
        else:
            if keywords:
                raise UsageError(f"--args: positional argument {piece!r} after keyword arguments")
            positional.append(_literal(piece))
    return positional, keywords


def _literal(text: str) -> Any:
    try:
        return ast.literal_eval(text)
    except (ValueError, SyntaxError, TypeError, MemoryError, RecursionError):
        raise UsageError(f"--args: cannot read {text!r} as a Python literal (numbers, True/False/None, "
                         f"quoted strings, tuples, lists; quote strings, e.g. \"'{text}'\")") from None
