"""Max unpooling (Torch's ``SpatialMaxUnpooling``, ``VolumetricMaxUnpooling``): the inverse of a max pooling
module's selection, placing each value at the position its maximum came from, zeros elsewhere.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ember.nn.module import Module, resized
from ember.nn.pooling import SpatialMaxPooling
from ember.nn.windows import _MaxPoolingND


def _positions(pooling: Module) -> np.ndarray:
    """The pooling module's maxima as flat positions in its input's planes (or volumes)."""
    if isinstance(pooling, SpatialMaxPooling):
        offset = pooling.indices
        out_h, out_w = offset.shape[-2:]
        rows = np.arange(out_h)[:, None] * pooling.dH + offset // pooling.kW - pooling.padH
        cols = np.arange(out_w)[None, :] * pooling.dW + offset % pooling.kW - pooling.padW
        return rows * pooling._checked_shape[-1] + cols
    return pooling.indices


class _MaxUnpooling(Module):
    _n_dims = 2
    _kinds: tuple[type, ...] = (SpatialMaxPooling, _MaxPoolingND)

    def __init__(self, pooling: Any) -> None:
        super().__init__()
        if not isinstance(pooling, self._kinds):
            self.fail(f"expected a max pooling module, got {type(pooling).__name__}", TypeError)
        self.pooling = pooling

    def config(self) -> dict[str, Any]:
        return {"pooling": self.pooling}

    def _pooled_shape(self) -> tuple[int, ...] | None:
        return self.pooling._checked_shape

    def checkInput(self, input: np.ndarray) -> None:
        super().checkInput(input)
        shape = self._pooled_shape()
        if shape is None or self.pooling.output.shape != input.shape:
            self.fail(f"expected an input of the shape of its pooling module's last output "
                      f"{self.pooling.output.shape} (run the pooling module forward first), got {input.shape}")

    def updateOutput(self, input: np.ndarray) -> np.ndarray:
        shape = self._pooled_shape()
        n = self._n_dims
        plane = int(np.prod(shape[-n:]))
        lead = int(np.prod(input.shape[:-n]))
        base = (np.arange(lead) * plane).reshape(input.shape[:-n] + (1,) * n)
        self._flat = (_positions(self.pooling) + base).ravel()
        self.output = resized(self.output, input, shape)
        self.output.fill(0.0)
        self.output.reshape(-1)[self._flat] = input.ravel()
        return self.output

    def updateGradInput(self, input: np.ndarray, gradOutput: np.ndarray) -> np.ndarray:
        self.gradInput = resized(self.gradInput, input)
        np.copyto(self.gradInput, gradOutput.reshape(-1)[self._flat].reshape(input.shape))
        return self.gradInput

    def extra_repr(self) -> str:
        return self.pooling.describe()


class SpatialMaxUnpooling(_MaxUnpooling):
    """Inverse of a spatial max pooling (Torch's ``nn.SpatialMaxUnpooling``, PyTorch's ``max_unpool2d``):
    each input value goes to where its pooling window's maximum was; the output has the pooling module's
    input shape, zeros elsewhere. Run the pooling module forward first.

    Backward: ``∂L/∂x`` is ``gradOutput`` read at those positions.

    Args:
        pooling: a ``SpatialMaxPooling`` or ``SpatialDilatedMaxPooling`` module.

    """


class VolumetricMaxUnpooling(_MaxUnpooling):
    """Inverse of a volumetric max pooling (Torch's ``nn.VolumetricMaxUnpooling``, PyTorch's ``max_unpool3d``).

    Args:
        pooling: a ``VolumetricMaxPooling`` or ``VolumetricDilatedMaxPooling`` module.

    """

    _n_dims = 3
    _kinds = (_MaxPoolingND,)
