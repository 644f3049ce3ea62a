"""Arrays and (nested) tables of arrays: walk, copy, flatten, name their elements, describe them.

The checkers accept an input or output that is an array or a (nested) list of
arrays; these helpers number its elements in order, table entry by table entry,
as :func:`flatten` lays them out.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

_SINGLE_PRECISION = ("finite differences in single precision are unreliable; check in float64 "
                     "(module.double() and a float64 input)")


def leaves(structure: Any) -> list[np.ndarray]:
    """The arrays of an array or (nested) table, in order."""
    if isinstance(structure, list):
        return [leaf for item in structure for leaf in leaves(item)]
    return [structure]


def flatten(structure: Any) -> np.ndarray:
    """All elements of an array or table as one float64 vector."""
    parts = [np.asarray(leaf, dtype=np.float64).ravel() for leaf in leaves(structure)]
    return np.concatenate(parts) if parts else np.empty(0)


def copy_structure(structure: Any) -> Any:
    """A deep copy of an array or table (Python and NumPy scalars, being immutable, are returned as they are)."""
    if isinstance(structure, list):
        return [copy_structure(item) for item in structure]
    if isinstance(structure, (int, float, np.generic)):
        return structure
    return np.array(structure, copy=True, order="C")


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
    hot.flat[index] = 1  # C order, as flatten() numbers elements, whatever the array's layout
    return hot


def zeros_like(structure: Any) -> Any:
    """Zeros shaped like an array or table."""
    if isinstance(structure, list):
        return [zeros_like(item) for item in structure]
    return np.zeros_like(structure)


def _map(structure: Any, fn: Callable[[np.ndarray], Any]) -> Any:
    """Apply ``fn`` to every array of a table, keeping the structure."""
    if isinstance(structure, list):
        return [_map(item, fn) for item in structure]
    return fn(structure)


def _example(structure: Any, i: int) -> Any:
    """Example ``i`` of a batch: index the leading dimension of every array."""
    return _map(structure, lambda leaf: leaf[i])


def _stack(examples: Sequence[Any]) -> Any:
    """A batch made of examples (arrays or tables of the same structure)."""
    if isinstance(examples[0], list):
        return [_stack([example[k] for example in examples]) for k in range(len(examples[0]))]
    return np.stack(examples)


def _is_float(array: Any) -> bool:
    return isinstance(array, np.ndarray) and np.issubdtype(array.dtype, np.floating)


def _leaf_paths(structure: Any, prefix: str = "") -> list[str]:
    """Where each array of a table sits: ``['[0]', '[1][0]', …]``, or ``['']`` for an array."""
    if isinstance(structure, list):
        return [path for i, item in enumerate(structure) for path in _leaf_paths(item, f"{prefix}[{i}]")]
    return [prefix]


def _index_text(shape: tuple[int, ...], flat: int) -> str:
    if not shape:
        return ""
    return "[" + ", ".join(str(int(i)) for i in np.unravel_index(flat, shape)) + "]"


def _namer(paths: list[str], shapes: list[tuple[int, ...]]) -> Callable[[int], str]:
    """Name element ``flat`` of the concatenation of arrays of ``shapes`` sitting at ``paths``."""
    offsets = np.cumsum([0] + [math.prod(shape) for shape in shapes])

    def name(flat: int) -> str:
        k = int(np.searchsorted(offsets, flat, side="right")) - 1
        return paths[k] + _index_text(shapes[k], int(flat - offsets[k]))

    return name


def _structure_namer(structure: Any) -> Callable[[int], str]:
    return _namer(_leaf_paths(structure), [np.shape(leaf) for leaf in leaves(structure)])


def _describe(structure: Any) -> str:
    """``(4,) float64``, or ``[(3,) float64, (3,) int64]`` for a table."""
    if isinstance(structure, list):
        return "[" + ", ".join(_describe(item) for item in structure) + "]"
    array = np.asarray(structure)
    return f"{array.shape} {array.dtype}"


def _warn_if_single(arrays: list[np.ndarray], stacklevel: int = 3) -> None:
    if any(a.dtype != np.float64 for a in arrays if _is_float(a)):
        warnings.warn(_SINGLE_PRECISION, stacklevel=stacklevel + 1)


def _shapes_text(shapes: list[tuple[int, ...]] | None) -> str:
    if not shapes:
        return "()"
    return str(shapes[0]) if len(shapes) == 1 else "[" + ", ".join(map(str, shapes)) + "]"
