"""Activation functions: element-wise non-linearities and the soft(arg)max family.

Each backward uses what the forward stored where it can (σ' = σ(1 − σ) from
``self.output``), and writes into reused buffers.
"""

from __future__ import annotations

import numpy as np

from ember.nn.module import Module, resized


class Sigmoid(Module):
    """``y = σ(x) = 1 / (1 + e⁻ˣ)``, computed as ``(1 + tanh(x/2)) / 2`` (no overflow).

    Backward: ``∂L/∂x = g · y (1 − y)``, from the stored output.
    """

    def updateOutput(self, input: np.ndarray) -> np.ndarray:
        out = self.output = resized(self.output, input)
        np.multiply(input, 0.5, out=out)
        np.tanh(out, out=out)
        out += 1.0
        out *= 0.5
        return out

    def updateGradInput(self, input: np.ndarray, gradOutput: np.ndarray) -> np.ndarray:
        grad = self.gradInput = resized(self.gradInput, input)
        np.subtract(1.0, self.output, out=grad)
        grad *= self.output
        grad *= gradOutput
        return grad
