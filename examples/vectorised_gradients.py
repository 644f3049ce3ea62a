"""Vectorised gradients: from derivatives on paper to backprop, in three small programs.

1. Gradient descent for linear regression, y = m x + b, on an anisotropic blob.
2. A one-hidden-layer ReLU network whose gradients are derived by hand
   (δ₁ = ŷ − y, δ₂ = δ₁ U ∘ sgn(h), ∂J/∂U = δ₁ᵀhᵀ, …) and compared with ember's backprop.
3. A custom module, the Legendre polynomial P3(x) = ½(5x³ − 3x) with its own backward,
   inside y = a + b·P3(c + d·x), fitted to sin(x).

Run: ``python examples/vectorised_gradients.py [--iterations 2000] [--out figures]``
The same from the command line: ``ember gradients regression|relu|legendre``.
"""

import argparse
import math
from pathlib import Path

import numpy as np

from ember import plot
from ember.recipes import vectorised


def main() -> None:
    """Run the three parts."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--iterations", type=int, default=2000, help="Legendre fit iterations (the seed's 2000)")
    parser.add_argument("--out", default="figures", help="folder for the figures")
    args = parser.parse_args()
    out = Path(args.out)

    # 1. Linear regression: the loss ½ Σ (y − (m x + b))², whose gradient is −Σ x (y − ŷ), −Σ (y − ŷ).
    points = vectorised.anisotropic_points()
    print(f"Starting gradient descent at b = 0, m = 0, error = {vectorised.mean_squared_error(0, 0, points)}")
    fit = vectorised.linear_regression(points, learning_rate=1e-4, num_iterations=1000)
    print(f"After 1000 iterations b = {fit.b}, m = {fit.m}, error = {fit.error_after}")
    print("wrote", plot.scatter_fit(out / "regression.png", points[:, 0], points[:, 1],
                                    {"gradient descent": fit.m * points[:, 0] + fit.b}, title="y = m x + b"))

    # 2. Hand-derived gradients of the ReLU network against backprop (they agree to rounding).
    for name, difference in vectorised.relu_network_gradients().items():
        print(f"dJ/d{name}: max |hand-derived - backprop| = {difference:.1e}")

    # 3. The Legendre fit: the loss every 100 iterations, then the formula.
    result = vectorised.fit_legendre(num_iterations=args.iterations, progress=lambda t, loss: print(t, loss))
    print(f"Result: {result.formula()}")
    x = np.linspace(-math.pi, math.pi, 2000)
    print("wrote", plot.scatter_fit(out / "legendre.png", x, np.sin(x), {"a + b P3(c + d x)": result.model.forward(x)},
                                    title="sin(x) and its Legendre fit"))


if __name__ == "__main__":
    main()
