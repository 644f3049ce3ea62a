"""Volumetric modules on ``(C, T, H, W)`` or ``(batch, C, T, H, W)`` inputs (video, 3-D scans): max,
dilated max and average pooling, channel dropout, batch normalisation (unpooling and replication padding
live with their spatial versions). Torch's argument order (``kT, kW, kH, dT, dW, dH, padT, padW, padH``).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ember.nn.dropout import Dropout
from ember.nn.normalization import BatchNormalization
from ember.nn.windows import _AveragePoolingND, _MaxPoolingND


def _geometry(module: Any) -> dict[str, Any]:
    """The constructor arguments of a volumetric pooling's window, from its (T, H, W) tuples."""
    (kT, kH, kW), (dT, dH, dW), (padT, padH, padW) = module.k, module.d, module.pad
    return {"kT": kT, "kW": kW, "kH": kH, "dT": dT, "dW": dW, "dH": dH, "padT": padT, "padW": padW, "padH": padH,
            "ceil_mode": module.ceil_mode}


class VolumetricMaxPooling(_MaxPoolingND):
    """Max over each ``kT×kH×kW`` window (Torch's ``nn.VolumetricMaxPooling``, PyTorch's ``max_pool3d``).

    ``y[…, t, i, j] = max`` of ``x`` over the window starting at ``(t·dT, i·dH, j·dW)`` of the input
    padded with ``−∞``. Backward: each output's gradient goes to its window's maximum (the first on
    ties), summed where windows overlap. ``indices``: the flat position of each maximum in its channel's
    ``T·H·W`` volume. ``.ceil()`` rounds output sizes up.

    Args:
        kT, kW, kH: the window; dT, dW, dH: the stride (default: the window); padT, padW, padH: padding.

    """

    def __init__(self, kT: int, kW: int, kH: int, dT: int | None = None, dW: int | None = None,
                 dH: int | None = None, padT: int = 0, padW: int = 0, padH: int = 0, *,
                 ceil_mode: bool = False) -> None:
        super().__init__((kT, kH, kW), (dT or kT, dH or kH, dW or kW), (padT, padH, padW), (1, 1, 1), ceil_mode)


    def config(self) -> dict[str, Any]:
        return _geometry(self)

class VolumetricDilatedMaxPooling(_MaxPoolingND):
    """``VolumetricMaxPooling`` whose window taps are ``dilationT, dilationH, dilationW`` apart
    (Torch's ``nn.VolumetricDilatedMaxPooling``, PyTorch's ``max_pool3d(dilation=…)``).

    Args:
        kT, kW, kH, dT, dW, dH, padT, padW, padH: as ``VolumetricMaxPooling``.
        dilationT, dilationW, dilationH: the spacing of the taps (default 1).

    """

    def __init__(self, kT: int, kW: int, kH: int, dT: int | None = None, dW: int | None = None,
                 dH: int | None = None, padT: int = 0, padW: int = 0, padH: int = 0, dilationT: int = 1,
                 dilationW: int = 1, dilationH: int = 1, *, ceil_mode: bool = False) -> None:
        super().__init__((kT, kH, kW), (dT or kT, dH or kH, dW or kW), (padT, padH, padW),
                         (dilationT, dilationH, dilationW), ceil_mode)


    def config(self) -> dict[str, Any]:
        return {**_geometry(self), "dilationT": self.dil[0], "dilationW": self.dil[2], "dilationH": self.dil[1]}

class VolumetricAveragePooling(_AveragePoolingND):
    """Mean over each ``kT×kH×kW`` window (Torch's ``nn.VolumetricAveragePooling``, PyTorch's
    ``avg_pool3d``). Backward: each output's gradient divided by ``kT·kH·kW`` to every element of its window.

    Args:
        kT, kW, kH: the window; dT, dW, dH: the stride (default: the window); padT, padW, padH: padding
        (zeros, counted in the divisor unless ``count_include_pad=False``).

    """

    def __init__(self, kT: int, kW: int, kH: int, dT: int | None = None, dW: int | None = None,
                 dH: int | None = None, padT: int = 0, padW: int = 0, padH: int = 0, *,
                 ceil_mode: bool = False, count_include_pad: bool = True) -> None:
        super().__init__((kT, kH, kW), (dT or kT, dH or kH, dW or kW), (padT, padH, padW), (1, 1, 1), ceil_mode,
                         count_include_pad=count_include_pad)


    def config(self) -> dict[str, Any]:
        return {**_geometry(self), "count_include_pad": self.count_include_pad}

class VolumetricDropout(Dropout):
    """Inverted dropout of whole channels of a volume (Torch's ``nn.VolumetricDropout``, PyTorch's
    ``Dropout3d``): ``y[…, c, :, :, :] = x[…, c, :, :, :] · noise[…, c]``, one ``Bernoulli(1 − p) / (1 − p)``
    draw per channel of each example while training; ``y = x`` after ``evaluate()``.

    Args: as ``Dropout``.

    Shape: ``(C, T, H, W)`` or ``(batch, C, T, H, W)``; ``noise`` has size 1 in the last three dimensions.
    """

    def checkInput(self, input: np.ndarray) -> None:
        super().checkInput(input)
        if input.ndim not in (4, 5):
            self.fail(f"expected input of shape (C, T, H, W) or (batch, C, T, H, W), got {input.shape}")

    def _noise_shape(self, input: np.ndarray) -> tuple[int, ...]:
        return input.shape[:-3] + (1, 1, 1)


class VolumetricBatchNormalization(BatchNormalization):
    """Batch normalisation of each channel of a volume over the batch and all positions (Torch's
    ``nn.VolumetricBatchNormalization``, PyTorch's ``BatchNorm3d``): ``BatchNormalization`` with the
    statistics of channel ``c`` taken over ``x[:, c, :, :, :]`` (``m = batch·T·H·W`` values). Formulas,
    arguments and attributes as there.

    Shape: input ``(batch, C, T, H, W)``; in evaluation mode also one example ``(C, T, H, W)``.
    """

    _n_dim = 5

    def _expected(self) -> str:
        return f"(batch, {self.n_output}, T, H, W)"
