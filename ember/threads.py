"""BLAS threads: how many one job may use, so that jobs × threads never exceeds the cores.

NumPy's OpenBLAS starts one thread per core. Run several trainings at once (a sweep's workers, a grader's
students) and every one of them starts as many again: on a busy machine the threads then wait for each
other and a mini-batch step runs many times slower. :func:`blas_threads` limits every BLAS library loaded
in this process (through threadpoolctl) for the duration of a ``with`` block: ``fit`` runs inside
``blas_threads(1)``, and :func:`ember.distributed.parallel_map`'s process and MPI workers each start with
``limit_blas_threads(workers)``. A limit never raises the threads above what they were (an
``OPENBLAS_NUM_THREADS=1`` set by the user, or a worker's limit, stays).
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


def threads_per_job(jobs: int = 1) -> int:
    """``cores() // jobs``, at least 1: the BLAS threads each of ``jobs`` concurrent jobs may use."""
    return max(1, cores() // max(1, int(jobs)))


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
