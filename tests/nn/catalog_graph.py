from ember import nn
from tests.nn.catalog import Case, normal, table


def _sum_of_two_paths(rng):
    """The issue's example: tanh(W1 x + b1) + (W2 x + b2), the input fanning out."""
    x = nn.Identity()()
    h1 = nn.Tanh()(nn.Linear(4, 5, rng=rng)(x))
    h2 = nn.Linear(4, 5, rng=rng)(x)
    return nn.gModule([x], [nn.CAddTable()([h1, h2])])


def _torch_sum_of_two_paths(torch, m, x, p):
    return torch.tanh(torch.nn.functional.linear(x, p[0], p[1])) + torch.nn.functional.linear(x, p[2], p[3])


def _two_in_two_out(rng):
    """Two inputs, two outputs; ``a`` fans out three ways (twice into one CMulTable), an output is reused."""
    a, b = nn.Identity()(), nn.Identity()()
    la = nn.Linear(3, 2, rng=rng)(a)
    s = nn.Sigmoid()(b)
    product = nn.CMulTable()([la, s])
    square = nn.CMulTable()([a, a])
    return nn.gModule([a, b], [nn.CAddTable()([product, s]), square])


def _torch_two_in_two_out(torch, m, x, p):
    a, b = x
    s = torch.sigmoid(b)
    return [torch.nn.functional.linear(a, p[0], p[1]) * s + s, a * a]


def _split_and_join(rng):
    """A table inside the graph: SplitTable's entries taken apart with ``split`` and joined again."""
    x = nn.Identity()()
    first, second = nn.SplitTable(0, 2)(x).split(2)
    return nn.gModule([x], [nn.JoinTable(0, 1)([nn.Tanh()(second), first, nn.Linear(3, 3, rng=rng)(first)])])


def _torch_split_and_join(torch, m, x, p):
    dim = 0 if x.dim() == 2 else 1
    first, second = torch.unbind(x, dim)[:2]
    return torch.cat([torch.tanh(second), first, torch.nn.functional.linear(first, p[0], p[1])], -1)


def _shared(rng):
    """The same Linear's parameters used at two nodes (``clone`` with sharing): gradients accumulate."""
    x = nn.Identity()()
    first = nn.Linear(3, 3, rng=rng)
    second = first.clone("weight", "bias", "gradWeight", "gradBias")
    return nn.gModule([x], [second(nn.Tanh()(first(x)))])


def _torch_shared(torch, m, x, p):
    layer = torch.nn.functional.linear
    return layer(torch.tanh(layer(x, p[0], p[1])), p[0], p[1])


def _nested(rng):
    """A gModule inside a Sequential inside a gModule."""
    inner_x = nn.Identity()()
    inner = nn.gModule([inner_x], [nn.Tanh()(nn.Linear(4, 3, rng=rng)(inner_x))])
    x = nn.Identity()()
    return nn.gModule([x], [nn.Sequential(inner, nn.Linear(3, 2, rng=rng))(x)])


def _torch_nested(torch, m, x, p):
    return torch.nn.functional.linear(torch.tanh(torch.nn.functional.linear(x, p[0], p[1])), p[2], p[3])


CASES = [
    Case("gModule(sum of two paths)", _sum_of_two_paths, normal(4), normal(3, 4), torch=_torch_sum_of_two_paths),
    Case("gModule(two in, two out)", _two_in_two_out, table(normal(3), normal(2)), table(normal(4, 3), normal(4, 2)),
         torch=_torch_two_in_two_out),
    Case("gModule(split and join)", _split_and_join, normal(2, 3), normal(4, 2, 3), torch=_torch_split_and_join),
    Case("gModule(shared Linear)", _shared, normal(3), normal(2, 3), torch=_torch_shared),
    Case("gModule(nested)", _nested, normal(4), normal(3, 4), torch=_torch_nested),
]
