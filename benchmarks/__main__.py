"""Run the benchmark suite: ``python -m benchmarks [--only W1,W3] [--repeat 5] [--quick] [--json FILE]
[--ranks 1,2]``.
"""

from __future__ import annotations

import argparse
import json
import platform
import sys

import numpy as np

from benchmarks import distributed, training
from benchmarks.harness import format_table, measure, ratio, ratio_range
from benchmarks.workloads import WORKLOADS as BASE_WORKLOADS
from ember.cli.common import UsageError, check_outputs
from ember.errors import SaveError
from ember.files import write_text

WORKLOADS = BASE_WORKLOADS + training.WORKLOADS


def run(argv: list[str] | None = None, parser_class: type[argparse.ArgumentParser] = argparse.ArgumentParser,
        prog: str = "python -m benchmarks") -> int:
    """Parse the arguments, run the chosen workloads, print the table (and write the JSON).

    ``ember bench`` passes its own ``parser_class`` and ``prog``, so that a bad argument is its one line.
    """
    parser = parser_class(prog=prog, description=(
        "Time ember side by side with hand-written NumPy and PyTorch (when installed) on the same workloads, "
        "interleaved, and print the median times and the ratios (lower is better for ember)."))
    parser.add_argument("--only", default="", help="comma-separated workload ids to run, e.g. W1,W3 (default: all)")
    parser.add_argument("--repeat", type=int, default=5, help="timed repetitions per implementation (default 5)")
    parser.add_argument("--quick", action="store_true", help="a fraction of each workload, for a smoke test")
    parser.add_argument("--json", metavar="FILE", help="also write the results as JSON to FILE")
    parser.add_argument("--ranks", metavar="R,R", default="",
                        help="with --only W2: also time W2 trained data-parallel on these numbers of MPI ranks "
                             "(e.g. 1,2; needs 'ember[mpi]') and print the scaling efficiency")
    args = parser.parse_args(argv)
    if args.repeat < 1:
        parser.error(f"--repeat takes a number of repetitions >= 1, got {args.repeat}")
    if args.json:  # before the run: a JSON file that cannot be written would lose it at the end
        try:
            check_outputs({}, {"--json": args.json})
        except (UsageError, SaveError) as error:
            parser.error(str(error))
    try:
        ranks = [int(r) for r in args.ranks.split(",") if r.strip()]
    except ValueError:
        parser.error(f"--ranks takes positive integers separated by commas, got {args.ranks!r}")
    if any(r < 1 for r in ranks):
        parser.error(f"--ranks takes positive integers separated by commas, got {args.ranks!r}")
    wanted = {w.strip().upper() for w in args.only.split(",") if w.strip()}
    unknown = wanted - {w.name.split()[0].upper() for w in WORKLOADS}
    if unknown:
        choices = ", ".join(w.name.split()[0] for w in WORKLOADS)
        parser.error(f"unknown workload(s) {sorted(unknown)}; choose from {choices}")
    rows = []
    for workload in WORKLOADS:
        if wanted and workload.name.split()[0].upper() not in wanted:
            continue
        print(f"running {workload.name} ...", file=sys.stderr, flush=True)
        runners = workload.setup(args.quick)
        close = runners.pop("close", None)
        try:
            results = measure(workload.name, runners, args.repeat)
        finally:
            if close is not None:
                close()
        rows.append({
            "workload": workload.name, "unit": workload.unit, "quick": args.quick, "repeat": args.repeat,
            "ember_s": results["ember"].median, "numpy_s": results["numpy"].median,
            "pytorch_s": results["pytorch"].median if results["pytorch"].times else None,
            "pytorch_note": results["pytorch"].note,
            "ember_vs_pytorch": ratio(results, "pytorch"), "ember_vs_numpy": ratio(results, "numpy"),
            "ember_vs_pytorch_range": ratio_range(results, "pytorch"),
            "ember_vs_numpy_range": ratio_range(results, "numpy"),
            "target_vs_pytorch": workload.target_vs_pytorch, "target_vs_numpy": workload.target_vs_numpy,
            "ember_peak_bytes": results["ember"].peak_bytes, "numpy_peak_bytes": results["numpy"].peak_bytes,
        })
    print(format_table(rows))
    for line in (_loaded_vs_quiet(rows), _import_line(rows)):
        if line:
            print(line)
    scaling = []
    if ranks:
        if wanted and "W2" not in wanted:
            parser.error("--ranks times W2: add W2 to --only")
        scaling = distributed.scaling(ranks, args.quick, args.repeat)
        print(distributed.format_scaling(scaling))
    if args.json:
        environment = {"python": platform.python_version(), "numpy": np.__version__, "machine": platform.machine()}
        try:
            import torch
            environment["torch"] = torch.__version__
        except ImportError:
            environment["torch"] = None
        try:
            write_text(args.json, json.dumps({"environment": environment, "results": rows, "ranks": scaling},
                                             indent=2))
        except SaveError as error:  # the table above is printed: only the JSON copy is lost
            print(f"{prog}: error: {error}", file=sys.stderr)
            return 1
        print(f"wrote {args.json}")
    return 0


#: W7L's target (issue 15): ember/NumPy with a busy-loop process on every core within this factor of W7-16's
#: ember/NumPy of the same run (each side alone slows by about 2x on a machine shared with as many busy loops).
LOADED_TARGET = 1.3
#: the import row's target: ``import ember`` in a fresh process, seconds.
IMPORT_TARGET = 0.25


def _loaded_vs_quiet(rows: list[dict]) -> str:
    """W7L against W7-16 of the same run (each row gains ``*_loaded_vs_quiet``), as a line; '' without both."""
    by_id = {row["workload"].split()[0].upper(): row for row in rows}
    quiet, loaded = by_id.get("W7-16"), by_id.get("W7L")
    if quiet is None or loaded is None:
        return ""
    for side in ("ember", "numpy"):
        loaded[f"{side}_loaded_vs_quiet"] = loaded[f"{side}_s"] / quiet[f"{side}_s"]
    ratio_quiet = quiet["ember_s"] / quiet["numpy_s"]
    ratio_loaded = loaded["ember_s"] / loaded["numpy_s"]
    loaded["ratio_loaded_vs_quiet"] = ratio_loaded / ratio_quiet
    loaded["target_loaded_vs_quiet"] = LOADED_TARGET
    return (f"W7L every core busy vs W7-16 quiet (medians of this run): ember/numpy {ratio_loaded:.2f} against "
            f"{ratio_quiet:.2f}, {ratio_loaded / ratio_quiet:.2f}x (target {LOADED_TARGET}x); each side slowed by "
            f"ember {loaded['ember_loaded_vs_quiet']:.2f}x, numpy {loaded['numpy_loaded_vs_quiet']:.2f}x")


def _import_line(rows: list[dict]) -> str:
    """The import row's time against its absolute target, as a line; '' without the row."""
    row = next((row for row in rows if row["workload"].split()[0].upper() == "I"), None)
    if row is None:
        return ""
    return (f"I import ember in a fresh process: {row['ember_s'] * 1e3:.0f} ms (target {IMPORT_TARGET * 1e3:.0f} ms; "
            f"NumPy alone {row['numpy_s'] * 1e3:.0f} ms)")


if __name__ == "__main__":
    sys.exit(run())
