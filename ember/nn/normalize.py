"""Normalisation without learned parameters: ``Normalize`` (rows to unit p-norm) and ``SpatialCrossMapLRN``
(local response normalisation across channels, AlexNet's).
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from ember.nn.module import Module, resized


class Normalize(Module):
    """Scales each row to unit ``p``-norm (Torch's ``nn.Normalize``): ``y = x / n`` with
    ``n = (Σ_j |x_j|^p + eps)^{1/p}``, or ``n = max_j |x_j| + eps`` for ``p = inf``.

    Backward: ``∂L/∂x_j = g_j / n − (Σ_i g_i x_i) · n^{−1−p} |x_j|^{p−1} sign(x_j)``; for ``p = inf`` the
    second term only at the largest ``|x_k|``: ``(Σ_i g_i x_i) sign(x_k) / n²``.

    Args:
        p: the norm, ``p > 0`` (``math.inf`` allowed).
        eps: keeps the norm of a zero row positive (default 1e-10).

    Shape: ``(n,)`` or ``(batch, n)``.

    """

    def __init__(self, p: float, eps: float = 1e-10) -> None:
        super().__init__()
        self.p, self.eps = p, eps
        if not p > 0:
            self.fail(f"p must be > 0, got {p}")

    def config(self) -> dict[str, Any]:
        return {"p": self.p, "eps": self.eps}

    def checkInput(self, input: np.ndarray) -> None:
        super().checkInput(input)
        if input.ndim not in (1, 2):
            self.fail(f"expected input of shape (n,) or (batch, n), got {input.shape}")

    def _norm(self, input: np.ndarray) -> np.ndarray:
        absolute = np.abs(input)
        if math.isinf(self.p):
            return absolute.max(axis=-1, keepdims=True) + self.eps
        return (np.power(absolute, self.p).sum(axis=-1, keepdims=True) + self.eps) ** (1.0 / self.p)

    def updateOutput(self, input: np.ndarray) -> np.ndarray:
        self.output = resized(self.output, input)
        return np.divide(input, self._norm(input), out=self.output)

    def updateGradInput(self, input: np.ndarray, gradOutput: np.ndarray) -> np.ndarray:
        norm = self._norm(input)
        dot = (gradOutput * input).sum(axis=-1, keepdims=True)
        grad = self.gradInput = resized(self.gradInput, input)
        if math.isinf(self.p):
            peak = np.abs(input).argmax(axis=-1)[..., None]
            dnorm = np.zeros_like(input)
            np.put_along_axis(dnorm, peak, np.sign(np.take_along_axis(input, peak, axis=-1)), axis=-1)
            np.multiply(dnorm, dot / (norm * norm), out=grad)
        else:
            np.multiply(np.power(np.abs(input), self.p - 1) * np.sign(input), dot * norm ** (-1.0 - self.p), out=grad)
        np.subtract(gradOutput / norm, grad, out=grad)
        return grad

    def extra_repr(self) -> str:
        return f"{self.p:g}"


def _window_sum(values: np.ndarray, axis: int, before: int, after: int) -> np.ndarray:
    """``s_c = Σ_{c' = c − before}^{c + after} values_{c'}`` along ``axis`` (out-of-range terms are 0).

    Each window is summed directly, one shifted slice per tap (as PyTorch's average pooling does), not as a
    difference of prefix sums: those turn one inf into ``inf − inf = NaN`` in every later window and lose the
    small terms that follow a large one.
    """
    n = values.shape[axis]
    total = values.copy()
    lead = (slice(None),) * axis
    for shift in range(max(-before, 1 - n), min(after, n - 1) + 1):
        if shift > 0:  # s_c += values_{c + shift}
            total[lead + (slice(0, n - shift),)] += values[lead + (slice(shift, n),)]
        elif shift < 0:
            total[lead + (slice(-shift, n),)] += values[lead + (slice(0, n + shift),)]
    return total


class SpatialCrossMapLRN(Module):
    """Local response normalisation across channels (Torch's ``nn.SpatialCrossMapLRN``, PyTorch's
    ``LocalResponseNorm``): ``y_c = x_c · s_c^{−β}`` with ``s_c = k + (α / size) Σ_{c' ∈ W(c)} x_{c'}²`` at each
    pixel, ``W(c)`` the ``size`` channels from ``c − ⌊size/2⌋`` to ``c + ⌊(size − 1)/2⌋`` (PyTorch's window;
    Torch's is the same for odd ``size``).

    Backward: ``∂L/∂x_j = g_j s_j^{−β} − (2αβ / size) x_j Σ_{c: j ∈ W(c)} g_c x_c s_c^{−β−1}``.

    Args:
        size: the number of channels in a window; alpha, beta, k: as above (defaults 1e-4, 0.75, 1).

    Shape: ``(C, H, W)`` or ``(batch, C, H, W)``.

    """

    _scratch = ("_scale",)

    def __init__(self, size: int, alpha: float = 1e-4, beta: float = 0.75, k: float = 1.0) -> None:
        super().__init__()
        self.size, self.alpha, self.beta, self.k = size, alpha, beta, k
        if size < 1:
            self.fail(f"size must be at least 1, got {size}")
        self._scale: np.ndarray | None = None

    def config(self) -> dict[str, Any]:
        return {"size": self.size, "alpha": self.alpha, "beta": self.beta, "k": self.k}

    def checkInput(self, input: np.ndarray) -> None:
        super().checkInput(input)
        if input.ndim not in (3, 4):
            self.fail(f"expected input of shape (C, H, W) or (batch, C, H, W), got {input.shape}")

    def updateOutput(self, input: np.ndarray) -> np.ndarray:
        axis = input.ndim - 3
        sums = _window_sum(input * input, axis, self.size // 2, (self.size - 1) // 2)
        self._scale = self.k + (self.alpha / self.size) * sums
        self.output = resized(self.output, input)
        return np.multiply(input, self._scale ** -self.beta, out=self.output)

    def updateGradInput(self, input: np.ndarray, gradOutput: np.ndarray) -> np.ndarray:
        axis = input.ndim - 3
        scale = self._scale
        inner = gradOutput * input * scale ** (-self.beta - 1.0)
        back = _window_sum(inner, axis, (self.size - 1) // 2, self.size // 2)
        grad = self.gradInput = resized(self.gradInput, input)
        np.multiply(gradOutput, scale ** -self.beta, out=grad)
        grad -= (2.0 * self.alpha * self.beta / self.size) * input * back
        return grad

    def extra_repr(self) -> str:
        return f"{self.size}, alpha={self.alpha:g}, beta={self.beta:g}, k={self.k:g}"
