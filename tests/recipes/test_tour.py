"""The tour of Torch nn runs every cell, and its asserted checks hold."""

from __future__ import annotations

from ember.recipes import tour


def test_tour_runs_every_cell(capsys):
    tour.main()
    out = capsys.readouterr().out
    for heading in ("2a. CMul", "2b. batching", "2c. Sequential and Concat", "2d. backward", "2e. module internals",
                    "2f. Linear, LookupTable, Add", "2g. non-linearities", "tables: a sparse + dense",
                    "3. MSECriterion", "3. ClassNLLCriterion", "4. training with getParameters()",
                    "4. the same with updateParameters", "6. exercise"):
        assert f"=== {heading}" in out
    assert out.count("asserted:") == 6
    assert "Concat(0)[Identity, Sum(0)](x) = [ 1.  2.  3.  4.  5. 15.]" in out


def test_the_two_training_loops_agree():
    assert tour.train_with_flat_parameters(epochs=3) == tour.train_with_update_parameters(epochs=3)


def test_hinge_criterion_of_the_exercise():
    import numpy as np

    from ember import nn

    scores = np.array([[1.0, 0.5, -1.0], [0.0, 2.0, 1.9]])
    labels = np.array([0, 2])
    mine = tour.MyHingeCriterion()
    # example 0: margin 1 - (1 - 0.5) = 0.5; example 1: rival 1, 1 - (1.9 - 2) = 1.1
    assert mine.forward(scores, labels) == (0.5 + 1.1) / 2
    np.testing.assert_allclose(mine.backward(scores, labels), nn.MultiClassHingeCriterion().backward(scores, labels))
