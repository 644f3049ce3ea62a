"""Gradient clipping by the global norm (PyTorch's ``clip_grad_norm_``), for recurrent networks above all."""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np

from ember.errors import InputError
from ember.optim._common import check_real


def clip_grad_norm(grads: np.ndarray | Sequence[np.ndarray], max_norm: float, norm_type: float = 2.0) -> float:
    """Scale the gradients in place so that their joint norm is at most ``max_norm``; return the norm before.

    ``grads`` is the flat gradient of ``model.getParameters()`` or a list of gradient arrays
    (``model.parameters()[1]``). As PyTorch's ``clip_grad_norm_``: the norm is the ``norm_type``-norm
    of all the entries together (2: Euclidean; ``math.inf``: the largest magnitude), and every
    gradient is multiplied by ``min(1, max_norm / (norm + 1e-6))``, so the update keeps its direction.

    Example (inside ``feval``, after ``backward``, on ``model.getParameters()``'s flat gradient):
        >>> import numpy as np
        >>> grads = np.array([3.0, 4.0])
        >>> clip_grad_norm(grads, 1.0)
        5.0
        >>> grads.round(4).tolist()
        [0.6, 0.8]

    """
    check_real("clip_grad_norm", finite=False, max_norm=max_norm, norm_type=norm_type)
    if not max_norm > 0:
        raise InputError(f"clip_grad_norm: max_norm must be positive, got {max_norm}")
    if not norm_type > 0:
        raise InputError(f"clip_grad_norm: norm_type must be positive (or math.inf), got {norm_type}")
    arrays = [grads] if isinstance(grads, np.ndarray) else list(grads)
    if norm_type == 2:
        norm = math.sqrt(sum(float(np.vdot(g, g)) for g in arrays))
    elif norm_type == math.inf:
        norm = max((float(np.max(np.abs(g))) for g in arrays if g.size), default=0.0)
    else:
        norm = sum(float(np.sum(np.abs(g) ** norm_type)) for g in arrays) ** (1.0 / norm_type)
    factor = max_norm / (norm + 1e-6)
    if not factor >= 1.0:  # (PyTorch multiplies by the factor clamped to 1: a NaN norm spreads, as there)
        for g in arrays:
            g *= factor
    return norm
