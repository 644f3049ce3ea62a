"""Limited-memory BFGS, as Torch's ``optim.lbfgs``."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from ember.errors import InputError, InputTypeError
from ember.optim._common import Feval, check_count, check_nonnegative, check_state, check_x, evaluate
from ember.optim.line_search import strong_wolfe

_CONFIG = frozenset({"max_iter", "max_eval", "tol_fun", "tol_x", "n_correction", "learning_rate", "line_search",
                     "line_search_options"})
_HISTORY = frozenset({"func_eval", "n_iter", "d", "t", "s_history", "y_history", "ro", "h_diag", "g_old", "f_old"})
_LINE_SEARCH_OPTIONS = frozenset({"c1", "c2", "tolerance_change", "max_ls"})


def lbfgs(feval: Feval, x: np.ndarray, state: dict | None = None) -> tuple[np.ndarray, list[float]]:
    """Minimise with L-BFGS for up to ``max_iter`` iterations (Torch ``optim.lbfgs``).

    Each iteration computes a quasi-Newton direction ``d = −H g`` from the last
    ``n_correction`` step/gradient-change pairs (the two-loop recursion, with
    the initial Hessian ``(s·y)/(y·y) I``), then moves along it: by a fixed step
    ``t = learning_rate`` (on the very first iteration
    ``min(1, 1/Σ|g|) · learning_rate``), or by a strong-Wolfe line search. One
    call is a whole optimisation run (or a chunk of one: calling again with
    the same ``state`` continues with the kept history).

    Configuration (keys of ``state``, with defaults):
        max_iter (20): the maximum number of iterations per call.
        max_eval (1.25 · max_iter): the maximum number of ``feval`` calls per call.
        tol_fun (1e-5): stop when ``Σ|g| ≤ tol_fun`` (first-order optimality).
        tol_x (1e-9): stop when ``Σ|t d| ≤ tol_x``, when the loss changes by less
            than ``tol_x``, or when the directional derivative ``g·d > −tol_x``.
        n_correction (100): the number of correction pairs kept (history size).
        learning_rate (1): the (initial) step length.
        line_search (None): ``None`` for fixed steps, ``'strong_wolfe'`` for
            :func:`ember.optim.line_search.strong_wolfe`, or a function with its
            signature ``(feval, x, t, d, f, g, gtd, **line_search_options) ->
            (f_new, g_new, t, n_evals)`` that leaves ``x`` at ``x + t d``.
        line_search_options ({}): keyword arguments for the line search
            (``c1``, ``c2``, ``tolerance_change``, ``max_ls``; by default ``max_ls``
            is what ``max_eval`` leaves).

    History (keys written to ``state``):
        func_eval: the total number of ``feval`` calls; n_iter: the total number
        of iterations; d, t: the last direction and step; s_history, y_history,
        ro: the correction pairs ``s = t d``, ``y = Δg`` and ``1/(y·s)``;
        h_diag: the initial Hessian scale; g_old, f_old: the previous gradient and loss.

    Returns:
        ``x`` (the same array, updated in place) and the history of ``f``: the
        loss at the start, then after each step (Torch's ``f_hist``). Without a
        line search the last step is not re-evaluated (as Torch), so the last
        loss is the one before the final step.

    Torch's convergence tests are kept (sums of absolute values); PyTorch's
    ``torch.optim.LBFGS`` uses maxima (``tolerance_grad = 1e-7``,
    ``tolerance_change = 1e-9``) but otherwise takes the same steps.

    """
    state = check_state("lbfgs", state, _CONFIG, _HISTORY)
    check_x("lbfgs", x)
    max_iter = state.get("max_iter", 20)
    check_count("lbfgs", max_iter=max_iter)
    max_eval = state.get("max_eval", max_iter * 1.25)
    tol_fun = state.get("tol_fun", 1e-5)
    tol_x = state.get("tol_x", 1e-9)
    n_correction = state.get("n_correction", 100)
    lr = state.get("learning_rate", 1.0)
    line_search = _line_search(state.get("line_search"), state.get("line_search_options", {}))
    check_nonnegative("lbfgs", max_eval=max_eval, tol_fun=tol_fun, tol_x=tol_x, learning_rate=lr)
    if isinstance(n_correction, bool) or not isinstance(n_correction, int) or n_correction < 1:
        raise InputError(f"optim.lbfgs: n_correction must be a positive integer, got {n_correction!r}")

    state.setdefault("func_eval", 0)
    state.setdefault("n_iter", 0)

    f, g = evaluate("lbfgs", feval, x)
    f_hist = [f]
    current_evals = 1
    state["func_eval"] += 1
    if np.abs(g).sum() <= tol_fun:
        return x, f_hist

    d, t = state.get("d"), state.get("t")
    s_history, y_history, ro = state.get("s_history"), state.get("y_history"), state.get("ro")
    h_diag, g_old, f_old = state.get("h_diag"), state.get("g_old"), state.get("f_old")
    if state["n_iter"] > 0 and (g_old is None or g_old.shape != x.shape):
        raise InputError(f"optim.lbfgs: the history in state (n_iter={state['n_iter']}) does not match x of "
                         f"shape {x.shape}; use a fresh state dict for a different set of parameters")

    n_iter = 0
    while n_iter < max_iter:
        n_iter += 1
        state["n_iter"] += 1

        # The descent direction.
        if state["n_iter"] == 1:
            d = -g
            s_history, y_history, ro = [], [], []
            h_diag = 1.0
        else:
            y = g - g_old
            s = d * t
            ys = float(y.dot(s))
            if ys > 1e-10:
                if len(s_history) == n_correction:
                    s_history.pop(0)
                    y_history.pop(0)
                    ro.pop(0)
                s_history.append(s)
                y_history.append(y)
                ro.append(1.0 / ys)
                h_diag = ys / float(y.dot(y))
            # Two-loop recursion: d = -H g.
            q = -g
            al = [0.0] * len(s_history)
            for i in range(len(s_history) - 1, -1, -1):
                al[i] = float(s_history[i].dot(q)) * ro[i]
                q -= al[i] * y_history[i]
            d = q
            d *= h_diag
            for i in range(len(s_history)):
                be_i = float(y_history[i].dot(d)) * ro[i]
                d += (al[i] - be_i) * s_history[i]

        if g_old is None:
            g_old = g.copy()
        else:
            g_old[...] = g
        f_old = f

        # The step length.
        t = min(1.0, 1.0 / float(np.abs(g).sum())) * lr if state["n_iter"] == 1 else lr
        gtd = float(g.dot(d))
        if gtd > -tol_x:
            break

        if line_search is not None:
            f, g, t, ls_evals = line_search(feval, x, t, d, f, g, gtd, max_eval - current_evals)
            f_hist.append(f)
        else:
            x += t * d
            ls_evals = 0
            if n_iter != max_iter:
                # Not re-evaluated after the last iteration (pointless in a stochastic setting).
                f, g = evaluate("lbfgs", feval, x)
                ls_evals = 1
                f_hist.append(f)
        current_evals += ls_evals
        state["func_eval"] += ls_evals

        # Convergence tests.
        if n_iter == max_iter or current_evals >= max_eval:
            break
        if np.abs(g).sum() <= tol_fun:
            break
        if np.abs(d * t).sum() <= tol_x:
            break
        if abs(f - f_old) < tol_x:
            break

    state.update(d=d, t=t, s_history=s_history, y_history=y_history, ro=ro, h_diag=h_diag, g_old=g_old, f_old=f_old)
    return x, f_hist


_LineSearch = Callable[[Feval, np.ndarray, float, np.ndarray, float, np.ndarray, float, float],
                       tuple[float, np.ndarray, float, int]]


def _line_search(choice: object, options: object) -> _LineSearch | None:
    """The line search named by ``state['line_search']``, bound to its options, or ``None``."""
    if choice is None:
        return None
    if not isinstance(options, dict):
        raise InputTypeError(f"optim.lbfgs: line_search_options must be a dict, got {type(options).__name__}")
    if isinstance(choice, str) and choice == "strong_wolfe":
        unknown = options.keys() - _LINE_SEARCH_OPTIONS
        if unknown:
            raise InputError(f"optim.lbfgs: unknown line_search_options key {sorted(map(str, unknown))[0]!r} "
                             f"(known: {', '.join(sorted(_LINE_SEARCH_OPTIONS))})")
        check_nonnegative("lbfgs", **{key: value for key, value in options.items() if key != "max_ls"})
        if "max_ls" in options:
            check_count("lbfgs", max_ls=options["max_ls"])
        function = strong_wolfe
    elif callable(choice):
        function = choice
    else:
        raise InputError(f"optim.lbfgs: line_search must be None, 'strong_wolfe' or a function, got {choice!r}")

    def search(feval: Feval, x: np.ndarray, t: float, d: np.ndarray, f: float, g: np.ndarray, gtd: float,
               evals_left: float) -> tuple[float, np.ndarray, float, int]:
        kwargs = dict(options)
        if function is strong_wolfe:
            kwargs.setdefault("max_ls", int(evals_left))
        return function(feval, x, t, d, f, g, gtd, **kwargs)

    return search
