"""Export an ember model to ONNX, to run it in onnxruntime and every other ONNX runtime (``pip install 'ember[onnx]'``).

:func:`export` traces the model on an example input (so every shape is known),
translating each module into ONNX operators (opset 17):

- Linear (``MatMul`` + ``Add``), Identity, Dropout and SpatialDropout (identity: the export is of evaluation);
- activations: Sigmoid, Tanh, ReLU, Threshold, LeakyReLU, ELU, PReLU, ReQU, SoftPlus, SoftSign, HardTanh,
  Clamp, LogSigmoid; element-wise Abs, Exp, Log, Sqrt, Square, Power, AddConstant, MulConstant;
- SoftMax, LogSoftMax, SoftMin along the feature dimension;
- SpatialConvolution (``Conv``), SpatialMaxPooling, SpatialAveragePooling, SpatialZeroPadding;
- BatchNormalization and SpatialBatchNormalization with their running statistics;
- View, Reshape, Transpose, Squeeze, Unsqueeze, Narrow, Select;
- Sequential, Concat, ConcatTable, ParallelTable, JoinTable, SelectTable, CAddTable, CSubTable, CMulTable,
  CDivTable, CMaxTable, CMinTable, and gModule graphs (nngraph), those with several inputs (or any model taking a
  table) from a list of example arrays (graph inputs ``input_0``, ``input_1``, ...);
- reductions Sum, Mean, Max, Min; Replicate; LookupTable (``Gather``; the example input is then the integer
  indices);
- GELU (exact and tanh), SiLU, Mish, CELU, SELU, ReLU6, RReLU (its evaluation slope), CReLU, HardShrink,
  SoftShrink, TanhShrink; SpatialReflectionPadding and SpatialReplicationPadding;
- TemporalConvolution (a 1-D ``Conv``), and RNN, LSTM and GRU (ONNX's operators, the gates reordered) run from
  the zero state; Sequencer around any per-row module;
- SpatialDilatedConvolution, SpatialFullConvolution (``ConvTranspose``), SpatialDepthWiseConvolution (a grouped
  ``Conv``), SpatialDilatedMaxPooling, SpatialUpSamplingNearest (``Resize``), SpatialSoftMax,
  SpatialLogSoftMax; GradientReversal and VolumetricDropout (identity going forward);
- CMul, CAdd, Add, Mul (CMul's case — broadcast, same elements, batch of examples — as the example input has it);
- VolumetricConvolution, VolumetricDilatedConvolution (3-D ``Conv``), VolumetricFullConvolution (3-D
  ``ConvTranspose``), VolumetricMaxPooling, VolumetricDilatedMaxPooling, VolumetricAveragePooling;
  SpatialSubSampling (a grouped ``Conv``); SpatialConvolutionMap and SpatialFullConvolutionMap (``Conv`` /
  ``ConvTranspose`` with the connection table's dense weight); Normalize (its ``eps`` included).

The fractional max poolings (random regions) and SpatialConvolutionLocal (unshared weights) have no ONNX
operator: they raise :class:`ExportError` saying so. Any other module raises it naming it and where it sits. The
first dimension of the input is a symbolic batch size (``dynamic_batch``), and
the model is exported as it computes in evaluation mode (its modes are restored
afterwards).
"""

from __future__ import annotations

import os
from collections.abc import Callable

import numpy as np

from ember import nn
from ember.errors import InputError, InputTypeError
from ember.files import atomic_write
from ember.nn.activation import FEATURE_DIM

OPSET = 17

__all__ = ["OPSET", "ExportError", "export", "supported"]


class ExportError(InputError):
    """A model that cannot be exported: a module ONNX has no operator for, or a setting it cannot express
    (an ember error, and a ``ValueError``).
    """


def _onnx():
    try:
        import onnx
    except ImportError:
        raise ImportError("ember.onnx needs the onnx package: pip install 'ember[onnx]'") from None
    return onnx


class _Graph:
    """The nodes and constants of the graph being built, with fresh names."""

    def __init__(self, dtype: np.dtype):
        self.onnx = _onnx()
        self.dtype = dtype
        self.nodes: list = []
        self.initializers: list = []
        self.count = 0

    def name(self, hint: str) -> str:
        self.count += 1
        return f"{hint}_{self.count}"

    def const(self, hint: str, value, dtype=None) -> str:
        array = np.asarray(value, dtype=self.dtype if dtype is None else dtype)
        name = self.name(hint)
        self.initializers.append(self.onnx.numpy_helper.from_array(np.ascontiguousarray(array), name))
        return name

    def op(self, op_type: str, inputs: list[str], **attributes) -> str:
        out = self.name(op_type.lower())
        self.nodes.append(self.onnx.helper.make_node(op_type, inputs, [out], **attributes))
        return out


Converter = Callable[[_Graph, nn.Module, object, object], object]
_CONVERTERS: dict[type, Converter] = {}


def _converts(*classes: type) -> Callable[[Converter], Converter]:
    def register(function: Converter) -> Converter:
        for cls in classes:
            _CONVERTERS[cls] = function
        return function
    return register


def supported() -> list[str]:
    """The names of the module classes :func:`export` translates."""
    return sorted(cls.__name__ for cls in _CONVERTERS)


#: modules ONNX has no operator for, and why.
_NO_OPERATOR = {
    "SpatialFractionalMaxPooling": "its pooling regions are drawn at random per call; ONNX's MaxPool has fixed ones",
    "VolumetricFractionalMaxPooling": "its pooling regions are drawn at random per call; ONNX's MaxPool has fixed "
                                      "ones",
    "SpatialConvolutionLocal": "a weight per output position (no sharing); ONNX has no locally connected operator",
}


def _copy(value):
    return [_copy(v) for v in value] if isinstance(value, list) else np.array(value, copy=True)


def _convert(g: _Graph, module: nn.Module, name, value, where: str):
    """Translate ``module`` applied to ``name`` (example ``value``); returns (output name(s), example output)."""
    converter = _CONVERTERS.get(type(module))
    if type(module).__name__ in _NO_OPERATOR:
        raise ExportError(f"{where}{module!r}: no ONNX translation for {type(module).__name__}: "
                          f"{_NO_OPERATOR[type(module).__name__]}")
    if converter is None:
        raise ExportError(f"{where}{module!r}: no ONNX translation for {type(module).__name__} (supported: "
                          f"{', '.join(supported())})")
    if isinstance(module, (nn.Container, nn.gModule, nn.Sequencer)):
        return converter(g, module, name, value, where)
    out_name = converter(g, module, name, value)
    return out_name, _copy(module.forward(value))


# -- containers ------------------------------------------------------------------------------------------------------

def _child_where(where: str, container: nn.Module, index: int) -> str:
    return f"{where}{type(container).__name__}[{index}] > "


@_converts(nn.Sequential)
def _sequential(g, module, name, value, where):
    for index, child in enumerate(module.modules):
        name, value = _convert(g, child, name, value, _child_where(where, module, index))
    return name, value


@_converts(nn.ConcatTable)
def _concat_table(g, module, name, value, where):
    outs = [_convert(g, child, name, value, _child_where(where, module, i)) for i, child in enumerate(module.modules)]
    return [n for n, _ in outs], [v for _, v in outs]


@_converts(nn.ParallelTable)
def _parallel_table(g, module, name, value, where):
    outs = [_convert(g, child, name[i], value[i], _child_where(where, module, i))
            for i, child in enumerate(module.modules)]
    return [n for n, _ in outs], [v for _, v in outs]


@_converts(nn.Concat)
def _concat(g, module, name, value, where):
    names, values = _concat_table(g, module, name, value, where)
    return g.op("Concat", names, axis=module.dim % values[0].ndim), np.concatenate(values, axis=module.dim %
                                                                                   values[0].ndim)


# -- linear and element-wise -----------------------------------------------------------------------------------------

@_converts(nn.Linear)
def _linear(g, module, name, value):
    out = g.op("MatMul", [name, g.const("weight_t", module.weight.T)])
    return out if module.bias is None else g.op("Add", [out, g.const("bias", module.bias)])


@_converts(nn.Identity, nn.Dropout, nn.SpatialDropout)
def _identity(g, module, name, value):
    return g.op("Identity", [name])


def _unary(op_type: str) -> Converter:
    return lambda g, module, name, value: g.op(op_type, [name])


for _cls, _op in ((nn.Sigmoid, "Sigmoid"), (nn.Tanh, "Tanh"), (nn.ReLU, "Relu"), (nn.SoftSign, "Softsign"),
                  (nn.Abs, "Abs"), (nn.Exp, "Exp"), (nn.Log, "Log"), (nn.Sqrt, "Sqrt")):
    _converts(_cls)(_unary(_op))


@_converts(nn.Threshold)
def _threshold(g, module, name, value):
    above = g.op("Greater", [name, g.const("threshold", module.threshold)])
    return g.op("Where", [above, name, g.const("value", module.value)])


@_converts(nn.LeakyReLU)
def _leaky_relu(g, module, name, value):
    return g.op("LeakyRelu", [name], alpha=float(module.negval))


@_converts(nn.ELU)
def _elu(g, module, name, value):
    return g.op("Elu", [name], alpha=float(module.alpha))


@_converts(nn.PReLU)
def _prelu(g, module, name, value):
    slope = module.weight
    if slope.size > 1:  # per channel: the channel axis is the feature dimension, broadcast over what follows
        trailing = value.ndim - 1 - FEATURE_DIM[value.ndim]
        slope = slope.reshape((-1,) + (1,) * trailing)
    return g.op("PRelu", [name, g.const("slope", slope)])


@_converts(nn.ReQU)
def _requ(g, module, name, value):
    positive = g.op("Relu", [name])
    return g.op("Mul", [positive, positive])


@_converts(nn.SoftPlus)
def _softplus(g, module, name, value):
    scaled = g.op("Mul", [name, g.const("beta", module.beta)])
    smooth = g.op("Div", [g.op("Softplus", [scaled]), g.const("beta", module.beta)])
    linear = g.op("Greater", [scaled, g.const("threshold", module.threshold)])
    return g.op("Where", [linear, name, smooth])


@_converts(nn.HardTanh, nn.Clamp)
def _hardtanh(g, module, name, value):
    return g.op("Clip", [name, g.const("min", module.min_value), g.const("max", module.max_value)])


@_converts(nn.LogSigmoid)
def _log_sigmoid(g, module, name, value):
    return g.op("Neg", [g.op("Softplus", [g.op("Neg", [name])])])


@_converts(nn.Square)
def _square(g, module, name, value):
    return g.op("Mul", [name, name])


@_converts(nn.Power)
def _power(g, module, name, value):
    return g.op("Pow", [name, g.const("exponent", module.p)])


@_converts(nn.AddConstant)
def _add_constant(g, module, name, value):
    return g.op("Add", [name, g.const("constant", module.constant_scalar)])


@_converts(nn.MulConstant)
def _mul_constant(g, module, name, value):
    return g.op("Mul", [name, g.const("constant", module.constant_scalar)])


@_converts(nn.SoftMax, nn.LogSoftMax, nn.SoftMin)
def _softmax(g, module, name, value):
    axis = FEATURE_DIM[value.ndim]
    if isinstance(module, nn.SoftMin):
        return g.op("Softmax", [g.op("Neg", [name])], axis=axis)
    return g.op("LogSoftmax" if isinstance(module, nn.LogSoftMax) else "Softmax", [name], axis=axis)


# -- convolution, pooling, normalisation -----------------------------------------------------------------------------

def _spatial(g, value, name, build: Callable[[str], str]) -> str:
    """Apply ``build`` to a batched (N, C, H, W) tensor, adding and removing the batch axis for one (C, H, W) image."""
    if value.ndim == 4:
        return build(name)
    return g.op("Squeeze", [build(g.op("Unsqueeze", [name, g.const("axes", [0], np.int64)])),
                            g.const("axes", [0], np.int64)])


@_converts(nn.SpatialConvolution)
def _convolution(g, module, name, value):
    inputs = [g.const("weight", module.weight)] + ([] if module.bias is None else [g.const("bias", module.bias)])
    return _spatial(g, value, name, lambda x: g.op(
        "Conv", [x, *inputs], kernel_shape=[module.kH, module.kW], strides=[module.dH, module.dW],
        pads=[module.padH, module.padW, module.padH, module.padW]))


@_converts(nn.SpatialMaxPooling, nn.SpatialAveragePooling)
def _pooling(g, module, name, value):
    settings = {"kernel_shape": [module.kH, module.kW], "strides": [module.dH, module.dW],
                "pads": [module.padH, module.padW, module.padH, module.padW], "ceil_mode": int(module.ceil_mode)}
    if isinstance(module, nn.SpatialAveragePooling):
        settings["count_include_pad"] = int(module.count_include_pad)
    op_type = "MaxPool" if isinstance(module, nn.SpatialMaxPooling) else "AveragePool"
    return _spatial(g, value, name, lambda x: g.op(op_type, [x], **settings))


@_converts(nn.SpatialZeroPadding)
def _zero_padding(g, module, name, value):
    lead = value.ndim - 2
    pads = [0] * lead + [module.pad_t, module.pad_l] + [0] * lead + [module.pad_b, module.pad_r]
    return g.op("Pad", [name, g.const("pads", pads, np.int64)], mode="constant")


@_converts(nn.BatchNormalization, nn.SpatialBatchNormalization)
def _batch_norm(g, module, name, value):
    n = module.n_output
    scale = module.weight if module.affine else np.ones(n)
    shift = module.bias if module.affine else np.zeros(n)
    inputs = [g.const("scale", scale), g.const("shift", shift), g.const("mean", module.running_mean),
              g.const("var", module.running_var)]
    if value.ndim in (1, 3):  # one example: add the batch axis ONNX needs
        axes = g.const("axes", [0], np.int64)
        batched = g.op("BatchNormalization", [g.op("Unsqueeze", [name, axes]), *inputs], epsilon=float(module.eps))
        return g.op("Squeeze", [batched, axes])
    return g.op("BatchNormalization", [name, *inputs], epsilon=float(module.eps))


# -- shapes ----------------------------------------------------------------------------------------------------------

def _reshape_to(g, name, value, out: np.ndarray) -> str:
    """Reshape to ``out``'s shape, keeping the (possibly symbolic) batch size where the batch stays first."""
    shape = list(out.shape)
    if value.ndim > 1 and out.ndim > 1 and shape[0] == value.shape[0]:
        shape[0] = -1 if np.prod(shape[1:]) else 0
    return g.op("Reshape", [name, g.const("shape", shape, np.int64)])


@_converts(nn.View, nn.Reshape, nn.Squeeze, nn.Unsqueeze)
def _reshape(g, module, name, value):
    return _reshape_to(g, name, value, module.forward(value))


@_converts(nn.Transpose)
def _transpose(g, module, name, value):
    axes, _, _ = module._planned(value)  # the module's own resolution of its pairs (batch shift, negative dims)
    return g.op("Transpose", [name], perm=list(axes))


@_converts(nn.Narrow, nn.Select)
def _slice(g, module, name, value):
    index, _ = module._planned(value)  # (slice(None),) * axis + (the slice or the index,)
    axis, part = len(index) - 1, index[-1]
    if isinstance(part, slice):
        return g.op("Slice", [name, g.const("starts", [part.start], np.int64), g.const("ends", [part.stop], np.int64),
                              g.const("axes", [axis], np.int64)])
    return g.op("Gather", [name, g.const("index", int(part), np.int64)], axis=axis)


# -- tables ----------------------------------------------------------------------------------------------------------

@_converts(nn.JoinTable)
def _join_table(g, module, name, value):
    return g.op("Concat", list(name), axis=module._axis(value[0].ndim))


@_converts(nn.SelectTable)
def _select_table(g, module, name, value):
    return name[module.index]


def _pairwise(op_type: str) -> Converter:
    def convert(g, module, name, value):
        out = name[0]
        for other in name[1:]:
            out = g.op(op_type, [out, other])
        return out
    return convert


for _cls, _op in ((nn.CAddTable, "Add"), (nn.CSubTable, "Sub"), (nn.CMulTable, "Mul"), (nn.CDivTable, "Div"),
                  (nn.CMaxTable, "Max"), (nn.CMinTable, "Min")):
    _converts(_cls)(_pairwise(_op))


# -- graphs (nngraph) ------------------------------------------------------------------------------------------------

@_converts(nn.gModule)
def _graph(g, module, name, value, where):
    """Each node in the graph's topological order, fed its parents' outputs (a list for a table node)."""
    several = len(module.inputs) > 1
    if several and (not isinstance(name, list) or len(name) != len(module.inputs)):
        raise ExportError(f"{where}{module.describe()}: a gModule with {len(module.inputs)} inputs takes a list of "
                          f"{len(module.inputs)} example arrays")
    names: dict[int, object] = {}
    values: dict[int, object] = {}
    for node in module.nodes:
        if not node.inputs:
            x_name, x_value = (name[node.input_index], value[node.input_index]) if several else (name, value)
        elif node.table:
            x_name = [names[parent.index] for parent in node.inputs]
            x_value = [values[parent.index] for parent in node.inputs]
        else:
            x_name, x_value = names[node.inputs[0].index], values[node.inputs[0].index]
        names[node.index], values[node.index] = _convert(g, node.module, x_name, x_value,
                                                         f"{where}gModule node[{node.index}] > ")
    outs = [(names[node.index], values[node.index]) for node in module.outputs]
    if len(outs) == 1:
        return outs[0]
    return [n for n, _ in outs], [v for _, v in outs]


# -- reductions, replication, embeddings -----------------------------------------------------------------------------

@_converts(nn.Sum, nn.Mean, nn.Max, nn.Min)
def _reduction(g, module, name, value):
    axis, shape, _ = module._planned(value)  # the module's own axis (batch shift, negative dims)
    keepdims = int(len(shape) == value.ndim)
    if isinstance(module, nn.Max):
        return g.op("ReduceMin" if isinstance(module, nn.Min) else "ReduceMax", [name], axes=[axis],
                    keepdims=keepdims)
    if module.size_average:
        return g.op("ReduceMean", [name], axes=[axis], keepdims=keepdims)
    return g.op("ReduceSum", [name, g.const("axes", [axis], np.int64)], keepdims=keepdims)


@_converts(nn.Replicate)
def _replicate(g, module, name, value):
    axis, shape = module._planned(value)
    expanded = g.op("Unsqueeze", [name, g.const("axes", [axis], np.int64)])
    repeats = [1] * len(shape)
    repeats[axis] = module.n_features
    return g.op("Tile", [expanded, g.const("repeats", repeats, np.int64)])


@_converts(nn.LookupTable)
def _lookup_table(g, module, name, value):
    indices = g.op("Cast", [name], to=7)  # int64
    return g.op("Gather", [g.const("weight", module.weight), indices], axis=0)


# -- more activations ------------------------------------------------------------------------------------------------

@_converts(nn.SELU)
def _selu(g, module, name, value):
    return g.op("Selu", [name], alpha=float(module.ALPHA), gamma=float(module.SCALE))


@_converts(nn.CELU)
def _celu(g, module, name, value):
    if g.dtype != np.float32:  # onnxruntime's Celu is float32 only: max(0, x) + min(0, α (exp(x/α) − 1))
        alpha = g.const("alpha", module.alpha)
        negative = g.op("Mul", [alpha, g.op("Sub", [g.op("Exp", [g.op("Div", [name, alpha])]), g.const("one", 1)])])
        return g.op("Add", [g.op("Relu", [name]), g.op("Min", [negative, g.const("zero", 0)])])
    return g.op("Celu", [name], alpha=float(module.alpha))


@_converts(nn.ReLU6)
def _relu6(g, module, name, value):
    return g.op("Clip", [name, g.const("min", 0), g.const("max", 6)])


@_converts(nn.HardShrink, nn.SoftShrink)
def _shrink(g, module, name, value):
    bias = module.lambd if isinstance(module, nn.SoftShrink) else 0.0
    return g.op("Shrink", [name], lambd=float(module.lambd), bias=float(bias))


@_converts(nn.TanhShrink)
def _tanh_shrink(g, module, name, value):
    return g.op("Sub", [name, g.op("Tanh", [name])])


@_converts(nn.SiLU)
def _silu(g, module, name, value):
    return g.op("Mul", [name, g.op("Sigmoid", [name])])


@_converts(nn.Mish)
def _mish(g, module, name, value):
    return g.op("Mul", [name, g.op("Tanh", [g.op("Softplus", [name])])])


@_converts(nn.GELU)
def _gelu(g, module, name, value):
    half = g.op("Mul", [name, g.const("half", 0.5)])
    if module.approximate == "tanh":  # 0.5 x (1 + tanh(√(2/π) (x + 0.044715 x³)))
        cube = g.op("Mul", [g.op("Mul", [name, name]), name])
        inner = g.op("Add", [name, g.op("Mul", [cube, g.const("c", 0.044715)])])
        core = g.op("Tanh", [g.op("Mul", [inner, g.const("sqrt_2_over_pi", np.sqrt(2 / np.pi))])])
    else:  # 0.5 x (1 + erf(x / √2))
        core = g.op("Erf", [g.op("Div", [name, g.const("sqrt2", np.sqrt(2.0))])])
    return g.op("Mul", [half, g.op("Add", [core, g.const("one", 1.0)])])


@_converts(nn.RReLU)
def _rrelu(g, module, name, value):  # evaluation mode: the mean slope
    return g.op("LeakyRelu", [name], alpha=float(0.5 * (module.lower + module.upper)))


@_converts(nn.CReLU)
def _crelu(g, module, name, value):
    axis = 1 if value.ndim == module.n_input_dims + 1 else 0
    return g.op("Concat", [g.op("Relu", [name]), g.op("Relu", [g.op("Neg", [name])])], axis=axis)


@_converts(nn.SpatialReflectionPadding, nn.SpatialReplicationPadding)
def _border_padding(g, module, name, value):
    lead = value.ndim - 2
    pads = [0] * lead + [module.pad_t, module.pad_l] + [0] * lead + [module.pad_b, module.pad_r]
    mode = "edge" if isinstance(module, nn.SpatialReplicationPadding) else "reflect"
    return g.op("Pad", [name, g.const("pads", pads, np.int64)], mode=mode)


# -- sequences -------------------------------------------------------------------------------------------------------

@_converts(nn.TemporalConvolution)
def _temporal_convolution(g, module, name, value):
    """A 1-D ``Conv`` over (batch, frame size, time): ember's weight ``(O, kW·F)`` is ONNX's ``(O, F, kW)``."""
    out, frame = module.output_frame_size, module.input_frame_size
    weight = module.weight.reshape(out, module.kW, frame).transpose(0, 2, 1)
    axes = g.const("axes", [0], np.int64)
    x = name if value.ndim == 3 else g.op("Unsqueeze", [name, axes])
    conv = g.op("Conv", [g.op("Transpose", [x], perm=[0, 2, 1]), g.const("weight", weight),
                         g.const("bias", module.bias)], kernel_shape=[module.kW], strides=[module.dW])
    y = g.op("Transpose", [conv], perm=[0, 2, 1])
    return y if value.ndim == 3 else g.op("Squeeze", [y, axes])


#: ember's (PyTorch's) gate blocks in the order of ONNX's: LSTM i f g o -> i o f c; GRU r z n -> z r h.
_GATE_ORDER = {nn.LSTM: (0, 3, 1, 2), nn.GRU: (1, 0, 2), nn.RNN: (0,)}


@_converts(nn.RNN, nn.LSTM, nn.GRU)
def _recurrent(g, module, name, value):
    """ONNX's ``RNN``/``LSTM``/``GRU`` (one layer, one direction, from a zero state) on a (T, batch, F) sequence."""
    if isinstance(name, list) or module.h0 is not None or getattr(module, "c0", None) is not None \
            or module._remember:
        raise ExportError(f"{module.describe()}: only a run from the zero state exports (no given h0/c0, no "
                          f"remember())")
    hidden = module.hidden_size
    order = _GATE_ORDER[type(module)]

    def gates(array):
        blocks = np.split(array, len(order), axis=0)
        return np.concatenate([blocks[i] for i in order], axis=0)

    weights = [g.const("W", gates(module.weight_ih)[None]), g.const("R", gates(module.weight_hh)[None]),
               g.const("B", np.concatenate([gates(module.bias_ih), gates(module.bias_hh)])[None])]
    axes = g.const("axes", [1], np.int64)
    x = name if value.ndim == 3 else g.op("Unsqueeze", [name, axes])
    settings = {"hidden_size": hidden}
    if isinstance(module, nn.GRU):
        settings["linear_before_reset"] = 1  # PyTorch's GRU: r * (W_hn h + b_hn)
    if isinstance(module, nn.RNN):
        settings["activations"] = ["Relu" if module.nonlinearity == "relu" else "Tanh"]
    op_type = {nn.LSTM: "LSTM", nn.GRU: "GRU", nn.RNN: "RNN"}[type(module)]
    out = g.name(op_type.lower())
    g.nodes.append(g.onnx.helper.make_node(op_type, [x, *weights], [out], **settings))  # Y: (T, 1, batch, H)
    squeezed = g.op("Squeeze", [out, axes])
    return squeezed if value.ndim == 3 else g.op("Squeeze", [squeezed, axes])


# -- more convolutions, pooling, resampling --------------------------------------------------------------------------

@_converts(nn.SpatialDilatedConvolution)
def _dilated_convolution(g, module, name, value):
    inputs = [g.const("weight", module.weight)] + ([] if module.bias is None else [g.const("bias", module.bias)])
    return _spatial(g, value, name, lambda x: g.op(
        "Conv", [x, *inputs], kernel_shape=[module.kH, module.kW], strides=[module.dH, module.dW],
        pads=[module.padH, module.padW, module.padH, module.padW], dilations=[module.dilationH, module.dilationW]))


@_converts(nn.SpatialFullConvolution)
def _full_convolution(g, module, name, value):
    """``ConvTranspose``: ember's weight ``(in, out, kH, kW)`` is ONNX's layout; ``adj`` is ``output_padding``."""
    if isinstance(name, list):
        raise ExportError(f"{module.describe()}: the [input, like] form sizes its output at run time; export "
                          f"takes one input array")
    inputs = [g.const("weight", module.weight)] + ([] if module.bias is None else [g.const("bias", module.bias)])
    return _spatial(g, value, name, lambda x: g.op(
        "ConvTranspose", [x, *inputs], kernel_shape=[module.kH, module.kW], strides=[module.dH, module.dW],
        pads=[module.padH, module.padW, module.padH, module.padW], output_padding=[module.adjH, module.adjW]))


@_converts(nn.SpatialDepthWiseConvolution)
def _depthwise_convolution(g, module, name, value):
    """A grouped ``Conv``: ember's output plane ``c·m + k`` is ``W[k, c] ⋆ x[c]``, one group per input plane."""
    planes = module.n_input_plane
    weight = module.weight.transpose(1, 0, 2, 3).reshape(-1, 1, module.kH, module.kW)
    inputs = [g.const("weight", weight)]
    if module.bias is not None:
        inputs.append(g.const("bias", np.asarray(module.bias).T.reshape(-1)))
    return _spatial(g, value, name, lambda x: g.op(
        "Conv", [x, *inputs], kernel_shape=[module.kH, module.kW], strides=[module.dH, module.dW],
        pads=[module.padH, module.padW, module.padH, module.padW], group=planes))


@_converts(nn.SpatialDilatedMaxPooling)
def _dilated_max_pooling(g, module, name, value):
    c = module.config()
    return _spatial(g, value, name, lambda x: g.op(
        "MaxPool", [x], kernel_shape=[c["kH"], c["kW"]], strides=[c["dH"], c["dW"]],
        pads=[c["padH"], c["padW"], c["padH"], c["padW"]], dilations=[c["dilationH"], c["dilationW"]],
        ceil_mode=int(c["ceil_mode"])))


@_converts(nn.SpatialUpSamplingNearest)
def _upsampling_nearest(g, module, name, value):
    scales = [1.0] * (value.ndim - 2) + [float(module.scale_factor)] * 2
    return g.op("Resize", [name, "", g.const("scales", scales, np.float32)], mode="nearest",
                coordinate_transformation_mode="asymmetric", nearest_mode="floor")


_converts(nn.SpatialSoftMax, nn.SpatialLogSoftMax)(_softmax)
_converts(nn.GradientReversal, nn.VolumetricDropout)(_identity)  # identity going forward


@_converts(nn.Sequencer)
def _sequencer(g, module, name, value, where):
    """The inner module on the ``T·N`` rows of the sequence, then the ``(T, N)`` lead shaped back."""
    lead = 2 if value.ndim >= (2 if value.dtype.kind in "iu" else 3) else 1
    flat_value = value.reshape((-1,) + value.shape[lead:])
    flat = g.op("Reshape", [name, g.const("shape", [-1, *value.shape[lead:]], np.int64)])
    inner, inner_value = _convert(g, module.module, flat, flat_value, f"{where}Sequencer > ")
    leading = g.op("Slice", [g.op("Shape", [name]), g.const("starts", [0], np.int64),
                             g.const("ends", [lead], np.int64), g.const("axes", [0], np.int64)])
    shape = g.op("Concat", [leading, g.const("trailing", list(inner_value.shape[1:]), np.int64)], axis=0)
    return g.op("Reshape", [inner, shape]), inner_value.reshape(value.shape[:lead] + inner_value.shape[1:])


# -- volumetric, table-linked and sub-sampling convolutions; Lp normalisation --------------------------------------

def _batched(g, value, name, n_dims: int, build: Callable[[str], str]) -> str:
    """``_spatial`` for ``n_dims`` trailing dimensions: add and remove the batch axis for one example."""
    if value.ndim == n_dims + 2:
        return build(name)
    axes = g.const("axes", [0], np.int64)
    return g.op("Squeeze", [build(g.op("Unsqueeze", [name, axes])), axes])


def _geometry(module) -> dict:
    return {"kernel_shape": list(module.k), "strides": list(module.d), "pads": list(module.pad) * 2,
            "dilations": list(module.dil)}


def _conv_inputs(g, module, weight) -> list[str]:
    return [g.const("weight", weight)] + ([] if module.bias is None else [g.const("bias", module.bias)])


@_converts(nn.VolumetricConvolution, nn.VolumetricDilatedConvolution, nn.SpatialConvolutionMap)
def _convolution_nd(g, module, name, value):
    """``Conv`` with the dense ``(O, C, *k)`` weight (a connection table's kernels scattered into it, zeros where
    nothing is linked); planes beyond ``C`` (a Map's unread ones) are sliced off first.
    """
    n, planes = module.n_dims, module.n_input_plane
    weight = module._weight_matrix().reshape((module.n_output_plane, planes) + tuple(module.k))
    inputs = _conv_inputs(g, module, weight)

    def build(x):
        if value.shape[-n - 1] > planes:
            x = g.op("Slice", [x, g.const("starts", [0], np.int64), g.const("ends", [planes], np.int64),
                               g.const("axes", [1], np.int64)])
        return g.op("Conv", [x, *inputs], **_geometry(module))
    return _batched(g, value, name, n, build)


@_converts(nn.VolumetricFullConvolution, nn.SpatialFullConvolutionMap)
def _full_convolution_nd(g, module, name, value):
    """``ConvTranspose`` with the dense ``(C, O, *k)`` weight; ``adj`` is ``output_padding``."""
    if isinstance(name, list):
        raise ExportError(f"{module.describe()}: the [input, like] form sizes its output at run time; export "
                          f"takes one input array")
    n, planes = module.n_dims, module.n_input_plane
    weight = module._weight_matrix().reshape((planes, module.n_output_plane) + tuple(module.k))
    inputs = _conv_inputs(g, module, weight)

    def build(x):
        if value.shape[-n - 1] > planes:
            x = g.op("Slice", [x, g.const("starts", [0], np.int64), g.const("ends", [planes], np.int64),
                               g.const("axes", [1], np.int64)])
        return g.op("ConvTranspose", [x, *inputs], output_padding=list(module.adj), **_geometry(module))
    return _batched(g, value, name, n, build)


@_converts(nn.SpatialSubSampling)
def _subsampling(g, module, name, value):
    """A grouped ``Conv``, one group per plane, whose kernel is the plane's weight everywhere."""
    planes = module.n_input_plane
    weight = np.broadcast_to(module.weight.reshape(planes, 1, 1, 1), (planes, 1, module.kH, module.kW))
    return _spatial(g, value, name, lambda x: g.op("Conv", [x, *_conv_inputs(g, module, weight)],
                                                   group=planes, **_geometry(module)))


@_converts(nn.VolumetricMaxPooling, nn.VolumetricDilatedMaxPooling, nn.VolumetricAveragePooling)
def _volumetric_pooling(g, module, name, value):
    settings = {"kernel_shape": list(module.k), "strides": list(module.d), "pads": list(module.pad) * 2,
                "ceil_mode": int(module.ceil_mode)}
    if isinstance(module, nn.VolumetricAveragePooling):
        settings["count_include_pad"] = int(module.count_include_pad)
        op_type = "AveragePool"
    else:
        settings["dilations"] = list(module.dil)
        op_type = "MaxPool"
    return _batched(g, value, name, 3, lambda x: g.op(op_type, [x], **settings))


@_converts(nn.Normalize)
def _normalize(g, module, name, value):
    """``x / (Σ|x|^p + eps)^(1/p)`` along the last axis, ``eps`` and all (ONNX's ``LpNormalization`` has none):
    ``ReduceL1`` for p = 1, ``Sqrt`` of a ``ReduceSum`` of squares for p = 2, ``ReduceMax`` of ``Abs`` for
    p = inf, else ``Pow``s around a ``ReduceSum``.
    """
    axes = g.const("axes", [-1], np.int64)
    eps = g.const("eps", module.eps)
    if np.isinf(module.p):
        norm = g.op("Add", [g.op("ReduceMax", [g.op("Abs", [name])], axes=[-1], keepdims=1), eps])
    elif module.p == 1:
        norm = g.op("Add", [g.op("ReduceL1", [name], axes=[-1], keepdims=1), eps])
    else:
        powered = g.op("Mul", [name, name]) if module.p == 2 else \
            g.op("Pow", [g.op("Abs", [name]), g.const("p", module.p)])
        total = g.op("Add", [g.op("ReduceSum", [powered, axes], keepdims=1), eps])
        norm = g.op("Sqrt", [total]) if module.p == 2 else g.op("Pow", [total, g.const("inverse_p", 1 / module.p)])
    return g.op("Div", [name, norm])


# -- learned element-wise scales and shifts --------------------------------------------------------------------------

@_converts(nn.CAdd)
def _cadd(g, module, name, value):
    return g.op("Add", [name, g.const("bias", module.bias)])  # NumPy's broadcasting is ONNX's


@_converts(nn.Add)
def _add(g, module, name, value):
    return g.op("Add", [name, g.const("bias", module.bias[0] if module.scalar else module.bias)])


@_converts(nn.Mul)
def _mul(g, module, name, value):
    return g.op("Mul", [name, g.const("weight", module.weight[0])])


@_converts(nn.CMul)
def _cmul(g, module, name, value):
    """Torch's three cases, as the example input falls in them: broadcast, same elements, or a batch of them."""
    weight = module.weight
    if value.size != weight.size and value.ndim in (weight.ndim, weight.ndim + 1):
        return g.op("Mul", [name, g.const("weight", weight)])
    if value.size == weight.size:
        shape, factor = list(weight.shape), weight
    else:
        shape, factor = [0, -1], weight.reshape(1, -1)
    product = g.op("Mul", [g.op("Reshape", [name, g.const("shape", shape, np.int64)]), g.const("weight", factor)])
    return g.op("Reshape", [product, g.op("Shape", [name])])


# -- the model -------------------------------------------------------------------------------------------------------

_ELEMENT_TYPES = {np.dtype(np.float32): 1, np.dtype(np.float64): 11, np.dtype(np.int32): 6, np.dtype(np.int64): 7}


def export(model: nn.Module, example_input: np.ndarray, path: str | os.PathLike | None = None, *,
           dynamic_batch: bool = True, input_name: str = "input", output_name: str = "output",
           opset: int = OPSET):
    """Translate ``model`` to an ONNX model, checked by ``onnx.checker``; save it to ``path`` if given.

    Args:
        model: any model made of the supported modules (:func:`supported`).
        example_input: one input the model accepts (its dtype, float32 or float64,
            is the model's); its first dimension becomes the symbolic ``batch``
            when ``dynamic_batch`` and it has more than one dimension. A list of
            arrays (a table: a gModule with several inputs, a ParallelTable) makes
            one graph input per array, ``input_0``, ``input_1``, ...
        path: where to write the ``.onnx`` file.
        dynamic_batch: name the first dimension ``batch`` so any batch size runs.
        input_name: the graph's input name.
        output_name: the graph's output name.
        opset: the ONNX operator set (17; later ones work too).

    Returns:
        The ``onnx.ModelProto``; outputs of a table-valued model are ``output_0``, ``output_1``, ...

    Raises:
        ExportError: a module without a translation (the message names it and its place
            in the model), or an input dtype other than float32/float64.
        ImportError: the onnx package is not installed.

    Example::

        model = nn.Sequential(nn.Linear(4, 8), nn.ReLU(), nn.Linear(8, 3), nn.LogSoftMax())
        ember.onnx.export(model, np.zeros((1, 4)), "model.onnx")

    """
    onnx = _onnx()
    if not isinstance(model, nn.Module):
        raise InputTypeError(f"export: expected an ember Module, got {type(model).__name__}")
    newest = onnx.defs.onnx_opset_version()
    if isinstance(opset, bool) or not isinstance(opset, (int, np.integer)) or not 7 <= opset <= newest:
        raise ExportError(f"export: opset must be an integer from 7 to {newest} (this onnx's newest), got {opset!r}")
    for what, name in (("input_name", input_name), ("output_name", output_name)):
        if not isinstance(name, str) or not name:
            raise InputTypeError(f"export: {what} must be a non-empty string, got {name!r}")
    if input_name == output_name:
        raise ExportError(f"export: input_name and output_name must differ, both are {input_name!r}")
    table = isinstance(example_input, (list, tuple))
    examples = [np.asarray(x) for x in example_input] if table else [np.asarray(example_input)]
    if table and not (examples and all(x.dtype == examples[0].dtype for x in examples)):
        raise ExportError(f"export: a list of example inputs must hold arrays of one dtype, got "
                          f"{[x.dtype.name for x in examples]}")
    example = examples[0]
    if example.dtype not in _ELEMENT_TYPES:
        raise ExportError(f"export: the example input must be float32 or float64 (int32 or int64 indices for a "
                          f"LookupTable), got {example.dtype}")
    dtype = example.dtype
    if dtype.kind == "i":  # indices: the constants take the dtype of the model's parameters
        params = model.parameters()[0]
        dtype = params[0].dtype if params else np.dtype(np.float64)
        if not any(isinstance(m, nn.LookupTable) for m in model.listModules()):
            raise ExportError(f"export: an integer example input ({example.dtype}) is for a model that starts with "
                              f"a LookupTable; the example input must be float32 or float64")
    g = _Graph(dtype)
    modes = [(module, module.train) for module in model.listModules()]
    model.evaluate()
    try:
        input_names = [f"{input_name}_{i}" for i in range(len(examples))] if table else [input_name]
        out_name, out_value = _convert(g, model, input_names if table else input_name,
                                       _copy(examples if table else example), "")
    finally:
        for module, mode in modes:
            module.train = mode
    element = _ELEMENT_TYPES[example.dtype]
    batched = dynamic_batch and example.ndim > 1

    def shape(array):
        dims = list(array.shape)
        return (["batch"] + dims[1:]) if batched and dims and dims[0] == example.shape[0] else dims

    names, values = (out_name, out_value) if isinstance(out_name, list) else ([out_name], [out_value])
    out_elements = [_ELEMENT_TYPES[np.asarray(v).dtype] for v in values]
    output_names = [output_name] if len(names) == 1 else [f"{output_name}_{i}" for i in range(len(names))]
    for inner, outer in zip(names, output_names):
        g.nodes.append(onnx.helper.make_node("Identity", [inner], [outer]))
    graph = onnx.helper.make_graph(
        g.nodes, type(model).__name__,
        [onnx.helper.make_tensor_value_info(name, element, shape(x)) for name, x in zip(input_names, examples)],
        [onnx.helper.make_tensor_value_info(name, kind, shape(value))
         for name, kind, value in zip(output_names, out_elements, values)],
        g.initializers)
    proto = onnx.helper.make_model(graph, opset_imports=[onnx.helper.make_opsetid("", opset)],
                                   producer_name="ember")
    try:
        onnx.checker.check_model(proto, full_check=True)
    except onnx.checker.ValidationError as error:
        raise ExportError(f"export: ONNX refuses the translated {model.describe()}: {error}") from error
    if path is not None:
        atomic_write(path, lambda temporary: onnx.save(proto, os.fspath(temporary)))
    return proto
