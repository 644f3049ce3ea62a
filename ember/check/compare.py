"""Comparing arrays under the checkers' tolerance rule, and turning comparisons into a :class:`CheckResult`.

An element passes when ``|actual − expected| ≤ tol · max(1, max |expected|)``,
the maximum over the whole array (or table) compared; NaN or inf on one side
only is infinitely wrong.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Callable
from typing import Any, NamedTuple

import numpy as np

from ember.check.report import CheckResult
from ember.check.structure import _shapes_text, _structure_namer, flatten, leaves
from ember.errors import CheckSetupError, EmberError, InputError, InputTypeError

_UNSET = object()


def check_settings(where: str, eps: float, tol: Any = _UNSET) -> None:
    """Refuse a finite-difference step ``eps`` that is not a finite number > 0, and a tolerance ``tol`` (when
    the check takes one) that is not a finite number >= 0: a NaN tolerance would pass every comparison, a
    negative one fail them all. A bool, a string, ``None`` or an array is an ``InputTypeError``.
    """
    for name, value in (("eps", eps), ("tol", tol)):
        if value is _UNSET:
            continue
        if isinstance(value, (bool, np.bool_)) or not isinstance(value, (int, float, np.integer, np.floating)):
            bound = "> 0" if name == "eps" else ">= 0"
            raise InputTypeError(f"{where}: {name} must be a finite number {bound}, got {value!r} "
                                 f"({type(value).__name__})")
    if not 0 < eps < math.inf:
        raise InputError(f"{where}: eps must be a finite number > 0, got {eps!r}")
    if tol is not _UNSET and not 0 <= tol < math.inf:
        raise InputError(f"{where}: tol must be a finite number >= 0, got {tol!r}")


def check_subjects(where: str, module: Any = _UNSET, criterion: Any = _UNSET, seed: Any = 0) -> None:
    """Refuse a ``module`` that is not an ember Module, a ``criterion`` that is not an ember Criterion and a
    ``seed`` that is not an integer >= 0 (those not passed are not checked).
    """
    from ember.nn.criterion import Criterion
    from ember.nn.module import Module

    if module is not _UNSET and not isinstance(module, Module):
        raise InputTypeError(f"{where}: expected an ember Module to check, got {type(module).__name__}")
    if criterion is not _UNSET and not isinstance(criterion, Criterion):
        raise InputTypeError(f"{where}: expected an ember Criterion, got {type(criterion).__name__}")
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0:
        raise InputTypeError(f"{where}: seed must be an integer >= 0, got {seed!r}")


def refuse_raises(where: str) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Decorate a check of ``module`` (its first argument) so that an exception the module's own code raises
    (a bug in a user's ``updateOutput``, say) is a :class:`~ember.errors.CheckSetupError` naming the module and
    the error, chained to it; ember's own errors pass through unchanged.
    """

    def decorate(function: Callable[..., Any]) -> Callable[..., Any]:
        @functools.wraps(function)
        def wrapper(module: Any, *args: Any, **kwargs: Any) -> Any:
            try:
                return function(module, *args, **kwargs)
            except EmberError:
                raise
            except Exception as error:
                name = module.describe() if hasattr(module, "describe") else type(module).__name__
                raise CheckSetupError(f"{where}: {name} raised {type(error).__name__}: {error} (the check could not "
                                      f"run; see the chained traceback for where)") from error

        return wrapper

    return decorate


def _abs_diff(actual: np.ndarray, expected: np.ndarray) -> np.ndarray:
    """``|actual − expected|``, with NaN or inf on one side only counted as infinitely wrong."""
    with np.errstate(invalid="ignore", over="ignore"):
        diff = np.abs(actual - expected)
    same = (actual == expected) | (np.isnan(actual) & np.isnan(expected))
    diff[same] = 0.0
    diff[np.isnan(diff)] = np.inf
    return diff


def _scale(values: np.ndarray) -> float:
    finite = np.abs(values[np.isfinite(values)])
    return max(1.0, float(finite.max(initial=0.0)))


class _Diff(NamedTuple):
    what: str
    where: str
    index: int
    actual: float
    expected: float
    error: float
    limit: float
    note: str = ""
    context: str = ""  # e.g. "of example 1", "after forward"

    def element(self) -> str:
        return f"{self.what}{self.where}" + (f" {self.context}" if self.context else "")

    @property
    def bad(self) -> bool:
        return self.error > self.limit


def _diff(what: str, actual: Any, expected: Any, tol: float) -> _Diff:
    """The worst element of ``actual`` against ``expected`` (arrays or tables); ``tol=0``: exact."""
    shapes_actual = [np.shape(leaf) for leaf in leaves(actual)]
    shapes_expected = [np.shape(leaf) for leaf in leaves(expected)]
    if shapes_actual != shapes_expected:
        return _Diff(what, "", 0, math.nan, math.nan, math.inf, 0.0,
                     f"{what} has shape {_shapes_text(shapes_actual)}, expected {_shapes_text(shapes_expected)}")
    a, e = flatten(actual), flatten(expected)
    if a.size == 0:
        return _Diff(what, "", 0, math.nan, math.nan, 0.0, 0.0)
    diff = _abs_diff(a, e)
    k = int(np.argmax(diff))
    return _Diff(what, _structure_namer(expected)(k), k, float(a[k]), float(e[k]), float(diff[k]),
                 tol * _scale(e))


def _protocol_result(name: str, label: str, compared: str, diffs: list[_Diff], passed: str,
                     explain: Callable[[_Diff], str]) -> CheckResult:
    """PASS with ``passed``, or FAIL naming the worst element of the first comparison that fails."""
    bad = [d for d in diffs if d.bad]
    if not bad:
        worst = max(diffs, key=lambda d: d.error, default=None)
        if worst is None or not worst.error > 0:
            return CheckResult(name, label, compared, "PASS", passed, 0.0)
        return CheckResult(name, label, compared, "PASS", f"{passed} (max difference {worst.error:.2g} at "
                           f"{worst.element()})", worst.error, (worst.index,), worst.actual, worst.expected)
    d = bad[0]
    if d.note:
        return CheckResult(name, label, d.what, "FAIL", d.note + f": {explain(d)}")
    return CheckResult(name, label, d.what, "FAIL",
                       f"{d.element()} is {d.actual:.6g}, expected {d.expected:.6g}: {explain(d)}",
                       d.error, (d.index,), d.actual, d.expected)
