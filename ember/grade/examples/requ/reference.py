"""Reference solution and instructor helpers of the ReQU practical (kept from students)."""

import numpy as np

from ember import nn
from ember.recipes import iris


class ReQU(nn.Module):
    """Rectified quadratic unit ``z = 1[x > 0] · x²``; backward ``∂L/∂x = g · 2x · 1[x > 0]``."""

    def updateOutput(self, input):
        self.output = np.where(input > 0, input * input, 0.0)
        return self.output

    def updateGradInput(self, input, gradOutput):
        self.gradInput = np.where(input > 0, 2.0 * input, 0.0) * gradOutput
        return self.gradInput


def iris_model(requ):
    """The practical's Iris network with the student's ReQU inside, and 5 fake examples.

    The weights are drawn from uniform(−1, 1) rather than the practical's (−0.01, 0.01), so that the
    hidden units see inputs of both signs and the input gradient is not tiny.
    """
    rng = np.random.default_rng(2024)
    model, criterion = iris.create_model(requ, rng=rng)
    for param in model.parameters()[0]:
        param[...] = rng.uniform(-1, 1, param.shape)
    x = rng.standard_normal((5, iris.N_INPUTS))
    target = rng.integers(0, iris.N_CLASSES, 5)
    return model, criterion, x, target


def test_not_positive(submission):
    """Zero and negative inputs: zero output, zero gradient."""
    module = submission.ReQU()
    x = np.array([-2.0, -0.5, 0.0])
    output = module.forward(x)
    assert np.array_equal(output, np.zeros(3)), f"ReQU({x.tolist()}) gave {np.asarray(output).tolist()}, expected 0s"
    grad = module.backward(x, np.ones(3))
    assert np.array_equal(grad, np.zeros(3)), f"the gradient at {x.tolist()} is {np.asarray(grad).tolist()}, not 0s"
