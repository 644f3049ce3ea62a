"""The OCR-letters homework: a one-hidden-layer network trained by per-example SGD.

The model is exactly the homework's: for an input ``x`` of ``M`` pixels,
``a = α x + α₀`` (``D`` hidden units), ``z = σ(a)``, ``b = β z + β₀`` (``K`` = 10 classes),
``ŷ = softmax(b)``, and the loss is the cross-entropy ``J = −log ŷ_y``. It is built
from ember modules, ``Linear → Sigmoid → Linear``, with a ``CrossEntropyCriterion``
(softmax and cross-entropy in one, numerically stable) on top.

Training is stochastic gradient descent one example at a time, in the order of the
file, never shuffled, with a fixed learning rate. After each epoch the mean
cross-entropy over the whole training set and over the test set is recorded. At
the end, each example is labelled with its most probable class.

Initialisation (``init_rand``):

* ``True`` (RANDOM): weights uniform(−0.1, 0.1), biases zero;
* ``False`` (ZERO): every weight and bias zero;
* ``init=(alpha, beta)`` (the homework's debugging runs): the given ``α`` ``(D, M + 1)`` and ``β``
  ``(K, D + 1)``, bias in column 0, as arrays or the paths of CSV files (overrides ``init_rand``).

Example::

    from ember.recipes import ocr
    result = ocr.train_and_test("small_train.csv", "small_test.csv", num_epoch=2, num_hidden=4,
                                init_rand=True, learning_rate=0.1)
    print(result["loss_per_epoch_train"], result["err_val"])

``train_and_test`` also takes the handout's positional form
``train_and_test(X_train, y_train, X_val, y_val, num_epoch, num_hidden, init_rand, learning_rate)``.
"""

from __future__ import annotations

import csv
import itertools
import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from ember import nn, optim, plot
from ember.distributed import parallel_map
from ember.errors import InputError, InputTypeError
from ember.files import atomic_write, write_text
from ember.random import get_rng
from ember.train import evaluate, fit
from ember.train import predict as train_predict

#: the homework's label space: 0..9 for the letters a e g i l n o r t u.
NUM_CLASSES = 10
#: the hidden-layer sizes and learning rates of the homework's empirical questions.
SWEEP_HIDDEN_UNITS = (5, 20, 50, 100, 200)
SWEEP_LEARNING_RATES = (0.1, 0.01, 0.001)

Data = Any  # an (X, y) pair, or the path of a CSV file (label, then the pixels)
Weights = Any  # an (alpha, beta) pair of arrays or of CSV paths, the bias in column 0 of each


def load(data: Data, what: str = "data") -> tuple[np.ndarray, np.ndarray]:
    """Return ``(X, y)`` as float64 ``(n, M)`` features and int64 ``(n,)`` labels.

    Args:
        data: an ``(X, y)`` pair, or the path of a CSV file whose first column is the label and the
            other columns are the features (the homework's format; read with :func:`ember.data.load_csv`).
        what: the name of the data in error messages (``"train_data"``).

    Raises:
        ValueError: the shapes do not match, a label is not an integer in 0..9, or a pixel is not a
            finite number.

    """
    if isinstance(data, (str, os.PathLike)):
        from ember.data import load_csv

        X, y = load_csv(data)
    elif isinstance(data, (tuple, list)) and len(data) == 2:
        X, y = data
    else:
        raise InputTypeError(f"ocr: expected {what} as an (X, y) pair or the path of a CSV file, "
                             f"got {type(data).__name__}")
    X = np.array(X, dtype=np.float64, ndmin=2)
    y_float = np.asarray(y, dtype=np.float64).reshape(-1)
    if X.ndim != 2:
        raise InputError(f"ocr: expected {what} features of shape (n, M), got {X.shape}")
    if y_float.shape[0] != X.shape[0]:
        raise InputError(f"ocr: {what} has {X.shape[0]} examples but {y_float.shape[0]} labels")
    if X.shape[0] == 0:
        raise InputError(f"ocr: {what} has no examples")
    if not np.isfinite(X).all():
        raise InputError(f"ocr: {what} has features that are not finite numbers")
    if not (np.all(y_float == np.round(y_float)) and y_float.min() >= 0 and y_float.max() < NUM_CLASSES):
        bad = y_float[(y_float != np.round(y_float)) | (y_float < 0) | (y_float >= NUM_CLASSES)][0]
        raise InputError(f"ocr: {what} has label {bad:g}; labels are integers 0..{NUM_CLASSES - 1}")
    return X, y_float.astype(np.int64)


def load_weights(init: Weights, num_features: int, num_hidden: int,
                 num_classes: int = NUM_CLASSES) -> tuple[np.ndarray, np.ndarray]:
    """The homework's initial weights ``(α, β)`` as float64 arrays, checked against the network's sizes.

    Args:
        init: a pair ``(alpha, beta)`` of arrays, or of the paths of CSV files (comma-separated, no header):
            ``α`` ``(D, M + 1)`` and ``β`` ``(K, D + 1)``, the bias in column 0 of each.
        num_features: ``M``, pixels per example.
        num_hidden: ``D``, hidden units.
        num_classes: ``K``.

    Raises:
        ValueError: a file that is not a table of numbers, or a shape that does not fit (naming the file or
            the array, its shape and the expected one).

    """
    if not isinstance(init, (tuple, list)) or len(init) != 2:
        raise InputTypeError(f"ocr: init must be a pair (alpha, beta) of arrays or CSV paths, "
                             f"got {type(init).__name__}")
    expected = {"alpha": (num_hidden, num_features + 1), "beta": (num_classes, num_hidden + 1)}
    arrays = []
    for name, value in zip(expected, init):
        where = name
        if isinstance(value, (str, os.PathLike)):
            from ember.files import existing_file

            where = f"{name} file {os.fspath(value)!r}"
            try:
                value = np.loadtxt(existing_file(value, f"the {name} CSV"), delimiter=",", ndmin=2)
            except ValueError as error:
                raise InputError(f"ocr: {where} is not a comma-separated table of numbers ({error})") from None
        array = np.array(value, dtype=np.float64, ndmin=2)
        if array.shape != expected[name]:
            raise InputError(f"ocr: {where} has shape {array.shape}, expected {expected[name]} ({name} holds the "
                             f"bias in column 0; M={num_features} features, D={num_hidden} hidden units, "
                             f"K={num_classes} classes)")
        if not np.isfinite(array).all():
            raise InputError(f"ocr: {where} holds values that are not finite numbers")
        arrays.append(array)
    return arrays[0], arrays[1]


def build_network(num_features: int, num_hidden: int, init_rand: bool = True, num_classes: int = NUM_CLASSES,
                  rng: np.random.Generator | None = None, *, init: Weights | None = None) -> nn.Sequential:
    """``Linear(M → D) → Sigmoid → Linear(D → K)``: the scores ``b`` whose softmax is ``ŷ``.

    Args:
        num_features: ``M``, pixels per example.
        num_hidden: ``D``, hidden units.
        init_rand: RANDOM (weights uniform(−0.1, 0.1), biases 0) when true, ZERO (all 0) when false.
        num_classes: ``K``.
        rng: generator for RANDOM (default: the library-wide one, see :func:`ember.manual_seed`).
        init: given initial weights ``(α, β)`` (see :func:`load_weights`), instead of ``init_rand``.

    """
    if num_features < 1 or num_hidden < 1 or num_classes < 2:
        raise InputError(f"ocr: expected at least 1 feature, 1 hidden unit and 2 classes, got "
                         f"num_features={num_features}, num_hidden={num_hidden}, num_classes={num_classes}")
    model = nn.Sequential(nn.Linear(num_features, num_hidden), nn.Sigmoid(), nn.Linear(num_hidden, num_classes))
    if init is not None:
        for layer, weights in zip((model.get(0), model.get(2)), load_weights(init, num_features, num_hidden,
                                                                             num_classes)):
            layer.bias[...] = weights[:, 0]
            layer.weight[...] = weights[:, 1:]
        return model
    rng = get_rng(rng)
    for layer in (model.get(0), model.get(2)):
        if init_rand:
            layer.weight[...] = rng.uniform(-0.1, 0.1, layer.weight.shape)
        else:
            layer.weight.fill(0.0)
        layer.bias.fill(0.0)
    return model


def mean_cross_entropy(model: nn.Module, X: np.ndarray, y: np.ndarray) -> float:
    """The mean cross-entropy ``−(1/N) Σ log ŷ_y`` of ``model`` over a whole data set (one batch)."""
    return evaluate(model, nn.CrossEntropyCriterion(), X, y, metrics=("loss",))["loss"]


def predict(model: nn.Module, X: np.ndarray) -> np.ndarray:
    """The most probable class of each example (``argmax_k ŷ_k``, ties to the lowest label)."""
    return train_predict(model, X)


@dataclass
class Trained:
    """A trained OCR network and the homework's results.

    Attributes:
        model: the network (its last layer outputs the scores ``b``; softmax gives ``ŷ``).
        result: the dict that :func:`train_and_test` returns.

    """

    model: nn.Sequential
    result: dict[str, Any]


def train(train_data: Data, test_data: Data, num_epoch: int, num_hidden: int, init_rand: bool,
          learning_rate: float, *, rng: np.random.Generator | None = None, progress: Any = None,
          fast: bool = False, init: Weights | None = None) -> Trained:
    """:func:`train_and_test`, also returning the trained model.

    Args:
        train_data: an ``(X, y)`` pair or the path of the training CSV.
        test_data: the same for the test set.
        num_epoch: passes over the training data.
        num_hidden: hidden units.
        init_rand: RANDOM (true) or ZERO (false) initialisation.
        learning_rate: the fixed SGD step.
        rng: generator for RANDOM (default: the library-wide one).
        progress: optional callable ``progress(epoch, loss_train, loss_val)`` called after each epoch.
        fast: run the epochs as one compiled kernel each (``ember.fast``, numba: ``pip install
            'ember[fast]'``); the same arithmetic, so the same losses and labels to rounding (~1e-15).
        init: start from the given weights ``(α, β)`` (arrays or CSV paths, bias in column 0; see
            :func:`load_weights`) instead of ``init_rand``'s.

    Returns:
        A :class:`Trained` with the model and the dict of :func:`train_and_test`.

    """
    X_train, y_train = load(train_data, "train_data")
    X_test, y_test = load(test_data, "test_data")
    if X_test.shape[1] != X_train.shape[1]:
        raise InputError(f"ocr: test_data has {X_test.shape[1]} features per example, "
                         f"train_data has {X_train.shape[1]}")
    if int(num_epoch) != num_epoch or num_epoch < 0:
        raise InputError(f"ocr: num_epoch must be a whole number >= 0, got {num_epoch!r}")
    if int(num_hidden) != num_hidden or num_hidden < 1:
        raise InputError(f"ocr: num_hidden must be a whole number >= 1, got {num_hidden!r}")
    if not learning_rate > 0:
        raise InputError(f"ocr: learning_rate must be > 0, got {learning_rate!r}")

    model = build_network(X_train.shape[1], int(num_hidden), bool(init_rand), rng=rng, init=init)
    losses_train: list[float] = []
    losses_val: list[float] = []
    criterion = nn.CrossEntropyCriterion()

    def after_epoch(epoch: int, logs: dict[str, float]) -> None:
        losses_train.append(mean_cross_entropy(model, X_train, y_train))
        losses_val.append(mean_cross_entropy(model, X_test, y_test))
        if progress is not None:
            progress(epoch, losses_train[-1], losses_val[-1])

    if fast:  # one compiled kernel per epoch
        compiled = _compiled(model, criterion)
        for epoch in range(int(num_epoch)):
            compiled.train(X_train, y_train, {"learning_rate": learning_rate}, batch_size=1)
            after_epoch(epoch + 1, {})
    else:  # per-example SGD in file order: optim.sgd's step x ← x − γ g is the homework's update, bit for bit
        fit(model, criterion, X_train, y_train, optimizer=optim.sgd, config={"learning_rate": learning_rate},
            epochs=int(num_epoch), batch_size=1, metrics=("loss",), callbacks=[after_epoch], progress=False)

    y_hat_train = predict(model, X_train)
    y_hat_val = predict(model, X_test)
    result = {
        "loss_per_epoch_train": losses_train,
        "loss_per_epoch_val": losses_val,
        "err_train": float(np.mean(y_hat_train != y_train)),
        "err_val": float(np.mean(y_hat_val != y_test)),
        "y_hat_train": y_hat_train,
        "y_hat_val": y_hat_val,
    }
    return Trained(model, result)


def _compiled(model: nn.Module, criterion: nn.Criterion) -> Any:
    """The network compiled by ``ember.fast`` (``ImportError`` naming the install command without numba)."""
    from ember import fast

    return fast.compile(model, criterion)


#: the argument names of :func:`train_and_test`: ember's (data as pairs or paths) and the handout's.
_ARGUMENTS = ("train_data", "test_data", "num_epoch", "num_hidden", "init_rand", "learning_rate")
_HANDOUT_ARGUMENTS = ("X_train", "y_train", "X_val", "y_val", "num_epoch", "num_hidden", "init_rand",
                      "learning_rate")


def train_and_test(*args: Any, init: Weights | None = None, **kwargs: Any) -> dict[str, Any]:
    """Train the homework's network on the training data and evaluate it on the test data.

    Called as ``train_and_test(train_data, test_data, num_epoch, num_hidden, init_rand, learning_rate)``,
    or in the handout's form ``train_and_test(X_train, y_train, X_val, y_val, num_epoch, num_hidden,
    init_rand, learning_rate)`` (positionally or by these names).

    Args:
        *args: the arguments below, in one of the two orders.
        **kwargs: the same by name: ``train_data`` (an ``(X, y)`` pair or the path of the training CSV:
            label, then ``M`` pixels) and ``test_data`` (the same for the test, or validation, set), or the
            handout's ``X_train``, ``y_train``, ``X_val``, ``y_val``; then the following.
        num_epoch: passes over the training data.
        num_hidden: hidden units ``D``.
        init_rand: RANDOM initialisation (weights uniform(−0.1, 0.1), biases 0) when true, ZERO when false.
        learning_rate: the fixed SGD step ``γ``.
        init: start from the given ``(α, β)`` instead (arrays or CSV paths, bias in column 0; the
            homework's debugging runs); ``init_rand`` is then not used.

    Returns:
        A dict with ``loss_per_epoch_train`` and ``loss_per_epoch_val`` (lists of ``num_epoch`` mean
        cross-entropies, measured after each epoch), ``err_train`` and ``err_val`` (final error rates
        in [0, 1]) and ``y_hat_train`` and ``y_hat_val`` (predicted labels, int arrays).

    RANDOM draws from the library-wide generator: call :func:`ember.manual_seed` first for a
    reproducible run (ZERO and given weights are deterministic).

    """
    names = _HANDOUT_ARGUMENTS if len(args) > len(_ARGUMENTS) or "X_train" in kwargs else _ARGUMENTS
    if len(args) > len(names):
        raise InputTypeError(f"train_and_test takes at most {len(names)} positional arguments, got {len(args)}")
    given = dict(zip(names, args))
    for name, value in kwargs.items():
        if name not in names:
            raise InputTypeError(f"train_and_test got an unexpected argument {name!r} "
                                 f"(its arguments: {', '.join(names)})")
        if name in given:
            raise InputTypeError(f"train_and_test got two values for {name!r}")
        given[name] = value
    missing = [name for name in names if name not in given]
    if missing:
        raise InputTypeError(f"train_and_test is missing {', '.join(map(repr, missing))}")
    if names is _HANDOUT_ARGUMENTS:
        given["train_data"] = (given.pop("X_train"), given.pop("y_train"))
        given["test_data"] = (given.pop("X_val"), given.pop("y_val"))
    return train(given["train_data"], given["test_data"], given["num_epoch"], given["num_hidden"],
                 given["init_rand"], given["learning_rate"], init=init).result


# -- gradient check -----------------------------------------------------------------------------


def gradient_check(model: nn.Module, X: np.ndarray, y: np.ndarray, eps: float = 1e-5) -> dict[str, float]:
    """Compare the network's backprop gradient of the mean cross-entropy on ``(X, y)`` with centred
    finite differences (the homework's tip), perturbing every parameter in turn.

    Returns:
        ``{"l2_difference": ‖g_bp − g_fd‖, "relative_error": ‖g_bp − g_fd‖ / ‖g_bp + g_fd‖,
        "parameters": n}``; ``model``'s parameters are left unchanged.

    """
    from ember.optim import checkgrad

    criterion = nn.CrossEntropyCriterion()
    params, grads = model.getParameters()

    def feval(x: np.ndarray) -> tuple[float, np.ndarray]:
        grads.fill(0.0)
        loss = criterion.forward(model.forward(X), y)
        model.backward(X, criterion.backward(model.output, y))
        return loss, grads

    relative, analytic, numeric = checkgrad(feval, params, eps)
    return {"l2_difference": float(np.linalg.norm(analytic - numeric)), "relative_error": relative,
            "parameters": int(params.size)}


# -- the homework's output files ----------------------------------------------------------------


def write_labels(path: str | Path, labels: Sequence[int]) -> Path:
    """Write one predicted label per line."""
    return write_text(path, "".join(f"{int(label)}\n" for label in labels))


def write_metrics(path: str | Path, result: dict[str, Any]) -> Path:
    """Write the metrics file: per epoch ``epoch=E crossentropy(train): V`` and
    ``epoch=E crossentropy(test): V``, then ``error(train): V`` and ``error(test): V``.
    """
    lines = []
    for epoch, (train_loss, test_loss) in enumerate(zip(result["loss_per_epoch_train"],
                                                        result["loss_per_epoch_val"]), start=1):
        lines.append(f"epoch={epoch} crossentropy(train): {train_loss}")
        lines.append(f"epoch={epoch} crossentropy(test): {test_loss}")
    lines.append(f"error(train): {result['err_train']}")
    lines.append(f"error(test): {result['err_val']}")
    return write_text(path, "\n".join(lines) + "\n")


# -- the empirical questions --------------------------------------------------------------------


def sweep(train_data: Data, test_data: Data, num_epoch: int, *,
          hidden_units: Sequence[int] = SWEEP_HIDDEN_UNITS, learning_rates: Sequence[float] = SWEEP_LEARNING_RATES,
          init_rand: bool = True, seed: int = 0, progress: Any = None, executor: Any = "none",
          workers: int | None = None, fast: bool | None = None) -> list[dict[str, Any]]:
    """Train one network per (hidden units, learning rate) pair and collect the per-epoch losses.

    Args:
        train_data: an ``(X, y)`` pair or a CSV path.
        test_data: the same for the test set.
        num_epoch: epochs per run.
        hidden_units: the hidden-layer sizes to try (default 5, 20, 50, 100, 200).
        learning_rates: the learning rates to try (default 0.1, 0.01, 0.001).
        init_rand: RANDOM (true) or ZERO initialisation.
        seed: each run draws its initial weights from ``default_rng(seed)`` (same seed for every run).
        progress: optional callable ``progress(row)`` called with each run's row, in order.
        executor: where the runs go: ``"none"`` (here, one after another), ``"processes"``, ``"mpi"``
            (see :func:`ember.distributed.parallel_map`) or an executor; the rows are the same whichever.
        workers: the number of workers for ``"processes"`` or ``"mpi"``.
        fast: train with ``ember.fast``'s compiled kernel (default: when numba is installed).

    Returns:
        One dict per run, in order: ``hidden_units``, ``learning_rate``, ``loss_per_epoch_train``,
        ``loss_per_epoch_val``, ``final_train``, ``final_val`` (the last epoch's mean cross-entropies),
        ``err_train``, ``err_val``.

    """
    data_train = load(train_data, "train_data")
    data_test = load(test_data, "test_data")
    if fast is None:
        from ember.fast import available

        fast = available()
    runs = [(data_train, data_test, num_epoch, int(hidden), init_rand, float(rate), seed, bool(fast))
            for hidden, rate in itertools.product(hidden_units, learning_rates)]
    return parallel_map(sweep_run, runs, executor=executor, workers=workers, progress=progress)


def sweep_run(run: tuple) -> dict[str, Any]:
    """One run of :func:`sweep`: ``(train data, test data, epochs, hidden units, init_rand, learning rate,
    seed, fast)`` → its row (a module-level function, so that worker processes can receive it).
    """
    data_train, data_test, num_epoch, hidden, init_rand, rate, seed, fast = run
    result = train(data_train, data_test, num_epoch, hidden, init_rand, rate, rng=np.random.default_rng(seed),
                   fast=fast).result
    return {
        "hidden_units": hidden,
        "learning_rate": rate,
        "loss_per_epoch_train": result["loss_per_epoch_train"],
        "loss_per_epoch_val": result["loss_per_epoch_val"],
        "final_train": result["loss_per_epoch_train"][-1] if num_epoch else float("nan"),
        "final_val": result["loss_per_epoch_val"][-1] if num_epoch else float("nan"),
        "err_train": result["err_train"],
        "err_val": result["err_val"],
    }


def write_sweep_csv(path: str | Path, rows: Sequence[dict[str, Any]]) -> Path:
    """Write the sweep as CSV: one line per (run, epoch) with that epoch's train and test cross-entropy;
    the error rates, measured once after training, are on each run's last line only (empty on the others).
    """
    def write(temporary: Path) -> None:
        with temporary.open("w", newline="") as handle:
            writer = csv.writer(handle)
            writer.writerow(["hidden_units", "learning_rate", "epoch", "crossentropy_train", "crossentropy_test",
                             "error_train", "error_test"])
            for row in rows:
                losses = list(zip(row["loss_per_epoch_train"], row["loss_per_epoch_val"]))
                for epoch, (train_loss, test_loss) in enumerate(losses, start=1):
                    final = [f"{row['err_train']:.6f}", f"{row['err_val']:.6f}"] if epoch == len(losses) else ["", ""]
                    writer.writerow([row["hidden_units"], row["learning_rate"], epoch, f"{train_loss:.6f}",
                                     f"{test_loss:.6f}", *final])

    return atomic_write(path, write, make_parents=True)


def plot_sweep(rows: Sequence[dict[str, Any]], out_dir: str | Path, *, learning_rate: float | None = None,
               hidden_units: int | None = None) -> list[Path]:
    """The homework's figures from a sweep, written into ``out_dir``.

    * ``crossentropy_vs_hidden_units.png``: the average train and test cross-entropy of the last epoch
      against the number of hidden units, at ``learning_rate`` (default 0.01 when swept, else the first);
    * ``crossentropy_vs_epoch_lr{rate}.png``, one per learning rate: train and test cross-entropy
      against epoch, with ``hidden_units`` hidden units (default 50 when swept, else the first size).

    Returns:
        The paths written.

    """
    if not rows:
        raise InputError("ocr.plot_sweep: no runs to plot")
    out_dir = Path(out_dir)
    rates = list(dict.fromkeys(row["learning_rate"] for row in rows))
    sizes = list(dict.fromkeys(row["hidden_units"] for row in rows))
    rate = learning_rate if learning_rate is not None else (0.01 if 0.01 in rates else rates[0])
    hidden = hidden_units if hidden_units is not None else (50 if 50 in sizes else sizes[0])
    if rate not in rates or hidden not in sizes:
        raise InputError(f"ocr.plot_sweep: the sweep has learning rates {rates} and hidden units {sizes}; "
                         f"asked for learning rate {rate} and {hidden} hidden units")
    at_rate = [row for row in rows if row["learning_rate"] == rate]
    paths = [plot.line_plot(out_dir / "crossentropy_vs_hidden_units.png",
                            {"train": [row["final_train"] for row in at_rate],
                             "test": [row["final_val"] for row in at_rate]},
                            x=[row["hidden_units"] for row in at_rate], markers=True, xlabel="hidden units",
                            ylabel="average cross-entropy (last epoch)",
                            title=f"Cross-entropy vs hidden units (learning rate {rate:g})")]
    for row in rows:
        if row["hidden_units"] == hidden:
            paths.append(plot.loss_curves(out_dir / f"crossentropy_vs_epoch_lr{row['learning_rate']:g}.png",
                                          row["loss_per_epoch_train"], row["loss_per_epoch_val"],
                                          ylabel="average cross-entropy", validation_label="test",
                                          title=f"Cross-entropy vs epoch (learning rate {row['learning_rate']:g}, "
                                                f"{hidden} hidden units)"))
    return paths


# -- the workflows: what `ember neuralnet [sweep]` and examples/ocr_letters.py run -----------------

#: the relative error under which the homework's gradient check passes.
GRADIENT_TOLERANCE = 1e-6


@dataclass
class Settings:
    """The homework's run: its nine arguments (the five paths, then epochs, hidden units, INIT_FLAG as
    ``init_rand``, learning rate) and the options of ``ember neuralnet``.
    """

    train_csv: Data
    test_csv: Data
    train_out: str | Path | None = None
    test_out: str | Path | None = None
    metrics_out: str | Path | None = None
    num_epoch: int = 2
    hidden_units: int = 4
    init_rand: bool = True
    learning_rate: float = 0.1
    check_gradient: bool = False
    seed: int = 0
    fast: bool = False
    init_weights: Weights | None = None


@dataclass
class Result:
    """What :func:`run` found: the trained model, the homework's results, the gradient check, the files."""

    trained: Trained | None
    gradient_error: float | None = None
    files: list[Path] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        """False when the gradient check failed (then nothing was trained)."""
        return self.gradient_error is None or self.gradient_error < GRADIENT_TOLERANCE


def run(settings: Settings, out: str | Path | None = None, log: Callable[[str], None] = print,
        progress: Callable[[int, float, float], None] | None = None) -> Result:
    """The homework end to end: load, optionally check the gradient (stop if it fails), train, write the
    label and metrics files the settings name, and, with ``out``, the figures; ``log`` prints each step.
    """
    train_data, test_data = load(settings.train_csv, "TRAIN_CSV"), load(settings.test_csv, "TEST_CSV")
    n, m = train_data[0].shape
    start = "RANDOM" if settings.init_rand else "ZERO"
    if settings.init_weights is not None:
        start = "given (" + ", ".join(str(w) if isinstance(w, (str, os.PathLike)) else "array"
                                      for w in settings.init_weights) + ")"
    log(f"{n} training and {len(test_data[1])} test examples, {m} features; {settings.hidden_units} hidden units, "
        f"{start} initialisation, learning rate {settings.learning_rate:g}, "
        f"{settings.num_epoch} epochs")
    result = Result(None)
    if settings.check_gradient:
        model = build_network(m, settings.hidden_units, settings.init_rand, rng=np.random.default_rng(settings.seed),
                              init=settings.init_weights)
        count = min(5, n)
        report = gradient_check(model, train_data[0][:count], train_data[1][:count])
        result.gradient_error = report["relative_error"]
        log(f"gradient check on {count} examples, {report['parameters']} parameters, centred differences "
            f"(eps 1e-5): ||g_bp - g_fd|| = {report['l2_difference']:.3e}, relative error "
            f"{report['relative_error']:.3e} -> {'ok' if result.ok else 'FAILED'} (threshold {GRADIENT_TOLERANCE:g})")
        if not result.ok:
            return result
    result.trained = train(train_data, test_data, settings.num_epoch, settings.hidden_units, settings.init_rand,
                           settings.learning_rate, rng=np.random.default_rng(settings.seed), progress=progress,
                           fast=settings.fast, init=settings.init_weights)
    numbers = result.trained.result
    log(f"error(train): {numbers['err_train']}")
    log(f"error(test): {numbers['err_val']}")
    for path, write in ((settings.train_out, lambda p: write_labels(p, numbers["y_hat_train"])),
                        (settings.test_out, lambda p: write_labels(p, numbers["y_hat_val"])),
                        (settings.metrics_out, lambda p: write_metrics(p, numbers))):
        if path is not None:
            result.files.append(write(path))
            log(f"wrote {result.files[-1]}")
    if out is not None:
        for path in figures(result.trained, test_data, Path(out)):
            result.files.append(path)
            log(f"wrote figure: {path}")
    return result


def figures(trained: Trained, test_data: tuple[np.ndarray, np.ndarray], out: Path) -> list[Path]:
    """The loss curves, the test letters with their predictions, and the hidden layer's weights, in ``out``."""
    numbers, paths = trained.result, []
    if numbers["loss_per_epoch_train"]:
        paths.append(plot.loss_curves(out / "crossentropy.png", numbers["loss_per_epoch_train"],
                                      numbers["loss_per_epoch_val"], ylabel="mean cross-entropy",
                                      title="OCR letters: cross-entropy per epoch", validation_label="test"))
    X_test, y_test = test_data
    if X_test.shape[1] == 16 * 8:
        paths.append(plot.letter_grid(out / "test_letters.png", X_test, y_test, per_class=10,
                                      predictions=numbers["y_hat_val"],
                                      title="Test letters (a wrong prediction is written above its image)"))
    weights = trained.model.get(0).weight
    if weights.shape[1] == 16 * 8:  # each hidden unit's 128 weights as the 16x8 letter image it responds to
        paths.append(plot.unit_images(out / "hidden_weights.png", weights, (16, 8),
                                      title="Hidden-layer weights: what each hidden unit responds to (alpha, one "
                                            "16x8 image per unit)"))
    else:
        paths.append(plot.weight_images(out / "hidden_weights.png", {"alpha (hidden)": weights},
                                        title="Hidden-layer weights (one row per hidden unit)"))
    return paths


@dataclass
class SweepSettings:
    """The empirical questions: a split of the shipped letters (or two CSV files), and the grid."""

    split: str = "small"
    data_dir: str | Path | None = None
    train: Data | None = None
    test: Data | None = None
    epochs: int = 100
    hidden: Sequence[int] = SWEEP_HIDDEN_UNITS
    learning_rates: Sequence[float] = SWEEP_LEARNING_RATES
    init_rand: bool = True
    seed: int = 0
    executor: Any = "none"
    workers: int | None = None


@dataclass
class SweepResult:
    """The rows of the runs that finished (all of them unless interrupted), and the files written."""

    rows: list[dict[str, Any]]
    files: list[Path] = field(default_factory=list)


SWEEP_HEADER = f"{'hidden':>6} {'rate':>7} {'train CE':>9} {'test CE':>9} {'train err':>9} {'test err':>9}"


def run_sweep(settings: SweepSettings, out: str | Path, log: Callable[[str], None] = print) -> SweepResult:
    """Run the sweep and write ``sweep.csv`` and the figures into ``out``. Interrupted (Ctrl-C), it writes
    the rows of the runs that finished to ``sweep.csv`` and re-raises ``KeyboardInterrupt``.
    """
    from ember import data

    if (settings.train is None) != (settings.test is None):
        raise InputError("ocr sweep: give both train and test data, or neither (then the split is used)")
    if settings.train is not None:
        train_data, test_data = load(settings.train, "--train"), load(settings.test, "--test")
        source = f"{settings.train} / {settings.test}"
    else:
        train_data, test_data = data.ocr_letters(settings.split, settings.data_dir)
        source = f"OCR letters, {settings.split} split"
    runs = len(settings.hidden) * len(settings.learning_rates)
    log(f"{source}: {len(train_data[1])} training and {len(test_data[1])} test examples; {runs} runs of "
        f"{settings.epochs} epochs")
    log(SWEEP_HEADER)
    result = SweepResult([])
    out = Path(out)

    def finished(row: dict[str, Any]) -> None:
        result.rows.append(row)
        log(f"{row['hidden_units']:>6} {row['learning_rate']:>7g} {row['final_train']:>9.4f} "
            f"{row['final_val']:>9.4f} {row['err_train']:>9.3f} {row['err_val']:>9.3f}")

    try:
        sweep(train_data, test_data, settings.epochs, hidden_units=settings.hidden,
              learning_rates=settings.learning_rates, init_rand=settings.init_rand, seed=settings.seed,
              progress=finished, executor=settings.executor, workers=settings.workers)
    except KeyboardInterrupt:
        log(f"wrote {write_sweep_csv(out / 'sweep.csv', result.rows)} ({len(result.rows)} of {runs} runs finished)")
        raise
    result.files.append(write_sweep_csv(out / "sweep.csv", result.rows))
    log(f"wrote {result.files[-1]}")
    for path in plot_sweep(result.rows, out):
        result.files.append(path)
        log(f"wrote figure: {path}")
    return result
