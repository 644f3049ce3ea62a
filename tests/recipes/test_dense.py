"""The backprop lab: build_dense, XOR with BCE and gradient descent, weight decay, the grid, MNIST."""

from __future__ import annotations

import math

import numpy as np
import pytest

from ember import check, nn, optim
from ember.recipes import dense
from tests.optional import skip_reason


def test_build_dense_follows_the_layer_list():
    model = dense.build_dense(2, [2, "tanh", 1, "sigmoid"], rng=0)
    assert [m.describe() for m in model.modules] == ["Linear(2 -> 2)", "Tanh", "Linear(2 -> 1)", "Sigmoid"]
    for linear in model.findModules(nn.Linear):
        sd = math.sqrt(2.0 / sum(linear.weight.shape))
        assert np.abs(linear.weight).max() <= 2 * sd
        assert np.all(linear.bias == 0)
    custom = dense.build_dense(3, [4, nn.ReQU(), 2, "logsoftmax"], init="zero")
    assert isinstance(custom.get(1), nn.ReQU) and all(np.all(p == 0) for p in custom.parameters()[0])


def test_glorot_initialisation_is_clipped_normal():
    linear = nn.Linear(300, 200)
    dense.initialise(linear, "glorot", np.random.default_rng(0))
    sd = math.sqrt(2.0 / 500)
    assert np.abs(linear.weight).max() == pytest.approx(2 * sd)  # clipped
    assert linear.weight.std() == pytest.approx(sd * 0.96, rel=0.03)  # a normal clipped at ±2 sd


def test_build_dense_errors():
    with pytest.raises(ValueError, match="unknown layer 'tanhh'"):
        dense.build_dense(2, [2, "tanhh"])
    with pytest.raises(ValueError, match="unknown initialisation 'xavier'"):
        dense.build_dense(2, [2], init="xavier")
    with pytest.raises(ValueError, match="at least 1 unit"):
        dense.build_dense(2, [0])
    with pytest.raises(ValueError, match="empty"):
        dense.build_dense(2, [])


def test_xor_is_solved_with_the_lab_settings():
    result = dense.train_xor()
    assert result.correct
    assert len(result.losses) == 250
    assert result.losses[-1] < 0.1 < result.losses[0]
    np.testing.assert_array_equal(result.probabilities > 0.5, [False, True, True, False])


def test_xor_training_matches_a_hand_written_backprop():
    """The lab's algorithm written out: δ = (ŷ − y)/N at the sigmoid output under BCE, W ← W − lr · grad."""
    model = dense.build_dense(2, dense.XOR_LAYERS, rng=np.random.default_rng(5))
    W1, b1 = model.get(0).weight.copy(), model.get(0).bias.copy()
    W2, b2 = model.get(2).weight.copy(), model.get(2).bias.copy()
    X, Y = dense.XOR_X, dense.XOR_Y
    lam, lr = 0.01, 0.25
    for _ in range(20):
        h = np.tanh(X @ W1.T + b1)
        out = 1 / (1 + np.exp(-(h @ W2.T + b2)))
        d2 = (out - Y) / len(X)  # BCE + sigmoid (the criterion's ε is negligible here)
        d1 = (d2 @ W2) * (1 - h ** 2)
        W2 -= lr * (d2.T @ h + lam * W2)
        b2 -= lr * d2.sum(0)
        W1 -= lr * (d1.T @ X + lam * W1)
        b1 -= lr * d1.sum(0)
    dense.train_batch(model, nn.BCECriterion(), X, Y, 20, lr, weight_decay=lam)
    np.testing.assert_allclose(model.get(0).weight, W1, rtol=1e-8, atol=1e-10)
    np.testing.assert_allclose(model.get(0).bias, b1, rtol=1e-8, atol=1e-10)
    np.testing.assert_allclose(model.get(2).weight, W2, rtol=1e-8, atol=1e-10)


def test_xor_training_through_fit_is_bit_identical_to_the_lab_loop():
    """train_batch runs fit with a penalty; the loop it replaced (sgd with weight_decays, the penalty in the
    loss) gives the same losses and parameters, bit for bit."""
    lam, lr, steps = 0.01, 0.25, 30
    model = dense.build_dense(2, dense.XOR_LAYERS, rng=np.random.default_rng(3))
    reference = model.clone()
    params, grads = reference.getParameters()
    criterion = nn.BCECriterion()
    state = {"learning_rate": lr, "weight_decays": dense.weight_decays(reference, lam)}

    def feval(x):
        grads.fill(0.0)
        loss = criterion.forward(reference.forward(dense.XOR_X), dense.XOR_Y)
        reference.backward(dense.XOR_X, criterion.backward(reference.output, dense.XOR_Y))
        return loss + dense.l2_penalty(reference, lam), grads

    expected = [float(optim.sgd(feval, params, state)[1][0]) for _ in range(steps)]
    seen = []
    losses = dense.train_batch(model, nn.BCECriterion(), dense.XOR_X, dense.XOR_Y, steps, lr, weight_decay=lam,
                               progress=lambda i, loss: seen.append((i, loss)))
    assert losses == expected and seen == list(enumerate(expected, 1))
    np.testing.assert_array_equal(model.getParameters()[0], params)


def test_weight_decay_touches_weights_only_and_shrinks_them():
    model = dense.build_dense(2, [3, "tanh", 1, "sigmoid"], rng=1)
    params, _ = model.getParameters()
    decays = dense.weight_decays(model, 0.5)
    assert decays.shape == params.shape
    assert decays.tolist() == [0.5] * 6 + [0.0] * 3 + [0.5] * 3 + [0.0]
    params_again, _ = model.getParameters()
    plain = dense.train_xor(weight_decay=0.0)
    decayed = dense.train_xor(weight_decay=0.01)
    norm = lambda r: sum(float(np.sum(m.weight ** 2)) for m in r.model.findModules(nn.Linear))  # noqa: E731
    assert norm(decayed) < norm(plain)
    assert decayed.losses[0] == pytest.approx(plain.losses[0] + dense.l2_penalty(
        dense.build_dense(2, dense.XOR_LAYERS, rng=np.random.default_rng(dense.XOR_SEED)), 0.01))


def test_xor_network_gradient_is_right():
    model = dense.build_dense(2, [3, "relu", 2, "tanh", 1, "sigmoid"], rng=3)
    X = np.random.default_rng(0).standard_normal((4, 2))  # away from ReLU's kink (XOR's points sit on it)
    assert check.gradient_error(model, nn.BCECriterion(), X, dense.XOR_Y) < 1e-6


def test_grid_table_csv_and_plot(tmp_path):
    pytest.importorskip("matplotlib", reason=skip_reason("matplotlib", "the figures"))
    rows = dense.experiment_grid(["tanh"], [0.25], ["glorot", "zero"], [1], seeds=2, iterations=50)
    assert [(r["init"], r["depth"]) for r in rows] == [("glorot", 1), ("zero", 1)]
    zero = rows[1]
    assert zero["final_loss"] == pytest.approx(math.log(2)) and zero["solved"] == 0.0  # symmetric: stuck
    table = dense.grid_table(rows)
    assert "| tanh | 0.25 | zero | 1 | 0.6931 | 0% |" in table
    assert dense.write_grid_csv(tmp_path / "grid.csv", rows).read_text().startswith("activation,learning_rate")
    assert dense.plot_grid(tmp_path / "grid.png", rows).stat().st_size > 0


def test_layers_for_depth():
    assert dense.layers_for("relu", 2) == [4, "relu", 4, "relu", 1, "sigmoid"]
    with pytest.raises(ValueError, match="2 hidden sizes given for depth 1"):
        dense.layers_for("relu", 1, hidden=[3, 3])


def test_split_mnist_is_a_partition():
    X = np.arange(20, dtype=float).reshape(10, 2)
    y = np.arange(10)
    (X_train, y_train), (X_test, y_test) = dense.split_mnist(X, y, n_train=8)
    assert len(y_train) == 8 and len(y_test) == 2
    assert sorted(np.concatenate([y_train, y_test]).tolist()) == list(range(10))
    np.testing.assert_array_equal(X_train[:, 0], 2 * y_train)
    with pytest.raises(ValueError, match="n_train"):
        dense.split_mnist(X, y, n_train=10)


def test_mnist_reaches_93_percent(data_dir, tmp_path):
    """The lab's optional part through its command: 8k/2k split of the shipped 10k images, 10 epochs.

    Run in a subprocess with one BLAS thread: about 2-4 s, where two BLAS threads on a busy
    two-core machine can take minutes (spinning threads oversubscribe the cores)."""
    import os
    import re
    import subprocess
    import sys

    env = dict(os.environ, OMP_NUM_THREADS="1", OPENBLAS_NUM_THREADS="1", MKL_NUM_THREADS="1", MPLBACKEND="Agg",
               EMBER_CACHE=str(tmp_path / "cache"))  # no downloaded training set: the 8k/2k split
    pytest.importorskip("matplotlib", reason=skip_reason("matplotlib", "the figures"))
    done = subprocess.run([sys.executable, "-m", "ember", "lab", "mnist", "--data-dir", str(data_dir), "--quiet",
                           "--out", str(tmp_path)], env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    accuracy = float(re.search(r"test accuracy (\d+\.\d+)% \(", done.stdout).group(1))
    assert accuracy >= 93.0, done.stdout
    assert "split 8000 for training / 2000 for testing" in done.stdout


def test_grid_rows_are_the_same_on_every_executor():
    grid = dict(activations=["tanh", "relu"], learning_rates=[0.25], initialisations=["glorot"], depths=[1, 2],
                seeds=2, iterations=30)
    assert dense.experiment_grid(**grid, executor="processes", workers=2) == dense.experiment_grid(**grid)


def test_an_interrupted_grid_keeps_the_rows_that_finished(tmp_path, monkeypatch):
    real = dense.grid_row
    calls = []

    def row_then_interrupt(combination):
        if calls:
            raise KeyboardInterrupt
        calls.append(combination)
        return real(combination)

    monkeypatch.setattr(dense, "grid_row", row_then_interrupt)
    settings = dense.GridSettings(activations=["tanh"], learning_rates=[0.25], inits=["glorot"], depths=[1, 2],
                                  seeds=1, iterations=5)
    with pytest.raises(KeyboardInterrupt):
        dense.run_grid(settings, tmp_path, log=lambda line: None)
    lines = (tmp_path / "xor-grid.csv").read_text().splitlines()
    assert len(lines) == 2 and lines[1].startswith("tanh,0.25,glorot,1,")
