from ember import nn
from tests.nn.catalog import Case, normal


def axis(dim, n_input_dims=-1):
    """Torch's axis for ember's (dim, n_input_dims): a batch input shifts a non-negative dim by one."""
    return lambda x: dim + 1 if dim >= 0 and n_input_dims > 0 and x.dim() == n_input_dims + 1 else dim


def torch_reduce(op, dim, n_input_dims=-1, keepdim=False):
    """A PyTorch reference: ``op(x, axis)``, as at least 1-D (Torch 7 has no 0-d tensors)."""
    where = axis(dim, n_input_dims)

    def reference(torch, m, x, p):
        return torch.atleast_1d(op(torch, x, where(x), keepdim))

    return reference


def total(torch, x, d, keepdim):
    return torch.sum(x, d, keepdim=keepdim)


def mean(torch, x, d, keepdim):
    return torch.mean(x, d, keepdim=keepdim)


def maximum(torch, x, d, keepdim):
    return torch.max(x, d, keepdim=keepdim).values  # routes the gradient to one index, as Torch 7


def minimum(torch, x, d, keepdim):
    return torch.min(x, d, keepdim=keepdim).values


CASES = [
    Case("Sum(0)-1-D", lambda rng: nn.Sum(0), normal(5), None, torch=torch_reduce(total, 0)),
    Case("Sum(0, n_input_dims=1)", lambda rng: nn.Sum(0, 1), normal(5), normal(3, 5),
         torch=torch_reduce(total, 0, 1)),
    Case("Sum(1, n_input_dims=2)", lambda rng: nn.Sum(1, 2), normal(4, 5), normal(3, 4, 5),
         torch=torch_reduce(total, 1, 2)),
    Case("Sum(-1)", lambda rng: nn.Sum(-1), normal(4, 5), normal(3, 4, 5), torch=torch_reduce(total, -1)),
    Case("Sum(0)-3-D", lambda rng: nn.Sum(0), normal(2, 3, 4), None, torch=torch_reduce(total, 0)),
    Case("Sum(0, n_input_dims=2, size_average=True, squeeze=False)",
         lambda rng: nn.Sum(0, 2, size_average=True, squeeze=False), normal(4, 5), normal(3, 4, 5),
         torch=torch_reduce(mean, 0, 2, keepdim=True)),
    Case("Mean(0)-1-D", lambda rng: nn.Mean(0), normal(5), None, torch=torch_reduce(mean, 0)),
    Case("Mean(1, n_input_dims=2)", lambda rng: nn.Mean(1, 2), normal(3, 2), normal(4, 3, 2),
         torch=torch_reduce(mean, 1, 2)),
    Case("Mean(-2)", lambda rng: nn.Mean(-2), normal(3, 4), normal(2, 3, 4), torch=torch_reduce(mean, -2)),
    Case("Max(0)-1-D", lambda rng: nn.Max(0), normal(5), None, torch=torch_reduce(maximum, 0)),
    Case("Max(0, n_input_dims=2)", lambda rng: nn.Max(0, 2), normal(3, 2), normal(4, 3, 2),
         torch=torch_reduce(maximum, 0, 2)),
    Case("Max(-1)", lambda rng: nn.Max(-1), normal(6), normal(3, 6), torch=torch_reduce(maximum, -1)),
    Case("Max(1)-3-D", lambda rng: nn.Max(1), normal(2, 5, 3), None, torch=torch_reduce(maximum, 1)),
    Case("Min(0)-1-D", lambda rng: nn.Min(0), normal(5), None, torch=torch_reduce(minimum, 0)),
    Case("Min(1, n_input_dims=2)", lambda rng: nn.Min(1, 2), normal(4, 5), normal(3, 4, 5),
         torch=torch_reduce(minimum, 1, 2)),
    Case("Min(-1)", lambda rng: nn.Min(-1), normal(6), normal(3, 6), torch=torch_reduce(minimum, -1)),
]
