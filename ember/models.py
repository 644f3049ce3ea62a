"""Builders for the standard networks: :func:`mlp`, :func:`lenet`, and :func:`criterion_for` a model.

Parameters are drawn from :mod:`ember.random`'s generator: call :func:`ember.manual_seed` first for a
reproducible network.

Example:
    >>> from ember import models
    >>> print(models.mlp(4, [10], "tanh", 3))
    nn.Sequential {
      [input -> (0) -> (1) -> (2) -> (3) -> output]
      (0): nn.Linear(4 -> 10)
      (1): nn.Tanh
      (2): nn.Linear(10 -> 3)
      (3): nn.LogSoftMax
    }
    >>> models.criterion_for(models.mlp(4, [], "tanh", 3))
    nn.ClassNLLCriterion

"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from ember import nn
from ember.errors import InputError, InputTypeError
from ember.nn.arguments import checked

__all__ = ["ACTIVATIONS", "IMAGE_SHAPE", "char_lstm", "criterion_for", "lenet", "mlp"]

#: the activations :func:`mlp` puts after each hidden Linear layer, by name.
ACTIVATIONS: dict[str, Callable[[], nn.Module]] = {
    "sigmoid": nn.Sigmoid, "tanh": nn.Tanh, "relu": nn.ReLU, "requ": nn.ReQU,
}
#: the image geometry :func:`lenet` expects: one plane of 28 x 28 pixels, given as rows of 784.
IMAGE_SHAPE = (1, 28, 28)


@checked
def mlp(n_in: int, hidden: Sequence[int], activation: str = "sigmoid", n_classes: int = 2, *,
        regression: bool = False) -> nn.Sequential:
    """A classifier: ``Linear -> activation`` per hidden size, then ``Linear -> LogSoftMax`` (for ClassNLL).

    Args:
        n_in: input features.
        hidden: the hidden layers' sizes (empty: a linear classifier).
        activation: a name of :data:`ACTIVATIONS`.
        n_classes: outputs (log-probabilities; with ``regression``, the number of target values).
        regression: end with the last Linear layer (for MSECriterion), no LogSoftMax.

    """
    if activation not in ACTIVATIONS:
        raise InputError(f"mlp: unknown activation {activation!r}; choose {', '.join(sorted(ACTIVATIONS))}")
    if isinstance(hidden, (str, bytes)) or not isinstance(hidden, Sequence):
        raise InputTypeError(f"mlp: hidden must be a list of layer sizes, got {hidden!r}")
    for size in hidden:
        if isinstance(size, bool) or not isinstance(size, (int, np.integer)):
            raise InputTypeError(f"mlp: hidden sizes must be integers, got {size!r} in {list(hidden)}")
    sizes = [int(n_in), *(int(size) for size in hidden), int(n_classes)]
    if min(sizes) < 1:
        raise InputError(f"mlp: every size must be at least 1, got n_in={n_in}, hidden={list(hidden)}, "
                         f"n_classes={n_classes}")
    model = nn.Sequential()
    for width, size in zip(sizes[:-2], sizes[1:-1]):
        model.add(nn.Linear(width, size)).add(ACTIVATIONS[activation]())
    model.add(nn.Linear(sizes[-2], sizes[-1]))
    return model if regression else model.add(nn.LogSoftMax())


@checked
def lenet(n_classes: int = 10, *, dropout: float = 0.0, dtype: Any = np.float32) -> nn.Sequential:
    """A LeNet-style CNN taking ``(batch, 784)`` rows of 28x28 images (MNIST as ``ember.data.mnist`` returns it)::

        View(1, 28, 28) -> SpatialConvolution(1 -> 6, 5x5, pad 2) -> ReLU -> SpatialMaxPooling(2x2)  # 6 x 14 x 14
                        -> SpatialConvolution(6 -> 16, 5x5) -> ReLU -> SpatialMaxPooling(2x2)       # 16 x 5 x 5
                        -> View(-1) -> Linear(400 -> 120) -> ReLU [-> Dropout] -> Linear(120 -> 84) -> ReLU
                        -> Linear(84 -> n_classes) -> LogSoftMax

    Args:
        n_classes: outputs of the last Linear layer (log-probabilities, after LogSoftMax).
        dropout: probability of ``Dropout`` after the first Linear layer's ReLU (0: no Dropout layer).
        dtype: the parameters' dtype (default float32, twice as fast as float64).

    Shape: input ``(batch, 784)`` or ``(784,)``; output ``(batch, n_classes)`` or ``(n_classes,)``.

    """
    if n_classes < 1:
        raise InputError(f"lenet: n_classes must be at least 1, got {n_classes}")
    if not 0 <= dropout < 1:
        raise InputError(f"lenet: dropout must be in [0, 1), got {dropout}")
    model = nn.Sequential()
    model.add(nn.View(*IMAGE_SHAPE, n_input_dims=1))
    model.add(nn.SpatialConvolution(1, 6, 5, 5, padW=2, padH=2)).add(nn.ReLU()).add(nn.SpatialMaxPooling(2, 2))
    model.add(nn.SpatialConvolution(6, 16, 5, 5)).add(nn.ReLU()).add(nn.SpatialMaxPooling(2, 2))
    model.add(nn.View(-1, n_input_dims=3))
    model.add(nn.Linear(16 * 5 * 5, 120)).add(nn.ReLU())
    if dropout:
        model.add(nn.Dropout(dropout))
    model.add(nn.Linear(120, 84)).add(nn.ReLU())
    model.add(nn.Linear(84, n_classes)).add(nn.LogSoftMax())
    return model.type(dtype)


def criterion_for(model: nn.Module) -> nn.Criterion:
    """The criterion that suits ``model``'s output: ClassNLL after LogSoftMax, BCE after Sigmoid, else CrossEntropy."""
    last = model
    while isinstance(last, nn.Sequential) and last.modules:
        last = last.modules[-1]
    if isinstance(last, nn.LogSoftMax):
        return nn.ClassNLLCriterion()
    if isinstance(last, nn.Sigmoid):
        return nn.BCECriterion()
    return nn.CrossEntropyCriterion()


@checked
def char_lstm(vocab_size: int, hidden: int = 128, embedding: int | None = None) -> nn.Sequential:
    """A character-level language model: ``LookupTable -> LSTM -> Sequencer(Linear)`` (scores per character).

    Takes ``(T, N)`` character indices and gives ``(T, N, vocab_size)`` scores, for
    ``nn.SequencerCriterion(nn.CrossEntropyCriterion())`` against the next characters.

    Args:
        vocab_size: the number of distinct characters.
        hidden: the LSTM's hidden size.
        embedding: the size of each character's embedding (default: ``min(hidden, vocab_size)``).

    """
    if min(vocab_size, hidden) < 1:
        raise InputError(f"char_lstm: vocab_size and hidden must be at least 1, got {vocab_size} and {hidden}")
    embedding = min(hidden, vocab_size) if embedding is None else int(embedding)
    return nn.Sequential(nn.LookupTable(vocab_size, embedding), nn.LSTM(embedding, hidden),
                         nn.Sequencer(nn.Linear(hidden, vocab_size)))
