"""ember.recipes.train: the workflow of ``ember train`` as one library call, with models of your own."""

from __future__ import annotations

import numpy as np
import pytest

from ember.cli import main
from ember.nn.module import Module
from ember.recipes import train


class Scores(Module):
    """Class scores ``x Wᵀ + c``: a module of your own, its parameters declared under names of its own."""

    def __init__(self, n_in: int, n_out: int) -> None:
        super().__init__()
        self.n_in, self.n_out = n_in, n_out
        self.register_parameter("w", np.zeros((n_out, n_in)))
        self.register_parameter("c", np.zeros(n_out))

    def config(self) -> dict:
        return {"n_in": self.n_in, "n_out": self.n_out}

    def updateOutput(self, input):
        self.output = input @ self.w.T + self.c
        return self.output

    def updateGradInput(self, input, gradOutput):
        self.gradInput = gradOutput @ self.w
        return self.gradInput

    def accGradParameters(self, input, gradOutput, scale=1.0):
        x, g = np.atleast_2d(input), np.atleast_2d(gradOutput)
        self.gradW += scale * g.T @ x
        self.gradC += scale * g.sum(axis=0)


def test_the_command_prints_what_the_recipe_logs(capsys):
    """``ember train`` is the recipe: the same lines, from one library call."""
    lines = []
    result = train.run(train.Settings(dataset="iris", hidden=[5], lr=0.1, epochs=3, validation_split=0.2,
                                      progress=False), log=lines.append)
    assert main(["train", "--dataset", "iris", "--hidden", "5", "--lr", "0.1", "--epochs", "3",
                 "--validation-split", "0.2", "--quiet"]) == 0
    assert capsys.readouterr().out == "".join(line + "\n" for line in lines)
    assert set(result.rows) == {"train", "validation"} and result.history.epochs == 3
    assert result.rows["train"]["accuracy"] > 0.5 and result.ok


def test_settings_that_do_not_go_together_name_the_options():
    with pytest.raises(train.SettingsError, match="--lr-decay: rmsprop has no learning-rate decay"):
        train.run(train.Settings(dataset="iris", optimizer="rmsprop", lr_decay=0.1))
    with pytest.raises(train.SettingsError, match="--hidden shapes the mlp model; your model's layers are its own"):
        train.run(train.Settings(dataset="iris", model=Scores, hidden=[3]))
    with pytest.raises(train.SettingsError, match="give one of --dataset or --data"):
        train.run(train.Settings())
    with pytest.raises(TypeError, match=r"--model <lambda>\(4, 3\) returned int, not an ember Module"):
        train.run(train.Settings(dataset="iris", model=lambda n_in, n_out: 3, progress=False))


def test_a_model_class_of_your_own_trains_with_the_mlp_defaults_and_its_own_criterion():
    lines = []
    result = train.run(train.Settings(dataset="iris", model=Scores, batch_size=16, lr=0.1, epochs=30,
                                      progress=False), log=lines.append)
    assert isinstance(result.model, Scores) and lines[1] == "nn.Scores"
    assert "after 30 epochs (sgd, learning rate 0.1, batch size 16):" in lines
    assert result.rows["train"]["accuracy"] > 0.9  # cross-entropy on its scores
    assert not np.all(result.model.w == 0)


LAYERS = '''
import numpy as np
from ember.nn.module import Module

class Scores(Module):
    def __init__(self, n_in, n_out):
        super().__init__()
        self.n_in, self.n_out = n_in, n_out
        self.register_parameter("w", np.zeros((n_out, n_in)))
        self.register_parameter("c", np.zeros(n_out))

    def config(self):
        return {"n_in": self.n_in, "n_out": self.n_out}

    def updateOutput(self, input):
        self.output = input @ self.w.T + self.c
        return self.output

    def updateGradInput(self, input, gradOutput):
        self.gradInput = gradOutput @ self.w
        return self.gradInput

    def accGradParameters(self, input, gradOutput, scale=1.0):
        x, g = np.atleast_2d(input), np.atleast_2d(gradOutput)
        self.gradW += scale * g.T @ x
        self.gradC += scale * g.sum(axis=0)
'''


def test_ember_train_takes_your_model_and_trust_on_a_saved_model_and_its_resume(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "layers.py").write_text(LAYERS)
    common = ["train", "--dataset", "iris", "--batch-size", "16", "--lr", "0.1", "--quiet"]
    assert main([*common, "--model", "layers.py:Scores", "--epochs", "2", "--checkpoint", "c.safetensors",
                 "--save", "m.safetensors"]) == 0
    assert "Scores" in capsys.readouterr().out
    assert main([*common, "--model", "layers.py:Scores", "--epochs", "3", "--resume", "c.safetensors"]) == 0
    assert "after 3 epochs" in capsys.readouterr().out
    saved = [*common, "--model", "m.safetensors", "--epochs", "2", "--checkpoint", "c2.safetensors"]
    for argv in (saved, [*common, "--model", "m.safetensors", "--epochs", "3", "--resume", "c2.safetensors"]):
        assert main(argv) == 1  # refused: the saved model names a class nobody trusted
        err = capsys.readouterr().err.strip().splitlines()
        assert len(err) == 1 and "'_ember_user_layers:Scores'" in err[0] and "--trust FILE.py:Scores" in err[0]
        assert not (tmp_path / "c2.safetensors").exists()
    assert main([*saved, "--trust", "layers.py:Scores"]) == 0
    assert "after 2 epochs" in capsys.readouterr().out
    assert main([*common, "--model", "m.safetensors", "--trust", "layers.py:Scores", "--epochs", "3",
                 "--resume", "c2.safetensors"]) == 0
    assert "after 3 epochs" in capsys.readouterr().out
    assert main([*common, "--model", "layers.py:Nope"]) == 2
    assert "layers.py defines no 'Nope'" in capsys.readouterr().err
    assert main([*common, "--model", "cnn"]) == 2
    assert "argument --model: invalid choice: 'cnn'" in capsys.readouterr().err


def test_a_saved_model_is_evaluated_and_predicts_in_one_call_each(tmp_path):
    saved = tmp_path / "iris.safetensors"
    train.run(train.Settings(dataset="iris", hidden=[5], lr=0.1, epochs=20, validation_split=0.3, save=str(saved),
                             progress=False), log=lambda line: None)
    lines = []
    result = train.run_evaluate(train.EvaluateSettings(str(saved), "iris"), log=lines.append)
    assert list(result.rows) == ["train", "test"] and len(result.notes) == 1
    assert result.matrix.mat.sum() == 45  # the rows held out
    assert lines[-2] == "on test:" and "note: the model was trained on this part" in lines[1:-2][0]
    with pytest.raises(train.SettingsError, match="--split test: xor has only all"):
        train.run_evaluate(train.EvaluateSettings(str(saved), "xor", split="test"))
    from ember import data

    X, y = data.iris()
    csv = tmp_path / "rows.csv"
    np.savetxt(csv, np.c_[y, X], delimiter=",", fmt="%.6g")
    predicted = train.run_predict(train.PredictSettings(str(saved), str(csv), label_column=0))
    assert len(predicted.lines) == 150 and set(predicted.lines) <= {"0", "1", "2"} and predicted.rows == 150
    assert predicted.accuracy == np.mean(np.array(predicted.lines, dtype=int) == y)
    probabilities = train.run_predict(train.PredictSettings(str(saved), str(csv), label_column=0, proba=True))
    assert np.allclose(np.array([line.split(",") for line in probabilities.lines], dtype=float).sum(axis=1), 1)
