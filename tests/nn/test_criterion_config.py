"""Criteria declare their configuration as modules do: ``config()`` rebuilds every catalog criterion, and
ember.io saves a module holding one (CriterionTable), its criterion's modules' parameters included."""

from __future__ import annotations

import copy

import numpy as np
import pytest

import ember
from ember import io, nn
from ember.check import copy_structure, flatten
from tests.nn.catalog import all_criteria
from tests.nn.catalog_criteria import BATCH

CRITERIA = all_criteria()


class Scaled(nn.Criterion):
    """A user's criterion: ``scale`` times the MSE (its argument stored under the same name)."""

    def __init__(self, scale: float = 1.0) -> None:
        super().__init__()
        self.scale = scale

    def updateOutput(self, input, target):
        self.output = float(self.scale * np.mean((input - target) ** 2))
        return self.output

    def updateGradInput(self, input, target):
        self.gradInput = self.scale * 2 * (input - target) / input.size
        return self.gradInput


def _same_config(a, b) -> bool:
    if isinstance(a, np.ndarray) or isinstance(b, np.ndarray):
        return isinstance(a, np.ndarray) and isinstance(b, np.ndarray) and np.array_equal(a, b)
    if isinstance(a, dict):
        return isinstance(b, dict) and a.keys() == b.keys() and all(_same_config(a[k], b[k]) for k in a)
    if isinstance(a, (list, tuple)):
        return len(a) == len(b) and all(_same_config(x, y) for x, y in zip(a, b))
    if isinstance(a, (nn.Criterion, nn.Module)):
        return type(a) is type(b) and repr(a) == repr(b)
    return a == b


def _loss_and_gradient(criterion, x, t):
    loss = criterion.forward(x, t)
    return loss, copy_structure(criterion.backward(x, t))


def _assert_same_criterion(twin, criterion, x, t):
    assert repr(twin) == repr(criterion) and _same_config(twin.config(), criterion.config())
    expected, got = _loss_and_gradient(criterion, x, t), _loss_and_gradient(twin, x, t)
    assert got[0] == expected[0]
    np.testing.assert_array_equal(flatten(got[1]), flatten(expected[1]))


@pytest.mark.parametrize("case", CRITERIA, ids=[c.id for c in CRITERIA])
def test_config_rebuilds_every_catalog_criterion(case):
    """``from_config(config())`` (given a copy, as a file gives new objects) computes the same loss and gradient,
    with sizeAverage set after construction too."""
    rng = np.random.default_rng(0)
    criterion = case.make()
    x = case.input(rng, BATCH)
    t = case.target(rng, x)
    _assert_same_criterion(type(criterion).from_config(copy.deepcopy(criterion.config())), criterion, x, t)
    if hasattr(criterion, "sizeAverage") and "size_average" in criterion.config():
        criterion.sizeAverage = False
        assert criterion.config()["size_average"] is False
        _assert_same_criterion(type(criterion).from_config(copy.deepcopy(criterion.config())), criterion, x, t)


@pytest.mark.parametrize("case", CRITERIA, ids=[c.id for c in CRITERIA])
def test_every_catalog_criterion_round_trips_in_a_criterion_table(case, tmp_path):
    rng = np.random.default_rng(0)
    criterion = case.make()
    x = case.input(rng, BATCH)
    t = case.target(rng, x)
    loaded = io.load(io.save(nn.CriterionTable(criterion), tmp_path / "c.safetensors"))
    assert type(loaded) is nn.CriterionTable
    _assert_same_criterion(loaded.criterion, criterion, x, t)


def test_class_weights_are_configuration_and_saved_exactly():
    w = np.random.default_rng(0).uniform(0.1, 2.0, 5)
    nll = nn.ClassNLLCriterion(w)
    np.testing.assert_array_equal(nll.config()["weights"], w)
    assert nll.config()["weights"] is not nll.weights  # a copy: changing it changes nothing
    arch = io.architecture(nn.CriterionTable(nll))
    assert arch["config"]["criterion"]["__criterion__"] == {
        "type": "ClassNLLCriterion", "config": {"weights": w.tolist(), "size_average": True}}
    np.testing.assert_array_equal(io.build(arch).criterion.weights, w)


@pytest.mark.parametrize("dtype", ["float64", "float32"])
def test_the_modules_of_a_held_module_criterion_are_saved_with_their_parameters(dtype, tmp_path):
    inner = nn.Sequential(nn.Linear(3, 4, rng=0), nn.LogSoftMax())
    table = nn.CriterionTable(nn.ModuleCriterion(nn.ClassNLLCriterion(np.array([1.0, 2.0, 0.5, 1.0])), inner))
    table.type(dtype)
    assert table.listModules()[1] is inner and inner[0].weight.dtype == np.dtype(dtype)
    assert table.criterion.criterion.weights.dtype == np.dtype(dtype)  # the class weights too
    loaded = io.load(io.save(table, tmp_path / "t.safetensors"))
    assert [p.tobytes() for p in loaded.parameters()[0]] == [p.tobytes() for p in table.parameters()[0]]
    x = np.random.default_rng(1).standard_normal((5, 3)).astype(dtype)
    labels = np.array([0, 1, 2, 3, 1])
    np.testing.assert_array_equal(loaded.forward([x, labels]), table.forward([x, labels]))
    grad = np.ones((), dtype=dtype)
    np.testing.assert_array_equal(loaded.backward([x, labels], grad)[0], table.backward([x, labels], grad)[0])


def test_a_users_criterion_is_saved_by_import_path_and_loaded_only_when_trusted(tmp_path):
    path = io.save(nn.CriterionTable(Scaled(3.0)), tmp_path / "u.safetensors")
    with pytest.raises(ember.UntrustedModuleError, match=r"criterion class 'tests.nn.test_criterion_config:Scaled'"):
        io.load(path)
    loaded = io.load(path, trusted=[Scaled])
    assert type(loaded.criterion) is Scaled and loaded.criterion.scale == 3.0


def test_a_criterion_type_where_a_module_is_expected_and_the_reverse_are_refused():
    with pytest.raises(ValueError, match="unknown module type 'MSECriterion'"):
        io.build({"type": "MSECriterion", "config": {}})
    bad = {"type": "CriterionTable", "config": {"criterion": {"__criterion__": {"type": "Linear", "config": {}}}}}
    with pytest.raises(ValueError, match="unknown criterion type 'Linear'"):
        io.build(bad)


def test_a_criterion_whose_argument_is_stored_under_another_name_must_define_config():
    class Renamed(nn.Criterion):
        def __init__(self, margin: float = 1.0) -> None:
            super().__init__()
            self.m = margin

    with pytest.raises(ember.ProtocolError, match="Renamed has no attribute margin for its constructor argument "
                                                  "margin"):
        Renamed().config()
    assert nn.L1Cost().config() == {} and nn.MSECriterion(size_average=False).config() == {"size_average": False}
