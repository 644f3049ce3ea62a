"""ember.io and your own modules: saved by import path, loaded only when trusted; modes and file permissions."""

from __future__ import annotations

import os
import stat
import subprocess
import sys
import textwrap

import numpy as np
import pytest

import ember
from ember import io, nn
from tests.nn.test_protocol import Scale

NAME = "tests.nn.test_protocol:Scale"


def model_with_scale() -> nn.Module:
    model = nn.Sequential(nn.Linear(3, 4, rng=0), Scale(4).reset(1), nn.Tanh())
    model[1].calls[...] = 7  # a declared buffer
    return model


def test_a_user_module_is_saved_by_import_path_with_its_config_parameters_and_buffers(tmp_path):
    model = model_with_scale()
    path = io.save(model, tmp_path / "m.safetensors")
    arch = io.architecture(model)
    assert arch["modules"][1] == {"type": NAME, "config": {"size": 4}, "train": True}
    x = np.random.default_rng(2).normal(size=(5, 3))
    for trusted in ([Scale], [NAME]):
        loaded = io.load(path, trusted=trusted)
        assert type(loaded[1]) is Scale
        np.testing.assert_array_equal(loaded[1].scale, model[1].scale)
        np.testing.assert_array_equal(loaded[1].calls, [7.0])
        np.testing.assert_array_equal(loaded.forward(x), model.forward(x))


def test_an_untrusted_class_is_refused_without_importing_anything(tmp_path):
    path = io.save(model_with_scale(), tmp_path / "m.safetensors")
    message = (r"m.safetensors: model.modules\[1\]: the file names the module class "
               r"'tests.nn.test_protocol:Scale', which is not one of ember.nn's; nothing it names is imported or "
               r"run unless you trust it: load\(path, trusted=\[Scale\]\) or "
               r"trusted=\['tests.nn.test_protocol:Scale'\] \(command line: --trust FILE.py:Scale\)")
    with pytest.raises(ember.UntrustedModuleError, match=message):
        io.load(path)
    with pytest.raises(ember.UntrustedModuleError):
        io.load(path, trusted=[nn.Linear])


def test_a_file_naming_an_untrusted_module_never_imports_it(tmp_path):
    # the file names a module that would leave a mark if it were imported
    (tmp_path / "evil_layers.py").write_text(textwrap.dedent("""
        import pathlib
        pathlib.Path(__file__).with_name("IMPORTED").write_text("yes")
        from ember import nn
        class Evil(nn.Identity):
            pass
    """))
    script = textwrap.dedent(f"""
        import sys
        sys.path.insert(0, {str(tmp_path)!r})
        from ember import io
        import evil_layers
        io.save(evil_layers.Evil(), {str(tmp_path / 'e.safetensors')!r})
    """)
    subprocess.run([sys.executable, "-c", script], check=True, env={**os.environ, "PYTHONPATH": os.getcwd()})
    (tmp_path / "IMPORTED").unlink()
    sys.path.insert(0, str(tmp_path))
    try:
        with pytest.raises(ember.UntrustedModuleError, match="'evil_layers:Evil'"):
            io.load(tmp_path / "e.safetensors")
        assert not (tmp_path / "IMPORTED").exists() and "evil_layers" not in sys.modules
    finally:
        sys.path.remove(str(tmp_path))


def test_a_module_without_config_cannot_be_saved_and_says_how_to_fix_it(tmp_path):
    class Bare(nn.Module):
        def __init__(self, size):
            super().__init__()
            self.size = size

    with pytest.raises(ember.ProtocolError, match=r"Bare defines no config\(\): its constructor takes size"):
        io.save(nn.Sequential(Bare(3)), tmp_path / "m.safetensors")


def test_training_and_evaluation_modes_are_saved_and_restored(tmp_path):
    model = nn.Sequential(nn.Linear(3, 3), nn.Dropout(0.5), nn.Sequential(nn.Dropout(0.2)))
    model.evaluate()
    model[2].training()
    loaded = io.load(io.save(model, tmp_path / "m.safetensors"))
    assert [m.train for m in loaded.listModules()] == [False, False, False, True, True]


def test_wrapped_modules_are_saved_inside_their_wrapper(tmp_path):
    model = nn.Sequential(nn.Sequencer(nn.Linear(3, 2, rng=0)), nn.Sequencer(nn.Tanh()))
    loaded = io.load(io.save(model, tmp_path / "m.safetensors"))
    x = np.random.default_rng(0).normal(size=(4, 2, 3))
    np.testing.assert_array_equal(loaded.forward(x), model.forward(x))


@pytest.mark.parametrize("mask", [0o022, 0o077, 0o002])
def test_files_get_the_permissions_the_umask_gives(tmp_path, mask):
    old = os.umask(mask)
    try:
        path = io.save(nn.Linear(2, 2), tmp_path / "m.safetensors")
    finally:
        os.umask(old)
    assert stat.S_IMODE(path.stat().st_mode) == 0o666 & ~mask


def test_the_command_line_trusts_a_class_named_by_file(tmp_path):
    layers = tmp_path / "my_layers.py"
    layers.write_text(textwrap.dedent("""
        import numpy as np
        from ember import nn

        class Scale(nn.Module):
            def __init__(self, size):
                super().__init__()
                self.size = size
                self.register_parameter("scale", np.ones(size))

            def config(self):
                return {"size": self.size}

            def updateOutput(self, input):
                self.output = input * self.scale
                return self.output

            def updateGradInput(self, input, gradOutput):
                self.gradInput = gradOutput * self.scale
                return self.gradInput
    """))
    sys.path.insert(0, str(tmp_path))
    try:
        import my_layers
        model = nn.Sequential(nn.Linear(4, 3, rng=0), my_layers.Scale(3), nn.LogSoftMax())
        io.save(model, tmp_path / "m.safetensors")
    finally:
        sys.path.remove(str(tmp_path))
        sys.modules.pop("my_layers", None)
    csv = tmp_path / "rows.csv"
    csv.write_text("5.1,3.5,1.4,0.2\n6.7,3.0,5.2,2.3\n")
    env = {**os.environ, "PYTHONPATH": os.getcwd()}

    def run(*args):
        return subprocess.run([sys.executable, "-m", "ember", *args], capture_output=True, text=True, env=env)

    refused = run("predict", str(tmp_path / "m.safetensors"), str(csv))
    assert refused.returncode == 1 and "Traceback" not in refused.stderr
    assert "the file names the module class 'my_layers:Scale'" in refused.stderr
    assert "--trust FILE.py:Scale" in refused.stderr
    trusted = run("predict", str(tmp_path / "m.safetensors"), str(csv), "--trust", f"{layers}:Scale")
    assert trusted.returncode == 0, trusted.stderr
    assert len(trusted.stdout.split()) == 2
