"""Shape modules: View, Reshape, Transpose, Squeeze, Unsqueeze, Replicate, Narrow, Select.

They move elements without computing on them, so they accept arrays of any dtype
(integer indices included), and each backward puts ``gradOutput`` back where the
elements came from. Dimensions and offsets are 0-based; a negative dimension counts
from the end. As Torch: View, Reshape, Squeeze and Unsqueeze return views of the
input (and of ``gradOutput``); Transpose, Replicate, Narrow and Select copy into reused
contiguous buffers.

Each module works out the output's shape once per new input shape (its "plan") and
checks the input there, so a steady-state forward does no shape arithmetic.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from ember.errors import InputError, InputTypeError
from ember.nn.module import Module


def _contiguous(buffer: Any, like: np.ndarray, shape: tuple[int, ...]) -> np.ndarray:
    """``buffer`` if it is a C-contiguous array of ``shape`` and ``like``'s dtype, else a new one."""
    if (type(buffer) is np.ndarray and buffer.shape == shape and buffer.dtype == like.dtype
            and buffer.flags.c_contiguous):
        return buffer
    return np.empty_like(like, shape=shape, order="C")


def _sizes(sizes: tuple[Any, ...]) -> tuple[int, ...]:
    """Sizes given as ``*sizes`` or as one tuple (Torch's ``LongStorage``) as a tuple of ints."""
    if len(sizes) == 1 and isinstance(sizes[0], (tuple, list)):
        sizes = tuple(sizes[0])
    if not all(isinstance(s, (int, np.integer)) for s in sizes):
        raise InputTypeError(f"expected sizes as ints, got {sizes!r}")
    return tuple(int(s) for s in sizes)


class _ShapeModule(Module):
    """Any-dtype input check and the per-input-shape plan cache shared by the shape modules."""

    _scratch = ("_planned_for",)

    def __init__(self) -> None:
        super().__init__()
        self._planned_for: tuple[int, ...] | None = None
        self._plan_value: Any = None

    def checkInput(self, input: Any) -> None:
        if not isinstance(input, np.ndarray):
            self.fail(f"expected a NumPy array, got {type(input).__name__}", TypeError)
        self._planned(input)

    def _planned(self, input: np.ndarray) -> Any:
        """The plan for ``input``'s shape, worked out (and checked) when the shape is new."""
        if input.shape != self._planned_for:
            self._plan_value = self._plan(input)
            self._planned_for = input.shape
        return self._plan_value

    def _plan(self, input: np.ndarray) -> Any:
        raise NotImplementedError

    # The reshaping modules (View, Reshape, Squeeze, Unsqueeze) plan an output shape and return views;
    # Transpose, Replicate, Narrow and Select override these two.
    def updateOutput(self, input: np.ndarray) -> np.ndarray:
        self.output = input.reshape(self._planned(input))
        return self.output

    def updateGradInput(self, input: np.ndarray, gradOutput: np.ndarray) -> np.ndarray:
        self.gradInput = gradOutput.reshape(input.shape)
        return self.gradInput

    def _replan(self) -> None:
        """Forget the plan and the checked shape (after a setting changed)."""
        self._planned_for = None
        self.recheck()

    def _axis(self, input: np.ndarray, dim: int, what: str = "dim") -> int:
        """The axis of ``input`` that ``dim`` names (negative counts from the end), checked."""
        axis = dim + input.ndim if dim < 0 else dim
        if not 0 <= axis < input.ndim:
            self.fail(f"{what} {dim} out of range for an input of shape {input.shape}", IndexError)
        return axis


class _BatchAware(_ShapeModule):
    """A shape module with Torch's ``setNumInputDims``: an input with more dimensions than
    ``n_input_dims`` has leading batch dimensions.
    """

    n_input_dims: int

    def set_num_input_dims(self, n_input_dims: int) -> _BatchAware:
        """Set the number of dimensions of one example (``-1``: no batch handling); returns ``self``.

        ``config()`` reports it as the constructor's ``n_input_dims``, so that ``ember.io`` saves
        it and a loaded module behaves the same.
        """
        if isinstance(n_input_dims, bool) or not isinstance(n_input_dims, (int, np.integer)):
            raise InputTypeError(f"{self.describe()}: set_num_input_dims expects an int, got {n_input_dims!r}")
        self.n_input_dims = int(n_input_dims)
        self._replan()
        return self

    setNumInputDims = set_num_input_dims  # Torch's name

    def _batch_repr(self) -> str:
        return f", n_input_dims={self.n_input_dims}" if self.n_input_dims > 0 else ""


class View(_BatchAware):
    """View the input with new sizes (Torch's ``nn.View``); one size may be ``-1`` (inferred).

    Forward: ``y = x.reshape(sizes)`` — a view of the input, never a copy when the input is
    contiguous (a non-contiguous input is copied, where Torch would refuse). Backward:
    ``∂L/∂x = g.reshape(x.shape)``, a view of ``gradOutput``.

    Batch mode, as Torch: when the input holds a multiple ``b > 1`` of the view's elements,
    the output is ``(b, *sizes)``. With ``n_input_dims`` (or ``set_num_input_dims``), the
    last ``n_input_dims`` dimensions form one example and any before them are the batch, so
    ``View(-1, n_input_dims=3)`` flattens each example of a ``(batch, C, H, W)`` input.

    Args:
        *sizes: the sizes of one example's view (ints, or one tuple); at most one ``-1``.
        n_input_dims: the number of dimensions of one input example (default ``-1``: not set).

    Example:
        >>> View(2, 3).forward(np.arange(12.0)).shape
        (2, 2, 3)

    """

    def __init__(self, *sizes: int, n_input_dims: int = -1) -> None:
        super().__init__()
        self.sizes = _sizes(sizes)
        if not self.sizes or any(s < 1 and s != -1 for s in self.sizes) or self.sizes.count(-1) > 1:
            raise InputError(f"View: expected positive sizes and at most one -1, got {self.sizes}")
        self.n_elements = math.prod(s for s in self.sizes if s != -1)
        self.n_input_dims = n_input_dims

    def config(self) -> dict[str, Any]:
        return {"sizes": self.sizes, "n_input_dims": self.n_input_dims}

    def _plan(self, input: np.ndarray) -> tuple[int, ...]:
        shape, ndim = input.shape, input.ndim
        example_dims = min(self.n_input_dims, ndim) if self.n_input_dims > 0 else ndim
        example_size = math.prod(shape[ndim - example_dims:])
        if example_size % self.n_elements:
            self._mismatch(input, f"{example_size} elements, not a multiple of {self.n_elements}")
        sizes = self.sizes
        if -1 in sizes:  # resolved within one example, so that an empty batch has a size for it too
            sizes = tuple(example_size // self.n_elements if s == -1 else s for s in sizes)
            batch = math.prod(shape[:ndim - example_dims])
        else:
            batch = example_size // self.n_elements * math.prod(shape[:ndim - example_dims])
        if batch != 1 or (self.n_input_dims > 0 and ndim > self.n_input_dims):
            sizes = (batch,) + sizes
        if math.prod(sizes) != input.size:
            self._mismatch(input, f"{input.size} elements, {math.prod(sizes)} in the view {sizes}")
        return sizes

    def _mismatch(self, input: np.ndarray, detail: str) -> None:
        self.fail(f"cannot view an input of shape {input.shape} as {self.sizes} or (batch, "
                  f"{', '.join(map(str, self.sizes))}) ({detail})")

    def extra_repr(self) -> str:
        return ", ".join(map(str, self.sizes)) + self._batch_repr()


class Reshape(_ShapeModule):
    """Reshape the input to ``sizes`` (Torch's ``nn.Reshape``), with an optional batch dimension.

    Forward: ``y = x.reshape(sizes)`` or ``x.reshape(batch, *sizes)`` — a view when the input is
    contiguous, else a copy (as Torch). Backward: ``∂L/∂x = g.reshape(x.shape)``.

    Args:
        *sizes: the sizes of one example (positive ints, or one tuple).
        batch_mode: ``True``: the first input dimension is always a batch; ``False``: never;
            ``None`` (default, as Torch): a batch unless the input has exactly the example's
            number of elements and its first dimension is not 1.

    Example:
        >>> Reshape(2, 3).forward(np.zeros((4, 6))).shape
        (4, 2, 3)

    """

    def __init__(self, *sizes: int, batch_mode: bool | None = None) -> None:
        super().__init__()
        self.sizes = _sizes(sizes)
        if not self.sizes or any(s < 1 for s in self.sizes):
            raise InputError(f"Reshape: expected positive sizes, got {self.sizes} (View infers a -1 size)")
        self.n_elements = math.prod(self.sizes)
        self.batch_mode = batch_mode

    def config(self) -> dict[str, Any]:
        return {"sizes": self.sizes, "batch_mode": self.batch_mode}

    def _plan(self, input: np.ndarray) -> tuple[int, ...]:
        batched = self.batch_mode
        if batched is None:
            batched = input.ndim > 0 and not (input.size == self.n_elements and input.shape[0] != 1)
        if batched and input.ndim == 0:
            self.fail("expected an input with a batch dimension, got a 0-d array")
        sizes = (input.shape[0],) + self.sizes if batched else self.sizes
        if math.prod(sizes) != input.size:
            expected = f"(batch, {', '.join(map(str, self.sizes))})" if batched else str(self.sizes)
            self.fail(f"cannot reshape an input of shape {input.shape} ({input.size} elements) to {expected}")
        return sizes

    def extra_repr(self) -> str:
        mode = "" if self.batch_mode is None else f", batch_mode={self.batch_mode}"
        return ", ".join(map(str, self.sizes)) + mode


class Transpose(_BatchAware):
    """Swap pairs of dimensions in turn (Torch's ``nn.Transpose``), into a contiguous copy.

    Forward: ``y = x`` with dims ``d1, d2`` swapped for each pair, in order. Backward: the
    inverse permutation of ``gradOutput``.

    Args:
        *pairs: ``(d1, d2)`` pairs of 0-based dimensions (negative: from the end).
        n_input_dims: the number of dimensions of one example; non-negative dims of an input
            with more are shifted past the leading batch dimensions (default ``-1``: not set).

    Example:
        >>> Transpose((0, 1)).forward(np.zeros((2, 3))).shape
        (3, 2)

    """

    def __init__(self, *pairs: tuple[int, int], n_input_dims: int = -1) -> None:
        super().__init__()
        if not all(isinstance(p, (tuple, list)) and len(p) == 2 for p in pairs):
            raise InputError(f"Transpose: expected (d1, d2) pairs, got {pairs!r}")
        self.pairs = tuple((int(a), int(b)) for a, b in pairs)
        self.n_input_dims = n_input_dims

    def config(self) -> dict[str, Any]:
        return {"pairs": self.pairs, "n_input_dims": self.n_input_dims}

    def _plan(self, input: np.ndarray) -> tuple[tuple[int, ...], tuple[int, ...], tuple[int, ...]]:
        offset = input.ndim - self.n_input_dims if self.n_input_dims > 0 else 0
        if offset < 0:
            self.fail(f"expected at least {self.n_input_dims} dimensions, got {input.shape}")
        axes = list(range(input.ndim))
        for pair in self.pairs:
            a, b = (self._axis(input, d + offset if d >= 0 else d) for d in pair)
            axes[a], axes[b] = axes[b], axes[a]
        shape = tuple(input.shape[a] for a in axes)
        return tuple(axes), tuple(np.argsort(axes).tolist()), shape

    def updateOutput(self, input: np.ndarray) -> np.ndarray:
        axes, _, shape = self._planned(input)
        self.output = _contiguous(self.output, input, shape)
        np.copyto(self.output, input.transpose(axes))
        return self.output

    def updateGradInput(self, input: np.ndarray, gradOutput: np.ndarray) -> np.ndarray:
        _, inverse, _ = self._planned(input)
        self.gradInput = _contiguous(self.gradInput, gradOutput, input.shape)
        np.copyto(self.gradInput, gradOutput.transpose(inverse))
        return self.gradInput

    def extra_repr(self) -> str:
        return ", ".join(f"({a}, {b})" for a, b in self.pairs) + self._batch_repr()


class Squeeze(_BatchAware):
    """Remove dimensions of size 1 (Torch's ``nn.Squeeze``): all of them, or only ``dim``.

    As Torch: squeezing ``dim`` of size other than 1 does nothing; a result with no
    dimension left is ``(1,)``; with ``n_input_dims``, a non-negative ``dim`` of a batch
    input shifts by one and a batch of size 1 is kept. Forward gives a view; backward
    ``∂L/∂x = g.reshape(x.shape)``.

    Args:
        dim: the dimension to squeeze (default ``None``: every dimension of size 1).
        n_input_dims: the number of dimensions of one example (default ``-1``: not set).

    """

    def __init__(self, dim: int | None = None, n_input_dims: int = -1) -> None:
        super().__init__()
        self.dim, self.n_input_dims = dim, n_input_dims

    def config(self) -> dict[str, Any]:
        return {"dim": self.dim, "n_input_dims": self.n_input_dims}

    def _plan(self, input: np.ndarray) -> tuple[int, ...]:
        shape = input.shape
        batched = self.n_input_dims > 0 and input.ndim == self.n_input_dims + 1
        if self.dim is not None:
            axis = self._axis(input, self.dim + 1 if batched and self.dim >= 0 else self.dim)
            if shape[axis] != 1 or input.ndim == 1:
                return shape
            return shape[:axis] + shape[axis + 1:]
        squeezed = tuple(s for s in shape if s != 1) or (1,)
        if batched and shape[0] == 1:
            squeezed = (1,) + squeezed
        return squeezed

    def extra_repr(self) -> str:
        return (str(self.dim) + self._batch_repr()) if self.dim is not None else self._batch_repr()[2:]


class Unsqueeze(_BatchAware):
    """Insert a dimension of size 1 at position ``pos`` (Torch's ``nn.Unsqueeze``).

    With ``n_input_dims``, a non-negative ``pos`` counts after the leading batch dimensions
    (those beyond ``n_input_dims``); a negative ``pos`` counts from the end of the output.
    Forward gives a view; backward ``∂L/∂x = g.reshape(x.shape)``.

    Args:
        pos: where the new dimension goes, ``0 … ndim`` of one example.
        n_input_dims: the number of dimensions of one example (default ``-1``: not set).

    """

    def __init__(self, pos: int, n_input_dims: int = -1) -> None:
        super().__init__()
        self.pos, self.n_input_dims = pos, n_input_dims

    def config(self) -> dict[str, Any]:
        return {"pos": self.pos, "n_input_dims": self.n_input_dims}

    def _plan(self, input: np.ndarray) -> tuple[int, ...]:
        offset = input.ndim - self.n_input_dims if self.n_input_dims > 0 else 0
        if offset < 0:
            self.fail(f"expected at least {self.n_input_dims} dimensions (n_input_dims), got {input.shape}")
        where = self.pos + offset if self.pos >= 0 else input.ndim + 1 + self.pos
        if not 0 <= where <= input.ndim:
            self.fail(f"position {self.pos} out of range for an input of shape {input.shape}", IndexError)
        return input.shape[:where] + (1,) + input.shape[where:]

    def extra_repr(self) -> str:
        return str(self.pos) + self._batch_repr()


class Replicate(_ShapeModule):
    """Repeat the input ``n_features`` times along a new dimension ``dim`` (Torch's ``nn.Replicate``).

    Forward: ``y`` holds ``x`` broadcast along a new dimension of size ``n_features`` at ``dim``,
    copied into a reused contiguous buffer (Torch returns a zero-stride view; a copy stays
    writable, so a later in-place module cannot fail or write one element many times).
    Backward: ``∂L/∂x = Σ_dim g``.

    Args:
        n_features: the number of copies.
        dim: where the new dimension goes (0-based, ``0 … ndim``).
        n_dim: the number of dimensions of one example: an input with more has a leading batch
            dimension and ``dim`` shifts by one (default: never).

    Example:
        >>> Replicate(3).forward(np.zeros(4)).shape
        (3, 4)

    """

    def __init__(self, n_features: int, dim: int = 0, n_dim: float = math.inf) -> None:
        super().__init__()
        if dim < 0:
            raise InputError(f"Replicate: expected a non-negative dim, got {dim}")
        self.n_features, self.dim, self.n_dim = n_features, dim, n_dim

    def config(self) -> dict[str, Any]:
        return {"n_features": self.n_features, "dim": self.dim, "n_dim": self.n_dim}

    def _plan(self, input: np.ndarray) -> tuple[int, tuple[int, ...]]:
        axis = self.dim + (1 if input.ndim > self.n_dim else 0)
        if axis > input.ndim:
            self.fail(f"cannot insert dim {self.dim} into an input of shape {input.shape}", IndexError)
        return axis, input.shape[:axis] + (self.n_features,) + input.shape[axis:]

    def updateOutput(self, input: np.ndarray) -> np.ndarray:
        axis, shape = self._planned(input)
        self.output = _contiguous(self.output, input, shape)
        np.copyto(self.output, np.expand_dims(input, axis))  # broadcasts along the new axis
        return self.output

    def updateGradInput(self, input: np.ndarray, gradOutput: np.ndarray) -> np.ndarray:
        axis, _ = self._planned(input)
        self.gradInput = _contiguous(self.gradInput, gradOutput, input.shape)
        np.sum(gradOutput, axis=axis, out=self.gradInput)
        return self.gradInput

    def extra_repr(self) -> str:
        text = str(self.n_features) + (f", dim={self.dim}" if self.dim else "")
        return text + (f", n_dim={self.n_dim}" if self.n_dim != math.inf else "")


class _Slicing(_ShapeModule):
    """Copy ``input[index]`` forward; scatter ``gradOutput`` back into zeros (Narrow, Select)."""

    def updateOutput(self, input: np.ndarray) -> np.ndarray:
        index, shape = self._planned(input)
        self.output = _contiguous(self.output, input, shape)
        np.copyto(self.output, input[index])
        return self.output

    def updateGradInput(self, input: np.ndarray, gradOutput: np.ndarray) -> np.ndarray:
        index, _ = self._planned(input)
        grad = self.gradInput = _contiguous(self.gradInput, gradOutput, input.shape)
        grad.fill(0)
        grad[index] = gradOutput
        return grad


class Narrow(_Slicing):
    """Take ``length`` consecutive elements of dimension ``dim`` from ``offset`` (Torch's ``nn.Narrow``).

    Forward: ``y = x[..., offset : offset + length, ...]`` (along ``dim``), copied. Backward:
    ``∂L/∂x`` is ``g`` in that slice and 0 elsewhere.

    Args:
        dim: the dimension (0-based; negative counts from the end).
        offset: the first element (0-based; negative counts from the end, as Python).
        length: how many (default 1); a negative length counts from the end as Torch: ``-1``
            takes up to the last element, ``-2`` up to the one before it, …

    """

    def __init__(self, dim: int, offset: int, length: int = 1) -> None:
        super().__init__()
        self.dim, self.offset, self.length = dim, offset, length

    def config(self) -> dict[str, Any]:
        return {"dim": self.dim, "offset": self.offset, "length": self.length}

    def _plan(self, input: np.ndarray) -> tuple[tuple[slice, ...], tuple[int, ...]]:
        axis = self._axis(input, self.dim)
        size = input.shape[axis]
        start = self.offset + size if self.offset < 0 else self.offset
        length = self.length if self.length >= 0 else size - start + self.length + 1
        if not (0 <= start and length >= 1 and start + length <= size):
            self.fail(f"cannot take {self.length} element(s) from offset {self.offset} of dim {self.dim} "
                      f"(size {size}) of an input of shape {input.shape}", IndexError)
        index = (slice(None),) * axis + (slice(start, start + length),)
        return index, input.shape[:axis] + (length,) + input.shape[axis + 1:]

    def extra_repr(self) -> str:
        return f"{self.dim}, {self.offset}, {self.length}"


class Select(_Slicing):
    """Take element ``index`` of dimension ``dim``, removing that dimension (Torch's ``nn.Select``).

    Forward: ``y = x[..., index, ...]`` (along ``dim``), copied; a 1-D input gives a 0-d
    array. Backward: ``∂L/∂x`` is ``g`` at that index and 0 elsewhere.

    Args:
        dim: the dimension (0-based; negative counts from the end).
        index: the element (0-based; negative counts from the end).

    """

    def __init__(self, dim: int, index: int) -> None:
        super().__init__()
        self.dim, self.index = dim, index

    def config(self) -> dict[str, Any]:
        return {"dim": self.dim, "index": self.index}

    def _plan(self, input: np.ndarray) -> tuple[tuple[Any, ...], tuple[int, ...]]:
        axis = self._axis(input, self.dim)
        size = input.shape[axis]
        index = self.index + size if self.index < 0 else self.index
        if not 0 <= index < size:
            self.fail(f"index {self.index} out of range for dim {self.dim} of size {size} "
                      f"(input of shape {input.shape})", IndexError)
        return (slice(None),) * axis + (index,), input.shape[:axis] + input.shape[axis + 1:]

    def extra_repr(self) -> str:
        return f"{self.dim}, {self.index}"
