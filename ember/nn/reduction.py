"""Reductions over one dimension: Sum, Mean, Max, Min (Torch's ``nn.Sum`` family).

Dimensions are 0-based. As in Torch, when ``n_input_dims > 0`` and the input has
``n_input_dims + 1`` dimensions, the first one is a batch and a non-negative ``dim``
shifts by one; a negative ``dim`` counts from the end and never shifts. The reduced
dimension is removed, except that a 1-D input gives shape ``(1,)`` (Torch has no 0-d
tensors), so ``Concat(0, CMul(5), Sum(0))`` gives 6 elements.
"""

from __future__ import annotations

import numpy as np

from ember.nn.module import Module, resized


class _Reduction(Module):
    """Shared dimension handling: which axis to reduce and the output's shape."""

    squeeze = True

    def __init__(self, dim: int = 0, n_input_dims: int = -1) -> None:
        super().__init__()
        self.dim, self.n_input_dims = dim, n_input_dims

    def _axis(self, input: np.ndarray) -> int:
        """The 0-based axis of ``input`` that this module reduces."""
        if self.dim < 0:
            return input.ndim + self.dim
        if self.n_input_dims > 0 and input.ndim == self.n_input_dims + 1:
            return self.dim + 1
        return self.dim

    def checkInput(self, input: np.ndarray) -> None:
        super().checkInput(input)
        axis = self._axis(input)
        if not 0 <= axis < input.ndim:
            batch = " (dim + 1: the first dimension is a batch)" if axis == self.dim + 1 and self.dim >= 0 else ""
            self.fail(f"cannot reduce dim {self.dim}{batch} of an input of shape {input.shape}", IndexError)

    def _output_shape(self, input: np.ndarray, axis: int) -> tuple[int, ...]:
        if self.squeeze and input.ndim > 1:
            return input.shape[:axis] + input.shape[axis + 1:]
        return input.shape[:axis] + (1,) + input.shape[axis + 1:]

    @staticmethod
    def _kept(array: np.ndarray, axis: int, input: np.ndarray) -> np.ndarray:
        """A view of ``array`` (output-shaped) with the reduced axis present, of size 1."""
        return array if array.ndim == input.ndim else np.expand_dims(array, axis)

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

    def updateOutput(self, input: np.ndarray) -> np.ndarray:
        axis = self._axis(input)
        out = self.output = resized(self.output, input, self._output_shape(input, axis))
        np.sum(input, axis=axis, keepdims=True, out=self._kept(out, axis, input))
        if self.size_average:
            out /= input.shape[axis]
        return out

    def updateGradInput(self, input: np.ndarray, gradOutput: np.ndarray) -> np.ndarray:
        axis = self._axis(input)
        grad = self.gradInput = resized(self.gradInput, input)
        kept = self._kept(gradOutput, axis, input)
        if self.size_average:
            np.divide(kept, input.shape[axis], out=grad)
        else:
            np.copyto(grad, kept)
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
    _extreme = staticmethod(np.amax)
    _buffers = ("indices",)

    def __init__(self, dim: int = 0, n_input_dims: int = -1) -> None:
        super().__init__(dim, n_input_dims)
        self.indices: np.ndarray | None = None

    def checkInput(self, input: np.ndarray) -> None:
        super().checkInput(input)
        if input.shape[self._axis(input)] == 0:
            self.fail(f"cannot take the {type(self).__name__.lower()} over dim {self.dim} of size 0 "
                      f"(input of shape {input.shape})")

    def updateOutput(self, input: np.ndarray) -> np.ndarray:
        axis = self._axis(input)
        out = self.output = resized(self.output, input, self._output_shape(input, axis))
        self.indices = self._select(input, axis=axis, keepdims=True)
        self._extreme(input, axis=axis, keepdims=True, out=self._kept(out, axis, input))
        return out

    def updateGradInput(self, input: np.ndarray, gradOutput: np.ndarray) -> np.ndarray:
        axis = self._axis(input)
        grad = self.gradInput = resized(self.gradInput, input)
        grad.fill(0)
        np.put_along_axis(grad, self.indices, self._kept(gradOutput, axis, input), axis)
        return grad


class Min(Max):
    """Minimum over dimension ``dim`` (Torch's ``nn.Min``).

    Backward: ``g`` goes to the position of the minimum (the first one on ties, as Torch);
    every other element of ``∂L/∂x`` is 0. Arguments and shapes as :class:`Max`.
    """

    _select = staticmethod(np.argmin)
    _extreme = staticmethod(np.amin)
