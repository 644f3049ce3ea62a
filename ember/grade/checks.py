"""The graded checks, run inside a student's worker process: one function per kind of :data:`CHECK_KINDS`.

Each takes the :class:`~ember.grade.spec.Check`, the student's and the reference's imported files and
the spec, and returns an :class:`Outcome`: the fraction of the points earned, the feedback text, and
the likely mistake when a gradient check names one.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable
from dataclasses import dataclass
from types import ModuleType
from typing import Any

import numpy as np

from ember.grade.spec import Check, Spec, SpecError


class RefusalError(Exception):
    """A submission that cannot be checked (the class is missing, the constructor fails): zero points."""


@dataclass
class Outcome:
    """What a check found: ``fraction`` of its points, the ``output`` shown to the student, and the
    ``diagnosis`` (the likely mistake) if one was named.
    """

    fraction: float
    output: str
    diagnosis: str = ""


def _input(options: dict[str, Any], key: str = "input") -> np.ndarray:
    table = options.get(key, {"shape": [4, 5], "seed": 0})
    return np.random.default_rng(table.get("seed", 0)).standard_normal(tuple(table["shape"]))


def _target(namespace: ModuleType, spec: Spec, who: str = "your submission") -> Any:
    value = getattr(namespace, spec.target, None)
    if value is None:
        raise RefusalError(f"{who} defines no {spec.target!r} ({spec.submission} must define it)")
    return value


def build(namespace: ModuleType, spec: Spec, who: str = "your submission") -> Any:
    """The module the spec asks for, built from ``namespace`` with the spec's constructor arguments."""
    from ember.nn.module import Module

    cls = _target(namespace, spec, who)
    args, kwargs = spec.implement.get("args", []), spec.implement.get("kwargs", {})
    try:
        module = cls(*args, **kwargs)
    except Exception as error:
        raise RefusalError(f"{spec.target}(*{args!r}, **{kwargs!r}) raised {type(error).__name__}: {error}") from error
    if not isinstance(module, Module):
        raise RefusalError(f"{spec.target} must be a subclass of ember.nn.Module, got {type(module).__name__}")
    return module


def _from_report(report: Any, wanted: Callable[[Any], bool], what: str) -> Outcome:
    results = [check for check in report.checks if wanted(check)] or report.failed
    if not results:
        return Outcome(0.0, f"{what}: not checked")
    failed = [check for check in results if not check.ok]
    shown = failed[0] if failed else results[0]
    diagnosis = str(shown.diagnosis) if shown.diagnosis is not None else ""
    return Outcome(0.0 if failed else 1.0, f"{shown.status}: {shown.message}", diagnosis)


def _protocol(check: Check, student: ModuleType, spec: Spec, name: str) -> Outcome:
    from ember.check import check_module

    module = build(student, spec)
    tol = check.options.get("tol", 1e-6)
    report = check_module(module, _input(check.options), tol=tol, only={name})
    return _from_report(report, lambda result: result.name in (name, "forward"), name)


def check_jacobian(check: Check, student: ModuleType, reference: ModuleType, spec: Spec) -> Outcome:
    """Backprop against finite differences, with respect to ``wrt`` (the input or a parameter)."""
    from ember.check import check_module

    module = build(student, spec)
    wrt = check.options.get("wrt", "input")
    report = check_module(module, _input(check.options), eps=check.options.get("eps", 1e-6),
                          tol=check.options.get("tol", 1e-6), only={"jacobian"})
    return _from_report(report, lambda result: result.argument == wrt or result.name == "forward",
                        f"the Jacobian with respect to {wrt}")


def check_batch(check: Check, student: ModuleType, reference: ModuleType, spec: Spec) -> Outcome:
    """A batch gives the same outputs and gradients as its examples one at a time."""
    return _protocol(check, student, spec, "batch")


def check_accumulate(check: Check, student: ModuleType, reference: ModuleType, spec: Spec) -> Outcome:
    """Two ``backward`` calls give twice the parameter gradients."""
    return _protocol(check, student, spec, "accumulate")


def check_scale(check: Check, student: ModuleType, reference: ModuleType, spec: Spec) -> Outcome:
    """``backward(…, scale)`` adds ``scale`` times the parameter gradients."""
    return _protocol(check, student, spec, "scale")


def check_forward(check: Check, student: ModuleType, reference: ModuleType, spec: Spec) -> Outcome:
    """The output equals the reference module's (its parameters copied in) on hidden inputs."""
    module, expected_module = build(student, spec), build(reference, spec, "the reference")
    theirs, ours = module.parameters()[0], expected_module.parameters()[0]
    if [p.shape for p in theirs] != [p.shape for p in ours]:
        return Outcome(0.0, f"parameters of shapes {[p.shape for p in theirs]}, expected {[p.shape for p in ours]}")
    for mine, given in zip(theirs, ours):
        mine[...] = given
    tol = check.options.get("tol", 1e-8)
    inputs = check.options["inputs"]
    for i, table in enumerate(inputs):
        x = np.random.default_rng(table.get("seed", i)).standard_normal(tuple(table["shape"]))
        expected = np.asarray(expected_module.forward(x.copy()))
        got = np.asarray(module.forward(x.copy()))
        if got.shape != expected.shape:
            return Outcome(0.0, f"on a hidden input of shape {x.shape} the output has shape {got.shape}, "
                                f"expected {expected.shape}")
        error = np.abs(got - expected)
        limit = tol * max(1.0, float(np.abs(expected).max(initial=0.0)))
        if not np.all(error <= limit):
            k = int(np.nanargmax(np.where(np.isnan(error), np.inf, error)))
            return Outcome(0.0, f"on a hidden input of shape {x.shape}: output{list(np.unravel_index(k, got.shape))} "
                                f"is {got.flat[k]:.6g}, expected {expected.flat[k]:.6g}")
    return Outcome(1.0, f"the output equals the reference's on {len(inputs)} hidden input(s)")


def check_model(check: Check, student: ModuleType, reference: ModuleType, spec: Spec) -> Outcome:
    """The whole-model gradient check of the reference's model with the student's module inside."""
    from ember.check import check_model as whole_model_check

    builder = getattr(reference, check.options["builder"], None)
    if builder is None:
        raise SpecError(f"the reference defines no builder {check.options['builder']!r}")
    model, criterion, x, target = builder(build(student, spec))
    report = whole_model_check(model, criterion, x, target, eps=check.options.get("eps", 1e-6),
                               tol=check.options.get("tol", 1e-6))
    diagnosis = next((str(result.diagnosis) for part in report.reports for result in part.checks
                      if result.diagnosis is not None), "")
    if report.ok:
        return Outcome(1.0, f"the whole-model gradient check passes inside {report.model} (relative error "
                            f"{report.error:.2g})")
    wrong = "; ".join(report.failure_names) or "no single module"
    return Outcome(0.0, f"the whole-model gradient check fails inside {report.model}: relative error "
                        f"{report.error:.3g} > {report.tol:g}; wrong: {wrong}", diagnosis)


def _compare(name: str, got: Any, expected: Any, tol: float) -> str:
    """'' when ``got`` matches ``expected`` within ``tol`` (numbers or lists of numbers), else why not."""
    try:
        a, e = np.asarray(got, dtype=np.float64), np.asarray(expected, dtype=np.float64)
    except (TypeError, ValueError):
        return f"{name} is {got!r}, not a number or a list of numbers"
    if a.shape != e.shape:
        return f"{name} has shape {a.shape}, expected {e.shape}"
    error = np.abs(a - e)
    if np.all(error <= tol):
        return ""
    k = int(np.nanargmax(np.where(np.isnan(error), np.inf, error)))
    where = f"[{k}]" if a.ndim else ""
    return f"{name}{where} is {a.flat[k]:.6g}, expected {e.flat[k]:.6g} (within {tol:g})"


def _key(key: str) -> tuple[str, int | None]:
    """``'loss[-1]'`` → ``('loss', -1)``; ``'err'`` → ``('err', None)``."""
    match = re.fullmatch(r"(.+)\[(-?\d+)\]", key)
    return (match.group(1), int(match.group(2))) if match else (key, None)


def check_metrics(check: Check, student: ModuleType, reference: ModuleType, spec: Spec) -> Outcome:
    """The student's function and the reference's, run by the reference's runner, give the same metrics."""
    runner = getattr(reference, check.options["runner"], None)
    if runner is None:
        raise SpecError(f"the reference defines no runner {check.options['runner']!r}")
    arguments = dict(check.options.get("arguments", {}))
    expected = runner(_target(reference, spec, "the reference"), dict(arguments))
    got = runner(_target(student, spec), dict(arguments))
    if not isinstance(got, dict):
        return Outcome(0.0, f"{spec.target} returned a {type(got).__name__}, expected a dict")
    problems = []
    for key, tol in check.options["compare"].items():
        name, index = _key(key)
        if name not in got:
            problems.append(f"{name} is missing from the result")
            continue
        try:
            mine, theirs = (got[name], expected[name]) if index is None else (got[name][index], expected[name][index])
        except (IndexError, TypeError, KeyError):
            problems.append(f"{key}: {name} has no element {index}")
            continue
        problems.append(_compare(key, mine, theirs, float(tol)))
    problems = [p for p in problems if p]
    if problems:
        return Outcome(0.0, "; ".join(problems))
    return Outcome(1.0, f"{', '.join(check.options['compare'])} match the reference's")


def check_test(check: Check, student: ModuleType, reference: ModuleType, spec: Spec) -> Outcome:
    """An instructor's test function of the reference, given the student's imported file."""
    test = getattr(reference, check.options["function"], None)
    if test is None:
        raise SpecError(f"the reference defines no test {check.options['function']!r}")
    try:
        value = test(student)
    except AssertionError as error:
        return Outcome(0.0, str(error) or "the test failed")
    if value is None or value is True:
        return Outcome(1.0, "passed")
    if value is False:
        return Outcome(0.0, "the test failed")
    fraction = float(value)
    if not 0.0 <= fraction <= 1.0 or math.isnan(fraction):
        raise SpecError(f"the test {check.options['function']} returned {value!r}, not a fraction in [0, 1]")
    return Outcome(fraction, f"{fraction:.0%} of this test")


KINDS: dict[str, Callable[[Check, ModuleType, ModuleType, Spec], Outcome]] = {
    "jacobian": check_jacobian, "batch": check_batch, "accumulate": check_accumulate, "scale": check_scale,
    "forward": check_forward, "model": check_model, "metrics": check_metrics, "test": check_test,
}
