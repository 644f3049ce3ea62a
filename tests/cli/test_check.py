"""Tests of the ``ember`` command line: ``ember check`` as a subprocess, and its parsing helpers."""

from __future__ import annotations

import subprocess
import sys
import textwrap

import pytest

from ember.cli import main
from ember.cli.check import default_input_shape, parse_literals, parse_shape, split_arguments
from ember.cli.common import UsageError

LAYERS = textwrap.dedent('''
    import numpy as np

    from ember import nn
    from ember.nn.module import resized


    class Doubler(nn.Module):
        """y = 2x."""

        def updateOutput(self, input):
            self.output = resized(self.output, input)
            return np.multiply(input, 2.0, out=self.output)

        def updateGradInput(self, input, gradOutput):
            self.gradInput = resized(self.gradInput, input)
            return np.multiply(gradOutput, 2.0, out=self.gradInput)


    class WrongDoubler(Doubler):
        """y = 2x, but a backward of 3."""

        def updateGradInput(self, input, gradOutput):
            self.gradInput = resized(self.gradInput, input)
            return np.multiply(gradOutput, 3.0, out=self.gradInput)


    class Scale(nn.Module):
        """y = factor · x for inputs of size n_in."""

        def __init__(self, n_in, factor=1.0, name="scale"):
            super().__init__()
            self.n_in, self.factor, self.name = n_in, factor, name

        def checkInput(self, input):
            super().checkInput(input)
            if input.shape[-1] != self.n_in:
                self.fail(f"expected {self.n_in} features, got {input.shape}")

        def updateOutput(self, input):
            self.output = self.factor * input
            return self.output

        def updateGradInput(self, input, gradOutput):
            self.gradInput = self.factor * gradOutput
            return self.gradInput

        def extra_repr(self):
            return f"{self.n_in}, {self.factor:g}, {self.name}"


    class Crashes(Doubler):
        def updateGradInput(self, input, gradOutput):
            raise RuntimeError("boom")


    class NotAModule:
        pass
''')


@pytest.fixture
def layers(tmp_path):
    path = tmp_path / "layers.py"
    path.write_text(LAYERS)
    return path


def ember(*args, cwd=None):
    return subprocess.run([sys.executable, "-m", "ember", *map(str, args)], capture_output=True, text=True,
                          timeout=120, cwd=cwd)


def assert_usage_error(result, *fragments):
    assert result.returncode == 2, result.stdout + result.stderr
    assert result.stdout == ""
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("ember check: error: ")
    assert "Traceback" not in result.stderr
    for fragment in fragments:
        assert fragment in lines[0]


def test_a_correct_module_from_a_file_passes_with_exit_0(layers, tmp_path):
    result = ember("check", f"{layers}:Doubler", "--input-shape", "2,3", cwd=tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr
    lines = result.stdout.splitlines()
    assert lines[0].startswith("check_module Doubler at input (2, 3) float64: OK")
    assert any(line.startswith("  PASS  jacobian      Doubler input: ") for line in lines)
    assert not any("FAIL" in line for line in lines)


def test_a_wrong_module_fails_with_exit_1_and_names_the_element(layers):
    result = ember("check", f"{layers}:WrongDoubler")
    assert result.returncode == 1, result.stdout + result.stderr
    assert "check_module WrongDoubler at input (4, 5) float64: FAIL" in result.stdout
    fail = [line for line in result.stdout.splitlines() if "FAIL  jacobian" in line]
    assert len(fail) == 1
    assert "WrongDoubler input: at d output[" in fail[0] and "backprop 3 vs numeric 2" in fail[0]


def test_a_module_that_crashes_in_backward_is_a_failure_not_a_traceback(layers):
    result = ember("check", f"{layers}:Crashes")
    assert result.returncode == 1
    assert "raised RuntimeError: boom" in result.stdout
    assert "Traceback" not in result.stderr


def test_arguments_are_python_literals_and_n_in_sets_the_default_shape(layers):
    result = ember("check", f"{layers}:Scale", "--args", "3,", "factor=2.5", "name='half'")
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.startswith("check_module Scale(3, 2.5, half) at input (3,) float64: OK")


def test_builtin_modules_by_name(layers):
    result = ember("check", "Linear", "--args", "3", "2")
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.startswith("check_module Linear(3 -> 2) at input (3,) float64: OK")
    result = ember("check", "ReQU", "--input-shape", "3,5")
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.startswith("check_module ReQU at input (3, 5) float64: OK")
    result = ember("check", "Sigmoid", "--no-batch")
    assert result.returncode == 0
    assert "SKIP  batch" in result.stdout


@pytest.mark.parametrize(("args", "fragments"), [
    (["{dir}/missing.py:Doubler"], ["no such file", "missing.py"]),
    (["{layers}:Nope"], ["defines no 'Nope'"]),
    (["{layers}:Dobler"], ["did you mean Doubler"]),
    (["{layers}:NotAModule"], ["not a subclass of ember.nn.Module"]),
    (["{layers}"], ["name the class to check"]),
    (["Linaer"], ["ember.nn has no module 'Linaer'", "did you mean Linear"]),
    (["Sigmoid", "--input-shape", "4,x"], ["bad --input-shape '4,x'"]),
    (["Sigmoid", "--input-shape", "0,3"], ["bad --input-shape"]),
    (["Linear", "--args", "3", "2", "--input-shape", "4"], ["does not take an input of shape (4,)", "--input-shape"]),
    (["Linear", "--args", "relu"], ["cannot read 'relu' as a Python literal"]),
    (["Linear", "--args", "3"], ["cannot create Linear(3)", "TypeError"]),
    (["{layers}:Scale", "--args", "factor=2", "3"], ["positional argument '3' after keyword"]),
])
def test_bad_arguments_give_one_line_on_stderr_and_exit_2(layers, tmp_path, capsys, args, fragments):
    args = [a.format(layers=layers, dir=tmp_path) for a in args]
    code = main(["check", *args])  # in process, for speed; the subprocess tests below cover the same path
    captured = capsys.readouterr()
    assert_usage_error(subprocess.CompletedProcess(args, code, captured.out, captured.err), *fragments)


def test_bad_arguments_as_a_subprocess(layers, tmp_path):
    assert_usage_error(ember("check", tmp_path / "missing.py:Doubler"), "no such file")
    assert_usage_error(ember("check", f"{layers}:Nope"), "defines no 'Nope'")
    assert_usage_error(ember("check", "Sigmoid", "--input-shape", "4,x"), "bad --input-shape")


def test_a_file_that_fails_to_import_is_a_usage_error(tmp_path):
    broken = tmp_path / "broken.py"
    broken.write_text("def oops(:\n")
    assert_usage_error(ember("check", f"{broken}:X"), "cannot import", "SyntaxError")


def test_no_subcommand_prints_help_and_exits_2():
    result = ember()
    assert result.returncode == 2
    assert "check" in result.stderr


def test_main_returns_the_exit_code_in_process(layers, capsys):
    assert main(["check", f"{layers}:Doubler", "--input-shape", "3"]) == 0
    assert "OK" in capsys.readouterr().out
    assert main(["check", f"{layers}:WrongDoubler", "--input-shape", "3"]) == 1
    assert main(["check", "Nope"]) == 2
    assert main(["check", "--help"]) == 0
    assert main(["check", "Linear", "--bogus"]) == 2
    assert main([]) == 2


def test_parsing_helpers():
    assert split_arguments("3, (1, 2) 'a, b' [4,5],x=1") == ["3", "(1, 2)", "'a, b'", "[4,5]", "x=1"]
    assert parse_literals(["3", "True,", "None", "(2, 3)", "name='x y'", "p=0.5"]) == (
        [3, True, None, (2, 3)], {"name": "x y", "p": 0.5})
    assert parse_shape("4,10") == (4, 10)
    assert parse_shape("(4, 10)") == (4, 10)
    assert parse_shape("7") == (7,)
    with pytest.raises(UsageError):
        parse_shape("")
    with pytest.raises(UsageError):
        parse_shape("-1,2")

    class HasNIn:
        n_in = 6

    assert default_input_shape(HasNIn()) == (6,)
    assert default_input_shape(object()) == (4, 5)


def test_check_plot_writes_the_jacobian_heatmap(tmp_path):
    result = ember("check", "ReQU", "--input-shape", "3,4", "--plot", str(tmp_path))
    assert result.returncode == 0, result.stdout + result.stderr
    figure = tmp_path / "jacobian-ReQU.png"
    assert f"wrote figure: {figure}" in result.stdout
    from matplotlib.image import imread

    pixels = imread(figure)
    assert pixels.std() > 0.01  # not a blank image


def test_check_fast_on_a_model_builder(capsys):
    assert main(["check", "mlp", "--args", "4", "[5]", "'tanh'", "3", "--fast", "--input-shape", "3,4",
                 "--budget", "0.1"]) == 0
    out = capsys.readouterr().out
    assert "fast mode:" in out and "OK" in out.splitlines()[0]
