"""The W8 parts (max pooling, convolution backward) run every implementation, and W7L is set against W7-16."""

from __future__ import annotations

import pytest

from benchmarks.__main__ import LOADED_TARGET, _loaded_vs_quiet
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
            {"workload": "W7L W7-16, every core busy", "ember_s": 3.0, "numpy_s": 1.5}]
    line = _loaded_vs_quiet(rows)
    assert "ember 1.50x" in line and "numpy 1.50x" in line and f"{LOADED_TARGET}x" in line
    assert rows[1]["ember_loaded_vs_quiet"] == 1.5
    assert _loaded_vs_quiet(rows[:1]) == ""
