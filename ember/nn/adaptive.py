"""Pooling to a given output size, whatever the input's (Torch's ``SpatialAdaptiveMaxPooling``,
``SpatialAdaptiveAveragePooling``), and LP pooling over windows (``SpatialLPPooling``) or across features
(``FeatureLPPooling``).

Adaptive bins: output row ``i`` of ``oH`` covers input rows ``⌊i·H/oH⌋`` to ``⌈(i + 1)·H/oH⌉ − 1`` (and
likewise for columns), as Torch and PyTorch. Averages come from an integral image (cumulative sums), maxima
from one gather of every bin padded to the largest bin size: no loop over bins.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

from ember.nn.module import Module, resized
from ember.nn.windows import _AveragePoolingND, argmax_last_nan


def bin_edges(size: int, out: int) -> tuple[np.ndarray, np.ndarray]:
    """The start and (exclusive) end of each of ``out`` adaptive bins over ``size``."""
    i = np.arange(out)
    return (i * size) // out, -((-(i + 1) * size) // out)


def _bin_sums(x: np.ndarray, out: int, axis: int) -> np.ndarray:
    """The sums of ``bin_edges``' bins along ``axis``, each bin summed directly (``np.add.reduceat`` over
    start/end pairs), not as differences of prefix sums: those spread one inf (``inf − inf = NaN``) to every
    later bin and lose small values after large ones.
    """
    starts, ends = bin_edges(x.shape[axis], out)
    pairs = np.stack([starts, ends], axis=1).ravel()[:-1]  # the last bin ends at the end: reduceat's last sum
    return np.take(np.add.reduceat(x, pairs, axis=axis), np.arange(0, 2 * out, 2), axis=axis)


class _Adaptive(Module):
    def __init__(self, owidth: int, oheight: int) -> None:
        super().__init__()
        self.owidth, self.oheight = owidth, oheight
        if owidth < 1 or oheight < 1:
            self.fail(f"output size must be at least 1x1, got {oheight}x{owidth}")

    def config(self) -> dict[str, Any]:
        return {"owidth": self.owidth, "oheight": self.oheight}

    def checkInput(self, input: np.ndarray) -> None:
        super().checkInput(input)
        if input.ndim not in (3, 4):
            self.fail(f"expected input of shape (C, H, W) or (batch, C, H, W), got {input.shape}")

    def extra_repr(self) -> str:
        return f"{self.owidth}x{self.oheight}"


class SpatialAdaptiveAveragePooling(_Adaptive):
    """Mean over adaptive bins giving an ``oheight×owidth`` output (Torch's ``nn.SpatialAdaptiveAveragePooling``,
    PyTorch's ``adaptive_avg_pool2d``).

    Backward: each output's gradient, divided by its bin's area, to every pixel of its bin. Each bin is summed
    directly, so a NaN or inf reaches only the outputs of its bins (as PyTorch).

    Args:
        owidth, oheight: the output size (Torch's order: width first).

    """

    def _bins(self, input: np.ndarray) -> tuple[np.ndarray, ...]:
        h0, h1 = bin_edges(input.shape[-2], self.oheight)
        w0, w1 = bin_edges(input.shape[-1], self.owidth)
        area = (h1 - h0)[:, None] * (w1 - w0)[None, :]
        return h0, h1, w0, w1, area

    def updateOutput(self, input: np.ndarray) -> np.ndarray:
        h0, h1, w0, w1, area = self._bins(input)
        if min(input.shape[-2:]) == 0:
            sums = np.zeros(input.shape[:-2] + area.shape, dtype=input.dtype)
        else:
            sums = _bin_sums(_bin_sums(input, self.oheight, -2), self.owidth, -1)
        self.output = resized(self.output, input, sums.shape)
        return np.divide(sums, area, out=self.output)

    def updateGradInput(self, input: np.ndarray, gradOutput: np.ndarray) -> np.ndarray:
        h0, h1, w0, w1, area = self._bins(input)
        share = gradOutput / area
        corners = np.zeros(input.shape[:-2] + (input.shape[-2] + 1, input.shape[-1] + 1), dtype=input.dtype)
        lead, plane = input.shape[:-2], (input.shape[-2] + 1) * (input.shape[-1] + 1)
        for rows, cols, sign in ((h0, w0, 1.0), (h1, w0, -1.0), (h0, w1, -1.0), (h1, w1, 1.0)):
            index = (Ellipsis, np.broadcast_to(rows[:, None], share.shape[-2:]),
                     np.broadcast_to(cols[None, :], share.shape[-2:]))
            flat = corners.reshape(lead + (plane,))  # (explicit sizes, not -1: an empty batch)
            positions = (index[1] * corners.shape[-1] + index[2]).ravel()
            np.add.at(flat, (Ellipsis, positions), sign * share.reshape(lead + (share.shape[-2] * share.shape[-1],)))
        self.gradInput = resized(self.gradInput, input)
        np.copyto(self.gradInput, corners.cumsum(axis=-2).cumsum(axis=-1)[..., :-1, :-1])
        return self.gradInput


class SpatialAdaptiveMaxPooling(_Adaptive):
    """Max over adaptive bins giving an ``oheight×owidth`` output (Torch's ``nn.SpatialAdaptiveMaxPooling``,
    PyTorch's ``adaptive_max_pool2d``). ``indices``: the flat position of each maximum in its channel's plane.

    Backward: each output's gradient to its bin's maximum (the first on ties).

    Args:
        owidth, oheight: the output size (Torch's order: width first).

    """

    _scratch = ("indices",)

    def _taps(self, size: int, out: int) -> np.ndarray:
        """``(out, longest bin)`` input indices of each bin, its last index repeated to fill the row."""
        start, end = bin_edges(size, out)
        longest = int((end - start).max())
        return np.minimum(start[:, None] + np.arange(longest)[None, :], end[:, None] - 1)

    def updateOutput(self, input: np.ndarray) -> np.ndarray:
        height, width = input.shape[-2:]
        rows, cols = self._taps(height, self.oheight), self._taps(width, self.owidth)
        positions = rows[:, None, :, None] * width + cols[None, :, None, :]  # (oH, oW, kh, kw)
        positions = positions.reshape(self.oheight, self.owidth, -1)
        flat = input.reshape(input.shape[:-2] + (height * width,))  # (not -1: an empty batch)
        values = flat[..., positions]
        tap = argmax_last_nan(values)
        self.indices = np.take_along_axis(np.broadcast_to(positions, values.shape), tap[..., None], axis=-1)[..., 0]
        self.output = resized(self.output, input, input.shape[:-2] + (self.oheight, self.owidth))
        np.copyto(self.output, np.take_along_axis(values, tap[..., None], axis=-1)[..., 0])
        return self.output

    def updateGradInput(self, input: np.ndarray, gradOutput: np.ndarray) -> np.ndarray:
        plane = input.shape[-2] * input.shape[-1]
        lead = int(np.prod(input.shape[:-2]))
        base = (np.arange(lead) * plane).reshape(input.shape[:-2] + (1, 1))
        sums = np.bincount((self.indices + base).ravel(), weights=gradOutput.ravel(), minlength=lead * plane)
        self.gradInput = resized(self.gradInput, input)
        np.copyto(self.gradInput, sums.reshape(input.shape))
        return self.gradInput


class SpatialLPPooling(_AveragePoolingND):
    """LP pooling ``y = (Σ_window x^p)^{1/p}`` over ``kH×kW`` windows moving by ``dH, dW`` (Torch's
    ``nn.SpatialLPPooling``, PyTorch's ``lp_pool2d``); ``p = 2`` is the Euclidean norm of each window.

    Backward: ``∂L/∂x = Σ`` over the windows containing ``x`` of ``g · y^{1−p} x^{p−1}``.

    Args:
        n_input_plane: the number of channels (checked); pnorm: ``p``; kW, kH: the window;
        dW, dH: the stride (default: the window).

    Shape: ``(C, H, W)`` or ``(batch, C, H, W)``; for odd ``p`` the input should be non-negative.

    """

    _names = ("H", "W")

    def __init__(self, n_input_plane: int, pnorm: float, kW: int, kH: int, dW: int | None = None,
                 dH: int | None = None) -> None:
        self.n_input_plane, self.pnorm = n_input_plane, pnorm
        super().__init__((kH, kW), (dH or kH, dW or kW), (0, 0), (1, 1))
        if not pnorm > 0:
            self.fail(f"pnorm must be > 0, got {pnorm}")

    def config(self) -> dict[str, Any]:
        return {"n_input_plane": self.n_input_plane, "pnorm": self.pnorm, "kW": self.k[1], "kH": self.k[0],
                "dW": self.d[1], "dH": self.d[0]}

    def checkInput(self, input: np.ndarray) -> None:
        super().checkInput(input)
        if input.shape[-3] != self.n_input_plane:
            self.fail(f"expected {self.n_input_plane} channels, got input of shape {input.shape}")

    def _divisor(self, input: np.ndarray, out: tuple[int, ...]) -> float:
        return 1.0

    def updateOutput(self, input: np.ndarray) -> np.ndarray:
        sums = super().updateOutput(np.power(input, self.pnorm))
        return np.power(sums, 1.0 / self.pnorm, out=self.output)

    def updateGradInput(self, input: np.ndarray, gradOutput: np.ndarray) -> np.ndarray:
        share = gradOutput * np.power(self.output, 1.0 - self.pnorm)
        grad = super().updateGradInput(input, share)
        grad *= np.power(input, self.pnorm - 1.0)
        return grad

    def extra_repr(self) -> str:
        return f"{self.n_input_plane}, p={self.pnorm:g}, " + super().extra_repr()


class FeatureLPPooling(Module):
    """LP pooling across the feature dimension (Torch's ``nn.FeatureLPPooling``): feature ``f`` of the output
    is ``(Σ_{i < width} x_{f·stride + i}^p)^{1/p}``, at every position of the other dimensions.

    Backward: ``∂L/∂x_j = Σ`` over the windows containing ``j`` of ``g · y^{1−p} x_j^{p−1}``.

    Args:
        width: the window (2 to 16, as Torch); stride: its step (1 to 4); power: ``p``;
        batch_mode: whether the first dimension is a batch (then the features are the second).

    Shape: ``(F, …)`` or, in batch mode, ``(batch, F, …)`` with up to two more dimensions; the feature
    dimension becomes ``(F − width) / stride + 1``. For odd ``p`` the input should be non-negative.

    """

    def __init__(self, width: int, stride: int, power: float, batch_mode: bool = False) -> None:
        super().__init__()
        self.width, self.stride, self.power, self.batch_mode = width, stride, power, batch_mode
        if not 2 <= width <= 16 or not 1 <= stride <= 4 or not power > 0:
            self.fail(f"expected width in 2..16, stride in 1..4 and power > 0, got {width}, {stride}, {power}")

    def config(self) -> dict[str, Any]:
        return {"width": self.width, "stride": self.stride, "power": self.power, "batch_mode": self.batch_mode}

    def _axis(self) -> int:
        return 1 if self.batch_mode else 0

    def checkInput(self, input: np.ndarray) -> None:
        super().checkInput(input)
        low = self._axis() + 1
        if not low <= input.ndim <= low + 2 or input.shape[self._axis()] < self.width:
            self.fail(f"expected {'(batch, F, …)' if self.batch_mode else '(F, …)'} with at most two more "
                      f"dimensions and F >= {self.width}, got {input.shape}")

    def _windows(self, values: np.ndarray) -> np.ndarray:
        moved = np.moveaxis(values, self._axis(), -1)
        return sliding_window_view(moved, self.width, axis=-1)[..., :: self.stride, :]

    def updateOutput(self, input: np.ndarray) -> np.ndarray:
        sums = self._windows(np.power(input, self.power)).sum(axis=-1)
        result = np.moveaxis(np.power(sums, 1.0 / self.power), -1, self._axis())
        self.output = resized(self.output, input, result.shape)
        np.copyto(self.output, result)
        return self.output

    def updateGradInput(self, input: np.ndarray, gradOutput: np.ndarray) -> np.ndarray:
        axis = self._axis()
        share = np.moveaxis(gradOutput * np.power(self.output, 1.0 - self.power), axis, -1)
        grad = np.zeros(np.moveaxis(input, axis, -1).shape, dtype=input.dtype)
        count = share.shape[-1]
        for i in range(self.width):
            grad[..., i: i + (count - 1) * self.stride + 1: self.stride] += share
        grad = np.moveaxis(grad, -1, axis) * np.power(input, self.power - 1.0)
        self.gradInput = resized(self.gradInput, input)
        np.copyto(self.gradInput, grad)
        return self.gradInput

    def extra_repr(self) -> str:
        return f"{self.width}, {self.stride}, p={self.power:g}" + (", batch" if self.batch_mode else "")
