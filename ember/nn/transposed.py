"""Transposed ("full") convolution: Torch's ``nn.SpatialFullConvolution`` (PyTorch's ``ConvTranspose2d``),
and the engine it shares with ``SpatialFullConvolutionMap`` (:mod:`ember.nn.convmap`).

A transposed convolution is the backward pass of a convolution run forwards: each input pixel scatters its
planes, times the kernel, onto a ``kH × kW`` patch of the output, patches ``dH``/``dW`` apart. On
:mod:`ember.nn.conv`'s engine: one GEMM with the transposed weight matrix makes the patches, one slice-add per
kernel offset (``fold``) lays them down; the backward pass unfolds ``gradOutput`` (one copy) and multiplies
by the weight matrix (one GEMM), and the weight gradient is one more GEMM.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from ember.blas import add_product
from ember.errors import InputError
from ember.nn.conv import fold, padded_planes, unfolded
from ember.nn.dilatedconv import check_at_least
from ember.nn.module import Module, resized
from ember.random import get_rng


class TransposedConvolution(Module):
    """Base of the transposed convolutions with a dense ``(C, O·kH·kW)`` weight matrix.

    A subclass sets ``n_input_plane``, ``n_output_plane``, ``kW``, ``kH``, ``dW``, ``dH``, ``padW``,
    ``padH``, ``adjW``, ``adjH``, the parameters ``weight``/``bias`` (``bias`` may be ``None``), and gives
    ``_weight_matrix()`` and ``_acc_weight_matrix(a, b, scale)`` (add ``scale · a @ b`` to its weight's
    gradient). With ``_table_input`` an input may also be ``[x, like]``: the output then takes ``like``'s
    height and width where the stride allows (Torch's ``{convInput, sizeTensor}``). With ``_extra_planes``
    an input may have more planes than ``n_input_plane``: they are not read and get a zero gradient.
    """

    _scratch = ("finput", "fgradInput", "_input_t", "_canvas", "_grad_padded", "_grad_input_t")
    _table_input = False
    _extra_planes = False

    def _init_buffers(self) -> None:
        for name in self._scratch:
            setattr(self, name, None)

    def _weight_matrix(self) -> np.ndarray:
        raise NotImplementedError

    def _acc_weight_matrix(self, a: np.ndarray, b: np.ndarray, scale: float) -> None:
        raise NotImplementedError

    def _split(self, input: Any) -> tuple[np.ndarray, int, int]:
        """The input array and the output adjustments ``(adjH, adjW)``, from a ``[x, like]`` table if given."""
        if type(input) is not list:
            return input, self.adjH, self.adjW
        x, like = input
        return (x, (like.shape[-2] + 2 * self.padH - self.kH) % self.dH,
                (like.shape[-1] + 2 * self.padW - self.kW) % self.dW)

    def _output_size(self, x: np.ndarray, adj_h: int, adj_w: int) -> tuple[int, int]:
        return ((x.shape[-2] - 1) * self.dH - 2 * self.padH + self.kH + adj_h,
                (x.shape[-1] - 1) * self.dW - 2 * self.padW + self.kW + adj_w)

    def checkInput(self, input: Any) -> None:
        if type(input) is list and self._table_input:
            if len(input) != 2 or not all(isinstance(item, np.ndarray) for item in input) or input[1].ndim < 2:
                self.fail("expected an array or a table [input, like] of two arrays, 'like' at least 2-D, "
                          f"got {[getattr(item, 'shape', type(item).__name__) for item in input]}")
        x = input[0] if type(input) is list and self._table_input else input
        super().checkInput(x)
        planes = self.n_input_plane
        if x.ndim not in (3, 4) or x.shape[-3] < planes or (x.shape[-3] > planes and not self._extra_planes):
            more = " (or more planes)" if self._extra_planes else ""
            self.fail(f"expected input of shape ({planes}, H, W) or (batch, {planes}, H, W){more}, got {x.shape}")
        out_h, out_w = self._output_size(x, *self._split(input)[1:])
        if out_h < 1 or out_w < 1:
            self.fail(f"input {x.shape[-2]}x{x.shape[-1]} is too small for the padding: output {out_h}x{out_w}")

    def _grad_columns(self, gradOutput: np.ndarray, h: int, w: int) -> np.ndarray:
        """``gradOutput``'s (padded) windows as ``(O·kH·kW, h·w·batch)``, copied into ``fgradInput``."""
        g = gradOutput if gradOutput.ndim == 4 else gradOutput[None]
        padded = self._grad_padded = padded_planes(g, self.padH, self.padW, self._grad_padded)
        cols = self.fgradInput = resized(self.fgradInput, g, (self.n_output_plane, self.kH, self.kW, h, w, len(g)))
        np.copyto(cols, unfolded(padded, self.kH, self.kW, self.dH, self.dW, h, w))
        return cols.reshape(-1, h * w * len(g))

    def updateOutput(self, input: Any) -> np.ndarray:
        array, adj_h, adj_w = self._split(input)
        x = array if array.ndim == 4 else array[None]
        x = x[:, :self.n_input_plane]
        n, planes, h, w = x.shape
        out_h, out_w = self._output_size(x, adj_h, adj_w)
        x_t = self._input_t = resized(self._input_t, x, (planes, h, w, n))
        np.copyto(x_t, x.transpose(1, 2, 3, 0))
        cols = self.finput = resized(self.finput, x, (self.n_output_plane, self.kH, self.kW, h, w, n))
        np.matmul(self._weight_matrix().T, x_t.reshape(planes, -1), out=cols.reshape(-1, h * w * n))
        canvas_shape = (self.n_output_plane, out_h + 2 * self.padH, out_w + 2 * self.padW, n)
        canvas = self._canvas = fold(cols, resized(self._canvas, x, canvas_shape), self.dH, self.dW)
        self.output = resized(self.output, x, array.shape[:-3] + (self.n_output_plane, out_h, out_w))
        out = self.output.reshape((n, self.n_output_plane, out_h, out_w))
        interior = canvas[:, self.padH:self.padH + out_h, self.padW:self.padW + out_w].transpose(3, 0, 1, 2)
        if self.bias is None:
            np.copyto(out, interior)
        else:
            np.add(interior, self.bias[:, None, None], out=out)
        return self.output

    def updateGradInput(self, input: Any, gradOutput: np.ndarray) -> Any:
        if self.gradInput is None:  # switched off, as Torch's `gradInput = nil`
            return None
        array = input[0] if type(input) is list else input
        h, w = array.shape[-2:]
        g_cols = self._grad_columns(gradOutput, h, w)
        grad_t = self._grad_input_t = resized(self._grad_input_t, array, self._input_t.shape)
        np.matmul(self._weight_matrix(), g_cols, out=grad_t.reshape(self.n_input_plane, -1))
        previous = self.gradInput if type(self.gradInput) is not list else self.gradInput[0] if self.gradInput else None
        grad = resized(previous, array)
        grad4 = grad.reshape((grad_t.shape[-1],) + array.shape[-3:])
        np.copyto(grad4[:, :self.n_input_plane], grad_t.transpose(3, 0, 1, 2))
        grad4[:, self.n_input_plane:] = 0
        if type(input) is list:  # Torch: the size tensor gets a zero gradient
            zeros = self.gradInput[1] if type(self.gradInput) is list and self.gradInput else None
            if type(zeros) is not np.ndarray or zeros.shape != input[1].shape or zeros.dtype != input[1].dtype:
                zeros = np.zeros_like(input[1])
            self.gradInput = [grad, zeros]
        else:
            self.gradInput = grad
        return self.gradInput

    def accGradParameters(self, input: Any, gradOutput: np.ndarray, scale: float = 1.0) -> None:
        h, w = (input[0] if type(input) is list else input).shape[-2:]
        g_cols = self._grad_columns(gradOutput, h, w)
        self._acc_weight_matrix(self._input_t.reshape(self.n_input_plane, -1), g_cols.T, scale)
        if self.bias is not None:
            g = gradOutput if gradOutput.ndim == 4 else gradOutput[None]
            self.gradBias += scale * g.sum(axis=(0, 2, 3))


class SpatialFullConvolution(TransposedConvolution):
    """2-D transposed ("full", "fractionally strided", "de-") convolution (Torch's ``nn.SpatialFullConvolution``,
    PyTorch's ``ConvTranspose2d`` with ``output_padding = (adjH, adjW)``).

    ``ỹ[n, o, i·dH + u, j·dW + v] += Σ_c W[c, o, u, v] · x[n, c, i, j]`` over input pixels ``(i, j)`` and
    kernel offsets ``(u, v)``, then ``y = ỹ`` cropped by ``padH`` rows and ``padW`` columns on each side,
    ``+ b[o]``: the adjoint of ``SpatialConvolution`` with the same kernel, stride and padding.

    Backward: ``∂L/∂x[n, c, i, j] = Σ_{o, u, v} W[c, o, u, v] · g̃[n, o, i·dH + u, j·dW + v]``, ``g̃`` the
    output gradient zero-padded back; ``∂L/∂W[c, o, u, v] += scale · Σ_{n, i, j} x[n, c, i, j] ·
    g̃[n, o, i·dH + u, j·dW + v]``; ``∂L/∂b[o] += scale · Σ_{n, i, j} g[n, o, i, j]``.

    Args:
        n_input_plane, n_output_plane: input and output channels ``C`` and ``O``.
        kW, kH: kernel width and height.
        dW, dH: strides (default 1).
        padW, padH: rows/columns cropped from each side of the full output (default 0).
        adjW, adjH: extra columns/rows added on the right/bottom of the output (default 0; below the
            stride), to reach sizes a strided convolution maps onto the same input size.
        bias: whether to learn ``b`` (default ``True``; Torch's ``:noBias()``).
        rng: generator for the initialisation (default: the library-wide one).

    Shape: ``(C, H, W)`` or ``(batch, C, H, W)`` to ``(O, oH, oW)`` or ``(batch, O, oH, oW)``,
    ``oH = (H − 1)·dH − 2·padH + kH + adjH``, ``oW`` likewise. As in Torch, the input may also be a table
    ``[x, like]``: the output then has ``like``'s height and width (``adj`` computed as
    ``(like + 2·pad − k) mod d``, the constructor's ignored), and ``like`` gets a zero gradient.

    Attributes:
        weight: ``(C, O, kH, kW)`` (Torch's and PyTorch's layout) and ``bias`` ``(O,)``,
            uniform(−1/√(kW·kH·C), 1/√(kW·kH·C)) (Torch's).
        gradInput: set it to ``None`` to skip the input gradient, as in Torch.

    Example:
        >>> SpatialFullConvolution(4, 2, 3, 3, 2, 2, 1, 1, 1, 1).forward(np.ones((4, 5, 5))).shape
        (2, 10, 10)

    """

    _table_input = True

    def __init__(self, n_input_plane: int, n_output_plane: int, kW: int, kH: int, dW: int = 1, dH: int = 1,
                 padW: int = 0, padH: int = 0, adjW: int = 0, adjH: int = 0, bias: bool = True,
                 rng: int | np.random.Generator | None = None) -> None:
        super().__init__()
        self.n_input_plane, self.n_output_plane = n_input_plane, n_output_plane
        self.kW, self.kH, self.dW, self.dH, self.padW, self.padH = kW, kH, dW, dH, padW, padH
        self.adjW, self.adjH = adjW, adjH
        check_at_least(self, n_input_plane=(n_input_plane, 1), n_output_plane=(n_output_plane, 1), kW=(kW, 1),
                       kH=(kH, 1), dW=(dW, 1), dH=(dH, 1), padW=(padW, 0), padH=(padH, 0), adjW=(adjW, 0),
                       adjH=(adjH, 0))
        if adjW > dW - 1 or adjH > dH - 1:
            raise InputError(f"SpatialFullConvolution: adjW and adjH must be below the strides dW and dH, got "
                             f"adjW={adjW} for dW={dW} and adjH={adjH} for dH={dH}")
        self.register_parameter("weight", np.empty((n_input_plane, n_output_plane, kH, kW)))
        self.register_parameter("bias", np.empty(n_output_plane) if bias else None)
        self._init_buffers()
        self.reset(rng)

    def config(self) -> dict[str, Any]:
        return {"n_input_plane": self.n_input_plane, "n_output_plane": self.n_output_plane, "kW": self.kW,
                "kH": self.kH, "dW": self.dW, "dH": self.dH, "padW": self.padW, "padH": self.padH,
                "adjW": self.adjW, "adjH": self.adjH, "bias": self.bias is not None}

    def reset(self, rng: int | np.random.Generator | None = None, *,
              stdv: float | None = None) -> SpatialFullConvolution:
        """Draw weight and bias from uniform(−stdv, stdv), stdv = 1/√(kW·kH·n_input_plane) unless given."""
        rng = get_rng(rng)
        stdv = 1.0 / math.sqrt(self.kW * self.kH * self.n_input_plane) if stdv is None else stdv
        self.weight[...] = rng.uniform(-stdv, stdv, self.weight.shape)
        if self.bias is not None:
            self.bias[...] = rng.uniform(-stdv, stdv, self.bias.shape)
        return self

    def _weight_matrix(self) -> np.ndarray:
        return self.weight.reshape(self.n_input_plane, -1)

    def _acc_weight_matrix(self, a: np.ndarray, b: np.ndarray, scale: float) -> None:
        add_product(self.gradWeight, a, b, scale)

    def extra_repr(self) -> str:
        text = f"{self.n_input_plane} -> {self.n_output_plane}, {self.kW}x{self.kH}"
        if self.dW != 1 or self.dH != 1 or self.padW or self.padH or self.adjW or self.adjH:
            text += f", {self.dW},{self.dH}"
        if self.padW or self.padH or self.adjW or self.adjH:
            text += f", {self.padW},{self.padH}"
        if self.adjW or self.adjH:
            text += f", {self.adjW},{self.adjH}"
        return text + ("" if self.bias is not None else " without bias")
