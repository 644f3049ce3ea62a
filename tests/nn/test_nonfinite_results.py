"""NaN, inf and extreme values give PyTorch's results (issue 12: no silent wrong result). Each test provokes one
class of failure found by the property test (tests/nn/test_malformed_inputs.py) and compares with PyTorch."""

from __future__ import annotations

import numpy as np
import pytest

from ember import nn

torch = pytest.importorskip("torch", reason="PyTorch conformance: pip install torch")
F = torch.nn.functional
nan, inf = np.nan, np.inf


def _same(mine: np.ndarray, theirs, rtol: float = 1e-12) -> None:
    np.testing.assert_allclose(mine, np.asarray(theirs.detach()), rtol=rtol, atol=1e-12, equal_nan=True)


def test_lrn_keeps_an_inf_in_its_own_windows():
    # prefix sums turned one inf into inf − inf = NaN in every later window
    x = np.random.default_rng(0).standard_normal((2, 7, 3, 2))
    x[0, 1, 0, 0], x[1, 4, 2, 1], x[1, 0, 1, 1] = inf, nan, -inf
    for size in (3, 4, 5):
        m = nn.SpatialCrossMapLRN(size, 0.5, 0.75, 2.0)
        _same(m.forward(x), F.local_response_norm(torch.from_numpy(x), size, 0.5, 0.75, 2.0))
        assert np.isfinite(m.output[0, 4:]).all()


def test_lrn_sums_small_channels_after_a_large_one_exactly():
    # a difference of prefix sums lost the 1e-3 terms that follow a 1e10 channel
    x = np.full((1, 8, 1, 1), 1e-3)
    x[0, 0] = 1e10
    m = nn.SpatialCrossMapLRN(3, 1.0, 0.75, 1e-6)
    _same(m.forward(x), F.local_response_norm(torch.from_numpy(x), 3, 1.0, 0.75, 1e-6))


def test_dynamic_k_max_ranks_nan_above_inf():
    x = np.array([[0.5, nan], [inf, 1.0], [nan, nan], [-1.0, inf], [2.0, 0.0]])
    m = nn.TemporalDynamicKMaxPooling(2)
    out = m.forward(x)
    order = torch.sort(torch.from_numpy(x), dim=0, descending=True, stable=True).indices[:2].sort(dim=0).values
    _same(out, torch.gather(torch.from_numpy(x), 0, order))
    np.testing.assert_array_equal(m.indices, [[1, 0], [2, 2]])
    grad = m.backward(x, np.ones_like(out))
    np.testing.assert_array_equal(grad, [[0, 1], [1, 0], [1, 1], [0, 0], [0, 0]])


@pytest.mark.parametrize("shape, size", [((1, 2, 3, 4), (5, 7)), ((2, 1, 3, 1), (4, 1)), ((1, 1, 2, 3, 2), (3, 5, 4)),
                                         ((1, 1, 1, 4), (1, 6))])
def test_linear_upsampling_spreads_nan_and_inf_as_pytorch(shape, size):
    # a matrix product multiplied every input of a row, 0·inf = NaN, into every output of the row
    x = np.random.default_rng(1).standard_normal(shape)
    flat = x.reshape(-1)
    flat[[0, 2, -1]] = inf, nan, -inf
    m = nn.UpSampling({"oheight": size[-2], "owidth": size[-1], **({"odepth": size[0]} if len(size) == 3 else {})},
                      "linear")
    mode = "trilinear" if len(size) == 3 else "bilinear"
    _same(m.forward(x), F.interpolate(torch.from_numpy(x), size=size, mode=mode, align_corners=True))
    if len(size) == 2:
        m = nn.SpatialUpSamplingBilinear({"oheight": size[0], "owidth": size[1]})
        _same(m.forward(x[0]), F.interpolate(torch.from_numpy(x), size=size, mode=mode, align_corners=True)[0])


@pytest.mark.parametrize("module, reduce", [(nn.CMaxTable, torch.maximum), (nn.CMinTable, torch.minimum)])
def test_cmax_cmin_propagate_nan_and_route_the_gradient_to_the_first(module, reduce):
    a = np.array([nan, 1.0, 2.0, 3.0, -inf])
    b = np.array([1.0, nan, nan, 3.0, inf])
    c = np.array([2.0, 5.0, nan, nan, 0.0])
    m = module()
    out = m.forward([a, b, c])
    _same(out, reduce(reduce(torch.from_numpy(a), torch.from_numpy(b)), torch.from_numpy(c)))
    grads = m.backward([a, b, c], np.ones(5))
    first = torch.stack([torch.from_numpy(v) for v in (a, b, c)]).max(0).indices.numpy()  # the first NaN
    nan_at = np.isnan(out)
    np.testing.assert_array_equal(np.argmax(grads, axis=0)[nan_at], first[nan_at])
    np.testing.assert_array_equal(np.sum(grads, axis=0), np.ones(5))
