"""The harness's arithmetic: paired ratios, interleaving, and what is reported when a runner is missing."""

from __future__ import annotations

import pytest

from benchmarks.harness import Result, format_table, measure, ratio, ratio_range


def test_ratio_is_the_median_of_the_per_repetition_ratios():
    # The machine slows down 3x in the middle repetitions: the paired ratio still says "ember takes half".
    results = {"ember": Result("W", "ember", [1.0, 3.0, 3.0, 1.0, 1.0]),
               "numpy": Result("W", "numpy", [2.0, 6.0, 6.0, 2.0, 2.0])}
    assert ratio(results, "numpy") == pytest.approx(0.5)
    results["numpy"].times = [2.0, 6.0, 1.0, 2.0, 4.0]  # per repetition: 0.5, 0.5, 3, 0.5, 0.25
    assert ratio(results, "numpy") == pytest.approx(0.5)


def test_ratio_range_is_the_spread_of_the_per_repetition_ratios():
    results = {"ember": Result("W", "ember", [1.0, 3.0, 3.0, 1.0, 1.0]),
               "numpy": Result("W", "numpy", [2.0, 6.0, 1.0, 2.0, 4.0])}  # 0.5, 0.5, 3, 0.5, 0.25
    assert ratio_range(results, "numpy") == pytest.approx((0.25, 3.0))
    assert ratio_range(results, "pytorch") is None
    row = {"workload": "W", "unit": "epoch", "ember_s": 1.0, "numpy_s": 2.0, "pytorch_s": None,
           "ember_vs_pytorch": None, "ember_vs_numpy": 0.5, "target_vs_pytorch": None, "target_vs_numpy": 1.0,
           "ember_peak_bytes": None, "ember_vs_numpy_range": ratio_range(results, "numpy")}
    assert "0.25-3.00" in format_table([row])


def test_ratio_is_none_without_both_timings():
    results = {"ember": Result("W", "ember", [1.0]), "pytorch": Result("W", "pytorch", note="not installed")}
    assert ratio(results, "pytorch") is None
    assert ratio(results, "numpy") is None


def test_measure_interleaves_and_rotates_the_order(monkeypatch):
    monkeypatch.setattr("benchmarks.harness.SETTLE_SECONDS", 0.0)
    calls = []
    runners = {name: (lambda name=name: calls.append(name)) for name in ("ember", "numpy")}
    runners["pytorch"] = "not installed"
    results = measure("W", runners, repeat=3, memory=())
    assert calls == ["ember", "numpy",  # warm-up
                     "ember", "numpy", "numpy", "ember", "ember", "numpy"]
    assert len(results["ember"].times) == 3 and results["pytorch"].note == "not installed"
    row = {"workload": "W", "unit": "epoch", "ember_s": results["ember"].median, "numpy_s": results["numpy"].median,
           "pytorch_s": None, "ember_vs_pytorch": None, "ember_vs_numpy": ratio(results, "numpy"),
           "target_vs_pytorch": 1.0, "target_vs_numpy": 1.0, "ember_peak_bytes": None}
    assert "not installed" in format_table([row])
