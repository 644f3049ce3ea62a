"""Full against fast whole-model gradient check on LeNet: ``python -m benchmarks.check_fast [--budget 10]``.

Times ``check_model(mode="full")`` (every parameter entry perturbed) and ``mode="fast"`` (random
directional derivatives within the budget) on the LeNet of ``ember.models`` in float64 on a
few MNIST images, then plants each bug of ``ember.check.planted`` in turn and reports whether the fast
mode catches it and which module it names.
"""

from __future__ import annotations

import argparse
import time

import numpy as np

from ember import data, manual_seed, nn
from ember.check import check_model
from ember.check.planted import BUGS, plant
from ember.models import lenet

#: where each bug is planted: its index in the model.
SITES = {"sign of gradInput": 2, "gradInput halved": 13, "parameter gradients doubled": 1,
         "parameter gradients never written": 8, "parameter gradients of the first example only": 10,
         "gradInput summed over the batch": 9}


def main(argv: list[str] | None = None) -> None:
    """Run the comparison and print a Markdown table."""
    parser = argparse.ArgumentParser(prog="python -m benchmarks.check_fast", description=__doc__)
    parser.add_argument("--budget", type=float, default=10.0, help="seconds for the fast mode (default 10)")
    parser.add_argument("--images", type=int, default=2, help="MNIST images in the batch (default 2)")
    parser.add_argument("--skip-full", action="store_true", help="do not time the full check")
    args = parser.parse_args(argv)
    X, y = data.mnist()
    x, target = X[:args.images].astype(np.float64), y[:args.images]

    def model() -> nn.Sequential:
        manual_seed(0)
        return lenet(dtype=np.float64)

    criterion = nn.ClassNLLCriterion()
    n = sum(p.size for p in model().parameters()[0])
    print(f"LeNet, float64, {args.images} MNIST images, {n} parameters\n")
    print("| check | time (s) | error (parameters) | error (input) | directions | ok |\n|---|---|---|---|---|---|")
    if not args.skip_full:
        started = time.perf_counter()
        full = check_model(model(), criterion, x, target)
        print(f"| full | {time.perf_counter() - started:.1f} | {full.error:.2g} | {full.input_error:.2g} | - | "
              f"{full.ok} |")
    started = time.perf_counter()
    fast = check_model(model(), criterion, x, target, mode="fast", budget=args.budget)
    print(f"| fast (budget {args.budget:g} s) | {time.perf_counter() - started:.1f} | {fast.error:.2g} | "
          f"{fast.input_error:.2g} | {fast.directions} | {fast.ok} |")
    print("\n| planted bug | module | caught (fast) | named | time (s) |\n|---|---|---|---|---|")
    for bug, site in SITES.items():
        planted = model()
        culprit = plant(planted.get(site), bug)
        started = time.perf_counter()
        report = check_model(planted, criterion, x, target, mode="fast", budget=args.budget)
        named = bool(report.failures) and report.failures[0] is culprit
        print(f"| {bug} | [{site}] {culprit.describe()} | {not report.ok} | {named} | "
              f"{time.perf_counter() - started:.1f} |")
    assert set(SITES) == set(BUGS)


if __name__ == "__main__":
    main()
