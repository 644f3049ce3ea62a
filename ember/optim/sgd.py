"""Stochastic gradient descent, as Torch's ``optim.sgd``."""

from __future__ import annotations

import numpy as np

from ember.blas import add_scaled
from ember.errors import InputError
from ember.optim._common import (
    Feval,
    check_flag,
    check_nonnegative,
    check_per_parameter,
    check_state,
    check_x,
    evaluate,
    history_buffer,
)

_CONFIG = frozenset({"learning_rate", "learning_rate_decay", "weight_decay", "momentum", "dampening", "nesterov",
                     "learning_rates", "weight_decays"})
_HISTORY = frozenset({"eval_counter", "dfdx"})
_INF = float("inf")


def sgd(feval: Feval, x: np.ndarray, state: dict | None = None) -> tuple[np.ndarray, list[float]]:
    """One step of stochastic gradient descent (Torch ``optim.sgd``).

    Args:
        feval: a function of ``x`` returning ``(f(x), df/dx)``, the gradient a
            1-D array shaped like ``x`` (it may be a buffer the model reuses).
        x: the flat parameters (1-D float array), updated in place.
        state: a dict with the configuration below, which also keeps the
            optimizer's history between calls (pass the same dict every step).

    Configuration (keys of ``state``, with defaults):
        learning_rate (1e-3): the step size.
        learning_rate_decay (0): annealing, the step uses
            ``clr = learning_rate / (1 + eval_counter * learning_rate_decay)``.
        weight_decay (0): L2 penalty, ``weight_decay * x`` is added to the gradient.
        weight_decays (None): an array of per-parameter weight decays, used
            when ``weight_decay`` is 0.
        momentum (0): heavy-ball momentum ``m``.
        dampening (= momentum): ``d``; the velocity is
            ``v = m * v + (1 - d) * g`` (``v = g`` on the first step).
        nesterov (False): Nesterov momentum, the step uses ``g + m * v``;
            requires ``momentum > 0`` and ``dampening = 0``.
        learning_rates (None): an array of per-parameter learning rates
            multiplying the step element-wise.

    History (keys written to ``state``):
        eval_counter: the number of calls so far.
        dfdx: the velocity ``v`` (with momentum only).

    Returns:
        ``x`` (the same array, updated) and ``[f(x)]``, the loss evaluated
        before the update, in a list as Torch's ``{fx}``.

    The gradient returned by ``feval`` is never modified.

    Example::

        params, grads = model.getParameters()
        state = {"learning_rate": 0.1, "momentum": 0.9}
        for epoch in range(10):
            optim.sgd(feval, params, state)

    """
    state = check_state("sgd", state, _CONFIG, _HISTORY)
    check_x("sgd", x)
    get = state.get
    lr = get("learning_rate", 1e-3)
    lrd = get("learning_rate_decay", 0.0)
    wd = get("weight_decay", 0.0)
    mom = get("momentum", 0.0)
    damp = get("dampening", mom)
    nesterov = get("nesterov", False)
    lrs = get("learning_rates")
    wds = get("weight_decays")
    if not (type(lr) is type(lrd) is type(wd) is type(mom) is type(damp) is float  # the fast path of the check
            and 0 <= lr < _INF and 0 <= lrd < _INF and 0 <= wd < _INF and 0 <= mom < _INF and 0 <= damp < _INF):
        check_nonnegative("sgd", learning_rate=lr, learning_rate_decay=lrd, weight_decay=wd, momentum=mom,
                          dampening=damp)
    if nesterov is not False and nesterov is not True:
        check_flag("sgd", nesterov=nesterov)
    if lrs is not None or wds is not None:
        check_per_parameter("sgd", x, learning_rates=lrs, weight_decays=wds)
    if nesterov and (mom <= 0 or damp != 0):
        raise InputError(f"optim.sgd: Nesterov momentum requires momentum > 0 and dampening 0, "
                         f"got momentum={mom!r}, dampening={damp!r}")
    nevals = get("eval_counter", 0)

    fx, dfdx = evaluate("sgd", feval, x)

    if wd != 0:
        dfdx = dfdx + wd * x
    elif wds is not None:
        dfdx = dfdx + wds * x

    if mom != 0:
        if state.get("dfdx") is None:
            velocity = state["dfdx"] = dfdx.copy()
        else:
            velocity = history_buffer("sgd", state, "dfdx", x)
            velocity *= mom
            add_scaled(velocity, dfdx, 1 - damp)
        dfdx = dfdx + mom * velocity if nesterov else velocity

    clr = lr / (1 + nevals * lrd)
    if lrs is not None:
        x -= clr * (lrs * dfdx)
    else:
        add_scaled(x, dfdx, -clr)

    state["eval_counter"] = nevals + 1
    return x, [fx]
