"""Per-parameter adaptive step sizes: AdaGrad, AdaDelta and RMSprop, as Torch's ``optim``.

Each function has the signature ``x, [fx] = opt(feval, x, state)`` of
:func:`ember.optim.sgd`; see there for ``feval``, in-place updates and ``state``.
"""

from __future__ import annotations

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

_ADAGRAD_CONFIG = frozenset({"learning_rate", "learning_rate_decay", "weight_decay", "epsilon"})
_ADAGRAD_HISTORY = frozenset({"eval_counter", "param_variance"})


def adagrad(feval: Feval, x: np.ndarray, state: dict | None = None) -> tuple[np.ndarray, list[float]]:
    """One step of AdaGrad (Torch ``optim.adagrad``; Duchi et al., 2011).

    ``s += g²``, ``x -= clr · g / (√s + epsilon)``.

    Configuration (keys of ``state``, with defaults):
        learning_rate (1e-3): the step size.
        learning_rate_decay (0): ``clr = learning_rate / (1 + eval_counter * learning_rate_decay)``.
        weight_decay (0): L2 penalty, ``weight_decay * x`` is added to the gradient.
        epsilon (1e-10): added to ``√s`` (a constant in Torch, a key here).

    History (keys written to ``state``):
        eval_counter: the number of calls so far.
        param_variance: ``s``, the running sum of squared gradients.

    Returns:
        ``x`` (the same array, updated in place) and ``[f(x)]``, the loss before the update.

    Same update as ``torch.optim.Adagrad(lr=..., lr_decay=..., eps=1e-10)``
    (whose default learning rate is 1e-2).

    """
    state = check_state("adagrad", state, _ADAGRAD_CONFIG, _ADAGRAD_HISTORY)
    check_x("adagrad", x)
    lr = state.get("learning_rate", 1e-3)
    lrd = state.get("learning_rate_decay", 0.0)
    wd = state.get("weight_decay", 0.0)
    eps = state.get("epsilon", 1e-10)
    check_nonnegative("adagrad", learning_rate=lr, learning_rate_decay=lrd, weight_decay=wd, epsilon=eps)
    nevals = state.get("eval_counter", 0)

    fx, dfdx = evaluate("adagrad", feval, x)
    if wd != 0:
        dfdx = dfdx + wd * x
    clr = lr / (1 + nevals * lrd)

    variance = history_buffer("adagrad", state, "param_variance", x)
    variance += dfdx * dfdx
    std = np.sqrt(variance)
    std += eps
    x -= clr * (dfdx / std)

    state["eval_counter"] = nevals + 1
    return x, [fx]


_ADADELTA_CONFIG = frozenset({"rho", "epsilon", "weight_decay", "learning_rate"})
_ADADELTA_HISTORY = frozenset({"eval_counter", "param_variance", "acc_delta"})


def adadelta(feval: Feval, x: np.ndarray, state: dict | None = None) -> tuple[np.ndarray, list[float]]:
    """One step of AdaDelta (Torch ``optim.adadelta``; Zeiler, 2012).

    ``s = ρ s + (1 − ρ) g²``; ``Δ = √(a + ε) / √(s + ε) · g``; ``x -= learning_rate · Δ``;
    ``a = ρ a + (1 − ρ) Δ²``.

    Configuration (keys of ``state``, with defaults):
        rho (0.9): the decay of both running averages.
        epsilon (1e-6): added inside both square roots (Torch's ``eps``).
        weight_decay (0): L2 penalty, ``weight_decay * x`` is added to the gradient.
        learning_rate (1.0): scales the step ``Δ`` (Torch has no such key,
            i.e. 1; ``torch.optim.Adadelta``'s ``lr``). The accumulated
            ``a`` uses the unscaled ``Δ``, as PyTorch does.

    History (keys written to ``state``):
        eval_counter: the number of calls so far.
        param_variance: ``s``, the running average of squared gradients.
        acc_delta: ``a``, the running average of squared steps.

    Returns:
        ``x`` (the same array, updated in place) and ``[f(x)]``, the loss before the update.

    """
    state = check_state("adadelta", state, _ADADELTA_CONFIG, _ADADELTA_HISTORY)
    check_x("adadelta", x)
    rho = state.get("rho", 0.9)
    eps = state.get("epsilon", 1e-6)
    wd = state.get("weight_decay", 0.0)
    lr = state.get("learning_rate", 1.0)
    check_unit_interval("adadelta", rho=rho)
    check_nonnegative("adadelta", epsilon=eps, weight_decay=wd, learning_rate=lr)

    fx, dfdx = evaluate("adadelta", feval, x)
    if wd != 0:
        dfdx = dfdx + wd * x

    variance = history_buffer("adadelta", state, "param_variance", x)
    acc_delta = history_buffer("adadelta", state, "acc_delta", x)
    variance *= rho
    variance += (1 - rho) * (dfdx * dfdx)
    std = np.sqrt(variance + eps)
    delta = np.sqrt(acc_delta + eps)
    delta /= std
    delta *= dfdx
    x -= lr * delta if lr != 1 else delta
    acc_delta *= rho
    acc_delta += (1 - rho) * (delta * delta)

    state["eval_counter"] = state.get("eval_counter", 0) + 1
    return x, [fx]


_RMSPROP_CONFIG = frozenset({"learning_rate", "alpha", "epsilon", "weight_decay", "initial_mean"})
_RMSPROP_HISTORY = frozenset({"m"})


def rmsprop(feval: Feval, x: np.ndarray, state: dict | None = None) -> tuple[np.ndarray, list[float]]:
    """One step of RMSprop (Torch ``optim.rmsprop``; Tieleman and Hinton, 2012).

    ``m = α m + (1 − α) g²``, ``x -= learning_rate · g / (√m + epsilon)``.

    Configuration (keys of ``state``, with defaults):
        learning_rate (1e-2): the step size.
        alpha (0.99): the decay of the running average of squared gradients.
        epsilon (1e-8): added to ``√m`` (outside the square root).
        weight_decay (0): L2 penalty, ``weight_decay * x`` is added to the gradient.
        initial_mean (0): the value ``m`` starts from (Torch's ``initialMean``).

    History (keys written to ``state``):
        m: the running average of squared gradients.

    Returns:
        ``x`` (the same array, updated in place) and ``[f(x)]``, the loss before the update.

    With ``initial_mean = 0`` this is ``torch.optim.RMSprop(lr, alpha, eps)``
    (non-centred, no momentum) exactly: both add epsilon after the square root.

    """
    state = check_state("rmsprop", state, _RMSPROP_CONFIG, _RMSPROP_HISTORY)
    check_x("rmsprop", x)
    lr = state.get("learning_rate", 1e-2)
    alpha = state.get("alpha", 0.99)
    eps = state.get("epsilon", 1e-8)
    wd = state.get("weight_decay", 0.0)
    check_unit_interval("rmsprop", alpha=alpha)
    check_nonnegative("rmsprop", learning_rate=lr, epsilon=eps, weight_decay=wd)

    fx, dfdx = evaluate("rmsprop", feval, x)
    if wd != 0:
        dfdx = dfdx + wd * x

    if "m" not in state:
        check_nonnegative("rmsprop", initial_mean=state.get("initial_mean", 0.0))
    mean = history_buffer("rmsprop", state, "m", x, fill=state.get("initial_mean", 0.0))
    mean *= alpha
    mean += (1 - alpha) * (dfdx * dfdx)
    denom = np.sqrt(mean)
    denom += eps
    x -= lr * (dfdx / denom)
    return x, [fx]
