"""``ember lab xor|grid|mnist``: the backprop lab."""

from __future__ import annotations

import argparse
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from ember import data, plot
from ember.cli.common import add_data_dir, add_out, add_quiet, add_seed, command, positive_float, positive_int, wrote
from ember.recipes import dense


def _layer_list(tokens: Sequence[str]) -> list[Any]:
    return [int(token) if token.isdigit() else token for token in tokens]


def _lab_xor(args: argparse.Namespace) -> int:
    layers = _layer_list(args.layers)
    every = max(1, args.iterations // 10)

    def progress(iteration: int, loss: float) -> None:
        if iteration % every == 0 or iteration == 1:
            print(f"iteration {iteration:4d}  loss {loss:.6f}")

    print(f"XOR with build_dense(2, {layers}), binary cross-entropy, gradient descent (learning rate "
          f"{args.learning_rate:g}, {args.iterations} iterations, weight decay {args.weight_decay:g}, "
          f"{args.init} initialisation, seed {args.seed})")
    result = dense.train_xor(layers, learning_rate=args.learning_rate, iterations=args.iterations,
                             weight_decay=args.weight_decay, init=args.init, seed=args.seed, progress=progress)
    print(result.model)
    print("  x1  x2  target  output")
    for (x1, x2), target, p in zip(dense.XOR_X, dense.XOR_Y[:, 0], result.probabilities):
        print(f"  {x1:+.0f}  {x2:+.0f}  {target:6.0f}  {p:.4f}")
    print(f"all four predictions correct: {'yes' if result.correct else 'no'}")
    weights = dense.linear_weights(result.model)
    for name, value in weights.items():
        print(f"{name} = {np.array2string(value, precision=4)}")
    out = Path(args.out)
    wrote(plot.loss_curves(out / "xor-loss.png", result.losses, xlabel="iteration", ylabel="binary cross-entropy",
                             title="XOR: training loss"))
    wrote(plot.weight_images(out / "xor-weights.png", weights, title="XOR network: weights and biases"))
    wrote(plot.hinton(out / "xor-hinton.png", {k: v for k, v in weights.items() if k.startswith("W")},
                        title="XOR network: Hinton diagram (white > 0, black < 0)"))
    wrote(plot.decision_regions(out / "xor-decision.png", lambda Z: result.model.forward(Z).copy(), dense.XOR_X,
                                  dense.XOR_Y[:, 0].astype(int), feature_names=("x1", "x2"),
                                  class_names=("0", "1"), margin=0.5, title="XOR: decision regions"))
    return 0


def _lab_grid(args: argparse.Namespace) -> int:
    total = len(args.activations) * len(args.learning_rates) * len(args.inits) * len(args.depths)
    print(f"XOR experiment grid: {total} configurations x {args.seeds} seeds, {args.iterations} iterations each")
    rows = dense.experiment_grid(args.activations, args.learning_rates, args.inits, args.depths, seeds=args.seeds,
                                 iterations=args.iterations)
    print(dense.grid_table(rows))
    out = Path(args.out)
    print(f"wrote {dense.write_grid_csv(out / 'xor-grid.csv', rows)}")
    wrote(dense.plot_grid(out / "xor-grid-solved.png", rows, "solved"))
    wrote(dense.plot_grid(out / "xor-grid-loss.png", rows, "final_loss"))
    return 0


def _lab_mnist(args: argparse.Namespace) -> int:
    X, y = data.mnist(data_dir=args.data_dir)
    layers = _layer_list(args.layers)
    print(f"MNIST: {len(X)} images, {args.train} for training and {len(X) - args.train} for testing; "
          f"build_dense(784, {layers}), softmax + categorical cross-entropy (LogSoftMax + ClassNLL), "
          f"SGD learning rate {args.learning_rate:g}, batches of {args.batch_size}, {args.epochs} epochs")
    result = dense.train_mnist(X, y, layers=layers, epochs=args.epochs, batch_size=args.batch_size,
                               learning_rate=args.learning_rate, n_train=args.train, seed=args.seed,
                               progress=not args.quiet)
    for epoch, (loss, val_loss) in enumerate(zip(result.history["loss"], result.history["val_loss"]), start=1):
        print(f"epoch {epoch:3d}  train loss {loss:.4f}  test loss {val_loss:.4f}  "
              f"test accuracy {100 * result.history['val_accuracy'][epoch - 1]:.2f}%")
    print(f"train accuracy {100 * result.train_accuracy:.2f}%, test accuracy {100 * result.test_accuracy:.2f}% "
          f"(the lab's target: 93%: {'reached' if result.test_accuracy >= 0.93 else 'not reached'})")
    wrote(plot.loss_curves(Path(args.out) / "mnist-loss.png", result.history["loss"], result.history["val_loss"],
                             ylabel="categorical cross-entropy", title="MNIST: loss per epoch (validation = test)"))
    return 0




def add_parsers(subparsers: Any) -> None:
    """Declare ``lab`` and its experiments ``xor``, ``grid`` and ``mnist``."""
    lab = command(subparsers, "lab", None,
                  help="the backprop lab: XOR with a dense network, the experiment grid, MNIST",
                  description="The backprop lab: 'ember lab xor', 'ember lab grid', 'ember lab mnist'.")
    experiments = lab.add_subparsers(dest="lab_command", metavar="EXPERIMENT", required=True)
    xor = command(experiments, "xor", _lab_xor,
                  help="train build_dense(2, [2, tanh, 1, sigmoid]) on XOR; plot its weights and decision regions",
                  description="Train a dense network on the four XOR points (inputs +-1) with the binary "
                              "cross-entropy and full-batch gradient descent; print the loss, the outputs and the "
                              "weights; write the loss curve, the weights as images and as a Hinton diagram, and "
                              "the decision regions.",
                  epilog="example:\n  ember lab xor --layers 2 tanh 1 sigmoid --weight-decay 0.001 --out figures/")
    xor.add_argument("--layers", nargs="+", default=[str(item) for item in dense.XOR_LAYERS], metavar="LAYER",
                     help="numbers of units and activation names")
    xor.add_argument("--learning-rate", type=positive_float, default=dense.XOR_LEARNING_RATE, help="the step size")
    xor.add_argument("--iterations", type=positive_int, default=dense.XOR_ITERATIONS, help="full-batch steps")
    xor.add_argument("--weight-decay", type=float, default=0.0, help="lambda of the penalty lambda/2 ||W||^2")
    xor.add_argument("--init", choices=dense.INITIALISATIONS, default="glorot", help="weight initialisation")
    add_seed(xor, "the initialisation", dense.XOR_SEED)
    add_out(xor)

    grid = command(experiments, "grid", _lab_grid,
                   help="XOR over activations x learning rates x initialisations x depths: a table and heatmaps",
                   description="Train XOR networks for every combination of activation, learning rate, "
                               "initialisation and depth, several seeds each; print a table of the mean final loss "
                               "and the fraction of seeds that classify all four points, and write it as CSV and "
                               "heatmaps.")
    grid.add_argument("--activations", nargs="+", default=list(dense.GRID_ACTIVATIONS),
                      choices=("tanh", "sigmoid", "relu", "requ"), metavar="NAME", help="hidden activations")
    grid.add_argument("--learning-rates", nargs="+", type=positive_float, default=list(dense.GRID_LEARNING_RATES),
                      metavar="RATE", help="step sizes")
    grid.add_argument("--inits", nargs="+", choices=dense.INITIALISATIONS, default=list(dense.GRID_INITIALISATIONS),
                      metavar="INIT", help="weight initialisations")
    grid.add_argument("--depths", nargs="+", type=int, choices=(1, 2), default=[1, 2], metavar="DEPTH",
                      help="hidden layers: 1 = [2], 2 = [4, 4]")
    grid.add_argument("--seeds", type=positive_int, default=5, help="initialisations per configuration")
    grid.add_argument("--iterations", type=positive_int, default=dense.XOR_ITERATIONS, help="full-batch steps")
    add_out(grid, "the CSV and the figures")

    mnist = command(experiments, "mnist", _lab_mnist,
                    help="softmax + categorical cross-entropy on MNIST (8k/2k split of the shipped 10k images)",
                    description="The lab's optional part: a dense network with a softmax output and the categorical "
                                "cross-entropy, trained by mini-batch SGD on 8,000 of the 10,000 shipped MNIST images "
                                "and tested on the other 2,000 (the lab's target: 93% test accuracy).")
    add_data_dir(mnist)
    mnist.add_argument("--layers", nargs="+", default=[str(item) for item in dense.MNIST_LAYERS], metavar="LAYER",
                       help="after the 784 inputs; must end with logsoftmax")
    mnist.add_argument("--epochs", type=positive_int, default=10, help="passes over the training images")
    mnist.add_argument("--batch-size", type=positive_int, default=32, help="examples per step")
    mnist.add_argument("--learning-rate", type=positive_float, default=0.1, help="the SGD step")
    mnist.add_argument("--train", type=positive_int, default=dense.MNIST_TRAIN, help="training images")
    add_seed(mnist, "the split, initialisation and shuffling")
    add_quiet(mnist)
    add_out(mnist, "the figure")
