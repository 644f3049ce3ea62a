"""Tests of the criteria in ember.nn.loss.

``CRITERIA`` is this file's catalog: one row per criterion configuration with a factory,
an input maker, a target maker and a PyTorch reference. The generic tests run over all
of it (finite-difference gradients, PyTorch conformance, float32, batch vs examples,
protocol); the specific tests below them check values, Torch behaviours at the kinks
and error messages.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
import pytest

from ember import nn
from ember.check import copy_structure, flatten, leaves
from ember.finite_differences import gradient
from ember.nn.criterion import Criterion

BATCH = 5


def criterion_jacobian(criterion: Criterion, input: Any, target: Any,
                       eps: float = 1e-6) -> tuple[np.ndarray, np.ndarray]:
    """Return ``(analytic, numeric)``: ∂loss/∂input by ``backward`` and by two-sided finite differences.

    Both are flat float64 vectors over the input's elements (table entries in order). The
    caller's input is not modified.
    """
    x = copy_structure(input)
    criterion.forward(x, target)
    analytic = flatten(criterion.backward(x, target))
    numeric = gradient(lambda: criterion.forward(x, target), leaves(x), eps)
    return analytic, numeric


# -- the catalog --------------------------------------------------------------------------------


@dataclass
class CriterionCase:
    """One criterion under test.

    Attributes:
        id: the test id.
        make: builds the criterion (float64, sizeAverage true).
        input: ``input(rng, batch)`` builds an input; ``batch`` is ``None`` for a single example.
        target: ``target(rng, input)`` builds a target for that input.
        torch: ``torch(torch, criterion, x, t) -> loss`` in torch float64, honouring ``sizeAverage``.
        per_example: whether a batch's summed loss is its examples' (false for 1-D batches of scores,
            whose examples are numbers, not arrays).
    """

    id: str
    make: Callable[[], Criterion]
    input: Callable[[np.random.Generator, int | None], Any]
    target: Callable[[np.random.Generator, Any], Any]
    torch: Callable[..., Any]
    per_example: bool = True  # a batch is its examples stacked (False: the criterion has no single-example form)


def shape(batch: int | None, *dims: int) -> tuple[int, ...]:
    return dims if batch is None else (batch, *dims)


def normal(*dims: int, scale: float = 1.0):
    return lambda rng, batch: scale * rng.standard_normal(shape(batch, *dims))


def uniform(low: float, high: float, *dims: int):
    return lambda rng, batch: rng.uniform(low, high, shape(batch, *dims))


def log_probabilities(n_classes: int):
    def make(rng, batch):
        z = rng.standard_normal(shape(batch, n_classes))
        return z - np.log(np.exp(z).sum(axis=-1, keepdims=True))
    return make


def normal_like(rng, x):
    return rng.standard_normal(x.shape)


def signs_like(rng, x):
    return rng.choice([-1.0, 1.0], size=x.shape)


def probabilities_like(rng, x):
    return rng.uniform(0.0, 1.0, x.shape)


def sparse_probabilities_like(rng, x):
    t = rng.uniform(0.0, 1.0, x.shape)
    t[..., 0] = 0.0  # DistKLDiv skips zero targets
    return t


def labels_for(rng, x):
    """A Python int label for a single example, an int64 array (batch,) for a batch."""
    if x.ndim == 1:
        return int(rng.integers(x.shape[0]))
    return rng.integers(x.shape[1], size=x.shape[0])


def reduction(criterion: Criterion) -> str:
    return "mean" if criterion.sizeAverage else "sum"


def torch_margin(torch, c, x, t):
    loss = torch.clamp(c.margin - t * x, min=0).sum()
    return loss / x.numel() if c.sizeAverage else loss


def torch_multiclass_hinge(torch, c, x, t):
    x2, t2 = (x, t) if x.dim() == 2 else (x.unsqueeze(0), t.reshape(1))
    correct = x2.gather(1, t2[:, None]).squeeze(1)
    is_target = torch.nn.functional.one_hot(t2, x2.shape[1]).bool()
    rival = x2.masked_fill(is_target, float("-inf")).max(dim=1).values
    loss = torch.clamp(1 - (correct - rival), min=0).sum()
    return loss / x2.shape[0] if c.sizeAverage else loss


def torch_kl_div(torch, c, x, t):
    with warnings.catch_warnings():  # torch warns that 'mean' is not the KL divergence per example
        warnings.simplefilter("ignore")
        return torch.nn.functional.kl_div(x, t, reduction=reduction(c))


def weights(n: int) -> np.ndarray:
    return np.random.default_rng(n).uniform(0.5, 2.0, n)


def tensor(torch, array):
    return None if array is None else torch.from_numpy(np.array(array))


def F(torch):
    return torch.nn.functional


CRITERIA = [
    CriterionCase("MSE", nn.MSECriterion, normal(4), normal_like,
                  lambda torch, c, x, t: F(torch).mse_loss(x, t, reduction=reduction(c))),
    CriterionCase("Abs", nn.AbsCriterion, normal(4), normal_like,
                  lambda torch, c, x, t: F(torch).l1_loss(x, t, reduction=reduction(c))),
    CriterionCase("SmoothL1", nn.SmoothL1Criterion, normal(4, scale=2.0), normal_like,
                  lambda torch, c, x, t: F(torch).smooth_l1_loss(x, t, reduction=reduction(c), beta=1.0)),
    CriterionCase("BCE", nn.BCECriterion, uniform(0.05, 0.95, 4), probabilities_like,
                  lambda torch, c, x, t: F(torch).binary_cross_entropy(x, t, reduction=reduction(c))),
    CriterionCase("BCE(weights)", lambda: nn.BCECriterion(weights(4)), uniform(0.05, 0.95, 4), probabilities_like,
                  lambda torch, c, x, t: F(torch).binary_cross_entropy(x, t, weight=tensor(torch, c.weights),
                                                                       reduction=reduction(c))),
    CriterionCase("Margin", nn.MarginCriterion, normal(4), signs_like, torch_margin),
    CriterionCase("Margin(0.5)", lambda: nn.MarginCriterion(margin=0.5), normal(4), signs_like, torch_margin),
    CriterionCase("SoftMargin", nn.SoftMarginCriterion, normal(4, scale=2.0), signs_like,
                  lambda torch, c, x, t: F(torch).soft_margin_loss(x, t, reduction=reduction(c))),
    CriterionCase("HingeEmbedding", nn.HingeEmbeddingCriterion, uniform(0.0, 2.0, 4), signs_like,
                  lambda torch, c, x, t: F(torch).hinge_embedding_loss(x, t, margin=c.margin,
                                                                       reduction=reduction(c))),
    CriterionCase("HingeEmbedding(0.5)", lambda: nn.HingeEmbeddingCriterion(margin=0.5), uniform(0.0, 1.0, 4),
                  signs_like,
                  lambda torch, c, x, t: F(torch).hinge_embedding_loss(x, t, margin=c.margin,
                                                                       reduction=reduction(c))),
    CriterionCase("DistKLDiv", nn.DistKLDivCriterion, log_probabilities(4), sparse_probabilities_like, torch_kl_div),
    CriterionCase("ClassNLL", nn.ClassNLLCriterion, log_probabilities(3), labels_for,
                  lambda torch, c, x, t: F(torch).nll_loss(x, t, reduction=reduction(c))),
    CriterionCase("ClassNLL(weights)", lambda: nn.ClassNLLCriterion(weights(3)), log_probabilities(3), labels_for,
                  lambda torch, c, x, t: F(torch).nll_loss(x, t, weight=tensor(torch, c.weights),
                                                           reduction=reduction(c))),
    CriterionCase("CrossEntropy", nn.CrossEntropyCriterion, normal(4, scale=3.0), labels_for,
                  lambda torch, c, x, t: F(torch).cross_entropy(x, t, reduction=reduction(c))),
    CriterionCase("CrossEntropy(weights)", lambda: nn.CrossEntropyCriterion(weights(4)), normal(4), labels_for,
                  lambda torch, c, x, t: F(torch).cross_entropy(x, t, weight=tensor(torch, c.weights),
                                                                reduction=reduction(c))),
    CriterionCase("MultiMargin", nn.MultiMarginCriterion, normal(4), labels_for,
                  lambda torch, c, x, t: F(torch).multi_margin_loss(x, t, reduction=reduction(c))),
    CriterionCase("MultiMargin(p=2, weights, margin=0.5)",
                  lambda: nn.MultiMarginCriterion(p=2, weights=weights(4), margin=0.5), normal(4), labels_for,
                  lambda torch, c, x, t: F(torch).multi_margin_loss(x, t, p=2, margin=0.5,
                                                                    weight=tensor(torch, c.weights),
                                                                    reduction=reduction(c))),
    CriterionCase("MultiClassHinge", nn.MultiClassHingeCriterion, normal(4, scale=2.0), labels_for,
                  torch_multiclass_hinge),
    CriterionCase("Multi(MSE + 0.5 Abs)",
                  lambda: nn.MultiCriterion().add(nn.MSECriterion()).add(nn.AbsCriterion(), 0.5),
                  normal(4), normal_like,
                  lambda torch, c, x, t: (F(torch).mse_loss(x, t, reduction=reduction(c.criterions[0]))
                                          + 0.5 * F(torch).l1_loss(x, t, reduction=reduction(c.criterions[1])))),
    CriterionCase("Parallel(MSE, 2 ClassNLL)",
                  lambda: nn.ParallelCriterion().add(nn.MSECriterion()).add(nn.ClassNLLCriterion(), weight=2.0),
                  lambda rng, batch: [normal(4)(rng, batch), log_probabilities(3)(rng, batch)],
                  lambda rng, x: [normal_like(rng, x[0]), labels_for(rng, x[1])],
                  lambda torch, c, x, t: (F(torch).mse_loss(x[0], t[0], reduction=reduction(c.criterions[0]))
                                          + 2.0 * F(torch).nll_loss(x[1], t[1],
                                                                    reduction=reduction(c.criterions[1])))),
    CriterionCase("Parallel(repeat_target; MSE, Abs)",
                  lambda: nn.ParallelCriterion(repeat_target=True).add(nn.MSECriterion()).add(nn.AbsCriterion()),
                  lambda rng, batch: [normal(4)(rng, batch), normal(4)(rng, batch)],
                  lambda rng, x: normal_like(rng, x[0]),
                  lambda torch, c, x, t: (F(torch).mse_loss(x[0], t, reduction=reduction(c.criterions[0]))
                                          + F(torch).l1_loss(x[1], t, reduction=reduction(c.criterions[1])))),
]

# -- ranking, embedding and more classification criteria (ranking.py, classification.py) ------------


def pair(low: float, high: float, *dims: int):
    return lambda rng, batch: [rng.uniform(low, high, shape(batch, *dims)) for _ in range(2)]


def pair_signs(rng, x):
    """One ±1 target per pair of vectors: a number for one pair (D,), an array (batch,) for a batch."""
    return float(rng.choice([-1.0, 1.0])) if x[0].ndim == 1 else rng.choice([-1.0, 1.0], size=x[0].shape[0])


def score_signs(rng, x):
    """One ±1 target per pair of scores: a number for one pair (1,), an array (batch,) for a batch."""
    return float(rng.choice([-1.0, 1.0])) if x[0].size == 1 else rng.choice([-1.0, 1.0], size=x[0].shape)


def scores(rng, batch):
    return [rng.standard_normal(batch or 1) for _ in range(2)]


def multilabel_targets(rng, x):
    """Per row: 1..C-1 distinct labels, then -1, then arbitrary labels (ignored after the -1)."""
    rows = np.atleast_2d(x).shape[0]
    classes = x.shape[-1]
    t = rng.integers(0, classes, size=(rows, classes))
    for r in range(rows):
        k = int(rng.integers(1, classes))
        t[r, :k] = rng.permutation(classes)[:k]
        t[r, k] = -1
    return t.reshape(x.shape)


def pixel_labels(rng, x):
    return rng.integers(x.shape[-3], size=x.shape[:-3] + x.shape[-2:])


def margin_ranking(torch, c, x, t):
    return F(torch).margin_ranking_loss(x[0], x[1], t.reshape(x[0].shape), margin=c.margin, reduction=reduction(c))


def cosine_embedding(torch, c, x, t):
    x1, x2, y = x[0], x[1], t
    if x1.dim() == 1:
        x1, x2, y = x1[None], x2[None], y.reshape(1)
    return F(torch).cosine_embedding_loss(x1, x2, y, margin=c.margin, reduction=reduction(c))


def l1_hinge_embedding(torch, c, x, t):
    d = (x[0] - x[1]).abs().sum(-1)
    losses = torch.where(t == 1, d, torch.clamp(c.margin - d, min=0))
    return losses.mean() if c.sizeAverage else losses.sum()


def multilabel_soft_margin(torch, c, x, t):
    x2, t2 = (x, t) if x.dim() == 2 else (x[None], t[None])
    loss = F(torch).multilabel_soft_margin_loss(x2, t2, weight=tensor(torch, c.weights), reduction=reduction(c))
    return loss if c.sizeAverage else loss * x.shape[-1]  # Torch's sum is over every element


def spatial_nll(torch, c, x, t):
    x2, t2 = (x, t) if x.dim() == 4 else (x[None], t[None])
    return F(torch).nll_loss(x2, t2, weight=tensor(torch, c.weights), reduction=reduction(c))


def spatial_log_probabilities(classes: int):
    def make(rng, batch):
        z = rng.standard_normal(shape(batch, classes, 2, 3))
        return z - np.log(np.exp(z).sum(axis=-3, keepdims=True))
    return make


CRITERIA += [
    CriterionCase("MarginRanking", nn.MarginRankingCriterion, scores, score_signs,
                  margin_ranking, per_example=False),
    CriterionCase("MarginRanking(0.2)", lambda: nn.MarginRankingCriterion(0.2), scores, score_signs,
                  margin_ranking, per_example=False),
    CriterionCase("CosineEmbedding", nn.CosineEmbeddingCriterion, pair(-1, 1, 4), pair_signs, cosine_embedding),
    CriterionCase("CosineEmbedding(0.2)", lambda: nn.CosineEmbeddingCriterion(0.2), pair(-1, 1, 4), pair_signs,
                  cosine_embedding),
    CriterionCase("L1HingeEmbedding", nn.L1HingeEmbeddingCriterion, pair(-0.5, 0.5, 3), pair_signs,
                  l1_hinge_embedding),
    CriterionCase("L1HingeEmbedding(3)", lambda: nn.L1HingeEmbeddingCriterion(3.0), pair(-1, 1, 3), pair_signs,
                  l1_hinge_embedding),
    CriterionCase("DistanceRatio", nn.DistanceRatioCriterion,
                  lambda rng, batch: [rng.uniform(0, 3, batch or 3) for _ in range(2)],
                  lambda rng, x: np.zeros(x[0].shape),  # not used by the criterion
                  lambda torch, c, x, t: (F(torch).softplus(x[0] - x[1]).sum()
                                          / (x[0].shape[0] if c.sizeAverage else 1)), per_example=False),
    CriterionCase("BCEWithLogits", nn.BCEWithLogitsCriterion, normal(4, scale=3.0), probabilities_like,
                  lambda torch, c, x, t: F(torch).binary_cross_entropy_with_logits(x, t, reduction=reduction(c))),
    CriterionCase("BCEWithLogits(weights, pos_weight)",
                  lambda: nn.BCEWithLogitsCriterion(weights(4), pos_weight=weights(4)[::-1]), normal(4, scale=3.0),
                  probabilities_like,
                  lambda torch, c, x, t: F(torch).binary_cross_entropy_with_logits(
                      x, t, weight=tensor(torch, c.weights), pos_weight=tensor(torch, c.pos_weight),
                      reduction=reduction(c))),
    CriterionCase("MultiLabelSoftMargin", nn.MultiLabelSoftMarginCriterion, normal(4, scale=2.0),
                  lambda rng, x: rng.integers(0, 2, x.shape).astype(float), multilabel_soft_margin),
    CriterionCase("MultiLabelSoftMargin(weights)", lambda: nn.MultiLabelSoftMarginCriterion(weights(4)),
                  normal(4), lambda rng, x: rng.integers(0, 2, x.shape).astype(float), multilabel_soft_margin),
    CriterionCase("MultiLabelMargin", nn.MultiLabelMarginCriterion, normal(5), multilabel_targets,
                  lambda torch, c, x, t: F(torch).multilabel_margin_loss(x, t, reduction=reduction(c))),
    CriterionCase("SpatialClassNLL", nn.SpatialClassNLLCriterion, spatial_log_probabilities(3), pixel_labels,
                  spatial_nll),
    CriterionCase("SpatialClassNLL(weights)", lambda: nn.SpatialClassNLLCriterion(weights(3)),
                  spatial_log_probabilities(3), pixel_labels, spatial_nll),
    CriterionCase("ClassSimplex", lambda: nn.ClassSimplexCriterion(4), normal(4), labels_for,
                  lambda torch, c, x, t: F(torch).mse_loss(x, tensor(torch, c.simplex)[t], reduction=reduction(c))),
    CriterionCase("WeightedMSE", lambda: nn.WeightedMSECriterion(weights(4)), normal(4), normal_like,
                  lambda torch, c, x, t: F(torch).mse_loss(x, tensor(torch, c.weight) * t, reduction=reduction(c))),
    CriterionCase("L1Cost", nn.L1Cost, normal(4), normal_like, lambda torch, c, x, t: x.abs().sum()),
    CriterionCase("Module(ClassNLL after LogSoftMax)",
                  lambda: nn.ModuleCriterion(nn.ClassNLLCriterion(), nn.LogSoftMax()), normal(4), labels_for,
                  lambda torch, c, x, t: F(torch).cross_entropy(x, t, reduction=reduction(c.criterion))),
    CriterionCase("Module(MSE after Tanh, target x2)",
                  lambda: nn.ModuleCriterion(nn.MSECriterion(), nn.Tanh(), nn.MulConstant(2.0)), normal(4),
                  normal_like,
                  lambda torch, c, x, t: F(torch).mse_loss(torch.tanh(x), 2 * t, reduction=reduction(c.criterion))),
]

MODES = [(case, mode) for case in CRITERIA for mode in ("single", "batch")]
MODE_IDS = [f"{case.id}-{mode}" for case, mode in MODES]
AVERAGING = [True, False]
AVERAGING_IDS = ["sizeAverage", "sum"]


def set_size_average(criterion: Criterion, value: bool) -> None:
    """Set ``sizeAverage`` on a criterion and on the criteria it combines."""
    criterion.sizeAverage = value
    for child in criterion.children():
        set_size_average(child, value)


def build(case: CriterionCase, mode: str, size_average: bool = True, seed: int = 0):
    rng = np.random.default_rng(seed)
    criterion = case.make()
    set_size_average(criterion, size_average)
    x = case.input(rng, None if mode == "single" else BATCH)
    return criterion, x, case.target(rng, x)


def as_float32(structure: Any) -> Any:
    if isinstance(structure, list):
        return [as_float32(item) for item in structure]
    if isinstance(structure, np.ndarray) and structure.dtype == np.float64:
        return structure.astype(np.float32)
    return structure


def example(structure: Any, i: int) -> Any:
    if isinstance(structure, list):
        return [example(item, i) for item in structure]
    return structure[i]


# -- generic tests over the catalog -------------------------------------------------------------


@pytest.mark.parametrize("size_average", AVERAGING, ids=AVERAGING_IDS)
@pytest.mark.parametrize(("case", "mode"), MODES, ids=MODE_IDS)
def test_gradient_matches_finite_differences(case, mode, size_average):
    criterion, x, t = build(case, mode, size_average)
    analytic, numeric = criterion_jacobian(criterion, x, t)
    scale = max(1.0, float(np.max(np.abs(numeric))))
    error = float(np.max(np.abs(analytic - numeric)))
    assert error <= 1e-6 * scale, (f"{case.id}: backward and finite differences differ by {error:.3g}\n"
                                   f"backward {analytic}\nnumeric  {numeric}")


@pytest.mark.parametrize("size_average", AVERAGING, ids=AVERAGING_IDS)
@pytest.mark.parametrize(("case", "mode"), MODES, ids=MODE_IDS)
def test_conforms_to_pytorch(torch, case, mode, size_average):
    criterion, x, t = build(case, mode, size_average, seed=7)

    def to_torch(value, grad):
        if isinstance(value, list):
            return [to_torch(item, grad) for item in value]
        return torch.from_numpy(np.array(value)).requires_grad_(grad)

    x_t = to_torch(x, True)
    loss_t = case.torch(torch, criterion, x_t, to_torch(t, False))
    loss_t.backward()
    loss = criterion.forward(x, t)
    np.testing.assert_allclose(loss, loss_t.item(), rtol=1e-10, atol=1e-12, err_msg=f"{case.id} forward")
    grad = criterion.backward(x, t)
    for mine, theirs in zip(leaves(grad), leaves(x_t)):
        np.testing.assert_allclose(mine, theirs.grad.numpy(), rtol=1e-9, atol=1e-12, err_msg=f"{case.id} backward")


@pytest.mark.parametrize(("case", "mode"), MODES, ids=MODE_IDS)
def test_float32_input_gives_float32_gradient(case, mode):
    criterion, x, t = build(case, mode)
    loss64 = criterion.forward(x, t)
    grad64 = copy_structure(criterion.backward(x, t))
    criterion.float()
    x32, t32 = as_float32(x), as_float32(t)
    loss32 = criterion.forward(x32, t32)
    grad32 = criterion.backward(x32, t32)
    assert type(loss32) is float
    assert [leaf.dtype for leaf in leaves(grad32)] == [np.float32] * len(leaves(grad32))
    assert loss32 == pytest.approx(loss64, rel=1e-5, abs=1e-6)
    np.testing.assert_allclose(flatten(grad32), flatten(grad64), rtol=1e-4, atol=1e-6)


PER_EXAMPLE = [case for case in CRITERIA if case.per_example]


@pytest.mark.parametrize("case", PER_EXAMPLE, ids=[c.id for c in PER_EXAMPLE])
def test_batch_sum_is_the_sum_over_examples(case):
    """With sizeAverage false, a batch's loss and gradient are those of its examples, summed and stacked."""
    criterion, x, t = build(case, "batch", size_average=False)
    loss = criterion.forward(x, t)
    grad = copy_structure(criterion.backward(x, t))
    losses = []
    for i in range(BATCH):
        losses.append(criterion.forward(example(x, i), example(t, i)))
        np.testing.assert_allclose(flatten(criterion.backward(example(x, i), example(t, i))),
                                   flatten(example(grad, i)), rtol=1e-12, atol=1e-14)
    assert loss == pytest.approx(sum(losses), rel=1e-12)


@pytest.mark.parametrize(("case", "mode"), MODES, ids=MODE_IDS)
def test_protocol(case, mode):
    """forward returns a float and sets output; nothing given is modified; buffers are reused."""
    criterion, x, t = build(case, mode)
    x_copy, t_copy = copy_structure(x), copy_structure(t)
    loss = criterion.forward(x, t)
    assert type(loss) is float and criterion.output == loss
    grad = criterion.backward(x, t)
    assert criterion.gradInput is grad
    first_leaves = leaves(grad)
    criterion.forward(x, t)
    assert all(a is b for a, b in zip(leaves(criterion.backward(x, t)), first_leaves))
    np.testing.assert_array_equal(flatten(x), flatten(x_copy))
    np.testing.assert_array_equal(flatten(t), flatten(t_copy))
    assert repr(criterion).startswith("nn." + type(criterion).__name__)


# -- specific values ------------------------------------------------------------------------------


def test_mse_values_of_the_seed_tour():
    """The tour: yhat = zeros(3); the printed gradient (sizeAverage false) is 2 (yhat − y) = −2y."""
    y = -np.array([2.3650, -1.6119, 3.6986]) / 2
    yhat = np.zeros(3)
    mse = nn.MSECriterion()
    assert mse.forward(yhat, y) == pytest.approx(1.8225688302461, abs=1e-4)
    mse.sizeAverage = False
    assert mse.forward(yhat, y) == pytest.approx(5.4677064907383, abs=3e-4)
    np.testing.assert_allclose(mse.backward(yhat, y), [2.3650, -1.6119, 3.6986], atol=1e-12)


def test_mse_sum_is_n_times_the_mean():
    x, t = np.arange(6.0).reshape(2, 3), np.ones((2, 3))
    assert nn.MSECriterion().forward(x, t) == pytest.approx(31 / 6)
    assert nn.MSECriterion(size_average=False).forward(x, t) == pytest.approx(31)


MULTICLASS_X = np.array([[2.0, 1.5, -1.0],   # rival 1 inside the margin: 1 − (2 − 1.5) = 0.5
                         [0.2, 3.0, 0.1],    # correct by more than the margin: 0
                         [1.0, -2.0, 4.0],   # rival 2 wins: 1 − (1 − 4) = 4
                         [0.5, 0.3, 0.4]])   # two rivals inside the margin; only the best counts: 0.9
MULTICLASS_T = np.array([0, 1, 0, 0])


def test_multiclass_hinge_by_hand():
    criterion = nn.MultiClassHingeCriterion()
    assert criterion.forward(MULTICLASS_X, MULTICLASS_T) == pytest.approx((0.5 + 0 + 4 + 0.9) / 4)
    expected = np.array([[-1, 1, 0], [0, 0, 0], [-1, 0, 1], [-1, 0, 1]]) / 4
    np.testing.assert_allclose(criterion.backward(MULTICLASS_X, MULTICLASS_T), expected)
    criterion.sizeAverage = False
    assert criterion.forward(MULTICLASS_X, MULTICLASS_T) == pytest.approx(5.4)


def test_multiclass_hinge_single_example_and_kink():
    criterion = nn.MultiClassHingeCriterion()
    assert criterion.forward(np.array([0.5, 0.3, 0.4]), 0) == pytest.approx(0.9)
    np.testing.assert_allclose(criterion.backward(np.array([0.5, 0.3, 0.4]), 0), [-1, 0, 1])
    at_the_margin = np.array([2.0, 1.0, 0.0])  # 1 − (2 − 1) = 0 exactly: the subgradient 0
    assert criterion.forward(at_the_margin, 0) == 0.0
    np.testing.assert_array_equal(criterion.backward(at_the_margin, 0), [0, 0, 0])


def test_multiclass_hinge_differs_from_multimargin():
    """Torch's MultiMarginCriterion sums over every wrong class and divides by n_classes."""
    margin = nn.MultiMarginCriterion()
    assert margin.forward(MULTICLASS_X, MULTICLASS_T) == pytest.approx(
        (0.5 + 0 + 4 + (0.8 + 0.9)) / 3 / 4)
    assert nn.MultiClassHingeCriterion().forward(MULTICLASS_X, MULTICLASS_T) != pytest.approx(
        margin.forward(MULTICLASS_X, MULTICLASS_T))


def test_class_nll_picks_the_target_log_probability():
    x = np.log(np.array([[0.5, 0.25, 0.25], [0.1, 0.2, 0.7]]))
    criterion = nn.ClassNLLCriterion()
    assert criterion.forward(x, np.array([0, 2])) == pytest.approx(-(np.log(0.5) + np.log(0.7)) / 2)
    np.testing.assert_array_equal(criterion.backward(x, np.array([0, 2])), [[-0.5, 0, 0], [0, 0, -0.5]])


def test_class_nll_weights_divide_by_the_targets_weight_sum():
    x = np.log(np.array([[0.5, 0.25, 0.25], [0.1, 0.2, 0.7]]))
    w = np.array([1.0, 2.0, 3.0])
    criterion = nn.ClassNLLCriterion(weights=w)
    assert criterion.forward(x, np.array([0, 2])) == pytest.approx(-(np.log(0.5) + 3 * np.log(0.7)) / 4)
    np.testing.assert_allclose(criterion.backward(x, np.array([0, 2])), [[-0.25, 0, 0], [0, 0, -0.75]])
    assert criterion.forward(x[1], 2) == pytest.approx(-np.log(0.7))  # a single example: w / w
    criterion.sizeAverage = False
    assert criterion.forward(x[1], 2) == pytest.approx(-3 * np.log(0.7))


@pytest.mark.parametrize("label", [2, np.int64(2), np.int32(2), np.array(2), np.array([2])],
                         ids=["int", "int64", "int32", "0-d array", "(1,) array"])
def test_class_nll_single_label_forms(label):
    x = np.log(np.array([0.1, 0.2, 0.7]))
    criterion = nn.ClassNLLCriterion()
    assert criterion.forward(x, label) == pytest.approx(-np.log(0.7))
    np.testing.assert_array_equal(criterion.backward(x, label), [0, 0, -1])


def test_cross_entropy_is_log_softmax_then_nll_and_stable():
    x = np.array([[1000.0, 0.0, -1000.0], [3.0, 1.0, 2.0]])
    t = np.array([1, 2])
    log_p = x - x.max(axis=1, keepdims=True)
    log_p -= np.log(np.exp(log_p).sum(axis=1, keepdims=True))
    criterion = nn.CrossEntropyCriterion()
    loss = criterion.forward(x, t)
    assert np.isfinite(loss)
    assert loss == pytest.approx(nn.ClassNLLCriterion().forward(log_p, t))
    assert loss == pytest.approx((1000.0 - log_p[1, 2]) / 2)
    grad = criterion.backward(x, t)
    assert np.all(np.isfinite(grad))
    np.testing.assert_allclose(grad, (np.exp(log_p) - np.eye(3)[t]) / 2)


def test_bce_clamps_the_log_at_eps():
    criterion = nn.BCECriterion()
    assert criterion.forward(np.array([0.0, 1.0]), np.array([1.0, 0.0])) == pytest.approx(-np.log(1e-12))
    assert criterion.forward(np.array([0.0, 1.0]), np.array([0.0, 1.0])) == pytest.approx(0.0, abs=1e-11)
    assert np.all(np.isfinite(criterion.backward(np.array([0.0, 1.0]), np.array([1.0, 0.0]))))


def test_bce_weights_are_shared_across_the_batch():
    x, t = np.array([[0.2, 0.6], [0.9, 0.5]]), np.array([[0.0, 1.0], [1.0, 1.0]])
    w = np.array([2.0, 0.5])
    loss = nn.BCECriterion(weights=w, size_average=False).forward(x, t)
    assert loss == pytest.approx(-(2 * np.log(0.8) + 0.5 * np.log(0.6) + 2 * np.log(0.9) + 0.5 * np.log(0.5)))


def test_dist_kl_div_size_average_divides_by_the_number_of_elements(torch):
    """Torch's DistKLDiv sizeAverage is kl_div(reduction='mean'), not 'batchmean'."""
    rng = np.random.default_rng(3)
    x, t = log_probabilities(4)(rng, 3), sparse_probabilities_like(rng, np.empty((3, 4)))
    loss = nn.DistKLDivCriterion().forward(x, t)
    expected = sum(t[i, j] * (np.log(t[i, j]) - x[i, j]) for i in range(3) for j in range(4) if t[i, j] > 0) / 12
    assert loss == pytest.approx(expected, rel=1e-12)
    batchmean = torch.nn.functional.kl_div(torch.from_numpy(x), torch.from_numpy(t), reduction="batchmean")
    assert loss != pytest.approx(batchmean.item())


def test_dist_kl_div_ignores_targets_that_are_not_positive():
    """As Torch: terms with t ≤ 0 contribute nothing, to the loss or to the gradient."""
    x, t = np.log(np.array([0.5, 0.5])), np.array([-0.5, 0.5])
    criterion = nn.DistKLDivCriterion()
    assert criterion.forward(x, t) == pytest.approx(0.5 * (np.log(0.5) - np.log(0.5)) / 2)
    np.testing.assert_array_equal(criterion.backward(x, t), [0.0, -0.25])


def test_torch_behaviours_at_the_kinks():
    """Exactly at a kink, Torch's choices: Abs +1, Margin 0, HingeEmbedding −1 (x = margin), SmoothL1 ±1."""
    one = np.array([1.0])
    np.testing.assert_array_equal(nn.AbsCriterion().backward(one, one), [1.0])
    np.testing.assert_array_equal(nn.MarginCriterion().backward(one, one), [0.0])
    np.testing.assert_array_equal(nn.HingeEmbeddingCriterion().backward(one, -one), [-1.0])
    np.testing.assert_array_equal(nn.SmoothL1Criterion().backward(np.array([2.0, -2.0]), np.zeros(2)), [0.5, -0.5])
    np.testing.assert_array_equal(nn.MultiMarginCriterion().backward(np.array([1.0, 0.0]), 0), [0.0, 0.0])


def test_hinge_embedding_values():
    x, t = np.array([0.3, 0.3, 1.5]), np.array([1.0, -1.0, -1.0])
    criterion = nn.HingeEmbeddingCriterion(margin=1.0, size_average=False)
    assert criterion.forward(x, t) == pytest.approx(0.3 + 0.7 + 0.0)
    np.testing.assert_array_equal(criterion.backward(x, t), [1.0, -1.0, 0.0])


def test_multi_criterion_adds_weighted_terms():
    x, t = np.array([0.0, 2.0]), np.array([1.0, 1.0])
    criterion = nn.MultiCriterion().add(nn.MSECriterion()).add(nn.AbsCriterion(), weight=0.5)
    assert criterion.forward(x, t) == pytest.approx(1.0 + 0.5 * 1.0)
    np.testing.assert_allclose(criterion.backward(x, t), [-1.0 - 0.25, 1.0 + 0.25])
    assert repr(criterion) == "nn.MultiCriterion(MSECriterion, 0.5 * AbsCriterion)"


def test_parallel_criterion_repeats_or_splits_the_target():
    x = [np.array([0.0, 2.0]), np.array([3.0])]
    split = nn.ParallelCriterion().add(nn.MSECriterion(), 2.0).add(nn.AbsCriterion())
    assert split.forward(x, [np.array([1.0, 1.0]), np.array([1.0])]) == pytest.approx(2 * 1.0 + 2.0)
    grads = split.backward(x, [np.array([1.0, 1.0]), np.array([1.0])])
    assert isinstance(grads, list) and len(grads) == 2
    np.testing.assert_allclose(grads[0], [-2.0, 2.0])
    np.testing.assert_allclose(grads[1], [1.0])
    repeated = nn.ParallelCriterion(repeat_target=True).add(nn.MSECriterion()).add(nn.MSECriterion())
    x2 = [np.array([0.0]), np.array([3.0])]
    assert repeated.forward(x2, np.array([1.0])) == pytest.approx(1.0 + 4.0)


def test_combinations_convert_their_criteria_to_float32():
    multi = nn.MultiCriterion().add(nn.ClassNLLCriterion(weights=[1.0, 2.0])).float()
    assert multi.criterions[0].weights.dtype == np.float32
    parallel = nn.ParallelCriterion().add(nn.BCECriterion(weights=[1.0, 2.0])).float()
    assert parallel.criterions[0].weights.dtype == np.float32


@pytest.mark.parametrize("cls", [nn.MSECriterion, nn.AbsCriterion, nn.SmoothL1Criterion, nn.BCECriterion,
                                 nn.MarginCriterion, nn.SoftMarginCriterion, nn.HingeEmbeddingCriterion,
                                 nn.DistKLDivCriterion, nn.ClassNLLCriterion, nn.CrossEntropyCriterion,
                                 nn.MultiMarginCriterion, nn.MultiClassHingeCriterion])
def test_size_average_constructor_argument(cls):
    assert cls().sizeAverage is True
    assert cls(size_average=False).sizeAverage is False


# -- errors ---------------------------------------------------------------------------------------


def test_class_nll_label_out_of_range():
    criterion = nn.ClassNLLCriterion()
    with pytest.raises(IndexError, match=r"^ClassNLLCriterion: target 3 out of range for 3 classes "
                                         r"\(labels are 0-based\)$"):
        criterion.forward(np.zeros(3), 3)
    with pytest.raises(IndexError, match="target -1 out of range for 3 classes"):
        criterion.forward(np.zeros(3), -1)


def test_label_range_is_checked_on_every_call():
    criterion = nn.CrossEntropyCriterion()
    x = np.zeros((3, 4))
    criterion.forward(x, np.array([0, 1, 3]))  # shapes now checked and cached
    with pytest.raises(IndexError, match=r"^CrossEntropyCriterion: target 4 out of range for 4 classes"):
        criterion.forward(x, np.array([0, 4, 1]))
    with pytest.raises(IndexError, match="target 7 out of range"):
        criterion.backward(x, np.array([7, 0, 1]))


@pytest.mark.parametrize("target", [np.array([0.0, 1.0]), 1.0, True], ids=["float array", "float", "bool"])
def test_class_criteria_want_integer_labels(target):
    x = np.zeros((2, 3)) if isinstance(target, np.ndarray) else np.zeros(3)
    with pytest.raises(TypeError, match=r"^ClassNLLCriterion: expected (an )?integer (class labels|class label)"):
        nn.ClassNLLCriterion().forward(x, target)


def test_class_criteria_shape_errors():
    with pytest.raises(ValueError, match=r"MultiMarginCriterion: expected input of shape \(n_classes,\) or "
                                         r"\(batch, n_classes\), got \(2, 3, 4\)"):
        nn.MultiMarginCriterion().forward(np.zeros((2, 3, 4)), np.zeros(2, dtype=int))
    with pytest.raises(ValueError, match=r"expected a target of shape \(5,\) \(one label per example\) "
                                         r"for input of shape \(5, 3\), got \(4,\)"):
        nn.ClassNLLCriterion().forward(np.zeros((5, 3)), np.zeros(4, dtype=int))
    with pytest.raises(TypeError, match=r"expected an integer array of shape \(5,\) as target, got int"):
        nn.ClassNLLCriterion().forward(np.zeros((5, 3)), 1)
    with pytest.raises(ValueError, match="has 2 class weights but the input has 3 classes"):
        nn.ClassNLLCriterion(weights=[1.0, 2.0]).forward(np.zeros(3), 0)
    with pytest.raises(ValueError, match="MultiClassHingeCriterion: expected at least 2 classes"):
        nn.MultiClassHingeCriterion().forward(np.zeros((2, 1)), np.zeros(2, dtype=int))
    with pytest.raises(ValueError, match="expected p = 1 or 2, got 3"):
        nn.MultiMarginCriterion(p=3)


def test_pointwise_criteria_shape_and_type_errors():
    with pytest.raises(ValueError, match=r"^MSECriterion: expected a target of the input's shape \(3,\), got \(4,\)"):
        nn.MSECriterion().forward(np.zeros(3), np.zeros(4))
    with pytest.raises(ValueError, match=r"AbsCriterion: expected a target of the input's shape \(5, 2\), "
                                         r"got \(4, 2\)"):
        nn.AbsCriterion().forward(np.zeros((5, 2)), np.zeros((4, 2)))
    with pytest.raises(TypeError, match="MSECriterion: expected a NumPy array as target, got list"):
        nn.MSECriterion().forward(np.zeros(2), [0.0, 1.0])
    with pytest.raises(TypeError, match="MSECriterion: expected a floating-point input, got dtype int64"):
        nn.MSECriterion().forward(np.zeros(2, dtype=np.int64), np.zeros(2))
    with pytest.raises(ValueError, match=r"BCECriterion\(weights of size 2\): expected input whose last "
                                         r"dimension has 2 elements"):
        nn.BCECriterion(weights=[1.0, 2.0]).forward(np.full(3, 0.5), np.ones(3))


def test_bce_wants_probabilities():
    with pytest.raises(ValueError, match=r"BCECriterion: expected probabilities in \[0, 1\] as input .*"
                                         r"got values in \[-0.5, 0.5\]"):
        nn.BCECriterion().forward(np.array([-0.5, 0.5]), np.ones(2))


def test_combination_errors():
    parallel = nn.ParallelCriterion().add(nn.MSECriterion()).add(nn.AbsCriterion())
    with pytest.raises(TypeError, match=r"ParallelCriterion\(MSECriterion, AbsCriterion\): expected a list of 2 "
                                        r"inputs \(one per criterion\), got a list of 1"):
        parallel.forward([np.zeros(2)], [np.zeros(2)])
    with pytest.raises(TypeError, match="expected a list of 2 targets .*repeat_target=True.* got ndarray"):
        parallel.forward([np.zeros(2), np.zeros(2)], np.zeros(2))
    with pytest.raises(ValueError, match="MultiCriterion: has no criteria"):
        nn.MultiCriterion().forward(np.zeros(2), np.zeros(2))
    with pytest.raises(TypeError, match="expected a Criterion, got Linear"):
        nn.MultiCriterion().add(nn.Linear(2, 2))


def test_labels_are_checked_on_every_forward_and_in_backward_when_they_change():
    criterion = nn.ClassNLLCriterion()
    scores = np.log(np.full((3, 3), 1 / 3))
    labels = np.array([0, 1, 2])
    criterion.forward(scores, labels)
    criterion.backward(scores, labels)
    with pytest.raises(IndexError, match="target 3 out of range for 3 classes"):
        criterion.backward(scores, np.array([0, 3, 1]))
    labels[1] = -1
    with pytest.raises(IndexError, match="target -1 out of range"):
        criterion.forward(scores, labels)


def test_clear_state_drops_buffers_and_the_next_call_recreates_them():
    scores, labels = np.log(np.full((4, 3), 1 / 3)), np.array([0, 1, 2, 0])
    combined = nn.MultiCriterion().add(nn.CrossEntropyCriterion()).add(nn.ClassNLLCriterion(), 0.5)
    loss = combined.forward(scores, labels)
    grad = combined.backward(scores, labels).copy()
    assert combined.clearState() is combined
    inner = combined.criterions[0]
    assert inner._buffer is None and inner.gradInput.size == 0 and combined.gradInput.size == 0
    assert combined.forward(scores, labels) == loss
    np.testing.assert_array_equal(combined.backward(scores, labels), grad)
