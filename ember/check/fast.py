"""The randomized whole-model check for big models: directional derivatives within a time budget.

Along a random unit direction ``v`` of the parameters (and, separately, of a floating-point input),
backprop gives ``g·v`` and finite differences give ``(L(θ + εv) − L(θ − εv)) / 2ε`` from two
evaluations of the loss — PyTorch's fast gradcheck. Directions are drawn until ``budget`` seconds
have passed (at least ``min_directions``, at most ``max_directions``); each is compared by
``|g·v − fd| / max(|g·v| + |fd|, ‖g‖ / √n)``. A direction that crosses a kink (the one-sided
differences disagree and ``g·v`` lies between them, or only the step ``ε / 100`` agrees: a near-tie
crossed) does not count against the model. Exact zeros of the input (blank pixels, padding) are not
moved: there a piecewise-linear model (ReLU, max pooling) sits on ties that any move would break.
Caveat: an input with many ties (MNIST's flat strokes into max pooling) can still make one random
input direction cross several kinks at once, where ``g·v`` need not lie between the one-sided slopes;
the parameter directions are not affected.

When a direction fails, the localiser moves all parameters along one random direction (``±ε``; the
input too when only the input's check failed) and records how each leaf module's input and output
change in the model, ``dx`` and ``dy``: each module's backward must map a random ``gradOutput`` ``u``
to ``u·(J dx)`` equal to ``u·dy``. Zeros and ties that the model keeps (a ReLU's dead units before max
pooling) stay put, so no kink is crossed where the model crosses none. Then the criterion is checked;
a culprit small enough gets the full Jacobian check, and with it the diagnosis of
:mod:`ember.check.diagnose`.
"""

from __future__ import annotations

import contextlib
import math
import time
from collections.abc import Callable
from typing import Any

import numpy as np

from ember.check.jacobians import _backprop_loss, _criterion_check, _jacobian_checks
from ember.check.params import _module_paths, _Snapshot
from ember.check.report import CheckResult, ModelReport, ModuleReport
from ember.check.structure import _describe, _is_float, copy_structure, flatten, leaves
from ember.finite_differences import directional
from ember.nn.criterion import Criterion
from ember.nn.module import Module

#: a culprit whose Jacobians have at most this many elements gets the full check and its diagnosis.
FULL_CHECK_ELEMENTS = 200_000


def _random_directions(arrays: list[np.ndarray], rng: np.random.Generator, keep_zeros: int = 0) -> list[np.ndarray]:
    """A random unit direction over ``arrays``; the last ``keep_zeros`` arrays (the input) are not moved
    where they are exactly zero.
    """
    directions = [rng.standard_normal(a.shape) for a in arrays]
    for k in range(len(arrays) - keep_zeros, len(arrays)):
        directions[k] *= arrays[k] != 0
    norm = math.sqrt(sum(float(np.vdot(d, d)) for d in directions)) or 1.0
    return [d / norm for d in directions]


#: a failing direction is tried again with the step divided by this: a direction that only crossed a
#: near-tie (two pooled values closer than the step) agrees with the smaller step; a wrong gradient does not.
SMALLER_STEP = 100.0


def _directional(evaluate: Callable[[], float], arrays: list[np.ndarray], gradients: list[np.ndarray],
                 eps: float, tol: float, rng: np.random.Generator, keep_zeros: int = 0) -> tuple[float, str]:
    """The relative error of one random direction, and ``'PASS'``, ``'KINK'`` or ``'FAIL'``."""
    directions = _random_directions(arrays, rng, keep_zeros)
    analytic = sum(float(np.vdot(g.astype(np.float64), d)) for g, d in zip(gradients, directions))
    size = sum(g.size for g in gradients)
    floor = math.sqrt(sum(float(np.vdot(g, g)) for g in gradients) / max(size, 1))
    base = evaluate()
    error, status = _judge(analytic, *directional(evaluate, arrays, directions, eps, base=base), floor, tol, eps)
    if status == "FAIL":
        smaller = eps / SMALLER_STEP
        again, status = _judge(analytic, *directional(evaluate, arrays, directions, smaller, base=base), floor,
                               tol, smaller)
        if status != "FAIL":
            return error, "KINK"
        error = min(error, again)
    return error, status


def _judge(analytic: float, numeric: float, forward: float, backward: float, floor: float, tol: float,
           eps: float) -> tuple[float, str]:
    scale = max(abs(analytic) + abs(numeric), floor)
    error = abs(analytic - numeric) / scale if scale > 0 else 0.0
    if error <= tol:
        return error, "PASS"
    limit = tol * scale
    # a kink: the one-sided slopes differ by more than the tolerance and backprop lies between them (on a
    # smooth function they differ by eps·|f''|, and a wrong g·v lies outside that narrow interval)
    if (abs(forward - backward) > limit
            and min(forward, backward) - limit <= analytic <= max(forward, backward) + limit):
        return error, "KINK"
    return error, "FAIL"


def fast_check_model(model: Module, criterion: Criterion, input: Any, target: Any, eps: float = 1e-6,
                     tol: float = 1e-6, budget: float = 10.0, seed: int = 0, min_directions: int = 2,
                     max_directions: int = 32) -> ModelReport:
    """``check_model(..., mode="fast")``: random directional derivatives within ``budget`` seconds."""
    started = time.monotonic()
    rng = np.random.default_rng(seed)
    pristine, target = copy_structure(input), copy_structure(target)
    params = model.parameters()[0]
    positions = [k for k, leaf in enumerate(leaves(pristine)) if _is_float(leaf)]
    snapshot = _Snapshot(model)
    try:
        x, grad_input = _backprop_loss(model, criterion, pristine, target)
        if grad_input is None:
            positions = []
        gradients = [g.copy() for g in model.parameters()[1]]
        input_gradients = [np.asarray(leaves(grad_input)[k], dtype=np.float64).copy() for k in positions]
    finally:
        snapshot.restore()
    inputs = [leaves(pristine)[k] for k in positions]

    def loss() -> float:
        return float(criterion.forward(model.forward(copy_structure(pristine)), target))

    errors, input_errors, statuses = [], [], []
    try:
        while len(errors) < max_directions and (len(errors) < min_directions or time.monotonic() - started < budget):
            error, status = _directional(loss, params, gradients, eps, tol, rng)
            errors.append(error if status != "KINK" else 0.0)
            statuses.append(status)
            if inputs:
                error, status = _directional(loss, inputs, input_gradients, eps, tol, rng, len(inputs))
                input_errors.append(error if status != "KINK" else 0.0)
                statuses.append(status)
    finally:
        with contextlib.suppress(Exception):
            loss()
        snapshot.restore()
    report = ModelReport(model.describe(), criterion.describe(), max(errors, default=0.0),
                         max(input_errors) if input_errors else None, tol, sum(p.size for p in params),
                         mode="fast", directions=len(statuses))
    if not report.whole_ok:
        try:
            input_failed = report.input_error is not None and report.input_error > tol
            report.reports, report.failures, report.failure_names = _localise_fast(
                model, criterion, pristine, target, eps, tol, rng, input_failed)
        finally:
            snapshot.restore()
        report.localised = True
    report.seconds = time.monotonic() - started
    return report


def _record_calls(model: Module, input: Any) -> list[tuple[Module, Any, Any]]:
    """Run ``model.forward`` on a copy of ``input``: ``(leaf module, copy of its input, copy of its output)``
    per call, in call order (``forward`` is wrapped on each leaf instance for the duration only).
    """
    calls: list[tuple[Module, Any, Any]] = []
    leaves_ = [m for m in {id(m): m for m in model.listModules()}.values() if not m.children()]

    def recorder(module: Module) -> Callable[[Any], Any]:
        forward = module.forward

        def recording(module_input: Any) -> Any:
            kept = copy_structure(module_input)
            output = forward(module_input)
            calls.append((module, kept, copy_structure(output)))
            return output

        return recording

    try:
        for module in leaves_:
            module.forward = recorder(module)
        model.forward(copy_structure(input))
    finally:
        for module in leaves_:
            del module.forward
    return calls


def _tangent_runs(model: Module, input: Any, eps: float, rng: np.random.Generator,
                  move_input: bool) -> tuple[list, list, dict]:
    """The model run at θ ± ε·(a random unit direction) (and the input moved too, with ``move_input``):
    the calls of each run, and the direction of each parameter (by ``id``).
    """
    params = model.parameters()[0]
    inputs = [leaf for leaf in leaves(input) if _is_float(leaf)] if move_input else []
    directions = _random_directions(params + inputs, rng, len(inputs))
    saved = [a.copy() for a in params + inputs]
    runs = []
    try:
        for sign in (1.0, -1.0):
            for a, keep, d in zip(params + inputs, saved, directions):
                a[...] = keep + sign * eps * d
            runs.append(_record_calls(model, input))
    finally:
        for a, keep in zip(params + inputs, saved):
            a[...] = keep
    return runs[0], runs[1], {id(p): d for p, d in zip(params, directions)}


def _module_directional(module: Module, x: Any, dx: list[np.ndarray], dy: np.ndarray, param_directions: dict,
                        tol: float, rng: np.random.Generator) -> tuple[float, str]:
    """``u·(J_x dx + J_θ dθ)`` by the module's backward against ``u·dy``, the change of its output seen
    in the model, for a random ``u``.
    """
    snapshot = _Snapshot(module)
    try:
        module.zeroGradParameters()
        x_run = copy_structure(x)
        output = module.forward(x_run)
        weights = rng.standard_normal(flatten(output).shape)
        grad_input = module.backward(x_run, _unflatten(weights, output))
        grads = [np.asarray(leaf, dtype=np.float64) for leaf, ref in zip(leaves(grad_input), leaves(x))
                 if _is_float(ref)]
        analytic = sum(float(np.vdot(g, d)) for g, d in zip(grads, dx))
        params, param_grads = module.parameters()
        analytic += sum(float(np.vdot(g.astype(np.float64), param_directions.get(id(p), 0.0 * p)))
                        for p, g in zip(params, param_grads))
    finally:
        snapshot.restore()
    numeric = float(np.dot(weights, dy))
    scale = abs(analytic) + abs(numeric)
    error = abs(analytic - numeric) / scale if scale > 0 else 0.0
    return error, "PASS" if error <= tol else "FAIL"


def _unflatten(values: np.ndarray, like: Any) -> Any:
    if isinstance(like, list):
        parts, start = [], 0
        for item in like:
            n = flatten(item).size
            parts.append(_unflatten(values[start:start + n], item))
            start += n
        return parts
    return values.reshape(np.shape(like)).astype(like.dtype)


def _localise_fast(model: Module, criterion: Criterion, input: Any, target: Any, eps: float, tol: float,
                   rng: np.random.Generator, input_failed: bool) -> tuple[list[ModuleReport], list[Any], list[str]]:
    """Check each leaf module call along the change its input and parameters undergo in the model when
    all parameters move along one random direction (so ties and zeros the model keeps stay put), then the
    criterion. When that finds nothing and the input check failed, again with the input moved too.
    """
    found = _localise_along(model, criterion, input, target, eps, tol, rng, move_input=False)
    if input_failed and not found[1]:
        found = _localise_along(model, criterion, input, target, eps, tol, rng, move_input=True)
    return found


def _localise_along(model: Module, criterion: Criterion, input: Any, target: Any, eps: float, tol: float,
                    rng: np.random.Generator, move_input: bool) -> tuple[list[ModuleReport], list[Any], list[str]]:
    paths = _module_paths(model)
    snapshot = _Snapshot(model)
    try:
        calls = _record_calls(model, input)
        plus, minus, param_directions = _tangent_runs(model, input, eps, rng, move_input)
    finally:
        snapshot.restore()
    reports: list[ModuleReport] = []
    failures: list[Any] = []
    names: list[str] = []
    for (module, x, _), (_, x_plus, y_plus), (_, x_minus, y_minus) in zip(calls, plus, minus):
        if any(failure is module for failure in failures):
            continue
        name = f"model{paths.get(id(module), '?')} {module.describe()}"
        dx = [(np.asarray(a, dtype=np.float64) - b) / (2 * eps) for a, b, ref in
              zip(leaves(x_plus), leaves(x_minus), leaves(x)) if _is_float(ref)]
        dy = (flatten(y_plus) - flatten(y_minus)) / (2 * eps)
        try:
            error, status = _module_directional(module, x, dx, dy, param_directions, tol, rng)
            result = CheckResult("directional", name, "input, parameters", status,
                                 f"relative error {error:.2g} along the model's random direction (tol {tol:g})",
                                 error)
        except Exception as failure:  # a module that crashes is a culprit too
            result = CheckResult("directional", name, "input, parameters", "FAIL",
                                 f"raised {type(failure).__name__}: {failure}")
        checks = [result]
        if not result.ok:
            failures.append(module)
            names.append(name)
            columns = sum(leaf.size for leaf in leaves(x)) + sum(p.size for p in module.parameters()[0])
            if flatten(y_plus).size * columns <= FULL_CHECK_ELEMENTS:
                module_snapshot = _Snapshot(module)
                try:
                    checks += _jacobian_checks(module, x, eps, tol, name)
                finally:
                    module_snapshot.restore()
        reports.append(ModuleReport(name, _describe(x), checks))
    output = copy_structure(model.forward(copy_structure(input)))
    name = f"criterion {criterion.describe()}"
    result = _criterion_check(criterion, output, copy_structure(target), eps, tol, name)
    reports.append(ModuleReport(name, _describe(output), [result]))
    if not result.ok:
        failures.append(criterion)
        names.append(name)
    return reports, failures, names
