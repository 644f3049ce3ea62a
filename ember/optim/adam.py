"""Adam and AdaMax (Kingma and Ba, 2015), as Torch's ``optim.adam`` and ``optim.adamax``.

Each function has the signature ``x, [fx] = opt(feval, x, state)`` of
:func:`ember.optim.sgd`; see there for ``feval``, in-place updates and ``state``.
"""

from __future__ import annotations

import math

import numpy as np

from ember.optim._common import (
    Feval,
    check_nonnegative,
    check_state,
    check_unit_interval,
    check_x,
    evaluate,
    history_buffer,
)

_ADAM_CONFIG = frozenset({"learning_rate", "learning_rate_decay", "beta1", "beta2", "epsilon", "weight_decay"})
_ADAM_HISTORY = frozenset({"t", "m", "v"})


def adam(feval: Feval, x: np.ndarray, state: dict | None = None) -> tuple[np.ndarray, list[float]]:
    """One step of Adam (Torch ``optim.adam``).

    ``m = β1 m + (1 − β1) g``, ``v = β2 v + (1 − β2) g²``, then
    ``x -= clr · √(1 − β2^t) / (1 − β1^t) · m / (√v + epsilon)``.

    Configuration (keys of ``state``, with defaults):
        learning_rate (1e-3): the step size.
        learning_rate_decay (0): ``clr = learning_rate / (1 + (t - 1) * learning_rate_decay)``.
        beta1 (0.9): the decay of the first moment ``m``.
        beta2 (0.999): the decay of the second moment ``v``.
        epsilon (1e-8): added to ``√v``.
        weight_decay (0): L2 penalty, ``weight_decay * x`` is added to the gradient.

    History (keys written to ``state``):
        t: the number of steps taken (the bias-correction exponent).
        m, v: the biased first and second moment estimates.

    Returns:
        ``x`` (the same array, updated in place) and ``[f(x)]``, the loss before the update.

    Note: Torch applies the bias correction to the step size and adds epsilon
    to the uncorrected ``√v`` (the paper's "efficient version"), while
    ``torch.optim.Adam`` adds epsilon to ``√v / √(1 − β2^t)``. The two agree
    exactly when ``epsilon = 0`` and differ by O(epsilon) otherwise.

    """
    state = check_state("adam", state, _ADAM_CONFIG, _ADAM_HISTORY)
    check_x("adam", x)
    lr = state.get("learning_rate", 1e-3)
    lrd = state.get("learning_rate_decay", 0.0)
    beta1 = state.get("beta1", 0.9)
    beta2 = state.get("beta2", 0.999)
    eps = state.get("epsilon", 1e-8)
    wd = state.get("weight_decay", 0.0)
    check_nonnegative("adam", learning_rate=lr, learning_rate_decay=lrd, epsilon=eps, weight_decay=wd)
    check_unit_interval("adam", beta1=beta1, beta2=beta2)

    fx, dfdx = evaluate("adam", feval, x)
    if wd != 0:
        dfdx = dfdx + wd * x

    m = history_buffer("adam", state, "m", x)
    v = history_buffer("adam", state, "v", x)
    t = state.get("t", 0)
    clr = lr / (1 + t * lrd)
    t += 1
    state["t"] = t

    m *= beta1
    m += (1 - beta1) * dfdx
    v *= beta2
    v += (1 - beta2) * (dfdx * dfdx)
    denom = np.sqrt(v)
    denom += eps
    step_size = clr * math.sqrt(1 - beta2**t) / (1 - beta1**t)
    x -= step_size * (m / denom)
    return x, [fx]


_ADAMAX_CONFIG = frozenset({"learning_rate", "beta1", "beta2", "epsilon", "weight_decay"})
_ADAMAX_HISTORY = frozenset({"t", "m", "u"})


def adamax(feval: Feval, x: np.ndarray, state: dict | None = None) -> tuple[np.ndarray, list[float]]:
    """One step of AdaMax, Adam with the infinity norm (Torch ``optim.adamax``).

    ``m = β1 m + (1 − β1) g``, ``u = max(β2 u, |g| + epsilon)``, then
    ``x -= learning_rate / (1 − β1^t) · m / u``.

    Configuration (keys of ``state``, with defaults):
        learning_rate (2e-3): the step size.
        beta1 (0.9): the decay of the first moment ``m``.
        beta2 (0.999): the decay of the infinity norm ``u``.
        epsilon (1e-38): added to ``|g|`` so that ``u`` is never 0
            (``torch.optim.Adamax`` uses 1e-8).
        weight_decay (0): L2 penalty, ``weight_decay * x`` is added to the gradient.

    History (keys written to ``state``):
        t: the number of steps taken.
        m: the biased first moment; u: the exponentially weighted infinity norm.

    Returns:
        ``x`` (the same array, updated in place) and ``[f(x)]``, the loss before the update.

    Same update as ``torch.optim.Adamax(lr, betas, eps)``.

    """
    state = check_state("adamax", state, _ADAMAX_CONFIG, _ADAMAX_HISTORY)
    check_x("adamax", x)
    lr = state.get("learning_rate", 2e-3)
    beta1 = state.get("beta1", 0.9)
    beta2 = state.get("beta2", 0.999)
    eps = state.get("epsilon", 1e-38)
    wd = state.get("weight_decay", 0.0)
    check_nonnegative("adamax", learning_rate=lr, epsilon=eps, weight_decay=wd)
    check_unit_interval("adamax", beta1=beta1, beta2=beta2)

    fx, dfdx = evaluate("adamax", feval, x)
    if wd != 0:
        dfdx = dfdx + wd * x

    m = history_buffer("adamax", state, "m", x)
    u = history_buffer("adamax", state, "u", x)
    t = state.get("t", 0) + 1
    state["t"] = t

    m *= beta1
    m += (1 - beta1) * dfdx
    u *= beta2
    np.maximum(u, np.abs(dfdx) + eps, out=u)
    x -= (lr / (1 - beta1**t)) * (m / u)
    return x, [fx]


_ADAMW_CONFIG = frozenset({"learning_rate", "beta1", "beta2", "epsilon", "weight_decay"})


def adamw(feval: Feval, x: np.ndarray, state: dict | None = None) -> tuple[np.ndarray, list[float]]:
    """One step of AdamW, Adam with decoupled weight decay (Loshchilov and Hutter, 2019), as
    ``torch.optim.AdamW`` (Lua Torch has none).

    ``x -= learning_rate · weight_decay · x`` (the decay, not through the gradient), then
    ``m = β1 m + (1 − β1) g``, ``v = β2 v + (1 − β2) g²`` and
    ``x -= learning_rate / (1 − β1^t) · m / (√v / √(1 − β2^t) + epsilon)``.

    Configuration (keys of ``state``, with defaults, PyTorch's):
        learning_rate (1e-3): the step size.
        beta1 (0.9), beta2 (0.999): the decays of the moments ``m`` and ``v``.
        epsilon (1e-8): added to the bias-corrected ``√v``.
        weight_decay (1e-2): the decoupled decay rate.

    History (keys written to ``state``):
        t: the number of steps taken.
        m, v: the biased first and second moment estimates.

    Returns:
        ``x`` (the same array, updated in place) and ``[f(x)]``, the loss before the update.

    """
    state = check_state("adamw", state, _ADAMW_CONFIG, _ADAM_HISTORY)
    check_x("adamw", x)
    lr = state.get("learning_rate", 1e-3)
    beta1 = state.get("beta1", 0.9)
    beta2 = state.get("beta2", 0.999)
    eps = state.get("epsilon", 1e-8)
    wd = state.get("weight_decay", 1e-2)
    check_nonnegative("adamw", learning_rate=lr, epsilon=eps, weight_decay=wd)
    check_unit_interval("adamw", beta1=beta1, beta2=beta2)

    fx, dfdx = evaluate("adamw", feval, x)
    m = history_buffer("adamw", state, "m", x)
    v = history_buffer("adamw", state, "v", x)
    t = state["t"] = state.get("t", 0) + 1

    x *= 1 - lr * wd
    m *= beta1
    m += (1 - beta1) * dfdx
    v *= beta2
    v += (1 - beta2) * (dfdx * dfdx)
    denom = np.sqrt(v)
    denom /= math.sqrt(1 - beta2**t)
    denom += eps
    x -= (lr / (1 - beta1**t)) * (m / denom)
    return x, [fx]
