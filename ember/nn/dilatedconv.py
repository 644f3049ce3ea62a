"""Dilated convolution: Torch's ``nn.SpatialDilatedConvolution``, the 2-D case of
:class:`ember.nn.convnd.ConvolutionND` with Torch's arguments.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ember.nn.convnd import ConvolutionND, Planar, check_at_least


class SpatialDilatedConvolution(Planar, ConvolutionND):
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
        check_at_least(self, n_input_plane=(n_input_plane, 1), n_output_plane=(n_output_plane, 1), kW=(kW, 1),
                       kH=(kH, 1), dW=(dW, 1), dH=(dH, 1), padW=(padW, 0), padH=(padH, 0),
                       dilationW=(dilationW, 1), dilationH=(dilationH, 1))
        super().__init__(n_input_plane, n_output_plane, (kH, kW), (dH, dW), (padH, padW), (dilationH, dilationW),
                         bias, rng)

    def config(self) -> dict[str, Any]:
        return {"n_input_plane": self.n_input_plane, "n_output_plane": self.n_output_plane, "kW": self.kW,
                "kH": self.kH, "dW": self.dW, "dH": self.dH, "padW": self.padW, "padH": self.padH,
                "dilationW": self.dilationW, "dilationH": self.dilationH, "bias": self.bias is not None}

    def extra_repr(self) -> str:
        text = self._stride_pad_repr() + f", {self.dilationW},{self.dilationH}"
        return text + ("" if self.bias is not None else " without bias")
