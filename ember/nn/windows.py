"""Window pooling over the last ``n`` dimensions (1 temporal, 2 spatial, 3 volumetric), shared by the
dilated, volumetric and temporal pooling modules: ``_MaxPoolingND`` and ``_AveragePoolingND``.

Windows of size ``k`` move by ``d`` over the input padded by ``pad`` on each side, their taps ``dil``
apart; ``out = ⌊(size + 2·pad − dil·(k − 1) − 1) / d⌋ + 1`` per dimension (or ``⌈…⌉`` in ceil mode,
dropping a last window that would start in the right padding, as Torch and PyTorch). The windows are
NumPy strided views of the padded input (``sliding_window_view``): one vectorised reduction per pass.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

from ember.nn.module import Module, resized


def window_count(size: int, k: int, d: int, pad: int, dil: int, ceil_mode: bool) -> int:
    """The number of windows along one dimension (Torch's and PyTorch's formula)."""
    span = size + 2 * pad - dil * (k - 1) - 1
    count = (-(-span // d) if ceil_mode else span // d) + 1
    if ceil_mode and (count - 1) * d >= size + pad:
        count -= 1
    return count


def windows(padded: np.ndarray, k: tuple[int, ...], d: tuple[int, ...], dil: tuple[int, ...],
            out: tuple[int, ...]) -> np.ndarray:
    """A view ``(…, o1, …, on, k1, …, kn)`` of the windows of ``padded`` over its last ``n`` dimensions."""
    n = len(k)
    span = tuple(di * (ki - 1) + 1 for ki, di in zip(k, dil))
    view = sliding_window_view(padded, span, axis=tuple(range(-n, 0)))
    lead = (slice(None),) * (padded.ndim - n)
    starts = tuple(slice(0, (o - 1) * s + 1, s) for o, s in zip(out, d))
    taps = tuple(slice(None, None, di) for di in dil)
    return view[lead + starts + taps]


class _WindowPooling(Module):
    """Shared arguments, checks and geometry: ``k, d, pad, dil`` are tuples in the order of the dimensions
    (e.g. ``(T, H, W)``), ``n_dims`` of them; an input has ``n_dims + 1`` (one example, channels first) or
    ``n_dims + 2`` dimensions (a batch).
    """

    _pad_value = 0.0
    _names = ("T", "H", "W")

    def __init__(self, k: tuple[int, ...], d: tuple[int, ...], pad: tuple[int, ...], dil: tuple[int, ...],
                 ceil_mode: bool = False) -> None:
        super().__init__()
        self.k, self.d, self.pad, self.dil, self.ceil_mode = k, d, pad, dil, ceil_mode
        for what, values, least in (("kernel size", k, 1), ("stride", d, 1), ("padding", pad, 0),
                                    ("dilation", dil, 1)):
            if min(values) < least:
                self.fail(f"{what} must be at least {least}, got {values}")
        if any(2 * p > ki for p, ki in zip(pad, k)):
            self.fail(f"padding {pad} must be at most half the kernel size {k}")

    @property
    def n_dims(self) -> int:
        return len(self.k)

    def ceil(self) -> _WindowPooling:
        """Round output sizes up (Torch's ``:ceil()``); returns ``self``."""
        self.ceil_mode = True
        self.recheck()
        return self

    def floor(self) -> _WindowPooling:
        """Round output sizes down, the default (Torch's ``:floor()``); returns ``self``."""
        self.ceil_mode = False
        self.recheck()
        return self

    def _dims_text(self) -> str:
        names = ", ".join(self._names[-self.n_dims:])
        return f"(C, {names}) or (batch, C, {names})"

    def checkInput(self, input: np.ndarray) -> None:
        super().checkInput(input)
        n = self.n_dims
        if input.ndim not in (n + 1, n + 2):
            self.fail(f"expected input of shape {self._dims_text()}, got {input.shape}")
        if min(self._out_shape(input)) < 1:
            self.fail(f"input {input.shape[-n:]} is too small for the kernel {self.k} (dilation {self.dil}, "
                      f"padding {self.pad})")

    def _out_shape(self, input: np.ndarray) -> tuple[int, ...]:
        return tuple(window_count(s, k, d, p, dl, self.ceil_mode)
                     for s, k, d, p, dl in zip(input.shape[-self.n_dims:], self.k, self.d, self.pad, self.dil))

    def _padded(self, input: np.ndarray, out: tuple[int, ...]) -> np.ndarray:
        """The input padded with ``_pad_value`` so that every window fits."""
        n = self.n_dims
        after = [max(0, (o - 1) * d + dl * (k - 1) + 1 - s - p)
                 for o, d, dl, k, s, p in zip(out, self.d, self.dil, self.k, input.shape[-n:], self.pad)]
        if not any(self.pad) and not any(after):
            return input
        widths = [(0, 0)] * (input.ndim - n) + [(p, a) for p, a in zip(self.pad, after)]
        return np.pad(input, widths, constant_values=self._pad_value)

    def extra_repr(self) -> str:
        def text(values: tuple[int, ...]) -> str:
            return "x".join(map(str, values))
        parts = [text(self.k), ",".join(map(str, self.d))]
        if any(self.pad):
            parts.append(",".join(map(str, self.pad)))
        if any(dl != 1 for dl in self.dil):
            parts.append("dilation " + ",".join(map(str, self.dil)))
        return ", ".join(parts) + (", ceil" if self.ceil_mode else "")


def argmax_last_nan(values: np.ndarray) -> np.ndarray:
    """The maximum's index along the last axis, the first on ties; a NaN wins, the last one (PyTorch's kernels)."""
    tap = values.argmax(axis=-1)
    if values.dtype.kind == "f":
        nan = np.isnan(values)
        tap = np.where(nan.any(axis=-1), values.shape[-1] - 1 - nan[..., ::-1].argmax(axis=-1), tap)
    return tap


class _MaxPoolingND(_WindowPooling):
    """Max over each window. Backward: the gradient of each output goes to its window's maximum (the first
    on ties), summed where windows overlap. ``indices`` holds, for each output, the flat position of its
    maximum in the (unpadded) input plane or volume of its channel, 0-based (Torch's ``indices``).
    """

    _pad_value = -np.inf
    _scratch = ("indices",)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.indices: np.ndarray | None = None

    def updateOutput(self, input: np.ndarray) -> np.ndarray:
        n = self.n_dims
        out = self._out_shape(input)
        view = windows(self._padded(input, out), self.k, self.d, self.dil, out)
        flat = view.reshape(view.shape[: input.ndim] + (math.prod(self.k),))  # (not -1: an empty batch)
        tap = argmax_last_nan(flat)
        if any(self.pad) or self.ceil_mode:
            tap = self._inside(tap, input, out)
        self.output = resized(self.output, input, input.shape[:-n] + out)
        np.copyto(self.output, np.take_along_axis(flat, tap[..., None], axis=-1)[..., 0])
        # the tap's position in the input: start · d + offset · dil − pad, per dimension, then flattened
        offsets = np.unravel_index(tap, self.k)
        position = np.zeros(tap.shape, dtype=np.int64)
        for axis in range(n):
            grid_shape = [1] * tap.ndim
            grid_shape[tap.ndim - n + axis] = out[axis]
            starts = (np.arange(out[axis]) * self.d[axis]).reshape(grid_shape)
            coordinate = starts + offsets[axis] * self.dil[axis] - self.pad[axis]
            position = position * input.shape[input.ndim - n + axis] + coordinate
        self.indices = position
        return self.output

    def _inside(self, tap: np.ndarray, input: np.ndarray, out: tuple[int, ...]) -> np.ndarray:
        """``tap``, with a padding tap (a window whose values are all −inf) moved to the window's first tap
        inside the input, as PyTorch's kernels, which never look at the padding, keep it.
        """
        n = self.n_dims
        padding = windows(self._padded(np.zeros(input.shape[-n:], dtype=input.dtype), out), self.k, self.d,
                          self.dil, out).reshape(out + (math.prod(self.k),)) != 0
        if not padding.any():
            return tap
        on_padding = np.take_along_axis(np.broadcast_to(padding, tap.shape + padding.shape[-1:]), tap[..., None],
                                        axis=-1)[..., 0]
        return np.where(on_padding, padding.argmin(axis=-1), tap)

    def updateGradInput(self, input: np.ndarray, gradOutput: np.ndarray) -> np.ndarray:
        n = self.n_dims
        plane = int(np.prod(input.shape[-n:]))
        lead = int(np.prod(input.shape[:-n]))
        base = (np.arange(lead) * plane).reshape(input.shape[:-n] + (1,) * n)
        sums = np.bincount((self.indices + base).ravel(), weights=gradOutput.ravel(), minlength=lead * plane)
        self.gradInput = resized(self.gradInput, input)
        np.copyto(self.gradInput, sums.reshape(input.shape))
        return self.gradInput


class _AveragePoolingND(_WindowPooling):
    """Mean over each window, dividing by ``k1·…·kn`` (the padding counts, Torch's default) or, with
    ``count_include_pad=False``, by the number of input elements in the window. Backward: each output's
    gradient, divided the same way, is spread over its window (one slice addition per kernel offset).
    """

    def __init__(self, *args: Any, count_include_pad: bool = True, **kwargs: Any) -> None:
        self.count_include_pad = count_include_pad
        super().__init__(*args, **kwargs)

    def _divisor(self, input: np.ndarray, out: tuple[int, ...]) -> Any:
        if self.count_include_pad:
            return float(np.prod(self.k))
        ones = np.ones(input.shape[-self.n_dims:], dtype=input.dtype)
        saved, self._pad_value = self._pad_value, 0.0
        counts = windows(self._padded(ones, out), self.k, self.d, self.dil, out)
        self._pad_value = saved
        return counts.sum(axis=tuple(range(-self.n_dims, 0)))

    def updateOutput(self, input: np.ndarray) -> np.ndarray:
        n = self.n_dims
        out = self._out_shape(input)
        view = windows(self._padded(input, out), self.k, self.d, self.dil, out)
        self.output = resized(self.output, input, input.shape[:-n] + out)
        np.sum(view, axis=tuple(range(-n, 0)), out=self.output)
        self.output /= self._divisor(input, out)
        return self.output

    def updateGradInput(self, input: np.ndarray, gradOutput: np.ndarray) -> np.ndarray:
        n = self.n_dims
        out = self._out_shape(input)
        share = gradOutput / self._divisor(input, out)
        grad = np.zeros(self._padded(input, out).shape, dtype=input.dtype)
        lead = (slice(None),) * (input.ndim - n)
        for offset in np.ndindex(*self.k):
            region = tuple(slice(u * dl, u * dl + (o - 1) * d + 1, d)
                           for u, dl, o, d in zip(offset, self.dil, out, self.d))
            grad[lead + region] += share
        crop = tuple(slice(p, p + s) for p, s in zip(self.pad, input.shape[-n:]))
        self.gradInput = resized(self.gradInput, input)
        np.copyto(self.gradInput, grad[lead + crop])
        return self.gradInput

    def extra_repr(self) -> str:
        return super().extra_repr() + ("" if self.count_include_pad else ", count_exclude_pad")
