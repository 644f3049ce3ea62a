"""Checks shared by the optimizers: configuration keys, the parameter vector, ``feval``'s result.

Every optimizer validates its ``state`` dict on each call (a set difference and
a few comparisons: microseconds), so that a typo such as ``learningRate`` fails
loudly instead of silently training with the default.
"""

from __future__ import annotations

import difflib
import math
import numbers
import re
from collections.abc import Callable
from typing import Any

import numpy as np

from ember.errors import InputError, InputTypeError

#: The type of ``feval``: ``feval(x)`` returns ``(loss, gradient)``.
Feval = Callable[[np.ndarray], tuple[Any, np.ndarray]]


def _snake_case(name: str) -> str:
    """``learningRate`` → ``learning_rate`` (Torch's Lua keys to ember's)."""
    return re.sub(r"(?<=[a-z0-9])([A-Z])", r"_\1", name).lower()


_KNOWN: dict[tuple[frozenset[str], frozenset[str]], frozenset[str]] = {}  # (config, history) -> their union


#: the types of what an optimizer keeps between steps (counters, step sizes, arrays, L-BFGS's lists), by exact type:
#: anything else (a subclass, a NumPy scalar) goes through :func:`_check_history`.
_HISTORY_TYPES = frozenset({int, float, np.ndarray, list})


def _check_history(name: str, key: str, value: Any) -> None:
    """Raise ``InputTypeError`` unless ``value``, kept in the state as ``key`` by a previous step, is a number
    (not a bool), an array or a list (a state edited by hand, or read back from JSON as strings).
    """
    if isinstance(value, bool) or not isinstance(value, (numbers.Real, np.ndarray, list)):
        raise InputTypeError(f"optim.{name}: the state's {key!r} (kept by a previous step) must be a number or an "
                             f"array, got {value!r} ({type(value).__name__})")


def check_state(name: str, state: Any, config_keys: frozenset[str], history_keys: frozenset[str]) -> dict:
    """Return ``state`` (a new dict when ``None``) after checking that every key is known.

    Raises:
        TypeError: ``state`` is not a dict.
        ValueError: a key is neither a configuration key nor one of the optimizer's
            history keys; the message names the optimizer, the key and a likely fix.

    """
    if state is None:
        return {}
    if not isinstance(state, dict):
        raise InputTypeError(f"optim.{name}: state must be a dict of configuration keys, got {type(state).__name__}")
    if config_keys.issuperset(state):
        return state
    known = _KNOWN.get((config_keys, history_keys))
    if known is None:
        known = _KNOWN[config_keys, history_keys] = config_keys | history_keys
    if known.issuperset(state):
        for key, value in state.items():  # the history a step keeps: numbers, arrays, lists of arrays
            if type(value) not in _HISTORY_TYPES and key in history_keys:
                _check_history(name, key, value)
        return state
    unknown = state.keys() - config_keys - history_keys
    key = sorted(unknown, key=str)[0]
    hint = ""
    if isinstance(key, str):
        snake = _snake_case(key)
        if snake in config_keys:
            hint = f"; did you mean {snake!r}? (ember uses snake_case keys)"
        else:
            close = difflib.get_close_matches(key, sorted(config_keys), n=1)
            if close:
                hint = f"; did you mean {close[0]!r}?"
    raise InputError(f"optim.{name}: unknown configuration key {key!r}{hint} "
                     f"(known keys: {', '.join(sorted(config_keys))})")


def check_x(name: str, x: Any) -> None:
    """Raise ``TypeError`` unless ``x`` is a 1-D floating-point NumPy array (updated in place)."""
    if not isinstance(x, np.ndarray) or x.ndim != 1 or x.dtype.kind != "f":
        what = f"{x.dtype} array of shape {x.shape}" if isinstance(x, np.ndarray) else type(x).__name__
        raise InputTypeError(f"optim.{name}: x must be a 1-D floating-point NumPy array (the flat parameters "
                        f"from getParameters()), got a {what}")


def _check_real(name: str, key: str, value: Any) -> None:
    """Raise ``InputTypeError`` unless ``value`` is a real number (not a string, ``None`` or a bool)."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise InputTypeError(f"optim.{name}: {key} must be a number, got {value!r} ({type(value).__name__})")


def check_nonnegative(name: str, **values: float) -> None:
    """Raise an ember error naming the first key whose value is not a finite number >= 0."""
    for key, value in values.items():
        _check_real(name, key, value)
        if not 0 <= value < math.inf:
            raise InputError(f"optim.{name}: {key} must be a finite number >= 0, got {value!r}")


def check_real(name: str, finite: bool = True, **values: Any) -> None:
    """Raise an ember error naming the first key whose value is not a real number (a string, ``None``, a bool,
    an array) or is NaN, or (with ``finite``) infinite; the ranges are the caller's to check after this.
    """
    for key, value in values.items():
        _check_real(name, key, value)
        if math.isnan(value) or (finite and math.isinf(value)):
            raise InputError(f"optim.{name}: {key} must be a {'finite ' if finite else ''}number, got {value!r}")


def check_flag(name: str, **values: Any) -> None:
    """Raise ``InputTypeError`` naming the first key whose value is not a bool (``True``/``False``)."""
    for key, value in values.items():
        if not isinstance(value, (bool, np.bool_)):
            raise InputTypeError(f"optim.{name}: {key} must be True or False, got {value!r} ({type(value).__name__})")


def check_per_parameter(name: str, x: np.ndarray, **values: Any) -> None:
    """Raise an ember error naming the first key whose value is neither ``None`` nor a finite number >= 0 or a
    real array of them that broadcasts to ``x`` (per-parameter learning rates or weight decays).
    """
    for key, value in values.items():
        if value is None:
            continue
        if not isinstance(value, np.ndarray):
            check_nonnegative(name, **{key: value})
            continue
        if value.dtype.kind not in "fiu":
            raise InputTypeError(f"optim.{name}: {key} must be an array of real numbers, got dtype {value.dtype}")
        try:
            np.broadcast_shapes(value.shape, x.shape)
        except ValueError:
            raise InputError(f"optim.{name}: {key} has shape {value.shape}, which does not broadcast to x's "
                             f"{x.shape}") from None
        if not (np.isfinite(value).all() and (value >= 0).all()):
            raise InputError(f"optim.{name}: {key} must hold finite numbers >= 0")


def check_unit_interval(name: str, **values: float) -> None:
    """Raise an ember error naming the first key whose value is not a number in [0, 1)."""
    for key, value in values.items():
        _check_real(name, key, value)
        if not 0 <= value < 1:
            raise InputError(f"optim.{name}: {key} must be in [0, 1), got {value!r}")


def check_count(name: str, **values: float) -> None:
    """Raise an ember error naming the first key whose value is not a whole number >= 0 (a loop bound:
    ``inf`` or ``nan`` would never end the loop).
    """
    for key, value in values.items():
        _check_real(name, key, value)
        if not (0 <= value < math.inf and float(value).is_integer()):
            raise InputError(f"optim.{name}: {key} must be a whole number >= 0, got {value!r}")


def evaluate(name: str, feval: Feval, x: np.ndarray) -> tuple[float, np.ndarray]:
    """Call ``feval(x)`` and check its result: a scalar loss and a gradient shaped like ``x``.

    The gradient is returned as given (often a view of the model's flat
    gradient, overwritten by the next call): callers copy what they keep.
    """
    if not callable(feval):
        raise InputTypeError(f"optim.{name}: feval must be a function of x returning (loss, gradient), got "
                             f"{type(feval).__name__}")
    result = feval(x)
    try:
        fx, dfdx = result
    except (TypeError, ValueError):
        raise InputTypeError(f"optim.{name}: feval(x) must return (loss, gradient), "
                             f"got {type(result).__name__}") from None
    if not isinstance(dfdx, np.ndarray) or dfdx.shape != x.shape:
        got = f"shape {dfdx.shape}" if isinstance(dfdx, np.ndarray) else type(dfdx).__name__
        raise InputError(f"optim.{name}: feval(x) returned a gradient of {got}, expected a NumPy array of "
                         f"shape {x.shape} like x")
    if dfdx.dtype.kind not in "fiu":
        raise InputTypeError(f"optim.{name}: feval(x) returned a gradient of dtype {dfdx.dtype}, expected real "
                             f"numbers")
    if isinstance(fx, (str, bytes, bool, np.bool_)) or (isinstance(fx, np.ndarray) and fx.size != 1):
        raise InputTypeError(f"optim.{name}: feval(x) must return a number as the loss, got {fx!r}")
    try:
        fx = float(fx)
    except (TypeError, ValueError):
        raise InputTypeError(f"optim.{name}: feval(x) must return a number as the loss, got {fx!r}") from None
    if not math.isfinite(fx):
        raise InputError(f"optim.{name}: feval(x) returned the loss {fx}; the step was not taken "
                         f"(look for inf/NaN in the data, or lower the learning rate)")
    # g·g is finite exactly when every element is, unless it overflows: then look element by element.
    if not math.isfinite(np.dot(dfdx, dfdx)) and not np.isfinite(dfdx).all():
        index = int(np.flatnonzero(~np.isfinite(dfdx))[0])
        raise InputError(f"optim.{name}: feval(x) returned a gradient holding {dfdx[index]} at index {index}; "
                         f"the step was not taken (look for inf/NaN in the data, or lower the learning rate)")
    return fx, dfdx


def history_buffer(name: str, state: dict, key: str, x: np.ndarray, fill: float = 0.0) -> np.ndarray:
    """``state[key]``, created filled with ``fill`` like ``x`` on first use, checked to match ``x`` after."""
    buffer = state.get(key)
    if buffer is None:
        buffer = state[key] = np.full_like(x, fill)
    elif not isinstance(buffer, np.ndarray) or buffer.shape != x.shape:
        got = f"shape {buffer.shape}" if isinstance(buffer, np.ndarray) else type(buffer).__name__
        raise InputError(f"optim.{name}: state[{key!r}] has {got} but x has shape {x.shape}; "
                         f"use a fresh state dict for a different set of parameters")
    return buffer
