"""Fused element-wise steps of the recurrent layers, compiled by numba (optional: ``pip install 'ember[fast]'``).

Per time step the NumPy LSTM makes nine ufunc calls forward and nine backward on ``(N, H)`` slices, each
costing 2–4 µs of call overhead and a pass over memory at batch 32; here the arithmetic between the
transcendental functions and the GEMMs is one compiled loop: forward, the gate activations' affine part
and the cell update (``c_t = f ⊙ c_{t−1} + i ⊙ g``); backward, the whole step but the product with
``W_hh`` (the gate gradients through the activations' derivatives, and ``∂L/∂c_{t−1}``). ``tanh`` stays
NumPy's (its SIMD loop is ~30× faster in float32 than the scalar ``tanh`` numba calls, and would not
round alike), and so do the GEMMs.

Each kernel computes the NumPy path's formulas in the same order of operations, element by element,
without ``fastmath`` (strict IEEE: no reassociation, no fused multiply-adds), so both paths give the same
numbers (tests/nn/test_recurrent_kernels.py compares them).

This module imports numba; ``ember.nn.recurrent`` imports it on a layer's first forward (see
``recurrent.compiled_kernels``), never at ``import ember`` (numba takes ~0.3 s to import), and the machine
code is cached on disk (``cache=True``). It sits in ``ember.nn`` rather than in ``ember.fast`` (a higher
layer, which ``ember.nn`` may not import, so it would have to install the kernels through a hook): the
layers then use the compiled steps whenever numba is installed, whatever else was or was not imported.
"""

from __future__ import annotations

from numba import njit

# Each loop runs over one row's contiguous slices (1-D views): numba then vectorises it, where indexing
# the 2-D arrays by (row, j) did not (11.5 against 3.7 µs for the backward step at 32 × 128 in float32).


@njit(cache=True)
def add_bias_hidden(gates, bias, hidden):
    """``gates ← (gates + bias) + hidden`` (``(N, G·H)``, ``(G·H,)``, ``(N, G·H)``): the projection's bias, added
    per step where the NumPy path adds it for all steps at once (one pass less over ``(T, N, G·H)``).
    """
    n, width = gates.shape
    for row in range(n):
        a, b = gates[row], hidden[row]
        for j in range(width):
            a[j] = (a[j] + bias[j]) + b[j]


@njit(cache=True)
def lstm_forward(gates, half, shift, c_previous, c):
    """``gates`` (``(N, 4H)``, tanh already applied) ``← gates · half + shift`` (σ for i, f, o; g as it is);
    ``c ← f ⊙ c_{t−1} + i ⊙ g``.
    """
    n, h = c.shape
    for row in range(n):
        a, new, old = gates[row], c[row], c_previous[row]
        for j in range(4 * h):
            a[j] = a[j] * half[j] + shift[j]
        i, f, g = a[:h], a[h:2 * h], a[2 * h:3 * h]
        for j in range(h):
            new[j] = f[j] * old[j] + i[j] * g[j]


@njit(cache=True)
def lstm_backward(d_h, d_c, grad_output, gates, c_previous, tanh_c, delta):
    """One step back: ``δh = d_h + grad_output``; ``δc = δh ⊙ (1 − tanh² c_t) ⊙ o + d_c``; ``delta`` (``(N, 4H)``)
    ``←`` [δc ⊙ g ⊙ i(1 − i), δc ⊙ c_{t−1} ⊙ f(1 − f), δc ⊙ i ⊙ (1 − g²), δh ⊙ tanh c_t ⊙ o(1 − o)];
    ``d_c ← δc ⊙ f``. (``d_h ← delta W_hh`` is the caller's GEMM.)
    """
    n, h = d_c.shape
    one = gates.dtype.type(1.0)
    for row in range(n):
        a, da = gates[row], delta[row]
        i, f, g, o = a[:h], a[h:2 * h], a[2 * h:3 * h], a[3 * h:]
        d_i, d_f, d_g, d_o = da[:h], da[h:2 * h], da[2 * h:3 * h], da[3 * h:]
        dh_row, dc_row, go_row, old, tc_row = d_h[row], d_c[row], grad_output[row], c_previous[row], tanh_c[row]
        for j in range(h):
            tc = tc_row[j]
            dh = dh_row[j] + go_row[j]
            dc = dh * ((one - tc * tc) * o[j]) + dc_row[j]
            d_i[j] = dc * g[j] * (i[j] - i[j] * i[j])
            d_f[j] = dc * old[j] * (f[j] - f[j] * f[j])
            d_g[j] = dc * i[j] * (one - g[j] * g[j])
            d_o[j] = dh * tc * (o[j] - o[j] * o[j])
            dc_row[j] = dc * f[j]


@njit(cache=True)
def rnn_tanh_backward(d_h, grad_output, h_t, delta):
    """One step back of a tanh RNN: ``delta ← (1 − h_t²) ⊙ (d_h + grad_output)``."""
    n, h = d_h.shape
    one = h_t.dtype.type(1.0)
    for row in range(n):
        dh_row, go_row, h_row, out = d_h[row], grad_output[row], h_t[row], delta[row]
        for j in range(h):
            value = h_row[j]
            out[j] = (one - value * value) * (dh_row[j] + go_row[j])
