"""The module protocol: accumulation, flat parameters, sharing, cloning, modes, types, state."""

from __future__ import annotations

import numpy as np
import pytest

from ember import manual_seed, nn


def mlp(seed=0):
    rng = np.random.default_rng(seed)
    return nn.Sequential(nn.Linear(4, 3, rng=rng), nn.Sigmoid(), nn.Linear(3, 2, rng=rng))


def test_backward_accumulates_and_honours_scale():
    net = mlp()
    x, g = np.ones(4), np.array([1.0, -2.0])
    net.zeroGradParameters()
    net.forward(x)
    net.backward(x, g)
    once = [grad.copy() for grad in net.parameters()[1]]
    net.backward(x, g, scale=0.5)
    for grad, first in zip(net.parameters()[1], once):
        np.testing.assert_allclose(grad, 1.5 * first)
    net.zeroGradParameters()
    assert all(not grad.any() for grad in net.parameters()[1])


def test_get_parameters_returns_views_of_every_parameter():
    net = mlp()
    params, grads = net.getParameters()
    assert params.shape == grads.shape == (4 * 3 + 3 + 3 * 2 + 2,)
    params[:] = np.arange(params.size)
    np.testing.assert_array_equal(net.get(0).weight.ravel(), np.arange(12))
    np.testing.assert_array_equal(net.get(2).bias, [21, 22])
    net.forward(np.ones(4))
    net.zeroGradParameters()
    net.backward(np.ones(4), np.ones(2))
    assert grads.any()
    np.testing.assert_array_equal(grads[:12], net.get(0).gradWeight.ravel())


def test_get_parameters_again_keeps_values_and_views():
    net = mlp()
    before = np.concatenate([p.ravel() for p in net.parameters()[0]])
    net.getParameters()
    params, _ = net.getParameters()
    np.testing.assert_array_equal(params, before)
    params[0] = 42.0
    assert net.get(0).weight[0, 0] == 42.0


def test_shared_parameters_take_one_slot_and_accumulate_together():
    first = nn.Linear(3, 3, rng=np.random.default_rng(0))
    second = first.clone("weight", "bias", "gradWeight", "gradBias")
    net = nn.Sequential(first, nn.Sigmoid(), second)
    params, grads = net.getParameters()
    assert params.size == 12
    assert np.shares_memory(first.weight, second.weight)
    x = np.array([0.1, -0.2, 0.3])
    net.forward(x)
    net.zeroGradParameters()
    net.backward(x, np.ones(3))
    expected = np.outer(net.get(2).gradInput * 0 + 1, net.get(1).output) + np.outer(net.get(1).gradInput, x)
    np.testing.assert_allclose(first.gradWeight, expected)


def test_parameters_shared_only_by_value_slot_still_gets_both_gradients():
    a = nn.Linear(2, 2, rng=np.random.default_rng(0))
    b = nn.Linear(2, 2, rng=np.random.default_rng(1)).share(a, "weight", "bias")
    net = nn.ConcatTable(a, b)
    params, grads = net.getParameters()
    assert params.size == 6
    x = np.array([1.0, 2.0])
    net.forward(x)
    net.zeroGradParameters()
    net.backward(x, [np.array([1.0, 0.0]), np.array([0.0, 1.0])])
    np.testing.assert_allclose(a.gradWeight, [[1.0, 2.0], [1.0, 2.0]])


def test_clone_is_independent_and_share_links_arrays():
    net = mlp()
    twin = net.clone()
    twin.get(0).weight[...] = 0
    assert net.get(0).weight.any()
    linked = net.clone("weight", "bias")
    assert linked.get(0).weight is net.get(0).weight
    assert linked.get(0).gradWeight is not net.get(0).gradWeight


def test_share_rejects_different_trees():
    with pytest.raises(ValueError, match="module trees differ"):
        mlp().share(nn.Linear(4, 3), "weight")


def test_update_parameters_steps_against_the_gradient():
    net = mlp()
    x = np.ones(4)
    net.forward(x)
    net.zeroGradParameters()
    net.backward(x, np.ones(2))
    before = [p.copy() for p in net.parameters()[0]]
    net.updateParameters(0.1)
    for p, g, old in zip(*net.parameters(), before):
        np.testing.assert_allclose(p, old - 0.1 * g)


def test_update_parameters_applies_a_shared_parameter_once():
    a = nn.Linear(2, 2)
    b = a.clone("weight", "bias", "gradWeight", "gradBias")
    net = nn.Sequential(a, b)
    a.gradWeight[...] = 1.0
    before = a.weight.copy()
    net.updateParameters(1.0)
    np.testing.assert_allclose(a.weight, before - 1.0)


def test_training_and_evaluate_reach_every_module():
    net = mlp()
    net.evaluate()
    assert not any(m.train for m in net.listModules())
    net.training()
    assert all(m.train for m in net.listModules())


def test_type_converts_parameters_and_computes_in_that_type():
    net = mlp().float()
    assert all(p.dtype == np.float32 for p in net.parameters()[0] + net.parameters()[1])
    out = net.forward(np.ones(4, dtype=np.float32))
    assert out.dtype == np.float32
    assert net.double().forward(np.ones(4)).dtype == np.float64


def test_float64_input_to_float32_model_names_the_module():
    with pytest.raises(TypeError, match=r"Linear\(4 -> 3\): expected input of dtype float32"):
        mlp().float().forward(np.ones(4))


def test_clear_state_drops_outputs():
    net = mlp()
    net.forward(np.ones((2, 4)))
    net.clearState()
    assert all(m.output.size == 0 for m in net.listModules())
    assert net.forward(np.ones((2, 4))).shape == (2, 2)


def test_find_list_and_apply():
    net = nn.Sequential(mlp(), nn.Linear(2, 1))
    assert len(net.findModules(nn.Linear)) == 3
    assert net.findModules("Sigmoid") == [net.get(0).get(1)]
    assert [type(m).__name__ for m in net.listModules()] == [
        "Sequential", "Sequential", "Linear", "Sigmoid", "Linear", "Linear"]
    seen = []
    net.apply(lambda m: seen.append(m))
    assert seen == net.listModules()


def test_reset_is_reproducible_with_a_seed():
    manual_seed(3)
    a = nn.Linear(5, 2)
    manual_seed(3)
    b = nn.Linear(5, 2)
    np.testing.assert_array_equal(a.weight, b.weight)
    assert np.all(np.abs(a.weight) <= 1 / np.sqrt(5))
    a.reset(rng=np.random.default_rng(9))
    assert not np.array_equal(a.weight, b.weight)


def test_output_buffer_is_reused_for_the_same_shape():
    lin = nn.Linear(3, 2)
    first = lin.forward(np.ones(3))
    second = lin.forward(np.zeros(3))
    assert first is second
    assert lin.forward(np.ones((4, 3))) is not first


def test_forward_does_not_modify_input_and_call_is_forward():
    net = mlp()
    x = np.linspace(-1, 1, 4)
    kept = x.copy()
    np.testing.assert_array_equal(net(x), net.forward(x))
    net.backward(x, np.ones(2))
    np.testing.assert_array_equal(x, kept)


def test_bad_inputs_name_the_module_and_the_expectation():
    lin = nn.Linear(4, 2)
    with pytest.raises(ValueError, match=r"Linear\(4 -> 2\): expected input of shape \(4,\) or \(batch, 4\), "
                                         r"got \(5, 3\)"):
        lin.forward(np.ones((5, 3)))
    with pytest.raises(TypeError, match=r"Sigmoid: expected a floating-point array, got dtype int64"):
        nn.Sigmoid().forward(np.arange(3))
    with pytest.raises(TypeError, match="Sigmoid: expected a NumPy array, got list"):
        nn.Sigmoid().forward([1.0, 2.0])
    lin.forward(np.ones(4))
    with pytest.raises(ValueError, match=r"Linear\(4 -> 2\): expected gradOutput of shape \(2,\)"):
        lin.backward(np.ones(4), np.ones(3))


def test_a_new_module_needs_only_the_hooks():
    class Double(nn.Module):
        def updateOutput(self, input):
            self.output = 2 * input
            return self.output

        def updateGradInput(self, input, gradOutput):
            self.gradInput = 2 * gradOutput
            return self.gradInput

    m = Double()
    np.testing.assert_array_equal(m(np.ones(2)), [2, 2])
    np.testing.assert_array_equal(m.backward(np.ones(2), np.ones(2)), [2, 2])
    assert repr(m) == "nn.Double"
    with pytest.raises(NotImplementedError, match="Half must implement updateOutput"):
        type("Half", (nn.Module,), {})().forward(np.ones(2))


def test_get_parameters_again_returns_the_same_flat_arrays():
    net = mlp()
    params, grads = net.getParameters()
    again_params, again_grads = net.getParameters()
    assert again_params is params and again_grads is grads
    params[0] = 7.0
    assert net.get(0).weight[0, 0] == 7.0


def test_get_parameters_reflattens_after_the_model_changes():
    net = mlp()
    params, _ = net.getParameters()
    net.add(nn.Linear(2, 2))
    bigger, _ = net.getParameters()
    assert bigger.size == params.size + 6
    np.testing.assert_array_equal(bigger[:params.size], params)
    net.float()
    single, _ = net.getParameters()
    assert single.dtype == np.float32 and single.size == bigger.size
