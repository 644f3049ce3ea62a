from ember import nn
from tests.nn.catalog import Case, normal

CASES = [
    Case("Linear", lambda rng: nn.Linear(4, 3, rng=rng), normal(4), normal(5, 4),
         torch=lambda torch, m, x, p: torch.nn.functional.linear(x, p[0], p[1])),
    Case("Linear(bias=False)", lambda rng: nn.Linear(4, 3, bias=False, rng=rng), normal(4), normal(5, 4),
         torch=lambda torch, m, x, p: torch.nn.functional.linear(x, p[0])),
    Case("Identity", lambda rng: nn.Identity(), normal(4), normal(3, 4), torch=lambda torch, m, x, p: x * 1),
]
