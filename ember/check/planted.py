"""Planted bugs: a model's module made wrong in one classic way, to test that a checker catches it.

:func:`plant` replaces one method of one module *instance* (the class is untouched), so a test or a
benchmark can plant each bug of :data:`BUGS` in a copy of a real model (LeNet, an MLP) and see whether
:func:`~ember.check.check_model` — full or fast — catches it and names the module.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from ember.errors import InputError
from ember.nn.module import Module


def _scaled_grad_input(factor: float) -> Callable[[Module], None]:
    def plant(module: Module) -> None:
        original = module.updateGradInput

        def wrong(input: Any, gradOutput: Any) -> Any:
            module.gradInput = factor * original(input, gradOutput)
            return module.gradInput

        module.updateGradInput = wrong

    return plant


def _parameters(change: Callable[[Module, Any, Any, float, Callable], None]) -> Callable[[Module], None]:
    def plant(module: Module) -> None:
        original = module.accGradParameters

        def wrong(input: Any, gradOutput: Any, scale: float = 1.0) -> None:
            change(module, input, gradOutput, scale, original)

        module.accGradParameters = wrong

    return plant


def _doubled(module: Module, input: Any, gradOutput: Any, scale: float, original: Callable) -> None:
    original(input, gradOutput, 2.0 * scale)


def _never_written(module: Module, input: Any, gradOutput: Any, scale: float, original: Callable) -> None:
    return None


def _first_example(module: Module, input: Any, gradOutput: Any, scale: float, original: Callable) -> None:
    original(input[:1], gradOutput[:1], scale)


def _summed_over_batch(module: Module) -> None:
    original = module.updateGradInput

    def wrong(input: Any, gradOutput: Any) -> Any:
        total = np.broadcast_to(gradOutput.sum(axis=0, keepdims=True), gradOutput.shape)
        module.gradInput = original(input, np.ascontiguousarray(total))
        return module.gradInput

    module.updateGradInput = wrong


#: bug name → a function planting it in a module (gradInput bugs need a module with an input gradient,
#: parameter bugs one with parameters, batch bugs a batch input).
BUGS: dict[str, Callable[[Module], None]] = {
    "sign of gradInput": _scaled_grad_input(-1.0),
    "gradInput halved": _scaled_grad_input(0.5),
    "parameter gradients doubled": _parameters(_doubled),
    "parameter gradients never written": _parameters(_never_written),
    "parameter gradients of the first example only": _parameters(_first_example),
    "gradInput summed over the batch": _summed_over_batch,
}


def plant(module: Module, bug: str) -> Module:
    """Plant ``bug`` (a key of :data:`BUGS`) in this ``module`` instance; returns the module."""
    if bug not in BUGS:
        raise InputError(f"plant: no bug {bug!r} (there are: {', '.join(BUGS)})")
    BUGS[bug](module)
    return module
