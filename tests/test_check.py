"""Tests of ember.check: Jacobians, check_module, gradient_error, check_model and its bug localiser."""

from __future__ import annotations

import re

import numpy as np
import pytest

from ember import check, nn
from ember.check import (
    assert_gradients,
    assert_module,
    check_model,
    check_module,
    gradient_error,
    jacobian,
    jacobian_error,
    record_inputs,
    relative_error,
)
from ember.errors import InputError
from ember.nn.module import resized


def rng(seed=0):
    return np.random.default_rng(seed)


def by_name(report, name, argument=None):
    found = [c for c in report.checks if c.name == name and (argument is None or c.argument == argument)]
    assert found, f"no {name} check in\n{report}"
    return found[0]


# -- modules with planted bugs ----------------------------------------------------------------------


class WrongGradInput(nn.Linear):
    """A Linear whose updateGradInput is 1.5 times too large."""

    def updateGradInput(self, input, gradOutput):
        self.gradInput = resized(self.gradInput, input)
        np.matmul(gradOutput, 1.5 * self.weight, out=self.gradInput)
        return self.gradInput


class WrongGradWeight(nn.Linear):
    """A Linear that forgets to add the input's last column into gradWeight."""

    def accGradParameters(self, input, gradOutput, scale=1.0):
        x = input.copy()
        x[..., -1] = 0.0
        self.gradWeight += scale * (np.outer(gradOutput, x) if x.ndim == 1 else gradOutput.T @ x)
        self.gradBias += scale * (gradOutput if x.ndim == 1 else gradOutput.sum(axis=0))


class Overwriting(nn.Linear):
    """A Linear whose backward overwrites gradWeight and gradBias instead of accumulating."""

    def accGradParameters(self, input, gradOutput, scale=1.0):
        self.gradWeight[...] = scale * (np.outer(gradOutput, input) if input.ndim == 1 else gradOutput.T @ input)
        self.gradBias[...] = scale * (gradOutput if input.ndim == 1 else gradOutput.sum(axis=0))


class IgnoresScale(nn.Linear):
    """A Linear that adds the plain gradient whatever the scale."""

    def accGradParameters(self, input, gradOutput, scale=1.0):
        self.gradWeight += np.outer(gradOutput, input) if input.ndim == 1 else gradOutput.T @ input
        self.gradBias += gradOutput if input.ndim == 1 else gradOutput.sum(axis=0)


class BatchBiasBug(nn.Linear):
    """Right for one example; in a batch gradBias gets the grand total in every entry."""

    def accGradParameters(self, input, gradOutput, scale=1.0):
        if input.ndim == 1:
            super().accGradParameters(input, gradOutput, scale)
        else:
            self.gradWeight += scale * (gradOutput.T @ input)
            self.gradBias += scale * gradOutput.sum()


class Doubler(nn.Module):
    """y = 2x, correct."""

    def updateOutput(self, input):
        self.output = resized(self.output, input)
        return np.multiply(input, 2.0, out=self.output)

    def updateGradInput(self, input, gradOutput):
        self.gradInput = resized(self.gradInput, input)
        return np.multiply(gradOutput, 2.0, out=self.gradInput)


class MutatesInput(Doubler):
    """y = 2x, computed by doubling the caller's input in place."""

    def updateOutput(self, input):
        input *= 2.0
        self.output = resized(self.output, input)
        np.copyto(self.output, input)
        return self.output


class MutatesGradOutput(Doubler):
    """Backward doubles gradOutput in place and returns it."""

    def updateGradInput(self, input, gradOutput):
        gradOutput *= 2.0
        self.gradInput = gradOutput
        return gradOutput


class AffineBackward(Doubler):
    """Backward adds a constant: not linear in gradOutput (and its Jacobian is off too)."""

    def updateGradInput(self, input, gradOutput):
        self.gradInput = 2.0 * gradOutput + 0.25
        return self.gradInput


class Upcasts(Doubler):
    """Computes in float64 whatever the input's dtype."""

    def updateOutput(self, input):
        self.output = input * np.ones(input.shape)
        self.output *= 2.0
        return self.output


class CenterAll(nn.Module):
    """y = x − mean(x) over ALL elements: right for one example, wrong for a batch (not per example)."""

    def updateOutput(self, input):
        self.output = input - input.mean()
        return self.output

    def updateGradInput(self, input, gradOutput):
        self.gradInput = gradOutput - gradOutput.mean()
        return self.gradInput


class HalfSigmoid(nn.Sigmoid):
    """A Sigmoid whose gradient is half what it should be."""

    def updateGradInput(self, input, gradOutput):
        super().updateGradInput(input, gradOutput)
        self.gradInput *= 0.5
        return self.gradInput


class ReLUWrongAtZero(nn.ReLU):
    """ReLU whose derivative at 0 is 2: outside [0, 1], so a bug, not a kink."""

    def updateGradInput(self, input, gradOutput):
        self.gradInput = gradOutput * np.where(input > 0, 1.0, np.where(input == 0, 2.0, 0.0))
        return self.gradInput


class HalvingSequential(nn.Sequential):
    """A container whose own backward is wrong (its children are right)."""

    def backward(self, input, gradOutput, scale=1.0):
        grad = super().backward(input, gradOutput, scale)
        self.gradInput = 0.5 * grad
        return self.gradInput

    def updateGradInput(self, input, gradOutput):
        self.gradInput = 0.5 * super().updateGradInput(input, gradOutput)
        return self.gradInput


class HalfMSE(nn.MSECriterion):
    """MSE whose gradient is half what it should be."""

    def updateGradInput(self, input, target):
        super().updateGradInput(input, target)
        self.gradInput *= 0.5
        return self.gradInput


# -- jacobian ---------------------------------------------------------------------------------------


def test_jacobian_of_linear_is_the_weight_and_input_outer_structure():
    module = nn.Linear(4, 3, rng=rng())
    x = rng(1).standard_normal(4)
    analytic, numeric = jacobian(module, x)
    np.testing.assert_allclose(analytic, module.weight, rtol=0, atol=1e-15)
    np.testing.assert_allclose(numeric, module.weight, atol=1e-8)
    analytic, numeric = jacobian(module, x, param="weight")
    expected = np.zeros((3, 12))
    for i in range(3):
        expected[i, 4 * i:4 * i + 4] = x  # ∂y_i/∂W_ij = x_j
    np.testing.assert_allclose(analytic, expected, atol=1e-15)
    np.testing.assert_allclose(numeric, expected, atol=1e-8)
    analytic, numeric = jacobian(module, x, param=1)  # the bias
    np.testing.assert_allclose(analytic, np.eye(3), atol=1e-15)
    np.testing.assert_allclose(numeric, np.eye(3), atol=1e-8)


def test_jacobian_of_sigmoid_is_diagonal_sigma_one_minus_sigma():
    x = rng().standard_normal(5)
    s = 1 / (1 + np.exp(-x))
    analytic, numeric = jacobian(nn.Sigmoid(), x)
    np.testing.assert_allclose(analytic, np.diag(s * (1 - s)), atol=1e-15)
    np.testing.assert_allclose(numeric, np.diag(s * (1 - s)), atol=1e-9)


def test_jacobian_of_a_table_input_has_one_column_per_element_in_order():
    a, b = rng().standard_normal(3), rng(1).standard_normal(3)
    analytic, numeric = jacobian(nn.CAddTable(), [a, b])
    np.testing.assert_allclose(analytic, np.hstack([np.eye(3), np.eye(3)]), atol=1e-15)
    np.testing.assert_allclose(numeric, np.hstack([np.eye(3), np.eye(3)]), atol=1e-8)


def test_jacobian_leaves_input_parameters_and_gradients_as_they_were():
    module = nn.Linear(4, 3, rng=rng())
    module.gradWeight[...] = 7.0
    weight, grad = module.weight.copy(), module.gradWeight.copy()
    x = rng(1).standard_normal((2, 4))
    x_before = x.copy()
    jacobian(module, x, param="weight")
    jacobian(module, x)
    assert np.array_equal(module.weight, weight)  # bit for bit
    assert np.array_equal(module.gradWeight, grad)
    assert np.array_equal(x, x_before)


def test_jacobian_refuses_an_integer_input_and_unknown_parameters():
    with pytest.raises(TypeError, match="cannot differentiate"):
        jacobian(nn.LookupTable(5, 2), np.array([0, 3]))
    with pytest.raises(ValueError, match="no parameter 'kernel'"):
        jacobian(nn.Linear(2, 2), np.ones(2), param="kernel")
    with pytest.raises(IndexError, match="out of range"):
        jacobian(nn.Linear(2, 2), np.ones(2), param=2)


def test_jacobian_error_is_small_for_a_correct_module_and_large_for_a_wrong_one():
    x = rng(1).standard_normal(4)
    assert jacobian_error(nn.Linear(4, 3, rng=rng()), x) < 1e-8
    assert jacobian_error(WrongGradInput(4, 3, rng=rng()), x) > 1e-2


# -- check_module: correct modules ------------------------------------------------------------------


@pytest.mark.parametrize(("make", "x"), [
    (lambda: nn.Linear(4, 3, rng=rng()), rng(1).standard_normal(4)),
    (lambda: nn.Linear(4, 3, rng=rng()), rng(1).standard_normal((5, 4))),
    (lambda: nn.Sigmoid(), rng(1).standard_normal((2, 3))),
    (lambda: nn.ReQU(), rng(1).standard_normal(6)),
    (lambda: nn.Sequential(nn.Linear(4, 3, rng=rng()), nn.Tanh(), nn.Linear(3, 2, rng=rng(2))),
     rng(1).standard_normal(4)),
    (lambda: nn.ParallelTable(nn.Linear(4, 3, rng=rng()), nn.Sigmoid()),
     [rng(1).standard_normal(4), rng(2).standard_normal(2)]),
], ids=["Linear", "Linear-batch", "Sigmoid", "ReQU", "Sequential", "ParallelTable-table"])
def test_check_module_passes_correct_modules(make, x):
    report = check_module(make(), x)
    assert report.ok, str(report)
    assert {c.name for c in report.checks} == {"jacobian", "batch", "accumulate", "scale", "deterministic",
                                               "linear", "unchanged", "dtype"}
    assert all(c.status in ("PASS", "SKIP") for c in report.checks)


def test_report_has_a_header_and_one_line_per_check_naming_module_argument_and_values():
    module = nn.Linear(4, 3, rng=rng())
    report = check_module(module, rng(1).standard_normal(4))
    lines = str(report).splitlines()
    assert len(lines) == 1 + len(report.checks)
    assert lines[0].startswith("check_module Linear(4 -> 3) at input (4,) float64: OK")
    assert [c.argument for c in report.checks if c.name == "jacobian"] == ["input", "weight", "bias"]
    weight_line = next(line for line in lines if "jacobian" in line and " weight:" in line)
    assert re.search(r"PASS\s+jacobian\s+Linear\(4 -> 3\) weight: max error \S+ at "
                     r"d output\[\d\] / d weight\[\d, \d\]: backprop \S+, numeric \S+", weight_line)


def test_check_module_names_parameters_of_children_by_their_place():
    model = nn.Sequential(nn.Linear(4, 3, rng=rng()), nn.Sigmoid(), nn.Linear(3, 2, rng=rng()))
    report = check_module(model, rng(1).standard_normal(4))
    assert [c.argument for c in report.checks if c.name == "jacobian"] == [
        "input", "[0].weight", "[0].bias", "[2].weight", "[2].bias"]


def test_integer_input_skips_the_input_jacobian_but_checks_the_weight():
    report = check_module(nn.LookupTable(5, 3, rng=rng()), np.array([0, 1, 4, 1]))
    assert report.ok, str(report)
    assert by_name(report, "jacobian", "input").status == "SKIP"
    assert "int64" in by_name(report, "jacobian", "input").message
    assert by_name(report, "jacobian", "weight").status == "PASS"
    assert by_name(report, "batch").status == "PASS"


def test_batch_check_stacks_the_example_or_takes_the_given_batch():
    single = check_module(nn.Linear(4, 3, rng=rng()), rng(1).standard_normal(4))
    assert "a batch of 3" in by_name(single, "batch").message
    batch = check_module(nn.Linear(4, 3, rng=rng()), rng(1).standard_normal((5, 4)))
    assert "the input as a batch of 5" in by_name(batch, "batch").message
    table = check_module(nn.CAddTable(), [rng(1).standard_normal((2, 3)), rng(2).standard_normal((2, 3))])
    assert by_name(table, "batch").status == "PASS"
    assert by_name(check_module(nn.Sigmoid(), np.ones(3), batch=False), "batch").status == "SKIP"
    explicit = check_module(nn.Sigmoid(), rng(1).standard_normal((4, 2)), batch=True)
    assert "the input as a batch of 4" in by_name(explicit, "batch").message


def test_batch_check_skips_a_module_whose_leading_dimension_is_not_a_batch():
    check = by_name(check_module(nn.Sum(0), rng(1).standard_normal((4, 5))), "batch")
    assert check.status == "SKIP" and "no batch mode" in check.message


def test_check_module_restores_gradients_and_running_statistics():
    module = nn.Linear(4, 3, rng=rng())
    module.gradWeight[...] = 3.0
    module.gradBias[...] = -1.0
    check_module(module, rng(1).standard_normal(4))
    assert np.all(module.gradWeight == 3.0) and np.all(module.gradBias == -1.0)
    norm = nn.BatchNormalization(3)
    mean, var = norm.running_mean.copy(), norm.running_var.copy()
    check_module(norm, rng(1).standard_normal((6, 3)))
    assert np.array_equal(norm.running_mean, mean) and np.array_equal(norm.running_var, var)


def test_checking_in_float32_warns():
    module = nn.Linear(4, 3, rng=rng()).float()
    with pytest.warns(UserWarning, match="single precision.*float64"):
        check_module(module, rng(1).standard_normal(4).astype(np.float32), eps=1e-3, tol=1e-2)


# -- check_module: planted bugs ---------------------------------------------------------------------


def test_wrong_update_grad_input_fails_the_input_jacobian_with_a_precise_message():
    module = WrongGradInput(4, 3, rng=rng())
    report = check_module(module, rng(1).standard_normal(4))
    assert not report.ok
    failed = report.failed
    assert [(c.name, c.argument) for c in failed] == [("jacobian", "input")]
    check = failed[0]
    row, col = check.index
    assert check.expected == pytest.approx(module.weight[row, col], abs=1e-8)  # the numeric derivative
    assert check.actual == pytest.approx(1.5 * module.weight[row, col], abs=1e-12)  # the backprop one
    line = str(check)
    assert line.startswith("FAIL  jacobian")
    assert f"WrongGradInput(4 -> 3) input: at d output[{row}] / d input[{col}]: backprop {check.actual:.6g} " \
           f"vs numeric {check.expected:.6g}" in line
    assert "12 of 12 elements wrong" in line or "elements wrong" in line
    assert str(report).splitlines()[0].endswith("FAIL (9 passed, 1 failed)")


def test_wrong_grad_weight_fails_the_weight_jacobian_only():
    report = check_module(WrongGradWeight(4, 3, rng=rng()), rng(1).standard_normal(4))
    assert [(c.name, c.argument) for c in report.failed] == [("jacobian", "weight")]
    assert by_name(report, "jacobian", "weight").index[1] % 4 == 3  # the last input column


def test_module_that_mutates_its_input_fails_unchanged_and_the_callers_input_is_intact():
    x = rng(1).standard_normal(5)
    before = x.copy()
    report = check_module(MutatesInput(), x)
    assert np.array_equal(x, before)
    check = by_name(report, "unchanged")
    assert check.status == "FAIL"
    assert "input" in check.message and "after forward" in check.message and "was modified" in check.message
    assert [c.name for c in report.failed] == ["unchanged"]


def test_module_that_mutates_grad_output_fails_unchanged():
    check = by_name(check_module(MutatesGradOutput(), rng(1).standard_normal(5)), "unchanged")
    assert check.status == "FAIL" and check.message.startswith("gradOutput[")


def test_overwriting_grad_weight_fails_accumulate_and_says_so():
    report = check_module(Overwriting(4, 3, rng=rng()), rng(1).standard_normal(4))
    assert [c.name for c in report.failed] == ["accumulate"]
    check = by_name(report, "accumulate")
    assert check.argument in ("gradWeight", "gradBias")
    assert "overwrites the gradient instead of adding to it" in check.message
    assert check.actual == pytest.approx(check.expected / 2)


def test_ignoring_scale_fails_scale_and_says_so():
    report = check_module(IgnoresScale(4, 3, rng=rng()), rng(1).standard_normal(4))
    assert [c.name for c in report.failed] == ["scale"]
    assert "ignores scale" in by_name(report, "scale").message


def test_batch_only_bug_fails_the_batch_check_and_names_the_gradient():
    report = check_module(BatchBiasBug(4, 3, rng=rng()), rng(1).standard_normal(4))
    assert [c.name for c in report.failed] == ["batch"]
    assert by_name(report, "batch").argument == "gradBias"
    report = check_module(CenterAll(), rng(1).standard_normal(4))
    assert [c.name for c in report.failed] == ["batch"]
    assert "of example" in by_name(report, "batch").message


def test_backward_that_is_not_linear_fails_linear():
    report = check_module(AffineBackward(), rng(1).standard_normal(3))
    check = by_name(report, "linear")
    assert check.status == "FAIL" and "zero gradOutput" in check.message


def test_random_forward_fails_deterministic_with_a_hint():
    report = check_module(nn.Dropout(0.5, rng=rng()), rng(1).standard_normal(20))
    check = by_name(report, "deterministic")
    assert check.status == "FAIL" and "evaluate()" in check.message
    assert check_module(nn.Dropout(0.5).evaluate(), rng(1).standard_normal(20)).ok


def test_upcasting_module_fails_dtype():
    check = by_name(check_module(Upcasts(), rng(1).standard_normal(3)), "dtype")
    assert check.status == "FAIL" and "float32" in check.message and "float64" in check.message


def test_forward_that_raises_is_one_failure():
    report = check_module(nn.Linear(4, 3), np.ones(5))
    assert [(c.name, c.status) for c in report.checks] == [("forward", "FAIL")]
    assert "expected input of shape (4,)" in report.checks[0].message


# -- kinks ------------------------------------------------------------------------------------------


def test_relu_exactly_at_zero_is_a_kink_not_a_failure():
    report = check_module(nn.ReLU(), np.array([0.0, 1.5, -2.0, 0.7]))
    assert report.ok, str(report)
    check = by_name(report, "jacobian", "input")
    assert check.status == "KINK"
    assert check.index == (0, 0)
    assert "backprop 0, one-sided 0 (backward) and 1 (forward), central 0.5" in check.message


def test_relu_within_eps_of_zero_and_ties_in_max_are_kinks():
    assert by_name(check_module(nn.ReLU(), np.array([1e-8, 1.0])), "jacobian").status == "KINK"
    assert by_name(check_module(nn.Max(0), np.array([1.0, 1.0, -3.0])), "jacobian").status == "KINK"


def test_a_derivative_outside_the_one_sided_differences_at_a_kink_is_a_failure():
    check = by_name(check_module(ReLUWrongAtZero(), np.array([0.0, 1.5, -2.0])), "jacobian")
    assert check.status == "FAIL" and check.actual == 2.0


# -- gradient_error ---------------------------------------------------------------------------------


def mlp(*middle):
    return nn.Sequential(nn.Linear(4, 5, rng=rng(1)), nn.Tanh(), *middle, nn.Linear(5, 3, rng=rng(3)))


def test_relative_error_is_symmetric_and_zero_for_two_zeros():
    assert relative_error(np.zeros(3), np.zeros(3)) == 0.0
    assert relative_error(np.ones(2), np.ones(2)) == 0.0
    assert relative_error(np.array([1.0, 0.0]), np.array([0.0, 1.0])) == pytest.approx(1.0)
    assert relative_error(np.array([1.0]), np.array([-1.0])) == np.inf


def test_gradient_error_is_small_for_a_correct_model_and_large_for_a_planted_bug():
    x, y = rng(5).standard_normal((6, 4)), rng(6).standard_normal((6, 3))
    assert gradient_error(mlp(nn.Linear(5, 5, rng=rng(2)), nn.Sigmoid()), nn.MSECriterion(), x, y) < 1e-7
    assert gradient_error(mlp(WrongGradInput(5, 5, rng=rng(2)), nn.Sigmoid()), nn.MSECriterion(), x, y) > 1e-2
    model = nn.Sequential(nn.Linear(4, 3, rng=rng()), nn.LogSoftMax())
    assert gradient_error(model, nn.ClassNLLCriterion(), x, np.array([0, 1, 2, 0, 1, 2])) < 1e-7


def test_gradient_error_is_zero_when_both_gradients_are_zero():
    model = nn.Linear(3, 2)
    model.weight[...] = 0.0
    model.bias[...] = 0.0
    assert gradient_error(model, nn.MSECriterion(), rng().standard_normal(3), np.zeros(2)) == 0.0


def test_gradient_error_leaves_parameters_gradients_views_and_input_alone():
    model = mlp()
    flat, flat_grads = model.getParameters()
    flat_grads[...] = 0.25
    before = flat.copy()
    x, y = rng(5).standard_normal((2, 4)), rng(6).standard_normal((2, 3))
    x_before = x.copy()
    gradient_error(model, nn.MSECriterion(), x, y)
    assert np.array_equal(flat, before) and np.all(flat_grads == 0.25) and np.array_equal(x, x_before)
    flat[0] += 1.0  # the caller's flat vector still drives the model: no re-flattening
    assert model.modules[0].weight.flat[0] == before[0] + 1.0


def test_gradient_error_in_float32_warns():
    model = nn.Linear(3, 2).float()
    with pytest.warns(UserWarning, match="single precision"):
        gradient_error(model, nn.MSECriterion(), np.ones(3, np.float32), np.zeros(2, np.float32), eps=1e-3)


# -- check_model and the bug localiser --------------------------------------------------------------


def test_check_model_passes_a_correct_model_without_localising():
    report = check_model(mlp(nn.Linear(5, 5, rng=rng(2)), nn.Sigmoid()), nn.MSECriterion(),
                         rng(5).standard_normal((3, 4)), rng(6).standard_normal((3, 3)))
    assert report.ok and report.error < 1e-7 and report.input_error < 1e-7
    assert report.failures == [] and not report.localised and report.n_parameters == 25 + 30 + 18
    assert str(report).startswith("check_model Sequential with MSECriterion: OK")


def test_localiser_names_exactly_the_wrong_linear_in_a_deep_model():
    bug = WrongGradInput(6, 5, rng=rng(2))
    model = nn.Sequential(nn.Linear(4, 6, rng=rng(1)), nn.Tanh(), bug, nn.Sigmoid(),
                          nn.Linear(5, 3, rng=rng(3)), nn.Tanh(), nn.Linear(3, 2, rng=rng(4)))
    report = check_model(model, nn.MSECriterion(), rng(5).standard_normal((3, 4)), rng(6).standard_normal((3, 2)))
    assert not report.ok and report.error > 1e-3 and report.localised
    assert len(report.failures) == 1 and report.failures[0] is bug
    assert report.failure_names == ["model[2] WrongGradInput(6 -> 5)"]
    text = str(report)
    assert "FAIL  jacobian      model[2] WrongGradInput(6 -> 5) input: at d output[" in text
    assert text.splitlines()[-1] == "wrong: model[2] WrongGradInput(6 -> 5)"


def test_localiser_finds_a_bug_inside_nested_sequential_and_concat():
    bug = WrongGradInput(6, 2, rng=rng(2))
    model = nn.Sequential(
        nn.Linear(4, 6, rng=rng(1)), nn.Tanh(),
        nn.Concat(1, nn.Sequential(nn.Linear(6, 3, rng=rng(3)), nn.Sigmoid()),
                  nn.Sequential(bug, nn.Tanh())),
        nn.Linear(5, 2, rng=rng(4)))
    report = check_model(model, nn.MSECriterion(), rng(5).standard_normal((3, 4)), rng(6).standard_normal((3, 2)))
    assert not report.ok
    assert len(report.failures) == 1 and report.failures[0] is bug
    assert report.failure_names == ["model[2][1][0] WrongGradInput(6 -> 2)"]
    checked = [r.module for r in report.reports]
    assert checked[:3] == ["model[0] Linear(4 -> 6)", "model[1] Tanh", "model[2][0][0] Linear(6 -> 3)"]
    assert checked[-1] == "criterion MSECriterion"


def test_localiser_finds_wrong_parameter_gradients_and_tables_through_concat_and_parallel_tables():
    bug = WrongGradWeight(3, 3, rng=rng(3))
    model = nn.Sequential(nn.ConcatTable(nn.Linear(4, 3, rng=rng(1)), nn.Sequential(nn.Linear(4, 3, rng=rng(2)), bug)),
                          nn.ParallelTable(nn.Tanh(), nn.Sigmoid()), nn.CAddTable(), nn.Linear(3, 2, rng=rng(4)))
    x = rng(5).standard_normal((2, 4))
    report = check_model(model, nn.MSECriterion(), x, rng(6).standard_normal((2, 2)))
    assert len(report.failures) == 1 and report.failures[0] is bug
    assert report.failure_names == ["model[0][1][1] WrongGradWeight(3 -> 3)"]
    bug_report = next(r for r in report.reports if r.module.startswith("model[0][1][1]"))
    assert [c.argument for c in bug_report.failed] == ["weight"]

    half = HalfSigmoid()
    model = nn.Sequential(nn.ConcatTable(nn.Linear(4, 3, rng=rng(1)), nn.Linear(4, 3, rng=rng(2))),
                          nn.ParallelTable(nn.Tanh(), half), nn.CAddTable(), nn.Linear(3, 2, rng=rng(4)))
    report = check_model(model, nn.MSECriterion(), x, rng(6).standard_normal((2, 2)))
    assert len(report.failures) == 1 and report.failures[0] is half


def test_a_wrong_first_module_shows_in_the_input_error_and_is_localised():
    bug = WrongGradInput(4, 5, rng=rng(1))
    model = nn.Sequential(bug, nn.Tanh(), nn.Linear(5, 3, rng=rng(3)))
    report = check_model(model, nn.MSECriterion(), rng(5).standard_normal((2, 4)), rng(6).standard_normal((2, 3)))
    assert report.error < 1e-7  # no parameter gradient depends on the first module's gradInput
    assert report.input_error > 1e-2
    assert not report.ok and len(report.failures) == 1 and report.failures[0] is bug


def test_a_wrong_criterion_is_the_failure():
    criterion = HalfMSE()
    report = check_model(mlp(), criterion, rng(5).standard_normal((2, 4)), rng(6).standard_normal((2, 3)))
    assert report.failures == [criterion] and report.failure_names == ["criterion HalfMSE"]
    assert "FAIL  jacobian      criterion HalfMSE input: at d loss / d input[" in str(report)


def test_a_wrong_container_is_found_when_every_leaf_passes():
    inner = HalvingSequential(nn.Linear(3, 3, rng=rng(2)), nn.Tanh())
    model = nn.Sequential(nn.Linear(4, 3, rng=rng(1)), inner, nn.Linear(3, 2, rng=rng(3)))
    report = check_model(model, nn.MSECriterion(), rng(5).standard_normal((2, 4)), rng(6).standard_normal((2, 2)))
    assert len(report.failures) == 1 and report.failures[0] is inner


def test_a_whole_model_disagreement_from_a_kink_is_ok_with_no_failures():
    first = nn.Linear(3, 2, rng=rng(1))
    first.weight[0] = 0.0
    first.bias[0] = 0.0  # hidden unit 0 sits exactly at the ReLU's kink
    model = nn.Sequential(first, nn.ReLU(), nn.Linear(2, 1, rng=rng(2)))
    report = check_model(model, nn.MSECriterion(), rng(5).standard_normal(3), np.array([0.3]))
    assert report.error > 1e-3 and report.localised
    assert report.ok and report.failures == []
    assert by_name(report.reports[1], "jacobian", "input").status == "KINK"
    assert "inputs at kinks" in str(report)


def test_record_inputs_follows_what_each_container_gives_its_children():
    a, b, c, d = nn.Linear(4, 3, rng=rng(1)), nn.Linear(4, 3, rng=rng(2)), nn.Tanh(), nn.Sigmoid()
    table, parallel = nn.ConcatTable(a, b), nn.ParallelTable(c, d)
    model = nn.Sequential(table, parallel)
    x = rng(5).standard_normal(4)
    records = record_inputs(model, x)
    received = {id(m): inp for m, inp in records}
    assert [m for m, _ in records] == [model, table, a, b, parallel, c, d]
    for module in (model, table, a, b):
        assert np.array_equal(received[id(module)], x)
    np.testing.assert_array_equal(received[id(c)], a.weight @ x + a.bias)
    np.testing.assert_array_equal(received[id(d)], b.weight @ x + b.bias)
    assert all("forward" not in m.__dict__ for m in model.listModules())


def test_assert_helpers_raise_with_the_report_and_return_it_when_ok():
    x = rng(1).standard_normal(4)
    assert assert_module(nn.Linear(4, 3), x).ok
    with pytest.raises(AssertionError, match=r"FAIL  jacobian      WrongGradInput\(4 -> 3\) input"):
        assert_module(WrongGradInput(4, 3), x)
    y = rng(6).standard_normal((2, 3))
    assert assert_gradients(mlp(), nn.MSECriterion(), rng(5).standard_normal((2, 4)), y).ok
    with pytest.raises(AssertionError, match=r"wrong: model\[2\] WrongGradInput\(5 -> 5\)"):
        assert_gradients(mlp(WrongGradInput(5, 5)), nn.MSECriterion(), rng(5).standard_normal((2, 4)), y)


@pytest.mark.parametrize("tol", [float("nan"), -1e-6, float("inf"), "1e-6"])
def test_a_tolerance_that_would_pass_or_fail_everything_is_refused(tol):
    with pytest.raises(InputError, match=rf"check_module: tol must be a finite number >= 0, got {tol!r}"):
        check.check_module(nn.Tanh(), np.array([0.1, -0.2]), tol=tol)
    model, criterion = nn.Sequential(nn.Linear(2, 2)), nn.MSECriterion()
    with pytest.raises(InputError, match=r"check_model: tol must be a finite number >= 0"):
        check.check_model(model, criterion, np.ones((1, 2)), np.zeros((1, 2)), tol=tol)


@pytest.mark.parametrize("eps", [0.0, -1e-6, float("nan"), float("inf")])
def test_a_finite_difference_step_that_is_not_positive_is_refused(eps):
    with pytest.raises(InputError, match=rf"jacobian: eps must be a finite number > 0, got {eps!r}"):
        check.jacobian(nn.Tanh(), np.array([0.1, -0.2]), eps=eps)
    with pytest.raises(InputError, match=r"check_module: eps must be a finite number > 0"):
        check.check_module(nn.Tanh(), np.array([0.1, -0.2]), eps=eps)


class _SquaredError(nn.Criterion):
    """½‖x − t‖² with planted mistakes, for check_criterion."""

    def __init__(self, bug: str | None = None) -> None:
        super().__init__()
        self.bug = bug

    def updateOutput(self, input, target):
        if self.bug == "writes input":
            input += 0.0 * input + 1e-3
        loss = 0.5 * float(np.sum((input - target) ** 2)) * (2.0 if self.bug == "batch" and input.ndim > 1 else 1.0)
        self.output = np.float64(loss) if self.bug == "numpy loss" else loss
        return self.output

    def updateGradInput(self, input, target):
        grad = input - target
        if self.bug == "accumulates":
            self.gradInput = grad if self.gradInput.shape != grad.shape else self.gradInput + grad
        else:
            self.gradInput = (-grad if self.bug == "sign" else grad).astype(input.dtype)
        return self.gradInput


@pytest.mark.parametrize(("bug", "failed"), [(None, []), ("sign", ["jacobian"]), ("batch", ["jacobian", "batch"]),
                                             ("accumulates", ["batch", "accumulate", "deterministic"]),
                                             ("writes input", ["batch", "unchanged"]), ("numpy loss", ["dtype"])])
def test_check_criterion_finds_each_planted_mistake(bug, failed):
    rng = np.random.default_rng(0)
    x, t = rng.normal(size=(3, 4)), rng.normal(size=(3, 4))
    kept = x.copy()
    report = check.check_criterion(_SquaredError(bug), x, t, batch=True)
    assert sorted(c.name for c in report.failed) == sorted(failed), str(report)
    assert str(report).startswith("check_criterion _SquaredError at input (3, 4) float64: ")
    np.testing.assert_array_equal(x, kept)
