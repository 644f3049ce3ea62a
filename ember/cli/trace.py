"""``ember trace``: show your work — every intermediate of one pass of the OCR homework's network."""

from __future__ import annotations

import argparse
from typing import Any

import numpy as np

from ember.cli.common import (
    UsageError,
    add_data_dir,
    check_outputs,
    command,
    positive_float,
    positive_int,
    wrote,
)
from ember.files import write_text

DESCRIPTION = """\
Run one forward and backward pass of the OCR homework's network (Linear, sigmoid, Linear, softmax,
cross-entropy) on one example and print every intermediate in the homework's names and order
(x, y, alpha, alpha0, beta, beta0, a, z, b, y_hat, J, then every gradient g_...), indices 0-based.
By default the example is the first row of the tiny data with 4 hidden units and one-decimal weights.

With --compare mine.csv (the CSV layout: quantity,index,value; a matrix entry's index as row;column),
name the first of your hand-computed values that is wrong, and by how much (exit status 1).

  ember trace                                  # Markdown
  ember trace --format csv > blank.csv         # the layout to fill in by hand
  ember trace --compare mine.csv
  ember trace --init-weights w.csv --input 1,0,1,0,1 --label 3
"""


def add_parsers(subparsers: Any) -> None:
    """Declare ``ember trace``."""
    parser = command(subparsers, "trace", cmd_trace, help="show your work: every intermediate of one pass",
                     description=DESCRIPTION)
    parser.add_argument("--format", choices=("markdown", "latex", "csv"), default="markdown", help="output format")
    parser.add_argument("--init-weights", metavar="CSV", default=None,
                        help="alpha, alpha0, beta, beta0 in the CSV layout (if not given: one-decimal weights)")
    parser.add_argument("--input", metavar="X", default=None, help="the example's pixels, comma-separated")
    parser.add_argument("--label", type=int, default=None, help="the example's label 0..9 (with --input)")
    parser.add_argument("--hidden", type=positive_int, default=4, help="hidden units (with the default weights)")
    parser.add_argument("--compare", metavar="CSV", default=None, help="your values, to find the first wrong one")
    parser.add_argument("--tol", type=positive_float, default=1e-4,
                        help="a value matches within this, absolutely or relatively")
    parser.add_argument("--out", metavar="FILE", default=None, help="also write the trace to FILE")
    add_data_dir(parser)


def cmd_trace(args: argparse.Namespace) -> int:
    """Print the trace (or the comparison); 0, or 1 when a compared value is wrong."""
    from ember.recipes import trace

    check_outputs({"--init-weights": args.init_weights, "--compare": args.compare}, {"--out": args.out})
    x = None
    if args.input is not None:
        try:
            x = np.array([float(v) for v in args.input.replace(" ", ",").split(",") if v])
        except ValueError:
            raise UsageError(f"--input: expected numbers separated by commas, got {args.input!r}") from None
        if args.label is None:
            raise UsageError("--input needs --label")
    result = trace.ocr_trace(x, args.label, args.init_weights, args.hidden, data_dir=args.data_dir)
    text = trace.FORMATS[args.format](result)
    if args.out is not None:
        write_text(args.out, text)
        wrote(args.out, "trace")
    if args.compare is None:
        print(text, end="")
        return 0
    comparison = trace.compare(result, args.compare, args.tol)
    print(comparison)
    return 0 if comparison.ok else 1
