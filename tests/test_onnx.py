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


def graph():
    x = nn.Identity()()
    h1 = nn.Tanh()(nn.Linear(4, 5)(x))
    h2 = nn.Linear(4, 5)(x)
    joined = nn.JoinTable(1)([nn.CAddTable()([h1, h2]), h1])
    return nn.gModule([x], [nn.LogSoftMax()(nn.Linear(10, 3)(joined))])


def reductions():
    parts = nn.ConcatTable(nn.Sum(1, n_input_dims=2), nn.Mean(0, n_input_dims=2), nn.Max(1, n_input_dims=2),
                           nn.Min(-1), nn.Sum(1, n_input_dims=2, size_average=True))
    return nn.Sequential(parts, nn.JoinTable(1), nn.Replicate(3, 1, n_dim=1), nn.Sum(1, n_input_dims=2, squeeze=False))


def newer():
    return nn.Sequential(nn.Linear(5, 6), nn.GELU(), nn.GELU("tanh"), nn.SiLU(), nn.Mish(), nn.CELU(0.7), nn.SELU(),
                         nn.ReLU6(), nn.RReLU(), nn.HardShrink(0.1), nn.SoftShrink(0.05), nn.TanhShrink(),
                         nn.MulConstant(20.0), nn.Linear(6, 4), nn.CReLU())


def border_padding():
    return nn.Sequential(nn.SpatialReflectionPadding(1, 2, 1, 0), nn.SpatialReplicationPadding(0, 1, 2, 1),
                         nn.SpatialConvolution(2, 2, 3, 3))


def convolutions():
    return nn.Sequential(
        nn.SpatialDilatedConvolution(2, 3, 3, 3, 1, 1, 2, 2, 2, 2),
        nn.SpatialDepthWiseConvolution(3, 2, 3, 3, 1, 1, 1, 1),
        nn.SpatialFullConvolution(6, 2, 3, 3, 2, 2, 1, 1, 1, 1), nn.SpatialDilatedMaxPooling(3, 3, 1, 1, 1, 1, 2, 2),
        nn.SpatialUpSamplingNearest(2), nn.GradientReversal(), nn.SpatialLogSoftMax())


def char_model():
    return nn.Sequential(nn.LSTM(3, 5), nn.Sequencer(nn.Sequential(nn.Linear(5, 4), nn.LogSoftMax())))


def scales():
    return nn.Sequential(nn.CMul(4), nn.CAdd(4), nn.Add(4), nn.Add(4, scalar=True), nn.Mul(), nn.View(-1, 2, 2),
                         nn.CMul((1, 2, 1)), nn.CAdd((2, 1)), nn.View(-1, 4), nn.CMul((2, 1, 2)))


def volumetric():
    return nn.Sequential(
        nn.VolumetricConvolution(2, 3, 3, 2, 3, 1, 2, 1, 1, 0, 1), nn.Tanh(),
        nn.VolumetricDilatedConvolution(3, 3, 2, 2, 2, 1, 1, 1, 1, 1, 1, 2, 1, 2),
        nn.VolumetricFullConvolution(3, 2, 2, 3, 2, 2, 1, 2, 0, 1, 1, 1, 0, 1),
        nn.VolumetricMaxPooling(2, 2, 2, 1, 2, 1, 1, 1, 0), nn.VolumetricDilatedMaxPooling(2, 2, 2, 1, 1, 1, 0, 0, 0,
                                                                                          2, 1, 1, ceil_mode=True),
        nn.VolumetricAveragePooling(2, 2, 2, 1, 1, 1, 1, 0, 1, count_include_pad=False))


def maps():
    return nn.Sequential(
        nn.SpatialSubSampling(3, 2, 2, 2, 2), nn.SpatialConvolutionMap(nn.tables.random(3, 4, 2, rng=0), 2, 3),
        nn.SpatialFullConvolutionMap(nn.tables.oneToOne(4), 2, 3, 2, 1),
        nn.SpatialConvolutionMap(np.array([[0, 0], [0, 0], [1, 1], [2, 1]]), 3, 2, 1, 2))  # plane 3 unread


def normalize():
    return nn.ConcatTable(nn.Normalize(1), nn.Normalize(2), nn.Normalize(1.5), nn.Normalize(np.inf, eps=1e-3))


CASES = {
    "volumetric": (volumetric, (2, 2, 7, 8, 7)),
    "one-example-volumetric": (volumetric, (2, 7, 8, 7)),
    "maps": (maps, (2, 3, 12, 10)),
    "one-example-maps": (maps, (3, 12, 10)),
    "scales": (scales, (5, 4)),
    "convolutions": (convolutions, (2, 2, 7, 6)),
    "one-example-convolutions": (convolutions, (2, 7, 6)),
    "sequencer": (char_model, (6, 2, 3)),
    "graph": (graph, (6, 4)),
    "reductions": (reductions, (5, 4, 6)),
    "newer-activations": (newer, (7, 5)),
    "border-padding": (border_padding, (3, 2, 5, 5)),
    "temporal": (lambda: nn.Sequential(nn.TemporalConvolution(3, 4, 3, 2), nn.Tanh()), (2, 9, 3)),
    "one-example-temporal": (lambda: nn.TemporalConvolution(3, 4, 2), (7, 3)),
    "lstm": (lambda: nn.LSTM(3, 5), (6, 4, 3)),
    "gru": (lambda: nn.GRU(3, 5), (6, 4, 3)),
    "rnn-relu": (lambda: nn.Sequential(nn.RNN(3, 4, nonlinearity="relu"), nn.RNN(4, 2)), (5, 2, 3)),
    "one-example-lstm": (lambda: nn.LSTM(3, 4), (6, 3)),
    "normalize": (normalize, (5, 6)),
    "one-example-normalize": (normalize, (6,)),
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
    tabled = isinstance(expected, list)
    got = run(proto, x) if tabled else run(proto, x)[0]
    for one, wanted in zip(got, expected) if tabled else [(got, expected)]:
        assert one.dtype == np.float32 and one.shape == wanted.shape
        np.testing.assert_allclose(one, wanted, rtol=1e-5, atol=1e-5)
    if not one_example:  # the batch size is symbolic: another batch runs too
        other = rng.standard_normal((x.shape[0] + 3,) + x.shape[1:]).astype(np.float32)
        wanted = model.forward(other)
        for one, want in zip(run(proto, other), wanted if tabled else [wanted]):
            np.testing.assert_allclose(one, want, rtol=1e-5, atol=1e-5)


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
    model = nn.Sequential(nn.Linear(4, 4), nn.Concat(1, nn.Linear(4, 2), nn.Sequential(nn.Linear(4, 2),
                                                                                        nn.Cosine(2, 3))))
    with pytest.raises(ember_onnx.ExportError, match=r"^Sequential\[1\] > Concat\[1\] > Sequential\[1\] > "
                                                     r".*Cosine.*: no ONNX translation for Cosine "
                                                     r"\(supported: .*Linear"):
        ember_onnx.export(model, np.zeros((2, 4)))
    with pytest.raises(ember_onnx.ExportError, match=r"float32 or float64 \(int32 or int64 indices for a "
                                                     r"LookupTable\), got float16"):
        ember_onnx.export(nn.Linear(2, 2), np.zeros((1, 2), dtype=np.float16))
    assert "SpatialConvolution" in ember_onnx.supported() and "BatchNormalization" in ember_onnx.supported()


def test_lookup_table_takes_integer_indices():
    ember.manual_seed(2)
    model = nn.Sequential(nn.LookupTable(10, 4), nn.Tanh(), nn.Sum(2))
    indices = np.random.default_rng(2).integers(0, 10, (5, 2))
    proto = ember_onnx.export(model, indices)
    assert proto.graph.input[0].type.tensor_type.elem_type == onnx.TensorProto.INT64
    np.testing.assert_allclose(run(proto, indices)[0], model.forward(indices), rtol=1e-12, atol=1e-12)
    # a character model's front: onnxruntime runs its recurrent operators in float32 only
    model = nn.Sequential(nn.LookupTable(10, 4), nn.LSTM(4, 3)).float()
    indices = indices.astype(np.int32)
    got = run(ember_onnx.export(model, indices), indices)[0]
    assert got.dtype == np.float32
    np.testing.assert_allclose(got, model.forward(indices), rtol=1e-5, atol=1e-6)


def test_what_cannot_be_exported_is_named():
    a, b = nn.Identity()(), nn.Identity()()
    two_inputs = nn.gModule([a, b], [nn.CAddTable()([a, b])])
    with pytest.raises(ember_onnx.ExportError, match="a gModule with 2 inputs takes a list of 2 example arrays"):
        ember_onnx.export(two_inputs, np.zeros((2, 3)))
    with pytest.raises(ember_onnx.ExportError, match="arrays of one dtype"):
        ember_onnx.export(two_inputs, [np.zeros((2, 3)), np.zeros((2, 3), np.float32)])
    with pytest.raises(ember_onnx.ExportError, match=r"LSTM\(3 -> 4\): only a run from the zero state"):
        ember_onnx.export(nn.LSTM(3, 4).remember(), np.zeros((5, 2, 3)))
    with pytest.raises(ember_onnx.ExportError, match="starts with a LookupTable"):
        ember_onnx.export(nn.Linear(2, 2), np.zeros((1, 2), dtype=np.int64))


@pytest.mark.parametrize("module, shape, why", [
    (lambda: nn.SpatialFractionalMaxPooling(2, 2, 0.5, 0.5), (1, 2, 8, 8), "drawn at random"),
    (lambda: nn.VolumetricFractionalMaxPooling(2, 2, 2, 0.5, 0.5, 0.5), (1, 2, 8, 8, 8), "drawn at random"),
    (lambda: nn.SpatialConvolutionLocal(2, 3, 6, 6, 3, 3), (1, 2, 6, 6), "no locally connected operator"),
])
def test_modules_without_an_onnx_operator_are_refused(module, shape, why):
    model = nn.Sequential(nn.Identity(), module())
    name = type(model.modules[1]).__name__
    with pytest.raises(ember_onnx.ExportError, match=rf"^Sequential\[1\] > .*: no ONNX translation for {name}: "
                                                     rf".*{why}"):
        ember_onnx.export(model, np.zeros(shape))


def test_several_inputs_from_a_list_of_examples():
    ember.manual_seed(3)
    a, b, c = nn.Identity()(), nn.Identity()(), nn.Identity()()
    h = nn.Tanh()(nn.Linear(4, 3)(a))
    mixed = nn.CMulTable()([h, nn.Linear(2, 3)(b)])
    model = nn.gModule([a, b, c], [nn.JoinTable(1)([mixed, c]), nn.SoftMax()(h)]).float()
    rng = np.random.default_rng(3)
    xs = [rng.standard_normal((5, n)).astype(np.float32) for n in (4, 2, 3)]
    proto = ember_onnx.export(model, xs)
    assert [i.name for i in proto.graph.input] == ["input_0", "input_1", "input_2"]
    session = ort.InferenceSession(proto.SerializeToString(), providers=["CPUExecutionProvider"])
    for batch in (5, 2):
        feed = [x[:batch] for x in xs]
        got = session.run(None, {f"input_{i}": x for i, x in enumerate(feed)})
        for one, wanted in zip(got, model.forward(feed)):
            np.testing.assert_allclose(one, wanted, rtol=1e-5, atol=1e-5)
    parallel = nn.ParallelTable(nn.Linear(3, 2), nn.Tanh())  # any model taking a table
    xs = [rng.standard_normal((4, 3)), rng.standard_normal((4, 5))]
    got = run_inputs(ember_onnx.export(parallel, xs), xs)
    for one, wanted in zip(got, parallel.forward(xs)):
        np.testing.assert_allclose(one, wanted, rtol=1e-12, atol=1e-12)


def run_inputs(proto, xs):
    session = ort.InferenceSession(proto.SerializeToString(), providers=["CPUExecutionProvider"])
    return session.run(None, {f"input_{i}": x for i, x in enumerate(xs)})
