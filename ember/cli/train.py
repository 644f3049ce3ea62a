"""``ember train``, ``ember evaluate`` and ``ember predict``: train a classifier, score it, use it."""

from __future__ import annotations

import argparse
import sys
from dataclasses import fields
from typing import Any

from ember import data, models
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
from ember.optim import schedules
from ember.recipes import train as recipe

#: the options of ``ember train`` that are fields of :class:`ember.recipes.train.Settings` under the same name.
SETTINGS = {f.name for f in fields(recipe.Settings)} - {"model", "trust", "progress"}


def dataset_spec(text: str) -> str:
    """The argparse type of ``--dataset``: a name :func:`ember.data.load` knows."""
    try:
        data.check_spec(text)
    except ValueError as error:
        raise argparse.ArgumentTypeError(str(error)) from None
    return text


def batch_size_arg(text: str) -> int | str:
    """The argparse type of ``--batch-size``: a positive integer, or ``full`` (one batch of everything)."""
    if text.lower() in ("full", "all"):
        return "full"
    return positive_int(text)


def delimiter_arg(text: str) -> str:
    """The argparse type of ``--delimiter``: one character; ``tab`` (or backslash-t) for a tab."""
    value = "\t" if text in ("tab", "\\t") else text
    if len(value) != 1:
        raise argparse.ArgumentTypeError(f"expected one character (or 'tab'), got {text!r}")
    return value


def label_column_arg(text: str) -> int | str:
    """The argparse type of ``--label-column``: a 0-based index, or a header name."""
    try:
        return int(text)
    except ValueError:
        return text


# -- train ------------------------------------------------------------------------------------

def model_arg(text: str) -> str:
    """The argparse type of ``--model``: mlp, lenet, ``FILE.py:Class`` or a saved ``MODEL.safetensors``."""
    if text in recipe.MODEL_DEFAULTS or ".py:" in text or text.endswith(".safetensors"):
        return text
    raise argparse.ArgumentTypeError(f"invalid choice: {text!r} (choose mlp, lenet, FILE.py:Class or a saved "
                                     f"MODEL.safetensors)")


def _train(args: argparse.Namespace) -> int:
    check_outputs({"--data": args.data, "--test": args.test},
                  {"--save": args.save, "--checkpoint": args.checkpoint, "--log": args.log})
    model: Any = args.model
    if ".py:" in model:
        from ember.cli.classes import load_module_class

        model = load_module_class(model)[0]
    settings = recipe.Settings(**{name: value for name, value in vars(args).items() if name in SETTINGS},
                               model=model, trust=_trusted(args), progress=not args.quiet)
    try:
        recipe.run(settings)
    except recipe.SettingsError as error:
        raise UsageError(str(error)) from None
    return 0


# -- evaluate ---------------------------------------------------------------------------------

def _trusted(args: argparse.Namespace) -> list[type]:
    """The module classes named by ``--trust FILE.py:Class`` (repeatable), which the model file may use."""
    from ember.cli.classes import load_module_class

    return [load_module_class(spec)[0] for spec in args.trust or ()]


def _evaluate(args: argparse.Namespace) -> int:
    settings = recipe.EvaluateSettings(args.model, args.dataset, args.data_dir, args.split, args.seed, _trusted(args))
    try:
        recipe.run_evaluate(settings)
    except recipe.SettingsError as error:
        raise UsageError(str(error)) from None
    return 0


# -- predict ----------------------------------------------------------------------------------

def _predict(args: argparse.Namespace) -> int:
    result = recipe.run_predict(recipe.PredictSettings(args.model, args.csv, args.label_column, args.proba,
                                                       _trusted(args)))
    sys.stdout.write("\n".join(result.lines) + "\n")
    if result.accuracy is not None:
        print(f"accuracy against column {args.label_column}: {100 * result.accuracy:.2f}% ({result.rows} rows)",
              file=sys.stderr)
    return 0


# -- registration -----------------------------------------------------------------------------

TRAIN_DESCRIPTION = """\
Train a classifier on a dataset: the --model network, with the criterion that
suits its output (ClassNLL after LogSoftMax, BCE after Sigmoid, else
cross-entropy; MSE with --regression). Shows a progress bar when stderr is a terminal, prints a table of the
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
  FILE.py:Class       a Module class of your own (or a function returning a
         Module), built as Class(n_features, n_outputs); it trains with the mlp's
         defaults, and the checkpoints of --resume hold it.
  MODEL.safetensors   a model saved by --save (or ember.io.save), trained further;
         a class of your own in it must be named with --trust FILE.py:Class.
The whole workflow is one library call: ember.recipes.train.run(Settings(...)).

datasets:
  iris               Fisher's Iris, 150 x 4, 3 classes (shipped with ember)
  xor                the 4 corners of the square, 2 classes
  spirals            3 interleaved spirals, 300 x 2 (generated from --seed)
  ocr-letters:SPLIT  handwritten letters, 128 pixels, 10 classes, with a test set;
                     SPLIT is tiny, small, medium or large
  mnist              the 10k MNIST test digits, 784 pixels, 10 classes
Datasets come with ember (see 'ember data list'); --data-dir or $EMBER_DATA_DIR
reads them from another directory. --data reads your own CSV file instead.
"""

TRAIN_EPILOG = """\
examples:
  ember train --dataset iris --hidden 10 --optimizer adagrad --lr 0.1 --epochs 50
  ember train --data train.csv --test test.csv --header --label-column species --schedule cosine --log run.csv
  ember train --data houses.csv --regression --label-column -1 --optimizer adam --early-stopping 10
  ember train --dataset ocr-letters:small --hidden 50 --lr 0.1 --epochs 5 --no-shuffle --save ocr.safetensors
  ember train --dataset spirals --hidden 100 --activation relu --optimizer adam --batch-size 32 --epochs 100
  ember train --dataset mnist --model lenet --save lenet.safetensors
  ember train --dataset iris --model my_layers.py:ScaledNet --checkpoint run.ckpt.safetensors
  ember train --dataset iris --model mine.safetensors --trust my_layers.py:Scale --epochs 5
  ember train --dataset mnist --model lenet --limit 1000 --epochs 1    # a quick try
  mpiexec -n 4 ember train --dataset mnist --model lenet --distributed --checkpoint run.ckpt.safetensors
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
             for name, value in recipe.MODEL_DEFAULTS[model].items() if value}
    return ", ".join(f"--{name.replace('_', '-')} {value}" for name, value in shown.items())


def _default(name: str) -> str:
    """``mlp: 0.01; lenet: 0.001``: the defaults of setting ``name`` by model, for a help string."""
    values = {model: settings[name] for model, settings in recipe.MODEL_DEFAULTS.items() if name in settings}
    shown = "; ".join(f"{model}: {' '.join(map(str, v)) if isinstance(v, list) else v or 'none'}"
                      for model, v in values.items())
    return f"(default: {shown})"


def add_parsers(subparsers: Any) -> None:
    """Declare ``train``, ``evaluate`` and ``predict``."""
    train = command(subparsers, "train", _train, help="train a classifier on a dataset, print its metrics, save it",
                    description=TRAIN_DESCRIPTION.format(mlp=_model_defaults("mlp"), lenet=_model_defaults("lenet")),
                    epilog=TRAIN_EPILOG)
    source = train.add_mutually_exclusive_group(required=True)
    source.add_argument("--dataset", type=dataset_spec, metavar="NAME",
                        help="iris, xor, spirals, ocr-letters:SPLIT (tiny, small, medium, large) or mnist")
    source.add_argument("--data", metavar="CSV", help="your own training data: a CSV file, one example per row")
    train.add_argument("--test", metavar="CSV", help="a test set for --data, in the same format")
    train.add_argument("--label-column", type=label_column_arg, default=0, metavar="INDEX|NAME",
                       help="the column of --data holding the target (0-based; negative from the end; a name "
                            "with --header)")
    train.add_argument("--header", action="store_true", help="the first row of --data (and --test) names the columns")
    train.add_argument("--delimiter", type=delimiter_arg, default=",", metavar="C",
                       help="the field separator of --data ('tab' for a tab)")
    train.add_argument("--regression", action="store_true",
                       help="the --data targets are real values: an mlp without LogSoftMax and MSECriterion")
    add_data_dir(train)
    # The training settings default to argparse.SUPPRESS: absent from the namespace unless given, and then
    # filled in with --model's defaults (ember.recipes.train.MODEL_DEFAULTS) by the recipe.
    unset = argparse.SUPPRESS
    train.add_argument("--model", type=model_arg, default="mlp", metavar="{mlp,lenet}|FILE.py:Class|MODEL.safetensors",
                       help="the network: mlp (Linear layers), lenet (a CNN for mnist), a Module class of your own "
                            "(built as Class(n_features, n_outputs)) or a saved model to train further; see above")
    train.add_argument("--hidden", type=nonnegative_int, nargs="+", default=unset, metavar="N",
                       help=f"mlp hidden layer sizes, several for a deeper network, 0 alone for none "
                            f"{_default('hidden')}")
    train.add_argument("--activation", choices=sorted(models.ACTIVATIONS), default=unset,
                       help=f"the mlp hidden layers' non-linearity {_default('activation')}")
    train.add_argument("--optimizer", choices=recipe.OPTIMIZERS, default=unset,
                       help=f"an ember.optim optimizer {_default('optimizer')}")
    train.add_argument("--lr", type=positive_float, default=unset, help=f"learning rate {_default('lr')}")
    train.add_argument("--lr-decay", type=positive_float, default=unset, metavar="D",
                       help=f"learning-rate decay, the step size at step t is lr / (1 + t*D); "
                            f"{', '.join(recipe.LR_DECAY_OPTIMIZERS)} only {_default('lr_decay')}")
    train.add_argument("--momentum", type=unit_fraction, default=0.0, metavar="M", help="momentum, sgd only")
    train.add_argument("--clip-grad-norm", type=positive_float, default=None, metavar="MAX",
                       help="rescale each step's gradient to this Euclidean norm when larger (PyTorch's "
                            "clip_grad_norm_) (if not given: no clipping)")
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
    train.add_argument("--schedule", choices=tuple(schedules.SCHEDULES), default=None,
                       help="a learning-rate schedule stepped after each epoch (ember.optim.schedules; cosine "
                            "anneals over --epochs) (if not given: constant)")
    train.add_argument("--early-stopping", type=positive_int, nargs="?", const=5, default=None, metavar="PATIENCE",
                       help="stop when the validation loss (else the training loss) has not improved for PATIENCE "
                            "epochs (5 if not given) and keep the best epoch's parameters")
    train.add_argument("--log", metavar="CSV", help="write a training log: one row per epoch with every metric, "
                                                    "the learning rate and the time")
    add_seed(train, "the initialisation, shuffling, split and generated data")
    train.add_argument("--save", metavar="PATH", help="write the trained model to PATH (.safetensors)")
    train.add_argument("--checkpoint", metavar="PATH", help="write a checkpoint to PATH after every epoch")
    train.add_argument("--resume", metavar="PATH",
                       help="continue from a checkpoint (same arguments; --epochs is the total)")
    train.add_argument("--trust", action="append", metavar="FILE.py:Class",
                       help="a module class of your own that a saved --model (and so its --resume checkpoint) "
                            "uses (repeatable); nothing else the file names is imported or run")
    train.add_argument("--distributed", action="store_true",
                       help="data-parallel on the ranks of an MPI job (mpiexec -n R ember train ... --distributed; "
                            "pip install 'ember[mpi]'): each batch is cut into micro-batches summed in a fixed "
                            "order, so any number of ranks gives the same model; rank 0 prints and saves")
    train.add_argument("--micro-batch", type=positive_int, default=32, metavar="N",
                       help="with --distributed: examples per micro-batch (the results depend on it, not on R)")
    train.add_argument("--allreduce", action="store_true",
                       help="with --distributed: one Allreduce per step instead of the fixed tree (faster; "
                            "the rounding then depends on the number of ranks)")
    add_quiet(train)

    evaluate_parser = command(subparsers, "evaluate", _evaluate, description=EVALUATE_DESCRIPTION,
                              epilog=EVALUATE_EPILOG,
                              help="loss, accuracy and confusion matrix of a saved model on a dataset")
    evaluate_parser.add_argument("model", help="a .safetensors model file")
    _add_trust(evaluate_parser)
    _add_dataset(evaluate_parser)
    add_data_dir(evaluate_parser)
    evaluate_parser.add_argument("--split", choices=("train", "test", "all"), default=None,
                                 help="evaluate only this part (if not given: every part the dataset has)")
    add_seed(evaluate_parser, "generated data (spirals)")

    predict_parser = command(subparsers, "predict", _predict, description=PREDICT_DESCRIPTION,
                             epilog=PREDICT_EPILOG,
                             help="print a saved model's predicted label for each row of a CSV file")
    predict_parser.add_argument("model", help="a .safetensors model file")
    _add_trust(predict_parser)
    predict_parser.add_argument("csv", help="a CSV file of features, one example per row, no header")
    predict_parser.add_argument("--label-column", type=int, default=None, metavar="INDEX",
                                help="0-based index of a column of true labels, left out of the features")
    predict_parser.add_argument("--proba", action="store_true",
                                help="print comma-separated class probabilities instead of labels")


def _add_trust(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--trust", action="append", metavar="FILE.py:Class",
                        help="a module class of your own that the model file uses (repeatable); nothing else "
                             "the file names is imported or run")


def _add_dataset(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--dataset", type=dataset_spec, required=True, metavar="NAME",
                        help="iris, xor, spirals, ocr-letters:SPLIT (tiny, small, medium, large) or mnist")
