"""check_model(mode="fast"): random directional derivatives catch every planted bug and name the module."""

from __future__ import annotations

import numpy as np
import pytest

from ember import nn
from ember.check import check_model
from ember.check.planted import BUGS, plant


def network(seed: int = 0) -> nn.Sequential:
    rng = np.random.default_rng(seed)
    model = nn.Sequential(nn.Linear(6, 5, rng=rng), nn.Tanh(), nn.Linear(5, 4, rng=rng), nn.ReLU(),
                          nn.Linear(4, 3, rng=rng), nn.LogSoftMax())
    return model


X = np.random.default_rng(1).standard_normal((4, 6))
Y = np.array([0, 2, 1, 2])

# each bug planted in a module that it can break: gradInput bugs in Tanh, parameter bugs in a Linear
WHERE = {"sign of gradInput": 1, "gradInput halved": 1, "parameter gradients doubled": 2,
         "parameter gradients never written": 2, "parameter gradients of the first example only": 2,
         "gradInput summed over the batch": 1}


def test_fast_mode_passes_a_correct_model():
    report = check_model(network(), nn.ClassNLLCriterion(), X, Y, mode="fast", budget=0.2)
    assert report.ok, str(report)
    assert report.mode == "fast" and report.directions >= 4  # at least 2 of parameters and 2 of the input
    assert "random directional derivatives" in str(report)


@pytest.mark.parametrize("bug", sorted(BUGS))
def test_fast_mode_catches_each_planted_bug_and_names_the_module(bug):
    model = network()
    culprit = plant(model.get(WHERE[bug]), bug)
    report = check_model(model, nn.ClassNLLCriterion(), X, Y, mode="fast", budget=0.1)
    assert not report.ok, str(report)
    assert report.failures and report.failures[0] is culprit, str(report)
    full = check_model(model, nn.ClassNLLCriterion(), X, Y)
    assert not full.ok and full.failures[0] is culprit


def test_fast_mode_carries_the_diagnosis_of_a_small_culprit():
    model = network()
    plant(model.get(1), "sign of gradInput")
    report = check_model(model, nn.ClassNLLCriterion(), X, Y, mode="fast", budget=0.1)
    assert "likely mistake (sign)" in str(report)


def test_fast_mode_respects_the_budget_and_bad_modes_are_refused():
    report = check_model(network(), nn.ClassNLLCriterion(), X, Y, mode="fast", budget=0.0)
    assert report.directions == 4  # the minimum: 2 directions of the parameters, 2 of the input
    with pytest.raises(ValueError, match="mode must be 'full' or 'fast'"):
        check_model(network(), nn.ClassNLLCriterion(), X, Y, mode="quick")


def test_fast_mode_leaves_the_model_as_it_found_it():
    model = network()
    params, grads = model.getParameters()
    grads[...] = 0.25
    before = params.copy()
    check_model(model, nn.ClassNLLCriterion(), X, Y, mode="fast", budget=0.05)
    assert np.array_equal(params, before) and np.all(grads == 0.25)


def test_directional_difference_restores_and_gives_one_sided_slopes():
    from ember.finite_differences import directional

    x = np.array([1.0, -2.0])
    d = np.array([0.6, 0.8])
    central, forward, backward = directional(lambda: float(np.abs(x).sum()), x, d, 1e-6, base=3.0)
    assert np.array_equal(x, [1.0, -2.0])
    assert central == pytest.approx(0.6 - 0.8, abs=1e-8)
    kink = np.zeros(2)
    _, forward, backward = directional(lambda: float(np.abs(kink).sum()), kink, d, 1e-6, base=0.0)
    assert forward == pytest.approx(1.4) and backward == pytest.approx(-1.4)
