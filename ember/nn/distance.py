"""Distance and similarity layers: each output unit compares the input with a learned template
(Torch's ``nn.Cosine``, ``nn.Euclidean``, ``nn.WeightedEuclidean``).
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from ember.nn.module import Module, resized
from ember.random import get_rng

_EPS = 1e-12  # Torch's Cosine adds it to both norms


class _Templates(Module):
    """Shared size checks for ``n_in`` → ``n_out`` template layers; input ``(n_in,)`` or ``(batch, n_in)``."""

    n_in: int
    n_out: int

    def config(self) -> dict[str, Any]:
        return {"n_in": self.n_in, "n_out": self.n_out}

    def checkInput(self, input: np.ndarray) -> None:
        super().checkInput(input)
        if input.ndim not in (1, 2) or input.shape[-1] != self.n_in:
            self.fail(f"expected input of shape ({self.n_in},) or (batch, {self.n_in}), got {input.shape}")

    def extra_repr(self) -> str:
        return f"{self.n_in} -> {self.n_out}"


class Cosine(_Templates):
    """Cosine similarity with each row of ``W`` (Torch's ``nn.Cosine``):
    ``y_j = x·w_j / ((‖x‖ + ε)(‖w_j‖ + ε))``, ε = 1e-12.

    Backward (ε kept in the norms, as Torch): ``∂y_j/∂x = w_j/(‖x‖‖w_j‖) − y_j x/‖x‖²`` and
    ``∂y_j/∂w_j = x/(‖x‖‖w_j‖) − y_j w_j/‖w_j‖²``.

    Args:
        n_in: size of each input example.
        n_out: number of templates (outputs).
        rng: generator for the initialisation (default: the library-wide one).

    Shape: input ``(n_in,)`` or ``(batch, n_in)``; output ``(n_out,)`` or ``(batch, n_out)``.

    Attributes:
        weight: ``(n_out, n_in)``, initialised uniform(−1/√n_out, 1/√n_out) (Torch divides by
            ``weight:size(1)``, which is ``n_out`` here).

    """

    def __init__(self, n_in: int, n_out: int, rng: int | np.random.Generator | None = None) -> None:
        super().__init__()
        self.n_in, self.n_out = n_in, n_out
        self.register_parameter("weight", np.empty((n_out, n_in)))
        self.reset(rng)

    def reset(self, rng: int | np.random.Generator | None = None, *, stdv: float | None = None) -> Cosine:
        """Draw the weight from uniform(−stdv, stdv), stdv = 1/√n_out unless given (Torch's choice)."""
        stdv = 1.0 / math.sqrt(self.n_out) if stdv is None else stdv
        self.weight[...] = get_rng(rng).uniform(-stdv, stdv, self.weight.shape)
        return self

    def _norms(self, input: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """``‖x‖ + ε`` (with a trailing axis of 1) and ``‖w_j‖ + ε``."""
        x_norm = np.linalg.norm(input, axis=-1, keepdims=True) + _EPS
        return x_norm, np.linalg.norm(self.weight, axis=1) + _EPS

    def updateOutput(self, input: np.ndarray) -> np.ndarray:
        x_norm, w_norm = self._norms(input)
        self.output = resized(self.output, input, input.shape[:-1] + (self.n_out,))
        np.dot(input, self.weight.T, out=self.output)
        self.output /= x_norm * w_norm
        return self.output

    def updateGradInput(self, input: np.ndarray, gradOutput: np.ndarray) -> np.ndarray:
        x_norm, w_norm = self._norms(input)
        along = (gradOutput * self.output).sum(axis=-1, keepdims=True)  # Σ_j g_j y_j
        self.gradInput = resized(self.gradInput, input)
        np.dot(gradOutput / w_norm, self.weight, out=self.gradInput)
        self.gradInput -= along * input / x_norm
        self.gradInput /= x_norm
        return self.gradInput

    def accGradParameters(self, input: np.ndarray, gradOutput: np.ndarray, scale: float = 1.0) -> None:
        x_norm, w_norm = self._norms(input)
        g, x, y = gradOutput, input / x_norm, self.output
        if input.ndim == 1:
            g, x, y = g[None], x[None], y[None]
        along = (g * y).sum(axis=0)  # Σ_batch g_j y_j
        grad = (g.T @ x - along[:, None] * self.weight / w_norm[:, None]) / w_norm[:, None]
        self.gradWeight += scale * grad if scale != 1.0 else grad


class Euclidean(_Templates):
    """Euclidean distance to each template ``w_j`` (column ``j`` of ``W``): ``y_j = ‖x − w_j‖``
    (Torch's ``nn.Euclidean``).

    Backward: ``∂y_j/∂x = (x − w_j)/y_j = −∂y_j/∂w_j``, taken as 0 where ``y_j = 0`` (Torch adds 1e-7
    to ``y_j`` instead; ember keeps the exact derivative).

    Args:
        n_in: size of each input example.
        n_out: number of templates (outputs).
        rng: generator for the initialisation (default: the library-wide one).

    Shape: input ``(n_in,)`` or ``(batch, n_in)``; output ``(n_out,)`` or ``(batch, n_out)``.

    Attributes:
        weight: ``(n_in, n_out)`` (Torch's layout: one template per column), initialised
            uniform(−1/√n_in, 1/√n_in).

    """

    _scratch = ("_diff",)

    def __init__(self, n_in: int, n_out: int, rng: int | np.random.Generator | None = None) -> None:
        super().__init__()
        self.n_in, self.n_out = n_in, n_out
        self._diff: np.ndarray | None = None  # x − w_j, shape (..., n_in, n_out)
        self.register_parameter("weight", np.empty((n_in, n_out)))
        self.reset(rng)

    def reset(self, rng: int | np.random.Generator | None = None, *, stdv: float | None = None) -> Euclidean:
        """Draw the weight from uniform(−stdv, stdv), stdv = 1/√n_in unless given."""
        stdv = 1.0 / math.sqrt(self.n_in) if stdv is None else stdv
        self.weight[...] = get_rng(rng).uniform(-stdv, stdv, self.weight.shape)
        return self

    def _scaled(self, diff: np.ndarray) -> np.ndarray:
        """The template differences as the norm sees them (``WeightedEuclidean`` scales them)."""
        return diff

    def updateOutput(self, input: np.ndarray) -> np.ndarray:
        self._diff = input[..., :, None] - self.weight
        self.output = resized(self.output, input, input.shape[:-1] + (self.n_out,))
        np.sqrt(np.square(self._scaled(self._diff)).sum(axis=-2), out=self.output)
        return self.output

    def _ratio(self, gradOutput: np.ndarray) -> np.ndarray:
        """``g_j / y_j`` (0 where ``y_j = 0``), with an axis for the input dimension."""
        ratio = np.divide(gradOutput, self.output, out=np.zeros_like(gradOutput), where=self.output != 0)
        return ratio[..., None, :]

    def _input_term(self, gradOutput: np.ndarray) -> np.ndarray:
        """``g_j ∂y_j/∂x`` for every ``j``, shaped ``(..., n_in, n_out)``."""
        return self._ratio(gradOutput) * self._diff

    def updateGradInput(self, input: np.ndarray, gradOutput: np.ndarray) -> np.ndarray:
        self.gradInput = resized(self.gradInput, input)
        self._input_term(gradOutput).sum(axis=-1, out=self.gradInput)
        return self.gradInput

    def accGradParameters(self, input: np.ndarray, gradOutput: np.ndarray, scale: float = 1.0) -> None:
        term = self._input_term(gradOutput)
        self.gradWeight -= scale * (term if term.ndim == 2 else term.sum(axis=0))


class WeightedEuclidean(Euclidean):
    """Distance to each template with its own diagonal scaling: ``y_j = ‖c_j ⊙ (x − w_j)‖``
    (Torch's ``nn.WeightedEuclidean``).

    Backward: ``∂y_j/∂x = c_j² ⊙ (x − w_j)/y_j = −∂y_j/∂w_j``; ``∂y_j/∂c_j = c_j ⊙ (x − w_j)²/y_j``
    (0 where ``y_j = 0``).

    Args:
        n_in: size of each input example.
        n_out: number of templates (outputs).
        rng: generator for the initialisation (default: the library-wide one).

    Shape: input ``(n_in,)`` or ``(batch, n_in)``; output ``(n_out,)`` or ``(batch, n_out)``.

    Attributes:
        weight: ``(n_in, n_out)`` templates, initialised uniform(−1/√n_in, 1/√n_in).
        diagCov: ``(n_in, n_out)`` scalings ``c_j`` (one column per template), initialised to 1.

    """

    def __init__(self, n_in: int, n_out: int, rng: int | np.random.Generator | None = None) -> None:
        self.diagCov = np.ones((n_in, n_out))
        super().__init__(n_in, n_out, rng)
        self.register_parameter("diagCov", self.diagCov)

    def reset(self, rng: int | np.random.Generator | None = None, *,
              stdv: float | None = None) -> WeightedEuclidean:
        """Draw the weight from uniform(−stdv, stdv), stdv = 1/√n_in unless given; ``diagCov`` ← 1."""
        super().reset(rng, stdv=stdv)
        self.diagCov[...] = 1.0
        return self

    def _scaled(self, diff: np.ndarray) -> np.ndarray:
        return diff * self.diagCov

    def _input_term(self, gradOutput: np.ndarray) -> np.ndarray:
        return self._ratio(gradOutput) * self._diff * np.square(self.diagCov)

    def accGradParameters(self, input: np.ndarray, gradOutput: np.ndarray, scale: float = 1.0) -> None:
        super().accGradParameters(input, gradOutput, scale)
        term = self._ratio(gradOutput) * np.square(self._diff) * self.diagCov
        self.gradDiagCov += scale * (term if term.ndim == 2 else term.sum(axis=0))
