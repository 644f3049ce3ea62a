"""Catalog cases for fractional max pooling (fractional.py), compared with PyTorch's fractional_max_pool2d/3d
given the module's own samples (``_random_samples``). The pooling regions are fixed (the Jacobians take many
forwards); the samples are per example, so a batch is not the examples' outputs stacked (``per_example=False``;
tests/nn/test_fractional.py checks batches with given samples)."""

import numpy as np

from ember import nn
from tests.nn.catalog import Case, normal


def fractional(dims):
    def call(torch, m, x, p):
        m.forward(x.detach().numpy())  # draws the samples the module will keep
        batched = x.dim() == dims + 2
        samples = torch.from_numpy(np.array(m.randomSamples, dtype=np.float64))
        pool = torch.nn.functional.fractional_max_pool2d if dims == 2 else torch.nn.functional.fractional_max_pool3d
        out = pool(x if batched else x.unsqueeze(0), m.pool, output_size=m.output.shape[-dims:],
                   _random_samples=samples)
        return out if batched else out.squeeze(0)
    return call


CASES = [
    Case("SpatialFractionalMaxPooling(2x2 to 3x4)",
         lambda rng: nn.SpatialFractionalMaxPooling(2, 2, 4, 3, fixed=True, rng=rng), normal(2, 5, 6),
         normal(2, 2, 5, 6), per_example=False, torch=fractional(2)),
    Case("SpatialFractionalMaxPooling(3x2, ratio 0.5)",
         lambda rng: nn.SpatialFractionalMaxPooling(3, 2, 0.5, 0.5, fixed=True, rng=rng), normal(2, 7, 8),
         normal(2, 2, 7, 8), per_example=False, torch=fractional(2)),
    Case("VolumetricFractionalMaxPooling(2x2x2 to 2x3x2)",
         lambda rng: nn.VolumetricFractionalMaxPooling(2, 2, 2, 2, 2, 3, fixed=True, rng=rng), normal(2, 4, 5, 4),
         normal(2, 2, 4, 5, 4), per_example=False, torch=fractional(3)),
]
