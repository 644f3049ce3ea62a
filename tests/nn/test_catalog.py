"""Generic tests over the module catalog (see catalog.py)."""

from __future__ import annotations

import numpy as np
import pytest

from ember.check import check_criterion, check_module, copy_structure, flatten, jacobian, leaves
from tests.nn.catalog import all_cases, all_criteria

CASES = all_cases()
MODES = [(case, mode) for case in CASES for mode in ("single", "batch") if getattr(case, mode) is not None]
MODE_IDS = [f"{case.id}-{mode}" for case, mode in MODES]
TOL = 1e-6


def build(case, mode, seed=0):
    rng = np.random.default_rng(seed)
    return case.make(rng), getattr(case, mode)(rng)


def assert_jacobians_agree(analytic, numeric, what):
    scale = max(1.0, float(np.max(np.abs(numeric), initial=0.0)))
    error = float(np.max(np.abs(analytic - numeric), initial=0.0))
    assert error <= TOL * scale, f"{what}: backprop and finite differences differ by {error:.3g}"


DIFFERENTIABLE = [(case, mode) for case, mode in MODES if case.differentiable_input]  # not integer indices


@pytest.mark.parametrize(("case", "mode"), DIFFERENTIABLE, ids=[f"{c.id}-{m}" for c, m in DIFFERENTIABLE])
def test_jacobian_wrt_input(case, mode):
    module, x = build(case, mode)
    assert_jacobians_agree(*jacobian(module, x), f"{case.id} d/dinput")


@pytest.mark.parametrize(("case", "mode"), MODES, ids=MODE_IDS)
def test_jacobian_wrt_each_parameter(case, mode):
    module, x = build(case, mode)
    n_params = len(module.parameters()[0])
    for index in range(n_params):
        assert_jacobians_agree(*jacobian(module, x, param=index), f"{case.id} d/dparameters()[{index}]")


BATCHED = [case for case in CASES if case.batch is not None and case.per_example]


def _example(structure, i):
    if isinstance(structure, list):
        return [_example(item, i) for item in structure]
    return structure[i]


@pytest.mark.parametrize("case", BATCHED, ids=[c.id for c in BATCHED])
def test_batch_equals_examples_one_at_a_time(case):
    module, x = build(case, "batch")
    rng = np.random.default_rng(1)
    out = copy_structure(module.forward(x))
    grad_out = [rng.standard_normal(leaf.shape) for leaf in leaves(out)]
    grad_out = grad_out if isinstance(out, list) else grad_out[0]
    module.zeroGradParameters()
    grad_in = copy_structure(module.backward(x, grad_out))
    batch_param_grads = [g.copy() for g in module.parameters()[1]]
    module.zeroGradParameters()
    n = leaves(x)[0].shape[0]
    for i in range(n):
        out_i = module.forward(_example(x, i))
        np.testing.assert_allclose(flatten(out_i), flatten(_example(out, i)), rtol=1e-10, atol=1e-12)
        grad_in_i = module.backward(_example(x, i), _example(grad_out, i))
        if case.differentiable_input:
            np.testing.assert_allclose(flatten(grad_in_i), flatten(_example(grad_in, i)), rtol=1e-10, atol=1e-12)
    for summed, batched in zip(module.parameters()[1], batch_param_grads):
        np.testing.assert_allclose(summed, batched, rtol=1e-10, atol=1e-12)


def _relaid(structure, layout):
    """The same values in another memory layout: every other element of a twice-as-wide array
    (``"strided"``), or column-major (``"fortran"``)."""
    if isinstance(structure, list):
        return [_relaid(item, layout) for item in structure]
    if structure.ndim == 0:
        return structure
    if layout == "fortran":
        return np.asfortranarray(structure)
    wide = np.zeros(structure.shape[:-1] + (2 * structure.shape[-1],), dtype=structure.dtype)
    wide[..., ::2] = structure
    return wide[..., ::2]


@pytest.mark.parametrize("layout", ["strided", "fortran"])
@pytest.mark.parametrize(("case", "mode"), MODES, ids=MODE_IDS)
def test_non_contiguous_input_gives_the_same_results(case, mode, layout):
    results = []
    for relaid in (False, True):
        module, x = build(case, mode)
        x = _relaid(x, layout) if relaid else x
        out = copy_structure(module.forward(x))
        rng = np.random.default_rng(1)
        grad_out = [rng.standard_normal(leaf.shape) for leaf in leaves(out)]
        module.zeroGradParameters()
        grad_in = copy_structure(module.backward(x, _rebuilt(out, iter(grad_out))))
        results.append((flatten(out), flatten(grad_in) if case.differentiable_input else None,
                        [g.copy() for g in module.parameters()[1]]))
    (out, grad_in, grads), (out_r, grad_in_r, grads_r) = results
    np.testing.assert_allclose(out_r, out, rtol=1e-12, atol=1e-12)
    if grad_in is not None:
        np.testing.assert_allclose(grad_in_r, grad_in, rtol=1e-12, atol=1e-12)
    for g_r, g in zip(grads_r, grads):
        np.testing.assert_allclose(g_r, g, rtol=1e-12, atol=1e-12)


def _rebuilt(structure, values):
    """``structure``'s (nested) table shape filled with the next arrays of ``values``."""
    return [_rebuilt(item, values) for item in structure] if isinstance(structure, list) else next(values)


def _ones_like(structure):
    return [_ones_like(item) for item in structure] if isinstance(structure, list) else np.ones_like(structure)


def _as_float32(structure):
    """float64 leaves as float32, the (nested) table structure kept."""
    if isinstance(structure, list):
        return [_as_float32(item) for item in structure]
    return structure.astype(np.float32) if structure.dtype == np.float64 else structure


@pytest.mark.parametrize(("case", "mode"), MODES, ids=MODE_IDS)
def test_float32_computes_in_float32(case, mode):
    module, x = build(case, mode)
    module.float()
    x32 = _as_float32(x)
    out = module.forward(x32)
    assert all(leaf.dtype == np.float32 for leaf in leaves(out))
    grad = module.backward(x32, _ones_like(out))
    if case.differentiable_input:
        assert all(leaf.dtype == np.float32 for leaf, given in zip(leaves(grad), leaves(x32))
                   if given.dtype == np.float32)
    assert all(g.dtype == np.float32 for g in module.parameters()[1])


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_repr_names_the_module(case):
    module, _ = build(case, "single")
    text = repr(module)
    assert text.startswith("nn." + type(module).__name__)


CONFORMING = [(case, mode) for case, mode in MODES if case.torch is not None]


@pytest.mark.parametrize(("case", "mode"), CONFORMING, ids=[f"{c.id}-{m}" for c, m in CONFORMING])
def test_conforms_to_pytorch(torch, case, mode):
    module, x = build(case, mode, seed=7)
    rng = np.random.default_rng(8)

    def to_torch(value, grad):
        if isinstance(value, list):
            return [to_torch(v, grad) for v in value]
        tensor = torch.from_numpy(np.array(value))
        return tensor.requires_grad_(grad and tensor.is_floating_point())

    x_t = to_torch(x, case.differentiable_input)
    params = module.parameters()[0]
    params_t = [to_torch(p, True) for p in params]
    out_t = case.torch(torch, module, x_t, params_t)
    out = module.forward(x)
    out_t_leaves = leaves(out_t)
    np.testing.assert_allclose(flatten(out), np.concatenate([t.detach().numpy().ravel() for t in out_t_leaves]),
                               rtol=1e-10, atol=1e-12, err_msg=f"{case.id} forward")
    grad_out = [rng.standard_normal(tuple(t.shape)) for t in out_t_leaves]
    wrt = [t for t in leaves(x_t) if t.requires_grad] + params_t
    grads_t = torch.autograd.grad(out_t_leaves, wrt, [torch.from_numpy(g) for g in grad_out], allow_unused=True)
    grad_out_ember = _rebuilt(out, iter(grad_out))
    module.zeroGradParameters()
    grad_in = module.backward(x, grad_out_ember)
    ours = (leaves(grad_in) if case.differentiable_input else []) + module.parameters()[1]
    for mine, theirs in zip(ours, grads_t):
        expected = np.zeros(mine.shape) if theirs is None else theirs.numpy()
        np.testing.assert_allclose(mine, expected, rtol=1e-9, atol=1e-11, err_msg=f"{case.id} backward")


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_protocol_audit(case):
    """ember.check.check_module on the case: Jacobians, batch mode (on the case's own batch), accumulation,
    scale, determinism, linearity, input unchanged, dtype; and no WARN line (every floating-point array a
    built-in module keeps is a declared parameter, gradient or buffer, or listed in ``_scratch``)."""
    if case.batch is not None and case.per_example:
        module, x = build(case, "batch")
        report = check_module(module, x, batch=True)
    else:
        module, x = build(case, "single")
        report = check_module(module, x, batch=False)
    assert report.ok, str(report)
    assert not report.warnings, str(report)


CRITERIA = all_criteria()
CRITERION_MODES = [(case, mode) for case in CRITERIA for mode in ("single", "batch")]


@pytest.mark.parametrize(("case", "mode"), CRITERION_MODES, ids=[f"{c.id}-{m}" for c, m in CRITERION_MODES])
def test_criterion_audit(case, mode):
    """ember.check.check_criterion on every catalog criterion: the module audit in its criterion form (Jacobian,
    a batch's summed loss and gradients = its examples', gradInput overwritten, determinism, input and target
    unchanged, dtype), and no WARN line."""
    from tests.nn.catalog_criteria import BATCH

    rng = np.random.default_rng(0)
    criterion = case.make()
    x = case.input(rng, None if mode == "single" else BATCH)
    report = check_criterion(criterion, x, case.target(rng, x), batch=mode == "batch" and case.per_example)
    assert report.ok, str(report)
    assert not report.warnings, str(report)
    assert [check.name for check in report.checks] == ["jacobian", "batch", "accumulate", "scale", "deterministic",
                                                       "linear", "unchanged", "dtype"]
