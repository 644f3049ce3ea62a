"""Smoke test of the benchmark suite: it runs, compares, and writes its JSON (timings are not asserted)."""

from __future__ import annotations

import json
import subprocess
import sys


def test_ember_bench_runs_a_quick_workload_and_writes_json(tmp_path, torch):
    out = tmp_path / "bench.json"
    result = subprocess.run([sys.executable, "-m", "ember", "bench", "--only", "W3", "--quick", "--repeat", "1",
                             "--json", str(out)], capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr
    assert "W3 full-batch Iris" in result.stdout
    report = json.loads(out.read_text())
    (row,) = report["results"]
    assert row["ember_s"] > 0 and row["numpy_s"] > 0 and row["pytorch_s"] > 0
    assert row["ember_vs_pytorch"] == row["ember_s"] / row["pytorch_s"]
    assert report["environment"]["torch"].startswith("2.13.0")


def test_unknown_workload_is_a_usage_error():
    result = subprocess.run([sys.executable, "-m", "ember", "bench", "--only", "W9"], capture_output=True, text=True)
    assert result.returncode == 2
    assert "unknown workload" in result.stderr


def test_bad_arguments_are_one_line_before_anything_runs(tmp_path):
    """``--repeat 0`` and a JSON path that cannot be written are refused before a (long) run, in one line."""
    (tmp_path / "folder").mkdir()
    for arguments, message in ((["--repeat", "0"], "--repeat takes a number of repetitions >= 1, got 0"),
                               (["--json", str(tmp_path / "folder")], "is a directory, expected a file path"),
                               (["--only", "W9"], "unknown workload")):
        result = subprocess.run([sys.executable, "-m", "ember", "bench", "--only", "W3", *arguments],
                                capture_output=True, text=True, timeout=120)
        assert result.returncode == 2
        assert result.stderr.count("\n") == 1 and result.stderr.startswith("ember bench: error: ")
        assert message in result.stderr
