"""Catalog cases for Parallel, DepthConcat, MapTable and Bottle (containers.py)."""

from ember import nn
from tests.nn.catalog import Case, normal


def F(torch):
    return torch.nn.functional


def depth_concat(torch, m, x, p):
    pooled = F(torch).max_pool2d(x, 2, 1)
    pooled = F(torch).pad(pooled, (0, 1, 0, 1))  # a 3x4 window centred in 4x5: offset 0 ((4 - 3) // 2)
    return torch.cat([pooled, x], 0)


CASES = [
    Case("Parallel(0, 0)", lambda rng: nn.Parallel(0, 0, nn.Linear(3, 2, rng=rng), nn.Tanh()), normal(2, 3),
         torch=lambda torch, m, x, p: torch.cat([F(torch).linear(x[0], p[0], p[1]), torch.tanh(x[1])], 0)),
    Case("Parallel(1, 0)", lambda rng: nn.Parallel(1, 0, nn.Linear(2, 3, rng=rng), nn.Linear(2, 1, rng=rng)),
         normal(2, 2), torch=lambda torch, m, x, p: torch.cat([F(torch).linear(x[:, 0], p[0], p[1]),
                                                               F(torch).linear(x[:, 1], p[2], p[3])], 0)),
    Case("DepthConcat(0)", lambda rng: nn.DepthConcat(0, nn.SpatialMaxPooling(2, 2, 1, 1), nn.Identity()),
         normal(2, 4, 5), torch=depth_concat),
    Case("MapTable(Linear)", lambda rng: nn.MapTable(nn.Linear(3, 2, rng=rng)),
         lambda rng: [rng.standard_normal(3), rng.standard_normal(3), rng.standard_normal(3)],
         lambda rng: [rng.standard_normal((4, 3)), rng.standard_normal((4, 3))],
         torch=lambda torch, m, x, p: [F(torch).linear(xi, p[0], p[1]) for xi in x]),
    Case("Bottle(Linear)", lambda rng: nn.Bottle(nn.Linear(3, 2, rng=rng)), normal(2, 4, 3),
         torch=lambda torch, m, x, p: F(torch).linear(x, p[0], p[1])),
    Case("Bottle(Tanh, 3)", lambda rng: nn.Bottle(nn.Tanh(), 3), normal(2, 2, 3, 2),
         torch=lambda torch, m, x, p: torch.tanh(x)),
]
