"""Constructor arguments: the checks every module and criterion gets from its own signature.

``Module`` and ``Criterion`` wrap each subclass's ``__init__`` (in ``__init_subclass__``), so a class checks
its arguments without a line of its own, and so does a class that lands later:

* a parameter annotated ``int`` (or ``int | None``) takes an integer: ``4.5``, ``"4"`` and ``True`` are
  refused, a NumPy integer becomes a Python ``int`` (model files store it as JSON);
* one annotated ``float`` (or ``float | None``) takes a real number that is not NaN;
* one annotated ``bool`` takes ``True`` or ``False`` (or 0/1): ``"yes"`` is refused, not read as true;
* the names below add a range: a size (``n_in``, ``kW``, ``hidden_size``, ...) is ``>= 1``, a padding
  ``>= 0``; ``eps`` is finite and ``>= 0``, ``momentum`` in ``[0, 1]``.

A refused argument raises :class:`~ember.errors.InputTypeError` (wrong type) or
:class:`~ember.errors.InputError` (out of range), naming the class, the argument, what it takes and the value;
sizes that need more memory than there is raise :class:`~ember.errors.SizeError` naming them.
"""

from __future__ import annotations

import functools
import inspect
import math
import numbers
from collections.abc import Callable
from typing import Any

import numpy as np

from ember.errors import EmberError, InputError, InputTypeError, SizeError

#: NumPy's ValueError for an array of more elements than an index can address.
_TOO_BIG = "array is too big"

#: integer arguments that are sizes: at least 1.
SIZES = frozenset({
    "n_in", "n_out", "n_index", "n_output", "n_input_plane", "input_size", "hidden_size",
    "input_frame_size", "output_frame_size", "n_classes", "n_features", "n_states", "output_size",
    "kW", "kH", "kT", "dW", "dH", "dT", "dilationW", "dilationH", "dilationT", "owidth", "oheight",
    "upscale_factor", "width", "stride", "min_k",
})
#: integer arguments that count something that may be absent (paddings): at least 0.
COUNTS = frozenset({"padW", "padH", "padT", "adjW", "adjH", "adjT", "n_output_plane"})  # PReLU(0): one slope
#: real arguments with a range: name -> (low, high, what the name takes).
RANGES: dict[str, tuple[float, float, str]] = {
    "eps": (0.0, math.inf, "a finite number >= 0"),
    "momentum": (0.0, 1.0, "a number in [0, 1]"),
}


def _integer(owner: str, name: str, value: Any, optional: bool) -> Any:
    if value is None and optional:
        return value
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise InputTypeError(f"{owner}: {name} must be an integer, got {value!r} ({type(value).__name__})")
    value = int(value)
    if name in SIZES and value < 1:
        raise InputError(f"{owner}: {name} must be an integer >= 1 (a size), got {value}")
    if name in COUNTS and value < 0:
        raise InputError(f"{owner}: {name} must be an integer >= 0, got {value}")
    return value


def _real(owner: str, name: str, value: Any, optional: bool) -> Any:
    if value is None and optional:
        return value
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise InputTypeError(f"{owner}: {name} must be a number, got {value!r} ({type(value).__name__})")
    if math.isnan(value):
        raise InputError(f"{owner}: {name} must be a number, got nan")
    if name in RANGES:
        low, high, what = RANGES[name]
        if not low <= value <= high or math.isinf(value):
            raise InputError(f"{owner}: {name} must be {what}, got {value!r}")
    return value


def _flag(owner: str, name: str, value: Any, optional: bool) -> Any:
    if value is None and optional:
        return value
    if isinstance(value, (bool, np.bool_)) or (isinstance(value, numbers.Integral) and value in (0, 1)):
        return bool(value)
    raise InputTypeError(f"{owner}: {name} must be True or False, got {value!r} ({type(value).__name__})")


_KINDS: dict[str, tuple[Callable[..., Any], bool]] = {
    "int": (_integer, False), "int | None": (_integer, True), "Optional[int]": (_integer, True),
    "float": (_real, False), "float | None": (_real, True), "Optional[float]": (_real, True),
    "bool": (_flag, False), "bool | None": (_flag, True), "Optional[bool]": (_flag, True),
}


def checked(function: Callable[..., Any], owner: str | None = None) -> Callable[..., Any]:
    """``function`` wrapped so that its annotated arguments (``int``, ``float``, ``bool``, optional or not) are
    checked as a module's constructor arguments are, errors naming ``owner`` (default: the function's name);
    ``function`` itself when it annotates none. Library functions outside ``ember.nn`` (model builders,
    callbacks, metrics) use it as a decorator.
    """
    if getattr(function, "_checks_arguments", False):
        return function
    owner = owner or function.__name__
    signature = inspect.signature(function)
    single = (inspect.Parameter.POSITIONAL_OR_KEYWORD, inspect.Parameter.KEYWORD_ONLY)
    checks = [(p.name, *_KINDS[str(p.annotation)]) for p in signature.parameters.values()
              if p.kind in single and str(p.annotation) in _KINDS]  # (not *args: View(2, 3) reads them itself)
    if not checks:
        return function

    @functools.wraps(function)
    def checked_call(*args: Any, **kwargs: Any) -> Any:
        try:
            bound = signature.bind(*args, **kwargs)
        except TypeError:  # a missing or unknown argument: Python's own message says it best
            return function(*args, **kwargs)
        arguments = bound.arguments
        for name, check, optional in checks:
            if name in arguments:
                arguments[name] = check(owner, name, arguments[name], optional)
        try:
            return function(*bound.args, **bound.kwargs)
        except (MemoryError, ValueError) as error:
            if isinstance(error, EmberError) or not (isinstance(error, MemoryError) or _TOO_BIG in str(error)):
                raise
            sizes = ", ".join(f"{name}={value!r}" for name, value in arguments.items()
                              if isinstance(value, numbers.Integral) and not isinstance(value, bool))
            who = type(arguments["self"]).__name__ if "self" in arguments else owner  # (LSTM, not its base)
            raise SizeError(f"{who}: the sizes given ({sizes}) need more memory than there is "
                            f"({type(error).__name__}: {error})") from None

    checked_call._checks_arguments = True  # type: ignore[attr-defined]
    return checked_call


def check_arguments(cls: type) -> None:
    """Wrap ``cls.__init__`` (if ``cls`` defines one) so that its annotated arguments are checked first."""
    init = cls.__dict__.get("__init__")
    if init is not None:
        cls.__init__ = checked(init, cls.__name__)  # type: ignore[misc]
