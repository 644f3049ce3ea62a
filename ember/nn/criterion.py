"""Criterion: the base class of every loss (Torch's ``nn.Criterion``).

A criterion maps ``(input, target)`` to a scalar loss. Subclasses implement
``updateOutput(input, target)``, which sets ``self.output`` (a Python float)
and returns it, and ``updateGradInput(input, target)``, which sets
``self.gradInput`` = ∂loss/∂input. ``sizeAverage`` (default ``True``) divides
by the number of examples (or elements), as in Torch.

A criterion also declares what its input means for metrics, in ``output_meaning``:
``"scores"`` (one score per class along ``class_axis``, counted from the end: -1, or
-3 for per-pixel scores ``(C, H, W)``; the prediction is the argmax over that axis,
compared with an integer label), ``"probability"``
(a probability per element, thresholded at 0.5) or ``"value"`` (regression: no
accuracy). ``ember.train`` reads it; a user's own criterion sets it the same way.
"""

from __future__ import annotations

import copy
from typing import Any, NoReturn

import numpy as np

from ember.errors import INPUT_ERRORS, InputError
from ember.nn.module import empty_like_state


class Criterion:
    """Base class of all criteria; see the module docstring for the protocol."""

    #: names of array attributes (e.g. class weights) that ``type()`` converts.
    _float_attributes: tuple[str, ...] = ()
    #: names of scratch arrays that ``clearState()`` drops.
    _scratch: tuple[str, ...] = ()
    #: what the input means for metrics: ``"scores"``, ``"probability"`` or ``"value"`` (see the module docstring).
    output_meaning: str = "value"
    #: with ``"scores"``: the axis of the classes, counted from the end (-3 for per-pixel scores).
    class_axis: int = -1

    def __init__(self) -> None:
        self.output = 0.0
        self.gradInput: Any = np.empty(0)
        self.sizeAverage = True
        self._checked: tuple | None = None

    def forward(self, input: Any, target: Any = None) -> float:
        """Compute and return the loss; inputs are checked once per new shape and dtype."""
        if type(input) is np.ndarray:
            if type(target) is np.ndarray:
                key = (input.shape, input.dtype, target.shape, target.dtype)
            else:  # a label such as an int: its value is checked by the criterion on every call
                key = (input.shape, input.dtype, type(target))
            if key != self._checked:
                self.checkInput(input, target)
                self._checked = key
        else:
            self.checkInput(input, target)
        return self.updateOutput(input, target)

    def __call__(self, input: Any, target: Any = None) -> float:
        return self.forward(input, target)

    def backward(self, input: Any, target: Any = None) -> Any:
        """Compute and return ``self.gradInput`` = ∂loss/∂input (call ``forward`` first).

        ``target`` may be left out for the criteria that do not use one (``L1Cost``, ``DistanceRatioCriterion``).
        """
        return self.updateGradInput(input, target)

    def updateOutput(self, input: Any, target: Any) -> float:
        raise NotImplementedError(f"{type(self).__name__} must implement updateOutput")

    def updateGradInput(self, input: Any, target: Any) -> Any:
        raise NotImplementedError(f"{type(self).__name__} must implement updateGradInput")

    def checkInput(self, input: Any, target: Any) -> None:
        """Raise a clear error unless ``input`` and ``target`` are acceptable.

        The default wants a floating-point input array; subclasses add their checks.
        """
        if not isinstance(input, np.ndarray):
            self.fail(f"expected a NumPy array as input, got {type(input).__name__}", TypeError)
        if not np.issubdtype(input.dtype, np.floating):
            self.fail(f"expected a floating-point input, got dtype {input.dtype}", TypeError)

    def fail(self, message: str, error: type[Exception] = InputError) -> NoReturn:
        """Raise ``error`` (an :mod:`ember.errors` type; ``ValueError``, ``TypeError`` and ``IndexError``
        mean ``InputError``, ``InputTypeError`` and ``InputIndexError``) with a message that starts with
        this criterion's name.
        """
        raise INPUT_ERRORS.get(error, error)(f"{self.describe()}: {message}")

    def type(self, dtype: Any) -> Criterion:
        """Convert array attributes (e.g. class weights), here and in the combined criteria, to ``dtype``."""
        dtype = np.dtype(dtype)
        for name in self._float_attributes:
            value = getattr(self, name, None)
            if value is not None:
                setattr(self, name, value.astype(dtype))
        self.gradInput = empty_like_state(self.gradInput)
        self._checked = None
        for criterion in self.children():
            criterion.type(dtype)
        return self

    def clearState(self) -> Criterion:
        """Drop ``gradInput`` and scratch buffers (e.g. before saving); the next call re-creates them."""
        self.gradInput = empty_like_state(self.gradInput)
        for name in self._scratch:
            setattr(self, name, None)
        for criterion in self.children():
            criterion.clearState()
        return self

    def children(self) -> list[Criterion]:
        """The criteria this one combines (none, except for MultiCriterion and ParallelCriterion)."""
        return []

    def float(self) -> Criterion:
        return self.type(np.float32)

    def double(self) -> Criterion:
        return self.type(np.float64)

    def clone(self) -> Criterion:
        return copy.deepcopy(self)

    def extra_repr(self) -> str:
        return ""

    def describe(self) -> str:
        extra = self.extra_repr()
        return f"{type(self).__name__}({extra})" if extra else type(self).__name__

    def __repr__(self) -> str:
        return "nn." + self.describe()
