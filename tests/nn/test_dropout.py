"""Dropout and SpatialDropout: masks, scaling, evaluation mode, seeding, fixed-mask gradient checks."""

import numpy as np
import pytest

from ember import nn, random
from ember.check import jacobian


def test_training_zeroes_and_rescales():
    module = nn.Dropout(0.25, rng=np.random.default_rng(0))
    x = np.random.default_rng(1).uniform(1, 2, 20000)
    out = module.forward(x)
    kept = out != 0
    np.testing.assert_allclose(out[kept], x[kept] / 0.75)
    assert abs((~kept).mean() - 0.25) < 0.01
    assert abs(out.mean() - x.mean()) < 0.02  # inverted dropout keeps the expectation
    np.testing.assert_array_equal(module.noise, kept / 0.75)


def test_backward_uses_the_mask_of_the_forward():
    module = nn.Dropout(0.5, rng=np.random.default_rng(0))
    x = np.ones((4, 50))
    out = module.forward(x).copy()
    g = np.random.default_rng(2).standard_normal(x.shape)
    np.testing.assert_array_equal(module.backward(x, g), g * out)  # out is the scaled mask itself


def test_evaluation_mode_is_the_identity():
    module = nn.Dropout(0.9).evaluate()
    x = np.random.default_rng(0).standard_normal((3, 4))
    out = module.forward(x)
    np.testing.assert_array_equal(out, x)
    assert out is not x
    np.testing.assert_array_equal(module.backward(x, 2 * x), 2 * x)
    module.training()
    assert np.any(module.forward(x) == 0)


def test_p_zero_keeps_everything():
    x = np.random.default_rng(0).standard_normal(100)
    np.testing.assert_array_equal(nn.Dropout(0.0).forward(x), x)


def test_seeded_masks_are_reproducible():
    x = np.ones(64)
    first = nn.Dropout(0.5, rng=np.random.default_rng(7)).forward(x).copy()
    second = nn.Dropout(0.5, rng=np.random.default_rng(7)).forward(x).copy()
    np.testing.assert_array_equal(first, second)
    random.manual_seed(3)
    library_first = nn.Dropout(0.5).forward(x).copy()
    random.manual_seed(3)
    np.testing.assert_array_equal(nn.Dropout(0.5).forward(x), library_first)


def test_a_new_mask_each_forward_unless_resample_is_off():
    x = np.ones(64)
    module = nn.Dropout(0.5, rng=np.random.default_rng(0))
    assert not np.array_equal(module.forward(x).copy(), module.forward(x))
    frozen = nn.Dropout(0.5, rng=np.random.default_rng(0), resample=False)
    first = frozen.forward(x).copy()
    np.testing.assert_array_equal(frozen.forward(2 * x), 2 * first)
    assert frozen.forward(np.ones(10)).shape == (10,)  # a new shape draws a new mask
    assert repr(frozen) == "nn.Dropout(0.5, resample=False)"


def test_gradient_check_with_a_fixed_mask():
    module = nn.Dropout(0.4, rng=np.random.default_rng(0), resample=False)
    x = np.random.default_rng(1).standard_normal((3, 5))
    analytic, numeric = jacobian(module, x)
    np.testing.assert_allclose(analytic, numeric, atol=1e-8)
    np.testing.assert_allclose(analytic, np.diag(module.noise.ravel()), atol=1e-8)
    assert 0 < np.count_nonzero(module.noise) < module.noise.size


def test_spatial_dropout_drops_whole_channels():
    module = nn.SpatialDropout(0.5, rng=np.random.default_rng(0))
    x = np.random.default_rng(1).uniform(1, 2, (8, 6, 3, 3))
    out = module.forward(x)
    assert module.noise.shape == (8, 6, 1, 1)
    dropped = np.all(out == 0, axis=(2, 3))
    kept = np.all(out != 0, axis=(2, 3))
    assert np.all(dropped | kept) and dropped.any() and kept.any()
    np.testing.assert_allclose(out[kept], 2 * x[kept])
    g = np.ones_like(x)
    np.testing.assert_array_equal(module.backward(x, g), np.broadcast_to(module.noise, x.shape))
    assert module.forward(x[0]).shape == (6, 3, 3) and module.noise.shape == (6, 1, 1)


def test_spatial_dropout_gradient_check_with_a_fixed_mask():
    module = nn.SpatialDropout(0.5, rng=np.random.default_rng(3), resample=False)
    x = np.random.default_rng(1).standard_normal((2, 3, 2, 2))
    analytic, numeric = jacobian(module, x)
    np.testing.assert_allclose(analytic, numeric, atol=1e-8)
    np.testing.assert_allclose(np.diag(analytic), np.broadcast_to(module.noise, x.shape).ravel(), atol=1e-8)


def test_float32_masks():
    module = nn.Dropout(0.5, rng=np.random.default_rng(0))
    x = np.ones((4, 4), dtype=np.float32)
    assert module.forward(x).dtype == np.float32 and module.noise.dtype == np.float32
    assert module.backward(x, x).dtype == np.float32


def test_errors():
    with pytest.raises(ValueError, match=r"Dropout: p must be in \[0, 1\), got 1"):
        nn.Dropout(1)
    with pytest.raises(ValueError, match=r"SpatialDropout: p must be in \[0, 1\), got -0.1"):
        nn.SpatialDropout(-0.1)
    with pytest.raises(ValueError, match=r"SpatialDropout\(0.5\): expected input of shape \(C, H, W\) or "
                                         r"\(batch, C, H, W\), got \(4, 4\)"):
        nn.SpatialDropout().forward(np.ones((4, 4)))
