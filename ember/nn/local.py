"""Locally connected layer: Torch's ``nn.SpatialConvolutionLocal``, a convolution whose weights are not shared
across positions (each output pixel has its own kernel).

On the engine of :mod:`ember.nn.im2col` (geometry, parameters and initialisation from
:class:`ember.nn.convnd.ConvolutionBase`): the windows are copied position-major into ``finput``
``(oH·oW, C·kH·kW, batch)``, and the forward pass is one batched GEMM (``oH·oW`` products of the
``(O, C·kH·kW)`` kernel of a position by its ``(C·kH·kW, batch)`` windows). The backward pass is the
transposed batched GEMM and one slice-add per kernel offset; the weight gradient one batched GEMM.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ember.errors import InputError
from ember.nn.convnd import ConvolutionBase, Planar, check_at_least
from ember.nn.im2col import fold, interior, padded_copy, windows
from ember.nn.module import Module, resized


class SpatialConvolutionLocal(Planar, ConvolutionBase):
    """2-D locally connected layer (Torch's ``nn.SpatialConvolutionLocal``): a convolution without weight
    sharing, for inputs of one fixed size ``iH × iW``.

    ``y[n, o, i, j] = b[o, i, j] + Σ_{c, u, v} W[i, j, o, c, u, v] · x̃[n, c, i·dH + u, j·dW + v]``, ``x̃``
    the input zero-padded by ``padH`` rows and ``padW`` columns on each side.

    Backward: ``∂L/∂x̃[n, c, i·dH + u, j·dW + v] += Σ_o W[i, j, o, c, u, v] · g[n, o, i, j]`` (padding
    cropped); ``∂L/∂W[i, j, o, c, u, v] += scale · Σ_n g[n, o, i, j] · x̃[n, c, i·dH + u, j·dW + v]``;
    ``∂L/∂b[o, i, j] += scale · Σ_n g[n, o, i, j]``.

    Args:
        n_input_plane, n_output_plane: input and output channels ``C`` and ``O``.
        iW, iH: the input width and height (fixed: the weights depend on the position).
        kW, kH: kernel width and height.
        dW, dH: strides (default 1).
        padW: zeros added left and right (default 0); padH: top and bottom (default: ``padW``, as Torch).
        rng: generator for the initialisation (default: the library-wide one).

    Shape: ``(C, iH, iW)`` or ``(batch, C, iH, iW)`` to ``(O, oH, oW)`` or ``(batch, O, oH, oW)``,
    ``oH = (iH + 2·padH − kH) // dH + 1``, ``oW`` likewise.

    Attributes:
        weight: ``(oH, oW, O, C, kH, kW)`` and ``bias`` ``(O, oH, oW)`` (Torch's layouts),
            uniform(−1/√(kW·kH·C), 1/√(kW·kH·C)) (Torch's).
        gradInput: set it to ``None`` to skip the input gradient, as in Torch.

    Example:
        >>> SpatialConvolutionLocal(3, 4, 8, 8, 3, 3).forward(np.ones((2, 3, 8, 8))).shape
        (2, 4, 6, 6)

    """

    _scratch = ("finput", "fgradInput", "_padded", "_grad_padded", "_output_t", "_grad_output_t")

    def __init__(self, n_input_plane: int, n_output_plane: int, iW: int, iH: int, kW: int, kH: int, dW: int = 1,
                 dH: int = 1, padW: int = 0, padH: int | None = None,
                 rng: int | np.random.Generator | None = None) -> None:
        padH = padW if padH is None else padH
        check_at_least(self, n_input_plane=(n_input_plane, 1), n_output_plane=(n_output_plane, 1), kW=(kW, 1),
                       kH=(kH, 1), dW=(dW, 1), dH=(dH, 1), padW=(padW, 0), padH=(padH, 0))
        self.iW, self.iH = iW, iH
        self.oW, self.oH = (iW + 2 * padW - kW) // dW + 1, (iH + 2 * padH - kH) // dH + 1
        if self.oW < 1 or self.oH < 1:
            raise InputError(f"SpatialConvolutionLocal: input {iH}x{iW} (padded {iH + 2 * padH}x{iW + 2 * padW}) is "
                             f"smaller than the kernel {kH}x{kW}")
        super().__init__(n_input_plane, n_output_plane, (kH, kW), (dH, dW), (padH, padW), (1, 1),
                         (self.oH, self.oW, n_output_plane, n_input_plane, kH, kW), (n_output_plane, self.oH, self.oW),
                         rng)

    def config(self) -> dict[str, Any]:
        return {"n_input_plane": self.n_input_plane, "n_output_plane": self.n_output_plane, "iW": self.iW,
                "iH": self.iH, "kW": self.kW, "kH": self.kH, "dW": self.dW, "dH": self.dH, "padW": self.padW,
                "padH": self.padH}

    def checkInput(self, input: np.ndarray) -> None:
        Module.checkInput(self, input)
        expected = (self.n_input_plane, self.iH, self.iW)
        if input.ndim not in (3, 4) or input.shape[-3:] != expected:
            self.fail(f"expected input of shape {expected} or (batch, {', '.join(map(str, expected))}), "
                      f"got {input.shape}")

    def _matrices(self, array: np.ndarray) -> np.ndarray:
        """The weight (or its gradient) as one ``(O, C·kH·kW)`` matrix per position: ``(oH·oW, O, C·kH·kW)``."""
        return array.reshape(self.oH * self.oW, self.n_output_plane, -1)

    @property
    def _taps(self) -> int:
        """``C·kH·kW`` (explicit in reshapes: with an empty batch ``-1`` is ambiguous)."""
        return self.n_input_plane * self.kH * self.kW

    def _batch_last(self, gradOutput: np.ndarray) -> np.ndarray:
        """``gradOutput`` as ``(oH·oW, O, batch)``, in a reused buffer."""
        g = gradOutput if gradOutput.ndim == 4 else gradOutput[None]
        g_t = self._grad_output_t = resized(self._grad_output_t, g, (self.oH, self.oW, self.n_output_plane, len(g)))
        np.copyto(g_t, g.transpose(2, 3, 1, 0))
        return g_t.reshape(self.oH * self.oW, self.n_output_plane, len(g))

    def updateOutput(self, input: np.ndarray) -> np.ndarray:
        x = self._batch(input)
        n, (out_h, out_w), out_planes = len(x), (self.oH, self.oW), self.n_output_plane
        padded = self._padded = padded_copy(x, self.pad, self._padded)
        view = windows(padded, self.k, self.d, self.dil, (out_h, out_w))  # (C, kH, kW, oH, oW, N)
        cols = self.finput = resized(self.finput, x, (out_h, out_w, self.n_input_plane, self.kH, self.kW, n))
        np.copyto(cols, view.transpose(3, 4, 0, 1, 2, 5))
        out_t = self._output_t = resized(self._output_t, x, (out_h, out_w, out_planes, n))
        np.matmul(self._matrices(self.weight), cols.reshape(out_h * out_w, self._taps, n),
                  out=out_t.reshape(out_h * out_w, out_planes, n))
        self.output = resized(self.output, input, input.shape[:-3] + (out_planes, out_h, out_w))
        np.add(out_t.transpose(3, 2, 0, 1), self.bias, out=self.output.reshape((n, out_planes, out_h, out_w)))
        return self.output

    def updateGradInput(self, input: np.ndarray, gradOutput: np.ndarray) -> np.ndarray | None:
        if self.gradInput is None:
            return None
        x = self._batch(input)
        g_t = self._batch_last(gradOutput)
        grad_cols = self.fgradInput = resized(self.fgradInput, x, self.finput.shape)
        np.matmul(self._matrices(self.weight).transpose(0, 2, 1), g_t,
                  out=grad_cols.reshape(self.oH * self.oW, self._taps, len(x)))
        grad = self._grad_padded = fold(grad_cols.transpose(2, 3, 4, 0, 1, 5), self.d, self.dil,
                                        resized(self._grad_padded, x, self._padded.shape))
        self.gradInput = self._set_grad_input(self.gradInput, input, grad[interior(self.pad, x.shape[2:])])
        return self.gradInput

    def accGradParameters(self, input: np.ndarray, gradOutput: np.ndarray, scale: float = 1.0) -> None:
        g_t = self._batch_last(gradOutput)
        cols = self.finput.reshape(self.oH * self.oW, self._taps, g_t.shape[-1])
        self.gradWeight += scale * np.matmul(g_t, cols.transpose(0, 2, 1)).reshape(self.gradWeight.shape)
        self.gradBias += scale * g_t.sum(axis=2).T.reshape(self.gradBias.shape)

    def extra_repr(self) -> str:
        return self._stride_pad_repr().replace(", ", f", {self.iW}x{self.iH}, ", 1)  # the input size after "C -> O"
