"""ember.nn's criteria in the catalog: one ``CriterionCase`` per criterion configuration (see catalog.py)."""

from __future__ import annotations

import warnings

import numpy as np

from ember import nn
from ember.nn.criterion import Criterion
from tests.nn.catalog import CriterionCase

#: the batch size of the batched inputs.
BATCH = 5


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
