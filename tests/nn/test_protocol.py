"""The module protocol as a declared contract: register_parameter / register_buffer, config(),
one reset(rng=None, *, stdv=None), the ember exception types, and the student-mistake errors."""

from __future__ import annotations

import copy

import numpy as np
import pytest

import ember
from ember import nn, optim
from ember.random import get_rng
from tests.nn.catalog import all_cases

CASES = all_cases()


class Scale(nn.Module):
    """y = x ⊙ scale, with a parameter not named weight or bias, and a buffer."""

    def __init__(self, size: int) -> None:
        super().__init__()
        self.size = size
        self.register_parameter("scale", np.ones(size))
        self.register_buffer("calls", np.zeros(1))

    def config(self):
        return {"size": self.size}

    def reset(self, rng=None, *, stdv=None):
        stdv = 1.0 if stdv is None else stdv
        self.scale[...] = get_rng(rng).uniform(-stdv, stdv, self.size)
        return self

    def updateOutput(self, input):
        self.calls += 1
        self.output = input * self.scale
        return self.output

    def updateGradInput(self, input, gradOutput):
        self.gradInput = gradOutput * self.scale
        return self.gradInput

    def accGradParameters(self, input, gradOutput, scale=1.0):
        self.gradScale += scale * (gradOutput * input).reshape(-1, self.size).sum(axis=0)


def test_register_parameter_makes_the_parameter_and_its_gradient():
    m = Scale(3)
    assert m.declared_parameters() == {"scale": "gradScale"} and m.declared_buffers() == ("calls",)
    np.testing.assert_array_equal(m.gradScale, np.zeros(3))
    params, grads = m.parameters()
    assert params[0] is m.scale and grads[0] is m.gradScale


def test_a_declared_parameter_under_any_name_is_trained_zeroed_converted_flattened_and_cloned():
    m = Scale(3)
    x, g = np.array([1.0, 2.0, 3.0]), np.array([1.0, 1.0, 1.0])
    m.forward(x)
    m.backward(x, g)
    np.testing.assert_array_equal(m.gradScale, x)
    m.updateParameters(0.5)
    np.testing.assert_array_equal(m.scale, 1 - 0.5 * x)
    m.zeroGradParameters()
    np.testing.assert_array_equal(m.gradScale, 0)
    flat, flat_grad = m.getParameters()
    assert flat.size == 3 and np.shares_memory(flat, m.scale) and np.shares_memory(flat_grad, m.gradScale)
    twin = m.clone("scale", "gradScale")
    assert twin.scale is m.scale
    m.float()
    assert m.scale.dtype == m.gradScale.dtype == m.calls.dtype == np.float32
    assert m.forward(x.astype(np.float32)).dtype == np.float32


def test_optimizer_trains_a_declared_parameter():
    m = Scale(2)
    m.scale[...] = [0.0, 0.0]
    x, target = np.array([[1.0, 2.0]]), np.array([[3.0, -1.0]])
    crit = nn.MSECriterion()
    params, grads = m.getParameters()

    def feval(p):
        m.zeroGradParameters()
        loss = crit.forward(m.forward(x), target)
        m.backward(x, crit.backward(m.output, target))
        return loss, grads

    state = {"learning_rate": 0.1}
    for _ in range(200):
        optim.sgd(feval, params, state)
    np.testing.assert_allclose(m.scale, [3.0, -0.5], atol=1e-6)


def test_register_rejects_names_and_values_that_cannot_be_parameters():
    m = nn.Module()
    with pytest.raises(ember.ProtocolError, match=r"Module.register_parameter\('w', \.\.\.\): expected a "
                                                 r"floating-point NumPy array \(or None\), got list"):
        m.register_parameter("w", [1.0, 2.0])
    with pytest.raises(ember.ProtocolError, match="got dtype int64"):
        m.register_buffer("count", np.zeros(2, dtype=np.int64))
    with pytest.raises(ember.ProtocolError, match="the name must be an identifier, got 'a b'"):
        m.register_parameter("a b", np.zeros(2))


def test_an_absent_parameter_is_declared_as_none_and_skipped():
    m = nn.Linear(3, 2, bias=False)
    assert m.declared_parameters() == {"weight": "gradWeight", "bias": "gradBias"}
    assert m.bias is None and m.gradBias is None and len(m.parameters()[0]) == 1


def test_buffers_are_converted_and_kept_by_clear_state():
    bn = nn.BatchNormalization(3)
    bn.forward(np.random.default_rng(0).normal(size=(5, 3)))
    running = bn.running_mean.copy()
    bn.clearState()
    np.testing.assert_array_equal(bn.running_mean, running)
    bn.float()
    assert bn.running_mean.dtype == bn.running_var.dtype == np.float32


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_config_rebuilds_every_catalog_module(case):
    module = case.make(np.random.default_rng(0))
    twin = type(module).from_config(module.config())
    if isinstance(module, nn.Container):  # a container's children are not configuration
        for child in module.modules:
            twin.add(child.clone())
    assert repr(twin) == repr(module) and twin.config() == module.config()
    assert [p.shape for p in twin.parameters()[0]] == [p.shape for p in module.parameters()[0]]


def test_setters_change_what_config_reports():
    pool = nn.SpatialMaxPooling(3, 3, 2, 2).ceil()
    assert pool.config()["ceil_mode"] is True
    assert type(pool).from_config(pool.config()).ceil_mode is True
    view = nn.View(-1).setNumInputDims(3)
    assert view.config() == {"sizes": (-1,), "n_input_dims": 3}
    assert nn.View.from_config(view.config()).forward(np.zeros((2, 3, 4, 5))).shape == (2, 60)
    avg = nn.SpatialAveragePooling(2, 2).setCountExcludePad()
    assert nn.SpatialAveragePooling.from_config(avg.config()).count_include_pad is False


def test_a_module_whose_constructor_needs_arguments_must_define_config():
    class NoConfig(nn.Module):
        def __init__(self, size):
            super().__init__()
            self.size = size

    with pytest.raises(ember.ProtocolError, match=r"NoConfig defines no config\(\): its constructor takes size, "
                                                 r"so define config\(\) returning them, e.g. def config\(self\): "
                                                 r"return \{'size': self.size\}"):
        NoConfig(3).config()
    assert nn.Tanh().config() == {}


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_reset_takes_an_int_or_a_generator_reproducibly(case):
    module = case.make(np.random.default_rng(0))
    assert module.reset(7) is module
    first = [p.copy() for p in module.parameters()[0]]
    module.reset(np.random.default_rng(7))
    for before, after in zip(first, module.parameters()[0]):
        np.testing.assert_array_equal(before, after)
    module.reset()
    module.reset(rng=None, stdv=0.1)


def test_containers_pass_rng_through_and_reset_a_whole_model():
    def model():
        return nn.Sequential(nn.Linear(4, 5), nn.Tanh(), nn.Concat(0, nn.Linear(5, 2), nn.Linear(5, 2)))

    a, b = model().reset(0), model().reset(np.random.default_rng(0))
    for p, q in zip(a.parameters()[0], b.parameters()[0]):
        np.testing.assert_array_equal(p, q)
    # one generator for the whole tree: the two same-shaped children get different draws
    assert not np.array_equal(a[2][0].weight, a[2][1].weight)
    a.reset(0, stdv=0.01)
    assert np.abs(a[0].weight).max() <= 0.01


def test_get_rng_accepts_an_int_a_generator_or_none():
    generator = np.random.default_rng(1)
    assert get_rng(generator) is generator and isinstance(get_rng(None), np.random.Generator)
    assert get_rng(3).random() == np.random.default_rng(3).random()
    with pytest.raises(TypeError, match="expected rng as an int seed, a numpy.random.Generator or None, got str"):
        get_rng("3")


def test_the_exception_hierarchy():
    assert issubclass(ember.InputError, ValueError) and issubclass(ember.InputError, ember.EmberError)
    assert issubclass(ember.InputTypeError, TypeError) and issubclass(ember.InputTypeError, ember.InputError)
    assert issubclass(ember.InputIndexError, IndexError) and issubclass(ember.InputIndexError, ember.InputError)
    assert issubclass(ember.ProtocolError, TypeError) and issubclass(ember.UntrustedModuleError, ember.ModelFileError)
    with pytest.raises(ember.InputError, match=r"^Linear\(4 -> 2\): expected input of shape \(4,\) or \(batch, 4\)"):
        nn.Linear(4, 2).forward(np.ones(5))
    with pytest.raises(ember.InputTypeError, match="Tanh: expected a NumPy array, got list"):
        nn.Tanh().forward([1.0])
    with pytest.raises(ember.InputIndexError, match=r"LookupTable\(3 -> 2\): index 5 out of range"):
        nn.LookupTable(3, 2).forward(np.array([5]))
    with pytest.raises(ember.InputError, match="MSECriterion: "):
        nn.MSECriterion().forward(np.ones(3), np.ones(4))
    with pytest.raises(ember.InputTypeError, match="ClassNLLCriterion: "):
        nn.ClassNLLCriterion().forward([0.0], 1)


CHECKED = [c for c in CASES if not c.id.startswith(("Identity", "Constant"))]  # these accept anything


@pytest.mark.parametrize("case", CHECKED, ids=[c.id for c in CHECKED])
def test_every_module_rejects_a_wrong_input_with_an_ember_error(case):
    module = case.make(np.random.default_rng(0))
    with pytest.raises(ember.InputError):
        module.forward("not an array")


def test_deep_copies_keep_declarations():
    m = Scale(2)
    twin = copy.deepcopy(m)
    assert twin.declared_parameters() == {"scale": "gradScale"} and twin.scale is not m.scale


def test_torch_convention_weight_and_bias_attributes_are_parameters_when_nothing_is_registered():
    class TorchStyle(nn.Module):  # as a Torch tutorial writes it: no register_parameter
        def __init__(self):
            super().__init__()
            self.weight, self.gradWeight = np.ones(2), np.zeros(2)

    m = TorchStyle()
    assert m.declared_parameters() == {"weight": "gradWeight"}
    assert m.parameters()[0][0] is m.weight
    m.float()
    assert m.weight.dtype == m.gradWeight.dtype == np.float32


# -- the errors students meet ----------------------------------------------------------------------


class ReQU(nn.Module):
    """y = max(x, 0)², written as a student would; subclasses plant one mistake each."""

    def updateOutput(self, input):
        self.output = np.maximum(input, 0) ** 2
        return self.output

    def updateGradInput(self, input, gradOutput):
        self.gradInput = 2 * np.maximum(input, 0) * gradOutput
        return self.gradInput


def test_update_output_returning_none():
    class NoReturn(ReQU):
        def updateOutput(self, input):
            self.output = np.maximum(input, 0) ** 2

    with pytest.raises(ember.ProtocolError, match=r"^NoReturn.updateOutput returned None: it must set and return "
                                                 r"self.output$"):
        NoReturn().forward(np.ones(3))


def test_update_output_not_setting_self_output():
    class NotSet(ReQU):
        def updateOutput(self, input):
            return np.maximum(input, 0) ** 2

    with pytest.raises(ember.ProtocolError, match=r"^NotSet.updateOutput returned a ndarray that is not "
                                                 r"self.output: it must set self.output and return it$"):
        NotSet().forward(np.ones(3))


def test_update_grad_input_returning_none_or_the_wrong_shape():
    class NoGrad(ReQU):
        def updateGradInput(self, input, gradOutput):
            self.gradInput = 2 * np.maximum(input, 0) * gradOutput

    class WrongShape(ReQU):
        def updateGradInput(self, input, gradOutput):
            self.gradInput = (2 * np.maximum(input, 0) * gradOutput).sum(axis=0)
            return self.gradInput

    x = np.ones((2, 3))
    module = NoGrad()
    module.forward(x)
    with pytest.raises(ember.ProtocolError, match=r"^NoGrad.updateGradInput returned None: it must set and return "
                                                 r"self.gradInput$"):
        module.backward(x, np.ones((2, 3)))
    module = WrongShape()
    module.forward(x)
    with pytest.raises(ember.ProtocolError, match=r"^WrongShape.updateGradInput returned an array of shape \(3,\): "
                                                 r"gradInput must have the input's shape \(2, 3\)$"):
        module.backward(x, np.ones((2, 3)))


def test_backward_before_forward_or_with_another_input_shape():
    with pytest.raises(ember.ProtocolError, match=r"^ReQU: backward called before forward: call forward\(input\) "
                                                 r"first, then backward with the same input$"):
        ReQU().backward(np.ones(3), np.ones(3))
    module = ReQU()
    module.forward(np.ones(3))
    with pytest.raises(ember.ProtocolError, match=r"^ReQU: backward got an input of shape \(4,\), but the last "
                                                 r"forward was given \(3,\): call backward with the input forward "
                                                 r"was given$"):
        module.backward(np.ones(4), np.ones(3))


def test_an_error_inside_containers_names_where_the_module_sits():
    model = nn.Sequential(nn.Linear(3, 5), nn.Tanh(), nn.Concat(1, nn.Linear(5, 2), nn.Linear(4, 2)))
    with pytest.raises(ember.InputError, match=r"^Sequential\[2\] > Concat\[1\] > Linear\(4 -> 2\): expected input "
                                              r"of shape \(4,\) or \(batch, 4\), got \(7, 5\)$"):
        model.forward(np.ones((7, 3)))
    table = nn.Sequential(nn.ParallelTable(nn.Tanh(), nn.Linear(2, 2)), nn.CAddTable())
    with pytest.raises(ember.InputError, match=r"^Sequential\[0\] > ParallelTable\[1\] > Linear\(2 -> 2\): "):
        table.forward([np.ones(2), np.ones(3)])
    with pytest.raises(ember.InputError, match=r"^Sequential\[0\] > ConcatTable\[0\] > Linear\(2 -> 2\): "):
        nn.Sequential(nn.ConcatTable(nn.Linear(2, 2))).forward(np.ones(3))


def test_other_exceptions_inside_containers_get_a_note_naming_the_place():
    class Broken(ReQU):
        def updateOutput(self, input):
            raise RuntimeError("my bug")

    with pytest.raises(RuntimeError, match="my bug") as info:
        nn.Sequential(nn.Tanh(), Broken()).forward(np.ones(2))
    assert info.value.__notes__ == ["raised in Sequential[1]: Broken"]


def test_check_module_warns_about_an_undeclared_float_array_and_stays_ok():
    class Undeclared(ReQU):
        def __init__(self):
            super().__init__()
            self.scale = np.ones(3)  # not registered: not a parameter

    report = ember.check.check_module(Undeclared(), np.random.default_rng(0).uniform(0.5, 1, (2, 3)))
    assert report.ok
    assert report.warnings == ["Undeclared.scale is a floating-point array that is neither a declared parameter, "
                               "a gradient nor a buffer: it will not be trained, saved or converted (declare it "
                               "with register_parameter or register_buffer)"]
    assert "\n  WARN Undeclared.scale is a floating-point array" in str(report)
    assert ember.check.check_module(Scale(3), np.ones((2, 3))).warnings == []


@pytest.mark.parametrize("mode", ["full", "fast"])
def test_check_model_works_when_the_first_layer_skips_its_input_gradient(mode):
    model = nn.Sequential(nn.Linear(4, 3, rng=0), nn.Tanh(), nn.Linear(3, 2, rng=1), nn.LogSoftMax())
    model.get(0).gradInput = None  # the README's speed idiom
    x, y = np.random.default_rng(0).normal(size=(5, 4)), np.array([0, 1, 1, 0, 1])
    options = {"mode": "fast", "budget": 0} if mode == "fast" else {}
    report = ember.check.check_model(model, nn.ClassNLLCriterion(), x, y, **options)
    assert report.ok and report.input_error is None
