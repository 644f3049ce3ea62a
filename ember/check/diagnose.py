"""Diagnosis of a failed gradient check: which classic mistake the two Jacobians show.

:func:`diagnose_jacobian` compares the backprop Jacobian ``A`` with the
finite-difference one ``N`` (rows: output elements, columns: input or parameter
elements) and names the first pattern that explains *every* element:

* ``zero``: ``A = 0`` where ``N`` is not (the gradient is never computed or written);
* ``sign``: ``A = −N``;
* ``transposed``: ``A = Nᵀ`` (a square Jacobian), or for a square matrix parameter
  each row of ``A`` is the transposed matrix of ``N``'s (``gᵀx`` written ``xᵀg``);
* ``factor``: ``A = c·N`` for one constant ``c``, named when it is 2, ½ or the batch
  size ``n`` or ``1/n`` (averaged instead of summed);
* ``batch``: on a batch, ``N`` is block-diagonal by example and ``A`` is right for
  the first example only, or mixes examples (summed over the batch dimension);
* ``kink``: the only wrong elements are at inputs where the one-sided differences
  disagree (a point where the function is not differentiable) and backprop is
  outside both slopes;
* ``mask``: some elements are right and others wrong, none of the wrong ones at a kink: names which
  (where the input is negative, positive or zero, else the element indices).

It returns ``None`` when no pattern fits (a backward that is simply wrong).
The protocol checks of :func:`~ember.check.check_module` add ``accumulate``
(``gradWeight = …`` instead of ``+=``), ``scale`` (scale ignored) and ``stale``
(:func:`stale_input`: backward uses the previous call's input).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

#: the mistakes a diagnosis can name.
MISTAKES = ("zero", "sign", "transposed", "factor", "batch", "kink", "mask", "accumulate", "scale", "stale")


@dataclass(frozen=True)
class Diagnosis:
    """A named mistake: ``mistake`` is one of :data:`MISTAKES`, ``message`` says it in words."""

    mistake: str
    message: str

    def __str__(self) -> str:
        return f"likely mistake ({self.mistake}): {self.message}"


@dataclass(frozen=True)
class Layout:
    """What the Jacobian's rows and columns are, for the patterns that need it.

    Attributes:
        rows: the output's shape (``None`` for a table).
        columns: the shape of the differentiated array (``None`` for a table).
        values: that array's values, flattened (to describe a mask by the input's sign).
        wrt_input: whether the columns are the input (else a parameter).

    """

    rows: tuple[int, ...] | None = None
    columns: tuple[int, ...] | None = None
    values: np.ndarray | None = None
    wrt_input: bool = True

    @property
    def batch(self) -> int | None:
        """The batch size when input and output share a leading dimension > 1, else ``None``."""
        if self.rows is None or len(self.rows) < 2 or self.rows[0] < 2:
            return None
        if self.wrt_input and (self.columns is None or len(self.columns) < 2 or self.columns[0] != self.rows[0]):
            return None
        return self.rows[0]


def _close(a: np.ndarray, b: np.ndarray, limit: float) -> bool:
    with np.errstate(invalid="ignore", over="ignore"):
        return bool(np.all(np.abs(a - b) <= limit))


def _factor_name(c: float, batch: int | None) -> str:
    named = [(2.0, "2"), (0.5, "½"), (-2.0, "−2"), (-0.5, "−½")]
    if batch:
        named += [(float(batch), f"the batch size {batch}"),
                  (1.0 / batch, f"1/{batch}, one over the batch size: averaged over the batch instead of summed")]
    for value, name in named:
        if abs(c - value) <= 1e-6 * max(1.0, abs(value)):
            return name
    return f"{c:.4g}"


def _blocks(layout: Layout, shape: tuple[int, int]) -> tuple[np.ndarray, np.ndarray] | None:
    """Example index of each row and each column (columns ``-1`` for a parameter), or ``None``."""
    n = layout.batch
    if n is None or shape[0] % n:
        return None
    rows = np.repeat(np.arange(n), shape[0] // n)
    if layout.wrt_input:
        if shape[1] % n:
            return None
        return rows, np.repeat(np.arange(n), shape[1] // n)
    return rows, np.full(shape[1], -1)


def _batch_pattern(A: np.ndarray, N: np.ndarray, layout: Layout, limit: float) -> Diagnosis | None:
    blocks = _blocks(layout, A.shape)
    if blocks is None:
        return None
    rows, cols = blocks
    n = layout.batch
    first = rows == 0
    if layout.wrt_input:
        same = rows[:, None] == cols[None, :]
        if not _close(N[~same], 0.0, limit):
            return None  # examples interact in the true Jacobian: not a per-example module
        if not _close(A[~same], 0.0, limit):
            return Diagnosis("batch", f"gradInput of one example depends on the gradOutput of others (summed over "
                                      f"the batch dimension?): the true Jacobian is block-diagonal by example, "
                                      f"backprop's is not (batch of {n})")
        first_ok = _close(A[np.ix_(first, cols == 0)], N[np.ix_(first, cols == 0)], limit)
    else:
        first_ok = _close(A[first], N[first], limit)
    if first_ok:
        return Diagnosis("batch", f"right for the first example of the batch, wrong for the others: the batch "
                                  f"dimension is ignored (batch of {n})")
    return None


def _mask_pattern(bad: np.ndarray, A: np.ndarray, N: np.ndarray, layout: Layout,
                  kinks: np.ndarray | None) -> Diagnosis | None:
    if kinks is not None and np.any(kinks[bad]):
        return None  # wrong elements where the function is not differentiable: not a clean mask
    live = (A != 0) | (N != 0)
    n_bad, n_live = int(bad.sum()), int(live.sum())
    if n_bad == 0 or n_bad >= n_live:
        return None
    columns = np.flatnonzero(bad.any(axis=0))
    elementwise = A.shape[0] == A.shape[1] and not np.any(N[~np.eye(*N.shape, dtype=bool)])
    what = "input" if layout.wrt_input else "parameter"
    if elementwise and layout.values is not None and layout.values.size == A.shape[1]:
        x = layout.values
        mask = np.zeros(x.size, dtype=bool)
        mask[columns] = True
        for name, where in (("negative", x < 0), ("positive", x > 0), ("zero", x == 0),
                            ("not positive", x <= 0), ("not negative", x >= 0)):
            if np.array_equal(mask, where):
                return Diagnosis("mask", f"the gradient is right except where the {what} is {name} "
                                         f"({n_bad} of {x.size} elements): check that case of the derivative")
    shown = ", ".join(str(int(c)) for c in columns[:8]) + (", …" if columns.size > 8 else "")
    return Diagnosis("mask", f"{n_bad} of {n_live} nonzero Jacobian elements are wrong, the others right: "
                             f"{what} elements {shown} (flat indices)")


def diagnose_jacobian(analytic: np.ndarray, numeric: np.ndarray, limit: float, layout: Layout | None = None,
                      kinks: np.ndarray | None = None) -> Diagnosis | None:
    """The classic mistake that explains backprop ``analytic`` against finite differences ``numeric``.

    Args:
        analytic: the backprop Jacobian, ``(outputs, columns)``.
        numeric: the finite-difference Jacobian, the same shape.
        limit: the absolute tolerance of one element (the check's ``tol · scale``).
        layout: what rows and columns are (:class:`Layout`), for the transposed, batch and mask patterns.
        kinks: optional boolean ``(outputs, columns)``: where the one-sided differences disagree.

    Returns:
        A :class:`Diagnosis`, or ``None`` when no pattern explains every element.

    """
    A, N = np.asarray(analytic, dtype=np.float64), np.asarray(numeric, dtype=np.float64)
    layout = layout or Layout()
    if A.shape != N.shape or A.size == 0 or not np.all(np.isfinite(N)):
        return None
    with np.errstate(invalid="ignore", over="ignore"):
        bad = ~(np.abs(A - N) <= limit)
    if not bad.any() or not np.any(np.abs(N) > limit):
        return None
    if not np.any(A):
        return Diagnosis("zero", "backprop gives zero everywhere: the gradient is never computed, or written "
                                 "into a new array instead of the module's (`self.gradWeight = …` rebinds the name; "
                                 "write into it with `+=` or `[...] =`)")
    if _close(A, -N, limit):
        return Diagnosis("sign", "backprop is exactly minus the true gradient: a sign is wrong (e.g. `x - y` for "
                                 "`y - x`, or a missing minus in the derivative)")
    patterns: list[Callable[[], Diagnosis | None]] = [
        lambda: _transposed(A, N, layout, limit),
        lambda: _factor(A, N, layout, limit),
        lambda: _batch_pattern(A, N, layout, limit),
        lambda: _kink_pattern(bad, kinks),
        lambda: _mask_pattern(bad, A, N, layout, kinks),
    ]
    for pattern in patterns:
        found = pattern()
        if found is not None:
            return found
    return None


def _transposed(A: np.ndarray, N: np.ndarray, layout: Layout, limit: float) -> Diagnosis | None:
    if A.shape[0] == A.shape[1] and not _close(N, N.T, limit) and _close(A, N.T, limit):
        return Diagnosis("transposed", "backprop's Jacobian is the transpose of the true one: gradInput uses the "
                                       "matrix transposed (e.g. `gradOutput @ W.T` where `gradOutput @ W` is right)")
    shape = layout.columns
    if shape is not None and len(shape) == 2 and shape[0] == shape[1] and A.shape[1] == shape[0] * shape[1]:
        swapped = A.reshape(A.shape[0], *shape).transpose(0, 2, 1).reshape(A.shape)
        if _close(swapped, N, limit):
            what = "input" if layout.wrt_input else "parameter"
            return Diagnosis("transposed", f"the gradient of the {shape[0]}×{shape[1]} {what} is transposed "
                                           "(e.g. `outer(x, g)` or `x.T @ g` where `outer(g, x)`, `g.T @ x` is right)")
    return None


def _factor(A: np.ndarray, N: np.ndarray, layout: Layout, limit: float) -> Diagnosis | None:
    c = float(np.vdot(A, N) / np.vdot(N, N))
    if not np.isfinite(c) or abs(c - 1.0) < 1e-6 or abs(c) < 1e-12 or not _close(A, c * N, limit):
        return None
    return Diagnosis("factor", f"backprop is the true gradient times a constant factor {_factor_name(c, layout.batch)}"
                               " (a missing or extra constant in the derivative)")


def _kink_pattern(bad: np.ndarray, kinks: np.ndarray | None) -> Diagnosis | None:
    if kinks is None or not np.all(kinks[bad]):
        return None
    columns = np.flatnonzero(bad.any(axis=0))
    shown = ", ".join(str(int(c)) for c in columns[:8]) + (", …" if columns.size > 8 else "")
    return Diagnosis("kink", f"wrong only at a kink (elements {shown}: a point where the function is not "
                             "differentiable, e.g. an input exactly 0): backprop lies outside both one-sided "
                             "slopes; return one of them there")


# -- protocol-level mistakes -----------------------------------------------------------------------


def stale_input(module: Any, pristine: Any, other: Any, grad_output: Any, limit: float,
                numeric_transposed: Callable[[Any, Any], np.ndarray]) -> Diagnosis | None:
    """Whether ``backward`` uses the previous call's input instead of its own.

    Calls ``forward(other)``, ``backward(other, g)``, ``forward(pristine)`` and
    ``backward(pristine, g)``; claims the mistake when the last gradInput equals the
    true ``Jᵀg`` at ``other`` (``numeric_transposed(x, g)``) and not the one at ``pristine``.
    """
    from ember.check.structure import copy_structure, flatten

    x0, x1 = copy_structure(other), copy_structure(pristine)
    module.forward(x0)
    module.backward(x0, copy_structure(grad_output))
    module.forward(x1)
    got = flatten(module.backward(x1, copy_structure(grad_output)))
    at_previous = numeric_transposed(other, grad_output)
    at_current = numeric_transposed(pristine, grad_output)
    if got.shape == at_previous.shape and _close(got, at_previous, limit) and not _close(got, at_current, limit):
        return Diagnosis("stale", "backward uses the input of the previous call, not the one it is given: compute "
                                  "the gradient from `input` (or from what this call's forward stored)")
    return None
