"""The library-wide random generator used by parameter initialisation and dropout.

Every function that draws random numbers takes an optional ``rng`` (a
:class:`numpy.random.Generator`, or an int seed); without one it draws from this module's
generator, which :func:`manual_seed` re-seeds (Torch's ``torch.manualSeed``).
"""

from __future__ import annotations

import numpy as np

from ember.errors import InputTypeError

_generator = np.random.default_rng()


def manual_seed(seed: int) -> None:
    """Re-seed the library-wide generator so that initialisation is reproducible."""
    global _generator
    _generator = np.random.default_rng(seed)


def get_rng(rng: int | np.random.Generator | None = None) -> np.random.Generator:
    """The generator to draw from: ``rng`` itself if it is a Generator, a new one seeded with
    ``rng`` if it is an int, else (``None``) the library-wide generator.
    """
    if rng is None:
        return _generator
    if isinstance(rng, np.random.Generator):
        return rng
    if isinstance(rng, (int, np.integer)) and not isinstance(rng, bool):
        return np.random.default_rng(int(rng))
    raise InputTypeError(f"expected rng as an int seed, a numpy.random.Generator or None, got {type(rng).__name__}")


def fill_uniform(stdv: float, *arrays: np.ndarray | None, rng: int | np.random.Generator | None = None) -> None:
    """Fill each array in place, in order, from uniform(−stdv, stdv) (Torch's default initialisation), drawing
    from :func:`get_rng`'s generator; ``None`` entries (an absent bias) are skipped.
    """
    generator = get_rng(rng)
    for array in arrays:
        if array is not None:
            array[...] = generator.uniform(-stdv, stdv, array.shape)
