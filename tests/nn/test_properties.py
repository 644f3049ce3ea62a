"""Property-based tests: backprop agrees with finite differences on arbitrary shapes and values."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from ember import nn
from ember.check import jacobian
from tests.strategies import float_arrays, shapes

ELEMENTWISE = [nn.Sigmoid, nn.Tanh, nn.ReLU, nn.ReQU, nn.LeakyReLU, nn.ELU, nn.SoftPlus, nn.SoftSign, nn.Abs,
               nn.Square, nn.LogSigmoid]
FAST = settings(max_examples=25, deadline=None)


def assert_backprop_matches_finite_differences(module, x, param=None):
    analytic, numeric = jacobian(module, x, param=param)
    scale = max(1.0, float(np.abs(numeric).max(initial=0.0)))
    np.testing.assert_allclose(analytic, numeric, atol=1e-6 * scale, rtol=0)


@FAST
@given(st.sampled_from(ELEMENTWISE), float_arrays(shapes(), away_from_zero=1e-3))
def test_elementwise_modules_on_any_shape(module_class, x):
    module = module_class()
    out = module.forward(x)
    assert out.shape == x.shape and out.dtype == x.dtype
    assert_backprop_matches_finite_differences(module, x)


@FAST
@given(st.integers(1, 5), st.integers(1, 5), st.integers(1, 4), st.data())
def test_linear_on_any_size_and_batch(n_in, n_out, batch, data):
    module = nn.Linear(n_in, n_out, rng=np.random.default_rng(0))
    x = data.draw(float_arrays((batch, n_in)))
    assert_backprop_matches_finite_differences(module, x)
    assert_backprop_matches_finite_differences(module, x, param="weight")
    assert_backprop_matches_finite_differences(module, x, param="bias")


@FAST
@given(float_arrays(shapes(min_dims=1, max_dims=2, max_side=5)))
def test_log_softmax_rows_are_log_probabilities(x):
    out = nn.LogSoftMax().forward(x)
    np.testing.assert_allclose(np.exp(out).sum(axis=-1), 1.0, rtol=1e-12)
    assert_backprop_matches_finite_differences(nn.LogSoftMax(), x)


@FAST
@given(st.lists(st.integers(1, 4), min_size=1, max_size=4))
def test_get_parameters_round_trips_any_mlp(widths):
    rng = np.random.default_rng(0)
    sizes = [3] + widths
    net = nn.Sequential(*[nn.Linear(a, b, rng=rng) for a, b in zip(sizes, sizes[1:])])
    before = np.concatenate([p.ravel() for p in net.parameters()[0]])
    params, grads = net.getParameters()
    np.testing.assert_array_equal(params, before)
    assert params.size == sum(a * b + b for a, b in zip(sizes, sizes[1:]))
    params += 1.0
    np.testing.assert_array_equal(np.concatenate([p.ravel() for p in net.parameters()[0]]), before + 1.0)
