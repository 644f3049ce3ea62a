"""Per-feature temporal modules on sequences of frames ``(T, F)`` or ``(batch, T, F)``:
``TemporalSubSampling`` (a weighted window sum per feature) and ``TemporalRowConvolution`` (a depthwise 1-D
convolution, one kernel per feature row). Windows are strided views (``sliding_window_view``); backward
passes add back with one slice-add per kernel offset, never a loop over frames.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

from ember.nn.module import Module, resized
from ember.random import fill_uniform


class _Temporal(Module):
    """Shared geometry: ``kW``-frame windows moving by ``dW`` along the time axis of ``(…, T, F)``."""

    _time_axis = -2  # TemporalRowConvolution(feat_first=True) sets -1
    _scratch = ("_windows",)

    def _check_geometry(self, kW: int, dW: int) -> None:
        if kW < 1 or dW < 1:
            self.fail(f"kW and dW must be at least 1, got kW={kW}, dW={dW}")

    def _check_frames(self, input: np.ndarray, layout: str) -> None:
        frame = self.input_frame_size
        feature_axis = -1 if self._time_axis == -2 else -2
        if input.ndim not in (2, 3) or input.shape[feature_axis] != frame:
            self.fail(f"expected input of shape {layout.format(F=frame)} or (batch, {layout.format(F=frame)[1:-1]}), "
                      f"got {input.shape}")
        if input.shape[self._time_axis] < self.kW:
            self.fail(f"input has {input.shape[self._time_axis]} frames, fewer than the kernel width {self.kW}")

    def _n_frames(self, input: np.ndarray) -> int:
        return (input.shape[self._time_axis] - self.kW) // self.dW + 1

    def _feature_last(self, array: np.ndarray) -> np.ndarray:
        """A view with time last-but-one and features last."""
        return array if self._time_axis == -2 else np.swapaxes(array, -1, -2)

    def _window_view(self, input: np.ndarray) -> np.ndarray:
        """``(…, nOutputFrame, F, kW)``: the windows, features last-but-one."""
        x = self._feature_last(input)
        return sliding_window_view(x, self.kW, axis=-2)[..., ::self.dW, :, :]

    def _spread(self, input: np.ndarray, grad_windows: np.ndarray) -> np.ndarray:
        """``gradInput``: ``grad_windows`` ``(…, nOutputFrame, F, kW)`` added back onto the frames."""
        self.gradInput = resized(self.gradInput, input)
        grad = self._feature_last(self.gradInput)
        grad.fill(0)
        n_frames = grad_windows.shape[-3]
        for k in range(self.kW):
            grad[..., k:k + self.dW * (n_frames - 1) + 1:self.dW, :] += grad_windows[..., k]
        return self.gradInput


class TemporalSubSampling(_Temporal):
    """Weighted sum over ``kW`` consecutive frames, one weight per feature (Torch's ``nn.TemporalSubSampling``).

    ``y[t, c] = b[c] + W[c] · Σ_{k<kW} x[t·dW + k, c]`` — an average pooling (``W = 1/kW, b = 0``) with a
    learned scale and shift per feature. Backward: ``∂L/∂x[t·dW + k, c] += W[c] · g[t, c]``;
    ``∂L/∂W[c] += scale · Σ_t g[t, c] · Σ_k x[t·dW + k, c]``; ``∂L/∂b[c] += scale · Σ_t g[t, c]`` (also summed
    over the batch).

    Args:
        input_frame_size: features per frame ``F``; kW: frames per window; dW: stride (default 1).
        rng: generator for the initialisation (default: the library-wide one).

    Shape: ``(T, F)`` or ``(batch, T, F)`` → ``(nOutputFrame, F)`` or ``(batch, nOutputFrame, F)``,
    ``nOutputFrame = (T − kW) // dW + 1``.

    Attributes:
        weight, bias: ``(F,)`` each, uniform(−1/√kW, 1/√kW) as Torch.

    """

    _scratch = ("_sums",)

    def __init__(self, input_frame_size: int, kW: int, dW: int = 1,
                 rng: int | np.random.Generator | None = None) -> None:
        super().__init__()
        self.input_frame_size, self.kW, self.dW = input_frame_size, kW, dW
        self._check_geometry(kW, dW)
        self.register_parameter("weight", np.empty(input_frame_size))
        self.register_parameter("bias", np.empty(input_frame_size))
        self._sums: np.ndarray | None = None
        self.reset(rng)

    def config(self) -> dict[str, Any]:
        return {"input_frame_size": self.input_frame_size, "kW": self.kW, "dW": self.dW}

    def reset(self, rng: int | np.random.Generator | None = None, *, stdv: float | None = None) -> TemporalSubSampling:
        """Draw weight and bias from uniform(−stdv, stdv), stdv = 1/√kW unless given."""
        stdv = 1.0 / math.sqrt(self.kW) if stdv is None else stdv
        fill_uniform(stdv, self.weight, self.bias, rng=rng)
        return self

    def checkInput(self, input: np.ndarray) -> None:
        super().checkInput(input)
        self._check_frames(input, "(T, {F})")

    def updateOutput(self, input: np.ndarray) -> np.ndarray:
        shape = input.shape[:-2] + (self._n_frames(input), self.input_frame_size)
        sums = self._sums = resized(self._sums, input, shape)
        np.sum(self._window_view(input), axis=-1, out=sums)
        self.output = resized(self.output, sums)
        np.multiply(sums, self.weight, out=self.output)
        self.output += self.bias
        return self.output

    def updateGradInput(self, input: np.ndarray, gradOutput: np.ndarray) -> np.ndarray:
        share = (gradOutput * self.weight)[..., None]
        return self._spread(input, np.broadcast_to(share, share.shape[:-1] + (self.kW,)))

    def accGradParameters(self, input: np.ndarray, gradOutput: np.ndarray, scale: float = 1.0) -> None:
        g = gradOutput.reshape(-1, self.input_frame_size)
        self.gradWeight += scale * np.einsum("tc,tc->c", g, self._sums.reshape(g.shape))
        self.gradBias += scale * g.sum(axis=0)

    def extra_repr(self) -> str:
        return f"{self.input_frame_size}, {self.kW}" + (f", {self.dW}" if self.dW != 1 else "")


class TemporalRowConvolution(_Temporal):
    """Depthwise 1-D convolution: each feature row is convolved with its own ``kW``-tap kernel (Torch's
    ``nn.TemporalRowConvolution``, the row convolution of Deep Speech 2; PyTorch's ``Conv1d`` with
    ``groups = F``).

    ``y[t, c] = b[c] + Σ_{k<kW} W[c, 0, k] · x[t·dW + k, c]``. Backward: ``∂L/∂x[t·dW + k, c] += W[c, 0, k] ·
    g[t, c]``; ``∂L/∂W[c, 0, k] += scale · Σ_t g[t, c] · x[t·dW + k, c]``; ``∂L/∂b[c] += scale · Σ_t g[t, c]``
    (also summed over the batch).

    Args:
        input_frame_size: features per frame ``F``; kW: kernel width; dW: stride (default 1).
        feat_first: inputs are ``(F, T)`` / ``(batch, F, T)`` and so are outputs (Torch's ``featFirst``).
        bias: learn ``b`` (default ``True``; Torch's ``:noBias()``).
        rng: generator for the initialisation (default: the library-wide one).

    Shape: ``(T, F)`` or ``(batch, T, F)`` → ``(nOutputFrame, F)`` or ``(batch, nOutputFrame, F)``,
    ``nOutputFrame = (T − kW) // dW + 1`` (transposed with ``feat_first``).

    Attributes:
        weight: ``(F, 1, kW)``, bias ``(F,)``: uniform(−1/√(kW·F), 1/√(kW·F)) as Torch.

    """

    _scratch = ("_windows",)

    def __init__(self, input_frame_size: int, kW: int, dW: int = 1, feat_first: bool = False, bias: bool = True,
                 rng: int | np.random.Generator | None = None) -> None:
        super().__init__()
        self.input_frame_size, self.kW, self.dW, self.feat_first = input_frame_size, kW, dW, bool(feat_first)
        self._time_axis = -1 if self.feat_first else -2
        self._check_geometry(kW, dW)
        self.register_parameter("weight", np.empty((input_frame_size, 1, kW)))
        self.register_parameter("bias", np.empty(input_frame_size) if bias else None)
        self._windows: np.ndarray | None = None
        self.reset(rng)

    def config(self) -> dict[str, Any]:
        return {"input_frame_size": self.input_frame_size, "kW": self.kW, "dW": self.dW,
                "feat_first": self.feat_first, "bias": self.bias is not None}

    def reset(self, rng: int | np.random.Generator | None = None, *,
              stdv: float | None = None) -> TemporalRowConvolution:
        """Draw weight and bias from uniform(−stdv, stdv), stdv = 1/√(kW·input_frame_size) unless given."""
        stdv = 1.0 / math.sqrt(self.kW * self.input_frame_size) if stdv is None else stdv
        fill_uniform(stdv, self.weight, self.bias, rng=rng)
        return self

    def checkInput(self, input: np.ndarray) -> None:
        super().checkInput(input)
        self._check_frames(input, "({F}, T)" if self.feat_first else "(T, {F})")

    def updateOutput(self, input: np.ndarray) -> np.ndarray:
        view = self._window_view(input)  # (…, nOutputFrame, F, kW)
        windows = self._windows = resized(self._windows, input, view.shape)
        np.copyto(windows, view)
        shape = input.shape[:-2] + ((self.input_frame_size, view.shape[-3]) if self.feat_first
                                    else (view.shape[-3], self.input_frame_size))
        self.output = resized(self.output, input, shape)
        out = self._feature_last(self.output)
        np.einsum("...tck,ck->...tc", windows, self.weight[:, 0], out=out)
        if self.bias is not None:
            out += self.bias
        return self.output

    def updateGradInput(self, input: np.ndarray, gradOutput: np.ndarray) -> np.ndarray:
        g = self._feature_last(gradOutput)
        return self._spread(input, g[..., None] * self.weight[:, 0])

    def accGradParameters(self, input: np.ndarray, gradOutput: np.ndarray, scale: float = 1.0) -> None:
        g = self._feature_last(gradOutput)
        windows = self._windows.reshape((-1,) + self._windows.shape[-2:])
        self.gradWeight[:, 0] += scale * np.einsum("nc,nck->ck", g.reshape(-1, self.input_frame_size), windows)
        if self.bias is not None:
            self.gradBias += scale * g.reshape(-1, self.input_frame_size).sum(axis=0)

    def extra_repr(self) -> str:
        text = f"{self.input_frame_size}, {self.kW}" + (f", {self.dW}" if self.dW != 1 else "")
        text += ", feat_first" if self.feat_first else ""
        return text + (" without bias" if getattr(self, "bias", 0) is None else "")
