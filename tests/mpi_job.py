"""Jobs the distributed tests run under ``mpiexec -n R python tests/mpi_job.py JOB OUT [options]``.

Rank 0 writes what the test compares into the folder ``OUT``; every rank exits non-zero on an error.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np

from ember import nn, optim
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


def train(dp, model, criterion, X, y, batch=40, epochs=2):
    """SGD epochs whose batch gradients come from the ranks together; returns the summed losses."""
    params, grads = model.getParameters()
    state = {"learning_rate": 0.2, "momentum": 0.5}
    losses = []
    for _ in range(epochs):
        for low in range(0, len(X), batch):
            xb, yb = X[low:low + batch], y[low:low + batch]

            def feval(_, xb=xb, yb=yb):
                loss, _ = dp.batch_gradient(model, criterion, xb, yb, grads)
                losses.append(loss)
                return loss, grads

            optim.sgd(feval, params, state)
    return params, losses


def square(x: int) -> int:
    return x * x


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("job", choices=("tree", "fail", "abort", "mismatch", "futures"))
    parser.add_argument("out", type=Path)
    parser.add_argument("--allreduce", action="store_true")
    parser.add_argument("--float32", action="store_true")
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
    model, criterion, X, y = problem(np.float32 if args.float32 else np.float64)
    with dp.guard():
        if args.job == "mismatch":
            if dp.rank == 1:
                X = X.copy()
                X[3, 2] += 1.0
            dp.check_same(model=model, X=X, y=y)
        if args.job == "fail":
            model.insert(FailOn(rank=1, step=3), 1)
        if args.job == "abort" and dp.rank == 1:
            raise OSError("disk full on rank 1")
        params, losses = train(dp, model, criterion, X, y)
    if dp.root:
        np.savez(args.out / f"ranks{dp.size}.npz", params=params, losses=np.array(losses))
    return 0


if __name__ == "__main__":
    sys.exit(main())
