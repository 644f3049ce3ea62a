"""The catalog of modules and criteria: one table of (factory, example inputs, PyTorch equivalent).

Each family registers its modules in ``tests/nn/catalog_<family>.py`` as a list
``CASES`` of :class:`Case`, and its criteria as a list ``CRITERIA`` of
:class:`CriterionCase` (either list may be absent); ``test_catalog.py`` runs the
Jacobian, batch-consistency, dtype, repr and PyTorch conformance tests and the
full audit (``check_module``, ``check_criterion``) over all of them, so
registering a module or a criterion tests it everywhere.
"""

from __future__ import annotations

import importlib
import pkgutil
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

import tests.nn as package
from ember.nn.criterion import Criterion


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


def _catalogs() -> list[Any]:
    return [importlib.import_module(f"tests.nn.{info.name}")
            for info in sorted(pkgutil.iter_modules(package.__path__), key=lambda i: i.name)
            if info.name.startswith("catalog_")]


def all_cases() -> list[Case]:
    """Every ``CASES`` list of every ``tests/nn/catalog_*.py``."""
    return [case for catalog in _catalogs() for case in getattr(catalog, "CASES", ())]


@dataclass
class CriterionCase:
    """One criterion under test.

    Attributes:
        id: the test id.
        make: builds the criterion (float64, sizeAverage true).
        input: ``input(rng, batch)`` builds an input; ``batch`` is ``None`` for a single example.
        target: ``target(rng, input)`` builds a target for that input.
        torch: ``torch(torch, criterion, x, t) -> loss`` in torch float64, honouring ``sizeAverage``.
        per_example: whether a batch's summed loss is its examples' (false for 1-D batches of scores,
            whose examples are numbers, not arrays).
    """

    id: str
    make: Callable[[], Criterion]
    input: Callable[[np.random.Generator, int | None], Any]
    target: Callable[[np.random.Generator, Any], Any]
    torch: Callable[..., Any]
    per_example: bool = True  # a batch is its examples stacked (False: the criterion has no single-example form)


def all_criteria() -> list[CriterionCase]:
    """Every ``CRITERIA`` list of every ``tests/nn/catalog_*.py``."""
    return [case for catalog in _catalogs() for case in getattr(catalog, "CRITERIA", ())]


def normal(*shape: int) -> Callable[[np.random.Generator], np.ndarray]:
    """An input factory: standard normal float64 of ``shape``."""
    return lambda rng: rng.standard_normal(shape)


def positive(*shape: int) -> Callable[[np.random.Generator], np.ndarray]:
    """An input factory: uniform(0.5, 2) float64 of ``shape`` (for log, sqrt, division)."""
    return lambda rng: rng.uniform(0.5, 2.0, shape)


def table(*factories: Callable[[np.random.Generator], Any]) -> Callable[[np.random.Generator], list[Any]]:
    """An input factory for a table: a list with one entry per factory."""
    return lambda rng: [factory(rng) for factory in factories]
