"""ember.interop: PyTorch twins both ways compute the same outputs (1e-12 in float64); errors name the layer."""

from __future__ import annotations

import numpy as np
import pytest

import ember
from ember import interop, models, nn
from ember.errors import EmberError
from ember.train import fit


def mlp():
    return models.mlp(6, [8, 5], "tanh", 3)


def lenet():
    return models.lenet(dropout=0.25, dtype=np.float64)


def batchnorm_mlp():
    return nn.Sequential(nn.Linear(6, 7), nn.BatchNormalization(7), nn.ReLU(), nn.Dropout(0.2),
                         nn.Linear(7, 4), nn.BatchNormalization(4, affine=False, eps=1e-3, momentum=0.3),
                         nn.SoftMax())


def convnet():
    return nn.Sequential(
        nn.View(2, 9, 9, n_input_dims=1), nn.SpatialZeroPadding(1, 2, 0, 1),
        nn.SpatialConvolution(2, 4, 3, 2, 1, 2, 1, 0), nn.SpatialBatchNormalization(4), nn.PReLU(4),
        nn.SpatialMaxPooling(3, 2, 2, 1, 1, 0, ceil_mode=True), nn.SpatialReflectionPadding(1, 0, 1, 1),
        nn.SpatialConvolution(4, 3, 2, 2, bias=False), nn.SpatialReplicationPadding(0, 1, 1, 0), nn.SpatialDropout(0.3),
        nn.SpatialAveragePooling(3, 3, 2, 2, 1, 1, ceil_mode=True, count_include_pad=False), nn.ELU(0.7),
        nn.View(-1, n_input_dims=3), nn.Linear(60, 5), nn.LogSoftMax())


def activations():
    return nn.Sequential(
        nn.Linear(6, 6), nn.Sigmoid(), nn.Threshold(0.6, -0.1), nn.LeakyReLU(0.2), nn.CELU(0.5), nn.SELU(), nn.GELU(),
        nn.GELU("tanh"), nn.SiLU(), nn.Mish(), nn.PReLU(), nn.SoftPlus(2.0, 1.5), nn.SoftSign(), nn.HardTanh(-0.3, 0.4),
        nn.HardShrink(0.1), nn.SoftShrink(0.05), nn.TanhShrink(), nn.ReLU6(), nn.LogSigmoid(), nn.Identity(),
        nn.Linear(6, 4), nn.Tanh(), nn.ReLU(), nn.SoftMin())


def resampling():
    return nn.Sequential(nn.SpatialDilatedConvolution(2, 3, 3, 3, 1, 1, 2, 2, 2, 2), nn.ReLU(),
                         nn.SpatialFullConvolution(3, 2, 3, 3, 2, 2, 1, 1, 1, 1),
                         nn.SpatialDilatedMaxPooling(3, 3, 1, 1, 1, 1, 2, 2), nn.SpatialUpSamplingNearest(2))


def depthwise():
    return nn.Sequential(nn.SpatialDepthWiseConvolution(2, 3, 3, 2, 1, 2, 1, 0), nn.Tanh(),
                         nn.SpatialDepthWiseConvolution(6, 1, 2, 2, padW=1, bias=False))


def volumetric():
    return nn.Sequential(nn.VolumetricConvolution(2, 3, 3, 2, 3, 1, 2, 1, 1, 0, 1), nn.Tanh(),
                         nn.VolumetricDilatedConvolution(3, 3, 2, 2, 2, 1, 1, 1, 1, 1, 1, 2, 1, 2, bias=False),
                         nn.VolumetricFullConvolution(3, 2, 2, 3, 2, 2, 1, 2, 0, 1, 1, 1, 0, 1),
                         nn.VolumetricBatchNormalization(2), nn.VolumetricReplicationPadding(1, 0, 2, 1, 0, 1),
                         nn.VolumetricMaxPooling(2, 3, 2, 1, 2, 1, 1, 1, 0, ceil_mode=True), nn.VolumetricDropout(0.3),
                         nn.VolumetricDilatedMaxPooling(2, 2, 3, 1, 1, 2, 0, 1, 1, 2, 1, 2),
                         nn.VolumetricAveragePooling(2, 3, 2, 2, 2, 1, 1, 1, 0, ceil_mode=True,
                                                     count_include_pad=False),
                         nn.VolumetricAveragePooling(1, 2, 2, 1, 1, 1, 0, 1, 1),
                         nn.View(-1, n_input_dims=4), nn.Linear(2 * 8 * 8 * 4, 3))


MODELS = {"depthwise": (depthwise, (3, 2, 5, 4)), "volumetric": (volumetric, (2, 2, 7, 8, 7)),
          "mlp": (mlp, (9, 6)), "lenet": (lenet, (4, 784)), "batchnorm": (batchnorm_mlp, (9, 6)),
          "convnet": (convnet, (3, 162)), "activations": (activations, (9, 6)),
          "resampling": (resampling, (2, 2, 7, 6))}


def warmed(factory, shape, rng):
    """A model whose batch-norm running statistics have moved away from (0, 1), in evaluation mode."""
    model = factory()
    for _ in range(3):
        model.forward(rng.normal(size=shape) * 2 + 0.5)
    return model.evaluate()


@pytest.mark.parametrize("name", MODELS)
def test_round_trip_computes_the_same_outputs(name, torch):
    factory, shape = MODELS[name]
    ember.manual_seed(1)
    rng = np.random.default_rng(2)
    model = warmed(factory, shape, rng)
    x = rng.normal(size=shape)
    twin = interop.to_torch(model)
    assert not twin.training and next(twin.parameters()).dtype == torch.float64
    with torch.no_grad():
        np.testing.assert_allclose(twin(torch.from_numpy(x)).numpy(), model.forward(x), rtol=1e-12, atol=1e-12)
    back = interop.from_torch(twin)
    assert repr(back) == repr(model)
    np.testing.assert_array_equal(back.forward(x), model.forward(x))
    for key, value in interop.state_dict(model).items():
        np.testing.assert_array_equal(twin.state_dict()[key].numpy(), value)


def test_a_pytorch_trained_model_runs_in_ember(torch):
    torch.manual_seed(0)
    net = torch.nn.Sequential(
        torch.nn.Unflatten(1, (1, 8, 8)), torch.nn.Conv2d(1, 3, 3, padding=1), torch.nn.BatchNorm2d(3),
        torch.nn.ReLU(), torch.nn.MaxPool2d(2), torch.nn.Flatten(), torch.nn.Linear(48, 10), torch.nn.BatchNorm1d(10),
        torch.nn.Tanh(), torch.nn.Linear(10, 3), torch.nn.LogSoftmax(dim=1))
    optimizer = torch.optim.SGD(net.parameters(), lr=0.1)
    x, y = torch.randn(32, 64), torch.randint(0, 3, (32,))
    for _ in range(5):
        optimizer.zero_grad()
        torch.nn.functional.nll_loss(net(x), y).backward()
        optimizer.step()
    net.eval()
    model = interop.from_torch(net)
    assert not model.train
    with torch.no_grad():
        np.testing.assert_allclose(model.forward(x.numpy()), net(x).numpy(), rtol=1e-12, atol=1e-12)


def test_an_ember_trained_model_runs_in_pytorch_and_training_mode_agrees(torch):
    ember.manual_seed(3)
    rng = np.random.default_rng(3)
    X, y = rng.normal(size=(40, 6)), rng.integers(0, 3, 40)
    model = nn.Sequential(nn.Linear(6, 8), nn.BatchNormalization(8), nn.Tanh(), nn.Linear(8, 3), nn.LogSoftMax())
    fit(model, nn.ClassNLLCriterion(), X, y, config={"learning_rate": 0.1}, epochs=5, batch_size=8, progress=False)
    twin = interop.to_torch(model.training())
    assert twin.training
    batch = rng.normal(size=(10, 6))
    with torch.no_grad():  # one training-mode pass: batch statistics, and the same running-statistics update
        np.testing.assert_allclose(twin(torch.from_numpy(batch)).numpy(), model.forward(batch), rtol=1e-12,
                                   atol=1e-12)
    for key, value in interop.state_dict(model).items():
        np.testing.assert_allclose(twin.state_dict()[key].numpy(), value, rtol=1e-12, atol=1e-15)
    model.evaluate()
    twin.eval()
    with torch.no_grad():
        np.testing.assert_allclose(twin(torch.from_numpy(X)).numpy(), model.forward(X), rtol=1e-12, atol=1e-12)


def test_volumetric_twins_agree_in_training_mode_and_from_pytorch(torch):
    ember.manual_seed(7)
    rng = np.random.default_rng(7)
    model = nn.Sequential(nn.VolumetricBatchNormalization(3, momentum=0.2),
                          nn.VolumetricReplicationPadding(1, 2, 0, 1, 2, 0),
                          nn.VolumetricDilatedMaxPooling(2, 2, 2, 1, 2, 1, 1, 1, 0, 2, 1, 1, ceil_mode=True),
                          nn.VolumetricAveragePooling(2, 2, 3, 1, 1, 2, 1, 0, 1))
    twin = interop.to_torch(model.training())
    x = rng.normal(size=(4, 3, 5, 6, 5)) * 3 + 1
    with torch.no_grad():  # training mode: batch statistics, and the same running-statistics update
        np.testing.assert_allclose(twin(torch.from_numpy(x)).numpy(), model.forward(x), rtol=1e-12, atol=1e-12)
    for key, value in interop.state_dict(model).items():
        np.testing.assert_allclose(twin.state_dict()[key].numpy(), value, rtol=1e-12, atol=1e-15)
    torch.manual_seed(7)
    net = torch.nn.Sequential(
        torch.nn.Conv3d(2, 3, (3, 2, 2), padding=(1, 0, 1)), torch.nn.BatchNorm3d(3), torch.nn.ReLU(),
        torch.nn.Dropout3d(0.2), torch.nn.ReplicationPad3d((0, 1, 1, 0, 2, 1)),
        torch.nn.MaxPool3d((2, 3, 2), (1, 2, 2)), torch.nn.AvgPool3d(2, 1, 1, count_include_pad=False, ceil_mode=True),
        torch.nn.Flatten(), torch.nn.LazyLinear(2))
    data = torch.from_numpy(rng.normal(size=(3, 2, 4, 7, 6)))
    net.double()(data)
    net.eval()
    ported = interop.from_torch(net)
    assert [type(m).__name__ for m in ported.modules][3:8] == [
        "VolumetricDropout", "VolumetricReplicationPadding", "VolumetricMaxPooling", "VolumetricAveragePooling",
        "View"]
    with torch.no_grad():
        np.testing.assert_allclose(ported.forward(data.numpy()), net(data).numpy(), rtol=1e-12, atol=1e-12)
    with pytest.raises(interop.InteropError, match=r"Sequential\[1\] \(torch.nn.MaxPool3d\): return_indices"):
        interop.from_torch(torch.nn.Sequential(torch.nn.Identity(), torch.nn.MaxPool3d(2, return_indices=True)))
    with pytest.raises(interop.InteropError, match=r"torch.nn.AvgPool3d: divisor_override has no ember twin"):
        interop.from_torch(torch.nn.AvgPool3d(2, divisor_override=3))
    with pytest.raises(interop.InteropError, match=r"torch.nn.BatchNorm3d: only track_running_stats=True"):
        interop.from_torch(torch.nn.BatchNorm3d(3, track_running_stats=False))


@pytest.mark.parametrize("kind", ["RNN", "LSTM", "GRU"])
def test_recurrent_layers_and_embeddings(kind, torch):
    ember.manual_seed(4)
    layer = nn.RNN(3, 5, nonlinearity="relu") if kind == "RNN" else getattr(nn, kind)(3, 5)
    x = np.random.default_rng(4).normal(size=(7, 2, 3))
    twin = interop.to_torch(layer)
    with torch.no_grad():
        np.testing.assert_allclose(twin(torch.from_numpy(x))[0].numpy(), layer.forward(x), rtol=1e-12, atol=1e-12)
    np.testing.assert_array_equal(interop.from_torch(twin).forward(x), layer.forward(x))
    layer.h0 = np.zeros((2, 5))
    with pytest.raises(interop.InteropError, match="its given initial state \\(h0"):
        interop.to_torch(layer)
    table = nn.LookupTable(10, 4)
    indices = np.array([[1, 9, 0], [3, 3, 2]])
    with torch.no_grad():
        np.testing.assert_array_equal(interop.to_torch(table)(torch.from_numpy(indices)).numpy(),
                                      table.forward(indices))


def test_float32_stays_float32(torch):
    model = models.mlp(4, [3], "relu", 2).float()
    twin = interop.to_torch(model)
    assert next(twin.parameters()).dtype == torch.float32
    assert interop.from_torch(twin).modules[0].weight.dtype == np.float32


def test_state_dict_files_move_between_the_libraries(tmp_path, torch):
    from safetensors.torch import load_file, save_file

    ember.manual_seed(5)
    model = warmed(batchnorm_mlp, (9, 6), np.random.default_rng(5))
    interop.save_state_dict(model, tmp_path / "ember.safetensors")
    twin = interop.to_torch(batchnorm_mlp())
    twin.load_state_dict(load_file(tmp_path / "ember.safetensors"), strict=False)
    twin.eval()
    x = np.random.default_rng(6).normal(size=(5, 6))
    with torch.no_grad():
        np.testing.assert_allclose(twin(torch.from_numpy(x)).numpy(), model.forward(x), rtol=1e-12, atol=1e-12)
    save_file(twin.state_dict(), tmp_path / "torch.safetensors")
    fresh = interop.load_state_dict_file(batchnorm_mlp(), tmp_path / "torch.safetensors").evaluate()
    np.testing.assert_array_equal(fresh.forward(x), model.forward(x))


def test_state_dict_needs_no_torch_and_a_mismatch_names_the_layer():
    model = models.mlp(4, [3], "tanh", 2)
    state = interop.state_dict(model)
    assert list(state) == ["0.weight", "0.bias", "2.weight", "2.bias"]
    other = models.mlp(4, [5], "tanh", 2)
    with pytest.raises(interop.InteropError, match=r"Sequential\[0\] \(nn.Linear\(4 -> 5\)\): weight has shape "
                                                   r"\(5, 4\), the state dict's '0.weight' has \(3, 4\)"):
        interop.load_state_dict(other, state)
    with pytest.raises(interop.InteropError, match=r"Sequential\[2\] \(nn.Linear\(3 -> 2\)\): the state dict has "
                                                   r"no '2.bias'"):
        interop.load_state_dict(models.mlp(4, [3], "tanh", 2), {k: v for k, v in state.items() if k != "2.bias"})
    with pytest.raises(interop.InteropError, match="keys the model does not: 9.weight"):
        interop.load_state_dict(models.mlp(4, [3], "tanh", 2), {**state, "9.weight": np.zeros(2)})
    with pytest.raises(interop.InteropError, match=r"Sequential\[1\] \(nn.Max.*no PyTorch equivalent"):
        interop.state_dict(nn.Sequential(nn.Linear(4, 3), nn.Max(1)))
    assert issubclass(interop.InteropError, EmberError)


def test_unsupported_modules_are_errors_naming_them(torch):
    with pytest.raises(interop.InteropError, match=r"Sequential\[1\] \(nn.Max.*: no PyTorch equivalent"):
        interop.to_torch(nn.Sequential(nn.Linear(4, 3), nn.Max(1)))
    with pytest.raises(interop.InteropError, match=r"Sequential\[0\]\[1\] \(nn.LSTM.*convert it on its own"):
        interop.to_torch(nn.Sequential(nn.Sequential(nn.LookupTable(5, 3), nn.LSTM(3, 4))))
    with pytest.raises(interop.InteropError, match=r"Sequential\[2\] \(nn.View.*only View\(-1"):
        interop.to_torch(nn.Sequential(nn.Linear(4, 6), nn.Tanh(), nn.View(2, 3)))
    with pytest.raises(interop.InteropError, match=r"Sequential\[1\] \(torch.nn.Bilinear\): no ember equivalent"):
        interop.from_torch(torch.nn.Sequential(torch.nn.Linear(4, 3), torch.nn.Bilinear(3, 3, 2)))
    with pytest.raises(interop.InteropError, match=r"Sequential\[0\] \(torch.nn.Conv2d\): only groups=1 or "
                                                   r"groups=in_channels \(depth-wise\)"):
        interop.from_torch(torch.nn.Sequential(torch.nn.Conv2d(4, 4, 3, groups=2)))
    with pytest.raises(interop.InteropError, match=r"torch.nn.Conv2d: a depth-wise Conv2d with dilation"):
        interop.from_torch(torch.nn.Conv2d(2, 4, 3, groups=2, dilation=2))
    with pytest.raises(interop.InteropError, match=r"torch.nn.ConvTranspose3d: only groups=1, dilation=1"):
        interop.from_torch(torch.nn.ConvTranspose3d(2, 2, 3, dilation=2))
    with pytest.raises(interop.InteropError, match=r"SpatialDepthWiseConvolution.*: weight has shape "
                                                   r"\(6, 1, 3, 2\) in PyTorch's layout"):
        interop.load_state_dict(nn.SpatialDepthWiseConvolution(2, 3, 2, 3), {"weight": np.zeros((3, 2, 3, 2)),
                                                                            "bias": np.zeros(6)})
    with pytest.raises(interop.InteropError, match=r"Sequential\[0\] \(torch.nn.Flatten\): the dimensions"):
        interop.from_torch(torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(4, 2)))
    with pytest.raises(interop.InteropError, match=r"torch.nn.LSTM: only one layer"):
        interop.from_torch(torch.nn.LSTM(3, 4, num_layers=2))
    with pytest.raises(interop.InteropError, match=r"torch.nn.Softmax: dim=0"):
        interop.from_torch(torch.nn.Softmax(dim=0))
