"""Catalog cases for ember/nn/smooth.py."""

from ember import nn
from tests.nn.catalog import Case


def scaled(factor, *shape):
    return lambda rng: factor * rng.standard_normal(shape)


def F(torch):
    return torch.nn.functional


CASES = [
    Case("GELU", lambda rng: nn.GELU(), scaled(3, 7), scaled(3, 3, 7), torch=lambda torch, m, x, p: F(torch).gelu(x)),
    Case("GELU(tanh)", lambda rng: nn.GELU("tanh"), scaled(3, 7), scaled(3, 3, 7),
         torch=lambda torch, m, x, p: F(torch).gelu(x, approximate="tanh")),
    Case("SiLU", lambda rng: nn.SiLU(), scaled(4, 7), scaled(4, 3, 7), torch=lambda torch, m, x, p: F(torch).silu(x)),
    Case("Mish", lambda rng: nn.Mish(), scaled(4, 7), scaled(4, 3, 7), torch=lambda torch, m, x, p: F(torch).mish(x)),
    Case("SELU", lambda rng: nn.SELU(), scaled(2, 7), scaled(2, 3, 7), torch=lambda torch, m, x, p: F(torch).selu(x)),
    Case("CELU", lambda rng: nn.CELU(), scaled(2, 7), scaled(2, 3, 7),
         torch=lambda torch, m, x, p: F(torch).celu(x, m.alpha)),
    Case("CELU(0.5)", lambda rng: nn.CELU(0.5), scaled(2, 7), scaled(2, 3, 7),
         torch=lambda torch, m, x, p: F(torch).celu(x, m.alpha)),
]
