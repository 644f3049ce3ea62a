"""Shape modules: Torch's batch rules, views versus copies, any dtype, errors."""

from __future__ import annotations

import numpy as np
import pytest

from ember import nn

SEED_X = np.array([[0.9011, -0.0143], [-0.8167, 1.3009], [-0.0597, 2.5226]])


def forward_backward(module, x, grad_out=None):
    out = module.forward(x)
    grad_out = np.arange(out.size, dtype=np.float64).reshape(out.shape) if grad_out is None else grad_out
    return out, module.backward(x, grad_out)


# -- View -------------------------------------------------------------------------------------

def test_view_like_the_seed():
    np.testing.assert_array_equal(nn.View(2, 3).forward(SEED_X),
                                  [[0.9011, -0.0143, -0.8167], [1.3009, -0.0597, 2.5226]])


def test_view_returns_views_of_input_and_grad_output():
    x = np.arange(6.0)
    module = nn.View(2, 3)
    out = module.forward(x)
    assert np.shares_memory(out, x)
    grad_out = np.ones((2, 3))
    grad = module.backward(x, grad_out)
    assert grad.shape == (6,) and np.shares_memory(grad, grad_out)


@pytest.mark.parametrize(("module", "shape", "expected"), [
    (nn.View(2, 3), (4, 6), (4, 2, 3)),                          # a multiple of the view's elements: batch
    (nn.View(2, 3), (12,), (2, 2, 3)),                           # ... whatever the input's shape (Torch)
    (nn.View(-1), (4, 6), (24,)),                                # -1 without n_input_dims: no batch
    (nn.View(3, -1), (2, 6), (3, 4)),
    (nn.View(-1, n_input_dims=2), (4, 2, 3), (4, 6)),            # flatten each example
    (nn.View(-1, n_input_dims=2), (2, 3), (6,)),
    (nn.View(-1, n_input_dims=2), (1, 2, 3), (1, 6)),            # a batch of one stays a batch
    (nn.View(-1, n_input_dims=2), (5, 4, 2, 3), (20, 6)),        # every leading dimension is batch
    (nn.View(6, n_input_dims=2), (4, 2, 3), (4, 6)),
])
def test_view_batch_rules(module, shape, expected):
    x = np.arange(float(np.prod(shape))).reshape(shape)
    out = module.forward(x)
    assert out.shape == expected
    np.testing.assert_array_equal(out.ravel(), x.ravel())


def test_set_num_input_dims_replans_after_a_forward():
    module, x = nn.View(-1), np.zeros((4, 2, 3))
    assert module.forward(x).shape == (24,)
    assert module.set_num_input_dims(2) is module
    assert module.forward(x).shape == (4, 6)
    assert module.setNumInputDims(3).forward(x).shape == (24,)


@pytest.mark.parametrize(("module", "x_shape"), [
    (nn.View(-1), (4, 2, 3)),                  # keyword-only n_input_dims, after *sizes
    (nn.Transpose((0, 1)), (4, 2, 3)),         # keyword-only, after *pairs
    (nn.Squeeze(0, 5), (1, 2, 3)),             # given positionally at construction: replaced, not doubled
    (nn.Unsqueeze(0), (4, 2, 3)),              # positional-or-keyword, left at its default
])
def test_set_num_input_dims_survives_save_and_load(module, x_shape, tmp_path):
    from ember import io

    x = np.arange(float(np.prod(x_shape))).reshape(x_shape)
    before = module.forward(x).shape
    module.setNumInputDims(2)
    expected = module.forward(x)
    assert expected.shape != before  # the setting matters for this input
    loaded = io.load(io.save(nn.Sequential(module), tmp_path / "m.safetensors"))[0]
    assert loaded.n_input_dims == 2 and repr(loaded) == repr(module)
    np.testing.assert_array_equal(loaded.forward(x), expected)


def test_set_num_input_dims_rejects_a_non_integer():
    with pytest.raises(TypeError, match=r"View\(-1\).*set_num_input_dims expects an int, got 2.0"):
        nn.View(-1).setNumInputDims(2.0)


def test_view_of_a_non_contiguous_input_copies():
    x = np.arange(6.0).reshape(2, 3).T
    np.testing.assert_array_equal(nn.View(6).forward(x), [0, 3, 1, 4, 2, 5])


@pytest.mark.parametrize(("module", "shape", "detail"), [
    (nn.View(2, 3), (5,), r"View\(2, 3\): cannot view an input of shape \(5,\) as \(2, 3\) or \(batch, 2, 3\) "
                          r"\(5 elements, not a multiple of 6\)"),
    (nn.View(4, -1), (6,), r"View\(4, -1\): cannot view an input of shape \(6,\) as \(4, -1\)"),
    (nn.View(4, n_input_dims=2), (3, 2, 3), r"View\(4, n_input_dims=2\): cannot view an input of shape \(3, 2, 3\)"),
])
def test_view_element_count_errors(module, shape, detail):
    with pytest.raises(ValueError, match=detail):
        module.forward(np.zeros(shape))


@pytest.mark.parametrize("sizes", [(-2,), (-1, -1), (0, 3), ()])
def test_view_rejects_bad_sizes(sizes):
    with pytest.raises(ValueError, match="View: expected positive sizes and at most one -1"):
        nn.View(*sizes)


def test_view_accepts_a_tuple_of_sizes():
    assert nn.View((2, 3)).forward(np.zeros(6)).shape == (2, 3)


def test_shape_modules_take_any_dtype():
    idx = np.arange(12).reshape(3, 4)
    assert nn.View(-1).forward(idx).dtype == idx.dtype
    assert nn.Transpose((0, 1)).forward(idx).dtype == idx.dtype
    np.testing.assert_array_equal(nn.Narrow(1, 1, 2).forward(idx), idx[:, 1:3])
    np.testing.assert_array_equal(nn.Select(0, -1).forward(idx), idx[-1])
    np.testing.assert_array_equal(nn.Replicate(2).forward(np.array([True, False])), [[True, False]] * 2)


def test_lookup_table_then_view_flattens_each_example():
    table = nn.LookupTable(5, 3, rng=np.random.default_rng(0))
    model = nn.Sequential(table, nn.View(-1, n_input_dims=2))
    out = model.forward(np.array([[0, 4], [1, 1]]))
    assert out.shape == (2, 6)
    np.testing.assert_array_equal(out[1], np.concatenate([table.weight[1], table.weight[1]]))


# -- Reshape ----------------------------------------------------------------------------------

@pytest.mark.parametrize(("module", "shape", "expected"), [
    (nn.Reshape(2, 3), (6,), (2, 3)),
    (nn.Reshape(2, 3), (3, 2), (2, 3)),
    (nn.Reshape(2, 3), (1, 6), (1, 2, 3)),     # first dimension 1: a batch, as Torch
    (nn.Reshape(2, 3), (4, 6), (4, 2, 3)),
    (nn.Reshape(3, batch_mode=True), (2, 3), (2, 3)),
    (nn.Reshape(3, 1, batch_mode=True), (2, 3), (2, 3, 1)),
    (nn.Reshape(6, batch_mode=False), (1, 6), (6,)),
])
def test_reshape_batch_rules(module, shape, expected):
    x = np.arange(float(np.prod(shape))).reshape(shape)
    out, grad = forward_backward(module, x)
    assert out.shape == expected and np.shares_memory(out, x)
    assert grad.shape == shape


def test_reshape_errors():
    with pytest.raises(ValueError, match=r"Reshape\(2, 3, batch_mode=False\): cannot reshape an input of shape "
                                         r"\(4, 6\) \(24 elements\) to \(2, 3\)"):
        nn.Reshape(2, 3, batch_mode=False).forward(np.zeros((4, 6)))
    with pytest.raises(ValueError, match=r"Reshape\(2, 3\): cannot reshape an input of shape \(4, 5\) "
                                         r"\(20 elements\) to \(batch, 2, 3\)"):
        nn.Reshape(2, 3).forward(np.zeros((4, 5)))
    with pytest.raises(ValueError, match=r"Reshape\(6, batch_mode=True\): cannot reshape an input of shape \(6,\) "
                                         r"\(6 elements\) to \(batch, 6\)"):
        nn.Reshape(6, batch_mode=True).forward(np.zeros(6))
    with pytest.raises(ValueError, match="View infers"):
        nn.Reshape(-1)


# -- Transpose --------------------------------------------------------------------------------

def test_transpose_copies_and_routes_the_gradient_back():
    x = np.arange(24.0).reshape(2, 3, 4)
    module = nn.Transpose((0, 1), (1, 2))
    out, grad = forward_backward(module, x, np.arange(24.0).reshape(3, 4, 2))
    np.testing.assert_array_equal(out, x.transpose(1, 2, 0))
    assert out.flags.c_contiguous and not np.shares_memory(out, x)
    np.testing.assert_array_equal(grad, np.arange(24.0).reshape(3, 4, 2).transpose(2, 0, 1))


def test_transpose_with_n_input_dims_skips_the_batch():
    x = np.zeros((5, 2, 3))
    assert nn.Transpose((0, 1), n_input_dims=2).forward(x).shape == (5, 3, 2)
    assert nn.Transpose((0, 1)).forward(x).shape == (2, 5, 3)


def test_transpose_dim_out_of_range():
    with pytest.raises(IndexError, match=r"Transpose\(\(0, 2\)\): dim 2 out of range for an input of shape \(2, 3\)"):
        nn.Transpose((0, 2)).forward(np.zeros((2, 3)))


# -- Squeeze, Unsqueeze -----------------------------------------------------------------------

@pytest.mark.parametrize(("module", "shape", "expected"), [
    (nn.Squeeze(), (1, 3, 1), (3,)),
    (nn.Squeeze(), (1, 1), (1,)),                            # Torch keeps one dimension
    (nn.Squeeze(0), (1, 3, 1), (3, 1)),
    (nn.Squeeze(-1), (1, 3, 1), (1, 3)),
    (nn.Squeeze(1), (2, 3), (2, 3)),                         # not of size 1: nothing to do
    (nn.Squeeze(0), (1,), (1,)),                             # a 1-D input is never squeezed
    (nn.Squeeze(n_input_dims=2), (1, 1, 5), (1, 5)),         # a batch of one stays a batch
    (nn.Squeeze(n_input_dims=2), (4, 1, 5), (4, 5)),
    (nn.Squeeze(0, n_input_dims=2), (4, 1, 5), (4, 5)),      # dim shifts past the batch
    (nn.Squeeze(0, n_input_dims=2), (1, 5), (5,)),
])
def test_squeeze_rules(module, shape, expected):
    x = np.arange(float(np.prod(shape))).reshape(shape)
    out, grad = forward_backward(module, x)
    assert out.shape == expected and np.shares_memory(out, x)
    assert grad.shape == shape


@pytest.mark.parametrize(("module", "shape", "expected"), [
    (nn.Unsqueeze(0), (3,), (1, 3)),
    (nn.Unsqueeze(1), (3,), (3, 1)),
    (nn.Unsqueeze(-1), (2, 3), (2, 3, 1)),
    (nn.Unsqueeze(0, n_input_dims=1), (2, 3), (2, 1, 3)),
    (nn.Unsqueeze(1, n_input_dims=1), (2, 3), (2, 3, 1)),
    (nn.Unsqueeze(0, n_input_dims=1), (3,), (1, 3)),
])
def test_unsqueeze_rules(module, shape, expected):
    x = np.arange(float(np.prod(shape))).reshape(shape)
    out, grad = forward_backward(module, x)
    assert out.shape == expected and np.shares_memory(out, x)
    assert grad.shape == shape


def test_squeeze_and_unsqueeze_errors():
    with pytest.raises(IndexError, match=r"Squeeze\(2\): dim 2 out of range for an input of shape \(1, 3\)"):
        nn.Squeeze(2).forward(np.zeros((1, 3)))
    with pytest.raises(IndexError, match=r"Unsqueeze\(3\): position 3 out of range for an input of shape \(2, 3\)"):
        nn.Unsqueeze(3).forward(np.zeros((2, 3)))
    with pytest.raises(ValueError, match=r"Unsqueeze\(0, n_input_dims=3\): expected at least 3 dimensions"):
        nn.Unsqueeze(0, n_input_dims=3).forward(np.zeros((2, 3)))


# -- Replicate --------------------------------------------------------------------------------

def test_replicate_values_and_summed_gradient():
    x = np.array([1.0, 2.0])
    module = nn.Replicate(3)
    out, grad = forward_backward(module, x, np.arange(6.0).reshape(3, 2))
    np.testing.assert_array_equal(out, [[1, 2], [1, 2], [1, 2]])
    np.testing.assert_array_equal(grad, [0 + 2 + 4, 1 + 3 + 5])
    out[0, 0] = 9.0  # a writable copy: the input is untouched
    assert x[0] == 1.0


@pytest.mark.parametrize(("module", "shape", "expected"), [
    (nn.Replicate(3, dim=1), (2,), (2, 3)),
    (nn.Replicate(3, dim=1), (2, 4), (2, 3, 4)),
    (nn.Replicate(3, dim=0, n_dim=1), (5, 4), (5, 3, 4)),   # batch: dim shifts by one
    (nn.Replicate(3, dim=0, n_dim=1), (4,), (3, 4)),
])
def test_replicate_shapes(module, shape, expected):
    out, grad = forward_backward(module, np.ones(shape))
    assert out.shape == expected and grad.shape == shape


def test_replicate_errors():
    with pytest.raises(IndexError, match=r"Replicate\(2, dim=2\): cannot insert dim 2 into an input of shape \(3,\)"):
        nn.Replicate(2, dim=2).forward(np.zeros(3))
    with pytest.raises(ValueError, match="non-negative dim"):
        nn.Replicate(2, dim=-1)


# -- Narrow, Select ---------------------------------------------------------------------------

@pytest.mark.parametrize(("module", "expected"), [
    (nn.Narrow(0, 1), [1]),
    (nn.Narrow(0, 1, 3), [1, 2, 3]),
    (nn.Narrow(0, 1, -1), [1, 2, 3, 4]),       # Torch: -1 reaches the last element
    (nn.Narrow(0, 0, -2), [0, 1, 2, 3]),       # ... -2 the one before it
    (nn.Narrow(0, -2, 2), [3, 4]),             # negative offset: from the end
    (nn.Narrow(-1, 4), [4]),
])
def test_narrow_values(module, expected):
    x = np.arange(5.0)
    out, grad = forward_backward(module, x, np.ones(len(expected)))
    np.testing.assert_array_equal(out, expected)
    np.testing.assert_array_equal(grad, np.isin(x, expected).astype(float))


def test_narrow_reuses_its_output_buffer_and_copies():
    module, x = nn.Narrow(1, 0, 2), np.arange(6.0).reshape(2, 3)
    first = module.forward(x)
    assert not np.shares_memory(first, x)
    assert module.forward(x + 1) is first


@pytest.mark.parametrize("module", [nn.Narrow(0, 4, 2), nn.Narrow(0, 5), nn.Narrow(0, 0, -6), nn.Narrow(0, -6)])
def test_narrow_out_of_range(module):
    with pytest.raises(IndexError, match=r"Narrow\(0, -?\d, -?\d\): cannot take -?\d element\(s\) from offset -?\d "
                                         r"of dim 0 \(size 5\) of an input of shape \(5,\)"):
        module.forward(np.zeros(5))


def test_select_values_and_gradient():
    x = np.arange(12.0).reshape(3, 4)
    out, grad = forward_backward(nn.Select(1, -1), x, np.array([1.0, 2.0, 3.0]))
    np.testing.assert_array_equal(out, [3, 7, 11])
    expected = np.zeros((3, 4))
    expected[:, 3] = [1, 2, 3]
    np.testing.assert_array_equal(grad, expected)


def test_select_of_a_vector_is_0_d():
    out, grad = forward_backward(nn.Select(0, 2), np.arange(4.0), np.array(5.0))
    assert out.shape == () and out == 2.0
    np.testing.assert_array_equal(grad, [0, 0, 5, 0])


def test_select_out_of_range():
    with pytest.raises(IndexError, match=r"Select\(1, 4\): index 4 out of range for dim 1 of size 4 "
                                         r"\(input of shape \(3, 4\)\)"):
        nn.Select(1, 4).forward(np.zeros((3, 4)))
    with pytest.raises(IndexError, match=r"Select\(2, 0\): dim 2 out of range"):
        nn.Select(2, 0).forward(np.zeros((3, 4)))


def test_shape_modules_reject_non_arrays():
    with pytest.raises(TypeError, match=r"View\(2\): expected a NumPy array, got list"):
        nn.View(2).forward([1.0, 2.0])
