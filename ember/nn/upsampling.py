"""Up-sampling of planes and volumes by nearest neighbour or (bi/tri)linear interpolation (Torch's
``SpatialUpSamplingNearest``, ``SpatialUpSamplingBilinear``, ``UpSampling``), and the separable index maps
they share with the padding modules (``padding.py``).

Each of these modules maps every one of the last ``n`` dimensions linearly and independently: output
``y = x ×₁ M₁ ×₂ … ×ₙ Mₙ`` with one small ``(out, in)`` matrix per dimension (a 0/1 selection for nearest
neighbours and padding, interpolation weights for linear). Backward applies the transposes,
``∂L/∂x = g ×₁ M₁ᵀ … ×ₙ Mₙᵀ``, which sums the gradient of every output an input fed. Both are matrix
products over whole arrays.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ember.nn.module import Module, resized


def apply_along(x: np.ndarray, matrices: list[np.ndarray], transpose: bool = False) -> np.ndarray:
    """``x`` with its last ``len(matrices)`` dimensions mapped by the matrices (or their transposes)."""
    n = len(matrices)
    for k, matrix in enumerate(matrices):
        axis = x.ndim - n + k
        if not transpose and (matrix.sum(axis=1) == 1).all() and (np.count_nonzero(matrix, axis=1) == 1).all():
            x = np.take(x, matrix.argmax(axis=1), axis=axis)  # a selection: copies (0 · inf would be NaN)
            continue
        moved = np.moveaxis(x, axis, -1)
        x = np.moveaxis(moved @ (matrix if transpose else matrix.T), -1, axis)
    return x


def nearest_matrix(size: int, scale: int, dtype: Any) -> np.ndarray:
    """``(size·scale, size)``: output ``i`` copies input ``i // scale``."""
    matrix = np.zeros((size * scale, size), dtype=dtype)
    matrix[np.arange(size * scale), np.arange(size * scale) // scale] = 1.0
    return matrix


def linear_taps(size: int, out: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """PyTorch's two taps per output of linear interpolation with the corners aligned: output ``i`` sits at
    input position ``p = i·(size − 1)/(out − 1)`` and is ``(1 − f)·x[low] + f·x[high]`` with ``low = ⌊p⌋``,
    ``f = p − low`` and ``high = low + 1`` (``low`` itself at the last input, or everywhere when
    ``out == size``). Returns ``(low, high, f)``.
    """
    if out == size:
        low = np.arange(out)
        return low, low, np.zeros(out)
    position = np.arange(out) * ((size - 1) / (out - 1)) if out > 1 else np.zeros(1)
    low = np.minimum(np.floor(position).astype(np.int64), size - 1)
    return low, np.where(low < size - 1, low + 1, low), np.clip(position - low, 0.0, 1.0)


def linear_matrix(size: int, out: int, dtype: Any) -> np.ndarray:
    """``(out, size)``: the interpolation of ``linear_taps`` as a matrix (Torch's
    ``SpatialUpSamplingBilinear``, PyTorch's ``align_corners=True``).
    """
    low, high, frac = linear_taps(size, out)
    matrix = np.zeros((out, size), dtype=dtype)
    np.add.at(matrix, (np.arange(out), low), 1.0 - frac)
    np.add.at(matrix, (np.arange(out), high), frac)
    return matrix


def interpolate(x: np.ndarray, taps: list[tuple[np.ndarray, np.ndarray, np.ndarray]]) -> np.ndarray:
    """``x`` with its last ``len(taps)`` dimensions interpolated by ``linear_taps``, the last dimension first:
    PyTorch's arithmetic, ``w₀·x[low] + w₁·x[high]`` per dimension, so a non-finite input reaches the same
    outputs as there (also those where its weight is 0: ``0·inf = NaN``), not every output of its row as in
    ``linear_matrix``'s product. Used for input with NaN or inf; the matrix product is faster otherwise.
    """
    n = len(taps)
    for k in range(n - 1, -1, -1):
        low, high, frac = taps[k]
        axis, shape = x.ndim - n + k, (-1,) + (1,) * (n - 1 - k)
        weight = frac.astype(x.dtype).reshape(shape)
        with np.errstate(invalid="ignore"):  # 0·inf: the NaN is the result
            x = np.take(x, low, axis=axis) * (1 - weight) + np.take(x, high, axis=axis) * weight
    return x


class _Separable(Module):
    """A module whose output is its input mapped by one matrix per dimension over the last ``n_dims``."""

    _scratch = ("_matrices", "_taps")
    _n_dims = 2
    _ndims_allowed: tuple[int, ...] = (3, 4)
    _shape_text = "(C, H, W) or (batch, C, H, W)"

    def __init__(self) -> None:
        super().__init__()
        self._matrices: list[np.ndarray] | None = None
        self._matrices_for: tuple | None = None
        self._taps: list[tuple[np.ndarray, np.ndarray, np.ndarray]] | None = None

    def checkInput(self, input: np.ndarray) -> None:
        super().checkInput(input)
        if input.ndim not in self._ndims_allowed:
            self.fail(f"expected input of shape {self._shape_text}, got {input.shape}")

    def _n(self, input: np.ndarray) -> int:
        return self._n_dims

    def _make_matrices(self, sizes: tuple[int, ...], dtype: Any) -> list[np.ndarray]:
        raise NotImplementedError

    def _make_taps(self, sizes: tuple[int, ...]) -> list[tuple[np.ndarray, np.ndarray, np.ndarray]] | None:
        """The taps of ``interpolate`` when the forward is a linear interpolation, else None."""
        return None

    def _get_matrices(self, input: np.ndarray) -> list[np.ndarray]:
        key = (input.shape[-self._n(input):], input.dtype)
        if self._matrices is None or self._matrices_for != key:
            self._matrices = self._make_matrices(key[0], input.dtype)
            self._taps = self._make_taps(key[0])
            self._matrices_for = key
        return self._matrices

    def updateOutput(self, input: np.ndarray) -> np.ndarray:
        matrices = self._get_matrices(input)
        if self._taps is not None and not np.isfinite(np.sum(input)):
            result = interpolate(input, self._taps)  # a non-finite input: only its taps' outputs, as PyTorch
        else:
            result = apply_along(input, matrices)  # one matrix product per dimension (the fast path)
        self.output = resized(self.output, input, result.shape)
        np.copyto(self.output, result)
        return self.output

    def updateGradInput(self, input: np.ndarray, gradOutput: np.ndarray) -> np.ndarray:
        result = apply_along(gradOutput, self._get_matrices(input), transpose=True)
        self.gradInput = resized(self.gradInput, input)
        np.copyto(self.gradInput, result)
        return self.gradInput


def _scale(module: Module, scale: Any) -> int:
    if isinstance(scale, bool) or not isinstance(scale, (int, np.integer)) or scale < 1:
        module.fail(f"scale_factor must be a positive integer, got {scale!r}")
    return int(scale)


class SpatialUpSamplingNearest(_Separable):
    """Nearest-neighbour up-sampling by an integer factor (Torch's ``nn.SpatialUpSamplingNearest``,
    PyTorch's ``interpolate(mode='nearest')``): ``y[…, i, j] = x[…, i // s, j // s]``.

    Backward: ``∂L/∂x[…, i, j] = Σ`` of ``g`` over the ``s×s`` block it was copied to.

    Args:
        scale: the factor ``s`` (a positive integer).

    Shape: ``(C, H, W)`` → ``(C, sH, sW)``, or with a leading batch dimension.

    """

    def __init__(self, scale: int) -> None:
        super().__init__()
        self.scale_factor = scale
        _scale(self, scale)

    def config(self) -> dict[str, Any]:
        return {"scale": self.scale_factor}

    def _make_matrices(self, sizes: tuple[int, ...], dtype: Any) -> list[np.ndarray]:
        return [nearest_matrix(size, self.scale_factor, dtype) for size in sizes]

    def extra_repr(self) -> str:
        return f"{self.scale_factor}"


def _linear_sizes(module: Any, sizes: tuple[int, ...]) -> tuple[int, ...]:
    """Torch's output sizes: ``(size − 1)(s − 1) + size`` for a scale factor, else the given ones."""
    if module.scale_factor is not None:
        return tuple((size - 1) * (module.scale_factor - 1) + size for size in sizes)
    return module.output_size[-len(sizes):]


class SpatialUpSamplingBilinear(_Separable):
    """Bilinear up-sampling with the corners aligned (Torch's ``nn.SpatialUpSamplingBilinear``, PyTorch's
    ``interpolate(mode='bilinear', align_corners=True)``).

    Output sizes: ``(H − 1)(s − 1) + H`` by ``(W − 1)(s − 1) + W`` for a scale factor ``s``, or given. Output
    pixel ``(i, j)`` interpolates the input at ``(i (H − 1)/(H' − 1), j (W − 1)/(W' − 1))``.

    Backward: the transpose of the interpolation, each input summing the weighted gradients it fed. A NaN
    or inf in the input reaches the outputs it is a tap of, as in PyTorch (with weight 0 as NaN).

    Args:
        params: the integer scale factor, or a dict ``{"oheight": H', "owidth": W'}`` (Torch's table).

    Shape: ``(C, H, W)`` → ``(C, H', W')``, or with a leading batch dimension.

    """

    def __init__(self, params: int | dict) -> None:
        super().__init__()
        self.params = params
        if isinstance(params, dict):
            self.scale_factor = None
            self.output_size = (int(params["oheight"]), int(params["owidth"]))
        else:
            self.scale_factor = _scale(self, params)

    def config(self) -> dict[str, Any]:
        return {"params": self.params}

    def _make_matrices(self, sizes: tuple[int, ...], dtype: Any) -> list[np.ndarray]:
        return [linear_matrix(size, out, dtype) for size, out in zip(sizes, _linear_sizes(self, sizes))]

    def _make_taps(self, sizes: tuple[int, ...]) -> list[tuple[np.ndarray, np.ndarray, np.ndarray]]:
        return [linear_taps(size, out) for size, out in zip(sizes, _linear_sizes(self, sizes))]

    def extra_repr(self) -> str:
        return str(self.scale_factor) if self.scale_factor else "{}x{}".format(*self.output_size)


class UpSampling(_Separable):
    """Nearest or linear up-sampling of a batch of planes (4-D input) or volumes (5-D input) (Torch's
    ``nn.UpSampling``, PyTorch's ``interpolate`` with ``'nearest'``, ``'bilinear'`` or ``'trilinear'``
    and ``align_corners=True``).

    Sizes: ``s`` times each for nearest; ``(size − 1)(s − 1) + size`` for linear, or given. NaN and inf
    reach the outputs as in PyTorch (see ``SpatialUpSamplingBilinear``).

    Args:
        params: the integer scale factor, or (linear only) a dict ``{"oheight", "owidth"[, "odepth"]}``.
        mode: ``'nearest'`` (default) or ``'linear'`` (also ``'bilinear'``, ``'trilinear'``).

    Shape: ``(batch, C, H, W)`` or ``(batch, C, D, H, W)``.

    """

    _ndims_allowed = (4, 5)
    _shape_text = "(batch, C, H, W) or (batch, C, D, H, W)"

    def __init__(self, params: int | dict, mode: str = "nearest") -> None:
        super().__init__()
        self.params = params
        self.mode = "linear" if mode in ("linear", "bilinear", "trilinear") else "nearest"
        if isinstance(params, dict):
            self.scale_factor = None
            self.output_size = tuple(int(params[k]) for k in ("odepth", "oheight", "owidth") if k in params)
            if self.mode == "nearest":
                self.fail("nearest-neighbour up-sampling requires a scale_factor")
        else:
            self.scale_factor = _scale(self, params)

    def config(self) -> dict[str, Any]:
        return {"params": self.params, "mode": self.mode}

    def _n(self, input: np.ndarray) -> int:
        return input.ndim - 2

    def _make_matrices(self, sizes: tuple[int, ...], dtype: Any) -> list[np.ndarray]:
        if self.mode == "nearest":
            return [nearest_matrix(size, self.scale_factor, dtype) for size in sizes]
        return [linear_matrix(size, out, dtype) for size, out in zip(sizes, _linear_sizes(self, sizes))]

    def _make_taps(self, sizes: tuple[int, ...]) -> list[tuple[np.ndarray, np.ndarray, np.ndarray]] | None:
        if self.mode == "nearest":
            return None
        return [linear_taps(size, out) for size, out in zip(sizes, _linear_sizes(self, sizes))]

    def extra_repr(self) -> str:
        return f"{self.scale_factor if self.scale_factor else self.output_size}, {self.mode}"
