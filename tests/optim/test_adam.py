"""optim.adam and optim.adamax against torch.optim and against Torch's formulas."""

from __future__ import annotations

import math

import numpy as np
import pytest

from ember import optim
from tests.optim.problems import LeastSquares, Rosenbrock, ember_trajectory, torch_trajectory

STEPS = 20
PROBLEMS = [LeastSquares, Rosenbrock]


def lua_adam_reference(problem, steps, lr=1e-3, beta1=0.9, beta2=0.999, eps=1e-8, lrd=0.0, wd=0.0):
    """Torch's adam.lua written out: the bias correction goes into the step size, epsilon onto sqrt(v)."""
    x = problem.x0.copy()
    m, v = np.zeros_like(x), np.zeros_like(x)
    path = []
    for t in range(1, steps + 1):
        g = problem.gradient(x) + wd * x
        clr = lr / (1 + (t - 1) * lrd)
        m = beta1 * m + (1 - beta1) * g
        v = beta2 * v + (1 - beta2) * g * g
        x = x - clr * math.sqrt(1 - beta2**t) / (1 - beta1**t) * m / (np.sqrt(v) + eps)
        path.append(x)
    return np.array(path)


@pytest.mark.parametrize("problem_type", PROBLEMS)
@pytest.mark.parametrize("config", [
    dict(learning_rate=0.05),
    dict(learning_rate=0.05, beta1=0.5, beta2=0.9, weight_decay=0.1),
])
def test_adam_matches_torch_optim_with_zero_epsilon(torch, problem_type, config):
    """torch.optim.Adam adds epsilon to sqrt(v)/sqrt(1 - beta2^t), Torch to sqrt(v): equal when epsilon = 0."""
    problem = problem_type()
    ours = ember_trajectory(optim.adam, problem, {**config, "epsilon": 0.0}, STEPS)
    theirs = torch_trajectory(torch, lambda p: torch.optim.Adam(
        p, lr=config["learning_rate"], betas=(config.get("beta1", 0.9), config.get("beta2", 0.999)), eps=0.0,
        weight_decay=config.get("weight_decay", 0.0), foreach=False), problem, STEPS)
    np.testing.assert_allclose(ours, theirs, rtol=1e-10, atol=1e-13)


@pytest.mark.parametrize("problem_type", PROBLEMS)
def test_adam_epsilon_placement_follows_torch_lua(problem_type):
    problem = problem_type()
    config = dict(learning_rate=0.05, epsilon=1e-3, learning_rate_decay=0.1, weight_decay=0.01)
    ours = ember_trajectory(optim.adam, problem, dict(config), STEPS)
    expected = lua_adam_reference(problem, STEPS, lr=0.05, eps=1e-3, lrd=0.1, wd=0.01)
    np.testing.assert_allclose(ours, expected, rtol=1e-12, atol=1e-14)


def test_adam_with_default_epsilon_is_close_to_torch_optim(torch):
    """The epsilon placements differ by O(epsilon): close, not equal."""
    problem = LeastSquares()
    ours = ember_trajectory(optim.adam, problem, {"learning_rate": 0.05}, STEPS)
    theirs = torch_trajectory(torch, lambda p: torch.optim.Adam(p, lr=0.05, foreach=False), problem, STEPS)
    np.testing.assert_allclose(ours, theirs, rtol=1e-5)


@pytest.mark.parametrize("problem_type", PROBLEMS)
@pytest.mark.parametrize("config", [
    dict(learning_rate=0.05, epsilon=1e-8),
    dict(learning_rate=0.02, beta1=0.8, beta2=0.99, epsilon=1e-6, weight_decay=0.1),
])
def test_adamax_matches_torch_optim(torch, problem_type, config):
    problem = problem_type()
    ours = ember_trajectory(optim.adamax, problem, dict(config), STEPS)
    theirs = torch_trajectory(torch, lambda p: torch.optim.Adamax(
        p, lr=config["learning_rate"], betas=(config.get("beta1", 0.9), config.get("beta2", 0.999)),
        eps=config["epsilon"], weight_decay=config.get("weight_decay", 0.0), foreach=False), problem, STEPS)
    np.testing.assert_allclose(ours, theirs, rtol=1e-11, atol=1e-13)


def test_adamax_default_epsilon_is_torchs():
    problem = LeastSquares()
    x = problem.x0.copy()
    state = {}
    optim.adamax(problem.feval, x, state)
    g = problem.gradient(problem.x0)
    np.testing.assert_allclose(state["u"], np.abs(g) + 1e-38)
    np.testing.assert_allclose(x, problem.x0 - 2e-3 / 0.1 * (0.1 * g) / (np.abs(g) + 1e-38))


def test_adam_state_persists_between_calls():
    problem = LeastSquares()
    state = {"learning_rate": 0.05}
    split = ember_trajectory(optim.adam, problem, state, 3)[-1]
    assert state["t"] == 3
    x = split.copy()
    for _ in range(2):
        optim.adam(problem.feval, x, state)
    whole = ember_trajectory(optim.adam, problem, {"learning_rate": 0.05}, 5)[-1]
    np.testing.assert_array_equal(x, whole)


@pytest.mark.parametrize("step", [optim.adam, optim.adamax])
def test_betas_must_be_in_unit_interval(step):
    problem = LeastSquares()
    with pytest.raises(ValueError, match=rf"optim.{step.__name__}: beta2 must be in \[0, 1\), got 1.0"):
        step(problem.feval, problem.x0.copy(), {"beta2": 1.0})
