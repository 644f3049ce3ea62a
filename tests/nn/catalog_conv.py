"""Catalog cases for the convolutional family: convolutions, pooling, padding, batch norm, dropout.

Inputs are tiny (finite-difference Jacobians cost one forward pair per input element).
Batch normalisation in training mode needs a batch, so its "single" input is already a batch
and it is not per-example; in evaluation mode it is an affine per-feature map and is.
Dropout in training mode is registered with ``resample=False`` so that the mask drawn at the
first forward stays fixed while the Jacobian is taken (tests/nn/test_dropout.py checks more).
"""


from ember import nn
from tests.nn.catalog import Case, normal


def conv1d(torch, weight, x, bias, kW, dW):
    """TemporalConvolution in PyTorch: frames are the last-but-one dimension, weight is (O, kW·F)."""
    out_size, frame = weight.shape[0], weight.shape[1] // kW
    kernel = weight.reshape(out_size, kW, frame).permute(0, 2, 1)
    return torch.nn.functional.conv1d(x.transpose(-1, -2), kernel, bias, stride=dW).transpose(-1, -2)


def batch_norm(torch, m, x, p, training):
    """F.batch_norm on a copy of the module's running statistics; 1-example inputs get a batch of one."""
    running_mean, running_var = torch.tensor(m.running_mean), torch.tensor(m.running_var)
    weight, bias = (p[0], p[1]) if p else (None, None)
    batched = x.dim() == m._n_dim
    out = torch.nn.functional.batch_norm(x if batched else x.unsqueeze(0), running_mean, running_var, weight, bias,
                                         training=training, momentum=m.momentum, eps=m.eps)
    return out if batched else out.squeeze(0)


def evaluating_batch_norm(cls, n, **kwargs):
    """A batch norm module in evaluation mode with non-trivial running statistics and affine parameters."""
    def make(rng):
        module = cls(n, **kwargs)
        module.running_mean[...] = rng.standard_normal(n)
        module.running_var[...] = rng.uniform(0.5, 2.0, n)
        if module.affine:
            module.weight[...] = rng.uniform(0.5, 1.5, n)
            module.bias[...] = rng.standard_normal(n)
        return module.evaluate()
    return make


def training_batch_norm(cls, n, **kwargs):
    def make(rng):
        module = cls(n, **kwargs)
        if module.affine:
            module.weight[...] = rng.uniform(0.5, 1.5, n)
            module.bias[...] = rng.standard_normal(n)
        return module
    return make


CASES = [
    Case("SpatialConvolution", lambda rng: nn.SpatialConvolution(2, 3, 3, 3, rng=rng), normal(2, 5, 5),
         normal(2, 2, 5, 5), torch=lambda torch, m, x, p: torch.nn.functional.conv2d(x, p[0], p[1])),
    Case("SpatialConvolution(stride, pad, no bias)",
         lambda rng: nn.SpatialConvolution(2, 2, 3, 2, dW=2, dH=1, padW=1, padH=2, bias=False, rng=rng),
         normal(2, 4, 5), normal(2, 2, 4, 5),
         torch=lambda torch, m, x, p: torch.nn.functional.conv2d(x, p[0], stride=(1, 2), padding=(2, 1))),
    Case("SpatialConvolution(wide rows: stride 1, pad, kW != kH)",  # kW - 1 = 2 of 9 padded columns
         lambda rng: nn.SpatialConvolution(2, 3, 3, 2, padW=1, padH=2, rng=rng), normal(2, 4, 7), normal(2, 2, 4, 7),
         torch=lambda torch, m, x, p: torch.nn.functional.conv2d(x, p[0], p[1], padding=(2, 1))),
    Case("TemporalConvolution", lambda rng: nn.TemporalConvolution(3, 2, 3, rng=rng), normal(6, 3), normal(2, 6, 3),
         torch=lambda torch, m, x, p: conv1d(torch, p[0], x, p[1], 3, 1)),
    Case("TemporalConvolution(dW=2)", lambda rng: nn.TemporalConvolution(2, 3, 2, 2, rng=rng), normal(7, 2),
         normal(2, 7, 2), torch=lambda torch, m, x, p: conv1d(torch, p[0], x, p[1], 2, 2)),
    Case("SpatialMaxPooling", lambda rng: nn.SpatialMaxPooling(2, 2), normal(2, 4, 5), normal(2, 2, 4, 5),
         torch=lambda torch, m, x, p: torch.nn.functional.max_pool2d(x, 2)),
    Case("SpatialMaxPooling(3x3, 2,2, 1,1, ceil)", lambda rng: nn.SpatialMaxPooling(3, 3, 2, 2, 1, 1).ceil(),
         normal(2, 6, 5), normal(2, 2, 6, 5),
         torch=lambda torch, m, x, p: torch.nn.functional.max_pool2d(x, 3, 2, 1, ceil_mode=True)),
    Case("SpatialAveragePooling", lambda rng: nn.SpatialAveragePooling(2, 3), normal(2, 4, 4), normal(2, 2, 4, 4),
         torch=lambda torch, m, x, p: torch.nn.functional.avg_pool2d(x, (3, 2), 1)),
    Case("SpatialAveragePooling(3x3, 2,2, 1,1, ceil)", lambda rng: nn.SpatialAveragePooling(3, 3, 2, 2, 1, 1).ceil(),
         normal(2, 6, 5), normal(2, 2, 6, 5),
         torch=lambda torch, m, x, p: torch.nn.functional.avg_pool2d(x, 3, 2, 1, ceil_mode=True)),
    Case("SpatialAveragePooling(count_exclude_pad)",
         lambda rng: nn.SpatialAveragePooling(3, 3, 2, 2, 1, 1).setCountExcludePad(), normal(2, 5, 5),
         normal(2, 2, 5, 5), torch=lambda torch, m, x, p: torch.nn.functional.avg_pool2d(
             x, 3, 2, 1, count_include_pad=False)),
    Case("SpatialZeroPadding", lambda rng: nn.SpatialZeroPadding(1), normal(2, 3, 4), normal(2, 2, 3, 4),
         torch=lambda torch, m, x, p: torch.nn.functional.pad(x, (1, 1, 1, 1))),
    Case("SpatialZeroPadding(crop)", lambda rng: nn.SpatialZeroPadding(2, -1, -1, 1), normal(2, 3, 4),
         normal(2, 2, 3, 4), torch=lambda torch, m, x, p: torch.nn.functional.pad(x, (2, -1, -1, 1))),
    Case("BatchNormalization(training)", training_batch_norm(nn.BatchNormalization, 3), normal(5, 3),
         per_example=False, torch=lambda torch, m, x, p: batch_norm(torch, m, x, p, True)),
    Case("BatchNormalization(training, affine=False)", training_batch_norm(nn.BatchNormalization, 3, affine=False),
         normal(4, 3), per_example=False, torch=lambda torch, m, x, p: batch_norm(torch, m, x, p, True)),
    Case("BatchNormalization(evaluate)", evaluating_batch_norm(nn.BatchNormalization, 3), normal(3), normal(4, 3),
         torch=lambda torch, m, x, p: batch_norm(torch, m, x, p, False)),
    Case("SpatialBatchNormalization(training)", training_batch_norm(nn.SpatialBatchNormalization, 2),
         normal(2, 2, 3, 3), per_example=False, torch=lambda torch, m, x, p: batch_norm(torch, m, x, p, True)),
    Case("SpatialBatchNormalization(evaluate)", evaluating_batch_norm(nn.SpatialBatchNormalization, 2),
         normal(2, 3, 3), normal(2, 2, 3, 3), torch=lambda torch, m, x, p: batch_norm(torch, m, x, p, False)),
    Case("Dropout(evaluate)", lambda rng: nn.Dropout(0.3, rng=rng).evaluate(), normal(5), normal(3, 5),
         torch=lambda torch, m, x, p: torch.nn.functional.dropout(x, 0.3, training=False)),
    Case("Dropout(fixed mask)", lambda rng: nn.Dropout(0.3, rng=rng, resample=False), normal(6), normal(3, 6),
         per_example=False),
    Case("SpatialDropout(evaluate)", lambda rng: nn.SpatialDropout(0.5, rng=rng).evaluate(), normal(3, 2, 2),
         normal(2, 3, 2, 2), torch=lambda torch, m, x, p: torch.nn.functional.dropout2d(
             x if x.dim() == 4 else x.unsqueeze(0), 0.5, training=False).reshape(x.shape)),
    Case("SpatialDropout(fixed mask)", lambda rng: nn.SpatialDropout(0.5, rng=rng, resample=False), normal(3, 2, 2),
         normal(2, 3, 2, 2), per_example=False),
]
