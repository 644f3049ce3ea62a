"""Module.replace, Module.accUpdateGradParameters and Module.sharedClone (Torch's)."""

import numpy as np

from ember import nn


def net(rng=None):
    rng = rng or np.random.default_rng(0)
    return nn.Sequential(nn.Linear(3, 4, rng=rng), nn.Dropout(0.5), nn.Tanh(), nn.Linear(4, 2, rng=rng))


def test_replace_swaps_modules_through_the_tree():
    model = net()
    out = model.replace(lambda m: nn.Identity() if isinstance(m, nn.Dropout) else m)
    assert out is model
    assert [type(m).__name__ for m in model.modules] == ["Linear", "Identity", "Tanh", "Linear"]


def test_acc_update_equals_a_gradient_step_and_leaves_gradients_alone():
    x, g = np.random.default_rng(1).standard_normal((5, 3)), np.random.default_rng(2).standard_normal((5, 2))
    a, b = net().evaluate(), net().evaluate()
    for m in (a, b):
        m.zeroGradParameters()
        m.forward(x)
    b.backward(x, g)
    b.updateParameters(0.1)
    a.updateGradInput(x, g)
    a.accUpdateGradParameters(x, g, 0.1)
    for pa, pb in zip(a.parameters()[0], b.parameters()[0]):
        np.testing.assert_allclose(pa, pb, rtol=1e-12, atol=1e-14)
    assert all(not grad.any() for grad in a.parameters()[1])


def test_shared_clone_shares_parameters_and_gradients():
    model = net()
    twin = model.sharedClone()
    assert twin.get(0).weight is model.get(0).weight and twin.get(3).gradBias is model.get(3).gradBias
    apart = model.sharedClone(shareGradParams=False)
    assert apart.get(0).weight is model.get(0).weight and apart.get(0).gradWeight is not model.get(0).gradWeight


def test_spatial_convolution_skips_its_input_gradient_when_switched_off():
    rng = np.random.default_rng(0)
    on, off = nn.SpatialConvolution(2, 3, 3, 3, rng=np.random.default_rng(4)), nn.SpatialConvolution(
        2, 3, 3, 3, rng=np.random.default_rng(4))
    off.gradInput = None
    x, g = rng.standard_normal((2, 2, 5, 5)), rng.standard_normal((2, 3, 3, 3))
    for m in (on, off):
        m.zeroGradParameters()
        m.forward(x)
    assert off.backward(x, g) is None and on.backward(x, g) is not None
    np.testing.assert_allclose(off.gradWeight, on.gradWeight, rtol=1e-12)
    np.testing.assert_allclose(off.gradBias, on.gradBias, rtol=1e-12)
