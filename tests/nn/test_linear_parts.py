"""What the catalog does not cover for distance.py, bilinear.py, linear_parts.py, weightnorm.py and
layernorm.py: refusals naming the module, settings, conversions and the parameters each declares."""

import numpy as np
import pytest

from ember import io, nn
from ember.errors import InputError, InputIndexError, InputTypeError


@pytest.mark.parametrize("module", [nn.Cosine(4, 3), nn.Euclidean(4, 3), nn.WeightedEuclidean(4, 3),
                                    nn.PartialLinear(4, 3), nn.Maxout(4, 3, 2), nn.LinearWeightNorm(4, 3),
                                    nn.LayerNormalization(4)], ids=lambda m: type(m).__name__)
def test_wrong_size_is_refused_naming_the_module(module):
    with pytest.raises(InputError, match=type(module).__name__ + r".*expected .*got \(2, 5\)"):
        module.forward(np.ones((2, 5)))


def test_bilinear_refuses_what_is_not_a_pair_of_matching_arrays():
    module = nn.Bilinear(3, 2, 4)
    with pytest.raises(InputTypeError, match="Bilinear"):
        module.forward(np.ones((5, 3)))
    with pytest.raises(InputError, match=r"Bilinear.*got \(5, 3\) and \(4, 2\)"):
        module.forward([np.ones((5, 3)), np.ones((4, 2))])


def test_euclidean_at_a_template_has_a_finite_zero_gradient():
    module = nn.WeightedEuclidean(3, 2, rng=0)
    x = module.weight[:, 0].copy()
    out = module.forward(x)
    assert out[0] == 0
    grad = module.backward(x, np.ones(2))
    assert np.all(np.isfinite(grad)) and np.all(np.isfinite(module.gradDiagCov))


def test_partial_linear_partition_is_checked_kept_and_reset():
    layer = nn.PartialLinear(4, 5, rng=0)
    with pytest.raises(InputIndexError, match=r"PartialLinear.*index 5 out of range"):
        layer.setPartition([1, 5])
    x = np.random.default_rng(1).standard_normal((2, 4))
    layer.bias[...] = np.arange(5.0)
    full = layer.forward(x).copy()
    np.testing.assert_allclose(layer.setPartition([3, 0]).forward(x), full[:, [3, 0]])
    rebuilt = nn.PartialLinear.from_config(layer.config())
    np.testing.assert_array_equal(rebuilt.partition, [3, 0])
    np.testing.assert_allclose(layer.resetPartition().forward(x), full)


def test_linear_weight_norm_converts_from_and_to_linear():
    linear = nn.Linear(4, 3, rng=0)
    x = np.random.default_rng(1).standard_normal((2, 4))
    module = nn.LinearWeightNorm.fromLinear(linear)
    np.testing.assert_allclose(module.forward(x), linear.forward(x), rtol=1e-12)
    np.testing.assert_allclose(module.toLinear().forward(x), linear.forward(x), rtol=1e-12)
    module.gradInput = None  # a first layer: no input gradient, parameter gradients still accumulate
    assert module.backward(x, np.ones((2, 3))) is None and np.any(module.gradG != 0)


def test_weight_norm_trains_v_g_and_the_bias_only():
    linear = nn.Linear(4, 3)
    module = nn.WeightNorm(linear, rng=0)
    params = module.parameters()[0]
    assert [p.shape for p in params] == [(3, 4), (3,), (3,)] and params[2] is linear.bias
    assert "weight" not in linear.declared_parameters() and "weight" in linear.declared_buffers()
    np.testing.assert_allclose(module.g, np.linalg.norm(module.v, axis=1))  # Torch's resetInit
    module.float()
    assert module.forward(np.ones((2, 4), dtype=np.float32)).dtype == np.float32
    with pytest.raises(InputTypeError, match="WeightNorm.*weight parameter"):
        nn.WeightNorm(nn.Tanh())
    with pytest.raises(InputError, match="WeightNorm.*output_dim"):
        nn.WeightNorm(nn.Linear(4, 3), output_dim=2)


def test_weight_norm_and_partition_survive_save_and_load(tmp_path):
    model = nn.Sequential(nn.WeightNorm(nn.Linear(4, 3), rng=0), nn.PartialLinear(3, 5, partition=[4, 2], rng=1))
    io.save(model, tmp_path / "model.ember")
    loaded = io.load(tmp_path / "model.ember")
    x = np.random.default_rng(2).standard_normal((2, 4))
    np.testing.assert_allclose(loaded.forward(x), model.forward(x), rtol=1e-12)


def test_layer_normalization_defaults_are_torch_s():
    module = nn.LayerNormalization(4, bias=0.5)
    np.testing.assert_array_equal(module.weight, 1.0)
    np.testing.assert_array_equal(module.bias, 0.5)
    assert nn.LayerNormalization(4, affine=False).parameters()[0] == []
    with pytest.raises(InputError, match="LayerNormalization.*eps"):
        nn.LayerNormalization(4, eps=-1.0)
