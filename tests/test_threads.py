"""BLAS threads limited so that jobs × threads never exceeds the cores: in fit, and in parallel_map's workers."""

from __future__ import annotations

import numpy as np
import pytest

from ember import distributed, nn, threads
from ember.train import fit

threadpoolctl = pytest.importorskip("threadpoolctl", reason="pip install threadpoolctl (an ember dependency)")


def blas_counts() -> list[int]:
    return [info["num_threads"] for info in threadpoolctl.threadpool_info() if info["user_api"] == "blas"]


def worker_blas_threads(_item) -> list[int]:
    """Run in a parallel_map worker: the BLAS threads it may use."""
    np.dot(np.ones((2, 2)), np.ones((2, 2)))  # NumPy's BLAS is loaded
    return blas_counts()


def test_threads_per_job_shares_the_idle_cores_and_never_goes_below_one(monkeypatch):
    monkeypatch.setattr(threads.os, "getloadavg", lambda: (0.9, 0.9, 0.9))  # this process alone
    assert threads.threads_per_job(1) == threads.cores()
    assert threads.threads_per_job(threads.cores()) == 1
    assert threads.threads_per_job(10 * threads.cores()) == 1
    monkeypatch.setattr(threads.os, "getloadavg", lambda: (5.0 * threads.cores(),) * 3)  # a busy machine
    assert threads.threads_per_job(1) == 1
    with threads.blas_threads(1) as limit:
        assert limit == 1 and set(blas_counts()) == {1}


def test_the_limit_holds_inside_the_block_never_raises_and_is_undone():
    before = blas_counts()
    with threads.blas_threads(10 * threads.cores()) as limit:
        assert limit == 1 and set(blas_counts()) == {1}
        with threads.blas_threads(1) as inner:  # a share of all the cores: not more than the outer limit
            assert inner == 1 and set(blas_counts()) == {1}
    assert blas_counts() == before


def test_fit_trains_within_the_limit_of_its_caller():
    seen = []
    model, criterion = nn.Sequential(nn.Linear(3, 2)), nn.MSECriterion()
    X, y = np.ones((4, 3)), np.zeros((4, 2))
    fit(model, criterion, X, y, epochs=1, progress=False, callbacks=[lambda epoch, logs: seen.append(blas_counts())])
    assert max(seen[0]) <= threads.cores()
    with threadpoolctl.threadpool_limits(limits=1, user_api="blas"):
        fit(model, criterion, X, y, epochs=1, progress=False,
            callbacks=[lambda epoch, logs: seen.append(blas_counts())])
    assert set(seen[1]) == {1}


def test_parallel_map_workers_share_the_cores():
    counts = distributed.parallel_map(worker_blas_threads, range(2), executor="processes", workers=2)
    for worker in counts:
        assert worker and max(worker) <= threads.threads_per_job(2)
