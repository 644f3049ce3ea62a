import numpy as np

from ember import nn
from tests.nn.catalog import Case, normal


def batched(x, n_input_dims):
    """1 when ``x`` (a torch tensor) has a leading batch dimension beyond ``n_input_dims``, else 0."""
    return 1 if x.dim() > n_input_dims else 0


def replicate(n, dim, n_dim):
    def reference(torch, m, x, p):
        where = dim + batched(x, n_dim)
        shape = list(x.shape)
        shape.insert(where, n)
        return x.unsqueeze(where).expand(*shape)

    return reference


CASES = [
    Case("View(2, 3)", lambda rng: nn.View(2, 3), normal(6), normal(4, 6),
         torch=lambda torch, m, x, p: x.reshape((-1, 2, 3) if x.numel() > 6 else (2, 3))),
    Case("View(3, -1)", lambda rng: nn.View(3, -1), normal(2, 6), None,
         torch=lambda torch, m, x, p: x.reshape(3, -1)),
    Case("View(-1, n_input_dims=2)", lambda rng: nn.View(-1, n_input_dims=2), normal(2, 3), normal(4, 2, 3),
         torch=lambda torch, m, x, p: x.flatten(-2)),
    Case("Reshape(2, 3)", lambda rng: nn.Reshape(2, 3), normal(6), normal(4, 6),
         torch=lambda torch, m, x, p: x.reshape((-1, 2, 3) if x.numel() > 6 else (2, 3))),
    Case("Reshape(6, batch_mode=False)", lambda rng: nn.Reshape(6, batch_mode=False), normal(2, 3), None,
         torch=lambda torch, m, x, p: x.reshape(6)),
    Case("Transpose((0, 1))", lambda rng: nn.Transpose((0, 1)), normal(2, 3), None,
         torch=lambda torch, m, x, p: x.transpose(0, 1)),
    Case("Transpose((0, 1), n_input_dims=2)", lambda rng: nn.Transpose((0, 1), n_input_dims=2), normal(2, 3),
         normal(4, 2, 3), torch=lambda torch, m, x, p: x.transpose(-2, -1)),
    Case("Transpose((0, 1), (1, 2))", lambda rng: nn.Transpose((0, 1), (1, 2)), normal(2, 3, 4), None,
         torch=lambda torch, m, x, p: x.transpose(0, 1).transpose(1, 2)),
    Case("Squeeze()", lambda rng: nn.Squeeze(), normal(1, 3, 1), None,
         torch=lambda torch, m, x, p: x.squeeze()),
    Case("Squeeze(n_input_dims=3)", lambda rng: nn.Squeeze(n_input_dims=3), normal(1, 3, 1), normal(2, 1, 3, 1),
         torch=lambda torch, m, x, p: x.squeeze()),
    Case("Squeeze(1, n_input_dims=2)", lambda rng: nn.Squeeze(1, n_input_dims=2), normal(3, 1), normal(4, 3, 1),
         torch=lambda torch, m, x, p: x.squeeze(-1)),
    Case("Unsqueeze(0, n_input_dims=1)", lambda rng: nn.Unsqueeze(0, n_input_dims=1), normal(5), normal(3, 5),
         torch=lambda torch, m, x, p: x.unsqueeze(batched(x, 1))),
    Case("Unsqueeze(-1)", lambda rng: nn.Unsqueeze(-1), normal(5), normal(3, 5),
         torch=lambda torch, m, x, p: x.unsqueeze(-1)),
    Case("Replicate(3)", lambda rng: nn.Replicate(3), normal(4), None, torch=replicate(3, 0, np.inf)),
    Case("Replicate(3, n_dim=1)", lambda rng: nn.Replicate(3, n_dim=1), normal(4), normal(2, 4),
         torch=replicate(3, 0, 1)),
    Case("Replicate(2, dim=1, n_dim=2)", lambda rng: nn.Replicate(2, 1, 2), normal(3, 4), normal(2, 3, 4),
         torch=replicate(2, 1, 2)),
    Case("Narrow(0, 1, 2)", lambda rng: nn.Narrow(0, 1, 2), normal(5, 2), None,
         torch=lambda torch, m, x, p: x.narrow(0, 1, 2)),
    Case("Narrow(-1, 1, -2)", lambda rng: nn.Narrow(-1, 1, -2), normal(5), normal(3, 5),
         torch=lambda torch, m, x, p: x.narrow(-1, 1, 3)),
    Case("Narrow(-1, -2, 2)", lambda rng: nn.Narrow(-1, -2, 2), normal(5), normal(3, 5),
         torch=lambda torch, m, x, p: x.narrow(-1, 3, 2)),
    Case("Select(0, 2)", lambda rng: nn.Select(0, 2), normal(4, 3), None,
         torch=lambda torch, m, x, p: x.select(0, 2)),
    Case("Select(-1, 1)", lambda rng: nn.Select(-1, 1), normal(4, 3), normal(2, 4, 3),
         torch=lambda torch, m, x, p: x.select(-1, 1)),
    Case("Select(1, -1)", lambda rng: nn.Select(1, -1), normal(3, 4), None,
         torch=lambda torch, m, x, p: x.select(1, -1)),
]
