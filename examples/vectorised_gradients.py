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
from pathlib import Path

from ember.recipes import vectorised


def main() -> None:
    """Run the three parts."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--iterations", type=int, default=2000, help="Legendre fit iterations (the seed's 2000)")
    parser.add_argument("--out", default="figures", help="folder for the figures")
    args = parser.parse_args()
    out = Path(args.out)

    # 1. Linear regression (`ember gradients regression`): the loss ½ Σ (y − (m x + b))², whose gradient
    #    is −Σ x (y − ŷ), −Σ (y − ŷ).
    vectorised.run_regression(vectorised.RegressionSettings(), out)

    # 2. Hand-derived gradients of the ReLU network against backprop (`ember gradients relu`): they agree to
    #    rounding.
    vectorised.run_relu(vectorised.ReluSettings())

    # 3. The Legendre fit (`ember gradients legendre`): the loss every 100 iterations, then the formula.
    vectorised.run_legendre(vectorised.LegendreSettings(iterations=args.iterations), out)


if __name__ == "__main__":
    main()
