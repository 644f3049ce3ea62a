"""Batch normalisation: running statistics against PyTorch, training vs evaluation, state, errors."""

import numpy as np
import pytest

from ember import io, nn


@pytest.mark.parametrize(("cls", "shape"), [(nn.BatchNormalization, (6, 3)),
                                            (nn.SpatialBatchNormalization, (3, 3, 4, 2))])
@pytest.mark.parametrize("affine", [True, False])
def test_running_statistics_follow_pytorch_over_several_steps(torch, cls, shape, affine):
    rng = np.random.default_rng(0)
    module = cls(3, eps=1e-3, momentum=0.25, affine=affine)
    reference = (torch.nn.BatchNorm1d if cls is nn.BatchNormalization else torch.nn.BatchNorm2d)(
        3, eps=1e-3, momentum=0.25, affine=affine).double()
    if affine:
        module.weight[...] = rng.uniform(0.5, 1.5, 3)
        module.bias[...] = rng.standard_normal(3)
        with torch.no_grad():
            reference.weight.copy_(torch.tensor(module.weight))
            reference.bias.copy_(torch.tensor(module.bias))
    for _ in range(4):
        x = 3 * rng.standard_normal(shape) + rng.standard_normal(3).reshape((3,) + (1,) * (len(shape) - 2))
        x_t = torch.tensor(x, requires_grad=True)
        out_t = reference(x_t)
        g = rng.standard_normal(shape)
        out_t.backward(torch.tensor(g))
        module.zeroGradParameters()
        np.testing.assert_allclose(module.forward(x), out_t.detach().numpy(), rtol=1e-10, atol=1e-12)
        np.testing.assert_allclose(module.backward(x, g), x_t.grad.numpy(), rtol=1e-10, atol=1e-12)
        if affine:
            np.testing.assert_allclose(module.gradWeight, reference.weight.grad.numpy(), rtol=1e-10, atol=1e-12)
            np.testing.assert_allclose(module.gradBias, reference.bias.grad.numpy(), rtol=1e-10, atol=1e-12)
            reference.zero_grad()
        np.testing.assert_allclose(module.running_mean, reference.running_mean.numpy(), rtol=1e-12)
        np.testing.assert_allclose(module.running_var, reference.running_var.numpy(), rtol=1e-12)
    module.evaluate()
    reference.eval()
    x = rng.standard_normal(shape)
    np.testing.assert_allclose(module.forward(x), reference(torch.tensor(x)).detach().numpy(), rtol=1e-10, atol=1e-12)


def test_running_variance_is_unbiased_and_normalisation_biased():
    module = nn.BatchNormalization(1, eps=0.0, momentum=1.0)
    x = np.array([[1.0], [3.0]])  # mean 2, biased variance 1, unbiased variance 2
    np.testing.assert_allclose(module.forward(x), [[-1.0], [1.0]])
    assert module.running_mean[0] == 2.0 and module.running_var[0] == 2.0


def test_training_output_is_standardised_per_channel():
    rng = np.random.default_rng(1)
    x = 5 * rng.standard_normal((4, 2, 3, 3)) + 7
    out = nn.SpatialBatchNormalization(2, eps=0.0).forward(x)
    np.testing.assert_allclose(out.mean(axis=(0, 2, 3)), 0, atol=1e-12)
    np.testing.assert_allclose(out.var(axis=(0, 2, 3)), 1, rtol=1e-12)


def test_evaluation_uses_and_keeps_the_running_statistics():
    module = nn.BatchNormalization(2, eps=0.0)
    module.running_mean[...] = [1.0, -1.0]
    module.running_var[...] = [4.0, 0.25]
    module.weight[...] = [2.0, 1.0]
    module.bias[...] = [0.5, 0.0]
    module.evaluate()
    x = np.array([[3.0, 0.0], [1.0, -1.5]])
    np.testing.assert_allclose(module.forward(x), [[2.5, 2.0], [0.5, -1.0]])
    np.testing.assert_allclose(module.backward(x, np.ones((2, 2))), [[1.0, 2.0], [1.0, 2.0]])
    np.testing.assert_allclose(module.forward(x[0]), [2.5, 2.0])  # one example is fine when evaluating
    np.testing.assert_array_equal(module.running_mean, [1.0, -1.0])
    np.testing.assert_array_equal(module.running_var, [4.0, 0.25])


def test_initialisation_as_pytorch():
    module = nn.SpatialBatchNormalization(4)
    np.testing.assert_array_equal(module.weight, np.ones(4))
    np.testing.assert_array_equal(module.bias, np.zeros(4))
    np.testing.assert_array_equal(module.running_mean, np.zeros(4))
    np.testing.assert_array_equal(module.running_var, np.ones(4))
    assert nn.BatchNormalization(4, affine=False).parameters() == ([], [])


def test_float_converts_the_running_statistics():
    module = nn.SpatialBatchNormalization(2).float()
    assert module.running_mean.dtype == np.float32 and module.running_var.dtype == np.float32
    x = np.random.default_rng(0).standard_normal((2, 2, 3, 3)).astype(np.float32)
    assert module.forward(x).dtype == np.float32
    assert module.running_mean.dtype == np.float32
    assert module.double().running_var.dtype == np.float64


def test_running_statistics_are_saved_and_loaded(tmp_path):
    rng = np.random.default_rng(0)
    model = nn.Sequential()
    model.add(nn.SpatialBatchNormalization(2, momentum=0.5))
    model.add(nn.BatchNormalization(3, affine=False))
    model.get(0).forward(rng.standard_normal((3, 2, 2, 2)) + 4)
    model.get(1).forward(rng.standard_normal((5, 3)) * 3)
    loaded = io.load(io.save(model, tmp_path / "bn.safetensors"))
    for mine, theirs in zip(model.modules, loaded.modules):
        np.testing.assert_array_equal(theirs.running_mean, mine.running_mean)
        np.testing.assert_array_equal(theirs.running_var, mine.running_var)
    assert loaded.get(0).momentum == 0.5 and not loaded.get(1).affine


def test_errors_name_the_module():
    module = nn.BatchNormalization(3)
    with pytest.raises(ValueError, match=r"BatchNormalization\(3\): expected input of shape \(batch, 3\), or \(3\) "
                                         r"in evaluation mode, got \(4, 2\)"):
        module.forward(np.zeros((4, 2)))
    with pytest.raises(ValueError, match=r"BatchNormalization\(3\): training needs a batch \(batch, 3\), got \(3,\)"):
        module.forward(np.zeros(3))
    with pytest.raises(ValueError, match="more than one value per feature"):
        module.forward(np.zeros((1, 3)))
    with pytest.raises(TypeError, match=r"BatchNormalization\(3, affine=False\): expected input of dtype float64"):
        nn.BatchNormalization(3, affine=False).forward(np.zeros((2, 3), dtype=np.float32))
    spatial = nn.SpatialBatchNormalization(2)
    with pytest.raises(ValueError, match=r"SpatialBatchNormalization\(2\): expected input of shape \(batch, 2, H, W\)"):
        spatial.forward(np.zeros((2, 3, 4, 4)))
    assert spatial.forward(np.ones((1, 2, 2, 1))).shape == (1, 2, 2, 1)  # one image, several positions


def test_repr_shows_non_default_settings():
    assert repr(nn.BatchNormalization(10)) == "nn.BatchNormalization(10)"
    assert repr(nn.SpatialBatchNormalization(4, 1e-3, 0.2, False)) == \
        "nn.SpatialBatchNormalization(4, eps=0.001, momentum=0.2, affine=False)"
