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
from pathlib import Path

import numpy as np
import pytest
from safetensors.numpy import save_file

from ember import io, nn
from ember.errors import ModelFileError


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
    with pytest.raises(OSError, match=r"m\.safetensors: not saved \(No space left on device\); the file there is "
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
