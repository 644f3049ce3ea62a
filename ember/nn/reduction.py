"""Reductions over one dimension: Sum, Mean, Max, Min (Torch's ``nn.Sum`` family).

Dimensions are 0-based. As in Torch, when ``n_input_dims > 0`` and the input has
``n_input_dims + 1`` dimensions, the first one is a batch and a non-negative ``dim``
shifts by one; a negative ``dim`` counts from the end and never shifts. The reduced
dimension is removed, except that a 1-D input gives shape ``(1,)`` (Torch has no 0-d
tensors), so ``Concat(0, CMul(5), Sum(0))`` gives 6 elements.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ember.nn.module import Module, resized


class _Reduction(Module):
    """Shared dimension handling: which axis to reduce and the output's shape, worked out (and
    checked) once per new input shape.
    """

    squeeze = True
    _scratch = ("_planned_for",)

    def __init__(self, dim: int = 0, n_input_dims: int = -1) -> None:
        super().__init__()
        self.dim, self.n_input_dims = dim, n_input_dims
        self._planned_for: tuple[int, ...] | None = None
        self._plan_value: tuple[int, tuple[int, ...], tuple[int, ...]] = (0, (), ())

    def config(self) -> dict[str, Any]:
        return {"dim": self.dim, "n_input_dims": self.n_input_dims}

    def checkInput(self, input: np.ndarray) -> None:
        super().checkInput(input)
        self._planned(input)

    def _planned(self, input: np.ndarray) -> tuple[int, tuple[int, ...], tuple[int, ...]]:
        """``(axis, output shape, output shape with the reduced axis kept as size 1)``."""
        if input.shape != self._planned_for:
            self._plan_value = self._plan(input)
            self._planned_for = input.shape
        return self._plan_value

    def _plan(self, input: np.ndarray) -> tuple[int, tuple[int, ...], tuple[int, ...]]:
        shifted = self.dim >= 0 and self.n_input_dims > 0 and input.ndim == self.n_input_dims + 1
        axis = input.ndim + self.dim if self.dim < 0 else self.dim + shifted
        if not 0 <= axis < input.ndim:
            batch = " (dim + 1: the first dimension is a batch)" if shifted else ""
            self.fail(f"cannot reduce dim {self.dim}{batch} of an input of shape {input.shape}", IndexError)
        kept = input.shape[:axis] + (1,) + input.shape[axis + 1:]
        squeezed = input.shape[:axis] + input.shape[axis + 1:]
        return axis, squeezed if self.squeeze and input.ndim > 1 else kept, kept

    def _output(self, input: np.ndarray, shape: tuple[int, ...]) -> np.ndarray:
        """The reused output buffer, C-contiguous so that reshaping it to ``kept`` is a view."""
        out = self.output
        if type(out) is np.ndarray and out.shape == shape and out.dtype == input.dtype and out.flags.c_contiguous:
            return out
        self.output = np.empty_like(input, shape=shape, order="C")
        return self.output

    def extra_repr(self) -> str:
        return str(self.dim) + (f", n_input_dims={self.n_input_dims}" if self.n_input_dims > 0 else "")


class Sum(_Reduction):
    """Sum over dimension ``dim``: ``y = Σ_dim x`` (Torch's ``nn.Sum``), or the mean with ``size_average``.

    Backward: ``∂L/∂x = g`` broadcast back along ``dim`` (divided by its size with ``size_average``).

    Args:
        dim: the dimension to reduce (0-based; negative counts from the end).
        n_input_dims: the number of dimensions of one example; an input with one more has a
            leading batch dimension and ``dim`` shifts by one. ``-1`` (default): no batch handling.
        size_average: divide by the size of ``dim`` (the mean).
        squeeze: remove the reduced dimension (default); ``False`` keeps it with size 1.

    Shape: input of any shape with a dimension ``dim``; output the same without it (a 1-D input
    gives ``(1,)``).

    Example:
        >>> Sum(0).forward(np.arange(1.0, 6.0))
        array([15.])

    """

    def __init__(self, dim: int = 0, n_input_dims: int = -1, size_average: bool = False,
                 squeeze: bool = True) -> None:
        super().__init__(dim, n_input_dims)
        self.size_average, self.squeeze = size_average, squeeze

    def config(self) -> dict[str, Any]:
        return {**super().config(), "size_average": self.size_average, "squeeze": self.squeeze}

    def updateOutput(self, input: np.ndarray) -> np.ndarray:
        axis, shape, kept = self._planned(input)
        out = self._output(input, shape)
        np.add.reduce(input, axis=axis, keepdims=True, out=out.reshape(kept))
        if self.size_average:
            out /= input.shape[axis]
        return out

    def updateGradInput(self, input: np.ndarray, gradOutput: np.ndarray) -> np.ndarray:
        axis, _, kept = self._planned(input)
        grad = self.gradInput = resized(self.gradInput, input)
        if self.size_average:
            np.divide(gradOutput.reshape(kept), input.shape[axis], out=grad)
        else:
            np.copyto(grad, gradOutput.reshape(kept))
        return grad

    def extra_repr(self) -> str:
        text = super().extra_repr()
        if self.size_average and type(self) is Sum:
            text += ", size_average=True"
        if not self.squeeze:
            text += ", squeeze=False"
        return text


class Mean(Sum):
    """Mean over dimension ``dim``: ``y = (1/n) Σ_dim x`` (Torch's ``nn.Mean``), ``n`` the size of ``dim``.

    Backward: ``∂L/∂x = g / n`` broadcast back along ``dim``. Arguments as :class:`Sum`.

    Example:
        >>> Mean(1).forward(np.array([[1.0, 3.0], [2.0, 2.0]]))
        array([2., 2.])

    """

    def __init__(self, dim: int = 0, n_input_dims: int = -1) -> None:
        super().__init__(dim, n_input_dims, size_average=True)


    def config(self) -> dict[str, Any]:
        return _Reduction.config(self)

class Max(_Reduction):
    """Maximum over dimension ``dim`` (Torch's ``nn.Max``).

    Backward: ``g`` goes to the position of the maximum (the first one on ties, as Torch);
    every other element of ``∂L/∂x`` is 0.

    Args:
        dim: the dimension to reduce (0-based; negative counts from the end).
        n_input_dims: the number of dimensions of one example; an input with one more has a
            leading batch dimension and ``dim`` shifts by one. ``-1`` (default): no batch handling.

    Shape: as :class:`Sum`. Attribute ``indices``: the arg-max of the last forward, with the
    reduced dimension kept (size 1).

    """

    _select = staticmethod(np.argmax)
    _extreme = np.maximum
    _scratch = ("_planned_for", "indices")

    def __init__(self, dim: int = 0, n_input_dims: int = -1) -> None:
        super().__init__(dim, n_input_dims)
        self.indices: np.ndarray | None = None

    def checkInput(self, input: np.ndarray) -> None:
        super().checkInput(input)
        if input.shape[self._planned(input)[0]] == 0:
            self.fail(f"cannot take the {type(self).__name__.lower()} over dim {self.dim} of size 0 "
                      f"(input of shape {input.shape})")

    def updateOutput(self, input: np.ndarray) -> np.ndarray:
        axis, shape, kept = self._planned(input)
        out = self._output(input, shape)
        self.indices = self._select(input, axis=axis, keepdims=True)
        self._extreme.reduce(input, axis=axis, keepdims=True, out=out.reshape(kept))
        return out

    def updateGradInput(self, input: np.ndarray, gradOutput: np.ndarray) -> np.ndarray:
        axis, _, kept = self._planned(input)
        grad = self.gradInput = resized(self.gradInput, input)
        grad.fill(0)
        np.put_along_axis(grad, self.indices, gradOutput.reshape(kept), axis)
        return grad


class Min(Max):
    """Minimum over dimension ``dim`` (Torch's ``nn.Min``).

    Backward: ``g`` goes to the position of the minimum (the first one on ties, as Torch);
    every other element of ``∂L/∂x`` is 0. Arguments and shapes as :class:`Max`.
    """

    _select = staticmethod(np.argmin)
    _extreme = np.minimum
