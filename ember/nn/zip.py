"""Table modules that regroup or mix tables (Python lists): ``ZipTable``, ``ZipTableOneToMany``,
``CAddTensorTable``, ``MixtureTable`` (a gated mixture of experts) and ``CriterionTable`` (a criterion as a
module).
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from ember.nn.criterion import Criterion
from ember.nn.module import Module


def _is_table(value: Any) -> bool:
    return isinstance(value, list)


class ZipTable(Module):
    """Zips a table of tables (Torch's ``nn.ZipTable``): ``[[a1, a2], [b1, b2]]`` → ``[[a1, b1], [a2, b2]]``.

    Backward: the gradient table unzipped the same way.
    """

    def checkInput(self, input: Any) -> None:
        if not _is_table(input) or not input or not all(_is_table(t) for t in input):
            self.fail("expected a non-empty list of lists as input", TypeError)
        if len({len(t) for t in input}) != 1:
            self.fail(f"expected lists of one length, got lengths {[len(t) for t in input]}")

    def updateOutput(self, input: list[list[Any]]) -> list[list[Any]]:
        self.output = [list(group) for group in zip(*input)]
        return self.output

    def updateGradInput(self, input: list[list[Any]], gradOutput: list[list[Any]]) -> list[list[Any]]:
        self.gradInput = [list(group) for group in zip(*gradOutput)]
        return self.gradInput


class ZipTableOneToMany(Module):
    """Pairs one entry with each entry of a table (Torch's ``nn.ZipTableOneToMany``):
    ``[v, [x1, x2]]`` → ``[[v, x1], [v, x2]]``.

    Backward: ``∂L/∂v = Σ_i g_i[0]``, ``∂L/∂x_i = g_i[1]``.
    """

    def checkInput(self, input: Any) -> None:
        if (not _is_table(input) or len(input) != 2 or not isinstance(input[0], np.ndarray)
                or not _is_table(input[1]) or not input[1]):
            self.fail("expected a list [array, list of arrays] as input", TypeError)

    def updateOutput(self, input: list[Any]) -> list[list[Any]]:
        self.output = [[input[0], x] for x in input[1]]
        return self.output

    def updateGradInput(self, input: list[Any], gradOutput: list[list[Any]]) -> list[Any]:
        total = np.array(gradOutput[0][0], dtype=np.result_type(gradOutput[0][0]), copy=True)
        for pair in gradOutput[1:]:
            total += pair[0]
        self.gradInput = [total, [pair[1] for pair in gradOutput]]
        return self.gradInput


class CAddTensorTable(Module):
    """Adds an array to every array of a table (Torch's ``nn.CAddTensorTable``): ``[a, [x1, x2]]`` →
    ``[a + x1, a + x2]``.

    Backward: ``∂L/∂a = Σ_i g_i``, ``∂L/∂x_i = g_i``.
    """

    def checkInput(self, input: Any) -> None:
        if (not _is_table(input) or len(input) != 2 or not isinstance(input[0], np.ndarray)
                or not _is_table(input[1]) or not input[1]):
            self.fail("expected a list [array, list of arrays] as input", TypeError)
        for x in input[1]:
            if not isinstance(x, np.ndarray) or x.shape != input[0].shape:
                self.fail(f"expected arrays of the first entry's shape {input[0].shape}, got "
                          f"{getattr(x, 'shape', type(x).__name__)}")

    def updateOutput(self, input: list[Any]) -> list[np.ndarray]:
        self.output = [input[0] + x for x in input[1]]
        return self.output

    def updateGradInput(self, input: list[Any], gradOutput: list[np.ndarray]) -> list[Any]:
        self.gradInput = [np.sum(gradOutput, axis=0), [g.copy() for g in gradOutput]]
        return self.gradInput


class MixtureTable(Module):
    """A mixture of experts weighted by a gater (Torch's ``nn.MixtureTable``): input ``[g, experts]`` with
    gater outputs ``g`` of shape ``(K,)`` (or ``(batch, K)``) and ``experts`` either a list of ``K`` arrays or
    one array with the ``K`` experts along dimension ``dim``; output ``y = Σ_k g_k e_k``.

    Backward: ``∂L/∂g_k = Σ (gradOutput ⊙ e_k)`` over each example's elements, ``∂L/∂e_k = g_k · gradOutput``.

    Args:
        dim: the experts' dimension of an experts array, counted in one example (0-based, default 0); a
            batch shifts it by one.

    """

    def __init__(self, dim: int = 0) -> None:
        super().__init__()
        self.dim = dim

    def config(self) -> dict[str, Any]:
        return {"dim": self.dim}

    def checkInput(self, input: Any) -> None:
        if not _is_table(input) or len(input) != 2 or not isinstance(input[0], np.ndarray):
            self.fail("expected a list [gater, experts] as input", TypeError)
        gater, experts = input
        if gater.ndim not in (1, 2):
            self.fail(f"expected gater outputs (K,) or (batch, K), got {gater.shape}")
        k = gater.shape[-1]
        if _is_table(experts):
            if len(experts) != k:
                self.fail(f"expected {k} experts (one per gater output), got {len(experts)}")
            if not all(isinstance(expert, np.ndarray) for expert in experts):
                self.fail("expected the experts as a list of arrays", TypeError)
            shapes = [expert.shape for expert in experts]
            if len(set(shapes)) > 1:
                self.fail(f"expected experts of one shape, got shapes {shapes}")
            if gater.ndim == 2 and (not shapes[0] or shapes[0][0] != gater.shape[0]):
                self.fail(f"expected experts of shape ({gater.shape[0]}, ...) for a batch of {gater.shape[0]} "
                          f"gater rows, got {shapes[0]}")
        elif not isinstance(experts, np.ndarray):
            self.fail(f"expected the experts as an array or a list of arrays, got {type(experts).__name__}", TypeError)
        elif (experts.ndim <= self._axis(gater) or experts.shape[self._axis(gater)] != k
              or (gater.ndim == 2 and experts.shape[0] != gater.shape[0])):
            self.fail(f"expected {k} experts along dim {self.dim}"
                      + (f" and {gater.shape[0]} rows" if gater.ndim == 2 else "")
                      + f", got an array of shape {experts.shape}")

    def _axis(self, gater: np.ndarray) -> int:
        return self.dim + (gater.ndim - 1)

    @staticmethod
    def _expert_weight(gater: np.ndarray, k: int, expert: np.ndarray) -> Any:
        """The weight of expert ``k``, shaped to broadcast against it (one per example of a batch)."""
        if gater.ndim == 1:
            return gater[k]
        return gater[:, k].reshape((-1,) + (1,) * (expert.ndim - 1))

    @staticmethod
    def _weights(gater: np.ndarray, experts: np.ndarray, axis: int) -> np.ndarray:
        """The gater shaped to broadcast against the experts array along ``axis``."""
        shape = [1] * experts.ndim
        if gater.ndim == 2:
            shape[0] = gater.shape[0]
        shape[axis] = gater.shape[-1]
        return gater.reshape(shape)

    def updateOutput(self, input: list[Any]) -> np.ndarray:
        gater, experts = input
        if _is_table(experts):
            self.output = sum(self._expert_weight(gater, k, e) * e for k, e in enumerate(experts))
        else:
            axis = self._axis(gater)
            self.output = (self._weights(gater, experts, axis) * experts).sum(axis=axis)
        return self.output

    def updateGradInput(self, input: list[Any], gradOutput: np.ndarray) -> list[Any]:
        gater, experts = input
        batch = gater.ndim == 2
        if _is_table(experts):
            grad_experts = [self._expert_weight(gater, k, e) * gradOutput for k, e in enumerate(experts)]
            per_expert = [(gradOutput * e).reshape(gater.shape[0], math.prod(e.shape[1:])).sum(axis=1) if batch
                          else (gradOutput * e).sum() for e in experts]
            grad_gater = np.stack(per_expert, axis=-1).astype(gater.dtype)
        else:
            axis = self._axis(gater)
            grad_experts = self._weights(gater, experts, axis) * np.expand_dims(gradOutput, axis)
            product = experts * np.expand_dims(gradOutput, axis)
            other = tuple(a for a in range(product.ndim) if a != axis and not (batch and a == 0))
            grad_gater = product.sum(axis=other)
        self.gradInput = [grad_gater, grad_experts]
        return self.gradInput

    def extra_repr(self) -> str:
        return "" if self.dim == 0 else f"dim={self.dim}"


class CriterionTable(Module):
    """A criterion used as a module (Torch's ``nn.CriterionTable``): input ``[input, target]``, output the loss
    as a 0-d array.

    Backward: ``[gradOutput · ∂loss/∂input, zeros]`` — the target gets no gradient (Torch returns only the
    input's, ignoring ``gradOutput``, i.e. as if it were 1).

    Args:
        criterion: the criterion.

    """

    def __init__(self, criterion: Criterion) -> None:
        super().__init__()
        if not isinstance(criterion, Criterion):
            self.fail(f"expected a Criterion, got {type(criterion).__name__}", TypeError)
        self.criterion = criterion

    def config(self) -> dict[str, Any]:
        return {"criterion": self.criterion}

    def children(self) -> list[Module]:
        """The modules its criterion applies (a ``ModuleCriterion``'s), so that they are saved and converted."""
        return self.criterion.modules()

    def type(self, dtype: Any) -> Module:
        """Convert the modules its criterion applies and the criterion's own arrays (class weights)."""
        super().type(dtype)
        self.criterion.type(dtype)
        return self

    def checkInput(self, input: Any) -> None:
        if not _is_table(input) or len(input) != 2:
            self.fail("expected a list [input, target] as input", TypeError)

    def updateOutput(self, input: list[Any]) -> np.ndarray:
        x, target = input
        loss = self.criterion.forward(x, target)
        self.output = np.array(loss, dtype=x.dtype if isinstance(x, np.ndarray) else np.float64)
        return self.output

    def updateGradInput(self, input: list[Any], gradOutput: np.ndarray) -> list[Any]:
        x, target = input
        grad = self.criterion.backward(x, target) * gradOutput
        zeros = np.zeros(np.shape(target), dtype=grad.dtype)
        self.gradInput = [grad, zeros]
        return self.gradInput

    def extra_repr(self) -> str:
        return self.criterion.describe()
