"""The OCR homework recipe: the module-built network matches a procedural NumPy implementation of the
homework's algorithm step for step; output files have the homework's format; errors are clear."""

from __future__ import annotations

import numpy as np
import pytest

from ember.recipes import ocr
from tests.optional import skip_reason


def procedural(X, y, X_test, y_test, num_epoch, num_hidden, learning_rate, rng=None, K=10, init=None):
    """The homework's Algorithm 1 written out by hand (α, β with the bias in column 0)."""
    M = X.shape[1]
    if init is not None:
        alpha, beta = (np.array(w, dtype=float) for w in init)
    elif rng is None:
        alpha = np.zeros((num_hidden, M + 1))
        beta = np.zeros((K, num_hidden + 1))
    else:  # the same draws, in the same order, as ocr.build_network
        alpha = np.zeros((num_hidden, M + 1))
        alpha[:, 1:] = rng.uniform(-0.1, 0.1, (num_hidden, M))
        beta = np.zeros((K, num_hidden + 1))
        beta[:, 1:] = rng.uniform(-0.1, 0.1, (K, num_hidden))

    def forward(x):
        a = alpha @ np.concatenate([[1.0], x])
        z = 1 / (1 + np.exp(-a))
        b = beta @ np.concatenate([[1.0], z])
        e = np.exp(b - b.max())
        return z, e / e.sum()

    def mean_ce(X_, y_):
        return float(np.mean([-np.log(forward(x)[1][t]) for x, t in zip(X_, y_)]))

    losses_train, losses_test = [], []
    for _ in range(num_epoch):
        for x, t in zip(X, y):
            z, y_hat = forward(x)
            g_b = y_hat.copy()
            g_b[t] -= 1.0
            g_beta = np.outer(g_b, np.concatenate([[1.0], z]))
            g_z = beta[:, 1:].T @ g_b
            g_a = g_z * z * (1 - z)
            g_alpha = np.outer(g_a, np.concatenate([[1.0], x]))
            alpha -= learning_rate * g_alpha
            beta -= learning_rate * g_beta
        losses_train.append(mean_ce(X, y))
        losses_test.append(mean_ce(X_test, y_test))
    predict = lambda X_: np.array([forward(x)[1].argmax() for x in X_])  # noqa: E731
    return losses_train, losses_test, predict(X), predict(X_test)


@pytest.fixture(scope="module")
def toy():
    rng = np.random.default_rng(3)
    X = (rng.random((30, 12)) > 0.5).astype(float)
    y = rng.integers(0, 10, 30)
    return X[:20], y[:20], X[20:], y[20:]


@pytest.mark.parametrize("init_rand", [True, False])
def test_matches_the_procedural_algorithm(toy, init_rand):
    X, y, Xt, yt = toy
    trained = ocr.train((X, y), (Xt, yt), 3, 4, init_rand, 0.1, rng=np.random.default_rng(7))
    expected = procedural(X, y, Xt, yt, 3, 4, 0.1, np.random.default_rng(7) if init_rand else None)
    result = trained.result
    np.testing.assert_allclose(result["loss_per_epoch_train"], expected[0], rtol=1e-12)
    np.testing.assert_allclose(result["loss_per_epoch_val"], expected[1], rtol=1e-12)
    np.testing.assert_array_equal(result["y_hat_train"], expected[2])
    np.testing.assert_array_equal(result["y_hat_val"], expected[3])
    assert result["err_train"] == pytest.approx(np.mean(expected[2] != y))
    assert result["err_val"] == pytest.approx(np.mean(expected[3] != yt))


def test_train_and_test_returns_the_homework_dict(toy):
    X, y, Xt, yt = toy
    result = ocr.train_and_test((X, y), (Xt, yt), num_epoch=2, num_hidden=3, init_rand=False, learning_rate=0.5)
    assert set(result) == {"loss_per_epoch_train", "loss_per_epoch_val", "err_train", "err_val",
                           "y_hat_train", "y_hat_val"}
    assert len(result["loss_per_epoch_train"]) == len(result["loss_per_epoch_val"]) == 2
    assert result["y_hat_train"].shape == (20,) and result["y_hat_val"].shape == (10,)
    assert 0.0 <= result["err_train"] <= 1.0


def test_initialisations():
    rng = np.random.default_rng(0)
    model = ocr.build_network(128, 50, init_rand=True, rng=rng)
    first, last = model.get(0), model.get(2)
    for layer in (first, last):
        assert np.abs(layer.weight).max() <= 0.1 and np.abs(layer.weight).max() > 0.09
        assert np.all(layer.bias == 0)
    assert first.weight.shape == (50, 128) and last.weight.shape == (10, 50)
    zero = ocr.build_network(128, 50, init_rand=False)
    assert all(np.all(p == 0) for p in zero.parameters()[0])
    # ZERO init: every score is equal, so the first prediction is the lowest label and the loss is log 10
    assert ocr.mean_cross_entropy(zero, np.ones((3, 128)), np.array([0, 4, 9])) == pytest.approx(np.log(10))


def test_zero_epochs_reports_the_initial_predictions(toy):
    X, y, Xt, yt = toy
    result = ocr.train_and_test((X, y), (Xt, yt), 0, 3, False, 0.1)
    assert result["loss_per_epoch_train"] == []
    assert np.all(result["y_hat_train"] == 0)


def test_learning_decreases_the_loss(toy):
    X, y, Xt, yt = toy
    result = ocr.train((X, y), (Xt, yt), 10, 8, True, 0.1, rng=np.random.default_rng(0)).result
    assert result["loss_per_epoch_train"][-1] < result["loss_per_epoch_train"][0] < np.log(10)


def test_gradient_check_is_tiny():
    rng = np.random.default_rng(1)
    model = ocr.build_network(6, 4, rng=rng)
    report = ocr.gradient_check(model, rng.random((3, 6)), np.array([1, 5, 9]))
    assert report["parameters"] == 4 * 6 + 4 + 10 * 4 + 10
    assert report["relative_error"] < 1e-7
    assert report["l2_difference"] < 1e-7


def test_output_files(tmp_path):
    result = {"loss_per_epoch_train": [2.5, 2.25], "loss_per_epoch_val": [2.75, 2.5], "err_train": 0.5,
              "err_val": 0.75, "y_hat_train": np.array([1, 2]), "y_hat_val": np.array([3])}
    ocr.write_labels(tmp_path / "train.labels", result["y_hat_train"])
    assert (tmp_path / "train.labels").read_text() == "1\n2\n"
    ocr.write_metrics(tmp_path / "metrics.txt", result)
    assert (tmp_path / "metrics.txt").read_text().splitlines() == [
        "epoch=1 crossentropy(train): 2.5", "epoch=1 crossentropy(test): 2.75",
        "epoch=2 crossentropy(train): 2.25", "epoch=2 crossentropy(test): 2.5",
        "error(train): 0.5", "error(test): 0.75"]


def test_sweep_csv_and_plots(toy, tmp_path):
    pytest.importorskip("matplotlib", reason=skip_reason("matplotlib", "the figures"))
    X, y, Xt, yt = toy
    rows = ocr.sweep((X, y), (Xt, yt), 2, hidden_units=(2, 5), learning_rates=(0.1, 0.01))
    assert [(r["hidden_units"], r["learning_rate"]) for r in rows] == [(2, 0.1), (2, 0.01), (5, 0.1), (5, 0.01)]
    lines = ocr.write_sweep_csv(tmp_path / "sweep.csv", rows).read_text().splitlines()
    assert lines[0].startswith("hidden_units,learning_rate,epoch,crossentropy_train,crossentropy_test")
    assert len(lines) == 1 + 4 * 2
    first, last = lines[1].split(","), lines[2].split(",")
    assert first[5:] == ["", ""]  # the error rates are measured once, after the last epoch
    assert last[5:] == [f"{rows[0]['err_train']:.6f}", f"{rows[0]['err_val']:.6f}"]
    paths = ocr.plot_sweep(rows, tmp_path)
    assert [p.name for p in paths] == ["crossentropy_vs_hidden_units.png", "crossentropy_vs_epoch_lr0.1.png",
                                       "crossentropy_vs_epoch_lr0.01.png"]
    assert all(p.stat().st_size > 0 for p in paths)


def test_bad_input_is_named(toy):
    X, y, Xt, yt = toy
    with pytest.raises(ValueError, match="train_data has 20 examples but 19 labels"):
        ocr.train_and_test((X, y[:-1]), (Xt, yt), 1, 2, True, 0.1)
    with pytest.raises(ValueError, match="label 10"):
        ocr.train_and_test((X, np.full(20, 10)), (Xt, yt), 1, 2, True, 0.1)
    with pytest.raises(ValueError, match="test_data has 11 features per example, train_data has 12"):
        ocr.train_and_test((X, y), (np.ones((10, 11)), yt), 1, 2, True, 0.1)
    with pytest.raises(ValueError, match="learning_rate must be > 0"):
        ocr.train_and_test((X, y), (Xt, yt), 1, 2, True, 0.0)
    with pytest.raises(ValueError, match="num_hidden"):
        ocr.train_and_test((X, y), (Xt, yt), 1, 0, True, 0.1)
    with pytest.raises(TypeError, match=r"\(X, y\) pair or the path"):
        ocr.train_and_test(X, (Xt, yt), 1, 2, True, 0.1)


def test_sweep_rows_are_the_same_on_every_executor(toy):
    X, y, Xt, yt = toy
    here = ocr.sweep((X, y), (Xt, yt), 2, hidden_units=(2, 5), learning_rates=(0.1, 0.01))
    seen = []
    there = ocr.sweep((X, y), (Xt, yt), 2, hidden_units=(2, 5), learning_rates=(0.1, 0.01), executor="processes",
                      workers=2, progress=seen.append)
    assert there == here and seen == here


def test_an_interrupted_sweep_keeps_the_rows_of_the_runs_that_finished(toy, tmp_path, monkeypatch):
    X, y, X_test, y_test = toy
    finished_runs = []
    real = ocr.sweep_run

    def run_then_interrupt(run):
        if finished_runs:
            raise KeyboardInterrupt
        finished_runs.append(run)
        return real(run)

    monkeypatch.setattr(ocr, "sweep_run", run_then_interrupt)
    settings = ocr.SweepSettings(train=(X, y), test=(X_test, y_test), epochs=2, hidden=[3, 4], learning_rates=[0.1])
    lines = []
    with pytest.raises(KeyboardInterrupt):
        ocr.run_sweep(settings, tmp_path, log=lines.append)
    rows = (tmp_path / "sweep.csv").read_text().splitlines()
    assert len(rows) == 1 + 2 and rows[1].startswith("3,0.1,1,")  # the header, then the finished run's 2 epochs
    assert "(1 of 2 runs finished)" in lines[-1]


def test_run_is_the_homework_end_to_end(toy, tmp_path):
    X, y, X_test, y_test = toy
    settings = ocr.Settings((X, y), (X_test, y_test), tmp_path / "train.labels", tmp_path / "test.labels",
                            tmp_path / "metrics.txt", num_epoch=2, hidden_units=3, check_gradient=True)
    result = ocr.run(settings, None, log=lambda line: None)
    assert result.ok and result.gradient_error < 1e-6
    assert [p.name for p in result.files] == ["train.labels", "test.labels", "metrics.txt"]
    assert len(result.trained.result["loss_per_epoch_train"]) == 2


def homework_weights(M, D, K=10, seed=11):
    rng = np.random.default_rng(seed)
    return rng.normal(0, 0.3, (D, M + 1)), rng.normal(0, 0.3, (K, D + 1))


def test_given_initial_weights_match_the_procedural_algorithm(toy, tmp_path):
    X, y, Xt, yt = toy
    alpha, beta = homework_weights(X.shape[1], 4)
    expected = procedural(X, y, Xt, yt, 3, 4, 0.1, init=(alpha, beta))
    result = ocr.train_and_test((X, y), (Xt, yt), 3, 4, True, 0.1, init=(alpha, beta))
    np.testing.assert_allclose(result["loss_per_epoch_train"], expected[0], rtol=1e-12)
    np.testing.assert_allclose(result["loss_per_epoch_val"], expected[1], rtol=1e-12)
    np.testing.assert_array_equal(result["y_hat_train"], expected[2])
    np.testing.assert_array_equal(result["y_hat_val"], expected[3])
    np.savetxt(tmp_path / "alpha.csv", alpha, delimiter=",", fmt="%.17g")
    np.savetxt(tmp_path / "beta.csv", beta, delimiter=",", fmt="%.17g")
    from_files = ocr.train_and_test((X, y), (Xt, yt), 3, 4, False, 0.1,
                                    init=(tmp_path / "alpha.csv", str(tmp_path / "beta.csv")))
    assert from_files["loss_per_epoch_val"] == result["loss_per_epoch_val"]
    model = ocr.build_network(X.shape[1], 4, init=(alpha, beta))
    np.testing.assert_array_equal(model.get(0).bias, alpha[:, 0])
    np.testing.assert_array_equal(model.get(2).weight, beta[:, 1:])


def test_the_handouts_positional_form(toy):
    X, y, Xt, yt = toy
    ours = ocr.train_and_test((X, y), (Xt, yt), 2, 3, False, 0.1)
    handout = ocr.train_and_test(X, y, Xt, yt, 2, 3, False, 0.1)
    named = ocr.train_and_test(X_train=X, y_train=y, X_val=Xt, y_val=yt, num_epoch=2, num_hidden=3, init_rand=False,
                               learning_rate=0.1)
    for result in (handout, named):
        assert result["loss_per_epoch_train"] == ours["loss_per_epoch_train"]
        np.testing.assert_array_equal(result["y_hat_val"], ours["y_hat_val"])
    alpha, beta = homework_weights(X.shape[1], 3)
    given = ocr.train_and_test(X, y, Xt, yt, 2, 3, True, 0.1, init=(alpha, beta))
    assert given["loss_per_epoch_val"] == ocr.train_and_test((X, y), (Xt, yt), 2, 3, True, 0.1,
                                                             init=(alpha, beta))["loss_per_epoch_val"]
    with pytest.raises(TypeError, match="missing 'learning_rate'"):
        ocr.train_and_test(X, y, Xt, yt, 2, 3, False)
    with pytest.raises(TypeError, match="two values for 'num_epoch'"):
        ocr.train_and_test(X, y, Xt, yt, 2, 3, False, 0.1, num_epoch=3)
    with pytest.raises(TypeError, match="unexpected argument 'epochs'"):
        ocr.train_and_test((X, y), (Xt, yt), 2, 3, False, 0.1, epochs=3)


def test_bad_initial_weights_are_named(toy, tmp_path):
    X, y, Xt, yt = toy
    alpha, beta = homework_weights(X.shape[1], 4)
    with pytest.raises(ValueError, match=r"alpha has shape \(4, 13\), expected \(5, 13\)"):
        ocr.train_and_test((X, y), (Xt, yt), 1, 5, True, 0.1, init=(alpha, beta))
    (tmp_path / "beta.csv").write_text("1,2\nx,4\n")
    with pytest.raises(ValueError, match="beta file .*beta.csv' is not a comma-separated table"):
        ocr.train_and_test((X, y), (Xt, yt), 1, 4, True, 0.1, init=(alpha, tmp_path / "beta.csv"))
    with pytest.raises(FileNotFoundError, match="missing.csv"):
        ocr.train_and_test((X, y), (Xt, yt), 1, 4, True, 0.1, init=(tmp_path / "missing.csv", beta))
