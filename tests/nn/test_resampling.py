"""upsampling.py and padding.py: sizes, values, errors; the catalog checks Jacobians, batches and PyTorch."""

import numpy as np
import pytest

from ember import nn


def test_nearest_copies_blocks_and_sums_them_back():
    x = np.arange(4.0).reshape(1, 2, 2)
    m = nn.SpatialUpSamplingNearest(2)
    y = m.forward(x)
    np.testing.assert_array_equal(y[0, :2, :2], 0.0)
    np.testing.assert_array_equal(m.backward(x, np.ones_like(y)), np.full((1, 2, 2), 4.0))


def test_bilinear_sizes_follow_torch():
    assert nn.SpatialUpSamplingBilinear(3).forward(np.ones((1, 2, 4))).shape == (1, 4, 10)
    y = nn.UpSampling(2, "linear").forward(np.arange(3.0).reshape(1, 1, 1, 1, 3))
    np.testing.assert_allclose(y[0, 0, 0, 0], [0, 0.5, 1, 1.5, 2])


def test_reflection_and_replication_values():
    x = np.array([[[1.0, 2.0, 3.0]]])
    np.testing.assert_array_equal(nn.SpatialReflectionPadding(2, 0, 0, 0).forward(x), [[[3, 2, 1, 2, 3]]])
    np.testing.assert_array_equal(nn.SpatialReplicationPadding(2, 1, 0, 0).forward(x), [[[1, 1, 1, 2, 3, 3]]])
    m = nn.SpatialReplicationPadding(2, 1, 0, 0)
    m.forward(x)
    g = m.backward(x, np.ones((1, 1, 6)))
    np.testing.assert_array_equal(g, [[[3, 1, 2]]])


def test_padding_sides_and_index():
    x = np.array([1.0, 2.0])
    np.testing.assert_array_equal(nn.Padding(0, 2).forward(x), [1, 2, 0, 0])
    np.testing.assert_array_equal(nn.Padding(0, -1, value=7).forward(x), [7, 1, 2])
    np.testing.assert_array_equal(nn.Padding(0, 1, index=1).forward(x), [1, 0, 2])


def test_errors_name_the_module():
    with pytest.raises(ValueError, match=r"SpatialReflectionPadding\(l=3, r=3, t=3, b=3\): reflection padding"):
        nn.SpatialReflectionPadding(3).forward(np.ones((1, 3, 3)))
    with pytest.raises(ValueError, match="UpSampling.*nearest-neighbour up-sampling requires a scale_factor"):
        nn.UpSampling({"oheight": 3, "owidth": 3})
    with pytest.raises(TypeError, match=r"SpatialUpSamplingNearest: scale must be an integer, got 1.5 \(float\)"):
        nn.SpatialUpSamplingNearest(1.5)
