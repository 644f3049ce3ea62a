"""End-to-end tests of ``ember demo``, ``train``, ``evaluate`` and ``predict``, run as subprocesses
(``python -m ember``) where the whole command matters, in-process (``main([...])``) for help and
argument errors.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from ember import io, nn
from ember.cli import main

ROOT = Path(__file__).resolve().parents[1]


def ember(*args: str, data_dir: Path | None = None, cwd: Path | None = None,
          timeout: float = 120) -> subprocess.CompletedProcess:
    """Run ``python -m ember ARGS`` with the Agg backend and, unless given, no data directory."""
    env = {key: value for key, value in os.environ.items() if key != "EMBER_DATA_DIR"}
    env["MPLBACKEND"] = "Agg"
    env["PYTHONPATH"] = str(ROOT) + os.pathsep + env.get("PYTHONPATH", "")
    if data_dir is not None:
        env["EMBER_DATA_DIR"] = str(data_dir)
    return subprocess.run([sys.executable, "-m", "ember", *args], capture_output=True, text=True, env=env,
                          cwd=cwd, timeout=timeout)


def assert_no_traceback(result: subprocess.CompletedProcess) -> None:
    assert "Traceback" not in result.stderr and "Traceback" not in result.stdout


# -- ember demo -------------------------------------------------------------------------------

def test_demo_on_a_fresh_machine(tmp_path):
    """No data directory: the shipped Iris; prints accuracy and the gradient check, writes the plot."""
    started = time.perf_counter()
    result = ember("demo", "--out", str(tmp_path / "figures"), cwd=tmp_path)
    elapsed = time.perf_counter() - started
    assert result.returncode == 0, result.stderr
    assert_no_traceback(result)
    out = result.stdout
    assert "the UCI file shipped with ember" in out and "150 examples" in out
    assert "nn.Linear(4 -> 2)" in out and "nn.Sigmoid" in out and "nn.LogSoftMax" in out
    accuracy = float(out.split("accuracy ")[1].split("%")[0])
    assert accuracy > 90
    assert "gradient check" in out and "-> ok" in out
    assert "ConfusionMatrix:" in out and "[class: setosa]" in out
    plot = tmp_path / "figures" / "iris-loss-sigmoid.png"
    assert f"loss plot: {plot}" in out
    assert plot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert elapsed < 30


def test_demo_requ_with_the_data_directory(tmp_path, data_dir):
    result = ember("demo", "--nonlinearity", "requ", "--epochs", "60", data_dir=data_dir, cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert "nn.ReQU" in result.stdout and str(data_dir) in result.stdout and "-> ok" in result.stdout
    assert (tmp_path / "iris-loss-requ.png").is_file()  # the current directory by default


# -- ember train / evaluate / predict ---------------------------------------------------------

def test_train_save_evaluate_predict_iris(tmp_path):
    model_path = tmp_path / "iris.safetensors"
    result = ember("train", "--dataset", "iris", "--hidden", "8", "--optimizer", "adagrad", "--lr", "0.1",
                   "--epochs", "30", "--batch-size", "16", "--validation-split", "0.2", "--save", str(model_path))
    assert result.returncode == 0, result.stderr
    assert_no_traceback(result)
    lines = result.stdout.splitlines()
    header = next(i for i, line in enumerate(lines) if line.split() == ["loss", "accuracy"])
    assert lines[header + 1].split()[0] == "train" and lines[header + 2].split()[0] == "validation"
    assert lines[header + 1].endswith("%")
    assert f"model saved: {model_path}" in result.stdout
    model = io.load(model_path)
    assert repr(model).count("nn.Linear") == 2

    from ember.data import iris
    X, y = iris()
    evaluated = ember("evaluate", str(model_path), "--dataset", "iris")
    assert evaluated.returncode == 0, evaluated.stderr
    assert "ConfusionMatrix:" in evaluated.stdout and "[class: virginica]" in evaluated.stdout
    reported = float(evaluated.stdout.splitlines()[1].split()[-1].rstrip("%"))

    rows = X[::10]
    csv = tmp_path / "flowers.csv"
    np.savetxt(csv, rows, delimiter=",", fmt="%.1f")
    predicted = ember("predict", str(model_path), str(csv))
    assert predicted.returncode == 0, predicted.stderr
    labels = [int(line) for line in predicted.stdout.split()]
    from ember.train import predict
    assert labels == predict(model, rows).tolist()

    labelled = tmp_path / "labelled.csv"
    np.savetxt(labelled, np.column_stack([X, y]), delimiter=",", fmt="%.1f")
    scored = ember("predict", str(model_path), str(labelled), "--label-column", "-1", "--proba")
    assert scored.returncode == 0, scored.stderr
    probabilities = np.array([[float(p) for p in line.split(",")] for line in scored.stdout.split()])
    assert probabilities.shape == (150, 3)
    np.testing.assert_allclose(probabilities.sum(axis=1), 1.0, atol=1e-5)
    accuracy = float(scored.stderr.split("accuracy against column -1: ")[1].split("%")[0])
    assert accuracy == pytest.approx(reported, abs=0.01)


def test_train_checkpoint_and_resume_match_a_straight_run(tmp_path, data_dir):
    common = ["train", "--dataset", "ocr-letters:small", "--hidden", "10", "--lr", "0.1", "--batch-size", "10",
              "--quiet"]
    straight = ember(*common, "--epochs", "3", "--save", str(tmp_path / "straight.safetensors"), data_dir=data_dir)
    assert straight.returncode == 0, straight.stderr
    assert "test " in straight.stdout  # ocr-letters has a test set
    first = ember(*common, "--epochs", "1", "--checkpoint", str(tmp_path / "c.safetensors"), data_dir=data_dir)
    assert first.returncode == 0, first.stderr
    resumed = ember(*common, "--epochs", "3", "--resume", str(tmp_path / "c.safetensors"),
                    "--save", str(tmp_path / "resumed.safetensors"), data_dir=data_dir)
    assert resumed.returncode == 0, resumed.stderr
    a = io.load(tmp_path / "straight.safetensors").getParameters()[0]
    b = io.load(tmp_path / "resumed.safetensors").getParameters()[0]
    assert np.array_equal(a, b)
    table = straight.stdout[straight.stdout.index("after 3 epochs"):].splitlines()[1:4]
    assert resumed.stdout[resumed.stdout.index("after 3 epochs"):].splitlines()[1:4] == table


def test_train_lenet_on_mnist_then_evaluate(tmp_path, data_dir, monkeypatch):
    """``--model lenet`` with the recipe's settings on the first 2000 images (1600 to train, 400 held out),
    2 epochs: it learns, prints the metrics table, saves a model that ``ember evaluate`` loads."""
    for name in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
        monkeypatch.setenv(name, "1")  # two spinning BLAS threads on a busy 2-core machine: minutes, not seconds
    model_path = tmp_path / "lenet.safetensors"
    result = ember("train", "--dataset", "mnist", "--model", "lenet", "--limit", "2000", "--epochs", "2",
                   "--quiet", "--save", str(model_path), data_dir=data_dir)
    assert result.returncode == 0, result.stderr
    assert_no_traceback(result)
    out = result.stdout
    assert "mnist: 1600 training examples, 784 features, 10 classes, 400 held out" in out
    assert "nn.View(1, 28, 28, n_input_dims=1)" in out and "nn.SpatialConvolution(6 -> 16, 5x5)" in out
    assert "after 2 epochs (adam, learning rate 0.001, decay 0.001, batch size 32):" in out
    lines = out.splitlines()
    header = next(i for i, line in enumerate(lines) if line.split() == ["loss", "accuracy"])
    (train_name, train_loss, train_accuracy), (held_name, _, held_accuracy) = (
        lines[header + 1].split(), lines[header + 2].split())
    assert (train_name, held_name) == ("train", "validation")
    assert float(train_loss) < 1.0 and float(held_accuracy.rstrip("%")) > 75, out  # chance is 10%
    assert float(train_accuracy.rstrip("%")) > 75, out
    model = io.load(model_path)
    assert model.getParameters()[0].dtype == np.float32
    assert model.modules[0].n_input_dims == 1

    evaluated = ember("evaluate", str(model_path), "--dataset", "mnist", data_dir=data_dir)
    assert evaluated.returncode == 0, evaluated.stderr
    accuracy = float(evaluated.stdout.splitlines()[1].split()[-1].rstrip("%"))
    assert 75 < accuracy < 100  # all 10000 images, most of them never trained on


def test_train_limit_takes_the_first_examples():
    result = ember("train", "--dataset", "iris", "--limit", "40", "--validation-split", "0.25", "--epochs", "1",
                   "--quiet")
    assert result.returncode == 0, result.stderr
    assert "iris: 30 training examples, 4 features, 1 classes, 10 held out" in result.stdout  # the first 40
    # flowers are all setosa (Iris is sorted by species): the first N examples, not a sample
    assert "after 1 epochs (sgd, learning rate 0.01, batch size 1):" in result.stdout  # the mlp defaults


def test_runtime_errors_are_one_line(tmp_path):
    missing = ember("evaluate", str(tmp_path / "nope.safetensors"), "--dataset", "iris")
    assert missing.returncode == 1
    assert missing.stderr.strip().splitlines() == [f"ember evaluate: error: {tmp_path / 'nope.safetensors'}: "
                                                   f"no such file"]
    model_path = tmp_path / "m.safetensors"
    from ember import nn
    io.save(nn.Sequential(nn.Linear(3, 2), nn.LogSoftMax()), model_path)
    csv = tmp_path / "rows.csv"
    csv.write_text("1,2,3,4\n5,6,7,8\n")
    wrong_width = ember("predict", str(model_path), str(csv))
    assert wrong_width.returncode == 1
    assert_no_traceback(wrong_width)
    assert len(wrong_width.stderr.strip().splitlines()) == 1
    assert "Linear(3 -> 2): expected input of shape (3,) or (batch, 3), got (2, 4)" in wrong_width.stderr
    no_data = ember("train", "--dataset", "ocr-letters:tiny", "--epochs", "1", "--data-dir", str(tmp_path / "none"))
    assert no_data.returncode == 1
    assert "does not exist" in no_data.stderr and len(no_data.stderr.strip().splitlines()) == 1


# -- help and argument errors (in-process) ----------------------------------------------------

@pytest.mark.parametrize(("command", "expected"), [
    ("demo", ["--out", "--nonlinearity", "--epochs", "shipped with ember", "examples:"]),
    ("train", ["--dataset", "--hidden", "--activation", "--optimizer", "--lr", "--epochs", "--batch-size",
               "--seed", "--save", "--checkpoint", "--resume", "ocr-letters:SPLIT", "examples:",
               "--model {mlp,lenet}", "--lr-decay", "--limit N", "LeNet", "--model lenet"]),
    ("evaluate", ["model", "--dataset", "--split", "examples:"]),
    ("predict", ["model", "csv", "--label-column", "--proba", "examples:"]),
])
def test_help(command, expected, capsys):
    assert main([command, "--help"]) == 0
    text = capsys.readouterr().out
    for word in expected:
        assert word in text, word
    assert main(["--help"]) == 0
    assert command in capsys.readouterr().out


@pytest.mark.parametrize(("argv", "message"), [
    (["train"], "one of the arguments --dataset --data is required"),
    (["train", "--dataset", "cifar"], "unknown dataset 'cifar'"),
    (["train", "--dataset", "ocr-letters"], "ocr-letters needs a split"),
    (["train", "--dataset", "iris", "--lr", "0"], "argument --lr: expected a positive number, got '0'"),
    (["train", "--dataset", "iris", "--epochs", "x"], "argument --epochs: expected a non-negative integer"),
    (["train", "--dataset", "iris", "--batch-size", "0"], "argument --batch-size: expected a positive integer"),
    (["train", "--dataset", "iris", "--activation", "gelu"], "argument --activation: invalid choice: 'gelu'"),
    (["train", "--dataset", "iris", "--optimizer", "adamw"], "argument --optimizer: invalid choice: 'adamw'"),
    (["train", "--dataset", "iris", "--hidden", "0", "5"], "0 means no hidden layer"),
    (["train", "--dataset", "iris", "--shuffle", "--no-shuffle"], "not allowed with argument"),
    (["train", "--dataset", "mnist", "--model", "cnn"], "argument --model: invalid choice: 'cnn'"),
    (["train", "--dataset", "iris", "--model", "lenet"], "--model lenet takes 28x28 images: use --dataset mnist"),
    (["train", "--dataset", "mnist", "--model", "lenet", "--hidden", "5"], "--hidden shapes the mlp model"),
    (["train", "--dataset", "mnist", "--model", "lenet", "--activation", "relu", "--hidden", "5"],
     "--hidden and --activation shape the mlp model; lenet's layers are fixed"),
    (["train", "--dataset", "iris", "--optimizer", "rmsprop", "--lr-decay", "0.1"],
     "--lr-decay: rmsprop has no learning-rate decay"),
    (["train", "--dataset", "iris", "--limit", "0"], "argument --limit: expected a positive integer, got '0'"),
    (["demo", "--nonlinearity", "relu"], "argument --nonlinearity: invalid choice: 'relu'"),
    (["demo", "--epochs", "-3"], "argument --epochs: expected a positive integer, got '-3'"),
    (["evaluate", "m.safetensors"], "the following arguments are required: --dataset"),
    (["predict", "m.safetensors"], "the following arguments are required: csv"),
])
def test_bad_arguments_exit_2_with_one_line(argv, message, capsys):
    assert main(argv) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1, err
    assert err[0].startswith(f"ember {argv[0]}: error: ") and message in err[0]


# -- your own data, schedules, early stopping, logs, resume checks, recorded splits ---------------------------------

def write_csvs(folder: Path) -> None:
    rng = np.random.default_rng(0)
    X = rng.normal(size=(120, 3))
    y = (X[:, 0] + X[:, 1] > 0).astype(int)
    header = "a;b;c;label"
    np.savetxt(folder / "train.csv", np.c_[X[:90], y[:90]], delimiter=";", header=header, comments="", fmt="%.6g")
    np.savetxt(folder / "test.csv", np.c_[X[90:], y[90:]], delimiter=";", header=header, comments="", fmt="%.6g")
    np.savetxt(folder / "reg.csv", np.c_[X, X @ [1.0, -2.0, 0.5] + 0.3], delimiter=",", fmt="%.6g")


def test_train_on_csv_files_with_header_schedule_log_and_resume_checks(tmp_path):
    write_csvs(tmp_path)
    common = ["--data", "train.csv", "--test", "test.csv", "--header", "--delimiter", ";", "--label-column", "label",
              "--hidden", "8", "--schedule", "cosine", "--quiet"]
    done = ember("train", *common, "--lr", "0.1", "--epochs", "3", "--log", "logs/run.csv", "--checkpoint",
                 "c.safetensors", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert "train.csv: 90 training examples, 3 features, 2 classes, 30 held out" in done.stdout
    assert "cosine schedule" in done.stdout and "training log: logs/run.csv" in done.stdout
    log = (tmp_path / "logs" / "run.csv").read_text().splitlines()
    assert log[0] == "epoch,loss,accuracy,val_loss,val_accuracy,learning_rate,time" and len(log) == 4
    assert log[1].split(",")[5] == "0.1"
    for change, message in [(["--lr", "0.5"], "--lr 0.5 differs from the checkpoint's 0.1"),
                            (["--lr", "0.1", "--no-shuffle"], "--no-shuffle differs from the checkpoint's --shuffle"),
                            (["--lr", "0.1", "--seed", "2"], "--seed 2 differs from the checkpoint's 0"),
                            (["--lr", "0.1", "--clip-grad-norm", "1"],
                             "--clip-grad-norm 1.0 differs from the checkpoint's none"),
                            (["--lr", "0.1", "--limit", "50"], "the training data (50 rows, sha256 ")]:
        refused = ember("train", *common, *change, "--epochs", "4", "--resume", "c.safetensors", cwd=tmp_path)
        assert refused.returncode == 1 and message in refused.stderr, refused.stderr
        assert_no_traceback(refused)
    resumed = ember("train", *common, "--lr", "0.1", "--epochs", "4", "--resume", "c.safetensors", cwd=tmp_path)
    assert resumed.returncode == 0, resumed.stderr
    assert "after 4 epochs" in resumed.stdout


def test_train_regression_with_early_stopping_and_argument_errors(tmp_path, capsys):
    write_csvs(tmp_path)
    result = ember("train", "--data", "reg.csv", "--regression", "--label-column", "-1", "--optimizer", "adam",
                   "--lr", "0.01", "--epochs", "200", "--validation-split", "0.25", "--early-stopping", "2",
                   "--quiet", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert "reg.csv: 90 training examples, 3 features, targets, 30 held out" in result.stdout
    assert "(4): nn.LogSoftMax" not in result.stdout and "early stopping after epoch" in result.stdout
    lines = result.stdout.splitlines()
    assert lines[-3].split() == ["loss"] and float(lines[-1].split()[1]) < 1.0  # validation MSE
    assert main(["train", "--dataset", "iris", "--test", "x.csv"]) == 2
    assert "--test goes with --data" in capsys.readouterr().err
    assert main(["train", "--dataset", "iris", "--regression"]) == 2
    assert main(["train", "--data", "x.csv", "--dataset", "iris"]) == 2
    assert "not allowed with argument" in capsys.readouterr().err
    assert main(["train", "--data", str(tmp_path / "train.csv"), "--quiet", "--epochs", "1"]) == 1
    assert "line 1, column 1: 'a;b;c;label', not a number (is it a header? pass header=True)" in capsys.readouterr().err


def test_evaluate_uses_the_rows_train_held_out(tmp_path):
    saved = ember("train", "--dataset", "iris", "--hidden", "5", "--lr", "0.1", "--epochs", "5", "--validation-split",
                  "0.3", "--quiet", "--save", "iris.safetensors", cwd=tmp_path)
    assert saved.returncode == 0, saved.stderr
    held = io.info(tmp_path / "iris.safetensors")["ember train"]["held_out"]
    assert len(held) == 45 and held == sorted(held)
    both = ember("evaluate", "iris.safetensors", "--dataset", "iris", cwd=tmp_path)
    assert both.returncode == 0, both.stderr
    assert both.stdout.splitlines()[1].startswith("train") and both.stdout.splitlines()[2].startswith("test")
    assert "note: the model was trained on this part" in both.stdout
    validation = saved.stdout.splitlines()[-2].split()
    test = ember("evaluate", "iris.safetensors", "--dataset", "iris", "--split", "test", cwd=tmp_path)
    assert test.stdout.splitlines()[1].split() == ["test", *validation[1:]] and "note" not in test.stdout
    everything = ember("evaluate", "iris.safetensors", "--dataset", "iris", "--split", "all", cwd=tmp_path)
    assert "note: 105 of these 150 examples were used to train the model" in everything.stdout
    other = ember("evaluate", "iris.safetensors", "--dataset", "xor", "--split", "test", cwd=tmp_path)
    assert other.returncode == 2 and "--split test: xor has only all" in other.stderr


@pytest.mark.parametrize(("outputs", "last", "message"), [
    (2, nn.LogSoftMax, r"the model scores 2 classes, but iris has labels 0 to 2 \(3 classes\)"),
    (3, nn.Sigmoid, "the model ends in a Sigmoid with 3 outputs, but iris has one label per example"),
])
def test_evaluate_refuses_a_model_of_other_classes_in_one_line(tmp_path, outputs, last, message):
    """A model of fewer classes than the data's (the issue's 3-class model on 10-class data) is one line naming
    the model file, exit 2, before anything is scored."""
    model_path = io.save(nn.Sequential(nn.Linear(4, outputs), last()), tmp_path / "m.safetensors")
    result = ember("evaluate", str(model_path), "--dataset", "iris")
    lines = result.stderr.strip().splitlines()
    assert result.returncode == 2 and len(lines) == 1, result.stderr
    assert re.search("m.safetensors: " + message, lines[0]), lines[0]
