from functools import reduce

from ember import nn
from tests.nn.catalog import Case, normal, positive, table


def pair(make_one):
    """A table of two arrays from one array factory."""
    return table(make_one, make_one)


def triple(make_one):
    return table(make_one, make_one, make_one)


def passed_through(arrays):
    """PyTorch reference for modules that hand the input's own arrays on: copies that keep the graph."""
    return [t * 1 for t in arrays]


def flat(torch_values):
    if isinstance(torch_values, list):
        return [leaf for item in torch_values for leaf in flat(item)]
    return [torch_values]


def per_row(fn):
    """A reference for a pair measure: Torch 7 gives (1,) for two vectors and (batch,) for two matrices."""
    return lambda torch, m, x, p: fn(torch, x[0], x[1]).reshape(-1)


def norm(order):
    return per_row(lambda torch, a, b: torch.linalg.vector_norm(a - b, ord=order, dim=-1))


def sparse_dense_linear(rng):
    """The seed's Linear over sparse and dense features: W_o x_o + W_d x_d + b, x_o given as indices."""
    return nn.Sequential(nn.ParallelTable(nn.LookupTable(5, 2, rng=rng), nn.Linear(3, 2, rng=rng)), nn.CAddTable())


def indices_and_dense(n):
    return lambda rng: [rng.integers(0, 5, size=n), rng.standard_normal((n, 3))]


CASES = [
    # JoinTable / SplitTable: batch cases use n_input_dims (or a negative dim) so that a batch is per example.
    Case("JoinTable(0)", lambda rng: nn.JoinTable(0), table(normal(2, 3), normal(1, 3)), None,
         torch=lambda torch, m, x, p: torch.cat(x, 0)),
    Case("JoinTable(0, n_input_dims=1)", lambda rng: nn.JoinTable(0, 1), table(normal(3), normal(2)),
         table(normal(4, 3), normal(4, 2)), torch=lambda torch, m, x, p: torch.cat(x, -1)),
    Case("JoinTable(1, n_input_dims=2)", lambda rng: nn.JoinTable(1, 2), table(normal(2, 3), normal(2, 1)),
         table(normal(4, 2, 3), normal(4, 2, 1)), torch=lambda torch, m, x, p: torch.cat(x, -1)),
    Case("JoinTable(-2)", lambda rng: nn.JoinTable(-2), table(normal(2, 3), normal(1, 3), normal(2, 3)),
         table(normal(4, 2, 3), normal(4, 1, 3), normal(4, 2, 3)), torch=lambda torch, m, x, p: torch.cat(x, -2)),
    Case("SplitTable(1)", lambda rng: nn.SplitTable(1), normal(2, 3), None,
         torch=lambda torch, m, x, p: list(torch.unbind(x, 1))),
    Case("SplitTable(0, n_input_dims=2)", lambda rng: nn.SplitTable(0, 2), normal(3, 4), normal(5, 3, 4),
         torch=lambda torch, m, x, p: list(torch.unbind(x, x.dim() - 2))),
    Case("SplitTable(-1)", lambda rng: nn.SplitTable(-1), normal(3, 4), normal(2, 3, 4),
         torch=lambda torch, m, x, p: list(torch.unbind(x, -1))),
    # Sub-tables.
    Case("NarrowTable(1, 2)", lambda rng: nn.NarrowTable(1, 2),
         table(normal(3), normal(3), normal(2), normal(4)),
         table(normal(5, 3), normal(5, 3), normal(5, 2), normal(5, 4)),
         torch=lambda torch, m, x, p: passed_through(x[1:3])),
    Case("NarrowTable(0)", lambda rng: nn.NarrowTable(0), table(normal(3), normal(2)),
         table(normal(5, 3), normal(5, 2)),
         torch=lambda torch, m, x, p: passed_through(x[:1])),
    Case("SelectTable(1)", lambda rng: nn.SelectTable(1), table(normal(3), normal(2), normal(4)),
         table(normal(5, 3), normal(5, 2), normal(5, 4)), torch=lambda torch, m, x, p: x[1] * 1),
    Case("SelectTable(-1)", lambda rng: nn.SelectTable(-1), table(normal(3), normal(2)),
         table(normal(5, 3), normal(5, 2)), torch=lambda torch, m, x, p: x[-1] * 1),
    Case("SelectTable(0)-nested", lambda rng: nn.SelectTable(0), table(table(normal(3), normal(2)), normal(4)),
         table(table(normal(5, 3), normal(5, 2)), normal(5, 4)), torch=lambda torch, m, x, p: passed_through(x[0])),
    Case("FlattenTable", lambda rng: nn.FlattenTable(),
         table(normal(2), table(normal(3), table(normal(1))), normal(2)),
         table(normal(4, 2), table(normal(4, 3), table(normal(4, 1))), normal(4, 2)),
         torch=lambda torch, m, x, p: passed_through(flat(x))),
    # Element-wise over a table.
    Case("CAddTable", lambda rng: nn.CAddTable(), triple(normal(3, 2)), triple(normal(4, 3, 2)),
         torch=lambda torch, m, x, p: x[0] + x[1] + x[2]),
    Case("CAddTable-one-entry", lambda rng: nn.CAddTable(), table(normal(3)), table(normal(4, 3)),
         torch=lambda torch, m, x, p: x[0] * 1),
    Case("CSubTable", lambda rng: nn.CSubTable(), pair(normal(3)), pair(normal(4, 3)),
         torch=lambda torch, m, x, p: x[0] - x[1]),
    Case("CMulTable", lambda rng: nn.CMulTable(), triple(normal(3)), triple(normal(4, 3)),
         torch=lambda torch, m, x, p: x[0] * x[1] * x[2]),
    Case("CDivTable", lambda rng: nn.CDivTable(), table(normal(3), positive(3)), table(normal(4, 3), positive(4, 3)),
         torch=lambda torch, m, x, p: x[0] / x[1]),
    Case("CMaxTable", lambda rng: nn.CMaxTable(), triple(normal(5)), triple(normal(4, 5)),
         torch=lambda torch, m, x, p: reduce(torch.maximum, x)),
    Case("CMinTable", lambda rng: nn.CMinTable(), triple(normal(5)), triple(normal(4, 5)),
         torch=lambda torch, m, x, p: reduce(torch.minimum, x)),
    # Pair measures: (n,) pairs give (1,), (batch, n) pairs give (batch,).
    Case("DotProduct", lambda rng: nn.DotProduct(), pair(normal(5)), pair(normal(4, 5)),
         torch=per_row(lambda torch, a, b: (a * b).sum(-1))),
    Case("CosineDistance", lambda rng: nn.CosineDistance(), pair(normal(5)), pair(normal(4, 5)),
         torch=per_row(lambda torch, a, b: torch.nn.functional.cosine_similarity(a, b, dim=-1))),
    Case("PairwiseDistance(2)", lambda rng: nn.PairwiseDistance(2), pair(normal(5)), pair(normal(4, 5)), torch=norm(2)),
    Case("PairwiseDistance(1)", lambda rng: nn.PairwiseDistance(1), pair(normal(5)), pair(normal(4, 5)), torch=norm(1)),
    Case("PairwiseDistance(3)", lambda rng: nn.PairwiseDistance(3), pair(normal(5)), pair(normal(4, 5)), torch=norm(3)),
    Case("PairwiseDistance(1.5)", lambda rng: nn.PairwiseDistance(1.5), pair(normal(5)), pair(normal(4, 5)),
         torch=norm(1.5)),
    # The seed's sparse + dense linear layer: ParallelTable(LookupTable, Linear) then CAddTable.
    # Its batch is n index rows with n dense rows, whose examples are (1,) and (1, 3): not per example.
    Case("Sequential(ParallelTable(LookupTable, Linear), CAddTable)", sparse_dense_linear,
         indices_and_dense(1), indices_and_dense(4), per_example=False, differentiable_input=False,
         torch=lambda torch, m, x, p: torch.nn.functional.embedding(x[0], p[0])
         + torch.nn.functional.linear(x[1], p[1], p[2])),
]
