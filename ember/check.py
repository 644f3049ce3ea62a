"""Finite-difference gradient checking.

``jacobian`` builds a module's Jacobian twice: by backprop (one one-hot
``gradOutput`` per output element, row by row) and by two-sided finite
differences ``(f(x + ε e_j) − f(x − ε e_j)) / 2ε`` (column by column). Inputs
and outputs may be arrays or (nested) lists of arrays ("tables"); their
elements are numbered in order, table entry by table entry.
"""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np

from ember.nn.module import Module


def leaves(structure: Any) -> list[np.ndarray]:
    """The arrays of an array or (nested) table, in order."""
    if isinstance(structure, list):
        return [leaf for item in structure for leaf in leaves(item)]
    return [structure]


def flatten(structure: Any) -> np.ndarray:
    """All elements of an array or table as one float64 vector."""
    return np.concatenate([np.asarray(leaf, dtype=np.float64).ravel() for leaf in leaves(structure)])


def copy_structure(structure: Any) -> Any:
    """A deep copy of an array or table."""
    if isinstance(structure, list):
        return [copy_structure(item) for item in structure]
    return np.array(structure, copy=True)


def one_hot_like(structure: Any, index: int) -> Any:
    """Zeros shaped like ``structure`` with a single 1 at flat position ``index``."""
    if isinstance(structure, list):
        result = []
        for item in structure:
            size = sum(leaf.size for leaf in leaves(item))
            result.append(one_hot_like(item, index) if 0 <= index < size else zeros_like(item))
            index -= size
        return result
    hot = np.zeros_like(structure)
    hot.reshape(-1)[index] = 1
    return hot


def zeros_like(structure: Any) -> Any:
    """Zeros shaped like an array or table."""
    if isinstance(structure, list):
        return [zeros_like(item) for item in structure]
    return np.zeros_like(structure)


def _warn_if_single(arrays: list[np.ndarray]) -> None:
    if any(a.dtype != np.float64 for a in arrays if np.issubdtype(a.dtype, np.floating)):
        warnings.warn("finite differences in single precision are unreliable; check in float64 "
                      "(module.double() and a float64 input)", stacklevel=3)


def _resolve_param(module: Module, param: str | int) -> tuple[np.ndarray, str]:
    """The parameter array named by ``param`` (attribute name or index into parameters())."""
    if isinstance(param, str):
        value = getattr(module, param, None)
        if not isinstance(value, np.ndarray):
            module.fail(f"has no parameter {param!r}")
        return value, param
    params = module.parameters()[0]
    if not 0 <= param < len(params):
        module.fail(f"parameter index {param} out of range for {len(params)} parameters", IndexError)
    return params[param], f"parameters()[{param}]"


def _param_grad(module: Module, param: np.ndarray) -> np.ndarray:
    """The gradient array that pairs with ``param`` in ``module.parameters()``."""
    for p, g in zip(*module.parameters()):
        if p is param:
            return g
    module.fail("the parameter to check is not among its parameters()")


def jacobian(module: Module, input: Any, param: str | int | None = None,
             eps: float = 1e-6) -> tuple[np.ndarray, np.ndarray]:
    """Return ``(analytic, numeric)`` Jacobians of ``module`` at ``input``.

    Rows are output elements; columns are input elements (``param=None``) or the
    entries of one parameter (``param`` is an attribute name such as ``'weight'``
    or an index into ``module.parameters()[0]``). The caller's input is never
    modified; perturbed parameter entries are restored exactly, and the
    module's parameter gradients are left as they were.
    """
    x = copy_structure(input)
    _warn_if_single(leaves(x))
    output = copy_structure(module.forward(x))
    n_out = flatten(output).size
    if param is None:
        targets = leaves(x)
        for leaf in targets:
            if not np.issubdtype(leaf.dtype, np.floating):
                module.fail(f"cannot differentiate with respect to an input of dtype {leaf.dtype}", TypeError)
        grad_of = None
    else:
        array, _ = _resolve_param(module, param)
        targets = [array]
        grad_of = _param_grad(module, array)
    n_in = sum(t.size for t in targets)

    analytic = np.empty((n_out, n_in))
    saved_grads = [g.copy() for g in module.parameters()[1]]
    for row in range(n_out):
        grad_output = one_hot_like(output, row)
        if grad_of is None:
            analytic[row] = flatten(module.updateGradInput(x, grad_output))
        else:
            module.zeroGradParameters()
            module.backward(x, grad_output)
            analytic[row] = grad_of.ravel()
    for grad, saved in zip(module.parameters()[1], saved_grads):
        grad[...] = saved

    numeric = np.empty((n_out, n_in))
    column = 0
    for target in targets:
        flat = target.reshape(-1)  # a view: parameters and copied inputs are contiguous here
        if not np.shares_memory(flat, target):
            module.fail("cannot perturb a non-contiguous parameter in place")
        for j in range(flat.size):
            original = flat[j]
            flat[j] = original + eps
            plus = flatten(module.forward(x))
            flat[j] = original - eps
            minus = flatten(module.forward(x))
            flat[j] = original
            numeric[:, column] = (plus - minus) / (2 * eps)
            column += 1
    module.forward(x)
    return analytic, numeric


def jacobian_error(module: Module, input: Any, param: str | int | None = None, eps: float = 1e-6) -> float:
    """Largest absolute difference between the backprop and finite-difference Jacobians."""
    analytic, numeric = jacobian(module, input, param, eps)
    return float(np.max(np.abs(analytic - numeric), initial=0.0))
