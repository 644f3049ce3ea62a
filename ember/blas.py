"""In-place multiply-adds by BLAS: ``C += α A B`` (gemm), ``A += α x yᵀ`` (ger), ``y += α x`` (axpy).

NumPy has no in-place multiply-add: ``gradWeight += scale * (g.T @ x)`` builds the product in a
temporary and passes over the weights twice more, where BLAS accumulates in the one pass that writes
the product (``beta = 1``). On the 784-512-512-10 MLP of the W2 benchmark the fused ``gemm`` takes the
first layer's weight-gradient step from 0.84 to 0.65 ms, and ``axpy`` the SGD step ``x -= lr·g`` over
the 670k parameters from 0.16 to 0.05 ms.

``gemm`` and ``axpy`` come from the BLAS library NumPy itself is linked against (found through the
dependencies of its ``_multiarray_umath`` extension), so that they share NumPy's thread pool: SciPy's
``scipy.linalg.blas`` is a second OpenBLAS with a second pool, and alternating the two on big matrices
left their threads spinning against each other (W2 ran 7× slower). NumPy's wheels export CBLAS with
64-bit integers as ``scipy_cblas_<name>64_``; where no such symbol is found (NumPy built against MKL or
Accelerate, say) the functions compute the same thing with plain NumPy.

Per-example updates are small, and there a call's overhead counts: ``add_outer`` uses SciPy's ``ger``
for targets under :data:`GER_ONE_THREAD_SIZE` elements (1.8 µs for 50 × 128, against 3.2 µs through
ctypes, where each array's address alone costs 1 µs, and 6 µs for NumPy's outer product and add); OpenBLAS
runs ``ger`` that small on the calling thread, so SciPy's second OpenBLAS never starts its thread pool,
and larger outer products go to NumPy's own ``ger``: one thread pool does all multi-threaded work. SciPy
is imported on the first small ``add_outer`` (``import ember`` does not pay for it). ``add_product`` and
``add_scaled`` leave targets under :data:`BLAS_MIN_SIZE` elements to NumPy: measured, the NumPy route
(product in a temporary, then an add) wins below that whatever the inner dimension (50 × 128 at batch 4:
5.4 against 8.6 µs; at batch 64: 19 against 22 µs), and BLAS wins above it (100 × 784 at batch 4: 27
against 43 µs), so the route is chosen by the target's size.

Anything BLAS cannot update in place (other dtypes, arrays that are not C-contiguous or, for a matrix
factor, the transpose of one, a target overlapping an operand) takes the plain NumPy route.
"""

from __future__ import annotations

import ctypes
import importlib

import numpy as np

from ember.errors import InputError

#: targets smaller than this take the NumPy route, faster there than a ctypes call (about 7 µs, most of it
#: reading the arrays' addresses; ``x += α y`` and ``C += A B`` break even near 16k elements).
BLAS_MIN_SIZE = 16384

#: a small target's product over an inner dimension this long or longer is summed over slices of
#: :data:`INNER_CHUNK`: OpenBLAS takes 4–5× longer for one (6 × 50176) @ (50176 × 25) product (the first
#: LeNet convolution's weight gradient at batch 64: 1.2 ms) than for its 13 slices (0.25 ms).
LONG_INNER = 8192
INNER_CHUNK = 4096

#: outer products smaller than this OpenBLAS computes on the calling thread (its ``ger`` interface goes
#: multi-threaded from 2048 × GEMM_MULTITHREAD_THRESHOLD = 8192 elements).
GER_ONE_THREAD_SIZE = 8192

_ROW_MAJOR, _NO_TRANS, _TRANS = 101, 111, 112  # CBLAS enum values
_FLOATS = (np.dtype(np.float32), np.dtype(np.float64))
_SCALARS = {np.dtype(np.float32): ctypes.c_float, np.dtype(np.float64): ctypes.c_double}
_scipy_ger: dict = {}  # {dtype: SciPy's ger}, filled on first use


def _small_ger(dtype: np.dtype):
    """SciPy's ``dger``/``sger`` (imported on first use: ``scipy.linalg`` costs 30 ms to import)."""
    if not _scipy_ger:
        from scipy.linalg import blas as scipy_blas
        _scipy_ger.update({np.dtype(np.float64): scipy_blas.dger, np.dtype(np.float32): scipy_blas.sger})
    return _scipy_ger[dtype]


def _load_numpy_cblas() -> dict | None:
    """``{dtype: {"gemm": f, "axpy": f, "ger": f}}`` from NumPy's BLAS, or ``None`` where it exports no ILP64 CBLAS."""
    for name in ("numpy._core._multiarray_umath", "numpy.core._multiarray_umath"):  # NumPy 2, NumPy 1
        try:
            library = ctypes.CDLL(importlib.import_module(name).__file__)  # dlsym also searches its dependencies
            break
        except (ImportError, AttributeError, OSError):
            continue
    else:
        return None
    index, pointer, enum = ctypes.c_int64, ctypes.c_void_p, ctypes.c_int
    for prefix in ("scipy_cblas_", "cblas_"):
        try:
            routines = {np.dtype(dtype): {name: getattr(library, f"{prefix}{letter}{name}64_")
                                          for name in ("gemm", "axpy", "ger")}
                        for dtype, letter in ((np.float32, "s"), (np.float64, "d"))}
        except AttributeError:
            continue
        for dtype, functions in routines.items():
            scalar = _SCALARS[dtype]
            functions["gemm"].argtypes = [enum, enum, enum, index, index, index, scalar, pointer, index,
                                          pointer, index, scalar, pointer, index]
            functions["axpy"].argtypes = [index, scalar, pointer, index, pointer, index]
            functions["ger"].argtypes = [enum, index, index, scalar, pointer, index, pointer, index, pointer, index]
            for function in functions.values():
                function.restype = None
            # a second handle without argtypes, for callers that convert their arguments once (ScaledAdd)
            functions["axpy_raw"] = library[f"{prefix}{'s' if dtype == np.float32 else 'd'}axpy64_"]
            functions["axpy_raw"].restype = None
        return routines
    return None


_CBLAS = _load_numpy_cblas()


def _writable_in_place(target: np.ndarray) -> bool:
    """Whether BLAS can write ``target`` where it lies: a C-contiguous, writeable float32/float64 NumPy array."""
    return (type(target) is np.ndarray and target.dtype in _FLOATS and target.flags.c_contiguous
            and target.flags.writeable)


def _updatable(target: np.ndarray, *operands: np.ndarray) -> bool:
    """Whether BLAS can update ``target`` in place from ``operands``: NumPy arrays of ``target``'s dtype that
    share no memory with it.
    """
    return _writable_in_place(target) and all(
        type(operand) is np.ndarray and operand.dtype == target.dtype and not np.may_share_memory(operand, target)
        for operand in operands)


def add_product(target: np.ndarray, a: np.ndarray, b: np.ndarray, alpha: float = 1.0) -> None:
    """``target += alpha · a @ b`` for ``a`` ``(m, k)`` and ``b`` ``(k, n)``, in place.

    ``target`` holds ``m·n`` elements; any shape (a convolution's ``(O, C, kH, kW)`` weight gradient, say)
    is updated as its row-major ``(m, n)`` matrix.
    """
    if _CBLAS is None or target.size < BLAS_MIN_SIZE or not _updatable(target, a, b) or a.ndim != 2 or b.ndim != 2 \
            or target.size != a.shape[0] * b.shape[1] or a.shape[1] != b.shape[0] \
            or not (a.flags.c_contiguous or a.flags.f_contiguous) or not (b.flags.c_contiguous or b.flags.f_contiguous):
        k = a.shape[-1] if a.ndim == 2 else 0
        if k < LONG_INNER or b.ndim != 2:
            product = a @ b
            if alpha != 1.0:  # (alpha 1, the usual scale: no second temporary)
                product *= alpha
            target += product.reshape(target.shape)
            return
        for start in range(0, k, INNER_CHUNK):  # a small target over a long inner dimension: in slices
            stop = start + INNER_CHUNK
            target += alpha * (a[:, start:stop] @ b[start:stop]).reshape(target.shape)
        return
    (m, k), n = a.shape, b.shape[1]
    if target.size == 0 or k == 0:
        return
    # A C-contiguous factor is row-major as it stands; an F-contiguous one is the transpose of a row-major one.
    trans_a, lda = (_NO_TRANS, k) if a.flags.c_contiguous else (_TRANS, m)
    trans_b, ldb = (_NO_TRANS, n) if b.flags.c_contiguous else (_TRANS, k)
    _CBLAS[target.dtype]["gemm"](_ROW_MAJOR, trans_a, trans_b, m, n, k, alpha, a.ctypes.data, lda,
                                 b.ctypes.data, ldb, 1.0, target.ctypes.data, n)


def add_outer(target: np.ndarray, column: np.ndarray, row: np.ndarray, alpha: float = 1.0) -> None:
    """``target += alpha · column rowᵀ`` (shapes ``(m, n)``, ``(m,)``, ``(n,)``), in place.

    The vectors must not overlap ``target`` (they never do in a module's gradient update): this is the
    per-example path, where checking costs as much as the update (1.5 µs against 2.4 µs for 50 × 128).
    SciPy's wrapper converts the vectors to ``target``'s dtype and checks their lengths.
    """
    if type(target) is np.ndarray and target.size < GER_ONE_THREAD_SIZE:  # the per-example path, checks inlined
        ger = _scipy_ger.get(target.dtype)
        if ger is None and target.dtype in _FLOATS:
            ger = _small_ger(target.dtype)
        flags = target.flags
        if ger is not None and flags.c_contiguous and flags.writeable:
            ger(alpha, row, column, a=target.T, overwrite_a=1)
            return
    if not _writable_in_place(target):
        target += alpha * np.multiply.outer(column, row)
    elif target.size < GER_ONE_THREAD_SIZE or _CBLAS is None:
        # target.T is the Fortran-ordered matrix BLAS updates: target.T += alpha · row columnᵀ.
        _small_ger(target.dtype)(alpha, row, column, a=target.T, overwrite_a=1)
    elif column.shape + row.shape != target.shape or not _updatable(target, column, row) \
            or not (column.flags.c_contiguous and row.flags.c_contiguous):
        target += alpha * np.multiply.outer(column, row)
    elif target.size:
        m, n = target.shape
        _CBLAS[target.dtype]["ger"](_ROW_MAJOR, m, n, alpha, column.ctypes.data, 1, row.ctypes.data, 1,
                                    target.ctypes.data, n)


#: below :data:`BLAS_MIN_SIZE`, ``add_scaled`` gives a (target, source) pair of at least this many elements that it
#: has seen before one ``axpy`` through a kept :class:`ScaledAdd` (an optimizer's ``x += α·g`` on the same flat
#: vectors every step: 1.2 µs for 7k elements, against 3.3 µs for ``x += α * g`` with its temporary).
CACHED_MIN_SIZE = 1024
#: how many such pairs are kept (the arrays with them, so that their identities stay theirs)
CACHED_PAIRS = 8
_cached: dict[tuple[int, int], object] = {}  # (id(target), id(source)) -> ScaledAdd(target, source).call


def add_scaled(target: np.ndarray, source: np.ndarray, alpha: float = 1.0) -> None:
    """``target += alpha · source`` (same shape), in place."""
    size = target.size
    if size < BLAS_MIN_SIZE:
        if size >= CACHED_MIN_SIZE and _CBLAS is not None:
            key = (id(target), id(source))
            step = _cached.get(key)
            if step is not None and target.flags.writeable:
                step(alpha)
                return
            if _updatable(target, source) and source.flags.c_contiguous and source.shape == target.shape:
                if len(_cached) >= CACHED_PAIRS:
                    _cached.clear()
                step = _cached[key] = ScaledAdd(target, source).call
                step(alpha)
                return
        target += alpha * source
        return
    if _CBLAS is None or not _updatable(target, source) or not source.flags.c_contiguous \
            or source.shape != target.shape:
        target += alpha * source
        return
    _CBLAS[target.dtype]["axpy"](target.size, alpha, source.ctypes.data, 1, target.ctypes.data, 1)


class ScaledAdd:
    """``target += alpha · source`` for two fixed arrays, called every step (the flat SGD update): the arrays'
    addresses and sizes are converted for C once, so a call costs one BLAS ``axpy`` and the conversion of
    ``alpha`` (1.2 µs for 7k float64 elements, against 3.3 µs through :func:`add_scaled`, whose NumPy route
    below :data:`BLAS_MIN_SIZE` also builds a temporary). Without NumPy's CBLAS, or for other dtypes,
    ``alpha · source`` goes through a kept scratch array: no allocation per call either way. The caller
    keeps both arrays alive and unmoved.
    """

    __slots__ = ("_target", "_source", "_scratch", "call")

    def __init__(self, target: np.ndarray, source: np.ndarray) -> None:
        if source.shape != target.shape:
            raise InputError(f"ScaledAdd: target {target.shape} and source {source.shape} differ in shape")
        self._target, self._source, self._scratch = target, source, None
        call = self._numpy
        if _CBLAS is not None and _updatable(target, source) and source.flags.c_contiguous:
            # Arguments made C values here: called without argtypes, ctypes passes them as they are.
            axpy, scalar = _CBLAS[target.dtype]["axpy_raw"], _SCALARS[target.dtype]
            size, one = ctypes.c_int64(target.size), ctypes.c_int64(1)
            source_address, target_address = ctypes.c_void_p(source.ctypes.data), ctypes.c_void_p(target.ctypes.data)

            def call(alpha: float) -> None:
                axpy(size, scalar(alpha), source_address, one, target_address, one)

            call.arrays = (target, source)  # (kept alive with the function, whose addresses are theirs)

        #: the update as a bare function of ``alpha`` (what ``__call__`` calls; a caller may keep it)
        self.call = call

    def __call__(self, alpha: float) -> None:
        self.call(alpha)

    def _numpy(self, alpha: float) -> None:
        if self._scratch is None:
            self._scratch = np.empty_like(self._source)
        np.multiply(self._source, alpha, out=self._scratch)
        np.add(self._target, self._scratch, out=self._target)
