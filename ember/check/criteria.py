"""``check_criterion``: :func:`~ember.check.check_module`'s audit, check for check, for a criterion.

A criterion maps ``(input, target)`` to a float and has no parameters and no ``gradOutput``, so each
check of the module audit becomes its criterion form: ``jacobian`` (∂loss/∂input against finite
differences), ``batch`` (with ``sizeAverage`` off, a batch's loss is the sum of its examples' and its
gradInput their gradients stacked), ``accumulate`` (a second ``backward`` gives the same gradInput:
it is overwritten, not added to), ``scale`` and ``linear`` (they concern ``backward``'s ``scale`` and
``gradOutput``, which a criterion does not take: SKIP), ``deterministic``, ``unchanged`` (the input
and the target), ``dtype`` (the loss is a Python float; a float32 criterion and input give a float32
gradInput).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from ember.check.compare import _diff, _protocol_result, check_settings, check_subjects
from ember.check.jacobians import _criterion_check
from ember.check.report import CheckResult, ModuleReport, _raised
from ember.check.structure import _describe, _example, _is_float, _map, copy_structure, leaves
from ember.nn.criterion import Criterion

__all__ = ["check_criterion", "undeclared_criterion_arrays"]


def _summing(criterion: Criterion) -> Criterion:
    """A copy of ``criterion`` (and of the criteria it combines) with ``sizeAverage`` off."""
    twin = criterion.clone()
    stack = [twin]
    while stack:
        c = stack.pop()
        c.sizeAverage = False
        stack += c.children()
    return twin


def _check_batch(criterion: Criterion, x: Any, t: Any, tol: float, label: str, batch: bool) -> CheckResult:
    if not batch:
        return CheckResult("batch", label, "-", "SKIP", "not asked (batch=False): the input is one example")
    sizes = {leaf.shape[0] if np.ndim(leaf) else None for leaf in leaves(x)}
    if len(sizes) != 1 or None in sizes:
        return CheckResult("batch", label, "-", "SKIP", "the input has no common leading (batch) dimension")
    n = sizes.pop()
    summing = _summing(criterion)
    loss = summing.forward(copy_structure(x), t)
    grad = copy_structure(summing.backward(copy_structure(x), t))
    losses, diffs = [], []
    for i in range(n):
        x_i, t_i = copy_structure(_example(x, i)), _example(t, i) if t is not None else None
        losses.append(summing.forward(x_i, t_i))
        diffs.append(_diff("gradInput", summing.backward(x_i, t_i), _example(grad, i), tol)
                     ._replace(context=f"of example {i}"))
    diffs.insert(0, _diff("output", np.array([loss]), np.array([sum(losses)]), tol))
    return _protocol_result("batch", label, "output, gradInput", diffs,
                            f"with sizeAverage off, a batch of {n} gives the sum of its examples' losses and "
                            "their gradients",
                            lambda d: "a batch and its examples one at a time differ (with sizeAverage off the "
                                      "loss must be the sum over the examples, the gradInput their gradients)")


def _check_accumulate(criterion: Criterion, x: Any, t: Any, tol: float, label: str) -> CheckResult:
    criterion.forward(x, t)
    first = copy_structure(criterion.backward(x, t))
    again = criterion.backward(x, t)
    return _protocol_result("accumulate", label, "gradInput", [_diff("gradInput", again, first, tol)],
                            "a second backward gives the same gradInput (overwritten, not accumulated)",
                            lambda d: "backward must overwrite gradInput (a criterion's gradient is not "
                                      "accumulated): write it with =, or fill it first")


def _check_deterministic(criterion: Criterion, x: Any, t: Any, tol: float, label: str) -> CheckResult:
    runs = []
    for _ in range(2):
        fresh = copy_structure(x)
        loss = criterion.forward(fresh, t)
        runs.append((np.array([loss]), copy_structure(criterion.backward(fresh, t))))
    (loss, grad), (loss_again, grad_again) = runs
    diffs = [_diff("output", loss_again, loss, tol), _diff("gradInput", grad_again, grad, tol)]
    return _protocol_result("deterministic", label, "output, gradInput", diffs,
                            "forward and backward repeat exactly",
                            lambda d: f"the same input and target gave a different {d.what} the second time")


def _check_unchanged(criterion: Criterion, x: Any, t: Any, label: str) -> CheckResult:
    fresh, target = copy_structure(x), None if t is None else copy_structure(t)
    criterion.forward(fresh, target)
    diffs = [_diff("input", fresh, x, 0.0)._replace(context="after forward")]
    if t is not None:
        diffs.append(_diff("target", target, t, 0.0)._replace(context="after forward"))
    criterion.backward(fresh, target)
    diffs.append(_diff("input", fresh, x, 0.0)._replace(context="after backward"))
    if t is not None:
        diffs.append(_diff("target", target, t, 0.0)._replace(context="after backward"))
    return _protocol_result("unchanged", label, "input, target", diffs,
                            "forward and backward leave input and target unchanged",
                            lambda d: f"{d.what} was modified {d.context} (criteria must not write into their "
                                      "arguments; write into a buffer)")


def _check_dtype(criterion: Criterion, x: Any, t: Any, label: str) -> CheckResult:
    for dtype in (np.dtype(np.float64), np.dtype(np.float32)):
        twin = criterion.clone().type(dtype)
        cast = _map(copy_structure(x), lambda leaf, dtype=dtype: leaf.astype(dtype) if _is_float(leaf) else leaf)
        target = _map(copy_structure(t), lambda leaf, dtype=dtype: leaf.astype(dtype)
                      if _is_float(leaf) else leaf) if isinstance(t, (np.ndarray, list)) else t
        loss = twin.forward(cast, target)
        if type(loss) is not float or twin.output != loss:
            return CheckResult("dtype", label, "output", "FAIL", f"forward returned {type(loss).__name__} "
                               f"{loss!r} (output {twin.output!r}): it must set and return self.output, a Python "
                               "float")
        got = [leaf.dtype for leaf in leaves(twin.backward(cast, target)) if _is_float(leaf)]
        if any(d != dtype for d in got):
            return CheckResult("dtype", label, "gradInput", "FAIL", f"a {dtype} criterion given a {dtype} input "
                               f"returned a gradInput of {', '.join(map(str, got))}")
    return CheckResult("dtype", label, "output", "PASS", "the loss is a Python float; the gradInput is float64 "
                       "and float32 as the input")


def undeclared_criterion_arrays(criterion: Criterion) -> list[str]:
    """A warning for each public floating-point array of ``criterion`` (and the criteria it combines) that
    is neither ``gradInput``, one of its ``_float_attributes`` (converted by ``type()``) nor ``_scratch``.
    """
    warnings = []
    stack = [criterion]
    while stack:
        owner = stack.pop()
        stack += owner.children()
        known = {*owner._float_attributes, *owner._scratch, "output", "gradInput"}
        for name, value in vars(owner).items():
            if (name not in known and not name.startswith("_") and isinstance(value, np.ndarray)
                    and np.issubdtype(value.dtype, np.floating)):
                warnings.append(f"{owner.describe()}.{name} is a floating-point array that is neither gradInput "
                                f"nor listed in _float_attributes or _scratch: type() will not convert it")
    return warnings


def check_criterion(criterion: Criterion, input: Any, target: Any = None, eps: float = 1e-6, tol: float = 1e-6,
                    *, batch: bool = False) -> ModuleReport:
    """Audit ``criterion`` at ``(input, target)``: the checks of :func:`~ember.check.check_module`, each in
    its criterion form (see the module docstring), as one :class:`ModuleReport`.

    The caller's input and target are never modified.

    Args:
        criterion: the criterion to audit.
        input: an example (``batch=False``) or a batch (``batch=True``).
        target: its target.
        eps: the finite-difference step, as for ``check_module``.
        tol: the tolerance, as for ``check_module``.
        batch: the input is a batch: also check that its summed loss and gradients are its examples'.

    """
    check_settings("check_criterion", eps, tol)
    check_subjects("check_criterion", criterion=criterion)
    label = criterion.describe()
    pristine = copy_structure(input)
    report = ModuleReport(label, _describe(pristine), checker="check_criterion")
    try:
        criterion.forward(copy_structure(pristine), target)
    except Exception as error:
        report.checks.append(_raised("forward", label, "input", error))
        return report
    report.checks.append(_criterion_check(criterion, pristine, target, eps, tol, label))
    checks: list[tuple[str, Callable[[], CheckResult]]] = [
        ("batch", lambda: _check_batch(criterion, pristine, target, tol, label, batch)),
        ("accumulate", lambda: _check_accumulate(criterion, copy_structure(pristine), target, tol, label)),
        ("scale", lambda: CheckResult("scale", label, "-", "SKIP", "a criterion's backward takes no scale")),
        ("deterministic", lambda: _check_deterministic(criterion, pristine, target, tol, label)),
        ("linear", lambda: CheckResult("linear", label, "-", "SKIP", "a criterion's backward takes no gradOutput")),
        ("unchanged", lambda: _check_unchanged(criterion, pristine, target, label)),
        ("dtype", lambda: _check_dtype(criterion, pristine, target, label)),
    ]
    for name, run in checks:
        try:
            report.checks.append(run())
        except Exception as error:
            report.checks.append(_raised(name, label, "-", error))
    report.warnings += undeclared_criterion_arrays(criterion)
    return report
