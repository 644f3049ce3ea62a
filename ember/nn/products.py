"""Matrix products of a table's two entries: ``MM`` (matrix × matrix) and ``MV`` (matrix × vector), as
Torch's ``nn.MM`` and ``nn.MV``, one example or a batch.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ember.nn.module import Module, resized


def check_pair(module: Module, input: Any, names: str) -> None:
    """Raise unless ``input`` is a list of two floating-point arrays of one dtype (``names``: e.g. ``"[A, B]"``)."""
    if not isinstance(input, list) or len(input) != 2 or not all(isinstance(x, np.ndarray) for x in input):
        given = f"a list of {len(input)}" if isinstance(input, list) else type(input).__name__
        module.fail(f"expected a list of two arrays {names} as input, got {given}", TypeError)
    if input[0].dtype != input[1].dtype or input[0].dtype.kind != "f":
        module.fail(f"expected two floating-point arrays of one dtype, got {input[0].dtype} and {input[1].dtype}",
                    TypeError)


class MM(Module):
    """``C = op(A) op(B)`` for an input ``[A, B]`` (Torch's ``nn.MM``), ``op`` a transpose when asked.

    Backward: ``∂L/∂op(A) = G op(B)ᵀ``, ``∂L/∂op(B) = op(A)ᵀ G``, transposed back where ``op`` transposes.

    Args:
        trans_a, trans_b: transpose ``A`` or ``B`` first (default ``False``).

    Shape: ``(n, m)`` and ``(m, p)`` → ``(n, p)``, or batches ``(b, n, m)``, ``(b, m, p)`` → ``(b, n, p)``.

    """

    def __init__(self, trans_a: bool = False, trans_b: bool = False) -> None:
        super().__init__()
        self.trans_a, self.trans_b = trans_a, trans_b
        self.gradInput: Any = []

    def config(self) -> dict[str, Any]:
        return {"trans_a": self.trans_a, "trans_b": self.trans_b}

    def _ops(self, input: list[np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
        a, b = input
        return (np.swapaxes(a, -1, -2) if self.trans_a else a), (np.swapaxes(b, -1, -2) if self.trans_b else b)

    def checkInput(self, input: Any) -> None:
        check_pair(self, input, "[A, B]")
        if input[0].ndim not in (2, 3) or input[1].ndim != input[0].ndim:
            self.fail(f"cannot multiply {input[0].shape} by {input[1].shape}: expected 2-D matrices or 3-D batches "
                      f"of them")
        a, b = self._ops(input)
        if a.shape[:-2] != b.shape[:-2] or a.shape[-1] != b.shape[-2]:
            self.fail(f"cannot multiply {input[0].shape} by {input[1].shape} (trans_a={self.trans_a}, "
                      f"trans_b={self.trans_b}); expected 2-D matrices or 3-D batches of them")

    def updateOutput(self, input: list[np.ndarray]) -> np.ndarray:
        a, b = self._ops(input)
        self.output = resized(self.output, a, a.shape[:-1] + b.shape[-1:])
        return np.matmul(a, b, out=self.output)

    def updateGradInput(self, input: list[np.ndarray], gradOutput: np.ndarray) -> list[np.ndarray]:
        a, b = self._ops(input)
        grad_a = gradOutput @ np.swapaxes(b, -1, -2)
        grad_b = np.swapaxes(a, -1, -2) @ gradOutput
        self.gradInput = [np.swapaxes(grad_a, -1, -2).copy() if self.trans_a else grad_a,
                          np.swapaxes(grad_b, -1, -2).copy() if self.trans_b else grad_b]
        return self.gradInput

    def extra_repr(self) -> str:
        return ", ".join(name for name, on in (("trans_a", self.trans_a), ("trans_b", self.trans_b)) if on)


class MV(Module):
    """``y = op(M) v`` for an input ``[M, v]`` (Torch's ``nn.MV``), ``op`` a transpose with ``trans``.

    Backward: ``∂L/∂op(M) = g vᵀ``, ``∂L/∂v = op(M)ᵀ g``.

    Shape: ``(n, m)`` and ``(m,)`` → ``(n,)``, or batches ``(b, n, m)``, ``(b, m)`` → ``(b, n)``.
    """

    def __init__(self, trans: bool = False) -> None:
        super().__init__()
        self.trans = trans
        self.gradInput: Any = []

    def config(self) -> dict[str, Any]:
        return {"trans": self.trans}

    def _op(self, m: np.ndarray) -> np.ndarray:
        return np.swapaxes(m, -1, -2) if self.trans else m

    def checkInput(self, input: Any) -> None:
        check_pair(self, input, "[M, v]")
        if input[0].ndim not in (2, 3) or input[1].ndim != input[0].ndim - 1:
            self.fail(f"cannot multiply {input[0].shape} by {input[1].shape}: expected a 2-D matrix and a vector, "
                      f"or a 3-D batch of matrices and a 2-D batch of vectors")
        m, v = self._op(input[0]), input[1]
        if m.shape[:-2] != v.shape[:-1] or m.shape[-1] != v.shape[-1]:
            self.fail(f"cannot multiply {input[0].shape} by {v.shape} (trans={self.trans})")

    def updateOutput(self, input: list[np.ndarray]) -> np.ndarray:
        m, v = self._op(input[0]), input[1]
        result = (m @ v[..., None])[..., 0]
        self.output = resized(self.output, m, result.shape)
        np.copyto(self.output, result)
        return self.output

    def updateGradInput(self, input: list[np.ndarray], gradOutput: np.ndarray) -> list[np.ndarray]:
        m, v = self._op(input[0]), input[1]
        grad_m = gradOutput[..., :, None] * v[..., None, :]
        grad_v = (np.swapaxes(m, -1, -2) @ gradOutput[..., None])[..., 0]
        self.gradInput = [np.swapaxes(grad_m, -1, -2).copy() if self.trans else grad_m, grad_v]
        return self.gradInput

    def extra_repr(self) -> str:
        return "trans" if self.trans else ""
