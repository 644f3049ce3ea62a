"""What the checkers find: one :class:`CheckResult` per check, gathered in a
:class:`ModuleReport` (:func:`check_module`) or a :class:`ModelReport` (:func:`check_model`), and their text.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

from ember.finite_differences import StepTooSmallError


class _CheckError(ValueError):
    """A problem found while checking: a failure in the reports, a ValueError from :func:`jacobian`."""


@dataclass
class CheckResult:
    """The outcome of one check of one module.

    Attributes:
        name: the check: ``'jacobian'``, ``'batch'``, ``'accumulate'``, ``'scale'``,
            ``'deterministic'``, ``'linear'``, ``'unchanged'``, ``'dtype'`` (or ``'forward'``
            when the module cannot even run forward on the input).
        module: the module's description, with its place in a model in the localiser
            (``'model[2] Linear(5 -> 3)'``).
        argument: what is compared: ``'input'`` or a parameter (``'weight'``, ``'[0].bias'``) for
            ``jacobian``; ``'output'``, ``'gradInput'`` or a gradient (``'gradWeight'``) otherwise.
        status: ``'PASS'``, ``'FAIL'``, ``'KINK'`` (the only disagreements are at kinks, where
            backprop lies between the one-sided differences: ok) or ``'SKIP'`` (does not apply: ok).
        message: the details: the worst element and its two values.
        error: the worst absolute discrepancy (``nan`` where nothing was compared).
        index: the worst element: ``(row, column)`` of the Jacobians for ``jacobian`` (as
            :func:`jacobian` returns them), else its flat position in the compared arrays.
        actual, expected: the two values there: backprop and numeric for ``jacobian``.
        diagnosis: for a FAIL, the classic mistake it matches (:class:`~ember.check.diagnose.Diagnosis`),
            if one does.

    """

    name: str
    module: str
    argument: str
    status: str
    message: str
    error: float = math.nan
    index: tuple[int, ...] | None = None
    actual: float | None = None
    expected: float | None = None
    diagnosis: Any = None

    @property
    def ok(self) -> bool:
        return self.status != "FAIL"

    def __str__(self) -> str:
        line = f"{self.status:<4}  {self.name:<13} {self.module} {self.argument}: {self.message}"
        return line if self.diagnosis is None else f"{line}\n        {self.diagnosis}"


def _counts(checks: list[CheckResult]) -> str:
    words = {"PASS": "passed", "KINK": "at kinks", "SKIP": "skipped", "FAIL": "failed"}
    parts = [f"{sum(c.status == s for c in checks)} {w}" for s, w in words.items()
             if any(c.status == s for c in checks)]
    return ", ".join(parts) or "no checks"


@dataclass
class ModuleReport:
    """What :func:`check_module` (or :func:`check_criterion`) found: ``ok``, and one :class:`CheckResult` per check.

    ``str(report)`` is a header line and one line per check.
    """

    module: str
    input: str
    checks: list[CheckResult] = field(default_factory=list)
    #: notes that do not fail the report (e.g. an undeclared floating-point array attribute).
    warnings: list[str] = field(default_factory=list)
    #: the audit that made it: ``check_module`` or ``check_criterion``.
    checker: str = "check_module"

    @property
    def ok(self) -> bool:
        return all(check.ok for check in self.checks)

    @property
    def failed(self) -> list[CheckResult]:
        """The checks that failed."""
        return [check for check in self.checks if not check.ok]

    def __str__(self) -> str:
        verdict = "OK" if self.ok else "FAIL"
        head = f"{self.checker} {self.module} at input {self.input}: {verdict} ({_counts(self.checks)})"
        return "\n".join([head] + [f"  {check}" for check in self.checks]
                         + [f"  WARN {warning}" for warning in self.warnings])


@dataclass
class ModelReport:
    """What :func:`check_model` found.

    Attributes:
        model, criterion: their descriptions.
        error: the symmetric relative error of the parameter gradient (:func:`gradient_error`).
        input_error: the same for the gradient with respect to the model's input (``None`` for
            an integer input): a wrong ``updateGradInput`` in the first module changes no
            parameter gradient, but breaks the model inside a larger one.
        tol: the tolerance both errors are held to.
        n_parameters: the number of parameter entries compared.
        failures: the objects found to be wrong by the localiser: leaf modules, the criterion,
            or a container whose children all pass but which fails itself. Empty when the
            whole-model check passes (the localiser does not run then).
        failure_names: their places in the model (``'model[2] Linear(5 -> 3)'``, ``'criterion …'``).
        reports: the localiser's reports, one per module call checked, and the criterion's.
        localised: whether the localiser ran.
        mode: ``'full'`` (every parameter entry perturbed) or ``'fast'`` (random directions: ``error`` and
            ``input_error`` are then the worst relative error of a directional derivative).
        directions: the random directions compared (fast mode).
        seconds: how long the check took.

    ``ok`` is true when both errors are within ``tol``, or when the localiser found
    every module and the criterion correct and the disagreement at kinks.

    """

    model: str
    criterion: str
    error: float
    input_error: float | None
    tol: float
    n_parameters: int
    failures: list[Any] = field(default_factory=list)
    failure_names: list[str] = field(default_factory=list)
    reports: list[ModuleReport] = field(default_factory=list)
    localised: bool = False
    mode: str = "full"
    directions: int = 0
    seconds: float = 0.0

    @property
    def whole_ok(self) -> bool:
        """Whether the whole-model gradients agree within ``tol``."""
        return self.error <= self.tol and (self.input_error is None or self.input_error <= self.tol)

    @property
    def kinks(self) -> bool:
        """Whether the localiser found elements at kinks."""
        return any(check.status == "KINK" for report in self.reports for check in report.checks)

    @property
    def ok(self) -> bool:
        return self.whole_ok or (self.localised and not self.failures and self.kinks
                                 and all(report.ok for report in self.reports))

    def __str__(self) -> str:
        verdict = "OK" if self.ok else "FAIL"
        lines = [f"check_model {self.model} with {self.criterion}: {verdict}"]
        if self.mode == "fast":
            lines += [f"  fast mode: {self.directions} random directional derivatives in {self.seconds:.2g} s",
                      f"  parameters: worst relative error {self.error:.3g} of g·v against (L(θ+εv) − L(θ−εv)) / 2ε "
                      f"over {self.n_parameters} entries (tol {self.tol:g})"]
        else:
            lines.append(f"  parameters: relative error {self.error:.3g} between backprop and finite differences "
                         f"over {self.n_parameters} entries (tol {self.tol:g})")
        if self.input_error is not None:
            lines.append(f"  input:      relative error {self.input_error:.3g} (tol {self.tol:g})")
        if not self.localised:
            return "\n".join(lines)
        if self.mode == "fast":
            lines.append("bug localiser: each leaf module checked along a random direction at the input it receives "
                         "in the model (the culprits' Jacobians in full where small), then the criterion:")
        else:
            lines.append("bug localiser: each leaf module Jacobian-checked at the input it receives in the model, "
                         "the criterion at the model's output, then the containers if all those pass:")
        for report in self.reports:
            lines += [f"  {check}" for check in report.checks]
        if self.failures:
            lines.append("wrong: " + "; ".join(self.failure_names))
        elif self.ok:
            lines.append("no module is wrong: the disagreement comes from inputs at kinks (see KINK above)")
        else:
            lines.append("no module, container or criterion fails on its own: suspect randomness (call "
                         "model.evaluate() for dropout), single precision, or too large an eps")
        return "\n".join(lines)


def _raised(name: str, label: str, argument: str, error: BaseException) -> CheckResult:
    found = isinstance(error, (_CheckError, StepTooSmallError))  # a problem found, not a crash of the module
    text = str(error) if found else f"raised {type(error).__name__}: {error}"
    return CheckResult(name, label, argument, "FAIL", text)
