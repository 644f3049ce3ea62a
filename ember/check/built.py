"""Check what a class or builder builds: the whole of ``ember check`` below the command line.

:func:`check_built` builds a module from a class (or any builder) and its arguments, draws a seeded
standard-normal input of the given shape (by default :func:`default_input_shape`) and runs
:func:`~ember.check.check_module`; :func:`check_built_model` is its whole-model twin, the randomized
``check_model(mode="fast")`` with the criterion a caller's ``criterion_for(model)`` picks (ember.models
sits above this layer) on random targets (:func:`random_target`). A module that cannot be built, or
that refuses the drawn input, raises :class:`~ember.errors.CheckSetupError`.

>>> from ember import nn
>>> checked = check_built(nn.Linear, (3, 2))
>>> checked.report.ok, checked.input.shape
(True, (3,))
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from ember.check.audit import check_module
from ember.check.model import check_model
from ember.check.report import ModelReport, ModuleReport
from ember.errors import CheckSetupError, InputError
from ember.nn.criterion import Criterion
from ember.nn.module import Module

#: the input shape used when none is given and the module has no positive integer ``n_in``.
DEFAULT_INPUT_SHAPE = (4, 5)


@dataclass
class BuiltCheck:
    """What :func:`check_built` checked: the report, the module built and the input drawn for it."""

    report: ModuleReport
    module: Module
    input: np.ndarray


def default_input_shape(module: Any) -> tuple[int, ...]:
    """``(n_in,)`` for a module with a positive integer ``n_in`` attribute, else :data:`DEFAULT_INPUT_SHAPE`."""
    n_in = getattr(module, "n_in", None)
    if isinstance(n_in, (int, np.integer)) and not isinstance(n_in, bool) and n_in > 0:
        return (int(n_in),)
    return DEFAULT_INPUT_SHAPE


def call_label(name: str, args: Sequence[Any] = (), kwargs: Mapping[str, Any] | None = None) -> str:
    """How a call reads: ``call_label("Linear", (3,), {"n_out": 2})`` is ``'Linear(3, n_out=2)'``."""
    return f"{name}({', '.join([repr(v) for v in args] + [f'{k}={v!r}' for k, v in (kwargs or {}).items()])})"


def build(builder: Callable[..., Any], args: Sequence[Any] = (), kwargs: Mapping[str, Any] | None = None, *,
          label: str) -> Module:
    """``builder(*args, **kwargs)``, which must be a Module; else :class:`CheckSetupError` naming ``label``."""
    try:
        module = builder(*args, **dict(kwargs or {}))
    except Exception as error:
        raise CheckSetupError(f"cannot create {label}: {type(error).__name__}: {error}") from error
    if not isinstance(module, Module):
        raise CheckSetupError(f"{label} is a {type(module).__name__}, not an ember.nn.Module")
    return module


def _refused(module: Module, shape: tuple[int, ...], error: Exception) -> CheckSetupError:
    return CheckSetupError(f"{module.describe()} does not take an input of shape {shape}: {error}", shape)


def check_built(builder: Callable[..., Any], args: Sequence[Any] = (), kwargs: Mapping[str, Any] | None = None,
                *, input_shape: tuple[int, ...] | None = None, seed: int = 0, eps: float = 1e-6,
                tol: float = 1e-6, batch: bool | None = None, name: str | None = None) -> BuiltCheck:
    """Build ``builder(*args, **kwargs)`` and :func:`~ember.check.check_module` it at a random input.

    The input is standard normal (``seed``) of ``input_shape`` (default :func:`default_input_shape`),
    in the dtype of the module's first parameter (float64 without parameters). A module that refuses
    it with an :class:`~ember.errors.InputError` raises :class:`CheckSetupError` (with ``input_shape``);
    any other exception of its forward is a bug of the module, reported as a failed check. ``name``
    (default ``builder.__name__``) names the call in that error.
    """
    module = build(builder, args, kwargs, label=call_label(name or builder.__name__, args, kwargs))
    shape = tuple(input_shape) if input_shape is not None else default_input_shape(module)
    params = module.parameters()[0]
    dtype = params[0].dtype if params else np.dtype(np.float64)
    x = np.random.default_rng(seed).standard_normal(shape).astype(dtype)
    try:
        module.forward(x.copy())
    except InputError as error:  # the module refused the input (Module.fail): not a bug of the module
        raise _refused(module, shape, error) from error
    except Exception:
        pass  # anything else is a bug of the module: check_module reports it as a failure
    report = check_module(module, x, eps=eps, tol=tol, batch=batch, seed=seed)
    return BuiltCheck(report, module, x)


def random_target(criterion: Criterion, output: np.ndarray, rng: np.random.Generator) -> Any:
    """A random target for ``criterion`` at ``output``: 0/1 for a probability, else class indices."""
    if criterion.output_meaning == "probability":
        return rng.integers(0, 2, output.shape).astype(np.float64)
    if output.ndim > 1:
        return rng.integers(0, output.shape[-1], output.shape[:-1])
    return int(rng.integers(0, output.shape[-1]))


def check_built_model(builder: Callable[..., Any], args: Sequence[Any] = (), kwargs: Mapping[str, Any] | None = None,
                      *, criterion_for: Callable[[Module], Criterion], input_shape: tuple[int, ...] | None = None,
                      seed: int = 0, eps: float = 1e-6, tol: float = 1e-6, budget: float = 10.0,
                      name: str | None = None) -> ModelReport:
    """Build a model, convert it to float64 and run ``check_model(mode="fast")`` on random data.

    The input is standard normal (``seed``) of ``input_shape`` (default :func:`default_input_shape`),
    the criterion ``criterion_for(model)`` (e.g. :func:`ember.models.criterion_for`) and the target
    :func:`random_target`. A model whose forward raises on that input raises :class:`CheckSetupError`;
    so does a builder that fails, named by ``name`` (default ``builder.__name__``).
    """
    model = build(builder, args, kwargs, label=name or builder.__name__).type(np.float64)
    shape = tuple(input_shape) if input_shape is not None else default_input_shape(model)
    rng = np.random.default_rng(seed)
    x = rng.standard_normal(shape)
    try:
        output = model.forward(x.copy())
    except Exception as error:
        raise _refused(model, shape, error) from error
    criterion = criterion_for(model)
    return check_model(model, criterion, x, random_target(criterion, output, rng), eps=eps, tol=tol, mode="fast",
                       budget=budget, seed=seed)
