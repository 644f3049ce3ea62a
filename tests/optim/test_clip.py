"""optim.clip_grad_norm against PyTorch's torch.nn.utils.clip_grad_norm_ (float64), and fit(clip_grad_norm=...)."""

from __future__ import annotations

import math

import numpy as np
import pytest

from ember import data, models, nn, optim
from ember.random import manual_seed
from ember.train import ResumeMismatchError, fit


def _grads(scale):
    rng = np.random.default_rng(0)
    return [scale * rng.standard_normal(shape) for shape in ((3, 4), (4,), (2, 2, 2))]


@pytest.mark.parametrize("norm_type", [2.0, math.inf, 1.0, 3.0])
@pytest.mark.parametrize("scale", [10.0, 0.01])
def test_clip_grad_norm_is_pytorchs(torch, norm_type, scale):
    grads = _grads(scale)
    params = [torch.zeros(g.shape, requires_grad=True) for g in grads]
    for p, g in zip(params, grads):
        p.grad = torch.from_numpy(g.copy())
    expected = torch.nn.utils.clip_grad_norm_(params, 1.5, norm_type=norm_type)
    norm = optim.clip_grad_norm(grads, 1.5, norm_type)
    assert norm == pytest.approx(float(expected), rel=1e-12)
    for p, g in zip(params, grads):
        np.testing.assert_allclose(g, p.grad.numpy(), rtol=1e-12, atol=0)


def test_a_norm_at_max_norm_is_scaled_by_max_norm_over_norm_plus_1e6_as_pytorch_does(torch):
    grads = np.array([3.0, 4.0])
    param = torch.zeros(2, requires_grad=True)
    param.grad = torch.tensor([3.0, 4.0])
    torch.nn.utils.clip_grad_norm_([param], 5.0)
    optim.clip_grad_norm(grads, 5.0)
    np.testing.assert_allclose(grads, param.grad.numpy(), rtol=1e-15)
    assert grads[0] < 3.0


def test_clip_grad_norm_refuses_a_bad_max_norm_or_norm_type():
    with pytest.raises(ValueError, match="max_norm must be positive, got 0"):
        optim.clip_grad_norm(np.ones(2), 0)
    with pytest.raises(ValueError, match="norm_type must be positive"):
        optim.clip_grad_norm(np.ones(2), 1.0, -1)


def _iris_run(**kw):
    X, y = data.iris()
    manual_seed(0)
    model = models.mlp(4, [6], "tanh", 3)
    history = fit(model, nn.ClassNLLCriterion(), X, y, config={"learning_rate": 0.5}, epochs=3, batch_size=30,
                  progress=False, **kw)
    return model, history


def test_fit_clips_each_batch_gradient_as_a_hand_written_loop_does():
    model, history = _iris_run(clip_grad_norm=0.1)
    X, y = data.iris()
    manual_seed(0)
    twin = models.mlp(4, [6], "tanh", 3)
    criterion = nn.ClassNLLCriterion()
    params, grads = twin.getParameters()
    state = {"learning_rate": 0.5}
    norms = []
    for _ in range(3):
        for low in range(0, len(X), 30):
            def feval(_, xs=X[low:low + 30], ys=y[low:low + 30]):
                grads.fill(0)
                loss = criterion.forward(twin.forward(xs), ys)
                twin.backward(xs, criterion.backward(twin.output, ys))
                norms.append(optim.clip_grad_norm(grads, 0.1))
                return loss, grads

            optim.sgd(feval, params, state)
    assert max(norms) > 0.1  # the clipping did act
    np.testing.assert_array_equal(model.getParameters()[0], params)
    unclipped, _ = _iris_run()
    assert not np.array_equal(unclipped.getParameters()[0], params)


def test_fit_with_clipping_and_fast_runs_the_python_steps_with_the_same_result():
    pytest.importorskip("numba", reason="numba is not installed: pip install -e '.[fast]' to run ember.fast")
    fast, _ = _iris_run(clip_grad_norm=0.1, fast=True)
    slow, _ = _iris_run(clip_grad_norm=0.1)
    np.testing.assert_array_equal(fast.getParameters()[0], slow.getParameters()[0])


def test_fit_refuses_a_bad_clip_and_a_resume_with_another_clip(tmp_path):
    with pytest.raises(ValueError, match="clip_grad_norm must be a positive number"):
        _iris_run(clip_grad_norm=0)
    path = tmp_path / "run.safetensors"
    _iris_run(clip_grad_norm=0.1, checkpoint=path)
    with pytest.raises(ResumeMismatchError, match="clip_grad_norm 0.2 differs from the checkpoint's 0.1"):
        _iris_run(clip_grad_norm=0.2, resume=path)
