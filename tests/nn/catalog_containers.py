from ember import nn
from tests.nn.catalog import Case, normal


def _mlp(rng):
    return nn.Sequential(nn.Linear(4, 3, rng=rng), nn.Sigmoid(), nn.Linear(3, 2, rng=rng))


def _torch_mlp(torch, m, x, p):
    hidden = torch.sigmoid(torch.nn.functional.linear(x, p[0], p[1]))
    return torch.nn.functional.linear(hidden, p[2], p[3])


CASES = [
    Case("Sequential", _mlp, normal(4), normal(5, 4), torch=_torch_mlp),
    Case("Concat(0)", lambda rng: nn.Concat(0, nn.Linear(4, 3, rng=rng), nn.Sigmoid()), normal(4)),
    Case("Concat(1)", lambda rng: nn.Concat(1, nn.Linear(4, 3, rng=rng), nn.Sigmoid()), normal(2, 4),
         torch=lambda torch, m, x, p: torch.cat([torch.nn.functional.linear(x, p[0], p[1]), torch.sigmoid(x)], 1)),
    Case("ConcatTable", lambda rng: nn.ConcatTable(nn.Linear(4, 3, rng=rng), nn.Sigmoid()), normal(4), normal(2, 4),
         torch=lambda torch, m, x, p: [torch.nn.functional.linear(x, p[0], p[1]), torch.sigmoid(x)]),
    Case("ParallelTable", lambda rng: nn.ParallelTable(nn.Linear(4, 3, rng=rng), nn.Sigmoid()),
         lambda rng: [rng.standard_normal(4), rng.standard_normal(2)],
         lambda rng: [rng.standard_normal((3, 4)), rng.standard_normal((3, 2))],
         torch=lambda torch, m, x, p: [torch.nn.functional.linear(x[0], p[0], p[1]), torch.sigmoid(x[1])]),
]
