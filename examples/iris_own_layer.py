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

from ember import data, nn, plot
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
    """Check the module, train both networks, compare, plot."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--iterations", type=int, default=1000)
    parser.add_argument("--out", default="figures", help="folder for the figures")
    args = parser.parse_args()
    out = Path(args.out)

    # 1. Unit test of the module: its Jacobian by backprop vs two-sided finite differences.
    jacobian = iris.requ_jacobian(ReQU(), size=8)
    print(f"ReQU Jacobian check: max |backprop - finite differences| = {jacobian.error:.2e}")
    print("wrote", plot.jacobian_heatmap(out / "requ_jacobian.png", jacobian.analytic, jacobian.numeric,
                                         title="My ReQU: Jacobian"))

    # 2. The whole model, loss included, on fake data: 5 random inputs with random targets.
    for name, layer in (("sigmoid", "sigmoid"), ("ReQU", ReQU())):
        print(f"gradient check with {name}: symmetric relative error {iris.gradient_check(layer):.2e}")

    # 3. Train both on Iris, full batch, adagrad with learning rate 0.1.
    X, y = data.iris()
    curves = {}
    for name, layer in (("sigmoid", "sigmoid"), ("ReQU", ReQU())):
        model, criterion = iris.create_model(layer, rng=0)
        curves[name] = iris.train(model, criterion, X, y, iterations=args.iterations)
        print(f"{name}: final loss {curves[name][-1]:.4f}, training accuracy {100 * iris.accuracy(model, X, y):.1f}%")
        print("wrote", plot.decision_regions(out / f"iris_regions_{name.lower()}.png",
                                             lambda Z, m=model: iris.predict(m, Z), X, y, features=(2, 3),
                                             feature_names=iris.FEATURE_NAMES, class_names=iris.CLASS_NAMES,
                                             title=f"Iris with {name}: petal features (sepals at their mean)"))
    print("wrote", plot.line_plot(out / "iris_loss.png", curves, xlabel="iteration", ylabel="ClassNLL loss",
                                  log_y=True, title="Iris: sigmoid vs ReQU"))


if __name__ == "__main__":
    main()
