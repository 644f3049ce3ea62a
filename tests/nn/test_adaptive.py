"""adaptive.py, unpooling.py, normalize.py: values, bins, errors (the catalog checks Jacobians and PyTorch)."""

import math

import numpy as np
import pytest

from ember import nn
from ember.nn.adaptive import bin_edges


def test_adaptive_bins_overlap_as_torch():
    start, end = bin_edges(5, 3)
    np.testing.assert_array_equal(start, [0, 1, 3])
    np.testing.assert_array_equal(end, [2, 4, 5])


def test_adaptive_pooling_to_one_pixel_is_the_global_mean_and_max():
    x = np.random.default_rng(0).standard_normal((2, 3, 5, 4))
    np.testing.assert_allclose(nn.SpatialAdaptiveAveragePooling(1, 1).forward(x)[..., 0, 0], x.mean(axis=(2, 3)))
    np.testing.assert_allclose(nn.SpatialAdaptiveMaxPooling(1, 1).forward(x)[..., 0, 0], x.max(axis=(2, 3)))


def test_unpooling_puts_maxima_back():
    x = np.array([[[1.0, 5.0], [3.0, 2.0]]])
    pool = nn.SpatialMaxPooling(2, 2)
    y = nn.SpatialMaxUnpooling(pool).forward(pool.forward(x))
    np.testing.assert_array_equal(y, [[[0.0, 5.0], [0.0, 0.0]]])
    with pytest.raises(ValueError, match="SpatialMaxUnpooling.*run the pooling module forward first"):
        nn.SpatialMaxUnpooling(nn.SpatialMaxPooling(2, 2)).forward(np.ones((1, 1, 1)))


def test_normalize_and_lrn_values():
    np.testing.assert_allclose(nn.Normalize(2).forward(np.array([3.0, 4.0])), [0.6, 0.8])
    np.testing.assert_allclose(nn.Normalize(math.inf).forward(np.array([-4.0, 2.0])), [-1.0, 0.5])
    x = np.ones((3, 1, 1))
    y = nn.SpatialCrossMapLRN(3, alpha=3.0, beta=1.0, k=0.0).forward(x)
    np.testing.assert_allclose(y[:, 0, 0], [1 / 2, 1 / 3, 1 / 2])
    with pytest.raises(ValueError, match=r"Normalize\(2\): expected input of shape \(n,\) or \(batch, n\)"):
        nn.Normalize(2).forward(np.ones((2, 2, 2)))


def test_dynamic_k_max_keeps_temporal_order():
    x = np.array([[1.0], [5.0], [2.0], [4.0]])
    m = nn.TemporalDynamicKMaxPooling(2)
    np.testing.assert_array_equal(m.forward(x), [[5.0], [4.0]])
    np.testing.assert_array_equal(m.indices[:, 0], [1, 3])
    assert nn.TemporalDynamicKMaxPooling(1, 0.5).forward(np.ones((5, 2))).shape == (3, 2)
    with pytest.raises(ValueError, match=r"TemporalDynamicKMaxPooling\(6\): sequence of length 4 is shorter"):
        nn.TemporalDynamicKMaxPooling(6).forward(x)


def test_feature_lp_pooling_values_and_arguments():
    np.testing.assert_allclose(nn.FeatureLPPooling(2, 2, 2).forward(np.array([3.0, 4.0, 6.0, 8.0])), [5.0, 10.0])
    with pytest.raises(ValueError, match=r"FeatureLPPooling.*width in 2\.\.16"):
        nn.FeatureLPPooling(1, 1, 2)
