"""The compiled path is tested against its definition, the NumPy modules with ``optim.sgd``: every
supported layer and criterion, per example and in mini-batches of 4, 16 and 64 (a short last batch
included; from two rows on the Linear layers' products run through BLAS), with every SGD setting, to 1e-12
relative in float64.
"""

from __future__ import annotations

import numpy as np
import pytest

from ember import nn, optim
from ember.errors import EmberError, InputError, InputTypeError

pytest.importorskip("numba", reason="the compiled path needs numba: pip install 'ember[fast]'")

from ember import fast  # noqa: E402 - after the skip

N, N_IN, HIDDEN, N_OUT = 150, 6, 5, 3


def _hidden_layers(kind: str) -> list[nn.Module]:
    return {"sigmoid": [nn.Sigmoid()], "tanh": [nn.Tanh()], "relu": [nn.ReLU()], "leaky": [nn.LeakyReLU(0.2)],
            "softmax": [nn.SoftMax()], "softmin": [nn.SoftMin()], "nested": [nn.Sequential(nn.Tanh(), nn.Identity())],
            }[kind]


def _model(hidden: str, head: list[nn.Module], bias: bool = True) -> nn.Sequential:
    rng = np.random.default_rng(0)
    return nn.Sequential(nn.Linear(N_IN, HIDDEN, rng=rng), *_hidden_layers(hidden),
                         nn.Linear(HIDDEN, N_OUT, bias=bias, rng=rng), *head)


def _problem(criterion: nn.Criterion) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(1)
    X = rng.standard_normal((N, N_IN))
    if isinstance(criterion, (nn.CrossEntropyCriterion, nn.ClassNLLCriterion)):
        return X, rng.integers(0, N_OUT, N)
    return X, rng.random((N, N_OUT))


def _numpy_path(model, criterion, X, y, state, batch_size, order) -> list[float]:
    """The definition: the modules, a feval zeroing the flat gradient, ``optim.sgd``."""
    params, grads = model.getParameters()
    losses = []
    for start in range(0, len(order), batch_size):
        rows = order[start:start + batch_size]
        xb, yb = (X[rows[0]], y[rows[0]]) if batch_size == 1 else (X[rows], y[rows])

        def feval(_, xb=xb, yb=yb):
            output = model.forward(xb)
            loss = criterion.forward(output, yb)
            grads.fill(0)
            model.backward(xb, criterion.backward(output, yb))
            return loss, grads

        losses.append(optim.sgd(feval, params, state)[1][0])
    return losses


def _assert_same_training(make_model, criterion, state, batch_size, epochs=2):
    X, y = _problem(criterion)
    reference, compiled_model = make_model(), make_model()
    compiled = fast.compile(compiled_model, criterion, warm=False)
    state_numpy, state_fast = dict(state), dict(state)
    for epoch in range(epochs):
        order = np.random.default_rng(epoch).permutation(N)
        expected = _numpy_path(reference, criterion, X, y, state_numpy, batch_size, order)
        losses = compiled.train(X, y, state_fast, batch_size=batch_size, order=order)
        np.testing.assert_allclose(losses, expected, rtol=1e-12, atol=0)
    np.testing.assert_allclose(compiled_model.getParameters()[0], reference.getParameters()[0], rtol=1e-12,
                               atol=1e-14)
    assert state_fast["eval_counter"] == state_numpy["eval_counter"]
    if "dfdx" in state_numpy:
        np.testing.assert_allclose(state_fast["dfdx"], state_numpy["dfdx"], rtol=1e-12, atol=1e-14)


@pytest.mark.parametrize("hidden", ["sigmoid", "tanh", "relu", "leaky", "softmax", "softmin", "nested"])
@pytest.mark.parametrize("batch_size", [1, 4, 16, 64])
def test_every_layer_trains_as_the_numpy_modules(hidden, batch_size):
    _assert_same_training(lambda: _model(hidden, []), nn.CrossEntropyCriterion(), {"learning_rate": 0.1},
                          batch_size)


@pytest.mark.parametrize("criterion, head", [
    (nn.CrossEntropyCriterion(), []), (nn.CrossEntropyCriterion(size_average=False), []),
    (nn.ClassNLLCriterion(), [nn.LogSoftMax()]), (nn.ClassNLLCriterion(size_average=False), [nn.LogSoftMax()]),
    (nn.MSECriterion(), []), (nn.MSECriterion(size_average=False), []), (nn.BCECriterion(), [nn.Sigmoid()]),
], ids=["cross-entropy", "cross-entropy-sum", "nll", "nll-sum", "mse", "mse-sum", "bce"])
@pytest.mark.parametrize("batch_size", [1, 5, 16, 64])
def test_every_criterion_trains_as_the_numpy_criterion(criterion, head, batch_size):
    rate = 0.05 if criterion.sizeAverage else 0.05 / batch_size  # summed losses: a rate that converges
    _assert_same_training(lambda: _model("tanh", head), criterion, {"learning_rate": rate}, batch_size)


@pytest.mark.parametrize("state", [
    {"learning_rate": 0.05, "momentum": 0.9},
    {"learning_rate": 0.05, "momentum": 0.9, "dampening": 0.0, "nesterov": True},
    {"learning_rate": 0.05, "weight_decay": 1e-2, "learning_rate_decay": 1e-2},
    {"learning_rate": 0.05, "momentum": 0.5, "dampening": 0.1, "weight_decay": 1e-3},
], ids=["momentum", "nesterov", "decays", "all"])
@pytest.mark.parametrize("batch_size", [1, 8, 64])
def test_every_sgd_setting_steps_as_optim_sgd(state, batch_size):
    _assert_same_training(lambda: _model("sigmoid", [], bias=False), nn.CrossEntropyCriterion(), state, batch_size)


@pytest.mark.parametrize("batch_size", [1, 4, 16, 64])
def test_ocr_sized_layers_train_as_the_numpy_modules(batch_size):
    """Widths where BLAS blocks the products (128 → 50 sigmoid → 10, as the W1c and W7c benchmarks); the
    gradient vector holds the last step's gradient afterwards, as on the NumPy path.
    """
    criterion = nn.CrossEntropyCriterion()
    rng = np.random.default_rng(2)
    X, y = rng.standard_normal((N, 128)), rng.integers(0, 10, N)

    def make():
        init = np.random.default_rng(0)
        return nn.Sequential(nn.Linear(128, 50, rng=init), nn.Sigmoid(), nn.Linear(50, 10, rng=init))

    reference, model = make(), make()
    compiled = fast.compile(model, criterion, warm=False)
    state_numpy, state_fast = {"learning_rate": 0.1}, {"learning_rate": 0.1}
    order = np.random.default_rng(3).permutation(N)
    expected = _numpy_path(reference, criterion, X, y, state_numpy, batch_size, order)
    np.testing.assert_allclose(compiled.train(X, y, state_fast, batch_size=batch_size, order=order), expected,
                               rtol=1e-12, atol=0)
    for ours, theirs in zip(model.getParameters(), reference.getParameters()):
        np.testing.assert_allclose(ours, theirs, rtol=1e-12, atol=1e-14)


@pytest.mark.parametrize("batch_size", [1, 3])
def test_compiled_and_numpy_steps_can_alternate_on_one_state(batch_size):
    """The kernel reads and writes optim.sgd's history (eval_counter, the velocity)."""
    criterion = nn.CrossEntropyCriterion()
    X, y = _problem(criterion)
    reference, model = _model("relu", []), _model("relu", [])
    compiled = fast.compile(model, criterion, warm=False)
    config = {"learning_rate": 0.1, "momentum": 0.9, "learning_rate_decay": 0.01}
    state_numpy, state_mixed = dict(config), dict(config)
    order = np.arange(N)
    for _ in range(3):
        _numpy_path(reference, criterion, X, y, state_numpy, batch_size, order)
    _numpy_path(model, criterion, X, y, state_mixed, batch_size, order)
    compiled.train(X, y, state_mixed, batch_size=batch_size)
    _numpy_path(model, criterion, X, y, state_mixed, batch_size, order)
    np.testing.assert_allclose(model.getParameters()[0], reference.getParameters()[0], rtol=1e-12, atol=1e-14)
    np.testing.assert_allclose(state_mixed["dfdx"], state_numpy["dfdx"], rtol=1e-12, atol=1e-14)


def test_compile_reports_its_time_and_the_warm_up_leaves_the_model_alone():
    model = _model("sigmoid", [])
    before = model.getParameters()[0].copy()
    compiled = fast.compile(model, nn.CrossEntropyCriterion())
    assert compiled.compile_seconds > 0
    np.testing.assert_array_equal(model.getParameters()[0], before)


@pytest.mark.parametrize("model, criterion, message", [
    (nn.Sequential(nn.Linear(4, 3), nn.Dropout(0.5), nn.Linear(3, 2)), nn.MSECriterion(), "Dropout"),
    (nn.Linear(4, 2), nn.MSECriterion(), "Sequential"),
    (nn.Sequential(nn.Linear(4, 2)), nn.AbsCriterion(), "AbsCriterion"),
    (nn.Sequential(nn.Linear(4, 2)), nn.CrossEntropyCriterion(weights=[1.0, 2.0]), "weighted"),
])
def test_unsupported_models_are_named(model, criterion, message):
    with pytest.raises(fast.UnsupportedError, match=message):
        fast.compile(model, criterion, warm=False)


def test_shared_parameters_and_per_parameter_settings_are_refused():
    first = nn.Linear(4, 4)
    model = nn.Sequential(first, nn.Tanh(), first.clone("weight", "bias", "gradWeight", "gradBias"))
    X, y = np.zeros((2, 4)), np.zeros((2, 4))
    with pytest.raises(fast.UnsupportedError, match="shares"):
        fast.compile(model, nn.MSECriterion(), warm=False).train(X, y, {"learning_rate": 0.1})
    simple = fast.compile(nn.Sequential(nn.Linear(4, 4)), nn.MSECriterion(), warm=False)
    with pytest.raises(fast.UnsupportedError, match="learning_rates"):
        simple.train(X, y, {"learning_rates": np.ones(20)})


def test_bad_inputs_raise_clear_errors():
    compiled = fast.compile(nn.Sequential(nn.Linear(4, 3)), nn.CrossEntropyCriterion(), warm=False)
    with pytest.raises(InputTypeError, match="dtype float64"):
        compiled.train(np.zeros((2, 4), dtype=np.float32), np.zeros(2, dtype=int), {})
    with pytest.raises(InputError, match="0-based"):
        compiled.train(np.zeros((2, 4)), np.array([0, 3]), {})
    with pytest.raises(InputTypeError, match="integer class labels"):
        compiled.train(np.zeros((2, 4)), np.zeros(2), {})
    with pytest.raises(InputError, match="targets of shape"):
        compiled.train(np.zeros((2, 4)), np.int64(0), {})
    with pytest.raises(fast.UnsupportedError, match="gets 5 features"):
        compiled.train(np.zeros((2, 5)), np.zeros(2, dtype=int), {})
    assert issubclass(fast.UnsupportedError, EmberError)


@pytest.mark.parametrize("state, message", [
    ({"learning_rate": float("nan")}, "learning_rate must be a finite number"),
    ({"learning_rate": float("inf")}, "learning_rate must be a finite number"),
    ({"momentum": "0.9"}, "momentum must be a finite number"),
    ({"weight_decay": -1.0}, "weight_decay must be a finite number"),
    ({"dampening": None}, "dampening must be a finite number"),
    ({"learning_rate": True}, "learning_rate must be a finite number"),
    ({"nesterov": "yes"}, "nesterov must be True or False"),
    ({"nesterov": True, "momentum": 0.0}, "Nesterov"),
    ({"learningRate": 0.1}, "unknown optim.sgd setting"),
])
def test_bad_sgd_settings_are_refused_as_optim_sgd_refuses_them(state, message):
    compiled = fast.compile(nn.Sequential(nn.Linear(4, 3)), nn.MSECriterion(), warm=False)
    with pytest.raises(InputError, match=message):
        compiled.train(np.zeros((2, 4)), np.zeros((2, 3)), state)
    with pytest.raises(InputError):
        optim.sgd(lambda x: (0.0, np.zeros_like(x)), np.zeros(3), state)


@pytest.mark.parametrize("batch_size", [0, -1, 1.5, True, "4"])
def test_bad_batch_sizes_are_refused(batch_size):
    compiled = fast.compile(nn.Sequential(nn.Linear(4, 3)), nn.MSECriterion(), warm=False)
    with pytest.raises(InputError, match="batch_size must be an integer"):
        compiled.train(np.zeros((2, 4)), np.zeros((2, 3)), {}, batch_size=batch_size)


def test_an_empty_epoch_trains_nothing():
    model = nn.Sequential(nn.Linear(4, 3))
    before = model.getParameters()[0].copy()
    losses = fast.compile(model, nn.MSECriterion(), warm=False).train(np.zeros((0, 4)), np.zeros((0, 3)), {})
    assert losses.shape == (0,)
    np.testing.assert_array_equal(model.getParameters()[0], before)


def test_neuralnet_fast_writes_the_same_metrics(data_dir, tmp_path):
    """``ember neuralnet … --fast``: the metrics file of the NumPy path, value for value (to 1e-12; the
    printed reprs may differ in the 16th digit), and the same labels.
    """
    from ember.cli.main import main

    ocr = data_dir / "ocr-letters"
    files = {}
    for flags in ([], ["--fast"]):
        out = tmp_path / ("fast" if flags else "numpy")
        out.mkdir()
        words = [str(ocr / "small_train.csv"), str(ocr / "small_test.csv"), str(out / "train.labels"),
                 str(out / "test.labels"), str(out / "metrics.txt"), "2", "20", "1", "0.1", "--quiet", *flags]
        assert main(["neuralnet", *words]) == 0
        files[bool(flags)] = [(out / name).read_text() for name in ("metrics.txt", "train.labels", "test.labels")]
    (numpy_metrics, *numpy_labels), (fast_metrics, *fast_labels) = files[False], files[True]
    assert fast_labels == numpy_labels
    numpy_lines, fast_lines = numpy_metrics.splitlines(), fast_metrics.splitlines()
    assert [line.split(": ")[0] for line in fast_lines] == [line.split(": ")[0] for line in numpy_lines]
    np.testing.assert_allclose([float(line.split(": ")[1]) for line in fast_lines],
                               [float(line.split(": ")[1]) for line in numpy_lines], rtol=1e-12)


@pytest.mark.parametrize("batch_size, state", [(1, {"learning_rate": 0.1}),
                                               (8, {"learning_rate": 0.1, "momentum": 0.9, "weight_decay": 1e-3})])
@pytest.mark.parametrize("criterion, head", [(nn.CrossEntropyCriterion(), []), (nn.BCECriterion(), [nn.Sigmoid()])],
                         ids=["scores", "probability"])
def test_fit_fast_gives_the_numpy_history(batch_size, state, criterion, head):
    from ember.train import fit

    X, y = _problem(criterion)
    histories, params = [], []
    for use_fast in (False, True):
        model = _model("tanh", head)
        histories.append(fit(model, criterion, X, y, config=state, epochs=3, batch_size=batch_size, shuffle=True,
                             seed=4, validation_data=(X[:7], y[:7]), progress=False, fast=use_fast))
        params.append(model.getParameters()[0])
    assert histories[0].keys() == histories[1].keys() and "accuracy" in histories[1]
    for name in histories[0]:
        np.testing.assert_allclose(histories[1][name], histories[0][name], rtol=1e-12, err_msg=name)
    np.testing.assert_allclose(params[1], params[0], rtol=1e-12, atol=1e-14)


def test_fit_fast_falls_back_silently_for_unsupported_models():
    from ember.train import fit

    X, y = _problem(nn.CrossEntropyCriterion())
    model = nn.Sequential(nn.Linear(N_IN, 4), nn.Dropout(0.0), nn.Linear(4, N_OUT))
    history = fit(model, nn.CrossEntropyCriterion(), X, y, config={"learning_rate": 0.1}, epochs=2, batch_size=1,
                  progress=False, fast=True)
    assert len(history["loss"]) == 2
