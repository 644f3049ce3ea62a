"""Linear maps whose outputs are parts of a bigger Linear's: ``PartialLinear`` (a chosen subset of the output
units, Torch's ``nn.PartialLinear``) and ``Maxout`` (the maximum over groups of units, Torch's ``nn.Maxout``).
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from ember.nn.module import Module, resized
from ember.random import get_rng


def _check_vector_input(module: Module, input: np.ndarray, n_in: int) -> None:
    Module.checkInput(module, input)
    if input.ndim not in (1, 2) or input.shape[-1] != n_in:
        module.fail(f"expected input of shape ({n_in},) or (batch, {n_in}), got {input.shape}")


class PartialLinear(Module):
    """A Linear layer restricted to a chosen set of its output units (Torch's ``nn.PartialLinear``):
    ``y = x W[P]ᵀ + b[P]`` for the partition ``P`` (0-based rows; all rows until ``setPartition``).

    Backward: ``∂L/∂x = g W[P]``; ``∂L/∂W[P] += scale · gᵀ x`` and ``∂L/∂b[P] += scale · Σ_batch g``
    (scattered, so a row listed twice gets both); the other rows keep their parameters and get no gradient.

    Args:
        n_in: size of each input example.
        n_out: number of output units of the full layer.
        bias: whether to learn the bias (default ``True``).
        partition: the rows to compute (default: all), as ``setPartition``.
        rng: generator for the initialisation (default: the library-wide one).

    Shape: input ``(n_in,)`` or ``(batch, n_in)``; output ``(len(P),)`` or ``(batch, len(P))``.

    Attributes:
        weight: ``(n_out, n_in)``, initialised standard normal (Torch keeps it in a LookupTable);
            bias: ``(n_out,)``, initialised to 0, as Torch.
        partition: the selected rows (an int64 array).

    Example:
        >>> layer = PartialLinear(4, 10).setPartition([2, 5])
        >>> layer.forward(np.ones((3, 4))).shape
        (3, 2)

    """

    def __init__(self, n_in: int, n_out: int, bias: bool = True, partition: Any = None,
                 rng: int | np.random.Generator | None = None) -> None:
        super().__init__()
        self.n_in, self.n_out = n_in, n_out
        self.partition = np.arange(n_out)
        if partition is not None:
            self.setPartition(partition)
        self.register_parameter("weight", np.empty((n_out, n_in)))
        self.register_parameter("bias", np.empty(n_out) if bias else None)
        self.reset(rng)

    def config(self) -> dict[str, Any]:
        partition = None if np.array_equal(self.partition, np.arange(self.n_out)) else self.partition.tolist()
        return {"n_in": self.n_in, "n_out": self.n_out, "bias": self.bias is not None, "partition": partition}

    def reset(self, rng: int | np.random.Generator | None = None, *, stdv: float | None = None) -> PartialLinear:
        """Draw the weight from normal(0, stdv²), stdv = 1 unless given; the bias ← 0 (Torch's)."""
        self.weight[...] = get_rng(rng).normal(0.0, 1.0 if stdv is None else stdv, self.weight.shape)
        if self.bias is not None:
            self.bias[...] = 0.0
        return self

    def setPartition(self, indices: Any) -> PartialLinear:
        """Compute only the output units ``indices`` (0-based) from now on; returns ``self``."""
        partition = np.asarray(indices)
        if partition.ndim != 1 or partition.size == 0 or not np.issubdtype(partition.dtype, np.integer):
            self.fail(f"expected a non-empty 1-D array of integer row indices, got {partition!r}", TypeError)
        if partition.min() < 0 or partition.max() >= self.n_out:
            bad = partition[(partition < 0) | (partition >= self.n_out)][0]
            self.fail(f"partition index {bad} out of range for {self.n_out} output units (0-based)", IndexError)
        self.partition = partition.astype(np.int64)
        self.recheck()
        return self

    def resetPartition(self) -> PartialLinear:
        """Compute every output unit again (the full Linear layer); returns ``self``."""
        self.partition = np.arange(self.n_out)
        self.recheck()
        return self

    def checkInput(self, input: np.ndarray) -> None:
        _check_vector_input(self, input, self.n_in)

    def updateOutput(self, input: np.ndarray) -> np.ndarray:
        self.output = resized(self.output, input, input.shape[:-1] + (len(self.partition),))
        np.dot(input, self.weight[self.partition].T, out=self.output)
        if self.bias is not None:
            self.output += self.bias[self.partition]
        return self.output

    def updateGradInput(self, input: np.ndarray, gradOutput: np.ndarray) -> np.ndarray:
        self.gradInput = resized(self.gradInput, input)
        np.dot(gradOutput, self.weight[self.partition], out=self.gradInput)
        return self.gradInput

    def accGradParameters(self, input: np.ndarray, gradOutput: np.ndarray, scale: float = 1.0) -> None:
        g, x = (gradOutput[None], input[None]) if input.ndim == 1 else (gradOutput, input)
        np.add.at(self.gradWeight, self.partition, scale * (g.T @ x))
        if self.bias is not None:
            np.add.at(self.gradBias, self.partition, scale * g.sum(axis=0))

    def extra_repr(self) -> str:
        text = f"{self.n_in} -> {self.n_out}" + ("" if self.bias is not None else " without bias")
        return text if len(self.partition) == self.n_out else f"{text}, {len(self.partition)} selected"


class Maxout(Module):
    """Maxout units (Goodfellow et al. 2013; Torch's ``nn.Maxout``): a Linear layer to
    ``n_pieces · n_out`` units, viewed as ``(n_pieces, n_out)``, optionally passed through
    ``preprocess``, and the maximum taken over the pieces: ``y_j = max_k z[k, j]``, ``z = x Wᵀ + b``.

    Backward: ``g`` goes to the piece that gave the maximum (the first on a tie), through ``preprocess``'s
    backward, then as through a Linear layer.

    Args:
        n_in: size of each input example.
        n_out: number of maxout units.
        n_pieces: the number of linear pieces per unit (Torch's ``maxoutNumber``).
        preprocess: an optional module applied to the ``(n_pieces, n_out)`` view (``(batch, n_pieces,
            n_out)`` for a batch) before the maximum, e.g. ``Dropout``.
        rng: generator for the initialisation (default: the library-wide one).

    Shape: input ``(n_in,)`` or ``(batch, n_in)``; output ``(n_out,)`` or ``(batch, n_out)``.

    Attributes:
        weight: ``(n_pieces · n_out, n_in)`` (row ``k · n_out + j`` is piece ``k`` of unit ``j``), and bias
            ``(n_pieces · n_out,)``, initialised uniform(−1/√n_in, 1/√n_in) as a Linear's.

    """

    _scratch = ("_z", "_pieces", "_winner")

    def __init__(self, n_in: int, n_out: int, n_pieces: int, preprocess: Module | None = None,
                 rng: int | np.random.Generator | None = None) -> None:
        super().__init__()
        if preprocess is not None and not isinstance(preprocess, Module):
            self.fail(f"expected preprocess to be a Module or None, got {type(preprocess).__name__}", TypeError)
        self.n_in, self.n_out, self.n_pieces, self.preprocess = n_in, n_out, n_pieces, preprocess
        self._z: np.ndarray | None = None  # the (…, n_pieces, n_out) view of x Wᵀ + b
        self._pieces: np.ndarray | None = None  # after preprocess
        self._winner: np.ndarray | None = None  # argmax over the pieces, with a kept axis
        self.register_parameter("weight", np.empty((n_pieces * n_out, n_in)))
        self.register_parameter("bias", np.empty(n_pieces * n_out))
        self.reset(rng)

    def config(self) -> dict[str, Any]:
        return {"n_in": self.n_in, "n_out": self.n_out, "n_pieces": self.n_pieces, "preprocess": self.preprocess}

    def children(self) -> list[Module]:
        return [] if self.preprocess is None else [self.preprocess]

    def reset(self, rng: int | np.random.Generator | None = None, *, stdv: float | None = None) -> Maxout:
        """Draw weight and bias from uniform(−stdv, stdv), stdv = 1/√n_in unless given."""
        rng = get_rng(rng)
        stdv = 1.0 / math.sqrt(self.n_in) if stdv is None else stdv
        self.weight[...] = rng.uniform(-stdv, stdv, self.weight.shape)
        self.bias[...] = rng.uniform(-stdv, stdv, self.bias.shape)
        if self.preprocess is not None:
            self.preprocess.reset(rng) if stdv is None else self.preprocess.reset(rng, stdv=stdv)
        return self

    def checkInput(self, input: np.ndarray) -> None:
        _check_vector_input(self, input, self.n_in)

    def updateOutput(self, input: np.ndarray) -> np.ndarray:
        z = np.dot(input, self.weight.T) + self.bias
        self._z = z.reshape(input.shape[:-1] + (self.n_pieces, self.n_out))
        self._pieces = self._z if self.preprocess is None else self.preprocess.forward(self._z)
        self._winner = self._pieces.argmax(axis=-2)[..., None, :]
        self.output = resized(self.output, input, input.shape[:-1] + (self.n_out,))
        self.output[...] = np.take_along_axis(self._pieces, self._winner, axis=-2)[..., 0, :]
        return self.output

    def _grad_pieces(self, gradOutput: np.ndarray) -> np.ndarray:
        grad = np.zeros_like(self._pieces)
        np.put_along_axis(grad, self._winner, gradOutput[..., None, :], axis=-2)
        return grad

    def _grad_z(self, gradOutput: np.ndarray) -> np.ndarray:
        grad = self._grad_pieces(gradOutput)
        if self.preprocess is not None:
            grad = self.preprocess.updateGradInput(self._z, grad)
        return grad.reshape(grad.shape[:-2] + (grad.shape[-2] * grad.shape[-1],))  # (not -1: an empty batch)

    def updateGradInput(self, input: np.ndarray, gradOutput: np.ndarray) -> np.ndarray:
        self.gradInput = resized(self.gradInput, input)
        np.dot(self._grad_z(gradOutput), self.weight, out=self.gradInput)
        return self.gradInput

    def accGradParameters(self, input: np.ndarray, gradOutput: np.ndarray, scale: float = 1.0) -> None:
        grad_z = self._grad_z(gradOutput)
        if self.preprocess is not None:
            self.preprocess.accGradParameters(self._z, self._grad_pieces(gradOutput), scale)
        g, x = (grad_z[None], input[None]) if input.ndim == 1 else (grad_z, input)
        self.gradWeight += scale * (g.T @ x)
        self.gradBias += scale * g.sum(axis=0)

    def extra_repr(self) -> str:
        return f"{self.n_in} -> {self.n_out}, {self.n_pieces} pieces"

    def __repr__(self) -> str:
        if self.preprocess is None:
            return super().__repr__()
        inner = repr(self.preprocess).replace("\n", "\n  ")
        return f"nn.{self.describe()} (preprocess: {inner})"
