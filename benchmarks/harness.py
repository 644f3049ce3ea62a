"""Timing harness: interleaved A/B repetitions, medians, their spread, peak memory, a table and JSON."""

from __future__ import annotations

import statistics
import time
import tracemalloc
from collections.abc import Callable
from dataclasses import dataclass, field

#: pause before each timed run, so that thread pools left spinning by the previous one go idle.
SETTLE_SECONDS = 0.2


@dataclass
class Result:
    """The timings of one implementation of one workload (seconds per unit of work)."""

    workload: str
    implementation: str
    times: list[float] = field(default_factory=list)
    peak_bytes: int | None = None
    note: str = ""

    @property
    def median(self) -> float:
        return statistics.median(self.times) if self.times else float("nan")


def peak_memory(run: Callable[[], object]) -> int:
    """Peak bytes allocated through Python's allocator (NumPy included, PyTorch's not) during one run."""
    tracemalloc.start()
    try:
        run()
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


def measure(workload: str, runners: dict[str, Callable[[], object] | str], repeat: int,
            memory: tuple[str, ...] = ("ember", "numpy")) -> dict[str, Result]:
    """Time every runner ``repeat`` times, interleaved (A, B, C, B, C, A, ...), after one warm-up each.

    A runner given as a string is not available, and the string says why.
    """
    results = {name: Result(workload, name) for name in runners}
    available = {}
    for name, runner in runners.items():
        if isinstance(runner, str):
            results[name].note = runner
        else:
            available[name] = runner
            runner()  # warm-up: first-call allocations, BLAS thread start, caches
    order = list(available)
    for repetition in range(repeat):
        # Rotate who goes first, and let the previous runner's idle threads (OpenBLAS, OpenMP spin
        # for a while after their work) settle, so that no implementation always follows another.
        shift = repetition % len(order) if order else 0
        for name in order[shift:] + order[:shift]:
            time.sleep(SETTLE_SECONDS)
            start = time.perf_counter()
            available[name]()
            results[name].times.append(time.perf_counter() - start)
    for name in memory:
        if name in available:
            results[name].peak_bytes = peak_memory(available[name])
    return results


def ratio(results: dict[str, Result], other: str) -> float | None:
    """The median over repetitions of ember's time ÷ ``other``'s time in the same repetition, or ``None``
    where either did not run.

    Paired ratios: the two runs of a repetition follow each other, so a stretch where the (shared, noisy)
    machine runs slow weighs on both, where a ratio of the two medians can pair a fast run with a slow one.
    """
    ours, theirs = results.get("ember"), results.get(other)
    if ours is None or theirs is None or not ours.times or not theirs.times:
        return None
    return statistics.median(a / b for a, b in zip(ours.times, theirs.times))


def ratio_range(results: dict[str, Result], other: str) -> tuple[float, float] | None:
    """The smallest and largest per-repetition ratio ember ÷ ``other`` (the run-to-run spread around
    :func:`ratio`), or ``None`` where either did not run.
    """
    ours, theirs = results.get("ember"), results.get(other)
    if ours is None or theirs is None or not ours.times or not theirs.times:
        return None
    ratios = [a / b for a, b in zip(ours.times, theirs.times)]
    return min(ratios), max(ratios)


def format_table(rows: list[dict]) -> str:
    """A plain-text table of the JSON rows."""

    def fmt_time(value):
        return "not installed" if value is None else f"{value * 1e3:10.2f} ms"

    def fmt_ratio(value):
        return "-" if value is None else f"{value:.3f}"

    def fmt_range(value):
        return "-" if not value else f"{value[0]:.2f}-{value[1]:.2f}"

    def fmt_mem(value):
        return "-" if value is None else f"{value / 2**20:.1f} MiB"

    header = (f"{'workload':<34} {'unit':<10} {'ember':>13} {'numpy':>13} {'pytorch':>13} "
              f"{'ember/pytorch':>14} {'target':>7} {'ember/numpy':>12} {'target':>7} {'ember peak':>11} "
              f"{'range /pytorch':>14} {'range /numpy':>12}")
    lines = [header, "-" * len(header)]
    for row in rows:
        lines.append(
            f"{row['workload']:<34} {row['unit']:<10} {fmt_time(row['ember_s']):>13} {fmt_time(row['numpy_s']):>13} "
            f"{fmt_time(row['pytorch_s']):>13} {fmt_ratio(row['ember_vs_pytorch']):>14} "
            f"{fmt_ratio(row['target_vs_pytorch']):>7} {fmt_ratio(row['ember_vs_numpy']):>12} "
            f"{fmt_ratio(row['target_vs_numpy']):>7} {fmt_mem(row['ember_peak_bytes']):>11} "
            f"{fmt_range(row.get('ember_vs_pytorch_range')):>14} {fmt_range(row.get('ember_vs_numpy_range')):>12}")
    return "\n".join(lines)
