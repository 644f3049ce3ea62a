"""Convolutions: ``SpatialConvolution`` on images, ``TemporalConvolution`` on sequences.

Both are computed as Torch does on the CPU, by *im2col* and a matrix product:
the input patches that each output position sees are copied side by side into a
column buffer (``finput``, via a strided sliding-window view, no Python loop over
positions), and the convolution becomes one matrix product (GEMM) with the
weight matrix.
The backward pass multiplies by the transposed weight and adds the patch
gradients back onto the input (*col2im*) with one vectorised slice-add per kernel
offset — a loop over the ``kH·kW`` (or ``kW``) offsets, never over pixels.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
from numpy.lib.stride_tricks import as_strided, sliding_window_view

from ember.blas import INNER_CHUNK, add_product
from ember.errors import InputError
from ember.nn.module import Module, filled, resized
from ember.random import fill_uniform

#: a stride-1 convolution computes on *wide* rows (see ``SpatialConvolution._wide_forward``) when the unused
#: columns, ``kW − 1`` of every padded row, are at most this fraction of it; measured at batch 64 (float32, one
#: thread): LeNet's first convolution (4 of 32) forward 1.17 → 0.44 ms, weight gradient 0.40 → 0.34 ms; its
#: second (4 of 14) is faster batch-last (weight gradient 0.48 ms against 0.75 ms wide).
WIDE_WASTE = 0.25


class SpatialConvolution(Module):
    """2-D convolution (cross-correlation, as every NN library) over planes (Torch's ``nn.SpatialConvolution``).

    ``y[n, o, i, j] = b[o] + Σ_{c, u, v} W[o, c, u, v] · x̃[n, c, i·dH + u, j·dW + v]``, where ``x̃`` is
    the input zero-padded by ``padH`` rows and ``padW`` columns on each side.

    Backward: ``∂L/∂x̃[n, c, i·dH + u, j·dW + v] += Σ_o W[o, c, u, v] · g[n, o, i, j]`` (then the padding is
    cropped off); ``∂L/∂W[o, c, u, v] += scale · Σ_{n, i, j} g[n, o, i, j] · x̃[n, c, i·dH + u, j·dW + v]``;
    ``∂L/∂b[o] += scale · Σ_{n, i, j} g[n, o, i, j]``.

    Implemented with im2col, batch-last: the forward copies the (padded) input once into ``(C, H, W, batch)``
    order and its patches into ``finput`` of shape ``(C·kH·kW, oH·oW·batch)``, then computes ``W₂ @ finput``
    with ``W₂`` the weight viewed as ``(O, C·kH·kW)`` — one GEMM. The backward computes ``W₂ᵀ @ g`` (one
    GEMM) and adds it back onto the input with one slice-add per kernel offset ``(u, v)`` (``kH·kW``
    vectorised additions, each over rows of ``batch`` contiguous values), and ``finput @ gᵀ`` for the
    weight gradient (one GEMM, in slices that stay in cache). Keeping the batch innermost makes every copy
    and addition run over long contiguous rows, whatever the image size. A stride-1 convolution on images
    wide enough for its kernel (``WIDE_WASTE``) computes its forward and weight gradient on *wide* rows in
    the batch's own layout instead (``_wide_forward``): no transposition, one GEMM per example (the input
    gradient stays batch-last).

    Args:
        n_input_plane: number of input channels ``C``.
        n_output_plane: number of output channels ``O``.
        kW, kH: kernel width and height.
        dW, dH: strides (default 1).
        padW, padH: zeros added on the left and right / top and bottom (default 0).
        bias: whether to learn the bias ``b`` (default ``True``; Torch's ``:noBias()``).
        rng: generator for the initialisation (default: the library-wide one).

    Shape: input ``(C, H, W)`` or ``(batch, C, H, W)``; output ``(O, oH, oW)`` or ``(batch, O, oH, oW)`` with
    ``oH = (H + 2·padH − kH) // dH + 1`` and ``oW = (W + 2·padW − kW) // dW + 1``.

    Attributes:
        weight: ``(O, C, kH, kW)``, initialised uniform(−1/√(kW·kH·C), 1/√(kW·kH·C)), as is ``bias`` ``(O,)``.
        gradInput: set it to ``None`` when nothing needs ``∂L/∂x`` (a first layer fed with data), as in
            Torch: backward then skips the input gradient and returns ``None``; parameter gradients still
            accumulate.

    Example:
        >>> SpatialConvolution(3, 8, 5, 5, padW=2, padH=2).forward(np.ones((2, 3, 28, 28))).shape
        (2, 8, 28, 28)

    """

    skips_gradInput = True  # parameter gradients need only the input and gradOutput

    _scratch = ("finput", "fgradInput", "_padded", "_grad_padded", "_output_t", "_grad_output_t",
                "_wide_padded", "_grad_wide", "_products", "_weight_bias")

    def __init__(self, n_input_plane: int, n_output_plane: int, kW: int, kH: int, dW: int = 1, dH: int = 1,
                 padW: int = 0, padH: int = 0, bias: bool = True, rng: int | np.random.Generator | None = None) -> None:
        super().__init__()
        for name, value, least in (("kW", kW, 1), ("kH", kH, 1), ("dW", dW, 1), ("dH", dH, 1),
                                   ("padW", padW, 0), ("padH", padH, 0)):
            if value < least:
                raise InputError(f"SpatialConvolution: {name} must be at least {least}, got {value}")
        self.n_input_plane, self.n_output_plane = n_input_plane, n_output_plane
        self.kW, self.kH, self.dW, self.dH, self.padW, self.padH = kW, kH, dW, dH, padW, padH
        self.register_parameter("weight", np.empty((n_output_plane, n_input_plane, kH, kW)))
        self.register_parameter("bias", np.empty(n_output_plane) if bias else None)
        for name in self._scratch:
            setattr(self, name, None)
        self.reset(rng)

    def config(self) -> dict[str, Any]:
        return {"n_input_plane": self.n_input_plane, "n_output_plane": self.n_output_plane, "kW": self.kW,
                "kH": self.kH, "dW": self.dW, "dH": self.dH, "padW": self.padW, "padH": self.padH,
                "bias": self.bias is not None}

    def reset(self, rng: int | np.random.Generator | None = None, *, stdv: float | None = None) -> SpatialConvolution:
        """Draw weight and bias from uniform(−stdv, stdv), stdv = 1/√(kW·kH·n_input_plane) unless given."""
        stdv = 1.0 / math.sqrt(self.kW * self.kH * self.n_input_plane) if stdv is None else stdv
        fill_uniform(stdv, self.weight, self.bias, rng=rng)
        return self

    def checkInput(self, input: np.ndarray) -> None:
        super().checkInput(input)
        if input.ndim not in (3, 4) or input.shape[-3] != self.n_input_plane:
            self.fail(f"expected input of shape ({self.n_input_plane}, H, W) or (batch, {self.n_input_plane}, H, W), "
                      f"got {input.shape}")
        height, width = input.shape[-2] + 2 * self.padH, input.shape[-1] + 2 * self.padW
        if height < self.kH or width < self.kW:
            self.fail(f"input {input.shape[-2]}x{input.shape[-1]} (padded {height}x{width}) is smaller than "
                      f"the kernel {self.kH}x{self.kW}")

    def _output_size(self, input: np.ndarray) -> tuple[int, int]:
        return ((input.shape[-2] + 2 * self.padH - self.kH) // self.dH + 1,
                (input.shape[-1] + 2 * self.padW - self.kW) // self.dW + 1)

    def _batch_last(self, gradOutput: np.ndarray) -> np.ndarray:
        """``gradOutput`` as ``(O, oH·oW·batch)``, in a reused buffer."""
        g = gradOutput if gradOutput.ndim == 4 else gradOutput[None]
        g_t = self._grad_output_t = resized(self._grad_output_t, g, g.shape[1:] + g.shape[:1])
        np.copyto(g_t, g.transpose(1, 2, 3, 0))
        return g_t.reshape(self.n_output_plane, -1)

    def updateOutput(self, input: np.ndarray) -> np.ndarray:
        x = input if input.ndim == 4 else input[None]
        if self.dW == 1 and self.dH == 1 and self.kW - 1 <= WIDE_WASTE * (x.shape[-1] + 2 * self.padW):
            out = self._wide_forward(x)
        else:
            out = self._batch_last_forward(x)
        self.output = resized(self.output, input, input.shape[:-3] + out.shape[1:])
        np.copyto(self.output.reshape(out.shape), out)
        return self.output

    def _wide_forward(self, x: np.ndarray) -> np.ndarray:
        """Stride 1: ``[W₂ b] @ finput`` per example on *wide* rows; returns the ``(N, O, oH, oW)`` result (a view).

        The input goes into a zero-padded buffer ``(N, C, H + 2·padH + 1, Wp)`` (``Wp = W + 2·padW``, one
        spare zero row); a kernel offset ``(u, v)`` then sees the contiguous run of ``oH·Wp`` values starting at
        ``u·Wp + v`` of each plane, which is output row ``i``, column ``j`` at ``i·Wp + j``: ``finput``
        ``(N, C·kH·kW [+ 1], oH·Wp)`` is one strided copy with contiguous rows, and the products land in the
        output's own layout, with ``Wp − oW`` unused columns per row. With a bias, ``finput`` has a last row of
        ones and the weight matrix the bias as its last column, so the GEMM adds the bias (and the weight
        gradient's GEMM sums ``g`` for the bias gradient).
        """
        n, c, h, w = x.shape
        height, width = h + 2 * self.padH, w + 2 * self.padW
        out_h, out_w = height - self.kH + 1, width - self.kW + 1
        span, n_cols = out_h * width, c * self.kH * self.kW
        rows = n_cols + (self.bias is not None)
        padded = self._wide_padded = filled(self._wide_padded, x, 0.0, (n, c, height + 1, width))  # borders stay zero
        np.copyto(padded[:, :, self.padH:self.padH + h, self.padW:self.padW + w], x)
        item, plane = padded.itemsize, (height + 1) * width
        runs = as_strided(padded, (n, c, self.kH, self.kW, span),
                          (c * plane * item, plane * item, width * item, item, item), writeable=False)
        cols = self.finput = resized(self.finput, x, (n, rows, span))
        np.copyto(cols[:, :n_cols].reshape(n, c, self.kH, self.kW, span), runs)
        weight = self.weight.reshape(self.n_output_plane, n_cols)
        if self.bias is not None:
            cols[:, n_cols].fill(1)
            weight = self._weight_bias = resized(self._weight_bias, x, (self.n_output_plane, rows))
            weight[:, :n_cols] = self.weight.reshape(self.n_output_plane, n_cols)
            weight[:, n_cols] = self.bias
        wide = self._output_t = resized(self._output_t, x, (n, self.n_output_plane, out_h, width))
        np.matmul(weight, cols, out=wide.reshape(n, self.n_output_plane, span))
        return wide[..., :out_w]

    def _batch_last_forward(self, x: np.ndarray) -> np.ndarray:
        """Strided: one GEMM ``W₂ @ finput`` over the batch-last columns; returns the ``(N, O, oH, oW)`` view."""
        n, c, h, w = x.shape
        out_h, out_w = self._output_size(x)
        shape = (c, h + 2 * self.padH, w + 2 * self.padW, n)
        padded = self._padded = filled(self._padded, x, 0.0, shape)  # its border stays zero
        np.copyto(padded[:, self.padH:self.padH + h, self.padW:self.padW + w], x.transpose(1, 2, 3, 0))
        windows = sliding_window_view(padded, (self.kH, self.kW), axis=(1, 2))  # (C, ., ., N, kH, kW)
        windows = windows[:, :(out_h - 1) * self.dH + 1:self.dH, :(out_w - 1) * self.dW + 1:self.dW]
        cols = self.finput = resized(self.finput, x, (c, self.kH, self.kW, out_h, out_w, n))
        np.copyto(cols, windows.transpose(0, 4, 5, 1, 2, 3))
        out_t = self._output_t = resized(self._output_t, x, (self.n_output_plane, out_h, out_w, n))
        np.matmul(self.weight.reshape(self.n_output_plane, -1), cols.reshape(c * self.kH * self.kW, -1),
                  out=out_t.reshape(self.n_output_plane, -1))
        if self.bias is not None:  # added here, along contiguous rows, before the transposing copy
            planes = out_t.reshape(self.n_output_plane, -1)
            np.add(planes, self.bias[:, None], out=planes)
        return out_t.transpose(3, 0, 1, 2)

    def updateGradInput(self, input: np.ndarray, gradOutput: np.ndarray) -> np.ndarray | None:
        if self.gradInput is None:  # switched off: a first layer fed with data (Torch's idiom, as Linear)
            return None
        x = input if input.ndim == 4 else input[None]
        n, c, h, w = x.shape
        out_h, out_w = gradOutput.shape[-2:]
        g_t = self._batch_last(gradOutput)
        grad_cols = self.fgradInput = resized(self.fgradInput, x, (c, self.kH, self.kW, out_h, out_w, n))
        np.matmul(self.weight.reshape(self.n_output_plane, -1).T, g_t, out=grad_cols.reshape(c * self.kH * self.kW, -1))
        grad = self._grad_padded = resized(self._grad_padded, x, (c, h + 2 * self.padH, w + 2 * self.padW, n))
        grad.fill(0)
        for u in range(self.kH):
            rows = slice(u, u + self.dH * (out_h - 1) + 1, self.dH)
            for v in range(self.kW):
                grad[:, rows, v:v + self.dW * (out_w - 1) + 1:self.dW] += grad_cols[:, u, v]
        self.gradInput = resized(self.gradInput, input)
        interior = grad[:, self.padH:self.padH + h, self.padW:self.padW + w]
        np.copyto(self.gradInput.reshape(x.shape), interior.transpose(3, 0, 1, 2))
        return self.gradInput

    def accGradParameters(self, input: np.ndarray, gradOutput: np.ndarray, scale: float = 1.0) -> None:
        n_cols = self.n_input_plane * self.kH * self.kW
        if self.finput.ndim == 3:  # the wide columns of a stride-1 forward
            self._wide_acc(gradOutput, n_cols, scale)
            return
        g_t = self._batch_last(gradOutput)
        cols = self.finput.reshape(n_cols, -1)
        products = self._products = resized(self._products, g_t, (n_cols, self.n_output_plane))
        np.matmul(cols[:, :INNER_CHUNK], g_t[:, :INNER_CHUNK].T, out=products)  # finput @ gᵀ: BLAS's faster side
        for start in range(INNER_CHUNK, cols.shape[1], INNER_CHUNK):  # in slices that stay in cache
            products += cols[:, start:start + INNER_CHUNK] @ g_t[:, start:start + INNER_CHUNK].T
        self.gradWeight += scale * products.T.reshape(self.gradWeight.shape)
        if self.bias is not None:
            self.gradBias += scale * g_t.sum(axis=1)

    def _wide_acc(self, gradOutput: np.ndarray, n_cols: int, scale: float) -> None:
        """``[∂L/∂W₂ ∂L/∂b]ᵀ = Σ_n finput[n] @ g[n]ᵀ`` on wide rows (``g`` widened with zeros in the unused
        columns; the bias gradient from ``finput``'s row of ones).
        """
        g = gradOutput if gradOutput.ndim == 4 else gradOutput[None]
        n, planes, out_h, out_w = g.shape
        cols = self.finput
        rows, span = cols.shape[1:]
        g_wide = self._grad_wide = filled(self._grad_wide, g, 0.0, (n, planes, out_h, span // out_h))
        np.copyto(g_wide[..., :out_w], g)  # the unused columns stay zero
        products = self._products = resized(self._products, g, (n, rows, planes))
        np.matmul(cols, g_wide.reshape(n, planes, span).transpose(0, 2, 1), out=products)
        total = products.sum(axis=0)
        self.gradWeight += scale * total[:n_cols].T.reshape(self.gradWeight.shape)
        if self.bias is not None:
            self.gradBias += scale * total[n_cols]

    def extra_repr(self) -> str:
        text = f"{self.n_input_plane} -> {self.n_output_plane}, {self.kW}x{self.kH}"
        if self.dW != 1 or self.dH != 1 or self.padW or self.padH:
            text += f", {self.dW},{self.dH}"
        if self.padW or self.padH:
            text += f", {self.padW},{self.padH}"
        return text + ("" if self.bias is not None else " without bias")


class TemporalConvolution(Module):
    """1-D convolution over a sequence of frames (Torch's ``nn.TemporalConvolution``).

    ``y[t, o] = b[o] + Σ_{k, c} W[o, k·F + c] · x[t·dW + k, c]`` for frame size ``F`` (``input_frame_size``):
    each output frame is a Linear map of ``kW`` consecutive input frames, concatenated.

    Backward: ``∂L/∂x[t·dW + k, c] += Σ_o W[o, k·F + c] · g[t, o]``;
    ``∂L/∂W[o, k·F + c] += scale · Σ_t g[t, o] · x[t·dW + k, c]``; ``∂L/∂b[o] += scale · Σ_t g[t, o]``
    (also summed over the batch). As in ``SpatialConvolution``, the windows are copied into ``finput``
    ``(…, nOutputFrame, kW·F)`` and multiplied by ``Wᵀ`` in one ``matmul``; the backward adds the
    window gradients back with one slice-add per kernel offset ``k``.

    Args:
        input_frame_size: size ``F`` of each input frame.
        output_frame_size: size ``O`` of each output frame.
        kW: kernel width (frames per window).
        dW: stride in frames (default 1).
        rng: generator for the initialisation (default: the library-wide one).

    Shape: input ``(nInputFrame, F)`` or ``(batch, nInputFrame, F)``; output ``(nOutputFrame, O)`` or
    ``(batch, nOutputFrame, O)`` with ``nOutputFrame = (nInputFrame − kW) // dW + 1``.

    Attributes:
        weight: ``(O, kW·F)`` (Torch's layout), initialised uniform(−1/√(kW·F), 1/√(kW·F)), as is ``bias``
        ``(O,)``.

    """

    skips_gradInput = True  # parameter gradients need only the input and gradOutput

    _scratch = ("finput", "fgradInput")

    def __init__(self, input_frame_size: int, output_frame_size: int, kW: int, dW: int = 1,
                 rng: int | np.random.Generator | None = None) -> None:
        super().__init__()
        if kW < 1 or dW < 1:
            raise InputError(f"TemporalConvolution: kW and dW must be at least 1, got kW={kW}, dW={dW}")
        self.input_frame_size, self.output_frame_size, self.kW, self.dW = input_frame_size, output_frame_size, kW, dW
        self.register_parameter("weight", np.empty((output_frame_size, kW * input_frame_size)))
        self.register_parameter("bias", np.empty(output_frame_size))
        self.finput = self.fgradInput = None
        self.reset(rng)

    def config(self) -> dict[str, Any]:
        return {"input_frame_size": self.input_frame_size, "output_frame_size": self.output_frame_size,
                "kW": self.kW, "dW": self.dW}

    def reset(self, rng: int | np.random.Generator | None = None, *, stdv: float | None = None) -> TemporalConvolution:
        """Draw weight and bias from uniform(−stdv, stdv), stdv = 1/√(kW·input_frame_size) unless given."""
        stdv = 1.0 / math.sqrt(self.kW * self.input_frame_size) if stdv is None else stdv
        fill_uniform(stdv, self.weight, self.bias, rng=rng)
        return self

    def checkInput(self, input: np.ndarray) -> None:
        super().checkInput(input)
        frame = self.input_frame_size
        if input.ndim not in (2, 3) or input.shape[-1] != frame:
            self.fail(f"expected input of shape (nInputFrame, {frame}) or (batch, nInputFrame, {frame}), "
                      f"got {input.shape}")
        if input.shape[-2] < self.kW:
            self.fail(f"input has {input.shape[-2]} frames, fewer than the kernel width {self.kW}")

    def updateOutput(self, input: np.ndarray) -> np.ndarray:
        n_frames = (input.shape[-2] - self.kW) // self.dW + 1
        windows = sliding_window_view(input, self.kW, axis=-2)[..., ::self.dW, :, :]
        shape = input.shape[:-2] + (n_frames, self.kW, self.input_frame_size)
        cols = self.finput = resized(self.finput, input, shape)
        np.copyto(cols, np.swapaxes(windows, -1, -2))
        self.output = resized(self.output, input, input.shape[:-2] + (n_frames, self.output_frame_size))
        rows = cols.reshape(shape[:-2] + (shape[-2] * shape[-1],))  # (not -1: an empty batch)
        np.matmul(rows, self.weight.T, out=self.output)
        self.output += self.bias
        return self.output

    def updateGradInput(self, input: np.ndarray, gradOutput: np.ndarray) -> np.ndarray:
        n_frames = gradOutput.shape[-2]
        grad_cols = self.fgradInput = resized(self.fgradInput, input, self.finput.shape)
        np.matmul(gradOutput, self.weight, out=grad_cols.reshape(gradOutput.shape[:-1] + (self.weight.shape[1],)))
        grad = self.gradInput = resized(self.gradInput, input)
        grad.fill(0)
        for k in range(self.kW):
            grad[..., k:k + self.dW * (n_frames - 1) + 1:self.dW, :] += grad_cols[..., k, :]
        return grad

    def accGradParameters(self, input: np.ndarray, gradOutput: np.ndarray, scale: float = 1.0) -> None:
        g = gradOutput.reshape(-1, self.output_frame_size)
        add_product(self.gradWeight, g.T, self.finput.reshape(g.shape[0], self.weight.shape[1]), scale)
        self.gradBias += scale * g.sum(axis=0)

    def extra_repr(self) -> str:
        return f"{self.input_frame_size} -> {self.output_frame_size}, {self.kW}" + (
            f", {self.dW}" if self.dW != 1 else "")

