"""ember.metrics.ConfusionMatrix: counts, per-class and global accuracy, Torch-style printing."""

from __future__ import annotations

import numpy as np
import pytest

from ember.metrics import ConfusionMatrix


def test_counts_rows_are_targets_columns_predictions():
    cm = ConfusionMatrix(3)
    cm.batch_add(np.array([0, 1, 2, 2, 1]), np.array([0, 1, 1, 2, 1]))
    expected = np.zeros((3, 3), dtype=np.int64)
    expected[0, 0] = 1
    expected[1, 1] = 2
    expected[1, 2] = 1
    expected[2, 2] = 1
    np.testing.assert_array_equal(cm.mat, expected)


def test_scores_and_one_hot_targets_use_argmax():
    cm = ConfusionMatrix(3)
    cm.batch_add(np.log([[0.7, 0.2, 0.1], [0.1, 0.1, 0.8]]), np.array([[1, 0, 0], [0, 1, 0]]))
    cm.add(np.array([0.1, 0.9, 0.0]), 1)
    cm.add(2, np.int64(2))
    assert cm.mat[0, 0] == 1 and cm.mat[1, 2] == 1 and cm.mat[1, 1] == 1 and cm.mat[2, 2] == 1
    assert cm.mat.sum() == 4


def test_valids_and_averages():
    cm = ConfusionMatrix(3)
    cm.batch_add(np.array([0, 1, 2, 2, 1, 1]), np.array([0, 1, 1, 2, 1, 2]))
    cm.update_valids()
    np.testing.assert_allclose(cm.valids, [1.0, 2 / 3, 1 / 2])
    # union: class 1 -> 2 / (3 + 3 - 2); class 2 -> 1 / (2 + 2 - 1)
    np.testing.assert_allclose(cm.union_valids, [1.0, 0.5, 1 / 3])
    assert cm.total_valid == pytest.approx(4 / 6)
    assert cm.average_valid == pytest.approx((1 + 2 / 3 + 1 / 2) / 3)
    assert cm.average_union_valid == pytest.approx((1 + 0.5 + 1 / 3) / 3)


def test_unseen_class_is_nan_and_left_out_of_the_average():
    cm = ConfusionMatrix(3)
    cm.batch_add(np.array([0, 1]), np.array([0, 0]))
    cm.update_valids()
    assert cm.valids[0] == 0.5 and np.isnan(cm.valids[1]) and np.isnan(cm.valids[2])
    assert cm.average_valid == 0.5


def test_printing_like_torch():
    cm = ConfusionMatrix(["setosa", "versicolor", "virginica"])
    cm.batch_add(np.array([0] * 50 + [1] * 48 + [2] * 2 + [1] + [2] * 49),
                 np.array([0] * 50 + [1] * 50 + [2] * 50))
    text = str(cm)
    lines = text.split("\n")
    assert lines[0] == "ConfusionMatrix:"
    assert lines[1] == "[[      50       0       0]   100.000% \t[class: setosa]"
    assert lines[2] == " [       0      48       2]   96.000% \t[class: versicolor]"
    assert lines[3] == " [       0       1      49]]  98.000% \t[class: virginica]"
    assert lines[4] == " + average row correct: 98.000% "
    assert lines[6] == " + global correct: 98.000%"
    assert "VOC measure" in lines[5]


def test_wide_counts_widen_the_columns():
    cm = ConfusionMatrix(2)
    cm.mat[0, 0] = 123456789
    assert str(cm).split("\n")[1] == "[[ 123456789         0]   100.000% "


def test_zero_resets():
    cm = ConfusionMatrix(2)
    cm.batch_add(np.array([0, 1]), np.array([1, 1]))
    cm.zero()
    assert cm.mat.sum() == 0 and cm.total_valid == 0.0


def test_errors():
    with pytest.raises(ValueError, match="at least 1 class"):
        ConfusionMatrix(0)
    with pytest.raises(ValueError, match="2 labels given for 3 classes"):
        ConfusionMatrix(3, labels=["a", "b"])
    cm = ConfusionMatrix(3)
    with pytest.raises(ValueError, match="targets label 3 out of range for 3 classes"):
        cm.batch_add(np.array([0, 1]), np.array([0, 3]))
    with pytest.raises(ValueError, match=r"predictions of shape \(n,\) or \(n, 3\), got \(2, 4\)"):
        cm.batch_add(np.zeros((2, 4)), np.array([0, 1]))
    with pytest.raises(ValueError, match="2 predictions for 3 targets"):
        cm.batch_add(np.array([0, 1]), np.array([0, 1, 2]))
    with pytest.raises(ValueError, match="whole numbers"):
        cm.batch_add(np.array([0.5]), np.array([0]))
    assert cm.mat.sum() == 0
