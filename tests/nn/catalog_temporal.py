"""Catalog cases for the per-feature temporal modules (temporal.py), compared with PyTorch's grouped conv1d
(one group per feature)."""

from ember import nn
from tests.nn.catalog import Case, normal


def grouped_conv1d(torch, x, kernel, bias, stride, feat_first):
    """conv1d with groups = features on ``(…, T, F)`` (or ``(…, F, T)`` when ``feat_first``) frames."""
    channels_first = x if feat_first else x.transpose(-1, -2)
    y = torch.nn.functional.conv1d(channels_first, kernel, bias, stride=stride, groups=kernel.shape[0])
    return y if feat_first else y.transpose(-1, -2)


def sub_sampling(torch, m, x, p):
    kernel = p[0].reshape(-1, 1, 1).expand(-1, 1, m.kW)  # one weight per feature, on every tap
    return grouped_conv1d(torch, x, kernel, p[1], m.dW, False)


def row_convolution(torch, m, x, p):
    return grouped_conv1d(torch, x, p[0], p[1] if len(p) > 1 else None, m.dW, m.feat_first)


CASES = [
    Case("TemporalSubSampling", lambda rng: nn.TemporalSubSampling(3, 2, rng=rng), normal(5, 3), normal(2, 5, 3),
         torch=sub_sampling),
    Case("TemporalSubSampling(kW=3, dW=2)", lambda rng: nn.TemporalSubSampling(2, 3, 2, rng=rng), normal(8, 2),
         normal(2, 8, 2), torch=sub_sampling),
    Case("TemporalRowConvolution", lambda rng: nn.TemporalRowConvolution(3, 2, rng=rng), normal(5, 3),
         normal(2, 5, 3), torch=row_convolution),
    Case("TemporalRowConvolution(kW=3, dW=2, feat_first)",
         lambda rng: nn.TemporalRowConvolution(2, 3, 2, feat_first=True, rng=rng), normal(2, 8), normal(2, 2, 8),
         torch=row_convolution),
    Case("TemporalRowConvolution(no bias)", lambda rng: nn.TemporalRowConvolution(2, 3, bias=False, rng=rng),
         normal(6, 2), normal(3, 6, 2), torch=row_convolution),
]
