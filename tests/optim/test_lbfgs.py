"""optim.lbfgs (with and without the strong-Wolfe line search) against torch.optim.LBFGS; convergence; state."""

from __future__ import annotations

import numpy as np
import pytest

from ember import optim
from ember.optim.line_search import cubic_interpolate, strong_wolfe
from tests.optim.problems import LeastSquares, Rosenbrock

# Tolerances that never stop either implementation early, so both run all their iterations.
NO_TOL = dict(tol_fun=0.0, tol_x=0.0)


def torch_lbfgs_path(torch, problem, calls, **kwargs):
    p = torch.tensor(problem.x0.copy(), requires_grad=True)
    opt = torch.optim.LBFGS([p], tolerance_grad=0.0, tolerance_change=0.0, **kwargs)

    def closure():
        x = p.detach().numpy()
        p.grad = torch.from_numpy(problem.gradient(x).copy())
        return torch.tensor(problem.loss(x))

    path = []
    for _ in range(calls):
        opt.step(closure)
        path.append(p.detach().numpy().copy())
    return np.array(path)


def ember_lbfgs_path(problem, calls, state):
    x = problem.x0.copy()
    path = []
    for _ in range(calls):
        result, f_hist = optim.lbfgs(problem.feval, x, state)
        assert result is x
        path.append(x.copy())
    return np.array(path)


@pytest.mark.parametrize("max_iter", [1, 3])
@pytest.mark.parametrize("problem_type", [LeastSquares, Rosenbrock])
def test_lbfgs_fixed_step_matches_torch(torch, problem_type, max_iter):
    problem = problem_type()
    lr = 0.05 if problem_type is Rosenbrock else 0.5
    ours = ember_lbfgs_path(problem, 10, {"max_iter": max_iter, "max_eval": 100, "learning_rate": lr,
                                          "n_correction": 4, **NO_TOL})
    theirs = torch_lbfgs_path(torch, problem_type(), 10, max_iter=max_iter, max_eval=100, lr=lr, history_size=4)
    assert np.isfinite(ours).all()
    np.testing.assert_allclose(ours, theirs, rtol=1e-9, atol=1e-12)


@pytest.mark.parametrize("make, lr", [
    (lambda: Rosenbrock(c=100.0), 0.01),  # short first trials: the bracketing phase extrapolates
    (lambda: Rosenbrock(c=100.0), 1.0),
    (lambda: Rosenbrock(c=100.0), 10.0),  # long first trials: the zoom phase interpolates
    (LeastSquares, 10.0),
])
def test_lbfgs_strong_wolfe_matches_torch(torch, make, lr):
    problem = make()
    state = {"max_iter": 5, "max_eval": 40, "learning_rate": lr, "line_search": "strong_wolfe", **NO_TOL}
    ours = ember_lbfgs_path(problem, 4, state)
    assert problem.calls > 4 + state["n_iter"]  # some line searches evaluated more than once
    theirs = torch_lbfgs_path(torch, make(), 4, max_iter=5, max_eval=40, lr=lr, line_search_fn="strong_wolfe")
    np.testing.assert_allclose(ours, theirs, rtol=1e-8, atol=1e-10)


class Quadratic:
    """f(x) = x·Hx/2 − b·x with H symmetric positive definite (eigenvalues 1..10): minimum at H⁻¹b."""

    def __init__(self, n=8, seed=0):
        rng = np.random.default_rng(seed)
        q, _ = np.linalg.qr(rng.standard_normal((n, n)))
        self.H = q @ np.diag(np.linspace(1.0, 10.0, n)) @ q.T
        self.b = rng.standard_normal(n)
        self.x0 = rng.standard_normal(n)

    def feval(self, x):
        return 0.5 * x @ self.H @ x - self.b @ x, self.H @ x - self.b


@pytest.mark.parametrize("line_search", [None, "strong_wolfe"])
def test_lbfgs_converges_on_convex_quadratic_to_known_minimum(line_search):
    problem = Quadratic()
    x = problem.x0.copy()
    state = {"max_iter": 100, "tol_fun": 1e-10, "tol_x": 0.0, "line_search": line_search}
    _, f_hist = optim.lbfgs(problem.feval, x, state)
    np.testing.assert_allclose(x, np.linalg.solve(problem.H, problem.b), atol=1e-9)
    assert state["n_iter"] < 100  # stopped by tol_fun, not by max_iter
    assert f_hist[-1] < f_hist[0]


def test_lbfgs_default_tolerances_stop_near_the_minimum():
    problem = LeastSquares(m=30, n=6, seed=3)
    x = problem.x0.copy()
    state = {}
    optim.lbfgs(problem.feval, x, state)
    np.testing.assert_allclose(x, problem.minimum(), atol=1e-3)
    assert state["n_iter"] < 20  # |f - f_old| < tol_x stopped it


def test_lbfgs_strong_wolfe_solves_classic_rosenbrock():
    problem = Rosenbrock(n=2, c=100.0)
    problem.x0 = np.array([-1.2, 1.0])
    x = problem.x0.copy()
    _, f_hist = optim.lbfgs(problem.feval, x, {"max_iter": 200, "max_eval": 400, "line_search": "strong_wolfe",
                                               "tol_fun": 1e-10, "tol_x": 0.0})
    np.testing.assert_allclose(x, [1.0, 1.0], atol=1e-6)
    assert all(b <= a for a, b in zip(f_hist, f_hist[1:]))  # the line search only accepts decreases


def test_two_calls_continue_one_run():
    """The history kept in state makes 2 calls of 5 iterations equal to 1 call of 10 (without line search)."""
    config = {"learning_rate": 0.5, **NO_TOL}
    a, b = LeastSquares(), LeastSquares()
    x_split = a.x0.copy()
    state = {"max_iter": 5, **config}
    optim.lbfgs(a.feval, x_split, state)
    assert state["n_iter"] == 5 and len(state["s_history"]) == 4
    optim.lbfgs(a.feval, x_split, state)
    assert state["n_iter"] == 10
    x_whole = b.x0.copy()
    optim.lbfgs(b.feval, x_whole, {"max_iter": 10, **config})
    np.testing.assert_allclose(x_split, x_whole, rtol=1e-12)


def test_f_history_and_evaluation_counts():
    problem = LeastSquares()
    state = {"max_iter": 4, **NO_TOL}
    _, f_hist = optim.lbfgs(problem.feval, problem.x0.copy(), state)
    # the initial loss, then one after each step but the last (not re-evaluated, as Torch)
    assert len(f_hist) == 4 and state["func_eval"] == 4 == problem.calls
    assert f_hist[0] == pytest.approx(problem.loss(problem.x0))


def test_max_eval_stops_early():
    problem = Rosenbrock()
    state = {"max_iter": 50, "max_eval": 7, "line_search": "strong_wolfe", **NO_TOL}
    optim.lbfgs(problem.feval, problem.x0.copy(), state)
    assert problem.calls <= 8 and state["n_iter"] < 50


def test_optimal_start_returns_at_once():
    problem = LeastSquares()
    x = problem.minimum()
    before = x.copy()
    _, f_hist = optim.lbfgs(problem.feval, x, {})
    assert len(f_hist) == 1 and problem.calls == 1
    np.testing.assert_array_equal(x, before)


def test_custom_line_search_function_is_called_with_options():
    calls = []

    def search(feval, x, t, d, f, g, gtd, **options):
        calls.append(options)
        return strong_wolfe(feval, x, t, d, f, g, gtd, **options)

    problem = LeastSquares()
    x = problem.x0.copy()
    optim.lbfgs(problem.feval, x, {"max_iter": 3, "max_eval": 100, "line_search": search,
                                   "line_search_options": {"c2": 0.5},
                                   **NO_TOL})
    assert calls == [{"c2": 0.5}] * 3


def test_line_search_errors():
    problem = LeastSquares()
    with pytest.raises(ValueError, match=r"optim.lbfgs: line_search must be None, 'strong_wolfe' or a function"):
        optim.lbfgs(problem.feval, problem.x0.copy(), {"line_search": "armijo"})
    with pytest.raises(ValueError, match=r"optim.lbfgs: unknown line_search_options key 'C1'"):
        optim.lbfgs(problem.feval, problem.x0.copy(), {"line_search": "strong_wolfe",
                                                       "line_search_options": {"C1": 0.1}})
    with pytest.raises(ValueError, match=r"need 0 < c1 < c2 < 1"):
        optim.lbfgs(problem.feval, problem.x0.copy(), {"line_search": "strong_wolfe",
                                                       "line_search_options": {"c1": 0.9, "c2": 0.1}})


def test_state_from_other_parameters_is_rejected():
    state = {"max_iter": 2}
    optim.lbfgs(LeastSquares(n=5).feval, LeastSquares(n=5).x0.copy(), state)
    other = LeastSquares(n=3)
    with pytest.raises(ValueError, match=r"optim.lbfgs: the history in state .* does not match x of shape \(3,\)"):
        optim.lbfgs(other.feval, other.x0.copy(), state)


def test_cubic_interpolate_finds_the_minimum_of_a_cubic():
    def c(x):
        return x**3 - 3 * x  # local minimum at x = 1

    def dc(x):
        return 3 * x**2 - 3

    assert cubic_interpolate(0.0, c(0.0), dc(0.0), 2.0, c(2.0), dc(2.0)) == pytest.approx(1.0)
    assert cubic_interpolate(2.0, c(2.0), dc(2.0), 0.0, c(0.0), dc(0.0)) == pytest.approx(1.0)
    # clipped to the bounds
    assert cubic_interpolate(0.0, c(0.0), dc(0.0), 2.0, c(2.0), dc(2.0), bounds=(1.5, 3.0)) == 1.5


def test_strong_wolfe_returns_a_point_satisfying_both_conditions():
    problem = Rosenbrock()
    x = problem.x0.copy()
    f, g = problem.loss(x), problem.gradient(x)
    d = -g
    gtd = g.dot(d)
    f_new, g_new, t, n_evals = strong_wolfe(problem.feval, x, 1.0, d, f, g, gtd)
    np.testing.assert_allclose(x, problem.x0 + t * d)
    assert f_new == pytest.approx(problem.loss(x))
    np.testing.assert_allclose(g_new, problem.gradient(x))
    assert f_new <= f + 1e-4 * t * gtd
    assert abs(g_new.dot(d)) <= 0.9 * abs(gtd)
    assert n_evals == problem.calls
