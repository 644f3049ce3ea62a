"""ember.callbacks through fit: the hook order, early stopping with the best parameters restored, the CSV log."""

from __future__ import annotations

import csv

import numpy as np
import pytest

from ember import io, nn
from ember.callbacks import Callback, CSVLogger, EarlyStopping
from ember.train import fit

from .test_train import blobs, classifier


def noisy_validation():
    """Held-out blobs with every fifth label wrong: the validation loss falls, then rises as the model grows sure."""
    X, y = blobs(seed=1)
    y = y.copy()
    y[::5] = (y[::5] + 1) % 3
    return X, y


class Recorder(Callback):
    def __init__(self):
        self.events = []

    def on_train_begin(self, training):
        self.events.append(("begin", training.start))

    def on_epoch_begin(self, training, epoch):
        self.events.append(("epoch", epoch))

    def on_batch_end(self, training, batch, loss):
        self.events.append(("batch", batch, round(loss, 12)))

    def on_epoch_end(self, training, epoch, logs):
        self.events.append(("end", epoch, sorted(logs)))

    def on_train_end(self, training):
        self.events.append(("finish",))


def test_hooks_are_called_in_order_with_batches_and_epochs():
    X, y = blobs()
    recorder = Recorder()
    seen = []
    fit(classifier(), nn.ClassNLLCriterion(), X, y, config={"learning_rate": 0.1}, epochs=2, batch_size=25,
        callbacks=[recorder, lambda epoch, logs: seen.append(epoch)], progress=False)
    kinds = [event[0] for event in recorder.events]
    assert kinds == ["begin", "epoch", "batch", "batch", "batch", "end", "epoch", "batch", "batch", "batch", "end",
                     "finish"]
    assert [event[1] for event in recorder.events if event[0] == "batch"] == [1, 2, 3, 1, 2, 3]
    assert recorder.events[5] == ("end", 1, ["accuracy", "loss"]) and seen == [1, 2]


def test_early_stopping_stops_and_restores_the_best_parameters():
    X, y = blobs()
    Xv, yv = noisy_validation()
    model = classifier()
    snapshots = []

    class Snapshot(Callback):
        def on_epoch_end(self, training, epoch, logs):
            snapshots.append(training.params.copy())

    stopper = EarlyStopping(monitor="val_loss", patience=3)
    history = fit(model, nn.ClassNLLCriterion(), X, y, config={"learning_rate": 0.5}, epochs=200,
                  validation_data=(Xv, yv), callbacks=[Snapshot()], early_stopping=stopper, progress=False)
    losses = history["val_loss"]
    assert len(losses) < 200 and stopper.stopped_epoch == len(losses)
    assert stopper.best_epoch == int(np.argmin(losses)) + 1 == len(losses) - 3
    assert stopper.best == min(losses)
    np.testing.assert_array_equal(model.getParameters()[0], snapshots[stopper.best_epoch - 1])


def test_early_stopping_modes_min_delta_and_errors():
    X, y = blobs()
    rising = EarlyStopping(monitor="accuracy", patience=2, min_delta=0.5, restore_best=False)
    assert rising.mode == "max"
    history = fit(classifier(), nn.ClassNLLCriterion(), X, y, config={"learning_rate": 0.1}, epochs=50,
                  early_stopping=rising, progress=False)
    accuracy = history["accuracy"]
    assert history.epochs == rising.best_epoch + 2 == rising.stopped_epoch
    assert rising.best == accuracy[rising.best_epoch - 1] and max(accuracy[rising.best_epoch:]) <= rising.best + 0.5
    with pytest.raises(ValueError, match=r"EarlyStopping: no metric 'val_loss' to monitor; this run records loss, "
                                         r"accuracy \(val_\* metrics need validation data\)"):
        fit(classifier(), nn.ClassNLLCriterion(), X, y, epochs=2, early_stopping=True, progress=False)
    with pytest.raises(ValueError, match="mode must be 'auto', 'min' or 'max'"):
        EarlyStopping(mode="best")
    with pytest.raises(TypeError, match="early_stopping must be an EarlyStopping or True"):
        fit(classifier(), nn.ClassNLLCriterion(), X, y, early_stopping=3, progress=False)


def test_csv_log_has_a_row_per_epoch_with_metrics_rate_and_time(tmp_path):
    X, y = blobs()
    Xv, yv = blobs(seed=1)
    path = tmp_path / "logs" / "run.csv"
    history = fit(classifier(), nn.ClassNLLCriterion(), X, y, config={"learning_rate": 0.4}, epochs=4,
                  validation_data=(Xv, yv), schedule="cosine", log=path, progress=False)
    with open(path, newline="") as file:
        rows = list(csv.DictReader(file))
    assert list(rows[0]) == ["epoch", "loss", "accuracy", "val_loss", "val_accuracy", "learning_rate", "time"]
    assert [int(row["epoch"]) for row in rows] == [1, 2, 3, 4]
    assert [float(row["loss"]) for row in rows] == history["loss"]
    assert [float(row["val_accuracy"]) for row in rows] == history["val_accuracy"]
    np.testing.assert_allclose([float(row["learning_rate"]) for row in rows],
                               [0.4 * (1 + np.cos(np.pi * e / 4)) / 2 for e in range(4)], rtol=1e-12)
    assert all(float(row["time"]) >= 0 for row in rows)


def test_resumed_run_appends_to_its_log_and_keeps_the_early_stopping_count(tmp_path):
    X, y = blobs()
    common = dict(config={"learning_rate": 0.5}, validation_data=noisy_validation(), progress=False)
    straight = EarlyStopping(patience=3, restore_best=False)
    expected = fit(classifier(), nn.ClassNLLCriterion(), X, y, epochs=200, early_stopping=straight, **common)
    path, log = tmp_path / "c.safetensors", tmp_path / "run.csv"
    fit(classifier(), nn.ClassNLLCriterion(), X, y, epochs=3, checkpoint=path, log=log,
        early_stopping=EarlyStopping(patience=3, restore_best=False), **common)
    assert io.load_checkpoint(path).extra["callbacks"]["0"]["best_epoch"] >= 1
    resumed = EarlyStopping(patience=3, restore_best=False)
    history = fit(classifier(), nn.ClassNLLCriterion(), X, y, epochs=200, resume=path, log=log,
                  early_stopping=resumed, **common)
    assert history == expected and resumed.stopped_epoch == straight.stopped_epoch
    with open(log, newline="") as file:
        rows = list(csv.reader(file))
    assert rows[0][0] == "epoch" and [int(r[0]) for r in rows[1:]] == list(range(1, history.epochs + 1))


@pytest.mark.filterwarnings("ignore::RuntimeWarning")
@pytest.mark.filterwarnings("ignore:invalid value encountered in log")
def test_logger_closes_its_file_when_training_fails(tmp_path):
    X, y = blobs()
    X = np.abs(X) + 0.1
    X[25] = -1.0  # finite data (accepted), whose log makes the loss NaN during training
    model = nn.Sequential(nn.Log(), nn.Linear(2, 3), nn.LogSoftMax())
    logger = CSVLogger(tmp_path / "run.csv")
    with pytest.raises(FloatingPointError):
        fit(model, nn.ClassNLLCriterion(), X, y, epochs=2, batch_size=5, callbacks=[logger], progress=False)
    assert logger._file is None and (tmp_path / "run.csv").read_text().startswith("epoch,loss,accuracy")
