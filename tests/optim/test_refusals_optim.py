"""Every optimizer, schedule and clip refuses a malformed configuration or ``feval`` with an ember error naming the
key and the expectation (issue 12: found by throwing nan/inf/negative/str/None/bool/array values at every key)."""

from __future__ import annotations

import functools
import math

import numpy as np
import pytest

from ember import optim
from ember.errors import EmberError, InputError, InputTypeError
from ember.optim import schedules


def quadratic(x):
    return float(0.5 * x @ x), x.copy()


def step(name, state):
    return getattr(optim, name)(quadratic, np.ones(3), state)


def fista_step(state):
    return optim.fista(lambda x, mode=None: (float(x @ x), 2 * x) if mode else float(x @ x),
                       lambda x: 0.0, lambda x, lipschitz: x, np.ones(3), state)


RUN = {  # optimizer -> a call with the configuration given
    **{name: functools.partial(step, name) for name in ("sgd", "nag", "rprop", "cg", "lbfgs", "rmsprop")},
    "cmaes": lambda state: optim.cmaes(quadratic, np.ones(3), {"sigma": 0.5, "max_eval": 20, **state}),
    "de": lambda state: optim.de(quadratic, np.ones(3), {"scale_factor": 0.5, "crossover_rate": 0.5, "max_fes": 30,
                                                         **state}),
    "fista": fista_step,
}

BAD_CONFIGS = [  # (optimizer, key, value, error type, message)
    ("cg", "rho", "0.1", InputTypeError, r"optim\.cg: rho must be a number, got '0\.1'"),
    ("cg", "ext", None, InputTypeError, r"optim\.cg: ext must be a number, got None"),
    ("cg", "int", float("nan"), InputError, r"optim\.cg: int must be a finite number, got nan"),
    ("cg", "max_iter", 2.5, InputError, r"optim\.cg: max_iter must be a whole number >= 0, got 2\.5"),
    ("cg", "ratio", -1.0, InputError, r"optim\.cg: expected .* ratio > 0, .*ratio=-1\.0"),
    ("rprop", "etaplus", "1.2", InputTypeError, r"optim\.rprop: etaplus must be a number"),
    ("rprop", "niter", float("inf"), InputError, r"optim\.rprop: niter must be a whole number >= 0, got inf"),
    ("rprop", "stepsize_max", float("nan"), InputError, r"optim\.rprop: stepsize_max must be a finite number >= 0"),
    ("nag", "momentum", None, InputTypeError, r"optim\.nag: momentum must be a number, got None"),
    ("nag", "learning_rates", np.array([np.nan, 1.0, 1.0]), InputError,
     r"optim\.nag: learning_rates must hold finite numbers >= 0"),
    ("sgd", "learning_rates", np.ones(4), InputError, r"optim\.sgd: learning_rates has shape \(4,\), which does not "
                                                      r"broadcast to x's \(3,\)"),
    ("sgd", "weight_decays", -1.0, InputError, r"optim\.sgd: weight_decays must be a finite number >= 0, got -1\.0"),
    ("sgd", "weight_decays", np.array(["a", "b", "c"]), InputTypeError, r"weight_decays must be an array of real"),
    ("sgd", "nesterov", None, InputTypeError, r"optim\.sgd: nesterov must be True or False, got None"),
    ("rmsprop", "initial_mean", float("nan"), InputError, r"optim\.rmsprop: initial_mean must be a finite number"),
    ("lbfgs", "n_correction", True, InputError, r"optim\.lbfgs: n_correction must be a positive integer, got True"),
    ("lbfgs", "line_search", np.array([1.0]), InputError, r"line_search must be None, 'strong_wolfe' or a function"),
    ("cmaes", "sigma", float("inf"), InputError, r"optim\.cmaes: sigma must be a finite number, got inf"),
    ("cmaes", "sigma", "1", InputTypeError, r"optim\.cmaes: sigma must be a number, got '1'"),
    ("cmaes", "sigma", 1e308, InputError, r"optim\.cmaes: sigma .* must be > 0 and below 1\.34e\+154"),
    ("cmaes", "popsize", 2.5, InputError, r"optim\.cmaes: popsize must be a whole number >= 0, got 2\.5"),
    ("cmaes", "seed", "x", InputTypeError, r"optim\.cmaes: seed must be None or an integer >= 0, got 'x'"),
    ("de", "crossover_rate", None, InputTypeError, r"optim\.de: crossover_rate must be a number, got None"),
    ("de", "max_fes", float("inf"), InputError, r"optim\.de: max_fes must be a whole number >= 0, got inf"),
    ("de", "min_region", 40.0, InputError, r"optim\.de: expected min_region < max_region, got 40\.0 and 30\.0"),
    ("fista", "max_iter", float("inf"), InputError, r"optim\.fista: max_iter must be a whole number >= 0, got inf"),
    ("fista", "lipschitz", "1", InputTypeError, r"optim\.fista: lipschitz must be a number"),
    ("fista", "do_fista_update", "yes", InputTypeError, r"optim\.fista: do_fista_update must be True or False"),
]


@pytest.mark.parametrize(("name", "key", "value", "error", "message"), BAD_CONFIGS,
                         ids=[f"{case[0]}-{case[1]}={case[2]!r}" for case in BAD_CONFIGS])
def test_a_bad_hyper_parameter_is_refused_naming_the_key(name, key, value, error, message):
    with pytest.raises(error, match=message):
        RUN[name]({key: value})


def test_asgd_with_a_huge_decay_power_decays_the_rate_to_zero():
    """``(1 + λ η₀ t)^α`` overflows a Python float (OverflowError) for a huge ``alpha``: the rate is 0."""
    state = {"alpha": 1e308, "lambd": 1.0, "eta0": 1.0}
    x, _, _ = optim.asgd(quadratic, np.ones(3), state)
    assert state["eta_t"] == 0.0 and np.isfinite(x).all()


@pytest.mark.parametrize("name", ["sgd", "nag", "rprop", "cg", "lbfgs", "rmsprop", "adam", "asgd"])
def test_feval_is_checked_before_the_step(name):
    step = getattr(optim, name)
    x = np.ones(3)
    with pytest.raises(InputTypeError, match=rf"optim\.{name}: feval must be a function of x .*got NoneType"):
        step(None, x, {})
    with pytest.raises(InputTypeError, match=rf"optim\.{name}: feval\(x\) must return a number as the loss, got '1'"):
        step(lambda x: ("1", x.copy()), x, {})
    with pytest.raises(InputTypeError, match=rf"optim\.{name}: feval\(x\) returned a gradient of dtype complex128"):
        step(lambda x: (1.0, x.astype(complex)), x, {})
    assert (x == 1).all()


@pytest.mark.parametrize(("make", "message"), [
    (lambda state: schedules.StepLR(state, 2, gamma="0.1"), r"StepLR: gamma must be a number, got '0\.1'"),
    (lambda state: schedules.StepLR(state, float("inf")), r"StepLR: step_size must be an integer >= 0, got inf"),
    (lambda state: schedules.StepLR(state, float("nan")), r"StepLR: step_size must be an integer >= 0, got nan"),
    (lambda state: schedules.MultiStepLR(state, [2, "x"]), r"MultiStepLR: a milestone must be a number, got 'x'"),
    (lambda state: schedules.MultiStepLR(state, 3), r"MultiStepLR: milestones must be a list of epochs, got 3"),
    (lambda state: schedules.CosineAnnealingLR(state, 2.5), r"CosineAnnealingLR: T_max must be an integer"),
    (lambda state: schedules.CosineAnnealingLR(state, 4, eta_min=None), r"eta_min must be a number, got None"),
    (lambda state: schedules.LinearLR(state, start_factor=float("nan")), r"LinearLR: start_factor must be a finite"),
    (lambda state: schedules.ReduceLROnPlateau(state, patience=-1), r"ReduceLROnPlateau: patience must be an integer"),
    (lambda state: schedules.ReduceLROnPlateau(state, min_lr=True), r"ReduceLROnPlateau: min_lr must be a number"),
    (lambda state: schedules.ReduceLROnPlateau(state).step("low"), r"ReduceLROnPlateau\.step: the metric must be a "
                                                                   r"number, got 'low'"),
    (lambda state: schedules.StepLR({"learning_rate": "0.1"}, 2), r"StepLR: state\['learning_rate'\] must be a "
                                                                  r"number, got '0\.1'"),
])
def test_a_bad_schedule_argument_is_refused(make, message):
    with pytest.raises(EmberError, match=message):
        make({"learning_rate": 0.1})


@pytest.mark.parametrize(("value", "error", "message"), [
    (float("nan"), InputError, r"max_norm must be a number, got nan"),
    ("1", InputTypeError, r"max_norm must be a number, got '1'"),
    (None, InputTypeError, r"max_norm must be a number, got None"),
    (-1.0, InputError, r"clip_grad_norm: max_norm must be positive, got -1\.0"),
])
def test_clip_grad_norm_refuses_a_bad_max_norm(value, error, message):
    grads = np.array([3.0, 4.0])
    with pytest.raises(error, match=message):
        optim.clip_grad_norm(grads, value)
    assert optim.clip_grad_norm(grads, math.inf) == 5.0 and grads.tolist() == [3.0, 4.0]


@pytest.mark.parametrize(("name", "key", "value"), [
    ("sgd", "eval_counter", "3"), ("adagrad", "eval_counter", "2"), ("asgd", "t", "1"), ("adam", "t", None),
    ("lbfgs", "n_iter", "0"), ("nag", "eval_counter", True), ("asgd", "eta_t", {"a": 1}),
])
def test_a_malformed_history_in_the_state_is_refused_naming_the_key(name, key, value):
    """What a step keeps (counters, step sizes, arrays) read back wrong: an ember error, not Python's TypeError."""
    state = {}
    step(name, state)  # a real first step fills the history
    state[key] = value
    with pytest.raises(InputTypeError, match=rf"optim\.{name}: the state's '{key}' \(kept by a previous step\) must "
                                             rf"be a number or an array"):
        step(name, state)
