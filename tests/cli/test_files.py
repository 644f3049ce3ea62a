"""Commands never lose a file: no output over an input, no training for an output that cannot be written,
no trained model lost to a failed save; memory exhaustion is one line."""

from __future__ import annotations

import errno

import numpy as np
import pytest

from ember import io
from ember.cli import main
from ember.cli.common import guard


def write_ocr_csv(path, rows=6, seed=0):
    rng = np.random.default_rng(seed)
    labels = np.arange(rows) % 3
    pixels = (rng.random((rows, 8)) > 0.5).astype(int)
    np.savetxt(path, np.column_stack([labels, pixels]), fmt="%d", delimiter=",")
    return path.read_bytes()


@pytest.mark.parametrize("clash", ["train", "test", "outputs"])
def test_neuralnet_refuses_to_write_over_its_own_files(tmp_path, monkeypatch, capsys, clash):
    monkeypatch.chdir(tmp_path)
    before = write_ocr_csv(tmp_path / "t.csv")
    write_ocr_csv(tmp_path / "test.csv", seed=1)
    train_out = {"train": "t.csv", "test": "test.csv", "outputs": "same.out"}[clash]
    metrics = "same.out" if clash == "outputs" else "m.txt"
    assert main(["neuralnet", "t.csv", "test.csv", train_out, "test.out", metrics, "1", "4", "1", "0.1"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    expected = {"train": "TRAIN_OUT 't.csv' is the same file as TRAIN_CSV",
                "test": "TRAIN_OUT 'test.csv' is the same file as TEST_CSV",
                "outputs": "METRICS_OUT 'same.out' is the same file as TRAIN_OUT"}[clash]
    assert len(err) == 1 and expected in err[0] and "would be overwritten" in err[0]
    assert (tmp_path / "t.csv").read_bytes() == before
    assert not (tmp_path / "test.out").exists()


def test_train_refuses_a_save_path_it_cannot_write_before_training(tmp_path, capsys):
    (tmp_path / "folder").mkdir()
    assert main(["train", "--dataset", "iris", "--epochs", "1", "--quiet", "--save", str(tmp_path / "folder")]) == 1
    captured = capsys.readouterr()
    assert "after 1 epochs" not in captured.out  # refused before training, not after
    assert captured.err.strip().splitlines() == [
        f"ember train: error: --save {str(tmp_path / 'folder')!r} is a directory, expected a file path"]


def test_a_failed_final_save_keeps_the_trained_model_elsewhere(tmp_path, monkeypatch, capsys):
    real_save = io.save
    target = tmp_path / "model.safetensors"

    def full_disk(model, path, *args, **kwargs):
        if str(path) == str(target):
            raise OSError(errno.ENOSPC, "No space left on device")
        return real_save(model, path, *args, **kwargs)

    monkeypatch.setattr(io, "save", full_disk)
    assert main(["train", "--dataset", "iris", "--epochs", "1", "--quiet", "--save", str(target)]) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and f"--save {str(target)!r}: No space left on device; the trained model was kept in" in err[0]
    kept = err[0].rsplit(" kept in ", 1)[1]
    assert io.load(kept).forward(np.zeros((2, 4))).shape == (2, 3)


def test_memory_exhaustion_is_one_line_naming_the_size(capsys):
    def handler(args):
        np.empty((2**30, 2**20))  # 8 PiB: refused by the allocator at once

    assert guard("ember train", handler, None) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("ember train: error: Unable to allocate") and "PiB" in err[0]


@pytest.mark.parametrize("command", ["trace", "train", "sweep"])
def test_no_command_writes_over_its_input_or_one_output_over_another(tmp_path, monkeypatch, capsys, command):
    """Every command that reads and writes files checks them together, before any work (issue 12: ``ember trace
    --compare t.csv --out t.csv`` destroyed the CSV, and ``train --save X --log X`` lost the model)."""
    monkeypatch.chdir(tmp_path)
    before = write_ocr_csv(tmp_path / "sweep.csv")
    argv, expected = {
        "trace": (["trace", "--compare", "sweep.csv", "--out", "sweep.csv"],
                  "ember trace: error: --out 'sweep.csv' is the same file as --compare: it would be overwritten"),
        "train": (["train", "--data", "sweep.csv", "--epochs", "1", "--quiet", "--save", "m.x", "--log", "m.x"],
                  "ember train: error: --log 'm.x' is the same file as --save: it would be overwritten"),
        "sweep": (["neuralnet", "sweep", "--train", "sweep.csv", "--test", "sweep.csv", "--out", ".", "--epochs", "1",
                   "--executor", "none"],
                  "ember neuralnet sweep: error: --out's sweep.csv './sweep.csv' is the same file as --train: it would "
                  "be overwritten"),
    }[command]
    assert main(argv) == 2
    assert capsys.readouterr().err.strip().splitlines() == [expected]
    assert (tmp_path / "sweep.csv").read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["sweep.csv"]
