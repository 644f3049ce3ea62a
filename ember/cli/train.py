"""``ember train``, ``ember evaluate`` and ``ember predict``: train a classifier, score it, use it."""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path
from typing import Any

import numpy as np

from ember import data, io, models
from ember.cli.common import (
    UsageError,
    add_data_dir,
    add_quiet,
    add_seed,
    check_outputs,
    command,
    nonnegative_int,
    positive_float,
    positive_int,
    unit_fraction,
)
from ember.metrics import ConfusionMatrix
from ember.random import manual_seed
from ember.recipes import lenet
from ember.train import evaluate, fit, predict, predict_proba

#: the optimizers ``ember train`` offers (functions of ember.optim).
OPTIMIZERS = ("sgd", "adam", "adamax", "adagrad", "rmsprop", "adadelta", "lbfgs")
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


def dataset_spec(text: str) -> str:
    """The argparse type of ``--dataset``: a name :func:`ember.data.load` knows."""
    try:
        data.check_spec(text)
    except ValueError as error:
        raise argparse.ArgumentTypeError(str(error)) from None
    return text


def batch_size_arg(text: str) -> int | None:
    """The argparse type of ``--batch-size``: a positive integer, or ``full`` (one batch of everything)."""
    if text.lower() in ("full", "all"):
        return None
    return positive_int(text)


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


def _targets_for(y: np.ndarray, criterion: Any) -> np.ndarray:
    """Labels as ``criterion`` wants them: a column of floats for a probability per example (BCE)."""
    if criterion.output_meaning == "probability":
        return y.reshape(len(y), -1).astype(np.float64)
    return y


# -- train ------------------------------------------------------------------------------------

def _training_settings(args: argparse.Namespace) -> None:
    """Fill in the settings not given on the command line with ``--model``'s defaults; check the combination."""
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
    _training_settings(args)
    hidden = [] if args.model != "mlp" or args.hidden == [0] else args.hidden
    if 0 in hidden:
        raise UsageError("--hidden: 0 means no hidden layer and must be given alone (--hidden 0)")
    dataset = data.load(args.dataset, args.data_dir, seed=args.seed)
    X, y = dataset.train
    if args.limit is not None:
        X, y = X[:args.limit], y[:args.limit]
    validation = dataset.test
    if args.validation_split:
        X, X_held, y, y_held = data.train_test_split(X, y, test_size=args.validation_split, seed=args.seed)
        validation = (X_held, y_held)
    n_classes = int(max(y.max(), validation[1].max() if validation is not None else 0)) + 1
    manual_seed(args.seed)
    if args.model == "lenet":
        model = models.lenet(max(n_classes, lenet.N_CLASSES))
    else:
        model = models.mlp(X.shape[1], hidden, args.activation, n_classes)
    criterion = models.criterion_for(model)
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
    check_outputs({}, {"--save": args.save})
    check_outputs({}, {"--checkpoint": args.checkpoint})
    for target in (args.save, args.checkpoint):
        if target:
            Path(target).resolve().parent.mkdir(parents=True, exist_ok=True)
    history = fit(model, criterion, X, y, optimizer=args.optimizer, config=config, epochs=args.epochs,
                  batch_size=args.batch_size, shuffle=args.shuffle, validation_data=validation,
                  progress=not args.quiet, seed=args.seed, resume=args.resume, checkpoint=args.checkpoint)
    rows = {"train": evaluate(model, criterion, X, y, batch_size=EVALUATION_BATCH)}
    if validation is not None:
        rows["test" if dataset.test is not None and not args.validation_split else "validation"] = \
            evaluate(model, criterion, *validation, batch_size=EVALUATION_BATCH)
    decay = f", decay {args.lr_decay}" if args.lr_decay else ""
    print(f"after {history.epochs} epochs ({args.optimizer}, learning rate {args.lr}{decay}, "
          f"batch size {args.batch_size or 'full'}):")
    print(_metrics_table(rows))
    if args.save:
        print(f"model saved: {_save_or_keep(model, args.save)}")
    return 0


def _save_or_keep(model: Any, path: str) -> Path:
    """Save the trained model to ``path``; if that fails (a full disk, say), keep it in the temporary
    folder and name both in the error, so that minutes of training are not lost.
    """
    try:
        return io.save(model, path)
    except OSError as error:
        kept = Path(tempfile.mkdtemp(prefix="ember-unsaved-")) / Path(path).name
        try:
            io.save(model, kept)
        except OSError:
            raise OSError(f"--save {path!r}: {error.strerror or error}; the model could not be kept elsewhere "
                          f"either") from None
        raise OSError(f"--save {path!r}: {error.strerror or error}; the trained model was kept in {kept}") from None


# -- evaluate ---------------------------------------------------------------------------------

def _evaluate(args: argparse.Namespace) -> int:
    model = io.load(args.model)
    dataset = data.load(args.dataset, args.data_dir, seed=args.seed)
    splits = {"train": dataset.train, "test": dataset.test} if dataset.test is not None else {"all": dataset.train}
    if args.split:
        if args.split not in splits:
            raise UsageError(f"--split {args.split}: {args.dataset} has only {', '.join(splits)}")
        splits = {args.split: splits[args.split]}
    criterion = models.criterion_for(model)
    rows = {name: evaluate(model, criterion, X, _targets_for(y, criterion), batch_size=EVALUATION_BATCH)
            for name, (X, y) in splits.items()}
    print(_metrics_table(rows))
    X, y = next(reversed(splits.values()))
    predicted = predict(model, X, batch_size=EVALUATION_BATCH)
    n_classes = max(int(y.max()), int(predicted.max()), 1) + 1
    names = dataset.classes if dataset.classes is not None and len(dataset.classes) == n_classes else None
    matrix = ConfusionMatrix(n_classes, labels=names)
    matrix.batch_add(predicted, y)
    print(f"on {next(reversed(splits))}:")
    print(matrix)
    return 0


# -- predict ----------------------------------------------------------------------------------

def _predict(args: argparse.Namespace) -> int:
    model = io.load(args.model)
    X, y = data.load_csv(args.csv, label_column=args.label_column)
    if args.proba:
        probabilities = predict_proba(model, X, batch_size=EVALUATION_BATCH)
        lines = [",".join(f"{p:.6g}" for p in row) for row in probabilities]
    else:
        lines = [str(int(label)) for label in predict(model, X, batch_size=EVALUATION_BATCH)]
    sys.stdout.write("\n".join(lines) + "\n")
    if y is not None:
        accuracy = float(np.mean(predict(model, X, batch_size=EVALUATION_BATCH) == y))
        print(f"accuracy against column {args.label_column}: {100 * accuracy:.2f}% ({len(y)} rows)",
              file=sys.stderr)
    return 0


# -- registration -----------------------------------------------------------------------------

TRAIN_DESCRIPTION = """\
Train a classifier with the ClassNLL loss: the --model network, ending in
LogSoftMax. Shows a progress bar when stderr is a terminal, prints a table of the
final loss and accuracy on the training set and on the test set (ocr-letters has
one) or the --validation-split, and saves the model with --save.

models:
  mlp    (the default, ember.models.mlp) for each --hidden size a Linear layer
         followed by the --activation, then a Linear layer to the classes.
         Defaults: {mlp}.
  lenet  the LeNet-style CNN of ember.models.lenet, on 28x28 images (--dataset
         mnist only; its first View turns the rows of 784 pixels into 1x28x28):
         conv 5x5 (6 planes, pad 2), ReLU, max-pool 2x2, conv 5x5 (16 planes), ReLU,
         max-pool 2x2, Linear 400-120-84-classes with ReLUs, in float32. Defaults, as
         the recipe ember.recipes.lenet (>= 97% test accuracy): {lenet}
         (8000 images to train, 2000 held out). Flags override them; --hidden and
         --activation do not apply.

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




def _model_defaults(model: str) -> str:
    """``--hidden 50, --activation sigmoid, ...``: the settings ``model`` trains with unless flags say otherwise."""
    shown = {name: " ".join(map(str, value)) if isinstance(value, list) else value
             for name, value in MODEL_DEFAULTS[model].items() if value}
    return ", ".join(f"--{name.replace('_', '-')} {value}" for name, value in shown.items())


def _default(name: str) -> str:
    """``mlp: 0.01; lenet: 0.001``: the defaults of setting ``name`` by model, for a help string."""
    values = {model: settings[name] for model, settings in MODEL_DEFAULTS.items() if name in settings}
    shown = "; ".join(f"{model}: {' '.join(map(str, v)) if isinstance(v, list) else v or 'none'}"
                      for model, v in values.items())
    return f"(default: {shown})"


def add_parsers(subparsers: Any) -> None:
    """Declare ``train``, ``evaluate`` and ``predict``."""
    train = command(subparsers, "train", _train, help="train a classifier on a dataset, print its metrics, save it",
                    description=TRAIN_DESCRIPTION.format(mlp=_model_defaults("mlp"), lenet=_model_defaults("lenet")),
                    epilog=TRAIN_EPILOG)
    _add_dataset(train)
    add_data_dir(train)
    # The training settings default to argparse.SUPPRESS: absent from the namespace unless given, and then
    # filled in with --model's defaults (MODEL_DEFAULTS) by _training_settings.
    unset = argparse.SUPPRESS
    train.add_argument("--model", choices=tuple(MODEL_DEFAULTS), default="mlp",
                       help="the network: mlp (Linear layers) or lenet (a CNN for mnist); see above")
    train.add_argument("--hidden", type=nonnegative_int, nargs="+", default=unset, metavar="N",
                       help=f"mlp hidden layer sizes, several for a deeper network, 0 alone for none "
                            f"{_default('hidden')}")
    train.add_argument("--activation", choices=sorted(models.ACTIVATIONS), default=unset,
                       help=f"the mlp hidden layers' non-linearity {_default('activation')}")
    train.add_argument("--optimizer", choices=OPTIMIZERS, default=unset,
                       help=f"an ember.optim optimizer {_default('optimizer')}")
    train.add_argument("--lr", type=positive_float, default=unset, help=f"learning rate {_default('lr')}")
    train.add_argument("--lr-decay", type=positive_float, default=unset, metavar="D",
                       help=f"learning-rate decay, the step size at step t is lr / (1 + t*D); "
                            f"{', '.join(LR_DECAY_OPTIMIZERS)} only {_default('lr_decay')}")
    train.add_argument("--momentum", type=unit_fraction, default=0.0, metavar="M", help="momentum, sgd only")
    train.add_argument("--weight-decay", type=positive_float, default=None, metavar="L2",
                       help="L2 weight decay, for the optimizers that take it (if not given: none)")
    train.add_argument("--epochs", type=nonnegative_int, default=unset, metavar="N",
                       help=f"passes over the training set {_default('epochs')}")
    train.add_argument("--batch-size", type=batch_size_arg, default=unset, metavar="N|full",
                       help=f"examples per step: 1 for per-example SGD, 'full' for full batch "
                            f"{_default('batch_size')}")
    shuffling = train.add_mutually_exclusive_group()
    shuffling.add_argument("--shuffle", dest="shuffle", action="store_true", default=True,
                           help="visit the examples in a new random order each epoch (the default)")
    shuffling.add_argument("--no-shuffle", dest="shuffle", action="store_false",
                           help="visit the examples in file order")
    train.add_argument("--validation-split", type=unit_fraction, default=unset, metavar="FRACTION",
                       help=f"hold out this fraction of the training set and report metrics on it "
                            f"{_default('validation_split')}")
    train.add_argument("--limit", type=positive_int, default=None, metavar="N",
                       help="use only the first N examples of the training set, before --validation-split "
                            "(a test set is kept whole), for quick runs (if not given: all)")
    add_seed(train, "the initialisation, shuffling, split and generated data")
    train.add_argument("--save", metavar="PATH", help="write the trained model to PATH (.safetensors)")
    train.add_argument("--checkpoint", metavar="PATH", help="write a checkpoint to PATH after every epoch")
    train.add_argument("--resume", metavar="PATH",
                       help="continue from a checkpoint (same arguments; --epochs is the total)")
    add_quiet(train)

    evaluate_parser = command(subparsers, "evaluate", _evaluate, description=EVALUATE_DESCRIPTION,
                              epilog=EVALUATE_EPILOG,
                              help="loss, accuracy and confusion matrix of a saved model on a dataset")
    evaluate_parser.add_argument("model", help="a .safetensors model file")
    _add_dataset(evaluate_parser)
    add_data_dir(evaluate_parser)
    evaluate_parser.add_argument("--split", choices=("train", "test", "all"), default=None,
                                 help="evaluate only this part (if not given: every part the dataset has)")
    add_seed(evaluate_parser, "generated data (spirals)")

    predict_parser = command(subparsers, "predict", _predict, description=PREDICT_DESCRIPTION,
                             epilog=PREDICT_EPILOG,
                             help="print a saved model's predicted label for each row of a CSV file")
    predict_parser.add_argument("model", help="a .safetensors model file")
    predict_parser.add_argument("csv", help="a CSV file of features, one example per row, no header")
    predict_parser.add_argument("--label-column", type=int, default=None, metavar="INDEX",
                                help="0-based index of a column of true labels, left out of the features")
    predict_parser.add_argument("--proba", action="store_true",
                                help="print comma-separated class probabilities instead of labels")


def _add_dataset(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--dataset", type=dataset_spec, required=True, metavar="NAME",
                        help="iris, xor, spirals, ocr-letters:SPLIT (tiny, small, medium, large) or mnist")
