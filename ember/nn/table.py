"""Table modules: layers whose input and/or output is a table (Torch's table layers).

A *table* is a Python list of NumPy arrays, possibly nested (Lua Torch's tables
of tensors, indexed from 0). Three kinds live here:

* restructuring: ``JoinTable``, ``SplitTable``, ``NarrowTable``, ``SelectTable``,
  ``FlattenTable`` (tensor ↔ table, sub-tables, flattening);
* element-wise over a table of same-shape arrays: ``CAddTable``, ``CSubTable``,
  ``CMulTable``, ``CDivTable``, ``CMaxTable``, ``CMinTable``;
* pair measures, one number per example: ``DotProduct``, ``CosineDistance``,
  ``PairwiseDistance``.

Modules that pass arrays through (``NarrowTable``, ``SelectTable``,
``FlattenTable``, ``SplitTable``) output the input's arrays (or views of them)
and hand ``gradOutput``'s arrays back in ``gradInput``, as Torch does: no copies.
Entries of the input that received no gradient get zeros, in reused buffers.
The base ``Module`` calls ``checkInput`` on every call for a table input, so the
checks here are a handful of comparisons per entry.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from ember.nn.module import Module, resized


def _got(value: Any) -> str:
    """Describe a wrong input for an error message: ``a list of 3``, ``ndarray of shape (2, 3)``."""
    if isinstance(value, list):
        return f"a list of {len(value)}"
    if isinstance(value, np.ndarray):
        return f"ndarray of shape {value.shape}"
    return type(value).__name__


def _table_buffers(buffers: Any, like: list[np.ndarray]) -> list[np.ndarray]:
    """One reused buffer per array of ``like`` (a flat table), shaped and typed like it."""
    if type(buffers) is not list:
        buffers = []
    if len(buffers) != len(like):
        buffers = (buffers + [None] * len(like))[:len(like)]
    for i, array in enumerate(like):
        buffers[i] = resized(buffers[i], array)
    return buffers


def check_leaves(module: Module, table: list[Any], path: str = "") -> None:
    """Raise unless every entry of the (nested) table is an array or a table of them, naming the first that is not."""
    for i, item in enumerate(table):
        if type(item) is list:
            check_leaves(module, item, f"{path}[{i}]")
        elif not isinstance(item, np.ndarray):
            module.fail(f"expected a (nested) list of arrays, entry {path}[{i}] is {type(item).__name__}", TypeError)


def _zeros_into(buffer: Any, like: Any) -> Any:
    """Zeros shaped like an array or (nested) table, reusing ``buffer``'s arrays."""
    if isinstance(like, list):
        old = buffer if isinstance(buffer, list) else []
        return [_zeros_into(old[i] if i < len(old) else None, item) for i, item in enumerate(like)]
    buffer = resized(buffer, like)
    buffer.fill(0)
    return buffer


def _scratch(buffer: Any, like: np.ndarray, dtype: Any) -> np.ndarray:
    """A reused scratch array shaped like ``like`` with its own ``dtype`` (indices, masks)."""
    if type(buffer) is np.ndarray and buffer.shape == like.shape and buffer.dtype == dtype:
        return buffer
    return np.empty_like(like, dtype=dtype)


# -- restructuring ----------------------------------------------------------------------------


class _AlongDim(Module):
    """Shared ``dim`` handling of JoinTable and SplitTable (Torch's ``nInputDims`` batch shift).

    A negative ``dim`` counts from the end and is never shifted; a non-negative one
    moves one to the right when ``n_input_dims > 0`` and the arrays have
    ``n_input_dims + 1`` dimensions (the first is then a batch).
    """

    def __init__(self, dim: int, n_input_dims: int = -1) -> None:
        super().__init__()
        self.dim, self.n_input_dims = dim, n_input_dims

    def config(self) -> dict[str, Any]:
        return {"dim": self.dim, "n_input_dims": self.n_input_dims}

    def _axis(self, ndim: int) -> int:
        if self.dim < 0:
            return self.dim + ndim
        return self.dim + 1 if self.n_input_dims > 0 and ndim == self.n_input_dims + 1 else self.dim

    def _shifted(self, axis: int) -> str:
        return f" (dim {axis} of a batch)" if self.dim >= 0 and axis != self.dim else ""

    def extra_repr(self) -> str:
        return f"{self.dim}" + (f", n_input_dims={self.n_input_dims}" if self.n_input_dims > 0 else "")


class JoinTable(_AlongDim):
    """Concatenate a table of arrays along ``dim`` (0-based) into one array (Torch's ``nn.JoinTable``).

    ``y = concat(x_0, x_1, …, axis=dim)``. Backward: ``∂L/∂x_i`` is the slice of
    ``g`` that ``x_i`` occupies (copied into reused buffers).

    Args:
        dim: the dimension to join along; negative counts from the end (never shifted).
        n_input_dims: the number of dimensions of one example's arrays; when the
            arrays have one more, the first is a batch and a non-negative ``dim``
            moves one to the right. ``-1`` (default): no batch detection.

    Shape: a list of arrays with equal shapes except along ``dim``; output: their
    shape with the sizes along ``dim`` added.

    Example:
        >>> JoinTable(0, n_input_dims=1).forward([np.ones((5, 3)), np.ones((5, 2))]).shape
        (5, 5)

    """

    def __init__(self, dim: int, n_input_dims: int = -1) -> None:
        super().__init__(dim, n_input_dims)
        self.gradInput = []

    def checkInput(self, input: Any) -> None:
        if type(input) is not list or not input:
            self.fail(f"expected a non-empty list of arrays, got {_got(input)}")
        for i, x in enumerate(input):
            if type(x) is not np.ndarray:
                self.fail(f"expected a list of arrays, entry {i} is {type(x).__name__}", TypeError)
        first = input[0]
        axis = self._axis(first.ndim)
        if not 0 <= axis < first.ndim:
            self.fail(f"cannot join along dim {self.dim}{self._shifted(axis)} arrays of shape {first.shape}")
        outside = first.shape[:axis] + first.shape[axis + 1:]
        for x in input:
            if x.ndim != first.ndim or x.shape[:axis] + x.shape[axis + 1:] != outside or x.dtype != first.dtype:
                self.fail(f"expected arrays of one dtype with equal sizes outside dim {axis}, got shapes "
                          f"{[x.shape for x in input]} and dtypes {sorted({str(x.dtype) for x in input})}")

    def updateOutput(self, input: list[np.ndarray]) -> np.ndarray:
        first = input[0]
        axis = self._axis(first.ndim)
        shape = list(first.shape)
        shape[axis] = sum(x.shape[axis] for x in input)
        self.output = resized(self.output, first, tuple(shape))
        np.concatenate(input, axis=axis, out=self.output)
        return self.output

    def updateGradInput(self, input: list[np.ndarray], gradOutput: np.ndarray) -> list[np.ndarray]:
        axis = self._axis(input[0].ndim)
        grads = self.gradInput = _table_buffers(self.gradInput, input)
        lead = (slice(None),) * axis
        offset = 0
        for x, grad in zip(input, grads):
            width = x.shape[axis]
            np.copyto(grad, gradOutput[lead + (slice(offset, offset + width),)])
            offset += width
        return grads


class SplitTable(_AlongDim):
    """Split an array along ``dim`` (0-based) into a table of its slices, ``dim`` removed (Torch's ``nn.SplitTable``).

    ``y_i = x[…, i, …]`` (index ``i`` at ``dim``), views of the input. Backward:
    ``∂L/∂x`` stacks the ``g_i`` along ``dim``.

    Args:
        dim: the dimension to split; negative counts from the end (never shifted).
        n_input_dims: the number of dimensions of one example; an input with one
            more is a batch and a non-negative ``dim`` moves one to the right.
            ``-1`` (default): no batch detection.

    Shape: input of at least one dimension; output: a list of ``x.shape[dim]``
    arrays of the remaining shape (0-d arrays for a 1-D input).

    Example:
        >>> [y.shape for y in SplitTable(0, n_input_dims=2).forward(np.ones((5, 3, 4)))]
        [(5, 4), (5, 4), (5, 4)]

    """

    def __init__(self, dim: int, n_input_dims: int = -1) -> None:
        super().__init__(dim, n_input_dims)
        self.output = []

    def checkInput(self, input: Any) -> None:
        if not isinstance(input, np.ndarray):
            self.fail(f"expected a NumPy array, got {_got(input)}", TypeError)
        axis = self._axis(input.ndim)
        if not 0 <= axis < input.ndim:
            self.fail(f"cannot split along dim {self.dim}{self._shifted(axis)} an array of shape {input.shape}")

    def updateOutput(self, input: np.ndarray) -> list[np.ndarray]:
        moved = np.moveaxis(input, self._axis(input.ndim), 0)
        self.output = [moved[i, ...] for i in range(moved.shape[0])]
        return self.output

    def updateGradInput(self, input: np.ndarray, gradOutput: list[np.ndarray]) -> np.ndarray:
        if type(gradOutput) is not list or len(gradOutput) != len(self.output):
            self.fail(f"expected gradOutput as a list of {len(self.output)} arrays, got {_got(gradOutput)}")
        self.gradInput = resized(self.gradInput, input)
        np.stack(gradOutput, axis=self._axis(input.ndim), out=self.gradInput)
        return self.gradInput


class _SubTable(Module):
    """Shared backward of modules that pass some entries of a table through and drop the rest."""

    _scratch = ("_zeros",)

    def __init__(self) -> None:
        super().__init__()
        self.output = []
        self.gradInput = []
        self._zeros: list[Any] | None = None

    def _route(self, input: list[Any], start: int, grads: list[Any]) -> list[Any]:
        """``gradInput``: ``grads`` at positions ``start…``, zeros (reused buffers) elsewhere."""
        stop = start + len(grads)
        old = self._zeros or []
        zeros = [old[i] if i < len(old) else None for i in range(len(input))]
        result = []
        for i, x in enumerate(input):
            if start <= i < stop:
                result.append(grads[i - start])
            else:
                zeros[i] = _zeros_into(zeros[i], x)
                result.append(zeros[i])
        self._zeros = zeros
        self.gradInput = result
        return result


class NarrowTable(_SubTable):
    """The sub-table of ``length`` entries starting at ``offset`` (0-based) (Torch's ``nn.NarrowTable``).

    ``y = [x_offset, …, x_{offset+length−1}]``, the input's own entries. Backward:
    ``∂L/∂x_i`` is ``g_{i−offset}`` for the selected entries and zeros (arrays or
    nested tables shaped like ``x_i``) for the others.

    Args:
        offset: index of the first entry kept (0-based, ≥ 0).
        length: how many entries to keep (default 1).

    Shape: a list of at least ``offset + length`` entries (arrays or tables);
    output: a list of ``length`` entries.

    Example:
        >>> len(NarrowTable(1, 2).forward([np.ones(3), np.ones(3), np.ones(2)]))
        2

    """

    def __init__(self, offset: int, length: int = 1) -> None:
        super().__init__()
        self.offset, self.length = offset, length
        if offset < 0:
            self.fail(f"offset must be >= 0 (0-based), got {offset}")
        if length < 1:
            self.fail(f"length must be >= 1, got {length}")

    def config(self) -> dict[str, Any]:
        return {"offset": self.offset, "length": self.length}

    def checkInput(self, input: Any) -> None:
        if type(input) is not list or len(input) < self.offset + self.length:
            self.fail(f"expected a list of at least {self.offset + self.length} entries, got {_got(input)}")
        check_leaves(self, input)

    def updateOutput(self, input: list[Any]) -> list[Any]:
        self.output = input[self.offset:self.offset + self.length]
        return self.output

    def updateGradInput(self, input: list[Any], gradOutput: list[Any]) -> list[Any]:
        if type(gradOutput) is not list or len(gradOutput) != self.length:
            self.fail(f"expected gradOutput as a list of {self.length} entries, got {_got(gradOutput)}")
        return self._route(input, self.offset, gradOutput)

    def extra_repr(self) -> str:
        return f"{self.offset}, {self.length}"


class SelectTable(_SubTable):
    """Entry ``index`` of a table (0-based; negative counts from the end) (Torch's ``nn.SelectTable``).

    ``y = x_index``, the input's own entry (an array or a nested table). Backward:
    ``∂L/∂x_index = g``; the other entries get zeros shaped like them (nested
    tables of zeros for nested entries).

    Args:
        index: which entry; ``-1`` is the last.

    Example:
        >>> SelectTable(-1).forward([np.zeros(3), np.ones(2)])
        array([1., 1.])

    """

    def __init__(self, index: int) -> None:
        super().__init__()
        self.index = index

    def config(self) -> dict[str, Any]:
        return {"index": self.index}

    def checkInput(self, input: Any) -> None:
        if type(input) is not list or not -len(input) <= self.index < len(input):
            self.fail(f"index {self.index} out of range for {_got(input)} (indices are 0-based)", IndexError)
        check_leaves(self, input)

    def updateOutput(self, input: list[Any]) -> Any:
        self.output = input[self.index]
        return self.output

    def updateGradInput(self, input: list[Any], gradOutput: Any) -> list[Any]:
        return self._route(input, self.index % len(input), [gradOutput])

    def extra_repr(self) -> str:
        return str(self.index)


def _flatten_into(flat: list[np.ndarray], table: list[Any]) -> list[np.ndarray]:
    for item in table:
        if type(item) is list:
            _flatten_into(flat, item)
        else:
            flat.append(item)
    return flat


def _nest_like(structure: list[Any], items: Any) -> list[Any]:
    """Take entries from the iterator ``items`` into a table nested like ``structure``."""
    return [_nest_like(s, items) if type(s) is list else next(items) for s in structure]


class FlattenTable(Module):
    """Flatten a nested table into a flat list of its arrays, depth first (Torch's ``nn.FlattenTable``).

    ``FlattenTable()([a, [b, [c]], d]) == [a, b, c, d]`` (the input's own arrays).
    Backward: ``gradInput`` is ``gradOutput``'s arrays nested like the input.

    Example:
        >>> len(FlattenTable().forward([np.ones(2), [np.ones(3), [np.ones(1)]]]))
        3

    """

    def __init__(self) -> None:
        super().__init__()
        self.output = []
        self.gradInput = []

    def _check(self, table: list[Any], path: str) -> None:
        check_leaves(self, table, path)

    def checkInput(self, input: Any) -> None:
        if type(input) is not list:
            self.fail(f"expected a (nested) list of arrays, got {_got(input)}", TypeError)
        self._check(input, "")

    def updateOutput(self, input: list[Any]) -> list[np.ndarray]:
        self.output = _flatten_into([], input)
        return self.output

    def updateGradInput(self, input: list[Any], gradOutput: list[np.ndarray]) -> list[Any]:
        if type(gradOutput) is not list or len(gradOutput) != len(self.output):
            self.fail(f"expected gradOutput as a list of {len(self.output)} arrays, got {_got(gradOutput)}")
        self.gradInput = _nest_like(input, iter(gradOutput))
        return self.gradInput


# -- element-wise over a table ----------------------------------------------------------------


class _ElementwiseTable(Module):
    """Shared checks of modules combining a table of same-shape arrays element by element."""

    #: how many entries the table must have; ``None``: one or more.
    n_inputs: int | None = None

    def __init__(self) -> None:
        super().__init__()
        self.gradInput = []

    def checkInput(self, input: Any) -> None:
        n = self.n_inputs
        if type(input) is not list or (len(input) != n if n else not input):
            self.fail(f"expected a list of {n or '1 or more'} arrays, got {_got(input)}")
        first = input[0]
        for x in input:
            if type(x) is not np.ndarray or x.shape != first.shape or x.dtype != first.dtype or x.dtype.kind != "f":
                self._fail_entries(input)

    def _fail_entries(self, input: list[Any]) -> None:
        for i, x in enumerate(input):
            if type(x) is not np.ndarray:
                self.fail(f"expected a list of arrays, entry {i} is {type(x).__name__}", TypeError)
        for x in input:
            if x.dtype.kind != "f":
                self.fail(f"expected floating-point arrays, got dtype {x.dtype}", TypeError)
        self.fail(f"expected arrays of one shape and dtype, got shapes {[x.shape for x in input]} "
                  f"and dtypes {sorted({str(x.dtype) for x in input})}")


class CAddTable(_ElementwiseTable):
    """Element-wise sum of a table of arrays (Torch's ``nn.CAddTable``).

    ``y = Σ_i x_i``. Backward: ``∂L/∂x_i = g`` (a copy per entry).

    Shape: a list of one or more arrays of one shape; output: that shape.
    """

    def updateOutput(self, input: list[np.ndarray]) -> np.ndarray:
        out = self.output = resized(self.output, input[0])
        np.copyto(out, input[0])
        for x in input[1:]:
            out += x
        return out

    def updateGradInput(self, input: list[np.ndarray], gradOutput: np.ndarray) -> list[np.ndarray]:
        grads = self.gradInput = _table_buffers(self.gradInput, input)
        for grad in grads:
            np.copyto(grad, gradOutput)
        return grads


class CSubTable(_ElementwiseTable):
    """Element-wise difference of a pair (Torch's ``nn.CSubTable``).

    ``y = x_0 − x_1``. Backward: ``∂L/∂x_0 = g``, ``∂L/∂x_1 = −g``.

    Shape: a list of two arrays of one shape; output: that shape.
    """

    n_inputs = 2

    def updateOutput(self, input: list[np.ndarray]) -> np.ndarray:
        self.output = resized(self.output, input[0])
        np.subtract(input[0], input[1], out=self.output)
        return self.output

    def updateGradInput(self, input: list[np.ndarray], gradOutput: np.ndarray) -> list[np.ndarray]:
        grads = self.gradInput = _table_buffers(self.gradInput, input)
        np.copyto(grads[0], gradOutput)
        np.negative(gradOutput, out=grads[1])
        return grads


class CMulTable(_ElementwiseTable):
    """Element-wise product of a table of arrays (Torch's ``nn.CMulTable``).

    ``y = Π_i x_i``. Backward: ``∂L/∂x_i = g · Π_{j≠i} x_j`` (products of the
    other entries, so zeros in the input are fine).

    Shape: a list of one or more arrays of one shape; output: that shape.
    """

    def updateOutput(self, input: list[np.ndarray]) -> np.ndarray:
        out = self.output = resized(self.output, input[0])
        np.copyto(out, input[0])
        for x in input[1:]:
            out *= x
        return out

    def updateGradInput(self, input: list[np.ndarray], gradOutput: np.ndarray) -> list[np.ndarray]:
        grads = self.gradInput = _table_buffers(self.gradInput, input)
        for i, grad in enumerate(grads):
            np.copyto(grad, gradOutput)
            for j, x in enumerate(input):
                if j != i:
                    grad *= x
        return grads


class CDivTable(_ElementwiseTable):
    """Element-wise quotient of a pair (Torch's ``nn.CDivTable``).

    ``y = x_0 / x_1``. Backward: ``∂L/∂x_0 = g / x_1``, ``∂L/∂x_1 = −g · x_0 / x_1² = −g · y / x_1``.

    Shape: a list of two arrays of one shape; output: that shape.
    """

    n_inputs = 2

    def updateOutput(self, input: list[np.ndarray]) -> np.ndarray:
        self.output = resized(self.output, input[0])
        np.divide(input[0], input[1], out=self.output)
        return self.output

    def updateGradInput(self, input: list[np.ndarray], gradOutput: np.ndarray) -> list[np.ndarray]:
        grads = self.gradInput = _table_buffers(self.gradInput, input)
        np.divide(gradOutput, input[1], out=grads[0])
        np.multiply(grads[0], self.output, out=grads[1])
        np.negative(grads[1], out=grads[1])
        return grads


class _ExtremumTable(_ElementwiseTable):
    """Shared code of CMaxTable and CMinTable: the winner's index per element routes the gradient."""

    _scratch = ("_index", "_mask", "_known")
    #: ``np.less_equal`` for the maximum: a later entry wins when it is not ``<=`` (strictly better, or NaN)
    #: and the current one is not NaN. NaN wins, the first NaN (as PyTorch's ``maximum`` and ``max(dim)``).
    _not_better = staticmethod(np.less_equal)

    def __init__(self) -> None:
        super().__init__()
        self._index: np.ndarray | None = None
        self._mask: np.ndarray | None = None
        self._known: np.ndarray | None = None

    def updateOutput(self, input: list[np.ndarray]) -> np.ndarray:
        out = self.output = resized(self.output, input[0])
        np.copyto(out, input[0])
        index = self._index = _scratch(self._index, out, np.intp)
        mask = self._mask = _scratch(self._mask, out, np.bool_)
        known = self._known = _scratch(self._known, out, np.bool_)
        index.fill(0)
        for i, x in enumerate(input[1:], 1):
            self._not_better(x, out, out=mask)
            np.equal(out, out, out=known)  # False where the current winner is NaN
            np.greater(known, mask, out=mask)  # known and not (x <= out)
            np.copyto(out, x, where=mask)
            np.copyto(index, i, where=mask)
        return out

    def updateGradInput(self, input: list[np.ndarray], gradOutput: np.ndarray) -> list[np.ndarray]:
        grads = self.gradInput = _table_buffers(self.gradInput, input)
        mask = self._mask
        for i, grad in enumerate(grads):
            np.equal(self._index, i, out=mask)
            grad.fill(0)
            np.copyto(grad, gradOutput, where=mask)
        return grads


class CMaxTable(_ExtremumTable):
    """Element-wise maximum of a table of arrays (Torch's ``nn.CMaxTable``).

    ``y = max_i x_i``, NaN where any ``x_i`` is NaN (as PyTorch's ``maximum``). Backward: ``∂L/∂x_i = g``
    where ``x_i`` is the maximum (the first NaN), 0 elsewhere; on ties the first such entry gets the whole
    gradient.

    Shape: a list of one or more arrays of one shape; output: that shape.
    """


class CMinTable(_ExtremumTable):
    """Element-wise minimum of a table of arrays (Torch's ``nn.CMinTable``).

    ``y = min_i x_i``, NaN where any ``x_i`` is NaN (as PyTorch's ``minimum``). Backward: ``∂L/∂x_i = g``
    where ``x_i`` is the minimum (the first NaN), 0 elsewhere; on ties the first such entry gets the whole
    gradient.

    Shape: a list of one or more arrays of one shape; output: that shape.
    """

    _not_better = staticmethod(np.greater_equal)


# -- pair measures: one number per example ----------------------------------------------------


class _PairMeasure(Module):
    """Shared code of modules mapping a pair of vectors (or of batches of vectors) to one number each.

    As in Torch, a pair of ``(n,)`` vectors gives an output of shape ``(1,)`` and a
    pair of ``(batch, n)`` matrices one of shape ``(batch,)``. Internally both are
    handled as matrices: ``_rows`` views a ``(n,)`` vector as ``(1, n)``.
    """

    def __init__(self) -> None:
        super().__init__()
        self.gradInput = []

    def checkInput(self, input: Any) -> None:
        if type(input) is not list or len(input) != 2:
            self.fail(f"expected a list of 2 arrays, got {_got(input)}")
        x1, x2 = input
        if type(x1) is not np.ndarray or type(x2) is not np.ndarray:
            self.fail(f"expected a list of 2 arrays, got a list of {type(x1).__name__} and {type(x2).__name__}",
                      TypeError)
        if x1.dtype.kind != "f" or x2.dtype != x1.dtype:
            self.fail(f"expected two floating-point arrays of one dtype, got {x1.dtype} and {x2.dtype}", TypeError)
        if x1.ndim not in (1, 2) or x2.shape != x1.shape:
            self.fail(f"expected two arrays of one shape (n,) or (batch, n), got {x1.shape} and {x2.shape}")

    @staticmethod
    def _rows(x: np.ndarray) -> np.ndarray:
        return x.reshape(-1, x.shape[-1])

    def _output(self, like: np.ndarray) -> np.ndarray:
        """``self.output`` resized to one value per row: ``(1,)`` or ``(batch,)``."""
        self.output = resized(self.output, like, (like.shape[0] if like.ndim == 2 else 1,))
        return self.output

    @staticmethod
    def _column(gradOutput: Any) -> np.ndarray:
        """``gradOutput`` as a column, one value per row."""
        return gradOutput.reshape(-1, 1)


class DotProduct(_PairMeasure):
    """Dot product of a pair of vectors, or row by row of a pair of batches (Torch's ``nn.DotProduct``).

    ``y = Σ_k x_0[k] x_1[k]``. Backward: ``∂L/∂x_0 = g · x_1``, ``∂L/∂x_1 = g · x_0``.

    Shape: a list of two ``(n,)`` arrays → ``(1,)`` (as in Torch, not a scalar);
    two ``(batch, n)`` arrays → ``(batch,)``.

    Example:
        >>> DotProduct().forward([np.array([1.0, 2.0]), np.array([3.0, 4.0])])
        array([11.])

    """

    def updateOutput(self, input: list[np.ndarray]) -> np.ndarray:
        x1, x2 = input
        np.einsum("ij,ij->i", self._rows(x1), self._rows(x2), out=self._output(x1))
        return self.output

    def updateGradInput(self, input: list[np.ndarray], gradOutput: np.ndarray) -> list[np.ndarray]:
        x1, x2 = input
        grads = self.gradInput = _table_buffers(self.gradInput, input)
        g = self._column(gradOutput)
        np.multiply(self._rows(x2), g, out=self._rows(grads[0]))
        np.multiply(self._rows(x1), g, out=self._rows(grads[1]))
        return grads


class CosineDistance(_PairMeasure):
    """Cosine similarity of a pair of vectors, or row by row of a pair of batches (Torch's ``nn.CosineDistance``).

    Despite the (Torch) name the output is the similarity, in [−1, 1]:
    ``y = x_0·x_1 · w``, ``w = 1/√((‖x_0‖² + ε)(‖x_1‖² + ε))``, ε = 1e-12.
    Backward (exact for that formula): ``∂L/∂x_0 = g w (x_1 − (x_0·x_1) x_0 / (‖x_0‖² + ε))``
    and symmetrically for ``x_1``.

    Shape: a list of two ``(n,)`` arrays → ``(1,)``; two ``(batch, n)`` arrays → ``(batch,)``.
    """

    _scratch = ("_dot", "_sq0", "_sq1", "_w")
    eps = 1e-12

    def updateOutput(self, input: list[np.ndarray]) -> np.ndarray:
        a, b = self._rows(input[0]), self._rows(input[1])
        self._dot = np.einsum("ij,ij->i", a, b)
        sq0 = self._sq0 = np.einsum("ij,ij->i", a, a)  # ‖x_0‖² + ε
        sq0 += self.eps
        sq1 = self._sq1 = np.einsum("ij,ij->i", b, b)
        sq1 += self.eps
        w = self._w = np.multiply(sq0, sq1)
        np.power(w, -0.5, out=w)
        np.multiply(self._dot, w, out=self._output(input[0]))
        return self.output

    def updateGradInput(self, input: list[np.ndarray], gradOutput: np.ndarray) -> list[np.ndarray]:
        a, b = self._rows(input[0]), self._rows(input[1])
        grads = self.gradInput = _table_buffers(self.gradInput, input)
        wg = self._column(gradOutput) * self._w[:, None]
        for grad, this, other, sq in ((grads[0], a, b, self._sq0), (grads[1], b, a, self._sq1)):
            rows = self._rows(grad)
            np.multiply(this, (self._dot / sq)[:, None], out=rows)
            np.subtract(other, rows, out=rows)
            rows *= wg
        return grads


class PairwiseDistance(_PairMeasure):
    """p-norm distance of a pair of vectors, or row by row of a pair of batches (Torch's ``nn.PairwiseDistance``).

    ``y = ‖x_0 − x_1‖_p = (Σ_k |d_k|^p)^(1/p)``, ``d = x_0 − x_1``. Backward:
    ``∂L/∂x_0 = g · sign(d_k) |d_k|^(p−1) / y^(p−1)`` and ``∂L/∂x_1 = −∂L/∂x_0``.

    Unlike Torch, the backward is the exact derivative (Torch adds 1e-6 to ``y``
    in the denominator) and where it does not exist it takes the zero
    subgradient: 0 where ``y = 0``, and for p = 1, 0 where ``d_k = 0`` (Torch
    picks a random sign there).

    Args:
        p: the norm, a finite number ≥ 1 (default 2).

    Shape: a list of two ``(n,)`` arrays → ``(1,)``; two ``(batch, n)`` arrays → ``(batch,)``.

    """

    _scratch = ("_diff",)

    def __init__(self, p: float = 2) -> None:
        super().__init__()
        self.p = p
        if not (isinstance(p, (int, float)) and math.isfinite(p) and p >= 1):
            self.fail(f"p must be a finite number >= 1, got {p!r}")
        self._diff: np.ndarray | None = None

    def config(self) -> dict[str, Any]:
        return {"p": self.p}

    def updateOutput(self, input: list[np.ndarray]) -> np.ndarray:
        x1, x2 = input
        diff = self._diff = resized(self._diff, x1)
        np.subtract(x1, x2, out=diff)
        d = self._rows(diff)
        out = self._output(x1)
        if self.p == 2:
            np.einsum("ij,ij->i", d, d, out=out)
            np.sqrt(out, out=out)
        elif self.p == 1:
            np.abs(d).sum(axis=1, out=out)
        else:
            np.power(np.abs(d), self.p).sum(axis=1, out=out)
            np.power(out, 1.0 / self.p, out=out)
        return out

    def updateGradInput(self, input: list[np.ndarray], gradOutput: np.ndarray) -> list[np.ndarray]:
        grads = self.gradInput = _table_buffers(self.gradInput, input)
        d, rows = self._rows(self._diff), self._rows(grads[0])
        g = self._column(gradOutput)
        if self.p == 1:
            np.sign(d, out=rows)
            rows *= g
        else:
            y = self.output[:, None]
            scale = np.zeros_like(y)
            np.divide(g, y if self.p == 2 else y ** (self.p - 1), out=scale, where=y > 0)
            if self.p == 2:
                np.multiply(d, scale, out=rows)
            else:
                np.abs(d, out=rows)
                np.power(rows, self.p - 1, out=rows)
                rows *= np.sign(d)
                rows *= scale
        np.negative(grads[0], out=grads[1])
        return grads

    def extra_repr(self) -> str:
        return f"{self.p:g}" if isinstance(self.p, (int, float)) else repr(self.p)
