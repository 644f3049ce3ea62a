"""optim.adagrad, optim.adadelta, optim.rmsprop against torch.optim, plus Torch-only options against formulas."""

from __future__ import annotations

import numpy as np
import pytest

from ember import optim
from tests.optim.problems import LeastSquares, Rosenbrock, ember_trajectory, torch_trajectory

STEPS = 20
PROBLEMS = [LeastSquares, Rosenbrock]


@pytest.mark.parametrize("problem_type", PROBLEMS)
@pytest.mark.parametrize("config", [
    dict(learning_rate=0.1),
    dict(learning_rate=0.1, learning_rate_decay=0.3),
    dict(learning_rate=0.1, weight_decay=0.05, epsilon=1e-6),
])
def test_adagrad_matches_torch_optim(torch, problem_type, config):
    problem = problem_type()
    ours = ember_trajectory(optim.adagrad, problem, dict(config), STEPS)
    theirs = torch_trajectory(torch, lambda p: torch.optim.Adagrad(
        p, lr=config["learning_rate"], lr_decay=config.get("learning_rate_decay", 0.0),
        weight_decay=config.get("weight_decay", 0.0), eps=config.get("epsilon", 1e-10), foreach=False),
        problem, STEPS)
    np.testing.assert_allclose(ours, theirs, rtol=1e-11, atol=1e-13)


@pytest.mark.parametrize("problem_type", PROBLEMS)
@pytest.mark.parametrize("config", [
    dict(),
    dict(rho=0.5, epsilon=1e-4),
    dict(learning_rate=0.5, weight_decay=0.1),
])
def test_adadelta_matches_torch_optim(torch, problem_type, config):
    problem = problem_type()
    ours = ember_trajectory(optim.adadelta, problem, dict(config), STEPS)
    theirs = torch_trajectory(torch, lambda p: torch.optim.Adadelta(
        p, lr=config.get("learning_rate", 1.0), rho=config.get("rho", 0.9), eps=config.get("epsilon", 1e-6),
        weight_decay=config.get("weight_decay", 0.0), foreach=False), problem, STEPS)
    assert not np.allclose(ours[-1], problem.x0)  # it moved
    np.testing.assert_allclose(ours, theirs, rtol=1e-11, atol=1e-13)


@pytest.mark.parametrize("problem_type", PROBLEMS)
@pytest.mark.parametrize("config", [
    dict(),
    dict(learning_rate=0.003, alpha=0.9, epsilon=1e-6),
    dict(weight_decay=0.1),
])
def test_rmsprop_matches_torch_optim(torch, problem_type, config):
    """Torch's rmsprop.lua and torch.optim.RMSprop (non-centred, no momentum) both add epsilon after the sqrt."""
    problem = problem_type()
    ours = ember_trajectory(optim.rmsprop, problem, dict(config), STEPS)
    theirs = torch_trajectory(torch, lambda p: torch.optim.RMSprop(
        p, lr=config.get("learning_rate", 1e-2), alpha=config.get("alpha", 0.99), eps=config.get("epsilon", 1e-8),
        weight_decay=config.get("weight_decay", 0.0), foreach=False), problem, STEPS)
    np.testing.assert_allclose(ours, theirs, rtol=1e-11, atol=1e-13)


def test_rmsprop_initial_mean_follows_torch_formula():
    """Torch's initialMean starts the running average at a value (no torch.optim equivalent)."""
    problem = LeastSquares()
    ours = ember_trajectory(optim.rmsprop, problem, {"learning_rate": 0.01, "initial_mean": 0.5}, 5)
    x, m = problem.x0.copy(), np.full(problem.x0.size, 0.5)
    for k in range(5):
        g = problem.gradient(x)
        m = 0.99 * m + 0.01 * g * g
        x = x - 0.01 * g / (np.sqrt(m) + 1e-8)
        np.testing.assert_allclose(ours[k], x, rtol=1e-12)


def test_adagrad_history_persists_and_feval_gradient_is_untouched():
    problem = LeastSquares()
    state = {"learning_rate": 0.1, "weight_decay": 0.1}
    x = problem.x0.copy()
    optim.adagrad(problem.feval, x, state)
    g0 = problem.gradient(problem.x0) + 0.1 * problem.x0
    np.testing.assert_allclose(state["param_variance"], g0 * g0)
    np.testing.assert_array_equal(problem.grad, problem.gradient(problem.x0))
    optim.adagrad(problem.feval, x, state)
    assert state["eval_counter"] == 2


def test_adadelta_keeps_both_running_averages():
    problem = LeastSquares()
    state = {}
    x = problem.x0.copy()
    optim.adadelta(problem.feval, x, state)
    g = problem.gradient(problem.x0)
    np.testing.assert_allclose(state["param_variance"], 0.1 * g * g)
    delta = np.sqrt(1e-6) / np.sqrt(0.1 * g * g + 1e-6) * g
    np.testing.assert_allclose(state["acc_delta"], 0.1 * delta * delta)
    np.testing.assert_allclose(x, problem.x0 - delta)
    assert state["eval_counter"] == 1


@pytest.mark.parametrize("step, key, value", [
    (optim.rmsprop, "alpha", 1.0),
    (optim.adadelta, "rho", -0.1),
    (optim.adagrad, "epsilon", -1.0),
])
def test_out_of_range_configuration_is_rejected(step, key, value):
    problem = LeastSquares()
    with pytest.raises(ValueError, match=rf"optim.{step.__name__}: {key} must be"):
        step(problem.feval, problem.x0.copy(), {key: value})
