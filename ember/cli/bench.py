"""``ember bench [ARGS]``: the benchmark suite of a checkout (``python -m benchmarks``)."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from ember.cli.common import Parser, UsageError, command


def add_parsers(subparsers: Any) -> None:
    """Declare ``ember bench [ARGS]``: every argument is passed on to ``python -m benchmarks``."""
    parser = command(subparsers, "bench", cmd_bench, add_help=False,
                     help="run the benchmark suite (ember vs PyTorch vs hand-written NumPy)",
                     description="Run benchmarks/ from an ember checkout; all arguments go to `python -m benchmarks` "
                                 "(try `ember bench --help`).")
    parser.set_defaults(passthrough=True)


def cmd_bench(args: argparse.Namespace) -> int:
    """Run ``benchmarks`` (which lives beside the package in a checkout, not inside it)."""
    checkout = Path(__file__).resolve().parents[2]
    if not (checkout / "benchmarks" / "__main__.py").is_file():
        raise UsageError(f"the benchmark suite is not installed with the package: run it from an ember checkout "
                         f"(no benchmarks/ beside {checkout / 'ember'})")
    sys.path.insert(0, str(checkout))
    from benchmarks.__main__ import run

    return run(args.passed_on, parser_class=Parser, prog="ember bench")
