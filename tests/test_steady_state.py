"""Steady-state training reuses its buffers: no net allocation per step, and float32 stays float32."""

from __future__ import annotations

import tracemalloc
from pathlib import Path

import numpy as np
import pytest

from ember import blas, nn, optim

ROOT = Path(__file__).resolve().parents[1]


def ocr_network(dtype=np.float64):
    rng = np.random.default_rng(0)
    net = nn.Sequential(nn.Linear(128, 50, rng=rng), nn.Sigmoid(), nn.Linear(50, 10, rng=rng))
    return net.type(dtype), nn.CrossEntropyCriterion()


def sgd_step(net, criterion, params, grads, x, label, lr=0.01):
    output = net.forward(x)
    criterion.forward(output, label)
    grads.fill(0)
    net.backward(x, criterion.backward(output, label))
    params -= lr * grads


def optim_sgd_step(net, criterion, params, grads, x, target, state):
    """One ``optim.sgd`` step on ``(x, target)``: Torch's optim idiom, a closure giving loss and flat gradient."""

    def feval(_):
        output = net.forward(x)
        loss = criterion.forward(output, target)
        grads.fill(0)
        net.backward(x, criterion.backward(output, target))
        return loss, grads

    optim.sgd(feval, params, state)


def test_per_example_training_allocates_nothing_that_stays():
    rng = np.random.default_rng(1)
    X, y = (rng.random((600, 128)) < 0.3).astype(np.float64), rng.integers(0, 10, 600)
    net, criterion = ocr_network()
    params, grads = net.getParameters()
    for i in range(100):  # warm up: every buffer gets its shape
        sgd_step(net, criterion, params, grads, X[i], y[i])
    buffers = [id(m.output) for m in net.listModules()] + [id(m.gradInput) for m in net.listModules()]
    tracemalloc.start()
    try:
        before = tracemalloc.get_traced_memory()[0]
        for i in range(100, 600):
            sgd_step(net, criterion, params, grads, X[i], y[i])
        growth = tracemalloc.get_traced_memory()[0] - before
    finally:
        tracemalloc.stop()
    assert growth < 4096, f"{growth} bytes kept after 500 steps"
    assert buffers == [id(m.output) for m in net.listModules()] + [id(m.gradInput) for m in net.listModules()]


def test_mini_batch_training_makes_no_parameter_sized_temporaries():
    """With NumPy's BLAS, weight gradients accumulate inside the GEMM and the SGD step is one axpy: a step's
    peak allocation stays far below one weight matrix (256 KB here), and nothing stays allocated.
    """
    if blas._CBLAS is None:
        pytest.skip("NumPy's BLAS exports no CBLAS here: weight updates take NumPy's route, with temporaries")
    rng = np.random.default_rng(3)
    X, y = rng.random((32 * 60, 64), dtype=np.float32), rng.integers(0, 10, 32 * 60)
    net = nn.Sequential(nn.Linear(64, 256, rng=rng), nn.ReLU(), nn.Linear(256, 256, rng=rng), nn.ReLU(),
                        nn.Linear(256, 10, rng=rng)).float()
    criterion = nn.CrossEntropyCriterion()
    params, grads = net.getParameters()
    state = {"learning_rate": 0.01}

    def step(i):
        optim_sgd_step(net, criterion, params, grads, X[32 * i:32 * (i + 1)], y[32 * i:32 * (i + 1)], state)

    for i in range(10):  # warm up: every buffer gets its shape
        step(i)
    tracemalloc.start()
    try:
        for i in range(10, 20):  # tracing's own first allocations (and ctypes') settle here
            step(i)
        before, snapshot = tracemalloc.get_traced_memory()[0], tracemalloc.take_snapshot()
        tracemalloc.reset_peak()
        for i in range(20, 60):
            step(i)
        peak = tracemalloc.get_traced_memory()[1]
        kept = _kept_by_this_code(snapshot, tracemalloc.take_snapshot())
    finally:
        tracemalloc.stop()
    assert kept < 16 * 1024, f"{kept} bytes kept after 40 steps"  # far below the 64 KB and 256 KB hidden weights
    assert peak - before < 64 * 1024, f"a step allocated {peak - before} bytes at its peak"


def _kept_by_this_code(before: tracemalloc.Snapshot, after: tracemalloc.Snapshot) -> int:
    """Bytes allocated between the snapshots and still held, by code of this repository (ember and the tests):
    threads left by other tests (a progress bar's monitor, an executor's) allocate in the standard library.
    """
    mine = [tracemalloc.Filter(True, str(ROOT / "*"))]
    return sum(stat.size_diff for stat in after.filter_traces(mine).compare_to(before.filter_traces(mine), "filename"))


def test_a_float32_model_trains_in_float32_throughout():
    rng = np.random.default_rng(2)
    X, y = rng.random((64, 128), dtype=np.float32), rng.integers(0, 10, 64)
    net, criterion = ocr_network(np.float32)
    params, grads = net.getParameters()
    optim_sgd_step(net, criterion, params, grads, X, y, {"learning_rate": 0.1})
    arrays = [m.output for m in net.listModules()] + [m.gradInput for m in net.listModules()]
    arrays += [criterion.gradInput, params, grads]
    assert all(a.dtype == np.float32 for a in arrays), sorted({str(a.dtype) for a in arrays})
