"""optim.sgd: trajectories against torch.optim.SGD, Torch-only options against their formulas, state, errors."""

from __future__ import annotations

import numpy as np
import pytest

from ember import optim
from tests.optim.problems import LeastSquares, Rosenbrock, ember_trajectory, torch_trajectory

STEPS = 20

SGD_CASES = [
    dict(learning_rate=0.1),
    dict(learning_rate=0.1, momentum=0.9),
    dict(learning_rate=0.1, momentum=0.9, dampening=0.3),
    dict(learning_rate=0.1, momentum=0.9, dampening=0.0, nesterov=True),
    dict(learning_rate=0.1, weight_decay=0.05),
    dict(learning_rate=0.05, momentum=0.5, dampening=0.0, nesterov=True, weight_decay=0.01),
]


def _torch_sgd(torch, config):
    momentum = config.get("momentum", 0.0)
    return lambda params: torch.optim.SGD(
        params, lr=config["learning_rate"], momentum=momentum,
        dampening=config.get("dampening", momentum),  # Torch's default dampening is the momentum
        nesterov=config.get("nesterov", False), weight_decay=config.get("weight_decay", 0.0), foreach=False)


@pytest.mark.parametrize("config", SGD_CASES, ids=lambda c: ",".join(f"{k}={v}" for k, v in c.items()))
@pytest.mark.parametrize("problem_type", [LeastSquares, Rosenbrock])
def test_sgd_matches_torch_optim_step_by_step(torch, config, problem_type):
    problem = problem_type()
    if problem_type is Rosenbrock:  # keep the steps stable on the steep valley
        config = {**config, "learning_rate": config["learning_rate"] / 50}
    ours = ember_trajectory(optim.sgd, problem, dict(config), STEPS)
    theirs = torch_trajectory(torch, _torch_sgd(torch, config), problem, STEPS)
    assert np.isfinite(ours).all()
    np.testing.assert_allclose(ours, theirs, rtol=1e-11, atol=1e-13)


def test_default_dampening_equals_momentum():
    """Torch's sgd.lua: dampening defaults to the momentum, so v = m v + (1 - m) g after the first step."""
    problem = LeastSquares()
    ours = ember_trajectory(optim.sgd, problem, {"learning_rate": 0.1, "momentum": 0.9}, 3)
    x, v = problem.x0.copy(), None
    for k in range(3):
        g = problem.gradient(x)
        v = g.copy() if v is None else 0.9 * v + 0.1 * g
        x = x - 0.1 * v
        np.testing.assert_allclose(ours[k], x, rtol=1e-13)


def test_learning_rate_decay_follows_torch_formula():
    """clr = lr / (1 + eval_counter * lrd), eval_counter counting earlier calls (torch.optim has no such option)."""
    problem = LeastSquares()
    state = {"learning_rate": 0.2, "learning_rate_decay": 0.5}
    ours = ember_trajectory(optim.sgd, problem, state, STEPS)
    x = problem.x0.copy()
    for k in range(STEPS):
        x = x - 0.2 / (1 + k * 0.5) * problem.gradient(x)
        np.testing.assert_allclose(ours[k], x, rtol=1e-12)
    assert state["eval_counter"] == STEPS


def test_per_parameter_learning_rates_and_weight_decays():
    problem = LeastSquares()
    lrs = np.linspace(0.05, 0.2, problem.x0.size)
    wds = np.linspace(0.0, 0.1, problem.x0.size)
    ours = ember_trajectory(optim.sgd, problem, {"learning_rate": 0.5, "learning_rates": lrs, "weight_decays": wds}, 5)
    x = problem.x0.copy()
    for k in range(5):
        x = x - 0.5 * lrs * (problem.gradient(x) + wds * x)
        np.testing.assert_allclose(ours[k], x, rtol=1e-12)


def test_state_persists_between_calls_and_returns_loss_before_update():
    problem = LeastSquares()
    state = {"learning_rate": 0.1, "momentum": 0.9}
    x = problem.x0.copy()
    loss_before = problem.loss(x)
    result, fx = optim.sgd(problem.feval, x, state)
    assert result is x
    assert fx == [pytest.approx(loss_before)]
    assert state["eval_counter"] == 1
    velocity = state["dfdx"]
    assert velocity is not problem.grad  # the model's buffer is never kept
    np.testing.assert_allclose(velocity, problem.gradient(problem.x0))
    optim.sgd(problem.feval, x, state)
    assert state["eval_counter"] == 2 and state["dfdx"] is velocity  # updated in place


def test_gradient_returned_by_feval_is_not_modified():
    problem = LeastSquares()
    x = problem.x0.copy()
    optim.sgd(problem.feval, x, {"learning_rate": 0.1, "weight_decay": 0.5, "momentum": 0.9, "dampening": 0,
                                 "nesterov": True})
    np.testing.assert_array_equal(problem.grad, problem.gradient(problem.x0))


def test_float32_parameters_stay_float32():
    problem = LeastSquares()
    x = problem.x0.astype(np.float32)

    def feval(x):
        return problem.loss(x), problem.gradient(x).astype(np.float32)

    state = {"learning_rate": 0.1, "momentum": 0.9, "weight_decay": 0.01}
    for _ in range(3):
        optim.sgd(feval, x, state)
    assert x.dtype == np.float32 and state["dfdx"].dtype == np.float32


def test_nesterov_requires_momentum_and_zero_dampening():
    problem = LeastSquares()
    with pytest.raises(ValueError, match=r"optim.sgd: Nesterov momentum requires momentum > 0 and dampening 0"):
        optim.sgd(problem.feval, problem.x0.copy(), {"nesterov": True, "momentum": 0.9})
    with pytest.raises(ValueError, match="Nesterov"):
        optim.sgd(problem.feval, problem.x0.copy(), {"nesterov": True})


def test_negative_learning_rate_is_rejected():
    problem = LeastSquares()
    with pytest.raises(ValueError, match=r"optim.sgd: learning_rate must be a finite number >= 0, got -0.1"):
        optim.sgd(problem.feval, problem.x0.copy(), {"learning_rate": -0.1})
