"""Reductions: the seed's values, Torch's batch and tie behaviours, errors."""

from __future__ import annotations

import numpy as np
import pytest

from ember import nn

# The 3x2 input of the seed's cell 17, recovered from its printed Abs and View outputs.
SEED_X = np.array([[0.9011, -0.0143], [-0.8167, 1.3009], [-0.0597, 2.5226]])


def test_sum_of_a_vector_is_a_one_element_vector():
    out = nn.Sum(0).forward(np.arange(1.0, 6.0))
    assert out.shape == (1,)
    np.testing.assert_array_equal(out, [15.0])


def test_sequential_cmul_sum_backward_like_the_seed():
    x = np.arange(1.0, 6.0)
    f, g = nn.CMul(5, rng=np.random.default_rng(0)), nn.Sum(0)
    h = nn.Sequential(f, g)
    np.testing.assert_allclose(h.forward(x), [np.sum(x * f.weight)])
    grad_out = np.array([1.6834])
    h.zeroGradParameters()
    h.backward(x, grad_out)
    np.testing.assert_allclose(g.gradInput, np.full(5, 1.6834))
    np.testing.assert_allclose(f.gradInput, g.gradInput * f.weight)
    np.testing.assert_allclose(f.gradWeight, 1.6834 * x)


def test_concat_of_cmul_and_sum_gives_six_elements_like_the_seed():
    x = np.arange(1.0, 6.0)
    cmul = nn.CMul(5, rng=np.random.default_rng(0))
    out = nn.Concat(0, cmul, nn.Sum(0)).forward(x)
    assert out.shape == (6,)
    np.testing.assert_allclose(out, np.append(x * cmul.weight, 15.0))


def test_seed_cell_17_max_and_mean_translated_to_0_based():
    # Lua nn.Max(1, 2) and nn.Mean(2, 2): dims become 0-based, nInputDims is a count and stays 2.
    np.testing.assert_allclose(nn.Max(0, 2).forward(SEED_X), [0.9011, 2.5226])
    np.testing.assert_allclose(nn.Mean(1, 2).forward(SEED_X), [0.4434, 0.2421, 1.2315], atol=1e-4)


def test_n_input_dims_one_makes_a_2d_input_a_batch():
    # With n_input_dims=1 the (3, 2) input is 3 examples of 2 numbers: dim 0 becomes axis 1.
    np.testing.assert_allclose(nn.Max(0, 1).forward(SEED_X), SEED_X.max(axis=1))
    np.testing.assert_allclose(nn.Mean(0, 1).forward(SEED_X), SEED_X.mean(axis=1))
    # ... and a single example is reduced over its only dimension.
    np.testing.assert_allclose(nn.Max(0, 1).forward(SEED_X[0]), [0.9011])
    # Mean(1, 1) would reduce dim 1 of each 1-D example: there is none.
    with pytest.raises(IndexError, match=r"Mean\(1, n_input_dims=1\): cannot reduce dim 1 \(dim \+ 1: the first "
                                         r"dimension is a batch\) of an input of shape \(3, 2\)"):
        nn.Mean(1, 1).forward(SEED_X)


def test_negative_dim_counts_from_the_end_and_never_shifts():
    x = np.random.default_rng(0).standard_normal((3, 4, 5))
    np.testing.assert_allclose(nn.Sum(-1, 2).forward(x), x.sum(axis=-1))
    np.testing.assert_allclose(nn.Min(-3).forward(x), x.min(axis=0))


def test_squeeze_false_keeps_the_reduced_dimension():
    x = np.ones((2, 3))
    assert nn.Sum(1, squeeze=False).forward(x).shape == (2, 1)
    np.testing.assert_allclose(nn.Sum(0, size_average=True).forward(np.array([[1.0, 2.0], [3.0, 6.0]])), [2.0, 4.0])


@pytest.mark.parametrize(("cls", "expected"), [(nn.Max, [0, 1, 0, 0, 0]), (nn.Min, [1, 0, 0, 0, 0])])
def test_ties_route_the_gradient_to_the_first_extreme(cls, expected):
    x = np.array([0.0, 3.0, 3.0, 0.0, 1.0])
    module = cls(0)
    module.forward(x)
    np.testing.assert_array_equal(module.backward(x, np.array([1.0])), expected)


def test_max_backward_in_batch_routes_each_row():
    x = np.array([[1.0, 5.0, 2.0], [7.0, 0.0, 7.0]])
    module = nn.Max(0, 1)
    np.testing.assert_array_equal(module.forward(x), [5.0, 7.0])
    grad = module.backward(x, np.array([10.0, 20.0]))
    np.testing.assert_array_equal(grad, [[0.0, 10.0, 0.0], [20.0, 0.0, 0.0]])


def test_mean_backward_divides_by_the_size():
    x = np.ones((2, 4))
    module = nn.Mean(1)
    module.forward(x)
    np.testing.assert_allclose(module.backward(x, np.array([4.0, 8.0])), [[1.0] * 4, [2.0] * 4])


def test_output_buffer_is_reused():
    module, x = nn.Sum(0), np.ones((3, 2))
    first = module.forward(x)
    assert module.forward(2 * x) is first


@pytest.mark.parametrize("module", [nn.Sum(2), nn.Mean(2), nn.Max(2), nn.Min(-3)])
def test_dim_out_of_range_names_the_module(module):
    with pytest.raises(IndexError, match=rf"{type(module).__name__}\(-?\d\): cannot reduce dim -?\d of an input "
                                         r"of shape \(3, 2\)"):
        module.forward(np.zeros((3, 2)))


def test_max_over_an_empty_dimension_is_an_error():
    with pytest.raises(ValueError, match=r"Max\(1\): cannot take the max over dim 1 of size 0"):
        nn.Max(1).forward(np.zeros((3, 0)))


def test_integer_input_is_rejected():
    with pytest.raises(TypeError, match=r"Sum\(0\): expected a floating-point array, got dtype int64"):
        nn.Sum(0).forward(np.arange(3))


def test_repr():
    assert repr(nn.Sum(1, 2, size_average=True, squeeze=False)) == "nn.Sum(1, n_input_dims=2, size_average=True, " \
        "squeeze=False)"
    assert repr(nn.Mean(0)) == "nn.Mean(0)"
    assert repr(nn.Max(-1)) == "nn.Max(-1)"
