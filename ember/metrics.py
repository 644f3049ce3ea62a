"""Classification metrics: Torch ``optim``'s ``ConfusionMatrix``, with 0-based labels."""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np

from ember.errors import InputError, InputTypeError, SizeError

__all__ = ["ConfusionMatrix"]


class ConfusionMatrix:
    """Count (target, prediction) pairs and report per-class and global accuracy (Torch's ``optim.ConfusionMatrix``).

    ``mat[t, p]`` counts the examples of class ``t`` predicted as ``p`` (rows are
    targets, columns predictions, as in Torch). Labels are 0-based.

    Args:
        n_classes: the number of classes (or the sequence of class names).
        labels: optional class names, printed beside each row.

    Attributes:
        mat: ``(n_classes, n_classes)`` int64 counts.
        valids: per-class accuracy, ``mat[t, t] / Σ_p mat[t, p]`` (NaN for a class never seen).
        union_valids: per-class ``mat[t, t] / (row t + column t − mat[t, t])`` (the VOC measure).
        total_valid: global accuracy, ``trace(mat) / Σ mat``.
        average_valid: mean of the defined ``valids``.
        average_union_valid: mean of the defined ``union_valids``.

    The statistics are refreshed by :meth:`update_valids` (printing calls it).

    Example:
        >>> cm = ConfusionMatrix(3, labels=["setosa", "versicolor", "virginica"])
        >>> scores = np.array([[0.9, 0.1, 0.0], [0.2, 0.7, 0.1], [0.1, 0.6, 0.3]])   # (n, 3) scores
        >>> cm.batch_add(scores, np.array([0, 1, 2])).total_valid   # (n,) labels; statistics on printing
        0.0
        >>> cm.update_valids().total_valid
        0.6666666666666666

    """

    def __init__(self, n_classes: int | Sequence[str], labels: Sequence[str] | None = None) -> None:
        if (isinstance(n_classes, (bool, np.bool_, str, bytes))
                or not isinstance(n_classes, (int, np.integer, Sequence))):
            raise InputTypeError(f"ConfusionMatrix: expected a number of classes or a list of class names, got "
                                 f"{n_classes!r}")
        if not isinstance(n_classes, (int, np.integer)):
            labels = list(n_classes)
            n_classes = len(labels)
        if n_classes < 1:
            raise InputError(f"ConfusionMatrix: expected at least 1 class, got {n_classes}")
        if labels is not None and len(labels) != n_classes:
            raise InputError(f"ConfusionMatrix: {len(labels)} labels given for {n_classes} classes")
        self.n_classes = int(n_classes)
        self.labels = [str(label) for label in labels] if labels is not None else None
        try:
            self.mat = np.zeros((self.n_classes, self.n_classes), dtype=np.int64)
        except (MemoryError, ValueError) as error:  # (NumPy's ValueError: more elements than an array holds)
            raise SizeError(f"ConfusionMatrix: {self.n_classes} classes need a {self.n_classes} x {self.n_classes} "
                            f"matrix, more memory than there is ({error})") from None
        self.zero()

    def zero(self) -> ConfusionMatrix:
        """Reset all counts and statistics."""
        self.mat.fill(0)
        self.valids = np.zeros(self.n_classes)
        self.union_valids = np.zeros(self.n_classes)
        self.total_valid = 0.0
        self.average_valid = 0.0
        self.average_union_valid = 0.0
        return self

    def _labels(self, values: Any, name: str) -> np.ndarray:
        """Class indices from labels ``(n,)`` or scores / one-hot rows ``(n, n_classes)`` (argmax)."""
        values = np.asarray(values)
        if values.ndim == 2:
            if values.shape[1] != self.n_classes:
                raise InputError(f"ConfusionMatrix: expected {name} of shape (n,) or (n, {self.n_classes}), "
                                 f"got {values.shape}")
            return values.argmax(axis=1)
        if values.ndim != 1:
            raise InputError(f"ConfusionMatrix: expected {name} of shape (n,) or (n, {self.n_classes}), "
                             f"got {values.shape}")
        if values.dtype.kind == "f":
            if not np.all(values == np.round(values)):
                raise InputError(f"ConfusionMatrix: {name} labels must be whole numbers")
        elif values.dtype.kind not in "iub":
            raise InputError(f"ConfusionMatrix: {name} must be numeric, got dtype {values.dtype}")
        indices = values.astype(np.int64)
        bad = (indices < 0) | (indices >= self.n_classes)
        if bad.any():
            raise InputError(f"ConfusionMatrix: {name} label {indices[bad][0]} out of range for "
                             f"{self.n_classes} classes (labels are 0-based)")
        return indices

    def batch_add(self, predictions: Any, targets: Any) -> ConfusionMatrix:
        """Add many examples: predictions as labels ``(n,)`` or scores ``(n, n_classes)``, targets as
        labels ``(n,)`` or one-hot rows ``(n, n_classes)``.
        """
        predicted = self._labels(predictions, "predictions")
        target = self._labels(targets, "targets")
        if predicted.shape != target.shape:
            raise InputError(f"ConfusionMatrix: {predicted.shape[0]} predictions for {target.shape[0]} targets")
        np.add.at(self.mat, (target, predicted), 1)
        return self

    def add(self, prediction: Any, target: Any) -> ConfusionMatrix:
        """Add one example: a label or a score vector (argmax), and a label or a one-hot vector."""
        prediction, target = np.asarray(prediction), np.asarray(target)
        return self.batch_add(prediction[None], target[None])

    def update_valids(self) -> ConfusionMatrix:
        """Recompute ``valids``, ``union_valids``, ``total_valid`` and the averages from ``mat``."""
        diagonal = np.diag(self.mat).astype(np.float64)
        rows = self.mat.sum(axis=1).astype(np.float64)
        unions = rows + self.mat.sum(axis=0) - diagonal
        with np.errstate(invalid="ignore", divide="ignore"):
            self.valids = diagonal / rows
            self.union_valids = diagonal / unions
        total = self.mat.sum()
        self.total_valid = float(diagonal.sum() / total) if total else 0.0
        defined = self.valids[~np.isnan(self.valids)]
        self.average_valid = float(defined.mean()) if defined.size else 0.0
        defined = self.union_valids[~np.isnan(self.union_valids)]
        self.average_union_valid = float(defined.mean()) if defined.size else 0.0
        return self

    def __str__(self) -> str:
        self.update_valids()
        largest = int(self.mat.max())
        width = max(8, 1 + math.ceil(math.log10(largest))) if largest > 0 else 8
        lines = []
        for t in range(self.n_classes):
            opening = "[[" if t == 0 else " ["
            closing = "]]  " if t == self.n_classes - 1 else "]   "
            counts = "".join(f"{int(count):>{width}d}" for count in self.mat[t])
            line = f"{opening}{counts}{closing}{100 * self.valids[t]:.3f}% "
            if self.labels is not None:
                line += f"\t[class: {self.labels[t]}]"
            lines.append(line)
        return "\n".join([
            "ConfusionMatrix:",
            *lines,
            f" + average row correct: {100 * self.average_valid:.3f}% ",
            f" + average rowUcol correct (VOC measure): {100 * self.average_union_valid:.3f}% ",
            f" + global correct: {100 * self.total_valid:.3f}%",
        ])

    def __repr__(self) -> str:
        total = int(self.mat.sum())
        accuracy = np.trace(self.mat) / total if total else 0.0
        return f"ConfusionMatrix({self.n_classes}, total={total}, accuracy={accuracy:.4f})"
