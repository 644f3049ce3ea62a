"""Finite-difference gradient checking: for a module, for a whole model, from pytest and the command line.

* :func:`jacobian` builds a module's Jacobian twice: by backprop (one one-hot
  ``gradOutput`` per output element, row by row) and by two-sided finite
  differences ``(f(x + h⁺ e_j) − f(x − h⁻ e_j)) / (h⁺ + h⁻)`` (column by column),
  where ``h±`` are the steps actually taken (``eps`` rounded to the array's dtype).
* :func:`check_module` audits one module: its Jacobians with respect to the input
  and to each parameter, and the protocol (batch = examples one at a time,
  accumulation and ``scale``, determinism and linearity of ``backward``, input
  and ``gradOutput`` left unchanged, float32 stays float32). It returns a
  :class:`ModuleReport`.
* :func:`gradient_error` is the whole-model check: the symmetric relative error
  ``‖g_backprop − g_numeric‖ / ‖g_backprop + g_numeric‖`` over all parameters.
* :func:`check_model` runs it and, when it fails, the **bug localiser**: every
  leaf module is Jacobian-checked at the input it actually receives inside the
  model, and so is the criterion. It returns a :class:`ModelReport` whose
  ``failures`` are the culprit objects.
* :func:`assert_module` and :func:`assert_gradients` raise ``AssertionError``
  carrying the report, for tests.

Inputs and outputs may be arrays or (nested) lists of arrays ("tables"); their
elements are numbered in order, table entry by table entry. The checkers never
modify the caller's input, restore every perturbed parameter entry exactly, and
leave parameter gradients (and persistent state such as running statistics) as
they found them.

Tolerance: an element passes when ``|backprop − numeric| ≤ tol · max(1, max |numeric|)``,
the maximum taken over the whole Jacobian (or array compared), so ``tol`` is
absolute for derivatives of order one and relative for large ones. Check in
float64: in float32 the finite differences are dominated by rounding, and the
checkers warn.

Kinks: at a point where the function is not differentiable (ReLU or Abs at 0,
ties in Max) the central difference is the mean of two different one-sided
slopes and disagrees with any backprop value. Where an element fails, the
checker also takes the forward and backward differences
``(f(x + h e_j) − f(x)) / h`` and ``(f(x) − f(x − h e_j)) / h``; if they disagree
(by more than ``max(tol, 1000·eps)`` times the scale, well above the ``eps·|f''|``
by which they differ on a smooth function) and the backprop value lies between
them, the element is at a kink: reported as ``KINK``, which counts as ok.
"""

from __future__ import annotations

import contextlib
import math
import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, NamedTuple

import numpy as np

from ember.nn.criterion import Criterion
from ember.nn.module import Module

_SINGLE_PRECISION = ("finite differences in single precision are unreliable; check in float64 "
                     "(module.double() and a float64 input)")


# -- structure helpers: arrays and (nested) tables --------------------------------------------------


def leaves(structure: Any) -> list[np.ndarray]:
    """The arrays of an array or (nested) table, in order."""
    if isinstance(structure, list):
        return [leaf for item in structure for leaf in leaves(item)]
    return [structure]


def flatten(structure: Any) -> np.ndarray:
    """All elements of an array or table as one float64 vector."""
    parts = [np.asarray(leaf, dtype=np.float64).ravel() for leaf in leaves(structure)]
    return np.concatenate(parts) if parts else np.empty(0)


def copy_structure(structure: Any) -> Any:
    """A deep copy of an array or table (Python and NumPy scalars, being immutable, are returned as they are)."""
    if isinstance(structure, list):
        return [copy_structure(item) for item in structure]
    if isinstance(structure, (int, float, np.generic)):
        return structure
    return np.array(structure, copy=True, order="C")


def one_hot_like(structure: Any, index: int) -> Any:
    """Zeros shaped like ``structure`` with a single 1 at flat position ``index``."""
    if isinstance(structure, list):
        result = []
        for item in structure:
            size = sum(leaf.size for leaf in leaves(item))
            result.append(one_hot_like(item, index) if 0 <= index < size else zeros_like(item))
            index -= size
        return result
    hot = np.zeros_like(structure)
    hot.flat[index] = 1  # C order, as flatten() numbers elements, whatever the array's layout
    return hot


def zeros_like(structure: Any) -> Any:
    """Zeros shaped like an array or table."""
    if isinstance(structure, list):
        return [zeros_like(item) for item in structure]
    return np.zeros_like(structure)


def _map(structure: Any, fn: Callable[[np.ndarray], Any]) -> Any:
    """Apply ``fn`` to every array of a table, keeping the structure."""
    if isinstance(structure, list):
        return [_map(item, fn) for item in structure]
    return fn(structure)


def _example(structure: Any, i: int) -> Any:
    """Example ``i`` of a batch: index the leading dimension of every array."""
    return _map(structure, lambda leaf: leaf[i])


def _stack(examples: Sequence[Any]) -> Any:
    """A batch made of examples (arrays or tables of the same structure)."""
    if isinstance(examples[0], list):
        return [_stack([example[k] for example in examples]) for k in range(len(examples[0]))]
    return np.stack(examples)


def _is_float(array: Any) -> bool:
    return isinstance(array, np.ndarray) and np.issubdtype(array.dtype, np.floating)


def _leaf_paths(structure: Any, prefix: str = "") -> list[str]:
    """Where each array of a table sits: ``['[0]', '[1][0]', …]``, or ``['']`` for an array."""
    if isinstance(structure, list):
        return [path for i, item in enumerate(structure) for path in _leaf_paths(item, f"{prefix}[{i}]")]
    return [prefix]


def _index_text(shape: tuple[int, ...], flat: int) -> str:
    if not shape:
        return ""
    return "[" + ", ".join(str(int(i)) for i in np.unravel_index(flat, shape)) + "]"


def _namer(paths: list[str], shapes: list[tuple[int, ...]]) -> Callable[[int], str]:
    """Name element ``flat`` of the concatenation of arrays of ``shapes`` sitting at ``paths``."""
    offsets = np.cumsum([0] + [math.prod(shape) for shape in shapes])

    def name(flat: int) -> str:
        k = int(np.searchsorted(offsets, flat, side="right")) - 1
        return paths[k] + _index_text(shapes[k], int(flat - offsets[k]))

    return name


def _structure_namer(structure: Any) -> Callable[[int], str]:
    return _namer(_leaf_paths(structure), [np.shape(leaf) for leaf in leaves(structure)])


def _describe(structure: Any) -> str:
    """``(4,) float64``, or ``[(3,) float64, (3,) int64]`` for a table."""
    if isinstance(structure, list):
        return "[" + ", ".join(_describe(item) for item in structure) + "]"
    array = np.asarray(structure)
    return f"{array.shape} {array.dtype}"


def _warn_if_single(arrays: list[np.ndarray], stacklevel: int = 3) -> None:
    if any(a.dtype != np.float64 for a in arrays if _is_float(a)):
        warnings.warn(_SINGLE_PRECISION, stacklevel=stacklevel + 1)


# -- parameters and state -------------------------------------------------------------------------


class _Parameter(NamedTuple):
    name: str  # 'weight', or '[0].weight' for a descendant's
    grad_name: str  # 'gradWeight', or '[0].gradWeight'
    value: np.ndarray
    grad: np.ndarray


def _module_paths(root: Module) -> dict[int, str]:
    """``id(module)`` → its place below ``root``: ``''`` for root, ``'[1][0]'`` for ``root[1][0]``."""
    paths = {id(root): ""}

    def walk(module: Module, prefix: str) -> None:
        for i, child in enumerate(module.children()):
            if id(child) not in paths:
                paths[id(child)] = f"{prefix}[{i}]"
                walk(child, paths[id(child)])

    walk(root, "")
    return paths


def _named_parameters(module: Module) -> list[_Parameter]:
    """The entries of ``module.parameters()``, in order, with readable names."""
    paths = _module_paths(module)
    names: dict[int, tuple[str, str]] = {}
    for owner in module.listModules():
        prefix = paths.get(id(owner), "")
        for name, grad_name in owner._parameter_names:
            value = getattr(owner, name, None)
            if value is not None:
                dot = "." if prefix else ""
                names.setdefault(id(value), (f"{prefix}{dot}{name}", f"{prefix}{dot}{grad_name}"))
    params, grads = module.parameters()
    return [_Parameter(*names.get(id(p), (f"parameters()[{i}]", f"gradParameters()[{i}]")), p, g)
            for i, (p, g) in enumerate(zip(params, grads))]


def _resolve_param(module: Module, param: str | int) -> np.ndarray:
    """The parameter array named by ``param`` (attribute name or index into parameters())."""
    if isinstance(param, str):
        value = getattr(module, param, None)
        if not isinstance(value, np.ndarray):
            module.fail(f"has no parameter {param!r}")
        return value
    params = module.parameters()[0]
    if not 0 <= param < len(params):
        module.fail(f"parameter index {param} out of range for {len(params)} parameters", IndexError)
    return params[param]


class _Snapshot:
    """Parameter gradients and persistent state (``_state_names``) of a module tree, to put back."""

    def __init__(self, module: Module) -> None:
        self.saved = [(grad, grad.copy()) for grad in module.parameters()[1] if isinstance(grad, np.ndarray)]
        self.state = [(owner, name, copy_structure(getattr(owner, name)))
                      for owner in module.listModules() for name in getattr(type(owner), "_state_names", ())
                      if isinstance(getattr(owner, name, None), np.ndarray)]

    def restore(self) -> None:
        for grad, saved in self.saved:
            grad[...] = saved
        for owner, name, saved in self.state:
            current = getattr(owner, name)
            if isinstance(current, np.ndarray) and current.shape == saved.shape and current.dtype == saved.dtype:
                current[...] = saved
            else:
                setattr(owner, name, saved)


# -- the two Jacobians ------------------------------------------------------------------------------


class _CheckError(ValueError):
    """A problem found while checking: a failure in the reports, a ValueError from :func:`jacobian`."""


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


def _differences(evaluate: Callable[[], np.ndarray], arrays: list[np.ndarray], columns: Sequence[int],
                 eps: float, n_out: int, base: np.ndarray | None = None) -> tuple[np.ndarray, ...]:
    """Finite differences of ``evaluate()`` (a flat vector) for the given columns.

    Column ``j`` is element ``j`` of the concatenation of ``arrays``, which are
    perturbed in place and restored exactly. Returns the central differences;
    with ``base`` (the unperturbed value) also the forward and backward ones.
    """
    offsets = np.cumsum([0] + [a.size for a in arrays])
    central = np.empty((n_out, len(columns)))
    forward = np.empty_like(central) if base is not None else None
    backward = np.empty_like(central) if base is not None else None
    for c, column in enumerate(columns):
        k = int(np.searchsorted(offsets, column, side="right")) - 1
        array, j = arrays[k], int(column - offsets[k])
        original = array.flat[j]
        try:
            array.flat[j] = original + eps
            up = float(array.flat[j]) - float(original)  # the step actually taken
            plus = evaluate()
            array.flat[j] = original - eps
            down = float(original) - float(array.flat[j])
            minus = evaluate()
        finally:
            array.flat[j] = original
        if not (up > 0 and down > 0):
            raise _CheckError(f"eps={eps:g} is below the spacing of {array.dtype} numbers at {float(original):g}; "
                              f"check in float64 or with a larger eps")
        central[:, c] = (plus - minus) / (up + down)
        if base is not None:
            forward[:, c] = (plus - base) / up
            backward[:, c] = (base - minus) / down
    return (central,) if base is None else (central, forward, backward)


def jacobian(module: Module, input: Any, param: str | int | None = None,
             eps: float = 1e-6) -> tuple[np.ndarray, np.ndarray]:
    """Return ``(analytic, numeric)`` Jacobians of ``module`` at ``input``.

    Rows are output elements; columns are input elements (``param=None``; the
    elements of the floating-point arrays of a table input) or the entries of
    one parameter (``param`` is an attribute name such as ``'weight'`` or an
    index into ``module.parameters()[0]``). The caller's input is never
    modified; perturbed parameter entries are restored exactly, and the
    module's parameter gradients and persistent state (``_state_names``, e.g.
    running statistics) are left as they were.
    """
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
        (numeric,) = _differences(evaluate, arrays, range(sum(a.size for a in arrays)), eps, analytic.shape[0])
    finally:
        module.forward(copy_structure(pristine))
    return analytic, numeric


def jacobian_error(module: Module, input: Any, param: str | int | None = None, eps: float = 1e-6) -> float:
    """Largest absolute difference between the backprop and finite-difference Jacobians."""
    analytic, numeric = jacobian(module, input, param, eps)
    return float(np.max(np.abs(analytic - numeric), initial=0.0))


# -- results and reports ----------------------------------------------------------------------------


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

    @property
    def ok(self) -> bool:
        return self.status != "FAIL"

    def __str__(self) -> str:
        return f"{self.status:<4}  {self.name:<13} {self.module} {self.argument}: {self.message}"


def _counts(checks: list[CheckResult]) -> str:
    words = {"PASS": "passed", "KINK": "at kinks", "SKIP": "skipped", "FAIL": "failed"}
    parts = [f"{sum(c.status == s for c in checks)} {w}" for s, w in words.items()
             if any(c.status == s for c in checks)]
    return ", ".join(parts) or "no checks"


@dataclass
class ModuleReport:
    """What :func:`check_module` found: ``ok``, and one :class:`CheckResult` per check.

    ``str(report)`` is a header line and one line per check.
    """

    module: str
    input: str
    checks: list[CheckResult] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return all(check.ok for check in self.checks)

    @property
    def failed(self) -> list[CheckResult]:
        """The checks that failed."""
        return [check for check in self.checks if not check.ok]

    def __str__(self) -> str:
        verdict = "OK" if self.ok else "FAIL"
        head = f"check_module {self.module} at input {self.input}: {verdict} ({_counts(self.checks)})"
        return "\n".join([head] + [f"  {check}" for check in self.checks])


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
        lines = [f"check_model {self.model} with {self.criterion}: {verdict}",
                 f"  parameters: relative error {self.error:.3g} between backprop and finite differences over "
                 f"{self.n_parameters} entries (tol {self.tol:g})"]
        if self.input_error is not None:
            lines.append(f"  input:      relative error {self.input_error:.3g} (tol {self.tol:g})")
        if not self.localised:
            return "\n".join(lines)
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


# -- comparisons ------------------------------------------------------------------------------------


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


def _raised(name: str, label: str, argument: str, error: BaseException) -> CheckResult:
    text = str(error) if isinstance(error, _CheckError) else f"raised {type(error).__name__}: {error}"
    return CheckResult(name, label, argument, "FAIL", text)


def _judge_jacobian(label: str, argument: str, analytic: np.ndarray, numeric: np.ndarray,
                    sides: Callable[[np.ndarray], tuple[np.ndarray, np.ndarray]], tol: float, eps: float,
                    row_name: Callable[[int], str], column_name: Callable[[int], str]) -> CheckResult:
    """PASS, KINK or FAIL for one Jacobian, naming its worst element."""
    if analytic.size == 0:
        return CheckResult("jacobian", label, argument, "PASS", "nothing to compare (no elements)", 0.0)
    scale = _scale(numeric)
    limit = tol * scale
    diff = _abs_diff(analytic, numeric)
    bad = diff > limit

    def where(row: int, col: int) -> str:
        return f"d {row_name(row)} / d {argument}{column_name(col)}"

    def result(status: str, row: int, col: int, message: str) -> CheckResult:
        return CheckResult("jacobian", label, argument, status, message, float(diff[row, col]), (int(row), int(col)),
                           float(analytic[row, col]), float(numeric[row, col]))

    if not bad.any():
        row, col = np.unravel_index(int(np.argmax(diff)), diff.shape)
        return result("PASS", row, col, f"max error {diff[row, col]:.2g} at {where(row, col)}: backprop "
                      f"{analytic[row, col]:.6g}, numeric {numeric[row, col]:.6g}")
    columns = np.flatnonzero(bad.any(axis=0))
    forward, backward = sides(columns)
    sub_bad, sub_analytic = bad[:, columns], analytic[:, columns]
    low = np.minimum(forward, backward) - limit
    high = np.maximum(forward, backward) + limit
    kink = (sub_bad & (np.abs(forward - backward) > max(tol, 1e3 * eps) * scale)
            & (sub_analytic >= low) & (sub_analytic <= high))
    failing = sub_bad & ~kink
    n_bad = int(bad.sum())
    if failing.any():
        sub_diff = np.where(failing, diff[:, columns], -1.0)
        row, c = np.unravel_index(int(np.argmax(sub_diff)), sub_diff.shape)
        col = int(columns[c])
        kinks = f", {int(kink.sum())} more at kinks" if kink.any() else ""
        return result("FAIL", row, col, f"at {where(row, col)}: backprop {analytic[row, col]:.6g} vs numeric "
                      f"{numeric[row, col]:.6g} (error {diff[row, col]:.2g} > {limit:.2g}; "
                      f"{int(failing.sum())} of {analytic.size} elements wrong{kinks})")
    sub_diff = np.where(kink, diff[:, columns], -1.0)
    row, c = np.unravel_index(int(np.argmax(sub_diff)), sub_diff.shape)
    col = int(columns[c])
    return result("KINK", row, col, f"{n_bad} element(s) at kinks, backprop between the one-sided differences; "
                  f"worst at {where(row, col)}: backprop {analytic[row, col]:.6g}, one-sided "
                  f"{backward[row, c]:.6g} (backward) and {forward[row, c]:.6g} (forward), central "
                  f"{numeric[row, col]:.6g}")


def _one_jacobian(label: str, argument: str, analytic: np.ndarray, arrays: list[np.ndarray],
                  evaluate: Callable[[], np.ndarray], base: np.ndarray, eps: float, tol: float,
                  row_name: Callable[[int], str], column_name: Callable[[int], str]) -> CheckResult:
    n_out, n_columns = analytic.shape
    try:
        (numeric,) = _differences(evaluate, arrays, range(n_columns), eps, n_out)
        return _judge_jacobian(label, argument, analytic, numeric,
                               lambda columns: _differences(evaluate, arrays, columns, eps, n_out, base)[1:],
                               tol, eps, row_name, column_name)
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

    results = []
    if positions:
        arrays = [input_leaves[k] for k in positions]
        column_name = _namer([paths[k] for k in positions], [a.shape for a in arrays])
        results.append(_one_jacobian(label, "input", wrt_input, arrays, evaluate, base, eps, tol,
                                     row_name, column_name))
    else:
        dtypes = sorted({str(leaf.dtype) for leaf in input_leaves})
        results.append(CheckResult("jacobian", label, "input", "SKIP",
                                   f"input of dtype {', '.join(dtypes)}: no derivative with respect to it"))
    for p, analytic in zip(params, wrt_params):
        results.append(_one_jacobian(label, p.name, analytic, [p.value], evaluate, base, eps, tol,
                                     row_name, _namer([""], [p.value.shape])))
    with contextlib.suppress(Exception):
        module.forward(copy_structure(pristine))
    return results


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


def _random_like(structure: Any, rng: np.random.Generator) -> Any:
    def draw(leaf: np.ndarray) -> np.ndarray:
        values = rng.standard_normal(np.shape(leaf))
        return values.astype(leaf.dtype) if _is_float(leaf) else values

    return _map(structure, draw)


def _float_part(structure: Any, like: Any) -> Any:
    """``structure`` (a gradInput) where ``like`` (the input) is floating-point: the array itself for an
    array input (empty list for an integer one), the list of those arrays for a table.
    """
    if not isinstance(like, list):
        return structure if _is_float(like) else []
    return [leaf for leaf, ref in zip(leaves(structure), leaves(like)) if _is_float(ref)]


# -- the protocol checks of check_module ------------------------------------------------------------


class _Subject:
    """A module under audit, with the pristine input and helpers that never touch the caller's data."""

    def __init__(self, module: Module, pristine: Any, label: str, tol: float, rng: np.random.Generator) -> None:
        self.module, self.pristine, self.label, self.tol, self.rng = module, pristine, label, tol, rng
        self.params = _named_parameters(module)

    def fresh(self) -> Any:
        return copy_structure(self.pristine)

    def grads(self) -> list[np.ndarray]:
        return [p.grad.copy() for p in self.params]

    def backward(self, x: Any, grad_output: Any, scale: float = 1.0, zero: bool = True) -> tuple[Any, list]:
        """``backward`` (after zeroing the gradients): a copy of gradInput's float part, and the gradients."""
        if zero:
            self.module.zeroGradParameters()
        grad_input = self.module.backward(x, grad_output, scale)
        return copy_structure(_float_part(grad_input, self.pristine)), self.grads()

    def gradient_diffs(self, actual: list[np.ndarray], expected: list[np.ndarray]) -> list[_Diff]:
        return [_diff(p.grad_name, a, e, self.tol) for p, a, e in zip(self.params, actual, expected)]


def _rejects(module: Module, error: Exception) -> bool:
    """Whether ``error`` is the module (or one inside it) refusing an input through ``fail``, not a crash."""
    text = str(error)
    return isinstance(error, (ValueError, TypeError, IndexError)) and any(
        text.startswith(m.describe() + ":") for m in module.listModules())


def _check_batch(s: _Subject, batch: bool | None) -> CheckResult:
    module, label = s.module, s.label
    if batch is False:
        return CheckResult("batch", label, "-", "SKIP", "not asked (batch=False)")
    how, rejection = "", ""
    if batch is None:
        examples = [s.fresh()] + [_map(s.pristine, lambda leaf: s.rng.permutation(leaf.ravel()).reshape(leaf.shape))
                                  for _ in range(2)]
        x_batch = _stack(examples)
        try:
            module.forward(copy_structure(x_batch))
            how = "a batch of 3 (the input and two permutations of its elements)"
        except Exception as error:
            if not _rejects(module, error):
                raise
            rejection = str(error)
    if not how:
        sizes = {leaf.shape[0] if leaf.ndim else None for leaf in leaves(s.pristine)}
        if len(sizes) != 1 or None in sizes or 0 in sizes:
            return CheckResult("batch", label, "-", "SKIP", "no batch mode: the module rejects a batch "
                               f"({rejection}) and the input has no common leading dimension")
        x_batch = s.fresh()
        examples = [copy_structure(_example(x_batch, i)) for i in range(sizes.pop())]
        try:
            module.forward(copy_structure(examples[0]))
        except Exception as error:
            if not _rejects(module, error):
                raise
            given = f"rejects a batch ({rejection}) and " if batch is None else ""
            return CheckResult("batch", label, "-", "SKIP", f"no batch mode: the module {given}rejects single "
                               f"examples of the input ({error})")
        how = f"the input as a batch of {len(examples)}"
    x = copy_structure(x_batch)
    output = copy_structure(module.forward(x))
    grad_output = _random_like(output, s.rng)
    grad_input, batch_grads = s.backward(x, grad_output)
    mismatch = _batch_shapes(output, module.forward(copy_structure(examples[0])), len(examples))
    if mismatch:
        if batch is None:
            return CheckResult("batch", label, "output", "SKIP", f"no batch mode: on {how} {mismatch}, so the "
                               "leading dimension is not a batch (give batch=True and a batch input to check one)")
        return CheckResult("batch", label, "output", "FAIL", f"on {how} {mismatch}")
    diffs = []
    summed = [np.zeros_like(g) for g in batch_grads]  # summed here, so that accumulation is not assumed
    for i, example in enumerate(examples):
        out_i = module.forward(example)
        diffs.append(_diff("output", out_i, _reshape_like(_example(output, i), out_i), s.tol)
                     ._replace(context=f"of example {i}"))
        grad_i, grads_i = s.backward(example, _reshape_like(_example(grad_output, i), out_i))
        diffs.append(_diff("gradInput", grad_i, _example(grad_input, i), s.tol)._replace(context=f"of example {i}"))
        for total, grad in zip(summed, grads_i):
            total += grad
    diffs += s.gradient_diffs(summed, batch_grads)
    return _protocol_result("batch", label, "output, gradInput, gradients", diffs,
                            f"{how} gives the same as one example at a time",
                            lambda d: f"a batch and its examples one at a time differ ({how}; parameter gradients "
                                      "summed over the examples); a module with no batch mode for this input, "
                                      "or not per-example (batch normalisation or dropout in training mode), "
                                      "takes batch=False")


def _squeezed(shape: tuple[int, ...]) -> tuple[int, ...]:
    return tuple(size for size in shape if size != 1)


def _batch_shapes(batch_output: Any, single_output: Any, n: int) -> str:
    """Why ``batch_output`` cannot be ``n`` outputs like ``single_output`` stacked ('' if it can).

    Size-1 dimensions are ignored: Torch modules give ``(1,)`` for one example's scalar
    result and ``(batch,)``, not ``(batch, 1)``, for a batch.
    """
    batch_shapes = [np.shape(leaf) for leaf in leaves(batch_output)]
    single_shapes = [np.shape(leaf) for leaf in leaves(single_output)]
    consistent = len(batch_shapes) == len(single_shapes) and all(
        b[:1] == (n,) and _squeezed(b[1:]) == _squeezed(s) for b, s in zip(batch_shapes, single_shapes))
    if consistent:
        return ""
    return (f"the output has shape {_shapes_text(batch_shapes)}, one example's {_shapes_text(single_shapes)} "
            f"(expected a leading dimension of {n} on it)")


def _reshape_like(structure: Any, like: Any) -> Any:
    if isinstance(structure, list):
        return [_reshape_like(item, ref) for item, ref in zip(structure, like)]
    return np.reshape(structure, np.shape(like))


def _check_accumulate(s: _Subject) -> CheckResult:
    if not s.params:
        return CheckResult("accumulate", s.label, "-", "SKIP", "no parameters")
    x = s.fresh()
    grad_output = _random_like(s.module.forward(x), s.rng)
    _, once = s.backward(x, grad_output)
    _, twice = s.backward(x, grad_output, zero=False)
    diffs = s.gradient_diffs(twice, [2 * g for g in once])

    def explain(d: _Diff) -> str:
        if abs(d.actual - d.expected / 2) <= d.limit:
            return "backward overwrites the gradient instead of adding to it (gradWeight += …)"
        return "two backward calls must give twice the gradient of one"

    return _protocol_result("accumulate", s.label, "gradients", diffs,
                            "two backward calls give twice the gradients", explain)


def _check_scale(s: _Subject) -> CheckResult:
    if not s.params:
        return CheckResult("scale", s.label, "-", "SKIP", "no parameters")
    x = s.fresh()
    grad_output = _random_like(s.module.forward(x), s.rng)
    grad_input, plain = s.backward(x, grad_output)
    grad_input_scaled, scaled = s.backward(x, grad_output, scale=2.5)
    diffs = s.gradient_diffs(scaled, [2.5 * g for g in plain])
    diffs.append(_diff("gradInput", grad_input_scaled, grad_input, s.tol))

    def explain(d: _Diff) -> str:
        if d.what == "gradInput":
            return "scale must change only the parameter gradients, not gradInput"
        if abs(d.actual - d.expected / 2.5) <= d.limit:
            return "backward(input, gradOutput, 2.5) ignores scale"
        return "backward(input, gradOutput, 2.5) must add 2.5 times the gradient"

    return _protocol_result("scale", s.label, "gradients, gradInput", diffs,
                            "backward(…, scale=2.5) adds 2.5 times the gradients", explain)


def _check_deterministic(s: _Subject) -> CheckResult:
    x = s.fresh()
    first = copy_structure(s.module.forward(x))
    grad_output = _random_like(first, s.rng)
    grad_input, grads = s.backward(x, grad_output)
    x = s.fresh()
    second = copy_structure(s.module.forward(x))
    grad_input_again, grads_again = s.backward(x, grad_output)
    diffs = [_diff("output", second, first, s.tol), _diff("gradInput", grad_input_again, grad_input, s.tol)]
    diffs += s.gradient_diffs(grads_again, grads)

    def explain(d: _Diff) -> str:
        hint = " (random, e.g. dropout in training mode? call module.evaluate())" if d.what == "output" else ""
        return f"the same input and gradOutput gave a different {d.what} the second time{hint}"

    return _protocol_result("deterministic", s.label, "output, gradInput, gradients", diffs,
                            "forward and backward repeat exactly", explain)


def _check_linear(s: _Subject) -> CheckResult:
    x = s.fresh()
    output = s.module.forward(x)
    g1, g2 = _random_like(output, s.rng), _random_like(output, s.rng)
    in1, p1 = s.backward(x, g1)
    in2, p2 = s.backward(x, g2)
    in12, p12 = s.backward(x, _add(g1, g2))
    in0, p0 = s.backward(x, zeros_like(g1))
    zero, summed = "for a zero gradOutput", "for gradOutput g1 + g2"
    diffs = [_diff("gradInput", in0, zeros_like(in0), s.tol)._replace(context=zero)]
    diffs += [d._replace(context=zero) for d in s.gradient_diffs(p0, [np.zeros_like(g) for g in p0])]
    diffs.append(_diff("gradInput", in12, _add(in1, in2), s.tol)._replace(context=summed))
    diffs += [d._replace(context=summed) for d in s.gradient_diffs(p12, [a + b for a, b in zip(p1, p2)])]

    def explain(d: _Diff) -> str:
        if d.context == zero:
            return "a zero gradOutput must give zero gradients"
        return "backward must be linear in gradOutput: g1 + g2 must give the sum of their gradients"

    return _protocol_result("linear", s.label, "gradInput, gradients", diffs,
                            "backward is linear in gradOutput (0 → 0, g1 + g2 → sum)", explain)


def _add(a: Any, b: Any) -> Any:
    if isinstance(a, list):
        return [_add(x, y) for x, y in zip(a, b)]
    return a + b


def _check_unchanged(s: _Subject) -> CheckResult:
    if getattr(s.module, "inplace", False) is True:
        return CheckResult("unchanged", s.label, "-", "SKIP", "inplace=True: the module may overwrite its input")
    x = s.fresh()
    output = s.module.forward(x)
    diffs = [_diff("input", x, s.pristine, 0.0)._replace(context="after forward")]
    grad_output = _random_like(output, s.rng)
    kept = copy_structure(grad_output)
    s.module.backward(x, grad_output)
    diffs.append(_diff("input", x, s.pristine, 0.0)._replace(context="after backward"))
    diffs.append(_diff("gradOutput", grad_output, kept, 0.0)._replace(context="after backward"))
    return _protocol_result("unchanged", s.label, "input, gradOutput", diffs,
                            "forward and backward leave input and gradOutput unchanged",
                            lambda d: f"{d.what} was modified {d.context} (modules must not write into their "
                                      "arguments; write into a buffer)")


def _check_dtype(s: _Subject) -> CheckResult:
    shapes = None
    for dtype in (np.dtype(np.float64), np.dtype(np.float32)):
        twin = s.module.clone().type(dtype)
        x = _map(s.fresh(), lambda leaf, dtype=dtype: leaf.astype(dtype) if _is_float(leaf) else leaf)
        output = twin.forward(x)
        got = [leaf.dtype for leaf in leaves(output)]
        if any(d != dtype for d in got):
            return CheckResult("dtype", s.label, "output", "FAIL", f"a {dtype} module given a {dtype} input "
                               f"returned {', '.join(map(str, got))} (no silent up- or down-casting)")
        if shapes is None:
            shapes = [leaf.shape for leaf in leaves(output)]
        elif [leaf.shape for leaf in leaves(output)] != shapes:
            return CheckResult("dtype", s.label, "output", "FAIL", f"the output shape depends on the dtype: "
                               f"{shapes} in float64, {[leaf.shape for leaf in leaves(output)]} in {dtype}")
        grad_input = twin.backward(x, _map(output, np.ones_like))
        got = [leaf.dtype for leaf in leaves(_float_part(grad_input, x))]
        if any(d != dtype for d in got):
            return CheckResult("dtype", s.label, "gradInput", "FAIL", f"a {dtype} module given a {dtype} input "
                               f"returned a gradInput of {', '.join(map(str, got))}")
        got = [g.dtype for g in twin.parameters()[1]]
        if any(d != dtype for d in got):
            return CheckResult("dtype", s.label, "gradients", "FAIL", f"a {dtype} module has parameter "
                               f"gradients of {', '.join(map(str, got))} after backward")
    return CheckResult("dtype", s.label, "output", "PASS", f"output {_shapes_text(shapes)} in float64 and float32; "
                       "float32 stays float32")


def _shapes_text(shapes: list[tuple[int, ...]] | None) -> str:
    if not shapes:
        return "()"
    return str(shapes[0]) if len(shapes) == 1 else "[" + ", ".join(map(str, shapes)) + "]"


def check_module(module: Module, input: Any, eps: float = 1e-6, tol: float = 1e-6, *,
                 batch: bool | None = None, seed: int = 0) -> ModuleReport:
    """Audit ``module`` at ``input``: its Jacobians, and the module protocol.

    Checks, one :class:`CheckResult` each:

    * ``jacobian``: backprop against finite differences with respect to the input
      (skipped for an integer input) and to each parameter; kinks are recognised
      (see the module docstring) and reported as ``KINK``, which is ok.
    * ``batch``: a batch gives the same outputs, gradInputs and (summed)
      parameter gradients as its examples one at a time. With ``batch=None``
      (default) the input is taken as **one example**: a batch of 3 is made of it
      and two random permutations of its elements (so they stay in its domain:
      positive, valid indices…), stacked along a new leading dimension of every
      array of a table. If the module rejects that batch (through
      ``module.fail``), the input is taken to be a batch already and compared
      with its examples one at a time. ``batch=True`` takes the input as a batch
      directly; ``batch=False`` skips the check (modules without a batch mode).
    * ``accumulate``: two ``backward`` calls give twice the parameter gradients.
    * ``scale``: ``backward(…, scale=2.5)`` adds 2.5 times the gradients and
      leaves ``gradInput`` alone.
    * ``deterministic``: forward and backward repeat exactly.
    * ``linear``: a zero ``gradOutput`` gives zero gradients; ``g1 + g2`` gives
      the sum of their gradients.
    * ``unchanged``: forward and backward leave the input and ``gradOutput``
      unchanged (skipped for a module with ``inplace=True``).
    * ``dtype``: a float64 (float32) copy of the module returns float64
      (float32) outputs, gradInputs and parameter gradients, of the same shapes.

    The caller's input is never modified, and the module's parameter gradients
    and persistent state (e.g. running statistics) are restored. Random
    gradOutputs come from ``seed``. Checking a float32 input or module warns.

    Args:
        module: the module to audit.
        input: an example input (array or table), float64 for meaningful finite differences.
        eps: the finite-difference step.
        tol: the tolerance, relative to the scale of each Jacobian (see the module docstring).
        batch: how to check batch mode (above).
        seed: seeds the random gradOutputs and permutations.

    Returns:
        a :class:`ModuleReport`; ``report.ok``, ``print(report)``.

    """
    pristine = copy_structure(input)
    _warn_if_single(leaves(pristine) + module.parameters()[0], stacklevel=2)
    label = module.describe()
    report = ModuleReport(label, _describe(pristine))
    snapshot = _Snapshot(module)
    try:
        try:
            module.forward(copy_structure(pristine))
        except Exception as error:
            report.checks.append(_raised("forward", label, "input", error))
            return report
        report.checks += _jacobian_checks(module, pristine, eps, tol, label)
        subject = _Subject(module, pristine, label, tol, np.random.default_rng(seed))
        checks: list[tuple[str, Callable[[], CheckResult]]] = [
            ("batch", lambda: _check_batch(subject, batch)),
            ("accumulate", lambda: _check_accumulate(subject)),
            ("scale", lambda: _check_scale(subject)),
            ("deterministic", lambda: _check_deterministic(subject)),
            ("linear", lambda: _check_linear(subject)),
            ("unchanged", lambda: _check_unchanged(subject)),
            ("dtype", lambda: _check_dtype(subject)),
        ]
        for name, run in checks:
            try:
                report.checks.append(run())
            except Exception as error:
                report.checks.append(_raised(name, label, "-", error))
    finally:
        with contextlib.suppress(Exception):
            module.forward(copy_structure(pristine))  # outputs as after a forward pass on the input
        snapshot.restore()
    return report


# -- the whole model --------------------------------------------------------------------------------


def relative_error(a: np.ndarray, b: np.ndarray) -> float:
    """``‖a − b‖ / ‖a + b‖``: 0.0 when both are zero, ``inf`` when only the sum is."""
    a, b = np.asarray(a, dtype=np.float64).ravel(), np.asarray(b, dtype=np.float64).ravel()
    numerator, denominator = float(np.linalg.norm(a - b)), float(np.linalg.norm(a + b))
    if denominator == 0.0:
        return 0.0 if numerator == 0.0 else math.inf
    return numerator / denominator


def _loss_gradients(model: Module, criterion: Criterion, input: Any, target: Any, eps: float,
                    wrt_input: bool) -> tuple[np.ndarray, np.ndarray, np.ndarray | None, np.ndarray | None]:
    """Backprop and numeric gradients of the loss: over the parameters, and (``wrt_input``) the input."""
    pristine, target = copy_structure(input), copy_structure(target)
    params = model.parameters()[0]
    positions = [k for k, leaf in enumerate(leaves(pristine)) if _is_float(leaf)] if wrt_input else []
    snapshot = _Snapshot(model)
    try:
        model.zeroGradParameters()
        x = copy_structure(pristine)
        output = model.forward(x)
        criterion.forward(output, target)
        grad_input = model.backward(x, criterion.backward(output, target))
        backprop_input = _gather(grad_input, leaves(x), positions, _leaf_paths(x)) if positions else None
        backprop = np.concatenate([g.astype(np.float64).ravel() for g in model.parameters()[1]] or [np.empty(0)])
    finally:
        snapshot.restore()

    def loss() -> np.ndarray:
        return np.array([float(criterion.forward(model.forward(copy_structure(pristine)), target))])

    try:
        (numeric,) = _differences(loss, params, range(backprop.size), eps, 1)
        numeric_input = None
        if positions:
            arrays = [leaves(pristine)[k] for k in positions]
            (numeric_input,) = _differences(loss, arrays, range(sum(a.size for a in arrays)), eps, 1)
    finally:
        with contextlib.suppress(Exception):
            loss()  # outputs as after a forward pass on the given input
        snapshot.restore()
    return backprop, numeric[0], backprop_input, None if numeric_input is None else numeric_input[0]


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


def _criterion_check(criterion: Criterion, output: Any, target: Any, eps: float, tol: float,
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


def check_model(model: Module, criterion: Criterion, input: Any, target: Any, eps: float = 1e-6,
                tol: float = 1e-6) -> ModelReport:
    """Whole-model gradient check and, when it fails, the bug localiser.

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
    _warn_if_single(leaves(input) + model.parameters()[0], stacklevel=2)
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
    return report


# -- for tests --------------------------------------------------------------------------------------


def assert_module(module: Module, input: Any, **kw: Any) -> ModuleReport:
    """:func:`check_module`, raising ``AssertionError`` with the report when a check fails."""
    report = check_module(module, input, **kw)
    if not report.ok:
        raise AssertionError("\n" + str(report))
    return report


def assert_gradients(model: Module, criterion: Criterion, input: Any, target: Any, **kw: Any) -> ModelReport:
    """:func:`check_model`, raising ``AssertionError`` with the report when it fails."""
    report = check_model(model, criterion, input, target, **kw)
    if not report.ok:
        raise AssertionError("\n" + str(report))
    return report
