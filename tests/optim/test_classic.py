"""optim.nag, optim.asgd, optim.rprop and optim.adamw: trajectories against torch.optim where it has the
method (ASGD, Rprop, AdamW), against Torch's Lua formulas written out here (nag), and Torch optim's
Rosenbrock minimisation."""

from __future__ import annotations

import numpy as np
import pytest

from ember import optim
from tests.optim.problems import LeastSquares, Rosenbrock, ember_trajectory, torch_trajectory

STEPS = 25
PROBLEMS = [LeastSquares, Rosenbrock]


def lua_nag_reference(problem, steps, lr, mom, wd=0.0, lrd=0.0):
    """nag.lua written out: look ahead by momentum * v, evaluate there, then v = mom v - clr g, x -= clr g."""
    x = problem.x0.copy()
    v = None
    path = []
    for t in range(steps):
        if v is not None:
            x = x + mom * v
        g = problem.gradient(x) + wd * x
        clr = lr / (1 + t * lrd)
        v = np.zeros_like(x) if v is None else mom * v
        x = x - clr * g
        v = v - clr * g
        path.append(x)
    return np.array(path)


@pytest.mark.parametrize("problem_type", PROBLEMS)
@pytest.mark.parametrize("config", [dict(learning_rate=0.002, momentum=0.9),
                                    dict(learning_rate=0.005, momentum=0.5, weight_decay=0.1,
                                         learning_rate_decay=0.05)])
def test_nag_follows_torch_lua(problem_type, config):
    problem = problem_type()
    ours = ember_trajectory(optim.nag, problem, dict(config), STEPS)
    expected = lua_nag_reference(problem, STEPS, config["learning_rate"], config["momentum"],
                                 config.get("weight_decay", 0.0), config.get("learning_rate_decay", 0.0))
    np.testing.assert_allclose(ours, expected, rtol=1e-12, atol=1e-14)


def test_nag_learning_rates_and_gradient_untouched():
    problem = LeastSquares()
    x = problem.x0.copy()
    lrs = np.linspace(0.5, 1.5, x.size)
    state = {"learning_rate": 0.1, "learning_rates": lrs}
    optim.nag(problem.feval, x, state)
    np.testing.assert_allclose(x, problem.x0 - 0.1 * lrs * problem.gradient(problem.x0))
    with pytest.raises(ValueError, match="optim.nag: momentum must be positive"):
        optim.nag(problem.feval, x, {"momentum": 0.0})


@pytest.mark.parametrize("problem_type", PROBLEMS)
@pytest.mark.parametrize("config", [dict(eta0=0.02, lambd=1e-4, alpha=0.75, t0=1e6),
                                    dict(eta0=0.02, lambd=0.1, alpha=0.5, t0=5)])
def test_asgd_matches_torch_optim(torch, problem_type, config):
    problem = problem_type()
    ours = ember_trajectory(lambda f, x, s: optim.asgd(f, x, s)[:2], problem, dict(config), STEPS)
    theirs = torch_trajectory(torch, lambda p: torch.optim.ASGD(
        p, lr=config["eta0"], lambd=config["lambd"], alpha=config["alpha"], t0=config["t0"], foreach=False),
        problem, STEPS)
    np.testing.assert_allclose(ours, theirs, rtol=1e-11, atol=1e-13)


def test_asgd_returns_the_average_after_t0():
    problem = LeastSquares()
    x = problem.x0.copy()
    state = {"eta0": 0.1, "t0": 3}
    iterates = []
    for _ in range(8):
        _, _, average = optim.asgd(problem.feval, x, state)
        iterates.append(x.copy())
    # step k averages with mu = 1 / max(1, k - 1 - t0): the average of the iterates from step t0 + 2 on
    np.testing.assert_allclose(average, np.mean(iterates[4:], axis=0), rtol=1e-12)


@pytest.mark.parametrize("problem_type", PROBLEMS)
@pytest.mark.parametrize("config", [dict(stepsize=0.1), dict(stepsize=0.05, etaplus=1.5, etaminus=0.3,
                                                             stepsize_max=0.2, stepsize_min=1e-3)])
def test_rprop_matches_torch_optim(torch, problem_type, config):
    problem = problem_type()
    ours = ember_trajectory(optim.rprop, problem, dict(config), STEPS)
    theirs = torch_trajectory(torch, lambda p: torch.optim.Rprop(
        p, lr=config["stepsize"], etas=(config.get("etaminus", 0.5), config.get("etaplus", 1.2)),
        step_sizes=(config.get("stepsize_min", 1e-6), config.get("stepsize_max", 50.0)), foreach=False),
        problem, STEPS)
    np.testing.assert_allclose(ours, theirs, rtol=1e-12, atol=1e-14)


def test_rprop_niter_evaluates_several_times():
    problem = LeastSquares()
    x = problem.x0.copy()
    _, losses = optim.rprop(problem.feval, x, {"niter": 4})
    assert len(losses) == 4 and problem.calls == 4 and losses[-1] < losses[0]


@pytest.mark.parametrize("problem_type", PROBLEMS)
@pytest.mark.parametrize("config", [dict(learning_rate=0.05),
                                    dict(learning_rate=0.02, beta1=0.8, beta2=0.99, epsilon=1e-6,
                                         weight_decay=0.3)])
def test_adamw_matches_torch_optim(torch, problem_type, config):
    problem = problem_type()
    ours = ember_trajectory(optim.adamw, problem, dict(config), STEPS)
    theirs = torch_trajectory(torch, lambda p: torch.optim.AdamW(
        p, lr=config["learning_rate"], betas=(config.get("beta1", 0.9), config.get("beta2", 0.999)),
        eps=config.get("epsilon", 1e-8), weight_decay=config.get("weight_decay", 1e-2), foreach=False),
        problem, STEPS)
    np.testing.assert_allclose(ours, theirs, rtol=1e-11, atol=1e-13)


@pytest.mark.parametrize(("step", "config", "steps"), [
    (optim.nag, dict(learning_rate=2e-4, momentum=0.9), 6000),
    (optim.rprop, dict(stepsize=0.01), 3000),
    (optim.adamw, dict(learning_rate=0.02, weight_decay=0.0), 4000),
    (lambda f, x, s: optim.asgd(f, x, s)[:2], dict(eta0=5e-4, lambd=0.0), 20000),
])
def test_minimises_rosenbrock(step, config, steps):
    """Torch optim's test: the 2-D Rosenbrock function (c = 100) from (0, 0), minimum at (1, 1)."""
    problem = Rosenbrock(n=2, c=100.0)
    problem.x0 = np.zeros(2)
    x = ember_trajectory(step, problem, config, steps)[-1]
    np.testing.assert_allclose(x, [1.0, 1.0], atol=2e-2)


@pytest.mark.parametrize("name", ["nag", "asgd", "rprop", "adamw"])
def test_unknown_key_is_named(name):
    problem = LeastSquares()
    with pytest.raises(ValueError, match=rf"optim.{name}: unknown configuration key 'learningRate'"):
        getattr(optim, name)(problem.feval, problem.x0.copy(), {"learningRate": 0.1})
