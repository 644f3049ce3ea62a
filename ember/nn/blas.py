"""Fused BLAS updates for the hot paths: ``A += α x yᵀ`` (ger) and ``A += α Xᵀ Y`` (gemm with β = 1).

NumPy has no in-place multiply-add, so ``gradWeight += scale * outer(g, x)`` costs a temporary and
two more passes over the weights; SciPy's BLAS wrappers do it in one. They are used when the target
is a C-contiguous float32/float64 NumPy array (its transpose is then the Fortran array BLAS updates
in place); anything else (other dtypes, non-contiguous views, other array libraries) takes the plain
NumPy route.
"""

from __future__ import annotations

import numpy as np
from scipy.linalg import blas

_GER = {np.dtype(np.float64): blas.dger, np.dtype(np.float32): blas.sger}
_GEMM = {np.dtype(np.float64): blas.dgemm, np.dtype(np.float32): blas.sgemm}


def add_outer(target: np.ndarray, column: np.ndarray, row: np.ndarray, scale: float = 1.0) -> None:
    """``target += scale · column rowᵀ`` (shapes ``(m, n)``, ``(m,)``, ``(n,)``), in place."""
    ger = _GER.get(target.dtype)
    if ger is not None and type(target) is np.ndarray and target.flags.c_contiguous:
        ger(scale, row, column, a=target.T, overwrite_a=1)
    else:
        target += scale * np.multiply.outer(column, row)


def add_product(target: np.ndarray, left: np.ndarray, right: np.ndarray, scale: float = 1.0) -> None:
    """``target += scale · leftᵀ right`` (shapes ``(m, n)``, ``(k, m)``, ``(k, n)``), in place."""
    gemm = _GEMM.get(target.dtype)
    if gemm is not None and type(target) is np.ndarray and target.flags.c_contiguous:
        # targetᵀ (n, m), Fortran order, += scale · rightᵀ left
        gemm(scale, right.T, left.T, beta=1.0, c=target.T, trans_b=1, overwrite_c=1)
    else:
        target += scale * (left.T @ right)
