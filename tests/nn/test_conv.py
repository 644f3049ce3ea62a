"""SpatialConvolution and TemporalConvolution: values, Torch layout and initialisation, errors, buffers."""

import math

import numpy as np
import pytest

from ember import nn
from ember.nn import conv


def reference_conv2d(x, weight, bias, dW, dH, padW, padH):
    """Direct loops over output positions, for small inputs: (N, C, H, W) -> (N, O, oH, oW)."""
    x = np.pad(x, ((0, 0), (0, 0), (padH, padH), (padW, padW)))
    n, _, h, w = x.shape
    out_planes, _, kH, kW = weight.shape
    out_h, out_w = (h - kH) // dH + 1, (w - kW) // dW + 1
    out = np.zeros((n, out_planes, out_h, out_w))
    for i in range(out_h):
        for j in range(out_w):
            patch = x[:, :, i * dH:i * dH + kH, j * dW:j * dW + kW]
            out[:, :, i, j] = np.einsum("nchw,ochw->no", patch, weight) + (0 if bias is None else bias)
    return out


@pytest.mark.parametrize(("kW", "kH", "dW", "dH", "padW", "padH"),
                         [(3, 3, 1, 1, 0, 0), (2, 3, 2, 1, 1, 0), (3, 2, 3, 2, 2, 1), (1, 1, 1, 1, 0, 0)])
def test_spatial_convolution_matches_direct_loops(kW, kH, dW, dH, padW, padH):
    rng = np.random.default_rng(0)
    module = nn.SpatialConvolution(3, 4, kW, kH, dW, dH, padW, padH, rng=rng)
    x = rng.standard_normal((2, 3, 7, 6))
    expected = reference_conv2d(x, module.weight, module.bias, dW, dH, padW, padH)
    np.testing.assert_allclose(module.forward(x), expected, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(module.forward(x[1]), expected[1], rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize(("wide", "bias"), [(True, True), (True, False), (False, True)])
@pytest.mark.parametrize(("n_in", "n_out", "pad", "size"), [(1, 6, 2, 28), (6, 16, 0, 14)])
def test_spatial_convolution_both_layouts_match_pytorch_at_lenet_sizes(torch, monkeypatch, wide, bias, n_in, n_out,
                                                                       pad, size):
    """The wide-row path (stride 1) and the batch-last path give PyTorch's output and gradients, float32 too."""
    monkeypatch.setattr(conv, "WIDE_WASTE", 1.0 if wide else 0.0)
    rng = np.random.default_rng(1)
    for dtype, tolerance in ((np.float64, 1e-10), (np.float32, 2e-4)):
        module = nn.SpatialConvolution(n_in, n_out, 5, 5, padW=pad, padH=pad, bias=bias, rng=rng).type(dtype)
        x = rng.standard_normal((3, n_in, size, size)).astype(dtype)
        g = rng.standard_normal((3, n_out, size + 2 * pad - 4, size + 2 * pad - 4)).astype(dtype)
        module.zeroGradParameters()
        for _ in range(2):  # buffers reused: the second step accumulates the same gradients again
            out = module.forward(x)
            grad_in = module.backward(x, g, scale=0.5)
        assert (module.finput.ndim == 3) == wide and out.dtype == grad_in.dtype == module.gradWeight.dtype == dtype
        x_t = torch.tensor(x, requires_grad=True)
        w_t = torch.tensor(module.weight, requires_grad=True)
        b_t = torch.tensor(module.bias, requires_grad=True) if bias else None
        out_t = torch.nn.functional.conv2d(x_t, w_t, b_t, padding=pad)
        out_t.backward(torch.tensor(g))
        pairs = [(out, out_t), (grad_in, x_t.grad), (module.gradWeight, w_t.grad)]
        for ours, theirs in pairs + ([(module.gradBias, b_t.grad)] if bias else []):
            np.testing.assert_allclose(ours, theirs.detach().numpy(), rtol=tolerance, atol=tolerance * 10)
        np.testing.assert_allclose(module.forward(x[1]), out[1], rtol=tolerance, atol=tolerance)  # one example


def test_spatial_convolution_output_size_and_known_values():
    module = nn.SpatialConvolution(1, 1, 3, 3, padW=1, padH=1)
    module.weight.fill(1)
    module.bias.fill(0.5)
    out = module.forward(np.ones((1, 4, 5)))
    assert out.shape == (1, 4, 5)
    # each output counts the input ones its 3x3 window covers: 4 in a corner, 6 on an edge, 9 inside
    assert out[0, 0, 0] == 4.5 and out[0, 0, 2] == 6.5 and out[0, 1, 1] == 9.5


def test_spatial_convolution_weight_gradient_against_pytorch_with_stride_and_padding(torch):
    rng = np.random.default_rng(3)
    module = nn.SpatialConvolution(3, 5, 3, 2, 2, 3, 1, 1, rng=rng)
    x = rng.standard_normal((4, 3, 9, 8))
    g = rng.standard_normal(module.forward(x).shape)
    module.zeroGradParameters()
    grad_in = module.backward(x, g, scale=0.5)
    x_t = torch.tensor(x, requires_grad=True)
    w_t = torch.tensor(module.weight, requires_grad=True)
    b_t = torch.tensor(module.bias, requires_grad=True)
    out_t = torch.nn.functional.conv2d(x_t, w_t, b_t, stride=(3, 2), padding=(1, 1))
    out_t.backward(torch.tensor(g))
    np.testing.assert_allclose(module.output, out_t.detach().numpy(), rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(grad_in, x_t.grad.numpy(), rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(module.gradWeight, 0.5 * w_t.grad.numpy(), rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(module.gradBias, 0.5 * b_t.grad.numpy(), rtol=1e-10, atol=1e-12)


def test_spatial_convolution_accumulates_parameter_gradients():
    rng = np.random.default_rng(1)
    module = nn.SpatialConvolution(2, 3, 2, 2, rng=rng)
    x = rng.standard_normal((2, 2, 4, 4))
    g = rng.standard_normal(module.forward(x).shape)
    module.zeroGradParameters()
    module.backward(x, g)
    once = module.gradWeight.copy(), module.gradBias.copy()
    module.backward(x, g, scale=2.0)
    np.testing.assert_allclose(module.gradWeight, 3 * once[0], rtol=1e-12)
    np.testing.assert_allclose(module.gradBias, 3 * once[1], rtol=1e-12)


def test_spatial_convolution_torch_initialisation():
    module = nn.SpatialConvolution(3, 16, 5, 4, rng=np.random.default_rng(0))
    bound = 1 / math.sqrt(5 * 4 * 3)
    assert module.weight.shape == (16, 3, 4, 5) and module.bias.shape == (16,)
    for array in (module.weight, module.bias):
        assert np.all(np.abs(array) <= bound)
    assert module.weight.max() > 0.9 * bound and module.weight.min() < -0.9 * bound
    again = nn.SpatialConvolution(3, 16, 5, 4, rng=np.random.default_rng(0))
    np.testing.assert_array_equal(module.weight, again.weight)


def test_spatial_convolution_repr_as_torch():
    assert repr(nn.SpatialConvolution(3, 8, 5, 5)) == "nn.SpatialConvolution(3 -> 8, 5x5)"
    assert repr(nn.SpatialConvolution(3, 8, 5, 3, 2, 2, 1, 0)) == "nn.SpatialConvolution(3 -> 8, 5x3, 2,2, 1,0)"
    assert repr(nn.SpatialConvolution(3, 8, 3, 3, bias=False)) == "nn.SpatialConvolution(3 -> 8, 3x3 without bias)"


def test_spatial_convolution_errors_name_the_module():
    module = nn.SpatialConvolution(3, 4, 3, 3)
    with pytest.raises(ValueError, match=r"SpatialConvolution\(3 -> 4, 3x3\): expected input of shape "
                                         r"\(3, H, W\) or \(batch, 3, H, W\), got \(2, 4, 5, 5\)"):
        module.forward(np.zeros((2, 4, 5, 5)))
    with pytest.raises(ValueError, match=r"SpatialConvolution.*got \(5, 5\)"):
        module.forward(np.zeros((5, 5)))
    with pytest.raises(ValueError, match=r"SpatialConvolution\(3 -> 4, 3x3\): input 2x5 .* smaller than the kernel"):
        module.forward(np.zeros((3, 2, 5)))
    with pytest.raises(TypeError, match=r"SpatialConvolution.*float32"):
        module.forward(np.zeros((3, 5, 5), dtype=np.float32))
    with pytest.raises(ValueError, match=r"SpatialConvolution: kW must be an integer >= 1 \(a size\), got 0"):
        nn.SpatialConvolution(3, 4, 0, 3)


def test_spatial_convolution_padding_lets_small_inputs_through():
    module = nn.SpatialConvolution(1, 1, 3, 3, padW=1, padH=1)
    assert module.forward(np.zeros((1, 1, 1))).shape == (1, 1, 1)


def test_spatial_convolution_reuses_buffers_and_float32():
    rng = np.random.default_rng(0)
    module = nn.SpatialConvolution(2, 3, 3, 3, padW=1, padH=1, rng=rng).float()
    x = rng.standard_normal((2, 2, 6, 6)).astype(np.float32)
    out = module.forward(x)
    finput = module.finput
    assert out.dtype == np.float32 and finput.dtype == np.float32
    grad = module.backward(x, np.ones_like(out))
    assert grad.dtype == np.float32 and module.gradWeight.dtype == np.float32
    assert module.forward(x) is out and module.finput is finput
    module.clearState()
    assert module.finput is None


def test_spatial_convolution_does_not_modify_input_or_grad_output():
    rng = np.random.default_rng(0)
    module = nn.SpatialConvolution(2, 2, 3, 3, 2, 2, 1, 1, rng=rng)
    x = rng.standard_normal((2, 2, 5, 5))
    g = rng.standard_normal(module.forward(x).shape)
    x0, g0 = x.copy(), g.copy()
    module.backward(x, g)
    np.testing.assert_array_equal(x, x0)
    np.testing.assert_array_equal(g, g0)


def test_temporal_convolution_uses_torch_weight_layout():
    rng = np.random.default_rng(0)
    module = nn.TemporalConvolution(3, 2, 2, dW=2, rng=rng)
    x = rng.standard_normal((5, 3))
    out = module.forward(x)
    assert module.weight.shape == (2, 6) and out.shape == (2, 2)
    for t in range(2):
        window = x[t * 2:t * 2 + 2].reshape(-1)  # frame k, feature c at column k*3 + c
        np.testing.assert_allclose(out[t], module.weight @ window + module.bias, rtol=1e-12)


def test_temporal_convolution_initialisation_and_repr():
    module = nn.TemporalConvolution(4, 6, 3, rng=np.random.default_rng(0))
    bound = 1 / math.sqrt(3 * 4)
    assert np.all(np.abs(module.weight) <= bound) and np.all(np.abs(module.bias) <= bound)
    assert repr(module) == "nn.TemporalConvolution(4 -> 6, 3)"
    assert repr(nn.TemporalConvolution(4, 6, 3, 2)) == "nn.TemporalConvolution(4 -> 6, 3, 2)"


def test_temporal_convolution_errors():
    module = nn.TemporalConvolution(3, 2, 4)
    with pytest.raises(ValueError, match=r"TemporalConvolution\(3 -> 2, 4\): expected input of shape "
                                         r"\(nInputFrame, 3\) or \(batch, nInputFrame, 3\), got \(6, 2\)"):
        module.forward(np.zeros((6, 2)))
    with pytest.raises(ValueError, match=r"TemporalConvolution.*3 frames, fewer than the kernel width 4"):
        module.forward(np.zeros((3, 3)))
