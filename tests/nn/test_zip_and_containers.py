"""zip.py and the containers Parallel, DepthConcat, MapTable, Bottle: sharing, shapes, errors."""

import numpy as np
import pytest

from ember import nn
from ember.errors import InputError


def test_map_table_clones_share_the_parameters_and_their_gradients():
    linear = nn.Linear(3, 2)
    m = nn.MapTable(linear)
    x = [np.ones(3), 2 * np.ones(3)]
    m.forward(x)
    m.zeroGradParameters()
    m.backward(x, [np.ones(2), np.ones(2)])
    assert len(m.parameters()[0]) == 2
    np.testing.assert_allclose(linear.gradWeight, np.full((2, 3), 3.0))
    params, _ = m.getParameters()
    params.fill(0.0)
    np.testing.assert_array_equal(m.forward(x)[1], [0.0, 0.0])  # the clones follow the flattened parameters


def test_bottle_folds_leading_dimensions():
    m = nn.Bottle(nn.Linear(3, 2))
    assert m.forward(np.ones((4, 5, 3))).shape == (4, 5, 2)


def test_depth_concat_centres_smaller_outputs():
    m = nn.DepthConcat(0, nn.SpatialMaxPooling(3, 3, 1, 1), nn.Identity())
    y = m.forward(np.ones((1, 5, 5)))
    assert y.shape == (2, 5, 5)
    np.testing.assert_array_equal(y[0], np.pad(np.ones((3, 3)), 1))


def test_mixture_table_weights_experts():
    y = nn.MixtureTable().forward([np.array([0.25, 0.75]), [np.array([4.0, 0.0]), np.array([0.0, 4.0])]])
    np.testing.assert_allclose(y, [1.0, 3.0])


def test_errors_name_the_module():
    with pytest.raises(ValueError, match=r"Parallel\(0, 0\): expected 2 slices along dim 0"):
        nn.Parallel(0, 0, nn.Tanh(), nn.Tanh()).forward(np.ones((3, 2)))
    with pytest.raises(ValueError, match="MapTable: holds one module"):
        nn.MapTable(nn.Tanh()).add(nn.Tanh())
    with pytest.raises(ValueError, match="MixtureTable: expected 2 experts"):
        nn.MixtureTable().forward([np.ones(2), [np.ones(3)]])
    with pytest.raises(TypeError, match="ZipTable: expected a non-empty list of lists"):
        nn.ZipTable().forward([np.ones(2)])


def test_mixture_table_refuses_experts_of_other_shapes_or_batches():
    gater = np.full((2, 2), 0.5)
    with pytest.raises(InputError, match=r"MixtureTable: expected experts of one shape, got shapes \[\(2, 3\), \("):
        nn.MixtureTable().forward([gater, [np.ones((2, 3)), np.ones((2, 4))]])
    with pytest.raises(InputError, match=r"MixtureTable: expected experts of shape \(2, \.\.\.\)"):
        nn.MixtureTable().forward([gater, [np.ones((3, 3)), np.ones((3, 3))]])
    with pytest.raises(InputError, match="MixtureTable: expected 2 experts along dim 0 and 2 rows"):
        nn.MixtureTable().forward([gater, np.ones((3, 2, 4))])
    m, empty = nn.MixtureTable(), [gater[:0], [np.ones((0, 3))] * 2]  # an empty batch
    m.forward(empty)
    grad = m.backward(empty, np.ones((0, 3)))
    assert grad[0].shape == (0, 2) and grad[1][0].shape == (0, 3)
