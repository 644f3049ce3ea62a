"""Catalog cases for upsampling.py and padding.py."""

from ember import nn
from tests.nn.catalog import Case, normal


def F(torch):
    return torch.nn.functional


def on_batch(fn):
    """Run a PyTorch function that wants a batch on a (C, H, W) input as a batch of one."""
    def call(torch, m, x, p):
        return fn(torch, m, x) if x.dim() == 4 else fn(torch, m, x.unsqueeze(0)).squeeze(0)
    return call


def bilinear(torch, m, x):
    size = tuple((s - 1) * (m.scale_factor - 1) + s for s in x.shape[-2:]) if m.scale_factor else m.output_size
    return F(torch).interpolate(x, size=size, mode="bilinear", align_corners=True)


def upsampling(torch, m, x, p):
    n = x.dim() - 2
    if m.mode == "nearest":
        return F(torch).interpolate(x, scale_factor=m.scale_factor, mode="nearest")
    size = tuple((s - 1) * (m.scale_factor - 1) + s for s in x.shape[-n:]) if m.scale_factor else m.output_size
    return F(torch).interpolate(x, size=size, mode="trilinear" if n == 3 else "bilinear", align_corners=True)


def border(mode):
    def call(torch, m, x):
        return F(torch).pad(x, (m.pad_l, m.pad_r, m.pad_t, m.pad_b), mode=mode)
    return call


def torch_padding(torch, m, x, p):
    axis = m.dim + (1 if m.n_input_dim is not None and x.dim() == m.n_input_dim + 1 else 0)
    shape = list(x.shape)
    shape[axis] = abs(m.pad)
    fill = torch.full(shape, float(m.value), dtype=x.dtype)
    start = m.index if m.index is not None else (0 if m.pad < 0 else x.shape[axis])
    before, after = x.narrow(axis, 0, start), x.narrow(axis, start, x.shape[axis] - start)
    return torch.cat([before, fill, after], dim=axis)


CASES = [
    Case("SpatialUpSamplingNearest(2)", lambda rng: nn.SpatialUpSamplingNearest(2), normal(2, 2, 3),
         normal(2, 2, 2, 3), torch=on_batch(lambda torch, m, x: F(torch).interpolate(x, scale_factor=2))),
    Case("SpatialUpSamplingBilinear(3)", lambda rng: nn.SpatialUpSamplingBilinear(3), normal(2, 2, 3),
         normal(2, 2, 2, 3), torch=on_batch(bilinear)),
    Case("SpatialUpSamplingBilinear(oheight=4, owidth=5)",
         lambda rng: nn.SpatialUpSamplingBilinear({"oheight": 4, "owidth": 5}), normal(1, 3, 2),
         normal(2, 1, 3, 2), torch=on_batch(bilinear)),
    Case("UpSampling(2, nearest)-4-D", lambda rng: nn.UpSampling(2), normal(2, 1, 2, 3), torch=upsampling),
    Case("UpSampling(2, linear)-5-D", lambda rng: nn.UpSampling(2, "linear"), normal(1, 1, 2, 2, 3),
         torch=upsampling),
    Case("UpSampling(2, nearest)-5-D", lambda rng: nn.UpSampling(2), normal(1, 1, 2, 2, 2), torch=upsampling),
    Case("SpatialReflectionPadding(2, 1, 1, 0)", lambda rng: nn.SpatialReflectionPadding(2, 1, 1, 0),
         normal(2, 3, 4), normal(2, 2, 3, 4), torch=on_batch(border("reflect"))),
    Case("SpatialReplicationPadding(1, 2, 3, 1)", lambda rng: nn.SpatialReplicationPadding(1, 2, 3, 1),
         normal(2, 2, 3), normal(2, 2, 2, 3), torch=on_batch(border("replicate"))),
    Case("VolumetricReplicationPadding(1, 0, 2, 1, 1, 1)",
         lambda rng: nn.VolumetricReplicationPadding(1, 0, 2, 1, 1, 1),
         normal(1, 2, 2, 3), normal(2, 1, 2, 2, 3),
         torch=lambda torch, m, x, p: F(torch).pad(x, m.padding, mode="replicate")),
    Case("Padding(0, 2)", lambda rng: nn.Padding(0, 2, 1), normal(3), normal(2, 3), torch=torch_padding),
    Case("Padding(1, -2, value=1.5)", lambda rng: nn.Padding(1, -2, 2, 1.5), normal(2, 3), normal(2, 2, 3),
         torch=torch_padding),
    Case("Padding(0, 1, index=1)", lambda rng: nn.Padding(0, 1, 2, index=1), normal(3, 2), normal(2, 3, 2),
         torch=torch_padding),
]
