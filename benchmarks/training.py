"""The idiom workloads: the same OCR network trained the ways users write it (W1i the seeds' loop, W1s
``optim.sgd`` with a feval, W1f ``fit(batch_size=1)``, W1c ``ember.fast``), small mini-batches (W7, W7c,
and W7L with every core busy), a LeNet training step (W8), and the start-up time (I).

Each ``setup_*`` returns ``{"ember": run, "numpy": run_or_reason, "pytorch": run_or_reason}`` as in
``benchmarks.workloads``; a ``"close"`` entry, when present, is called once the workload is measured.
"""

from __future__ import annotations

import multiprocessing
import os
import subprocess
import sys

import numpy as np

from ember import models, nn, optim
from ember.train import fit

from .workloads import LR, Workload, _numpy_ocr, _ocr_large, _torch


def _ocr_net() -> nn.Sequential:
    rng = np.random.default_rng(0)
    return nn.Sequential(nn.Linear(128, 50, rng=rng), nn.Sigmoid(), nn.Linear(50, 10, rng=rng))


def _torch_ocr(X: np.ndarray, y: np.ndarray, batch: int):
    torch = _torch(1)
    if torch is None:
        return "not installed"
    torch.manual_seed(0)
    model = torch.nn.Sequential(torch.nn.Linear(128, 50), torch.nn.Sigmoid(), torch.nn.Linear(50, 10)).double()
    loss_fn = torch.nn.CrossEntropyLoss()
    sgd = torch.optim.SGD(model.parameters(), lr=LR)
    Xt, yt = torch.from_numpy(X), torch.from_numpy(y)

    def run():
        for s in range(0, len(X), batch):
            sgd.zero_grad()
            loss_fn(model(Xt[s:s + batch]), yt[s:s + batch]).backward()
            sgd.step()

    return run


def _restarting(net: nn.Module, run):
    """``run`` from the same parameters each call."""
    params = net.getParameters()[0]
    start = params.copy()

    def restarted():
        params[:] = start
        run()

    return restarted


# -- W1 idioms -----------------------------------------------------------------------------------

def setup_w1i(quick: bool) -> dict:
    """The seeds' loop: zeroGradParameters(); forward; backward; updateParameters(lr) (nothing switched off)."""
    X, y, _ = _ocr_large(quick)
    net, criterion = _ocr_net(), nn.CrossEntropyCriterion()

    def run():
        for i in range(len(X)):
            x, target = X[i], y[i]
            output = net.forward(x)
            criterion.forward(output, target)
            net.zeroGradParameters()
            net.backward(x, criterion.backward(output, target))
            net.updateParameters(LR)

    return {"ember": _restarting(net, run), "numpy": _numpy_ocr(X, y, 1), "pytorch": _torch_ocr(X, y, 1)}


def setup_w1s(quick: bool) -> dict:
    """optim.sgd with a feval, one example per step."""
    X, y, _ = _ocr_large(quick)
    net, criterion = _ocr_net(), nn.CrossEntropyCriterion()
    params, grads = net.getParameters()

    def run():
        state = {"learning_rate": LR}
        for i in range(len(X)):
            x, target = X[i], y[i]

            def feval(_, x=x, target=target):
                output = net.forward(x)
                loss = criterion.forward(output, target)
                grads.fill(0)
                net.backward(x, criterion.backward(output, target))
                return loss, grads

            optim.sgd(feval, params, state)

    return {"ember": _restarting(net, run), "numpy": _numpy_ocr(X, y, 1), "pytorch": _torch_ocr(X, y, 1)}


def setup_w1f(quick: bool) -> dict:
    """train.fit(batch_size=1), one epoch in file order (loss recorded, as the others compute it)."""
    X, y, _ = _ocr_large(quick)
    net, criterion = _ocr_net(), nn.CrossEntropyCriterion()

    def run():
        fit(net, criterion, X, y, config={"learning_rate": LR}, epochs=1, batch_size=1, metrics=("loss",),
            progress=False)

    return {"ember": _restarting(net, run), "numpy": _numpy_ocr(X, y, 1), "pytorch": _torch_ocr(X, y, 1)}


def _compiled_ocr(X: np.ndarray, y: np.ndarray, batch: int):
    try:
        from ember import fast
        compiled = fast.compile(_ocr_net(), nn.CrossEntropyCriterion())
    except ImportError:
        return "numba not installed"
    print(f"  ember.fast compile (or cache load): {compiled.compile_seconds:.2f} s", file=sys.stderr)
    return _restarting(compiled.model, lambda: compiled.train(X, y, {"learning_rate": LR}, batch_size=batch))


def setup_w1c(quick: bool) -> dict:
    """ember.fast: the whole epoch in one compiled kernel."""
    X, y, _ = _ocr_large(quick)
    return {"ember": _compiled_ocr(X, y, 1), "numpy": _numpy_ocr(X, y, 1), "pytorch": _torch_ocr(X, y, 1)}


# -- W7: small mini-batches on the OCR network ---------------------------------------------------------

def _setup_w7(batch: int, compiled: bool = False):
    def setup(quick: bool) -> dict:
        X, y, _ = _ocr_large(quick)
        if compiled:
            return {"ember": _compiled_ocr(X, y, batch), "numpy": _numpy_ocr(X, y, batch),
                    "pytorch": _torch_ocr(X, y, batch)}
        net, criterion = _ocr_net(), nn.CrossEntropyCriterion()
        params, grads = net.getParameters()

        def run():
            state = {"learning_rate": LR}
            for s in range(0, len(X), batch):
                xb, yb = X[s:s + batch], y[s:s + batch]

                def feval(_, xb=xb, yb=yb):
                    output = net.forward(xb)
                    loss = criterion.forward(output, yb)
                    grads.fill(0)
                    net.backward(xb, criterion.backward(output, yb))
                    return loss, grads

                optim.sgd(feval, params, state)

        return {"ember": _restarting(net, run), "numpy": _numpy_ocr(X, y, batch), "pytorch": _torch_ocr(X, y, batch)}

    setup.__doc__ = f"OCR network, mini-batches of {batch}, {'ember.fast' if compiled else 'optim.sgd'}, one epoch."
    return setup


def _spin(stop) -> None:
    while not stop.is_set():
        pass


def setup_w7_loaded(quick: bool) -> dict:
    """W7 at batch 16 with a busy-loop process per core running in the background."""
    runners = _setup_w7(16)(quick)
    stop = multiprocessing.Event()
    spinners = [multiprocessing.Process(target=_spin, args=(stop,), daemon=True) for _ in range(os.cpu_count() or 1)]
    for process in spinners:
        process.start()

    def close():
        stop.set()
        for process in spinners:
            process.join()

    return {**runners, "close": close}


# -- W8: a LeNet training step ----------------------------------------------------------------------

def _setup_w8(batch: int):
    def setup(quick: bool) -> dict:
        steps = 2 if quick else 10
        rng = np.random.default_rng(0)
        X = rng.random((batch * steps, 784), dtype=np.float32)
        y = rng.integers(0, 10, batch * steps)
        net, criterion = models.lenet(), nn.ClassNLLCriterion()
        params, grads = net.getParameters()

        def run():
            nonlocal params
            for s in range(0, len(X), batch):
                xb, yb = X[s:s + batch], y[s:s + batch]
                output = net.forward(xb)
                criterion.forward(output, yb)
                grads.fill(0)
                net.backward(xb, criterion.backward(output, yb))
                params -= LR * grads

        torch = _torch(None)
        if torch is None:
            return {"ember": run, "numpy": "not written", "pytorch": "not installed"}
        torch.manual_seed(0)
        tnn = torch.nn
        model = tnn.Sequential(tnn.Unflatten(1, (1, 28, 28)), tnn.Conv2d(1, 6, 5, padding=2), tnn.ReLU(),
                               tnn.MaxPool2d(2), tnn.Conv2d(6, 16, 5), tnn.ReLU(), tnn.MaxPool2d(2), tnn.Flatten(),
                               tnn.Linear(400, 120), tnn.ReLU(), tnn.Linear(120, 84), tnn.ReLU(), tnn.Linear(84, 10),
                               tnn.LogSoftmax(dim=1))
        loss_fn = tnn.NLLLoss()
        sgd = torch.optim.SGD(model.parameters(), lr=LR)
        Xt, yt = torch.from_numpy(X), torch.from_numpy(y)

        def run_torch():
            for s in range(0, len(X), batch):
                sgd.zero_grad()
                loss_fn(model(Xt[s:s + batch]), yt[s:s + batch]).backward()
                sgd.step()

        return {"ember": run, "numpy": "no hand-written NumPy LeNet", "pytorch": run_torch}

    setup.__doc__ = f"LeNet-5 (ember.models.lenet, float32) training steps at batch {batch}: forward, backward, SGD."
    return setup


def setup_w8_pooling(quick: bool) -> dict:
    """LeNet's two max poolings (2x2, stride 2) on (64, 6, 28, 28) and (64, 16, 10, 10) float32: forward and
    backward, against PyTorch's MaxPool2d.
    """
    batch = 16 if quick else 64
    rng = np.random.default_rng(0)
    shapes = [(batch, 6, 28, 28), (batch, 16, 10, 10)]
    inputs = [rng.standard_normal(shape, dtype=np.float32) for shape in shapes]
    grads = [rng.standard_normal((n, c, h // 2, w // 2), dtype=np.float32) for n, c, h, w in shapes]
    pools = [nn.SpatialMaxPooling(2, 2, 2, 2) for _ in shapes]

    def run():
        for pool, x, g in zip(pools, inputs, grads):
            pool.forward(x)
            pool.backward(x, g)

    torch = _torch(None)
    if torch is None:
        return {"ember": run, "numpy": "not written", "pytorch": "not installed"}
    pairs = [(torch.from_numpy(x).requires_grad_(), torch.from_numpy(g)) for x, g in zip(inputs, grads)]
    pool = torch.nn.MaxPool2d(2)

    def run_torch():
        for x, g in pairs:
            x.grad = None
            pool(x).backward(g)

    return {"ember": run, "numpy": "no hand-written NumPy pooling", "pytorch": run_torch}


def setup_w8_conv_backward(quick: bool) -> dict:
    """LeNet's two convolutions' backward alone (input, weight and bias gradients; the forward pass done once
    beforehand), float32, batch 64, against PyTorch's backward through the same graph (kept).
    """
    batch = 16 if quick else 64
    rng = np.random.default_rng(0)
    specs = [(1, 6, 2, 28), (6, 16, 0, 14)]  # (in, out, pad, size), 5x5 kernels
    convs, data = [], []
    for n_in, n_out, pad, size in specs:
        conv = nn.SpatialConvolution(n_in, n_out, 5, 5, padW=pad, padH=pad, rng=rng).float()
        x = rng.random((batch, n_in, size, size), dtype=np.float32)
        g = rng.standard_normal(conv.forward(x).shape, dtype=np.float32)
        convs.append(conv)
        data.append((x, g))

    def run():
        for conv, (x, g) in zip(convs, data):
            conv.backward(x, g)

    torch = _torch(None)
    if torch is None:
        return {"ember": run, "numpy": "not written", "pytorch": "not installed"}
    graphs = []
    for conv, (x, g), (n_in, n_out, pad, _) in zip(convs, data, specs):
        layer = torch.nn.Conv2d(n_in, n_out, 5, padding=pad, dtype=torch.float32)
        with torch.no_grad():
            layer.weight.copy_(torch.from_numpy(conv.weight))
            layer.bias.copy_(torch.from_numpy(conv.bias))
        xt = torch.from_numpy(x).requires_grad_()
        graphs.append((layer(xt), torch.from_numpy(g)))

    def run_torch():
        for output, g in graphs:
            output.backward(g, retain_graph=True)

    return {"ember": run, "numpy": "no hand-written NumPy here (W5 has one)", "pytorch": run_torch}


# -- I: start-up ------------------------------------------------------------------------------------

def _importing(module: str):
    """A fresh interpreter importing ``module``, with Python's bytecode cache on (as after ``pip install``, which
    compiles it): the harness's warm-up run writes it even where ``PYTHONDONTWRITEBYTECODE`` is set, so that
    what is timed is importing, not compiling the sources again.
    """
    env = {key: value for key, value in os.environ.items() if key != "PYTHONDONTWRITEBYTECODE"}

    def run():
        subprocess.run([sys.executable, "-c", f"import {module}"], check=True, env=env)
    return run


def setup_import(quick: bool) -> dict:
    """A fresh interpreter importing ember, NumPy alone (the floor) and PyTorch."""
    try:
        import torch  # noqa: F401 - only whether it is installed
        pytorch = _importing("torch")
    except ImportError:
        pytorch = "not installed"
    return {"ember": _importing("ember"), "numpy": _importing("numpy"), "pytorch": pytorch}


WORKLOADS = [
    Workload("W1i seeds' loop, per example (OCR, f64)", "epoch", 0.15, 1.15, setup_w1i),
    Workload("W1s optim.sgd feval, per example", "epoch", 0.15, 1.15, setup_w1s),
    Workload("W1f fit(batch_size=1)", "epoch", 0.15, 1.2, setup_w1f),
    Workload("W1c ember.fast, per example", "epoch", 0.02, 0.15, setup_w1c),
    *(Workload(f"W7-{b} mini-batch OCR (f64, b={b})", "epoch", None, 1.15, _setup_w7(b)) for b in (4, 16, 64)),
    *(Workload(f"W7c-{b} ember.fast (b={b})", "epoch", None, 0.5, _setup_w7(b, compiled=True)) for b in (4, 16, 64)),
    Workload("W7L W7-16, every core busy", "epoch", None, None, setup_w7_loaded),
    *(Workload(f"W8-{b} LeNet step (f32, b={b})", "10 steps", 1.0, None, _setup_w8(b)) for b in (16, 64)),
    Workload("W8p LeNet max pooling fwd+bwd (b=64)", "batch", None, None, setup_w8_pooling),
    Workload("W8b LeNet conv backward (b=64)", "batch", None, None, setup_w8_conv_backward),
    Workload("I import (fresh process)", "process", None, None, setup_import),
]
