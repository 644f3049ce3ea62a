"""Learning-rate schedules over an optimizer's ``state`` dict, as ``torch.optim.lr_scheduler``.

A schedule reads the base rate from ``state["learning_rate"]`` when made and
writes the scheduled rate back into the same key on every :meth:`Schedule.step`
(once per epoch, after the epoch's updates, as PyTorch's schedulers are
stepped). The trajectories equal PyTorch's (their closed forms; the tests
compare to 1e-12).

Each has PyTorch's name and arguments (rate after ``e`` steps):

- ``StepLR(state, step_size, gamma=0.1)``: ``base * gamma ** (e // step_size)``.
- ``MultiStepLR(state, milestones, gamma=0.1)``: ``base * gamma ** (milestones <= e)``.
- ``ExponentialLR(state, gamma)``: ``base * gamma ** e``.
- ``CosineAnnealingLR(state, T_max, eta_min=0)``:
  ``eta_min + (base - eta_min) (1 + cos(pi e / T_max)) / 2``.
- ``CosineAnnealingWarmRestarts(state, T_0, T_mult=1, eta_min=0)``: the same
  cosine over periods ``T_0, T_0 T_mult, ...``, restarting at ``base``.
- ``LinearLR(state, start_factor=1/3, end_factor=1, total_iters=5)``: a linear
  warm-up of the factor (the first epoch already runs at ``start_factor``).
- ``ReduceLROnPlateau(state, mode='min', factor=0.1, patience=10, ...)``:
  ``step(metric)``; times ``factor`` after ``patience`` epochs without improvement.

Example::

    state = {"learning_rate": 0.1, "momentum": 0.9}
    schedule = schedules.CosineAnnealingLR(state, T_max=50)
    for epoch in range(50):
        ...                       # optim.sgd(feval, params, state) for each batch
        schedule.step()           # state["learning_rate"] now holds the next epoch's rate
"""

from __future__ import annotations

import bisect
import math
import numbers
from collections.abc import Iterable, Sequence

import numpy as np

from ember.errors import InputError, InputTypeError

__all__ = ["SCHEDULES", "CosineAnnealingLR", "CosineAnnealingWarmRestarts", "ExponentialLR", "LinearLR",
           "MultiStepLR", "ReduceLROnPlateau", "Schedule", "StepLR", "make"]


def _real(name: str, what: str, value: float, low: float = 0.0, integer: bool = False) -> None:
    """Refuse ``value`` unless it is a finite real number (not a bool, a string, ``None``) >= ``low``, and a
    whole number when ``integer``.
    """
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise InputTypeError(f"{name}: {what} must be a number, got {value!r} ({type(value).__name__})")
    if not (math.isfinite(value) and value >= low and (not integer or float(value).is_integer())):
        kind = "an integer" if integer else "a finite number"
        raise InputError(f"{name}: {what} must be {kind} >= {low:g}, got {value!r}")


def _positive(name: str, what: str, value: float, integer: bool = False) -> None:
    _real(name, what, value, integer=integer)
    if value <= 0:
        kind = "a positive integer" if integer else "positive"
        raise InputError(f"{name}: {what} must be {kind}, got {value}")


class Schedule:
    """The base of every schedule: binds ``state``, counts epochs, writes ``state['learning_rate']``.

    Attributes:
        base_lr: the rate in ``state`` when the schedule was made.
        last_epoch: how many times :meth:`step` was called.
        lr: the current rate (also in ``state['learning_rate']``).

    """

    def __init__(self, state: dict):
        if not isinstance(state, dict) or "learning_rate" not in state:
            raise InputError(f"{type(self).__name__}: the optimizer state must hold 'learning_rate', the base rate "
                             f"the schedule starts from")
        _real(type(self).__name__, "state['learning_rate']", state["learning_rate"])
        self.state = state
        self.base_lr = float(state["learning_rate"])
        self.last_epoch = 0
        self.lr = self.base_lr

    def rate(self, epoch: int) -> float:
        """The rate after ``epoch`` steps (closed-form schedules)."""
        raise NotImplementedError(f"{type(self).__name__} defines step(), not rate()")

    def step(self, metric: float | None = None) -> float:
        """Advance one epoch; write and return the new rate (``metric`` is for :class:`ReduceLROnPlateau`)."""
        self.last_epoch += 1
        self.lr = self.rate(self.last_epoch)
        self.state["learning_rate"] = self.lr
        return self.lr

    def state_dict(self) -> dict[str, float]:
        """The numbers that resume this schedule (floats, for a checkpoint's metadata)."""
        return {"base_lr": self.base_lr, "last_epoch": float(self.last_epoch), "lr": self.lr}

    def load_state_dict(self, saved: dict[str, float]) -> None:
        """Continue from :meth:`state_dict`'s numbers; writes the saved rate into ``state``."""
        self.base_lr, self.last_epoch, self.lr = float(saved["base_lr"]), int(saved["last_epoch"]), float(saved["lr"])
        self.state["learning_rate"] = self.lr

    def __repr__(self) -> str:
        return f"{type(self).__name__}(base_lr={self.base_lr:g}, last_epoch={self.last_epoch}, lr={self.lr:g})"


class StepLR(Schedule):
    """Decay by ``gamma`` every ``step_size`` epochs: ``lr = base * gamma ** (e // step_size)``."""

    def __init__(self, state: dict, step_size: int, gamma: float = 0.1):
        _positive("StepLR", "step_size", step_size, integer=True)
        _real("StepLR", "gamma", gamma)
        super().__init__(state)
        self.step_size, self.gamma = int(step_size), gamma

    def rate(self, epoch: int) -> float:
        return self.base_lr * self.gamma ** (epoch // self.step_size)


class MultiStepLR(Schedule):
    """Decay by ``gamma`` at each milestone epoch: ``lr = base * gamma ** (number of milestones <= e)``."""

    def __init__(self, state: dict, milestones: Sequence[int], gamma: float = 0.1):
        if isinstance(milestones, (str, bytes)) or not isinstance(milestones, Iterable):
            raise InputTypeError(f"MultiStepLR: milestones must be a list of epochs, got {milestones!r}")
        milestones = list(milestones)
        for milestone in milestones:
            _real("MultiStepLR", "a milestone", milestone, integer=True)
        _real("MultiStepLR", "gamma", gamma)
        super().__init__(state)
        self.milestones, self.gamma = sorted(int(m) for m in milestones), gamma

    def rate(self, epoch: int) -> float:
        return self.base_lr * self.gamma ** bisect.bisect_right(self.milestones, epoch)


class ExponentialLR(Schedule):
    """Decay by ``gamma`` every epoch: ``lr = base * gamma ** e``."""

    def __init__(self, state: dict, gamma: float):
        _positive("ExponentialLR", "gamma", gamma)
        super().__init__(state)
        self.gamma = gamma

    def rate(self, epoch: int) -> float:
        return self.base_lr * self.gamma ** epoch


class CosineAnnealingLR(Schedule):
    """Half a cosine from ``base`` to ``eta_min`` over ``T_max`` epochs (and back up after, as PyTorch's)."""

    def __init__(self, state: dict, T_max: int, eta_min: float = 0.0):
        _positive("CosineAnnealingLR", "T_max", T_max, integer=True)
        _real("CosineAnnealingLR", "eta_min", eta_min)
        super().__init__(state)
        self.T_max, self.eta_min = int(T_max), eta_min

    def rate(self, epoch: int) -> float:
        return self.eta_min + (self.base_lr - self.eta_min) * (1 + math.cos(math.pi * epoch / self.T_max)) / 2


class CosineAnnealingWarmRestarts(Schedule):
    """SGDR: a cosine from ``base`` to ``eta_min`` over ``T_0`` epochs, restarted; each period ``T_mult`` x longer."""

    def __init__(self, state: dict, T_0: int, T_mult: int = 1, eta_min: float = 0.0):
        _positive("CosineAnnealingWarmRestarts", "T_0", T_0, integer=True)
        _positive("CosineAnnealingWarmRestarts", "T_mult", T_mult, integer=True)
        _real("CosineAnnealingWarmRestarts", "eta_min", eta_min)
        super().__init__(state)
        self.T_0, self.T_mult, self.eta_min = int(T_0), int(T_mult), eta_min

    def rate(self, epoch: int) -> float:
        position, period = epoch, self.T_0
        while position >= period:  # integer arithmetic: the restart falls exactly where PyTorch's does
            position -= period
            period *= self.T_mult
        return self.eta_min + (self.base_lr - self.eta_min) * (1 + math.cos(math.pi * position / period)) / 2


class LinearLR(Schedule):
    """Linear warm-up: the factor goes from ``start_factor`` to ``end_factor`` over ``total_iters`` epochs."""

    def __init__(self, state: dict, start_factor: float = 1 / 3, end_factor: float = 1.0, total_iters: int = 5):
        _real("LinearLR", "start_factor", start_factor)
        _real("LinearLR", "end_factor", end_factor)
        if not 0 < start_factor <= 1 or not 0 <= end_factor <= 1:
            raise InputError(f"LinearLR: start_factor must be in (0, 1] and end_factor in [0, 1], got {start_factor} "
                             f"and {end_factor}")
        _positive("LinearLR", "total_iters", total_iters, integer=True)
        super().__init__(state)
        self.start_factor, self.end_factor, self.total_iters = start_factor, end_factor, int(total_iters)
        self.lr = self.rate(0)
        state["learning_rate"] = self.lr

    def rate(self, epoch: int) -> float:
        progress = min(epoch, self.total_iters) / self.total_iters
        return self.base_lr * (self.start_factor + (self.end_factor - self.start_factor) * progress)


class ReduceLROnPlateau(Schedule):
    """Multiply the rate by ``factor`` when ``metric`` has not improved for more than ``patience`` epochs.

    Improvement (PyTorch's rules): in ``mode='min'`` with ``threshold_mode='rel'``
    a value below ``best * (1 - threshold)`` (``'abs'``: below ``best - threshold``);
    ``'max'`` mirrors it. After a reduction, ``cooldown`` epochs pass before
    counting again; the rate never drops below ``min_lr``, and a reduction
    smaller than ``eps`` is skipped.
    """

    def __init__(self, state: dict, mode: str = "min", factor: float = 0.1, patience: int = 10,
                 threshold: float = 1e-4, threshold_mode: str = "rel", cooldown: int = 0, min_lr: float = 0.0,
                 eps: float = 1e-8):
        if mode not in ("min", "max") or threshold_mode not in ("rel", "abs"):
            raise InputError(f"ReduceLROnPlateau: mode must be 'min' or 'max' and threshold_mode 'rel' or 'abs', got "
                             f"{mode!r} and {threshold_mode!r}")
        _real("ReduceLROnPlateau", "factor", factor)
        if not 0 < factor < 1:
            raise InputError(f"ReduceLROnPlateau: factor must be in (0, 1), got {factor}")
        for what, value in (("patience", patience), ("cooldown", cooldown)):
            _real("ReduceLROnPlateau", what, value, integer=True)
        for what, value in (("threshold", threshold), ("min_lr", min_lr), ("eps", eps)):
            _real("ReduceLROnPlateau", what, value)
        super().__init__(state)
        self.mode, self.factor, self.patience, self.threshold = mode, factor, patience, threshold
        self.threshold_mode, self.cooldown, self.min_lr, self.eps = threshold_mode, cooldown, min_lr, eps
        self.best = math.inf if mode == "min" else -math.inf
        self.num_bad_epochs = self.cooldown_counter = 0

    def improves(self, value: float) -> bool:
        """Whether ``value`` beats the best so far by the threshold."""
        if self.mode == "min":
            bar = self.best * (1 - self.threshold) if self.threshold_mode == "rel" else self.best - self.threshold
            return value < bar
        bar = self.best * (1 + self.threshold) if self.threshold_mode == "rel" else self.best + self.threshold
        return value > bar

    def step(self, metric: float | None = None) -> float:
        if metric is None:
            raise InputError("ReduceLROnPlateau.step: pass the monitored metric, e.g. step(validation_loss)")
        if isinstance(metric, (str, bytes, bool)) or not isinstance(metric, (numbers.Real, np.ndarray)):
            raise InputTypeError(f"ReduceLROnPlateau.step: the metric must be a number, got {metric!r}")
        try:
            value = float(metric)
        except TypeError:
            raise InputTypeError(f"ReduceLROnPlateau.step: the metric must be a number, got {metric!r}") from None
        self.last_epoch += 1
        if self.improves(value):
            self.best, self.num_bad_epochs = value, 0
        else:
            self.num_bad_epochs += 1
        if self.cooldown_counter > 0:
            self.cooldown_counter -= 1
            self.num_bad_epochs = 0
        if self.num_bad_epochs > self.patience:
            reduced = max(self.lr * self.factor, self.min_lr)
            if self.lr - reduced > self.eps:
                self.lr = reduced
            self.cooldown_counter, self.num_bad_epochs = self.cooldown, 0
        self.state["learning_rate"] = self.lr
        return self.lr

    def state_dict(self) -> dict[str, float]:
        return {**super().state_dict(), "best": self.best, "num_bad_epochs": float(self.num_bad_epochs),
                "cooldown_counter": float(self.cooldown_counter)}

    def load_state_dict(self, saved: dict[str, float]) -> None:
        super().load_state_dict(saved)
        self.best = float(saved["best"])
        self.num_bad_epochs, self.cooldown_counter = int(saved["num_bad_epochs"]), int(saved["cooldown_counter"])


#: The schedules by their command-line names, with the settings used when none are given.
SCHEDULES: dict[str, tuple[type[Schedule], dict]] = {
    "step": (StepLR, {"step_size": 30, "gamma": 0.1}),
    "multistep": (MultiStepLR, {"milestones": (30, 80), "gamma": 0.1}),
    "exponential": (ExponentialLR, {"gamma": 0.95}),
    "cosine": (CosineAnnealingLR, {"T_max": None}),
    "cosine-restarts": (CosineAnnealingWarmRestarts, {"T_0": 10, "T_mult": 2}),
    "warmup": (LinearLR, {"start_factor": 1 / 3, "total_iters": 5}),
    "plateau": (ReduceLROnPlateau, {"factor": 0.1, "patience": 10}),
}


def make(name: str, state: dict, epochs: int | None = None, **settings) -> Schedule:
    """The schedule called ``name`` (a key of :data:`SCHEDULES`) over ``state``.

    ``settings`` override the defaults of :data:`SCHEDULES`; ``cosine`` anneals over
    ``epochs`` unless ``T_max`` is given.
    """
    if name not in SCHEDULES:
        raise InputError(f"unknown schedule {name!r} (expected one of {', '.join(SCHEDULES)})")
    kind, defaults = SCHEDULES[name]
    merged = {**defaults, **settings}
    if merged.get("T_max", 0) is None:
        if epochs is None:
            raise InputError("schedule 'cosine' needs T_max or the number of epochs")
        merged["T_max"] = epochs
    return kind(state, **merged)
