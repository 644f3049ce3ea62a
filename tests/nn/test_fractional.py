"""Fractional max pooling: the window formula, given and drawn samples, PyTorch with given samples in float64
and float32, and the refusals (the catalog covers Jacobians, the protocol and conformance with drawn samples)."""

import numpy as np
import pytest

from ember import nn
from ember.errors import InputError
from ember.nn.fractional import interval_starts


def test_interval_starts_follow_the_thnn_formula():
    u, n, m, k = 0.3, 10, 4, 3
    alpha = (n - k) / (m - 1)
    expected = [int((i + u) * alpha) - int(u * alpha) for i in range(m - 1)] + [n - k]
    assert interval_starts(np.array([u]), n, m, k)[0].tolist() == expected
    assert interval_starts(np.array([0.9]), 5, 1, 2).tolist() == [[3]]  # one window: the last start


def _torch_pool(torch, x, module, samples):
    dims = module.n_dims
    pool = torch.nn.functional.fractional_max_pool2d if dims == 2 else torch.nn.functional.fractional_max_pool3d
    batched = x.ndim == dims + 2
    x_t = torch.from_numpy(x if batched else x[None]).requires_grad_(True)
    out, indices = pool(x_t, module.pool, output_size=module.output.shape[-dims:], return_indices=True,
                        _random_samples=torch.from_numpy(samples))
    return x_t, out, indices


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize(("make", "shape", "sample_shape"), [
    (lambda: nn.SpatialFractionalMaxPooling(3, 2, 5, 1), (3, 2, 9, 7), (3, 2, 2)),
    (lambda: nn.SpatialFractionalMaxPooling(2, 2, 0.6, 0.75), (2, 8, 10), (1, 2, 2)),
    (lambda: nn.VolumetricFractionalMaxPooling(2, 3, 2, 3, 2, 4), (2, 2, 6, 7, 6), (2, 2, 3)),
], ids=["spatial sizes", "spatial ratios, one example", "volumetric"])
def test_given_samples_match_pytorch(torch, make, shape, sample_shape, dtype):
    rng = np.random.default_rng(3)
    x = rng.standard_normal(shape).astype(dtype)
    samples = rng.random(sample_shape).astype(dtype)
    module = make().setRandomSamples(samples).type(dtype)
    out = module.forward(x)
    x_t, out_t, indices_t = _torch_pool(torch, x, module, samples)
    np.testing.assert_array_equal(out, out_t.detach().numpy().reshape(out.shape))
    np.testing.assert_array_equal(module.indices, indices_t.numpy().reshape(out.shape))
    grad = rng.standard_normal(out.shape).astype(dtype)
    (grad_t,) = torch.autograd.grad(out_t, [x_t], torch.from_numpy(grad.reshape(out_t.shape)))
    np.testing.assert_allclose(module.backward(x, grad), grad_t.numpy().reshape(x.shape), rtol=1e-6)
    assert module.backward(x, grad).dtype == dtype


def test_samples_are_redrawn_unless_the_regions_are_fixed():
    x = np.random.default_rng(0).standard_normal((4, 12, 12))
    pool = nn.SpatialFractionalMaxPooling(2, 2, 5, 5, rng=1)
    pool.forward(x)
    first = pool.randomSamples.copy()
    pool.forward(x)
    assert not np.array_equal(first, pool.randomSamples)
    pool.fixPoolingRegions()
    kept = pool.randomSamples.copy()
    pool.forward(x)
    np.testing.assert_array_equal(kept, pool.randomSamples)
    pool.forward(np.stack([x, x]))  # a batch of two: new samples, (2, 4, 2)
    assert pool.randomSamples.shape == (2, 4, 2)
    same = nn.SpatialFractionalMaxPooling(2, 2, 5, 5, rng=1)
    np.testing.assert_array_equal(same.forward(x), nn.SpatialFractionalMaxPooling(2, 2, 5, 5, rng=1).forward(x))


def test_refusals_name_the_module():
    with pytest.raises(InputError, match="SpatialFractionalMaxPooling.*at least 2"):
        nn.SpatialFractionalMaxPooling(1, 2, 3, 3)
    with pytest.raises(InputError, match="ratios"):
        nn.SpatialFractionalMaxPooling(2, 2, 0.5, 3)
    pool = nn.SpatialFractionalMaxPooling(2, 2, 4, 4)
    with pytest.raises(InputError, match=r"needs an input of at least \(5, 5\)"):
        pool.forward(np.zeros((1, 4, 6)))
    with pytest.raises(InputError, match="expected input of shape"):
        pool.forward(np.zeros((6, 6)))
    with pytest.raises(InputError, match="in \\[0, 1\\)"):
        pool.setRandomSamples(np.ones((1, 1, 2)))
    with pytest.raises(InputError, match="shape \\(batch, planes, 3\\)"):
        nn.VolumetricFractionalMaxPooling(2, 2, 2, 2, 2, 2).setRandomSamples(np.zeros((1, 1, 2)))
    pool.setRandomSamples(np.zeros((1, 3, 2)))
    with pytest.raises(InputError, match="do not fit"):
        pool.forward(np.zeros((2, 3, 6, 6)))
    with pytest.raises(InputError, match="empty output"):
        nn.SpatialFractionalMaxPooling(2, 2, 0.1, 0.5).forward(np.zeros((1, 5, 5)))
