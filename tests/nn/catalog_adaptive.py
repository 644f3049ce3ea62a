"""Catalog cases for adaptive.py and unpooling.py (an unpooling module is checked after its pooling module,
in a Sequential: it reads the pooling module's indices)."""

from ember import nn
from tests.nn.catalog import Case, normal, positive


def F(torch):
    return torch.nn.functional


def unpool_pair(pool_cls, unpool_cls, *args):
    def make(rng):
        pool = pool_cls(*args)
        return nn.Sequential(pool, unpool_cls(pool))
    return make


def torch_unpool2d(torch, m, x, p):
    pool = m.get(0)
    y, idx = F(torch).max_pool2d(x, (pool.kH, pool.kW), (pool.dH, pool.dW), return_indices=True)
    return F(torch).max_unpool2d(y, idx, (pool.kH, pool.kW), (pool.dH, pool.dW), output_size=x.shape[-2:])


def torch_unpool3d(torch, m, x, p):
    pool = m.get(0)
    y, idx = F(torch).max_pool3d(x, pool.k, pool.d, return_indices=True)
    return F(torch).max_unpool3d(y, idx, pool.k, pool.d, output_size=x.shape[-3:])


CASES = [
    Case("SpatialAdaptiveAveragePooling(2x3)", lambda rng: nn.SpatialAdaptiveAveragePooling(2, 3), normal(2, 5, 4),
         normal(2, 2, 5, 4), torch=lambda torch, m, x, p: F(torch).adaptive_avg_pool2d(x, (3, 2))),
    Case("SpatialAdaptiveMaxPooling(3x2)", lambda rng: nn.SpatialAdaptiveMaxPooling(3, 2), normal(2, 5, 4),
         normal(2, 2, 5, 4), torch=lambda torch, m, x, p: F(torch).adaptive_max_pool2d(x, (2, 3))),
    Case("SpatialLPPooling(2, p=2)", lambda rng: nn.SpatialLPPooling(2, 2, 2, 2), positive(2, 4, 4),
         positive(2, 2, 4, 4), torch=lambda torch, m, x, p: F(torch).lp_pool2d(x, 2, 2)),
    Case("SpatialLPPooling(2, p=3, 3x2, 1,1)", lambda rng: nn.SpatialLPPooling(2, 3, 3, 2, 1, 1), positive(2, 3, 4),
         positive(2, 2, 3, 4), torch=lambda torch, m, x, p: F(torch).lp_pool2d(x, 3, (2, 3), (1, 1))),
    Case("SpatialMaxUnpooling", unpool_pair(nn.SpatialMaxPooling, nn.SpatialMaxUnpooling, 2, 2), normal(2, 4, 4),
         normal(2, 2, 4, 4), torch=torch_unpool2d),
    Case("SpatialMaxUnpooling(dilated pooling)",
         unpool_pair(nn.SpatialDilatedMaxPooling, nn.SpatialMaxUnpooling, 2, 2), normal(2, 4, 5),
         normal(2, 2, 4, 5), torch=lambda torch, m, x, p: torch_unpool2d_dilated(torch, m, x)),
    Case("VolumetricMaxUnpooling", unpool_pair(nn.VolumetricMaxPooling, nn.VolumetricMaxUnpooling, 2, 2, 2),
         normal(1, 2, 4, 4), normal(2, 1, 2, 4, 4), torch=torch_unpool3d),
]


def torch_unpool2d_dilated(torch, m, x):
    pool = m.get(0)
    y, idx = F(torch).max_pool2d(x, pool.k, pool.d, return_indices=True)
    return F(torch).max_unpool2d(y, idx, pool.k, pool.d, output_size=x.shape[-2:])


def torch_feature_lp(torch, m, x, p):
    axis = 1 if m.batch_mode else 0
    moved = x.movedim(axis, -1)
    windows = moved.unfold(-1, m.width, m.stride)
    return windows.pow(m.power).sum(-1).pow(1 / m.power).movedim(-1, axis)


def torch_dynamic_k(torch, m, x, p):
    k = max(m.min_k, -(-int(m.factor * x.shape[-2] * 1e9) // int(1e9)))
    # topk's choice among equal values is unspecified (it keeps any of them), so the reference is PyTorch's
    # stable descending sort: the same ranking (NaN above +inf), the earliest frames kept on ties
    idx = torch.sort(x, dim=-2, descending=True, stable=True).indices.narrow(-2, 0, k).sort(dim=-2).values
    return torch.gather(x, -2, idx)


CASES += [
    Case("FeatureLPPooling(2, 1, 2)", lambda rng: nn.FeatureLPPooling(2, 1, 2), positive(5, 2),
         torch=torch_feature_lp),
    Case("FeatureLPPooling(3, 2, 3, batch)", lambda rng: nn.FeatureLPPooling(3, 2, 3, True), positive(2, 7, 2),
         torch=torch_feature_lp),
    Case("TemporalDynamicKMaxPooling(2)", lambda rng: nn.TemporalDynamicKMaxPooling(2), normal(5, 3),
         normal(2, 5, 3), torch=torch_dynamic_k),
    Case("TemporalDynamicKMaxPooling(1, 0.5)", lambda rng: nn.TemporalDynamicKMaxPooling(1, 0.5), normal(5, 2),
         normal(2, 5, 2), torch=torch_dynamic_k),
]
