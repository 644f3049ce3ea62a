"""Compiled, fused training steps (optional: ``pip install 'ember[fast]'``, numba).

``compile(model, criterion)`` translates a Sequential chain of ``Linear``, ``Sigmoid``, ``Tanh``,
``ReLU``, ``LeakyReLU``, ``SoftMax``, ``LogSoftMax`` and ``SoftMin`` layers with a
``CrossEntropyCriterion``, ``ClassNLLCriterion``, ``MSECriterion`` or ``BCECriterion`` (unweighted) into
one compiled kernel that runs whole epochs of SGD (``optim.sgd``'s configuration: learning rate and its
decay, weight decay, momentum, dampening, Nesterov), per example or in mini-batches, with no Python in
the loop. The kernel updates the model's own flat parameters (``getParameters()``), so the NumPy modules
see every step; results equal the NumPy path's (the modules with ``optim.sgd``) to rounding — the kernels
are tested against ``ember.nn`` to 1e-12 in float64. Anything else raises :class:`UnsupportedError`, with
the module in the way named (``train.fit`` then falls back to the NumPy path silently).

Example::

    from ember import fast, nn
    model = nn.Sequential(nn.Linear(128, 50), nn.Sigmoid(), nn.Linear(50, 10))
    step = fast.compile(model, nn.CrossEntropyCriterion())   # compiled once, cached on disk
    state = {"learning_rate": 0.01}
    losses = step.train(X, y, state, batch_size=1)             # one epoch, one loss per step

The first compilation takes seconds (``compile_seconds`` says how long); numba caches the machine code
on disk (``cache=True``), so later processes load it.
"""

from __future__ import annotations

import importlib.util
import math
import numbers
import time

import numpy as np

from ember import nn
from ember.errors import InputError, InputTypeError
from ember.fast import codes
from ember.fast.plan import Plan, UnsupportedError, make_plan

__all__ = ["Compiled", "UnsupportedError", "available", "compile"]

#: the keys of ``optim.sgd``'s state the kernel reads (its configuration) and keeps (its history).
SGD_KEYS = frozenset({"learning_rate", "learning_rate_decay", "weight_decay", "momentum", "dampening", "nesterov",
                      "learning_rates", "weight_decays", "eval_counter", "dfdx"})


def available() -> bool:
    """Whether numba is installed (the compiled path needs it)."""
    return importlib.util.find_spec("numba") is not None


class Compiled:
    """A model and criterion compiled into fused SGD steps; see the module docstring."""

    def __init__(self, model: nn.Module, criterion: nn.Criterion, plan: Plan) -> None:
        from ember.fast import kernels  # numba: imported here, not by ``import ember.fast``
        self.model, self.criterion, self.plan, self._kernels = model, criterion, plan, kernels
        self._workspace: dict = {}
        self.compile_seconds = 0.0

    def _workspace_for(self, widths: np.ndarray, batch_size: int, dtype: np.dtype) -> tuple:
        key = (tuple(widths), batch_size, dtype)
        if key not in self._workspace:
            size = batch_size * int(widths.max())
            self._workspace = {key: (np.zeros((len(widths), size), dtype=dtype), np.zeros(size, dtype=dtype),
                                     np.zeros(size, dtype=dtype))}
        return self._workspace[key]

    def train(self, inputs: np.ndarray, targets: np.ndarray, state: dict, batch_size: int = 1,
              order: np.ndarray | None = None, corrects: np.ndarray | None = None) -> np.ndarray:
        """SGD over ``inputs[order]`` (default: in order) in steps of ``batch_size`` examples, the last
        step taking what is left; returns the loss of each step (before its update).

        ``state`` is ``optim.sgd``'s: its configuration keys, and the history it keeps (``eval_counter``,
        ``dfdx``) is read and written, so compiled and NumPy steps can alternate on one state. Given
        ``corrects`` (float64, one per step), each step's count of right answers (before its update) goes
        there, counted as ``ember.train`` counts them.
        """
        lr, lrd, wd, mom, damp, nesterov = _sgd_settings(state)
        params, grads = self.model.getParameters()
        inputs = np.ascontiguousarray(inputs)
        if inputs.ndim != 2 or inputs.dtype != params.dtype:
            raise InputTypeError(f"ember.fast: expected inputs of shape (examples, features) and dtype "
                                 f"{params.dtype}, got shape {inputs.shape} and dtype {inputs.dtype}")
        n = len(inputs)
        order = np.arange(n, dtype=np.int64) if order is None else np.ascontiguousarray(order, dtype=np.int64)
        if order.ndim != 1 or (order.size and (order.min() < 0 or order.max() >= n)):
            raise InputError(f"ember.fast: order must index the {n} examples")
        if isinstance(batch_size, bool) or not isinstance(batch_size, numbers.Integral) or batch_size < 1:
            raise InputError(f"ember.fast: batch_size must be an integer >= 1, got {batch_size!r}")
        widths = self.plan.widths(inputs.shape[1])
        labels, values = self._targets(targets, n, int(widths[-1]), params.dtype)
        woff, boff = self.plan.offsets(params)
        velocity = state.get("dfdx")
        has_velocity = velocity is not None
        if mom != 0 and not has_velocity:
            velocity = np.zeros_like(params)
        elif not has_velocity:
            velocity = np.zeros(1, dtype=params.dtype)
        acts, delta, spare = self._workspace_for(widths, min(batch_size, max(order.size, 1)), params.dtype)
        losses = np.empty(-(-order.size // batch_size), dtype=np.float64)
        if corrects is None:
            corrects = np.empty(0, dtype=np.float64)
        elif corrects.shape != losses.shape or corrects.dtype != np.float64:
            raise InputError(f"ember.fast: corrects must be a float64 array of {losses.size} steps")
        start = time.perf_counter()
        counter = self._kernels.train_steps(
            self.plan.kinds, widths, woff, boff, self.plan.slopes, self.plan.criterion, self.plan.size_average,
            params, grads, velocity, acts, delta, spare, inputs, labels, values, order, batch_size, lr, lrd, wd,
            mom, damp, nesterov, int(state.get("eval_counter", 0)), has_velocity, losses, corrects,
            params.dtype.type(0))
        if not self.compile_seconds:
            self.compile_seconds = time.perf_counter() - start
        state["eval_counter"] = int(counter)
        if mom != 0 and losses.size:
            state["dfdx"] = velocity
        return losses

    def _targets(self, targets: np.ndarray, n: int, n_out: int, dtype: np.dtype) -> tuple[np.ndarray, np.ndarray]:
        """``(labels, values)`` for the kernel: class labels for the class criteria, else a value per output."""
        targets = np.asarray(targets)
        if targets.ndim == 0 or len(targets) != n:
            raise InputError(f"ember.fast: {n} inputs but targets of shape {targets.shape}")
        if self.plan.criterion in (codes.CROSS_ENTROPY, codes.CLASS_NLL):
            if not np.issubdtype(targets.dtype, np.integer) or targets.ndim != 1:
                raise InputTypeError(f"ember.fast: expected integer class labels of shape ({n},), got {targets.dtype} "
                                 f"{targets.shape}")
            if n and (targets.min() < 0 or targets.max() >= n_out):
                raise InputError(f"ember.fast: labels must lie in [0, {n_out}) (0-based)")
            return np.ascontiguousarray(targets, dtype=np.int64), np.zeros((1, 1), dtype=dtype)
        if targets.size != n * n_out or targets.dtype.kind not in "fiub":
            raise InputError(f"ember.fast: expected {n_out} real target values per example ({n} examples), got "
                             f"{targets.dtype} targets of shape {targets.shape}")
        values = np.ascontiguousarray(targets.reshape(n, n_out), dtype=dtype)
        return np.zeros(1, dtype=np.int64), values


def _sgd_settings(state: dict) -> tuple[float, float, float, float, float, bool]:
    """``optim.sgd``'s configuration read from ``state`` and checked as ``optim.sgd`` checks it:
    ``(learning_rate, learning_rate_decay, weight_decay, momentum, dampening, nesterov)``.
    """
    if not isinstance(state, dict):
        raise InputTypeError(f"ember.fast: state must be optim.sgd's dict, got {type(state).__name__}")
    unknown = sorted(set(state) - SGD_KEYS, key=str)
    if unknown:
        raise InputError(f"ember.fast: unknown optim.sgd setting(s) {unknown}; it reads {sorted(SGD_KEYS)}")
    if state.get("learning_rates") is not None or state.get("weight_decays") is not None:
        raise UnsupportedError("optim.sgd: per-parameter learning_rates or weight_decays are not supported by "
                               "ember.fast")
    mom = state.get("momentum", 0.0)
    values = {"learning_rate": state.get("learning_rate", 1e-3),
              "learning_rate_decay": state.get("learning_rate_decay", 0.0),
              "weight_decay": state.get("weight_decay", 0.0), "momentum": mom,
              "dampening": state.get("dampening", mom)}
    for key, value in values.items():
        if isinstance(value, bool) or not isinstance(value, numbers.Real) or not 0 <= value < math.inf:
            raise InputError(f"optim.sgd: {key} must be a finite number >= 0, got {value!r}")
    nesterov = state.get("nesterov", False)
    if not isinstance(nesterov, (bool, np.bool_)):
        raise InputTypeError(f"optim.sgd: nesterov must be True or False, got {nesterov!r}")
    lr, lrd, wd, mom, damp = (float(value) for value in values.values())
    if nesterov and (mom <= 0 or damp != 0):
        raise InputError("optim.sgd: Nesterov momentum requires momentum > 0 and dampening 0")
    return lr, lrd, wd, mom, damp, bool(nesterov)


def compile(model: nn.Module, criterion: nn.Criterion, warm: bool = True) -> Compiled:
    """Compile ``model`` and ``criterion`` into fused SGD steps (see the module docstring).

    Raises :class:`UnsupportedError` naming the module, criterion or setting that is not supported, and
    ``ImportError`` naming the install command when numba is absent. With ``warm`` (default) the kernel
    is compiled (or loaded from numba's disk cache) now, on a copy of the parameters, and
    ``compile_seconds`` says how long that took.
    """
    if not available():
        raise ImportError("ember.fast needs numba: pip install 'ember[fast]'")
    plan = make_plan(model, criterion)
    compiled = Compiled(model, criterion, plan)
    if warm:
        twin_model = model.clone()
        twin = Compiled(twin_model, criterion, make_plan(twin_model, criterion))
        n_in = next(layer.n_in for layer in plan.layers if type(layer) is nn.Linear)
        params, _ = twin.model.getParameters()
        n_out = int(plan.widths(n_in)[-1])
        labels = np.zeros(1, dtype=np.int64)
        targets = labels if plan.criterion in (codes.CROSS_ENTROPY, codes.CLASS_NLL) \
            else np.full((1, n_out), 0.5, dtype=params.dtype)
        twin.train(np.zeros((1, n_in), dtype=params.dtype), targets, {"learning_rate": 0.0})
        compiled.compile_seconds = twin.compile_seconds
    return compiled
