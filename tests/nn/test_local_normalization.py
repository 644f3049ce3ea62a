"""Local normalisation beyond the catalog: the edge correction, the threshold, refusals."""

import numpy as np
import pytest

from ember import nn
from ember.errors import InputError


def test_a_constant_image_has_zero_local_contrast_up_to_the_edges():
    x = np.full((2, 6, 7), 3.0)
    np.testing.assert_allclose(nn.SpatialSubtractiveNormalization(2).forward(x), 0.0, atol=1e-12)
    # Torch divides √S(x²) by coef (the kernel's share inside the image), not S(x²): a constant c gives
    # c/√coef there, so the output is 1 inside and √coef at the edges (2/3 at a corner of a 3x3 kernel)
    out = nn.SpatialDivisiveNormalization(2, np.ones((3, 3))).forward(x)
    np.testing.assert_allclose(out[:, 1:-1, 1:-1], 1.0)
    np.testing.assert_allclose(out[:, 0, 0], 2 / 3)
    np.testing.assert_allclose(out[:, 0, 3], np.sqrt(6 / 9))


def test_a_flat_region_is_divided_by_thresval():
    x = np.zeros((1, 5, 5))
    x[0, 0, 0] = 1e-6  # deviations far below the threshold everywhere
    out = nn.SpatialDivisiveNormalization(1, np.ones(3), threshold=0.1, thresval=2.0).forward(x)
    np.testing.assert_allclose(out, x / 2.0)


def test_contrastive_is_subtractive_then_divisive():
    x = np.random.default_rng(0).standard_normal((3, 2, 6, 6))
    kernel = [1.0, 2.0, 1.0]
    expected = nn.SpatialDivisiveNormalization(2, kernel).forward(nn.SpatialSubtractiveNormalization(2, kernel)
                                                                   .forward(x))
    np.testing.assert_allclose(nn.SpatialContrastiveNormalization(2, kernel).forward(x), expected)


@pytest.mark.parametrize("kernel", [np.ones((2, 3)), np.ones(4), np.ones((3, 3, 3)), np.zeros(3)])
def test_a_bad_kernel_is_refused_naming_the_module(kernel):
    with pytest.raises(InputError, match="SpatialSubtractiveNormalization: the averaging kernel"):
        nn.SpatialSubtractiveNormalization(1, kernel)


def test_the_wrong_number_of_planes_is_refused():
    with pytest.raises(InputError, match=r"SpatialDivisiveNormalization\(3, kernel 9x9.*got \(2, 4, 4\)"):
        nn.SpatialDivisiveNormalization(3).forward(np.ones((2, 4, 4)))
