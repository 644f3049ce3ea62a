"""Catalog cases for PartialLinear and Maxout (linear_parts.py), LinearWeightNorm and WeightNorm
(weightnorm.py), and LayerNormalization (layernorm.py)."""

from ember import nn
from tests.nn.catalog import Case, normal


def _partial(rng):
    return nn.PartialLinear(4, 6, rng=rng).setPartition([4, 1, 3])


def _maxout_torch(torch, m, x, p):
    z = torch.nn.functional.linear(x, p[0], p[1])
    return z.reshape(*x.shape[:-1], m.n_pieces, m.n_out).amax(dim=-2)


def _weight_norm(torch, v, g, eps, dim=0):
    axes = [i for i in range(v.dim()) if i != dim]
    shape = [-1 if i == dim else 1 for i in range(v.dim())]
    return v * (g.reshape(shape) / (v.square().sum(dim=axes, keepdim=True) + eps).sqrt())


def _layer_norm(rng):
    module = nn.LayerNormalization(5)
    module.reset(rng, stdv=1.0)  # weight and bias away from 1 and 0
    return module


CASES = [
    Case("PartialLinear", _partial, normal(4), normal(5, 4),
         torch=lambda torch, m, x, p: torch.nn.functional.linear(x, p[0][[4, 1, 3]], p[1][[4, 1, 3]])),
    Case("PartialLinear(full)", lambda rng: nn.PartialLinear(4, 3, bias=False, rng=rng), normal(4), normal(5, 4),
         torch=lambda torch, m, x, p: torch.nn.functional.linear(x, p[0])),
    Case("Maxout", lambda rng: nn.Maxout(4, 3, 2, rng=rng), normal(4), normal(5, 4), torch=_maxout_torch),
    Case("Maxout(preprocess=Tanh)", lambda rng: nn.Maxout(4, 3, 3, nn.Tanh(), rng=rng), normal(4), normal(5, 4),
         torch=lambda torch, m, x, p: torch.nn.functional.linear(x, p[0], p[1])
         .reshape(*x.shape[:-1], 3, 3).tanh().amax(dim=-2)),
    Case("LinearWeightNorm", lambda rng: nn.LinearWeightNorm(4, 3, rng=rng), normal(4), normal(5, 4),
         torch=lambda torch, m, x, p: torch.nn.functional.linear(x, torch._weight_norm(p[0], p[1], 0), p[2])),
    Case("WeightNorm(Linear)", lambda rng: nn.WeightNorm(nn.Linear(4, 3), rng=rng), normal(4), normal(5, 4),
         torch=lambda torch, m, x, p: torch.nn.functional.linear(x, _weight_norm(torch, p[0], p[1], 1e-4), p[2])),
    Case("WeightNorm(Linear, output_dim=1, eps=0)",
         lambda rng: nn.WeightNorm(nn.Linear(4, 3, bias=False), output_dim=1, eps=0.0, rng=rng),
         normal(4), normal(5, 4),
         torch=lambda torch, m, x, p: torch.nn.functional.linear(x, torch._weight_norm(p[0], p[1], 1))),
    Case("WeightNorm(SpatialConvolution)",
         lambda rng: nn.WeightNorm(nn.SpatialConvolution(2, 3, 3, 3), eps=0.0, rng=rng),
         normal(2, 5, 5), normal(2, 2, 5, 5),
         torch=lambda torch, m, x, p: torch.nn.functional.conv2d(x, torch._weight_norm(p[0], p[1], 0), p[2])),
    Case("LayerNormalization", _layer_norm, normal(5), normal(4, 5),
         torch=lambda torch, m, x, p: torch.nn.functional.layer_norm(x, (5,), p[0], p[1], eps=1e-10 / 5)),
    Case("LayerNormalization(affine=False, eps=0.1)", lambda rng: nn.LayerNormalization(5, eps=0.1, affine=False),
         normal(5), normal(2, 3, 5),
         torch=lambda torch, m, x, p: torch.nn.functional.layer_norm(x, (5,), eps=0.1 / 5)),
]
