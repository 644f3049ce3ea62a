"""Window pooling (dilated.py, volumetric.py, windows.py): sizes, indices, ties, errors; the catalog checks
Jacobians, batches and PyTorch."""

import numpy as np
import pytest

from ember import nn
from ember.nn.windows import window_count


@pytest.mark.parametrize(("size", "k", "d", "pad", "dil", "floor", "ceil"),
                         [(5, 3, 1, 0, 2, 1, 1), (7, 3, 2, 1, 2, 3, 3), (6, 2, 2, 0, 1, 3, 3), (5, 2, 2, 0, 1, 2, 3)])
def test_window_counts(size, k, d, pad, dil, floor, ceil):
    assert window_count(size, k, d, pad, dil, False) == floor
    assert window_count(size, k, d, pad, dil, True) == ceil


def test_indices_are_positions_in_the_input_and_ties_go_to_the_first():
    pool = nn.SpatialDilatedMaxPooling(2, 2, 2, 2)
    x = np.zeros((1, 2, 4))
    x[0, 1, 3] = 5.0
    y = pool.forward(x)
    np.testing.assert_array_equal(y, [[[0.0, 5.0]]])
    np.testing.assert_array_equal(pool.indices, [[[0, 7]]])  # the tie of zeros: the first position
    np.testing.assert_array_equal(pool.backward(x, np.ones((1, 1, 2))), [[[1, 0, 0, 0], [0, 0, 0, 1]]])


def test_temporal_max_pooling_pools_frames_feature_by_feature():
    x = np.array([[1.0, 8.0], [3.0, 2.0], [0.0, 9.0], [4.0, 1.0]])
    pool = nn.TemporalMaxPooling(2)
    np.testing.assert_array_equal(pool.forward(x), [[3, 8], [4, 9]])
    np.testing.assert_array_equal(pool.indices, [[1, 0], [3, 2]])


def test_errors_name_the_module():
    with pytest.raises(ValueError, match=r"VolumetricMaxPooling\(2x2x2, 2,2,2\): expected input of shape"):
        nn.VolumetricMaxPooling(2, 2, 2).forward(np.ones((2, 4, 4)))
    with pytest.raises(ValueError, match="SpatialDilatedMaxPooling.*too small for the kernel"):
        nn.SpatialDilatedMaxPooling(3, 3, 1, 1, 0, 0, 3, 3).forward(np.ones((1, 5, 5)))
    with pytest.raises(ValueError, match="padding .* must be at most half the kernel size"):
        nn.VolumetricAveragePooling(2, 2, 2, 1, 1, 1, 2, 0, 0)
