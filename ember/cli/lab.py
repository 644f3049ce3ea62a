"""``ember lab xor|grid|mnist|charrnn``: the backprop lab, and the character-level LSTM."""

from __future__ import annotations

import argparse
from collections.abc import Sequence
from typing import Any

from ember.cli.common import (
    add_data_dir,
    add_executor,
    add_out,
    add_quiet,
    add_seed,
    command,
    positive_float,
    positive_int,
    wrote,
)
from ember.recipes import charrnn, dense


def _layer_list(tokens: Sequence[str]) -> list[Any]:
    return [int(token) if token.isdigit() else token for token in tokens]


def _lab_xor(args: argparse.Namespace) -> int:
    dense.run_xor(dense.XorSettings(_layer_list(args.layers), args.learning_rate, args.iterations, args.weight_decay,
                                    args.init, args.seed), args.out)
    return 0


def _lab_grid(args: argparse.Namespace) -> int:
    dense.run_grid(dense.GridSettings(args.activations, args.learning_rates, args.inits, args.depths, args.seeds,
                                      args.iterations, args.executor, args.workers), args.out,
                   log=lambda line: print(line, flush=True))
    return 0


def _lab_mnist(args: argparse.Namespace) -> int:
    dense.run_mnist(dense.MnistSettings(_layer_list(args.layers), args.epochs, args.batch_size, args.learning_rate,
                                        args.train, args.seed, args.data_dir), args.out, progress=not args.quiet)
    return 0




def _lab_charrnn(args: argparse.Namespace) -> int:
    settings = charrnn.Settings(hidden=args.hidden, seq_length=args.seq_length, batch_size=args.batch_size,
                                epochs=args.epochs, seed=args.seed, temperature=args.temperature,
                                max_chars=args.max_chars, max_seconds=args.max_seconds, dtype=args.dtype,
                                max_norm=args.clip_grad_norm,
                                data_dir=args.data_dir)
    result = charrnn.run(settings, out=args.out, report=print)
    wrote(result.figure)
    return 0


def add_parsers(subparsers: Any) -> None:
    """Declare ``lab`` and its experiments ``xor``, ``grid``, ``mnist`` and ``charrnn``."""
    lab = command(subparsers, "lab", None,
                  help="the backprop lab: XOR with a dense network, the experiment grid, MNIST; a char-LSTM",
                  description="The backprop lab: 'ember lab xor', 'ember lab grid', 'ember lab mnist'; and "
                              "'ember lab charrnn', a character-level LSTM on Shakespeare.")
    experiments = lab.add_subparsers(dest="lab_command", metavar="EXPERIMENT", required=True)
    xor = command(experiments, "xor", _lab_xor,
                  help="train build_dense(2, [2, tanh, 1, sigmoid]) on XOR; plot its weights and decision regions",
                  description="Train a dense network on the four XOR points (inputs +-1) with the binary "
                              "cross-entropy and full-batch gradient descent; print the loss, the outputs and the "
                              "weights; write the loss curve, the weights as images and as a Hinton diagram, and "
                              "the decision regions.",
                  epilog="example:\n  ember lab xor --layers 2 tanh 1 sigmoid --weight-decay 0.001 --out figures/")
    xor_defaults = dense.XorSettings()
    xor.add_argument("--layers", nargs="+", default=[str(item) for item in xor_defaults.layers], metavar="LAYER",
                     help="numbers of units and activation names")
    xor.add_argument("--learning-rate", type=positive_float, default=xor_defaults.learning_rate, help="the step size")
    xor.add_argument("--iterations", type=positive_int, default=xor_defaults.iterations, help="full-batch steps")
    xor.add_argument("--weight-decay", type=float, default=xor_defaults.weight_decay,
                     help="lambda of the penalty lambda/2 ||W||^2")
    xor.add_argument("--init", choices=dense.INITIALISATIONS, default=xor_defaults.init, help="weight initialisation")
    add_seed(xor, "the initialisation", xor_defaults.seed)
    add_out(xor)

    grid = command(experiments, "grid", _lab_grid,
                   help="XOR over activations x learning rates x initialisations x depths: a table and heatmaps",
                   description="Train XOR networks for every combination of activation, learning rate, "
                               "initialisation and depth, several seeds each; print a table of the mean final loss "
                               "and the fraction of seeds that classify all four points, and write it as CSV and "
                               "heatmaps.")
    grid_defaults = dense.GridSettings()
    grid.add_argument("--activations", nargs="+", default=list(grid_defaults.activations),
                      choices=("tanh", "sigmoid", "relu", "requ"), metavar="NAME", help="hidden activations")
    grid.add_argument("--learning-rates", nargs="+", type=positive_float, default=list(grid_defaults.learning_rates),
                      metavar="RATE", help="step sizes")
    grid.add_argument("--inits", nargs="+", choices=dense.INITIALISATIONS, default=list(grid_defaults.inits),
                      metavar="INIT", help="weight initialisations")
    grid.add_argument("--depths", nargs="+", type=int, choices=(1, 2), default=list(grid_defaults.depths),
                      metavar="DEPTH",
                      help="hidden layers: 1 = [2], 2 = [4, 4]")
    grid.add_argument("--seeds", type=positive_int, default=grid_defaults.seeds,
                      help="initialisations per configuration")
    grid.add_argument("--iterations", type=positive_int, default=grid_defaults.iterations, help="full-batch steps")
    add_executor(grid, "the configurations")
    add_out(grid, "the CSV and the figures")

    mnist = command(experiments, "mnist", _lab_mnist,
                    help="softmax + categorical cross-entropy on MNIST (60k/10k when downloaded, else an 8k/2k "
                         "split of the shipped 10k images)",
                    description="The lab's optional part: a dense network with a softmax output and the categorical "
                                "cross-entropy, trained by mini-batch SGD on MNIST's 60,000 training images and "
                                "tested on its 10,000 test images when the training set has been downloaded ('ember "
                                "data download mnist'), else trained on 8,000 (--train) of the 10,000 shipped images "
                                "and tested on the others (the lab's target: 93% test accuracy).")
    add_data_dir(mnist)
    mnist_defaults = dense.MnistSettings()
    mnist.add_argument("--layers", nargs="+", default=[str(item) for item in mnist_defaults.layers], metavar="LAYER",
                       help="after the 784 inputs; must end with logsoftmax")
    mnist.add_argument("--epochs", type=positive_int, default=mnist_defaults.epochs,
                       help="passes over the training images")
    mnist.add_argument("--batch-size", type=positive_int, default=mnist_defaults.batch_size, help="examples per step")
    mnist.add_argument("--learning-rate", type=positive_float, default=mnist_defaults.learning_rate,
                       help="the SGD step")
    mnist.add_argument("--train", type=positive_int, default=mnist_defaults.train,
                       help="training images of the shipped 10,000 (when the 60,000 are not downloaded)")
    add_seed(mnist, "the split, initialisation and shuffling", mnist_defaults.seed)
    add_quiet(mnist)
    add_out(mnist, "the figure")

    chars = command(experiments, "charrnn", _lab_charrnn,
                    help="a character-level LSTM on tiny Shakespeare, truncated BPTT; bits per character, samples",
                    description="Train LookupTable -> LSTM -> Sequencer(Linear) with SequencerCriterion("
                                "CrossEntropyCriterion) on the shipped tiny Shakespeare text (the last 10% "
                                "validates) by truncated backpropagation through time, Adam and gradient-norm "
                                "clipping; print training and validation bits per character and a sample at a "
                                "temperature each epoch; write the loss plot. Deterministic for a seed.",
                    epilog="example:\n  ember lab charrnn --hidden 128 --seq-length 50 --epochs 5 --out figures/")
    add_data_dir(chars)
    chars.add_argument("--hidden", type=positive_int, default=charrnn.Settings.hidden, help="LSTM hidden size")
    chars.add_argument("--seq-length", type=positive_int, default=charrnn.Settings.seq_length,
                       help="characters per truncated-BPTT chunk")
    chars.add_argument("--batch-size", type=positive_int, default=charrnn.Settings.batch_size,
                       help="streams read side by side")
    chars.add_argument("--epochs", type=positive_int, default=charrnn.Settings.epochs, help="passes over the text")
    chars.add_argument("--clip-grad-norm", type=positive_float, default=charrnn.Settings.max_norm, metavar="MAX",
                       help="rescale each step's gradient to this Euclidean norm when larger")
    chars.add_argument("--temperature", type=positive_float, default=charrnn.Settings.temperature,
                       help="sampling temperature")
    chars.add_argument("--max-chars", type=positive_int, default=None, help="use only the text's first characters")
    chars.add_argument("--max-seconds", type=positive_float, default=None, help="stop training after this long")
    chars.add_argument("--dtype", choices=("float64", "float32"), default=charrnn.Settings.dtype,
                       help="the model's dtype")
    add_seed(chars, "the initialisation and sampling")
    add_out(chars)
