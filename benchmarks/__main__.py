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

WORKLOADS = BASE_WORKLOADS + training.WORKLOADS


def run(argv: list[str] | None = None) -> int:
    """Parse the arguments, run the chosen workloads, print the table (and write the JSON)."""
    parser = argparse.ArgumentParser(prog="python -m benchmarks", description=(
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
    loaded = _loaded_vs_quiet(rows)
    if loaded:
        print(loaded)
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
        with open(args.json, "w") as handle:
            json.dump({"environment": environment, "results": rows, "ranks": scaling}, handle, indent=2)
        print(f"wrote {args.json}")
    return 0


#: W7L's target: ember's W7-16 step with a busy-loop process on every core, within this factor of its quiet time.
LOADED_TARGET = 1.3


def _loaded_vs_quiet(rows: list[dict]) -> str:
    """W7L against W7-16 of the same run (each row gains ``*_loaded_vs_quiet``), as a line; '' without both."""
    by_id = {row["workload"].split()[0].upper(): row for row in rows}
    quiet, loaded = by_id.get("W7-16"), by_id.get("W7L")
    if quiet is None or loaded is None:
        return ""
    parts = []
    for side in ("ember", "numpy"):
        value = loaded[f"{side}_s"] / quiet[f"{side}_s"]
        loaded[f"{side}_loaded_vs_quiet"] = value
        parts.append(f"{side} {value:.2f}x")
    loaded["target_loaded_vs_quiet"] = LOADED_TARGET
    return (f"W7L every core busy vs W7-16 quiet (medians of this run): {', '.join(parts)} "
            f"(target for ember: {LOADED_TARGET}x)")


if __name__ == "__main__":
    sys.exit(run())
