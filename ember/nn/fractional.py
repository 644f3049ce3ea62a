"""Fractional max pooling (Graham, 2014) as Torch's ``nn.SpatialFractionalMaxPooling`` and
``nn.VolumetricFractionalMaxPooling`` and PyTorch's ``FractionalMaxPool2d/3d``: pooling windows of a fixed
size whose starts advance by a pseudo-random non-integer stride, so that an output of any size between
``1`` and ``in − pool + 1`` can be reached.

Along each pooled dimension of input size ``n``, output size ``m`` and window ``k``, each plane of each example
draws a sample ``u`` in ``[0, 1)``; with ``α = (n − k) / (m − 1)`` the window starts are
``start[i] = ⌊(i + u)·α⌋ − ⌊u·α⌋`` for ``i < m − 1`` and ``start[m − 1] = n − k`` (THNN's and ATen's
``generate_intervals``, computed in the input's dtype as they do). The samples are ``randomSamples``:
``(batch, planes, 2)`` ordered ``(W, H)`` for the spatial module, ``(batch, planes, 3)`` ordered ``(T, H, W)``
for the volumetric one — PyTorch's ``_random_samples`` layouts, so both compute the same windows. A one-example
input has a batch of one. New samples are drawn at every forward unless ``fixPoolingRegions()`` (Torch) or
samples were given with ``setRandomSamples`` (reproducible runs, comparison with PyTorch).

Each output is the maximum of its window (the first one in row-major window order on ties, as Torch and
PyTorch); ``indices`` holds its flat 0-based position in its plane (``h·W + w``) or volume. Backward: each
output's gradient goes to that position, summed where windows overlap (one ``bincount``).
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from ember.nn.module import Module, resized
from ember.nn.windows import argmax_last_nan
from ember.random import get_rng


def interval_starts(samples: np.ndarray, size: int, out: int, k: int) -> np.ndarray:
    """The window starts ``(…, out)`` for ``samples`` ``(…)`` along a dimension of ``size`` (in ``samples``'
    dtype, as THNN and ATen compute them).
    """
    dtype = samples.dtype.type
    starts = np.empty(samples.shape + (out,), dtype=np.int64)
    if out > 1:
        alpha = dtype(size - k) / dtype(out - 1)
        steps = np.arange(out - 1, dtype=samples.dtype)
        starts[..., :-1] = (((steps + samples[..., None]) * alpha).astype(np.int64)
                            - (samples * alpha).astype(np.int64)[..., None])
    starts[..., -1] = size - k
    return starts


class _FractionalMaxPooling(Module):
    """Shared machinery; ``pool`` and the ``outputs`` (sizes ≥ 1 or ratios in (0, 1)) are in the order of
    the input's pooled dimensions, ``sample_axes[d]`` is the sample that pooled dimension ``d`` uses.
    """

    _scratch = ("indices",)
    _names: tuple[str, ...] = ()
    sample_axes: tuple[int, ...] = ()

    def __init__(self, pool: tuple[int, ...], outputs: tuple[float, ...], fixed: bool,
                 rng: int | np.random.Generator | None) -> None:
        super().__init__()
        self.pool, self.fixed = pool, bool(fixed)
        self.rng = None if rng is None else get_rng(rng)
        self.outputs, self.ratios = None, tuple(outputs)  # (settled below; what a refusal prints meanwhile)
        if min(pool) < 2:
            self.fail(f"pool sizes must be at least 2 (as Torch), got {pool}")
        sizes = all(float(o).is_integer() and o >= 1 for o in outputs)
        if not sizes and not all(0 < o < 1 for o in outputs):
            self.fail(f"expected output sizes (integers >= 1) or ratios (all strictly between 0 and 1), "
                      f"got {outputs}")
        self.outputs = tuple(int(o) for o in outputs) if sizes else None
        self.ratios = None if sizes else tuple(float(o) for o in outputs)
        self.register_buffer("randomSamples", None)  # the regions' draws: saved, so a loaded model pools the same
        self._given = False  # samples set by setRandomSamples: refuse an input they do not fit
        self.indices: np.ndarray | None = None

    @property
    def n_dims(self) -> int:
        return len(self.pool)

    def fixPoolingRegions(self, val: bool = True) -> _FractionalMaxPooling:
        """Keep the samples (hence the pooling regions) from one forward to the next (Torch's
        ``fixPoolingRegions``); they are redrawn only when the batch or plane count changes.
        """
        self.fixed = bool(val)
        return self

    def setRandomSamples(self, samples: np.ndarray) -> _FractionalMaxPooling:
        """Use ``samples`` ``(batch, planes, n)`` (values in [0, 1); PyTorch's ``_random_samples`` layout) from
        now on, and fix the pooling regions; an input whose batch and plane counts differ is refused.
        """
        samples = np.array(samples, dtype=np.float64)
        if samples.ndim != 3 or samples.shape[-1] != self.n_dims:
            self.fail(f"expected samples of shape (batch, planes, {self.n_dims}), got {samples.shape}")
        if not (np.all(samples >= 0) and np.all(samples < 1)):
            self.fail("expected samples in [0, 1)")
        self.randomSamples, self._given, self.fixed = samples, True, True
        self.recheck()
        return self

    def _output_shape(self, input: np.ndarray) -> tuple[int, ...]:
        if self.outputs is not None:
            return self.outputs
        return tuple(int(s * r) for s, r in zip(input.shape[-self.n_dims:], self.ratios))

    def checkInput(self, input: np.ndarray) -> None:
        super().checkInput(input)
        n = self.n_dims
        names = ", ".join(self._names)
        if input.ndim not in (n + 1, n + 2):
            self.fail(f"expected input of shape (C, {names}) or (batch, C, {names}), got {input.shape}")
        out = self._output_shape(input)
        if min(out) < 1:
            self.fail(f"the ratios {self.ratios} give an empty output {out} for the input {input.shape}")
        if any(o + k - 1 > s for o, k, s in zip(out, self.pool, input.shape[-n:])):
            self.fail(f"output {out} with pool {self.pool} needs an input of at least "
                      f"{tuple(o + k - 1 for o, k in zip(out, self.pool))}, got {input.shape[-n:]}")
        if self._given and self.randomSamples.shape[:2] != self._planes(input):
            self.fail(f"the samples given ({self.randomSamples.shape}) do not fit the input's (batch, planes) "
                      f"{self._planes(input)}")

    def _planes(self, input: np.ndarray) -> tuple[int, int]:
        return (input.shape[0] if input.ndim == self.n_dims + 2 else 1, input.shape[-self.n_dims - 1])

    def _samples(self, input: np.ndarray) -> np.ndarray:
        """The samples for this forward: Torch's rule (new ones unless fixed and still fitting)."""
        shape = self._planes(input) + (self.n_dims,)
        if self.randomSamples is None or not self.fixed or self.randomSamples.shape != shape:
            self.randomSamples = get_rng(self.rng).random(shape)
        return self.randomSamples.astype(input.dtype, copy=False)

    def updateOutput(self, input: np.ndarray) -> np.ndarray:
        n = self.n_dims
        samples = self._samples(input)
        x = input.reshape(self._planes(input) + (math.prod(input.shape[-n:]),))  # (N, C, volume)
        size, out = input.shape[-n:], self._output_shape(input)
        # positions (N, C, o1, k1, …, on, kn) of every window tap, flattened in the plane or volume
        position = np.zeros((1, 1) + (1,) * (2 * n), dtype=np.int64)
        for d in range(n):
            starts = interval_starts(samples[..., self.sample_axes[d]], size[d], out[d], self.pool[d])
            shape = [x.shape[0], x.shape[1]] + [1] * (2 * n)
            shape[2 + 2 * d], shape[3 + 2 * d] = out[d], self.pool[d]
            taps = starts[..., None] + np.arange(self.pool[d])
            position = position * size[d] + taps.reshape(shape)
        order = (0, 1) + tuple(range(2, 2 + 2 * n, 2)) + tuple(range(3, 3 + 2 * n, 2))
        position = position.transpose(order).reshape(x.shape[:2] + out + (math.prod(self.pool),))  # (N, C, *out, ∏pool)
        flat = position.reshape(x.shape[:2] + (math.prod(position.shape[2:]),))
        values = np.take_along_axis(x, flat, axis=-1).reshape(position.shape)
        tap = argmax_last_nan(values)[..., None]  # a NaN wins, the last one, as PyTorch
        self.indices = np.take_along_axis(position, tap, axis=-1)[..., 0].reshape(input.shape[:-n] + out)
        self.output = resized(self.output, input, input.shape[:-n] + out)
        np.copyto(self.output, np.take_along_axis(values, tap, axis=-1)[..., 0].reshape(self.output.shape))
        return self.output

    def updateGradInput(self, input: np.ndarray, gradOutput: np.ndarray) -> np.ndarray:
        n = self.n_dims
        volume = int(np.prod(input.shape[-n:]))
        lead = input.size // volume
        base = (np.arange(lead) * volume).reshape(input.shape[:-n] + (1,) * n)
        sums = np.bincount((self.indices + base).ravel(), weights=gradOutput.ravel(), minlength=input.size)
        self.gradInput = resized(self.gradInput, input)
        np.copyto(self.gradInput, sums.reshape(input.shape))
        return self.gradInput

    def extra_repr(self) -> str:
        target = self.outputs if self.outputs is not None else self.ratios
        return f"pool {'x'.join(map(str, self.pool))}, output {'x'.join(map(str, target))}" + (
            ", fixed" if self.fixed else "")


class SpatialFractionalMaxPooling(_FractionalMaxPooling):
    """Fractional max pooling over planes (Torch's ``nn.SpatialFractionalMaxPooling``, PyTorch's
    ``FractionalMaxPool2d``); see the module docstring for the windows and the samples.

    Args:
        poolSizeW, poolSizeH: the window (at least 2, as Torch).
        outW, outH: the output size (integers >= 1), or reduction ratios strictly between 0 and 1
            (``oW = ⌊W·outW⌋``, ``oH = ⌊H·outH⌋``), as Torch's constructor.
        fixed: keep the pooling regions across forwards (Torch's ``fixPoolingRegions()``).
        rng: generator for the samples (default: the library-wide one).

    Shape: ``(C, H, W)`` or ``(N, C, H, W)`` → ``(C, oH, oW)`` or ``(N, C, oH, oW)``; ``randomSamples``
    ``(N or 1, C, 2)`` ordered ``(W, H)``.

    Example:
        >>> pool = SpatialFractionalMaxPooling(2, 2, 0.7, 0.7, rng=0)
        >>> pool.forward(np.ones((3, 10, 10))).shape
        (3, 7, 7)

    """

    _names = ("H", "W")
    sample_axes = (1, 0)  # H uses sample 1, W sample 0

    def __init__(self, poolSizeW: int, poolSizeH: int, outW: float, outH: float, *, fixed: bool = False,
                 rng: int | np.random.Generator | None = None) -> None:
        super().__init__((poolSizeH, poolSizeW), (outH, outW), fixed, rng)
        self.poolSizeW, self.poolSizeH, self.outW, self.outH = poolSizeW, poolSizeH, outW, outH

    def config(self) -> dict[str, Any]:
        return {"poolSizeW": self.poolSizeW, "poolSizeH": self.poolSizeH, "outW": self.outW, "outH": self.outH,
                "fixed": self.fixed}


class VolumetricFractionalMaxPooling(_FractionalMaxPooling):
    """Fractional max pooling over volumes (Torch's ``nn.VolumetricFractionalMaxPooling``, PyTorch's
    ``FractionalMaxPool3d``); see the module docstring for the windows and the samples.

    Args:
        poolSizeT, poolSizeW, poolSizeH: the window (each at least 2, as Torch).
        outT, outW, outH: the output size (integers >= 1), or reduction ratios strictly between 0 and 1.
        fixed: keep the pooling regions across forwards; rng: generator for the samples.

    Shape: ``(C, T, H, W)`` or ``(N, C, T, H, W)`` → ``(C, oT, oH, oW)`` or ``(N, C, oT, oH, oW)``;
    ``randomSamples`` ``(N or 1, C, 3)`` ordered ``(T, H, W)`` as PyTorch's (Torch's THNN read its
    samples in another order, which only permutes which random number drives which dimension).

    """

    _names = ("T", "H", "W")
    sample_axes = (0, 1, 2)

    def __init__(self, poolSizeT: int, poolSizeW: int, poolSizeH: int, outT: float, outW: float, outH: float, *,
                 fixed: bool = False, rng: int | np.random.Generator | None = None) -> None:
        super().__init__((poolSizeT, poolSizeH, poolSizeW), (outT, outH, outW), fixed, rng)
        self.poolSizeT, self.poolSizeW, self.poolSizeH = poolSizeT, poolSizeW, poolSizeH
        self.outT, self.outW, self.outH = outT, outW, outH

    def config(self) -> dict[str, Any]:
        return {"poolSizeT": self.poolSizeT, "poolSizeW": self.poolSizeW, "poolSizeH": self.poolSizeH,
                "outT": self.outT, "outW": self.outW, "outH": self.outH, "fixed": self.fixed}
