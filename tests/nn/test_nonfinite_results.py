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


def test_adaptive_average_pooling_keeps_inf_and_small_values_in_their_bins():
    # an integral image (prefix sums) spread one inf as inf − inf = NaN to later bins, and lost 1e-3 after 1e10
    x = np.random.default_rng(3).standard_normal((2, 3, 7, 5))
    x[0, 1, 2, 1], x[1, 2, 0, 0], x[0, 0, 4, 3] = inf, nan, -inf
    x[1, 0, 0, 0], x[1, 0, 3:, 3:] = 1e10, 1e-3
    for oheight, owidth in ((3, 2), (4, 5), (1, 1)):
        m = nn.SpatialAdaptiveAveragePooling(owidth, oheight)
        _same(m.forward(x), F.adaptive_avg_pool2d(torch.from_numpy(x), (oheight, owidth)))


@pytest.mark.parametrize("k, d, pad, ceil", [((2, 2), (2, 2), (1, 1), False), ((3, 3), (1, 1), (1, 1), False),
                                             ((3, 4), (2, 1), (1, 2), False), ((3, 3), (2, 2), (1, 1), True)])
def test_max_pooling_routes_an_all_minus_inf_window_inside_the_input(k, d, pad, ceil):
    # a window of −inf only kept its first tap, in the padding: backward dropped (or misplaced) its gradient
    x = np.full((2, 1, 7, 6), -inf)
    x[0, 0, 1, 1], x[1, 0, 5, 4] = 1.0, nan
    m = nn.SpatialMaxPooling(k[1], k[0], d[1], d[0], pad[1], pad[0], ceil_mode=ceil)
    out = m.forward(x)
    t = torch.from_numpy(x).requires_grad_(True)
    expected = F.max_pool2d(t, k, d, pad, ceil_mode=ceil)
    expected.backward(torch.ones_like(expected))
    _same(out, expected)
    np.testing.assert_array_equal(m.backward(x, np.ones_like(out)), t.grad.numpy())


def test_bilinear_contracts_x1_first_as_pytorch():
    # einsum's order summed x1ᵢ·(W x2)ᵢ: an inf in x2 made several ±inf terms, NaN, where PyTorch has ±inf
    rng = np.random.default_rng(4)
    m = nn.Bilinear(3, 2, 4, rng=rng)
    x1, x2 = rng.standard_normal((5, 3)), rng.standard_normal((5, 2))
    x2[0, 1], x2[2, 0], x1[3, 2] = -inf, inf, nan
    _same(m.forward([x1, x2]), F.bilinear(torch.from_numpy(x1), torch.from_numpy(x2), torch.from_numpy(m.weight),
                                          torch.from_numpy(m.bias)))
    _same(m.forward([x1[1], x2[1]]), F.bilinear(torch.from_numpy(x1[1]), torch.from_numpy(x2[1]),
                                                torch.from_numpy(m.weight), torch.from_numpy(m.bias)))


# -- criteria --------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("make, x", [
    (nn.HingeEmbeddingCriterion, np.array([0.5, 2.0, 0.3])),
    (nn.CosineEmbeddingCriterion, [np.ones((3, 2)), np.arange(6.0).reshape(3, 2)]),
    (nn.L1HingeEmbeddingCriterion, [np.ones((3, 2)), np.arange(6.0).reshape(3, 2)]),
])
@pytest.mark.parametrize("bad", [nan, inf, 0.0, 2.0])
def test_sign_targets_refuse_anything_but_plus_and_minus_one(make, x, bad):
    # a NaN (or 0, inf) target was taken as −1 (Cosine, L1Hinge) or as neither class (HingeEmbedding): a loss
    # that silently depended on a value naming no class
    from ember.errors import InputError
    criterion, good = make(), np.array([1.0, -1.0, 1.0])
    criterion.forward(x, good)
    t = good.copy()
    t[1] = bad
    with pytest.raises(InputError, match=rf"^{type(criterion).__name__}(\(.*\))?: expected a target of 1 and -1 "
                                         rf"only, got {bad} at \(flat\) index 1"):
        criterion.forward(x, t)
    with pytest.raises(InputError, match="expected a target of 1 and -1 only"):
        criterion.backward(x, t)


def test_kl_divergence_propagates_nan_as_pytorch():
    # a NaN target was skipped as "not positive", and so was a NaN input at a zero target: a finite loss
    x = np.log(np.array([[0.2, 0.3, 0.5], [0.1, 0.6, 0.3]]))
    t = np.array([[0.0, 0.5, 0.5], [0.3, 0.3, 0.4]])
    for row, col, where in ((0, 1, "target"), (0, 0, "input")):
        xb, tb = x.copy(), t.copy()
        (tb if where == "target" else xb)[row, col] = nan
        loss = nn.DistKLDivCriterion().forward(xb, tb)
        assert np.isnan(loss) and np.isnan(F.kl_div(torch.from_numpy(xb), torch.from_numpy(tb), reduction="mean"))
    t[1, 0] = -inf  # skipped as every t <= 0 (Torch's rule): no NaN gradient from −inf · 0
    criterion = nn.DistKLDivCriterion()
    criterion.forward(x, t)
    assert np.isfinite(criterion.backward(x, t)).all() and criterion.gradInput[1, 0] == 0.0


def test_multilabel_soft_margin_costs_inf_for_an_infinite_wrong_logit():
    # (1 − t)·x + softplus(−x) gave 0·(−inf) = NaN where PyTorch's log-sigmoid form gives inf
    x = np.array([[-inf, 0.5, inf, -inf], [0.2, inf, -1.0, 0.3]])
    t = np.array([[1.0, 0.0, 0.0, 0.5], [1.0, 0.0, 0.0, 0.0]])
    for weights in (None, np.array([1.0, 2.0, 0.5, 1.5])):
        expected = F.multilabel_soft_margin_loss(torch.from_numpy(x), torch.from_numpy(t), weight=tensor(weights))
        assert nn.MultiLabelSoftMarginCriterion(weights).forward(x, t) == expected.item() == inf
        finite = np.where(np.isfinite(x), x, 3.0)
        expected = F.multilabel_soft_margin_loss(torch.from_numpy(finite), torch.from_numpy(t), weight=tensor(weights))
        assert nn.MultiLabelSoftMarginCriterion(weights).forward(finite, t) == pytest.approx(expected.item(), rel=1e-12)


def tensor(array):
    return None if array is None else torch.from_numpy(array)


def test_multi_margin_losses_keep_nan_where_pytorch_skips_it():
    # PyTorch's kernels test "z > 0", false for NaN, so a NaN score silently drops out of its loss; ember's is
    # NaN (a deliberate difference: no silent wrong result)
    x = np.array([[0.1, nan, 0.3], [0.2, 0.5, -0.1]])
    assert np.isfinite(F.multi_margin_loss(torch.from_numpy(x), torch.tensor([0, 1])).item())
    assert np.isnan(nn.MultiMarginCriterion().forward(x, np.array([0, 1])))
    assert np.isnan(nn.MultiLabelMarginCriterion().forward(x, np.array([[0, -1, 0], [1, 2, -1]])))
