"""Piecewise-linear activations: the clipped, randomised and concatenated rectifiers and the shrinkage
functions (Torch's ``ReLU6``, ``RReLU``, ``CReLU``, ``HardShrink``, ``SoftShrink``) with ``TanhShrink``.

All are element-wise on any shape, except ``CReLU``, which doubles the feature dimension.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ember.nn.module import Module, resized
from ember.random import get_rng


class ReLU6(Module):
    """``y = min(max(x, 0), 6)`` (Torch's ``nn.ReLU6``, a ``HardTanh(0, 6)``).

    Backward: ``∂L/∂x = g · 1[0 < x < 6]`` (zero at both kinks, as Torch).
    """

    def updateOutput(self, input: np.ndarray) -> np.ndarray:
        self.output = resized(self.output, input)
        return np.clip(input, 0.0, 6.0, out=self.output)

    def updateGradInput(self, input: np.ndarray, gradOutput: np.ndarray) -> np.ndarray:
        self.gradInput = resized(self.gradInput, input)
        return np.multiply(gradOutput, (input > 0.0) & (input < 6.0), out=self.gradInput)


class HardShrink(Module):
    """``y = x if |x| > λ else 0`` (Torch's ``nn.HardShrink``).

    Backward: ``∂L/∂x = g · 1[|x| > λ]``.

    Args:
        lambd: the threshold ``λ ≥ 0`` (default 0.5).

    """

    def __init__(self, lambd: float = 0.5) -> None:
        super().__init__()
        self.lambd = lambd
        if not lambd >= 0:
            self.fail(f"lambd must be >= 0, got {lambd}")

    def config(self) -> dict[str, Any]:
        return {"lambd": self.lambd}

    def updateOutput(self, input: np.ndarray) -> np.ndarray:
        self.output = resized(self.output, input)
        return np.multiply(input, np.abs(input) > self.lambd, out=self.output)

    def updateGradInput(self, input: np.ndarray, gradOutput: np.ndarray) -> np.ndarray:
        self.gradInput = resized(self.gradInput, input)
        return np.multiply(gradOutput, np.abs(input) > self.lambd, out=self.gradInput)

    def extra_repr(self) -> str:
        return f"{self.lambd:g}"


class SoftShrink(HardShrink):
    """``y = x − λ if x > λ``, ``x + λ if x < −λ``, else 0 (Torch's ``nn.SoftShrink``).

    Backward: ``∂L/∂x = g · 1[|x| > λ]``.

    Args:
        lambd: the threshold ``λ ≥ 0`` (default 0.5).

    """

    def updateOutput(self, input: np.ndarray) -> np.ndarray:
        out = self.output = resized(self.output, input)
        np.clip(input, -self.lambd, self.lambd, out=out)
        return np.subtract(input, out, out=out)


class TanhShrink(Module):
    """``y = x − tanh(x)`` (Torch's ``nn.TanhShrink``).

    Backward: ``∂L/∂x = g · tanh²(x)``.
    """

    def updateOutput(self, input: np.ndarray) -> np.ndarray:
        out = self.output = resized(self.output, input)
        np.tanh(input, out=out)
        return np.subtract(input, out, out=out)

    def updateGradInput(self, input: np.ndarray, gradOutput: np.ndarray) -> np.ndarray:
        grad = self.gradInput = resized(self.gradInput, input)
        np.tanh(input, out=grad)
        np.square(grad, out=grad)
        grad *= gradOutput
        return grad


class RReLU(Module):
    """Randomised leaky ReLU (Torch's ``nn.RReLU``, PyTorch's ``RReLU``).

    Training: ``y = x`` where ``x > 0``, else ``a · x`` with a slope ``a ~ U(lower, upper)`` drawn for
    every element at each ``forward``; evaluation: the slope is the mean ``(lower + upper) / 2``.

    Backward: ``∂L/∂x = g · noise``, ``noise`` the slopes of the last forward (1 where ``x > 0``).

    Args:
        lower, upper: the range of the slopes, ``0 ≤ lower ≤ upper`` (defaults 1/8 and 1/3).
        rng: generator for the slopes (default: the library-wide one of ``ember.random``).
        resample: draw new slopes at every training ``forward`` (default ``True``); ``False`` keeps the
            first ones (drawn again only when the input shape changes), e.g. for a gradient check.

    Attributes:
        noise: the slope of each element in the last forward (Torch's ``noise``).

    """

    _scratch = ("noise",)

    def __init__(self, lower: float = 1 / 8, upper: float = 1 / 3, rng: int | np.random.Generator | None = None,
                 resample: bool = True) -> None:
        super().__init__()
        self.lower, self.upper, self.resample = lower, upper, resample
        self.rng = None if rng is None else get_rng(rng)
        if not 0 <= lower <= upper:
            self.fail(f"expected 0 <= lower <= upper, got lower={lower}, upper={upper}")
        self.noise: np.ndarray | None = None

    def config(self) -> dict[str, Any]:
        return {"lower": self.lower, "upper": self.upper, "resample": self.resample}

    def updateOutput(self, input: np.ndarray) -> np.ndarray:
        noise = self.noise
        if not self.train:
            noise = self.noise = resized(noise, input)
            noise.fill(0.5 * (self.lower + self.upper))
        elif self.resample or noise is None or noise.shape != input.shape or noise.dtype != input.dtype:
            noise = self.noise = resized(noise, input)
            noise[...] = get_rng(self.rng).uniform(self.lower, self.upper, input.shape)
        self.output = resized(self.output, input)
        np.multiply(input, noise, out=self.output)
        np.copyto(self.output, input, where=input > 0)
        return self.output

    def updateGradInput(self, input: np.ndarray, gradOutput: np.ndarray) -> np.ndarray:
        self.gradInput = resized(self.gradInput, input)
        np.multiply(gradOutput, self.noise, out=self.gradInput)
        np.copyto(self.gradInput, gradOutput, where=input > 0)
        return self.gradInput

    def extra_repr(self) -> str:
        return f"l={self.lower:g}, u={self.upper:g}" + ("" if self.resample else ", resample=False")


class CReLU(Module):
    """Concatenated ReLU: ``y = [max(x, 0), max(−x, 0)]`` along the feature dimension (Torch's ``nn.CReLU``).

    Backward: ``∂L/∂x = g₁ · 1[x > 0] − g₂ · 1[x < 0]``, ``g₁, g₂`` the two halves of ``gradOutput``.

    Args:
        n_input_dims: the number of dimensions of one example (default 1); an input with one more is a
            batch. The features are the first dimension of an example, so the output has twice as many.

    Shape: ``(C, …)`` → ``(2C, …)``, or ``(batch, C, …)`` → ``(batch, 2C, …)``.

    """

    def __init__(self, n_input_dims: int = 1) -> None:
        super().__init__()
        self.n_input_dims = n_input_dims
        if n_input_dims < 1:
            self.fail(f"n_input_dims must be at least 1, got {n_input_dims}")

    def config(self) -> dict[str, Any]:
        return {"n_input_dims": self.n_input_dims}

    def checkInput(self, input: np.ndarray) -> None:
        super().checkInput(input)
        if input.ndim not in (self.n_input_dims, self.n_input_dims + 1):
            self.fail(f"expected a {self.n_input_dims}-D input or a batch of them, got shape {input.shape}")

    def updateOutput(self, input: np.ndarray) -> np.ndarray:
        axis = input.ndim - self.n_input_dims
        shape = list(input.shape)
        shape[axis] *= 2
        out = self.output = resized(self.output, input, tuple(shape))
        first, second = np.split(out, 2, axis=axis)
        np.maximum(input, 0.0, out=first)
        np.minimum(input, 0.0, out=second)
        np.negative(second, out=second)
        return out

    def updateGradInput(self, input: np.ndarray, gradOutput: np.ndarray) -> np.ndarray:
        first, second = np.split(gradOutput, 2, axis=input.ndim - self.n_input_dims)
        grad = self.gradInput = resized(self.gradInput, input)
        np.multiply(first, input > 0, out=grad)
        grad -= second * (input < 0)
        return grad

    def extra_repr(self) -> str:
        return "" if self.n_input_dims == 1 else f"n_input_dims={self.n_input_dims}"
