"""A module tree's parameters with readable names, and a snapshot of its gradients and state to put back."""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from ember.check.structure import copy_structure
from ember.nn.module import Module


class _Parameter(NamedTuple):
    name: str  # 'weight', or '[0].weight' for a descendant's
    grad_name: str  # 'gradWeight', or '[0].gradWeight'
    value: np.ndarray
    grad: np.ndarray


def _module_paths(root: Module) -> dict[int, str]:
    """``id(module)`` → its place below ``root``: ``''`` for root, ``'[1][0]'`` for ``root[1][0]``."""
    paths = {id(root): ""}

    def walk(module: Module, prefix: str) -> None:
        for i, child in enumerate(module.children()):
            if id(child) not in paths:
                paths[id(child)] = f"{prefix}[{i}]"
                walk(child, paths[id(child)])

    walk(root, "")
    return paths


def _named_parameters(module: Module) -> list[_Parameter]:
    """The entries of ``module.parameters()``, in order, with readable names."""
    paths = _module_paths(module)
    names: dict[int, tuple[str, str]] = {}
    for owner in module.listModules():
        prefix = paths.get(id(owner), "")
        for name, grad_name in owner.declared_parameters().items():
            value = getattr(owner, name, None)
            if value is not None:
                dot = "." if prefix else ""
                names.setdefault(id(value), (f"{prefix}{dot}{name}", f"{prefix}{dot}{grad_name}"))
    params, grads = module.parameters()
    return [_Parameter(*names.get(id(p), (f"parameters()[{i}]", f"gradParameters()[{i}]")), p, g)
            for i, (p, g) in enumerate(zip(params, grads))]


def _resolve_param(module: Module, param: str | int) -> np.ndarray:
    """The parameter array named by ``param`` (attribute name or index into parameters())."""
    if isinstance(param, str):
        value = getattr(module, param, None)
        if not isinstance(value, np.ndarray):
            module.fail(f"has no parameter {param!r}")
        return value
    if isinstance(param, bool) or not isinstance(param, (int, np.integer)):
        module.fail(f"param must be a parameter's name or index, got {param!r}", TypeError)
    params = module.parameters()[0]
    if not 0 <= param < len(params):
        module.fail(f"parameter index {param} out of range for {len(params)} parameters", IndexError)
    return params[param]


class _Snapshot:
    """Parameter gradients and declared buffers (persistent state) of a module tree, to put back."""

    def __init__(self, module: Module) -> None:
        self.saved = [(grad, grad.copy()) for grad in module.parameters()[1] if isinstance(grad, np.ndarray)]
        self.state = [(owner, name, copy_structure(getattr(owner, name)))
                      for owner in module.listModules() for name in owner.declared_buffers()
                      if isinstance(getattr(owner, name, None), np.ndarray)]

    def restore(self) -> None:
        for grad, saved in self.saved:
            grad[...] = saved
        for owner, name, saved in self.state:
            current = getattr(owner, name)
            if isinstance(current, np.ndarray) and current.shape == saved.shape and current.dtype == saved.dtype:
                current[...] = saved
            else:
                setattr(owner, name, saved)
