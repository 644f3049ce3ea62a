"""Raw NumPy/Python errors found by the malformed-input property test at more examples (issue 12), one test per
class: an empty batch reshaped with ``-1``, a table input of another length, a pair of arrays that cannot be
multiplied, a non-array where an array is needed, a max-pooling window whose values are all −inf beside padding.
Each asserts the ember exception and its message, or the result PyTorch gives."""

from __future__ import annotations

import re
import warnings
from typing import Any

import numpy as np
import pytest

from ember import nn
from ember.errors import EmberError, InputError, InputTypeError, ProtocolError
from tests.nn.catalog import all_cases


def _empty(value: Any) -> Any:
    if isinstance(value, list):
        return [_empty(item) for item in value]
    return value[:0] if isinstance(value, np.ndarray) and value.ndim else value


def _leaf_shapes(value: Any) -> list[tuple[int, ...]]:
    if isinstance(value, (list, tuple)):
        return [shape for item in value for shape in _leaf_shapes(item)]
    return [tuple(value.shape)]


def _ones_like(value: Any) -> Any:
    return [_ones_like(item) for item in value] if isinstance(value, list) else np.ones_like(value)


BATCHED = [pytest.param(case, id=case.id) for case in all_cases() if case.batch is not None]


@pytest.mark.parametrize("case", BATCHED)
def test_an_empty_batch_gives_an_empty_result_or_an_ember_error(case):
    """An empty batch (the leading dimension of every batched array 0) gives an output shaped as PyTorch's
    and a gradInput shaped as the input, or is refused with an ember error; never a raw NumPy error."""
    rng = np.random.default_rng(0)
    module = case.make(rng)
    x = _empty(case.batch(rng))
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            out = module.forward(x)
            grad = module.backward(x, _ones_like(out))
    except EmberError:
        return
    if grad is not None:
        assert _leaf_shapes(grad) == _leaf_shapes(x), f"{case.id}: gradInput not shaped as the input"
    if case.torch is None:
        return
    torch = pytest.importorskip("torch")

    def tensors(value: Any) -> Any:
        return [tensors(item) for item in value] if isinstance(value, list) else torch.from_numpy(np.array(value))
    try:
        expected = case.torch(torch, module, tensors(x), [torch.from_numpy(p.copy()) for p in module.parameters()[0]])
    except RuntimeError:  # PyTorch refuses this empty batch: the shape is ember's to choose
        return
    assert _leaf_shapes(out) == _leaf_shapes(expected), f"{case.id}: not PyTorch's output shape"


@pytest.mark.parametrize("module, x, out", [
    (nn.TemporalConvolution(3, 2, 3), np.ones((0, 5, 3)), (0, 3, 2)),
    (nn.TemporalConvolution(3, 2, 3, 2), np.ones((0, 6, 3)), (0, 2, 2)),
    (nn.SpatialAdaptiveAveragePooling(2, 3), np.ones((0, 2, 5, 4)), (0, 2, 3, 2)),
    (nn.SpatialAdaptiveMaxPooling(2, 3), np.ones((0, 2, 5, 4)), (0, 2, 3, 2)),
    (nn.View(-1, n_input_dims=2), np.ones((0, 2, 3)), (0, 6)),
    (nn.View(3, -1, n_input_dims=2), np.ones((0, 2, 3)), (0, 3, 2)),
])
def test_modules_that_reshaped_with_minus_one_take_an_empty_batch(module, x, out):
    y = module.forward(x)
    assert y.shape == out
    assert module.backward(x, np.ones(out)).shape == x.shape


def test_view_resolves_minus_one_within_an_example():
    view = nn.View(3, -1, n_input_dims=2)
    assert view.forward(np.ones((4, 2, 3))).shape == (4, 3, 2)
    assert view.forward(np.ones((2, 3))).shape == (3, 2)
    assert nn.View(-1).forward(np.ones((4, 2, 3))).shape == (24,)
    with pytest.raises(InputError, match=r"View\(4, -1\): cannot view an input of shape \(2, 3\) as \(4, -1\)"):
        nn.View(4, -1).forward(np.ones((2, 3)))


@pytest.mark.parametrize("module, given", [(nn.RNN(3, 4), 0), (nn.RNN(3, 4), 1), (nn.RNN(3, 4), 3),
                                           (nn.LSTM(3, 4), 2), (nn.GRU(3, 4), 0)])
def test_recurrent_modules_refuse_a_table_input_of_another_length(module, given):
    names = "h0, c0" if isinstance(module, nn.LSTM) else "h0"
    table = [np.ones((2, 5, 3))] + [np.zeros((5, 4))] * (given - 1) if given else []
    with pytest.raises(InputError, match=rf"^{type(module).__name__}\(3 -> 4\): expected the input as "
                                         rf"\[x, {names}\], got a list of {given}$"):
        module.forward(table)


@pytest.mark.parametrize("module, table, error, message", [
    (nn.MM(), [np.ones(3), np.ones((3, 2))], InputError, r"cannot multiply \(3,\) by \(3, 2\): expected 2-D matrices"),
    (nn.MM(True, True), [np.ones(3), np.ones(3)], InputError, r"cannot multiply \(3,\) by \(3,\)"),
    (nn.MV(True), [np.ones(3), np.ones(3)], InputError, r"cannot multiply \(3,\) by \(3,\): expected a 2-D matrix"),
    (nn.MV(), [np.ones((2, 3)), np.ones(3, dtype=np.int64)], InputTypeError,
     "expected two floating-point arrays of one dtype, got float64 and int64"),
    (nn.MV(), [np.ones((2, 3), dtype=np.complex128), np.ones(3, dtype=np.complex128)], InputTypeError,
     "expected two floating-point arrays of one dtype, got complex128 and complex128"),
    (nn.MV(), [np.ones((2, 3))], InputTypeError, r"expected a list of two arrays \[M, v\] as input, got a list of 1"),
    (nn.MM(), np.ones((2, 2)), InputTypeError, r"expected a list of two arrays \[A, B\] as input, got ndarray"),
])
def test_products_refuse_operands_they_cannot_multiply(module, table, error, message):
    with pytest.raises(error, match=rf"^{type(module).__name__}(\(.*\))?: {message}"):
        module.forward(table)


def test_constant_refuses_a_non_array_and_keeps_its_value_for_integer_input():
    constant = nn.Constant([1.5, 2.0])
    for given in ([1.0, 2.0], None, "x"):
        with pytest.raises(InputTypeError, match=rf"^Constant\(shape \(2,\)\): expected a NumPy array, got "
                                                 rf"{type(given).__name__}$"):
            constant.forward(given)
    np.testing.assert_array_equal(constant.forward(np.ones(3, dtype=np.int64)), [1.5, 2.0])  # not truncated to 1
    assert constant.forward(np.ones(3, dtype=np.float32)).dtype == np.float32


@pytest.mark.parametrize("module, pool, shape", [
    (nn.SpatialDilatedMaxPooling(3, 3, 2, 2, 1, 1, 1, 1).ceil(), "max_pool2d", (1, 1, 4, 4)),
    (nn.VolumetricMaxPooling(3, 3, 3, 2, 2, 2, 1, 1, 1).ceil(), "max_pool3d", (1, 1, 4, 4, 4)),
    (nn.TemporalMaxPooling(3, 2), None, (5, 2)),
])
def test_max_pooling_over_minus_inf_beside_padding_routes_to_the_first_tap_inside(module, pool, shape):
    """A window whose values are all −inf: the maximum is its first tap inside the input (PyTorch's kernels never
    look at the padding); the padding tap's negative position raised a raw NumPy error in backward."""
    x = np.full(shape, -np.inf)
    y = module.forward(x)
    grad = module.backward(x, np.ones_like(y))
    assert np.isneginf(y).all()
    if pool is None:
        return
    torch = pytest.importorskip("torch")
    t = torch.from_numpy(x).requires_grad_()
    out, indices = getattr(torch.nn.functional, pool)(t, 3, 2, 1, ceil_mode=True, return_indices=True)
    out.backward(torch.ones_like(out))
    np.testing.assert_array_equal(module.indices, indices.numpy())
    np.testing.assert_array_equal(grad, t.grad.numpy())


@pytest.mark.parametrize("dtype", [np.complex128, np.int64, np.bool_, np.uint8])
def test_a_gradOutput_that_is_not_floating_point_is_refused(dtype):
    """The same check for every module (Module.check_grad_output): complex, integer or bool gradOutput raised raw
    casting errors deep inside backward (or, for a complex one, would have dropped its imaginary part)."""
    for module, x in ((nn.Tanh(), np.ones((2, 3))), (nn.SpatialSubSampling(2, 2, 2), np.ones((2, 4, 4))),
                      (nn.ConcatTable(nn.Linear(3, 2), nn.Identity()), np.ones((2, 3)))):
        out = module.forward(x)
        grad = [np.ones_like(o, dtype=dtype) for o in out] if isinstance(out, list) else np.ones_like(out, dtype=dtype)
        name, table = np.dtype(dtype).name, isinstance(out, list)
        expected = (f"gradOutput shaped like the output table: a floating-point array at [0], got dtype {name}" if table
                    else f"a floating-point gradOutput (the output is float64), got dtype {name}")
        with pytest.raises(InputError if table else InputTypeError,
                           match=f"^{re.escape(module.describe())}: expected {re.escape(expected)}$"):
            module.backward(x, grad)


def test_a_number_as_the_gradOutput_of_a_one_element_output_is_an_array_of_that_value():
    for module, x in ((nn.Sum(0), np.ones(3)), (nn.DotProduct(), [np.ones(3), np.ones(3)]), (nn.Max(0), np.ones(3))):
        module.forward(x)
        grad = module.backward(x, 2.0)
        for leaf in grad if isinstance(grad, list) else [grad]:
            assert leaf.shape == (3,) and leaf.dtype == np.float64
        with pytest.raises(InputTypeError, match="expected gradOutput as a NumPy array of shape .*, got bool"):
            module.backward(x, True)


def test_backward_refuses_an_input_unlike_the_last_forwards():
    """Module.check_backward_input, for every module and the containers that override backward: an input of
    another shape or dtype, a table of another length or entry, or a non-array raised raw NumPy errors."""
    x = np.ones((2, 3))
    sequential = nn.Sequential(nn.Linear(3, 2))
    y = sequential.forward(x)
    for bad, given in (([x], "a list of 1"), (None, "None")):
        with pytest.raises(ProtocolError, match=rf"^Sequential: backward got {given}, but the last forward was given "
                                                rf"an array of shape \(2, 3\): call backward with the input forward "
                                                rf"was given$"):
            sequential.backward(bad, np.ones_like(y))
    with pytest.raises(ProtocolError, match=r"^Linear\(3 -> 2\): backward got an input of dtype float32, but the last "
                                            r"forward was given float64"):
        sequential.get(0).backward(x.astype(np.float32), np.ones_like(y))
    join = nn.JoinTable(0)
    y = join.forward([x, x])
    with pytest.raises(ProtocolError, match=r"^JoinTable\(0\): backward got an input unlike the last forward's "
                                            r"\(expected an array of shape \(2, 3\) and dtype float64 at \[0\], got "
                                            r"\(3, 3\) float64\)"):
        join.backward([np.ones((3, 3)), x], np.ones_like(y))
    with pytest.raises(ProtocolError, match=r"expected a list of 2, got a list of 1"):
        join.backward([x], np.ones_like(y))
    np.testing.assert_array_equal(join.backward([x.copy(), x.copy()], np.ones_like(y))[0], np.ones((2, 3)))


def test_a_table_forward_forgets_the_checked_gradOutput():
    """A reused gradOutput array was trusted after a table forward changed the output's shape (raw broadcast error)."""
    add, grad = nn.CAddTable(), np.ones((2, 3))
    add.forward([np.ones((2, 3))] * 2)
    add.backward([np.ones((2, 3))] * 2, grad)
    x = [np.ones((4, 3))] * 2
    add.forward(x)
    with pytest.raises(InputError, match=r"^CAddTable: expected gradOutput of shape \(4, 3\) \(the output's\), "
                                         r"got \(2, 3\)$"):
        add.backward(x, grad)
