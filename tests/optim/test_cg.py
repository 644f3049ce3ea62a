"""optim.cg: Torch optim's Rosenbrock test, convergence on a least-squares problem, the returned history."""

from __future__ import annotations

import numpy as np
import pytest

from ember import optim
from tests.optim.problems import LeastSquares, Rosenbrock


def test_minimises_rosenbrock_from_the_origin():
    """Torch's test_cg.lua (2-D Rosenbrock, c = 100, from (0, 0)), given enough evaluations."""
    problem = Rosenbrock(n=2, c=100.0)
    x = np.zeros(2)
    state = {"max_iter": 200, "max_eval": 200}
    result, losses, evals = optim.cg(problem.feval, x, state)
    assert result is x and evals == state["func_eval"] == problem.calls
    np.testing.assert_allclose(x, [1.0, 1.0], atol=1e-8)
    assert losses[0] == 1.0 and all(b <= a for a, b in zip(losses, losses[1:]))


def test_least_squares_converges_and_respects_max_eval():
    problem = LeastSquares(m=12, n=5)
    x = problem.x0.copy()
    _, losses, evals = optim.cg(problem.feval, x, {"max_eval": 60})
    assert evals <= 60
    np.testing.assert_allclose(x, problem.minimum(), atol=1e-7)
    assert losses[-1] == pytest.approx(problem.loss(problem.minimum()), rel=1e-12)


def test_the_gradient_buffer_may_be_reused_by_feval():
    """feval returns the same buffer each call (as a model's flat gradient): cg copies what it keeps."""
    problem = LeastSquares()
    x = problem.x0.copy()
    fresh = LeastSquares()
    y = fresh.x0.copy()
    optim.cg(problem.feval, x, {"max_eval": 30})
    optim.cg(lambda v: (fresh.loss(v), fresh.gradient(v)), y, {"max_eval": 30})
    np.testing.assert_array_equal(x, y)


def test_bad_configuration_is_named():
    problem = LeastSquares()
    with pytest.raises(ValueError, match="optim.cg: expected 0 < rho < sig < 1"):
        optim.cg(problem.feval, problem.x0.copy(), {"rho": 0.9})
    with pytest.raises(ValueError, match="optim.cg: unknown configuration key 'maxIter'; did you mean 'max_iter'"):
        optim.cg(problem.feval, problem.x0.copy(), {"maxIter": 5})
