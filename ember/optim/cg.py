"""Nonlinear conjugate gradients with Rasmussen's line search (``minimize.m``), as Torch's ``optim.cg``."""

from __future__ import annotations

import numpy as np

from ember.errors import InputError
from ember.optim._common import Feval, check_count, check_real, check_state, check_x, evaluate

_CONFIG = frozenset({"rho", "sig", "int", "ext", "max_iter", "ratio", "max_eval"})
_HISTORY = frozenset({"func_eval"})


def cg(opfunc: Feval, x: np.ndarray, state: dict | None = None) -> tuple[np.ndarray, list[float], int]:
    """Minimise with Polak–Ribière conjugate gradients and a line search by cubic interpolation and
    extrapolation under the Wolfe–Powell conditions (Torch ``optim.cg``, a rewrite of Carl E. Rasmussen's
    ``minimize.m``). Unlike the per-step optimizers, one call runs the whole minimisation.

    Configuration (keys of ``state``, with defaults):
        rho (0.01): the sufficient-decrease constant of the Wolfe–Powell conditions.
        sig (0.5): the curvature constant (the slope must shrink to ``sig`` times its initial value).
        int (0.1): don't re-evaluate within ``int`` of the current bracket's ends.
        ext (3.0): extrapolate at most to ``ext`` times the current step.
        max_iter (20): the most line-search evaluations per line search.
        ratio (100): the largest ratio of one initial step to the previous.
        max_eval (1.25 · max_iter): the most function evaluations in all.

    History (keys written to ``state``):
        func_eval: the number of function evaluations made.

    Returns:
        ``x`` (updated in place, at the best point found), the list of losses (the first at the start,
        then one per successful line search) and the number of evaluations.

    Torch's Lua code gives up after the first failed line search (its ``if ls_failed`` is always true
    in Lua); as ``minimize.m``, this one retries once along the steepest descent first.

    """
    state = check_state("cg", state, _CONFIG, _HISTORY)
    check_x("cg", x)
    rho, sig = state.get("rho", 0.01), state.get("sig", 0.5)
    interp, ext = state.get("int", 0.1), state.get("ext", 3.0)
    max_iter, ratio = state.get("max_iter", 20), state.get("ratio", 100)
    check_count("cg", max_iter=max_iter)
    max_eval = state.get("max_eval", max_iter * 1.25)
    check_real("cg", rho=rho, sig=sig, int=interp, ext=ext)
    check_real("cg", finite=False, ratio=ratio, max_eval=max_eval)
    if not (0 < rho < sig < 1 and 0 < interp < 1 and ext > 1 and max_iter > 0 and max_eval > 0 and ratio > 0):
        raise InputError(f"optim.cg: expected 0 < rho < sig < 1, 0 < int < 1, ext > 1, max_iter > 0, max_eval > 0 "
                         f"and ratio > 0, got rho={rho!r}, sig={sig!r}, int={interp!r}, ext={ext!r}, "
                         f"max_iter={max_iter!r}, max_eval={max_eval!r}, ratio={ratio!r}")

    def f_and_df(point: np.ndarray) -> tuple[np.float64, np.ndarray]:
        value, grad = evaluate("cg", opfunc, point)
        return np.float64(value), grad.copy()

    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        f1, df1 = f_and_df(x)
        losses = [float(f1)]
        evals = 1
        s = -df1
        d1 = -s.dot(s)
        z1 = 1.0 / (1.0 - d1)
        ls_failed = False
        while evals < abs(max_eval):
            x0, f0, df0 = x.copy(), f1, df1.copy()
            x += z1 * s
            f2, df2 = f_and_df(x)
            evals += 1
            d2 = df2.dot(s)
            f3, d3, z3 = f1, d1, -z1
            m = min(max_iter, max_eval - evals)
            success, limit = False, -1.0
            while True:
                while (f2 > f1 + z1 * rho * d1 or d2 > -sig * d1) and m > 0:
                    limit = z1
                    if f2 > f1:
                        z2 = z3 - (0.5 * d3 * z3 * z3) / (d3 * z3 + f2 - f3)
                    else:
                        a = 6 * (f2 - f3) / z3 + 3 * (d2 + d3)
                        b = 3 * (f3 - f2) - z3 * (d3 + 2 * d2)
                        z2 = (np.sqrt(b * b - a * d2 * z3 * z3) - b) / a
                    if not np.isfinite(z2):
                        z2 = z3 / 2
                    z2 = max(min(z2, interp * z3), (1 - interp) * z3)
                    z1 += z2
                    x += z2 * s
                    f2, df2 = f_and_df(x)
                    evals += 1
                    m -= 1
                    d2 = df2.dot(s)
                    z3 -= z2
                if f2 > f1 + z1 * rho * d1 or d2 > -sig * d1:
                    break
                if d2 > sig * d1:
                    success = True
                    break
                if m == 0:
                    break
                a = 6 * (f2 - f3) / z3 + 3 * (d2 + d3)
                b = 3 * (f3 - f2) - z3 * (d3 + 2 * d2)
                z2 = -d2 * z3 * z3 / (b + np.sqrt(b * b - a * d2 * z3 * z3))
                if not np.isfinite(z2) or z2 < 0:
                    z2 = z1 * (ext - 1) if limit < -0.5 else (limit - z1) / 2
                elif limit > -0.5 and z2 + z1 > limit:
                    z2 = (limit - z1) / 2
                elif limit < -0.5 and z2 + z1 > z1 * ext:
                    z2 = z1 * (ext - 1)
                elif z2 < -z3 * interp:
                    z2 = -z3 * interp
                elif limit > -0.5 and z2 < (limit - z1) * (1 - interp):
                    z2 = (limit - z1) * (1 - interp)
                f3, d3, z3 = f2, d2, -z2
                z1 += z2
                x += z2 * s
                f2, df2 = f_and_df(x)
                evals += 1
                m -= 1
                d2 = df2.dot(s)
            if success:
                f1 = f2
                losses.append(float(f1))
                beta = (df2.dot(df2) - df2.dot(df1)) / df1.dot(df1)
                s = beta * s - df2
                df1, df2 = df2, df1
                d2 = df1.dot(s)
                if d2 > 0:
                    s = -df1
                    d2 = -s.dot(s)
                z1 *= min(ratio, d1 / (d2 - 1e-320))
                d1 = d2
                ls_failed = False
            else:
                np.copyto(x, x0)
                f1, df1 = f0, df0
                if ls_failed or evals > max_eval:
                    break
                df1, df2 = df2, df1
                s = -df1
                d1 = -s.dot(s)
                z1 = 1 / (1 - d1)
                ls_failed = True
    state["func_eval"] = evals
    return x, losses, evals
