"""ember.io for modules that hold modules outside Container: graphs (gModule) and the recurrent wrappers
(Recurrence, Sequencer, MaskZero), every catalog module saved and loaded, the char-LSTM of the workflow."""

from __future__ import annotations

import json

import numpy as np
import pytest
from safetensors import safe_open

import ember
from ember import io, models, nn, optim
from ember.check import copy_structure, flatten, leaves
from tests.nn.catalog import all_cases
from tests.nn.catalog_recurrent import F, H, T, _lstm_cell_graph

CASES = all_cases()


def _nested_like(structure, values):
    """``structure``'s (nested) table shape filled with the next arrays of ``values`` (a nested output's
    gradOutput is nested alike)."""
    return [_nested_like(item, values) for item in structure] if isinstance(structure, list) else next(values)


def _backprop(module, x, seed=1):
    """Output, gradInput and parameter gradients after one forward/backward with a fixed gradOutput."""
    out = copy_structure(module.forward(x))
    rng = np.random.default_rng(seed)
    grad_out = [rng.standard_normal(leaf.shape) for leaf in leaves(out)]
    module.zeroGradParameters()
    grad_in = module.backward(x, _nested_like(out, iter(grad_out)))
    grad_in = None if grad_in is None else copy_structure(grad_in)
    return out, grad_in, [g.copy() for g in module.parameters()[1]]


def _assert_same_module(loaded, module, x):
    assert repr(loaded) == repr(module)
    assert [p.tobytes() for p in loaded.parameters()[0]] == [p.tobytes() for p in module.parameters()[0]]
    expected, got = _backprop(module, x), _backprop(loaded, x)
    np.testing.assert_array_equal(flatten(got[0]), flatten(expected[0]))
    if expected[1] is not None and not (isinstance(expected[1], list) and not expected[1]):
        np.testing.assert_array_equal(flatten(got[1]), flatten(expected[1]))
    for a, b in zip(got[2], expected[2], strict=True):
        np.testing.assert_array_equal(a, b)


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_every_catalog_module_round_trips(case, tmp_path):
    rng = np.random.default_rng(0)
    module = case.make(rng)
    x = (case.batch or case.single)(rng)
    module.evaluate()  # the same arithmetic twice (no dropout noise); the mode itself is saved
    loaded = io.load(io.save(module, tmp_path / "m.safetensors"))
    assert [m.train for m in loaded.listModules()] == [m.train for m in module.listModules()]
    if hasattr(module, "setRandomSamples"):  # fractional pooling: its regions are random draws, not saved state
        module.forward(x)
        loaded.setRandomSamples(module.randomSamples)
    _assert_same_module(loaded, module, x)


def _graph():
    x, y = nn.Identity()(), nn.Identity()()
    shared = nn.Linear(4, 3)
    a = nn.Tanh()(shared(x)).annotate("a")
    b = shared.clone("weight", "bias", "gradWeight", "gradBias")(y)
    joined = nn.JoinTable(1)([a, b])
    first, second = nn.SplitTable(1)(nn.View(2, 3, n_input_dims=1)(joined)).split(2)
    return nn.gModule([x, y], [nn.CAddTable()([first, second]), a])


def test_a_graph_keeps_its_nodes_numbering_names_and_shared_parameters(tmp_path):
    g = _graph()
    loaded = io.load(io.save(g, tmp_path / "g.safetensors"))
    assert repr(loaded) == repr(g) and loaded.config()["nodes"][3]["name"] == "a"
    assert [n.where for n in loaded.nodes] == [n.where for n in g.nodes]
    shared = [m for m in loaded.modules if isinstance(m, nn.Linear)]
    assert shared[0].weight is shared[1].weight and shared[0].gradWeight is shared[1].gradWeight
    x = [np.random.default_rng(0).standard_normal((5, 4)) for _ in range(2)]
    _assert_same_module(loaded, g, x)
    assert len(loaded.parameters()[0]) == 2  # shared: one weight, one bias


def test_a_file_with_a_graph_whose_node_takes_a_later_node_is_refused(tmp_path):
    path = io.save(_graph(), tmp_path / "g.safetensors")
    with safe_open(str(path), framework="np") as opened:
        metadata = opened.metadata()
        tensors = {name: opened.get_tensor(name) for name in opened.keys()}
    architecture = json.loads(metadata["architecture"])
    architecture["config"]["nodes"][1]["inputs"] = [4]
    metadata["architecture"] = json.dumps(architecture)
    metadata["sha256"] = io._checksum(tensors, metadata)
    io._write_atomic(path, tensors, metadata)
    with pytest.raises(ember.ModelFileError, match=r"node 1's parents \[4\] must be earlier nodes"):
        io.load(path)


@pytest.mark.parametrize("make", [lambda: nn.RNN(F, H), lambda: nn.RNN(F, H, "relu"), lambda: nn.LSTM(F, H),
                                  lambda: nn.GRU(F, H)], ids=["RNN", "RNN(relu)", "LSTM", "GRU"])
@pytest.mark.parametrize("dtype", ["float64", "float32"])
def test_a_recurrent_layer_alone_round_trips_with_its_initial_state(make, dtype, tmp_path):
    layer = make().type(dtype)
    rng = np.random.default_rng(0)
    x = rng.standard_normal((T, 2, F)).astype(dtype)
    assert io.load(io.save(layer, tmp_path / "plain.safetensors")).h0 is None
    layer.h0 = rng.standard_normal((2, H)).astype(dtype)
    if isinstance(layer, nn.LSTM):
        layer.c0 = rng.standard_normal(H).astype(dtype)
    loaded = io.load(io.save(layer, tmp_path / "m.safetensors"))
    np.testing.assert_array_equal(loaded.h0, layer.h0)
    if isinstance(layer, nn.LSTM):
        np.testing.assert_array_equal(loaded.c0, layer.c0)
    assert loaded.weight_ih.dtype == np.dtype(dtype)
    _assert_same_module(loaded, layer, x)


@pytest.mark.parametrize("dtype", ["float64", "float32"])
def test_a_recurrence_round_trips_with_all_its_initial_states(dtype, tmp_path):
    rng = np.random.default_rng(1)
    model = nn.Recurrence(_lstm_cell_graph(rng), F, H, 2).type(dtype)
    x = rng.standard_normal((T, 2, F)).astype(dtype)
    assert list(io.load(io.save(model, tmp_path / "plain.safetensors")).initial) == [None, None]
    model.initial = [rng.standard_normal((2, H)).astype(dtype), None]
    model.initial[1] = rng.standard_normal(H).astype(dtype)  # the cell state, after the first
    loaded = io.load(io.save(model, tmp_path / "m.safetensors"))
    for k in range(2):
        np.testing.assert_array_equal(loaded.initial[k], model.initial[k])
        assert loaded.initial[k].dtype == np.dtype(dtype)
    np.testing.assert_array_equal(loaded.initial[-1], model.s1_0)
    _assert_same_module(loaded, model, x)
    zero = nn.Recurrence(_lstm_cell_graph(np.random.default_rng(1)), F, H, 2).type(dtype)
    assert not np.allclose(zero.forward(x), model.forward(x))  # the states matter


def test_a_recurrence_shares_its_parameters_across_time_steps_after_loading(tmp_path):
    rng = np.random.default_rng(0)
    model = nn.Recurrence(_lstm_cell_graph(rng), F, H, 2)
    x = rng.standard_normal((T, 2, F))
    loaded = io.load(io.save(model, tmp_path / "m.safetensors"))
    for net in (model, loaded):  # one SGD step through the flat parameters: every time step's clone follows
        params, grads = net.getParameters()
        _backprop(net, x)
        params -= 0.1 * grads
    _assert_same_module(loaded, model, x)
    linears = [[m for m in c.listModules() if isinstance(m, nn.Linear)] for c in loaded._clones]
    assert len(linears) == T and all(a.weight is b.weight and a.gradWeight is b.gradWeight
                                     for clone in linears[1:] for a, b in zip(clone, linears[0], strict=True))
    assert len(loaded.parameters()[0]) == len(model.parameters()[0]) == 4


def test_the_char_lstm_saves_and_loads_in_the_middle_of_a_sequence(tmp_path):
    model = models.char_lstm(11, 8)
    criterion = nn.SequencerCriterion(nn.CrossEntropyCriterion(), size_average=True)
    rng = np.random.default_rng(0)
    x, y = rng.integers(0, 11, (2, 6, 3)), rng.integers(0, 11, (2, 6, 3))
    params, grads = model.getParameters()
    state = {"learning_rate": 0.01}
    lstm = model.findModules(nn.LSTM)[0].remember()

    def feval(_):
        grads.fill(0)
        output = model.forward(x[0])
        loss = criterion.forward(output, y[0])
        model.backward(x[0], criterion.backward(output, y[0]))
        optim.clip_grad_norm(grads, 1.0)
        return loss, grads

    optim.adam(feval, params, state)
    path = io.save_checkpoint(tmp_path / "c.safetensors", model, state, 1, {}, None)
    saved = io.load_checkpoint(path)
    loaded = saved.model
    assert saved.optimizer_state["t"] == state["t"]
    np.testing.assert_array_equal(saved.optimizer_state["m"], state["m"])
    loaded_lstm = loaded.findModules(nn.LSTM)[0]
    loaded_lstm.h0, loaded_lstm.c0 = lstm.hidden.copy(), lstm.cell.copy()  # continue the streams
    lstm.forget()
    lstm.h0, lstm.c0 = loaded_lstm.h0, loaded_lstm.c0
    np.testing.assert_array_equal(loaded.forward(x[1]), model.forward(x[1]))
    assert str(loaded) == str(model)


def test_one_module_at_two_places_loads_as_one_module(tmp_path):
    pool = nn.SpatialMaxPooling(2, 2)
    model = nn.Sequential(nn.Linear(4, 4), nn.Tanh(), nn.View(1, 2, 2), pool, nn.SpatialMaxUnpooling(pool))
    path = io.save(model, tmp_path / "m.safetensors")
    loaded = io.load(path)
    assert loaded[4].pooling is loaded[3]
    x = np.random.default_rng(0).standard_normal((3, 4))
    np.testing.assert_array_equal(loaded.forward(x), model.forward(x))
    with safe_open(str(path), framework="np") as opened:
        description = json.loads(opened.metadata()["architecture"])
    assert description["modules"][4]["config"] == {"pooling": {"__module__": {"__ref__": 4}}}


def test_a_file_with_one_module_twice_in_a_container_is_refused():
    """A container refuses one instance at two places (its buffers would give wrong gradients): so does a file."""
    description = {"type": "Sequential", "config": {}, "modules": [
        {"type": "Linear", "config": {"n_in": 4, "n_out": 4}}, {"type": "Tanh", "config": {}}, {"__ref__": 1}]}
    with pytest.raises(ValueError, match=r"model: cannot build Sequential.*cannot add Linear\(4 -> 4\): that instance "
                                         r"is already in this container|that instance is already in this container"):
        io.build(description)


@pytest.mark.parametrize("ref", [7, 0, "1"])
def test_a_reference_to_a_module_not_described_before_it_is_refused(ref):
    description = {"type": "Sequential", "config": {}, "modules": [
        {"type": "Linear", "config": {"n_in": 2, "n_out": 2}}, {"__ref__": ref}]}
    with pytest.raises(ValueError, match=rf"model.modules\[1\]: a reference to module {ref!r}, which is not"):
        io.build(description)
