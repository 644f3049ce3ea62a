"""``ember neuralnet``: the OCR-letters homework, and ``ember neuralnet sweep``, its empirical questions."""

from __future__ import annotations

import argparse
import os
from typing import Any

from ember.cli.common import (
    Parser,
    UsageError,
    add_data_dir,
    add_executor,
    add_out,
    add_quiet,
    add_seed,
    check_outputs,
    command,
    guard,
    nonnegative_int,
    positive_float,
    positive_int,
)
from ember.recipes import ocr

#: the relative error under which a whole-model gradient check passes.
GRADIENT_TOLERANCE = 1e-6


NEURALNET_DESCRIPTION = """\
The OCR-letters homework: a one-hidden-layer network (sigmoid hidden layer, softmax output,
mean cross-entropy) trained by SGD one example at a time, in the order of the training file.
Prints and writes, for each epoch, the mean cross-entropy on the training and test sets, then
the error rates, and writes the predicted label of every training and test example.

Output files:
  TRAIN_OUT, TEST_OUT   one predicted label per line
  METRICS_OUT           epoch=E crossentropy(train): V
                        epoch=E crossentropy(test): V      (for E = 1 .. NUM_EPOCH)
                        error(train): V
                        error(test): V
"""

NEURALNET_EPILOG = """\
The empirical questions (hidden units 5, 20, 50, 100, 200 x learning rates 0.1, 0.01, 0.001):
  ember neuralnet sweep --split small --epochs 100 --out sweep/      (see 'ember neuralnet sweep --help')

examples:
  ember neuralnet small_train.csv small_test.csv train.labels test.labels metrics.txt 2 4 2 0.1
  ember neuralnet $EMBER_DATA_DIR/ocr-letters/small_train.csv $EMBER_DATA_DIR/ocr-letters/small_test.csv \\
      train.labels test.labels metrics.txt 10 50 1 0.01 --check-gradient --plot-dir figures/
  ember neuralnet small_train.csv small_test.csv train.labels test.labels metrics.txt 2 4 2 0.1 \\
      --init-weights alpha.csv beta.csv
"""

SWEEP_DESCRIPTION = """\
The homework's empirical questions: train the OCR network for every number of hidden units and
every learning rate, record the mean train and test cross-entropy after each epoch, and write
  sweep.csv                                 one line per (hidden units, learning rate, epoch); the
                                            final error rates on each run's last line
  crossentropy_vs_hidden_units.png          last-epoch cross-entropy against hidden units
  crossentropy_vs_epoch_lr<RATE>.png        cross-entropy against epoch, one figure per learning rate
into --out. The data are a split of the shipped OCR letters (--split) or two CSV files
(--train and --test).
"""


def _init_flag(text: str) -> bool:
    """INIT_FLAG: 1 (RANDOM) → True, 2 (ZERO) → False."""
    if text.strip() == "1":
        return True
    if text.strip() == "2":
        return False
    raise argparse.ArgumentTypeError(f"INIT_FLAG must be 1 (random) or 2 (zero), got {text!r}")


def neuralnet_parser() -> argparse.ArgumentParser:
    """The parser of ``ember neuralnet TRAIN_CSV … LEARNING_RATE``."""
    parser = Parser(prog="ember neuralnet", description=NEURALNET_DESCRIPTION, epilog=NEURALNET_EPILOG)
    parser.add_argument("train_csv", metavar="TRAIN_CSV", help="training data: label, then the pixels, per line")
    parser.add_argument("test_csv", metavar="TEST_CSV", help="test data, same format")
    parser.add_argument("train_out", metavar="TRAIN_OUT", help="file for the predicted training labels")
    parser.add_argument("test_out", metavar="TEST_OUT", help="file for the predicted test labels")
    parser.add_argument("metrics_out", metavar="METRICS_OUT", help="file for the cross-entropies and error rates")
    parser.add_argument("num_epoch", metavar="NUM_EPOCH", type=nonnegative_int, help="passes over the training data")
    parser.add_argument("hidden_units", metavar="HIDDEN_UNITS", type=positive_int, help="units in the hidden layer")
    parser.add_argument("init_rand", metavar="INIT_FLAG", type=_init_flag,
                        help="1: RANDOM (weights uniform(-0.1, 0.1), biases 0); 2: ZERO (everything 0)")
    parser.add_argument("learning_rate", metavar="LEARNING_RATE", type=positive_float, help="the SGD step")
    parser.add_argument("--check-gradient", action="store_true",
                        help="before training, compare the network's backprop gradient with centred finite "
                             "differences on the first 5 training examples (exit 1 if they differ)")
    parser.add_argument("--init-weights", nargs=2, metavar=("ALPHA_CSV", "BETA_CSV"), default=None,
                        help="start from these weights instead of INIT_FLAG's (the homework's debugging runs): "
                             "alpha (HIDDEN_UNITS rows, 1 + features columns) and beta (10 rows, 1 + "
                             "HIDDEN_UNITS columns), comma-separated, the bias in column 0")
    add_seed(parser, "the RANDOM initialisation")
    parser.add_argument("--fast", action="store_true",
                        help="train with ember.fast's compiled kernel (needs numba: pip install 'ember[fast]'); "
                             "the same metrics to the printed digits, many times faster")
    parser.add_argument("--plot-dir", metavar="DIR", default=None,
                        help="also write figures there: the loss curves, the test letters with their "
                             "predictions, the hidden layer's weights")
    add_quiet(parser, "do not print the per-epoch cross-entropies")
    return parser


def sweep_parser() -> argparse.ArgumentParser:
    """The parser of ``ember neuralnet sweep``."""
    parser = Parser(prog="ember neuralnet sweep", description=SWEEP_DESCRIPTION,
                    epilog="example:\n  ember neuralnet sweep --split small --epochs 5 --out sweep/")
    defaults = ocr.SweepSettings()
    parser.add_argument("--split", choices=("tiny", "small", "medium", "large"), default=defaults.split,
                        help="the OCR-letters split")
    add_data_dir(parser)
    parser.add_argument("--train", metavar="CSV", default=None, help="training CSV instead of --split")
    parser.add_argument("--test", metavar="CSV", default=None, help="test CSV instead of --split")
    parser.add_argument("--epochs", type=positive_int, default=defaults.epochs, help="epochs per run")
    parser.add_argument("--hidden", type=positive_int, nargs="+", default=list(defaults.hidden), metavar="N",
                        help="hidden-layer sizes")
    parser.add_argument("--learning-rates", type=positive_float, nargs="+", default=list(defaults.learning_rates),
                        metavar="RATE", help="learning rates")
    parser.add_argument("--init", choices=("random", "zero"), default="random", help="initialisation")
    add_seed(parser, "every run's initialisation", defaults.seed)
    add_executor(parser)
    add_out(parser, "the CSV and the figures")
    return parser


def cmd_neuralnet(args: argparse.Namespace) -> int:
    """``ember neuralnet …`` and ``ember neuralnet sweep …``: parse the words with the parser the first names."""
    rest = list(args.rest)
    parser, handler = (sweep_parser(), _sweep) if rest[:1] == ["sweep"] else (neuralnet_parser(), _neuralnet)
    try:
        own = parser.parse_args(rest[1:] if handler is _sweep else rest)
    except SystemExit as done:  # --help (0) or a usage error (2), already printed
        return done.code if isinstance(done.code, int) else 2
    return guard(parser.prog, handler, own)


def _neuralnet(args: argparse.Namespace) -> int:
    alpha, beta = args.init_weights or (None, None)
    check_outputs({"TRAIN_CSV": args.train_csv, "TEST_CSV": args.test_csv, "ALPHA_CSV": alpha, "BETA_CSV": beta},
                  {"TRAIN_OUT": args.train_out, "TEST_OUT": args.test_out, "METRICS_OUT": args.metrics_out})
    settings = ocr.Settings(args.train_csv, args.test_csv, args.train_out, args.test_out, args.metrics_out,
                            args.num_epoch, args.hidden_units, args.init_rand, args.learning_rate,
                            check_gradient=args.check_gradient, seed=args.seed, fast=args.fast,
                            init_weights=args.init_weights and tuple(args.init_weights))

    def progress(epoch: int, train_loss: float, test_loss: float) -> None:
        if not args.quiet:
            print(f"epoch={epoch} crossentropy(train): {train_loss}")
            print(f"epoch={epoch} crossentropy(test): {test_loss}")

    return 0 if ocr.run(settings, args.plot_dir, progress=progress).ok else 1


def _sweep(args: argparse.Namespace) -> int:
    if (args.train is None) != (args.test is None):
        raise UsageError("give both --train and --test, or neither (then --split is used)")
    check_outputs({"--train": args.train, "--test": args.test},
                  {"--out's sweep.csv": os.path.join(args.out, "sweep.csv")})
    settings = ocr.SweepSettings(args.split, args.data_dir, args.train, args.test, args.epochs, args.hidden,
                                 args.learning_rates, args.init == "random", args.seed, args.executor, args.workers)
    ocr.run_sweep(settings, args.out, log=lambda line: print(line, flush=True))
    return 0


def add_parsers(subparsers: Any) -> None:
    """Declare ``neuralnet``: it takes the homework's nine words or ``sweep …``, so it collects every word
    and parses them with one of two full parsers (``ember neuralnet --help`` shows the homework's usage).
    """
    neuralnet = command(
        subparsers, "neuralnet", cmd_neuralnet, add_help=False, prefix_chars="\0",
        usage="ember neuralnet TRAIN_CSV TEST_CSV TRAIN_OUT TEST_OUT METRICS_OUT NUM_EPOCH HIDDEN_UNITS INIT_FLAG "
              "LEARNING_RATE [options]\n       ember neuralnet sweep [options]",
        help="the OCR-letters homework: one hidden layer, per-example SGD; 'neuralnet sweep' for its questions")
    neuralnet.add_argument("rest", nargs=argparse.REMAINDER)
