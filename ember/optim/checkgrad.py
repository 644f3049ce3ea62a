"""Finite-difference check of an ``feval``'s gradient, as Torch's ``optim.checkgrad``."""

from __future__ import annotations

import numpy as np

from ember.errors import InputError
from ember.finite_differences import gradient, relative_error
from ember.optim._common import Feval, check_x, evaluate


def checkgrad(feval: Feval, x: np.ndarray, eps: float = 1e-7) -> tuple[float, np.ndarray, np.ndarray]:
    """Compare ``feval``'s gradient at ``x`` with central finite differences (Torch ``optim.checkgrad``).

    Each coordinate is perturbed in turn, ``dC_est[i] = (f(x + eps e_i) − f(x − eps e_i)) / (2 eps)``
    (:func:`ember.finite_differences.gradient`);
    ``x`` is restored afterwards (it is modified during the check, so pass the
    model's flat parameters when ``feval`` reads the model).

    Args:
        feval: ``feval(x)`` returns ``(f(x), df/dx)``.
        x: the point (1-D float array), left unchanged.
        eps: the finite-difference step (use float64: in float32 the
            differences are dominated by rounding).

    Returns:
        ``(diff, dC, dC_est)``: the relative difference
        ``‖dC − dC_est‖ / ‖dC + dC_est‖`` (0 when both are zero; around 1e-8 or
        below for a correct float64 gradient), a copy of the analytic gradient
        and the finite-difference estimate.

    """
    check_x("checkgrad", x)
    if not eps > 0:
        raise InputError(f"optim.checkgrad: eps must be > 0, got {eps!r}")
    _, grad = evaluate("checkgrad", feval, x)
    dC = grad.copy()
    dC_est = gradient(lambda: evaluate("checkgrad", feval, x)[0], x, eps)
    return relative_error(dC, dC_est), dC, dC_est
