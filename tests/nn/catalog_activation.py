from ember import nn
from tests.nn.catalog import Case, normal


def feature_dim(x):
    """Torch's feature dimension: 0 for a 1-D or 3-D input, 1 for a batched 2-D or 4-D input."""
    return 1 if x.dim() in (2, 4) else 0


def random_prelu(n_output_plane):
    """A PReLU with random slopes (not all 0.25), so that each channel's slope is checked."""

    def make(rng):
        module = nn.PReLU(n_output_plane)
        module.weight[...] = rng.uniform(0.05, 0.5, module.weight.shape)
        return module

    return make


def torch_prelu(torch, m, x, p):
    # torch's prelu takes the channels from dim 1 (a 1-D input has one channel); ember, as Lua
    # Torch, takes them from dim 0 of an unbatched (C,) or (C, H, W) input: give torch a batch of one.
    if x.dim() in (1, 3):
        return torch.nn.functional.prelu(x.unsqueeze(0), p[0]).squeeze(0)
    return torch.nn.functional.prelu(x, p[0])


def scaled(factor, *shape):
    """An input factory: standard normal times ``factor`` (reaches the saturated regions)."""
    return lambda rng: factor * rng.standard_normal(shape)


CASES = [
    Case("Sigmoid", lambda rng: nn.Sigmoid(), normal(5), normal(3, 5), torch=lambda torch, m, x, p: torch.sigmoid(x)),
    Case("Tanh", lambda rng: nn.Tanh(), normal(5), normal(3, 5), torch=lambda torch, m, x, p: torch.tanh(x)),
    Case("ReLU", lambda rng: nn.ReLU(), normal(5), normal(3, 5), torch=lambda torch, m, x, p: torch.relu(x)),
    Case("ReQU", lambda rng: nn.ReQU(), normal(5), normal(3, 5), torch=lambda torch, m, x, p: torch.relu(x) ** 2),
    Case("LeakyReLU", lambda rng: nn.LeakyReLU(), normal(5), normal(3, 5),
         torch=lambda torch, m, x, p: torch.nn.functional.leaky_relu(x, m.negval)),
    Case("LeakyReLU(0.3)", lambda rng: nn.LeakyReLU(0.3), normal(5), normal(2, 3, 4),
         torch=lambda torch, m, x, p: torch.nn.functional.leaky_relu(x, m.negval)),
    Case("ELU", lambda rng: nn.ELU(), normal(5), normal(3, 5),
         torch=lambda torch, m, x, p: torch.nn.functional.elu(x, m.alpha)),
    Case("ELU(alpha=0.5)", lambda rng: nn.ELU(0.5), scaled(3, 5), scaled(3, 3, 5),
         torch=lambda torch, m, x, p: torch.nn.functional.elu(x, m.alpha)),
    Case("PReLU(shared)", random_prelu(0), normal(5), normal(3, 2, 2, 2), torch=torch_prelu),
    Case("PReLU(3)-1-D/2-D", random_prelu(3), normal(3), normal(4, 3), torch=torch_prelu),
    Case("PReLU(3)-3-D/4-D", random_prelu(3), normal(3, 2, 2), normal(2, 3, 2, 2), torch=torch_prelu),
    Case("SoftPlus", lambda rng: nn.SoftPlus(), scaled(3, 5), scaled(3, 3, 5),
         torch=lambda torch, m, x, p: torch.nn.functional.softplus(x, m.beta, m.threshold)),
    Case("SoftPlus(beta=2, threshold=1)", lambda rng: nn.SoftPlus(beta=2, threshold=1), normal(6), normal(3, 6),
         torch=lambda torch, m, x, p: torch.nn.functional.softplus(x, m.beta, m.threshold)),
    Case("SoftSign", lambda rng: nn.SoftSign(), scaled(3, 5), scaled(3, 3, 5),
         torch=lambda torch, m, x, p: torch.nn.functional.softsign(x)),
    Case("HardTanh", lambda rng: nn.HardTanh(), scaled(2, 6), scaled(2, 3, 6),
         torch=lambda torch, m, x, p: torch.nn.functional.hardtanh(x)),
    Case("HardTanh(-0.5, 2)", lambda rng: nn.HardTanh(-0.5, 2), scaled(2, 6), scaled(2, 3, 6),
         torch=lambda torch, m, x, p: torch.nn.functional.hardtanh(x, m.min_value, m.max_value)),
    Case("Threshold", lambda rng: nn.Threshold(), normal(5), normal(3, 5),
         torch=lambda torch, m, x, p: torch.nn.functional.threshold(x, m.threshold, m.value)),
    Case("Threshold(0.1, -2)", lambda rng: nn.Threshold(0.1, -2), normal(5), normal(3, 5),
         torch=lambda torch, m, x, p: torch.nn.functional.threshold(x, m.threshold, m.value)),
    Case("LogSigmoid", lambda rng: nn.LogSigmoid(), scaled(5, 5), scaled(5, 3, 5),
         torch=lambda torch, m, x, p: torch.nn.functional.logsigmoid(x)),
    Case("SoftMax-1-D/2-D", lambda rng: nn.SoftMax(), scaled(3, 5), scaled(3, 4, 5),
         torch=lambda torch, m, x, p: torch.nn.functional.softmax(x, dim=feature_dim(x))),
    Case("SoftMax-3-D/4-D", lambda rng: nn.SoftMax(), normal(3, 2, 2), normal(2, 3, 2, 2),
         torch=lambda torch, m, x, p: torch.nn.functional.softmax(x, dim=feature_dim(x))),
    Case("LogSoftMax-1-D/2-D", lambda rng: nn.LogSoftMax(), scaled(3, 5), scaled(3, 4, 5),
         torch=lambda torch, m, x, p: torch.nn.functional.log_softmax(x, dim=feature_dim(x))),
    Case("LogSoftMax-3-D/4-D", lambda rng: nn.LogSoftMax(), normal(3, 2, 2), normal(2, 3, 2, 2),
         torch=lambda torch, m, x, p: torch.nn.functional.log_softmax(x, dim=feature_dim(x))),
    Case("SoftMin-1-D/2-D", lambda rng: nn.SoftMin(), scaled(3, 5), scaled(3, 4, 5),
         torch=lambda torch, m, x, p: torch.nn.functional.softmin(x, dim=feature_dim(x))),
    Case("SoftMin-3-D/4-D", lambda rng: nn.SoftMin(), normal(3, 2, 2), normal(2, 3, 2, 2),
         torch=lambda torch, m, x, p: torch.nn.functional.softmin(x, dim=feature_dim(x))),
]
