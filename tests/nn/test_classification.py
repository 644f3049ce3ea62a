"""ember/nn/classification.py and the new criteria of loss.py: values, stability, Torch's conventions,
errors (test_loss.py's catalog checks gradients, batches, float32 and PyTorch)."""

import numpy as np
import pytest

from ember import nn


def test_bce_with_logits_is_finite_for_huge_logits():
    c = nn.BCEWithLogitsCriterion()
    x, t = np.array([1000.0, -1000.0]), np.array([0.0, 1.0])
    assert c.forward(x, t) == pytest.approx(1000.0)
    np.testing.assert_allclose(c.backward(x, t), [0.5, -0.5])


def test_multilabel_margin_stops_at_the_first_minus_one():
    c = nn.MultiLabelMarginCriterion()
    x = np.array([0.1, 0.2, 0.4, 0.8])
    # classes 3 and 0; the 1 after -1 is ignored (PyTorch's documented example)
    assert c.forward(x, np.array([3, 0, -1, 1])) == pytest.approx(0.85)
    with pytest.raises(IndexError, match="MultiLabelMarginCriterion: target 4 out of range"):
        c.forward(x, np.array([4, -1, 0, 0]))


def test_class_simplex_vertices_are_unit_and_equiangular():
    c = nn.ClassSimplexCriterion(5)
    gram = c.simplex @ c.simplex.T
    np.testing.assert_allclose(np.diag(gram), 1.0)
    off = gram[~np.eye(5, dtype=bool)]
    np.testing.assert_allclose(off, -1 / 4)
    assert c.forward(c.simplex[2], 2) == 0.0
    np.testing.assert_array_equal(c.getTopPrediction(c.simplex[[3, 1]]), [3, 1])
    with pytest.raises(ValueError, match="ClassSimplexCriterion.*n_classes must be an integer > 1"):
        nn.ClassSimplexCriterion(1)


def test_spatial_class_nll_picks_each_pixels_class():
    x = np.log(np.full((2, 1, 2), 0.5))
    x[0, 0, 0] = 0.0
    t = np.array([[0, 1]])
    assert nn.SpatialClassNLLCriterion().forward(x, t) == pytest.approx(-np.log(0.5) / 2)
    with pytest.raises(ValueError, match=r"SpatialClassNLLCriterion: expected a target of shape \(1, 2\)"):
        nn.SpatialClassNLLCriterion().forward(x, np.zeros((2, 2), dtype=int))


def test_weighted_mse_weights_the_target_as_torch():
    c = nn.WeightedMSECriterion(np.array([2.0, 0.0]))
    assert c.forward(np.array([[2.0, 1.0]]), np.array([[1.0, 5.0]])) == pytest.approx(0.5)


def test_l1_cost_and_module_criterion():
    assert nn.L1Cost().forward(np.array([-1.0, 2.0])) == 3.0
    np.testing.assert_array_equal(nn.L1Cost().backward(np.array([-1.0, 0.0, 2.0])), [-1, 0, 1])
    c = nn.ModuleCriterion(nn.ClassNLLCriterion(), nn.LogSoftMax())
    x = np.array([[1.0, 2.0, 3.0]])
    assert c.forward(x, np.array([2])) == pytest.approx(nn.CrossEntropyCriterion().forward(x, np.array([2])))
    assert repr(c) == "nn.ModuleCriterion(ClassNLLCriterion, input=LogSoftMax)"
    with pytest.raises(TypeError, match="ModuleCriterion: expected a Criterion"):
        nn.ModuleCriterion(nn.Tanh())
