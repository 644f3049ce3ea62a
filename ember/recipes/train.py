"""Train a classifier (or a regression) on a dataset: ``ember train``, ``evaluate`` and ``predict``, each one
library call (:func:`run`, :func:`run_evaluate`, :func:`run_predict`).

:func:`run` loads the data (a named dataset or CSV files), holds out a validation part, builds the
model (``mlp``, ``lenet``, a module class or function of your own, or a saved model file), trains it
with :func:`ember.train.fit` (optionally data-parallel over MPI ranks), scores it with
:func:`ember.train.evaluate` and saves it. Each setting is one option of ``ember train``
(``lr`` is ``--lr``), and refusals name them so.

Example::

    from ember.recipes import train
    result = train.run(train.Settings(dataset="iris", hidden=[10], epochs=50, progress=False))
    print(result.rows["train"]["accuracy"])
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any

import numpy as np

from ember import data, io, models, nn
from ember.callbacks import EarlyStopping
from ember.errors import InputError, InputTypeError, SaveError
from ember.metrics import ConfusionMatrix
from ember.nn.module import Module
from ember.random import manual_seed
from ember.recipes import lenet
from ember.train import History, ResumeMismatchError, evaluate, fit, predict, predict_proba

__all__ = ["LR_DECAY_OPTIMIZERS", "MODEL_DEFAULTS", "OPTIMIZERS", "EvaluateResult", "EvaluateSettings",
           "PredictResult", "PredictSettings", "Result", "Settings", "SettingsError", "metrics_table", "run",
           "run_evaluate", "run_predict"]

#: the optimizers ``ember train`` offers (functions of ember.optim).
OPTIMIZERS = ("sgd", "adam", "adamax", "adagrad", "rmsprop", "adadelta", "lbfgs")
#: the optimizers that take a learning-rate decay (``lr_decay``).
LR_DECAY_OPTIMIZERS = ("sgd", "adam", "adagrad")
#: the built-in models, and the training settings each uses unless given (``lr_decay`` only applies to the
#: optimizers that take it). A model of your own, or a saved one, trains with the mlp's (without its layers).
MODEL_DEFAULTS: dict[str, dict[str, Any]] = {
    "mlp": {"hidden": [50], "activation": "sigmoid", "optimizer": "sgd", "lr": 0.01, "lr_decay": 0.0, "epochs": 20,
            "batch_size": 1, "validation_split": 0.0},
    "lenet": {"optimizer": lenet.OPTIMIZER, "lr": lenet.LEARNING_RATE, "lr_decay": lenet.LEARNING_RATE_DECAY,
              "epochs": lenet.EPOCHS, "batch_size": lenet.BATCH_SIZE, "validation_split": 0.2},
}
#: examples per forward pass when evaluating (bounds the memory a CNN's buffers take).
EVALUATION_BATCH = 1000
#: the option of each setting that a resume requires to be unchanged.
RESUME_OPTIONS = {"learning_rate": "--lr", "learning_rate_decay": "--lr-decay", "momentum": "--momentum",
                  "weight_decay": "--weight-decay", "batch_size": "--batch-size", "seed": "--seed",
                  "schedule": "--schedule", "clip_grad_norm": "--clip-grad-norm"}


class SettingsError(ValueError):
    """Settings that do not go together (the command line reports it as a usage error, exit status 2)."""


@dataclass
class Settings:
    """What to train, on what, and how: one field per option of ``ember train``.

    ``model`` is ``"mlp"``, ``"lenet"``, a saved model file (``.safetensors``, loaded with ``trust``: the
    module classes of your own it may hold), or a Module class or function of your own, called as
    ``model(n_features, n_outputs)``. The fields left ``None`` take the model's :data:`MODEL_DEFAULTS`.
    """

    dataset: str | None = None
    data: str | None = None
    test: str | None = None
    label_column: int | str = 0
    header: bool = False
    delimiter: str = ","
    regression: bool = False
    data_dir: str | None = None
    model: str | Callable[[int, int], Module] = "mlp"
    trust: Sequence[type[Module] | str] = ()
    hidden: list[int] | None = None
    activation: str | None = None
    optimizer: str | None = None
    lr: float | None = None
    lr_decay: float | None = None
    momentum: float = 0.0
    weight_decay: float | None = None
    clip_grad_norm: float | None = None
    epochs: int | None = None
    batch_size: int | None | str = None  # None: the model's default; "full": one batch of everything
    shuffle: bool = True
    validation_split: float | None = None
    limit: int | None = None
    schedule: str | None = None
    early_stopping: int | None = None
    log: str | None = None
    seed: int = 0
    save: str | None = None
    checkpoint: str | None = None
    resume: str | None = None
    distributed: bool = False
    micro_batch: int = 32
    allreduce: bool = False
    progress: bool = True


@dataclass
class Result:
    """What :func:`run` did: the trained model, its history, the metrics per split (``rows``), the files."""

    model: Module | None = None
    history: History | None = None
    rows: dict[str, dict[str, float]] = field(default_factory=dict)
    saved: Path | None = None
    stopping: EarlyStopping | None = None

    @property
    def ok(self) -> bool:
        return self.model is not None


def metrics_table(rows: dict[str, dict[str, float]]) -> str:
    """A small aligned table: one row per data split, columns loss and accuracy."""
    columns = [name for name in ("loss", "accuracy") if any(name in row for row in rows.values())]
    width = max(len(name) for name in rows) + 2
    lines = [" " * width + "".join(f"{name:>12}" for name in columns)]
    for name, row in rows.items():
        cells = []
        for column in columns:
            value = row.get(column)
            if value is None:
                cells.append(f"{'-':>12}")
            elif column == "accuracy":
                cells.append(f"{100 * value:>11.2f}%")
            else:
                cells.append(f"{value:>12.4f}")
        lines.append(f"{name:<{width}}" + "".join(cells))
    return "\n".join(lines)


def _kind(model: Any) -> str:
    """``"mlp"``, ``"lenet"``, ``"saved"`` (a model file) or ``"own"`` (a class or function of yours)."""
    if isinstance(model, str):
        return model if model in MODEL_DEFAULTS else "saved"
    if callable(model):
        return "own"
    raise SettingsError(f"--model: expected mlp, lenet, a saved model file or a Module class, got {model!r}")


def resolved(settings: Settings) -> Settings:
    """``settings`` with the model's defaults filled in, and the combinations checked (:class:`SettingsError`)."""
    s = Settings(**{f.name: getattr(settings, f.name) for f in fields(Settings)})
    kind = _kind(s.model)
    if (s.dataset is None) == (s.data is None):
        raise SettingsError("give one of --dataset or --data")
    if s.allreduce and not s.distributed:
        raise SettingsError("--allreduce chooses how --distributed sums the ranks' gradients: add --distributed")
    if kind == "lenet" and s.dataset != "mnist":
        raise SettingsError(f"--model lenet takes 28x28 images: use --dataset mnist (got {s.dataset or s.data})")
    if kind != "mlp":
        given = [f"--{name}" for name in ("hidden", "activation") if getattr(s, name) is not None]
        if given:
            verb = "shape" if len(given) > 1 else "shapes"
            fixed = "lenet's layers are fixed" if kind == "lenet" else "your model's layers are its own"
            raise SettingsError(f"{' and '.join(given)} {verb} the mlp model; {fixed}")
    lr_decay_given = s.lr_decay is not None
    for name, value in MODEL_DEFAULTS["lenet" if kind == "lenet" else "mlp"].items():
        if getattr(s, name) is None and (kind == "mlp" or name not in ("hidden", "activation")):
            setattr(s, name, value)
    if s.batch_size == "full":
        s.batch_size = None
    if s.lr_decay and s.optimizer not in LR_DECAY_OPTIMIZERS:
        if lr_decay_given:
            raise SettingsError(f"--lr-decay: {s.optimizer} has no learning-rate decay "
                                f"({', '.join(LR_DECAY_OPTIMIZERS)} have)")
        s.lr_decay = 0.0
    if kind == "mlp":
        s.hidden = [] if s.hidden == [0] else list(s.hidden)
        if 0 in s.hidden:
            raise SettingsError("--hidden: 0 means no hidden layer and must be given alone (--hidden 0)")
    if s.test and not s.data:
        raise SettingsError("--test goes with --data (a --dataset brings its own test set)")
    if s.regression and (kind == "lenet" or not s.data):
        raise SettingsError("--regression trains the mlp (or your model) on a --data CSV file with real-valued "
                            "targets")
    return s


def _training_data(s: Settings) -> tuple[data.Dataset, str]:
    """The dataset ``dataset`` names, or the ``data`` (and ``test``) CSV files; and a name for it."""
    if s.dataset is not None:
        return data.load(s.dataset, s.data_dir, seed=s.seed), s.dataset
    options = dict(label_column=s.label_column, header=s.header, delimiter=s.delimiter, regression=s.regression)
    train = data.load_csv(s.data, **options)
    test = data.load_csv(s.test, **options) if s.test else None
    if test is not None and test[0].shape[1] != train[0].shape[1]:
        raise InputError(f"{s.test}: {test[0].shape[1]} features per row, but {s.data} has {train[0].shape[1]}")
    return data.Dataset(s.data, train, test), s.data


def _model(s: Settings, n_features: int, n_outputs: int) -> Module:
    kind = _kind(s.model)
    if kind == "lenet":
        return models.lenet(max(n_outputs, lenet.N_CLASSES))
    if kind == "mlp":
        return models.mlp(n_features, s.hidden, s.activation, n_outputs, regression=s.regression)
    if kind == "saved":
        return io.load(s.model, trusted=s.trust)
    model = s.model(n_features, n_outputs)
    if not isinstance(model, Module):
        raise InputTypeError(f"--model {getattr(s.model, '__name__', s.model)}({n_features}, {n_outputs}) returned "
                             f"{type(model).__name__}, not an ember Module")
    return model


def resume_message(error: ResumeMismatchError, path: str) -> str:
    """``--lr 0.5 differs from the checkpoint's 0.1``: fit's refusal to resume, in the options' words."""
    if error.what == "data":
        return (f"{path}: the training data ({error.given}) differ from the checkpoint's ({error.saved}): resume "
                f"with the same --dataset/--data, --limit and --validation-split")
    if error.what == "shuffle":
        flag = {True: "--shuffle", False: "--no-shuffle"}
        return f"{path}: {flag[error.given]} differs from the checkpoint's {flag[error.saved]}"
    option = RESUME_OPTIONS.get(error.what, error.what)
    shown = {None: "none"}
    return (f"{path}: {option} {shown.get(error.given, error.given)} differs from the checkpoint's "
            f"{shown.get(error.saved, error.saved)}")


def save_or_keep(model: Module, path: str, info: dict[str, Any] | None = None) -> Path:
    """Save the trained model to ``path``; if that fails (a full disk, say), keep it in the temporary
    folder and name both in the error, so that minutes of training are not lost.
    """
    try:
        return io.save(model, path, info=info)
    except OSError as error:
        cause = os.strerror(error.errno) if error.errno else str(error)
        try:
            kept = Path(tempfile.mkdtemp(prefix="ember-unsaved-")) / Path(path).name
            io.save(model, kept, info=info)
        except OSError:
            raise SaveError(error.errno, f"--save {path!r}: {cause}; the model could not be kept elsewhere either",
                            str(path)) from None
        raise SaveError(error.errno, f"--save {path!r}: {cause}; the trained model was kept in {kept}",
                        str(path)) from None


def run(settings: Settings, log: Callable[[str], None] = print) -> Result:
    """Train as ``settings`` say; ``log`` prints the data and model, then the metrics table and the files.

    With ``distributed``, every rank of the MPI job calls this; rank 0 alone logs and saves.

    Raises:
        SettingsError: settings that do not go together.
        ValueError: bad data, or a checkpoint that does not match (named by option).
        UntrustedModuleError: a saved model names a class of yours not in ``trust``.

    """
    s = resolved(settings)
    if not s.distributed:
        return _run(s, log, None)
    from ember.distributed import DataParallel

    parallel = DataParallel(micro_batch=s.micro_batch, exact=not s.allreduce)
    with parallel.guard():
        return _run(s, log if parallel.root else (lambda line: None), parallel)


def _run(s: Settings, log: Callable[[str], None], parallel: Any) -> Result:
    dataset, name = _training_data(s)
    X, y = dataset.train
    if s.limit is not None:
        X, y = X[:s.limit], y[:s.limit]
    validation = dataset.test
    held_out = None
    if s.validation_split:
        n_test = int(np.ceil(s.validation_split * len(X)))
        if not 0 < n_test < len(X):
            raise SettingsError(f"--validation-split {s.validation_split} leaves {n_test} of {len(X)} examples")
        kept, held_out = data.split_indices(len(X), n_test, seed=s.seed)
        X, y, validation = X[kept], y[kept], (X[held_out], y[held_out])
    if s.regression:
        y = y.reshape(len(y), 1)
        validation = None if validation is None else (validation[0], validation[1].reshape(-1, 1))
        n_outputs = 1
    else:
        n_outputs = int(max(y.max(), validation[1].max() if validation is not None else 0)) + 1
    manual_seed(s.seed)
    model = _model(s, X.shape[1], n_outputs)
    criterion = nn.MSECriterion() if s.regression else models.criterion_for(model)
    if criterion.output_meaning == "probability":
        y = y.reshape(len(y), -1).astype(np.float64)
        validation = None if validation is None else (validation[0], validation[1].reshape(-1, 1).astype(float))
    config: dict[str, Any] = {"learning_rate": s.lr}
    if s.lr_decay:
        config["learning_rate_decay"] = s.lr_decay
    if s.momentum:
        config["momentum"] = s.momentum
    if s.weight_decay is not None:
        config["weight_decay"] = s.weight_decay
    what = "targets" if s.regression else f"{n_outputs} classes"
    log(f"{name}: {len(X)} training examples, {X.shape[1]} features, {what}"
        + (f", {len(validation[0])} held out" if validation is not None else ""))
    log(str(model))
    root = parallel is None or parallel.root
    for target in (s.save, s.checkpoint, s.log):
        if target and root:
            Path(target).resolve().parent.mkdir(parents=True, exist_ok=True)
    result = Result(model)
    if s.early_stopping:
        result.stopping = EarlyStopping("val_loss" if validation is not None else "loss", patience=s.early_stopping)
    try:
        result.history = fit(model, criterion, X, y, optimizer=s.optimizer, config=config, epochs=s.epochs,
                             batch_size=s.batch_size, shuffle=s.shuffle, validation_data=validation,
                             progress=s.progress and root, seed=s.seed, resume=s.resume, checkpoint=s.checkpoint,
                             schedule=s.schedule, early_stopping=result.stopping, log=s.log,
                             distributed=parallel or False, clip_grad_norm=s.clip_grad_norm)
    except ResumeMismatchError as error:
        raise InputError(resume_message(error, s.resume)) from None
    if not root:
        return result
    result.rows["train"] = evaluate(model, criterion, X, y, batch_size=EVALUATION_BATCH)
    if validation is not None:
        split = "test" if dataset.test is not None and not s.validation_split else "validation"
        result.rows[split] = evaluate(model, criterion, *validation, batch_size=EVALUATION_BATCH)
    stopping = result.stopping
    decay = f", decay {s.lr_decay}" if s.lr_decay else ""
    schedule = f", {s.schedule} schedule" if s.schedule else ""
    stopped = (f"; early stopping after epoch {stopping.stopped_epoch}, best epoch {stopping.best_epoch} restored"
               if stopping is not None and stopping.stopped_epoch else "")
    log(f"after {result.history.epochs} epochs ({s.optimizer}, learning rate {s.lr}{decay}{schedule}, "
        f"batch size {s.batch_size or 'full'}{stopped}):")
    log(metrics_table(result.rows))
    if s.log:
        log(f"training log: {s.log}")
    if s.save:
        info = {"dataset": name, "limit": s.limit, "seed": s.seed,
                "held_out": None if held_out is None else sorted(int(i) for i in held_out)}
        result.saved = save_or_keep(model, s.save, info={"ember train": info})
        log(f"model saved: {result.saved}")
    return result


# -- a saved model: evaluate it on a dataset, predict the rows of a CSV file -----------------------------------


@dataclass
class EvaluateSettings:
    """``ember evaluate``: a saved model file (``trust``: your classes in it) and the dataset to score it on."""

    model: str
    dataset: str
    data_dir: str | None = None
    split: str | None = None  # "train", "test" or "all"; None: every part the dataset has
    seed: int = 0
    trust: Sequence[type[Module] | str] = ()


@dataclass
class EvaluateResult:
    """The metrics per part (``rows``), a note for each part the model was trained on, the confusion matrix
    of the last part.
    """

    rows: dict[str, dict[str, float]]
    notes: dict[str, str]
    matrix: ConfusionMatrix


def _check_classes(model: Module, criterion: Any, parts: dict[str, Any], s: EvaluateSettings) -> None:
    """Raise unless the model gives as many outputs as the dataset's labels need (one score per class, or one
    probability for two classes), before anything is scored.
    """
    X = next(iter(parts.values()))[0]
    params = model.parameters()[0]
    width = int(np.prod(model.forward(X[:1].astype(params[0].dtype if params else X.dtype)).shape[1:]))
    labels = max(int(y.max()) for _, y in parts.values()) + 1 if X.shape[0] else 0
    if criterion.output_meaning == "probability" and width != 1:
        raise SettingsError(f"{s.model}: the model ends in a Sigmoid with {width} outputs, but {s.dataset} has one "
                            f"label per example: evaluate a model with one output")
    if criterion.output_meaning == "scores" and width < labels:
        raise SettingsError(f"{s.model}: the model scores {width} classes, but {s.dataset} has labels 0 to "
                            f"{labels - 1} ({labels} classes): evaluate it on data of the classes it was trained on")


def _targets_for(y: np.ndarray, criterion: Any) -> np.ndarray:
    """Labels as ``criterion`` wants them: a column of floats for a probability per example (BCE)."""
    if criterion.output_meaning == "probability":
        return y.reshape(len(y), -1).astype(np.float64)
    return y


def splits(dataset: data.Dataset, record: dict[str, Any], spec: str) -> tuple[dict[str, Any], dict[str, str]]:
    """The parts of ``dataset`` to evaluate on, and a note for each part the model was trained on.

    ``record`` is what :func:`run` kept in the model file it saved: when the model was trained on this
    dataset with rows held out, ``train`` and ``test`` are those rows (the held-out rows are the test part).
    """
    same = record.get("dataset") == spec
    if dataset.test is not None:
        notes = {"train": "the model was trained on this part"} if same else {}
        return {"train": dataset.train, "test": dataset.test}, notes
    X, y = dataset.train
    if not same:
        return {"all": dataset.train}, {}
    n = len(X) if record.get("limit") is None else min(int(record["limit"]), len(X))
    if record.get("held_out") is None:
        note = f"the model was trained on {'all' if n == len(X) else f'the first {n}'} of these examples"
        return {"all": dataset.train}, {"all": note}
    held = np.asarray(record["held_out"], dtype=np.int64)
    trained = np.setdiff1d(np.arange(n), held)
    notes = {"train": "the model was trained on this part (test is the part 'ember train' held out)",
             "all": f"{len(trained)} of these {len(X)} examples were used to train the model"}
    return {"train": (X[trained], y[trained]), "test": (X[held], y[held]), "all": dataset.train}, notes


def run_evaluate(settings: EvaluateSettings, log: Callable[[str], None] = print) -> EvaluateResult:
    """Score a saved model on each part of a dataset (the rows :func:`run` held out are its test part); ``log``
    prints the metrics table, the notes and the confusion matrix of the last part.
    """
    s = settings
    model = io.load(s.model, trusted=s.trust)
    dataset = data.load(s.dataset, s.data_dir, seed=s.seed)
    parts, trained_on = splits(dataset, io.info(s.model).get("ember train", {}), s.dataset)
    if s.split:
        if s.split not in parts:
            raise SettingsError(f"--split {s.split}: {s.dataset} has only {', '.join(parts)} (a model trained "
                                f"with --validation-split records the rows it held out as its test part)")
        parts = {s.split: parts[s.split]}
    elif "test" in parts:
        parts = {"train": parts["train"], "test": parts["test"]}
    criterion = models.criterion_for(model)
    _check_classes(model, criterion, parts, s)
    rows = {name: evaluate(model, criterion, X, _targets_for(y, criterion), batch_size=EVALUATION_BATCH)
            for name, (X, y) in parts.items()}
    log(metrics_table(rows))
    notes = {name: trained_on[name] for name in rows if name in trained_on}
    for note in notes.values():
        log(f"note: {note}")
    X, y = next(reversed(parts.values()))
    predicted = predict(model, X, batch_size=EVALUATION_BATCH)
    n_classes = max(int(y.max()), int(predicted.max()), 1) + 1
    names = dataset.classes if dataset.classes is not None and len(dataset.classes) == n_classes else None
    matrix = ConfusionMatrix(n_classes, labels=names)
    matrix.batch_add(predicted, y)
    log(f"on {next(reversed(parts))}:")
    log(str(matrix))
    return EvaluateResult(rows, notes, matrix)


@dataclass
class PredictSettings:
    """``ember predict``: a saved model file, a CSV file of features (``label_column``: a column of true
    labels, left out), class probabilities instead of labels (``proba``).
    """

    model: str
    csv: str
    label_column: int | None = None
    proba: bool = False
    trust: Sequence[type[Module] | str] = ()


@dataclass
class PredictResult:
    """One line per row (a label, or comma-separated probabilities); the accuracy against the label column."""

    lines: list[str]
    accuracy: float | None = None
    rows: int = 0


def run_predict(settings: PredictSettings) -> PredictResult:
    """Predict each row of a CSV file with a saved model."""
    s = settings
    model = io.load(s.model, trusted=s.trust)
    X, y = data.load_csv(s.csv, label_column=s.label_column)
    labels = predict(model, X, batch_size=EVALUATION_BATCH)
    if s.proba:
        lines = [",".join(f"{p:.6g}" for p in row) for row in predict_proba(model, X, batch_size=EVALUATION_BATCH)]
    else:
        lines = [str(int(label)) for label in labels]
    return PredictResult(lines, None if y is None else float(np.mean(labels == y)), len(X))
