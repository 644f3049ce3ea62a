"""Linear-family modules: affine maps and learned element-wise scales and shifts."""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from ember.blas import add_outer, add_product
from ember.errors import InputError
from ember.nn.module import Module, filled, resized
from ember.random import fill_uniform, get_rng


class Linear(Module):
    """Affine map ``y = x Wᵀ + b`` (Torch's ``nn.Linear``).

    Backward: ``∂L/∂x = g W``; ``∂L/∂W += scale · gᵀ x``; ``∂L/∂b += scale · Σ_batch g``, the sum
    taken as ``1ᵀ g`` with a kept vector of ones, as Torch's ``addBuffer`` (BLAS: 3–6× faster than
    ``g.sum(axis=0)`` on small and mid-sized batches).

    Args:
        n_in: size of each input example.
        n_out: size of each output example.
        bias: whether to learn the bias ``b`` (default ``True``).
        rng: generator for the initialisation (default: the library-wide one).

    Shape: input ``(n_in,)`` or ``(batch, n_in)``; output ``(n_out,)`` or ``(batch, n_out)``.

    Attributes:
        weight: ``(n_out, n_in)``, initialised uniform(−1/√n_in, 1/√n_in), as is ``bias`` ``(n_out,)``.
        gradInput: set it to ``None`` when nothing needs ``∂L/∂x`` (a first layer fed with data), as
            in Torch: backward then skips that matrix product and returns ``None``.

    Example:
        >>> Linear(4, 2).forward(np.ones(4)).shape
        (2,)

    """

    skips_gradInput = True  # parameter gradients need only the input and gradOutput

    _scratch = ("_ones",)

    def __init__(self, n_in: int, n_out: int, bias: bool = True, rng: int | np.random.Generator | None = None) -> None:
        super().__init__()
        self.n_in, self.n_out = n_in, n_out
        self._ones: np.ndarray | None = None  # (batch,) ones: Σ_batch g = 1ᵀ g
        self.register_parameter("weight", np.empty((n_out, n_in)))
        self.register_parameter("bias", np.empty(n_out) if bias else None)
        self.reset(rng)

    def config(self) -> dict[str, Any]:
        return {"n_in": self.n_in, "n_out": self.n_out, "bias": self.bias is not None}

    def reset(self, rng: int | np.random.Generator | None = None, *, stdv: float | None = None) -> Linear:
        """Draw weight and bias from uniform(−stdv, stdv), stdv = 1/√n_in unless given."""
        stdv = 1.0 / math.sqrt(self.n_in) if stdv is None else stdv
        fill_uniform(stdv, self.weight, self.bias, rng=rng)
        return self

    def checkInput(self, input: np.ndarray) -> None:
        super().checkInput(input)
        if input.ndim not in (1, 2) or input.shape[-1] != self.n_in:
            self.fail(f"expected input of shape ({self.n_in},) or (batch, {self.n_in}), got {input.shape}")

    def updateOutput(self, input: np.ndarray) -> np.ndarray:
        output = self.output = resized(self.output, input, input.shape[:-1] + (self.n_out,))
        np.dot(input, self.weight.T, output)  # matmul's result, 0.6 µs less overhead per call
        if self.bias is not None:
            np.add(output, self.bias, output)  # (out positional: a keyword costs a ufunc call 0.05–0.1 µs)
        return output

    def updateGradInput(self, input: np.ndarray, gradOutput: np.ndarray) -> np.ndarray | None:
        if self.gradInput is None:  # switched off: the input needs no gradient (Torch's idiom)
            return None
        grad = self.gradInput = resized(self.gradInput, input)
        if type(gradOutput) is np.ndarray and gradOutput.dtype == grad.dtype:
            np.dot(gradOutput, self.weight, out=grad)  # (0.4 µs less than matmul per call)
        else:  # (matmul casts another dtype into the buffer)
            np.matmul(gradOutput, self.weight, out=grad)
        return grad

    def accGradParameters(self, input: np.ndarray, gradOutput: np.ndarray, scale: float = 1.0) -> None:
        if input.ndim == 1:
            add_outer(self.gradWeight, gradOutput, input, scale)
        else:
            add_product(self.gradWeight, gradOutput.T, input, scale)
        if self.bias is not None:
            if input.ndim == 1:
                bias_update = gradOutput
            else:
                self._ones = filled(self._ones, gradOutput, 1.0, gradOutput.shape[:1])
                bias_update = np.dot(self._ones, gradOutput)
            if scale != 1.0:
                bias_update = scale * bias_update
            np.add(self.gradBias, bias_update, self.gradBias)

    def extra_repr(self) -> str:
        return f"{self.n_in} -> {self.n_out}" + ("" if self.bias is not None else " without bias")


class Identity(Module):
    """``y = x``; backward passes ``gradOutput`` through. Output and gradInput are the arrays given."""

    def checkInput(self, input) -> None:
        """Accepts anything: arrays of any dtype and tables."""

    def updateOutput(self, input):
        self.output = input
        return input

    def updateGradInput(self, input, gradOutput):
        self.gradInput = gradOutput
        return gradOutput


def _as_shape(size: int | tuple[int, ...]) -> tuple[int, ...]:
    """``size`` (an int or a tuple of ints) as a shape tuple."""
    shape = (size,) if isinstance(size, (int, np.integer)) else tuple(size)
    if not shape or any(not isinstance(s, (int, np.integer)) or s < 1 for s in shape):
        raise InputError(f"expected a size of positive ints, got {size!r}")
    return tuple(int(s) for s in shape)


def _size_text(shape: tuple[int, ...]) -> str:
    return str(shape[0]) if len(shape) == 1 else "x".join(map(str, shape))


class _Elementwise(Module):
    """Shared input check and reduction of a learned array ``p`` of shape ``size``, applied
    element-wise and broadcast over an optional leading batch dimension (CMul, CAdd).

    As Torch's ``expandAs``, a ``p`` with the input's number of dimensions may also have
    size 1 where the input does not: it is broadcast there.
    """

    shape: tuple[int, ...]

    def checkInput(self, input: np.ndarray) -> None:
        super().checkInput(input)
        size = self.shape
        tail = input.shape[input.ndim - len(size):] if input.ndim >= len(size) else None
        if (input.ndim not in (len(size), len(size) + 1) or tail is None
                or any(s != t and s != 1 for s, t in zip(size, tail))):
            self.fail(f"expected input of shape {size} or (batch, {', '.join(map(str, size))}), got {input.shape}")

    def _reduce(self, product: np.ndarray) -> np.ndarray:
        """Sum ``product`` (shaped like the input) down to the parameter's shape."""
        if product.ndim > len(self.shape):
            product = product.sum(axis=0)
        axes = tuple(i for i, (s, t) in enumerate(zip(self.shape, product.shape)) if s == 1 and t != 1)
        return product.sum(axis=axes, keepdims=True) if axes else product


class CMul(_Elementwise):
    """Learned element-wise scale ``y = x ⊙ w`` (Torch's ``nn.CMul``).

    Backward: ``∂L/∂x = g ⊙ w``; ``∂L/∂w += scale · Σ_batch g ⊙ x``.

    Args:
        size: the shape of ``w``: an int or a tuple of ints.
        rng: generator for the initialisation (default: the library-wide one).

    Shape, as Torch decides it: an input with as many elements as ``w`` is multiplied element by element
    in memory order, whatever its shape; else an input of shape ``size`` or ``(batch, *size)`` is multiplied
    with ``w`` broadcast where ``w`` has size 1; else an input whose examples (along its first dimension) have
    as many elements as ``w`` is a batch of them. The output has the input's shape.

    Attributes:
        weight: ``w``, initialised uniform(−1/√numel(w), 1/√numel(w)).

    Example:
        >>> CMul(5).forward(np.ones((3, 5))).shape
        (3, 5)
        >>> CMul((1, 3, 4, 1)).forward(np.ones((5, 3, 4))).shape
        (5, 3, 4)

    """

    def __init__(self, size: int | tuple[int, ...], rng: int | np.random.Generator | None = None) -> None:
        super().__init__()
        self.shape = _as_shape(size)
        self.register_parameter("weight", np.empty(self.shape))
        self.reset(rng)

    def config(self) -> dict[str, Any]:
        return {"size": self.shape}

    def reset(self, rng: int | np.random.Generator | None = None, *, stdv: float | None = None) -> CMul:
        """Draw the weight from uniform(−stdv, stdv), stdv = 1/√numel(w) unless given."""
        stdv = 1.0 / math.sqrt(self.weight.size) if stdv is None else stdv
        self.weight[...] = get_rng(rng).uniform(-stdv, stdv, self.weight.shape)
        return self

    def checkInput(self, input: np.ndarray) -> None:
        Module.checkInput(self, input)
        if input.size == self.weight.size:
            return
        if input.ndim in (len(self.shape), len(self.shape) + 1):
            super().checkInput(input)
        elif input.ndim == 0 or input.shape[0] == 0 or input.size // input.shape[0] != self.weight.size:
            self.fail(f"expected input of {self.weight.size} elements, of shape {self.shape} or "
                      f"(batch, {', '.join(map(str, self.shape))}), or a batch of {self.weight.size}-element "
                      f"examples, got {input.shape}")

    def _views(self, array: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """``array`` (shaped like the input) and ``w`` as the two operands of the product, in Torch's cases."""
        weight = self.weight
        if array.size == weight.size:
            return array.reshape(weight.shape), weight
        if array.ndim in (weight.ndim, weight.ndim + 1):
            return array, weight
        return array.reshape(array.shape[0], -1), weight.reshape(1, -1)

    def updateOutput(self, input: np.ndarray) -> np.ndarray:
        self.output = resized(self.output, input)
        x, w = self._views(input)
        np.multiply(x, w, out=self._views(self.output)[0])
        return self.output

    def updateGradInput(self, input: np.ndarray, gradOutput: np.ndarray) -> np.ndarray:
        self.gradInput = resized(self.gradInput, input)
        g, w = self._views(gradOutput)
        np.multiply(g, w, out=self._views(self.gradInput)[0])
        return self.gradInput

    def accGradParameters(self, input: np.ndarray, gradOutput: np.ndarray, scale: float = 1.0) -> None:
        (x, w), (g, _) = self._views(input), self._views(gradOutput)
        if w is not self.weight:  # a batch of flattened examples: sum over the batch
            self.gradWeight += scale * (g * x).sum(axis=0).reshape(self.shape)
        else:
            self.gradWeight += scale * self._reduce(g * x)

    def extra_repr(self) -> str:
        return _size_text(self.shape)


class CAdd(_Elementwise):
    """Learned element-wise shift ``y = x + b`` (Torch's ``nn.CAdd``).

    Backward: ``∂L/∂x = g``; ``∂L/∂b += scale · Σ_batch g``.

    Args:
        size: the shape of ``b``: an int or a tuple of ints.
        rng: generator for the initialisation (default: the library-wide one).

    Shape: input ``size`` or ``(batch, *size)``; output like the input. Where ``b`` has
    size 1 along a dimension (and as many dimensions as the input) it is broadcast, as Torch.

    Attributes:
        bias: ``b``, initialised uniform(−1/√numel(b), 1/√numel(b)).

    """

    def __init__(self, size: int | tuple[int, ...], rng: int | np.random.Generator | None = None) -> None:
        super().__init__()
        self.shape = _as_shape(size)
        self.register_parameter("bias", np.empty(self.shape))
        self.reset(rng)

    def config(self) -> dict[str, Any]:
        return {"size": self.shape}

    def reset(self, rng: int | np.random.Generator | None = None, *, stdv: float | None = None) -> CAdd:
        """Draw the bias from uniform(−stdv, stdv), stdv = 1/√numel(b) unless given."""
        stdv = 1.0 / math.sqrt(self.bias.size) if stdv is None else stdv
        self.bias[...] = get_rng(rng).uniform(-stdv, stdv, self.bias.shape)
        return self

    def updateOutput(self, input: np.ndarray) -> np.ndarray:
        self.output = resized(self.output, input)
        np.add(input, self.bias, out=self.output)
        return self.output

    def updateGradInput(self, input: np.ndarray, gradOutput: np.ndarray) -> np.ndarray:
        self.gradInput = resized(self.gradInput, input)
        np.copyto(self.gradInput, gradOutput)
        return self.gradInput

    def accGradParameters(self, input: np.ndarray, gradOutput: np.ndarray, scale: float = 1.0) -> None:
        self.gradBias += scale * self._reduce(gradOutput)

    def extra_repr(self) -> str:
        return _size_text(self.shape)


class Add(Module):
    """Learned shift ``y = x + b`` (Torch's ``nn.Add``), per feature or one scalar for all.

    Backward: ``∂L/∂x = g``; ``∂L/∂b += scale · Σ_batch g`` (with ``scalar``: the sum of all of ``g``).

    Args:
        input_size: the number of features ``n``.
        scalar: learn a single number added to every element (``bias`` of shape ``(1,)``).
        rng: generator for the initialisation (default: the library-wide one).

    Shape: input ``(n,)`` or ``(batch, n)``; with ``scalar``, any shape. Output like the input.

    Attributes:
        bias: ``(n,)`` (or ``(1,)``), initialised uniform(−1/√len(bias), 1/√len(bias)) as Torch
            (so ±1 for a scalar bias).

    """

    def __init__(self, input_size: int, scalar: bool = False, rng: int | np.random.Generator | None = None) -> None:
        super().__init__()
        self.input_size, self.scalar = input_size, scalar
        self.register_parameter("bias", np.empty(1 if scalar else input_size))
        self.reset(rng)

    def config(self) -> dict[str, Any]:
        return {"input_size": self.input_size, "scalar": self.scalar}

    def reset(self, rng: int | np.random.Generator | None = None, *, stdv: float | None = None) -> Add:
        """Draw the bias from uniform(−stdv, stdv), stdv = 1/√len(bias) unless given."""
        stdv = 1.0 / math.sqrt(self.bias.size) if stdv is None else stdv
        self.bias[...] = get_rng(rng).uniform(-stdv, stdv, self.bias.shape)
        return self

    def checkInput(self, input: np.ndarray) -> None:
        super().checkInput(input)
        if not self.scalar and (input.ndim not in (1, 2) or input.shape[-1] != self.input_size):
            self.fail(f"expected input of shape ({self.input_size},) or (batch, {self.input_size}), "
                      f"got {input.shape}")

    def updateOutput(self, input: np.ndarray) -> np.ndarray:
        self.output = resized(self.output, input)
        np.add(input, self.bias[0] if self.scalar else self.bias, out=self.output)
        return self.output

    def updateGradInput(self, input: np.ndarray, gradOutput: np.ndarray) -> np.ndarray:
        self.gradInput = resized(self.gradInput, input)
        np.copyto(self.gradInput, gradOutput)
        return self.gradInput

    def accGradParameters(self, input: np.ndarray, gradOutput: np.ndarray, scale: float = 1.0) -> None:
        if self.scalar:
            self.gradBias += scale * gradOutput.sum()
        elif gradOutput.ndim == 1:
            self.gradBias += scale * gradOutput
        else:
            self.gradBias += scale * gradOutput.sum(axis=0)

    def extra_repr(self) -> str:
        return f"{self.input_size}, scalar=True" if self.scalar else str(self.input_size)


class Mul(Module):
    """Learned scalar gain ``y = w · x`` (Torch's ``nn.Mul``), any input shape.

    Backward: ``∂L/∂x = w · g``; ``∂L/∂w += scale · Σ g ⊙ x``.

    Attributes:
        weight: ``(1,)``, initialised uniform(−1, 1) (Torch's 1/√1).

    """

    def __init__(self, rng: int | np.random.Generator | None = None) -> None:
        super().__init__()
        self.register_parameter("weight", np.empty(1))
        self.reset(rng)

    def reset(self, rng: int | np.random.Generator | None = None, *, stdv: float | None = None) -> Mul:
        """Draw the weight from uniform(−stdv, stdv), stdv = 1 unless given."""
        stdv = 1.0 if stdv is None else stdv
        self.weight[...] = get_rng(rng).uniform(-stdv, stdv, 1)
        return self

    def updateOutput(self, input: np.ndarray) -> np.ndarray:
        self.output = resized(self.output, input)
        np.multiply(input, self.weight[0], out=self.output)
        return self.output

    def updateGradInput(self, input: np.ndarray, gradOutput: np.ndarray) -> np.ndarray:
        self.gradInput = resized(self.gradInput, input)
        np.multiply(gradOutput, self.weight[0], out=self.gradInput)
        return self.gradInput

    def accGradParameters(self, input: np.ndarray, gradOutput: np.ndarray, scale: float = 1.0) -> None:
        self.gradWeight += scale * np.vdot(gradOutput, input)


class LookupTable(Module):
    """Embedding: row ``i`` of ``W`` for each index ``i`` (Torch's ``nn.LookupTable``), 0-based.

    Forward: ``y[..., :] = W[x[...], :]``. Backward: ``∂L/∂W[i] += scale · Σ_{k : x_k = i} g_k``
    (scattered with ``np.add.at``, so repeated indices accumulate). Indices are not
    differentiable: ``gradInput`` is zeros shaped like the input, as Torch. An index below 0 or from
    ``n_index`` on is refused (``InputIndexError`` naming the module).

    Torch's options (PyTorch ``embedding``'s ``padding_idx``, ``max_norm``, ``norm_type``,
    ``scale_grad_by_freq``): ``padding_value``: that row gets no gradient (its output is the row as it is;
    PyTorch's ``nn.Embedding`` also starts it at zero, Torch does not); ``max_norm``: before each lookup, every
    row looked up whose ``norm_type``-norm exceeds it is scaled in place by ``max_norm/(norm + 1e-7)``;
    ``scale_grad_by_freq``: each occurrence's gradient is divided by the number of times its index occurs
    in the input. With these the backward is, by design, not the Jacobian of the forward.

    Args:
        n_index: the number of rows of ``W`` (valid indices are ``0 … n_index − 1``).
        n_output: the size of each row.
        padding_value: the row that gets no gradient (0-based; default ``None``: none). ``setPadding``.
        max_norm: the largest norm a looked-up row keeps (default ``None``: no limit). ``setMaxNorm``.
        norm_type: the ``p`` of that norm (default 2). ``setNormType``.
        scale_grad_by_freq: divide gradients by the index frequencies (default ``False``).
            ``scaleGradByFreq()`` turns it on.
        rng: generator for the initialisation (default: the library-wide one).

    Shape: input an integer array ``(n,)`` or ``(batch, n)``; output ``(n, n_output)`` or
    ``(batch, n, n_output)``.

    Attributes:
        weight: ``(n_index, n_output)``, initialised standard normal as Torch.

    Example:
        >>> LookupTable(5, 3).forward(np.array([[0, 2], [3, 4]])).shape
        (2, 2, 3)

    """

    def __init__(self, n_index: int, n_output: int, padding_value: int | None = None, max_norm: float | None = None,
                 norm_type: float = 2.0, scale_grad_by_freq: bool = False,
                 rng: int | np.random.Generator | None = None) -> None:
        super().__init__()
        self.n_index, self.n_output = n_index, n_output
        self.padding_value: int | None = None
        self.max_norm: float | None = None
        self.norm_type = 2.0
        self.scale_grad_by_freq = bool(scale_grad_by_freq)
        self.setPadding(padding_value).setMaxNorm(max_norm).setNormType(norm_type)
        self.register_parameter("weight", np.empty((n_index, n_output)))
        self._unsigned = np.dtype(np.uint64)
        self.reset(rng)

    def config(self) -> dict[str, Any]:
        return {"n_index": self.n_index, "n_output": self.n_output, "padding_value": self.padding_value,
                "max_norm": self.max_norm, "norm_type": self.norm_type, "scale_grad_by_freq": self.scale_grad_by_freq}

    def setPadding(self, padding_value: int | None) -> LookupTable:
        """The row that gets no gradient (0-based), or ``None``; returns ``self``."""
        if padding_value is not None and not (isinstance(padding_value, (int, np.integer))
                                              and 0 <= padding_value < self.n_index):
            self.fail(f"padding_value must be a row index 0 … {self.n_index - 1} or None, got {padding_value!r}",
                      IndexError)
        self.padding_value = None if padding_value is None else int(padding_value)
        return self

    def setMaxNorm(self, max_norm: float | None) -> LookupTable:
        """Limit the norm of the rows looked up (``None``: no limit); returns ``self``."""
        if max_norm is not None and not (isinstance(max_norm, (int, float, np.floating)) and max_norm > 0):
            self.fail(f"max_norm must be a positive number or None, got {max_norm!r}")
        self.max_norm = None if max_norm is None else float(max_norm)
        return self

    def setNormType(self, norm_type: float) -> LookupTable:
        """The ``p`` of the norm that ``max_norm`` limits; returns ``self``."""
        if not (isinstance(norm_type, (int, float, np.floating)) and norm_type > 0):
            self.fail(f"norm_type must be a positive number (math.inf too), got {norm_type!r}")
        self.norm_type = float(norm_type)
        return self

    def scaleGradByFreq(self) -> LookupTable:
        """Divide each index's gradient by its frequency in the input (Torch's method); returns ``self``."""
        self.scale_grad_by_freq = True
        return self

    def reset(self, rng: int | np.random.Generator | None = None, *, stdv: float | None = None) -> LookupTable:
        """Draw the weight from normal(0, stdv²), stdv = 1 unless given."""
        stdv = 1.0 if stdv is None else stdv
        self.weight[...] = get_rng(rng).normal(0.0, stdv, self.weight.shape)
        return self

    def checkInput(self, input: np.ndarray) -> None:
        if not isinstance(input, np.ndarray):
            self.fail(f"expected a NumPy array of indices, got {type(input).__name__}", TypeError)
        if not np.issubdtype(input.dtype, np.integer):
            self.fail(f"expected an integer array of indices, got dtype {input.dtype}", TypeError)
        if input.ndim not in (1, 2):
            self.fail(f"expected indices of shape (n,) or (batch, n), got {input.shape}")
        # Seen as unsigned, a negative index is huge: one max() checks both ends of the range.
        self._unsigned = np.dtype(f"u{input.dtype.itemsize}")

    def _check_range(self, input: np.ndarray) -> None:
        bad = (input < 0) | (input >= self.n_index)
        if bad.any():
            index = input[bad].flat[0]
            self.fail(f"index {index} out of range for {self.n_index} rows (indices are 0-based)", IndexError)

    def _renorm(self, input: np.ndarray) -> None:
        """Scale the rows looked up whose norm exceeds ``max_norm`` (in place, as Torch and PyTorch)."""
        rows = np.unique(input)
        norms = np.linalg.norm(self.weight[rows], ord=self.norm_type, axis=1)
        over = norms > self.max_norm
        if over.any():
            self.weight[rows[over]] *= (self.max_norm / (norms[over] + 1e-7))[:, None].astype(self.weight.dtype)

    def updateOutput(self, input: np.ndarray) -> np.ndarray:
        if input.size and input.view(self._unsigned).max() >= self.n_index:
            self._check_range(input)
        if self.max_norm is not None and input.size:
            self._renorm(input)
        self.output = resized(self.output, self.weight, input.shape + (self.n_output,))
        np.take(self.weight, input, axis=0, out=self.output, mode="clip")  # range checked above
        return self.output

    def updateGradInput(self, input: np.ndarray, gradOutput: np.ndarray) -> np.ndarray:
        if type(self.gradInput) is not np.ndarray or self.gradInput.shape != input.shape \
                or self.gradInput.dtype != self.weight.dtype:
            self.gradInput = np.zeros(input.shape, dtype=self.weight.dtype)
        else:
            self.gradInput.fill(0)
        return self.gradInput

    def accGradParameters(self, input: np.ndarray, gradOutput: np.ndarray, scale: float = 1.0) -> None:
        if self.padding_value is None and not self.scale_grad_by_freq:
            np.add.at(self.gradWeight, input, gradOutput if scale == 1 else scale * gradOutput)
            return
        rows, grads = input.ravel(), gradOutput.reshape(-1, self.n_output) * scale
        if self.scale_grad_by_freq:
            counts = np.bincount(rows, minlength=self.n_index)
            grads = grads / counts[rows, None].astype(grads.dtype)
        if self.padding_value is not None:
            kept = rows != self.padding_value
            rows, grads = rows[kept], grads[kept]
        np.add.at(self.gradWeight, rows, grads)

    def extra_repr(self) -> str:
        options = [f"padding_value={self.padding_value}"] if self.padding_value is not None else []
        if self.max_norm is not None:
            options.append(f"max_norm={self.max_norm:g}" + ("" if self.norm_type == 2 else f", p={self.norm_type:g}"))
        if self.scale_grad_by_freq:
            options.append("scale_grad_by_freq")
        return ", ".join([f"{self.n_index} -> {self.n_output}", *options])
