"""Gradient clipping by the global norm (PyTorch's ``clip_grad_norm_``), for recurrent networks above all."""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np


def clip_grad_norm(grads: np.ndarray | Sequence[np.ndarray], max_norm: float) -> float:
    """Scale the gradients in place so that their joint L2 norm is at most ``max_norm``; return the norm before.

    ``grads`` is the flat gradient of ``model.getParameters()`` or a list of gradient arrays
    (``model.parameters()[1]``), all scaled by the one factor ``max_norm / (norm + 1e-6)`` when
    the norm exceeds ``max_norm`` (PyTorch's rule), so the update keeps its direction.

    Example (inside ``feval``, after ``backward``, on ``model.getParameters()``'s flat gradient):
        >>> import numpy as np
        >>> grads = np.array([3.0, 4.0])
        >>> clip_grad_norm(grads, 1.0)
        5.0
        >>> grads.round(4).tolist()
        [0.6, 0.8]

    """
    if not max_norm > 0:
        raise ValueError(f"clip_grad_norm: max_norm must be positive, got {max_norm}")
    arrays = [grads] if isinstance(grads, np.ndarray) else list(grads)
    norm = math.sqrt(sum(float(np.vdot(g, g)) for g in arrays))
    if norm > max_norm:
        factor = max_norm / (norm + 1e-6)
        for g in arrays:
            g *= factor
    return norm
