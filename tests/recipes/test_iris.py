"""The Iris practical: create_model, full-batch adagrad, the two gradient checks."""

from __future__ import annotations

import numpy as np
import pytest

from ember import nn
from ember.recipes import iris


def test_create_model_shapes_and_initialisation():
    model, criterion = iris.create_model("sigmoid", rng=0)
    assert [m.describe() for m in model.modules] == ["Linear(4 -> 2)", "Sigmoid", "Linear(2 -> 3)", "LogSoftMax"]
    assert isinstance(criterion, nn.ClassNLLCriterion)
    params = np.concatenate([p.ravel() for p in model.parameters()[0]])
    assert np.abs(params).max() <= 0.01
    requ, _ = iris.create_model("requ", rng=0)
    for linear in requ.findModules(nn.Linear):
        assert np.all(np.abs(linear.bias - 0.5) <= 0.01)  # uniform(-0.01, 0.01) + 0.5
    assert isinstance(requ.get(1), nn.ReQU)


def test_create_model_takes_your_own_layer():
    class ReQU(nn.Module):
        def updateOutput(self, input):
            self.output = np.maximum(input, 0) ** 2
            return self.output

        def updateGradInput(self, input, gradOutput):
            self.gradInput = 2 * np.maximum(input, 0) * gradOutput
            return self.gradInput

    model, _ = iris.create_model(ReQU(), n_hidden=5, rng=1)
    assert model.get(0).weight.shape == (5, 4)
    assert np.all(model.get(0).bias > 0.4)  # a module named ReQU gets the offset too
    assert iris.gradient_check(ReQU()) < 1e-6
    assert iris.requ_jacobian(ReQU()).error < 1e-8


def test_create_model_errors():
    with pytest.raises(ValueError, match="unknown non-linearity 'relu'"):
        iris.create_model("relu")
    with pytest.raises(TypeError, match="got int"):
        iris.create_model(3)


def test_training_fits_iris(data_dir):
    from ember.data import iris as load_iris

    X, y = load_iris(data_dir)
    for name in ("sigmoid", "requ"):
        model, criterion = iris.create_model(name, rng=0)
        seen = []
        losses = iris.train(model, criterion, X, y, iterations=500, progress=lambda i, loss, seen=seen: seen.append(i))
        assert seen == list(range(1, 501))
        assert losses[0] == pytest.approx(np.log(3), abs=0.01)  # near-uniform start
        assert losses[-1] < 0.2
        assert iris.accuracy(model, X, y) > 0.95


def test_gradient_check_is_tiny_for_both():
    assert iris.gradient_check("sigmoid") < 1e-6
    assert iris.gradient_check("requ") < 1e-6


def test_gradient_check_catches_a_wrong_backward():
    class WrongReQU(nn.ReQU):
        def updateGradInput(self, input, gradOutput):
            self.gradInput = np.maximum(input, 0) * gradOutput  # forgot the factor 2
            return self.gradInput

    # at the practical's tiny initial weights most of the gradient is in the last layer's bias, so the
    # whole-model error is small (about 1.5e-5) yet well above the 1e-6 a right backward stays under
    assert iris.gradient_check(WrongReQU()) > 1e-5
    assert iris.requ_jacobian(WrongReQU()).error > 0.1


def test_requ_jacobian_is_diagonal():
    result = iris.requ_jacobian(size=6)
    expected = np.diag(2 * np.maximum(result.input, 0))
    np.testing.assert_allclose(result.analytic, expected)
    assert result.error < 1e-8
