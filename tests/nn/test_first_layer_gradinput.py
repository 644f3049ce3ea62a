"""A first layer fed with data skips its input gradient when nothing asks for it: the result of
``net.backward(x, g)`` dropped (a statement), and ``net.gradInput`` not read.
"""

from __future__ import annotations

import numpy as np
import pytest

from ember import check, nn
from ember.errors import ProtocolError


def counting(module):
    """Count ``module``'s updateGradInput calls."""
    calls = []
    original = module.updateGradInput

    def updateGradInput(input, gradOutput):
        calls.append(1)
        return original(input, gradOutput)

    module.updateGradInput = updateGradInput
    return calls


@pytest.mark.parametrize("first, shape", [(lambda r: nn.Linear(6, 4, rng=r), (3, 6)),
                                          (lambda r: nn.SpatialConvolution(2, 4, 3, 3, rng=r), (3, 2, 5, 5))])
def test_a_dropped_result_skips_the_first_input_gradient_and_gradInput_computes_it_when_read(first, shape):
    rng = np.random.default_rng(0)
    net = nn.Sequential(first(rng), nn.Tanh())
    x = rng.standard_normal(shape)
    g = rng.standard_normal(net.forward(x).shape)
    wanted = net.backward(x, g).copy()  # result used: computed as always
    wanted_grads = net.getParameters()[1].copy()
    calls = counting(net.modules[0])
    net.zeroGradParameters()
    net.forward(x)
    net.backward(x, g)  # result dropped: nothing asks for dL/dx
    assert not calls
    np.testing.assert_array_equal(net.getParameters()[1], wanted_grads)
    np.testing.assert_allclose(net.gradInput, wanted, rtol=1e-14)  # asked for now: computed once
    np.testing.assert_allclose(net.gradInput, wanted, rtol=1e-14)
    assert len(calls) == 1
    used = net.backward(x, g)
    assert len(calls) == 2
    np.testing.assert_allclose(used, wanted, rtol=1e-14)


def test_torch_s_idiom_and_nested_containers_are_unchanged():
    rng = np.random.default_rng(1)
    inner = nn.Sequential(nn.Linear(3, 3, rng=rng), nn.Sigmoid())
    net = nn.Sequential(inner, nn.Linear(3, 2, rng=rng))
    x = rng.standard_normal(3)
    net.forward(x)
    grad = net.backward(x, np.ones(2))
    assert grad.shape == (3,)  # a nested Sequential's result is used by its parent
    inner.modules[0].gradInput = None  # Torch's idiom, by hand
    net.forward(x)
    assert net.backward(x, np.ones(2)) is None


def test_a_model_trained_with_dropped_results_checks_as_any_other():
    rng = np.random.default_rng(2)
    net = nn.Sequential(nn.Linear(4, 3, rng=rng), nn.Tanh(), nn.Linear(3, 2, rng=rng))
    criterion = nn.MSECriterion()
    x, y = rng.standard_normal((5, 4)), rng.standard_normal((5, 2))
    for _ in range(3):
        output = net.forward(x)
        criterion.forward(output, y)
        net.zeroGradParameters()
        net.backward(x, criterion.backward(output, y))
        net.updateParameters(0.1)
    assert check.check_model(net, criterion, x, y).ok


def test_a_wrong_gradOutput_is_refused_naming_the_module_on_the_skipping_path():
    net = nn.Sequential(nn.Linear(4, 3))
    x = np.ones(4)
    net.forward(x)
    with pytest.raises(Exception, match=r"Sequential\[0\] > Linear\(4 -> 3\): expected gradOutput of shape"):
        net.backward(x, np.ones(2))


def test_parameter_free_leaves_before_the_first_layer_are_skipped_too():
    rng = np.random.default_rng(3)
    net = nn.Sequential(nn.View(1, 4, 4, n_input_dims=1), nn.SpatialConvolution(1, 2, 3, 3, rng=rng), nn.ReLU(),
                        nn.View(-1, n_input_dims=3),
                        nn.Linear(8, 2, rng=rng))
    x = rng.standard_normal((2, 16))
    g = rng.standard_normal((2, 2))
    net.forward(x)
    wanted = net.backward(x, g).copy()
    wanted_grads = net.getParameters()[1].copy()
    calls = counting(net.modules[1])
    net.zeroGradParameters()
    net.forward(x)
    net.backward(x, g)
    assert not calls
    np.testing.assert_allclose(net.getParameters()[1], wanted_grads, rtol=1e-14)
    np.testing.assert_allclose(net.gradInput, wanted, rtol=1e-14)
    assert net.gradInput.shape == (2, 16)


@pytest.mark.parametrize("change", [lambda net, x: net.forward(x + 1), lambda net, x: net.updateParameters(0.1),
                                    lambda net, x: net.reset(0)])
def test_a_skipped_gradInput_read_after_what_it_needs_changed_is_refused_not_wrong(change):
    rng = np.random.default_rng(0)
    net = nn.Sequential(nn.Linear(6, 4, rng=rng), nn.Tanh())
    x = rng.standard_normal((3, 6))
    g = rng.standard_normal(net.forward(x).shape)
    net.backward(x, g)  # result dropped: the first layer's input gradient is skipped
    change(net, x)
    with pytest.raises(ProtocolError, match=r"gradInput was not computed by the last backward .* since"):
        _ = net.gradInput


def test_a_new_backward_after_the_change_gives_gradInput_again():
    rng = np.random.default_rng(0)
    net = nn.Sequential(nn.Linear(6, 4, rng=rng), nn.Tanh())
    x = rng.standard_normal((3, 6))
    g = rng.standard_normal(net.forward(x).shape)
    net.backward(x, g)
    net.updateParameters(0.1)
    net.forward(x)
    wanted = net.clone().backward(x, g)
    net.backward(x, g)
    np.testing.assert_allclose(net.gradInput, wanted, rtol=1e-15)
