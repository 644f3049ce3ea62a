"""LookupTable's Torch options against PyTorch's ``embedding`` (padding_idx, max_norm, norm_type,
scale_grad_by_freq), and its index checks.

They stay out of the Jacobian catalog on purpose: with them the backward is not the forward's Jacobian
(the padding row gets no gradient, frequencies rescale it, and max_norm changes the weight in the forward).
"""

import math

import numpy as np
import pytest

from ember import nn
from ember.errors import InputError, InputIndexError

INDICES = {"single": np.array([0, 3, 1, 3, 3, 4]), "batch": np.array([[0, 3, 1], [3, 4, 4]])}
OPTIONS = [
    {"padding_value": 3},
    {"scale_grad_by_freq": True},
    {"max_norm": 1.0},
    {"max_norm": 0.8, "norm_type": 1.0},
    {"max_norm": 0.5, "norm_type": math.inf},
    {"padding_value": 4, "max_norm": 1.2, "scale_grad_by_freq": True},
]


def _torch_options(options):
    return {"padding_idx": options.get("padding_value"), "max_norm": options.get("max_norm"),
            "norm_type": options.get("norm_type", 2.0), "scale_grad_by_freq": options.get("scale_grad_by_freq", False)}


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("mode", ["single", "batch"])
@pytest.mark.parametrize("options", OPTIONS, ids=lambda o: ",".join(f"{k}={v}" for k, v in o.items()))
def test_options_conform_to_pytorch_embedding(torch, options, mode, dtype):
    module = nn.LookupTable(6, 3, **options, rng=0).type(dtype)
    weight = torch.from_numpy(module.weight.copy()).requires_grad_(True)
    x = INDICES[mode]
    grad_out = np.random.default_rng(1).standard_normal(x.shape + (3,)).astype(dtype)
    out_t = torch.nn.functional.embedding(torch.from_numpy(x), weight, **_torch_options(options))
    out_t.backward(torch.from_numpy(grad_out))
    out = module.forward(x)
    module.backward(x, grad_out, scale=2.0)
    rtol = 1e-12 if dtype == np.float64 else 1e-5
    assert out.dtype == module.gradWeight.dtype == dtype
    np.testing.assert_allclose(out, out_t.detach().numpy(), rtol=rtol)
    np.testing.assert_allclose(module.weight, weight.detach().numpy(), rtol=rtol)  # max_norm renormed both
    np.testing.assert_allclose(module.gradWeight, 2.0 * weight.grad.numpy(), rtol=rtol, atol=1e-7)


def test_max_norm_only_touches_the_rows_looked_up():
    module = nn.LookupTable(5, 4, max_norm=0.5, rng=0)
    before = module.weight.copy()
    module.forward(np.array([1, 1, 3]))
    norms = np.linalg.norm(module.weight, axis=1)
    assert np.all(norms[[1, 3]] <= 0.5) and np.array_equal(module.weight[[0, 2, 4]], before[[0, 2, 4]])


@pytest.mark.parametrize("index", [-1, 5, 10**12])
def test_an_index_out_of_range_is_refused_naming_the_module(index):
    module = nn.LookupTable(5, 3)
    with pytest.raises(InputIndexError, match=rf"LookupTable\(5 -> 3\): index {index} out of range"):
        module.forward(np.array([[0, 1], [index, 2]]))


def test_settings_are_checked_and_kept_by_config():
    module = nn.LookupTable(5, 3).setPadding(2).setMaxNorm(1.5).setNormType(1).scaleGradByFreq()
    assert nn.LookupTable.from_config(module.config()).config() == module.config()
    assert repr(module) == "nn.LookupTable(5 -> 3, padding_value=2, max_norm=1.5, p=1, scale_grad_by_freq)"
    with pytest.raises(InputIndexError, match="LookupTable.*padding_value"):
        nn.LookupTable(5, 3, padding_value=5)
    with pytest.raises(InputError, match="LookupTable.*max_norm"):
        nn.LookupTable(5, 3, max_norm=-1.0)
