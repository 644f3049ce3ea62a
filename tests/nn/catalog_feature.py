"""Catalog cases for ember/nn/feature.py."""

from ember import nn
from tests.nn.catalog import Case, normal


def F(torch):
    return torch.nn.functional


def channels(x):
    return 1 if x.dim() == 4 else 0


CASES = [
    Case("GatedLinearUnit", lambda rng: nn.GatedLinearUnit(), normal(6), normal(3, 6),
         torch=lambda torch, m, x, p: F(torch).glu(x, -1)),
    Case("GatedLinearUnit(dim=-2)", lambda rng: nn.GatedLinearUnit(-2), normal(4, 3), normal(2, 4, 3),
         torch=lambda torch, m, x, p: F(torch).glu(x, -2)),
    Case("SpatialSoftMax", lambda rng: nn.SpatialSoftMax(), normal(3, 2, 2), normal(2, 3, 2, 2),
         torch=lambda torch, m, x, p: F(torch).softmax(x, dim=channels(x))),
    Case("SpatialLogSoftMax", lambda rng: nn.SpatialLogSoftMax(), normal(3, 2, 2), normal(2, 3, 2, 2),
         torch=lambda torch, m, x, p: F(torch).log_softmax(x, dim=channels(x))),
]
