"""Catalog cases for zip.py (tables of tables; the target of CriterionTable is an integer label, so only the
input Jacobian of its first entry is checked: its integer entry is skipped by the checker)."""

import numpy as np

from ember import nn
from tests.nn.catalog import Case


def arrays(*shapes):
    return lambda rng: [rng.standard_normal(shape) for shape in shapes]


def mixture_torch(dim):
    def call(torch, m, x, p):
        gater, experts = x
        if isinstance(experts, list):
            return sum((gater[..., k].reshape(-1, *[1] * (e.dim() - 1)) if gater.dim() == 2 else gater[k]) * e
                       for k, e in enumerate(experts))
        axis = dim + gater.dim() - 1
        shape = [1] * experts.dim()
        if gater.dim() == 2:
            shape[0] = gater.shape[0]
        shape[axis] = gater.shape[-1]
        return (gater.reshape(shape) * experts).sum(axis)
    return call


CASES = [
    Case("ZipTable", lambda rng: nn.ZipTable(), lambda rng: [arrays(3, 2)(rng), arrays(4, 1)(rng)],
         torch=lambda torch, m, x, p: [[x[0][0], x[1][0]], [x[0][1], x[1][1]]]),
    Case("ZipTableOneToMany", lambda rng: nn.ZipTableOneToMany(),
         lambda rng: [rng.standard_normal(3), arrays(2, 4)(rng)],
         torch=lambda torch, m, x, p: [[x[0], x[1][0]], [x[0], x[1][1]]]),
    Case("CAddTensorTable", lambda rng: nn.CAddTensorTable(), lambda rng: [rng.standard_normal(3), arrays(3, 3)(rng)],
         torch=lambda torch, m, x, p: [x[0] + x[1][0], x[0] + x[1][1]]),
    Case("MixtureTable(table of experts)", lambda rng: nn.MixtureTable(),
         lambda rng: [rng.uniform(0, 1, 3), arrays(2, 2, 2)(rng)],
         lambda rng: [rng.uniform(0, 1, (4, 3)), arrays((4, 2), (4, 2), (4, 2))(rng)], torch=mixture_torch(0)),
    Case("MixtureTable(array of experts)", lambda rng: nn.MixtureTable(),
         lambda rng: [rng.uniform(0, 1, 3), rng.standard_normal((3, 2))],
         lambda rng: [rng.uniform(0, 1, (4, 3)), rng.standard_normal((4, 3, 2))], torch=mixture_torch(0)),
    Case("MixtureTable(dim=1)", lambda rng: nn.MixtureTable(1),
         lambda rng: [rng.uniform(0, 1, 2), rng.standard_normal((3, 2))],
         lambda rng: [rng.uniform(0, 1, (4, 2)), rng.standard_normal((4, 3, 2))], torch=mixture_torch(1)),
    Case("CriterionTable(ClassNLL)", lambda rng: nn.CriterionTable(nn.ClassNLLCriterion()),
         lambda rng: [rng.standard_normal(4), np.array(rng.integers(4))],
         lambda rng: [rng.standard_normal((3, 4)), rng.integers(4, size=3)], per_example=False,
         torch=lambda torch, m, x, p: torch.nn.functional.nll_loss(x[0], x[1])),
]
