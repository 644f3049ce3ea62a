"""Linear family: Torch behaviours and errors the catalog does not cover."""

from __future__ import annotations

import numpy as np
import pytest

from ember import nn


def test_cmul_batches_an_expanded_input_like_the_seed():
    x = np.arange(1.0, 6.0)
    f = nn.CMul(5, rng=np.random.default_rng(0))
    single = f.forward(x).copy()
    np.testing.assert_allclose(single, x * f.weight)
    batch = f.forward(np.broadcast_to(x, (3, 5)))
    np.testing.assert_allclose(batch, np.tile(single, (3, 1)))


def test_cmul_and_cadd_init_within_torch_bounds():
    rng = np.random.default_rng(0)
    for module, param in ((nn.CMul((4, 25), rng=rng), "weight"), (nn.CAdd((4, 25), rng=rng), "bias")):
        values = getattr(module, param)
        assert values.shape == (4, 25)
        assert np.abs(values).max() <= 0.1 and np.abs(values).max() > 0.08


def test_add_init_bounds_follow_torch():
    rng = np.random.default_rng(0)
    assert np.abs(nn.Add(100, rng=rng).bias).max() <= 0.1
    scalar = nn.Add(100, scalar=True, rng=rng)
    assert scalar.bias.shape == (1,)
    assert np.abs(scalar.bias).max() <= 1.0


def test_scalar_add_takes_any_shape_and_sums_its_gradient():
    module = nn.Add(3, scalar=True, rng=np.random.default_rng(0))
    x = np.zeros((2, 4, 3))
    np.testing.assert_allclose(module.forward(x), np.full(x.shape, module.bias[0]))
    module.zeroGradParameters()
    module.backward(x, np.ones(x.shape), scale=0.5)
    np.testing.assert_allclose(module.gradBias, [12.0])


def test_mul_scales_by_one_learned_number():
    module = nn.Mul(rng=np.random.default_rng(0))
    assert module.weight.shape == (1,) and abs(module.weight[0]) <= 1
    x = np.arange(6.0).reshape(2, 3)
    np.testing.assert_allclose(module.forward(x), module.weight[0] * x)
    module.zeroGradParameters()
    module.backward(x, np.ones_like(x))
    np.testing.assert_allclose(module.gradWeight, [x.sum()])


def test_lookup_table_rows_like_the_seed():
    table = nn.LookupTable(5, 3, rng=np.random.default_rng(0))
    assert table.weight.shape == (5, 3)
    np.testing.assert_array_equal(table.forward(np.array([0, 1, 4])), table.weight[[0, 1, 4]])
    batch = table.forward(np.array([[0, 2], [3, 4], [1, 2]]))
    assert batch.shape == (3, 2, 3)
    np.testing.assert_array_equal(batch[1], table.weight[[3, 4]])


def test_lookup_table_accumulates_repeated_indices_and_gives_zero_grad_input():
    table = nn.LookupTable(4, 2, rng=np.random.default_rng(0))
    idx = np.array([[1, 1], [3, 1]])
    table.forward(idx)
    table.zeroGradParameters()
    grad_out = np.arange(8.0).reshape(2, 2, 2)
    grad_in = table.backward(idx, grad_out, scale=2.0)
    expected = np.zeros((4, 2))
    expected[1] = 2 * (grad_out[0, 0] + grad_out[0, 1] + grad_out[1, 1])
    expected[3] = 2 * grad_out[1, 0]
    np.testing.assert_allclose(table.gradWeight, expected)
    assert grad_in.shape == idx.shape and not grad_in.any()


@pytest.mark.parametrize("bad", [7, 5, -1])
def test_lookup_table_index_out_of_range_is_checked_every_call(bad):
    table = nn.LookupTable(5, 3)
    table.forward(np.array([0, 1, 2]))
    with pytest.raises(IndexError, match=rf"LookupTable\(5 -> 3\): index {bad} out of range for 5 rows "
                                         r"\(indices are 0-based\)"):
        table.forward(np.array([0, bad, 2]))


def test_lookup_table_rejects_float_indices():
    message = r"LookupTable\(5 -> 3\): expected an integer array of indices, got dtype float64"
    with pytest.raises(TypeError, match=message):
        nn.LookupTable(5, 3).forward(np.array([0.0, 1.0]))


def test_lookup_table_float32_keeps_integer_input():
    table = nn.LookupTable(5, 3).float()
    out = table.forward(np.array([0, 4], dtype=np.int32))
    assert out.dtype == np.float32


@pytest.mark.parametrize(("module", "shape", "message"), [
    (lambda: nn.CMul(5), (4,), r"CMul\(5\): expected input of shape \(5,\) or \(batch, 5\), got \(4,\)"),
    (lambda: nn.CMul((2, 3)), (3, 3), r"CMul\(2x3\): expected input of shape \(2, 3\) or \(batch, 2, 3\)"),
    (lambda: nn.CMul((1, 3, 4, 1)), (5, 7), r"CMul\(1x3x4x1\): expected input of 12 elements, of shape "
                                            r"\(1, 3, 4, 1\) or \(batch, 1, 3, 4, 1\), or a batch of 12-element "
                                            r"examples, got \(5, 7\)"),
    (lambda: nn.CMul(5), (), r"CMul\(5\): expected input of 5 elements, .* got \(\)"),
    (lambda: nn.CAdd(5), (2, 2, 5), r"CAdd\(5\): expected input .* got \(2, 2, 5\)"),
    (lambda: nn.Add(4), (4, 3), r"Add\(4\): expected input of shape \(4,\) or \(batch, 4\), got \(4, 3\)"),
])
def test_shape_errors_name_the_module(module, shape, message):
    with pytest.raises(ValueError, match=message):
        module().forward(np.zeros(shape))


def test_cmul_takes_what_torch_takes():
    """Torch's CMul: an input with w's element count is multiplied in memory order whatever its shape; a
    weight with more dimensions than the input makes it a batch of flattened examples."""
    module = nn.CMul((1, 3, 4, 1), rng=0)
    w = module.weight.reshape(-1)
    x = np.random.default_rng(1).standard_normal((3, 4))
    np.testing.assert_array_equal(module.forward(x), (x.reshape(-1) * w).reshape(3, 4))
    batch = np.random.default_rng(2).standard_normal((5, 3, 4))
    np.testing.assert_array_equal(module.forward(batch), (batch.reshape(5, -1) * w).reshape(5, 3, 4))
    module.zeroGradParameters()
    module.backward(batch, np.ones_like(batch))
    np.testing.assert_allclose(module.gradWeight.reshape(-1), batch.reshape(5, -1).sum(axis=0))
    assert nn.CMul((2, 3), rng=0).forward(np.ones((3, 2))).shape == (3, 2)  # same element count


def test_bad_size_is_rejected():
    with pytest.raises(ValueError, match="positive ints"):
        nn.CMul((0, 3))


def test_repr():
    assert repr(nn.CMul(5)) == "nn.CMul(5)"
    assert repr(nn.CAdd((2, 3))) == "nn.CAdd(2x3)"
    assert repr(nn.Add(4, scalar=True)) == "nn.Add(4, scalar=True)"
    assert repr(nn.Mul()) == "nn.Mul"
    assert repr(nn.LookupTable(5, 3)) == "nn.LookupTable(5 -> 3)"


@pytest.mark.parametrize("dtype", [np.int8, np.int32, np.uint16])
def test_lookup_table_range_check_for_every_integer_dtype(dtype):
    table = nn.LookupTable(5, 3)
    np.testing.assert_array_equal(table.forward(np.array([4, 0], dtype=dtype)), table.weight[[4, 0]])
    bad = np.array([1, -2] if np.issubdtype(dtype, np.signedinteger) else [1, 9], dtype=dtype)
    with pytest.raises(IndexError, match=rf"index {bad[1]} out of range for 5 rows"):
        table.forward(bad)


def test_linear_gradinput_none_skips_the_input_gradient_but_not_the_parameters():
    rng = np.random.default_rng(0)
    first = nn.Linear(4, 3, rng=rng)
    reference = first.clone()
    first.gradInput = None
    net = nn.Sequential(first, nn.Sigmoid(), nn.Linear(3, 2, rng=rng))
    x, g = rng.standard_normal((5, 4)), rng.standard_normal((5, 2))
    net.forward(x)
    assert net.backward(x, g) is None
    reference.forward(x)
    reference.backward(x, net.get(1).gradInput)
    np.testing.assert_allclose(first.gradWeight, reference.gradWeight)
    np.testing.assert_allclose(first.gradBias, reference.gradBias)
    net.clearState()
    net.float()
    assert first.gradInput is None
