"""Shared hypothesis strategies: small shapes and well-scaled float64 arrays (minitorch's tensor_strategies)."""

from __future__ import annotations

import numpy as np
from hypothesis import strategies as st
from hypothesis.extra.numpy import array_shapes, arrays

#: finite values of moderate size, away from overflow in exp/log and away from 0 by construction below.
small_floats = st.floats(min_value=-3.0, max_value=3.0, allow_nan=False, allow_infinity=False)


def shapes(min_dims: int = 1, max_dims: int = 3, max_side: int = 4) -> st.SearchStrategy[tuple[int, ...]]:
    """Array shapes with every side between 1 and ``max_side``."""
    return array_shapes(min_dims=min_dims, max_dims=max_dims, min_side=1, max_side=max_side)


def float_arrays(shape: tuple[int, ...] | st.SearchStrategy, away_from_zero: float = 0.0):
    """float64 arrays of ``shape`` with entries in [-3, 3], and |x| ≥ ``away_from_zero`` (kinks at 0)."""
    elements = small_floats.filter(lambda v: abs(v) >= away_from_zero) if away_from_zero else small_floats
    return arrays(np.float64, shape, elements=elements)
