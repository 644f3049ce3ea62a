"""optim.checkgrad: finite differences against feval's gradient, as Torch's checkgrad."""

from __future__ import annotations

import numpy as np
import pytest

from ember import optim
from tests.optim.problems import Rosenbrock


def test_correct_gradient_gives_tiny_relative_difference():
    problem = Rosenbrock()
    x = problem.x0.copy()
    diff, dC, dC_est = optim.checkgrad(problem.feval, x)
    assert diff < 1e-7
    np.testing.assert_allclose(dC, problem.gradient(problem.x0))
    np.testing.assert_allclose(dC_est, dC, rtol=1e-5)
    np.testing.assert_array_equal(x, problem.x0)  # restored
    assert dC is not problem.grad  # a copy, not the reused buffer
    assert problem.calls == 1 + 2 * x.size


def test_wrong_gradient_is_detected():
    problem = Rosenbrock()

    def feval(x):
        f, g = problem.feval(x)
        g = g.copy()
        g[2] *= 1.5
        return f, g

    diff, dC, dC_est = optim.checkgrad(feval, problem.x0.copy())
    assert diff > 1e-3
    assert abs(dC[2] - dC_est[2]) > 1e-3 and np.allclose(np.delete(dC, 2), np.delete(dC_est, 2), rtol=1e-5)


def test_relative_difference_formula_and_zero_gradient():
    diff, dC, dC_est = optim.checkgrad(lambda x: (3.0, np.zeros_like(x)), np.ones(3))
    assert diff == 0.0 and not dC.any() and not dC_est.any()
    # f = sum(x²), claimed gradient 4x instead of 2x: |4x - 2x| / |4x + 2x| = 1/3
    diff, _, _ = optim.checkgrad(lambda x: (float(x @ x), 4 * x), np.array([1.0, -2.0, 0.5]), eps=1e-6)
    assert diff == pytest.approx(1 / 3, rel=1e-6)


def test_eps_must_be_positive():
    with pytest.raises(ValueError, match=r"optim.checkgrad: eps must be > 0, got 0"):
        optim.checkgrad(lambda x: (0.0, x), np.ones(2), eps=0)
