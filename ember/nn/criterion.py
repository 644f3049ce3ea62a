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

Like a module, a criterion declares its configuration: ``config()`` returns the constructor's
arguments by name, read from the attribute of the same name or its camelCase form
(``size_average`` → ``sizeAverage``), so that ``type(c).from_config(c.config())`` rebuilds it
(class weights included, as arrays) and ``ember.io`` saves a module holding one. A criterion whose
constructor argument has no such attribute overrides ``config()``.
"""

from __future__ import annotations

import copy
import inspect
from typing import Any, NoReturn

import numpy as np

from ember.errors import INPUT_ERRORS, InputError, ProtocolError
from ember.nn.arguments import check_arguments
from ember.nn.module import empty_like_state

_UNSEEN = object()  # no forward yet
_TABLE = ("table",)  # the check key of a table input (checked on every call)


def _key(input: np.ndarray, target: Any) -> tuple:
    """What an input and target are checked for: shapes and dtypes (a label's value is checked on every call)."""
    if type(target) is np.ndarray:
        return (input.shape, input.dtype, target.shape, target.dtype)
    return (input.shape, input.dtype, type(target))


def _camel(name: str) -> str:
    """``size_average`` → ``sizeAverage``."""
    first, *rest = name.split("_")
    return first + "".join(part[:1].upper() + part[1:] for part in rest)


def _describe(key: tuple) -> str:
    if key is _TABLE:
        return "a table input"
    target = f"a target of shape {key[2]}" if len(key) == 4 else f"a {key[2].__name__} target"
    return f"an input of shape {key[0]} and {target}"


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
    #: forward's input and target (backward given these very objects is not checked again)
    _last: tuple = (_UNSEEN, _UNSEEN)
    #: whether ``updateGradInput`` uses what ``updateOutput`` stored (then backward must follow a forward)
    _backward_reads_forward: bool = False

    def __init_subclass__(cls, **kwargs: Any) -> None:
        """Check the annotated constructor arguments of every subclass (see :mod:`ember.nn.arguments`)."""
        super().__init_subclass__(**kwargs)
        check_arguments(cls)

    def __init__(self) -> None:
        self.output = 0.0
        self.gradInput: Any = np.empty(0)
        self.sizeAverage = True
        self._checked: tuple | None = None

    def config(self) -> dict[str, Any]:
        """The constructor's arguments, by parameter name, that rebuild this criterion (:meth:`from_config`),
        each read from the attribute of the same name or its camelCase form, so that setting ``sizeAverage``
        after construction shows here; arrays (class weights) are copied. ``ember.io`` saves it.
        """
        config: dict[str, Any] = {}
        for parameter in list(inspect.signature(type(self).__init__).parameters.values())[1:]:
            if parameter.kind not in (parameter.POSITIONAL_OR_KEYWORD, parameter.KEYWORD_ONLY):
                continue
            names = dict.fromkeys((parameter.name, _camel(parameter.name)))
            attribute = next((name for name in names if hasattr(self, name)), None)
            if attribute is None:
                raise ProtocolError(f"{type(self).__name__} has no attribute {' or '.join(names)} for its "
                                    f"constructor argument {parameter.name}: store it under that name, or define "
                                    f"config() returning the constructor's arguments")
            value = getattr(self, attribute)
            config[parameter.name] = value.copy() if isinstance(value, np.ndarray) else value
        return config

    @classmethod
    def from_config(cls, config: dict[str, Any]) -> Criterion:
        """A new criterion built from :meth:`config`'s dictionary."""
        return cls(**config)

    def modules(self) -> list[Any]:
        """The modules this criterion (and the criteria it combines) apply, e.g. ``ModuleCriterion``'s."""
        return [module for criterion in self.children() for module in criterion.modules()]

    def forward(self, input: Any, target: Any = None) -> float:
        """Compute and return the loss; inputs are checked once per new shape and dtype. An empty input is
        refused: the loss of no example is undefined.
        """
        if type(input) is np.ndarray:
            key = ((input.shape, input.dtype, target.shape, target.dtype) if type(target) is np.ndarray
                   else (input.shape, input.dtype, type(target)))  # (_key, inlined: called every step)
            if key != self._checked:
                self._check_new(input, target, key)
        else:
            self.checkInput(input, target)
            self._checked = _TABLE
        self._last = (input, target)
        return self.updateOutput(input, target)

    def __call__(self, input: Any, target: Any = None) -> float:
        return self.forward(input, target)

    def backward(self, input: Any, target: Any = None) -> Any:
        """Compute and return ``self.gradInput`` = ∂loss/∂input (call ``forward`` first).

        ``target`` may be left out for the criteria that do not use one (``L1Cost``, ``DistanceRatioCriterion``).
        """
        last = self._last
        if input is not last[0] or target is not last[1]:
            self._check_backward(input, target)
        return self.updateGradInput(input, target)

    def _check_new(self, input: np.ndarray, target: Any, key: tuple) -> None:
        if input.size == 0:
            self.fail(f"expected at least one example, got an empty input of shape {input.shape}")
        self.checkInput(input, target)
        self._checked = key

    def _check_backward(self, input: Any, target: Any) -> None:
        """Check what backward is given as forward checks it; a criterion whose backward reads what its forward
        stored (``_backward_reads_forward``) raises unless forward ran with input and target of these shapes.
        """
        if type(input) is not np.ndarray:
            self.checkInput(input, target)
            return
        key = _key(input, target)
        if key == self._checked:
            return
        if not self._backward_reads_forward:
            self._check_new(input, target, key)
        elif self._checked is None:
            raise ProtocolError(f"{self.describe()}: backward called before forward: call forward(input, target) "
                                f"first, then backward with the same input and target")
        else:
            raise ProtocolError(f"{self.describe()}: backward got {_describe(key)}, but the last forward was "
                                f"given {_describe(self._checked)}: call backward with forward's input and target")

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

    def check_signs(self, target: Any) -> None:
        """Refuse a target holding anything but 1 and −1 (a 0, NaN or inf names no class); the criteria whose
        targets are labels ±1 call it on every forward and backward, as values change without the shape.
        """
        off = np.abs(target) != 1
        if np.any(off):
            at = int(np.flatnonzero(off)[0])
            self.fail(f"expected a target of 1 and -1 only, got {np.ravel(target)[at].item()!r} at (flat) index {at}")

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
        self._checked, self._last = None, (_UNSEEN, _UNSEEN)
        for criterion in self.children():
            criterion.type(dtype)
        return self

    def clearState(self) -> Criterion:
        """Drop ``gradInput`` and scratch buffers (e.g. before saving); the next call re-creates them."""
        self.gradInput = empty_like_state(self.gradInput)
        self._checked, self._last = None, (_UNSEEN, _UNSEEN)
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
