"""Catalog cases for the template layers (distance.py) and Bilinear (bilinear.py)."""

from ember import nn
from tests.nn.catalog import Case, normal, table


def _cosine(torch, m, x, p):
    x_norm = x.norm(dim=-1, keepdim=True) + 1e-12
    return (x @ p[0].T) / (x_norm * (p[0].norm(dim=1) + 1e-12))


def _euclidean(torch, m, x, p):  # templates are the columns of W (n_in, n_out)
    return (x[..., :, None] - p[0]).square().sum(dim=-2).sqrt()


def _weighted_euclidean(torch, m, x, p):
    return ((x[..., :, None] - p[0]) * p[1]).square().sum(dim=-2).sqrt()


def _weighted(rng):
    module = nn.WeightedEuclidean(4, 3, rng=rng)
    module.diagCov[...] = rng.uniform(0.5, 2.0, module.diagCov.shape)  # not all ones: test the scaling
    return module


CASES = [
    Case("Cosine", lambda rng: nn.Cosine(4, 3, rng=rng), normal(4), normal(5, 4), torch=_cosine),
    Case("Euclidean", lambda rng: nn.Euclidean(4, 3, rng=rng), normal(4), normal(5, 4), torch=_euclidean),
    Case("WeightedEuclidean", _weighted, normal(4), normal(5, 4), torch=_weighted_euclidean),
    Case("Bilinear", lambda rng: nn.Bilinear(3, 2, 4, rng=rng), table(normal(3), normal(2)),
         table(normal(5, 3), normal(5, 2)),
         torch=lambda torch, m, x, p: torch.nn.functional.bilinear(x[0], x[1], p[0], p[1])),
    Case("Bilinear(bias=False)", lambda rng: nn.Bilinear(3, 2, 4, bias=False, rng=rng),
         table(normal(3), normal(2)), table(normal(5, 3), normal(5, 2)),
         torch=lambda torch, m, x, p: torch.nn.functional.bilinear(x[0], x[1], p[0])),
]

