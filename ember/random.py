"""The library-wide random generator used by parameter initialisation and dropout.

Every function that draws random numbers takes an optional ``rng`` (a
:class:`numpy.random.Generator`); without one it draws from this module's
generator, which :func:`manual_seed` re-seeds (Torch's ``torch.manualSeed``).
"""

from __future__ import annotations

import numpy as np

_generator = np.random.default_rng()


def manual_seed(seed: int) -> None:
    """Re-seed the library-wide generator so that initialisation is reproducible."""
    global _generator
    _generator = np.random.default_rng(seed)


def get_rng(rng: np.random.Generator | None = None) -> np.random.Generator:
    """Return ``rng`` if given, else the library-wide generator."""
    return _generator if rng is None else rng
