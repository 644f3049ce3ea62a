"""Volumetric convolutions on ``(C, T, H, W)`` or ``(batch, C, T, H, W)`` inputs: ``VolumetricConvolution``,
``VolumetricDilatedConvolution`` and the transposed ``VolumetricFullConvolution``, on the N-d engine of
:mod:`ember.nn.convnd`. Torch's argument order (``kT, kW, kH, dT, dW, dH, padT, padW, padH``); arrays are
``(T, H, W)`` ordered.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ember.nn.convnd import ConvolutionND, FullConvolutionND


def _geometry(module: Any) -> dict[str, Any]:
    (kT, kH, kW), (dT, dH, dW), (padT, padH, padW) = module.k, module.d, module.pad
    return {"n_input_plane": module.n_input_plane, "n_output_plane": module.n_output_plane, "kT": kT, "kW": kW,
            "kH": kH, "dT": dT, "dW": dW, "dH": dH, "padT": padT, "padW": padW, "padH": padH,
            "bias": module.bias is not None}


class VolumetricConvolution(ConvolutionND):
    """3-D convolution (cross-correlation) over volumes (Torch's ``nn.VolumetricConvolution``, PyTorch's
    ``Conv3d``).

    ``y[n, o, t, i, j] = b[o] + Σ_{c, u, v, w} W[o, c, u, v, w] · x̃[n, c, t·dT + u, i·dH + v, j·dW + w]``,
    ``x̃`` the input zero-padded by ``padT, padH, padW`` on each side. Backward as ``SpatialConvolution``'s
    (one more dimension): ``∂L/∂x`` is ``Wᵀ g`` added back onto each window, ``∂L/∂W += scale · g x̃ᵀ`` over
    the windows, ``∂L/∂b[o] += scale · Σ g[·, o]``. im2col, one GEMM each way (see :mod:`ember.nn.convnd`).

    Args:
        n_input_plane, n_output_plane: channels in and out.
        kT, kW, kH: the kernel; dT, dW, dH: strides (default 1); padT, padW, padH: zero padding (default 0).
        bias: learn ``b`` (default ``True``; Torch's ``:noBias()``).
        rng: generator for the initialisation (default: the library-wide one).

    Shape: ``(C, T, H, W)`` or ``(N, C, T, H, W)`` → ``(O, oT, oH, oW)`` or ``(N, O, oT, oH, oW)``,
    ``oT = (T + 2·padT − kT) // dT + 1`` (likewise H, W).

    Attributes:
        weight: ``(O, C, kT, kH, kW)``; weight and bias uniform(−1/√(kT·kW·kH·C), +…) as Torch.
        gradInput: set it to ``None`` to skip the input gradient (a first layer), as SpatialConvolution.

    Example:
        >>> VolumetricConvolution(1, 4, 3, 3, 3, padT=1, padW=1, padH=1).forward(np.ones((2, 1, 4, 5, 5))).shape
        (2, 4, 4, 5, 5)

    """

    def __init__(self, n_input_plane: int, n_output_plane: int, kT: int, kW: int, kH: int, dT: int = 1,
                 dW: int = 1, dH: int = 1, padT: int = 0, padW: int = 0, padH: int = 0, bias: bool = True,
                 rng: int | np.random.Generator | None = None) -> None:
        super().__init__(n_input_plane, n_output_plane, (kT, kH, kW), (dT, dH, dW), (padT, padH, padW), (1, 1, 1),
                         bias, rng)

    def config(self) -> dict[str, Any]:
        return _geometry(self)


class VolumetricDilatedConvolution(ConvolutionND):
    """``VolumetricConvolution`` whose kernel taps are ``dilationT, dilationH, dilationW`` apart (Torch's
    ``nn.VolumetricDilatedConvolution``, PyTorch's ``Conv3d(dilation=…)``):
    ``y[n, o, t, i, j] = b[o] + Σ W[o, c, u, v, w] · x̃[n, c, t·dT + u·dilationT, i·dH + v·dilationH,
    j·dW + w·dilationW]``; ``oT = (T + 2·padT − dilationT·(kT − 1) − 1) // dT + 1`` (likewise H, W).

    Args:
        as ``VolumetricConvolution``, then dilationT, dilationW, dilationH (default 1), bias, rng.

    """

    def __init__(self, n_input_plane: int, n_output_plane: int, kT: int, kW: int, kH: int, dT: int = 1,
                 dW: int = 1, dH: int = 1, padT: int = 0, padW: int = 0, padH: int = 0, dilationT: int = 1,
                 dilationW: int = 1, dilationH: int = 1, bias: bool = True,
                 rng: int | np.random.Generator | None = None) -> None:
        super().__init__(n_input_plane, n_output_plane, (kT, kH, kW), (dT, dH, dW), (padT, padH, padW),
                         (dilationT, dilationH, dilationW), bias, rng)

    def config(self) -> dict[str, Any]:
        return {**_geometry(self), "dilationT": self.dil[0], "dilationW": self.dil[2], "dilationH": self.dil[1]}


class VolumetricFullConvolution(FullConvolutionND):
    """Transposed 3-D convolution (Torch's ``nn.VolumetricFullConvolution``, PyTorch's ``ConvTranspose3d``):
    the adjoint of ``VolumetricConvolution``'s map from input to output, plus a bias.

    ``y[n, o, t·dT + u − padT, i·dH + v − padH, j·dW + w − padW] += x[n, c, t, i, j] · W[c, o, u, v, w]``,
    then ``+ b[o]``; ``oT = (T − 1)·dT − 2·padT + kT + adjT`` (likewise H, W): ``adj`` (PyTorch's
    ``output_padding``, each smaller than its stride) adds positions at the end that get only the bias.
    Backward: ``∂L/∂x`` is the (strided, padded) convolution of ``g`` with ``W``; ``∂L/∂W[c, o, u, v, w] +=
    scale · Σ x[n, c, t, i, j] · g[n, o, t·dT + u − padT, …]``; ``∂L/∂b[o] += scale · Σ g[·, o]``.

    Args:
        n_input_plane, n_output_plane: channels in and out.
        kT, kW, kH: the kernel; dT, dW, dH: strides (default 1); padT, padW, padH: the padding cropped off the
            full output (default 0); adjT, adjW, adjH: extra output positions (default 0).
        bias: learn ``b`` (default ``True``); rng: generator for the initialisation.

    Shape: ``(C, T, H, W)`` or ``(N, C, T, H, W)`` → ``(O, oT, oH, oW)`` or ``(N, O, oT, oH, oW)``.

    Attributes:
        weight: ``(C, O, kT, kH, kW)`` (Torch's and PyTorch's layout); weight and bias
            uniform(−1/√(kT·kW·kH·C), +…) as Torch.

    A table ``[x, like]`` (Torch's ``{input, targetTensor}``) takes the ``adj`` that make the output as close
    to ``like``'s ``(T, H, W)`` as the strides allow; the gradient is then ``[∂L/∂x, zeros like like]``.

    Example:
        >>> VolumetricFullConvolution(4, 1, 2, 2, 2, 2, 2, 2).forward(np.ones((4, 3, 3, 3))).shape
        (1, 6, 6, 6)

    """

    def __init__(self, n_input_plane: int, n_output_plane: int, kT: int, kW: int, kH: int, dT: int = 1,
                 dW: int = 1, dH: int = 1, padT: int = 0, padW: int = 0, padH: int = 0, adjT: int = 0,
                 adjW: int = 0, adjH: int = 0, bias: bool = True,
                 rng: int | np.random.Generator | None = None) -> None:
        super().__init__(n_input_plane, n_output_plane, (kT, kH, kW), (dT, dH, dW), (padT, padH, padW), (1, 1, 1),
                         bias, rng, adj=(adjT, adjH, adjW))

    def config(self) -> dict[str, Any]:
        return {**_geometry(self), "adjT": self.adj[0], "adjW": self.adj[2], "adjH": self.adj[1]}
