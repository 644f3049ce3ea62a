"""Implementing your own layer: a ReQU module, checked two ways, inside the Iris network.

ReQU, the rectified quadratic unit, is z = x² for x > 0 and 0 otherwise. Its
backward is ∂L/∂x = 2x · 1[x > 0] · ∂L/∂z. Below it is written as a new module
(only updateOutput and updateGradInput), checked by its Jacobian (two-sided
finite differences) and by the whole-model gradient check on fake data, then
trained on Iris beside the sigmoid network and compared.

Run: ``python examples/iris_own_layer.py [--iterations 1000] [--out figures]``
(Iris is read from $EMBER_DATA_DIR/iris, else from scikit-learn's copy.)
The same from the command line: ``ember iris``.
"""

import argparse
from pathlib import Path

import numpy as np

from ember import nn
from ember.recipes import iris


class ReQU(nn.Module):
    """z = x² · 1[x > 0];  ∂L/∂x = 2x · 1[x > 0] · ∂L/∂z. No loops; works on batches too."""

    def updateOutput(self, input):
        self.output = np.square(np.maximum(input, 0.0))
        return self.output

    def updateGradInput(self, input, gradOutput):
        self.gradInput = 2.0 * np.maximum(input, 0.0) * gradOutput
        return self.gradInput


def main() -> None:
    """Check the module, train the sigmoid and ReQU networks, compare, plot: ``ember.recipes.iris.run``."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--iterations", type=int, default=iris.ITERATIONS)
    parser.add_argument("--out", default="figures", help="folder for the figures")
    args = parser.parse_args()

    # The workflow of `ember iris`, with our own ReQU in place of ember's: each network is trained full
    # batch by adagrad, checked on fake data (whole-model gradient check), and the last ReQU by its Jacobian.
    settings = iris.Settings(nonlinearities={"sigmoid": "sigmoid", "ReQU": ReQU}, iterations=args.iterations)
    result = iris.run(settings, Path(args.out))
    print(f"ReQU Jacobian check: max |backprop - finite differences| = {result.jacobian.error:.2e}")
    for name, error in result.gradient_errors.items():
        print(f"gradient check with {name}: symmetric relative error {error:.2e}")
    for name, losses in result.losses.items():
        print(f"{name}: final loss {losses[-1]:.4f}, training accuracy {100 * result.accuracies[name]:.1f}%")


if __name__ == "__main__":
    main()
