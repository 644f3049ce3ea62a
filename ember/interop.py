"""PyTorch weights both ways: :func:`to_torch`, :func:`from_torch`, and PyTorch ``state_dict`` s as NumPy or
safetensors files (:func:`state_dict`, :func:`load_state_dict`, :func:`save_state_dict`).

The architectures both libraries share convert with their weights (and batch normalisation's running
statistics), so that a model trained in one computes the same outputs in the other (to rounding in float64):
``Sequential``, ``Linear``, ``SpatialConvolution`` and ``SpatialDilatedConvolution`` (``Conv2d``),
``SpatialDepthWiseConvolution`` (``Conv2d`` with ``groups`` = input planes; the weight ``(m, C, kH, kW)`` is
relaid as PyTorch's ``(C·m, 1, kH, kW)``, the bias ``(m, C)`` as ``(C·m,)``), ``SpatialFullConvolution``
(``ConvTranspose2d``), ``VolumetricConvolution`` and ``VolumetricDilatedConvolution`` (``Conv3d``),
``VolumetricFullConvolution`` (``ConvTranspose3d``), max (also dilated) and average pooling, nearest upsampling,
zero, reflection and replication padding, batch normalisation, dropout, their volumetric versions
(``VolumetricMaxPooling``/``VolumetricDilatedMaxPooling`` as ``MaxPool3d``, ``VolumetricAveragePooling``,
``VolumetricReplicationPadding``, ``VolumetricBatchNormalization``, ``VolumetricDropout`` as ``AvgPool3d``,
``ReplicationPad3d``, ``BatchNorm3d``, ``Dropout3d``), ``LookupTable`` (``Embedding``),
``Identity``, the activations with a PyTorch twin, the softmax family, ``View`` as ``Flatten``/``Unflatten``,
and — on their own, since PyTorch's return ``(output, state)`` — ``RNN``, ``LSTM`` and ``GRU`` (one layer,
sequence first, the same gate layout). PyTorch modules compute on batches (the first dimension is the batch),
as the converted ones do.

:func:`state_dict` names an ember module's arrays as PyTorch names its twin's (``"0.weight"``,
``"3.running_mean"``), so a state dict moves between the two without PyTorch installed; ``to_torch`` and
``from_torch`` (``pip install 'ember[torch]'``) build the twin and move it. A module with no twin, or an array
of the wrong shape, is an :class:`InteropError` naming the layer's place (``Sequential[2] (nn.Max)``).

Example:
    >>> from ember import interop, nn
    >>> model = nn.Sequential(nn.Linear(4, 3), nn.Tanh(), nn.Linear(3, 2), nn.LogSoftMax())
    >>> sorted(interop.state_dict(model))
    ['0.bias', '0.weight', '2.bias', '2.weight']

"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator, Mapping
from typing import Any

import numpy as np

from ember import nn
from ember.errors import EmberError
from ember.files import atomic_write, existing_file

__all__ = ["InteropError", "from_torch", "load_state_dict", "load_state_dict_file", "save_state_dict", "state_dict",
           "to_torch"]


class InteropError(EmberError, ValueError):
    """A module with no twin in the other library, or a state dict that does not fit; names the layer."""


#: ember parameter or buffer name → PyTorch's, where they differ (the recurrent layers' single layer is ``_l0``).
_RECURRENT_NAMES = {"weight_ih": "weight_ih_l0", "weight_hh": "weight_hh_l0", "bias_ih": "bias_ih_l0",
                    "bias_hh": "bias_hh_l0"}
_RECURRENT = ("RNN", "LSTM", "GRU")


def _where(path: str, module: Any) -> str:
    describe = module.describe() if isinstance(module, nn.Module) else type(module).__name__
    prefix = "nn." if isinstance(module, nn.Module) else "torch.nn."
    return f"{path} ({prefix}{describe})" if path else f"{prefix}{describe}"


def _step(path: str, module: Any, index: int) -> str:
    own = path or type(module).__name__
    return f"{own}[{index}]"


# -- state dicts: no PyTorch needed ------------------------------------------------------------------------

def _arrays(module: nn.Module, prefix: str = "", path: str = "") -> Iterator[tuple[str, str, nn.Module, str]]:
    """(PyTorch key, place, ember module, attribute) for every array of ``module``'s tree, in order."""
    name = type(module).__name__
    if isinstance(module, nn.Sequential):
        for index, child in enumerate(module.modules):
            yield from _arrays(child, f"{prefix}{index}.", _step(path, module, index))
        return
    if name not in _TO_TORCH:
        raise InteropError(f"{_where(path, module)}: no PyTorch equivalent (convertible: "
                           f"{', '.join(sorted(_TO_TORCH))})")
    names = [n for n in module.declared_parameters() if getattr(module, n) is not None]
    buffers = [n for n in module.declared_buffers() if getattr(module, n, None) is not None]
    if name in _RECURRENT and buffers:  # h0/c0: PyTorch passes the initial state with the input instead
        raise InteropError(f"{_where(path, module)}: its given initial state ({', '.join(buffers)}) has no place in "
                           f"PyTorch's {name}, which takes it with the input; unset it to convert")
    names += buffers
    for attribute in names:
        key = _RECURRENT_NAMES.get(attribute, attribute) if name in _RECURRENT else attribute
        yield prefix + key, path, module, attribute


def _depthwise_weight(m: Any, w: np.ndarray) -> np.ndarray:  # ember (m, C, kH, kW) → PyTorch (C·m, 1, kH, kW)
    return w.transpose(1, 0, 2, 3).reshape(-1, 1, m.kH, m.kW)


def _depthwise_weight_back(m: Any, w: np.ndarray) -> np.ndarray:
    return w.reshape(m.n_input_plane, m.n_output_plane, m.kH, m.kW).transpose(1, 0, 2, 3)


#: ember class → attribute → (ember layout to PyTorch's, PyTorch's to ember's), where the two differ: the
#: depth-wise convolution's output plane ``c·m + k`` is kernel ``k`` of input plane ``c`` in both.
_LAYOUTS: dict[str, dict[str, tuple[Callable[[Any, np.ndarray], np.ndarray], ...]]] = {
    "SpatialDepthWiseConvolution": {
        "weight": (_depthwise_weight, _depthwise_weight_back),
        "bias": (lambda m, b: b.T.reshape(-1), lambda m, b: b.reshape(m.n_input_plane, m.n_output_plane).T)},
}


def _torch_layout(owner: nn.Module, attribute: str, array: np.ndarray) -> np.ndarray:
    relayout = _LAYOUTS.get(type(owner).__name__, {}).get(attribute)
    return array if relayout is None else relayout[0](owner, array)


def state_dict(module: nn.Module) -> dict[str, np.ndarray]:
    """``module``'s parameters and buffers by the keys of its PyTorch twin's ``state_dict()`` (copies).

    Raises:
        InteropError: a module in the tree has no PyTorch twin (the error names its place).

    """
    return {key: np.array(_torch_layout(owner, attribute, getattr(owner, attribute)))
            for key, _, owner, attribute in _arrays(module)}


def load_state_dict(module: nn.Module, state: dict[str, Any], *, strict: bool = True) -> nn.Module:
    """Copy a PyTorch ``state_dict`` (arrays or tensors) into ``module``'s parameters and buffers, in place.

    Each array is converted to the module's dtype; PyTorch's ``num_batches_tracked`` counters are ignored.
    With ``strict`` (default), every array of the module must be in ``state`` and every key of ``state``
    must be the module's.

    Raises:
        InteropError: a missing, unexpected or wrongly shaped array, naming the layer and the key.

    """
    if not isinstance(module, nn.Module):
        raise InteropError(f"load_state_dict: expected an ember Module, got {type(module).__name__}")
    if not isinstance(state, Mapping):
        raise InteropError(f"{type(module).__name__}: the state dict must be a dict of arrays, "
                           f"got {type(state).__name__}")
    given = {key: value for key, value in state.items() if not str(key).endswith("num_batches_tracked")}
    expected = list(_arrays(module))
    for key, path, owner, attribute in expected:
        if key not in given:
            if strict:
                raise InteropError(f"{_where(path, owner)}: the state dict has no {key!r} for its {attribute}")
            continue
        value = given[key]
        value = value.detach().cpu().numpy() if hasattr(value, "detach") else np.asarray(value)
        if value.dtype.kind not in "fiub":
            raise InteropError(f"{_where(path, owner)}: the state dict's {key!r} holds {value.dtype} values, "
                               f"expected numbers")
        target = getattr(owner, attribute)
        relayout = _LAYOUTS.get(type(owner).__name__, {}).get(attribute)
        shape = _torch_layout(owner, attribute, target).shape
        if value.shape != shape:
            layout = "" if relayout is None else " in PyTorch's layout"
            raise InteropError(f"{_where(path, owner)}: {attribute} has shape {shape}{layout}, the state dict's "
                               f"{key!r} has {tuple(value.shape)}")
        target[...] = value if relayout is None else relayout[1](owner, value)
    unexpected = sorted(set(given) - {key for key, *_ in expected})
    if strict and unexpected:
        raise InteropError(f"{type(module).__name__}: the state dict has keys the model does not: "
                           f"{', '.join(unexpected[:5])}{' …' if len(unexpected) > 5 else ''}")
    return module


def save_state_dict(module: nn.Module, path: str | os.PathLike) -> None:
    """Write :func:`state_dict` as a safetensors file (``safetensors.torch.load_file`` reads it for PyTorch)."""
    from safetensors.numpy import save_file

    arrays = {key: np.ascontiguousarray(value) for key, value in state_dict(module).items()}
    atomic_write(path, lambda temporary: save_file(arrays, os.fspath(temporary)))


def load_state_dict_file(module: nn.Module, path: str | os.PathLike, *, strict: bool = True) -> nn.Module:
    """:func:`load_state_dict` from a safetensors file (e.g. ``safetensors.torch.save_file(model.state_dict())``)."""
    from safetensors import SafetensorError
    from safetensors.numpy import load_file

    file = existing_file(path, "a safetensors state dict")
    try:
        state = load_file(os.fspath(file))
    except (SafetensorError, OSError, ValueError) as error:
        raise InteropError(f"{file}: not a safetensors state dict ({error})") from error
    return load_state_dict(module, state, strict=strict)



# -- the twins ---------------------------------------------------------------------------------------------

def _feature_dim(name: str) -> Callable[[Any, Any], Any]:
    return lambda torch, m: getattr(torch.nn, name)(dim=1)


def _view(torch: Any, m: Any) -> Any:
    if m.sizes == (-1,) and m.n_input_dims > 0:
        return torch.nn.Flatten(1)
    if m.n_input_dims == 1 and -1 not in m.sizes:
        return torch.nn.Unflatten(1, m.sizes)
    raise InteropError("only View(-1, n_input_dims=k) (Flatten) and View(*sizes, n_input_dims=1) (Unflatten) "
                       "have a PyTorch twin")


#: ember class name → ``twin(torch, module)`` building the PyTorch module (weights are copied afterwards).
_TO_TORCH: dict[str, Callable[[Any, Any], Any]] = {
    "Linear": lambda torch, m: torch.nn.Linear(m.weight.shape[1], m.weight.shape[0], bias=m.bias is not None),
    "SpatialConvolution": lambda torch, m: torch.nn.Conv2d(
        m.n_input_plane, m.n_output_plane, (m.kH, m.kW), (m.dH, m.dW), (m.padH, m.padW), bias=m.bias is not None),
    "SpatialDilatedConvolution": lambda torch, m: torch.nn.Conv2d(
        m.n_input_plane, m.n_output_plane, (m.kH, m.kW), (m.dH, m.dW), (m.padH, m.padW),
        dilation=(m.dilationH, m.dilationW), bias=m.bias is not None),
    "SpatialFullConvolution": lambda torch, m: torch.nn.ConvTranspose2d(
        m.n_input_plane, m.n_output_plane, (m.kH, m.kW), (m.dH, m.dW), (m.padH, m.padW),
        output_padding=(m.adjH, m.adjW), bias=m.bias is not None),
    "SpatialDepthWiseConvolution": lambda torch, m: torch.nn.Conv2d(
        m.n_input_plane, m.n_input_plane * m.n_output_plane, (m.kH, m.kW), (m.dH, m.dW), (m.padH, m.padW),
        groups=m.n_input_plane, bias=m.bias is not None),
    "VolumetricConvolution": lambda torch, m: torch.nn.Conv3d(
        m.n_input_plane, m.n_output_plane, m.k, m.d, m.pad, bias=m.bias is not None),
    "VolumetricDilatedConvolution": lambda torch, m: torch.nn.Conv3d(
        m.n_input_plane, m.n_output_plane, m.k, m.d, m.pad, dilation=m.dil, bias=m.bias is not None),
    "VolumetricFullConvolution": lambda torch, m: torch.nn.ConvTranspose3d(
        m.n_input_plane, m.n_output_plane, m.k, m.d, m.pad, output_padding=m.adj, bias=m.bias is not None),
    "SpatialDilatedMaxPooling": lambda torch, m: torch.nn.MaxPool2d(
        (m.config()["kH"], m.config()["kW"]), (m.config()["dH"], m.config()["dW"]),
        (m.config()["padH"], m.config()["padW"]), dilation=(m.config()["dilationH"], m.config()["dilationW"]),
        ceil_mode=m.ceil_mode),
    "SpatialUpSamplingNearest": lambda torch, m: torch.nn.Upsample(scale_factor=m.scale_factor, mode="nearest"),
    "SpatialMaxPooling": lambda torch, m: torch.nn.MaxPool2d(
        (m.kH, m.kW), (m.dH, m.dW), (m.padH, m.padW), ceil_mode=m.ceil_mode),
    "SpatialAveragePooling": lambda torch, m: torch.nn.AvgPool2d(
        (m.kH, m.kW), (m.dH, m.dW), (m.padH, m.padW), ceil_mode=m.ceil_mode, count_include_pad=m.count_include_pad),
    "SpatialZeroPadding": lambda torch, m: torch.nn.ZeroPad2d((m.pad_l, m.pad_r, m.pad_t, m.pad_b)),
    "SpatialReflectionPadding": lambda torch, m: torch.nn.ReflectionPad2d((m.pad_l, m.pad_r, m.pad_t, m.pad_b)),
    "SpatialReplicationPadding": lambda torch, m: torch.nn.ReplicationPad2d((m.pad_l, m.pad_r, m.pad_t, m.pad_b)),
    "BatchNormalization": lambda torch, m: torch.nn.BatchNorm1d(m.running_mean.shape[0], m.eps, m.momentum,
                                                                affine=m.weight is not None),
    "SpatialBatchNormalization": lambda torch, m: torch.nn.BatchNorm2d(m.running_mean.shape[0], m.eps, m.momentum,
                                                                       affine=m.weight is not None),
    "Dropout": lambda torch, m: torch.nn.Dropout(m.p),
    "SpatialDropout": lambda torch, m: torch.nn.Dropout2d(m.p),
    "VolumetricMaxPooling": lambda torch, m: torch.nn.MaxPool3d(m.k, m.d, m.pad, ceil_mode=m.ceil_mode),
    "VolumetricDilatedMaxPooling": lambda torch, m: torch.nn.MaxPool3d(m.k, m.d, m.pad, dilation=m.dil,
                                                                       ceil_mode=m.ceil_mode),
    "VolumetricAveragePooling": lambda torch, m: torch.nn.AvgPool3d(
        m.k, m.d, m.pad, ceil_mode=m.ceil_mode, count_include_pad=m.count_include_pad),
    "VolumetricReplicationPadding": lambda torch, m: torch.nn.ReplicationPad3d(m.padding),
    "VolumetricBatchNormalization": lambda torch, m: torch.nn.BatchNorm3d(m.running_mean.shape[0], m.eps,
                                                                          m.momentum, affine=m.weight is not None),
    "VolumetricDropout": lambda torch, m: torch.nn.Dropout3d(m.p),
    "LookupTable": lambda torch, m: torch.nn.Embedding(*m.weight.shape),
    "Identity": lambda torch, m: torch.nn.Identity(),
    "Sigmoid": lambda torch, m: torch.nn.Sigmoid(),
    "Tanh": lambda torch, m: torch.nn.Tanh(),
    "ReLU": lambda torch, m: torch.nn.ReLU(),
    "ReLU6": lambda torch, m: torch.nn.ReLU6(),
    "Threshold": lambda torch, m: torch.nn.Threshold(m.threshold, m.value),
    "LeakyReLU": lambda torch, m: torch.nn.LeakyReLU(m.negval),
    "ELU": lambda torch, m: torch.nn.ELU(m.alpha),
    "CELU": lambda torch, m: torch.nn.CELU(m.alpha),
    "SELU": lambda torch, m: torch.nn.SELU(),
    "GELU": lambda torch, m: torch.nn.GELU(m.approximate),
    "SiLU": lambda torch, m: torch.nn.SiLU(),
    "Mish": lambda torch, m: torch.nn.Mish(),
    "PReLU": lambda torch, m: torch.nn.PReLU(m.weight.shape[0]),
    "SoftPlus": lambda torch, m: torch.nn.Softplus(m.beta, m.threshold),
    "SoftSign": lambda torch, m: torch.nn.Softsign(),
    "HardTanh": lambda torch, m: torch.nn.Hardtanh(m.min_value, m.max_value),
    "HardShrink": lambda torch, m: torch.nn.Hardshrink(m.lambd),
    "SoftShrink": lambda torch, m: torch.nn.Softshrink(m.lambd),
    "TanhShrink": lambda torch, m: torch.nn.Tanhshrink(),
    "LogSigmoid": lambda torch, m: torch.nn.LogSigmoid(),
    "SoftMax": _feature_dim("Softmax"),
    "LogSoftMax": _feature_dim("LogSoftmax"),
    "SoftMin": _feature_dim("Softmin"),
    "View": _view,
    "RNN": lambda torch, m: torch.nn.RNN(m.input_size, m.hidden_size, nonlinearity=m.nonlinearity),
    "LSTM": lambda torch, m: torch.nn.LSTM(m.input_size, m.hidden_size),
    "GRU": lambda torch, m: torch.nn.GRU(m.input_size, m.hidden_size),
}


def _torch() -> Any:
    try:
        import torch
    except ImportError as error:
        raise ImportError("ember.interop.to_torch/from_torch need PyTorch: pip install 'ember[torch]'") from error
    return torch


def _build_torch(torch: Any, module: nn.Module, path: str, top: bool) -> Any:
    name = type(module).__name__
    if isinstance(module, nn.Sequential) and name == "Sequential":
        return torch.nn.Sequential(*(_build_torch(torch, child, _step(path, module, i), False)
                                     for i, child in enumerate(module.modules)))
    if name not in _TO_TORCH:
        raise InteropError(f"{_where(path, module)}: no PyTorch equivalent (convertible: "
                           f"{', '.join(sorted(_TO_TORCH))})")
    if name in _RECURRENT and not top:
        raise InteropError(f"{_where(path, module)}: PyTorch's {name} returns (output, state) and cannot sit "
                           f"inside a Sequential; convert it on its own")
    try:
        return _TO_TORCH[name](torch, module)
    except InteropError as error:
        raise InteropError(f"{_where(path, module)}: {error}") from None


def to_torch(module: nn.Module) -> Any:
    """A PyTorch module computing what ``module`` computes, with a copy of its weights and running statistics.

    The twin has ``module``'s dtype (float64 stays float64) and mode (training or evaluation).

    Raises:
        InteropError: a module in the tree has no PyTorch twin (the error names its place).
        ImportError: PyTorch is not installed (``pip install 'ember[torch]'``).

    """
    torch = _torch()
    if not isinstance(module, nn.Module):
        raise InteropError(f"to_torch: expected an ember Module, got {type(module).__name__}")
    twin = _build_torch(torch, module, "", True)
    arrays = state_dict(module)
    if arrays:
        dtype = {np.dtype(np.float32): torch.float32, np.dtype(np.float64): torch.float64}.get(
            next(iter(arrays.values())).dtype, torch.float64)
        twin.to(dtype)
    twin.load_state_dict({key: torch.from_numpy(value) for key, value in arrays.items()}, strict=False)
    return twin.train(bool(module.train))


def _pair(value: Any) -> tuple[int, int]:
    return (value, value) if isinstance(value, int) else tuple(value)


def _conv2d(t: Any) -> nn.Module:
    depthwise = t.groups == t.in_channels > 1 and t.out_channels % t.in_channels == 0
    if (t.groups != 1 and not depthwise) or t.padding_mode != "zeros" or isinstance(t.padding, str):
        raise InteropError("only groups=1 or groups=in_channels (depth-wise) and explicit zero padding have an "
                           "ember twin")
    (kH, kW), (dH, dW), (padH, padW) = _pair(t.kernel_size), _pair(t.stride), _pair(t.padding)
    if depthwise:
        if _pair(t.dilation) != (1, 1):
            raise InteropError("a depth-wise Conv2d with dilation has no ember twin")
        return nn.SpatialDepthWiseConvolution(t.in_channels, t.out_channels // t.in_channels, kW, kH, dW, dH, padW,
                                              padH, bias=t.bias is not None)
    if _pair(t.dilation) != (1, 1):
        dilationH, dilationW = _pair(t.dilation)
        return nn.SpatialDilatedConvolution(t.in_channels, t.out_channels, kW, kH, dW, dH, padW, padH, dilationW,
                                            dilationH, bias=t.bias is not None)
    return nn.SpatialConvolution(t.in_channels, t.out_channels, kW, kH, dW, dH, padW, padH, bias=t.bias is not None)


def _conv_transpose2d(t: Any) -> nn.Module:
    if t.groups != 1 or _pair(t.dilation) != (1, 1) or t.padding_mode != "zeros" or isinstance(t.padding, str):
        raise InteropError("only groups=1, dilation=1 and explicit zero padding have an ember twin")
    (kH, kW), (dH, dW), (padH, padW) = _pair(t.kernel_size), _pair(t.stride), _pair(t.padding)
    adjH, adjW = _pair(t.output_padding)
    return nn.SpatialFullConvolution(t.in_channels, t.out_channels, kW, kH, dW, dH, padW, padH, adjW, adjH,
                                     bias=t.bias is not None)


def _triple(value: Any) -> tuple[int, int, int]:
    return (value,) * 3 if isinstance(value, int) else tuple(value)


def _conv3d(t: Any) -> nn.Module:
    if t.groups != 1 or t.padding_mode != "zeros" or isinstance(t.padding, str):
        raise InteropError("only groups=1 and explicit zero padding have an ember twin")
    (kT, kH, kW), (dT, dH, dW), (padT, padH, padW) = _triple(t.kernel_size), _triple(t.stride), _triple(t.padding)
    if _triple(t.dilation) != (1, 1, 1):
        dilT, dilH, dilW = _triple(t.dilation)
        return nn.VolumetricDilatedConvolution(t.in_channels, t.out_channels, kT, kW, kH, dT, dW, dH, padT, padW,
                                               padH, dilT, dilW, dilH, bias=t.bias is not None)
    return nn.VolumetricConvolution(t.in_channels, t.out_channels, kT, kW, kH, dT, dW, dH, padT, padW, padH,
                                    bias=t.bias is not None)


def _conv_transpose3d(t: Any) -> nn.Module:
    if t.groups != 1 or _triple(t.dilation) != (1, 1, 1) or t.padding_mode != "zeros" or isinstance(t.padding, str):
        raise InteropError("only groups=1, dilation=1 and explicit zero padding have an ember twin")
    (kT, kH, kW), (dT, dH, dW), (padT, padH, padW) = _triple(t.kernel_size), _triple(t.stride), _triple(t.padding)
    adjT, adjH, adjW = _triple(t.output_padding)
    return nn.VolumetricFullConvolution(t.in_channels, t.out_channels, kT, kW, kH, dT, dW, dH, padT, padW, padH,
                                        adjT, adjW, adjH, bias=t.bias is not None)


def _max_pool(t: Any) -> nn.Module:
    if t.return_indices:
        raise InteropError("return_indices has no ember twin")
    (kH, kW), (dH, dW), (padH, padW) = _pair(t.kernel_size), _pair(t.stride or t.kernel_size), _pair(t.padding)
    if _pair(t.dilation) != (1, 1):
        dilationH, dilationW = _pair(t.dilation)
        return nn.SpatialDilatedMaxPooling(kW, kH, dW, dH, padW, padH, dilationW, dilationH, ceil_mode=t.ceil_mode)
    return nn.SpatialMaxPooling(kW, kH, dW, dH, padW, padH, ceil_mode=t.ceil_mode)


def _max_pool3d(t: Any) -> nn.Module:
    if t.return_indices:
        raise InteropError("return_indices has no ember twin")
    (kT, kH, kW), (dT, dH, dW) = _triple(t.kernel_size), _triple(t.stride or t.kernel_size)
    padT, padH, padW = _triple(t.padding)
    if _triple(t.dilation) != (1, 1, 1):
        dilationT, dilationH, dilationW = _triple(t.dilation)
        return nn.VolumetricDilatedMaxPooling(kT, kW, kH, dT, dW, dH, padT, padW, padH, dilationT, dilationW,
                                              dilationH, ceil_mode=t.ceil_mode)
    return nn.VolumetricMaxPooling(kT, kW, kH, dT, dW, dH, padT, padW, padH, ceil_mode=t.ceil_mode)


def _upsample(t: Any) -> nn.Module:
    scale = t.scale_factor
    scale = scale[0] if isinstance(scale, tuple) and len(set(scale)) == 1 else scale
    if t.mode != "nearest" or t.size is not None or not isinstance(scale, (int, float)) or scale != int(scale):
        raise InteropError("only mode='nearest' with one whole-number scale_factor has an ember twin")
    return nn.SpatialUpSamplingNearest(int(scale))


def _avg_pool(t: Any) -> nn.Module:
    if t.divisor_override is not None:
        raise InteropError("divisor_override has no ember twin")
    (kH, kW), (dH, dW), (padH, padW) = _pair(t.kernel_size), _pair(t.stride or t.kernel_size), _pair(t.padding)
    return nn.SpatialAveragePooling(kW, kH, dW, dH, padW, padH, ceil_mode=t.ceil_mode,
                                    count_include_pad=t.count_include_pad)


def _avg_pool3d(t: Any) -> nn.Module:
    if t.divisor_override is not None:
        raise InteropError("divisor_override has no ember twin")
    (kT, kH, kW), (dT, dH, dW) = _triple(t.kernel_size), _triple(t.stride or t.kernel_size)
    padT, padH, padW = _triple(t.padding)
    return nn.VolumetricAveragePooling(kT, kW, kH, dT, dW, dH, padT, padW, padH, ceil_mode=t.ceil_mode,
                                       count_include_pad=t.count_include_pad)


def _batch_norm(kind: type) -> Callable[[Any], nn.Module]:
    def build(t: Any) -> nn.Module:
        if not t.track_running_stats or t.momentum is None:
            raise InteropError("only track_running_stats=True with a momentum has an ember twin")
        return kind(t.num_features, t.eps, t.momentum, affine=t.affine)
    return build


def _padding(kind: type) -> Callable[[Any], nn.Module]:
    def build(t: Any) -> nn.Module:
        left, right, top, bottom = t.padding
        return kind(left, right, top, bottom)
    return build


def _softmax(kind: type) -> Callable[[Any], nn.Module]:
    def build(t: Any) -> nn.Module:
        if t.dim not in (1, -1):
            raise InteropError(f"dim={t.dim}: ember's {kind.__name__} works along the features (dim 1 of a batch)")
        return kind()
    return build


def _embedding(t: Any) -> nn.Module:
    if t.padding_idx is not None or t.max_norm is not None:
        raise InteropError("padding_idx and max_norm have no ember twin")
    return nn.LookupTable(t.num_embeddings, t.embedding_dim)


def _recurrent(t: Any) -> nn.Module:
    if t.num_layers != 1 or t.bidirectional or t.batch_first or not t.bias or getattr(t, "proj_size", 0):
        raise InteropError("only one layer, one direction, batch_first=False, bias=True and no projection "
                           "have an ember twin")
    name = type(t).__name__
    if name == "RNN":
        return nn.RNN(t.input_size, t.hidden_size, nonlinearity=t.nonlinearity)
    return getattr(nn, name)(t.input_size, t.hidden_size)


#: PyTorch class name → ``twin(module)`` building the ember module (weights are copied afterwards).
_FROM_TORCH: dict[str, Callable[[Any], nn.Module]] = {
    "Linear": lambda t: nn.Linear(t.in_features, t.out_features, bias=t.bias is not None),
    "Conv2d": _conv2d,
    "ConvTranspose2d": _conv_transpose2d,
    "Conv3d": _conv3d,
    "ConvTranspose3d": _conv_transpose3d,
    "MaxPool2d": _max_pool,
    "Upsample": _upsample,
    "AvgPool2d": _avg_pool,
    "ZeroPad2d": _padding(nn.SpatialZeroPadding),
    "ReflectionPad2d": _padding(nn.SpatialReflectionPadding),
    "ReplicationPad2d": _padding(nn.SpatialReplicationPadding),
    "BatchNorm1d": _batch_norm(nn.BatchNormalization),
    "BatchNorm2d": _batch_norm(nn.SpatialBatchNormalization),
    "Dropout": lambda t: nn.Dropout(t.p),
    "Dropout2d": lambda t: nn.SpatialDropout(t.p),
    "MaxPool3d": _max_pool3d,
    "AvgPool3d": _avg_pool3d,
    "ReplicationPad3d": lambda t: nn.VolumetricReplicationPadding(*t.padding),
    "BatchNorm3d": _batch_norm(nn.VolumetricBatchNormalization),
    "Dropout3d": lambda t: nn.VolumetricDropout(t.p),
    "Embedding": _embedding,
    "Identity": lambda t: nn.Identity(),
    "Sigmoid": lambda t: nn.Sigmoid(),
    "Tanh": lambda t: nn.Tanh(),
    "ReLU": lambda t: nn.ReLU(),
    "ReLU6": lambda t: nn.ReLU6(),
    "Threshold": lambda t: nn.Threshold(t.threshold, t.value),
    "LeakyReLU": lambda t: nn.LeakyReLU(t.negative_slope),
    "ELU": lambda t: nn.ELU(t.alpha),
    "CELU": lambda t: nn.CELU(t.alpha),
    "SELU": lambda t: nn.SELU(),
    "GELU": lambda t: nn.GELU(t.approximate),
    "SiLU": lambda t: nn.SiLU(),
    "Mish": lambda t: nn.Mish(),
    "PReLU": lambda t: nn.PReLU(t.num_parameters if t.num_parameters > 1 else 0),
    "Softplus": lambda t: nn.SoftPlus(t.beta, t.threshold),
    "Softsign": lambda t: nn.SoftSign(),
    "Hardtanh": lambda t: nn.HardTanh(t.min_val, t.max_val),
    "Hardshrink": lambda t: nn.HardShrink(t.lambd),
    "Softshrink": lambda t: nn.SoftShrink(t.lambd),
    "Tanhshrink": lambda t: nn.TanhShrink(),
    "LogSigmoid": lambda t: nn.LogSigmoid(),
    "Softmax": _softmax(nn.SoftMax),
    "LogSoftmax": _softmax(nn.LogSoftMax),
    "Softmin": _softmax(nn.SoftMin),
    "RNN": _recurrent,
    "LSTM": _recurrent,
    "GRU": _recurrent,
}
#: the spatial PyTorch layers: after them a ``Flatten`` flattens (C, H, W) examples.
_SPATIAL = ("Conv2d", "ConvTranspose2d", "Upsample", "MaxPool2d", "AvgPool2d", "ZeroPad2d", "ReflectionPad2d",
            "ReplicationPad2d", "BatchNorm2d", "Dropout2d")
#: the volumetric PyTorch layers: after them a ``Flatten`` flattens (C, T, H, W) examples.
_VOLUMETRIC = ("Conv3d", "ConvTranspose3d", "MaxPool3d", "AvgPool3d", "ReplicationPad3d", "BatchNorm3d",
               "Dropout3d")


def _build_ember(t: Any, path: str, dims: list[int | None], top: bool) -> nn.Module:
    """The ember twin of torch module ``t``; ``dims`` holds the example dimensions flowing in (None: unknown)."""
    name = type(t).__name__
    where = f"{path} (torch.nn.{name})" if path else f"torch.nn.{name}"
    if name == "Sequential":
        return nn.Sequential(*(_build_ember(child, f"{path or 'Sequential'}[{i}]", dims, False)
                               for i, child in enumerate(t)))
    if name == "Flatten":
        if t.start_dim != 1 or t.end_dim != -1:
            raise InteropError(f"{where}: only Flatten(1, -1) (each example flattened) has an ember twin")
        if dims[0] is None:
            raise InteropError(f"{where}: the dimensions of its input examples are unknown here (no convolution, "
                               f"pooling or Unflatten before it); put the model's first layers before it")
        module, dims[0] = nn.View(-1, n_input_dims=dims[0]), 1
        return module
    if name == "Unflatten":
        if t.dim != 1:
            raise InteropError(f"{where}: only Unflatten(1, sizes) (each example reshaped) has an ember twin")
        dims[0] = len(t.unflattened_size)
        return nn.View(*t.unflattened_size, n_input_dims=1)
    if name not in _FROM_TORCH:
        raise InteropError(f"{where}: no ember equivalent (convertible: {', '.join(sorted(_FROM_TORCH))}, "
                           f"Flatten, Unflatten, Sequential)")
    if name in _RECURRENT and not top:
        raise InteropError(f"{where}: PyTorch's {name} returns (output, state) and cannot sit inside a "
                           f"Sequential; convert it on its own")
    try:
        module = _FROM_TORCH[name](t)
    except InteropError as error:
        raise InteropError(f"{where}: {error}") from None
    if name in _SPATIAL:
        dims[0] = 3
    elif name in _VOLUMETRIC:
        dims[0] = 4
    elif name in ("Linear", "BatchNorm1d", "Embedding"):
        dims[0] = 1
    return module


def from_torch(module: Any) -> nn.Module:
    """The ember module computing what PyTorch ``module`` computes, with a copy of its weights and statistics.

    The twin has ``module``'s dtype (float32 or float64) and mode (training or evaluation).

    Raises:
        InteropError: a module in the tree has no ember twin, or settings ember lacks (the error names its place).
        ImportError: PyTorch is not installed (``pip install 'ember[torch]'``).

    """
    torch = _torch()
    if not isinstance(module, torch.nn.Module):
        raise InteropError(f"from_torch: expected a torch.nn.Module, got {type(module).__name__}")
    twin = _build_ember(module, "", [None], True)
    state = module.state_dict()
    floats = [value.dtype for value in state.values() if value.is_floating_point()]
    if floats:
        twin.type(np.float32 if floats[0] == torch.float32 else np.float64)
    load_state_dict(twin, state)
    return twin.training() if module.training else twin.evaluate()
