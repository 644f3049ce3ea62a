"""``ember check MODULE``: gradient-check one module (Jacobians and the module protocol)."""

from __future__ import annotations

import argparse
import ast
import re
from pathlib import Path
from typing import Any

import numpy as np

from ember.cli.classes import load_module_class
from ember.cli.common import UsageError, add_seed, command, positive_float, wrote
from ember.errors import InputError

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

#: the input shape used when --input-shape is not given and the module has no integer ``n_in``.
DEFAULT_INPUT_SHAPE = (4, 5)


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
    """``ember check``: print the report of ``check_module``; 0 if it passes, else 1."""
    from ember.check import check_module
    from ember.nn.module import Module

    positional, keywords = parse_literals(args.args)
    if args.fast:
        return _check_fast(args, positional, keywords)
    cls, name = load_module_class(args.module)
    call = f"{name}({', '.join([repr(v) for v in positional] + [f'{k}={v!r}' for k, v in keywords.items()])})"
    try:
        module = cls(*positional, **keywords)
    except Exception as error:
        raise UsageError(f"cannot create {call}: {type(error).__name__}: {error}") from error
    if not isinstance(module, Module):
        raise UsageError(f"{call} is a {type(module).__name__}, not an ember.nn.Module")
    shape = parse_shape(args.input_shape) if args.input_shape is not None else default_input_shape(module)
    params = module.parameters()[0]
    dtype = params[0].dtype if params else np.dtype(np.float64)
    x = np.random.default_rng(args.seed).standard_normal(shape).astype(dtype)
    try:
        module.forward(x.copy())
    except Exception as error:
        if isinstance(error, InputError):  # the module refused the input (Module.fail): not a bug of the module
            raise UsageError(f"{module.describe()} does not take an input of shape {shape}: {error} "
                             "(give --input-shape)") from error
        # anything else is a bug of the module: check_module reports it as a failure
    report = check_module(module, x, eps=args.eps, tol=args.tol, batch=False if args.no_batch else None,
                          seed=args.seed)
    print(report)
    if args.plot is not None:
        from ember.check import jacobian
        from ember.plot import jacobian_heatmap

        path = Path(args.plot) / f"jacobian-{name}.png"
        path.parent.mkdir(parents=True, exist_ok=True)
        jacobian_heatmap(path, *jacobian(module, x, eps=args.eps), title=f"{module.describe()}: d output / d input")
        wrote(path)
    return 0 if report.ok else 1


def _check_fast(args: argparse.Namespace, positional: list[Any], keywords: dict[str, Any]) -> int:
    """``ember check --fast``: the randomized whole-model check of ``check_model(mode="fast")``."""
    from ember import models, nn
    from ember.check import check_model

    if args.module in models.__all__ and callable(getattr(models, args.module)) and args.module != "criterion_for":
        builder, name = getattr(models, args.module), args.module
    else:
        builder, name = load_module_class(args.module)
    try:
        model = builder(*positional, **keywords)
    except Exception as error:
        raise UsageError(f"cannot create {name}: {type(error).__name__}: {error}") from error
    model = model.type(np.float64)
    shape = parse_shape(args.input_shape) if args.input_shape is not None else default_input_shape(model)
    rng = np.random.default_rng(args.seed)
    x = rng.standard_normal(shape)
    try:
        output = model.forward(x.copy())
    except Exception as error:
        raise UsageError(f"{model.describe()} does not take an input of shape {shape}: {error} "
                         "(give --input-shape)") from error
    criterion = models.criterion_for(model)
    if isinstance(criterion, nn.BCECriterion):
        target = rng.integers(0, 2, output.shape).astype(np.float64)
    else:
        target = rng.integers(0, output.shape[-1], output.shape[:-1]) if output.ndim > 1 else int(
            rng.integers(0, output.shape[-1]))
    report = check_model(model, criterion, x, target, eps=args.eps, tol=args.tol, mode="fast", budget=args.budget,
                         seed=args.seed)
    print(report)
    return 0 if report.ok else 1


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


def default_input_shape(module: Any) -> tuple[int, ...]:
    """``(n_in,)`` for a module with a positive integer ``n_in`` attribute, else :data:`DEFAULT_INPUT_SHAPE`."""
    n_in = getattr(module, "n_in", None)
    if isinstance(n_in, (int, np.integer)) and not isinstance(n_in, bool) and n_in > 0:
        return (int(n_in),)
    return DEFAULT_INPUT_SHAPE


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
