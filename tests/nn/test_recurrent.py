"""Recurrent modules: batches along dim 1, state (h0, remember/forget), masking, criteria over time,
clipping, and checks that name the time step and the gate."""

from __future__ import annotations

import numpy as np
import pytest

from ember import nn, optim
from ember.check import check_model, check_module, copy_structure
from tests.nn.catalog_recurrent import CASES, F, H, N, T

ARRAY_CASES = [case for case in CASES if not isinstance(case.single(np.random.default_rng(0)), list)]


@pytest.mark.parametrize("case", CASES, ids=[case.id for case in CASES])
def test_audit_passes_single_and_batch(case):
    rng = np.random.default_rng(0)
    module = case.make(rng)
    for x, batch in ((case.single(rng), None), (case.batch(rng), True)):
        report = check_module(module, x, batch=batch if not isinstance(x, list) else False)
        assert report.ok, str(report)


@pytest.mark.parametrize("case", ARRAY_CASES, ids=[case.id for case in ARRAY_CASES])
def test_batch_along_dim_1_equals_sequences_one_at_a_time(case):
    rng = np.random.default_rng(3)
    module, x = case.make(rng), case.batch(rng)
    out = module.forward(x).copy()
    grad_out = rng.standard_normal(out.shape)
    module.zeroGradParameters()
    grad_in = module.backward(x, grad_out).copy()
    batch_grads = [g.copy() for g in module.parameters()[1]]
    module.zeroGradParameters()
    for n in range(x.shape[1]):
        np.testing.assert_allclose(module.forward(x[:, n]), out[:, n], atol=1e-12)
        np.testing.assert_allclose(module.backward(x[:, n], grad_out[:, n]), grad_in[:, n], atol=1e-12)
    for summed, batched in zip(module.parameters()[1], batch_grads):
        np.testing.assert_allclose(summed, batched, atol=1e-12)


def test_parameters_have_pytorch_names_shapes_and_initialisation():
    lstm = nn.LSTM(3, 5, rng=np.random.default_rng(0))
    assert [p.shape for p in lstm.parameters()[0]] == [(20, 3), (20, 5), (20,), (20,)]
    assert lstm.gradWeight_ih.shape == (20, 3) and not lstm.gradBias_hh.any()
    assert all(np.abs(p).max() <= 1 / np.sqrt(5) for p in lstm.parameters()[0])
    assert nn.GRU(3, 5).weight_hh.shape == (15, 5) and nn.RNN(3, 5).bias_ih.shape == (5,)
    assert repr(lstm) == "nn.LSTM(3 -> 5)" and repr(nn.RNN(2, 4, "relu")) == "nn.RNN(2 -> 4, relu)"


@pytest.mark.parametrize("make", [lambda: nn.LSTM(F, H), lambda: nn.GRU(F, H), lambda: nn.RNN(F, H)],
                         ids=["LSTM", "GRU", "RNN"])
def test_remember_carries_the_state_and_forget_clears_it(make):
    rng = np.random.default_rng(1)
    module = make()
    x = rng.standard_normal((2 * T, N, F))
    whole = module.forward(x).copy()
    module.remember()
    first = module.forward(x[:T]).copy()
    second = module.forward(x[T:]).copy()
    np.testing.assert_allclose(np.concatenate([first, second]), whole, atol=1e-12)
    np.testing.assert_allclose(module.hidden, whole[-1], atol=1e-12)
    module.forget()
    np.testing.assert_allclose(module.forward(x[:T]), whole[:T], atol=1e-12)
    with pytest.raises(ValueError, match="remembered state is for a batch of 3, got a batch of 2; call forget"):
        module.forward(x[:, :2])
    module.remember(False)
    np.testing.assert_allclose(module.forward(x[:T]), whole[:T], atol=1e-12)


def test_initial_state_attributes_and_last_state():
    rng = np.random.default_rng(2)
    lstm = nn.LSTM(F, H, rng=rng)
    x, h0, c0 = rng.standard_normal((T, N, F)), rng.standard_normal((N, H)), rng.standard_normal((N, H))
    given = lstm.forward([x, h0, c0]).copy()
    cell = lstm.cell.copy()
    lstm.h0, lstm.c0 = h0, c0
    np.testing.assert_allclose(lstm.forward(x), given)
    np.testing.assert_allclose(lstm.hidden, given[-1])
    np.testing.assert_allclose(lstm.cell, cell)
    lstm.h0 = lstm.c0 = None
    assert not np.allclose(lstm.forward(x), given)
    grad = lstm.backward([x, h0, c0], np.ones((T, N, H))) if lstm.forward([x, h0, c0]) is not None else None
    assert isinstance(grad, list) and [g.shape for g in grad] == [(T, N, F), (N, H), (N, H)]


def test_bad_inputs_name_the_module():
    lstm = nn.LSTM(3, 4)
    with pytest.raises(ValueError, match=r"LSTM\(3 -> 4\): expected a sequence of shape \(T, 3\) or \(T, batch, 3\)"):
        lstm.forward(np.zeros((5, 2, 2)))
    with pytest.raises(ValueError, match=r"expected the input as \[x, h0, c0\], got a list of 2"):
        lstm.forward([np.zeros((5, 2, 3)), np.zeros((2, 4))])
    with pytest.raises(ValueError, match=r"expected c0 of shape \(2, 4\) and dtype float64, got \(4,\) float64"):
        lstm.forward([np.zeros((5, 2, 3)), np.zeros((2, 4)), np.zeros(4)])
    with pytest.raises(ValueError, match="nonlinearity must be 'tanh' or 'relu'"):
        nn.RNN(3, 4, "sigmoid")


# -- masking ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("make", [lambda rng: nn.LSTM(F, H, rng=rng), lambda rng: nn.GRU(F, H, rng=rng)],
                         ids=["LSTM", "GRU"])
def test_padded_batches_train_as_their_real_sequences(make):
    """Right padding: the state of the last real step is kept; left padding: the sequence starts fresh."""
    rng = np.random.default_rng(4)
    layer = make(rng)
    net = nn.MaskZero(layer)
    short = rng.standard_normal((2, F))
    x = np.zeros((T, 2, F))
    x[:2, 0] = short  # right-padded
    x[T - 2:, 1] = short  # left-padded
    out = net.forward(x).copy()
    alone = layer.forward(short).copy()
    np.testing.assert_allclose(out[:2, 0], alone, atol=1e-12)
    np.testing.assert_allclose(out[T - 2:, 1], alone, atol=1e-12)
    assert not out[2:, 0].any() and not out[:T - 2, 1].any()
    net.forward(x)
    np.testing.assert_allclose(layer.hidden[0], alone[-1], atol=1e-12)
    grad_out = rng.standard_normal(out.shape)
    net.zeroGradParameters()
    grad_in = net.backward(x, grad_out).copy()
    padded_grads = [g.copy() for g in net.parameters()[1]]
    assert not grad_in[2:, 0].any() and not grad_in[:T - 2, 1].any()
    layer.zeroGradParameters()
    layer.forward(short)
    expected_in = layer.backward(short, grad_out[:2, 0]).copy()
    layer.forward(short)
    layer.backward(short, grad_out[T - 2:, 1])
    np.testing.assert_allclose(grad_in[:2, 0], expected_in, atol=1e-12)
    for padded, real in zip(padded_grads, layer.parameters()[1]):
        np.testing.assert_allclose(padded, real, atol=1e-12)


def test_sequencer_criterion_sums_over_time_and_skips_padding():
    rng = np.random.default_rng(5)
    scores, labels = rng.standard_normal((T, N, 6)), rng.integers(0, 6, (T, N))
    step = nn.CrossEntropyCriterion()
    criterion = nn.SequencerCriterion(nn.CrossEntropyCriterion())
    expected = sum(step.forward(scores[t], labels[t]) for t in range(T))
    assert criterion.forward(scores, labels) == pytest.approx(expected)
    grad = criterion.backward(scores, labels)
    np.testing.assert_allclose(grad[1], step.backward(scores[1], labels[1]) if step.forward(scores[1], labels[1])
                               else None)
    averaged = nn.SequencerCriterion(nn.CrossEntropyCriterion(), size_average=True)
    assert averaged.forward(scores, labels) == pytest.approx(expected / T)
    masked = nn.SequencerCriterion(nn.CrossEntropyCriterion(), mask_zero=True)
    padded = scores.copy()
    padded[2:, 0] = 0
    real = sum(step.forward(padded[t][1:] if t >= 2 else padded[t], labels[t][1:] if t >= 2 else labels[t])
               for t in range(T))
    assert masked.forward(padded, labels) == pytest.approx(real)
    assert not masked.backward(padded, labels)[2:, 0].any()
    assert repr(masked) == "nn.SequencerCriterion(CrossEntropyCriterion, mask_zero)"


def test_char_model_passes_the_whole_model_check():
    """Embedding, LSTM, Sequencer(Linear), SequencerCriterion(CrossEntropy): the char-RNN's shape."""
    rng = np.random.default_rng(6)
    model = nn.Sequential(nn.LookupTable(7, 3, rng=rng), nn.LSTM(3, 4, rng=rng), nn.Sequencer(nn.Linear(4, 7, rng=rng)))
    report = check_model(model, nn.SequencerCriterion(nn.CrossEntropyCriterion()), rng.integers(0, 7, (5, 2)),
                         rng.integers(0, 7, (5, 2)))
    assert report.ok, str(report)


class _ForgetfulLSTM(nn.LSTM):
    """A student's LSTM whose backward drops the forget gate's sigmoid derivative."""

    def _step_back(self, t, d):
        h = self.hidden_size
        result = super()._step_back(t, d)
        f = self._gates[t][:, h:2 * h]
        self._d_gates[t][:, h:2 * h] /= 1 - f  # undo one factor of f (1 − f)
        return [self._d_gates[t] @ self.weight_hh, result[1]]


def test_a_wrong_gate_is_named_with_its_time_step():
    rng = np.random.default_rng(7)
    report = check_module(_ForgetfulLSTM(F, H, rng=rng), rng.standard_normal((T, F)), batch=False)
    failures = {r.argument: r.message for r in report.failed}
    assert set(failures) >= {"weight_ih", "weight_hh", "bias_ih", "bias_hh"}
    assert "gate f (forget)" in failures["weight_ih"] and "output time step" in failures["weight_ih"]
    assert "input time step" in failures["input"]
    model = nn.Sequential(nn.Sequencer(nn.Linear(F, F, rng=rng)), _ForgetfulLSTM(F, H, rng=rng))
    model_report = check_model(model, nn.MSECriterion(), rng.standard_normal((T, N, F)),
                               rng.standard_normal((T, N, H)))
    assert model_report.failure_names == ["model[1] _ForgetfulLSTM(3 -> 4)"]
    assert "gate f (forget)" in str(model_report)


# -- Recurrence ------------------------------------------------------------------------------------


def test_recurrence_with_linear_tanh_cell_equals_rnn():
    rng = np.random.default_rng(8)
    rnn = nn.RNN(F, H, rng=rng)
    x, h = nn.Identity()(), nn.Identity()()
    lin_x, lin_h = nn.Linear(F, H), nn.Linear(H, H)
    lin_x.weight[...], lin_x.bias[...] = rnn.weight_ih, rnn.bias_ih
    lin_h.weight[...], lin_h.bias[...] = rnn.weight_hh, rnn.bias_hh
    cell = nn.gModule([x, h], [nn.Tanh()(nn.CAddTable()([lin_x(x), lin_h(h)]))])
    recurrent = nn.Recurrence(cell, F, H)
    seq = rng.standard_normal((T, N, F))
    np.testing.assert_allclose(recurrent.forward(seq), rnn.forward(seq), atol=1e-12)
    grad = rng.standard_normal((T, N, H))
    rnn.zeroGradParameters()
    recurrent.zeroGradParameters()
    np.testing.assert_allclose(recurrent.backward(seq, grad), rnn.backward(seq, grad), atol=1e-12)
    np.testing.assert_allclose(lin_h.gradWeight, rnn.gradWeight_hh, atol=1e-12)
    assert len(recurrent.parameters()[0]) == 4  # one set, however many steps
    flat, _ = recurrent.getParameters()
    flat[:] = 0
    assert not recurrent.forward(seq).any()  # clones follow getParameters' views
    assert repr(recurrent).startswith("nn.Recurrence(3 -> 4) {\n  nn.gModule")


def test_recurrence_refuses_a_step_module_of_the_wrong_shape():
    recurrent = nn.Recurrence(nn.SelectTable(0), F, H)
    with pytest.raises(ValueError, match=r"Recurrence\(3 -> 4\): the step module returned a state of shape"):
        recurrent.forward(np.zeros((T, N, F)))


def test_sequencer_and_float32():
    seq = nn.Sequencer(nn.Linear(F, 2)).float()
    x = np.ones((T, N, F), dtype=np.float32)
    assert seq.forward(x).shape == (T, N, 2) and seq.output.dtype == np.float32
    lstm = nn.LSTM(F, H).float()
    assert lstm.forward(x).dtype == np.float32 and lstm.backward(x, np.ones((T, N, H), np.float32)).dtype == np.float32


# -- clipping --------------------------------------------------------------------------------------


def test_clip_grad_norm_scales_the_flat_gradient():
    grads = np.array([3.0, 4.0])
    assert optim.clip_grad_norm(grads, 1.0) == pytest.approx(5.0)
    np.testing.assert_allclose(grads, [0.6, 0.8], rtol=1e-5)
    arrays = [np.array([1.0]), np.array([[0.5]])]
    before = copy_structure(arrays)
    assert optim.clip_grad_norm(arrays, 10.0) == pytest.approx(np.sqrt(1.25))
    np.testing.assert_array_equal(arrays[0], before[0])
    with pytest.raises(ValueError, match="max_norm must be positive"):
        optim.clip_grad_norm(grads, 0)


@pytest.mark.parametrize("make", [lambda: nn.LSTM(3, 4), lambda: nn.GRU(3, 4), lambda: nn.RNN(3, 4)],
                         ids=["LSTM", "GRU", "RNN"])
def test_a_switched_off_grad_input_gives_none_and_the_same_parameter_gradients(make):
    rng = np.random.default_rng(0)
    x, g = rng.standard_normal((5, 2, 3)), rng.standard_normal((5, 2, 4))
    layer = make()
    twin = layer.clone()
    twin.gradInput = None
    layer.forward(x)
    layer.backward(x, g)
    twin.forward(x)
    assert twin.backward(x, g) is None and twin.gradInput is None
    for a, b in zip(twin.parameters()[1], layer.parameters()[1], strict=True):
        np.testing.assert_array_equal(a, b)


@pytest.mark.parametrize("kind", ["LSTM", "GRU", "RNN"])
def test_conforms_to_pytorch_to_1e_12_at_a_larger_size(torch, kind):
    t_len, n, f, h = 20, 8, 16, 32
    rng = np.random.default_rng(0)
    layer = getattr(nn, kind)(f, h, rng=rng)
    x, g = 2 * rng.standard_normal((t_len, n, f)), rng.standard_normal((t_len, n, h))
    reference = getattr(torch.nn, kind)(f, h)
    names = ("weight_ih", "weight_hh", "bias_ih", "bias_hh")
    with torch.no_grad():
        for name in names:
            getattr(reference, f"{name}_l0").copy_(torch.from_numpy(getattr(layer, name)))
    xt = torch.from_numpy(x).requires_grad_()
    out, _ = reference(xt)
    out.backward(torch.from_numpy(g))
    np.testing.assert_allclose(layer.forward(x), out.detach().numpy(), rtol=0, atol=1e-12)
    np.testing.assert_allclose(layer.backward(x, g), xt.grad.numpy(), rtol=0, atol=1e-12)
    for name in names:
        np.testing.assert_allclose(getattr(layer, "grad" + name[0].upper() + name[1:]),
                                   getattr(reference, f"{name}_l0").grad.numpy(), rtol=0, atol=1e-12)
