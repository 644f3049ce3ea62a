import numpy as np

from ember import nn
from tests.nn.catalog import Case, normal

CASES = [
    Case("Linear", lambda rng: nn.Linear(4, 3, rng=rng), normal(4), normal(5, 4),
         torch=lambda torch, m, x, p: torch.nn.functional.linear(x, p[0], p[1])),
    Case("Linear(bias=False)", lambda rng: nn.Linear(4, 3, bias=False, rng=rng), normal(4), normal(5, 4),
         torch=lambda torch, m, x, p: torch.nn.functional.linear(x, p[0])),
    Case("Identity", lambda rng: nn.Identity(), normal(4), normal(3, 4), torch=lambda torch, m, x, p: x * 1),
]


def indices(*rows):
    """An input factory: a fixed integer index array (repeats included, to test accumulation)."""
    return lambda rng: np.array(rows if len(rows) > 1 else rows[0], dtype=np.int64)


CASES += [
    Case("CMul(5)", lambda rng: nn.CMul(5, rng=rng), normal(5), normal(3, 5),
         torch=lambda torch, m, x, p: x * p[0]),
    Case("CMul((2, 3))", lambda rng: nn.CMul((2, 3), rng=rng), normal(2, 3), normal(4, 2, 3),
         torch=lambda torch, m, x, p: x * p[0]),
    Case("CMul((1, 3))-broadcast", lambda rng: nn.CMul((1, 3), rng=rng), normal(4, 3), normal(2, 4, 3),
         torch=lambda torch, m, x, p: x * p[0]),
    # Torch's other two cases: as many elements as w (any shape), and a batch of examples with w's element count
    Case("CMul((1, 3, 4, 1))-same-elements", lambda rng: nn.CMul((1, 3, 4, 1), rng=rng), normal(3, 4),
         normal(5, 3, 4), torch=lambda torch, m, x, p: (x.reshape(-1, p[0].numel()) * p[0].reshape(1, -1))
         .reshape(x.shape)),
    Case("CAdd(5)", lambda rng: nn.CAdd(5, rng=rng), normal(5), normal(3, 5),
         torch=lambda torch, m, x, p: x + p[0]),
    Case("CAdd((2, 3))", lambda rng: nn.CAdd((2, 3), rng=rng), normal(2, 3), normal(4, 2, 3),
         torch=lambda torch, m, x, p: x + p[0]),
    Case("CAdd((2, 1))-broadcast", lambda rng: nn.CAdd((2, 1), rng=rng), normal(2, 3), normal(4, 2, 3),
         torch=lambda torch, m, x, p: x + p[0]),
    Case("Add(5)", lambda rng: nn.Add(5, rng=rng), normal(5), normal(3, 5),
         torch=lambda torch, m, x, p: x + p[0]),
    Case("Add(5, scalar=True)", lambda rng: nn.Add(5, scalar=True, rng=rng), normal(5), normal(3, 5),
         torch=lambda torch, m, x, p: x + p[0]),
    Case("Mul", lambda rng: nn.Mul(rng=rng), normal(5), normal(3, 2, 5),
         torch=lambda torch, m, x, p: x * p[0]),
    Case("LookupTable(5, 3)", lambda rng: nn.LookupTable(5, 3, rng=rng), indices([0, 1, 4, 1]),
         indices([0, 2], [3, 4], [1, 2]),
         torch=lambda torch, m, x, p: torch.nn.functional.embedding(x, p[0]), differentiable_input=False),
]
