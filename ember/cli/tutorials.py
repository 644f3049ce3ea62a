"""``ember demo``, ``ember iris`` and ``ember tour``: the Torch practicals and tutorial."""

from __future__ import annotations

import argparse
import os
import time
from pathlib import Path
from typing import Any

from ember import check, data, optim, plot
from ember.cli.common import UsageError, add_data_dir, add_out, add_seed, command, positive_float, positive_int, wrote
from ember.metrics import ConfusionMatrix
from ember.recipes import iris, tour
from ember.train import evaluate, fit, predict

#: the relative error under which a whole-model gradient check passes.
GRADIENT_TOLERANCE = 1e-6


DEMO_DESCRIPTION = """\
Train the Iris classifier of the Torch practical "implementing your own layer":
linear (4 -> hidden) -> sigmoid or ReQU -> linear (hidden -> 3) -> LogSoftMax,
ClassNLL loss, full-batch adagrad with learning rate 0.1, parameters initialised
uniform(-0.01, 0.01) (biases moved to about +0.5 with ReQU). Shows a progress bar,
runs the whole-model finite-difference gradient check, prints the accuracy and a
confusion matrix, and writes the training-loss plot iris-loss-NONLINEARITY.png,
printing its path.

Iris is the UCI file shipped with ember (or $EMBER_DATA_DIR/iris/iris.data.csv when
EMBER_DATA_DIR is set). Exit status 1 if the gradient check fails.
"""

DEMO_EPILOG = """\
examples:
  ember demo
  ember demo --nonlinearity requ --out figures/
"""

def _demo(args: argparse.Namespace) -> int:
    started = time.perf_counter()
    X, y = data.iris()
    source = (f"{os.environ['EMBER_DATA_DIR']}/iris" if os.environ.get("EMBER_DATA_DIR")
              else "the UCI file shipped with ember")
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

    matrix = ConfusionMatrix(list(iris.CLASS_NAMES))
    matrix.batch_add(predict(model, X), y)
    print(matrix)

    out = Path(args.out)
    path = plot.loss_curves(out / f"iris-loss-{args.nonlinearity}.png", history["loss"],
                            title=f"Iris, {args.nonlinearity} hidden layer: training loss (ClassNLL)")
    print(f"loss plot: {path.resolve()}")
    print(f"done in {time.perf_counter() - started:.1f} s")
    return 0 if passed else 1


IRIS_DESCRIPTION = """\
The "implement your own layer" practical on Iris: the network linear -> non-linearity ->
linear -> LogSoftMax with the ClassNLL criterion, trained full batch by adagrad (learning
rate 0.1, parameters uniform(-0.01, 0.01), biases +0.5 for ReQU), once with a sigmoid and
once with ReQU (z = x^2 for x > 0, else 0). For each: the loss during training, the training
accuracy, and the whole-model gradient check on fake data (5 random inputs, random targets)
as the symmetric relative error ||g1 - g2|| / ||g1 + g2||. Then the two-sided Jacobian check
of the ReQU module. Figures: both loss curves, each model's decision regions over two
features (the others held at their mean), the ReQU Jacobians. Exit status 1 if a check fails.
"""


def _iris(args: argparse.Namespace) -> int:
    X, y = data.iris(args.data_dir)
    fx, fy = args.features
    if not (0 <= fx < 4 and 0 <= fy < 4) or fx == fy:
        raise UsageError(f"--features must be two different feature indices in 0..3, got {fx} {fy}")
    print(f"Iris: {len(X)} examples, {X.shape[1]} features, {int(y.max()) + 1} classes")
    out = Path(args.out)
    curves: dict[str, list[float]] = {}
    passed = True
    for name in ("sigmoid", "requ"):
        model, criterion = iris.create_model(name, n_hidden=args.hidden, rng=args.seed)
        print(f"\n{name}: {model} with {criterion.describe()}")
        every = max(1, args.iterations // 10)

        def progress(iteration: int, loss: float, every: int = every) -> None:
            if iteration % every == 0 or iteration == 1:
                print(f"  iteration {iteration:5d}  loss {loss:.6f}")

        curves[name] = iris.train(model, criterion, X, y, args.iterations, args.learning_rate, progress)
        print(f"  training accuracy: {100 * iris.accuracy(model, X, y):.2f}%")
        error = iris.gradient_check(name, seed=args.seed)
        ok = error < GRADIENT_TOLERANCE
        passed &= ok
        print(f"  gradient check (fake data: 5 inputs, random targets): symmetric relative error {error:.3e} "
              f"-> {'ok' if ok else 'FAILED'} (threshold {GRADIENT_TOLERANCE:g})")
        wrote(plot.decision_regions(out / f"iris-regions-{name}.png", lambda Z, m=model: iris.predict(m, Z), X, y,
                                      (fx, fy), feature_names=iris.FEATURE_NAMES, class_names=iris.CLASS_NAMES,
                                      title=f"Iris, {name}: decision regions (other features at their mean)"))
    wrote(plot.line_plot(out / "iris-loss.png", curves, xlabel="iteration", ylabel="loss (ClassNLL)",
                           title="Iris: training loss, sigmoid vs ReQU", log_y=True))
    jacobian = iris.requ_jacobian(size=args.jacobian_size, seed=args.seed)
    ok = jacobian.error < GRADIENT_TOLERANCE
    passed &= ok
    print(f"\nReQU Jacobian check ({jacobian.analytic.shape[0]}x{jacobian.analytic.shape[1]}, two-sided "
          f"differences): max |backprop - numeric| = {jacobian.error:.3e} -> {'ok' if ok else 'FAILED'}")
    wrote(plot.jacobian_heatmap(out / "requ-jacobian.png", jacobian.analytic, jacobian.numeric,
                                  title="ReQU Jacobian"))
    return 0 if passed else 1


def _tour(args: argparse.Namespace) -> int:

    tour.main()
    return 0


def add_parsers(subparsers: Any) -> None:
    """Declare ``demo``, ``iris`` and ``tour``."""
    demo = command(subparsers, "demo", _demo, description=DEMO_DESCRIPTION, epilog=DEMO_EPILOG,
                   help="train the Iris network of the Torch practical, check its gradient, plot its loss")
    add_out(demo, "the figure")
    demo.add_argument("--nonlinearity", choices=("sigmoid", "requ"), default="sigmoid",
                      help="the hidden layer's non-linearity")
    demo.add_argument("--epochs", type=positive_int, default=1000, metavar="N", help="full-batch training iterations")
    demo.add_argument("--hidden", type=positive_int, default=2, metavar="N", help="hidden units")
    add_seed(demo)

    practical = command(subparsers, "iris", _iris, description=IRIS_DESCRIPTION,
                        help="the 'implement your own layer' practical: Iris with sigmoid vs ReQU, gradient and "
                             "Jacobian checks",
                        epilog="example:\n  ember iris --out figures/ --features 2 3")
    add_data_dir(practical)
    practical.add_argument("--iterations", type=positive_int, default=1000, help="full-batch adagrad steps")
    practical.add_argument("--learning-rate", type=positive_float, default=0.1, help="adagrad's learning rate")
    practical.add_argument("--hidden", type=positive_int, default=2, help="hidden units")
    practical.add_argument("--features", type=int, nargs=2, default=[2, 3], metavar=("I", "J"),
                           help="the two features of the decision-region figure, 0..3 (2 3 are the petals)")
    practical.add_argument("--jacobian-size", type=positive_int, default=10, help="input size of the ReQU check")
    add_seed(practical, "the initialisation and the fake data")
    add_out(practical)

    command(subparsers, "tour", _tour, help="a tour of Torch nn: every cell of the classic tutorial, in ember",
            description="Run every cell of the Torch nn tutorial with ember and print the results (read "
                        "ember/recipes/tour.py beside the output).")
