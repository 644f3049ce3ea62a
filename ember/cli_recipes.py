"""The ``ember`` commands of the classic workflows (:mod:`ember.recipes`).

* ``ember neuralnet TRAIN_CSV TEST_CSV TRAIN_OUT TEST_OUT METRICS_OUT NUM_EPOCH HIDDEN_UNITS INIT_FLAG
  LEARNING_RATE`` — the OCR homework; ``ember neuralnet sweep`` — its empirical questions;
* ``ember iris`` — the "implement your own layer" practical (sigmoid vs ReQU, both gradient checks);
* ``ember lab xor|grid|mnist`` — the backprop lab;
* ``ember gradients regression|relu|legendre`` — vectorised gradients;
* ``ember tour`` — the tour of Torch ``nn``.

``ember.cli`` registers them with :func:`add_parsers`. Each handler returns the exit
status: 0 success; 1 a failed check or an expected failure (missing or malformed
file), reported as one line on stderr; 2 bad arguments. Every figure a command
writes is announced with its path.
"""

from __future__ import annotations

import argparse
import math
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from ember.cli_train import nonnegative_int, positive_float, positive_int

#: the relative error under which a whole-model gradient check passes.
GRADIENT_TOLERANCE = 1e-6


class RecipeError(Exception):
    """An expected failure of a recipe command: printed as one line, exit status 1."""


def _guard(handler: Callable[[argparse.Namespace], int], command: str) -> Callable[[argparse.Namespace], int]:
    """Run ``handler``; expected failures become one line on stderr and exit status 1."""

    def run(args: argparse.Namespace) -> int:
        try:
            return handler(args)
        except (RecipeError, ValueError, TypeError, OSError, FloatingPointError) as error:
            message = " ".join(str(error).split()) or type(error).__name__
            print(f"ember {command}: error: {message}", file=sys.stderr)
            return 1

    run.__name__ = handler.__name__
    run.__doc__ = handler.__doc__
    return run


def _parser(prog: str, description: str, epilog: str = "") -> argparse.ArgumentParser:
    """A stand-alone parser for a command dispatched by hand (``ember neuralnet [sweep]``)."""
    parser = argparse.ArgumentParser(prog=prog, description=description, epilog=epilog,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)

    def error(message: str) -> None:
        parser.exit(2, f"{prog}: error: {message} (see '{prog} --help')\n")

    parser.error = error  # type: ignore[method-assign]
    return parser


def _one_line_errors(parser: argparse.ArgumentParser) -> argparse.ArgumentParser:
    def error(message: str) -> None:
        parser.exit(2, f"{parser.prog}: error: {message} (see '{parser.prog} --help')\n")

    parser.error = error  # type: ignore[method-assign]
    return parser


def _figure(path: Path) -> None:
    """Announce a figure written by a command."""
    print(f"wrote figure: {path}")


def _data_dir_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--data-dir", metavar="DIR", default=None,
                        help="directory holding iris/, ocr-letters/, mnist/ (default: $EMBER_DATA_DIR)")


# -- ember neuralnet ----------------------------------------------------------------------------

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
"""

SWEEP_DESCRIPTION = """\
The homework's empirical questions: train the OCR network for every number of hidden units and
every learning rate, record the mean train and test cross-entropy after each epoch, and write
  sweep.csv                                 one line per (hidden units, learning rate, epoch)
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
    parser = _parser("ember neuralnet", NEURALNET_DESCRIPTION, NEURALNET_EPILOG)
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
    parser.add_argument("--seed", type=int, default=0, help="seed of the RANDOM initialisation (default: 0)")
    parser.add_argument("--plot-dir", metavar="DIR", default=None,
                        help="also write figures there: the loss curves, the test letters with their "
                             "predictions, the hidden layer's weights")
    parser.add_argument("--quiet", action="store_true", help="do not print the per-epoch cross-entropies")
    return parser


def sweep_parser() -> argparse.ArgumentParser:
    """The parser of ``ember neuralnet sweep``."""
    from ember.recipes import ocr

    parser = _parser("ember neuralnet sweep", SWEEP_DESCRIPTION,
                     "example:\n  ember neuralnet sweep --split small --epochs 5 --out sweep/")
    parser.add_argument("--split", choices=("tiny", "small", "medium", "large"), default="small",
                        help="the OCR-letters split (default: small)")
    _data_dir_option(parser)
    parser.add_argument("--train", metavar="CSV", default=None, help="training CSV instead of --split")
    parser.add_argument("--test", metavar="CSV", default=None, help="test CSV instead of --split")
    parser.add_argument("--epochs", type=positive_int, default=100, help="epochs per run (default: 100)")
    parser.add_argument("--hidden", type=positive_int, nargs="+", default=list(ocr.SWEEP_HIDDEN_UNITS), metavar="N",
                        help="hidden-layer sizes (default: 5 20 50 100 200)")
    parser.add_argument("--learning-rates", type=positive_float, nargs="+", default=list(ocr.SWEEP_LEARNING_RATES),
                        metavar="RATE", help="learning rates (default: 0.1 0.01 0.001)")
    parser.add_argument("--init", choices=("random", "zero"), default="random", help="initialisation (random)")
    parser.add_argument("--seed", type=int, default=0, help="seed of every run's initialisation (default: 0)")
    parser.add_argument("--out", metavar="DIR", default=".", help="folder for the CSV and the figures (default: .)")
    return parser


def _dispatch(parser: argparse.ArgumentParser, argv: Sequence[str],
              handler: Callable[[argparse.Namespace], int]) -> int:
    try:
        args = parser.parse_args(list(argv))
    except SystemExit as done:  # --help (0) or a usage error (2), already printed
        return done.code if isinstance(done.code, int) else 2
    return handler(args)


def cmd_neuralnet(args: argparse.Namespace) -> int:
    """``ember neuralnet …`` and ``ember neuralnet sweep …``: dispatch on the first word."""
    rest = list(args.rest)
    if rest and rest[0] == "sweep":
        return _dispatch(sweep_parser(), rest[1:], _guard(_sweep, "neuralnet sweep"))
    return _dispatch(neuralnet_parser(), rest, _guard(_neuralnet, "neuralnet"))


def _neuralnet(args: argparse.Namespace) -> int:
    from ember.recipes import ocr

    train_data = ocr.load(args.train_csv, "TRAIN_CSV")
    test_data = ocr.load(args.test_csv, "TEST_CSV")
    n, m = train_data[0].shape
    print(f"{n} training and {len(test_data[1])} test examples, {m} features; {args.hidden_units} hidden units, "
          f"{'RANDOM' if args.init_rand else 'ZERO'} initialisation, learning rate {args.learning_rate:g}, "
          f"{args.num_epoch} epochs")
    if args.check_gradient:
        model = ocr.build_network(m, args.hidden_units, args.init_rand, rng=np.random.default_rng(args.seed))
        count = min(5, n)
        report = ocr.gradient_check(model, train_data[0][:count], train_data[1][:count])
        passed = report["relative_error"] < GRADIENT_TOLERANCE
        print(f"gradient check on {count} examples, {report['parameters']} parameters, centred differences "
              f"(eps 1e-5): ||g_bp - g_fd|| = {report['l2_difference']:.3e}, relative error "
              f"{report['relative_error']:.3e} -> {'ok' if passed else 'FAILED'} (threshold {GRADIENT_TOLERANCE:g})")
        if not passed:
            return 1

    def progress(epoch: int, train_loss: float, test_loss: float) -> None:
        if not args.quiet:
            print(f"epoch={epoch} crossentropy(train): {train_loss}")
            print(f"epoch={epoch} crossentropy(test): {test_loss}")

    trained = ocr.train(train_data, test_data, args.num_epoch, args.hidden_units, args.init_rand,
                        args.learning_rate, rng=np.random.default_rng(args.seed), progress=progress)
    result = trained.result
    print(f"error(train): {result['err_train']}")
    print(f"error(test): {result['err_val']}")
    for path in (ocr.write_labels(args.train_out, result["y_hat_train"]),
                 ocr.write_labels(args.test_out, result["y_hat_val"]),
                 ocr.write_metrics(args.metrics_out, result)):
        print(f"wrote {path}")
    if args.plot_dir is not None:
        _neuralnet_figures(Path(args.plot_dir), trained, test_data)
    return 0


def _neuralnet_figures(out: Path, trained: Any, test_data: tuple[np.ndarray, np.ndarray]) -> None:
    from ember import plot

    result = trained.result
    if result["loss_per_epoch_train"]:
        _figure(plot.loss_curves(out / "crossentropy.png", result["loss_per_epoch_train"],
                                 result["loss_per_epoch_val"], ylabel="mean cross-entropy",
                                 title="OCR letters: cross-entropy per epoch"))
    X_test, y_test = test_data
    if X_test.shape[1] == 16 * 8:
        _figure(plot.letter_grid(out / "test_letters.png", X_test, y_test, per_class=10,
                                 predictions=result["y_hat_val"],
                                 title="Test letters (a wrong prediction is written above its image)"))
    first = trained.model.get(0)
    _figure(plot.weight_images(out / "hidden_weights.png", {"alpha (hidden)": first.weight},
                               title="Hidden-layer weights (one row per hidden unit)"))


def _sweep(args: argparse.Namespace) -> int:
    from ember.recipes import ocr

    if (args.train is None) != (args.test is None):
        raise RecipeError("give both --train and --test, or neither (then --split is used)")
    if args.train is not None:
        train_data, test_data = ocr.load(args.train, "--train"), ocr.load(args.test, "--test")
        source = f"{args.train} / {args.test}"
    else:
        from ember.data import ocr_letters

        train_data, test_data = ocr_letters(args.split, args.data_dir)
        source = f"OCR letters, {args.split} split"
    runs = len(args.hidden) * len(args.learning_rates)
    print(f"{source}: {len(train_data[1])} training and {len(test_data[1])} test examples; {runs} runs of "
          f"{args.epochs} epochs")
    print(f"{'hidden':>6} {'rate':>7} {'train CE':>9} {'test CE':>9} {'train err':>9} {'test err':>9}")

    def progress(row: dict[str, Any]) -> None:
        print(f"{row['hidden_units']:>6} {row['learning_rate']:>7g} {row['final_train']:>9.4f} "
              f"{row['final_val']:>9.4f} {row['err_train']:>9.3f} {row['err_val']:>9.3f}", flush=True)

    rows = ocr.sweep(train_data, test_data, args.epochs, hidden_units=args.hidden,
                     learning_rates=args.learning_rates, init_rand=args.init == "random", seed=args.seed,
                     progress=progress)
    out = Path(args.out)
    print(f"wrote {ocr.write_sweep_csv(out / 'sweep.csv', rows)}")
    for path in ocr.plot_sweep(rows, out):
        _figure(path)
    return 0


# -- ember iris ---------------------------------------------------------------------------------

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
    from ember import data, plot
    from ember.recipes import iris

    X, y = data.iris(args.data_dir)
    fx, fy = args.features
    if not (0 <= fx < 4 and 0 <= fy < 4) or fx == fy:
        raise RecipeError(f"--features must be two different feature indices in 0..3, got {fx} {fy}")
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
        _figure(plot.decision_regions(out / f"iris-regions-{name}.png", lambda Z, m=model: iris.predict(m, Z), X, y,
                                      (fx, fy), feature_names=iris.FEATURE_NAMES, class_names=iris.CLASS_NAMES,
                                      title=f"Iris, {name}: decision regions (other features at their mean)"))
    _figure(plot.line_plot(out / "iris-loss.png", curves, xlabel="iteration", ylabel="loss (ClassNLL)",
                           title="Iris: training loss, sigmoid vs ReQU", log_y=True))
    jacobian = iris.requ_jacobian(size=args.jacobian_size, seed=args.seed)
    ok = jacobian.error < GRADIENT_TOLERANCE
    passed &= ok
    print(f"\nReQU Jacobian check ({jacobian.analytic.shape[0]}x{jacobian.analytic.shape[1]}, two-sided "
          f"differences): max |backprop - numeric| = {jacobian.error:.3e} -> {'ok' if ok else 'FAILED'}")
    _figure(plot.jacobian_heatmap(out / "requ-jacobian.png", jacobian.analytic, jacobian.numeric,
                                  title="ReQU Jacobian"))
    return 0 if passed else 1


# -- ember lab ----------------------------------------------------------------------------------

def _layer_list(tokens: Sequence[str]) -> list[Any]:
    return [int(token) if token.isdigit() else token for token in tokens]


def _lab_xor(args: argparse.Namespace) -> int:
    from ember import plot
    from ember.recipes import dense

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
    _figure(plot.loss_curves(out / "xor-loss.png", result.losses, xlabel="iteration", ylabel="binary cross-entropy",
                             title="XOR: training loss"))
    _figure(plot.weight_images(out / "xor-weights.png", weights, title="XOR network: weights and biases"))
    _figure(plot.hinton(out / "xor-hinton.png", {k: v for k, v in weights.items() if k.startswith("W")},
                        title="XOR network: Hinton diagram (white > 0, black < 0)"))
    _figure(plot.decision_regions(out / "xor-decision.png", lambda Z: result.model.forward(Z).copy(), dense.XOR_X,
                                  dense.XOR_Y[:, 0].astype(int), feature_names=("x1", "x2"),
                                  class_names=("0", "1"), margin=0.5, title="XOR: decision regions"))
    return 0


def _lab_grid(args: argparse.Namespace) -> int:
    from ember.recipes import dense

    total = len(args.activations) * len(args.learning_rates) * len(args.inits) * len(args.depths)
    print(f"XOR experiment grid: {total} configurations x {args.seeds} seeds, {args.iterations} iterations each")
    rows = dense.experiment_grid(args.activations, args.learning_rates, args.inits, args.depths, seeds=args.seeds,
                                 iterations=args.iterations)
    print(dense.grid_table(rows))
    out = Path(args.out)
    print(f"wrote {dense.write_grid_csv(out / 'xor-grid.csv', rows)}")
    _figure(dense.plot_grid(out / "xor-grid-solved.png", rows, "solved"))
    _figure(dense.plot_grid(out / "xor-grid-loss.png", rows, "final_loss"))
    return 0


def _lab_mnist(args: argparse.Namespace) -> int:
    from ember import data, plot
    from ember.recipes import dense

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
    _figure(plot.loss_curves(Path(args.out) / "mnist-loss.png", result.history["loss"], result.history["val_loss"],
                             ylabel="categorical cross-entropy", title="MNIST: loss per epoch (validation = test)"))
    return 0


# -- ember gradients ----------------------------------------------------------------------------

def _gradients_regression(args: argparse.Namespace) -> int:
    from ember import plot
    from ember.recipes import vectorised

    points = vectorised.anisotropic_points(args.samples, args.seed)
    print(f"{len(points)} points of an anisotropic blob (seed {args.seed}); fitting y = m x + b")
    print(f"Starting gradient descent at b = 0, m = 0, error = {vectorised.mean_squared_error(0, 0, points)}")
    print("Running...")
    result = vectorised.linear_regression(points, args.learning_rate, args.iterations)
    print(f"After {args.iterations} iterations b = {result.b}, m = {result.m}, error = {result.error_after}")
    _figure(plot.scatter_fit(Path(args.out) / "regression.png", points[:, 0], points[:, 1],
                             {f"y = {result.m:.3f} x + {result.b:.3f}": result.m * points[:, 0] + result.b},
                             title="Linear regression by gradient descent"))
    return 0


def _gradients_relu(args: argparse.Namespace) -> int:
    from ember.recipes import vectorised

    differences = vectorised.relu_network_gradients(args.inputs, args.hidden, args.classes, args.batch, args.seed)
    print(f"one-hidden-layer ReLU network {args.inputs} -> {args.hidden} -> {args.classes}, batch of {args.batch}: "
          "hand-derived gradients (delta1 = y_hat - y, delta2 = delta1 U o sgn(h)) vs ember backprop")
    worst = 0.0
    for name, value in differences.items():
        print(f"  dJ/d{name:<3} max |hand - backprop| = {value:.3e}")
        worst = max(worst, value)
    ok = worst < 1e-10
    print("agree" if ok else "DIFFER")
    return 0 if ok else 1


def _gradients_legendre(args: argparse.Namespace) -> int:
    from ember import plot
    from ember.recipes import vectorised

    dtype = np.float32 if args.float32 else np.float64
    print(f"y = a + b * P3(c + d x) fitted to sin(x) on {args.points} points of [-pi, pi]; gradient descent, "
          f"learning rate {args.learning_rate:g}, {args.iterations} iterations, from a=0, b=-1, c=0, d=0.3")
    result = vectorised.fit_legendre(args.points, args.learning_rate, args.iterations, dtype=dtype,
                                     progress=lambda t, loss: print(t, loss))
    print(f"Result: {result.formula()}")
    x = np.linspace(-math.pi, math.pi, args.points)
    fit = result.model.forward(x.astype(dtype)).astype(np.float64)
    _figure(plot.scatter_fit(Path(args.out) / "legendre.png", x, np.sin(x), {"a + b P3(c + d x)": fit},
                             title="sin(x) and the fitted Legendre polynomial"))
    return 0


# -- ember tour ---------------------------------------------------------------------------------

def _tour(args: argparse.Namespace) -> int:
    from ember.recipes import tour

    tour.main()
    return 0


# -- registration -------------------------------------------------------------------------------

def add_parsers(subparsers: Any) -> None:
    """Register ``neuralnet``, ``iris``, ``lab``, ``gradients`` and ``tour`` on an argparse subparsers object.

    Each parser's ``func`` default is the handler (``ember.cli``'s convention).
    """
    from ember.recipes import dense

    raw = argparse.RawDescriptionHelpFormatter

    # neuralnet takes either the homework's nine positionals or "sweep …": it collects every word and
    # dispatches to one of two full parsers (so 'ember neuralnet --help' shows the homework's usage).
    neuralnet = subparsers.add_parser(
        "neuralnet", add_help=False, prefix_chars="\0",
        usage="ember neuralnet TRAIN_CSV TEST_CSV TRAIN_OUT TEST_OUT METRICS_OUT NUM_EPOCH HIDDEN_UNITS INIT_FLAG "
              "LEARNING_RATE [options]\n       ember neuralnet sweep [options]",
        help="the OCR-letters homework: one hidden layer, per-example SGD; 'neuralnet sweep' for its questions")
    neuralnet.add_argument("rest", nargs=argparse.REMAINDER)
    neuralnet.set_defaults(func=cmd_neuralnet)

    iris = _one_line_errors(subparsers.add_parser(
        "iris", formatter_class=raw, description=IRIS_DESCRIPTION,
        help="the 'implement your own layer' practical: Iris with sigmoid vs ReQU, gradient and Jacobian checks",
        epilog="example:\n  ember iris --out figures/ --features 2 3"))
    _data_dir_option(iris)
    iris.add_argument("--iterations", type=positive_int, default=1000, help="full-batch adagrad steps (1000)")
    iris.add_argument("--learning-rate", type=positive_float, default=0.1, help="adagrad's learning rate (0.1)")
    iris.add_argument("--hidden", type=positive_int, default=2, help="hidden units (2)")
    iris.add_argument("--features", type=int, nargs=2, default=[2, 3], metavar=("I", "J"),
                      help="the two features of the decision-region figure, 0..3 (default: 2 3, the petals)")
    iris.add_argument("--jacobian-size", type=positive_int, default=10, help="input size of the ReQU check (10)")
    iris.add_argument("--seed", type=int, default=0, help="seed of the initialisation and the fake data (0)")
    iris.add_argument("--out", metavar="DIR", default=".", help="folder for the figures (default: .)")
    iris.set_defaults(func=_guard(_iris, "iris"))

    lab = subparsers.add_parser("lab", help="the backprop lab: XOR with a dense network, the experiment grid, MNIST",
                                description="The backprop lab: 'ember lab xor', 'ember lab grid', 'ember lab mnist'.")
    lab_commands = lab.add_subparsers(dest="lab_command", metavar="EXPERIMENT", required=True)
    xor = _one_line_errors(lab_commands.add_parser(
        "xor", help="train build_dense(2, [2, tanh, 1, sigmoid]) on XOR; plot its weights and decision regions",
        description="Train a dense network on the four XOR points (inputs +-1) with the binary cross-entropy and "
                    "full-batch gradient descent; print the loss, the outputs and the weights; write the loss "
                    "curve, the weights as images and as a Hinton diagram, and the decision regions.",
        epilog="example:\n  ember lab xor --layers 2 tanh 1 sigmoid --weight-decay 0.001 --out figures/",
        formatter_class=raw))
    xor.add_argument("--layers", nargs="+", default=[str(item) for item in dense.XOR_LAYERS], metavar="LAYER",
                     help="numbers of units and activation names (default: 2 tanh 1 sigmoid)")
    xor.add_argument("--learning-rate", type=positive_float, default=dense.XOR_LEARNING_RATE, help="(0.25)")
    xor.add_argument("--iterations", type=positive_int, default=dense.XOR_ITERATIONS, help="(250)")
    xor.add_argument("--weight-decay", type=float, default=0.0, help="lambda of the penalty lambda/2 ||W||^2 (0)")
    xor.add_argument("--init", choices=dense.INITIALISATIONS, default="glorot", help="weight initialisation (glorot)")
    xor.add_argument("--seed", type=int, default=dense.XOR_SEED, help=f"seed of the initialisation ({dense.XOR_SEED})")
    xor.add_argument("--out", metavar="DIR", default=".", help="folder for the figures (default: .)")
    xor.set_defaults(func=_guard(_lab_xor, "lab xor"))

    grid = _one_line_errors(lab_commands.add_parser(
        "grid", help="XOR over activations x learning rates x initialisations x depths: a table and heatmaps",
        description="Train XOR networks for every combination of activation, learning rate, initialisation and "
                    "depth, several seeds each; print a table of the mean final loss and the fraction of seeds "
                    "that classify all four points, and write it as CSV and heatmaps."))
    grid.add_argument("--activations", nargs="+", default=list(dense.GRID_ACTIVATIONS), choices=("tanh", "sigmoid",
                      "relu", "requ"), metavar="NAME", help="(tanh sigmoid relu)")
    grid.add_argument("--learning-rates", nargs="+", type=positive_float, default=list(dense.GRID_LEARNING_RATES),
                      metavar="RATE", help="(0.05 0.25 1)")
    grid.add_argument("--inits", nargs="+", choices=dense.INITIALISATIONS, default=list(dense.GRID_INITIALISATIONS),
                      metavar="INIT", help="(glorot uniform normal zero)")
    grid.add_argument("--depths", nargs="+", type=int, choices=(1, 2), default=[1, 2], metavar="DEPTH",
                      help="hidden layers: 1 = [2], 2 = [4, 4] (1 2)")
    grid.add_argument("--seeds", type=positive_int, default=5, help="initialisations per configuration (5)")
    grid.add_argument("--iterations", type=positive_int, default=dense.XOR_ITERATIONS, help="(250)")
    grid.add_argument("--out", metavar="DIR", default=".", help="folder for the CSV and the figures (default: .)")
    grid.set_defaults(func=_guard(_lab_grid, "lab grid"))

    mnist = _one_line_errors(lab_commands.add_parser(
        "mnist", help="softmax + categorical cross-entropy on MNIST (8k/2k split of the shipped 10k images)",
        description="The lab's optional part: a dense network with a softmax output and the categorical "
                    "cross-entropy, trained by mini-batch SGD on 8,000 of the 10,000 shipped MNIST images and "
                    "tested on the other 2,000 (the lab's target: 93% test accuracy)."))
    _data_dir_option(mnist)
    mnist.add_argument("--layers", nargs="+", default=[str(item) for item in dense.MNIST_LAYERS], metavar="LAYER",
                       help="after the 784 inputs; must end with logsoftmax (default: 128 relu 10 logsoftmax)")
    mnist.add_argument("--epochs", type=positive_int, default=10, help="(10)")
    mnist.add_argument("--batch-size", type=positive_int, default=32, help="(32)")
    mnist.add_argument("--learning-rate", type=positive_float, default=0.1, help="(0.1)")
    mnist.add_argument("--train", type=positive_int, default=dense.MNIST_TRAIN, help="training images (8000)")
    mnist.add_argument("--seed", type=int, default=0, help="seed of the split, initialisation, shuffling (0)")
    mnist.add_argument("--quiet", action="store_true", help="no progress bar")
    mnist.add_argument("--out", metavar="DIR", default=".", help="folder for the figure (default: .)")
    mnist.set_defaults(func=_guard(_lab_mnist, "lab mnist"))

    gradients = subparsers.add_parser(
        "gradients", help="vectorised gradients: linear regression by GD, a hand-derived ReLU net, Legendre P3",
        description="Vectorised gradients: 'ember gradients regression', 'ember gradients relu', "
                    "'ember gradients legendre'.")
    gradient_commands = gradients.add_subparsers(dest="gradients_command", metavar="EXAMPLE", required=True)
    regression = _one_line_errors(gradient_commands.add_parser(
        "regression", help="fit y = m x + b to anisotropic blob data by gradient descent",
        description="Gradient descent for linear regression on an anisotropic Gaussian blob (x = column 0, "
                    "y = column 1), from b = m = 0, reporting the mean squared error before and after."))
    regression.add_argument("--samples", type=positive_int, default=1000, help="points (1000)")
    regression.add_argument("--seed", type=int, default=170, help="seed of the blob (170)")
    regression.add_argument("--learning-rate", type=positive_float, default=1e-4, help="(1e-4)")
    regression.add_argument("--iterations", type=positive_int, default=1000, help="(1000)")
    regression.add_argument("--out", metavar="DIR", default=".", help="folder for the figure (default: .)")
    regression.set_defaults(func=_guard(_gradients_regression, "gradients regression"))

    relu = _one_line_errors(gradient_commands.add_parser(
        "relu", help="the one-hidden-layer ReLU network's hand-derived gradients vs backprop",
        description="Compare the hand-derived gradients of a one-hidden-layer ReLU network with softmax and "
                    "cross-entropy against ember's backprop; exit 1 if they differ."))
    relu.add_argument("--inputs", type=positive_int, default=4, help="(4)")
    relu.add_argument("--hidden", type=positive_int, default=5, help="(5)")
    relu.add_argument("--classes", type=positive_int, default=3, help="(3)")
    relu.add_argument("--batch", type=positive_int, default=6, help="(6)")
    relu.add_argument("--seed", type=int, default=0, help="(0)")
    relu.set_defaults(func=_guard(_gradients_relu, "gradients relu"))

    legendre = _one_line_errors(gradient_commands.add_parser(
        "legendre", help="a custom P3 module in y = a + b P3(c + d x), fitted to sin(x)",
        description="Fit y = a + b * P3(c + d x), with P3(x) = (5x^3 - 3x)/2 a custom module with its own "
                    "backward, to sin(x) by gradient descent on the summed squared error; print the loss every "
                    "100 iterations and the final formula."))
    legendre.add_argument("--points", type=positive_int, default=2000, help="(2000)")
    legendre.add_argument("--learning-rate", type=positive_float, default=5e-6, help="(5e-6)")
    legendre.add_argument("--iterations", type=positive_int, default=2000, help="(2000)")
    legendre.add_argument("--float32", action="store_true", help="compute in float32, as the original")
    legendre.add_argument("--out", metavar="DIR", default=".", help="folder for the figure (default: .)")
    legendre.set_defaults(func=_guard(_gradients_legendre, "gradients legendre"))

    tour = subparsers.add_parser("tour", help="a tour of Torch nn: every cell of the classic tutorial, in ember",
                                 description="Run every cell of the Torch nn tutorial with ember and print the "
                                             "results (read ember/recipes/tour.py beside the output).")
    tour.set_defaults(func=_guard(_tour, "tour"))
