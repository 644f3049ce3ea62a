"""More classification criteria: on logits (``BCEWithLogitsCriterion``, ``MultiLabelSoftMarginCriterion``),
multi-label margins (``MultiLabelMarginCriterion``), per pixel (``SpatialClassNLLCriterion``) and on a
simplex embedding of the classes (``ClassSimplexCriterion``). Labels are 0-based.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from ember.errors import InputError
from ember.nn.criterion import Criterion
from ember.nn.loss import ClassNLLCriterion, MSECriterion, _PointwiseCriterion
from ember.nn.module import resized
from ember.nn.special import expit


def _vector(name: str, values: Any) -> np.ndarray | None:
    array = None if values is None else np.array(values, dtype=np.float64)
    if array is not None and array.ndim != 1:
        raise InputError(f"{name}: expected 1-D weights, got shape {array.shape}")
    return array


class BCEWithLogitsCriterion(_PointwiseCriterion):
    """Binary cross-entropy on logits, numerically stable (PyTorch's ``BCEWithLogitsLoss``).

    Loss: ``ℓ = Σᵢ wᵢ [(1 − tᵢ) xᵢ + lᵢ softplus(−xᵢ)] / n`` with ``lᵢ = 1 + (pᵢ − 1) tᵢ`` (``p`` the
    ``pos_weight``, 1 without), which is ``−wᵢ [pᵢ tᵢ log σ(xᵢ) + (1 − tᵢ) log(1 − σ(xᵢ))]`` without
    computing ``σ``: finite for any logit. ``n`` is the number of elements (1 without ``sizeAverage``).

    Backward: ``∂ℓ/∂xᵢ = wᵢ [(1 − tᵢ) − lᵢ σ(−xᵢ)] / n`` (``= wᵢ (σ(xᵢ) − tᵢ) / n`` without ``pos_weight``).

    Args:
        weights: optional 1-D weights, one per element of the last dimension.
        size_average: divide by the number of elements (sets ``sizeAverage``).
        pos_weight: optional 1-D weights of the positive targets, one per element of the last dimension.

    Shape: input any shape (its last dimension of the weights' size when weighted); target the same.

    """

    _float_attributes = ("weights", "pos_weight")

    def __init__(self, weights: Any = None, size_average: bool = True, pos_weight: Any = None) -> None:
        super().__init__(size_average)
        self.weights = _vector(type(self).__name__, weights)
        self.pos_weight = _vector(type(self).__name__, pos_weight)

    def checkInput(self, input: Any, target: Any) -> None:
        super().checkInput(input, target)
        for name in ("weights", "pos_weight"):
            values = getattr(self, name)
            if values is not None and input.shape[-1:] != values.shape:
                self.fail(f"expected input whose last dimension has {values.size} elements (one per entry of "
                          f"{name}), got {input.shape}")

    def _scale(self, target: np.ndarray) -> Any:
        """``l = 1 + (p − 1) t``, or 1 without ``pos_weight``."""
        return 1.0 if self.pos_weight is None else 1.0 + (self.pos_weight - 1.0) * target

    def updateOutput(self, input: np.ndarray, target: np.ndarray) -> float:
        terms = self._buffer = resized(self._buffer, input)
        np.negative(input, out=terms)
        np.logaddexp(0.0, terms, out=terms)
        terms *= self._scale(target)
        terms += (1.0 - target) * input
        if self.weights is not None:
            terms *= self.weights
        self.output = float(terms.sum()) * self._norm(input)
        return self.output

    def updateGradInput(self, input: np.ndarray, target: np.ndarray) -> np.ndarray:
        grad = self.gradInput = resized(self.gradInput, input)
        np.negative(input, out=grad)
        expit(grad, out=grad)
        grad *= self._scale(target)
        np.subtract(1.0 - target, grad, out=grad)
        grad *= self._norm(input)
        if self.weights is not None:
            grad *= self.weights
        return grad

    def extra_repr(self) -> str:
        parts = [f"{name} of size {v.size}" for name in ("weights", "pos_weight")
                 if (v := getattr(self, name)) is not None]
        return ", ".join(parts)


class MultiLabelSoftMarginCriterion(BCEWithLogitsCriterion):
    """Multi-label logistic loss on class scores (Torch's ``nn.MultiLabelSoftMarginCriterion``).

    Loss: ``ℓ = −Σ_{b,c} w_c [t_bc log σ(x_bc) + (1 − t_bc) log(1 − σ(x_bc))] / n``, ``n`` the number of
    elements (PyTorch's ``multilabel_soft_margin_loss`` with ``reduction='mean'``); computed stably, as
    ``BCEWithLogitsCriterion``.

    Backward: ``∂ℓ/∂x_bc = w_c (σ(x_bc) − t_bc) / n``.

    Args:
        weights: optional 1-D weights, one per class.
        size_average: divide by the number of elements (sets ``sizeAverage``; without it the loss is the
            sum over every element, as Torch's, ``C`` times PyTorch's ``reduction='sum'``).

    Shape: input ``(C,)`` or ``(batch, C)``; target the same shape, of 0/1 values.

    """

    def __init__(self, weights: Any = None, size_average: bool = True) -> None:
        super().__init__(weights, size_average)

    def checkInput(self, input: Any, target: Any) -> None:
        super().checkInput(input, target)
        if input.ndim not in (1, 2):
            self.fail(f"expected input of shape (C,) or (batch, C), got {input.shape}")

    def updateOutput(self, input: np.ndarray, target: np.ndarray) -> float:
        # PyTorch's form, t·(−log σ(x)) + (1 − t)·(−log σ(−x)), each by logaddexp: a logit −inf with t = 1
        # costs inf there (BCEWithLogits' (1 − t)·x + softplus(−x) has 0·(−inf) = NaN, as PyTorch's has)
        terms = self._buffer = resized(self._buffer, input)
        np.logaddexp(0.0, np.negative(input), out=terms)
        terms *= target
        terms += (1.0 - target) * np.logaddexp(0.0, input)
        if self.weights is not None:
            terms *= self.weights
        self.output = float(terms.sum()) * self._norm(input)
        return self.output


class MultiLabelMarginCriterion(Criterion):
    """Multi-class multi-label hinge loss (Torch's ``nn.MultiLabelMarginCriterion``, PyTorch's
    ``MultiLabelMarginLoss``).

    The target row lists the example's classes (0-based), ended by the first ``−1`` (Lua's 0): for
    ``[3, 0, −1, 1]`` the classes are 3 and 0. With ``J`` those classes and ``I`` the others:
    ``ℓ = Σ_b Σ_{j∈J_b} Σ_{i∈I_b} max(0, 1 − (x[b, j] − x[b, i])) / C / n``, ``n`` the batch size.

    Backward: every active term (``x[b, j] − x[b, i] < 1``) adds ``−1/(C n)`` to ``∂ℓ/∂x[b, j]`` and
    ``+1/(C n)`` to ``∂ℓ/∂x[b, i]``.

    Args:
        size_average: divide by the batch size (sets ``sizeAverage``).

    Shape: input ``(C,)`` or ``(batch, C)``; target an integer array of the same shape.

    """

    _scratch = ("_active", "_count")

    def __init__(self, size_average: bool = True) -> None:
        super().__init__()
        self.sizeAverage = size_average
        self._active = self._count = None

    def checkInput(self, input: Any, target: Any) -> None:
        super().checkInput(input, target)
        if input.ndim not in (1, 2):
            self.fail(f"expected input of shape (C,) or (batch, C), got {input.shape}")
        if not isinstance(target, np.ndarray) or not np.issubdtype(target.dtype, np.integer):
            self.fail("expected an integer array of class labels (0-based, ended by -1) as target", TypeError)
        if target.shape != input.shape:
            self.fail(f"expected a target of the input's shape {input.shape}, got {target.shape}")

    def _terms(self, input: np.ndarray, target: np.ndarray) -> np.ndarray:
        """The hinge ``h[b, j, i]`` weighted by how often ``j`` is listed (0 for ``i`` a target)."""
        x, t = np.atleast_2d(input), np.atleast_2d(target)
        n, classes = x.shape
        listed = np.minimum.accumulate(t >= 0, axis=1)
        if np.any(t[listed] >= classes):
            self.fail(f"target {t[listed].max()} out of range for {classes} classes (labels are 0-based)",
                      IndexError)
        count = np.zeros((n, classes), dtype=x.dtype)
        rows = np.broadcast_to(np.arange(n)[:, None], t.shape)
        np.add.at(count, (rows[listed], t[listed]), 1.0)
        hinge = 1.0 - x[:, :, None] + x[:, None, :]
        self._active = (hinge > 0) * count[:, :, None] * (count == 0)[:, None, :]
        return np.maximum(hinge, 0.0) * self._active

    def _norm(self, input: np.ndarray) -> float:
        n = input.shape[0] if input.ndim == 2 and self.sizeAverage else 1
        return 1.0 / (input.shape[-1] * n)

    def updateOutput(self, input: np.ndarray, target: np.ndarray) -> float:
        self.output = float(self._terms(input, target).sum()) * self._norm(input)
        return self.output

    def updateGradInput(self, input: np.ndarray, target: np.ndarray) -> np.ndarray:
        self._terms(input, target)
        active = self._active
        grad = self.gradInput = resized(self.gradInput, input)
        rows = np.atleast_2d(grad)
        np.subtract(active.sum(axis=1), active.sum(axis=2), out=rows)
        grad *= self._norm(input)
        return grad


class SpatialClassNLLCriterion(ClassNLLCriterion):
    """Negative log-likelihood of the target class at every pixel (Torch's ``nn.SpatialClassNLLCriterion``,
    PyTorch's ``nll_loss`` on images).

    Loss: ``ℓ = −Σ_{b,h,w} w[t] x[b, t, h, w] / n`` with ``t = t[b, h, w]``, ``n = Σ w[t]`` over the pixels
    (their number without weights) when ``sizeAverage``.

    Backward: ``∂ℓ/∂x[b, t, h, w] = −w[t] / n``; 0 for the other classes.

    Args:
        weights: optional 1-D array of one weight per class.
        size_average: divide by the (weighted) number of pixels (sets ``sizeAverage``).

    Shape: input ``(C, H, W)`` or ``(batch, C, H, W)`` of log-probabilities; target ``(H, W)`` or
    ``(batch, H, W)`` integer labels.

    """

    class_axis = -3

    def checkInput(self, input: Any, target: Any) -> None:
        Criterion.checkInput(self, input, target)
        if input.ndim not in (3, 4):
            self.fail(f"expected input of shape (C, H, W) or (batch, C, H, W), got {input.shape}")
        if not isinstance(target, np.ndarray) or not np.issubdtype(target.dtype, np.integer):
            self.fail("expected an integer array of class labels (0-based) as target", TypeError)
        expected = input.shape[:-3] + input.shape[-2:]
        if target.shape != expected:
            self.fail(f"expected a target of shape {expected} for input of shape {input.shape}, got {target.shape}")
        if self.weights is not None and self.weights.size != input.shape[-3]:
            self.fail(f"has {self.weights.size} class weights but the input has {input.shape[-3]} classes")

    def _picked(self, input: np.ndarray, target: np.ndarray) -> tuple[np.ndarray, Any, float]:
        classes = input.shape[-3]
        if target.size and (target.min() < 0 or target.max() >= classes):
            bad = target[(target < 0) | (target >= classes)][0]
            self.fail(f"target {bad} out of range for {classes} classes (labels are 0-based)", IndexError)
        labels = target[..., None, :, :]
        weights = None if self.weights is None else self.weights[target]
        if not self.sizeAverage:
            norm = 1.0
        else:
            norm = float(target.size if weights is None else weights.sum())
        return labels, weights, norm

    def updateOutput(self, input: np.ndarray, target: np.ndarray) -> float:
        labels, weights, norm = self._picked(input, target)
        picked = np.take_along_axis(input, labels, axis=-3)[..., 0, :, :]
        self.output = -float((picked if weights is None else weights * picked).sum()) / norm
        return self.output

    def updateGradInput(self, input: np.ndarray, target: np.ndarray) -> np.ndarray:
        labels, weights, norm = self._picked(input, target)
        grad = self.gradInput = resized(self.gradInput, input)
        grad.fill(0.0)
        value = np.full(target.shape, -1.0 / norm) if weights is None else weights * (-1.0 / norm)
        np.put_along_axis(grad, labels, value[..., None, :, :], axis=-3)
        return grad


class ClassSimplexCriterion(MSECriterion):
    """Mean squared error to a simplex embedding of the classes (Torch's ``nn.ClassSimplexCriterion``).

    Class ``c`` is the ``c``-th vertex ``s_c`` of a regular simplex centred at 0 with unit-norm vertices,
    embedded in ``n_classes`` dimensions (one more than the minimum, which Torch found critical).

    Loss: ``ℓ = Σ (x − s_t)² / n`` (MSE, ``n`` the number of elements). Backward: ``2 (x − s_t) / n``.
    Predictions: ``getPredictions(x) = x · Sᵀ`` (scores per class), ``getTopPrediction(x)`` their argmax.

    Args:
        n_classes: the number of classes, at least 2.

    Shape: input ``(n_classes,)`` with an ``int`` label, or ``(batch, n_classes)`` with labels ``(batch,)``.

    Attributes:
        simplex: ``(n_classes, n_classes)``, row ``c`` is the embedding of class ``c``.

    """

    _float_attributes = ("simplex",)

    def __init__(self, n_classes: int) -> None:
        super().__init__()
        self.n_classes = n_classes
        if not (isinstance(n_classes, int) and n_classes > 1):
            self.fail(f"n_classes must be an integer > 1, got {n_classes!r}")
        self.simplex = np.zeros((n_classes, n_classes))
        self.simplex[:, : n_classes - 1] = _regular_simplex(n_classes - 1)

    def checkInput(self, input: Any, target: Any) -> None:
        Criterion.checkInput(self, input, target)
        if input.shape[-1:] != (self.n_classes,) or input.ndim not in (1, 2):
            self.fail(f"expected input of shape ({self.n_classes},) or (batch, {self.n_classes}), got {input.shape}")
        labels = np.asarray(target)
        if not np.issubdtype(labels.dtype, np.integer) or labels.shape != input.shape[:-1]:
            self.fail(f"expected integer labels of shape {input.shape[:-1]} as target, got "
                      f"{getattr(target, 'shape', type(target).__name__)}", TypeError)

    def _target(self, target: Any) -> np.ndarray:
        labels = np.asarray(target)
        if labels.size and (labels.min() < 0 or labels.max() >= self.n_classes):
            self.fail(f"target out of range for {self.n_classes} classes (labels are 0-based)", IndexError)
        return self.simplex[labels]

    def updateOutput(self, input: np.ndarray, target: Any) -> float:
        return super().updateOutput(input, self._target(target))

    def updateGradInput(self, input: np.ndarray, target: Any) -> np.ndarray:
        return super().updateGradInput(input, self._target(target))

    def getPredictions(self, input: np.ndarray) -> np.ndarray:
        """The score of each class: ``x · Sᵀ``, ``(batch, n_classes)`` (a 1-D input is one row)."""
        return np.atleast_2d(input) @ self.simplex.T

    def getTopPrediction(self, input: np.ndarray) -> np.ndarray:
        """The best class of each example (0-based), ``(batch,)``."""
        return self.getPredictions(input).argmax(axis=1)

    def extra_repr(self) -> str:
        return str(self.n_classes)


def _regular_simplex(n: int) -> np.ndarray:
    """The ``n + 1`` vertices of a regular simplex in ``n`` dimensions, centred at 0, of unit norm (rows).

    Built coordinate by coordinate as Torch's ``regsplex``: vertex ``k`` gets the last non-zero entry
    ``√(1 − ‖its first k entries‖²)``, and the later vertices share the value that keeps the angles equal.
    """
    a = np.zeros((n + 1, n))
    for k in range(n):
        a[k, k] = 1.0 if k == 0 else math.sqrt(1.0 - float(a[k, :k] @ a[k, :k]))
        a[k + 1:, k] = (a[k, k] ** 2 - 1.0 - 1.0 / n) / a[k, k]
    return a
