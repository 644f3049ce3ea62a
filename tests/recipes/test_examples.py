"""Every example script runs as a script (with small settings) and writes its figures."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.optional import skip_reason

pytest.importorskip("matplotlib", reason=skip_reason("matplotlib", "the examples"))

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"


def run_example(name: str, *argv: str, cwd: Path) -> str:
    env = dict(os.environ, MPLBACKEND="Agg")
    done = subprocess.run([sys.executable, str(EXAMPLES / name), *argv], cwd=cwd, env=env, capture_output=True,
                          text=True, timeout=180)
    assert done.returncode == 0, done.stderr
    return done.stdout


def written(out: str) -> list[Path]:
    return [Path(line.split(" ", 1)[1].removeprefix("figure: ")) for line in out.splitlines()
            if line.startswith("wrote ")]


def test_tour_of_nn(tmp_path):
    out = run_example("tour_of_nn.py", cwd=tmp_path)
    assert "=== 2a. CMul" in out and "symmetric relative error" in out


def test_ocr_letters(data_dir, tmp_path):
    out = run_example("ocr_letters.py", "--epochs", "1", "--hidden", "4", "--out", "figs", cwd=tmp_path)
    assert "gradient check" in out and out.count("error(train):") == 2
    paths = written(out)
    assert len(paths) == 1 + 3 + 3 and all((tmp_path / p).stat().st_size > 0 for p in paths)


def test_iris_own_layer(tmp_path):
    out = run_example("iris_own_layer.py", "--iterations", "20", "--out", "figs", cwd=tmp_path)
    assert "ReQU Jacobian check" in out and "gradient check with ReQU" in out
    assert len(written(out)) == 4


def test_vectorised_gradients(tmp_path):
    out = run_example("vectorised_gradients.py", "--iterations", "100", "--out", "figs", cwd=tmp_path)
    assert "After 1000 iterations" in out and "dJ/dW" in out and "Result: y = " in out
    assert len(written(out)) == 2


def test_backprop_lab(tmp_path):
    out = run_example("backprop_lab.py", "--seeds", "1", "--mnist-epochs", "0", "--out", "figs", cwd=tmp_path)
    assert "all four correct: True" in out and "| activation |" in out and "MNIST part skipped" in out
    assert len(written(out)) == 4 + 3


def test_char_rnn(tmp_path):
    out = run_example("char_rnn.py", "--hidden", "8", "--seq-length", "8", "--batch-size", "2", "--max-chars", "2000",
                      "--out", "figs", cwd=tmp_path)
    assert "bits/char  validation" in out and (tmp_path / "figs" / "charrnn-loss.png").is_file()
