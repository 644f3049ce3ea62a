"""Layer normalisation (Torch's ``nn.LayerNormalization``; PyTorch's ``nn.LayerNorm`` over the last axis)."""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from ember.errors import InputError
from ember.nn.module import Module, resized
from ember.random import get_rng


class LayerNormalization(Module):
    """Normalise each example over its last axis, then scale and shift (Torch's ``nn.LayerNormalization``):
    ``x̂ = √n (x − μ) / √(Σ(x − μ)² + eps)``, ``y = w ⊙ x̂ + b``.

    This is PyTorch's ``LayerNorm(n, eps=eps/n)``: Torch puts ``eps`` inside the sum of squares, PyTorch
    inside the variance.

    Backward, with ``s = √(Σd² + eps)``, ``d = x − μ`` and ``ĝ = w ⊙ g``:
    ``∂L/∂x = √n/s · (ĝ − mean(ĝ)) − √n d Σ(ĝ d)/s³``; ``∂L/∂w += scale · Σ g ⊙ x̂``; ``∂L/∂b += scale · Σ g``.

    Args:
        n_output: the size ``n`` of the last axis.
        bias: the initial value of ``b`` (default 0).
        eps: added to the sum of squares (default 1e-10, Torch's).
        affine: whether to learn ``w`` and ``b`` (default ``True``).

    Shape: input ``(..., n)`` (one example ``(n,)``, a batch ``(batch, n)``, or more leading axes);
    output like the input.

    Attributes:
        weight: ``(n,)``, initialised to 1; ``bias``: ``(n,)``, initialised to ``bias``.

    """

    _scratch = ("_normalised", "_scale")

    def __init__(self, n_output: int, bias: float = 0.0, eps: float = 1e-10, affine: bool = True) -> None:
        super().__init__()
        if not eps >= 0:
            raise InputError(f"LayerNormalization: eps must be >= 0, got {eps}")
        self.n_output, self.initial_bias, self.eps, self.affine = n_output, float(bias), float(eps), affine
        self._normalised: np.ndarray | None = None  # x̂
        self._scale: np.ndarray | None = None  # √n / s, with a trailing axis of 1
        self.register_parameter("weight", np.empty(n_output) if affine else None)
        self.register_parameter("bias", np.empty(n_output) if affine else None)
        self.reset()

    def config(self) -> dict[str, Any]:
        return {"n_output": self.n_output, "bias": self.initial_bias, "eps": self.eps, "affine": self.affine}

    def reset(self, rng: int | np.random.Generator | None = None, *,
              stdv: float | None = None) -> LayerNormalization:
        """``w`` ← 1 and ``b`` ← the initial bias, as Torch builds it; with ``stdv``, both uniform(−stdv, stdv)."""
        if not self.affine:
            return self
        if stdv is None:
            self.weight[...] = 1.0
            self.bias[...] = self.initial_bias
        else:
            rng = get_rng(rng)
            self.weight[...] = rng.uniform(-stdv, stdv, self.n_output)
            self.bias[...] = rng.uniform(-stdv, stdv, self.n_output)
        return self

    def checkInput(self, input: np.ndarray) -> None:
        super().checkInput(input)
        if input.ndim < 1 or input.shape[-1] != self.n_output:
            self.fail(f"expected input of shape (..., {self.n_output}), got {input.shape}")

    def updateOutput(self, input: np.ndarray) -> np.ndarray:
        centred = input - input.mean(axis=-1, keepdims=True)
        self._scale = math.sqrt(self.n_output) / np.sqrt(np.square(centred).sum(axis=-1, keepdims=True) + self.eps)
        self._normalised = centred * self._scale
        self.output = resized(self.output, input)
        if self.affine:
            np.multiply(self._normalised, self.weight, out=self.output)
            self.output += self.bias
        else:
            np.copyto(self.output, self._normalised)
        return self.output

    def updateGradInput(self, input: np.ndarray, gradOutput: np.ndarray) -> np.ndarray:
        g = gradOutput * self.weight if self.affine else gradOutput
        along = (g * self._normalised).sum(axis=-1, keepdims=True) / self.n_output  # Σ ĝ x̂ / n
        self.gradInput = resized(self.gradInput, input)
        np.subtract(g, g.mean(axis=-1, keepdims=True), out=self.gradInput)
        self.gradInput -= self._normalised * along
        self.gradInput *= self._scale
        return self.gradInput

    def accGradParameters(self, input: np.ndarray, gradOutput: np.ndarray, scale: float = 1.0) -> None:
        if not self.affine:
            return
        axes = tuple(range(gradOutput.ndim - 1))
        self.gradWeight += scale * (gradOutput * self._normalised).sum(axis=axes)
        self.gradBias += scale * gradOutput.sum(axis=axes)

    def extra_repr(self) -> str:
        return str(self.n_output) + ("" if self.affine else ", affine=False")
