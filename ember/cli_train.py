"""The training commands of ``ember``: ``demo``, ``train``, ``evaluate`` and ``predict``.

``ember.cli`` registers them with :func:`add_parsers`; each handler takes the
parsed arguments and returns the exit status: 0 success; 1 the command failed
(a missing or malformed file, a model that does not fit the data, a diverging
loss, a failed gradient check), reported as one line on stderr, never as a
traceback; 2 bad arguments (argparse, or ``ember.cli.UsageError``).
"""

from __future__ import annotations

import argparse
import math
import os
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from ember import check, data, io, nn, optim, plot
from ember.metrics import ConfusionMatrix
from ember.random import manual_seed
from ember.recipes import iris, lenet
from ember.train import evaluate, fit, predict, predict_proba

#: the activations ``ember train`` offers between linear layers.
ACTIVATIONS: dict[str, Callable[[], nn.Module]] = {
    "sigmoid": nn.Sigmoid, "tanh": nn.Tanh, "relu": nn.ReLU, "requ": nn.ReQU,
}
#: the optimizers ``ember train`` offers (functions of ember.optim).
OPTIMIZERS = ("sgd", "adam", "adamax", "adagrad", "rmsprop", "adadelta", "lbfgs")
OCR_SPLITS = ("tiny", "small", "medium", "large")
#: the optimizers that take a learning-rate decay (``--lr-decay``).
LR_DECAY_OPTIMIZERS = ("sgd", "adam", "adagrad")
#: the models ``ember train`` builds, and the training settings each uses unless flags override them
#: (``lr_decay`` only applies to the optimizers that take it).
MODEL_DEFAULTS: dict[str, dict[str, Any]] = {
    "mlp": {"hidden": [50], "activation": "sigmoid", "optimizer": "sgd", "lr": 0.01, "lr_decay": 0.0, "epochs": 20,
            "batch_size": 1, "validation_split": 0.0},
    "lenet": {"optimizer": lenet.OPTIMIZER, "lr": lenet.LEARNING_RATE, "lr_decay": lenet.LEARNING_RATE_DECAY,
              "epochs": lenet.EPOCHS, "batch_size": lenet.BATCH_SIZE, "validation_split": 0.2},
}
#: examples per forward pass when evaluating or predicting (bounds the memory a CNN's buffers take).
EVALUATION_BATCH = 1000


class CommandError(Exception):
    """An expected failure of a command: printed as one line, exit status 1."""


# -- datasets ---------------------------------------------------------------------------------

def dataset_spec(text: str) -> str:
    """The argparse type of ``--dataset``: a known dataset name (``ocr-letters`` needs ``:SPLIT``)."""
    name, _, split = text.partition(":")
    if name in ("iris", "xor", "spirals", "mnist") and not split:
        return text
    if name == "ocr-letters" and split in OCR_SPLITS:
        return text
    if name == "ocr-letters":
        raise argparse.ArgumentTypeError(f"ocr-letters needs a split: ocr-letters:{{{','.join(OCR_SPLITS)}}}, "
                                         f"got {text!r}")
    raise argparse.ArgumentTypeError(f"unknown dataset {text!r}; choose iris, xor, spirals, "
                                     f"ocr-letters:{{{','.join(OCR_SPLITS)}}} or mnist")


def _number_type(convert: Callable[[str], Any], accept: Callable[[Any], bool], what: str) -> Callable[[str], Any]:
    """An argparse type: ``convert(text)``, refused with "expected WHAT" unless ``accept(value)``."""

    def parse(text: str) -> Any:
        try:
            value = convert(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected {what}, got {text!r}") from None
        if not accept(value):
            raise argparse.ArgumentTypeError(f"expected {what}, got {text!r}")
        return value

    return parse


positive_int = _number_type(int, lambda value: value >= 1, "a positive integer")
nonnegative_int = _number_type(int, lambda value: value >= 0, "a non-negative integer")
positive_float = _number_type(float, lambda value: math.isfinite(value) and value > 0, "a positive number")


def unit_fraction(text: str) -> float:
    """The argparse type: a number in [0, 1)."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a fraction in [0, 1), got {text!r}") from None
    if not 0 <= value < 1:
        raise argparse.ArgumentTypeError(f"expected a fraction in [0, 1), got {text!r}")
    return value


def batch_size_arg(text: str) -> int | None:
    """The argparse type of ``--batch-size``: a positive integer, or ``full`` (one batch of everything)."""
    if text.lower() in ("full", "all"):
        return None
    return positive_int(text)


def load_dataset(spec: str, data_dir: str | None, seed: int) -> tuple[tuple[np.ndarray, np.ndarray],
                                                                     tuple[np.ndarray, np.ndarray] | None]:
    """``(train, test)`` for a ``--dataset`` value; ``test`` is ``None`` for datasets without a test set."""
    name, _, split = spec.partition(":")
    if name in ("ocr-letters", "mnist") and data_dir is None and not os.environ.get(data.ENV_VAR):
        raise CommandError(f"{name} is read from a data directory: give --data-dir DIR or set {data.ENV_VAR} "
                           f"to the folder holding ocr-letters/ and mnist/")
    if name == "iris":
        return data.iris(data_dir), None
    if name == "xor":
        X, y = data.xor()
        return (X, y[:, 0].astype(np.int64)), None
    if name == "spirals":
        return data.spirals(seed=seed), None
    if name == "mnist":
        return data.mnist(data_dir=data_dir), None
    train, test = data.ocr_letters(split, data_dir)
    return train, test


def class_names(spec: str, n_classes: int) -> list[str] | None:
    """The names of a dataset's classes, for printing (``None`` where they are just numbers)."""
    name = spec.partition(":")[0]
    names = {"iris": [c.removeprefix("Iris-") for c in data.IRIS_CLASSES], "ocr-letters": list(data.OCR_LETTERS)}
    known = names.get(name)
    return known if known is not None and len(known) == n_classes else None


# -- models -----------------------------------------------------------------------------------

def build_classifier(n_in: int, hidden: list[int], activation: str, n_classes: int) -> nn.Sequential:
    """``Linear → activation`` per hidden layer, then ``Linear → LogSoftMax`` (a ClassNLL classifier)."""
    model = nn.Sequential()
    width = n_in
    for size in hidden:
        model.add(nn.Linear(width, size)).add(ACTIVATIONS[activation]())
        width = size
    return model.add(nn.Linear(width, n_classes)).add(nn.LogSoftMax())


def criterion_for(model: nn.Module) -> nn.Criterion:
    """The criterion that matches a saved model's output: ClassNLL after LogSoftMax, BCE after a single
    Sigmoid output, CrossEntropy on raw scores.
    """
    last = model
    while isinstance(last, nn.Sequential) and last.modules:
        last = last.modules[-1]
    if isinstance(last, nn.LogSoftMax):
        return nn.ClassNLLCriterion()
    if isinstance(last, nn.Sigmoid):
        return nn.BCECriterion()
    return nn.CrossEntropyCriterion()


def _metrics_table(rows: dict[str, dict[str, float]]) -> str:
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


def _labels_for_targets(y: np.ndarray, model: nn.Module) -> np.ndarray:
    """Targets as the criterion of :func:`criterion_for` wants them (a column of floats for BCE)."""
    if isinstance(criterion_for(model), nn.BCECriterion):
        return y.reshape(len(y), -1).astype(np.float64)
    return y


# -- demo -------------------------------------------------------------------------------------

def _demo(args: argparse.Namespace) -> int:
    started = time.perf_counter()
    X, y = data.iris()
    source = (f"{os.environ['EMBER_DATA_DIR']}/iris" if os.environ.get("EMBER_DATA_DIR")
              else "scikit-learn's bundled copy; set EMBER_DATA_DIR to read iris/iris.data.csv")
    print(f"Iris: {len(X)} examples, {X.shape[1]} features, {int(y.max()) + 1} classes ({source})")

    # The practical's model and initialisation (see ember.recipes.iris.create_model).
    model, criterion = iris.create_model(args.nonlinearity, n_hidden=args.hidden, rng=args.seed)
    params, _ = model.getParameters()
    print(model)

    history = fit(model, criterion, X, y, optimizer=optim.adagrad, config={"learning_rate": 0.1},
                  epochs=args.epochs, batch_size=None, progress=True, seed=args.seed)
    scores = evaluate(model, criterion, X, y)
    print(f"trained {args.epochs} epochs (full batch, adagrad, learning rate 0.1): "
          f"loss {scores['loss']:.4f}, accuracy {100 * scores['accuracy']:.2f}%")

    model.evaluate()
    error = check.gradient_error(model, criterion, X, y)
    model.training()
    passed = error < 1e-6
    print(f"gradient check (whole model, {params.size} parameters, two-sided finite differences): "
          f"relative error {error:.2e} -> {'ok' if passed else 'FAILED'} (threshold 1e-6)")

    matrix = ConfusionMatrix(class_names("iris", 3))
    matrix.batch_add(predict(model, X), y)
    print(matrix)

    out = Path(args.out)
    path = plot.loss_curves(out / f"iris-loss-{args.nonlinearity}.png", history["loss"],
                            title=f"Iris, {args.nonlinearity} hidden layer: training loss (ClassNLL)")
    print(f"loss plot: {path.resolve()}")
    print(f"done in {time.perf_counter() - started:.1f} s")
    return 0 if passed else 1


# -- train ------------------------------------------------------------------------------------

def _training_settings(args: argparse.Namespace) -> None:
    """Fill in the settings not given on the command line with ``--model``'s defaults; check the combination."""
    from ember.cli import UsageError  # imported here: ember.cli imports this module

    if args.model == "lenet":
        if args.dataset != "mnist":
            raise UsageError(f"--model lenet takes 28x28 images: use --dataset mnist (got {args.dataset})")
        given = [f"--{name}" for name in ("hidden", "activation") if hasattr(args, name)]
        if given:
            verb = "shape" if len(given) > 1 else "shapes"
            raise UsageError(f"{' and '.join(given)} {verb} the mlp model; lenet's layers are fixed")
    lr_decay_given = hasattr(args, "lr_decay")
    for name, value in MODEL_DEFAULTS[args.model].items():
        if not hasattr(args, name):
            setattr(args, name, value)
    if args.lr_decay and args.optimizer not in LR_DECAY_OPTIMIZERS:
        if lr_decay_given:
            raise UsageError(f"--lr-decay: {args.optimizer} has no learning-rate decay "
                             f"({', '.join(LR_DECAY_OPTIMIZERS)} have)")
        args.lr_decay = 0.0


def _train(args: argparse.Namespace) -> int:
    from ember.cli import UsageError  # imported here: ember.cli imports this module

    _training_settings(args)
    hidden = [] if args.model != "mlp" or args.hidden == [0] else args.hidden
    if 0 in hidden:
        raise UsageError("--hidden: 0 means no hidden layer and must be given alone (--hidden 0)")
    (X, y), test = load_dataset(args.dataset, args.data_dir, args.seed)
    if args.limit is not None:
        X, y = X[:args.limit], y[:args.limit]
    validation = test
    if args.validation_split:
        X, X_held, y, y_held = data.train_test_split(X, y, test_size=args.validation_split, seed=args.seed)
        validation = (X_held, y_held)
    n_classes = int(max(y.max(), validation[1].max() if validation is not None else 0)) + 1
    manual_seed(args.seed)
    if args.model == "lenet":
        model = lenet.build_lenet(max(n_classes, lenet.N_CLASSES))
    else:
        model = build_classifier(X.shape[1], hidden, args.activation, n_classes)
    criterion = nn.ClassNLLCriterion()
    config: dict[str, Any] = {"learning_rate": args.lr}
    if args.lr_decay:
        config["learning_rate_decay"] = args.lr_decay
    if args.momentum:
        config["momentum"] = args.momentum
    if args.weight_decay is not None:
        config["weight_decay"] = args.weight_decay
    print(f"{args.dataset}: {len(X)} training examples, {X.shape[1]} features, {n_classes} classes"
          + (f", {len(validation[0])} held out" if validation is not None else ""))
    print(model)
    for target in (args.save, args.checkpoint):
        if target:
            Path(target).resolve().parent.mkdir(parents=True, exist_ok=True)
    history = fit(model, criterion, X, y, optimizer=args.optimizer, config=config, epochs=args.epochs,
                  batch_size=args.batch_size, shuffle=args.shuffle, validation_data=validation,
                  progress=not args.quiet, seed=args.seed, resume=args.resume, checkpoint=args.checkpoint)
    rows = {"train": evaluate(model, criterion, X, y, batch_size=EVALUATION_BATCH)}
    if validation is not None:
        rows["test" if test is not None and not args.validation_split else "validation"] = \
            evaluate(model, criterion, *validation, batch_size=EVALUATION_BATCH)
    decay = f", decay {args.lr_decay}" if args.lr_decay else ""
    print(f"after {history.epochs} epochs ({args.optimizer}, learning rate {args.lr}{decay}, "
          f"batch size {args.batch_size or 'full'}):")
    print(_metrics_table(rows))
    if args.save:
        path = io.save(model, args.save)
        print(f"model saved: {path}")
    return 0


# -- evaluate ---------------------------------------------------------------------------------

def _evaluate(args: argparse.Namespace) -> int:
    model = io.load(args.model)
    train, test = load_dataset(args.dataset, args.data_dir, args.seed)
    splits = {"train": train, "test": test} if test is not None else {"all": train}
    if args.split:
        if args.split not in splits:
            raise CommandError(f"--split {args.split}: {args.dataset} has only {', '.join(splits)}")
        splits = {args.split: splits[args.split]}
    criterion = criterion_for(model)
    rows = {}
    for name, (X, y) in splits.items():
        rows[name] = evaluate(model, criterion, X, _labels_for_targets(y, model), batch_size=EVALUATION_BATCH)
    print(_metrics_table(rows))
    X, y = next(reversed(splits.values()))
    predicted = predict(model, X, batch_size=EVALUATION_BATCH)
    n_classes = max(int(y.max()), int(predicted.max()), 1) + 1
    matrix = ConfusionMatrix(n_classes, labels=class_names(args.dataset, n_classes))
    matrix.batch_add(predicted, y)
    print(f"on {next(reversed(splits))}:")
    print(matrix)
    return 0


# -- predict ----------------------------------------------------------------------------------

def _predict(args: argparse.Namespace) -> int:
    model = io.load(args.model)
    if args.label_column is None:
        X, y = data.load_csv(args.csv, label_column=None)
    else:
        X, y = data.load_csv(args.csv, label_column=args.label_column)
    if args.proba:
        probabilities = predict_proba(model, X, batch_size=EVALUATION_BATCH)
        lines = [",".join(f"{p:.6g}" for p in row) for row in probabilities]
    else:
        labels = predict(model, X, batch_size=EVALUATION_BATCH)
        lines = [str(int(label)) for label in labels]
    sys.stdout.write("\n".join(lines) + "\n")
    if y is not None:
        labels = predict(model, X, batch_size=EVALUATION_BATCH)
        accuracy = float(np.mean(labels == y))
        print(f"accuracy against column {args.label_column}: {100 * accuracy:.2f}% ({len(y)} rows)",
              file=sys.stderr)
    return 0


# -- registration -----------------------------------------------------------------------------

def _guarded(handler: Callable[[argparse.Namespace], int], command: str) -> Callable[[argparse.Namespace], int]:
    """Run ``handler``, turning expected failures into one line on stderr and exit status 1."""

    def run(args: argparse.Namespace) -> int:
        try:
            return handler(args)
        except (CommandError, ValueError, TypeError, OSError, FloatingPointError) as exc:
            message = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
            print(f"ember {command}: error: {message}", file=sys.stderr)
            return 1
        except KeyboardInterrupt:
            print(f"ember {command}: interrupted", file=sys.stderr)
            return 130

    run.__name__ = handler.__name__
    run.__doc__ = handler.__doc__
    return run


def _one_line_errors(parser: argparse.ArgumentParser) -> argparse.ArgumentParser:
    """Make ``parser`` report a bad argument as one line (and exit 2) instead of usage plus error."""

    def error(message: str) -> None:
        parser.exit(2, f"{parser.prog}: error: {message} (see '{parser.prog} --help')\n")

    parser.error = error  # type: ignore[method-assign]
    return parser


def _add_data_dir(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--data-dir", metavar="DIR", default=None,
                        help="directory holding iris/, ocr-letters/ and mnist/ (default: $EMBER_DATA_DIR)")


def _add_dataset(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--dataset", type=dataset_spec, required=True, metavar="NAME",
                        help="iris, xor, spirals, ocr-letters:SPLIT (tiny, small, medium, large) or mnist")


DEMO_DESCRIPTION = """\
Train the Iris classifier of the Torch practical "implementing your own layer":
linear (4 -> hidden) -> sigmoid or ReQU -> linear (hidden -> 3) -> LogSoftMax,
ClassNLL loss, full-batch adagrad with learning rate 0.1, parameters initialised
uniform(-0.01, 0.01) (biases moved to about +0.5 with ReQU). Shows a progress bar,
runs the whole-model finite-difference gradient check, prints the accuracy and a
confusion matrix, and writes the training-loss plot iris-loss-NONLINEARITY.png,
printing its path.

Iris is read from $EMBER_DATA_DIR/iris/iris.data.csv when EMBER_DATA_DIR is set,
else from scikit-learn's bundled copy. Exit status 1 if the gradient check fails.
"""

DEMO_EPILOG = """\
examples:
  ember demo
  ember demo --nonlinearity requ --out figures/
"""

TRAIN_DESCRIPTION = """\
Train a classifier with the ClassNLL loss: the --model network, ending in
LogSoftMax. Shows a progress bar when stderr is a terminal, prints a table of the
final loss and accuracy on the training set and on the test set (ocr-letters has
one) or the --validation-split, and saves the model with --save.

models:
  mlp    (the default) for each --hidden size a Linear layer followed by the
         --activation, then a Linear layer to the classes. Defaults: --hidden 50,
         --activation sigmoid, --optimizer sgd, --lr 0.01, --batch-size 1, --epochs 20.
  lenet  the LeNet-style CNN of ember.recipes.lenet, on 28x28 images (--dataset
         mnist only; its first View turns the rows of 784 pixels into 1x28x28):
         conv 5x5 (6 planes, pad 2), ReLU, max-pool 2x2, conv 5x5 (16 planes), ReLU,
         max-pool 2x2, Linear 400-120-84-classes with ReLUs, in float32. Defaults, as
         the recipe (>= 97% test accuracy): --optimizer adam, --lr 0.001, --lr-decay
         0.001, --batch-size 32, --epochs 12, --validation-split 0.2 (8000 images to
         train, 2000 held out). Flags override them; --hidden and --activation do
         not apply.

datasets:
  iris               Fisher's Iris, 150 x 4, 3 classes ($EMBER_DATA_DIR/iris, else
                     scikit-learn's copy)
  xor                the 4 corners of the square, 2 classes
  spirals            3 interleaved spirals, 300 x 2 (generated from --seed)
  ocr-letters:SPLIT  handwritten letters, 128 pixels, 10 classes, with a test set;
                     SPLIT is tiny, small, medium or large
  mnist              the 10k MNIST test digits, 784 pixels, 10 classes
"""

TRAIN_EPILOG = """\
examples:
  ember train --dataset iris --hidden 10 --optimizer adagrad --lr 0.1 --epochs 50
  ember train --dataset ocr-letters:small --hidden 50 --lr 0.1 --epochs 5 --no-shuffle --save ocr.safetensors
  ember train --dataset spirals --hidden 100 --activation relu --optimizer adam --batch-size 32 --epochs 100
  ember train --dataset mnist --model lenet --save lenet.safetensors
  ember train --dataset mnist --model lenet --limit 1000 --epochs 1    # a quick try
"""

EVALUATE_DESCRIPTION = """\
Load a model saved by 'ember train --save' (or ember.io.save) and print its loss
and accuracy on each part of a dataset (training and test sets, or all of it),
then the confusion matrix of the last part. The loss is ClassNLL for a model that
ends in LogSoftMax, binary cross-entropy for one that ends in Sigmoid, else
cross-entropy on the scores.
"""

EVALUATE_EPILOG = """\
examples:
  ember evaluate ocr.safetensors --dataset ocr-letters:small
  ember evaluate iris.safetensors --dataset iris
"""

PREDICT_DESCRIPTION = """\
Load a saved model and print one predicted class label (0-based) per row of a
CSV file of numeric features without header, or the class probabilities with
--proba. With --label-column, that column holds the true labels: it is left out
of the features and the accuracy is printed on stderr.
"""

PREDICT_EPILOG = """\
examples:
  ember predict iris.safetensors flowers.csv
  ember predict ocr.safetensors small_test.csv --label-column 0
"""


def add_parsers(subparsers: Any) -> None:
    """Register ``demo``, ``train``, ``evaluate`` and ``predict`` on an argparse subparsers object.

    Each parser's ``func`` default is the function to call with the parsed arguments (``ember.cli``'s
    convention).
    """
    raw = argparse.RawDescriptionHelpFormatter

    demo = subparsers.add_parser(
        "demo", formatter_class=raw, description=DEMO_DESCRIPTION, epilog=DEMO_EPILOG,
        help="train the Iris network of the Torch practical, check its gradient, plot its loss")
    demo.add_argument("--out", metavar="DIR", default=".", help="folder for the figure (default: the current one)")
    demo.add_argument("--nonlinearity", choices=("sigmoid", "requ"), default="sigmoid",
                      help="the hidden layer's non-linearity (default: sigmoid)")
    demo.add_argument("--epochs", type=positive_int, default=1000, metavar="N",
                      help="full-batch training iterations (default: 1000)")
    demo.add_argument("--hidden", type=positive_int, default=2, metavar="N", help="hidden units (default: 2)")
    demo.add_argument("--seed", type=int, default=0, help="seed of the initialisation (default: 0)")
    _one_line_errors(demo).set_defaults(func=_guarded(_demo, "demo"))

    train = subparsers.add_parser(
        "train", formatter_class=raw, description=TRAIN_DESCRIPTION, epilog=TRAIN_EPILOG,
        help="train a classifier on a dataset, print its metrics, save it")
    _add_dataset(train)
    _add_data_dir(train)
    # The training settings default to argparse.SUPPRESS: absent from the namespace unless given, and then
    # filled in with --model's defaults (MODEL_DEFAULTS) by _training_settings.
    unset = argparse.SUPPRESS
    train.add_argument("--model", choices=tuple(MODEL_DEFAULTS), default="mlp",
                       help="the network: mlp (Linear layers, the default) or lenet (a CNN for mnist); see above")
    train.add_argument("--hidden", type=nonnegative_int, nargs="+", default=unset, metavar="N",
                       help="mlp hidden layer sizes, several for a deeper network, 0 alone for none (default: 50)")
    train.add_argument("--activation", choices=sorted(ACTIVATIONS), default=unset,
                       help="the mlp hidden layers' non-linearity (default: sigmoid)")
    train.add_argument("--optimizer", choices=OPTIMIZERS, default=unset,
                       help="an ember.optim optimizer (default: sgd; lenet: adam)")
    train.add_argument("--lr", type=positive_float, default=unset,
                       help="learning rate (default: 0.01; lenet: 0.001)")
    train.add_argument("--lr-decay", type=positive_float, default=unset, metavar="D",
                       help=f"learning-rate decay, the step size at step t is lr / (1 + t*D); "
                            f"{', '.join(LR_DECAY_OPTIMIZERS)} only (default: none; lenet: 0.001)")
    train.add_argument("--momentum", type=unit_fraction, default=0.0, metavar="M",
                       help="momentum, sgd only (default: none)")
    train.add_argument("--weight-decay", type=positive_float, default=None, metavar="L2",
                       help="L2 weight decay, for the optimizers that take it (default: none)")
    train.add_argument("--epochs", type=nonnegative_int, default=unset, metavar="N",
                       help="passes over the training set (default: 20; lenet: 12)")
    train.add_argument("--batch-size", type=batch_size_arg, default=unset, metavar="N|full",
                       help="examples per step: 1 for per-example SGD, 'full' for full batch (default: 1; lenet: 32)")
    shuffling = train.add_mutually_exclusive_group()
    shuffling.add_argument("--shuffle", dest="shuffle", action="store_true", default=True,
                           help="visit the examples in a new random order each epoch (the default)")
    shuffling.add_argument("--no-shuffle", dest="shuffle", action="store_false",
                           help="visit the examples in file order")
    train.add_argument("--validation-split", type=unit_fraction, default=unset, metavar="FRACTION",
                       help="hold out this fraction of the training set and report metrics on it "
                            "(default: 0; lenet: 0.2)")
    train.add_argument("--limit", type=positive_int, default=None, metavar="N",
                       help="use only the first N examples of the training set, before --validation-split "
                            "(a test set is kept whole), for quick runs (default: all)")
    train.add_argument("--seed", type=int, default=0,
                       help="seed of the initialisation, shuffling, split and generated data (default: 0)")
    train.add_argument("--save", metavar="PATH", help="write the trained model to PATH (.safetensors)")
    train.add_argument("--checkpoint", metavar="PATH", help="write a checkpoint to PATH after every epoch")
    train.add_argument("--resume", metavar="PATH",
                       help="continue from a checkpoint (same arguments; --epochs is the total)")
    train.add_argument("--quiet", action="store_true", help="no progress bar")
    _one_line_errors(train).set_defaults(func=_guarded(_train, "train"))

    evaluate_parser = subparsers.add_parser(
        "evaluate", formatter_class=raw, description=EVALUATE_DESCRIPTION, epilog=EVALUATE_EPILOG,
        help="loss, accuracy and confusion matrix of a saved model on a dataset")
    evaluate_parser.add_argument("model", help="a .safetensors model file")
    _add_dataset(evaluate_parser)
    _add_data_dir(evaluate_parser)
    evaluate_parser.add_argument("--split", choices=("train", "test", "all"), default=None,
                                 help="evaluate only this part (default: every part the dataset has)")
    evaluate_parser.add_argument("--seed", type=int, default=0, help="seed of generated data, spirals (default: 0)")
    _one_line_errors(evaluate_parser).set_defaults(func=_guarded(_evaluate, "evaluate"))

    predict_parser = subparsers.add_parser(
        "predict", formatter_class=raw, description=PREDICT_DESCRIPTION, epilog=PREDICT_EPILOG,
        help="print a saved model's predicted label for each row of a CSV file")
    predict_parser.add_argument("model", help="a .safetensors model file")
    predict_parser.add_argument("csv", help="a CSV file of features, one example per row, no header")
    predict_parser.add_argument("--label-column", type=int, default=None, metavar="INDEX",
                                help="0-based index of a column of true labels, left out of the features")
    predict_parser.add_argument("--proba", action="store_true",
                                help="print comma-separated class probabilities instead of labels")
    _one_line_errors(predict_parser).set_defaults(func=_guarded(_predict, "predict"))
