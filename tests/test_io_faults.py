"""Model files under attack and saves that fail (issue 12): the sizes a file declares are checked against the file
before anything is allocated, and a save that fails (a full disk at the write, the flush or the rename; a kill in the
middle of the write) leaves the previous file at that path intact and no partial file under its name."""

from __future__ import annotations

import errno
import json
import os
import signal
import struct
import subprocess
import sys
import tracemalloc
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
from safetensors.numpy import save_file

from ember import files, io, nn
from ember.errors import MissingFileError, ModelFileError, NotAFileError, SaveError, UnreadableFileError


def small_model() -> nn.Module:
    return nn.Sequential(nn.Linear(4, 3, rng=np.random.default_rng(0)), nn.LogSoftMax())


def _rewrite(path: Path, architecture: dict) -> None:
    """Rewrite ``path`` with another architecture in its metadata and a checksum that matches (as an attacker would)."""
    tensors, metadata = io._read(path)
    metadata["architecture"] = json.dumps(architecture)
    metadata["sha256"] = io._checksum(tensors, metadata)
    save_file(tensors, str(path), metadata=metadata)


def test_sizes_in_the_metadata_are_checked_against_the_file_before_building(tmp_path):
    path = io.save(small_model(), tmp_path / "m.safetensors")
    architecture = json.loads(io._read(path)[1]["architecture"])
    architecture["modules"][0]["config"].update(n_in=100_000, n_out=100_000)  # 80 GB if built
    _rewrite(path, architecture)
    tracemalloc.start()
    try:
        with pytest.raises(ModelFileError, match=r"m\.safetensors: Linear\(n_in=100000, n_out=100000\) in the "
                                                 r"metadata asks for at least 10,000,000,000 values, but the file "
                                                 r"holds 15: the architecture does not fit the file"):
            io.load(path)
        assert tracemalloc.get_traced_memory()[1] < 10 * 2 ** 20
    finally:
        tracemalloc.stop()


def test_the_number_of_modules_is_limited(tmp_path, monkeypatch):
    path = io.save(small_model(), tmp_path / "m.safetensors")
    architecture = json.loads(io._read(path)[1]["architecture"])
    architecture["modules"] = [{"type": "Identity", "config": {}}] * 50
    _rewrite(path, architecture)
    monkeypatch.setattr(io, "MAX_MODULES", 20)
    with pytest.raises(ModelFileError, match=r"m\.safetensors: the architecture describes more than 20 modules"):
        io.load(path)


@pytest.mark.parametrize("lie", ["tensor larger than the file", "offsets overlap", "header length"])
def test_safetensors_checks_the_declared_tensors_against_the_file(tmp_path, lie):
    """What safetensors validates itself, before ember reads a value: each tensor's shape x dtype against its byte
    range, the ranges against each other and the data's size, the header's length against the file."""
    path = io.save(small_model(), tmp_path / "m.safetensors")
    raw = path.read_bytes()
    length = struct.unpack("<Q", raw[:8])[0]
    header = json.loads(raw[8:8 + length])
    name = next(key for key in header if key != "__metadata__")
    if lie == "tensor larger than the file":
        header[name]["shape"] = [100_000, 100_000]
    elif lie == "offsets overlap":
        header[name]["data_offsets"] = [0, header[name]["data_offsets"][1]]
        other = next(key for key in header if key not in ("__metadata__", name))
        header[other]["data_offsets"] = [0, header[other]["data_offsets"][1] - header[other]["data_offsets"][0]]
    encoded = json.dumps(header).encode()
    encoded += b" " * (-len(encoded) % 8)
    declared = 2 ** 60 if lie == "header length" else len(encoded)
    path.write_bytes(struct.pack("<Q", declared) + encoded + raw[8 + length:])
    with pytest.raises(ModelFileError, match=r"m\.safetensors: not a readable safetensors file"):
        io.load(path)


def _leftovers(folder: Path, keep: str) -> list[str]:
    return sorted(p.name for p in folder.iterdir() if p.name != keep)


@pytest.mark.parametrize("stage", ["write", "fsync", "rename"])
def test_a_full_disk_leaves_the_old_file_and_no_temporary(tmp_path, monkeypatch, stage):
    path = io.save(small_model(), tmp_path / "m.safetensors")
    before = path.read_bytes()
    full = OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    def fail(*args, **kwargs):
        if stage == "write":  # half the bytes reach the temporary file, then the disk is full
            Path(args[1]).write_bytes(before[: len(before) // 2])
        raise full

    target = {"write": (io, "save_file"), "fsync": (os, "fsync"), "rename": (os, "replace")}[stage]
    monkeypatch.setattr(*target, fail)
    bigger = nn.Sequential(nn.Linear(4, 30), nn.LogSoftMax())
    with pytest.raises(SaveError, match=r"m\.safetensors: not saved \(No space left on device\); the file there is "
                                      r"unchanged") as caught:
        io.save(bigger, path)
    assert caught.value.errno == errno.ENOSPC
    monkeypatch.undo()
    assert path.read_bytes() == before and _leftovers(tmp_path, path.name) == []
    assert io.load(path).get(0).weight.shape == (3, 4)


KILLED_WRITER = """
import sys, time
from pathlib import Path
import numpy as np
from ember import io, nn

def half_then_hang(tensors, filename, metadata=None):
    Path(filename).write_bytes(b"\\0" * 100_000)  # the first part of the file, then the process is killed
    print("writing", flush=True)
    time.sleep(60)

io.save_file = half_then_hang
io.save(nn.Sequential(nn.Linear(4, 300), nn.LogSoftMax()), sys.argv[1])
"""


def test_a_save_killed_mid_write_leaves_the_old_file(tmp_path, monkeypatch):
    path = io.save(small_model(), tmp_path / "m.safetensors")
    before = path.read_bytes()
    env = dict(os.environ, PYTHONPATH=str(Path(__file__).resolve().parents[1]))
    writer = subprocess.Popen([sys.executable, "-c", KILLED_WRITER, str(path)], stdout=subprocess.PIPE, text=True,
                              env=env)
    try:
        assert writer.stdout.readline().strip() == "writing"
        partial = _leftovers(tmp_path, path.name)
        assert len(partial) == 1 and partial[0].startswith(".m.safetensors.") and partial[0].endswith(".tmp")
    finally:
        writer.send_signal(signal.SIGKILL)
        writer.wait(10)
        writer.stdout.close()
    assert writer.returncode == -signal.SIGKILL
    assert path.read_bytes() == before and io.load(path).get(0).weight.shape == (3, 4)
    monkeypatch.setattr(io, "STALE_SECONDS", 0.0)  # the killed save's temporary is stale: the next save removes it
    io.save(small_model(), path)
    assert _leftovers(tmp_path, path.name) == []


# -- every save path: a failure is an ember SaveError naming the path and the cause, the old file survives -------

def _savers() -> dict[str, Callable[[Path], object]]:
    from ember import interop, onnx, plot
    from ember.recipes import dense, ocr

    run = {"loss_per_epoch_train": [0.5], "loss_per_epoch_val": [0.6], "err_train": 0.1, "err_val": 0.2,
           "hidden_units": 4, "learning_rate": 0.1}
    grid = {"activation": "tanh", "learning_rate": 0.1, "init": "xavier", "depth": 1, "layers": "4", "final_loss": 0.1,
            "solved": True}
    graph = nn.gModule([x := nn.Identity()()], [nn.Tanh()(x)])
    return {
        "io.save": lambda path: io.save(small_model(), path),
        "io.save_checkpoint": lambda path: io.save_checkpoint(path, small_model(), {}, 1, {"loss": [1.0]}, None),
        "ocr.write_labels": lambda path: ocr.write_labels(path, [1, 2]),
        "ocr.write_metrics": lambda path: ocr.write_metrics(path, run),
        "ocr.write_sweep_csv": lambda path: ocr.write_sweep_csv(path, [run]),
        "dense.write_grid_csv": lambda path: dense.write_grid_csv(path, [grid]),
        "plot.loss_curves (.png)": lambda path: plot.loss_curves(path.with_suffix(".png"), [1.0, 0.5]),
        "plot.graph (.dot)": lambda path: plot.graph(graph, path.with_suffix(".dot")),
        "onnx.export": lambda path: (pytest.importorskip("onnx"), onnx.export(small_model(), np.zeros((1, 4)), path)),
        "interop.save_state_dict": lambda path: interop.save_state_dict(small_model(), path),
    }


FAULTS = {  # where the fault strikes, and the OSError it raises
    "disk full": ("fsync", OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))),
    "read-only filesystem": ("mkstemp", OSError(errno.EROFS, os.strerror(errno.EROFS))),
    "permission denied": ("mkstemp", PermissionError(errno.EACCES, os.strerror(errno.EACCES))),
    "rename refused": ("replace", OSError(errno.EXDEV, os.strerror(errno.EXDEV))),
}


@pytest.mark.parametrize("fault", FAULTS)
@pytest.mark.parametrize("saver", list(_savers()))
def test_every_save_path_fails_with_a_save_error_and_keeps_the_old_file(tmp_path, monkeypatch, saver, fault):
    write = _savers()[saver]
    path = tmp_path / "out.file"
    target = path.with_suffix(".png" if "png" in saver else ".dot" if "dot" in saver else ".file")
    target.write_bytes(b"the old file")
    stage, error = FAULTS[fault]

    def fail(*args, **kwargs):
        raise error

    monkeypatch.setattr(*{"fsync": (os, "fsync"), "mkstemp": (files.tempfile, "mkstemp"),
                          "replace": (os, "replace")}[stage], fail)
    with pytest.raises(SaveError, match=rf"{target.name}: not saved \({error.strerror}\); the file there is "
                                        r"unchanged") as caught:
        write(path)
    monkeypatch.undo()
    assert isinstance(caught.value, OSError) and caught.value.errno == error.errno
    assert caught.value.filename == str(target)
    assert target.read_bytes() == b"the old file" and _leftovers(tmp_path, target.name) == []


@pytest.mark.parametrize("saver", list(_savers()))
def test_every_save_path_refuses_a_directory_or_a_missing_folder_in_the_way(tmp_path, saver):
    write = _savers()[saver]
    for name in ("out.file", "out.png", "out.dot"):
        (tmp_path / name).mkdir()
    with pytest.raises(SaveError, match=r"out\.(file|png|dot): not saved: it is a directory, expected a file path"):
        write(tmp_path / "out.file")
    (tmp_path / "plain").write_text("a file where a folder should be")
    with pytest.raises(SaveError, match=r"plain.*not saved") as caught:
        write(tmp_path / "plain" / "out.file")
    assert caught.value.errno in (errno.ENOENT, errno.ENOTDIR, errno.EEXIST)
    assert (tmp_path / "plain").read_text() == "a file where a folder should be"


def test_a_training_log_that_cannot_be_written_is_a_save_error(tmp_path, monkeypatch):
    from ember import callbacks
    from ember.train import fit

    model, X, y = small_model(), np.zeros((4, 4)), np.array([0, 1, 2, 0])
    (tmp_path / "log.csv").mkdir()
    with pytest.raises(SaveError, match=r"log\.csv: not saved \(Is a directory\)"):
        fit(model, nn.ClassNLLCriterion(), X, y, log=tmp_path / "log.csv", progress=False)

    def full(*args, **kwargs):
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    monkeypatch.setattr(callbacks, "open", full, raising=False)
    with pytest.raises(SaveError, match=r"run\.csv: not saved \(No space left on device\)"):
        fit(model, nn.ClassNLLCriterion(), X, y, log=tmp_path / "run.csv", progress=False)


def test_a_failed_output_file_on_the_command_line_is_one_line(tmp_path, monkeypatch, capsys):
    from ember.cli import main

    monkeypatch.setattr(os, "fsync", lambda *args: (_ for _ in ()).throw(OSError(errno.ENOSPC, "No space left")))
    status = main(["trace", "--out", str(tmp_path / "trace.md")])
    err = capsys.readouterr().err.strip().splitlines()
    assert status == 1 and err == [f"ember trace: error: {tmp_path / 'trace.md'}: not saved (No space left); no file "
                                   f"was written"]
    assert list(tmp_path.iterdir()) == []


def test_a_file_to_read_that_is_missing_a_directory_or_unreadable_is_an_ember_error(tmp_path, monkeypatch):
    from ember import data

    with pytest.raises(MissingFileError, match=r"nope\.safetensors: no such file") as caught:
        io.load(tmp_path / "nope.safetensors")
    assert isinstance(caught.value, FileNotFoundError) and caught.value.filename == str(tmp_path / "nope.safetensors")
    with pytest.raises(NotAFileError, match=rf"{tmp_path.name}' is a directory, expected a data file"):
        data.load_csv(tmp_path)
    (tmp_path / "d.csv").write_text("1,2\n")
    monkeypatch.setattr(files.os, "access", lambda *args, **kwargs: False)  # (as root, chmod cannot refuse a read)
    with pytest.raises(UnreadableFileError, match=r"d\.csv: cannot read a data file \(permission denied\)"):
        data.load_csv(tmp_path / "d.csv")
