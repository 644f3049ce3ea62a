"""The module catalog: one table of (module factory, example inputs, PyTorch equivalent).

Each family registers its cases in ``tests/nn/catalog_<family>.py`` as a list
``CASES``; ``test_catalog.py`` runs the Jacobian, batch-consistency, dtype, repr
and PyTorch conformance tests over all of them, so registering a module tests it
everywhere.
"""

from __future__ import annotations

import importlib
import pkgutil
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

import tests.nn as package


@dataclass
class Case:
    """One module under test.

    Attributes:
        id: the test id, e.g. ``"Linear"`` or ``"Sum(dim=1)"``.
        make: builds the module from a seeded generator (float64).
        single: builds one example input (array or list of arrays).
        batch: builds a batched input (a leading batch dimension on every array), or ``None``.
        torch: the PyTorch reference ``torch_fn(torch, module, x, params) -> output``: ``x`` is the
            input as torch tensor(s) and ``params`` the module's ``parameters()[0]`` as tensors, in
            order; ``None`` where PyTorch has no equivalent.
        per_example: batch output equals the examples' outputs stacked (false for e.g. batch norm).
        differentiable_input: ``False`` for index inputs (LookupTable).
    """

    id: str
    make: Callable[[np.random.Generator], Any]
    single: Callable[[np.random.Generator], Any]
    batch: Callable[[np.random.Generator], Any] | None = None
    torch: Callable[..., Any] | None = None
    per_example: bool = True
    differentiable_input: bool = True
    tags: tuple[str, ...] = field(default_factory=tuple)


def all_cases() -> list[Case]:
    """Every ``CASES`` list of every ``tests/nn/catalog_*.py``."""
    cases = []
    for info in sorted(pkgutil.iter_modules(package.__path__), key=lambda i: i.name):
        if info.name.startswith("catalog_"):
            cases.extend(importlib.import_module(f"tests.nn.{info.name}").CASES)
    return cases


def normal(*shape: int) -> Callable[[np.random.Generator], np.ndarray]:
    """An input factory: standard normal float64 of ``shape``."""
    return lambda rng: rng.standard_normal(shape)


def positive(*shape: int) -> Callable[[np.random.Generator], np.ndarray]:
    """An input factory: uniform(0.5, 2) float64 of ``shape`` (for log, sqrt, division)."""
    return lambda rng: rng.uniform(0.5, 2.0, shape)


def table(*factories: Callable[[np.random.Generator], Any]) -> Callable[[np.random.Generator], list[Any]]:
    """An input factory for a table: a list with one entry per factory."""
    return lambda rng: [factory(rng) for factory in factories]
