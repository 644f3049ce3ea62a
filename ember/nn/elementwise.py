"""Element-wise maths: ``Abs``, ``Exp``, ``Log``, ``Sqrt``, ``Square``, ``Power``, and constants.

Every module here maps each input element on its own, accepts any shape, and has
no parameters. As in Torch, ``Log``, ``Sqrt`` and fractional ``Power`` give
``nan``/``inf`` (with NumPy's warning) outside their domain rather than raising.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ember.nn.activation import HardTanh
from ember.nn.module import Module, resized


class Abs(Module):
    """``y = |x|``.

    Backward: ``∂L/∂x = g · sign(x)`` (zero at ``x = 0``).
    """

    def updateOutput(self, input: np.ndarray) -> np.ndarray:
        self.output = resized(self.output, input)
        return np.abs(input, out=self.output)

    def updateGradInput(self, input: np.ndarray, gradOutput: np.ndarray) -> np.ndarray:
        grad = self.gradInput = resized(self.gradInput, input)
        np.sign(input, out=grad)
        grad *= gradOutput
        return grad


class Exp(Module):
    """``y = eˣ``.

    Backward: ``∂L/∂x = g · y``, from the stored output.
    """

    def updateOutput(self, input: np.ndarray) -> np.ndarray:
        self.output = resized(self.output, input)
        return np.exp(input, out=self.output)

    def updateGradInput(self, input: np.ndarray, gradOutput: np.ndarray) -> np.ndarray:
        self.gradInput = resized(self.gradInput, input)
        return np.multiply(gradOutput, self.output, out=self.gradInput)


class Log(Module):
    """``y = log x`` (natural logarithm; for ``x > 0``).

    Backward: ``∂L/∂x = g / x``.
    """

    def updateOutput(self, input: np.ndarray) -> np.ndarray:
        self.output = resized(self.output, input)
        return np.log(input, out=self.output)

    def updateGradInput(self, input: np.ndarray, gradOutput: np.ndarray) -> np.ndarray:
        self.gradInput = resized(self.gradInput, input)
        return np.divide(gradOutput, input, out=self.gradInput)


class Sqrt(Module):
    """``y = √x`` (for ``x ≥ 0``).

    Backward: ``∂L/∂x = g / (2y)``, from the stored output; 0 where ``y = 0``, as in Torch.
    """

    def updateOutput(self, input: np.ndarray) -> np.ndarray:
        self.output = resized(self.output, input)
        return np.sqrt(input, out=self.output)

    def updateGradInput(self, input: np.ndarray, gradOutput: np.ndarray) -> np.ndarray:
        grad = self.gradInput = resized(self.gradInput, input)
        grad.fill(0)
        np.divide(gradOutput, self.output, out=grad, where=self.output != 0)
        grad *= 0.5
        return grad


class Square(Module):
    """``y = x²``.

    Backward: ``∂L/∂x = g · 2x``.
    """

    def updateOutput(self, input: np.ndarray) -> np.ndarray:
        self.output = resized(self.output, input)
        return np.square(input, out=self.output)

    def updateGradInput(self, input: np.ndarray, gradOutput: np.ndarray) -> np.ndarray:
        grad = self.gradInput = resized(self.gradInput, input)
        np.multiply(input, 2.0, out=grad)
        grad *= gradOutput
        return grad


class Power(Module):
    """``y = xᵖ`` (Torch's ``nn.Power``; a fractional ``p`` needs ``x ≥ 0``).

    Backward: ``∂L/∂x = g · p xᵖ⁻¹``.

    Args:
        p: the exponent.

    """

    def __init__(self, p: float) -> None:
        super().__init__()
        self.p = p

    def config(self) -> dict[str, Any]:
        return {"p": self.p}

    def updateOutput(self, input: np.ndarray) -> np.ndarray:
        self.output = resized(self.output, input)
        return np.power(input, self.p, out=self.output)

    def updateGradInput(self, input: np.ndarray, gradOutput: np.ndarray) -> np.ndarray:
        grad = self.gradInput = resized(self.gradInput, input)
        np.power(input, self.p - 1, out=grad)
        grad *= self.p
        grad *= gradOutput
        return grad

    def extra_repr(self) -> str:
        return f"{self.p:g}"


class AddConstant(Module):
    """``y = x + c`` for a scalar ``c`` (Torch's ``nn.AddConstant``).

    Backward: ``∂L/∂x = g``.

    Args:
        constant_scalar: the constant ``c``.

    """

    def __init__(self, constant_scalar: float) -> None:
        super().__init__()
        self.constant_scalar = constant_scalar

    def config(self) -> dict[str, Any]:
        return {"constant_scalar": self.constant_scalar}

    def updateOutput(self, input: np.ndarray) -> np.ndarray:
        self.output = resized(self.output, input)
        return np.add(input, self.constant_scalar, out=self.output)

    def updateGradInput(self, input: np.ndarray, gradOutput: np.ndarray) -> np.ndarray:
        self.gradInput = resized(self.gradInput, input)
        np.copyto(self.gradInput, gradOutput)
        return self.gradInput

    def extra_repr(self) -> str:
        return f"{self.constant_scalar:g}"


class MulConstant(Module):
    """``y = c · x`` for a scalar ``c`` (Torch's ``nn.MulConstant``).

    Backward: ``∂L/∂x = c · g``.

    Args:
        constant_scalar: the constant ``c``.

    """

    def __init__(self, constant_scalar: float) -> None:
        super().__init__()
        self.constant_scalar = constant_scalar

    def config(self) -> dict[str, Any]:
        return {"constant_scalar": self.constant_scalar}

    def updateOutput(self, input: np.ndarray) -> np.ndarray:
        self.output = resized(self.output, input)
        return np.multiply(input, self.constant_scalar, out=self.output)

    def updateGradInput(self, input: np.ndarray, gradOutput: np.ndarray) -> np.ndarray:
        self.gradInput = resized(self.gradInput, input)
        return np.multiply(gradOutput, self.constant_scalar, out=self.gradInput)

    def extra_repr(self) -> str:
        return f"{self.constant_scalar:g}"


class Clamp(HardTanh):
    """``y = min(max(x, min_value), max_value)`` (Torch's ``nn.Clamp``, a ``HardTanh`` with these bounds).

    Backward: ``∂L/∂x = g · 1[min_value < x < max_value]``.

    Args:
        min_value: the lower bound.
        max_value: the upper bound; must exceed ``min_value``.

    """

    def __init__(self, min_value: float, max_value: float) -> None:
        super().__init__(min_value, max_value)

    def config(self) -> dict[str, Any]:
        return {"min_value": self.min_value, "max_value": self.max_value}
