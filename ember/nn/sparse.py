"""Linear layers on sparse inputs given as (index, value) pairs: Torch's ``nn.SparseLinear`` and
``nn.IndexLinear``. Indices are 0-based.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from ember.nn.module import Module
from ember.random import get_rng


def _scatter_rows(n_rows: int, rows: np.ndarray, contributions: np.ndarray) -> np.ndarray:
    """``out[r] = Σ_{k : rows_k = r} contributions_k`` (an unbuffered scatter-add)."""
    out = np.zeros((n_rows,) + contributions.shape[1:], dtype=contributions.dtype)
    np.add.at(out, rows, contributions)
    return out


class _SparseAffine(Module):
    """``y_e = Σ_k v_k w_{i_k} + b`` for the pairs ``(i_k, v_k)`` of example ``e``; ``w_i`` is row ``i`` of
    :meth:`_rows`. Subclasses turn their input into flat ``(example, index, value)`` arrays.
    """

    n_in: int
    n_out: int
    _scratch = ("_examples", "_indices")

    def _rows(self) -> np.ndarray:
        raise NotImplementedError

    def _grad_rows(self) -> np.ndarray:
        raise NotImplementedError

    def _check_indices(self, indices: np.ndarray) -> None:
        if indices.size and (indices.min() < 0 or indices.max() >= self.n_in):
            bad = indices[(indices < 0) | (indices >= self.n_in)][0]
            self.fail(f"index {bad} out of range for {self.n_in} inputs (indices are 0-based)", IndexError)

    def _affine(self, examples: np.ndarray, indices: np.ndarray, values: np.ndarray, n_examples: int) -> np.ndarray:
        self._examples, self._indices = examples, indices
        out = _scatter_rows(n_examples, examples, self._rows()[indices] * values[:, None])
        out += self.bias
        return out

    def _grad_values(self, gradOutput: np.ndarray) -> np.ndarray:
        """``∂L/∂v_k = g_{e_k} · w_{i_k}`` for every pair."""
        g = gradOutput.reshape(-1, self.n_out)
        return np.einsum("ko,ko->k", g[self._examples], self._rows()[self._indices])

    def _acc(self, values: np.ndarray, gradOutput: np.ndarray, scale: float) -> None:
        g = gradOutput.reshape(-1, self.n_out)
        np.add.at(self._grad_rows(), self._indices, (scale * values)[:, None] * g[self._examples])
        self.gradBias += scale * g.sum(axis=0)


class SparseLinear(_SparseAffine):
    """``y = W x + b`` for a sparse ``x`` given as (index, value) rows (Torch's ``nn.SparseLinear``):
    ``y = Σ_k v_k W[:, i_k] + b``.

    Backward: ``∂L/∂v_k = gᵀ W[:, i_k]`` (the index column gets 0); ``∂L/∂W[:, i_k] += scale · v_k g``;
    ``∂L/∂b += scale · Σ_batch g``. Torch's ``doGradInput`` (off by default) is ember's ``gradInput = None``
    switch (on by default); where Torch's gradient is dense, ember's is shaped like the input.

    Args:
        n_in: the dimension of the (dense) input space.
        n_out: size of each output example.
        rng: generator for the initialisation (default: the library-wide one).

    Shape: one example is a float array ``(nnz, 2)`` of rows ``[index, value]`` (0-based indices, whole
    numbers; repeated ones add up); a batch is ``(batch, nnz, 2)``, or a list of ``(nnz_e, 2)`` arrays
    (Torch's table form, each its own ``nnz_e``). Output ``(n_out,)`` or ``(batch, n_out)``.

    Attributes:
        weight: ``(n_out, n_in)``, initialised uniform(−1/√n_in, 1/√n_in); bias ``(n_out,)``, the same times
            1e-6, as Torch.

    Example:
        >>> SparseLinear(10000, 2).forward(np.array([[0, 0.1], [1, 0.3], [9, 0.3], [30, 0.2]])).shape
        (2,)

    """

    def __init__(self, n_in: int, n_out: int, rng: int | np.random.Generator | None = None) -> None:
        super().__init__()
        self.n_in, self.n_out = n_in, n_out
        self._examples: np.ndarray | None = None
        self._indices: np.ndarray | None = None
        self.register_parameter("weight", np.empty((n_out, n_in)))
        self.register_parameter("bias", np.empty(n_out))
        self.reset(rng)

    def config(self) -> dict[str, Any]:
        return {"n_in": self.n_in, "n_out": self.n_out}

    def reset(self, rng: int | np.random.Generator | None = None, *, stdv: float | None = None) -> SparseLinear:
        """Draw the weight from uniform(−stdv, stdv), stdv = 1/√n_in unless given, and the bias from the same
        times 1e-6 (Torch's).
        """
        rng = get_rng(rng)
        stdv = 1.0 / math.sqrt(self.n_in) if stdv is None else stdv
        self.weight[...] = rng.uniform(-stdv, stdv, self.weight.shape)
        self.bias[...] = rng.uniform(-stdv, stdv, self.bias.shape) * 1e-6
        return self

    def _rows(self) -> np.ndarray:
        return self.weight.T

    def _grad_rows(self) -> np.ndarray:
        return self.gradWeight.T

    def checkInput(self, input: Any) -> None:
        pairs = input if isinstance(input, list) else [input]
        if not pairs:
            self.fail("expected a batch of at least one example, got an empty list")
        for array in pairs:
            Module.checkInput(self, array)
            if array.ndim not in ((2,) if isinstance(input, list) else (2, 3)) or array.shape[-1] != 2:
                self.fail(f"expected (index, value) rows of shape (nnz, 2), (batch, nnz, 2) or a list of (nnz, 2) "
                          f"arrays, got {array.shape}")

    def _pairs(self, input: Any) -> tuple[np.ndarray, np.ndarray, np.ndarray, int]:
        """(example, index, value) per pair, and the number of examples."""
        if isinstance(input, list):
            pairs = np.concatenate(input) if len(input) > 1 else input[0]
            examples = np.repeat(np.arange(len(input)), [len(a) for a in input])
            n_examples = len(input)
        else:
            pairs = input.reshape(-1, 2)
            n_examples = input.shape[0] if input.ndim == 3 else 1
            examples = np.repeat(np.arange(n_examples), input.shape[-2])
        column = pairs[:, 0]
        indices = np.rint(column).astype(np.intp)
        if np.any(np.abs(column - indices) > 1e-3):
            bad = column[np.abs(column - indices) > 1e-3][0]
            self.fail(f"the index column must hold whole numbers, got {bad}")
        self._check_indices(indices)
        return examples, indices, pairs[:, 1], n_examples

    def updateOutput(self, input: Any) -> np.ndarray:
        examples, indices, values, n_examples = self._pairs(input)
        out = self._affine(examples, indices, values, n_examples)
        batch = isinstance(input, list) or input.ndim == 3
        self.output = out if batch else out[0]
        return self.output

    def updateGradInput(self, input: Any, gradOutput: np.ndarray) -> Any:
        if self.gradInput is None:  # switched off (Torch's doGradInput = false)
            return None
        grads = self._grad_values(gradOutput)
        if isinstance(input, list):
            flat = np.zeros((len(grads), 2), dtype=grads.dtype)
            flat[:, 1] = grads
            self.gradInput = np.split(flat, np.cumsum([len(a) for a in input])[:-1])
        else:
            self.gradInput = np.zeros(input.shape, dtype=grads.dtype)
            self.gradInput[..., 1] = grads.reshape(input.shape[:-1])
        return self.gradInput

    def accGradParameters(self, input: Any, gradOutput: np.ndarray, scale: float = 1.0) -> None:
        pairs = np.concatenate(input) if isinstance(input, list) else input.reshape(-1, 2)
        self._acc(pairs[:, 1], gradOutput, scale)

    def extra_repr(self) -> str:
        return f"{self.n_in} -> {self.n_out}"


class IndexLinear(_SparseAffine):
    """``y = Σ_k u_k W[i_k] + b`` for sparse inputs given as keys and values (Torch's ``nn.IndexLinear``),
    ``i_k`` the key plus ``keys_offset``; ``u_k = v_k``, or with ``normalize``:
    ``u_k = v_k / m_{i_k} + c_{i_k}`` (``sign(v_k) + c_{i_k}`` where ``|v_k| > m_{i_k}``), ``m_i`` the largest
    ``|v|`` seen for feature ``i`` in training (updated before use, so training never clamps) and ``c_i`` a
    learned per-feature bias.

    Backward: ``∂L/∂v_k = g · W[i_k]`` (times ``1/m_{i_k}``, or 0 where clamped, with ``normalize``; keys
    and sizes get zeros); ``∂L/∂W[i_k] += scale · u_k g``; ``∂L/∂c_{i_k} += scale · g · W[i_k]``;
    ``∂L/∂b += scale · Σ_batch g``.

    Args:
        n_in: the number of features (rows of ``W``).
        n_out: size of each output example.
        keys_offset: added to every key to give its row (Torch's ``keysOffset``, default 0).
        normalize: normalise the values per feature, as above (default ``False``). Torch keeps ``m``, its
            inverse, an update scale and ``c`` in four extra columns of ``weight``; ember keeps ``m`` in the
            buffer ``max_abs`` and ``c`` in the parameter ``shift``.
        rng: if given, the weights are drawn as :meth:`reset` draws them; else they start at zero, as Torch's.

    Shape, Torch's three forms: ``[keys, values]`` (two 1-D arrays, one example, output ``(n_out,)``);
    ``[[keys_1, …], [values_1, …]]`` (a batch, output ``(batch, n_out)``); ``[keys, values, sizes]``
    (a batch flattened: ``sizes[e]`` pairs per example, output ``(len(sizes), n_out)``). Keys are integers.

    Attributes:
        weight: ``(n_in, n_out)`` (Torch's layout, transposed from SparseLinear's) and bias ``(n_out,)``:
            zeros, as Torch's constructor (unless ``rng`` is given); ``reset()`` draws them as Torch's ``reset``.

    """

    _scratch = ("_examples", "_indices", "_normalised", "_slope")

    def __init__(self, n_in: int, n_out: int, keys_offset: int = 0, normalize: bool = False,
                 rng: int | np.random.Generator | None = None) -> None:
        super().__init__()
        self.n_in, self.n_out, self.keys_offset, self.normalize = n_in, n_out, int(keys_offset), bool(normalize)
        self._examples: np.ndarray | None = None
        self._indices: np.ndarray | None = None
        self._normalised: np.ndarray | None = None  # u
        self._slope: np.ndarray | None = None  # ∂u/∂v
        self.gradInput: Any = []
        self.register_parameter("weight", np.zeros((n_in, n_out)))
        self.register_parameter("bias", np.zeros(n_out))
        self.register_parameter("shift", np.zeros(n_in) if self.normalize else None)
        self.register_buffer("max_abs", np.zeros(n_in) if self.normalize else None)
        if rng is not None:
            self.reset(rng)

    def config(self) -> dict[str, Any]:
        return {"n_in": self.n_in, "n_out": self.n_out, "keys_offset": self.keys_offset, "normalize": self.normalize}

    def reset(self, rng: int | np.random.Generator | None = None, *, stdv: float | None = None) -> IndexLinear:
        """Draw the weight from uniform(−stdv, stdv), stdv = 1/√n_out unless given (Torch divides by
        ``weight:size(2)``, which is n_out + 4 with ``normalize``), and the bias from the same times 1e-6;
        ``max_abs`` and ``shift`` ← 0.
        """
        rng = get_rng(rng)
        stdv = 1.0 / math.sqrt(self.n_out + (4 if self.normalize else 0)) if stdv is None else stdv
        self.weight[...] = rng.uniform(-stdv, stdv, self.weight.shape)
        self.bias[...] = rng.uniform(-stdv, stdv, self.bias.shape) * 1e-6
        if self.normalize:
            self.max_abs[...] = 0.0
            self.shift[...] = 0.0
        return self

    def _normalised_values(self, indices: np.ndarray, values: np.ndarray) -> np.ndarray:
        """``u`` (see the class docstring); ``max_abs`` grows first in training."""
        if not self.normalize:
            return values
        magnitude = np.abs(values)
        if self.train:
            np.maximum.at(self.max_abs, indices, magnitude)
        largest = self.max_abs[indices]
        inverse = np.divide(1.0, largest, out=np.zeros_like(largest), where=largest > 0)
        clamped = magnitude > largest
        self._slope = np.where(clamped, 0.0, inverse).astype(values.dtype)
        return np.where(clamped, np.sign(values), values * inverse) + self.shift[indices]

    def _rows(self) -> np.ndarray:
        return self.weight

    def _grad_rows(self) -> np.ndarray:
        return self.gradWeight

    def _parts(self, input: Any) -> tuple[list[np.ndarray], list[np.ndarray], np.ndarray | None]:
        """Keys and values as lists of 1-D arrays (one per example, or one for all with sizes)."""
        if not isinstance(input, list) or len(input) not in (2, 3):
            self.fail("expected [keys, values], [[keys...], [values...]] or [keys, values, sizes] as input",
                      TypeError)
        keys, values = input[0], input[1]
        if isinstance(keys, list) != isinstance(values, list) or (isinstance(keys, list) and len(input) == 3):
            self.fail("expected keys and values both arrays, or both lists of arrays", TypeError)
        keys, values = (keys, values) if isinstance(keys, list) else ([keys], [values])
        return keys, values, input[2] if len(input) == 3 else None

    def checkInput(self, input: Any) -> None:
        keys, values, sizes = self._parts(input)
        if len(keys) != len(values) or not keys:
            self.fail(f"expected as many key arrays as value arrays (at least one), got {len(keys)} and {len(values)}")
        for k, v in zip(keys, values):
            if not isinstance(k, np.ndarray) or not np.issubdtype(k.dtype, np.integer):
                self.fail(f"expected integer keys, got {getattr(k, 'dtype', type(k).__name__)}", TypeError)
            Module.checkInput(self, v)
            if k.ndim != 1 or k.shape != v.shape:
                self.fail(f"expected 1-D keys and values of the same length, got {k.shape} and {v.shape}")
        if sizes is not None and not (isinstance(sizes, np.ndarray) and np.issubdtype(sizes.dtype, np.integer)
                                      and sizes.ndim == 1 and sizes.min(initial=0) >= 0
                                      and sizes.sum() == keys[0].size):
            self.fail(f"expected sizes, a 1-D array of non-negative integers adding up to the {keys[0].size} keys")

    def updateOutput(self, input: Any) -> np.ndarray:
        keys, values, sizes = self._parts(input)
        flat_keys = np.concatenate(keys) if len(keys) > 1 else keys[0]
        flat_values = np.concatenate(values) if len(values) > 1 else values[0]
        counts = sizes if sizes is not None else np.array([len(k) for k in keys])
        indices = flat_keys.astype(np.intp) + self.keys_offset
        self._check_indices(indices)
        examples = np.repeat(np.arange(len(counts)), counts)
        self._normalised = self._normalised_values(indices, flat_values)
        out = self._affine(examples, indices, self._normalised, len(counts))
        single = sizes is None and not isinstance(input[0], list)
        self.output = out[0] if single else out
        return self.output

    def updateGradInput(self, input: Any, gradOutput: np.ndarray) -> list[Any]:
        keys, values, sizes = self._parts(input)
        grads = self._grad_values(gradOutput)
        if self.normalize:
            grads = grads * self._slope
        zeros = [np.zeros(k.shape, dtype=grads.dtype) for k in keys]
        if isinstance(input[0], list):
            self.gradInput = [zeros, np.split(grads, np.cumsum([len(v) for v in values])[:-1])]
        else:
            self.gradInput = [zeros[0], grads]
            if sizes is not None:
                self.gradInput.append(np.zeros(sizes.shape, dtype=grads.dtype))
        return self.gradInput

    def accGradParameters(self, input: Any, gradOutput: np.ndarray, scale: float = 1.0) -> None:
        if self.normalize:
            np.add.at(self.gradShift, self._indices, scale * self._grad_values(gradOutput))
        self._acc(self._normalised, gradOutput, scale)

    def extra_repr(self) -> str:
        return (f"{self.n_in} -> {self.n_out}" + (f", keys_offset={self.keys_offset}" if self.keys_offset else "")
                + (", normalize" if self.normalize else ""))
