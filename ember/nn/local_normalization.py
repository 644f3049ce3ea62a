"""Local (neighbourhood) normalisation of images, as Torch's ``nn.SpatialSubtractiveNormalization``,
``nn.SpatialDivisiveNormalization`` and ``nn.SpatialContrastiveNormalization``.

All three weigh a neighbourhood with one kernel ``K`` over every plane: the local sum of a map ``z`` is
``S(z) = Σ_planes z ⋆ W`` (``⋆``: correlation, zero padding, same size), with ``W = K/(ΣK · n_planes)``
(a 1-D kernel ``k`` stands for ``K = k kᵀ``, as Torch's separable version computes). Near the edges part of
the kernel falls outside the image; dividing by ``c = S(1)`` corrects for it (Torch's ``coef``).
"""

from __future__ import annotations

from typing import Any

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

from ember.errors import InputError
from ember.nn.module import Module, resized


def _kernel(name: str, kernel: Any) -> tuple[np.ndarray, np.ndarray]:
    """The kernel as given (float64) and its 2-D weights ``K / ΣK`` (``k kᵀ / (Σk)²`` for a 1-D ``k``)."""
    given = np.ones((9, 9)) if kernel is None else np.array(kernel, dtype=np.float64)
    if given.ndim not in (1, 2) or given.size == 0 or any(n % 2 == 0 for n in given.shape):
        raise InputError(f"{name}: the averaging kernel must be 1-D or 2-D with odd sizes, got shape {given.shape}")
    full = np.outer(given, given) if given.ndim == 1 else given
    total = full.sum()
    if not np.isfinite(total) or total == 0:
        raise InputError(f"{name}: the averaging kernel must have a finite, non-zero sum, got {total}")
    return given, full / total


def _correlate(planes: np.ndarray, weights: np.ndarray) -> np.ndarray:
    """``planes ⋆ weights`` over the last two axes, zero padding, same size (``weights`` has odd sizes)."""
    kh, kw = weights.shape
    padded = np.pad(planes, [(0, 0)] * (planes.ndim - 2) + [(kh // 2, kh // 2), (kw // 2, kw // 2)])
    return np.tensordot(sliding_window_view(padded, (kh, kw), axis=(-2, -1)), weights, axes=2)


class _Local(Module):
    """Shared kernel, input checks, local sums and edge coefficients."""

    def __init__(self, n_input_plane: int = 1, kernel: Any = None) -> None:
        super().__init__()
        self.n_input_plane = n_input_plane
        given, weights = _kernel(type(self).__name__, kernel)
        self.register_buffer("kernel", given)  # (also in config(): saved either way)
        self._weights = weights / n_input_plane
        self._coef: np.ndarray | None = None

    def config(self) -> dict[str, Any]:
        return {"n_input_plane": self.n_input_plane, "kernel": np.asarray(self.kernel, dtype=np.float64).tolist()}

    def checkInput(self, input: np.ndarray) -> None:
        super().checkInput(input)
        if input.ndim not in (3, 4) or input.shape[-3] != self.n_input_plane:
            self.fail(f"expected input of shape ({self.n_input_plane}, H, W) or (batch, {self.n_input_plane}, H, W), "
                      f"got {input.shape}")

    def _sum(self, maps: np.ndarray) -> np.ndarray:
        """``S(z)`` for ``z`` of shape ``(..., n, H, W)``: one map ``(..., 1, H, W)``."""
        return _correlate(maps.sum(axis=-3, keepdims=True), self._weights.astype(maps.dtype, copy=False))

    def _sum_transposed(self, maps: np.ndarray) -> np.ndarray:
        """The adjoint of ``S`` applied to ``(..., 1, H, W)``: the same map for every plane."""
        return _correlate(maps, self._weights[::-1, ::-1].astype(maps.dtype, copy=False))

    def _edge(self, input: np.ndarray) -> np.ndarray:
        """``c = S(1)``, shaped ``(1, H, W)``, kept while the image size and dtype stay the same."""
        if self._coef is None or self._coef.shape[-2:] != input.shape[-2:] or self._coef.dtype != input.dtype:
            self._coef = self._sum(np.ones((self.n_input_plane,) + input.shape[-2:], dtype=input.dtype))
        return self._coef

    def extra_repr(self) -> str:
        return f"{self.n_input_plane}, kernel {'x'.join(map(str, self.kernel.shape))}"


class SpatialSubtractiveNormalization(_Local):
    """Subtract the local weighted mean from every plane (Torch's ``nn.SpatialSubtractiveNormalization``):
    ``y = x − S(x)/c`` (see the module docstring for ``S`` and ``c``).

    Backward: ``∂L/∂x = g − Sᵀ(Σ_planes g / c)``.

    Args:
        n_input_plane: the number of planes (channels), default 1.
        kernel: the 1-D or 2-D averaging kernel, odd sizes (default ``ones(9, 9)``).

    Shape: input ``(n, H, W)`` or ``(batch, n, H, W)``; output like the input.

    """

    _scratch = ("_coef",)

    def __init__(self, n_input_plane: int = 1, kernel: Any = None) -> None:
        super().__init__(n_input_plane, kernel)

    def updateOutput(self, input: np.ndarray) -> np.ndarray:
        self.output = resized(self.output, input)
        np.subtract(input, self._sum(input) / self._edge(input), out=self.output)
        return self.output

    def updateGradInput(self, input: np.ndarray, gradOutput: np.ndarray) -> np.ndarray:
        self.gradInput = resized(self.gradInput, input)
        spread = self._sum_transposed(gradOutput.sum(axis=-3, keepdims=True) / self._edge(input))
        np.subtract(gradOutput, spread, out=self.gradInput)
        return self.gradInput


class SpatialDivisiveNormalization(_Local):
    """Divide every plane by the local weighted standard deviation (Torch's
    ``nn.SpatialDivisiveNormalization``): ``σ = √S(x²) / c``; ``t = σ`` where ``σ > threshold``, else
    ``thresval``; ``y = x / t``.

    Backward: ``∂L/∂t = −Σ_planes g x / t²`` (0 where thresholded); ``∂L/∂s = ∂L/∂t / (2c√s)`` for
    ``s = S(x²)``; ``∂L/∂x = g / t + 2x Sᵀ(∂L/∂s)``.

    Args:
        n_input_plane: the number of planes (channels), default 1.
        kernel: the 1-D or 2-D averaging kernel, odd sizes (default ``ones(9, 9)``).
        threshold: the least standard deviation divided by (default 1e-4).
        thresval: what replaces a smaller one (default: ``threshold``).

    Shape: input ``(n, H, W)`` or ``(batch, n, H, W)``; output like the input.

    """

    _scratch = ("_coef", "_root", "_divisor", "_kept")

    def __init__(self, n_input_plane: int = 1, kernel: Any = None, threshold: float = 1e-4,
                 thresval: float | None = None) -> None:
        super().__init__(n_input_plane, kernel)
        self.threshold = float(threshold)
        self.thresval = self.threshold if thresval is None else float(thresval)
        self._root: np.ndarray | None = None  # √S(x²)
        self._divisor: np.ndarray | None = None  # t
        self._kept: np.ndarray | None = None  # σ > threshold

    def config(self) -> dict[str, Any]:
        return {**super().config(), "threshold": self.threshold, "thresval": self.thresval}

    def updateOutput(self, input: np.ndarray) -> np.ndarray:
        self._root = np.sqrt(self._sum(np.square(input)))
        deviation = self._root / self._edge(input)
        self._kept = deviation > self.threshold
        self._divisor = np.where(self._kept, deviation, np.asarray(self.thresval, dtype=input.dtype))
        self.output = resized(self.output, input)
        np.divide(input, self._divisor, out=self.output)
        return self.output

    def updateGradInput(self, input: np.ndarray, gradOutput: np.ndarray) -> np.ndarray:
        grad_divisor = -(gradOutput * input).sum(axis=-3, keepdims=True) / np.square(self._divisor)
        denominator = 2.0 * self._edge(input) * self._root
        grad_sum = np.divide(grad_divisor, denominator, out=np.zeros_like(grad_divisor),
                             where=self._kept & (self._root > 0))
        self.gradInput = resized(self.gradInput, input)
        np.divide(gradOutput, self._divisor, out=self.gradInput)
        self.gradInput += 2.0 * input * self._sum_transposed(grad_sum)
        return self.gradInput

    def extra_repr(self) -> str:
        return f"{super().extra_repr()}, threshold={self.threshold:g}"


class SpatialContrastiveNormalization(Module):
    """Subtractive then divisive local normalisation with one kernel (Torch's
    ``nn.SpatialContrastiveNormalization``): ``y = D(x − S(x)/c)``, ``D`` the divisive normalisation.

    Backward: through the two stages in turn.

    Args:
        n_input_plane: the number of planes (channels), default 1.
        kernel: the 1-D or 2-D averaging kernel, odd sizes (default ``ones(9, 9)``).
        threshold: the least standard deviation divided by (default 1e-4).
        thresval: what replaces a smaller one (default: ``threshold``).

    Shape: input ``(n, H, W)`` or ``(batch, n, H, W)``; output like the input.

    Attributes:
        subtractive, divisive: the two stages.

    """

    def __init__(self, n_input_plane: int = 1, kernel: Any = None, threshold: float = 1e-4,
                 thresval: float | None = None) -> None:
        super().__init__()
        self.subtractive = SpatialSubtractiveNormalization(n_input_plane, kernel)
        self.divisive = SpatialDivisiveNormalization(n_input_plane, kernel, threshold, thresval)
        self.n_input_plane = n_input_plane
        self.threshold, self.thresval = self.divisive.threshold, self.divisive.thresval
        self.register_buffer("kernel", self.divisive.kernel.copy())

    def config(self) -> dict[str, Any]:
        return self.divisive.config()

    def clearState(self) -> Module:
        # the two stages are built from the configuration, not children (nothing in them to train, save or switch)
        self.subtractive.clearState()
        self.divisive.clearState()
        return super().clearState()

    def checkInput(self, input: np.ndarray) -> None:
        self.subtractive.checkInput(input)

    def updateOutput(self, input: np.ndarray) -> np.ndarray:
        self.output = self.divisive.forward(self.subtractive.forward(input))
        return self.output

    def updateGradInput(self, input: np.ndarray, gradOutput: np.ndarray) -> np.ndarray:
        inner = self.divisive.updateGradInput(self.subtractive.output, gradOutput)
        self.gradInput = self.subtractive.updateGradInput(input, inner)
        return self.gradInput

    def extra_repr(self) -> str:
        return self.divisive.extra_repr()
