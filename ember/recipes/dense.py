"""The backprop lab: dense networks from a layer list, XOR, an experiment grid, MNIST.

:func:`build_dense` turns the lab's layer list into an ember network: a number is a
Linear layer of that many units (from the previous size), a name is an activation::

    build_dense(2, [2, "tanh", 1, "sigmoid"])
    # Linear(2 -> 2) -> Tanh -> Linear(2 -> 1) -> Sigmoid

Weights start normal(0, sd²) with ``sd = √(2 / (fan_in + fan_out))``, clipped to
±2·sd (a truncated Glorot normal), and biases at zero, as in the lab.

:func:`train_xor` trains such a network on the four XOR points (inputs ±1, target 1
when the signs differ) with the binary cross-entropy (``BCECriterion``) and
full-batch gradient descent (``ember.optim.sgd``, learning rate 0.25, 250
iterations). Weight decay adds ``λ/2 · ‖W‖²`` to the loss for every weight matrix
(not the biases), so the optimizer adds ``λ · W`` to each weight's gradient
(``weight_decays`` of ``optim.sgd``).

:func:`experiment_grid` tries activations × learning rates × initialisations ×
depths, several seeds each; :func:`train_mnist` is the optional part: a network
with a softmax output and the categorical cross-entropy on MNIST, trained on 8,000
of the 10,000 shipped images and tested on the other 2,000.
"""

from __future__ import annotations

import csv
import itertools
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from ember import nn, optim, plot
from ember.distributed import parallel_map
from ember.errors import InputError
from ember.files import atomic_write
from ember.train import evaluate, fit, predict

#: the activation names a layer list may use.
ACTIVATIONS: dict[str, Callable[[], nn.Module]] = {
    "tanh": nn.Tanh, "sigmoid": nn.Sigmoid, "relu": nn.ReLU, "requ": nn.ReQU, "softmax": nn.SoftMax,
    "logsoftmax": nn.LogSoftMax, "identity": nn.Identity, "linear": nn.Identity,
}
#: the initialisations :func:`build_dense` knows.
INITIALISATIONS = ("glorot", "uniform", "normal", "zero")

#: the four XOR points: inputs ±1, target 1 exactly when the two signs differ.
XOR_X = np.array([[-1.0, -1.0], [-1.0, 1.0], [1.0, -1.0], [1.0, 1.0]])
XOR_Y = np.array([[0.0], [1.0], [1.0], [0.0]])
XOR_LAYERS: tuple[Any, ...] = (2, "tanh", 1, "sigmoid")
XOR_LEARNING_RATE, XOR_ITERATIONS, XOR_SEED = 0.25, 250, 2


def _layer_activation(item: Any) -> nn.Module:
    if isinstance(item, nn.Module):
        return item
    if isinstance(item, str) and item.lower() in ACTIVATIONS:
        return ACTIVATIONS[item.lower()]()
    raise InputError(f"build_dense: unknown layer {item!r}; a layer is a number of units, an nn.Module, "
                     f"or one of {', '.join(ACTIVATIONS)}")


def initialise(linear: nn.Linear, scheme: str, rng: np.random.Generator) -> None:
    """Set a Linear layer's weight by ``scheme`` and its bias to zero.

    Schemes: ``"glorot"`` (the lab's: normal(0, sd²), ``sd = √(2/(fan_in + fan_out))``, clipped to
    ±2·sd), ``"uniform"`` (Torch's default: uniform(±1/√fan_in)), ``"normal"`` (standard normal,
    deliberately too large) and ``"zero"`` (everything 0: every hidden unit stays identical).
    """
    fan_out, fan_in = linear.weight.shape
    if scheme == "glorot":
        sd = math.sqrt(2.0 / (fan_in + fan_out))
        linear.weight[...] = np.clip(rng.normal(0.0, sd, linear.weight.shape), -2 * sd, 2 * sd)
    elif scheme == "uniform":
        bound = 1.0 / math.sqrt(fan_in)
        linear.weight[...] = rng.uniform(-bound, bound, linear.weight.shape)
    elif scheme == "normal":
        linear.weight[...] = rng.standard_normal(linear.weight.shape)
    elif scheme == "zero":
        linear.weight.fill(0.0)
    else:
        raise InputError(f"unknown initialisation {scheme!r}; choose one of {', '.join(INITIALISATIONS)}")
    linear.bias.fill(0.0)


def build_dense(input_size: int, layers: Sequence[Any], *, init: str = "glorot",
                rng: np.random.Generator | int | None = None) -> nn.Sequential:
    """A dense network from the lab's layer list.

    Args:
        input_size: features per example.
        layers: numbers (a Linear layer of that many units) and activations (a name from
            :data:`ACTIVATIONS` or an ``nn.Module``), in order, e.g. ``[2, 'tanh', 1, 'sigmoid']``.
        init: the weight initialisation (:func:`initialise`); biases start at zero.
        rng: a Generator or seed (default: the library-wide generator).

    Returns:
        The ``nn.Sequential``.

    """
    from ember.random import get_rng

    if int(input_size) != input_size or input_size < 1:
        raise InputError(f"build_dense: input_size must be a positive integer, got {input_size!r}")
    if not layers:
        raise InputError("build_dense: the layer list is empty")
    if init not in INITIALISATIONS:
        raise InputError(f"build_dense: unknown initialisation {init!r}; choose one of {', '.join(INITIALISATIONS)}")
    generator = rng if isinstance(rng, np.random.Generator) else (
        np.random.default_rng(rng) if rng is not None else get_rng())
    model = nn.Sequential()
    size = int(input_size)
    for item in layers:
        if isinstance(item, (int, np.integer)) and not isinstance(item, bool):
            if item < 1:
                raise InputError(f"build_dense: a layer needs at least 1 unit, got {item}")
            linear = nn.Linear(size, int(item))
            initialise(linear, init, generator)
            model.add(linear)
            size = int(item)
        else:
            model.add(_layer_activation(item))
    return model


def weight_decays(model: nn.Module, weight_decay: float) -> np.ndarray:
    """The per-parameter decay vector for ``optim.sgd``'s ``weight_decays``: ``λ`` on the entries of
    every Linear weight, 0 on biases (the penalty ``λ/2 · ‖W‖²`` covers weights only).

    The vector follows the order of ``model.getParameters()`` (and of ``model.parameters()``);
    it does not re-flatten the model, so a flat parameter vector already taken stays attached.
    """
    weights = {id(linear.weight) for linear in model.findModules(nn.Linear)}
    pieces = [np.full(param.size, weight_decay if id(param) in weights else 0.0, dtype=param.dtype)
              for param in model.parameters()[0]]
    return np.concatenate(pieces) if pieces else np.zeros(0)


def l2_penalty(model: nn.Module, weight_decay: float) -> float:
    """``λ/2 · Σ ‖W‖²`` over the Linear weights of ``model``."""
    return 0.5 * weight_decay * sum(float(np.sum(m.weight ** 2)) for m in model.findModules(nn.Linear))


def train_batch(model: nn.Module, criterion: nn.Criterion, X: np.ndarray, y: np.ndarray, iterations: int,
                learning_rate: float, weight_decay: float = 0.0,
                progress: Callable[[int, float], None] | None = None) -> list[float]:
    """Full-batch gradient descent (``optim.sgd``) with optional weight decay on the weights, through
    :func:`ember.train.fit`: one epoch per iteration, the penalty ``λ/2 · ‖W‖²`` as ``fit``'s ``penalty``
    (its gradient ``λ W`` is added by the optimizer, ``weight_decays``).

    Returns:
        The loss at each iteration (the criterion plus ``λ/2 · ‖W‖²``), before its update.

    """
    config: dict[str, Any] = {"learning_rate": learning_rate}
    if weight_decay:
        config["weight_decays"] = weight_decays(model, weight_decay)
    callbacks = [] if progress is None else [lambda epoch, logs: progress(epoch, logs["loss"])]
    history = fit(model, criterion, X, y, optimizer=optim.sgd, config=config, epochs=iterations, batch_size=None,
                  metrics=("loss",), callbacks=callbacks, progress=False,
                  penalty=(lambda m: l2_penalty(m, weight_decay)) if weight_decay else None)
    return [float(loss) for loss in history["loss"]]


@dataclass
class XorResult:
    """A network trained on XOR.

    Attributes:
        model: the trained network.
        losses: the loss per iteration.
        probabilities: the network's output for the four points, ``(4,)``.
        correct: whether every point is on the right side of 0.5.

    """

    model: nn.Sequential
    losses: list[float] = field(repr=False)
    probabilities: np.ndarray
    correct: bool
    figures: list[Path] = field(default_factory=list)


def train_xor(layers: Sequence[Any] = XOR_LAYERS, *, learning_rate: float = XOR_LEARNING_RATE,
              iterations: int = XOR_ITERATIONS, weight_decay: float = 0.0, init: str = "glorot",
              seed: int | None = XOR_SEED, progress: Callable[[int, float], None] | None = None) -> XorResult:
    """Train ``build_dense(2, layers)`` on XOR with the binary cross-entropy and gradient descent.

    Args:
        layers: the layer list; the output must be one probability per example (end with ``'sigmoid'``).
        learning_rate: the gradient-descent step (the lab's 0.25).
        iterations: full-batch steps (the lab's 250).
        weight_decay: ``λ`` of the penalty ``λ/2 · ‖W‖²``.
        init: the weight initialisation.
        seed: seed of the initialisation (``None``: the library-wide generator). With the lab's
            settings, 8 of the seeds 0..9 solve XOR in 250 iterations (0 and 1 stall in a plateau);
            the default, 2, is one that solves it.
        progress: optional ``progress(iteration, loss)``.

    """
    model = build_dense(2, layers, init=init, rng=None if seed is None else np.random.default_rng(seed))
    losses = train_batch(model, nn.BCECriterion(), XOR_X, XOR_Y, iterations, learning_rate, weight_decay, progress)
    probabilities = model.forward(XOR_X).reshape(-1).copy()
    correct = bool(np.all((probabilities > 0.5) == (XOR_Y.reshape(-1) > 0.5)))
    return XorResult(model, losses, probabilities, correct)


def linear_weights(model: nn.Module) -> dict[str, np.ndarray]:
    """``{"W1": …, "b1": …, "W2": …}``: the weights and biases of each Linear layer, for figures."""
    result = {}
    for index, linear in enumerate(model.findModules(nn.Linear), start=1):
        result[f"W{index}"] = linear.weight.copy()
        result[f"b{index}"] = linear.bias.copy()
    return result


# -- the experiment grid ------------------------------------------------------------------------

#: the grid of the lab's question 9, and the hidden layers of each depth.
GRID_ACTIVATIONS = ("tanh", "sigmoid", "relu")
GRID_LEARNING_RATES = (0.05, 0.25, 1.0)
GRID_INITIALISATIONS = ("glorot", "uniform", "normal", "zero")
GRID_DEPTHS = {1: (2,), 2: (4, 4)}


def layers_for(activation: str, depth: int, hidden: Sequence[int] | None = None) -> list[Any]:
    """The layer list of ``depth`` hidden layers of ``activation`` and a sigmoid output unit."""
    sizes = tuple(hidden) if hidden is not None else GRID_DEPTHS.get(depth, (4,) * depth)
    if len(sizes) != depth:
        raise InputError(f"layers_for: {len(sizes)} hidden sizes given for depth {depth}")
    layers: list[Any] = []
    for size in sizes:
        layers += [size, activation]
    return layers + [1, "sigmoid"]


def experiment_grid(activations: Sequence[str] = GRID_ACTIVATIONS,
                    learning_rates: Sequence[float] = GRID_LEARNING_RATES,
                    initialisations: Sequence[str] = GRID_INITIALISATIONS, depths: Sequence[int] = (1, 2), *,
                    seeds: int = 5, iterations: int = XOR_ITERATIONS,
                    progress: Callable[[dict[str, Any]], None] | None = None, executor: Any = "none",
                    workers: int | None = None) -> list[dict[str, Any]]:
    """Train XOR networks for every combination, ``seeds`` initialisations each.

    ``executor`` says where the combinations run: ``"none"`` (here, one after another), ``"processes"``,
    ``"mpi"`` (see :func:`ember.distributed.parallel_map`) or an executor (with ``workers`` workers); the
    rows are the same whichever, and ``progress(row)`` sees them in order.

    Returns:
        One row per combination: ``activation``, ``learning_rate``, ``init``, ``depth``, ``layers``
        (as text), ``final_loss`` (mean over seeds of the last loss), ``solved`` (the fraction of seeds
        that classify all four points correctly).

    """
    combinations = [(activation, float(rate), init, int(depth), seeds, iterations)
                    for activation, rate, init, depth in itertools.product(activations, learning_rates,
                                                                           initialisations, depths)]
    return parallel_map(grid_row, combinations, executor=executor, workers=workers, progress=progress)


def grid_row(combination: tuple) -> dict[str, Any]:
    """One row of :func:`experiment_grid`: ``(activation, learning rate, init, depth, seeds, iterations)``
    → its row (a module-level function, so that worker processes can receive it).
    """
    activation, rate, init, depth, seeds, iterations = combination
    layers = layers_for(activation, depth)
    runs = [train_xor(layers, learning_rate=rate, iterations=iterations, init=init, seed=seed)
            for seed in range(seeds)]
    finals = [run.losses[-1] for run in runs]
    return {"activation": activation, "learning_rate": rate, "init": init, "depth": depth,
            "layers": " ".join(map(str, layers)),
            "final_loss": float(np.mean(finals)) if all(np.isfinite(finals)) else float("nan"),
            "solved": float(np.mean([run.correct for run in runs]))}


def grid_table(rows: Sequence[dict[str, Any]]) -> str:
    """The grid as a Markdown table."""
    lines = ["| activation | learning rate | init | depth | final loss | solved |", "|---|---|---|---|---|---|"]
    for row in rows:
        lines.append(f"| {row['activation']} | {row['learning_rate']:g} | {row['init']} | {row['depth']} | "
                     f"{row['final_loss']:.4f} | {100 * row['solved']:.0f}% |")
    return "\n".join(lines)


def write_grid_csv(path: str | Path, rows: Sequence[dict[str, Any]]) -> Path:
    """Write the grid's rows as CSV."""
    columns = ["activation", "learning_rate", "init", "depth", "layers", "final_loss", "solved"]

    def write(temporary: Path) -> None:
        with temporary.open("w", newline="") as handle:
            writer = csv.DictWriter(handle, fieldnames=columns)
            writer.writeheader()
            for row in rows:
                writer.writerow({key: row[key] for key in columns})

    return atomic_write(path, write, make_parents=True)


def plot_grid(path: str | Path, rows: Sequence[dict[str, Any]], value: str = "solved") -> Path:
    """The grid as a heatmap: one row per (activation, depth, init), one column per learning rate."""
    if not rows:
        raise InputError("dense.plot_grid: no rows to plot")
    rates = list(dict.fromkeys(row["learning_rate"] for row in rows))
    keys = list(dict.fromkeys((row["activation"], row["depth"], row["init"]) for row in rows))
    table = np.full((len(keys), len(rates)), np.nan)
    for row in rows:
        table[keys.index((row["activation"], row["depth"], row["init"])), rates.index(row["learning_rate"])] = \
            row[value]
    title = "XOR: fraction of seeds solved" if value == "solved" else f"XOR: {value.replace('_', ' ')}"
    return plot.table_heatmap(path, table, [f"{a}, depth {d}, {i}" for a, d, i in keys],
                              [f"lr {rate:g}" for rate in rates], title=title, colorbar_label=value,
                              fmt="{:.0%}" if value == "solved" else "{:.3f}")


# -- MNIST --------------------------------------------------------------------------------------

MNIST_LAYERS: tuple[Any, ...] = (128, "relu", 10, "logsoftmax")
MNIST_TRAIN = 8000


@dataclass
class MnistResult:
    """A network trained on MNIST images (8,000 of the shipped 10,000, or the 60,000 training images) and tested on
    others.

    Attributes:
        model: the network (its output is log-probabilities).
        history: the ``ember.train`` history (loss and accuracy per epoch).
        train_accuracy, test_accuracy: the final accuracies.
        figure: the loss curve written by :func:`run_mnist`.
        data: :func:`run_mnist`'s record of the images used (``ember.recipes.lenet.MnistData.record``).

    """

    model: nn.Sequential
    history: Any = field(repr=False)
    train_accuracy: float
    test_accuracy: float
    figure: Path | None = None
    data: dict[str, Any] | None = None


def split_mnist(X: np.ndarray, y: np.ndarray, n_train: int = MNIST_TRAIN, seed: int = 0) -> tuple[tuple, tuple]:
    """Shuffle the shipped 10,000 images with ``seed`` and split them ``n_train`` / the rest."""
    if not 0 < n_train < len(X):
        raise InputError(f"split_mnist: n_train must be between 1 and {len(X) - 1}, got {n_train}")
    order = np.random.default_rng(seed).permutation(len(X))
    train, test = order[:n_train], order[n_train:]
    return (X[train], y[train]), (X[test], y[test])


def train_mnist(X: np.ndarray, y: np.ndarray, *, layers: Sequence[Any] = MNIST_LAYERS, epochs: int = 10,
                batch_size: int = 32, learning_rate: float = 0.1, n_train: int = MNIST_TRAIN, seed: int = 0,
                dtype: Any = np.float32, progress: bool = False,
                test_data: tuple[np.ndarray, np.ndarray] | None = None) -> MnistResult:
    """The lab's optional part: softmax output and categorical cross-entropy on MNIST.

    The output layer is a softmax over the 10 digits and the loss the categorical
    cross-entropy ``−Σ_k y_k log ŷ_k``; they are computed together, stably, as
    ``LogSoftMax`` followed by ``ClassNLLCriterion``. Training is mini-batch SGD, shuffled
    each epoch, on ``n_train`` images; the rest are the test set.

    Args:
        X: ``(10000, 784)`` images scaled to [0, 1] (``ember.data.mnist()``).
        y: ``(10000,)`` digits.
        layers: the layer list after the 784 inputs; must end with ``'logsoftmax'``.
        epochs: passes over the training images.
        batch_size: examples per step.
        learning_rate: the SGD step.
        n_train: training images (the rest test).
        seed: seed of the split, the initialisation and the shuffling.
        dtype: float32 (default, faster) or float64.
        progress: show ``ember.train``'s progress bar.
        test_data: ``(X_test, y_test)`` to test on (``ember.recipes.lenet.mnist_data``'s): then all of ``X``
            trains and nothing is split off (``n_train`` is not used).

    """
    if not layers or str(layers[-1]).lower() != "logsoftmax":
        raise InputError("train_mnist: the layer list must end with 'logsoftmax' (softmax + categorical "
                         "cross-entropy are computed as LogSoftMax + ClassNLLCriterion)")
    if test_data is None:
        (X_train, y_train), (X_test, y_test) = split_mnist(X, y, n_train, seed)
    else:
        (X_train, y_train), (X_test, y_test) = (X, y), test_data
    model = build_dense(X.shape[1], layers, rng=np.random.default_rng(seed)).type(dtype)
    criterion = nn.ClassNLLCriterion()
    history = fit(model, criterion, X_train.astype(dtype), y_train, optimizer=optim.sgd,
                  config={"learning_rate": learning_rate}, epochs=epochs, batch_size=batch_size, shuffle=True,
                  validation_data=(X_test.astype(dtype), y_test), progress=progress, seed=seed)
    train_scores = evaluate(model, criterion, X_train.astype(dtype), y_train)
    test_scores = evaluate(model, criterion, X_test.astype(dtype), y_test)
    return MnistResult(model, history, float(train_scores["accuracy"]), float(test_scores["accuracy"]))


# -- the workflows: what `ember lab xor|grid|mnist` and examples/backprop_lab.py run -----------------


@dataclass
class XorSettings:
    """``ember lab xor``: the network, the training and the initialisation."""

    layers: Sequence[Any] = XOR_LAYERS
    learning_rate: float = XOR_LEARNING_RATE
    iterations: int = XOR_ITERATIONS
    weight_decay: float = 0.0
    init: str = "glorot"
    seed: int = XOR_SEED


def run_xor(settings: XorSettings, out: str | Path, log: Callable[[str], None] = print) -> XorResult:
    """Train on XOR, log the outputs and weights, and write the loss curve, the weights (images and a Hinton
    diagram) and the decision regions into ``out`` (their paths in ``result.figures``).
    """
    layers = list(settings.layers)
    every = max(1, settings.iterations // 10)

    def progress(iteration: int, loss: float) -> None:
        if iteration % every == 0 or iteration == 1:
            log(f"iteration {iteration:4d}  loss {loss:.6f}")

    log(f"XOR with build_dense(2, {layers}), binary cross-entropy, gradient descent (learning rate "
        f"{settings.learning_rate:g}, {settings.iterations} iterations, weight decay {settings.weight_decay:g}, "
        f"{settings.init} initialisation, seed {settings.seed})")
    result = train_xor(layers, learning_rate=settings.learning_rate, iterations=settings.iterations,
                       weight_decay=settings.weight_decay, init=settings.init, seed=settings.seed, progress=progress)
    log(str(result.model))
    log("  x1  x2  target  output")
    for (x1, x2), target, p in zip(XOR_X, XOR_Y[:, 0], result.probabilities):
        log(f"  {x1:+.0f}  {x2:+.0f}  {target:6.0f}  {p:.4f}")
    log(f"all four predictions correct: {'yes' if result.correct else 'no'}")
    weights = linear_weights(result.model)
    for name, value in weights.items():
        log(f"{name} = {np.array2string(value, precision=4)}")
    out = Path(out)
    result.figures = [
        plot.loss_curves(out / "xor-loss.png", result.losses, xlabel="iteration", ylabel="binary cross-entropy",
                         title="XOR: training loss"),
        plot.weight_images(out / "xor-weights.png", weights, title="XOR network: weights and biases"),
        plot.hinton(out / "xor-hinton.png", {k: v for k, v in weights.items() if k.startswith("W")},
                    title="XOR network: Hinton diagram (white > 0, black < 0)"),
        plot.decision_regions(out / "xor-decision.png", lambda Z: predict(result.model, Z, raw=True), XOR_X,
                              XOR_Y[:, 0].astype(int), feature_names=("x1", "x2"), class_names=("0", "1"),
                              margin=0.5, title="XOR: decision regions"),
    ]
    for path in result.figures:
        log(f"wrote figure: {path}")
    return result


@dataclass
class GridSettings:
    """``ember lab grid``: the combinations, the seeds per combination and where they run."""

    activations: Sequence[str] = GRID_ACTIVATIONS
    learning_rates: Sequence[float] = GRID_LEARNING_RATES
    inits: Sequence[str] = GRID_INITIALISATIONS
    depths: Sequence[int] = tuple(GRID_DEPTHS)
    seeds: int = 5
    iterations: int = XOR_ITERATIONS
    executor: Any = "none"
    workers: int | None = None


@dataclass
class GridResult:
    """The rows of the combinations that finished (all of them unless interrupted), and the files written."""

    rows: list[dict[str, Any]]
    files: list[Path] = field(default_factory=list)


def run_grid(settings: GridSettings, out: str | Path, log: Callable[[str], None] = print) -> GridResult:
    """Run the grid, log its table, write ``xor-grid.csv`` and two heatmaps into ``out``. Interrupted
    (Ctrl-C), it writes the rows that finished to ``xor-grid.csv`` and re-raises ``KeyboardInterrupt``.
    """
    total = len(settings.activations) * len(settings.learning_rates) * len(settings.inits) * len(settings.depths)
    log(f"XOR experiment grid: {total} configurations x {settings.seeds} seeds, {settings.iterations} "
        f"iterations each")
    out, result = Path(out), GridResult([])
    try:
        experiment_grid(settings.activations, settings.learning_rates, settings.inits, settings.depths,
                        seeds=settings.seeds, iterations=settings.iterations, progress=result.rows.append,
                        executor=settings.executor, workers=settings.workers)
    except KeyboardInterrupt:
        log(f"wrote {write_grid_csv(out / 'xor-grid.csv', result.rows)} ({len(result.rows)} of {total} "
            f"configurations finished)")
        raise
    log(grid_table(result.rows))
    result.files = [write_grid_csv(out / "xor-grid.csv", result.rows), plot_grid(out / "xor-grid-solved.png",
                    result.rows, "solved"), plot_grid(out / "xor-grid-loss.png", result.rows, "final_loss")]
    log(f"wrote {result.files[0]}")
    for path in result.files[1:]:
        log(f"wrote figure: {path}")
    return result


@dataclass
class MnistSettings:
    """``ember lab mnist``: the network after the 784 inputs, the training and the split."""

    layers: Sequence[Any] = MNIST_LAYERS
    epochs: int = 10
    batch_size: int = 32
    learning_rate: float = 0.1
    train: int = MNIST_TRAIN
    seed: int = 0
    data_dir: str | Path | None = None


def run_mnist(settings: MnistSettings, out: str | Path, log: Callable[[str], None] = print,
              progress: bool = False) -> MnistResult:
    """Train on MNIST (its 60,000 training images when downloaded, else ``settings.train`` of the shipped 10,000),
    log the per-epoch metrics and which images were used, write the loss curve into ``out``.
    """
    from ember.recipes.lenet import mnist_data

    mnist = mnist_data(settings.data_dir, n_train=settings.train, seed=settings.seed)
    (X, y), test = mnist.train, mnist.test
    layers = list(settings.layers)
    log(f"{mnist.description}; "
        f"build_dense(784, {layers}), softmax + categorical cross-entropy (LogSoftMax + ClassNLL), "
        f"SGD learning rate {settings.learning_rate:g}, batches of {settings.batch_size}, {settings.epochs} epochs")
    result = train_mnist(X, y, layers=layers, epochs=settings.epochs, batch_size=settings.batch_size,
                         learning_rate=settings.learning_rate, seed=settings.seed, progress=progress, test_data=test)
    result.data = mnist.record
    history = result.history
    for epoch, (loss, val_loss) in enumerate(zip(history["loss"], history["val_loss"]), start=1):
        log(f"epoch {epoch:3d}  train loss {loss:.4f}  test loss {val_loss:.4f}  "
            f"test accuracy {100 * history['val_accuracy'][epoch - 1]:.2f}%")
    log(f"train accuracy {100 * result.train_accuracy:.2f}%, test accuracy {100 * result.test_accuracy:.2f}% "
        f"(the lab's target: 93%: {'reached' if result.test_accuracy >= 0.93 else 'not reached'})")
    result.figure = plot.loss_curves(Path(out) / "mnist-loss.png", history["loss"], history["val_loss"],
                                     ylabel="categorical cross-entropy", title="MNIST: loss per epoch",
                                     validation_label="test")
    log(f"wrote figure: {result.figure}")
    return result
