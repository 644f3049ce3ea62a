"""W2 on several MPI ranks: ``python -m benchmarks --only W2 --ranks 1,2``.

For each number of ranks R the driver runs ``mpiexec -n R python -m benchmarks.distributed`` (one BLAS
thread per rank, so R ranks use R cores); every rank times W2's epoch (784-512-512-10 ReLU MLP, float32,
batch 128, SGD) trained by :class:`ember.distributed.DataParallel` in both modes, the fixed tree and
``Allreduce``, and rank 0 reports the slowest rank's median. One rank also times the plain single-process
loop (one forward/backward per batch), the price of cutting batches into micro-batches. Scaling efficiency
is ``T(1) / (R * T(R))`` for the same mode.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time

from benchmarks.workloads import _ember_mlp, _mnist_shaped

MODES = ("tree", "allreduce")


def _epoch(net, criterion, params, grads, X, y, batch, dp=None):
    """One epoch of W2; with ``dp``, every batch gradient comes from the ranks together."""
    from ember import optim

    state = {"learning_rate": 0.01}
    for s in range(0, len(X), batch):
        xb, yb = X[s:s + batch], y[s:s + batch]

        def feval(_, xb=xb, yb=yb):
            if dp is None:
                grads.fill(0)
                output = net.forward(xb)
                loss = criterion.forward(output, yb)
                net.backward(xb, criterion.backward(output, yb))
                return loss, grads
            loss, _ = dp.batch_gradient(net, criterion, xb, yb, grads)
            return loss, grads

        optim.sgd(feval, params, state)


def worker(argv: list[str] | None = None) -> int:
    """Run under ``mpiexec``: time the epochs and let rank 0 write the medians as JSON."""
    from ember import nn
    from ember.distributed import DataParallel

    parser = argparse.ArgumentParser(prog="python -m benchmarks.distributed")
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--micro-batch", type=int, default=64)
    parser.add_argument("--json", required=True)
    args = parser.parse_args(argv)
    X, y = _mnist_shaped(6000 if args.quick else 60000)
    net = _ember_mlp()
    net.get(0).gradInput = None
    criterion = nn.CrossEntropyCriterion()
    params, grads = net.getParameters()
    start = params.copy()
    modes = {mode: DataParallel(micro_batch=args.micro_batch, exact=mode == "tree") for mode in MODES}
    comm = modes["tree"].comm
    runs = {mode: (lambda dp=dp: _epoch(net, criterion, params, grads, X, y, 128, dp)) for mode, dp in modes.items()}
    if comm.size == 1:
        runs["plain"] = lambda: _epoch(net, criterion, params, grads, X, y, 128)
    times: dict[str, list[float]] = {name: [] for name in runs}
    for repetition in range(args.repeat + 1):  # the first is a warm-up
        for name, run in runs.items():
            params[...] = start
            comm.Barrier()
            began = time.perf_counter()
            run()
            elapsed = comm.allreduce(time.perf_counter() - began, op=modes["tree"].MPI.MAX)
            if repetition:
                times[name].append(elapsed)
    if comm.rank == 0:
        with open(args.json, "w") as handle:
            json.dump({"ranks": comm.size, "steps": -(-len(X) // 128), "parameters": int(params.size),
                       "micro_batch": args.micro_batch, "examples": len(X),
                       **{f"{name}_s": statistics.median(values) for name, values in times.items()}}, handle)
    return 0


def scaling(ranks: list[int], quick: bool, repeat: int, micro_batch: int = 64) -> list[dict]:
    """Run the worker on each number of ranks; one row per number of ranks."""
    rows = []
    env = {**os.environ, "OPENBLAS_NUM_THREADS": "1", "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}
    mpiexec = os.path.join(os.path.dirname(sys.executable), "mpiexec")
    for count in ranks:
        with tempfile.TemporaryDirectory() as folder:
            out = os.path.join(folder, "ranks.json")
            command = [mpiexec if os.path.exists(mpiexec) else "mpiexec", "-n", str(count), sys.executable, "-m",
                       "benchmarks.distributed", "--repeat", str(repeat), "--micro-batch", str(micro_batch),
                       "--json", out] + (["--quick"] if quick else [])
            print(f"running W2 on {count} rank(s) ...", file=sys.stderr, flush=True)
            subprocess.run(command, check=True, env=env, timeout=3600)
            with open(out) as handle:
                rows.append(json.load(handle))
    base = next((row for row in rows if row["ranks"] == 1), None)
    for row in rows:
        for mode in MODES:
            row[f"{mode}_efficiency"] = (base[f"{mode}_s"] / (row["ranks"] * row[f"{mode}_s"])
                                         if base is not None else None)
    return rows


def format_scaling(rows: list[dict]) -> str:
    """The scaling rows as a plain-text table."""
    header = f"{'ranks':>5} {'tree s/epoch':>13} {'efficiency':>10} {'allreduce s/epoch':>18} {'efficiency':>10}"
    lines = [f"W2 mini-batch MLP (f32, b=128, micro-batch {rows[0]['micro_batch']}) on MPI ranks", header,
             "-" * len(header)]
    for row in rows:
        def eff(mode, row=row):
            value = row[f"{mode}_efficiency"]
            return "-" if value is None else f"{value:.2f}"
        lines.append(f"{row['ranks']:>5} {row['tree_s']:>13.3f} {eff('tree'):>10} {row['allreduce_s']:>18.3f} "
                     f"{eff('allreduce'):>10}")
    plain = next((row["plain_s"] for row in rows if "plain_s" in row), None)
    if plain is not None:
        lines.append(f"one process without micro-batches (plain W2 loop, one BLAS thread): {plain:.3f} s/epoch")
    return "\n".join(lines)


if __name__ == "__main__":
    sys.exit(worker())
