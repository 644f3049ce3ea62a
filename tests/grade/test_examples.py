"""The two shipped assignments: written out, graded against their own reference and a planted bug."""

from __future__ import annotations

import pytest

from ember import grade

WRONG_REQU = '''
import numpy as np
from ember import nn


class ReQU(nn.Module):
    def updateOutput(self, input):
        self.output = np.where(input > 0, input * input, 0.0)
        return self.output

    def updateGradInput(self, input, gradOutput):
        self.gradInput = 2.0 * input * gradOutput  # forgets the indicator 1[x > 0]
        return self.gradInput
'''

SLOW_LEARNER = '''
from ember.recipes import ocr


def train_and_test(train_data, test_data, num_epoch, num_hidden, init_rand, learning_rate):
    return ocr.train_and_test(train_data, test_data, num_epoch, num_hidden, init_rand, learning_rate / 2)
'''


def test_write_example_writes_the_spec_reference_and_gradescope_scripts(tmp_path):
    written = {path.name for path in grade.write_example("requ", tmp_path)}
    assert written == {"assignment.toml", "reference.py", "setup.sh", "run_autograder"}
    script = (tmp_path / "run_autograder").read_text()
    assert "ember grade assignment.toml /autograder/submission --gradescope" in script
    with pytest.raises(ValueError, match="no example assignment 'mnist'"):
        grade.write_example("mnist", tmp_path)


def test_requ_assignment(tmp_path):
    grade.write_example("requ", tmp_path / "requ")
    students = tmp_path / "students"
    students.mkdir()
    (students / "reference_solution.py").write_text((tmp_path / "requ" / "reference.py").read_text())
    (students / "no_indicator.py").write_text(WRONG_REQU)
    results = {r.student: r for r in grade.grade(tmp_path / "requ" / "assignment.toml", students, tmp_path / "out",
                                                 jobs=2)}
    assert results["reference_solution"].score == results["reference_solution"].max_score == 10
    wrong = {check.name: check for check in results["no_indicator"].checks}
    assert wrong["Jacobian with respect to the input"].score == 0
    assert "likely mistake (mask)" in wrong["Jacobian with respect to the input"].diagnosis
    assert "where the input is negative" in wrong["Jacobian with respect to the input"].diagnosis
    assert wrong["Whole-model gradient check inside the Iris network"].score == 0
    assert "model[1]" in wrong["Whole-model gradient check inside the Iris network"].output
    assert wrong["Zero and negative inputs give zero output and zero gradient"].score == 0
    assert wrong["Forward pass equals the reference on hidden inputs"].score == 2


def test_ocr_assignment(tmp_path):
    grade.write_example("ocr", tmp_path / "ocr")
    students = tmp_path / "students"
    students.mkdir()
    (students / "library.py").write_text("from ember.recipes.ocr import train_and_test  # noqa: F401\n")
    (students / "half_rate.py").write_text(SLOW_LEARNER)
    results = {r.student: r for r in grade.grade(tmp_path / "ocr" / "assignment.toml", students, tmp_path / "out",
                                                 jobs=2)}
    assert results["library"].score == results["library"].max_score == 9
    slow = {check.name: check for check in results["half_rate"].checks}
    zero = slow["ZERO initialisation: losses and errors equal the reference's"]
    assert zero.score == 0 and "loss_per_epoch_train[2] is 2.28066, expected 1.96581" in zero.output
    assert slow["The result has every key, one loss per epoch"].score == 1
