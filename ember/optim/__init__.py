"""Optimizers over a flat parameter vector, as Torch's ``optim`` package.

Every optimizer is a function ``x, fx = opt(feval, x, state)``: ``feval(x)``
returns ``(loss, gradient)`` with the gradient shaped like ``x``; ``x`` (the
flat parameters from ``model.getParameters()``) is updated in place and
returned; ``fx`` is a list of losses; ``state`` is a dict holding both the
configuration (snake_case keys such as ``learning_rate``) and the optimizer's
history between calls. Unknown keys, and values that are not numbers in range, raise
``ember.InputError`` (a ``ValueError``; ``InputTypeError`` for a wrong type); a non-finite loss or
gradient from ``feval`` stops the step with an ``InputError`` before anything is updated.

Example::

    params, grads = model.getParameters()

    def feval(x):
        grads.fill(0)
        loss = criterion.forward(model.forward(X), y)
        model.backward(X, criterion.backward(model.output, y))
        return loss, grads

    state = {"learning_rate": 0.1, "momentum": 0.9}
    for step in range(100):
        optim.sgd(feval, params, state)

Learning-rate schedules (:mod:`ember.optim.schedules`, PyTorch's
``lr_scheduler`` trajectories) set ``state["learning_rate"]`` once per epoch.
"""

from ember.optim import schedules
from ember.optim.adam import adam, adamax, adamw
from ember.optim.adaptive import adadelta, adagrad, rmsprop
from ember.optim.cg import cg
from ember.optim.checkgrad import checkgrad
from ember.optim.classic import asgd, nag, rprop
from ember.optim.clip import clip_grad_norm
from ember.optim.evolution import cmaes, de
from ember.optim.fista import fista
from ember.optim.lbfgs import lbfgs
from ember.optim.line_search import cubic_interpolate, strong_wolfe
from ember.optim.sgd import sgd

__all__ = ["adadelta", "adagrad", "adam", "adamax", "adamw", "asgd", "cg", "checkgrad", "clip_grad_norm", "cmaes",
           "cubic_interpolate", "de", "fista", "lbfgs", "nag", "rmsprop", "rprop", "schedules", "sgd", "strong_wolfe"]
