"""Pooling and zero padding: Torch's ceil mode, divisors, ties, cropping, errors."""

import itertools
from functools import partial

import numpy as np
import pytest

from ember import io, nn
from ember.nn.pooling import pooled_size


@pytest.mark.parametrize(("size", "k", "d", "pad", "floor", "ceil"),
                         [(5, 2, 2, 0, 2, 3), (4, 2, 2, 0, 2, 2), (6, 3, 2, 1, 3, 4),
                          (5, 3, 3, 1, 2, 2),  # ceil would give 3, but that window would start in the padding
                          (7, 3, 2, 0, 3, 3), (28, 2, 2, 0, 14, 14)])
def test_output_sizes_floor_and_ceil(size, k, d, pad, floor, ceil):
    assert pooled_size(size, k, d, pad, False) == floor
    assert pooled_size(size, k, d, pad, True) == ceil
    x = np.zeros((1, size, size))
    assert nn.SpatialMaxPooling(k, k, d, d, pad, pad).forward(x).shape == (1, floor, floor)
    assert nn.SpatialMaxPooling(k, k, d, d, pad, pad).ceil().forward(x).shape == (1, ceil, ceil)
    assert nn.SpatialAveragePooling(k, k, d, d, pad, pad).ceil().forward(x).shape == (1, ceil, ceil)


def test_ceil_and_floor_return_self_and_switch_back():
    pool = nn.SpatialMaxPooling(2, 2)
    assert pool.ceil() is pool
    x = np.zeros((1, 5, 5))
    assert pool.forward(x).shape == (1, 3, 3)
    assert pool.floor() is pool
    assert pool.forward(x).shape == (1, 2, 2)


SIZES = [(h, k, d, p) for h, k, d in itertools.product((3, 4, 5, 6, 7), (1, 2, 3), (1, 2, 3))
         for p in range(k // 2 + 1) if h + 2 * p >= k]


@pytest.mark.parametrize("ceil", [False, True])
def test_max_and_average_pooling_match_pytorch_over_many_geometries(torch, ceil):
    F = torch.nn.functional
    rng = np.random.default_rng(0)
    for h, k, d, p in SIZES:
        x = rng.standard_normal((2, 2, h, h + 1))
        geometry = {"kernel_size": k, "stride": d, "padding": p, "ceil_mode": ceil}
        modules = [(nn.SpatialMaxPooling(k, k, d, d, p, p, ceil_mode=ceil), partial(F.max_pool2d, **geometry)),
                   (nn.SpatialAveragePooling(k, k, d, d, p, p, ceil_mode=ceil), partial(F.avg_pool2d, **geometry)),
                   (nn.SpatialAveragePooling(k, k, d, d, p, p, ceil_mode=ceil, count_include_pad=False),
                    partial(F.avg_pool2d, **geometry, count_include_pad=False))]
        for module, reference in modules:
            x_t = torch.tensor(x, requires_grad=True)
            out_t = reference(x_t)
            g = rng.standard_normal(tuple(out_t.shape))
            out_t.backward(torch.tensor(g))
            what = f"{module} on {x.shape}"
            np.testing.assert_allclose(module.forward(x), out_t.detach().numpy(), atol=1e-12, err_msg=what)
            np.testing.assert_allclose(module.backward(x, g), x_t.grad.numpy(), atol=1e-12, err_msg=what)


def test_max_pooling_default_stride_is_the_window_and_values():
    pool = nn.SpatialMaxPooling(2, 2)
    assert (pool.dW, pool.dH) == (2, 2)
    x = np.arange(16.0).reshape(1, 4, 4)
    np.testing.assert_array_equal(pool.forward(x), [[[5, 7], [13, 15]]])
    grad = pool.backward(x, np.ones((1, 2, 2)))
    np.testing.assert_array_equal(grad[0], [[0, 0, 0, 0], [0, 1, 0, 1], [0, 0, 0, 0], [0, 1, 0, 1]])


def test_max_pooling_ties_send_the_gradient_to_the_first_maximum():
    pool = nn.SpatialMaxPooling(2, 2)
    x = np.ones((1, 2, 2))
    pool.forward(x)
    np.testing.assert_array_equal(pool.backward(x, np.full((1, 1, 1), 3.0))[0], [[3, 0], [0, 0]])


def test_overlapping_max_windows_accumulate_gradient():
    pool = nn.SpatialMaxPooling(2, 2, 1, 1)
    x = np.zeros((1, 3, 3))
    x[0, 1, 1] = 1.0  # the maximum of all four windows
    pool.forward(x)
    grad = pool.backward(x, np.ones((1, 2, 2)))
    assert grad[0, 1, 1] == 4 and grad.sum() == 4


def test_average_pooling_divisor_with_and_without_padding():
    x = np.ones((1, 3, 3))
    include = nn.SpatialAveragePooling(3, 3, 1, 1, 1, 1)
    exclude = nn.SpatialAveragePooling(3, 3, 1, 1, 1, 1).setCountExcludePad()
    out = include.forward(x)
    np.testing.assert_allclose(out[0], [[4 / 9, 6 / 9, 4 / 9], [6 / 9, 1, 6 / 9], [4 / 9, 6 / 9, 4 / 9]])
    np.testing.assert_allclose(exclude.forward(x), np.ones((1, 3, 3)))
    assert exclude.setCountIncludePad() is exclude
    np.testing.assert_allclose(exclude.forward(x), out)


def test_average_pooling_default_stride_is_one():
    pool = nn.SpatialAveragePooling(2, 2)
    assert pool.forward(np.ones((2, 5, 5))).shape == (2, 4, 4)


def test_pooling_configuration_survives_save_and_load(tmp_path):
    model = nn.Sequential()
    model.add(nn.SpatialMaxPooling(3, 3, 2, 2, 1, 1).ceil())
    model.add(nn.SpatialAveragePooling(3, 3, 2, 2, 1, 1).setCountExcludePad().ceil())
    path = io.save(model, tmp_path / "pool.safetensors")
    loaded = io.load(path)
    x = np.random.default_rng(0).standard_normal((2, 7, 7))
    np.testing.assert_array_equal(loaded.forward(x), model.forward(x))
    assert repr(loaded.modules[1]) == "nn.SpatialAveragePooling(3x3, 2,2, 1,1, ceil, count_exclude_pad)"


def test_pooling_errors_name_the_module():
    with pytest.raises(ValueError, match=r"SpatialMaxPooling: padding \(2,0\) must be at most half the kernel"):
        nn.SpatialMaxPooling(3, 3, 1, 1, 2, 0)
    with pytest.raises(ValueError, match=r"SpatialAveragePooling: dW must be an integer >= 1 \(a size\), got 0"):
        nn.SpatialAveragePooling(2, 2, 0, 1)
    pool = nn.SpatialMaxPooling(3, 3)
    with pytest.raises(ValueError, match=r"SpatialMaxPooling\(3x3, 3,3\): input 2x5 \(padded 2x5\) is smaller than"):
        pool.forward(np.zeros((1, 2, 5)))
    with pytest.raises(ValueError, match=r"SpatialMaxPooling\(3x3, 3,3\): expected input of shape \(C, H, W\) or "
                                         r"\(batch, C, H, W\), got \(5, 5\)"):
        pool.forward(np.zeros((5, 5)))


def test_zero_padding_pads_and_crops():
    x = np.arange(12.0).reshape(1, 3, 4)
    pad = nn.SpatialZeroPadding(1, -2, -1, 2)  # left 1, crop 2 on the right, crop 1 on top, 2 below
    out = pad.forward(x)
    assert out.shape == (1, 4, 3)
    np.testing.assert_array_equal(out[0], [[0, 4, 5], [0, 8, 9], [0, 0, 0], [0, 0, 0]])
    grad = pad.backward(x, np.arange(12.0).reshape(1, 4, 3))
    np.testing.assert_array_equal(grad[0], [[0, 0, 0, 0], [1, 2, 0, 0], [4, 5, 0, 0]])
    assert repr(nn.SpatialZeroPadding(2)) == "nn.SpatialZeroPadding(2, 2, 2, 2)"


def test_zero_padding_that_crops_everything_is_an_error():
    with pytest.raises(ValueError, match=r"SpatialZeroPadding\(-2, -2, 0, 0\): input 3x4 is too small"):
        nn.SpatialZeroPadding(-2, -2, 0, 0).forward(np.zeros((1, 3, 4)))
    with pytest.raises(ValueError, match=r"SpatialZeroPadding.*got \(3, 4\)"):
        nn.SpatialZeroPadding(1).forward(np.zeros((3, 4)))


def test_zero_padding_shift_beyond_the_input():
    out = nn.SpatialZeroPadding(0, 0, 5, -4).forward(np.ones((1, 3, 2)))
    np.testing.assert_array_equal(out, np.zeros((1, 4, 2)))


def test_pooling_float32_stays_float32():
    x = np.random.default_rng(0).standard_normal((2, 3, 5, 5)).astype(np.float32)
    for module in (nn.SpatialMaxPooling(2, 2).ceil(), nn.SpatialAveragePooling(3, 3, 2, 2, 1, 1),
                   nn.SpatialZeroPadding(1, -1)):
        out = module.forward(x)
        assert out.dtype == np.float32
        assert module.backward(x, np.ones_like(out)).dtype == np.float32


def test_max_pooling_propagates_nan_as_torch():
    x = np.zeros((1, 2, 4))
    x[0, 1, 3] = np.nan
    out = nn.SpatialMaxPooling(2, 2).forward(x)
    assert out[0, 0, 0] == 0 and np.isnan(out[0, 0, 1])


def test_max_pooling_routes_to_the_last_nan_of_a_window_as_pytorch():
    torch = pytest.importorskip("torch")
    x = np.arange(32.0).reshape(2, 4, 4)
    x[0, 0, 1] = x[0, 1, 0] = x[1, 3, 3] = np.nan  # two NaN in one window, one at a window's last tap
    pool = nn.SpatialMaxPooling(2, 2)
    out = pool.forward(x)
    grad = pool.backward(x, np.ones_like(out))
    x_t = torch.from_numpy(x).requires_grad_()
    out_t = torch.nn.functional.max_pool2d(x_t, 2)
    out_t.backward(torch.ones_like(out_t))
    np.testing.assert_array_equal(out, out_t.detach().numpy())
    np.testing.assert_array_equal(grad, x_t.grad.numpy())
    unpooled = nn.SpatialMaxUnpooling(pool).forward(out)
    _, idx = torch.nn.functional.max_pool2d(torch.from_numpy(x), 2, return_indices=True)
    np.testing.assert_array_equal(unpooled, torch.nn.functional.max_unpool2d(out_t.detach(), idx, 2).numpy())


@pytest.mark.parametrize("dims", [1, 2, 3])
def test_window_max_pooling_routes_to_the_last_nan_as_pytorch(dims):
    torch = pytest.importorskip("torch")
    x = np.arange(2.0 * 4 ** dims).reshape((2,) + (4,) * dims)
    x.reshape(-1)[[0, 1, 4, 5, x.size - 1]] = np.nan  # NaN pairs in one window, and at a window's last tap
    pool = [nn.TemporalMaxPooling(2), nn.SpatialDilatedMaxPooling(2, 2, 2, 2),
            nn.VolumetricMaxPooling(2, 2, 2)][dims - 1]
    x_t = torch.from_numpy(x if dims > 1 else x.T.copy()).requires_grad_()
    functional = torch.nn.functional
    out_t = [lambda t: functional.max_pool1d(t.T[None], 2)[0].T, lambda t: functional.max_pool2d(t, 2),
             lambda t: functional.max_pool3d(t, 2)][dims - 1](x_t)
    out_t.backward(torch.ones_like(out_t))
    x_e = x if dims > 1 else x.T.copy()
    out = pool.forward(x_e)
    np.testing.assert_array_equal(out, out_t.detach().numpy())
    np.testing.assert_array_equal(pool.backward(x_e, np.ones_like(out)), x_t.grad.numpy())


@pytest.mark.parametrize("kind", ["adaptive", "fractional"])
def test_adaptive_and_fractional_max_pooling_route_to_the_last_nan_as_pytorch(kind):
    torch = pytest.importorskip("torch")
    functional = torch.nn.functional
    x = np.arange(32.0).reshape(1, 2, 4, 4)
    x.reshape(-1)[[0, 1, 4, 5, 31]] = np.nan
    x_t = torch.from_numpy(x).requires_grad_()
    if kind == "adaptive":
        pool = nn.SpatialAdaptiveMaxPooling(2, 2)
        out = pool.forward(x)
        out_t = functional.adaptive_max_pool2d(x_t, 2)
    else:
        pool = nn.SpatialFractionalMaxPooling(2, 2, 2, 2, fixed=True, rng=0)
        out = pool.forward(x)
        samples = torch.from_numpy(np.array(pool.randomSamples, dtype=np.float64))
        out_t = functional.fractional_max_pool2d(x_t, 2, output_size=2, _random_samples=samples)
    out_t.backward(torch.ones_like(out_t))
    np.testing.assert_array_equal(out, out_t.detach().numpy())
    np.testing.assert_array_equal(pool.backward(x, np.ones_like(out)), x_t.grad.numpy())
