"""Activation modules: specific values, Torch behaviours, kinks, numerical stability and errors.

Jacobians, batch mode, float32 and PyTorch conformance are covered by the catalog
(catalog_activation.py); this file checks what the catalog cannot.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from ember import nn

ALL = [nn.Sigmoid, nn.Tanh, nn.ReLU, nn.ReQU, nn.LeakyReLU, nn.ELU, nn.PReLU, nn.SoftPlus, nn.SoftSign,
       nn.HardTanh, nn.Threshold, nn.LogSigmoid, nn.SoftMax, nn.LogSoftMax, nn.SoftMin]


def forward_backward(module, x, g=None):
    """Output and gradInput (copies) of one forward/backward pass."""
    out = module.forward(x).copy()
    g = np.ones_like(out) if g is None else g
    return out, module.backward(x, g).copy()


# -- element-wise values and kinks -------------------------------------------------------------

def test_sigmoid_and_tanh_values():
    y, dy = forward_backward(nn.Sigmoid(), np.array([0.0, 800.0, -800.0]))
    np.testing.assert_allclose(y, [0.5, 1.0, 0.0])
    np.testing.assert_allclose(dy, [0.25, 0.0, 0.0])
    y, dy = forward_backward(nn.Tanh(), np.array([0.0, 1.0]))
    np.testing.assert_allclose(y, [0.0, math.tanh(1.0)])
    np.testing.assert_allclose(dy, [1.0, 1 - math.tanh(1.0) ** 2])


def test_relu_is_threshold_zero_with_zero_gradient_at_the_kink():
    x = np.array([-2.0, 0.0, 3.0])
    y, dy = forward_backward(nn.ReLU(), x, np.array([5.0, 5.0, 5.0]))
    np.testing.assert_array_equal(y, [0.0, 0.0, 3.0])
    np.testing.assert_array_equal(dy, [0.0, 0.0, 5.0])
    assert isinstance(nn.ReLU(), nn.Threshold)
    assert repr(nn.ReLU()) == "nn.ReLU"


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_relu_keeps_nan_and_its_zeros_buffer_follows_the_input(dtype):
    """A diverging run must show: NaN stays NaN. Shape and dtype changes re-create the kept zeros."""
    relu = nn.ReLU()
    for x in (np.array([np.nan, -1.0, 2.0], dtype=dtype), np.array([[-np.inf, np.nan], [0.5, -0.0]], dtype=dtype)):
        y = relu.forward(x)
        assert y.dtype == dtype and y.shape == x.shape
        np.testing.assert_array_equal(y, np.where(x > 0, x, np.where(np.isnan(x), x, 0)))
    np.testing.assert_array_equal(relu.forward(np.array([-3.0, 4.0], dtype=dtype)), [0.0, 4.0])
    relu.clearState()
    np.testing.assert_array_equal(relu.forward(np.array([-3.0, 4.0], dtype=dtype)), [0.0, 4.0])


def test_requ_squares_positive_inputs_only():
    x = np.array([-1.5, 0.0, 0.5, 2.0])
    y, dy = forward_backward(nn.ReQU(), x, np.array([1.0, 1.0, 1.0, -3.0]))
    np.testing.assert_array_equal(y, [0.0, 0.0, 0.25, 4.0])
    np.testing.assert_array_equal(dy, [0.0, 0.0, 1.0, -12.0])


def test_threshold_replaces_values_at_or_below_the_threshold():
    y, dy = forward_backward(nn.Threshold(), np.array([1e-7, 1e-6, 2e-6, -1.0]))
    np.testing.assert_array_equal(y, [0.0, 0.0, 2e-6, 0.0])
    np.testing.assert_array_equal(dy, [0.0, 0.0, 1.0, 0.0])
    y, dy = forward_backward(nn.Threshold(1.0, -5.0), np.array([0.5, 1.0, 1.5]))
    np.testing.assert_array_equal(y, [-5.0, -5.0, 1.5])
    np.testing.assert_array_equal(dy, [0.0, 0.0, 1.0])
    assert repr(nn.Threshold(1.0, -5.0)) == "nn.Threshold(1, -5)"


def test_leaky_relu_slope():
    y, dy = forward_backward(nn.LeakyReLU(), np.array([-100.0, 0.0, 2.0]))
    np.testing.assert_allclose(y, [-1.0, 0.0, 2.0])
    np.testing.assert_allclose(dy, [0.01, 0.01, 1.0])
    y, _ = forward_backward(nn.LeakyReLU(2.0), np.array([-1.0, 1.0]))
    np.testing.assert_array_equal(y, [-2.0, 1.0])


def test_elu_saturates_at_minus_alpha():
    y, dy = forward_backward(nn.ELU(0.5), np.array([-50.0, -1.0, 0.0, 2.0]))
    np.testing.assert_allclose(y, [-0.5, 0.5 * math.expm1(-1.0), 0.0, 2.0])
    np.testing.assert_allclose(dy, [0.5 * math.exp(-50.0), 0.5 * math.exp(-1.0), 0.5, 1.0], atol=1e-15)


def test_softsign_values():
    y, dy = forward_backward(nn.SoftSign(), np.array([-3.0, 0.0, 1.0]))
    np.testing.assert_allclose(y, [-0.75, 0.0, 0.5])
    np.testing.assert_allclose(dy, [1 / 16, 1.0, 0.25])


def test_hardtanh_clips_and_stops_the_gradient_at_the_bounds():
    y, dy = forward_backward(nn.HardTanh(), np.array([-2.0, -1.0, 0.3, 1.0, 5.0]))
    np.testing.assert_array_equal(y, [-1.0, -1.0, 0.3, 1.0, 1.0])
    np.testing.assert_array_equal(dy, [0.0, 0.0, 1.0, 0.0, 0.0])
    y, _ = forward_backward(nn.HardTanh(0.0, 6.0), np.array([-1.0, 7.0]))
    np.testing.assert_array_equal(y, [0.0, 6.0])


def test_hardtanh_bounds_must_be_ordered():
    with pytest.raises(ValueError, match=r"HardTanh\(1, 1\): max_value must be greater than min_value"):
        nn.HardTanh(1.0, 1.0)


# -- SoftPlus and LogSigmoid: thresholds and stability ------------------------------------------

def test_softplus_values_and_linear_above_threshold():
    module = nn.SoftPlus()
    y, dy = forward_backward(module, np.array([0.0, 30.0, -800.0, 800.0]))
    np.testing.assert_allclose(y, [math.log(2.0), 30.0, 0.0, 800.0])
    np.testing.assert_allclose(dy, [0.5, 1.0, 0.0, 1.0])
    assert y[1] == 30.0  # exactly the input, not log1p(exp(30))


def test_softplus_threshold_applies_to_beta_times_x():
    module = nn.SoftPlus(beta=2.0, threshold=20.0)
    y, dy = forward_backward(module, np.array([9.0, 11.0]))
    np.testing.assert_allclose(y, [math.log1p(math.exp(18.0)) / 2.0, 11.0])
    np.testing.assert_allclose(dy, [1 / (1 + math.exp(-18.0)), 1.0])
    assert y[1] == 11.0


def test_logsigmoid_is_finite_and_accurate_for_large_inputs():
    x = np.array([-1000.0, -40.0, 0.0, 40.0, 1000.0])
    y, dy = forward_backward(nn.LogSigmoid(), x)
    assert np.all(np.isfinite(y)) and np.all(np.isfinite(dy))
    np.testing.assert_allclose(y[:3], [-1000.0, -40.0 - math.exp(-40.0), -math.log(2.0)])
    np.testing.assert_allclose(y[3:], [-math.exp(-40.0), 0.0], rtol=1e-12, atol=0)
    # the gradient 1 − σ(x) = σ(−x) keeps its relative accuracy where σ(x) rounds to 1
    np.testing.assert_allclose(dy, [1.0, 1.0, 0.5, math.exp(-40.0), 0.0], rtol=1e-12, atol=0)


# -- PReLU ----------------------------------------------------------------------------------------

def test_prelu_initial_slope_and_shapes():
    shared, per_channel = nn.PReLU(), nn.PReLU(3)
    np.testing.assert_array_equal(shared.weight, [0.25])
    np.testing.assert_array_equal(per_channel.weight, [0.25, 0.25, 0.25])
    assert len(per_channel.parameters()[0]) == 1
    assert repr(per_channel) == "nn.PReLU(3)" and repr(shared) == "nn.PReLU"
    y, _ = forward_backward(shared, np.array([[-4.0, 2.0]]))
    np.testing.assert_array_equal(y, [[-1.0, 2.0]])


@pytest.mark.parametrize(("shape", "channel_dim"), [((3,), 0), ((2, 3), 1), ((3, 2, 2), 0), ((2, 3, 2, 2), 1)])
def test_prelu_channels_are_dim_0_unbatched_and_dim_1_batched(shape, channel_dim):
    module = nn.PReLU(3)
    module.weight[...] = [1.0, 2.0, 3.0]
    x = -np.ones(shape)
    y, dy = forward_backward(module, x)
    expected = -np.moveaxis(np.ones(shape), channel_dim, -1) * [1.0, 2.0, 3.0]
    np.testing.assert_array_equal(y, np.moveaxis(expected, -1, channel_dim))
    np.testing.assert_array_equal(dy, -y)
    module.zeroGradParameters()
    module.backward(x, np.ones(shape))
    np.testing.assert_array_equal(module.gradWeight, [-x.size / 3] * 3)


def test_prelu_accumulates_and_scales_the_slope_gradient():
    module = nn.PReLU()
    x, g = np.array([-2.0, 1.0, -1.0]), np.array([1.0, 5.0, 3.0])
    module.forward(x)
    module.zeroGradParameters()
    module.backward(x, g)
    np.testing.assert_allclose(module.gradWeight, [-5.0])  # Σ g·x over x ≤ 0
    module.backward(x, g, scale=0.5)
    np.testing.assert_allclose(module.gradWeight, [-7.5])


def test_prelu_rejects_input_with_the_wrong_number_of_channels():
    module = nn.PReLU(3)
    with pytest.raises(ValueError, match=r"PReLU\(3\): expected input with 3 channels.*got \(2, 4\)"):
        module.forward(np.zeros((2, 4)))
    with pytest.raises(ValueError, match=r"PReLU\(3\).*got \(1, 3, 1, 1, 1\)"):
        module.forward(np.zeros((1, 3, 1, 1, 1)))
    nn.PReLU().forward(np.zeros((1, 3, 1, 1, 1)))  # a shared slope takes any shape


def test_prelu_input_dtype_must_match_the_weight():
    with pytest.raises(TypeError, match=r"PReLU: expected input of dtype float64"):
        nn.PReLU().forward(np.zeros(3, dtype=np.float32))
    assert nn.PReLU().float().forward(np.zeros(3, dtype=np.float32)).dtype == np.float32


# -- SoftMax, LogSoftMax, SoftMin -----------------------------------------------------------------

def test_softmax_rows_sum_to_one_and_are_shift_invariant():
    x = np.random.default_rng(0).standard_normal((4, 6))
    y = nn.SoftMax().forward(x).copy()
    np.testing.assert_allclose(y.sum(axis=1), np.ones(4))
    np.testing.assert_allclose(nn.SoftMax().forward(x + 1000.0), y)
    np.testing.assert_allclose(nn.SoftMax().forward(np.array([0.0, 0.0])), [0.5, 0.5])


@pytest.mark.parametrize(("shape", "dim"), [((5,), 0), ((2, 5), 1), ((5, 2, 3), 0), ((2, 5, 2, 3), 1)])
def test_softmax_normalises_along_the_feature_dimension(shape, dim):
    x = np.random.default_rng(1).standard_normal(shape)
    y = nn.SoftMax().forward(x)
    np.testing.assert_allclose(y.sum(axis=dim), np.ones(shape[:dim] + shape[dim + 1:]))
    np.testing.assert_allclose(nn.LogSoftMax().forward(x), np.log(y))
    np.testing.assert_allclose(nn.SoftMin().forward(-x), y)


def test_softmax_gradient_sums_to_zero_along_the_features():
    x, g = np.random.default_rng(2).standard_normal((2, 2, 3, 5))
    module = nn.SoftMax()
    module.forward(x)
    dy = module.backward(x, g)
    np.testing.assert_allclose(dy.sum(axis=0), np.zeros((3, 5)), atol=1e-15)


def test_softmax_of_huge_inputs_is_finite():
    x = np.array([[1e300, 0.0, -1e300], [1000.0, 1001.0, 999.0]])
    y, dy = forward_backward(nn.SoftMax(), x)
    assert np.all(np.isfinite(y)) and np.all(np.isfinite(dy))
    np.testing.assert_allclose(y[0], [1.0, 0.0, 0.0])
    np.testing.assert_allclose(y[1], nn.SoftMax().forward(np.array([0.0, 1.0, -1.0])))


def test_logsoftmax_of_huge_inputs_is_finite():
    x = np.array([1000.0, 0.0, -1000.0])
    y, dy = forward_backward(nn.LogSoftMax(), x)
    assert np.all(np.isfinite(y)) and np.all(np.isfinite(dy))
    np.testing.assert_allclose(y, [0.0, -1000.0, -2000.0])
    np.testing.assert_allclose(dy, [1.0 - 3.0, 1.0, 1.0])  # g − exp(y)·Σg with g = 1
    y, _ = forward_backward(nn.LogSoftMax(), np.array([1e308, 1e308]))
    np.testing.assert_allclose(y, [-math.log(2.0)] * 2)


def test_softmin_prefers_the_smallest_input():
    y = nn.SoftMin().forward(np.array([[1.0, 2.0, -3.0]]))
    assert y.argmax() == 2
    np.testing.assert_allclose(y.sum(), 1.0)


@pytest.mark.parametrize("cls", [nn.SoftMax, nn.LogSoftMax, nn.SoftMin])
def test_softmax_family_rejects_other_ranks(cls):
    name = cls.__name__
    with pytest.raises(ValueError, match=rf"^{name}: expected a 1-D .* or 4-D .* input, got shape \(1, 2, 3, 4, 5\)"):
        cls().forward(np.zeros((1, 2, 3, 4, 5)))
    with pytest.raises(ValueError, match=rf"^{name}: .*got shape \(\)"):
        cls().forward(np.array(1.0))


# -- the protocol ---------------------------------------------------------------------------------

@pytest.mark.parametrize("cls", ALL, ids=[c.__name__ for c in ALL])
def test_integer_input_is_a_type_error_naming_the_module(cls):
    with pytest.raises(TypeError, match=rf"^{cls.__name__}\b.*expected a floating-point array, got dtype int64"):
        cls().forward(np.arange(6, dtype=np.int64).reshape(2, 3))


@pytest.mark.parametrize("cls", ALL, ids=[c.__name__ for c in ALL])
def test_input_and_grad_output_are_not_modified(cls):
    rng = np.random.default_rng(3)
    x, g = 3 * rng.standard_normal((2, 4)), rng.standard_normal((2, 4))
    x0, g0 = x.copy(), g.copy()
    module = cls()
    module.forward(x)
    module.backward(x, g)
    np.testing.assert_array_equal(x, x0)
    np.testing.assert_array_equal(g, g0)


@pytest.mark.parametrize("cls", ALL, ids=[c.__name__ for c in ALL])
def test_buffers_are_reused_for_the_same_shape(cls):
    module, x = cls(), np.ones((2, 3))
    out, grad = module.forward(x), module.backward(x, np.ones((2, 3)))
    assert module.forward(x) is out and module.backward(x, np.ones((2, 3))) is grad
