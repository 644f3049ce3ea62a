"""optim.cmaes and optim.de: Torch optim's Rosenbrock tests, and trajectories against cmaes.lua and de.lua
written out here with loops (fed the same random draws)."""

from __future__ import annotations

import math

import numpy as np
import pytest

from ember import optim
from tests.optim.problems import Rosenbrock


def test_cmaes_minimises_10d_rosenbrock():
    """Torch's test_cmaes.lua: 10-D Rosenbrock from 0, sigma 0.5, at most 10000 evaluations."""
    problem = Rosenbrock(n=10, c=100.0)
    x = np.zeros(10)
    state = {"max_eval": 10000, "sigma": 0.5, "seed": 0}
    result, history, evals = optim.cmaes(problem.feval, x, state)
    assert result is x and evals <= 10000 + 10 and state["func_eval"] == evals
    np.testing.assert_allclose(x, np.ones(10), atol=1e-5)
    assert history[0] == problem.loss(np.zeros(10)) and history[-1] == pytest.approx(problem.loss(x), abs=1e-15)


def lua_cmaes_reference(f, x0, sigma, lam, iterations, seed):
    """cmaes.lua written out (element loops for the covariance update), drawing as optim.cmaes does."""
    rng = np.random.default_rng(seed)
    n = x0.size
    mu = lam // 2
    w = np.array([math.log(mu + 0.5) - math.log(i + 1) for i in range(mu)])
    w /= w.sum()
    mueff = w.sum() ** 2 / (w**2).sum()
    cc, cs = (4 + mueff / n) / (n + 4 + 2 * mueff / n), (mueff + 2) / (n + mueff + 5)
    c1 = 2 / ((n + 1.3) ** 2 + mueff)
    cmu = min(1 - c1, 2 * (mueff - 2 + 1 / mueff) / ((n + 2) ** 2 + mueff))
    damps = 2 * mueff / lam + 0.3 + cs
    xmean, pc, ps = x0.copy(), np.zeros(n), np.zeros(n)
    B, D, C, invsqrtC = np.eye(n), np.ones(n), np.eye(n), np.eye(n)
    eigeneval = counteval = 0
    bests = []
    for _ in range(iterations):
        if counteval - eigeneval > lam / (c1 + cmu) / n / 10:
            eigeneval = counteval
            C = np.triu(C) + np.triu(C, 1).T
            D, B = np.linalg.eigh(C)
            D = np.sqrt(D)
            invsqrtC = B @ np.diag(1 / D) @ B.T
        z = rng.standard_normal((lam, n))
        arx = np.array([xmean + sigma * (B @ (D * z[k])) for k in range(lam)])
        fit = np.array([f(a) for a in arx])
        counteval += lam
        order = np.argsort(fit, kind="stable")
        arx = arx[order[:mu]]
        bests.append(fit[order[0]])
        xold = xmean
        xmean = w @ arx
        y = xmean - xold
        ps = ps - ps * cs + (invsqrtC @ y) * math.sqrt(cs * (2 - cs) * mueff) / sigma
        hsig = float(ps.dot(ps) / (1 - (1 - cs) ** (2 * counteval / lam)) / n < 2 + 4 / (n + 1))
        pc = pc - pc * cc + y * math.sqrt(cc * (2 - cc) * mueff) / sigma * hsig
        c1a = c1 - (1 - hsig**2) * c1 * cc * (2 - cc)
        C_new = C.copy()
        for i in range(n):
            for j in range(n):
                cmuij = sum(w[k] * (arx[k][i] - xold[i]) * (arx[k][j] - xold[j]) for k in range(mu)) / sigma**2
                C_new[i][j] = C[i][j] + (-c1a - cmu) * C[i][j] + c1 * pc[i] * pc[j] + cmu * cmuij
        C = C_new
        sigma *= math.exp(min(0.6, (cs / damps) * (ps.dot(ps) / n - 1) / 2))
    return bests


def test_cmaes_trajectory_follows_torch_lua():
    problem = Rosenbrock(n=4, c=100.0)
    x0 = np.random.default_rng(3).uniform(-1, 1, 4)
    iterations, lam = 12, 8
    _, history, _ = optim.cmaes(problem.loss, x0.copy(), {"sigma": 0.3, "popsize": lam, "seed": 5,
                                                          "max_eval": iterations * lam})
    expected = lua_cmaes_reference(problem.loss, x0, 0.3, lam, iterations, 5)
    np.testing.assert_allclose(history[1:-1], expected, rtol=1e-10)


def lua_de_reference(f, dims, popsize, factor, rate, max_fes, low, high, seed):
    """de.lua written out with loops over members and coordinates, drawing as optim.de does."""
    rng = np.random.default_rng(seed)
    pop = rng.uniform(low, high, (popsize, dims))
    fitness = [f(p) for p in pop]
    losses = list(fitness)
    best = int(np.argmin(fitness))
    best_x, best_f = pop[best].copy(), fitness[best]
    while len(losses) + 1 < max_fes:
        r1 = (np.arange(popsize) + 1 + rng.integers(popsize - 1, size=popsize)) % popsize
        k = rng.integers(popsize - 2, size=popsize)
        cross = rng.random((popsize, dims)) < rate
        jrand = rng.integers(dims, size=popsize)
        children = pop.copy()
        for i in range(popsize):
            others = [m for m in range(popsize) if m not in (i, r1[i])]
            r2 = others[k[i]]
            for j in range(dims):
                if cross[i, j] or j == jrand[i]:
                    children[i, j] = best_x[j] + factor * (pop[r1[i], j] - pop[r2, j])
        child_fitness = [f(c) for c in children]
        losses.extend(child_fitness)
        for i in range(popsize):
            if child_fitness[i] <= fitness[i]:
                pop[i] = children[i]
                fitness[i] = child_fitness[i]
                if fitness[i] < best_f:
                    best_f, best_x = fitness[i], children[i].copy()
    return best_x, losses


def test_de_trajectory_follows_torch_lua():
    problem = Rosenbrock(n=3, c=100.0)
    x = np.zeros(3)
    state = {"popsize": 7, "scale_factor": 0.6, "crossover_rate": 0.7, "max_fes": 120, "min_region": -2,
             "max_region": 2, "seed": 11}
    _, losses = optim.de(problem.loss, x, state)
    best, expected = lua_de_reference(problem.loss, 3, 7, 0.6, 0.7, 120, -2, 2, 11)
    np.testing.assert_allclose(losses, expected, rtol=1e-13)
    np.testing.assert_array_equal(x, best)


def test_de_minimises_2d_rosenbrock():
    """Torch's test_de.lua: popsize 50, scale factor 0.5, crossover rate 0.9, 3000 evaluations."""
    problem = Rosenbrock(n=2, c=100.0)
    x = np.zeros(2)
    _, losses = optim.de(problem.feval, x, {"popsize": 50, "scale_factor": 0.5, "crossover_rate": 0.9,
                                            "max_fes": 3000})
    assert len(losses) == 3000
    np.testing.assert_allclose(x, [1.0, 1.0], atol=1e-6)


def test_required_keys_are_named():
    problem = Rosenbrock(n=2)
    with pytest.raises(ValueError, match="optim.cmaes: the key 'sigma'"):
        optim.cmaes(problem.feval, np.zeros(2), {})
    with pytest.raises(ValueError, match=r"optim.de: the keys \['scale_factor', 'crossover_rate'\] are required"):
        optim.de(problem.feval, np.zeros(2), {"max_fes": 10})
