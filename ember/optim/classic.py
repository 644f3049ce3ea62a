"""Torch optim's other first-order methods: Nesterov momentum (``nag``), averaged SGD (``asgd``) and
resilient propagation (``rprop``).

Each function has the signature ``x, [fx] = opt(feval, x, state)`` of :func:`ember.optim.sgd`; see there
for ``feval``, in-place updates and ``state``. The gradient ``feval`` returns is never modified.
"""

from __future__ import annotations

import math

import numpy as np

from ember.blas import add_scaled
from ember.errors import InputError
from ember.optim._common import (
    Feval,
    check_count,
    check_nonnegative,
    check_per_parameter,
    check_state,
    check_x,
    evaluate,
    history_buffer,
)

_NAG_CONFIG = frozenset({"learning_rate", "learning_rate_decay", "weight_decay", "momentum", "learning_rates"})
_NAG_HISTORY = frozenset({"eval_counter", "dfdx"})


def nag(feval: Feval, x: np.ndarray, state: dict | None = None) -> tuple[np.ndarray, list[float]]:
    """One step of SGD with Nesterov's accelerated gradient (Sutskever et al., 2013; Torch ``optim.nag``).

    First ``x += momentum · v`` (the look-ahead), then ``g = ∇f(x) + weight_decay · x`` there, then
    ``v = momentum · v − clr · g`` and ``x -= clr · g``, with
    ``clr = learning_rate / (1 + eval_counter · learning_rate_decay)``.

    Configuration (keys of ``state``, with defaults):
        learning_rate (1e-3): the step size.
        learning_rate_decay (0): annealing of the step size.
        weight_decay (0): L2 penalty added to the gradient.
        momentum (0.9): must be positive.
        learning_rates (None): an array of per-parameter learning rates multiplying ``g``.

    History (keys written to ``state``):
        eval_counter: the number of calls so far.
        dfdx: the velocity ``v``.

    Returns:
        ``x`` (updated in place) and ``[f]``, the loss at the look-ahead point, before the update.

    """
    state = check_state("nag", state, _NAG_CONFIG, _NAG_HISTORY)
    check_x("nag", x)
    lr = state.get("learning_rate", 1e-3)
    lrd = state.get("learning_rate_decay", 0.0)
    wd = state.get("weight_decay", 0.0)
    mom = state.get("momentum", 0.9)
    lrs = state.get("learning_rates")
    check_nonnegative("nag", learning_rate=lr, learning_rate_decay=lrd, weight_decay=wd, momentum=mom)
    check_per_parameter("nag", x, learning_rates=lrs)
    if not mom > 0:
        raise InputError(f"optim.nag: momentum must be positive for Nesterov's accelerated gradient, got {mom!r}")
    nevals = state.get("eval_counter", 0)

    velocity = state.get("dfdx")
    if velocity is not None:
        velocity = history_buffer("nag", state, "dfdx", x)
        add_scaled(x, velocity, mom)
    fx, dfdx = evaluate("nag", feval, x)
    if wd != 0:
        dfdx = dfdx + wd * x
    clr = lr / (1 + nevals * lrd)
    if velocity is None:
        velocity = history_buffer("nag", state, "dfdx", x)
    else:
        velocity *= mom
    step = dfdx if lrs is None else lrs * dfdx
    add_scaled(x, step, -clr)
    add_scaled(velocity, step, -clr)
    state["eval_counter"] = nevals + 1
    return x, [fx]


_ASGD_CONFIG = frozenset({"eta0", "lambd", "alpha", "t0"})
_ASGD_HISTORY = frozenset({"eta_t", "mu_t", "t", "ax"})


def asgd(feval: Feval, x: np.ndarray, state: dict | None = None) -> tuple[np.ndarray, list[float], np.ndarray]:
    """One step of averaged SGD (Bottou's sgd-2.0; Torch ``optim.asgd``).

    ``x = (1 − lambd · η_t) x − η_t ∇f(x)``, then the average ``a = a + μ_t (x − a)`` (``a = x`` while
    ``μ_t = 1``), then ``η_{t+1} = eta0 / (1 + lambd · eta0 · (t + 1))^alpha`` and
    ``μ_{t+1} = 1 / max(1, t + 1 − t0)``.

    Configuration (keys of ``state``, with defaults):
        eta0 (1e-4): the initial learning rate.
        lambd (1e-4): the decay term (Torch's ``lambda``, a Python keyword).
        alpha (0.75): the power of the learning-rate decay.
        t0 (1e6): the step at which averaging starts.

    History (keys written to ``state``):
        eta_t, mu_t: the current learning rate and averaging rate.
        t: the number of steps taken.
        ax: the averaged parameters.

    Returns:
        ``x`` (updated in place), ``[f(x)]`` (the loss before the update) and ``ax``, the average of the
        iterates since ``t0`` (use it as the solution).

    """
    state = check_state("asgd", state, _ASGD_CONFIG, _ASGD_HISTORY)
    check_x("asgd", x)
    eta0 = state.get("eta0", 1e-4)
    lambd = state.get("lambd", 1e-4)
    alpha = state.get("alpha", 0.75)
    t0 = state.get("t0", 1e6)
    check_nonnegative("asgd", eta0=eta0, lambd=lambd, alpha=alpha, t0=t0)
    eta_t = state.get("eta_t", eta0)
    mu_t = state.get("mu_t", 1.0)
    t = state.get("t", 0)

    fx, dfdx = evaluate("asgd", feval, x)
    x *= 1 - lambd * eta_t
    add_scaled(x, dfdx, -eta_t)
    ax = history_buffer("asgd", state, "ax", x)
    if mu_t != 1:
        ax += mu_t * (x - ax)
    else:
        np.copyto(ax, x)
    t += 1
    state["t"] = t
    try:
        decay = (1 + lambd * eta0 * t) ** alpha
    except OverflowError:  # a Python float's power raises where it would be inf: the rate has decayed to 0
        decay = math.inf
    state["eta_t"] = eta0 / decay
    state["mu_t"] = 1 / max(1, t - t0)
    return x, [fx], ax


_RPROP_CONFIG = frozenset({"stepsize", "etaplus", "etaminus", "stepsize_max", "stepsize_min", "niter"})
_RPROP_HISTORY = frozenset({"delta", "step_sizes"})


def rprop(feval: Feval, x: np.ndarray, state: dict | None = None) -> tuple[np.ndarray, list[float]]:
    """Resilient propagation (Riedmiller and Braun, 1993; Torch ``optim.rprop``): a step per parameter that
    grows while the gradient keeps its sign and shrinks when it flips; only the gradient's sign is used.

    For each of ``niter`` evaluations: with ``p = g · g_prev``, step sizes are multiplied by ``etaplus``
    where ``p > 0``, by ``etaminus`` where ``p < 0`` (and ``g`` is taken as 0 there, so the next
    product is 0), then clipped to ``[stepsize_min, stepsize_max]``; ``x -= sign(g) · step``.

    Configuration (keys of ``state``, with defaults):
        stepsize (0.1): the initial step size of every parameter.
        etaplus (1.2), etaminus (0.5): the growth and shrink factors.
        stepsize_max (50), stepsize_min (1e-6): bounds of the step sizes.
        niter (1): the number of evaluations and updates in one call.

    History (keys written to ``state``):
        delta: the last gradient used (with zeros where the sign flipped).
        step_sizes: the current step size of every parameter (Torch's ``state.stepsize``).

    Returns:
        ``x`` (updated in place) and the list of the ``niter`` losses, each before its update.

    """
    state = check_state("rprop", state, _RPROP_CONFIG, _RPROP_HISTORY)
    check_x("rprop", x)
    stepsize = state.get("stepsize", 0.1)
    etaplus = state.get("etaplus", 1.2)
    etaminus = state.get("etaminus", 0.5)
    step_max = state.get("stepsize_max", 50.0)
    step_min = state.get("stepsize_min", 1e-6)
    niter = state.get("niter", 1)
    check_nonnegative("rprop", stepsize=stepsize, etaminus=etaminus, stepsize_min=step_min, etaplus=etaplus,
                      stepsize_max=step_max)
    check_count("rprop", niter=niter)
    if not (etaplus >= 1 and etaminus <= 1 and step_min <= step_max):
        raise InputError(f"optim.rprop: expected etaplus >= 1 >= etaminus and stepsize_min <= stepsize_max, got "
                         f"etaplus={etaplus!r}, etaminus={etaminus!r}, stepsize_min={step_min!r}, "
                         f"stepsize_max={step_max!r}")
    losses = []
    for _ in range(int(niter)):
        fx, dfdx = evaluate("rprop", feval, x)
        delta = history_buffer("rprop", state, "delta", x)
        steps = history_buffer("rprop", state, "step_sizes", x, stepsize)
        product = np.sign(dfdx * delta)
        steps *= np.where(product > 0, etaplus, np.where(product < 0, etaminus, 1.0))
        np.clip(steps, step_min, step_max, out=steps)
        np.copyto(delta, dfdx)
        delta[product < 0] = 0.0
        x -= np.sign(delta) * steps
        losses.append(fx)
    return x, losses
