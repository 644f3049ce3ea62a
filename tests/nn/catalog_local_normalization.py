"""Catalog cases for local_normalization.py, with references built from torch's conv2d (zero padding)."""

import numpy as np

from ember import nn
from tests.nn.catalog import Case, normal


def _local_sum(torch, m, maps):
    """S(z): the planes summed, then correlated with K/(ΣK n); ``maps`` is (batch, n, H, W)."""
    kernel = np.outer(m.kernel, m.kernel) if m.kernel.ndim == 1 else m.kernel
    weights = torch.from_numpy(kernel / (kernel.sum() * m.n_input_plane))[None, None]
    padding = (kernel.shape[0] // 2, kernel.shape[1] // 2)
    return torch.nn.functional.conv2d(maps.sum(dim=1, keepdim=True), weights.to(maps.dtype), padding=padding)


def _batched(reference):
    def run(torch, m, x, p):
        single = x.dim() == 3
        xb = x[None] if single else x
        edge = _local_sum(torch, m, torch.ones_like(xb[:1]))
        y = reference(torch, m, xb, edge)
        return y[0] if single else y
    return run


def _subtract(torch, m, x, edge):
    return x - _local_sum(torch, m, x) / edge


def _divide(torch, m, x, edge):
    deviation = _local_sum(torch, m, x.square()).sqrt() / edge
    kept = deviation > m.threshold
    return x / torch.where(kept, deviation, torch.full_like(deviation, m.thresval))


def _contrast(torch, m, x, edge):
    return _divide(torch, m.divisive, _subtract(torch, m.subtractive, x, edge), edge)


def _fading(*shape):
    """Normal values fading to the left, so that the threshold replaces some deviations but not all."""
    return lambda rng: rng.standard_normal(shape) * np.linspace(0.05, 1.0, shape[-1])


CASES = [
    Case("SpatialSubtractiveNormalization", lambda rng: nn.SpatialSubtractiveNormalization(2, np.ones((3, 3))),
         normal(2, 5, 6), normal(2, 2, 5, 6), torch=_batched(_subtract)),
    Case("SpatialSubtractiveNormalization(1-D kernel)",
         lambda rng: nn.SpatialSubtractiveNormalization(3, [0.5, 1.0, 0.5]),
         normal(3, 4, 5), normal(2, 3, 4, 5), torch=_batched(_subtract)),
    Case("SpatialDivisiveNormalization", lambda rng: nn.SpatialDivisiveNormalization(2, [[1, 2, 1], [2, 4, 2.0],
                                                                                          [1, 2, 1]]),
         normal(2, 5, 6), normal(2, 2, 5, 6), torch=_batched(_divide)),
    Case("SpatialDivisiveNormalization(1-D kernel, threshold)",
         lambda rng: nn.SpatialDivisiveNormalization(1, np.ones(5), threshold=0.3, thresval=0.25),
         _fading(1, 6, 6), _fading(2, 1, 6, 6), torch=_batched(_divide)),
    Case("SpatialContrastiveNormalization", lambda rng: nn.SpatialContrastiveNormalization(2),
         normal(2, 5, 5), normal(2, 2, 5, 5), torch=_batched(_contrast)),
]
