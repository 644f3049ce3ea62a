"""Plane-by-plane convolutions: each output plane reads one input plane. Torch's
``nn.SpatialDepthWiseConvolution`` (``multiplier`` kernels per input plane) and ``nn.SpatialSubSampling``
(one trainable weight per plane times the sum over each window, LeNet-1's sub-sampling layer).

Both use the engine of :mod:`ember.nn.im2col` on batch-last planes and the geometry, parameters and checks of
:class:`ember.nn.convnd.ConvolutionBase`: the depth-wise convolution copies each plane's
windows into ``finput`` ``(C, kH·kW, oH·oW·batch)`` and does one batched GEMM (``C`` products of
``(multiplier, kH·kW)`` by ``(kH·kW, oH·oW·batch)``); the sub-sampling sums the windows of a strided view
(no copy). Their backward passes fold the window gradients back with one slice-add per kernel offset.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ember.nn.convnd import ConvolutionBase, Planar, check_at_least
from ember.nn.im2col import fold, interior, padded_copy, unfold, windows
from ember.nn.module import resized


def planes_batch_last(gradOutput: np.ndarray, shape: tuple[int, ...], buffer: np.ndarray | None) -> np.ndarray:
    """``gradOutput`` ``(batch, C·m, oH, oW)`` as ``shape`` ``(C, m, oH, oW, batch)``, in ``buffer`` when it fits."""
    g = gradOutput if gradOutput.ndim == 4 else gradOutput[None]
    g_t = resized(buffer, g, shape)
    np.copyto(g_t, g.reshape((len(g),) + shape[:-1]).transpose(1, 2, 3, 4, 0))
    return g_t


class SpatialDepthWiseConvolution(Planar, ConvolutionBase):
    """Depth-wise 2-D convolution (Torch's ``nn.SpatialDepthWiseConvolution``; PyTorch's ``Conv2d`` with
    ``groups = C`` and ``C·m`` output channels): ``m = n_output_plane`` kernels per input plane, each plane
    convolved on its own.

    ``y[n, c·m + k, i, j] = b[k, c] + Σ_{u, v} W[k, c, u, v] · x̃[n, c, i·dH + u, j·dW + v]``, ``x̃`` the
    input zero-padded by ``padH`` rows and ``padW`` columns on each side: output plane ``c·m + k`` is input
    plane ``c`` through kernel ``k`` (Torch's order: all ``m`` outputs of plane 0 first).

    Backward: ``∂L/∂x̃[n, c, i·dH + u, j·dW + v] += Σ_k W[k, c, u, v] · g[n, c·m + k, i, j]`` (padding
    cropped); ``∂L/∂W[k, c, u, v] += scale · Σ_{n, i, j} g[n, c·m + k, i, j] · x̃[n, c, i·dH + u, j·dW + v]``;
    ``∂L/∂b[k, c] += scale · Σ_{n, i, j} g[n, c·m + k, i, j]``.

    Args:
        n_input_plane: input channels ``C``.
        n_output_plane: kernels per input plane ``m`` (the output has ``C·m`` planes).
        kW, kH: kernel width and height.
        dW, dH: strides (default 1).
        padW: zeros added left and right (default 0); padH: top and bottom (default: ``padW``, as Torch).
        bias: whether to learn ``b`` (default ``True``; Torch's ``:noBias()``).
        rng: generator for the initialisation (default: the library-wide one).

    Shape: ``(C, H, W)`` or ``(batch, C, H, W)`` to ``(C·m, oH, oW)`` or ``(batch, C·m, oH, oW)``,
    ``oH = (H + 2·padH − kH) // dH + 1``, ``oW`` likewise.

    Attributes:
        weight: ``(m, C, kH, kW)`` and ``bias`` ``(m, C)`` (Torch's layouts; PyTorch's weight is
            ``weight.transpose(1, 0, 2, 3).reshape(C·m, 1, kH, kW)``), uniform(−1/√(kW·kH·C), 1/√(kW·kH·C)).
        gradInput: set it to ``None`` to skip the input gradient, as in Torch.

    Example:
        >>> SpatialDepthWiseConvolution(3, 2, 3, 3, padW=1).forward(np.ones((3, 8, 8))).shape
        (6, 8, 8)

    """

    _scratch = ("finput", "fgradInput", "_padded", "_grad_padded", "_output_t", "_grad_output_t")

    def __init__(self, n_input_plane: int, n_output_plane: int, kW: int, kH: int, dW: int = 1, dH: int = 1,
                 padW: int = 0, padH: int | None = None, bias: bool = True,
                 rng: int | np.random.Generator | None = None) -> None:
        padH = padW if padH is None else padH
        check_at_least(self, n_input_plane=(n_input_plane, 1), n_output_plane=(n_output_plane, 1), kW=(kW, 1),
                       kH=(kH, 1), dW=(dW, 1), dH=(dH, 1), padW=(padW, 0), padH=(padH, 0))
        super().__init__(n_input_plane, n_output_plane, (kH, kW), (dH, dW), (padH, padW), (1, 1),
                         (n_output_plane, n_input_plane, kH, kW), (n_output_plane, n_input_plane) if bias else None,
                         rng)

    def config(self) -> dict[str, Any]:
        return {"n_input_plane": self.n_input_plane, "n_output_plane": self.n_output_plane, "kW": self.kW,
                "kH": self.kH, "dW": self.dW, "dH": self.dH, "padW": self.padW, "padH": self.padH,
                "bias": self.bias is not None}

    def _kernels(self) -> np.ndarray:
        """The weight as ``C`` matrices ``(m, kH·kW)``: a ``(C, m, kH·kW)`` view."""
        return self.weight.reshape(self.n_output_plane, self.n_input_plane, -1).transpose(1, 0, 2)

    def updateOutput(self, input: np.ndarray) -> np.ndarray:
        x = self._batch(input)
        n, planes, m = len(x), self.n_input_plane, self.n_output_plane
        out_h, out_w = self._output_size(input)
        padded = self._padded = padded_copy(x, self.pad, self._padded)
        cols = self.finput = resized(self.finput, x, (planes, self.kH, self.kW, out_h, out_w, n))
        unfold(padded, self.k, self.d, self.dil, (out_h, out_w), cols)
        out_t = self._output_t = resized(self._output_t, x, (planes, m, out_h, out_w, n))
        np.matmul(self._kernels(), cols.reshape(planes, self.kH * self.kW, -1), out=out_t.reshape(planes, m, -1))
        self.output = resized(self.output, input, input.shape[:-3] + (planes * m, out_h, out_w))
        out = self.output.reshape((n, planes, m, out_h, out_w))
        if self.bias is None:
            np.copyto(out, out_t.transpose(4, 0, 1, 2, 3))
        else:
            np.add(out_t.transpose(4, 0, 1, 2, 3), self.bias.T[:, :, None, None], out=out)
        return self.output

    def updateGradInput(self, input: np.ndarray, gradOutput: np.ndarray) -> np.ndarray | None:
        if self.gradInput is None:
            return None
        x = self._batch(input)
        planes = x.shape[1]
        g_t = self._grad_output_t = planes_batch_last(gradOutput, self._output_t.shape, self._grad_output_t)
        grad_cols = self.fgradInput = resized(self.fgradInput, x, self.finput.shape)
        np.matmul(self._kernels().transpose(0, 2, 1), g_t.reshape(planes, self.n_output_plane, -1),
                  out=grad_cols.reshape(planes, self.kH * self.kW, -1))
        grad = self._grad_padded = fold(grad_cols, self.d, self.dil, resized(self._grad_padded, x, self._padded.shape))
        self.gradInput = self._set_grad_input(self.gradInput, input, grad[interior(self.pad, x.shape[2:])])
        return self.gradInput

    def accGradParameters(self, input: np.ndarray, gradOutput: np.ndarray, scale: float = 1.0) -> None:
        planes, m = self.n_input_plane, self.n_output_plane
        g_t = self._grad_output_t = planes_batch_last(gradOutput, self._output_t.shape, self._grad_output_t)
        g = g_t.reshape(planes, m, -1)
        cols = self.finput.reshape(planes, self.kH * self.kW, -1)
        grad = np.matmul(g, cols.transpose(0, 2, 1))  # (C, m, kH·kW)
        self.gradWeight += scale * grad.transpose(1, 0, 2).reshape(self.gradWeight.shape)
        if self.bias is not None:
            self.gradBias += scale * g.sum(axis=2).T

    def extra_repr(self) -> str:
        return self._stride_pad_repr() + ("" if self.bias is not None else " without bias")


class SpatialSubSampling(Planar, ConvolutionBase):
    """Trainable sub-sampling of each plane (Torch's ``nn.SpatialSubSampling``): the sum over each
    ``kH × kW`` window, times a weight per plane, plus a bias per plane.

    ``y[n, c, i, j] = b[c] + w[c] · Σ_{u, v} x[n, c, i·dH + u, j·dW + v]`` (PyTorch: a depth-wise
    ``conv2d`` whose kernel is ``w[c]`` everywhere).

    Backward: ``∂L/∂x[n, c, i·dH + u, j·dW + v] += w[c] · g[n, c, i, j]``;
    ``∂L/∂w[c] += scale · Σ_{n, i, j} g[n, c, i, j] · S[n, c, i, j]`` with ``S`` the window sums;
    ``∂L/∂b[c] += scale · Σ_{n, i, j} g[n, c, i, j]``.

    Args:
        n_input_plane: planes ``C`` (the output has as many).
        kW, kH: window width and height.
        dW, dH: strides (default 1).
        rng: generator for the initialisation (default: the library-wide one).

    Shape: ``(C, H, W)`` or ``(batch, C, H, W)`` to ``(C, oH, oW)`` or ``(batch, C, oH, oW)``,
    ``oH = (H − kH) // dH + 1``, ``oW = (W − kW) // dW + 1``.

    Attributes:
        weight, bias: ``(C,)`` each, uniform(−1/√(kW·kH), 1/√(kW·kH)) (Torch's).
        gradInput: set it to ``None`` to skip the input gradient, as in Torch.

    Example:
        >>> SpatialSubSampling(6, 2, 2, 2, 2).forward(np.ones((6, 28, 28))).shape
        (6, 14, 14)

    """

    _scratch = ("_sums", "_padded", "_grad_padded", "_grad_output_t")

    def __init__(self, n_input_plane: int, kW: int, kH: int, dW: int = 1, dH: int = 1,
                 rng: int | np.random.Generator | None = None) -> None:
        check_at_least(self, n_input_plane=(n_input_plane, 1), kW=(kW, 1), kH=(kH, 1), dW=(dW, 1), dH=(dH, 1))
        super().__init__(n_input_plane, n_input_plane, (kH, kW), (dH, dW), (0, 0), (1, 1), (n_input_plane,),
                         (n_input_plane,), rng)

    def config(self) -> dict[str, Any]:
        return {"n_input_plane": self.n_input_plane, "kW": self.kW, "kH": self.kH, "dW": self.dW, "dH": self.dH}

    def _fan_in(self) -> int:
        return self.kW * self.kH  # Torch's: one weight per plane

    def updateOutput(self, input: np.ndarray) -> np.ndarray:
        x = self._batch(input)
        n, planes = x.shape[:2]
        out_h, out_w = self._output_size(input)
        padded = self._padded = padded_copy(x, self.pad, self._padded)
        sums = self._sums = resized(self._sums, x, (planes, out_h, out_w, n))
        np.sum(windows(padded, self.k, self.d, self.dil, (out_h, out_w)), axis=(1, 2), out=sums)
        self.output = resized(self.output, input, input.shape[:-2] + (out_h, out_w))
        out = self.output.reshape((n, planes, out_h, out_w))
        np.multiply(sums.transpose(3, 0, 1, 2), self.weight[:, None, None], out=out)
        out += self.bias[:, None, None]
        return self.output

    def updateGradInput(self, input: np.ndarray, gradOutput: np.ndarray) -> np.ndarray | None:
        if self.gradInput is None:
            return None
        x = self._batch(input)
        g_t = self._grad_output_t = planes_batch_last(gradOutput, self._sums.shape[:1] + (1,) + self._sums.shape[1:],
                                                      self._grad_output_t)
        g_t = g_t[:, 0]
        g_t *= self.weight[:, None, None, None]
        spread = np.broadcast_to(g_t[:, None, None], (len(g_t), self.kH, self.kW) + g_t.shape[1:])
        grad = self._grad_padded = fold(spread, self.d, self.dil, resized(self._grad_padded, x, self._padded.shape))
        self.gradInput = self._set_grad_input(self.gradInput, input, grad)
        return self.gradInput

    def accGradParameters(self, input: np.ndarray, gradOutput: np.ndarray, scale: float = 1.0) -> None:
        g = gradOutput if gradOutput.ndim == 4 else gradOutput[None]
        self.gradWeight += scale * np.einsum("ncij,cijn->c", g, self._sums)
        self.gradBias += scale * g.sum(axis=(0, 2, 3))

    def extra_repr(self) -> str:
        text = f"{self.n_input_plane}, {self.kW}x{self.kH}"
        return text + (f", {self.dW},{self.dH}" if self.dW != 1 or self.dH != 1 else "")
