"""ember/nn/smooth.py: values, extreme inputs, arguments (the catalog checks gradients and PyTorch)."""

import math

import numpy as np
import pytest

from ember import nn


def test_values_at_known_points():
    x = np.array([0.0, 1.0, -1.0])
    np.testing.assert_allclose(nn.GELU().forward(x), [0, 0.8413447460685429, -0.15865525393145707])
    np.testing.assert_allclose(nn.SiLU().forward(x), x / (1 + np.exp(-x)))
    np.testing.assert_allclose(nn.Mish().forward(x), x * np.tanh(np.log1p(np.exp(x))))
    np.testing.assert_allclose(nn.CELU(2.0).forward(x), [0, 1, 2 * math.expm1(-0.5)])
    np.testing.assert_allclose(nn.SELU().forward(x), [0, nn.SELU.SCALE, nn.SELU.SCALE * nn.SELU.ALPHA * math.expm1(-1)])


@pytest.mark.parametrize("cls", [nn.GELU, nn.SiLU, nn.Mish, nn.SELU, nn.CELU])
def test_finite_for_large_inputs(cls):
    x = np.array([-800.0, -50.0, 50.0, 800.0])
    m = cls()
    with np.errstate(over="raise", invalid="raise", divide="raise"):
        y = m.forward(x)
        g = m.backward(x, np.ones(4))
    assert np.all(np.isfinite(y)) and np.all(np.isfinite(g))


def test_bad_arguments_name_the_module():
    with pytest.raises(ValueError, match=r"GELU\(approximate='erf'\)|GELU.*approximate must be"):
        nn.GELU("erf")
    with pytest.raises(ValueError, match=r"CELU\(alpha=0\): alpha must be > 0"):
        nn.CELU(0.0)
