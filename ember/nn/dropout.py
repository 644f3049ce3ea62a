"""Dropout: zero random elements (``Dropout``) or whole channels (``SpatialDropout``) while training."""

from __future__ import annotations

from typing import Any

import numpy as np

from ember.errors import InputError
from ember.nn.module import Module, resized
from ember.random import get_rng


class Dropout(Module):
    """Inverted dropout (Torch's ``nn.Dropout``, as PyTorch's ``Dropout``).

    Training: ``y = x ⊙ noise`` with ``noise = Bernoulli(1 − p) / (1 − p)`` drawn afresh at each
    ``forward``, so that ``E[y] = x``; evaluation (``evaluate()``): ``y = x``.

    Backward: ``∂L/∂x = g ⊙ noise`` (the mask of the last ``forward``), or ``g`` in evaluation mode.

    Args:
        p: probability of zeroing an element, ``0 ≤ p < 1`` (default 0.5).
        rng: generator for the masks (default: the library-wide one of ``ember.random``, so
            ``ember.random.manual_seed`` makes them reproducible).
        resample: draw a new mask at every training ``forward`` (default ``True``). With ``False``
            the mask is drawn once (again only when the input shape changes) and kept, so the module
            is a fixed function of its input, e.g. for a gradient check.

    Shape: any input; the output has its shape.

    Attributes:
        noise: the last mask, already scaled by ``1/(1 − p)`` (Torch's ``noise``).

    Example:
        >>> d = Dropout(0.5, rng=np.random.default_rng(0))
        >>> sorted(set(d.forward(np.ones(1000)).tolist()))
        [0.0, 2.0]

    """

    _scratch = ("noise",)

    def __init__(self, p: float = 0.5, rng: int | np.random.Generator | None = None, resample: bool = True) -> None:
        super().__init__()
        if not 0 <= p < 1:
            raise InputError(f"{type(self).__name__}: p must be in [0, 1), got {p}")
        self.p, self.resample = p, resample
        self.rng = None if rng is None else get_rng(rng)
        self.noise: np.ndarray | None = None

    def config(self) -> dict[str, Any]:
        return {"p": self.p, "resample": self.resample}

    def _noise_shape(self, input: np.ndarray) -> tuple[int, ...]:
        return input.shape

    def _draw(self, input: np.ndarray) -> np.ndarray:
        """A new mask, scaled, in the reused ``noise`` buffer (in the input's dtype)."""
        noise = self.noise = resized(self.noise, input, self._noise_shape(input))
        rng = get_rng(self.rng)
        if noise.dtype in (np.float32, np.float64):
            rng.random(dtype=noise.dtype, out=noise)
        else:
            noise[...] = rng.random(noise.shape)
        keep = 1 - self.p
        np.less(noise, keep, out=noise)
        noise *= 1 / keep
        return noise

    def updateOutput(self, input: np.ndarray) -> np.ndarray:
        self.output = resized(self.output, input)
        if not self.train:
            np.copyto(self.output, input)
            return self.output
        noise = self.noise
        if (self.resample or noise is None or noise.shape != self._noise_shape(input)
                or noise.dtype != input.dtype):
            noise = self._draw(input)
        return np.multiply(input, noise, out=self.output)

    def updateGradInput(self, input: np.ndarray, gradOutput: np.ndarray) -> np.ndarray:
        self.gradInput = resized(self.gradInput, input)
        if not self.train:
            np.copyto(self.gradInput, gradOutput)
            return self.gradInput
        return np.multiply(gradOutput, self.noise, out=self.gradInput)

    def extra_repr(self) -> str:
        return f"{self.p:g}" + ("" if self.resample else ", resample=False")


class SpatialDropout(Dropout):
    """Inverted dropout of whole channels (Torch's ``nn.SpatialDropout``, PyTorch's ``Dropout2d``).

    Training: ``y[…, c, :, :] = x[…, c, :, :] · noise[…, c]`` with one ``Bernoulli(1 − p) / (1 − p)`` draw per
    channel (of each example), so neighbouring, correlated pixels are dropped together; evaluation: ``y = x``.
    Unlike Lua Torch, which scaled by ``1 − p`` at evaluation, the scaling happens while training, as in
    ``Dropout`` and PyTorch.

    Backward: ``∂L/∂x[…, c, :, :] = g[…, c, :, :] · noise[…, c]``, or ``g`` in evaluation mode.

    Args: as ``Dropout``.

    Shape: input ``(C, H, W)`` or ``(batch, C, H, W)``; ``noise`` is ``(C, 1, 1)`` or ``(batch, C, 1, 1)``.
    """

    def checkInput(self, input: np.ndarray) -> None:
        super().checkInput(input)
        if input.ndim not in (3, 4):
            self.fail(f"expected input of shape (C, H, W) or (batch, C, H, W), got {input.shape}")

    def _noise_shape(self, input: np.ndarray) -> tuple[int, ...]:
        return input.shape[:-2] + (1, 1)
