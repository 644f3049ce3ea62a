"""Convolutions through a connection table (Torch's ``nn.SpatialConvolutionMap`` and
``nn.SpatialFullConvolutionMap``): kernel ``k`` links input plane ``table[k, 0]`` to output plane
``table[k, 1]``, and no other pair is linked (LeNet-5's partially connected C3 layer). Tables are made by
:mod:`ember.nn.tables` (``full``, ``oneToOne``, ``random``).

Both lay their ``K`` kernels into a dense ``(O, C, kH, kW)`` weight (zeros where nothing is linked) and run
the im2col + GEMM bases of :mod:`ember.nn.convnd`; the dense weight's gradient is gathered back to the ``K``
kernels. A sparse table does ``C·O/K`` times the multiply-adds it
needs, which one GEMM makes up for at the sizes these layers have.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ember.errors import InputError
from ember.nn.convnd import ConvolutionND, FullConvolutionND, Planar, check_at_least
from ember.nn.module import Module
from ember.random import get_rng


class ConnectionTable(Planar):
    """The connection table, the ``(K, kH, kW)`` kernels and the ``(O,)`` bias shared by the two classes
    (mixed in before their convolution base).
    """

    _scratch = ConvolutionND._scratch + ("_dense",)
    _extra_planes = True
    #: which column of the table indexes the rows of the dense weight (0: input planes, 1: output planes)
    _dense_rows = 1

    def __init__(self, conn_table: Any, kW: int, kH: int, dW: int = 1, dH: int = 1,
                 rng: int | np.random.Generator | None = None) -> None:
        table = np.asarray(conn_table)
        if table.ndim != 2 or table.shape[1] != 2 or len(table) == 0 or not (
                np.issubdtype(table.dtype, np.integer) or (
                    np.issubdtype(table.dtype, np.floating) and np.all(table == np.round(table)))) or table.min() < 0:
            raise InputError(f"{type(self).__name__}: expected a connection table of shape (K, 2) holding 0-based "
                             f"plane numbers [input, output] (see nn.tables), got {table.shape} {table.dtype}")
        check_at_least(self, kW=(kW, 1), kH=(kH, 1), dW=(dW, 1), dH=(dH, 1))
        self.conn_table = table.astype(np.int64)
        pairs = self.conn_table[:, ::-1] if self._dense_rows == 1 else self.conn_table
        self._dense_index = (pairs[:, 0], pairs[:, 1])
        self._unique_pairs = len(np.unique(pairs, axis=0)) == len(pairs)
        n_input_plane, n_output_plane = (int(v) + 1 for v in self.conn_table.max(axis=0))
        super().__init__(n_input_plane, n_output_plane, (kH, kW), (dH, dW), (0, 0), (1, 1), True, rng,
                         weight_shape=(len(table), kH, kW))

    def config(self) -> dict[str, Any]:
        return {"conn_table": self.conn_table.tolist(), "kW": self.kW, "kH": self.kH, "dW": self.dW, "dH": self.dH}

    def reset(self, rng: int | np.random.Generator | None = None, *, stdv: float | None = None) -> Module:
        """Draw from uniform(−stdv, stdv): unless ``stdv`` is given, Torch's per-output ``stdv = 1/√(kW·kH·f)``,
        ``f`` the number of input planes linked to the kernel's (or bias's) output plane.
        """
        rng = get_rng(rng)
        if stdv is None:
            fan_in = np.maximum(np.bincount(self.conn_table[:, 1], minlength=self.n_output_plane), 1)
            bias_stdv = 1.0 / np.sqrt(self.kW * self.kH * fan_in)
            weight_stdv = bias_stdv[self.conn_table[:, 1], None, None]
        else:
            weight_stdv = bias_stdv = stdv
        self.weight[...] = rng.uniform(-weight_stdv, weight_stdv, self.weight.shape)
        self.bias[...] = rng.uniform(-bias_stdv, bias_stdv, self.bias.shape)
        return self

    def _weight_matrix(self) -> np.ndarray:
        """The kernels laid into the dense weight ``(O, C, kH, kW)`` (``(C, O, kH, kW)`` for the transposed class),
        zeros where no pair is linked, as the base's weight matrix.
        """
        planes = (self.n_output_plane, self.n_input_plane)
        shape = (planes if self._dense_rows == 1 else planes[::-1]) + (self.kH, self.kW)
        if type(self._dense) is not np.ndarray or self._dense.shape != shape or self._dense.dtype != self.weight.dtype:
            self._dense = np.empty(shape, dtype=self.weight.dtype)
        self._dense.fill(0)
        if self._unique_pairs:
            self._dense[self._dense_index] = self.weight
        else:  # a pair linked twice: both kernels add up, as in Torch
            np.add.at(self._dense, self._dense_index, self.weight)
        return self._dense.reshape(shape[0], -1)

    def _acc_weight_matrix(self, a: np.ndarray, b: np.ndarray, scale: float) -> None:
        """Add ``scale`` times each kernel's entry of the dense weight's gradient ``a @ b`` to ``gradWeight``."""
        self.gradWeight += scale * (a @ b).reshape(self._dense.shape)[self._dense_index]

    def extra_repr(self) -> str:
        text = f"{self.n_input_plane} -> {self.n_output_plane}, {len(self.conn_table)} kernels {self.kW}x{self.kH}"
        return text + (f", {self.dW},{self.dH}" if self.dW != 1 or self.dH != 1 else "")


class SpatialConvolutionMap(ConnectionTable, ConvolutionND):
    """2-D convolution through a connection table (Torch's ``nn.SpatialConvolutionMap``).

    ``y[n, o, i, j] = b[o] + Σ_{k: table[k, 1] = o} Σ_{u, v} W[k, u, v] · x[n, table[k, 0], i·dH + u, j·dW + v]``
    (no padding; ``SpatialConvolutionMap(nn.tables.full(C, O), …)`` is ``SpatialConvolution(C, O, …)``).

    Backward: ``∂L/∂x[n, table[k, 0], i·dH + u, j·dW + v] += W[k, u, v] · g[n, table[k, 1], i, j]``;
    ``∂L/∂W[k, u, v] += scale · Σ_{n, i, j} g[n, table[k, 1], i, j] · x[n, table[k, 0], i·dH + u, j·dW + v]``;
    ``∂L/∂b[o] += scale · Σ_{n, i, j} g[n, o, i, j]``.

    Args:
        conn_table: ``(K, 2)`` integers, row ``k`` = ``[input plane, output plane]`` of kernel ``k``,
            0-based (see :mod:`ember.nn.tables`). ``C`` and ``O`` are one more than the largest of each.
        kW, kH: kernel width and height.
        dW, dH: strides (default 1).
        rng: generator for the initialisation (default: the library-wide one).

    Shape: ``(C, H, W)`` or ``(batch, C, H, W)`` to ``(O, oH, oW)`` or ``(batch, O, oH, oW)``,
    ``oH = (H − kH) // dH + 1``, ``oW`` likewise. As in Torch, the input may have more than ``C`` planes
    (a table that leaves the last planes out): those are not read and get a zero gradient.

    Attributes:
        weight: ``(K, kH, kW)`` and ``bias`` ``(O,)``, initialised as Torch's ``reset`` (see ``reset``).
        gradInput: set it to ``None`` to skip the input gradient, as in Torch.

    Example:
        >>> from ember.nn import tables
        >>> SpatialConvolutionMap(tables.random(6, 16, 3, rng=0), 5, 5).forward(np.ones((6, 14, 14))).shape
        (16, 10, 10)

    """


class SpatialFullConvolutionMap(ConnectionTable, FullConvolutionND):
    """2-D transposed ("full") convolution through a connection table (Torch's ``nn.SpatialFullConvolutionMap``):
    the adjoint of ``SpatialConvolutionMap`` with the same table, plus a bias.

    ``ỹ[n, table[k, 1], i·dH + u, j·dW + v] += W[k, u, v] · x[n, table[k, 0], i, j]`` over kernels ``k``,
    input pixels ``(i, j)`` and offsets ``(u, v)``; ``y = ỹ + b[o]``.

    Backward: ``∂L/∂x[n, table[k, 0], i, j] += Σ_{u, v} W[k, u, v] · g[n, table[k, 1], i·dH + u, j·dW + v]``;
    ``∂L/∂W[k, u, v] += scale · Σ_{n, i, j} x[n, table[k, 0], i, j] · g[n, table[k, 1], i·dH + u, j·dW + v]``;
    ``∂L/∂b[o] += scale · Σ_{n, i, j} g[n, o, i, j]``.

    Args:
        conn_table: ``(K, 2)`` integers, row ``k`` = ``[input plane, output plane]`` of kernel ``k``,
            0-based (see :mod:`ember.nn.tables`).
        kW, kH: kernel width and height.
        dW, dH: strides (default 1).
        rng: generator for the initialisation (default: the library-wide one).

    Shape: ``(C, H, W)`` or ``(batch, C, H, W)`` (Torch's takes only the former) to ``(O, oH, oW)`` or
    ``(batch, O, oH, oW)``, ``oH = (H − 1)·dH + kH``, ``oW`` likewise. The input may have more than ``C``
    planes, as in Torch: those are not read and get a zero gradient.

    Attributes:
        weight: ``(K, kH, kW)`` and ``bias`` ``(O,)``, initialised as Torch's ``reset`` (see ``reset``).
        gradInput: set it to ``None`` to skip the input gradient, as in Torch.

    Example:
        >>> from ember.nn import tables
        >>> SpatialFullConvolutionMap(tables.oneToOne(3), 2, 2, 2, 2).forward(np.ones((3, 4, 4))).shape
        (3, 8, 8)

    """

    _table_input = False
    _dense_rows = 0
