"""``ember demo``, ``ember iris`` and ``ember tour``: the Torch practicals and tutorial."""

from __future__ import annotations

import argparse
import time
from typing import Any

from ember.cli.common import UsageError, add_data_dir, add_out, add_seed, command, positive_float, positive_int
from ember.recipes import iris, tour

#: the relative error under which a whole-model gradient check passes.
GRADIENT_TOLERANCE = 1e-6


DEMO_DESCRIPTION = """\
Train the Iris classifier of the Torch practical "implementing your own layer":
linear (4 -> hidden) -> sigmoid or ReQU -> linear (hidden -> 3) -> LogSoftMax,
ClassNLL loss, full-batch adagrad with learning rate 0.1, parameters initialised
uniform(-0.01, 0.01) (biases moved to about +0.5 with ReQU). Shows a progress bar,
runs the whole-model finite-difference gradient check, prints the accuracy and a
confusion matrix, and writes the training-loss plot iris-loss-NONLINEARITY.png,
printing its path.

Iris is the UCI file shipped with ember (or $EMBER_DATA_DIR/iris/iris.data.csv when
EMBER_DATA_DIR is set). Exit status 1 if the gradient check fails.
"""

DEMO_EPILOG = """\
examples:
  ember demo
  ember demo --nonlinearity requ --out figures/
"""

def _demo(args: argparse.Namespace) -> int:
    started = time.perf_counter()
    settings = iris.DemoSettings(args.nonlinearity, args.hidden, args.epochs, args.seed)
    result = iris.run_demo(settings, args.out)
    print(f"done in {time.perf_counter() - started:.1f} s")
    return 0 if result.ok else 1


IRIS_DESCRIPTION = """\
The "implement your own layer" practical on Iris: the network linear -> non-linearity ->
linear -> LogSoftMax with the ClassNLL criterion, trained full batch by adagrad (learning
rate 0.1, parameters uniform(-0.01, 0.01), biases +0.5 for ReQU), once with a sigmoid and
once with ReQU (z = x^2 for x > 0, else 0). For each: the loss during training, the training
accuracy, and the whole-model gradient check on fake data (5 random inputs, random targets)
as the symmetric relative error ||g1 - g2|| / ||g1 + g2||. Then the two-sided Jacobian check
of the ReQU module. Figures: both loss curves, each model's decision regions over two
features (the others held at their mean), the ReQU Jacobians. Exit status 1 if a check fails.
"""


def _iris(args: argparse.Namespace) -> int:
    fx, fy = args.features
    if not (0 <= fx < 4 and 0 <= fy < 4) or fx == fy:
        raise UsageError(f"--features must be two different feature indices in 0..3, got {fx} {fy}")
    settings = iris.Settings(hidden=args.hidden, iterations=args.iterations, learning_rate=args.learning_rate,
                             features=(fx, fy), jacobian_size=args.jacobian_size, seed=args.seed,
                             data_dir=args.data_dir)
    return 0 if iris.run(settings, args.out).ok else 1


def _tour(args: argparse.Namespace) -> int:

    tour.main()
    return 0


def add_parsers(subparsers: Any) -> None:
    """Declare ``demo``, ``iris`` and ``tour``."""
    demo = command(subparsers, "demo", _demo, description=DEMO_DESCRIPTION, epilog=DEMO_EPILOG,
                   help="train the Iris network of the Torch practical, check its gradient, plot its loss")
    add_out(demo, "the figure")
    demo.add_argument("--nonlinearity", choices=("sigmoid", "requ"), default="sigmoid",
                      help="the hidden layer's non-linearity")
    demo.add_argument("--epochs", type=positive_int, default=1000, metavar="N", help="full-batch training iterations")
    demo.add_argument("--hidden", type=positive_int, default=2, metavar="N", help="hidden units")
    add_seed(demo)

    practical = command(subparsers, "iris", _iris, description=IRIS_DESCRIPTION,
                        help="the 'implement your own layer' practical: Iris with sigmoid vs ReQU, gradient and "
                             "Jacobian checks",
                        epilog="example:\n  ember iris --out figures/ --features 2 3")
    add_data_dir(practical)
    practical.add_argument("--iterations", type=positive_int, default=1000, help="full-batch adagrad steps")
    practical.add_argument("--learning-rate", type=positive_float, default=0.1, help="adagrad's learning rate")
    practical.add_argument("--hidden", type=positive_int, default=2, help="hidden units")
    practical.add_argument("--features", type=int, nargs=2, default=[2, 3], metavar=("I", "J"),
                           help="the two features of the decision-region figure, 0..3 (2 3 are the petals)")
    practical.add_argument("--jacobian-size", type=positive_int, default=10, help="input size of the ReQU check")
    add_seed(practical, "the initialisation and the fake data")
    add_out(practical)

    command(subparsers, "tour", _tour, help="a tour of Torch nn: every cell of the classic tutorial, in ember",
            description="Run every cell of the Torch nn tutorial with ember and print the results (read "
                        "ember/recipes/tour.py beside the output).")
