"""Decorators and debugging modules: ``Decorator`` (a module around one module, Torch's ``nn.Decorator``),
``NaN``, ``Profile``, ``PrintSize``, and the gradient manipulators ``GradientReversal``, ``ZeroGrad`` and
``Collapse``.
"""

from __future__ import annotations

import math
import time
from typing import Any

import numpy as np

from ember.errors import NonFiniteError
from ember.nn.module import Module, resized


def _leaves(value: Any) -> list[np.ndarray]:
    if isinstance(value, list):
        return [leaf for item in value for leaf in _leaves(item)]
    return [value] if isinstance(value, np.ndarray) else []


class Decorator(Module):
    """A module that runs one module and may add behaviour around it (Torch's ``nn.Decorator``): forward,
    backward, parameters, modes and types all go to ``self.modules[0]``; subclasses override the hooks.

    Args:
        module: the decorated module.

    """

    def __init__(self, module: Module) -> None:
        super().__init__()
        if not isinstance(module, Module):
            self.fail(f"expected a Module to decorate, got {type(module).__name__}", TypeError)
        self.modules = [module]

    def config(self) -> dict[str, Any]:
        return {"module": self.module}

    @property
    def module(self) -> Module:
        return self.modules[0]

    def children(self) -> list[Module]:
        return self.modules

    def checkInput(self, input: Any) -> None:
        """The decorated module checks its input."""

    def updateOutput(self, input: Any) -> Any:
        self.output = self.module.forward(input)
        return self.output

    def updateGradInput(self, input: Any, gradOutput: Any) -> Any:
        self.gradInput = self.module.updateGradInput(input, gradOutput)
        return self.gradInput

    def accGradParameters(self, input: Any, gradOutput: Any, scale: float = 1.0) -> None:
        self.module.accGradParameters(input, gradOutput, scale)

    def reset(self, rng: int | np.random.Generator | None = None, *, stdv: float | None = None) -> Module:
        if stdv is None:
            self.module.reset(rng)
        else:
            self.module.reset(rng, stdv=stdv)
        return self

    def __repr__(self) -> str:
        inner = repr(self.module).replace("\n", "\n  ")
        return f"nn.{self.describe()} @ {inner}"


class NaN(Decorator):
    """Raises as soon as a NaN appears in the decorated module's output, gradInput or parameter gradients
    (Torch's ``nn.NaN``), naming the module, the pass and the place; the input is checked too.

    Args:
        module: the decorated module.
        id: a name for the error messages (default: the module's description).

    Raises:
        NonFiniteError: (a ``FloatingPointError``) where a NaN is found.

    """

    def __init__(self, module: Module, id: str | None = None) -> None:
        super().__init__(module)
        self.id = id

    def config(self) -> dict[str, Any]:
        return {"module": self.module, "id": self.id}

    def _check(self, values: Any, what: str) -> None:
        for k, leaf in enumerate(_leaves(values)):
            if np.isnan(leaf).any():
                where = f"{what}[{k}]" if isinstance(values, list) else what
                name = self.id or self.module.describe()
                raise NonFiniteError(f"NaN({name}): NaN found in {where} of {self.module.describe()}")

    def updateOutput(self, input: Any) -> Any:
        self._check(input, "input (forward)")
        output = super().updateOutput(input)
        self._check(output, "output (forward)")
        return output

    def updateGradInput(self, input: Any, gradOutput: Any) -> Any:
        self._check(gradOutput, "gradOutput (backward)")
        grad = super().updateGradInput(input, gradOutput)
        self._check(grad, "gradInput (backward)")
        return grad

    def accGradParameters(self, input: Any, gradOutput: Any, scale: float = 1.0) -> None:
        super().accGradParameters(input, gradOutput, scale)
        self._check(self.module.parameters()[1], "parameter gradients (backward)")

    def extra_repr(self) -> str:
        return self.id or ""


class Profile(Decorator):
    """Times the decorated module (Torch's ``nn.Profile``): ``forward_time`` and ``backward_time`` accumulate
    the seconds spent, ``calls`` counts forwards; every ``print_interval`` forwards the mean time per
    call is printed (0: never).

    Args:
        module: the decorated module.
        print_interval: forwards between reports (default 100; 0 never prints).
        name: the label of the reports (default: the module's description).

    """

    def __init__(self, module: Module, print_interval: int = 100, name: str | None = None) -> None:
        super().__init__(module)
        self.print_interval, self.name = print_interval, name
        self.forward_time = self.backward_time = 0.0
        self.calls = 0

    def config(self) -> dict[str, Any]:
        return {"module": self.module, "print_interval": self.print_interval, "name": self.name}

    def updateOutput(self, input: Any) -> Any:
        start = time.perf_counter()
        output = super().updateOutput(input)
        self.forward_time += time.perf_counter() - start
        self.calls += 1
        if self.print_interval and self.calls % self.print_interval == 0:
            print(f"{self.name or self.module.describe()}: forward {self.forward_time / self.calls * 1e6:.1f} µs, "
                  f"backward {self.backward_time / self.calls * 1e6:.1f} µs per call ({self.calls} calls)")
        return output

    def backward(self, input: Any, gradOutput: Any, scale: float = 1.0) -> Any:
        start = time.perf_counter()
        grad = super().backward(input, gradOutput, scale)
        self.backward_time += time.perf_counter() - start
        return grad


class PrintSize(Module):
    """Passes its input through and prints its shape going forward and the gradient's going backward
    (Torch's ``nn.PrintSize``).

    Args:
        prefix: the label of the printed lines (default ``"PrintSize"``).

    """

    def __init__(self, prefix: str = "PrintSize") -> None:
        super().__init__()
        self.prefix = prefix

    def config(self) -> dict[str, Any]:
        return {"prefix": self.prefix}

    def checkInput(self, input: Any) -> None:
        """Anything passes through."""

    @staticmethod
    def _shapes(value: Any) -> str:
        if isinstance(value, list):
            return "{" + ", ".join(PrintSize._shapes(v) for v in value) + "}"
        return str(getattr(value, "shape", type(value).__name__))

    def updateOutput(self, input: Any) -> Any:
        print(f"{self.prefix}: input {self._shapes(input)}")
        self.output = input
        return input

    def updateGradInput(self, input: Any, gradOutput: Any) -> Any:
        print(f"{self.prefix}: gradOutput {self._shapes(gradOutput)}")
        self.gradInput = gradOutput
        return gradOutput


class GradientReversal(Module):
    """Identity going forward, gradient multiplied by ``−λ`` going backward (Torch's
    ``nn.GradientReversal``, Ganin and Lempitsky's domain-adversarial layer).

    Backward: ``∂L/∂x = −λ g``.

    Args:
        lambda_: ``λ`` (default 1); ``setLambda`` changes it.

    """

    def __init__(self, lambda_: float = 1.0) -> None:
        super().__init__()
        self.lambda_ = lambda_

    def config(self) -> dict[str, Any]:
        return {"lambda_": self.lambda_}

    def setLambda(self, lambda_: float) -> GradientReversal:
        self.lambda_ = lambda_
        return self

    def updateOutput(self, input: np.ndarray) -> np.ndarray:
        self.output = resized(self.output, input)
        np.copyto(self.output, input)
        return self.output

    def updateGradInput(self, input: np.ndarray, gradOutput: np.ndarray) -> np.ndarray:
        self.gradInput = resized(self.gradInput, input)
        return np.multiply(gradOutput, -self.lambda_, out=self.gradInput)

    def extra_repr(self) -> str:
        return "" if self.lambda_ == 1 else f"{self.lambda_:g}"


class ZeroGrad(GradientReversal):
    """Identity going forward, zero gradient going backward (Torch's ``nn.ZeroGrad``): what comes before it
    receives no gradient through it.
    """

    def __init__(self) -> None:
        super().__init__(0.0)

    def config(self) -> dict[str, Any]:
        return {}

    def updateGradInput(self, input: np.ndarray, gradOutput: np.ndarray) -> np.ndarray:
        self.gradInput = resized(self.gradInput, input)
        self.gradInput.fill(0.0)
        return self.gradInput

    def extra_repr(self) -> str:
        return ""


class Collapse(Module):
    """Flattens all but the batch dimension: ``(batch, …)`` → ``(batch, n)`` (Torch's ``nn.Collapse``); an
    input of ``n_input_dim`` dimensions (one example) becomes ``(n,)``.

    Backward: ``gradOutput`` reshaped to the input's shape.

    Args:
        n_input_dim: the number of dimensions of one example.

    """

    def __init__(self, n_input_dim: int) -> None:
        super().__init__()
        self.n_input_dim = n_input_dim

    def config(self) -> dict[str, Any]:
        return {"n_input_dim": self.n_input_dim}

    def checkInput(self, input: np.ndarray) -> None:
        super().checkInput(input)
        if input.ndim not in (self.n_input_dim, self.n_input_dim + 1):
            self.fail(f"expected a {self.n_input_dim}-D input or a batch of them, got shape {input.shape}")

    def updateOutput(self, input: np.ndarray) -> np.ndarray:
        shape = (input.size,) if input.ndim == self.n_input_dim else (input.shape[0], math.prod(input.shape[1:]))
        result = input.reshape(shape)
        self.output = resized(self.output, input, result.shape)
        np.copyto(self.output, result)
        return self.output

    def updateGradInput(self, input: np.ndarray, gradOutput: np.ndarray) -> np.ndarray:
        self.gradInput = resized(self.gradInput, input)
        np.copyto(self.gradInput, gradOutput.reshape(input.shape))
        return self.gradInput

    def extra_repr(self) -> str:
        return str(self.n_input_dim)
