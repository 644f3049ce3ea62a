"""Implementing your own layer: the Iris network of the Torch practical, with a sigmoid or ReQU.

The model is ``input (4) → Linear → non-linearity → Linear → LogSoftMax`` with the
``ClassNLLCriterion`` (the cross-entropy of the log-probabilities), trained on all
150 flowers at once (full batch) by adagrad with learning rate 0.1. Every parameter
starts uniform(−0.01, 0.01); with ReQU (``z = x² · 1[x > 0]``) the biases of the
Linear layers are moved up by 0.5, so that the hidden units start where ReQU's
gradient is not zero.

Then the two checks of the practical:

* the **whole-model gradient check** on fake data (5 random inputs, random targets):
  the gradient of the loss with respect to all parameters by backprop and by
  two-sided finite differences, compared by the symmetric relative error
  ``‖g₁ − g₂‖ / ‖g₁ + g₂‖`` (:func:`gradient_check`);
* the **Jacobian check** of the ReQU module alone: its Jacobian by backprop (one
  one-hot ``gradOutput`` per row) against two-sided finite differences (one
  perturbed input per column) (:func:`requ_jacobian`).

Example::

    from ember import data
    from ember.recipes import iris
    X, y = data.iris()
    model, criterion = iris.create_model("requ")
    losses = iris.train(model, criterion, X, y)
    print(losses[-1], iris.accuracy(model, X, y))
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from ember import check, nn, optim

#: the practical's sizes: 4 measurements, a 2-unit hidden layer, 3 species.
N_INPUTS, N_HIDDEN, N_CLASSES = 4, 2, 3
LEARNING_RATE = 0.1
ITERATIONS = 1000
#: the names of the features and classes, for figures.
FEATURE_NAMES = ("sepal length (cm)", "sepal width (cm)", "petal length (cm)", "petal width (cm)")
CLASS_NAMES = ("setosa", "versicolor", "virginica")

NONLINEARITIES: dict[str, Callable[[], nn.Module]] = {"sigmoid": nn.Sigmoid, "requ": nn.ReQU}


def create_model(nonlinearity: str | nn.Module = "sigmoid", n_hidden: int = N_HIDDEN,
                 rng: np.random.Generator | int | None = None) -> tuple[nn.Sequential, nn.ClassNLLCriterion]:
    """The practical's model and criterion.

    Args:
        nonlinearity: ``"sigmoid"``, ``"requ"``, or a module instance (e.g. your own ReQU); a module
            whose class name is ``ReQU`` gets the ReQU bias offset too.
        n_hidden: hidden units.
        rng: a Generator or seed for the uniform(−0.01, 0.01) initialisation (default: the
            library-wide generator, see :func:`ember.manual_seed`).

    Returns:
        ``(model, criterion)``: ``Linear(4 → n_hidden) → nonlinearity → Linear(n_hidden → 3) →
        LogSoftMax`` and a ``ClassNLLCriterion``.

    """
    from ember.random import get_rng

    if isinstance(nonlinearity, str):
        key = nonlinearity.lower()
        if key not in NONLINEARITIES:
            raise ValueError(f"iris.create_model: unknown non-linearity {nonlinearity!r}; "
                             f"choose one of {', '.join(NONLINEARITIES)} or pass a module")
        layer = NONLINEARITIES[key]()
    elif isinstance(nonlinearity, nn.Module):
        layer = nonlinearity
    else:
        raise TypeError(f"iris.create_model: expected a non-linearity name or an nn.Module, "
                        f"got {type(nonlinearity).__name__}")
    generator = rng if isinstance(rng, np.random.Generator) else (
        np.random.default_rng(rng) if rng is not None else get_rng())
    model = nn.Sequential(nn.Linear(N_INPUTS, n_hidden), layer, nn.Linear(n_hidden, N_CLASSES), nn.LogSoftMax())
    for param in model.parameters()[0]:
        param[...] = generator.uniform(-0.01, 0.01, param.shape)
    if type(layer).__name__.lower() == "requ":
        for linear in model.findModules(nn.Linear):
            linear.bias += 0.5  # start where ReQU's slope is not zero
    return model, nn.ClassNLLCriterion()


def train(model: nn.Module, criterion: nn.Criterion, X: np.ndarray, y: np.ndarray, iterations: int = ITERATIONS,
          learning_rate: float = LEARNING_RATE, progress: Callable[[int, float], None] | None = None) -> list[float]:
    """Full-batch adagrad: each iteration evaluates the loss and gradient on all of ``X``.

    Args:
        model: the network (from :func:`create_model`).
        criterion: its criterion.
        X: ``(n, 4)`` features.
        y: ``(n,)`` labels 0..2.
        iterations: adagrad steps.
        learning_rate: adagrad's learning rate (the practical's 0.1).
        progress: optional ``progress(iteration, loss)`` called after each step.

    Returns:
        The loss at each iteration, before its update.

    """
    params, grads = model.getParameters()

    def feval(x: np.ndarray) -> tuple[float, np.ndarray]:
        grads.fill(0.0)
        loss = criterion.forward(model.forward(X), y)
        model.backward(X, criterion.backward(model.output, y))
        return loss, grads

    state = {"learning_rate": learning_rate}
    losses = []
    for iteration in range(1, iterations + 1):
        _, (loss,) = optim.adagrad(feval, params, state)
        losses.append(float(loss))
        if progress is not None:
            progress(iteration, float(loss))
    return losses


def predict(model: nn.Module, X: np.ndarray) -> np.ndarray:
    """The most probable class of each row of ``X``."""
    return np.asarray(model.forward(X).argmax(axis=1))


def accuracy(model: nn.Module, X: np.ndarray, y: np.ndarray) -> float:
    """The fraction of ``X`` classified correctly."""
    return float(np.mean(predict(model, X) == y))


def gradient_check(nonlinearity: str | nn.Module = "sigmoid", n_examples: int = 5, eps: float = 1e-6,
                   seed: int = 0) -> float:
    """The whole-model check on fake data: ``n_examples`` standard-normal inputs with random
    targets, a freshly created model, backprop against two-sided finite differences.

    Returns:
        The symmetric relative error ``‖g_backprop − g_numeric‖ / ‖g_backprop + g_numeric‖``; of the
        order of ``eps`` or below when the model's backward is right.

    """
    rng = np.random.default_rng(seed)
    model, criterion = create_model(nonlinearity, rng=rng)
    X = rng.standard_normal((n_examples, N_INPUTS))
    y = rng.integers(0, N_CLASSES, n_examples)
    return check.gradient_error(model, criterion, X, y, eps=eps)


@dataclass
class JacobianCheck:
    """Backprop and finite-difference Jacobians of one module at one input.

    Attributes:
        input: the input the Jacobians were taken at.
        analytic: by backprop, rows = output elements, columns = input elements.
        numeric: by two-sided finite differences.

    """

    input: np.ndarray
    analytic: np.ndarray
    numeric: np.ndarray

    @property
    def error(self) -> float:
        """The largest absolute difference between the two Jacobians."""
        return float(np.max(np.abs(self.analytic - self.numeric), initial=0.0))


def requ_jacobian(module: nn.Module | None = None, size: int = 10, eps: float = 1e-6, seed: int = 0) -> JacobianCheck:
    """Check a ReQU module (default ``nn.ReQU()``, or your own) by its Jacobian at a random input.

    The input is standard normal with no element within ``10·eps`` of 0, ReQU's kink, where a
    central difference would straddle the two sides. The Jacobian of an element-wise module is
    diagonal, ``2x · 1[x > 0]`` on the diagonal.
    """
    module = nn.ReQU() if module is None else module
    x = np.random.default_rng(seed).standard_normal(size)
    x[np.abs(x) < 10 * eps] = 0.5
    analytic, numeric = check.jacobian(module, x, eps=eps)
    return JacobianCheck(x, analytic, numeric)
