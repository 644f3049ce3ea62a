"""What the compiled path can run: a model and a criterion translated into layer codes and the
places of their parameters in the flat vector of ``getParameters()``, or an ``UnsupportedError`` error that
names the module in the way.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ember import nn
from ember.errors import InputError
from ember.fast import codes

#: the layers the kernel implements, by exact type (a subclass may change the formulas: it falls back).
LAYER_CODES = {nn.Linear: codes.LINEAR, nn.Sigmoid: codes.SIGMOID, nn.Tanh: codes.TANH, nn.ReLU: codes.RELU,
               nn.LeakyReLU: codes.LEAKY_RELU, nn.SoftMax: codes.SOFTMAX, nn.LogSoftMax: codes.LOG_SOFTMAX,
               nn.SoftMin: codes.SOFTMIN}
CRITERION_CODES = {nn.CrossEntropyCriterion: codes.CROSS_ENTROPY, nn.ClassNLLCriterion: codes.CLASS_NLL,
                   nn.MSECriterion: codes.MSE, nn.BCECriterion: codes.BCE}


class UnsupportedError(InputError):
    """The model, the criterion or the optimizer configuration is outside what ``ember.fast`` compiles."""


@dataclass
class Plan:
    """A chain of layers as the kernel reads it."""

    layers: list[nn.Module]
    kinds: np.ndarray  # int64 layer codes
    slopes: np.ndarray  # LeakyReLU's negval per layer (0 elsewhere)
    criterion: int
    size_average: bool

    def widths(self, n_in: int) -> np.ndarray:
        """The width of each layer's input, then the output's, for inputs of ``n_in`` features."""
        widths = [n_in]
        for layer in self.layers:
            if type(layer) is nn.Linear:
                if layer.n_in != widths[-1]:
                    raise UnsupportedError(f"{layer.describe()}: gets {widths[-1]} features from the layer before it")
                widths.append(layer.n_out)
            else:
                widths.append(widths[-1])
        return np.array(widths, dtype=np.int64)

    def offsets(self, params: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Where each Linear's weight and bias start in the flat ``params`` (``-1``: none)."""
        woff = np.full(len(self.layers), -1, dtype=np.int64)
        boff = np.full(len(self.layers), -1, dtype=np.int64)
        base = params.__array_interface__["data"][0]
        seen = set()
        for index, layer in enumerate(self.layers):
            if type(layer) is not nn.Linear:
                continue
            for table, array in ((woff, layer.weight), (boff, layer.bias)):
                if array is None:
                    continue
                start = (array.__array_interface__["data"][0] - base) // params.itemsize
                if array.base is not params or not array.flags.c_contiguous or start in seen:
                    raise UnsupportedError(f"{layer.describe()}: shares its parameters with another layer")
                seen.add(start)
                table[index] = start
        return woff, boff


def _leaves(model: nn.Module) -> list[nn.Module]:
    """The layers of a (possibly nested) Sequential, in order."""
    if type(model) is nn.Sequential:
        return [leaf for child in model.children() for leaf in _leaves(child)]
    return [model]


def make_plan(model: nn.Module, criterion: nn.Criterion) -> Plan:
    """Translate ``model`` and ``criterion``, or raise :class:`UnsupportedError` naming what is not supported."""
    if type(model) is not nn.Sequential:
        raise UnsupportedError(f"{model.describe()}: ember.fast compiles a Sequential chain of layers")
    layers = [leaf for leaf in _leaves(model) if type(leaf) is not nn.Identity]
    supported = ", ".join(kind.__name__ for kind in LAYER_CODES)
    for layer in layers:
        if type(layer) not in LAYER_CODES:
            raise UnsupportedError(f"{layer.describe()}: not supported by ember.fast (it compiles {supported})")
    if not any(type(layer) is nn.Linear for layer in layers):
        raise UnsupportedError(f"{model.describe()}: has no Linear layer to train")
    kind = CRITERION_CODES.get(type(criterion))
    if kind is None:
        names = ", ".join(c.__name__ for c in CRITERION_CODES)
        raise UnsupportedError(f"{type(criterion).__name__}: not supported by ember.fast (it compiles {names})")
    if getattr(criterion, "weights", None) is not None:
        raise UnsupportedError(f"{type(criterion).__name__}: weighted criteria are not supported by ember.fast")
    return Plan(layers=layers, kinds=np.array([LAYER_CODES[type(layer)] for layer in layers], dtype=np.int64),
                slopes=np.array([getattr(layer, "negval", 0.0) for layer in layers], dtype=np.float64),
                criterion=kind, size_average=bool(criterion.sizeAverage))
