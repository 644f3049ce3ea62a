"""The W8 parts (max pooling, convolution backward) run every implementation, and W7L is set against W7-16."""

from __future__ import annotations

import pytest

from benchmarks.__main__ import IMPORT_TARGET, LOADED_TARGET, _import_line, _loaded_vs_quiet
from benchmarks.training import setup_w8_conv_backward, setup_w8_pooling


@pytest.mark.parametrize("setup", [setup_w8_pooling, setup_w8_conv_backward])
def test_w8_parts_run_ember_and_pytorch(setup, torch):
    runners = setup(quick=True)
    assert isinstance(runners["numpy"], str)  # no hand-written NumPy: the reason is printed
    for name in ("ember", "pytorch"):
        runners[name]()
        runners[name]()  # again: PyTorch's kept graph, ember's kept forward state


def test_w7l_is_reported_against_w7_16_of_the_same_run():
    rows = [{"workload": "W7-16 mini-batch", "ember_s": 2.0, "numpy_s": 1.0},
            {"workload": "W7L W7-16, every core busy", "ember_s": 6.0, "numpy_s": 2.0}]
    line = _loaded_vs_quiet(rows)  # ember/numpy 3.0 loaded against 2.0 quiet: 1.5x; each side slowed 3x and 2x
    assert "ember/numpy 3.00 against 2.00, 1.50x" in line and f"(target {LOADED_TARGET}x)" in line
    assert "ember 3.00x, numpy 2.00x" in line
    assert rows[1]["ratio_loaded_vs_quiet"] == 1.5 and rows[1]["ember_loaded_vs_quiet"] == 3.0
    assert _loaded_vs_quiet(rows[:1]) == ""


def test_the_import_row_is_reported_against_its_absolute_target():
    rows = [{"workload": "I import (fresh process)", "ember_s": 0.2, "numpy_s": 0.09}]
    assert _import_line(rows) == (f"I import ember in a fresh process: 200 ms (target {IMPORT_TARGET * 1e3:.0f} ms; "
                                  f"NumPy alone 90 ms)")
    assert _import_line([]) == ""
