"""Catalog cases for the window-pooling modules: dilated.py, volumetric.py (shapes kept tiny: the
finite-difference Jacobians cost two forwards per input element)."""

from ember import nn
from tests.nn.catalog import Case, normal


def F(torch):
    return torch.nn.functional


def batched(fn):
    """Call a PyTorch function that wants a batch on an unbatched input too."""
    def call(torch, m, x, p, batch_ndim):
        if x.dim() == batch_ndim:
            return fn(torch, m, x)
        return fn(torch, m, x.unsqueeze(0)).squeeze(0)
    return call


def max2d(torch, m, x, p):
    return F(torch).max_pool2d(x, m.k, m.d, m.pad, dilation=m.dil, ceil_mode=m.ceil_mode)


def max3d(torch, m, x, p):
    return F(torch).max_pool3d(x, m.k, m.d, m.pad, dilation=m.dil, ceil_mode=m.ceil_mode)


def avg3d(torch, m, x, p):
    return F(torch).avg_pool3d(x, m.k, m.d, m.pad, ceil_mode=m.ceil_mode, count_include_pad=m.count_include_pad)


def temporal_max(torch, m, x, p):
    return F(torch).max_pool1d(x.transpose(-1, -2), m.k[0], m.d[0]).transpose(-1, -2)


CASES = [
    Case("SpatialDilatedMaxPooling(3x3, 1,1, 1,1, dilation 2)",
         lambda rng: nn.SpatialDilatedMaxPooling(3, 3, 1, 1, 1, 1, 2, 2), normal(2, 5, 5), normal(2, 2, 5, 5),
         torch=max2d),
    Case("SpatialDilatedMaxPooling(2x3, 2,1, 0,1, dilation 1x2, ceil)",
         lambda rng: nn.SpatialDilatedMaxPooling(2, 3, 2, 1, 0, 1, 2, 1).ceil(), normal(2, 5, 6),
         normal(2, 2, 5, 6), torch=max2d),
    Case("TemporalMaxPooling(2)", lambda rng: nn.TemporalMaxPooling(2), normal(6, 3), normal(2, 6, 3),
         torch=temporal_max),
    Case("TemporalMaxPooling(3, 1)", lambda rng: nn.TemporalMaxPooling(3, 1), normal(5, 2), normal(2, 5, 2),
         torch=temporal_max),
    Case("VolumetricMaxPooling(2x2x2)", lambda rng: nn.VolumetricMaxPooling(2, 2, 2), normal(2, 2, 4, 4),
         normal(2, 2, 2, 4, 4), torch=max3d),
    Case("VolumetricMaxPooling(2x3x2, 1,2,1, pad 1,1,1, ceil)",
         lambda rng: nn.VolumetricMaxPooling(2, 3, 2, 1, 2, 1, 1, 1, 1).ceil(), normal(1, 3, 3, 4),
         normal(2, 1, 3, 3, 4), torch=max3d),
    Case("VolumetricDilatedMaxPooling(2x2x2, 1,1,1, dilation 1,2,2)",
         lambda rng: nn.VolumetricDilatedMaxPooling(2, 2, 2, 1, 1, 1, 0, 0, 0, 1, 2, 2), normal(1, 3, 4, 4),
         normal(2, 1, 3, 4, 4), torch=max3d),
    Case("VolumetricAveragePooling(2x2x2)", lambda rng: nn.VolumetricAveragePooling(2, 2, 2), normal(2, 2, 4, 4),
         normal(2, 2, 2, 4, 4), torch=avg3d),
    Case("VolumetricAveragePooling(3x3x3, 2,2,2, pad 1,1,1, count_exclude_pad)",
         lambda rng: nn.VolumetricAveragePooling(3, 3, 3, 2, 2, 2, 1, 1, 1, count_include_pad=False),
         normal(1, 3, 4, 3), normal(2, 1, 3, 4, 3), torch=avg3d),
    Case("VolumetricDropout(evaluate)", lambda rng: nn.VolumetricDropout(0.5, rng=rng).evaluate(),
         normal(2, 2, 2, 2), normal(2, 2, 2, 2, 2),
         torch=lambda torch, m, x, p: F(torch).dropout3d(x, 0.5, training=False)),
    Case("VolumetricDropout(fixed mask)", lambda rng: nn.VolumetricDropout(0.5, rng=rng, resample=False),
         normal(3, 2, 2, 2), normal(2, 3, 2, 2, 2), per_example=False),
]


def _batch_norm_cases():
    from tests.nn.catalog_conv import batch_norm, evaluating_batch_norm, training_batch_norm

    return [
        Case("VolumetricBatchNormalization(training)", training_batch_norm(nn.VolumetricBatchNormalization, 2),
             normal(2, 2, 2, 2, 2), per_example=False, torch=lambda torch, m, x, p: batch_norm(torch, m, x, p, True)),
        Case("VolumetricBatchNormalization(evaluate)", evaluating_batch_norm(nn.VolumetricBatchNormalization, 2),
             normal(2, 2, 2, 2), normal(2, 2, 2, 2, 2),
             torch=lambda torch, m, x, p: batch_norm(torch, m, x, p, False)),
    ]


CASES += _batch_norm_cases()
