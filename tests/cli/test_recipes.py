"""The recipe commands: ``ember neuralnet`` as a subprocess on the real OCR files, the others in-process."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from ember.cli import main
from tests.optional import skip_reason

pytest.importorskip("matplotlib", reason=skip_reason("matplotlib", "the recipe commands"))


def ember(*argv: str, cwd: Path) -> subprocess.CompletedProcess:
    """Run ``python -m ember ARGV`` in ``cwd``."""
    env = dict(os.environ, MPLBACKEND="Agg")
    return subprocess.run([sys.executable, "-m", "ember", *argv], cwd=cwd, env=env, capture_output=True, text=True,
                          timeout=120)


def figures(out: str) -> list[Path]:
    """The paths that a command announced with ``wrote figure:``."""
    return [Path(line.split("wrote figure: ", 1)[1]) for line in out.splitlines() if line.startswith("wrote figure: ")]


def test_neuralnet_on_the_tiny_split(data_dir, tmp_path):
    ocr = data_dir / "ocr-letters"
    done = ember("neuralnet", str(ocr / "tiny_train.csv"), str(ocr / "tiny_test.csv"), "train.labels", "test.labels",
                 "metrics.txt", "2", "4", "2", "0.1", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    lines = (tmp_path / "metrics.txt").read_text().splitlines()
    assert [line.split(":")[0] for line in lines] == [
        "epoch=1 crossentropy(train)", "epoch=1 crossentropy(test)", "epoch=2 crossentropy(train)",
        "epoch=2 crossentropy(test)", "error(train)", "error(test)"]
    values = [float(line.split(": ")[1]) for line in lines]
    assert all(np.isfinite(values)) and 0 <= values[-1] <= 1
    assert len((tmp_path / "train.labels").read_text().splitlines()) == 2
    assert len((tmp_path / "test.labels").read_text().splitlines()) == 2  # tiny_test.csv has no final newline
    assert "epoch=2 crossentropy(test):" in done.stdout and "wrote metrics.txt" in done.stdout


def test_neuralnet_matches_train_and_test(data_dir, tmp_path):
    """The command writes what the library function returns (ZERO init is deterministic)."""
    from ember.recipes import ocr

    train_csv, test_csv = data_dir / "ocr-letters" / "small_train.csv", data_dir / "ocr-letters" / "small_test.csv"
    done = ember("neuralnet", str(train_csv), str(test_csv), "tr", "te", "m.txt", "1", "3", "2", "0.1",
                 "--check-gradient", "--plot-dir", "figs", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert "gradient check on 5 examples" in done.stdout and "-> ok" in done.stdout
    result = ocr.train_and_test(train_csv, test_csv, 1, 3, False, 0.1)  # paths work too
    written = np.loadtxt(tmp_path / "te", dtype=int)
    np.testing.assert_array_equal(written, result["y_hat_val"])
    assert f"error(test): {result['err_val']}" in (tmp_path / "m.txt").read_text()
    paths = figures(done.stdout)
    assert [p.name for p in paths] == ["crossentropy.png", "test_letters.png", "hidden_weights.png"]
    assert all((tmp_path / p).stat().st_size > 0 for p in paths)


def test_neuralnet_init_weights(data_dir, tmp_path, monkeypatch, capsys):
    """--init-weights ALPHA_CSV BETA_CSV: the metrics are train_and_test's from the same weights."""
    from ember.recipes import ocr

    monkeypatch.chdir(tmp_path)
    train_csv, test_csv = data_dir / "ocr-letters" / "tiny_train.csv", data_dir / "ocr-letters" / "tiny_test.csv"
    rng = np.random.default_rng(0)
    alpha, beta = rng.normal(0, 0.1, (3, 6)), rng.normal(0, 0.1, (10, 4))  # tiny: 5 pixels
    np.savetxt("alpha.csv", alpha, delimiter=",", fmt="%.17g")
    np.savetxt("beta.csv", beta, delimiter=",", fmt="%.17g")
    argv = ["neuralnet", str(train_csv), str(test_csv), "tr", "te", "m.txt", "2", "3", "1", "0.1", "--init-weights",
            "alpha.csv", "beta.csv"]
    assert main(argv) == 0
    assert "given (alpha.csv, beta.csv) initialisation" in capsys.readouterr().out
    result = ocr.train_and_test(train_csv, test_csv, 2, 3, True, 0.1, init=(alpha, beta))
    assert (tmp_path / "m.txt").read_text() == ocr.write_metrics(tmp_path / "expected.txt", result).read_text()
    assert main([*argv[:3], "alpha.csv", *argv[4:]]) == 2  # TRAIN_OUT would overwrite ALPHA_CSV
    assert main([*argv[:7], "4", *argv[8:]]) == 1  # 4 hidden units: alpha's shape does not fit
    assert "alpha file 'alpha.csv' has shape (3, 6), expected (4, 6)" in capsys.readouterr().err


def test_neuralnet_argument_errors(tmp_path, capsys):
    assert main(["neuralnet", "a.csv", "b.csv", "c", "d", "e", "1", "2", "3", "0.1"]) == 2
    assert "INIT_FLAG must be 1 (random) or 2 (zero), got '3'" in capsys.readouterr().err
    assert main(["neuralnet", "a.csv", "b.csv"]) == 2
    assert "required: TRAIN_OUT" in capsys.readouterr().err
    assert main(["neuralnet", str(tmp_path / "missing.csv"), "b.csv", "c", "d", "e", "1", "2", "1", "0.1"]) == 1
    err = capsys.readouterr().err
    assert err.startswith("ember neuralnet: error:") and "missing.csv" in err and len(err.splitlines()) == 1
    assert main(["neuralnet", "--help"]) == 0
    assert "TRAIN_CSV TEST_CSV TRAIN_OUT" in capsys.readouterr().out


def test_neuralnet_sweep(data_dir, tmp_path, capsys):
    code = main(["neuralnet", "sweep", "--data-dir", str(data_dir), "--split", "tiny", "--epochs", "2", "--hidden",
                 "2", "3", "--learning-rates", "0.1", "--out", str(tmp_path)])
    out = capsys.readouterr().out
    assert code == 0
    assert len((tmp_path / "sweep.csv").read_text().splitlines()) == 1 + 2 * 2
    assert [p.name for p in figures(out)] == ["crossentropy_vs_hidden_units.png", "crossentropy_vs_epoch_lr0.1.png"]
    assert main(["neuralnet", "sweep", "--train", "x.csv"]) == 2  # a bad argument
    assert "give both --train and --test" in capsys.readouterr().err


def test_iris(tmp_path, capsys):
    assert main(["iris", "--iterations", "50", "--out", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    assert out.count("symmetric relative error") == 2 and "ReQU Jacobian check" in out
    assert "training accuracy" in out
    paths = figures(out)
    assert sorted(p.name for p in paths) == ["iris-loss.png", "iris-regions-requ.png", "iris-regions-sigmoid.png",
                                             "requ-jacobian.png"]
    assert all(p.stat().st_size > 0 for p in paths)
    assert main(["iris", "--features", "1", "1", "--out", str(tmp_path)]) == 2  # a bad argument
    assert "two different feature indices" in capsys.readouterr().err


def test_lab_xor_and_grid(tmp_path, capsys):
    assert main(["lab", "xor", "--out", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    assert "all four predictions correct: yes" in out
    assert [p.name for p in figures(out)] == ["xor-loss.png", "xor-weights.png", "xor-hinton.png", "xor-decision.png"]
    assert main(["lab", "xor", "--layers", "2", "tanhh", "1", "sigmoid", "--out", str(tmp_path)]) == 1
    assert "unknown layer 'tanhh'" in capsys.readouterr().err
    assert main(["lab", "grid", "--activations", "relu", "--learning-rates", "0.25", "--inits", "zero", "--depths",
                 "1", "--seeds", "1", "--iterations", "5", "--out", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    assert "| relu | 0.25 | zero | 1 | 0.6931 | 0% |" in out
    assert (tmp_path / "xor-grid.csv").is_file() and len(figures(out)) == 2


def test_lab_mnist(data_dir, tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("EMBER_CACHE", str(tmp_path / "cache"))  # no downloaded training set: the shipped split
    assert main(["lab", "mnist", "--data-dir", str(data_dir), "--epochs", "1", "--train", "1000", "--layers", "16",
                 "relu", "10", "logsoftmax", "--quiet", "--out", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    assert "split 1000 for training / 9000 for testing" in out and "test accuracy" in out
    assert [p.name for p in figures(out)] == ["mnist-loss.png"]


def test_gradients(tmp_path, capsys):
    assert main(["gradients", "regression", "--iterations", "20", "--out", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    assert "Starting gradient descent at b = 0, m = 0, error = " in out and "After 20 iterations" in out
    assert main(["gradients", "relu"]) == 0
    assert "agree" in capsys.readouterr().out
    assert main(["gradients", "legendre", "--iterations", "200", "--out", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    assert out.splitlines()[1].startswith("99 ") and "Result: y = " in out
    assert [p.name for p in figures(out)] == ["legendre.png"]


def test_tour(capsys):
    assert main(["tour"]) == 0
    assert "=== 6. exercise" in capsys.readouterr().out


def test_lab_grid_writes_the_same_csv_on_every_executor(tmp_path, capsys):
    grid = ["lab", "grid", "--activations", "tanh", "relu", "--learning-rates", "0.25", "--inits", "glorot",
            "--depths", "1", "--seeds", "2", "--iterations", "20"]
    assert main(grid + ["--executor", "none", "--out", str(tmp_path / "none")]) == 0
    assert main(grid + ["--executor", "processes", "--workers", "2", "--out", str(tmp_path / "processes")]) == 0
    capsys.readouterr()
    assert (tmp_path / "none" / "xor-grid.csv").read_text() == (tmp_path / "processes" / "xor-grid.csv").read_text()
    assert main(grid + ["--executor", "threads"]) == 2
    assert "invalid choice: 'threads'" in capsys.readouterr().err
