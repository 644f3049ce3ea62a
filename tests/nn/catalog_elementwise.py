from ember import nn
from tests.nn.catalog import Case, normal, positive

CASES = [
    Case("Abs", lambda rng: nn.Abs(), normal(5), normal(3, 5), torch=lambda torch, m, x, p: torch.abs(x)),
    Case("Exp", lambda rng: nn.Exp(), normal(5), normal(2, 3, 4), torch=lambda torch, m, x, p: torch.exp(x)),
    Case("Log", lambda rng: nn.Log(), positive(5), positive(3, 5), torch=lambda torch, m, x, p: torch.log(x)),
    Case("Sqrt", lambda rng: nn.Sqrt(), positive(5), positive(3, 5), torch=lambda torch, m, x, p: torch.sqrt(x)),
    Case("Square", lambda rng: nn.Square(), normal(5), normal(3, 5), torch=lambda torch, m, x, p: torch.square(x)),
    Case("Power(3)", lambda rng: nn.Power(3), normal(5), normal(3, 5), torch=lambda torch, m, x, p: torch.pow(x, m.p)),
    Case("Power(0.5)", lambda rng: nn.Power(0.5), positive(5), positive(3, 5),
         torch=lambda torch, m, x, p: torch.pow(x, m.p)),
    Case("Power(-1.5)", lambda rng: nn.Power(-1.5), positive(5), positive(3, 5),
         torch=lambda torch, m, x, p: torch.pow(x, m.p)),
    Case("AddConstant(2.5)", lambda rng: nn.AddConstant(2.5), normal(5), normal(3, 5),
         torch=lambda torch, m, x, p: x + m.constant_scalar),
    Case("MulConstant(-1.5)", lambda rng: nn.MulConstant(-1.5), normal(5), normal(2, 3, 4),
         torch=lambda torch, m, x, p: x * m.constant_scalar),
    Case("Clamp(-0.5, 0.8)", lambda rng: nn.Clamp(-0.5, 0.8), normal(6), normal(3, 6),
         torch=lambda torch, m, x, p: torch.clamp(x, m.min_value, m.max_value)),
]
