"""ember/nn/feature.py: GLU's halves, the spatial soft-max family's shapes and errors."""

import numpy as np
import pytest

from ember import nn


def test_glu_gates_the_first_half_with_the_second():
    x = np.array([[1.0, 2.0, 0.0, 100.0]])
    np.testing.assert_allclose(nn.GatedLinearUnit().forward(x), [[0.5, 2.0]])
    with pytest.raises(ValueError, match="GatedLinearUnit: expected an even size along dim -1"):
        nn.GatedLinearUnit().forward(np.ones(3))
    with pytest.raises(ValueError, match=r"GatedLinearUnit\(dim=2\): dim 2 is out of range"):
        nn.GatedLinearUnit(2).forward(np.ones((2, 2)))


def test_spatial_softmax_sums_to_one_over_channels_per_pixel():
    x = np.random.default_rng(0).standard_normal((2, 3, 4, 5))
    np.testing.assert_allclose(nn.SpatialSoftMax().forward(x).sum(axis=1), 1.0)
    np.testing.assert_allclose(np.exp(nn.SpatialLogSoftMax().forward(x)).sum(axis=1), 1.0)
    with pytest.raises(ValueError, match=r"SpatialSoftMax: expected input of shape \(C, H, W\)"):
        nn.SpatialSoftMax().forward(np.ones((2, 3)))
