"""Small generated datasets for examples and tests: XOR, spirals, Gaussian blobs, a sine curve.

All are deterministic: the random ones take a ``seed`` (or a NumPy
``Generator`` through ``rng``) and return the same arrays for the same seed.
"""

from __future__ import annotations

import numpy as np

from ember.errors import InputError

#: The linear map of the anisotropic blobs (scikit-learn's example, used by seed 003's regression).
ANISOTROPIC_TRANSFORM = np.array([[0.60834549, -0.63667341], [-0.40887718, 0.85253229]])


def _generator(seed: int | None, rng: np.random.Generator | None) -> np.random.Generator:
    return rng if rng is not None else np.random.default_rng(seed)


def _positive_int(name: str, function: str, value: object, minimum: int = 1) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < minimum:
        raise InputError(f"{function}: {name} must be an integer >= {minimum}, got {value!r}")
    return int(value)


def xor(dtype: np.dtype | type = np.float64) -> tuple[np.ndarray, np.ndarray]:
    """The XOR problem: the four corners of the square and whether exactly one coordinate is positive.

    Returns:
        ``(X, y)``: ``X = [[-1, -1], [-1, 1], [1, -1], [1, 1]]`` of shape
        ``(4, 2)`` and the targets ``y = [[0], [1], [1], [0]]`` as a float column
        of shape ``(4, 1)`` (for a sigmoid output and binary cross-entropy, as in
        the XOR lab); ``y[:, 0].astype(int)`` gives class labels.

    """
    X = np.array([[-1, -1], [-1, 1], [1, -1], [1, 1]], dtype=dtype)
    y = np.array([[0], [1], [1], [0]], dtype=dtype)
    return X, y


def spirals(n: int = 100, classes: int = 3, noise: float = 0.2, seed: int | None = 0,
            rng: np.random.Generator | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Interleaved spirals in the plane (the CS231n example), one arm per class.

    Class ``k``'s ``n`` points have radius ``r`` evenly spaced in [0, 1] and
    angle ``4k + 4r`` plus Gaussian noise of standard deviation ``noise``;
    the point is ``(r sin θ, r cos θ)``.

    Args:
        n: points per class.
        classes: the number of classes (arms).
        noise: the standard deviation of the angular noise (radians).
        seed: the seed of the noise (ignored when ``rng`` is given).
        rng: a NumPy ``Generator`` to draw from instead.

    Returns:
        ``(X, y)``: ``X`` float64 of shape ``(n * classes, 2)`` in [-1, 1]²,
        ``y`` int64 labels ``0 .. classes - 1`` in blocks of ``n``.

    """
    n = _positive_int("n", "spirals", n)
    classes = _positive_int("classes", "spirals", classes)
    if not noise >= 0:
        raise InputError(f"spirals: noise must be >= 0, got {noise!r}")
    generator = _generator(seed, rng)
    radius = np.tile(np.linspace(0.0, 1.0, n), classes)
    y = np.repeat(np.arange(classes, dtype=np.int64), n)
    theta = np.concatenate([np.linspace(4.0 * k, 4.0 * (k + 1), n) for k in range(classes)])
    theta += noise * generator.standard_normal(n * classes)
    X = np.column_stack([radius * np.sin(theta), radius * np.cos(theta)])
    return X, y


def blobs(n: int = 100, centers: int | np.ndarray = 3, n_features: int = 2, std: float = 1.0, seed: int | None = 0,
          anisotropic: bool = False, center_box: tuple[float, float] = (-10.0, 10.0),
          rng: np.random.Generator | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Isotropic Gaussian blobs, one per class (like scikit-learn's ``make_blobs``).

    Args:
        n: the total number of points, split as evenly as possible between the
            centers (the first ``n % centers`` get one more).
        centers: the number of blobs, drawn uniformly in ``center_box``, or an
            array of shape ``(centers, n_features)`` giving them.
        n_features: the dimension of the points.
        std: the standard deviation of each blob.
        seed: the seed (ignored when ``rng`` is given).
        anisotropic: stretch the blobs by :data:`ANISOTROPIC_TRANSFORM`
            (``X @ T``, 2 features only): elongated, correlated clouds. With
            ``centers=1`` this is seed 003's linear-regression data (``X[:, 0]``
            the input, ``X[:, 1]`` the target).
        center_box: the bounds of the random centers.
        rng: a NumPy ``Generator`` to draw from instead of ``seed``.

    Returns:
        ``(X, y)``: ``X`` float64 of shape ``(n, n_features)``, ``y`` int64 blob
        labels, in blocks (not shuffled).

    """
    n = _positive_int("n", "blobs", n)
    generator = _generator(seed, rng)
    if isinstance(centers, (int, np.integer)) and not isinstance(centers, bool):
        n_centers = _positive_int("centers", "blobs", centers)
        n_features = _positive_int("n_features", "blobs", n_features)
        low, high = center_box
        points = generator.uniform(low, high, size=(n_centers, n_features))
    else:
        points = np.asarray(centers, dtype=np.float64)
        if points.ndim != 2 or points.shape[0] < 1:
            raise InputError(f"blobs: centers must be a count or an array of shape (centers, n_features), got shape "
                             f"{points.shape}")
        n_centers, n_features = points.shape
    if not std >= 0:
        raise InputError(f"blobs: std must be >= 0, got {std!r}")
    if anisotropic and n_features != 2:
        raise InputError(f"blobs: anisotropic=True needs n_features=2, got {n_features}")
    counts = np.full(n_centers, n // n_centers)
    counts[: n % n_centers] += 1
    y = np.repeat(np.arange(n_centers, dtype=np.int64), counts)
    X = points[y] + std * generator.standard_normal((n, n_features))
    if anisotropic:
        X = X @ ANISOTROPIC_TRANSFORM
    return X, y


def sine(n: int = 2000) -> tuple[np.ndarray, np.ndarray]:
    """A sine curve to regress (seed 003's example): ``n`` points ``x`` evenly spaced in [−π, π], ``y = sin x``.

    Returns:
        ``(X, y)``, both float64 columns of shape ``(n, 1)`` (batch inputs and
        targets for a network with one input and one output); ``X[:, 0]`` is
        the 1-D grid.

    """
    n = _positive_int("n", "sine", n, minimum=2)
    x = np.linspace(-np.pi, np.pi, n)
    return x[:, None], np.sin(x)[:, None]
