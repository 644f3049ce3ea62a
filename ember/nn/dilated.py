"""Further spatial and temporal pooling: dilated max pooling (``SpatialDilatedMaxPooling``) and max pooling
over time (``TemporalMaxPooling``), on the window engine of ``windows.py``.
"""

from __future__ import annotations

import numpy as np

from ember.nn.windows import _MaxPoolingND


class SpatialDilatedMaxPooling(_MaxPoolingND):
    """``SpatialMaxPooling`` whose window taps are ``dilationH, dilationW`` apart (Torch's
    ``nn.SpatialDilatedMaxPooling``, PyTorch's ``max_pool2d(dilation=…)``).

    ``y[…, i, j] = max_{u, v} x̃[…, i·dH + u·dilationH, j·dW + v·dilationW]``, ``x̃`` padded with ``−∞``.
    Backward: each output's gradient to its window's maximum (the first on ties), summed where windows
    overlap. ``indices``: the flat position of each maximum in its channel's ``H·W`` plane.

    Args:
        kW, kH: the window; dW, dH: the stride (default: the window); padW, padH: padding;
        dilationW, dilationH: the spacing of the taps (default 1). ``.ceil()`` rounds sizes up.

    Shape: ``(C, H, W)`` or ``(batch, C, H, W)``.

    """

    def __init__(self, kW: int, kH: int, dW: int | None = None, dH: int | None = None, padW: int = 0,
                 padH: int = 0, dilationW: int = 1, dilationH: int = 1, *, ceil_mode: bool = False) -> None:
        super().__init__((kH, kW), (dH or kH, dW or kW), (padH, padW), (dilationH, dilationW), ceil_mode)


class TemporalMaxPooling(_MaxPoolingND):
    """Max over windows of ``kW`` frames moving by ``dW`` (Torch's ``nn.TemporalMaxPooling``).

    The input is a sequence of frames, ``(T, F)`` or ``(batch, T, F)`` as for ``TemporalConvolution``;
    each feature is pooled on its own: ``y[…, t, f] = max_{u < kW} x[…, t·dW + u, f]``.

    Backward: each output's gradient to its window's maximum (the first on ties). ``indices``: the frame
    of each maximum, ``(T_out, F)`` or ``(batch, T_out, F)``.

    Args:
        kW: the window length; dW: the stride (default ``kW``).

    """

    _names = ("T",)

    def __init__(self, kW: int, dW: int | None = None) -> None:
        super().__init__((kW,), (dW or kW,), (0,), (1,))

    def _dims_text(self) -> str:
        return "(T, F) or (batch, T, F)"

    def checkInput(self, input: np.ndarray) -> None:
        super().checkInput(np.swapaxes(input, -1, -2) if isinstance(input, np.ndarray) and input.ndim >= 2
                           else input)

    def updateOutput(self, input: np.ndarray) -> np.ndarray:
        out = super().updateOutput(np.swapaxes(input, -1, -2))
        self.output = np.ascontiguousarray(np.swapaxes(out, -1, -2))
        self.indices = np.swapaxes(self.indices, -1, -2)
        return self.output

    def updateGradInput(self, input: np.ndarray, gradOutput: np.ndarray) -> np.ndarray:
        self.indices = np.swapaxes(self.indices, -1, -2)
        grad = super().updateGradInput(np.swapaxes(input, -1, -2), np.swapaxes(gradOutput, -1, -2))
        self.indices = np.swapaxes(self.indices, -1, -2)
        self.gradInput = np.ascontiguousarray(np.swapaxes(grad, -1, -2))
        return self.gradInput

    def extra_repr(self) -> str:
        return f"{self.k[0]}, {self.d[0]}"
