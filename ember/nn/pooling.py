"""Spatial pooling and padding on planes: max and average pooling, zero padding.

Inputs are ``(C, H, W)`` or ``(batch, C, H, W)``. Pooling windows of ``kH×kW``
move by ``dH, dW`` over the input padded by ``padH, padW`` on each side. The
output size is ``floor((H + 2·padH − kH) / dH) + 1`` (and likewise for the width),
or with ``ceil`` instead of ``floor`` after ``:ceil()`` (Torch's ceil mode), in
which case a last window that would start beyond the input and its left
padding is dropped, as Torch (and PyTorch) do. Each pass is one vectorised
NumPy operation per kernel offset ``(u, v)``: ``kH·kW`` slice operations, never a
loop over pixels.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from typing import Any

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

from ember.errors import InputError
from ember.nn.module import Module, filled, resized


def pooled_size(size: int, k: int, d: int, pad: int, ceil_mode: bool) -> int:
    """Number of ``k``-wide windows with stride ``d`` over ``size`` padded by ``pad`` (Torch's formula)."""
    span = size + 2 * pad - k
    count = (-(-span // d) if ceil_mode else span // d) + 1
    if ceil_mode and (count - 1) * d >= size + pad:
        count -= 1
    return count


class _SpatialPooling(Module):
    """Shared geometry of the pooling modules: arguments, checks, output size, padded input buffer."""

    _scratch = ("_padded", "_grad_padded")
    #: value of the padding around the input (``-inf`` for max pooling, ``0`` for averaging).
    _pad_value = 0.0

    def __init__(self, kW: int, kH: int, dW: int, dH: int, padW: int, padH: int, ceil_mode: bool) -> None:
        super().__init__()
        name = type(self).__name__
        for what, value, least in (("kW", kW, 1), ("kH", kH, 1), ("dW", dW, 1), ("dH", dH, 1),
                                   ("padW", padW, 0), ("padH", padH, 0)):
            if value < least:
                raise InputError(f"{name}: {what} must be at least {least}, got {value}")
        if 2 * padW > kW or 2 * padH > kH:
            raise InputError(f"{name}: padding ({padW},{padH}) must be at most half the kernel size ({kW}x{kH})")
        self.kW, self.kH, self.dW, self.dH, self.padW, self.padH = kW, kH, dW, dH, padW, padH
        self.ceil_mode = ceil_mode
        self._padded = self._grad_padded = None

    def config(self) -> dict[str, Any]:
        return {"kW": self.kW, "kH": self.kH, "dW": self.dW, "dH": self.dH, "padW": self.padW, "padH": self.padH,
                "ceil_mode": self.ceil_mode}

    def _configure(self, **settings: bool) -> _SpatialPooling:
        """Change settings after construction (``config()`` reports them, so ``ember.io`` saves them)."""
        for name, value in settings.items():
            setattr(self, name, value)
        self.recheck()
        return self

    def ceil(self) -> _SpatialPooling:
        """Round output sizes up (Torch's ``:ceil()``, ``ceil_mode=True``); returns ``self``."""
        return self._configure(ceil_mode=True)

    def floor(self) -> _SpatialPooling:
        """Round output sizes down, the default (Torch's ``:floor()``); returns ``self``."""
        return self._configure(ceil_mode=False)

    def checkInput(self, input: np.ndarray) -> None:
        super().checkInput(input)
        if input.ndim not in (3, 4):
            self.fail(f"expected input of shape (C, H, W) or (batch, C, H, W), got {input.shape}")
        height, width = input.shape[-2] + 2 * self.padH, input.shape[-1] + 2 * self.padW
        if height < self.kH or width < self.kW:
            self.fail(f"input {input.shape[-2]}x{input.shape[-1]} (padded {height}x{width}) is smaller than "
                      f"the kernel {self.kH}x{self.kW}")

    def _output_size(self, input: np.ndarray) -> tuple[int, int]:
        return (pooled_size(input.shape[-2], self.kH, self.dH, self.padH, self.ceil_mode),
                pooled_size(input.shape[-1], self.kW, self.dW, self.padW, self.ceil_mode))

    def _padded_shape(self, x: np.ndarray, out_h: int, out_w: int) -> tuple[int, ...]:
        """Shape of the padded input: the input after its left/top padding, extended to hold every window
        (a ceil-mode window may overhang the right/bottom padding).
        """
        h, w = x.shape[-2:]
        return x.shape[:-2] + (max((out_h - 1) * self.dH + self.kH, h + self.padH),
                               max((out_w - 1) * self.dW + self.kW, w + self.padW))

    def _pad(self, x: np.ndarray, out_h: int, out_w: int) -> np.ndarray:
        """``x`` padded with ``_pad_value`` so that every window fits, in a reused buffer."""
        shape = self._padded_shape(x, out_h, out_w)
        if shape == x.shape:
            return x
        self._padded = filled(self._padded, x, self._pad_value, shape)  # its border keeps the pad value
        h, w = x.shape[-2:]
        self._padded[..., self.padH:self.padH + h, self.padW:self.padW + w] = x
        return self._padded

    def _offsets(self, out_h: int, out_w: int) -> Iterator[tuple[int, tuple[slice, slice]]]:
        """``(u·kW + v, (rows, columns))`` for each kernel offset ``(u, v)``: the positions that offset covers
        in the padded input, one per window, as a strided slice.
        """
        for u in range(self.kH):
            rows = slice(u, u + self.dH * (out_h - 1) + 1, self.dH)
            for v in range(self.kW):
                yield u * self.kW + v, (rows, slice(v, v + self.dW * (out_w - 1) + 1, self.dW))

    def _zero_grad(self, input: np.ndarray, out_h: int, out_w: int, *, zero: bool = True) -> np.ndarray:
        """A zeroed gradient of the padded input (``gradInput`` itself when there is no padding); not zeroed
        with ``zero=False``, for a caller that writes every position.
        """
        self.gradInput = resized(self.gradInput, input)
        shape = self._padded_shape(input, out_h, out_w)
        grad = self.gradInput if shape == input.shape else resized(self._grad_padded, input, shape)
        self._grad_padded = None if grad is self.gradInput else grad
        if zero:
            grad.fill(0)
        return grad

    def _crop_grad(self, input: np.ndarray, grad: np.ndarray) -> np.ndarray:
        """``gradInput``: the padded gradient without its padding."""
        if grad is not self.gradInput:
            h, w = input.shape[-2:]
            self.gradInput[...] = grad[..., self.padH:self.padH + h, self.padW:self.padW + w]
        return self.gradInput

    def extra_repr(self) -> str:
        text = f"{self.kW}x{self.kH}, {self.dW},{self.dH}"
        if self.padW or self.padH:
            text += f", {self.padW},{self.padH}"
        return text + (", ceil" if self.ceil_mode else "")


class SpatialMaxPooling(_SpatialPooling):
    """Max over each ``kH×kW`` window (Torch's ``nn.SpatialMaxPooling``).

    ``y[…, i, j] = max_{u, v} x̃[…, i·dH + u, j·dW + v]``, ``x̃`` the input padded with ``−∞``.

    Backward: ``∂L/∂x`` is ``g[…, i, j]`` at the position of each window's maximum (the first one on ties,
    as Torch; a NaN, the last one; a window of −inf only, its first position inside the input, as PyTorch),
    summed where windows overlap, and zero elsewhere. The positions are kept in ``indices``
    (the flat offset ``u·kW + v`` of the maximum within its window). The forward copies the windows once
    into a contiguous ``(kH·kW, …, oH, oW)`` buffer (one strided copy), then keeps a running maximum and
    its offset over the ``kH·kW`` slices; the backward routes ``g`` with one masked product per offset,
    written straight into the input gradient when windows do not overlap.

    Args:
        kW, kH: window width and height.
        dW, dH: strides (default: the window size, i.e. non-overlapping windows).
        padW, padH: implicit ``−∞`` padding on each side, at most half the window (default 0).
        ceil_mode: round output sizes up (default ``False``; also ``.ceil()`` / ``.floor()``).

    Shape: input ``(C, H, W)`` or ``(batch, C, H, W)``; output ``(C, oH, oW)`` or ``(batch, C, oH, oW)`` (see
    the module docstring for ``oH``, ``oW``). Call ``.ceil()`` for Torch's ceil mode.

    Example:
        >>> SpatialMaxPooling(2, 2).forward(np.ones((6, 24, 24))).shape
        (6, 12, 12)

    """

    _scratch = ("_padded", "_grad_padded", "indices", "_mask", "_routed", "_windows", "_winner", "_running")
    _pad_value = -math.inf

    def __init__(self, kW: int, kH: int, dW: int | None = None, dH: int | None = None,
                 padW: int = 0, padH: int = 0, *, ceil_mode: bool = False) -> None:
        super().__init__(kW, kH, kW if dW is None else dW, kH if dH is None else dH, padW, padH, ceil_mode)
        self.indices = self._mask = self._routed = self._windows = self._winner = self._running = None

    def updateOutput(self, input: np.ndarray) -> np.ndarray:
        out_h, out_w = self._output_size(input)
        x = self._pad(input, out_h, out_w)
        shape = input.shape[:-2] + (out_h, out_w)
        out = self.output = resized(self.output, input, shape)
        count = self.kH * self.kW
        small = np.dtype(np.int8 if count <= 127 else np.int32)  # the running offsets: int8 ops are 5x faster
        running = self._running = resized(self._running, np.empty(0, small), shape)
        winner = self._winner = resized(self._winner, running, shape)
        mask = self._mask = resized(self._mask, np.empty(0, bool), shape)
        flags = mask.view(np.int8)  # the mask as 0/1 integers, for the products below
        windows = sliding_window_view(x, (self.kH, self.kW), axis=(-2, -1))
        windows = windows[..., :(out_h - 1) * self.dH + 1:self.dH, :(out_w - 1) * self.dW + 1:self.dW, :, :]
        columns = self._windows = resized(self._windows, x, (self.kH, self.kW) + shape)
        np.copyto(columns, np.moveaxis(windows, (-2, -1), (0, 1)))
        columns = columns.reshape((count,) + shape)
        np.copyto(out, columns[0])
        running.fill(0)
        for offset in range(1, count):
            np.greater(columns[offset], out, out=mask)  # strictly greater: the first maximum wins ties, as Torch
            np.maximum(out, columns[offset], out=out)  # (propagates NaN)
            np.multiply(flags, small.type(offset), out=winner)  # offsets grow: the larger is the latest winner
            np.maximum(running, winner, out=running)
        if np.isnan(out, out=mask).any():  # a NaN wins, the last one, as PyTorch (later ones are not greater)
            for offset in range(count):
                np.isnan(columns[offset], out=mask)
                np.multiply(flags, small.type(offset), out=winner)
                np.maximum(running, winner, out=running)
        if (self.padH or self.padW) and np.equal(out, -math.inf, out=mask).any():
            # a window of −inf only: PyTorch keeps its first tap inside the input, never the padding's
            first_row = np.maximum(self.padH - self.dH * np.arange(out_h), 0)[:, None]
            first_column = np.maximum(self.padW - self.dW * np.arange(out_w), 0)
            np.copyto(running, first_row * self.kW + first_column, where=mask, casting="unsafe")
        self.indices = resized(self.indices, np.empty(0, np.int32), shape)
        np.copyto(self.indices, running)
        return out

    def updateGradInput(self, input: np.ndarray, gradOutput: np.ndarray) -> np.ndarray:
        out_h, out_w = gradOutput.shape[-2:]
        disjoint = self.dW >= self.kW and self.dH >= self.kH  # each input position in at most one window
        height, width = self._padded_shape(input, out_h, out_w)[-2:]
        tiled = (self.dH, self.dW) == (self.kH, self.kW) and (out_h * self.kH, out_w * self.kW) == (height, width)
        grad = self._zero_grad(input, out_h, out_w, zero=not tiled)  # tiling windows write every position
        mask = self._mask
        routed = None if disjoint else resized(self._routed, gradOutput)
        self._routed = routed
        for offset, window in self._offsets(out_h, out_w):
            np.equal(self.indices, offset, out=mask)
            target = grad[(...,) + window]
            if disjoint:
                np.multiply(gradOutput, mask, out=target)
            else:
                target += np.multiply(gradOutput, mask, out=routed)
        return self._crop_grad(input, grad)


class SpatialAveragePooling(_SpatialPooling):
    """Mean over each ``kH×kW`` window (Torch's ``nn.SpatialAveragePooling``).

    ``y[…, i, j] = (1 / N_ij) Σ_{u, v} x̃[…, i·dH + u, j·dW + v]``, ``x̃`` the input zero-padded. With
    ``count_include_pad`` (Torch's default) ``N_ij`` counts the window's positions inside the padded
    input, zeros of the padding included (a ceil-mode window hanging over the padding counts only its
    part inside); without it, only the positions inside the input itself.

    Backward: ``∂L/∂x̃[…, i·dH + u, j·dW + v] += g[…, i, j] / N_ij``, then the padding is cropped off.

    Args:
        kW, kH: window width and height.
        dW, dH: strides (default 1, as Torch).
        padW, padH: zero padding on each side, at most half the window (default 0).
        ceil_mode: round output sizes up (default ``False``; also ``.ceil()`` / ``.floor()``).
        count_include_pad: whether padding zeros count in the divisor (default ``True``; Torch's
            ``:setCountIncludePad()`` / ``:setCountExcludePad()``).

    Shape: input ``(C, H, W)`` or ``(batch, C, H, W)``; output ``(C, oH, oW)`` or ``(batch, C, oH, oW)``.
    Call ``.ceil()`` for Torch's ceil mode.

    """

    _scratch = ("_padded", "_grad_padded", "_divisor", "_share")

    def __init__(self, kW: int, kH: int, dW: int = 1, dH: int = 1, padW: int = 0, padH: int = 0, *,
                 ceil_mode: bool = False, count_include_pad: bool = True) -> None:
        super().__init__(kW, kH, dW, dH, padW, padH, ceil_mode)
        self.count_include_pad = count_include_pad
        self._divisor = self._share = None

    def config(self) -> dict[str, Any]:
        return {**super().config(), "count_include_pad": self.count_include_pad}

    def setCountIncludePad(self) -> SpatialAveragePooling:
        """Count padding zeros in each window's divisor (the default); returns ``self``."""
        return self._configure(count_include_pad=True)

    def setCountExcludePad(self) -> SpatialAveragePooling:
        """Divide by the number of positions inside the input only; returns ``self``."""
        return self._configure(count_include_pad=False)

    def checkInput(self, input: np.ndarray) -> None:
        super().checkInput(input)
        out_h, out_w = self._output_size(input)
        h, w = input.shape[-2:]
        pad_h, pad_w = (self.padH, self.padW) if self.count_include_pad else (0, 0)

        def counts(n_out: int, d: int, k: int, pad: int, size: int, counted_pad: int) -> np.ndarray:
            start = np.arange(n_out) * d - pad
            return np.minimum(start + k, size + counted_pad) - np.maximum(start, -counted_pad)

        divisor = np.multiply.outer(counts(out_h, self.dH, self.kH, self.padH, h, pad_h),
                                    counts(out_w, self.dW, self.kW, self.padW, w, pad_w))
        self._divisor = divisor.astype(input.dtype)

    def updateOutput(self, input: np.ndarray) -> np.ndarray:
        out_h, out_w = self._output_size(input)
        x = self._pad(input, out_h, out_w)
        out = self.output = resized(self.output, input, input.shape[:-2] + (out_h, out_w))
        for offset, window in self._offsets(out_h, out_w):
            if offset == 0:
                np.copyto(out, x[(...,) + window])
            else:
                out += x[(...,) + window]
        out /= self._divisor
        return out

    def updateGradInput(self, input: np.ndarray, gradOutput: np.ndarray) -> np.ndarray:
        out_h, out_w = gradOutput.shape[-2:]
        share = self._share = resized(self._share, input, gradOutput.shape)
        np.divide(gradOutput, self._divisor, out=share)
        grad = self._zero_grad(input, out_h, out_w)
        for _, window in self._offsets(out_h, out_w):
            grad[(...,) + window] += share
        return self._crop_grad(input, grad)

    def extra_repr(self) -> str:
        return super().extra_repr() + ("" if self.count_include_pad else ", count_exclude_pad")


class SpatialZeroPadding(Module):
    """Pad planes with zeros, or crop them where a pad is negative (Torch's ``nn.SpatialZeroPadding``).

    ``y[…, t + i, l + j] = x[…, i, j]`` (positions outside ``y`` dropped), zeros elsewhere, for left, right,
    top and bottom pads ``l, r, t, b``; output size ``(H + t + b) × (W + l + r)``.

    Backward: ``∂L/∂x[…, i, j] = g[…, t + i, l + j]`` where that lies inside the output, else 0 (cropped).

    Args:
        pad_l: columns added on the left (negative: removed).
        pad_r, pad_t, pad_b: right, top, bottom (default: ``pad_l``, as Torch).

    Shape: input ``(C, H, W)`` or ``(batch, C, H, W)``; output ``(C, H + t + b, W + l + r)`` or batched.

    """

    def __init__(self, pad_l: int, pad_r: int | None = None, pad_t: int | None = None,
                 pad_b: int | None = None) -> None:
        super().__init__()
        self.pad_l = pad_l
        self.pad_r = pad_l if pad_r is None else pad_r
        self.pad_t = pad_l if pad_t is None else pad_t
        self.pad_b = pad_l if pad_b is None else pad_b

    def config(self) -> dict[str, Any]:
        return {"pad_l": self.pad_l, "pad_r": self.pad_r, "pad_t": self.pad_t, "pad_b": self.pad_b}

    def checkInput(self, input: np.ndarray) -> None:
        super().checkInput(input)
        if input.ndim not in (3, 4):
            self.fail(f"expected input of shape (C, H, W) or (batch, C, H, W), got {input.shape}")
        h, w = input.shape[-2:]
        if h + self.pad_t + self.pad_b < 1 or w + self.pad_l + self.pad_r < 1:
            self.fail(f"input {h}x{w} is too small: the output would be "
                      f"{h + self.pad_t + self.pad_b}x{w + self.pad_l + self.pad_r}")

    def _regions(self, input: np.ndarray) -> tuple[tuple[slice, slice], tuple[slice, slice]]:
        """The (rows, columns) of the output that receive the input, and the input part they receive."""

        def span(size: int, before: int, after: int) -> tuple[slice, slice]:
            # input position i lands at i + before, kept while 0 <= i + before < size + before + after
            start = max(-before, 0)
            stop = max(size + min(after, 0), start)
            return slice(start + before, stop + before), slice(start, stop)

        out_rows, in_rows = span(input.shape[-2], self.pad_t, self.pad_b)
        out_cols, in_cols = span(input.shape[-1], self.pad_l, self.pad_r)
        return (out_rows, out_cols), (in_rows, in_cols)

    def updateOutput(self, input: np.ndarray) -> np.ndarray:
        h, w = input.shape[-2:]
        shape = input.shape[:-2] + (h + self.pad_t + self.pad_b, w + self.pad_l + self.pad_r)
        out = self.output = resized(self.output, input, shape)
        (out_rows, out_cols), (in_rows, in_cols) = self._regions(input)
        out.fill(0)
        out[..., out_rows, out_cols] = input[..., in_rows, in_cols]
        return out

    def updateGradInput(self, input: np.ndarray, gradOutput: np.ndarray) -> np.ndarray:
        grad = self.gradInput = resized(self.gradInput, input)
        (out_rows, out_cols), (in_rows, in_cols) = self._regions(input)
        grad.fill(0)
        grad[..., in_rows, in_cols] = gradOutput[..., out_rows, out_cols]
        return grad

    def extra_repr(self) -> str:
        return f"{self.pad_l}, {self.pad_r}, {self.pad_t}, {self.pad_b}"
