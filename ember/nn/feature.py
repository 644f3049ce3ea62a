"""Activations across the feature dimension: ``GatedLinearUnit`` (halves of a dimension gate each
other) and the spatial soft-max pair ``SpatialSoftMax``, ``SpatialLogSoftMax`` (over the channels of
each pixel).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ember.nn.activation import LogSoftMax, SoftMax
from ember.nn.module import Module, resized
from ember.nn.special import expit


class GatedLinearUnit(Module):
    """``y = a ⊙ σ(b)``, with ``a`` and ``b`` the first and second halves of the input along ``dim``
    (Torch's ``nn.GatedLinearUnit``, PyTorch's ``GLU``).

    Backward: ``∂L/∂a = g ⊙ σ(b)``, ``∂L/∂b = g ⊙ a ⊙ σ(b) (1 − σ(b))``.

    Args:
        dim: the dimension split in two, 0-based; negative counts from the end (default: the last).

    Shape: ``(…, 2n, …)`` → ``(…, n, …)``.

    """

    _scratch = ("_gate",)

    def __init__(self, dim: int | None = None) -> None:
        super().__init__()
        self.dim = dim
        self._gate: np.ndarray | None = None

    def config(self) -> dict[str, Any]:
        return {"dim": self.dim}

    def _axis(self, input: np.ndarray) -> int:
        return -1 if self.dim is None else self.dim

    def checkInput(self, input: np.ndarray) -> None:
        super().checkInput(input)
        axis = self._axis(input)
        if not -input.ndim <= axis < input.ndim:
            self.fail(f"dim {axis} is out of range for a {input.ndim}-D input (dims are 0-based)")
        if input.shape[axis] % 2:
            self.fail(f"expected an even size along dim {axis} (split in halves), got shape {input.shape}")

    def updateOutput(self, input: np.ndarray) -> np.ndarray:
        a, b = np.split(input, 2, axis=self._axis(input))
        self._gate = resized(self._gate, a)
        expit(b, out=self._gate)
        self.output = resized(self.output, a)
        return np.multiply(a, self._gate, out=self.output)

    def updateGradInput(self, input: np.ndarray, gradOutput: np.ndarray) -> np.ndarray:
        axis = self._axis(input)
        a = np.split(input, 2, axis=axis)[0]
        grad = self.gradInput = resized(self.gradInput, input)
        grad_a, grad_b = np.split(grad, 2, axis=axis)
        gate = self._gate
        np.multiply(gradOutput, gate, out=grad_a)
        np.subtract(1.0, gate, out=grad_b)
        grad_b *= grad_a
        grad_b *= a
        return grad

    def extra_repr(self) -> str:
        return "" if self.dim is None else f"dim={self.dim}"


class SpatialSoftMax(SoftMax):
    """Soft-max over the channels of every pixel (Torch's ``nn.SpatialSoftMax``): ``SoftMax`` along
    dim 0 of ``(C, H, W)`` or dim 1 of ``(batch, C, H, W)``.

    Backward: ``∂L/∂x = y ⊙ (g − Σ_c g_c y_c)``, per pixel.
    """

    def checkInput(self, input: np.ndarray) -> None:
        super().checkInput(input)
        if input.ndim not in (3, 4):
            self.fail(f"expected input of shape (C, H, W) or (batch, C, H, W), got {input.shape}")


class SpatialLogSoftMax(LogSoftMax):
    """Log-soft-max over the channels of every pixel (Torch's ``nn.SpatialLogSoftMax``): ``LogSoftMax``
    along dim 0 of ``(C, H, W)`` or dim 1 of ``(batch, C, H, W)``.

    Backward: ``∂L/∂x = g − exp(y) Σ_c g_c``, per pixel.
    """

    def checkInput(self, input: np.ndarray) -> None:
        super().checkInput(input)
        if input.ndim not in (3, 4):
            self.fail(f"expected input of shape (C, H, W) or (batch, C, H, W), got {input.shape}")
