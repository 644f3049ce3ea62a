"""``ember gradients regression|relu|legendre``: vectorised gradients."""

from __future__ import annotations

import argparse
from typing import Any

from ember.cli.common import add_out, add_seed, command, positive_float, positive_int
from ember.recipes import vectorised


def _gradients_regression(args: argparse.Namespace) -> int:
    settings = vectorised.RegressionSettings(args.samples, args.seed, args.learning_rate, args.iterations)
    vectorised.run_regression(settings, args.out)
    return 0


def _gradients_relu(args: argparse.Namespace) -> int:
    settings = vectorised.ReluSettings(args.inputs, args.hidden, args.classes, args.batch, args.seed)
    return 0 if max(vectorised.run_relu(settings).values()) < vectorised.AGREEMENT else 1


def _gradients_legendre(args: argparse.Namespace) -> int:
    settings = vectorised.LegendreSettings(args.points, args.learning_rate, args.iterations, args.float32)
    vectorised.run_legendre(settings, args.out)
    return 0


def add_parsers(subparsers: Any) -> None:
    """Declare ``gradients`` and its examples ``regression``, ``relu`` and ``legendre``."""
    gradients = command(subparsers, "gradients", None,
                        help="vectorised gradients: linear regression by GD, a hand-derived ReLU net, Legendre P3",
                        description="Vectorised gradients: 'ember gradients regression', 'ember gradients relu', "
                                    "'ember gradients legendre'.")
    examples = gradients.add_subparsers(dest="gradients_command", metavar="EXAMPLE", required=True)
    regression = command(examples, "regression", _gradients_regression,
                         help="fit y = m x + b to anisotropic blob data by gradient descent",
                         description="Gradient descent for linear regression on an anisotropic Gaussian blob (x = "
                                     "column 0, y = column 1), from b = m = 0, reporting the mean squared error "
                                     "before and after.")
    blob = vectorised.RegressionSettings()
    regression.add_argument("--samples", type=positive_int, default=blob.samples, help="points")
    add_seed(regression, "the blob", blob.seed)
    regression.add_argument("--learning-rate", type=positive_float, default=blob.learning_rate, help="the step size")
    regression.add_argument("--iterations", type=positive_int, default=blob.iterations, help="gradient steps")
    add_out(regression, "the figure")

    relu = command(examples, "relu", _gradients_relu,
                   help="the one-hidden-layer ReLU network's hand-derived gradients vs backprop",
                   description="Compare the hand-derived gradients of a one-hidden-layer ReLU network with softmax "
                               "and cross-entropy against ember's backprop; exit 1 if they differ.")
    sizes = vectorised.ReluSettings()
    relu.add_argument("--inputs", type=positive_int, default=sizes.inputs, help="input features")
    relu.add_argument("--hidden", type=positive_int, default=sizes.hidden, help="hidden units")
    relu.add_argument("--classes", type=positive_int, default=sizes.classes, help="classes")
    relu.add_argument("--batch", type=positive_int, default=sizes.batch, help="examples")
    add_seed(relu, "the network and the data", sizes.seed)

    legendre = command(examples, "legendre", _gradients_legendre,
                       help="a custom P3 module in y = a + b P3(c + d x), fitted to sin(x)",
                       description="Fit y = a + b * P3(c + d x), with P3(x) = (5x^3 - 3x)/2 a custom module with its "
                                   "own backward, to sin(x) by gradient descent on the summed squared error; print the "
                                   "loss every 100 iterations and the final formula.")
    fit = vectorised.LegendreSettings()
    legendre.add_argument("--points", type=positive_int, default=fit.points, help="points of [-pi, pi]")
    legendre.add_argument("--learning-rate", type=positive_float, default=fit.learning_rate, help="the step size")
    legendre.add_argument("--iterations", type=positive_int, default=fit.iterations, help="gradient steps")
    legendre.add_argument("--float32", action="store_true", help="compute in float32, as the original")
    add_out(legendre, "the figure")
