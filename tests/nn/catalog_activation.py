from ember import nn
from tests.nn.catalog import Case, normal

CASES = [
    Case("Sigmoid", lambda rng: nn.Sigmoid(), normal(5), normal(3, 5), torch=lambda torch, m, x, p: torch.sigmoid(x)),
]
