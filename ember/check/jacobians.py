"""A module's Jacobian by backprop and by finite differences, and the Jacobian check with its kink rule.

:func:`jacobian` returns the two Jacobians; ``_jacobian_checks`` judges them
(PASS, KINK or FAIL, naming the worst element) for :func:`check_module` and
the bug localiser of :func:`check_model`.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from typing import Any

import numpy as np

from ember.check.compare import _abs_diff, _scale, check_settings, check_subjects, refuse_raises
from ember.check.diagnose import Layout, diagnose_jacobian
from ember.check.params import _named_parameters, _Parameter, _resolve_param, _Snapshot
from ember.check.report import CheckResult, _CheckError, _raised
from ember.check.structure import (
    _is_float,
    _leaf_paths,
    _namer,
    _structure_namer,
    _warn_if_single,
    copy_structure,
    flatten,
    leaves,
    one_hot_like,
)
from ember.finite_differences import differences
from ember.nn.module import Module

# -- the two Jacobians -----------------------------------------------------------------------------


def _gather(grad_input: Any, input_leaves: list[np.ndarray], positions: list[int], paths: list[str]) -> np.ndarray:
    """The elements of ``gradInput`` at the input arrays ``positions``, checking their shapes."""
    grad_leaves = leaves(grad_input)
    if len(grad_leaves) != len(input_leaves):
        raise _CheckError(f"gradInput has {len(grad_leaves)} arrays, the input {len(input_leaves)}")
    parts = []
    for k in positions:
        shape = np.shape(grad_leaves[k])
        if shape != input_leaves[k].shape:
            raise _CheckError(f"gradInput{paths[k]} has shape {shape}, the input{paths[k]} {input_leaves[k].shape}")
        parts.append(np.asarray(grad_leaves[k], dtype=np.float64).ravel())
    return np.concatenate(parts) if parts else np.empty(0)


def _backprop(module: Module, x: Any, output: Any, positions: list[int],
              params: list[_Parameter]) -> tuple[np.ndarray, list[np.ndarray]]:
    """Backprop Jacobians at ``x`` (``forward(x)`` was just called and gave ``output``).

    One ``backward`` per output element, with a one-hot ``gradOutput`` and zeroed
    parameter gradients. Returns the Jacobian with respect to the input arrays at
    ``positions`` and one per parameter of ``params``; gradients are restored.
    """
    input_leaves = leaves(x)
    paths = _leaf_paths(x)
    n_out = flatten(output).size
    n_in = sum(input_leaves[k].size for k in positions)
    wrt_input = np.empty((n_out, n_in))
    wrt_params = [np.empty((n_out, p.value.size)) for p in params]
    snapshot = _Snapshot(module)
    try:
        for row in range(n_out):
            module.zeroGradParameters()
            grad_input = module.backward(x, one_hot_like(output, row))
            if positions:
                wrt_input[row] = _gather(grad_input, input_leaves, positions, paths)
            for jac, p in zip(wrt_params, params):
                jac[row] = p.grad.ravel()
    finally:
        snapshot.restore()
    return wrt_input, wrt_params


@refuse_raises("jacobian")
def jacobian(module: Module, input: Any, param: str | int | None = None,
             eps: float = 1e-6) -> tuple[np.ndarray, np.ndarray]:
    """Return ``(analytic, numeric)`` Jacobians of ``module`` at ``input``.

    Rows are output elements; columns are input elements (``param=None``; the
    elements of the floating-point arrays of a table input) or the entries of
    one parameter (``param`` is an attribute name such as ``'weight'`` or an
    index into ``module.parameters()[0]``). The caller's input is never
    modified; perturbed parameter entries are restored exactly, and the
    module's parameter gradients and persistent state (declared buffers, e.g.
    running statistics) are left as they were.
    """
    check_settings("jacobian", eps)
    check_subjects("jacobian", module)
    pristine = copy_structure(input)
    _warn_if_single(leaves(pristine) + module.parameters()[0])
    snapshot = _Snapshot(module)
    try:
        return _jacobian(module, pristine, param, eps)
    finally:
        snapshot.restore()


def _jacobian(module: Module, pristine: Any, param: str | int | None, eps: float) -> tuple[np.ndarray, np.ndarray]:
    x = copy_structure(pristine)
    output = copy_structure(module.forward(x))
    if param is None:
        positions = [k for k, leaf in enumerate(leaves(pristine)) if _is_float(leaf)]
        if not positions:
            module.fail(f"cannot differentiate with respect to an input of dtype {leaves(pristine)[0].dtype}",
                        TypeError)
        analytic, _ = _backprop(module, x, output, positions, [])
        arrays = [leaves(pristine)[k] for k in positions]
    else:
        array = _resolve_param(module, param)
        wanted = [p for p in _named_parameters(module) if p.value is array]
        if not wanted:
            module.fail("the parameter to check is not among its parameters()")
        _, (analytic,) = _backprop(module, x, output, [], wanted)
        arrays = [array]

    def evaluate() -> np.ndarray:
        return flatten(module.forward(copy_structure(pristine)))

    try:
        (numeric,) = differences(evaluate, arrays, eps)
    finally:
        module.forward(copy_structure(pristine))
    return analytic, numeric


def jacobian_error(module: Module, input: Any, param: str | int | None = None, eps: float = 1e-6) -> float:
    """Largest absolute difference between the backprop and finite-difference Jacobians."""
    analytic, numeric = jacobian(module, input, param, eps)
    return float(np.max(np.abs(analytic - numeric), initial=0.0))


# -- judging a Jacobian: tolerance and kinks -------------------------------------------------------


def _judge_jacobian(label: str, argument: str, analytic: np.ndarray, numeric: np.ndarray,
                    sides: Callable[[np.ndarray], tuple[np.ndarray, np.ndarray]], tol: float, eps: float,
                    row_name: Callable[[int], str], column_name: Callable[[int], str],
                    layout: Layout | None = None) -> CheckResult:
    """PASS, KINK or FAIL for one Jacobian, naming its worst element and, on FAIL, the likely mistake."""
    if analytic.size == 0:
        return CheckResult("jacobian", label, argument, "PASS", "nothing to compare (no elements)", 0.0)
    scale = _scale(numeric)
    limit = tol * scale
    diff = _abs_diff(analytic, numeric)
    bad = diff > limit

    def where(row: int, col: int) -> str:
        return f"d {row_name(row)} / d {argument}{column_name(col)}"

    def result(status: str, row: int, col: int, message: str, diagnosis: Any = None) -> CheckResult:
        return CheckResult("jacobian", label, argument, status, message, float(diff[row, col]), (int(row), int(col)),
                           float(analytic[row, col]), float(numeric[row, col]), diagnosis)

    if not bad.any():
        row, col = np.unravel_index(int(np.argmax(diff)), diff.shape)
        return result("PASS", row, col, f"max error {diff[row, col]:.2g} at {where(row, col)}: backprop "
                      f"{analytic[row, col]:.6g}, numeric {numeric[row, col]:.6g}")
    columns = np.flatnonzero(bad.any(axis=0))
    forward, backward = sides(columns)
    sub_bad, sub_analytic = bad[:, columns], analytic[:, columns]
    low = np.minimum(forward, backward) - limit
    high = np.maximum(forward, backward) + limit
    split = np.abs(forward - backward) > max(tol, 1e3 * eps) * scale
    kink = sub_bad & split & (sub_analytic >= low) & (sub_analytic <= high)
    failing = sub_bad & ~kink
    n_bad = int(bad.sum())
    if failing.any():
        sub_diff = np.where(failing, diff[:, columns], -1.0)
        row, c = np.unravel_index(int(np.argmax(sub_diff)), sub_diff.shape)
        col = int(columns[c])
        kinks = f", {int(kink.sum())} more at kinks" if kink.any() else ""
        at_kinks = np.zeros(analytic.shape, dtype=bool)
        at_kinks[:, columns] = split
        return result("FAIL", row, col, f"at {where(row, col)}: backprop {analytic[row, col]:.6g} vs numeric "
                      f"{numeric[row, col]:.6g} (error {diff[row, col]:.2g} > {limit:.2g}; "
                      f"{int(failing.sum())} of {analytic.size} elements wrong{kinks})",
                      diagnose_jacobian(analytic, numeric, limit, layout, at_kinks))
    sub_diff = np.where(kink, diff[:, columns], -1.0)
    row, c = np.unravel_index(int(np.argmax(sub_diff)), sub_diff.shape)
    col = int(columns[c])
    return result("KINK", row, col, f"{n_bad} element(s) at kinks, backprop between the one-sided differences; "
                  f"worst at {where(row, col)}: backprop {analytic[row, col]:.6g}, one-sided "
                  f"{backward[row, c]:.6g} (backward) and {forward[row, c]:.6g} (forward), central "
                  f"{numeric[row, col]:.6g}")


def _one_jacobian(label: str, argument: str, analytic: np.ndarray, arrays: list[np.ndarray],
                  evaluate: Callable[[], np.ndarray], base: np.ndarray, eps: float, tol: float,
                  row_name: Callable[[int], str], column_name: Callable[[int], str],
                  layout: Layout | None = None) -> CheckResult:
    n_out, n_columns = analytic.shape
    try:
        (numeric,) = differences(evaluate, arrays, eps, range(n_columns))
        return _judge_jacobian(label, argument, analytic, numeric,
                               lambda columns: differences(evaluate, arrays, eps, columns, base=base)[1:],
                               tol, eps, row_name, column_name, layout)
    except Exception as error:  # a failing module, reported as such
        return _raised("jacobian", label, argument, error)


def _jacobian_checks(module: Module, input: Any, eps: float, tol: float, label: str) -> list[CheckResult]:
    """Jacobian checks of ``module`` at ``input``: with respect to the input and to each parameter."""
    pristine = copy_structure(input)
    input_leaves, paths = leaves(pristine), _leaf_paths(pristine)
    positions = [k for k, leaf in enumerate(input_leaves) if _is_float(leaf)]
    params = _named_parameters(module)
    try:
        x = copy_structure(pristine)
        output = copy_structure(module.forward(x))
        base = flatten(output)
        wrt_input, wrt_params = _backprop(module, x, output, positions, params)
    except Exception as error:
        return [_raised("jacobian", label, "input", error)]

    def evaluate() -> np.ndarray:
        return flatten(module.forward(copy_structure(pristine)))

    output_name = _structure_namer(output)

    def row_name(row: int) -> str:
        return "output" + output_name(row)

    rows = None if isinstance(output, list) else np.shape(output)
    results = []
    if positions:
        arrays = [input_leaves[k] for k in positions]
        column_name = _namer([paths[k] for k in positions], [a.shape for a in arrays])
        single = not isinstance(pristine, list)
        layout = Layout(rows, arrays[0].shape, arrays[0].ravel(), True) if single else Layout(rows)
        results.append(_one_jacobian(label, "input", wrt_input, arrays, evaluate, base, eps, tol,
                                     row_name, column_name, layout))
    else:
        dtypes = sorted({str(leaf.dtype) for leaf in input_leaves})
        results.append(CheckResult("jacobian", label, "input", "SKIP",
                                   f"input of dtype {', '.join(dtypes)}: no derivative with respect to it"))
    for p, analytic in zip(params, wrt_params):
        results.append(_one_jacobian(label, p.name, analytic, [p.value], evaluate, base, eps, tol,
                                     row_name, _namer([""], [p.value.shape]), Layout(rows, p.value.shape, None, False)))
    with contextlib.suppress(Exception):
        module.forward(copy_structure(pristine))
    explain = getattr(module, "explain_jacobian", None)  # e.g. the time step and gate of a recurrent layer
    if explain is not None:
        for result in results:
            if result.status == "FAIL" and result.index is not None:
                with contextlib.suppress(Exception):
                    result.message += f" [{explain(result.argument, *result.index)}]"
    return results


def _backprop_loss(model: Module, criterion: Any, pristine: Any, target: Any) -> tuple[Any, Any]:
    """Zero the gradients and run ``model`` and ``criterion`` forward and backward once on a copy of
    ``pristine``; return the copy and the model's gradInput (``None`` where the first layer's gradInput is
    switched off, Torch's idiom: then there is no input gradient to compare).
    """
    model.zeroGradParameters()
    x = copy_structure(pristine)
    output = model.forward(x)
    criterion.forward(output, target)
    return x, model.backward(x, criterion.backward(output, target))


def _criterion_check(criterion: Any, output: Any, target: Any, eps: float, tol: float,
                     label: str) -> CheckResult:
    pristine = copy_structure(output)
    input_leaves, paths = leaves(pristine), _leaf_paths(pristine)
    positions = [k for k, leaf in enumerate(input_leaves) if _is_float(leaf)]
    try:
        x = copy_structure(pristine)
        base = np.array([float(criterion.forward(x, target))])
        analytic = _gather(criterion.backward(x, target), input_leaves, positions, paths)[None, :]
    except Exception as error:
        return _raised("jacobian", label, "input", error)

    def evaluate() -> np.ndarray:
        return np.array([float(criterion.forward(copy_structure(pristine), target))])

    arrays = [input_leaves[k] for k in positions]
    return _one_jacobian(label, "input", analytic, arrays, evaluate, base, eps, tol, lambda row: "loss",
                         _namer([paths[k] for k in positions], [a.shape for a in arrays]))
