"""Catalog cases for decorators.py, noise.py, indexing.py and products.py.

L1Penalty, GradientReversal and ZeroGrad are not registered: by design their backward is not the Jacobian
of their output (a loss term's gradient added; the gradient reversed; zeroed), so the finite-difference
checks do not apply; tests/nn/test_decorators.py checks them against PyTorch autograd. WhiteNoise in
training keeps its first draw (resample=False)."""

from ember import nn
from tests.nn.catalog import Case, normal


def F(torch):
    return torch.nn.functional


def linear(torch, x, p):
    return F(torch).linear(x, p[0], p[1])


def index_input(shape, count, size):
    return lambda rng: [rng.standard_normal(shape), rng.integers(size, size=count)]


CASES = [
    Case("Decorator(Linear)", lambda rng: nn.Decorator(nn.Linear(3, 2, rng=rng)), normal(3), normal(4, 3),
         torch=lambda torch, m, x, p: linear(torch, x, p)),
    Case("NaN(Linear)", lambda rng: nn.NaN(nn.Linear(3, 2, rng=rng)), normal(3), normal(4, 3),
         torch=lambda torch, m, x, p: linear(torch, x, p)),
    Case("Profile(Sequential)", lambda rng: nn.Profile(nn.Sequential(nn.Linear(3, 2, rng=rng), nn.Tanh()), 0),
         normal(3), normal(4, 3), torch=lambda torch, m, x, p: torch.tanh(linear(torch, x, p))),
    Case("Collapse(2)", lambda rng: nn.Collapse(2), normal(2, 3), normal(4, 2, 3),
         torch=lambda torch, m, x, p: x.reshape(-1) if x.dim() == 2 else x.reshape(x.shape[0], -1)),
    Case("WhiteNoise(evaluate)", lambda rng: nn.WhiteNoise(rng=rng).evaluate(), normal(4), normal(3, 4),
         torch=lambda torch, m, x, p: x),
    Case("WhiteNoise(fixed noise)", lambda rng: nn.WhiteNoise(0.1, 0.5, rng=rng, resample=False), normal(4),
         normal(3, 4), per_example=False),
    Case("Index(0)", lambda rng: nn.Index(0), index_input((4, 2), 5, 4),
         torch=lambda torch, m, x, p: torch.index_select(x[0], 0, x[1])),
    Case("Index(1)", lambda rng: nn.Index(1), index_input((2, 3, 2), 4, 3),
         torch=lambda torch, m, x, p: torch.index_select(x[0], 1, x[1])),
    Case("MaskedSelect", lambda rng: nn.MaskedSelect(),
         lambda rng: [rng.standard_normal((3, 4)), rng.random((3, 4)) > 0.4],
         torch=lambda torch, m, x, p: torch.masked_select(x[0], x[1])),
    Case("PixelShuffle(2)", lambda rng: nn.PixelShuffle(2), normal(8, 2, 3), normal(2, 4, 2, 2),
         torch=lambda torch, m, x, p: F(torch).pixel_shuffle(x, 2)),
    Case("Constant", lambda rng: nn.Constant([1.0, 2.0], 1), normal(3), normal(2, 3),
         torch=lambda torch, m, x, p: torch.tensor([1.0, 2.0], requires_grad=True).expand(*x.shape[:-1], 2)),
    Case("MM", lambda rng: nn.MM(), lambda rng: [rng.standard_normal((2, 3)), rng.standard_normal((3, 4))],
         lambda rng: [rng.standard_normal((2, 2, 3)), rng.standard_normal((2, 3, 4))],
         torch=lambda torch, m, x, p: x[0] @ x[1]),
    Case("MM(trans_a, trans_b)", lambda rng: nn.MM(True, True),
         lambda rng: [rng.standard_normal((3, 2)), rng.standard_normal((4, 3))],
         lambda rng: [rng.standard_normal((2, 3, 2)), rng.standard_normal((2, 4, 3))],
         torch=lambda torch, m, x, p: x[0].transpose(-1, -2) @ x[1].transpose(-1, -2)),
    Case("MV", lambda rng: nn.MV(), lambda rng: [rng.standard_normal((2, 3)), rng.standard_normal(3)],
         lambda rng: [rng.standard_normal((2, 2, 3)), rng.standard_normal((2, 3))],
         torch=lambda torch, m, x, p: (x[0] @ x[1][..., None])[..., 0]),
    Case("MV(trans)", lambda rng: nn.MV(True), lambda rng: [rng.standard_normal((3, 2)), rng.standard_normal(3)],
         lambda rng: [rng.standard_normal((2, 3, 2)), rng.standard_normal((2, 3))],
         torch=lambda torch, m, x, p: (x[0].transpose(-1, -2) @ x[1][..., None])[..., 0]),
]
