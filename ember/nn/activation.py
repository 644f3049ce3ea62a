"""Activation functions: element-wise non-linearities and the soft(arg)max family.

Each backward uses what the forward stored where it can (σ' = σ(1 − σ) from
``self.output``), and writes into reused buffers.

The soft(arg)max family and per-channel ``PReLU`` act along the *feature
dimension*, as Torch's do: dim 0 of an unbatched input ``(C,)`` or
``(C, H, W)``, dim 1 of a batched input ``(N, C)`` or ``(N, C, H, W)``.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ember.nn.module import Module, filled, resized
from ember.nn.special import expit

#: the feature (channel) dimension for each input rank Torch accepts: 1-D and 3-D
#: inputs are one example, 2-D and 4-D inputs a batch of them.
FEATURE_DIM = {1: 0, 2: 1, 3: 0, 4: 1}


#: from this many elements on, Sigmoid computes ``1 / (1 + e⁻ˣ)`` in four NumPy passes, whose vectorised ``exp``
#: makes them 2× faster than SciPy's one-pass ``expit`` (64 × 50: 9 against 20 µs); below, ``expit``'s single call
#: is cheaper (50 elements: 0.5 against 2.7 µs). Both compute the same formula.
SIGMOID_PASSES_SIZE = 512


class Sigmoid(Module):
    """``y = σ(x) = 1 / (1 + e⁻ˣ)``, by SciPy's ``expit`` ufunc (one pass) or, on larger inputs, the same formula
    in NumPy passes (its ``exp`` is vectorised); no overflow warning either way (``e⁻ˣ = ∞`` gives 0).

    Backward: ``∂L/∂x = g · y (1 − y)``, from the stored output.
    """

    def updateOutput(self, input: np.ndarray) -> np.ndarray:
        out = self.output = resized(self.output, input)
        if input.size < SIGMOID_PASSES_SIZE:
            return expit(input, out)
        np.negative(input, out)
        with np.errstate(over="ignore"):
            np.exp(out, out)
        np.add(out, 1.0, out)
        return np.reciprocal(out, out)

    def updateGradInput(self, input: np.ndarray, gradOutput: np.ndarray) -> np.ndarray:
        grad = self.gradInput = resized(self.gradInput, input)
        output = self.output
        np.subtract(1.0, output, grad)
        np.multiply(grad, output, grad)
        np.multiply(grad, gradOutput, grad)
        return grad


class Tanh(Module):
    """``y = tanh(x)``.

    Backward: ``∂L/∂x = g · (1 − y²)``, from the stored output.
    """

    def updateOutput(self, input: np.ndarray) -> np.ndarray:
        self.output = resized(self.output, input)
        return np.tanh(input, out=self.output)

    def updateGradInput(self, input: np.ndarray, gradOutput: np.ndarray) -> np.ndarray:
        grad = self.gradInput = resized(self.gradInput, input)
        np.square(self.output, out=grad)
        np.subtract(1.0, grad, out=grad)
        grad *= gradOutput
        return grad


class Threshold(Module):
    """``y = value if x <= threshold else x`` (Torch's ``nn.Threshold``; a NaN stays NaN).

    Backward: ``∂L/∂x = g · 1[x > threshold]``.

    Args:
        threshold: inputs at or below it are replaced (default ``1e-6``, as Torch).
        value: what they are replaced with (default ``0``).

    """

    def __init__(self, threshold: float = 1e-6, value: float = 0.0) -> None:
        super().__init__()
        self.threshold, self.value = threshold, value

    def config(self) -> dict[str, Any]:
        return {"threshold": self.threshold, "value": self.value}

    def updateOutput(self, input: np.ndarray) -> np.ndarray:
        out = self.output = resized(self.output, input)
        np.copyto(out, input)
        np.copyto(out, self.value, where=input <= self.threshold)  # a NaN stays NaN, as in Torch
        return out

    def updateGradInput(self, input: np.ndarray, gradOutput: np.ndarray) -> np.ndarray:
        self.gradInput = resized(self.gradInput, input)
        return np.multiply(gradOutput, input > self.threshold, out=self.gradInput)

    def extra_repr(self) -> str:
        return f"{self.threshold:g}, {self.value:g}"


class ReLU(Threshold):
    """Rectified linear unit ``y = max(x, 0)``: Torch's ``nn.ReLU``, a ``Threshold(0, 0)``.

    Backward: ``∂L/∂x = g · 1[x > 0]`` (zero at the kink ``x = 0``).

    The forward is ``np.maximum(x, zeros)`` against a kept array of zeros: NumPy vectorises the
    maximum of two arrays but not of an array and a scalar (3.4× faster on float32). A NaN stays NaN.
    """

    _scratch = ("_zeros",)

    def __init__(self) -> None:
        super().__init__(0.0, 0.0)
        self._zeros: np.ndarray | None = None

    def config(self) -> dict[str, Any]:
        return {}

    def updateOutput(self, input: np.ndarray) -> np.ndarray:
        self.output = resized(self.output, input)
        self._zeros = filled(self._zeros, input, 0.0)
        return np.maximum(input, self._zeros, out=self.output)

    def extra_repr(self) -> str:
        return ""


class ReQU(Module):
    """Rectified quadratic unit ``y = x² · 1[x > 0]`` (``x²`` for ``x > 0``, else 0).

    Backward: ``∂L/∂x = g · 2x · 1[x > 0]``.
    """

    def updateOutput(self, input: np.ndarray) -> np.ndarray:
        out = self.output = resized(self.output, input)
        np.maximum(input, 0.0, out=out)
        return np.square(out, out=out)

    def updateGradInput(self, input: np.ndarray, gradOutput: np.ndarray) -> np.ndarray:
        grad = self.gradInput = resized(self.gradInput, input)
        np.maximum(input, 0.0, out=grad)
        grad *= 2.0
        grad *= gradOutput
        return grad


class LeakyReLU(Module):
    """``y = x if x > 0 else negval · x`` (Torch's ``nn.LeakyReLU``).

    Backward: ``∂L/∂x = g if x > 0 else negval · g``.

    Args:
        negval: the slope for negative inputs (default ``0.01``).

    """

    def __init__(self, negval: float = 0.01) -> None:
        super().__init__()
        self.negval = negval

    def config(self) -> dict[str, Any]:
        return {"negval": self.negval}

    def updateOutput(self, input: np.ndarray) -> np.ndarray:
        out = self.output = resized(self.output, input)
        np.multiply(input, self.negval, out=out)
        np.copyto(out, input, where=input > 0)
        return out

    def updateGradInput(self, input: np.ndarray, gradOutput: np.ndarray) -> np.ndarray:
        grad = self.gradInput = resized(self.gradInput, input)
        np.multiply(gradOutput, self.negval, out=grad)
        np.copyto(grad, gradOutput, where=input > 0)
        return grad

    def extra_repr(self) -> str:
        return f"{self.negval:g}"


class ELU(Module):
    """Exponential linear unit ``y = x if x > 0 else α (eˣ − 1)`` (Torch's ``nn.ELU``).

    Backward: ``∂L/∂x = g if x > 0 else g · (y + α)`` (``= g · α eˣ``, from the stored output).

    Args:
        alpha: the value ``−α`` the output tends to for large negative inputs (default ``1``).

    """

    def __init__(self, alpha: float = 1.0) -> None:
        super().__init__()
        self.alpha = alpha

    def config(self) -> dict[str, Any]:
        return {"alpha": self.alpha}

    def updateOutput(self, input: np.ndarray) -> np.ndarray:
        out = self.output = resized(self.output, input)
        np.minimum(input, 0.0, out=out)
        np.expm1(out, out=out)
        out *= self.alpha
        np.copyto(out, input, where=input > 0)
        return out

    def updateGradInput(self, input: np.ndarray, gradOutput: np.ndarray) -> np.ndarray:
        grad = self.gradInput = resized(self.gradInput, input)
        np.add(self.output, self.alpha, out=grad)
        grad *= gradOutput
        np.copyto(grad, gradOutput, where=input > 0)
        return grad

    def extra_repr(self) -> str:
        return f"alpha={self.alpha:g}"


class PReLU(Module):
    """Parametric ReLU ``y = x if x > 0 else w · x`` with a learned slope ``w`` (Torch's ``nn.PReLU``).

    Backward: ``∂L/∂x = g if x > 0 else w · g``;
    ``∂L/∂w += scale · Σ g · min(x, 0)``, summed over every element (shared slope)
    or over all but the channel dimension (one slope per channel).

    Args:
        n_output_plane: ``0`` (default) for one slope shared by all inputs, else the
            number of channels, each with its own slope.

    Shape: any shape with a shared slope; per channel, ``(C,)``, ``(C, H, W)``
    (channels in dim 0) or ``(N, C)``, ``(N, C, H, W)`` (channels in dim 1).

    Attributes:
        weight: ``(max(n_output_plane, 1),)``, initialised to 0.25 as in Torch.

    """

    def __init__(self, n_output_plane: int = 0) -> None:
        super().__init__()
        self.n_output_plane = n_output_plane
        self.register_parameter("weight", np.empty(max(n_output_plane, 1)))
        self.reset()

    def config(self) -> dict[str, Any]:
        return {"n_output_plane": self.n_output_plane}

    def reset(self, rng: int | np.random.Generator | None = None, *, stdv: float | None = None) -> PReLU:
        """Set every slope to 0.25 (Torch's initial value; nothing random, ``rng`` and ``stdv`` are unused)."""
        self.weight.fill(0.25)
        return self

    def checkInput(self, input: np.ndarray) -> None:
        super().checkInput(input)
        n = self.n_output_plane
        if n > 0 and (input.ndim not in FEATURE_DIM or input.shape[FEATURE_DIM[input.ndim]] != n):
            self.fail(f"expected input with {n} channels, of shape ({n},) or ({n}, H, W), or batched "
                      f"(batch, {n}) or (batch, {n}, H, W), got {input.shape}")

    def _slopes(self, input: np.ndarray) -> np.ndarray:
        """The weight shaped to broadcast against ``input`` along the channel dimension."""
        if self.n_output_plane == 0:
            return self.weight.reshape(())  # one slope, for any input (a 0-d one included)
        shape = [1] * input.ndim
        shape[FEATURE_DIM[input.ndim]] = self.n_output_plane
        return self.weight.reshape(shape)

    def updateOutput(self, input: np.ndarray) -> np.ndarray:
        out = self.output = resized(self.output, input)
        np.multiply(input, self._slopes(input), out=out)
        np.copyto(out, input, where=input > 0)
        return out

    def updateGradInput(self, input: np.ndarray, gradOutput: np.ndarray) -> np.ndarray:
        grad = self.gradInput = resized(self.gradInput, input)
        np.multiply(gradOutput, self._slopes(input), out=grad)
        np.copyto(grad, gradOutput, where=input > 0)
        return grad

    def accGradParameters(self, input: np.ndarray, gradOutput: np.ndarray, scale: float = 1.0) -> None:
        contribution = np.minimum(input, 0.0)
        contribution *= gradOutput
        if self.n_output_plane == 0:
            self.gradWeight += scale * contribution.sum()
        else:
            axis = FEATURE_DIM[input.ndim]
            self.gradWeight += scale * contribution.sum(axis=tuple(d for d in range(input.ndim) if d != axis))

    def extra_repr(self) -> str:
        return str(self.n_output_plane) if self.n_output_plane else ""


class SoftPlus(Module):
    """``y = log(1 + e^{βx}) / β``, and ``y = x`` where ``βx > threshold`` (Torch's ``nn.SoftPlus``).

    Backward: ``∂L/∂x = g · σ(βx)``, and ``g`` where ``βx > threshold``.

    Args:
        beta: the sharpness ``β`` (default ``1``).
        threshold: above it (in ``βx``) the function is taken as linear (default ``20``).

    """

    def __init__(self, beta: float = 1.0, threshold: float = 20.0) -> None:
        super().__init__()
        self.beta, self.threshold = beta, threshold

    def config(self) -> dict[str, Any]:
        return {"beta": self.beta, "threshold": self.threshold}

    def updateOutput(self, input: np.ndarray) -> np.ndarray:
        out = self.output = resized(self.output, input)
        np.multiply(input, self.beta, out=out)
        linear = out > self.threshold
        np.logaddexp(0.0, out, out=out)
        out /= self.beta
        np.copyto(out, input, where=linear)
        return out

    def updateGradInput(self, input: np.ndarray, gradOutput: np.ndarray) -> np.ndarray:
        grad = self.gradInput = resized(self.gradInput, input)
        np.multiply(input, 0.5 * self.beta, out=grad)
        linear = grad > 0.5 * self.threshold
        np.tanh(grad, out=grad)
        grad += 1.0
        grad *= 0.5
        grad *= gradOutput
        np.copyto(grad, gradOutput, where=linear)
        return grad

    def extra_repr(self) -> str:
        return f"beta={self.beta:g}, threshold={self.threshold:g}"


class SoftSign(Module):
    """``y = x / (1 + |x|)``.

    Backward: ``∂L/∂x = g / (1 + |x|)²``.
    """

    def updateOutput(self, input: np.ndarray) -> np.ndarray:
        out = self.output = resized(self.output, input)
        np.abs(input, out=out)
        out += 1.0
        return np.divide(input, out, out=out)

    def updateGradInput(self, input: np.ndarray, gradOutput: np.ndarray) -> np.ndarray:
        grad = self.gradInput = resized(self.gradInput, input)
        np.abs(input, out=grad)
        grad += 1.0
        np.square(grad, out=grad)
        return np.divide(gradOutput, grad, out=grad)


class HardTanh(Module):
    """``y = min(max(x, min_value), max_value)`` (Torch's ``nn.HardTanh``).

    Backward: ``∂L/∂x = g · 1[min_value < x < max_value]`` (zero at and beyond the bounds).

    Args:
        min_value: the lower bound (default ``-1``).
        max_value: the upper bound (default ``1``); must exceed ``min_value``.

    """

    def __init__(self, min_value: float = -1.0, max_value: float = 1.0) -> None:
        super().__init__()
        self.min_value, self.max_value = min_value, max_value
        if not min_value < max_value:
            self.fail(f"max_value must be greater than min_value, got {min_value:g} and {max_value:g}")

    def config(self) -> dict[str, Any]:
        return {"min_value": self.min_value, "max_value": self.max_value}

    def updateOutput(self, input: np.ndarray) -> np.ndarray:
        self.output = resized(self.output, input)
        return np.clip(input, self.min_value, self.max_value, out=self.output)

    def updateGradInput(self, input: np.ndarray, gradOutput: np.ndarray) -> np.ndarray:
        self.gradInput = resized(self.gradInput, input)
        inside = (input > self.min_value) & (input < self.max_value)
        return np.multiply(gradOutput, inside, out=self.gradInput)

    def extra_repr(self) -> str:
        return f"{self.min_value:g}, {self.max_value:g}"


class LogSigmoid(Module):
    """``y = log σ(x) = −log(1 + e⁻ˣ)``, computed as ``−logaddexp(0, −x)`` (finite for any ``x``).

    Backward: ``∂L/∂x = g · (1 − σ(x)) = g · (−expm1(y))``, from the stored output
    (accurate also where ``σ(x)`` rounds to 1).
    """

    def updateOutput(self, input: np.ndarray) -> np.ndarray:
        out = self.output = resized(self.output, input)
        np.negative(input, out=out)
        np.logaddexp(0.0, out, out=out)
        return np.negative(out, out=out)

    def updateGradInput(self, input: np.ndarray, gradOutput: np.ndarray) -> np.ndarray:
        grad = self.gradInput = resized(self.gradInput, input)
        np.expm1(self.output, out=grad)
        np.negative(grad, out=grad)
        grad *= gradOutput
        return grad


class _FeatureDimModule(Module):
    """Base of the modules that normalise along the feature dimension (see ``FEATURE_DIM``)."""

    _scratch = ("_ones",)

    def __init__(self) -> None:
        super().__init__()
        self._ones: np.ndarray | None = None  # (features, 1) ones, for _feature_sum

    def _feature_sum(self, array: np.ndarray) -> np.ndarray:
        """The sum along the feature dimension, kept as a size-1 axis. A ``(batch, features)`` array is
        multiplied by a kept column of ones instead: BLAS does that 2–6× faster than NumPy's sum along
        short rows (``(150, 3)``: 2 µs against 5).
        """
        if array.ndim != 2:
            return array.sum(axis=FEATURE_DIM[array.ndim], keepdims=True)
        self._ones = filled(self._ones, array, 1.0, (array.shape[1], 1))
        return array @ self._ones

    def checkInput(self, input: np.ndarray) -> None:
        super().checkInput(input)
        if input.ndim not in FEATURE_DIM:
            self.fail(f"expected a 1-D (features), 2-D (batch, features), 3-D (features, H, W) "
                      f"or 4-D (batch, features, H, W) input, got shape {input.shape}")


class SoftMax(_FeatureDimModule):
    """``yᵢ = exp(xᵢ) / Σⱼ exp(xⱼ)`` along the feature dimension (Torch's ``nn.SoftMax``).

    Computed as ``exp(x − max x) / Σ exp(x − max x)``, so large inputs do not overflow.

    Backward: ``∂L/∂x = y ⊙ (g − Σⱼ gⱼ yⱼ)``, from the stored output.

    Shape: ``(C,)``, ``(N, C)``, ``(C, H, W)`` or ``(N, C, H, W)``; output the same.
    """

    def updateOutput(self, input: np.ndarray) -> np.ndarray:
        axis = FEATURE_DIM[input.ndim]
        out = self.output = resized(self.output, input)
        np.subtract(input, input.max(axis=axis, keepdims=True), out=out)
        np.exp(out, out=out)
        out /= self._feature_sum(out)
        return out

    def updateGradInput(self, input: np.ndarray, gradOutput: np.ndarray) -> np.ndarray:
        grad = self.gradInput = resized(self.gradInput, input)
        np.multiply(gradOutput, self.output, out=grad)
        np.subtract(gradOutput, self._feature_sum(grad), out=grad)
        grad *= self.output
        return grad


class SoftMin(_FeatureDimModule):
    """``y = SoftMax(−x)`` along the feature dimension (Torch's ``nn.SoftMin``).

    Backward: ``∂L/∂x = −y ⊙ (g − Σⱼ gⱼ yⱼ)``, from the stored output.

    Shape: as ``SoftMax``.
    """

    def updateOutput(self, input: np.ndarray) -> np.ndarray:
        axis = FEATURE_DIM[input.ndim]
        out = self.output = resized(self.output, input)
        np.subtract(input.min(axis=axis, keepdims=True), input, out=out)
        np.exp(out, out=out)
        out /= self._feature_sum(out)
        return out

    def updateGradInput(self, input: np.ndarray, gradOutput: np.ndarray) -> np.ndarray:
        grad = self.gradInput = resized(self.gradInput, input)
        np.multiply(gradOutput, self.output, out=grad)
        np.subtract(self._feature_sum(grad), gradOutput, out=grad)
        grad *= self.output
        return grad


class LogSoftMax(_FeatureDimModule):
    """``yᵢ = xᵢ − log Σⱼ exp(xⱼ)`` along the feature dimension (Torch's ``nn.LogSoftMax``).

    Computed as ``x − m − log Σ exp(x − m)`` with ``m = max x``: finite for any finite input.

    Backward: ``∂L/∂x = g − exp(y) · Σⱼ gⱼ``, from the stored output.

    Shape: as ``SoftMax``.
    """

    def updateOutput(self, input: np.ndarray) -> np.ndarray:
        axis = FEATURE_DIM[input.ndim]
        out = self.output = resized(self.output, input)
        np.subtract(input, input.max(axis=axis, keepdims=True), out=out)
        out -= np.log(self._feature_sum(np.exp(out)))
        return out

    def updateGradInput(self, input: np.ndarray, gradOutput: np.ndarray) -> np.ndarray:
        grad = self.gradInput = resized(self.gradInput, input)
        np.exp(self.output, out=grad)
        grad *= self._feature_sum(gradOutput)
        np.subtract(gradOutput, grad, out=grad)
        return grad
