"""The char-LSTM workflow: the shipped text, deterministic training, bits per character falling, samples, CLI."""

from __future__ import annotations

import numpy as np
import pytest

from ember import data, models
from ember.cli import main
from ember.recipes import charrnn

TINY = dict(hidden=16, seq_length=10, batch_size=4, max_chars=4000, sample_length=40)


def test_the_shipped_text_is_tiny_shakespeare():
    text = data.text(data_dir=data.SHIPPED)
    assert len(text) == 1_115_394 and text.startswith("First Citizen:")


def test_streams_lay_out_the_next_character_as_target():
    ids = np.arange(101)
    x, y = charrnn.streams(ids, batch_size=2, seq_length=5)
    assert x.shape == y.shape == (10, 5, 2)
    np.testing.assert_array_equal(y, x + 1)
    np.testing.assert_array_equal(x[1, :, 0], [5, 6, 7, 8, 9])
    np.testing.assert_array_equal(x[0, :, 1], [50, 51, 52, 53, 54])
    with pytest.raises(ValueError, match="too short for 2 streams of 80 characters"):
        charrnn.streams(ids, 2, 80)


def test_training_is_deterministic_and_learns(tmp_path):
    first = charrnn.run(charrnn.Settings(epochs=3, **TINY), out=tmp_path)
    again = charrnn.run(charrnn.Settings(epochs=3, **TINY))
    assert first.history == again.history and first.samples == again.samples
    train, val = first.history["train_bpc"], first.history["val_bpc"]
    assert train[-1] < train[0] < np.log2(len(first.vocab)) + 0.5 and val[-1] < val[0]
    assert len(first.samples[-1]) == 40 and set(first.samples[-1]) <= set(first.vocab)
    assert first.figure == tmp_path / "charrnn-loss.png" and first.figure.is_file()
    other = charrnn.run(charrnn.Settings(epochs=1, seed=1, **TINY))
    assert other.history["train_bpc"][0] != train[0]


def test_char_lstm_builder():
    model = models.char_lstm(30, 8)
    assert model.forward(np.zeros((5, 2), dtype=np.int64)).shape == (5, 2, 30)
    assert "nn.LSTM(8 -> 8)" in repr(model)


def test_ember_lab_charrnn(tmp_path, capsys):
    assert main(["lab", "charrnn", "--hidden", "8", "--seq-length", "8", "--batch-size", "2", "--max-chars", "2000",
                 "--epochs", "1", "--dtype", "float32", "--clip-grad-norm", "1", "--out", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    assert "gradient norm clipped at 1;" in out
    assert "epoch   1  train " in out and "bits/char  validation " in out and "sample at temperature 0.8:" in out
    assert (tmp_path / "charrnn-loss.png").is_file()
