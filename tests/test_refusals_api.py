"""The library's entry points refuse malformed arguments with an ember error naming the argument and what it takes
(issue 12; each case stands for a class found by an adversarial run: fit/evaluate/predict, the data loaders, io, the
checker, ONNX export, interop and constructor flags)."""

from __future__ import annotations

import ast
from pathlib import Path

import numpy as np
import pytest

from ember import check, data, interop, io, models, nn, train
from ember.callbacks import EarlyStopping
from ember.errors import CheckSetupError, EmberError, InputError, InputTypeError, SizeError
from ember.metrics import ConfusionMatrix

X, Y = np.random.default_rng(0).random((6, 4)), np.arange(6) % 3


def model() -> nn.Module:
    return nn.Sequential(nn.Linear(4, 3), nn.LogSoftMax())


class Broken(nn.Module):
    """A user's module whose forward has a bug."""

    def updateOutput(self, input):
        raise ZeroDivisionError("division by zero in my layer")

    def config(self):
        return {}


CASES = {  # name -> (call, error type, message)
    "fit: rows of different lengths": (lambda: train.fit(model(), nn.ClassNLLCriterion(), [[1.0] * 4, [1.0] * 3],
                                                         Y[:2], progress=False),
                                       InputTypeError, r"X must be an array \(rows of one"),
    "fit: X a dict": (lambda: train.fit(model(), nn.ClassNLLCriterion(), {"a": 1}, Y, progress=False), InputTypeError,
                      r"X must be an array, got dict"),
    "fit: y None": (lambda: train.fit(model(), nn.ClassNLLCriterion(), X, None, progress=False), InputTypeError,
                    r"y must be an array, got NoneType"),
    "fit: y strings": (lambda: train.fit(model(), nn.ClassNLLCriterion(), X, np.array(["a"] * 6), progress=False),
                       InputTypeError, r"y must be numeric, got dtype <U1"),
    "fit: a callback that is not callable": (lambda: train.fit(model(), nn.ClassNLLCriterion(), X, Y, progress=False,
                                                               callbacks=[3]), InputTypeError, r"callbacks must be"),
    "fit: metrics a string": (lambda: train.fit(model(), nn.ClassNLLCriterion(), X, Y, progress=False,
                                                metrics="accuracy"),
                              InputTypeError, r"metrics must be a list of names"),
    "fit: config a list": (lambda: train.fit(model(), nn.ClassNLLCriterion(), X, Y, progress=False, config=[1]),
                           InputTypeError, r"config must be a dict"),
    "fit: seed 2.5": (lambda: train.fit(model(), nn.ClassNLLCriterion(), X, Y, progress=False, seed=2.5), InputError,
                      r"seed must be None or an integer >= 0, got 2\.5"),
    "fit: epochs nan": (lambda: train.fit(model(), nn.ClassNLLCriterion(), X, Y, progress=False, epochs=float("nan")),
                        InputError, r"epochs must be a non-negative integer, got nan"),
    "fit: unknown optimizer": (lambda: train.fit(model(), nn.ClassNLLCriterion(), X, Y, progress=False,
                                                 optimizer="sgdx"), InputError, r"unknown optimizer 'sgdx'"),
    "predict: model None": (lambda: train.predict(None, X), InputTypeError, r"model must be an ember Module"),
    "predict: one example without a batch dimension": (lambda: train.predict(model(), np.ones(4)), InputError,
                                                       r"X needs one row per example"),
    "evaluate: criterion None": (lambda: train.evaluate(model(), None, X, Y), InputTypeError,
                                 r"criterion must be an ember Criterion"),
    "load_csv: path None": (lambda: data.load_csv(None), InputTypeError, r"expected the path of a data file, got None"),
    "load_csv: label_column 1.5": (lambda: data.load_csv(Path(__file__)), None, None),  # replaced below (needs tmp)
    "data.load: not a string": (lambda: data.load(3), InputTypeError, r"a dataset name must be a string"),
    "data.load: unknown": (lambda: data.load("nope"), InputError, r"unknown dataset 'nope'"),
    "spirals: n -1": (lambda: data.spirals(-1), InputError, r"spirals"),
    "split_indices: negative": (lambda: data.split_indices(-5, 1), InputError,
                                r"split_indices: n must be an integer >= 0, got -5"),
    "io.load: path None": (lambda: io.load(None), InputTypeError, r"expected the path of a model file, got None"),
    "io.save: path 3": (lambda: io.save(model(), 3), InputTypeError, r"expected the path of a model file, got 3"),
    "save_checkpoint: epoch a string": (lambda: io.save_checkpoint("c.safetensors", model(), {}, "1", {}, None),
                                        InputTypeError, r"save_checkpoint: epoch must be an integer >= 0, got '1'"),
    "save_checkpoint: history a list": (lambda: io.save_checkpoint("c.safetensors", model(), {}, 1, [1.0], None),
                                        InputTypeError, r"save_checkpoint: history must be a dict, got list"),
    "check_module: eps True": (lambda: check.check_module(nn.Linear(4, 3), X, eps=True), InputTypeError,
                               r"check_module: eps must be a finite number > 0, got True \(bool\)"),
    "check_model: tol None": (lambda: check.check_model(nn.Linear(4, 3), nn.MSECriterion(), X, np.zeros((6, 3)),
                                                       tol=None), InputTypeError, r"check_model: tol must be a finite"),
    "check_module: not a module": (lambda: check.check_module("Linear", X), InputTypeError,
                                   r"check_module: expected an ember Module to check, got str"),
    "check_model: criterion None": (lambda: check.check_model(nn.Linear(4, 3), None, X, np.zeros((6, 3))),
                                    InputTypeError, r"check_model: expected an ember Criterion, got NoneType"),
    "check_module: seed a string": (lambda: check.check_module(nn.Linear(4, 3), X, seed="a"), InputTypeError,
                                    r"check_module: seed must be an integer >= 0, got 'a'"),
    "jacobian: param 1.5": (lambda: check.jacobian(nn.Linear(4, 3), X, param=1.5), InputTypeError,
                            r"param must be a parameter's name or index, got 1\.5"),
    "check_model: a module that raises": (lambda: check.check_model(nn.Sequential(nn.Linear(4, 4), Broken()),
                                                                    nn.MSECriterion(), X, np.zeros((6, 4))),
                                          CheckSetupError, r"check_model: Sequential raised ZeroDivisionError: "
                                                           r"division by zero in my layer"),
    "jacobian: a module that raises": (lambda: check.jacobian(Broken(), X), CheckSetupError,
                                       r"jacobian: Broken.* raised ZeroDivisionError"),
    "load_state_dict: not a dict": (lambda: interop.load_state_dict(nn.Linear(4, 3), [1]), interop.InteropError,
                                    r"Linear: the state dict must be a dict of arrays, got list"),
    "load_state_dict: strings": (lambda: interop.load_state_dict(nn.Linear(2, 1), {"weight": np.array([["a", "b"]]),
                                                                                  "bias": np.zeros(1)}),
                                 interop.InteropError, r"'weight' holds <U1 values, expected numbers"),
    "Linear: bias 'yes'": (lambda: nn.Linear(4, 3, bias="yes"), InputTypeError,
                           r"Linear: bias must be True or False, got 'yes'"),
}
CASES.pop("load_csv: label_column 1.5")


@pytest.mark.parametrize("name", CASES)
def test_a_malformed_argument_is_an_ember_error_naming_it(name, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    call, error, message = CASES[name]
    with pytest.raises(error, match=message):
        call()


@pytest.mark.parametrize(("label_column", "error", "message"), [
    (1.5, InputTypeError, r"label_column must be a column index, a header name or None, got 1\.5"),
    (True, InputTypeError, r"label_column must be a column index, a header name or None, got True"),
])
def test_load_csv_refuses_a_label_column_of_the_wrong_type(tmp_path, label_column, error, message):
    (tmp_path / "d.csv").write_text("1,2,3\n0,1,2\n")
    with pytest.raises(error, match=message):
        data.load_csv(tmp_path / "d.csv", label_column=label_column)
    with pytest.raises(InputTypeError, match=r"load_csv: dtype must be a floating type, got 'foo'"):
        data.load_csv(tmp_path / "d.csv", dtype="foo")


def test_a_flag_takes_a_bool_or_0_or_1():
    assert nn.Linear(4, 3, bias=0).bias is None
    assert nn.Linear(4, 3, bias=np.True_).bias is not None


def test_onnx_export_refuses_bad_settings_with_ember_errors():
    onnx = pytest.importorskip("onnx")
    from ember.onnx import ExportError, export

    assert issubclass(ExportError, EmberError) and issubclass(ExportError, ValueError)
    newest = onnx.defs.onnx_opset_version()
    with pytest.raises(ExportError, match=rf"opset must be an integer from 7 to {newest} .*got -1"):
        export(nn.Linear(3, 2), np.ones((1, 3)), opset=-1)
    with pytest.raises(InputTypeError, match=r"export: input_name must be a non-empty string, got 3"):
        export(nn.Linear(3, 2), np.ones((1, 3)), input_name=3)
    with pytest.raises(ExportError, match=r"input_name and output_name must differ, both are 'a'"):
        export(nn.Linear(3, 2), np.ones((1, 3)), input_name="a", output_name="a")
    with pytest.raises(InputTypeError, match=r"export: expected an ember Module, got str"):
        export("model", np.ones((1, 3)))


def test_no_library_module_raises_a_bare_value_or_type_error():
    """A class guard over the whole package: ``raise ValueError(...)``/``raise TypeError(...)`` would reach a user
    as a builtin exception; ember raises ``InputError``/``InputTypeError`` (subclasses of both) instead."""
    package = Path(__file__).resolve().parents[1] / "ember"
    paths = sorted(package.rglob("*.py"))
    assert len(paths) > 100  # (the package, not an empty folder)
    bare = []
    for path in paths:
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Raise) and isinstance(node.exc, ast.Call) and isinstance(node.exc.func, ast.Name) \
                    and node.exc.func.id in ("ValueError", "TypeError", "IndexError", "KeyError", "RuntimeError"):
                bare.append(f"{path.relative_to(package.parent)}:{node.lineno} {node.exc.func.id}")
    assert bare == []


@pytest.mark.parametrize(("call", "error", "message"), [
    (lambda: models.mlp(4, [2.5]), InputTypeError, r"mlp: hidden sizes must be integers, got 2\.5"),
    (lambda: models.mlp(4, "abc"), InputTypeError, r"mlp: hidden must be a list of layer sizes"),
    (lambda: models.mlp("4", [4]), InputTypeError, r"mlp: n_in must be an integer, got '4'"),
    (lambda: models.mlp(4, [4], n_classes=True), InputTypeError, r"mlp: n_classes must be an integer, got True"),
    (lambda: models.lenet(n_classes=None), InputTypeError, r"lenet: n_classes must be an integer, got None"),
    (lambda: models.lenet(dropout="x"), InputTypeError, r"lenet: dropout must be a number, got 'x'"),
    (lambda: models.char_lstm(5, hidden=2.5), InputTypeError, r"char_lstm: hidden must be an integer, got 2\.5"),
    (lambda: EarlyStopping(patience=2.5), InputTypeError, r"EarlyStopping: patience must be an integer, got 2\.5"),
    (lambda: EarlyStopping(min_delta=float("nan")), InputError, r"EarlyStopping: min_delta must be a number, got nan"),
    (lambda: ConfusionMatrix("x"), InputTypeError, r"ConfusionMatrix: expected a number of classes or a list"),
    (lambda: ConfusionMatrix(True), InputTypeError, r"ConfusionMatrix: expected a number of classes or a list"),
    (lambda: models.lenet(dtype="foo"), InputTypeError, r"type: expected a floating dtype such as np\.float32, "
                                                        r"got 'foo'"),
    (lambda: nn.Linear(2, 2).type(np.int32), InputTypeError, r"Linear\(2 -> 2\).*type: expected a floating dtype"),
    (lambda: data.Standardizer().fit(np.array([[1.0, np.nan]])), InputError,
     r"Standardizer\.fit: X holds nan at row 0, column 1: the data must be finite"),
    (lambda: data.Standardizer().fit(np.array([["a", "b"]])), InputTypeError, r"X must be numeric, got dtype <U1"),
])
def test_builders_callbacks_and_metrics_check_their_arguments(call, error, message):
    """Functions and classes outside ember.nn get the constructor-argument checks from their annotations
    (``ember.nn.arguments.checked``) instead of coercing with ``int()`` (``mlp(2.5, ...)`` built a 2-input net)."""
    with pytest.raises(error, match=message):
        call()


@pytest.mark.parametrize(("params", "data", "error", "message"), [
    ({"hidden_layer_sizes": 5}, None, InputTypeError, r"hidden_layer_sizes must be a tuple of positive integers"),
    ({"tol": float("inf")}, None, InputError, r"tol must be a finite number, got inf"),
    ({"shuffle": "yes"}, None, InputTypeError, r"shuffle must be True or False, got 'yes'"),
    ({"validation_fraction": "x"}, None, InputTypeError, r"validation_fraction must be a number in \(0, 1\)"),
    ({"criterion": "x"}, None, InputTypeError, r"criterion must be an ember Criterion or a callable"),
    ({"random_state": "x"}, None, InputError, r"random_state: .*'x'"),
    ({}, "nan", InputError, r"EmberRegressor: Input X contains NaN"),
    ({}, "short y", InputError, r"EmberRegressor: Found input variables with inconsistent numbers of samples"),
    ({}, "string y", InputTypeError, r"EmberRegressor: y must hold numbers for regression, got dtype <U1"),
])
def test_the_sklearn_estimators_refuse_bad_params_and_data_with_ember_errors(params, data, error, message):
    sklearn = pytest.importorskip("ember.sklearn", exc_type=ImportError)
    X, y = np.random.default_rng(0).random((10, 3)), np.arange(10.0)
    if data == "nan":
        X[2, 1] = np.nan
    y = {"short y": y[:4], "string y": np.array(["a"] * 10)}.get(data, y)
    with pytest.raises(error, match=message):
        sklearn.EmberRegressor(max_iter=2, **params).fit(X, y)


@pytest.mark.parametrize(("build", "error", "message"), [
    (lambda: nn.MaskZero(3), InputTypeError, r"MaskZero: expected a Module, got int"),
    (lambda: nn.Sequencer("x"), InputTypeError, r"Sequencer: expected a Module, got str"),
    (lambda: nn.Dropout(2.0), InputError, r"Dropout: p must be in \[0, 1\), got 2\.0"),
    (lambda: nn.View(0), InputError, r"View: expected positive sizes"),
    (lambda: nn.RNN(3, 4, nonlinearity="x"), InputError, r"RNN: nonlinearity must be 'tanh' or 'relu'"),
    (lambda: nn.MultiMarginCriterion(p=3), InputError, r"MultiMarginCriterion: expected p = 1 or 2, got 3"),
    (lambda: nn.Transpose((1,)), InputError, r"Transpose: expected \(d1, d2\) pairs"),
    (lambda: nn.gModule([], []), InputTypeError, r"gModule: expected the inputs as a non-empty list of nodes"),
    (lambda: nn.Linear(10**6, 10**6), SizeError, r"Linear: the sizes given \(n_in=1000000, n_out=1000000\) need "
                                                 r"more memory than there is \(MemoryError"),
    (lambda: nn.LSTM(10**7, 10**7), SizeError, r"LSTM: the sizes given \(input_size=10000000, hidden_size=10000000"),
    (lambda: models.mlp(4, [10**12]), SizeError, r"Linear: the sizes given \(n_in=4, n_out=1000000000000\)"),
    (lambda: ConfusionMatrix(10**12), SizeError, r"ConfusionMatrix: 1000000000000 classes need a"),
])
def test_module_constructors_refuse_with_ember_errors(build, error, message):
    """Constructor refusals that the annotation checks (``ember.nn.arguments``) cannot express: the module's
    own, each an ember type naming the module."""
    with pytest.raises(error, match=message):
        build()
