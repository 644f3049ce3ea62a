"""Dilated convolution (Torch's ``nn.SpatialDilatedConvolution``), and the im2col + GEMM convolution with a
dense weight matrix that it shares with ``SpatialConvolutionMap`` (:mod:`ember.nn.convmap`).

The engine is :mod:`ember.nn.conv`'s (``padded_planes``, ``unfolded``, ``fold``): the padded input is kept
batch-last, its (dilated) windows are copied side by side into ``finput`` ``(C·kH·kW, oH·oW·batch)``, and
the forward pass is one GEMM with the weight matrix ``(O, C·kH·kW)``; the backward pass is one GEMM with its
transpose followed by one slice-add per kernel offset, and one GEMM for the weight gradient.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from ember.blas import add_product
from ember.errors import InputError
from ember.nn.conv import fold, padded_planes, unfolded
from ember.nn.module import Module, resized
from ember.random import get_rng


def check_at_least(module: Module, **values: tuple[int, int]) -> None:
    """Refuse a constructor argument below its least value: ``name=(value, least)`` (an ``InputError``
    naming the class: the module is not built yet).
    """
    for name, (value, least) in values.items():
        if value < least:
            raise InputError(f"{type(module).__name__}: {name} must be at least {least}, got {value}")


class GemmConvolution(Module):
    """Base of the convolutions computed as one GEMM with a dense ``(O, C·kH·kW)`` weight matrix.

    A subclass sets ``n_input_plane``, ``n_output_plane``, ``kW``, ``kH``, ``dW``, ``dH``, ``padW``,
    ``padH``, ``dilationW``, ``dilationH`` and the parameters ``weight``/``bias`` (``bias`` may be ``None``),
    and gives ``_weight_matrix()`` and ``_acc_weight_matrix(a, b, scale)`` (add ``scale · a @ b``, the
    gradient of the weight matrix, to its own weight gradient).

    An input may have more planes than ``n_input_plane`` when ``_extra_planes`` is true (Torch's
    ``SpatialConvolutionMap``): the extra planes are not read and get a zero gradient.
    """

    _scratch = ("finput", "fgradInput", "_padded", "_grad_padded", "_output_t", "_grad_output_t")
    _extra_planes = False

    def _init_buffers(self) -> None:
        for name in self._scratch:
            setattr(self, name, None)

    def _weight_matrix(self) -> np.ndarray:
        raise NotImplementedError

    def _acc_weight_matrix(self, a: np.ndarray, b: np.ndarray, scale: float) -> None:
        raise NotImplementedError

    def _output_size(self, input: np.ndarray) -> tuple[int, int]:
        return ((input.shape[-2] + 2 * self.padH - self.dilationH * (self.kH - 1) - 1) // self.dH + 1,
                (input.shape[-1] + 2 * self.padW - self.dilationW * (self.kW - 1) - 1) // self.dW + 1)

    def checkInput(self, input: np.ndarray) -> None:
        super().checkInput(input)
        planes = self.n_input_plane
        if input.ndim not in (3, 4) or input.shape[-3] < planes or (
                input.shape[-3] > planes and not self._extra_planes):
            more = " (or more planes)" if self._extra_planes else ""
            self.fail(f"expected input of shape ({planes}, H, W) or (batch, {planes}, H, W){more}, "
                      f"got {input.shape}")
        out_h, out_w = self._output_size(input)
        if out_h < 1 or out_w < 1:
            self.fail(f"input {input.shape[-2]}x{input.shape[-1]} is too small: output {out_h}x{out_w}")

    def _batch_last(self, gradOutput: np.ndarray) -> np.ndarray:
        """``gradOutput`` as ``(O, oH·oW·batch)``, in a reused buffer."""
        g = gradOutput if gradOutput.ndim == 4 else gradOutput[None]
        g_t = self._grad_output_t = resized(self._grad_output_t, g, g.shape[1:] + g.shape[:1])
        np.copyto(g_t, g.transpose(1, 2, 3, 0))
        return g_t.reshape(self.n_output_plane, -1)

    def updateOutput(self, input: np.ndarray) -> np.ndarray:
        x = input if input.ndim == 4 else input[None]
        x = x[:, :self.n_input_plane]
        n, out_planes = x.shape[0], self.n_output_plane
        out_h, out_w = self._output_size(input)
        padded = self._padded = padded_planes(x, self.padH, self.padW, self._padded)
        cols = self.finput = resized(self.finput, x, (self.n_input_plane, self.kH, self.kW, out_h, out_w, n))
        np.copyto(cols, unfolded(padded, self.kH, self.kW, self.dH, self.dW, out_h, out_w,
                                 self.dilationH, self.dilationW))
        out_t = self._output_t = resized(self._output_t, x, (out_planes, out_h, out_w, n))
        np.matmul(self._weight_matrix(), cols.reshape(-1, out_h * out_w * n), out=out_t.reshape(out_planes, -1))
        self.output = resized(self.output, input, input.shape[:-3] + (out_planes, out_h, out_w))
        out = self.output.reshape((n, out_planes, out_h, out_w))
        if self.bias is None:
            np.copyto(out, out_t.transpose(3, 0, 1, 2))
        else:
            np.add(out_t.transpose(3, 0, 1, 2), self.bias[:, None, None], out=out)
        return self.output

    def updateGradInput(self, input: np.ndarray, gradOutput: np.ndarray) -> np.ndarray | None:
        if self.gradInput is None:  # switched off, as Torch's `gradInput = nil`
            return None
        x = input if input.ndim == 4 else input[None]
        h, w, planes = x.shape[2], x.shape[3], self.n_input_plane
        g_t = self._batch_last(gradOutput)
        grad_cols = self.fgradInput = resized(self.fgradInput, x, self.finput.shape)
        np.matmul(self._weight_matrix().T, g_t, out=grad_cols.reshape(-1, g_t.shape[1]))
        grad = self._grad_padded = resized(self._grad_padded, x, self._padded.shape)
        fold(grad_cols, grad, self.dH, self.dW, self.dilationH, self.dilationW)
        self.gradInput = resized(self.gradInput, input)
        grad_in = self.gradInput.reshape(x.shape)
        interior = grad[:, self.padH:self.padH + h, self.padW:self.padW + w]
        np.copyto(grad_in[:, :planes], interior.transpose(3, 0, 1, 2))
        grad_in[:, planes:] = 0
        return self.gradInput

    def accGradParameters(self, input: np.ndarray, gradOutput: np.ndarray, scale: float = 1.0) -> None:
        g_t = self._batch_last(gradOutput)
        n_cols = self.n_input_plane * self.kH * self.kW
        self._acc_weight_matrix(g_t, self.finput.reshape(n_cols, -1).T, scale)
        if self.bias is not None:
            self.gradBias += scale * g_t.sum(axis=1)


class SpatialDilatedConvolution(GemmConvolution):
    """2-D dilated (*atrous*) convolution (Torch's ``nn.SpatialDilatedConvolution``, PyTorch's ``Conv2d``
    with ``dilation``): the kernel taps are ``dilationH`` rows and ``dilationW`` columns apart.

    ``y[n, o, i, j] = b[o] + Σ_{c, u, v} W[o, c, u, v] · x̃[n, c, i·dH + u·dilationH, j·dW + v·dilationW]``,
    ``x̃`` the input zero-padded by ``padH`` rows and ``padW`` columns on each side; dilation 1 is
    ``SpatialConvolution``.

    Backward: ``∂L/∂x̃[n, c, i·dH + u·dilationH, j·dW + v·dilationW] += Σ_o W[o, c, u, v] · g[n, o, i, j]``
    (the padding cropped off); ``∂L/∂W[o, c, u, v] += scale · Σ_{n, i, j} g[n, o, i, j] · x̃[…]`` (same
    position); ``∂L/∂b[o] += scale · Σ_{n, i, j} g[n, o, i, j]``.

    Args:
        n_input_plane, n_output_plane: input and output channels ``C`` and ``O``.
        kW, kH: kernel width and height.
        dW, dH: strides (default 1).
        padW, padH: zeros added on each side (default 0).
        dilationW, dilationH: distance between kernel taps (default 1).
        bias: whether to learn ``b`` (default ``True``; Torch's ``:noBias()``).
        rng: generator for the initialisation (default: the library-wide one).

    Shape: ``(C, H, W)`` or ``(batch, C, H, W)`` to ``(O, oH, oW)`` or ``(batch, O, oH, oW)``,
    ``oH = (H + 2·padH − dilationH·(kH − 1) − 1) // dH + 1``, ``oW`` likewise.

    Attributes:
        weight: ``(O, C, kH, kW)`` and ``bias`` ``(O,)``, uniform(−1/√(kW·kH·C), 1/√(kW·kH·C)) (Torch's).
        gradInput: set it to ``None`` to skip the input gradient (a first layer), as in Torch.

    Example:
        >>> SpatialDilatedConvolution(3, 4, 3, 3, padW=2, padH=2, dilationW=2, dilationH=2).forward(
        ...     np.ones((3, 8, 8))).shape
        (4, 8, 8)

    """

    def __init__(self, n_input_plane: int, n_output_plane: int, kW: int, kH: int, dW: int = 1, dH: int = 1,
                 padW: int = 0, padH: int = 0, dilationW: int = 1, dilationH: int = 1, bias: bool = True,
                 rng: int | np.random.Generator | None = None) -> None:
        super().__init__()
        self.n_input_plane, self.n_output_plane = n_input_plane, n_output_plane
        self.kW, self.kH, self.dW, self.dH, self.padW, self.padH = kW, kH, dW, dH, padW, padH
        self.dilationW, self.dilationH = dilationW, dilationH
        check_at_least(self, n_input_plane=(n_input_plane, 1), n_output_plane=(n_output_plane, 1), kW=(kW, 1),
                       kH=(kH, 1), dW=(dW, 1), dH=(dH, 1), padW=(padW, 0), padH=(padH, 0),
                       dilationW=(dilationW, 1), dilationH=(dilationH, 1))
        self.register_parameter("weight", np.empty((n_output_plane, n_input_plane, kH, kW)))
        self.register_parameter("bias", np.empty(n_output_plane) if bias else None)
        self._init_buffers()
        self.reset(rng)

    def config(self) -> dict[str, Any]:
        return {"n_input_plane": self.n_input_plane, "n_output_plane": self.n_output_plane, "kW": self.kW,
                "kH": self.kH, "dW": self.dW, "dH": self.dH, "padW": self.padW, "padH": self.padH,
                "dilationW": self.dilationW, "dilationH": self.dilationH, "bias": self.bias is not None}

    def reset(self, rng: int | np.random.Generator | None = None, *,
              stdv: float | None = None) -> SpatialDilatedConvolution:
        """Draw weight and bias from uniform(−stdv, stdv), stdv = 1/√(kW·kH·n_input_plane) unless given."""
        rng = get_rng(rng)
        stdv = 1.0 / math.sqrt(self.kW * self.kH * self.n_input_plane) if stdv is None else stdv
        self.weight[...] = rng.uniform(-stdv, stdv, self.weight.shape)
        if self.bias is not None:
            self.bias[...] = rng.uniform(-stdv, stdv, self.bias.shape)
        return self

    def _weight_matrix(self) -> np.ndarray:
        return self.weight.reshape(self.n_output_plane, -1)

    def _acc_weight_matrix(self, a: np.ndarray, b: np.ndarray, scale: float) -> None:
        add_product(self.gradWeight, a, b, scale)

    def extra_repr(self) -> str:
        text = f"{self.n_input_plane} -> {self.n_output_plane}, {self.kW}x{self.kH}"
        if self.dW != 1 or self.dH != 1 or self.padW or self.padH:
            text += f", {self.dW},{self.dH}"
        if self.padW or self.padH:
            text += f", {self.padW},{self.padH}"
        text += f", {self.dilationW},{self.dilationH}"
        return text + ("" if self.bias is not None else " without bias")
