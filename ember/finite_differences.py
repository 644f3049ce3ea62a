"""Finite differences: the one engine behind ``ember.check``, ``optim.checkgrad`` and the tests (NumPy only).

Element ``j`` of the concatenation of some arrays is perturbed in place by ``±eps``, a function of them is
evaluated at both points, and the element is restored exactly. The step used is the one actually taken
(``eps`` rounded to the array's dtype), so the two-sided difference is
``(f(x + h+) − f(x − h−)) / (h+ + h−)``.

Example:
    >>> import numpy as np
    >>> x = np.array([1.0, 2.0])
    >>> gradient(lambda: float(np.sum(x ** 3)), x)            # 3 x²
    array([ 3., 12.])
    >>> relative_error(np.array([3.0, 12.0]), gradient(lambda: float(np.sum(x ** 3)), x)) < 1e-9
    True

"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

__all__ = ["StepTooSmallError", "differences", "directional", "gradient", "relative_error"]


class StepTooSmallError(ValueError):
    """``eps`` vanishes when added to an element (below the spacing of its dtype's numbers there)."""


def _as_list(arrays: np.ndarray | Sequence[np.ndarray]) -> list[np.ndarray]:
    return [arrays] if isinstance(arrays, np.ndarray) else list(arrays)


def differences(evaluate: Callable[[], Any], arrays: np.ndarray | Sequence[np.ndarray], eps: float = 1e-6,
                columns: Sequence[int] | None = None, *, base: np.ndarray | None = None) -> tuple[np.ndarray, ...]:
    """Finite differences of ``evaluate()`` (a number or an array, read flat) with respect to array elements.

    Args:
        evaluate: called with the arrays perturbed in place; returns the function's value.
        arrays: the arrays whose elements are perturbed (and restored exactly, also on error).
        eps: the step.
        columns: which elements of the concatenation of ``arrays`` (default all of them).
        base: the unperturbed value; when given, the one-sided differences are returned too.

    Returns:
        ``(central,)``, or ``(central, forward, backward)`` with ``base``: each ``(n_out, len(columns))``.

    Raises:
        StepTooSmallError: ``eps`` is below the spacing of an array's numbers at the element perturbed.

    """
    arrays = _as_list(arrays)
    offsets = np.cumsum([0] + [a.size for a in arrays])
    if columns is None:
        columns = range(int(offsets[-1]))
    n_out = None if base is None else np.size(base)
    central = forward = backward = None
    for c, column in enumerate(columns):
        k = int(np.searchsorted(offsets, column, side="right")) - 1
        array, j = arrays[k], int(column - offsets[k])
        original = array.flat[j]
        try:
            array.flat[j] = original + eps
            up = float(array.flat[j]) - float(original)  # the step actually taken
            plus = np.ravel(evaluate()).astype(np.float64)
            array.flat[j] = original - eps
            down = float(original) - float(array.flat[j])
            minus = np.ravel(evaluate()).astype(np.float64)
        finally:
            array.flat[j] = original
        if not (up > 0 and down > 0):
            raise StepTooSmallError(f"eps={eps:g} is below the spacing of {array.dtype} numbers at "
                                    f"{float(original):g}; check in float64 or with a larger eps")
        if central is None:
            n_out = plus.size
            central = np.empty((n_out, len(columns)))
            if base is not None:
                forward, backward = np.empty_like(central), np.empty_like(central)
        central[:, c] = (plus - minus) / (up + down)
        if base is not None:
            forward[:, c] = (plus - np.ravel(base)) / up
            backward[:, c] = (np.ravel(base) - minus) / down
    if central is None:  # no columns
        central = np.empty((n_out or 0, 0))
        forward = backward = central.copy()
    return (central,) if base is None else (central, forward, backward)


def directional(evaluate: Callable[[], float], arrays: np.ndarray | Sequence[np.ndarray],
                directions: np.ndarray | Sequence[np.ndarray], eps: float = 1e-6, *,
                base: float | None = None) -> tuple[float, ...]:
    """The two-sided difference of a scalar ``evaluate()`` along ``directions`` (one array per array):
    ``(f(x + eps·d) − f(x − eps·d)) / 2eps``, every array moved at once and restored exactly.

    Returns:
        ``(central,)``, or ``(central, forward, backward)`` with ``base`` (the unperturbed value).

    """
    arrays, directions = _as_list(arrays), _as_list(directions)
    saved = [a.copy() for a in arrays]
    try:
        for a, keep, d in zip(arrays, saved, directions):
            a[...] = keep + eps * d
        plus = float(evaluate())
        for a, keep, d in zip(arrays, saved, directions):
            a[...] = keep - eps * d
        minus = float(evaluate())
    finally:
        for a, keep in zip(arrays, saved):
            a[...] = keep
    central = (plus - minus) / (2 * eps)
    return (central,) if base is None else (central, (plus - base) / eps, (base - minus) / eps)


def gradient(f: Callable[[], float], arrays: np.ndarray | Sequence[np.ndarray], eps: float = 1e-6) -> np.ndarray:
    """The two-sided finite-difference gradient of a scalar ``f()`` over every element of ``arrays`` (flat)."""
    (central,) = differences(f, arrays, eps)
    return central.reshape(-1)


def relative_error(a: np.ndarray, b: np.ndarray) -> float:
    """The symmetric relative error ``‖a − b‖ / ‖a + b‖`` (0 when both are zero, inf when they are opposite)."""
    a, b = np.asarray(a, dtype=np.float64).ravel(), np.asarray(b, dtype=np.float64).ravel()
    numerator = float(np.linalg.norm(a - b))
    if numerator == 0.0:
        return 0.0
    denominator = float(np.linalg.norm(a + b))
    return numerator / denominator if denominator else float("inf")
