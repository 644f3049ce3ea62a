"""Padding by reflection or replication of the border (Torch's ``SpatialReflectionPadding``,
``SpatialReplicationPadding``, ``VolumetricReplicationPadding``) and the constant ``Padding`` of one
dimension. Reflection and replication are index maps, computed as the separable maps of ``upsampling.py``:
backward sums the gradient of every output an input was copied to.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ember.nn.module import Module, resized
from ember.nn.upsampling import _Separable


def _index_matrix(size: int, before: int, after: int, mode: str, dtype: Any) -> np.ndarray:
    """``(before + size + after, size)`` 0/1 matrix: output ``i`` copies input ``source(i − before)``."""
    position = np.arange(-before, size + after)
    if mode == "reflect":
        period = 2 * (size - 1)
        position = np.abs(position) % period if period else np.zeros_like(position)
        position = np.where(position >= size, period - position, position)
    else:
        position = np.clip(position, 0, size - 1)
    matrix = np.zeros((position.size, size), dtype=dtype)
    matrix[np.arange(position.size), position] = 1.0
    return matrix


class _BorderPadding(_Separable):
    _mode = "edge"

    def __init__(self, *pads: int) -> None:
        super().__init__()
        self.pads = pads  # (before, after) per padded dimension, in the order of the dimensions
        if min(pads) < 0:
            self.fail(f"padding must be non-negative, got {pads}")

    def _make_matrices(self, sizes: tuple[int, ...], dtype: Any) -> list[np.ndarray]:
        pairs = [self.pads[2 * k: 2 * k + 2] for k in range(len(sizes))]
        return [_index_matrix(size, b, a, self._mode, dtype) for size, (b, a) in zip(sizes, pairs)]

    def checkInput(self, input: np.ndarray) -> None:
        super().checkInput(input)
        if self._mode == "reflect":
            sizes = input.shape[-self._n_dims:]
            pairs = [self.pads[2 * k: 2 * k + 2] for k in range(self._n_dims)]
            if any(max(b, a) >= size for size, (b, a) in zip(sizes, pairs)):
                self.fail(f"reflection padding must be smaller than the input {sizes}")


class SpatialReflectionPadding(_BorderPadding):
    """Pads planes with their reflection across the border (the edge not repeated): Torch's
    ``nn.SpatialReflectionPadding``, PyTorch's ``pad(mode='reflect')``. ``[1, 2, 3]`` padded by 2 on the
    left is ``[3, 2, 1, 2, 3]``.

    Backward: each input element sums the gradients of the outputs that copy it.

    Args:
        pad_l, pad_r, pad_t, pad_b: padding on the left, right, top and bottom (``pad_r``, ``pad_t``,
            ``pad_b`` default to ``pad_l``); each smaller than the input.

    Shape: ``(C, H, W)`` → ``(C, H + pad_t + pad_b, W + pad_l + pad_r)``, or with a batch dimension.

    """

    _mode = "reflect"

    def __init__(self, pad_l: int, pad_r: int | None = None, pad_t: int | None = None,
                 pad_b: int | None = None) -> None:
        r, t, b = (pad_l if v is None else v for v in (pad_r, pad_t, pad_b))
        self.pad_l, self.pad_r, self.pad_t, self.pad_b = pad_l, r, t, b
        super().__init__(t, b, pad_l, r)

    def config(self) -> dict[str, Any]:
        return {"pad_l": self.pad_l, "pad_r": self.pad_r, "pad_t": self.pad_t, "pad_b": self.pad_b}

    def extra_repr(self) -> str:
        return f"l={self.pad_l}, r={self.pad_r}, t={self.pad_t}, b={self.pad_b}"


class SpatialReplicationPadding(SpatialReflectionPadding):
    """Pads planes by repeating their border values: Torch's ``nn.SpatialReplicationPadding``, PyTorch's
    ``pad(mode='replicate')``. ``[1, 2, 3]`` padded by 2 on the left is ``[1, 1, 1, 2, 3]``.

    Backward: each border element sums the gradients of all its copies.

    Args: as ``SpatialReflectionPadding`` (any non-negative sizes).
    """

    _mode = "edge"


class VolumetricReplicationPadding(_BorderPadding):
    """Pads volumes by repeating their border values: Torch's ``nn.VolumetricReplicationPadding``, PyTorch's
    ``pad(mode='replicate')`` on ``(C, T, H, W)``.

    Args:
        pleft, pright, ptop, pbottom, pfront, pback: padding of the width, height and time dimensions
            (all default to ``pleft``).

    Shape: ``(C, T, H, W)`` or ``(batch, C, T, H, W)``.

    """

    _n_dims = 3
    _ndims_allowed = (4, 5)
    _shape_text = "(C, T, H, W) or (batch, C, T, H, W)"

    def __init__(self, pleft: int, pright: int | None = None, ptop: int | None = None, pbottom: int | None = None,
                 pfront: int | None = None, pback: int | None = None) -> None:
        rest = tuple(pleft if v is None else v for v in (pright, ptop, pbottom, pfront, pback))
        self.padding = (pleft, *rest)
        r, t, b, f, k = rest
        super().__init__(f, k, t, b, pleft, r)

    def config(self) -> dict[str, Any]:
        return dict(zip(("pleft", "pright", "ptop", "pbottom", "pfront", "pback"), self.padding))

    def extra_repr(self) -> str:
        return ", ".join(map(str, self.padding))


class Padding(Module):
    """Pads one dimension with ``|pad|`` entries of ``value`` (Torch's ``nn.Padding``): after the input for
    ``pad > 0``, before it for ``pad < 0``, or before position ``index`` when given.

    Backward: ``∂L/∂x`` is ``gradOutput`` without the padded entries.

    Args:
        dim: the dimension of one example (0-based; an input with ``n_input_dim + 1`` dimensions is a batch
            and ``dim`` is shifted past the batch dimension).
        pad: the number of entries, its sign choosing the side.
        n_input_dim: the dimensions of one example (default: no batch handling).
        value: the padding value (default 0).
        index: insert the padding before this 0-based position (default: at the end, or the start for
            ``pad < 0``).

    """

    def __init__(self, dim: int, pad: int, n_input_dim: int | None = None, value: float = 0.0,
                 index: int | None = None) -> None:
        super().__init__()
        self.dim, self.pad, self.n_input_dim, self.value, self.index = dim, pad, n_input_dim, value, index

    def config(self) -> dict[str, Any]:
        return {"dim": self.dim, "pad": self.pad, "n_input_dim": self.n_input_dim, "value": self.value,
                "index": self.index}

    def _axis(self, input: np.ndarray) -> int:
        shift = 1 if self.n_input_dim is not None and input.ndim == self.n_input_dim + 1 else 0
        return self.dim + shift

    def _start(self, size: int) -> int:
        if self.index is not None:
            return self.index
        return 0 if self.pad < 0 else size

    def checkInput(self, input: np.ndarray) -> None:
        super().checkInput(input)
        axis = self._axis(input)
        if not 0 <= axis < input.ndim:
            self.fail(f"dim {self.dim} is out of range for input of shape {input.shape} (dims are 0-based)")
        if not 0 <= self._start(input.shape[axis]) <= input.shape[axis]:
            self.fail(f"index {self.index} is out of range for size {input.shape[axis]}")

    def updateOutput(self, input: np.ndarray) -> np.ndarray:
        axis = self._axis(input)
        shape = list(input.shape)
        shape[axis] += abs(self.pad)
        out = self.output = resized(self.output, input, tuple(shape))
        start = self._start(input.shape[axis])
        out = np.moveaxis(out, axis, 0)
        x = np.moveaxis(input, axis, 0)
        out[:start] = x[:start]
        out[start:start + abs(self.pad)] = self.value
        out[start + abs(self.pad):] = x[start:]
        return self.output

    def updateGradInput(self, input: np.ndarray, gradOutput: np.ndarray) -> np.ndarray:
        axis = self._axis(input)
        start = self._start(input.shape[axis])
        grad = self.gradInput = resized(self.gradInput, input)
        g, gi = np.moveaxis(gradOutput, axis, 0), np.moveaxis(grad, axis, 0)
        gi[:start] = g[:start]
        gi[start:] = g[start + abs(self.pad):]
        return grad

    def extra_repr(self) -> str:
        return f"dim={self.dim}, pad={self.pad}" + (f", value={self.value:g}" if self.value else "")
