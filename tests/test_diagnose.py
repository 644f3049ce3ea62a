"""The diagnosis of a failed check: each planted bug named correctly, none claimed for a random wrong backward."""

from __future__ import annotations

import numpy as np
import pytest

from ember import nn
from ember.check import check_module
from ember.check.diagnose import Layout, diagnose_jacobian

# -- planted bugs: a Linear and a ReQU, each with one classic mistake ---------------------------------


class MyLinear(nn.Module):
    """A plain Linear written as a student would; subclasses plant one bug each."""

    def __init__(self, n_in: int, n_out: int) -> None:
        super().__init__()
        rng = np.random.default_rng(3)
        self.register_parameter("weight", rng.uniform(-1, 1, (n_out, n_in)))
        self.register_parameter("bias", rng.uniform(-1, 1, n_out))

    def updateOutput(self, input):
        self.output = input @ self.weight.T + self.bias
        return self.output

    def updateGradInput(self, input, gradOutput):
        self.gradInput = gradOutput @ self.weight
        return self.gradInput

    def accGradParameters(self, input, gradOutput, scale=1.0):
        g, x = np.atleast_2d(gradOutput), np.atleast_2d(input)
        self.gradWeight += scale * g.T @ x
        self.gradBias += scale * g.sum(axis=0)


class Transposed(MyLinear):
    def updateGradInput(self, input, gradOutput):
        self.gradInput = gradOutput @ self.weight.T
        return self.gradInput


class TransposedWeight(MyLinear):
    def accGradParameters(self, input, gradOutput, scale=1.0):
        g, x = np.atleast_2d(gradOutput), np.atleast_2d(input)
        self.gradWeight += scale * x.T @ g
        self.gradBias += scale * g.sum(axis=0)


class Assigned(MyLinear):
    def accGradParameters(self, input, gradOutput, scale=1.0):
        g, x = np.atleast_2d(gradOutput), np.atleast_2d(input)
        self.gradWeight[...] = scale * g.T @ x
        self.gradBias[...] = scale * g.sum(axis=0)


class ScaleIgnored(MyLinear):
    def accGradParameters(self, input, gradOutput, scale=1.0):
        g, x = np.atleast_2d(gradOutput), np.atleast_2d(input)
        self.gradWeight += g.T @ x
        self.gradBias += g.sum(axis=0)


class FirstExampleOnly(MyLinear):
    def accGradParameters(self, input, gradOutput, scale=1.0):
        g, x = np.atleast_2d(gradOutput), np.atleast_2d(input)
        self.gradWeight += scale * np.outer(g[0], x[0])
        self.gradBias += scale * g[0]


class Averaged(MyLinear):
    def accGradParameters(self, input, gradOutput, scale=1.0):
        g, x = np.atleast_2d(gradOutput), np.atleast_2d(input)
        self.gradWeight += scale * g.T @ x / len(x)
        self.gradBias += scale * g.sum(axis=0) / len(x)


class NeverWritten(MyLinear):
    def accGradParameters(self, input, gradOutput, scale=1.0):
        self.gradWeight = scale * np.atleast_2d(gradOutput).T @ np.atleast_2d(input)  # rebinds: lost


class MyReQU(nn.Module):
    """``y = x² · 1[x > 0]``, right; subclasses plant one bug each in the derivative ``2x · 1[x > 0]``."""

    def updateOutput(self, input):
        self.output = np.where(input > 0, input * input, 0.0)
        return self.output

    def derivative(self, input):
        return np.where(input > 0, 2 * input, 0.0)

    def updateGradInput(self, input, gradOutput):
        self.gradInput = self.derivative(input) * gradOutput
        return self.gradInput


class Sign(MyReQU):
    def derivative(self, input):
        return np.where(input > 0, -2 * input, 0.0)


class Doubled(MyReQU):
    def derivative(self, input):
        return np.where(input > 0, 4 * input, 0.0)


class Halved(MyReQU):
    def derivative(self, input):
        return np.where(input > 0, input, 0.0)


class NoIndicator(MyReQU):
    def derivative(self, input):
        return 2 * input


class WrongAtZero(nn.Module):
    """``|x|`` whose derivative at 0 is 3, outside the one-sided slopes −1 and 1."""

    def updateOutput(self, input):
        self.output = np.abs(input)
        return self.output

    def updateGradInput(self, input, gradOutput):
        self.gradInput = np.where(input == 0, 3.0, np.sign(input)) * gradOutput
        return self.gradInput


class SummedOverBatch(MyReQU):
    def updateGradInput(self, input, gradOutput):
        self.gradInput = self.derivative(input) * gradOutput.sum(axis=0)
        return self.gradInput


class Stale(MyReQU):
    """Uses the input of the previous backward call."""

    def __init__(self) -> None:
        super().__init__()
        self.previous = None

    def updateGradInput(self, input, gradOutput):
        x = input if self.previous is None or self.previous.shape != input.shape else self.previous
        self.gradInput = self.derivative(x) * gradOutput
        self.previous = input.copy()
        return self.gradInput


class RandomWrong(MyReQU):
    def updateGradInput(self, input, gradOutput):
        self.gradInput = np.random.default_rng(7).standard_normal(input.shape) * gradOutput
        return self.gradInput


class RandomWrongLinear(MyLinear):
    def updateGradInput(self, input, gradOutput):
        self.gradInput = gradOutput @ np.random.default_rng(7).standard_normal(self.weight.shape)
        return self.gradInput


X = np.random.default_rng(0).standard_normal(4)
X_BATCH = np.random.default_rng(1).standard_normal((3, 4))
WITH_ZERO = np.array([[0.5, 0.0, -1.0], [2.0, -0.3, 0.0]])

PLANTED = [
    ("transposed", Transposed(4, 4), X, "jacobian", "transposed"),
    ("transposed weight", TransposedWeight(4, 4), X, "jacobian", "transposed"),
    ("sign", Sign(), X_BATCH, "jacobian", "sign"),
    ("factor 2", Doubled(), X_BATCH, "jacobian", "factor"),
    ("factor 1/2", Halved(), X_BATCH, "jacobian", "factor"),
    ("assigned", Assigned(4, 3), X, "accumulate", "accumulate"),
    ("scale ignored", ScaleIgnored(4, 3), X, "scale", "scale"),
    ("first example only", FirstExampleOnly(4, 3), X, "batch", "batch"),
    ("averaged over the batch", Averaged(4, 3), X, "batch", "factor"),
    ("summed over the batch", SummedOverBatch(), X_BATCH, "jacobian", "batch"),
    ("never written", NeverWritten(4, 3), X, "jacobian", "zero"),
    ("wrong at a kink", WrongAtZero(), WITH_ZERO, "jacobian", "kink"),
    ("no indicator (a mask)", NoIndicator(), X_BATCH, "jacobian", "mask"),
    ("stale input", Stale(), X, "batch", "stale"),
]


@pytest.mark.parametrize(("bug", "module", "x", "check", "mistake"), PLANTED, ids=[p[0] for p in PLANTED])
def test_each_planted_bug_is_named(bug, module, x, check, mistake):
    report = check_module(module, x)
    assert not report.ok
    failed = [c for c in report.checks if not c.ok and c.name == check]
    assert failed, str(report)
    assert failed[0].diagnosis is not None, str(report)
    assert failed[0].diagnosis.mistake == mistake, str(report)
    assert f"likely mistake ({mistake})" in str(report)


def test_the_diagnosis_names_the_factor_and_the_mask():
    doubled = check_module(Doubled(), X_BATCH).checks[0].diagnosis
    assert "factor 2" in doubled.message
    averaged = next(c for c in check_module(Averaged(4, 3), X).checks if c.name == "batch").diagnosis
    assert "averaged over the batch" in averaged.message
    masked = check_module(NoIndicator(), X_BATCH).checks[0].diagnosis
    assert "where the input is negative" in masked.message


@pytest.mark.parametrize("module", [RandomWrong(), RandomWrongLinear(4, 4)], ids=["elementwise", "linear"])
def test_no_diagnosis_for_a_random_wrong_backward(module):
    report = check_module(module, X_BATCH if isinstance(module, MyReQU) else X)
    assert not report.ok
    assert all(check.diagnosis is None for check in report.checks), str(report)
    assert "likely mistake" not in str(report)


def test_correct_modules_get_no_diagnosis():
    for module, x in ((MyLinear(4, 3), X), (MyReQU(), X_BATCH)):
        report = check_module(module, x)
        assert report.ok, str(report)
        assert all(check.diagnosis is None for check in report.checks)


def test_diagnose_jacobian_on_matrices():
    rng = np.random.default_rng(2)
    N = rng.standard_normal((3, 3))
    assert diagnose_jacobian(N.T, N, 1e-9).mistake == "transposed"
    assert diagnose_jacobian(-N, N, 1e-9).mistake == "sign"
    assert "0.3" in diagnose_jacobian(0.3 * N, N, 1e-9).message
    assert diagnose_jacobian(N + rng.standard_normal((3, 3)), N, 1e-9) is None
    assert diagnose_jacobian(N, N, 1e-9) is None  # nothing wrong: nothing to diagnose
    block = np.kron(np.eye(2), N)  # a batch of 2 examples of 3 elements
    first_only = block.copy()
    first_only[3:, 3:] = 0.5
    found = diagnose_jacobian(first_only, block, 1e-9, Layout((2, 3), (2, 3), None, True))
    assert found.mistake == "batch" and "first example" in found.message


def test_no_mask_is_claimed_where_wrong_elements_sit_at_kinks():
    rng = np.random.default_rng(5)
    N = np.diag(rng.standard_normal(4))
    A = N.copy()
    A[1, 1] += 1.0  # wrong, and the one-sided differences disagree there: several kinks crossed at once
    kinks = np.zeros_like(A, dtype=bool)
    kinks[:, 1] = True
    A[0, 0] += 1.0  # a second wrong element, not at a kink: the kink pattern does not explain all either
    assert diagnose_jacobian(A, N, 1e-9, Layout(), kinks) is None
    assert diagnose_jacobian(A, N, 1e-9, Layout()).mistake == "mask"
