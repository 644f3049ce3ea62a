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

import os
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from ember import check, data, nn, optim, plot
from ember.errors import InputError, InputTypeError
from ember.metrics import ConfusionMatrix
from ember.train import evaluate, fit
from ember.train import predict as train_predict

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
            raise InputError(f"iris.create_model: unknown non-linearity {nonlinearity!r}; "
                             f"choose one of {', '.join(NONLINEARITIES)} or pass a module")
        layer = NONLINEARITIES[key]()
    elif isinstance(nonlinearity, nn.Module):
        layer = nonlinearity
    else:
        raise InputTypeError(f"iris.create_model: expected a non-linearity name or an nn.Module, "
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
    losses: list[float] = []

    def record(iteration: int, logs: dict[str, float]) -> None:
        losses.append(logs["loss"])
        if progress is not None:
            progress(iteration, logs["loss"])

    fit(model, criterion, X, y, optimizer=optim.adagrad, config={"learning_rate": learning_rate}, epochs=iterations,
        batch_size=None, metrics=("loss",), callbacks=[record], progress=False)
    return losses


def predict(model: nn.Module, X: np.ndarray) -> np.ndarray:
    """The most probable class of each row of ``X``."""
    return train_predict(model, X)


def accuracy(model: nn.Module, X: np.ndarray, y: np.ndarray) -> float:
    """The fraction of ``X`` classified correctly."""
    return evaluate(model, nn.ClassNLLCriterion(), X, y, metrics=("accuracy",))["accuracy"]


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


# -- the workflows: what `ember iris`, `ember demo` and examples/iris_own_layer.py run -------------

#: the relative error (and Jacobian difference) under which a check passes.
GRADIENT_TOLERANCE = 1e-6


@dataclass
class Settings:
    """The practical: which non-linearities to compare (a name or a factory of your own module), the
    training, the checks and the figure.
    """

    nonlinearities: dict[str, Any] = field(default_factory=lambda: {"sigmoid": "sigmoid", "requ": "requ"})
    hidden: int = N_HIDDEN
    iterations: int = ITERATIONS
    learning_rate: float = LEARNING_RATE
    features: tuple[int, int] = (2, 3)
    jacobian_size: int = 10
    seed: int = 0
    data_dir: str | Path | None = None


@dataclass
class Result:
    """The practical's numbers: per non-linearity the loss curve, accuracy and gradient-check error; the
    Jacobian check of the last ReQU; the figures written.
    """

    losses: dict[str, list[float]] = field(default_factory=dict)
    accuracies: dict[str, float] = field(default_factory=dict)
    gradient_errors: dict[str, float] = field(default_factory=dict)
    jacobian: JacobianCheck | None = None
    figures: list[Path] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        """Whether every gradient check and the Jacobian check passed."""
        errors = list(self.gradient_errors.values()) + ([self.jacobian.error] if self.jacobian is not None else [])
        return all(error < GRADIENT_TOLERANCE for error in errors)


def _layer(nonlinearity: Any) -> Any:
    """A name, or a fresh module from a class or factory (each model needs its own instance)."""
    return nonlinearity if isinstance(nonlinearity, (str, nn.Module)) else nonlinearity()


def run(settings: Settings, out: str | Path, log: Callable[[str], None] = print) -> Result:
    """Train and check the network with each non-linearity, check the ReQU Jacobian, write the figures."""
    fx, fy = settings.features
    if not (0 <= fx < N_INPUTS and 0 <= fy < N_INPUTS) or fx == fy:
        raise InputError(f"iris: features must be two different feature indices in 0..3, got {fx} {fy}")
    X, y = data.iris(settings.data_dir)
    log(f"Iris: {len(X)} examples, {X.shape[1]} features, {int(y.max()) + 1} classes")
    out, result = Path(out), Result()
    every = max(1, settings.iterations // 10)

    def progress(iteration: int, loss: float) -> None:
        if iteration % every == 0 or iteration == 1:
            log(f"  iteration {iteration:5d}  loss {loss:.6f}")

    requ = None
    for name, nonlinearity in settings.nonlinearities.items():
        model, criterion = create_model(_layer(nonlinearity), n_hidden=settings.hidden, rng=settings.seed)
        log(f"\n{name}: {model} with {criterion.describe()}")
        result.losses[name] = train(model, criterion, X, y, settings.iterations, settings.learning_rate, progress)
        result.accuracies[name] = accuracy(model, X, y)
        log(f"  training accuracy: {100 * result.accuracies[name]:.2f}%")
        error = result.gradient_errors[name] = gradient_check(_layer(nonlinearity), seed=settings.seed)
        log(f"  gradient check (fake data: 5 inputs, random targets): symmetric relative error {error:.3e} "
            f"-> {'ok' if error < GRADIENT_TOLERANCE else 'FAILED'} (threshold {GRADIENT_TOLERANCE:g})")
        result.figures.append(plot.decision_regions(
            out / f"iris-regions-{name}.png", lambda Z, m=model: predict(m, Z), X, y, (fx, fy),
            feature_names=FEATURE_NAMES, class_names=CLASS_NAMES,
            title=f"Iris, {name}: decision regions (other features at their mean)"))
        log(f"wrote figure: {result.figures[-1]}")
        if name.lower() == "requ":
            requ = nonlinearity
    result.figures.append(plot.line_plot(out / "iris-loss.png", result.losses, xlabel="iteration",
                                         ylabel="loss (ClassNLL)", title="Iris: training loss per non-linearity",
                                         log_y=True))
    log(f"wrote figure: {result.figures[-1]}")
    module = None if requ is None or isinstance(requ, str) else _layer(requ)
    jacobian = result.jacobian = requ_jacobian(module, size=settings.jacobian_size, seed=settings.seed)
    log(f"\nReQU Jacobian check ({jacobian.analytic.shape[0]}x{jacobian.analytic.shape[1]}, two-sided "
        f"differences): max |backprop - numeric| = {jacobian.error:.3e} -> "
        f"{'ok' if jacobian.error < GRADIENT_TOLERANCE else 'FAILED'}")
    result.figures.append(plot.jacobian_heatmap(out / "requ-jacobian.png", jacobian.analytic, jacobian.numeric,
                                                title="ReQU Jacobian"))
    log(f"wrote figure: {result.figures[-1]}")
    return result


@dataclass
class DemoSettings:
    """``ember demo``: one non-linearity, trained with a progress bar, checked, and its loss plotted."""

    nonlinearity: str = "sigmoid"
    hidden: int = N_HIDDEN
    epochs: int = ITERATIONS
    seed: int = 0


@dataclass
class DemoResult:
    """The demo's numbers: loss and accuracy after training, the gradient check, the confusion matrix."""

    loss: float
    accuracy: float
    gradient_error: float
    confusion: ConfusionMatrix
    figure: Path

    @property
    def ok(self) -> bool:
        """Whether the gradient check passed."""
        return self.gradient_error < GRADIENT_TOLERANCE


def run_demo(settings: DemoSettings, out: str | Path, log: Callable[[str], None] = print,
             progress: bool = True) -> DemoResult:
    """Train the practical's network once (full-batch adagrad), check its gradient, plot its loss."""
    X, y = data.iris()
    source = f"{os.environ[data.ENV_VAR]}/iris" if os.environ.get(data.ENV_VAR) else "the UCI file shipped with ember"
    log(f"Iris: {len(X)} examples, {X.shape[1]} features, {int(y.max()) + 1} classes ({source})")
    model, criterion = create_model(settings.nonlinearity, n_hidden=settings.hidden, rng=settings.seed)
    log(str(model))
    history = fit(model, criterion, X, y, optimizer=optim.adagrad, config={"learning_rate": LEARNING_RATE},
                  epochs=settings.epochs, batch_size=None, progress=progress, seed=settings.seed)
    scores = evaluate(model, criterion, X, y)
    log(f"trained {settings.epochs} epochs (full batch, adagrad, learning rate {LEARNING_RATE}): "
        f"loss {scores['loss']:.4f}, accuracy {100 * scores['accuracy']:.2f}%")
    model.evaluate()
    error = check.gradient_error(model, criterion, X, y)
    model.training()
    log(f"gradient check (whole model, {model.getParameters()[0].size} parameters, two-sided finite differences): "
        f"relative error {error:.2e} -> {'ok' if error < GRADIENT_TOLERANCE else 'FAILED'} "
        f"(threshold {GRADIENT_TOLERANCE:g})")
    matrix = ConfusionMatrix(list(CLASS_NAMES))
    matrix.batch_add(predict(model, X), y)
    log(str(matrix))
    path = plot.loss_curves(Path(out) / f"iris-loss-{settings.nonlinearity}.png", history["loss"],
                            title=f"Iris, {settings.nonlinearity} hidden layer: training loss (ClassNLL)")
    log(f"loss plot: {path.resolve()}")
    return DemoResult(scores["loss"], scores["accuracy"], error, matrix, path)
