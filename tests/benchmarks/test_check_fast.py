"""Smoke test of benchmarks/check_fast.py: the fast check on LeNet catches and names every planted bug."""

from __future__ import annotations

from benchmarks import check_fast


def test_fast_check_benchmark_catches_every_planted_bug(capsys):
    # budget 0: exactly the minimum number of directions, whatever the machine's load (a time budget made the
    # number of directions, and so the result, depend on how busy the machine was)
    check_fast.main(["--skip-full", "--budget", "0", "--images", "2"])
    out = capsys.readouterr().out
    bugs = [line for line in out.splitlines() if any(line.startswith(f"| {bug} |") for bug in check_fast.SITES)]
    assert len(bugs) == len(check_fast.SITES)
    assert all("| True | True |" in row for row in bugs), out
