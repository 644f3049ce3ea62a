"""ember.io: model files and checkpoints (safetensors, no pickle, atomic, strictly checked)."""

from __future__ import annotations

import errno
import json
import os
import struct

import numpy as np
import pytest
from safetensors import safe_open
from safetensors.numpy import save_file

import ember
from ember import io, nn
from ember.errors import MissingFileError, NotAFileError, SaveError
from ember.random import get_rng


def make_model(seed: int = 0) -> nn.Module:
    rng = np.random.default_rng(seed)
    return nn.Sequential(
        nn.Linear(4, 5, rng=rng),
        nn.Concat(1, nn.Linear(5, 2, rng=rng), nn.Sequential(nn.Linear(5, 3, bias=False, rng=rng), nn.Tanh())),
        nn.LeakyReLU(0.2),
        nn.Linear(5, 3, rng=rng),
        nn.LogSoftMax(),
    )


def header(path) -> dict:
    """The raw JSON header of a safetensors file."""
    data = open(path, "rb").read()
    (size,) = struct.unpack("<Q", data[:8])
    return json.loads(data[8:8 + size])


def rewrite_metadata(src, dst, forge=True, **changes) -> None:
    """Copy a safetensors file, changing metadata entries (tampering with the header); with ``forge``,
    also recompute the checksum, so that the structural checks behind it are what gets tested."""
    with safe_open(str(src), framework="np") as f:
        metadata = dict(f.metadata())
        tensors = {name: f.get_tensor(name) for name in f.keys()}
    metadata.update(changes)
    if forge:
        metadata["sha256"] = io._checksum(tensors, metadata)
    save_file(tensors, str(dst), metadata=metadata)


def test_round_trip_outputs_and_structure(tmp_path):
    model = make_model()
    path = io.save(model, tmp_path / "m.safetensors")
    loaded = io.load(path)
    x = np.random.default_rng(1).normal(size=(6, 4))
    np.testing.assert_array_equal(loaded.forward(x), model.forward(x))
    assert repr(loaded) == repr(model)
    assert [type(m) for m in loaded.listModules()] == [type(m) for m in model.listModules()]
    assert loaded[2].negval == 0.2
    assert loaded[1][1][0].bias is None


def test_file_layout(tmp_path):
    model = make_model()
    path = io.save(model, tmp_path / "m.safetensors")
    with safe_open(str(path), framework="np") as f:
        metadata = f.metadata()
        names = set(f.keys())
    assert metadata["format"] == "ember" and metadata["version"] == "2" and metadata["dtype"] == "float64"
    # listModules order: 0 Sequential, 1 Linear, 2 Concat, 3 Linear, 4 Sequential, 5 Linear(no bias), 6 Tanh, ...
    assert names == {"1.weight", "1.bias", "3.weight", "3.bias", "5.weight", "8.weight", "8.bias"}
    arch = json.loads(metadata["architecture"])
    assert arch["type"] == "Sequential" and arch["config"] == {} and arch["train"] is True
    assert arch["modules"][0] == {"type": "Linear", "config": {"n_in": 4, "n_out": 5, "bias": True}, "train": True}
    assert arch["modules"][1]["config"] == {"dim": 1} and len(arch["modules"][1]["modules"]) == 2
    assert arch["modules"][1]["modules"][1]["modules"][0]["config"]["bias"] is False


def test_modules_added_after_construction_and_flattened_parameters(tmp_path):
    model = nn.Sequential().add(nn.Linear(3, 2)).add(nn.Sigmoid())
    flat, _ = model.getParameters()
    flat[:] = np.arange(flat.size)
    loaded = io.load(io.save(model, tmp_path / "m.safetensors"))
    np.testing.assert_array_equal(loaded.getParameters()[0], flat)


def test_float32_model_stays_float32(tmp_path):
    model = make_model().float()
    loaded = io.load(io.save(model, tmp_path / "m.safetensors"))
    assert all(p.dtype == np.float32 for p in loaded.parameters()[0])
    x = np.ones((2, 4), dtype=np.float32)
    np.testing.assert_array_equal(loaded.forward(x), model.forward(x))


def test_shared_parameters_stay_shared(tmp_path):
    first = nn.Linear(3, 3)
    second = first.clone("weight", "bias", "gradWeight", "gradBias")
    model = nn.Sequential(first, nn.Tanh(), second)
    loaded = io.load(io.save(model, tmp_path / "m.safetensors"))
    assert loaded[0].weight is loaded[2].weight and loaded[0].gradWeight is loaded[2].gradWeight
    assert loaded.getParameters()[0].size == 12
    x = np.ones(3)
    np.testing.assert_array_equal(loaded.forward(x), model.forward(x))


def test_loading_leaves_the_global_generator_alone(tmp_path):
    path = io.save(make_model(), tmp_path / "m.safetensors")
    state = get_rng().bit_generator.state
    io.load(path)
    assert get_rng().bit_generator.state == state


def test_no_pickle_anywhere():
    source = open(io.__file__).read()
    assert "pickle" not in source.replace("never unpickles", "").replace("no pickle", "") \
        .replace("nothing is unpickled", "")
    assert "np.load(" not in source and "eval(" not in source
    # the one import: of a module the caller named in trusted=
    assert source.count("importlib.import_module(") == 1 and "importlib.import_module(module_name)" in source


def test_atomic_write_keeps_old_file_on_failure(tmp_path, monkeypatch):
    path = tmp_path / "m.safetensors"
    io.save(make_model(0), path)
    before = path.read_bytes()

    def crash(*args, **kwargs):
        raise OSError("disk full")

    monkeypatch.setattr(io, "save_file", crash)
    with pytest.raises(OSError, match="disk full"):
        io.save(make_model(1), path)
    assert path.read_bytes() == before
    assert os.listdir(tmp_path) == ["m.safetensors"]  # no temporary file left behind


def test_save_into_a_missing_folder(tmp_path):
    with pytest.raises(SaveError, match="m.safetensors: not saved: the folder .*nowhere does not exist") as caught:
        io.save(make_model(), tmp_path / "nowhere" / "m.safetensors")
    assert caught.value.errno == errno.ENOENT and caught.value.filename.endswith("m.safetensors")


def test_a_module_of_your_own_is_saved_by_name_and_loaded_only_when_trusted(tmp_path):
    class MyModule(nn.Sigmoid):
        pass

    path = io.save(nn.Sequential(nn.Linear(2, 2), MyModule()), tmp_path / "m.safetensors")
    with pytest.raises(ember.UntrustedModuleError, match=r"test_io:test_a_module_of_your_own.*<locals>.MyModule"):
        io.load(path)
    assert type(io.load(path, trusted=[MyModule])[1]) is MyModule


def test_save_rejects_non_json_arguments(tmp_path):
    with pytest.raises(ember.ProtocolError, match="cannot describe .*ndarray"):
        scaled = nn.MulConstant(2.0)
        scaled.constant_scalar = np.ones(3)  # set after construction, which refuses it
        io.save(nn.Sequential(scaled), tmp_path / "m.safetensors")


def test_truncated_file(tmp_path):
    path = io.save(make_model(), tmp_path / "m.safetensors")
    data = path.read_bytes()
    for cut in (4, 40, len(data) - 10):
        (tmp_path / "cut.safetensors").write_bytes(data[:cut])
        with pytest.raises(ValueError, match=r"cut\.safetensors: not a readable safetensors file"):
            io.load(tmp_path / "cut.safetensors")


def test_garbage_and_missing_file(tmp_path):
    (tmp_path / "junk.safetensors").write_bytes(b"\x00" * 3 + b"not a model" * 20)
    with pytest.raises(ValueError, match="junk.safetensors"):
        io.load(tmp_path / "junk.safetensors")
    with pytest.raises(FileNotFoundError, match="nope.safetensors"):
        io.load(tmp_path / "nope.safetensors")


def test_tampered_tensor_bytes_fail_the_checksum(tmp_path):
    path = io.save(make_model(), tmp_path / "m.safetensors")
    data = bytearray(path.read_bytes())
    data[-3] ^= 0xFF
    path.write_bytes(bytes(data))
    with pytest.raises(ValueError, match="m.safetensors: checksum mismatch"):
        io.load(path)


def test_edited_metadata_fails_the_checksum(tmp_path):
    path = io.save(make_model(), tmp_path / "m.safetensors")
    with safe_open(str(path), framework="np") as f:
        arch = f.metadata()["architecture"]
    rewrite_metadata(path, tmp_path / "bad.safetensors", forge=False, architecture=arch.replace("0.2", "0.3"))
    with pytest.raises(ValueError, match="bad.safetensors: checksum mismatch"):
        io.load(tmp_path / "bad.safetensors")


def test_unknown_type_in_architecture(tmp_path):
    path = io.save(make_model(), tmp_path / "m.safetensors")
    with safe_open(str(path), framework="np") as f:
        arch = f.metadata()["architecture"]
    for name in ("os.system", "Criterion", "ClassNLLCriterion", "__import__"):
        rewrite_metadata(path, tmp_path / "bad.safetensors", architecture=arch.replace('"Tanh"', json.dumps(name)))
        with pytest.raises(ValueError, match=r"bad.safetensors: bad architecture: .*unknown module type"):
            io.load(tmp_path / "bad.safetensors")


def test_malformed_metadata(tmp_path):
    path = io.save(make_model(), tmp_path / "m.safetensors")
    bad = tmp_path / "bad.safetensors"
    cases = {
        "architecture": ("{not json", "not valid JSON"),
        "format": ("numpy", "format 'numpy'"),
        "version": ("99", "version '99'"),
        "dtype": ("int8", "dtype 'int8'"),
    }
    for key, (value, message) in cases.items():
        rewrite_metadata(path, bad, **{key: value})
        with pytest.raises(ValueError, match=f"bad.safetensors: .*{message}"):
            io.load(bad)


def test_architecture_that_does_not_fit_the_tensors(tmp_path):
    path = io.save(make_model(), tmp_path / "m.safetensors")
    with safe_open(str(path), framework="np") as f:
        arch = f.metadata()["architecture"]
    bad = tmp_path / "bad.safetensors"
    first = '"n_in": 4, "n_out": 5'
    rewrite_metadata(path, bad, architecture=arch.replace(first, '"n_in": 4, "n_out": 6'))
    with pytest.raises(ValueError, match=r"tensor '1.weight' has shape \(5, 4\).*needs \(6, 4\)"):
        io.load(bad)
    rewrite_metadata(path, bad, architecture=arch.replace('"bias": false', '"bias": true'))
    with pytest.raises(ValueError, match=r"missing \['5.bias'\]"):
        io.load(bad)
    rewrite_metadata(path, bad, architecture=arch.replace('{"type": "LogSoftMax", "config": {}',
                                                          '{"type": "Linear", "config": {"n_in": 3, "n_out": 3}'))
    with pytest.raises(ValueError, match=r"missing \['9.bias', '9.weight'\]"):
        io.load(bad)
    rewrite_metadata(path, bad, architecture=arch.replace(first, first + ', "n_hidden": 6'))
    with pytest.raises(ValueError, match="cannot build Linear"):
        io.load(bad)


def test_extra_tensor_is_rejected(tmp_path):
    path = io.save(make_model(), tmp_path / "m.safetensors")
    with safe_open(str(path), framework="np") as f:
        metadata = dict(f.metadata())
        tensors = {name: f.get_tensor(name) for name in f.keys()}
    tensors["7.weight"] = np.zeros(2)
    metadata["sha256"] = io._checksum(tensors, metadata)  # a consistent forgery: the structure check must catch it
    save_file(tensors, str(tmp_path / "bad.safetensors"), metadata=metadata)
    with pytest.raises(ValueError, match=r"unexpected \['7.weight'\]"):
        io.load(tmp_path / "bad.safetensors")


def test_wrong_dtype_tensor_is_rejected(tmp_path):
    path = io.save(make_model(), tmp_path / "m.safetensors")
    with safe_open(str(path), framework="np") as f:
        metadata = dict(f.metadata())
        tensors = {name: f.get_tensor(name) for name in f.keys()}
    tensors["1.bias"] = tensors["1.bias"].astype(np.float32)
    metadata["sha256"] = io._checksum(tensors, metadata)
    save_file(tensors, str(tmp_path / "bad.safetensors"), metadata=metadata)
    with pytest.raises(ValueError, match=r"'1.bias' has shape \(5,\) and dtype float32"):
        io.load(tmp_path / "bad.safetensors")


def test_checkpoint_round_trip(tmp_path):
    model = make_model()
    rng = np.random.default_rng(5)
    rng.random(3)
    state = {"learning_rate": 0.1, "t": 7, "nesterov": False, "m": np.arange(3.0), "v": np.float64(2.5),
             "old_dirs": [np.ones(2), np.zeros(2)], "pair": (1, 2.0), "nested": {"a": None, "b": "x"}}
    history = {"loss": [1.0, 0.5], "accuracy": [0.3, 0.6]}
    path = io.save_checkpoint(tmp_path / "c.safetensors", model, state, 2, history, rng.bit_generator.state,
                              extra={"optimizer": "adam"})
    ckpt = io.load_checkpoint(path)
    x = np.ones((2, 4))
    np.testing.assert_array_equal(ckpt.model.forward(x), model.forward(x))
    assert ckpt.epoch == 2 and ckpt.history == history and ckpt.extra == {"optimizer": "adam"}
    restored = np.random.default_rng()
    restored.bit_generator.state = ckpt.rng_state
    assert restored.random() == rng.random()
    s = ckpt.optimizer_state
    assert s["learning_rate"] == 0.1 and s["t"] == 7 and s["nesterov"] is False and s["pair"] == (1, 2.0)
    np.testing.assert_array_equal(s["m"], np.arange(3.0))
    assert isinstance(s["v"], np.float64) and s["v"] == 2.5
    assert isinstance(s["old_dirs"], list) and len(s["old_dirs"]) == 2
    assert s["nested"] == {"a": None, "b": "x"}


def test_checkpoint_and_model_files_are_not_interchangeable(tmp_path):
    model = make_model()
    ckpt = io.save_checkpoint(tmp_path / "c.safetensors", model, {}, 0, {}, None)
    plain = io.save(model, tmp_path / "m.safetensors")
    with pytest.raises(ValueError, match="use load_checkpoint"):
        io.load(ckpt)
    with pytest.raises(ValueError, match=r"use load\)"):
        io.load_checkpoint(plain)


def test_checkpoint_rejects_unsaveable_state(tmp_path):
    with pytest.raises(TypeError, match=r"optimizer_state\['f'\]"):
        io.save_checkpoint(tmp_path / "c.safetensors", make_model(), {"f": lambda: 0}, 0, {}, None)
    assert not (tmp_path / "c.safetensors").exists()


@pytest.mark.parametrize("depth", [600, 100_000])
def test_a_model_file_nested_absurdly_deep_is_refused_not_a_recursion_error(tmp_path, depth):
    path, crafted = tmp_path / "m.safetensors", tmp_path / "deep.safetensors"
    io.save(nn.Sequential(nn.Linear(2, 2)), path)
    nested = '{"type": "Sequential", "modules": [' * depth + "]}" * depth
    rewrite_metadata(path, crafted, architecture=nested)
    with pytest.raises(ember.ModelFileError, match=r"deep.safetensors: metadata entry 'architecture' is nested "
                                                   r"(more than 200 deep|too deeply to be a model)"):
        io.load(crafted)


def test_a_save_removes_what_killed_saves_left_and_spares_one_in_progress(tmp_path):
    path = tmp_path / "m.safetensors"
    killed, in_progress = tmp_path / ".m.safetensors.abc123.tmp", tmp_path / ".m.safetensors.def456.tmp"
    other = tmp_path / ".other.safetensors.abc123.tmp"
    for leftover in (killed, in_progress, other):
        leftover.write_bytes(b"\0" * 100)
    old = os.path.getmtime(killed) - io.STALE_SECONDS - 1
    os.utime(killed, (old, old))
    os.utime(other, (old, old))
    io.save(nn.Linear(2, 2), path)
    assert not killed.exists()
    assert in_progress.exists() and other.exists()  # a save in progress, and another file's leftovers
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted([".m.safetensors.def456.tmp",
                                                                 ".other.safetensors.abc123.tmp", "m.safetensors"])


def test_a_directory_given_as_a_model_file_is_called_a_directory(tmp_path):
    with pytest.raises(NotAFileError, match=rf"{tmp_path.name}' is a directory, expected a model file"):
        io.load(tmp_path)
    with pytest.raises(MissingFileError, match=r"nope.safetensors: no such file"):
        io.load(tmp_path / "nope.safetensors")
