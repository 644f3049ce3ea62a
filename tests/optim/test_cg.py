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


def _linear_cg(a, b, x, steps):
    """Textbook linear conjugate gradients (Hestenes–Stiefel, exact step lengths) on ½xᵀAx − bᵀx:
    the iterates x_0 … x_steps, computed independently of optim.cg."""
    iterates = [x.copy()]
    r = b - a @ x
    p = r.copy()
    for _ in range(steps):
        alpha = r.dot(r) / p.dot(a @ p)
        x = x + alpha * p
        r_next = r - alpha * (a @ p)
        p = r_next + (r_next.dot(r_next) / r.dot(r)) * p
        r = r_next
        iterates.append(x.copy())
    return iterates


def test_trajectory_on_a_quadratic_is_exact_linear_cg():
    """On a quadratic, Polak–Ribière with exact line searches is linear CG, so optim.cg's accepted points
    must be linear CG's iterates. With sig = 1e-10 the Wolfe–Powell test only accepts a point where the
    slope along the direction has fallen below 1e-10 of its initial value, so each line search ends at
    the line minimum to ~1e-10; its cubic inter-/extrapolation is exact on a quadratic, so it gets there.
    The accepted points are found among the evaluated ones by their loss (optim.cg returns those losses).
    """
    rng = np.random.default_rng(3)
    q, _ = np.linalg.qr(rng.standard_normal((6, 6)))
    a = q @ np.diag([1.0, 1.5, 2.5, 4.0, 6.0, 9.0]) @ q.T
    b = rng.standard_normal(6)
    evaluated = {}

    def feval(x):
        loss = 0.5 * x.dot(a @ x) - b.dot(x)
        evaluated.setdefault(loss, x.copy())
        return loss, a @ x - b

    x = rng.standard_normal(6)
    expected = _linear_cg(a, b, x.copy(), 6)
    _, losses, _ = optim.cg(feval, x, {"rho": 1e-11, "sig": 1e-10, "max_iter": 40, "max_eval": 400})
    assert len(losses) >= 7
    for k, (loss, iterate) in enumerate(zip(losses[:7], expected)):
        np.testing.assert_allclose(evaluated[loss], iterate, rtol=1e-8, atol=1e-9, err_msg=f"iterate {k}")
    np.testing.assert_allclose(expected[-1], np.linalg.solve(a, b), rtol=1e-10)  # n steps: the minimum
