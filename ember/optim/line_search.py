"""Line search satisfying the strong Wolfe conditions, for :func:`ember.optim.lbfgs`.

The cubic-interpolation bracketing-and-zoom search of Torch's ``lswolfe.lua``
(itself from Mark Schmidt's minFunc), in the form PyTorch ported it
(``torch.optim.lbfgs._strong_wolfe``), so that ``lbfgs`` with
``line_search='strong_wolfe'`` follows ``torch.optim.LBFGS`` step by step.
It differs from ``lswolfe.lua`` in two details: the zoom phase stops when the
bracket times ``max|d|`` falls below ``tolerance_change`` (checked before each
trial, Torch checks ``|bracket width · gtd_new|`` after), and at most
``max_ls`` (default 25, Torch 20) evaluations are made.
"""

from __future__ import annotations

import math

import numpy as np

from ember.errors import InputError
from ember.optim._common import Feval, evaluate


def cubic_interpolate(x1: float, f1: float, g1: float, x2: float, f2: float, g2: float,
                      bounds: tuple[float, float] | None = None) -> float:
    """The minimiser of the cubic through two points with values and slopes, clipped to ``bounds``.

    Torch's ``polyinterp`` for its common case: the cubic ``c`` with
    ``c(x1) = f1, c'(x1) = g1, c(x2) = f2, c'(x2) = g2``. ``bounds`` defaults
    to ``[min(x1, x2), max(x1, x2)]``; where the cubic has no minimum, the
    midpoint of the bounds is returned.
    """
    if bounds is not None:
        xmin_bound, xmax_bound = bounds
    else:
        xmin_bound, xmax_bound = (x1, x2) if x1 <= x2 else (x2, x1)
    d1 = g1 + g2 - 3 * (f1 - f2) / (x1 - x2)
    d2_square = d1 * d1 - g1 * g2
    if d2_square >= 0:
        d2 = math.sqrt(d2_square)
        if x1 <= x2:
            min_pos = x2 - (x2 - x1) * ((g2 + d2 - d1) / (g2 - g1 + 2 * d2))
        else:
            min_pos = x1 - (x1 - x2) * ((g1 + d2 - d1) / (g1 - g2 + 2 * d2))
        return min(max(min_pos, xmin_bound), xmax_bound)
    return (xmin_bound + xmax_bound) / 2.0


def strong_wolfe(feval: Feval, x: np.ndarray, t: float, d: np.ndarray, f: float, g: np.ndarray, gtd: float, *,
                 c1: float = 1e-4, c2: float = 0.9, tolerance_change: float = 1e-9,
                 max_ls: int = 25) -> tuple[float, np.ndarray, float, int]:
    """Search along ``d`` from ``x`` for a step ``t`` satisfying the strong Wolfe conditions.

    The conditions, with ``φ(t) = f(x + t d)``:
    sufficient decrease ``φ(t) ≤ φ(0) + c1 t φ'(0)`` and curvature
    ``|φ'(t)| ≤ c2 |φ'(0)|``. A bracketing phase extrapolates by cubic
    interpolation (within ``[t + 0.01 (t − t_prev), 10 t]``) until an interval
    holding such a step is found; a zoom phase shrinks it by cubic
    interpolation, moving trials away from the ends when progress is slow.

    Args:
        feval: ``feval(x)`` returns ``(f(x), df/dx)``.
        x: the starting point (1-D); it is overwritten by the trial points and
            left at ``x + t d`` for the returned ``t``.
        t: the initial step length.
        d: the search direction (a descent direction: ``gtd < 0``).
        f: the loss at ``x``.
        g: the gradient at ``x`` (copied, not kept).
        gtd: the directional derivative ``g · d``.
        c1: the sufficient-decrease constant, ``0 < c1 < c2``.
        c2: the curvature constant, ``c1 < c2 < 1``.
        tolerance_change: stop zooming when ``|bracket width| · max|d|`` is below this.
        max_ls: the maximum number of function evaluations.

    Returns:
        ``(f_new, g_new, t, n_evals)``: the loss and (a copy of the) gradient at
        the accepted point, the step length and the number of ``feval`` calls.

    """
    if not 0 < c1 < c2 < 1:
        raise InputError(f"optim.strong_wolfe: need 0 < c1 < c2 < 1, got c1={c1!r}, c2={c2!r}")
    x_init = x.copy()
    d_norm = float(np.abs(d).max())
    g = g.copy()

    def phi(step: float) -> tuple[float, np.ndarray, float]:
        np.multiply(d, step, out=x)
        np.add(x, x_init, out=x)
        f_step, g_step = evaluate("strong_wolfe", feval, x)
        return f_step, g_step.copy(), float(g_step.dot(d))

    f_new, g_new, gtd_new = phi(t)
    ls_func_evals = 1

    # Bracketing phase: find an interval containing a point satisfying the conditions.
    t_prev, f_prev, g_prev, gtd_prev = 0.0, f, g, gtd
    done = False
    ls_iter = 0
    bracket, bracket_f, bracket_g, bracket_gtd = [t], [f_new], [g_new], [gtd_new]
    while ls_iter < max_ls:
        if f_new > f + c1 * t * gtd or (ls_iter > 1 and f_new >= f_prev):
            bracket, bracket_f = [t_prev, t], [f_prev, f_new]
            bracket_g, bracket_gtd = [g_prev, g_new], [gtd_prev, gtd_new]
            break
        if abs(gtd_new) <= -c2 * gtd:
            bracket, bracket_f, bracket_g, bracket_gtd = [t], [f_new], [g_new], [gtd_new]
            done = True
            break
        if gtd_new >= 0:
            bracket, bracket_f = [t_prev, t], [f_prev, f_new]
            bracket_g, bracket_gtd = [g_prev, g_new], [gtd_prev, gtd_new]
            break
        # Extrapolate.
        min_step = t + 0.01 * (t - t_prev)
        max_step = t * 10
        previous = t
        t = cubic_interpolate(t_prev, f_prev, gtd_prev, t, f_new, gtd_new, bounds=(min_step, max_step))
        t_prev, f_prev, g_prev, gtd_prev = previous, f_new, g_new, gtd_new
        f_new, g_new, gtd_new = phi(t)
        ls_func_evals += 1
        ls_iter += 1

    if ls_iter == max_ls:
        bracket, bracket_f, bracket_g, bracket_gtd = [0.0, t], [f, f_new], [g, g_new], [gtd, gtd_new]

    # Zoom phase: shrink the bracket until a point satisfies the conditions.
    insuf_progress = False
    low_pos, high_pos = (0, 1) if bracket_f[0] <= bracket_f[-1] else (1, 0)
    while not done and ls_iter < max_ls:
        if abs(bracket[1] - bracket[0]) * d_norm < tolerance_change:
            break
        t = cubic_interpolate(bracket[0], bracket_f[0], bracket_gtd[0], bracket[1], bracket_f[1], bracket_gtd[1])
        # If t is within 10% of an end of the bracket twice in a row (or outside it),
        # move it to 10% of the bracket's width from the nearest end.
        high, low = max(bracket), min(bracket)
        eps = 0.1 * (high - low)
        if min(high - t, t - low) < eps:
            if insuf_progress or t >= high or t <= low:
                t = high - eps if abs(t - high) < abs(t - low) else low + eps
                insuf_progress = False
            else:
                insuf_progress = True
        else:
            insuf_progress = False

        f_new, g_new, gtd_new = phi(t)
        ls_func_evals += 1
        ls_iter += 1

        if f_new > f + c1 * t * gtd or f_new >= bracket_f[low_pos]:
            # Armijo condition not satisfied or not lower than the lowest point: new high.
            bracket[high_pos], bracket_f[high_pos] = t, f_new
            bracket_g[high_pos], bracket_gtd[high_pos] = g_new, gtd_new
            low_pos, high_pos = (0, 1) if bracket_f[0] <= bracket_f[1] else (1, 0)
        else:
            if abs(gtd_new) <= -c2 * gtd:
                done = True
            elif gtd_new * (bracket[high_pos] - bracket[low_pos]) >= 0:
                # The old high becomes the new low.
                bracket[high_pos], bracket_f[high_pos] = bracket[low_pos], bracket_f[low_pos]
                bracket_g[high_pos], bracket_gtd[high_pos] = bracket_g[low_pos], bracket_gtd[low_pos]
            bracket[low_pos], bracket_f[low_pos] = t, f_new
            bracket_g[low_pos], bracket_gtd[low_pos] = g_new, gtd_new

    t = bracket[low_pos]
    np.multiply(d, t, out=x)
    x += x_init
    return bracket_f[low_pos], bracket_g[low_pos], t, ls_func_evals
