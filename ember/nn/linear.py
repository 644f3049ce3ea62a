"""Linear-family modules: affine maps and learned element-wise scales and shifts."""

from __future__ import annotations

import math

import numpy as np

from ember.nn.module import Module, resized
from ember.random import get_rng


class Linear(Module):
    """Affine map ``y = x Wᵀ + b`` (Torch's ``nn.Linear``).

    Backward: ``∂L/∂x = g W``; ``∂L/∂W += scale · gᵀ x``; ``∂L/∂b += scale · Σ_batch g``.

    Args:
        n_in: size of each input example.
        n_out: size of each output example.
        bias: whether to learn the bias ``b`` (default ``True``).
        rng: generator for the initialisation (default: the library-wide one).

    Shape: input ``(n_in,)`` or ``(batch, n_in)``; output ``(n_out,)`` or ``(batch, n_out)``.

    Attributes:
        weight: ``(n_out, n_in)``, initialised uniform(−1/√n_in, 1/√n_in), as is ``bias`` ``(n_out,)``.

    Example:
        >>> Linear(4, 2).forward(np.ones(4)).shape
        (2,)

    """

    def __init__(self, n_in: int, n_out: int, bias: bool = True, rng: np.random.Generator | None = None) -> None:
        super().__init__()
        self.n_in, self.n_out = n_in, n_out
        self.weight = np.empty((n_out, n_in))
        self.gradWeight = np.zeros((n_out, n_in))
        self.bias = np.empty(n_out) if bias else None
        self.gradBias = np.zeros(n_out) if bias else None
        self.reset(rng=rng)

    def reset(self, stdv: float | None = None, rng: np.random.Generator | None = None) -> Linear:
        """Draw weight and bias from uniform(−stdv, stdv), stdv = 1/√n_in unless given."""
        rng = get_rng(rng)
        stdv = 1.0 / math.sqrt(self.n_in) if stdv is None else stdv
        self.weight[...] = rng.uniform(-stdv, stdv, self.weight.shape)
        if self.bias is not None:
            self.bias[...] = rng.uniform(-stdv, stdv, self.bias.shape)
        return self

    def checkInput(self, input: np.ndarray) -> None:
        super().checkInput(input)
        if input.ndim not in (1, 2) or input.shape[-1] != self.n_in:
            self.fail(f"expected input of shape ({self.n_in},) or (batch, {self.n_in}), got {input.shape}")

    def updateOutput(self, input: np.ndarray) -> np.ndarray:
        self.output = resized(self.output, input, input.shape[:-1] + (self.n_out,))
        np.matmul(input, self.weight.T, out=self.output)
        if self.bias is not None:
            np.add(self.output, self.bias, out=self.output)
        return self.output

    def updateGradInput(self, input: np.ndarray, gradOutput: np.ndarray) -> np.ndarray:
        self.gradInput = resized(self.gradInput, input)
        np.matmul(gradOutput, self.weight, out=self.gradInput)
        return self.gradInput

    def accGradParameters(self, input: np.ndarray, gradOutput: np.ndarray, scale: float = 1.0) -> None:
        if input.ndim == 1:
            self.gradWeight += scale * np.outer(gradOutput, input)
            if self.bias is not None:
                self.gradBias += scale * gradOutput
        else:
            self.gradWeight += scale * (gradOutput.T @ input)
            if self.bias is not None:
                self.gradBias += scale * gradOutput.sum(axis=0)

    def extra_repr(self) -> str:
        return f"{self.n_in} -> {self.n_out}" + ("" if self.bias is not None else " without bias")


class Identity(Module):
    """``y = x``; backward passes ``gradOutput`` through. Output and gradInput are the arrays given."""

    def checkInput(self, input) -> None:
        """Accepts anything: arrays of any dtype and tables."""

    def updateOutput(self, input):
        self.output = input
        return input

    def updateGradInput(self, input, gradOutput):
        self.gradInput = gradOutput
        return gradOutput
