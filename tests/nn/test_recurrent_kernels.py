"""The compiled recurrent steps (ember/nn/recurrent_kernels.py, numba) against the NumPy steps: outputs, input and
state gradients and every parameter gradient, float64 to 1e-12 and float32 to float32 rounding, with and without
given states, masks, single sequences and truncated BPTT. (Conformance with PyTorch is tests/nn/test_recurrent.py's,
run on the default, compiled path.)"""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest

from ember import nn
from ember.nn import recurrent

pytest.importorskip("numba", reason="the compiled recurrent steps need numba: pip install 'ember[fast]'")

T, N, F, H = 9, 4, 5, 6
LAYERS = {"LSTM": lambda: nn.LSTM(F, H, rng=1), "RNN-tanh": lambda: nn.RNN(F, H, rng=1),
          "RNN-relu": lambda: nn.RNN(F, H, "relu", rng=1), "GRU": lambda: nn.GRU(F, H, rng=1)}
TOLERANCE = {np.float64: 1e-12, np.float32: 2e-6}


def _run(module, x, grad_out, compiled, mask=False):
    """Output, gradInput (arrays flattened) and parameter gradients of one forward/backward."""
    module.compiled = compiled
    module.zeroGradParameters()
    layer = nn.MaskZero(module) if mask else module
    out = layer.forward(x).copy()
    grad_in = layer.backward(x, grad_out)
    grad_in = [g.copy() for g in grad_in] if isinstance(grad_in, list) else [grad_in.copy()]
    return [out] + grad_in + [g.copy() for g in module.parameters()[1]]


def _inputs(dtype, single=False, states=0, zeros=False):
    rng = np.random.default_rng(5)
    shape = (T, F) if single else (T, N, F)
    x = rng.standard_normal(shape).astype(dtype)
    if zeros:  # padded steps for MaskZero
        x[-3:, 1] = 0
        x[:2, 2] = 0
    grad_out = rng.standard_normal(shape[:-1] + (H,)).astype(dtype)
    if states:
        x = [x] + [rng.standard_normal(shape[1:-1] + (H,)).astype(dtype) for _ in range(states)]
    return x, grad_out


def _assert_same(compiled, numpy, dtype):
    assert len(compiled) == len(numpy)
    for a, b in zip(compiled, numpy):
        scale = float(np.max(np.abs(b))) or 1.0
        np.testing.assert_allclose(a, b, rtol=TOLERANCE[dtype], atol=TOLERANCE[dtype] * scale)


@pytest.mark.parametrize("dtype", [np.float64, np.float32], ids=["float64", "float32"])
@pytest.mark.parametrize("name", list(LAYERS))
@pytest.mark.parametrize("form", ["batch", "single", "states", "mask"])
def test_compiled_steps_equal_numpy_steps(name, form, dtype):
    module = LAYERS[name]()
    if dtype == np.float32:
        module.float()
    n_states = 2 if name == "LSTM" else 1
    x, grad_out = _inputs(dtype, single=form == "single", states=n_states if form == "states" else 0,
                          zeros=form == "mask")
    numpy = _run(module, x, grad_out, compiled=False, mask=form == "mask")
    compiled = _run(module, x, grad_out, compiled=True, mask=form == "mask")
    _assert_same(compiled, numpy, dtype)


@pytest.mark.parametrize("name", ["LSTM", "RNN-tanh"])
def test_compiled_steps_with_truncated_bptt_and_initial_states(name):
    results = []
    for compiled in (False, True):
        module = LAYERS[name]().remember()
        module.h0 = np.linspace(-1, 1, H)
        if name == "LSTM":
            module.c0 = np.linspace(1, -1, H)
        runs = []
        for chunk in range(3):
            x, grad_out = _inputs(np.float64)
            runs += _run(module, x + chunk, grad_out, compiled)
        results.append(runs)
    _assert_same(results[1], results[0], np.float64)


def test_compiled_is_used_by_default_and_can_be_switched_off(monkeypatch):
    x, _ = _inputs(np.float64)
    lstm = LAYERS["LSTM"]()
    lstm.forward(x)
    assert lstm._bias is not None  # the compiled forward ran (its bias is added step by step)
    lstm.compiled = False
    lstm.forward(x)
    assert lstm._bias is None
    monkeypatch.setattr(nn.LSTM, "compiled", False)
    fresh = LAYERS["LSTM"]()
    fresh.forward(x)
    assert fresh._bias is None


def test_compiled_true_without_numba_names_the_install(monkeypatch):
    monkeypatch.setattr(recurrent, "_kernels", False)  # as if numba failed to import
    lstm = LAYERS["LSTM"]()
    x, _ = _inputs(np.float64)
    lstm.forward(x)  # default: NumPy's steps
    lstm.compiled = True
    with pytest.raises(ImportError, match=r"pip install 'ember\[fast\]'"):
        lstm.forward(x)


def test_import_ember_does_not_import_numba():
    code = "import sys, ember, ember.nn; assert 'numba' not in sys.modules, 'numba imported'"
    subprocess.run([sys.executable, "-c", code], check=True)
