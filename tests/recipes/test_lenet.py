"""ember.recipes.lenet: the network's shapes and dtype, a short training that learns, save/load, the example."""

from __future__ import annotations

import contextlib
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from ember import data, io, models, nn
from ember.random import manual_seed
from ember.recipes import lenet
from ember.train import evaluate

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "lenet_mnist.py"
#: one BLAS thread: on a busy two-core machine, two spinning OpenBLAS threads make a LeNet step
#: ~70x slower (630 ms instead of 9 ms for a batch of 32), so the training tests would take minutes.
ONE_THREAD = {"OMP_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}


def one_blas_thread():
    """A context in which NumPy's and SciPy's BLAS use one thread (threadpoolctl, when installed)."""
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:
        return contextlib.nullcontext()
    return threadpool_limits(1, user_api="blas")


def test_models_lenet_shapes_and_dtype():
    manual_seed(0)
    model = models.lenet()
    x = np.random.default_rng(0).random((5, 784), dtype=np.float32)
    shapes = []
    output = x
    for module in model.modules:
        output = module.forward(output)
        shapes.append(output.shape)
    assert shapes[:8] == [(5, 1, 28, 28), (5, 6, 28, 28), (5, 6, 28, 28), (5, 6, 14, 14),
                          (5, 16, 10, 10), (5, 16, 10, 10), (5, 16, 5, 5), (5, 400)]
    assert shapes[-1] == (5, 10) and output.dtype == np.float32
    np.testing.assert_allclose(np.exp(output).sum(axis=1), 1.0, rtol=1e-5)  # log-probabilities
    assert all(p.dtype == np.float32 for p in model.parameters()[0])
    assert sum(p.size for p in model.parameters()[0]) == 61706  # LeNet-5's parameter count (6 + 16 planes)
    assert model.forward(x[0]).shape == (10,)  # one image


def test_models_lenet_options():
    manual_seed(0)
    model = models.lenet(3, dropout=0.5, dtype=np.float64)
    assert len(model.findModules(nn.Dropout)) == 1 and model.findModules(nn.Dropout)[0].p == 0.5
    assert model.modules[-2].weight.shape == (3, 84) and model.modules[-2].weight.dtype == np.float64
    assert not models.lenet().findModules(nn.Dropout)
    manual_seed(1)
    first = models.lenet().getParameters()[0].copy()
    manual_seed(1)
    np.testing.assert_array_equal(models.lenet().getParameters()[0], first)  # seeded initialisation
    with pytest.raises(ValueError, match=r"dropout must be in \[0, 1\), got 1.0"):
        models.lenet(dropout=1.0)
    with pytest.raises(ValueError, match=r"lenet: n_classes must be an integer >= 1 \(a size\), got 0"):
        models.lenet(0)


def test_train_lenet_learns_digits_and_saves(data_dir, tmp_path):
    X, y = data.mnist(data_dir=data_dir)
    X, y = X[:1700], y[:1700]
    manual_seed(0)
    untrained = models.lenet()
    chance = evaluate(untrained, nn.ClassNLLCriterion(), X, y)["accuracy"]
    with one_blas_thread():
        result = lenet.train_lenet(X, y, epochs=2, n_test=200, seed=0)
    assert len(result.history["val_accuracy"]) == 2
    assert result.history["loss"][1] < result.history["loss"][0]
    assert chance < 0.25 and result.test_accuracy > 0.75, (chance, result.test_accuracy)
    assert result.train_accuracy > 0.75 and result.seconds > 0
    assert result.test_accuracy == pytest.approx(result.history["val_accuracy"][-1])
    loaded = io.load(io.save(result.model, tmp_path / "lenet.safetensors"))
    assert repr(loaded) == repr(result.model)
    np.testing.assert_array_equal(loaded.evaluate().forward(X[:50].astype(np.float32)),
                                  result.model.evaluate().forward(X[:50].astype(np.float32)))


def test_train_lenet_rejects_images_of_another_size():
    with pytest.raises(ValueError, match=r"rows of 784 pixels, shape \(n, 784\), got \(10, 128\)"):
        lenet.train_lenet(np.zeros((10, 128)), np.zeros(10, dtype=np.int64))


def test_example_script_one_epoch(data_dir, tmp_path):
    done = subprocess.run([sys.executable, str(EXAMPLE), "--epochs", "1", "--save", "lenet.safetensors"],
                          cwd=tmp_path, capture_output=True, text=True, timeout=180,
                          env={**os.environ, **ONE_THREAD, "EMBER_DATA_DIR": str(data_dir),
                               "EMBER_CACHE": str(tmp_path / "cache")})
    assert done.returncode == 0, done.stderr
    assert "split 8000 for training / 2000 for testing" in done.stdout and "epoch  1:" in done.stdout
    accuracy = float(done.stdout.split("test accuracy ")[-1].split("%")[0])
    assert accuracy > 85  # one epoch of the recipe's training reaches about 90%
    assert io.info(tmp_path / "lenet.safetensors")["ember train"]["held_out"] == sorted(
        data.split_indices(10000, 2000, seed=0)[1].tolist())


def fake_mnist(folder, kinds):
    """Small MNIST-format files: ``kinds`` maps ``"train"``/``"t10k"`` to a number of images."""
    from tests.data.test_datasets import write_mnist

    rng = np.random.default_rng(0)
    folder.mkdir(parents=True, exist_ok=True)
    for kind, n in kinds.items():
        write_mnist(folder / "mnist", kind, rng.integers(0, 256, (n, 28, 28), dtype=np.uint8),
                    (np.arange(n) % 10).astype(np.uint8), compress=True)


def test_mnist_data_uses_the_training_set_when_present(tmp_path, monkeypatch):
    monkeypatch.setenv("EMBER_CACHE", str(tmp_path / "cache"))
    fake_mnist(tmp_path / "full", {"train": 30, "t10k": 20})
    full = lenet.mnist_data(tmp_path / "full", seed=3)
    assert len(full.train[0]) == 30 and len(full.test[0]) == 20 and full.train[0].shape[1] == 784
    assert full.record == {"dataset": "mnist", "limit": None, "seed": 3, "held_out": None}
    assert full.description == "MNIST: 30 training images, 20 test images"
    fake_mnist(tmp_path / "shipped", {"t10k": 20})
    split = lenet.mnist_data(tmp_path / "shipped", n_test=5, seed=3)
    kept, held_out = data.split_indices(20, 5, seed=3)
    assert split.record["held_out"] == sorted(held_out.tolist())
    X, y = data.mnist(data_dir=tmp_path / "shipped")
    np.testing.assert_array_equal(split.test[0], X[held_out])
    np.testing.assert_array_equal(split.train[1], y[kept])
    assert "split 15 for training / 5 for testing" in split.description
    assert len(lenet.mnist_data(tmp_path / "shipped", n_train=12).train[0]) == 12
    with pytest.raises(ValueError, match="leave 1 to 19 of the 20 images for testing, got 20"):
        lenet.mnist_data(tmp_path / "shipped", n_test=20)


def test_a_recipe_save_records_the_split_for_evaluate(tmp_path, monkeypatch, capsys):
    from ember.cli import main

    monkeypatch.setenv("EMBER_CACHE", str(tmp_path / "cache"))
    fake_mnist(tmp_path, {"t10k": 40})
    mnist = lenet.mnist_data(tmp_path, n_test=10)
    with one_blas_thread():
        result = lenet.train_lenet(*mnist.train, test_data=mnist.test, epochs=1, batch_size=10)
    assert len(result.history["val_loss"]) == 1
    io.save(result.model, tmp_path / "lenet.safetensors", info={"ember train": mnist.record})
    argv = ["evaluate", str(tmp_path / "lenet.safetensors"), "--dataset", "mnist", "--data-dir", str(tmp_path)]
    assert main([*argv, "--split", "test"]) == 0
    out = capsys.readouterr().out
    assert "test" in out and "on test:" in out
    assert main([*argv, "--split", "all"]) == 0
    assert "30 of these 40 examples were used to train the model" in capsys.readouterr().out


def test_lab_mnist_uses_the_training_set_when_present(tmp_path, monkeypatch):
    from ember.recipes import dense

    monkeypatch.setenv("EMBER_CACHE", str(tmp_path / "cache"))
    fake_mnist(tmp_path, {"train": 30, "t10k": 20})
    lines = []
    result = dense.run_mnist(dense.MnistSettings((8, "relu", 10, "logsoftmax"), epochs=1, batch_size=10,
                                                 data_dir=tmp_path), tmp_path / "out", log=lines.append)
    assert lines[0].startswith("MNIST: 30 training images, 20 test images")
    assert result.data["held_out"] is None and len(result.history["loss"]) == 1
