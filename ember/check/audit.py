"""``check_module``: one module's Jacobians and the module protocol, each check a :class:`CheckResult`.

The protocol checks (``batch``, ``accumulate``, ``scale``, ``deterministic``,
``linear``, ``unchanged``, ``dtype``) are described in :func:`check_module`'s
docstring; :func:`assert_module` raises on failure, for tests.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Collection
from typing import Any

import numpy as np

from ember.check.compare import _Diff, _diff, _protocol_result, check_settings, check_subjects
from ember.check.diagnose import Diagnosis, Layout, diagnose_jacobian, stale_input
from ember.check.jacobians import _jacobian_checks, jacobian
from ember.check.params import _named_parameters, _Snapshot
from ember.check.report import CheckResult, ModuleReport, _raised
from ember.check.structure import (
    _describe,
    _example,
    _is_float,
    _map,
    _shapes_text,
    _stack,
    _warn_if_single,
    copy_structure,
    leaves,
    zeros_like,
)
from ember.errors import InputError
from ember.nn.module import Module


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


# -- the protocol checks of check_module -----------------------------------------------------------


class _Subject:
    """A module under audit, with the pristine input and helpers that never touch the caller's data."""

    def __init__(self, module: Module, pristine: Any, label: str, tol: float, rng: np.random.Generator) -> None:
        self.module, self.pristine, self.label, self.tol, self.rng = module, pristine, label, tol, rng
        self.params = _named_parameters(module)
        self.batch_input: Any = None  # the batch the batch check used, for the diagnosis

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
    return isinstance(error, InputError)


class _BatchFirst(Module):
    """A module whose batch axis is ``batch_dim`` (sequences ``(T, N, F)``), seen with the batch axis first."""

    def __init__(self, module: Module, single_ndim: int) -> None:
        super().__init__()
        self.module, self.single_ndim, self.axis = module, single_ndim, module.batch_dim

    def children(self) -> list[Module]:
        return [self.module]

    def describe(self) -> str:
        return self.module.describe()

    def checkInput(self, input: Any) -> None:
        """The module checks its own input."""

    def _in(self, array: np.ndarray) -> np.ndarray:
        return np.moveaxis(array, 0, self.axis) if array.ndim > self.single_ndim else array

    def _out(self, array: np.ndarray, input: np.ndarray) -> np.ndarray:
        return np.moveaxis(array, self.axis, 0) if input.ndim > self.single_ndim else array

    def updateOutput(self, input: np.ndarray) -> np.ndarray:
        self.output = self._out(self.module.forward(self._in(input)), input)
        return self.output

    def updateGradInput(self, input: np.ndarray, gradOutput: np.ndarray) -> np.ndarray:
        self.gradInput = self._out(self.module.updateGradInput(self._in(input), self._in(gradOutput)), input)
        return self.gradInput

    def accGradParameters(self, input: np.ndarray, gradOutput: np.ndarray, scale: float = 1.0) -> None:
        self.module.accGradParameters(self._in(input), self._in(gradOutput), scale)


def _check_batch(s: _Subject, batch: bool | None) -> CheckResult:
    module, label = s.module, s.label
    if batch is False:
        return CheckResult("batch", label, "-", "SKIP", "not asked (batch=False)")
    if module.batch_dim:
        if not isinstance(s.pristine, np.ndarray):
            return CheckResult("batch", label, "-", "SKIP", f"a table input to a module whose batch is along "
                               f"dim {module.batch_dim}: not checked")
        single_ndim = s.pristine.ndim - (1 if batch else 0)
        pristine = np.moveaxis(s.pristine, module.batch_dim, 0) if batch else s.pristine
        s = _Subject(_BatchFirst(module, single_ndim), pristine, label, s.tol, s.rng)
        module = s.module
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
    s.batch_input = copy_structure(x_batch)
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

    result = _protocol_result("accumulate", s.label, "gradients", diffs,
                              "two backward calls give twice the gradients", explain)
    if _all_bad_match(diffs, 0.5):
        result.diagnosis = Diagnosis("accumulate", "the parameter gradients are assigned instead of accumulated: "
                                                   "write `self.gradWeight += …`, not `self.gradWeight[...] = …`")
    return result


def _all_bad_match(diffs: list[_Diff], ratio: float) -> bool:
    """Whether every failing comparison shows ``actual = ratio · expected`` at its worst element."""
    bad = [d for d in diffs if d.bad and not d.note]
    return bool(bad) and all(abs(d.actual - ratio * d.expected) <= d.limit for d in bad)


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

    result = _protocol_result("scale", s.label, "gradients, gradInput", diffs,
                              "backward(…, scale=2.5) adds 2.5 times the gradients", explain)
    if not diffs[-1].bad and _all_bad_match(diffs[:-1], 1 / 2.5):
        result.diagnosis = Diagnosis("scale", "`scale` is ignored: accGradParameters must add "
                                              "`scale * (the gradient)`, as in `gradWeight += scale * gᵀx`")
    return result


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


def undeclared_arrays(module: Module) -> list[str]:
    """A warning for each floating-point array attribute of ``module``'s tree that is neither a declared
    parameter, a gradient, a buffer, a scratch array, ``output`` nor ``gradInput`` (private ``_names``
    are the module's own business).
    """
    warnings = []
    for owner in module.listModules():
        declared = owner.declared_parameters()
        known = {*declared, *declared.values(), *owner.declared_buffers(), *owner._scratch, "output", "gradInput"}
        for name, value in vars(owner).items():
            if (name not in known and not name.startswith("_") and isinstance(value, np.ndarray)
                    and np.issubdtype(value.dtype, np.floating)):
                warnings.append(f"{owner.describe()}.{name} is a floating-point array that is neither a declared "
                                f"parameter, a gradient nor a buffer: it will not be trained, saved or converted "
                                f"(declare it with register_parameter or register_buffer)")
    return warnings


def check_module(module: Module, input: Any, eps: float = 1e-6, tol: float = 1e-6, *,
                 batch: bool | None = None, seed: int = 0, only: Collection[str] | None = None) -> ModuleReport:
    """Audit ``module`` at ``input``: its Jacobians, and the module protocol.

    Checks, one :class:`CheckResult` each:

    * ``jacobian``: backprop against finite differences with respect to the input
      (skipped for an integer input) and to each parameter; kinks are recognised
      (see the ``ember.check`` docstring) and reported as ``KINK``, which is ok.
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
        tol: the tolerance, relative to the scale of each Jacobian (see the ``ember.check`` docstring).
        batch: how to check batch mode (above).
        seed: seeds the random gradOutputs and permutations.
        only: the names of the checks to run (``{'jacobian', 'batch'}``); default all.

    Returns:
        a :class:`ModuleReport`; ``report.ok``, ``print(report)``.

    """
    check_settings("check_module", eps, tol)
    check_subjects("check_module", module, seed=seed)
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
        if only is None or "jacobian" in only:
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
            if only is not None and name not in only:
                continue
            try:
                report.checks.append(run())
            except Exception as error:
                report.checks.append(_raised(name, label, "-", error))
        if not report.ok:
            _diagnose(subject, report, eps)
        report.warnings += undeclared_arrays(module)
    finally:
        with contextlib.suppress(Exception):
            module.forward(copy_structure(pristine))  # outputs as after a forward pass on the input
        snapshot.restore()
    return report


# -- the diagnosis of a failed audit -------------------------------------------------------------


def _diagnose(s: _Subject, report: ModuleReport, eps: float) -> None:
    """Name the likely mistake of failed checks that have none yet: a batch handled wrongly (from the
    Jacobians at the batch input), or a stale input (:func:`~ember.check.diagnose.stale_input`).
    """
    undiagnosed = [check for check in report.checks if not check.ok and check.diagnosis is None]
    if not undiagnosed:
        return
    found = None
    batch = next((check for check in undiagnosed if check.name == "batch"), None)
    if batch is not None and s.batch_input is not None and not isinstance(s.batch_input, list):
        found = _diagnose_batch(s, eps)
    if found is None and not isinstance(s.pristine, list) and _is_float(s.pristine):
        with contextlib.suppress(Exception):
            found = _diagnose_stale(s, eps)
    if found is not None:
        for check in undiagnosed:
            check.diagnosis = found


def _diagnose_batch(s: _Subject, eps: float) -> Diagnosis | None:
    x = s.batch_input
    with contextlib.suppress(Exception):
        rows = np.shape(s.module.forward(copy_structure(x)))
        arguments = [(None, Layout(rows, x.shape, x.ravel(), True))]
        arguments += [(p.name, Layout(rows, p.value.shape, None, False)) for p in s.params]
        for param, layout in arguments:
            analytic, numeric = jacobian(s.module, x, param, eps)
            found = diagnose_jacobian(analytic, numeric, s.tol * max(1.0, float(np.abs(numeric).max())), layout)
            if found is not None:
                return Diagnosis(found.mistake, f"at a batch input {x.shape}: {found.message}")
    return None


def _diagnose_stale(s: _Subject, eps: float) -> Diagnosis | None:
    other = _random_like(s.pristine, s.rng)
    grad_output = _random_like(s.module.forward(s.fresh()), s.rng)

    def numeric_transposed(x: Any, g: Any) -> np.ndarray:
        return jacobian(s.module, x, None, eps)[1].T @ np.ravel(g)

    return stale_input(s.module, s.pristine, other, grad_output, s.tol * 10, numeric_transposed)


# -- for tests -------------------------------------------------------------------------------------


def assert_module(module: Module, input: Any, **kw: Any) -> ModuleReport:
    """:func:`check_module`, raising ``AssertionError`` with the report when a check fails."""
    report = check_module(module, input, **kw)
    if not report.ok:
        raise AssertionError("\n" + str(report))
    return report
