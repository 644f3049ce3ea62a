"""The optimizers driving an ember.nn model through getParameters(): the flat views, in-place updates, checkgrad."""

from __future__ import annotations

import numpy as np
import pytest

from ember import data, nn, optim


def model_feval():
    rng = np.random.default_rng(0)
    model = nn.Sequential(nn.Linear(1, 8, rng=rng), nn.Tanh(), nn.Linear(8, 1, rng=rng))
    criterion = nn.MSECriterion()
    X, y = data.sine(64)
    params, grads = model.getParameters()

    def feval(x):
        assert x is params  # the optimizers evaluate at the flat parameters themselves
        grads.fill(0)
        loss = criterion.forward(model.forward(X), y)
        model.backward(X, criterion.backward(model.output, y))
        return loss, grads

    return model, params, feval


@pytest.mark.parametrize("step, state, calls", [
    (optim.sgd, {"learning_rate": 0.2, "momentum": 0.9}, 200),
    (optim.adam, {"learning_rate": 0.05}, 200),
    (optim.rmsprop, {"learning_rate": 0.01}, 200),
    (optim.lbfgs, {"max_iter": 50, "line_search": "strong_wolfe"}, 2),
])
def test_optimizer_trains_a_model_in_place(step, state, calls):
    model, params, feval = model_feval()
    weight = model.modules[0].weight
    before = weight.copy()
    first = feval(params)[0]
    for _ in range(calls):
        step(feval, params, state)
    assert feval(params)[0] < 0.1 * first
    assert not np.array_equal(weight, before)  # the model's own arrays moved: x is their flat view
    assert np.shares_memory(weight, params)


def test_checkgrad_on_a_model():
    _, params, feval = model_feval()
    before = params.copy()
    diff, dC, dC_est = optim.checkgrad(feval, params, eps=1e-6)
    assert diff < 1e-7
    np.testing.assert_array_equal(params, before)
