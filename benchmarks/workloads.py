"""The workloads, each written three ways: ember, hand-written NumPy, and idiomatic PyTorch.

Every ``setup_*`` returns ``{"ember": run, "numpy": run, "pytorch": run_or_reason}``, where ``run()``
performs one unit of work (an epoch or an iteration, as the workload says) from the same initial
state each time it is called (each call trains the same network further; the work per call is fixed).
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

from benchmarks.lstm import setup_w6
from ember import nn, optim
from ember.data import ocr_letters


@dataclass
class Workload:
    """A workload: its name, the unit of work timed, the targets (ember time ÷ other time) and its setup."""

    name: str
    unit: str
    target_vs_pytorch: float | None  # None: no target on that ratio
    target_vs_numpy: float | None
    setup: Callable[[bool], dict]


def _torch(threads: int | None):
    """PyTorch on ``threads`` threads (``None``: the threads NumPy's BLAS is given by ``OPENBLAS_NUM_THREADS``,
    else one per core, so that both sides get the same), or ``None`` where it is not installed.
    """
    try:
        import torch
    except ImportError:
        return None
    torch.set_num_threads(threads or int(os.environ.get("OPENBLAS_NUM_THREADS") or 0) or os.cpu_count() or 1)
    return torch


def _ocr_large(quick: bool) -> tuple[np.ndarray, np.ndarray, str]:
    """W1's data: OCR letters 'large' (9000 examples) in file order, or random letters without a data dir."""
    try:
        (X, y), _ = ocr_letters("large")
        note = ""
    except (FileNotFoundError, OSError, ValueError):
        rng = np.random.default_rng(0)
        X, y = (rng.random((9000, 128)) < 0.3).astype(np.float64), rng.integers(0, 10, 9000)
        note = "random data (EMBER_DATA_DIR not set)"
    if quick:
        X, y = X[:1000], y[:1000]
    return np.ascontiguousarray(X), y.astype(np.int64), note


#: the OCR workloads' SGD learning rate
LR = 0.01


def _numpy_ocr(X: np.ndarray, y: np.ndarray, batch: int):
    """Hand-written NumPy SGD on the OCR network: per example (``batch`` 1) or in mini-batches."""
    rng = np.random.default_rng(0)
    W1, b1 = rng.uniform(-0.1, 0.1, (50, 128)), np.zeros(50)
    W2, b2 = rng.uniform(-0.1, 0.1, (10, 50)), np.zeros(10)
    start = [a.copy() for a in (W1, b1, W2, b2)]
    n = len(X)

    def run_per_example():
        nonlocal W1, b1, W2, b2
        for array, initial in zip((W1, b1, W2, b2), start):
            array[...] = initial
        for i in range(n):
            x, target = X[i], y[i]
            hidden = 1.0 / (1.0 + np.exp(-(W1 @ x + b1)))
            scores = W2 @ hidden + b2
            probs = np.exp(scores - scores.max())
            probs /= probs.sum()
            loss = -np.log(probs[target])  # noqa: F841 - computed, as ember and PyTorch do
            probs[target] -= 1.0
            grad_hidden = (W2.T @ probs) * hidden * (1.0 - hidden)
            W2 -= LR * np.outer(probs, hidden)
            b2 -= LR * probs
            W1 -= LR * np.outer(grad_hidden, x)
            b1 -= LR * grad_hidden

    def run_batches():
        nonlocal W1, b1, W2, b2
        for array, initial in zip((W1, b1, W2, b2), start):
            array[...] = initial
        for s in range(0, n, batch):
            xb, yb = X[s:s + batch], y[s:s + batch]
            hidden = 1.0 / (1.0 + np.exp(-(xb @ W1.T + b1)))
            scores = hidden @ W2.T + b2
            scores -= scores.max(axis=1, keepdims=True)
            probs = np.exp(scores)
            probs /= probs.sum(axis=1, keepdims=True)
            rows = np.arange(len(yb))
            loss = -np.log(probs[rows, yb]).mean()  # noqa: F841
            probs[rows, yb] -= 1.0
            probs /= len(yb)
            grad_hidden = (probs @ W2) * hidden * (1.0 - hidden)
            W2 -= LR * (probs.T @ hidden)
            b2 -= LR * probs.sum(axis=0)
            W1 -= LR * (grad_hidden.T @ xb)
            b1 -= LR * grad_hidden.sum(axis=0)

    return run_per_example if batch == 1 else run_batches


# -- W1: per-example SGD on the OCR network, float64 ---------------------------------------------------

def setup_w1(quick: bool) -> dict:
    """OCR 128 → 50 (sigmoid) → 10, cross-entropy, SGD lr 0.01, one example at a time, one epoch."""
    X, y, _ = _ocr_large(quick)
    lr, n = LR, len(X)
    rng = np.random.default_rng(0)

    net = nn.Sequential(nn.Linear(128, 50, rng=rng), nn.Sigmoid(), nn.Linear(50, 10, rng=rng))
    net.get(0).gradInput = None  # the data need no gradient (PyTorch and the NumPy loop skip it too)
    criterion = nn.CrossEntropyCriterion()
    params, grads = net.getParameters()
    start_params = params.copy()

    def run_ember():  # the training loop of the Torch nn tour: flat parameters from getParameters()
        nonlocal params
        params[:] = start_params
        for i in range(n):
            x, target = X[i], y[i]
            output = net.forward(x)
            criterion.forward(output, target)
            grads.fill(0)
            net.backward(x, criterion.backward(output, target))
            params -= lr * grads

    run_numpy = _numpy_ocr(X, y, 1)

    torch = _torch(1)
    if torch is None:
        return {"ember": run_ember, "numpy": run_numpy, "pytorch": "not installed"}
    torch.manual_seed(0)
    model = torch.nn.Sequential(torch.nn.Linear(128, 50), torch.nn.Sigmoid(), torch.nn.Linear(50, 10)).double()
    loss_fn = torch.nn.CrossEntropyLoss()
    sgd = torch.optim.SGD(model.parameters(), lr=lr)
    Xt, yt = torch.from_numpy(X), torch.from_numpy(y)

    def run_torch():
        for i in range(n):
            sgd.zero_grad()
            loss = loss_fn(model(Xt[i:i + 1]), yt[i:i + 1])
            loss.backward()
            sgd.step()

    return {"ember": run_ember, "numpy": run_numpy, "pytorch": run_torch}


# -- W2 and W4: the 784-512-512-10 ReLU MLP, float32 --------------------------------------------------

def _mnist_shaped(n: int) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(0)
    return rng.random((n, 784), dtype=np.float32), rng.integers(0, 10, n)


def _ember_mlp() -> nn.Sequential:
    rng = np.random.default_rng(0)
    return nn.Sequential(nn.Linear(784, 512, rng=rng), nn.ReLU(), nn.Linear(512, 512, rng=rng), nn.ReLU(),
                         nn.Linear(512, 10, rng=rng)).float()


def _numpy_mlp() -> list[np.ndarray]:
    rng = np.random.default_rng(0)
    sizes = [(784, 512), (512, 512), (512, 10)]
    layers = []
    for n_in, n_out in sizes:
        bound = 1 / np.sqrt(n_in)
        layers += [rng.uniform(-bound, bound, (n_out, n_in)).astype(np.float32),
                   rng.uniform(-bound, bound, n_out).astype(np.float32)]
    return layers


def _torch_mlp(torch):
    torch.manual_seed(0)
    return torch.nn.Sequential(torch.nn.Linear(784, 512), torch.nn.ReLU(), torch.nn.Linear(512, 512),
                               torch.nn.ReLU(), torch.nn.Linear(512, 10))


def setup_w2(quick: bool) -> dict:
    """784 → 512 → 512 → 10 ReLU MLP, cross-entropy, SGD, batch 128, one epoch of 60000 random examples."""
    X, y = _mnist_shaped(6000 if quick else 60000)
    lr, batch = 0.01, 128
    starts = range(0, len(X), batch)

    net = _ember_mlp()
    net.get(0).gradInput = None  # the data need no gradient (PyTorch and the NumPy loop skip it too)
    criterion = nn.CrossEntropyCriterion()
    params, grads = net.getParameters()
    state = {"learning_rate": lr}

    def run_ember():  # Torch's optim idiom, as PyTorch's loop uses torch.optim.SGD
        for s in starts:
            xb, yb = X[s:s + batch], y[s:s + batch]

            def feval(_, xb=xb, yb=yb):
                output = net.forward(xb)
                loss = criterion.forward(output, yb)
                grads.fill(0)
                net.backward(xb, criterion.backward(output, yb))
                return loss, grads

            optim.sgd(feval, params, state)

    W1, b1, W2, b2, W3, b3 = _numpy_mlp()

    def run_numpy():
        nonlocal W1, b1, W2, b2, W3, b3
        for s in starts:
            xb, yb = X[s:s + batch], y[s:s + batch]
            a1 = xb @ W1.T + b1
            h1 = np.maximum(a1, 0)
            a2 = h1 @ W2.T + b2
            h2 = np.maximum(a2, 0)
            scores = h2 @ W3.T + b3
            scores -= scores.max(axis=1, keepdims=True)
            probs = np.exp(scores)
            probs /= probs.sum(axis=1, keepdims=True)
            rows = np.arange(len(yb))
            loss = -np.log(probs[rows, yb]).mean()  # noqa: F841 - computed, as ember and PyTorch do
            probs[rows, yb] -= 1
            probs /= len(yb)
            g2 = (probs @ W3) * (a2 > 0)
            g1 = (g2 @ W2) * (a1 > 0)
            W3 -= lr * (probs.T @ h2)
            b3 -= lr * probs.sum(axis=0)
            W2 -= lr * (g2.T @ h1)
            b2 -= lr * g2.sum(axis=0)
            W1 -= lr * (g1.T @ xb)
            b1 -= lr * g1.sum(axis=0)

    torch = _torch(None)
    if torch is None:
        return {"ember": run_ember, "numpy": run_numpy, "pytorch": "not installed"}
    model = _torch_mlp(torch)
    loss_fn = torch.nn.CrossEntropyLoss()
    sgd = torch.optim.SGD(model.parameters(), lr=lr)
    Xt, yt = torch.from_numpy(X), torch.from_numpy(y)

    def run_torch():
        for s in starts:
            sgd.zero_grad()
            loss = loss_fn(model(Xt[s:s + batch]), yt[s:s + batch])
            loss.backward()
            sgd.step()

    return {"ember": run_ember, "numpy": run_numpy, "pytorch": run_torch}


def setup_w4(quick: bool) -> dict:
    """W2's network, forward only, batches of 1000 over 10000 examples."""
    X, _ = _mnist_shaped(2000 if quick else 10000)
    batch = 1000
    starts = range(0, len(X), batch)
    net = _ember_mlp().evaluate()

    def run_ember():
        for s in starts:
            net.forward(X[s:s + batch])

    W1, b1, W2, b2, W3, b3 = _numpy_mlp()

    def run_numpy():
        for s in starts:
            h = np.maximum(X[s:s + batch] @ W1.T + b1, 0)
            h = np.maximum(h @ W2.T + b2, 0)
            h @ W3.T + b3

    torch = _torch(None)
    if torch is None:
        return {"ember": run_ember, "numpy": run_numpy, "pytorch": "not installed"}
    model = _torch_mlp(torch).eval()
    Xt = torch.from_numpy(X)

    def run_torch():
        with torch.inference_mode():
            for s in starts:
                model(Xt[s:s + batch])

    return {"ember": run_ember, "numpy": run_numpy, "pytorch": run_torch}


# -- W3: the Iris network of the "write your own layer" practical, full batch, float64 ----------------

def setup_w3(quick: bool) -> dict:
    """Iris-sized 4 → 2 → 3 network, LogSoftMax + ClassNLL, full batch of 150, 1000 adagrad iterations."""
    rng = np.random.default_rng(0)
    X = rng.standard_normal((150, 4))
    y = np.repeat(np.arange(3), 50)
    iterations = 200 if quick else 1000
    lr = 0.1

    net = nn.Sequential(nn.Linear(4, 2, rng=rng), nn.Sigmoid(), nn.Linear(2, 3, rng=rng), nn.LogSoftMax())
    criterion = nn.ClassNLLCriterion()
    params, grads = net.getParameters()

    def feval(_):  # Torch's optim idiom, with the flat gradient zeroed as in W1 and W2
        output = net.forward(X)
        loss = criterion.forward(output, y)
        grads.fill(0)
        net.backward(X, criterion.backward(output, y))
        return loss, grads

    def run_ember():
        state = {"learning_rate": lr}
        for _ in range(iterations):
            optim.adagrad(feval, params, state)

    W1, b1 = rng.uniform(-0.5, 0.5, (2, 4)), np.zeros(2)
    W2, b2 = rng.uniform(-0.5, 0.5, (3, 2)), np.zeros(3)
    layers = [W1, b1, W2, b2]

    def run_numpy():
        sums = [np.zeros_like(a) for a in layers]
        rows = np.arange(len(y))
        for _ in range(iterations):
            hidden = 1 / (1 + np.exp(-(X @ W1.T + b1)))
            scores = hidden @ W2.T + b2
            scores -= scores.max(axis=1, keepdims=True)
            log_probs = scores - np.log(np.exp(scores).sum(axis=1, keepdims=True))
            loss = -log_probs[rows, y].mean()  # noqa: F841 - computed, as ember's feval and PyTorch do
            g = np.exp(log_probs)
            g[rows, y] -= 1
            g /= len(y)
            gh = (g @ W2) * hidden * (1 - hidden)
            for array, total, grad in zip(layers, sums, (gh.T @ X, gh.sum(0), g.T @ hidden, g.sum(0))):
                total += grad * grad
                array -= lr * grad / (np.sqrt(total) + 1e-10)

    torch = _torch(1)
    if torch is None:
        return {"ember": run_ember, "numpy": run_numpy, "pytorch": "not installed"}
    model = torch.nn.Sequential(torch.nn.Linear(4, 2), torch.nn.Sigmoid(), torch.nn.Linear(2, 3),
                                torch.nn.LogSoftmax(dim=1)).double()
    loss_fn = torch.nn.NLLLoss()
    Xt, yt = torch.from_numpy(X), torch.from_numpy(y)

    def run_torch():
        adagrad = torch.optim.Adagrad(model.parameters(), lr=lr)
        for _ in range(iterations):
            adagrad.zero_grad()
            loss = loss_fn(model(Xt), yt)
            loss.backward()
            adagrad.step()

    return {"ember": run_ember, "numpy": run_numpy, "pytorch": run_torch}


# -- W5: the two LeNet convolutions, forward and backward, float32 -------------------------------------

#: (input planes, output planes, kernel, padding, input height/width) of LeNet's two convolutions.
LENET_CONVS = ((1, 6, 5, 2, 28), (6, 16, 5, 0, 14))


def _numpy_conv_forward(x: np.ndarray, W: np.ndarray, b: np.ndarray, pad: int) -> tuple[np.ndarray, np.ndarray]:
    """Hand-written im2col convolution: ``(output, windows)``; ``windows`` is kept for the backward."""
    padded = np.pad(x, ((0, 0), (0, 0), (pad, pad), (pad, pad)))
    k = W.shape[-1]
    windows = sliding_window_view(padded, (k, k), axis=(2, 3))  # (N, C, oH, oW, k, k), a view
    out = np.tensordot(windows, W, axes=([1, 4, 5], [1, 2, 3]))  # (N, oH, oW, O): im2col copy + one GEMM
    return out.transpose(0, 3, 1, 2) + b[:, None, None], windows


def _numpy_conv_backward(g: np.ndarray, windows: np.ndarray, W: np.ndarray, pad: int,
                         input_shape: tuple[int, ...]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``(grad_input, grad_weight, grad_bias)`` of :func:`_numpy_conv_forward` for output gradient ``g``."""
    grad_W = np.tensordot(g, windows, axes=([0, 2, 3], [0, 2, 3]))  # (O, C, k, k)
    grad_b = g.sum(axis=(0, 2, 3))
    grad_cols = np.tensordot(g, W, axes=([1], [0]))  # (N, oH, oW, C, k, k)
    n, c, h, w = input_shape
    k, out_h, out_w = W.shape[-1], g.shape[2], g.shape[3]
    grad_padded = np.zeros((n, c, h + 2 * pad, w + 2 * pad), dtype=g.dtype)
    for u in range(k):  # col2im: one slice-add per kernel offset
        for v in range(k):
            grad_padded[:, :, u:u + out_h, v:v + out_w] += grad_cols[:, :, :, :, u, v].transpose(0, 3, 1, 2)
    return grad_padded[:, :, pad:pad + h, pad:pad + w], grad_W, grad_b


def setup_w5(quick: bool) -> dict:
    """LeNet's convolutions, conv1 1 → 6 5x5 pad 2 on 64x1x28x28 and conv2 6 → 16 5x5 on 64x6x14x14: forward, then
    backward with a fixed output gradient (input gradient, weight and bias gradients), float32, batch 64.
    """
    batch = 16 if quick else 64
    rng = np.random.default_rng(0)
    layers = []  # (input, output gradient, weight, bias, pad) per convolution
    for n_in, n_out, k, pad, size in LENET_CONVS:
        out_size = size + 2 * pad - k + 1
        bound = 1 / np.sqrt(n_in * k * k)
        layers.append((rng.random((batch, n_in, size, size), dtype=np.float32),
                       rng.standard_normal((batch, n_out, out_size, out_size), dtype=np.float32),
                       rng.uniform(-bound, bound, (n_out, n_in, k, k)).astype(np.float32),
                       rng.uniform(-bound, bound, n_out).astype(np.float32), pad))

    convs = []
    for (_, _, W, b, pad), (n_in, n_out, k, _, _) in zip(layers, LENET_CONVS):
        conv = nn.SpatialConvolution(n_in, n_out, k, k, padW=pad, padH=pad).float()
        conv.weight[...], conv.bias[...] = W, b
        convs.append(conv)

    def run_ember():
        for conv, (x, g, _, _, _) in zip(convs, layers):
            conv.zeroGradParameters()
            conv.forward(x)
            conv.backward(x, g)

    def run_numpy():
        for x, g, W, b, pad in layers:
            _, windows = _numpy_conv_forward(x, W, b, pad)
            _numpy_conv_backward(g, windows, W, pad, x.shape)

    torch = _torch(None)
    if torch is None:
        return {"ember": run_ember, "numpy": run_numpy, "pytorch": "not installed"}
    torch_layers = []
    for x, g, W, b, pad in layers:
        conv = torch.nn.Conv2d(W.shape[1], W.shape[0], W.shape[-1], padding=pad, dtype=torch.float32)
        with torch.no_grad():
            conv.weight.copy_(torch.from_numpy(W))
            conv.bias.copy_(torch.from_numpy(b))
        torch_layers.append((conv, torch.from_numpy(x).requires_grad_(), torch.from_numpy(g)))

    def run_torch():
        for conv, x, g in torch_layers:
            conv.zero_grad(set_to_none=True)
            x.grad = None
            conv(x).backward(g)

    return {"ember": run_ember, "numpy": run_numpy, "pytorch": run_torch}


WORKLOADS = [
    Workload("W1 per-example SGD (OCR, f64)", "epoch", 0.15, 1.3, setup_w1),
    Workload("W2 mini-batch MLP (f32, b=128)", "epoch", 1.0, 1.05, setup_w2),
    Workload("W3 full-batch Iris (f64)", "1000 iter", 0.3, 1.3, setup_w3),
    Workload("W4 inference (f32, b=1000)", "10k rows", 1.0, 1.05, setup_w4),
    Workload("W5 LeNet conv fwd+bwd (f32, b=64)", "batch", 2.0, 1.3, setup_w5),
    Workload("W6 LSTM train step (f32, h=128, b=32, T=50)", "step", 1.0, 1.2, setup_w6),
]
