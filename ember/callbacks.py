"""Hooks into :func:`ember.train.fit`: the :class:`Callback` API, :class:`EarlyStopping` and :class:`CSVLogger`.

A callback overrides any of the hooks below; each receives the running
:class:`ember.train.Training` (``training.model``, ``training.params``,
``training.state`` with the optimizer's ``learning_rate``, ``training.history``).
Epochs and batches are numbered from 1, as the progress bar shows them.

========================================  =====================================================
``on_train_begin(training)``              before the first epoch (after a resume's restore)
``on_epoch_begin(training, epoch)``       before each epoch
``on_batch_end(training, batch, loss)``   after each optimizer step (``loss`` before the step)
``on_epoch_end(training, epoch, logs)``   after each epoch; a true return value stops training
``on_train_end(training)``                after the last epoch, also when training fails
========================================  =====================================================

A plain function ``callback(epoch, logs)`` is an ``on_epoch_end`` hook.
"""

from __future__ import annotations

import csv
import math
import os
import time
from pathlib import Path
from typing import Any

import numpy as np

from ember.errors import InputError
from ember.files import saving
from ember.nn.arguments import check_arguments

__all__ = ["CSVLogger", "Callback", "EarlyStopping"]


class Callback:
    """The base class of fit's hooks: every hook does nothing unless overridden."""

    def on_train_begin(self, training: Any) -> None:
        """Called once before the first epoch."""

    def on_epoch_begin(self, training: Any, epoch: int) -> None:
        """Called before epoch ``epoch`` (1-based)."""

    def on_batch_end(self, training: Any, batch: int, loss: float) -> None:
        """Called after the step on batch ``batch`` (1-based) with its loss as first evaluated."""

    def on_epoch_end(self, training: Any, epoch: int, logs: dict[str, float]) -> bool | None:
        """Called after epoch ``epoch`` with its metrics; return True to stop training."""
        return None

    def on_train_end(self, training: Any) -> None:
        """Called once at the end, whether training finished, stopped early or failed."""


class EarlyStopping(Callback):
    """Stop when ``monitor`` has not improved by more than ``min_delta`` for ``patience`` epochs.

    Args:
        monitor: the metric of the history to watch (``"val_loss"``, ``"val_accuracy"``,
            ``"loss"``, ``"accuracy"``).
        patience: how many epochs without improvement to allow.
        min_delta: the smallest change that counts as an improvement.
        mode: ``"min"``, ``"max"`` or ``"auto"`` (``max`` for accuracies, else ``min``).
        restore_best: at the end, put back the parameters of the best epoch.

    Attributes:
        best: the best value seen; ``best_epoch`` its epoch (1-based);
        stopped_epoch: the epoch after which training stopped (0 if it ran to the end).

    """

    def __init__(self, monitor: str = "val_loss", patience: int = 5, min_delta: float = 0.0, mode: str = "auto",
                 restore_best: bool = True) -> None:
        if mode not in ("auto", "min", "max"):
            raise InputError(f"EarlyStopping: mode must be 'auto', 'min' or 'max', got {mode!r}")
        if patience < 0 or min_delta < 0:
            raise InputError(f"EarlyStopping: patience and min_delta must be >= 0, got {patience} and {min_delta}")
        self.monitor, self.patience, self.min_delta, self.restore_best = monitor, int(patience), min_delta, restore_best
        self.mode = mode if mode != "auto" else ("max" if "accuracy" in monitor else "min")
        self.best = math.inf if self.mode == "min" else -math.inf
        self.best_epoch = self.stopped_epoch = self.wait = 0
        self.best_params: np.ndarray | None = None

    def __repr__(self) -> str:
        return (f"EarlyStopping(monitor={self.monitor!r}, patience={self.patience}, min_delta={self.min_delta}, "
                f"mode={self.mode!r}, restore_best={self.restore_best})")

    def improves(self, value: float) -> bool:
        """Whether ``value`` beats the best by more than ``min_delta``."""
        if self.mode == "min":
            return value < self.best - self.min_delta
        return value > self.best + self.min_delta

    def on_epoch_end(self, training: Any, epoch: int, logs: dict[str, float]) -> bool:
        if self.monitor not in logs:
            raise InputError(f"EarlyStopping: no metric {self.monitor!r} to monitor; this run records "
                             f"{', '.join(logs)} (val_* metrics need validation data)")
        value = logs[self.monitor]
        if self.improves(value):
            self.best, self.best_epoch, self.wait = value, epoch, 0
            if self.restore_best:
                self.best_params = training.params.copy()
            return False
        self.wait += 1
        if self.wait >= self.patience:
            self.stopped_epoch = epoch
            return True
        return False

    def on_train_end(self, training: Any) -> None:
        if self.restore_best and self.best_params is not None:
            training.params[...] = self.best_params

    def state_dict(self) -> dict[str, float]:
        """The counters that resume it (the best parameters are not kept in a checkpoint)."""
        return {"best": self.best, "best_epoch": self.best_epoch, "wait": self.wait}

    def load_state_dict(self, saved: dict[str, float]) -> None:
        """Continue counting from :meth:`state_dict`'s numbers."""
        self.best, self.best_epoch, self.wait = float(saved["best"]), int(saved["best_epoch"]), int(saved["wait"])


check_arguments(EarlyStopping)  # patience an integer, min_delta a number: checked as a module's arguments


class CSVLogger(Callback):
    """A training log as Torch ``optim.Logger`` keeps it, in CSV: one row per epoch.

    Columns: ``epoch``, every metric of the history (``loss``, ``accuracy``,
    ``val_loss``, ``val_accuracy``), ``learning_rate`` (the rate the epoch ran
    with) and ``time`` (the epoch's wall-clock seconds). Each row is flushed as
    it is written; a resumed run appends to the log of the run it continues.
    """

    def __init__(self, path: str | os.PathLike) -> None:
        self.path = Path(path)
        self._file: Any = None
        self._writer: Any = None
        self._columns: list[str] = []
        self._started = 0.0

    def on_train_begin(self, training: Any) -> None:
        self._columns = ["epoch", *training.history, "learning_rate", "time"]
        append = training.start > 0 and self.path.is_file() and self.path.stat().st_size > 0
        with saving(self.path):
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self._file = open(self.path, "a" if append else "w", newline="", encoding="utf-8")
            self._writer = csv.writer(self._file)
            if not append:
                self._writer.writerow(self._columns)
                self._file.flush()

    def on_epoch_begin(self, training: Any, epoch: int) -> None:
        self._started = time.perf_counter()

    def on_epoch_end(self, training: Any, epoch: int, logs: dict[str, float]) -> None:
        row = {"epoch": epoch, **logs, "learning_rate": training.epoch_learning_rate,
               "time": round(time.perf_counter() - self._started, 6)}
        with saving(self.path):
            self._writer.writerow(["" if row.get(name) is None else row[name] for name in self._columns])
            self._file.flush()

    def on_train_end(self, training: Any) -> None:
        if self._file is not None:
            self._file.close()
            self._file = None
