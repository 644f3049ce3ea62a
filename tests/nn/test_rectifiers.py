"""ember/nn/rectifiers.py: values at the kinks, RReLU's training and evaluation, CReLU's layout, errors.

Jacobians, batches, float32 and PyTorch conformance are in the catalog (catalog_rectifiers.py).
"""

import numpy as np
import pytest

from ember import nn


def test_relu6_clips_and_has_zero_gradient_at_both_kinks():
    x = np.array([-1.0, 0.0, 3.0, 6.0, 7.0])
    m = nn.ReLU6()
    np.testing.assert_array_equal(m.forward(x), [0, 0, 3, 6, 6])
    np.testing.assert_array_equal(m.backward(x, np.ones(5)), [0, 0, 1, 0, 0])


def test_shrinks():
    x = np.array([-2.0, -0.5, 0.1, 0.5, 2.0])
    np.testing.assert_array_equal(nn.HardShrink().forward(x), [-2, 0, 0, 0, 2])
    np.testing.assert_allclose(nn.SoftShrink().forward(x), [-1.5, 0, 0, 0, 1.5])
    np.testing.assert_allclose(nn.TanhShrink().forward(x), x - np.tanh(x))
    with pytest.raises(ValueError, match=r"HardShrink\(-1\): lambd must be >= 0"):
        nn.HardShrink(-1)


def test_rrelu_training_draws_seeded_slopes_in_range_and_evaluation_uses_their_mean():
    x = -np.ones(1000)
    a = nn.RReLU(0.1, 0.3, rng=np.random.default_rng(5))
    b = nn.RReLU(0.1, 0.3, rng=np.random.default_rng(5))
    y = a.forward(x).copy()
    np.testing.assert_array_equal(y, b.forward(x))
    assert -0.3 <= y.min() and y.max() <= -0.1 and np.unique(y).size > 900
    np.testing.assert_array_equal(a.backward(x, np.ones(1000)), -y)
    assert not np.array_equal(a.forward(x), y)  # resampled at each forward
    a.evaluate()
    np.testing.assert_allclose(a.forward(np.array([-2.0, 3.0])), [-0.4, 3.0])
    np.testing.assert_allclose(a.backward(np.array([-2.0, 3.0]), np.ones(2)), [0.2, 1.0])
    with pytest.raises(ValueError, match="RReLU.*lower <= upper"):
        nn.RReLU(0.5, 0.1)


def test_rrelu_positive_inputs_pass_through_and_fixed_slopes_stay():
    m = nn.RReLU(rng=np.random.default_rng(0), resample=False)
    x = np.array([-1.0, 2.0, -3.0])
    y = m.forward(x).copy()
    assert y[1] == 2.0
    np.testing.assert_array_equal(m.forward(x), y)


def test_crelu_concatenates_along_the_feature_dimension():
    x = np.array([[1.0, -2.0], [-3.0, 4.0]])
    y = nn.CReLU().forward(x)
    np.testing.assert_array_equal(y, [[1, 0, 0, 2], [0, 4, 3, 0]])
    assert nn.CReLU(3).forward(np.ones((2, 3, 4, 5))).shape == (2, 6, 4, 5)
    with pytest.raises(ValueError, match=r"CReLU\(n_input_dims=3\): expected a 3-D input"):
        nn.CReLU(3).forward(np.ones(4))
