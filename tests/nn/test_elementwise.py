"""Element-wise maths modules: specific values, Torch behaviours at the edges, errors, protocol.

Jacobians, batch mode, float32 and PyTorch conformance are covered by the catalog
(catalog_elementwise.py).
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from ember import nn

ALL = [(nn.Abs,), (nn.Exp,), (nn.Log,), (nn.Sqrt,), (nn.Square,), (nn.Power, 2.5), (nn.AddConstant, 3.0),
       (nn.MulConstant, -2.0), (nn.Clamp, -1.0, 2.0)]
IDS = [cls.__name__ for cls, *_ in ALL]


def forward_backward(module, x, g=None):
    """Output and gradInput (copies) of one forward/backward pass."""
    out = module.forward(x).copy()
    g = np.ones_like(out) if g is None else g
    return out, module.backward(x, g).copy()


def test_abs_gradient_is_the_sign_and_zero_at_zero():
    y, dy = forward_backward(nn.Abs(), np.array([-2.0, 0.0, 3.0]), np.array([2.0, 2.0, 2.0]))
    np.testing.assert_array_equal(y, [2.0, 0.0, 3.0])
    np.testing.assert_array_equal(dy, [-2.0, 0.0, 2.0])


def test_exp_and_log_values():
    y, dy = forward_backward(nn.Exp(), np.array([0.0, 1.0]), np.array([1.0, 2.0]))
    np.testing.assert_allclose(y, [1.0, math.e])
    np.testing.assert_allclose(dy, [1.0, 2 * math.e])
    y, dy = forward_backward(nn.Log(), np.array([1.0, math.e, 4.0]))
    np.testing.assert_allclose(y, [0.0, 1.0, math.log(4.0)])
    np.testing.assert_allclose(dy, [1.0, 1 / math.e, 0.25])


def test_sqrt_values_and_torch_zero_gradient_at_zero():
    y, dy = forward_backward(nn.Sqrt(), np.array([0.0, 4.0, 0.25]))
    np.testing.assert_array_equal(y, [0.0, 2.0, 0.5])
    np.testing.assert_array_equal(dy, [0.0, 0.25, 1.0])  # Torch: 0 where the output is 0, not inf


def test_square_and_power():
    x = np.array([-3.0, 0.5, 2.0])
    y, dy = forward_backward(nn.Square(), x)
    np.testing.assert_array_equal(y, [9.0, 0.25, 4.0])
    np.testing.assert_array_equal(dy, [-6.0, 1.0, 4.0])
    y2, dy2 = forward_backward(nn.Power(2), x)
    np.testing.assert_allclose(y2, y)
    np.testing.assert_allclose(dy2, dy)
    y, dy = forward_backward(nn.Power(0.5), np.array([4.0, 9.0]))
    np.testing.assert_allclose(y, [2.0, 3.0])
    np.testing.assert_allclose(dy, [0.25, 1 / 6])
    y, dy = forward_backward(nn.Power(-1), np.array([2.0]))
    np.testing.assert_allclose(y, [0.5])
    np.testing.assert_allclose(dy, [-0.25])


def test_add_and_mul_constant():
    x, g = np.array([[1.0, -2.0]]), np.array([[3.0, 4.0]])
    y, dy = forward_backward(nn.AddConstant(2.5), x, g)
    np.testing.assert_array_equal(y, [[3.5, 0.5]])
    np.testing.assert_array_equal(dy, g)
    y, dy = forward_backward(nn.MulConstant(-3.0), x, g)
    np.testing.assert_array_equal(y, [[-3.0, 6.0]])
    np.testing.assert_array_equal(dy, [[-9.0, -12.0]])


def test_add_constant_grad_input_is_its_own_buffer():
    module, x, g = nn.AddConstant(1.0), np.zeros(3), np.ones(3)
    module.forward(x)
    assert module.backward(x, g) is not g


def test_clamp_is_a_hardtanh_with_the_given_bounds():
    module = nn.Clamp(-0.5, 2.0)
    assert isinstance(module, nn.HardTanh)
    assert repr(module) == "nn.Clamp(-0.5, 2)"
    y, dy = forward_backward(module, np.array([-1.0, -0.5, 0.0, 2.0, 3.0]))
    np.testing.assert_array_equal(y, [-0.5, -0.5, 0.0, 2.0, 2.0])
    np.testing.assert_array_equal(dy, [0.0, 0.0, 1.0, 0.0, 0.0])
    with pytest.raises(ValueError, match=r"^Clamp\(3, 1\): max_value must be greater than min_value"):
        nn.Clamp(3.0, 1.0)


def test_repr_shows_the_arguments():
    assert repr(nn.Power(0.5)) == "nn.Power(0.5)"
    assert repr(nn.AddConstant(-2.0)) == "nn.AddConstant(-2)"
    assert repr(nn.MulConstant(0.25)) == "nn.MulConstant(0.25)"
    assert repr(nn.Exp()) == "nn.Exp"


def test_log_outside_its_domain_follows_torch():
    with np.errstate(divide="ignore", invalid="ignore"):
        y = nn.Log().forward(np.array([0.0, -1.0]))
    assert y[0] == -np.inf and np.isnan(y[1])


@pytest.mark.parametrize("spec", ALL, ids=IDS)
def test_integer_input_is_a_type_error_naming_the_module(spec):
    module = spec[0](*spec[1:])
    with pytest.raises(TypeError, match=rf"^{type(module).__name__}\b.*floating-point array, got dtype int64"):
        module.forward(np.arange(1, 4, dtype=np.int64))


@pytest.mark.parametrize("spec", ALL, ids=IDS)
def test_input_and_grad_output_are_not_modified(spec):
    module = spec[0](*spec[1:])
    rng = np.random.default_rng(0)
    x, g = rng.uniform(0.5, 2.0, (3, 4)), rng.standard_normal((3, 4))
    x0, g0 = x.copy(), g.copy()
    module.forward(x)
    module.backward(x, g)
    np.testing.assert_array_equal(x, x0)
    np.testing.assert_array_equal(g, g0)


@pytest.mark.parametrize("spec", ALL, ids=IDS)
def test_float32_stays_float32_with_any_shape(spec):
    module = spec[0](*spec[1:])
    x = np.full((2, 1, 3), 1.5, dtype=np.float32)
    assert module.forward(x).dtype == np.float32
    assert module.backward(x, np.ones_like(x)).dtype == np.float32
