"""Weight normalisation, ``w = g · v/‖v‖`` (Salimans & Kingma 2016): Torch's ``nn.LinearWeightNorm`` and the
``nn.WeightNorm`` decorator (PyTorch's ``torch.nn.utils.weight_norm``).
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from ember.nn.decorators import Decorator
from ember.nn.linear import Linear
from ember.nn.module import Module, resized
from ember.random import get_rng


def _add_reparametrised(grad_weight: np.ndarray, v: np.ndarray, g: np.ndarray, norm: np.ndarray,
                        varying: np.ndarray, axes: tuple[int, ...], grad_v: np.ndarray, grad_g: np.ndarray) -> None:
    """Add ``∂L/∂g = Σ G ⊙ v/‖v‖`` and ``∂L/∂v = (g/‖v‖) G − (g ∂L/∂g/(‖v‖ varying)) v`` for ``G = ∂L/∂w``
    (``varying`` is the norm where it depends on ``v``, else ∞); ``g`` and the norms broadcast against ``v``,
    the sums run over ``axes``.
    """
    along = (grad_weight * v).sum(axis=axes, keepdims=True) / norm
    grad_g += along.reshape(grad_g.shape)
    grad_v += (g / norm) * grad_weight - (g * along / (norm * varying)) * v


class LinearWeightNorm(Module):
    """A Linear layer whose rows are ``w_i = g_i v_i/‖v_i‖`` (Torch's ``nn.LinearWeightNorm``).

    Backward: as :class:`Linear` for ``G = ∂L/∂W``, then ``∂L/∂g_i = G_i·v_i/‖v_i‖`` and
    ``∂L/∂v_i = (g_i/‖v_i‖) G_i − (g_i ∂L/∂g_i/‖v_i‖²) v_i``; ``‖v_i‖`` is clamped below at ``eps``.

    Args:
        n_in: size of each input example.
        n_out: size of each output example.
        bias: whether to learn the bias (default ``True``).
        eps: the least norm (default 1e-16, Torch's).
        rng: generator for the initialisation (default: the library-wide one).

    Shape: input ``(n_in,)`` or ``(batch, n_in)``; output ``(n_out,)`` or ``(batch, n_out)``.

    Attributes:
        v: ``(n_out, n_in)`` directions; g: ``(n_out, 1)`` lengths; bias: ``(n_out,)``. Initialised as
            Torch: a Linear's uniform(−1/√n_in, 1/√n_in) weight becomes ``v``, and ``g = ‖v_i‖``.
        weight: the effective ``(n_out, n_in)`` matrix ``g v/‖v‖`` (computed, not a parameter).
        gradInput: set it to ``None`` to skip the input gradient, as for :class:`Linear`.

    """

    _scratch = ("_weight", "_norm")

    def __init__(self, n_in: int, n_out: int, bias: bool = True, eps: float = 1e-16,
                 rng: int | np.random.Generator | None = None) -> None:
        super().__init__()
        self.n_in, self.n_out, self.eps = n_in, n_out, float(eps)
        self._weight: np.ndarray | None = None  # g v/‖v‖ at the last forward
        self._norm: np.ndarray | None = None  # ‖v_i‖ clamped, (n_out, 1)
        self.register_parameter("v", np.empty((n_out, n_in)))
        self.register_parameter("g", np.empty((n_out, 1)))
        self.register_parameter("bias", np.empty(n_out) if bias else None)
        self.reset(rng)

    def config(self) -> dict[str, Any]:
        return {"n_in": self.n_in, "n_out": self.n_out, "bias": self.bias is not None, "eps": self.eps}

    def reset(self, rng: int | np.random.Generator | None = None, *,
              stdv: float | None = None) -> LinearWeightNorm:
        """Draw ``v`` and the bias from uniform(−stdv, stdv), stdv = 1/√n_in unless given; ``g`` ← ‖v_i‖."""
        rng = get_rng(rng)
        stdv = 1.0 / math.sqrt(self.n_in) if stdv is None else stdv
        self.v[...] = rng.uniform(-stdv, stdv, self.v.shape)
        self.g[...] = self._norms()
        if self.bias is not None:
            self.bias[...] = rng.uniform(-stdv, stdv, self.bias.shape)
        return self

    def _norms(self) -> np.ndarray:
        return np.maximum(np.linalg.norm(self.v, axis=1, keepdims=True), self.eps)

    @property
    def weight(self) -> np.ndarray:
        """The effective weight ``g v/‖v‖`` (a new array)."""
        return self.v * (self.g / self._norms())

    @classmethod
    def fromLinear(cls, linear: Linear) -> LinearWeightNorm:
        """A LinearWeightNorm computing what ``linear`` computes (Torch's ``fromLinear``)."""
        module = cls(linear.n_in, linear.n_out, bias=linear.bias is not None).type(linear.weight.dtype)
        module.v[...] = linear.weight
        module.g[...] = module._norms()
        if linear.bias is not None:
            module.bias[...] = linear.bias
        return module

    def toLinear(self) -> Linear:
        """A :class:`Linear` with the current effective weight and bias (Torch's ``toLinear``)."""
        linear = Linear(self.n_in, self.n_out, bias=self.bias is not None).type(self.v.dtype)
        linear.weight[...] = self.weight
        if self.bias is not None:
            linear.bias[...] = self.bias
        return linear

    def checkInput(self, input: np.ndarray) -> None:
        super().checkInput(input)
        if input.ndim not in (1, 2) or input.shape[-1] != self.n_in:
            self.fail(f"expected input of shape ({self.n_in},) or (batch, {self.n_in}), got {input.shape}")

    def updateOutput(self, input: np.ndarray) -> np.ndarray:
        self._norm = self._norms()
        self._weight = self.v * (self.g / self._norm)
        self.output = resized(self.output, input, input.shape[:-1] + (self.n_out,))
        np.dot(input, self._weight.T, out=self.output)
        if self.bias is not None:
            self.output += self.bias
        return self.output

    def updateGradInput(self, input: np.ndarray, gradOutput: np.ndarray) -> np.ndarray | None:
        if self.gradInput is None:  # switched off, as Linear's
            return None
        self.gradInput = resized(self.gradInput, input)
        np.dot(gradOutput, self._weight, out=self.gradInput)
        return self.gradInput

    def accGradParameters(self, input: np.ndarray, gradOutput: np.ndarray, scale: float = 1.0) -> None:
        g2, x2 = (gradOutput[None], input[None]) if input.ndim == 1 else (gradOutput, input)
        grad_weight = scale * (g2.T @ x2)
        # a norm clamped at eps does not depend on v: only the first term of ∂L/∂v remains there
        unclamped = np.where(self._norm > self.eps, self._norm, np.inf)
        _add_reparametrised(grad_weight, self.v, self.g, self._norm, unclamped, (1,), self.gradV, self.gradG)
        if self.bias is not None:
            self.gradBias += scale * g2.sum(axis=0)

    def extra_repr(self) -> str:
        return f"{self.n_in} -> {self.n_out}" + ("" if self.bias is not None else " without bias")


class WeightNorm(Decorator):
    """Reparametrise the decorated module's ``weight`` as ``w = g · v/‖v‖`` (Torch's ``nn.WeightNorm``),
    the norm taken over every axis but ``output_dim``, one ``g`` per output: the module then trains
    ``v``, ``g`` and its other parameters (``bias``), and its ``weight`` is recomputed at every forward.

    Backward: the module's own, giving ``G = ∂L/∂w``; then ``∂L/∂g = Σ G ⊙ v/‖v‖`` and
    ``∂L/∂v = (g/‖v‖) G − (g ∂L/∂g/‖v‖²) v``, with ``‖v‖ = √(Σ v² + eps)``.

    As Torch, the decorated module's ``weight`` stops being a parameter (it becomes a buffer, as does its
    ``gradWeight``) and the weights are re-initialised: ``v`` normal(0, 2/fan_in), ``g = ‖v‖``, the bias 0
    (PyTorch's ``weight_norm`` keeps the module's weight instead).

    Args:
        module: a module with a ``weight`` parameter (``Linear``, ``SpatialConvolution``, …).
        output_dim: the weight's output axis, 0-based (default 0; Torch's 1).
        eps: added to ``Σ v²`` (default 1e-4, Torch's ``10e-5``; 0 gives PyTorch's ``weight_norm``).
        rng: generator for the initialisation (default: the library-wide one).

    Attributes:
        v: shaped like the module's weight; g: ``(weight.shape[output_dim],)``.

    """

    def __init__(self, module: Module, output_dim: int = 0, eps: float = 1e-4,
                 rng: int | np.random.Generator | None = None) -> None:
        super().__init__(module)
        self.output_dim, self.eps = output_dim, eps
        weight = getattr(module, "weight", None)
        # (a module already reparametrised, its weight a buffer, is accepted: from_config rebuilds so)
        demoted = "weight" in module.declared_buffers() and "gradWeight" in module.declared_buffers()
        if not isinstance(weight, np.ndarray) or not ("weight" in module.declared_parameters() or demoted):
            self.fail(f"expected a module with a weight parameter, got {module.describe()}", TypeError)
        if not isinstance(output_dim, (int, np.integer)) or not 0 <= output_dim < weight.ndim:
            self.fail(f"output_dim must be an axis of the {weight.ndim}-D weight (0 to {weight.ndim - 1}), "
                      f"got {output_dim!r}")
        if not eps >= 0:
            self.fail(f"eps must be >= 0, got {eps}")
        self.output_dim, self.eps = int(output_dim), float(eps)
        self._axes = tuple(i for i in range(weight.ndim) if i != self.output_dim)
        self._g_shape = tuple(n if i == self.output_dim else 1 for i, n in enumerate(weight.shape))
        self._norm: np.ndarray | None = None
        if not demoted:
            declared = module.declared_parameters()
            declared.pop("weight")
            module._parameters, module._grad_names = declared, tuple(declared.values())
            module.register_buffer("weight", weight)
            module.register_buffer("gradWeight", module.gradWeight)
        self.register_parameter("v", np.empty_like(weight))
        self.register_parameter("g", np.empty(weight.shape[self.output_dim], dtype=weight.dtype))
        self.reset(rng)

    def config(self) -> dict[str, Any]:
        return {"module": self.module, "output_dim": self.output_dim, "eps": self.eps}

    def reset(self, rng: int | np.random.Generator | None = None, *, stdv: float | None = None) -> WeightNorm:
        """``v`` from normal(0, stdv²), stdv = √(2/fan_in) unless given (fan_in: the weight's size over
        the other axes); ``g`` ← ‖v‖ per output; the module's bias ← 0 (Torch's ``resetInit``).
        """
        fan_in = self.v.size // self.v.shape[self.output_dim]
        stdv = math.sqrt(2.0 / fan_in) if stdv is None else stdv
        self.v[...] = get_rng(rng).normal(0.0, stdv, self.v.shape)
        self.g[...] = np.sqrt(np.square(self.v).sum(axis=self._axes))
        bias = getattr(self.module, "bias", None)
        if isinstance(bias, np.ndarray) and "bias" in self.module.declared_parameters():
            bias[...] = 0.0
        return self

    def checkInput(self, input: Any) -> None:
        if isinstance(input, np.ndarray) and np.issubdtype(input.dtype, np.floating) and input.dtype != self.v.dtype:
            self.fail(f"expected input of dtype {self.v.dtype} (the parameters'), got {input.dtype}", TypeError)

    def updateOutput(self, input: Any) -> Any:
        self._norm = np.sqrt(np.square(self.v).sum(axis=self._axes, keepdims=True) + self.eps)
        np.multiply(self.v, self.g.reshape(self._g_shape) / self._norm, out=self.module.weight)
        return super().updateOutput(input)

    def accGradParameters(self, input: Any, gradOutput: Any, scale: float = 1.0) -> None:
        grad_weight = self.module.gradWeight  # a buffer now: this call's ∂L/∂w only
        grad_weight.fill(0.0)
        self.module.accGradParameters(input, gradOutput, scale)
        _add_reparametrised(grad_weight, self.v, self.g.reshape(self._g_shape), self._norm, self._norm,
                            self._axes, self.gradV, self.gradG)

    def extra_repr(self) -> str:
        return f"output_dim={self.output_dim}" + ("" if self.eps == 1e-4 else f", eps={self.eps:g}")

