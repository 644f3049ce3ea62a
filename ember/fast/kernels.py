"""The fused training kernel: forward, criterion, backward and SGD step of a layer chain, for a whole
epoch of steps, in one compiled call (numba, strict IEEE: no ``fastmath``, no reassociation beyond the
explicit eight partial sums of :func:`_dot`, so results match the NumPy modules to rounding). A step of
``GEMM_ROWS`` rows or more hands each Linear's three products (``x Wᵀ``, ``gᵀ x``, ``g W``) to BLAS
(``np.dot`` into the working arrays: a GEMM on the calling thread, as the NumPy modules' ``@``) and keeps
everything between them (bias, activations, criterion, SGD update) in the fused loops; a one-row step at
the end of an epoch goes through the scalar loops (a GEMM call costs more than the product there).
Steps of one example (``batch_size=1``) run, all but an epoch's last, on a transposed copy of the weights
(:func:`_row_steps`: the forward product becomes a loop over the outputs that vectorises) with each
Linear's SGD update done in its backward, element by element, so that no gradient vector is written or
read; the last step runs on the model's own parameters and leaves its gradient in ``grads``, as the NumPy
path does. All of it stays in this one file: numba's disk cache is keyed by the file of each function,
so a helper edited in another file would leave its callers' cached code stale.

A model reaches here as a *plan* (see ``ember.fast.plan``): one code per layer, the layer widths, where
each Linear's weight and bias lie in the flat parameter vector of ``getParameters()``. The kernel updates
that vector in place, so the NumPy modules see every step. Each formula is the one the NumPy module
computes (``ember/nn``), in the same order of operations, element by element. Divisions follow IEEE
(``error_model="numpy"``: inf or NaN, as NumPy, where Python would raise), which also lets them vectorise.
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit

from ember.fast.codes import (
    BCE_EPS,
    CLASS_NLL,
    CROSS_ENTROPY,
    LEAKY_RELU,
    LINEAR,
    LOG_SOFTMAX,
    MSE,
    RELU,
    SIGMOID,
    SOFTMAX,
    SOFTMIN,
    TANH,
)

#: From this many rows on, a Linear's products go to BLAS (``np.dot``, a GEMM on the calling thread);
#: below, to the fused scalar loops.
GEMM_ROWS = 2


@njit(cache=True, error_model="numpy", inline="always")
def _dot(a, row_a, b, row_b, n, zero):
    """``Σ_j a[row_a, j] · b[row_b, j]`` in eight interleaved partial sums (as BLAS sums), then added in
    order. Offsets are unsigned, so that no negative-index wrap-around check stands in the loop's way.
    """
    s0 = s1 = s2 = s3 = s4 = s5 = s6 = s7 = zero
    for t in range(n // 8):
        j = np.uint64(8 * t)
        s0 += a[row_a, j] * b[row_b, j]
        s1 += a[row_a, j + np.uint64(1)] * b[row_b, j + np.uint64(1)]
        s2 += a[row_a, j + np.uint64(2)] * b[row_b, j + np.uint64(2)]
        s3 += a[row_a, j + np.uint64(3)] * b[row_b, j + np.uint64(3)]
        s4 += a[row_a, j + np.uint64(4)] * b[row_b, j + np.uint64(4)]
        s5 += a[row_a, j + np.uint64(5)] * b[row_b, j + np.uint64(5)]
        s6 += a[row_a, j + np.uint64(6)] * b[row_b, j + np.uint64(6)]
        s7 += a[row_a, j + np.uint64(7)] * b[row_b, j + np.uint64(7)]
    for j in range(8 * (n // 8), n):
        s0 += a[row_a, j] * b[row_b, j]
    return ((s0 + s1) + (s2 + s3)) + ((s4 + s5) + (s6 + s7))


#: exp(x) = 2^k · exp(r), k = round(x / ln 2), r = x − k ln 2 (ln 2 in two parts: r exact), |r| ≤ ln 2 / 2.
_LOG2E, _LN2_HI, _LN2_LO = 1.4426950408889634, 6.93147180369123816490e-01, 1.90821492927058770002e-10
_EXP_LOW, _EXP_HIGH = -708.0, 709.0  # outside: subnormal or overflowing results, left to math.exp


@njit(cache=True, error_model="numpy", inline="always")
def _exp_split(x):
    """``x`` clamped to the normal range (a NaN becomes its low end) and its ``k``."""
    x = x if x > _EXP_LOW else _EXP_LOW
    x = x if x < _EXP_HIGH else _EXP_HIGH
    return x, math.floor(x * _LOG2E + 0.5)


@njit(cache=True, error_model="numpy")
def exp_into(src, dst, n, negate):
    """``dst[i] = exp(±src[i])`` for ``i < n``, in passes that vectorise without ``fastmath`` (``math.exp``
    stays a scalar call): the Taylor polynomial of ``exp(r)`` to degree 13 (error below 1 ulp), then
    ``2^k`` added to its exponent bits, then ``math.exp`` for the few arguments outside [−708, 709] and
    NaN. float64 only; other dtypes take ``math.exp`` throughout.
    """
    if dst.itemsize != 8:
        for i in range(n):
            dst[i] = math.exp(-src[i] if negate else src[i])
        return
    for i in range(n):
        x, k = _exp_split(-src[i] if negate else src[i])
        r = (x - k * _LN2_HI) - k * _LN2_LO
        dst[i] = 1.0 + r * (1.0 + r * (1.0 / 2 + r * (1.0 / 6 + r * (1.0 / 24 + r * (
            1.0 / 120 + r * (1.0 / 720 + r * (1.0 / 5040 + r * (1.0 / 40320 + r * (1.0 / 362880 + r * (
                1.0 / 3628800 + r * (1.0 / 39916800 + r * (1.0 / 479001600 + r * (1.0 / 6227020800)))))))))))))
    bits = dst[:n].view(np.int64)
    for i in range(n):
        k = _exp_split(-src[i] if negate else src[i])[1]
        bits[i] += np.int64(k) << np.int64(52)
    outside = 0  # counted first, in a loop that vectorises; the scalar fix-up runs only when needed
    for i in range(n):
        x = -src[i] if negate else src[i]
        outside += 0 if x > _EXP_LOW and x < _EXP_HIGH else 1
    if outside:
        for i in range(n):
            x = -src[i] if negate else src[i]
            if not (x > _EXP_LOW and x < _EXP_HIGH):
                dst[i] = math.exp(x)


@njit(cache=True, error_model="numpy")
def _forward(kinds, widths, woff, boff, slopes, params, acts, bs, scratch, zero):
    """Each layer's output from its input, for ``bs`` rows: ``acts[l]`` is the input of layer ``l``
    (``scratch``: room for ``bs`` rows of any layer).
    """
    for layer in range(kinds.size):
        kind, n_in, n_out = kinds[layer], widths[layer], widths[layer + 1]
        src, dst = acts[layer], acts[layer + 1]
        if kind == LINEAR:  # 2-D views: indices by loop variables vectorise, computed flat ones do not
            w0, b0 = woff[layer], boff[layer]
            weight = params[w0:w0 + n_out * n_in].reshape((n_out, n_in))
            x = src[:bs * n_in].reshape((bs, n_in))
            y = dst[:bs * n_out].reshape((bs, n_out))
            if bs >= GEMM_ROWS:  # y = x Wᵀ by BLAS, then + b
                np.dot(x, weight.T, y)
                if b0 >= 0:
                    for r in range(bs):
                        for o in range(n_out):
                            y[r, o] = y[r, o] + params[b0 + o]
                continue
            for r in range(bs):
                for o in range(n_out):
                    s = _dot(weight, o, x, r, n_in, zero)
                    y[r, o] = s + params[b0 + o] if b0 >= 0 else s
        else:
            _activation_forward(kind, src, dst, bs, n_in, slopes[layer], scratch, zero)


@njit(cache=True, error_model="numpy")
def _activation_forward(kind, src, dst, rows, n, slope, scratch, zero):
    """An element-wise layer or the soft(arg)max family along each of ``rows`` rows of width ``n``
    (``scratch``: room for the rows while it works).
    """
    if kind == SIGMOID:  # SciPy's expit: 1 / (1 + exp(-x))
        exp_into(src, dst, rows * n, True)
        for i in range(rows * n):
            dst[i] = 1.0 / (1.0 + dst[i])
    elif kind == TANH:
        for i in range(rows * n):
            dst[i] = math.tanh(src[i])
    elif kind == RELU:
        for i in range(rows * n):
            x = src[i]
            dst[i] = x if x > 0.0 or x != x else zero  # max(x, 0); a NaN stays NaN
    elif kind == LEAKY_RELU:
        for i in range(rows * n):
            x = src[i]
            dst[i] = x if x > 0.0 else x * slope
    else:  # the soft(arg)max family: each row shifted by its max (SoftMin: min), exp over all rows at once
        shifted = dst if kind == LOG_SOFTMAX else scratch
        exps = scratch if kind == LOG_SOFTMAX else dst
        for r in range(rows):
            row = r * n
            m = src[row]
            if kind == SOFTMIN:
                for c in range(1, n):
                    m = min(m, src[row + c])
                for c in range(n):
                    shifted[row + c] = m - src[row + c]
            else:
                for c in range(1, n):
                    m = max(m, src[row + c])
                for c in range(n):
                    shifted[row + c] = src[row + c] - m
        exp_into(shifted, exps, rows * n, False)
        for r in range(rows):
            row = r * n
            total = zero
            for c in range(n):
                total += exps[row + c]
            if kind == LOG_SOFTMAX:
                log_total = math.log(total)
                for c in range(n):
                    dst[row + c] = dst[row + c] - log_total
            else:
                for c in range(n):
                    dst[row + c] /= total


@njit(cache=True, error_model="numpy")
def _criterion(kind, size_average, out, n_out, bs, labels, targets, order, start, grad, scratch, zero):
    """The loss of ``bs`` rows of ``out`` and its gradient into ``grad`` (the criterion's backward);
    ``scratch`` holds ``bs`` rows while it works.
    """
    loss = zero
    if kind == CROSS_ENTROPY:  # log-softmax: each row shifted by its max, exp (vectorised) over all rows
        norm = float(bs) if size_average else 1.0
        n = bs * n_out
        for r in range(bs):
            row = r * n_out
            m = out[row]
            for c in range(1, n_out):
                m = max(m, out[row + c])
            for c in range(n_out):
                scratch[row + c] = out[row + c] - m
        exp_into(scratch, grad, n, False)
        for r in range(bs):
            row = r * n_out
            total = zero
            for c in range(n_out):
                total += grad[row + c]
            log_total = math.log(total)
            loss += scratch[row + labels[order[start + r]]] - log_total
            for c in range(n_out):
                scratch[row + c] = scratch[row + c] - log_total
        exp_into(scratch, grad, n, False)  # exp of the log-probability, as the NumPy criterion's backward
        for r in range(bs):
            grad[r * n_out + labels[order[start + r]]] -= 1.0
        if norm != 1.0:
            for i in range(n):
                grad[i] *= 1.0 / norm
        return -loss / norm
    if kind == CLASS_NLL:
        norm = float(bs) if size_average else 1.0
        for r in range(bs):
            row, label = r * n_out, labels[order[start + r]]
            loss += out[row + label]
            for c in range(n_out):
                grad[row + c] = zero
            grad[row + label] = -1.0 / norm
        return -loss / norm
    n = bs * n_out
    scale = 1.0 / n if size_average else 1.0
    for r in range(bs):
        row, example = r * n_out, order[start + r]
        for c in range(n_out):
            x, t = out[row + c], targets[example, c]
            if kind == MSE:
                d = x - t
                loss += d * d
                grad[row + c] = d * (2.0 * scale)
            else:
                log_x, log_1mx = math.log(x + BCE_EPS), math.log(1.0 - x + BCE_EPS)
                loss += log_1mx + t * (log_x - log_1mx)
                grad[row + c] = (t - x) / ((1.0 - x + BCE_EPS) * (x + BCE_EPS)) * -scale
    return loss * scale if kind == MSE else -loss * scale


@njit(cache=True, error_model="numpy")
def _correct(kind, out, n_out, bs, labels, targets, order, start):
    """How many of the ``bs`` rows are classified right, as ``ember.train`` counts them: the first
    highest score is the label (class criteria), or each output on the target's side of 0.5, a row
    counting ``1/n_out`` per output (BCE).
    """
    hits = 0.0
    for r in range(bs):
        row, example = r * n_out, order[start + r]
        if kind == CROSS_ENTROPY or kind == CLASS_NLL:
            best = 0
            for c in range(1, n_out):
                if out[row + c] > out[row + best]:
                    best = c
            hits += 1.0 if best == labels[example] else 0.0
        else:
            agree = 0
            for c in range(n_out):
                agree += (out[row + c] > 0.5) == (targets[example, c] > 0.5)
            hits += agree / n_out
    return hits


@njit(cache=True, error_model="numpy")
def _backward(kinds, widths, woff, boff, slopes, params, grads, acts, delta, spare, bs, zero):
    """Parameter gradients into ``grads`` (overwritten) from the output gradient in ``delta``; the first
    layer's input gradient is not computed (its input is data).
    """
    for layer in range(kinds.size - 1, -1, -1):
        kind, n_in, n_out = kinds[layer], widths[layer], widths[layer + 1]
        src, dst = acts[layer], acts[layer + 1]
        if kind == LINEAR:
            w0, b0 = woff[layer], boff[layer]
            weight = params[w0:w0 + n_out * n_in].reshape((n_out, n_in))
            grad_weight = grads[w0:w0 + n_out * n_in].reshape((n_out, n_in))
            x = src[:bs * n_in].reshape((bs, n_in))
            g = delta[:bs * n_out].reshape((bs, n_out))
            if bs >= GEMM_ROWS:  # by BLAS: gradWeight = gᵀ x, gradInput = g W; gradBias = Σ_rows g
                np.dot(g.T, x, grad_weight)
                if b0 >= 0:
                    for o in range(n_out):
                        grads[b0 + o] = g[0, o]
                    for r in range(1, bs):
                        for o in range(n_out):
                            grads[b0 + o] += g[r, o]
                if layer == 0:
                    return
                np.dot(g, weight, spare[:bs * n_in].reshape((bs, n_in)))
                delta, spare = spare, delta
                continue
            for o in range(n_out):  # gradWeight = gᵀ x, gradBias = Σ_rows g
                go = g[0, o]
                for j in range(n_in):
                    grad_weight[o, j] = go * x[0, j]
                if b0 >= 0:
                    grads[b0 + o] = go
            for r in range(1, bs):
                for o in range(n_out):
                    go = g[r, o]
                    for j in range(n_in):
                        grad_weight[o, j] += go * x[r, j]
                    if b0 >= 0:
                        grads[b0 + o] += go
            if layer == 0:
                return
            grad_input = spare[:bs * n_in].reshape((bs, n_in))
            for r in range(bs):  # gradInput = g W
                for j in range(n_in):
                    grad_input[r, j] = zero
                for o in range(n_out):
                    go = g[r, o]
                    for j in range(n_in):
                        grad_input[r, j] += go * weight[o, j]
            delta, spare = spare, delta
            continue
        if layer == 0:
            return
        _activation_backward(kind, src, dst, delta, bs, n_in, slopes[layer], spare, zero)


@njit(cache=True, error_model="numpy")
def _activation_backward(kind, src, dst, delta, rows, n, slope, scratch, zero):
    """``delta`` (the gradient of the layer's output ``dst``) becomes the gradient of its input ``src``
    (``scratch``: room for the rows while it works).
    """
    if kind == SIGMOID:  # g · y (1 − y)
        for i in range(rows * n):
            y = dst[i]
            delta[i] = (1.0 - y) * y * delta[i]
    elif kind == TANH:  # g · (1 − y²)
        for i in range(rows * n):
            y = dst[i]
            delta[i] = (1.0 - y * y) * delta[i]
    elif kind == RELU:
        for i in range(rows * n):
            delta[i] = delta[i] * (1.0 if src[i] > 0.0 else 0.0)
    elif kind == LEAKY_RELU:
        for i in range(rows * n):
            if not src[i] > 0.0:
                delta[i] = slope * delta[i]
    else:
        if kind == LOG_SOFTMAX:
            exp_into(dst, scratch, rows * n, False)
        for r in range(rows):
            row = r * n
            if kind == LOG_SOFTMAX:  # g − exp(y) Σ g
                total = zero
                for c in range(n):
                    total += delta[row + c]
                for c in range(n):
                    delta[row + c] = delta[row + c] - scratch[row + c] * total
            else:  # SoftMax: y (g − Σ g y); SoftMin: y (Σ g y − g)
                total = zero
                for c in range(n):
                    total += delta[row + c] * dst[row + c]
                for c in range(n):
                    d = delta[row + c] - total if kind == SOFTMAX else total - delta[row + c]
                    delta[row + c] = d * dst[row + c]


@njit(cache=True, error_model="numpy", inline="always")
def _sgd_value(p, d, v, clr, weight_decay, momentum, dampening, nesterov, first):
    """optim.sgd's update of one parameter ``p`` with gradient ``d`` and velocity ``v``: weight decay,
    momentum (``v = d`` on the first step), Nesterov, then ``p − clr · d``; returns the new ``(p, v)``.
    """
    if weight_decay != 0.0:
        d = d + weight_decay * p
    if momentum != 0.0:
        v = d if first else momentum * v + (1.0 - dampening) * d
        d = d + momentum * v if nesterov else v
    return p + -clr * d, v


@njit(cache=True, error_model="numpy")
def _sgd_step(params, grads, velocity, clr, weight_decay, momentum, dampening, nesterov, first):
    """optim.sgd's update of every parameter (see :func:`_sgd_value`)."""
    if weight_decay == 0.0 and momentum == 0.0:  # plain SGD: one vectorised pass
        step = -clr
        for i in range(params.size):
            params[i] = params[i] + step * grads[i]
        return
    for i in range(params.size):
        v = velocity[i] if momentum != 0.0 else 0.0
        params[i], v = _sgd_value(params[i], grads[i], v, clr, weight_decay, momentum, dampening, nesterov, first)
        if momentum != 0.0:
            velocity[i] = v


# -- one example per step: the weights transposed, each Linear's update fused into its backward ----------

@njit(cache=True, error_model="numpy")
def _transpose_weights(kinds, widths, woff, src, dst, back):
    """``dst`` = ``src`` with each Linear's weight block transposed, (n_out, n_in) → (n_in, n_out), or back."""
    for i in range(src.size):
        dst[i] = src[i]
    for layer in range(kinds.size):
        if kinds[layer] != LINEAR:
            continue
        n_in, n_out, w0 = widths[layer], widths[layer + 1], woff[layer]
        rows, cols = (n_in, n_out) if back else (n_out, n_in)
        block = src[w0:w0 + n_in * n_out].reshape((rows, cols))
        target = dst[w0:w0 + n_in * n_out].reshape((cols, rows))
        for a in range(rows):
            for b in range(cols):
                target[b, a] = block[a, b]


@njit(cache=True, error_model="numpy")
def _row_forward(kinds, widths, woff, boff, slopes, tparams, x, acts, scratch, zero):
    """One example's forward (``x``: its features) on transposed weights: ``y = Σ_j x_j Wᵀ[j, :]`` (+ b), a
    loop over the outputs that vectorises, the sum in the order of ``j``.
    """
    for layer in range(kinds.size):
        kind, n_in, n_out = kinds[layer], widths[layer], widths[layer + 1]
        src = x if layer == 0 else acts[layer]
        dst = acts[layer + 1]
        if kind != LINEAR:
            _activation_forward(kind, src, dst, 1, n_in, slopes[layer], scratch, zero)
            continue
        w0, b0 = woff[layer], boff[layer]
        weight_t = tparams[w0:w0 + n_in * n_out].reshape((n_in, n_out))
        y = dst[:n_out]
        for o in range(n_out):
            y[o] = zero
        for q in range(n_in // 4):  # four inputs per pass over y (the same additions, in the same order)
            j = 4 * q
            x0, x1, x2, x3 = src[j], src[j + 1], src[j + 2], src[j + 3]
            r0, r1, r2, r3 = weight_t[j], weight_t[j + 1], weight_t[j + 2], weight_t[j + 3]
            for o in range(n_out):
                y[o] = (((y[o] + x0 * r0[o]) + x1 * r1[o]) + x2 * r2[o]) + x3 * r3[o]
        for j in range(4 * (n_in // 4), n_in):
            xj, row = src[j], weight_t[j]
            for o in range(n_out):
                y[o] += xj * row[o]
        if b0 >= 0:
            for o in range(n_out):
                y[o] = y[o] + tparams[b0 + o]


@njit(cache=True, error_model="numpy")
def _row_backward(kinds, widths, woff, boff, slopes, tparams, tvelocity, x, acts, delta, spare, clr, weight_decay,
                  momentum, dampening, nesterov, first, zero):
    """One example's backward from the output gradient in ``delta``, each Linear updated (SGD) as soon as
    its input gradient is taken: no gradient vector is written. The first layer's input gradient is not
    computed.
    """
    plain = weight_decay == 0.0 and momentum == 0.0
    step = -clr
    for layer in range(kinds.size - 1, -1, -1):
        kind, n_in, n_out = kinds[layer], widths[layer], widths[layer + 1]
        src = x if layer == 0 else acts[layer]
        if kind != LINEAR:
            if layer == 0:
                return
            _activation_backward(kind, src, acts[layer + 1], delta, 1, n_in, slopes[layer], spare, zero)
            continue
        w0, b0 = woff[layer], boff[layer]
        weight_t = tparams[w0:w0 + n_in * n_out].reshape((n_in, n_out))
        g = delta[:n_out]
        if layer > 0:  # gradInput = W g, before W changes
            for j in range(n_in):
                s, row = zero, weight_t[j]
                for o in range(n_out):
                    s += g[o] * row[o]
                spare[j] = s
        for j in range(n_in):  # W -= clr · g xᵀ (and optim.sgd's other terms)
            xj, row = src[j], weight_t[j]
            if plain:
                for o in range(n_out):
                    row[o] = row[o] + step * (g[o] * xj)
                continue
            for o in range(n_out):
                i = w0 + j * n_out + o
                v = tvelocity[i] if momentum != 0.0 else 0.0
                tparams[i], v = _sgd_value(tparams[i], g[o] * xj, v, clr, weight_decay, momentum, dampening,
                                           nesterov, first)
                if momentum != 0.0:
                    tvelocity[i] = v
        if b0 >= 0:
            for o in range(n_out):
                i = b0 + o
                v = tvelocity[i] if momentum != 0.0 else 0.0
                tparams[i], v = _sgd_value(tparams[i], g[o], v, clr, weight_decay, momentum, dampening, nesterov,
                                           first)
                if momentum != 0.0:
                    tvelocity[i] = v
        if layer == 0:
            return
        delta, spare = spare, delta


@njit(cache=True, error_model="numpy")
def _row_steps(kinds, widths, woff, boff, slopes, criterion, size_average, tparams, tvelocity, acts, delta, spare,
               inputs, labels, targets, order, steps, learning_rate, learning_rate_decay, weight_decay, momentum,
               dampening, nesterov, eval_counter, has_velocity, losses, corrects, zero):
    """The first ``steps`` steps of one example each, on transposed weights (see :func:`train_steps`)."""
    n_out = widths[kinds.size]
    out = acts[kinds.size]
    for step in range(steps):
        _row_forward(kinds, widths, woff, boff, slopes, tparams, inputs[order[step]], acts, delta, zero)
        if corrects.size:
            corrects[step] = _correct(criterion, out, n_out, 1, labels, targets, order, step)
        losses[step] = _criterion(criterion, size_average, out, n_out, 1, labels, targets, order, step, delta, spare,
                                  zero)
        clr = learning_rate / (1 + eval_counter * learning_rate_decay)
        _row_backward(kinds, widths, woff, boff, slopes, tparams, tvelocity, inputs[order[step]], acts, delta,
                      spare, clr, weight_decay, momentum, dampening, nesterov, step == 0 and not has_velocity, zero)
        eval_counter += 1
    return eval_counter


@njit(cache=True, error_model="numpy")
def train_steps(kinds, widths, woff, boff, slopes, criterion, size_average, params, grads, velocity, acts,
                delta, spare, inputs, labels, targets, order, batch_size, learning_rate, learning_rate_decay,
                weight_decay, momentum, dampening, nesterov, eval_counter, has_velocity, losses, corrects, zero):
    """SGD over ``inputs[order]`` in steps of ``batch_size`` rows (the last may be shorter): one loss per
    step into ``losses`` and its count of right answers into ``corrects`` (when it has room); returns the
    eval counter after the last step. ``has_velocity``: whether ``velocity`` holds a previous step's (else
    the first step with momentum sets it to the gradient);
    ``zero``: 0 of the parameters' dtype (sums start from it, so float32 models compute in float32).
    """
    n_in = widths[0]
    n_out = widths[kinds.size]
    first_step = 0
    if batch_size == 1 and losses.size > 1:  # all but the last step on transposed weights, fused updates
        tparams = np.empty_like(params)
        _transpose_weights(kinds, widths, woff, params, tparams, False)
        tvelocity = velocity
        if momentum != 0.0:
            tvelocity = np.empty_like(velocity)
            _transpose_weights(kinds, widths, woff, velocity, tvelocity, False)
        first_step = losses.size - 1
        eval_counter = _row_steps(kinds, widths, woff, boff, slopes, criterion, size_average, tparams, tvelocity,
                                  acts, delta, spare, inputs, labels, targets, order, first_step, learning_rate,
                                  learning_rate_decay, weight_decay, momentum, dampening, nesterov, eval_counter,
                                  has_velocity, losses, corrects, zero)
        _transpose_weights(kinds, widths, woff, tparams, params, True)
        if momentum != 0.0:
            _transpose_weights(kinds, widths, woff, tvelocity, velocity, True)
    for step in range(first_step, losses.size):
        start = step * batch_size
        bs = min(batch_size, order.size - start)
        gathered = acts[0][:bs * n_in].reshape((bs, n_in))  # (a copy: faster than BLAS reading the rows)
        for r in range(bs):
            example = order[start + r]
            for j in range(n_in):
                gathered[r, j] = inputs[example, j]
        _forward(kinds, widths, woff, boff, slopes, params, acts, bs, delta, zero)
        if corrects.size:
            corrects[step] = _correct(criterion, acts[kinds.size], n_out, bs, labels, targets, order, start)
        losses[step] = _criterion(criterion, size_average, acts[kinds.size], n_out, bs, labels, targets, order,
                                  start, delta, spare, zero)
        _backward(kinds, widths, woff, boff, slopes, params, grads, acts, delta, spare, bs, zero)
        clr = learning_rate / (1 + eval_counter * learning_rate_decay)
        _sgd_step(params, grads, velocity, clr, weight_decay, momentum, dampening, nesterov,
                  step == 0 and not has_velocity)
        eval_counter += 1
    return eval_counter
