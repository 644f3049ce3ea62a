"""Derivative-free optimizers over a population: CMA-ES (``cmaes``) and differential evolution (``de``),
as Torch's ``optim.cmaes`` and ``optim.de``. ``opfunc(x)`` may return a loss or ``(loss, gradient)``;
the gradient is not used. One call runs the whole search.
"""

from __future__ import annotations

import math
import sys
from collections.abc import Callable
from typing import Any

import numpy as np

from ember.errors import InputError, InputTypeError
from ember.optim._common import check_count, check_real, check_state, check_x
from ember.random import get_rng


def _value(name: str, opfunc: Callable[[np.ndarray], Any], x: np.ndarray) -> float:
    result = opfunc(x)
    value = result[0] if isinstance(result, tuple) else result
    try:
        return float(value)
    except (TypeError, ValueError):
        raise InputTypeError(f"optim.{name}: opfunc(x) must return a loss or (loss, gradient), "
                             f"got {type(result).__name__}") from None


def _check_seed(name: str, state: dict) -> None:
    seed = state.get("seed")
    if seed is not None and (isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0):
        raise InputTypeError(f"optim.{name}: seed must be None or an integer >= 0, got {seed!r}")


def _rng(state: dict, default_seed: int | None) -> np.random.Generator:
    seed = state.get("seed", default_seed)
    return get_rng(None) if seed is None else np.random.default_rng(seed)


#: the largest initial step size whose square (the covariance's scale) is a finite float.
_LARGEST_SIGMA = math.sqrt(sys.float_info.max)
_CMAES_CONFIG = frozenset({"sigma", "max_eval", "ftarget", "popsize", "min_iterations", "seed"})
_CMAES_HISTORY = frozenset({"func_eval"})


def cmaes(opfunc: Callable[[np.ndarray], Any], x: np.ndarray,
          state: dict | None = None) -> tuple[np.ndarray, list[float], int]:
    """Covariance matrix adaptation evolution strategy (Hansen's ``barecmaes2``; Torch ``optim.cmaes``).

    Each iteration samples ``popsize`` candidates ``m + σ B D z`` (``z`` standard normal, ``C = B D² Bᵀ``),
    recombines the best half with log-decreasing weights into the new mean ``m``, and adapts the
    evolution paths, the covariance ``C`` (rank-one and rank-μ updates) and the step size ``σ`` by
    cumulative step-size adaptation, with Hansen's default constants.

    Configuration (keys of ``state``, with defaults):
        sigma (required): the initial step size (standard deviation of every coordinate).
        max_eval (1e3 · N²): the most function evaluations.
        ftarget (None): stop once the best loss of an iteration is at most this.
        popsize (4 + ⌊3 ln N⌋): candidates per iteration (λ); the best ⌊λ/2⌋ are recombined.
        min_iterations (1): iterations run before the stopping rules apply.
        seed (None): seeds the sampling; ``None`` draws from ``ember.random``'s generator.

    It stops on ``max_eval``, ``ftarget``, a condition number of ``C`` above 1e14, an iteration's losses
    within 1e-12 of each other, or ``σ · max(D) < 1e-11``.

    History (keys written to ``state``):
        func_eval: the number of evaluations made (the initial one not counted, as Torch).

    Returns:
        ``x`` (set in place to the best candidate seen), the losses (``f(x)`` at the start, the best of
        each iteration, then the best overall) and the number of evaluations.

    """
    state = check_state("cmaes", state, _CMAES_CONFIG, _CMAES_HISTORY)
    check_x("cmaes", x)
    if "sigma" not in state:
        raise InputError("optim.cmaes: the key 'sigma' (the initial step size, > 0) is required")
    check_real("cmaes", sigma=state["sigma"])
    if not 0 < state["sigma"] < _LARGEST_SIGMA:
        raise InputError(f"optim.cmaes: sigma (the initial step size) must be > 0 and below {_LARGEST_SIGMA:.3g} "
                         f"(its square must be a finite float), got {state['sigma']!r}")
    sigma = float(state["sigma"])
    n = x.size
    max_eval = state.get("max_eval", 1e3 * n * n)
    ftarget = state.get("ftarget")
    check_count("cmaes", max_eval=max_eval, min_iterations=state.get("min_iterations", 1))
    if ftarget is not None:
        check_real("cmaes", finite=False, ftarget=ftarget)
    if state.get("popsize") is not None:
        check_count("cmaes", popsize=state["popsize"])
    _check_seed("cmaes", state)
    lam = int(state.get("popsize") or 4 + math.floor(3 * math.log(n)))
    min_iterations = state.get("min_iterations", 1)
    if lam < 2:
        raise InputError(f"optim.cmaes: popsize must be at least 2, got {lam}")
    rng = _rng(state, None)

    mu = lam // 2
    weights = math.log(mu + 0.5) - np.log(np.arange(1, mu + 1))
    weights /= weights.sum()
    mueff = weights.sum() ** 2 / (weights**2).sum()
    cc = (4 + mueff / n) / (n + 4 + 2 * mueff / n)
    cs = (mueff + 2) / (n + mueff + 5)
    c1 = 2 / ((n + 1.3) ** 2 + mueff)
    cmu = min(1 - c1, 2 * (mueff - 2 + 1 / mueff) / ((n + 2) ** 2 + mueff))
    damps = 2 * mueff / lam + 0.3 + cs

    mean = x.astype(np.float64)
    pc, ps = np.zeros(n), np.zeros(n)
    basis, scales, cov, inv_sqrt = np.eye(n), np.ones(n), np.eye(n), np.eye(n)
    eigen_eval = count = iteration = 0
    history = [_value("cmaes", opfunc, x)]
    best_x, best_f = None, math.inf
    fitness = np.empty(0)
    while True:
        if count > 0 and iteration >= min_iterations and (
                count >= max_eval
                or (ftarget is not None and fitness[0] <= ftarget)
                or scales.max() > 1e7 * scales.min()
                or fitness[-1] - fitness[0] < 1e-12
                or sigma * scales.max() < 1e-11):
            break
        iteration += 1
        if count - eigen_eval > lam / (c1 + cmu) / n / 10:
            eigen_eval = count
            cov = np.triu(cov) + np.triu(cov, 1).T
            eigenvalues, basis = np.linalg.eigh(cov)
            scales = np.sqrt(eigenvalues)
            inv_sqrt = (basis / scales) @ basis.T
        candidates = mean + sigma * (rng.standard_normal((lam, n)) * scales) @ basis.T
        fitness = np.array([_value("cmaes", opfunc, c.astype(x.dtype)) for c in candidates])
        count += lam
        order = np.argsort(fitness, kind="stable")
        fitness = fitness[order]
        chosen = candidates[order[:mu]]
        history.append(float(fitness[0]))
        if fitness[0] < best_f:
            best_x, best_f = chosen[0].copy(), float(fitness[0])
        old = mean
        mean = weights @ chosen
        step = mean - old
        ps = (1 - cs) * ps + math.sqrt(cs * (2 - cs) * mueff) / sigma * (inv_sqrt @ step)
        hsig = float(ps.dot(ps) / (1 - (1 - cs) ** (2 * count / lam)) / n < 2 + 4 / (n + 1))
        pc = (1 - cc) * pc + math.sqrt(cc * (2 - cc) * mueff) / sigma * hsig * step
        c1a = c1 - (1 - hsig**2) * c1 * cc * (2 - cc)
        deviations = chosen - old
        rank_mu = (deviations.T * weights) @ deviations / sigma**2
        cov += (-c1a - cmu) * cov + c1 * np.outer(pc, pc) + cmu * rank_mu
        sigma *= math.exp(min(0.6, (cs / damps) * (ps.dot(ps) / n - 1) / 2))
    history.append(best_f)
    x[...] = best_x
    state["func_eval"] = count
    return x, history, count


_DE_CONFIG = frozenset({"popsize", "scale_factor", "crossover_rate", "max_fes", "max_region", "min_region", "seed"})


def de(opfunc: Callable[[np.ndarray], Any], x: np.ndarray, state: dict | None = None) -> tuple[np.ndarray, list[float]]:
    """Differential evolution, DE/best/1/bin (Storn and Price; Torch ``optim.de``).

    A population uniform in ``[min_region, max_region]`` evolves: each member ``i`` proposes a child taking,
    coordinate by coordinate with probability ``crossover_rate`` (and always at one random coordinate),
    ``best + scale_factor · (x_r1 − x_r2)`` (``r1 ≠ r2 ≠ i`` random members) and else its own value; a child
    at least as good as its parent replaces it, and the best member is tracked.

    Configuration (keys of ``state``, with defaults):
        popsize (10 · N): the population size (at least 3).
        scale_factor (required): the differential weight, usually 0.4 to 1.
        crossover_rate (required): usually 0.1 to 0.9.
        max_fes (required): stop once this many evaluations are made (a generation is not cut short).
        max_region (30), min_region (−30): the box of the initial population.
        seed (1): seeds the draws (Torch seeds a private generator with 1); ``None`` draws from
            ``ember.random``'s generator.

    The values ``x`` holds are not used (only its size), as in Torch. Torch's code starts from the
    population's *worst* member as the best (``fitness:max``); this one starts from the best.

    Returns:
        ``x`` (set in place to the best member) and the list of every evaluated loss, in order.

    """
    state = check_state("de", state, _DE_CONFIG, frozenset())
    check_x("de", x)
    missing = [key for key in ("scale_factor", "crossover_rate", "max_fes") if key not in state]
    if missing:
        raise InputError(f"optim.de: the keys {missing} are required (Torch gives them no default)")
    dims = x.size
    factor, rate, max_fes = state["scale_factor"], state["crossover_rate"], state["max_fes"]
    check_real("de", scale_factor=factor, crossover_rate=rate, min_region=state.get("min_region", -30.0),
               max_region=state.get("max_region", 30.0))
    check_count("de", max_fes=max_fes)
    if state.get("popsize") is not None:
        check_count("de", popsize=state["popsize"])
    _check_seed("de", state)
    if not state.get("min_region", -30.0) < state.get("max_region", 30.0):
        raise InputError(f"optim.de: expected min_region < max_region, got {state.get('min_region', -30.0)!r} and "
                         f"{state.get('max_region', 30.0)!r}")
    popsize = int(state.get("popsize") or 10 * dims)
    if popsize < 3 or not 0 <= rate <= 1:
        raise InputError(f"optim.de: popsize must be at least 3 and crossover_rate in [0, 1], got {popsize}, {rate!r}")
    rng = _rng(state, 1)
    low, high = state.get("min_region", -30.0), state.get("max_region", 30.0)

    population = rng.uniform(low, high, (popsize, dims))
    fitness = np.array([_value("de", opfunc, member.astype(x.dtype)) for member in population])
    losses = fitness.tolist()
    best = int(np.argmin(fitness))
    best_x, best_f = population[best].copy(), fitness[best]
    members = np.arange(popsize)
    while len(losses) + 1 < max_fes:
        r1 = (members + 1 + rng.integers(popsize - 1, size=popsize)) % popsize
        low_i, high_i = np.minimum(members, r1), np.maximum(members, r1)
        r2 = rng.integers(popsize - 2, size=popsize)
        r2 += r2 >= low_i
        r2 += r2 >= high_i
        cross = rng.random((popsize, dims)) < rate
        cross[members, rng.integers(dims, size=popsize)] = True
        children = np.where(cross, best_x + factor * (population[r1] - population[r2]), population)
        child_fitness = np.array([_value("de", opfunc, child.astype(x.dtype)) for child in children])
        losses.extend(child_fitness.tolist())
        better = child_fitness <= fitness
        population[better] = children[better]
        fitness[better] = child_fitness[better]
        candidate = int(np.argmin(np.where(better, fitness, np.inf)))
        if better[candidate] and fitness[candidate] < best_f:
            best_x, best_f = population[candidate].copy(), fitness[candidate]
    x[...] = best_x
    return x, losses
