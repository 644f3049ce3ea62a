"""SciPy's special-function ufuncs, imported on first use: ``scipy.special`` takes ~170 ms to import, and
``import ember`` should not pay for it (a model without a sigmoid never does).
"""

from __future__ import annotations

from typing import Any

import numpy as np

_ufuncs: dict[str, Any] = {}


def _ufunc(name: str) -> Any:
    if not _ufuncs:
        import scipy.special
        _ufuncs.update(expit=scipy.special.expit, erf=scipy.special.erf)
    return _ufuncs[name]


def expit(x: np.ndarray, out: np.ndarray | None = None) -> np.ndarray:
    """The logistic function ``1 / (1 + e⁻ˣ)`` (SciPy's ``expit``: one pass, no overflow)."""
    return _ufunc("expit")(x, out=out)


def erf(x: np.ndarray, out: np.ndarray | None = None) -> np.ndarray:
    """The error function (SciPy's ``erf``)."""
    return _ufunc("erf")(x, out=out)
