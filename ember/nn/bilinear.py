"""Bilinear form of two inputs (Torch's ``nn.Bilinear``; PyTorch's ``nn.Bilinear``)."""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from ember.nn.module import Module, resized
from ember.random import get_rng


class Bilinear(Module):
    """``y_k = x₁ᵀ A_k x₂ + b_k`` for an input ``[x₁, x₂]`` (Torch's ``nn.Bilinear``).

    Backward: ``∂L/∂x₁ = Σ_k g_k A_k x₂``; ``∂L/∂x₂ = Σ_k g_k A_kᵀ x₁``; ``∂L/∂A_k += scale · Σ_batch g_k x₁ x₂ᵀ``;
    ``∂L/∂b += scale · Σ_batch g``.

    Args:
        n_in1: size of each ``x₁``.
        n_in2: size of each ``x₂``.
        n_out: number of outputs.
        bias: whether to learn ``b`` (default ``True``).
        rng: generator for the initialisation (default: the library-wide one).

    Shape: input ``[(n_in1,), (n_in2,)]`` or ``[(batch, n_in1), (batch, n_in2)]`` (Torch takes batches
    only); output ``(n_out,)`` or ``(batch, n_out)``.

    Attributes:
        weight: ``(n_out, n_in1, n_in2)``, initialised uniform(−1/√n_in1, 1/√n_in1), as is ``bias``.

    Example:
        >>> Bilinear(3, 2, 4).forward([np.ones((5, 3)), np.ones((5, 2))]).shape
        (5, 4)

    """

    def __init__(self, n_in1: int, n_in2: int, n_out: int, bias: bool = True,
                 rng: int | np.random.Generator | None = None) -> None:
        super().__init__()
        self.n_in1, self.n_in2, self.n_out = n_in1, n_in2, n_out
        self.gradInput: Any = []
        self.register_parameter("weight", np.empty((n_out, n_in1, n_in2)))
        self.register_parameter("bias", np.empty(n_out) if bias else None)
        self.reset(rng)

    def config(self) -> dict[str, Any]:
        return {"n_in1": self.n_in1, "n_in2": self.n_in2, "n_out": self.n_out, "bias": self.bias is not None}

    def reset(self, rng: int | np.random.Generator | None = None, *, stdv: float | None = None) -> Bilinear:
        """Draw weight and bias from uniform(−stdv, stdv), stdv = 1/√n_in1 unless given."""
        rng = get_rng(rng)
        stdv = 1.0 / math.sqrt(self.n_in1) if stdv is None else stdv
        self.weight[...] = rng.uniform(-stdv, stdv, self.weight.shape)
        if self.bias is not None:
            self.bias[...] = rng.uniform(-stdv, stdv, self.bias.shape)
        return self

    def checkInput(self, input: Any) -> None:
        if not isinstance(input, list) or len(input) != 2 or not all(isinstance(x, np.ndarray) for x in input):
            self.fail(f"expected a list of two arrays [x1, x2] as input, got {type(input).__name__}", TypeError)
        x1, x2 = input
        for x in input:
            Module.checkInput(self, x)
        if (x1.ndim not in (1, 2) or x1.ndim != x2.ndim or x1.shape[:-1] != x2.shape[:-1]
                or x1.shape[-1] != self.n_in1 or x2.shape[-1] != self.n_in2):
            self.fail(f"expected inputs of shapes ({self.n_in1},) and ({self.n_in2},), or (batch, {self.n_in1}) "
                      f"and (batch, {self.n_in2}), got {x1.shape} and {x2.shape}")

    def updateOutput(self, input: list[np.ndarray]) -> np.ndarray:
        x1, x2 = input
        self.output = resized(self.output, x1, x1.shape[:-1] + (self.n_out,))
        # x1 with W first, then x2 (PyTorch's order): an inf in x2 is then one term per output, ±inf, not
        # Σᵢ of several ±inf (NaN); finite results are the same up to rounding
        np.matmul(np.tensordot(x1, self.weight, axes=(-1, 1)), x2[..., None], out=self.output[..., None])
        if self.bias is not None:
            self.output += self.bias
        return self.output

    def updateGradInput(self, input: list[np.ndarray], gradOutput: np.ndarray) -> list[np.ndarray]:
        x1, x2 = input
        if len(self.gradInput) != 2:
            self.gradInput = [np.empty(0), np.empty(0)]
        grad1, grad2 = resized(self.gradInput[0], x1), resized(self.gradInput[1], x2)
        np.einsum("...k,kij,...j->...i", gradOutput, self.weight, x2, out=grad1, optimize=True)
        np.einsum("...k,kij,...i->...j", gradOutput, self.weight, x1, out=grad2, optimize=True)
        self.gradInput[0], self.gradInput[1] = grad1, grad2
        return self.gradInput

    def accGradParameters(self, input: list[np.ndarray], gradOutput: np.ndarray, scale: float = 1.0) -> None:
        x1, x2 = input
        self.gradWeight += np.einsum("...k,...i,...j->kij", scale * gradOutput, x1, x2, optimize=True)
        if self.bias is not None:
            self.gradBias += scale * (gradOutput if gradOutput.ndim == 1 else gradOutput.sum(axis=0))

    def extra_repr(self) -> str:
        return f"{self.n_in1}x{self.n_in2} -> {self.n_out}" + ("" if self.bias is not None else " without bias")
