"""ember/nn/ranking.py: values from the definitions, Torch's kinks, errors (test_loss.py's catalog checks
gradients, batches, float32 and PyTorch)."""

import math

import numpy as np
import pytest

from ember import nn


def test_margin_ranking_values_and_active_kink():
    c = nn.MarginRankingCriterion()
    x = [np.array([2.0]), np.array([1.0])]
    assert c.forward(x, 1) == 0.0  # ranked right by the margin: the kink counts as active, as in Torch
    grads = c.backward(x, 1)
    assert grads[0][0] == -1.0 and grads[1][0] == 1.0
    assert c.forward(x, -1) == 2.0


def test_cosine_embedding_values():
    c = nn.CosineEmbeddingCriterion(0.5)
    x = [np.array([[1.0, 0.0], [1.0, 1.0]]), np.array([[0.0, 1.0], [1.0, 1.0]])]
    assert c.forward(x, np.array([1.0, -1.0])) == pytest.approx((1.0 + 0.5) / 2)


def test_l1_hinge_embedding_values():
    c = nn.L1HingeEmbeddingCriterion(margin=4.0)
    x = [np.array([1.0, 2.0]), np.array([0.0, 0.0])]
    assert c.forward(x, 1) == 3.0
    assert c.forward(x, -1) == 1.0
    np.testing.assert_array_equal(c.backward(x, -1)[0], [-1.0, -1.0])


def test_distance_ratio_needs_no_target_and_is_stable():
    c = nn.DistanceRatioCriterion()
    x = [np.array([0.0, 1000.0]), np.array([0.0, 0.0])]
    assert c.forward(x) == pytest.approx((math.log(2.0) + 1000.0) / 2)
    np.testing.assert_allclose(c.backward(x)[0], [0.25, 0.5])


def test_errors_name_the_criterion():
    with pytest.raises(TypeError, match="CosineEmbeddingCriterion.*a list of two arrays"):
        nn.CosineEmbeddingCriterion().forward(np.ones(3), 1)
    with pytest.raises(ValueError, match=r"MarginRankingCriterion.*two arrays of one shape"):
        nn.MarginRankingCriterion().forward([np.ones(2), np.ones(3)], np.ones(2))
    with pytest.raises(ValueError, match=r"L1HingeEmbeddingCriterion.*target array of shape \(2,\)"):
        nn.L1HingeEmbeddingCriterion().forward([np.ones((2, 3)), np.ones((2, 3))], np.ones(3))
