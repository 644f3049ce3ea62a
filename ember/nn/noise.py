"""Regularisation and noise modules: ``L1Penalty`` (a sparsity loss on activations) and ``WhiteNoise``
(additive Gaussian noise while training).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ember.nn.module import Module, resized
from ember.random import get_rng


class L1Penalty(Module):
    """Passes its input through and adds the gradient of an L1 penalty on it (Torch's ``nn.L1Penalty``): a
    sparsity regulariser on the activations of a layer.

    Forward: ``y = x``, and ``self.loss = m ‖x‖₁`` with ``m = l1weight`` (divided by the number of elements
    with ``size_average``). Backward: ``∂L/∂x = g + m · sign(x)``, or only ``m · sign(x)`` with
    ``provide_output=False`` (the module is then the end of its branch). Being a loss term, its backward is
    not the Jacobian of its output (which is the identity).

    Args:
        l1weight: the weight ``m`` of the penalty.
        size_average: divide ``m`` by the number of elements (default ``False``).
        provide_output: whether the output feeds further modules whose gradient is added (default ``True``).

    """

    def __init__(self, l1weight: float, size_average: bool = False, provide_output: bool = True) -> None:
        super().__init__()
        self.l1weight, self.sizeAverage, self.provideOutput = l1weight, size_average, provide_output
        self.loss = 0.0

    def config(self) -> dict[str, Any]:
        return {"l1weight": self.l1weight, "size_average": self.sizeAverage, "provide_output": self.provideOutput}

    def _weight(self, input: np.ndarray) -> float:
        return self.l1weight / input.size if self.sizeAverage else self.l1weight

    def updateOutput(self, input: np.ndarray) -> np.ndarray:
        self.loss = self._weight(input) * float(np.abs(input).sum())
        self.output = resized(self.output, input)
        np.copyto(self.output, input)
        return self.output

    def updateGradInput(self, input: np.ndarray, gradOutput: np.ndarray) -> np.ndarray:
        grad = self.gradInput = resized(self.gradInput, input)
        np.sign(input, out=grad)
        grad *= self._weight(input)
        if self.provideOutput:
            grad += gradOutput
        return grad

    def extra_repr(self) -> str:
        return f"{self.l1weight:g}"


class WhiteNoise(Module):
    """Adds Gaussian noise while training (Torch's ``nn.WhiteNoise``): ``y = x + ε``, ``ε ~ N(mean, std²)``
    drawn for every element at each forward; ``y = x`` after ``evaluate()``.

    Backward: ``∂L/∂x = g`` (the noise does not depend on ``x``).

    Args:
        mean: the noise mean (default 0); std: its standard deviation (default 0.1).
        rng: generator for the noise (default: ``ember.random``'s); resample: draw new noise at every
            training forward (default ``True``; ``False`` keeps the first draw, e.g. for a gradient check).

    """

    _scratch = ("noise",)

    def __init__(self, mean: float = 0.0, std: float = 0.1, rng: int | np.random.Generator | None = None,
                 resample: bool = True) -> None:
        super().__init__()
        self.mean, self.std, self.resample = mean, std, resample
        self.rng = None if rng is None else get_rng(rng)
        if not std >= 0:
            self.fail(f"std must be >= 0, got {std}")
        self.noise: np.ndarray | None = None

    def config(self) -> dict[str, Any]:
        return {"mean": self.mean, "std": self.std, "resample": self.resample}

    def updateOutput(self, input: np.ndarray) -> np.ndarray:
        self.output = resized(self.output, input)
        if not self.train:
            np.copyto(self.output, input)
            return self.output
        if (self.resample or self.noise is None or self.noise.shape != input.shape
                or self.noise.dtype != input.dtype):
            self.noise = resized(self.noise, input)
            self.noise[...] = get_rng(self.rng).normal(self.mean, self.std, input.shape)
        return np.add(input, self.noise, out=self.output)

    def updateGradInput(self, input: np.ndarray, gradOutput: np.ndarray) -> np.ndarray:
        self.gradInput = resized(self.gradInput, input)
        np.copyto(self.gradInput, gradOutput)
        return self.gradInput

    def extra_repr(self) -> str:
        return f"mean={self.mean:g}, std={self.std:g}"
