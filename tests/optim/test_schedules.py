"""ember.optim.schedules: whole learning-rate trajectories against torch.optim.lr_scheduler, and their use."""

from __future__ import annotations

import math

import numpy as np
import pytest

from ember import optim
from ember.optim import schedules

from .problems import LeastSquares

EPOCHS = 40

CASES = [
    ("StepLR", {"step_size": 7, "gamma": 0.5}),
    ("MultiStepLR", {"milestones": [3, 10, 25], "gamma": 0.3}),
    ("ExponentialLR", {"gamma": 0.9}),
    ("CosineAnnealingLR", {"T_max": 15, "eta_min": 0.001}),
    ("CosineAnnealingWarmRestarts", {"T_0": 4, "T_mult": 2, "eta_min": 0.01}),
    ("CosineAnnealingWarmRestarts", {"T_0": 6}),
    ("LinearLR", {"start_factor": 0.1, "end_factor": 1.0, "total_iters": 8}),
    ("LinearLR", {"start_factor": 1.0, "end_factor": 0.2, "total_iters": 30}),
]


def metric(epoch):
    """A validation loss that improves, stalls, improves a little, then stalls for good."""
    return [5.0, 4.0, 3.0, 3.0, 2.9999, 3.1, 3.0, 3.0, 2.5, 2.5, 2.5, 2.49999][epoch] if epoch < 12 else 2.5


def torch_trajectory(torch, name, settings, metrics=None):
    param = torch.nn.Parameter(torch.zeros(1))
    opt = torch.optim.SGD([param], lr=0.5)
    scheduler = getattr(torch.optim.lr_scheduler, name)(opt, **settings)
    rates = [opt.param_groups[0]["lr"]]
    for epoch in range(EPOCHS):
        opt.step()
        scheduler.step(*([] if metrics is None else [metrics(epoch)]))
        rates.append(opt.param_groups[0]["lr"])
    return rates


def ember_trajectory(name, settings, metrics=None):
    state = {"learning_rate": 0.5}
    schedule = getattr(schedules, name)(state, **settings)
    rates = [state["learning_rate"]]
    for epoch in range(EPOCHS):
        lr = schedule.step(*([] if metrics is None else [metrics(epoch)]))
        assert lr == state["learning_rate"] == schedule.lr
        rates.append(state["learning_rate"])
    return rates


@pytest.mark.parametrize("name, settings", CASES, ids=[f"{n}-{i}" for i, (n, _) in enumerate(CASES)])
def test_trajectory_equals_pytorch(torch, name, settings):
    np.testing.assert_allclose(ember_trajectory(name, settings), torch_trajectory(torch, name, settings),
                               rtol=1e-12, atol=1e-15)


@pytest.mark.parametrize("settings", [
    {"patience": 2, "factor": 0.5},
    {"patience": 1, "factor": 0.5, "cooldown": 2, "min_lr": 0.1},
    {"mode": "max", "patience": 0, "threshold": 0.01, "threshold_mode": "abs"},
    {"patience": 0, "threshold": 0.1, "threshold_mode": "abs", "eps": 0.3},
])
def test_reduce_on_plateau_equals_pytorch(torch, settings):
    values = metric if settings.get("mode") != "max" else (lambda epoch: -metric(epoch))
    np.testing.assert_array_equal(ember_trajectory("ReduceLROnPlateau", settings, values),
                                  torch_trajectory(torch, "ReduceLROnPlateau", settings, values))


def test_closed_forms_by_hand():
    state = {"learning_rate": 1.0}
    schedule = schedules.CosineAnnealingWarmRestarts(state, T_0=2, T_mult=2)
    rates = [schedule.step() for _ in range(7)]
    assert rates == pytest.approx([0.5, 1.0, 1 - 0.5 * (1 - math.cos(math.pi / 4)), 0.5,
                                   0.5 * (1 + math.cos(3 * math.pi / 4)), 1.0, (1 + math.cos(math.pi / 8)) / 2])
    state = {"learning_rate": 0.9}
    warmup = schedules.LinearLR(state, start_factor=1 / 3, total_iters=2)
    assert state["learning_rate"] == pytest.approx(0.3)  # the first epoch already runs at the warm-up rate
    assert [warmup.step(), warmup.step(), warmup.step()] == pytest.approx([0.6, 0.9, 0.9])


def test_drives_an_optimizer_and_resumes_from_its_numbers():
    problem = LeastSquares()
    x = problem.x0.copy()
    state = {"learning_rate": 0.2, "momentum": 0.5}
    schedule = schedules.make("step", state, step_size=3, gamma=0.5)
    seen = []
    for _ in range(7):
        seen.append(state["learning_rate"])
        optim.sgd(problem.feval, x, state)
        schedule.step()
    assert seen == [0.2, 0.2, 0.2, 0.1, 0.1, 0.1, 0.05]
    again = {"learning_rate": 123.0}
    resumed = schedules.make("step", again, step_size=3, gamma=0.5)
    resumed.load_state_dict(schedule.state_dict())
    assert again["learning_rate"] == state["learning_rate"] == 0.05
    assert resumed.step() == schedule.step() == 0.05 and resumed.step() == schedule.step() == 0.025
    plateau = schedules.make("plateau", {"learning_rate": 1.0}, patience=0)
    plateau.step(1.0)
    copy = schedules.ReduceLROnPlateau({"learning_rate": 1.0}, patience=0)
    copy.load_state_dict(plateau.state_dict())
    assert copy.step(2.0) == plateau.step(2.0) == pytest.approx(0.1)
    assert repr(schedule) == "StepLR(base_lr=0.2, last_epoch=9, lr=0.025)"


def test_make_by_name_and_errors():
    assert isinstance(schedules.make("cosine", {"learning_rate": 1.0}, epochs=10), schedules.CosineAnnealingLR)
    assert schedules.make("cosine", {"learning_rate": 1.0}, epochs=10).T_max == 10
    for name in schedules.SCHEDULES:
        schedules.make(name, {"learning_rate": 0.1}, epochs=5)
    with pytest.raises(ValueError, match=r"unknown schedule 'cos' \(expected one of step, multistep, exponential"):
        schedules.make("cos", {"learning_rate": 1.0})
    with pytest.raises(ValueError, match=r"schedule 'cosine' needs T_max or the number of epochs"):
        schedules.make("cosine", {"learning_rate": 1.0})
    with pytest.raises(ValueError, match=r"StepLR: the optimizer state must hold 'learning_rate'"):
        schedules.StepLR({}, step_size=2)
    with pytest.raises(ValueError, match=r"StepLR: step_size must be a positive integer, got 0"):
        schedules.StepLR({"learning_rate": 1.0}, step_size=0)
    with pytest.raises(ValueError, match=r"ReduceLROnPlateau.step: pass the monitored metric"):
        schedules.ReduceLROnPlateau({"learning_rate": 1.0}).step()
    with pytest.raises(ValueError, match=r"ReduceLROnPlateau: factor must be in \(0, 1\)"):
        schedules.ReduceLROnPlateau({"learning_rate": 1.0}, factor=2)
