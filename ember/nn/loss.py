"""Criteria (losses), with Torch's semantics: ``sizeAverage``, 0-based class labels, batches.

Every criterion maps ``(input, target)`` to a Python float (``self.output``) and
computes ``self.gradInput`` = ∂loss/∂input in ``backward``. Below, ``n`` is the
normaliser that ``sizeAverage`` (default ``True``) divides by: the number of
elements for the point-wise criteria, the number of examples (or the sum of
the examples' class weights) for the classification criteria; with
``sizeAverage = False``, ``n = 1``.

Inputs are ``(n_classes,)`` or ``(batch, n_classes)`` for the classification
criteria, whose targets are an ``int`` label or an integer array ``(batch,)``;
the point-wise criteria take a target of the input's shape. A float32 input
gets a float32 ``gradInput``.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from ember.errors import InputError, InputTypeError
from ember.nn.criterion import Criterion
from ember.nn.module import filled, resized

_INTEGER_LABEL = (int, np.integer)
_UNSIGNED = {1: np.uint8, 2: np.uint16, 4: np.uint32, 8: np.uint64}
#: up to this many classes, a single example's max and Σ exp are taken on Python floats (``tolist``; the sum by
#: ``math.fsum``, correctly rounded): cheaper than a NumPy reduction's call there, dearer beyond.
SMALL_ROW = 32


def _margin_repr(margin: float, default: float = 1.0) -> str:
    return "" if margin == default else f"margin={margin:g}"


# -- point-wise criteria ------------------------------------------------------------------------


class _PointwiseCriterion(Criterion):
    """Shared checks of the criteria that compare input and target element by element."""

    _scratch = ("_buffer",)

    def __init__(self, size_average: bool = True) -> None:
        super().__init__()
        self.sizeAverage = size_average
        self._buffer: np.ndarray | None = None  # scratch for the forward pass

    def checkInput(self, input: Any, target: Any) -> None:
        super().checkInput(input, target)
        if not isinstance(target, np.ndarray):
            self.fail(f"expected a NumPy array as target, got {type(target).__name__}", TypeError)
        if not (np.issubdtype(target.dtype, np.floating) or np.issubdtype(target.dtype, np.integer)):
            self.fail(f"expected a real-valued target, got dtype {target.dtype}", TypeError)
        if target.shape != input.shape:
            self.fail(f"expected a target of the input's shape {input.shape}, got {target.shape}")

    def _norm(self, input: np.ndarray) -> float:
        return 1.0 / input.size if self.sizeAverage else 1.0


class MSECriterion(_PointwiseCriterion):
    """Mean squared error (Torch's ``nn.MSECriterion``).

    Loss: ``ℓ = Σᵢ (xᵢ − tᵢ)² / n``, with ``n`` the number of elements (1 when ``sizeAverage`` is false).

    Backward: ``∂ℓ/∂xᵢ = 2 (xᵢ − tᵢ) / n``.

    Args:
        size_average: divide by the number of elements (sets ``sizeAverage``).

    Shape: input any shape; target the same shape.

    Example:
        >>> MSECriterion().forward(np.zeros(2), np.array([1.0, 3.0]))
        5.0

    """

    def updateOutput(self, input: np.ndarray, target: np.ndarray) -> float:
        diff = self._buffer = resized(self._buffer, input)
        np.subtract(input, target, out=diff)
        # Σ d² as one dot product over the (C-contiguous) buffer: no squared temporary, one pass
        total = float(np.dot(diff.reshape(-1), diff.reshape(-1)))
        self.output = total / input.size if self.sizeAverage else total
        return self.output

    def updateGradInput(self, input: np.ndarray, target: np.ndarray) -> np.ndarray:
        grad = self.gradInput = resized(self.gradInput, input)
        np.subtract(input, target, out=grad)
        np.multiply(grad, 2.0 / input.size if self.sizeAverage else 2.0, out=grad)
        return grad


class AbsCriterion(_PointwiseCriterion):
    """Mean absolute error (Torch's ``nn.AbsCriterion``).

    Loss: ``ℓ = Σᵢ |xᵢ − tᵢ| / n``.

    Backward: ``∂ℓ/∂xᵢ = +1/n`` where ``xᵢ ≥ tᵢ`` (also at the kink, as in Torch), ``−1/n`` elsewhere.

    Args:
        size_average: divide by the number of elements (sets ``sizeAverage``).

    Shape: input any shape; target the same shape.

    """

    def updateOutput(self, input: np.ndarray, target: np.ndarray) -> float:
        diff = self._buffer = resized(self._buffer, input)
        np.subtract(input, target, out=diff)
        np.abs(diff, out=diff)
        self.output = float(diff.sum()) * self._norm(input)
        return self.output

    def updateGradInput(self, input: np.ndarray, target: np.ndarray) -> np.ndarray:
        norm = self._norm(input)
        grad = self.gradInput = resized(self.gradInput, input)
        np.subtract(input, target, out=grad)
        np.greater_equal(grad, 0, out=grad)  # 1 where x ≥ t, else 0
        grad *= 2.0 * norm
        grad -= norm
        return grad


class SmoothL1Criterion(_PointwiseCriterion):
    """Huber loss with threshold 1 (Torch's ``nn.SmoothL1Criterion``).

    Loss: ``ℓ = Σᵢ zᵢ / n`` with ``zᵢ = ½ dᵢ²`` if ``|dᵢ| < 1`` else ``|dᵢ| − ½``, ``dᵢ = xᵢ − tᵢ``.

    Backward: ``∂ℓ/∂xᵢ = clip(dᵢ, −1, 1) / n``.

    Args:
        size_average: divide by the number of elements (sets ``sizeAverage``).

    Shape: input any shape; target the same shape.

    """

    def updateOutput(self, input: np.ndarray, target: np.ndarray) -> float:
        diff = self._buffer = resized(self._buffer, input)
        np.subtract(input, target, out=diff)
        np.abs(diff, out=diff)
        total = np.where(diff < 1.0, 0.5 * diff * diff, diff - 0.5).sum()
        self.output = float(total) * self._norm(input)
        return self.output

    def updateGradInput(self, input: np.ndarray, target: np.ndarray) -> np.ndarray:
        grad = self.gradInput = resized(self.gradInput, input)
        np.subtract(input, target, out=grad)
        np.clip(grad, -1.0, 1.0, out=grad)
        grad *= self._norm(input)
        return grad


class BCECriterion(_PointwiseCriterion):
    """Binary cross-entropy on probabilities (Torch's ``nn.BCECriterion``).

    Loss: ``ℓ = −Σᵢ wᵢ [tᵢ log(xᵢ + ε) + (1 − tᵢ) log(1 − xᵢ + ε)] / n`` with ``ε = 1e-12`` (Torch's
    guard against ``log 0``), ``n`` the number of elements and ``wᵢ = 1`` without weights.

    Backward: ``∂ℓ/∂xᵢ = −wᵢ (tᵢ − xᵢ) / ((1 − xᵢ + ε)(xᵢ + ε)) / n``.

    The input must be probabilities in [0, 1] (e.g. a Sigmoid's output; checked on every call, as
    Torch does); targets are in [0, 1] (hard 0/1 labels or soft ones).

    Args:
        weights: optional 1-D array of one weight per element of the last dimension, shared by
            every example of a batch.
        size_average: divide by the number of elements (sets ``sizeAverage``).

    Shape: input any shape (its last dimension of the weights' size when weighted); target the same.

    """

    output_meaning = "probability"

    _float_attributes = ("weights",)
    eps = 1e-12

    def __init__(self, weights: Any = None, size_average: bool = True) -> None:
        super().__init__(size_average)
        self.weights = None if weights is None else np.array(weights, dtype=np.float64)
        if self.weights is not None and self.weights.ndim != 1:
            self.fail(f"expected 1-D weights, got shape {self.weights.shape}")

    def checkInput(self, input: Any, target: Any) -> None:
        super().checkInput(input, target)
        if self.weights is not None and input.shape[-1:] != self.weights.shape:
            self.fail(f"expected input whose last dimension has {self.weights.size} elements "
                      f"(one per weight), got {input.shape}")

    def updateOutput(self, input: np.ndarray, target: np.ndarray) -> float:
        if input.size and not (input.min() >= 0.0 and input.max() <= 1.0):
            self.fail(f"expected probabilities in [0, 1] as input (e.g. a Sigmoid's output), "
                      f"got values in [{input.min():g}, {input.max():g}]")
        log_x = np.log(input + self.eps)
        log_1mx = np.log(1.0 - input + self.eps)
        terms = log_1mx + target * (log_x - log_1mx)  # t log(x+ε) + (1−t) log(1−x+ε)
        if self.weights is not None:
            terms *= self.weights
        self.output = -float(terms.sum()) * self._norm(input)
        return self.output

    def updateGradInput(self, input: np.ndarray, target: np.ndarray) -> np.ndarray:
        grad = self.gradInput = resized(self.gradInput, input)
        np.subtract(target, input, out=grad)
        grad /= (1.0 - input + self.eps) * (input + self.eps)
        grad *= -self._norm(input)
        if self.weights is not None:
            grad *= self.weights
        return grad

    def extra_repr(self) -> str:
        return "" if self.weights is None else f"weights of size {self.weights.size}"


class MarginCriterion(_PointwiseCriterion):
    """Two-class hinge loss for targets ±1 (Torch's ``nn.MarginCriterion``).

    Loss: ``ℓ = Σᵢ max(0, margin − tᵢ xᵢ) / n``.

    Backward: ``∂ℓ/∂xᵢ = −tᵢ / n`` where ``tᵢ xᵢ < margin``, else 0.

    Args:
        margin: the margin (default 1).
        size_average: divide by the number of elements (sets ``sizeAverage``).

    Shape: input any shape; target the same shape, of values ±1.

    """

    def __init__(self, margin: float = 1.0, size_average: bool = True) -> None:
        super().__init__(size_average)
        self.margin = margin

    def updateOutput(self, input: np.ndarray, target: np.ndarray) -> float:
        slack = self._buffer = resized(self._buffer, input)
        np.multiply(input, target, out=slack)
        np.subtract(self.margin, slack, out=slack)
        np.maximum(slack, 0.0, out=slack)
        self.output = float(slack.sum()) * self._norm(input)
        return self.output

    def updateGradInput(self, input: np.ndarray, target: np.ndarray) -> np.ndarray:
        grad = self.gradInput = resized(self.gradInput, input)
        np.multiply(input, target, out=grad)
        np.less(grad, self.margin, out=grad)  # 1 where the margin is violated
        grad *= target
        grad *= -self._norm(input)
        return grad

    def extra_repr(self) -> str:
        return _margin_repr(self.margin)


class SoftMarginCriterion(_PointwiseCriterion):
    """Two-class logistic loss for targets ±1 (Torch's ``nn.SoftMarginCriterion``).

    Loss: ``ℓ = Σᵢ log(1 + exp(−tᵢ xᵢ)) / n``, computed without overflow.

    Backward: ``∂ℓ/∂xᵢ = −tᵢ σ(−tᵢ xᵢ) / n``, with ``σ(z) = 1 / (1 + e⁻ᶻ)``.

    Args:
        size_average: divide by the number of elements (sets ``sizeAverage``).

    Shape: input any shape; target the same shape, of values ±1.

    """

    def updateOutput(self, input: np.ndarray, target: np.ndarray) -> float:
        z = self._buffer = resized(self._buffer, input)
        np.multiply(input, target, out=z)
        np.negative(z, out=z)
        np.logaddexp(0.0, z, out=z)
        self.output = float(z.sum()) * self._norm(input)
        return self.output

    def updateGradInput(self, input: np.ndarray, target: np.ndarray) -> np.ndarray:
        grad = self.gradInput = resized(self.gradInput, input)
        np.multiply(input, target, out=grad)
        grad *= -0.5
        np.tanh(grad, out=grad)  # σ(−tx) = (1 + tanh(−tx/2)) / 2
        grad += 1.0
        grad *= target
        grad *= -0.5 * self._norm(input)
        return grad


class HingeEmbeddingCriterion(_PointwiseCriterion):
    """Hinge loss on distances for similar (+1) / dissimilar (−1) pairs (Torch's ``nn.HingeEmbeddingCriterion``).

    Loss: ``ℓ = Σᵢ ℓᵢ / n`` with ``ℓᵢ = xᵢ`` if ``tᵢ = 1`` and ``ℓᵢ = max(0, margin − xᵢ)`` if ``tᵢ = −1``.

    Backward: ``∂ℓ/∂xᵢ = 1/n`` if ``tᵢ = 1``; ``−1/n`` if ``tᵢ = −1`` and ``xᵢ ≤ margin``; else 0.

    Args:
        margin: the margin (default 1).
        size_average: divide by the number of elements (sets ``sizeAverage``).

    Shape: input any shape (typically distances ``(batch,)``); target the same shape, of values ±1 (any other
    value, NaN included, is an InputError).

    """

    def __init__(self, margin: float = 1.0, size_average: bool = True) -> None:
        super().__init__(size_average)
        self.margin = margin

    def updateOutput(self, input: np.ndarray, target: np.ndarray) -> float:
        self.check_signs(target)
        similar = np.where(target == 1, input, 0.0).sum()
        dissimilar = np.where(target == -1, np.maximum(self.margin - input, 0.0), 0.0).sum()
        self.output = float(similar + dissimilar) * self._norm(input)
        return self.output

    def updateGradInput(self, input: np.ndarray, target: np.ndarray) -> np.ndarray:
        self.check_signs(target)
        grad = self.gradInput = resized(self.gradInput, input)
        np.copyto(grad, target == 1)
        grad -= (target == -1) & (input <= self.margin)
        grad *= self._norm(input)
        return grad

    def extra_repr(self) -> str:
        return _margin_repr(self.margin)


class DistKLDivCriterion(_PointwiseCriterion):
    """Kullback–Leibler divergence from log-probabilities to probabilities (Torch's ``nn.DistKLDivCriterion``).

    Loss: ``ℓ = Σ_{i: tᵢ>0} tᵢ (log tᵢ − xᵢ) / n``, with ``x`` log-probabilities (e.g. a LogSoftMax's
    output), ``t`` probabilities and ``n`` the number of elements (PyTorch's ``kl_div`` with
    ``reduction='mean'``; ``sizeAverage = False`` is ``reduction='sum'``).

    Backward: ``∂ℓ/∂xᵢ = −tᵢ / n`` where ``tᵢ > 0``, else 0. A NaN target is not skipped, and a skipped term
    is ``0·xᵢ``: a NaN target, or a NaN or infinite input at ``tᵢ ≤ 0``, makes the loss NaN (as PyTorch's).

    Args:
        size_average: divide by the number of elements (sets ``sizeAverage``).

    Shape: input any shape; target the same shape.

    """

    def updateOutput(self, input: np.ndarray, target: np.ndarray) -> float:
        positive = ~(target <= 0)  # t > 0, and NaN: a NaN target makes the loss NaN, as PyTorch's
        log_target = np.log(np.where(positive, target, 1.0))
        # a skipped term is 0·x, not 0: a NaN or infinite input there still makes the loss NaN, as PyTorch's
        total = np.where(positive, target * (log_target - input), 0.0 * input).sum()
        self.output = float(total) * self._norm(input)
        return self.output

    def updateGradInput(self, input: np.ndarray, target: np.ndarray) -> np.ndarray:
        grad = self.gradInput = resized(self.gradInput, input)
        grad.fill(0.0)
        np.multiply(target, -self._norm(input), out=grad, where=~(target <= 0))  # (a −inf target: 0, not NaN)
        return grad


class WeightedMSECriterion(MSECriterion):
    """Mean squared error to a weighted target (Torch's ``nn.WeightedMSECriterion``).

    Loss: ``ℓ = Σᵢ (xᵢ − wᵢ tᵢ)² / n``: as Torch, the weights multiply the *target*; ``w`` has the shape of
    one example and is applied to every example of a batch.

    Backward: ``∂ℓ/∂xᵢ = 2 (xᵢ − wᵢ tᵢ) / n``.

    Args:
        weight: an array of the shape of one example (or of the whole input).
        size_average: divide by the number of elements (sets ``sizeAverage``).

    """

    _float_attributes = ("weight",)
    _scratch = ("_buffer", "_target")

    def __init__(self, weight: Any, size_average: bool = True) -> None:
        super().__init__(size_average)
        self.weight = np.array(weight, dtype=np.float64)
        self._target: np.ndarray | None = None

    def checkInput(self, input: Any, target: Any) -> None:
        super().checkInput(input, target)
        if input.shape[input.ndim - self.weight.ndim:] != self.weight.shape:
            self.fail(f"expected input of the weight's shape {self.weight.shape} or a batch of them, "
                      f"got {input.shape}")

    def _weighted(self, input: np.ndarray, target: np.ndarray) -> np.ndarray:
        self._target = resized(self._target, input)
        return np.multiply(target, self.weight, out=self._target)

    def updateOutput(self, input: np.ndarray, target: np.ndarray) -> float:
        return super().updateOutput(input, self._weighted(input, target))

    def updateGradInput(self, input: np.ndarray, target: np.ndarray) -> np.ndarray:
        return super().updateGradInput(input, self._weighted(input, target))

    def extra_repr(self) -> str:
        return f"weight of shape {self.weight.shape}"


class L1Cost(Criterion):
    """The L1 norm of the input, ``ℓ = Σᵢ |xᵢ|``, as a criterion (Torch's ``nn.L1Cost``): a sparsity
    penalty on activations. The target is not used (``forward(x)``); there is no ``sizeAverage``.

    Backward: ``∂ℓ/∂xᵢ = sign(xᵢ)`` (0 at 0).
    """

    def updateOutput(self, input: np.ndarray, target: Any = None) -> float:
        self.output = float(np.abs(input).sum())
        return self.output

    def updateGradInput(self, input: np.ndarray, target: Any = None) -> np.ndarray:
        self.gradInput = resized(self.gradInput, input)
        return np.sign(input, out=self.gradInput)


# -- classification criteria --------------------------------------------------------------------


class _ClassCriterion(Criterion):
    """Shared checks of the criteria that take per-class scores and 0-based integer labels."""

    output_meaning = "scores"

    _scratch = ("_buffer",)
    _float_attributes = ("weights",)
    _min_classes = 1

    def __init__(self, weights: Any = None, size_average: bool = True) -> None:
        super().__init__()
        self.sizeAverage = size_average
        self._buffer: np.ndarray | None = None  # scratch for the forward pass
        self._index = np.arange(0)  # 0 … batch − 1, kept between calls
        self._checked_labels: Any = None  # the label array the last forward checked
        self.weights = None if weights is None else np.array(weights, dtype=np.float64)
        if self.weights is not None and (self.weights.ndim != 1 or not np.isfinite(self.weights).all()):
            self.fail(f"expected 1-D finite class weights, got {np.array2string(self.weights, threshold=8)}")

    def checkInput(self, input: Any, target: Any) -> None:
        super().checkInput(input, target)
        if input.ndim not in (1, 2):
            self.fail(f"expected input of shape (n_classes,) or (batch, n_classes), got {input.shape}")
        n_classes = input.shape[-1]
        if n_classes < self._min_classes:
            self.fail(f"expected at least {self._min_classes} classes, got input of shape {input.shape}")
        if self.weights is not None and self.weights.size != n_classes:
            self.fail(f"has {self.weights.size} class weights but the input has {n_classes} classes")
        if isinstance(target, np.ndarray):
            if not np.issubdtype(target.dtype, np.integer):
                self.fail(f"expected integer class labels (0-based) as target, got dtype {target.dtype}",
                          TypeError)
            if input.ndim == 1 and target.size != 1:
                self.fail(f"expected one label as target for input of shape {input.shape}, "
                          f"got an array of shape {target.shape}")
            if input.ndim == 2 and target.shape != input.shape[:1]:
                self.fail(f"expected a target of shape ({input.shape[0]},) (one label per example) "
                          f"for input of shape {input.shape}, got {target.shape}")
        elif input.ndim == 2:
            self.fail(f"expected an integer array of shape ({input.shape[0]},) as target, "
                      f"got {type(target).__name__}", TypeError)
        elif not isinstance(target, _INTEGER_LABEL) or isinstance(target, bool):
            self.fail(f"expected an integer class label (0-based) as target, got {type(target).__name__}",
                      TypeError)

    def _label(self, input: np.ndarray, target: Any) -> int:
        """The label of a single example (an ``int``, or a one-element integer array), checked to be in range."""
        label = int(target) if type(target) is not np.ndarray else int(target.reshape(-1)[0])
        if not 0 <= label < input.shape[0]:
            self.fail(f"target {label} out of range for {input.shape[0]} classes (labels are 0-based)", IndexError)
        return label

    def _labels(self, input: np.ndarray, target: Any, backward: bool = False) -> tuple[Any, Any]:
        """``(rows, labels)`` indexing each example's target score in ``_rows(input)``: ``(0, label)``
        for a single example (plain ints, the fast path), ``(arange(batch), labels)`` for a batch.
        Raises if a label is out of range: on every forward (the values matter), and in backward
        unless it is given the very array its forward checked.
        """
        if input.ndim == 1:
            return 0, self._label(input, target)
        n_classes = input.shape[-1]
        # Seen as unsigned, a negative label is huge: one reduction checks both ends of the range (a few labels:
        # their min and max as Python ints, cheaper than the reduction's call).
        if not (backward and target is self._checked_labels) and target.size and (
                (min(values := target.tolist()) < 0 or max(values) >= n_classes) if target.size <= SMALL_ROW
                else np.maximum.reduce(target.view(_UNSIGNED[target.dtype.itemsize])) >= n_classes):
            bad = target[(target < 0) | (target >= n_classes)][0]
            self.fail(f"target {bad} out of range for {n_classes} classes (labels are 0-based)", IndexError)
        self._checked_labels = target
        if self._index.size != target.size:
            self._index = np.arange(target.size)
        return self._index, target

    def _example_weights(self, input: np.ndarray, labels: Any) -> tuple[Any, float]:
        """The weight of each example's class (``None`` without weights) and the normaliser ``n``."""
        if self.weights is None:
            return None, float(self._n_examples(input))
        weights = self.weights[labels]
        if not self.sizeAverage:
            return weights, 1.0
        norm = _total(weights)
        if norm == 0.0:
            self.fail(f"the class weights of the target labels sum to 0 (labels {np.unique(labels).tolist()}): "
                      f"the weighted mean is undefined; give those classes weight, or set sizeAverage = False")
        return weights, norm

    def _n_examples(self, input: np.ndarray) -> int:
        """The divisor of the unweighted criteria: the batch size when ``sizeAverage``, else 1."""
        return (input.shape[0] if input.ndim == 2 else 1) if self.sizeAverage else 1


def _total(values: Any) -> float:
    """The sum of an array, or a NumPy scalar itself, as a float (``np.sum`` of a scalar is slow)."""
    return float(values.sum()) if isinstance(values, np.ndarray) else float(values)


def _rows(array: np.ndarray) -> np.ndarray:
    """A 1-D array of scores viewed as one row, a 2-D one as it is (a view either way)."""
    return array if array.ndim == 2 else array[None]


class ClassNLLCriterion(_ClassCriterion):
    """Negative log-likelihood of the target class (Torch's ``nn.ClassNLLCriterion``).

    Loss: ``ℓ = −Σ_b w[t_b] x[b, t_b] / n``, with ``x`` log-probabilities (e.g. a LogSoftMax's output),
    ``w[c] = 1`` without weights, and ``n = Σ_b w[t_b]`` (the batch size without weights) when
    ``sizeAverage``.

    Backward: ``∂ℓ/∂x[b, t_b] = −w[t_b] / n``; 0 for the other classes.

    Args:
        weights: optional 1-D array of one weight per class.
        size_average: divide by the (weighted) number of examples (sets ``sizeAverage``).

    Shape: input ``(n_classes,)`` or ``(batch, n_classes)``; target an ``int`` label or an integer
    array ``(batch,)`` of labels in ``0 … n_classes − 1``.

    Example:
        >>> ClassNLLCriterion().forward(np.log([[0.5, 0.5], [0.2, 0.8]]), np.array([0, 1]))  # doctest: +ELLIPSIS
        0.458...

    """

    def updateOutput(self, input: np.ndarray, target: Any) -> float:
        if input.ndim == 1 and self.weights is None:  # one example (per-example SGD): n = 1
            self.output = -input.item(self._label(input, target))
            return self.output
        rows, labels = self._labels(input, target)
        picked = _rows(input)[rows, labels]
        weights, norm = self._example_weights(input, labels)
        self.output = -_total(picked if weights is None else weights * picked) / norm
        return self.output

    def updateGradInput(self, input: np.ndarray, target: Any) -> np.ndarray:
        grad = self.gradInput = resized(self.gradInput, input)
        if input.ndim == 1 and self.weights is None:
            label = self._label(input, target)
            grad.fill(0.0)
            grad[label] = -1.0
            return grad
        rows, labels = self._labels(input, target, backward=True)
        weights, norm = self._example_weights(input, labels)
        grad.fill(0.0)
        _rows(grad)[rows, labels] = -1.0 / norm if weights is None else weights * (-1.0 / norm)
        return grad


class CrossEntropyCriterion(_ClassCriterion):
    """LogSoftMax and ClassNLL in one, numerically stable (Torch's ``nn.CrossEntropyCriterion``).

    Loss: ``ℓ = −Σ_b w[t_b] log p[b, t_b] / n`` with ``log p[b] = x[b] − max x[b] − log Σ_c exp(x[b, c] − max x[b])``
    (no overflow for large scores) and ``n`` as in ClassNLLCriterion.

    Backward: ``∂ℓ/∂x[b, c] = w[t_b] (p[b, c] − [c = t_b]) / n``, from the log-probabilities stored by
    ``forward`` (call it first, with the same input).

    Args:
        weights: optional 1-D array of one weight per class.
        size_average: divide by the (weighted) number of examples (sets ``sizeAverage``).

    Shape: input ``(n_classes,)`` or ``(batch, n_classes)`` of scores; target an ``int`` label or an
    integer array ``(batch,)``.

    """

    _scratch = ("_buffer", "_exp", "_row", "_ones")
    _backward_reads_forward = True

    def __init__(self, weights: Any = None, size_average: bool = True) -> None:
        super().__init__(weights, size_average)
        self._exp: np.ndarray | None = None  # scratch for exp(x − max x)
        self._row: np.ndarray | None = None  # scratch for a batch's max and Σ per example
        self._ones: np.ndarray | None = None  # (n_classes,) ones: Σ_c e = e 1

    def updateOutput(self, input: np.ndarray, target: Any) -> float:
        log_prob = self._buffer = resized(self._buffer, input)
        if input.ndim == 1:  # one example (per-example SGD): whole-array reductions, no keepdims temporaries
            label = self._label(input, target)
            exp = self._exp = resized(self._exp, input)
            if input.shape[0] <= SMALL_ROW:  # a few classes: max and Σ on Python floats (a NumPy reduction costs more)
                np.subtract(input, max(input.tolist()), log_prob)  # (a NaN anywhere makes Σ, so the loss, NaN)
                np.exp(log_prob, exp)
                np.subtract(log_prob, math.log(math.fsum(exp.tolist())), log_prob)
            else:
                np.subtract(input, np.maximum.reduce(input), out=log_prob)
                np.exp(log_prob, out=exp)
                log_prob -= math.log(np.add.reduce(exp))
            if self.weights is None:  # n = 1
                self.output = -log_prob.item(label)
                return self.output
            index, labels = 0, label
        else:
            index, labels = self._labels(input, target)
            row = self._row = resized(self._row, input, input.shape[:1])
            np.maximum.reduce(input, 1, None, row)
            np.subtract(input, row[:, None], out=log_prob)
            exp = self._exp = resized(self._exp, input)
            np.exp(log_prob, out=exp)
            ones = self._ones = filled(self._ones, input, 1.0, input.shape[1:])
            np.dot(exp, ones, out=row)  # Σ_c by BLAS (a NumPy row reduction costs 2–4× more on small batches)
            log_prob -= np.log(row, out=row)[:, None]
        picked = _rows(log_prob)[index, labels]
        if self.weights is None and input.ndim == 2:  # a batch, unweighted: Σ of a few by fsum (as _total, cheaper)
            total = math.fsum(picked.tolist()) if picked.size <= SMALL_ROW else float(np.add.reduce(picked))
            self.output = -total / input.shape[0] if self.sizeAverage else -total
            return self.output
        weights, norm = self._example_weights(input, labels)
        self.output = -_total(picked if weights is None else weights * picked) / norm
        return self.output

    def updateGradInput(self, input: np.ndarray, target: Any) -> np.ndarray:
        grad = self.gradInput = resized(self.gradInput, input)
        if input.ndim == 1 and self.weights is None:  # n = 1
            label = self._label(input, target)
            np.exp(self._buffer, grad)
            grad[label] -= 1.0
            return grad
        index, labels = self._labels(input, target, backward=True)
        weights, norm = self._example_weights(input, labels)
        rows = _rows(grad)
        np.exp(_rows(self._buffer), out=rows)
        rows[index, labels] -= 1.0
        if weights is None:
            if norm != 1.0:
                rows *= 1.0 / norm
        else:
            rows *= np.reshape(weights / norm, (-1, 1))
        return grad


class MultiMarginCriterion(_ClassCriterion):
    """Multi-class margin loss, summed over the wrong classes (Torch's ``nn.MultiMarginCriterion``).

    Loss: ``ℓ = Σ_b Σ_{c ≠ t_b} w[t_b] max(0, margin − x[b, t_b] + x[b, c])ᵖ / n_classes / n``, with
    ``p`` 1 or 2, ``w = 1`` without weights and ``n`` the batch size (not the weights' sum).

    Backward: with ``z = margin − x[b, t_b] + x[b, c] > 0``, ``∂ℓ/∂x[b, c] = w[t_b] p zᵖ⁻¹ / n_classes / n``
    and ``∂ℓ/∂x[b, t_b] = −Σ_{c ≠ t_b}`` of those; 0 where ``z ≤ 0``.

    Args:
        p: 1 (hinge) or 2 (squared hinge).
        weights: optional 1-D array of one weight per class.
        margin: the margin (default 1).
        size_average: divide by the batch size (sets ``sizeAverage``).

    Shape: input ``(n_classes,)`` or ``(batch, n_classes)``; target an ``int`` label or an integer
    array ``(batch,)``.

    """

    def __init__(self, p: int = 1, weights: Any = None, margin: float = 1.0, size_average: bool = True) -> None:
        if p not in (1, 2):
            raise InputError(f"MultiMarginCriterion: expected p = 1 or 2, got {p!r}")
        super().__init__(weights, size_average)
        self.p, self.margin = p, margin

    def _slack(self, input: np.ndarray, index: Any, labels: np.ndarray) -> np.ndarray:
        """``z[b, c] = margin − x[b, t_b] + x[b, c]``, zero in each target column."""
        x = _rows(input)
        slack = self.margin - x[index, labels][:, None] + x
        slack[index, labels] = 0.0
        return slack

    def updateOutput(self, input: np.ndarray, target: Any) -> float:
        index, labels = self._labels(input, target)
        labels = np.atleast_1d(labels)
        hinge = np.maximum(self._slack(input, index, labels), 0.0)
        if self.p == 2:
            hinge *= hinge
        if self.weights is not None:
            hinge *= self.weights[labels][:, None]
        self.output = float(hinge.sum()) / (input.shape[-1] * self._n_examples(input))
        return self.output

    def updateGradInput(self, input: np.ndarray, target: Any) -> np.ndarray:
        index, labels = self._labels(input, target, backward=True)
        labels = np.atleast_1d(labels)
        slack = self._slack(input, index, labels)
        grad = self.gradInput = resized(self.gradInput, input)
        rows = _rows(grad)
        if self.p == 1:
            np.greater(slack, 0.0, out=rows)
        else:
            np.maximum(slack, 0.0, out=rows)
            rows *= 2.0
        rows *= 1.0 / (input.shape[-1] * self._n_examples(input))
        if self.weights is not None:
            rows *= self.weights[labels][:, None]
        rows[index, labels] = -rows.sum(axis=1)
        return grad

    def extra_repr(self) -> str:
        return ", ".join(part for part in ("" if self.p == 1 else f"p={self.p}", _margin_repr(self.margin)) if part)


class MultiClassHingeCriterion(_ClassCriterion):
    """Multi-class hinge loss against the best rival class (Crammer–Singer; the seed tour's exercise).

    Unlike MultiMarginCriterion, which sums the hinge over every wrong class, this one looks only at
    the highest-scoring wrong class ``r_b = argmax_{c ≠ t_b} x[b, c]``.

    Loss: ``ℓ = Σ_b max(0, 1 − (x[b, t_b] − x[b, r_b])) / n``, with ``n`` the batch size.

    Backward (a subgradient): where the hinge is active (``x[b, t_b] − x[b, r_b] < 1``),
    ``∂ℓ/∂x[b, t_b] = −1/n`` and ``∂ℓ/∂x[b, r_b] = +1/n``; 0 elsewhere (ties pick the first rival).

    Args:
        size_average: divide by the batch size (sets ``sizeAverage``).

    Shape: input ``(n_classes,)`` or ``(batch, n_classes)`` with ``n_classes ≥ 2``; target an ``int``
    label or an integer array ``(batch,)``.

    """

    _min_classes = 2

    def __init__(self, size_average: bool = True) -> None:
        super().__init__(None, size_average)

    def _hinge(self, input: np.ndarray, index: Any, labels: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """The hinge of each example and its rival class."""
        x = _rows(input)
        others = x.copy()
        others[index, labels] = -np.inf
        rivals = others.argmax(axis=1)
        hinge = np.maximum(1.0 - (x[index, labels] - x[index, rivals]), 0.0)
        return hinge, rivals

    def updateOutput(self, input: np.ndarray, target: Any) -> float:
        index, labels = self._labels(input, target)
        hinge, _ = self._hinge(input, index, np.atleast_1d(labels))
        self.output = float(hinge.sum()) / self._n_examples(input)
        return self.output

    def updateGradInput(self, input: np.ndarray, target: Any) -> np.ndarray:
        index, labels = self._labels(input, target, backward=True)
        labels = np.atleast_1d(labels)
        hinge, rivals = self._hinge(input, index, labels)
        step = (hinge > 0) * (1.0 / self._n_examples(input))
        grad = self.gradInput = resized(self.gradInput, input)
        grad.fill(0.0)
        rows = _rows(grad)
        rows[index, labels] = -step
        rows[index, rivals] = step
        return grad


# -- combinations -------------------------------------------------------------------------------


class _WeightedCriteria(Criterion):
    """Shared parts of MultiCriterion and ParallelCriterion: a list of criteria with one weight each."""

    def __init__(self) -> None:
        super().__init__()
        self.criterions: list[Criterion] = []
        self.weights: list[float] = []

    def children(self) -> list[Criterion]:
        return self.criterions

    def config(self) -> dict[str, Any]:
        """The constructor's arguments and the added criteria with their weights."""
        return {**super().config(), "criteria": list(self.criterions), "weights": list(self.weights)}

    @classmethod
    def from_config(cls, config: dict[str, Any]) -> _WeightedCriteria:
        """A new criterion built from :meth:`config`'s dictionary, its criteria added again."""
        arguments = dict(config)
        criteria, weights = arguments.pop("criteria", ()), arguments.pop("weights", ())
        combined = cls(**arguments)
        for criterion, weight in zip(criteria, weights, strict=True):
            combined.add(criterion, weight)
        return combined

    def add(self, criterion: Criterion, weight: float = 1.0) -> _WeightedCriteria:
        """Append ``criterion`` with ``weight``; returns ``self`` for chaining."""
        if not isinstance(criterion, Criterion):
            self.fail(f"expected a Criterion, got {type(criterion).__name__}", TypeError)
        self.criterions.append(criterion)
        self.weights.append(weight)
        return self

    def extra_repr(self) -> str:
        return ", ".join(c.describe() if w == 1 else f"{w:g} * {c.describe()}"
                         for c, w in zip(self.criterions, self.weights))


class MultiCriterion(_WeightedCriteria):
    """A weighted sum of criteria applied to the same input and target (Torch's ``nn.MultiCriterion``).

    Loss: ``ℓ = Σ_k w_k ℓ_k(x, t)``. Backward: ``∂ℓ/∂x = Σ_k w_k ∂ℓ_k/∂x``.
    Each criterion keeps its own ``sizeAverage``; the input may be an array or a table (list).

    Example:
        >>> loss = MultiCriterion().add(MSECriterion()).add(AbsCriterion(), weight=0.5)

    """

    def checkInput(self, input: Any, target: Any) -> None:
        """Each criterion checks the input and target itself; there must be one."""
        if not self.criterions:
            self.fail("has no criteria: add some with add(criterion, weight)")

    def updateOutput(self, input: Any, target: Any) -> float:
        self.output = float(sum(w * c.forward(input, target) for c, w in zip(self.criterions, self.weights)))
        return self.output

    def updateGradInput(self, input: Any, target: Any) -> Any:
        for k, (criterion, weight) in enumerate(zip(self.criterions, self.weights)):
            grad = criterion.backward(input, target)
            if k == 0:
                self.gradInput = _scaled_into(self.gradInput, grad, weight)
            else:
                _add_scaled(self.gradInput, grad, weight)
        return self.gradInput



def _scaled_into(buffer: Any, grad: Any, weight: float) -> Any:
    """``weight * grad`` written into ``buffer`` where its shape allows (tables recursively)."""
    if isinstance(grad, list):
        old = buffer if isinstance(buffer, list) else []
        return [_scaled_into(old[i] if i < len(old) else None, g, weight) for i, g in enumerate(grad)]
    out = resized(buffer, grad)
    np.multiply(grad, weight, out=out)
    return out


def _add_scaled(buffer: Any, grad: Any, weight: float) -> None:
    """``buffer += weight * grad``, in place (tables recursively)."""
    if isinstance(grad, list):
        for b, g in zip(buffer, grad):
            _add_scaled(b, g, weight)
    else:
        buffer += weight * grad


class ParallelCriterion(_WeightedCriteria):
    """A weighted sum of criteria, the k-th on the k-th input (Torch's ``nn.ParallelCriterion``).

    Loss: ``ℓ = Σ_k w_k ℓ_k(x_k, t_k)``, with ``x`` a list of inputs and ``t`` a list of targets (or,
    with ``repeat_target=True``, one target ``t_k = t`` for all). Backward: ``∂ℓ/∂x_k = w_k ∂ℓ_k/∂x_k``,
    a list.

    Args:
        repeat_target: give every criterion the same target.

    """

    def __init__(self, repeat_target: bool = False) -> None:
        super().__init__()
        self.repeatTarget = repeat_target
        self.gradInput: Any = []

    def checkInput(self, input: Any, target: Any) -> None:
        n = len(self.criterions)
        if not n:
            self.fail("has no criteria: add some with add(criterion, weight)")
        if not isinstance(input, (list, tuple)) or len(input) != n:
            got = f"a list of {len(input)}" if isinstance(input, (list, tuple)) else type(input).__name__
            self.fail(f"expected a list of {n} inputs (one per criterion), got {got}", TypeError)
        if not self.repeatTarget and (not isinstance(target, (list, tuple)) or len(target) != n):
            got = f"a list of {len(target)}" if isinstance(target, (list, tuple)) else type(target).__name__
            self.fail(f"expected a list of {n} targets (one per criterion; repeat_target=True to share one), "
                      f"got {got}", TypeError)

    def _target(self, target: Any, k: int) -> Any:
        return target if self.repeatTarget else target[k]

    def updateOutput(self, input: Any, target: Any) -> float:
        self.output = float(sum(w * c.forward(input[k], self._target(target, k))
                                for k, (c, w) in enumerate(zip(self.criterions, self.weights))))
        return self.output

    def updateGradInput(self, input: Any, target: Any) -> list[Any]:
        old = self.gradInput if isinstance(self.gradInput, list) else []
        self.gradInput = [
            _scaled_into(old[k] if k < len(old) else None, c.backward(input[k], self._target(target, k)), w)
            for k, (c, w) in enumerate(zip(self.criterions, self.weights))
        ]
        return self.gradInput

    def extra_repr(self) -> str:
        return super().extra_repr() + (", repeat_target=True" if self.repeatTarget else "")


class ModuleCriterion(Criterion):
    """A criterion applied after modules on its input and target (Torch's ``nn.ModuleCriterion``).

    Loss: ``ℓ = criterion(input_module(x), target_module(t))`` (either module may be ``None``, the
    identity). Backward: ``∂ℓ/∂x = input_module.backward(x, ∂criterion/∂input)``; the input module's
    parameter gradients accumulate as its ``backward`` does (Torch warns they are not meant to be trained).

    Args:
        criterion: the criterion.
        input_module: applied to the input first (e.g. ``LogSoftMax``), or ``None``.
        target_module: applied to the target first (e.g. a one-hot encoder), or ``None``.
        cast_target: whether ``type()`` converts the target module too (default ``True``).

    """

    _backward_reads_forward = True  # the modules' outputs

    def __init__(self, criterion: Criterion, input_module: Any = None, target_module: Any = None,
                 cast_target: bool = True) -> None:
        super().__init__()
        if not isinstance(criterion, Criterion):
            raise InputTypeError(f"ModuleCriterion: expected a Criterion, got {type(criterion).__name__}")
        self.criterion, self.inputModule, self.targetModule = criterion, input_module, target_module
        self.castTarget = cast_target

    def children(self) -> list[Criterion]:
        return [self.criterion]

    def modules(self) -> list[Any]:
        return [m for m in (self.inputModule, self.targetModule) if m is not None] + super().modules()

    def checkInput(self, input: Any, target: Any) -> None:
        """The modules and the criterion check what they receive."""

    def _pair(self, input: Any, target: Any, forward: bool) -> tuple[Any, Any]:
        if forward:
            x = input if self.inputModule is None else self.inputModule.forward(input)
            t = target if self.targetModule is None else self.targetModule.forward(target)
        else:
            x = input if self.inputModule is None else self.inputModule.output
            t = target if self.targetModule is None else self.targetModule.output
        return x, t

    def updateOutput(self, input: Any, target: Any) -> float:
        self.output = self.criterion.forward(*self._pair(input, target, True))
        return self.output

    def updateGradInput(self, input: Any, target: Any) -> Any:
        grad = self.criterion.backward(*self._pair(input, target, False))
        self.gradInput = grad if self.inputModule is None else self.inputModule.backward(input, grad)
        return self.gradInput

    def type(self, dtype: Any) -> Criterion:
        super().type(dtype)
        if self.inputModule is not None:
            self.inputModule.type(dtype)
        if self.castTarget and self.targetModule is not None:
            self.targetModule.type(dtype)
        return self

    def extra_repr(self) -> str:
        parts = [self.criterion.describe()]
        parts += [f"{name}={m.describe()}" for name, m in (("input", self.inputModule), ("target", self.targetModule))
                  if m is not None]
        return ", ".join(parts)
