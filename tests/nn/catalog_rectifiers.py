"""Catalog cases for ember/nn/rectifiers.py (RReLU in training mode keeps its first slopes: resample=False)."""

from ember import nn
from tests.nn.catalog import Case, normal


def scaled(factor, *shape):
    return lambda rng: factor * rng.standard_normal(shape)


def F(torch):
    return torch.nn.functional


def torch_crelu(torch, m, x, p):
    dim = x.dim() - m.n_input_dims
    return torch.cat([torch.relu(x), torch.relu(-x)], dim=dim)


def rrelu_eval(torch, m, x, p):
    return F(torch).rrelu(x, m.lower, m.upper, training=False)


CASES = [
    Case("ReLU6", lambda rng: nn.ReLU6(), scaled(5, 7), scaled(5, 3, 7),
         torch=lambda torch, m, x, p: F(torch).relu6(x)),
    Case("HardShrink", lambda rng: nn.HardShrink(), normal(7), normal(3, 7),
         torch=lambda torch, m, x, p: F(torch).hardshrink(x, m.lambd)),
    Case("HardShrink(0.2)", lambda rng: nn.HardShrink(0.2), normal(2, 3), normal(2, 2, 3),
         torch=lambda torch, m, x, p: F(torch).hardshrink(x, m.lambd)),
    Case("SoftShrink", lambda rng: nn.SoftShrink(), normal(7), normal(3, 7),
         torch=lambda torch, m, x, p: F(torch).softshrink(x, m.lambd)),
    Case("SoftShrink(1.1)", lambda rng: nn.SoftShrink(1.1), scaled(2, 6), scaled(2, 3, 6),
         torch=lambda torch, m, x, p: F(torch).softshrink(x, m.lambd)),
    Case("TanhShrink", lambda rng: nn.TanhShrink(), scaled(2, 6), scaled(2, 3, 6),
         torch=lambda torch, m, x, p: F(torch).tanhshrink(x)),
    Case("RReLU(evaluate)", lambda rng: nn.RReLU(rng=rng).evaluate(), normal(6), normal(3, 6), torch=rrelu_eval),
    Case("RReLU(0.1, 0.3, evaluate)", lambda rng: nn.RReLU(0.1, 0.3, rng=rng).evaluate(), normal(6), normal(3, 6),
         torch=rrelu_eval),
    Case("RReLU(fixed slopes)", lambda rng: nn.RReLU(rng=rng, resample=False), normal(6), normal(3, 6),
         per_example=False),
    Case("CReLU", lambda rng: nn.CReLU(), normal(4), normal(3, 4), torch=torch_crelu),
    Case("CReLU(n_input_dims=3)", lambda rng: nn.CReLU(3), normal(2, 2, 3), normal(2, 2, 2, 3), torch=torch_crelu),
]
