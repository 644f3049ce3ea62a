"""Catalog cases for SparseLinear and IndexLinear (sparse.py)."""

import numpy as np

from ember import nn
from tests.nn.catalog import Case


def pairs(*shape, n_in=7):
    """(index, value) rows: whole-number indices in [0, n_in) with a repeat, normal values."""
    def make(rng):
        out = np.empty(shape + (2,))
        out[..., 0] = rng.integers(n_in, size=shape)
        out[..., -1, 0] = out[..., 0, 0]  # a repeated index: contributions add up
        out[..., 1] = rng.standard_normal(shape)
        return out
    return make


def _sparse_torch(torch, m, x, p):
    columns = p[0][:, x[..., 0].round().long()]  # (n_out, ..., nnz)
    return torch.movedim((columns * x[..., 1]).sum(dim=-1), 0, -1) + p[1]


def _keys_values(rng):
    return [np.array([0, 4, 2, 4]), rng.standard_normal(4)]


def _flat_batch(rng):
    return [np.array([0, 4, 2, 4, 1, 5]), rng.standard_normal(6), np.array([4, 0, 2])]


CASES = [
    Case("SparseLinear", lambda rng: nn.SparseLinear(7, 3, rng=rng), pairs(4), pairs(3, 4), torch=_sparse_torch),
    # per_example=False: a table input whose examples are not its leaves' rows; PyTorch reference in test_sparse.py
    Case("IndexLinear", lambda rng: nn.IndexLinear(6, 3, rng=rng), _keys_values, _flat_batch, per_example=False),
    Case("IndexLinear(keys_offset=-2)", lambda rng: nn.IndexLinear(6, 3, keys_offset=-2, rng=rng),
         lambda rng: [np.array([2, 7, 5]), rng.standard_normal(3)],
         lambda rng: [[np.array([2, 7]), np.array([3, 3, 4])], [rng.standard_normal(2), rng.standard_normal(3)]],
         per_example=False),
]


def _normalized(rng):
    """IndexLinear(normalize=True) after one training pass has set max_abs, then evaluated: in training
    the forward changes max_abs, so finite differences need the evaluation mode (clamping included)."""
    module = nn.IndexLinear(6, 3, normalize=True, rng=rng)
    module.shift[...] = rng.standard_normal(6)
    module.forward([np.arange(6), np.array([1.5, -1.0, 2.0, 0.8, -1.2, 1.1])])
    return module.evaluate()


CASES += [
    Case("IndexLinear(normalize=True)", _normalized, _keys_values, _flat_batch, per_example=False),
]
