"""An N-d convolution engine (1 to 3 trailing dimensions): im2col/col2im in SpatialConvolution's batch-last
layout, and the two module bases built on it, ``_ConvolutionND`` (strided, padded, dilated cross-correlation)
and ``_FullConvolutionND`` (its transpose, Torch's "full" convolution, with ``adj``).

Layout: an input ``(N, C, *S)`` is copied once, zero-padded, into ``(C, *P, N)``; :func:`unfold` copies its
windows into columns ``(C, *k, *out, N)`` (a strided view, no loop over positions), so a convolution is one
GEMM with the weight seen as ``(O, C·∏k)``. :func:`fold` adds columns back onto ``(C, *P, N)`` with one
vectorised slice-add per kernel offset (``∏k`` additions, never a loop over positions). Keeping the batch
innermost makes every copy and addition run over contiguous rows.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

from ember.blas import add_product
from ember.nn.module import Module, filled, resized
from ember.random import get_rng

_NAMES = ("T", "H", "W")


def batch_last(x: np.ndarray) -> np.ndarray:
    """A view ``(C, *S, N)`` of ``x`` ``(N, C, *S)``."""
    return x.transpose(tuple(range(1, x.ndim)) + (0,))


def batch_first(t: np.ndarray) -> np.ndarray:
    """A view ``(N, C, *S)`` of ``t`` ``(C, *S, N)``."""
    return t.transpose((t.ndim - 1,) + tuple(range(t.ndim - 1)))


def _region(offset: tuple[int, ...], dil: tuple[int, ...], out: tuple[int, ...], d: tuple[int, ...]) -> tuple:
    """The slices of a ``(C, *P, N)`` array that kernel ``offset`` touches at the ``out`` grid positions."""
    return (slice(None),) + tuple(slice(u * dl, u * dl + (o - 1) * s + 1, s)
                                  for u, dl, o, s in zip(offset, dil, out, d))


def unfold(padded: np.ndarray, k: tuple[int, ...], d: tuple[int, ...], dil: tuple[int, ...],
           out: tuple[int, ...], cols: np.ndarray) -> np.ndarray:
    """im2col: copy the windows of ``padded`` ``(C, *P, N)`` into ``cols`` ``(C, *k, *out, N)``:
    ``cols[c, u…, i…, n] = padded[c, i·d + u·dil…, n]``.
    """
    n = len(k)
    span = tuple(dl * (kk - 1) + 1 for kk, dl in zip(k, dil))
    view = sliding_window_view(padded, span, axis=tuple(range(1, n + 1)))  # (C, *P', N, *span)
    view = view[(slice(None),) + tuple(slice(0, (o - 1) * s + 1, s) for o, s in zip(out, d))
                + (slice(None),) + tuple(slice(None, None, dl) for dl in dil)]  # (C, *out, N, *k)
    order = (0,) + tuple(range(n + 2, 2 * n + 2)) + tuple(range(1, n + 1)) + (n + 1,)
    np.copyto(cols, view.transpose(order))
    return cols


def fold(cols: np.ndarray, k: tuple[int, ...], d: tuple[int, ...], dil: tuple[int, ...], out: tuple[int, ...],
         target: np.ndarray) -> np.ndarray:
    """col2im, the adjoint of :func:`unfold`: add ``cols`` ``(C, *k, *out, N)`` onto ``target`` ``(C, *P, N)``."""
    for offset in np.ndindex(*k):
        target[_region(offset, dil, out, d)] += cols[(slice(None),) + offset]
    return target


class _ConvolutionBase(Module):
    """Shared arguments, initialisation, checks and printing: ``k, d, pad, dil`` are tuples in the order of
    the dimensions (``(T, H, W)`` for 3), ``n_dims`` of them; an input has ``n_dims + 1`` (one example,
    channels first) or ``n_dims + 2`` dimensions (a batch).
    """

    _scratch = ("finput", "fgradInput", "_padded", "_grad_padded", "_input_t", "_output_t")

    def __init__(self, n_input_plane: int, n_output_plane: int, k: tuple[int, ...], d: tuple[int, ...],
                 pad: tuple[int, ...], dil: tuple[int, ...], bias: bool, weight_shape: tuple[int, ...],
                 rng: int | np.random.Generator | None) -> None:
        super().__init__()
        self.n_input_plane, self.n_output_plane = n_input_plane, n_output_plane
        self.k, self.d, self.pad, self.dil = k, d, pad, dil
        for what, values, least in (("planes", (n_input_plane, n_output_plane), 1), ("kernel size", k, 1),
                                    ("stride", d, 1), ("padding", pad, 0), ("dilation", dil, 1)):
            if min(values) < least:
                self.fail(f"{what} must be at least {least}, got {values}")
        self.register_parameter("weight", np.empty(weight_shape))
        self.register_parameter("bias", np.empty(n_output_plane) if bias else None)
        for name in self._scratch:
            setattr(self, name, None)
        self.reset(rng)

    @property
    def n_dims(self) -> int:
        return len(self.k)

    def reset(self, rng: int | np.random.Generator | None = None, *, stdv: float | None = None) -> Module:
        """Draw weight and bias from uniform(−stdv, stdv), stdv = 1/√(∏k · n_input_plane) unless given
        (Torch's default for both the convolution and its transpose).
        """
        rng = get_rng(rng)
        stdv = 1.0 / math.sqrt(math.prod(self.k) * self.n_input_plane) if stdv is None else stdv
        self.weight[...] = rng.uniform(-stdv, stdv, self.weight.shape)
        if self.bias is not None:
            self.bias[...] = rng.uniform(-stdv, stdv, self.bias.shape)
        return self

    def _output_size(self, input: np.ndarray) -> tuple[int, ...]:
        raise NotImplementedError

    def checkInput(self, input: Any) -> None:
        x = input[0] if type(input) is list else input  # (a table only reaches here from _FullConvolutionND)
        super().checkInput(x)
        n, c = self.n_dims, self.n_input_plane
        names = ", ".join(_NAMES[-n:])
        if x.ndim not in (n + 1, n + 2) or x.shape[-n - 1] != c:
            self.fail(f"expected input of shape ({c}, {names}) or (batch, {c}, {names}), got {x.shape}")
        if min(self._output_size(input)) < 1:
            self.fail(f"input {x.shape[-n:]} gives an empty output {self._output_size(input)} for the kernel "
                      f"{self.k} (stride {self.d}, padding {self.pad}, dilation {self.dil})")

    def _batch(self, input: np.ndarray) -> np.ndarray:
        return input if input.ndim == self.n_dims + 2 else input[None]

    def _finish(self, input: np.ndarray, out_t: np.ndarray, out: tuple[int, ...]) -> np.ndarray:
        """``self.output`` from the batch-last result ``out_t`` ``(O, *out, N)``, plus the bias."""
        self.output = resized(self.output, input, input.shape[:-self.n_dims - 1] + (self.n_output_plane,) + out)
        y = self.output.reshape((out_t.shape[-1], self.n_output_plane) + out)
        if self.bias is None:
            np.copyto(y, batch_first(out_t))
        else:
            np.add(batch_first(out_t), self.bias.reshape((-1,) + (1,) * self.n_dims), out=y)
        return self.output

    def _grad_bias(self, gradOutput: np.ndarray, scale: float) -> None:
        if self.bias is not None:
            axes = (0,) + tuple(range(2, self.n_dims + 2))
            self.gradBias += scale * self._batch(gradOutput).sum(axis=axes)

    def _copy_padded(self, x: np.ndarray, buffer: Any, pad: tuple[int, ...]) -> np.ndarray:
        """``x`` ``(N, C, *S)`` copied into a zero-bordered ``(C, *(S + 2·pad), N)`` buffer."""
        shape = (x.shape[1],) + tuple(s + 2 * p for s, p in zip(x.shape[2:], pad)) + (x.shape[0],)
        padded = filled(buffer, x, 0.0, shape)  # its border stays zero
        interior = (slice(None),) + tuple(slice(p, p + s) for p, s in zip(pad, x.shape[2:]))
        np.copyto(padded[interior], batch_last(x))
        return padded

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


class _ConvolutionND(_ConvolutionBase):
    """``y[n, o, i…] = b[o] + Σ_{c, u…} W[o, c, u…] · x̃[n, c, i·d + u·dil…]`` with ``x̃`` zero-padded by ``pad``.

    Backward: ``∂L/∂x̃[n, c, i·d + u·dil…] += Σ_o W[o, c, u…] · g[n, o, i…]`` (the padding then cropped);
    ``∂L/∂W[o, c, u…] += scale · Σ_{n, i…} g[n, o, i…] · x̃[n, c, i·d + u·dil…]``; ``∂L/∂b[o] += scale · Σ g``.
    Forward: one copy of the padded input, one im2col copy (``finput``), one GEMM. Backward: one GEMM and
    one col2im (``∏k`` slice-adds) for the input, one GEMM for the weight.
    """

    def __init__(self, n_input_plane: int, n_output_plane: int, k: tuple[int, ...], d: tuple[int, ...],
                 pad: tuple[int, ...], dil: tuple[int, ...], bias: bool,
                 rng: int | np.random.Generator | None) -> None:
        super().__init__(n_input_plane, n_output_plane, k, d, pad, dil, bias, (n_output_plane, n_input_plane) + k,
                         rng)

    def _output_size(self, input: np.ndarray) -> tuple[int, ...]:
        return tuple((s + 2 * p - dl * (kk - 1) - 1) // st + 1
                     for s, p, dl, kk, st in zip(input.shape[-self.n_dims:], self.pad, self.dil, self.k, self.d))

    def _grad_output_t(self, gradOutput: np.ndarray) -> np.ndarray:
        """``gradOutput`` as ``(O, ∏out·N)``, in a reused buffer."""
        g = self._batch(gradOutput)
        g_t = self._output_t = resized(self._output_t, g, g.shape[1:] + g.shape[:1])
        np.copyto(g_t, batch_last(g))
        return g_t.reshape(self.n_output_plane, -1)

    def updateOutput(self, input: np.ndarray) -> np.ndarray:
        x = self._batch(input)
        out = self._output_size(input)
        padded = self._padded = self._copy_padded(x, self._padded, self.pad)
        cols = self.finput = resized(self.finput, x, (x.shape[1],) + self.k + out + (x.shape[0],))
        unfold(padded, self.k, self.d, self.dil, out, cols)
        out_t = self._output_t = resized(self._output_t, x, (self.n_output_plane,) + out + (x.shape[0],))
        np.matmul(self.weight.reshape(self.n_output_plane, -1), cols.reshape(self.weight[0].size, -1),
                  out=out_t.reshape(self.n_output_plane, -1))
        return self._finish(input, out_t, out)

    def updateGradInput(self, input: np.ndarray, gradOutput: np.ndarray) -> np.ndarray | None:
        if self.gradInput is None:  # switched off, as SpatialConvolution
            return None
        x = self._batch(input)
        out = gradOutput.shape[-self.n_dims:]
        g_t = self._grad_output_t(gradOutput)
        grad_cols = self.fgradInput = resized(self.fgradInput, x, self.finput.shape)
        np.matmul(self.weight.reshape(self.n_output_plane, -1).T, g_t, out=grad_cols.reshape(-1, g_t.shape[1]))
        grad = self._grad_padded = resized(self._grad_padded, x, self._padded.shape)
        grad.fill(0)
        fold(grad_cols, self.k, self.d, self.dil, out, grad)
        self.gradInput = resized(self.gradInput, input)
        interior = (slice(None),) + tuple(slice(p, p + s) for p, s in zip(self.pad, x.shape[2:]))
        np.copyto(self.gradInput.reshape(x.shape), batch_first(grad[interior]))
        return self.gradInput

    def accGradParameters(self, input: np.ndarray, gradOutput: np.ndarray, scale: float = 1.0) -> None:
        g_t = self._grad_output_t(gradOutput)
        add_product(self.gradWeight.reshape(self.n_output_plane, -1), g_t,
                    self.finput.reshape(self.weight[0].size, -1).T, scale)
        self._grad_bias(gradOutput, scale)


class _FullConvolutionND(_ConvolutionBase):
    """The transpose of ``_ConvolutionND`` (Torch's full convolution, PyTorch's ``ConvTranspose``): each input
    position scatters ``x[n, c, j…] · W[c, o, u…]`` to output position ``j·d + u·dil − pad``; ``adj`` extra
    positions at the end of each dimension (PyTorch's ``output_padding``) receive only the bias.
    ``out = (in − 1)·d − 2·pad + dil·(k − 1) + 1 + adj``. As Torch's, it also takes a table ``[x, like]``: the
    ``adj`` are then those that bring the output closest to ``like``'s trailing sizes (``like`` gets a zero
    gradient).

    Forward: one GEMM ``Wᵀ @ x`` into columns and one col2im (``∏k`` slice-adds). Backward: the input
    gradient is the convolution of ``g`` (one im2col copy, one GEMM); the weight gradient one GEMM
    ``x @ colsᵀ``; ``∂L/∂b[o] += scale · Σ g``.
    """

    def __init__(self, n_input_plane: int, n_output_plane: int, k: tuple[int, ...], d: tuple[int, ...],
                 pad: tuple[int, ...], dil: tuple[int, ...], adj: tuple[int, ...], bias: bool,
                 rng: int | np.random.Generator | None) -> None:
        self.adj = adj
        super().__init__(n_input_plane, n_output_plane, k, d, pad, dil, bias, (n_input_plane, n_output_plane) + k,
                         rng)
        if min(adj) < 0 or any(a >= max(s, dl) for a, s, dl in zip(adj, d, dil)):
            self.fail(f"adj {adj} must be at least 0 and smaller than the stride {d} (or the dilation {dil})")

    def checkInput(self, input: Any) -> None:
        if type(input) is list and (len(input) != 2 or not all(type(a) is np.ndarray for a in input)
                                    or input[1].ndim < self.n_dims):
            self.fail(f"expected an array or a table [input, like] of two arrays, 'like' at least {self.n_dims}-D, "
                      f"got {[getattr(item, 'shape', type(item).__name__) for item in input]}")
        super().checkInput(input)

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
        """The input as ``(C, ∏in·N)``, in a reused buffer."""
        x_t = self._input_t = resized(self._input_t, x, x.shape[1:] + x.shape[:1])
        np.copyto(x_t, batch_last(x))
        return x_t.reshape(self.n_input_plane, -1)

    def updateOutput(self, input: Any) -> np.ndarray:
        array = self._split(input)[0]
        x = self._batch(array)
        size, out = x.shape[2:], self._output_size(input)
        x_t = self._input_matrix(x)
        cols = self.finput = resized(self.finput, x, (self.n_output_plane,) + self.k + size + (x.shape[0],))
        np.matmul(self.weight.reshape(self.n_input_plane, -1).T, x_t, out=cols.reshape(-1, x_t.shape[1]))
        shape = (self.n_output_plane,) + tuple(o + 2 * p for o, p in zip(out, self.pad)) + (x.shape[0],)
        full = self._padded = resized(self._padded, x, shape)
        full.fill(0)
        fold(cols, self.k, self.d, self.dil, size, full)
        crop = (slice(None),) + tuple(slice(p, p + o) for p, o in zip(self.pad, out)) + (slice(None),)
        return self._finish(array, full[crop], out)

    def _grad_columns(self, input: np.ndarray, gradOutput: np.ndarray) -> np.ndarray:
        """im2col of the padded ``gradOutput`` on the input's grid: ``(O·∏k, ∏in·N)``."""
        g = self._batch(gradOutput)
        size = input.shape[-self.n_dims:]
        padded = self._grad_padded = self._copy_padded(g, self._grad_padded, self.pad)
        cols = self.fgradInput = resized(self.fgradInput, g, (self.n_output_plane,) + self.k + size + (g.shape[0],))
        unfold(padded, self.k, self.d, self.dil, size, cols)
        return cols.reshape(self.weight[0].size, -1)

    def updateGradInput(self, input: Any, gradOutput: np.ndarray) -> Any:
        if self.gradInput is None:
            return None
        array = self._split(input)[0]
        x = self._batch(array)
        cols = self._grad_columns(array, gradOutput)
        grad_t = self._output_t = resized(self._output_t, x, x.shape[1:] + x.shape[:1])
        np.matmul(self.weight.reshape(self.n_input_plane, -1), cols, out=grad_t.reshape(self.n_input_plane, -1))
        table = type(self.gradInput) is list
        previous = (self.gradInput[0] if self.gradInput else None) if table else self.gradInput
        grad = resized(previous, array)
        np.copyto(grad.reshape(x.shape), batch_first(grad_t))
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
        add_product(self.gradWeight.reshape(self.n_input_plane, -1), x_t, cols.T, scale)
        self._grad_bias(gradOutput, scale)
