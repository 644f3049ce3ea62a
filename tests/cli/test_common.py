"""The shared behaviour of every command: one-line errors, exit statuses, defaults shown, pipes, Ctrl-C."""

from __future__ import annotations

import argparse
import os
import subprocess
import sys

import pytest

from ember.cli import main
from ember.cli.common import UsageError, guard
from ember.cli.main import build_parser


@pytest.mark.parametrize(("argv", "prog"), [
    (["gradients", "relu", "--out", "x"], "ember gradients relu"),
    (["check", "Tanh", "--bogus"], "ember check"),
    (["train", "--dataset", "iris", "--bogus"], "ember train"),
])
def test_an_option_a_command_does_not_take_is_reported_by_its_own_usage(argv, prog, capsys):
    assert main(argv) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert err == [f"{prog}: error: unrecognized arguments: {' '.join(argv[-2 if argv[-1] == 'x' else -1:])} "
                   f"(see '{prog} --help')"]


def test_defaults_are_shown_by_argparse(capsys):
    assert main(["lab", "xor", "--help"]) == 0
    text = " ".join(capsys.readouterr().out.split())
    assert "the step size (default: 0.25)" in text and "(default: 2 tanh 1 sigmoid)" in text
    assert "(default: None)" not in text and "(default: False)" not in text


def test_every_command_has_a_handler_and_its_own_parser():
    parser = build_parser()
    commands = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction)).choices
    assert {"demo", "train", "evaluate", "predict", "neuralnet", "iris", "lab", "gradients", "tour", "check",
            "bench"} <= set(commands)
    for name, sub in commands.items():
        assert sub.prog == f"ember {name}"


def handler_raising(error):
    def handler(args):
        raise error
    return handler


@pytest.mark.parametrize(("error", "status", "line"), [
    (UsageError("bad\n  combination"), 2, "ember x: error: bad combination"),
    (ValueError("refused"), 1, "ember x: error: refused"),
    (FileNotFoundError("nope.csv: no such file"), 1, "ember x: error: nope.csv: no such file"),
    (FloatingPointError("the loss is nan"), 1, "ember x: error: the loss is nan"),
    (KeyboardInterrupt(), 130, "ember x: interrupted"),
    (AttributeError("'NoneType' object has no attribute 'x'"), 70, "ember x: internal error: AttributeError: "
     "'NoneType' object has no attribute 'x' (run with EMBER_DEBUG=1 for the traceback)"),
    (RecursionError("maximum recursion depth exceeded"), 70, "ember x: internal error: RecursionError: maximum "
     "recursion depth exceeded (run with EMBER_DEBUG=1 for the traceback)"),
])
def test_the_guard_turns_failures_into_one_line_and_a_status(error, status, line, capsys):
    assert guard("ember x", handler_raising(error), argparse.Namespace()) == status
    assert capsys.readouterr().err.splitlines() == [line]


def test_a_closed_pipe_ends_quietly():
    env = dict(os.environ, MPLBACKEND="Agg")
    process = subprocess.Popen([sys.executable, "-m", "ember", "tour"], stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE, env=env)
    process.stdout.readline()  # `ember tour | head -1`
    process.stdout.close()
    stderr = process.stderr.read().decode()
    process.stderr.close()
    assert process.wait(timeout=60) in (0, 141)
    assert "Broken pipe" not in stderr and "Traceback" not in stderr and "Exception ignored" not in stderr, stderr


def test_ctrl_c_prints_one_line_exits_130_and_keeps_the_runs_that_finished(tmp_path, monkeypatch, capsys):
    from ember.recipes import ocr

    real, finished = ocr.sweep_run, []

    def run_then_ctrl_c(run):  # Ctrl-C arrives as KeyboardInterrupt during the second run
        if finished:
            raise KeyboardInterrupt
        finished.append(run)
        return real(run)

    monkeypatch.setattr(ocr, "sweep_run", run_then_ctrl_c)
    argv = ["neuralnet", "sweep", "--split", "tiny", "--epochs", "3", "--hidden", "2", "3", "--learning-rates", "0.1",
            "--executor", "none", "--out", str(tmp_path)]  # in this process, where the patched run is
    assert main(argv) == 130
    captured = capsys.readouterr()
    assert captured.err.strip().splitlines() == ["ember neuralnet sweep: interrupted"]
    rows = (tmp_path / "sweep.csv").read_text().splitlines()
    assert len(rows) == 1 + 3 and rows[1].startswith("2,0.1,1,")  # the header and the finished run's epochs
    assert "(1 of 2 runs finished)" in captured.out


def test_ember_debug_lets_an_unexpected_exception_through(monkeypatch):
    monkeypatch.setenv("EMBER_DEBUG", "1")
    with pytest.raises(AttributeError, match="boom"):
        guard("ember x", handler_raising(AttributeError("boom")), argparse.Namespace())
