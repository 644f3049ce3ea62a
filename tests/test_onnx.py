"""ember.onnx.export: onnx.checker accepts every export; onnxruntime computes what ember does (1e-5 in float32)."""

from __future__ import annotations

import numpy as np
import pytest

import ember
from ember import nn

onnx = pytest.importorskip("onnx", reason="pip install 'ember[onnx]' to test the ONNX export")
ort = pytest.importorskip("onnxruntime", reason="pip install 'ember[onnx]' to test the ONNX export")
ember_onnx = pytest.importorskip("ember.onnx")


def lenet():
    return nn.Sequential(
        nn.SpatialConvolution(1, 4, 5, 5), nn.ReLU(), nn.SpatialMaxPooling(2, 2, 2, 2),
        nn.SpatialConvolution(4, 6, 3, 3, 1, 1, 1, 1), nn.PReLU(6), nn.SpatialBatchNormalization(6),
        nn.SpatialAveragePooling(3, 3, 2, 2, 1, 1, ceil_mode=True, count_include_pad=False),
        nn.SpatialDropout(0.3), nn.View(-1, 6 * 4 * 4), nn.Linear(96, 10), nn.Dropout(0.5), nn.SoftMin())


def activations():
    return nn.Sequential(
        nn.Linear(5, 6), nn.Sigmoid(), nn.AddConstant(-0.5), nn.Threshold(0.1, -0.2), nn.LeakyReLU(0.2), nn.ELU(0.7),
        nn.MulConstant(4.0), nn.SoftPlus(2.0, 1.0), nn.SoftSign(), nn.HardTanh(-0.3, 0.4), nn.LogSigmoid(),
        nn.ReQU(), nn.Clamp(0.0, 0.5), nn.Abs(), nn.AddConstant(0.1), nn.Sqrt(), nn.Log(), nn.Exp(), nn.Square(),
        nn.Power(3), nn.Tanh(), nn.PReLU(6), nn.PReLU(), nn.Identity(), nn.Linear(6, 3), nn.SoftMax())


def tables():
    branches = nn.ConcatTable(nn.Linear(4, 3), nn.Sequential(nn.Linear(4, 3), nn.Sigmoid(), nn.AddConstant(1.0)))
    combine = nn.ConcatTable(nn.CAddTable(), nn.CSubTable(), nn.CMulTable(), nn.CDivTable(), nn.CMaxTable(),
                             nn.CMinTable(), nn.SelectTable(1))
    return nn.Sequential(branches, combine, nn.JoinTable(1), nn.Concat(1, nn.Linear(21, 2), nn.Tanh()),
                         nn.BatchNormalization(23), nn.LogSoftMax())


def shapes():
    return nn.Sequential(
        nn.SpatialZeroPadding(1, 2, 0, -1), nn.Transpose((1, 3)), nn.Narrow(1, 1, 4), nn.Select(2, -1),
        nn.Unsqueeze(1), nn.Reshape(4, 1, 3, batch_mode=True), nn.Squeeze(2), nn.View(-1, 12), nn.Linear(12, 2))


def parallel():
    return nn.Sequential(nn.ConcatTable(nn.Identity(), nn.Linear(3, 3)),
                         nn.ParallelTable(nn.Tanh(), nn.Linear(3, 2)), nn.JoinTable(1))


CASES = {
    "mlp": (lambda: nn.Sequential(nn.Linear(4, 8), nn.Tanh(), nn.Linear(8, 3), nn.LogSoftMax()), (6, 4)),
    "lenet": (lenet, (3, 1, 16, 16)),
    "activations": (activations, (7, 5)),
    "tables": (tables, (5, 4)),
    "shapes": (shapes, (2, 3, 5, 4)),
    "parallel": (parallel, (4, 3)),
    "one-example-linear": (lambda: nn.Sequential(nn.Linear(4, 3), nn.ReLU(), nn.SoftMax()), (4,)),
    "one-example-conv": (lambda: nn.Sequential(nn.SpatialConvolution(2, 3, 3, 3), nn.SpatialBatchNormalization(3),
                                               nn.SpatialMaxPooling(2, 2, 1, 1, 1, 1, ceil_mode=True)), (2, 6, 5)),
}


def prepared(name):
    """The case's float32 model, its batch norms given non-trivial running statistics, in training mode."""
    factory, shape = CASES[name]
    rng = np.random.default_rng(0)
    ember.manual_seed(0)
    model = factory().float()
    x = rng.standard_normal(shape).astype(np.float32)
    if any(isinstance(m, nn.BatchNormalization) for m in model.listModules()):
        batch = x if len(shape) in (2, 4) else x[None]
        for _ in range(3):  # running statistics that are not the initial 0 and 1
            model.forward(batch * 2 + 1)
    return model, x, rng


def run(proto, x):
    session = ort.InferenceSession(proto.SerializeToString(), providers=["CPUExecutionProvider"])
    return session.run(None, {"input": x})


@pytest.mark.parametrize("name", list(CASES))
def test_onnxruntime_matches_ember(name, tmp_path):
    model, x, rng = prepared(name)
    path = tmp_path / f"{name}.onnx"
    one_example = name.startswith("one-example")
    proto = ember_onnx.export(model, x, path, dynamic_batch=not one_example)
    onnx.checker.check_model(onnx.load(path), full_check=True)
    assert all(m.train for m in model.listModules())  # the export left the modes as they were
    model.evaluate()
    expected = model.forward(x)
    (got,) = run(proto, x)
    assert got.dtype == np.float32 and got.shape == expected.shape
    np.testing.assert_allclose(got, expected, rtol=1e-5, atol=1e-5)
    if not one_example:  # the batch size is symbolic: another batch runs too
        other = rng.standard_normal((x.shape[0] + 3,) + x.shape[1:]).astype(np.float32)
        np.testing.assert_allclose(run(proto, other)[0], model.forward(other), rtol=1e-5, atol=1e-5)


def test_float64_model_and_table_outputs():
    model = nn.ConcatTable(nn.Linear(3, 2), nn.Sequential(nn.Linear(3, 4), nn.Sigmoid()))
    x = np.random.default_rng(1).standard_normal((5, 3))
    proto = ember_onnx.export(model, x, output_name="y")
    assert [o.name for o in proto.graph.output] == ["y_0", "y_1"]
    assert proto.graph.input[0].type.tensor_type.shape.dim[0].dim_param == "batch"
    for got, expected in zip(run(proto, x), model.forward(x)):
        assert got.dtype == np.float64
        np.testing.assert_allclose(got, expected, rtol=1e-12, atol=1e-12)


def test_unsupported_module_is_named_with_its_place():
    model = nn.Sequential(nn.Linear(4, 4), nn.Concat(1, nn.Linear(4, 2), nn.Sequential(nn.Linear(4, 2), nn.Max(1))))
    with pytest.raises(ember_onnx.ExportError, match=r"^Sequential\[1\] > Concat\[1\] > Sequential\[1\] > .*Max.*: no "
                                                     r"ONNX translation for Max \(supported: .*Linear"):
        ember_onnx.export(model, np.zeros((2, 4)))
    with pytest.raises(ember_onnx.ExportError, match=r"float32 or float64, got int64"):
        ember_onnx.export(nn.Linear(2, 2), np.zeros((1, 2), dtype=np.int64))
    assert "SpatialConvolution" in ember_onnx.supported() and "BatchNormalization" in ember_onnx.supported()
