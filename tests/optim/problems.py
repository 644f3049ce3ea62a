"""Deterministic float64 problems for the optimizer tests, and a driver that steps torch.optim alongside."""

from __future__ import annotations

import numpy as np


class LeastSquares:
    """f(x) = ||A x - b||² / (2 m) for a fixed random A (m x n), b; the gradient is written into one reused buffer."""

    def __init__(self, m=12, n=5, seed=0):
        rng = np.random.default_rng(seed)
        self.A = rng.standard_normal((m, n))
        self.b = rng.standard_normal(m)
        self.x0 = rng.standard_normal(n)
        self.grad = np.empty(n)
        self.calls = 0

    def loss(self, x):
        r = self.A @ x - self.b
        return 0.5 * r.dot(r) / len(self.b)

    def gradient(self, x):
        return self.A.T @ (self.A @ x - self.b) / len(self.b)

    def feval(self, x):
        """Like a model's feval: returns the same gradient buffer every call."""
        self.calls += 1
        self.grad[...] = self.gradient(x)
        return self.loss(x), self.grad

    def minimum(self):
        return np.linalg.lstsq(self.A, self.b, rcond=None)[0]


class Rosenbrock:
    """The n-dimensional Rosenbrock function sum (1 - x_i)² + c (x_{i+1} - x_i²)², nonconvex, minimum at 1.

    The classic c = 100 makes fixed-step methods diverge; the default c = 10 keeps them stable."""

    def __init__(self, n=4, c=10.0, seed=0):
        rng = np.random.default_rng(seed)
        self.c = c
        self.x0 = rng.uniform(-1.0, 1.0, n)
        self.grad = np.empty(n)
        self.calls = 0

    def loss(self, x):
        return float(np.sum((1 - x[:-1]) ** 2 + self.c * (x[1:] - x[:-1] ** 2) ** 2))

    def gradient(self, x):
        g = np.zeros_like(x)
        g[:-1] += -2 * (1 - x[:-1]) - 4 * self.c * x[:-1] * (x[1:] - x[:-1] ** 2)
        g[1:] += 2 * self.c * (x[1:] - x[:-1] ** 2)
        return g

    def feval(self, x):
        self.calls += 1
        self.grad[...] = self.gradient(x)
        return self.loss(x), self.grad


def ember_trajectory(step, problem, state, steps):
    """Positions after each of ``steps`` calls of ``step(feval, x, state)``, starting from problem.x0."""
    x = problem.x0.copy()
    path = []
    for _ in range(steps):
        result, _ = step(problem.feval, x, state)
        assert result is x
        path.append(x.copy())
    return np.array(path)


def torch_trajectory(torch, make_optimizer, problem, steps):
    """The same for a torch.optim optimizer, fed the problem's own gradient (so only the update rule differs)."""
    p = torch.tensor(problem.x0.copy(), dtype=torch.float64, requires_grad=True)
    opt = make_optimizer([p])

    def closure():
        x = p.detach().numpy()
        p.grad = torch.from_numpy(problem.gradient(x).copy())
        return torch.tensor(problem.loss(x))

    path = []
    for _ in range(steps):
        opt.step(closure)
        path.append(p.detach().numpy().copy())
    return np.array(path)
