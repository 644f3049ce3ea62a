"""Batch normalisation of features (``BatchNormalization``) and of planes (``SpatialBatchNormalization``)."""

from __future__ import annotations

from typing import Any

import numpy as np

from ember.nn.module import Module, resized


class BatchNormalization(Module):
    """Normalise each feature over the batch, then scale and shift (Torch's ``nn.BatchNormalization``).

    Training: ``x̂ = (x − μ) / √(σ² + eps)`` with ``μ``, ``σ²`` the mean and the *biased* variance of each
    feature over the batch (and, for ``SpatialBatchNormalization``, over the positions); ``y = γ x̂ + β``.
    The running statistics move towards the batch's, as Torch does:
    ``running_mean ← (1 − momentum) · running_mean + momentum · μ`` and
    ``running_var ← (1 − momentum) · running_var + momentum · σ²·m/(m − 1)`` (the *unbiased* variance, ``m``
    values per feature). Evaluation (``evaluate()``): ``x̂ = (x − running_mean) / √(running_var + eps)``, and
    the running statistics stay as they are.

    Backward (training): ``∂L/∂x = γ / (m √(σ² + eps)) · (m g − Σ g − x̂ Σ g x̂)``, sums over the ``m`` values
    of each feature; (evaluation): ``∂L/∂x = γ g / √(running_var + eps)``.
    ``∂L/∂γ += scale · Σ g x̂``; ``∂L/∂β += scale · Σ g``.

    Args:
        n_output: number of features (channels) ``C``.
        eps: added to the variance (default ``1e-5``).
        momentum: weight of the batch statistics in the running ones (default ``0.1``).
        affine: whether to learn ``γ`` (``weight``) and ``β`` (``bias``) (default ``True``).

    Shape: input ``(batch, C)``; in evaluation mode also one example ``(C,)``. Training needs more than one
    value per feature.

    Attributes:
        weight, bias: ``(C,)``, initialised to ones and zeros as PyTorch does (Lua Torch drew the weight
            from uniform(0, 1)); ``None`` without ``affine``.
        running_mean, running_var: ``(C,)``, initialised to zeros and ones; persistent state that
            ``type()`` converts and ``ember.io`` saves (declared buffers).

    """

    _scratch = ("_normalized", "_work", "save_mean", "save_std")
    #: number of dimensions of a batched input.
    _n_dim = 2

    def __init__(self, n_output: int, eps: float = 1e-5, momentum: float = 0.1, affine: bool = True) -> None:
        super().__init__()
        self.n_output, self.eps, self.momentum, self.affine = n_output, eps, momentum, affine
        self.register_parameter("weight", np.empty(n_output) if affine else None)
        self.register_parameter("bias", np.empty(n_output) if affine else None)
        self.register_buffer("running_mean", np.zeros(n_output))
        self.register_buffer("running_var", np.ones(n_output))
        self.save_mean = self.save_std = None
        self._normalized = self._work = None
        self.reset()

    def config(self) -> dict[str, Any]:
        return {"n_output": self.n_output, "eps": self.eps, "momentum": self.momentum, "affine": self.affine}

    def reset(self, rng: int | np.random.Generator | None = None, *, stdv: float | None = None) -> BatchNormalization:
        """``weight`` ← 1, ``bias`` ← 0, ``running_mean`` ← 0, ``running_var`` ← 1 (deterministic: no ``rng``)."""
        if self.affine:
            self.weight.fill(1)
            self.bias.fill(0)
        self.running_mean.fill(0)
        self.running_var.fill(1)
        return self

    def _expected(self) -> str:
        if self._n_dim == 2:
            return f"(batch, {self.n_output})"
        return f"(batch, {self.n_output}, H, W)"

    def checkInput(self, input: np.ndarray) -> None:
        super().checkInput(input)
        batched = input.ndim == self._n_dim
        if not (batched or input.ndim == self._n_dim - 1) or input.shape[int(batched)] != self.n_output:
            single = self._expected().replace("(batch, ", "(")
            self.fail(f"expected input of shape {self._expected()}, or {single} in evaluation mode, got {input.shape}")
        if input.dtype != self.running_mean.dtype:
            self.fail(f"expected input of dtype {self.running_mean.dtype} (the running statistics'), "
                      f"got {input.dtype}; convert the input or call .type({input.dtype.name!r})", TypeError)

    def _layout(self, input: np.ndarray) -> tuple[np.ndarray, tuple[int, ...], tuple[int, ...], int]:
        """The input as a batch, the axes to reduce, the shape of per-feature statistics, and the count m."""
        x = input if input.ndim == self._n_dim else input[None]
        axes = (0,) + tuple(range(2, x.ndim))
        stat_shape = (self.n_output,) + (1,) * (x.ndim - 2)
        return x, axes, stat_shape, x.size // self.n_output

    def updateOutput(self, input: np.ndarray) -> np.ndarray:
        x, axes, stat_shape, m = self._layout(input)
        if self.train:
            if input.ndim != self._n_dim:
                self.fail(f"training needs a batch {self._expected()}, got {input.shape}; "
                          f"call evaluate() to normalise single examples")
            if m < 2:
                self.fail(f"training needs more than one value per feature, got input of shape {input.shape}")
            mean = x.mean(axis=axes)
            centered = self._work = resized(self._work, x)
            np.subtract(x, mean.reshape(stat_shape), out=centered)
            var = np.square(centered).mean(axis=axes)
            self.save_mean, self.save_std = mean, 1.0 / np.sqrt(var + self.eps)
            self.running_mean *= 1 - self.momentum
            self.running_mean += self.momentum * mean
            self.running_var *= 1 - self.momentum
            self.running_var += (self.momentum * m / (m - 1)) * var
            std = self.save_std
        else:
            centered = self._work = resized(self._work, x)
            np.subtract(x, self.running_mean.reshape(stat_shape), out=centered)
            std = 1.0 / np.sqrt(self.running_var + self.eps)
        normalized = self._normalized = resized(self._normalized, x)
        np.multiply(centered, std.reshape(stat_shape), out=normalized)
        self.output = resized(self.output, input)
        out = self.output.reshape(x.shape)
        if self.affine:
            np.multiply(normalized, self.weight.reshape(stat_shape), out=out)
            out += self.bias.reshape(stat_shape)
        else:
            out[...] = normalized
        return self.output

    def updateGradInput(self, input: np.ndarray, gradOutput: np.ndarray) -> np.ndarray:
        x, axes, stat_shape, m = self._layout(input)
        g = gradOutput.reshape(x.shape)
        self.gradInput = resized(self.gradInput, input)
        grad = self.gradInput.reshape(x.shape)
        if self.train:
            std = self.save_std
            normalized = self._normalized
            sum_g = g.sum(axis=axes)
            sum_gx = np.multiply(g, normalized, out=self._work).sum(axis=axes)
            np.multiply(normalized, (sum_gx / m).reshape(stat_shape), out=grad)
            grad += (sum_g / m).reshape(stat_shape)
            np.subtract(g, grad, out=grad)
        else:
            std = 1.0 / np.sqrt(self.running_var + self.eps)
            grad[...] = g
        factor = std if not self.affine else std * self.weight
        grad *= factor.reshape(stat_shape)
        return self.gradInput

    def accGradParameters(self, input: np.ndarray, gradOutput: np.ndarray, scale: float = 1.0) -> None:
        if not self.affine:
            return
        x, axes, _, _ = self._layout(input)
        g = gradOutput.reshape(x.shape)
        self.gradWeight += scale * np.multiply(g, self._normalized, out=self._work).sum(axis=axes)
        self.gradBias += scale * g.sum(axis=axes)

    def extra_repr(self) -> str:
        text = f"{self.n_output}"
        if self.eps != 1e-5:
            text += f", eps={self.eps:g}"
        if self.momentum != 0.1:
            text += f", momentum={self.momentum:g}"
        return text + ("" if self.affine else ", affine=False")


class SpatialBatchNormalization(BatchNormalization):
    """Batch normalisation of each plane (channel) over the batch and all positions (Torch's
    ``nn.SpatialBatchNormalization``): ``BatchNormalization`` with the statistics of channel ``c`` taken over
    ``x[:, c, :, :]`` (``m = batch·H·W`` values). Formulas, arguments and attributes as there.

    Shape: input ``(batch, C, H, W)``; in evaluation mode also one example ``(C, H, W)``.
    """

    _n_dim = 4
