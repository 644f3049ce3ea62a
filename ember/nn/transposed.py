"""Transposed ("full") convolution: Torch's ``nn.SpatialFullConvolution`` (PyTorch's ``ConvTranspose2d``), the
2-D case of :class:`ember.nn.convnd.FullConvolutionND` with Torch's arguments.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ember.errors import InputError
from ember.nn.convnd import FullConvolutionND, Planar, check_at_least


class SpatialFullConvolution(Planar, FullConvolutionND):
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

    def __init__(self, n_input_plane: int, n_output_plane: int, kW: int, kH: int, dW: int = 1, dH: int = 1,
                 padW: int = 0, padH: int = 0, adjW: int = 0, adjH: int = 0, bias: bool = True,
                 rng: int | np.random.Generator | None = None) -> None:
        check_at_least(self, n_input_plane=(n_input_plane, 1), n_output_plane=(n_output_plane, 1), kW=(kW, 1),
                       kH=(kH, 1), dW=(dW, 1), dH=(dH, 1), padW=(padW, 0), padH=(padH, 0), adjW=(adjW, 0),
                       adjH=(adjH, 0))
        if adjW > dW - 1 or adjH > dH - 1:
            raise InputError(f"SpatialFullConvolution: adjW and adjH must be below the strides dW and dH, got "
                             f"adjW={adjW} for dW={dW} and adjH={adjH} for dH={dH}")
        super().__init__(n_input_plane, n_output_plane, (kH, kW), (dH, dW), (padH, padW), (1, 1), bias, rng,
                         adj=(adjH, adjW))

    def config(self) -> dict[str, Any]:
        return {"n_input_plane": self.n_input_plane, "n_output_plane": self.n_output_plane, "kW": self.kW,
                "kH": self.kH, "dW": self.dW, "dH": self.dH, "padW": self.padW, "padH": self.padH,
                "adjW": self.adjW, "adjH": self.adjH, "bias": self.bias is not None}

    def extra_repr(self) -> str:
        text = self._planar_repr(((self.dW, self.dH), 1), ((self.padW, self.padH), 0), ((self.adjW, self.adjH), 0))
        return text + ("" if self.bias is not None else " without bias")
