"""decorators.py, noise.py, indexing.py: what the catalog cannot check (gradient manipulators against PyTorch
autograd, NaN detection, profiling, printing, seeded noise, errors)."""

import numpy as np
import pytest

import ember
from ember import nn


def test_gradient_reversal_and_zero_grad_against_torch(torch):
    x = np.random.default_rng(0).standard_normal((3, 4))
    g = np.random.default_rng(1).standard_normal((3, 4))
    for module, factor in ((nn.GradientReversal(0.7), -0.7), (nn.ZeroGrad(), 0.0)):
        x_t = torch.from_numpy(x).requires_grad_(True)
        y_t = x_t.detach() + factor * (x_t - x_t.detach())  # identity forward, gradient times factor
        (grad_t,) = torch.autograd.grad(y_t, x_t, torch.from_numpy(g))
        np.testing.assert_array_equal(module.forward(x), x)
        np.testing.assert_allclose(module.backward(x, g), grad_t.numpy())


def test_l1_penalty_adds_its_loss_gradient():
    x, g = np.array([-2.0, 0.0, 3.0]), np.array([1.0, 1.0, 1.0])
    m = nn.L1Penalty(0.5)
    np.testing.assert_array_equal(m.forward(x), x)
    assert m.loss == 2.5
    np.testing.assert_allclose(m.backward(x, g), [0.5, 1.0, 1.5])
    m = nn.L1Penalty(0.5, size_average=True, provide_output=False)
    m.forward(x)
    np.testing.assert_allclose(m.backward(x, g), [-0.5 / 3, 0.0, 0.5 / 3])


def test_nan_names_the_wrapped_module_and_the_pass():
    m = nn.NaN(nn.Log())
    with pytest.raises(ember.NonFiniteError, match=r"NaN\(Log\): NaN found in output \(forward\) of Log"):
        m.forward(np.array([-1.0, 1.0]))
    m = nn.NaN(nn.Linear(2, 1), id="first layer")
    m.forward(np.ones(2))
    with pytest.raises(FloatingPointError, match=r"NaN\(first layer\): NaN found in gradOutput \(backward\)"):
        m.backward(np.ones(2), np.array([np.nan]))


def test_profile_times_and_reports(capsys):
    m = nn.Profile(nn.Tanh(), print_interval=2, name="tanh")
    for _ in range(2):
        m.forward(np.ones(3))
        m.backward(np.ones(3), np.ones(3))
    assert m.calls == 2 and m.forward_time > 0 and m.backward_time > 0
    assert capsys.readouterr().out.startswith("tanh: forward")


def test_print_size_prints_shapes(capsys):
    m = nn.PrintSize("here")
    m.forward([np.ones((2, 3)), np.ones(4)])
    assert capsys.readouterr().out == "here: input {(2, 3), (4,)}\n"


def test_white_noise_is_seeded_and_off_in_evaluation():
    x = np.zeros(1000)
    a, b = nn.WhiteNoise(1.0, 0.5, rng=np.random.default_rng(3)), nn.WhiteNoise(1.0, 0.5, rng=np.random.default_rng(3))
    y = a.forward(x).copy()
    np.testing.assert_array_equal(y, b.forward(x))
    assert abs(y.mean() - 1.0) < 0.1 and abs(y.std() - 0.5) < 0.1
    np.testing.assert_array_equal(a.evaluate().forward(x), x)


def test_indexing_errors_name_the_module():
    with pytest.raises(IndexError, match=r"Index\(0\): index out of range for size 2"):
        nn.Index(0).forward([np.ones((2, 3)), np.array([2])])
    with pytest.raises(IndexError, match=r"OneHot\(3\): label out of range"):
        nn.OneHot(3).forward(np.array([3]))
    np.testing.assert_array_equal(nn.OneHot(3).forward(np.array([2, 0])), [[0, 0, 1], [1, 0, 0]])
    with pytest.raises(ValueError, match=r"PixelShuffle\(2\): expected input"):
        nn.PixelShuffle(2).forward(np.ones((3, 2, 2)))
    with pytest.raises(ValueError, match=r"MM: cannot multiply \(2, 3\) by \(2, 3\)"):
        nn.MM().forward([np.ones((2, 3)), np.ones((2, 3))])
