"""The im2col engine of the convolutions, for 1 to 3 trailing dimensions, in a batch-last layout.

An input ``(N, C, *S)`` is copied once, zero-padded, into ``(C, *P, N)`` (:func:`padded_copy`); :func:`windows`
views its windows as ``(C, *k, *out, N)`` (a strided view, no loop over positions), which :func:`unfold` copies
into the columns of a GEMM (a convolution is then one matrix product with the weight seen as ``(O, C·∏k)``).
:func:`fold` (*col2im*) adds columns back onto ``(C, *P, N)`` with one vectorised slice-add per kernel offset
(``∏k`` additions, never a loop over positions). Keeping the batch innermost makes every copy and addition
run over contiguous rows.
"""

from __future__ import annotations

import itertools
from typing import Any

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

from ember.nn.module import filled


def batch_last(x: np.ndarray) -> np.ndarray:
    """A view ``(C, *S, N)`` of ``x`` ``(N, C, *S)``."""
    return x.transpose(tuple(range(1, x.ndim)) + (0,))


def batch_first(t: np.ndarray) -> np.ndarray:
    """A view ``(N, C, *S)`` of ``t`` ``(C, *S, N)``."""
    return t.transpose((t.ndim - 1,) + tuple(range(t.ndim - 1)))


def interior(pad: tuple[int, ...], size: tuple[int, ...]) -> tuple[slice, ...]:
    """The index of the unpadded ``size`` region of a ``(C, *P, N)`` array padded by ``pad`` on each side."""
    return (slice(None),) + tuple(slice(p, p + s) for p, s in zip(pad, size))


def padded_copy(x: np.ndarray, pad: tuple[int, ...], buffer: Any) -> np.ndarray:
    """``x`` ``(N, C, *S)`` copied into a zero-bordered ``(C, *(S + 2·pad), N)`` array, ``buffer`` when its
    shape and dtype fit (its border is zeroed once, when it is made).
    """
    shape = (x.shape[1],) + tuple(s + 2 * p for s, p in zip(x.shape[2:], pad)) + (x.shape[0],)
    padded = filled(buffer, x, 0.0, shape)
    np.copyto(padded[interior(pad, x.shape[2:])], batch_last(x))
    return padded


def windows(padded: np.ndarray, k: tuple[int, ...], d: tuple[int, ...], dil: tuple[int, ...],
            out: tuple[int, ...]) -> np.ndarray:
    """The windows of ``padded`` ``(C, *P, N)`` as a strided view ``(C, *k, *out, N)`` (no copy):
    ``[c, u…, i…, n] = padded[c, i·d + u·dil…, n]``.
    """
    n = len(k)
    span = tuple(dl * (kk - 1) + 1 for kk, dl in zip(k, dil))
    view = sliding_window_view(padded, span, axis=tuple(range(1, n + 1)))  # (C, *P', N, *span)
    view = view[(slice(None),) + tuple(slice(0, (o - 1) * s + 1, s) for o, s in zip(out, d))
                + (slice(None),) + tuple(slice(None, None, dl) for dl in dil)]  # (C, *out, N, *k)
    return view.transpose((0,) + tuple(range(n + 2, 2 * n + 2)) + tuple(range(1, n + 1)) + (n + 1,))


def unfold(padded: np.ndarray, k: tuple[int, ...], d: tuple[int, ...], dil: tuple[int, ...],
           out: tuple[int, ...], cols: np.ndarray) -> np.ndarray:
    """im2col: copy the :func:`windows` of ``padded`` into ``cols`` ``(C, *k, *out, N)``."""
    np.copyto(cols, windows(padded, k, d, dil, out))
    return cols


def fold(cols: np.ndarray, d: tuple[int, ...], dil: tuple[int, ...], target: np.ndarray) -> np.ndarray:
    """col2im, the adjoint of :func:`unfold`: ``target`` ``(C, *P, N)`` is zeroed, then ``cols``
    ``(C, *k, *out, N)`` (any strides) is added where it was read, one slice-add per kernel offset.
    """
    n = target.ndim - 2
    k, out = cols.shape[1:n + 1], cols.shape[n + 1:2 * n + 1]
    per_axis = [[slice(u * dl, u * dl + (o - 1) * s + 1, s) for u in range(kk)]
                for kk, dl, o, s in zip(k, dil, out, d)]
    target.fill(0)
    for offset, region in zip(itertools.product(*map(range, k)), itertools.product(*per_axis)):
        target[(slice(None),) + region] += cols[(slice(None),) + offset]
    return target
