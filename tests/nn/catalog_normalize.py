"""Catalog cases for normalize.py."""

import math

from ember import nn
from tests.nn.catalog import Case, normal


def torch_normalize(torch, m, x, p):
    if math.isinf(m.p):
        return x / (x.abs().max(-1, keepdim=True).values + m.eps)
    return x / (x.abs().pow(m.p).sum(-1, keepdim=True) + m.eps).pow(1 / m.p)


def torch_lrn(torch, m, x, p):
    batched = x if x.dim() == 4 else x.unsqueeze(0)
    out = torch.nn.functional.local_response_norm(batched, m.size, m.alpha, m.beta, m.k)
    return out if x.dim() == 4 else out.squeeze(0)


CASES = [
    Case("Normalize(2)", lambda rng: nn.Normalize(2), normal(4), normal(3, 4), torch=torch_normalize),
    Case("Normalize(1)", lambda rng: nn.Normalize(1), normal(4), normal(3, 4), torch=torch_normalize),
    Case("Normalize(3)", lambda rng: nn.Normalize(3), normal(4), normal(3, 4), torch=torch_normalize),
    Case("Normalize(inf)", lambda rng: nn.Normalize(math.inf), normal(4), normal(3, 4), torch=torch_normalize),
    Case("SpatialCrossMapLRN(3)", lambda rng: nn.SpatialCrossMapLRN(3, 0.5, 0.75, 2.0), normal(4, 2, 2),
         normal(2, 4, 2, 2), torch=torch_lrn),
    Case("SpatialCrossMapLRN(4)", lambda rng: nn.SpatialCrossMapLRN(4, 1.0, 0.5, 1.0), normal(5, 2, 1),
         normal(2, 5, 2, 1), torch=torch_lrn),
]
