"""Steady-state training reuses its buffers: no net allocation per step, and float32 stays float32."""

from __future__ import annotations

import tracemalloc

import numpy as np

from ember import nn, optim


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


def test_a_float32_model_trains_in_float32_throughout():
    rng = np.random.default_rng(2)
    X, y = rng.random((64, 128), dtype=np.float32), rng.integers(0, 10, 64)
    net, criterion = ocr_network(np.float32)
    params, grads = net.getParameters()
    state = {"learning_rate": 0.1}

    def feval(_):
        output = net.forward(X)
        loss = criterion.forward(output, y)
        grads.fill(0)
        net.backward(X, criterion.backward(output, y))
        return loss, grads

    optim.sgd(feval, params, state)
    arrays = [m.output for m in net.listModules()] + [m.gradInput for m in net.listModules()]
    arrays += [criterion.gradInput, params, grads]
    assert all(a.dtype == np.float32 for a in arrays), sorted({str(a.dtype) for a in arrays})
