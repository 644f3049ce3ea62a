"""What every optimizer shares: unknown keys, bad x, bad feval results, mismatched history, state=None."""

from __future__ import annotations

import numpy as np
import pytest

from ember import optim
from ember.errors import InputError, InputTypeError
from tests.optim.problems import LeastSquares

OPTIMIZERS = [optim.sgd, optim.adagrad, optim.adadelta, optim.rmsprop, optim.adam, optim.adamax, optim.lbfgs]
ids = [step.__name__ for step in OPTIMIZERS]


@pytest.mark.parametrize("step", OPTIMIZERS, ids=ids)
def test_torch_camel_case_key_is_rejected_with_the_snake_case_hint(step):
    problem = LeastSquares()
    with pytest.raises(ValueError, match=rf"optim.{step.__name__}: unknown configuration key 'learningRate'; "
                                         r"did you mean 'learning_rate'\? \(ember uses snake_case keys\)"):
        step(problem.feval, problem.x0.copy(), {"learningRate": 0.1})
    assert problem.calls == 0  # rejected before evaluating anything


@pytest.mark.parametrize("step", OPTIMIZERS, ids=ids)
def test_misspelt_key_is_rejected_with_a_close_match(step):
    problem = LeastSquares()
    with pytest.raises(ValueError, match=rf"optim.{step.__name__}: unknown configuration key 'learning_rat'; "
                                         r"did you mean 'learning_rate'\?"):
        step(problem.feval, problem.x0.copy(), {"learning_rat": 0.1})
    with pytest.raises(ValueError, match=r"unknown configuration key 'frobnicate' \(known keys: .*learning_rate"):
        step(problem.feval, problem.x0.copy(), {"frobnicate": 1})


@pytest.mark.parametrize("step", OPTIMIZERS, ids=ids)
def test_history_keys_are_accepted_and_state_none_works(step):
    problem = LeastSquares()
    state = {}
    x = problem.x0.copy()
    step(problem.feval, x, state)
    step(problem.feval, x, state)  # the history written by the first call is not an "unknown key"
    assert state
    result, fx = step(problem.feval, x, None)
    assert result is x and isinstance(fx, list) and isinstance(fx[0], float)


@pytest.mark.parametrize("step", OPTIMIZERS, ids=ids)
def test_x_must_be_a_flat_float_array(step):
    problem = LeastSquares()
    with pytest.raises(TypeError, match=rf"optim.{step.__name__}: x must be a 1-D floating-point NumPy array .*"
                                        r"got a float64 array of shape \(1, 5\)"):
        step(problem.feval, problem.x0.reshape(1, -1).copy(), {})
    with pytest.raises(TypeError, match=r"got a list"):
        step(problem.feval, [1.0, 2.0], {})
    with pytest.raises(TypeError, match=r"got a int64 array"):
        step(problem.feval, np.arange(5), {})


@pytest.mark.parametrize("step", OPTIMIZERS, ids=ids)
def test_gradient_of_the_wrong_shape_is_reported(step):
    problem = LeastSquares()
    with pytest.raises(ValueError, match=rf"optim.{step.__name__}: feval\(x\) returned a gradient of shape \(4,\), "
                                         r"expected a NumPy array of shape \(5,\) like x"):
        step(lambda x: (1.0, np.ones(4)), problem.x0.copy(), {})
    with pytest.raises(TypeError, match=r"feval\(x\) must return \(loss, gradient\), got float"):
        step(lambda x: 1.0, problem.x0.copy(), {})


@pytest.mark.parametrize("step", [optim.sgd, optim.adagrad, optim.adadelta, optim.rmsprop, optim.adam, optim.adamax],
                         ids=ids[:-1])
def test_history_from_other_parameters_is_rejected(step):
    state = {"momentum": 0.9} if step is optim.sgd else {}
    big, small = LeastSquares(n=5), LeastSquares(n=3)
    for _ in range(2):
        step(big.feval, big.x0.copy(), state)
    with pytest.raises(ValueError, match=rf"optim.{step.__name__}: state\['\w+'\] has shape \(5,\) but x has shape "
                                         r"\(3,\); use a fresh state dict"):
        step(small.feval, small.x0.copy(), state)


def test_state_must_be_a_dict():
    problem = LeastSquares()
    with pytest.raises(TypeError, match=r"optim.adam: state must be a dict of configuration keys, got list"):
        optim.adam(problem.feval, problem.x0.copy(), [("learning_rate", 0.1)])


@pytest.mark.parametrize("step", OPTIMIZERS, ids=ids)
@pytest.mark.parametrize("value", ["0.1", None, True, [0.1]])
def test_a_learning_rate_that_is_not_a_number_is_named(step, value):
    problem = LeastSquares()
    with pytest.raises(InputTypeError, match=rf"optim.{step.__name__}: learning_rate must be a number, got "):
        step(problem.feval, problem.x0.copy(), {"learning_rate": value})
    assert problem.calls == 0


@pytest.mark.parametrize("step", OPTIMIZERS, ids=ids)
@pytest.mark.parametrize("value", [float("inf"), float("nan"), -0.1])
def test_a_learning_rate_out_of_range_is_named(step, value):
    problem = LeastSquares()
    with pytest.raises(InputError, match=rf"optim.{step.__name__}: learning_rate must be a finite number >= 0, "
                                         rf"got {value!r}"):
        step(problem.feval, problem.x0.copy(), {"learning_rate": value})


@pytest.mark.parametrize("value", [float("inf"), float("nan"), 2.5, -1, "20"])
def test_lbfgs_refuses_a_loop_bound_that_would_never_end(value):
    problem = LeastSquares()
    with pytest.raises(InputError, match=r"optim.lbfgs: max_iter must be a (whole )?number"):
        optim.lbfgs(problem.feval, problem.x0.copy(), {"max_iter": value})
    with pytest.raises(InputError, match=r"optim.lbfgs: max_eval must be a (finite )?number"):
        optim.lbfgs(problem.feval, problem.x0.copy(), {"max_eval": float("inf") if value != "20" else value})


@pytest.mark.parametrize("step", OPTIMIZERS, ids=ids)
@pytest.mark.parametrize("bad", [float("nan"), float("inf")])
def test_a_non_finite_loss_or_gradient_stops_the_step_before_any_update(step, bad):
    problem = LeastSquares()
    x = problem.x0.copy()

    def bad_loss(x):
        loss, grad = problem.feval(x)
        return bad, grad

    def bad_gradient(x):
        loss, grad = problem.feval(x)
        grad[3] = bad
        return loss, grad

    with pytest.raises(InputError, match=rf"optim.{step.__name__}: feval\(x\) returned the loss {bad}; "
                                         r"the step was not taken"):
        step(bad_loss, x, {})
    with pytest.raises(InputError, match=rf"optim.{step.__name__}: feval\(x\) returned a gradient holding {bad} "
                                         r"at index 3; the step was not taken"):
        step(bad_gradient, x, {})
    np.testing.assert_array_equal(x, problem.x0)


@pytest.mark.filterwarnings("ignore:overflow encountered")
def test_a_huge_but_finite_gradient_is_not_mistaken_for_a_non_finite_one():
    x = np.zeros(3)
    optim.sgd(lambda x: (1.0, np.full(3, 1e200)), x, {"learning_rate": 1e-200})
    np.testing.assert_allclose(x, -1.0)
