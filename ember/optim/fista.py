"""FISTA with backtracking (Beck and Teboulle, 2009), as Torch's ``optim.FistaLS``."""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import numpy as np

from ember.errors import InputError
from ember.optim._common import check_count, check_flag, check_nonnegative, check_real, check_state, check_x

_CONFIG = frozenset({"lipschitz", "lipschitz_step", "max_iter", "max_line", "err_thres", "do_fista_update"})


def fista(f: Callable[..., Any], g: Callable[[np.ndarray], float], pl: Callable[[np.ndarray, float], Any],
          x: np.ndarray, state: dict | None = None) -> tuple[np.ndarray, list[dict]]:
    """Minimise ``F(x) = f(x) + g(x)``, ``f`` smooth and ``g`` not (e.g. an L1 penalty), by proximal
    gradient steps with a backtracking line search on the Lipschitz constant ``L`` and, with
    ``do_fista_update``, Nesterov's momentum (FISTA; without it, ISTA). Torch's ``optim.FistaLS``.

    Each iteration: from ``y``, ``p = pl(y − ∇f(y)/L, L)``; ``L`` is multiplied by ``lipschitz_step`` until
    ``f(p) ≤ Q = f(y) + ⟨p − y, ∇f(y)⟩ + L/2 ‖p − y‖²`` (after ``max_line`` tries the previous iterate
    is kept); then ``t' = (1 + √(1 + 4t²)) / 2`` and ``y = p + (t − 1)/t' · (p − p_prev)``. It stops when
    ``F(y)`` changes by at most ``err_thres`` between iterations, or after ``max_iter`` iterations.

    Args:
        f: the smooth part: ``f(x)`` returns ``f(x)``; ``f(x, "dx")`` returns ``(f(x), ∇f(x))`` (Torch's
            convention).
        g: the non-smooth part, ``g(x)`` returns a number.
        pl: the proximal step, ``pl(z, L)`` overwrites ``z`` with ``argmin_x g(x) + L/2 ‖x − z‖²`` (for
            ``g = λ‖x‖₁``, a soft shrinkage by ``λ/L``).
        x: receives the solution (1-D float array). As Torch's, the iteration starts from zero (the
            sparse-coding use: codes start at 0); the values ``x`` holds are not used.
        state: the configuration below; ``lipschitz`` is updated to the last ``L`` used.

    Configuration (keys of ``state``, with defaults):
        lipschitz (0.1): the initial ``L``, 1/(step size) (Torch's ``L``).
        lipschitz_step (1.5): the factor ``L`` grows by in the line search (``Lstep``).
        max_iter (50), max_line (20): the most iterations, and line-search steps per iteration.
        err_thres (1e-4): the convergence threshold on ``F``.
        do_fista_update (True): FISTA's momentum; ``False`` runs ISTA.

    Returns:
        ``x`` (updated in place) and the history: one dict per iteration with ``nline`` (line-search
        steps), ``L``, ``F`` (= ``Fply + Gply``), ``Fply``, ``Gply`` and ``Q``.

    """
    state = check_state("fista", state, _CONFIG, frozenset())
    check_x("fista", x)
    lipschitz = state.get("lipschitz", 0.1)
    step = state.get("lipschitz_step", 1.5)
    max_iter, max_line = state.get("max_iter", 50), state.get("max_line", 20)
    err_thres = state.get("err_thres", 1e-4)
    do_fista = state.get("do_fista_update", True)
    check_real("fista", lipschitz=lipschitz, lipschitz_step=step)
    check_nonnegative("fista", err_thres=err_thres)
    check_count("fista", max_iter=max_iter, max_line=max_line)
    check_flag("fista", do_fista_update=do_fista)
    if not (lipschitz > 0 and step > 1 and max_iter >= 1 and max_line >= 0):
        raise InputError(f"optim.fista: expected lipschitz > 0, lipschitz_step > 1, max_iter >= 1 and max_line >= 0, "
                         f"got {lipschitz!r}, {step!r}, {max_iter!r}, {max_line!r}")
    xk = np.zeros_like(x)
    xkm = np.zeros_like(x)
    y = np.zeros_like(x)
    tk = 1.0
    history: list[dict] = []
    while True:
        fy, gfy = f(y, "dx")
        nline = 0
        while True:
            ply = y - gfy / lipschitz
            pl(ply, lipschitz)
            np.copyto(xk, ply)
            fply = f(ply)
            ply -= y
            q = fy + gfy.dot(ply) + lipschitz / 2 * ply.dot(ply)
            if fply <= q:
                break
            if nline >= max_line:
                np.copyto(xk, xkm)
                break
            lipschitz *= step
            nline += 1
        nline += 1
        if do_fista:
            tkp = (1 + math.sqrt(1 + 4 * tk * tk)) / 2
            xkm -= xk
            y = xk + (1 - tk) / tkp * xkm
            np.copyto(xkm, xk)
            tk = tkp
        else:
            y = xk.copy()
        fply, gply = f(y), g(y)
        history.append({"nline": nline, "L": lipschitz, "F": fply + gply, "Fply": fply, "Gply": gply, "Q": q})
        state["lipschitz"] = lipschitz
        if (len(history) > 1 and abs(history[-1]["F"] - history[-2]["F"]) <= err_thres) or len(history) >= max_iter:
            np.copyto(x, y)
            return x, history
