"""``ember grade``: grade a class against an assignment spec, or write out an example assignment."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from ember.cli.common import EXECUTORS, UsageError, command, positive_int, wrote

DESCRIPTION = """\
Grade every submission (a .py file or a folder per student) in SUBMISSIONS against the assignment
SPEC (TOML, beside the instructor's reference): each student in worker processes with a wall-clock
limit per check and a memory limit, in a temporary copy. Writes OUT/<student>/results.json
(Gradescope's format), OUT/<student>/feedback.md and OUT/summary.csv, and prints one line per student.

  ember grade SPEC SUBMISSIONS --out OUT [--jobs N] [--executor processes|mpi|none]
  ember grade SPEC /autograder/submission --gradescope     # inside Gradescope: one student
  ember grade --example requ|ocr DIR                       # write a ready assignment to adapt
"""


def add_parsers(subparsers: Any) -> None:
    """Declare ``ember grade``."""
    parser = command(subparsers, "grade", cmd_grade, help="autograde a class of submissions (Gradescope output)",
                     description=DESCRIPTION)
    parser.add_argument("paths", nargs="*", metavar="PATH", help="SPEC SUBMISSIONS, or DIR with --example")
    parser.add_argument("--out", metavar="DIR", default=None,
                        help="folder for the results (default: graded/, or /autograder/results with --gradescope)")
    parser.add_argument("--jobs", type=positive_int, default=1, help="submissions graded in parallel")
    parser.add_argument("--executor", choices=EXECUTORS, default=None,
                        help="share the submissions out on this executor with --jobs workers ('mpi': across a "
                             "cluster, with mpi4py); by default this process supervises --jobs at a time")
    parser.add_argument("--gradescope", action="store_true",
                        help="SUBMISSIONS is one student's folder; write OUT/results.json only")
    parser.add_argument("--example", choices=("requ", "ocr"), default=None,
                        help="write the example assignment (spec, reference, setup.sh, run_autograder) into DIR")


def cmd_grade(args: argparse.Namespace) -> int:
    """Grade, or write an example; 0 when grading ran (whatever the scores), 2 on bad arguments."""
    from ember import grade

    if args.example is not None:
        if len(args.paths) != 1:
            raise UsageError("--example takes one folder: ember grade --example requ DIR")
        for path in grade.write_example(args.example, args.paths[0]):
            wrote(path, "file")
        return 0
    if len(args.paths) != 2:
        raise UsageError("expected SPEC and SUBMISSIONS (or --example NAME DIR)")
    spec_path, submissions = (Path(p) for p in args.paths)
    spec = grade.load_spec(spec_path)
    if args.gradescope:
        result = grade.grade_gradescope(spec, submissions, args.out or "/autograder/results")
        print(f"{result.student}: {result.score:g} / {result.max_score:g} ({result.execution_time:.1f} s)")
        wrote(Path(args.out or "/autograder/results") / "results.json", "results")
        return 0
    out = Path(args.out or "graded")
    results = grade.grade(spec, submissions, out, jobs=args.jobs, executor=args.executor)
    width = max(len(result.student) for result in results)
    for result in results:
        lost = [check.name for check in result.checks if check.score < check.max_score]
        print(f"{result.student:<{width}}  {result.score:>6g} / {result.max_score:g}  {result.execution_time:5.1f} s"
              + (f"  lost: {'; '.join(lost)}" if lost else ""))
    wrote(out / "summary.csv", "summary")
    return 0
