"""ember.distributed: the fixed reduction tree on 1, 2 and 4 MPI ranks, failures, mismatches, executors.

The MPI tests run ``mpiexec`` in a subprocess (never MPI inside pytest) with a timeout, one BLAS thread per
rank; ranks may outnumber the cores (MPICH oversubscribes without asking).
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from ember import distributed
from ember.distributed import EXECUTORS, fingerprint, make_executor, owner, parallel_map, share
from tests.optional import INSTALL, skip_reason

JOB = Path(__file__).with_name("mpi_job.py")
ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="session")
def mpiexec() -> str:
    """The ``mpiexec`` beside this Python (the MPICH wheel's), skipping with the reason where mpi4py is absent."""
    try:
        import mpi4py  # noqa: F401 - only whether it is installed; MPI itself starts in the subprocesses
    except ImportError:
        if os.environ.get("CI"):
            pytest.fail(f"mpi4py is not installed, but CI must run the MPI tests ({INSTALL['mpi4py']})")
        pytest.skip(skip_reason("mpi4py", "the MPI tests"))
    beside = Path(sys.executable).with_name("mpiexec")
    return str(beside) if beside.exists() else "mpiexec"


def run(command: list[str], timeout: float = 120, **kwargs) -> subprocess.CompletedProcess:
    """Run ``command`` in its own process group; on timeout kill the whole group (no rank left behind)."""
    env = {**os.environ, "OPENBLAS_NUM_THREADS": "1", "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1",
           "PYTHONPATH": os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")]),
           # MPI's singleton init (mpi4py.futures spawning without mpiexec) finds mpiexec on the PATH
           "PATH": os.pathsep.join([str(Path(sys.executable).parent), os.environ.get("PATH", "")])}
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env,
                               start_new_session=True, **kwargs)
    try:
        out, err = process.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.communicate()
        pytest.fail(f"{' '.join(command)} still ran after {timeout} s: a hang")
    return subprocess.CompletedProcess(command, process.returncode, out, err)


def job(mpiexec: str, ranks: int, name: str, out: Path, *options: str) -> subprocess.CompletedProcess:
    return run([mpiexec, "-n", str(ranks), sys.executable, str(JOB), name, str(out), *options])


# -- without MPI ---------------------------------------------------------------------------------------------

@pytest.mark.parametrize(("count", "ranks"), [(1, 1), (4, 2), (4, 3), (5, 4), (2, 4), (9, 4)])
def test_shares_are_contiguous_and_cover_every_micro_batch_once(count, ranks):
    shares = [share(rank, count, ranks) for rank in range(ranks)]
    assert [k for s in shares for k in s] == list(range(count))
    for rank, part in enumerate(shares):
        assert all(owner(k, count, ranks) == rank for k in part)


def test_fingerprints_tell_arrays_models_and_settings_apart():
    from ember import nn

    X = np.arange(6.0).reshape(2, 3)
    assert fingerprint(X) == fingerprint(X.copy())
    assert fingerprint(X)[0] != fingerprint(X.astype(np.float32))[0]
    assert fingerprint(X)[0] != fingerprint(X.reshape(3, 2))[0]
    assert fingerprint(X)[1] == "float64 (2, 3)"
    a, b = nn.Linear(3, 2, rng=np.random.default_rng(0)), nn.Linear(3, 2, rng=np.random.default_rng(0))
    assert fingerprint(a) == fingerprint(b)
    b.weight[0, 0] += 1e-12
    assert fingerprint(a)[0] != fingerprint(b)[0]
    assert fingerprint({"epochs": 2, "batch": 8})[0] == fingerprint({"batch": 8, "epochs": 2})[0]


def _slow_square(x: int) -> int:
    time.sleep(0.05 * (3 - x))  # the first item finishes last
    return x * x


@pytest.mark.parametrize("kind", ["none", "processes"])
def test_parallel_map_returns_results_in_input_order_whatever_finishes_first(kind):
    seen = []
    assert parallel_map(_slow_square, range(4), executor=kind, workers=2, progress=seen.append) == [0, 1, 4, 9]
    assert seen == [0, 1, 4, 9]


def _fail_on_two(x: int) -> int:
    if x == 2:
        raise ValueError("two is bad")
    return x


@pytest.mark.parametrize("kind", ["none", "processes"])
def test_parallel_map_raises_the_first_error(kind):
    with pytest.raises(ValueError, match="two is bad"):
        parallel_map(_fail_on_two, range(5), executor=kind, workers=2)


def test_unknown_executor_and_bad_workers_are_named():
    assert EXECUTORS[0] == "processes"
    with pytest.raises(ValueError, match="unknown executor 'threads'; choose one of processes, mpi, none"):
        make_executor("threads")
    with pytest.raises(ValueError, match="workers must be None or a positive integer, got 0"):
        make_executor("none", 0)


def test_missing_mpi4py_names_the_install_command(monkeypatch):
    monkeypatch.setitem(sys.modules, "mpi4py", None)
    with pytest.raises(ImportError, match=r"pip install 'ember\[mpi\]'"):
        distributed.mpi()


# -- under mpiexec -----------------------------------------------------------------------------------------------

def test_one_two_and_four_ranks_give_bit_identical_parameters_and_history(mpiexec, tmp_path):
    for ranks in (1, 2, 4):
        result = job(mpiexec, ranks, "fit", tmp_path)
        assert result.returncode == 0, result.stderr
    reference = np.load(tmp_path / "ranks1.npy")
    history = json.loads((tmp_path / "ranks1.json").read_text())
    assert set(history) == {"loss", "accuracy", "val_loss", "val_accuracy"} and len(history["loss"]) == 2
    for ranks in (2, 4):
        assert np.array_equal(np.load(tmp_path / f"ranks{ranks}.npy"), reference), ranks
        assert json.loads((tmp_path / f"ranks{ranks}.json").read_text()) == history, ranks


def test_resume_on_another_number_of_ranks_ends_where_an_uninterrupted_run_does(mpiexec, tmp_path):
    checkpoint = str(tmp_path / "run.ckpt.safetensors")
    first, resumed, whole = tmp_path / "first", tmp_path / "resumed", tmp_path / "whole"
    for folder in (first, resumed, whole):
        folder.mkdir()
    assert job(mpiexec, 2, "fit", first, "--epochs", "2", "--checkpoint", checkpoint).returncode == 0
    result = job(mpiexec, 3, "fit", resumed, "--epochs", "4", "--resume", checkpoint)
    assert result.returncode == 0, result.stderr
    assert job(mpiexec, 1, "fit", whole, "--epochs", "4").returncode == 0
    assert np.array_equal(np.load(resumed / "ranks3.npy"), np.load(whole / "ranks1.npy"))
    assert json.loads((resumed / "ranks3.json").read_text()) == json.loads((whole / "ranks1.json").read_text())


@pytest.mark.parametrize(("options", "tolerance"), [((), 1e-12), (("--float32",), 1e-5)])
def test_allreduce_mode_agrees_with_the_tree_to_rounding(mpiexec, tmp_path, options, tolerance):
    tree, fast = tmp_path / "tree", tmp_path / "fast"
    tree.mkdir(), fast.mkdir()
    assert job(mpiexec, 1, "fit", tree, *options).returncode == 0
    result = job(mpiexec, 2, "fit", fast, "--allreduce", *options)
    assert result.returncode == 0, result.stderr
    reference, other = np.load(tree / "ranks1.npy"), np.load(fast / "ranks2.npy")
    assert other.dtype == reference.dtype
    np.testing.assert_allclose(other, reference, rtol=tolerance, atol=tolerance)


def test_an_exception_on_one_rank_ends_every_rank_with_the_error(mpiexec, tmp_path):
    result = job(mpiexec, 2, "fail", tmp_path)
    assert result.returncode != 0
    assert result.stderr.count("RankError: rank 1 failed: ValueError: boom at forward 3") == 2  # both ranks
    assert not (tmp_path / "ranks2.npy").exists()


def test_a_callback_failing_on_one_rank_ends_every_rank_with_its_error(mpiexec, tmp_path):
    result = job(mpiexec, 2, "callback", tmp_path)
    assert result.returncode != 0
    assert result.stderr.count("RankError: rank 1 failed: OSError: cannot write the log after epoch 1") == 2


def test_an_unexpected_exception_on_one_rank_aborts_every_rank(mpiexec, tmp_path):
    result = job(mpiexec, 2, "abort", tmp_path)
    assert result.returncode != 0
    assert "ember: rank 1 of 2 failed; ending every rank" in result.stderr
    assert "OSError: disk full on rank 1" in result.stderr


def test_a_data_mismatch_is_named_at_start(mpiexec, tmp_path):
    result = job(mpiexec, 2, "mismatch", tmp_path)
    assert result.returncode != 0
    assert "MismatchError: DataParallel: the ranks disagree at start: X differs on rank 1 from rank 0" in result.stderr
    assert "model differs" not in result.stderr


def test_mpi_executor_spawns_workers_keeps_the_order_and_gives_the_grid_unchanged(mpiexec, tmp_path):
    result = run([sys.executable, str(JOB), "futures", str(tmp_path)])
    assert result.returncode == 0, result.stderr
    report = json.loads((tmp_path / "futures.json").read_text())
    assert report == {"squares": [x * x for x in range(7)], "grid_same": True}


def test_ember_train_distributed_prints_once_and_saves_the_one_rank_model(mpiexec, tmp_path):
    from ember import io

    outputs = {}
    for ranks in (1, 2):
        saved = tmp_path / f"ranks{ranks}.safetensors"
        result = run([mpiexec, "-n", str(ranks), sys.executable, "-m", "ember", "train", "--dataset", "spirals",
                      "--hidden", "12", "--batch-size", "30", "--epochs", "2", "--lr", "0.5", "--distributed",
                      "--micro-batch", "8", "--save", str(saved), "--quiet"])
        assert result.returncode == 0, result.stderr
        outputs[ranks] = result.stdout.replace(str(saved), "MODEL")
    assert outputs[2] == outputs[1]
    assert outputs[1].count("after 2 epochs") == 1 and "model saved: MODEL" in outputs[1]
    one, two = (io.load(tmp_path / f"ranks{r}.safetensors").getParameters()[0] for r in (1, 2))
    assert np.array_equal(one, two)


def test_allreduce_without_distributed_is_a_usage_error():
    from ember.cli.main import main

    assert main(["train", "--dataset", "xor", "--allreduce"]) == 2


def test_fit_refuses_an_unknown_distributed_value():
    from ember import nn
    from ember.train import fit

    with pytest.raises(TypeError, match="distributed must be True, False or an ember.distributed.DataParallel"):
        fit(nn.Linear(2, 1), nn.MSECriterion(), np.zeros((4, 2)), np.zeros((4, 1)), distributed="yes")
