"""Tests of the criteria in ember.nn.loss.

The criteria are in the one catalog (``tests/nn/catalog.py``: each ``catalog_*.py`` lists ``CRITERIA`` beside
its modules' ``CASES``; ``catalog_criteria.py`` holds ember.nn's), where ``test_catalog.py`` runs the
``check_criterion`` audit on every entry. The generic tests here run over all of it too (finite-difference
gradients with and without ``sizeAverage``, PyTorch conformance, float32, batch vs examples, protocol); the
specific tests below them check values, Torch behaviours at the kinks and error messages.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

from ember import nn
from ember.check import copy_structure, flatten, leaves
from ember.finite_differences import gradient
from ember.nn.criterion import Criterion
from tests.nn.catalog import CriterionCase, all_criteria
from tests.nn.catalog_criteria import BATCH, log_probabilities, sparse_probabilities_like

CRITERIA = all_criteria()


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
