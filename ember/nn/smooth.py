"""Smooth activations of current networks, with PyTorch's definitions: ``GELU``, ``SiLU``, ``Mish``,
``SELU``, ``CELU``. Element-wise on any shape; each backward uses what its forward stored where it can.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from ember.nn.module import Module, resized
from ember.nn.special import erf, expit

_SQRT_2_OVER_PI = math.sqrt(2.0 / math.pi)
_TANH_CUBIC = 0.044715


class GELU(Module):
    """Gaussian error linear unit ``y = x Φ(x)``, ``Φ`` the standard normal CDF (PyTorch's ``GELU``).

    With ``approximate='tanh'``: ``y = ½ x (1 + tanh(√(2/π) (x + 0.044715 x³)))``.

    Backward: ``∂L/∂x = g · (Φ(x) + x φ(x))`` (``φ`` the normal density), or the derivative of the
    tanh form.

    Args:
        approximate: ``'none'`` (default, exact, through ``erf``) or ``'tanh'``.

    """

    def __init__(self, approximate: str = "none") -> None:
        super().__init__()
        self.approximate = approximate
        if approximate not in ("none", "tanh"):
            self.fail(f"approximate must be 'none' or 'tanh', got {approximate!r}")

    def config(self) -> dict[str, Any]:
        return {"approximate": self.approximate}

    def _inner(self, x: np.ndarray) -> np.ndarray:
        """The tanh form's ``tanh(√(2/π) (x + 0.044715 x³))``."""
        return np.tanh(_SQRT_2_OVER_PI * (x + _TANH_CUBIC * x * x * x))

    def updateOutput(self, input: np.ndarray) -> np.ndarray:
        out = self.output = resized(self.output, input)
        if self.approximate == "tanh":
            np.add(self._inner(input), 1.0, out=out)
        else:
            erf(input * math.sqrt(0.5), out=out)
            out += 1.0
        out *= 0.5  # before the input: ½ · 2 · 1e308 would overflow
        out *= input
        return out

    def updateGradInput(self, input: np.ndarray, gradOutput: np.ndarray) -> np.ndarray:
        grad = self.gradInput = resized(self.gradInput, input)
        if self.approximate == "tanh":
            t = self._inner(input)
            slope = _SQRT_2_OVER_PI * (1.0 + 3.0 * _TANH_CUBIC * input * input)
            np.multiply(0.5 * input * (1.0 - t * t), slope, out=grad)
            grad += 0.5 * (1.0 + t)
        else:
            density = np.exp(-0.5 * input * input) * (1.0 / math.sqrt(2.0 * math.pi))
            erf(input * math.sqrt(0.5), out=grad)
            grad += 1.0
            grad *= 0.5
            grad += input * density
        grad *= gradOutput
        return grad

    def extra_repr(self) -> str:
        return "" if self.approximate == "none" else "approximate='tanh'"


class SiLU(Module):
    """Sigmoid-weighted linear unit (swish) ``y = x σ(x)`` (PyTorch's ``SiLU``).

    Backward: ``∂L/∂x = g · σ(x) (1 + x (1 − σ(x)))``.
    """

    def updateOutput(self, input: np.ndarray) -> np.ndarray:
        out = self.output = resized(self.output, input)
        expit(input, out=out)
        out *= input
        return out

    def updateGradInput(self, input: np.ndarray, gradOutput: np.ndarray) -> np.ndarray:
        grad = self.gradInput = resized(self.gradInput, input)
        sigma = expit(input)
        np.subtract(1.0, sigma, out=grad)
        grad *= input
        grad += 1.0
        grad *= sigma
        grad *= gradOutput
        return grad


class Mish(Module):
    """``y = x tanh(softplus(x))``, ``softplus(x) = log(1 + eˣ)`` (PyTorch's ``Mish``).

    Backward: ``∂L/∂x = g · (t + x (1 − t²) σ(x))`` with ``t = tanh(softplus(x))``.
    """

    def updateOutput(self, input: np.ndarray) -> np.ndarray:
        out = self.output = resized(self.output, input)
        np.logaddexp(0.0, input, out=out)
        np.tanh(out, out=out)
        out *= input
        return out

    def updateGradInput(self, input: np.ndarray, gradOutput: np.ndarray) -> np.ndarray:
        grad = self.gradInput = resized(self.gradInput, input)
        t = np.tanh(np.logaddexp(0.0, input))
        np.multiply(t, t, out=grad)
        np.subtract(1.0, grad, out=grad)
        grad *= input
        grad *= expit(input)
        grad += t
        grad *= gradOutput
        return grad


class CELU(Module):
    """Continuously differentiable ELU ``y = x if x > 0 else α (exp(x/α) − 1)`` (PyTorch's ``CELU``).

    Backward: ``∂L/∂x = g if x > 0 else g · (y/α + 1)`` (``= g · exp(x/α)``, from the stored output).

    Args:
        alpha: ``α > 0`` (default 1).

    """

    def __init__(self, alpha: float = 1.0) -> None:
        super().__init__()
        self.alpha = alpha
        if not alpha > 0:
            self.fail(f"alpha must be > 0, got {alpha}")

    def config(self) -> dict[str, Any]:
        return {"alpha": self.alpha}

    def _negative(self, input: np.ndarray, out: np.ndarray, alpha: float, rate: float, scale: float) -> np.ndarray:
        """``out = scale · (x if x > 0 else α (exp(rate · x) − 1))``."""
        np.minimum(input, 0.0, out=out)
        if rate != 1.0:
            out *= rate
        np.expm1(out, out=out)
        out *= alpha
        np.copyto(out, input, where=input > 0)
        if scale != 1.0:
            out *= scale
        return out

    def updateOutput(self, input: np.ndarray) -> np.ndarray:
        self.output = resized(self.output, input)
        return self._negative(input, self.output, self.alpha, 1.0 / self.alpha, 1.0)

    def updateGradInput(self, input: np.ndarray, gradOutput: np.ndarray) -> np.ndarray:
        grad = self.gradInput = resized(self.gradInput, input)
        np.multiply(self.output, 1.0 / self.alpha, out=grad)
        grad += 1.0
        grad *= gradOutput
        np.copyto(grad, gradOutput, where=input > 0)
        return grad

    def extra_repr(self) -> str:
        return "" if self.alpha == 1.0 else f"alpha={self.alpha:g}"


class SELU(CELU):
    """Scaled ELU ``y = λ x if x > 0 else λ α (eˣ − 1)`` with PyTorch's self-normalising constants
    ``α ≈ 1.6733``, ``λ ≈ 1.0507`` (PyTorch's ``SELU``).

    Backward: ``∂L/∂x = λ g if x > 0 else g · (y + λα)``, from the stored output.
    """

    ALPHA = 1.6732632423543772848170429916717
    SCALE = 1.0507009873554804934193349852946

    def __init__(self) -> None:
        super().__init__(self.ALPHA)

    def config(self) -> dict[str, Any]:
        return {}

    def updateOutput(self, input: np.ndarray) -> np.ndarray:
        self.output = resized(self.output, input)
        return self._negative(input, self.output, self.ALPHA, 1.0, self.SCALE)

    def updateGradInput(self, input: np.ndarray, gradOutput: np.ndarray) -> np.ndarray:
        grad = self.gradInput = resized(self.gradInput, input)
        np.add(self.output, self.SCALE * self.ALPHA, out=grad)
        grad *= gradOutput
        np.copyto(grad, self.SCALE * gradOutput, where=input > 0)
        return grad

    def extra_repr(self) -> str:
        return ""
