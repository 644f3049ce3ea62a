"""The convolution variants' semantics beyond the catalog: Torch's output sizes, adj and the [input, like]
table, depth-wise plane order, sub-sampling's formula, unshared weights, connection tables, initialisation,
the gradInput switch and errors."""

import math

import numpy as np
import pytest

from ember import nn
from ember.errors import InputError, InputTypeError


def uniform_within(array, stdv):
    return np.all(np.abs(array) <= stdv) and np.abs(array).max() > 0.5 * stdv


@pytest.mark.parametrize(("size", "k", "d", "pad", "dilation"), [(7, 3, 1, 0, 2), (9, 3, 2, 1, 3), (5, 2, 3, 2, 1)])
def test_dilated_output_size_is_torchs_and_dilation_one_is_spatial_convolution(size, k, d, pad, dilation):
    rng = np.random.default_rng(0)
    module = nn.SpatialDilatedConvolution(2, 3, k, k, d, d, pad, pad, dilation, dilation, rng=rng)
    out = module.forward(rng.standard_normal((2, size, size)))
    expected = (size + 2 * pad - dilation * (k - 1) - 1) // d + 1
    assert out.shape == (3, expected, expected)
    plain = nn.SpatialDilatedConvolution(2, 3, k, k, d, d, pad, pad, rng=rng)
    conv = nn.SpatialConvolution(2, 3, k, k, d, d, pad, pad)
    conv.weight[...], conv.bias[...] = plain.weight, plain.bias
    x = rng.standard_normal((4, 2, size, size))
    np.testing.assert_allclose(plain.forward(x), conv.forward(x), rtol=1e-13, atol=1e-13)
    g = rng.standard_normal(conv.output.shape)
    np.testing.assert_allclose(plain.backward(x, g), conv.backward(x, g), rtol=1e-13, atol=1e-13)
    np.testing.assert_allclose(plain.gradWeight, conv.gradWeight, rtol=1e-12, atol=1e-13)


def test_full_convolution_is_the_adjoint_of_spatial_convolution_and_adj_grows_the_output():
    rng = np.random.default_rng(1)
    full = nn.SpatialFullConvolution(3, 2, 3, 3, 2, 2, 1, 1, bias=False, rng=rng)
    conv = nn.SpatialConvolution(2, 3, 3, 3, 2, 2, 1, 1, bias=False)
    conv.weight[...] = full.weight  # (C_in of full = O of conv, O of full = C of conv, kH, kW)
    x, y = rng.standard_normal((3, 4, 5)), rng.standard_normal((2, 7, 9))
    # <conv(y), x> == <y, full(x)>: the transposed convolution is the adjoint
    assert full.forward(x).shape == (2, (4 - 1) * 2 - 2 + 3, (5 - 1) * 2 - 2 + 3) == (2, 7, 9)
    np.testing.assert_allclose(np.vdot(conv.forward(y), x), np.vdot(y, full.output), rtol=1e-12)
    adjusted = nn.SpatialFullConvolution(3, 2, 3, 3, 2, 2, 1, 1, 1, 1, bias=False)
    adjusted.weight[...] = full.weight
    out = adjusted.forward(x)
    assert out.shape == (2, 8, 10)
    np.testing.assert_allclose(out[:, :7, :9], full.output, rtol=1e-13)  # adj adds a row and a column


def test_full_convolution_takes_its_output_size_from_a_like_tensor():
    rng = np.random.default_rng(2)
    module = nn.SpatialFullConvolution(2, 3, 3, 3, 2, 2, 1, 1, rng=rng)
    x = rng.standard_normal((4, 2, 5, 5))
    for size in (9, 10):
        like = np.zeros((4, 7, size, 19 - size))  # 9 or 10: the sizes a stride-2 convolution maps to 5
        out = module.forward([x, like])
        assert out.shape == (4, 3, size, 19 - size)
        grad = module.backward([x, like], np.ones_like(out))
        assert grad[0].shape == x.shape and grad[1].shape == like.shape and not grad[1].any()
    assert module.forward(x).shape == (4, 3, 9, 9)  # the constructor's adj (0) again


def test_full_convolution_refuses_adj_not_below_the_stride():
    with pytest.raises(InputError, match=r"SpatialFullConvolution.*adjW and adjH must be below the strides"):
        nn.SpatialFullConvolution(2, 2, 3, 3, 2, 2, 0, 0, 2, 0)
    with pytest.raises(InputError, match=r"SpatialFullConvolution.*adjH"):
        nn.SpatialFullConvolution(2, 2, 3, 3, 1, 1, 0, 0, 0, 1)


def test_depthwise_output_planes_are_grouped_by_input_plane_as_torch():
    rng = np.random.default_rng(3)
    module = nn.SpatialDepthWiseConvolution(3, 2, 2, 2, rng=rng)
    x = rng.standard_normal((3, 4, 4))
    out = module.forward(x)
    assert out.shape == (6, 3, 3)
    for c in range(3):
        for k in range(2):
            single = nn.SpatialConvolution(1, 1, 2, 2)
            single.weight[...], single.bias[...] = module.weight[k, c], module.bias[k, c]
            np.testing.assert_allclose(out[c * 2 + k], single.forward(x[c:c + 1])[0], rtol=1e-13)


def test_depthwise_pad_h_defaults_to_pad_w_as_torch():
    module = nn.SpatialDepthWiseConvolution(2, 1, 3, 3, padW=1)
    assert module.padH == 1 and module.forward(np.ones((2, 5, 5))).shape == (2, 5, 5)
    assert nn.SpatialConvolutionLocal(1, 1, 4, 4, 3, 3, padW=1).padH == 1


def test_subsampling_is_weight_times_window_sum_plus_bias():
    module = nn.SpatialSubSampling(2, 2, 2, 2, 2)
    module.weight[...] = [2.0, -1.0]
    module.bias[...] = [0.5, 1.0]
    x = np.arange(2 * 4 * 5, dtype=float).reshape(2, 4, 5)
    out = module.forward(x)
    assert out.shape == (2, 2, 2)  # (4 - 2) // 2 + 1, (5 - 2) // 2 + 1: the last column is dropped
    window_sums = x[:, :4, :4].reshape(2, 2, 2, 2, 2).sum(axis=(2, 4))
    np.testing.assert_allclose(out, module.weight[:, None, None] * window_sums + module.bias[:, None, None])
    assert uniform_within(nn.SpatialSubSampling(50, 3, 2).weight, 1 / math.sqrt(6))


def test_local_with_one_kernel_everywhere_is_a_convolution_and_checks_the_input_size():
    rng = np.random.default_rng(4)
    local = nn.SpatialConvolutionLocal(2, 3, 6, 5, 3, 2, 2, 1, 1, 0)
    conv = nn.SpatialConvolution(2, 3, 3, 2, 2, 1, 1, 0, rng=rng)
    assert (local.oH, local.oW) == (4, 3) and local.weight.shape == (4, 3, 3, 2, 2, 3)
    local.weight[...] = conv.weight
    local.bias[...] = conv.bias[:, None, None]
    x = rng.standard_normal((2, 2, 5, 6))
    np.testing.assert_allclose(local.forward(x), conv.forward(x), rtol=1e-13, atol=1e-13)
    g = rng.standard_normal(conv.output.shape)
    np.testing.assert_allclose(local.backward(x, g), conv.backward(x, g), rtol=1e-13, atol=1e-13)
    np.testing.assert_allclose(local.gradWeight.sum(axis=(0, 1)), conv.gradWeight, rtol=1e-12, atol=1e-13)
    with pytest.raises(InputError, match=r"SpatialConvolutionLocal\(2 -> 3, 6x5, 3x2, 2,1, 1,0\): expected input "
                                         r"of shape \(2, 5, 6\) or \(batch, 2, 5, 6\), got \(2, 6, 6\)"):
        local.forward(np.zeros((2, 6, 6)))
    with pytest.raises(InputError, match=r"SpatialConvolutionLocal.*smaller than the kernel"):
        nn.SpatialConvolutionLocal(1, 1, 2, 2, 3, 3)


def test_tables_full_one_to_one_and_random():
    np.testing.assert_array_equal(nn.tables.full(2, 2), [[0, 0], [1, 0], [0, 1], [1, 1]])
    np.testing.assert_array_equal(nn.tables.oneToOne(3), [[0, 0], [1, 1], [2, 2]])
    table = nn.tables.random(6, 16, 3, rng=5)
    assert table.shape == (48, 2)
    np.testing.assert_array_equal(table[:, 1], np.repeat(np.arange(16), 3))
    inputs = table[:, 0].reshape(16, 3)
    assert all(len(set(row)) == 3 for row in inputs.tolist())  # nto distinct inputs per output
    assert np.bincount(inputs.ravel(), minlength=6).tolist() == [8] * 6  # dealt from whole permutations
    np.testing.assert_array_equal(table, nn.tables.random(6, 16, 3, rng=5))
    with pytest.raises(InputError, match=r"nn.tables.random"):
        nn.tables.random(2, 3, 4)


def test_convolution_map_with_a_full_table_is_a_spatial_convolution_and_full_map_a_full_convolution():
    rng = np.random.default_rng(6)
    mapped = nn.SpatialConvolutionMap(nn.tables.full(3, 4), 3, 2, 2, 1, rng=rng)
    assert (mapped.n_input_plane, mapped.n_output_plane) == (3, 4) and mapped.weight.shape == (12, 2, 3)
    conv = nn.SpatialConvolution(3, 4, 3, 2, 2, 1)
    conv.weight[...], conv.bias[...] = mapped.weight.reshape(4, 3, 2, 3), mapped.bias
    x = rng.standard_normal((2, 3, 6, 7))
    np.testing.assert_allclose(mapped.forward(x), conv.forward(x), rtol=1e-13, atol=1e-13)
    full_map = nn.SpatialFullConvolutionMap(nn.tables.full(3, 4), 3, 2, 2, 1, rng=rng)
    full = nn.SpatialFullConvolution(3, 4, 3, 2, 2, 1)
    full.weight[...] = full_map.weight.reshape(4, 3, 2, 3).transpose(1, 0, 2, 3)
    full.bias[...] = full_map.bias
    np.testing.assert_allclose(full_map.forward(x), full.forward(x), rtol=1e-13, atol=1e-13)
    assert full_map.output.shape == (2, 4, (6 - 1) * 1 + 2, (7 - 1) * 2 + 3)


def test_convolution_map_reads_only_its_planes_and_initialises_by_fan_in():
    table = np.array([[0, 0], [1, 0], [1, 1]])  # output 0 has fan-in 2, output 1 fan-in 1
    module = nn.SpatialConvolutionMap(table, 2, 2, rng=7)
    x = np.random.default_rng(8).standard_normal((3, 3, 3))
    out = module.forward(x)
    expected = module.forward(x[:2]).copy()
    np.testing.assert_allclose(module.forward(x), out)
    np.testing.assert_allclose(out, expected)  # plane 2 is not in the table: not read
    assert not module.backward(x, np.ones_like(out))[2].any()
    big = nn.SpatialConvolutionMap(np.array([[0, 0]] * 1 + [[i, 1] for i in range(4)]), 5, 5, rng=0)
    assert uniform_within(big.weight[0], 1 / math.sqrt(25)) and np.abs(big.weight[1:]).max() <= 1 / math.sqrt(100)
    with pytest.raises(InputError, match=r"SpatialConvolutionMap: expected a connection table of shape \(K, 2\)"):
        nn.SpatialConvolutionMap(np.array([[0, 1, 2]]), 2, 2)
    with pytest.raises(InputError, match=r"SpatialFullConvolutionMap: expected a connection table"):
        nn.SpatialFullConvolutionMap(np.array([[-1, 0]]), 2, 2)


@pytest.mark.parametrize("make", [
    lambda: nn.SpatialDilatedConvolution(2, 3, 3, 3, dilationW=2, dilationH=2),
    lambda: nn.SpatialFullConvolution(2, 3, 3, 3, 1, 1, 2, 2),
    lambda: nn.SpatialDepthWiseConvolution(2, 3, 3, 3),
    lambda: nn.SpatialSubSampling(2, 3, 3),
    lambda: nn.SpatialConvolutionLocal(2, 3, 6, 6, 3, 3),
    lambda: nn.SpatialConvolutionMap(nn.tables.oneToOne(2), 3, 3),
    lambda: nn.SpatialFullConvolutionMap(nn.tables.oneToOne(2), 3, 3),
], ids=["dilated", "full", "depthwise", "subsampling", "local", "map", "fullmap"])
def test_errors_name_the_module_float32_and_the_grad_input_switch(make):
    module = make()
    name = type(module).__name__
    x = np.random.default_rng(9).standard_normal((2, 2, 6, 6))
    with pytest.raises(InputError, match=rf"{name}\(.*\): expected input of shape .*got \(2, 1, 6, 6\)"):
        module.forward(x[:, :1])
    too_small = {"SpatialConvolutionLocal": x[..., :4, :4], "SpatialFullConvolutionMap": x[0, 0]}  # (or 2-D)
    with pytest.raises(InputError, match=rf"{name}"):
        module.forward(too_small.get(name, x[:, :, :1, :1]))
    with pytest.raises(InputTypeError, match=rf"{name}.*float32"):
        module.forward(x.astype(np.float32))
    out = module.float().forward(x.astype(np.float32))
    assert out.dtype == np.float32 and module.backward(x.astype(np.float32), np.ones_like(out)).dtype == np.float32
    assert type(module).from_config(module.config()).config() == module.config()
    module.double().gradInput = None
    module.zeroGradParameters()
    assert module.backward(x, np.ones(module.forward(x).shape)) is None
    assert all(g.any() for g in module.parameters()[1])


@pytest.mark.parametrize(("make", "bad"), [
    (lambda: nn.SpatialDilatedConvolution(2, 3, 3, 3, dilationW=0), "dilationW must be an integer >= 1"),
    (lambda: nn.SpatialFullConvolution(2, 3, 0, 3), "kW must be an integer >= 1"),
    (lambda: nn.SpatialDepthWiseConvolution(2, 3, 3, 3, padW=-1), "padW must be an integer >= 0"),
    (lambda: nn.SpatialSubSampling(2, 3, 3, 0), "dW must be an integer >= 1"),
    (lambda: nn.SpatialConvolutionMap(nn.tables.full(2, 2), 3, 3, 1, 0), r"dH must be (at least 1|an integer >= 1)"),
])
def test_bad_constructor_arguments_are_refused(make, bad):
    with pytest.raises(InputError, match=bad):
        make()


def test_default_initialisation_is_torchs():
    bound = 1 / math.sqrt(3 * 3 * 40)
    for module in (nn.SpatialDilatedConvolution(40, 8, 3, 3), nn.SpatialFullConvolution(40, 8, 3, 3),
                   nn.SpatialDepthWiseConvolution(40, 2, 3, 3), nn.SpatialConvolutionLocal(40, 2, 4, 4, 3, 3)):
        assert uniform_within(module.weight, bound) and uniform_within(module.bias, bound)
    module = nn.SpatialFullConvolution(40, 8, 3, 3).reset(0, stdv=0.01)
    assert uniform_within(module.weight, 0.01)


def test_a_network_of_the_variants_saves_and_loads(tmp_path):
    from ember import io

    rng = np.random.default_rng(10)
    model = nn.Sequential(
        nn.SpatialConvolutionMap(nn.tables.random(3, 4, 2, rng=rng), 3, 3, rng=rng), nn.Tanh(),
        nn.SpatialSubSampling(4, 2, 2, 2, 2, rng=rng), nn.SpatialDepthWiseConvolution(4, 2, 3, 3, padW=1, rng=rng),
        nn.SpatialDilatedConvolution(8, 3, 3, 3, 1, 1, 2, 2, 2, 2, rng=rng),
        nn.SpatialFullConvolution(3, 2, 3, 3, 2, 2, 1, 1, 1, 1, rng=rng),
        nn.SpatialFullConvolutionMap(nn.tables.oneToOne(2), 2, 2, rng=rng),
        nn.SpatialConvolutionLocal(2, 1, 9, 9, 3, 3, 2, 2, rng=rng))
    x = rng.standard_normal((2, 3, 10, 10))
    loaded = io.load(io.save(model, tmp_path / "variants.safetensors"))
    assert loaded.forward(x).shape == (2, 1, 4, 4)
    np.testing.assert_array_equal(loaded.output, model.forward(x))
