"""The ``ember`` command: the parser of every command group, and :func:`main`.

Each group is a module of this package with ``add_parsers(subparsers)``; each command it declares
(:func:`ember.cli.common.command`) names its handler, which :func:`main` runs inside the one guard
(:func:`ember.cli.common.guard`). To add a command group, write its module and list it in ``GROUPS``.
"""

from __future__ import annotations

import sys

from ember.cli import bench, check, data, grade, gradients, lab, neuralnet, trace, train, tutorials
from ember.cli.common import Parser, guard

#: the command groups, in the order ``ember --help`` lists their commands.
GROUPS = (tutorials, data, train, neuralnet, lab, gradients, check, trace, grade, bench)


def build_parser() -> Parser:
    """The ``ember`` argument parser, with the commands of every group of ``GROUPS``."""
    from ember import __version__

    parser = Parser(prog="ember", description="ember: neural networks on NumPy, Torch nn style.")
    parser.add_argument("--version", action="version", version=f"ember {__version__}")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND")
    for group in GROUPS:
        group.add_parsers(subparsers)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Run ``ember`` with ``argv`` (default ``sys.argv[1:]``) and return the exit status."""
    parser = build_parser()
    try:
        args, unknown = parser.parse_known_args(argv)
        own = getattr(args, "parser", parser)  # the parser of the (sub)command given: its usage, its name
        if unknown and not getattr(args, "passthrough", False):
            own.error(f"unrecognized arguments: {' '.join(unknown)}")
    except SystemExit as done:  # --help (0) or a usage error (2), already printed
        return done.code if isinstance(done.code, int) else 2
    if getattr(args, "handler", None) is None:
        parser.print_help(sys.stderr)
        return 2
    args.passed_on = unknown
    return guard(own.prog, args.handler, args)
