"""Training loop, evaluation and prediction: ``fit``, ``evaluate``, ``predict``, ``predict_proba``.

``fit`` is the loop every Torch ``optim`` script writes by hand, with the
parameters flattened once by ``model.getParameters()`` and an ``feval`` closure
handed to a functional optimizer from :mod:`ember.optim`::

    def feval(x):
        grads.fill(0)                                   # zeroGradParameters
        output = model.forward(X_batch)
        loss = criterion.forward(output, y_batch)
        model.backward(X_batch, criterion.backward(output, y_batch))
        return loss, grads

    optim.adagrad(feval, params, state)

written as a few named steps of a :class:`Training` (one batch, one epoch, the
end of an epoch, the checkpoint) that keeps its state in attributes.

Accuracy is reported as the criterion declares in ``output_meaning``
(:mod:`ember.nn.criterion`):

* ``"scores"`` (``ClassNLLCriterion``, ``CrossEntropyCriterion``,
  ``MultiMarginCriterion``, ``MultiClassHingeCriterion``, ``SpatialClassNLLCriterion``): the
  predicted class is the argmax over the criterion's ``class_axis`` (the last axis, or -3 for the
  ``(n, C, H, W)`` of ``SpatialClassNLLCriterion``: the fraction of correct pixels per example), compared with
  the integer label;
* ``"probability"`` (``BCECriterion``): each output is a probability, predicted 1
  when > 0.5, compared with the target thresholded at 0.5 (the fraction of
  correct elements per example, for multi-label outputs);
* ``"value"`` (``MSECriterion`` and every other criterion): regression, no accuracy.
"""

from __future__ import annotations

import hashlib
import math
import os
import sys
from collections.abc import Callable, Iterable, Sequence
from typing import Any

import numpy as np

from ember import io, optim
from ember.callbacks import Callback, CSVLogger, EarlyStopping
from ember.errors import InputError, InputTypeError, NonFiniteError
from ember.nn.containers import Sequential
from ember.nn.criterion import Criterion
from ember.nn.module import Module
from ember.random import get_rng
from ember.threads import blas_threads

__all__ = ["DistributedTraining", "History", "ResumeMismatchError", "Training", "evaluate", "fit", "predict",
           "predict_proba"]

METRICS = ("loss", "accuracy")
#: the meanings of a criterion's input for which accuracy is defined (see the module docstring).
CLASSIFICATION = ("scores", "probability")


class History(dict):
    """Per-epoch metrics of a :func:`fit` run: metric name → list of values, one per completed epoch.

    Keys: ``loss`` and, for classification criteria, ``accuracy`` (training set,
    averaged over the epoch's batches, each taken before its update step); with
    validation data also ``val_loss`` and ``val_accuracy`` (after the epoch, in
    evaluation mode). It is a ``dict``, so ``history["loss"][-1]`` is the last
    epoch's training loss and two histories compare with ``==``.
    """

    @property
    def epochs(self) -> int:
        """The number of completed epochs recorded."""
        return max((len(values) for values in self.values()), default=0)

    def last(self) -> dict[str, float]:
        """The last epoch's value of every metric."""
        return {name: values[-1] for name, values in self.items() if values}

    def __repr__(self) -> str:
        last = ", ".join(f"{name}={value:.4g}" for name, value in self.last().items())
        return f"History(epochs={self.epochs}{', ' if last else ''}{last})"


# -- helpers ----------------------------------------------------------------------------------

def _finite(array: np.ndarray, name: str) -> np.ndarray:
    """``array``, after checking that it holds no inf or NaN (which would silently turn parameters into
    NaN, or predictions into nonsense); the error names the first bad row and column.
    """
    if array.dtype.kind == "f" and not np.isfinite(array).all():
        where = np.argwhere(~np.isfinite(array))[0]
        position = f"row {where[0]}" + (f", column {where[1]}" if len(where) > 1 else "")
        if len(where) > 2:
            position += f" (index {tuple(int(i) for i in where)})"
        raise InputError(f"{name} holds {array[tuple(where)]} at {position}: the data must be finite")
    return array


def _array(values: Any, name: str) -> np.ndarray:
    """``np.asarray(values)``, or an ember error naming ``name`` when NumPy cannot make one array of it (rows
    of different lengths, a dict).
    """
    if values is None or isinstance(values, (str, bytes, dict, set)):
        raise InputTypeError(f"{name} must be an array, got {type(values).__name__}")
    try:
        return np.asarray(values)
    except (ValueError, TypeError) as error:
        raise InputTypeError(f"{name} must be an array (rows of one length), got {type(values).__name__}: "
                             f"{error}") from None


def _inputs(X: Any, dtype: np.dtype, name: str) -> np.ndarray:
    """``X`` as an array of the model's dtype (a copy only when the dtype differs), checked to be finite."""
    array = _array(X, name)
    if array.dtype.kind not in "fiub":
        raise InputTypeError(f"{name} must be numeric, got dtype {array.dtype}")
    if array.ndim == 0 or len(array) == 0:
        raise InputError(f"{name} must hold at least one example, got shape {array.shape}")
    return _finite(array, name).astype(dtype, copy=False)


def _targets(y: Any, n: int, meaning: str, dtype: np.dtype, name: str) -> np.ndarray:
    """``y`` as integer labels for class scores, else as an array of the model's dtype."""
    array = _array(y, name)
    if array.dtype.kind not in "fiub":
        raise InputTypeError(f"{name} must be numeric, got dtype {array.dtype}")
    if array.ndim == 0 or len(array) != n:
        raise InputError(f"{name} must have one target per example ({n}), got shape {array.shape}")
    _finite(array, name)
    if meaning == "scores" and array.dtype.kind != "i":
        if array.dtype.kind in "ub" or (array.dtype.kind == "f" and np.all(array == np.round(array))):
            return array.astype(np.int64)
        raise InputTypeError(f"{name} must hold integer class labels (0-based) for this criterion, got {array.dtype}")
    if meaning != "scores" and array.dtype.kind in "fiub":
        return array.astype(dtype, copy=False)
    return array


def _correct(output: np.ndarray, target: np.ndarray, meaning: str, class_axis: int = -1) -> float:
    """The number of correctly classified examples in a batch (fractional for multi-label outputs, and
    for scores per pixel: the criterion's ``class_axis`` counts from the end, -3 for ``(n, C, H, W)``).
    """
    if meaning == "scores":
        hits = np.count_nonzero(output.argmax(axis=class_axis) == target)
        return hits / math.prod(output.shape[class_axis + 1:]) if class_axis != -1 else float(hits)
    hits = np.count_nonzero((output > 0.5) == (target > 0.5))
    return hits * (len(output) if output.ndim > 1 else 1) / output.size


def _batch_weight(criterion: Criterion, count: int) -> int:
    """How much a batch's loss counts in an average over examples (its size when the loss is a mean)."""
    return count if getattr(criterion, "sizeAverage", True) else 1


#: ember.optim names that are not ``x, [fx] = opt(feval, x, state)`` steps: helpers, schedules, whole minimisations
#: (cg, cmaes, de, fista) and asgd, which also returns its average.
_NOT_STEPS = ("checkgrad", "cubic_interpolate", "strong_wolfe", "schedules", "asgd", "cg", "cmaes", "de", "fista")


def _resolve_optimizer(optimizer: Callable | str) -> Callable:
    if isinstance(optimizer, str):
        function = getattr(optim, optimizer, None)
        if function is None or optimizer not in optim.__all__ or optimizer in _NOT_STEPS:
            names = ", ".join(n for n in optim.__all__ if n not in _NOT_STEPS)
            raise InputError(f"unknown optimizer {optimizer!r}; choose one of {names}")
        return function
    if not callable(optimizer):
        raise InputTypeError(f"optimizer must be an ember.optim function or its name, got {type(optimizer).__name__}")
    return optimizer


def _check_batch_size(batch_size: int | None, n: int) -> int:
    if batch_size is None:
        return n
    if isinstance(batch_size, bool) or not isinstance(batch_size, (int, np.integer)) or batch_size < 1:
        raise InputError(f"batch_size must be None (full batch) or a positive integer, got {batch_size!r}")
    return min(int(batch_size), n)


def _progress_bar(enabled: bool, total: int, initial: int) -> Any:
    """A tqdm bar on stderr when ``enabled`` and stderr is a terminal, else ``None``."""
    if not enabled or not sys.stderr.isatty():
        return None
    from tqdm import tqdm

    return tqdm(total=total, initial=initial, unit="batch", file=sys.stderr, dynamic_ncols=True, leave=True)


def _generator_states(model: Module) -> dict[str, Any]:
    """The states of the random generators the model draws from: the library-wide one, and any
    module's own ``rng`` (e.g. a Dropout given one), by position in ``listModules()``.
    """
    states: dict[str, Any] = {"library": get_rng().bit_generator.state}
    for index, module in enumerate(model.listModules()):
        generator = getattr(module, "rng", None)
        if isinstance(generator, np.random.Generator):
            states[str(index)] = generator.bit_generator.state
    return states


def _set_generator_states(model: Module, states: dict[str, Any]) -> None:
    """Undo :func:`_generator_states`."""
    modules = model.listModules()
    for key, state in states.items():
        generator = get_rng() if key == "library" else getattr(modules[int(key)], "rng", None)
        if isinstance(generator, np.random.Generator):
            generator.bit_generator.state = state


def _restore_from_checkpoint(path: Any, model: Module, params: np.ndarray, optimizer_name: str) -> io.Checkpoint:
    """Load a checkpoint and copy its parameters and persistent state into ``model``."""
    checkpoint = io.load_checkpoint(path, trusted={type(m) for m in model.listModules()})
    if io.architecture(checkpoint.model, modes=False) != io.architecture(model, modes=False):
        raise InputError(f"{path}: the checkpoint's model differs from the model given to fit "
                         f"(checkpoint: {checkpoint.model.describe()}, given: {model.describe()})")
    saved_name = checkpoint.extra.get("optimizer")
    if saved_name is not None and saved_name != optimizer_name:
        raise InputError(f"{path}: the checkpoint was written by optimizer {saved_name!r}, "
                         f"fit was given {optimizer_name!r}")
    saved, _ = checkpoint.model.getParameters()
    if saved.dtype != params.dtype:
        raise InputError(f"{path}: the checkpoint's parameters are {saved.dtype}, the model's {params.dtype}")
    params[...] = saved
    for mine, theirs in zip(model.listModules(), checkpoint.model.listModules()):
        for name in mine.declared_buffers():
            value, current = getattr(theirs, name), getattr(mine, name)
            if value is None or current is None or current.shape != value.shape:  # (an unset h0, say)
                setattr(mine, name, None if value is None else value.copy())
            else:
                current[...] = value
    return checkpoint


class ResumeMismatchError(ValueError):
    """``fit(resume=...)`` given other data or settings than the checkpoint's run: ``what`` differs.

    Attributes:
        what: the setting (a configuration key such as ``learning_rate``, ``batch_size``,
            ``shuffle``, ``schedule``, ``seed`` or ``data``).
        given: its value in this call; ``saved``: its value in the checkpoint.

    """

    def __init__(self, path: Any, what: str, given: Any, saved: Any) -> None:
        self.what, self.given, self.saved = what, given, saved
        super().__init__(f"{path}: {what} {given} differs from the checkpoint's {saved}; resume with the same "
                         f"settings, or start a new run")


def _fingerprint(X: np.ndarray, y: np.ndarray) -> str:
    """Rows and a short sha256 of the training data, to recognise it again on resume."""
    digest = hashlib.sha256()
    for array in (X, y):
        digest.update(str((array.shape, array.dtype.str)).encode())
        digest.update(np.ascontiguousarray(array).data)
    return f"{len(X)} rows, sha256 {digest.hexdigest()[:12]}"


def _scalars(config: dict[str, Any]) -> dict[str, Any]:
    """The configuration entries that are plain numbers, strings or flags (arrays are left out)."""
    return {key: value for key, value in config.items() if isinstance(value, (bool, int, float, str))}


class _EpochFunction(Callback):
    """A plain ``callback(epoch, logs)`` as an ``on_epoch_end`` hook."""

    def __init__(self, function: Callable[[int, dict[str, float]], Any]) -> None:
        if not callable(function):
            raise InputTypeError(f"callbacks must be ember Callbacks or functions callback(epoch, logs), "
                                 f"got {type(function).__name__}")
        self.function = function

    def on_epoch_end(self, training: Any, epoch: int, logs: dict[str, float]) -> Any:
        return self.function(epoch, logs)


def _schedule_name(schedule: Any) -> str | None:
    return None if schedule is None else (schedule if isinstance(schedule, str) else
                                          getattr(schedule, "__name__", type(schedule).__name__))


# -- fit --------------------------------------------------------------------------------------

class Training:
    """One :func:`fit` run: the model, its flat parameters, the optimizer state and the history, and the
    steps of the loop (:meth:`run_batch`, :meth:`run_epoch`, :meth:`end_epoch`, :meth:`save_checkpoint`).

    Construct it through :func:`fit`, which checks the arguments; ``epoch`` and ``batch`` are 0-based.
    """

    def __init__(self, model: Module, criterion: Criterion, X: np.ndarray, y: np.ndarray, *, optimizer: Callable,
                 config: dict[str, Any], batch_size: int, shuffle: bool, validation: tuple | None,
                 metrics: Sequence[str], seed: int | None, checkpoint: str | os.PathLike | None,
                 callbacks: Sequence[Callback] = (), schedule: Any = None, epochs: int = 1,
                 fast: bool = False, penalty: Callable[[Module], float] | None = None,
                 clip: float | None = None) -> None:
        self.model, self.criterion, self.X, self.y = model, criterion, X, y
        self.penalty = penalty
        self.config, self.seed, self.clip = dict(config), seed, clip
        self.callbacks = list(callbacks)
        self.batch_hooks = [c for c in self.callbacks if type(c).on_batch_end is not Callback.on_batch_end]
        self.epoch_learning_rate: float | None = None
        self.params, self.grads = model.getParameters()
        self.optimizer, self.optimizer_name = optimizer, getattr(optimizer, "__name__", type(optimizer).__name__)
        self.state: dict[str, Any] = dict(config)
        self.size, self.n_batches = batch_size, -(-len(X) // batch_size)
        self.shuffle, self.validation, self.metrics, self.checkpoint = shuffle, validation, metrics, checkpoint
        self.rng = np.random.default_rng(seed)
        self.meaning = criterion.output_meaning
        self.class_axis = criterion.class_axis
        self.with_accuracy = "accuracy" in metrics and self.meaning in CLASSIFICATION
        names = [name for name in METRICS if name in metrics and (name == "loss" or self.with_accuracy)]
        if validation is not None:
            names += [f"val_{name}" for name in list(names)]
        self.history = History({name: [] for name in names})
        self.start = self.epoch = self.batch = 0
        self.bar: Any = None
        self.inputs: np.ndarray | None = None
        self.targets: np.ndarray | None = None
        self.first: tuple[float, float] | None = None  # (loss, correct) of the current batch's first evaluation
        self.schedule_spec = schedule
        self._data_fingerprint: str | None = None
        self.schedule = self._make_schedule(schedule, epochs)

        # per-batch hooks, a penalty and clipping need Python steps
        compilable = fast and optimizer is optim.sgd and not self.batch_hooks and penalty is None and clip is None
        self.compiled = _compiled(model, criterion) if compilable else None
        # batch_size=1 steps on single examples (a (n,) row, not a (1, n) batch through GEMM), unless a
        # module needs the batch dimension (batch normalisation)
        self.per_example = batch_size == 1 and not any("BatchNormalization" in type(m).__name__
                                                       for m in model.listModules())

    def _make_schedule(self, schedule: Any, epochs: int) -> Any:
        """The learning-rate schedule over ``self.state``: from its name or from a ``state -> Schedule`` factory."""
        if schedule is None:
            return None
        if isinstance(schedule, str):
            return optim.schedules.make(schedule, self.state, epochs=epochs)
        if not callable(schedule):
            raise InputTypeError(f"schedule must be a name ({', '.join(optim.schedules.SCHEDULES)}) or a function of "
                                 f"the optimizer state returning a schedule, got {type(schedule).__name__}")
        return schedule(self.state)

    def settings(self) -> dict[str, Any]:
        """What must not change between a run and its resumption: configuration, batching, schedule, seed, data."""
        if self._data_fingerprint is None:  # hashed once per run
            self._data_fingerprint = _fingerprint(self.X, self.y)
        return {"config": _scalars(self.config), "batch_size": self.size, "shuffle": self.shuffle,
                "schedule": _schedule_name(self.schedule_spec), "seed": self.seed, "data": self._data_fingerprint,
                "clip_grad_norm": self.clip}

    def _check_settings(self, path: Any, saved: dict[str, Any]) -> None:
        """Raise :class:`ResumeMismatchError` for the first setting that differs from the checkpoint's."""
        given = self.settings()
        for key in sorted(set(given["config"]) | set(saved.get("config", {}))):
            mine, theirs = given["config"].get(key), saved.get("config", {}).get(key)
            if mine != theirs:
                raise ResumeMismatchError(path, key, mine, theirs)
        for key in ("data", "batch_size", "shuffle", "schedule", "seed", "clip_grad_norm"):
            if key in saved and given[key] != saved[key]:
                raise ResumeMismatchError(path, key, given[key], saved[key])

    def resume(self, path: str | os.PathLike, config: dict[str, Any]) -> io.Checkpoint:
        """Continue from a checkpoint: parameters, optimizer state (``config`` overrides it), generators, history;
        return the checkpoint read.
        """
        saved = _restore_from_checkpoint(path, self.model, self.params, self.optimizer_name)
        if "settings" in saved.extra:
            self._check_settings(path, saved.extra["settings"])
        self.state.clear()
        self.state.update({**saved.optimizer_state, **config})
        if self.schedule is not None and "schedule" in saved.extra:
            self.schedule.load_state_dict(saved.extra["schedule"])
        for index, state in saved.extra.get("callbacks", {}).items():
            if int(index) < len(self.callbacks) and hasattr(self.callbacks[int(index)], "load_state_dict"):
                self.callbacks[int(index)].load_state_dict(state)
        if saved.rng_state is not None:
            self.rng.bit_generator.state = saved.rng_state
        _set_generator_states(self.model, saved.extra.get("generator_states", {}))
        self.history = History({name: list(saved.history.get(name, [])) for name in self.history})
        self.start = saved.epoch
        return saved

    def feval(self, x: np.ndarray) -> tuple[float, np.ndarray]:
        """The optimizer's closure: loss and gradient of the current batch at parameters ``x``."""
        if x is not self.params:
            self.params[...] = x
        self.grads.fill(0)
        inputs, targets = self.inputs, self.targets
        output = self.model.forward(inputs)
        loss = self.criterion.forward(output, targets)
        if self.penalty is not None:  # a loss term outside the criterion; it adds its own gradient
            loss += float(self.penalty(self.model))
        if self.first is None:
            if not math.isfinite(loss):
                raise NonFiniteError(f"fit: the loss is {loss} at epoch {self.epoch + 1}, batch {self.batch + 1} "
                                         f"of {self.n_batches}; training stopped (try a lower learning rate)")
            correct = _correct(output, targets, self.meaning, self.class_axis) if self.with_accuracy else 0.0
            self.first = (loss, correct)
        self.model.backward(inputs, self.criterion.backward(output, targets))
        if self.clip is not None:
            optim.clip_grad_norm(self.grads, self.clip)
        return loss, self.grads

    def run_batch(self, inputs: np.ndarray, targets: np.ndarray) -> tuple[float, float]:
        """One optimizer step on a batch; its loss and correct count as first evaluated (before the step)."""
        self.inputs, self.targets, self.first = inputs, targets, None
        result, _ = self.optimizer(self.feval, self.params, self.state)
        if result is not self.params:
            self.params[...] = result
        return self.first

    def run_examples(self, X: np.ndarray, y: np.ndarray) -> tuple[float, float]:
        """The epoch's per-example steps (``batch_size=1``): one ``(n,)`` row per step, as :meth:`run_batch` takes a
        batch, with what does not change between steps looked up once; the summed loss and the correct count.
        """
        weight = _batch_weight(self.criterion, 1)
        hooks, bar, optimizer, feval, params, state = \
            self.batch_hooks, self.bar, self.optimizer, self.feval, self.params, self.state
        loss_sum = correct = 0.0
        for batch in range(len(X)):
            self.batch, self.inputs, self.targets, self.first = batch, X[batch], y[batch], None
            result, _ = optimizer(feval, params, state)
            if result is not params:
                params[...] = result
            loss, hits = self.first
            loss_sum += loss * weight
            correct += hits
            for hook in hooks:
                hook.on_batch_end(self, batch + 1, loss)
            if bar is not None:
                bar.update(1)
        return loss_sum, correct

    def run_epoch(self) -> dict[str, float]:
        """One pass over the training set, in a new random order when shuffling; the epoch's training metrics."""
        X, y, size, bar = self.X, self.y, self.size, self.bar
        order = self.rng.permutation(len(X)) if self.shuffle else None
        if self.compiled is not None:
            loss_sum, correct = self.run_compiled_epoch(order)
        else:
            if order is not None:
                X, y = X[order], y[order]
            loss_sum = correct = 0.0
            if self.per_example:
                loss_sum, correct = self.run_examples(X, y)
            for batch in range(0 if self.per_example else self.n_batches):
                self.batch, low = batch, batch * size
                inputs = X[low:low + size]
                loss, hits = self.run_batch(inputs, y[low:low + size])
                loss_sum += loss * _batch_weight(self.criterion, len(inputs))
                correct += hits
                for hook in self.batch_hooks:
                    hook.on_batch_end(self, batch + 1, loss)
                if bar is not None:
                    bar.update(1)
        logs: dict[str, float] = {}
        if "loss" in self.history:
            logs["loss"] = loss_sum / len(X)
        if "accuracy" in self.history:
            logs["accuracy"] = correct / len(X)
        return logs

    def run_compiled_epoch(self, order: np.ndarray | None) -> tuple[float, float]:
        """The epoch's steps in ``ember.fast``'s kernel; the summed (weighted) loss and the correct count."""
        corrects = np.zeros(self.n_batches) if self.with_accuracy else None
        losses = self.compiled.train(self.X, self.y, self.state, batch_size=self.size, order=order,
                                     corrects=corrects)
        bad = np.flatnonzero(~np.isfinite(losses))
        if bad.size:
            self.batch = int(bad[0])
            raise NonFiniteError(f"fit: the loss is {losses[bad[0]]} at epoch {self.epoch + 1}, batch "
                                     f"{self.batch + 1} of {self.n_batches}; training stopped (try a lower "
                                     f"learning rate)")
        self.batch = self.n_batches - 1
        counts = np.full(self.n_batches, self.size)
        counts[-1] = len(self.X) - self.size * (self.n_batches - 1)
        weights = counts if getattr(self.criterion, "sizeAverage", True) else np.ones(self.n_batches)
        if self.bar is not None:
            self.bar.update(self.n_batches)
        return float(losses @ weights), float(corrects.sum()) if corrects is not None else 0.0

    def end_epoch(self, logs: dict[str, float]) -> None:
        """Add the validation metrics to ``logs``, record them in the history and show them on the bar."""
        if self.validation is not None:
            scores = evaluate(self.model, self.criterion, *self.validation, metrics=self.metrics)
            logs.update({f"val_{name}": value for name, value in scores.items()})
            self.model.training()
        for name, value in logs.items():
            self.history[name].append(value)
        if self.bar is not None:
            self.bar.set_postfix({name.replace("accuracy", "acc"): f"{value:.4g}" for name, value in logs.items()},
                                 refresh=False)

    def save_checkpoint(self) -> None:
        """Write the checkpoint (atomically) after epoch ``self.epoch``, when ``fit`` was given a path."""
        if self.checkpoint is not None:
            io.save_checkpoint(self.checkpoint, self.model, self.state, self.epoch + 1, self.history,
                               self.rng.bit_generator.state, extra=self.checkpoint_extra())

    def checkpoint_extra(self) -> dict[str, Any]:
        """What a checkpoint records besides the model, optimizer state, history and shuffling generator."""
        return {"optimizer": self.optimizer_name, "generator_states": _generator_states(self.model),
                "settings": self.settings(), **({"schedule": self.schedule.state_dict()} if self.schedule else {}),
                "callbacks": {str(i): c.state_dict() for i, c in enumerate(self.callbacks) if hasattr(c, "state_dict")}}

    def end_callbacks(self, epoch: int, logs: dict[str, float]) -> bool:
        """The callbacks' ``on_epoch_end`` after 1-based ``epoch``; whether one of them asks to stop."""
        return any([callback.on_epoch_end(self, epoch, dict(logs)) for callback in self.callbacks])

    def step_schedule(self, logs: dict[str, float]) -> None:
        """Advance the learning-rate schedule after an epoch (a plateau schedule watches val_loss, else loss)."""
        if isinstance(self.schedule, optim.schedules.ReduceLROnPlateau):
            self.schedule.step(logs.get("val_loss", logs.get("loss")))
        elif self.schedule is not None:
            self.schedule.step()

    def run(self, epochs: int, progress: bool) -> History:
        """Epochs ``start .. epochs - 1`` in training mode (the model's mode is restored after); the history."""
        was_training = self.model.train
        self.bar = _progress_bar(progress, epochs * self.n_batches, self.start * self.n_batches)
        try:
            self.model.training()
            for callback in self.callbacks:
                callback.on_train_begin(self)
            for epoch in range(self.start, epochs):
                self.epoch = epoch
                self.epoch_learning_rate = self.state.get("learning_rate")
                if self.bar is not None:
                    self.bar.set_description(f"epoch {self.epoch + 1}/{epochs}", refresh=False)
                for callback in self.callbacks:
                    callback.on_epoch_begin(self, epoch + 1)
                logs = self.run_epoch()
                self.end_epoch(logs)
                self.step_schedule(logs)
                stop = self.end_callbacks(epoch + 1, logs)
                self.save_checkpoint()
                if stop:
                    break
        finally:
            for callback in self.callbacks:
                callback.on_train_end(self)
            if self.bar is not None:
                self.bar.close()
            if was_training:
                self.model.training()
            else:
                self.model.evaluate()
        return self.history


class DistributedTraining(Training):
    """``fit(..., distributed=...)``: the ranks of a :class:`~ember.distributed.DataParallel` train one model.

    Every batch gradient comes from :meth:`~ember.distributed.DataParallel.batch_gradient` (each rank computes
    its micro-batches; the fixed tree sums them), so every rank holds the same parameters, optimizer state and
    history. Rank 0 alone shows progress and writes the checkpoint and the log; callbacks run on every rank,
    and rank 0's decision to stop is everyone's. A failure in these steps on any rank is raised on every rank.
    """

    def __init__(self, *args: Any, parallel: Any, **kwargs: Any) -> None:
        super().__init__(*args, **{**kwargs, "fast": False})  # every step goes through feval, on batches
        self.parallel = parallel
        self.per_example = False

    def resume(self, path: str | os.PathLike, config: dict[str, Any]) -> io.Checkpoint:
        """Every rank reads the checkpoint (written by any number of ranks); its micro-batch size must be ours."""
        error, saved = None, None
        try:
            saved = super().resume(path, config)
            written = saved.extra.get("micro_batch")
            if written is not None and written != self.parallel.micro_batch:
                raise ResumeMismatchError(path, "micro_batch", self.parallel.micro_batch, written)
        except Exception as problem:  # told to every rank
            error = problem
        self.parallel.agree(error)
        return saved

    def feval(self, x: np.ndarray) -> tuple[float, np.ndarray]:
        """The batch's loss and gradient, computed by the ranks together (the same on every rank)."""
        if x is not self.params:
            self.params[...] = x
        score = self.score if self.first is None and self.with_accuracy else None
        loss, correct = self.parallel.batch_gradient(self.model, self.criterion, self.inputs, self.targets,
                                                     self.grads, score)
        if self.first is None:
            if not math.isfinite(loss):
                raise self.parallel.agreed(NonFiniteError(
                    f"fit: the loss is {loss} at epoch {self.epoch + 1}, batch {self.batch + 1} of "
                    f"{self.n_batches}; training stopped (try a lower learning rate)"))
            self.first = (loss, correct)
        if self.clip is not None:  # the same summed gradient on every rank: the same clipping
            optim.clip_grad_norm(self.grads, self.clip)
        return loss, self.grads

    def score(self, output: np.ndarray, targets: np.ndarray) -> float:
        """The number of correct predictions in a micro-batch."""
        return _correct(output, targets, self.meaning, self.class_axis)

    def save_checkpoint(self) -> None:
        """Rank 0 writes the checkpoint (atomically); every rank raises if that failed."""
        if self.checkpoint is None:
            return
        error = None
        if self.parallel.root:
            try:
                super().save_checkpoint()
            except Exception as problem:  # told to every rank
                error = problem
        self.parallel.agree(error)

    def checkpoint_extra(self) -> dict[str, Any]:
        return {**super().checkpoint_extra(), "micro_batch": self.parallel.micro_batch}

    def end_callbacks(self, epoch: int, logs: dict[str, float]) -> bool:
        """Every rank's callbacks; an error on any rank is raised on every rank; rank 0 decides to stop."""
        error, stop = None, False
        try:
            stop = super().end_callbacks(epoch, logs)
        except Exception as problem:  # told to every rank
            error = problem
        return bool(self.parallel.agree(error, value=bool(stop)))

    def run(self, epochs: int, progress: bool) -> History:
        return super().run(epochs, progress and self.parallel.root)


def fit(model: Module, criterion: Criterion, X: Any, y: Any, *,
        optimizer: Callable | str = optim.sgd,
        config: dict[str, Any] | None = None,
        epochs: int = 1,
        batch_size: int | None = None,
        shuffle: bool = False,
        clip_grad_norm: float | None = None,
        validation_data: tuple[Any, Any] | None = None,
        metrics: Sequence[str] = METRICS,
        callbacks: Iterable[Callback | Callable[[int, dict[str, float]], Any]] = (),
        schedule: str | Callable[[dict], Any] | None = None,
        early_stopping: EarlyStopping | bool | None = None,
        log: str | os.PathLike | None = None,
        progress: bool = True,
        seed: int | None = None,
        resume: str | os.PathLike | None = None,
        checkpoint: str | os.PathLike | None = None,
        fast: bool = False,
        distributed: Any = False,
        penalty: Callable[[Module], float] | None = None) -> History:
    """Train ``model`` on ``(X, y)`` with ``criterion`` and a functional optimizer; return the :class:`History`.

    Args:
        model: the network; its parameters are flattened by ``getParameters()``
            (so they become views of one array) and updated in place.
        criterion: the loss.
        X: inputs, one example per row (converted to the model's dtype).
        y: targets, one per example: integer labels (0-based) for classification
            criteria, arrays for the others.
        optimizer: an :mod:`ember.optim` function ``x, fx = opt(feval, x, state)``
            (default ``optim.sgd``), or its name (``"adam"``).
        config: the optimizer's configuration, e.g. ``{"learning_rate": 0.1}``
            (copied: the dict given is not modified; ``sgd``'s default learning
            rate is Torch's 1e-3).
        epochs: the total number of passes over the data (with ``resume``, the
            total including the epochs already done).
        batch_size: ``None`` for full-batch steps, 1 for one step per example
            (classic SGD), ``n`` for mini-batches of ``n`` (the last may be smaller).
        shuffle: visit the examples in a new random order each epoch (else in order).
        clip_grad_norm: rescale each batch's gradient (all parameters together)
            to this Euclidean norm when it is larger, before the optimizer
            uses it (:func:`ember.optim.clip_grad_norm`, PyTorch's
            ``clip_grad_norm_``); ``None``: no clipping. Steps then run in
            Python even with ``fast``.
        validation_data: ``(X_val, y_val)`` evaluated after every epoch.
        metrics: which of ``"loss"`` and ``"accuracy"`` to record; accuracy is
            recorded only for classification criteria (see the module docstring).
        callbacks: :class:`ember.callbacks.Callback` objects (per-batch and
            per-epoch hooks), or functions ``callback(epoch, logs)`` called after
            each epoch with the 1-based epoch number and that epoch's metrics; a
            callback returning a true value stops training after that epoch.
        schedule: a learning-rate schedule (:mod:`ember.optim.schedules`) stepped
            after each epoch: its short name (``"cosine"`` anneals over
            ``epochs``), or a function of the optimizer state returning one, e.g.
            ``lambda state: schedules.StepLR(state, 10, 0.5)``. A plateau schedule
            watches ``val_loss`` (``loss`` without validation data).
        early_stopping: an :class:`ember.callbacks.EarlyStopping` (monitor,
            patience, min_delta, restore the best parameters), or ``True`` for
            its defaults (``val_loss``, patience 5, restore the best).
        log: a CSV file for the training log (:class:`ember.callbacks.CSVLogger`:
            one row per epoch with every metric, the learning rate and the time).
        progress: show a tqdm progress bar (epoch, loss, accuracy) on stderr when
            it is a terminal.
        seed: seed of the generator that shuffles the examples; the same seed
            and the same data (and model initialisation) give a bit-identical
            history. Model initialisation and dropout draw from
            :func:`ember.manual_seed`'s generator instead.
        resume: a checkpoint written by ``checkpoint=``: the model's parameters,
            the optimizer state, the shuffling generator, the library-wide
            generator (and any module's own ``rng``, e.g. a Dropout's) and the
            history are restored and training continues from
            the next epoch, ending bit-identical to an uninterrupted run. The
            configuration, batch size, shuffling, seed, schedule and training
            data must be those of the checkpoint's run: a difference is a
            :class:`ResumeMismatchError` naming it.
        checkpoint: a path where a checkpoint is written (atomically) after
            every epoch.
        fast: run each epoch as one compiled kernel (``ember.fast``, numba:
            ``pip install 'ember[fast]'``) when the model, the criterion and the
            optimizer (``optim.sgd``) are supported, else — silently — the NumPy
            path. The same arithmetic: the same history to rounding (~1e-15).
            A non-finite loss is reported after the epoch's kernel has run.
        distributed: train on the ranks of an MPI job (``mpiexec -n R python
            script.py``; needs ``pip install 'ember[mpi]'``): ``True`` for an
            :class:`ember.distributed.DataParallel` on every rank of the job
            with micro-batches of 32 examples, or a ``DataParallel`` (its
            ``micro_batch``, ``exact=False`` for ``Allreduce``, a communicator).
            Every rank calls ``fit`` with the same arguments (checked at start:
            a ``MismatchError`` names what differs on which rank); each batch
            is cut into micro-batches whose gradients are summed in a fixed
            order, so 1, 2 or 4 ranks end with bit-identical parameters and
            the same history on every rank. Rank 0 shows progress and writes
            the checkpoint and the log; ``resume`` works with any number of
            ranks (with the same micro-batch size). ``fast`` does not apply:
            every step runs through the NumPy modules.
        penalty: a loss term outside the criterion, ``penalty(model) -> value``,
            called at every evaluation of a batch (after the gradients are
            zeroed, before the backward pass): its value is added to the batch's
            loss, which the optimizer sees and the history records, and its
            gradient is the penalty's to add to the model's parameter gradients
            (``m.gradWeight += λ * m.weight``), or the optimizer's (``sgd``'s
            ``weight_decays`` for ``λ/2 · ‖W‖²``). Not with ``distributed``.

    Returns:
        The :class:`History`, per-epoch ``loss``, ``accuracy``, ``val_loss``, ``val_accuracy``.

    Raises:
        NonFiniteError: (a ``FloatingPointError``) the loss became NaN or infinite (the message names
            the epoch and batch, counted from 1); the parameters are left as
            they were before that batch's step.
        ValueError, TypeError: bad arguments (mismatched lengths, unknown metric,
            bad batch size, a checkpoint for another model …).
        ember.distributed.RankError: with ``distributed``, on every rank, when
            one rank raised (the message names it and its error).

    Example:
        >>> from ember import data, models, nn
        >>> X, y = data.xor()[0], data.xor()[1][:, 0]
        >>> model = models.mlp(2, [4], "tanh", 2)
        >>> history = fit(model, nn.ClassNLLCriterion(), X, y, optimizer=optim.adagrad,
        ...               config={"learning_rate": 0.5}, epochs=200, progress=False)
        >>> history["loss"][-1] < history["loss"][0]
        True

    """
    if not isinstance(model, Module):
        raise InputTypeError(f"model must be an ember Module, got {type(model).__name__}")
    if not isinstance(criterion, Criterion):
        raise InputTypeError(f"criterion must be an ember Criterion, got {type(criterion).__name__}")
    if isinstance(epochs, bool) or not isinstance(epochs, (int, np.integer)) or epochs < 0:
        raise InputError(f"epochs must be a non-negative integer, got {epochs!r}")
    if isinstance(metrics, str):
        raise InputTypeError(f"metrics must be a list of names, got the string {metrics!r}")
    unknown = [name for name in metrics if name not in METRICS]
    if unknown:
        raise InputError(f"unknown metric {unknown[0]!r}; fit records {', '.join(METRICS)}")
    meaning = criterion.output_meaning
    dtype = _model_dtype(model)
    X = _inputs(X, dtype, "X")
    y = _targets(y, len(X), meaning, dtype, "y")
    validation = None
    if validation_data is not None:
        if not isinstance(validation_data, (tuple, list)) or len(validation_data) != 2:
            raise InputTypeError("validation_data must be a pair (X_val, y_val)")
        X_val = _inputs(validation_data[0], dtype, "validation X")
        validation = (X_val, _targets(validation_data[1], len(X_val), meaning, dtype, "validation y"))
    parallel = _data_parallel(distributed)
    if penalty is not None and (parallel is not None or not callable(penalty)):
        raise (InputTypeError(f"penalty must be a function penalty(model) -> float, got {type(penalty).__name__}")
               if not callable(penalty) else InputError("fit: penalty does not apply with distributed"))
    hooks = [c if isinstance(c, Callback) else _EpochFunction(c) for c in callbacks]
    if early_stopping is True:
        early_stopping = EarlyStopping()
    if early_stopping:
        if not isinstance(early_stopping, EarlyStopping):
            raise InputTypeError(f"early_stopping must be an EarlyStopping or True, "
                                 f"got {type(early_stopping).__name__}")
        hooks.append(early_stopping)
    if log is not None and (parallel is None or parallel.root):
        hooks.append(CSVLogger(log))
    if clip_grad_norm is not None and not (isinstance(clip_grad_norm, (int, float, np.floating))
                                           and not isinstance(clip_grad_norm, bool) and clip_grad_norm > 0
                                           and math.isfinite(clip_grad_norm)):
        raise InputError(f"clip_grad_norm must be a positive number (or None), got {clip_grad_norm!r}")
    if config is not None and not isinstance(config, dict):
        raise InputTypeError(f"config must be a dict of the optimizer's settings, got {type(config).__name__}")
    if seed is not None and (isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0):
        raise InputError(f"seed must be None or an integer >= 0, got {seed!r}")
    settings = dict(optimizer=_resolve_optimizer(optimizer), config=dict(config or {}),
                    batch_size=_check_batch_size(batch_size, len(X)), shuffle=shuffle, validation=validation,
                    metrics=metrics, seed=seed, checkpoint=checkpoint, callbacks=hooks, schedule=schedule,
                    epochs=epochs, fast=fast,
                    clip=None if clip_grad_norm is None else float(clip_grad_norm))
    if parallel is None:
        training = Training(model, criterion, X, y, **settings, penalty=penalty)
        if resume is not None:
            training.resume(resume, dict(config or {}))
        with blas_threads(1):  # no more BLAS threads than cores (nor than a worker's limit): ember.threads
            return training.run(epochs, progress)
    with parallel.guard():
        parallel.check_same(settings={
            "epochs": epochs, "batch_size": settings["batch_size"], "shuffle": shuffle, "seed": seed,
            "optimizer": getattr(settings["optimizer"], "__name__", ""), "config": settings["config"],
            "metrics": list(metrics), "micro_batch": parallel.micro_batch, "exact": parallel.exact,
            "schedule": _schedule_name(schedule), "resume": resume is not None, "checkpoint": checkpoint is not None,
            "callbacks": [type(hook).__name__ for hook in hooks if not isinstance(hook, CSVLogger)], "fast": fast,
            "validation": validation is not None, "clip_grad_norm": settings["clip"]})
        training = DistributedTraining(model, criterion, X, y, parallel=parallel, **settings)
        if resume is not None:
            training.resume(resume, dict(config or {}))
        parallel.check_same(model=model, X=X, y=y, **({"validation X": validation[0], "validation y": validation[1]}
                                                      if validation is not None else {}))
        return training.run(epochs, progress)


def _data_parallel(distributed: Any) -> Any:
    """``fit``'s ``distributed`` as a DataParallel, or ``None``."""
    if distributed is False or distributed is None:
        return None
    from ember.distributed import DataParallel

    if distributed is True:
        return DataParallel()
    if not isinstance(distributed, DataParallel):
        raise InputTypeError(f"distributed must be True, False or an ember.distributed.DataParallel, "
                             f"got {type(distributed).__name__}")
    return distributed


def _compiled(model: Module, criterion: Criterion) -> Any:
    """``ember.fast``'s compiled steps for the pair, or ``None`` where numba is absent or they are unsupported."""
    from ember import fast

    if not fast.available():
        return None
    try:
        return fast.compile(model, criterion)
    except fast.UnsupportedError:
        return None


# -- evaluation and prediction ----------------------------------------------------------------

def _outputs(model: Module, X: np.ndarray, batch_size: int | None) -> np.ndarray:
    """The model's outputs for all of ``X`` in evaluation mode (copied out of the reused buffers)."""
    size = _check_batch_size(batch_size, len(X))
    was_training = model.train
    model.evaluate()
    try:
        parts = [np.array(model.forward(X[low:low + size]), copy=True) for low in range(0, len(X), size)]
    finally:
        if was_training:
            model.training()
    output = parts[0] if len(parts) == 1 else np.concatenate(parts)
    if output.ndim == 0 or len(output) != len(X):
        raise InputError(f"the model gave outputs of shape {output.shape} for X of shape {X.shape}: X needs one "
                         f"row per example (a leading batch dimension)")
    return output


def _model_dtype(model: Module) -> np.dtype:
    if not isinstance(model, Module):
        raise InputTypeError(f"model must be an ember Module, got {type(model).__name__}")
    params = model.parameters()[0]
    return params[0].dtype if params else np.dtype(np.float64)


def evaluate(model: Module, criterion: Criterion, X: Any, y: Any, *, batch_size: int | None = None,
             metrics: Sequence[str] = METRICS) -> dict[str, float]:
    """Loss (mean per example) and, for classification criteria, accuracy of ``model`` on ``(X, y)``.

    The model runs in evaluation mode (``evaluate()``) and is put back in the
    mode it was in. ``batch_size=None`` evaluates everything in one batch.

    Returns:
        ``{"loss": …, "accuracy": …}`` (only the metrics asked for; no accuracy for regression).

    Example:
        >>> from ember import nn
        >>> model = nn.Sequential(nn.Linear(2, 2), nn.LogSoftMax())
        >>> sorted(evaluate(model, nn.ClassNLLCriterion(), np.eye(2), np.array([0, 1])))
        ['accuracy', 'loss']

    """
    if isinstance(metrics, str):
        raise InputTypeError(f"metrics must be a list of names, got the string {metrics!r}")
    unknown = [name for name in metrics if name not in METRICS]
    if unknown:
        raise InputError(f"unknown metric {unknown[0]!r}; evaluate computes {', '.join(METRICS)}")
    if not isinstance(criterion, Criterion):
        raise InputTypeError(f"criterion must be an ember Criterion, got {type(criterion).__name__}")
    meaning = criterion.output_meaning
    dtype = _model_dtype(model)
    X = _inputs(X, dtype, "X")
    n = len(X)
    y = _targets(y, n, meaning, dtype, "y")
    size = _check_batch_size(batch_size, n)
    was_training = model.train
    model.evaluate()
    loss_sum = correct = 0.0
    try:
        for low in range(0, n, size):
            inputs, targets = X[low:low + size], y[low:low + size]
            output = model.forward(inputs)
            loss_sum += criterion.forward(output, targets) * _batch_weight(criterion, len(inputs))
            if meaning in CLASSIFICATION:
                correct += _correct(output, targets, meaning, criterion.class_axis)
    finally:
        if was_training:
            model.training()
    scores: dict[str, float] = {}
    if "loss" in metrics:
        scores["loss"] = loss_sum / n
    if "accuracy" in metrics and meaning in CLASSIFICATION:
        scores["accuracy"] = correct / n
    return scores


def _last_module(model: Module) -> Module:
    """The module that produces ``model``'s output (descending into trailing Sequentials)."""
    while isinstance(model, Sequential) and model.modules:
        model = model.modules[-1]
    return model


def predict(model: Module, X: Any, *, batch_size: int | None = None, raw: bool = False) -> np.ndarray:
    """Predicted class labels (0-based) for the rows of ``X``, in evaluation mode.

    With several outputs per example the label is the argmax (the class of the
    largest score, log-probability or probability); with one output per
    example (shape ``(n, 1)`` or ``(n,)``, e.g. a Sigmoid), it is 1 where the
    output exceeds 0.5. With ``raw=True``, the model's outputs themselves
    (e.g. for regression).

    Example:
        >>> from ember import nn
        >>> model = nn.Sequential(nn.Linear(2, 3), nn.LogSoftMax())
        >>> predict(model, np.ones((5, 2))).shape
        (5,)

    """
    X = _inputs(X, _model_dtype(model), "X")
    output = _outputs(model, X, batch_size)
    if raw:
        return output
    if output.ndim == 2 and output.shape[1] > 1:
        return output.argmax(axis=1)
    if output.ndim == 1 or (output.ndim == 2 and output.shape[1] == 1):
        return (output.reshape(len(X)) > 0.5).astype(np.int64)
    raise InputError(f"predict: expected outputs of shape (n, n_classes) or (n,), got {output.shape}; "
                     f"use raw=True for the outputs themselves")


def predict_proba(model: Module, X: Any, *, batch_size: int | None = None) -> np.ndarray:
    """Class probabilities ``(n, n_classes)`` for the rows of ``X``, in evaluation mode.

    The model's output is read as: probabilities when the model ends in
    ``SoftMax``; log-probabilities (exponentiated) when it ends in
    ``LogSoftMax``; otherwise scores turned into probabilities by a softmax.
    A single-output model must end in ``Sigmoid``; its probability ``p`` of
    class 1 gives the columns ``[1 − p, p]``.
    """
    X = _inputs(X, _model_dtype(model), "X")
    output = _outputs(model, X, batch_size)
    last = type(_last_module(model)).__name__
    if output.ndim == 1 or (output.ndim == 2 and output.shape[1] == 1):
        if last != "Sigmoid":
            raise InputError(f"predict_proba: a model with one output per example must end in Sigmoid "
                             f"(its output is then P(class 1)); this one ends in {last}")
        p = output.reshape(len(X))
        return np.stack([1.0 - p, p], axis=1)
    if output.ndim != 2:
        raise InputError(f"predict_proba: expected outputs of shape (n, n_classes), got {output.shape}")
    if last == "SoftMax":
        return output
    if last == "LogSoftMax":
        return np.exp(output)
    shifted = output - output.max(axis=1, keepdims=True)
    np.exp(shifted, out=shifted)
    shifted /= shifted.sum(axis=1, keepdims=True)
    return shifted
