"""SparseLinear and IndexLinear beyond the catalog: Torch's other input forms, PyTorch conformance of
IndexLinear, and refusals."""

import numpy as np
import pytest

from ember import nn
from ember.errors import InputError, InputIndexError, InputTypeError


def test_sparse_linear_is_the_dense_linear_map():
    module = nn.SparseLinear(6, 3, rng=0)
    x = np.array([[0, 0.5], [4, -1.0], [0, 2.0]])
    dense = np.zeros(6)
    np.add.at(dense, [0, 4, 0], [0.5, -1.0, 2.0])
    np.testing.assert_allclose(module.forward(x), module.weight @ dense + module.bias)


def test_sparse_linear_table_batch_matches_the_examples():
    module = nn.SparseLinear(6, 3, rng=0)
    rng = np.random.default_rng(1)
    batch = [np.array([[1, 0.3], [5, -2.0]]), np.array([[2, 1.0]]), np.array([[0, 0.1], [0, 0.2], [3, 4.0]])]
    grad_out = rng.standard_normal((3, 3))
    out = module.forward(batch).copy()
    grads = [g.copy() for g in module.backward(batch, grad_out)]
    grad_weight = module.gradWeight.copy()
    module.zeroGradParameters()
    for i, example in enumerate(batch):
        np.testing.assert_allclose(module.forward(example), out[i])
        np.testing.assert_allclose(module.backward(example, grad_out[i]), grads[i])
        assert np.all(grads[i][:, 0] == 0)
    np.testing.assert_allclose(module.gradWeight, grad_weight)


def test_sparse_linear_input_gradient_can_be_switched_off():
    module = nn.SparseLinear(6, 3, rng=0)
    module.gradInput = None  # Torch's doGradInput = false
    x = np.array([[1, 0.5]])
    module.forward(x)
    assert module.backward(x, np.ones(3)) is None and module.gradWeight[:, 1].tolist() == [0.5] * 3


@pytest.mark.parametrize(("x", "error", "match"), [
    (np.array([[6, 1.0]]), InputIndexError, r"SparseLinear\(6 -> 3\): index 6 out of range"),
    (np.array([[-1, 1.0]]), InputIndexError, "index -1 out of range"),
    (np.array([[1.5, 1.0]]), InputError, "whole numbers"),
    (np.ones((2, 3)), InputError, r"shape \(nnz, 2\)"),
])
def test_sparse_linear_refuses_bad_pairs(x, error, match):
    with pytest.raises(error, match=match):
        nn.SparseLinear(6, 3).forward(x)


def _torch_index_linear(torch, module, keys, values, sizes):
    weight = torch.from_numpy(module.weight.copy()).requires_grad_(True)
    bias = torch.from_numpy(module.bias.copy()).requires_grad_(True)
    values_t = torch.from_numpy(values).requires_grad_(True)
    rows = torch.from_numpy(keys + module.keys_offset)
    examples = torch.repeat_interleave(torch.arange(len(sizes)), torch.from_numpy(sizes))
    out = torch.zeros(len(sizes), module.n_out, dtype=weight.dtype)
    out = out.index_add(0, examples, weight[rows] * values_t[:, None])
    return out + bias, (values_t, weight, bias)


@pytest.mark.parametrize("form", ["single", "table", "flat"])
def test_index_linear_conforms_to_a_torch_scatter(torch, form):
    module = nn.IndexLinear(8, 3, keys_offset=1, rng=0)
    rng = np.random.default_rng(1)
    keys = [np.array([0, 6, 3, 6]), np.array([2]), np.array([5, 1])]
    values = [rng.standard_normal(len(k)) for k in keys]
    if form == "single":
        keys, values = keys[:1], values[:1]
    flat_keys, flat_values = np.concatenate(keys), np.concatenate(values)
    sizes = np.array([len(k) for k in keys])
    x = {"single": [keys[0], values[0]], "table": [keys, values], "flat": [flat_keys, flat_values, sizes]}[form]
    out_t, leaves_t = _torch_index_linear(torch, module, flat_keys, flat_values, sizes)
    grad_out = rng.standard_normal(tuple(out_t.shape))
    grads_t = torch.autograd.grad(out_t, leaves_t, torch.from_numpy(grad_out))
    out = module.forward(x)
    if form == "single":
        out_t, grad_out = out_t[0], grad_out[0]
    np.testing.assert_allclose(out, out_t.detach().numpy(), rtol=1e-12)
    grad_in = module.backward(x, grad_out)
    grad_values = np.concatenate(grad_in[1]) if form == "table" else grad_in[1]
    np.testing.assert_allclose(grad_values, grads_t[0].numpy(), rtol=1e-12)
    np.testing.assert_allclose(module.gradWeight, grads_t[1].numpy(), rtol=1e-12)
    np.testing.assert_allclose(module.gradBias, grads_t[2].numpy(), rtol=1e-12)


def test_index_linear_starts_at_zero_as_torch_and_refuses_bad_keys():
    module = nn.IndexLinear(5, 2)
    assert not module.weight.any() and not module.bias.any()
    with pytest.raises(InputIndexError, match=r"IndexLinear\(5 -> 2\): index 5 out of range"):
        module.forward([np.array([1, 5]), np.ones(2)])
    with pytest.raises(InputTypeError, match="IndexLinear.*integer keys"):
        module.forward([np.array([1.0, 2.0]), np.ones(2)])
    with pytest.raises(InputError, match="IndexLinear.*sizes"):
        module.forward([np.array([1, 2]), np.ones(2), np.array([3])])


def test_index_linear_normalize_is_torch_s_max_normalisation(torch):
    module = nn.IndexLinear(5, 2, normalize=True, rng=0)
    module.shift[...] = [0.1, -0.2, 0.3, 0.0, 0.5]
    keys, values = np.array([0, 3, 0, 4]), np.array([2.0, -0.5, -4.0, 0.0])
    module.forward([keys, values])  # training: the largest |v| per feature so far, updated before use
    np.testing.assert_array_equal(module.max_abs, [4.0, 0.0, 0.0, 0.5, 0.0])
    module.evaluate()
    values = np.array([1.0, -0.25, -6.0, 3.0])  # -6 on feature 0 and 3 on feature 4 (max 0) are clamped to ±1
    weight = torch.from_numpy(module.weight.copy()).requires_grad_(True)
    shift = torch.from_numpy(module.shift.copy()).requires_grad_(True)
    values_t = torch.from_numpy(values).requires_grad_(True)
    largest = torch.from_numpy(module.max_abs[keys])
    inverse = torch.where(largest > 0, 1 / largest, torch.zeros_like(largest))
    unit = torch.where(values_t.abs() > largest, torch.sign(values_t), values_t * inverse) + shift[keys]
    out_t = (weight[keys] * unit[:, None]).sum(dim=0) + torch.from_numpy(module.bias)
    grad_out = np.array([0.7, -1.3])
    grads_t = torch.autograd.grad(out_t, (values_t, weight, shift), torch.from_numpy(grad_out))
    np.testing.assert_allclose(module.forward([keys, values]), out_t.detach().numpy(), rtol=1e-12)
    grad_in = module.backward([keys, values], grad_out)
    for mine, theirs in zip((grad_in[1], module.gradWeight, module.gradShift), grads_t):
        np.testing.assert_allclose(mine, theirs.numpy(), rtol=1e-12, atol=1e-15)
    np.testing.assert_array_equal(module.max_abs, [4.0, 0.0, 0.0, 0.5, 0.0])  # evaluation keeps it
