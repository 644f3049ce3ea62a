"""Comparing arrays under the checkers' tolerance rule, and turning comparisons into a :class:`CheckResult`.

An element passes when ``|actual − expected| ≤ tol · max(1, max |expected|)``,
the maximum over the whole array (or table) compared; NaN or inf on one side
only is infinitely wrong.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any, NamedTuple

import numpy as np

from ember.check.report import CheckResult
from ember.check.structure import _shapes_text, _structure_namer, flatten, leaves
from ember.errors import InputError


def check_settings(where: str, eps: float, tol: float | None = None) -> None:
    """Refuse a finite-difference step ``eps`` that is not a finite number > 0, and a tolerance ``tol``
    that is not a finite number >= 0: a NaN tolerance would pass every comparison, a negative one fail them all.
    """
    if not (isinstance(eps, (int, float)) and 0 < eps < math.inf):
        raise InputError(f"{where}: eps must be a finite number > 0, got {eps!r}")
    if tol is not None and not (isinstance(tol, (int, float)) and 0 <= tol < math.inf):
        raise InputError(f"{where}: tol must be a finite number >= 0, got {tol!r}")


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
