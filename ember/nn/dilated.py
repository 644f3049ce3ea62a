"""Further spatial and temporal pooling: dilated max pooling (``SpatialDilatedMaxPooling``) and max pooling
over time (``TemporalMaxPooling``), on the window engine of ``windows.py``.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from ember.nn.module import Module, resized
from ember.nn.windows import _MaxPoolingND


class SpatialDilatedMaxPooling(_MaxPoolingND):
    """``SpatialMaxPooling`` whose window taps are ``dilationH, dilationW`` apart (Torch's
    ``nn.SpatialDilatedMaxPooling``, PyTorch's ``max_pool2d(dilation=…)``).

    ``y[…, i, j] = max_{u, v} x̃[…, i·dH + u·dilationH, j·dW + v·dilationW]``, ``x̃`` padded with ``−∞``.
    Backward: each output's gradient to its window's maximum (the first on ties), summed where windows
    overlap. ``indices``: the flat position of each maximum in its channel's ``H·W`` plane.

    Args:
        kW, kH: the window; dW, dH: the stride (default: the window); padW, padH: padding;
        dilationW, dilationH: the spacing of the taps (default 1). ``.ceil()`` rounds sizes up.

    Shape: ``(C, H, W)`` or ``(batch, C, H, W)``.

    """

    def __init__(self, kW: int, kH: int, dW: int | None = None, dH: int | None = None, padW: int = 0,
                 padH: int = 0, dilationW: int = 1, dilationH: int = 1, *, ceil_mode: bool = False) -> None:
        super().__init__((kH, kW), (dH or kH, dW or kW), (padH, padW), (dilationH, dilationW), ceil_mode)


    def config(self) -> dict[str, Any]:
        (kH, kW), (dH, dW), (padH, padW), (dilationH, dilationW) = self.k, self.d, self.pad, self.dil
        return {"kW": kW, "kH": kH, "dW": dW, "dH": dH, "padW": padW, "padH": padH, "dilationW": dilationW,
                "dilationH": dilationH, "ceil_mode": self.ceil_mode}

class TemporalMaxPooling(_MaxPoolingND):
    """Max over windows of ``kW`` frames moving by ``dW`` (Torch's ``nn.TemporalMaxPooling``).

    The input is a sequence of frames, ``(T, F)`` or ``(batch, T, F)`` as for ``TemporalConvolution``;
    each feature is pooled on its own: ``y[…, t, f] = max_{u < kW} x[…, t·dW + u, f]``.

    Backward: each output's gradient to its window's maximum (the first on ties). ``indices``: the frame
    of each maximum, ``(T_out, F)`` or ``(batch, T_out, F)``.

    Args:
        kW: the window length; dW: the stride (default ``kW``).

    """

    _names = ("T",)

    def __init__(self, kW: int, dW: int | None = None, *, ceil_mode: bool = False) -> None:
        super().__init__((kW,), (dW or kW,), (0,), (1,), ceil_mode)

    def config(self) -> dict[str, Any]:
        return {"kW": self.k[0], "dW": self.d[0], "ceil_mode": self.ceil_mode}

    def _dims_text(self) -> str:
        return "(T, F) or (batch, T, F)"

    def checkInput(self, input: np.ndarray) -> None:
        super().checkInput(np.swapaxes(input, -1, -2) if isinstance(input, np.ndarray) and input.ndim >= 2
                           else input)

    def updateOutput(self, input: np.ndarray) -> np.ndarray:
        out = super().updateOutput(np.swapaxes(input, -1, -2))
        self.output = np.ascontiguousarray(np.swapaxes(out, -1, -2))
        self.indices = np.swapaxes(self.indices, -1, -2)
        return self.output

    def updateGradInput(self, input: np.ndarray, gradOutput: np.ndarray) -> np.ndarray:
        self.indices = np.swapaxes(self.indices, -1, -2)
        grad = super().updateGradInput(np.swapaxes(input, -1, -2), np.swapaxes(gradOutput, -1, -2))
        self.indices = np.swapaxes(self.indices, -1, -2)
        self.gradInput = np.ascontiguousarray(np.swapaxes(grad, -1, -2))
        return self.gradInput

    def extra_repr(self) -> str:
        return f"{self.k[0]}, {self.d[0]}"


class TemporalDynamicKMaxPooling(Module):
    """Keeps the ``k`` largest values of every feature over time, in their temporal order (Torch's
    ``nn.TemporalDynamicKMaxPooling``; Kalchbrenner et al.'s dynamic k-max pooling), with
    ``k = max(min_k, ⌈factor · T⌉)``. NaN counts as the largest value (as in PyTorch's ``topk``); among equal
    values the earliest frames are kept.

    Backward: each output's gradient to the frame it was taken from. ``indices``: those frames, 0-based.

    Args:
        min_k: the smallest ``k``; the sequence must be at least this long.
        factor: the fraction of the sequence kept (default 0: always ``min_k``).

    Shape: ``(T, F)`` → ``(k, F)``, or ``(batch, T, F)`` → ``(batch, k, F)``.

    """

    _scratch = ("indices",)

    def __init__(self, min_k: int, factor: float = 0.0) -> None:
        super().__init__()
        self.min_k, self.factor = min_k, factor
        self.indices: np.ndarray | None = None

    def config(self) -> dict[str, Any]:
        return {"min_k": self.min_k, "factor": self.factor}

    def _k(self, input: np.ndarray) -> int:
        return max(self.min_k, math.ceil(self.factor * input.shape[-2]))

    def checkInput(self, input: np.ndarray) -> None:
        super().checkInput(input)
        if input.ndim not in (2, 3):
            self.fail(f"expected input of shape (T, F) or (batch, T, F), got {input.shape}")
        if input.shape[-2] < self._k(input):
            self.fail(f"sequence of length {input.shape[-2]} is shorter than k = {self._k(input)}")

    def updateOutput(self, input: np.ndarray) -> np.ndarray:
        k = self._k(input)
        order = np.argsort(-input, axis=-2, kind="stable")
        nan = np.isnan(input)
        if nan.any():  # NaN ranks above +inf (PyTorch's topk): move each column's NaNs from the end to the front
            shift = np.arange(input.shape[-2])[:, None] - nan.sum(axis=-2, keepdims=True)
            order = np.take_along_axis(order, shift % input.shape[-2], axis=-2)
        self.indices = np.sort(order[..., :k, :], axis=-2)
        self.output = resized(self.output, input, self.indices.shape)
        np.copyto(self.output, np.take_along_axis(input, self.indices, axis=-2))
        return self.output

    def updateGradInput(self, input: np.ndarray, gradOutput: np.ndarray) -> np.ndarray:
        grad = self.gradInput = resized(self.gradInput, input)
        grad.fill(0.0)
        np.put_along_axis(grad, self.indices, gradOutput, axis=-2)
        return grad

    def extra_repr(self) -> str:
        return f"{self.min_k}" + (f", {self.factor:g}" if self.factor else "")
