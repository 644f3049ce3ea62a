"""Recurrent modules: single sequences (T, F) and batches (T, N, F); the batch is along dim 1, so the
generic batch test (dim 0) does not apply (``per_example=False``): test_recurrent.py checks it along dim 1."""

from ember import nn
from tests.nn.catalog import Case, normal, table

T, N, F, H = 4, 3, 3, 4
NAMES = ("weight_ih_l0", "weight_hh_l0", "bias_ih_l0", "bias_hh_l0")


def torch_layer(kind, **kw):
    """A PyTorch reference run with ember's parameters (``torch.func.functional_call``)."""

    def reference(torch, m, x, p):
        layer = getattr(torch.nn, kind)(F, H, **kw)
        params = dict(zip(NAMES, p))
        if isinstance(x, list):
            states = [s.unsqueeze(0) for s in x[1:]]  # (num_layers = 1, [N,] H)
            out, _ = torch.func.functional_call(layer, params, (x[0], states[0] if len(states) == 1 else tuple(states)))
        else:
            out, _ = torch.func.functional_call(layer, params, (x,))
        return out

    return reference


def with_states(n_states, batch):
    shape = (T, N, F) if batch else (T, F)
    state = (N, H) if batch else (H,)
    return table(normal(*shape), *[normal(*state)] * n_states)


def _gru_cell_graph(rng):
    """A student's GRU-like cell built as a gModule: [x_t, h_{t-1}] -> h_t (with a wrong-free formula)."""
    x, h = nn.Identity()(), nn.Identity()()
    gates = nn.Sigmoid()(nn.CAddTable()([nn.Linear(F, H, rng=rng)(x), nn.Linear(H, H, rng=rng)(h)]))
    candidate = nn.Tanh()(nn.CAddTable()([nn.Linear(F, H, rng=rng)(x), nn.Linear(H, H, rng=rng)(h)]))
    keep = nn.CMulTable()([gates, h])
    new = nn.CMulTable()([nn.AddConstant(1)(nn.MulConstant(-1)(gates)), candidate])
    return nn.gModule([x, h], [nn.CAddTable()([keep, new])])


def _torch_gru_cell_graph(torch, m, x, p):
    lin = torch.nn.functional.linear
    batch = x.dim() == 3
    h = torch.zeros((x.shape[1], H) if batch else (H,))
    outs = []
    for t in range(x.shape[0]):
        z = torch.sigmoid(lin(x[t], p[0], p[1]) + lin(h, p[2], p[3]))
        n = torch.tanh(lin(x[t], p[4], p[5]) + lin(h, p[6], p[7]))
        h = z * h + (1 - z) * n
        outs.append(h)
    return torch.stack(outs)


def _lstm_cell_graph(rng):
    """An LSTM cell as a gModule over [x_t, [h, c]] -> [h, c], PyTorch's formulas (for Recurrence)."""
    x, state = nn.Identity()(), nn.Identity()()
    h, c = state.split(2)
    pre = nn.CAddTable()([nn.Linear(F, 4 * H, rng=rng)(x), nn.Linear(H, 4 * H, rng=rng)(h)])
    i, f, g, o = [nn.Narrow(-1, k * H, H)(pre) for k in range(4)]
    i, f, g, o = nn.Sigmoid()(i), nn.Sigmoid()(f), nn.Tanh()(g), nn.Sigmoid()(o)
    c_new = nn.CAddTable()([nn.CMulTable()([f, c]), nn.CMulTable()([i, g])])
    h_new = nn.CMulTable()([o, nn.Tanh()(c_new)])
    return nn.gModule([x, state], [h_new, c_new])


def _torch_lstm_from_cell(torch, m, x, p):
    lin = torch.nn.functional.linear
    batch = x.dim() == 3
    h = torch.zeros((x.shape[1], H) if batch else (H,))
    c = torch.zeros_like(h)
    outs = []
    for t in range(x.shape[0]):
        i, f, g, o = (lin(x[t], p[0], p[1]) + lin(h, p[2], p[3])).chunk(4, -1)
        c = torch.sigmoid(f) * c + torch.sigmoid(i) * torch.tanh(g)
        h = torch.sigmoid(o) * torch.tanh(c)
        outs.append(h)
    return torch.stack(outs)


def _torch_masked_lstm(torch, m, x, p):
    """MaskZero(LSTM) in PyTorch's formulas: a step whose input row is all zeros outputs zeros and passes the
    state through unchanged."""
    lin = torch.nn.functional.linear
    batch = x.dim() == 3
    h = torch.zeros((x.shape[1], H) if batch else (H,), dtype=x.dtype)
    c = torch.zeros_like(h)
    outs = []
    for t in range(x.shape[0]):
        keep = (x[t] != 0).any(-1, keepdim=True)
        i, f, g, o = (lin(x[t], p[0], p[2]) + lin(h, p[1], p[3])).chunk(4, -1)
        c_new = torch.sigmoid(f) * c + torch.sigmoid(i) * torch.tanh(g)
        h_new = torch.sigmoid(o) * torch.tanh(c_new)
        h, c = torch.where(keep, h_new, h), torch.where(keep, c_new, c)
        outs.append(torch.where(keep, h_new, torch.zeros_like(h_new)))
    return torch.stack(outs)


def padded_single(rng):
    """One sequence, right-padded with zero rows."""
    x = rng.standard_normal((T, F))
    x[3:] = 0
    return x


def padded(rng):
    """A batch whose second sequence is right-padded and third left-padded with zero rows."""
    x = rng.standard_normal((T, N, F))
    x[2:, 1] = 0
    x[:1, 2] = 0
    return x


CASES = [
    Case("RNN(tanh)", lambda rng: nn.RNN(F, H, rng=rng), normal(T, F), normal(T, N, F), torch=torch_layer("RNN"),
         per_example=False),
    Case("RNN(relu)", lambda rng: nn.RNN(F, H, "relu", rng=rng), normal(T, F), normal(T, N, F),
         torch=torch_layer("RNN", nonlinearity="relu"), per_example=False),
    Case("LSTM", lambda rng: nn.LSTM(F, H, rng=rng), normal(T, F), normal(T, N, F), torch=torch_layer("LSTM"),
         per_example=False),
    Case("GRU", lambda rng: nn.GRU(F, H, rng=rng), normal(T, F), normal(T, N, F), torch=torch_layer("GRU"),
         per_example=False),
    Case("RNN[x, h0]", lambda rng: nn.RNN(F, H, rng=rng), with_states(1, False), with_states(1, True),
         torch=torch_layer("RNN"), per_example=False),
    Case("LSTM[x, h0, c0]", lambda rng: nn.LSTM(F, H, rng=rng), with_states(2, False), with_states(2, True),
         torch=torch_layer("LSTM"), per_example=False),
    Case("GRU[x, h0]", lambda rng: nn.GRU(F, H, rng=rng), with_states(1, False), with_states(1, True),
         torch=torch_layer("GRU"), per_example=False),
    Case("Recurrence(gModule cell)", lambda rng: nn.Recurrence(_gru_cell_graph(rng), F, H), normal(T, F),
         normal(T, N, F), torch=_torch_gru_cell_graph, per_example=False),
    Case("Recurrence(LSTM gModule cell, [h, c])", lambda rng: nn.Recurrence(_lstm_cell_graph(rng), F, H, 2),
         normal(T, F), normal(T, N, F), torch=_torch_lstm_from_cell, per_example=False),
    Case("Sequencer(Linear)", lambda rng: nn.Sequencer(nn.Linear(F, H, rng=rng)), normal(T, F), normal(T, N, F),
         torch=lambda torch, m, x, p: torch.nn.functional.linear(x, p[0], p[1]), per_example=False),
    Case("Sequencer(LogSoftMax)", lambda rng: nn.Sequencer(nn.LogSoftMax()), normal(T, F), normal(T, N, F),
         torch=lambda torch, m, x, p: torch.log_softmax(x, -1), per_example=False),
    # Padded steps make the input non-differentiable there (a zero row is padding, a nudged one is not):
    # padded batches are checked with respect to the parameters; unpadded ones with respect to the input too.
    Case("MaskZero(LSTM)", lambda rng: nn.MaskZero(nn.LSTM(F, H, rng=rng)), normal(T, F), normal(T, N, F),
         torch=_torch_masked_lstm, per_example=False),
    Case("MaskZero(LSTM) padded", lambda rng: nn.MaskZero(nn.LSTM(F, H, rng=rng)), padded_single, padded,
         torch=_torch_masked_lstm, per_example=False, differentiable_input=False),
    Case("MaskZero(GRU) padded", lambda rng: nn.MaskZero(nn.GRU(F, H, rng=rng)), padded_single, padded,
         per_example=False, differentiable_input=False),
    Case("MaskZero(Sequencer(Linear)) padded", lambda rng: nn.MaskZero(nn.Sequencer(nn.Linear(F, H, rng=rng))),
         padded_single, padded, per_example=False, differentiable_input=False),
]
