"""W5's hand-written NumPy convolution computes what ember's SpatialConvolution and PyTorch's Conv2d do,
so that the benchmark compares the same work."""

from __future__ import annotations

import numpy as np
import pytest

from benchmarks.workloads import LENET_CONVS, _numpy_conv_backward, _numpy_conv_forward, setup_w5
from ember import nn


@pytest.mark.parametrize(("n_in", "n_out", "k", "pad", "size"), LENET_CONVS)
def test_numpy_reference_matches_ember(n_in, n_out, k, pad, size):
    rng = np.random.default_rng(0)
    conv = nn.SpatialConvolution(n_in, n_out, k, k, padW=pad, padH=pad, rng=rng)
    x = rng.standard_normal((3, n_in, size, size))
    out, windows = _numpy_conv_forward(x, conv.weight, conv.bias, pad)
    np.testing.assert_allclose(out, conv.forward(x), rtol=1e-12, atol=1e-12)
    g = rng.standard_normal(out.shape)
    grad_x, grad_W, grad_b = _numpy_conv_backward(g, windows, conv.weight, pad, x.shape)
    np.testing.assert_allclose(grad_x, conv.backward(x, g), rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(grad_W, conv.gradWeight, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(grad_b, conv.gradBias, rtol=1e-12, atol=1e-12)


def test_w5_runs_every_implementation(torch):
    runners = setup_w5(quick=True)
    assert set(runners) == {"ember", "numpy", "pytorch"}
    for run in runners.values():
        run()


def test_w6_numpy_lstm_step_updates_as_ember_does():
    """W6's hand-written NumPy LSTM step (float32) moves the parameters as ember's LSTM step does."""
    from benchmarks import lstm

    runners = lstm.setup_w6(quick=True)
    rng = np.random.default_rng(1)
    layer = nn.LSTM(lstm.F, lstm.H, rng=rng).float()
    params = [p.copy() for p in layer.parameters()[0]]
    x = rng.standard_normal((lstm.T, lstm.N, lstm.F)).astype(np.float32)
    g = rng.standard_normal((lstm.T, lstm.N, lstm.H)).astype(np.float32)
    lstm._numpy_step(params, x, g)
    layer.forward(x)
    layer.backward(x, g)
    for mine, theirs, grad in zip(params, layer.parameters()[0], layer.parameters()[1]):
        np.testing.assert_allclose(mine, theirs - lstm.LEARNING_RATE * grad, rtol=1e-4, atol=1e-5)
    for run in runners.values():
        if callable(run):
            run()
