"""The whole-model gradient check and, when it fails, the bug localiser that names the culprit module.

:func:`gradient_error` compares backprop with finite differences of the loss;
:func:`check_model` adds the input gradient and, on failure, Jacobian-checks
every module at the input it receives inside the model (:func:`record_inputs`)
and the criterion. :func:`assert_gradients` raises on failure, for tests.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable
from typing import Any

import numpy as np

from ember.check.compare import check_settings, check_subjects, refuse_raises
from ember.check.jacobians import _backprop_loss, _criterion_check, _gather, _jacobian_checks
from ember.check.params import _module_paths, _Snapshot
from ember.check.report import CheckResult, ModelReport, ModuleReport
from ember.check.structure import _describe, _is_float, _leaf_paths, _warn_if_single, copy_structure, leaves
from ember.errors import InputError
from ember.finite_differences import differences, relative_error
from ember.nn.criterion import Criterion
from ember.nn.module import Module


def _loss_gradients(model: Module, criterion: Criterion, input: Any, target: Any, eps: float,
                    wrt_input: bool) -> tuple[np.ndarray, np.ndarray, np.ndarray | None, np.ndarray | None]:
    """Backprop and numeric gradients of the loss: over the parameters, and (``wrt_input``) the input."""
    pristine, target = copy_structure(input), copy_structure(target)
    params = model.parameters()[0]
    positions = [k for k, leaf in enumerate(leaves(pristine)) if _is_float(leaf)] if wrt_input else []
    snapshot = _Snapshot(model)
    try:
        x, grad_input = _backprop_loss(model, criterion, pristine, target)
        if grad_input is None:
            positions = []
        backprop_input = _gather(grad_input, leaves(x), positions, _leaf_paths(x)) if positions else None
        backprop = np.concatenate([g.astype(np.float64).ravel() for g in model.parameters()[1]] or [np.empty(0)])
    finally:
        snapshot.restore()

    def loss() -> np.ndarray:
        return np.array([float(criterion.forward(model.forward(copy_structure(pristine)), target))])

    try:
        (numeric,) = differences(loss, params, eps)
        numeric_input = None
        if positions:
            arrays = [leaves(pristine)[k] for k in positions]
            (numeric_input,) = differences(loss, arrays, eps)
    finally:
        with contextlib.suppress(Exception):
            loss()  # outputs as after a forward pass on the given input
        snapshot.restore()
    return backprop, numeric[0], backprop_input, None if numeric_input is None else numeric_input[0]


@refuse_raises("gradient_error")
def gradient_error(model: Module, criterion: Criterion, input: Any, target: Any, eps: float = 1e-6) -> float:
    """The whole-model gradient check: ``‖g_backprop − g_numeric‖ / ‖g_backprop + g_numeric‖``.

    ``g_backprop`` is the gradient of ``criterion(model(input), target)`` with
    respect to all parameters, in ``getParameters()`` order, from one
    ``backward`` with zeroed gradients; ``g_numeric`` perturbs each entry by
    ``±eps`` and evaluates model and criterion twice. Entries are perturbed in
    place through ``model.parameters()`` rather than by calling
    ``getParameters()``, which would re-flatten the model and silently detach
    a flat parameter vector the caller already holds. Every entry is restored
    exactly; gradients and persistent state are left as they were; the caller's
    input is not modified. Returns 0.0 when both gradients are zero.

    Use the model in a deterministic mode (``model.evaluate()`` for dropout).
    """
    check_settings("gradient_error", eps)
    check_subjects("gradient_error", model, criterion)
    _warn_if_single(leaves(input) + model.parameters()[0], stacklevel=2)
    backprop, numeric, _, _ = _loss_gradients(model, criterion, input, target, eps, wrt_input=False)
    return relative_error(backprop, numeric)


def record_inputs(model: Module, input: Any) -> list[tuple[Module, Any]]:
    """Run ``model.forward`` on a copy of ``input``; return ``(module, the input it received)`` per call.

    Every module of the tree (the model included) is recorded each time its
    ``forward`` is called, in call order, with a copy of its argument: in a
    Sequential module ``i`` receives module ``i−1``'s output, in Concat and
    ConcatTable every child receives the container's input, in ParallelTable
    child ``i`` receives ``input[i]``, and any other container is recorded as it
    actually calls its children. ``forward`` is wrapped on each module instance
    for the duration of the call only.
    """
    records: list[tuple[Module, Any]] = []
    modules = list({id(m): m for m in model.listModules()}.values())
    patched = []

    def recorder(module: Module) -> Callable[[Any], Any]:
        forward = module.forward

        def recording(module_input: Any) -> Any:
            records.append((module, copy_structure(module_input)))
            return forward(module_input)

        return recording

    try:
        for module in modules:
            patched.append((module, module.__dict__.get("forward")))
            module.forward = recorder(module)
        model.forward(copy_structure(input))
    finally:
        for module, previous in patched:
            if previous is None:
                del module.forward
            else:
                module.forward = previous
    return records


def _localise(model: Module, criterion: Criterion, input: Any, target: Any, eps: float,
              tol: float) -> tuple[list[ModuleReport], list[Any], list[str]]:
    """The bug localiser: check every leaf module at the inputs it receives, then the criterion,
    then (only if those all pass) containers innermost first.
    """
    records = record_inputs(model, input)
    paths = _module_paths(model)
    calls: dict[int, int] = {}
    for module, _ in records:
        calls[id(module)] = calls.get(id(module), 0) + 1
    seen: dict[int, int] = {}
    reports: list[ModuleReport] = []
    failures: list[Any] = []
    names: list[str] = []

    def label(module: Module) -> str:
        seen[id(module)] = seen.get(id(module), 0) + 1
        call = f" (call {seen[id(module)]} of {calls[id(module)]})" if calls[id(module)] > 1 else ""
        return f"model{paths.get(id(module), '?')} {module.describe()}{call}"

    def check(module: Module, module_input: Any) -> bool:
        name = label(module)
        snapshot = _Snapshot(module)
        try:
            report = ModuleReport(name, _describe(module_input),
                                  _jacobian_checks(module, module_input, eps, tol, name))
        finally:
            snapshot.restore()
        reports.append(report)
        if not report.ok and all(failure is not module for failure in failures):
            failures.append(module)
            names.append(name.split(" (call")[0])
        return report.ok

    for module, module_input in records:
        if not module.children():
            check(module, module_input)
    reached = {id(module) for module, _ in records}
    for module in model.listModules():
        if not module.children() and id(module) not in reached:
            reached.add(id(module))
            where = f"model{paths.get(id(module), '?')} {module.describe()}"
            reports.append(ModuleReport(where, "none", [CheckResult(
                "jacobian", where, "input", "SKIP", "not reached: the forward pass never called it")]))
    output = copy_structure(model.forward(copy_structure(input)))
    name = f"criterion {criterion.describe()}"
    result = _criterion_check(criterion, output, copy_structure(target), eps, tol, name)
    reports.append(ModuleReport(name, _describe(output), [result]))
    if not result.ok:
        failures.append(criterion)
        names.append(name)
    if not failures:
        containers = [(module, module_input) for module, module_input in records if module.children()]
        containers.sort(key=lambda item: -paths.get(id(item[0]), "").count("["))
        failed_paths: list[str] = []
        for module, module_input in containers:
            path = paths.get(id(module), "")
            if any(p.startswith(path) for p in failed_paths):
                continue
            if not check(module, module_input):
                failed_paths.append(path)
    with contextlib.suppress(Exception):
        criterion.forward(model.forward(copy_structure(input)), copy_structure(target))
    return reports, failures, names


@refuse_raises("check_model")
def check_model(model: Module, criterion: Criterion, input: Any, target: Any, eps: float = 1e-6,
                tol: float = 1e-6, *, mode: str = "full", budget: float = 10.0, seed: int = 0) -> ModelReport:
    """Whole-model gradient check and, when it fails, the bug localiser.

    ``mode="fast"`` is the randomized check for big models (:mod:`ember.check.fast`): directional
    derivatives along random directions for ``budget`` seconds (``seed`` draws them) instead of every
    parameter entry; its localiser checks each module along a random direction.

    The whole-model check compares backprop with finite differences of the loss
    by the symmetric relative error, over all parameters (``error``, as
    :func:`gradient_error`) and over the input (``input_error``, for a
    floating-point input). When either exceeds ``tol``, the localiser runs the
    model forward once, recording the input each module receives
    (:func:`record_inputs`), and Jacobian-checks every leaf module (with respect
    to its input and each of its parameters) at its recorded input, and the
    criterion at the model's output. Only when all of those pass are the
    containers checked, innermost first, to catch a container's own bug.
    ``failures`` lists the culprit objects themselves.

    Nothing the caller holds is modified (see :func:`gradient_error`). Use the
    model in a deterministic mode (``model.evaluate()`` for dropout).
    """
    check_settings("check_model", eps, tol)
    check_subjects("check_model", model, criterion, seed)
    _warn_if_single(leaves(input) + model.parameters()[0], stacklevel=2)
    if mode == "fast":
        from ember.check.fast import fast_check_model

        return fast_check_model(model, criterion, input, target, eps, tol, budget, seed)
    if mode != "full":
        raise InputError(f"check_model: mode must be 'full' or 'fast', got {mode!r}")
    started = time.monotonic()
    backprop, numeric, backprop_input, numeric_input = _loss_gradients(model, criterion, input, target, eps,
                                                                       wrt_input=True)
    report = ModelReport(model.describe(), criterion.describe(), relative_error(backprop, numeric),
                         None if backprop_input is None else relative_error(backprop_input, numeric_input),
                         tol, backprop.size)
    if not report.whole_ok:
        snapshot = _Snapshot(model)
        try:
            report.reports, report.failures, report.failure_names = _localise(model, criterion, input, target,
                                                                              eps, tol)
        finally:
            snapshot.restore()
        report.localised = True
    report.seconds = time.monotonic() - started
    return report


# -- for tests -------------------------------------------------------------------------------------


def assert_gradients(model: Module, criterion: Criterion, input: Any, target: Any, **kw: Any) -> ModelReport:
    """:func:`check_model`, raising ``AssertionError`` with the report when it fails."""
    report = check_model(model, criterion, input, target, **kw)
    if not report.ok:
        raise AssertionError("\n" + str(report))
    return report
