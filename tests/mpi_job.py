"""Jobs the distributed tests run under ``mpiexec -n R python tests/mpi_job.py JOB OUT [options]``.

Rank 0 writes what the test compares into the folder ``OUT``; every rank exits non-zero on an error.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np

from ember import nn
from ember.distributed import DataParallel, parallel_map


class FailOn(nn.Identity):
    """Identity that raises on one rank at its ``step``-th forward (counted from 1)."""

    def __init__(self, rank: int, step: int) -> None:
        super().__init__()
        self.fail_rank, self.fail_step, self.calls = rank, step, 0

    def updateOutput(self, input):
        from mpi4py import MPI

        self.calls += 1
        if MPI.COMM_WORLD.rank == self.fail_rank and self.calls == self.fail_step:
            raise ValueError(f"boom at forward {self.calls}")
        return super().updateOutput(input)


def problem(dtype=np.float64, n=150, seed=0):
    """A small classification problem and a model, the same on every rank."""
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, 6)).astype(dtype)
    y = rng.integers(0, 3, n)
    model = nn.Sequential(nn.Linear(6, 16, rng=rng), nn.Tanh(), nn.Linear(16, 3, rng=rng), nn.LogSoftMax())
    return model.type(dtype), nn.ClassNLLCriterion(), X, y


def fit_job(args, dp) -> None:
    """``fit(..., distributed=dp)`` on :func:`problem`; rank 0 writes the parameters and the history."""
    from ember.train import fit

    model, criterion, X, y = problem(np.float32 if args.float32 else np.float64)
    if args.job == "mismatch" and dp.rank == 1:
        X = X.copy()
        X[3, 2] += 1.0
    if args.job == "fail":
        model.insert(FailOn(rank=1, step=3), 1)

    def callback(epoch, logs):
        if args.job == "callback" and dp.rank == 1:
            raise OSError(f"cannot write the log after epoch {epoch}")

    history = fit(model, criterion, X, y, optimizer="sgd", config={"learning_rate": 0.2, "momentum": 0.5},
                  epochs=args.epochs, batch_size=40, shuffle=True, seed=3, validation_data=(X[:30], y[:30]),
                  distributed=dp, checkpoint=args.checkpoint, resume=args.resume, progress=False,
                  callbacks=[callback])
    if dp.root:
        np.save(args.out / f"ranks{dp.size}.npy", model.getParameters()[0])
        (args.out / f"ranks{dp.size}.json").write_text(json.dumps(history))


def square(x: int) -> int:
    return x * x


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("job", choices=("fit", "fail", "callback", "abort", "mismatch", "futures"))
    parser.add_argument("out", type=Path)
    parser.add_argument("--allreduce", action="store_true")
    parser.add_argument("--float32", action="store_true")
    parser.add_argument("--epochs", type=int, default=2)
    parser.add_argument("--checkpoint")
    parser.add_argument("--resume")
    args = parser.parse_args(argv)
    if args.job == "futures":  # not under mpiexec: spawns its workers
        from ember.recipes import dense

        results = parallel_map(square, range(7), executor="mpi", workers=2)
        grid = dict(activations=["tanh"], learning_rates=[0.25, 1.0], initialisations=["glorot"], depths=[1],
                    seeds=2, iterations=30)
        same = dense.experiment_grid(**grid, executor="mpi", workers=2) == dense.experiment_grid(**grid)
        (args.out / "futures.json").write_text(json.dumps({"squares": results, "grid_same": same}))
        return 0
    dp = DataParallel(micro_batch=7, exact=not args.allreduce)
    if args.job != "abort":
        fit_job(args, dp)
        return 0
    with dp.guard():  # an error outside the steps the ranks take together
        if dp.rank == 1:
            raise OSError("disk full on rank 1")
        model, criterion, X, y = problem()
        params, grads = model.getParameters()
        dp.batch_gradient(model, criterion, X, y, grads)
    return 0


if __name__ == "__main__":
    sys.exit(main())
