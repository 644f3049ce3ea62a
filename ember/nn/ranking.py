"""Criteria on pairs: ranking and metric learning (Torch's ``MarginRankingCriterion``,
``CosineEmbeddingCriterion``, ``L1HingeEmbeddingCriterion``, ``DistanceRatioCriterion``).

The input is a table (a list) of two arrays; the gradient is a list of two arrays. A target is ``1``
(similar, or "the first ranks higher") or ``-1``: a number for one example, an array ``(batch,)`` for a
batch. With ``sizeAverage`` (default) a batch's loss is divided by the batch size.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ember.nn.criterion import Criterion
from ember.nn.module import resized
from ember.nn.special import expit


class _PairCriterion(Criterion):
    """Shared checks: a list of two arrays of one shape, a ±1 target (a number, or one per example)."""

    #: the dimensions of one example's arrays (0 for scores, 1 for vectors)
    _example_dims = 1
    _uses_target = True

    def __init__(self, margin: float) -> None:
        super().__init__()
        self.margin = margin
        self.gradInput: Any = []

    def checkInput(self, input: Any, target: Any) -> None:
        if not isinstance(input, (list, tuple)) or len(input) != 2:
            self.fail(f"expected a list of two arrays as input, got {type(input).__name__}", TypeError)
        for x in input:
            super().checkInput(x, target)
        if input[0].shape != input[1].shape:
            self.fail(f"expected two arrays of one shape, got {input[0].shape} and {input[1].shape}")
        dims = self._example_dims
        if input[0].ndim not in (max(dims, 1), dims + 1):
            self.fail(f"expected arrays of {max(dims, 1)} or {dims + 1} dimensions, got shape {input[0].shape}")
        if not self._uses_target:
            return
        batch = input[0].ndim == dims + 1 and (dims or not np.isscalar(target))
        if batch:
            if not isinstance(target, np.ndarray) or target.shape != input[0].shape[:1]:
                self.fail(f"expected a target array of shape ({input[0].shape[0]},) (±1 per example), "
                          f"got {getattr(target, 'shape', type(target).__name__)}")
        elif not np.isscalar(target):
            self.fail(f"expected a number ±1 as target for one example, got {type(target).__name__}", TypeError)

    def _norm(self, target: Any) -> float:
        return 1.0 / np.size(target) if self.sizeAverage else 1.0

    def _grads(self, input: list[np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
        old = self.gradInput if isinstance(self.gradInput, list) and len(self.gradInput) == 2 else [None, None]
        self.gradInput = [resized(old[0], input[0]), resized(old[1], input[1])]
        return self.gradInput[0], self.gradInput[1]

    def type(self, dtype: Any) -> Criterion:
        super().type(dtype)
        self.gradInput = []
        return self

    def clearState(self) -> Criterion:
        super().clearState()
        self.gradInput = []
        return self

    def extra_repr(self) -> str:
        return f"margin={self.margin:g}"


class MarginRankingCriterion(_PairCriterion):
    """Hinge loss on the ranking of two scores (Torch's ``nn.MarginRankingCriterion``).

    Loss: ``ℓ = Σ_b max(0, −y_b (x1_b − x2_b) + margin) / n``; ``y = 1`` means ``x1`` should rank higher.

    Backward: where ``−y (x1 − x2) + margin ≥ 0`` (Torch counts the kink as active),
    ``∂ℓ/∂x1 = −y / n`` and ``∂ℓ/∂x2 = y / n``; elsewhere 0.

    Args:
        margin: the margin (default 1, Torch's; PyTorch's default is 0).

    Shape: one example: ``[x1, x2]`` of shape ``(1,)`` and a number ``y``; a batch: ``(batch,)`` each and
    ``y`` of shape ``(batch,)``.

    """

    _example_dims = 0

    def __init__(self, margin: float = 1.0) -> None:
        super().__init__(margin)

    def _slack(self, input: list[np.ndarray], target: Any) -> np.ndarray:
        return self.margin - target * (input[0] - input[1])

    def updateOutput(self, input: list[np.ndarray], target: Any) -> float:
        self.output = float(np.maximum(self._slack(input, target), 0.0).sum()) * self._norm(target)
        return self.output

    def updateGradInput(self, input: list[np.ndarray], target: Any) -> list[np.ndarray]:
        grad1, grad2 = self._grads(input)
        np.multiply(self._slack(input, target) >= 0, -self._norm(target) * np.asarray(target), out=grad1)
        np.negative(grad1, out=grad2)
        return self.gradInput


class CosineEmbeddingCriterion(_PairCriterion):
    """Cosine-similarity embedding loss (Torch's ``nn.CosineEmbeddingCriterion``).

    With ``c = x1·x2 / √((|x1|² + ε)(|x2|² + ε))``, ``ε = 1e-12`` (Torch's and PyTorch's):
    ``ℓ = Σ_b ℓ_b / n``, ``ℓ_b = 1 − c_b`` if ``y_b = 1``, ``max(0, c_b − margin)`` if ``y_b = −1``.

    Backward: ``∂c/∂x1 = x2 / √(m1 m2) − c x1 / m1`` (``m = |x|² + ε``), and symmetrically; ``∂ℓ/∂x`` is
    ``−∂c/∂x / n`` for ``y = 1``, ``∂c/∂x / n`` for ``y = −1`` where ``c > margin``, else 0.

    Args:
        margin: the margin for dissimilar pairs, in [−1, 1] (default 0).

    Shape: ``[x1, x2]`` of shape ``(D,)`` with a number ``y``, or ``(batch, D)`` with ``y`` ``(batch,)``; ``y``
    is 1 or −1 (any other value, NaN included, is an InputError).

    """

    eps = 1e-12

    def __init__(self, margin: float = 0.0) -> None:
        super().__init__(margin)

    def _parts(self, input: list[np.ndarray]) -> tuple[np.ndarray, ...]:
        x1, x2 = input
        m1 = np.einsum("...i,...i->...", x1, x1) + self.eps
        m2 = np.einsum("...i,...i->...", x2, x2) + self.eps
        root = np.sqrt(m1 * m2)
        return np.einsum("...i,...i->...", x1, x2) / root, m1, m2, root

    def updateOutput(self, input: list[np.ndarray], target: Any) -> float:
        self.check_signs(target)
        cos = self._parts(input)[0]
        losses = np.where(np.equal(target, 1), 1.0 - cos, np.maximum(cos - self.margin, 0.0))
        self.output = float(losses.sum()) * self._norm(target)
        return self.output

    def updateGradInput(self, input: list[np.ndarray], target: Any) -> list[np.ndarray]:
        self.check_signs(target)
        x1, x2 = input
        cos, m1, m2, root = self._parts(input)
        sign = np.where(np.equal(target, 1), -1.0, np.where(cos > self.margin, 1.0, 0.0)) * self._norm(target)
        grad1, grad2 = self._grads(input)
        np.multiply(x2, (sign / root)[..., None], out=grad1)
        grad1 -= x1 * (sign * cos / m1)[..., None]
        np.multiply(x1, (sign / root)[..., None], out=grad2)
        grad2 -= x2 * (sign * cos / m2)[..., None]
        return self.gradInput


class L1HingeEmbeddingCriterion(_PairCriterion):
    """Hinge embedding loss on the L1 distance of two vectors (Torch's ``nn.L1HingeEmbeddingCriterion``).

    With ``d = ‖x1 − x2‖₁``: ``ℓ = d`` if ``y = 1``, ``max(0, margin − d)`` if ``y = −1``; a batch sums
    the examples' losses and divides by the batch size with ``sizeAverage`` (Torch's takes one pair).

    Backward: ``∂ℓ/∂x1 = sign(x1 − x2)`` for ``y = 1``, ``−sign(x1 − x2)`` for ``y = −1`` where
    ``d ≤ margin`` (else 0); ``∂ℓ/∂x2 = −∂ℓ/∂x1``. At ``x1 = x2`` the sign is 0 (Torch picks ±1 at random).

    Args:
        margin: the margin for dissimilar pairs (default 1).

    Shape: ``[x1, x2]`` of shape ``(D,)`` with a number ``y``, or ``(batch, D)`` with ``y`` ``(batch,)``; ``y``
    is 1 or −1 (any other value, NaN included, is an InputError).

    """

    def __init__(self, margin: float = 1.0) -> None:
        super().__init__(margin)

    def updateOutput(self, input: list[np.ndarray], target: Any) -> float:
        self.check_signs(target)
        dist = np.abs(input[0] - input[1]).sum(axis=-1)
        losses = np.where(np.equal(target, 1), dist, np.maximum(self.margin - dist, 0.0))
        self.output = float(losses.sum()) * self._norm(target)
        return self.output

    def updateGradInput(self, input: list[np.ndarray], target: Any) -> list[np.ndarray]:
        self.check_signs(target)
        grad1, grad2 = self._grads(input)
        np.subtract(input[0], input[1], out=grad1)
        dist = np.abs(grad1).sum(axis=-1)
        np.sign(grad1, out=grad1)
        factor = np.where(np.equal(target, 1), 1.0, np.where(dist <= self.margin, -1.0, 0.0)) * self._norm(target)
        grad1 *= factor[..., None]
        np.negative(grad1, out=grad2)
        return self.gradInput


class DistanceRatioCriterion(_PairCriterion):
    """Probabilistic triplet loss on two distances (Torch's ``nn.DistanceRatioCriterion``).

    With ``X`` the distances to similar and ``Y`` to dissimilar examples:
    ``ℓ = −Σ_b log(e^{−X_b} / (e^{−X_b} + e^{−Y_b})) / n = Σ_b softplus(X_b − Y_b) / n``, computed without
    overflow. The target is not used (pass ``None``).

    Backward: ``∂ℓ/∂X = σ(X − Y) / n``, ``∂ℓ/∂Y = −σ(X − Y) / n``.

    Args:
        size_average: divide by the number of distances (default ``True``, sets ``sizeAverage``).

    Shape: ``[X, Y]``, each ``(batch,)``.

    """

    _example_dims = 0
    _uses_target = False

    def __init__(self, size_average: bool = True) -> None:
        super().__init__(0.0)
        self.sizeAverage = size_average

    def _norm(self, target: Any) -> float:
        return 1.0 / self._n if self.sizeAverage else 1.0

    def updateOutput(self, input: list[np.ndarray], target: Any = None) -> float:
        self._n = input[0].shape[0]
        self.output = float(np.logaddexp(0.0, input[0] - input[1]).sum()) * self._norm(target)
        return self.output

    def updateGradInput(self, input: list[np.ndarray], target: Any = None) -> list[np.ndarray]:
        self._n = input[0].shape[0]
        grad1, grad2 = self._grads(input)
        np.subtract(input[0], input[1], out=grad1)
        expit(grad1, out=grad1)
        grad1 *= self._norm(target)
        np.negative(grad1, out=grad2)
        return self.gradInput

    def extra_repr(self) -> str:
        return ""
