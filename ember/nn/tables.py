"""Connection tables for ``SpatialConvolutionMap`` and ``SpatialFullConvolutionMap`` (Torch's ``nn.tables``).

A table is an integer array ``(K, 2)``: row ``k`` connects input plane ``table[k, 0]`` to output plane
``table[k, 1]`` through kernel ``k``. Planes count from 0 (Torch's from 1).
"""

from __future__ import annotations

import numpy as np

from ember.errors import InputError
from ember.random import get_rng


def full(nin: int, nout: int) -> np.ndarray:
    """Every input plane to every output plane: ``nin·nout`` rows, ``[i, o]`` with ``i`` varying fastest
    (``SpatialConvolutionMap(full(C, O), …)`` is a ``SpatialConvolution``).
    """
    outputs, inputs = np.divmod(np.arange(nin * nout), nin)
    return np.stack([inputs, outputs], axis=1)


def oneToOne(nfeat: int) -> np.ndarray:
    """Input plane ``i`` to output plane ``i`` only: ``nfeat`` rows ``[i, i]``."""
    planes = np.arange(nfeat)
    return np.stack([planes, planes], axis=1)


def random(nin: int, nout: int, nto: int, rng: int | np.random.Generator | None = None) -> np.ndarray:
    """``nto`` distinct input planes for each of ``nout`` output planes, ``nout·nto`` rows grouped by output.

    As Torch: the inputs are dealt from random permutations of the ``nin`` planes, ``nto`` at a time, a new
    permutation once ``nin // nto`` groups are dealt, so that the inputs are used about equally often.
    ``rng`` seeds the permutations (default: the library-wide generator).
    """
    if not 1 <= nto <= nin or nout < 1:
        raise InputError(f"nn.tables.random: expected 1 <= nto <= nin and nout >= 1, got nin={nin}, nout={nout}, "
                         f"nto={nto}")
    per_permutation = nin // nto
    n_permutations = -(-nout // per_permutation)
    permutations = get_rng(rng).permuted(np.tile(np.arange(nin), (n_permutations, 1)), axis=1)
    groups = permutations[:, :per_permutation * nto].reshape(-1, nto)[:nout]
    return np.stack([groups.ravel(), np.repeat(np.arange(nout), nto)], axis=1)
