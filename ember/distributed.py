"""Beyond one process: data-parallel training on MPI and parallel runs, with the same numbers as one process.

Needs the optional extra ``pip install 'ember[mpi]'`` (mpi4py and the MPICH wheel, which brings ``mpiexec``);
``import ember`` never imports it.

**Data-parallel training** (:class:`DataParallel`, used by ``fit(..., distributed=True)`` and
``mpiexec -n 4 ember train ... --distributed``). Every rank holds the whole model and the whole dataset
(each rank reads it; nothing is sharded). Each mini-batch of ``B`` examples is cut into micro-batches of
``micro_batch`` examples, ``K = ceil(B / micro_batch)`` of them; micro-batch ``k`` is computed by one rank
(rank ``k * R // K`` of ``R``: contiguous shares), starting from a zero gradient, with its parameter
gradients scaled by its share of the batch loss (``m_k / B``, or 1 when the criterion sums). The batch
gradient is then the **pairwise sum of the K micro-batch gradients in a fixed tree**::

    level 0:  g0   g1   g2   g3   g4          node (l, i) = node (l-1, 2i) + node (l-1, 2i+1)
    level 1:  g0+g1     g2+g3     g4          (a node without a right child is passed up)
    level 2:  (g0+g1)+(g2+g3)     g4
    level 3:  ((g0+g1)+(g2+g3))+g4

Nodes whose leaves one rank owns are added locally; where a right child lies on another rank its owner
sends it to the left child's owner (one message per rank and level at most), and rank 0 broadcasts the
root. The tree depends on ``K`` only, so one process and 1, 2 or 4 ranks do the same additions in the same
order: **bit-identical gradients, hence parameters, whatever the number of ranks** (given the same BLAS
threading on every rank: pin it, e.g. ``OPENBLAS_NUM_THREADS=1``). The batch loss and the number of correct
predictions travel with the gradient through the same tree, so every rank holds the metrics that one
process computes; every rank applies the same optimizer step. ``exact=False`` is the faster mode: each
rank computes its whole share in one forward/backward and one ``Allreduce`` sums the ranks' gradients;
the rounding then depends on the number of ranks (float64: agreement to about 1e-12 relative after an
epoch, float32: about 1e-5; measured in the tests).

Modules that look at the whole batch (BatchNormalization's statistics) see micro-batches, and modules
that draw random numbers in ``forward`` (Dropout) draw from each rank's own generator, so such models are
reproducible for a fixed number of ranks, not across numbers of ranks.

**Failures.** At start :meth:`DataParallel.check_same` compares fingerprints (model architecture and
parameters, data, settings) of every rank with rank 0's and raises :class:`MismatchError` on every rank,
naming what differs on which ranks. An exception while a rank computes its micro-batches is carried
through the reduction as a flag, so every rank raises :class:`RankError` naming the rank and its error at
the same step; any other exception on one rank (inside :meth:`DataParallel.guard`) prints the traceback
and calls ``MPI_Abort``, which ends every rank: no rank waits for ever.

**Parallel runs** (:func:`parallel_map`, used by ``ember neuralnet sweep`` and ``ember lab grid`` with
``--executor``): ``"mpi"`` (``mpi4py.futures.MPIPoolExecutor``: workers spawned by MPI, or the ranks of
``mpiexec -n N python -m mpi4py.futures -m ember ...``), ``"processes"`` (one worker per core) or
``"none"`` (in this process); the results come back in the order of the inputs whatever the order of
completion.
"""

from __future__ import annotations

import concurrent.futures
import hashlib
import json
import os
import shutil
import sys
import traceback
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from typing import Any

import numpy as np

from ember.errors import InputError
from ember.threads import cores, limit_blas_threads

__all__ = ["EXECUTORS", "DataParallel", "MismatchError", "RankError", "fingerprint", "make_executor", "mpi",
           "parallel_map"]

#: The executors of :func:`parallel_map`, the local default first.
EXECUTORS = ("processes", "mpi", "none")
INSTALL = "pip install 'ember[mpi]'"
# The extras that travel through the tree with each gradient: weighted loss, correct count, failed ranks.
_EXTRAS = 3


class RankError(RuntimeError):
    """A rank raised while the ranks computed a step together; raised on every rank.

    Attributes:
        rank: the (first) rank that failed.
        error_type: the name of its exception's class.
        message: its exception's message.

    """

    def __init__(self, rank: int, error_type: str, message: str, failed: int = 1) -> None:
        self.rank, self.error_type, self.message = rank, error_type, message
        others = f" (and {failed - 1} other rank{'s' if failed > 2 else ''})" if failed > 1 else ""
        super().__init__(f"rank {rank}{others} failed: {error_type}: {message}")


class MismatchError(ValueError):
    """The ranks disagree at start (model, parameters, data or settings); raised on every rank."""


def mpi() -> Any:
    """The ``mpi4py.MPI`` module (initialising MPI on first use).

    Raises:
        ImportError: mpi4py is not installed (the message names the install command).

    """
    beside = os.path.join(os.path.dirname(sys.executable), "mpiexec")
    if shutil.which("mpiexec") is None and os.path.exists(beside):
        # MPICH's singleton init (a script not started by mpiexec that spawns workers) runs mpiexec from the
        # PATH, and waits for ever where it is missing: the MPICH wheel's is beside this Python
        os.environ["PATH"] = os.pathsep.join([os.path.dirname(beside), os.environ.get("PATH", "")])
    try:
        from mpi4py import MPI
    except ImportError as error:
        raise ImportError(f"ember.distributed needs mpi4py and an MPI library: {INSTALL}") from error
    return MPI


# -- fingerprints ---------------------------------------------------------------------------------------------

def fingerprint(value: Any) -> tuple[str, str]:
    """A digest of ``value`` and a short description of it, for comparing ranks.

    Arrays are hashed with their dtype and shape (description: ``"float32 (60000, 784)"``), ember modules by
    their architecture and parameters, anything else by its JSON text (``repr`` where JSON cannot say it).
    """
    from ember.nn.module import Module

    digest = hashlib.blake2b(digest_size=16)
    if isinstance(value, Module):
        from ember import io

        params = [np.ascontiguousarray(p) for p in value.parameters()[0]]
        try:
            structure = json.dumps(io.architecture(value), sort_keys=True, default=repr)
        except TypeError:  # a user's module that io cannot describe: its printed tree and classes instead
            structure = repr(value) + repr([type(m).__qualname__ for m in value.listModules()])
        digest.update(structure.encode())
        for param in params:
            digest.update(str((param.dtype.str, param.shape)).encode())
            digest.update(param.data)
        size = sum(p.size for p in params)
        return digest.hexdigest(), f"{value.describe()} with {size} parameters"
    if isinstance(value, np.ndarray):
        array = np.ascontiguousarray(value)
        digest.update(str((array.dtype.str, array.shape)).encode())
        digest.update(array.data if array.dtype.kind != "O" else repr(array.tolist()).encode())
        return digest.hexdigest(), f"{array.dtype} {array.shape}"
    text = json.dumps(value, sort_keys=True, default=repr)
    digest.update(text.encode())
    return digest.hexdigest(), text if len(text) <= 60 else text[:57] + "..."


# -- the tree of micro-batches ---------------------------------------------------------------------------------

class _Node:
    """One node's value: the flat gradient and the extras, in one byte buffer (one message)."""

    def __init__(self, size: int, dtype: np.dtype) -> None:
        self.raw = np.zeros(_EXTRAS * 8 + size * dtype.itemsize, dtype=np.uint8)
        self.extras = self.raw[:_EXTRAS * 8].view(np.float64)
        self.vector = self.raw[_EXTRAS * 8:].view(dtype)

    def add(self, other: _Node) -> None:
        np.add(self.vector, other.vector, out=self.vector)
        np.add(self.extras, other.extras, out=self.extras)


def owner(k: int, count: int, ranks: int) -> int:
    """The rank that computes micro-batch ``k`` of ``count`` when ``ranks`` ranks share them (contiguously)."""
    return k * ranks // count


def share(rank: int, count: int, ranks: int) -> range:
    """The micro-batches ``rank`` computes: ``k`` with ``owner(k) == rank``."""
    return range((rank * count + ranks - 1) // ranks, ((rank + 1) * count + ranks - 1) // ranks)


class DataParallel:
    """The ranks of one MPI communicator training one model together (see the module docstring).

    Args:
        comm: an ``mpi4py`` communicator (default ``MPI.COMM_WORLD``).
        micro_batch: examples per micro-batch; the results depend on it, not on the number of ranks.
        exact: ``True`` for the fixed tree (bit-identical whatever the number of ranks), ``False`` for one
            ``Allreduce`` per step (faster, rounding depends on the number of ranks).

    Attributes:
        rank, size: this rank and the number of ranks.
        root: whether this is rank 0 (the rank that prints and writes files).

    """

    def __init__(self, comm: Any = None, *, micro_batch: int = 32, exact: bool = True) -> None:
        if isinstance(micro_batch, bool) or not isinstance(micro_batch, (int, np.integer)) or micro_batch < 1:
            raise InputError(f"DataParallel: micro_batch must be a positive integer, got {micro_batch!r}")
        self.MPI = mpi()
        self.comm = self.MPI.COMM_WORLD if comm is None else comm
        self.rank, self.size = self.comm.Get_rank(), self.comm.Get_size()
        self.root = self.rank == 0
        self.micro_batch = int(micro_batch)
        self.exact = bool(exact)
        self._nodes: list[_Node] = []
        self._extras = np.zeros(_EXTRAS)
        self._agreed: BaseException | None = None

    def __repr__(self) -> str:
        mode = "tree" if self.exact else "allreduce"
        return f"DataParallel(rank {self.rank} of {self.size}, micro_batch={self.micro_batch}, {mode})"

    # -- agreement ------------------------------------------------------------------------------------------

    def check_same(self, **values: Any) -> None:
        """Raise :class:`MismatchError` on every rank unless every rank passed the same values.

        Each value is reduced to a :func:`fingerprint`; only the digests and short descriptions travel.
        """
        mine = {name: fingerprint(value) for name, value in values.items()}
        everyone = self.comm.allgather(mine)
        problems = []
        for name, (digest, description) in everyone[0].items():
            differ = [rank for rank, theirs in enumerate(everyone) if theirs.get(name, ("",))[0] != digest]
            if differ:
                shown = everyone[differ[0]].get(name, ("", "nothing"))[1]
                what = (f"same {shown}, other values" if shown == description
                        else f"rank {differ[0]}: {shown}, rank 0: {description}")
                problems.append(f"{name} differs on rank{'s' if len(differ) > 1 else ''} "
                                f"{', '.join(map(str, differ))} from rank 0 ({what})")
        if problems:
            raise self.agreed(MismatchError(f"DataParallel: the ranks disagree at start: {'; '.join(problems)}"))

    def agree(self, error: BaseException | None = None, value: Any = None) -> Any:
        """A collective check point: raise :class:`RankError` on every rank if any rank passes an error,
        else return rank 0's ``value`` on every rank (e.g. its decision to stop).
        """
        report = None if error is None else (type(error).__name__, str(error))
        reports = self.comm.allgather((report, value))
        failed = [(rank, r) for rank, (r, _) in enumerate(reports) if r is not None]
        if failed:
            rank, (kind, message) = failed[0]
            problem = self.agreed(RankError(rank, kind, message, len(failed)))
            raise problem from error
        return reports[0][1]

    def agreed(self, error: BaseException) -> BaseException:
        """Mark ``error`` as raised by every rank alike (so :meth:`guard` lets it through); return it."""
        self._agreed = error
        return error

    @contextmanager
    def guard(self) -> Iterator[DataParallel]:
        """Let errors every rank raises alike through; end every rank (``MPI_Abort``) on any other."""
        try:
            yield self
        except BaseException as error:
            if self.size == 1 or error is self._agreed or isinstance(error, (RankError, MismatchError)):
                raise
            lines = traceback.format_exception(type(error), error, error.__traceback__)
            sys.stderr.write(f"ember: rank {self.rank} of {self.size} failed; ending every rank\n{''.join(lines)}")
            sys.stderr.flush()
            self.comm.Abort(1)
            raise

    # -- one step -----------------------------------------------------------------------------------------------

    def _node(self, index: int, size: int, dtype: np.dtype) -> _Node:
        while len(self._nodes) <= index:
            self._nodes.append(_Node(size, dtype))
        node = self._nodes[index]
        if node.vector.size != size or node.vector.dtype != dtype:
            node = self._nodes[index] = _Node(size, dtype)
        return node

    def batch_gradient(self, model: Any, criterion: Any, inputs: np.ndarray, targets: np.ndarray,
                       grads: np.ndarray, correct: Callable[[np.ndarray, np.ndarray], float] | None = None
                       ) -> tuple[float, float]:
        """Write the batch's gradient (summed over the ranks) into ``grads``; return the batch loss and
        the number of correct predictions (0 without ``correct``), the same on every rank.

        Every rank calls it with the same whole batch; each computes its own micro-batches. The batch loss
        is the criterion's over the whole batch (the mean when ``sizeAverage``), as one forward would give.

        Raises:
            RankError: on every rank, when a rank raised while computing its share.

        """
        n = len(inputs)
        count = -(-n // self.micro_batch)
        weight_of = (lambda m: m / n) if getattr(criterion, "sizeAverage", True) else (lambda m: 1.0)
        mine = share(self.rank, count, self.size)
        error: BaseException | None = None
        if self.exact:
            nodes = {k: self._node(j, grads.size, grads.dtype) for j, k in enumerate(mine)}
            for k, node in nodes.items():
                if error is None:
                    error = self._leaf(node, model, criterion, inputs, targets, grads, correct, k, weight_of)
                if error is not None:
                    node.raw.fill(0)
                    node.extras[2] = 1.0
            result = self._tree(nodes, count, grads.size, grads.dtype)
            extras = result.extras
            if extras[2] == 0:
                np.copyto(grads, result.vector)
        else:
            low, high = mine.start * self.micro_batch, min(mine.stop * self.micro_batch, n)
            extras = self._extras
            extras.fill(0)
            grads.fill(0)
            if high > low:
                error = self._share(extras, model, criterion, inputs[low:high], targets[low:high], grads,
                                    correct, weight_of(high - low))
            if error is not None:
                extras[:] = (0.0, 0.0, 1.0)
            self.comm.Allreduce(self.MPI.IN_PLACE, extras, op=self.MPI.SUM)
            if extras[2] == 0:
                self.comm.Allreduce(self.MPI.IN_PLACE, grads, op=self.MPI.SUM)
        if extras[2] != 0:
            self.agree(error)
        return float(extras[0]), float(extras[1])

    def _leaf(self, node: _Node, model: Any, criterion: Any, inputs: np.ndarray, targets: np.ndarray,
              grads: np.ndarray, correct: Any, k: int, weight_of: Callable[[int], float]) -> BaseException | None:
        """Micro-batch ``k``'s weighted gradient and extras into ``node``; the exception instead, if one."""
        low = k * self.micro_batch
        part = slice(low, low + self.micro_batch)
        grads.fill(0)
        error = self._share(node.extras, model, criterion, inputs[part], targets[part], grads, correct,
                            weight_of(len(inputs[part])))
        if error is None:
            np.copyto(node.vector, grads)
        return error

    @staticmethod
    def _share(extras: np.ndarray, model: Any, criterion: Any, inputs: np.ndarray, targets: np.ndarray,
               grads: np.ndarray, correct: Any, weight: float) -> BaseException | None:
        """Forward and backward on one slice, accumulating ``weight`` times its gradient into ``grads``."""
        try:
            output = model.forward(inputs)
            loss = criterion.forward(output, targets)
            hits = correct(output, targets) if correct is not None else 0.0
            model.backward(inputs, criterion.backward(output, targets), weight)
        except Exception as error:  # carried to every rank by the reduction
            return error
        extras[:] = (weight * loss, hits, 0.0)
        return None

    def _tree(self, nodes: dict[int, _Node], leaves: int, size: int, dtype: np.dtype) -> _Node:
        """Sum the ``leaves`` micro-batch nodes along the fixed pairwise tree; return the root, on every rank.

        ``nodes`` holds this rank's leaves by index. A node at a level where each covers ``width`` leaves
        belongs to the owner of its first leaf; a right child on another rank is sent to its left sibling's
        owner (ranks only ever send to lower ranks, so the messages cannot deadlock).
        """
        ranks, me, width, count = self.size, self.rank, 1, leaves
        spare = len(nodes)
        while count > 1:
            held: dict[int, _Node] = {}
            for i in sorted({index // 2 for index in nodes}):
                left, right = 2 * i, 2 * i + 1
                left_owner = owner(left * width, leaves, ranks)
                right_owner = owner(right * width, leaves, ranks) if right < count else None
                if left_owner == me:
                    node = nodes[left]
                    if right_owner == me:
                        node.add(nodes[right])
                    elif right_owner is not None:
                        incoming = self._node(spare, size, dtype)
                        self.comm.Recv(incoming.raw, source=right_owner, tag=width)
                        node.add(incoming)
                    held[i] = node
                elif right_owner == me:
                    self.comm.Send(nodes[right].raw, dest=left_owner, tag=width)
            nodes, count, width = held, -(-count // 2), width * 2
        root = nodes[0] if me == 0 else self._node(spare, size, dtype)
        if ranks > 1:
            self.comm.Bcast(root.raw, root=0)
        return root


# -- parallel runs ----------------------------------------------------------------------------------------------

class _InProcess(concurrent.futures.Executor):
    """``--executor none``: each call runs in this process when submitted."""

    def submit(self, fn: Callable[..., Any], /, *args: Any, **kwargs: Any) -> concurrent.futures.Future:
        future: concurrent.futures.Future = concurrent.futures.Future()
        try:
            future.set_result(fn(*args, **kwargs))
        except BaseException as error:
            future.set_exception(error)
        return future


def make_executor(kind: str = "processes", workers: int | None = None) -> concurrent.futures.Executor:
    """A ``concurrent.futures`` executor of the kind named (one of :data:`EXECUTORS`).

    Args:
        kind: ``"processes"`` (``ProcessPoolExecutor``, ``workers`` or one per core), ``"mpi"``
            (``mpi4py.futures.MPIPoolExecutor``: spawned workers, or the ranks of
            ``mpiexec -n N python -m mpi4py.futures ...``) or ``"none"`` (in this process).
        workers: the number of workers (default: one per core; for ``"mpi"``, MPI's universe size).
            Each process or MPI worker starts limited to ``cores // workers`` BLAS threads
            (:func:`ember.threads.limit_blas_threads`), so that the workers never oversubscribe the cores.

    Raises:
        ValueError: an unknown kind or a non-positive number of workers.
        ImportError: ``"mpi"`` without mpi4py (the message names the install command).

    """
    if kind not in EXECUTORS:
        raise InputError(f"unknown executor {kind!r}; choose one of {', '.join(EXECUTORS)}")
    if workers is not None and (isinstance(workers, bool) or not isinstance(workers, int) or workers < 1):
        raise InputError(f"workers must be None or a positive integer, got {workers!r}")
    if kind == "none":
        return _InProcess()
    if kind == "mpi":
        mpi()
        from mpi4py.futures import MPIPoolExecutor

        # workers=None: MPI's universe, of a size unknown here: one BLAS thread each (never oversubscribed)
        return MPIPoolExecutor(max_workers=workers, initializer=limit_blas_threads,
                               initargs=(workers or cores(),))
    workers = workers or cores()
    return concurrent.futures.ProcessPoolExecutor(max_workers=workers, initializer=limit_blas_threads,
                                                  initargs=(workers,))


def parallel_map(function: Callable[[Any], Any], items: Iterable[Any], *,
                 executor: str | concurrent.futures.Executor = "none", workers: int | None = None,
                 progress: Callable[[Any], Any] | None = None) -> list[Any]:
    """``[function(item) for item in items]`` on an executor, in the order of ``items``.

    Args:
        function: a module-level function (it is pickled to the workers), called once per item.
        items: the arguments, each picklable.
        executor: a kind of :data:`EXECUTORS` (an executor is made and shut down here) or an executor.
        workers: the number of workers for a kind (see :func:`make_executor`).
        progress: called with each result, in the order of ``items``, as soon as it and those before are done.

    Returns:
        The results in the order of ``items``, whatever the order in which the workers finished.

    Raises:
        Whatever ``function`` raised first in the order of ``items``; the runs not yet started are cancelled.

    """
    items = list(items)
    pool = make_executor(executor, workers) if isinstance(executor, str) else executor
    try:
        futures = [pool.submit(function, item) for item in items]
        results = []
        for future in futures:
            results.append(future.result())
            if progress is not None:
                progress(results[-1])
        return results
    except BaseException:
        if isinstance(executor, str):
            pool.shutdown(wait=True, cancel_futures=True)
        raise
    finally:
        if isinstance(executor, str):
            pool.shutdown(wait=True)
