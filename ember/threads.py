"""BLAS threads: how many one job may use, so that jobs × threads never exceeds the cores.

NumPy's OpenBLAS starts one thread per core. Run several trainings at once (a sweep's workers, a grader's
students) and every one of them starts as many again: on a busy machine the threads then wait for each
other and a mini-batch step runs many times slower. :func:`blas_threads` limits every BLAS library loaded
in this process (through threadpoolctl) for the duration of a ``with`` block: ``fit`` runs inside
``blas_threads(1)``, and :func:`ember.distributed.parallel_map`'s process and MPI workers each start with
``limit_blas_threads(workers)``. The cores that other work keeps busy (the load average) are not counted,
and a limit never raises the threads above what they were (an ``OPENBLAS_NUM_THREADS=1`` set by the user,
or a worker's limit, stays).
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any


def cores() -> int:
    """The cores this process may run on (its CPU affinity where the system reports it)."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except (AttributeError, OSError):
        return os.cpu_count() or 1


def busy_cores() -> int:
    """The cores other work keeps busy now: the one-minute load average less this process's own thread,
    rounded down (0 where the system does not report it).
    """
    try:
        load = os.getloadavg()[0]
    except (AttributeError, OSError):
        return 0
    return max(0, int(load - 1.0))


def threads_per_job(jobs: int = 1) -> int:
    """``cores() // jobs``, and no more than the cores not busy with other work, at least 1: the BLAS threads
    each of ``jobs`` concurrent jobs may use. On a busy machine a second thread only waits for a core (a
    LeNet step at batch 64 measured 24× slower with two OpenBLAS threads than with one under a load of 10
    on 2 cores), so there it is one.
    """
    share = max(1, cores() // max(1, int(jobs)))
    return max(1, min(share, cores() - busy_cores()))


def _controller() -> Any:
    """The BLAS libraries loaded now, as a threadpoolctl controller (``None`` without threadpoolctl)."""
    try:
        from threadpoolctl import ThreadpoolController
    except ImportError:
        return None
    return ThreadpoolController().select(user_api="blas")


def _limit(controller: Any, jobs: int) -> int | None:
    """The threads each BLAS library gets: the share of ``jobs``, never more than the fewest it has now."""
    current = [info["num_threads"] for info in controller.info()]
    return min([threads_per_job(jobs), *current]) if current else None


def limit_blas_threads(jobs: int = 1) -> int | None:
    """Limit this process's BLAS threads to ``threads_per_job(jobs)`` from now on (a worker's start);
    return the limit set, or ``None`` where threadpoolctl or a BLAS library is missing.
    """
    controller = _controller()
    if controller is None:
        return None
    limit = _limit(controller, jobs)
    if limit is not None:
        controller.limit(limits=limit)
    return limit


@contextmanager
def blas_threads(jobs: int = 1) -> Iterator[int | None]:
    """Within the block, BLAS uses at most ``threads_per_job(jobs)`` threads (and no more than it did);
    the previous numbers are restored after it. Yields the limit (``None``: nothing to limit).
    """
    controller = _controller()
    limit = None if controller is None else _limit(controller, jobs)
    if limit is None:
        yield None
        return
    with controller.limit(limits=limit):
        yield limit
