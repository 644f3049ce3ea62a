"""W6: one LSTM training step (hidden 128, batch 32, sequence 50, 64 input features, float32), three ways.

A step is forward through the sequence, backward through time with a fixed ``gradOutput`` (the gradient
of ``Σ output ⊙ G``), and an SGD update of all four parameter arrays. The hand-written NumPy LSTM is the
textbook loop: one input projection for the whole sequence, then per step a hidden GEMM and the gates;
backward per step in reverse, and the weight gradients as one GEMM each.
"""

from __future__ import annotations

import os

import numpy as np

T, N, F, H = 50, 32, 64, 128
LEARNING_RATE = 1e-3


def _sigmoid(x: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-x))


def _numpy_step(params: list[np.ndarray], x: np.ndarray, g: np.ndarray) -> None:
    W_ih, W_hh, b_ih, b_hh = params
    pre = (x.reshape(T * N, F) @ W_ih.T + (b_ih + b_hh)).reshape(T, N, 4 * H)
    hs = np.zeros((T + 1, N, H), np.float32)
    cs = np.zeros((T + 1, N, H), np.float32)
    gates = np.empty((T, N, 4 * H), np.float32)
    for t in range(T):
        a = pre[t] + hs[t] @ W_hh.T
        i, f, gg, o = _sigmoid(a[:, :H]), _sigmoid(a[:, H:2 * H]), np.tanh(a[:, 2 * H:3 * H]), _sigmoid(a[:, 3 * H:])
        cs[t + 1] = f * cs[t] + i * gg
        hs[t + 1] = o * np.tanh(cs[t + 1])
        gates[t] = np.concatenate([i, f, gg, o], axis=1)
    d = np.empty_like(gates)
    dh, dc = np.zeros((N, H), np.float32), np.zeros((N, H), np.float32)
    for t in range(T - 1, -1, -1):
        i, f, gg, o = gates[t, :, :H], gates[t, :, H:2 * H], gates[t, :, 2 * H:3 * H], gates[t, :, 3 * H:]
        dh = dh + g[t]
        tc = np.tanh(cs[t + 1])
        dc = dc + dh * o * (1 - tc * tc)
        d[t] = np.concatenate([dc * gg * i * (1 - i), dc * cs[t] * f * (1 - f), dc * i * (1 - gg * gg),
                               dh * tc * o * (1 - o)], axis=1)
        dh = d[t] @ W_hh
        dc = dc * f
    flat = d.reshape(T * N, 4 * H)
    grads = [flat.T @ x.reshape(T * N, F), flat.T @ hs[:-1].reshape(T * N, H), flat.sum(0), flat.sum(0)]
    for p, grad in zip(params, grads):
        p -= LEARNING_RATE * grad


def setup_w6(quick: bool) -> dict:
    """Build the three runners of W6 (the same step whether ``quick`` or not: one step is small)."""
    from benchmarks.workloads import _torch
    from ember import nn

    rng = np.random.default_rng(0)
    x = rng.standard_normal((T, N, F)).astype(np.float32)
    g = rng.standard_normal((T, N, H)).astype(np.float32)
    lstm = nn.LSTM(F, H, rng=rng).float()
    lstm.gradInput = None  # the data need no gradient (PyTorch's input does not require one; NumPy skips it too)
    flat, flat_grad = lstm.getParameters()

    def run_ember():
        flat_grad.fill(0)
        lstm.forward(x)
        lstm.backward(x, g)
        flat[:] -= LEARNING_RATE * flat_grad

    params = [p.copy() for p in lstm.parameters()[0]]

    def run_numpy():
        _numpy_step(params, x, g)

    torch = _torch(int(os.environ.get("OPENBLAS_NUM_THREADS") or 0) or None)  # the threads NumPy's BLAS has
    if torch is None:
        return {"ember": run_ember, "numpy": run_numpy, "pytorch": "not installed"}
    model = torch.nn.LSTM(F, H).float()
    xt, gt = torch.from_numpy(x), torch.from_numpy(g)

    def run_torch():
        model.zero_grad(set_to_none=False)
        out, _ = model(xt)
        out.backward(gt)
        with torch.no_grad():
            for p in model.parameters():
                p -= LEARNING_RATE * p.grad

    return {"ember": run_ember, "numpy": run_numpy, "pytorch": run_torch}
