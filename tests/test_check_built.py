"""ember.check.built: build a module from a class and its arguments, draw its input, check it (ember check)."""

from __future__ import annotations

import numpy as np
import pytest

import ember
from ember import check, models, nn
from ember.check.built import DEFAULT_INPUT_SHAPE, call_label, check_built, check_built_model, random_target
from ember.check.planted import plant
from ember.nn.module import resized


class Tripled(nn.Module):
    """y = 3x with a backward of 2: a wrong gradInput."""

    def updateOutput(self, input):
        self.output = resized(self.output, input)
        return np.multiply(input, 3.0, out=self.output)

    def updateGradInput(self, input, gradOutput):
        self.gradInput = resized(self.gradInput, input)
        return np.multiply(gradOutput, 2.0, out=self.gradInput)


def test_a_correct_module_passes_at_its_default_input():
    checked = check_built(nn.Linear, (3,), {"n_out": 2}, seed=4)
    assert checked.report.ok, str(checked.report)
    assert isinstance(checked.module, nn.Linear) and checked.module.weight.shape == (2, 3)
    assert checked.input.shape == (3,) and checked.input.dtype == np.float64  # (n_in,) for a module with n_in
    assert np.array_equal(checked.input, np.random.default_rng(4).standard_normal(3))
    assert str(checked.report).startswith("check_module Linear(3 -> 2) at input (3,) float64: OK")
    assert check_built(nn.Tanh).input.shape == DEFAULT_INPUT_SHAPE
    assert check_built(nn.Tanh, input_shape=(2, 3)).input.shape == (2, 3)


def test_a_wrong_module_is_a_failed_report_not_an_exception():
    checked = check_built(Tripled, input_shape=(2, 3), batch=False)
    assert not checked.report.ok
    assert "backprop 2 vs numeric 3" in str(checked.report)
    assert "SKIP  batch" in str(checked.report)


def test_a_refused_input_raises_check_setup_error_naming_module_and_shape():
    with pytest.raises(ember.CheckSetupError, match=r"Linear\(3 -> 2\) does not take an input of shape \(4,\)") as info:
        check_built(nn.Linear, (3, 2), input_shape=(4,))
    assert info.value.input_shape == (4,)
    assert isinstance(info.value, ember.InputError)  # so the guard of the command line knows it as a refusal


def test_a_class_that_does_not_build_or_builds_no_module_raises_check_setup_error():
    with pytest.raises(ember.CheckSetupError, match=r"cannot create Lin\(3\): TypeError") as info:
        check_built(nn.Linear, (3,), name="Lin")
    assert info.value.input_shape is None
    with pytest.raises(ember.CheckSetupError, match=r"dict\(a=1\) is a dict, not an ember.nn.Module"):
        check_built(dict, (), {"a": 1})
    assert call_label("Linear", (3,), {"bias": False}) == "Linear(3, bias=False)"


def test_fast_model_check_passes_a_correct_builder_and_names_a_planted_bug():
    report = check_built_model(models.mlp, (4, [5], "tanh", 3), criterion_for=models.criterion_for,
                               input_shape=(3, 4), budget=0.05)
    assert report.ok and report.mode == "fast", str(report)

    def buggy(n_in):
        model = models.mlp(n_in, [5], "tanh", 3)
        plant(model.get(1), "sign of gradInput")
        return model

    report = check_built_model(buggy, (4,), criterion_for=models.criterion_for, input_shape=(3, 4), budget=0.05)
    assert not report.ok and isinstance(report.failures[0], nn.Tanh), str(report)
    with pytest.raises(ember.CheckSetupError, match="does not take an input of shape") as info:
        check_built_model(models.mlp, (4, [5]), criterion_for=models.criterion_for, input_shape=(3, 7))
    assert info.value.input_shape == (3, 7)
    with pytest.raises(ember.CheckSetupError, match="cannot create mlp: TypeError"):
        check_built_model(models.mlp, (), criterion_for=models.criterion_for)


def test_random_targets_follow_the_criterion_output_meaning():
    rng = np.random.default_rng(0)
    probabilities = random_target(nn.BCECriterion(), np.zeros((5, 2)), rng)
    assert probabilities.shape == (5, 2) and set(np.unique(probabilities)) <= {0.0, 1.0}
    labels = random_target(nn.ClassNLLCriterion(), np.zeros((6, 3)), rng)
    assert labels.shape == (6,) and labels.min() >= 0 and labels.max() < 3
    assert 0 <= random_target(nn.ClassNLLCriterion(), np.zeros(3), rng) < 3
    assert check.default_input_shape(nn.Linear(6, 2)) == (6,)
