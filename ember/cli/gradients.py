"""``ember gradients regression|relu|legendre``: vectorised gradients."""

from __future__ import annotations

import argparse
import math
from pathlib import Path
from typing import Any

import numpy as np

from ember import plot
from ember.cli.common import add_out, add_seed, command, positive_float, positive_int, wrote
from ember.recipes import vectorised


def _gradients_regression(args: argparse.Namespace) -> int:
    points = vectorised.anisotropic_points(args.samples, args.seed)
    print(f"{len(points)} points of an anisotropic blob (seed {args.seed}); fitting y = m x + b")
    print(f"Starting gradient descent at b = 0, m = 0, error = {vectorised.mean_squared_error(0, 0, points)}")
    print("Running...")
    result = vectorised.linear_regression(points, args.learning_rate, args.iterations)
    print(f"After {args.iterations} iterations b = {result.b}, m = {result.m}, error = {result.error_after}")
    wrote(plot.scatter_fit(Path(args.out) / "regression.png", points[:, 0], points[:, 1],
                             {f"y = {result.m:.3f} x + {result.b:.3f}": result.m * points[:, 0] + result.b},
                             title="Linear regression by gradient descent"))
    return 0


def _gradients_relu(args: argparse.Namespace) -> int:
    differences = vectorised.relu_network_gradients(args.inputs, args.hidden, args.classes, args.batch, args.seed)
    print(f"one-hidden-layer ReLU network {args.inputs} -> {args.hidden} -> {args.classes}, batch of {args.batch}: "
          "hand-derived gradients (delta1 = y_hat - y, delta2 = delta1 U o sgn(h)) vs ember backprop")
    worst = 0.0
    for name, value in differences.items():
        print(f"  dJ/d{name:<3} max |hand - backprop| = {value:.3e}")
        worst = max(worst, value)
    ok = worst < 1e-10
    print("agree" if ok else "DIFFER")
    return 0 if ok else 1


def _gradients_legendre(args: argparse.Namespace) -> int:
    dtype = np.float32 if args.float32 else np.float64
    print(f"y = a + b * P3(c + d x) fitted to sin(x) on {args.points} points of [-pi, pi]; gradient descent, "
          f"learning rate {args.learning_rate:g}, {args.iterations} iterations, from a=0, b=-1, c=0, d=0.3")
    result = vectorised.fit_legendre(args.points, args.learning_rate, args.iterations, dtype=dtype,
                                     progress=lambda t, loss: print(t, loss))
    print(f"Result: {result.formula()}")
    x = np.linspace(-math.pi, math.pi, args.points)
    fit = result.model.forward(x.astype(dtype)).astype(np.float64)
    wrote(plot.scatter_fit(Path(args.out) / "legendre.png", x, np.sin(x), {"a + b P3(c + d x)": fit},
                             title="sin(x) and the fitted Legendre polynomial"))
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
    regression.add_argument("--samples", type=positive_int, default=1000, help="points")
    add_seed(regression, "the blob", 170)
    regression.add_argument("--learning-rate", type=positive_float, default=1e-4, help="the step size")
    regression.add_argument("--iterations", type=positive_int, default=1000, help="gradient steps")
    add_out(regression, "the figure")

    relu = command(examples, "relu", _gradients_relu,
                   help="the one-hidden-layer ReLU network's hand-derived gradients vs backprop",
                   description="Compare the hand-derived gradients of a one-hidden-layer ReLU network with softmax "
                               "and cross-entropy against ember's backprop; exit 1 if they differ.")
    relu.add_argument("--inputs", type=positive_int, default=4, help="input features")
    relu.add_argument("--hidden", type=positive_int, default=5, help="hidden units")
    relu.add_argument("--classes", type=positive_int, default=3, help="classes")
    relu.add_argument("--batch", type=positive_int, default=6, help="examples")
    add_seed(relu, "the network and the data")

    legendre = command(examples, "legendre", _gradients_legendre,
                       help="a custom P3 module in y = a + b P3(c + d x), fitted to sin(x)",
                       description="Fit y = a + b * P3(c + d x), with P3(x) = (5x^3 - 3x)/2 a custom module with its "
                                   "own backward, to sin(x) by gradient descent on the summed squared error; print the "
                                   "loss every 100 iterations and the final formula.")
    legendre.add_argument("--points", type=positive_int, default=2000, help="points of [-pi, pi]")
    legendre.add_argument("--learning-rate", type=positive_float, default=5e-6, help="the step size")
    legendre.add_argument("--iterations", type=positive_int, default=2000, help="gradient steps")
    legendre.add_argument("--float32", action="store_true", help="compute in float32, as the original")
    add_out(legendre, "the figure")
