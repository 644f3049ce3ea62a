"""updateParameters and zeroGradParameters act on cached flat storage: one operation each, no allocation
per step, and every way of sharing, converting, copying or changing a model still trained as before.
"""

from __future__ import annotations

import tracemalloc

import numpy as np

from ember import nn


def mlp(seed=0, n_in=6, hidden=5):
    rng = np.random.default_rng(seed)
    return nn.Sequential(nn.Linear(n_in, hidden, rng=rng), nn.Tanh(), nn.Linear(hidden, 3, rng=rng))


def backward_once(net, seed=1):
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((4, net.modules[0].n_in)).astype(net.modules[0].weight.dtype)
    net.forward(x)
    net.backward(x, np.ones_like(net.output))


def expected_step(net, lr):
    return [p - lr * g for p, g in zip(*net.parameters())]


def test_the_step_is_one_axpy_over_flat_storage_allocating_nothing():
    net = mlp(n_in=64, hidden=32)  # a 16 KB weight: a parameter-sized temporary would show
    backward_once(net)
    want = expected_step(net, 0.1)
    net.updateParameters(0.1)  # first call: moves the parameters into flat storage
    for got, expected in zip(net.parameters()[0], want):
        np.testing.assert_allclose(got, expected, rtol=1e-13, atol=1e-15)
    flat_params, flat_grads = net.getParameters()  # the same flat arrays the step uses
    assert all(p.base is flat_params for p in net.parameters()[0])
    assert all(g.base is flat_grads for g in net.parameters()[1])
    before = flat_params.copy()
    tracemalloc.start()
    try:
        start = tracemalloc.get_traced_memory()[0]
        tracemalloc.reset_peak()
        for _ in range(200):
            net.zeroGradParameters()
            net.updateParameters(0.1)
        peak = tracemalloc.get_traced_memory()[1] - start
    finally:
        tracemalloc.stop()
    assert peak < 1024, f"{peak} bytes allocated at the peak of 200 steps"
    assert not flat_grads.any()
    np.testing.assert_array_equal(flat_params, before)  # zero gradients: a step moves nothing


def test_arrays_a_caller_holds_stay_the_model_s():
    net = mlp()
    weight, grad = net.modules[0].weight, net.modules[0].gradWeight
    backward_once(net)
    want = weight - 0.5 * grad
    net.updateParameters(0.5)
    assert net.modules[0].weight is weight
    np.testing.assert_array_equal(weight, want)
    net.zeroGradParameters()
    assert not grad.any()


def test_parameters_shared_inside_the_tree_stay_shared():
    rng = np.random.default_rng(0)
    first = nn.Linear(4, 4, rng=rng)
    second = nn.Linear(4, 4, rng=rng).share(first, "weight", "bias", "gradWeight", "gradBias")
    net = nn.Sequential(first, nn.Tanh(), second)
    x = rng.standard_normal(4)
    net.forward(x)
    net.backward(x, np.ones(4))
    want = first.weight - 0.1 * first.gradWeight
    net.updateParameters(0.1)
    assert first.weight is second.weight and first.gradWeight is second.gradWeight
    np.testing.assert_allclose(first.weight, want, rtol=1e-13, atol=1e-15)
    assert net.getParameters()[0].size == 20  # one slot for the shared pair


def test_a_shared_clone_outside_the_tree_trains_both():
    net = mlp()
    twin = net.sharedClone()
    backward_once(twin)
    want = expected_step(twin, 0.2)
    twin.updateParameters(0.2)
    for mine, theirs, expected in zip(net.parameters()[0], twin.parameters()[0], want):
        assert mine is theirs
        np.testing.assert_allclose(mine, expected, rtol=1e-13, atol=1e-15)


def test_clone_type_and_changes_after_flattening_are_followed():
    net = mlp()
    net.updateParameters(0.0)  # flattened
    twin = net.clone()
    backward_once(twin)
    untouched = [p.copy() for p in net.parameters()[0]]
    twin.updateParameters(1.0)
    for p, q in zip(net.parameters()[0], untouched):
        np.testing.assert_array_equal(p, q)  # the clone has storage of its own
    net.float()
    backward_once(net)
    want = expected_step(net, 0.1)
    net.updateParameters(0.1)
    assert all(p.dtype == np.float32 for p in net.parameters()[0])
    for got, expected in zip(net.parameters()[0], want):
        np.testing.assert_allclose(got, expected, rtol=1e-6)
    net.double().add(nn.Linear(3, 2))  # a module added after flattening
    net.modules[0].bias = np.zeros(5)  # a parameter replaced by assignment
    net.modules[0].gradBias = np.ones(5)
    backward_once(net)
    want = expected_step(net, 0.1)
    net.updateParameters(0.1)
    for got, expected in zip(net.parameters()[0], want):
        np.testing.assert_allclose(got, expected, rtol=1e-13, atol=1e-15)
    np.testing.assert_array_equal(net.modules[0].bias, -0.1 * net.modules[0].gradBias)


def test_a_parameter_declared_after_flattening_is_trained():
    class Scale(nn.Module):
        def updateOutput(self, input):
            self.output = input * self.scale if hasattr(self, "scale") else input
            return self.output

        def updateGradInput(self, input, gradOutput):
            self.gradInput = gradOutput
            return self.gradInput

    scale = Scale()
    net = nn.Sequential(nn.Linear(2, 2), scale)
    net.updateParameters(0.0)
    scale.register_parameter("scale", np.ones(2))
    scale.gradScale[...] = 1.0
    net.updateParameters(0.5)
    np.testing.assert_array_equal(scale.scale, [0.5, 0.5])


def test_a_module_with_its_own_private_flat_attribute_still_updates_and_zeroes():
    """The cache's attribute name is the base class's own: a module's ``_flat`` (an index array, say) is left alone."""
    pooling = nn.SpatialMaxPooling(2, 2, 2, 2)
    unpooling = nn.SpatialMaxUnpooling(pooling)
    x = np.random.default_rng(0).standard_normal((1, 2, 4, 4))
    unpooling.zeroGradParameters()
    unpooling.forward(pooling.forward(x))
    unpooling.zeroGradParameters()
    unpooling.updateParameters(0.1)
