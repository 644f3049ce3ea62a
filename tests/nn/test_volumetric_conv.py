"""Volumetric and temporal convolutions beyond the catalog: Torch's default initialisation, refusals naming
the module, the gradInput switch, and the shapes of a one-example input."""

import math

import numpy as np
import pytest

from ember import nn
from ember.errors import InputError


@pytest.mark.parametrize(("module", "bound"), [
    (nn.VolumetricConvolution(3, 4, 2, 3, 4, rng=0), 1 / math.sqrt(3 * 2 * 3 * 4)),
    (nn.VolumetricFullConvolution(3, 4, 2, 3, 4, rng=0), 1 / math.sqrt(3 * 2 * 3 * 4)),
    (nn.TemporalSubSampling(5, 4, rng=0), 1 / math.sqrt(4)),
    (nn.TemporalRowConvolution(5, 4, rng=0), 1 / math.sqrt(4 * 5)),
], ids=lambda v: type(v).__name__ if isinstance(v, nn.Module) else "")
def test_default_initialisation_is_torchs(module, bound):
    weight = module.weight
    assert np.abs(weight).max() <= bound and np.abs(weight).max() > 0.5 * bound
    module.reset(1, stdv=0.01)
    assert np.abs(module.weight).max() <= 0.01 and np.abs(module.bias).max() <= 0.01


def test_refusals_name_the_module():
    with pytest.raises(InputError, match=r"VolumetricConvolution.*\(2, T, H, W\)"):
        nn.VolumetricConvolution(2, 1, 2, 2, 2).forward(np.zeros((3, 4, 4, 4)))
    with pytest.raises(InputError, match="empty output"):
        nn.VolumetricDilatedConvolution(1, 1, 2, 2, 2, dilationT=3).forward(np.zeros((1, 3, 4, 4)))
    with pytest.raises(InputError, match="VolumetricFullConvolution.*adj"):
        nn.VolumetricFullConvolution(1, 1, 2, 2, 2, 2, 2, 2, adjT=2)
    with pytest.raises(InputError, match=r"dT must be an integer >= 1 \(a size\), got 0"):
        nn.VolumetricConvolution(1, 1, 2, 2, 2, dT=0)
    with pytest.raises(InputError, match=r"TemporalSubSampling.*\(T, 3\)"):
        nn.TemporalSubSampling(3, 2).forward(np.zeros((5, 4)))
    with pytest.raises(InputError, match="fewer than the kernel width"):
        nn.TemporalRowConvolution(3, 4, feat_first=True).forward(np.zeros((3, 3)))
    with pytest.raises(TypeError, match="dtype"):
        nn.VolumetricConvolution(1, 1, 1, 1, 1).forward(np.zeros((1, 2, 2, 2), dtype=np.float32))


@pytest.mark.parametrize("cls", [nn.VolumetricConvolution, nn.VolumetricFullConvolution])
def test_switched_off_grad_input_still_accumulates_parameter_gradients(cls):
    rng = np.random.default_rng(0)
    x = rng.standard_normal((2, 2, 3, 3, 3))
    module, twin = cls(2, 3, 2, 2, 2, rng=1), cls(2, 3, 2, 2, 2, rng=1)
    grad = rng.standard_normal(module.forward(x).shape)
    twin.forward(x)
    twin.backward(x, grad)
    module.gradInput = None
    assert module.backward(x, grad) is None
    np.testing.assert_allclose(module.gradWeight, twin.gradWeight)
    np.testing.assert_allclose(module.gradBias, twin.gradBias)


def test_one_example_has_no_batch_dimension():
    assert nn.VolumetricFullConvolution(2, 3, 3, 3, 3, 2, 2, 2, 1, 1, 1, 1, 1, 1).forward(
        np.ones((2, 2, 3, 4))).shape == (3, 4, 6, 8)
    assert nn.TemporalRowConvolution(4, 3, 2, feat_first=True).forward(np.ones((4, 9))).shape == (4, 4)
    assert nn.TemporalSubSampling(4, 3, 2).forward(np.ones((9, 4))).shape == (4, 4)


def test_full_convolution_takes_its_adjustments_from_a_like_table():
    module = nn.VolumetricFullConvolution(2, 1, 3, 3, 3, 2, 2, 2, 1, 1, 1)
    x = np.random.default_rng(0).standard_normal((2, 2, 3, 4))
    out = module.forward([x, np.zeros((4, 5, 8))])
    assert out.shape == (1, 4, 5, 8)  # adj (1, 0, 1): exactly like's size
    np.testing.assert_array_equal(out[:, :3, :5, :7], module.clone().forward(x))
    grad = module.backward([x, np.zeros((4, 5, 8))], np.ones(out.shape))
    assert grad[0].shape == x.shape and not grad[1].any()
    with pytest.raises(InputError, match=r"table \[input, like\]"):
        module.forward([x])
