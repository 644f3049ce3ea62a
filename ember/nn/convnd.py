"""The convolution module bases, for 1 to 3 trailing dimensions, on the im2col engine of :mod:`ember.nn.im2col`.

``ConvolutionBase`` holds what every convolution shares: its geometry (``k, d, pad, dil`` tuples in the order
of the dimensions, ``(T, H, W)`` for 3), parameters, Torch's default initialisation, input checks and output
size. ``ConvolutionND`` is the strided, padded, dilated cross-correlation and ``FullConvolutionND`` its
transpose (Torch's "full" convolution, with ``adj``), each one GEMM with a dense weight matrix each way.
``Planar`` gives the 2-D classes Torch's ``kW, kH, dW, …`` attributes and printing.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from ember.blas import add_product
from ember.errors import InputError
from ember.nn.im2col import batch_first, batch_last, fold, interior, padded_copy, unfold
from ember.nn.module import Module, resized
from ember.random import fill_uniform

_NAMES = ("T", "H", "W")


def check_at_least(module: Module, **values: tuple[int, int]) -> None:
    """Refuse a constructor argument below its least value: ``name=(value, least)`` (an ``InputError``
    naming the class: the module is not built yet).
    """
    for name, (value, least) in values.items():
        if value < least:
            raise InputError(f"{type(module).__name__}: {name} must be at least {least}, got {value}")


class ConvolutionBase(Module):
    """Shared geometry, parameters, initialisation and input checks: an input has ``n_dims + 1`` (one example,
    channels first) or ``n_dims + 2`` dimensions (a batch). With ``_extra_planes`` (Torch's
    ``SpatialConvolutionMap``) an input may have more planes than ``n_input_plane``: they are not read and
    get a zero gradient.
    """

    _scratch = ("finput", "fgradInput", "_padded", "_grad_padded", "_input_t", "_output_t")
    _extra_planes = False

    def __init__(self, n_input_plane: int, n_output_plane: int, k: tuple[int, ...], d: tuple[int, ...],
                 pad: tuple[int, ...], dil: tuple[int, ...], weight_shape: tuple[int, ...],
                 bias_shape: tuple[int, ...] | None, rng: int | np.random.Generator | None) -> None:
        super().__init__()
        self.n_input_plane, self.n_output_plane = n_input_plane, n_output_plane
        self.k, self.d, self.pad, self.dil = k, d, pad, dil
        for what, values, least in (("planes", (n_input_plane, n_output_plane), 1), ("kernel size", k, 1),
                                    ("stride", d, 1), ("padding", pad, 0), ("dilation", dil, 1)):
            if min(values) < least:
                self.fail(f"{what} must be at least {least}, got {values}")
        self.register_parameter("weight", np.empty(weight_shape))
        self.register_parameter("bias", None if bias_shape is None else np.empty(bias_shape))
        for name in self._scratch:
            setattr(self, name, None)
        self.reset(rng)

    @property
    def n_dims(self) -> int:
        return len(self.k)

    def _fan_in(self) -> int:
        return math.prod(self.k) * self.n_input_plane

    def reset(self, rng: int | np.random.Generator | None = None, *, stdv: float | None = None) -> Module:
        """Draw weight and bias from uniform(−stdv, stdv), stdv = 1/√(∏k · n_input_plane) unless given
        (Torch's default for the convolutions and their transposes).
        """
        stdv = 1.0 / math.sqrt(self._fan_in()) if stdv is None else stdv
        fill_uniform(stdv, self.weight, self.bias, rng=rng)
        return self

    def _output_size(self, input: Any) -> tuple[int, ...]:
        """``out = (in + 2·pad − dil·(k − 1) − 1) // d + 1`` in each dimension."""
        return tuple((s + 2 * p - dl * (kk - 1) - 1) // st + 1
                     for s, p, dl, kk, st in zip(input.shape[-self.n_dims:], self.pad, self.dil, self.k, self.d))

    def _check_array(self, x: np.ndarray, input: Any) -> None:
        """Refuse ``x`` (the array of ``input``) unless it has the planes and is large enough."""
        super().checkInput(x)
        n, c = self.n_dims, self.n_input_plane
        names = ", ".join(_NAMES[-n:])
        if x.ndim not in (n + 1, n + 2) or x.shape[-n - 1] < c or (x.shape[-n - 1] > c and not self._extra_planes):
            more = " (or more planes)" if self._extra_planes else ""
            self.fail(f"expected input of shape ({c}, {names}) or (batch, {c}, {names}){more}, got {x.shape}")
        if min(self._output_size(input)) < 1:
            self.fail(f"input {x.shape[-n:]} gives an empty output {self._output_size(input)} for the kernel "
                      f"{self.k} (stride {self.d}, padding {self.pad}, dilation {self.dil})")

    def checkInput(self, input: Any) -> None:
        self._check_array(input, input)

    def _batch(self, input: np.ndarray) -> np.ndarray:
        return input if input.ndim == self.n_dims + 2 else input[None]

    def _rows(self, cols: np.ndarray) -> np.ndarray:
        """Columns ``(P, *k, *grid, N)`` as the matrix ``(P·∏k, ∏grid·N)`` (sized explicitly: an empty batch)."""
        return cols.reshape(math.prod(cols.shape[:1 + self.n_dims]), -1)

    def _finish(self, input: np.ndarray, out_t: np.ndarray, out: tuple[int, ...]) -> np.ndarray:
        """``self.output`` from the batch-last result ``out_t`` ``(O, *out, N)``, plus the bias."""
        self.output = resized(self.output, input, input.shape[:-self.n_dims - 1] + (self.n_output_plane,) + out)
        y = self.output.reshape((out_t.shape[-1], self.n_output_plane) + out)
        if self.bias is None:
            np.copyto(y, batch_first(out_t))
        else:
            np.add(batch_first(out_t), self.bias.reshape((-1,) + (1,) * self.n_dims), out=y)
        return self.output

    def _set_grad_input(self, previous: Any, array: np.ndarray, grad_t: np.ndarray) -> np.ndarray:
        """The input gradient from the batch-last ``grad_t`` ``(C, *S, N)``: in ``previous`` when it fits, zeros
        on the planes beyond ``n_input_plane``.
        """
        grad = resized(previous, array)
        grad_in = grad.reshape((grad_t.shape[-1],) + array.shape[-self.n_dims - 1:])
        np.copyto(grad_in[:, :self.n_input_plane], batch_first(grad_t))
        if self._extra_planes:
            grad_in[:, self.n_input_plane:] = 0
        return grad

    def extra_repr(self) -> str:
        def text(values: tuple[int, ...], sep: str = ",") -> str:
            return sep.join(map(str, values))
        parts = [f"{self.n_input_plane} -> {self.n_output_plane}, {text(self.k, 'x')}"]
        if any(s != 1 for s in self.d) or any(self.pad):
            parts.append(text(self.d))
        if any(self.pad):
            parts.append(text(self.pad))
        if any(dl != 1 for dl in self.dil):
            parts.append("dilation " + text(self.dil))
        if any(getattr(self, "adj", ())):
            parts.append("adj " + text(self.adj))
        return ", ".join(parts) + (" without bias" if getattr(self, "bias", 0) is None else "")


class ConvolutionND(ConvolutionBase):
    """``y[n, o, i…] = b[o] + Σ_{c, u…} W[o, c, u…] · x̃[n, c, i·d + u·dil…]`` with ``x̃`` zero-padded by ``pad``.

    Backward: ``∂L/∂x̃[n, c, i·d + u·dil…] += Σ_o W[o, c, u…] · g[n, o, i…]`` (the padding then cropped);
    ``∂L/∂W[o, c, u…] += scale · Σ_{n, i…} g[n, o, i…] · x̃[n, c, i·d + u·dil…]``; ``∂L/∂b[o] += scale · Σ g``.
    Forward: one copy of the padded input, one im2col copy (``finput``), one GEMM. Backward: one GEMM and
    one col2im (``∏k`` slice-adds) for the input, one GEMM for the weight.

    The weight is ``(O, C, *k)`` unless ``weight_shape`` is given: then a subclass gives ``_weight_matrix()``
    (the dense ``(O, C·∏k)`` matrix) and ``_acc_weight_matrix(a, b, scale)`` (add ``scale · a @ b``, that
    matrix's gradient, to its own weight gradient).
    """

    def __init__(self, n_input_plane: int, n_output_plane: int, k: tuple[int, ...], d: tuple[int, ...],
                 pad: tuple[int, ...], dil: tuple[int, ...], bias: bool, rng: int | np.random.Generator | None,
                 weight_shape: tuple[int, ...] | None = None) -> None:
        super().__init__(n_input_plane, n_output_plane, k, d, pad, dil,
                         (n_output_plane, n_input_plane) + k if weight_shape is None else weight_shape,
                         (n_output_plane,) if bias else None, rng)

    def _weight_matrix(self) -> np.ndarray:
        return self.weight.reshape(self.n_output_plane, -1)

    def _acc_weight_matrix(self, a: np.ndarray, b: np.ndarray, scale: float) -> None:
        add_product(self.gradWeight, a, b, scale)

    def _grad_output_t(self, gradOutput: np.ndarray) -> np.ndarray:
        """``gradOutput`` as ``(O, ∏out·N)``, in a reused buffer."""
        g = self._batch(gradOutput)
        g_t = self._output_t = resized(self._output_t, g, g.shape[1:] + g.shape[:1])
        np.copyto(g_t, batch_last(g))
        return g_t.reshape(self.n_output_plane, -1)

    def updateOutput(self, input: np.ndarray) -> np.ndarray:
        x = self._batch(input)[:, :self.n_input_plane]
        out = self._output_size(input)
        padded = self._padded = padded_copy(x, self.pad, self._padded)
        cols = self.finput = resized(self.finput, x, (x.shape[1],) + self.k + out + (x.shape[0],))
        unfold(padded, self.k, self.d, self.dil, out, cols)
        out_t = self._output_t = resized(self._output_t, x, (self.n_output_plane,) + out + (x.shape[0],))
        np.matmul(self._weight_matrix(), self._rows(cols), out=out_t.reshape(self.n_output_plane, -1))
        return self._finish(input, out_t, out)

    def updateGradInput(self, input: np.ndarray, gradOutput: np.ndarray) -> np.ndarray | None:
        if self.gradInput is None:  # switched off: a first layer fed with data (Torch's idiom, as Linear)
            return None
        x = self._batch(input)
        g_t = self._grad_output_t(gradOutput)
        grad_cols = self.fgradInput = resized(self.fgradInput, x, self.finput.shape)
        np.matmul(self._weight_matrix().T, g_t, out=self._rows(grad_cols))
        grad = self._grad_padded = resized(self._grad_padded, x, self._padded.shape)
        fold(grad_cols, self.d, self.dil, grad)
        self.gradInput = self._set_grad_input(self.gradInput, input, grad[interior(self.pad, x.shape[2:])])
        return self.gradInput

    def accGradParameters(self, input: np.ndarray, gradOutput: np.ndarray, scale: float = 1.0) -> None:
        g_t = self._grad_output_t(gradOutput)
        self._acc_weight_matrix(g_t, self._rows(self.finput).T, scale)
        if self.bias is not None:
            self.gradBias += scale * g_t.sum(axis=1)


class FullConvolutionND(ConvolutionBase):
    """The transpose of ``ConvolutionND`` (Torch's full convolution, PyTorch's ``ConvTranspose``): each input
    position scatters ``x[n, c, j…] · W[c, o, u…]`` to output position ``j·d + u·dil − pad``; ``adj`` extra
    positions at the end of each dimension (PyTorch's ``output_padding``) receive only the bias.
    ``out = (in − 1)·d − 2·pad + dil·(k − 1) + 1 + adj``. With ``_table_input`` (Torch's) it also takes a
    table ``[x, like]``: the ``adj`` are then those that bring the output closest to ``like``'s trailing
    sizes (``like`` gets a zero gradient).

    Forward: one GEMM ``Wᵀ @ x`` into columns and one col2im (``∏k`` slice-adds). Backward: the input
    gradient is the convolution of ``g`` (one im2col copy, one GEMM); the weight gradient one GEMM
    ``x @ colsᵀ``; ``∂L/∂b[o] += scale · Σ g``. The weight is ``(C, O, *k)`` unless ``weight_shape`` is given
    (then, as in ``ConvolutionND``, a subclass gives the dense ``(C, O·∏k)`` matrix and its gradient).
    """

    _table_input = True

    def __init__(self, n_input_plane: int, n_output_plane: int, k: tuple[int, ...], d: tuple[int, ...],
                 pad: tuple[int, ...], dil: tuple[int, ...], bias: bool, rng: int | np.random.Generator | None, *,
                 adj: tuple[int, ...] | None = None, weight_shape: tuple[int, ...] | None = None) -> None:
        adj = self.adj = (0,) * len(k) if adj is None else adj
        super().__init__(n_input_plane, n_output_plane, k, d, pad, dil,
                         (n_input_plane, n_output_plane) + k if weight_shape is None else weight_shape,
                         (n_output_plane,) if bias else None, rng)
        if min(adj) < 0 or any(a >= max(s, dl) for a, s, dl in zip(adj, d, dil)):
            self.fail(f"adj {adj} must be at least 0 and smaller than the stride {d} (or the dilation {dil})")

    def _weight_matrix(self) -> np.ndarray:
        return self.weight.reshape(self.n_input_plane, -1)

    def _acc_weight_matrix(self, a: np.ndarray, b: np.ndarray, scale: float) -> None:
        add_product(self.gradWeight, a, b, scale)

    def checkInput(self, input: Any) -> None:
        if type(input) is not list or not self._table_input:
            return super().checkInput(input)
        if len(input) != 2 or not all(type(a) is np.ndarray for a in input) or input[1].ndim < self.n_dims:
            self.fail(f"expected an array or a table [input, like] of two arrays, 'like' at least {self.n_dims}-D, "
                      f"got {[getattr(item, 'shape', type(item).__name__) for item in input]}")
        self._check_array(input[0], input)

    def _split(self, input: Any) -> tuple[np.ndarray, tuple[int, ...]]:
        """The input array and the ``adj`` to use: the module's, or from ``like`` in ``[x, like]`` (Torch's
        ``calculateAdj``: ``(like + 2·pad − dil·(k − 1) − 1) mod d``).
        """
        if type(input) is not list:
            return input, self.adj
        like = input[1].shape[-self.n_dims:]
        return input[0], tuple((t + 2 * p - dl * (kk - 1) - 1) % st
                               for t, p, dl, kk, st in zip(like, self.pad, self.dil, self.k, self.d))

    def _output_size(self, input: Any) -> tuple[int, ...]:
        x, adj = self._split(input)
        return tuple((s - 1) * st - 2 * p + dl * (kk - 1) + 1 + a for s, st, p, dl, kk, a in
                     zip(x.shape[-self.n_dims:], self.d, self.pad, self.dil, self.k, adj))

    def _input_matrix(self, x: np.ndarray) -> np.ndarray:
        """The input's first ``n_input_plane`` planes as ``(C, ∏in·N)``, in a reused buffer."""
        x = x[:, :self.n_input_plane]
        x_t = self._input_t = resized(self._input_t, x, x.shape[1:] + x.shape[:1])
        np.copyto(x_t, batch_last(x))
        return x_t.reshape(self.n_input_plane, -1)

    def updateOutput(self, input: Any) -> np.ndarray:
        array = self._split(input)[0]
        x = self._batch(array)
        size, out = x.shape[2:], self._output_size(input)
        x_t = self._input_matrix(x)
        cols = self.finput = resized(self.finput, x, (self.n_output_plane,) + self.k + size + (x.shape[0],))
        np.matmul(self._weight_matrix().T, x_t, out=self._rows(cols))
        shape = (self.n_output_plane,) + tuple(o + 2 * p for o, p in zip(out, self.pad)) + (x.shape[0],)
        full = self._padded = fold(cols, self.d, self.dil, resized(self._padded, x, shape))
        return self._finish(array, full[interior(self.pad, out)], out)

    def _grad_columns(self, input: np.ndarray, gradOutput: np.ndarray) -> np.ndarray:
        """im2col of the padded ``gradOutput`` on the input's grid: ``(O·∏k, ∏in·N)``."""
        g = self._batch(gradOutput)
        size = input.shape[-self.n_dims:]
        padded = self._grad_padded = padded_copy(g, self.pad, self._grad_padded)
        cols = self.fgradInput = resized(self.fgradInput, g, (self.n_output_plane,) + self.k + size + (g.shape[0],))
        unfold(padded, self.k, self.d, self.dil, size, cols)
        return cols.reshape(self.n_output_plane * math.prod(self.k), -1)

    def updateGradInput(self, input: Any, gradOutput: np.ndarray) -> Any:
        if self.gradInput is None:
            return None
        array = self._split(input)[0]
        x = self._batch(array)[:, :self.n_input_plane]
        cols = self._grad_columns(array, gradOutput)
        grad_t = self._output_t = resized(self._output_t, x, x.shape[1:] + x.shape[:1])
        np.matmul(self._weight_matrix(), cols, out=grad_t.reshape(self.n_input_plane, -1))
        table = type(self.gradInput) is list
        previous = (self.gradInput[0] if self.gradInput else None) if table else self.gradInput
        grad = self._set_grad_input(previous, array, grad_t)
        if type(input) is list:  # Torch: the size tensor gets a zero gradient
            zeros = self.gradInput[1] if table and len(self.gradInput) == 2 else None
            if type(zeros) is not np.ndarray or zeros.shape != input[1].shape or zeros.dtype != input[1].dtype:
                zeros = np.zeros_like(input[1])
            self.gradInput = [grad, zeros]
        else:
            self.gradInput = grad
        return self.gradInput

    def accGradParameters(self, input: Any, gradOutput: np.ndarray, scale: float = 1.0) -> None:
        array = self._split(input)[0]
        x_t = self._input_matrix(self._batch(array))
        cols = self._grad_columns(array, gradOutput)
        self._acc_weight_matrix(x_t, cols.T, scale)
        if self.bias is not None:
            self.gradBias += scale * self._batch(gradOutput).sum(axis=(0,) + tuple(range(2, self.n_dims + 2)))


class Planar:
    """Torch's names for a 2-D geometry (``kW = k[1]``, ``kH = k[0]``, …) and Torch's printing of it."""

    kW = property(lambda self: self.k[1])
    kH = property(lambda self: self.k[0])
    dW = property(lambda self: self.d[1])
    dH = property(lambda self: self.d[0])
    padW = property(lambda self: self.pad[1])
    padH = property(lambda self: self.pad[0])
    dilationW = property(lambda self: self.dil[1])
    dilationH = property(lambda self: self.dil[0])
    adjW = property(lambda self: self.adj[1])
    adjH = property(lambda self: self.adj[0])

    def _planar_repr(self, *groups: tuple[tuple[int, int], int]) -> str:
        """``"C -> O, kWxkH"`` then Torch's positional ``", a,b"`` groups ``((W, H), default)``: each group up
        to the last one that differs from its default.
        """
        last = max((i for i, (values, default) in enumerate(groups) if any(v != default for v in values)), default=-1)
        return f"{self.n_input_plane} -> {self.n_output_plane}, {self.kW}x{self.kH}" + "".join(
            f", {w},{h}" for (w, h), _ in groups[:last + 1])

    def _stride_pad_repr(self) -> str:
        return self._planar_repr(((self.dW, self.dH), 1), ((self.padW, self.padH), 0))
