"""ember.train: fit (batching, metrics, determinism, NaN, modes, checkpoints), evaluate, predict."""

from __future__ import annotations

import io as stdio
import sys

import numpy as np
import pytest

from ember import io, manual_seed, nn, optim
from ember.callbacks import Callback
from ember.errors import InputError
from ember.train import History, ResumeMismatchError, evaluate, fit, predict, predict_proba


def blobs(n_per_class: int = 20, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Three well-separated Gaussian blobs in 2-D, labels 0, 1, 2."""
    rng = np.random.default_rng(seed)
    centres = np.array([[0.0, 2.0], [2.0, -1.0], [-2.0, -1.0]])
    X = np.concatenate([c + 0.5 * rng.normal(size=(n_per_class, 2)) for c in centres])
    y = np.repeat(np.arange(3), n_per_class)
    return X, y


def classifier(seed: int = 0, hidden: int = 8) -> nn.Module:
    rng = np.random.default_rng(seed)
    return nn.Sequential(nn.Linear(2, hidden, rng=rng), nn.Tanh(), nn.Linear(hidden, 3, rng=rng), nn.LogSoftMax())


def counting(optimizer):
    """Wrap an optimizer, counting its calls."""
    def wrapped(feval, x, state):
        wrapped.calls += 1
        return optimizer(feval, x, state)
    wrapped.calls = 0
    wrapped.__name__ = optimizer.__name__
    return wrapped


class ModeProbe(nn.Identity):
    """Records the training flag at every forward pass."""

    def __init__(self):
        super().__init__()
        self.modes = []

    def updateOutput(self, input):
        self.modes.append(self.train)
        return super().updateOutput(input)


def test_fit_learns_and_returns_a_history():
    X, y = blobs()
    model = classifier()
    history = fit(model, nn.ClassNLLCriterion(), X, y, optimizer=optim.adagrad, config={"learning_rate": 0.1},
                  epochs=60, progress=False)
    assert isinstance(history, History) and set(history) == {"loss", "accuracy"}
    assert history.epochs == 60 and len(history["accuracy"]) == 60
    assert history["loss"][-1] < 0.3 * history["loss"][0]
    assert history["accuracy"][-1] == 1.0
    assert evaluate(model, nn.ClassNLLCriterion(), X, y)["accuracy"] == 1.0
    assert "epochs=60" in repr(history)


def test_full_batch_loss_is_the_loss_before_the_step():
    X, y = blobs()
    model = classifier()
    before = nn.ClassNLLCriterion().forward(model.forward(X), y)
    history = fit(model, nn.ClassNLLCriterion(), X, y, config={"learning_rate": 0.5}, epochs=2, progress=False)
    assert history["loss"][0] == pytest.approx(before, rel=1e-12)
    assert history["loss"][1] < history["loss"][0]


@pytest.mark.parametrize(("batch_size", "steps"), [(None, 1), (1, 60), (16, 4), (60, 1), (1000, 1)])
def test_batch_size_sets_the_number_of_steps(batch_size, steps):
    X, y = blobs()
    opt = counting(optim.sgd)
    fit(classifier(), nn.ClassNLLCriterion(), X, y, optimizer=opt, epochs=3, batch_size=batch_size, progress=False)
    assert opt.calls == 3 * steps


def test_per_example_sgd_matches_a_hand_written_loop():
    X, y = blobs(5)
    model, twin = classifier(1), classifier(1)
    history = fit(model, nn.ClassNLLCriterion(), X, y, config={"learning_rate": 0.1}, epochs=2, batch_size=1,
                  progress=False)
    criterion = nn.ClassNLLCriterion()
    losses = []
    for _ in range(2):
        total = 0.0
        for i in range(len(X)):
            twin.zeroGradParameters()
            output = twin.forward(X[i:i + 1])
            total += criterion.forward(output, y[i:i + 1])
            twin.backward(X[i:i + 1], criterion.backward(output, y[i:i + 1]))
            twin.updateParameters(0.1)
        losses.append(total / len(X))
    np.testing.assert_allclose(model.getParameters()[0], twin.getParameters()[0], rtol=1e-12)
    np.testing.assert_allclose(history["loss"], losses, rtol=1e-12)


def test_same_seed_same_history_bit_for_bit():
    X, y = blobs()

    def run(seed):
        model = classifier()
        history = fit(model, nn.ClassNLLCriterion(), X, y, optimizer=optim.sgd,
                      config={"learning_rate": 0.05, "momentum": 0.9}, epochs=5, batch_size=7, shuffle=True,
                      seed=seed, progress=False)
        return history, model.getParameters()[0].copy()

    (h1, p1), (h2, p2), (h3, _) = run(3), run(3), run(4)
    assert h1 == h2
    assert np.array_equal(p1, p2)
    assert h1 != h3


def test_string_optimizer_and_config_left_untouched():
    X, y = blobs()
    config = {"learning_rate": 0.1}
    fit(classifier(), nn.ClassNLLCriterion(), X, y, optimizer="adam", config=config, epochs=2, progress=False)
    assert config == {"learning_rate": 0.1}
    with pytest.raises(ValueError, match="unknown optimizer 'adamz'; choose one of .*adamw"):
        fit(classifier(), nn.ClassNLLCriterion(), X, y, optimizer="adamz")
    with pytest.raises(ValueError, match="unknown optimizer 'fista'"):
        fit(classifier(), nn.ClassNLLCriterion(), X, y, optimizer="fista")
    with pytest.raises(ValueError, match="unknown configuration key 'learningRate'"):
        fit(classifier(), nn.ClassNLLCriterion(), X, y, config={"learningRate": 0.1}, progress=False)


def test_accuracy_kinds():
    assert nn.ClassNLLCriterion().output_meaning == "scores"
    assert nn.CrossEntropyCriterion().output_meaning == "scores"
    assert nn.MultiMarginCriterion().output_meaning == "scores"
    assert nn.BCECriterion().output_meaning == "probability"
    assert nn.MSECriterion().output_meaning == "value"

    X, y = blobs()
    scores = nn.Sequential(nn.Linear(2, 3, rng=np.random.default_rng(0)))
    history = fit(scores, nn.CrossEntropyCriterion(), X, y, config={"learning_rate": 0.5}, epochs=30,
                  progress=False)
    assert history["accuracy"][-1] > 0.9

    binary = (y == 0).astype(float)[:, None]
    model = nn.Sequential(nn.Linear(2, 1, rng=np.random.default_rng(0)), nn.Sigmoid())
    history = fit(model, nn.BCECriterion(), X, binary, config={"learning_rate": 1.0}, epochs=50, progress=False)
    assert history["accuracy"][-1] == 1.0
    p = model.forward(X)
    assert evaluate(model, nn.BCECriterion(), X, binary)["accuracy"] == np.mean((p > 0.5) == (binary > 0.5))

    regression = nn.Sequential(nn.Linear(2, 1))
    history = fit(regression, nn.MSECriterion(), X, X[:, :1] * 2, epochs=2, progress=False)
    assert set(history) == {"loss"}
    assert set(evaluate(regression, nn.MSECriterion(), X, X[:, :1] * 2)) == {"loss"}


def test_pixel_scores_take_the_class_axis_1():
    """SpatialClassNLL's accuracy is per pixel, argmax over the classes of (n, C, H, W) (its class_axis -3),
    in fit (batches and single examples) and evaluate."""
    rng = np.random.default_rng(0)
    X = rng.normal(size=(6, 2, 3, 4))
    y = rng.integers(0, 3, size=(6, 3, 4))
    model = nn.Sequential(nn.SpatialConvolution(2, 3, 1, 1), nn.SpatialLogSoftMax())
    model.reset(0)
    criterion = nn.SpatialClassNLLCriterion()
    expected = float(np.mean(model.forward(X).argmax(axis=1) == y))
    scores = evaluate(model, criterion, X, y, batch_size=4)
    assert scores["accuracy"] == pytest.approx(expected)
    assert scores["loss"] == pytest.approx(criterion.forward(model.forward(X), y))
    history = fit(model, criterion, X, y, config={"learning_rate": 0.5}, epochs=20, batch_size=None, progress=False)
    assert history["accuracy"][0] == pytest.approx(expected)  # full batch: the accuracy before the step
    assert history["accuracy"][-1] > expected
    model.reset(0)
    history = fit(model, criterion, X, y, config={"learning_rate": 0.1}, epochs=1, batch_size=1, progress=False)
    assert 0 <= history["accuracy"][0] <= 1


def test_a_penalty_outside_the_criterion_is_in_the_loss_and_adds_its_own_gradient():
    """penalty(model) = λ/2‖θ‖², adding λθ to the gradients, trains as sgd's weight_decay λ does; its value is
    in the loss the history records."""
    X, y = blobs()
    lam = 0.05

    def penalty(model):
        params, grads = model.parameters()
        for p, g in zip(params, grads):
            g += lam * p
        return 0.5 * lam * sum(float(np.sum(p * p)) for p in params)

    penalised, decayed = classifier(), classifier()
    start = 0.5 * lam * float(np.sum(penalised.getParameters()[0] ** 2))
    history = fit(penalised, nn.ClassNLLCriterion(), X, y, config={"learning_rate": 0.2}, epochs=5,
                  progress=False, penalty=penalty)
    plain = fit(decayed, nn.ClassNLLCriterion(), X, y, config={"learning_rate": 0.2, "weight_decay": lam},
                epochs=5, progress=False)
    np.testing.assert_allclose(penalised.getParameters()[0], decayed.getParameters()[0], rtol=1e-12, atol=1e-14)
    assert history["loss"][0] == pytest.approx(plain["loss"][0] + start)
    with pytest.raises(TypeError, match="penalty must be a function penalty\\(model\\) -> float, got int"):
        fit(classifier(), nn.ClassNLLCriterion(), X, y, penalty=3)


def test_metrics_argument():
    X, y = blobs()
    history = fit(classifier(), nn.ClassNLLCriterion(), X, y, metrics=("loss",), validation_data=(X, y),
                  progress=False)
    assert set(history) == {"loss", "val_loss"}
    with pytest.raises(ValueError, match="unknown metric 'f1'"):
        fit(classifier(), nn.ClassNLLCriterion(), X, y, metrics=("loss", "f1"))


def test_validation_metrics_are_evaluate_after_each_epoch():
    X, y = blobs()
    Xv, yv = blobs(seed=1)
    model = classifier()
    seen = []
    history = fit(model, nn.ClassNLLCriterion(), X, y, config={"learning_rate": 0.1}, epochs=3,
                  validation_data=(Xv, yv), callbacks=[lambda e, logs: seen.append((e, logs))], progress=False)
    assert set(history) == {"loss", "accuracy", "val_loss", "val_accuracy"}
    final = evaluate(model, nn.ClassNLLCriterion(), Xv, yv)
    assert history["val_loss"][-1] == final["loss"] and history["val_accuracy"][-1] == final["accuracy"]
    assert [e for e, _ in seen] == [1, 2, 3]
    assert seen[-1][1] == History(history).last()


def test_callback_can_stop_training():
    X, y = blobs()
    history = fit(classifier(), nn.ClassNLLCriterion(), X, y, epochs=10, progress=False,
                  callbacks=[lambda epoch, logs: epoch == 4])
    assert history.epochs == 4


@pytest.mark.filterwarnings("ignore:invalid value encountered in log")
def test_nan_loss_stops_with_epoch_and_batch():
    X, y = blobs()
    X = np.abs(X) + 0.1
    X[25] = -1.0  # finite, so accepted, but its log is NaN
    model = nn.Sequential(nn.Log(), nn.Linear(2, 3, rng=np.random.default_rng(0)), nn.LogSoftMax())
    before = model.getParameters()[0].copy()
    with pytest.raises(FloatingPointError, match=r"loss is nan at epoch 1, batch 6 of 12"):
        fit(model, nn.ClassNLLCriterion(), X, y, batch_size=5, progress=False)
    after = model.getParameters()[0]
    assert np.all(np.isfinite(after)) and not np.array_equal(before, after)  # 5 good steps were taken


def test_diverging_loss_stops():
    X, y = blobs()
    model = nn.Sequential(nn.Linear(2, 1))
    expected = r"loss is inf at epoch \d+, batch 1 of 1"
    with np.errstate(over="ignore", invalid="ignore"), pytest.raises(FloatingPointError, match=expected):
        fit(model, nn.MSECriterion(), X * 1e3, X[:, :1] * 1e3, config={"learning_rate": 10.0}, epochs=200,
            progress=False)


def test_training_mode_in_fit_evaluation_mode_in_evaluate_and_predict():
    X, y = blobs()
    probe = ModeProbe()
    model = nn.Sequential(nn.Linear(2, 3), probe, nn.LogSoftMax())
    model.evaluate()
    fit(model, nn.ClassNLLCriterion(), X, y, epochs=2, validation_data=(X, y), progress=False)
    assert probe.modes == [True, False, True, False]
    assert model.train is False  # restored
    model.training()
    probe.modes.clear()
    evaluate(model, nn.ClassNLLCriterion(), X, y)
    predict(model, X)
    predict_proba(model, X)
    assert probe.modes == [False, False, False]
    assert model.train is True


def test_float32_model_trains_in_float32():
    X, y = blobs()
    model = classifier().float()
    history = fit(model, nn.ClassNLLCriterion(), X, y, config={"learning_rate": 0.1}, epochs=3, progress=False)
    assert model.getParameters()[0].dtype == np.float32
    assert model.output.dtype == np.float32
    assert history["loss"][-1] < history["loss"][0]


def test_argument_errors():
    X, y = blobs()
    criterion = nn.ClassNLLCriterion()
    with pytest.raises(ValueError, match=r"y must have one target per example \(60\), got shape \(59,\)"):
        fit(classifier(), criterion, X, y[:-1])
    with pytest.raises(ValueError, match="batch_size must be None .* got 0"):
        fit(classifier(), criterion, X, y, batch_size=0)
    with pytest.raises(ValueError, match="epochs must be a non-negative integer, got -1"):
        fit(classifier(), criterion, X, y, epochs=-1)
    with pytest.raises(TypeError, match="integer class labels"):
        fit(classifier(), criterion, X, y + 0.5)
    with pytest.raises(TypeError, match="criterion must be an ember Criterion"):
        fit(classifier(), lambda a, b: 0, X, y)
    with pytest.raises(ValueError, match="at least one example"):
        fit(classifier(), criterion, X[:0], y[:0])
    with pytest.raises(TypeError, match="validation_data must be a pair"):
        fit(classifier(), criterion, X, y, validation_data=X)
    history = fit(classifier(), criterion, X, y.astype(float), epochs=1, progress=False)  # whole floats are fine
    assert history.epochs == 1


def test_progress_bar_only_on_a_terminal(monkeypatch):
    class Terminal(stdio.StringIO):
        def isatty(self):
            return True

    X, y = blobs()
    terminal = Terminal()
    monkeypatch.setattr(sys, "stderr", terminal)
    fit(classifier(), nn.ClassNLLCriterion(), X, y, epochs=3, batch_size=20)
    text = terminal.getvalue()
    assert "epoch 3/3" in text and "loss=" in text and "acc=" in text and "9/9" in text
    quiet = Terminal()
    monkeypatch.setattr(sys, "stderr", quiet)
    fit(classifier(), nn.ClassNLLCriterion(), X, y, epochs=3, progress=False)
    assert quiet.getvalue() == ""
    pipe = stdio.StringIO()
    monkeypatch.setattr(sys, "stderr", pipe)
    fit(classifier(), nn.ClassNLLCriterion(), X, y, epochs=3)
    assert pipe.getvalue() == ""


@pytest.mark.parametrize(("optimizer", "config"), [
    ("sgd", {"learning_rate": 0.05, "momentum": 0.9, "nesterov": True, "dampening": 0.0}),
    ("adam", {"learning_rate": 0.01}),
    ("lbfgs", {"max_iter": 3, "line_search": "strong_wolfe"}),
])
def test_interrupted_then_resumed_is_bit_identical(tmp_path, optimizer, config):
    X, y = blobs()
    Xv, yv = blobs(seed=1)
    common = dict(optimizer=optimizer, config=config, batch_size=8, shuffle=True, seed=11,
                  validation_data=(Xv, yv), progress=False)
    straight = classifier()
    expected = fit(straight, nn.ClassNLLCriterion(), X, y, epochs=6, **common)

    path = tmp_path / "run.ckpt.safetensors"
    first = classifier()
    fit(first, nn.ClassNLLCriterion(), X, y, epochs=6, checkpoint=path,
        callbacks=[lambda epoch, logs: epoch == 2], **common)  # "interrupted" after epoch 2
    assert io.load_checkpoint(path).epoch == 2
    resumed = classifier(seed=99)  # a different initialisation: everything must come from the checkpoint
    history = fit(resumed, nn.ClassNLLCriterion(), X, y, epochs=6, resume=path, checkpoint=path, **common)
    assert history == expected
    assert np.array_equal(resumed.getParameters()[0], straight.getParameters()[0])
    assert io.load_checkpoint(path).epoch == 6


@pytest.mark.parametrize("own_rng", [False, True])
def test_resume_with_dropout_restores_the_generators(tmp_path, own_rng):
    X, y = blobs()

    def model():
        rng = np.random.default_rng(0)
        dropout = nn.Dropout(0.3, rng=np.random.default_rng(1)) if own_rng else nn.Dropout(0.3)
        return nn.Sequential(nn.Linear(2, 8, rng=rng), nn.Tanh(), dropout, nn.Linear(8, 3, rng=rng),
                             nn.LogSoftMax())

    common = dict(config={"learning_rate": 0.1}, batch_size=10, progress=False)
    manual_seed(5)
    straight = model()
    expected = fit(straight, nn.ClassNLLCriterion(), X, y, epochs=4, **common)
    manual_seed(5)
    path = tmp_path / "c.safetensors"
    fit(model(), nn.ClassNLLCriterion(), X, y, epochs=2, checkpoint=path, **common)
    manual_seed(123)  # whatever happened to the generators in between
    resumed = model()
    assert fit(resumed, nn.ClassNLLCriterion(), X, y, epochs=4, resume=path, **common) == expected
    assert np.array_equal(resumed.getParameters()[0], straight.getParameters()[0])


def test_resume_checks_model_and_optimizer(tmp_path):
    X, y = blobs()
    path = tmp_path / "c.safetensors"
    fit(classifier(), nn.ClassNLLCriterion(), X, y, epochs=1, checkpoint=path, progress=False)
    with pytest.raises(ValueError, match="the checkpoint's model differs"):
        fit(classifier(hidden=5), nn.ClassNLLCriterion(), X, y, epochs=2, resume=path, progress=False)
    with pytest.raises(ValueError, match="written by optimizer 'sgd', fit was given 'adam'"):
        fit(classifier(), nn.ClassNLLCriterion(), X, y, optimizer="adam", epochs=2, resume=path, progress=False)
    done = fit(classifier(), nn.ClassNLLCriterion(), X, y, epochs=1, resume=path, progress=False)
    assert done.epochs == 1  # nothing left to do


def test_resume_refuses_other_settings_or_data_naming_what_differs(tmp_path):
    X, y = blobs()
    path = tmp_path / "c.safetensors"
    common = dict(batch_size=10, shuffle=True, seed=3, progress=False)
    fit(classifier(), nn.ClassNLLCriterion(), X, y, config={"learning_rate": 0.1}, epochs=1, checkpoint=path,
        schedule="cosine", **common)
    resume = dict(common, config={"learning_rate": 0.1}, schedule="cosine", epochs=2, resume=path)
    for change, message in [
        ({"config": {"learning_rate": 0.5}}, r"learning_rate 0.5 differs from the checkpoint's 0.1"),
        ({"config": {"learning_rate": 0.1, "momentum": 0.9}}, r"momentum 0.9 differs from the checkpoint's None"),
        ({"batch_size": 20}, r"batch_size 20 differs from the checkpoint's 10"),
        ({"shuffle": False}, r"shuffle False differs from the checkpoint's True"),
        ({"seed": 4}, r"seed 4 differs from the checkpoint's 3"),
        ({"schedule": "step"}, r"schedule step differs from the checkpoint's cosine"),
    ]:
        with pytest.raises(ResumeMismatchError, match=message) as info:
            fit(classifier(), nn.ClassNLLCriterion(), X, y, **{**resume, **change})
        assert str(path) in str(info.value)
    X2 = X.copy()
    X2[0, 0] += 1e-9
    with pytest.raises(ResumeMismatchError, match=r"data 60 rows, sha256 \w+ differs from the checkpoint's 60 rows"):
        fit(classifier(), nn.ClassNLLCriterion(), X2, y, **resume)
    assert fit(classifier(), nn.ClassNLLCriterion(), X, y, **resume).epochs == 2


def test_schedule_in_fit_steps_once_per_epoch():
    X, y = blobs()
    seen = []

    class Rate(Callback):
        def on_batch_end(self, training, batch, loss):
            seen.append(training.state["learning_rate"])

    fit(classifier(), nn.ClassNLLCriterion(), X, y, config={"learning_rate": 0.8}, epochs=5, batch_size=20,
        schedule=lambda state: optim.schedules.StepLR(state, step_size=2, gamma=0.5), callbacks=[Rate()],
        progress=False)
    assert seen == [0.8] * 6 + [0.4] * 6 + [0.2] * 3
    rates = []

    class EpochRate(Callback):
        def on_epoch_end(self, training, epoch, logs):
            rates.append(training.state["learning_rate"])

    history = fit(classifier(), nn.ClassNLLCriterion(), X, y, config={"learning_rate": 0.8}, epochs=8,
                  schedule=lambda state: optim.schedules.ReduceLROnPlateau(state, patience=0, threshold=0.3),
                  callbacks=[EpochRate()], progress=False)
    by_hand = optim.schedules.ReduceLROnPlateau({"learning_rate": 0.8}, patience=0, threshold=0.3)
    assert rates == [by_hand.step(loss) for loss in history["loss"]] and rates[-1] < 0.8  # it watched the loss
    with pytest.raises(TypeError, match="schedule must be a name"):
        fit(classifier(), nn.ClassNLLCriterion(), X, y, config={"learning_rate": 0.8}, schedule=3, progress=False)


def test_schedule_state_travels_in_the_checkpoint(tmp_path):
    X, y = blobs()
    common = dict(config={"learning_rate": 0.8}, batch_size=20, schedule="exponential", progress=False)
    straight = classifier()
    expected = fit(straight, nn.ClassNLLCriterion(), X, y, epochs=5, **common)
    path = tmp_path / "c.safetensors"
    fit(classifier(), nn.ClassNLLCriterion(), X, y, epochs=2, checkpoint=path, **common)
    assert io.load_checkpoint(path).extra["schedule"]["last_epoch"] == 2
    resumed = classifier()
    assert fit(resumed, nn.ClassNLLCriterion(), X, y, epochs=5, resume=path, **common) == expected
    assert np.array_equal(resumed.getParameters()[0], straight.getParameters()[0])


def test_predict_and_predict_proba():
    X, y = blobs()
    model = classifier()
    fit(model, nn.ClassNLLCriterion(), X, y, optimizer="adagrad", config={"learning_rate": 0.1}, epochs=40,
        progress=False)
    log_p = model.forward(X).copy()
    np.testing.assert_array_equal(predict(model, X), log_p.argmax(axis=1))
    np.testing.assert_allclose(predict_proba(model, X), np.exp(log_p))
    np.testing.assert_array_equal(predict(model, X, raw=True), log_p)
    np.testing.assert_array_equal(predict(model, X, batch_size=7), predict(model, X))

    soft = nn.Sequential(*model.modules[:-1], nn.SoftMax())
    np.testing.assert_allclose(predict_proba(soft, X), np.exp(log_p))
    scores = nn.Sequential(*model.modules[:-1])
    np.testing.assert_allclose(predict_proba(scores, X), np.exp(log_p))
    np.testing.assert_allclose(predict_proba(scores, X).sum(axis=1), 1.0)

    sigmoid = nn.Sequential(nn.Linear(2, 1), nn.Sigmoid())
    p = sigmoid.forward(X)[:, 0].copy()
    np.testing.assert_array_equal(predict(sigmoid, X), (p > 0.5).astype(int))
    np.testing.assert_allclose(predict_proba(sigmoid, X), np.stack([1 - p, p], axis=1))
    with pytest.raises(ValueError, match="must end in Sigmoid .* ends in Linear"):
        predict_proba(nn.Sequential(nn.Linear(2, 1)), X)


def test_fit_per_example_steps_on_rows_and_matches_a_hand_written_loop():
    """batch_size=1 takes the per-example path: one (n,) row per step, as the classic loop does."""
    rng = np.random.default_rng(0)
    X, y = rng.standard_normal((30, 4)), rng.integers(0, 3, 30)

    def model():
        r = np.random.default_rng(1)
        return nn.Sequential(nn.Linear(4, 5, rng=r), nn.Tanh(), nn.Linear(5, 3, rng=r))

    fitted, reference, criterion = model(), model(), nn.CrossEntropyCriterion()
    seen = []
    first = fitted.get(0)
    forward = first.updateOutput
    first.updateOutput = lambda x: seen.append(x.shape) or forward(x)
    history = fit(fitted, criterion, X, y, config={"learning_rate": 0.1}, epochs=1, batch_size=1, progress=False)
    assert set(seen) == {(4,)}
    params, grads = reference.getParameters()
    losses = []
    for i in range(30):
        def feval(_, i=i):
            loss = criterion.forward(reference.forward(X[i]), y[i])
            grads.fill(0)
            reference.backward(X[i], criterion.backward(reference.output, y[i]))
            return loss, grads
        losses.append(optim.sgd(feval, params, {"learning_rate": 0.1})[1][0])
    np.testing.assert_array_equal(fitted.getParameters()[0], params)
    assert history["loss"][0] == pytest.approx(np.mean(losses), rel=1e-12)


@pytest.mark.parametrize("where", ["X", "y", "validation X"])
def test_non_finite_data_are_refused_up_front_naming_the_row_and_column(where):
    rng = np.random.default_rng(0)
    X, y = rng.standard_normal((20, 3)), rng.standard_normal((20, 2))
    X_val, y_val = X[:5].copy(), y[:5].copy()
    {"X": X, "y": y, "validation X": X_val}[where][7 % (5 if where == "validation X" else 20), 1] = np.inf
    model = nn.Sequential(nn.Linear(3, 2))
    before = model.getParameters()[0].copy()
    row = 2 if where == "validation X" else 7
    with pytest.raises(InputError, match=rf"^{where} holds inf at row {row}, column 1: the data must be finite"):
        fit(model, nn.MSECriterion(), X, y, epochs=1, validation_data=(X_val, y_val), progress=False)
    np.testing.assert_array_equal(model.getParameters()[0], before)


def test_predict_and_evaluate_refuse_nan_inputs():
    model = nn.Sequential(nn.Linear(3, 2), nn.LogSoftMax())
    X = np.zeros((4, 3))
    X[3, 0] = np.nan
    with pytest.raises(InputError, match=r"X holds nan at row 3, column 0"):
        predict(model, X)
    with pytest.raises(InputError, match=r"X holds nan at row 3, column 0"):
        evaluate(model, nn.ClassNLLCriterion(), X, np.zeros(4, dtype=int))
